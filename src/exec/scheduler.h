/*
 * scheduler.h — the one scheduler: what a run does whatever backend runs
 * its trials.  tc_sched_run is the only loop; a backend (exec/runner.c:
 * local, exec/kube.c: Kubernetes) fills a struct tc_sched_ops and carries
 * out what the loop decides.
 *
 * Here: setup and teardown of a run (trials picked, fail fast armed,
 * signals on a signalfd, interrupted trials requeued on resume, the
 * experiment's state, the summary); the loop's order (signals, events,
 * looks at the journal, metric reads, pruning, starting, committing, when
 * the run is over, how long to wait); the counts, best so far and
 * stopping reason; progress events (exec/progress.h); SIGINT/SIGTERM/
 * SIGHUP and the interrupt's request; a cancel from another process;
 * drain; fail fast; the fate of an ended attempt (final state, or requeue
 * with its backoff) and what follows its commit; recovery's decisions.
 *
 * In each backend: how a trial starts (intent first, through
 * tc_sched_next and tc_trials_mark_starting; the local backend batches
 * short trials' commits and hands successors ahead to its supervisor),
 * how its events arrive (shim and pidfds polled locally, the API client
 * driven on a cluster), metric collection (files or pod logs), how a stop
 * reaches a trial (shim request or Job delete), capacity (CPU/memory/GPU
 * packing locally, `parallel` on a cluster), its probe for recovery.
 */
#ifndef TC_SCHEDULER_H
#define TC_SCHEDULER_H

#include <signal.h>

#include "artifacts/s3.h"
#include "exec/backend.h"
#include "exec/record.h"

struct tc_sched_ops;
struct tc_probe_result;

struct tc_sched {
	struct tc_journal *j;
	const char *name; /* the experiment */
	const struct tc_spec *spec;
	const struct tc_run_opts *o;
	struct tc_error *err;
	struct tc_trials *tr; /* the journal's trial transitions */
	int parallel;         /* trials at a time */
	int stopping;     /* 1: cancelled; 2: interrupted by a signal;
			     3: failing fast (run.max_failures) */
	struct tc_rec_failfast ff;
	int sigfd;            /* SIGINT, SIGTERM, SIGHUP and more */
	long long total, counts[TC_ST_COUNT];
	long long data_version; /* of the journal when counts were read */
	struct tc_metric_best best;

	const struct tc_sched_ops *ops; /* the backend this run drives */
	void *b;                        /* ... and its state */

	sigset_t oldmask;
	int masked; /* oldmask is to be restored */

	/* early_stop: the rule (NULL without one) and the trials it chose
	 * that are not yet asked to stop */
	struct tc_pruner *pruner;
	struct tc_sched_prune {
		char id[16];
		char why[256];
	} *prunes;
	size_t nprunes, capprunes;
	/* adaptive search (tc_sched_extend): 0 while trials may still be
	 * created, else TC_EXTEND_SPENT or TC_EXTEND_EXHAUSTED (plan.h) */
	int extend_done;
	const char *trial_dir; /* the backend's, once known; "" for none */
	struct tc_plan_cache *plan_cache; /* tpe: the sampler between extends */
	struct tc_s3 *s3;      /* a pipeline's artifact store, or NULL */
};

/* Start a run of experiment `name` (its runner lock held): SIGINT,
 * SIGTERM, SIGHUP and the signals in extra (or NULL) go to s->sigfd; the
 * experiment is set running unless o->drain.  ops and b: the backend the
 * run drives (its loop, tc_sched_run; its recovery, tc_sched_recover).
 * 0 or an error code; either way tc_sched_close follows. */
int tc_sched_begin(struct tc_sched *s, struct tc_journal *j, const char *name,
		   const struct tc_spec *spec, const struct tc_run_opts *o,
		   const sigset_t *extra, const struct tc_sched_ops *ops,
		   void *b, struct tc_error *err);

