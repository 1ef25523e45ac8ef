#!/usr/bin/env bash
# Faults: timeouts kill the whole process tree, retries keep every attempt's
# output, huge and binary output does not hurt, cancel (one trial, the whole
# experiment), retry --failed, Ctrl-C then resume (each trial succeeds exactly
# once), a second run refuses, a changed spec is refused unless --force.
. "$(dirname "$0")/lib.sh"

# pid_gone PID: the process does not exist any more (or is a zombie).
pid_gone() {
	local st
	[ -r "/proc/$1/stat" ] || return 0
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -z "$st" ] || [ "$st" = Z ]
}
# expect_pids_gone WHAT FILE...: every pid in the files is gone (within 5 s).
expect_pids_gone() {
	local what=$1 f p missing=0
	shift
	for f in "$@"; do
		[ -s "$f" ] || { fail "$what: no pid file $f"; missing=1; continue; }
		p=$(cat "$f")
		if wait_for 5 "$what: pid $p ($f) to end" pid_gone "$p"; then
			pass "$what: pid $p is gone"
		else
			kill -9 "$p" 2>/dev/null
		fi
	done
	return $missing
}
# journal SQL: query the journal with python's sqlite3 (no sqlite3 CLI needed)
journal() {
	python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for r in c.execute(sys.argv[2]): print("|".join(str(x) for x in r))' "${DB:-.trainctl/journal.db}" "$1"
}
# succeeded_once NAME: trials with other than exactly one 'succeeded' event
not_succeeded_once() {
	journal "select t.id, (select count(*) from events e where e.exp = t.exp and e.trial = t.id
	         and e.state = 'succeeded') n from trials t where t.exp = '$1' and n != 1"
}
status_json() { tc status "$1" --format json "${@:2}"; }
count_state() { # count_state NAME STATE
	status_json "$1" | jget - "d['counts']['$2']"
}
states() { # states NAME: 'index:state:reason' per trial, by index
	status_json "$1" | jget - '" ".join("%d:%s:%s" % (t["index"], t["state"], t["reason"]) for t in sorted(d["trials"], key=lambda t: t["index"]))'
}
running_is() { [ "$(count_state "$1" running)" = "$2" ]; }
runs_of() { # runs_of SPEC: how often each trial ran, by index
	for id in $(trial_ids "$1"); do
		if [ -e ".trainctl/trials/$id/runs" ]; then wc -l <".trainctl/trials/$id/runs"; else echo 0; fi
	done | tr '\n' ' '
}

# ---- timeout: the whole tree is killed -----------------------------------
mkdir to
cat >to/exp.yaml <<'EOF'
version: 1
name: to
command:
  - sh
  - -c
  - |
    d="$TRAINCTL_TRIAL_DIR"; a="$TRAINCTL_ATTEMPT"
    sleep 300 & echo $! > "$d/grandchild.$a"
    sh -c 'trap "" TERM; exec sleep 300' & echo $! > "$d/stubborn.$a"
    echo $$ > "$d/shell.$a"
    echo started
    sleep 30
  - "{{v}}"
parameters:
  v: {values: [1]}
metric: {name: acc, goal: maximize}
run: {timeout: 1s, retries: 1, backoff: 0s}
EOF
t0=$(date +%s)
(cd to && tc_run run exp.yaml -q --kill-grace 1 && echo "$RC" >rc)
t1=$(date +%s)
expect_eq "$(cat to/rc)" 1 "timed-out run: exit 1"
[ $((t1 - t0)) -lt 15 ] && pass "timeouts ended the run in $((t1 - t0))s (not 30s)" ||
	fail "timed-out run took $((t1 - t0))s"
expect_eq "$(DB=to/.trainctl/journal.db journal "select state, attempt from trials")" "timed_out|2" \
	"timeout with retries: 1 -> timed_out after 2 attempts"
