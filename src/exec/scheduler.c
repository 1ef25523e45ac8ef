/*
 * scheduler.c — the one scheduler: its loop and its rules (see scheduler.h).
 */
#include "exec/scheduler.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/artifacts.h"
#include "exec/pipeline.h"
#include "exec/prune.h"
#include "store/series.h"
#include "plan/plan.h"
#include "util/clock.h"

/* The counts and best so far, from the journal. */
static int load_counts(struct tc_sched *s)
{
	if (tc_trials_counts(s->tr, s->counts, &s->total, s->err) ||
	    tc_trials_best(s->tr, s->spec->metric.name, s->spec->metric.goal,
			   &s->best, s->err) < 0)
		return TC_ERR_DB;
	return 0;
}

/* A sample of an earlier run, replayed into the rule. */
static int replay(void *ctx, const struct tc_series_row *row)
{
	struct tc_sched *s = ctx;

	return tc_pruner_observe(s->pruner, row->trial, row->idx,
				 row->has_step ? row->step : 0, row->value,
				 !row->special, 0, NULL, 0) < 0
		       ? TC_ERR_NOMEM
		       : 0;
}

/* The early-stopping rule, with what the journal holds of every trial. */
static int prune_begin(struct tc_sched *s)
{
	const char *name = s->spec->early_stop.metric;
	int rc;

	if (!(s->pruner = tc_pruner_new(s->spec)))
		return tc_error_set(s->err, TC_ERR_NOMEM, "out of memory");
	rc = tc_series_each(s->j, s->name, NULL, 0, &name, 1, replay, s, s->err);
	if (rc == TC_ERR_NOMEM)
		return tc_error_set(s->err, TC_ERR_NOMEM, "out of memory");
	return rc;
}

static void on_watched(void *ctx, const char *trial, long long idx,
		       double step, double value)
{
	struct tc_sched *s = ctx;
	struct tc_sched_prune *p;
	char why[256];

	if (s->stopping ||
	    tc_pruner_observe(s->pruner, trial, idx, step, value,
			      isfinite(value), 1, why, sizeof(why)) != 1)
		return;
	if (s->nprunes == s->capprunes) {
		size_t nc = s->capprunes ? s->capprunes * 2 : 16;

		p = realloc(s->prunes, nc * sizeof(*p));
		if (!p)
			return; /* it runs on: no decision is lost data */
		s->prunes = p;
		s->capprunes = nc;
	}
	p = &s->prunes[s->nprunes++];
	snprintf(p->id, sizeof(p->id), "%s", trial);
	snprintf(p->why, sizeof(p->why), "%s", why);
}

int tc_sched_watch(struct tc_sched *s, struct tc_rec_metrics *m,
		   long long idx)
{
	if (!s->pruner)
		return 0;
	if (tc_rec_metrics_watch(m, s->spec->early_stop.metric, idx, on_watched,
				 s))
		return tc_error_set(s->err, TC_ERR_NOMEM, "out of memory");
	return 0;
}

int tc_sched_prune(struct tc_sched *s, void (*stop)(void *ctx, const char *id),
		   void *ctx)
{
	size_t n = s->nprunes, k = 0;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = tc_journal_begin(s->j, s->err)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		int asked = 0;

		if ((rc = tc_trials_request_prune(s->tr, s->prunes[i].id,
						  s->prunes[i].why, &asked,
						  s->err))) {
			tc_journal_rollback(s->j);
			return rc;
		}
		if (asked) /* still running, not stopped for another reason */
			s->prunes[k++] = s->prunes[i];
	}
	if ((rc = tc_journal_commit(s->j, s->err))) {
		tc_journal_rollback(s->j);
		return rc;
	}
	s->nprunes = 0;
	for (size_t i = 0; i < k; i++)
		stop(ctx, s->prunes[i].id);
	return 0;
}

static int stage_caps(struct tc_sched *s);
static int sched_trial_dir(struct tc_sched *s);

