#!/usr/bin/env bash
# What the verbs say and do at the edges: a TRIAL that is both an index and
# another trial's id prefix is refused (#N is always the index); cancel of
# a finished experiment changes nothing; cancelling a queued or waiting
# trial says so and the run's progress count shows it; retry of a running
# trial is refused; run --resume racing a fresh run resumes, never "already
# exists"; progress lines show parameter values without escape sequences.
. "$(dirname "$0")/lib.sh"

# state_of NAME INDEX: a trial's state; exp_state NAME: the experiment's
state_of() { trial_state "$1" "$2"; }
exp_state() { "$TRAINCTL" ls --format json | jget - "[e['state'] for e in d if e['name'] == '$1'][0]"; }
# the [N/TOTAL] counters of a run's output, in order
counters() { sed -n 's/^\[ *\([0-9]*\)\/[0-9]*\].*/\1/p' "$1" | tr '\n' ' '; }
is_stopped() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ]; }

# ---- TRIAL: index, id prefix, #index, and the ambiguous case -------------
# Pinned: trial 2's id (8a9735848ad8) is the only one starting with 8, and
# index 8 is another trial (bddc2269ebc1); two ids start with 7.
cat >amb.yaml <<'EOF'
version: 1
name: amb
command: [sh, -c, 'echo "v=$0"', "{{v}}"]
parameters:
  v: {values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}
EOF
ids=$(trial_ids amb.yaml)
id() { echo "$ids" | sed -n "$(($1 + 1))p"; }
expect_eq "$(id 2)/$(id 8)" 8a9735848ad8/bddc2269ebc1 "the pinned ids of amb (the plan did not change)"
tc_run run amb.yaml -q
expect_rc 0 "run amb"
tc_run logs amb 8
expect_rc 2 "logs amb 8: both index 8 and the unique prefix of trial 2's id"
expect_contains "$ERR" "ambiguous" "the message says ambiguous"
expect_contains "$ERR" "$(id 8)" "it names the trial at index 8"
expect_contains "$ERR" "$(id 2)" "it names the trial whose id starts with 8"
expect_contains "$ERR" "#8" "it tells how to write the index"
expect_eq "$OUT" "" "nothing is printed for an ambiguous trial"
tc_run logs amb '#8'
expect_eq "$RC:$OUT" "0:v=8" "#8 is index 8"
tc_run logs amb 8a
expect_eq "$RC:$OUT" "0:v=2" "more digits of the id name trial 2"
tc_run logs amb 7
expect_eq "$RC:$OUT" "0:v=7" "7: an index (7 is the prefix of two ids, so of no single trial)"
tc_run logs amb '#2'
expect_eq "$RC:$OUT" "0:v=2" "#2 is index 2"
tc_run logs amb '#10'
expect_rc 2 "#10: no such index"
expect_contains "$ERR" "no trial with index 10" "the message names the missing index"
tc_run logs amb '#x'
expect_rc 2 "#x is not an index"
# cancel and retry use the same resolver: no guess about which trial
tc_run retry amb 8 -q
expect_rc 2 "retry amb 8 is refused as ambiguous"
expect_contains "$ERR" "ambiguous" "retry says why"
tc_run cancel amb 8
expect_rc 2 "cancel amb 8 is refused as ambiguous"

# ---- cancel of a finished experiment changes nothing ---------------------
expect_eq "$(exp_state amb)" finished "amb finished"
tc_run cancel amb
expect_rc 0 "cancel of a finished experiment"
expect_contains "$OUT" "nothing to cancel" "it says there is nothing to cancel"
expect_eq "$(exp_state amb)" finished "the experiment is still finished, not cancelled"
tc_run cancel amb "$(id 3)"
expect_rc 0 "cancel of a finished trial"
expect_contains "$OUT" "nothing to cancel" "it says there is nothing to cancel"
expect_eq "$(state_of amb 3)" succeeded "the trial is still succeeded"

