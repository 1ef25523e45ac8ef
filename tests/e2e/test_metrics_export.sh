#!/usr/bin/env bash
# test_metrics_export.sh — `trainctl metrics`: every value with its step,
# one row per value, against what the trials printed (written out by hand
# below); attempts kept apart; --name, TRIAL, --with-params, JSON lines;
# a read-only journal; bad input.
. "$(dirname "$0")/lib.sh"

# trial x=1 prints two steps; x=2 fails its first attempt after one step,
# then prints two steps and a JSON line (another source, a non-finite
# value, a value that needs 17 digits).
cat >train.sh <<'EOF'
x=$1
if [ "$x" = 2 ] && [ "$TRAINCTL_ATTEMPT" = 1 ]; then
	echo "step=1 loss=9"
	exit 1
fi
echo "step=1 loss=0.5 acc=0.25"
echo "step=2 loss=0.25 acc=0.12345678901234568"
if [ "$x" = 2 ]; then
	echo '{"step": 3, "f1": 0.75, "loss": "nan"}' >>"$TRAINCTL_METRICS_FILE"
fi
EOF
cat >m.yaml <<'EOF'
version: 1
name: m
command: [bash, train.sh, "{{x}}"]
parameters:
  x: {values: [1, 2]}
  opt: {values: ["a,b"]}
metric: {name: acc, goal: maximize}
run: {retries: 1, backoff: 0.1s, parallel: 1}
EOF
tc_run run m.yaml
expect_rc 0 "the sweep (one retry)"
ID0=$(trial_ids m.yaml | sed -n 1p)
ID1=$(trial_ids m.yaml | sed -n 2p)

tc_run metrics m
expect_rc 0 "metrics"
# (the time column checked apart: it is when each value came)
got=$(printf '%s\n' "$OUT" | cut -d, -f1-6)
want="trial,index,attempt,step,name,value
$ID0,0,1,1,step,1
$ID0,0,1,1,loss,0.5
$ID0,0,1,1,acc,0.25
$ID0,0,1,2,step,2
$ID0,0,1,2,loss,0.25
$ID0,0,1,2,acc,0.12345678901234568
$ID1,1,1,1,step,1
$ID1,1,1,1,loss,9
$ID1,1,2,1,step,1
$ID1,1,2,1,loss,0.5
$ID1,1,2,1,acc,0.25
$ID1,1,2,2,step,2
$ID1,1,2,2,loss,0.25
$ID1,1,2,2,acc,0.12345678901234568"
# the JSON line's values come from another source: order among sources
# is by arrival, so they are checked as a set
expect_eq "$(printf '%s\n' "$got" | grep -v ',3,')" "$want" \
	"one row per value, by trial, attempt and step, at full precision"
expect_eq "$(printf '%s\n' "$got" | grep ',3,' | sort)" \
"$ID1,1,2,3,f1,0.75
$ID1,1,2,3,loss,nan
$ID1,1,2,3,step,3" "the JSON lines' values, nan as nan"
pycheck "time: seconds since the attempt started, to the microsecond" "$OUT" <<'PY'
import csv, io
rows = list(csv.DictReader(io.StringIO(sys.argv[1])))
check(len(rows) == 17, "17 rows, got %d" % len(rows))
for r in rows:
    t = float(r["time"])
    check(0 <= t < 60, "time %r" % r["time"])
    check(len(r["time"].split(".")[1]) == 6, "microseconds: %r" % r["time"])
PY

tc_run metrics m '#1' --name acc,f1
expect_rc 0 "metrics TRIAL --name"
expect_eq "$(printf '%s\n' "$OUT" | cut -d, -f1-6 | sort)" \
"$ID1,1,2,1,acc,0.25
$ID1,1,2,2,acc,0.12345678901234568
$ID1,1,2,3,f1,0.75
trial,index,attempt,step,name,value" "only that trial's acc and f1"

tc_run metrics m "$ID0" --with-params
expect_eq "$(printf '%s\n' "$OUT" | sed -n '1p;2p' | cut -d, -f1-5,8-)" \
"trial,index,attempt,step,name,x,opt
$ID0,0,1,1,step,1,\"a,b\"" "--with-params: the parameters as columns (CSV quoting)"

tc_run metrics m --format jsonl --with-params
expect_rc 0 "metrics --format jsonl"
pycheck "JSON lines: the same rows, typed" "$OUT" "$ID1" <<'PY'
rows = [loads(l) for l in sys.argv[1].splitlines()]
check(len(rows) == 17, "17 rows, got %d" % len(rows))
r = [x for x in rows if x["trial"] == sys.argv[2] and x["name"] == "acc" and x["step"] == 2][0]
check(r == {"trial": sys.argv[2], "index": 1, "attempt": 2, "step": 2, "name": "acc",
            "value": 0.12345678901234568, "time": r["time"], "x": 2, "opt": "a,b"}, r)
check(isinstance(r["time"], float) and r["time"] >= 0, "time %r" % r["time"])
n = [x for x in rows if x["name"] == "loss" and x["step"] == 3][0]
check(n["value"] == "nan", "nan as a string: %r" % n["value"])
PY

# a copy of the journal that may not change: metrics writes nothing
cp -r .trainctl ro
find ro -type f | sort >before
tc_run metrics m --state-dir ro
expect_rc 0 "metrics on a copy of the journal"
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 18 "all its rows"
find ro -type f | sort >after
expect_eq "$(diff before after)" "" "no file created in the copy"

tc_run metrics nosuch
expect_rc 2 "an unknown experiment"
expect_contains "$ERR" "nosuch" "the message names it"
tc_run metrics m zzzzzz
expect_rc 2 "an unknown trial"
tc_run metrics m --format xml
expect_rc 2 "an unknown format"
expect_contains "$ERR" "csv, jsonl" "the message lists the formats"
tc_run metrics
expect_rc 2 "no experiment named"
tc_done
