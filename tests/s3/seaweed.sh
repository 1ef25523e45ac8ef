#!/usr/bin/env bash
# A real S3 server on loopback for trainctl's S3 tests and benchmark:
# SeaweedFS (`weed server -s3`: master, volume server, filer and S3 gateway
# in one process), built from the Go module pinned in
# tests/s3/tools/seaweedfs/go.mod and cached.
#
#   seaweed.sh build   build (or reuse) the cached `weed` binary only
#   seaweed.sh up      build if needed, start the server, create the bucket
#   seaweed.sh env     print shell exports for the running server
#   seaweed.sh down    stop the server started by `up`, remove the state dir
#   seaweed.sh status  show the recorded process and whether it runs
#
# Environment:
#   TC_S3_CACHE    cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/trainctl-s3);
#                  the binary goes to $TC_S3_CACHE/seaweedfs-<version>/bin/weed
#   TC_S3_GOCACHE  Go build cache for the build (default: the default GOCACHE)
#   TC_S3_STATE    state dir (default /tmp/trainctl-s3-$UID): data, logs, the
#                  pid, the S3 identity config and the environment file
#   TC_S3_TIMEOUT  seconds to wait for the server (default 90)
#
# `up` makes a fresh access key and secret (random, in $STATE, mode 0600)
# and the bucket "trainctl-test".  Everything listens on 127.0.0.1 only, and
# telemetry is off.  The build runs under `nice -n 19` with GOFLAGS=-p=1 so
# that it does not starve other work on a small machine.  Exit code 77 means
# the server cannot be built here (no Go toolchain): the tests skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=$HERE/tools/seaweedfs

die() { echo "seaweed.sh: error: $*" >&2; exit 1; }
log() { echo "seaweed.sh: $*" >&2; }

# --- version (read from the wrapper module, the single source of truth) -------
VERSION=$(awk '$1 == "require" && $2 == "github.com/seaweedfs/seaweedfs" { print $3; exit }' "$TOOLS/go.mod")
[ -n "$VERSION" ] || die "cannot read the SeaweedFS version from $TOOLS/go.mod"

CACHE_ROOT=${TC_S3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainctl-s3}
CACHE_DIR=$CACHE_ROOT/seaweedfs-$VERSION
WEED=$CACHE_DIR/bin/weed
STATE=${TC_S3_STATE:-/tmp/trainctl-s3-$(id -u)}
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
TIMEOUT=${TC_S3_TIMEOUT:-90}
BUCKET=trainctl-test
LOGS=$STATE/logs
PIDFILE=$STATE/weed.pid

# --- build ---------------------------------------------------------------------
build() {
    [ -x "$WEED" ] && return 0
    command -v go >/dev/null || [ ! -x /usr/local/go/bin/go ] || PATH=$PATH:/usr/local/go/bin
    command -v go >/dev/null || { log "go is not installed (scripts/install.sh --tests installs it)"; exit 77; }
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.lock"
    if ! flock -n 9; then
        log "another build of seaweedfs $VERSION is running; waiting for it"
        flock 9
    fi
    if [ ! -x "$WEED" ]; then
        local t0 tmp nicecmd=(nice -n 19)
        command -v ionice >/dev/null && nicecmd+=(ionice -c 3)
        t0=$(date +%s)
        tmp=$(mktemp -d "$CACHE_DIR/.build.XXXXXX")
        log "building weed (seaweedfs $VERSION; niced, -p=1; several minutes the first time)"
        if ! (
            cd "$TOOLS"
            export GOFLAGS="-p=1 -mod=readonly -buildvcs=false -trimpath"
            export CGO_ENABLED=0
            [ -n "${TC_S3_GOCACHE:-}" ] && export GOCACHE=$TC_S3_GOCACHE
            "${nicecmd[@]}" go build -ldflags "-s -w" -o "$tmp/weed" github.com/seaweedfs/seaweedfs/weed
        ) >"$tmp/build.log" 2>&1; then
            tail -n 30 "$tmp/build.log" >&2
            rm -rf "$tmp"
            die "weed build failed"
        fi
        mkdir -p "$CACHE_DIR/bin" "$CACHE_DIR/logs"
        mv -f "$tmp/build.log" "$CACHE_DIR/logs/"
        mv -f "$tmp/weed" "$WEED"
        rm -rf "$tmp"
        log "built weed in $(( $(date +%s) - t0 ))s"
    fi
    exec 9>&-
}

