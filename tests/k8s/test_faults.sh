#!/usr/bin/env bash
# test_faults.sh — the Kubernetes backend when the cluster misbehaves:
# the API server killed and restarted mid-sweep (the sweep goes on), and
# the Role's binding revoked mid-sweep (trainctl stops with the missing
# permission named, the journal intact; after the binding is restored,
# resume finishes without running any trial twice).
. "$(dirname "$0")/../e2e/lib.sh"
CLUSTER="bash $TC_SOURCE_DIR/tests/k8s/cluster.sh"
eval "$($CLUSTER env)" || exit 1
export KUBECONFIG=$TC_K8S_TRAINER_KUBECONFIG
KUBECTL="$TC_K8S_KUBECTL --kubeconfig $TC_K8S_ADMIN_KUBECONFIG -n $TC_K8S_NAMESPACE"
TC_TIMEOUT=180
# a clean namespace (a cluster reused between runs keeps earlier Jobs)
$KUBECTL delete jobs,configmaps,services --all >/dev/null 2>&1

count_jobs() { $KUBECTL get jobs -l "trainctl.io/experiment=$1" -o name | wc -l; }
complete_jobs() {
	$KUBECTL get jobs -l "trainctl.io/experiment=$1" \
		-o jsonpath='{range .items[*]}{.status.succeeded}{"\n"}{end}' | grep -c '^1$'
}

spec() { # NAME PARALLEL
	cat >"$1.yaml" <<EOF
version: 1
name: $1
command: [train, "{{x}}"]
parameters:
  x: {values: [1, 2, 3, 4, 5, 6, 7, 8]}
run: {parallel: $2}
kubernetes:
  image: registry.example/train:1
  podTemplate:
    metadata:
      annotations: {pod-complete.stage.kwok.x-k8s.io/delay: "1s"}
EOF
}

# ---- the API server killed and restarted in the middle -----------------
spec restart 4
tc_bg restart.out run restart.yaml --backend kubernetes --state-dir st
RUN=$BG_PID
some() { [ "$(complete_jobs restart)" -ge 1 ]; }
wait_for 60 "a first Job of restart complete" some
$CLUSTER stop kube-apiserver --kill >/dev/null 2>&1
kill -0 "$RUN" 2>/dev/null && pass "trainctl survives the API server going away"
# (readiness is a bounded wait; beside the rest of the suite on 2 cores
# the restarted API server can need more than the default 90 s)
if ! started=$(TC_K8S_TIMEOUT=300 $CLUSTER start kube-apiserver 2>&1); then
	fail "the API server did not come back"
	printf '%s\n' "$started" | tail -n 5 | sed 's/^/     | /'
fi
tc_wait_bg "$RUN"
expect_eq "$RC" 0 "the sweep finishes after the restart"
tc_run status restart --state-dir st --format json
pycheck "all eight succeeded, each once" "$OUT" <<'PY'
d = loads(sys.argv[1])
check(d["counts"]["succeeded"] == 8, "counts %r" % d["counts"])
for r in d["trials"]:
    check(r["attempts"] == 1, "attempts %r" % r["attempts"])
PY
expect_eq "$(count_jobs restart)" 8 "no Job created twice"

# ---- the Role's binding revoked in the middle --------------------------
spec revoke 2
tc_bg revoke.out run revoke.yaml --backend kubernetes --state-dir st
RUN=$BG_PID
some() { [ "$(complete_jobs revoke)" -ge 1 ]; }
wait_for 60 "a first Job of revoke complete" some
BINDING=$($KUBECTL get rolebinding trainer -o json)
$KUBECTL delete rolebinding trainer >/dev/null
tc_wait_bg "$RUN"
expect_eq "$RC" 3 "a revoked Role stops the run with exit 3"
OUT=$(cat revoke.out)
expect_match "$OUT" 'forbidden|cannot (list|watch|create|get) resource' \
	"the message names the refused permission"
printf '%s' "$BINDING" | python3 -c '
import json, sys
d = json.load(sys.stdin)
m = d["metadata"]
for k in list(m):
    if k not in ("name", "namespace", "labels"):
        del m[k]
print(json.dumps(d))' >binding.json
$KUBECTL create -f binding.json >/dev/null || fail "restore the binding"
# RBAC caches: wait until the trainer may list Jobs again
can() { $TC_K8S_KUBECTL --kubeconfig "$TC_K8S_TRAINER_KUBECONFIG" get jobs -o name; }
wait_for 30 "the trainer's permissions back" can
tc_run resume revoke --state-dir st
expect_rc 0 "resume after the binding is restored"
tc_run status revoke --state-dir st --format json
pycheck "all eight succeeded, none twice" "$OUT" <<'PY'
d = loads(sys.argv[1])
check(d["counts"]["succeeded"] == 8, "counts %r" % d["counts"])
for r in d["trials"]:
    check(r["attempts"] == 1, "attempts %r" % r["attempts"])
PY
expect_eq "$(count_jobs revoke)" 8 "no Job created twice"

tc_done
