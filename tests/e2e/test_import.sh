#!/usr/bin/env bash
# W&B sweeps and Katib Experiments.  A W&B sweep file (tests/import/, in
# W&B's own format) runs to completion as it is on the local backend, its
# trials getting their parameters through W&B's default command
# (${env} ${interpreter} ${program} ${args}); `import wandb` prints an
# experiment file that validate accepts and that plans the very trials the
# sweep plans; a grid enumerates int_uniform and q_uniform as W&B's does,
# and ${args_no_hyphens}, ${args_json} and ${args_json_file} reach the
# program; a Katib Experiment imports.  Bad input: file:line:col in the
# original file, exit 2, for `run` and `import` alike.
. "$(dirname "$0")/lib.sh"

cp "$TC_SOURCE_DIR"/tests/import/* .

# ---- a W&B sweep runs as it is ----------------------------------------------
tc_run run wandb-sweep.yaml --parallel 2 --seed 7
expect_rc 0 "trainctl run runs the W&B sweep file"
tc results import-test-sweep --format json >res.json
pycheck "6 trials, each given its parameters by W&B's \${args}" <<'PY'
r = load("res.json")
t = r["trials"]
check(len(t) == 6, "6 trials (run_cap): %d" % len(t))
for x in t:
    check(x["state"] == "succeeded", "succeeded: %s" % x["state"])
    m = x["metrics"] if "metrics" in x else x
    # the program saw --learning_rate=VALUE, the trial's own value
    check(abs(float(m["seen_lr"]) - x["learning_rate"]) < 1e-15,
          "seen_lr %s == learning_rate %s" % (m["seen_lr"], x["learning_rate"]))
    check(m["nargs"] == 10, "10 --name=value arguments: %s" % m["nargs"])
    check(1e-4 <= x["learning_rate"] <= 0.1, "log_uniform_values in range")
    # W&B's log_uniform: natural-log exponents as bounds
    check(2.7e-5 < x["weight_decay"] < 0.101, "e^[-9.2,-2.3]: %s" % x["weight_decay"])
    check(x["hidden"] % 8 == 0 and isinstance(x["hidden"], int), "q_normal q 8: %s" % x["hidden"])
    check(0 < x["mix"] < 1, "beta in (0, 1)")
    check("opt.momentum" in x, "nested parameter flattened as opt.momentum")
    check(x["epochs"] == 2, "constant")
PY
expect_file seen-x.json "the program ran in the sweep file's directory"

# ---- import wandb: the same experiment ------------------------------------
tc import wandb wandb-sweep.yaml >imported.yaml
RC=$?
expect_rc 0 "import wandb prints an experiment file"
expect_match "$(cat imported.yaml)" '^version: 1$' "it is a version 1 file"
expect_match "$(cat imported.yaml)" '^ *weight_decay: \{distribution: exp_uniform, min: -9.2, max: -2.3\}  # W&B log_uniform$' \
	"W&B's log_uniform is exp_uniform, commented"
expect_match "$(cat imported.yaml)" '^  - "--opt.momentum=\{\{opt.momentum\}\}"$' "\${args} expanded per parameter"
expect_match "$(cat imported.yaml)" '^  WANDB_PROJECT: trainctl-tests$' "project in the environment"
tc_run validate imported.yaml
expect_rc 0 "validate accepts what import printed"
a=$("$TRAINCTL" plan wandb-sweep.yaml --seed 7 --format csv | awk -F, 'NR > 1 { print $2 }')
b=$("$TRAINCTL" plan imported.yaml --seed 7 --format csv | awk -F, 'NR > 1 { print $2 }')
expect_eq "$b" "$a" "the import plans the sweep's trial ids"
c=$(tc results import-test-sweep --format csv | awk -F, 'NR > 1 { print $1 }' | sort)
expect_eq "$c" "$(printf '%s\n' "$a" | sort)" "and those are the ids the run ran"

# ---- a grid: W&B's enumeration, and the other command macros --------------
cat >grid.yaml <<'Y'
program: train.py
method: grid
parameters:
  lr: {values: [0.01, 0.1]}
  layers: {distribution: int_uniform, min: 1, max: 3}
  width: {distribution: q_uniform, min: 0.5, max: 1.25, q: 0.25}
  tag: {value: "g"}
command:
  - ${env}
  - ${interpreter}
  - ${program}
  - ${args_no_hyphens}
  - ${args_json}
  - ${args_json_file}
Y
tc_run plan grid.yaml --format csv
expect_rc 0 "a W&B grid plans"
expect_eq "$(printf '%s\n' "$OUT" | awk -F, 'NR > 1' | wc -l | tr -d ' ')" 18 \
	"2 x 3 (int_uniform 1..3) x 3 (q_uniform arange 0.5, 0.75, 1.0) points"
tc_run run grid.yaml
expect_rc 0 "the grid runs"
pycheck "each macro gave the program the trial's parameters" <<'PY'
got = load("seen-g.json")
for k in ("nh.lr", "lr", "file.lr"):
    check(k in got, "%s reached the program: %s" % (k, sorted(got)))
check(got.get("nh.lr") == got.get("lr") == got.get("file.lr"),
      "the same lr three ways: %s" % got)
check(got.get("width") == got.get("nh.width"), "width as JSON and as name=value")
PY

# ---- Katib -------------------------------------------------------------------
tc import katib katib-experiment.yaml >katib.yaml
RC=$?
expect_rc 0 "import katib prints an experiment file"
expect_match "$(cat katib.yaml)" '^  - "--lr=\{\{lr\}\}"$' "\${trialParameters.learningRate} is {{lr}}"
expect_match "$(cat katib.yaml)" '^  - "--name=\{\{trial_id\}\}"$' "\${trialSpec.Name} is {{trial_id}}"
expect_match "$(cat katib.yaml)" '^  seed: 10  # random_state$' "random_state is the seed"
tc_run plan katib.yaml --format csv
expect_rc 0 "what import katib printed plans"
expect_eq "$(printf '%s\n' "$OUT" | awk -F, 'NR > 1' | wc -l | tr -d ' ')" 12 "maxTrialCount trials"
tc_run run katib-experiment.yaml
expect_rc 2 "run refuses a Katib file"
expect_contains "$ERR" "trainctl import katib katib-experiment.yaml" "and says how to translate it"

# ---- bad input: positions in the original file -------------------------------
bad() { # FILE VERB WANT-PREFIX WHAT
	if [ "$2" = import ]; then tc_run import wandb "$1"; else tc_run "$2" "$1"; fi
	expect_rc 2 "$4"
	expect_contains "$ERR" "$3" "$4: at its position"
}
sed 's/^run_cap: 6/run_cap: 6\ncolour: blue/' wandb-sweep.yaml >b1.yaml
bad b1.yaml run "b1.yaml:9:1: unknown key 'colour' in a W&B sweep" "an unknown key"
sed 's/distribution: normal/distribution: gaussian/' wandb-sweep.yaml >b2.yaml
bad b2.yaml import "b2.yaml:46:23: parameters.opt.momentum: unknown W&B distribution 'gaussian'" \
	"an unknown distribution"
sed 's/sigma: 0.02/sigma: -1/' wandb-sweep.yaml >b3.yaml
bad b3.yaml run "b3.yaml:48:16: parameters.opt.momentum: sigma must be >= 0" \
	"a bad distribution argument (found by the loader, mapped back)"
bad b3.yaml import "b3.yaml:48:16: parameters.opt.momentum: sigma must be >= 0" \
	"the same for import"
sed 's/probabilities: \[0.7, 0.3\]/probabilities: [0.7, 0.4]/' wandb-sweep.yaml >b4.yaml
bad b4.yaml validate "b4.yaml:25:20: parameters.optimizer.probabilities sum to 1.1" \
	"probabilities that do not sum to 1"
sed 's/  goal: minimize/  goal: minimize\n  target: 0.1/' wandb-sweep.yaml >b5.yaml
bad b5.yaml run "b5.yaml:12:11: metric.target" "a key trainctl cannot honour"
sed 's/    mu: 128/    mu: 128\n    min: 3/' wandb-sweep.yaml >b6.yaml
bad b6.yaml run "b6.yaml:37:5: unknown key 'min' in parameters.hidden (distribution q_normal)" \
	"an argument the distribution does not take"
sed 's/^run_cap: 6//' wandb-sweep.yaml >b7.yaml
bad b7.yaml run "b7.yaml:7:9: a W&B random search runs until it is stopped" "random without run_cap"
cat >>wandb-sweep.yaml <<'Y'
early_terminate:
  type: hyperband
  max_iter: 27
  s: 2
Y
tc_run import wandb wandb-sweep.yaml
expect_rc 0 "import prints early_terminate"
expect_match "$OUT" '^early_stop: \{method: hyperband, min_step: 3, max_step: 27, reduction_factor: 3\}$' \
	"as early_stop, W&B's bands max_iter/eta^s .. max_iter"
tc_run run wandb-sweep.yaml --state-dir es
expect_rc 0 "run honours early_terminate"
tc_run status import-test-sweep --state-dir es --format json
expect_contains "$OUT" '"pruned"' "its trials are judged by hyperband"
cp "$TC_SOURCE_DIR/tests/import/katib-experiment.yaml" k2.yaml
sed -i 's/    type: maximize/    type: maximize\n    goal: 0.99/' k2.yaml
tc_run import katib k2.yaml
expect_rc 2 "Katib's objective.goal cannot be honoured"
expect_contains "$ERR" "k2.yaml:10:11: objective.goal" "at its position"
tc_done
