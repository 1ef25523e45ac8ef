/*
 * backend_kube.c — the Kubernetes backend's entry in the table of backends
 * (exec/backend.h): trials are Jobs on a cluster, run by exec/kube.c,
 * which also reads a running trial's log and deletes what an experiment
 * left (gc).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "exec/backend.h"
#include "exec/kube.h"
#include "k8s/manifest.h"
#include "search/search.h"
#include "util/fsutil.h"

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

static int kube_plan_check(const struct tc_spec *spec, const char *ns,
			   struct tc_error *err)
{
	int rc;

	if ((rc = tc_k8s_check(spec, err)))
		return rc;
	if (ns && !tc_k8s_is_dns_label(ns))
		return tc_error_set(err, TC_ERR_USAGE,
				    "--namespace '%s' is not a valid namespace "
				    "name (a-z, 0-9 and '-', at most 63)",
				    ns);
	return 0;
}

/* obj as pretty JSON with a newline, written atomically to dir/id/file;
 * takes obj. */
static int write_object(const char *dir, const char *id, const char *file,
			json_t *obj, struct tc_error *err)
{
	char path[PATH_MAX], *text;
	size_t n;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, id, file);
	text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!text)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	n = strlen(text);
	text[n] = '\n'; /* over the NUL: the length is passed */
	if (tc_write_file_atomic(path, text, n + 1, 0, 0644) != 0)
		rc = tc_error_set(err, TC_ERR_IO, "cannot write %s: %s", path,
				  strerror(errno));
	free(text);
	return rc;
}

/* The trial's ConfigMap, Job (attempt 1) and, for nodes > 1, Service,
 * in ns, else the spec's namespace, else "default".  Only the objects:
 * the directory is for `kubectl create -f DIR -R`, which would choke on
 * params.json (the ConfigMap holds it; the Job, the command and env). */
static int kube_render(const char *dir, const struct tc_spec *spec,
		       const struct tc_trial *t, const char *ns, json_t *params,
		       json_t *argv, json_t *env, struct tc_error *err)
{
	struct tc_k8s_trial kt;
	char *ptext = tc_params_dumps(params);
	json_t *obj;
	int rc;

	if (!ptext)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if (!ns)
		ns = spec->k8s && spec->k8s->ns.text ? spec->k8s->ns.text
						     : "default";
	kt.experiment = spec->name;
	kt.id = t->id;
	kt.attempt = 1;
	kt.params_json = ptext;
	kt.argv = argv;
	kt.env = env;
	rc = (obj = tc_k8s_configmap(spec, ns, &kt, err))
		     ? write_object(dir, t->id, "configmap.json", obj, err)
		     : err->code;
	if (!rc)
		rc = (obj = tc_k8s_job(spec, ns, &kt, err))
			     ? write_object(dir, t->id, "job.json", obj, err)
			     : err->code;
	if (!rc && spec->nodes > 1)
		rc = (obj = tc_k8s_service(spec, ns, &kt, err))
			     ? write_object(dir, t->id, "service.json", obj, err)
			     : err->code ? err->code : TC_ERR_INTERNAL;
	free(ptext);
	return rc;
}

static int kube_check_trial(const struct tc_spec *spec, const char *id,
			    json_t *params, struct tc_error *err)
{
	char *text = tc_params_dumps(params);
	int rc;

	if (!text)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	rc = tc_k8s_check_trial(spec, id, text, err);
	free(text);
	return rc;
}

/* `run`, before the experiment is recorded: the kubeconfig read and the
 * API server reached, so a cluster that cannot be used leaves nothing
 * behind that only `resume` could continue. */
static int kube_check_start(const struct tc_spec *spec, const char *spec_dir,
			    const struct tc_run_opts *o, struct tc_error *err)
{
	(void)spec_dir;
	return tc_kube_reach(spec, o, err);
}

const struct tc_backend tc_backend_kubernetes = {
	.name = "kubernetes",
	.trial_dir = TC_K8S_TRIAL_DIR,
	.policy = "nrp",
	.leftovers = "objects it left on the cluster expire with their "
		     "ttlSecondsAfterFinished",
	.validate = kube_validate,
	.check = tc_k8s_check,
	.run = tc_kube_run,
	.cancel_unwatched = kube_cancel_unwatched,
	.logs = tc_kube_logs,
	.gc = tc_kube_gc,
	.plan_check = kube_plan_check,
	.render = kube_render,
	.check_trial = kube_check_trial,
	.check_start = kube_check_start,
};
