/*
 * scheduler.h — the part of a run that does not depend on where trials
 * run, shared by the two scheduler loops (exec/runner.c for the local
 * backend, exec/kube.c for Kubernetes): the first step toward the one
 * loop of issue 12.
 *
 * Shared here:
 *   - setup and teardown of a run: the trials picked (tc_trials_pick),
 *     fail fast armed, signals taken on a signalfd, trials an interrupt
 *     cancelled requeued on resume, the experiment set running and, at
 *     the end, to its final state, the summary the verb prints;
 *   - the run's counts by state, the best so far, the stopping reason;
 *   - progress as events for the view (exec/progress.h);
 *   - SIGINT/SIGTERM/SIGHUP → interrupted; the experiment cancelled by
 *     another process → cancelled; counts changed by another process;
 *   - the fate of an ended attempt: its final state and reason, or a
 *     requeue with its backoff (tc_rec_retry_at), cancel and interrupt
 *     requests included, and what follows its commit (counts, best so
 *     far, the progress line).
 *
 * Still backend-specific, to move here next: the loop itself (the local
 * one polls the shim and the trials' pidfds, the Kubernetes one drives
 * the API client), picking and starting the next trial (intent before
 * action, transactions batched locally, one per trial on a cluster),
 * recovery of what a previous run left, metric collection from files or
 * pod logs, how a stop reaches a trial (shim request, Job delete) and
 * capacity (CPU/memory/GPU packing locally, `parallel` on a cluster).
 * Once those are operations of exec/backend.h, one loop here drives both.
 */
#ifndef TC_SCHEDULER_H
#define TC_SCHEDULER_H

#include <signal.h>

#include "exec/backend.h"
#include "metrics/metrics.h"
#include "store/trials.h"
#include "exec/record.h"

struct tc_sched {
	struct tc_journal *j;
	const char *name;              /* the experiment */
	const struct tc_spec *spec;
	const struct tc_run_opts *o;
	struct tc_error *err;
	struct tc_trials *tr;          /* the journal's trial transitions */
	int parallel;                  /* trials at a time */
	int stopping;     /* 1: cancelled; 2: interrupted by a signal;
			     3: failing fast (run.max_failures) */
	struct tc_rec_failfast ff;
	int sigfd;                     /* SIGINT, SIGTERM, SIGHUP and more */
	long long total, counts[TC_ST_COUNT];
	long long data_version; /* of the journal when counts were read */
	struct tc_metric_best best;

	/* The backend's part of a progress status: st holds the counts;
	 * set st->trials (allocated; freed after the event) and ntrials to
	 * the trials that run now, and correct running/starting/queued if
	 * the backend knows better. */
	void (*running)(void *ctx, struct tc_progress_status *st);
	void *ctx;

	sigset_t oldmask;
	int masked;
};

/* Start a run of experiment `name` (the caller holds its runner lock):
 * fills s, picks the trials the options select, arms fail fast, blocks
 * SIGINT, SIGTERM, SIGHUP and the signals in extra (or NULL) for a
 * signalfd, requeues interrupted trials when asked, reads the counts and
 * sets the experiment running (unless o->drain).  running/ctx: see above.
 * 0 or an error code; either way tc_sched_close must follow. */
int tc_sched_begin(struct tc_sched *s, struct tc_journal *j, const char *name,
		   const struct tc_spec *spec, const struct tc_run_opts *o,
		   const sigset_t *extra,
		   void (*running)(void *ctx, struct tc_progress_status *st),
		   void *ctx, struct tc_error *err);

/* The loop returned rc: the view is told it is over and, when the loop
 * ran to its end (rc 0) and the run is no drain, the experiment is set to
 * its final state (tc_rec_final_state). */
void tc_sched_end(struct tc_sched *s, int rc);

/* Teardown: the signal mask restored; when rc is 0, *sum filled from the
 * journal's counts; the trial transitions closed. */
