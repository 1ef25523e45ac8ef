/*
 * test_tpe_plan.c — tpe search through the journal (plan/plan.c,
 * tc_plan_extend): golden suggestions of a fixed spec after fixed
 * observations (a change to the sampler, its generator or its math, or to
 * what the journal tells it, changes them); the budget (search.trials)
 * never passed; a small space used up ends with a note; resume --force
 * keeps every trial; and the scheduler's rule (tc_sched_extend) asks only
 * for free slots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/scheduler.h"
#include "plan/plan.h"
#include "spec/spec.h"
#include "store/journal.h"
#include "store/trials.h"
#include "util/clock.h"

/* The golden trials: what the spec below gives with seed 7 (startup),
 * then after the observations of test_golden (model).  A change here is
 * a change to every tpe search's suggestions: say so in the commit. */
#define GOLDEN_STARTUP                                                          \
	"0 28932333688b {\"x\":-0.81208776678007677,\"lr\":0.083929086999911168,"  \
	"\"opt\":\"sgd\",\"n\":2}\n"                                              \
	"1 c92c37c559d3 {\"x\":1.9573437909308722,\"lr\":8.5732667210351759e-5,"    \
	"\"opt\":\"adam\",\"n\":3}\n"                                             \
	"2 944f79b908a2 {\"x\":1.8813822500576101,\"lr\":1.2334175241583381e-5,"    \
	"\"opt\":\"sgd\",\"n\":6}\n"                                              \
	"3 f5f98dcb2dcf {\"x\":-1.9765598070002905,\"lr\":0.00026142849134336911,"  \
	"\"opt\":\"adam\",\"n\":8}\n"
#define GOLDEN_MODEL                                                            \
	"4 b5166e34f151 {\"x\":0.94700450905138167,\"lr\":0.080325634977165022,"    \
	"\"opt\":\"sgd\",\"n\":7}\n"                                              \
	"5 299a53db7de8 {\"x\":-0.8982722679412406,\"lr\":8.8036695967316623e-5,"    \
	"\"opt\":\"adam\",\"n\":1}\n"                                             \
	"6 b1aa090ce6e9 {\"x\":1.6926980365324984,\"lr\":0.002978216768435335,"     \
	"\"opt\":\"lamb\",\"n\":6}\n"

struct fixture {
	char dir[64];
	struct tc_journal *j;
	struct tc_spec *spec;
	struct tc_trials *tr;
	struct tc_error err;
};

static const char golden_spec[] =
	"version: 1\n"
	"name: tg\n"
	"command: [x, '{{x}}', '{{lr}}', '{{opt}}', '{{n}}']\n"
	"parameters:\n"
	"  x: {distribution: uniform, min: -2, max: 2}\n"
	"  lr: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-1}\n"
	"  opt: {values: [sgd, adam, lamb]}\n"
	"  n: {distribution: int_uniform, min: 1, max: 8}\n"
	"search: {method: tpe, trials: 12, startup: 4, seed: 7}\n"
	"metric: {name: loss, goal: minimize}\n";

static void open_fixture(struct fixture *f, const char *text)
{
	struct tc_provenance prov;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_tpe_plan.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	tc_error_clear(&f->err);
	assert_int_equal(tc_journal_open(f->dir, &f->j, &f->err), 0);
	assert_int_equal(tc_spec_parse("/tmp/tg.yaml", text, strlen(text),
				       &f->spec, &f->err),
			 0);
	memset(&prov, 0, sizeof(prov));
	prov.git_dirty = -1;
	assert_int_equal(tc_plan_create(f->j, f->spec, "local", NULL,
					"/tmp/tg.yaml", f->spec->search.seed,
					&prov, &f->err),
			 0);
	assert_non_null(f->tr = tc_trials_open(f->j, f->spec->name, &f->err));
}

static void close_fixture(struct fixture *f)
{
	char cmd[128];

	tc_trials_close(f->tr);
	tc_journal_close(f->j);
	tc_spec_free(f->spec);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
}

static long long ntrials(struct fixture *f)
{
	long long c[TC_ST_COUNT], total;

	assert_int_equal(tc_trials_counts(f->tr, c, &total, &f->err), 0);
	return total;
}

