/*
 * backend.h — what the verbs ask of a backend, and the one table of
 * backends.
 *
 * A backend is where trials run: "local" (processes under a supervisor on
 * this machine, exec/backend_local.c) or "kubernetes" (Jobs on a cluster,
 * exec/backend_kube.c).  Each fills one struct tc_backend in its own file
 * and has one entry in the table of backend.c.  The verbs in cli/ know a
 * backend only through this header, never by its name: adding a backend is
 * one new file and one table entry, with no change to the CLI.
 *
 * An experiment records the name of its backend when it is created (the
 * journal's experiments.backend); every later verb finds the backend by
 * that name (tc_backend_of).
 *
 * One trainctl at a time runs an experiment: it holds the experiment's
 * runner lock (STATE/locks/EXP.lock) while it does, whatever the backend.
 */
#ifndef TC_BACKEND_H
#define TC_BACKEND_H

#include <stdio.h>

#include "exec/progress.h"
#include "spec/spec.h"
#include "store/experiment.h"
#include "store/journal.h"

struct tc_trial;
struct tc_trials;

struct tc_run_opts {
	int parallel;       /* 0: the spec's run.parallel */
	double cpus;        /* machine cores to pack into; 0: detect */
	long long memory;   /* bytes; 0: detect */
	int gpus;           /* -1: detect (nvidia-smi -L) */
	int progress;       /* -1: quiet (no view), else the view's */
	const struct tc_progress *view; /* progress goes here; NULL: nowhere */
	int requeue_interrupted; /* resume: rerun trials cancelled by an
				    interrupt */
	double kill_grace;  /* seconds from SIGTERM to SIGKILL; 0: 10 */
	FILE *out;          /* the view's output (stdout) */
	int drain;          /* start nothing new: record what is running (and
			       act on cancel requests), then return */
	int max_failures;   /* -1: the spec's run.max_failures (see
			       tc_rec_failfast in exec/record.h) */
	const char *rerun;  /* a pipeline: the stages (comma-separated) to run
			       again, with what needs them, even if cached */
	long long limit;    /* > 0: start only trials with index < limit */
	const char *const *only; /* else, when nonly > 0: only these ids */
	size_t nonly;

	/* the kubernetes backend */
	const char *kubeconfig; /* --kubeconfig; NULL: $KUBECONFIG, ... */
	const char *context;    /* --context; NULL: the spec's, else current */
	const char *ns;         /* --namespace; NULL: the spec's, else the
				   context's */
	double qps;             /* 0: the client's default */
	int burst;
};

struct tc_run_summary {
	long long counts[8]; /* by enum tc_state, after the run */
	long long total;
	int interrupted;
	int cancelled;       /* the experiment was cancelled */
	int failfast;        /* run.max_failures stopped it: */
	long long failed;    /* attempts failed in this run, */
	int max_failures;    /* the limit, */
	char failed_trial[16]; /* the trial that failed last */
};

enum tc_backend_id {
	TC_BACKEND_LOCAL,
	TC_BACKEND_KUBERNETES,
	TC_BACKEND_COUNT
};

/* A backend's operations.  An operation a backend has no use for is NULL;
 * each says what the verbs do then.  Errors come as a negative status with
 * err filled; nothing here prints. */
struct tc_backend {
	const char *name; /* as in `backend:` and --backend */

	/* The directory every trial sees as its own (a pod's, the same
	 * for all), or NULL: its directory in the state directory. */
	const char *trial_dir;
	/* A trial reason that holds only while a runner lives (`status`
	 * drops it when none does), or NULL. */
	const char *live_reason;
	/* The cluster policy `run` checks a new experiment against unless
	 * --policy says another (cli/lint.c), or NULL: none. */
	const char *policy;
	/* What `rm` leaves behind that gc deletes, or NULL. */
	const char *leftovers;

	/* `validate`: what the spec needs for this backend beyond loading.
	 * spec_dir is the spec file's directory. */
	int (*validate)(const struct tc_spec *spec, const char *spec_dir,
			struct tc_error *err);
	/* `run`, new experiment or not: can trials of this spec run here?
	 * TC_ERR_USAGE: the command line asks for what cannot be. */
	int (*check)(const struct tc_spec *spec, struct tc_error *err);
	/* `run`, before a new experiment is created: will its trials start
	 * here (the program found, the resources there)?  NULL: nothing
	 * to check before trying. */
	int (*check_start)(const struct tc_spec *spec, const char *spec_dir,
			   const struct tc_run_opts *o, struct tc_error *err);

	/* Run (or continue) the experiment's queued trials until none is
	 * left; the caller holds the runner lock.  0 when the loop ran to
	 * its end (trials may still have failed: see the summary). */
	int (*run)(struct tc_journal *j, const struct tc_exp_info *exp,
		   const struct tc_spec *spec, const struct tc_run_opts *o,
		   struct tc_run_summary *sum, struct tc_error *err);

