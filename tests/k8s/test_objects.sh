#!/usr/bin/env bash
# test_objects.sh — what a shared-cluster user's spec needs (issue 16),
# run by `trainctl run --backend kubernetes` on the test cluster as the
# namespaced ServiceAccount `trainer`:
#   - env from a Secret, a ConfigMap and a field of the pod; envFrom a
#     Secret and a ConfigMap; volumes of kinds secret, configMap, emptyDir
#     (disk with a sizeLimit, and Memory); ephemeral-storage; a memory of
#     28.8Gi; a podTemplate that adds a sidecar and an env var to
#     trainctl's container;
#   - trialVolume on a PVC bound to a static PersistentVolume: the trial
#     directory is PREFIX/<experiment>/<trial id> on the claim, the same
#     for every attempt of a trial;
#   - examples/secrets-checkpoints.yaml as it is, on the claim its
#     examples/checkpoints-pvc.yaml makes.
# The Secrets, ConfigMaps, PersistentVolume and claim are made here (by the
# admin: the trainer's Role covers neither Secrets nor PVs).  The real API
# server must accept every Job (admission, validation), kwok runs the
# pods, and the Jobs and pods are read back to check the merged objects.
. "$(dirname "$0")/../e2e/lib.sh"
eval "$(bash "$TC_SOURCE_DIR/tests/k8s/cluster.sh" env)" || exit 1
export KUBECONFIG=$TC_K8S_TRAINER_KUBECONFIG
NS=$TC_K8S_NAMESPACE
ADMIN="$TC_K8S_KUBECTL --kubeconfig $TC_K8S_ADMIN_KUBECONFIG"
KA="$ADMIN -n $NS"
TC_TIMEOUT=120
PV=trainctl-test-checkpoints

cleanup() {
	$KA delete jobs,configmaps,services -l suite=objects --wait=false >/dev/null 2>&1
	$KA delete pvc checkpoints --wait=false >/dev/null 2>&1
	$KA delete secret wandb s3-credentials --ignore-not-found >/dev/null 2>&1
	$KA delete configmap settings common --ignore-not-found >/dev/null 2>&1
	$ADMIN delete pv $PV --wait=false --ignore-not-found >/dev/null 2>&1
}
cleanup
gone() { ! $ADMIN get pv $PV >/dev/null 2>&1 && ! $KA get pvc checkpoints >/dev/null 2>&1; }
wait_for 60 "an earlier run's claim and volume gone" gone

# ---- the objects a lab has in its namespace ------------------------------
$KA create secret generic wandb --from-literal=api-key=k-123 >/dev/null
made() { RC=$?; expect_rc 0 "$1"; }
made "a Secret"
$KA create secret generic s3-credentials --from-literal=AWS_ACCESS_KEY_ID=AKIA >/dev/null
made "a Secret for envFrom"
$KA create configmap settings --from-literal=mode=fast >/dev/null
made "a ConfigMap"
$KA create configmap common --from-literal=DATASET=fmnist >/dev/null
made "a ConfigMap for envFrom"
# the example's claim, and a static hostPath volume reserved for it
# (nothing mounts it: kwok runs no container)
$KA apply -f "$TC_SOURCE_DIR/examples/checkpoints-pvc.yaml" >/dev/null
made "the example's PersistentVolumeClaim"
$ADMIN apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: $PV}
spec:
  capacity: {storage: 200Gi}
  accessModes: [ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /tmp/trainctl-test-checkpoints, type: DirectoryOrCreate}
  claimRef: {namespace: $NS, name: checkpoints}
EOF
made "a static PersistentVolume for it"
bound() { [ "$($KA get pvc checkpoints -o jsonpath='{.status.phase}')" = Bound ]; }
wait_for 60 "claim checkpoints Bound" bound && pass "the claim is bound to the static volume"

cat >objs.yaml <<'EOF'
version: 1
name: objs
command: [python3, train.py, --lr, "{{lr}}", --out, "{{trial_dir}}"]
parameters:
  lr: {values: [0.1, 0.01]}
env:
  DATA: /data
  WANDB_API_KEY: {secretKeyRef: {name: wandb, key: api-key}}
  MODE: {configMapKeyRef: {name: settings, key: mode}}
  NODE: {fieldRef: {fieldPath: spec.nodeName}}
