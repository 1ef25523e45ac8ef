#!/usr/bin/env bash
# Hostile or odd input to validate/plan (issue 10): a FIFO as the spec, a
# capped grid whose exclude rejects 2^64 points, parameter names that would
# override a script's environment or shadow a built-in {{name}},
# int_uniform at the edges of int64, year-long timeouts, version: "1",
# --render into a non-empty directory or a non-directory, and metric values
# with digit groups.  Each used to hang, misread or mislead.
. "$(dirname "$0")/lib.sh"

# ---- a FIFO with no writer: refused at once, not a hang -----------------
mkfifo pipe.yaml
TC_TIMEOUT=20 tc_run validate pipe.yaml
expect_rc 2 "validate on a FIFO is refused"
expect_match "$ERR" "pipe\\.yaml.*FIFO.*not an experiment file" "the FIFO: message says what it is"
TC_TIMEOUT=20 tc_run validate /dev/null
expect_rc 2 "validate on a device is refused"

# ---- 65 binary parameters, trials: 10, the first half excluded -----------
{
	printf 'version: 1\nname: wide\ncommand: [true, "{{p00}}"]\nparameters:\n'
	for i in $(seq -w 0 64); do printf '  p%s: {values: [0, 1]}\n' "$i"; done
	printf 'search: {trials: 10, exclude: [{p00: 0}]}\n'
} >wide.yaml
TC_TIMEOUT=30 tc_run validate wide.yaml
expect_rc 0 "a capped grid with 2^64 excluded points validates"
expect_match "$OUT" "wide.*10 trials" "10 trials"
TC_TIMEOUT=30 tc_run plan wide.yaml --format csv
expect_rc 0 "and plans"
expect_eq "$(printf '%s\n' "$OUT" | awk -F, 'NR > 1 && $4 != 1' | wc -l)" 0 "every planned trial has p00 = 1"

# ---- script: parameters that would override the trial's environment ------
for name in TRAINCTL_METRICS_FILE PATH LD_PRELOAD LD_LIBRARY_PATH; do
	cat >"env-$name.yaml" <<YAML
version: 1
name: envname
script: 'echo acc=1'
parameters:
  lr: {values: [1]}
  $name: {values: [/tmp/x]}
YAML
	tc_run validate "env-$name.yaml"
	expect_rc 2 "script: parameter $name refused"
	expect_match "$ERR" "^env-$name\\.yaml:6:3: parameter name '$name' cannot be used with script:" \
		"$name: position and reason"
done

# ---- built-in names as parameters ----------------------------------------
for name in trial_id trial_dir experiment seed index; do
	cat >"builtin-$name.yaml" <<YAML
version: 1
name: builtin
command: [true, "{{$name}}"]
parameters:
  $name: {values: [1, 2]}
YAML
	tc_run validate "builtin-$name.yaml"
	expect_rc 2 "a parameter named $name is refused"
	expect_match "$ERR" "^builtin-$name\\.yaml:5:3: parameter name '$name' is reserved: \\{\\{$name\\}\\} is " \
		"$name: position and reason"
done

# ---- int_uniform over exact int64 ranges -----------------------------------
cat >ints.yaml <<'YAML'
version: 1
name: ints
command: [true, "{{top}}", "{{exact}}", "{{all}}"]
parameters:
  top:   {distribution: int_uniform, min: 9223372036854775806, max: 9223372036854775807}
  exact: {distribution: int_uniform, min: 9007199254740993, max: 9007199254740993}
  all:   {distribution: int_uniform, min: -9223372036854775808, max: 9223372036854775807}
search: {method: random, trials: 40, seed: 5}
YAML
pycheck "int_uniform: exact values at the top of int64 and above 2^53, the full range spread" <<'PY'
rc, out, err = run("plan", "ints.yaml", "--format", "json")
check(rc == 0, "plan exit %d: %s" % (rc, err))
d = loads(out)
check(len(d) == 40, "40 trials, got %d" % len(d))
top = set(t["top"] for t in d)
check(top <= {2**63 - 2, 2**63 - 1} and len(top) == 2, "top values %r" % top)
check(all(t["exact"] == 9007199254740993 for t in d), "exact values %r" % set(t["exact"] for t in d))
check(len(set(t["all"] for t in d)) == 40, "the full range gives 40 distinct values")
check(all(-2**63 <= t["all"] < 2**63 for t in d), "full range in bounds")
PY

