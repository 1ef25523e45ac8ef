#!/usr/bin/env bash
# A real kubelet node in the test cluster (ctest k8s/kubelet, root only): the
# control plane of cluster.sh (own state dir, one kwok node) plus a node
# tc-node-1 that is kubelet v<cluster release> + containerd + runc (Debian)
# + the CNI bridge/host-local/loopback plugins, running real containers from
# images built here (no registry), and a small cluster DNS (node/dns.py).
#
#   kubelet.sh          up, check, down; exit 0 when every check passes
#   kubelet.sh up       start the cluster and the node (binaries built once)
#   kubelet.sh check    a busybox pod pinned to tc-node-1 runs to Succeeded
#                       and its log is read through the API server; an
#                       Indexed Job of 2 pods finds rank 0 by its headless
#                       Service name and talks to it over TCP; with
#                       TC_FMNIST_TRAIN, the trainer runs in a pod, and
#                       with TC_TRAINCTL too, trainctl runs a 2-rank trial
#                       of examples/cifar-ddp on the node
#   kubelet.sh down     stop everything `up` started, remove its state
#   kubelet.sh env      exports for the cluster (as cluster.sh env)
#
# Environment: TC_K8S_KUBELET_STATE (default /tmp/trainctl-kubelet-$UID),
# TC_FMNIST_TRAIN (the trainer binary: also run it in a pod from an image of
# it and its libraries), TC_TRAINCTL (the trainctl binary: with
# TC_FMNIST_TRAIN, run the 2-rank example with it), TC_K8S_TIMEOUT (seconds
# per wait, default 120).
# One such node per machine: it owns the bridge tcbr0 (10.246.0.0/24, the
# node's InternalIP and the DNS at 10.246.0.1) and the cgroup
# /trainctl-tc-node-1 in every cgroup hierarchy.
#
# Host changes, all undone by `down`: the bridge, the cgroup dirs. The
# kubelet's kernel tunables (vm.overcommit_memory=1, kernel.panic=10,
# kernel.panic_on_oops=1, which it writes when protectKernelDefaults is false
# and refuses to start without when it is true) land in files bind-mounted
# over /proc/sys/... in a private mount namespace that containerd and the
# kubelet share; the host's values are never changed. See README.md,
# "A real kubelet".
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KSTATE=${TC_K8S_KUBELET_STATE:-/tmp/trainctl-kubelet-$(id -u)}
case $KSTATE in /*) ;; *) KSTATE=$PWD/$KSTATE ;; esac
TIMEOUT=${TC_K8S_TIMEOUT:-120}
export TC_K8S_STATE=$KSTATE/cluster
export TC_K8S_NODES=1
NODE=tc-node-1
BRIDGE=tcbr0
NODE_IP=10.246.0.1
SUBNET=10.246.0.0/24
CGROUP=trainctl-$NODE
NS=trainctl-test
MARK=.trainctl-kubelet-state
SYSCTLS="vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes"

die() { echo "kubelet.sh: error: $*" >&2; exit 1; }
log() { echo "kubelet.sh: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# alive NAME: the recorded pid runs and its command line names the state dir
alive() {
    local f=$KSTATE/pids/$1.pid pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$KSTATE" || return 1
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# start NAME CMD...: detached, logging to logs/NAME.log, pid in pids/NAME.pid
start() {
    local name=$1 pid i; shift
    (cd "$KSTATE" && exec setsid "$@" </dev/null >>"$KSTATE/logs/$name.log" 2>&1) &
    pid=$!
    echo "$pid" >"$KSTATE/pids/$name.pid"
    for ((i = 0; i < 500; i++)); do
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$KSTATE" && break
        [ -d "/proc/$pid" ] || break
        sleep 0.01
    done
}

# wait_until SECONDS CMD...: poll CMD until it succeeds; 1 on timeout
wait_until() {
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# wait_for WHAT NAME CMD...: poll CMD until it succeeds (deadline TIMEOUT);
# give up at once if process NAME (if not "-") has exited
wait_for() {
    local what=$1 name=$2 deadline; shift 2
    deadline=$(( $(date +%s) + TIMEOUT ))
    until "$@" >/dev/null 2>&1; do
        if [ "$name" != - ] && ! alive "$name"; then
            tail -n 30 "$KSTATE/logs/$name.log" >&2 || true
            die "$name exited while waiting for $what"
        fi
        [ "$(date +%s)" -lt "$deadline" ] || {
            [ "$name" = - ] || tail -n 30 "$KSTATE/logs/$name.log" >&2 || true
            die "timed out after ${TIMEOUT}s waiting for $what"
        }
        sleep 0.2
    done
}

free_port() { # free_port VAR: an unused 127.0.0.1/any TCP port below the ephemeral range
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 9000))
        case " ${USED_PORTS:-} " in *" $p "*) continue ;; esac
        if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
            USED_PORTS="${USED_PORTS:-} $p"
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    die "no free port found"
}

cgroup_dirs() { # the cgroup hierarchies' mount points (v1, and v2 if mounted)
    awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts
}

need() {
    local c missing=""
    for c in containerd ctr runc gcc unshare nsenter ip jq openssl curl ss tar sha256sum; do
        command -v "$c" >/dev/null || missing="$missing $c"
    done
    [ -z "$missing" ] || die "missing:$missing (apt-get install -y containerd runc busybox-static gcc libc6-dev util-linux iproute2 jq openssl curl)"
    [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
        die "no static /bin/busybox (apt-get install -y busybox-static)"
}

kubectl() { "$TC_K8S_BIN/kubectl" --kubeconfig "$TC_K8S_STATE/admin.kubeconfig" "$@"; }
cluster_env() { eval "$("$HERE/cluster.sh" env)"; }

# --- up ------------------------------------------------------------------------
up() {
    local t0 tb
    t0=$(now)
    need
    if [ -e "$KSTATE" ]; then die "$KSTATE exists: run '$0 down' first"; fi
    ip link show "$BRIDGE" >/dev/null 2>&1 &&
        die "bridge $BRIDGE exists: another kubelet node runs on this machine (its kubelet.sh down removes it)"

    tb=$(now)
    "$HERE/cluster.sh" build-node
    eval "$("$HERE/cluster.sh" node-env)"
    log "[$(since "$t0")s] binaries ready ($(since "$tb")s)"

    mkdir -p "$KSTATE"/{pids,logs,run,pki,bin,images,fakesys,cni/conf,cni/ipam,kubelet,pod-logs,opt}
    touch "$KSTATE/$MARK"
    "$HERE/cluster.sh" up
    cluster_env
    log "[$(since "$t0")s] control plane up: $TC_K8S_SERVER"

    # the node's credentials, from the cluster's CA (as cluster.sh makes them)
    local pki=$TC_K8S_STATE/pki
    (
        cd "$KSTATE/pki"
        umask 077
        cert() { # NAME SUBJECT EKU SAN
            openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
                -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
            {
                echo "basicConstraints=critical,CA:FALSE"
                echo "keyUsage=critical,digitalSignature,keyEncipherment"
                echo "extendedKeyUsage=$3"
                [ -z "$4" ] || echo "subjectAltName=$4"
            } >"$1.ext"
            openssl x509 -req -sha256 -days 365 -in "$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
                -CAcreateserial -CAserial ca.srl -out "$1.crt" -extfile "$1.ext" 2>/dev/null
            rm -f "$1.csr" "$1.ext"
        }
        cert kubelet-client "/O=system:nodes/CN=system:node:$NODE" clientAuth ""
        cert kubelet-serving "/CN=$NODE" serverAuth "IP:$NODE_IP,DNS:$NODE"
    ) || die "certificate generation failed"
    cat >"$KSTATE/kubelet.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: trainctl-test
  cluster: {server: "$TC_K8S_SERVER", certificate-authority: "$pki/ca.crt"}
users:
- name: $NODE
  user: {client-certificate: "$KSTATE/pki/kubelet-client.crt", client-key: "$KSTATE/pki/kubelet-client.key"}
contexts:
- name: $NODE
  context: {cluster: trainctl-test, user: $NODE}
current-context: $NODE
EOF

    # images: the sandbox ("pause") and busybox, as OCI layout tarballs
    gcc -O2 -static -o "$KSTATE/bin/pause" "$HERE/node/pause.c" || die "cannot build pause (gcc -static; libc6-dev)"
    mkdir -p "$KSTATE/images/pause" "$KSTATE/images/busybox/bin"
    cp "$KSTATE/bin/pause" "$KSTATE/images/pause/pause"
    cp /bin/busybox "$KSTATE/images/busybox/bin/busybox"
    local a
    for a in sh echo cat ls sleep hostname nslookup wget env true nc grep; do
        ln -s busybox "$KSTATE/images/busybox/bin/$a"
    done
    "$HERE/node/mkimage.sh" "$KSTATE/images/pause" localhost/trainctl/pause:v1 "$KSTATE/images/pause.tar" /pause
    "$HERE/node/mkimage.sh" "$KSTATE/images/busybox" localhost/trainctl/busybox:v1 "$KSTATE/images/busybox.tar" /bin/sh

    # network: the CNI bridge, made here so that the node IP exists before the
    # kubelet starts (the kubelet refuses a loopback node IP)
    ip link add "$BRIDGE" type bridge
    ip addr add "$NODE_IP/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    cat >"$KSTATE/cni/conf/10-trainctl.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "trainctl-test",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$KSTATE/cni/ipam",
              "ranges": [[{"subnet": "$SUBNET", "gateway": "$NODE_IP"}]]}}
  ]
}
EOF

    # cgroups: /trainctl-tc-node-1 in each hierarchy (cpuset needs cpus/mems)
    local d
    for d in $(cgroup_dirs); do mkdir -p "$d/$CGROUP"; done
    if [ -d /sys/fs/cgroup/cpuset/$CGROUP ]; then
        cat /sys/fs/cgroup/cpuset/cpuset.cpus >/sys/fs/cgroup/cpuset/$CGROUP/cpuset.cpus
        cat /sys/fs/cgroup/cpuset/cpuset.mems >/sys/fs/cgroup/cpuset/$CGROUP/cpuset.mems
    fi

    # the private mount namespace (held by a pause process) with the fake
    # kernel tunables
    start nsholder unshare --mount --propagation private "$KSTATE/bin/pause"
    local h
    h=$(cat "$KSTATE/pids/nsholder.pid")
    ns_ready() { [ "$(readlink "/proc/$h/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]; }
    wait_for "the mount namespace" nsholder ns_ready
    local s f
    for s in $SYSCTLS; do
        f=$KSTATE/fakesys/${s//\//.}
        cat "/proc/sys/$s" >"$f"
        nsenter -t "$h" -m mount --bind "$f" "/proc/sys/$s"
    done

    local kport hport
    free_port kport; free_port hport
    cat >"$KSTATE/containerd.toml" <<EOF
version = 2
root = "$KSTATE/containerd-root"
state = "$KSTATE/containerd-state"
[grpc]
  address = "$KSTATE/run/containerd.sock"
[ttrpc]
  address = "$KSTATE/run/containerd-ttrpc.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/trainctl/pause:v1"
  disable_apparmor = true
  # no CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj (-998 for sandboxes)
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$KSTATE/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$TC_K8S_CNI_BIN"
    conf_dir = "$KSTATE/cni/conf"
    max_conf_num = 1
[plugins."io.containerd.internal.v1.opt"]
  path = "$KSTATE/opt"
EOF
    start containerd nsenter -t "$h" -m containerd --config "$KSTATE/containerd.toml"
    ctr_ok() { ctr -a "$KSTATE/run/containerd.sock" version; }
    wait_for "containerd" containerd ctr_ok
    local img
    for img in pause busybox; do
        ctr -a "$KSTATE/run/containerd.sock" -n k8s.io images import "$KSTATE/images/$img.tar" >/dev/null
    done
    log "[$(since "$t0")s] containerd up, images imported"

    cat >"$KSTATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP
containerRuntimeEndpoint: unix://$KSTATE/run/containerd.sock
address: $NODE_IP
port: $kport
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $hport
tlsCertFile: $KSTATE/pki/kubelet-serving.crt
tlsPrivateKeyFile: $KSTATE/pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: AlwaysAllow}
podLogsDir: $KSTATE/pod-logs
resolvConf: /etc/resolv.conf
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
maxPods: 16
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
registerNode: true
EOF
    # cluster DNS: headless Services' records from the EndpointSlices; run
    # by the interpreter itself, not a wrapper such as a pyenv shim that
    # re-execs (while it does, its pid's command line does not name the
    # state dir and `alive` says it exited)
    local py
    py=$(python3 -c 'import sys; print(sys.executable)') || die "no python3"
    start dns "$py" "$HERE/node/dns.py" "$NODE_IP" 53 "$TC_K8S_SERVER" \
        "$pki/ca.crt" "$pki/admin.crt" "$pki/admin.key" cluster.local
    dns_ready() { [ -n "$(ss -Huln "sport = :53" | grep -F "$NODE_IP:53")" ]; }
    wait_for "the DNS responder on $NODE_IP:53" dns dns_ready

    echo "$hport" >"$KSTATE/healthz-port"
    start kubelet nsenter -t "$h" -m "$TC_K8S_KUBELET" --config="$KSTATE/kubelet.yaml" \
        --kubeconfig="$KSTATE/kubelet.kubeconfig" --root-dir="$KSTATE/kubelet" \
        --cert-dir="$KSTATE/kubelet-certs" --hostname-override="$NODE" \
        --node-ip="$NODE_IP" --node-labels=type=kubelet -v=1
    node_ready() {
        [ "$(kubectl get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
    }
    wait_for "node $NODE Ready" kubelet node_ready
    log "[$(since "$t0")s] node $NODE Ready ($(kubectl get node "$NODE" -o jsonpath='{.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion}'))"
}

# --- check ---------------------------------------------------------------------
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }

pod_phase() { kubectl -n "$NS" get pod "$1" -o jsonpath='{.status.phase}' 2>/dev/null; }
pod_done() { case $(pod_phase "$1") in Succeeded | Failed) return 0 ;; esac; return 1; }

# run_pod NAME IMAGE ENV COMMAND: a pod on the node running `sh -c COMMAND`
# (ENV a YAML list of env entries, or ""), waited for; sets t0 (its
# creation), phase and logs (its log, read through the API server).
run_pod() {
    local name=$1 image=$2 env=$3 cmd=$4
    kubectl -n "$NS" delete pod "$name" --ignore-not-found --wait=true >/dev/null
    t0=$(now)
    kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $name, namespace: $NS}
spec:
  nodeName: $NODE
  restartPolicy: Never
  automountServiceAccountToken: false
  containers:
  - name: main
    image: $image
    imagePullPolicy: Never
    env: ${env:-[]}
    command: ["/bin/sh", "-c", $(jq -Rn --arg c "$cmd" '$c')]
EOF
    wait_until "$TIMEOUT" pod_done "$name" || true
    phase=$(pod_phase "$name")
    logs=$(kubectl -n "$NS" logs "$name" 2>&1 || true)
}

check() {
    cluster_env
    local t0 phase logs
    run_pod hello localhost/trainctl/busybox:v1 "" \
        "echo hello from \$(hostname); grep memory /proc/self/cgroup; ls /proc/1/exe >/dev/null && echo pid1 ok"
    if [ "$phase" = Succeeded ]; then ok "pod hello Succeeded on $NODE in $(since "$t0")s (create to Succeeded)"
    else bad "pod hello is '$phase'"; kubectl -n "$NS" describe pod hello | tail -n 15; fi
    echo "$logs" | sed 's/^/    log: /'
    if echo "$logs" | grep -q '^hello from hello$' && echo "$logs" | grep -q "/$CGROUP/kubepods/"; then
        ok "its log, read through the API server, is the container's output (cgroup under /$CGROUP)"
    else
        bad "log of pod hello: $logs"
    fi
    check_indexed_job
    check_trainer
    check_trainctl_ddp
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" = 0 ]
}

# check_trainer: with TC_FMNIST_TRAIN (the trainer binary), an image of the
# trainer and the shared libraries it links (from ldd, flat in
# /lib/x86_64-linux-gnu, the loader at its ELF interpreter path) plus
# busybox; a pod makes the CIFAR-10-format sample and trains the CNN one
# epoch on it
check_trainer() {
    local bin=${TC_FMNIST_TRAIN:-} t0 phase logs
    [ -n "$bin" ] || { echo "note: TC_FMNIST_TRAIN unset: no trainer image check"; return 0; }
    local root=$KSTATE/images/trainer lib
    rm -rf "$root"
    mkdir -p "$root/bin" "$root/lib/x86_64-linux-gnu" "$root/tmp"
    chmod 1777 "$root/tmp"
    cp -a "$KSTATE/images/busybox/bin/." "$root/bin/"
    cp "$bin" "$root/bin/fmnist-train"
    for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
        cp -L "$lib" "$root/lib/x86_64-linux-gnu/$(basename "$lib")"
    done
    local interp
    interp=$(ldd "$bin" | awk '$1 ~ /^\/.*ld-linux/ { print $1 }')
    mkdir -p "$root$(dirname "$interp")"
    cp -L "$interp" "$root$interp"
    "$HERE/node/mkimage.sh" "$root" localhost/trainctl/fmnist-train:v1 "$KSTATE/images/trainer.tar" /bin/fmnist-train
    ctr -a "$KSTATE/run/containerd.sock" -n k8s.io images import "$KSTATE/images/trainer.tar" >/dev/null
    echo "    trainer image: $(du -h "$KSTATE/images/trainer.tar" | cut -f1) ($(ls "$root/lib/x86_64-linux-gnu" | tr '\n' ' '))"
    run_pod trainer localhost/trainctl/fmnist-train:v1 \
        '[{name: OPENBLAS_NUM_THREADS, value: "1"}]' \
        "fmnist-train --make-cifar-sample /tmp/c && exec fmnist-train --dataset cifar10 --data /tmp/c --model cnn --channels 4,8 --epochs 1 --train-limit 500 --test-limit 200 --batch-size 50"
    echo "$logs" | sed 's/^/    log: /'
    if [ "$phase" = Succeeded ] && echo "$logs" | grep -q '^final test_acc='; then
        ok "trainer pod (image from the binary and its libraries) Succeeded in $(since "$t0")s with its final metrics line"
    else
        bad "trainer pod is '$phase'"
    fi
}

# check_trainctl_ddp: with TC_FMNIST_TRAIN and TC_TRAINCTL (the built
# trainctl), seed 003's example (examples/cifar-ddp/cifar-ddp.yaml) cut to one
# learning rate and one epoch on the synthetic sample, run by the real
# trainctl (`run --backend kubernetes`, as the namespaced ServiceAccount, as
# tests/k8s/lib.sh runs it): an Indexed Job of 2 pods on tc-node-1 whose
# ranks rendezvous at MASTER_ADDR=<job>-0.<job> and all-reduce over TCP
check_trainctl_ddp() {
    local tc=${TC_TRAINCTL:-} dir=$KSTATE/trainctl exp=cifar-ddp-node t0 out id pods log0
    [ -n "${TC_FMNIST_TRAIN:-}" ] || return 0
    [ -n "$tc" ] || { echo "note: TC_TRAINCTL unset: no trainctl run of the 2-rank example"; return 0; }
    rm -rf "$dir"
    mkdir -p "$dir"
    # as the example, except: the data made in the pod (both ranks make the
    # same sample) instead of a claim, one lr, 1 epoch on 500 images, the
    # image imported here, pinned to the real node. No podTemplate: the Job
    # is trainctl's rendering as is (no imagePullPolicy, so the API server's
    # default for a tag other than :latest, IfNotPresent, uses the imported
    # image without a registry; the service account token is mounted)
    cat >"$dir/$exp.yaml" <<SPEC
version: 1
name: $exp
script: |
  fmnist-train --make-cifar-sample /tmp/c >/dev/null
  exec fmnist-train --dataset cifar10 --data /tmp/c --model cnn --channels 4,8 \\
    --lr "\$lr" --batch-size 32 --epochs 1 --train-limit 500 --test-limit 200 \\
    --optimizer momentum --threads 1 --seed 1 --out "\$TRAINCTL_TRIAL_DIR"
nodes: 2
parameters:
  lr: {values: [0.03]}
search: {method: grid}
metric: {name: test_acc, goal: maximize}
resources: {cpu: 0.5, memory: 512Mi}
run: {parallel: 1, timeout: ${TIMEOUT}s}
kubernetes:
  image: localhost/trainctl/fmnist-train:v1
  nodeSelector: {kubernetes.io/hostname: $NODE}
SPEC
    t0=$(now)
    if out=$(cd "$dir" && KUBECONFIG=$TC_K8S_TRAINER_KUBECONFIG timeout $((TIMEOUT + 60)) \
        "$tc" run "$exp.yaml" --backend kubernetes --state-dir st 2>&1); then
        ok "trainctl run --backend kubernetes of the 2-rank example returned 0 in $(since "$t0")s"
    else
        bad "trainctl run failed"
    fi
    echo "$out" | tail -n 5 | sed 's/^/    trainctl: /'
    out=$(cd "$dir" && "$tc" results "$exp" --state-dir st --format json 2>&1 || true)
    id=$(echo "$out" | jq -r '.trials[0].trial // empty' 2>/dev/null || true)
    if echo "$out" | jq -e '(.trials | length) == 1 and .trials[0].state == "succeeded"
            and (.trials[0].test_acc | type) == "number"' >/dev/null 2>&1; then
        ok "journal: trial $id succeeded, test_acc=$(echo "$out" | jq -r '.trials[0].test_acc')"
    else
        bad "journal: $out"
    fi
    pods=$(kubectl -n "$NS" get pods -l "trainctl.io/experiment=$exp" -o json)
    echo "$pods" | jq -r '.items[] | "    pod: \(.metadata.name) rank \(.metadata.labels["batch.kubernetes.io/job-completion-index"]) on \(.spec.nodeName): \(.status.phase)"'
    if echo "$pods" | jq -e --arg n "$NODE" '(.items | length) == 2
            and all(.items[]; .spec.nodeName == $n and .status.phase == "Succeeded")
            and ([.items[].metadata.labels["batch.kubernetes.io/job-completion-index"]] | sort) == ["0", "1"]' >/dev/null; then
        ok "both ranks' pods ran on $NODE and Succeeded"
    else
        bad "the Job's pods are not 2 Succeeded on $NODE"
    fi
    log0=$(cd "$dir" && "$tc" logs "$exp" "$id" --state-dir st 2>&1 || true)
    echo "$log0" | grep -E 'data parallel|^final' | sed 's/^/    rank 0: /'
    if echo "$log0" | grep -q 'data parallel, 2 ranks' && echo "$log0" | grep -q '^final test_acc='; then
        ok "rank 0's log (trainctl logs) shows the 2-rank all-reduce and the final metrics"
    else
        bad "rank 0's log: $(echo "$log0" | tail -n 20)"
    fi
}

job_done() {
    [ -n "$(kubectl -n "$NS" get job ddp -o jsonpath='{.status.conditions[?(@.status=="True")].type}')" ]
}

# Two pods of an Indexed Job behind a headless Service (as trainctl renders
# `nodes: 2`): rank 1 resolves rank 0's name through the cluster DNS and
# sends it a line over TCP; rank 0 prints it.
check_indexed_job() {
    local t0 cond ip0 log0 log1 sel=batch.kubernetes.io/job-name=ddp,batch.kubernetes.io/job-completion-index
    kubectl -n "$NS" delete job ddp --ignore-not-found --wait=true --cascade=foreground >/dev/null
    kubectl -n "$NS" delete service ddp --ignore-not-found >/dev/null
    t0=$(now)
    kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: ddp, namespace: $NS}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {batch.kubernetes.io/job-name: ddp}
  ports: [{name: rdzv, port: 29500}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: ddp, namespace: $NS}
spec:
  completionMode: Indexed
  completions: 2
  parallelism: 2
  backoffLimit: 0
  activeDeadlineSeconds: $TIMEOUT
  template:
    spec:
      subdomain: ddp
      nodeSelector: {kubernetes.io/hostname: $NODE}
      restartPolicy: Never
      automountServiceAccountToken: false
      containers:
      - name: rank
        image: localhost/trainctl/busybox:v1
        imagePullPolicy: Never
        env: [{name: MASTER_ADDR, value: ddp-0.ddp}, {name: MASTER_PORT, value: "29500"}]
        command:
        - /bin/sh
        - -c
        - |
          if [ "\$JOB_COMPLETION_INDEX" = 0 ]; then
            echo "rank 0 got: \$(nc -l -p \$MASTER_PORT)"
            exit 0
          fi
          # rank 1: wait for the name (busybox nslookup does not apply the
          # search list: try each suffix as libc would) and the listener;
          # the pod's own deadline is the Job's activeDeadlineSeconds
          addr=
          while [ -z "\$addr" ]; do
            for d in \$(awk '/^search/ { \$1 = ""; print }' /etc/resolv.conf); do
              addr=\$(nslookup \$MASTER_ADDR.\$d | awk '/^Name:/ {n=1} n && /^Address/ {print \$NF; exit}')
              [ -n "\$addr" ] && break
            done
            [ -n "\$addr" ] || sleep 0.2
          done
          echo "rank 1 resolved \$MASTER_ADDR to \$addr"
          # connect by name: the libc resolver, search list and all
          until echo "hello from rank 1" | nc -w 2 \$MASTER_ADDR \$MASTER_PORT; do sleep 0.2; done
          sed 's/^/rank 1 resolv.conf: /' /etc/resolv.conf
EOF
    wait_until "$TIMEOUT" job_done || true
    cond=$(kubectl -n "$NS" get job ddp -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
    case " $cond " in
        *" Complete "*) ok "Indexed Job ddp (2 pods on $NODE) Complete in $(since "$t0")s (create to Complete)" ;;
        *) bad "Indexed Job ddp: conditions '$cond'"; kubectl -n "$NS" get pods -o wide ;;
    esac
    ip0=$(kubectl -n "$NS" get pods -l "$sel=0" -o jsonpath='{.items[0].status.podIP}')
    log0=$(kubectl -n "$NS" logs -l "$sel=0" 2>&1 || true)
    log1=$(kubectl -n "$NS" logs -l "$sel=1" 2>&1 || true)
    printf '%s\n%s\n' "$log0" "$log1" | sed 's/^/    log: /'
    if [ -n "$ip0" ] && echo "$log1" | grep -qxF "rank 1 resolved ddp-0.ddp to $ip0"; then
        ok "rank 1 resolved ddp-0.ddp to rank 0's pod IP $ip0 (cluster DNS)"
    else
        bad "rank 1 did not resolve ddp-0.ddp to rank 0's pod IP '$ip0'"
    fi
    if echo "$log0" | grep -qxF "rank 0 got: hello from rank 1"; then
        ok "rank 0 received rank 1's line over TCP, pod to pod"
    else
        bad "rank 0 did not receive rank 1's line"
    fi
}

# --- down ----------------------------------------------------------------------
down() {
    [ -d "$KSTATE" ] || { log "nothing to stop ($KSTATE does not exist)"; return 0; }
    [ -f "$KSTATE/$MARK" ] || die "$KSTATE was not made by kubelet.sh; not touching it"
    local name pid p d i
    # the kubelet first (so that it restarts nothing), then every process
    # whose command line names the state dir (containerd, its shims) and every
    # process in the node's cgroups (the containers), by pid
    for name in kubelet containerd dns; do
        alive "$name" && kill -TERM "$(cat "$KSTATE/pids/$name.pid")" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do alive "$name" || break; sleep 0.05; done
        alive "$name" && kill -KILL "$(cat "$KSTATE/pids/$name.pid")" 2>/dev/null || true
    done
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" = $$ ] && continue
        case $(readlink "$p/exe" 2>/dev/null) in *containerd-shim*) ;; *) continue ;; esac
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$KSTATE" && kill -KILL "$pid" 2>/dev/null || true
    done
    for d in $(cgroup_dirs); do
        [ -d "$d/$CGROUP" ] || continue
        find "$d/$CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do
            kill -KILL "$pid" 2>/dev/null || true
        done
    done
    alive nsholder && kill -TERM "$(cat "$KSTATE/pids/nsholder.pid")" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive nsholder || break; sleep 0.05; done
    # cgroup dirs, leaves first (a dir with a dying task is busy for a moment)
    for d in $(cgroup_dirs); do
        [ -d "$d/$CGROUP" ] || continue
        for ((i = 0; i < 50; i++)); do
            find "$d/$CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [ -d "$d/$CGROUP" ] || break
            sleep 0.1
        done
        if [ -d "$d/$CGROUP" ]; then log "warning: could not remove $d/$CGROUP"; fi
    done
    ip link del "$BRIDGE" 2>/dev/null || true
    # nothing of ours is mounted in the host namespace, but be sure
    awk -v p="$KSTATE/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r |
        while read -r d; do umount -l "$d" || true; done
    if [ -d "$TC_K8S_STATE" ]; then "$HERE/cluster.sh" down || true; fi
    rm -rf "$KSTATE"
    log "stopped; removed $KSTATE"
}

main() {
    if [ "$(id -u)" != 0 ]; then
        echo "kubelet.sh: skipped: needs root (bridge, cgroups, mount namespace)" >&2
        exit 77
    fi
    case "${1:-all}" in
        up) up ;;
        check) check ;;
        down) down ;;
        env) "$HERE/cluster.sh" env ;;
        all)
            local rc=0
            trap down EXIT
            up
            check || rc=$?
            return $rc
            ;;
        *) echo "usage: $0 [up|check|down|env]" >&2; exit 2 ;;
    esac
}

main "$@"; exit $?
