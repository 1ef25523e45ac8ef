/*
 * gc.c — `trainctl gc NAME`: delete every object an experiment created on
 * its Kubernetes cluster (Jobs and their pods, ConfigMaps, Services), found
 * by the label trainctl.io/experiment=NAME.  The journal, logs and results
 * stay: `results`, `report` and `logs` work as before.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exec/backend.h"
#include "store/experiment.h"

static const struct tc_opt gc_opts[] = {
	{"kubeconfig", 0, 1, "FILE", "the kubeconfig to use"},
	{"context", 0, 1, "NAME", "the kubeconfig context"},
	{"namespace", 'n', 1, "NS", "the namespace"},
	{NULL, 0, 0, NULL, NULL},
};

int cmd_gc(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct tc_error err;
	struct tc_exp_info e;
	const struct tc_backend *be;
	struct tc_run_opts o;
	long deleted = 0;
	int rc, lockfd = -1;

	rc = tc_parse_args(argc, argv, gc_opts, "gc NAME",
			   "Delete every object experiment NAME created on its "
			   "Kubernetes cluster (Jobs with\ntheir pods, ConfigMaps, "
			   "Services).  Its journal, logs and results are kept.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("gc", "expected an experiment name");
	tc_error_clear(&err);
	memset(&e, 0, sizeof(e));
	if ((rc = tc_open_existing(tc_arg(&a, gc_opts, "state-dir"), &j, &err)) ||
	    (rc = tc_experiment_load(j, a.pos[0], &e, &err)))
		goto fail;
	/* whatever a killed run left in the write-ahead log goes into
	 * journal.db, which alone is then the whole journal */
	tc_journal_checkpoint(j);
	be = tc_backend_of(&e);
	if (!be->gc) {
		rc = tc_error_set(&err, TC_ERR_USAGE,
				  "experiment '%s' ran on the %s backend: it "
				  "created nothing on a cluster",
				  a.pos[0], be->name);
		goto fail;
	}
	/* a runner would create Jobs again behind our back */
	lockfd = tc_backend_lock(j, a.pos[0]);
	if (lockfd < 0) {
		rc = tc_error_set(&err, TC_ERR_STATE,
				  errno == EWOULDBLOCK
					  ? "experiment '%s' is running: `trainctl "
					    "cancel%s %s` first"
					  : "cannot lock experiment '%s'",
				  a.pos[0], tc_state_hint(j->dir), a.pos[0]);
		goto fail;
	}
	memset(&o, 0, sizeof(o));
	o.kubeconfig = tc_arg(&a, gc_opts, "kubeconfig");
	o.context = tc_arg(&a, gc_opts, "context");
	o.ns = tc_arg(&a, gc_opts, "namespace");
	if ((rc = be->gc(j, &e, &o, &deleted, &err)))
		goto fail;
	printf("deleted %ld object%s of experiment '%s'\n", deleted,
	       deleted == 1 ? "" : "s", a.pos[0]);
	rc = 0;
	goto out;
fail:
	rc = tc_fail("gc", &err);
out:
	if (lockfd >= 0)
		close(lockfd);
	if (e.name)
		tc_exp_info_free(&e);
	tc_journal_close(j);
	return rc;
}
