/*
 * trials.h — the life of a trial in the journal: every state transition
 * of a trial is one function here, and no SQL on the trial tables (trials,
 * metrics, final, events) lives outside store/.
 *
 * The trial state machine, for every backend, drawn here only (each arrow
 * one function tc_trials_*, committed before what it announces is acted
 * on: DESIGN.md, "Intent before action"):
 *
 *   queued ──mark_starting──► starting ──mark_running──► running
 *    ▲  ▲ \                    │    │                       │
 *    │  │  request_cancel      │    └─────── finish ────────┤
 *    │  │   ▼                  │                            ▼
 *    │  │  cancelled          unstart: never started,   succeeded, failed,
 *    │  │                     the attempt given back    timed_out, cancelled,
 *    │  └──────────────────── (or → cancelled)          pruned   │
 *    │                                                        │
 *    └── finish with next_at (retries left); retry (the verb); ┘
 *        requeue_interrupted (resume); rerun (its supervisor lost)
 *
 *   queued     durable: params, command, env, attempt (the next attempt
 *              number minus one), next_at (not before this time: retry
 *              backoff), retry_base (retries are counted from it).
 *   starting   the intent: attempt spent, started_at set, the attempt's
 *              columns reset and its metrics cleared.  The backend may or
 *              may not have it (recovery asks the backend).
 *   running    the backend said it started (locally: the supervisor's pid
 *              and start time, and the trial's process group).
 *   succeeded, failed, timed_out, cancelled, pruned
 *              final for this attempt: exit status, accounting (wall, user
 *              and system CPU, peak RSS), reason.  cancelled with reason
 *              "interrupted" is requeued by resume; other cancels are not.
 *              pruned: stopped by early_stop, never retried by a run.
 *
 * Requests are flags, not transitions: cancel_req (1 cancel, 2 interrupt,
 * 3 prune: the scheduler's early stop) on a starting or running trial,
 * which the running scheduler reads (tc_trials_flags) and turns into a
 * transition.
 *
 * Metrics: every sample (trial, attempt, name, step, value) in `metrics`
 * (capped per attempt, see exec/record.h), the last value of each metric
 * in `final`.  SQLite stores NaN as NULL, so non-finite values keep their
 * text in `special`.
 *
 * Transactions: no function here opens one, except where it says so; a
 * scheduler batches many transitions in one of its own (tc_journal_begin).
 * A handle prepares each statement the first time it is used and keeps it:
 * a scheduler opens one handle for a run.
 */
#ifndef TC_TRIALS_H
#define TC_TRIALS_H

#include <stddef.h>
#include <sys/types.h>

#include "store/journal.h"
#include "util/error.h"

struct tc_trials;

/* A handle on the trials of experiment exp (copied).  NULL when out of
 * memory (err says so). */
struct tc_trials *tc_trials_open(struct tc_journal *j, const char *exp,
				 struct tc_error *err);
void tc_trials_close(struct tc_trials *t);
/* The journal the handle reads and writes. */
struct tc_journal *tc_trials_journal(const struct tc_trials *t);

/* A trial's row.  Strings malloc'd (tc_trial_row_free) in the rows the
 * functions below fill; NULL for NULL columns. */
struct tc_trial_row {
	char id[16];
	int attempt;       /* the last attempt spent (0: never started) */
	long long idx;
	int state;         /* enum tc_state */
	char *command;     /* argv, JSON */
	char *env;         /* JSON object ("{}" when none) */
	char *params;      /* JSON object */
	char *reason;
	char *gpus;        /* "0,1" or NULL */
	char *stage, *item; /* a pipeline's job: its stage and item, or NULL */
	pid_t sup_pid, pgid; /* local: the supervisor and process group */
	long long sup_start;
	/* the last attempt's outcome and the totals */
	int has_exit, exit_code;
	double started_at, ended_at, wall, utime, stime, total_wall, total_cpu;
	long long maxrss_kb;
	unsigned seed;
};
void tc_trial_row_free(struct tc_trial_row *r);

/* The first queued trial (by index) whose next_at has come, among those a
 * run may start (tc_trials_pick): 1 and its row in *out, 0 none, or
 * TC_ERR_DB. */
int tc_trials_next_queued(struct tc_trials *t, double now,
			  struct tc_trial_row *out, struct tc_error *err);

