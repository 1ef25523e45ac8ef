/*
 * test_trials.c — unit tests of the trial state machine in the journal
 * (src/store/trials.c): each transition's columns and events, the start
 * intent resetting what the previous attempt left, a retry requeued with
 * its delay, an unstarted attempt given back, cancel requests on picked
 * trials, the retry verb, and best so far ranked by the metrics module's
 * rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "plan/plan.h"
#include "spec/spec.h"
#include "store/journal.h"
#include "store/trials.h"

struct fixture {
	char dir[64];
	struct tc_journal *j;
	struct tc_trials *t;
	struct tc_error err;
	char id[3][16]; /* the trials, by index */
};

static const char spec_text[] = "version: 1\n"
				"name: sm\n"
				"command: [x, '{{lr}}']\n"
				"parameters:\n"
				"  lr: {values: [0.1, 0.01, 0.001]}\n";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tc_spec *spec = NULL;
	struct tc_provenance prov;
	struct tc_trial_row r;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_trials.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	tc_error_clear(&f->err);
	assert_int_equal(tc_journal_open(f->dir, &f->j, &f->err), 0);
	assert_int_equal(tc_spec_parse("/tmp/sm.yaml", spec_text,
				       strlen(spec_text), &spec, &f->err),
			 0);
	memset(&prov, 0, sizeof(prov));
	prov.git_dirty = -1;
	assert_int_equal(tc_plan_create(f->j, spec, "local", NULL, "/tmp/sm.yaml", 0, &prov,
					&f->err),
			 0);
	tc_spec_free(spec);
	assert_non_null(f->t = tc_trials_open(f->j, "sm", &f->err));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tc_trials_find_idx(f->t, i, f->id[i], &f->err), 0);
		assert_int_equal(strlen(f->id[i]), 12);
	}
	assert_int_equal(tc_trials_get(f->t, f->id[0], &r, &f->err), 1);
	assert_int_equal(r.state, TC_ST_QUEUED);
	assert_string_equal(r.command, "[\"x\",\"0.1\"]");
	tc_trial_row_free(&r);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	tc_trials_close(f->t);
	tc_journal_close(f->j);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* One value of a trial's row (SQL expression over its columns), as text. */