/* Trial idx ends in state, with loss = value when has. */
static void settle(struct fixture *f, long long idx, int state, int has,
		   double value)
{
	char id[16];

	assert_int_equal(tc_trials_find_idx(f->tr, idx, id, &f->err), 0);
	assert_true(id[0]);
	assert_int_equal(tc_journal_begin(f->j, &f->err), 0);
	assert_int_equal(tc_trials_mark_starting(f->tr, id, 1, NULL, NULL,
						 &f->err),
			 0);
	if (state != TC_ST_STARTING) {
		if (has)
			assert_int_equal(tc_trials_final_set(f->tr, id, 1, "loss",
							     1, value, &f->err),
					 0);
		assert_int_equal(
			tc_trials_finish(f->tr, id,
					 &(struct tc_trial_outcome){
						 .state = state, .has_exit = 1,
						 .exit_code = state != TC_ST_SUCCEEDED,
						 .ended_at = tc_now()},
					 &f->err),
			0);
	}
	assert_int_equal(tc_journal_commit(f->j, &f->err), 0);
}

struct dump {
	char text[4096];
	size_t n;
	long long from;
};

static int dump_row(void *ctx, const struct tc_trial_row *r)
{
	struct dump *d = ctx;

	if (r->idx >= d->from)
		d->n += (size_t)snprintf(d->text + d->n, sizeof(d->text) - d->n,
					 "%lld %s %s\n", r->idx, r->id, r->params);
	return 0;
}

/* The trials from index `from` on, one line each: index, id, params. */
static const char *dump(struct fixture *f, long long from, struct dump *d)
{
	memset(d, 0, sizeof(*d));
	d->from = from;
	assert_int_equal(tc_trials_scan(f->tr, dump_row, d, &f->err), 0);
	return d->text;
}

static void test_golden(void **state)
{
	struct fixture f;
	struct dump d;
	int done = -1;

	(void)state;
	open_fixture(&f, golden_spec);
	/* the startup trials: drawn from the seed alone */
	assert_int_equal(ntrials(&f), 4);
	assert_string_equal(dump(&f, 0, &d), GOLDEN_STARTUP);
	/* two results, one failure, one still running */
	settle(&f, 0, TC_ST_SUCCEEDED, 1, 0.75);
	settle(&f, 1, TC_ST_FAILED, 0, 0);
	settle(&f, 2, TC_ST_SUCCEEDED, 1, 0.25);
	settle(&f, 3, TC_ST_STARTING, 0, 0);
	assert_int_equal(tc_plan_extend(f.j, f.spec, NULL, 3, &done, &f.err), 3);
	assert_int_equal(done, 0);
	assert_string_equal(dump(&f, 4, &d), GOLDEN_MODEL);
	close_fixture(&f);
}

/* The same journal gives the same trials: a second experiment run through
 * the same steps asks the same. */
static void test_same_journal_same_trials(void **state)
{
	struct fixture f, g;
	struct dump a, b;
	int done;

	(void)state;
	open_fixture(&f, golden_spec);
	open_fixture(&g, golden_spec);
	for (long long i = 0; i < 12; i++) {
		struct fixture *x[2] = {&f, &g};

		for (int k = 0; k < 2; k++) {
			if (ntrials(x[k]) <= i)
				assert_int_equal(tc_plan_extend(x[k]->j, x[k]->spec,
								NULL, 1, &done,
								&x[k]->err),
						 1);
			settle(x[k], i, TC_ST_SUCCEEDED, 1, (double)((i * 7) % 5));
		}
	}
	assert_string_equal(dump(&f, 0, &a), dump(&g, 0, &b));
	assert_int_equal(ntrials(&f), 12);
	close_fixture(&f);
	close_fixture(&g);
}

/* A run keeps its sampler between extends (tc_plan_extend_cached): every
 * extend creates what a rebuild from the journal creates, through results,
 * failures, trials left running, two asks at a time, and a trial settled
 * by another connection (which makes the cache rebuild). */
