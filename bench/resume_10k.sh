#!/usr/bin/env bash
# Resume of a 10,000-trial journal: the time `trainctl resume` takes to
# decide what remains (open the journal, recover, pick the first trial).
# The journal is made by running 5,000 of 10,000 trials (then cancelling),
# and resume is timed with --parallel 1 until its first trial starts.
. "$(dirname "$0")/common.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
python3 -c "
print('version: 1\nname: tenk\ncommand: [/bin/sh, -c, \"echo acc={{i}}; [ {{i}} -lt 5000 ] || touch $work/half\"]\nparameters:\n  i: {values: [%s]}\nrun: {parallel: 2}' % ','.join(str(i) for i in range(10000)))" > tenk.yaml
"$TRAINCTL" run -q tenk.yaml > run.log 2>&1 &
pid=$!
while [ ! -e half ]; do sleep 0.05; done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
done_before=$(sqlite3 .trainctl/journal.db "select count(*) from trials where state='succeeded'")
# time to decide: resume with a spec whose trials are all queued;
# the first 'starting' event after the resume began marks the decision.
t0=$(date +%s.%N)
"$TRAINCTL" resume -q tenk --parallel 1 > resume.log 2>&1 &
rpid=$!
while [ "$(sqlite3 .trainctl/journal.db "select count(*) from events where state='starting' and at > $t0")" -eq 0 ]; do sleep 0.01; done
t1=$(sqlite3 .trainctl/journal.db "select min(at) from events where state='starting' and at > $t0")
kill -9 "$rpid"; wait "$rpid" 2>/dev/null || true
python3 -c "print(f'resume of a 10,000-trial journal ($done_before finished): {$t1 - $t0:.3f} s to the first new start (target < 1 s)')"
