/*
 * runner.h — the scheduler: runs an experiment's queued trials on the local
 * backend until none is left, recording every state change in the journal
 * before acting on it.
 *
 * On entry it recovers what a previous runner left: each trial in starting
 * or running is adopted (a supervisor still holds its lock), recorded (the
 * exit record of that attempt is there: it finished while nobody watched),
 * requeued without spending an attempt (its supervisor died before
 * starting it), or run again as a new attempt (its supervisor died while
 * it ran: its outcome is unknown; if it still runs it is killed first).
 * Then it loops:
 * read the shim's events, tail logs and metric files, start what fits
 * (parallel cap,
 * CPU cores, memory and GPUs requested), and stop cleanly on SIGINT/SIGTERM
 * (running trials are cancelled with reason "interrupted", which resume
 * requeues) or when the experiment is cancelled from another process.
 */
#ifndef TC_RUNNER_H
#define TC_RUNNER_H

#include <stdio.h>

#include "exec/progress.h"
#include "store/journal.h"

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

/* Takes the experiment's runner lock (TC_ERR_STATE when another runner
 * holds it).  Returns 0 when the loop ran to its end (trials may still have
 * failed: see the summary), or a negative status. */
int tc_runner_run(struct tc_journal *j, const char *name,
		  const struct tc_run_opts *opts, struct tc_run_summary *sum,
		  struct tc_error *err);

/* Does a trial of this spec fit the machine (as the options describe it)?
 * 0 or TC_ERR_USAGE with a message saying what to change. */
struct tc_spec;
int tc_runner_check(const struct tc_spec *spec, const struct tc_run_opts *o,
		    struct tc_error *err);

/* Take the runner lock of an experiment without running (cancel, retry use
 * it to tell whether a runner is alive).  Returns an fd (keep it open to
 * hold the lock), -1 with errno EWOULDBLOCK when a runner holds it, or -1. */
int tc_runner_lock(struct tc_journal *j, const char *name);

/* Is a runner working on the experiment right now?  0 when not, else the
 * pid of the process holding the lock (1 when unknown).  Never takes the
 * lock. */
int tc_runner_alive(struct tc_journal *j, const char *name);

/* Remove the experiment's lock file (`rm`, holding the lock: a later run
 * makes a new one). */
void tc_runner_lock_remove(struct tc_journal *j, const char *name);

/* The reason a queued trial gives while its runner has room for it but no
 * free GPU (see exec/gpulease.h); it holds only while that runner lives. */
#define TC_GPU_WAIT "waiting for a GPU"

/* The machine's resources as the local backend sees them. */
void tc_machine_resources(double *cpus, long long *memory, int *gpus);

#endif
