#!/usr/bin/env bash
# The cost of one TPE suggestion with N observations (100, 1,000 and
# 10,000; NS to change), trainctl's (bench/tpe_cost.c, linked against the
# Release libtccore) against Optuna's TPESampler (bench/optuna_cost.py, in
# the virtualenv `scripts/install.sh --tests` fills), on the same
# five-parameter space, in the same run.  K (25) suggestions each, medians.
#
# Four trainctl figures: `ask` (a sampler in memory, Optuna's situation),
# `rebuild` (told every result again, then asked), `resume` (tc_plan_extend
# on a journal: read it, rebuild, ask, insert; what a run pays once, for
# its first adaptive trial), `extend` (tc_plan_extend_cached as the
# scheduler calls it for every adaptive trial after that: read the trials
# that changed, settle, ask, insert; what a run pays per suggestion).
# Ratios are against Optuna's ask.
. "$(dirname "$0")/common.sh"
NS=${NS:-100 1000 10000}
K=${K:-25}
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/trainctl-mlflow
if ! "$VENV/bin/python" -c "import optuna" 2>/dev/null; then
	echo "no optuna in $VENV: run bash scripts/install.sh --tests" >&2
	exit 1
fi
cmake --build "$BENCH_ROOT/build-bench" -j "$(nproc)" --target tccore >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_GNU_SOURCE -I"$BENCH_ROOT/src" -o "$work/tpe_cost" \
	"$BENCH_ROOT/bench/tpe_cost.c" "$BENCH_ROOT/build-bench/libtccore.a" \
	$(pkg-config --cflags --libs yaml-0.1 jansson sqlite3 libpcre2-8 libcrypto libcurl) -lm -ldl
opt_version=$("$VENV/bin/python" -c "import optuna; print(optuna.__version__)")
echo "trainctl $(git -C "$BENCH_ROOT" rev-parse --short HEAD) against optuna $opt_version, K=$K"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
printf '%-8s %10s %10s %10s %10s %10s %8s %8s %8s\n' N tc_ask tc_rebuild tc_resume \
	tc_extend optuna_ask ask/opt resume/opt extend/opt
for n in $NS; do
	kk=$K
	[ "$n" -ge 10000 ] && kk=$(( K < 7 ? K : 7 ))
	rm -rf "$work/state"
	tc=$("$work/tpe_cost" "$n" "$kk" "$work/state")
	op=$("$VENV/bin/python" "$BENCH_ROOT/bench/optuna_cost.py" "$n" "$kk")
	ask=$(echo "$tc" | awk '$1 == "ask" { print $2 }')
	reb=$(echo "$tc" | awk '$1 == "rebuild" { print $2 }')
	res=$(echo "$tc" | awk '$1 == "resume" { print $2 }')
	ext=$(echo "$tc" | awk '$1 == "extend" { print $2 }')
	oa=$(echo "$op" | awk '$1 == "ask" { print $2 }')
	printf '%-8s %8sus %8sus %8sus %8sus %8sus %8.3f %8.3f %8.3f\n' "$n" "$ask" "$reb" "$res" \
		"$ext" "$oa" "$(echo "$ask / $oa" | bc -l)" "$(echo "$res / $oa" | bc -l)" \
		"$(echo "$ext / $oa" | bc -l)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
