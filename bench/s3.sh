#!/usr/bin/env bash
# s3.sh — the S3 artifact client (src/artifacts/s3.c, through the test
# driver tests/s3/s3_roundtrip) against `aws s3 cp` (awscli from PyPI, in a
# virtualenv this script makes in the cache) on the same local SeaweedFS
# server (tests/s3/seaweed.sh), in the same run: upload and download of one
# file of SIZE MiB (default 1024), ROUNDS times (default 3), the two tools
# alternating.  Prints each round's MiB/s and the medians' ratio.
#
# Both read and write the file through the page cache (warm); the module's
# download also fsyncs the file before its rename, aws's does not.  awscli
# runs with its defaults (8 MiB parts, 10 requests at a time).
#
# Usage: bash bench/s3.sh [SIZE_MIB] [ROUNDS]   (RESULTS.md has a copy)
. "$(dirname "$0")/common.sh"
SIZE_MIB=${1:-1024}
ROUNDS=${2:-3}
AWSCLI_VERSION=1.46.2
cmake --build "$BENCH_ROOT/build-bench" -j "$(nproc)" --target s3_roundtrip >/dev/null
DRIVER=$BENCH_ROOT/build-bench/tests/s3_roundtrip

venv=${XDG_CACHE_HOME:-$HOME/.cache}/trainctl-s3/awscli-$AWSCLI_VERSION
if ! "$venv/bin/aws" --version 2>/dev/null | grep -q "aws-cli/$AWSCLI_VERSION"; then
	echo "s3.sh: installing awscli $AWSCLI_VERSION into $venv" >&2
	rm -rf "$venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check "awscli==$AWSCLI_VERSION" >/dev/null
fi
AWS=$venv/bin/aws

SEAWEED="bash $BENCH_ROOT/tests/s3/seaweed.sh"
export TC_S3_STATE=$TMPDIR/s3-bench
$SEAWEED down >/dev/null 2>&1 || true
$SEAWEED up
W=$(mktemp -d)
trap '$SEAWEED down >/dev/null 2>&1; rm -rf "$W"' EXIT
eval "$($SEAWEED env)"
cat >"$W/aws-config" <<EOF
[default]
region = $TC_S3_REGION
s3 =
    addressing_style = path
EOF
export AWS_CONFIG_FILE=$W/aws-config

head -c $((SIZE_MIB << 20)) /dev/urandom >"$W/data"
URL=s3://$TC_S3_BUCKET/bench
mibs() { awk -v s="$SIZE_MIB" -v t="$1" 'BEGIN { printf "%.1f", s / t }'; }
timed() { # timed CMD...: seconds on stdout, the command's output to the log
	local t0 t1
	t0=$(now)
	"$@" >>"$W/log" 2>&1 || { echo "s3.sh: failed: $*" >&2; tail -5 "$W/log" >&2; exit 1; }
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
same() { cmp -s "$W/data" "$1" || { echo "s3.sh: $1 differs from the data" >&2; exit 1; }; }

echo "S3 bench: ${SIZE_MIB} MiB, $ROUNDS rounds, SeaweedFS of tests/s3/tools/seaweedfs on loopback, awscli $AWSCLI_VERSION"
printf '%-6s %12s %12s %12s %12s\n' round "put module" "put aws" "get module" "get aws"
pm=() pa=() gm=() ga=()
for ((r = 1; r <= ROUNDS; r++)); do
	rm -f "$W/m.out" "$W/a.out"
	if [ $((r % 2)) -eq 1 ]; then
		t1=$(timed "$DRIVER" "$URL" put m.bin "$W/data")
		t2=$(timed "$AWS" s3 cp --only-show-errors --endpoint-url "$TC_S3_ENDPOINT" "$W/data" "$URL/a.bin")
		t3=$(timed "$DRIVER" "$URL" get m.bin "$W/m.out")
		t4=$(timed "$AWS" s3 cp --only-show-errors --endpoint-url "$TC_S3_ENDPOINT" "$URL/a.bin" "$W/a.out")
	else
		t2=$(timed "$AWS" s3 cp --only-show-errors --endpoint-url "$TC_S3_ENDPOINT" "$W/data" "$URL/a.bin")
		t1=$(timed "$DRIVER" "$URL" put m.bin "$W/data")
		t4=$(timed "$AWS" s3 cp --only-show-errors --endpoint-url "$TC_S3_ENDPOINT" "$URL/a.bin" "$W/a.out")
		t3=$(timed "$DRIVER" "$URL" get m.bin "$W/m.out")
	fi
	same "$W/m.out"
	same "$W/a.out"
	pm+=("$(mibs "$t1")") pa+=("$(mibs "$t2")") gm+=("$(mibs "$t3")") ga+=("$(mibs "$t4")")
	printf '%-6s %10s/s %10s/s %10s/s %10s/s   (MiB)\n' "$r" "${pm[-1]}" "${pa[-1]}" "${gm[-1]}" "${ga[-1]}"
	"$DRIVER" "$URL" rm m.bin
	"$DRIVER" "$URL" rm a.bin
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mpm=$(median "${pm[@]}") mpa=$(median "${pa[@]}") mgm=$(median "${gm[@]}") mga=$(median "${ga[@]}")
printf '%-6s %10s/s %10s/s %10s/s %10s/s\n' median "$mpm" "$mpa" "$mgm" "$mga"
awk -v a="$mpm" -v b="$mpa" -v c="$mgm" -v d="$mga" 'BEGIN {
	printf "module / aws: upload %.2f, download %.2f (goal >= 0.80)\n", a / b, c / d }'
