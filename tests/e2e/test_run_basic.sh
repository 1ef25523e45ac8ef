#!/usr/bin/env bash
# run a real grid sweep and read it back: metrics from stdout, the metrics
# file and a spec regex (final = last value); results/best/report/status/ls
# in every format; ranking with nan/inf/missing metrics; the trial's
# environment, files and working directory; exit codes.
. "$(dirname "$0")/lib.sh"

mkdir spec elsewhere
cat >spec/trial.py <<'EOF'
import json, os, sys
lr, mode = sys.argv[1], sys.argv[2]
d = os.environ["TRAINCTL_TRIAL_DIR"]
with open(os.path.join(d, "env.json"), "w") as f:
    json.dump({"env": dict(os.environ), "cwd": os.getcwd(), "argv": sys.argv[1:]}, f)
b = mode == "b"
acc = float(lr) + (0.05 if b else 0.0)
loss = {"0.1": 0.5, "0.2": 0.2, "0.3": 0.7}[lr] + (0.01 if b else 0.0)
test_acc = {"0.1": 0.9, "0.2": 0.8, "0.3": 0.85}[lr] + (0.001 if b else 0.0)
f1 = {"0.1": 0.3, "0.2": 0.6, "0.3": 0.1}[lr] + (0.002 if b else 0.0)
val = {"0.1": 3.0, "0.2": 1.0, "0.3": 2.0}[lr] + (0.5 if b else 0.0)
# earlier values better than the final ones: the final value is the last
print("epoch=1 loss=0.001 acc=0.99", flush=True)
print("epoch=2 loss=%r acc=%r" % (loss + 1, acc / 2), flush=True)
print("epoch=3 loss=%r acc=%r" % (loss, acc), flush=True)
with open(os.environ["TRAINCTL_METRICS_FILE"], "a") as f:
    f.write(json.dumps({"step": 1, "f1": 0.99}) + "\n")
    f.write(json.dumps({"step": 3, "f1": f1}) + "\n")
print("test acc,0.99")
print("val-score: 0.0001")
print("test acc,%r" % test_acc)
print("val-score: %r" % val)
print("a line for stderr", file=sys.stderr)
with open(os.path.join(d, "expected.json"), "w") as f:
    json.dump({"acc": acc, "loss": loss, "test_acc": test_acc, "f1": f1, "val": val}, f)
EOF
cat >spec/exp.yaml <<'EOF'
version: 1
name: basic
command: [python3, trial.py, "{{lr}}", "{{mode}}"]
env: {MY_LR: "lr={{lr}}", MKL_NUM_THREADS: "7"}
parameters:
  lr:   {values: [0.1, 0.3, 0.2]}
  mode: {values: [a, b]}
metric: {name: test_acc, goal: maximize, regex: "test acc,(?<test_acc>[0-9.]+)"}
resources: {cpu: 2}
run: {parallel: 2}
EOF
S=elsewhere/.trainctl

# run from another directory: the state goes where trainctl was run (as
# git finds .git, later verbs find it there), the trials run in the
# spec's directory
(cd elsewhere && tc_run run ../spec/exp.yaml && printf '%s' "$RC" >../rc)
expect_eq "$(cat rc)" 0 "run: all trials succeeded, exit 0"
expect_no_file spec/.trainctl "no state directory next to the spec"
expect_eq "$(find $S/trials -mindepth 1 -maxdepth 1 -type d | wc -l)" 6 "6 trial directories"

