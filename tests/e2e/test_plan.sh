#!/usr/bin/env bash
# plan: grid counts with exclude/include/trials cap, the order of the
# cartesian product, stable ids, the csv/json columns, random search
# determinism and ranges, and --render.
. "$(dirname "$0")/lib.sh"

# grid.yaml from a search section on stdin
grid() { # grid FILE NAME
	{
		cat <<EOF
version: 1
name: $2
command: [train, --lr, "{{lr}}", --bs, "{{batch_size}}", --opt, "{{optimizer}}",
          --init, "{{init}}", --out, "{{trial_dir}}", --id, "{{trial_id}}",
          --exp, "{{experiment}}", --index, "{{index}}", "lr={{lr}},bs={{batch_size}}"]
parameters:
  lr:         {values: [0.001, 0.0001, 0.00001]}
  batch_size: {values: [8, 16, 32]}
  optimizer:  {values: [adam, lamb]}
  init:       {value: random}
metric: {name: test_acc, goal: maximize}
EOF
		cat
	} >"$1"
}

# rows FILE: the number of trials of `plan --format csv`
rows() { tc plan "$1" --format csv | tail -n +2 | grep -c .; }

# ---- grid counts --------------------------------------------------------
grid full.yaml grid </dev/null
tc_run plan full.yaml --format csv
expect_rc 0 "plan --format csv"
expect_eq "$(printf '%s\n' "$OUT" | head -1)" "index,trial,state,lr,batch_size,optimizer,init,trial_seed" \
	"csv header: index,trial,state, one column per parameter named exactly, trial_seed"
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | grep -c .)" 18 "grid 3x3x2 (x1 constant) = 18 trials"
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | cut -d, -f2 | sort -u | grep -c '^[0-9a-f]\{12\}$')" 18 \
	"18 distinct 12-hex-digit trial ids"
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | cut -d, -f3 | sort -u)" planned "every trial is 'planned'"
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | cut -d, -f7 | sort -u)" random "the constant is in every trial"
# cartesian product in parameter order: the first parameter varies slowest
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | cut -d, -f1,4,5,6 | head -7 | tr '\n' ' ')" \
	"0,0.001,8,adam 1,0.001,8,lamb 2,0.001,16,adam 3,0.001,16,lamb 4,0.001,32,adam 5,0.001,32,lamb 6,0.0001,8,adam " \
	"grid order is the cartesian product in parameter order"
expect_eq "$(printf '%s\n' "$OUT" | tail -1 | cut -d, -f1,4,5,6)" "17,0.00001,32,lamb" "last grid point"
printf '%s\n' "$OUT" >full.csv

tc_run plan full.yaml
expect_rc 0 "plan (table)"
expect_match "$OUT" "^index +trial +state +lr +batch_size +optimizer +init" "table header names every parameter"
expect_match "$OUT" "^18 trials \\(grid search" "table footer counts 18 trials"

grid excl.yaml grid <<'EOF'
search:
  exclude: [{optimizer: lamb, batch_size: 8}]
EOF
expect_eq "$(rows excl.yaml)" 15 "exclude {optimizer: lamb, batch_size: 8}: 15 trials"
expect_eq "$(tc plan excl.yaml --format csv | grep -c ',8,lamb,')" 0 "no excluded point is planned"

grid partial.yaml grid <<'EOF'
search:
  exclude: [{optimizer: lamb}, {lr: 0.00001, batch_size: 32}]
EOF
expect_eq "$(rows partial.yaml)" 8 "partial excludes: 18 - 9 (lamb) - 1 (adam, 1e-5, 32) = 8"

grid incl.yaml grid <<'EOF'
search:
  exclude: [{optimizer: lamb, batch_size: 8}]
  include: [{lr: 0.0003, batch_size: 64, optimizer: adam}]
EOF
tc_run plan incl.yaml --format csv
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | grep -c .)" 16 "exclude + include of a new point: 16 trials"
expect_eq "$(printf '%s\n' "$OUT" | tail -1 | cut -d, -f1,4,5,6,7)" "15,0.0003,64,adam,random" \
	"the included point comes last, with the constant filled in"

grid dup.yaml grid <<'EOF'
search:
  exclude: [{optimizer: lamb, batch_size: 8}]
  include: [{lr: 0.0003, batch_size: 64, optimizer: adam},
            {lr: 0.001, batch_size: 16, optimizer: adam},
            {lr: 0.0003, batch_size: 64, optimizer: adam}]
EOF
expect_eq "$(rows dup.yaml)" 16 "includes duplicating a grid point or each other add nothing"

grid cap.yaml grid <<'EOF'
search:
  trials: 5
  include: [{lr: 0.0003, batch_size: 64, optimizer: adam}]
EOF
tc_run plan cap.yaml --format csv
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | grep -c .)" 6 "search.trials: 5 caps the grid at 5, plus 1 include"
expect_eq "$(printf '%s\n' "$OUT" | tail -n +2 | head -5 | cut -d, -f2 | tr '\n' ' ')" \
	"$(tail -n +2 full.csv | head -5 | cut -d, -f2 | tr '\n' ' ')" "the cap keeps the first 5 grid points"

