#!/usr/bin/env bash
# The example experiment files validate and plan to the sizes they promise,
# and a shortened copy of the README's main job runs end to end through
# trainctl with the real trainer on real Fashion-MNIST data.
. "$(dirname "$0")/lib.sh"
ex="$TC_SOURCE_DIR/examples/fashion-mnist"

for f in grid random models tpe; do
	tc_run validate "$ex/$f.yaml"
	expect_rc 0 "examples/$f.yaml validates"
done
expect_eq "$(tc plan "$ex/grid.yaml" --format csv | tail -n +2 | grep -c .)" 36 "grid.yaml: 3 x 3 x 2 x 2 = 36 trials"
expect_eq "$(tc plan "$ex/random.yaml" --format csv | tail -n +2 | grep -c .)" 20 "random.yaml: 20 trials"
expect_eq "$(tc plan "$ex/models.yaml" --format csv | tail -n +2 | grep -c .)" 4 "models.yaml: 2 models x 2 data sets"
expect_eq "$(tc plan "$ex/tpe.yaml" --format csv | tail -n +2 | grep -c .)" 8 "tpe.yaml: 8 startup trials planned"
tc_run validate "$ex/tpe.yaml"
expect_contains "$OUT" "30 trials (tpe search: 8 startup" "tpe.yaml: a budget of 30"

# the Kubernetes examples: valid, clean under NRP's policy, rendered as
# their comments say (tests/k8s/test_objects.sh runs them on a cluster)
for f in mixed-gpu secrets-checkpoints; do
	tc_run validate "$TC_SOURCE_DIR/examples/$f.yaml"
	expect_rc 0 "examples/$f.yaml validates"
	tc_run lint "$TC_SOURCE_DIR/examples/$f.yaml" --policy nrp
	expect_rc 0 "examples/$f.yaml: lint --policy nrp"
	expect_contains "$OUT" "no findings (policy nrp)" "examples/$f.yaml: no findings"
done
tc_run plan "$TC_SOURCE_DIR/examples/secrets-checkpoints.yaml" --render sc
expect_rc 0 "secrets-checkpoints.yaml renders"
pycheck "secrets-checkpoints.yaml: secrets as references, the trial directory on the claim" <<'PY'
import glob
jobs = [load(f) for f in sorted(glob.glob("sc/*/job.json"))]
check(len(jobs) == 6, "3 learning rates x 2 batch sizes: %d" % len(jobs))
for j in jobs:
    tid = j["metadata"]["labels"]["trainctl.io/trial"]
    p = j["spec"]["template"]["spec"]
    c = p["containers"][0]
    env = {e["name"]: e for e in c["env"]}
    check("value" not in env["WANDB_API_KEY"] and env["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "wandb",
          "WANDB_API_KEY from the Secret")
    check(c["envFrom"] == [{"secretRef": {"name": "s3-credentials"}}], "envFrom")
    ms = {m["name"]: m for m in c["volumeMounts"]}
    check(ms["trainctl-trial"]["subPath"] == "trials/secrets-checkpoints/" + tid, "subPath %r" % ms["trainctl-trial"])
    vs = {v["name"]: v for v in p["volumes"]}
    check(vs["trainctl-trial"]["persistentVolumeClaim"]["claimName"] == "checkpoints", "the claim")
PY

trainer="$TC_BUILD_DIR/fmnist-train"
if [ -x "$trainer" ] && [ -d /usr/share/datasets/fashion-mnist ]; then
	# grid.yaml with one epoch on 2,000 images and two learning rates
	sed -e 's/--epochs, "5"/--epochs, "1", --train-limit, "2000", --test-limit, "1000"/' \
		-e 's/lr:         {values: \[0.001, 0.0001, 0.00001\]}/lr:         {values: [0.001, 0.00001]}/' \
		-e 's/batch_size: {values: \[8, 16, 32\]}/batch_size: {values: [32]}/' \
		-e 's/init:       {values: \[he, xavier\]}/init:       {values: [he]}/' \
		"$ex/grid.yaml" >small.yaml
	PATH="$TC_BUILD_DIR:$PATH" tc_run run small.yaml -q
	expect_rc 0 "a shortened grid.yaml runs with the real trainer"
	pycheck "every trial reported test_acc; the best is the larger learning rate" <<'PY'
rc, out, err = run("results", "fmnist-grid", "--format", "json")
d = loads(out)
check(len(d["trials"]) == 4, "4 trials, got %d" % len(d["trials"]))
for t in d["trials"]:
    check(t["state"] == "succeeded", "state %r" % t["state"])
    check(isinstance(t.get("test_acc"), float) and 0.0 <= t["test_acc"] <= 1.0, "test_acc %r" % t.get("test_acc"))
check(d["trials"][0]["lr"] == 0.001, "best first: lr %r" % d["trials"][0]["lr"])
check(d["trials"][0]["test_acc"] > 0.6, "one epoch at lr 1e-3 learns: %r" % d["trials"][0]["test_acc"])
PY
fi
tc_done