# ---- per-trial files and environment ------------------------------------
pycheck "trial directories: params.json, logs, metrics file, environment, cwd" "$S" "$TC_WORK/spec" <<'PY'
state, specdir = sys.argv[1], sys.argv[2]
tdirs = sorted(os.listdir(os.path.join(state, "trials")))
check(len(tdirs) == 6, "6 trials")
for tid in tdirs:
    d = os.path.realpath(os.path.join(state, "trials", tid))
    for f in ("params.json", "stdout.log", "stderr.log", "metrics.jsonl"):
        check(os.path.isfile(os.path.join(d, f)), "%s/%s missing" % (tid, f))
    params = load(os.path.join(d, "params.json"))
    check(set(params) == {"lr", "mode"}, "%s params.json keys %r" % (tid, params))
    info = load(os.path.join(d, "env.json"))
    env = info["env"]
    check(info["cwd"] == specdir, "%s cwd %r, want the spec's directory" % (tid, info["cwd"]))
    check(info["argv"] == [repr(params["lr"]), params["mode"]], "%s argv %r" % (tid, info["argv"]))
    check(env.get("TRAINCTL_EXPERIMENT") == "basic", "TRAINCTL_EXPERIMENT %r" % env.get("TRAINCTL_EXPERIMENT"))
    check(env.get("TRAINCTL_TRIAL") == tid, "TRAINCTL_TRIAL %r != %s" % (env.get("TRAINCTL_TRIAL"), tid))
    check(os.path.realpath(env.get("TRAINCTL_TRIAL_DIR", "")) == d, "TRAINCTL_TRIAL_DIR %r" % env.get("TRAINCTL_TRIAL_DIR"))
    check(json.loads(env.get("TRAINCTL_PARAMS", "null")) == params, "TRAINCTL_PARAMS %r" % env.get("TRAINCTL_PARAMS"))
    check(os.path.realpath(os.path.dirname(env.get("TRAINCTL_METRICS_FILE", "/"))) == d,
          "TRAINCTL_METRICS_FILE %r is in the trial directory" % env.get("TRAINCTL_METRICS_FILE"))
    check(env.get("MY_LR") == "lr=%r" % params["lr"], "env template MY_LR %r" % env.get("MY_LR"))
    check(env.get("OMP_NUM_THREADS") == "2", "OMP_NUM_THREADS %r, want the cpu request 2" % env.get("OMP_NUM_THREADS"))
    check(env.get("OPENBLAS_NUM_THREADS") == "2", "OPENBLAS_NUM_THREADS %r" % env.get("OPENBLAS_NUM_THREADS"))
    check(env.get("MKL_NUM_THREADS") == "7", "MKL_NUM_THREADS %r: the spec's env wins" % env.get("MKL_NUM_THREADS"))
    check(env.get("PYTHONUNBUFFERED") == "1", "PYTHONUNBUFFERED %r, want 1" % env.get("PYTHONUNBUFFERED"))
    out = open(os.path.join(d, "stdout.log")).read()
    check(out.startswith("epoch=1 loss=0.001 acc=0.99\n"), "%s stdout.log starts with the first line" % tid)
    check("val-score" in out, "%s stdout.log complete" % tid)
    check(open(os.path.join(d, "stderr.log")).read() == "a line for stderr\n", "%s stderr.log" % tid)
PY

# ---- results ------------------------------------------------------------
tc_run results basic --format json --state-dir $S
expect_rc 0 "results --format json"
printf '%s\n' "$OUT" >results.json
pycheck "results json: final (last) values from all three sources, best first" results.json "$S" <<'PY'
r, state = load(sys.argv[1]), sys.argv[2]
check(r["experiment"] == "basic", "experiment")
check(r["metric"] == {"name": "test_acc", "goal": "maximize"}, "metric %r" % r.get("metric"))
ts = r["trials"]
check(len(ts) == 6, "6 rows")
exp = {}
for t in ts:
    e = load(os.path.join(state, "trials", t["trial"], "expected.json"))
    exp[t["trial"]] = e
    check(t["state"] == "succeeded", "state")
    check(t["attempts"] == 1, "attempts")
    for k in ("lr", "mode"):
        check(k in t, "parameter key %s" % k)
    for m in ("acc", "loss", "test_acc", "f1"):
        check(isinstance(t.get(m), float) and abs(t[m] - e[m]) < 1e-9,
              "%s %s = %r, want the last reported %r" % (t["trial"], m, t.get(m), e[m]))
order = [t["trial"] for t in ts]
want = sorted(exp, key=lambda i: -exp[i]["test_acc"])
check(order == want, "ranked by test_acc descending: %r != %r" % (order, want))
check(r["provenance"]["spec_sha256"] and r["provenance"]["trainctl_version"], "provenance")
PY

# orders for the other metrics, from what the trials reported
best_by() { # best_by METRIC max|min [N]: the ids, best first
	python3 - "$S" "$1" "$2" "${3:-6}" <<'PY'
import json, os, sys
state, m, goal, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ex = {t: json.load(open(os.path.join(state, "trials", t, "expected.json")))
      for t in os.listdir(os.path.join(state, "trials"))}
ids = sorted(ex, key=lambda t: ex[t][m] * (-1 if goal == "max" else 1))
print(" ".join(ids[:n]))
PY
}
ids_of() { jget - '" ".join(t["trial"] for t in d["trials"])'; }

