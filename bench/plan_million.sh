#!/usr/bin/env bash
# Planning a 1,000,000-trial grid (100 x 100 x 100): wall time and peak RSS
# of `trainctl plan` in each output format; baseline: a Python
# itertools.product over the same values writing the same CSV rows (no
# ids), measured in the same run.
. "$(dirname "$0")/common.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 - "$work/grid.yaml" <<'PY'
import sys
a = ",".join(str(i) for i in range(100))
b = ",".join("%.1f" % (0.1 * i) for i in range(1, 101))
c = ",".join("opt%d" % i for i in range(100))
open(sys.argv[1], "w").write(f"""version: 1
name: million
command: [/bin/true, "{{{{a}}}}", "{{{{b}}}}", "{{{{c}}}}"]
parameters:
  a: {{values: [{a}]}}
  b: {{values: [{b}]}}
  c: {{values: [{c}]}}
""")
PY
for fmt in table csv json; do
  /usr/bin/time -f "%e %M" -o "$work/t" "$TRAINCTL" plan "$work/grid.yaml" --format $fmt > "$work/out"
  read -r secs rss < "$work/t"
  rows=$(grep -c . "$work/out" || true)
  echo "plan --format $fmt: ${secs} s, peak RSS $((rss / 1024)) MB, $rows lines"
done
/usr/bin/time -f "%e %M" -o "$work/t" python3 -c "
import itertools, sys
a = range(100); b = ['%.1f' % (0.1 * i) for i in range(1, 101)]; c = ['opt%d' % i for i in range(100)]
w = sys.stdout.write
for i, p in enumerate(itertools.product(a, b, c)):
    w('%d,%s,%s,%s\n' % (i, p[0], p[1], p[2]))
" > "$work/out"
read -r psecs prss < "$work/t"
echo "baseline python itertools.product to CSV: ${psecs} s, peak RSS $((prss / 1024)) MB"
