#!/usr/bin/env bash
# k8s.sh — the Kubernetes backend against kubectl, on the same API server in
# the same run (tests/k8s/cluster.sh: a real kube-apiserver, etcd, the Job
# controller, the scheduler, kwok nodes, all on loopback).
#
#   1. Submitting N trials (default 500; a ConfigMap and a Job each, the
#      manifests `trainctl plan --render --backend kubernetes` writes):
#        - a bash loop of `kubectl create -f` over the N trial directories
#          (the sources' way),
#        - one `kubectl apply -f DIR -R`,
#        - `trainctl run --backend kubernetes` with parallel N: from its
#          start to the last Job acknowledged by the API server (the last
#          "running" event in its journal).
#   2. Tracking N running trials: trainctl's peak RSS and CPU seconds per
#      minute while N Jobs run (pods held Running by kwok for the minute).
#   3. Parallelism reached: parallel 200 over 400 trials whose pods run 20 s;
#      running pods counted every 0.5 s from the API server.
#
# Usage: bash bench/k8s.sh [N]   (results on stdout; RESULTS.md has a copy)
# BASE=REV bash bench/k8s.sh: also the submission with trainctl at REV,
# AB_ROUNDS (3) rounds alternating which goes first; the median ratio.
. "$(dirname "$0")/common.sh"
N=${1:-500}
CLUSTER="bash $BENCH_ROOT/tests/k8s/cluster.sh"
export TC_K8S_STATE=$TMPDIR/k8s-bench
export TC_K8S_NODES=${TC_K8S_NODES:-8}
$CLUSTER up >/dev/null
trap '$CLUSTER down >/dev/null 2>&1' EXIT
eval "$($CLUSTER env)"
export KUBECONFIG=$TC_K8S_TRAINER_KUBECONFIG
KUBECTL="$TC_K8S_KUBECTL --kubeconfig $TC_K8S_TRAINER_KUBECONFIG"
ADMIN="$TC_K8S_KUBECTL --kubeconfig $TC_K8S_ADMIN_KUBECONFIG -n $TC_K8S_NAMESPACE"
W=$(mktemp -d)

spec() { # NAME COUNT PARALLEL DELAY
	cat >"$W/$1.yaml" <<EOF
version: 1
name: $1
command: [train, --x, "{{x}}"]
parameters:
  x: {distribution: int_uniform, min: 0, max: 1000000000}
search: {method: random, trials: $2, seed: 7}
run: {parallel: $3}
resources: {cpu: 100m, memory: 64Mi}
kubernetes:
  image: registry.example/train:1
  podTemplate:
    metadata:
      annotations: {pod-complete.stage.kwok.x-k8s.io/delay: "$4"}
EOF
}

clean() { # EXP: delete its objects and wait until they are gone
	local e=$1 k
	for k in jobs configmaps; do
		$ADMIN delete "$k" -l "trainctl.io/experiment=$e" --wait=false >/dev/null 2>&1 || true
	done
	$ADMIN delete pods -l "trainctl.io/experiment=$e" --wait=false >/dev/null 2>&1 || true
	while [ "$($ADMIN get jobs,configmaps -l "trainctl.io/experiment=$e" -o name | wc -l)" -gt 0 ]; do
		sleep 0.5
	done
}

echo "== submitting $N trials (ConfigMap + Job each) to $TC_K8S_SERVER"
for who in loop apply; do
	spec "sub-$who" "$N" "$N" 1h
	"$TRAINCTL" plan "$W/sub-$who.yaml" --render "$W/render-$who" \
		--backend kubernetes --namespace "$TC_K8S_NAMESPACE" >/dev/null
	find "$W/render-$who" -name params.json -delete
	find "$W/render-$who" -name 'command*' -delete