expect_eq "$(tc results basic --sort acc --goal maximize --format json --state-dir $S | ids_of)" \
	"$(best_by acc max)" "results --sort acc --goal maximize"
expect_eq "$(tc results basic --sort loss --goal minimize --format json --state-dir $S | ids_of)" \
	"$(best_by loss min)" "results --sort loss --goal minimize"
expect_eq "$(tc results basic --sort f1 --goal minimize --format json --state-dir $S | ids_of)" \
	"$(best_by f1 min)" "results --sort f1 (from the metrics file) --goal minimize"
expect_eq "$(tc results basic --top 2 --format json --state-dir $S | ids_of)" \
	"$(best_by test_acc max 2)" "results --top 2: the two best"
expect_eq "$(tc results basic --sort loss --goal minimize --top 2 --format json --state-dir $S | ids_of)" \
	"$(best_by loss min 2)" "results --sort loss --goal minimize --top 2"

tc_run results basic --format csv --state-dir $S
printf '%s\n' "$OUT" >results.csv
pycheck "results csv: header, one column per parameter and metric, rows best first" results.csv "$(best_by test_acc max)" <<'PY'
import csv
rows = list(csv.reader(open(sys.argv[1])))
h = rows[0]
check(h[:4] == ["trial", "state", "lr", "mode"], "header starts %r" % h[:4])
for m in ("test_acc", "acc", "loss", "f1"):
    check(h.count(m) == 1, "one column %s in %r" % (m, h))
check(len(h) == len(set(h)), "no duplicate column in %r" % h)
check(len(rows) == 7, "6 data rows, got %d" % (len(rows) - 1))
check([r[0] for r in rows[1:]] == sys.argv[2].split(), "csv order")
PY

tc_run results basic --format markdown --top 2 --state-dir $S
expect_match "$OUT" '^\| trial \| state \| lr \| mode \| test_acc \|' "markdown header"
expect_match "$OUT" '^\|(-+:?\|)+$' "markdown separator row"
expect_eq "$(printf '%s\n' "$OUT" | grep -c '^| [0-9a-f]\{12\} |')" 2 "markdown --top 2: two rows"

tc_run results basic --state-dir $S
expect_match "$OUT" "^$(best_by test_acc max 1) +succeeded +0\\.1 +b +0\\.901 " "results table: best row first, with its values"

# ---- best ---------------------------------------------------------------
tc_run best basic --state-dir $S
expect_rc 0 "best"
expect_match "$OUT" "best trial of basic by test_acc \\(maximize\\): $(best_by test_acc max 1)\$" "best names the best trial"
tc_run best basic --format json --state-dir $S
printf '%s\n' "$OUT" >best.json
pycheck "best --format json" best.json "$(best_by test_acc max 1)" <<'PY'
b = load(sys.argv[1])
check(b["trial"] == sys.argv[2], "trial %r" % b["trial"])
check(b["metric"] == "test_acc" and b["goal"] == "maximize", "metric and goal")
check(abs(b["value"] - 0.901) < 1e-9, "value %r" % b["value"])
check(b["params"] == {"lr": 0.1, "mode": "b"}, "params %r" % b["params"])
check(b["command"][:2] == ["python3", "trial.py"] and b["command"][3] == "b", "command %r" % b["command"])
check(b["trial_dir"].endswith("/trials/" + sys.argv[2]), "trial_dir")
PY
tc_run best basic --sort loss --goal minimize --format json --state-dir $S
expect_eq "$(printf '%s' "$OUT" | jget - 'd["trial"]')" "$(best_by loss min 1)" "best --sort loss --goal minimize"

# ---- re-rank from the logs on a metric nobody declared -------------------
tc_run results basic --metric val --regex 'val-score: (?<val>[0-9.]+)' --goal minimize --format json --state-dir $S
expect_rc 0 "results --metric val --regex"
printf '%s\n' "$OUT" >rerank.json
expect_eq "$(ids_of <rerank.json)" "$(best_by val min)" "results --metric val --regex: ranked by the last val-score"
pycheck "re-ranked results keep the values of every metric" rerank.json "$S" <<'PY'
r, state = load(sys.argv[1]), sys.argv[2]
for t in r["trials"]:
    e = load(os.path.join(state, "trials", t["trial"], "expected.json"))
    check(t.get("val") == e["val"], "%s val %r want %r" % (t["trial"], t.get("val"), e["val"]))
    for m in ("acc", "loss", "f1", "test_acc"):
        check(t.get(m) is not None and abs(t[m] - e[m]) < 1e-9,
              "%s %s = %r after re-ranking, want %r" % (t["trial"], m, t.get(m), e[m]))
