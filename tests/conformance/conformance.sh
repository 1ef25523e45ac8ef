#!/usr/bin/env bash
# conformance.sh — the same scenarios against every backend named in
# TC_CONF_BACKENDS ("local", or "local kubernetes" on the test cluster):
# success with metrics, failure with its reason, retries, the `retry` verb,
# timeout, cancel, and kill -9 of trainctl then `resume`.  Each backend's
# journal is summed up the same way (per trial: state, attempts, the kind
# of reason, the metric); with two backends the summaries must agree line
# for line.
#
# A trial is `bash trial.sh MODE ...`.  On the local backend the script
# does what MODE says; on the test cluster kwok runs no container, so the
# pod template's kwok annotations make the pod do the same (its log is the
# file $TC_K8S_POD_LOG, written below with the script's output).
. "$(dirname "$0")/../e2e/lib.sh"
BACKENDS=${TC_CONF_BACKENDS:-local}
TC_TIMEOUT=180

if [[ " $BACKENDS " == *" kubernetes "* ]]; then
	eval "$(bash "$TC_SOURCE_DIR/tests/k8s/cluster.sh" env)" || exit 1
	export KUBECONFIG=$TC_K8S_TRAINER_KUBECONFIG
	KUBECTL="$TC_K8S_KUBECTL --kubeconfig $TC_K8S_ADMIN_KUBECONFIG -n $TC_K8S_NAMESPACE"
	$KUBECTL delete jobs,configmaps,services -l trainctl.io/experiment \
		>/dev/null 2>&1
	now=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
	printf '%s stdout F %s\n' "$now" "epoch=1 loss=0.9 test_acc=0.5" \
		"$now" "epoch=2 loss=0.4 test_acc=0.875" >"$TC_K8S_POD_LOG.tmp"
	mv "$TC_K8S_POD_LOG.tmp" "$TC_K8S_POD_LOG"
fi

# spec BACKEND NAME MODE RUN: NAME.yaml, four trials doing MODE.
spec() {
	local backend=$1 name=$2 mode=$3 run=$4
	{
		cat <<EOF
version: 1
name: $name
command: [bash, trial.sh, $mode, "{{lr}}", "{{opt}}"]
parameters:
  lr: {values: [0.1, 0.01]}
  opt: {values: [adam, sgd]}
metric: {name: test_acc, goal: maximize}
run: $run
EOF
		[ "$backend" = kubernetes ] || return 0
		printf 'kubernetes:\n  image: registry.example/train:1\n'
		case $mode in
		fail)
			cat <<'EOF'
  podTemplate:
    metadata:
      labels: {pod-container-running-failed.stage.kwok.x-k8s.io: "true"}
      annotations:
        pod-container-running-failed.stage.kwok.x-k8s.io/reason: Error
        pod-container-running-failed.stage.kwok.x-k8s.io/exit-code: "3"
EOF
			;;
		slow | short)
			printf '  podTemplate:\n    metadata:\n      annotations: {pod-complete.stage.kwok.x-k8s.io/delay: "%s"}\n' \
				"$([ "$mode" = slow ] && echo 600s || echo 2s)"
			;;
		esac
	} >"$name.yaml"
}

# summary NAME: one line a trial (index order): state, attempts, what the
# reason says (its kind, not its words: a pod and a process word them
# differently), the metric.
summary() {
	tc status "$1" --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
name = sys.argv[1]
for t in sorted(d["trials"], key=lambda t: t["index"]):
    why = t.get("reason") or ""
    kind = "-"
    for k in ("exit code 3", "timed out after 5s", "interrupted", "cancelled"):
        if k in why:
            kind = k
            break
    m = t.get("test_acc")
    print("%s #%d %s attempts=%d reason=%s metric=%s" % (name, t["index"],
          t["state"], t["attempts"], kind.replace(" ", "_"),
          "-" if m is None else m))
' "$1"
}

running_count() { # NAME: trials running now
	tc status "$1" --format json |
		jget - 'sum(1 for t in d["trials"] if t["state"] == "running")'
}
running_ge() { [ "$(running_count "$1")" -ge "$2" ]; }

