/*
 * run.c — `trainctl run` and `trainctl resume`: create (or find) an
 * experiment in the journal and hand it to the runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "artifacts/artifacts.h"
#include "cli/progress.h"
#include "exec/backend.h"
#include "plan/plan.h"
#include "spec/spec.h"
#include "store/experiment.h"
#include "util/fsutil.h"
#include "util/hash.h"
#include "util/text.h"


#define RUN_COMMON_OPTS                                                        \
	{"parallel", 'p', 1, "N", "trials at a time (default: run.parallel)"}, \
	{"cpus", 0, 1, "N", "CPU cores to pack trials into (default: all)"},   \
	{"memory", 0, 1, "Q", "memory to pack trials into, e.g. 16Gi "         \
			      "(default: all)"},                               \
	{"gpus", 0, 1, "N", "GPUs of this machine (default: nvidia-smi -L)"},  \
	{"kill-grace", 0, 1, "SECONDS",                                        \
	 "time between SIGTERM and SIGKILL (default 10)"},                     \
	{"detach", 'd', 0, NULL, "run in the background; follow with status"}, \
	{"max-failures", 0, 1, "N", "stop after N failed attempts while none " \
				    "succeeded (default: run.max_failures;" \
				    " 0: never)"},                         \
	{"limit", 0, 1, "N", "start only the first N trials (the rest stay " \
			     "queued)"},                                     \
	{"only", 0, 1, "TRIAL,...", "start only these trials (ids, id "       \
				    "prefixes, #index)"},                   \
	{"quiet", 'q', 0, NULL, "no progress output"},                       \
	{"kubeconfig", 0, 1, "FILE", "kubernetes: the kubeconfig to use "     \
				     "(default: $KUBECONFIG, ~/.kube/config)"},\
	{"context", 0, 1, "NAME", "kubernetes: the kubeconfig context"},       \
	{"namespace", 'n', 1, "NS", "kubernetes: the namespace"},              \
	{"qps", 0, 1, "N", "kubernetes: API requests per second (default "    \
			   "200)"},                                            \
	{"burst", 0, 1, "N", "kubernetes: API request burst (default 400)"},  \
	{"rerun", 0, 1, "STAGES", "a pipeline: run these stages (comma-"      \
				  "separated) again with what needs them"}

static const struct tc_opt run_opts[] = {
	RUN_COMMON_OPTS,
	{"backend", 0, 1, "NAME", "local (default) or kubernetes"},
	{"resume", 0, 0, NULL, "if the experiment exists, resume it"},
	{"force", 0, 0, NULL, "with --resume: accept a changed spec"},
	{"seed", 0, 1, "N", "random/sobol search seed (default: search.seed)"},
	{"policy", 0, 1, "P", "cluster policy to warn by: nrp, strict (refuses) "
			      "or a file (default: nrp on kubernetes)"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct tc_opt resume_opts[] = {
	RUN_COMMON_OPTS,
	{"force", 0, 0, NULL, "accept a spec file changed since the start"},
	{NULL, 0, 0, NULL, NULL},
};

static int run_opts_from_args(const char *verb, const struct tc_args *a,
			      const struct tc_opt *opts, struct tc_run_opts *o)
{
	const char *s;
	long l;

	memset(o, 0, sizeof(*o));
	o->gpus = -1;
	o->max_failures = -1;
	o->out = stdout;
	o->progress = 0;
	if (tc_arg(a, opts, "quiet"))
		o->progress = -1;
	o->rerun = tc_arg(a, opts, "rerun");
	if ((s = tc_arg(a, opts, "parallel"))) {
		if (tc_arg_long(verb, "parallel", s, 1, 100000, &l))
			return -1;
		o->parallel = (int)l;
	}
	if ((s = tc_arg(a, opts, "cpus")) &&
	    tc_arg_double(verb, "cpus", s, 0.001, &o->cpus))
		return -1;
	if ((s = tc_arg(a, opts, "memory")) &&
	    (tc_parse_bytes(s, &o->memory) != 0 || o->memory <= 0)) {
		fprintf(stderr, "trainctl %s: --memory must be a quantity such as "
				"16Gi or 512M, not '%s'\n",
			verb, s);
		return -1;
	}
	if ((s = tc_arg(a, opts, "gpus"))) {
		if (tc_arg_long(verb, "gpus", s, 0, 64, &l))
			return -1;
		o->gpus = (int)l;
	}
	if ((s = tc_arg(a, opts, "kill-grace")) &&
	    tc_arg_double(verb, "kill-grace", s, 0.001, &o->kill_grace))
		return -1;
	o->kubeconfig = tc_arg(a, opts, "kubeconfig");
	o->context = tc_arg(a, opts, "context");
	o->ns = tc_arg(a, opts, "namespace");
	if ((s = tc_arg(a, opts, "qps")) &&
	    tc_arg_double(verb, "qps", s, 0.1, &o->qps))
		return -1;
	if ((s = tc_arg(a, opts, "burst"))) {
		if (tc_arg_long(verb, "burst", s, 1, 100000, &l))
			return -1;
		o->burst = (int)l;
	}
	if ((s = tc_arg(a, opts, "max-failures"))) {
		if (tc_arg_long(verb, "max-failures", s, 0, INT_MAX, &l))
			return -1;
		o->max_failures = (int)l;
	}
	if ((s = tc_arg(a, opts, "limit"))) {
		if (tc_arg_long(verb, "limit", s, 1, LONG_MAX, &l))
			return -1;
		o->limit = l;
	}
	if (o->limit && tc_arg(a, opts, "only")) {
		fprintf(stderr, "trainctl %s: give --limit or --only, not both\n",
			verb);
		return -1;
	}
	return 0;
}

/* --only TRIAL,...: the trials' ids, in one block ids[0..*n) pointing
 * into it (free *ids).  0, or an error (err says which argument). */
