#!/usr/bin/env bash
# test_pipeline.sh — a pipeline (stages:) on the Kubernetes backend against
# the real test cluster (kwok nodes run no container: pods succeed, or
# fail when their labels ask).  Checked on trainctl's side:
#   - one Job per job; a job's Job is created only after every Job of the
#     jobs it needs completed (item-wise and gathered);
#   - each stage's own kubernetes section (image) and resources reach its
#     Jobs, the others keep the top level's;
#   - a stage's run.parallel caps its Jobs at a time;
#   - a failed job stops only its dependants; retry --failed and resume run
#     the rest;
#   - a finished pipeline run again creates no Job (every job cached).
. "$(dirname "$0")/lib.sh"
TC_TIMEOUT=180

pod_log "done=1"
cat >pipe.yaml <<'EOF'
version: 1
name: kpipe
resources: {cpu: 0.25, memory: 64Mi}
run: {parallel: 6}
kubernetes:
  image: registry.example/prep:1
stages:
  fetch:
    foreach: [t1, t2, t3]
    run: {parallel: 1}
    command: [fetch, "{{item}}"]
  normalise:
    needs: [fetch]
    foreach: [t1, t2, t3]
    command: [normalise, "{{item}}"]
  train:
    needs: [normalise]
    resources: {cpu: 1, memory: 128Mi}
    kubernetes: {image: registry.example/train:2}
    command: [train]
EOF
tc_run run pipe.yaml --backend kubernetes --state-dir st
expect_rc 0 "a pipeline on kubernetes runs to the end"
expect_match "$OUT" "done: 7 succeeded" "seven jobs succeeded"
JOBS=$($KUBECTL get jobs -l trainctl.io/experiment=kpipe -o json)
TRIALS=$(sqlite3 -json st/journal.db "SELECT id, stage, item, started_at, ended_at FROM trials WHERE exp = 'kpipe'")
EDGES=$(sqlite3 -json st/journal.db "SELECT trial, needed FROM needs WHERE exp = 'kpipe'")
pycheck "each job's Job: its stage's image and resources, after what it needs" \
	"$JOBS" "$TRIALS" "$EDGES" <<'PY'
from datetime import datetime
jobs = loads(sys.argv[1])["items"]
trials = {t["id"]: t for t in loads(sys.argv[2])}
edges = loads(sys.argv[3])
check(len(jobs) == 7, "seven Jobs, got %d" % len(jobs))
by_trial = {}
def ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()
for j in jobs:
    t = j["metadata"]["labels"]["trainctl.io/trial"]
    by_trial[t] = j
    c = j["spec"]["template"]["spec"]["containers"][0]
    stage = trials[t]["stage"]
    want = "registry.example/train:2" if stage == "train" else "registry.example/prep:1"
    check(c["image"] == want, "%s: image %s, want %s" % (stage, c["image"], want))
    cpu = c["resources"]["requests"]["cpu"]
    check(cpu in (("1", "1000m") if stage == "train" else ("250m", "0.25")),
          "%s: cpu %s" % (stage, cpu))
for e in edges:
    a, b = by_trial[e["trial"]], by_trial[e["needed"]]
    done = [c for c in b["status"].get("conditions", []) if c["type"] == "Complete"]
    check(done, "needed Job complete")
    # the API server's times are whole seconds: the dependant's Job is not
    # older than the completion of the Job it needs
    check(ts(a["metadata"]["creationTimestamp"]) >= ts(done[0]["lastTransitionTime"]),
          "%s created before %s completed" % (trials[e["trial"]]["stage"], trials[e["needed"]]["stage"]))
    check(trials[e["trial"]]["started_at"] >= trials[e["needed"]]["ended_at"],
          "journal: started before what it needs ended")
fetch = sorted((t["started_at"], t["ended_at"]) for t in trials.values() if t["stage"] == "fetch")
for (s1, e1), (s2, e2) in zip(fetch, fetch[1:]):
    check(s2 >= e1, "fetch ran one Job at a time (run: {parallel: 1})")
PY

# ---- run again: every job is cached, no Job is created --------------------
sed 's/^name: kpipe/name: kpipe2/' pipe.yaml >pipe2.yaml
tc_run run pipe2.yaml --backend kubernetes --state-dir st
sqlite3 st/journal.db "SELECT exp, stage, item, cache_key, command, env FROM trials ORDER BY stage, item, exp" >&2
expect_rc 0 "the same stages again"
expect_eq "$(sqlite3 st/journal.db "SELECT count(*) FROM trials WHERE exp = 'kpipe2' AND reason LIKE 'cached: kpipe/%'")" 7 \
	"every job cached from the first experiment"
expect_eq "$($KUBECTL get jobs -l trainctl.io/experiment=kpipe2 -o name | wc -l)" 0 "and no Job created"

# ---- a failure stops only its dependants ------------------------------------
cat >fail.yaml <<'EOF'
version: 1
name: kfail
run: {parallel: 4}
kubernetes:
  image: registry.example/prep:1
stages:
  a:
    foreach: [x, y]
    command: [prep, "{{item}}"]
  b:
    needs: [a]
    foreach: [x, y]
    command: [use, "{{item}}"]
  bad:
    command: [broken]
    kubernetes:
      podTemplate:
        metadata:
          labels: {pod-container-running-failed.stage.kwok.x-k8s.io: "true"}
          annotations:
            pod-container-running-failed.stage.kwok.x-k8s.io/reason: Error
            pod-container-running-failed.stage.kwok.x-k8s.io/exit-code: "3"
  after:
    needs: [bad]
    command: [never]
EOF
tc_run run fail.yaml --backend kubernetes --state-dir st
expect_rc 1 "a failed job: exit 1"
expect_eq "$(sqlite3 st/journal.db "SELECT stage || ':' || state FROM trials WHERE exp = 'kfail' ORDER BY stage, item" | tr '\n' ' ')" \
	"a:succeeded a:succeeded after:cancelled b:succeeded b:succeeded bad:failed " \
	"the failure stopped only the job that needs it"
expect_match "$(sqlite3 st/journal.db "SELECT reason FROM trials WHERE exp = 'kfail' AND stage = 'after'")" \
	"^not run: needs bad job" "and says why"
tc_done
