#!/usr/bin/env bash
# early_stop end to end on the local backend: asha stops the trials whose
# val_loss lags at the first rung while they run (SIGTERM, state pruned,
# the step and value in the reason), never retries them, ranks them after
# the trials that ran to the end, and report counts what stopping saved;
# the run exits 0.  median does the same against the median of the
# others.  A trial that is not stopped would take 9 epochs of 0.4 s; a
# pruned one ends long before (checked from its wall time).
. "$(dirname "$0")/lib.sh"

# val_loss = q * 10 / epoch: q = 1 is best at every epoch
cat >trial.sh <<'SH'
q=$1
for e in 1 2 3 4 5 6 7 8 9; do
	echo "epoch=$e val_loss=$(awk -v q="$q" -v e="$e" 'BEGIN{print q*10/e}')"
	if [ "$e" -lt 9 ]; then sleep 0.4; fi
done
SH

cat >asha.yaml <<'Y'
version: 1
name: es-asha
command: [sh, trial.sh, "{{q}}"]
parameters:
  q: {values: [1, 2, 3, 4, 5]}
metric: {name: val_loss, goal: minimize}
early_stop: {method: asha, metric: val_loss, min_step: 1, max_step: 9, reduction_factor: 3}
run: {parallel: 1, retries: 2, timeout: 120}
Y

tc_run validate asha.yaml
expect_rc 0 "validate accepts early_stop"

tc_run run asha.yaml --state-dir s
expect_rc 0 "a run whose trials were pruned exits 0"
expect_contains "$OUT" "1 succeeded, 0 failed, 0 timed out, 0 cancelled, 4 pruned" "the summary counts pruned trials"
tc status es-asha --state-dir s --format json >status.json
tc results es-asha --state-dir s --format json >results.json
tc report es-asha --state-dir s --format json >report.json
tc_run report es-asha --state-dir s
expect_contains "$OUT" "early stopping: 4 trials pruned" "report says what was pruned"

pycheck "asha pruned the lagging trials at rung 1, once each" <<'PY'
st, res, rep = load("status.json"), load("results.json"), load("report.json")
by_q = {t["q"]: t for t in st["trials"]}
check(by_q[1]["state"] == "succeeded", "q=1 ran to the end: %s" % by_q[1])
for q in (2, 3, 4, 5):
    t = by_q[q]
    check(t["state"] == "pruned", "q=%d pruned: %s" % (q, t["state"]))
    check(t["reason"].startswith("pruned at step 1: val_loss %d" % (10 * q)),
          "q=%d reason names the step and value: %s" % (q, t["reason"]))
    check(t["attempts"] == 1, "q=%d never retried: %d attempts" % (q, t["attempts"]))
check(st["counts"]["pruned"] == 4, "status counts: %s" % st["counts"])
order = [t["q"] for t in res["trials"]]
check(order[0] == 1, "the trial that ran to the end ranks first: %s" % order)
check(order[1:] == [2, 3, 4, 5], "then the pruned ones by their last value: %s" % order)
walls = {t["index"]: t["wall_seconds"] for t in rep["trials"]}
full = [t for t in rep["trials"] if t["state"] == "succeeded"][0]["wall_seconds"]
check(full >= 3.0, "an unpruned trial takes its 9 epochs: %.2f s" % full)
for t in rep["trials"]:
    if t["state"] == "pruned":
        check(t["wall_seconds"] < full - 1.0,
              "a pruned trial stopped early: %.2f s of %.2f" % (t["wall_seconds"], full))
es = rep["early_stop"]
check(es["pruned"] == 4 and es["estimated_from"] == 1, "report's early_stop: %s" % es)
check(es["saved_wall_seconds"] > 4 * 1.0, "time saved counted: %s" % es)
PY

# kill -9 of trainctl mid-search, then resume: what was pruned stays
# pruned, nothing runs twice, and the resumed run ranks against the
# journal's history (the third trial is cut as 3rd of 3 at rung 1)
sed 's/name: es-asha/name: es-kill/' asha.yaml >kill.yaml
tc_bg kill.out run kill.yaml --state-dir k
RUN=$BG_PID
pruned_one() {
	"$TRAINCTL" status es-kill --state-dir k --format json |
		python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["counts"]["pruned"] < 1)'
}
wait_for 60 "a pruned trial before the kill" pruned_one
kill -9 "$RUN"
wait "$RUN" 2>/dev/null
tc_run resume es-kill --state-dir k
expect_rc 0 "resume after kill -9 finishes the search"
tc status es-kill --state-dir k --format json >kill.json
tc report es-kill --state-dir k --format json >killrep.json
pycheck "after kill -9 and resume: each trial once, the rule kept its history" <<'PY'
st, rep = load("kill.json"), load("killrep.json")
by_q = {t["q"]: t for t in st["trials"]}
check([by_q[q]["state"] for q in (1, 2, 3, 4, 5)] ==
      ["succeeded", "pruned", "pruned", "pruned", "pruned"],
      "states: %s" % [(q, by_q[q]["state"], by_q[q]["reason"]) for q in (1, 2, 3, 4, 5)])