static int resolve_only(struct tc_journal *j, const char *name, const char *arg,
			char ***ids, size_t *n, struct tc_error *err)
{
	size_t cap = 1, len = strlen(arg);
	char *copy, **v, *tok, *save = NULL;
	int rc = 0;

	for (const char *p = arg; *p; p++)
		cap += *p == ',';
	v = malloc(cap * sizeof(*v) + cap * 16 + len + 1);
	if (!v)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	copy = (char *)(v + cap) + cap * 16;
	memcpy(copy, arg, len + 1);
	*n = 0;
	for (tok = strtok_r(copy, ", ", &save); tok && !rc;
	     tok = strtok_r(NULL, ", ", &save)) {
		char *id = (char *)(v + cap) + *n * 16;

		rc = tc_find_trial(j, name, tok, id, err);
		v[(*n)++] = id;
	}
	if (!rc && *n == 0)
		rc = tc_error_set(err, TC_ERR_USAGE,
				  "--only needs trials: ids, id prefixes or "
				  "#index, separated by commas");
	if (rc) {
		free(v);
		return rc;
	}
	*ids = v;
	return 0;
}

/* The last lines of a file, to stderr (control characters made safe). */
static void print_tail(const char *path, int lines)
{
	char buf[16384], *p, *start;
	FILE *f = fopen(path, "r");
	long size;
	size_t n;
	int seen = 0;

	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0)
		fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0,
		      SEEK_SET);
	else
		rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	for (start = buf + n; start > buf; start--)
		if (start[-1] == '\n' && ++seen == lines)
			break;
	while ((p = strchr(start, '\n'))) {
		*p = '\0';
		fprintf(stderr, "  %s\n", tc_text_sanitize(start));
		start = p + 1;
	}
	if (*start)
		fprintf(stderr, "  %s\n", tc_text_sanitize(start));
}

/* Fail fast tripped: say why and show how the last failure ended. */
static void explain_failfast(struct tc_journal *j,
			     const struct tc_run_summary *s)
{
	char *dir = s->failed_trial[0] ? tc_trial_dir(j, s->failed_trial) : NULL;
	char path[PATH_MAX];

	fflush(stdout);
	fprintf(stderr,
		"stopping: %lld attempt%s failed and none succeeded "
		"(run.max_failures: %d)",
		s->failed, s->failed == 1 ? "" : "s", s->max_failures);
	if (dir) {
		snprintf(path, sizeof(path), "%s/stderr.log", dir);
		if (access(path, R_OK) != 0) /* a pod's log is one stream */
			snprintf(path, sizeof(path), "%s/stdout.log", dir);
		fprintf(stderr, "; last failure's %s (trial %s):\n",
			strrchr(path, '/') + 1, s->failed_trial);
		print_tail(path, 10);
	} else {
		fprintf(stderr, "\n");
	}
	free(dir);
}

/* Detach: the child runs on in its own session with output to a log.  An
 * SQLite connection must not cross a fork, so the journal is closed first
 * and the child opens its own. */