static void test_cached_same_as_rebuilt(void **state)
{
	static const char spec30[] =
		"version: 1\n"
		"name: tg\n"
		"command: [x, '{{x}}', '{{lr}}', '{{opt}}', '{{n}}']\n"
		"parameters:\n"
		"  x: {distribution: uniform, min: -2, max: 2}\n"
		"  lr: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-1}\n"
		"  opt: {values: [sgd, adam, lamb]}\n"
		"  n: {distribution: int_uniform, min: 1, max: 8}\n"
		"search: {method: tpe, trials: 30, startup: 4, seed: 7}\n"
		"metric: {name: loss, goal: minimize}\n";
	struct fixture f, g;
	struct tc_plan_cache *c = NULL;
	struct dump a, b;
	int done, done2;

	(void)state;
	open_fixture(&f, spec30);
	open_fixture(&g, spec30);
	for (long long i = 0; i < 30; i++) {
		int st = i % 5 == 3 ? TC_ST_FAILED
			 : i % 7 == 4 ? TC_ST_STARTING
				      : TC_ST_SUCCEEDED;
		double v = (double)((i * 7) % 5) + 0.01 * (double)i;

		if (ntrials(&f) <= i + 1) {
			int n1 = tc_plan_extend_cached(f.j, f.spec, NULL, 2, &done,
						       &c, &f.err);
			int n2 = tc_plan_extend(g.j, g.spec, NULL, 2, &done2,
						&g.err);

			assert_int_equal(n1, n2);
			assert_int_equal(done, done2);
			assert_string_equal(dump(&f, 0, &a), dump(&g, 0, &b));
		}
		if (i == 17) { /* another process settles this one */
			struct fixture h = f;

			assert_int_equal(tc_journal_open(f.dir, &h.j, &h.err), 0);
			assert_non_null(h.tr = tc_trials_open(h.j, "tg", &h.err));
			settle(&h, i, st, 1, v);
			tc_trials_close(h.tr);
			tc_journal_close(h.j);
		} else {
			settle(&f, i, st, 1, v);
		}
		settle(&g, i, st, 1, v);
	}
	assert_int_equal(ntrials(&f), 30);
	assert_string_equal(dump(&f, 0, &a), dump(&g, 0, &b));
	tc_plan_cache_free(c);
	close_fixture(&f);
	close_fixture(&g);
}

static void test_budget(void **state)
{
	struct fixture f;
	int done = -1;

	(void)state;
	open_fixture(&f, golden_spec);
	/* 4 startup trials planned; 8 left of 12 whatever is asked */
	assert_int_equal(tc_plan_extend(f.j, f.spec, NULL, 100, &done, &f.err), 8);
	assert_int_equal(done, TC_EXTEND_SPENT);
	assert_int_equal(ntrials(&f), 12);
	assert_int_equal(tc_plan_extend(f.j, f.spec, NULL, 5, &done, &f.err), 0);
	assert_int_equal(done, TC_EXTEND_SPENT);
	assert_int_equal(ntrials(&f), 12);
	close_fixture(&f);
}

static void test_exhausted(void **state)
{
	static const char text[] = "version: 1\n"
				   "name: te\n"
				   "command: [x, '{{a}}', '{{b}}']\n"
				   "parameters:\n"
				   "  a: {values: [1, 2]}\n"
				   "  b: {values: [u, v, w]}\n"
				   "search: {method: tpe, trials: 10, startup: 2, "
				   "seed: 1}\n"
				   "metric: {name: loss}\n";
	struct fixture f;
	int done = -1;
	struct dump d;

	(void)state;
	open_fixture(&f, text);
	settle(&f, 0, TC_ST_SUCCEEDED, 1, 1);
	settle(&f, 1, TC_ST_SUCCEEDED, 1, 2);
	/* 6 points in all: 4 more, then none */
	assert_int_equal(tc_plan_extend(f.j, f.spec, NULL, 8, &done, &f.err), 4);
	assert_int_equal(done, TC_EXTEND_EXHAUSTED);
	assert_int_equal(ntrials(&f), 6);
	dump(&f, 0, &d);
	for (const char *a = "12", *p = a; *p; p++)
		for (const char *b = "uvw", *q = b; *q; q++) {
			char want[32];

			snprintf(want, sizeof(want), "{\"a\":%c,\"b\":\"%c\"}", *p,
				 *q);
			assert_non_null(strstr(d.text, want));
		}
	assert_int_equal(tc_plan_extend(f.j, f.spec, NULL, 1, &done, &f.err), 0);
	assert_int_equal(done, TC_EXTEND_EXHAUSTED);
	close_fixture(&f);
}

