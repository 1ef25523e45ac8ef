#!/usr/bin/env bash
# test_report_by.sh — `report NAME --by PARAM,...`: the compute table by
# group (trials and how they ended, epochs as the largest step, wall, CPU
# and GPU hours, peak RSS, peak GPU memory from the gpu_mem_mib metric)
# and what the search cost, against the per-trial report and values
# worked out by hand.
. "$(dirname "$0")/lib.sh"

# model a: 3 epochs, b: 5; dataset x peaks at 150 MiB of GPU memory (in
# the middle), y at 200; b on y fails after its epochs
cat >train.sh <<'EOF'
model=$1 data=$2
n=3 m=1; [ "$model" = b ] && n=5 m=2
for e in $(seq "$n"); do
	mem=100; [ "$data" = x ] && [ "$e" = 2 ] && mem=150
	[ "$data" = y ] && mem=200
	echo "epoch=$e gpu_mem_mib=$mem acc=0.$m$e"
done
[ "$model/$data" = b/y ] && exit 4
exit 0
EOF
cat >c.yaml <<'EOF'
version: 1
name: cost
command: [bash, train.sh, "{{model}}", "{{dataset}}"]
parameters:
  model: {values: [a, b]}
  dataset: {values: [x, y]}
metric: {name: acc, goal: maximize}
resources: {gpu: 1}
run: {max_failures: 0, parallel: 2}
EOF
tc_run run c.yaml --gpus 2
expect_rc 1 "the sweep (one trial fails)"

tc_run report cost --by model --format json
expect_rc 0 "report --by --format json"
tc report cost --format json >per_trial.json
tc status cost --format json >status.json
pycheck "the groups, against the per-trial report and by hand" "$OUT" per_trial.json status.json <<'PY'
d = loads(sys.argv[1])
per = load(sys.argv[2])
st = load(sys.argv[3])
check(d["by"] == ["model"], "by %r" % d["by"])
g = {x["model"]: x for x in d["groups"]}
check(sorted(g) == ["a", "b"], "groups %r" % sorted(g))
check(g["a"]["trials"] == 2 and g["a"]["succeeded"] == 2 and g["a"]["failed"] == 0, "a %r" % g["a"])
check(g["b"]["trials"] == 2 and g["b"]["succeeded"] == 1 and g["b"]["failed"] == 1, "b %r" % g["b"])
check(g["a"]["epochs"] == 3 and g["b"]["epochs"] == 5, "epochs: the largest step %r" % [g["a"]["epochs"], g["b"]["epochs"]])
check(g["a"]["peak_gpu_mem_mib"] == 200 and g["b"]["peak_gpu_mem_mib"] == 200, "peak GPU memory %r" % g)
model = {t["trial"]: t["model"] for t in st["trials"]}
for m in "ab":
    rows = [r for r in per["trials"] if model[r["trial"]] == m]
    wall = sum(r["wall_seconds"] for r in rows) / 3600
    cpu = sum(r["cpu_seconds"] for r in rows) / 3600
    check(abs(g[m]["wall_hours"] - wall) < 1e-9, "%s: wall %r vs %r" % (m, g[m]["wall_hours"], wall))
    check(abs(g[m]["gpu_hours"] - wall) < 1e-9, "%s: one GPU: GPU-hours = wall-hours %r" % (m, g[m]["gpu_hours"]))
    check(abs(g[m]["cpu_hours"] - cpu) < 1e-9, "%s: cpu %r vs %r" % (m, g[m]["cpu_hours"], cpu))
    check(g[m]["peak_rss_mib"] == max(r["peak_rss_kb"] for r in rows) / 1024, "%s: peak RSS" % m)
    check(g[m]["pending_hours"] == 0, "%s: a local trial does not wait: %r" % (m, g[m]["pending_hours"]))
c = d["search_cost"]
failed = [r for r in per["trials"] if r["state"] == "failed"]
check(len(failed) == 1 and abs(c["failed_gpu_hours"] - failed[0]["wall_seconds"] / 3600) < 1e-9,
      "GPU-hours on failed trials %r" % c)
best = max((t for t in st["trials"] if t["state"] == "succeeded"), key=lambda t: t["acc"])
check(c["best_trial"] == best["trial"], "best %r, want %r" % (c["best_trial"], best["trial"]))
check(0 < c["until_best_gpu_hours"] <= sum(r["wall_seconds"] for r in per["trials"]) / 3600 + 1e-9,
      "until the best: %r" % c["until_best_gpu_hours"])
PY
# (the GPU memory sample in the middle of dataset x's runs is its peak)
tc_run report cost --by dataset --format json
pycheck "a peak in the middle of a history counts" "$OUT" <<'PY'
g = {x["dataset"]: x for x in loads(sys.argv[1])["groups"]}
check(g["x"]["peak_gpu_mem_mib"] == 150 and g["y"]["peak_gpu_mem_mib"] == 200, "%r" % g)
PY

tc_run report cost --by model,dataset
expect_rc 0 "report --by two parameters"
expect_eq "$(printf '%s\n' "$OUT" | sed -n 1p | tr -s ' ')" \
	"model dataset trials succeeded failed cancelled epochs wall_hours cpu_hours gpu_hours pending_hours peak_rss_mib peak_gpu_mem_mib" \
	"the table's columns"
expect_eq "$(printf '%s\n' "$OUT" | grep -c '^[ab] ')" 4 "one row a combination"
expect_match "$OUT" "^search cost: .* on failed trials; .* until the best trial \([0-9a-f]{12}\) finished" \
	"what the search cost, under the table"
tc_run report cost --by model --format csv
expect_eq "$(printf '%s\n' "$OUT" | sed -n 1p)" \
	"model,trials,succeeded,failed,cancelled,epochs,wall_hours,cpu_hours,gpu_hours,pending_hours,peak_rss_mib,peak_gpu_mem_mib" \
	"CSV"

tc_run report cost --by model --html r.html
expect_rc 2 "--by with --html is refused (not silently ignored)"
expect_no_file r.html "and nothing is written"

tc_run report cost --by gpu
expect_rc 2 "--by a name that is not a parameter"
expect_contains "$ERR" "its parameters: model, dataset" "the message lists them"
tc_done