# ---- ids ----------------------------------------------------------------
expect_eq "$(tc plan full.yaml --format csv)" "$(cat full.csv)" "two plans of the same spec are identical (ids, seeds)"
grid other.yaml other-name </dev/null
expect_eq "$(comm -12 <(trial_ids full.yaml | sort) <(trial_ids other.yaml | sort) | wc -l)" 0 \
	"another experiment name gives other ids"
# the id belongs to the point, not to its position: reorder and extend the
# values, change the timeout; every old point keeps its id
sed -e 's/\[0.001, 0.0001, 0.00001\]/[0.01, 0.00001, 0.0001, 0.001]/' \
	-e 's/^metric:/run: {timeout: 30m, parallel: 3}\nmetric:/' full.yaml >reordered.yaml
tc plan reordered.yaml --format csv | tail -n +2 | cut -d, -f2,4-8 | sort >reordered.pts
tail -n +2 full.csv | cut -d, -f2,4-8 | sort >full.pts
expect_eq "$(grep -c . reordered.pts)" 24 "extended grid: 4x3x2 = 24 trials"
expect_eq "$(comm -23 full.pts reordered.pts | wc -l)" 0 \
	"reordered values, an added value, a new timeout: every old point keeps its id and seed"

# ---- json ---------------------------------------------------------------
tc_run plan incl.yaml --format json
expect_rc 0 "plan --format json"
printf '%s\n' "$OUT" >incl.json
pycheck "plan json: one object per trial, one key per parameter, typed values" incl.json <<'PY'
d = load(sys.argv[1])
check(isinstance(d, list) and len(d) == 16, "16 objects, got %d" % len(d))
for i, t in enumerate(d):
    check(t["index"] == i, "index %d" % i)
    check(t["state"] == "planned", "state")
    for k in ("trial", "lr", "batch_size", "optimizer", "init", "trial_seed"):
        check(k in t, "trial %d lacks key %s" % (i, k))
    check(isinstance(t["batch_size"], int), "batch_size is an integer")
    check(isinstance(t["lr"], float), "lr is a number")
    check(t["optimizer"] in ("adam", "lamb"), "optimizer is a string")
    check(t["init"] == "random", "constant")
check(d[-1]["lr"] == 0.0003 and d[-1]["batch_size"] == 64, "include last")
check(not any(t["optimizer"] == "lamb" and t["batch_size"] == 8 for t in d), "exclude")
PY
expect_eq "$(jget incl.json '[t["trial"] for t in d]' | tr -d '[]" ' | tr , '\n')" \
	"$(trial_ids incl.yaml)" "json and csv give the same ids in the same order"

# ---- random search ------------------------------------------------------
cat >rnd.yaml <<'EOF'
version: 1
name: rnd
command: [train, "{{wd}}", "{{dropout}}", "{{layers}}", "{{opt}}"]
parameters:
  wd:      {distribution: log_uniform, min: 1.0e-6, max: 1.0e-2}
  dropout: {distribution: uniform, min: 0.0, max: 0.5}
  layers:  {distribution: int_uniform, min: 1, max: 4}
  opt:     {values: [adam, sgd, lamb]}
  epochs:  {value: 3}
search: {method: random, trials: 200, seed: 1}
metric: {name: acc, goal: maximize}
EOF
tc plan rnd.yaml --format json >r1.json
tc plan rnd.yaml --format json >r2.json
tc plan rnd.yaml --format json --seed 2 >r3.json
sed 's/seed: 1}/seed: 2}/' rnd.yaml >rnd2.yaml
tc plan rnd2.yaml --format json >r4.json
expect_eq "$(cmp -s r1.json r2.json && echo same)" same "random search, seed 1: two plans are identical"
expect_eq "$(cmp -s r3.json r4.json && echo same)" same "--seed 2 equals search.seed: 2"
pycheck "random search: counts, ranges, types and a different seed" r1.json r3.json <<'PY'
a, b = load(sys.argv[1]), load(sys.argv[2])
check(len(a) == 200 and len(b) == 200, "200 trials each")
check(len(set(t["trial"] for t in a)) == 200, "200 distinct ids")
for t in a + b:
    check(1e-6 <= t["wd"] <= 1e-2, "log_uniform in [1e-6, 1e-2]: %r" % t["wd"])
    check(0.0 <= t["dropout"] <= 0.5, "uniform in [0, 0.5]: %r" % t["dropout"])
    check(isinstance(t["layers"], int) and 1 <= t["layers"] <= 4, "int_uniform integer in [1, 4]: %r" % t["layers"])
    check(t["opt"] in ("adam", "sgd", "lamb"), "categorical from values: %r" % t["opt"])
    check(t["epochs"] == 3, "constant")