static void column(struct fixture *f, const char *id, const char *expr,
		   char *buf, size_t len)
{
	char sql[256];
	sqlite3_stmt *st;

	snprintf(sql, sizeof(sql),
		 "SELECT quote(%s) FROM trials WHERE exp = 'sm' AND id = ?1", expr);
	assert_non_null(st = tc_journal_prepare(f->j, sql, &f->err));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

#define assert_column(f, id, expr, want)                  \
	do {                                              \
		char got_[256];                           \
		column(f, id, expr, got_, sizeof(got_)); \
		assert_string_equal(got_, want);          \
	} while (0)

/* The trial's events, "state:detail;..." in order. */
static void events(struct fixture *f, const char *id, char *buf, size_t len)
{
	sqlite3_stmt *st = tc_journal_prepare(
		f->j,
		"SELECT state, coalesce(detail, '') FROM events WHERE exp = 'sm' "
		"AND trial = ?1 ORDER BY seq",
		&f->err);
	size_t n = 0;

	assert_non_null(st);
	buf[0] = '\0';
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%s:%s;",
				      sqlite3_column_text(st, 0),
				      sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
}

static void start(struct fixture *f, const char *id, int attempt)
{
	struct tc_trial_proc proc = {4242, 99, 4343};

	assert_int_equal(tc_trials_mark_starting(f->t, id, attempt, "0", NULL,
						 &f->err),
			 0);
	assert_int_equal(tc_trials_mark_running(f->t, id, &proc, 0, NULL, &f->err),
			 0);
}

static void test_next_and_start(void **state)
{
	struct fixture *f = *state;
	struct tc_trial_row r;
	long long c[TC_ST_COUNT], total;
	char ev[512];

	assert_int_equal(tc_trials_next_queued(f->t, 1e18, &r, &f->err), 1);
	assert_string_equal(r.id, f->id[0]); /* by index */
	assert_int_equal(r.attempt, 0);
	tc_trial_row_free(&r);
	start(f, f->id[0], 1);
	assert_column(f, f->id[0], "state", "'running'");
	assert_column(f, f->id[0], "attempt || '/' || sup_pid || '/' || pgid || '/' || gpus",
		      "'1/4242/4343/0'");
	events(f, f->id[0], ev, sizeof(ev));
	assert_string_equal(ev, "starting:;running:;");
	/* started trials are no longer next */
	assert_int_equal(tc_trials_next_queued(f->t, 1e18, &r, &f->err), 1);
	assert_string_equal(r.id, f->id[1]);
	tc_trial_row_free(&r);
	assert_int_equal(tc_trials_counts(f->t, c, &total, &f->err), 0);
	assert_int_equal(total, 3);
	assert_int_equal(c[TC_ST_QUEUED], 2);
	assert_int_equal(c[TC_ST_RUNNING], 1);
}

static void test_retry_then_start_resets(void **state)
{
	struct fixture *f = *state;
	struct tc_trial_outcome o = {
		.state = TC_ST_FAILED, .reason = "exit code 3", .has_exit = 1,
		.exit_code = 3, .ended_at = 100, .wall = 2, .has_usage = 1,
		.utime = 1, .stime = 0.5, .maxrss_kb = 10, .next_at = 1e12,
	};
	struct tc_trial_row r;
	char ev[512];

	start(f, f->id[0], 1);
	assert_int_equal(tc_trials_finish(f->t, f->id[0], &o, &f->err), 0);
	/* requeued, not before next_at; the attempt's outcome kept */
	assert_column(f, f->id[0], "state || '/' || exit_code || '/' || reason",
		      "'queued/3/exit code 3'");
	assert_column(f, f->id[0], "total_wall || '/' || total_cpu", "'2.0/1.5'");
	assert_int_equal(tc_trials_next_queued(f->t, 1e11, &r, &f->err), 1);
	assert_string_equal(r.id, f->id[1]);
	tc_trial_row_free(&r);
	events(f, f->id[0], ev, sizeof(ev));
	assert_string_equal(ev, "starting:;running:;failed:exit code 3;queued:retry;");
	/* the next start resets every column the failed attempt left */
	assert_int_equal(tc_trials_mark_starting(f->t, f->id[0], 2, NULL, NULL,
						 &f->err),
			 0);
	assert_column(f, f->id[0],
		      "coalesce(gpus, sup_pid, sup_start, pgid, exit_code, "
		      "term_signal, reason, ended_at, 'none') || '/' || attempt "
		      "|| '/' || cancel_req",
		      "'none/2/0'");
	/* a start of a trial that is not queued changes nothing */
	assert_int_equal(tc_trials_mark_starting(f->t, f->id[0], 7, NULL, NULL,
						 &f->err),
			 0);
	assert_column(f, f->id[0], "attempt", "2");
}

static void test_unstart_and_rerun(void **state)
{
	struct fixture *f = *state;
	int st, req, base;

	start(f, f->id[1], 1);
	assert_int_equal(tc_trials_unstart(f->t, f->id[1], 0, "never started",
					   &f->err),
			 0);
	assert_column(f, f->id[1], "state || '/' || attempt", "'queued/0'");
	assert_column(f, f->id[1], "coalesce(sup_pid, pgid, gpus, reason, 'none')",
		      "'none'");
	start(f, f->id[1], 1);
	assert_int_equal(tc_trials_unstart(f->t, f->id[1], 1, "cancelled", &f->err),
			 0);
	assert_column(f, f->id[1], "state || '/' || attempt || '/' || reason",
		      "'cancelled/0/cancelled'");
	/* a lost supervisor: a new attempt with a fresh retry budget */
	start(f, f->id[2], 1);
	assert_int_equal(tc_trials_rerun(f->t, f->id[2], 0, "supervisor lost",
					 &f->err),
			 0);
	assert_int_equal(tc_trials_flags(f->t, f->id[2], &st, &req, &base), 1);
	assert_int_equal(st, TC_ST_QUEUED);
	assert_int_equal(base, 1);
	assert_column(f, f->id[2], "attempt || '/' || reason", "'1/supervisor lost'");
}

static void test_cancel_picked(void **state)
{
	struct fixture *f = *state;
	const char *one[] = {f->id[1]};
	int n, queued, running;

	start(f, f->id[0], 1);
	assert_int_equal(tc_trials_pick(f->t, 0, one, 1, &n, &f->err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(tc_trials_request_cancel(f->t, &queued, &running, &f->err),
			 0);
	assert_int_equal(queued, 1);
	assert_int_equal(running, 0);
	assert_column(f, f->id[1], "state", "'cancelled'");
	assert_column(f, f->id[2], "state", "'queued'");
	/* nothing picked: every trial */
	assert_int_equal(tc_trials_pick(f->t, 0, NULL, 0, &n, &f->err), 0);
	assert_int_equal(tc_trials_request_cancel(f->t, &queued, &running, &f->err),
			 0);
	assert_int_equal(queued, 1);
	assert_int_equal(running, 1);
	assert_column(f, f->id[0], "state || '/' || cancel_req", "'running/1'");
	/* an interrupt does not overwrite a cancel */
	assert_int_equal(tc_trials_request_interrupt(f->t, &f->err), 0);
	assert_column(f, f->id[0], "cancel_req", "1");
	/* the retry verb: the named cancelled trial, a fresh budget */
	assert_int_equal(tc_trials_pick(f->t, 0, one, 1, &n, &f->err), 0);
	assert_int_equal(tc_trials_retry(f->t, 1, &n, &f->err), 0);
	assert_int_equal(n, 1);
	assert_column(f, f->id[1], "state", "'queued'");
	assert_column(f, f->id[2], "state", "'cancelled'");
}

static void test_best(void **state)
{
	struct fixture *f = *state;
	struct tc_trial_outcome ok = {.state = TC_ST_SUCCEEDED, .ended_at = 1};
	struct tc_metric_best b;
	const double v[3] = {0.5, NAN, 0.5};

	for (int i = 0; i < 3; i++) {
		start(f, f->id[i], 1);
		assert_int_equal(tc_trials_final_set(f->t, f->id[i], 1, "acc", 1,
						     v[i], &f->err),
				 0);
		assert_int_equal(tc_trials_finish(f->t, f->id[i], &ok, &f->err), 0);
	}
	/* maximize: the first of equal values; nan never ranks */
	assert_int_equal(tc_trials_best(f->t, "acc", 1, &b, &f->err), 1);
	assert_string_equal(b.id, f->id[0]);
	assert_true(b.value == 0.5);
	assert_int_equal(tc_metric_best_offer(&b, "x", 0.7, 1, 1), 1);
	assert_int_equal(tc_metric_best_offer(&b, "y", 0.7, 1, 1), 0);
	assert_int_equal(tc_metric_best_offer(&b, "z", INFINITY, 1, 1), 0);
	assert_int_equal(tc_metric_best_offer(&b, "w", 0.1, 1, -1), 1);
	assert_string_equal(b.id, "w");
	assert_int_equal(tc_trials_best(f->t, "loss", -1, &b, &f->err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_next_and_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_then_start_resets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unstart_and_rerun, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cancel_picked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_best, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