PY
tc_run best basic --metric val --regex 'val-score: (?<val>[0-9.]+)' --goal minimize --format json --state-dir $S
expect_eq "$(printf '%s' "$OUT" | jget - 'd["trial"]')" "$(best_by val min 1)" "best --metric val --regex"
expect_eq "$(tc results basic --format json --state-dir $S | ids_of)" "$(best_by test_acc max)" \
	"re-ranking changed nothing stored: results rank by test_acc again"

# ---- status, report, ls -------------------------------------------------
tc_run status basic --format json --state-dir $S
printf '%s\n' "$OUT" >status.json
pycheck "status --format json counts" status.json <<'PY'
s = load(sys.argv[1])
check(s["experiment"] == "basic" and s["total"] == 6, "name, total")
check(s["counts"]["succeeded"] == 6, "6 succeeded: %r" % s["counts"])
check(sum(v for k, v in s["counts"].items() if k != "succeeded") == 0, "nothing else: %r" % s["counts"])
check(sorted(t["index"] for t in s["trials"]) == list(range(6)), "6 trials by index")
check(all(t["state"] == "succeeded" and "lr" in t and "mode" in t for t in s["trials"]), "trial rows")
PY

tc_run report basic --state-dir $S
expect_rc 0 "report"
for id in $(trial_ids spec/exp.yaml); do
	expect_match "$OUT" "^$id +succeeded +1 " "report lists trial $id"
done
expect_match "$OUT" "^total +6 trials" "report total row"
expect_match "$OUT" "^trial +state +attempts +wall +pending +cpu " "report columns: pending after wall"
tc_run report basic --format json --state-dir $S
printf '%s\n' "$OUT" >report.json
pycheck "report --format json: per trial and totals" report.json <<'PY'
r = load(sys.argv[1])
ts, tot = r["trials"], r["total"]
check(len(ts) == 6 and tot["trials"] == 6, "6 trials")
for t in ts:
    check(t["wall_seconds"] > 0 and t["cpu_seconds"] > 0, "%s measured wall and CPU time" % t["trial"])
    check(abs(t["cpu_seconds"] - t["user_seconds"] - t["system_seconds"]) < 1e-6, "cpu = user + system")
    check(t["peak_rss_kb"] > 1000, "%s peak RSS of python3 %r kB" % (t["trial"], t["peak_rss_kb"]))
    check(t["gpus"] == 0 and t["gpu_hours"] == 0, "no GPUs")
    check(t["pending_seconds"] == 0, "a local trial's process starts at once: pending %r" % t["pending_seconds"])
check(abs(tot["wall_seconds"] - sum(t["wall_seconds"] for t in ts)) < 1e-6, "total wall = sum")
check(tot["pending_seconds"] == 0, "no pending time in total")
check(abs(tot["cpu_seconds"] - sum(t["cpu_seconds"] for t in ts)) < 1e-6, "total cpu = sum")
check(abs(tot["cpu_hours"] - tot["cpu_seconds"] / 3600) < 1e-9, "cpu_hours")
check(tot["peak_rss_kb"] == max(t["peak_rss_kb"] for t in ts), "peak = max")
check(r["provenance"]["spec_sha256"], "provenance")
PY

tc_run ls --format json --state-dir $S
expect_eq "$(printf '%s' "$OUT" | jget - '[(e["name"], e["trials"], e["succeeded"], e["failed"]) for e in d]')" \
	'[["basic", 6, 6, 0]]' "ls --format json"
tc_run ls --state-dir $S
expect_match "$OUT" "^basic +finished +6 " "ls table"
tc_run status --state-dir $S
expect_match "$OUT" "^basic +finished +6 " "status without a name lists the experiments"

# ---- nan, inf, a missing metric, a failure: ranking and exit code --------
cat >edge.yaml <<'EOF'
version: 1
name: edge
command: [sh, -c, 'case "$0" in
  good) echo acc=0.5;;
  nan) echo acc=0.99; echo acc=nan;;
  inf) echo acc=inf;;
  nometric) echo hello;;
  fail) echo acc=0.97; exit 3;;
  late) echo acc=0.1; echo acc=0.7;;
  esac', "{{v}}"]