int tc_sched_begin(struct tc_sched *s, struct tc_journal *j, const char *name,
		   const struct tc_spec *spec, const struct tc_run_opts *o,
		   const sigset_t *extra, const struct tc_sched_ops *ops,
		   void *b, struct tc_error *err)
{
	sigset_t mask;
	int rc;

	memset(s, 0, sizeof(*s));
	s->j = j;
	s->name = name;
	s->spec = spec;
	s->o = o;
	s->err = err;
	s->sigfd = -1;
	s->parallel = o->parallel > 0 ? o->parallel : spec->run.parallel;
	s->ops = ops;
	s->b = b;
	if (!(s->tr = tc_trials_open(j, name, err)))
		return TC_ERR_NOMEM;
	if ((rc = tc_trials_pick(s->tr, o->limit, o->only, o->nonly, NULL, err)) ||
	    (rc = tc_rec_failfast_init(s->tr, spec, o->max_failures, &s->ff, err)))
		return rc;
	if (extra)
		mask = *extra;
	else
		sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &s->oldmask);
	s->masked = 1;
	s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0)
		return tc_error_set(err, TC_ERR_INTERNAL, "signalfd: %s",
				    strerror(errno));
	if (o->requeue_interrupted &&
	    (rc = tc_trials_requeue_interrupted(s->tr, err)))
		return rc;
	if (spec->nstages && !o->drain && (rc = tc_pipe_revalidate(s)))
		return rc;
	if (spec->nstages && (rc = stage_caps(s)))
		return rc;
	if (spec->nstages && spec->artifacts.store) {
		/* reachable with these credentials, before anything runs */
		if ((rc = sched_trial_dir(s)))
			return rc;
		if (s->trial_dir[0])
			return tc_error_at(err, TC_ERR_SPEC, spec->path,
					   spec->artifacts.pos.line,
					   spec->artifacts.pos.col,
					   "artifacts: a job's outputs are in its "
					   "pod on this backend; share them "
					   "through a volume (kubernetes.volumes) "
					   "instead");
		if ((rc = tc_artifacts_open(spec, &s->s3, err)))
			return rc;
	}
	if ((rc = load_counts(s)))
		return rc;
	if (spec->early_stop.method != TC_ES_NONE && (rc = prune_begin(s)))
		return rc;
	/* a drain run records what runs; the experiment keeps its state */
	if (!o->drain && (rc = tc_experiment_set_state(j, name, "running", err)))
		return rc;
	return 0;
}

static int sched_trial_dir(struct tc_sched *s);

/* Fail fast (run.max_failures), looked at before anything new starts or
 * is created: once it trips, what runs finishes and nothing new starts.
 * 1 tripped, 0, or an error code. */
static int fail_fast(struct tc_sched *s)
{
	int rc = tc_rec_failfast_check(s->tr, &s->ff, s->err);

	if (rc > 0)
		s->stopping = 3;
	return rc;
}

int tc_sched_next(struct tc_sched *s, double now, struct tc_trial_row *row)
{
	int rc = 0;

	if (!tc_sched_may_start(s) || (rc = fail_fast(s)) != 0)
		return rc < 0 ? rc : 0;
	if (s->spec->nstages)
		return (rc = sched_trial_dir(s)) ? rc : tc_pipe_next(s, now, row);
	return tc_trials_next_queued(s->tr, now, row, s->err);
}

/* s->trial_dir: the backend's fixed directory of every trial, or "" (each
 * its own in the state directory). */
static int sched_trial_dir(struct tc_sched *s)
{
	struct tc_exp_info e;
	const struct tc_backend *be;
	int rc;

	if (s->trial_dir)
		return 0;
	if ((rc = tc_experiment_load(s->j, s->name, &e, s->err)))
		return rc;
	be = tc_backend_of(&e);
	s->trial_dir = be && be->trial_dir ? be->trial_dir : "";
	tc_exp_info_free(&e);
	return 0;
}

