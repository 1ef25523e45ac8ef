#!/usr/bin/env bash
# metrics_export.sh — `trainctl metrics` over a large journal: N (1,000)
# trials x S (100) steps x 5 metrics (the step is one: 500,000 values)
# written as CSV and as JSON lines, against sqlite3's own CSV export of
# the same rows by the same query (no formatting of ours).  Median of
# ROUNDS (5).
# Also `report --html` of the same.  Targets (issue 14): the CSV in under
# 1 s; the HTML report in under 2 s and 5 MB.
. "$(dirname "$0")/common.sh"
N=${N:-1000}
S=${S:-100}
ROUNDS=${ROUNDS:-5}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
cat >gen.sh <<GEN
for ((s = 1; s <= $S; s++)); do
	echo "step=\$s loss=0.\$RANDOM acc=0.\$RANDOM grad_norm=\$RANDOM.5 gpu_mem_mib=\$((1000 + s))"
done
GEN
python3 -c "
print('version: 1\nname: curves\ncommand: [bash, gen.sh, \"{{i}}\"]\nparameters:\n  i: {values: [%s]}\nmetric: {name: acc, goal: maximize}\nrun: {parallel: 2}' % ','.join(str(i) for i in range($N)))" >curves.yaml
"$TRAINCTL" run -q curves.yaml >/dev/null
rows=$(sqlite3 .trainctl/journal.db "SELECT count(*) FROM metrics")
echo "$rows values in the journal ($N trials x $S steps x 5 metrics)"
for round in $(seq "$ROUNDS"); do
	t0=$(now); "$TRAINCTL" metrics curves >m.csv; t1=$(now)
	"$TRAINCTL" metrics curves --format jsonl >m.jsonl; t2=$(now)
	"$TRAINCTL" metrics curves --with-params >p.csv; t3=$(now)
	sqlite3 -csv .trainctl/journal.db "SELECT m.trial, t.idx, m.attempt, m.step, m.name, m.value, m.at FROM trials t CROSS JOIN metrics m ON m.exp = t.exp AND m.trial = t.id WHERE t.exp = 'curves' ORDER BY t.idx, m.attempt, m.rowid" >s.csv
	t4=$(now)
	"$TRAINCTL" report curves --html r.html >/dev/null
	t5=$(now)
	echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $(echo "$t3 - $t2" | bc) $(echo "$t4 - $t3" | bc) $(echo "$t5 - $t4" | bc)" >>times
done
[ "$(($(wc -l <m.csv) - 1))" -eq "$rows" ] || { echo "CSV rows: $(wc -l <m.csv), want $rows + 1"; exit 1; }
python3 - times "$rows" "$(stat -c %s m.csv)" "$(stat -c %s r.html)" <<'PY'
import statistics, sys
t = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = [statistics.median(c) for c in zip(*t)]
rows, size, html = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"metrics --format csv      {med[0]:6.3f} s  ({size / 1e6:.1f} MB; target < 1 s)")
print(f"metrics --format jsonl    {med[1]:6.3f} s")
print(f"metrics --with-params     {med[2]:6.3f} s")
print(f"sqlite3 -csv, same query  {med[3]:6.3f} s  (the same query); csv/sqlite3 = {med[0] / med[3]:.2f}")
print(f"report --html             {med[4]:6.3f} s  ({html / 1e6:.1f} MB; targets < 2 s, < 5 MB)")
PY
