/*
 * test_record.c — unit tests of the metric sink of src/exec/record.c: the
 * batching policy both schedulers share (samples wait in memory at most a
 * batch at a time, each batch is its own short write), the history cap and
 * the notes that say what was dropped, and replacing an attempt's rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/record.h"
#include "metrics/metrics.h"
#include "store/journal.h"

struct fixture {
	char dir[64];
	struct tc_journal *j;
	struct tc_error err;
	size_t cuts;
	size_t lines;     /* fed since the last cut */
	size_t max_lines; /* the most fed between two cuts */
	int fail;         /* the cut fails with this */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_record.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	tc_error_clear(&f->err);
	assert_int_equal(tc_journal_open(f->dir, &f->j, &f->err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	tc_journal_close(f->j);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The scheduler's side: write the batch in a transaction of its own. */
static int cut(void *ctx, struct tc_rec_metrics *m)
{
	struct fixture *f = ctx;
	int rc;

	f->cuts++;
	if (f->lines > f->max_lines)
		f->max_lines = f->lines;
	f->lines = 0;
	if (f->fail)
		return f->fail;
	if ((rc = tc_journal_begin(f->j, &f->err)))
		return rc;
	if ((rc = tc_rec_metrics_flush(m, &f->err)) ||
	    (rc = tc_journal_commit(f->j, &f->err)))
		tc_journal_rollback(f->j);
	return rc;
}

static long long count(struct fixture *f, const char *sql)
{
	sqlite3_stmt *st = tc_journal_prepare(f->j, sql, &f->err);
	long long n;

	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static double final_of(struct fixture *f, const char *name)
{
	char sql[256];
	sqlite3_stmt *st;
	double v;

	snprintf(sql, sizeof(sql),
		 "SELECT value FROM final WHERE exp = 'e' AND trial = 't' AND "
		 "name = '%s'",
		 name);
	st = tc_journal_prepare(f->j, sql, &f->err);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

static struct tc_rec_metrics *sink(struct fixture *f, int attempt, int replace)
{
	struct tc_rec_metrics *m = tc_rec_metrics_new(
		f->j, "e", "t", attempt, "acc", replace, cut, f, &f->err);

	assert_non_null(m);
	return m;
}

/* 150,000 lines of two values, fed one line at a time: a cut at least
 * every TC_REC_BATCH samples, the first TC_REC_HISTORY_MAX as history,
 * every final value exact, and one note for the cap. */
static void test_batches_and_history_cap(void **state)
{
	struct fixture *f = *state;
	struct tc_collector *c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
	struct tc_rec_metrics *m = sink(f, 1, 0);
	const size_t nlines = 150000;
	double v;

	assert_non_null(c);
	for (size_t i = 0; i < nlines; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "step=%zu acc=%zu\n", i, i);

		assert_int_equal(tc_rec_metrics_feed(m, c, line, (size_t)n, 0), 0);
		f->lines++;
	}
	assert_int_equal(tc_rec_metrics_feed(m, c, NULL, 0, 1), 0);
	assert_true(tc_rec_metrics_pending(m));
	assert_int_equal(cut(f, m), 0);
	assert_false(tc_rec_metrics_pending(m));

	assert_true(f->max_lines * 2 <= TC_REC_BATCH);
	assert_true(f->cuts >= nlines * 2 / TC_REC_BATCH);
	assert_int_equal(count(f, "SELECT count(*) FROM metrics"),
			 TC_REC_HISTORY_MAX);
	assert_int_equal(count(f, "SELECT count(*) FROM final"), 2);
	assert_true(final_of(f, "acc") == (double)(nlines - 1));
	assert_true(final_of(f, "step") == (double)(nlines - 1));
	assert_true(tc_rec_metrics_value(m, &v));
	assert_true(v == (double)(nlines - 1));
	assert_int_equal(count(f, "SELECT count(*) FROM events WHERE state = "
				  "'note' AND detail LIKE 'attempt 1: metric "
				  "history capped at 100000 values%'"),
			 1);
	tc_rec_metrics_free(m);

	/* collected again from the start (a resume): the same note, once */
	m = sink(f, 1, 1);
	tc_collector_free(c);
	c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
	for (size_t i = 0; i < TC_REC_HISTORY_MAX + 1; i++)
		assert_int_equal(tc_rec_metrics_feed(m, c, "acc=1\n", 6, 0), 0);
	assert_int_equal(cut(f, m), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM metrics"),
			 TC_REC_HISTORY_MAX);
	assert_int_equal(count(f, "SELECT count(*) FROM events"), 1);
	/* replaced: acc's latest is 1 now, and step is gone */
	assert_true(final_of(f, "acc") == 1.0);
	assert_int_equal(count(f, "SELECT count(*) FROM final"), 1);
	tc_rec_metrics_free(m);
	tc_collector_free(c);
}

/* Output without metrics still cuts now and then (the read of a huge log
 * never holds the write lock long); a replacing sink clears on its first
 * write even with nothing to add. */
static void test_bytes_cut_and_replace(void **state)
{
	struct fixture *f = *state;
	struct tc_collector *c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
	struct tc_rec_metrics *m = sink(f, 2, 0);
	size_t len = 3 * (size_t)TC_REC_BATCH_BYTES;
	char *buf = malloc(len);

	assert_non_null(c);
	assert_non_null(buf);
	assert_int_equal(tc_rec_metrics_feed(m, c, "acc=5\n", 6, 0), 0);
	memset(buf, 'x', len);
	for (size_t i = 99; i < len; i += 100)
		buf[i] = '\n';
	assert_int_equal(tc_rec_metrics_feed(m, c, buf, len, 1), 0);
	assert_int_equal(f->cuts, 3);
	assert_int_equal(count(f, "SELECT count(*) FROM metrics WHERE attempt = 2"), 1);
	tc_rec_metrics_free(m);

	m = sink(f, 2, 1);
	assert_true(tc_rec_metrics_pending(m));
	assert_int_equal(cut(f, m), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM metrics"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM final"), 0);
	tc_rec_metrics_free(m);
	tc_collector_free(c);
	free(buf);
}

/* Values of names past a collector's cap: a note says they were dropped;
 * a note given by the scheduler is written with the next batch. */
static void test_notes(void **state)
{
	struct fixture *f = *state;
	struct tc_collector *c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
	struct tc_rec_metrics *m = sink(f, 3, 0);

	assert_non_null(c);
	for (int i = 0; i < TC_METRICS_NAMES_MAX + 5; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "n%d=1\n", i);

		assert_int_equal(tc_rec_metrics_feed(m, c, line, (size_t)n, 0), 0);
	}
	tc_rec_metrics_note(m, "its files vanished");
	tc_rec_metrics_note(m, "its files vanished");
	assert_int_equal(cut(f, m), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM final"),
			 TC_METRICS_NAMES_MAX);
	assert_int_equal(count(f, "SELECT count(*) FROM events WHERE detail = "
				  "'attempt 3: values of metric names past the "
				  "first 1024 of a stream were dropped'"),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM events WHERE detail = "
				  "'attempt 3: its files vanished'"),
			 1);
	tc_rec_metrics_free(m);
	tc_collector_free(c);
}

/* A cut that fails stops the feed and is reported by every later feed. */
static void test_cut_failure(void **state)
{
	struct fixture *f = *state;
	struct tc_collector *c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
	struct tc_rec_metrics *m = sink(f, 1, 0);
	size_t n = 0;
	int rc = 0;

	assert_non_null(c);
	f->fail = TC_ERR_DB;
	while (!rc && n++ < 2 * TC_REC_BATCH)
		rc = tc_rec_metrics_feed(m, c, "acc=1\n", 6, 0);
	assert_int_equal(rc, TC_ERR_DB);
	assert_int_equal(n, TC_REC_BATCH);
	assert_int_equal(tc_rec_metrics_feed(m, c, "acc=1\n", 6, 1), TC_ERR_DB);
	assert_int_equal(f->cuts, 1);
	tc_rec_metrics_free(m);
	tc_collector_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batches_and_history_cap,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_cut_and_replace,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_failure, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
