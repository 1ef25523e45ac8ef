/*
 * backend_local.c — the local backend's entry in the table of backends
 * (exec/backend.h): trials are processes of this machine, each under the
 * supervisor of the runner that started it (exec/supervisor.h), run by the
 * scheduler of exec/runner.c.  What a verb asks of a trial from another
 * process (cancel it, is it alive, why it waits) is read from, or sent
 * through, its slot in the experiment's status file.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/backend.h"
#include "exec/runner.h"
#include "exec/supervisor.h"
#include "store/trials.h"

static int local_templates(const struct tc_spec *spec, struct tc_error *err);

static int local_check(const struct tc_spec *spec, struct tc_error *err)
{
	return local_templates(spec, err);
}

static int local_templates(const struct tc_spec *spec, struct tc_error *err)
{
	for (size_t i = 0; i < spec->nstages; i++) {
		const struct tc_stage *st = &spec->stages[i];
		const struct tc_spec *v = st->spec;

		if (st->own_resources &&
		    (v->resources.cpu != spec->resources.cpu ||
		     v->resources.memory != spec->resources.memory ||
		     v->resources.gpu != spec->resources.gpu))
			return tc_error_at(err, TC_ERR_SPEC, spec->path,
					   st->resources_pos.line,
					   st->resources_pos.col,
					   "stage %s: resources of its own need "
					   "--backend kubernetes (the local "
					   "backend packs every job by one "
					   "request: set it at the top level)",
					   st->name);
	}
	for (int k = 0; k < 2; k++) {
		const struct tc_str *t = k ? &spec->resources.memory_template
					   : &spec->resources.cpu_template;

		if (t->text)
			return tc_error_at(err, TC_ERR_SPEC, spec->path,
					   t->pos.line, t->pos.col,
					   "resources.%s uses {{...}}: "
					   "resources per trial need --backend "
					   "kubernetes (the local backend packs "
					   "trials by one request)",
					   k ? "memory" : "cpu");
	}
	return 0;
}

static int local_validate(const struct tc_spec *spec, const char *spec_dir,
			  struct tc_error *err)
{
	int rc = local_templates(spec, err);
	double cpus;
	long long mem;
	int gpus;

	if (rc)
		return rc;
	/* a group of ranks that would never fit this machine */
	tc_machine_resources(&cpus, &mem, &gpus);
	if ((rc = tc_runner_check_nodes(spec, cpus, mem, gpus, err)))
		return rc;
	return tc_spec_check_program(spec, spec_dir, err);
}

static int local_check_start(const struct tc_spec *spec, const char *spec_dir,
			     const struct tc_run_opts *o, struct tc_error *err)
{
	int rc;

	if ((rc = tc_spec_check_program(spec, spec_dir, err)))
		return rc;
	return tc_runner_check(spec, o, err);
}

/* Signal the supervisors of the trials whose cancel is committed; those
 * still waiting in their supervisor for a slot are dropped, never
 * started. */
static int local_cancel(struct tc_trials *tr, const char *exp, int hard,
			struct tc_error *err)
{
	struct tc_journal *j = tc_trials_journal(tr);
	struct tc_trial_row *rows = NULL;
	char path[PATH_MAX];
	size_t n = 0;
	int rc, dropped = 0;

	if (tc_supervisor_status_path(j->dir, exp, path, sizeof(path)))
		return 0;
	if ((rc = tc_trials_cancelling(tr, &rows, &n, err)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct tc_slot sl = {path, rows[i].idx};

		if (tc_supervisor_cancel(&sl, rows[i].attempt, rows[i].sup_pid,
					 rows[i].sup_start, hard) == 1)
			dropped++;
		tc_trial_row_free(&rows[i]);
	}
	free(rows);
	return dropped;
}

/* A trial in state starting whose supervisor holds it but has not started
 * it waits for a slot (it was handed over ahead, see exec/supervisor.h). */
static char *local_waiting(struct tc_journal *j, const char *exp,
			   long long idx, int attempt)
{
	char path[PATH_MAX];
	struct tc_slot sl = {path, idx};
	struct tc_exit_info ei;
	pid_t sp, pg;

	if (tc_supervisor_status_path(j->dir, exp, path, sizeof(path)) == 0 &&
	    tc_supervisor_probe(&sl, attempt, &ei) == TC_PROBE_ALIVE &&
	    tc_supervisor_read_run(&sl, attempt, &sp, &pg) != 0)
		return strdup("waiting for a free slot");
	return NULL;
}

/* Alive while its slot's lock is held. */
static int local_alive(struct tc_journal *j, const char *exp, long long idx,
		       int attempt)
{
	char path[PATH_MAX];
	struct tc_slot sl = {path, idx};
	struct tc_exit_info ei;

	return tc_supervisor_status_path(j->dir, exp, path, sizeof(path)) == 0 &&
	       tc_supervisor_probe(&sl, attempt, &ei) == TC_PROBE_ALIVE;
}

/* The status file holding the trials' slots. */
static int local_remove(struct tc_journal *j, const char *exp,
			struct tc_error *err)
{
	char path[PATH_MAX];

	if (tc_supervisor_status_path(j->dir, exp, path, sizeof(path)) == 0 &&
	    unlink(path) && errno != ENOENT)
		return tc_error_set(err, TC_ERR_IO, "cannot remove %s: %s", path,
				    strerror(errno));
	return 0;
}

const struct tc_backend tc_backend_local = {
	.name = "local",
	.live_reason = TC_GPU_WAIT,
	.validate = local_validate,
	.check = local_check,
	.check_start = local_check_start,
	.run = tc_runner_run,
	.cancel = local_cancel,
	.waiting = local_waiting,
	.alive = local_alive,
	.remove = local_remove,
};
