#!/usr/bin/env bash
# what a trial's recorded metrics do not show is said, never dropped
# silently: values of names past the collector's name cap, and a trial
# whose directory vanished while it ran (its final values may be stale).
# Each leaves an event of state 'note' and a note in status and results.
. "$(dirname "$0")/lib.sh"

# ---- the name cap ---------------------------------------------------------
mkdir names
cat >names/exp.yaml <<'EOF'
version: 1
name: names
command: [awk, "BEGIN { for (i = 0; i < 1100; i++) printf \"m%d=%d \", i, i; print \"acc=1\" }"]
parameters:
  x: {values: [1]}
metric: {name: acc, goal: maximize}
EOF
tc_run run -q names/exp.yaml --state-dir names/.trainctl
expect_rc 0 "a trial printing 1101 metric names runs"
tc_run results names --state-dir names/.trainctl --format json
pycheck "names past the first 1024 dropped, with a note" "$OUT" names/.trainctl/journal.db <<'PY'
import sqlite3
t = loads(sys.argv[1])["trials"][0]
check(t.get("m0") == 0 and t.get("m1023") == 1023, "first names kept")
check("m1099" not in t and t.get("acc") is None, "later names dropped")
check(any("past the first 1024" in n for n in t.get("notes", [])), "notes %r" % t.get("notes"))
db = sqlite3.connect(sys.argv[2])
ev = db.execute("select detail from events where exp = 'names' and state = 'note'").fetchall()
check(len(ev) == 1 and ev[0][0].startswith("attempt 1: "), "note events %r" % ev)
PY
tc_run results names --state-dir names/.trainctl
expect_match "$OUT" "^note: [0-9a-f]+: attempt 1: values of metric names past the first 1024" \
	"results shows the note"

# ---- a trial directory deleted while the trial runs ----------------------
mkfifo go
mkdir gone
cat >gone/trial.sh <<'EOF'
#!/bin/sh
echo "acc=0.1"
read -r _ <"$1"
echo "acc=0.9"
EOF
chmod +x gone/trial.sh
cat >gone/exp.yaml <<EOF
version: 1
name: gone
command: [./trial.sh, "{{fifo}}"]
parameters:
  fifo: {values: [$TC_WORK/go]}
metric: {name: acc, goal: maximize}
EOF
id=$(trial_ids gone/exp.yaml)
acc_is() {
	[ "$("$TRAINCTL" results gone --state-dir gone/.trainctl --format json |
		jget - "d['trials'][0].get('acc')")" = "$1" ]
}
tc_bg run.out run -q gone/exp.yaml --state-dir gone/.trainctl
wait_for 30 "trainctl read the first value" acc_is 0.1
rm -rf "gone/.trainctl/trials/$id"
echo >go
tc_wait_bg "$BG_PID"
expect_eq "$RC" 0 "the trial still succeeds"
tc_run status gone --state-dir gone/.trainctl --format json
pycheck "status: a note says its metrics may be incomplete" "$OUT" <<'PY'
t = loads(sys.argv[1])["trials"][0]
check(any("vanished" in n and "may be incomplete" in n for n in t.get("notes", [])),
      "notes %r" % t.get("notes"))
PY
tc_run status gone --state-dir gone/.trainctl
expect_match "$OUT" "^note: $id: attempt 1: its directory or log files vanished while it ran; its metrics may be incomplete" \
	"status shows the note"

tc_done
