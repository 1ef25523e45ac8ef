#!/usr/bin/env bash
# Short trials are handed to the supervisor ahead of their slot (see
# exec/supervisor.h): the parallelism must still hold at every moment, a trial
# that waits must be cancellable without ever starting, an interrupt must
# put waiting trials back in the queue, and a trial's directory holds only
# its own files (its supervisor record lives in the experiment's status
# file).
. "$(dirname "$0")/lib.sh"

# journal_peak_is_at_most EXP MAX NROWS WHAT: the experiment's NROWS trials'
# start and end times never overlap more than MAX deep
journal_peak_is_at_most() {
	pycheck "$4" .trainctl/journal.db "$1" "$2" "$3" <<'PY'
import sqlite3
exp, most, nrows = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = sqlite3.connect(sys.argv[1]).execute(
    "select started_at, ended_at from trials where exp=?", (exp,)).fetchall()
ev = sorted([(s, 1) for s, _ in rows] + [(e, -1) for _, e in rows], key=lambda p: (p[0], p[1]))
cur = peak = 0
for _, d in ev:
    cur += d
    peak = max(peak, cur)
check(peak <= most, "peak concurrency %d" % peak)
check(len(rows) == nrows, "rows %d" % len(rows))
PY
}

# ---- parallel 3 holds, measured by the trials themselves ------------------
# each trial registers in running/ (mkdir is atomic), counts who is there,
# keeps the largest count it saw, and leaves
cat >count.sh <<'EOF'
#!/bin/sh
mkdir -p running
mkdir "running/$TRAINCTL_TRIAL"
n=$(ls running | wc -l)
echo "$n" >> seen
echo "$TRAINCTL_TRIAL" >> starts
sleep "$1"
rmdir "running/$TRAINCTL_TRIAL"
echo "acc=$2"
EOF
chmod +x count.sh
cat >par.yaml <<'EOF'
version: 1
name: par
command: [./count.sh, "{{d}}", "{{k}}"]
parameters:
  d: {values: [0.005, 0.02, 0.01]}
  k: {values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]}
metric: {name: acc}
run: {parallel: 3}
EOF
tc_run run -q par.yaml
expect_rc 0 "par: 60 short trials at parallel 3"
expect_eq "$(sort -n seen | tail -1)" 3 "never more than 3 trials at once (as the trials saw it)"
expect_eq "$(wc -l <starts)" 60 "60 starts"
expect_eq "$(sort starts | uniq -d | wc -l)" 0 "no trial started twice"
journal_peak_is_at_most par 3 60 "the journal's start and end times never overlap more than 3 deep"
id=$(trial_ids par.yaml | head -1)
expect_eq "$(ls .trainctl/trials/"$id" | tr '\n' ' ')" "params.json stderr.log stdout.log " \
	"a trial's directory: params.json, stdout.log, stderr.log"
expect_file .trainctl/locks/par.status "the supervisor records are in the experiment's status file"
expect_eq "$(find .trainctl/trials -name status.json | wc -l)" 0 "no status.json in trial directories"

# ---- a waiting trial that cannot be executed --------------------------------
# its slot passes on to the one behind it; nothing runs beside it
cat >bad.yaml <<'EOF'
version: 1
name: bad
command: ["{{prog}}", "{{k}}"]
parameters:
  k: {values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]}
  prog: {values: [/bin/true, /usr/bin/true, ./no-such-program, "true"]}
run: {parallel: 2}
EOF
tc_run run -q bad.yaml
expect_rc 1 "bad: 15 trials cannot be executed (exit 1)"
expect_eq "$(tc status bad --format json | jget - '(d["counts"]["succeeded"], d["counts"]["failed"])')" \
	"(45, 15)" "bad: 45 succeeded, 15 failed"
expect_contains "$(tc status bad)" "cannot execute ./no-such-program" "the reason names the program"
journal_peak_is_at_most bad 2 60 "bad: never more than 2 at once in the journal"

# ---- a waiting trial cancelled never starts ---------------------------------
# parallel 1: six short trials make the runner hand trials ahead, then one
# that waits for a file, with trials waiting behind it
cat >gate.sh <<'EOF'
#!/bin/sh
echo "$1" >> started
[ "$1" = gate ] && while [ ! -e go ]; do sleep 0.02; done
echo acc=1
EOF
chmod +x gate.sh
cat >gate.yaml <<'EOF'
version: 1
name: gt
command: [./gate.sh, "{{v}}"]
parameters:
  v: {values: [a, b, c, d, e, f, gate, w1, w2, w3]}
