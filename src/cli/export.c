/*
 * export.c — `trainctl export NAME --mlflow URI`: the experiment to an
 * MLflow tracking server, one run a trial (export/mlflow.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/query.h"
#include "export/mlflow.h"

static const struct tc_opt export_opts[] = {
	{"mlflow", 0, 1, "URI",
	 "an MLflow tracking server (http://HOST:PORT): one run a trial"},
	{NULL, 0, 0, NULL, NULL},
};

int cmd_export(int argc, char **argv)
{
	struct tc_args a;
	struct tc_error err;
	struct tc_journal *j = NULL;
	struct tview v;
	struct tc_mlflow_export x;
	struct tc_mlflow_result res;
	struct tc_mlflow_trial *trials = NULL;
	json_t *etags = NULL, *rtags = NULL;
	const char *uri;
	int rc;

	rc = tc_parse_args(argc, argv, export_opts, "export NAME --mlflow URI",
			   "Export an experiment to an MLflow tracking server: "
			   "the experiment by its name,\none run a trial with its "
			   "parameters, every metric value of its last attempt\n"
			   "with step and time, its state and provenance as tags.  "
			   "Running it again updates\nthe same runs.",
			   &a);
	if (rc)
		return rc > 0 ? TC_EXIT_OK : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("export", "expected an experiment name");
	if (!(uri = tc_arg(&a, export_opts, "mlflow")))
		return tc_usage_error("export", "where to? (--mlflow URI)");
	tc_error_clear(&err);
	memset(&v, 0, sizeof(v));
	if ((rc = tc_open_readonly(tc_arg(&a, export_opts, "state-dir"), &j,
				   &err)) ||
	    (rc = tview_load(j, a.pos[0], &v, &err))) {
		rc = tc_fail("export", &err);
		goto out;
	}
	trials = calloc(v.n + 1, sizeof(*trials));
	etags = json_object();
	rtags = json_object();
	if (!trials || !etags || !rtags) {
		tc_error_set(&err, TC_ERR_NOMEM, "out of memory");
		rc = tc_fail("export", &err);
		goto out;
	}
	for (size_t i = 0; i < v.n; i++) {
		const struct trow *r = &v.rows[i];
		json_t *p = json_object(), *pv;
		const char *k;

		/* MLflow's params are text: each as trainctl writes it */
		json_object_foreach(r->params, k, pv)
		{
			char buf[4096];

			tc_fmt_param(pv, buf, sizeof(buf));
			json_object_set_new(p, k, json_string(buf));
		}
		trials[i] = (struct tc_mlflow_trial){
			r->id, r->idx, tc_state_name(r->state), r->attempt, p,
			r->started_at, r->ended_at};
	}
	json_object_set_new(rtags, "trainctl.experiment", json_string(v.exp.name));
	json_object_set_new(rtags, "trainctl.spec_sha256",
			    json_string(v.exp.spec_hash ? v.exp.spec_hash : ""));
	json_object_set_new(rtags, "trainctl.version",
			    json_string(v.exp.tc_version ? v.exp.tc_version : ""));
	if (v.exp.git_commit)
		json_object_set_new(rtags, "mlflow.source.git.commit",
				    json_string(v.exp.git_commit));
	json_object_update(etags, rtags);
	json_object_del(etags, "trainctl.experiment");
	json_object_set_new(etags, "trainctl.spec_path",
			    json_string(v.exp.spec_path ? v.exp.spec_path : ""));
	json_object_set_new(etags, "trainctl.host",
			    json_string(v.exp.host ? v.exp.host : ""));
	x = (struct tc_mlflow_export){uri, v.exp.name, etags, rtags, trials, v.n, j};
	if ((rc = tc_mlflow_export(&x, &res, &err))) {
		rc = tc_fail("export", &err);
		goto out;
	}
	printf("exported %zu trials of %s to %s (MLflow experiment %s): %zu runs "
	       "created, %zu updated, %zu metric values",
	       v.n, v.exp.name, uri, res.experiment_id, res.created, res.updated,
	       res.values);
	if (res.skipped)
		printf(" (%zu not finite: MLflow cannot hold them)", res.skipped);
	printf("\n");
	rc = TC_EXIT_OK;
out:
	json_decref(etags);
	json_decref(rtags);
	for (size_t i = 0; trials && i < v.n; i++)
		json_decref(trials[i].params);
	free(trials);
	if (j)
		tview_free(&v);
	tc_journal_close(j);
	return rc;
}