/* The earliest next_at of the queued trials a run may start: 1 and *at,
 * 0 when none is queued. */
int tc_trials_next_at(struct tc_trials *t, double *at);

/* One trial by id: 1 and its row in *out, 0 when there is no such trial,
 * or TC_ERR_DB. */
int tc_trials_get(struct tc_trials *t, const char *id,
		  struct tc_trial_row *out, struct tc_error *err);

/* Every trial of the experiment by index, each row handed to fn (valid
 * during the call).  fn returns 0 to go on, anything else to stop with
 * that. */
typedef int (*tc_trials_row_fn)(void *ctx, const struct tc_trial_row *r);
int tc_trials_scan(struct tc_trials *t, tc_trials_row_fn fn, void *ctx,
		   struct tc_error *err);

/* The trial at index idx (id "" when none); 0 or TC_ERR_DB. */
int tc_trials_find_idx(struct tc_trials *t, long long idx, char id[16],
		       struct tc_error *err);

/* How many trials' ids start with prefix (0, 1, or 2 for more); the first
 * in id.  <0 on error. */
int tc_trials_find_prefix(struct tc_trials *t, const char *prefix,
			  char id[16], struct tc_error *err);

/* The final values of every trial, in the trials' order (index): fn gets
 * the trial, the metric's name and value (special: its text when it is
 * not a finite number, else NULL). */
typedef int (*tc_trials_final_fn)(void *ctx, const char *trial,
				  const char *name, double value,
				  const char *special);
int tc_trials_finals(struct tc_trials *t, tc_trials_final_fn fn, void *ctx,
		     struct tc_error *err);

/* One trial's final value of metric name: 1 and *value (NaN when it is
 * not a finite number), 0 when it has none, or TC_ERR_DB. */
int tc_trials_final_get(struct tc_trials *t, const char *trial,
			const char *name, double *value, struct tc_error *err);

/* Events of one state (TC_TRIALS_NOTE, "command changed", ...) in their
 * order: fn gets the trial (never NULL) and the detail (may be NULL). */
typedef int (*tc_trials_event_fn)(void *ctx, const char *trial,
				  const char *detail);
int tc_trials_events(struct tc_trials *t, const char *state,
		     tc_trials_event_fn fn, void *ctx, struct tc_error *err);

/* The trials in starting or running (the ones recovery asks the backend
 * about), by index: *out a malloc'd array of *n rows (free each, then the
 * array). */
int tc_trials_live(struct tc_trials *t, struct tc_trial_row **out, size_t *n,
		   struct tc_error *err);

/* The trials picked (tc_trials_pick) that are starting or running and
 * asked to cancel (cancel_req 1): to be signalled.  As tc_trials_live. */
int tc_trials_cancelling(struct tc_trials *t, struct tc_trial_row **out,
			 size_t *n, struct tc_error *err);

/* The first picked trial (by index) that has not ended (queued, starting,
 * running): 1 and *out (with its state), 0 none, or TC_ERR_DB. */
int tc_trials_picked_unended(struct tc_trials *t, struct tc_trial_row *out,
			     struct tc_error *err);

/* queued → starting, attempt `attempt` (its number) spent: the intent
 * before a start.  Resets every column of the previous attempt that says
 * where and how it ran (gpus, sup_pid, sup_start, pgid, exit_code,
 * term_signal, reason, ended_at, cancel_req), sets started_at, and deletes
 * the metrics of this attempt and later ones and the final values (they
 * are collected afresh).  gpus: the devices it was given ("0,1"), or
 * NULL.  Event "starting" with detail (or none).  0 or TC_ERR_DB. */
int tc_trials_mark_starting(struct tc_trials *t, const char *id, int attempt,
			    const char *gpus, const char *detail,
			    struct tc_error *err);

/* Where a local trial runs: its supervisor and process group. */
struct tc_trial_proc {
	pid_t sup_pid;
	long long sup_start; /* /proc starttime, against pid reuse */
	pid_t pgid;
};

/* starting → running.  proc: where it runs, or NULL (a cluster's trial);
 * started_at: when it really began, or 0 to keep the intent's time.
 * Event "running" with detail.  A trial in neither state is left alone
 * (the event is still written). */