expect_match "$(cd to && states to)" "^0:timed_out:timed out after 1s" "reason: timed out after 1s"
td=$(echo to/.trainctl/trials/*)
expect_pids_gone "timeout killed the trial" "$td/shell.1" "$td/shell.2"
expect_pids_gone "timeout killed the background grandchild" "$td/grandchild.1" "$td/grandchild.2"
expect_pids_gone "timeout killed a grandchild ignoring SIGTERM (SIGKILL after the grace)" "$td/stubborn.1" "$td/stubborn.2"

# ---- retries: attempt 1 fails, attempt 2 succeeds ------------------------
cat >retry.yaml <<'EOF'
version: 1
name: rt
command:
  - sh
  - -c
  - |
    if [ -e "$1/marker" ]; then
      echo "second attempt acc=0.9"; echo err2 >&2
    else
      touch "$1/marker"; echo "first attempt acc=0.1"; echo err1 >&2; exit 1
    fi
  - x
  - "{{trial_dir}}"
  - "{{v}}"
parameters:
  v: {values: [1, 2]}
metric: {name: acc, goal: maximize}
run: {retries: 1}
EOF
sed -e 's/name: rt/name: rt-fail/' -e 's/if \[ -e "$1\/marker" \]/if false/' retry.yaml >retry-fail.yaml
tc_run run retry.yaml -q
expect_rc 0 "a trial failing once with retries: 1 succeeds: exit 0"
expect_eq "$(tc status rt --format json | jget - '[(t["state"], t["attempts"], t["acc"]) for t in d["trials"]]')" \
	'[["succeeded", 2, 0.9], ["succeeded", 2, 0.9]]' "succeeded after 2 attempts, metric of the last attempt"
tc_run logs rt 0 --attempt 1
expect_eq "$OUT" "first attempt acc=0.1" "logs --attempt 1: the first attempt's stdout"
tc_run logs rt 0 --attempt 1 --stderr
expect_eq "$OUT" "err1" "logs --attempt 1 --stderr"
tc_run logs rt 0
expect_eq "$OUT" "second attempt acc=0.9" "logs: the last attempt"
tc_run logs rt 0 --attempt 2 --stderr
expect_eq "$OUT" "err2" "logs --attempt 2 --stderr"
tc_run logs rt 0 --attempt 3
expect_rc 2 "logs --attempt 3 of a trial with 2 attempts: error"
tc_run report rt --format json
expect_eq "$(printf '%s' "$OUT" | jget - '[t["attempts"] for t in d["trials"]]')" "[2, 2]" "report counts both attempts"
# (4 failed attempts and no success: fail fast would stop at 3)
tc_run run retry-fail.yaml -q --max-failures 0
expect_rc 1 "a trial failing every time: exit 1"
expect_eq "$(tc status rt-fail --format json | jget - '[(t["state"], t["attempts"], t["reason"]) for t in d["trials"]]')" \
	'[["failed", 2, "exit code 1"], ["failed", 2, "exit code 1"]]' "retries exhausted: failed after 1 + 1 attempts"

# ---- huge and garbage output ---------------------------------------------
cat >big.yaml <<'EOF'
version: 1
name: big
command:
  - sh
  - -c
  - |
    case "$0" in
    big) head -c 52428800 /dev/zero | tr "\0" x; printf "\nacc=0.3\n";;
    garbage) head -c 3000000 /dev/urandom; printf "\n\377\0 acc=0.5\n";;
    longline) head -c 10000000 /dev/zero | tr "\0" y; printf " acc=0.1\nacc=0.9";;
    ok) echo acc=0.7;;
    esac
  - "{{v}}"
parameters:
  v: {values: [big, garbage, longline, ok]}
metric: {name: acc, goal: maximize}
run: {parallel: 2}
EOF
# trainctl's own memory: RUSAGE_CHILDREN of a wrapper (the trials are sh,
# head and tr: a few MB each)
pycheck "50 MB without newlines and binary garbage: the sweep completes, trainctl stays small" <<'PY'
import resource, time
t = time.time()
p = subprocess.run([os.environ["TRAINCTL"], "run", "big.yaml", "-q"], capture_output=True, timeout=60)
check(p.returncode == 0, "run exit %d: %r" % (p.returncode, p.stderr[-300:]))
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
check(rss < 40 * 1024, "peak RSS %d kB: the output was buffered in memory?" % rss)
check(time.time() - t < 20, "took %.1fs" % (time.time() - t))
PY
tc_run results big --format json
printf '%s\n' "$OUT" >big.json
expect_eq "$(jget big.json 'sorted((t["v"], t["state"], t["acc"]) for t in d["trials"])')" \
	'[["big", "succeeded", 0.3], ["garbage", "succeeded", 0.5], ["longline", "succeeded", 0.9], ["ok", "succeeded", 0.7]]' \
	"every trial succeeded; metrics after huge lines and garbage are found"
big_id=$(trial_ids big.yaml | head -1)
expect_eq "$(stat -c %s .trainctl/trials/$big_id/stdout.log)" 52428809 "stdout.log keeps all 50 MB + the last line"
expect_eq "$(tc logs big 0 | wc -c)" 52428809 "logs streams all of it"
tc_run results big --metric acc2 --regex 'acc=(?<acc2>[0-9.]+)' --format json
expect_eq "$(printf '%s' "$OUT" | jget - 'sorted(t["acc2"] for t in d["trials"])')" "[0.3, 0.5, 0.7, 0.9]" \
	"results --metric --regex over the huge logs"

# ---- cancel one running trial; the others continue -----------------------
cat >cancel.yaml <<'EOF'
version: 1
name: cx
command:
  - sh
  - -c
  - |
    echo $$ > "$TRAINCTL_TRIAL_DIR/pid"; echo run >> "$TRAINCTL_TRIAL_DIR/runs"
    case "$0" in
    long) if [ ! -e "$TRAINCTL_TRIAL_DIR/once" ]; then touch "$TRAINCTL_TRIAL_DIR/once"; sleep 30; fi;;
    wait) while [ ! -e go ]; do sleep 0.05; done;;
    esac
    echo acc=1
  - "{{v}}"
parameters:
  v: {values: [long, wait, a, b]}
metric: {name: acc, goal: maximize}
run: {parallel: 2}
EOF
tc_bg cx.out run cancel.yaml -q
cx_pid=$BG_PID
if wait_for 15 "trials 0 and 1 running" running_is cx 2; then
	long_id=$(trial_ids cancel.yaml | head -1)
	tc_run cancel cx "$long_id"
	expect_rc 0 "cancel cx TRIAL"
	expect_contains "$OUT" "stopping 1 running trial" "cancel reports the running trial it stops"
	wait_for 10 "trial 0 cancelled" trial_is cx 0 cancelled && pass "the cancelled trial is recorded cancelled"
	expect_pids_gone "cancel killed the trial" ".trainctl/trials/$long_id/pid"
	# the freed slot runs the queued trials while trial 1 still runs
	wait_for 15 "trials 2 and 3 succeeded" trial_is cx 3 succeeded && pass "queued trials ran after the cancel"
	expect_eq "$(trial_state cx 1)" running "trial 1 kept running"
	touch go
fi
tc_wait_bg "$cx_pid"
expect_eq "$RC" 1 "the run ends with exit 1 (a trial did not succeed)"
expect_eq "$(states cx)" "0:cancelled:cancelled 1:succeeded:None 2:succeeded:None 3:succeeded:None" \
	"cancelled trial cancelled, the others succeeded"
tc_run retry cx 0 -q
expect_rc 0 "retry cx 0 reruns the cancelled trial"
expect_eq "$(states cx)" "0:succeeded:None 1:succeeded:None 2:succeeded:None 3:succeeded:None" "after retry: all succeeded"
expect_eq "$(runs_of cancel.yaml)" "2 1 1 1 " "retry ran only the cancelled trial again"
rm -f go

# ---- cancel the whole experiment while its runner is alive ---------------
cat >cancelall.yaml <<'EOF'
version: 1
name: cy
command: [sh, -c, 'echo $$ > "$TRAINCTL_TRIAL_DIR/pid"; sleep 30', "{{v}}"]
parameters:
  v: {values: [1, 2, 3, 4, 5, 6]}
metric: {name: acc, goal: maximize}
run: {parallel: 2}
EOF
tc_bg cy.out run cancelall.yaml -q
cy_pid=$BG_PID
if wait_for 15 "2 trials of cy running" running_is cy 2; then
	tc_run cancel cy
	expect_rc 0 "cancel cy"
	expect_contains "$OUT" "cancelled 4 queued trials; stopping 2 running trials" "cancel cy: 4 queued, 2 running"
fi
tc_wait_bg "$cy_pid"
expect_eq "$RC" 1 "cancelling the experiment stops its runner with exit 1"
expect_eq "$(count_state cy cancelled)" 6 "all 6 trials cancelled"
expect_eq "$(count_state cy queued)/$(count_state cy running)" "0/0" "nothing queued or running"
expect_eq "$(DB=.trainctl/journal.db journal "select count(*) from events where exp = 'cy' and state = 'running'")" 2 \
	"the queued trials never started"
cy_pids=$(for id in $(trial_ids cancelall.yaml); do f=.trainctl/trials/$id/pid; [ -s "$f" ] && echo "$f"; done)
# shellcheck disable=SC2086
expect_pids_gone "cancel killed the running trials" $cy_pids

# ---- retry --failed reruns the failed trials only ------------------------
cat >rf.yaml <<'EOF'
version: 1
name: rf
command:
  - sh
  - -c
  - |
    echo run >> "$TRAINCTL_TRIAL_DIR/runs"
    case "$0" in bad*) [ -e fixed ] || exit 4;; esac
    echo acc=1
  - "{{v}}"
parameters:
  v: {values: [good, bad, good2, bad2]}
metric: {name: acc, goal: maximize}
EOF
tc_run run rf.yaml -q
expect_rc 1 "rf: two trials fail"
expect_eq "$(states rf)" "0:succeeded:None 1:failed:exit code 4 2:succeeded:None 3:failed:exit code 4" "rf states"
touch fixed
tc_run retry rf --failed -q
expect_rc 0 "retry --failed: exit 0"
expect_eq "$(states rf)" "0:succeeded:None 1:succeeded:None 2:succeeded:None 3:succeeded:None" "after retry --failed: all succeeded"
expect_eq "$(for id in $(trial_ids rf.yaml); do wc -l <.trainctl/trials/$id/runs; done | tr '\n' ' ')" "1 2 1 2 " \
	"only the failed trials ran again"
tc_run retry rf --failed
expect_rc 0 "retry --failed with nothing to retry"
expect_contains "$OUT" "queued 0 trials" "nothing queued"
expect_eq "$(tc ls --format json | jget - '[e["state"] for e in d if e["name"] == "rf"][0]')" finished \
	"the experiment is still finished after retrying nothing"

# ---- Ctrl-C, then resume: every trial succeeds exactly once ---------------
blocking_spec() { # blocking_spec FILE NAME VALUES: trials listed in $BLOCK block on their first attempt
	cat >"$1" <<EOF
version: 1
name: $2
command:
  - sh
  - -c
  - |
    echo \$\$ > "\$TRAINCTL_TRIAL_DIR/pid"; echo run >> "\$TRAINCTL_TRIAL_DIR/runs"
    case " $BLOCK " in *" \$0 "*)
      if [ ! -e "\$TRAINCTL_TRIAL_DIR/blocked" ]; then touch "\$TRAINCTL_TRIAL_DIR/blocked"; sleep 6; fi;;
    esac
    echo acc=\$0
  - "{{v}}"
parameters:
  v: {values: [$3]}
metric: {name: acc, goal: maximize}
run: {parallel: 2}
EOF
}

BLOCK="1 2" blocking_spec si.yaml si "1, 2, 3, 4, 5"
tc_bg si.out run si.yaml -q
si_pid=$BG_PID
if wait_for 15 "trials 0 and 1 of si running" running_is si 2; then
	kill -INT "$si_pid"
fi
t0=$(date +%s)
tc_wait_bg "$si_pid"
t1=$(date +%s)
expect_eq "$RC" 1 "SIGINT: trainctl exits 1"
[ $((t1 - t0)) -le 3 ] && pass "SIGINT stopped the run in $((t1 - t0))s" ||
	fail "SIGINT: trainctl took $((t1 - t0))s to stop (the running trials were not stopped; they sleep 6 s)"
expect_contains "$(cat si.out)" "trainctl resume si" "SIGINT: it says how to go on"
expect_eq "$(states si)" "0:cancelled:interrupted 1:cancelled:interrupted 2:queued:None 3:queued:None 4:queued:None" \
	"SIGINT: running trials cancelled (interrupted), the rest still queued"
si_ids=$(trial_ids si.yaml)
expect_pids_gone "SIGINT stopped the running trials" .trainctl/trials/$(echo "$si_ids" | sed -n 1p)/pid \
	.trainctl/trials/$(echo "$si_ids" | sed -n 2p)/pid
expect_eq "$(tc ls --format json | jget - '[e["state"] for e in d if e["name"] == "si"][0]')" interrupted "ls: si interrupted"

tc_run run si.yaml -q
expect_rc 2 "a second run of the same spec refuses"
expect_match "$ERR" "already exists" "the refusal says the experiment exists"
expect_contains "$ERR" "trainctl resume si" "the refusal mentions resume"
expect_eq "$(count_state si queued)" 3 "the refused run changed nothing"

cp si.yaml si.orig
printf '# edited\n' >>si.yaml
tc_run resume si -q
expect_rc 2 "resume with a changed spec refuses"
expect_match "$ERR" "changed.*--force" "the refusal says the spec changed and mentions --force"
tc_run run --resume si.yaml -q
expect_rc 2 "run --resume with a changed spec refuses too"
cp si.orig si.yaml

tc_run resume si -q
expect_rc 0 "resume finishes the experiment: exit 0"
expect_eq "$(count_state si succeeded)" 5 "after resume: 5 succeeded"
expect_eq "$(not_succeeded_once si)" "" "journal: exactly one 'succeeded' event per trial"
expect_eq "$(runs_of si.yaml)" "2 2 1 1 1 " "the interrupted trials ran again, the others once"
expect_eq "$(journal "select count(*) from trials where exp = 'si'")" 5 "no duplicate trial rows"
tc_run resume si -q
expect_rc 0 "resume of a finished experiment"
expect_eq "$(runs_of si.yaml)" "2 2 1 1 1 " "resume never reruns a finished trial"

# run --resume goes on where the interrupted run stopped
BLOCK="1" blocking_spec rr.yaml rr "1, 2, 3"
tc_bg rr.out run rr.yaml -q
rr_pid=$BG_PID
wait_for 15 "trial 0 of rr running" trial_is rr 0 running && kill -INT "$rr_pid"
tc_wait_bg "$rr_pid"
expect_eq "$RC" 1 "rr: SIGINT exit 1"
tc_run run --resume rr.yaml -q
expect_rc 0 "run --resume continues the experiment"
expect_eq "$(count_state rr succeeded)" 3 "run --resume: 3 succeeded"
expect_eq "$(not_succeeded_once rr)" "" "run --resume: one 'succeeded' event per trial"

# ---- a changed spec with --force: finished trials kept, new points added --
BLOCK="3 4" blocking_spec sf.yaml sf "1, 2, 3, 4, 5"
tc_bg sf.out run sf.yaml -q
sf_pid=$BG_PID
if wait_for 15 "trials 2 and 3 of sf running" trial_is sf 3 running &&
	wait_for 5 "trial 2 of sf running" trial_is sf 2 running; then
	kill -INT "$sf_pid"
fi
tc_wait_bg "$sf_pid"
expect_eq "$(states sf)" "0:succeeded:None 1:succeeded:None 2:cancelled:interrupted 3:cancelled:interrupted 4:queued:None" \
	"sf interrupted with 2 finished, 2 interrupted, 1 queued"
sed -i 's/values: \[1, 2, 3, 4, 5\]/values: [1, 2, 3, 4, 5, 6]/' sf.yaml
tc_run resume sf -q
expect_rc 2 "resume of sf with a new value refuses without --force"
tc_run resume sf -q --force
expect_rc 0 "resume --force with a changed spec"
expect_eq "$(status_json sf | jget - 'sorted((t["v"], t["state"]) for t in d["trials"])')" \
	'[[1, "succeeded"], [2, "succeeded"], [3, "succeeded"], [4, "succeeded"], [5, "succeeded"], [6, "succeeded"]]' \
	"resume --force: the queued trial and the new point ran too"
expect_eq "$(runs_of sf.yaml)" "1 1 2 2 1 1 " "resume --force: finished trials not rerun, the others ran once"
expect_eq "$(not_succeeded_once sf)" "" "resume --force: one 'succeeded' event per trial"

tc_done
