#!/usr/bin/env bash
# A pipeline under kill -9 and Ctrl-C at random moments, resumed after
# each: three item-wise stages of 16 jobs and a gather.  Afterwards:
#   - every job succeeded, once: no job whose process ran to its end ran
#     again (each appends its id to `ends` as its last act);
#   - no job started before every job it needs had ended (the jobs' own
#     records: each reads its needed job's output, and fails without it);
#   - the gather saw every job before it.
# The kill moments are random; no check depends on them.
. "$(dirname "$0")/lib.sh"
W=$TC_WORK

cat >job.sh <<'T'
#!/bin/sh
# $1 work dir, $2 the needed job's output file (or -), $3 seconds
echo "$TRAINCTL_TRIAL $TRAINCTL_ATTEMPT" >> "$1/starts"
if [ "$2" != - ]; then
	[ -s "$2" ] || { echo "needed output $2 is not there" >&2; exit 7; }
fi
sleep "$3"
echo "$TRAINCTL_TRIAL" > "$TRAINCTL_TRIAL_DIR/out"
echo "$TRAINCTL_TRIAL" >> "$1/ends"
T
chmod +x job.sh
items=$(seq -s ", " 1 16)
cat >pipe.yaml <<EOF
version: 1
name: ptort
run: {parallel: 4, retries: 0}
stages:
  a:
    foreach: [$items]
    command: [./job.sh, "$W", "-", "0.2{{item}}"]
    outputs: [out]
  b:
    needs: [a]
    foreach: [$items]
    command: [./job.sh, "$W", "{{needs.a}}/out", "0.15"]
    outputs: [out]
  c:
    needs: [b]
    foreach: [$items]
    command: [./job.sh, "$W", "{{needs.b}}/out", "0.1"]
    outputs: [out]
  all:
    needs: [c]
    script: |
      for d in \$NEEDS_C; do cat "\$d/out"; done > "\$TRAINCTL_TRIAL_DIR/all"
      echo "\$TRAINCTL_TRIAL" >> "$W/ends"
    outputs: [all]
EOF
touch starts ends
RANDOM=${TC_SEED:-7}
kills=0 ints=0 done_ok=0
for round in $(seq 1 200); do
	if [ "$round" -eq 1 ]; then
		"$TRAINCTL" run -q pipe.yaml >"run.$round.log" 2>&1 &
	else
		"$TRAINCTL" resume -q ptort >"run.$round.log" 2>&1 &
	fi
	pid=$!
	ms=$((RANDOM % 200 + 10))
	sleep "$(printf '0.%03d' "$ms")"
	if ! tc_mine "$pid"; then
		rc=0
		wait "$pid" || rc=$?
		if [ "$rc" -ne 0 ]; then
			fail "round $round: trainctl exited $rc"
			cat "run.$round.log"
			break
		fi
		done_ok=1
		break
	fi
	if [ $((RANDOM % 4)) -eq 0 ]; then
		kill -INT "$pid" 2>/dev/null && ints=$((ints + 1))
		for _ in $(seq 1 600); do tc_mine "$pid" || break; sleep 0.05; done
	else
		kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	fi
	wait "$pid" 2>/dev/null
done
echo "kill -9: $kills, Ctrl-C: $ints"
[ "$done_ok" -eq 1 ] && pass "the pipeline finished after the torture" || fail "the pipeline did not finish in 200 rounds"
[ "$kills" -ge 3 ] && pass "trainctl was killed mid-pipeline ($kills times)" || fail "too few kills to mean anything: $kills"

q() { sqlite3 .trainctl/journal.db "$@"; }
expect_eq "$(q "SELECT count(*) FROM trials WHERE exp = 'ptort' AND state = 'succeeded'")" 49 "every job succeeded"
dup=$(sort ends | uniq -d)
expect_eq "$dup" "" "no job that ran to its end ran again"
expect_eq "$(sort -u ends | wc -l)" 49 "every job ran to its end once"
expect_eq "$(q "SELECT count(*) FROM trials WHERE exp = 'ptort' AND state = 'failed'")" 0 \
	"no job started before the job it needs (it would have failed)"
all=$(q "SELECT id FROM trials WHERE exp = 'ptort' AND stage = 'all'")
expect_eq "$(wc -l <".trainctl/trials/$all/all")" 16 "the gather read every job of the stage before it"
tc_done
