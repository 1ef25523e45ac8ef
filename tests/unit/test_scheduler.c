/*
 * test_scheduler.c — unit tests of the fate of an ended attempt
 * (tc_sched_finish in src/exec/scheduler.c), the one rule every backend
 * uses: a failure requeued with its backoff, not once the run is
 * interrupted; a cancel request turning a non-success into cancelled (any
 * on Kubernetes, only one stopped or unseen locally); an interrupt said
 * as such; a success kept whatever was asked.  And recovery
 * (tc_sched_recover) against an in-process test backend whose probe
 * answers what each test sets: every probe result, with and without a
 * cancel request.  And the loop itself (tc_sched_run) driving an
 * in-process test backend in milliseconds: parallel and capacity limits,
 * retries with their backoff, fail fast, an interrupt (its request
 * journaled before any trial is stopped), a cancel racing the starts, an
 * outcome arriving during a drain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <sqlite3.h>

#include "exec/scheduler.h"
#include "plan/plan.h"
#include "spec/spec.h"
#include "store/experiment.h"
#include "store/journal.h"
#include "store/trials.h"
#include "util/clock.h"

struct fixture {
	char dir[64];
	struct tc_journal *j;
	struct tc_spec *spec;
	struct tc_run_opts o;
	struct tc_sched s;
	struct tc_error err;
	char id[3][16]; /* the trials, by index */
};

static const char spec_text[] = "version: 1\n"
				"name: sd\n"
				"command: [x, '{{lr}}']\n"
				"parameters:\n"
				"  lr: {values: [0.1, 0.01, 0.001]}\n"
				"run: {retries: 1, backoff: 5}\n";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tc_provenance prov;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_scheduler.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	tc_error_clear(&f->err);
	assert_int_equal(tc_journal_open(f->dir, &f->j, &f->err), 0);
	assert_int_equal(tc_spec_parse("/tmp/sd.yaml", spec_text,
				       strlen(spec_text), &f->spec, &f->err),
			 0);
	memset(&prov, 0, sizeof(prov));
	prov.git_dirty = -1;
	assert_int_equal(tc_plan_create(f->j, f->spec, "local", NULL,
					"/tmp/sd.yaml", 0, &prov, &f->err),
			 0);
	f->o.progress = -1;
	f->o.max_failures = -1;
	f->o.gpus = -1;
	assert_int_equal(tc_sched_begin(&f->s, f->j, "sd", f->spec, &f->o, NULL,
					NULL, NULL, &f->err),
			 0);
	assert_int_equal(f->s.counts[TC_ST_QUEUED], 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tc_trials_find_idx(f->s.tr, i, f->id[i], &f->err),
				 0);
		assert_int_equal(tc_trials_mark_starting(f->s.tr, f->id[i], 1,
							 NULL, NULL, &f->err),
				 0);
		tc_sched_count_move(&f->s, TC_ST_QUEUED, TC_ST_STARTING);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct tc_run_summary sum;
	char cmd[128];

	tc_sched_close(&f->s, 1, &sum);
	tc_journal_close(f->j);
	tc_spec_free(f->spec);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Attempt 1 of trial i ended in `state`; its fate, committed and counted. */
static void end(struct fixture *f, int i, int state, const char *why,
		int cancel_wins, int unseen, struct tc_sched_end *e, char *reason)
{
	snprintf(reason, 256, "%s", why);
	*e = (struct tc_sched_end){
		.id = f->id[i], .attempt = 1, .state = state, .reason = reason,
		.reason_len = 256, .cancel_wins = cancel_wins, .unseen = unseen,
	};
	assert_int_equal(tc_journal_begin(f->j, &f->err), 0);
	assert_int_equal(tc_sched_finish(&f->s, e, &(struct tc_trial_outcome){
						       .has_exit = 1,
						       .exit_code = 1,
						       .ended_at = tc_now(),
					       }),
			 0);
	assert_int_equal(tc_journal_commit(f->j, &f->err), 0);
	tc_sched_ended(&f->s, TC_ST_STARTING, e);
}

static int journal_state(struct fixture *f, int i)
{
	int st, req, base;

	assert_int_equal(tc_trials_flags(f->s.tr, f->id[i], &st, &req, &base), 1);
	return st;
}