resources: {cpu: 1, memory: 28.8Gi, ephemeral-storage: 20Gi}
run: {parallel: 2}
kubernetes:
  image: busybox
  labels: {suite: objects}
  envFrom: [{secretRef: s3-credentials}, {configMapRef: common}]
  trialVolume: {claim: checkpoints, subPath: trials}
  volumes:
    - {name: scratch, emptyDir: {medium: "", sizeLimit: 10Gi}, mountPath: /scratch}
    - {name: ram, emptyDir: {medium: Memory}, mountPath: /ram}
    - {name: creds, secret: wandb, mountPath: /creds, readOnly: true}
    - {name: conf, configMap: settings, mountPath: /conf}
  podTemplate:
    spec:
      containers:
        - name: trial
          env: [{name: EXTRA, value: "1"}]
        - {name: sidecar, image: busybox, command: [sh, -c, "sleep 1"]}
EOF
tc_run run objs.yaml --backend kubernetes --state-dir st
expect_rc 0 "run: secrets, ConfigMaps, fields, volumes, a trialVolume and a sidecar"
expect_match "$OUT" "done: 2 succeeded" "both trials succeeded on kwok"
[ "$RC" = 0 ] || $KA get pods -l trainctl.io/experiment=objs -o wide >&2

$KA get jobs -l trainctl.io/experiment=objs -o json >jobs.json
$KA get pods -l trainctl.io/experiment=objs -o json >pods.json
pycheck "the Jobs and pods as the API server holds them" "$(trial_ids objs.yaml | tr '\n' ' ')" <<'PY'
import json
ids = sys.argv[1].split()
jobs = json.load(open("jobs.json"))["items"]
pods = json.load(open("pods.json"))["items"]
check(len(jobs) == 2 and len(pods) == 2, "two Jobs, two pods: %d, %d" % (len(jobs), len(pods)))
for j in jobs:
    tid = j["metadata"]["labels"]["trainctl.io/trial"]
    check(tid in ids, "trial %s" % tid)
    check(any(c["type"] == "Complete" for c in j["status"].get("conditions", [])), "%s Complete" % tid)
    p = j["spec"]["template"]["spec"]
    check([c["name"] for c in p["containers"]] == ["trial", "sidecar"], "%s: the sidecar added" % tid)
    c = p["containers"][0]
    check(c["image"] == "busybox" and c["command"][:2] == ["python3", "train.py"],
          "%s: trainctl's container kept its image and command" % tid)
    check(c["command"][-1] == "/trainctl/trial", "%s: {{trial_dir}} %r" % (tid, c["command"][-1]))
    env = {e["name"]: e for e in c["env"]}
    check(env["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "wandb", "key": "api-key"}, "secretKeyRef")
    check(env["MODE"]["valueFrom"]["configMapKeyRef"] == {"name": "settings", "key": "mode"}, "configMapKeyRef")
    check(env["NODE"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName", "fieldRef")
    check(env["EXTRA"].get("value") == "1" and env["DATA"].get("value") == "/data", "the patch's env var and the spec's")
    check(env["TRAINCTL_TRIAL"].get("value") == tid, "trainctl's env kept")
    check(c["envFrom"] == [{"secretRef": {"name": "s3-credentials"}}, {"configMapRef": {"name": "common"}}], "envFrom %r" % c.get("envFrom"))
    r = c["resources"]
    # 28.8Gi is not a whole number of bytes: the API server keeps the
    # same amount in millibytes (and warns)
    check(r["requests"]["memory"] == r["limits"]["memory"] == "30923764531200m",
          "%s: memory 28.8Gi, as the server writes it: %r" % (tid, r["requests"]["memory"]))
    check(r["requests"]["ephemeral-storage"] == r["limits"]["ephemeral-storage"] == "20Gi", "ephemeral-storage %r" % r)
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    check(mounts.get("trainctl-trial") == {"name": "trainctl-trial", "mountPath": "/trainctl/trial",
                                           "subPath": "trials/objs/" + tid},
          "%s: the trial directory at PREFIX/<experiment>/<trial id>: %r" % (tid, mounts.get("trainctl-trial")))
    check("trainctl-params" in mounts, "trainctl's params mount kept")
    check(mounts["creds"].get("readOnly") is True and mounts["scratch"]["mountPath"] == "/scratch",
          "the spec's mounts")
    vols = {v["name"]: v for v in p["volumes"]}
    check(vols["trainctl-trial"].get("persistentVolumeClaim") == {"claimName": "checkpoints"}, "trialVolume's claim")
    check(vols["scratch"]["emptyDir"] == {"sizeLimit": "10Gi"} or vols["scratch"]["emptyDir"] == {"medium": "", "sizeLimit": "10Gi"},
          "emptyDir on disk with a sizeLimit: %r" % vols["scratch"]["emptyDir"])
    check(vols["ram"]["emptyDir"].get("medium") == "Memory", "emptyDir in memory")
    check(vols["creds"]["secret"]["secretName"] == "wandb", "secret volume")
    check(vols["conf"]["configMap"]["name"] == "settings", "configMap volume")
    check(vols["trainctl-params"]["configMap"]["name"] == "objs-" + tid, "trainctl's params volume kept")
for p in pods:
    check(p["status"]["phase"] == "Succeeded", "pod %s %s" % (p["metadata"]["name"], p["status"]["phase"]))
    check((p["spec"].get("nodeName") or "").startswith("kwok-node-"), "pod scheduled on a kwok node")
    check(len(p["status"].get("containerStatuses", [])) == 2, "both containers ran")
PY

# ---- a retry resumes in the same trial directory -------------------------
cat >retry.yaml <<'EOF'
version: 1
name: objs-retry
command: [python3, train.py, --out, "{{trial_dir}}"]
run: {retries: 1, backoff: 0.1s, max_failures: 0}
kubernetes:
  image: busybox
  labels: {suite: objects}
  trialVolume: {claim: checkpoints, subPath: trials}
  podTemplate:
    metadata:
      labels: {pod-container-running-failed.stage.kwok.x-k8s.io: "true"}
      annotations: {pod-container-running-failed.stage.kwok.x-k8s.io/exit-code: "3"}
EOF
tc_run run retry.yaml --backend kubernetes --state-dir st
expect_rc 1 "a trial that fails twice: exit 1"
$KA get jobs -l trainctl.io/experiment=objs-retry -o json >rjobs.json
pycheck "both attempts' Jobs mount the trial's one directory" "$(trial_ids retry.yaml)" <<'PY'
import json
tid = sys.argv[1].strip()
jobs = json.load(open("rjobs.json"))["items"]
check(sorted(j["metadata"]["name"] for j in jobs) == ["objs-retry-%s-1" % tid, "objs-retry-%s-2" % tid],
      "a Job per attempt: %r" % [j["metadata"]["name"] for j in jobs])
for j in jobs:
    ms = {m["name"]: m for m in j["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    check(ms["trainctl-trial"].get("subPath") == "trials/objs-retry/" + tid,
          "%s: subPath %r" % (j["metadata"]["name"], ms["trainctl-trial"].get("subPath")))
PY

# ---- the example, as a user would run it ---------------------------------
tc_run run "$TC_SOURCE_DIR/examples/secrets-checkpoints.yaml" --state-dir st -q
expect_rc 0 "examples/secrets-checkpoints.yaml runs on the cluster"
$KA get pods -l trainctl.io/experiment=secrets-checkpoints -o json >epods.json
$ADMIN get nodes -o json >nodes.json
pycheck "its pods: on the RTX 3090 nodes, the trial directory on the claim" <<'PY'
import json
nodes = {n["metadata"]["name"]: n["metadata"]["labels"].get("nvidia.com/gpu.product")
         for n in json.load(open("nodes.json"))["items"]}
pods = json.load(open("epods.json"))["items"]
check(len(pods) == 6, "six pods: %d" % len(pods))
for p in pods:
    tid = p["metadata"]["labels"]["trainctl.io/trial"]
    check(nodes.get(p["spec"].get("nodeName")) == "NVIDIA-GeForce-RTX-3090", "%s on %r" % (tid, p["spec"].get("nodeName")))
    c = p["spec"]["containers"][0]
    ms = {m["name"]: m for m in c["volumeMounts"]}
    check(ms["trainctl-trial"].get("subPath") == "trials/secrets-checkpoints/" + tid, "subPath %r" % ms["trainctl-trial"])
    env = {e["name"]: e for e in c["env"]}
    check(env["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "wandb", "the key from its Secret")
PY

tc_run gc objs --state-dir st
expect_rc 0 "gc objs"
tc_run gc objs-retry --state-dir st
tc_run gc secrets-checkpoints --state-dir st
cleanup
tc_done
