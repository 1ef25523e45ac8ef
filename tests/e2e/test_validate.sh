#!/usr/bin/env bash
# validate: a good spec passes; every kind of bad input exits 2 with
# file:line:col: and a message that names the problem; a bad spec never
# creates an experiment.
. "$(dirname "$0")/lib.sh"

# bad NAME LINE COL ERE: NAME.yaml (from stdin) must fail validation with
# exit 2 and a first stderr line 'NAME.yaml:LINE:COL: ...' matching ERE.
# LINE or COL may be a regex such as '[34]'.
bad() {
	local name=$1 line=$2 col=$3 re=$4
	cat >"$name.yaml"
	tc_run validate "$name.yaml"
	expect_rc 2 "$name: rejected"
	expect_match "$ERR" "^$name\\.yaml:$line:$col: " "$name: error at $name.yaml:$line:$col"
	expect_match "$ERR" "$re" "$name: message /$re/"
	expect_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "$name: exactly one error line"
}

# ---- a good spec: the example of DESIGN.md -------------------------------
cat >good.yaml <<'EOF'
version: 1
name: fmnist-grid            # [a-z0-9-], at most 40 characters
command: [fmnist-train, --lr, "{{lr}}", --batch-size, "{{batch_size}}",
          --optimizer, "{{optimizer}}", --epochs, "3", --out, "{{trial_dir}}"]
env: {OMP_NUM_THREADS: "1"}
parameters:
  lr:           {values: [0.001, 0.0001, 0.00001]}
  batch_size:   {values: [8, 16, 32]}
  optimizer:    {values: [adam, lamb]}
  init:         {value: random}                      # a constant
search:
  method: grid
  seed: 1
  exclude: [{optimizer: lamb, batch_size: 8}]
  include: [{lr: 0.0003, batch_size: 64, optimizer: adam}]
metric: {name: test_acc, goal: maximize}
resources: {cpu: 1, memory: 2Gi, gpu: 0}
run: {parallel: 2, timeout: 30m, retries: 1}
EOF
tc_run validate good.yaml
expect_rc 0 "good spec validates"
expect_match "$OUT" "fmnist-grid.*16 trials" "good spec: name and trial count (18 - 3 + 1 = 16) reported"
expect_eq "$ERR" "" "good spec: nothing on stderr"

# DESIGN.md's example exactly as printed: grid over the values: parameters,
# the distribution parameters drawn per point (as Ray Tune does), the
# include completed with the constant and draws
cat >design.yaml <<'EOF'
version: 1
name: fmnist-grid            # [a-z0-9-], at most 40 characters
command: [fmnist-train, --lr, "{{lr}}", --batch-size, "{{batch_size}}",
          --optimizer, "{{optimizer}}", --epochs, "3", --out, "{{trial_dir}}"]
env: {OMP_NUM_THREADS: "1"}
parameters:
  lr:           {values: [0.001, 0.0001, 0.00001]}
  batch_size:   {values: [8, 16, 32]}
  optimizer:    {values: [adam, lamb]}
  init:         {value: random}                      # a constant
  weight_decay: {distribution: log_uniform, min: 1.0e-6, max: 1.0e-2}
  dropout:      {distribution: uniform, min: 0.0, max: 0.5}
  layers:       {distribution: int_uniform, min: 1, max: 4}
search:
  method: grid               # grid | random (later: sobol, tpe, asha)
  trials: 20                 # random: how many; grid: optional cap
  seed: 1
  exclude: [{optimizer: lamb, batch_size: 8}]
  include: [{lr: 0.0003, batch_size: 64, optimizer: adam}]
metric: {name: test_acc, goal: maximize}
resources: {cpu: 1, memory: 2Gi, gpu: 0}
run: {parallel: 2, timeout: 30m, retries: 1}
EOF
tc_run validate design.yaml
expect_rc 0 "DESIGN.md's example as printed validates"
expect_match "$OUT" "fmnist-grid.*16 trials" "DESIGN.md's example: 18 - 3 + 1 = 16 trials"
pycheck "DESIGN.md's example: every point draws its distributions within range" <<'PY'
rc, out, err = run("plan", "design.yaml", "--format", "json")
d = loads(out)
check(len(d) == 16, "16 trials")
for t in d:
    check(1e-6 <= t["weight_decay"] <= 1e-2, "weight_decay %r" % t["weight_decay"])
    check(0.0 <= t["dropout"] <= 0.5, "dropout %r" % t["dropout"])
    check(t["layers"] in (1, 2, 3, 4), "layers %r" % t["layers"])
