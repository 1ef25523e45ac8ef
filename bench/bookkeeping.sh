#!/usr/bin/env bash
# Bookkeeping overhead on real work: N (1,000) trials of `sleep 0.1` at
# parallel 10; the minimum is N x 0.1 / 10 = 10.0 s.  Baselines in the
# same run: `xargs -P 10` over the same commands, and the floor of a bare
# posix_spawn loop (bench/spawn_floor.c: what starting and reaping `sleep`
# costs on this machine with no bookkeeping at all).  Also the mean and
# the peak concurrency reached, from the journal's start and end times.
. "$(dirname "$0")/common.sh"
N=${N:-1000}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/spawn_floor" "$BENCH_ROOT/bench/spawn_floor.c"
# the trial's index reaches it through its environment (sleep takes one operand)
python3 -c "
print('version: 1\nname: sleepers\ncommand: [sleep, \"0.1\"]\nenv: {TRIAL_I: \"{{i}}\"}\nparameters:\n  i: {values: [%s]}\nrun: {parallel: 10}' % ','.join(str(i) for i in range($N)))" > "$work/sleep.yaml"
x0=$(now); seq "$N" | xargs -P 10 -I{} sleep 0.1; x1=$(now)
floor=$("$work/spawn_floor" "$N" 10 sleep 0.1)
t0=$(now); "$TRAINCTL" run -q "$work/sleep.yaml" > /dev/null; t1=$(now)
python3 - "$t0" "$t1" "$N" "$work/.trainctl/journal.db" "$x0" "$x1" "$floor" <<'PY'
import sqlite3, sys
t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
x = float(sys.argv[6]) - float(sys.argv[5])
floor = float(sys.argv[7])
db = sqlite3.connect(sys.argv[4])
rows = db.execute("select started_at, ended_at from trials where exp='sleepers'").fetchall()
busy = sum(e - s for s, e in rows)
span = max(e for s, e in rows) - min(s for s, e in rows)
# peak concurrency: sweep over starts (+1) and ends (-1), ends first at ties
ev = sorted([(s, 1) for s, _ in rows] + [(e, -1) for _, e in rows], key=lambda p: (p[0], p[1]))
cur = peak = 0
for _, d in ev:
    cur += d
    peak = max(peak, cur)
minimum = n * 0.1 / 10
wall = t1 - t0
over = lambda v: (v / minimum - 1) * 100
print(f"wall {wall:.2f} s for {n} x sleep 0.1 at parallel 10 (minimum {minimum:.1f} s): "
      f"{over(wall):.2f}% over the minimum (target < 1%)")
print(f"baseline xargs -P 10: {x:.2f} s ({over(x):.2f}% over); trainctl/xargs = {wall / x:.3f}")
print(f"floor, bare posix_spawn loop: {floor:.2f} s ({over(floor):.2f}% over); trainctl/floor = {wall / floor:.3f}")
print(f"trainctl outside the trials' span (start-up, planning, the end): {wall - span:.3f} s")
print(f"concurrency over the sweep: mean {busy / span:.2f}, peak {peak} of 10")
PY
