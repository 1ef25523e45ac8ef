#!/usr/bin/env bash
# test_derived.sh — derived parameters ({from: P, map: {...}}) and the
# per-trial placement on Kubernetes (image, nodeSelector and resources with
# {{param}}), without a cluster: plan, plan --render, a local run.
#   - a derived parameter is no search dimension (no more trials), its
#     value follows its source in params, commands and results;
#   - its value is part of the trial id like a value: constant's would be;
#   - a rendered label value or quantity that is not valid names the trial
#     and the key, exit 2, and run records nothing;
#   - the local backend refuses per-trial resources.
. "$(dirname "$0")/lib.sh"

cat >m.yaml <<'EOF2'
version: 1
name: mixed
command: [echo, "bs={{batch_size}}", "gpu={{gpu}}"]
parameters:
  gpu: {values: [NVIDIA-A100-SXM4-80GB, NVIDIA-GeForce-RTX-3090]}
  lr: {values: [0.1, 0.01]}
  batch_size: {from: gpu, map: {NVIDIA-A100-SXM4-80GB: 512, NVIDIA-GeForce-RTX-3090: 128, unused: 1}}
  mem: {from: gpu, map: {NVIDIA-A100-SXM4-80GB: 64Gi, NVIDIA-GeForce-RTX-3090: 24Gi}}
resources: {cpu: 2, memory: "{{mem}}", gpu: 1}
kubernetes:
  image: "ghcr.io/lab/train:{{gpu}}"
  nodeSelector: {nvidia.com/gpu.product: "{{gpu}}", lab/pool: batch}
EOF2
tc_run plan m.yaml --backend kubernetes -o json
expect_rc 0 "plan: derived parameters"
expect_eq "$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(" ".join("%s/%s/%s" % (t["gpu"][-4:], t["lr"], t["batch_size"]) for t in json.load(sys.stdin)))')" \
	"80GB/0.1/512 80GB/0.01/512 3090/0.1/128 3090/0.01/128" \
	"four trials (gpu x lr), batch_size following gpu"

tc_run plan m.yaml --backend kubernetes --render r
expect_rc 0 "plan --render"
pycheck "each Job: image, selector and memory of its GPU" <<'PY'
import glob, json
jobs = [json.load(open(f)) for f in sorted(glob.glob("r/*/job.json"))]
check(len(jobs) == 4, "four Jobs")
mem = {"NVIDIA-A100-SXM4-80GB": "64Gi", "NVIDIA-GeForce-RTX-3090": "24Gi"}
for j in jobs:
    pod = j["spec"]["template"]["spec"]
    c = pod["containers"][0]
    gpu = c["image"].split(":")[1]
    check(pod["nodeSelector"] == {"nvidia.com/gpu.product": gpu, "lab/pool": "batch"},
          "selector %s" % pod["nodeSelector"])
    r = c["resources"]
    check(r["requests"]["memory"] == mem[gpu] and r["limits"]["memory"] == mem[gpu],
          "memory %s" % r)
    check(r["requests"]["cpu"] == "2", "cpu as before")
    check(c["command"][1] == "bs=%s" % {"NVIDIA-A100-SXM4-80GB": 512,
                                        "NVIDIA-GeForce-RTX-3090": 128}[gpu], "bs")
PY

# the id of a derived value is the id the same value written as a constant
cat >c.yaml <<'EOF2'
version: 1
name: mixed
command: [echo]
parameters:
  gpu: {values: [NVIDIA-A100-SXM4-80GB]}
  lr: {values: [0.1]}
  batch_size: {value: 512}
  mem: {value: 64Gi}
EOF2
tc_run plan c.yaml -o json
const_id=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["trial"])')
tc_run plan m.yaml --backend kubernetes -o json
expect_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["trial"])')" \
	"$const_id" "a derived value hashes like the same constant"

# a rendered value that is not valid: the trial and the key, exit 2
sed 's/RTX-3090: 24Gi/RTX-3090: 24 GiB/' m.yaml >bad.yaml
tc_run plan bad.yaml --backend kubernetes
expect_rc 2 "plan: a rendered quantity that is not one"
expect_match "$ERR" "^bad.yaml:9:29: trial [0-9a-f]{12}: resources.memory renders to '24 GiB', not a memory quantity" \
	"names the trial and the key, at the key's position"
sed 's/"{{gpu}}", lab/"{{gpu}}!", lab/' m.yaml >bad2.yaml
tc_run run bad2.yaml --backend kubernetes --state-dir st --kubeconfig none
expect_rc 2 "run: a rendered label value that is not one, before the cluster"
expect_contains "$ERR" "kubernetes.nodeSelector.nvidia.com/gpu.product renders to 'NVIDIA-A100-SXM4-80GB!'" \
	"the selector key"
tc_run ls --state-dir st
expect_no_match "$OUT" "mixed" "nothing recorded"
{ echo "backend: kubernetes"; cat bad2.yaml; } >bad4.yaml
tc_run validate bad4.yaml
expect_rc 2 "validate checks every trial's placement too"
expect_match "$ERR" "^bad4.yaml:13:18: trial [0-9a-f]{12}: kubernetes.nodeSelector" \
	"at the selector's key"
sed 's/"{{gpu}}", lab/"{{gpux}}", lab/' m.yaml >bad3.yaml
tc_run validate bad3.yaml
expect_rc 2 "an unknown name in nodeSelector"
expect_match "$ERR" "bad3.yaml:12:43: unknown parameter 'gpux' in \{\{gpux\}\} \(did you mean 'gpu'\?\)" \
	"at its position, at load"

# a from: naming no parameter, a value of the source missing from map:
# file:line:col, exit 2, for validate and run alike (nothing recorded)
sed 's/batch_size: {from: gpu,/batch_size: {from: gpus,/' m.yaml >from-unknown.yaml
sed 's/, RTX-3090: 128, unused: 1}/, unused: 1}/; s/NVIDIA-GeForce-RTX-3090: 128, //' m.yaml >map-missing.yaml
for verb in validate run; do
	tc_run $verb from-unknown.yaml --state-dir st
	expect_rc 2 "$verb: from: an unknown parameter"
	expect_contains "$ERR" "from-unknown.yaml:7:22: parameters.batch_size.from: unknown parameter 'gpus'" \
		"$verb: at the from: value"
	tc_run $verb map-missing.yaml --state-dir st
	expect_rc 2 "$verb: a value missing from map:"
	expect_contains "$ERR" "map-missing.yaml:7:15: parameters.batch_size.map has no entry for 'NVIDIA-GeForce-RTX-3090'" \
		"$verb: at the derived parameter's mapping"
done
tc_run ls --state-dir st
expect_no_match "$OUT" "mixed" "neither recorded an experiment"

# locally: derived values run; per-trial resources do not
sed -e '/^resources:/d' -e '/^kubernetes:/,$d' m.yaml >local.yaml
tc_run run local.yaml --state-dir st -q
expect_rc 0 "run locally"
tc_run results mixed --state-dir st -o json
expect_eq "$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(sorted({(t["batch_size"], t["command"][1]) for t in json.load(sys.stdin)["trials"]}))')" \
	"[(128, 'bs=128'), (512, 'bs=512')]" "results: the derived value and the command it ran"
tc_run validate m.yaml
expect_rc 2 "the local backend refuses per-trial resources"
expect_contains "$ERR" "m.yaml:9:29: resources.memory uses {{...}}" "at the key"

tc_done