static void test_retry(void **state)
{
	struct fixture *f = *state;
	struct tc_sched_end e;
	char reason[256];
	double now = tc_now();

	end(f, 0, TC_ST_FAILED, "exit code 1", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_FAILED);
	assert_true(e.requeue);
	assert_true(e.next_at > now + 4 && e.next_at < now + 10);
	assert_string_equal(reason, "exit code 1");
	assert_int_equal(journal_state(f, 0), TC_ST_QUEUED);
	assert_int_equal(f->s.counts[TC_ST_QUEUED], 1);
	/* a time-out too; none once the run is interrupted */
	end(f, 1, TC_ST_TIMED_OUT, "timed out after 1s", 0, 0, &e, reason);
	assert_true(e.requeue);
	f->s.stopping = 2;
	end(f, 2, TC_ST_FAILED, "exit code 1", 0, 0, &e, reason);
	assert_false(e.requeue);
	assert_int_equal(journal_state(f, 2), TC_ST_FAILED);
	assert_int_equal(f->s.counts[TC_ST_FAILED], 1);
	assert_int_equal(f->s.counts[TC_ST_STARTING], 0);
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	struct tc_sched_end e;
	char reason[256];
	int queued, requested;

	assert_int_equal(tc_trials_request_cancel(f->s.tr, &queued, &requested,
						  &f->err),
			 0);
	assert_int_equal(requested, 3);
	/* locally: one that failed on its own keeps its failure, unretried */
	end(f, 0, TC_ST_FAILED, "exit code 1", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_FAILED);
	assert_false(e.requeue);
	assert_string_equal(reason, "exit code 1");
	/* on Kubernetes it is cancelled */
	end(f, 1, TC_ST_FAILED, "pod failed", 1, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_CANCELLED);
	assert_string_equal(reason, "cancelled");
	/* a success stays one */
	end(f, 2, TC_ST_SUCCEEDED, "", 1, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_SUCCEEDED);
	assert_int_equal(f->s.counts[TC_ST_CANCELLED], 1);
	assert_int_equal(f->s.counts[TC_ST_SUCCEEDED], 1);
}

static void test_interrupt(void **state)
{
	struct fixture *f = *state;
	struct tc_sched_end e;
	char reason[256];

	assert_int_equal(tc_trials_request_interrupt(f->s.tr, &f->err), 0);
	/* stopped by its supervisor on the request */
	end(f, 0, TC_ST_CANCELLED, "cancelled", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_CANCELLED);
	assert_string_equal(reason, "interrupted");
	/* its end unseen: its supervisor died */
	end(f, 1, TC_ST_FAILED, "its supervisor died", 0, 1, &e, reason);
	assert_int_equal(e.state, TC_ST_CANCELLED);
	assert_string_equal(reason, "interrupted");
	assert_int_equal(journal_state(f, 1), TC_ST_CANCELLED);
	/* failed on its own first (locally): a failure, not retried */
	end(f, 2, TC_ST_FAILED, "exit code 1", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_FAILED);
	assert_false(e.requeue);
}

static void test_prune(void **state)
{
	struct fixture *f = *state;
	struct tc_sched_end e;
	char reason[256];
	int asked = -1;

	assert_int_equal(tc_trials_request_prune(f->s.tr, f->id[0],
						 "pruned at step 3: loss 2",
						 &asked, &f->err),
			 0);
	assert_int_equal(asked, 1);
	assert_int_equal(tc_trials_request_prune(f->s.tr, f->id[1], "pruned x",
						 &asked, &f->err),
			 0);
	/* an interrupt does not override a prune asked first */
	assert_int_equal(tc_trials_request_interrupt(f->s.tr, &f->err), 0);
	/* stopped on the request: pruned, with the request's reason, and
	 * never retried */
	end(f, 0, TC_ST_CANCELLED, "cancelled", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_PRUNED);
	assert_false(e.requeue);
	assert_string_equal(reason, "pruned at step 3: loss 2");
	assert_int_equal(journal_state(f, 0), TC_ST_PRUNED);
	/* one that succeeded before the stop landed stays a success */
	end(f, 1, TC_ST_SUCCEEDED, "", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_SUCCEEDED);
	/* a trial already asked to stop is not asked again */
	assert_int_equal(tc_trials_request_prune(f->s.tr, f->id[2], "pruned y",
						 &asked, &f->err),
			 0);
	assert_int_equal(asked, 0);
	end(f, 2, TC_ST_CANCELLED, "cancelled", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_CANCELLED);
	assert_string_equal(reason, "interrupted");
	assert_int_equal(f->s.counts[TC_ST_PRUNED], 1);
}

