#!/usr/bin/env bash
# Scheduler overhead: 2,000 trials of /bin/true at parallel 2, against
# `xargs -P 2` running the same 2,000 commands, in the same run.
. "$(dirname "$0")/common.sh"
N=${N:-2000}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 -c "
print('version: 1\nname: overhead\ncommand: [/bin/true, \"{{i}}\"]\nparameters:\n  i: {values: [%s]}\nrun: {parallel: 2}' % ','.join(str(i) for i in range($N)))" > "$work/true.yaml"
# trainctl creates five files a trial (directory, params.json, status.json,
# stdout.log, stderr.log); on ext4 that was busy deleting (earlier runs)
# file creation dominates, so the run is repeated with the state directory
# on tmpfs (/dev/shm) to separate the scheduler from the file system.
shm=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$work" "$shm"' EXIT
t0=$(now); seq "$N" | xargs -P 2 -n 1 /bin/true; t1=$(now)
"$TRAINCTL" run -q "$work/true.yaml" > /dev/null; t2=$(now)
"$TRAINCTL" run -q "$work/true.yaml" --state-dir "$shm" > /dev/null; t3=$(now)
python3 - "$t0" "$t1" "$t2" "$N" "$t3" <<'PY'
import sys
t0, t1, t2, n, t3 = map(float, sys.argv[1:])
x, t = t1 - t0, t2 - t1
ts = t3 - t2
print(f"trainctl run, state on tmpfs: {ts:.2f} s ({ts / n * 1e6:.0f} us per trial), ratio {ts / x:.2f}")
print(f"xargs -P 2:     {x:.2f} s ({x / n * 1e6:.0f} us per command)")
print(f"trainctl run:   {t:.2f} s ({t / n * 1e6:.0f} us per trial)")
print(f"ratio trainctl/xargs: {t / x:.2f}  (target <= 1.5)")
print(f"trainctl overhead per trial over xargs: {(t - x) / n * 1e6 * 2:.0f} us of slot time "
      f"({(t - x) / n * 1e6:.0f} us wall at parallel 2)")
PY
