#!/usr/bin/env bash
# test_tpe.sh — a tpe search on the Kubernetes backend against the real
# test cluster (tests/k8s/cluster.sh): the experiment starts with its
# startup trials and the Kubernetes run loop asks the rest as Jobs end
# (tc_sched_extend), up to search.trials, one Job each, no point twice;
# killed with -9 mid-search and resumed, it still ends with exactly the
# budget.  kwok runs no container: every pod "prints" $TC_K8S_POD_LOG.
. "$(dirname "$0")/lib.sh"
TC_TIMEOUT=180

now=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
printf '%s stdout F epoch=1 loss=0.5\n' "$now" >"$TC_K8S_POD_LOG.tmp"
mv "$TC_K8S_POD_LOG.tmp" "$TC_K8S_POD_LOG"

spec() { # NAME TRIALS
	cat <<Y
version: 1
name: $1
command: [python3, train.py, --x, "{{x}}", --opt, "{{opt}}"]
parameters:
  x: {distribution: uniform, min: 0, max: 1}
  opt: {values: [adam, sgd]}
search: {method: tpe, trials: $2, startup: 2, seed: 3}
metric: {name: loss, goal: minimize}
run: {parallel: 2}
kubernetes:
  image: registry.example/train:1
Y
}

spec ktpe 8 >ktpe.yaml
tc_run run ktpe.yaml --backend kubernetes --state-dir st
expect_rc 0 "a tpe search on Kubernetes"
expect_contains "$OUT" "2 startup trials of 8" "created with its startup trials"
expect_contains "$OUT" "done: 8 succeeded" "the run loop asked the other six"
tc status ktpe --state-dir st --format json >ktpe.json
JOBS=$($KUBECTL get jobs -l trainctl.io/experiment=ktpe -o json)
pycheck "eight trials, eight Jobs, no point twice" "$JOBS" <<'PY'
s = load("ktpe.json")
t = s["trials"]
check(s["search"] == {"method": "tpe", "trials": 8, "created": 8}, s["search"])
check(len(t) == 8 and all(x["state"] == "succeeded" for x in t), [x["state"] for x in t])
check(all(x["loss"] == 0.5 for x in t), "the metric read from the pods")
check(len(set((x["x"], x["opt"]) for x in t)) == 8, "no point twice")
jobs = loads(sys.argv[1])["items"]
check(sorted(j["metadata"]["labels"]["trainctl.io/trial"] for j in jobs) ==
      sorted(x["trial"] for x in t), "one Job per trial")
PY

# kill -9 while it runs, then resume: the budget, exactly
spec kcrash 10 >kcrash.yaml
succeeded() {
	"$TRAINCTL" status kcrash --state-dir st --format json 2>/dev/null |
		jget - 'd["counts"]["succeeded"]' 2>/dev/null || echo 0
}
at_least() { [ "$(succeeded)" -ge "$1" ]; }
tc_bg crash.log run kcrash.yaml --backend kubernetes --state-dir st
if wait_for 120 "3 trials succeeded" at_least 3 && tc_mine "$BG_PID"; then
	kill -9 "$BG_PID"
	wait "$BG_PID" 2>/dev/null
	pass "trainctl killed mid-search"
fi
tc_run resume kcrash --state-dir st
expect_rc 0 "resume after kill -9"
tc status kcrash --state-dir st --format json >kcrash.json
pycheck "ten trials after the crash, none twice" <<'PY'
t = load("kcrash.json")["trials"]
check(len(t) == 10 and all(x["state"] == "succeeded" for x in t), [x["state"] for x in t])
check(len(set((x["x"], x["opt"]) for x in t)) == 10, "no point twice")
PY
expect_eq "$($KUBECTL get jobs -l trainctl.io/experiment=kcrash -o name | wc -l)" 10 \
	"one Job per trial"

tc_done
