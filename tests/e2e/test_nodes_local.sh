#!/usr/bin/env bash
# nodes: N on the local backend: a trial is N processes started together,
# each with the variables torchrun sets, one outcome for the group.
# The trial (rank.py) writes its environment, then rendezvous over
# MASTER_PORT (rank 0 listens, the others connect and say who they are):
# a port that is wrong or shared by two groups fails it.
. "$(dirname "$0")/lib.sh"

cat > rank.py <<'PY'
import json, os, signal, socket, sys, time
mode = sys.argv[1]
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
attempt = os.environ["TRAINCTL_ATTEMPT"]
tdir = os.environ["TRAINCTL_TRIAL_DIR"]
keys = ["WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK",
        "MASTER_ADDR", "MASTER_PORT", "TRAINCTL_METRICS_FILE",
        "CUDA_VISIBLE_DEVICES"]
env = {k: os.environ.get(k) for k in keys}
env["pid"] = os.getpid()
env["pgid"] = os.getpgid(0)
with open("%s/env.%d.%s.json" % (tdir, rank, attempt), "w") as f:
    json.dump(env, f)
print("rank %d of %d" % (rank, world), flush=True)

# the rendezvous: rank 0 hears from every other rank
addr = (os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))
if rank == 0:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(addr)
    srv.listen(world)
    srv.settimeout(30)
    got = sorted(int(srv.accept()[0].recv(16)) for _ in range(world - 1))
    assert got == list(range(1, world)), got
    print("peers=%d" % len(got), flush=True)
else:
    deadline = time.time() + 30
    while True:
        try:
            c = socket.create_connection(addr, timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.02)
    c.sendall(str(rank).encode())
    c.close()

# counts how many ranks of any group run at once (packing)
def count(delta):
    import fcntl
    with open(os.path.join(sys.argv[2], "counter"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        lines = f.read().split()
        now = (int(lines[-1].split(":")[0]) if lines else 0) + delta
        f.write("%d:%s\n" % (now, os.environ["TRAINCTL_TRIAL"]))

print("loss=%d" % (10 + rank), flush=True)
if mode == "fail" and rank == 1:
    sys.exit(3)
if mode == "fail" or (mode == "hold" and attempt == "1"):
    # wait to be stopped, or for the release file
    open("%s/held.%d" % (tdir, rank), "w").close()
    while not os.path.exists(os.path.join(sys.argv[2], "release")):
        time.sleep(0.05)
if mode == "flaky" and attempt == "1" and rank == 0:
    sys.exit(1)
if mode == "pack":
    count(+1)
    time.sleep(0.2)  # (a trial's work: the counter sees overlaps)
    count(-1)
PY

spec() { # NAME MODE [EXTRA YAML]
	cat > "$1.yaml" <<EOF
version: 1
name: $1
command: [python3, rank.py, $2, "$TC_WORK"]
nodes: ${NODES:-2}
parameters:
  x: {values: [${VALUES:-1}]}
${3:-}
EOF
}
# gone PID: the process has ended (gone, or a zombie nobody reaped yet)
gone() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ]
}
adopted() {
	sqlite3 .trainctl/journal.db "select detail from events where exp='$1'" | grep -q adopted
}
envf() { # EXP IDX RANK ATTEMPT
	echo ".trainctl/trials/$(trial_ids "$1.yaml" | sed -n "$(($2 + 1))p")/env.$3.$4.json"
}

# ---- every rank with its variables, one group -------------------------------
NODES=3 spec ok ok
tc_run run ok.yaml
expect_rc 0 "nodes: 3 runs locally"
pycheck "3 ranks: distinct RANK/LOCAL_RANK, one WORLD_SIZE and port, one group" \
	"$(envf ok 0 0 1)" "$(envf ok 0 1 1)" "$(envf ok 0 2 1)" <<'PY'
envs = [load(p) for p in sys.argv[1:]]
check([e["RANK"] for e in envs] == ["0", "1", "2"], envs)
check([e["LOCAL_RANK"] for e in envs] == ["0", "1", "2"], envs)
for e in envs:
    check(e["WORLD_SIZE"] == "3" and e["LOCAL_WORLD_SIZE"] == "3", e)
    check(e["GROUP_RANK"] == "0" and e["MASTER_ADDR"] == "127.0.0.1", e)
