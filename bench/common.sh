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