check(set(t["layers"] for t in a) == {1, 2, 3, 4}, "int_uniform reaches both ends")
check(set(t["opt"] for t in a) == {"adam", "sgd", "lamb"}, "every value sampled")
# log-uniform: the median of the exponents, not of the values (uniform over
# [1e-6, 1e-2] would put ~99% above 1e-4)
below = sum(1 for t in a if t["wd"] < 1e-4)
check(60 <= below <= 140, "log_uniform: %d of 200 below 1e-4, want about 100" % below)
check(len(set(t["wd"] for t in a)) == 200, "200 distinct wd values")
check([t["wd"] for t in a] != [t["wd"] for t in b], "seed 2 gives other values")
check(len(set(t["trial"] for t in a) & set(t["trial"] for t in b)) == 0, "seed 2 gives other trials")
PY

# ---- --render -----------------------------------------------------------
tc_run plan incl.yaml --render rendered
expect_rc 0 "plan --render"
expect_eq "$(find rendered -mindepth 1 -maxdepth 1 -type d | wc -l)" 16 "--render: one directory per trial"
expect_no_file .trainctl "plan creates no state directory"
pycheck "--render: params.json and command.json with the substituted argv" rendered incl.json "$TC_WORK" <<'PY'
root, plan, work = sys.argv[1], load(sys.argv[2]), sys.argv[3]
for t in plan:
    tid = t["trial"]
    p = load(os.path.join(root, tid, "params.json"))
    c = load(os.path.join(root, tid, "command.json"))
    want = {k: t[k] for k in ("lr", "batch_size", "optimizer", "init")}
    check(p == want, "%s params.json %r != %r" % (tid, p, want))
    argv = c["argv"]
    exp = ["train", "--lr", None, "--bs", str(t["batch_size"]), "--opt", t["optimizer"],
           "--init", "random", "--out", None, "--id", tid, "--exp", "grid",
           "--index", str(t["index"]), None]
    check(len(argv) == len(exp), "%s argv length %d" % (tid, len(argv)))
    for i, (g, w) in enumerate(zip(argv, exp)):
        if w is not None:
            check(g == w, "%s argv[%d] = %r, want %r" % (tid, i, g, w))
    check(float(argv[2]) == t["lr"], "%s lr %r" % (tid, argv[2]))
    check(argv[10].endswith("/" + tid) and argv[10].startswith("/"), "%s trial_dir %r" % (tid, argv[10]))
    check(argv[17] == "lr=%s,bs=%d" % (argv[2], t["batch_size"]), "%s mixed literal and references %r" % (tid, argv[17]))
# the numbers are written as in the spec, not as binary floating point noise
first = load(os.path.join(root, plan[0]["trial"], "command.json"))["argv"]
check(first[2] == "0.001", "lr of trial 0 renders as 0.001: %r" % first[2])
last = load(os.path.join(root, plan[-1]["trial"], "command.json"))["argv"]
check(last[2] == "0.0003" and last[4] == "64", "the include renders as 0.0003 / 64: %r" % last[2:5])
PY

# ---- parameters named like the fixed columns -----------------------------
# `seed` or `state` as a parameter: either validate refuses the name (exit 2,
# with its position), or plan keeps both apart (no duplicate column or key)
cat >reserved.yaml <<'EOF'
version: 1
name: reserved
command: [train, "{{seed}}", "{{state}}"]
parameters:
  seed:  {values: [5, 6]}
  state: {values: [on]}
EOF
tc_run validate reserved.yaml
if [ "$RC" = 2 ]; then
	expect_match "$ERR" '^reserved\.yaml:[0-9]+:[0-9]+: ' "a reserved parameter name is refused with its position"
else
	expect_rc 0 "parameters named seed and state"
	pycheck "parameters named seed and state: no duplicate csv column, trial state and seed kept" <<'PY'
import csv, io
rc, out, err = run("plan", "reserved.yaml", "--format", "csv")
head = next(csv.reader(io.StringIO(out)))
check(len(head) == len(set(head)), "duplicate columns in %r" % head)
rc, out, err = run("plan", "reserved.yaml", "--format", "json")
for t in loads(out):
    check(t["state"] == "planned", "state %r" % t["state"])
    check(t["seed"] in (5, 6), "the parameter seed keeps its name, got %r" % t["seed"])
PY
fi

# a parameter named seed would shadow {{seed}}, the trial's own seed: it is
# refused with its position (as every built-in name is), and the message
# says what to do
cat >seedparam.yaml <<'EOF'
version: 1
name: seedparam
command: [train, "{{seed}}"]
parameters:
  seed:  {values: [5, 6]}
EOF
tc_run validate seedparam.yaml
expect_rc 2 "a parameter named seed is refused"
expect_match "$ERR" "^seedparam\.yaml:5:3: parameter name 'seed' is reserved: \{\{seed\}\} is the trial's own seed; rename" \
	"a parameter named seed: position, reason and what to do"

# ---- resources summary --------------------------------------------------
sed 's/^metric:/resources: {cpu: 500m, memory: 2Gi, gpu: 2}\nrun: {timeout: 30m, parallel: 3}\nmetric:/' \
	incl.yaml >gpu.yaml
tc_run plan gpu.yaml
expect_match "$OUT" "^16 trials .*cpu 0\\.5.*2048 MiB.*gpu 2.*at most 16\\.0 GPU-hours" \
	"table footer: per-trial resources and 16 x 2 GPUs x 0.5 h = 16.0 GPU-hours"

tc_done
