# shellcheck shell=bash
# Shared by the tests/k8s shell tests that run trainctl against the test
# cluster: source it first thing.  It sources the e2e helpers, reads the
# cluster's environment (tests/k8s/cluster.sh env), runs trainctl as the
# namespaced ServiceAccount, gives $KUBECTL as the admin in the test
# namespace, and empties that namespace (a cluster reused between runs
# keeps earlier Jobs).
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
eval "$(bash "$TC_SOURCE_DIR/tests/k8s/cluster.sh" env)" || exit 1
export KUBECONFIG=$TC_K8S_TRAINER_KUBECONFIG
KUBECTL="$TC_K8S_KUBECTL --kubeconfig $TC_K8S_ADMIN_KUBECONFIG -n $TC_K8S_NAMESPACE"
$KUBECTL delete jobs,configmaps,services --all >/dev/null 2>&1

# pod_log LINE...: what every pod "printed" (kwok runs no container; all
# pods' log is the one file $TC_K8S_POD_LOG, in CRI log format).
pod_log() {
	local l now
	now=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
	: >"$TC_K8S_POD_LOG.tmp"
	for l in "$@"; do
		printf '%s stdout F %s\n' "$now" "$l" >>"$TC_K8S_POD_LOG.tmp"
	done
	mv "$TC_K8S_POD_LOG.tmp" "$TC_K8S_POD_LOG"
}
