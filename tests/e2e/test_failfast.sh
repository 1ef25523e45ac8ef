#!/usr/bin/env bash
# Fail fast (run.max_failures, --max-failures) and smoke runs (run
# --limit N, --only TRIAL,...): a broken command costs a few attempts, not
# one per trial, and a few trials can run before the rest.
. "$(dirname "$0")/lib.sh"

# values 0..N-1 for a spec's parameter x
values() { seq -s, 0 $(($1 - 1)); }

# status NAME EXPR: a Python expression over `status --format json` (d)
st() { "$TRAINCTL" status "$1" --format json | jget - "$2"; }
attempts() { st "$1" "sum(t['attempts'] for t in d['trials'])"; }
queued() { st "$1" "d['counts']['queued']"; }
by_state() { st "$1" "[t['index'] for t in d['trials'] if t['state'] == '$2']"; }

# ---- a typo over 20 trials with retries: 2 -----------------------------
cat >typo.yaml <<EOF
version: 1
name: typo
command: [sh, -c, 'echo starting >&2; echo "ModuleNotFoundError: No module named torchh" >&2; exit 3']
parameters:
  x: {values: [$(values 20)]}
run: {retries: 2}
EOF
tc_run run typo.yaml -q
expect_rc 1 "fail fast: the run exits 1"
expect_eq "$(attempts typo)" 3 "exactly 3 attempts ran (the default run.max_failures)"
q=$(queued typo)
[ "$q" -ge 17 ] && pass "the other trials stay queued ($q)" || fail "queued: $q, want >= 17"
expect_contains "$ERR" "stopping: 3 attempts failed and none succeeded (run.max_failures: 3)" "it says why it stopped"
expect_contains "$ERR" "No module named torchh" "and shows the last failure's stderr"
expect_contains "$OUT" "trainctl resume typo" "and how to go on"
tc_run resume typo -q
expect_rc 1 "a resume that still fails stops again"
expect_eq "$(attempts typo)" 6 "after 3 more attempts: a resume counts afresh"

# ---- max_failures: 0 never stops; --max-failures overrides ------------
cat >never.yaml <<EOF
version: 1
name: never
command: [sh, -c, 'exit 3']
parameters:
  x: {values: [$(values 6)]}
run: {max_failures: 0}
EOF
tc_run run never.yaml -q
expect_rc 1 "max_failures: 0: the trials fail"
expect_eq "$(attempts never)" 6 "but every one of them ran"
expect_no_match "$ERR" "^stopping" "and nothing stopped the run"

sed 's/^name: never/name: flag/' never.yaml >flag.yaml
tc_run run flag.yaml -q --max-failures 2
expect_rc 1 "--max-failures 2 over a spec's max_failures: 0"
expect_eq "$(attempts flag)" 2 "stops after 2 attempts"
expect_contains "$ERR" "(run.max_failures: 2)" "and names the limit in force"

sed -e 's/^name: never/name: flag0/' -e '/^run:/d' never.yaml >flag0.yaml
tc_run run flag0.yaml -q --max-failures 0
expect_eq "$(attempts flag0)" 6 "--max-failures 0 over the default: never stops"

sed -e 's/^name: never/name: few/' -e '/^run:/d' -e 's/values: \[.*\]/values: [0, 1, 2]/' never.yaml >few.yaml
tc_run run few.yaml -q
expect_rc 1 "three trials, all failing"
expect_no_match "$ERR" "^stopping" "nothing was left to stop: no fail-fast message"

# ---- a success disarms it ----------------------------------------------
cat >some.yaml <<EOF
version: 1
name: some
command: [sh, -c, 'test "\$1" = 0', sh, '{{x}}']
parameters:
  x: {values: [$(values 6)]}
EOF
tc_run run some.yaml -q
expect_rc 1 "trials after a success fail"
expect_eq "$(by_state some succeeded)" "[0]" "the first trial succeeded"
expect_eq "$(by_state some failed)" "[1, 2, 3, 4, 5]" "and every later one ran (no stop)"
expect_no_match "$ERR" "^stopping" "a success means the command works: no fail fast"

# ---- --limit ------------------------------------------------------------
cat >ok.yaml <<EOF
version: 1
name: ok
command: [sh, -c, 'exit 0']
parameters:
  x: {values: [$(values 8)]}
EOF
tc_run run ok.yaml -q --limit 3
expect_rc 0 "run --limit 3 succeeds"
expect_eq "$(by_state ok succeeded)" "[0, 1, 2]" "it ran indices 0..2 only"
expect_eq "$(queued ok)" 5 "the rest stay queued"
expect_contains "$OUT" "trainctl resume ok" "and says how to run them"
tc_run resume ok -q
expect_rc 0 "resume"
expect_eq "$(by_state ok succeeded)" "[0, 1, 2, 3, 4, 5, 6, 7]" "runs the rest"

# ---- --only -------------------------------------------------------------
sed 's/^name: ok/name: only/' ok.yaml >only.yaml
ids=($(trial_ids only.yaml))
# a bare index that is no trial's id prefix (else it is ambiguous)
bare=
for k in 1 2 3 5 7; do
	printf '%s\n' "${ids[@]}" | grep -q "^$k" || { bare=$k; break; }
done
[ -n "$bare" ] || fail "no bare index to test with (ids: ${ids[*]})"
tc_run run only.yaml -q --only "#4,$bare,${ids[6]:0:6}"
expect_rc 0 "run --only '#4,$bare,<id prefix of 6>'"
expect_eq "$(st only "sorted(t['index'] for t in d['trials'] if t['state'] == 'succeeded')")" \
	"$(printf '%s\n' 4 "$bare" 6 | sort -n | paste -sd, | sed 's/,/, /g; s/^/[/; s/$/]/')" \
	"exactly those trials ran"
expect_eq "$(queued only)" 5 "the others stay queued"

tc_run resume only -q --only "${ids[0]}"
expect_rc 0 "resume --only an id"
expect_eq "$(st only "d['trials'][0]['state']")" succeeded "runs it"
expect_eq "$(queued only)" 4 "and nothing else"

# ---- bad usage ----------------------------------------------------------
tc_run resume only -q --limit 2 --only '#1'
expect_rc 2 "--limit and --only together"
tc_run resume only -q --limit 0
expect_rc 2 "--limit 0"
tc_run resume only -q --only nosuchtrial
expect_rc 2 "--only names no trial"
tc_run resume only -q --max-failures -1
expect_rc 2 "--max-failures -1"
cat >bad.yaml <<'EOF'
version: 1
name: bad
command: [sh, -c, 'exit 0']
run: {retries: 2,
      max_failures: -1}
EOF
tc_run validate bad.yaml
expect_rc 2 "run.max_failures: -1"
expect_match "$ERR" "^bad.yaml:5:21: run.max_failures must be an integer" "is refused where it is"

tc_done
