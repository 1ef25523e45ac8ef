#!/usr/bin/env bash
# search.method: tpe end to end on the local backend: the plan holds the
# startup trials and says the rest are adaptive; a run creates the rest
# from the results up to search.trials, never a repeat; on a quadratic the
# later trials gather near the optimum and tpe's best beats random
# search's at the same budget (mean over seeds; parallel 1, so every run
# is the same on every machine); `bayes` is its alias; a small space used
# up ends the run with a note; status and report show the budget; bad
# input: file:line:col, exit 2.
. "$(dirname "$0")/lib.sh"

# the objective: (x - 0.3)^2 + (y + 0.2)^2 + (n - 6)^2 / 100, minimum 0
cat >obj.sh <<'S'
#!/bin/sh
awk -v x="$1" -v y="$2" -v n="$3" 'BEGIN {
	printf "epoch=1 loss=%.9f\n", (x - 0.3) ^ 2 + (y + 0.2) ^ 2 + (n - 6) ^ 2 / 100 }'
S
chmod +x obj.sh

spec() { # NAME METHOD SEED TRIALS PARALLEL
	local startup=""
	[ "$2" = tpe ] && startup=", startup: 8"
	cat <<Y
version: 1
name: $1
command: [./obj.sh, "{{x}}", "{{y}}", "{{n}}"]
parameters:
  x: {distribution: uniform, min: -2, max: 2}
  y: {distribution: uniform, min: -2, max: 2}
  n: {distribution: int_uniform, min: 1, max: 20}
search: {method: $2, trials: $4, seed: $3$startup}
metric: {name: loss, goal: minimize}
run: {parallel: $5}
Y
}

spec tq tpe 5 40 1 >tq.yaml
tc_run validate tq.yaml
expect_rc 0 "validate accepts a tpe spec"
expect_contains "$OUT" "40 trials (tpe search: 8 startup, the rest chosen from results)" \
	"validate says the rest are adaptive"
tc_run plan tq.yaml
expect_rc 0 "plan of a tpe spec"
expect_contains "$OUT" "8 startup trials above (drawn from the seed); 32 more chosen by tpe" \
	"plan lists the startup trials and counts the rest"
tc plan tq.yaml --format csv | awk -F, 'NR > 1 { print $2 }' >plan.ids
expect_eq "$(wc -l <plan.ids | tr -d ' ')" 8 "plan lists 8 trials"

tc_run run tq.yaml --state-dir s1
expect_rc 0 "a tpe sweep runs"
expect_contains "$OUT" "8 startup trials of 40" "run says what it created"
expect_contains "$OUT" "(of 40)" "the run ends with the budget spent"
tc results tq --state-dir s1 --format json >tq.json
tc status tq --state-dir s1 --format json >tq.status.json
tc_run status tq --state-dir s1
expect_contains "$OUT" "40 of 40 trials created (tpe)" "status shows the budget"
tc_run report tq --state-dir s1
expect_contains "$OUT" "tpe search: 40 of 40 trials created" "report shows the budget"
expect_eq "$(tc report tq --state-dir s1 --format json | jget - 'd["search"]')" \
	'{"method": "tpe", "trials": 40, "created": 40}' "report's JSON too"
sed -n 1,8p plan.ids >want.ids
tc status tq --state-dir s1 --format json |
	jget - '"\n".join(t["trial"] for t in sorted(d["trials"], key=lambda t: t["index"])[:8])' >got.ids
expect_eq "$(cat got.ids)" "$(cat want.ids)" "the run's first trials are the plan's"

pycheck "40 distinct trials, the later ones near the optimum" <<'PY'
s = load("tq.status.json")
t = sorted(s["trials"], key=lambda t: t["index"])
check(len(t) == 40 and all(x["state"] == "succeeded" for x in t),
      "40 succeeded: %s" % [x["state"] for x in t])
check(s["search"] == {"method": "tpe", "trials": 40, "created": 40}, s["search"])
pts = [(x["x"], x["y"], x["n"]) for x in t]
check(len(set(pts)) == 40, "no point twice")
check([x["index"] for x in t] == list(range(40)), "indexes 0..39")
d = lambda x: ((x["x"] - 0.3) ** 2 + (x["y"] + 0.2) ** 2) ** 0.5
near = lambda v: sum(1 for x in v if d(x) < 0.5) / len(v)
# uniform over [-2, 2]^2: a point is within 0.5 of the optimum with
# probability pi 0.25 / 16, about 5%
print("     within 0.5 of the optimum: %.0f%% of the 8 startup trials, "
      "%.0f%% of the last 16" % (100 * near(t[:8]), 100 * near(t[-16:])))
check(near(t[-16:]) >= 0.3 and near(t[-16:]) > 2 * near(t[:8]),
      "the last 16 trials gather near the optimum")
PY

# tpe against random at the same budget, over seeds
for seed in 1 2 3 4 5; do
	spec "tp$seed" tpe "$seed" 30 1 >"tp$seed.yaml"
	spec "rn$seed" random "$seed" 30 1 >"rn$seed.yaml"
	tc run -q "tp$seed.yaml" --state-dir cmp >/dev/null 2>&1
	tc run -q "rn$seed.yaml" --state-dir cmp >/dev/null 2>&1
	for m in tp rn; do
		tc best "$m$seed" --state-dir cmp --format json >"$m$seed.best.json"
	done
done
pycheck "tpe's best beats random's at 30 trials (mean over 5 seeds)" <<'PY'
import math
def best(m, s):
    b = load("%s%d.best.json" % (m, s))
    v = b.get("metrics", b).get("loss")
    return v
