#!/usr/bin/env bash
# kill -9 torture with the supervisor: at random moments of a sweep, kill
# trainctl alone or trainctl together with its supervisor, resume each time,
# and check afterwards that every trial succeeded once in the journal, that
# no attempt number was ever started twice (a rerun is a new attempt, so no
# attempt's files are overwritten), that every kept log holds its own
# attempt's output, and that every rerun has its reason recorded.
. "$(dirname "$0")/lib.sh"

cat >trial.sh <<'T'
#!/bin/sh
echo "$TRAINCTL_TRIAL $TRAINCTL_ATTEMPT" >>starts
echo "attempt $TRAINCTL_ATTEMPT"
sleep "$1"
echo "acc=$2"
T
chmod +x trial.sh
cat >exp.yaml <<'EOF'
version: 1
name: lost
command: [./trial.sh, "{{dur}}", "{{acc}}"]
parameters:
  dur: {values: [0.05, 0.1, 0.2, 0.3]}
  acc: {values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]}
metric: {name: acc}
run: {parallel: 4}
EOF
ntrials=80
kills=0 both=0
RANDOM=${TC_SEED:-7}
for round in $(seq 1 200); do
	if ! "$TRAINCTL" ls 2>/dev/null | grep -q '^lost '; then
		tc_bg "run.$round.log" run --resume -q exp.yaml
	else
		tc_bg "run.$round.log" resume -q lost
	fi
	pid=$BG_PID
	# a random moment (timing injection; the checks do not depend on it)
	ms=$((RANDOM % 300))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	# trainctl stopped first: it cannot see its supervisor die, and
	# cannot reap a child, so the pid found stays the supervisor's
	if tc_mine "$pid" && kill -STOP "$pid" 2>/dev/null; then
		shim=$(pgrep -P "$pid" -x trainctl 2>/dev/null | head -1)
		if [ $((round % 3)) -ne 0 ] && [ -n "$shim" ] && kill -9 "$shim" 2>/dev/null; then
			both=$((both + 1))
		fi
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		kills=$((kills + 1))
		continue
	fi
	tc_wait_bg "$pid"
	expect_rc 0 "round $round: the sweep finished"
	break
done
echo "killed trainctl $kills times, with its supervisor $both times"
[ "$both" -ge 5 ] && pass "enough kills of both to mean something" ||
	fail "too few kills of trainctl with its supervisor ($both)"

pycheck "every trial succeeded once; attempts, files and reasons agree" \
	"$ntrials" <<'PY'
import collections, sqlite3
n = int(sys.argv[1])
db = sqlite3.connect(".trainctl/journal.db")
rows = db.execute("select id, state, attempt from trials where exp='lost'").fetchall()
check(len(rows) == n, "%d trial rows" % len(rows))
check(all(s == "succeeded" for _, s, _ in rows),
      "not succeeded: %s" % [(i, s) for i, s, _ in rows if s != "succeeded"])
ok = collections.Counter(t for t, in db.execute(
    "select trial from events where exp='lost' and state='succeeded'"))
check(all(ok[i] == 1 for i, _, _ in rows), "succeeded events: %s" %
      {i: ok[i] for i, _, _ in rows if ok[i] != 1})
starts = collections.Counter(tuple(l.split()) for l in open("starts"))
twice = [k for k, c in starts.items() if c > 1]
check(not twice, "attempts started twice: %s" % twice[:5])
for i, _, att in rows:
    d = ".trainctl/trials/%s/" % i
    check("attempt %d" % att in open(d + "stdout.log").read(),
          "%s: stdout.log is not attempt %d's" % (i, att))
    for k in range(1, att):
        try:
            text = open(d + "stdout.%d.log" % k).read()
        except FileNotFoundError:
            continue  # its supervisor was lost before it started
        if (i, str(k)) not in starts and text == "":
            continue  # lost between creating its logs and starting it
        check(text.startswith("attempt %d\n" % k),
              "%s: stdout.%d.log holds %r" % (i, k, text[:20]))
    lost = db.execute("select count(*) from events where exp='lost' and "
                      "trial=? and detail like 'supervisor lost;%'", (i,)).fetchone()[0]
    check(lost == att - 1, "%s: %d attempts, %d reruns recorded" % (i, att, lost))
    check(starts[(i, str(att))] == 1, "%s: its last attempt did not start once" % i)
PY

tc_done