rc2, out2, err2 = run("plan", "design.yaml", "--format", "json")
check(out == out2, "the same seed draws the same values")
PY

cat >random.yaml <<'EOF'
version: 1
name: rnd
script: python3 train.py
parameters:
  weight_decay: {distribution: log_uniform, min: 1.0e-6, max: 1.0e-2}
  dropout:      {distribution: uniform, min: 0.0, max: 0.5}
  layers:       {distribution: int_uniform, min: 1, max: 4}
search: {method: random, trials: 20, seed: 1}
metric: {name: loss, goal: minimize, regex: 'loss: (?<loss>[0-9.]+)'}
resources: {cpu: 500m, memory: 512Mi}
run: {timeout: 1h30m}
EOF
tc_run validate random.yaml
expect_rc 0 "random search spec with script, regex, cpu: 500m, 1h30m validates"

tc_run validate --help
expect_rc 0 "validate --help"
expect_contains "$OUT" "usage: trainctl validate" "validate --help prints usage"

# ---- bad input ----------------------------------------------------------
bad syntax '[34]' '[0-9]+' 'YAML syntax error' <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"
parameters:
  lr: {values: [0.1]}
EOF

bad tabs 5 1 'tab' <<EOF
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
$(printf '\t')lr: {values: [0.1]}
EOF

bad unknown-key 6 7 "unknown key 'paralell'.*did you mean 'parallel'" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {values: [0.1]}
run: {paralell: 2}
EOF

bad unknown-top-key 3 1 "unknown key 'comand'.*did you mean 'command'" <<'EOF'
version: 1
name: bad
comand: [echo, "{{lr}}"]
parameters:
  lr: {values: [0.1]}
EOF

bad duplicate-key 6 3 "duplicate key 'lr'" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {values: [0.1]}
  lr: {values: [0.2]}
EOF

bad wrong-type 6 17 "run\\.parallel.*integer.*'two'" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {values: [0.1]}
run: {parallel: two}
EOF

bad wrong-type-list 5 16 "parameters\\.lr\\.values must be a list" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {values: 3}
EOF

bad command-string 3 10 "command must be a list" <<'EOF'
version: 1
name: bad
command: echo hi
EOF

bad bad-name 2 7 "name 'Bad_Name'.*a-z" <<'EOF'
version: 1
name: Bad_Name
command: [echo, "{{lr}}"]
parameters:
  lr: {values: [0.1]}
EOF

bad long-name 2 7 "40 characters" <<EOF
version: 1
name: $(printf 'a%.0s' $(seq 41))
command: [echo]
EOF

bad version 1 10 "version 2" <<'EOF'
version: 2
name: bad
command: [echo]
EOF

bad min-max 5 '[0-9]+' "min \\(2\\) is greater than max \\(1\\)" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {distribution: uniform, min: 2, max: 1}
search: {method: random, trials: 3}
EOF

# the position points at the {{lrr}} itself, in a block sequence ...
bad unknown-template 7 10 "unknown parameter 'lrr' in \\{\\{lrr\\}\\}.*did you mean 'lr'" <<'EOF'
version: 1
name: bad
parameters:
  lr: {values: [0.1]}
command:
  - python3
  - --lr={{lrr}}
EOF

# ... and in a double-quoted scalar after escapes and a good reference
# (\t and \u00e9 are 2 and 6 source columns; the column counts characters)
bad unknown-template-quoted 5 37 "unknown parameter 'lrr'" <<'EOF'
version: 1
name: bad
parameters:
  lr: {values: [0.1]}
command: [python3, "\t\u00e9-{{lr}}-{{lrr}}"]
EOF

bad unknown-template-env 7 9 "unknown parameter 'nope' in \\{\\{nope\\}\\}" <<'EOF'
version: 1
name: bad
parameters:
  lr: {values: [0.1]}