scenarios() { # BACKEND
	local b=$1 be=() pid
	[ "$b" = kubernetes ] && be=(--backend kubernetes)
	mkdir "$TC_WORK/$b" && cd "$TC_WORK/$b" || return 1
	cat >trial.sh <<'EOF'
printf 'epoch=1 loss=0.9 test_acc=0.5\nepoch=2 loss=0.4 test_acc=0.875\n'
case $1 in
ok) exit 0 ;;
fail) exit 3 ;;
slow) exec sleep 600 ;;
short) exec sleep 2 ;;
esac
EOF

	spec "$b" ok ok "{parallel: 2}"
	tc_run run ok.yaml "${be[@]}"
	expect_rc 0 "$b: four trials succeed"
	summary ok >>../"$b.summary"

	spec "$b" fail fail "{parallel: 4, retries: 1, backoff: 0.1s, max_failures: 0}"
	tc_run run fail.yaml "${be[@]}"
	expect_rc 1 "$b: failing trials"
	summary fail >>../"$b.summary"
	tc_run retry fail --failed
	expect_rc 1 "$b: retry --failed runs them again, and they fail again"
	summary fail | sed 's/^fail/retried/' >>../"$b.summary"

	spec "$b" slow slow "{parallel: 4, timeout: 5s}"
	tc_run run slow.yaml "${be[@]}"
	expect_rc 1 "$b: trials over their timeout"
	summary slow >>../"$b.summary"
	tc_run logs slow '#0'
	expect_contains "$OUT" "test_acc=0.875" "$b: a timed-out trial's output is kept"

	spec "$b" cancel slow "{parallel: 2}"
	tc_bg cancel.out run cancel.yaml "${be[@]}"
	pid=$BG_PID
	if wait_for 120 "$b: two trials of cancel running" running_ge cancel 2; then
		tc_run cancel cancel
		expect_rc 0 "$b: cancel"
	fi
	tc_wait_bg "$pid"
	expect_eq "$RC" 1 "$b: the cancelled run ends with exit 1"
	summary cancel >>../"$b.summary"

	spec "$b" crash short "{parallel: 2}"
	tc_bg crash.out run crash.yaml "${be[@]}"
	pid=$BG_PID
	if wait_for 120 "$b: trials of crash running" running_ge crash 1 &&
		tc_mine "$pid"; then
		kill -9 "$pid"
	fi
	wait "$pid" 2>/dev/null
	tc_run resume crash
	expect_rc 0 "$b: resume after kill -9"
	summary crash >>../"$b.summary"
	cd "$TC_WORK" || return 1
}

for b in $BACKENDS; do
	scenarios "$b"
done

cd "$TC_WORK" || exit 1
first=${BACKENDS%% *}
cat >expected.summary <<'EOF'
ok #0 succeeded attempts=1 reason=- metric=0.875
ok #1 succeeded attempts=1 reason=- metric=0.875
ok #2 succeeded attempts=1 reason=- metric=0.875
ok #3 succeeded attempts=1 reason=- metric=0.875
fail #0 failed attempts=2 reason=exit_code_3 metric=0.875
fail #1 failed attempts=2 reason=exit_code_3 metric=0.875
fail #2 failed attempts=2 reason=exit_code_3 metric=0.875
fail #3 failed attempts=2 reason=exit_code_3 metric=0.875
retried #0 failed attempts=4 reason=exit_code_3 metric=0.875
retried #1 failed attempts=4 reason=exit_code_3 metric=0.875
retried #2 failed attempts=4 reason=exit_code_3 metric=0.875
retried #3 failed attempts=4 reason=exit_code_3 metric=0.875
slow #0 timed_out attempts=1 reason=timed_out_after_5s metric=0.875
slow #1 timed_out attempts=1 reason=timed_out_after_5s metric=0.875
slow #2 timed_out attempts=1 reason=timed_out_after_5s metric=0.875
slow #3 timed_out attempts=1 reason=timed_out_after_5s metric=0.875
cancel #0 cancelled attempts=1 reason=cancelled metric=0.875
cancel #1 cancelled attempts=1 reason=cancelled metric=0.875
cancel #2 cancelled attempts=0 reason=cancelled metric=-
cancel #3 cancelled attempts=0 reason=cancelled metric=-
crash #0 succeeded attempts=1 reason=- metric=0.875
crash #1 succeeded attempts=1 reason=- metric=0.875
crash #2 succeeded attempts=1 reason=- metric=0.875
crash #3 succeeded attempts=1 reason=- metric=0.875
EOF
for b in $BACKENDS; do
	if diff -u expected.summary "$b.summary" >"$b.diff"; then
		pass "$b: the journal is what every backend must leave"
	else
		fail "$b: the journal differs from what every backend must leave:"
		sed 's/^/     /' "$b.diff"
	fi
done
if [ "$BACKENDS" != "$first" ]; then
	for b in $BACKENDS; do
		[ "$b" = "$first" ] && continue
		if cmp -s "$first.summary" "$b.summary"; then
			pass "$first and $b leave the same journal"
		else
			fail "$first and $b leave different journals"
		fi
	done
fi
tc_done