# --- processes -------------------------------------------------------------------
# alive: is the recorded pid a live weed of this state dir (not a reused pid)?
alive() {
    local pid
    [ -f "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE")
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE" || return 1
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# free_port VAR: a random TCP port that no socket uses, below the ephemeral
# range (as tests/k8s/cluster.sh picks them); gRPC ports are chosen too, as
# weed's default (port + 10000) may be taken.
free_port() {
    local p i lo=10000 hi
    hi=$(awk '{print $1 - 1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32767)
    [ "$hi" -gt $((lo + 1000)) ] || { lo=20000; hi=29999; }
    for ((i = 0; i < 200; i++)); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        case " ${USED_PORTS:-} " in *" $p "*) continue ;; esac
        if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
            USED_PORTS="${USED_PORTS:-} $p"
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    die "no free port found"
}

stop_server() {
    local pid i
    alive || { rm -f "$PIDFILE"; return 0; }
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive || break; sleep 0.1; done
    if alive; then
        log "weed ($pid) did not stop on TERM within 10s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do alive || break; sleep 0.1; done
    fi
    rm -f "$PIDFILE"
}

fail() {
    echo "seaweed.sh: error: $*" >&2
    if [ -f "$LOGS/weed.log" ]; then
        echo "---- last 40 lines of $LOGS/weed.log ----" >&2
        tail -n 40 "$LOGS/weed.log" >&2
        echo "----" >&2
    fi
    stop_server
    exit 1
}

# s3_put_bucket: create the bucket with a signed request; prints the status
s3_put_bucket() {
    curl -s -o /dev/null -w '%{http_code}' -X PUT --max-time 10 \
        --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        "http://127.0.0.1:$S3_PORT/$BUCKET" 2>/dev/null || true
}

up() {
    build
    alive && die "a server of $STATE is already running ('$0 down' first)"
    rm -rf "$STATE"
    mkdir -p "$STATE/data" "$LOGS"
    chmod 700 "$STATE"
    local MASTER_PORT MASTER_GRPC VOLUME_PORT VOLUME_GRPC FILER_PORT FILER_GRPC S3_PORT S3_GRPC
    for v in MASTER_PORT MASTER_GRPC VOLUME_PORT VOLUME_GRPC FILER_PORT FILER_GRPC S3_PORT S3_GRPC; do
        free_port "$v"
    done
    ACCESS_KEY=TC$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
    SECRET_KEY=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    (
        umask 077
        jq -n --arg a "$ACCESS_KEY" --arg s "$SECRET_KEY" '{identities: [{
            name: "trainctl", credentials: [{accessKey: $a, secretKey: $s}],
            actions: ["Admin", "Read", "List", "Tagging", "Write"]}]}' >"$STATE/s3.json"
        cat >"$STATE/env" <<EOF
export TC_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export TC_S3_REGION=us-east-1
export TC_S3_BUCKET=$BUCKET
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=us-east-1
EOF
    )
    # run in the state dir, in its own session, stdin closed
    (cd "$STATE" && exec setsid "$WEED" server -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -dir="$STATE/data" -volume.max=0 -master.volumeSizeLimitMB=256 \
        -master.port="$MASTER_PORT" -master.port.grpc="$MASTER_GRPC" \
        -master.telemetry=false \
        -volume.port="$VOLUME_PORT" -volume.port.grpc="$VOLUME_GRPC" \
        -filer -filer.port="$FILER_PORT" -filer.port.grpc="$FILER_GRPC" \
        -filer.localSocket="$STATE/filer.sock" \
        -s3 -s3.port="$S3_PORT" -s3.port.grpc="$S3_GRPC" -s3.port.iceberg=0 \
        -s3.port.lance=0 -s3.localSocket="$STATE/s3.sock" -s3.config="$STATE/s3.json" \
        </dev/null >>"$LOGS/weed.log" 2>&1) &
    echo $! >"$PIDFILE"
    local deadline=$((SECONDS + TIMEOUT)) code i
    # until the child has exec'd, its command line is this script's
    for ((i = 0; i < 500; i++)); do
        tr '\0' ' ' <"/proc/$(cat "$PIDFILE")/cmdline" 2>/dev/null | grep -qF -- "$STATE" && break
        sleep 0.01
    done
    # ready when the S3 gateway, with the filer and a volume behind it,
    # creates the bucket (polled, bounded by $TIMEOUT)
    while :; do
        code=$(s3_put_bucket)
        case $code in 200|409) break ;; esac
        alive || fail "weed exited while starting"
        [ "$SECONDS" -lt "$deadline" ] || fail "the S3 gateway did not answer within ${TIMEOUT}s (last status $code)"
        sleep 0.2
    done
    log "up: http://127.0.0.1:$S3_PORT bucket $BUCKET (pid $(cat "$PIDFILE"); state $STATE)"
}

case ${1:-} in
build) build ;;
up) up ;;
env) [ -f "$STATE/env" ] && alive || die "no server running for $STATE ('$0 up' first)"
     cat "$STATE/env" ;;
down) stop_server; rm -rf "$STATE" ;;
status) if alive; then echo "weed $(cat "$PIDFILE") running ($STATE)"; else echo "not running ($STATE)"; exit 1; fi ;;
*) echo "usage: $0 build|up|env|down|status" >&2; exit 2 ;;
esac
