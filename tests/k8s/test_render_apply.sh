#!/usr/bin/env bash
# test_render_apply.sh — what `trainctl plan --render DIR --backend
# kubernetes` writes is accepted by a real API server: the rendered
# ConfigMaps, Jobs and (nodes > 1) Services of two experiments are created
# with `kubectl create -f DIR -R` as the namespaced ServiceAccount
# `trainer` (server-side validation and admission, RBAC of a Role only);
# the one-pod Jobs then run to Complete on kwok's simulated nodes, and the
# Job controller names the pods of the two-node Indexed Job the way
# MASTER_ADDR assumes (<job>-0.<job>), with the completion index that RANK
# reads.  Everything created is deleted at the end.
#
# Runs in the k8s fixture (TC_K8S_STATE; cluster.sh env gives the rest).
. "$(dirname "$0")/../e2e/lib.sh"
eval "$(bash "$TC_SOURCE_DIR/tests/k8s/cluster.sh" env)" || exit 1
NS=$TC_K8S_NAMESPACE
KT="$TC_K8S_KUBECTL --kubeconfig $TC_K8S_TRAINER_KUBECONFIG -n $NS"

# A one-pod trial per learning rate, with what schedules on a kwok node.
cat >one.yaml <<'EOF'
version: 1
name: render-apply-one
command: [sh, -c, 'echo lr={{lr}} > {{trial_dir}}/out']
env: {DATA: /data}
parameters:
  lr: {values: [0.1, 0.01]}
resources: {cpu: 100m, memory: 64Mi}
run: {timeout: 10m}
kubernetes:
  image: busybox
  shm: 64Mi
  nodeSelector: {type: kwok}
  tolerations: [{key: lab/reserved, operator: Exists, effect: NoSchedule}]
  labels: {suite: render-apply}
  backoffLimit: 0
  ttlSecondsAfterFinished: 600
  podTemplate: {metadata: {annotations: {note: rendered}}, spec: {terminationGracePeriodSeconds: 5}}
EOF

# A two-node trial using every other option; its PVC does not exist, so
# its pods stay Pending — creation is what is tested.
cat >two.yaml <<'EOF'
version: 1
name: render-apply-two
backend: kubernetes
nodes: 2
command: [torchrun, train.py]
resources: {cpu: 1, memory: 1Gi, gpu: 1}
kubernetes:
  image: registry.example/train:1
  imagePullSecrets: [regcred]
  serviceAccount: trainer
  limits: {cpu: 2, memory: 2Gi}
  volumes:
    - {name: data, claim: no-such-claim, mountPath: /data, readOnly: true}
    - {name: out, claim: results, mountPath: /results, subPath: run-1}
    - {name: scratch, nfs: {server: nfs.lab.example, path: /export, readOnly: true}, mountPath: /scratch}
  shm: 1Gi
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{matchExpressions: [{key: type, operator: In, values: [kwok]}]}]
  queue: team-a
  labels: {suite: render-apply}
EOF

cleanup_objects() {
	$KT delete jobs,configmaps,services -l suite=render-apply --wait=false >/dev/null 2>&1
}
cleanup_objects

tc_run plan one.yaml --render out/one --backend kubernetes --namespace "$NS" -o csv
expect_rc 0 "render the one-pod experiment"
tc_run plan two.yaml --render out/two --namespace "$NS" -o csv
expect_rc 0 "render the two-node experiment (backend: kubernetes in the spec)"
one_ids=$(trial_ids one.yaml)
two_id=$(trial_ids two.yaml)
nfiles=$(find out -type f | wc -l)
expect_eq "$nfiles" 7 "2 x (ConfigMap, Job) + ConfigMap, Job, Service"

OUT=$($KT create -f out -R 2>&1)
RC=$?
expect_rc 0 "kubectl create -f out -R as the trainer: the API server accepts every object"
expect_eq "$(printf '%s\n' "$OUT" | grep -c ' created')" "$nfiles" "one object created per file"
[ "$RC" = 0 ] || printf '%s\n' "$OUT" | sed 's/^/     | /'

