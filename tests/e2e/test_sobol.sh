#!/usr/bin/env bash
# search.method: sobol end to end: a sweep runs, its points fill the space
# the way a scrambled Sobol sequence does (16 trials: each integer of a
# 16-value int_uniform once, each sixteenth of a uniform once), and the
# same spec and seed give the same trials in another state directory;
# another seed gives others; a run without a seed records the one it drew,
# and `plan --seed` with it gives that run's trials.  Bad input: exit 2.
. "$(dirname "$0")/lib.sh"

cat >sweep.yaml <<'Y'
version: 1
name: sob
command: [sh, -c, 'echo "score=$0"', "{{wd}}", "{{n}}", "{{opt}}", "{{lr}}"]
parameters:
  wd:  {distribution: uniform, min: 0, max: 1}
  n:   {distribution: int_uniform, min: 1, max: 16}
  opt: {values: [adam, sgd]}
  lr:  {distribution: log_uniform, min: 1.0e-5, max: 1.0e-1}
  k:   {value: 7}
search: {method: sobol, trials: 16, seed: 11}
metric: {name: score, goal: maximize}
run: {parallel: 2}
Y

tc_run validate sweep.yaml
expect_rc 0 "validate accepts a sobol spec"
expect_contains "$OUT" "16 trials (sobol search)" "validate names the method"

tc_run run sweep.yaml --state-dir a
expect_rc 0 "a sobol sweep runs"
tc results sob --state-dir a --format json >a.json
tc_run run sweep.yaml --state-dir b
expect_rc 0 "the same sweep again elsewhere"
tc results sob --state-dir b --format json >b.json
tc_run run sweep.yaml --state-dir c --seed 12
expect_rc 0 "the sweep with another seed"
tc results sob --state-dir c --format json >c.json

pycheck "16 trials that fill the space, the same for the same seed" <<'PY'
a, b, c = load("a.json"), load("b.json"), load("c.json")
ta = sorted(a["trials"], key=lambda t: t["index"])
tb = sorted(b["trials"], key=lambda t: t["index"])
check(len(ta) == 16 and all(t["state"] == "succeeded" for t in ta),
      "16 succeeded trials: %s" % [t["state"] for t in ta])
check(sorted(t["n"] for t in ta) == list(range(1, 17)),
      "each integer of [1, 16] once: %s" % sorted(t["n"] for t in ta))
check(sorted(int(t["wd"] * 16) for t in ta) == list(range(16)),
      "each sixteenth of wd once: %s" % sorted(t["wd"] for t in ta))
check(sorted(t["opt"] for t in ta) == ["adam"] * 8 + ["sgd"] * 8,
      "each value of opt 8 times")
check(all(1e-5 <= t["lr"] <= 1e-1 and t["k"] == 7 for t in ta), "lr in range, k constant")
check(all(abs(t["score"] - t["wd"]) < 1e-12 for t in ta), "the trials ran with their values")
check([(t["trial"], t["wd"], t["n"], t["opt"], t["lr"]) for t in ta] ==
      [(t["trial"], t["wd"], t["n"], t["opt"], t["lr"]) for t in tb],
      "the same spec and seed give the same trials")
check(a["provenance"]["seed"] == 11, "the seed is recorded")
check(set(t["trial"] for t in ta).isdisjoint(t["trial"] for t in c["trials"]),
      "another seed gives other points")
PY

# no seed: run draws one, records it, and plan --seed N shows those trials
sed '/^search:/s/, seed: 11//' sweep.yaml >noseed.yaml
tc_run run noseed.yaml --state-dir d
expect_rc 0 "a sobol sweep without a seed runs"
seed=$(tc results sob --state-dir d --format json | jget - 'd["provenance"]["seed"]')
tc results sob --state-dir d --format json | jget - '" ".join(sorted(t["trial"] for t in d["trials"]))' >d.ids
tc plan noseed.yaml --seed "$seed" --format csv | awk -F, 'NR > 1 { print $2 }' | sort | tr '\n' ' ' | sed 's/ $//' >p.ids
echo >>p.ids
expect_eq "$(cat p.ids)" "$(cat d.ids)" "plan --seed with the recorded seed gives the run's trials"
tc_run plan noseed.yaml
expect_contains "$ERR" "no search.seed in the spec: this plan drew seed" "plan says which seed it drew"

# bad input
printf 'version: 1\nname: x\ncommand: [x]\nparameters:\n  a: {distribution: uniform, min: 0, max: 1}\nsearch: {method: sobol}\n' >bad.yaml
tc_run validate bad.yaml
expect_rc 2 "sobol without trials is a spec error"
expect_contains "$ERR" "bad.yaml:6:18: sobol search needs search.trials" "with its position"
printf 'version: 1\nname: x\ncommand: [x]\nparameters:\n  a: {distribution: uniform, min: 0, max: 1}\nsearch: {method: sobl, trials: 3}\n' >bad2.yaml
tc_run validate bad2.yaml
expect_rc 2 "a misspelt method is a spec error"
expect_contains "$ERR" "(did you mean 'sobol'?)" "with a suggestion"
tc_done
