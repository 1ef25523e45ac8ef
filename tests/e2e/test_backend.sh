#!/usr/bin/env bash
# test_backend.sh — the verbs know backends only through the table of
# exec/backend.h: src/cli/ includes no backend's header and compares no
# backend's name; --backend NAME is looked up there (the refusal lists the
# names); and an experiment keeps the backend it was created on: run
# --backend kubernetes records it, and a re-plan (resume --force) resolves
# the new trials' commands with that backend's trial directory (checked
# against a cluster in tests/k8s/test_run.sh).  No cluster here: run reads
# the kubeconfig and reaches the API server before it records anything.
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
expect_contains "$ERR" "none" "the refusal names the kubeconfig"
tc_run ls --state-dir st
expect_no_match "$OUT" "keep" \
	"no experiment is recorded before the cluster is reached"
printf 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u, namespace: n}}]\ncurrent-context: x\n' >dead.kubeconfig
tc_run run s.yaml --backend kubernetes --state-dir st -q \
	--kubeconfig dead.kubeconfig
expect_rc 3 "run --backend kubernetes with an API server that does not answer"
tc_run ls --state-dir st
expect_no_match "$OUT" "keep" "nor when the API server cannot be reached"
tc_run run s.yaml --backend kubernetes --state-dir st -q \
	--kubeconfig "$TC_WORK/none"
expect_rc 3 "run again: the same refusal, not 'already exists'"

tc_run run s.yaml --state-dir local -q
expect_rc 0 "run on the local backend"
tc_run gc keep --state-dir local
expect_rc 2 "gc of a local experiment"
expect_contains "$ERR" \
	"experiment 'keep' ran on the local backend: it created nothing on a cluster" \
	"gc says the local backend created nothing"

tc_done
