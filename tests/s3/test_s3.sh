#!/usr/bin/env bash
# The S3 artifact client (src/artifacts/s3.c) against a real SeaweedFS
# server on loopback (tests/s3/seaweed.sh), through the test driver
# s3_roundtrip: byte-identical round trips (0 B, 1 KiB, 70 MiB multipart,
# a directory tree), a damaged object refused with no file left behind,
# wrong and missing credentials, an unreachable endpoint, and uploads killed
# with SIGKILL leaving nothing visible under their key.
#
# ctest passes TC_S3_DRIVER, TC_SOURCE_DIR and TC_S3_STATE; by hand:
#   TC_S3_DRIVER=build/tests/s3_roundtrip bash tests/s3/test_s3.sh
# Exit 77 (skipped) when the server cannot be built here.
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TC_SOURCE_DIR=${TC_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
DRIVER=${TC_S3_DRIVER:-$TC_SOURCE_DIR/build/tests/s3_roundtrip}
export TC_S3_STATE=${TC_S3_STATE:-/tmp/trainctl-s3-test-$(id -u)}
SEAWEED="bash $HERE/seaweed.sh"
[ -x "$DRIVER" ] || { echo "FAIL no driver at $DRIVER (build s3_roundtrip)"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/test_s3.XXXXXX")
PASSES=0
FAILS=0
BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ -n "${WEED_PID:-}" ] && kill -CONT "$WEED_PID" 2>/dev/null
	$SEAWEED down >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { PASSES=$((PASSES + 1)); echo "ok   $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL $*"; }
check() { # check DESCRIPTION CMD...: passes when CMD succeeds
	local what=$1; shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# --- the server -------------------------------------------------------------
$SEAWEED down >/dev/null 2>&1
$SEAWEED up
rc=$?
[ "$rc" -eq 77 ] && { echo "skipped: the S3 server cannot be built here"; exit 77; }
[ "$rc" -eq 0 ] || { echo "FAIL seaweed.sh up exited $rc"; exit 1; }
eval "$($SEAWEED env)"
WEED_PID=$(cat "$TC_S3_STATE/weed.pid")
PREFIX=run-$$-$RANDOM
URL=s3://$TC_S3_BUCKET/$PREFIX
cd "$WORK" || exit 1

drv() { "$DRIVER" "$URL" "$@"; }

# curl_s3 ARGS...: a signed request of the test's own (not through the
# module), to set up objects the module would refuse to write
curl_s3() {
	curl -s --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$@"
}

# --- reachability -------------------------------------------------------------
check "check: the bucket is reachable with the right credentials" drv check

# --- round trips ----------------------------------------------------------------
: >zero.bin
head -c 1024 /dev/urandom >kib.bin
head -c $((70 << 20)) /dev/urandom >big.bin
for f in zero kib big; do
	if drv put "$f.bin" "$f.bin" 2>err.txt; then
		pass "put $f.bin"
	else
		fail "put $f.bin: $(cat err.txt)"
	fi
	size=$(drv head "$f.bin")
	check "head $f.bin gives its size" [ "$size" = "$(stat -c %s "$f.bin")" ]
	mkdir -p out
	if drv get "$f.bin" "out/$f.bin" 2>err.txt && cmp -s "$f.bin" "out/$f.bin"; then
		pass "get $f.bin: identical bytes"
	else
		fail "get $f.bin: $(cat err.txt)"
	fi
done
# 70 MiB is above the 64 MiB threshold: a multipart object ("...-N" ETag)
etag=$(curl_s3 -I -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
	"$TC_S3_ENDPOINT/$TC_S3_BUCKET/$PREFIX/big.bin" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')
check "70 MiB went up in parts (ETag $etag)" grep -q -- '-[0-9]*"$' <<<"$etag"
check "the object carries its SHA-256 as metadata" \
	sh -c "curl -s --aws-sigv4 aws:amz:us-east-1:s3 --user \"\$0\" -I -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \"\$1\" | grep -qi \"x-amz-meta-sha256: \$2\"" \
	"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$TC_S3_ENDPOINT/$TC_S3_BUCKET/$PREFIX/big.bin" \
	"$(sha256sum big.bin | cut -d' ' -f1)"

# a directory tree, through put-dir / ls / get-dir
mkdir -p tree/a/b tree/c
echo one >tree/top.txt
head -c 5000 /dev/urandom >tree/a/b/deep.bin
: >tree/c/empty
ln -s top.txt tree/link # not a regular file: not uploaded
check "put-dir" drv put-dir model tree
drv ls model/ >ls.txt
check "ls lists the three files with their sizes" \
	diff <(printf '5000 model/a/b/deep.bin\n0 model/c/empty\n4 model/top.txt\n') ls.txt
check "get-dir" drv get-dir model tree2
rm tree/link
check "get-dir: the same tree" diff -r tree tree2
drv get-dir nothing-here tree3 2>err.txt
check "get-dir of an empty prefix: exit 2 (not found)" [ $? -eq 2 ]

# --- a damaged object is refused, and leaves no file ----------------------------
printf 'hello\n' >hello.txt
code=$(curl_s3 -o /dev/null -w '%{http_code}' -T hello.txt \
	-H "x-amz-content-sha256: $(sha256sum hello.txt | cut -d' ' -f1)" \
	-H "x-amz-meta-sha256: 0000000000000000000000000000000000000000000000000000000000000000" \
	"$TC_S3_ENDPOINT/$TC_S3_BUCKET/$PREFIX/damaged.txt")
check "curl put an object with a wrong x-amz-meta-sha256 ($code)" [ "$code" = 200 ]
mkdir -p dmg
drv get damaged.txt dmg/damaged.txt 2>err.txt
rc=$?
check "get of the damaged object: exit 3" [ "$rc" -eq 3 ]
check "get of the damaged object: says so" grep -q "SHA-256" err.txt
check "get of the damaged object: no file, no temporary file" [ -z "$(ls -A dmg)" ]
echo keep >dmg/old.txt
drv put old.txt hello.txt 2>/dev/null
curl_s3 -o /dev/null -T kib.bin -H "x-amz-content-sha256: $(sha256sum kib.bin | cut -d' ' -f1)" \
	-H "x-amz-meta-sha256: $(sha256sum hello.txt | cut -d' ' -f1)" \
	"$TC_S3_ENDPOINT/$TC_S3_BUCKET/$PREFIX/old.txt"
drv get old.txt dmg/old.txt 2>/dev/null
check "a damaged download leaves the old file as it was" grep -qx keep dmg/old.txt

drv get no-such-key out/none 2>err.txt
check "get of a missing key: exit 2 (not found)" [ $? -eq 2 ]

# --- credentials ------------------------------------------------------------------
SECRET_WRONG=wrong-secret-$RANDOM$RANDOM
AWS_SECRET_ACCESS_KEY=$SECRET_WRONG drv check 2>err.txt
rc=$?
check "check with a wrong secret: exit 3" [ "$rc" -eq 3 ]
check "check with a wrong secret: says the credentials were refused" grep -q "refused the credentials" err.txt
check "check with a wrong secret: the secret is not in the message" \
	sh -c '! grep -qF "$0" err.txt' "$SECRET_WRONG"
AWS_SECRET_ACCESS_KEY=$SECRET_WRONG drv put kib2.bin kib.bin 2>err.txt
check "put with a wrong secret: exit 3" [ $? -eq 3 ]
check "put with a wrong secret: the secret is not in the message" \
	sh -c '! grep -qF "$0" err.txt' "$SECRET_WRONG"

# the shared credentials file and a profile, with no key in the environment
cat >creds <<EOF
[default]
aws_access_key_id = nobody
aws_secret_access_key = nothing
[trainctl]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
EOF
check "check with the credentials file's profile" \
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE=creds AWS_PROFILE=trainctl "$DRIVER" "$URL" check
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE=creds "$DRIVER" "$URL" check 2>err.txt
check "the default profile's wrong keys: exit 3" [ $? -eq 3 ]
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE=none HOME="$WORK" "$DRIVER" "$URL" check 2>err.txt
check "no credentials at all: exit 2 (usage)" [ $? -eq 2 ]
check "no credentials at all: says what to set" grep -q AWS_ACCESS_KEY_ID err.txt

# --- unreachable endpoint -----------------------------------------------------------
port=$( (ss -Htan | awk '{print $4}' | sed 's/.*://'; seq 20000 20100) | sort -n | uniq -u | head -1)
t0=$SECONDS
TC_S3_ENDPOINT=http://127.0.0.1:$port drv check 2>err.txt
rc=$?
check "check of an unreachable endpoint: exit 3" [ "$rc" -eq 3 ]
check "check of an unreachable endpoint: within 15 s ($((SECONDS - t0)) s)" [ $((SECONDS - t0)) -le 15 ]
check "check of an unreachable endpoint: says it cannot reach it" grep -q "cannot reach" err.txt
TC_S3_ENDPOINT=http://127.0.0.1:$port drv put kib.bin kib.bin 2>/dev/null
check "put to an unreachable endpoint: exit 3" [ $? -eq 3 ]
drv check 2>/dev/null
check "check of a missing bucket passes for the real one" [ $? -eq 0 ]
"$DRIVER" "s3://no-such-bucket-$$" check 2>err.txt
check "check of a missing bucket: exit 3, says so" sh -c '[ $0 -eq 3 ] && grep -q "no such bucket" err.txt' $?

# --- SIGKILL during an upload leaves nothing under the key ----------------------------
# rchar PID: bytes the process has read so far
rchar() { awk '$1 == "rchar:" { print $2 }' "/proc/$1/io" 2>/dev/null || echo 0; }

# A single PUT cut short: the server is stopped (SIGSTOP) so that the
# upload is surely in flight (its body partly in the socket) when the
# client is killed; then the server goes on and sees the body end early.
head -c $((40 << 20)) /dev/urandom >single.bin
kill -STOP "$WEED_PID"
"$DRIVER" "$URL" put single.bin single.bin 2>/dev/null &
pid=$!
BG+=("$pid")
for ((i = 0; i < 1000; i++)); do
	[ "$(rchar $pid)" -gt $(((40 << 20) + (1 << 20))) ] && break
	sleep 0.01
done
check "the single-part upload was sending ($(rchar $pid) bytes read)" \
	[ "$(rchar $pid)" -gt $(((40 << 20) + (1 << 20))) ]
kill -9 "$pid"
wait "$pid" 2>/dev/null
kill -CONT "$WEED_PID"
drv head single.bin >/dev/null 2>err.txt
check "killed single-part upload: nothing under the key" [ $? -eq 1 ]

# A multipart upload killed after some of its parts went up.
head -c $((400 << 20)) /dev/urandom >multi.bin
"$DRIVER" "$URL" put multi.bin multi.bin 2>/dev/null &
pid=$!
BG+=("$pid")
for ((i = 0; i < 3000; i++)); do
	[ "$(rchar $pid)" -gt $(((400 << 20) + (48 << 20))) ] && break
	sleep 0.01
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
check "the multipart upload was under way when killed" \
	[ "$i" -lt 3000 ]
drv head multi.bin >/dev/null 2>err.txt
check "killed multipart upload: nothing under the key" [ $? -eq 1 ]
drv ls >ls.txt
check "killed uploads: not listed either" sh -c '! grep -q -e single.bin -e multi.bin ls.txt'

# A multipart upload that fails on the client's side (its file shrinks
# under it) is aborted: no object, and no unfinished upload left behind.
head -c $((400 << 20)) /dev/urandom >shrink.bin
"$DRIVER" "$URL" put shrink.bin shrink.bin 2>err.txt &
pid=$!
BG+=("$pid")
for ((i = 0; i < 3000; i++)); do
	[ "$(rchar $pid)" -gt $(((400 << 20) + (48 << 20))) ] && break
	sleep 0.01
done
truncate -s $((100 << 20)) shrink.bin
wait "$pid"
rc=$?
check "an upload whose file shrank fails (exit $rc, 1 for a local file)" [ "$rc" -eq 1 ]
check "it says the file changed" grep -q "changed" err.txt
drv head shrink.bin >/dev/null 2>&1
check "the failed upload: nothing under the key" [ $? -eq 1 ]
curl_s3 -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
	"$TC_S3_ENDPOINT/$TC_S3_BUCKET?uploads=" >uploads.xml
check "the killed multipart upload is pending (and invisible)" grep -q "<Key>$PREFIX/multi.bin</Key>" uploads.xml
check "the failed multipart upload was aborted" sh -c '! grep -q "<Key>$0/shrink.bin</Key>" uploads.xml' "$PREFIX"
rm -f single.bin multi.bin shrink.bin

# --- clean up the objects of this run ------------------------------------------------
drv ls | while read -r _ key; do drv rm "$key"; done
drv ls >ls.txt
check "rm removes every object of the run" [ ! -s ls.txt ]

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