check(len({e["MASTER_PORT"] for e in envs}) == 1, "one port")
check(1 <= int(envs[0]["MASTER_PORT"]) < 65536, envs[0])
check(len({e["pgid"] for e in envs}) == 1 and envs[0]["pgid"] == envs[0]["pid"],
      "rank 0 leads the group of all")
check(envs[0]["TRAINCTL_METRICS_FILE"].endswith("/metrics.jsonl"), envs[0])
check(envs[1]["TRAINCTL_METRICS_FILE"].endswith("/metrics.rank1.jsonl"), envs[1])
PY
tc_run logs ok 0
expect_contains "$OUT" "rank 0 of 3" "logs: rank 0 by default"
expect_contains "$OUT" "peers=2" "rank 0 heard from both others"
tc_run logs ok 0 --rank 2
expect_rc 0 "logs --rank 2"
expect_contains "$OUT" "rank 2 of 3" "logs --rank 2 shows rank 2's output"
tc_run logs ok 0 --rank 3
expect_rc 2 "logs --rank 3 of 3 ranks"
expect_contains "$ERR" "have 3 ranks (0 to 2)" "an out-of-range rank says the range"

# ---- metrics: rank 0's, or every rank's with ranks: all --------------------
tc_run metrics ok 0
expect_match "$OUT" ",loss,10," "rank 0's loss recorded"
expect_no_match "$OUT" ",loss,1[12],|rank[0-9]\." "other ranks' values ignored"
NODES=3 spec all ok "metrics: {ranks: all}"
tc_run run all.yaml
expect_rc 0 "metrics: {ranks: all} runs"
tc_run metrics all 0
expect_match "$OUT" ",loss,10," "ranks: all keeps the trial's own metric (rank 0's)"
expect_match "$OUT" ",rank0\.loss,10," "ranks: all: rank0.loss"
expect_match "$OUT" ",rank1\.loss,11," "ranks: all: rank1.loss"
expect_match "$OUT" ",rank2\.loss,12," "ranks: all: rank2.loss"

# ---- a failing rank fails the group; the others are stopped ---------------
spec failing fail
tc_run run failing.yaml
expect_rc 1 "a failing rank fails the run"
tc_run status failing --format json
pycheck "the trial failed with rank 1's reason" "$OUT" <<'PY'
t = loads(sys.argv[1])["trials"][0]
check(t["state"] == "failed", t)
check("rank 1: exit code 3" in (t.get("reason") or ""), t)
PY
p0=$(jget "$(envf failing 0 0 1)" 'd["pid"]')
expect_file "$(dirname "$(envf failing 0 0 1)")/held.0" "rank 0 was running when rank 1 failed"
# (reaped by its supervisor before the trial's end was recorded)
if kill -0 "$p0" 2>/dev/null; then
	fail "rank 0 (pid $p0) still runs after rank 1 failed"
else
	pass "rank 0 was stopped when rank 1 failed"
fi

# ---- a timeout stops every rank ------------------------------------------
rm -f release
spec slow hold "run: {timeout: 6s}"
tc_run run slow.yaml --kill-grace 1
expect_rc 1 "a group past its timeout fails the run"
expect_eq "$(trial_state slow 0)" timed_out "the group timed out"
for k in 0 1; do
	expect_file "$(dirname "$(envf slow 0 $k 1)")/held.$k" "rank $k ran until the timeout"
	p=$(jget "$(envf slow 0 $k 1)" 'd["pid"]')
	if kill -0 "$p" 2>/dev/null; then fail "rank $k (pid $p) runs after the timeout"
	else pass "the timeout stopped rank $k"; fi
done

# ---- a retry is a new attempt of the whole group, on a new port ------------
spec flaky flaky "run: {retries: 1, backoff: 0.1s}"
tc_run run flaky.yaml
expect_rc 0 "a group that failed once succeeds on its retry"
pycheck "the retry has every rank again, on another port" \
	"$(envf flaky 0 0 1)" "$(envf flaky 0 1 1)" "$(envf flaky 0 0 2)" "$(envf flaky 0 1 2)" <<'PY'