tp = [best("tp", s) for s in range(1, 6)]
rn = [best("rn", s) for s in range(1, 6)]
check(all(v is not None for v in tp + rn), "every run has a best: %s %s" % (tp, rn))
mtp, mrn = sum(tp) / 5, sum(rn) / 5
print("     tpe %s mean %.4f; random %s mean %.4f" % (tp, mtp, rn, mrn))
check(mtp < mrn, "tpe mean best %.4f < random mean best %.4f" % (mtp, mrn))
PY

# parallel: three at a time, still exactly the budget and no repeats
spec tpar tpe 9 24 3 >tpar.yaml
tc_run run tpar.yaml --state-dir s2
expect_rc 0 "a tpe sweep 3 at a time"
tc status tpar --state-dir s2 --format json >tpar.json
pycheck "24 distinct trials three at a time" <<'PY'
t = load("tpar.json")["trials"]
check(len(t) == 24 and all(x["state"] == "succeeded" for x in t), "24 succeeded")
check(len(set((x["x"], x["y"], x["n"]) for x in t)) == 24, "no point twice")
PY

# bayes: the alias
sed 's/method: tpe/method: bayes/; s/name: tq/name: tb/' tq.yaml >tb.yaml
tc_run validate tb.yaml
expect_rc 0 "method: bayes is accepted"
expect_contains "$OUT" "(tpe search: 8 startup" "as tpe"
tc plan tb.yaml --format csv | awk -F, 'NR > 1 { print $3, $4, $5 }' >tb.pts
tc plan tq.yaml --format csv | awk -F, 'NR > 1 { print $3, $4, $5 }' >tq.pts
expect_eq "$(cat tb.pts)" "$(cat tq.pts)" "bayes draws what tpe draws"

# a small space used up: 6 points for a budget of 10
cat >small.yaml <<'Y'
version: 1
name: small
command: [sh, -c, 'echo "loss=$0$1" | tr -d "uvw"', "{{a}}", "{{b}}"]
parameters:
  a: {values: [1, 2]}
  b: {values: [u, v, w]}
search: {method: tpe, trials: 10, startup: 2, seed: 4}
metric: {name: loss, goal: minimize}
run: {parallel: 2}
Y
tc_run run small.yaml --state-dir s3
expect_rc 0 "a tpe sweep whose space runs out ends"
expect_contains "$OUT" "tpe found no new point after 6 trials" "with a note"
tc_run status small --state-dir s3
expect_contains "$OUT" "6 of 10 trials created (tpe): 6 succeeded" "every point once"
expect_match "$OUT" "experiment small: finished" "and the experiment is finished"

# --limit runs only planned trials (no new ones); resume --force with a
# changed command: the queued trials take it, the new ones follow it
spec tf tpe 6 12 2 >tf.yaml
tc_run run tf.yaml --state-dir s4 --limit 3
expect_rc 0 "run --limit 3 of a tpe search"
tc_run status tf --state-dir s4
expect_contains "$OUT" "8 of 12 trials created (tpe): 5 queued 3 succeeded" \
	"--limit asks nothing new"
sed 's|"{{n}}"\]|"{{n}}", again]|' tf.yaml >tf2.yaml
expect_no_match "$(diff tf.yaml tf2.yaml >/dev/null && echo same)" same "the spec changed"
cp tf2.yaml tf.yaml
tc_run resume tf --state-dir s4
expect_rc 2 "resume refuses the changed spec"
tc_run resume tf --state-dir s4 --force
expect_rc 0 "resume --force with a changed command"
tc results tf --state-dir s4 --format json >tf.json
pycheck "the first three ran the old command, the rest the new one" <<'PY'
t = sorted(load("tf.json")["trials"], key=lambda t: t["index"])
check(len(t) == 12 and all(x["state"] == "succeeded" for x in t), [x["state"] for x in t])
old = [x for x in t if x["command"][-1] != "again"]
check([x["index"] for x in old] == [0, 1, 2], "old command: %s" % [x["index"] for x in old])
check(len(set((x["x"], x["y"], x["n"]) for x in t)) == 12, "no point twice")
PY

# bad input
bad() { # WANT-POSITION-AND-MESSAGE WHAT, spec on stdin
	cat >bad.yaml
	tc_run validate bad.yaml
	expect_rc 2 "$2"
	expect_contains "$ERR" "$1" "$2: the message"
}
head='version: 1
name: b
command: [x, "{{a}}"]
parameters:
  a: {distribution: uniform, min: 0, max: 1}'
printf '%s\nsearch: {method: tpe}\nmetric: {name: loss}\n' "$head" |
	bad "bad.yaml:6:18: tpe search needs search.trials" "tpe without trials"
printf '%s\nsearch: {method: tpe, trials: 5}\n' "$head" |
	bad "bad.yaml:6:18: tpe search needs a metric" "tpe without a metric"
printf '%s\n  o: {values: [adam]}\nsearch: {method: tpe, trials: 5}\nmetric: {name: loss}\n' "$head" |
	bad "bad.yaml:6:3: parameter 'o' has one value" "tpe with a values list of one item"
printf '%s\nsearch: {method: tpe, trials: 5, exclude: [{a: 0.5}]}\nmetric: {name: loss}\n' "$head" |
	bad "bad.yaml:6:34: tpe search takes no exclude" "tpe with exclude"
printf '%s\nsearch: {method: random, trials: 5, startup: 2}\n' "$head" |
	bad "bad.yaml:6:37: search.startup is for method: tpe" "startup without tpe"
printf '%s\nsearch: {method: tpe, trials: 5, startup: -1}\nmetric: {name: loss}\n' "$head" |
	bad "bad.yaml:6:43: search.startup must be an integer" "a negative startup"

tc_done
