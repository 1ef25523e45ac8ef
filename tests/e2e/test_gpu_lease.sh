#!/usr/bin/env bash
# GPUs are leased machine-wide: two `run`s on one machine (other
# experiments, other state directories, both told `--gpus 2`) never hand
# out the same GPU; a run without a free GPU keeps its trial queued with
# the reason "waiting for a GPU" and starts it when one frees; a trainctl
# killed with -9 leaves its running trial's GPU leased (by the trial's
# supervisor) until that trial ends.  Every trial logs its start and end
# with $CUDA_VISIBLE_DEVICES, and ends when the test writes to its FIFO.
. "$(dirname "$0")/lib.sh"

W=$TC_WORK
mkdir a b go
for id in ga-1 ga-2 gb-1 gb-2 gb-3; do mkfifo "go/$id"; done
cat >trial.sh <<'T'
#!/bin/bash
# trial.sh WORK K: logs its start and end with its GPUs; ends when told
id=$TRAINCTL_EXPERIMENT-$2
echo "start $id $CUDA_VISIBLE_DEVICES" >>"$1/log"
read -r _ <"$1/go/$id"
echo "end $id $CUDA_VISIBLE_DEVICES" >>"$1/log"
T
chmod +x trial.sh
: >log
spec() { # NAME VALUES
	cat <<EOF
version: 1
name: $1
command: ["$W/trial.sh", "$W", "{{k}}"]
parameters:
  k: {values: [$2]}
resources: {cpu: 100m, gpu: 1}
run: {parallel: 2}
EOF
}
spec ga "1, 2" >a/ga.yaml
spec gb "1, 2, 3" >b/gb.yaml
SA=(--state-dir "$W/a/.trainctl")
SB=(--state-dir "$W/b/.trainctl")

started() { grep -q "^start $1 " log; }
gpu_of() { awk -v id="$1" '$1 == "start" && $2 == id { print $3 }' log; }
# release ID: end trial ID (it is running: its FIFO has a reader)
release() { timeout 20 bash -c 'echo go >"$1"' _ "go/$1" || fail "cannot release $1"; }
# reason_is NAME INDEX TEXT STATEARGS...: for wait_for
reason_is() {
	local name=$1 idx=$2 want=$3
	shift 3
	[ "$("$TRAINCTL" status "$name" --format json "$@" 2>/dev/null |
		jget - "[t['reason'] for t in d['trials'] if t['index'] == $idx][0]")" = "$want" ]
}

tc_bg a.out run a/ga.yaml -q --gpus 2 "${SA[@]}"
PA=$BG_PID
wait_for 20 "ga's two trials started" eval 'started ga-1 && started ga-2'
expect_eq "$(printf '%s\n' "$(gpu_of ga-1)" "$(gpu_of ga-2)" | sort | tr '\n' ' ')" \
	"0 1 " "ga's trials hold GPUs 0 and 1"
expect_file "$XDG_RUNTIME_DIR/trainctl/gpus.lock" \
	"the leases are in the user's runtime directory"

# the second run finds both GPUs leased: its first trial waits, and says so
tc_bg b.out run b/gb.yaml -q --gpus 2 "${SB[@]}"
PB=$BG_PID
wait_for 20 "gb's first trial waits for a GPU" reason_is gb 0 "waiting for a GPU" "${SB[@]}"
expect_eq "$(trial_state gb 0 "${SB[@]}")" queued "the waiting trial stays queued"
expect_no_match "$(cat log)" "^start gb-" "no trial of gb started while ga holds both GPUs"

# a GPU freed is taken by the other run
ga1=$(gpu_of ga-1)
release ga-1
wait_for 20 "gb-1 started once ga-1 ended" started gb-1
expect_eq "$(gpu_of gb-1)" "$ga1" "gb-1 got the GPU ga-1 had"

