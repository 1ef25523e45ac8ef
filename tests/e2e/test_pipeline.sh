#!/usr/bin/env bash
# test_pipeline.sh — stages: on the local backend, through the real binary:
#   - a DAG of stages: a list fan-out, a glob fan-out, a sweep, one job per
#     trial of the sweep (foreach: {trials:}), and a gather; each job starts
#     only after the jobs it needs succeeded (checked from the journal's
#     start and end times and from the files the jobs read);
#   - {{item}}, {{item.KEY}}, {{needs.STAGE}} (one directory item-wise, one
#     argv element per job for a gather), $NEEDS_STAGE in a script;
#   - declared outputs must exist after success, else the job fails;
#   - a failed job stops only its dependants (cancelled "not run: ..."),
#     item-wise siblings still run; `retry --failed` then `resume` runs the
#     rest of the DAG without rerunning a succeeded job;
#   - plan shows the DAG (table and --format dot), status per stage;
#   - bad input: cycles, unknown needs, {{item}} outside a fan-out stage,
#     {{needs.X}} of a stage not needed, outputs outside the job's directory,
#     a glob matching nothing: file:line:col, exit 2, nothing recorded.
. "$(dirname "$0")/lib.sh"

mkdir -p p/raw
for t in t1 t2 t3; do echo "raw-$t" >"p/raw/$t.tif"; done
cat >p/pipe.yaml <<'EOF2'
version: 1
name: pipe
parameters:
  lr: {values: [0.1, 0.2]}
run: {parallel: 3}
stages:
  summary:
    needs: [test]
    command: [sh, -c, 'cat "$@" > "$TRAINCTL_TRIAL_DIR/summary.txt"', sh, "{{needs.test}}/acc.txt"]
    outputs: [summary.txt]
  normalise:
    foreach: {glob: "raw/*.tif"}
    command: [sh, -c, 'tr a-z A-Z < "$1" > "$TRAINCTL_TRIAL_DIR/norm.txt"', sh, "{{item}}"]
    outputs: [norm.txt]
  label:
    needs: [normalise]
    foreach: {glob: "raw/*.tif"}
    command: [sh, -c, 'cat "$1/norm.txt" > "$TRAINCTL_TRIAL_DIR/label.txt"; echo "$2" >> "$TRAINCTL_TRIAL_DIR/label.txt"', sh, "{{needs.normalise}}", "{{item}}"]
    outputs: [label.txt]
  regions:
    foreach: [{name: north, code: N}, {name: south, code: S}]
    command: [sh, -c, 'echo "$1=$2" > "$TRAINCTL_TRIAL_DIR/region.txt"', sh, "{{item.name}}", "{{item.code}}"]
  train:
    needs: [label, regions]
    foreach: sweep
    script: |
      for d in $NEEDS_LABEL; do cat "$d/label.txt"; done > "$TRAINCTL_TRIAL_DIR/data.txt"
      echo "lr=$lr" >> "$TRAINCTL_TRIAL_DIR/data.txt"
    outputs: [data.txt]
  test:
    needs: [train]
    foreach: {trials: train}
    command: [sh, -c, 'grep -c . "$1/data.txt" > /dev/null && echo "acc $2" > "$2.acc" && mkdir -p "$3" && echo "lr $2" > "$3/acc.txt" && echo test_acc=$2', sh, "{{trial_dir}}", "{{lr}}", "{{trial_dir}}/../$(basename {{trial_dir}})-test"]
metric: {name: test_acc}
EOF2
# the test stage writes where summary reads: {{needs.test}} is the test
# job's own directory, so write there instead
sed -i 's|"{{trial_dir}}/../$(basename {{trial_dir}})-test"|"$TRAINCTL_TRIAL_DIR"|; s|mkdir -p "$3" \&\& echo "lr $2" > "$3/acc.txt"|echo "lr $2" > "$TRAINCTL_TRIAL_DIR/acc.txt"|' p/pipe.yaml

tc_run plan p/pipe.yaml
expect_rc 0 "plan of a pipeline"
expect_match "$OUT" "^normalise +3 +glob raw/\*\.tif" "plan: normalise fans out over 3 files"
expect_match "$OUT" "^label +3 +glob raw/\*\.tif +normalise \(each\)" "plan: label needs normalise item-wise"
expect_match "$OUT" "^train +2 +sweep +label \(all\), regions \(all\)" "plan: train gathers label and regions"
expect_match "$OUT" "^test +2 +trials of train +train \(each\)" "plan: one test per trained model"
expect_match "$OUT" "^summary +1 +test \(all\)" "plan: summary gathers"
expect_contains "$OUT" "6 stages, 13 jobs" "plan: the totals"
tc_run plan p/pipe.yaml --format dot
expect_rc 0 "plan --format dot"
expect_contains "$OUT" 'digraph "pipe" {' "dot: a digraph"
expect_contains "$OUT" '"normalise" -> "label" [label="each"];' "dot: an item-wise edge"
expect_contains "$OUT" '"test" -> "summary" [label="all", style=bold];' "dot: a gather edge"
tc_run plan p/pipe.yaml --format json
expect_rc 0 "plan --format json of a pipeline still works (the table)"

