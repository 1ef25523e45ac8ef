#!/usr/bin/env bash
# test_gpu_mem.sh — the local backend's peak GPU memory per trial, sampled
# from NVML by the supervisor and reported as the metric gpu_mem_mib
# (report --by shows it).  CI machines have no NVIDIA GPU: the test loads
# a stand-in libnvidia-ml.so.1 (tests/fake-nvml) that reports each process
# with TC_FAKE_GPU_MIB=N in its environment as using N MiB.  Without the
# library, nothing is sampled and nothing is reported.
. "$(dirname "$0")/lib.sh"
FAKE=$TC_BUILD_DIR/fake-nvml
if [ ! -e "$FAKE/libnvidia-ml.so.1" ]; then
	fail "no $FAKE/libnvidia-ml.so.1 (built with the tests)"
	tc_done
fi
cat >t.sh <<'EOF2'
echo "step=1 acc=0.5"
exec sleep 2.5
EOF2
cat >g.yaml <<'EOF2'
version: 1
name: gm
command: [bash, t.sh, "{{mib}}"]
env: {TC_FAKE_GPU_MIB: "{{mib}}"}
parameters:
  mib: {values: [300, 500]}
metric: {name: acc, goal: maximize}
run: {parallel: 2}
EOF2
sed 's/name: gm/name: nogpu/' g.yaml >n.yaml

LD_LIBRARY_PATH=$FAKE tc_run run g.yaml
expect_rc 0 "a run where NVML reports the trials' processes"
tc_run report gm --by mib --format json
pycheck "each trial's peak GPU memory, from the samples" "$OUT" <<'PY'
g = {x["mib"]: x for x in loads(sys.argv[1])["groups"]}
check(g[300]["peak_gpu_mem_mib"] == 300.0 and g[500]["peak_gpu_mem_mib"] == 500.0, "%r" % g)
PY
tc_run metrics gm --name gpu_mem_mib --format jsonl
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 2 "one gpu_mem_mib value a trial"

tc_run run n.yaml
expect_rc 0 "a run without the library"
tc_run metrics nogpu --name gpu_mem_mib
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 1 "nothing sampled, nothing reported (the header only)"
tc_done
