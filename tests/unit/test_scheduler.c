/*
 * test_scheduler.c — unit tests of the fate of an ended attempt
 * (tc_sched_finish in src/exec/scheduler.c), the one rule both scheduler
 * loops use: a failure requeued with its backoff, not once the run is
 * interrupted; a cancel request turning a non-success into cancelled (any
 * on Kubernetes, only one stopped or unseen locally); an interrupt said
 * as such; a success kept whatever was asked.  And recovery
 * (tc_sched_recover) against an in-process test backend whose probe
 * answers what each test sets: every probe result, with and without a
 * cancel request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "exec/scheduler.h"
#include "plan/plan.h"
#include "spec/spec.h"
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

static const struct tc_recovery_ops tb_ops = {tb_probe, tb_adopt};

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
	assert_int_equal(tc_sched_recover(&f->s, &tb_ops, &tb), 0);
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
	assert_int_equal(tc_sched_recover(&f->s, &tb_ops, &tb), 0);
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
	assert_int_equal(tc_sched_recover(&f->s, &tb_ops, &tb), 0);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