tc_run run p/pipe.yaml --state-dir st -q
expect_rc 0 "the pipeline runs to the end"
J=st/journal.db
expect_eq "$(sqlite3 $J "SELECT count(*) FROM trials WHERE exp = 'pipe' AND state = 'succeeded'")" 13 "every job succeeded"
# each job started after every job it needs ended
expect_eq "$(sqlite3 $J "SELECT count(*) FROM needs n JOIN trials a ON a.exp = n.exp AND a.id = n.trial JOIN trials b ON b.exp = n.exp AND b.id = n.needed WHERE n.exp = 'pipe' AND a.started_at < b.ended_at")" 0 \
	"no job started before a job it needs ended"
expect_eq "$(sqlite3 $J "SELECT count(*) FROM needs WHERE exp = 'pipe'")" $((3 + 2 * (3 + 2) + 2 + 2)) \
	"the edges: 3 item-wise, 2×5 gathered, 2 per trial, 2 gathered"
sdir=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'pipe' AND stage = 'summary'")
expect_eq "$(sort st/trials/$sdir/summary.txt | tr '\n' ' ')" "lr 0.1 lr 0.2 " "summary read both tests' outputs"
tdir=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'pipe' AND stage = 'train' LIMIT 1")
expect_eq "$(grep -c RAW-T st/trials/$tdir/data.txt)" 3 "train read all three labels (a gather through \$NEEDS_LABEL)"
ldir=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'pipe' AND stage = 'label' AND item = 'raw/t2.tif'")
expect_eq "$(cat st/trials/$ldir/label.txt | tr '\n' ' ')" "RAW-T2 raw/t2.tif " "label[t2] read normalise[t2] (item-wise)"
expect_eq "$(sqlite3 $J "SELECT params FROM trials WHERE exp = 'pipe' AND stage = 'regions' ORDER BY idx" | tr '\n' ' ')" \
	'{"item":"{\"name\":\"north\",\"code\":\"N\"}","item.name":"north","item.code":"N"} {"item":"{\"name\":\"south\",\"code\":\"S\"}","item.name":"south","item.code":"S"} ' \
	"a map item: {{item}} and {{item.KEY}}"
tc_run status pipe --state-dir st
expect_match "$OUT" "^test +2 .* 2 succeeded" "status: per stage"
tc_run status pipe --state-dir st --format json
expect_eq "$(jget - "d['stages']['label']['counts']['succeeded']" <<<"$OUT")" 3 "status json: per stage"
tc_run results pipe --state-dir st --format csv
expect_contains "$OUT" "0.2" "results rank the test jobs by test_acc"
expect_match "$(tc status pipe --state-dir st)" " label/t2\.tif +succeeded" "status names each job STAGE/ITEM"
tc_run logs pipe label/t2.tif --state-dir st
expect_rc 0 "logs NAME STAGE/ITEM"
tc_run logs pipe normalise/raw/t3.tif --state-dir st
expect_rc 0 "logs NAME STAGE/ITEM with the item as recorded"
tc_run logs pipe summary --state-dir st
expect_rc 0 "logs NAME STAGE for a stage of one job"
tc_run logs pipe label --state-dir st
expect_rc 2 "logs NAME STAGE for a stage of several jobs"
expect_contains "$ERR" "label/ITEM" "says to name the item"
tc_run logs pipe label/nosuch --state-dir st
expect_rc 2 "logs of an item the stage does not have"
tc_run report pipe --state-dir st --by stage --format csv
expect_rc 0 "report --by stage"
expect_contains "$OUT" "normalise,3,3,0,0" "report --by stage: jobs and how they ended, per stage"
tc_run report pipe --state-dir st --format json
expect_eq "$(jget - "d['stages']['test']['jobs']" <<<"$OUT")" 2 "report json: per stage"

