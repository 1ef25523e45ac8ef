#!/usr/bin/env bash
# test_pipeline_cache.sh — a pipeline's cache, through the real binary:
#   - a job whose key (command, env, the keys of the jobs it needs, its
#     inputs' contents) matches a succeeded job's is not run again: a second
#     experiment of the same stages runs nothing and gets the first's
#     declared outputs and metrics ("cached: EXP/ID");
#     (a job naming its own directory, {{trial_dir}}, too);
#   - a changed input reruns exactly the jobs that depend on it (item-wise
#     siblings and unrelated stages stay as they were);
#   - --rerun STAGE forces that stage and its dependants, nothing else;
#   - a missing declared input fails the job without a retry;
#   - an unknown stage for --rerun is a usage error.
# Every job appends a line to runs.log, so "what ran" is counted from the
# jobs' own side, not from what trainctl says.
. "$(dirname "$0")/lib.sh"

mkdir -p w/raw
cd w
for t in a b c; do echo "raw-$t" >"raw/$t.txt"; done
cat >pipe.yaml <<'EOF2'
version: 1
name: cache1
metric: {name: n}
stages:
  norm:
    foreach: {glob: "raw/*.txt"}
    inputs: ["{{item}}"]
    command: [sh, -c, 'echo "norm $1" >> runs.log; tr a-z A-Z < "$1" > "$TRAINCTL_TRIAL_DIR/n.txt"', sh, "{{item}}"]
    outputs: [n.txt]
  other:
    command: [sh, -c, 'echo other >> runs.log; echo o > "$1/o.txt"', sh, "{{trial_dir}}"]
    outputs: [o.txt]
  merge:
    needs: [norm, other]
    command: [sh, -c, 'echo merge >> runs.log; shift; cat "$@" > "$TRAINCTL_TRIAL_DIR/all.txt"; echo n=$(wc -l < "$TRAINCTL_TRIAL_DIR/all.txt")', sh, x, "{{needs.norm}}/n.txt"]
    outputs: [all.txt]
EOF2
runs() { sort runs.log 2>/dev/null | tr '\n' ',' ; }

tc_run run pipe.yaml --state-dir st -q
expect_rc 0 "the first run"
expect_eq "$(runs)" "merge,norm raw/a.txt,norm raw/b.txt,norm raw/c.txt,other," "every job ran once"
J=st/journal.db
expect_eq "$(sqlite3 $J "SELECT count(*) FROM trials WHERE exp = 'cache1' AND cache_key IS NOT NULL AND length(cache_key) = 64")" 5 \
	"every job has a cache key (sha256)"

# ---- the same stages in a new experiment: nothing runs --------------------
rm -f runs.log
sed 's/^name: cache1/name: cache2/' pipe.yaml >pipe2.yaml
tc_run run pipe2.yaml --state-dir st -q
expect_rc 0 "a second experiment of the same stages"
expect_eq "$(runs)" "" "no job ran: every one was cached"
expect_eq "$(sqlite3 $J "SELECT count(*) FROM trials WHERE exp = 'cache2' AND state = 'succeeded' AND reason LIKE 'cached: cache1/%'")" 5 \
	"each is succeeded, cached from the first experiment"
m2=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'cache2' AND stage = 'merge'")
expect_eq "$(tr '\n' ' ' <st/trials/$m2/all.txt)" "RAW-A RAW-B RAW-C " "the cached job's declared output is in its own directory"
tc_run results cache2 --state-dir st --format csv
expect_contains "$OUT" "3" "and its metrics came with it"

# ---- a resume of a finished pipeline does nothing, fast -------------------
tc_run resume cache1 --state-dir st -q
expect_rc 0 "resume of a finished pipeline"
expect_eq "$(runs)" "" "runs nothing"

# ---- a changed input reruns exactly what depends on it --------------------
echo "raw-b2" >raw/b.txt
tc_run resume cache1 --state-dir st -q
expect_rc 0 "resume after an input changed"
expect_eq "$(runs)" "merge,norm raw/b.txt," "only norm[b] and the merge that needs it ran"
m1=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'cache1' AND stage = 'merge'")
expect_eq "$(tr '\n' ' ' <st/trials/$m1/all.txt)" "RAW-A RAW-B2 RAW-C " "the merge saw the new input"

# ---- --rerun forces a stage and its dependants ------------------------------
rm -f runs.log
tc_run resume cache1 --state-dir st -q --rerun other
expect_rc 0 "resume --rerun other"
expect_eq "$(runs)" "merge,other," "other and the merge that needs it ran; norm did not"
rm -f runs.log
tc_run resume cache1 --state-dir st -q --rerun nosuch
expect_rc 2 "--rerun of an unknown stage"
expect_match "$ERR" "nosuch" "names the unknown stage"
expect_eq "$(runs)" "" "and runs nothing"

# ---- a missing input fails the job, once ----------------------------------
cat >miss.yaml <<'EOF2'
version: 1
name: miss
stages:
  a:
    inputs: [nothere.txt]
    run: {retries: 2}
    command: [sh, -c, 'echo a >> runs.log']
  b:
    needs: [a]
    command: [sh, -c, 'echo b >> runs.log']
EOF2
tc_run run miss.yaml --state-dir st -q
expect_rc 1 "a job with a missing input fails the run"
expect_eq "$(runs)" "" "neither job ran"
expect_match "$(sqlite3 $J "SELECT state || ' ' || reason FROM trials WHERE exp = 'miss' AND stage = 'a'")" \
	"^failed .*nothere\.txt" "the job failed naming its input"
expect_eq "$(sqlite3 $J "SELECT attempt FROM trials WHERE exp = 'miss' AND stage = 'a'")" 0 "never started (no retry)"
expect_match "$(sqlite3 $J "SELECT state || ' ' || reason FROM trials WHERE exp = 'miss' AND stage = 'b'")" \
	"^cancelled not run: " "its dependant was not run"

tc_done
