/*
 * record.h — what both backends' schedulers (runner.c for the local
 * backend, kube.c for Kubernetes) decide the same way: the retry delay,
 * fail fast, the metric sink's batching (its rows are written through
 * store/trials.h), and the one-line forms of parameters and log rotation
 * between attempts (the rest of a run: exec/scheduler.h).
 */
#ifndef TC_RECORD_H
#define TC_RECORD_H

#include <stddef.h>

#include "metrics/metrics.h"
#include "store/journal.h"
#include "store/trials.h"
#include "util/error.h"

/* A failed or timed-out attempt: when may it run again?  0 when its
 * retries (run.retries, counted from retry_base) are spent, else now plus
 * run.backoff doubled for each earlier retry, capped at 300 s. */
struct tc_spec;
double tc_rec_retry_at(const struct tc_spec *spec, int attempt, int retry_base);

/*
 * Fail fast (run.max_failures, --max-failures): the one rule both
 * schedulers ask before starting a trial.  Once `max` attempts that began
 * counting with this run (tc_rec_failfast_init: a resume counts afresh)
 * have failed or timed out, and no trial of the experiment has ever
 * succeeded, the run starts nothing new: trials already running finish,
 * queued ones stay queued for `resume`.  Cancelled and interrupted
 * attempts do not count.  While it is armed (max > 0, no success yet) a
 * scheduler must not hand trials to run ahead of a free slot (the local
 * shim's standby), or more attempts than `max` could start.
 */
struct tc_rec_failfast {
	int max;            /* 0: never stops */
	long long since;    /* events.seq when the run began */
	int state;          /* 0 armed, 1 tripped, -1 off (max 0 or a success) */
	long long failed;   /* failed attempts of this run, when tripped */
	char trial[16];     /* when tripped: the trial that failed last */
};

/* override: --max-failures, or -1 for the spec's run.max_failures.
 * 0 or TC_ERR_DB. */
int tc_rec_failfast_init(struct tc_trials *tr, const struct tc_spec *spec,
			 int override, struct tc_rec_failfast *ff,
			 struct tc_error *err);

/* Must the scheduler stop starting trials?  1 (ff->failed and ff->trial
 * say why), 0, or TC_ERR_DB.  Reads the events of this run only; inside
 * the caller's transaction it sees what that wrote. */
int tc_rec_failfast_check(struct tc_trials *tr, struct tc_rec_failfast *ff,
			  struct tc_error *err);

/* May trials be staged ahead of a free slot? */
#define tc_rec_failfast_armed(ff) ((ff)->state == 0)

/*
 * Metric samples of one attempt on their way to the journal: the one place
 * that decides what is kept and when it is written, whatever the trial
 * prints and whichever scheduler reads it.
 *
 *   - Memory is bounded: at most TC_REC_BATCH samples wait in memory, plus
 *     each metric's latest value (one entry a name; collectors cap names).
 *   - Write transactions are short: once TC_REC_BATCH samples or
 *     TC_REC_BATCH_BYTES bytes of output were taken since the last write,
 *     the sink calls the scheduler's cut callback, which writes the batch
 *     (tc_rec_metrics_flush) and commits, so another writer (`cancel`,
 *     `retry`, a second `run`) never waits behind one heavy trial.
 *   - History is capped: the first TC_REC_HISTORY_MAX samples of an attempt
 *     become rows of `metrics`; later ones only update `final` (the latest
 *     value of each name, always exact).  Dropping history, or values of
 *     names past a collector's name cap, is never silent: the attempt gets
 *     a note (tc_trials_note) saying so.
 */
#define TC_REC_HISTORY_MAX 100000
#define TC_REC_BATCH 4096
#define TC_REC_BATCH_BYTES (1 << 20)

struct tc_rec_metrics;

/* Write the sink's batch and commit (see above).  0 or an error code. */
typedef int (*tc_rec_cut_fn)(void *ctx, struct tc_rec_metrics *m);

/* A sink for attempt `attempt` of trial `trial` of experiment `exp`
 * (copied).  metric: the spec's metric or NULL (its latest value is kept,
 * see tc_rec_metrics_value).  replace: the first write deletes what the
 * journal holds of this attempt (for a stream collected from its start
 * again).  NULL on error (err says why). */
struct tc_rec_metrics *tc_rec_metrics_new(struct tc_journal *j, const char *exp,
					  const char *trial, int attempt,
					  const char *metric, int replace,
					  tc_rec_cut_fn cut, void *ctx,
					  struct tc_error *err);
void tc_rec_metrics_free(struct tc_rec_metrics *m);

/* Feed a stream's next bytes to collector c, the samples to m (cutting
 * when a batch is full); end: the stream ended (a last line without a
 * newline counts).  0, or what the cut callback returned. */
int tc_rec_metrics_feed(struct tc_rec_metrics *m, struct tc_collector *c,
			const char *buf, size_t len, int end);

/* The same for the streams of one rank of a trial of several (nodes:
 * with metrics: {ranks: all}): each name is recorded as prefix + name
 * ("rank1.loss"), and, when plain (rank 0's), as it came too. */
int tc_rec_metrics_feed_rank(struct tc_rec_metrics *m, struct tc_collector *c,
			     const char *prefix, int plain, const char *buf,
			     size_t len, int end);

/* Every sample of metric `name` the sink takes is shown to fn as well
 * (the scheduler's early stopping), with the trial's id and its index idx
 * (as given).  0 or TC_ERR_NOMEM. */
typedef void (*tc_rec_watch_fn)(void *ctx, const char *trial, long long idx,
				double step, double value);
int tc_rec_metrics_watch(struct tc_rec_metrics *m, const char *name,
			 long long idx, tc_rec_watch_fn fn, void *ctx);

/* A note to record with the next write, once per attempt (for example
 * that the trial's files vanished).  text is copied. */
void tc_rec_metrics_note(struct tc_rec_metrics *m, const char *text);

/* Write the waiting samples, the latest values changed since the last
 * write and any new note (inside the caller's transaction).  0 or
 * TC_ERR_DB; on error the batch is lost (the caller rolls back and stops). */
int tc_rec_metrics_flush(struct tc_rec_metrics *m, struct tc_error *err);

/* Is there anything to write? */
int tc_rec_metrics_pending(const struct tc_rec_metrics *m);

/* The latest value of the spec's metric: 1 and *v, or 0 when none came. */
int tc_rec_metrics_value(const struct tc_rec_metrics *m, double *v);

/* The step of the spec's metric's latest value; 0 when it has none yet. */
int tc_rec_metrics_step(const struct tc_rec_metrics *m, double *step);

/* "lr=0.01 opt=adam" from a parameters JSON object, cut to len, with
 * control characters made safe for a terminal (util/text.h). */
void tc_params_brief(const char *json, char *buf, size_t len);

/* dir/base.ext → dir/base.n.ext (an earlier attempt's log). */
void tc_rotate_log(const char *dir, const char *base, const char *ext, int n);

#endif