/* The stages with a run.parallel of their own, for the next-queued pick. */
static int stage_caps(struct tc_sched *s)
{
	const char *names[64];
	int caps[64];
	size_t n = 0;

	for (size_t i = 0; i < s->spec->nstages && n < 64; i++)
		if (s->spec->stages[i].own_parallel > 0) {
			names[n] = s->spec->stages[i].name;
			caps[n++] = s->spec->stages[i].own_parallel;
		}
	return tc_trials_stage_caps(s->tr, names, caps, n, s->err);
}

int tc_sched_extend(struct tc_sched *s, long long active)
{
	long long want;
	int rc, done = 0;

	if (s->spec->search.method != TC_SEARCH_TPE || s->extend_done ||
	    !tc_sched_may_start(s) || s->o->limit > 0 || s->o->nonly > 0)
		return 0;
	if ((rc = fail_fast(s)) != 0)
		return rc < 0 ? rc : 0;
	want = s->parallel - active - s->counts[TC_ST_QUEUED];
	if (want <= 0)
		return 0;
	if ((rc = sched_trial_dir(s)))
		return rc;
	rc = tc_plan_extend_cached(s->j, s->spec,
				   s->trial_dir[0] ? s->trial_dir : NULL, want,
				   &done, &s->plan_cache, s->err);
	if (rc < 0)
		return rc;
	s->counts[TC_ST_QUEUED] += rc;
	s->total += rc;
	s->extend_done = done;
	if (done == TC_EXTEND_EXHAUSTED)
		tc_sched_note(s, 0,
			      "tpe found no new point after %lld trials "
			      "(search.trials is %llu): the space is used up; "
			      "the run ends with what runs",
			      s->total,
			      (unsigned long long)s->spec->search.trials);
	return rc;
}

/* Trials an adaptive search has still to create: the budget, unless its
 * space ran out (0 for other methods). */
static long long unplanned(const struct tc_sched *s)
{
	if (s->spec->search.method != TC_SEARCH_TPE ||
	    s->extend_done == TC_EXTEND_EXHAUSTED ||
	    (long long)s->spec->search.trials <= s->total)
		return 0;
	return (long long)s->spec->search.trials - s->total;
}

void tc_sched_end(struct tc_sched *s, int rc)
{
	const char *state = "finished";
	long long ended = 0;

	tc_sched_send(s, &(struct tc_progress_event){.kind = TC_PROGRESS_END});
	if (rc || s->o->drain)
		return;
	for (int i = TC_ST_SUCCEEDED; i < TC_ST_COUNT; i++)
		ended += s->counts[i];
	if (s->stopping == 1)
		state = "cancelled";
	else if (s->stopping == 2 || ended != s->total || unplanned(s) > 0)
		state = "interrupted"; /* resume goes on */
	tc_experiment_set_state(s->j, s->name, state, s->err);
}

void tc_sched_close(struct tc_sched *s, int rc, struct tc_run_summary *sum)
{
	/* On an error, running trials are left to their supervisors or
	 * Jobs: a resume adopts them. */
	if (s->masked) {
		if (s->sigfd >= 0)
			close(s->sigfd);
		sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
	}
	memset(sum, 0, sizeof(*sum));
	if (rc == 0) {
		if (load_counts(s) == 0) {
			memcpy(sum->counts, s->counts, sizeof(s->counts));
			sum->total = s->total;
		}
		sum->interrupted = s->stopping == 2;
		sum->cancelled = s->stopping == 1;
		/* it stopped something only if something waits */
		sum->failfast = s->stopping == 3 &&
				(sum->counts[TC_ST_QUEUED] > 0 || unplanned(s) > 0);
		sum->failed = s->ff.failed;
		sum->max_failures = s->ff.max;
		memcpy(sum->failed_trial, s->ff.trial, sizeof(s->ff.trial));
	}
	tc_trials_close(s->tr);
	tc_s3_free(s->s3);
	s->s3 = NULL;
	tc_plan_cache_free(s->plan_cache);
	s->plan_cache = NULL;
	tc_pruner_free(s->pruner);
	free(s->prunes);
	s->pruner = NULL;
	s->prunes = NULL;
}

