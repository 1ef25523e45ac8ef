#!/usr/bin/env bash
# Smoke test of the loopback test cluster: cluster.sh up, then as the
# namespaced `trainer` ServiceAccount (bearer token, curl only):
#   1. a batch/v1 Job lands on a kwok node and reaches Complete within seconds
#   2. the trainer may list pods in trainctl-test, but gets 403 elsewhere
#      (another namespace, cluster-wide pods, nodes)
#   3. pods/log is served (API server -> kwok) from the state dir's log file
#   4. a pod labelled for kwok's failure stage makes its Job Failed
#   5. (TC_K8S_SMOKE_SCALE=N, optional) an N-pod Job with every pod Running at
#      once, reporting how long it took to get there
# and cluster.sh down. Exit 0 when every check passed.
#
# The cluster gets its own state dir (a temp dir) unless TC_K8S_STATE is set.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER=$HERE/cluster.sh
OWN_STATE=0
if [ -z "${TC_K8S_STATE:-}" ]; then
    TC_K8S_STATE=$(mktemp -d /tmp/trainctl-k8s-smoke.XXXXXX)
    OWN_STATE=1
fi
export TC_K8S_STATE
SCALE=${TC_K8S_SMOKE_SCALE:-0}

PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }

cleanup() {
    local rc=$?
    "$CLUSTER" down >/dev/null 2>&1 || true
    [ "$OWN_STATE" = 1 ] && rm -rf "$TC_K8S_STATE"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s.%N)
"$CLUSTER" up
t_up=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "# cluster.sh up took ${t_up}s"
eval "$("$CLUSTER" env)"

TOKEN=$(cat "$TC_K8S_TRAINER_TOKEN_FILE")
NS=$TC_K8S_NAMESPACE

# as_trainer METHOD PATH [JSON]: the body in file $BODY, the HTTP code in $CODE
# (not in a subshell, so that CODE is seen by the caller)
BODY=$(mktemp)
as_trainer() {
    CODE=$(curl -sS -o "$BODY" -w '%{http_code}' --max-time 20 --cacert "$TC_K8S_CA" \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -H 'Accept: application/json' -X "$1" ${3:+--data-binary "$3"} "$TC_K8S_SERVER$2") || CODE=000
}

# job_json NAME COMPLETIONS PARALLELISM EXTRA_POD_LABELS_JSON EXTRA_ANNOTATIONS_JSON [RESOURCES_JSON]
job_json() {
    local res=${6:-}
    [ -n "$res" ] || res='{"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}'
    jq -nc --arg name "$1" --argjson c "$2" --argjson p "$3" --argjson labels "$4" --argjson ann "$5" \
        --argjson res "$res" '{
      apiVersion: "batch/v1", kind: "Job",
      metadata: {name: $name, labels: {"trainctl.io/experiment": "smoke"}},
      spec: {
        completions: $c, parallelism: $p, backoffLimit: 0,
        template: {
          metadata: {labels: ({"trainctl.io/experiment": "smoke"} + $labels), annotations: $ann},
          spec: {
            restartPolicy: "Never",
            serviceAccountName: "trainer",
            containers: [{
              name: "train", image: "example.invalid/trainer:1",
              command: ["python", "train.py"],
              resources: {requests: $res, limits: $res}
            }]
          }
        }
      }
    }'
}

