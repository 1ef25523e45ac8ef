#!/usr/bin/env bash
# A pipeline's artifact store (`artifacts: {store: s3://..., endpoint}`)
# against a real SeaweedFS server on loopback (tests/s3/seaweed.sh), with
# the real binary:
#   - a succeeded job's declared outputs (a file, a directory) are objects
#     EXP/ID/OUTPUT of the store, byte for byte;
#   - a job whose needed job's outputs are gone here gets them from the
#     store before it starts;
#   - best --download DIR fetches the best job's outputs;
#   - kill -9 of trainctl at random moments, then resume: no finished job
#     runs again and every stored object is its job's whole file;
#   - wrong credentials and an unreachable endpoint: exit 3 before anything
#     is recorded, and no secret in the message.
# Exit 77 (skipped) when the server cannot be built here.
. "$(dirname "$0")/../e2e/lib.sh"
SEAWEED="bash $TC_SOURCE_DIR/tests/s3/seaweed.sh"
export TC_S3_STATE=${TC_S3_STATE:-$TC_WORK/s3-state}
$SEAWEED down >/dev/null 2>&1
$SEAWEED up >seaweed.log 2>&1
rc=$?
if [ "$rc" -eq 77 ]; then
	echo "skipped: the S3 server cannot be built here"
	exit 77
fi
[ "$rc" -eq 0 ] || { cat seaweed.log; fail "seaweed.sh up exited $rc"; tc_done; }
trap '$SEAWEED down >/dev/null 2>&1' EXIT
eval "$($SEAWEED env)"
PREFIX=p$$
curl_s3() {
	curl -s --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$@"
}

spec() { # NAME STORE ENDPOINT
	cat >"$1.yaml" <<EOF
version: 1
name: $1
artifacts: {store: "$2", endpoint: "$3"}
metric: {name: score, goal: maximize}
stages:
  a:
    foreach: [x, y]
    command: [sh, -c, 'echo "made \$1" > "\$TRAINCTL_TRIAL_DIR/a.txt"; mkdir -p "\$TRAINCTL_TRIAL_DIR/d/e"; echo "deep \$1" > "\$TRAINCTL_TRIAL_DIR/d/e/f.txt"', sh, "{{item}}"]
    outputs: [a.txt, d]
  b:
    needs: [a]
    foreach: [x, y]
    command: [sh, -c, 'cat "\$1/a.txt" "\$1/d/e/f.txt" > "\$TRAINCTL_TRIAL_DIR/b.txt"; test "\$2" = y && echo score=2 || echo score=1', sh, "{{needs.a}}", "{{item}}"]
    outputs: [b.txt]
EOF
}
spec pipe "s3://$TC_S3_BUCKET/$PREFIX" "$TC_S3_ENDPOINT"
tc_run run pipe.yaml -q
expect_rc 0 "a pipeline with an artifact store runs"
J=.trainctl/journal.db
ax=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'pipe' AND stage = 'a' AND item = 'x'")
by=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'pipe' AND stage = 'b' AND item = 'y'")
expect_eq "$(curl_s3 "$TC_S3_ENDPOINT/$TC_S3_BUCKET/$PREFIX/pipe/$ax/a.txt")" "made x" \
	"a job's output file is the object EXP/ID/a.txt"
expect_eq "$(curl_s3 "$TC_S3_ENDPOINT/$TC_S3_BUCKET/$PREFIX/pipe/$ax/d/e/f.txt")" "deep x" \
	"a directory output: one object per file below it"
expect_eq "$(curl_s3 "$TC_S3_ENDPOINT/$TC_S3_BUCKET/$PREFIX/pipe/$by/b.txt" | tr '\n' ' ')" "made y deep y " \
	"the second stage's output too"

# ---- outputs gone here come from the store ---------------------------------
rm -rf ".trainctl/trials/$ax/a.txt" ".trainctl/trials/$ax/d"
tc_run resume pipe -q --rerun b
expect_rc 0 "resume --rerun b with a's outputs gone from this machine"
bx=$(sqlite3 $J "SELECT id FROM trials WHERE exp = 'pipe' AND stage = 'b' AND item = 'x'")
expect_eq "$(tr '\n' ' ' <".trainctl/trials/$bx/b.txt")" "made x deep x " \
	"b[x] read a[x]'s outputs, fetched from the store"
expect_eq "$(cat ".trainctl/trials/$ax/d/e/f.txt")" "deep x" "the directory output is back in place"

