#!/usr/bin/env bash
# test_backend.sh — the verbs know backends only through the table of
# exec/backend.h: src/cli/ includes no backend's header and compares no
# backend's name; --backend NAME is looked up there (the refusal lists the
# names); and an experiment keeps the backend it was created on: run
# --backend kubernetes records it, and a re-plan (resume --force) resolves
# the new trials' commands with that backend's trial directory, not with
# the backend: of the changed spec.  No cluster: the run stops at the
# kubeconfig, after the experiment is created.
. "$(dirname "$0")/lib.sh"

cli=$TC_SOURCE_DIR/src/cli
expect_eq "$(grep -l '#include "exec/' "$cli"/*.[ch] |
	xargs grep -h '#include "exec/' | sort -u | tr '\n' ' ')" \
	'#include "exec/backend.h" #include "exec/progress.h" #include "exec/record.h" ' \
	"src/cli/ includes exec/backend.h and no backend's own header"
expect_eq "$(grep -nE 'strcmp\([^)]*"(local|kubernetes)"' "$cli"/*.c)" "" \
	"src/cli/ compares no backend name"

cat >s.yaml <<'EOF'
version: 1
name: keep
command: [echo, "{{trial_dir}}", "{{lr}}"]
parameters:
  lr: {values: [1, 2]}
kubernetes: {image: busybox}
EOF

tc_run run s.yaml --backend slurm --state-dir st
expect_rc 2 "run --backend slurm"
expect_contains "$ERR" "trainctl run: --backend must be local or kubernetes" \
	"run: the refusal names the backends"
tc_run plan s.yaml --backend slurm
expect_rc 2 "plan --backend slurm"
expect_contains "$ERR" \
	"trainctl plan: --backend must be local or kubernetes, not 'slurm'" \
	"plan: the refusal names the backends and the one given"

tc_run run s.yaml --backend kubernetes --state-dir st -q \
	--kubeconfig "$TC_WORK/none"
expect_rc 3 "run --backend kubernetes without a kubeconfig"
tc_run ls --state-dir st
expect_contains "$OUT" "keep" "the experiment was created first"
sed -i 's/values: \[1, 2\]/values: [1, 2, 3]/' s.yaml
tc_run resume keep --force --state-dir st -q --kubeconfig "$TC_WORK/none"
expect_contains "$OUT" "re-planned" "resume --force re-plans"
tc_run results keep --state-dir st -o json
expect_eq "$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(" ".join(sorted({t["command"][1] for t in json.load(sys.stdin)["trials"]})))')" \
	"/trainctl/trial" \
	"every trial, the new one too, runs in a pod's trial directory"
tc_run gc keep --state-dir st --kubeconfig "$TC_WORK/none"
expect_rc 3 "gc of a kubernetes experiment goes to the cluster"

tc_run run s.yaml --state-dir local -q
expect_rc 0 "run on the local backend"
tc_run gc keep --state-dir local
expect_rc 2 "gc of a local experiment"
expect_contains "$ERR" \
	"experiment 'keep' ran on the local backend: it created nothing on a cluster" \
	"gc says the local backend created nothing"

tc_done