void tc_sched_send(struct tc_sched *s, struct tc_progress_event *ev)
{
	struct tc_progress_status st;

	if (!s->o->view || s->o->progress < 0)
		return;
	memset(&st, 0, sizeof(st));
	for (int i = TC_ST_SUCCEEDED; i < TC_ST_COUNT; i++)
		st.done += s->counts[i];
	st.total = s->total + unplanned(s); /* tpe: the budget */
	st.running = s->counts[TC_ST_RUNNING];
	st.starting = s->counts[TC_ST_STARTING];
	st.queued = s->counts[TC_ST_QUEUED];
	st.failed = s->counts[TC_ST_FAILED] + s->counts[TC_ST_TIMED_OUT];
	st.parallel = s->parallel;
	st.metric = s->spec->metric.name;
	st.has_best = s->best.has;
	st.best = s->best.value;
	st.best_id = s->best.id;
	if (s->ops && s->ops->running)
		s->ops->running(s->b, &st);
	ev->status = &st;
	s->o->view->fn(s->o->view->ctx, ev);
	free((void *)st.trials);
}

void tc_sched_status(struct tc_sched *s)
{
	tc_sched_send(s, &(struct tc_progress_event){.kind = TC_PROGRESS_STATUS});
}

void tc_sched_line(struct tc_sched *s, const char *id, const char *params,
		   int has_metric, double metric, const char *state,
		   double wall, const char *reason)
{
	struct tc_progress_event ev = {
		.kind = TC_PROGRESS_TRIAL, .state = state, .id = id,
		.params = params, .wall = wall, .has_metric = has_metric,
		.metric = metric, .reason = reason,
	};

	tc_sched_send(s, &ev);
}

void tc_sched_note(struct tc_sched *s, int counted, const char *fmt, ...)
{
	struct tc_progress_event ev = {.kind = TC_PROGRESS_NOTE};
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ev.text = text;
	ev.counted = counted;
	tc_sched_send(s, &ev);
}

int tc_sched_signals(struct tc_sched *s)
{
	struct signalfd_siginfo si;
	int got_stop = 0;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM ||
		    si.ssi_signo == SIGHUP)
			got_stop++;
	if (!got_stop)
		return 0;
	if (s->stopping != 2) {
		s->stopping = 2;
		return 1;
	}
	return 2;
}

void tc_sched_external(struct tc_sched *s)
{
	if (tc_trials_exp_cancelled(s->tr) && (!s->stopping || s->stopping == 3))
		s->stopping = 1;
}

void tc_sched_recount(struct tc_sched *s, int busy)
{
	long long c[TC_ST_COUNT], total, gone, ver;
	struct tc_error e;

	if (busy)
		return;
	tc_error_clear(&e);
	ver = tc_journal_data_version(s->j);
	if (ver == s->data_version || tc_trials_counts(s->tr, c, &total, &e))
		return;
	s->data_version = ver;
	gone = c[TC_ST_CANCELLED] - s->counts[TC_ST_CANCELLED];
	memcpy(s->counts, c, sizeof(c));
	s->total = total;
	if (gone <= 0)
		return;
	tc_sched_note(s, 1, "cancelled %lld queued trial%s", gone,
		      gone == 1 ? "" : "s");
	tc_sched_status(s);
}

/* A pipeline's job that succeeded: every output it declared must be
 * there (in its own directory, when the backend's are on this machine),
 * else it failed. */
static int check_outputs(struct tc_sched *s, const struct tc_stage *st,
			 struct tc_sched_end *e)
{
	char *dir;
	int rc;