# trainctl of ga killed: ga-2 runs on under its supervisor, its GPU leased
kill -9 "$PA"
wait "$PA" 2>/dev/null
expect_no_match "$(cat log)" "^end ga-2" "ga-2 still runs after kill -9 of its trainctl"
ga2=$(gpu_of ga-2)
release gb-1
wait_for 20 "gb-2 started once gb-1 ended" started gb-2
expect_eq "$(gpu_of gb-2)" "$ga1" "gb-2 got the GPU gb-1 had"
# gb looked at the leases after starting gb-2 and found none free
wait_for 20 "gb's third trial waits for a GPU" reason_is gb 2 "waiting for a GPU" "${SB[@]}"
expect_no_match "$(cat log)" "^start gb-3" \
	"ga-2's GPU stays leased after kill -9 of ga's trainctl"

# ga-2 ends: its supervisor lets the GPU go, and gb takes it
release ga-2
wait_for 20 "gb-3 started once ga-2 ended" started gb-3
expect_eq "$(gpu_of gb-3)" "$ga2" "gb-3 got the GPU ga-2 had"
release gb-2
release gb-3
tc_wait_bg "$PB"
expect_rc 0 "gb finished"
expect_eq "$("$TRAINCTL" status gb --format json "${SB[@]}" |
	jget - "sorted(set(t['state'] for t in d['trials']))")" '["succeeded"]' \
	"every trial of gb succeeded"

# the record of ga-2 (ended with no trainctl watching) is collected
tc_run resume ga -q --gpus 2 "${SA[@]}"
expect_rc 0 "resume ga"
expect_eq "$(trial_state ga 1 "${SA[@]}")" succeeded "ga-2 succeeded"

# a trial adopted on resume keeps its GPU until it ends: with one GPU,
# the resumed run's next trial waits for it
mkdir c
for id in gc-1 gc-2; do mkfifo "go/$id"; done
spec gc "1, 2" >c/gc.yaml
SC=(--state-dir "$W/c/.trainctl")
tc_bg c.out run c/gc.yaml -q --gpus 1 "${SC[@]}"
PC=$BG_PID
wait_for 20 "gc-1 started" started gc-1
wait_for 20 "gc-2 waits for the GPU gc-1 holds" reason_is gc 1 "waiting for a GPU" "${SC[@]}"
kill -9 "$PC"
wait "$PC" 2>/dev/null
expect_eq "$("$TRAINCTL" status gc --format json "${SC[@]}" |
	jget - "[t['reason'] for t in d['trials'] if t['index'] == 1][0]")" None \
	"with its runner gone, gc-2 no longer says it waits for a GPU"
tc_bg c2.out resume gc -q --gpus 1 "${SC[@]}"
PC=$BG_PID
# (its start clears what the killed run said of gc-2, then adopts gc-1)
adopted() {
	python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("select count(*) from events where exp = ? and detail = ?",
               ("gc", "adopted")).fetchone()[0]
sys.exit(0 if n else 1)' c/.trainctl/journal.db
}
wait_for 20 "the resumed run adopted gc-1" adopted
wait_for 20 "gc-2 waits for the adopted trial's GPU" reason_is gc 1 "waiting for a GPU" "${SC[@]}"
expect_no_match "$(cat log)" "^start gc-2" "gc-2 did not start while adopted gc-1 holds GPU 0"
release gc-1
wait_for 20 "gc-2 started once gc-1 ended" started gc-2
expect_eq "$(gpu_of gc-2)" 0 "gc-2 got GPU 0"
release gc-2
tc_wait_bg "$PC"
expect_rc 0 "the resumed gc finished"
expect_eq "$("$TRAINCTL" status gc --format json "${SC[@]}" |
	jget - "[t['reason'] for t in d['trials'] if t['state'] != 'succeeded']")" '[]' \
	"every trial of gc succeeded"

pycheck "at no time did two live trials hold one GPU, or more than 2 run" <<'PY'
live = {}
most = 0
for line in open("log"):
    ev, tid, gpu = line.split()
    if ev == "start":
        check(gpu not in live.values(), "%s started on GPU %s held by %s" %
              (tid, gpu, [t for t, g in live.items() if g == gpu]))
        live[tid] = gpu
        most = max(most, len(live))
    else:
        live.pop(tid, None)
check(most == 2, "at most %d trials ran at once" % most)
check(not live, "never ended: %s" % live)
PY

tc_done
