#!/usr/bin/env bash
# Bookkeeping overhead on real work: 1,000 trials of `sleep 0.1` at
# parallel 10; the minimum is 10.0 s.  Also the mean concurrency reached,
# computed from the journal's start and end times of every trial.
. "$(dirname "$0")/common.sh"
N=${N:-1000}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 -c "
print('version: 1\nname: sleepers\ncommand: [sleep, \"0.1\", \"{{i}}\"]\nparameters:\n  i: {values: [%s]}\nrun: {parallel: 10}' % ','.join(str(i) for i in range($N)))" > "$work/sleep.yaml"
# sleep ignores extra operands?  No: use a wrapper that sleeps 0.1 s.
sed -i 's|command: \[sleep, "0.1", "{{i}}"\]|command: [sleep, "0.1"]\nenv: {TRIAL_I: "{{i}}"}|' "$work/sleep.yaml"
t0=$(now); "$TRAINCTL" run -q "$work/sleep.yaml" > /dev/null; t1=$(now)
python3 - "$t0" "$t1" "$N" "$work/.trainctl/journal.db" <<'PY'
import sqlite3, sys
t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(sys.argv[4])
rows = db.execute("select started_at, ended_at from trials where exp='sleepers'").fetchall()
busy = sum(e - s for s, e in rows)
span = max(e for s, e in rows) - min(s for s, e in rows)
minimum = n * 0.1 / 10
wall = t1 - t0
print(f"wall {wall:.2f} s for {n} x sleep 0.1 at parallel 10 (minimum {minimum:.1f} s): "
      f"{(wall / minimum - 1) * 100:.2f}% over the minimum (target < 1%)")
print(f"mean concurrency over the sweep: {busy / span:.2f} of 10")
PY