/* Does this run need more trials now?  The one rule every backend applies
 * where they look for the next queued trial, with `active` the trials
 * they hold that take a slot (starting or running).  For an adaptive
 * search (tpe) with room (parallel − active − queued > 0), no stop, no
 * drain and no --limit/--only selection, that many trials are asked of
 * the search and created queued (plan/plan.h, tc_plan_extend_cached:
 * the sampler kept in plan_cache between calls, in step with the
 * journal), in the
 * caller's transaction when one is open; the counts follow.  Once the
 * budget (search.trials) is spent or the search has no new point, it
 * asks no more (a note says when the space ran out).  Returns the number
 * of trials created (0 for other methods), or an error code. */
int tc_sched_extend(struct tc_sched *s, long long active);

/* May the run start trials now?  Not once it stops (cancel, interrupt,
 * fail fast) nor in a drain run: the one rule the loop and a backend's
 * own look-ahead (the local backend's waiting successors) apply. */
static inline int tc_sched_may_start(const struct tc_sched *s)
{
	return !s->stopping && !s->o->drain;
}

/* The next queued trial to start (tc_trials_next_queued); for a
 * pipeline, after the jobs before it that the cache spares
 * (exec/pipeline.h).  In the caller's transaction.  1 with *row, 0 none,
 * or an error code. */
int tc_sched_next(struct tc_sched *s, double now, struct tc_trial_row *row);

/* The loop returned rc: the view's end and, when rc is 0 (and no drain),
 * the state the experiment ends the run in: "interrupted" when a signal
 * stopped it (stopping 2) or it left trials that have not ended,
 * "cancelled" when the experiment was cancelled (stopping 1), else
 * "finished", however its trials ended (also one by one with `cancel NAME
 * TRIAL`: the exit code, not this state, says not all succeeded). */
void tc_sched_end(struct tc_sched *s, int rc);

/* The signal mask restored; *sum (filled when rc is 0); s->tr closed. */
void tc_sched_close(struct tc_sched *s, int rc, struct tc_run_summary *sum);

/* A trial moved from state `from` to `to` (-1: none). */
static inline void tc_sched_count_move(struct tc_sched *s, int from, int to)
{
	if (from >= 0)
		s->counts[from]--;
	if (to >= 0)
		s->counts[to]++;
}

/* Progress: an event (kind and own fields filled in) with the status; the
 * status (the view decides when to draw); a trial's end or retry; a note
 * (counted: after the [done/total] counter). */
void tc_sched_send(struct tc_sched *s, struct tc_progress_event *ev);
void tc_sched_status(struct tc_sched *s);
void tc_sched_line(struct tc_sched *s, const char *id, const char *params,
		   int has_metric, double metric, const char *state,
		   double wall, const char *reason);
