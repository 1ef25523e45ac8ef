/*
 * backend_kube.c — the Kubernetes backend's entry in the table of backends
 * (exec/backend.h): trials are Jobs on a cluster, run by exec/kube.c.  The
 * verbs that reach the cluster (cancel without a runner, logs, gc) look
 * where the experiment's first run put its objects (tc_kube_recorded_ns)
 * unless --namespace says otherwise.
 */
#include <stdlib.h>
#include <string.h>

#include "exec/backend.h"
#include "exec/kube.h"
#include "k8s/manifest.h"

static int kube_validate(const struct tc_spec *spec, const char *spec_dir,
			 struct tc_error *err)
{
	(void)spec_dir;
	return tc_k8s_check(spec, err);
}

/* No runner watches the cluster: a drain run deletes the Jobs of the
 * cancelled trials and records them cancelled. */
static int kube_cancel_unwatched(struct tc_journal *j, const char *exp,
				 const struct tc_run_opts *o, const char **done,
				 struct tc_error *err)
{
	struct tc_run_opts d = *o;
	struct tc_run_summary sum;
	int rc;

	d.drain = 1;
	if ((rc = tc_backend_run(j, exp, &d, &sum, err)))
		return rc;
	*done = "deleted the Jobs of the cancelled trials";
	return 0;
}

/* The recorded spec, and the options with the recorded namespace unless
 * one is given (*rec to free). */
static int reach(struct tc_journal *j, const struct tc_exp_info *exp,
		 const struct tc_run_opts *o, struct tc_spec **spec,
		 struct tc_run_opts *oo, char **rec, struct tc_error *err)
{
	int rc;

	*rec = NULL;
	if ((rc = tc_spec_parse_recorded(exp->spec_path, exp->spec_text,
					 strlen(exp->spec_text), spec, err)))
		return rc;
	*oo = *o;
	if (!o->ns && (*rec = tc_kube_recorded_ns(j, exp->name)))
		oo->ns = *rec;
	return 0;
}

static int kube_logs(struct tc_journal *j, const struct tc_exp_info *exp,
		     const char *id, int attempt, int follow,
		     const struct tc_run_opts *o, FILE *out,
		     struct tc_error *err)
{
	struct tc_spec *spec = NULL;
	struct tc_run_opts oo;
	char *rec;
	int rc;

	if ((rc = reach(j, exp, o, &spec, &oo, &rec, err)) == 0)
		rc = tc_kube_logs(spec, &oo, exp->name, id, attempt, follow,
				  out, err);
	free(rec);
	tc_spec_free(spec);
	return rc;
}

static int kube_gc(struct tc_journal *j, const struct tc_exp_info *exp,
		   const struct tc_run_opts *o, long *deleted,
		   struct tc_error *err)
{
	struct tc_spec *spec = NULL;
	struct tc_run_opts oo;
	char *rec;
	int rc;

	*deleted = 0;
	if ((rc = reach(j, exp, o, &spec, &oo, &rec, err)) == 0)
		rc = tc_kube_gc(spec, &oo, exp->name, deleted, err);
	free(rec);
	tc_spec_free(spec);
	return rc;
}

const struct tc_backend tc_backend_kubernetes = {
	.name = "kubernetes",
	.trial_dir = TC_K8S_TRIAL_DIR,
	.leftovers = "objects it left on the cluster expire with their "
		     "ttlSecondsAfterFinished",
	.validate = kube_validate,
	.check = tc_k8s_check,
	.run = tc_kube_run,
	.cancel_unwatched = kube_cancel_unwatched,
	.logs = kube_logs,
	.gc = kube_gc,
};