parameters:
  v: {values: [good, nan, inf, nometric, fail, late]}
metric: {name: acc, goal: maximize}
run: {parallel: 2}
EOF
tc_run run edge.yaml -q
expect_rc 1 "run with a failing trial: exit 1"
idx_id() { trial_ids edge.yaml | sed -n "$(($1 + 1))p"; }
tc_run status edge --format json
printf '%s\n' "$OUT" >edge-status.json
expect_eq "$(jget edge-status.json '(d["counts"]["succeeded"], d["counts"]["failed"])')" "(5, 1)" "edge: 5 succeeded, 1 failed"
tc_run best edge --format json
expect_eq "$(printf '%s' "$OUT" | jget - '(d["trial"], d["value"])')" "('$(idx_id 5)', 0.7)" \
	"best: not nan, not inf, not the failed trial, the last value of 'late'"
tc_run best edge --goal minimize --format json
expect_eq "$(printf '%s' "$OUT" | jget - 'd["trial"]')" "$(idx_id 0)" "best --goal minimize: 0.5, never nan"
tc_run results edge --format json
printf '%s\n' "$OUT" >edge.json
pycheck "edge results: nan and inf kept as such, the missing metric ranks last" edge.json <<'PY'
ts = {t["v"]: t for t in load(sys.argv[1])["trials"]}
check(ts["nan"]["acc"] == "nan", "nan recorded as nan: %r" % ts["nan"]["acc"])
check(ts["inf"]["acc"] == "inf", "inf recorded as inf: %r" % ts["inf"]["acc"])
check(ts["nometric"]["acc"] is None, "no acc: %r" % ts["nometric"]["acc"])
check(ts["fail"]["state"] == "failed" and ts["fail"]["reason"] == "exit code 3", "failed: %r" % ts["fail"]["reason"])
order = [t["v"] for t in load(sys.argv[1])["trials"]]
check(order[-1] == "nometric", "the trial without acc ranks last: %r" % order)
check(order.index("late") < order.index("good") < order.index("nan"), "0.7 > 0.5 > nan: %r" % order)
check(order.index("good") < order.index("inf"), "inf never above a number: %r" % order)
PY
tc_run results edge
expect_match "$OUT" "^1 trial did not report acc \\(ranked last\\)" "results table says which trials lack the metric"
expect_match "$(printf '%s\n' "$OUT" | grep -E '^[0-9a-f]{12} ' | tail -1)" "^$(idx_id 3) +succeeded +nometric +- *\$" \
	"the last table row is the trial without the metric, shown as -"

# ---- metric names that collide with parameters or fixed columns ----------
# Training logs often print their own lr or seed ("epoch=3 lr=0.05 seed=42");
# those metrics must not overwrite the parameter, the trial's state or seed
# in machine-readable output, and no column may appear twice.
cat >collide.yaml <<'EOF'
version: 1
name: collide
command: [sh, -c, 'echo "epoch=1 lr=0.05 seed=42 state=7 index=9 trial=3 acc=$0"', "{{lr}}"]
parameters:
  lr: {values: [1, 2]}
metric: {name: acc, goal: maximize}
EOF
tc_run run collide.yaml -q
expect_rc 0 "collide: run"
pycheck "metrics named lr/seed/state/index/trial overwrite nothing in results, status, csv" <<'PY'
import csv, io
rc, out, err = run("plan", "collide.yaml", "--format", "json")
plan = {t["trial"]: t for t in loads(out)}
for verb in ("results", "status"):
    rc, out, err = run(verb, "collide", "--format", "json")
    for t in loads(out)["trials"]:
        p = plan.get(t["trial"])
        check(p is not None, "%s json: trial %r is a planned id" % (verb, t["trial"]))
        if p is None:
            continue
        check(t["state"] == "succeeded", "%s json: state %r" % (verb, t["state"]))
        check(t["index"] == p["index"], "%s json: index %r, want %r" % (verb, t["index"], p["index"]))
        check(t["lr"] == p["lr"], "%s json: parameter lr %r, want %r" % (verb, t["lr"], p["lr"]))
        if "trial_seed" in t:
            check(t["trial_seed"] == p["trial_seed"], "%s json: trial_seed %r, want %r" % (verb, t["trial_seed"], p["trial_seed"]))
        check(t.get("metric.lr") == 0.05, "%s json: the metric lr is metric.lr: %r" % (verb, t.get("metric.lr")))
        check(t.get("metric.state") == 7, "%s json: the metric state is metric.state" % verb)
        check(t.get("acc") == float(p["lr"]), "%s json: acc %r" % (verb, t.get("acc")))
    rc, out, err = run(verb, "collide", "--format", "csv")
    head = next(csv.reader(io.StringIO(out)))
    dup = sorted(set(h for h in head if head.count(h) > 1))
    check(not dup, "%s csv: duplicate columns %r in %r" % (verb, dup, head))