static int detach(struct tc_journal **jp, const char *name)
{
	char path[PATH_MAX], *dir = strdup((*jp)->dir);
	struct tc_error err;
	pid_t pid;
	int fd;

	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	tc_journal_close(*jp);
	*jp = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(dir);
		return -1;
	}
	if (pid > 0) {
		printf("experiment '%s' runs in the background (pid %d); output "
		       "in %s\nfollow it with: trainctl status%s %s --watch\n",
		       name, (int)pid, path, tc_state_hint(dir), name);
		free(dir);
		return 1;
	}
	setsid();
	fd = tc_private_open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	tc_error_clear(&err);
	if (tc_journal_open(dir, jp, &err) != 0) {
		fprintf(stderr, "trainctl: %s\n", err.msg);
		free(dir);
		_exit(TC_EXIT_FAILED);
	}
	free(dir);
	return 0;
}

/* Tests stop here (SIGSTOP) to make races deterministic: the stop
 * point named by $TRAINCTL_TEST_STOP. */
static void test_stop(const char *point)
{
	const char *s = getenv("TRAINCTL_TEST_STOP");

	if (s && !strcmp(s, point))
		raise(SIGSTOP);
}

static int summarize(const char *name, const char *hint,
		     const struct tc_run_summary *s, int picked)
{
	long long ok = s->counts[TC_ST_SUCCEEDED];
	long long queued = s->counts[TC_ST_QUEUED];
	long long pruned = s->counts[TC_ST_PRUNED];
	/* --limit/--only: the trials not picked wait; they are not failures;
	 * nor are trials early stopping pruned */
	long long bad = s->total - ok - pruned - (picked ? queued : 0);
	char more[64] = "";

	if (s->interrupted)
		printf("interrupted: %lld of %lld trials succeeded; continue with "
		       "`trainctl resume%s %s`\n",
		       ok, s->total, hint, name);
	else if (s->cancelled)
		printf("cancelled: %lld of %lld trials succeeded\n", ok, s->total);
	else if (s->failfast)
		printf("stopped: %lld of %lld trials succeeded, %lld failed, %lld "
		       "timed out, %lld queued\n",
		       ok, s->total, s->counts[TC_ST_FAILED],
		       s->counts[TC_ST_TIMED_OUT], queued);
	else {
		if (pruned)
			snprintf(more, sizeof(more), ", %lld pruned", pruned);
		printf("done: %lld succeeded, %lld failed, %lld timed out, %lld "
		       "cancelled%s (of %lld)\n",
		       ok, s->counts[TC_ST_FAILED], s->counts[TC_ST_TIMED_OUT],
		       s->counts[TC_ST_CANCELLED], more, s->total);
	}
	if (!s->interrupted && !s->failfast && queued > 0 && picked)
		printf("%lld trial%s still queued: run %s with `trainctl resume"
		       "%s %s`\n",
		       queued, queued == 1 ? "" : "s", queued == 1 ? "it" : "them",
		       hint, name);
	if (s->failfast && queued > 0)
		printf("fix the cause, then `trainctl resume%s %s` runs the %lld "
		       "queued trial%s\n",
		       hint, name, queued, queued == 1 ? "" : "s");
	else if (s->failfast) /* an adaptive search with budget left */
		printf("fix the cause, then `trainctl resume%s %s` goes on\n",
		       hint, name);
	if (!s->interrupted)
		printf("see: trainctl results%s %s   trainctl best%s %s   "
		       "trainctl report%s %s\n",
		       hint, name, hint, name, hint, name);
	return bad == 0 && !s->failfast ? TC_EXIT_OK : TC_EXIT_FAILED;
}

int tc_run_existing(const char *verb, struct tc_journal **jp, const char *name,
		    const struct tc_args *a, const struct tc_opt *opts,
		    int requeue_interrupted)
{
	struct tc_run_opts o;
	struct tc_run_summary sum;
	struct tc_error err;
	char **only = NULL;
	const char *s;
	char hint[TC_STATE_HINT_MAX];
	struct tc_cli_progress *view = NULL;
	int rc;

	if (run_opts_from_args(verb, a, opts, &o))
		return TC_EXIT_USAGE;
	tc_state_dir_hint((*jp)->dir, hint, sizeof(hint));
	o.requeue_interrupted = requeue_interrupted;
	tc_error_clear(&err);
	if ((s = tc_arg(a, opts, "only"))) {
		if ((rc = resolve_only(*jp, name, s, &only, &o.nonly, &err)))
			return tc_fail(verb, &err);
		o.only = (const char *const *)only;
	}
	if (tc_arg(a, opts, "detach")) {
		rc = detach(jp, name);
		if (rc < 0) {
			fprintf(stderr, "trainctl %s: cannot detach: %s\n", verb,
				strerror(errno));
			free(only);
			return TC_EXIT_FAILED;
		}
		if (rc > 0) {
			free(only);
			return TC_EXIT_OK;
		}
		o.progress = 0;
	}
	if (o.progress >= 0) {
		/* after detaching: the log gets lines, a terminal the block */
		if (!(view = tc_cli_progress_new(o.out))) {
			fprintf(stderr, "trainctl %s: out of memory\n", verb);
			free(only);
			return TC_EXIT_FAILED;
		}
		o.view = tc_cli_progress_view(view);
	}
	tc_error_clear(&err);
	rc = tc_backend_run(*jp, name, &o, &sum, &err);
	tc_cli_progress_free(view);
	free(only);
	if (rc)
		return tc_fail(verb, &err);
	if (sum.failfast)
		explain_failfast(*jp, &sum);
	return summarize(name, hint, &sum, o.limit > 0 || o.nonly > 0);
}

