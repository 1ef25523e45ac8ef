#!/usr/bin/env bash
# test_lint.sh — `trainctl lint` against the fixtures of tests/lint/ (one
# per rule of the nrp policy, one that breaks none), --policy strict and
# a lab's own policy file; run warning (and refusing under strict) before
# it records anything; report flagging trials that left their GPUs idle.
. "$(dirname "$0")/lib.sh"

L=$TC_SOURCE_DIR/tests/lint
cp "$L"/*.yaml .

tc_run lint clean.yaml
expect_rc 0 "lint: a spec that breaks no rule"
expect_contains "$OUT" "clean.yaml: no findings (policy nrp)" "lint says so"

tc_run lint limits-within.yaml
expect_rc 1 "lint: findings under nrp exit 1"
expect_match "$OUT" '^limits-within.yaml:6:1: kubernetes.limits.cpu is 50% above resources.cpu \(at most 20% allowed\).*rule limits_within\)$' \
	"limits_within: where, what and which rule"
tc_run lint limits-within.yaml --policy strict
expect_rc 2 "lint --policy strict: findings exit 2"
expect_contains "$OUT" "policy strict, rule limits_within" "strict names itself"

tc_run lint limits-equal.yaml
expect_rc 1 "lint: limits_equal_above"
expect_contains "$OUT" "kubernetes.limits.memory differs from resources.memory while run.parallel is 150" \
	"limits must equal requests above 100 Jobs"
expect_no_match "$OUT" "limits_within" "a 10% limit is within 20%"

tc_run lint idle.yaml
expect_rc 1 "lint: idle command"
expect_match "$OUT" "^idle.yaml:4:9: the script contains 'sleep infinity'.*rule idle_command" \
	"idle_command at the script"

# a lab's policy: 50% is allowed, and it refuses
tc_run lint limits-within.yaml --policy lab-policy.yaml
expect_rc 0 "lab policy: a 50% limit is allowed"
tc_run lint idle.yaml --policy lab-policy.yaml
expect_rc 2 "lab policy (refuse: true): exit 2"
expect_contains "$OUT" "policy lab, rule idle_command" "the lab policy's name"

# the README's policy block is the built-in nrp policy: the same findings
python3 - "$TC_SOURCE_DIR/README.md" >readme-nrp.yaml <<'PY'
import sys
sec = open(sys.argv[1]).read().split("### Cluster policy", 1)[1]
print(sec.split("```yaml\n", 1)[1].split("\n```", 1)[0])
PY
for f in clean limits-within limits-equal idle; do
	tc_run lint $f.yaml
	want=$OUT
	tc_run lint $f.yaml --policy readme-nrp.yaml
	expect_eq "$OUT" "$want" "$f: the README's policy file finds what nrp finds"
done

# bad policies
tc_run lint clean.yaml --policy bad-policy.yaml
expect_rc 2 "an unknown rule: exit 2"
expect_match "$ERR" "bad-policy.yaml:5:3: unknown rule 'limit_within'; known: limits_within" \
	"file:line:col of the unknown rule"
printf 'version: 1\nname: x\nrules:\n  limits_within: {percnt: 20}\n' >typo.yaml
tc_run lint clean.yaml --policy typo.yaml
expect_rc 2 "an unknown setting: exit 2"
expect_match "$ERR" "typo.yaml:4:19: unknown setting of limits_within 'percnt'" \
	"file:line:col of the unknown setting"
printf 'version: 1\nname: x\nrules:\n  limits_within: {percent: lots}\n' >val.yaml
tc_run lint clean.yaml --policy val.yaml
expect_rc 2 "a bad value: exit 2"
expect_match "$ERR" "val.yaml:4:3: limits_within needs percent" "at the rule"
tc_run lint clean.yaml --policy nosuch.yaml
expect_rc 2 "a missing policy file: exit 2"

# run: the same findings as warnings; strict refuses before recording
cat >w.yaml <<'Y'
version: 1
name: warned
command: [sh, -c, "sleep infinity & exit 0"]
Y
tc_run run w.yaml --state-dir st -q --policy nrp
expect_rc 0 "run --policy nrp warns and runs"
expect_contains "$ERR" "trainctl run: warning: w.yaml:3:11: the command contains 'sleep infinity'" \
	"run warns with lint's finding"
sed -i 's/name: warned/name: refused/' w.yaml
tc_run run w.yaml --state-dir st -q --policy strict
expect_rc 2 "run --policy strict refuses"
expect_contains "$ERR" "policy strict refuses this spec" "and says so"
tc_run ls --state-dir st
expect_no_match "$OUT" "^refused " "nothing recorded"
tc_run run w.yaml --state-dir st -q
expect_rc 0 "locally, no policy unless asked"
expect_no_match "$ERR" "warning" "no warning"

# report: trials that requested GPUs and reported gpu_util under 40%
cat >g.yaml <<'Y'
version: 1
name: gpus
command: [sh, -c, "echo step=1 gpu_util=$0; echo step=2 gpu_util=$1", "{{a}}", "{{b}}"]
parameters:
  a: {values: [10, 90]}
  b: {value: 20}
resources: {gpu: 1}
Y
tc_run run g.yaml --state-dir st -q --gpus 1
expect_rc 0 "run a GPU sweep"
ids=$(tc_run results gpus --state-dir st -o json; printf '%s' "$OUT" | python3 -c '
import json, sys
print(" ".join(t["trial"] for t in sorted(json.load(sys.stdin)["trials"], key=lambda t: t["a"])))')
idle=${ids%% *}
busy=${ids##* }
tc_run report gpus --state-dir st
expect_contains "$OUT" "policy nrp: GPUs requested but left idle (gpu_util stayed under 40%):" \
	"report flags idle GPUs"
expect_contains "$OUT" "trial $idle: gpu_util at most 20" "the idle trial, its highest value"
expect_no_match "$OUT" "trial $busy:" "not the busy one"
tc_run report gpus --state-dir st -o json
expect_eq "$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(sorted(json.load(sys.stdin)["gpu_underused"]["trials"]))')" "['$idle']" \
	"report --format json lists it"
tc_run report gpus --state-dir st --policy lab-policy.yaml
expect_no_match "$OUT" "left idle" "a policy without the rule flags nothing"

tc_done