	if ((rc = sched_trial_dir(s)) || s->trial_dir[0] || !st->noutputs)
		return rc;
	if (!(dir = tc_trial_dir(s->j, e->id)))
		return tc_error_set(s->err, TC_ERR_NOMEM, "out of memory");
	for (size_t k = 0; k < st->noutputs; k++) {
		char path[PATH_MAX];
		struct stat sb;

		snprintf(path, sizeof(path), "%s/%s", dir, st->outputs[k].text);
		if (stat(path, &sb) != 0) {
			e->state = TC_ST_FAILED;
			snprintf(e->reason, e->reason_len, "declared output "
				 "'%s' is missing (in %s)", st->outputs[k].text,
				 dir);
			break;
		}
	}
	free(dir);
	return 0;
}

/* A succeeded job's declared outputs into the artifact store; one that
 * cannot be stored fails the job (a retry stores them again). */
static void store_outputs(struct tc_sched *s, const struct tc_stage *st,
			  struct tc_sched_end *e)
{
	struct tc_error why;
	char *dir = tc_trial_dir(s->j, e->id);

	tc_error_clear(&why);
	if (!dir)
		tc_error_set(&why, TC_ERR_NOMEM, "out of memory");
	else
		tc_artifacts_put(s->s3, s->name, e->id, dir, st, &why);
	free(dir);
	if (why.code) {
		e->state = TC_ST_FAILED;
		snprintf(e->reason, e->reason_len, "artifacts: %s", why.msg);
	}
}

int tc_sched_finish(struct tc_sched *s, struct tc_sched_end *e,
		    struct tc_trial_outcome *o)
{
	int jstate, cancel_req = 0, retry_base = 0, req, rc;
	const struct tc_stage *st = NULL;

	tc_trials_flags(s->tr, e->id, &jstate, &cancel_req, &retry_base);
	/* the journal's request or the backend's own stop (1 cancel, 2
	 * interrupt): an interrupt from either wins */
	req = cancel_req > e->cancel ? cancel_req : e->cancel;
	if (e->state != TC_ST_SUCCEEDED && req == 3 &&
	    (e->cancel_wins || e->state == TC_ST_CANCELLED || e->unseen)) {
		struct tc_trial_row row;
		struct tc_error ignored = {0};

		/* the reason its request recorded */
		e->state = TC_ST_PRUNED;
		snprintf(e->reason, e->reason_len, "pruned");
		memset(&row, 0, sizeof(row));
		if (tc_trials_get(s->tr, e->id, &row, &ignored) == 1 &&
		    row.reason && !strncmp(row.reason, "pruned", 6))
			snprintf(e->reason, e->reason_len, "%s", row.reason);
		tc_trial_row_free(&row);
	} else if (e->state != TC_ST_SUCCEEDED && req &&
		   (e->cancel_wins || e->state == TC_ST_CANCELLED ||
		    e->unseen)) {
		e->state = TC_ST_CANCELLED;
		snprintf(e->reason, e->reason_len, "%s",
			 req == 2 ? "interrupted" : "cancelled");
	}
	if (s->spec->nstages) {
		char name[64];

		if (tc_trials_stage_of(s->tr, e->id, name, sizeof(name), NULL))
			st = tc_spec_stage(s->spec, name);
	}
	if (st && e->state == TC_ST_SUCCEEDED && (rc = check_outputs(s, st, e)))
		return rc;
	if (st && e->state == TC_ST_SUCCEEDED && s->s3 && st->noutputs)
		store_outputs(s, st, e);
	e->requeue = 0;
	e->next_at = 0;
	e->skipped = 0;
	if ((e->state == TC_ST_FAILED || e->state == TC_ST_TIMED_OUT) &&
	    !e->no_retry && s->stopping != 2 && !req &&
	    (e->next_at = tc_rec_retry_at(st ? st->spec : s->spec, e->attempt,
					  retry_base)) > 0)
		e->requeue = 1;
	o->state = e->state;
	o->reason = e->reason;
	o->next_at = e->requeue ? e->next_at : 0;
	if (s->pruner && !tc_pruner_seen(s->pruner, e->id) &&
	    (e->state == TC_ST_SUCCEEDED || e->state == TC_ST_FAILED ||
	     e->state == TC_ST_TIMED_OUT)) {
		char note[300];

		/* a metric nobody reports stops nothing: say so where the
		 * trial's notes are read (status, results) */
		snprintf(note, sizeof(note),
			 "early_stop: it reported no %s, so it was never judged",
			 s->spec->early_stop.metric);
		if ((rc = tc_trials_note(s->tr, e->id, e->attempt, note,
					 s->err)))
			return rc;
	}
	if ((rc = tc_trials_finish(s->tr, e->id, o, s->err)))
		return rc;
	/* (an interrupted job runs again on resume: what needs it waits) */
	if (st && !e->requeue && e->state != TC_ST_SUCCEEDED &&
	    !(e->state == TC_ST_CANCELLED && req == 2)) {
		char why[200];

		/* a job that will not succeed stops only what needs it */
		snprintf(why, sizeof(why), TC_TRIALS_NOT_RUN "needs %s job %s, "
			 "which %s", st->name, e->id,
			 e->state == TC_ST_CANCELLED ? "was cancelled"
			 : e->state == TC_ST_PRUNED  ? "was pruned"
			 : e->state == TC_ST_TIMED_OUT ? "timed out"
						       : "failed");
		rc = tc_trials_skip_dependants(s->tr, e->id, why, &e->skipped,
					       s->err);
	}
	return rc;
}

