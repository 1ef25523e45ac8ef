#!/usr/bin/env bash
# plan --render DIR --backend kubernetes: one directory per trial holding
# configmap.json, job.json (attempt 1) and, for nodes > 1, service.json,
# and nothing else (kubectl create -f DIR -R reads every .json); the
# objects' names, namespace, labels, command,
# env, resources, volumes and options; --namespace and the defaults; the
# spec's backend: as default; and the refusals (no image, bad namespace,
# bad kubernetes: section) with exit 2.  No cluster: see
# tests/k8s/test_render_apply.sh for the API server's opinion.
. "$(dirname "$0")/lib.sh"

cat >one.yaml <<'EOF'
version: 1
name: render-one
command: [python, train.py, --lr, "{{lr}}", --out, "{{trial_dir}}"]
env: {DATA: /data, OMP_NUM_THREADS: "3"}
parameters:
  lr: {values: [0.1, 0.01, 0.001]}
  opt: {value: adam}
resources: {cpu: 1500m, memory: 3Gi, gpu: 1}
run: {timeout: 1h, retries: 2}
kubernetes:
  namespace: my-lab
  image: ghcr.io/lab/train:1.4
  imagePullSecrets: [regcred]
  serviceAccount: trainer
  limits: {memory: 4Gi}
  volumes:
    - {name: data, claim: sentinel-chips, mountPath: /data, readOnly: true}
    - {name: scratch, nfs: {server: nfs.lab.example, path: /export}, mountPath: /scratch}
  shm: 2Gi
  nodeSelector: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}
  tolerations: [{key: lab/reserved, operator: Exists, effect: NoSchedule}]
  priorityClass: low
  queue: team-a
  labels: {project: sentinel}
  backoffLimit: 1
  podTemplate: {spec: {hostIPC: false, restartPolicy: null}}
EOF

tc_run plan one.yaml --render out --backend kubernetes --format csv
expect_rc 0 "plan --render out --backend kubernetes"
expect_contains "$ERR" "rendered 3 trials into out" "says how many trials it rendered"
ids=$(printf '%s\n' "$OUT" | awk -F, 'NR > 1 { print $2 }')
expect_eq "$(printf '%s\n' "$ids" | grep -c .)" 3 "three trials planned"
expect_eq "$(find out -mindepth 1 -maxdepth 1 -type d | wc -l)" 3 "one directory per trial"
for id in $ids; do
	expect_eq "$(cd "out/$id" && ls -A | tr '\n' ' ')" "configmap.json job.json " \
		"trial $id: configmap.json and job.json only (nodes 1: no service)"
done
expect_eq "$(find out -name '.*' -o -name '*.tmp*' | wc -l)" 0 "no temporary files left behind"

