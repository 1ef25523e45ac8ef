#!/usr/bin/env bash
# Search quality with and without what bounds an ask's cost at many
# trials (tpe.c): the merged bad-group kernels of the per-parameter
# estimators (past 256 bad observations; conditional parameters) and the
# stratified sample of the joint model's bad group (past 1,000).
# bench/tpe_merge_quality.c built as the product builds the sampler and
# with TC_TPE_MERGE_MIN and TC_TPE_MV_BAD_MAX huge, the same seeds, T
# trials (default 1000; T=3000 for the sample, which starts near trial
# 1,030).  Prints the median over seeds of the best value after T/2 and T
# trials, and the ratio bounded ("merged") / exact ("unmerged") (1 = no
# change; < 1 better).
. "$(dirname "$0")/common.sh"
T=${T:-1000}
S=${S:-10}
cmake --build "$BENCH_ROOT/build-bench" -j "$(nproc)" --target tccore >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
libs=$(pkg-config --cflags --libs yaml-0.1 jansson sqlite3 libpcre2-8 libcrypto libcurl)
# shellcheck disable=SC2086
cc -O2 -std=c11 -D_GNU_SOURCE -I"$BENCH_ROOT/src" -o "$work/merged" \
	"$BENCH_ROOT/bench/tpe_merge_quality.c" "$BENCH_ROOT/build-bench/libtccore.a" $libs -lm -ldl
# the same, its sampler compiled without merging or sampling (tpe.o from
# the archive is not pulled in: every symbol it has is already defined)
# shellcheck disable=SC2086
cc -O2 -std=c11 -D_GNU_SOURCE -DTC_TPE_MERGE_MIN=1000000000 \
	-DTC_TPE_MV_BAD_MAX=1000000000 -I"$BENCH_ROOT/src" \
	-o "$work/exact" "$BENCH_ROOT/bench/tpe_merge_quality.c" "$BENCH_ROOT/src/search/tpe.c" \
	"$BENCH_ROOT/build-bench/libtccore.a" $libs -lm -ldl
echo "T=$T seeds=$S load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/merged" "$T" "$S" >"$work/m.txt"
"$work/exact" "$T" "$S" >"$work/e.txt"
python3 - "$work/m.txt" "$work/e.txt" "$T" <<'PY'
import statistics, sys
m = [l.split() for l in open(sys.argv[1])]
e = [l.split() for l in open(sys.argv[2])]
t = int(sys.argv[3])
for col, at in ((1, t // 2), (2, t)):
    mm = statistics.median(float(r[col]) for r in m)
    ee = statistics.median(float(r[col]) for r in e)
    wins = sum(float(a[col]) <= float(b[col]) for a, b in zip(m, e))
    print(f"best after {at}: merged {mm:.4g}  unmerged {ee:.4g}  ratio {mm / ee:.3f}  "
          f"merged at least as good on {wins}/{len(m)} seeds")
PY
