#!/usr/bin/env bash
# rm: removes one experiment (trial directories, status and lock files,
# journal rows) and nothing else; refuses a running one unless --force,
# which cancels it first; never follows a link a trial left.
. "$(dirname "$0")/lib.sh"

for n in a b; do
	cat >$n.yaml <<EOF
version: 1
name: rm-$n
command: [sh, -c, 'echo acc=\$0; ln -s "$TC_WORK/keep" "\$TRAINCTL_TRIAL_DIR/link"', "{{x}}"]
parameters:
  x: {values: [1, 2, 3]}
metric: {name: acc}
EOF
done
mkdir keep
echo precious >keep/file
tc run a.yaml -q >/dev/null
tc run b.yaml -q >/dev/null
a_ids=$(trial_ids a.yaml)
db=.trainctl/journal.db

tc_run rm rm-a
expect_rc 0 "rm a finished experiment"
expect_contains "$OUT" "removed experiment 'rm-a' (3 trial directories)" "rm says what it removed"
left=0
for id in $a_ids; do [ -e ".trainctl/trials/$id" ] && left=$((left + 1)); done
expect_eq "$left" 0 "its trial directories are gone"
expect_no_file .trainctl/locks/rm-a.status "its status file is gone"
expect_no_file .trainctl/locks/rm-a.lock "its lock file is gone"
rows=$(sqlite3 "$db" "select (select count(*) from trials where exp='rm-a') + (select count(*) from metrics where exp='rm-a') + (select count(*) from final where exp='rm-a') + (select count(*) from events where exp='rm-a') + (select count(*) from experiments where name='rm-a')")
expect_eq "$rows" 0 "no journal row of it is left"
expect_eq "$(cat keep/file)" precious "a link in a trial directory is removed, not followed"
tc_run ls
expect_no_match "$OUT" '^rm-a ' "ls no longer lists it"
expect_match "$OUT" '^rm-b ' "the other experiment is still listed"
tc_run results rm-b --format csv
expect_rc 0 "the other experiment's results"
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | wc -l)" 3 "the other experiment keeps its 3 trials"
tc_run logs rm-b "#0"
expect_eq "$OUT" "acc=1" "the other experiment keeps its logs"

tc_run rm rm-a
expect_rc 2 "rm of an experiment that is not there"
expect_contains "$ERR" "rm-a" "and names it"
tc_run rm
expect_rc 2 "rm without a name"

tc_run run a.yaml -q
expect_rc 0 "the removed experiment runs again from scratch"
expect_eq "$(sqlite3 "$db" "select count(*) from trials where exp='rm-a' and attempt=1")" 3 "as attempt 1 of each trial"

# ---- a running experiment ------------------------------------------------
cat >slow.yaml <<EOF
version: 1
name: rm-slow
command: [sh, -c, 'echo \$\$ > "\$TRAINCTL_TRIAL_DIR/pid"; exec sleep 1000']
run: {parallel: 1}
EOF
tc_bg slow.out run slow.yaml -q
slow_pid=$BG_PID
if wait_for 15 "the trial running" trial_is rm-slow 0 running; then
	tc_run rm rm-slow
	expect_rc 2 "rm refuses a running experiment"
	expect_contains "$ERR" "--force" "and says how"
	id=$(sqlite3 "$db" "select id from trials where exp='rm-slow'")
	wait_for 10 "the trial's pid file" test -s ".trainctl/trials/$id/pid"
	tpid=$(cat ".trainctl/trials/$id/pid")
	tc_run rm rm-slow --force
	expect_rc 0 "rm --force cancels and removes it"
	expect_no_file ".trainctl/trials/$id" "its trial directory is gone"
	if kill -0 "$tpid" 2>/dev/null; then fail "the trial still runs"; else pass "the trial was stopped"; fi
	tc_wait_bg "$slow_pid"
	expect_rc 1 "the run that was removed ends as cancelled"
	tc_run ls
	expect_no_match "$OUT" '^rm-slow ' "ls no longer lists it"
fi

# trainctl killed, its trial alive under the supervisor: still running
tc_bg slow2.out run slow.yaml -q
slow_pid=$BG_PID
if wait_for 15 "the trial running" trial_is rm-slow 0 running; then
	id=$(sqlite3 "$db" "select id from trials where exp='rm-slow'")
	wait_for 10 "the trial's pid file" test -s ".trainctl/trials/$id/pid"
	tpid=$(cat ".trainctl/trials/$id/pid")
	kill -9 "$slow_pid"
	wait "$slow_pid" 2>/dev/null
	tc_run rm rm-slow
	expect_rc 2 "rm refuses while a trial of a killed trainctl still runs"
	tc_run rm rm-slow --force
	expect_rc 0 "rm --force stops that trial too"
	if kill -0 "$tpid" 2>/dev/null; then fail "the orphaned trial still runs"; else pass "the orphaned trial was stopped"; fi
	expect_no_file ".trainctl/trials/$id" "its trial directory is gone"
fi
tc_done