/* resume --force with a changed command: every trial stays, the queued
 * ones run the new command, and the next ones follow the new spec. */
static void test_replan_keeps_trials(void **state)
{
	struct fixture f;
	struct tc_spec *s2 = NULL;
	char text2[sizeof(golden_spec) + 16], *at;
	struct tc_trial_row row;
	char id[16];
	int done;

	(void)state;
	open_fixture(&f, golden_spec);
	settle(&f, 0, TC_ST_SUCCEEDED, 1, 0.5);
	snprintf(text2, sizeof(text2), "%s", golden_spec);
	at = strstr(text2, "command: [x,");
	assert_non_null(at);
	at[10] = 'y'; /* command: [y, ... */
	assert_int_equal(tc_spec_parse("/tmp/tg.yaml", text2, strlen(text2), &s2,
				       &f.err),
			 0);
	assert_int_equal(tc_plan_replan(f.j, s2, "/tmp/tg.yaml", NULL, &f.err), 0);
	assert_int_equal(ntrials(&f), 4);
	assert_int_equal(tc_trials_find_idx(f.tr, 1, id, &f.err), 0);
	assert_int_equal(tc_trials_get(f.tr, id, &row, &f.err), 1);
	assert_int_equal(row.state, TC_ST_QUEUED);
	assert_true(strncmp(row.command, "[\"y\"", 4) == 0);
	tc_trial_row_free(&row);
	assert_int_equal(tc_trials_find_idx(f.tr, 0, id, &f.err), 0);
	assert_int_equal(tc_trials_get(f.tr, id, &row, &f.err), 1);
	assert_true(strncmp(row.command, "[\"x\"", 4) == 0); /* it ran that */
	tc_trial_row_free(&row);
	assert_int_equal(tc_plan_extend(f.j, s2, NULL, 1, &done, &f.err), 1);
	assert_int_equal(tc_trials_find_idx(f.tr, 4, id, &f.err), 0);
	assert_int_equal(tc_trials_get(f.tr, id, &row, &f.err), 1);
	assert_true(strncmp(row.command, "[\"y\"", 4) == 0);
	tc_trial_row_free(&row);
	tc_spec_free(s2);
	close_fixture(&f);
}

/* The scheduler asks for the free slots only: parallel − active − queued. */
static void test_sched_extend(void **state)
{
	static const char text[] = "version: 1\n"
				   "name: ts\n"
				   "command: [x, '{{x}}']\n"
				   "parameters:\n"
				   "  x: {distribution: uniform, min: 0, max: 1}\n"
				   "search: {method: tpe, trials: 20, startup: 1, "
				   "seed: 2}\n"
				   "metric: {name: loss}\n"
				   "run: {parallel: 4}\n";
	struct fixture f;
	struct tc_run_opts o;
	struct tc_sched s;
	struct tc_run_summary sum;

	(void)state;
	open_fixture(&f, text);
	memset(&o, 0, sizeof(o));
	o.progress = -1;
	o.max_failures = -1;
	o.gpus = -1;
	assert_int_equal(tc_sched_begin(&s, f.j, "ts", f.spec, &o, NULL, NULL,
					NULL, &f.err),
			 0);
	/* one queued, none active: 3 more */
	assert_int_equal(tc_sched_extend(&s, 0), 3);
	assert_int_equal(s.counts[TC_ST_QUEUED], 4);
	assert_int_equal(tc_sched_extend(&s, 0), 0);
	/* the four start; two slots free once two ended */
	for (int i = 0; i < 4; i++)
		settle(&f, i, i < 2 ? TC_ST_SUCCEEDED : TC_ST_STARTING, 1, i);
	s.counts[TC_ST_QUEUED] = 0;
	assert_int_equal(tc_sched_extend(&s, 2), 2);
	assert_int_equal(ntrials(&f), 6);
	/* --limit: a selection, no new trial */
	s.counts[TC_ST_QUEUED] = 0;
	o.limit = 3;
	assert_int_equal(tc_sched_extend(&s, 0), 0);
	tc_sched_close(&s, 1, &sum);
	close_fixture(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_same_journal_same_trials),
		cmocka_unit_test(test_cached_same_as_rebuilt),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_exhausted),
		cmocka_unit_test(test_replan_keeps_trials),
		cmocka_unit_test(test_sched_extend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