/* ---- recovery against a test backend ----------------------------------- */

struct testbe {
	struct tc_probe_result pr[3]; /* by trial index */
	int probed[3], adopted[3], adopted_state[3];
	char adopted_params[3][64];
};

static int tb_probe(void *b, const struct tc_trial_row *row,
		    struct tc_probe_result *pr)
{
	struct testbe *tb = b;

	tb->probed[row->idx]++;
	*pr = tb->pr[row->idx];
	return 0;
}

static int tb_adopt(void *b, struct tc_trial_row *row, int state,
		    const struct tc_probe_result *pr)
{
	struct testbe *tb = b;

	(void)pr;
	tb->adopted[row->idx]++;
	tb->adopted_state[row->idx] = state;
	snprintf(tb->adopted_params[row->idx], 64, "%s",
		 row->params ? row->params : "");
	return 0;
}

static const struct tc_sched_ops tb_ops = {.probe = tb_probe,
					   .adopt = tb_adopt};

/* Recovery with the test backend tb. */
static int recover(struct fixture *f, struct testbe *tb)
{
	f->s.ops = &tb_ops;
	f->s.b = tb;
	return tc_sched_recover(&f->s);
}

static struct tc_trial_row row_of(struct fixture *f, int i)
{
	struct tc_trial_row r;

	assert_int_equal(tc_trials_get(f->s.tr, f->id[i], &r, &f->err), 1);
	return r;
}

