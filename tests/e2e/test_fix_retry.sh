#!/usr/bin/env bash
# The edit-fix-retry loop (issue 11, item 1) and the state an experiment
# ends in when some of its trials were cancelled while it ran (item 10).
. "$(dirname "$0")/lib.sh"

# ---- cancel TRIAL while the experiment runs ---------------------------------
# trial k=2 blocks until the file `go` appears (it never does: it is
# cancelled while it runs); the others succeed
cat >block.sh <<'EOF2'
#!/bin/sh
if [ "$1" = 2 ]; then
	touch started
	while [ ! -e go ]; do sleep 0.05; done
fi
echo "acc=0.$1"
EOF2
chmod +x block.sh
cat >cx.yaml <<'EOF2'
version: 1
name: cx
command: [./block.sh, "{{k}}"]
parameters:
  k: {values: [1, 2, 3]}
metric: {name: acc}
run: {parallel: 3}
EOF2
tc_bg run.out run -q cx.yaml
pid=$BG_PID
if wait_for 30 "trial k=2 started" test -e started &&
	wait_for 30 "trial #1 running" trial_is cx 1 running; then
	tc_run cancel cx '#1'
	expect_rc 0 "cancel one running trial"
fi
tc_wait_bg "$pid"
expect_rc 1 "the run exits 1: a trial was cancelled"
expect_eq "$(tc status cx --format json | jget - 'd["state"]')" finished \
	"the experiment ended as its trials did (finished), not interrupted"
expect_eq "$(tc status cx --format json | jget - '(d["counts"]["succeeded"], d["counts"]["cancelled"])')" \
	"(2, 1)" "two succeeded, one cancelled"
expect_no_match "$(tc ls)" "interrupted|cancelled" "ls does not say the experiment was interrupted"

# ---- fix a typo, then retry --failed / run --resume --force ----------------
# the typo is in an argument (validate checks command[0]): trian.py does not
# exist, so every trial fails
cat >train.py <<'EOF2'
import sys
print("acc=0.%s" % sys.argv[1])
EOF2
write_spec() { # SCRIPT: the trainer the spec names
	cat >fx.yaml <<EOF2
version: 1
name: fx
command: [python3, "$1", "{{k}}"]
parameters:
  k: {values: [1, 2, 3]}
metric: {name: acc}
EOF2
}
write_spec trian.py
tc_run run -q fx.yaml
expect_rc 1 "fx: the typo fails the trials"
write_spec train.py
tc_run retry fx --failed
expect_rc 2 "retry refuses a spec changed since the experiment recorded it"
expect_contains "$ERR" "--force" "and says to use --force"
tc_run retry fx --failed --force
expect_rc 0 "retry --failed --force runs the fixed command"
expect_eq "$(tc status fx --format json | jget - 'd["counts"]["succeeded"]')" 3 \
	"fx: every trial succeeded with the fixed command"
pycheck "fx: a 'command changed' event for each failed trial" .trainctl/journal.db <<'PY'
import sqlite3
ev = sqlite3.connect(sys.argv[1]).execute(
    "select trial, detail from events where exp='fx' and state='command changed'").fetchall()
check(len(ev) == 3, ev)
check(all('trian.py' in d and 'train.py' in d for _, d in ev), ev)
PY

# run --resume --force re-resolves too; a succeeded trial keeps its command
cat >one.sh <<'EOF2'
#!/bin/sh
[ "$1" = 1 ] && { echo "acc=0.1"; exit 0; }
exec python3 "$2" "$1"
EOF2
chmod +x one.sh
cat >gx.yaml <<'EOF2'
version: 1
name: gx
command: [./one.sh, "{{k}}", trian.py]
parameters:
  k: {values: [1, 2]}
metric: {name: acc}
EOF2
tc_run run -q gx.yaml
expect_rc 1 "gx: one trial fails"
sed -i 's/trian.py/train.py/' gx.yaml
tc_run run -q --resume --force gx.yaml
expect_rc 1 "run --resume --force: the failed trial stays failed (resume runs queued ones)"
pycheck "gx: the succeeded trial kept its command, the other runs the new one; one event" .trainctl/journal.db <<'PY'
import sqlite3
db = sqlite3.connect(sys.argv[1])
rows = dict(db.execute(
    "select json_extract(params, '$.k'), command from trials where exp='gx'").fetchall())
check(len(rows) == 2, rows)
check('trian.py' in rows.get(1, ''), rows)
check('"train.py"' in rows.get(2, ''), rows)
ev = db.execute("select trial, detail from events where exp='gx' and state='command changed'").fetchall()
check(len(ev) == 1 and 'trian.py' in ev[0][1] and 'train.py' in ev[0][1], ev)
PY
expect_eq "$(tc status gx --format json | jget - '[t["command_changed"] for t in d["trials"]]')" \
	"[false, true]" "status --format json: command_changed per trial"
expect_contains "$(tc status gx)" "1 trial runs a newer command" "status notes the trial with a newer command"
tc_run retry gx --failed
expect_rc 0 "then retry --failed (spec unchanged now) runs the new command"

# ---- retry --force of named trials: only those run again --------------------
# (the re-plan that --force makes names every trial of the plan; the retry
# still queues only the trial named)
sed 's/name: fx/name: hx/' fx.yaml >hx.yaml
sed -i 's/train.py/trian.py/' hx.yaml
tc_run run -q hx.yaml
expect_rc 1 "hx: the typo fails the trials"
sed -i 's/trian.py/train.py/' hx.yaml
tc_run retry hx '#0' --force
expect_eq "$(tc status hx --format json | jget - '(d["counts"]["succeeded"], d["counts"]["failed"])')" \
	"(1, 2)" "retry --force of one trial ran that one only"

tc_done