done
t0=$(now)
for d in "$W"/render-loop/*/; do
	$KUBECTL create -f "$d" >/dev/null
done
t_loop=$(echo "$(now) - $t0" | bc)
clean sub-loop
t0=$(now)
$KUBECTL apply -f "$W/render-apply" -R >/dev/null
t_apply=$(echo "$(now) - $t0" | bc)
clean sub-apply
spec sub-tc "$N" "$N" 1h
t0=$(now)
"$TRAINCTL" run "$W/sub-tc.yaml" --backend kubernetes --state-dir "$W/st" -q \
	>"$W/sub-tc.out" 2>&1 &
TC=$!
# the run holds N Jobs running for an hour: wait for the last creation
while [ "$(sqlite3 "$W/st/journal.db" "SELECT count(*) FROM trials WHERE exp='sub-tc' AND state='running'" 2>/dev/null || echo 0)" -lt "$N" ]; do
	kill -0 $TC 2>/dev/null || { echo "trainctl ended early:"; cat "$W/sub-tc.out"; exit 1; }
	sleep 0.2
done
t_last=$(sqlite3 "$W/st/journal.db" "SELECT max(at) FROM events WHERE exp='sub-tc' AND state='running'")
t_tc=$(echo "$t_last - $t0" | bc)
printf 'kubectl create loop  %8.2f s\n' "$t_loop"
printf 'kubectl apply -R     %8.2f s\n' "$t_apply"
printf 'trainctl run         %8.2f s   (%.1fx faster than the loop, %.1fx than apply)\n' \
	"$t_tc" "$(echo "$t_loop / $t_tc" | bc -l)" "$(echo "$t_apply / $t_tc" | bc -l)"

echo "== tracking $N running trials for 60 s"
clk=$(getconf CLK_TCK)
cpu() { awk -v c="$clk" '{print ($14 + $15) / c}' /proc/$TC/stat; }
c0=$(cpu)
sleep 60 # measuring an interval of time, not waiting for an event
c1=$(cpu)
rss=$(awk '/VmHWM/ {print $2}' /proc/$TC/status)
printf 'trainctl peak RSS    %8.1f MB\n' "$(echo "$rss / 1024" | bc -l)"
printf 'trainctl CPU         %8.2f s per minute with %d Jobs tracked\n' "$(echo "$c1 - $c0" | bc -l)" "$N"
kill -INT $TC
wait $TC || true
"$TRAINCTL" gc sub-tc --state-dir "$W/st" >/dev/null
clean sub-tc

# submit BIN EXP: N trials submitted by trainctl BIN, from its start to the
# last Job acknowledged; the seconds on stdout; then stopped, its Jobs gone.
submit() {
	local bin=$1 e=$2 t0 pid t_last
	spec "$e" "$N" "$N" 1h
	t0=$(now)
	"$bin" run "$W/$e.yaml" --backend kubernetes --state-dir "$W/st-$e" -q \
		>"$W/$e.out" 2>&1 &
	pid=$!
	while [ "$(sqlite3 "$W/st-$e/journal.db" "SELECT count(*) FROM trials WHERE exp='$e' AND state='running'" 2>/dev/null || echo 0)" -lt "$N" ]; do
		kill -0 $pid 2>/dev/null || { echo "trainctl ended early:" >&2; cat "$W/$e.out" >&2; exit 1; }
		sleep 0.2
	done
	t_last=$(sqlite3 "$W/st-$e/journal.db" "SELECT max(at) FROM events WHERE exp='$e' AND state='running'")
	echo "$t_last - $t0" | bc
	kill -INT $pid
	wait $pid || true
	"$bin" gc "$e" --state-dir "$W/st-$e" >/dev/null
	clean "$e"
}

if [ -n "$TRAINCTL_BASE" ]; then
	# alternating which goes first, so neither always follows the other
	AB_ROUNDS=${AB_ROUNDS:-3}
	echo "== A/B: submitting $N trials, this build and the base, $AB_ROUNDS rounds"
	ratios=()
	for r in $(seq "$AB_ROUNDS"); do
		if [ $((r % 2)) -eq 1 ]; then
			tb=$(submit "$TRAINCTL_BASE" "ab-base-$r"); tt=$(submit "$TRAINCTL" "ab-this-$r")
		else
			tt=$(submit "$TRAINCTL" "ab-this-$r"); tb=$(submit "$TRAINCTL_BASE" "ab-base-$r")
		fi
		ratio=$(echo "$tt / $tb" | bc -l)
		ratios+=("$ratio")
		printf 'round %d: this %6.2f s, base %6.2f s, this/base = %.3f\n' "$r" "$tt" "$tb" "$ratio"
	done
	printf 'A/B median this/base = %.3f\n' "$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')"
fi

echo "== parallel 200: running pods over time (400 trials, pods run 20 s)"
spec par 400 200 20s
t0=$(now)
"$TRAINCTL" run "$W/par.yaml" --backend kubernetes --state-dir "$W/st" -q >"$W/par.out" 2>&1 &
TC=$!
peak=0
t200=""
while kill -0 $TC 2>/dev/null; do
	n=$($ADMIN get pods -l trainctl.io/experiment=par --field-selector=status.phase=Running -o name | wc -l)
	t=$(echo "$(now) - $t0" | bc)
	[ "$n" -gt "$peak" ] && peak=$n
	if [ -z "$t200" ] && [ "$n" -ge 200 ]; then t200=$t; fi
	printf '  t=%6.1f s  running pods %d\n' "$t" "$n"
	sleep 0.5 # the sampling period
done
wait $TC || true
printf 'peak running pods    %d of 200 asked; 200 reached after %s s\n' "$peak" "${t200:-never}"
printf 'whole run            %.1f s (2 waves of 20 s pods)\n' "$(echo "$(now) - $t0" | bc)"
"$TRAINCTL" gc par --state-dir "$W/st" >/dev/null
rm -rf "$W"
