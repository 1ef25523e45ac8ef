#!/usr/bin/env bash
# test_early_stop.sh — early_stop on the real test cluster: a trial the
# rule stops has its Job deleted and ends pruned, from the metrics read
# out of its running pod's log.
#
# Every pod's log is the one file $TC_K8S_POD_LOG (kwok runs nothing), so
# the trials cannot differ by their own output; they differ in time.  The
# first trial runs alone (--limit 1) and reports val_loss 1.0 at epoch 1;
# then every log says 5.0, and the other two run on pods that stay
# Running: at rung 1 each ranks behind the first (its value kept in the
# journal, replayed by the resumed run), so each is stopped while it runs.
. "$(dirname "$0")/lib.sh"
TC_TIMEOUT=120

es_spec() { # extra kubernetes: lines
	cat >es.yaml <<Y
version: 1
name: es
command: [python3, train.py, --lr, "{{lr}}"]
parameters:
  lr: {values: [0.1, 0.01, 0.001]}
metric: {name: val_loss, goal: minimize}
early_stop: {method: asha, min_step: 1, max_step: 9, reduction_factor: 3}
run: {parallel: 2}
kubernetes:
  image: registry.example/train:1
$1
Y
}

es_spec ""
pod_log "epoch=1 val_loss=1.0" "epoch=2 val_loss=0.5"
tc_run run es.yaml --backend kubernetes --state-dir st --limit 1
expect_rc 0 "the first trial runs alone to its end"

# the rest on pods that run until deleted, each reporting 5.0 at epoch 1
es_spec "  podTemplate:
    metadata:
      annotations: {pod-complete.stage.kwok.x-k8s.io/delay: \"600s\"}"
pod_log "epoch=1 val_loss=5.0"
TRAINCTL_K8S_LOG_EVERY=0.5 tc_run run es.yaml --backend kubernetes \
	--state-dir st --resume --force
expect_rc 0 "the run ends once the rule has stopped both (exit 0)"
tc status es --state-dir st --format json >st.json
pycheck "both pruned at rung 1 from their running pods' logs" <<'PY'
st = load("st.json")
by = {t["lr"]: t for t in st["trials"]}
check(by[0.1]["state"] == "succeeded", "the first ran to its end: %s" % by[0.1])
for lr in (0.01, 0.001):
    t = by[lr]
    check(t["state"] == "pruned", "lr=%s pruned: %s (%s)" % (lr, t["state"], t["reason"]))
    check((t["reason"] or "").startswith("pruned at step 1: val_loss 5"),
          "lr=%s reason: %s" % (lr, t["reason"]))
    check(t["attempts"] == 1, "lr=%s not retried: %d" % (lr, t["attempts"]))
PY
jobs_left() {
	test "$($KUBECTL get jobs -l trainctl.io/experiment=es -o name | wc -l)" -le 1
}
wait_for 60 "the pruned trials' Jobs deleted" jobs_left &&
	pass "the pruned trials' Jobs are deleted"

tc_done
