#!/usr/bin/env bash
# The mixed torture: Ctrl-C, `cancel`, kill -9 of trainctl alone and kill -9
# of trainctl together with its supervisor, at random moments over a few
# hundred short trials, resuming after each.  Afterwards:
#   - every trial is accounted for once (one row, one final state, and
#     a succeeded trial has its metric);
#   - no attempt ran twice under the same number and no attempt's output
#     was overwritten (each attempt's log still holds its own marker);
#   - no trial that finished was started again without a reason in the
#     journal (a lost supervisor leaves its outcome unknown: that rerun must
#     say so);
#   - no unrelated process was signalled: after each kill of a supervisor,
#     processes are planted on the process ids of trials that ended
#     meanwhile (the ids the status file still names) and must survive.
# The kill moments are random (timing injection); no check depends on them.
. "$(dirname "$0")/lib.sh"
W=$TC_WORK

cat > trial.sh <<'T'
#!/bin/sh
# $1 work dir, $2 duration, $3 metric value
echo "$TRAINCTL_TRIAL $TRAINCTL_ATTEMPT $$" >> "$1/starts"
echo "marker $TRAINCTL_TRIAL attempt $TRAINCTL_ATTEMPT"
sleep "$2"
echo "loss=$2 acc=$3"
echo "$TRAINCTL_TRIAL $TRAINCTL_ATTEMPT" >> "$1/ends"
T
chmod +x trial.sh
nacc=${TC_NACC:-60}
accs=$(seq -s ', ' 1 "$nacc")
cat > exp.yaml <<EOF
version: 1
name: torture
command: [./trial.sh, "$W", "{{dur}}", "{{acc}}"]
parameters:
  dur: {values: [${TC_DURS:-0.02, 0.05, 0.1, 0.25}]}
  acc: {values: [$accs]}
metric: {name: acc}
run: {parallel: 4, retries: 0}
EOF
ntrials=$((4 * nacc))
touch starts ends
RANDOM=${TC_SEED:-11}

# A foreground trainctl, bounded: one that hangs fails the test and shows
# what ran.
hung=0
tcb() {
	local rc=0
	timeout -k 5 60 "$TRAINCTL" "$@" || rc=$?
	if [ "$rc" -ge 124 ] && [ "$rc" -le 137 ] && [ "$hung" -eq 0 ]; then
		hung=1
		fail "trainctl $* did not finish in 60 s"
		ps -eo pid,ppid,pgid,stat,etime,args | grep -E 'trainctl|trial.sh' | grep -v grep | head -30
	fi
	return "$rc"
}

# trainctl's supervisors are its children
children() { pgrep -P "$1" -x trainctl 2>/dev/null || true; }

# Plant a process on each id of a trial whose process has gone: a
# recovery that signals a recorded process group without checking that it
# is still the trial's would kill it.
canaries=()
plant() {
	local pid want got
	for pid in $(awk '{print $3}' starts | sort -u | shuf -n 40 --random-source=<(yes)); do
		kill -0 "$pid" 2>/dev/null && continue
		# the id must be free; one planted process per id
		[ -e "/proc/$pid" ] && continue
		want=$pid
		echo $((want - 1)) > /proc/sys/kernel/ns_last_pid 2>/dev/null || return 0
		setsid sleep 1000 &
		got=$!
		if [ "$got" = "$want" ]; then
			canaries+=("$got")
		else
			tc_mine "$got" && kill "$got" 2>/dev/null
		fi
		[ "${#canaries[@]}" -ge 60 ] && return 0
	done
	return 0
}

kills=0 kill2=0 ints=0 cancels=0
done_ok=0
for round in $(seq 1 300); do
	if [ $((round % 2)) -eq 1 ] || ! tcb ls 2>/dev/null | grep -q '^torture '; then
		"$TRAINCTL" run --resume -q exp.yaml > "run.$round.log" 2>&1 &
	else
		"$TRAINCTL" resume -q torture > "run.$round.log" 2>&1 &
	fi
	pid=$!
	ms=$((RANDOM % 400 + 20))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	if [ $((RANDOM % 3)) -eq 0 ]; then
		# cancel one trial, queued or running, from another process
		t=$(sqlite3 .trainctl/journal.db "select id from trials where exp='torture' and state in ('queued','starting','running') order by random() limit 1" 2>/dev/null || true)
		if [ -n "$t" ] && tcb cancel torture "$t" >> cancels.log 2>&1; then
			cancels=$((cancels + 1))
			echo "$t" >> cancelled
		fi
	fi
	if ! tc_mine "$pid"; then
		rc=0
		wait "$pid" || rc=$?
		if [ "$rc" -gt 1 ]; then
			fail "round $round: trainctl exited $rc"
			cat "run.$round.log"
			break
		fi
		if [ "$(tcb status torture --format json | jq '[.trials[] | select(.state == "queued" or .state == "running" or .state == "starting")] | length')" = 0 ]; then
			done_ok=1
			break
		fi
		continue
	fi
	case $((RANDOM % 3)) in
	0)	tc_mine "$pid" && kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
		wait "$pid" 2>/dev/null ;;
	1)	# stopped, trainctl reaps no child: the ids found stay its
		# supervisors' until they are killed
		tc_mine "$pid" && kill -STOP "$pid" 2>/dev/null
		sup=$(children "$pid")
		# shellcheck disable=SC2086
		[ -n "$sup" ] && kill -9 $sup 2>/dev/null
		tc_mine "$pid" && kill -9 "$pid" 2>/dev/null && kill2=$((kill2 + 1))
		wait "$pid" 2>/dev/null
		# let the orphaned trials end, then take their ids
		for _ in $(seq 1 300); do
			alive=0
			for p in $(awk '{print $3}' starts | tail -n 12); do
				kill -0 "$p" 2>/dev/null && alive=1
			done
			[ "$alive" -eq 0 ] && break
			sleep 0.01
		done
		plant ;;
	2)	tc_mine "$pid" && kill -INT "$pid" 2>/dev/null && ints=$((ints + 1))
		# a bounded wait: a trainctl that never stops is a failure
		for _ in $(seq 1 1200); do
			tc_mine "$pid" || break
			sleep 0.05
		done
		if tc_mine "$pid"; then
			fail "round $round: trainctl still runs 60 s after Ctrl-C"
			cat "run.$round.log"
			"$TRAINCTL" status torture | grep -v succeeded | head -20
			ps -o pid,ppid,pgid,stat,etime,args --ppid "$pid" 2>/dev/null
			kill -9 "$pid"
		fi
		rc=0
		wait "$pid" || rc=$?
		if [ "$rc" -gt 1 ] && [ "$rc" -ne 130 ]; then
			fail "round $round: trainctl exited $rc after Ctrl-C"
			cat "run.$round.log"
		fi ;;
	esac