void tc_sched_ended(struct tc_sched *s, int from, const struct tc_sched_end *e)
{
	tc_sched_count_move(s, from, e->requeue ? TC_ST_QUEUED : e->state);
	for (int k = 0; k < e->skipped; k++)
		tc_sched_count_move(s, TC_ST_QUEUED, TC_ST_CANCELLED);
	if (e->state == TC_ST_SUCCEEDED)
		tc_metric_best_offer(&s->best, e->id, e->metric, e->has_metric,
				     s->spec->metric.goal);
	if (e->requeue) {
		char more[1200];

		snprintf(more, sizeof(more), "%s; attempt %d in %.1fs",
			 e->reason[0] ? e->reason : tc_state_name(e->state),
			 e->attempt + 1, e->next_at - tc_now());
		tc_sched_line(s, e->id, e->params, e->has_metric, e->metric,
			      "retrying", e->wall, more);
	} else {
		tc_sched_line(s, e->id, e->params, e->has_metric, e->metric,
			      tc_state_name(e->state), e->wall, e->reason);
	}
	if (e->skipped)
		tc_sched_note(s, 0, "%d job%s not run: %s need%s %s, which "
			      "did not succeed", e->skipped,
			      e->skipped == 1 ? "" : "s",
			      e->skipped == 1 ? "it" : "they",
			      e->skipped == 1 ? "s" : "", e->id);
}

/* ---- recovery ---------------------------------------------------------- */

/* The trial's cancel request: 1 cancel, 2 interrupt, 0 none. */
static int cancel_request(struct tc_sched *s, const char *id)
{
	int state, req = 0, base;

	tc_trials_flags(s->tr, id, &state, &req, &base);
	return req;
}

int tc_sched_unstart(struct tc_sched *s, const char *id, int from,
		     const char *params, const char *why)
{
	int cancelled = cancel_request(s, id) == 1, rc;

	if ((rc = tc_trials_unstart(s->tr, id, cancelled,
				    cancelled ? "cancelled" : why, s->err)))
		return rc;
	tc_sched_count_move(s, from, cancelled ? TC_ST_CANCELLED : TC_ST_QUEUED);
	if (cancelled)
		tc_sched_line(s, id, params, 0, 0, "cancelled", 0,
			      "before it started");
	return 0;
}

