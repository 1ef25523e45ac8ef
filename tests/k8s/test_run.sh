#!/usr/bin/env bash
# test_run.sh — `trainctl run --backend kubernetes` against the real test
# cluster (tests/k8s/cluster.sh: kube-apiserver, etcd, the Job controller,
# the scheduler, kwok nodes), as the namespaced ServiceAccount `trainer`.
#
# kwok runs no container: a pod becomes Running, then Succeeded (or fails,
# when its labels ask), and every pod's log is the one file $TC_K8S_POD_LOG,
# which this test writes.  What is checked is trainctl's side: the objects
# it creates, the states it records from the Jobs and pods, the metrics it
# reads from the logs through the API server, failure reasons, cancel, gc,
# kill -9 and resume.
. "$(dirname "$0")/lib.sh"
TC_TIMEOUT=120

count_jobs() { # EXP
	$KUBECTL get jobs -l "trainctl.io/experiment=$1" -o name | wc -l
}

spec() { # NAME TOP-LEVEL-YAML... → NAME.yaml; $K8S adds to kubernetes:
	local name=$1
	shift
	{
		cat <<EOF
version: 1
name: $name
command: [python3, train.py, --lr, "{{lr}}", --opt, "{{opt}}", --out, "{{trial_dir}}"]
parameters:
  lr: {values: [0.1, 0.01, 0.001]}
  opt: {values: [adam, "it's \$(rm -rf /)"]}
metric: {name: test_acc, goal: maximize}
EOF
		printf '%s\n' "$@"
		printf 'kubernetes:\n  image: registry.example/train:1\n'
		[ -n "${K8S:-}" ] && printf '%s\n' "$K8S"
	} >"$name.yaml"
}

pod_log "epoch=1 loss=0.9 test_acc=0.5" "epoch=2 loss=0.4 test_acc=0.875" \
	'{"step": 2, "f1": 0.7}'

# ---- a sweep: six Jobs, all succeed, metrics from the pod logs ----------
spec basic "run: {parallel: 3}" "resources: {cpu: 0.5, memory: 256Mi}"
tc_run run basic.yaml --backend kubernetes --state-dir st
expect_rc 0 "run --backend kubernetes: six trials"
expect_match "$OUT" "done: 6 succeeded" "all six succeeded"
tc_run results basic --state-dir st --format json
pycheck "results carry the metrics read from the pods' logs" "$OUT" <<'PY'
d = loads(sys.argv[1])
rows = d["trials"]
check(len(rows) == 6, "six rows")
for r in rows:
    check(r["state"] == "succeeded", "state %s" % r["state"])
    check(r["test_acc"] == 0.875, "test_acc %r" % r.get("test_acc"))
    check(r["command"][-1] == "/trainctl/trial", "trial_dir in the pod: %r" % r["command"])
PY
tc_run results basic --state-dir st --metric f1 --format json
expect_match "$OUT" '"f1": 0.7' "JSON-lines metrics (TRAINCTL_METRICS_FILE is the pod's stdout)"
expect_eq "$(count_jobs basic)" 6 "one Job per trial"
JOB=$($KUBECTL get jobs -l trainctl.io/experiment=basic -o json)
pycheck "the Jobs as the API server holds them" "$JOB" <<'PY'
d = loads(sys.argv[1])
for j in d["items"]:
    m = j["metadata"]
    check(m["labels"]["trainctl.io/experiment"] == "basic", "experiment label")
    check(len(m["labels"]["trainctl.io/trial"]) == 12, "trial label")
    c = j["spec"]["template"]["spec"]["containers"][0]
    check(c["resources"]["requests"] == c["resources"]["limits"], "requests == limits")
    check(c["resources"]["requests"]["cpu"] in ("500m", "0.5"), "cpu request %r" % c["resources"]["requests"])
    env = {e["name"]: e.get("value") for e in c["env"]}
    check(env.get("TRAINCTL_TRIAL") == m["labels"]["trainctl.io/trial"], "TRAINCTL_TRIAL")
    check("lr" in (env.get("TRAINCTL_PARAMS") or ""), "TRAINCTL_PARAMS")
    check(any(a.startswith("it's $(rm") for a in c["command"]) or "adam" in c["command"], "argv verbatim")
    check(j["spec"].get("backoffLimit") == 0, "backoffLimit 0")
    check(any(cond["type"] == "Complete" for cond in j["status"].get("conditions", [])), "Complete")