/* The last event's detail of trial i. */
static char *last_detail(struct fixture *f, int i)
{
	char q[256], *out = NULL;
	sqlite3_stmt *st;

	snprintf(q, sizeof(q),
		 "select detail from events where trial='%s' order by seq desc "
		 "limit 1",
		 f->id[i]);
	assert_int_equal(sqlite3_prepare_v2(f->j->db, q, -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

static void test_recover(void **state)
{
	struct fixture *f = *state;
	struct testbe tb;
	struct tc_trial_row r;
	char *d;

	/* trial 1 was running; 0 and 2 starting */
	assert_int_equal(tc_trials_mark_running(f->s.tr, f->id[1], NULL, 0,
						NULL, &f->err),
			 0);
	tc_sched_count_move(&f->s, TC_ST_STARTING, TC_ST_RUNNING);
	memset(&tb, 0, sizeof(tb));
	tb.pr[0].found = TC_FOUND_UNSTARTED;
	snprintf(tb.pr[0].why, sizeof(tb.pr[0].why), "never began");
	tb.pr[1].found = TC_FOUND_LOST;
	snprintf(tb.pr[1].why, sizeof(tb.pr[1].why), "its host is gone");
	tb.pr[2].found = TC_FOUND_RUNNING;
	tb.pr[2].has_proc = 1;
	tb.pr[2].proc = (struct tc_trial_proc){4242, 7, 4243};
	assert_int_equal(recover(f, &tb), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tb.probed[i], 1);
	/* unstarted: queued, the attempt not spent */
	assert_int_equal(tb.adopted[0], 0);
	r = row_of(f, 0);
	assert_int_equal(r.state, TC_ST_QUEUED);
	assert_int_equal(r.attempt, 0);
	tc_trial_row_free(&r);
	assert_non_null(d = last_detail(f, 0));
	assert_string_equal(d, "never began");
	free(d);
	/* lost: queued as the next attempt */
	assert_int_equal(tb.adopted[1], 0);
	r = row_of(f, 1);
	assert_int_equal(r.state, TC_ST_QUEUED);
	assert_int_equal(r.attempt, 1);
	tc_trial_row_free(&r);
	assert_non_null(d = last_detail(f, 1));
	assert_string_equal(d, "its host is gone; rerun as attempt 2");
	free(d);
	/* running, was starting: marked running where the probe found it,
	 * then adopted with its parameters */
	assert_int_equal(tb.adopted[2], 1);
	assert_int_equal(tb.adopted_state[2], TC_ST_RUNNING);
	assert_string_equal(tb.adopted_params[2], "{\"lr\":0.001}");
	r = row_of(f, 2);
	assert_int_equal(r.state, TC_ST_RUNNING);
	assert_int_equal(r.sup_pid, 4242);
	assert_int_equal(r.pgid, 4243);
	tc_trial_row_free(&r);
	assert_non_null(d = last_detail(f, 2));
	assert_string_equal(d, "adopted");
	free(d);
	assert_int_equal(f->s.counts[TC_ST_QUEUED], 2);
	assert_int_equal(f->s.counts[TC_ST_RUNNING], 1);
	assert_int_equal(f->s.counts[TC_ST_STARTING], 0);
}

static void test_recover_ended(void **state)
{
	struct fixture *f = *state;
	struct testbe tb;
	struct tc_trial_row r;

	assert_int_equal(tc_trials_mark_running(f->s.tr, f->id[1], NULL, 0,
						NULL, &f->err),
			 0);
	tc_sched_count_move(&f->s, TC_ST_STARTING, TC_ST_RUNNING);
	/* metrics of the recovered attempt are collected afresh */
	assert_int_equal(tc_trials_metric_add(f->s.tr, f->id[1], 1, "acc", 1,
					      0.5, tc_now(), &f->err),
			 0);
	memset(&tb, 0, sizeof(tb));
	tb.pr[0].found = TC_FOUND_STARTING;
	tb.pr[1].found = TC_FOUND_ENDED;
	tb.pr[2].found = TC_FOUND_RUNNING; /* no proc known: a cluster's */
	assert_int_equal(recover(f, &tb), 0);
	/* starting again: the journal keeps the intent; the backend starts */
	assert_int_equal(tb.adopted[0], 1);
	assert_int_equal(tb.adopted_state[0], TC_ST_STARTING);
	assert_int_equal(journal_state(f, 0), TC_ST_STARTING);
	/* ended: adopted as running, the backend records its end */
	assert_int_equal(tb.adopted[1], 1);
	assert_int_equal(tb.adopted_state[1], TC_ST_RUNNING);
	{
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_prepare_v2(
					 f->j->db,
					 "select count(*) from metrics", -1,
					 &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 0);
		sqlite3_finalize(st);
	}
	assert_int_equal(tb.adopted_state[2], TC_ST_RUNNING);
	r = row_of(f, 2);
	assert_int_equal(r.sup_pid, 0);
	tc_trial_row_free(&r);
	assert_int_equal(f->s.counts[TC_ST_STARTING], 1);
	assert_int_equal(f->s.counts[TC_ST_RUNNING], 2);
}

static void test_recover_cancelled(void **state)
{
	struct fixture *f = *state;
	struct testbe tb;
	int queued, requested;
	char *d;

	assert_int_equal(tc_trials_request_cancel(f->s.tr, &queued, &requested,
						  &f->err),
			 0);
	memset(&tb, 0, sizeof(tb));
	tb.pr[0].found = TC_FOUND_UNSTARTED;
	tb.pr[1].found = TC_FOUND_LOST;
	snprintf(tb.pr[1].why, sizeof(tb.pr[1].why), "supervisor lost");
	tb.pr[2].found = TC_FOUND_RUNNING;
	assert_int_equal(recover(f, &tb), 0);
	/* a cancel asked meanwhile: neither runs again */
	assert_int_equal(journal_state(f, 0), TC_ST_CANCELLED);
	assert_int_equal(journal_state(f, 1), TC_ST_CANCELLED);
	assert_non_null(d = last_detail(f, 1));
	assert_string_equal(d, "supervisor lost; cancelled");
	free(d);
	/* one that runs is adopted: the loop stops it as asked */
	assert_int_equal(tb.adopted[2], 1);
	assert_int_equal(f->s.counts[TC_ST_CANCELLED], 2);
}

/* ---- the loop (tc_sched_run) against an in-process test backend --------- */

/* The test backend: a trial started by fill runs until the next call of
 * events, where it ends as its script says (attempts up to fail[idx]
 * fail, later ones succeed; one asked to stop ends cancelled).  Its wait
 * returns at once: a run takes milliseconds whatever the timeouts. */
struct simt {
	char id[16];
	int attempt;
	long long idx;
	int cancel; /* a stop it was sent: 1 cancel, 2 interrupt, 3 prune */
	int left;   /* turns it still runs unless stopped */
};

struct sim {
	struct tc_sched *s;
	struct tc_journal *j;
	struct tc_error *err;
	int cap;          /* trials at a time (the backend's capacity) */
	struct simt t[16];
	int nt, max_live, starts, fills, waits;
	int fail[8];      /* attempts of trial idx that fail */
	int start_idx[32]; /* the order trials started in */
	int interrupt_at; /* send SIGINT once this many trials started */
	int cancel_at;    /* another process cancels the experiment then */
	int req_at_stop[16]; /* the journal's cancel_req when stop_all ran */
	int nstop_all;
	int hard;         /* stop_all was asked to kill at once */
	int turns;        /* turns a trial runs (0: it ends at the next) */
	int slow_stop;    /* a graceful stop ends nothing: it runs on */
	int resignal;     /* a second SIGINT with the first stop_all */
};

static int sim_events(void *b)
{
	struct sim *m = b;

	int w = 0;

	for (int i = 0; i < m->nt; i++) {
		struct simt *t = &m->t[i];
		char reason[256] = "";
		struct tc_sched_end e = {
			.id = t->id, .attempt = t->attempt, .params = "{}",
			.reason = reason, .reason_len = sizeof(reason),
			.cancel = t->cancel, .cancel_wins = 1,
		};
		int rc;

		if ((!t->cancel || (m->slow_stop && !m->hard)) &&
		    t->left-- > 0) {
			m->t[w++] = *t; /* still runs */
			continue;
		}
		if (t->cancel)
			e.state = TC_ST_CANCELLED;
		else if (t->attempt <= m->fail[t->idx])
			e.state = TC_ST_FAILED;
		else
			e.state = TC_ST_SUCCEEDED;
		if ((rc = tc_journal_begin(m->j, m->err)) ||
		    (rc = tc_sched_finish(m->s, &e,
					  &(struct tc_trial_outcome){
						  .has_exit = 1,
						  .exit_code = e.state ==
							  TC_ST_SUCCEEDED ? 0 : 1,
						  .ended_at = tc_now(),
					  })) ||
		    (rc = tc_journal_commit(m->j, m->err)))
			return rc;
		tc_sched_ended(m->s, TC_ST_RUNNING, &e);
	}
	m->nt = w;
	return 0;
}

static int sim_look(void *b)
{
	struct sim *m = b;

	/* the experiment cancelled: what runs is stopped */
	for (int i = 0; i < m->nt && m->s->stopping == 1; i++)
		m->t[i].cancel = 1;
	return 0;
}

static int sim_collect(void *b)
{
	(void)b;
	return 0;
}

static int sim_fill(void *b)
{
	struct sim *m = b;

	m->fills++;
	/* its capacity, and run.parallel, as every backend's fill */
	while (m->nt < m->cap && m->nt < m->s->parallel) {
		struct tc_trial_row row;
		struct simt *t = &m->t[m->nt];
		int rc = tc_sched_next(m->s, tc_now(), &row);

		if (rc <= 0)
			return rc;
		snprintf(t->id, sizeof(t->id), "%s", row.id);
		t->attempt = row.attempt + 1;
		t->idx = row.idx;
		t->cancel = 0;
		t->left = m->turns;
		tc_trial_row_free(&row);
		if ((rc = tc_journal_begin(m->j, m->err)) ||
		    (rc = tc_trials_mark_starting(m->s->tr, t->id, t->attempt,
						  NULL, NULL, m->err)) ||
		    (rc = tc_trials_mark_running(m->s->tr, t->id, NULL, 0,
						 NULL, m->err)) ||
		    (rc = tc_journal_commit(m->j, m->err)))
			return rc;
		tc_sched_count_move(m->s, TC_ST_QUEUED, TC_ST_RUNNING);
		m->start_idx[m->starts++] = (int)t->idx;
		if (++m->nt > m->max_live)
			m->max_live = m->nt;
		if (m->starts == m->interrupt_at)
			kill(getpid(), SIGINT); /* read on the run's signalfd */
		if (m->starts == m->cancel_at) {
			/* as `cancel NAME` from another process would */
			int rc2 = tc_experiment_set_state(m->j, "lp",
							  "cancelled", m->err);

			if (rc2)
				return rc2;
		}
	}
	return 0;
}

static size_t sim_held(void *b)
{
	return (size_t)((struct sim *)b)->nt;
}

static void sim_stop(void *b, const char *id)
{
	struct sim *m = b;

	for (int i = 0; i < m->nt; i++)
		if (!strcmp(m->t[i].id, id))
			m->t[i].cancel = 3;
}

static int sim_stop_all(void *b, int hard)
{
	struct sim *m = b;

	m->hard |= hard;
	for (int i = 0; i < m->nt && !hard; i++) {
		int st, base;

		/* the intent is durable before anything is stopped */
		assert_int_equal(tc_trials_flags(m->s->tr, m->t[i].id, &st,
						 &m->req_at_stop[m->nstop_all],
						 &base),
				 1);
		m->nstop_all++;
		m->t[i].cancel = 2;
	}
	if (m->resignal && !hard)
		kill(getpid(), SIGINT);
	return 0;
}

static int sim_wait(void *b, double seconds)
{
	(void)seconds;
	((struct sim *)b)->waits++;
	return 0;
}

static const struct tc_sched_ops sim_ops = {
	.look_every = 0,
	.collect_every = 0,
	.collect_prune = 0,
	.idle = 0.01,
	.kills = 1,
	.events = sim_events,
	.look = sim_look,
	.collect = sim_collect,
	.fill = sim_fill,
	.held = sim_held,
	.stop = sim_stop,
	.stop_all = sim_stop_all,
	.wait = sim_wait,
};

struct loop_fixture {
	char dir[64];
	struct tc_journal *j;
	struct tc_spec *spec;
	struct tc_run_opts o;
	struct tc_sched s;
	struct tc_error err;
	struct sim m;
	struct tc_run_summary sum;
};

/* Experiment "lp" of n trials (values 0..n-1) with run: `run`, its loop
 * begun; o tuned by the caller through *o before (NULL: defaults). */
static struct loop_fixture *loop_new(int n, const char *run,
				     const struct tc_run_opts *o)
{
	struct loop_fixture *f = calloc(1, sizeof(*f));
	struct tc_provenance prov;
	char text[512];
	int len;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_sched_loop.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	tc_error_clear(&f->err);
	assert_int_equal(tc_journal_open(f->dir, &f->j, &f->err), 0);
	len = snprintf(text, sizeof(text),
		       "version: 1\nname: lp\ncommand: [x, '{{i}}']\n"
		       "parameters:\n  i: {values: [");
	for (int i = 0; i < n; i++)
		len += snprintf(text + len, sizeof(text) - (size_t)len, "%s%d",
				i ? ", " : "", i);
	snprintf(text + len, sizeof(text) - (size_t)len, "]}\nrun: %s\n", run);
	assert_int_equal(tc_spec_parse("/tmp/lp.yaml", text, strlen(text),
				       &f->spec, &f->err),
			 0);
	memset(&prov, 0, sizeof(prov));
	prov.git_dirty = -1;
	assert_int_equal(tc_plan_create(f->j, f->spec, "local", NULL,
					"/tmp/lp.yaml", 0, &prov, &f->err),
			 0);
	if (o) {
		f->o = *o;
	} else {
		f->o.max_failures = -1;
	}
	f->o.progress = -1;
	f->o.gpus = -1;
	assert_int_equal(tc_sched_begin(&f->s, f->j, "lp", f->spec, &f->o,
					NULL, &sim_ops, &f->m, &f->err),
			 0);
	f->m.s = &f->s;
	f->m.j = f->j;
	f->m.err = &f->err;
	f->m.cap = f->s.parallel;
	return f;
}

/* Run the loop to its end; its return code. */
static int loop_run(struct loop_fixture *f)
{
	int rc = tc_sched_run(&f->s);

	tc_sched_end(&f->s, rc);
	return rc;
}

static void loop_free(struct loop_fixture *f)
{
	char cmd[128];

	tc_sched_close(&f->s, 0, &f->sum);
	tc_journal_close(f->j);
	tc_spec_free(f->spec);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

static int idx_state(struct loop_fixture *f, int i, int *attempt, int *req)
{
	char id[16];
	struct tc_trial_row row;
	int st, base, r;

	assert_int_equal(tc_trials_find_idx(f->s.tr, i, id, &f->err), 0);
	assert_int_equal(tc_trials_flags(f->s.tr, id, &st, &r, &base), 1);
	memset(&row, 0, sizeof(row));
	assert_int_equal(tc_trials_get(f->s.tr, id, &row, &f->err), 1);
	*attempt = row.attempt;
	tc_trial_row_free(&row);
	if (req)
		*req = r;
	return st;
}

/* Every trial runs once, in index order, as slots free: never more at a
 * time than run.parallel or the backend's capacity allow (the backend's
 * fill applies both). */
static void test_loop_parallel(void **state)
{
	struct loop_fixture *f = loop_new(7, "{parallel: 3}", NULL);
	int a;

	(void)state;
	f->m.cap = 16; /* the backend has room; parallel is the limit */
	assert_int_equal(f->s.parallel, 3);
	assert_int_equal(loop_run(f), 0);
	/* the loop asks for more as slots free, never leaving one queued */
	assert_int_equal(f->m.max_live, 3);
	assert_int_equal(f->m.starts, 7);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(f->m.start_idx[i], i);
		assert_int_equal(idx_state(f, i, &a, NULL), TC_ST_SUCCEEDED);
		assert_int_equal(a, 1);
	}
	assert_int_equal(f->s.counts[TC_ST_SUCCEEDED], 7);
	loop_free(f);

	f = loop_new(7, "{parallel: 3}", NULL);
	f->m.cap = 2; /* a backend with less room than parallel */
	assert_int_equal(loop_run(f), 0);
	assert_int_equal(f->m.max_live, 2);
	assert_int_equal(f->s.counts[TC_ST_SUCCEEDED], 7);
	loop_free(f);
}

/* A failure is retried after its backoff (the loop waits for it rather
 * than ending the run) until the retries are spent. */
static void test_loop_retry(void **state)
{
	struct loop_fixture *f =
		loop_new(3, "{parallel: 2, retries: 2, backoff: 0.01}", NULL);
	int a;

	(void)state;
	f->m.fail[1] = 1; /* fails once, then succeeds */
	f->m.fail[2] = 9; /* always fails */
	assert_int_equal(loop_run(f), 0);
	assert_int_equal(idx_state(f, 0, &a, NULL), TC_ST_SUCCEEDED);
	assert_int_equal(a, 1);
	assert_int_equal(idx_state(f, 1, &a, NULL), TC_ST_SUCCEEDED);
	assert_int_equal(a, 2);
	assert_int_equal(idx_state(f, 2, &a, NULL), TC_ST_FAILED);
	assert_int_equal(a, 3); /* 1 + retries */
	assert_int_equal(f->m.starts, 1 + 2 + 3);
	assert_true(f->m.waits > 0); /* it waited for the backoffs */
	loop_free(f);
}

/* Fail fast: after max_failures failures and no success nothing new
 * starts; what was started ends; the rest stays queued. */
static void test_loop_failfast(void **state)
{
	struct tc_run_opts o = {.max_failures = 2};
	struct loop_fixture *f = loop_new(6, "{parallel: 1}", &o);
	int a;

	(void)state;
	for (int i = 0; i < 6; i++)
		f->m.fail[i] = 9;
	assert_int_equal(loop_run(f), 0);
	assert_int_equal(f->m.starts, 2);
	assert_int_equal(f->s.stopping, 3);
	assert_int_equal(idx_state(f, 2, &a, NULL), TC_ST_QUEUED);
	assert_int_equal(f->s.counts[TC_ST_FAILED], 2);
	assert_int_equal(f->s.counts[TC_ST_QUEUED], 4);
	loop_free(f);
}

/* An interrupt: its request is in the journal before any trial is
 * stopped; the stopped trials end interrupted, never retried; nothing
 * else starts; a second interrupt kills at once. */
static void test_loop_interrupt(void **state)
{
	struct loop_fixture *f =
		loop_new(6, "{parallel: 2, retries: 3, backoff: 0.01}", NULL);
	int a, req;
	struct tc_exp_info exp;

	(void)state;
	f->m.interrupt_at = 2;
	assert_int_equal(loop_run(f), 0);
	assert_int_equal(f->s.stopping, 2);
	assert_int_equal(f->m.starts, 2);
	assert_int_equal(f->m.nstop_all, 2);
	assert_int_equal(f->m.req_at_stop[0], 2);
	assert_int_equal(f->m.req_at_stop[1], 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(idx_state(f, i, &a, &req), TC_ST_CANCELLED);
		assert_int_equal(a, 1);
	}
	assert_int_equal(idx_state(f, 2, &a, NULL), TC_ST_QUEUED);
	memset(&exp, 0, sizeof(exp));
	assert_int_equal(tc_experiment_load(f->j, "lp", &exp, &f->err), 0);
	assert_string_equal(exp.state, "interrupted");
	tc_exp_info_free(&exp);
	loop_free(f);
}

/* A second interrupt while the stopped trials still run: the backend is
 * asked to kill them at once, and the request is not journaled again. */
static void test_loop_interrupt_twice(void **state)
{
	struct loop_fixture *f = loop_new(4, "{parallel: 2}", NULL);
	int a;

	(void)state;
	f->m.turns = 1000;    /* they would run on ... */
	f->m.slow_stop = 1;   /* ... and a graceful stop does not end them */
	f->m.resignal = 1;
	f->m.interrupt_at = 2;
	assert_int_equal(loop_run(f), 0);
	assert_int_equal(f->m.hard, 1);
	assert_int_equal(f->m.nstop_all, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(idx_state(f, i, &a, NULL), TC_ST_CANCELLED);
		assert_int_equal(a, 1);
	}
	assert_int_equal(f->m.starts, 2);
	loop_free(f);
}

/* Another process cancels the experiment while trials start: the loop
 * stops what runs and starts nothing more, whatever is queued; a trial
 * that ended on its own before the cancel was seen keeps its outcome. */
static void test_loop_cancel_races_start(void **state)
{
	struct loop_fixture *f =
		loop_new(6, "{parallel: 2, retries: 2, backoff: 0.01}", NULL);
	int a;

	(void)state;
	f->m.turns = 3;
	f->m.cancel_at = 1; /* cancelled as the first trial starts */
	assert_int_equal(loop_run(f), 0);
	assert_int_equal(f->s.stopping, 1);
	/* the second slot was filled in the same turn; nothing after */
	assert_int_equal(f->m.starts, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(idx_state(f, i, &a, NULL), TC_ST_CANCELLED);
		assert_int_equal(a, 1);
	}
	/* the cancel verb itself cancels what is queued */
	assert_int_equal(idx_state(f, 5, &a, NULL), TC_ST_QUEUED);
	assert_int_equal(a, 0);
	loop_free(f);

	f = loop_new(6, "{parallel: 2, retries: 2, backoff: 0.01}", NULL);
	f->m.fail[1] = 9;
	f->m.cancel_at = 1;
	assert_int_equal(loop_run(f), 0);
	assert_int_equal(f->m.starts, 2);
	assert_int_equal(idx_state(f, 0, &a, NULL), TC_ST_SUCCEEDED);
	/* requeued by the one rule before the cancel was seen, and not
	 * started again */
	assert_int_equal(idx_state(f, 1, &a, NULL), TC_ST_QUEUED);
	assert_int_equal(a, 1);
	loop_free(f);
}

/* A drain run starts nothing; an outcome arriving meanwhile is recorded,
 * a failure still requeued by the one rule; then the loop returns. */
static void test_loop_drain(void **state)
{
	struct tc_run_opts o = {.max_failures = -1, .drain = 1};
	struct loop_fixture *f =
		loop_new(3, "{parallel: 2, retries: 1, backoff: 0.01}", &o);
	struct simt *t = &f->m.t[0];
	int a;

	(void)state;
	/* two trials a previous run started, now this backend's */
	for (int i = 0; i < 2; i++, t++) {
		assert_int_equal(tc_trials_find_idx(f->s.tr, i, t->id, &f->err),
				 0);
		t->attempt = 1;
		t->idx = i;
		assert_int_equal(tc_trials_mark_starting(f->s.tr, t->id, 1, NULL,
							 NULL, &f->err),
				 0);
		assert_int_equal(tc_trials_mark_running(f->s.tr, t->id, NULL, 0,
							NULL, &f->err),
				 0);
		tc_sched_count_move(&f->s, TC_ST_QUEUED, TC_ST_RUNNING);
	}
	f->m.nt = 2;
	f->m.fail[1] = 1;
	assert_int_equal(loop_run(f), 0);
	assert_int_equal(f->m.fills, 0);
	assert_int_equal(f->m.starts, 0);
	assert_int_equal(idx_state(f, 0, &a, NULL), TC_ST_SUCCEEDED);
	assert_int_equal(idx_state(f, 1, &a, NULL), TC_ST_QUEUED); /* retry */
	assert_int_equal(idx_state(f, 2, &a, NULL), TC_ST_QUEUED);
	loop_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_ended, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recover_cancelled, setup,
						teardown),
		cmocka_unit_test(test_loop_parallel),
		cmocka_unit_test(test_loop_retry),
		cmocka_unit_test(test_loop_failfast),
		cmocka_unit_test(test_loop_interrupt),
		cmocka_unit_test(test_loop_interrupt_twice),
		cmocka_unit_test(test_loop_cancel_races_start),
		cmocka_unit_test(test_loop_drain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