# ---- cancel a queued trial while the runner is alive ---------------------
# parallel 1: trial 0 waits for the file go0, so trials 1 and 2 stay
# queued (no trial has ended yet: none is handed to the shim ahead).
cat >cq.yaml <<'EOF'
version: 1
name: cq
command: [sh, -c, 'if [ "$0" = 0 ]; then while [ ! -e go0 ]; do sleep 0.02; done; fi', "{{v}}"]
parameters:
  v: {values: [0, 1, 2]}
run: {parallel: 1}
EOF
tc_bg cq.out run cq.yaml
cq_pid=$BG_PID
if wait_for 15 "trial 0 of cq running" trial_is cq 0 running; then
	expect_eq "$(state_of cq 2)" queued "trial 2 is queued"
	tc_run cancel cq "$(trial_ids cq.yaml | sed -n 3p)"
	expect_rc 0 "cancel cq TRIAL2"
	expect_eq "$OUT" "cancelled 1 queued trial" "cancel says it cancelled a queued trial"
	touch go0
fi
tc_wait_bg "$cq_pid"
expect_eq "$RC" 1 "the run ends with exit 1 (a trial was cancelled)"
expect_eq "$(counters cq.out)" "1 2 3 " "the progress count takes each trial once, in steps, to 3/3"
expect_match "$(cat cq.out)" '^\[[123]/3\] cancelled 1 queued trial' "a progress line says a queued trial was cancelled"
expect_eq "$(state_of cq 2)/$(state_of cq 1)" cancelled/succeeded "trial 2 cancelled, trial 1 ran"

# ---- cancel a trial waiting in the shim for its slot ---------------------
# Trial 0 ends at once, so the runner hands the trials behind trial 1 (which
# waits for go1) to the shim ahead: they are starting in the journal, but
# waiting, not running.
cat >cw.yaml <<'EOF'
version: 1
name: cw
command: [sh, -c, 'if [ "$0" = 1 ]; then while [ ! -e go1 ]; do sleep 0.02; done; fi; echo ran >> "ran.$0"', "{{v}}"]
parameters:
  v: {values: [0, 1, 2, 3]}
run: {parallel: 1}
EOF
tc_bg cw.out run cw.yaml
cw_pid=$BG_PID
if wait_for 15 "trial 1 of cw running" trial_is cw 1 running &&
	wait_for 15 "trial 2 of cw handed ahead (starting)" trial_is cw 2 starting; then
	tc_run cancel cw "$(trial_ids cw.yaml | sed -n 3p)"
	expect_rc 0 "cancel cw TRIAL2"
	expect_eq "$OUT" "cancelled 1 queued trial" "cancel of a waiting trial says queued, not running"
	wait_for 15 "trial 2 of cw cancelled" trial_is cw 2 cancelled
	touch go1
fi
tc_wait_bg "$cw_pid"
expect_eq "$RC" 1 "the run ends with exit 1"
expect_eq "$(counters cw.out)" "1 2 3 4 " "the progress count takes each trial once, to 4/4"
expect_match "$(cat cw.out)" "^\[2/4\] cancelled +$(trial_ids cw.yaml | sed -n 3p) .*before it started" \
	"a progress line for the cancelled waiting trial"
expect_no_file ran.2 "the waiting trial never ran"

# ---- retry of a running or queued trial is refused -----------------------
cat >rr.yaml <<'EOF'
version: 1
name: rr
command: [sh, -c, 'if [ "$0" = 0 ]; then while [ ! -e gorr ]; do sleep 0.02; done; fi', "{{v}}"]
parameters:
  v: {values: [0, 1]}
run: {parallel: 1}
EOF
tc_bg rr.out run rr.yaml -q
rr_pid=$BG_PID
if wait_for 15 "trial 0 of rr running" trial_is rr 0 running; then
	tc_run retry rr "$(trial_ids rr.yaml | sed -n 1p)"
	expect_rc 2 "retry of a running trial"
	expect_contains "$ERR" "is running" "retry says the trial is running"
	tc_run retry rr "$(trial_ids rr.yaml | sed -n 2p)"
	expect_rc 2 "retry of a queued trial"
	expect_contains "$ERR" "queued already" "retry says the trial is queued"
	touch gorr