a0, a1, b0, b1 = [load(p) for p in sys.argv[1:]]
check(a0["MASTER_PORT"] == a1["MASTER_PORT"], (a0, a1))
check(b0["MASTER_PORT"] == b1["MASTER_PORT"], (b0, b1))
check(a0["MASTER_PORT"] != b0["MASTER_PORT"], "retry got port %s again" % a0["MASTER_PORT"])
PY
tc_run logs flaky 0 --rank 1 --attempt 1
expect_contains "$OUT" "rank 1 of 2" "logs --rank 1 --attempt 1: the kept output"

# ---- packing: resources are per rank ---------------------------------------
: > counter
VALUES="1, 2, 3, 4" spec pack pack "resources: {cpu: 1}
run: {parallel: 4}"
tc_run run pack.yaml --cpus 2
expect_rc 0 "4 groups of 2 ranks × 1 CPU on 2 CPUs"
pycheck "never more than one group (2 ranks) at once" "$TC_WORK/counter" <<'PY'
rows = [l.split(":") for l in open(sys.argv[1]).read().split()]
peak = max(int(n) for n, _ in rows)
check(peak == 2, "peak %d ranks at once" % peak)
# while a group runs, no rank of another group starts: each trial's
# lines are one block
first, last = {}, {}
for i, (n, t) in enumerate(rows):
    first.setdefault(t, i)
    last[t] = i
spans = sorted((first[t], last[t]) for t in first)
check(all(a[1] < b[0] for a, b in zip(spans, spans[1:])), "groups overlap: %s" % rows)
check(len(rows) == 16, "%d counter lines" % len(rows))
PY

# ---- GPUs are split between the ranks ---------------------------------------
spec gpus ok "resources: {gpu: 2}"
tc_run run gpus.yaml --gpus 4
expect_rc 0 "2 ranks × 2 GPUs on 4"
pycheck "each rank its own 2 of the group's 4 GPUs" "$(envf gpus 0 0 1)" "$(envf gpus 0 1 1)" <<'PY'
a, b = [load(p)["CUDA_VISIBLE_DEVICES"].split(",") for p in sys.argv[1:]]
check(len(a) == 2 and len(b) == 2, (a, b))
check(sorted(a + b) == ["0", "1", "2", "3"], (a, b))
PY
tc_run plan gpus.yaml
expect_contains "$OUT" "2 ranks a trial, resources per rank" "plan says the ranks"
spec gpuh ok "resources: {gpu: 2}
run: {timeout: 1h}"
tc_run plan gpuh.yaml
expect_contains "$OUT" "at most 4.0 GPU-hours" "GPU-hours count every rank's GPUs (1 trial × 2 ranks × 2 GPUs × 1h)"
spec gpus5 ok "resources: {gpu: 3}"
tc_run run gpus5.yaml --gpus 4
expect_rc 2 "2 ranks × 3 GPUs on 4: never packed"
expect_match "$ERR" "gpus5\.yaml:4:1: nodes: 2 processes" "... at the nodes: key"

# ---- kill -9 of trainctl: the group is adopted whole ------------------------
rm -f release
spec hold hold
tc_bg run1.log run hold.yaml
h0="$(dirname "$(envf hold 0 0 1)")"
wait_for 30 "both ranks running" test -e "$h0/held.1" -a -e "$h0/held.0"
tc_mine "$BG_PID" && kill -9 "$BG_PID"
wait "$BG_PID" 2>/dev/null
tc_bg resume1.log resume hold
wait_for 30 "the trial adopted" adopted hold
touch release
tc_wait_bg "$BG_PID"
expect_eq "$RC" 0 "resume after kill -9 of trainctl finishes the adopted group"
expect_eq "$(trial_state hold 0)" succeeded "the adopted group succeeded"
expect_no_file "$h0/env.0.2.json" "the group was not run again (no attempt 2)"

