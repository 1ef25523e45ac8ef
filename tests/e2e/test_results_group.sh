#!/usr/bin/env bash
# test_results_group.sh — `results --group-by ... --agg ...`: one row per
# group of repeats, mean/std/min/max/count over its succeeded trials,
# against values worked out by hand; ranking by the group's mean; bad
# input.
. "$(dirname "$0")/lib.sh"

# lr=0.1: acc 0.5, 0.6, 0.7 (mean 0.6, sample std 0.1)
# lr=0.01: acc 0.2, 0.4, and a third repeat that fails (mean 0.3,
# std sqrt(0.02), count 2 of 3 trials)
cat >train.sh <<'EOF'
case "$1/$2" in
0.1/1) echo "acc=0.5 loss=10" ;;
0.1/2) echo "acc=0.6 loss=20" ;;
0.1/3) echo "acc=0.7 loss=30" ;;
0.01/1) echo "acc=0.2 loss=4" ;;
0.01/2) echo "acc=0.4 loss=5" ;;
0.01/3) echo "acc=0.9 loss=6"; exit 1 ;;
esac
EOF
cat >g.yaml <<'EOF'
version: 1
name: grp
command: [bash, train.sh, "{{lr}}", "{{rep}}"]
parameters:
  lr: {values: [0.01, 0.1]}
  rep: {values: [1, 2, 3]}
metric: {name: acc, goal: maximize}
run: {max_failures: 0}
EOF
tc_run run g.yaml
expect_rc 1 "the sweep (one trial fails)"

tc_run results grp --group-by lr --agg mean,std,min,max,count --format json
expect_rc 0 "results --group-by --format json"
pycheck "the aggregates, worked out by hand" "$OUT" <<'PY'
import math
d = loads(sys.argv[1])
check(d["group_by"] == ["lr"] and d["agg"] == ["mean", "std", "min", "max", "count"], "header %r" % d)
g = d["groups"]
check([x["lr"] for x in g] == [0.1, 0.01], "ranked by the mean of acc: %r" % [x["lr"] for x in g])
a, b = g[0], g[1]
close = lambda x, y: abs(x - y) < 1e-12
check(a["trials"] == 3 and a["acc"]["count"] == 3, "group 0.1: %r" % a)
check(close(a["acc"]["mean"], 0.6) and close(a["acc"]["std"], 0.1), "0.1: mean/std %r" % a["acc"])
check(a["acc"]["min"] == 0.5 and a["acc"]["max"] == 0.7, "0.1: min/max %r" % a["acc"])
check(b["trials"] == 3 and b["acc"]["count"] == 2, "the failed repeat not counted: %r" % b)
check(close(b["acc"]["mean"], 0.3) and close(b["acc"]["std"], math.sqrt(0.02)), "0.01: %r" % b["acc"])
check(b["acc"]["max"] == 0.4, "the failed repeat's value left out: %r" % b["acc"])
check(close(a["loss"]["mean"], 20.0) and close(b["loss"]["mean"], 4.5), "every metric: %r %r" % (a["loss"], b["loss"]))
check("rep" not in a, "the other parameter is aggregated over: %r" % a)
PY
expect_contains "$OUT" '"mean": 20.0' "a whole number in JSON without an exponent (20.0, not 2e1)"

tc_run results grp --group-by lr --format csv
expect_eq "$(printf '%s\n' "$OUT" | sed -n 1p)" \
	"lr,trials,acc_mean,acc_std,acc_count,loss_mean,loss_std,loss_count" \
	"CSV: mean, std and count by default"
expect_match "$(printf '%s\n' "$OUT" | sed -n 2p)" '^0\.1,3,0\.6[0-9]*,0\.(1|09999)[0-9]*,3,' \
	"CSV: the best group first, at full precision"

tc_run results grp --group-by lr
expect_rc 0 "the table"
expect_match "$(printf '%s\n' "$OUT" | sed -n 2p)" '^ *0\.1 +3 +0\.6 +0\.1 +3 ' "the table's first row"

tc_run results grp --group-by lr --goal minimize --top 1 --format csv
expect_eq "$(printf '%s\n' "$OUT" | sed -n '2p' | cut -d, -f1,2)" "0.01,3" \
	"--goal minimize ranks the other group first; --top 1 keeps one"
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 2 "one group shown"

tc_run results grp --group-by lr,rep --format csv
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 7 "grouped by every parameter: one row a trial"

tc_run results grp --group-by nope
expect_rc 2 "an unknown parameter"
expect_contains "$ERR" "its parameters: lr, rep" "the message lists the parameters"
tc_run results grp --group-by lr --agg median
expect_rc 2 "an unknown aggregate"
expect_contains "$ERR" "mean, std, min, max, count" "the message lists the aggregates"
tc_run results grp --agg mean
expect_rc 2 "--agg without --group-by"
tc_done
