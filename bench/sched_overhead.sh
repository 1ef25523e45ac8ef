#!/usr/bin/env bash
# Scheduler overhead: N (2,000) trials of /bin/true at parallel 2, against
# `xargs -P 2` running the same commands in the same round, and against
# the floor of a bare posix_spawn loop (bench/spawn_floor.c).  ROUNDS (5)
# rounds, alternating; the medians are reported.
#
# The state directory is put on three file systems, because what a trial
# costs trainctl beyond its process is mostly four file creations
# (directory, params.json, stdout.log, stderr.log):
#   disk    the project's disk as it is (here ext4 without a journal, where
#           every inode allocation scans past the inodes deleted in the
#           last minutes: its figure depends on what the machine deleted)
#   ext4    a fresh ext4 image with a journal (the default ext4), mounted
#           on a loop device (skipped where that is not allowed)
#   tmpfs   /dev/shm
# BASE=REV: each round also runs trainctl as it was at git revision REV
# (A/B in the same run; see common.sh).
. "$(dirname "$0")/common.sh"
N=${N:-2000}
ROUNDS=${ROUNDS:-5}
work=$(mktemp -d)
shm=$(mktemp -d -p /dev/shm 2>/dev/null || echo "")
img="$work/ext4.img"
mnt="$work/ext4"
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	rm -rf "$work" ${shm:+"$shm"}
}
trap cleanup EXIT
cc -O2 -o "$work/spawn_floor" "$BENCH_ROOT/bench/spawn_floor.c"
python3 -c "
print('version: 1\nname: overhead\ncommand: [/bin/true, \"{{i}}\"]\nparameters:\n  i: {values: [%s]}\nrun: {parallel: 2}' % ','.join(str(i) for i in range($N)))" > "$work/true.yaml"

targets="disk:$work/disk"
mkdir -p "$work/disk" "$mnt"
if truncate -s 4G "$img" && mkfs.ext4 -q -F -N 400000 "$img" 2>/dev/null &&
	mount -o loop "$img" "$mnt" 2>/dev/null; then
	targets="$targets ext4:$mnt"
else
	echo "(no loop mount here: the ext4-with-journal row is skipped)"
fi
[ -n "$shm" ] && targets="$targets tmpfs:$shm"

results="$work/results"
for round in $(seq "$ROUNDS"); do
	for t in $targets; do
		fs=${t%%:*} dir=${t#*:}
		t0=$(now); seq "$N" | xargs -P 2 -n 1 /bin/true; t1=$(now)
		"$TRAINCTL" run -q "$work/true.yaml" --state-dir "$dir/state-$round" > /dev/null
		t2=$(now)
		floor=$("$work/spawn_floor" "$N" 2 /bin/true)
		base=0
		if [ -n "$TRAINCTL_BASE" ]; then
			t3=$(now)
			"$TRAINCTL_BASE" run -q "$work/true.yaml" --state-dir "$dir/base-$round" > /dev/null
			base=$(echo "$(now) - $t3" | bc)
		fi
		echo "$fs $(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $floor $base" >> "$results"
	done
done
python3 - "$results" "$N" "$ROUNDS" <<'PY'
import statistics, sys
rows, n, rounds = {}, int(sys.argv[2]), int(sys.argv[3])
for line in open(sys.argv[1]):
    fs, x, t, f, b = line.split()
    rows.setdefault(fs, []).append((float(x), float(t), float(f), float(b)))
print(f"{n} x /bin/true at parallel 2, median of {rounds} rounds (each: xargs, trainctl, floor)")
print(f"{'state on':<7} {'xargs':>7} {'trainctl':>9} {'floor':>7} {'ratio':>6} {'range':>11}   trainctl over xargs, a trial")
for fs, r in rows.items():
    x = statistics.median(a for a, _, _, _ in r)
    t = statistics.median(b for _, b, _, _ in r)
    f = statistics.median(c for _, _, c, _ in r)
    ratios = sorted(b / a for a, b, _, _ in r)
    ratio = statistics.median(ratios)
    print(f"{fs:<7} {x:6.2f}s {t:8.2f}s {f:6.2f}s {ratio:6.2f} {ratios[0]:5.2f}-{ratios[-1]:<5.2f}"
          f"   {(t - x) / n * 1e6:5.0f} us wall, {(t - x) / n * 2e6:5.0f} us of slot time")
print("target: ratio <= 1.5")
for fs, r in rows.items():
    if r[0][3] > 0:
        ab = sorted(b / d for _, b, _, d in r)
        print(f"A/B {fs:<7} base {statistics.median(d for *_, d in r):6.2f}s, this/base "
              f"{statistics.median(ab):.3f} (range {ab[0]:.3f}-{ab[-1]:.3f})")
PY