void tc_sched_note(struct tc_sched *s, int counted, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Read the signalfd.  0: no stop signal; 1: the first, the run is now
 * interrupted (stopping 2): stop the trials gracefully; 2: another one
 * after that (the local backend then kills at once). */
int tc_sched_signals(struct tc_sched *s);

/* The experiment cancelled by another process stops the run (stopping 1,
 * unless a signal came first). */
void tc_sched_external(struct tc_sched *s);

/* Counts another process changed (`cancel` of queued trials, `retry`),
 * taken when nothing of ours is uncommitted (busy 0), with a note of the
 * queued trials cancelled; one look at the journal's data version when
 * nothing changed.  (Not called by the Kubernetes loop yet: its counts
 * move by its own trials only.) */
void tc_sched_recount(struct tc_sched *s, int busy);

/* An ended attempt as its backend saw it, and its fate. */
struct tc_sched_end {
	const char *id;
	int attempt;
	const char *params; /* these: for the progress line */
	int has_metric;
	double metric, wall;
	/* what the attempt did: SUCCEEDED, FAILED, TIMED_OUT, or CANCELLED
	 * (stopped on a request); the final state once decided (also
	 * PRUNED) */
	int state;
	char *reason;        /* why (may be ""); rewritten when cancelled */
	size_t reason_len;
	int cancel; /* a stop the backend sent: 1 cancel, 2 interrupt,
		       3 prune, 0 */
	int unseen;          /* nobody saw it end (its supervisor died) */
	/* Where the backends differ today: on Kubernetes any non-success
	 * under a cancel request is cancelled; locally only one stopped by
	 * it (or whose end nobody saw): one that ended on its own first
	 * keeps its failure (not retried). */
	int cancel_wins;
	int no_retry;        /* never retried (a Job's create was refused) */
	int skipped;         /* a pipeline's jobs that needed it and now
				will not run (cancelled by tc_sched_finish) */
	/* decided: requeued to run again at next_at (unix), or final */
	int requeue;
	double next_at;
};

/* The one rule: a non-success under a cancel request is cancelled
 * ("interrupted" for an interrupt; see cancel_wins), pruned under a prune
 * request (with the reason the request recorded); a failure or
 * time-out is requeued with its backoff (tc_rec_retry_at) unless the run
 * is interrupted or a cancel was requested.  Reads the trial's request
 * and retry base, writes the fate with o's other fields through
 * tc_trials_finish in the caller's transaction.  0 or an error code. */
int tc_sched_finish(struct tc_sched *s, struct tc_sched_end *e,
		    struct tc_trial_outcome *o);

/* After its commit: counts (from state `from`), best so far, the line. */
void tc_sched_ended(struct tc_sched *s, int from, const struct tc_sched_end *e);

/* ---- the loop ---------------------------------------------------------- */

/*
 * What the one loop (tc_sched_run) asks of the backend it drives.  The
 * loop owns the order of things and every decision: signals and the
 * interrupt (its request journaled before any trial is stopped), cancels
 * from other processes, fail fast, drain, when metrics are read and
 * pruning acted on, when the run is over, how long to wait.  The backend
 * carries them out on its trials and reports what happened through the
 * functions above (tc_sched_finish, tc_sched_ended, tc_sched_unstart,
 * tc_sched_next ...), in transactions it opens with its begin/commit.
 */
struct tc_sched_ops {
	double look_every;    /* seconds between looks at the journal for
				 other processes' changes (and ops->look) */
	double collect_every; /* between metric reads, 0: every turn */
	double collect_prune; /* ... with early stopping */
	double idle;          /* the longest wait */
	int kills;            /* a second interrupt kills at once */

	/* The backend's transaction on the journal: begin joins one that
	 * is open (the local backend batches short trials' statements);
	 * commit makes it durable and acts on what waited for it.  NULL:
	 * the journal's own (tc_journal_begin ...). */
	int (*begin)(void *b);
	int (*commit)(void *b);
	void (*abort)(void *b);
	/* Statements of the backend's not committed yet (then counts are
	 * not re-read and pruning waits).  NULL: never any. */
	int (*busy)(void *b);

	/* Take in what happened: starts, outputs, ends (recorded). */
	int (*events)(void *b);
	/* Every look_every: what the backend must look at itself (trials
	 * it watches without events, cancels requested of one trial).
	 * NULL: nothing. */
	int (*look)(void *b);
	/* Read running trials' output for metrics. */
	int (*collect)(void *b);
	/* Start what fits now (capacity is the backend's: packing,
	 * parallel, quotas); called only when tc_sched_may_start. */
	int (*fill)(void *b);
	/* Commit what is batched: now, or (due 0) when the backend says it
	 * is time.  NULL: nothing is ever batched. */
	int (*settle)(void *b, int now);
	/* Trials held (and requests of theirs in flight): 0 when the
	 * backend has nothing left to watch. */
	size_t (*held)(void *b);
	/* Stop one trial gracefully: the early-stopping rule chose it
	 * (its request committed: tc_sched_prune). */
	void (*stop)(void *b, const char *id);
	/* The run is interrupted (its request committed): stop every trial,
	 * at once when hard (a second interrupt, when kills). */
	int (*stop_all)(void *b, int hard);
	/* Wait at most `seconds` for the backend's events or a signal on
	 * s->sigfd (it may wait less). */
	int (*wait)(void *b, double seconds);

	/* The backend's part of a status (st holds the counts): st->trials
	 * (allocated, freed after the event) and ntrials; it may correct
	 * running, starting and queued.  NULL: none. */
	void (*running)(void *b, struct tc_progress_status *st);

	/* Recovery (tc_sched_recover).  What became of row's attempt
	 * (row->attempt, row->state); never changes the journal. */
	int (*probe)(void *b, const struct tc_trial_row *row,
		     struct tc_probe_result *pr);
	/* Take the attempt into the backend's care as pr found it (RUNNING,
	 * ENDED, STARTING), its journal state now `state`; row's strings
	 * may be taken (set to NULL). */
	int (*adopt)(void *b, struct tc_trial_row *row, int state,
		     const struct tc_probe_result *pr);
};

/* The loop: until nothing is queued or running (or the run stops and
 * what it stopped has ended).  0, or an error code (trials still running
 * are left to a later resume). */
int tc_sched_run(struct tc_sched *s);

/* A batch of a trial's samples is full (exec/record.h's cut, ctx the
 * struct tc_sched): written and committed with whatever the backend's
 * open transaction holds.  The next transaction begins with the next
 * statement, not at once: the lock is free while the next batch is read,
 * and a writer waiting for it (cancel, retry, another run) gets its turn. */
int tc_sched_metrics_cut(void *sched, struct tc_rec_metrics *m);

/* ---- early stopping ---------------------------------------------------- */

/* A metric sink of trial `id` (index idx) feeds the early-stopping rule
 * (the spec's early_stop: metric), when the spec has one.  0 or an error
 * code. */
int tc_sched_watch(struct tc_sched *s, struct tc_rec_metrics *m,
		   long long idx);

/* The trials the rule chose since the last call: each asked to stop in
 * the journal (cancel_req 3, its reason; one transaction, committed), then
 * stop(ctx, id) for each that still runs, for the backend to stop it as
 * it stops a cancelled trial.  Its end is then recorded as pruned
 * (tc_sched_finish).  Call it with no transaction open.  0 or an error
 * code. */
int tc_sched_prune(struct tc_sched *s, void (*stop)(void *ctx, const char *id),
		   void *ctx);

/* ---- recovery: one rule for what a previous run left ------------------ */

/* What a backend finds of an attempt the journal says is starting or
 * running (its probe).  The scheduler decides what each means: */
enum tc_found {
	TC_FOUND_RUNNING,   /* it runs: adopt it (a starting one is marked
			       running, "adopted") */
	TC_FOUND_ENDED,     /* it ended and its end can be read: adopt it,
			       and the backend records the end at once */
	TC_FOUND_STARTING,  /* its start may be under way: the backend starts
			       it again (a repeated start adopts) */
	TC_FOUND_UNSTARTED, /* it never started: back to the queue without
			       spending the attempt */
	TC_FOUND_LOST,      /* it started and its outcome can never be known
			       (its supervisor, or its Job, is gone): run
			       again as a new attempt with a fresh retry
			       budget (the loss is not the trial's) */
};

struct tc_probe_result {
	enum tc_found found;
	struct tc_trial_proc proc; /* RUNNING, ENDED: where it runs, if known */
	int has_proc;
	char why[160]; /* UNSTARTED, LOST: what happened, for the journal */
};

/* Recovery: every trial the journal says is starting or running is
 * probed, its metrics cleared (collecting starts afresh), and decided
 * (enum tc_found), each in its own transaction before the backend acts on
 * it.  A cancel requested meanwhile makes an unstarted or lost attempt
 * cancelled instead.  0 or an error code. */
int tc_sched_recover(struct tc_sched *s);

/* An attempt that never started (dropped while it waited, or found so
 * by recovery), from state `from`: back to the queue without spending
 * the attempt, or cancelled if that was asked (with its line).  Statements
 * only, in the caller's transaction. */
int tc_sched_unstart(struct tc_sched *s, const char *id, int from,
		     const char *params, const char *why);

#endif
