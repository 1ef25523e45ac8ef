/*
 * logs.c — `trainctl logs NAME TRIAL [-f]`: a trial's output, straight from
 * the files its supervisor writes; -f follows until the trial ends.
 * --rank R: rank R's of a trial of several (nodes:), stdout.rankR.log.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exec/backend.h"
#include "store/trials.h"
#include "spec/spec.h"
#include "store/experiment.h"

static const struct tc_opt logs_opts[] = {
	{"follow", 'f', 0, NULL, "keep printing new output until the trial ends"},
	{"stderr", 'e', 0, NULL, "the trial's stderr instead of its stdout"},
	{"attempt", 0, 1, "N", "an earlier attempt's output"},
	{"rank", 0, 1, "R", "rank R's output, of a trial with nodes > 1 "
			    "(default 0)"},
	{"kubeconfig", 0, 1, "FILE", "kubernetes: the kubeconfig to use"},
	{"context", 0, 1, "NAME", "kubernetes: the kubeconfig context"},
	{"namespace", 'n', 1, "NS", "kubernetes: the namespace"},
	{NULL, 0, 0, NULL, NULL},
};

static int trial_state(struct tc_journal *j, const char *exp, const char *id,
		       int *attempt)
{
	struct tc_error err;
	struct tc_trials *tr = tc_trials_open(j, exp, &err);
	struct tc_trial_row row;
	int s = -1;

	if (tr && tc_trials_get(tr, id, &row, &err) == 1) {
		s = row.state;
		if (attempt)
			*attempt = row.attempt;
		tc_trial_row_free(&row);
	}
	tc_trials_close(tr);
	return s;
}

static int copy_new(int fd, off_t *off)
{
	char buf[65536];
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), *off)) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -1;
		*off += n;
	}
	fflush(stdout);
	return ferror(stdout) ? -1 : 0;
}

/* A running trial whose output is not in its files yet: its backend's
 * (a pod's log). */
static int backend_logs(struct tc_journal *j, const struct tc_args *a,
			const struct tc_backend *be,
			const struct tc_exp_info *e, const char *id,
			int attempt, struct tc_error *err)
{
	struct tc_run_opts o;

	memset(&o, 0, sizeof(o));
	o.kubeconfig = tc_arg(a, logs_opts, "kubeconfig");
	o.context = tc_arg(a, logs_opts, "context");
	o.ns = tc_arg(a, logs_opts, "namespace");
	if (be->logs(j, e, id, attempt, tc_arg(a, logs_opts, "follow") != NULL,
		     &o, stdout, err))
		return tc_fail("logs", err);
	return 0;
}