# ---- best --download ---------------------------------------------------------
tc_run best pipe --download got
expect_rc 0 "best --download"
expect_eq "$(tr '\n' ' ' <got/b.txt)" "made y deep y " "the best job's (b[y], score 2) outputs"
rm -rf gotx
printf '%s\n' 'version: 1' 'name: plain' 'command: [echo, score=1]' 'metric: {name: score}' >plain.yaml
tc_run run plain.yaml -q
tc_run best plain --download gotx
expect_rc 2 "best --download of an experiment without a store: exit 2"

# ---- kill -9 at random moments, resume: every output stored whole ----------
cat >tort.yaml <<EOF
version: 1
name: tort
artifacts: {store: "s3://$TC_S3_BUCKET/$PREFIX", endpoint: "$TC_S3_ENDPOINT"}
run: {parallel: 3, retries: 0}
stages:
  big:
    foreach: [1, 2, 3, 4, 5, 6]
    command: [sh, -c, 'head -c \$((\$1 * 3000000)) /dev/urandom > "\$TRAINCTL_TRIAL_DIR/blob"; echo "\$TRAINCTL_TRIAL" >> "$TC_WORK/ends"', sh, "{{item}}"]
    outputs: [blob]
  use:
    needs: [big]
    foreach: [1, 2, 3, 4, 5, 6]
    command: [sh, -c, 'wc -c < "\$1/blob" > "\$TRAINCTL_TRIAL_DIR/n"; echo "\$TRAINCTL_TRIAL" >> "$TC_WORK/ends"', sh, "{{needs.big}}"]
    outputs: [n]
EOF
: >ends
RANDOM=5
kills=0 finished=0
for round in $(seq 1 60); do
	if [ "$round" -eq 1 ]; then
		"$TRAINCTL" run -q tort.yaml >"tort.$round.log" 2>&1 &
	else
		"$TRAINCTL" resume -q tort >"tort.$round.log" 2>&1 &
	fi
	pid=$!
	sleep "0.$(printf '%03d' $((RANDOM % 400 + 20)))"
	if ! tc_mine "$pid"; then
		if wait "$pid"; then
			finished=1
			break
		fi
		cat "tort.$round.log"
		continue
	fi
	kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
done
[ "$finished" -eq 1 ] && pass "the pipeline finished after $kills kills of trainctl" ||
	fail "it did not finish ($kills kills)"
[ "$kills" -ge 2 ] && pass "killed mid-pipeline" || fail "too few kills to mean anything: $kills"
expect_eq "$(sort ends | uniq -d)" "" "no job that ran to its end ran again"
expect_eq "$(sqlite3 $J "SELECT count(*) FROM trials WHERE exp = 'tort' AND state = 'succeeded'")" 12 "every job succeeded"
bad=0
for id in $(sqlite3 $J "SELECT id FROM trials WHERE exp = 'tort' AND stage = 'big'"); do
	curl_s3 -o got.blob "$TC_S3_ENDPOINT/$TC_S3_BUCKET/$PREFIX/tort/$id/blob"
	cmp -s got.blob ".trainctl/trials/$id/blob" || bad=$((bad + 1))
done
expect_eq "$bad" 0 "every stored output is its job's file, whole"

# ---- the store refuses, or is not there: exit 3, nothing recorded ------------
secret=$AWS_SECRET_ACCESS_KEY
spec bad "s3://$TC_S3_BUCKET/$PREFIX" "$TC_S3_ENDPOINT"
AWS_SECRET_ACCESS_KEY=wrong-$secret tc_run run bad.yaml -q
expect_rc 3 "wrong credentials: exit 3"
expect_match "$ERR" "$TC_S3_ENDPOINT|$TC_S3_BUCKET" "the message names the store"
expect_no_match "$ERR" "$secret" "and holds no secret"
expect_no_match "$(tc ls)" "^bad " "nothing recorded"
spec away "s3://$TC_S3_BUCKET/$PREFIX" "http://127.0.0.1:1"
t0=$(date +%s)
tc_run run away.yaml -q
expect_rc 3 "an unreachable endpoint: exit 3"
expect_match "$ERR" "127\.0\.0\.1:1" "and says which endpoint"
[ $(($(date +%s) - t0)) -le 30 ] && pass "within 30 s" || fail "took $(($(date +%s) - t0)) s"
expect_no_match "$(tc ls)" "^away " "nothing recorded"
tc_done
