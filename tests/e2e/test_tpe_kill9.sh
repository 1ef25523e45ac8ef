#!/usr/bin/env bash
# A tpe search survives kill -9: trainctl is killed again and again while
# trials run (before, at and after the startup trials), each time resumed,
# and the journal ends with exactly search.trials trials, none twice, each
# run once, and the very trials an uninterrupted run with the same seed
# asks (parallel 1: the order of results, hence of questions, is fixed).
# The journal is the search's state: nothing of it lives in the process.
. "$(dirname "$0")/lib.sh"

cat >obj.sh <<'S'
#!/bin/sh
# $4: a file that counts starts; $5: seconds to take
echo "$TRAINCTL_TRIAL" >>"$4"
sleep "$5"
awk -v x="$1" -v y="$2" -v n="$3" 'BEGIN {
	printf "loss=%.9f\n", (x - 0.3) ^ 2 + (y + 0.2) ^ 2 + (n - 6) ^ 2 / 100 }'
S
chmod +x obj.sh

spec() { # STARTS-FILE SECONDS
	cat <<Y
version: 1
name: tk
command: [./obj.sh, "{{x}}", "{{y}}", "{{n}}", "$1", "$2"]
parameters:
  x: {distribution: uniform, min: -2, max: 2}
  y: {distribution: uniform, min: -2, max: 2}
  n: {distribution: int_uniform, min: 1, max: 20}
search: {method: tpe, trials: 16, seed: 21, startup: 4}
metric: {name: loss, goal: minimize}
run: {parallel: 1}
Y
}

# the reference: one run, never interrupted
spec "$TC_WORK/ref.starts" 0 >ref.yaml
tc_run run ref.yaml --state-dir ref
expect_rc 0 "the uninterrupted run"

# the same with each trial taking a moment, killed as results come in
spec "$TC_WORK/k.starts" 0.5 >k.yaml
# trial N has started (so N of them asked): a file read, cheap enough to
# poll while trials run
started() { [ "$(cat k.starts 2>/dev/null | wc -l)" -ge "$1" ]; }
kills=0
for target in 2 4 5 7 10 14; do
	if [ "$kills" -eq 0 ]; then
		tc_bg "run.$target.log" run k.yaml --state-dir k
	else
		tc_bg "run.$target.log" resume tk --state-dir k
	fi
	wait_for 60 "trial $target started" started "$target" || break
	if tc_mine "$BG_PID" && kill -9 "$BG_PID"; then
		wait "$BG_PID" 2>/dev/null
		kills=$((kills + 1))
	else
		wait "$BG_PID"
		echo "     round $target: trainctl ended (exit $?) before the kill:"
		sed 's/^/     | /' "run.$target.log"
	fi
done
expect_eq "$kills" 6 "trainctl killed 6 times mid-search"
tc_run resume tk --state-dir k
expect_rc 0 "the last resume finishes the search"

tc status tk --state-dir ref --format json >ref.json
tc status tk --state-dir k --format json >k.json
pycheck "the killed search asked what the uninterrupted one asked" "$TC_WORK" <<'PY'
ref, k = load("ref.json"), load("k.json")
tr = sorted(ref["trials"], key=lambda t: t["index"])
tk = sorted(k["trials"], key=lambda t: t["index"])
check(len(tk) == 16, "16 trials in the journal, not %d" % len(tk))
check(all(t["state"] == "succeeded" for t in tk), [t["state"] for t in tk])
check(len(set(t["trial"] for t in tk)) == 16 and
      len(set((t["x"], t["y"], t["n"]) for t in tk)) == 16, "none twice")
pts = lambda ts: [(t["trial"], t["x"], t["y"], t["n"]) for t in ts]
check(pts(tk) == pts(tr), "the same trials in the same order as without kills")
starts = open(sys.argv[1] + "/k.starts").read().split()
check(len(starts) == 16 and len(set(starts)) == 16,
      "each trial started once (%d starts)" % len(starts))
PY

tc_done
