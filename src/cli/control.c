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

/* Fill the temp table `sel` with the trials named on the command line;
 * their ids, each once, go to ids (room for a->npos) when given. */
static int select_trials(const char *verb, struct tc_journal *j,
			 const struct tc_args *a, int *n, char (*ids)[16])
{
	struct tc_error err;
	sqlite3_stmt *st;

	tc_error_clear(&err);
	if (tc_journal_exec(j, "CREATE TEMP TABLE IF NOT EXISTS sel(id TEXT PRIMARY KEY);"
			       "DELETE FROM sel;",
			    &err))
		return tc_fail(verb, &err);
	st = tc_journal_prepare(j, "INSERT OR IGNORE INTO sel VALUES(?)", &err);
	if (!st)
		return tc_fail(verb, &err);
	*n = 0;
	for (int i = 1; i < a->npos; i++) {
		char id[16];

		if (tc_find_trial(j, a->pos[0], a->pos[i], id, &err)) {
			sqlite3_finalize(st);
			return tc_fail(verb, &err);
		}
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_step(st);
		if (sqlite3_changes(j->db) == 0)
			continue; /* a trial named twice counts once */
		if (ids)
			memcpy(ids[*n], id, sizeof(id));
		(*n)++;
	}
	sqlite3_finalize(st);
	return 0;
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

static int exec_bound(struct tc_journal *j, const char *sql, const char *exp,
		      int all, struct tc_error *err, int *changes)
{
	sqlite3_stmt *st = tc_journal_prepare(j, sql, err);
	int rc;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, all);
	rc = sqlite3_step(st) == SQLITE_DONE
		     ? 0
		     : tc_error_set(err, TC_ERR_DB, "journal: %s", sqlite3_errmsg(j->db));
	if (changes)
		*changes = sqlite3_changes(j->db);
	sqlite3_finalize(st);
	return rc;
}

int cmd_cancel(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct tc_error err;
	struct tc_exp_info e;
	const struct tc_backend *be;
	char ids[256][16];
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
	if ((rc = select_trials("cancel", j, &a, &n, ids)))
		goto out;
	all = n == 0;
	tc_error_clear(&err);
	if ((rc = tc_journal_begin(j, &err)))
		goto fail;
	if ((rc = exec_bound(j,
			     "UPDATE trials SET state = 'cancelled', reason = "
			     "'cancelled' WHERE exp = ?1 AND state = 'queued' AND "
			     "(?2 OR id IN (SELECT id FROM sel))",
			     a.pos[0], all, &err, &queued)) ||
	    (rc = exec_bound(j,
			     "UPDATE trials SET cancel_req = 1 WHERE exp = ?1 AND "
			     "state IN ('starting', 'running') AND (?2 OR id IN "
			     "(SELECT id FROM sel))",
			     a.pos[0], all, &err, &running)) ||
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
		const char *idv[256];
		int dropped;

		for (int i = 0; i < n; i++)
			idv[i] = ids[i];
		dropped = be->cancel(j, a.pos[0], idv, (size_t)n,
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
static int refuse_live(struct tc_journal *j, const char *exp, struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(
		j,
		"SELECT id, idx, state FROM trials WHERE exp = ?1 AND id IN "
		"(SELECT id FROM sel) AND state IN ('queued', 'starting', "
		"'running') ORDER BY idx LIMIT 1",
		err);
	int rc = 0;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		long long idx = sqlite3_column_int64(st, 1);

		if (!strcmp((const char *)sqlite3_column_text(st, 2), "queued"))
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
	sqlite3_finalize(st);
	return rc;
}

int cmd_retry(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
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
	if ((rc = select_trials("retry", j, &a, &n, NULL)))
		goto out;
	/* a spec fixed since: its command for what has not succeeded */
	if ((rc = tc_prepare_resume("retry", j, a.pos[0], NULL,
				    tc_arg(&a, retry_opts, "force") != NULL)))
		goto out;
	tc_error_clear(&err);
	if ((rc = tc_journal_begin(j, &err)))
		goto fail;
	if (n && (rc = refuse_live(j, a.pos[0], &err))) {
		tc_journal_rollback(j);
		goto fail;
	}
	if ((rc = exec_bound(j,
			     n ? "UPDATE trials SET state = 'queued', next_at = 0, "
				 "cancel_req = 0, retry_base = attempt WHERE exp = ?1 "
				 "AND state IN ('failed', 'timed_out', 'cancelled') "
				 "AND id IN (SELECT id FROM sel)"
			       : "UPDATE trials SET state = 'queued', next_at = 0, "
				 "cancel_req = 0, retry_base = attempt WHERE exp = ?1 "
				 "AND state IN ('failed', 'timed_out')",
			     a.pos[0], 0, &err, &changed)) ||
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
	rc = changed ? tc_run_existing("retry", &j, a.pos[0], &a, retry_opts, 0) : 0;
	goto out;
fail:
	rc = tc_fail("retry", &err);
out:
	tc_journal_close(j);
	return rc;
}