# ---- kill -9 of trainctl, its supervisor and rank 0: never half a group ----
rm -f release
spec half hold
tc_bg run2.log run half.yaml
g0="$(dirname "$(envf half 0 0 1)")"
wait_for 30 "both ranks running" test -e "$g0/held.1" -a -e "$g0/held.0"
r0=$(jget "$g0/env.0.1.json" 'd["pid"]')
r1=$(jget "$g0/env.1.1.json" 'd["pid"]')
shim=$(awk '{print $4}' "/proc/$r0/stat")
tc_mine "$BG_PID" && kill -9 "$BG_PID"
wait "$BG_PID" 2>/dev/null
kill -9 "$shim" "$r0"
wait_for 10 "rank 0 gone" gone "$r0"
gone "$r1" && fail "rank 1 died with its leader: the case is not tested" ||
	pass "rank 1 survives its group's leader"
tc_bg resume2.log resume half
wait_for 30 "the group rerun" test -e "$g0/env.1.2.json"
# (killed by resume, then reaped by whoever adopted the orphan)
wait_for 10 "rank 1 of the lost attempt (pid $r1) killed by resume" gone "$r1" &&
	pass "resume killed the survivor of a half group"
tc_wait_bg "$BG_PID"
expect_eq "$RC" 0 "resume reran the lost group"
expect_eq "$(trial_state half 0)" succeeded "the rerun group succeeded"
pycheck "attempt 2 is a whole group again" "$g0/env.0.2.json" "$g0/env.1.2.json" <<'PY'
a, b = load(sys.argv[1]), load(sys.argv[2])
check(a["pgid"] == b["pgid"] == a["pid"], (a, b))
PY

# ---- cancel stops every rank -----------------------------------------------
rm -f release
spec cancelled hold
tc_bg run3.log run cancelled.yaml
c0="$(dirname "$(envf cancelled 0 0 1)")"
wait_for 30 "both ranks running" test -e "$c0/held.1" -a -e "$c0/held.0"
tc_run cancel cancelled
expect_rc 0 "cancel a running group"
tc_wait_bg "$BG_PID"
for k in 0 1; do
	p=$(jget "$c0/env.$k.1.json" 'd["pid"]')
	if kill -0 "$p" 2>/dev/null; then fail "rank $k (pid $p) runs after cancel"
	else pass "cancel stopped rank $k"; fi
done
expect_eq "$(trial_state cancelled 0)" cancelled "the group is cancelled"

# ---- bad input -------------------------------------------------------------
NODES=0 spec zero ok
tc_run validate zero.yaml
expect_rc 2 "nodes: 0"
expect_match "$ERR" "zero\.yaml:4:8: nodes must be an integer" "nodes: 0 at its position"
NODES=5000 spec many ok
tc_run validate many.yaml
expect_rc 2 "nodes: 5000 locally"
expect_match "$ERR" "many\.yaml:4:1: nodes: 5000 is more than the 4096" "... at the nodes: key"
ncpu=$(nproc)
NODES=$((ncpu + 1)) spec big ok "resources: {cpu: 1}"
tc_run validate big.yaml
expect_rc 2 "nodes × cpu above the machine's CPUs (validate)"
expect_match "$ERR" "big\.yaml:4:1: nodes: $((ncpu + 1)) processes of 1 CPUs" "... at the nodes: key"
NODES=3 spec big3 ok "resources: {cpu: 1}"
tc_run run big3.yaml --cpus 2
expect_rc 2 "nodes × cpu above --cpus (run)"
expect_match "$ERR" "big3\.yaml:4:1: nodes: 3 processes" "... at the nodes: key"
for v in WORLD_SIZE RANK LOCAL_RANK LOCAL_WORLD_SIZE GROUP_RANK MASTER_ADDR MASTER_PORT; do
	n=env-$(echo "$v" | tr 'A-Z_' 'a-z-')
	spec "$n" ok "env:
  $v: '1'"
	tc_run validate "$n.yaml"
	if [ "$RC" = 2 ] && printf '%s' "$ERR" | grep -q "$n\.yaml:8:[0-9]*: env: $v is set by trainctl"; then
		pass "env: $v refused for nodes: 2"
	else
		fail "env: $v: exit $RC: $ERR"
	fi
done
spec metricsbad ok "metrics: {ranks: some}"
tc_run validate metricsbad.yaml
expect_rc 2 "metrics.ranks: some"
expect_match "$ERR" "metricsbad\.yaml:7:18: unknown metrics.ranks" "... at its value"

tc_done
