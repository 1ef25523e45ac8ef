#!/usr/bin/env bash
# Recovery and outcomes when supervisors are lost, slow or stopped: a
# trial's outcome is what its process did (an exit 0 is a success whenever
# a cancel came), its wall time ends at its exit (not when its supervisor
# got round to reaping it), an attempt whose supervisor was lost is rerun
# as a new attempt with its files kept and the reason recorded, and no
# process group is signalled unless it is still the trial's (pids are
# reused).  The races are made deterministic by stopping the supervisor
# (SIGSTOP) across the moment that matters, and pid reuse by
# /proc/sys/kernel/ns_last_pid (or, where that cannot be written, by
# pointing the status file at an unrelated group).
. "$(dirname "$0")/lib.sh"

# slot NAME IDX FIELD: a field of trial IDX's record in the status file
slot() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
with open(".trainctl/locks/%s.status" % sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2]) * 1024)
    rec = f.read(1024).split(b"\0")[0].strip()
print(json.loads(rec).get(sys.argv[3], "") if rec else "")
PY
}

# set_slot NAME IDX FIELD VALUE: rewrite one field of that record
set_slot() {
	python3 - "$@" <<'PY'
import json, sys
name, idx, field, value = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
with open(".trainctl/locks/%s.status" % name, "r+b") as f:
    f.seek(idx * 1024)
    rec = json.loads(f.read(1024).split(b"\0")[0])
    rec[field] = value
    text = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
    f.seek(idx * 1024)
    f.write(text + b"\0" * (1024 - len(text)))
PY
}

# db SQL: one value from the journal
db() {
	python3 -c 'import sqlite3, sys
for row in sqlite3.connect(".trainctl/journal.db").execute(sys.argv[1]):
    print("|".join("" if v is None else str(v) for v in row))' "$1"
}

