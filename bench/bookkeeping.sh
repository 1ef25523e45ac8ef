#!/usr/bin/env bash
# Bookkeeping overhead on real work: N (1,000) trials of `sleep 0.1` at
# parallel 10; the minimum is N x 0.1 / 10 = 10.0 s.  Baselines in the
# same round: `xargs -P 10` over the same commands, and the floor of a bare
# posix_spawn loop (bench/spawn_floor.c: what starting and reaping `sleep`
# costs on this machine with no bookkeeping at all).  ROUNDS (3) rounds,
# medians reported; single runs vary by a few percent on this machine.
# Also the mean and the peak concurrency reached, from the journal's start
# and end times.  BASE=REV: each round also runs trainctl as it was at git
# revision REV (A/B in the same run; see common.sh).
. "$(dirname "$0")/common.sh"
N=${N:-1000}
ROUNDS=${ROUNDS:-3}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/spawn_floor" "$BENCH_ROOT/bench/spawn_floor.c"
# the trial's index reaches it through its environment (sleep takes one operand)
python3 -c "
print('version: 1\nname: sleepers\ncommand: [sleep, \"0.1\"]\nenv: {TRIAL_I: \"{{i}}\"}\nparameters:\n  i: {values: [%s]}\nrun: {parallel: 10}' % ','.join(str(i) for i in range($N)))" > "$work/sleep.yaml"
for round in $(seq "$ROUNDS"); do
	x0=$(now); seq "$N" | xargs -P 10 -I{} sleep 0.1; x1=$(now)
	floor=$("$work/spawn_floor" "$N" 10 sleep 0.1)
	t0=$(now)
	"$TRAINCTL" run -q "$work/sleep.yaml" --state-dir "$work/state-$round" > /dev/null
	t1=$(now)
	base=0
	if [ -n "$TRAINCTL_BASE" ]; then
		"$TRAINCTL_BASE" run -q "$work/sleep.yaml" --state-dir "$work/base-$round" > /dev/null
		base=$(echo "$(now) - $t1" | bc)
	fi
	echo "$(echo "$x1 - $x0" | bc) $floor $(echo "$t1 - $t0" | bc) $work/state-$round/journal.db $base" >> "$work/results"
done
python3 - "$work/results" "$N" "$ROUNDS" <<'PY'
import sqlite3, statistics, sys
n, rounds = int(sys.argv[2]), int(sys.argv[3])
minimum = n * 0.1 / 10
over = lambda v: (v / minimum - 1) * 100
xs, fs, ts, bs, conc, peaks, outside = [], [], [], [], [], [], []
for line in open(sys.argv[1]):
    x, f, t, db, b = line.split()
    xs.append(float(x)); fs.append(float(f)); ts.append(float(t)); bs.append(float(b))
    rows = sqlite3.connect(db).execute(
        "select started_at, ended_at from trials where exp='sleepers'").fetchall()
    busy = sum(e - s for s, e in rows)
    span = max(e for s, e in rows) - min(s for s, e in rows)
    ev = sorted([(s, 1) for s, _ in rows] + [(e, -1) for _, e in rows],
                key=lambda p: (p[0], p[1]))  # ends first at ties
    cur = peak = 0
    for _, d in ev:
        cur += d
        peak = max(peak, cur)
    conc.append(busy / span); peaks.append(peak); outside.append(float(t) - span)
x, f, t = statistics.median(xs), statistics.median(fs), statistics.median(ts)
print(f"{n} x sleep 0.1 at parallel 10 (minimum {minimum:.1f} s), median of {rounds} rounds")
print(f"trainctl: {t:.2f} s, {over(t):.2f}% over the minimum (target < 1%); rounds: "
      + ", ".join(f"{v:.2f}" for v in ts))
print(f"xargs -P 10: {x:.2f} s ({over(x):.2f}% over); trainctl/xargs = {t / x:.3f}")
print(f"floor, bare posix_spawn loop: {f:.2f} s ({over(f):.2f}% over); trainctl/floor = {t / f:.3f}"
      f" (per round: " + ", ".join(f"{a / b:.3f}" for a, b in zip(ts, fs)) + ")")
print(f"trainctl outside the trials' span (start-up, planning, the end): {statistics.median(outside):.3f} s")
print(f"concurrency over the sweep: mean {statistics.median(conc):.2f}, peak {max(peaks)} of 10")
if bs[0] > 0:
    b = statistics.median(bs)
    print(f"A/B: base {b:.2f} s ({over(b):.2f}% over); this/base = {t / b:.3f} (per round: "
          + ", ".join(f"{a / c:.3f}" for a, c in zip(ts, bs)) + ")")
PY