# ---- the one-pod Jobs complete -------------------------------------------
job_complete() { # JOB
	[ "$($KT get job "$1" -o jsonpath='{.status.conditions[?(@.type=="Complete")].status}' 2>/dev/null)" = True ]
}
for id in $one_ids; do
	job=render-apply-one-$id-1
	if wait_for 60 "Job $job Complete" job_complete "$job"; then
		pass "Job $job reached Complete"
	fi
done
id=$(printf '%s\n' "$one_ids" | head -1)
job=render-apply-one-$id-1
pod=$($KT get pods -l "trainctl.io/trial=$id" -o jsonpath='{.items[0].metadata.name}')
expect_eq "$($KT get pod "$pod" -o jsonpath='{.metadata.annotations.note}')" rendered \
	"the podTemplate patch reached the pod"
expect_eq "$($KT get pod "$pod" -o jsonpath='{.metadata.labels.trainctl\.io/attempt}')" 1 \
	"the pod carries the attempt label"
expect_eq "$($KT get pod "$pod" -o jsonpath='{.spec.containers[0].resources.limits.cpu} {.spec.containers[0].resources.limits.memory}')" \
	"100m 64Mi" "limits = requests"
expect_eq "$($KT get pod "$pod" -o jsonpath='{.status.qosClass}')" Guaranteed "Guaranteed QoS"
expect_eq "$($KT get job "$job" -o jsonpath='{.spec.activeDeadlineSeconds} {.spec.backoffLimit} {.spec.ttlSecondsAfterFinished}')" \
	"600 0 600" "deadline, backoffLimit and ttl as rendered"

# ---- the two-node trial: Indexed Job, Service, pod names ----------------
job=render-apply-two-$two_id-1
expect_eq "$($KT get job "$job" -o jsonpath='{.spec.completionMode} {.spec.completions} {.spec.parallelism}')" \
	"Indexed 2 2" "Indexed Job, 2 completions, 2 in parallel"
expect_eq "$($KT get job "$job" -o jsonpath='{.metadata.labels.kueue\.x-k8s\.io/queue-name}')" team-a \
	"the Kueue queue label"
expect_eq "$($KT get service "$job" -o jsonpath='{.spec.clusterIP} {.spec.publishNotReadyAddresses} {.spec.ports[0].port}')" \
	"None true 29500" "a headless Service named like the Job"
two_pods() {
	[ "$($KT get pods -l "trainctl.io/trial=$two_id" -o name 2>/dev/null | wc -l)" = 2 ]
}
if wait_for 60 "two pods of $job" two_pods; then
	names=$($KT get pods -l "trainctl.io/trial=$two_id" \
		-o jsonpath='{range .items[*]}{.spec.hostname}.{.spec.subdomain} {.metadata.annotations.batch\.kubernetes\.io/job-completion-index}{"\n"}{end}' | sort)
	expect_eq "$(printf '%s\n' "$names" | tr '\n' ' ')" "$job-0.$job 0 $job-1.$job 1 " \
		"pods are <job>-<index>.<job> with their completion index"
	addr=$($KT get pods -l "trainctl.io/trial=$two_id" \
		-o jsonpath='{.items[0].spec.containers[0].env[?(@.name=="MASTER_ADDR")].value}')
	expect_eq "$addr" "$job-0.$job" "MASTER_ADDR is pod 0's name"
	expect_eq "$($KT get pods -l "trainctl.io/trial=$two_id" -o jsonpath='{.items[0].spec.containers[0].resources.limits.nvidia\.com/gpu}')" \
		1 "the GPU limit"
fi

# ---- delete what was created ---------------------------------------------
OUT=$($KT delete -f out -R 2>&1)
RC=$?
expect_rc 0 "kubectl delete -f out -R"
gone() {
	[ "$($KT get jobs,configmaps,services -l suite=render-apply -o name 2>/dev/null | wc -l)" = 0 ]
}
wait_for 60 "the rendered objects gone" gone && pass "nothing left behind"
cleanup_objects
tc_done