void tc_sched_close(struct tc_sched *s, int rc, struct tc_run_summary *sum);

/* A trial moved from state `from` to `to` (-1: none). */
static inline void tc_sched_count_move(struct tc_sched *s, int from, int to)
{
	if (from >= 0)
		s->counts[from]--;
	if (to >= 0)
		s->counts[to]++;
}

/* The counts and best so far afresh from the journal.  0 or TC_ERR_DB. */
int tc_sched_load_counts(struct tc_sched *s);

/* ---- progress (nothing happens without a view) ---- */

/* Send an event (its kind and own fields filled in) with the status. */
void tc_sched_send(struct tc_sched *s, struct tc_progress_event *ev);
/* The status changed, or time passed (the view decides when to draw). */
void tc_sched_status(struct tc_sched *s);
/* A trial ended, or will be retried. */
void tc_sched_line(struct tc_sched *s, const char *id, const char *params,
		   int has_metric, double metric, const char *state,
		   double wall, const char *reason);
/* A line for the log; counted: after the [done/total] counter. */
void tc_sched_note(struct tc_sched *s, int counted, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- stopping ---- */

/* Read the signalfd.  0: no stop signal; 1: the first, the run is now
 * interrupted (stopping 2): stop the trials gracefully; 2: another one
 * after that (the local backend then kills at once). */
int tc_sched_signals(struct tc_sched *s);

/* The experiment cancelled by another process stops the run (stopping 1,
 * unless a signal came first). */
void tc_sched_external(struct tc_sched *s);

/* Another process committed (`cancel` of queued trials, `retry`): with
 * nothing of ours uncommitted (busy 0), the journal's counts are ours
 * plus theirs; take them, and note queued trials cancelled meanwhile.
 * One cheap look at the journal's data version when nothing changed.
 * (The Kubernetes loop does not call it yet: its counts move only by its
 * own trials until the run ends.) */
void tc_sched_recount(struct tc_sched *s, int busy);

/* ---- an attempt's end ---- */

/* An ended attempt as its backend saw it, and its fate. */
struct tc_sched_end {
	const char *id;
	int attempt;
	const char *params;  /* for the progress line */
	int has_metric;
	double metric;
	double wall;
	/* what the attempt did: SUCCEEDED, FAILED, TIMED_OUT, or CANCELLED
	 * (stopped on a request); the final state once decided */
	int state;
	char *reason;        /* why (may be ""); rewritten when cancelled */
	size_t reason_len;
	int cancel;          /* a stop the backend itself sent: 1 cancel,
				2 interrupt, 0 none */
	int unseen;          /* nobody saw it end (its supervisor died) */
	/* Where the backends differ today: on Kubernetes any attempt that
	 * did not succeed while a cancel was requested counts as cancelled;
	 * locally only one stopped by the request (or whose end nobody
	 * saw) does, one that ended on its own before the request reached
	 * it keeps its failure (and is not retried). */
	int cancel_wins;
	int no_retry;        /* never retried (a Job's create was refused) */
	/* decided: requeued to run again at next_at (unix), or final */
	int requeue;
	double next_at;
};

/* Decide the fate of e (reading the trial's cancel request and retry
 * base from the journal) and write it with o's other fields (exit code,
 * times, usage) through tc_trials_finish, inside the caller's
 * transaction.  The one rule: a non-success becomes cancelled
 * ("interrupted" for an interrupt) when a cancel was requested (see
 * cancel_wins); a failure or time-out is requeued with its backoff when
 * its retries are not spent, unless the run was interrupted or a cancel
 * was requested.  0 or an error code. */
int tc_sched_finish(struct tc_sched *s, struct tc_sched_end *e,
		    struct tc_trial_outcome *o);

/* After the commit of tc_sched_finish: counts (from state `from`), the
 * best so far, the progress line. */
void tc_sched_ended(struct tc_sched *s, int from, const struct tc_sched_end *e);

#endif
