#!/usr/bin/env bash
# validate and run (local backend) check that command[0] names a program
# that runs: in PATH, or a path relative to the spec's directory.
. "$(dirname "$0")/lib.sh"

cat >typo.yaml <<'EOF'
version: 1
name: typo
command: [pyhton3, train.py]
EOF
tc_run validate typo.yaml
expect_rc 2 "validate: a misspelt program"
expect_eq "$ERR" "typo.yaml:3:11: command 'pyhton3' not found (did you mean python3?)" "the message names it, where, and the fix"
tc_run run typo.yaml -q
expect_rc 2 "run refuses it too"
expect_contains "$ERR" "typo.yaml:3:11: command 'pyhton3' not found" "with the same message"
tc_run ls
expect_no_match "$OUT" '^typo ' "and creates no experiment"

cat >nowhere.yaml <<'EOF'
version: 1
name: nowhere
command: [qqqqzzzzxxxx]
EOF
tc_run validate nowhere.yaml
expect_rc 2 "a program found nowhere"
expect_eq "$ERR" "nowhere.yaml:3:11: command 'qqqqzzzzxxxx' not found in PATH" "and no suggestion when none is close"

mkdir -p sub
printf '#!/bin/sh\necho acc=1\n' >sub/train.sh
chmod +x sub/train.sh
printf 'echo hi\n' >sub/noexec.sh
cat >sub/rel.yaml <<'EOF'
version: 1
name: rel
command: [./train.sh]
EOF
tc_run validate sub/rel.yaml
expect_rc 0 "a relative path is found from the spec's directory, wherever trainctl runs"
tc_run run sub/rel.yaml -q --state-dir st
expect_rc 0 "and runs"
sed 's#./train.sh#./missing.sh#' sub/rel.yaml >sub/missing.yaml
tc_run validate sub/missing.yaml
expect_rc 2 "a relative path that is not there"
expect_contains "$ERR" "sub/missing.yaml:3:11: command './missing.sh' not found (relative to $TC_WORK/sub)" "says relative to what"
sed 's#./train.sh#./noexec.sh#' sub/rel.yaml >sub/noexec.yaml
tc_run validate sub/noexec.yaml
expect_rc 2 "a file that is not executable"
expect_contains "$ERR" "sub/noexec.yaml:3:11: command './noexec.sh' is not an executable file" "says so"

cat >templ.yaml <<'EOF'
version: 1
name: templ
command: ["{{prog}}", x]
parameters:
  prog: {values: [echo, printf]}
EOF
tc_run validate templ.yaml
expect_rc 0 "a templated program is decided per trial"
cat >script.yaml <<'EOF'
version: 1
name: script
script: pyhton3 train.py
EOF
tc_run validate script.yaml
expect_rc 0 "a script is run by /bin/sh: not checked"
cat >kube.yaml <<'EOF'
version: 1
name: kube
backend: kubernetes
command: [only-in-the-image]
kubernetes: {image: busybox}
EOF
tc_run validate kube.yaml
expect_rc 0 "the kubernetes backend: the program lives in the image"
tc_done