# ---- a failure stops only its dependants --------------------------------
cat >p/fail.yaml <<'EOF2'
version: 1
name: fail
stages:
  a:
    foreach: [x, y, z]
    command: [sh, -c, 'test "$1" != y || test -e ok || exit 3; echo "$1" > "$TRAINCTL_TRIAL_DIR/o"', sh, "{{item}}"]
    outputs: [o]
  b:
    needs: [a]
    foreach: [x, y, z]
    command: [sh, -c, 'cat "$1/o" >> b.log', sh, "{{needs.a}}"]
  c:
    needs: [b]
    command: [sh, -c, 'echo c >> c.log']
EOF2
cd p
tc_run run fail.yaml --state-dir ../st -q
cd ..
expect_rc 1 "a failed job: exit 1"
st() { sqlite3 $J "SELECT state || ':' || coalesce(reason, '') FROM trials WHERE exp = 'fail' AND stage = '$1' AND coalesce(item, '') = '$2'"; }
expect_eq "$(st a y)" "failed:exit code 3" "a[y] failed"
expect_match "$(st b y)" "^cancelled:not run: needs a job [0-9a-f]{12}, which failed$" "b[y] not run"
expect_match "$(st c '')" "^cancelled:not run: " "c (a gather) not run"
expect_eq "$(st b x)$(st b z)" "succeeded:succeeded:" "b[x] and b[z] ran (item-wise)"
expect_eq "$(sort p/b.log | tr '\n' ' ')" "x z " "b ran for x and z only"
touch p/ok
tc_run retry --failed fail --state-dir st
expect_rc 0 "retry --failed"
cd p
tc_run resume fail --state-dir ../st -q
cd ..
expect_rc 0 "resume runs the rest of the DAG"
expect_eq "$(sqlite3 $J "SELECT count(*) FROM trials WHERE exp = 'fail' AND state = 'succeeded'")" 7 "all seven jobs succeeded"
expect_eq "$(sort p/b.log | tr '\n' ' ')" "x y z " "b[y] ran once, b[x] and b[z] were not rerun"
expect_eq "$(cat p/c.log)" "c" "c ran once"

# ---- declared outputs ----------------------------------------------------
cat >p/out.yaml <<'EOF2'
version: 1
name: outs
stages:
  a:
    command: [sh, -c, 'echo hi > "$TRAINCTL_TRIAL_DIR/one"']
    outputs: [one, two]
  b:
    needs: [a]
    command: [true]
EOF2
tc_run run p/out.yaml --state-dir st -q
expect_rc 1 "a missing output fails the job"
expect_match "$(sqlite3 $J "SELECT reason FROM trials WHERE exp = 'outs' AND stage = 'a'")" "^declared output 'two' is missing" "the reason names the output"
expect_eq "$(sqlite3 $J "SELECT state FROM trials WHERE exp = 'outs' AND stage = 'b'")" cancelled "its dependant did not run"

# ---- a stage's own run: parallel and timeout ------------------------------
cat >p/own.yaml <<'EOF2'
version: 1
name: own
run: {parallel: 3, timeout: 1h}
stages:
  one:
    foreach: [a, b, c]
    run: {parallel: 1}
    command: [sh, -c, 'sleep 0.3']
  many:
    foreach: [a, b, c]
    command: [sh, -c, 'sleep 0.3']
  slow:
    run: {timeout: 1s}
    command: [sleep, "30"]
EOF2
tc_run run p/own.yaml --state-dir st -q
expect_rc 1 "a stage's timeout fails the run"
overlap() { # STAGE: pairs of its jobs that ran at the same time
	sqlite3 $J "SELECT count(*) FROM trials a JOIN trials b ON a.exp = b.exp AND a.stage = b.stage AND a.id < b.id WHERE a.exp = 'own' AND a.stage = '$1' AND a.started_at < b.ended_at AND b.started_at < a.ended_at"
}
expect_eq "$(overlap one)" 0 "run: {parallel: 1} in a stage: its jobs ran one at a time"
expect_eq "$(sqlite3 $J "SELECT count(*) FROM trials WHERE exp = 'own' AND stage = 'one' AND state = 'succeeded'")" 3 "and all ran"
expect_match "$(overlap many)" "^[1-9]" "another stage's jobs ran side by side (the top level's parallel)"
expect_match "$(sqlite3 $J "SELECT state || ' ' || reason FROM trials WHERE exp = 'own' AND stage = 'slow'")" \
	"^timed_out timed out after 1s" "run: {timeout: 1s} in a stage: its job timed out after 1 s, not the top level's hour"