int tc_trials_mark_running(struct tc_trials *t, const char *id,
			   const struct tc_trial_proc *proc, double started_at,
			   const char *detail, struct tc_error *err);

/* The outcome of an attempt. */
struct tc_trial_outcome {
	int state;           /* succeeded, failed, timed_out or cancelled */
	const char *reason;  /* NULL or "": none */
	int has_exit;        /* exit_code is known */
	int exit_code;
	double started_at;   /* when it really began; 0: keep the intent's */
	double ended_at, wall;
	int has_usage;       /* term_signal, utime, stime, maxrss_kb known */
	int term_signal;
	double utime, stime;
	long long maxrss_kb;
	double next_at;      /* > 0: requeued for a retry not before then */
};

/* starting/running → the outcome (or queued, for a retry, when next_at >
 * 0).  Records exit status, accounting, reason; adds to the trial's total
 * wall and CPU time.  Events: the outcome's state with the reason, then
 * "queued" "retry" for a retry. */
int tc_trials_finish(struct tc_trials *t, const char *id,
		     const struct tc_trial_outcome *o, struct tc_error *err);

/* starting/running → queued (cancelled: → cancelled) for an attempt that
 * never started: the attempt is given back, nothing of it is kept, the
 * retry delay and cancel request are cleared.  Event: the new state with
 * detail. */
int tc_trials_unstart(struct tc_trials *t, const char *id, int cancelled,
		      const char *detail, struct tc_error *err);

/* An attempt whose supervisor is gone with its outcome: → queued for a
 * new attempt with a fresh retry budget (the loss is not the trial's), or
 * → cancelled (reason "cancelled") when cancelled.  reason is kept on the
 * queued trial; event: the new state with reason. */
int tc_trials_rerun(struct tc_trials *t, const char *id, int cancelled,
		    const char *reason, struct tc_error *err);

/* What other processes asked of a trial: *state (enum tc_state),
 * *cancel_req (0, 1 cancel, 2 interrupt, 3 prune) and *retry_base.  1, or 0 when
 * there is no such trial (all zero). */
int tc_trials_flags(struct tc_trials *t, const char *id, int *state,
		    int *cancel_req, int *retry_base);

/* The reason a trial waits (a cluster's pending reason), NULL to clear. */
int tc_trials_set_reason(struct tc_trials *t, const char *id,
			 const char *reason, struct tc_error *err);

/* Queued trials waiting for something they cannot have yet (the GPUs of
 * the machine): the first n ready ones (n > 0) get reason `why`, the others
 * lose it; n == 0 clears it from all. */
int tc_trials_queued_reason(struct tc_trials *t, const char *why, long long n,
			    double now, struct tc_error *err);

/*
 * The trials a run may start (run --limit N, --only) or a verb acts on
 * (cancel, retry TRIAL...): kept on the journal's connection.  limit > 0:
 * the trials with index < limit; else ids[0..nids) (nids 0: every trial).
 * *n (may be NULL): how many distinct ids were named.
 */
int tc_trials_pick(struct tc_trials *t, long long limit,
		   const char *const *ids, size_t nids, int *n,
		   struct tc_error *err);

/* Request a cancel: queued trials picked (tc_trials_pick; or all) →
 * cancelled (*ncancelled), and cancel_req = 1 on the starting and running
 * ones (*nrequested).  Experiment's state untouched. */
int tc_trials_request_cancel(struct tc_trials *t, int *ncancelled,
			     int *nrequested, struct tc_error *err);

/* Interrupt every starting and running trial not cancelled already
 * (cancel_req = 2: resume runs them again). */
int tc_trials_request_interrupt(struct tc_trials *t, struct tc_error *err);

/* The early-stopping rule chose this starting or running trial, not yet
 * asked to stop: cancel_req = 3, its reason `why` ("pruned at step 4:
 * ...").  The attempt that ends after it is pruned, unless it succeeded.
 * *requested (may be NULL): 1 when the request was made. */
int tc_trials_request_prune(struct tc_trials *t, const char *id,
			    const char *why, int *requested,
			    struct tc_error *err);

/* ---- pipelines (stages:) ----
 * A job of a pipeline is a trial with a stage (and an item when its stage
 * fans out), that is ready to start (tc_trials_next_queued) only when
 * every trial it needs has succeeded. */

