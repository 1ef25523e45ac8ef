#!/usr/bin/env bash
# test_env_file.sh — env: values that are not written out, on the local
# backend:
#   - {file: PATH} is read when the run starts (PATH relative to the spec's
#     directory), one trailing newline dropped, and reaches every trial's
#     environment without being written to the journal or the state
#     directory;
#   - a file that cannot be read, or that holds a NUL byte, is the spec's
#     fault: file:line:col of the value, exit 2, no experiment recorded;
#   - a Kubernetes reference (secretKeyRef, configMapKeyRef, fieldRef) is
#     refused by the local backend at its position, exit 2, rather than
#     passed on as text.
. "$(dirname "$0")/lib.sh"

mkdir spec elsewhere
printf 's3cr3t-token\n' >spec/token.txt
printf 'line one\nline two' >spec/two-lines.txt
cat >spec/files.yaml <<'EOF'
version: 1
name: files
command: [sh, -c, 'printf "%s|%s|%s\n" "$TOKEN" "$PLAIN" "$MULTI" > out-{{lr}}.txt']
env:
  PLAIN: hello
  TOKEN: {file: token.txt}
  MULTI: {file: two-lines.txt}
parameters:
  lr: {values: [1, 2]}
EOF

# run from another directory: the path is the spec's directory's
cd elsewhere
tc_run run ../spec/files.yaml --state-dir ../st -q
expect_rc 0 "run with {file: PATH} values"
cd ..
for lr in 1 2; do
	expect_eq "$(cat "spec/out-$lr.txt" 2>/dev/null)" "s3cr3t-token|hello|line one
line two" "trial lr=$lr: the file's content, its trailing newline dropped"
done
tc_run validate spec/files.yaml
expect_rc 0 "validate reads the files too"
# the value is the file's, not the experiment's record
expect_eq "$(grep -rl s3cr3t-token st | wc -l)" 0 "the file's content is nowhere in the state directory"

bad() { # NAME LINE:COL MESSAGE (the spec on stdin)
	cat >"spec/$1.yaml"
	tc_run validate "spec/$1.yaml"
	expect_rc 2 "validate $1: exit 2"
	expect_contains "$ERR" "spec/$1.yaml:$2: $3" "validate $1: file:line:col and why"
	tc_run run "spec/$1.yaml" --state-dir st -q
	expect_rc 2 "run $1: exit 2"
	expect_contains "$ERR" "spec/$1.yaml:$2: $3" "run $1: file:line:col and why"
	tc_run ls --state-dir st
	expect_no_match "$OUT" "^$1 " "run $1: no experiment recorded"
}
H='version: 1
command: [sh, -c, "true"]'
printf '%s\n' "$H" 'name: missing' 'env:' '  A: b' '  KEY: {file: no-such-file}' |
	bad missing 6:8 "env.KEY: cannot read $TC_WORK/spec/no-such-file: No such file or directory"
printf 'a\0b' >spec/nul.bin
printf '%s\n' "$H" 'name: nul' 'env: {KEY: {file: nul.bin}}' |
	bad nul 4:11 "env.KEY: nul.bin contains a NUL byte"
printf '%s\n' "$H" 'name: secret' 'env:' '  WANDB_API_KEY: {secretKeyRef: {name: wandb, key: api-key}}' |
	bad secret 5:18 "env.WANDB_API_KEY: a secretKeyRef is read by Kubernetes; the local backend cannot resolve it (use {file: PATH}"
printf '%s\n' "$H" 'name: cmref' 'env: {MODE: {configMapKeyRef: {name: settings, key: mode}}}' |
	bad cmref 4:13 "env.MODE: a configMapKeyRef is read by Kubernetes"
printf '%s\n' "$H" 'name: field' 'env: {NODE: {fieldRef: {fieldPath: spec.nodeName}}}' |
	bad field 4:13 "env.NODE: a fieldRef is read by Kubernetes"
# the same references pass where Kubernetes resolves them
printf '%s\n' "$H" 'name: k8s' 'backend: kubernetes' \
	'env: {NODE: {fieldRef: {fieldPath: spec.nodeName}}}' 'kubernetes: {image: busybox}' >spec/k8s.yaml
tc_run validate spec/k8s.yaml
expect_rc 0 "validate of a spec for Kubernetes accepts a fieldRef"

tc_done