# ---- durations ---------------------------------------------------------------
cat >tmo.yaml <<'YAML'
version: 1
name: tmo
command: [true]
run: {timeout: 2147483648}
YAML
tc_run validate tmo.yaml
expect_rc 2 "a timeout of 2^31 s is refused"
expect_match "$ERR" "^tmo\\.yaml:4:16: run\\.timeout is more than 365 days" "the timeout: position and limit"
sed 's/2147483648/365d/' tmo.yaml >year.yaml
tc_run plan year.yaml
expect_rc 0 "a timeout of 365 days is accepted"
expect_match "$OUT" "timeout 8760h00m" "and printed as hours"
printf 'kubernetes: {image: busybox}\n' >>year.yaml
tc_run plan year.yaml --render k8s-year --backend kubernetes
expect_rc 0 "rendered for Kubernetes"
expect_eq "$(jget k8s-year/*/job.json 'd["spec"]["activeDeadlineSeconds"]')" 31536000 \
	"activeDeadlineSeconds is the year in seconds"

# ---- version: "1" ------------------------------------------------------------
printf 'version: "1"\nname: quoted\ncommand: [true]\n' >quoted.yaml
tc_run validate quoted.yaml
expect_rc 0 "version: \"1\" is accepted"

# ---- --render into a non-empty directory or a non-directory ------------------
cat >r.yaml <<'YAML'
version: 1
name: r
command: [true, "{{a}}"]
parameters:
  a: {values: [1, 2]}
YAML
mkdir full && echo old >full/stale.json
tc_run plan r.yaml --render full
expect_rc 2 "--render into a non-empty directory is refused"
expect_match "$ERR" "full is not empty" "and says why"
expect_eq "$(ls full)" "stale.json" "nothing written next to the old file"
tc_run plan r.yaml --render /dev/null
expect_rc 2 "--render /dev/null is refused"
expect_match "$ERR" "not a directory" "and says why"
echo x >afile
tc_run plan r.yaml --render afile
expect_rc 2 "--render onto a file is refused"
mkdir empty
tc_run plan r.yaml --render empty
expect_rc 0 "--render into an empty directory"
expect_eq "$(find empty -name params.json | wc -l)" 2 "both trials rendered"
tc_run plan r.yaml --render empty
expect_rc 2 "rendering again into the same directory is refused"

# ---- metric values with digit groups are not misread ------------------------
cat >m.yaml <<'YAML'
version: 1
name: groups
script: 'echo "acc=1,000 loss=0.5,f1=0.25"'
metric: {name: acc}
YAML
tc_run run m.yaml
expect_rc 0 "a trial printing acc=1,000 runs"
pycheck "acc=1,000 is not recorded as 1; the pairs around it are" <<'PY'
rc, out, err = run("results", "groups", "--format", "json")
check(rc == 0, "results exit %d: %s" % (rc, err))
t = loads(out)["trials"][0]
check(t.get("acc") is None, "acc %r" % t.get("acc"))
check(t.get("loss") == 0.5 and t.get("f1") == 0.25, "loss/f1 %r %r" % (t.get("loss"), t.get("f1")))
PY

# ---- an experiment recorded before the new rules stays readable -------------
# (made here by renaming a parameter to seed inside the journal, as an older
# trainctl would have recorded it)
cat >old.yaml <<'YAML'
version: 1
name: oldseed
script: 'echo acc=0.5'
parameters:
  my_seed: {values: [5, 6]}
metric: {name: acc}
YAML
tc_run run old.yaml
expect_rc 0 "a run to age"
python3 - .trainctl/journal.db <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE experiments SET spec_text = replace(spec_text, 'my_seed', 'seed')")
db.execute("UPDATE trials SET params = replace(params, 'my_seed', 'seed')")
db.commit()
PY
tc_run status oldseed
expect_rc 0 "status of an experiment with a parameter named seed, recorded before the rule"
tc_run results oldseed --format csv
expect_rc 0 "its results"
expect_match "$OUT" "^trial,.*seed" "with the seed column"

tc_done