/* A lost attempt runs again as the next one, or is cancelled. */
static int rerun_lost(struct tc_sched *s, const struct tc_trial_row *row,
		      const char *what)
{
	int cancelled = cancel_request(s, row->id) == 1, rc;
	char why[256];

	if (cancelled)
		snprintf(why, sizeof(why), "%s; cancelled", what);
	else
		snprintf(why, sizeof(why), "%s; rerun as attempt %d", what,
			 row->attempt + 1);
	if ((rc = tc_trials_rerun(s->tr, row->id, cancelled, why, s->err)))
		return rc;
	tc_sched_count_move(s, row->state,
			    cancelled ? TC_ST_CANCELLED : TC_ST_QUEUED);
	return 0;
}

/* The journal's part of one recovered attempt (in a transaction); *state
 * its state after, -1 when the backend has nothing more to do with it. */
static int recover_one(struct tc_sched *s, const struct tc_trial_row *row,
		       const struct tc_probe_result *pr, int *state)
{
	int rc;

	*state = row->state;
	/* metrics are collected afresh from what the attempt wrote */
	if ((rc = tc_trials_metrics_clear(s->tr, row->id, row->attempt, s->err)))
		return rc;
	switch (pr->found) {
	case TC_FOUND_UNSTARTED:
		*state = -1;
		return tc_sched_unstart(s, row->id, row->state, row->params,
					pr->why);
	case TC_FOUND_LOST:
		*state = -1;
		return rerun_lost(s, row, pr->why);
	case TC_FOUND_STARTING:
		return 0; /* the intent stands; the backend starts it again */
	case TC_FOUND_RUNNING:
	case TC_FOUND_ENDED:
		if (row->state == TC_ST_RUNNING)
			return tc_trials_event(s->tr, row->id, "running",
					       "adopted", s->err);
		if ((rc = tc_trials_mark_running(s->tr, row->id,
						 pr->has_proc ? &pr->proc : NULL,
						 0, "adopted", s->err)))
			return rc;
		tc_sched_count_move(s, row->state, TC_ST_RUNNING);
		*state = TC_ST_RUNNING;
		return 0;
	}
	return tc_error_set(s->err, TC_ERR_INTERNAL, "unknown probe result %d",
			    (int)pr->found);
}

int tc_sched_recover(struct tc_sched *s)
{
	const struct tc_sched_ops *ops = s->ops;
	void *b = s->b;
	struct tc_trial_row *rows;
	size_t nrows, i;
	int rc;

	if ((rc = tc_trials_live(s->tr, &rows, &nrows, s->err)))
		return rc;
	for (i = 0; i < nrows && !rc; i++) {
		struct tc_probe_result pr;
		int state;

		memset(&pr, 0, sizeof(pr));
		if ((rc = ops->probe(b, &rows[i], &pr)))
			break;
		if ((rc = tc_journal_begin(s->j, s->err)))
			break;
		if ((rc = recover_one(s, &rows[i], &pr, &state)) ||
		    (rc = tc_journal_commit(s->j, s->err))) {
			tc_journal_rollback(s->j);
			break;
		}
		if (state >= 0)
			rc = ops->adopt(b, &rows[i], state, &pr);
	}
	for (i = 0; i < nrows; i++)
		tc_trial_row_free(&rows[i]);
	free(rows);
	return rc;
}

/* ---- the loop ---------------------------------------------------------- */

/* The backend's transaction, or the journal's own when it has none. */
static int txn_begin(struct tc_sched *s)
{
	return s->ops->begin ? s->ops->begin(s->b)
			     : tc_journal_begin(s->j, s->err);
}

static int txn_commit(struct tc_sched *s)
{
	return s->ops->commit ? s->ops->commit(s->b)
			      : tc_journal_commit(s->j, s->err);
}

