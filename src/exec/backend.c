/*
 * backend.c — the table of backends, finding one by name, and what every
 * backend shares: the runner lock and the way into a run (see backend.h).
 */
#include "exec/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "search/search.h"
#include "util/fsutil.h"

/* Every backend, at its enum tc_backend_id; the first is the default. */
static const struct tc_backend *const backends[TC_BACKEND_COUNT] = {
	[TC_BACKEND_LOCAL] = &tc_backend_local,
	[TC_BACKEND_KUBERNETES] = &tc_backend_kubernetes,
};

int tc_backend_check_trials(const struct tc_backend *be,
			    const struct tc_spec *spec, uint64_t seed,
			    struct tc_error *err)
{
	struct tc_plan *plan = NULL;
	const struct tc_trial *t;
	int rc;

	if (!be->check_trial || !spec->placement_templates)
		return 0;
	if ((rc = tc_plan_new(spec, seed, &plan, err)))
		return rc;
	while ((rc = tc_plan_next(plan, &t, err)) > 0) {
		json_t *params = tc_trial_params_json(spec, t->values);

		if (!params) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			break;
		}
		rc = be->check_trial(spec, t->id, params, err);
		json_decref(params);
		if (rc)
			break;
	}
	tc_plan_free(plan);
	return rc < 0 ? rc : 0;
}

const struct tc_backend *tc_backend_get(enum tc_backend_id id)
{
	return id < TC_BACKEND_COUNT ? backends[id] : NULL;
}

const struct tc_backend *tc_backend_find(const char *name,
					 struct tc_error *err)
{
	char names[256];
	size_t n = 0;

	if (!name)
		return backends[0];
	for (int i = 0; i < TC_BACKEND_COUNT; i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	/* "a, b or c" */
	names[0] = '\0';
	for (int i = 0; i < TC_BACKEND_COUNT && n < sizeof(names); i++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
				      i == 0			 ? ""
				      : i + 1 == TC_BACKEND_COUNT ? " or "
								 : ", ",
				      backends[i]->name);
	tc_error_set(err, TC_ERR_USAGE, "backend must be %s", names);
	return NULL;
}

const struct tc_backend *tc_backend_of(const struct tc_exp_info *exp)
{
	for (int i = 0; exp->backend && i < TC_BACKEND_COUNT; i++)
		if (!strcmp(backends[i]->name, exp->backend))
			return backends[i];
	return backends[0];
}

int tc_backend_run(struct tc_journal *j, const char *name,
		   const struct tc_run_opts *o, struct tc_run_summary *sum,
		   struct tc_error *err)
{
	struct tc_exp_info exp;
	struct tc_spec *spec = NULL;
	int lockfd, rc;

	memset(sum, 0, sizeof(*sum));
	lockfd = tc_backend_lock(j, name);
	if (lockfd < 0) {
		int e = errno;

		if (e == EWOULDBLOCK) {
			char hint[TC_STATE_HINT_MAX];

			tc_state_dir_hint(j->dir, hint, sizeof(hint));
			return tc_error_set(err, TC_ERR_STATE,
					    "experiment '%s' is being run by "
					    "another trainctl (pid %d; see "
					    "`trainctl status%s %s`)",
					    name, tc_backend_running(j, name),
					    hint, name);
		}
		return tc_error_set(err, TC_ERR_STATE,
				    "cannot lock experiment '%s': %s", name,
				    tc_fs_strerror(e));
	}
	if ((rc = tc_experiment_load(j, name, &exp, err))) {
		close(lockfd);
		return rc;
	}
	rc = tc_spec_parse_recorded(exp.spec_path, exp.spec_text,
				    strlen(exp.spec_text), &spec, err);
	if (rc == 0)
		rc = tc_backend_of(&exp)->run(j, &exp, spec, o, sum, err);
	tc_spec_free(spec);
	tc_exp_info_free(&exp);
	close(lockfd);
	return rc;
}

/* ---- the runner lock ----------------------------------------------------- */

static int lock_path(struct tc_journal *j, const char *name, char *path,
		     size_t len, int create)
{
	snprintf(path, len, "%s/locks", j->dir);
	if (create && tc_mkdir_private(path, 0755, 1) < 0)
		return -1;
	return snprintf(path, len, "%s/locks/%s.lock", j->dir, name) < (int)len
		       ? 0
		       : -1;
}

/* Open-file-description locks: tied to this open file like flock, and
 * testable without taking them (F_OFD_GETLK), so `status` can ask whether
 * a runner is alive without ever getting in its way. */
int tc_backend_lock(struct tc_journal *j, const char *name)
{
	char path[PATH_MAX];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd;

	if (lock_path(j, name, path, sizeof(path), 1))
		return -1;
	fd = tc_private_open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		return -1;
	if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
		int e = errno;

		close(fd);
		errno = (e == EAGAIN || e == EACCES) ? EWOULDBLOCK : e;
		return -1;
	}
	{
		/* who holds it, for tc_backend_running */
		char b[24];
		int n = snprintf(b, sizeof(b), "%d\n", (int)getpid());

		if (ftruncate(fd, 0) != 0 || pwrite(fd, b, (size_t)n, 0) != n)
			(void)0; /* only a message loses the pid */
	}
	return fd;
}

void tc_backend_lock_remove(struct tc_journal *j, const char *name)
{
	char path[PATH_MAX];

	if (lock_path(j, name, path, sizeof(path), 0) == 0)
		unlink(path);
}

int tc_backend_running(struct tc_journal *j, const char *name)
{
	char path[PATH_MAX];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd, alive = 0;

	if (lock_path(j, name, path, sizeof(path), 0))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
		char b[24];
		ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
		long pid = 0;

		if (n > 0) {
			b[n] = '\0';
			pid = strtol(b, NULL, 10);
		}
		alive = pid > 1 && pid <= INT_MAX ? (int)pid : 1;
	}
	close(fd);
	return alive;
}