is_zombie() { grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
ended() { [ ! -e "/proc/$1" ] || is_zombie "$1"; }
reaped() { [ ! -e "/proc/$1" ]; }

# decoy PGID: start an unrelated process group (DECOY, its pid) whose id is
# PGID if the kernel lets us choose the next pid, else any; sets REUSED=1
# when the id was reused
decoy() {
	local want=$1 i
	REUSED=0
	for ((i = 0; i < 50; i++)); do
		echo $((want - 1)) >/proc/sys/kernel/ns_last_pid 2>/dev/null || break
		setsid sleep 1000 &
		DECOY=$!
		if [ "$DECOY" = "$want" ]; then
			REUSED=1
			return 0
		fi
		kill -9 "$DECOY"
		wait "$DECOY" 2>/dev/null
	done
	setsid sleep 1000 &
	DECOY=$!
}

cat >gate.sh <<'EOF'
#!/bin/sh
# gate.sh K: says its attempt, records its pid and times, waits (attempt
# 1 only) for the file go.K, ends with exit 0
echo "attempt $TRAINCTL_ATTEMPT of $1"
echo $$ >"pid.$1.$TRAINCTL_ATTEMPT"
date +%s.%N >"t0.$1.$TRAINCTL_ATTEMPT"
if [ "$TRAINCTL_ATTEMPT" -eq 1 ]; then
	while [ ! -e "go.$1" ]; do sleep 0.02; done
fi
echo "acc=$1"
date +%s.%N >"t1.$1.$TRAINCTL_ATTEMPT"
EOF
chmod +x gate.sh

# spec NAME K...: trials gate.sh K for each K, all at once
spec() {
	local name=$1
	shift
	local ks
	ks=$(echo "$@" | sed 's/ /, /g')
	cat >"$name.yaml" <<EOF
version: 1
name: $name
command: [./gate.sh, "{{k}}"]
parameters:
  k: {values: [$ks]}
metric: {name: acc}
run: {parallel: $#}
EOF
}

# start NAME K...: run it in the background (BG_PID) until every trial
# runs; SHIM is their supervisor
start() {
	local name=$1 k
	shift
	spec "$name" "$@"
	rm -f go.* pid.* t0.* t1.*
	tc_bg "$name.out" run -q "$name.yaml"
	for k in "$@"; do
		wait_for 15 "$name: trial $k running" test -s "pid.$k.1" || return 1
	done
	wait_for 15 "$name: the status file names the supervisor" \
		test -n "$(slot "$name" 0 supervisor_pid)" || return 1
	SHIM=$(slot "$name" 0 supervisor_pid)
}

# ---- an exit 0 is a success whenever the cancel came ----------------------
# The trial exits while its supervisor is stopped; `cancel` (or Ctrl-C of
# trainctl) reaches the supervisor before it reaps the trial.  Stopped for
# 2 s after the exit: the wall time recorded ends at the exit all the same.
for how in cancel interrupt; do
	name=ok$how
	if start "$name" 1; then
		kill -STOP "$SHIM"
		touch go.1
		wait_for 15 "$name: the trial exited" is_zombie "$(cat pid.1.1)"
		if [ $how = cancel ]; then
			tc_run cancel "$name" 0
			expect_rc 0 "$name: cancel while the supervisor is stopped"
		else
			kill -INT "$BG_PID"
			wait_for 15 "$name: the interrupt recorded" \
				test "$(db "select cancel_req from trials where exp='$name'")" = 2
		fi
		sleep 2 # the supervisor's delay that the wall time must not count
		kill -CONT "$SHIM"
		tc_wait_bg "$BG_PID"
		expect_eq "$(trial_state "$name" 0)" succeeded \
			"$name: a trial that exited 0 before the $how reached it succeeded"
		pycheck "$name: its wall time ends at its exit, not at the reap" \
			"$name" "$(cat t0.1.1)" "$(cat t1.1.1)" <<'PY'
import sqlite3
wall, = sqlite3.connect(".trainctl/journal.db").execute(
    "select wall from trials where exp=?", (sys.argv[1],)).fetchone()
real = float(sys.argv[3]) - float(sys.argv[2])
check(wall is not None and wall < real + 1.0,
      "wall %s, the trial ran %.2fs (the supervisor was stopped 2s)" % (wall, real))
PY
		tc_run resume "$name" -q
		expect_eq "$(db "select attempt from trials where exp='$name'")" 1 \
			"$name: resume does not run it again"
	fi
done

# ---- trainctl and its supervisor killed together ---------------------------
# Trial 1 finishes while nobody is its parent; trial 2 still runs at the
# resume.  Both are rerun as attempt 2 (the outcome of 1 is unknowable), each
# keeps attempt 1's output, and the journal says what happened.
if start lost 1 2; then
	kill -9 "$BG_PID" "$SHIM"
	wait "$BG_PID" 2>/dev/null
	touch go.1
	wait_for 15 "lost: trial 1 ended with nobody watching" ended "$(cat pid.1.1)"
	p2=$(cat pid.2.1)
	tc_run resume lost -q
	expect_rc 0 "lost: resume"
	expect_eq "$(trial_state lost 0)-$(trial_state lost 1)" succeeded-succeeded \
		"lost: both trials succeeded"
	expect_eq "$(db "select group_concat(attempt) from trials where exp='lost' order by idx")" \
		"2,2" "lost: each ran again as attempt 2"
	wait_for 15 "lost: trial 2's first process is gone" reaped "$p2" &&
		pass "lost: the trial still running at the resume was killed"
	for k in 1 2; do
		id=$(trial_ids lost.yaml | sed -n "${k}p")
		d=.trainctl/trials/$id
		expect_contains "$(cat "$d/stdout.1.log" 2>/dev/null)" "attempt 1 of $k" \
			"lost: trial $k keeps attempt 1's output"
		expect_contains "$(cat "$d/stdout.log")" "attempt 2 of $k" \
			"lost: trial $k's stdout.log is attempt 2's"
		tc_run logs lost "$id" --attempt 1
		expect_contains "$OUT" "attempt 1 of $k" "lost: logs --attempt 1 shows trial $k's first attempt"
	done
	ev=$(db "select detail from events where exp='lost' and detail is not null")
	expect_contains "$ev" "supervisor lost; outcome unknown; rerun as attempt 2" \
		"lost: the journal says trial 1's outcome is unknown"
	expect_contains "$ev" "supervisor lost; still running at resume; killed; rerun as attempt 2" \
		"lost: the journal says trial 2 was still running and was killed"
	expect_no_match "$ev" "vanished" "lost: no trial is said to have vanished"
fi

# ---- resume never kills a process group that is no longer the trial's ----
# The trial dies with its supervisor and trainctl; its pgid is reused by an
# unrelated group before the resume.
if start reuse 1; then
	pg=$(slot reuse 0 pgid)
	kill -9 "$BG_PID" "$SHIM" "$pg"
	wait "$BG_PID" 2>/dev/null
	wait_for 15 "reuse: the trial is reaped" reaped "$pg"
	decoy "$pg"
	[ "$REUSED" = 1 ] || set_slot reuse 0 pgid "$DECOY"
	tc_run resume reuse -q
	expect_rc 0 "reuse: resume (pgid $pg reused: $REUSED)"
	if kill -0 "$DECOY" 2>/dev/null; then
		pass "reuse: the unrelated group with the trial's old pgid lives on"
	else
		fail "reuse: resume killed an unrelated process group"
	fi
	expect_contains "$(db "select detail from events where exp='reuse'")" \
		"supervisor lost; outcome unknown; rerun as attempt 2" \
		"reuse: the trial's outcome is unknown, and it ran again"
	kill -9 "$DECOY"
fi

# ---- nor does a running trainctl whose supervisor died ---------------------
# trainctl is stopped while its supervisor and the trial die and the pgid is
# reused; continued, it finds the supervisor gone without a report.
if start reuse2 1; then
	pg=$(slot reuse2 0 pgid)
	kill -STOP "$BG_PID"
	kill -9 "$SHIM" "$pg"
	wait_for 15 "reuse2: the trial is reaped" reaped "$pg"
	decoy "$pg"
	[ "$REUSED" = 1 ] || set_slot reuse2 0 pgid "$DECOY"
	kill -CONT "$BG_PID"
	tc_wait_bg "$BG_PID"
	expect_eq "$(trial_state reuse2 0)" failed "reuse2: the trial is recorded failed (pgid $pg reused: $REUSED)"
	expect_contains "$(db "select reason from trials where exp='reuse2'")" \
		"supervisor died; outcome unknown" "reuse2: with what is known"
	if kill -0 "$DECOY" 2>/dev/null; then
		pass "reuse2: the unrelated group with the trial's old pgid lives on"
	else
		fail "reuse2: trainctl killed an unrelated process group"
	fi
	kill -9 "$DECOY"
fi

# ---- the spec's directory deleted mid-run -----------------------------------
mkdir gone
cat >gone/exp.yaml <<EOF
version: 1
name: gone
command: [sh, -c, 'while [ ! -e "\$0" ]; do sleep 0.02; done; echo acc=1', "$TC_WORK/go.gone"]
parameters:
  k: {values: [1, 2]}
run: {parallel: 1}
EOF
rm -f go.gone
tc_bg gone.out run -q gone/exp.yaml --state-dir "$TC_WORK/.trainctl"
if wait_for 15 "gone: trial 0 running" trial_is gone 0 running; then
	rm -rf gone
	touch go.gone
	tc_wait_bg "$BG_PID"
	expect_eq "$(trial_state gone 0)-$(trial_state gone 1)" succeeded-failed \
		"gone: the trial after the deletion failed"
	expect_contains "$(db "select reason from trials where exp='gone' and idx=1")" \
		"the working directory $TC_WORK/gone is gone" \
		"gone: the reason says the working directory is gone"
fi

tc_done