	/* Stop the trials of exp picked in tr (tc_trials_pick) whose cancel
	 * the journal has committed (tc_trials_cancelling).  hard: at once,
	 * not gracefully.  Returns how many had not started and never will
	 * (they count as queued), or a negative status.  NULL: a runner
	 * acts on the journal's request. */
	int (*cancel)(struct tc_trials *tr, const char *exp, int hard,
		      struct tc_error *err);
	/* The same when no trainctl runs exp: stop and record the cancelled
	 * trials now; *done says what was done.  NULL: the next runner
	 * (`resume`) records their end. */
	int (*cancel_unwatched)(struct tc_journal *j, const char *exp,
				const struct tc_run_opts *o, const char **done,
				struct tc_error *err);

	/* Write a running trial's output to out (follow: until it ends).
	 * NULL: the output is in the trial's files (stdout.log, ...). */
	int (*logs)(struct tc_journal *j, const struct tc_exp_info *exp,
		    const char *id, int attempt, int follow,
		    const struct tc_run_opts *o, FILE *out,
		    struct tc_error *err);

	/* `gc`: delete what the experiment left where its trials ran;
	 * *deleted counts it.  NULL: it leaves nothing. */
	int (*gc)(struct tc_journal *j, const struct tc_exp_info *exp,
		  const struct tc_run_opts *o, long *deleted,
		  struct tc_error *err);

	/* `plan`: check the spec as this backend would run it, and ns, the
	 * namespace asked for (--namespace, or NULL); TC_ERR_USAGE: the
	 * command line is at fault.  NULL: nothing to check, and plan
	 * refuses --namespace. */
	int (*plan_check)(const struct tc_spec *spec, const char *ns,
			  struct tc_error *err);
	/* `plan --render DIR`: write under dir/ID/ the objects trial t would
	 * be started as (attempt 1), with its parameters, resolved argv and
	 * env; only those (the directory is for a tool that takes all of
	 * it).  NULL: plan writes params.json and command.json. */
	int (*render)(const char *dir, const struct tc_spec *spec,
		      const struct tc_trial *t, const char *ns, json_t *params,
		      json_t *argv, json_t *env, struct tc_error *err);

	/* `plan` and `run` (before the experiment is recorded): can trial
	 * id, with params (a JSON object), be started here as the spec
	 * says?  TC_ERR_SPEC naming the trial.  NULL: every trial can. */
	int (*check_trial)(const struct tc_spec *spec, const char *id,
			   json_t *params, struct tc_error *err);

	/* Why a trial in state starting, attempt `attempt`, has not started
	 * when the journal gives no reason (malloc'd), or NULL. */
	char *(*waiting)(struct tc_journal *j, const char *exp, long long idx,
			 int attempt);
	/* May the process of a trial the journal has started still run?
	 * NULL: as long as the journal says it was started. */
	int (*alive)(struct tc_journal *j, const char *exp, long long idx,
		     int attempt);
	/* `rm`: remove the experiment's files of this backend in the state
	 * directory.  NULL: it has none. */
	int (*remove)(struct tc_journal *j, const char *exp,
		      struct tc_error *err);
};

extern const struct tc_backend tc_backend_local, tc_backend_kubernetes;

/* The backend called name (NULL: the default, local).  An unknown name
 * gives NULL and TC_ERR_USAGE, "backend must be local or kubernetes". */
const struct tc_backend *tc_backend_find(const char *name,
					 struct tc_error *err);

/* The backend an experiment recorded (local when it recorded none). */
const struct tc_backend *tc_backend_of(const struct tc_exp_info *exp);

/* Every trial of the plan of spec drawn with seed through the backend's
 * check_trial (nothing to do without one, or when the spec renders
 * nothing per trial): the first refusal, or 0. */
int tc_backend_check_trials(const struct tc_backend *be,
			    const struct tc_spec *spec, uint64_t seed,
			    struct tc_error *err);

/* The backend of a table slot (completion lists them). */
const struct tc_backend *tc_backend_get(enum tc_backend_id id);

/* Run (or continue) experiment `name` on its backend: takes its runner
 * lock (TC_ERR_STATE when another trainctl holds it), reads the spec the
 * journal recorded and hands both to the backend's run. */
int tc_backend_run(struct tc_journal *j, const char *name,
		   const struct tc_run_opts *o, struct tc_run_summary *sum,
		   struct tc_error *err);

/* Take the runner lock of an experiment without running (gc, rm).
 * Returns an fd (keep it open to hold the lock), -1 with errno EWOULDBLOCK
 * when a runner holds it, or -1. */
int tc_backend_lock(struct tc_journal *j, const char *name);

/* Is a trainctl running the experiment now?  0 when not, else the pid of
 * the process holding its lock (1 when unknown).  Never takes the lock. */
int tc_backend_running(struct tc_journal *j, const char *name);

/* Remove the experiment's lock file (`rm`, holding the lock: a later run
 * makes a new one). */
void tc_backend_lock_remove(struct tc_journal *j, const char *name);

#endif
