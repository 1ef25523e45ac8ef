#!/usr/bin/env bash
# a trial that prints a million metric lines: trainctl's memory stays
# bounded (it writes samples in batches, never queues them all), the
# history cap says so in status and results, and the journal's write lock
# is never held long, so other writers (a probe with a short busy timeout,
# `cancel`, a second `run` on the same state directory) go on meanwhile.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || { fail "sqlite3 is needed"; tc_done; }
[ -x /usr/bin/time ] || { fail "/usr/bin/time (package time) is needed"; tc_done; }

# 1M lines of step= loss= acc= (4M values), as fast as awk writes them
cat >heavy.sh <<'EOF'
#!/bin/sh
awk 'BEGIN { for (i = 0; i < 1000000; i++)
	printf "step=%d loss=%.6f acc=%.6f\n", i, 1 / (i + 1), i / 1000000 }'
# then, if asked to, wait until the test lets it end
[ -n "$1" ] || exit 0
touch "$1.written"
read -r _ <"$1"
EOF
chmod +x heavy.sh

# ---- memory ---------------------------------------------------------------
mkdir mem
cat >mem/exp.yaml <<EOF
version: 1
name: mem
command: [$TC_WORK/heavy.sh]
parameters:
  x: {values: [1]}
metric: {name: acc, goal: maximize}
EOF
/usr/bin/time -v -o time.txt "$TRAINCTL" run -q mem/exp.yaml --state-dir mem/.trainctl >run.out 2>&1
RC=$?
expect_rc 0 "a 1M-line trial runs"
rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' time.txt)
if grep -aqs __asan_init "$TRAINCTL"; then
	pass "peak RSS ${rss} kB (not judged: AddressSanitizer's own memory)"
elif [ -n "$rss" ] && [ "$rss" -lt $((100 * 1024)) ]; then
	pass "peak RSS ${rss} kB < 100 MB"
else
	fail "peak RSS '${rss}' kB, want < 100 MB"
	cat time.txt
fi
tc_run results mem --state-dir mem/.trainctl --format json
pycheck "final values exact, history capped with a note" "$OUT" mem/.trainctl/journal.db <<'PY'
import sqlite3
d = loads(sys.argv[1])
t = d["trials"][0]
check(t["acc"] == 0.999999, "final acc %r" % t["acc"])
check(t["step"] == 999999, "final step %r" % t["step"])
check(any("history capped at 100000" in n for n in t["notes"]), "notes %r" % t["notes"])
db = sqlite3.connect(sys.argv[2])
n = db.execute("select count(*) from metrics where exp = 'mem'").fetchone()[0]
check(n == 100000, "history rows %d" % n)
ev = db.execute("select count(*) from events where exp = 'mem' and state = 'note'").fetchone()[0]
check(ev == 1, "note events %d" % ev)
PY
tc_run status mem --state-dir mem/.trainctl
expect_match "$OUT" "^note: [0-9a-f]+: attempt 1: metric history capped at 100000 values" \
	"status shows the note"

# ---- other writers while a heavy trial's output is read ------------------
# Two trials one at a time: the first prints 1M lines and waits; once it is
# let go, trainctl reads what is left of its log while the test cancels the
# second, runs another experiment in the same state directory, and probes
# the write lock with a 2 s busy timeout until the run ends.
mkfifo go
mkdir lock
cat >lock/exp.yaml <<EOF
version: 1
name: lock
command: [$TC_WORK/heavy.sh, "{{fifo}}"]
parameters:
  fifo: {values: [$TC_WORK/go, $TC_WORK/never]}
metric: {name: acc, goal: maximize}
run: {parallel: 1}
EOF
cat >lock/small.yaml <<'EOF'
version: 1
name: small
command: [sh, -c, "echo acc=1"]
parameters:
  x: {values: [1, 2]}
EOF
second=$(trial_ids lock/exp.yaml | sed -n 2p)
tc_bg run.lock.out run -q lock/exp.yaml --state-dir lock/.trainctl
heavy=$BG_PID
wait_for 30 "the heavy trial printed its lines" test -e go.written
echo >go
fails=0
probes=0
while kill -0 "$heavy" 2>/dev/null; do
	if ! sqlite3 -cmd ".timeout 2000" lock/.trainctl/journal.db \
		"BEGIN IMMEDIATE; COMMIT;" >probe.err 2>&1; then
		fails=$((fails + 1))
		cat probe.err
	fi
	probes=$((probes + 1))
	if [ "$probes" -eq 1 ]; then
		tc_run cancel lock "$second" --state-dir lock/.trainctl
		cancel_rc=$RC cancel_err=$ERR
		tc_run run -q lock/small.yaml --state-dir lock/.trainctl
		small_rc=$RC small_err=$ERR
	fi
done
tc_wait_bg "$heavy"
expect_rc 1 "the heavy run ends (exit 1: its second trial cancelled)"
expect_eq "$fails" 0 "the write lock was never held 2 s ($probes probes)"
expect_eq "$cancel_rc" 0 "cancel during the heavy read"
expect_no_match "$cancel_err" "locked" "cancel: no 'database is locked'"
expect_eq "$small_rc" 0 "a second run in the same state directory"
expect_no_match "$small_err" "locked" "second run: no 'database is locked'"
expect_eq "$(trial_state lock 1 --state-dir lock/.trainctl)" cancelled \
	"the second trial is cancelled"
expect_eq "$(trial_state lock 0 --state-dir lock/.trainctl)" succeeded \
	"the heavy trial succeeded"

tc_done
