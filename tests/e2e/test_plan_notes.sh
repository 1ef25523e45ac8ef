#!/usr/bin/env bash
# What plan and validate say about searches that would surprise: a grid of
# distributions only (one trial) is refused; a random search without a
# seed says that run draws another, and how to run this plan.
. "$(dirname "$0")/lib.sh"

cat >dist.yaml <<'EOF'
version: 1
name: dist
command: [true, "{{lr}}"]
parameters:
  opt: {value: adam}
  lr: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-1}
search: {trials: 20}
EOF
tc_run validate dist.yaml
expect_rc 2 "a grid over distributions only"
expect_eq "$ERR" "dist.yaml:6:3: grid search needs \`values\`: this grid is one trial with 'lr' drawn once; use \`method: random\` with \`trials\`" "says so, where, and what to use"
tc_run plan dist.yaml
expect_rc 2 "plan refuses it too"
sed 's/search: {trials: 20}/search: {method: random, trials: 20}/' dist.yaml >rand.yaml
tc_run validate rand.yaml
expect_rc 0 "the same as a random search"
sed 's/search: {trials: 20}/search: {include: [{opt: adam}]}/' dist.yaml >incl.yaml
tc_run validate incl.yaml
expect_rc 0 "a grid whose points are includes"

tc_run plan rand.yaml --format csv
expect_rc 0 "plan of a random search without a seed"
seed=$(printf '%s\n' "$ERR" | sed -n 's/.*this plan drew seed \([0-9]*\);.*/\1/p')
expect_match "$ERR" "run draws a new one and records it \(\`trainctl run --seed $seed\` runs this plan\)" "plan says run draws another seed, and how to run this one"
planned=$(printf '%s\n' "$OUT" | awk -F, 'NR > 1 { print $2 }')
tc_run run rand.yaml -q --seed "$seed"
expect_rc 0 "run --seed with the plan's seed"
ran=$(sqlite3 .trainctl/journal.db "select id from trials where exp='dist' order by idx")
expect_eq "$ran" "$planned" "runs exactly the trials plan showed"
tc_done