/* The spec file changed since the experiment started?  Returns 0 when it
 * is the same or gone (the journal's copy is used), 1 when changed. */
static int spec_changed(const struct tc_exp_info *e, const char *path)
{
	char *buf;
	size_t len;
	char hex[65];
	int changed;

	if (tc_read_file(path, TC_SPEC_MAX_BYTES, &buf, &len) != 0)
		return 0;
	tc_sha256_hex(buf, len, hex);
	changed = strcmp(hex, e->spec_hash) != 0;
	free(buf);
	return changed;
}

/* resume, run --resume and retry: refuse a changed spec unless forced. */
int tc_prepare_resume(const char *verb, struct tc_journal *j,
			  const char *name, const char *spec_path, int force)
{
	struct tc_exp_info e;
	struct tc_error err;
	int rc;

	tc_error_clear(&err);
	if ((rc = tc_experiment_load(j, name, &e, &err)))
		return tc_fail(verb, &err);
	if (!spec_path)
		spec_path = e.spec_path;
	if (spec_changed(&e, spec_path)) {
		struct tc_spec *spec = NULL;

		if (!force) {
			fprintf(stderr,
				"trainctl %s: %s changed since experiment '%s' "
				"started; rerun with --force to use the new file "
				"(finished trials are kept, new points are added), or "
				"restore it\n",
				verb, spec_path, name);
			tc_exp_info_free(&e);
			return TC_EXIT_USAGE;
		}
		if ((rc = tc_spec_load(spec_path, &spec, &err)) ||
		    (strcmp(spec->name, name) != 0 &&
		     (rc = tc_error_set(&err, TC_ERR_SPEC,
					"%s now names experiment '%s', not '%s'",
					spec_path, spec->name, name))) ||
		    (rc = tc_plan_replan(j, spec, e.spec_path,
					 tc_backend_of(&e)->trial_dir, &err))) {
			tc_spec_free(spec);
			tc_exp_info_free(&e);
			return tc_fail(verb, &err);
		}
		printf("spec changed: experiment '%s' re-planned from %s\n", name,
		       spec_path);
		tc_spec_free(spec);
	}
	tc_exp_info_free(&e);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct tc_args a;
	struct tc_spec *spec = NULL;
	struct tc_journal *j = NULL;
	struct tc_error err;
	struct tc_provenance prov;
	const struct tc_backend *be;
	char *state_dir = NULL, *abs = NULL;
	uint64_t seed;
	int rc, picked;

	rc = tc_parse_args(argc, argv, run_opts, "run SPEC [--parallel N] [--detach]",
			   "Create the experiment from SPEC and run its trials, "
			   "--parallel at a time, with a\nlive progress view.  "
			   "Ctrl-C stops cleanly; `trainctl resume NAME` goes on.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("run", "expected one experiment file");
	tc_error_clear(&err);
	if ((rc = tc_spec_load(a.pos[0], &spec, &err)))
		return tc_fail_spec("run", &err);
	if ((rc = tc_check_param_names(spec, &err))) {
		tc_spec_free(spec);
		return tc_fail_spec("run", &err);
	}
	be = tc_backend_find(tc_arg(&a, run_opts, "backend")
				     ? tc_arg(&a, run_opts, "backend")
				     : spec->backend,
			     &err);
	if (!be) {
		tc_spec_free(spec);
		return tc_usage_error("run", "--%s", err.msg);
	}
	if ((rc = be->check(spec, &err))) {
		tc_spec_free(spec);
		return err.code == TC_ERR_USAGE
			       ? tc_usage_error("run", "%s", err.msg)
			       : tc_fail_spec("run", &err);
	}
	{
		const char *pol = tc_arg(&a, run_opts, "policy");

		if (!pol)
			pol = be->policy;
		if (pol && (rc = tc_policy_gate("run", pol, spec))) {
			tc_spec_free(spec);
			return rc;
		}
	}
	state_dir = tc_state_dir_resolve(tc_arg(&a, run_opts, "state-dir"));
	abs = tc_abspath(a.pos[0]);
	if (!state_dir || !abs) {
		rc = tc_error_set(&err, TC_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = tc_journal_open(state_dir, &j, &err)))
		goto fail;
	rc = tc_journal_has_experiment(j, spec->name, &err);
	if (rc < 0)
		goto fail;
	if (rc > 0) {
	exists:
		if (!tc_arg(&a, run_opts, "resume")) {
			fprintf(stderr,
				"trainctl run: experiment '%s' already exists in %s;\n"
				"continue it with `trainctl resume%s %s` (or "
				"`trainctl run --resume%s %s`), or rename it in "
				"the spec\n",
				spec->name, state_dir, tc_state_hint(state_dir),
				spec->name, tc_state_hint(state_dir), a.pos[0]);
			rc = TC_EXIT_USAGE;
			goto out;
		}
		rc = tc_prepare_resume("run", j, spec->name, abs,
				    tc_arg(&a, run_opts, "force") != NULL);
		if (rc)
			goto out;
		rc = tc_run_existing("run", &j, spec->name, &a, run_opts, 1);
		goto out;
	}
	seed = tc_pick_seed(spec, tc_arg(&a, run_opts, "seed"), &picked);
	if ((rc = tc_backend_check_trials(be, spec, seed, &err))) {
		rc = tc_fail_spec("run", &err);
		goto out;
	}
	{
		struct tc_run_opts o;

		if (run_opts_from_args("run", &a, run_opts, &o)) {
			rc = TC_EXIT_USAGE;
			goto out;
		}
		if (be->check_start) {
			char *cwd = tc_dirname(abs);

			rc = be->check_start(spec, cwd, &o, &err);
			free(cwd);
			if (rc) {
				rc = tc_fail_spec("run", &err);
				goto out;
			}
		}
	}
	{
		char *sd = tc_dirname(abs);

		tc_provenance_collect(sd ? sd : ".", &prov);
		free(sd);
	}
	if (spec->nstages && spec->artifacts.store && !be->trial_dir) {
		/* the artifact store answers, with these credentials, before
		 * anything is recorded (exit 3) */
		struct tc_s3 *s3 = NULL;

		rc = tc_artifacts_open(spec, &s3, &err);
		tc_s3_free(s3);
		if (rc) {
			rc = tc_fail("run", &err);
			goto out;
		}
	}
	test_stop("run-create");
	if ((rc = tc_plan_create(j, spec, be->name, be->trial_dir, abs, seed,
				 &prov, &err))) {
		/* another run created it since we looked: --resume means
		 * resume it (or hear that the other one is running it) */
		if (tc_journal_has_experiment(j, spec->name, &err) > 0)
			goto exists;
		goto fail;
	}
	{
		struct tc_exp_info e;

		if (tc_experiment_load(j, spec->name, &e, &err) == 0) {
			if (tc_arg(&a, run_opts, "quiet"))
				;
			else if (spec->search.method == TC_SEARCH_TPE)
				printf("experiment '%s': %lld startup trials of "
				       "%llu (tpe asks the rest from the "
				       "results), state in %s\n",
				       spec->name, e.ntrials,
				       (unsigned long long)spec->search.trials,
				       state_dir);
			else
				printf("experiment '%s': %lld trials, state in %s\n",
				       spec->name, e.ntrials, state_dir);
			tc_exp_info_free(&e);
		}
	}
	fflush(stdout);
	rc = tc_run_existing("run", &j, spec->name, &a, run_opts, 0);
	goto out;
fail:
	rc = tc_fail("run", &err);
out:
	tc_journal_close(j);
	tc_spec_free(spec);
	free(state_dir);
	free(abs);
	return rc;
}

int cmd_resume(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct tc_error err;
	int rc;

	rc = tc_parse_args(argc, argv, resume_opts, "resume NAME [--force]",
			   "Continue an interrupted experiment: adopt trials still "
			   "running, record those that\nfinished meanwhile, rerun "
			   "only what vanished or was interrupted, then the rest.\n"
			   "A finished trial is never rerun.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("resume", "expected an experiment name");
	tc_error_clear(&err);
	if ((rc = tc_open_existing(tc_arg(&a, resume_opts, "state-dir"), &j, &err)))
		return tc_fail("resume", &err);
	rc = tc_prepare_resume("resume", j, a.pos[0], NULL,
			    tc_arg(&a, resume_opts, "force") != NULL);
	if (!rc)
		rc = tc_run_existing("resume", &j, a.pos[0], &a, resume_opts, 1);
	tc_journal_close(j);
	return rc;
}