env:
  A: "{{lr}}"
  B: "x {{nope}}"
command: [echo]
EOF

bad bad-quantity 6 21 "resources\\.memory.*quantity.*'2Gx'" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {values: [0.1]}
resources: {memory: 2Gx}
EOF

bad bad-cpu 4 18 "resources\\.cpu.*'2 cores'" <<'EOF'
version: 1
name: bad
command: [echo]
resources: {cpu: 2 cores}
EOF

bad bad-duration 6 16 "run\\.timeout.*duration.*'5 parsecs'" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {values: [0.1]}
run: {timeout: 5 parsecs}
EOF

bad empty-values 5 16 "parameters\\.lr\\.values is empty" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {values: []}
EOF

bad random-no-trials 6 '[0-9]+' "random search needs search\\.trials" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {distribution: uniform, min: 0, max: 1}
search: {method: random}
EOF

bad command-and-script 4 1 "either command or script, not both" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
script: "echo $lr"
parameters:
  lr: {values: [0.1]}
EOF

bad no-command 1 1 "missing command" <<'EOF'
version: 1
name: bad
parameters:
  lr: {values: [1]}
EOF

bad unknown-goal 6 27 "unknown metric\\.goal 'maximise'.*did you mean 'maximize'" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {values: [0.1]}
metric: {name: acc, goal: maximise}
EOF

bad huge-grid '[0-9]+' '[0-9]+' "the grid has 1000000000 points" <<EOF
version: 1
name: bad
command: [echo]
parameters:
  a: {values: [$(seq -s, 1 1000)]}
  b: {values: [$(seq -s, 1 1000)]}
  c: {values: [$(seq -s, 1 1000)]}
EOF

bad empty-file 1 1 "empty" </dev/null

# an empty grid (every point excluded) is a malformed spec like the others:
# file:line:col: too (the issue lists "empty or huge grids")
bad empty-grid '[0-9]+' '[0-9]+' "empty.*excluded" <<'EOF'
version: 1
name: bad
command: [echo, "{{lr}}"]
parameters:
  lr: {values: [0.1]}
search: {exclude: [{lr: 0.1}]}
EOF

# a file that does not exist is bad usage: exit 2
tc_run validate does-not-exist.yaml
expect_rc 2 "nonexistent spec file"
expect_contains "$ERR" "does-not-exist.yaml" "nonexistent spec file: message names the file"

# ---- a bad spec never creates an experiment ------------------------------
mkdir fresh
cp unknown-key.yaml fresh/exp.yaml
tc_run run fresh/exp.yaml
expect_rc 2 "run of a bad spec"
expect_match "$ERR" "^fresh/exp\\.yaml:6:7: unknown key 'paralell'" "run of a bad spec: the validate error"
expect_no_file fresh/.trainctl "run of a bad spec: no state directory created"
expect_no_file .trainctl "run of a bad spec: none where it was run either"
(cd fresh && tc_run ls --format json && printf '%s\n%s\n' "$RC" "$OUT" >../ls.out)
expect_eq "$(sed -n 1p ls.out)" 0 "ls after a bad run: exit 0"
expect_eq "$(sed -n '2,$p' ls.out | jget - 'len(d)')" 0 "ls after a bad run: no experiment"

# next to an existing experiment: a spec that parses but plans nothing
mkdir both
cat >both/ok.yaml <<'EOF'
version: 1
name: ok
command: [true]
EOF
sed 's/^name: bad/name: empty/' empty-grid.yaml >both/empty.yaml
tc_run run both/ok.yaml -q --state-dir both/.trainctl
expect_rc 0 "run of a good one-trial spec"
tc_run run both/empty.yaml -q --state-dir both/.trainctl
expect_rc 2 "run of an all-excluded grid"
tc_run ls --format json --state-dir both/.trainctl
expect_eq "$(printf '%s' "$OUT" | jget - '[e["name"] for e in d]')" '["ok"]' \
	"all-excluded run left no partial experiment behind"
tc_run status empty --state-dir both/.trainctl
expect_rc 2 "status of the never-created experiment"

tc_done
