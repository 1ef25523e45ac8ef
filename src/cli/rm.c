/*
 * rm.c — `trainctl rm NAME [--force]`: remove one experiment from the
 * state directory: its trial directories, its status and lock files, and
 * its rows in the journal.  Other experiments are untouched.
 *
 * An experiment that runs (a trainctl holds its lock, or trials of it are
 * still alive under a supervisor) is refused; --force cancels it first
 * (as `cancel NAME` does) and waits for its trials to stop.
 *
 * Order: the runner lock is taken first and held throughout, so no
 * `resume` or `run` can start the experiment while it goes; then the files
 * go, then the rows in one transaction.  Killed half-way, `rm` again
 * finishes the job: the experiment is still listed until its rows go.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exec/backend.h"
#include "store/experiment.h"
#include "store/trials.h"
#include "util/clock.h"

static const struct tc_opt rm_opts[] = {
	{"force", 'f', 0, NULL, "cancel the experiment first if it runs"},
	{NULL, 0, 0, NULL, NULL},
};

static int rm_entry(const char *path, const struct stat *sb, int type,
		    struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP ? rmdir(path) : unlink(path))
		return errno == ENOENT ? 0 : -1;
	return 0;
}

/* Remove a trial directory and everything in it, never following a
 * symbolic link (a link a trial left is removed, not what it points to). */
static int rm_tree(const char *path)
{
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 &&
	    errno != ENOENT)
		return -1;
	return 0;
}

/* Trials of the experiment whose processes may still run: started in the
 * journal and, as far as their backend can tell, alive. */
static int trials_alive(struct tc_journal *j, const char *name,
			const struct tc_backend *be)
{
	struct tc_error err;
	struct tc_trials *tr;
	struct tc_trial_row *rows;
	size_t n;
	int alive = 0;

	tc_error_clear(&err);
	if (!(tr = tc_trials_open(j, name, &err)) ||
	    tc_trials_live(tr, &rows, &n, &err)) {
		tc_trials_close(tr);
		return -1;
	}
	tc_trials_close(tr);
	for (size_t i = 0; i < n; i++) {
		if (!be->alive ||
		    be->alive(j, name, rows[i].idx, rows[i].attempt))
			alive++;
		tc_trial_row_free(&rows[i]);
	}
	free(rows);
	return alive;
}

/* Wait up to secs for the experiment's runner to exit and its trials to
 * stop; 1 when they did. */
static int wait_stopped(struct tc_journal *j, const char *name,
			const struct tc_backend *be, double secs)
{
	double until = tc_mono() + secs;
	struct timespec ts = {0, 50 * 1000 * 1000};

	for (;;) {
		if (!tc_backend_running(j, name) &&
		    trials_alive(j, name, be) == 0)
			return 1;
		if (tc_mono() >= until)
			return 0;
		nanosleep(&ts, NULL);
	}
}

static int cancel_it(const char *name, const char *state_dir, int hard)
{
	char *argv[6];
	int argc = 0;

	argv[argc++] = (char *)"cancel";
	argv[argc++] = (char *)name;
	if (state_dir) {
		argv[argc++] = (char *)"--state-dir";
		argv[argc++] = (char *)state_dir;
	}
	if (hard)
		argv[argc++] = (char *)"--now";
	argv[argc] = NULL;
	return cmd_cancel(argc, argv);
}

struct rm_ctx {
	struct tc_journal *j;
	struct tc_error *err;
	int ndirs;
};

/* Remove a trial's directory. */
static int rm_trial_dir(void *ctx, const struct tc_trial_row *r)
{
	struct rm_ctx *c = ctx;
	char *dir = tc_trial_dir(c->j, r->id);

	if (!dir || rm_tree(dir)) {
		tc_error_set(c->err, TC_ERR_IO, "cannot remove %s: %s",
			     dir ? dir : "a trial directory", strerror(errno));
		free(dir);
		return TC_ERR_IO;
	}
	free(dir);
	c->ndirs++;
	return 0;
}

int cmd_rm(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct tc_error err;
	struct tc_exp_info e;
	struct tc_trials *tr = NULL;
	struct rm_ctx c = {NULL, NULL, 0};
	const struct tc_backend *be;
	const char *name, *sd;
	int rc, lockfd = -1, force;

	rc = tc_parse_args(argc, argv, rm_opts, "rm NAME [--force]",
			   "Remove experiment NAME: its trial directories, logs "
			   "and journal rows.  Other\nexperiments are untouched.  "
			   "A running experiment is refused unless --force,\n"
			   "which cancels it first.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("rm", "expected one experiment name");
	name = a.pos[0];
	sd = tc_arg(&a, rm_opts, "state-dir");
	force = tc_arg(&a, rm_opts, "force") != NULL;
	tc_error_clear(&err);
	memset(&e, 0, sizeof(e));
	if ((rc = tc_open_existing(sd, &j, &err)) ||
	    (rc = tc_experiment_load(j, name, &e, &err)))
		goto fail;
	be = tc_backend_of(&e);

	if (tc_backend_running(j, name) || trials_alive(j, name, be) > 0) {
		if (!force) {
			rc = tc_error_set(&err, TC_ERR_STATE,
					  "experiment '%s' is running: `trainctl "
					  "cancel%s %s` first, or `trainctl rm%s "
					  "%s --force`",
					  name, tc_state_hint(j->dir), name,
					  tc_state_hint(j->dir), name);
			goto fail;
		}
		fflush(stdout);
		cancel_it(name, sd, 0);
		fflush(stdout);
		if (!wait_stopped(j, name, be, 30)) {
			cancel_it(name, sd, 1);
			fflush(stdout);
			if (!wait_stopped(j, name, be, 10)) {
				rc = tc_error_set(&err, TC_ERR_STATE,
						  "experiment '%s' still runs after "
						  "the cancel: nothing removed",
						  name);
				goto fail;
			}
		}
	}
	lockfd = tc_backend_lock(j, name);
	if (lockfd < 0) {
		rc = tc_error_set(&err, TC_ERR_STATE,
				  "experiment '%s' was started again: nothing "
				  "removed",
				  name);
		goto fail;
	}

	/* the files first: a kill half-way leaves the rows, and rm again */
	c.j = j;
	c.err = &err;
	if (!(tr = tc_trials_open(j, name, &err)) ||
	    (rc = tc_trials_scan(tr, rm_trial_dir, &c, &err)))
		goto fail;
	tc_trials_close(tr);
	tr = NULL;
	if (be->remove && (rc = be->remove(j, name, &err)))
		goto fail;
	if ((rc = tc_experiment_delete(j, name, &err)))
		goto fail;
	/* last, while we still hold it: a run after this makes a new one */
	tc_backend_lock_remove(j, name);
	printf("removed experiment '%s' (%d trial director%s)\n", name, c.ndirs,
	       c.ndirs == 1 ? "y" : "ies");
	if (be->leftovers)
		printf("%s (`trainctl gc%s %s` before `rm` deletes them at "
		       "once)\n",
		       be->leftovers, tc_state_hint(j->dir), name);
	rc = 0;
	goto out;
fail:
	rc = tc_fail("rm", &err);
out:
	tc_trials_close(tr);
	if (lockfd >= 0)
		close(lockfd);
	tc_exp_info_free(&e);
	tc_journal_close(j);
	return rc;
}
