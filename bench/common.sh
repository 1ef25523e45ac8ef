# common.sh — shared by the benchmark scripts: build trainctl (Release) once.
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$BENCH_ROOT/scripts/install.sh"
cmake -S "$BENCH_ROOT" -B "$BENCH_ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BENCH_ROOT/build-bench" -j "$(nproc)" --target trainctl >/dev/null
TRAINCTL="${TRAINCTL:-$BENCH_ROOT/build-bench/trainctl}"
# scratch space on the project's disk, not /tmp (shared with everything
# else on the machine, whose churn makes file creation there erratic)
mkdir -p "$BENCH_ROOT/build-bench/work"
export TMPDIR="$BENCH_ROOT/build-bench/work"
now() { date +%s.%N; }
# BASE=REV (a commit, tag or branch): also build trainctl as it was at REV,
# as TRAINCTL_BASE, for an A/B measure in the same rounds (the scripts
# that take it print both and their ratio).
TRAINCTL_BASE=
if [ -n "${BASE:-}" ]; then
	base_src="$BENCH_ROOT/build-bench/base-src"
	rm -rf "$base_src" && mkdir -p "$base_src"
	git -C "$BENCH_ROOT" archive "$BASE" | tar -x -C "$base_src"
	cmake -S "$base_src" -B "$BENCH_ROOT/build-bench/base" \
		-DCMAKE_BUILD_TYPE=Release -DTC_K8S_TESTS=OFF >/dev/null
	cmake --build "$BENCH_ROOT/build-bench/base" -j "$(nproc)" --target trainctl >/dev/null
	TRAINCTL_BASE="$BENCH_ROOT/build-bench/base/trainctl"
	echo "A/B: trainctl at $(git -C "$BENCH_ROOT" rev-parse --short HEAD) against $BASE ($(git -C "$BENCH_ROOT" rev-parse --short "$BASE"))"
fi