done
echo "kill -9: $kills, with supervisor: $kill2, Ctrl-C: $ints, cancels: $cancels, planted: ${#canaries[@]}"
[ "$done_ok" -eq 1 ] && pass "the sweep finished after the torture" || fail "the sweep did not finish in 300 rounds"
[ "$kills" -ge 3 ] && [ "$kill2" -ge 3 ] && [ "$ints" -ge 3 ] &&
	pass "every kind of interruption happened" || fail "too few interruptions to mean anything"

db=.trainctl/journal.db
q() { sqlite3 "$db" "$@"; }

# Every trial accounted for once.
rows=$(q "select count(*) from trials where exp='torture'")
[ "$rows" -eq "$ntrials" ] && pass "one row per trial" || fail "trial rows: $rows of $ntrials"
open=$(q "select count(*) from trials where exp='torture' and state not in ('succeeded','cancelled')")
[ "$open" -eq 0 ] && pass "every trial succeeded or was cancelled" ||
	{ fail "trials neither succeeded nor cancelled: $open"; q "select id,state,attempt,reason from trials where exp='torture' and state not in ('succeeded','cancelled')" | head; }
nomet=$(q "select count(*) from trials t left join final f on f.exp=t.exp and f.trial=t.id and f.name='acc' where t.exp='torture' and t.state='succeeded' and (f.value is null or f.value != json_extract(t.params, '\$.acc'))")
[ "$nomet" -eq 0 ] && pass "every succeeded trial has its metric" || fail "succeeded trials with a wrong or missing metric: $nomet"
# a cancelled trial was cancelled by us
bogus=$(q "select id from trials where exp='torture' and state='cancelled'" | sort | comm -23 - <(sort -u cancelled 2>/dev/null))
[ -z "$bogus" ] && pass "no trial is cancelled that was not" || fail "cancelled without a cancel: $bogus"

# No attempt ran twice under one number; no attempt's output overwritten.
dup=$(awk '{print $1, $2}' starts | sort | uniq -d)
[ -z "$dup" ] && pass "no attempt started twice under one number" || fail "attempts started twice: $(echo "$dup" | head -3)"
lost=0
while read -r t a _; do
	out=$(tcb logs torture "$t" --attempt "$a" 2>/dev/null) || { lost=$((lost + 1)); continue; }
	grep -q "^marker $t attempt $a\$" <<<"$out" || lost=$((lost + 1))
done < <(sort -u -k1,2 starts)
[ "$lost" -eq 0 ] && pass "every attempt's log holds its own output" || fail "attempts whose log is gone or overwritten: $lost"

# A trial that finished and was started again: the journal says why.
silent=0
while read -r t a; do
	later=$(awk -v t="$t" -v a="$a" '$1 == t && $2 > a' starts | wc -l)
	[ "$later" -eq 0 ] && continue
	why=$(q "select count(*) from events where exp='torture' and trial='$t' and (detail like '%unknown%' or detail like '%supervisor%' or detail like '%retry%' or detail like '%interrupt%')")
	[ "$why" -gt 0 ] || { silent=$((silent + 1)); echo "     trial $t finished attempt $a and ran again without a reason"; }
done < ends
[ "$silent" -eq 0 ] && pass "no finished trial rerun without a recorded reason" || fail "finished trials rerun silently: $silent"

# No unrelated process signalled.
dead=0
for c in "${canaries[@]}"; do kill -0 "$c" 2>/dev/null || dead=$((dead + 1)); done
[ "$dead" -eq 0 ] && pass "all ${#canaries[@]} planted processes survived" || fail "planted processes killed: $dead of ${#canaries[@]}"
for c in "${canaries[@]}"; do tc_mine "$c" && kill "$c" 2>/dev/null; done
tc_done
