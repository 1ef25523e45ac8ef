#!/usr/bin/env bash
# Pipeline overhead (issue 15): a 1,000-job DAG (10 stages x 100 items,
# each stage item-wise on the one before) of /bin/true against a flat
# sweep of 1,000 /bin/true trials, both at parallel 2, and `xargs -P 2`
# running the same 1,000 commands in the same round as the floor both are
# measured from.  Per job: (tool - xargs) / 1000.  Target: the DAG's
# overhead per job within 2x the flat sweep's.
#
# Then the cached re-runs of the finished DAG: `resume` (every job's key
# recomputed and found unchanged: "nothing to do"), and a new experiment
# of the same stages (every job a cache hit from the first).  Target:
# under 1 s.  ROUNDS (5) rounds; medians.
. "$(dirname "$0")/common.sh"
ROUNDS=${ROUNDS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
items = ', '.join(str(i) for i in range(100))
s = 'version: 1\nname: dag\nrun: {parallel: 2}\nstages:\n'
for k in range(10):
    s += f'  s{k}:\n'
    if k:
        s += f'    needs: [s{k - 1}]\n'
    s += f'    foreach: [{items}]\n    command: [/bin/true, "{{{{item}}}}"]\n'
open(f'{w}/dag.yaml', 'w').write(s)
open(f'{w}/dag2.yaml', 'w').write(s.replace('name: dag', 'name: dag2'))
open(f'{w}/flat.yaml', 'w').write(
    'version: 1\nname: flat\ncommand: [/bin/true, "{{i}}"]\nparameters:\n'
    '  i: {values: [%s]}\nrun: {parallel: 2}\n' % ', '.join(str(i) for i in range(1000)))
PY
res="$work/results"
for round in $(seq "$ROUNDS"); do
	st="$work/st-$round"
	t0=$(now); seq 1000 | xargs -P 2 -n 1 /bin/true; t1=$(now)
	"$TRAINCTL" run -q "$work/flat.yaml" --state-dir "$st" >/dev/null; t2=$(now)
	"$TRAINCTL" run -q "$work/dag.yaml" --state-dir "$st" >/dev/null; t3=$(now)
	"$TRAINCTL" resume -q dag --state-dir "$st" >/dev/null; t4=$(now)
	"$TRAINCTL" run -q "$work/dag2.yaml" --state-dir "$st" >/dev/null; t5=$(now)
	n2=$(sqlite3 "$st/journal.db" "SELECT count(*) FROM trials WHERE exp = 'dag2' AND reason LIKE 'cached: dag/%'")
	[ "$n2" = 1000 ] || { echo "dag2: $n2 of 1000 jobs cached" >&2; exit 1; }
	echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $(echo "$t3 - $t2" | bc)" \
		"$(echo "$t4 - $t3" | bc) $(echo "$t5 - $t4" | bc)" >>"$res"
	rm -rf "$st"
done
python3 - "$res" "$ROUNDS" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = lambda k: statistics.median(r[k] for r in rows)
x, f, d, r, c = (med(k) for k in range(5))
ratios = sorted((r[2] - r[0]) / (r[1] - r[0]) for r in rows)
print(f"1,000 x /bin/true at parallel 2, median of {sys.argv[2]} rounds")
print(f"{'':<34} {'wall':>7} {'over xargs, a job':>18}")
print(f"{'xargs -P 2':<34} {x:6.2f}s")
print(f"{'flat sweep (1,000 trials)':<34} {f:6.2f}s {(f - x) / 1000 * 1e6:14.0f} us")
print(f"{'DAG (10 stages x 100, item-wise)':<34} {d:6.2f}s {(d - x) / 1000 * 1e6:14.0f} us")
print(f"DAG over flat, per job: {statistics.median(ratios):.2f} "
      f"(range {ratios[0]:.2f}-{ratios[-1]:.2f}; target <= 2)")
print(f"cached re-run of the finished DAG (resume): {r:.3f}s (target < 1 s)")
print(f"a new experiment of the same stages (1,000 cache hits): {c:.3f}s")
PY