pycheck "the ConfigMap and Job of every trial" out "$ids" <<'PY'
out, ids = sys.argv[1], sys.argv[2].split()
for i, tid in enumerate(ids):
    d = os.path.join(out, tid)
    for f in ("configmap.json", "job.json"):
        text = open(os.path.join(d, f)).read()
        check(text.endswith("}\n"), "%s/%s ends with a newline" % (tid, f))
        check(text.startswith('{\n  "apiVersion"'), "%s/%s: pretty, apiVersion first" % (tid, f))
    cm, job = load(os.path.join(d, "configmap.json")), load(os.path.join(d, "job.json"))
    params = {"lr": [0.1, 0.01, 0.001][i], "opt": "adam"}
    check(list(job) == ["apiVersion", "kind", "metadata", "spec"], "job key order: %r" % list(job))

    # ConfigMap
    check(cm["kind"] == "ConfigMap" and cm["apiVersion"] == "v1", "configmap kind")
    check(cm["metadata"]["name"] == "render-one-" + tid, "configmap name %r" % cm["metadata"]["name"])
    check(cm["metadata"]["namespace"] == "my-lab", "configmap namespace from kubernetes.namespace")
    check(cm["metadata"]["labels"] == {"trainctl.io/experiment": "render-one",
                                       "trainctl.io/trial": tid, "project": "sentinel"},
          "configmap labels %r" % cm["metadata"]["labels"])
    pj = cm["data"]["params.json"]
    check(pj.endswith("\n") and json.loads(pj) == params,
          "params.json in the ConfigMap: %r" % pj)

    # Job
    m = job["metadata"]
    check(job["kind"] == "Job" and job["apiVersion"] == "batch/v1", "job kind")
    check(m["name"] == "render-one-%s-1" % tid, "job name (attempt 1): %r" % m["name"])
    check(m["namespace"] == "my-lab", "job namespace")
    check(m["labels"] == {"trainctl.io/experiment": "render-one", "trainctl.io/trial": tid,
                          "trainctl.io/attempt": "1", "project": "sentinel",
                          "kueue.x-k8s.io/queue-name": "team-a"}, "job labels %r" % m["labels"])
    s = job["spec"]
    check(s["backoffLimit"] == 1 and s["activeDeadlineSeconds"] == 3600 and
          s["ttlSecondsAfterFinished"] == 86400, "backoffLimit, deadline from run.timeout, ttl")
    check(s["completions"] == 1 and s["parallelism"] == 1 and "completionMode" not in s, "one pod")
    t = s["template"]
    check(t["metadata"]["labels"] == {"trainctl.io/experiment": "render-one", "trainctl.io/trial": tid,
                                      "trainctl.io/attempt": "1", "project": "sentinel"},
          "pod labels %r" % t["metadata"]["labels"])
    p = t["spec"]
    check("restartPolicy" not in p, "podTemplate null deleted restartPolicy")
    check(p["hostIPC"] is False, "podTemplate merged hostIPC")
    check(p["serviceAccountName"] == "trainer", "serviceAccountName")
    check(p["imagePullSecrets"] == [{"name": "regcred"}], "imagePullSecrets")
    check(p["priorityClassName"] == "low", "priorityClassName")
    check(p["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}, "nodeSelector")
    check(p["tolerations"] == [{"key": "lab/reserved", "operator": "Exists", "effect": "NoSchedule"}],
          "tolerations")
    check(len(p["containers"]) == 1, "one container")
    c = p["containers"][0]
    check(c["name"] == "trial" and c["image"] == "ghcr.io/lab/train:1.4", "container name and image")
    want_argv = ["python", "train.py", "--lr", str([0.1, 0.01, 0.001][i]), "--out", "/trainctl/trial"]
    check(c["command"] == want_argv, "command = resolved argv, trial_dir in the pod: %r" % c["command"])
    env = {e["name"]: e.get("value") for e in c["env"]}
    names = [e["name"] for e in c["env"]]
    check(len(names) == len(set(names)), "no env name twice: %r" % names)
    check(names[:6] == ["TRAINCTL_EXPERIMENT", "TRAINCTL_TRIAL", "TRAINCTL_ATTEMPT", "TRAINCTL_PARAMS",
                        "TRAINCTL_TRIAL_DIR", "TRAINCTL_METRICS_FILE"], "TRAINCTL_* first: %r" % names)
    check(env["TRAINCTL_TRIAL"] == tid and env["TRAINCTL_ATTEMPT"] == "1" and
          json.loads(env["TRAINCTL_PARAMS"]) == params and env["TRAINCTL_TRIAL_DIR"] == "/trainctl/trial" and
          env["TRAINCTL_METRICS_FILE"] == "/dev/stdout", "TRAINCTL_* values")
    check(env["OMP_NUM_THREADS"] == "3" and env["MKL_NUM_THREADS"] == "2" and env["OPENBLAS_NUM_THREADS"] == "2",
          "threads: the spec's OMP_NUM_THREADS, else ceil(cpu 1.5) = 2")
    check(env["DATA"] == "/data", "the spec's env")
    check("WORLD_SIZE" not in env and "CUDA_VISIBLE_DEVICES" not in env, "no multi-node or CUDA variables")
    r = c["resources"]
    check(r["requests"] == {"cpu": "1500m", "memory": "3Gi", "nvidia.com/gpu": "1"}, "requests %r" % r["requests"])
    check(r["limits"] == {"cpu": "1500m", "memory": "4Gi", "nvidia.com/gpu": "1"}, "limits %r" % r["limits"])
    vols = {v["name"]: v for v in p["volumes"]}
    check([v["name"] for v in p["volumes"]] == ["trainctl-trial", "trainctl-params", "data", "scratch", "dshm"],
          "volumes in order: %r" % [v["name"] for v in p["volumes"]])
    check(vols["trainctl-params"]["configMap"]["name"] == cm["metadata"]["name"], "params volume is the ConfigMap")
    check(vols["data"]["persistentVolumeClaim"] == {"claimName": "sentinel-chips", "readOnly": True}, "PVC")
    check(vols["scratch"]["nfs"] == {"server": "nfs.lab.example", "path": "/export"}, "NFS")
    check(vols["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}, "shm")
    mounts = {v["name"]: v for v in c["volumeMounts"]}
    check(mounts["trainctl-params"] == {"name": "trainctl-params", "mountPath": "/etc/trainctl", "readOnly": True},
          "params mounted read-only at /etc/trainctl")
    check(mounts["data"].get("readOnly") is True and mounts["scratch"].get("readOnly") is None,
          "readOnly per mount")
    check(mounts["dshm"]["mountPath"] == "/dev/shm", "/dev/shm")
PY

# ---- --namespace, defaults, the spec's backend ---------------------------
tc_run plan one.yaml --render ns --backend kubernetes --namespace other -o csv
expect_rc 0 "--namespace other"
id0=$(printf '%s\n' "$ids" | head -1)
expect_eq "$(jget "ns/$id0/job.json" "d['metadata']['namespace']")" other "--namespace wins over kubernetes.namespace"
expect_eq "$(jget "ns/$id0/configmap.json" "d['metadata']['namespace']")" other "... for the ConfigMap too"

cat >multi.yaml <<'EOF'
version: 1
name: render-multi
backend: kubernetes
nodes: 3
command: [torchrun, train.py]
resources: {cpu: 2, memory: 8Gi}
kubernetes: {image: busybox}
EOF
tc_run plan multi.yaml --render multi
expect_rc 0 "plan --render with backend: kubernetes in the spec"
mid=$(trial_ids multi.yaml)
expect_eq "$(cd "multi/$mid" && ls -A | tr '\n' ' ')" \
	"configmap.json job.json service.json " \
	"nodes 3: a service.json too (the spec's backend: is the default)"
pycheck "nodes 3: Indexed Job, headless Service, torchrun's environment" "multi/$mid" "$mid" <<'PY'
d, tid = sys.argv[1], sys.argv[2]
job, svc = load(d + "/job.json"), load(d + "/service.json")
name = "render-multi-%s-1" % tid
check(job["metadata"]["namespace"] == "default", "no namespace anywhere: default")
s = job["spec"]
check(s["completionMode"] == "Indexed" and s["completions"] == 3 and s["parallelism"] == 3, "Indexed, 3 x 3")
check("activeDeadlineSeconds" not in s, "no run.timeout, no deadline")
p = s["template"]["spec"]
check(p["subdomain"] == name, "subdomain is the Service")
env = p["containers"][0]["env"]
byname = {e["name"]: e for e in env}
check([e["name"] for e in env][-7:] == ["WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT",
                                      "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK"], "the seven last")
check(byname["LOCAL_RANK"]["value"] == "0" and byname["LOCAL_WORLD_SIZE"]["value"] == "1",
      "one process a pod")
check("job-completion-index" in byname["GROUP_RANK"]["valueFrom"]["fieldRef"]["fieldPath"],
      "GROUP_RANK is the pod's index")
check(byname["WORLD_SIZE"]["value"] == "3", "WORLD_SIZE")
check(byname["RANK"]["valueFrom"]["fieldRef"]["fieldPath"] ==
      "metadata.annotations['batch.kubernetes.io/job-completion-index']", "RANK from the completion index")
check(byname["MASTER_ADDR"]["value"] == "%s-0.%s" % (name, name), "MASTER_ADDR is pod 0")
check(byname["MASTER_PORT"]["value"] == "29500", "MASTER_PORT")
check(svc["kind"] == "Service" and svc["metadata"]["name"] == name, "service name = job name")
check(svc["spec"]["clusterIP"] == "None" and svc["spec"]["publishNotReadyAddresses"] is True, "headless")
check(svc["spec"]["selector"] == {"trainctl.io/experiment": "render-multi", "trainctl.io/trial": tid,
                                  "trainctl.io/attempt": "1"}, "selector: this attempt's pods")
check([(x["name"], x["port"]) for x in svc["spec"]["ports"]] == [("master", 29500)], "one port, master")
PY

# local rendering is unchanged, even for a kubernetes spec
tc_run plan multi.yaml --render local --backend local
expect_rc 0 "plan --render --backend local"
expect_eq "$(cd "local/$mid" && ls -A | tr '\n' ' ')" "command.json params.json " \
	"--backend local: only params.json and command.json"
expect_match "$(jget "local/$mid/command.json" "d['env']")" '^\{\}$' "local command.json as before"

# ---- refusals -------------------------------------------------------------
cat >noimage.yaml <<'EOF'
version: 1
name: noimage
command: [a]
kubernetes:
  namespace: lab
EOF
tc_run plan noimage.yaml --render x --backend kubernetes
expect_rc 2 "no kubernetes.image: exit 2"
expect_contains "$ERR" "noimage.yaml:4:1: kubernetes.image is required for the kubernetes backend" \
	"the message points at the kubernetes: key"
expect_no_file x/ "nothing rendered"
tc_run plan noimage.yaml
expect_rc 0 "the same spec plans fine for the local backend"
# the image is the kubernetes backend's need, not the file's: a spec that
# says backend: kubernetes still loads for --backend local (and resume
# reads the journal's copy the same way)
sed 's/^command: \[a\]/command: [echo]\nbackend: kubernetes\nworkdir: ./' \
	noimage.yaml >k8sdefault.yaml
tc_run plan k8sdefault.yaml --backend local
expect_rc 0 "backend: kubernetes without an image plans with --backend local"
tc_run plan k8sdefault.yaml
expect_rc 2 "... and not for its own backend"
expect_contains "$ERR" "k8sdefault.yaml:6:1: kubernetes.image is required" \
	"the message points at the kubernetes: key"

sed 's/^kubernetes:.*//; s/^  namespace: lab//' noimage.yaml >nosection.yaml
tc_run plan nosection.yaml --backend kubernetes
expect_rc 2 "no kubernetes: section at all: exit 2"
expect_contains "$ERR" "nosection.yaml:1:1: kubernetes.image is required" "... at the file's start"

tc_run plan one.yaml --render y --backend kube
expect_rc 2 "--backend kube: exit 2"
expect_contains "$ERR" "--backend must be local or kubernetes" "says which backends exist"
tc_run plan one.yaml --render y --backend kubernetes --namespace My_Lab
expect_rc 2 "--namespace My_Lab: exit 2"
expect_contains "$ERR" "not a valid namespace name" "says why"
tc_run plan one.yaml --backend local --namespace lab
expect_rc 2 "--namespace with the local backend: exit 2"

cat >badvol.yaml <<'EOF'
version: 1
name: badvol
command: [a]
kubernetes:
  image: busybox
  volumes:
    - {name: data, mountPath: /data}
EOF
tc_run plan badvol.yaml --render z --backend kubernetes
expect_rc 2 "a volume without claim or nfs: exit 2"
expect_contains "$ERR" "badvol.yaml:7:7: kubernetes.volumes[0] needs one of claim:" "with its line and column"
tc_run validate badvol.yaml
expect_rc 2 "validate refuses it too (the loader checks the kubernetes: section)"

cat >worldsize.yaml <<'EOF'
version: 1
name: ws
command: [a]
env: {WORLD_SIZE: "8"}
nodes: 2
kubernetes: {image: busybox}
EOF
tc_run plan worldsize.yaml --backend kubernetes
expect_rc 2 "env WORLD_SIZE with nodes 2: exit 2"
expect_contains "$ERR" "worldsize.yaml:4:19: env: WORLD_SIZE is set by trainctl" "at the env entry"

# ---- references, envFrom, volume kinds, trialVolume, podTemplate merge ----
cat >refs.yaml <<'EOF'
version: 1
name: refs
command: [python, train.py, --out, "{{trial_dir}}"]
env:
  DATA: /data
  WANDB_API_KEY: {secretKeyRef: {name: wandb, key: api-key}}
  MODE: {configMapKeyRef: {name: settings, key: mode}}
  NODE: {fieldRef: {fieldPath: spec.nodeName}}
resources: {cpu: 1, memory: 28.8Gi, ephemeral-storage: 20Gi}
kubernetes:
  image: busybox
  envFrom: [{secretRef: s3}, {configMapRef: common}]
  limits: {memory: 30Gi, ephemeral-storage: 40Gi}
  trialVolume: {claim: ckpt, subPath: trials/}
  volumes:
    - {name: scratch, emptyDir: {medium: "", sizeLimit: 100Gi}, mountPath: /scratch}
    - {name: ram, emptyDir: {medium: Memory}, mountPath: /ram}
    - {name: creds, secret: wandb, mountPath: /creds, readOnly: true}
    - {name: conf, configMap: settings, mountPath: /conf}
  podTemplate:
    spec:
      containers:
        - name: trial
          env: [{name: EXTRA, value: "1"}, {name: DATA, value: /other}]
          volumeMounts: [{name: extra, mountPath: /extra}]
        - {name: sidecar, image: busybox}
      volumes: [{name: extra, emptyDir: {}}, {name: trainctl-params, configMap: {defaultMode: 420}}]
EOF
tc_run plan refs.yaml --render refs --backend kubernetes
expect_rc 0 "plan --render a spec with references, new volume kinds and trialVolume"
rid=$(trial_ids refs.yaml)
pycheck "references, envFrom, volumes, quantities, trialVolume, merge by name" "refs/$rid/job.json" "$rid" <<'PY'
job, tid = load(sys.argv[1]), sys.argv[2]
p = job["spec"]["template"]["spec"]
check([c["name"] for c in p["containers"]] == ["trial", "sidecar"], "containers merged by name")
c = p["containers"][0]
check(c["image"] == "busybox" and c["command"][0] == "python", "trainctl's container kept its image and command")
env = {e["name"]: e for e in c["env"]}
check(env["WANDB_API_KEY"] == {"name": "WANDB_API_KEY", "valueFrom": {"secretKeyRef": {"name": "wandb", "key": "api-key"}}},
      "secretKeyRef: %r" % env["WANDB_API_KEY"])
check(env["MODE"]["valueFrom"] == {"configMapKeyRef": {"name": "settings", "key": "mode"}}, "configMapKeyRef")
check(env["NODE"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}, "fieldRef")
check(all("value" not in env[k] for k in ("WANDB_API_KEY", "MODE", "NODE")), "no reference as a string")
check(env["DATA"]["value"] == "/other" and env["EXTRA"]["value"] == "1", "env merged by name")
check(env["TRAINCTL_TRIAL"]["value"] == tid, "trainctl's env kept")
check(c["envFrom"] == [{"secretRef": {"name": "s3"}}, {"configMapRef": {"name": "common"}}], "envFrom")
r = c["resources"]
check(r["requests"] == {"cpu": "1", "memory": "28.8Gi", "ephemeral-storage": "20Gi"}, "requests %r" % r["requests"])
check(r["limits"] == {"cpu": "1", "memory": "30Gi", "ephemeral-storage": "40Gi"}, "limits %r" % r["limits"])
vols = {v["name"]: v for v in p["volumes"]}
check([v["name"] for v in p["volumes"]] == ["trainctl-trial", "trainctl-params", "scratch", "ram", "creds", "conf", "extra"],
      "volumes merged by name: %r" % [v["name"] for v in p["volumes"]])
check(vols["trainctl-trial"] == {"name": "trainctl-trial", "persistentVolumeClaim": {"claimName": "ckpt"}}, "trialVolume claim")
check(vols["trainctl-params"]["configMap"] == {"name": "refs-" + tid, "defaultMode": 420}, "patch merged into params volume")
check(vols["scratch"]["emptyDir"] == {"medium": "", "sizeLimit": "100Gi"}, "emptyDir disk")
check(vols["ram"]["emptyDir"] == {"medium": "Memory"}, "emptyDir memory")
check(vols["creds"]["secret"] == {"secretName": "wandb"}, "secret volume")
check(vols["conf"]["configMap"] == {"name": "settings"}, "configMap volume")
mounts = {m["name"]: m for m in c["volumeMounts"]}
check(mounts["trainctl-trial"] == {"name": "trainctl-trial", "mountPath": "/trainctl/trial",
                                   "subPath": "trials/refs/" + tid}, "trial dir at PREFIX/<experiment>/<trial>")
check(mounts["extra"]["mountPath"] == "/extra" and mounts["creds"].get("readOnly") is True, "mounts")
PY
tc_run validate refs.yaml
expect_rc 2 "validate for the local backend refuses a secret reference"
expect_contains "$ERR" "refs.yaml:6:18: env.WANDB_API_KEY: a secretKeyRef is read by Kubernetes" "at its position"

bad() { # NAME LINE:COL MESSAGE, the spec on stdin
	cat >"$1.yaml"
	tc_run validate "$1.yaml"
	expect_rc 2 "$1: exit 2"
	expect_contains "$ERR" "$1.yaml:$2: $3" "$1: file:line:col and why"
}
H='version: 1
name: bad
backend: kubernetes
command: [a]'
printf '%s\n' "$H" 'env: {K: {secretKeyRef: {name: s}}}' 'kubernetes: {image: x}' |
	bad nokey 5:25 "env.K.secretKeyRef needs name: and key:"
printf '%s\n' "$H" 'env: {K: {configMapKeyRef: {name: s}}}' 'kubernetes: {image: x}' |
	bad cmnokey 5:28 "env.K.configMapKeyRef needs name: and key:"
printf '%s\n' "$H" 'env: {K: {fieldRef: {}}}' 'kubernetes: {image: x}' |
	bad nofieldpath 5:21 "env.K.fieldRef needs fieldPath:"
printf '%s\n' "$H" 'env: {K: {secretKeyRef: {name: s, key: k}, fieldRef: {fieldPath: x}}}' 'kubernetes: {image: x}' |
	bad tworefs 5:44 "env.K: give one of secretKeyRef, configMapKeyRef, fieldRef and file, not two"
printf '%s\n' "$H" 'kubernetes: {image: x, envFrom: [{secretRef: a, configMapRef: b}]}' |
	bad envfromtwo 5:34 "kubernetes.envFrom[0] must be {secretRef: NAME} or {configMapRef: NAME}"
printf '%s\n' "$H" 'kubernetes: {image: x, trialVolume: {claim: c, subPath: ../x}}' |
	bad subpathup 5:57 "kubernetes.trialVolume.subPath must not contain '..'"
printf '%s\n' "$H" 'kubernetes: {image: x, volumes: [{name: s, emptyDir: {medium: Disk}, mountPath: /s}]}' |
	bad medium 5:63 "kubernetes.volumes[0].emptyDir.medium must be \"\" (the node's disk) or Memory"
printf '%s\n' "$H" 'kubernetes: {image: x, volumes: [{name: s, emptyDir: {sizeLimit: lots}, mountPath: /s}]}' |
	bad sizelimit 5:66 "kubernetes.volumes[0].emptyDir.sizeLimit must be a quantity"
printf '%s\n' "$H" 'kubernetes: {image: x, envFrom: [{secretRf: s}]}' |
	bad envfromkind 5:35 "unknown key 'secretRf' in kubernetes.envFrom[0]"
printf '%s\n' "$H" 'kubernetes: {image: x, trialVolume: {subPath: a}}' |
	bad noclaim 5:37 "kubernetes.trialVolume needs claim:"
printf '%s\n' "$H" 'kubernetes:' '  image: x' '  podTemplate: {spec: {containers: [{name: trial, volumeMounts: null}]}}' |
	bad nomounts 7:51 "kubernetes.podTemplate.spec.containers[0].volumeMounts: null would remove"
printf '%s\n' "$H" 'kubernetes:' '  image: x' '  podTemplate: {spec: {volumes: null}}' |
	bad novolumes 7:24 "kubernetes.podTemplate.spec.volumes: null would remove trainctl's volumes"
printf '%s\n' "$H" 'kubernetes:' '  image: x' '  podTemplate: {spec: {containers: [{image: y}]}}' |
	bad noname 7:37 "kubernetes.podTemplate.spec.containers[0] needs name:"
printf '%s\n' "$H" 'kubernetes:' '  image: x' '  podTemplate: {spec: {containers: [{name: trial, volumeMounts: [{name: foo, mountPath: /trainctl/trial}]}]}}' |
	bad takesmount 7:66 "kubernetes.podTemplate.spec.containers[0].volumeMounts[0]: /trainctl/trial is where trainctl mounts volume trainctl-trial"
printf '%s\n' "$H" 'kubernetes:' '  image: x' '  podTemplate: {spec: {volumes: [{name: trainctl-trial, $patch: delete}]}}' |
	bad patchdelete 7:57 "kubernetes.podTemplate.spec.volumes[0]: \$patch is not supported"
printf '%s\n' "$H" 'env: {K: {file: key}}' 'kubernetes: {image: x}' |
	bad fileonk8s 5:10 "env.K: {file: key} is read on this machine by the local backend only"

tc_done
