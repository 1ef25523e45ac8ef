#!/usr/bin/env bash
# Bookkeeping overhead on real work: 1,000 trials of `sleep 0.1` at
# parallel 10; the minimum is 10.0 s.  Also the mean concurrency reached,
# computed from the journal's start and end times of every trial.
. "$(dirname "$0")/common.sh"
N=${N:-1000}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 -c "
print('version: 1\nname: sleepers\ncommand: [sleep, \"0.1\", \"{{i}}\"]\nparameters:\n  i: {values: [%s]}\nrun: {parallel: 10}' % ','.join(str(i) for i in range($N)))" > "$work/sleep.yaml"
# the trial's index reaches it through its environment (sleep takes one operand)
sed -i 's|command: \[sleep, "0.1", "{{i}}"\]|command: [sleep, "0.1"]\nenv: {TRIAL_I: "{{i}}"}|' "$work/sleep.yaml"
# baseline in the same run: xargs -P 10 over the same 1,000 commands
x0=$(now); seq "$N" | xargs -P 10 -I{} sleep 0.1; x1=$(now)
t0=$(now); "$TRAINCTL" run -q "$work/sleep.yaml" > /dev/null; t1=$(now)
python3 - "$t0" "$t1" "$N" "$work/.trainctl/journal.db" "$x0" "$x1" <<'PY'
import sqlite3, sys
t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
x = float(sys.argv[6]) - float(sys.argv[5])
db = sqlite3.connect(sys.argv[4])
rows = db.execute("select started_at, ended_at from trials where exp='sleepers'").fetchall()
busy = sum(e - s for s, e in rows)
span = max(e for s, e in rows) - min(s for s, e in rows)
minimum = n * 0.1 / 10
wall = t1 - t0
print(f"wall {wall:.2f} s for {n} x sleep 0.1 at parallel 10 (minimum {minimum:.1f} s): "
      f"{(wall / minimum - 1) * 100:.2f}% over the minimum (target < 1%)")
print(f"baseline xargs -P 10: {x:.2f} s ({(x / minimum - 1) * 100:.2f}% over the minimum); "
      f"trainctl/xargs = {wall / x:.3f}")
print(f"mean concurrency over the sweep: {busy / span:.2f} of 10")
PY
