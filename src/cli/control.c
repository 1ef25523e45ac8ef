/*
 * control.c — `trainctl cancel` and `trainctl retry`: change what an
 * experiment will do, whether or not a runner is working on it.
 *
 * cancel: queued trials become cancelled at once; running ones get
 * cancel_req = 1 in the journal and then their backend's cancel (a signal
 * to their supervisor), so whoever records their end (the runner, or the
 * next resume) records "cancelled"; with no runner alive, a backend that
 * can stops and records them at once (Kubernetes deletes their Jobs).
 * Cancelling the whole experiment also marks the experiment, which makes
 * a live runner stop starting trials.  With nothing queued or running
 * among what was named, nothing changes (a finished experiment stays
 * finished).  A trial handed ahead to its supervisor, waiting for a slot,
 * is dropped there and counts as queued: it never started.
 *
 * retry: failed, timed-out or cancelled trials go back to queued with a
 * fresh retry budget; if no runner is alive, this command runs them.  If
 * the spec file at the experiment's recorded path changed, retry refuses
 * unless --force, which re-plans from it as run --resume --force does.  A
 * named trial that is queued or running is refused: it has not ended.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exec/backend.h"
#include "store/experiment.h"
#include "store/trials.h"


static const struct tc_opt cancel_opts[] = {
	{"now", 0, 0, NULL, "kill at once (SIGKILL) instead of SIGTERM first"},
	{"kubeconfig", 0, 1, "FILE", "kubernetes: the kubeconfig to use"},
	{"context", 0, 1, "NAME", "kubernetes: the kubeconfig context"},
	{"namespace", 'n', 1, "NS", "kubernetes: the namespace"},
	{NULL, 0, 0, NULL, NULL},
};

static int open_exp(const char *verb, const struct tc_args *a,
		    const struct tc_opt *opts, struct tc_journal **j)
{
	struct tc_error err;
	int rc;

	tc_error_clear(&err);
	if ((rc = tc_open_existing(tc_arg(a, opts, "state-dir"), j, &err)))
		return tc_fail(verb, &err);
	rc = tc_journal_has_experiment(*j, a->pos[0], &err);
	if (rc == 0)
		tc_error_set(&err, TC_ERR_NOTFOUND,
			     "no experiment '%s' (see `trainctl ls%s`)", a->pos[0],
			     tc_state_hint((*j)->dir));
	if (rc <= 0) {
		tc_journal_close(*j);
		*j = NULL;
		return tc_fail(verb, &err);
	}
	return 0;
}

/* Open the experiment's trials and pick the ones named on the command
 * line (none: every trial); *n counts the distinct ones named. */