# ---- bad input -------------------------------------------------------------
bad() { # NAME LINE:COL MESSAGE (the spec on stdin)
	cat >"p/$1.yaml"
	tc_run validate "p/$1.yaml"
	expect_rc 2 "validate $1: exit 2"
	expect_contains "$ERR" "p/$1.yaml:$2: $3" "validate $1: file:line:col and why"
	tc_run run "p/$1.yaml" --state-dir st -q
	expect_rc 2 "run $1: exit 2"
	tc_run ls --state-dir st
	expect_no_match "$OUT" "^$1 " "run $1: no experiment recorded"
}
H='version: 1'
bad cyc 4:15 "stages: cycle: 'a' needs 'c', which needs 'a'" < <(printf '%s\n' "$H" 'name: cyc' 'stages:' '  a: {needs: [c], command: [true]}' '  b: {needs: [a], command: [true]}' '  c: {needs: [b], command: [true]}')
bad self 4:15 "stages: cycle: 'a' needs itself" < <(printf '%s\n' "$H" 'name: self' 'stages:' '  a: {needs: [a], command: [true]}')
bad unk 5:15 "needs: no stage named 'prpe' (did you mean 'prep'?)" < <(printf '%s\n' "$H" 'name: unk' 'stages:' '  prep: {command: [true]}' '  b: {needs: [prpe], command: [true]}')
bad item 4:24 "{{item}} outside a fan-out stage" < <(printf '%s\n' "$H" 'name: item' 'stages:' '  a: {command: [echo, "{{item}}"]}')
bad notneeded 5:24 "{{needs.a}}: 'a' is not in this stage's needs:" < <(printf '%s\n' "$H" 'name: notneeded' 'stages:' '  a: {command: [true]}' '  b: {command: [echo, "{{needs.a}}"]}')
bad outside 4:34 "outputs: '../x' is outside the job's directory" < <(printf '%s\n' "$H" 'name: outside' 'stages:' '  a: {command: [true], outputs: [../x]}')
bad both 3:1 "with stages:, each stage has its own command" < <(printf '%s\n' "$H" 'name: both' 'command: [true]' 'stages:' '  a: {command: [true]}')
bad trials 5:37 "foreach.trials: stage 'a' is not a sweep" < <(printf '%s\n' "$H" 'name: trials' 'stages:' '  a: {foreach: [x], command: [true]}' '  b: {needs: [a], foreach: {trials: a}, command: [true]}')
printf '%s\n' "$H" 'name: noglob' 'stages:' '  a: {foreach: {glob: "nothing/*.tif"}, command: [echo, "{{item}}"]}' >p/noglob.yaml
tc_run run p/noglob.yaml --state-dir st -q
expect_rc 2 "a glob that matches nothing: exit 2"
expect_contains "$ERR" "p/noglob.yaml:4:16: foreach.glob 'nothing/*.tif' matches no file" "and says where"
tc_run validate p/noglob.yaml
expect_rc 2 "validate reads the items as run would: exit 2"
expect_contains "$ERR" "p/noglob.yaml:4:16: foreach.glob 'nothing/*.tif' matches no file" "validate says where too"
bad nokey 4:55 "{{item.nmae}}: the items have no key 'nmae' (they have: name, code)" < <(printf '%s\n' "$H" 'name: nokey' 'stages:' '  a: {foreach: [{name: x, code: X}], command: [echo, "{{item.nmae}}"]}')
bad nomap 4:38 "{{item.name}}: the items of this stage are not mappings" < <(printf '%s\n' "$H" 'name: nomap' 'stages:' '  a: {foreach: [x], command: [echo, "{{item.name}}"]}')
bad localres 6:5 "stage b: resources of its own need --backend kubernetes" < <(printf '%s\n' "$H" 'name: localres' 'stages:' '  a: {command: [true]}' '  b:' '    resources: {cpu: 2}' '    command: [true]')
bad stagens 6:48 "stage b: kubernetes.namespace is the whole run's: set it at the top level" < <(printf '%s\n' "$H" 'name: stagens' 'backend: kubernetes' 'stages:' '  a: {command: [true]}' '  b: {command: [true], kubernetes: {namespace: x}}')
bad k8sneeds 6:36 "{{needs.a}}: on kubernetes a job's directory is its pod's own" < <(printf '%s\n' "$H" 'name: k8sneeds' 'backend: kubernetes' 'stages:' '  a: {command: [true]}' '  b: {needs: [a], command: [echo, "{{needs.a}}"]}')
tc_run validate p/pipe.yaml
expect_eq "$OUT" "p/pipe.yaml: ok: experiment 'pipe', 13 jobs in 6 stages" "validate counts a pipeline's jobs"

tc_done