fi
tc_wait_bg "$rr_pid"
expect_eq "$RC" 0 "the run went on undisturbed"
tc_run retry rr "$(trial_ids rr.yaml | sed -n 1p)" -q
expect_rc 0 "retry of a succeeded trial: nothing to do, as before"
expect_contains "$OUT" "queued 0 trials again" "it says nothing was queued"

# ---- run --resume racing a fresh run of the same spec --------------------
# The --resume run stops (TRAINCTL_TEST_STOP) after finding no experiment
# and before creating it; a fresh run creates and runs it meanwhile.
cat >race.yaml <<'EOF'
version: 1
name: race
command: [sh, -c, 'while [ ! -e gorace ]; do sleep 0.02; done', "{{v}}"]
parameters:
  v: {values: [0, 1]}
EOF
TRAINCTL_TEST_STOP=run-create tc_bg race1.out run --resume race.yaml -q
r1=$BG_PID
if wait_for 15 "run --resume stopped before creating" is_stopped "$r1"; then
	tc_bg race2.out run race.yaml -q
	r2=$BG_PID
	wait_for 15 "the fresh run runs a trial" trial_is race 0 running
	kill -CONT "$r1"
	tc_wait_bg "$r1"
	expect_eq "$RC" 2 "run --resume while another trainctl runs it: exit 2"
	expect_no_match "$(cat race1.out)" "already exists" "not 'already exists'"
	expect_match "$(cat race1.out)" "being run by another trainctl \(pid $r2;" \
		"it names the trainctl that runs it"
	touch gorace
	tc_wait_bg "$r2"
	expect_eq "$RC" 0 "the fresh run succeeded"
fi
# once more, the fresh run done before --resume goes on: it resumes
rm -f gorace
sed 's/name: race/name: race2/' race.yaml >race2.yaml
TRAINCTL_TEST_STOP=run-create tc_bg race3.out run --resume race2.yaml -q
r3=$BG_PID
if wait_for 15 "run --resume stopped before creating" is_stopped "$r3"; then
	touch gorace
	tc_run run race2.yaml -q
	expect_rc 0 "the fresh run ran race2"
	kill -CONT "$r3"
	tc_wait_bg "$r3"
	expect_eq "$RC" 0 "run --resume after the fresh run: resumes (nothing left), exit 0"
	expect_no_match "$(cat race3.out)" "already exists" "not 'already exists'"
	expect_contains "$(cat race3.out)" "done: 2 succeeded" "it reports the experiment resumed"
fi

# ---- progress lines carry no escape sequences ----------------------------
cat >esc.yaml <<'EOF'
version: 1
name: esc
command: [sh, -c, 'exit 0', "{{v}}"]
parameters:
  v: {values: ["a\e[2Jb\e]0;title\ac", "tab\there"]}
EOF
tc_run run esc.yaml
expect_rc 0 "run esc"
expect_eq "$(printf '%s' "$OUT" | tr -d '\n' | LC_ALL=C grep -c '[[:cntrl:]]')" 0 \
	"no control character in run's output"
expect_contains "$OUT" 'v=a?[2Jb?]0;title?c' "escape characters are shown as '?', as status shows them"
expect_contains "$OUT" 'v=tab here' "a tab is shown as a blank"

# the reason of a failed trial may hold a value too (the program's name)
cat >escp.yaml <<'EOF'
version: 1
name: escp
command: ["./no\e[2Jsuch{{v}}"]
parameters:
  v: {values: [1]}
run: {retries: 0}
EOF
tc_run run escp.yaml
expect_rc 1 "run escp: the trial fails"
expect_eq "$(printf '%s' "$OUT" | tr -d '\n' | LC_ALL=C grep -c '[[:cntrl:]]')" 0 \
	"no control character in the reason on the progress line"
expect_contains "$OUT" 'no?[2Jsuch1' "the program's name is shown with '?'"

tc_done