/* Set a trial's stage and item (text, or NULL). */
int tc_trials_set_stage(struct tc_trials *t, const char *id, const char *stage,
			const char *item, struct tc_error *err);

/* Trial id needs trial needed. */
int tc_trials_need(struct tc_trials *t, const char *id, const char *needed,
		   struct tc_error *err);

/* Trial id ended and will not run again (failed, timed out, cancelled,
 * pruned): every queued trial that needs it, directly or through others,
 * → cancelled with reason (which starts with TC_TRIALS_NOT_RUN: `retry
 * --failed` runs them again).  *n: how many. */
#define TC_TRIALS_NOT_RUN "not run: "
int tc_trials_skip_dependants(struct tc_trials *t, const char *id,
			      const char *reason, int *n, struct tc_error *err);

/* A trial's stage into stage (len bytes) and, when item is not NULL, its
 * item (malloc'd, or NULL): 1, or 0 when it has none (not a pipeline's). */
int tc_trials_stage_of(struct tc_trials *t, const char *id, char *stage,
		       size_t len, char **item);

/* Its inputs (a JSON array of paths, as rendered), set when planned. */
int tc_trials_set_inputs(struct tc_trials *t, const char *id,
			 const char *inputs, struct tc_error *err);

/* A pipeline's job as its cache key is made of (strings malloc'd, NULL
 * for NULL columns; tc_job_free). */
struct tc_job {
	char id[16];
	int state;
	char *stage, *item, *inputs, *key, *command, *env;
};
void tc_job_free(struct tc_job *jb);

/* Trial id's job: 1 (a pipeline's), 0 (none, or not a pipeline's), or
 * TC_ERR_DB. */
int tc_trials_job(struct tc_trials *t, const char *id, struct tc_job *jb,
		  struct tc_error *err);

/* Every job of the experiment's pipeline, by index (*out malloc'd; each
 * tc_job_free'd by the caller). */
int tc_trials_jobs(struct tc_trials *t, struct tc_job **out, size_t *n,
		   struct tc_error *err);

/* Every need: fn(ctx, trial, needed). */
int tc_trials_edges(struct tc_trials *t,
		    void (*fn)(void *ctx, const char *trial, const char *needed),
		    void *ctx, struct tc_error *err);

/* Stages that start at most caps[i] jobs at a time (their own
 * run.parallel), for this connection's next-queued picks; n = 0 clears. */
int tc_trials_stage_caps(struct tc_trials *t, const char *const *stages,
			 const int *caps, size_t n, struct tc_error *err);

/* The jobs id needs with their cache keys ("" for one without), by id. */
int tc_trials_needed_keys(struct tc_trials *t, const char *id,
			  void (*fn)(void *ctx, const char *id, const char *key),
			  void *ctx,
			  struct tc_error *err);

/* The key of the attempt that starts (or last ran). */
int tc_trials_set_key(struct tc_trials *t, const char *id, const char *key,
		      struct tc_error *err);

/* A succeeded job of any experiment, other than id, whose key is key: 1
 * with *exp (malloc'd) and found, 0 none, or TC_ERR_DB. */
int tc_trials_find_key(struct tc_trials *t, const char *id, const char *key,
		       char **exp, char found[16], struct tc_error *err);

/* queued → succeeded from the cache: the job src_exp/src_id did the same
 * work (reason "cached: EXP/ID"); its final values are copied. */
int tc_trials_mark_cached(struct tc_trials *t, const char *id, const char *key,
			  const char *src_exp, const char *src_id,
			  struct tc_error *err);

/* A job that must run again (its key changed, or --rerun): → queued with
 * reason why and no key, with every job that needs it, directly or
 * through others, that is not running or queued.  *n: how many moved. */
int tc_trials_requeue_job(struct tc_trials *t, const char *id,
			  const char *why, int *n, struct tc_error *err);

/* The ids of stage's jobs (*ids malloc'd). */
int tc_trials_stage_ids(struct tc_trials *t, const char *stage, char (**ids)[16],
			size_t *n, struct tc_error *err);

/* A pipeline's jobs by stage (in the order of their first job) and
 * state: fn(ctx, stage, state, count, wall seconds, CPU seconds) for
 * each pair that has jobs; a non-zero return stops. */