PY
CM=$($KUBECTL get configmaps -l trainctl.io/experiment=basic -o json)
expect_eq "$(printf '%s' "$CM" | jget - 'len(d["items"])')" 6 "one ConfigMap per trial"
expect_match "$(printf '%s' "$CM" | jget - 'd["items"][0]["data"]["params.json"]')" '"lr"' "params.json in the ConfigMap"
ID=$(tc results basic --state-dir st --format json | jget - 'd["trials"][0]["trial"]')
expect_file "st/trials/$ID/stdout.log" "the pod's log kept as the trial's stdout.log"
tc_run logs basic "$ID" --state-dir st
expect_contains "$OUT" "test_acc=0.875" "trainctl logs shows the pod's output"
tc_run report basic --state-dir st
expect_rc 0 "report"
tc_run run basic.yaml --backend kubernetes --state-dir st
expect_rc 2 "a second run of the same spec refuses"
# gc under a kubeconfig whose context names another namespace: the
# experiment's own namespace (recorded at its first run) is used
sed 's/namespace: trainctl-test/namespace: default/' "$TC_K8S_TRAINER_KUBECONFIG" >elsewhere.kubeconfig
tc_run gc basic --state-dir st --kubeconfig elsewhere.kubeconfig
expect_rc 0 "gc"
expect_match "$OUT" "deleted 1[2-8] objects" "gc deletes the Jobs and ConfigMaps (and pods)"
wait_for 30 "Jobs of basic gone" test "$(count_jobs basic)" -eq 0 &&
	pass "no Job of basic left"
expect_eq "$($KUBECTL get configmaps -l trainctl.io/experiment=basic -o name | wc -l)" 0 \
	"no ConfigMap of basic left"
tc_run results basic --state-dir st --format csv
expect_match "$OUT" "succeeded" "results still there after gc"

