#!/usr/bin/env bash
# shellcheck disable=SC2317  # the readiness checks are called through wait_for
# A real Kubernetes control plane on loopback for trainctl's Kubernetes tests:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler (built from the
# Go modules pinned in tests/k8s/tools/*/go.mod) and KWOK simulating the nodes.
#
#   cluster.sh build   build (or reuse) the cached binaries only
#   cluster.sh build-node  also the kubelet and CNI plugins (tests/k8s/kubelet.sh)
#   cluster.sh up      build if needed, start the cluster, write kubeconfigs
#   cluster.sh env     print shell exports for the running cluster
#   cluster.sh down    stop everything started by `up`, remove the state dir
#   cluster.sh status  show the recorded processes and whether they run
#   cluster.sh stop NAME [--kill] / start NAME
#                      stop one component (etcd, kube-apiserver,
#                      kube-controller-manager, kube-scheduler, kwok) with
#                      SIGTERM (or SIGKILL at once) / start it again with the
#                      same flags and ports and wait until it is ready
#
# Environment:
#   TC_K8S_CACHE     cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/trainctl-k8s);
#                    binaries go to $TC_K8S_CACHE/<versions>/bin
#   TC_K8S_GOCACHE   Go build cache for the build (default: the default GOCACHE)
#   TC_K8S_STATE     state dir (default /tmp/trainctl-k8s-$UID); holds certs,
#                    data, logs, pids and the kubeconfigs
#   TC_K8S_NODES     number of fake nodes (default 4), each with allocatable
#                    TC_K8S_NODE_CPU (64), TC_K8S_NODE_MEMORY (512Gi),
#                    TC_K8S_NODE_GPUS (8 nvidia.com/gpu), TC_K8S_NODE_PODS (256)
#   TC_K8S_TIMEOUT   seconds to wait for each component (default 90)
#   TC_K8S_BUILD_KUBECTL  1 (default) also builds kubectl into the cache; 0 skips it
#
# Everything listens on 127.0.0.1 only. The build runs under `nice -n 19` with
# GOFLAGS=-p=1 so that it does not starve other work on a small machine.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=$HERE/tools
NS=trainctl-test
SA=trainer

die() { echo "cluster.sh: error: $*" >&2; exit 1; }
log() { echo "cluster.sh: $*" >&2; }

# --- versions (read from the wrapper modules, the single source of truth) ----
modver() { # modver DIR MODULE -> version required by DIR/go.mod
    awk -v m="$2" '($1 == m && $2 ~ /^v/) || ($1 == "require" && $2 == m) { print ($1 == "require" ? $3 : $2); exit }' "$TOOLS/$1/go.mod"
}
K8S_VERSION=$(modver k8s k8s.io/kubernetes)
ETCD_VERSION=$(modver etcd go.etcd.io/etcd/server/v3)
KWOK_VERSION=$(modver kwok sigs.k8s.io/kwok)
if [ -z "$K8S_VERSION" ] || [ -z "$ETCD_VERSION" ] || [ -z "$KWOK_VERSION" ]; then
    die "cannot read versions from $TOOLS/*/go.mod"
fi
VERSION_KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"

CACHE_ROOT=${TC_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainctl-k8s}
CACHE_DIR=$CACHE_ROOT/$VERSION_KEY
BIN=$CACHE_DIR/bin
STATE=${TC_K8S_STATE:-/tmp/trainctl-k8s-$(id -u)}
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
TIMEOUT=${TC_K8S_TIMEOUT:-90}
NODES=${TC_K8S_NODES:-4}
NODE_CPU=${TC_K8S_NODE_CPU:-64}
NODE_MEMORY=${TC_K8S_NODE_MEMORY:-512Gi}
NODE_GPUS=${TC_K8S_NODE_GPUS:-8}
NODE_PODS=${TC_K8S_NODE_PODS:-256}
WANT_KUBECTL=${TC_K8S_BUILD_KUBECTL:-1}

K8S_BINS="kube-apiserver kube-controller-manager kube-scheduler"
[ "$WANT_KUBECTL" = 1 ] && K8S_BINS="$K8S_BINS kubectl"