int cmd_logs(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct tc_error err;
	char id[16], path[PATH_MAX];
	char *dir = NULL;
	const char *which;
	int rc, fd = -1, state, attempt = 0, want_attempt = 0, rank = 0;
	char rank_part[24] = "";
	off_t off = 0;

	rc = tc_parse_args(argc, argv, logs_opts, "logs NAME TRIAL [-f] [--stderr]",
			   "Print a trial's output.  TRIAL is its id, a unique "
			   "prefix of it, its index,\nor #index (digits that "
			   "are both an index and an id prefix are refused).",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 2)
		return tc_usage_error("logs", "expected an experiment name and a trial");
	which = tc_arg(&a, logs_opts, "stderr") ? "stderr" : "stdout";
	if (tc_arg(&a, logs_opts, "attempt")) {
		long l;

		if (tc_arg_long("logs", "attempt", tc_arg(&a, logs_opts, "attempt"), 1,
				1000000, &l))
			return TC_EXIT_USAGE;
		want_attempt = (int)l;
	}
	if (tc_arg(&a, logs_opts, "rank")) {
		long l;

		if (tc_arg_long("logs", "rank", tc_arg(&a, logs_opts, "rank"), 0,
				INT_MAX, &l))
			return TC_EXIT_USAGE;
		rank = (int)l;
	}
	tc_error_clear(&err);
	rc = tc_open_readonly(tc_arg(&a, logs_opts, "state-dir"), &j, &err);
	if (!rc) {
		rc = tc_journal_has_experiment(j, a.pos[0], &err);
		if (rc == 0)
			rc = tc_error_set(&err, TC_ERR_NOTFOUND,
					  "no experiment '%s' (see `trainctl ls%s`)",
					  a.pos[0], tc_state_hint(j->dir));
		else if (rc > 0)
			rc = tc_find_trial(j, a.pos[0], a.pos[1], id, &err);
	}
	if (rc) {
		tc_journal_close(j);
		return tc_fail("logs", &err);
	}
	if (rank > 0) {
		/* its experiment's spec says how many ranks its trials have */
		struct tc_exp_info e;
		struct tc_spec *spec = NULL;
		int nodes = 0;

		if (tc_experiment_load(j, a.pos[0], &e, &err) == 0) {
			if (tc_spec_parse_recorded(e.spec_path, e.spec_text,
						   strlen(e.spec_text), &spec,
						   &err) == 0)
				nodes = spec->nodes;
			tc_spec_free(spec);
			tc_exp_info_free(&e);
		}
		if (rank >= nodes) {
			if (nodes > 0)
				fprintf(stderr,
					"trainctl logs: --rank %d: the trials "
					"of %s have %d rank%s (0 to %d)\n",
					rank, a.pos[0], nodes,
					nodes == 1 ? "" : "s", nodes - 1);
			else
				tc_fail("logs", &err);
			tc_journal_close(j);
			return TC_EXIT_USAGE;
		}
		snprintf(rank_part, sizeof(rank_part), ".rank%d", rank);
	}
	dir = tc_trial_dir(j, id);
	state = trial_state(j, a.pos[0], id, &attempt);
	if (want_attempt > attempt && want_attempt > 1) {
		fprintf(stderr, "trainctl logs: trial %s has %d attempt%s, not %d\n",
			id, attempt, attempt == 1 ? "" : "s", want_attempt);
		free(dir);
		tc_journal_close(j);
		return TC_EXIT_USAGE;
	}
	if ((state == TC_ST_RUNNING || state == TC_ST_STARTING) &&
	    (!want_attempt || want_attempt == attempt) && rank == 0) {
		struct tc_exp_info e;

		/* a trial on a cluster: its output is its pod's log */
		if (tc_experiment_load(j, a.pos[0], &e, &err) == 0) {
			const struct tc_backend *be = tc_backend_of(&e);

			if (be->logs) {
				rc = backend_logs(j, &a, be, &e, id, attempt,
						  &err);
				tc_exp_info_free(&e);
				free(dir);
				tc_journal_close(j);
				return rc;
			}
			tc_exp_info_free(&e);
		}
	}
	if (want_attempt && want_attempt < attempt)
		snprintf(path, sizeof(path), "%s/%s%s.%d.log", dir, which,
			 rank_part, want_attempt);
	else
		snprintf(path, sizeof(path), "%s/%s%s.log", dir, which, rank_part);
	for (;;) {
		if (fd < 0)
			fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && copy_new(fd, &off) != 0) {
			rc = TC_EXIT_FAILED;
			break;
		}
		if (!tc_arg(&a, logs_opts, "follow") ||
		    (want_attempt && want_attempt < attempt))
			break;
		state = trial_state(j, a.pos[0], id, NULL);
		if (state < 0 || tc_state_final(state)) {
			if (fd < 0)
				fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				copy_new(fd, &off);
			break;
		}
		{
			struct timespec ts = {0, 200 * 1000000L};

			nanosleep(&ts, NULL);
		}
	}
	if (fd < 0 && !tc_arg(&a, logs_opts, "follow"))
		fprintf(stderr, "trainctl logs: trial %s has no %s yet (%s)\n", id,
			which, tc_state_name(state));
	if (fd >= 0)
		close(fd);
	free(dir);
	tc_journal_close(j);
	return rc;
}