PY

# ---- cpu: 500m gives OMP_NUM_THREADS=1 ----------------------------------
cat >milli.yaml <<'EOF'
version: 1
name: milli
command: [sh, -c, 'echo "omp=$OMP_NUM_THREADS blas=$OPENBLAS_NUM_THREADS mkl=$MKL_NUM_THREADS"']
resources: {cpu: 500m}
EOF
tc_run run milli.yaml -q
expect_rc 0 "cpu: 500m run"
tc_run logs milli 0
expect_eq "$OUT" "omp=1 blas=1 mkl=1" "cpu: 500m: OMP/OPENBLAS/MKL_NUM_THREADS=1"
sed 's/^resources:.*/resources: {cpu: 500m}\nenv: {OMP_NUM_THREADS: "3"}/; s/name: milli/name: milli-env/' milli.yaml >milli-env.yaml
tc run milli-env.yaml -q >/dev/null
expect_eq "$(tc logs milli-env 0)" "omp=3 blas=1 mkl=1" "the spec's env sets OMP_NUM_THREADS, the others follow cpu"

# ---- PYTHONUNBUFFERED=1 unless the spec's env sets it --------------------
cat >unbuf.yaml <<'EOF'
version: 1
name: unbuf
command: [python3, -c, 'import os; print("unbuffered=" + os.environ.get("PYTHONUNBUFFERED", "-"))']
EOF
tc run unbuf.yaml -q >/dev/null
expect_eq "$(tc logs unbuf 0)" "unbuffered=1" "a Python trial gets PYTHONUNBUFFERED=1"
sed 's/^name: unbuf/name: unbuf-env\nenv: {PYTHONUNBUFFERED: "0"}/' unbuf.yaml >unbuf-env.yaml
tc run unbuf-env.yaml -q >/dev/null
expect_eq "$(tc logs unbuf-env 0)" "unbuffered=0" "the spec's env sets PYTHONUNBUFFERED"

# ---- GPUs: handed out through CUDA_VISIBLE_DEVICES, GPU-hours ------------
cat >gpu.yaml <<'EOF'
version: 1
name: gpu
command: [python3, -c, 'import os, time; print("dev=" + os.environ.get("CUDA_VISIBLE_DEVICES", "-")); time.sleep(0.2)', "{{v}}"]
parameters:
  v: {values: [1, 2, 3, 4]}
resources: {cpu: 500m, gpu: 1}
run: {parallel: 4}
EOF
tc_run run gpu.yaml -q
expect_rc 2 "gpu: 1 on a machine without GPUs: refused with exit 2"
expect_match "$ERR" "0 GPUs" "the refusal says the machine has no GPU"
tc_run ls --format json
expect_eq "$(printf '%s' "$OUT" | jget - '[e["name"] for e in d if e["name"] == "gpu"]')" "[]" \
	"a refused run leaves no experiment behind"
tc_run run gpu.yaml -q --gpus 2
if [ "$RC" = 2 ] && printf '%s' "$ERR" | grep -q "already exists"; then
	tc_run resume gpu -q --gpus 2
fi
expect_rc 0 "gpu run with --gpus 2"
pycheck "each trial got one of the 2 GPUs; GPU-hours = GPUs x wall time" <<'PY'
rc, out, err = run("report", "gpu", "--format", "json")
r = loads(out)
for t in r["trials"]:
    rc, log, _ = run("logs", "gpu", t["trial"])
    check(log.strip() in ("dev=0", "dev=1"), "%s CUDA_VISIBLE_DEVICES %r" % (t["trial"], log))
    check(t["gpus"] == 1, "gpus %r" % t["gpus"])
    check(abs(t["gpu_hours"] - t["wall_seconds"] / 3600) < 1e-9, "gpu_hours %r" % t["gpu_hours"])
check(abs(r["total"]["gpu_hours"] - sum(t["gpu_hours"] for t in r["trials"])) < 1e-9, "total gpu_hours")
PY

tc_done