# --- build ---------------------------------------------------------------------
have_bins() {
    local b
    for b in etcd kwok $K8S_BINS; do [ -x "$BIN/$b" ] || return 1; done
}

# go_build MODDIR LDFLAGS OUT PKG... : one `go build` per wrapper module (OUT is
# a directory ending in / for several packages, or the binary's path),
# niced, one package at a time, static, no DWARF.
go_build() {
    local dir=$1 ldflags=$2 out=$3; shift 3
    local nicecmd=(nice -n 19)
    command -v ionice >/dev/null && nicecmd+=(ionice -c 3)
    (
        cd "$TOOLS/$dir"
        export GOFLAGS="-p=1 -mod=readonly -buildvcs=false -trimpath"
        export CGO_ENABLED=0
        [ -n "${TC_K8S_GOCACHE:-}" ] && export GOCACHE=$TC_K8S_GOCACHE
        "${nicecmd[@]}" go build -ldflags "-s -w $ldflags" -o "$out" "$@"
    )
}

# k8s_ldflags: -X flags stamping the Kubernetes version into the binaries
k8s_ldflags() {
    local kmaj kmin date vpkg ld=""
    kmaj=${K8S_VERSION#v}; kmaj=${kmaj%%.*}
    kmin=${K8S_VERSION#v*.}; kmin=${kmin%%.*}
    date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    for vpkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ld="$ld -X $vpkg.gitVersion=$K8S_VERSION -X $vpkg.gitMajor=$kmaj -X $vpkg.gitMinor=$kmin"
        ld="$ld -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=$date"
    done
    echo "$ld"
}

# build-node (opt-in, for tests/k8s/kubelet.sh): the kubelet of the same
# release into $BIN, the CNI plugins of tools/cni/go.mod into
# $CACHE_ROOT/cni-<version>/bin. `up` never needs them.
CNI_VERSION=$(modver cni github.com/containernetworking/plugins)
CNI_BIN=$CACHE_ROOT/cni-$CNI_VERSION/bin
CNI_PLUGINS="main/bridge ipam/host-local main/loopback"
have_node_bins() {
    local p
    [ -x "$BIN/kubelet" ] || return 1
    for p in $CNI_PLUGINS; do [ -x "$CNI_BIN/${p#*/}" ] || return 1; done
}
build_node() {
    have_node_bins && return 0
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.lock"
    if ! flock -n 9; then
        log "another build of $VERSION_KEY is running; waiting for it"
        flock 9
    fi
    if ! have_node_bins; then
        command -v go >/dev/null || die "go is not installed"
        local t0 tmp p pkgs=()
        t0=$(date +%s)
        tmp=$(mktemp -d "$CACHE_DIR/.build-node.XXXXXX")
        if [ ! -x "$BIN/kubelet" ]; then
            log "building kubelet $K8S_VERSION (niced, -p=1)"
            go_build k8s "$(k8s_ldflags)" "$tmp/kubelet" k8s.io/kubernetes/cmd/kubelet \
                >"$tmp/build-kubelet.log" 2>&1 ||
                { tail -n 30 "$tmp/build-kubelet.log" >&2; rm -rf "$tmp"; die "kubelet build failed"; }
            mkdir -p "$BIN" && mv -f "$tmp/kubelet" "$BIN/kubelet"
        fi
        log "building CNI plugins $CNI_VERSION"
        for p in $CNI_PLUGINS; do pkgs+=("github.com/containernetworking/plugins/plugins/$p"); done
        mkdir -p "$tmp/cni"
        go_build cni "" "$tmp/cni/" "${pkgs[@]}" >"$tmp/build-cni.log" 2>&1 ||
            { tail -n 30 "$tmp/build-cni.log" >&2; rm -rf "$tmp"; die "CNI plugins build failed"; }
        mkdir -p "$CNI_BIN"
        for p in $CNI_PLUGINS; do mv -f "$tmp/cni/${p#*/}" "$CNI_BIN/"; done
        mkdir -p "$CACHE_DIR/logs" && mv "$tmp"/build-*.log "$CACHE_DIR/logs/"
        rm -rf "$tmp"
        log "built the node binaries in $(( $(date +%s) - t0 ))s"
    fi
    exec 9>&-
}

build() {
    build_locked
    local rc=$?
    exec 9>&-   # the daemons started by `up` must not inherit (and hold) the lock
    return $rc
}

build_locked() {
    have_bins && return 0   # the common case: no lock, no go needed
    mkdir -p "$CACHE_DIR"
    # One builder at a time per version; the others wait and then reuse.
    exec 9>"$CACHE_DIR/.lock"
    if ! flock -n 9; then
        log "another build of $VERSION_KEY is running; waiting for it"
        flock 9
    fi
    if have_bins; then return 0; fi
    command -v go >/dev/null || die "go is not installed (needs the go directive of $TOOLS/k8s/go.mod)"
    local t0 tmp
    t0=$(date +%s)
    rm -rf "$CACHE_DIR"/.build.*   # left by an interrupted build (we hold the lock)
    tmp=$(mktemp -d "$CACHE_DIR/.build.XXXXXX")
    log "cold build of $VERSION_KEY into $BIN (niced, -p=1; this takes a while)"

    local ld
    ld=$(k8s_ldflags)
    local pkgs=() b
    for b in $K8S_BINS; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done

    log "building etcd $ETCD_VERSION"
    go_build etcd "" "$tmp/etcd" go.etcd.io/etcd/server/v3 >"$tmp/build-etcd.log" 2>&1 ||
        { tail -n 30 "$tmp/build-etcd.log" >&2; die "etcd build failed (log: $tmp/build-etcd.log)"; }
    log "building kwok $KWOK_VERSION"
    go_build kwok "" "$tmp/" sigs.k8s.io/kwok/cmd/kwok >"$tmp/build-kwok.log" 2>&1 ||
        { tail -n 30 "$tmp/build-kwok.log" >&2; die "kwok build failed (log: $tmp/build-kwok.log)"; }
    log "building $K8S_BINS $K8S_VERSION"
    go_build k8s "$ld" "$tmp/" "${pkgs[@]}" >"$tmp/build-k8s.log" 2>&1 ||
        { tail -n 30 "$tmp/build-k8s.log" >&2; die "kubernetes build failed (log: $tmp/build-k8s.log)"; }

    mkdir -p "$BIN"
    for b in etcd kwok $K8S_BINS; do mv -f "$tmp/$b" "$BIN/$b"; done
    mkdir -p "$CACHE_DIR/logs" && mv "$tmp"/build-*.log "$CACHE_DIR/logs/"
    rm -rf "$tmp"
    local secs=$(( $(date +%s) - t0 ))
    echo "$secs" >"$CACHE_DIR/build-seconds"
    log "built $VERSION_KEY in ${secs}s"
}

# --- running processes ---------------------------------------------------------
STATE_MARK=.trainctl-k8s-state
# remove_state: only a dir this script made (marked) or an empty one, never
# whatever TC_K8S_STATE happens to point at.
remove_state() {
    if [ -f "$STATE/$STATE_MARK" ]; then
        rm -rf "$STATE"
    elif [ -d "$STATE" ] && [ -z "$(ls -A "$STATE")" ]; then
        rmdir "$STATE"
    elif [ -e "$STATE" ]; then
        die "$STATE is not a state dir made by cluster.sh (no $STATE_MARK); not removing it"
    fi
}
LOGS=$STATE/logs
PIDS=$STATE/pids
PKI=$STATE/pki
COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler kwok"

# alive NAME: the recorded process runs and is ours (its command line names
# the state dir, so a recycled pid is never taken for it).
alive() {
    local f=$PIDS/$1.pid pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$STATE" || return 1
    # a zombie is not alive
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# start NAME BINARY ARGS...: detached (own session), stdin closed, output to
# $LOGS/NAME.log, pid to $PIDS/NAME.pid.
start() {
    local name=$1; shift
    mkdir -p "$STATE/cmd"
    printf '%q ' "$@" >"$STATE/cmd/$name"   # for `cluster.sh start NAME`
    # run in the state dir: a test that restarts a component from its own
    # scratch directory must not leave the component's cwd there (test
    # cleanups kill what runs in their directories)
    (cd "$STATE" && exec setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1) &
    local pid=$! i
    echo "$pid" >"$PIDS/$name.pid"
    # until the child has exec'd, its command line is this script's, and
    # `alive` (which checks that the pid's command line names the state
    # dir, against pid reuse) would take it for dead
    for ((i = 0; i < 500; i++)); do
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE" && break
        [ -d "/proc/$pid" ] || break
        sleep 0.01
    done
}

fail() { # fail NAME MESSAGE: the tail of NAME's log, stop the cluster, exit
    local name=$1; shift
    echo "cluster.sh: error: $*" >&2
    if [ -f "$LOGS/$name.log" ]; then
        echo "---- last 40 lines of $LOGS/$name.log ----" >&2
        tail -n 40 "$LOGS/$name.log" >&2
        echo "----" >&2
    fi
    stop_all
    echo "cluster.sh: processes stopped; logs kept in $LOGS ('$0 down' removes them)" >&2
    # A port taken between free_port and the bind: `up` tries once more.
    if [ -f "$LOGS/$name.log" ] && tail -n 40 "$LOGS/$name.log" | grep -q 'address already in use'; then
        exit 75
    fi
    exit 1
}

# wait_for NAME WHAT CMD...: poll CMD (bounded by $TIMEOUT seconds) while
# NAME's process stays alive.
wait_for() {
    local name=$1 what=$2; shift 2
    local deadline=$((SECONDS + TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        alive "$name" || fail "$name" "$name exited while waiting for $what"
        [ "$SECONDS" -lt "$deadline" ] || fail "$name" "$what not reached within ${TIMEOUT}s"
        sleep 0.2
    done
    log "$(elapsed) $what: ok"
}

UP_T0=${EPOCHREALTIME:-0}
elapsed() { awk -v a="$UP_T0" -v b="${EPOCHREALTIME:-0}" 'BEGIN { printf "[%5.1fs]", b - a }'; }

stop_one() { # stop_one NAME [KILL]: TERM (or KILL at once), up to 10 s, then KILL
    local name=$1 sig=${2:-TERM} pid i
    alive "$name" || { rm -f "$PIDS/$name.pid"; return 0; }
    pid=$(cat "$PIDS/$name.pid")
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive "$name" || break; sleep 0.1; done
    if alive "$name"; then
        log "$name ($pid) did not stop on TERM within 10s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do alive "$name" || break; sleep 0.1; done
    fi
    # A dying process loses its command line (its memory goes first) before
    # its sockets close: wait until it is gone or a zombie, or a restart on
    # the same port finds the address still in use.
    local st
    for ((i = 0; i < 200; i++)); do
        st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || break
        [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ] && break
        sleep 0.05
    done
    rm -f "$PIDS/$name.pid"
}

stop_all() {
    local name
    for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_one "$name"; done
}

any_alive() {
    local name
    for name in $COMPONENTS; do alive "$name" && return 0; done
    return 1
}

# free_port VAR: sets VAR to a random TCP port that no socket uses (any state), below the
# kernel's ephemeral range, so that an outgoing connection cannot take it
# between this check and the bind.
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

# --- certificates (openssl) ------------------------------------------------------
gen_pki() {
    mkdir -p "$PKI"
    (
        cd "$PKI"
        umask 077
        openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
            -keyout ca.key -out ca.crt -subj "/CN=trainctl-test-ca" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
        # cert NAME SUBJECT EKU SAN KEY: KEY rsa (2048) or ec (P-256). What
        # trainctl's client sees (the API server, the admin) is RSA as on most
        # clusters; the internal components get EC keys, which are ~20x cheaper.
        cert() {
            local newkey=rsa:2048
            [ "$5" = ec ] && newkey="ec -pkeyopt ec_paramgen_curve:P-256"
            # shellcheck disable=SC2086
            openssl req -new -nodes -newkey $newkey -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
            {
                echo "basicConstraints=critical,CA:FALSE"
                echo "keyUsage=critical,digitalSignature,keyEncipherment"
                echo "extendedKeyUsage=$3"
                [ -z "$4" ] || echo "subjectAltName=$4"
            } >"$1.ext"
            openssl x509 -req -sha256 -days 365 -in "$1.csr" -CA ca.crt -CAkey ca.key \
                -CAcreateserial -out "$1.crt" -extfile "$1.ext" 2>/dev/null
            rm -f "$1.csr" "$1.ext"
        }
        local san="IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
        cert apiserver "/CN=kube-apiserver" serverAuth "$san" rsa
        cert admin "/O=system:masters/CN=trainctl-admin" clientAuth "" rsa
        cert kwok-serving "/CN=kwok" serverAuth "IP:127.0.0.1,DNS:localhost" ec
        cert kube-controller-manager "/CN=system:kube-controller-manager" clientAuth "" ec
        cert kube-scheduler "/CN=system:kube-scheduler" clientAuth "" ec
        cert kwok "/O=system:masters/CN=kwok-controller" clientAuth "" ec
        cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth "" ec
        # service-account token signing key pair
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
        openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
        rm -f ca.srl
    ) || die "certificate generation with openssl failed"
}

# write_cert_kubeconfig FILE USER: a kubeconfig with a client certificate (files)
write_cert_kubeconfig() {
    cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: trainctl-test
  cluster:
    server: $SERVER
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: $2@trainctl-test
  context:
    cluster: trainctl-test
    user: $2
current-context: $2@trainctl-test
EOF
}

# --- API calls (curl, admin client certificate) -----------------------------------
# api METHOD PATH [JSON]: prints the body; returns 0 on 2xx, and on 409 for POST
# (AlreadyExists: `up` is idempotent about its objects).
api() {
    local method=$1 path=$2 data=${3:-} out code
    out=$(mktemp)
    code=$(curl -sS -o "$out" -w '%{http_code}' --max-time 20 \
        --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
        -X "$method" -H 'Content-Type: application/json' -H 'Accept: application/json' \
        ${data:+--data-binary "$data"} "$SERVER$path") || code=000
    cat "$out"; rm -f "$out"
    case "$code" in
        2??) return 0 ;;
        409) [ "$method" = POST ] && return 0 ;;
    esac
    echo "cluster.sh: $method $path -> HTTP $code" >&2
    return 1
}

create() { # create PATH JSON (fails loudly)
    api POST "$1" "$2" >/dev/null || fail kube-apiserver "could not create $1: $2"
}

readyz() { curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$SERVER/readyz"; }
healthz_insecure() { curl -fsSk --max-time 5 "https://127.0.0.1:$1/healthz"; }
etcd_health() { curl -fsS --max-time 5 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }

nodes_ready() {
    api GET "/api/v1/nodes?labelSelector=type%3Dkwok" | jq -e --argjson n "$NODES" '
        [.items[] | select(
            ([.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length) == 1
            and ([.spec.taints[]? | select(.key | startswith("node.kubernetes.io/"))] | length) == 0
        )] | length == $n' >/dev/null
}
sa_exists() { api GET "/api/v1/namespaces/$NS/serviceaccounts/$1" >/dev/null 2>&1; }

# The GPU class of node I (the label NVIDIA's GPU feature discovery sets),
# so trials that select a GPU type land on nodes of that type: node 0 an
# A100, node 1 an RTX 3090, node 2 a GTX 1080 Ti, and round again.
GPU_PRODUCTS=(NVIDIA-A100-SXM4-80GB NVIDIA-GeForce-RTX-3090 NVIDIA-GeForce-GTX-1080-Ti)

node_json() { # NAME INDEX
    jq -n --arg name "$1" --arg cpu "$NODE_CPU" --arg mem "$NODE_MEMORY" --arg gpu "$NODE_GPUS" \
        --arg pods "$NODE_PODS" --arg product "${GPU_PRODUCTS[$(($2 % 3))]}" '{
      apiVersion: "v1", kind: "Node",
      metadata: {
        name: $name,
        labels: {
          type: "kwok",
          "kubernetes.io/hostname": $name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          "node-role.kubernetes.io/agent": "",
          "nvidia.com/gpu.present": "true",
          "nvidia.com/gpu.product": $product
        },
        annotations: {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}
      },
      spec: {},
      status: {
        allocatable: {cpu: $cpu, memory: $mem, "ephemeral-storage": "1Ti", "nvidia.com/gpu": $gpu, pods: $pods},
        capacity:    {cpu: $cpu, memory: $mem, "ephemeral-storage": "1Ti", "nvidia.com/gpu": $gpu, pods: $pods},
        nodeInfo: {architecture: "amd64", operatingSystem: "linux", kubeletVersion: "fake", kubeProxyVersion: "fake"}
      }
    }'
}

# --- up / down / env ------------------------------------------------------------------
up() {
    build
    have_bins || die "binaries missing in $BIN after the build"
    # In a subshell not tested by || or if, so that set -e still holds inside.
    local rc try
    for try in 1 2; do
        set +e
        (up_once)
        rc=$?
        set -e
        if [ "$rc" != 75 ] || [ "$try" = 2 ]; then break; fi
        log "a port was taken meanwhile; starting again with other ports"
    done
    return "$rc"
}

up_once() {
    if [ -d "$STATE" ]; then
        any_alive && die "a cluster is already running with state dir $STATE ('$0 down' first, or set TC_K8S_STATE)"
        remove_state
    fi
    mkdir -p "$STATE" "$LOGS" "$PIDS" "$STATE/kwok-home"
    touch "$STATE/$STATE_MARK"
    chmod 700 "$STATE"
    gen_pki
    log "$(elapsed) certificates made"

    local v
    for v in ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHED_PORT KWOK_PORT; do free_port "$v"; done
    SERVER=https://127.0.0.1:$API_PORT
    cat >"$STATE/ports" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
API_PORT=$API_PORT
KCM_PORT=$KCM_PORT
SCHED_PORT=$SCHED_PORT
KWOK_PORT=$KWOK_PORT
SERVER=$SERVER
EOF

    local c
    for c in admin kube-controller-manager kube-scheduler kwok; do
        write_cert_kubeconfig "$STATE/$c.kubeconfig" "$c"
    done

    log "starting etcd on 127.0.0.1:$ETCD_PORT"
    start etcd "$BIN/etcd" --name=trainctl --data-dir="$STATE/etcd" \
        --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster="trainctl=http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster-state=new --auto-compaction-retention=1 \
        --unsafe-no-fsync --log-level=warn
    wait_for etcd "etcd /health" etcd_health

    log "starting kube-apiserver on $SERVER"
    start kube-apiserver "$BIN/kube-apiserver" \
        --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
        --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
        --client-ca-file="$PKI/ca.crt" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$PKI/sa.pub" \
        --service-account-signing-key-file="$PKI/sa.key" \
        --service-cluster-ip-range=10.96.0.0/16 \
        --endpoint-reconciler-type=none \
        --authorization-mode=Node,RBAC \
        --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
        --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority="$PKI/ca.crt" \
        --kubelet-preferred-address-types=InternalIP \
        --cert-dir="$STATE/apiserver-certs" \
        --profiling=false
    wait_for kube-apiserver "kube-apiserver /readyz" readyz

    log "starting kube-controller-manager, kube-scheduler, kwok"
    start kube-controller-manager "$BIN/kube-controller-manager" \
        --kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
        --authentication-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
        --authorization-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
        --bind-address=127.0.0.1 --secure-port="$KCM_PORT" \
        --leader-elect=false --controllers='*' \
        --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
        --use-service-account-credentials=true \
        --kube-api-qps=1000 --kube-api-burst=2000 \
        --profiling=false
    start kube-scheduler "$BIN/kube-scheduler" \
        --kubeconfig="$STATE/kube-scheduler.kubeconfig" \
        --authentication-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
        --authorization-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
        --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" \
        --leader-elect=false --kube-api-qps=1000 --kube-api-burst=2000 \
        --profiling=false

    # kwok: stages from tests/k8s/stages, and one log file for every container
    # in the test namespace (CRI format, see README).
    mkdir -p "$STATE/pod-logs"
    : >"$STATE/pod-logs/default.log"
    {
        cat "$HERE/stages/stages.yaml"
        cat <<EOF
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: trainctl-test-logs
spec:
  selector:
    matchNamespaces: ["$NS"]
  logs:
  - logsFile: $STATE/pod-logs/default.log
    follow: true
EOF
    } >"$STATE/kwok.yaml"
    # HOME: kwok also loads ~/.kwok/kwok.yaml when it exists; keep it out.
    start kwok env HOME="$STATE/kwok-home" "$BIN/kwok" \
        --kubeconfig="$STATE/kwok.kubeconfig" --config="$STATE/kwok.yaml" \
        --manage-all-nodes=false --manage-nodes-with-label-selector=type=kwok \
        --node-ip=127.0.0.1 --node-port="$KWOK_PORT" \
        --server-address="127.0.0.1:$KWOK_PORT" \
        --tls-cert-file="$PKI/kwok-serving.crt" --tls-private-key-file="$PKI/kwok-serving.key" \
        --node-lease-duration-seconds=40 --cidr=10.0.0.1/16

    # Objects that need only the API server, while the others start.
    local i
    for ((i = 0; i < NODES; i++)); do create /api/v1/nodes "$(node_json "kwok-node-$i" "$i")"; done
    create /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$NS\"}}"
    create "/api/v1/namespaces/$NS/serviceaccounts" \
        "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"$SA\"}}"
    create "/apis/rbac.authorization.k8s.io/v1/namespaces/$NS/roles" "$(jq -nc --arg n "$SA" '{
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: {name: $n},
      rules: [
        {apiGroups: [""], resources: ["pods", "pods/log", "configmaps", "services", "events"],
         verbs: ["get", "list", "watch", "create", "delete", "patch", "update"]},
        {apiGroups: ["batch"], resources: ["jobs"],
         verbs: ["get", "list", "watch", "create", "delete", "patch", "update"]},
        {apiGroups: ["events.k8s.io"], resources: ["events"],
         verbs: ["get", "list", "watch", "create", "delete", "patch", "update"]}
      ]}')"
    create "/apis/rbac.authorization.k8s.io/v1/namespaces/$NS/rolebindings" "$(jq -nc --arg n "$SA" --arg ns "$NS" '{
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: {name: $n},
      roleRef: {apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: $n},
      subjects: [{kind: "ServiceAccount", name: $n, namespace: $ns}]}')"

    # The trainer's bearer token, from the TokenRequest API.
    local token
    token=$(api POST "/api/v1/namespaces/$NS/serviceaccounts/$SA/token" \
        '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":86400}}' |
        jq -er .status.token) || fail kube-apiserver "TokenRequest for $NS/$SA failed"
    (umask 077; printf '%s' "$token" >"$STATE/trainer.token")
    (umask 077; cat >"$STATE/trainer.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: trainctl-test
  cluster:
    server: $SERVER
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: $SA
  user:
    token: $token
contexts:
- name: $SA@trainctl-test
  context:
    cluster: trainctl-test
    user: $SA
    namespace: $NS
current-context: $SA@trainctl-test
EOF
)

    wait_for kube-controller-manager "kube-controller-manager /healthz" healthz_insecure "$KCM_PORT"
    wait_for kube-scheduler "kube-scheduler /healthz" healthz_insecure "$SCHED_PORT"
    wait_for kwok "kwok /healthz" healthz_insecure "$KWOK_PORT"
    wait_for kwok "$NODES kwok nodes Ready and untainted" nodes_ready
    # Pods that name no service account need "default" (made by the controller manager).
    wait_for kube-controller-manager "ServiceAccount $NS/default" sa_exists default

    log "$(elapsed) up: $SERVER, state in $STATE"
    log "use:  eval \"\$($0 env)\""
}

load_state() {
    [ -f "$STATE/ports" ] || die "no cluster state in $STATE (run '$0 up' first)"
    # shellcheck disable=SC1091
    . "$STATE/ports"
}

env_cmd() {
    load_state
    any_alive || die "the cluster in $STATE is not running"
    q() { printf 'export %s=%q\n' "$1" "$2"; }
    q TC_K8S_STATE "$STATE"
    q TC_K8S_SERVER "$SERVER"
    q TC_K8S_NAMESPACE "$NS"
    q TC_K8S_CA "$PKI/ca.crt"
    q TC_K8S_ADMIN_KUBECONFIG "$STATE/admin.kubeconfig"
    q TC_K8S_TRAINER_KUBECONFIG "$STATE/trainer.kubeconfig"
    q TC_K8S_TRAINER_TOKEN_FILE "$STATE/trainer.token"
    q TC_K8S_POD_LOG "$STATE/pod-logs/default.log"
    q TC_K8S_BIN "$BIN"
    [ -x "$BIN/kubectl" ] && q TC_K8S_KUBECTL "$BIN/kubectl"
    q KUBECONFIG "$STATE/trainer.kubeconfig"
}

# ready NAME: the readiness check of one component
ready() {
    case "$1" in
        etcd) etcd_health ;;
        kube-apiserver) readyz ;;
        kube-controller-manager) healthz_insecure "$KCM_PORT" ;;
        kube-scheduler) healthz_insecure "$SCHED_PORT" ;;
        kwok) healthz_insecure "$KWOK_PORT" ;;
        *) return 1 ;;
    esac
}