typedef int (*tc_trials_stage_fn)(void *ctx, const char *stage, int state,
				  long long n, double wall, double cpu);
int tc_trials_stage_summary(struct tc_trials *t, tc_trials_stage_fn fn,
			    void *ctx, struct tc_error *err);

/* The `retry` verb: the picked trials that failed, timed out or were
 * cancelled (picked_only 0: every failed or timed-out one, and every one
 * not run because a job it needs failed) → queued with a fresh retry
 * budget.  *n: how many. */
int tc_trials_retry(struct tc_trials *t, int picked_only, int *n,
		    struct tc_error *err);

/* resume: trials cancelled by an interrupt → queued with a fresh retry
 * budget.  One transaction of its own. */
int tc_trials_requeue_interrupted(struct tc_trials *t, struct tc_error *err);

/* The experiment's trials by state (counts[TC_ST_COUNT]) and in total. */
int tc_trials_counts(struct tc_trials *t, long long *counts, long long *total,
		     struct tc_error *err);

/* Has the whole experiment been cancelled (`cancel NAME`)? */
int tc_trials_exp_cancelled(struct tc_trials *t);

/* The best succeeded trial on the spec's metric so far, ranked by the
 * metrics module's rule (tc_metric_best_offer): 1 and *best, 0 when none
 * (or no metric), or TC_ERR_DB. */
struct tc_metric_best;
int tc_trials_best(struct tc_trials *t, const char *metric, int goal,
		   struct tc_metric_best *best, struct tc_error *err);

/* An event (state, detail) of a trial (or of the experiment: trial NULL). */
int tc_trials_event(struct tc_trials *t, const char *trial, const char *state,
		    const char *detail, struct tc_error *err);

/* A note about an attempt that its metrics do not show: an event of state
 * TC_TRIALS_NOTE, detail "attempt N: text", recorded once. */
#define TC_TRIALS_NOTE "note"
int tc_trials_note(struct tc_trials *t, const char *trial, int attempt,
		   const char *text, struct tc_error *err);

/* Outcomes in the events log: *seq the last event's number and *succeeded
 * whether a trial of the experiment ever succeeded; then, since event
 * `since`, how many attempts failed or timed out and how many succeeded,
 * and the trial that failed last. */
int tc_trials_events_mark(struct tc_trials *t, long long *seq,
			  int *succeeded, struct tc_error *err);
int tc_trials_outcomes_since(struct tc_trials *t, long long since,
			     long long *failed, long long *succeeded,
			     char last_failed[16], struct tc_error *err);

/* Metrics of an attempt: delete this attempt's and later ones' samples and
 * every final value; add a sample (`at`: when it was read); set a metric's
 * latest value. */
int tc_trials_metrics_clear(struct tc_trials *t, const char *trial,
			    int attempt, struct tc_error *err);
int tc_trials_metric_add(struct tc_trials *t, const char *trial, int attempt,
			 const char *name, double step, double value, double at,
			 struct tc_error *err);
int tc_trials_final_set(struct tc_trials *t, const char *trial, int attempt,
			const char *name, double step, double value,
			struct tc_error *err);

/*
 * Planning writes (plan/plan.h).  A new trial, queued: 1 when inserted, 0
 * when the experiment has one of that id already, or TC_ERR_DB.
 */
int tc_trials_insert(struct tc_trials *t, const char *id, long long idx,
		     const char *params, const char *command, unsigned seed,
		     const char *env, struct tc_error *err);

/* The index a trial added after the existing ones gets. */
int tc_trials_next_index(struct tc_trials *t, long long *idx,
			 struct tc_error *err);

/* Replace a trial's command and env (a re-plan from a changed spec). */
int tc_trials_set_command(struct tc_trials *t, const char *id,
			  const char *command, const char *env,
			  struct tc_error *err);

/* A re-plan names every trial of the new plan (id NULL: forget the names
 * of an earlier one), then cancels the queued trials it did not name:
 * reason "no longer in the spec".  Kept apart from tc_trials_pick. */
int tc_trials_planned(struct tc_trials *t, const char *id,
		      struct tc_error *err);
int tc_trials_cancel_unplanned(struct tc_trials *t, struct tc_error *err);

#endif
