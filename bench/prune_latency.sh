#!/usr/bin/env bash
# prune_latency.sh — how long a trial early stopping ends runs on past the
# value that ended it, and what watching for that costs trainctl.  A
# random search of 40 shell trials (10 epochs of EPOCH (0.17) seconds of
# sleep, val_loss = q * 10 / epoch, q uniform in [1, 5]) at parallel 2
# under asha (min_step 1, max_step 10, reduction 3).  Each trial stamps
# the time it writes each line and the time its SIGTERM arrives; the
# latency of a pruned trial is the one minus the other.  trainctl's own
# CPU time (its main process, not the supervisor or the trials) is read
# from /proc when it has exited, before it is reaped.  ROUNDS (3) rounds;
# the medians over every pruned trial and over the rounds are reported.
#
#   [BASE=REV] [ROUNDS=3] [EPOCH=0.17] bench/prune_latency.sh
#
# BASE=REV: each round also runs trainctl as it was at REV (see common.sh).
. "$(dirname "$0")/common.sh"
ROUNDS=${ROUNDS:-3}
EPOCH=${EPOCH:-0.17}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/trial.sh" <<SH
q=\$1 stamps=\$2
trap 'echo "term \$(date +%s.%N)" >>"\$stamps"; exit 143' TERM
for e in 1 2 3 4 5 6 7 8 9 10; do
	echo "epoch=\$e val_loss=\$(awk -v q="\$q" -v e="\$e" 'BEGIN{print q*10/e}')"
	echo "line \$(date +%s.%N)" >>"\$stamps"
	sleep $EPOCH
done
SH

round() { # BIN DIR: one run; prints a JSON line of its figures
	mkdir -p "$2"
	cat >"$2/es.yaml" <<Y
version: 1
name: latency
command: [sh, $work/trial.sh, "{{q}}", "$2/stamps-{{q}}"]
parameters:
  q: {distribution: uniform, min: 1, max: 5}
search: {method: random, trials: 40, seed: 1}
metric: {name: val_loss, goal: minimize}
early_stop: {method: asha, metric: val_loss, min_step: 1, max_step: 10, reduction_factor: 3}
run: {parallel: 2}
Y
	python3 - "$1" "$2" <<'PY'
import glob, json, os, statistics, subprocess, sys, time
bin, d = sys.argv[1], sys.argv[2]
tick = os.sysconf("SC_CLK_TCK")
t0 = time.monotonic()
p = subprocess.Popen([bin, "run", d + "/es.yaml", "--state-dir", d + "/st", "--quiet"],
                     stdout=subprocess.DEVNULL)
os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
f = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
cpu = (int(f[11]) + int(f[12])) / tick  # utime + stime of itself
wall = time.monotonic() - t0
p.wait()
lat = []
for s in glob.glob(d + "/stamps-*"):
    # (a stamp whose `date` the SIGTERM to the group killed has no time)
    ev = [l.split() for l in open(s) if len(l.split()) == 2]
    term = [float(e[1]) for e in ev if e[0] == "term"]
    lines = [float(e[1]) for e in ev if e[0] == "line"]
    if term and lines:
        lat.append(term[0] - max(lines))
lat.sort()
print(json.dumps({"cpu": cpu, "wall": wall, "pruned": len(lat),
                  "lat": statistics.median(lat),
                  "p90": lat[int(0.9 * (len(lat) - 1))], "max": lat[-1]}))
PY
}

bins="trainctl:$TRAINCTL"
[ -n "$TRAINCTL_BASE" ] && bins="$bins base:$TRAINCTL_BASE"
: >"$work/rows.jsonl"
for r in $(seq 1 "$ROUNDS"); do
	for nb in $bins; do
		name=${nb%%:*} bin=${nb#*:}
		printf '{"bin": "%s", "r": %s}\n' "$name" "$(round "$bin" "$work/$name-$r")" >>"$work/rows.jsonl"
	done
done
python3 - "$work/rows.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("%-9s %7s %11s %9s %8s %8s %12s %7s" % ("trainctl", "pruned", "latency_s", "p90_s",
      "max_s", "cpu_s", "cpu_per_wall", "wall_s"))
for name in dict.fromkeys(r["bin"] for r in rows):
    rs = [r["r"] for r in rows if r["bin"] == name]
    med = lambda k: statistics.median(x[k] for x in rs)
    print("%-9s %7d %11.3f %9.3f %8.3f %8.2f %11.1f%% %7.1f" % (
        name, med("pruned"), med("lat"), med("p90"), max(x["max"] for x in rs),
        med("cpu"), 100 * statistics.median(x["cpu"] / x["wall"] for x in rs), med("wall")))
PY