check(all(by_q[q]["attempts"] == 1 for q in (1, 2, 3, 4, 5)),
      "no trial ran twice: %s" % [(q, by_q[q]["attempts"]) for q in (1, 2, 3, 4, 5)])
for q in (2, 3, 4, 5):
    check(("ranks %d of %d at rung 1" % (q, q)) in by_q[q]["reason"],
          "q=%d ranked against every earlier trial: %s" % (q, by_q[q]["reason"]))
PY

# median: two trials run to the end first (min_trials 2), then a worse
# one is stopped at min_step, a better one is not
cat >median.yaml <<'Y'
version: 1
name: es-median
command: [sh, trial.sh, "{{q}}"]
parameters:
  q: {values: [2, 3, 9, 1]}
metric: {name: val_loss, goal: minimize}
early_stop: {method: median, min_step: 2, min_trials: 2}
run: {parallel: 1}
Y
tc_run run median.yaml --state-dir s
expect_rc 0 "a median run exits 0"
tc status es-median --state-dir s --format json >median.json
pycheck "median stopped only the trial worse than the others' median" <<'PY'
st = load("median.json")
by_q = {t["q"]: t for t in st["trials"]}
check([by_q[q]["state"] for q in (2, 3, 9, 1)] ==
      ["succeeded", "succeeded", "pruned", "succeeded"],
      "states: %s" % [(q, by_q[q]["state"]) for q in (2, 3, 9, 1)])
check(by_q[9]["reason"].startswith("pruned at step 2: val_loss 45, median of 2 others 12.5"),
      "reason: %s" % by_q[9]["reason"])
PY

# `retry` runs a pruned trial again when asked by name
id=$(python3 -c 'import json,sys; print([t["trial"] for t in json.load(open("median.json"))["trials"] if t["state"]=="pruned"][0])')
tc_run retry es-median "$id" --state-dir s
expect_rc 0 "retry accepts a pruned trial"
expect_contains "$OUT" "queued 1 trial again" "and runs it"

# a metric no trial reports: every trial runs to the end, and status
# says why nothing was stopped
cat >unseen.yaml <<'Y'
version: 1
name: es-unseen
command: [sh, trial.sh, "{{q}}"]
parameters:
  q: {values: [1, 5]}
metric: {name: val_loss, goal: minimize}
early_stop: {method: asha, metric: val_acc, max_step: 9}
run: {parallel: 1}
Y
tc_run run unseen.yaml --state-dir s
expect_rc 0 "a run judging a metric nobody reports"
tc_run status es-unseen --state-dir s
expect_contains "$OUT" "early_stop: it reported no val_acc, so it was never judged" "status says why nothing was stopped"
expect_no_match "$OUT" "pruned" "and nothing was"

# bad input: file:line:col, exit 2
cat >bad.yaml <<'Y'
version: 1
name: es-bad
command: [sh, trial.sh, "{{q}}"]
parameters:
  q: {values: [1, 2]}
metric: {name: val_loss, goal: minimize}
early_stop: {method: hyperband, min_step: 1}
Y
tc_run validate bad.yaml
expect_rc 2 "hyperband without max_step is refused"
expect_contains "$ERR" "bad.yaml:7:" "with its position"
expect_contains "$ERR" "needs early_stop.max_step" "saying what is missing"
cat >bad2.yaml <<'Y'
version: 1
name: es-bad
command: [sh, trial.sh, "{{q}}"]
parameters:
  q: {values: [1, 2]}
early_stop: {method: asha}
Y
tc_run validate bad2.yaml
expect_rc 2 "early_stop without any metric is refused"
expect_contains "$ERR" "early_stop needs a metric" "saying so"
sed -i 's/method: asha}/method: asha, reduction_factor: 1.5, metric: l}/' bad2.yaml
tc_run validate bad2.yaml
expect_rc 2 "a reduction_factor under 2 is refused"
expect_contains "$ERR" "bad2.yaml:6:" "with its position"

tc_done