metric: {name: acc}
run: {parallel: 1}
EOF
tc_bg gt.out run -q gate.yaml
gt_pid=$BG_PID
if wait_for 15 "the gate trial running" trial_is gt 6 running &&
	wait_for 15 "w1 waiting for the slot (starting)" trial_is gt 7 starting; then
	w1=$(trial_ids gate.yaml | sed -n 8p)
	expect_eq "$(tc status gt --format json | jget - '[t["reason"] for t in d["trials"] if t["index"] == 7][0]')" \
		"waiting for a free slot" "status says why w1 is starting"
	tc_run cancel gt "$w1"
	expect_rc 0 "cancel the waiting trial"
	wait_for 15 "w1 cancelled" trial_is gt 7 cancelled && pass "the waiting trial is recorded cancelled"
	expect_eq "$(trial_state gt 6)" running "the gate trial still runs"
	touch go
fi
touch go
tc_wait_bg "$gt_pid"
expect_rc 1 "gt ends with exit 1 (one trial cancelled)"
expect_no_match "$(cat started)" '^w1$' "the cancelled waiting trial never started"
expect_eq "$(grep -c . started)" 9 "the other nine ran"
expect_eq "$(trial_state gt 8)-$(trial_state gt 9)" "succeeded-succeeded" "the trials behind it ran"

# start_gated NAME: run gate.yaml as experiment NAME in the background
# (BG_PID) until its gate trial runs and w1 waits behind it
start_gated() {
	rm -f go started
	sed "s/name: gt/name: $1/" gate.yaml >"$1.yaml"
	tc_bg "$1.out" run -q "$1.yaml"
	wait_for 15 "$1: the gate trial running" trial_is "$1" 6 running &&
		wait_for 15 "$1: w1 waiting" trial_is "$1" 7 starting
}

# ---- the supervisor killed while trials wait for its slot -----------------
# the trial it ran is lost with it (recorded failed); the waiting ones are
# requeued and run once each under a new supervisor
if start_gated gk; then
	gk_pid=$BG_PID
	shim=$(pgrep -P "$gk_pid" -f "trainctl" | head -1)
	if [ -n "$shim" ]; then
		kill -9 "$shim"
		tc_wait_bg "$gk_pid"
		expect_rc 1 "gk: exit 1 (the trial of the killed supervisor failed)"
		expect_eq "$(trial_state gk 6)" failed "the gate trial is recorded failed"
		expect_eq "$(trial_state gk 7)-$(trial_state gk 8)-$(trial_state gk 9)" \
			"succeeded-succeeded-succeeded" "the waiting trials ran under a new supervisor"
		expect_eq "$(grep -c '^w' started)" 3 "each of them once"
	else
		fail "gk: no supervisor process found under trainctl $gk_pid"
	fi
fi
touch go

# ---- cancelled while it waits and no trainctl runs --------------------------
# trainctl is killed; the shim keeps the waiting trials; `cancel` reaches
# the shim itself, and the trial never starts; resume records it cancelled
if start_gated gc; then
	kill -9 "$BG_PID"
	wait "$BG_PID" 2>/dev/null
	w1=$(trial_ids gc.yaml | sed -n 8p)
	tc_run cancel gc "$w1"
	expect_rc 0 "cancel gc w1 with no trainctl running"
	touch go
	tc_run resume gc -q
	expect_rc 1 "resume gc: exit 1 (one trial cancelled)"
	expect_eq "$(trial_state gc 7)" cancelled "w1 is recorded cancelled"
	expect_no_match "$(cat started)" '^w1$' "and it never started"
	expect_eq "$(trial_state gc 6)-$(trial_state gc 8)-$(trial_state gc 9)" \
		"succeeded-succeeded-succeeded" "the gate trial and those behind w1 ran"
fi
touch go

# ---- an interrupt puts waiting trials back in the queue --------------------
if start_gated gi; then
	gi_pid=$BG_PID
	kill -INT "$gi_pid"
	tc_wait_bg "$gi_pid"
	expect_rc 1 "SIGINT: exit 1"
	expect_eq "$(trial_state gi 7)" queued "the waiting trial is queued again"
	expect_no_match "$(cat started)" '^w1$' "and it never started"
	touch go
	tc_run resume gi -q
	expect_rc 0 "resume gi finishes it"
	expect_eq "$(grep -c '^w1$' started)" 1 "w1 ran once, after the resume"
fi

tc_done