static void txn_abort(struct tc_sched *s)
{
	if (s->ops->abort)
		s->ops->abort(s->b);
	else
		tc_journal_rollback(s->j);
}

static int busy(struct tc_sched *s)
{
	return s->ops->busy && s->ops->busy(s->b);
}

/* A stop signal (tc_sched_signals said got): the first interrupts the run,
 * its request committed before any trial is stopped; another one after
 * it kills at once where the backend can. */
static int interrupt(struct tc_sched *s, int got)
{
	const struct tc_sched_ops *ops = s->ops;
	int rc;

	if (got == 1) {
		long long n = s->counts[TC_ST_RUNNING] +
			      s->counts[TC_ST_STARTING];

		tc_sched_note(s, 0, "interrupted: stopping %lld running trial%s%s",
			      n, n == 1 ? "" : "s",
			      ops->kills ? " (interrupt again to kill them at "
					   "once)"
					 : "");
		if ((rc = txn_begin(s)))
			return rc;
		if ((rc = tc_trials_request_interrupt(s->tr, s->err)) ||
		    (rc = txn_commit(s))) {
			txn_abort(s);
			return rc;
		}
		return ops->stop_all(s->b, 0);
	}
	return ops->kills ? ops->stop_all(s->b, 1) : 0;
}

int tc_sched_run(struct tc_sched *s)
{
	const struct tc_sched_ops *ops = s->ops;
	void *b = s->b;
	double collect_every = s->pruner ? ops->collect_prune
					 : ops->collect_every;
	double last_look = tc_mono(), last_collect = last_look;
	int rc, got;

	for (;;) {
		double now = tc_mono(), wait_s = ops->idle;

		if ((got = tc_sched_signals(s)) &&
		    (rc = interrupt(s, got)))
			return rc;
		if ((rc = ops->events(b)))
			return rc;
		if (now - last_look >= ops->look_every) {
			last_look = now;
			tc_sched_external(s);
			if (ops->look && (rc = ops->look(b)))
				return rc;
			tc_sched_recount(s, busy(s));
		}
		if (now - last_collect >= collect_every) {
			last_collect = now;
			if ((rc = ops->collect(b)))
				return rc;
		}
		if (s->nprunes && !busy(s) &&
		    (rc = tc_sched_prune(s, ops->stop, b)))
			return rc;
		if (tc_sched_may_start(s) && (rc = ops->fill(b)))
			return rc;
		if (ops->settle && (rc = ops->settle(b, 0)))
			return rc;
		if (ops->held(b) == 0) {
			double next_at = -1;

			/* the commit may also start a trial whose backoff ran
			 * out just now: then there is something to watch */
			if (ops->settle && (rc = ops->settle(b, 1)))
				return rc;
			if (ops->held(b) > 0)
				continue;
			if (!tc_sched_may_start(s))
				break;
			tc_trials_next_at(s->tr, &next_at);
			if (next_at < 0) {
				/* a cancel not seen yet */
				tc_sched_recount(s, busy(s));
				break; /* nothing queued, nothing running */
			}
			wait_s = next_at - tc_now();
			if (wait_s < 0.001)
				wait_s = 0.001;
			if (wait_s > ops->idle)
				wait_s = ops->idle;
		} else if (collect_every > 0 && collect_every < wait_s) {
			wait_s = collect_every;
		}
		tc_sched_status(s);
		if ((rc = ops->wait(b, wait_s)))
			return rc;
	}
	return 0;
}

int tc_sched_metrics_cut(void *sched, struct tc_rec_metrics *m)
{
	struct tc_sched *s = sched;
	int rc;

	if ((rc = txn_begin(s)) || (rc = tc_rec_metrics_flush(m, s->err)) ||
	    (rc = txn_commit(s))) {
		txn_abort(s);
		return rc;
	}
	return 0;
}