check_component() {
    case " $COMPONENTS " in *" ${1:-} "*) ;; *) die "component must be one of: $COMPONENTS" ;; esac
}

# cluster.sh stop NAME [--kill] / start NAME: for fault tests (an API server restarted
# mid-sweep). start re-runs NAME with the same command line and ports and
# waits until it is ready.
stop_cmd() {
    check_component "${1:-}"; load_state
    case "${2:-}" in
        "") stop_one "$1" TERM ;;
        --kill) stop_one "$1" KILL ;;
        *) die "usage: $0 stop NAME [--kill]" ;;
    esac
    log "$1 stopped"
}

start_cmd() {
    check_component "${1:-}"; load_state
    alive "$1" && die "$1 is already running"
    [ -f "$STATE/cmd/$1" ] || die "no recorded command line for $1 in $STATE/cmd"
    local args
    args=$(cat "$STATE/cmd/$1")
    eval "start $1 $args"
    wait_for "$1" "$1 ready" ready "$1"
}

status_cmd() {
    local name
    [ -d "$STATE" ] || { echo "no state dir $STATE"; return 1; }
    for name in $COMPONENTS; do
        if alive "$name"; then echo "$name: running (pid $(cat "$PIDS/$name.pid"))"
        else echo "$name: not running"; fi
    done
}

down() {
    if [ ! -d "$STATE" ]; then log "nothing to stop ($STATE does not exist)"; return 0; fi
    stop_all
    remove_state
    log "stopped; removed $STATE"
}

main() {
    case "${1:-}" in
        build) build; log "binaries in $BIN" ;;
        build-node) build_node; log "kubelet in $BIN, CNI plugins in $CNI_BIN" ;;
        node-env) echo "TC_K8S_KUBELET=$BIN/kubelet"; echo "TC_K8S_CNI_BIN=$CNI_BIN" ;;
        up) up ;;
        down) down ;;
        env) env_cmd ;;
        status) status_cmd ;;
        stop) stop_cmd "${2:-}" "${3:-}" ;;
        start) start_cmd "${2:-}" ;;
        *) echo "usage: $0 build|build-node|node-env|up|down|env|status|stop NAME|start NAME" >&2; exit 2 ;;
    esac
}

# On one line, so that bash has read all of it before running: editing this
# file while a long build runs cannot change what the running script does.
main "$@"; exit $?
