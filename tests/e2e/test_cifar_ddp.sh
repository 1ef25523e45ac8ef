#!/usr/bin/env bash
# examples/cifar-ddp (seed 003): the CNN data-parallel over two ranks on
# CIFAR-10-format data, run locally through `nodes: 2` with the real
# trainer (shortened: one epoch on 400 sample images, two learning rates),
# and rendered for Kubernetes as Indexed Jobs with headless Services.
. "$(dirname "$0")/lib.sh"
ex="$TC_SOURCE_DIR/examples/cifar-ddp/cifar-ddp.yaml"
trainer="$TC_BUILD_DIR/fmnist-train"

PATH="$TC_BUILD_DIR:$PATH" tc_run validate "$ex"
expect_rc 0 "cifar-ddp.yaml validates"
expect_eq "$(tc plan "$ex" --format csv | tail -n +2 | grep -c .)" 3 "three learning rates"

tc_run plan "$ex" --render k8s --backend kubernetes
expect_rc 0 "cifar-ddp.yaml renders for Kubernetes"
pycheck "each trial: an Indexed Job of 2 pods and a headless Service named for it" <<'PY'
import glob
dirs = sorted(glob.glob("k8s/*/"))
check(len(dirs) == 3, "3 trials rendered: %d" % len(dirs))
for d in dirs:
    job, svc = load(d + "job.json"), load(d + "service.json")
    s = job["spec"]
    check(s["completionMode"] == "Indexed" and s["completions"] == 2 and s["parallelism"] == 2,
          "Indexed, 2 completions, 2 at once")
    pod = s["template"]["spec"]
    name = job["metadata"]["name"]
    check(pod["subdomain"] == name == svc["metadata"]["name"], "the pods' subdomain is the Service")
    check(svc["spec"]["clusterIP"] == "None", "headless")
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    check(env["WORLD_SIZE"]["value"] == "2", "WORLD_SIZE 2")
    check(env["MASTER_ADDR"]["value"] == name + "-0." + name, "MASTER_ADDR is rank 0's pod: %r" % env["MASTER_ADDR"])
    check("job-completion-index" in env["RANK"]["valueFrom"]["fieldRef"]["fieldPath"], "RANK from the index")
    check(env["FMNIST_CIFAR_DIR"]["value"] == "/data/cifar-10-batches-bin", "the data set's path")
PY

if [ -x "$trainer" ]; then
	"$trainer" --make-cifar-sample cifar >/dev/null
	expect_rc 0 "--make-cifar-sample"
	# small enough for the sanitizer build too
	sed -e 's/--epochs, "3"/--epochs, "1", --train-limit, "400", --test-limit, "200", --channels, "4,8"/' \
		-e 's/lr: {values: \[0.03, 0.01, 0.003\]}/lr: {values: [0.03, 0.003]}/' "$ex" >small.yaml
	FMNIST_CIFAR_DIR=$PWD/cifar PATH="$TC_BUILD_DIR:$PATH" tc_run run small.yaml -q
	expect_rc 0 "the shortened example runs with nodes: 2 on the local backend"
	pycheck "both trials succeeded with rank 0's test_acc" <<'PY'
rc, out, err = run("results", "cifar-ddp", "--format", "json")
t = loads(out)["trials"]
check(len(t) == 2, "2 trials: %d" % len(t))
for r in t:
    check(r["state"] == "succeeded", "succeeded: %r" % r["state"])
    check(isinstance(r.get("test_acc"), (int, float)) and 0 <= r["test_acc"] <= 1, "test_acc %r" % r.get("test_acc"))
    check(not any(k.startswith("rank") for k in r), "no rank<i>. metrics without ranks: all")
PY
	tid=$(trial_ids small.yaml | head -1)
	tc_run logs cifar-ddp "$tid" --stderr
	expect_rc 0 "logs --stderr (rank 0)"
	expect_contains "$OUT" "data parallel, 2 ranks x batch 32 = global batch 64" "rank 0 trained with rank 1"
	tc_run logs cifar-ddp "$tid" --rank 1
	expect_rc 0 "logs --rank 1 (rank 1 prints nothing: metrics are rank 0's)"
fi
tc_done