# ---- failures: OOMKilled, with its reason; retries make new Jobs --------
K8S="  podTemplate:
    metadata:
      labels: {pod-container-running-failed.stage.kwok.x-k8s.io: \"true\"}
      annotations:
        pod-container-running-failed.stage.kwok.x-k8s.io/reason: OOMKilled
        pod-container-running-failed.stage.kwok.x-k8s.io/exit-code: \"137\""
spec oom "run: {parallel: 6, retries: 1, backoff: 0.1s, max_failures: 0}"
K8S=
tc_run run oom.yaml --backend kubernetes --state-dir st
expect_rc 1 "OOMKilled trials: exit 1"
tc_run status oom --state-dir st --format json
pycheck "failed with the pod's reason, after a retry" "$OUT" <<'PY'
d = loads(sys.argv[1])
for r in d["trials"]:
    check(r["state"] == "failed", "state %s" % r["state"])
    check("OOMKilled" in (r["reason"] or ""), "reason %r" % r["reason"])
    check(r["attempts"] == 2, "attempts %r" % r["attempts"])
PY
expect_eq "$(count_jobs oom)" 12 "one Job per attempt"

# ---- timeout: activeDeadlineSeconds → timed_out -------------------------
K8S="  podTemplate:
    metadata:
      annotations: {pod-complete.stage.kwok.x-k8s.io/delay: \"600s\"}"
spec slow "run: {parallel: 6, timeout: 2s}"
K8S=
tc_run run slow.yaml --backend kubernetes --state-dir st
expect_rc 1 "timed-out trials: exit 1"
tc_run status slow --state-dir st --format json
pycheck "timed_out by DeadlineExceeded" "$OUT" <<'PY'
d = loads(sys.argv[1])
for r in d["trials"]:
    check(r["state"] == "timed_out", "state %s" % r["state"])
    check("DeadlineExceeded" in (r["reason"] or ""), "reason %r" % r["reason"])
PY

# ---- time pending is not compute: wall time starts with the container --
K8S="  podTemplate:
    metadata:
      annotations:
        pod-ready.stage.kwok.x-k8s.io/delay: \"5s\"
        pod-complete.stage.kwok.x-k8s.io/delay: \"1s\""
spec pend "run: {parallel: 6}" "resources: {gpu: 1}"
K8S=
tc_run run pend.yaml --backend kubernetes --state-dir st
expect_rc 0 "pods that wait 5 s for their container"
tc_run report pend --state-dir st --format json
PER=$OUT
tc_run report pend --state-dir st --by opt --format json
pycheck "GPU-hours count from the container's start; the wait is pending time" "$PER" "$OUT" <<'PY'
per, by = loads(sys.argv[1]), loads(sys.argv[2])
for r in per["trials"]:
    check(r["wall_seconds"] < 4.5, "%s: wall %r includes the wait" % (r["trial"], r["wall_seconds"]))
    # (the cluster's times have whole seconds: 5 s of delay is 4 or more,
    # and a loaded machine's controllers may add to it)
    check(4 <= r["pending_seconds"] <= 60, "%s: pending %r, not the 5 s wait" % (r["trial"], r["pending_seconds"]))
    check(abs(r["gpu_hours"] - r["wall_seconds"] / 3600) < 1e-12, "%s: GPU-hours from wall only" % r["trial"])
t = per["total"]
check(abs(t["pending_seconds"] - sum(r["pending_seconds"] for r in per["trials"])) < 1e-6, "total pending = sum")
check(t["pending_seconds"] > 1.5 * t["wall_seconds"], "pending %r vs compute %r" % (t["pending_seconds"], t["wall_seconds"]))
for g in by["groups"]:
    check(g["pending_hours"] * 3600 >= 4 * g["trials"], "pending %r for %d trials" % (g["pending_hours"] * 3600, g["trials"]))
    check(abs(g["gpu_hours"] - g["wall_hours"]) < 1e-12, "one GPU: %r" % g)
check(abs(sum(g["pending_hours"] for g in by["groups"]) * 3600 - t["pending_seconds"]) < 1e-6,
      "report --by and report agree on pending")
PY
tc_run report pend --state-dir st
expect_match "$(printf '%s\n' "$OUT" | grep '^trial ')" " wall +pending " "the report's pending column"
expect_match "$OUT" "; pending [0-9.]+s \(not in wall time\)$" "and its total under the table"

# ---- unschedulable: the reason shows while pending; cancel deletes ------
spec huge "run: {parallel: 2}" "resources: {cpu: 1000}"
tc_bg huge.out run huge.yaml --backend kubernetes --state-dir st
HUGE=$BG_PID
unsched() { tc status huge --state-dir st --format json | grep -q Unschedulable; }
wait_for 180 "an Unschedulable reason in status" unsched &&
	pass "status shows Unschedulable while a trial waits"
tc_run cancel huge --state-dir st
expect_rc 0 "cancel"
tc_wait_bg "$HUGE"
expect_eq "$RC" 1 "the run ends once cancelled (exit 1)"
tc_run status huge --state-dir st --format json
expect_eq "$(printf '%s' "$OUT" | jget - 'd["counts"]["cancelled"]')" 6 "all six cancelled"
tc_run report huge --state-dir st --format json
pycheck "a trial cancelled while unschedulable computed nothing: it was pending" "$OUT" <<'PY'
d = loads(sys.argv[1])
created = [r for r in d["trials"] if r["attempts"] > 0]
check(len(created) == 2, "two Jobs were created (parallel 2): %r" % [r["attempts"] for r in d["trials"]])
for r in created:
    check(r["wall_seconds"] == 0, "%s: wall %r" % (r["trial"], r["wall_seconds"]))
    check(r["pending_seconds"] > 0, "%s: pending %r" % (r["trial"], r["pending_seconds"]))
PY
wait_for 30 "Jobs of huge deleted" test "$(count_jobs huge)" -eq 0 &&
	pass "cancel deleted the Jobs"

# ---- metrics while trials run: their pods' logs are read as they grow ----
K8S="  podTemplate:
    metadata:
      annotations: {pod-complete.stage.kwok.x-k8s.io/delay: \"600s\"}"
spec live "run: {parallel: 2}"
K8S=
TRAINCTL_K8S_LOG_EVERY=0.5 tc_bg live.out run live.yaml --backend kubernetes --state-dir st
LIVE=$BG_PID
live_metric() {
	tc results live --state-dir st --format json |
		python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not any(r["state"] == "running" and r.get("test_acc") == 0.875 for r in d["trials"]))'
}
if wait_for 180 "a running trial's test_acc in results" live_metric; then
	pass "results show the metrics of running trials"
else
	tc results live --state-dir st --format json >&2
	$KUBECTL get pods -o wide -l trainctl.io/experiment=live >&2
fi
tc_run cancel live --state-dir st
tc_wait_bg "$LIVE"
expect_eq "$RC" 1 "the live run ends once cancelled"

# ---- kill -9 mid-sweep, then resume: every trial once, no duplicate Job --
K8S="  podTemplate:
    metadata:
      annotations: {pod-complete.stage.kwok.x-k8s.io/delay: \"2s\"}"
spec crash "run: {parallel: 2}"
K8S=
tc_bg crash.out run crash.yaml --backend kubernetes --state-dir st
CRASH=$BG_PID
two_running() { [ "$(count_jobs crash)" -ge 3 ]; }
wait_for 60 "three Jobs of crash" two_running
kill -9 "$CRASH"
wait "$CRASH" 2>/dev/null
tc_run resume crash --state-dir st
expect_rc 0 "resume after kill -9"
tc_run status crash --state-dir st --format json
pycheck "every trial succeeded once" "$OUT" <<'PY'
d = loads(sys.argv[1])
check(d["counts"]["succeeded"] == 6, "counts %r" % d["counts"])
for r in d["trials"]:
    check(r["attempts"] == 1, "attempts %r" % r["attempts"])
PY
expect_eq "$(count_jobs crash)" 6 "no Job created twice"

# ---- multi-node: an Indexed Job of 3 pods and a headless Service --------
spec multi "nodes: 3" "run: {parallel: 6}"
tc_run run multi.yaml --backend kubernetes --state-dir st
expect_rc 0 "nodes: 3"
MJ=$($KUBECTL get jobs -l trainctl.io/experiment=multi -o json)
pycheck "Indexed Jobs with torchrun's environment" "$MJ" <<'PY'
d = loads(sys.argv[1])
check(len(d["items"]) == 6, "six Jobs")
for j in d["items"]:
    s = j["spec"]
    check(s.get("completionMode") == "Indexed", "Indexed")
    check(s.get("completions") == 3 and s.get("parallelism") == 3, "3 pods")
    check(j["status"].get("succeeded") == 3, "3 pods succeeded")
    env = {e["name"]: e for e in s["template"]["spec"]["containers"][0]["env"]}
    check(env["WORLD_SIZE"]["value"] == "3", "WORLD_SIZE")
    check("valueFrom" in env["RANK"], "RANK from the completion index")
    check(env["MASTER_ADDR"]["value"] == j["metadata"]["name"] + "-0." + j["metadata"]["name"], "MASTER_ADDR")
PY
expect_eq "$($KUBECTL get services -l trainctl.io/experiment=multi -o name | wc -l)" 6 \
	"a headless Service per trial"
tc_run gc multi --state-dir st
expect_rc 0 "gc multi"

# ---- mixed GPUs: each trial on the nodes of its GPU type -----------------
# cluster.sh labels the kwok nodes nvidia.com/gpu.product round-robin.
cat >mixed.yaml <<'EOF'
version: 1
name: mixed
command: [train, --bs, "{{batch_size}}", --lr, "{{lr}}"]
parameters:
  gpu: {values: [NVIDIA-A100-SXM4-80GB, NVIDIA-GeForce-RTX-3090, NVIDIA-GeForce-GTX-1080-Ti]}
  lr: {values: [0.1, 0.01]}
  batch_size: {from: gpu, map: {NVIDIA-A100-SXM4-80GB: 512, NVIDIA-GeForce-RTX-3090: 128, NVIDIA-GeForce-GTX-1080-Ti: 64}}
  mem: {from: gpu, map: {NVIDIA-A100-SXM4-80GB: 8Gi, NVIDIA-GeForce-RTX-3090: 4Gi, NVIDIA-GeForce-GTX-1080-Ti: 2Gi}}
resources: {cpu: 1, memory: "{{mem}}", gpu: 1}
run: {parallel: 6}
kubernetes:
  image: "registry.example/train:{{gpu}}"
  nodeSelector: {nvidia.com/gpu.product: "{{gpu}}"}
EOF
tc_run run mixed.yaml --backend kubernetes --state-dir st -q
expect_rc 0 "run: a mixed-GPU sweep"
$TC_K8S_KUBECTL --kubeconfig "$TC_K8S_ADMIN_KUBECONFIG" get nodes -o json >nodes.json
$KUBECTL get pods -l trainctl.io/experiment=mixed -o json >pods.json
pycheck "every pod on a node of its trial's GPU type, with its memory" <<'PY'
import json
nodes = {n["metadata"]["name"]: n["metadata"]["labels"].get("nvidia.com/gpu.product")
         for n in json.load(open("nodes.json"))["items"]}
pods = json.load(open("pods.json"))["items"]
check(len(pods) == 6, "six pods, got %d" % len(pods))
mem = {"NVIDIA-A100-SXM4-80GB": "8Gi", "NVIDIA-GeForce-RTX-3090": "4Gi",
       "NVIDIA-GeForce-GTX-1080-Ti": "2Gi"}
bs = {"NVIDIA-A100-SXM4-80GB": "512", "NVIDIA-GeForce-RTX-3090": "128",
      "NVIDIA-GeForce-GTX-1080-Ti": "64"}
for p in pods:
    c = p["spec"]["containers"][0]
    gpu = c["image"].split(":")[1]
    node = p["spec"].get("nodeName")
    check(nodes.get(node) == gpu, "%s on %s (%s), wants %s"
          % (p["metadata"]["name"], node, nodes.get(node), gpu))
    check(c["resources"]["requests"]["memory"] == mem[gpu], "memory of " + gpu)
    check(c["command"][2] == bs[gpu], "batch size of " + gpu)
PY
tc_run results mixed --state-dir st -o json
expect_eq "$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(" ".join(sorted({"%s=%s" % (t["gpu"][-4:], t["batch_size"]) for t in json.load(sys.stdin)["trials"]})))')" \
	"0-Ti=64 3090=128 80GB=512" "results: each trial's derived batch size"
tc_run gc mixed --state-dir st
# a rendered label value that is not one: refused per trial, nothing recorded
sed -e 's/^name: mixed/name: mixed-bad/' \
	-e 's/gpu.product: "{{gpu}}"/gpu.product: "{{gpu}} x"/' mixed.yaml >mixed-bad.yaml
tc_run run mixed-bad.yaml --backend kubernetes --state-dir st -q
expect_rc 2 "a rendered selector value that is not a label value: exit 2"
expect_match "$ERR" '^mixed-bad.yaml:[0-9]+:[0-9]+: trial [0-9a-f]{12}: kubernetes.nodeSelector.nvidia.com/gpu.product renders to' \
	"the error names the trial and the key"
tc_run ls --state-dir st
expect_no_match "$OUT" "^mixed-bad " "and records no experiment"

# ---- a re-plan keeps the backend's trial directory -----------------------
cat >keep.yaml <<'EOF'
version: 1
name: keep
command: [echo, "{{trial_dir}}", "{{lr}}"]
parameters:
  lr: {values: [1, 2]}
kubernetes: {image: busybox}
EOF
tc_run run keep.yaml --backend kubernetes --state-dir st -q
expect_rc 0 "run keep"
sed -i 's/values: \[1, 2\]/values: [1, 2, 3]/' keep.yaml
tc_run resume keep --force --state-dir st -q
expect_contains "$OUT" "re-planned" "resume --force re-plans"
tc_run results keep --state-dir st -o json
expect_eq "$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(" ".join(sorted({t["command"][1] for t in json.load(sys.stdin)["trials"]})))')" \
	"/trainctl/trial" \
	"every trial, the new one too, runs in a pod's trial directory"
tc_run gc keep --state-dir st

# ---- bad kubeconfigs and refusals ----------------------------------------
spec bad1
tc_run run bad1.yaml --backend kubernetes --state-dir st --kubeconfig /nonexistent/config
expect_rc 3 "a missing kubeconfig: exit 3"
expect_contains "$ERR" "/nonexistent/config" "the message names the file"
printf 'apiVersion: v1\nclusters: [\n' >broken.kubeconfig
tc_run run bad1.yaml --backend kubernetes --state-dir st2 --kubeconfig broken.kubeconfig
expect_rc 3 "a broken kubeconfig: exit 3"
expect_match "$ERR" "broken.kubeconfig" "the message names the broken file"
sed "s#server: .*#server: https://127.0.0.1:1#" "$TC_K8S_TRAINER_KUBECONFIG" >closed.kubeconfig
TC_TIMEOUT=120 tc_run run bad1.yaml --backend kubernetes --state-dir st3 --kubeconfig closed.kubeconfig
expect_rc 3 "an unreachable API server: exit 3"
expect_match "$ERR" "127.0.0.1:1" "the message names the server"
tc_run run bad1.yaml --backend kubernetes --state-dir st4 --namespace default
expect_rc 3 "a namespace the Role does not cover: exit 3"
expect_match "$ERR" 'cannot list resource "jobs"' "the message names the missing permission"
for d in st st3 st4; do
	tc_run ls --state-dir $d
	expect_no_match "$OUT" "^bad1 " "$d: a refused run recorded no experiment"
done
spec noimage
sed -i '/^kubernetes:/,$d' noimage.yaml
tc_run run noimage.yaml --backend kubernetes --state-dir st5
expect_rc 2 "no kubernetes.image: exit 2"
expect_match "$ERR" "image" "the message asks for an image"

tc_done