static int select_trials(const char *verb, struct tc_journal *j,
			 const struct tc_args *a, struct tc_trials **tr, int *n)
{
	struct tc_error err;
	char (*ids)[16] = calloc((size_t)a->npos + 1, sizeof(*ids));
	const char **idp = calloc((size_t)a->npos + 1, sizeof(*idp));
	int rc = 0;

	tc_error_clear(&err);
	*n = 0;
	if (!ids || !idp || !(*tr = tc_trials_open(j, a->pos[0], &err))) {
		rc = tc_error_set(&err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 1; i < a->npos && !rc; i++) {
		rc = tc_find_trial(j, a->pos[0], a->pos[i], ids[i - 1], &err);
		idp[i - 1] = ids[i - 1];
	}
	if (!rc)
		rc = tc_trials_pick(*tr, 0, idp, (size_t)(a->npos > 1 ? a->npos - 1 : 0),
				    n, &err);
out:
	free(ids);
	free(idp);
	return rc ? tc_fail(verb, &err) : 0;
}

#define NOTHING_TO_CANCEL 1

/* Nothing queued or running among what was named: say so, change nothing
 * (a finished experiment stays finished).  Returns NOTHING_TO_CANCEL. */
static int nothing_to_cancel(struct tc_journal *j, const struct tc_args *a, int n)
{
	struct tc_exp_info e;
	struct tc_error err;

	tc_error_clear(&err);
	if (n == 0 && tc_experiment_load(j, a->pos[0], &e, &err) == 0) {
		printf("nothing to cancel: experiment '%s' is %s, with no trial "
		       "queued or running\n",
		       a->pos[0], e.state);
		tc_exp_info_free(&e);
	} else {
		printf("nothing to cancel: %s named %s ended already\n",
		       n == 1 ? "the trial" : "the trials",
		       n == 1 ? "has" : "have");
	}
	return NOTHING_TO_CANCEL;
}

int cmd_cancel(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct tc_trials *tr = NULL;
	struct tc_error err;
	struct tc_exp_info e;
	const struct tc_backend *be;
	int rc, n = 0, all, queued = 0, running = 0, runner_alive;

	rc = tc_parse_args(argc, argv, cancel_opts, "cancel NAME [TRIAL...]",
			   "Cancel the whole experiment, or the trials named.  "
			   "Running trials get SIGTERM\n(then SIGKILL after the "
			   "grace period); queued ones never start.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos < 1)
		return tc_usage_error("cancel", "expected an experiment name");
	if ((rc = open_exp("cancel", &a, cancel_opts, &j)))
		return rc;
	memset(&e, 0, sizeof(e));
	tc_error_clear(&err);
	if ((rc = tc_experiment_load(j, a.pos[0], &e, &err)))
		goto fail;
	be = tc_backend_of(&e);
	if ((rc = select_trials("cancel", j, &a, &tr, &n)))
		goto out;
	all = n == 0;
	tc_error_clear(&err);
	if ((rc = tc_journal_begin(j, &err)))
		goto fail;
	if ((rc = tc_trials_request_cancel(tr, &queued, &running, &err)) ||
	    (queued + running == 0 && (rc = nothing_to_cancel(j, &a, n))) ||
	    (all && (rc = tc_experiment_set_state(j, a.pos[0], "cancelled", &err))) ||
	    (rc = tc_journal_event(j, a.pos[0], NULL, "cancel requested", NULL, &err)) ||
	    (rc = tc_journal_commit(j, &err))) {
		tc_journal_rollback(j);
		if (rc == NOTHING_TO_CANCEL) {
			rc = 0;
			goto out;
		}
		goto fail;
	}
	runner_alive = tc_backend_running(j, a.pos[0]);
	/* now act: stop the running trials; one that never started (it
	 * waited for a slot) counts as queued */
	if (be->cancel) {
		int dropped = be->cancel(tr, a.pos[0],
					 tc_arg(&a, cancel_opts, "now") != NULL,
					 &err);

		if (dropped < 0)
			goto fail;
		if (dropped > running)
			dropped = running;
		running -= dropped;
		queued += dropped;
	}
	if (queued)
		printf("cancelled %d queued trial%s%s", queued, queued == 1 ? "" : "s",
		       running ? "; " : "\n");
	if (running)
		printf("stopping %d running trial%s\n", running,
		       running == 1 ? "" : "s");
	if (n && n > queued + running)
		printf("(%d of the trials named had ended already and were left "
		       "alone)\n",
		       n - queued - running);
	if (running && !runner_alive && be->cancel_unwatched) {
		/* nobody watches: the backend stops and records them now */
		struct tc_run_opts o;
		const char *done;

		memset(&o, 0, sizeof(o));
		o.gpus = -1;
		o.progress = -1;
		o.out = stdout;
		o.kubeconfig = tc_arg(&a, cancel_opts, "kubeconfig");
		o.context = tc_arg(&a, cancel_opts, "context");
		o.ns = tc_arg(&a, cancel_opts, "namespace");
		fflush(stdout);
		if ((rc = be->cancel_unwatched(j, a.pos[0], &o, &done, &err)))
			goto fail;
		printf("%s\n", done);
		rc = 0;
		goto out;
	}
	if (running && !runner_alive)
		printf("no trainctl is running '%s': `trainctl resume%s %s` "
		       "records their end\n",
		       a.pos[0], tc_state_hint(j->dir), a.pos[0]);
	rc = 0;
	goto out;
fail:
	rc = tc_fail("cancel", &err);
out:
	tc_exp_info_free(&e);
	tc_trials_close(tr);
	tc_journal_close(j);
	return rc;
}

static const struct tc_opt retry_opts[] = {
	{"failed", 0, 0, NULL, "every failed or timed-out trial"},
	{"force", 'f', 0, NULL, "use the spec file even if it changed"},
	{"kubeconfig", 0, 1, "FILE", "kubernetes: the kubeconfig to use"},
	{"context", 0, 1, "NAME", "kubernetes: the kubeconfig context"},
	{"namespace", 'n', 1, "NS", "kubernetes: the namespace"},
	{"parallel", 'p', 1, "N", "trials at a time (default: run.parallel)"},
	{"cpus", 0, 1, "N", "CPU cores to pack trials into (default: all)"},
	{"memory", 0, 1, "Q", "memory to pack trials into (default: all)"},
	{"gpus", 0, 1, "N", "GPUs of this machine (default: nvidia-smi -L)"},
	{"kill-grace", 0, 1, "SECONDS", "time between SIGTERM and SIGKILL"},
	{"detach", 'd', 0, NULL, "run in the background"},
	{"quiet", 'q', 0, NULL, "no progress output"},
	{"max-failures", 0, 1, "N", "stop after N failed attempts while none "
				    "succeeded (0: never)"},
	{NULL, 0, 0, NULL, NULL},
};

/* A trial named for retry that is queued or running has not ended: there
 * is nothing to retry yet, and saying "queued 0 trials again" would hide
 * that.  TC_ERR_STATE naming the first such trial, or 0. */
static int refuse_live(struct tc_journal *j, struct tc_trials *tr,
		       const char *exp, struct tc_error *err)
{
	struct tc_trial_row row;
	int rc = tc_trials_picked_unended(tr, &row, err);

	if (rc <= 0)
		return rc;
	{
		const char *id = row.id;
		long long idx = row.idx;

		if (row.state == TC_ST_QUEUED)
			rc = tc_error_set(err, TC_ERR_STATE,
					  "trial %s (index %lld) is queued already: "
					  "it runs when a trainctl runs '%s'",
					  id, idx, exp);
		else
			rc = tc_error_set(err, TC_ERR_STATE,
					  "trial %s (index %lld) is running: retry "
					  "it once it has ended, or stop it first "
					  "with `trainctl cancel%s %s %s`",
					  id, idx, tc_state_hint(j->dir), exp, id);
	}
	tc_trial_row_free(&row);
	return rc;
}

int cmd_retry(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct tc_trials *tr = NULL;
	struct tc_error err;
	int rc, n = 0, changed = 0;

	rc = tc_parse_args(argc, argv, retry_opts, "retry NAME [TRIAL...|--failed]",
			   "Queue failed, timed-out or cancelled trials again (with "
			   "a fresh retry budget)\nand run them, or let the running "
			   "trainctl pick them up.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos < 1)
		return tc_usage_error("retry", "expected an experiment name");
	if (a.npos == 1 && !tc_arg(&a, retry_opts, "failed"))
		return tc_usage_error("retry", "name the trials to retry, or pass --failed");
	if (a.npos > 1 && tc_arg(&a, retry_opts, "failed"))
		return tc_usage_error("retry", "give trials or --failed, not both");
	if ((rc = open_exp("retry", &a, retry_opts, &j)))
		return rc;
	if ((rc = select_trials("retry", j, &a, &tr, &n)))
		goto out;
	/* a spec fixed since: its command for what has not succeeded */
	if ((rc = tc_prepare_resume("retry", j, a.pos[0], NULL,
				    tc_arg(&a, retry_opts, "force") != NULL)))
		goto out;
	tc_error_clear(&err);
	if ((rc = tc_journal_begin(j, &err)))
		goto fail;
	if (n && (rc = refuse_live(j, tr, a.pos[0], &err))) {
		tc_journal_rollback(j);
		goto fail;
	}
	if ((rc = tc_trials_retry(tr, n > 0, &changed, &err)) ||
	    (changed && (rc = tc_experiment_set_state(j, a.pos[0], "running", &err))) ||
	    (rc = tc_journal_event(j, a.pos[0], NULL, "retry requested", NULL, &err)) ||
	    (rc = tc_journal_commit(j, &err))) {
		tc_journal_rollback(j);
		goto fail;
	}
	printf("queued %d trial%s again\n", changed, changed == 1 ? "" : "s");
	if (n && changed < n)
		printf("(%d of the trials named had succeeded and were left "
		       "alone)\n",
		       n - changed);
	if (tc_backend_running(j, a.pos[0])) {
		printf("the running trainctl picks them up\n");
		rc = 0;
		goto out;
	}
	fflush(stdout);
	tc_trials_close(tr); /* the run may open the journal again */
	tr = NULL;
	rc = changed ? tc_run_existing("retry", &j, a.pos[0], &a, retry_opts, 0) : 0;
	goto out;
fail:
	rc = tc_fail("retry", &err);
out:
	tc_trials_close(tr);
	tc_journal_close(j);
	return rc;
}