# wait_job NAME CONDITION SECONDS: poll until the Job has CONDITION=True
wait_job() {
    local deadline=$((SECONDS + $3)) cond
    while :; do
        as_trainer GET "/apis/batch/v1/namespaces/$NS/jobs/$1"
        cond=$(jq -r --arg c "$2" '[.status.conditions[]? | select(.type == $c and .status == "True")] | length' "$BODY")
        [ "$CODE" = 200 ] && [ "$cond" = 1 ] && return 0
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# 1. A Job completes on a kwok node.
ts=$(date +%s.%N)
as_trainer POST "/apis/batch/v1/namespaces/$NS/jobs" "$(job_json smoke-ok 1 1 '{}' '{}')"
if [ "$CODE" = 201 ]; then ok "trainer creates a Job in $NS (201)"; else not_ok "create Job: HTTP $CODE $(cat "$BODY")"; fi
if wait_job smoke-ok Complete 60; then
    ok "Job smoke-ok Complete after $(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
else
    not_ok "Job smoke-ok not Complete within 60s: $(jq -c .status "$BODY")"
fi
as_trainer GET "/api/v1/namespaces/$NS/pods?labelSelector=job-name%3Dsmoke-ok"
pods=$(cat "$BODY")
node=$(jq -r '.items[0].spec.nodeName // ""' <<<"$pods")
phase=$(jq -r '.items[0].status.phase // ""' <<<"$pods")
pod=$(jq -r '.items[0].metadata.name // ""' <<<"$pods")
if [[ "$node" == kwok-node-* ]] && [ "$phase" = Succeeded ]; then
    ok "its pod $pod ran on $node and Succeeded"
else
    not_ok "pod of smoke-ok: node '$node' phase '$phase'"
fi

# 2. Namespaced permissions only.
as_trainer GET "/api/v1/namespaces/$NS/pods"
if [ "$CODE" = 200 ]; then ok "trainer lists pods in $NS (200)"; else not_ok "list pods in $NS: HTTP $CODE"; fi
for path in /api/v1/namespaces/default/pods /api/v1/namespaces/kube-system/pods /api/v1/pods /api/v1/nodes \
    /apis/batch/v1/namespaces/default/jobs; do
    as_trainer GET "$path"
    msg=$(jq -r '.message // ""' "$BODY")
    if [ "$CODE" = 403 ]; then ok "trainer GET $path -> 403 ($msg)"; else not_ok "trainer GET $path -> HTTP $CODE (want 403)"; fi
done
as_trainer POST "/api/v1/namespaces/default/configmaps" \
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}'
if [ "$CODE" = 403 ]; then ok "trainer create configmap in default -> 403"; else not_ok "create configmap in default: HTTP $CODE"; fi

# 3. Pod logs, served by kwok from the CRI-format file in the state dir.
printf '%s stdout F epoch=1 loss=0.5 accuracy=0.81\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" >"$TC_K8S_POD_LOG"
as_trainer GET "/api/v1/namespaces/$NS/pods/$pod/log?container=train"
logs=$(cat "$BODY")
if [ "$CODE" = 200 ] && grep -q 'epoch=1 loss=0.5' <<<"$logs"; then
    ok "pods/log of $pod via the API server: '$logs'"
else
    not_ok "pods/log: HTTP $CODE: $logs"
fi

# 4. kwok's failure stage: the pod fails, the Job (backoffLimit 0) fails.
as_trainer POST "/apis/batch/v1/namespaces/$NS/jobs" "$(job_json smoke-fail 1 1 \
    '{"pod-container-running-failed.stage.kwok.x-k8s.io": "true"}' \
    '{"pod-container-running-failed.stage.kwok.x-k8s.io/reason": "OOMKilled", "pod-container-running-failed.stage.kwok.x-k8s.io/exit-code": "137"}')"
if [ "$CODE" = 201 ] && wait_job smoke-fail Failed 60; then
    as_trainer GET "/api/v1/namespaces/$NS/pods?labelSelector=job-name%3Dsmoke-fail"
    reason=$(jq -r '.items[0].status.containerStatuses[0].state.terminated | "\(.reason) exit \(.exitCode)"' "$BODY")
    ok "Job smoke-fail Failed (pod terminated: $reason)"
else
    not_ok "Job smoke-fail not Failed within 60s (HTTP $CODE): $(jq -c .status "$BODY")"
fi

# 5. Optional: N pods Running at the same time.
if [ "$SCALE" -gt 0 ]; then
    ts=$(date +%s.%N)
    as_trainer POST "/apis/batch/v1/namespaces/$NS/jobs" "$(job_json smoke-scale "$SCALE" "$SCALE" '{}' \
        '{"pod-complete.stage.kwok.x-k8s.io/delay": "120s"}' '{"cpu": "100m", "memory": "256Mi"}')"
    deadline=$((SECONDS + 120)); running=0
    while [ "$SECONDS" -lt "$deadline" ]; do
        as_trainer GET "/api/v1/namespaces/$NS/pods?labelSelector=job-name%3Dsmoke-scale"
        running=$(jq '[.items[] | select(.status.phase == "Running")] | length' "$BODY")
        [ "$running" -ge "$SCALE" ] && break
        sleep 0.5
    done
    if [ "$running" -ge "$SCALE" ]; then
        ok "$SCALE pods of one Job Running at once after $(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
    else
        not_ok "only $running of $SCALE pods Running after 120s"
    fi
fi

rm -f "$BODY"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
