/*
 * test_tpe.c — the TPE sampler: the same observations give the same
 * suggestions; no repeats in a small discrete space (then 0); failed and
 * pending observations; and better than random search at 50 trials on
 * Branin and a quadratic, median over 20 seeds; the joint model: better
 * than the per-parameter one on two basins, the same past its
 * sampling threshold whether told or asked, conditional parameters.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "search/rng.h"
#include "search/tpe.h"
#include "spec/spec.h"

static struct tc_spec *parse(const char *yaml)
{
	struct tc_spec *s = NULL;
	struct tc_error err;

	if (tc_spec_parse("t.yaml", yaml, strlen(yaml), &s, &err) != 0)
		fail_msg("spec did not parse: %d:%d: %s", err.line, err.col, err.msg);
	return s;
}

#define BRANIN                                                                 \
	"version: 1\nname: b\ncommand: [x]\nparameters:\n"                     \
	"  x1: {distribution: uniform, min: -5, max: 10}\n"                    \
	"  x2: {distribution: uniform, min: 0, max: 15}\n"                     \
	"search: {method: random, trials: 50}\n"

static double branin(const struct tc_value *v)
{
	double x1 = v[0].f, x2 = v[1].f, pi = 3.14159265358979323846;
	double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);

	return pow(x2 - b * x1 * x1 + c * x1 - 6, 2) + 10 * (1 - t) * cos(x1) + 10;
}

static double quad(const struct tc_value *v)
{
	return (v[0].f - 1.3) * (v[0].f - 1.3);
}

/* best (smallest) of n trials by TPE, minimizing f */
static double tpe_best(struct tc_spec *s, double (*f)(const struct tc_value *),
		       uint64_t seed, int n)
{
	struct tc_tpe_options o;
	struct tc_tpe *t = NULL;
	struct tc_error err;
	double best = HUGE_VAL;

	tc_tpe_defaults(&o);
	o.goal = -1;
	o.seed = seed;
	assert_int_equal(tc_tpe_new(s, &o, &t, &err), 0);
	for (int i = 0; i < n; i++) {
		const struct tc_value *v;
		const unsigned char *pr;
		size_t k;
		double y;

		assert_int_equal(tc_tpe_ask(t, &v, &pr, &k, &err), 1);
		y = f(v);
		if (y < best)
			best = y;
		assert_int_equal(tc_tpe_settle(t, k, TC_TPE_COMPLETE, y, &err), 0);
	}
	tc_tpe_free(t);
	return best;
}

static double random_best(struct tc_spec *s, double (*f)(const struct tc_value *),
			  uint64_t seed, int n)
{
	struct tc_rng r;
	struct tc_value v[2];
	double best = HUGE_VAL;

	memset(v, 0, sizeof(v));
	tc_rng_seed(&r, seed + 1000);
	for (int i = 0; i < n; i++) {
		for (size_t p = 0; p < s->nparams; p++)
			v[p].f = s->params[p].min +
				 tc_rng_unit(&r) * (s->params[p].max - s->params[p].min);
		if (f(v) < best)
			best = f(v);
	}
	return best;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void quality(const char *yaml, double (*f)(const struct tc_value *))
{
	struct tc_spec *s = parse(yaml);
	double bt[20], br[20];

	for (int seed = 0; seed < 20; seed++) {
		bt[seed] = tpe_best(s, f, (uint64_t)seed, 50);
		br[seed] = random_best(s, f, (uint64_t)seed, 50);
	}
	qsort(bt, 20, sizeof(double), cmp);
	qsort(br, 20, sizeof(double), cmp);
	print_message("median best after 50: tpe %g, random %g\n", bt[10], br[10]);
	if (!(bt[10] < br[10]))
		fail_msg("tpe median %g not better than random %g", bt[10], br[10]);
	tc_spec_free(s);
}

static void test_branin_beats_random(void **state)
{
	(void)state;
	quality(BRANIN, branin);
}

static void test_quadratic_beats_random(void **state)
{
	(void)state;
	quality("version: 1\nname: q\ncommand: [x]\nparameters:\n"
		"  x: {distribution: uniform, min: -5, max: 5}\n"
		"search: {method: random, trials: 50}\n",
		quad);
}

/* Same observations, same suggestions; a different seed, others. */
static void test_deterministic(void **state)
{
	struct tc_spec *s = parse(BRANIN);
	double a = 0, b = 0, c = 0;

	(void)state;
	a = tpe_best(s, branin, 7, 30);
	b = tpe_best(s, branin, 7, 30);
	c = tpe_best(s, branin, 8, 30);
	assert_true(a == b);
	assert_true(a != c);
	tc_spec_free(s);
}

/* Past 256 bad observations the bad group's kernels are merged, from
 * sorted values kept across asks: a sampler told the same 400
 * observations at once asks what the one that asked them does (the kept
 * order is the order a fresh sort gives), with pending and failed ones
 * among them; and the search still finds Branin's minimum (0.398). */
static void test_large(void **state)
{
	struct tc_spec *s = parse(BRANIN);
	struct tc_tpe_options o;
	struct tc_tpe *t = NULL, *u = NULL;
	struct tc_error err;
	struct tc_value *pts = calloc(400 * 2, sizeof(*pts));
	int *outc = calloc(400, sizeof(*outc));
	double *ys = calloc(400, sizeof(*ys)), best = HUGE_VAL, bs[5], br[5];

	(void)state;
	assert_non_null(pts);
	assert_non_null(outc);
	assert_non_null(ys);
	tc_tpe_defaults(&o);
	o.goal = -1;
	o.seed = 11;
	assert_int_equal(tc_tpe_new(s, &o, &t, &err), 0);
	assert_int_equal(tc_tpe_new(s, &o, &u, &err), 0);
	for (int i = 0; i < 400; i++) {
		const struct tc_value *v;
		const unsigned char *pr;
		size_t k;

		assert_int_equal(tc_tpe_ask(t, &v, &pr, &k, &err), 1);
		pts[2 * i] = v[0];
		pts[2 * i + 1] = v[1];
		pts[2 * i].text = pts[2 * i + 1].text = "";
		ys[i] = branin(v);
		outc[i] = i % 37 == 5 ? TC_TPE_FAILED
			  : i % 41 == 7 ? TC_TPE_PENDING
					: TC_TPE_COMPLETE;
		if (outc[i] != TC_TPE_PENDING)
			assert_int_equal(tc_tpe_settle(t, k, (enum tc_tpe_outcome)outc[i],
						       ys[i], &err),
					 0);
		if (outc[i] == TC_TPE_COMPLETE && ys[i] < best)
			best = ys[i];
	}
	for (int i = 0; i < 400; i++)
		assert_true(tc_tpe_tell(u, &pts[2 * i], NULL,
					(enum tc_tpe_outcome)outc[i], ys[i], &err) == i);
	for (int r = 0; r < 3; r++) {
		const struct tc_value *a, *b;
		const unsigned char *pa, *pb;

		assert_int_equal(tc_tpe_ask(t, &a, &pa, NULL, &err), 1);
		assert_int_equal(tc_tpe_ask(u, &b, &pb, NULL, &err), 1);
		assert_true(a[0].f == b[0].f && a[1].f == b[1].f);
	}
	print_message("best of 400 (seed 11): %g\n", best);
	assert_true(best < 0.41);
	tc_tpe_free(t);
	tc_tpe_free(u);
	/* the median of five seeds, 400 trials each, against random */
	for (int seed = 0; seed < 5; seed++) {
		bs[seed] = tpe_best(s, branin, (uint64_t)seed, 400);
		br[seed] = random_best(s, branin, (uint64_t)seed, 400);
	}
	qsort(bs, 5, sizeof(double), cmp);
	qsort(br, 5, sizeof(double), cmp);
	print_message("median best of 400: tpe %g, random %g\n", bs[2], br[2]);
	assert_true(bs[2] < 0.41 && bs[2] < br[2]);
	free(pts);
	free(outc);
	free(ys);
	tc_spec_free(s);
}

/* Two basins on the diagonal, at (0.2, 0.2) and (0.8, 0.8): each
 * parameter's own density favours 0.2 and 0.8 alike and pairs them at
 * random; the joint one keeps them together.  The default (multivariate)
 * model against the per-parameter one, median best after 50 trials over
 * 20 seeds. */
#define BASINS                                                                 \
	"version: 1\nname: v\ncommand: [x]\nparameters:\n"                     \
	"  x: {distribution: uniform, min: 0, max: 1}\n"                       \
	"  y: {distribution: uniform, min: 0, max: 1}\n"                       \
	"search: {method: random, trials: 50}\n"

static double basins(const struct tc_value *v)
{
	double a = (v[0].f - 0.2) * (v[0].f - 0.2) + (v[1].f - 0.2) * (v[1].f - 0.2);
	double b = (v[0].f - 0.8) * (v[0].f - 0.8) + (v[1].f - 0.8) * (v[1].f - 0.8);

	return a < b ? a : b;
}

static double basins_best(struct tc_spec *s, int multivariate, uint64_t seed)
{
	struct tc_tpe_options o;
	struct tc_tpe *t = NULL;
	struct tc_error err;
	double best = HUGE_VAL;

	tc_tpe_defaults(&o);
	o.goal = -1;
	o.seed = seed;
	o.multivariate = multivariate;
	assert_int_equal(tc_tpe_new(s, &o, &t, &err), 0);
	for (int i = 0; i < 50; i++) {
		const struct tc_value *v;
		const unsigned char *pr;
		size_t k;
		double y;

		assert_int_equal(tc_tpe_ask(t, &v, &pr, &k, &err), 1);
		y = basins(v);
		if (y < best)
			best = y;
		assert_int_equal(tc_tpe_settle(t, k, TC_TPE_COMPLETE, y, &err), 0);
	}
	tc_tpe_free(t);
	return best;
}

static void test_joint_pairs_basins(void **state)
{
	struct tc_spec *s = parse(BASINS);
	double bm[20], bu[20];

	(void)state;
	for (int seed = 0; seed < 20; seed++) {
		bm[seed] = basins_best(s, 1, (uint64_t)seed);
		bu[seed] = basins_best(s, 0, (uint64_t)seed);
	}
	qsort(bm, 20, sizeof(double), cmp);
	qsort(bu, 20, sizeof(double), cmp);
	print_message("median best after 50: joint %g, per parameter %g\n",
		      bm[10], bu[10]);
	assert_true(bm[10] < bu[10]);
	tc_spec_free(s);
}

/* Past 1,000 bad observations the joint model is that of a stratified
 * sample: a sampler told 1,200 observations at once (some failed, some
 * pending) asks what the one that asked them does. */
static void test_joint_sampled(void **state)
{
	struct tc_spec *s = parse(BASINS);
	struct tc_tpe_options o;
	struct tc_tpe *t = NULL, *u = NULL;
	struct tc_error err;
	enum { N = 1200 };
	struct tc_value *pts = calloc(N * 2, sizeof(*pts));
	int *outc = calloc(N, sizeof(*outc));
	double *ys = calloc(N, sizeof(*ys));

	(void)state;
	assert_non_null(pts);
	assert_non_null(outc);
	assert_non_null(ys);
	tc_tpe_defaults(&o);
	o.goal = -1;
	o.seed = 5;
	assert_int_equal(tc_tpe_new(s, &o, &t, &err), 0);
	assert_int_equal(tc_tpe_new(s, &o, &u, &err), 0);
	for (int i = 0; i < N; i++) {
		const struct tc_value *v;
		const unsigned char *pr;
		size_t k;

		assert_int_equal(tc_tpe_ask(t, &v, &pr, &k, &err), 1);
		pts[2 * i] = v[0];
		pts[2 * i + 1] = v[1];
		pts[2 * i].text = pts[2 * i + 1].text = "";
		ys[i] = basins(v);
		outc[i] = i % 37 == 5 ? TC_TPE_FAILED
			  : i % 41 == 7 ? TC_TPE_PENDING
					: TC_TPE_COMPLETE;
		if (outc[i] != TC_TPE_PENDING)
			assert_int_equal(tc_tpe_settle(t, k, (enum tc_tpe_outcome)outc[i],
						       ys[i], &err),
					 0);
	}
	for (int i = 0; i < N; i++)
		assert_true(tc_tpe_tell(u, &pts[2 * i], NULL,
					(enum tc_tpe_outcome)outc[i], ys[i], &err) == i);
	for (int r = 0; r < 3; r++) {
		const struct tc_value *a, *b;
		const unsigned char *pa, *pb;

		assert_int_equal(tc_tpe_ask(t, &a, &pa, NULL, &err), 1);
		assert_int_equal(tc_tpe_ask(u, &b, &pb, NULL, &err), 1);
		assert_true(a[0].f == b[0].f && a[1].f == b[1].f);
		assert_true(a[0].f >= 0 && a[0].f <= 1 && a[1].f >= 0 && a[1].f <= 1);
	}
	tc_tpe_free(t);
	tc_tpe_free(u);
	free(pts);
	free(outc);
	free(ys);
	tc_spec_free(s);
}

/* A conditional parameter (momentum, only with sgd) stays out of the joint
 * model: the point is still chosen, in range, and the same from the same
 * observations; and a trial without it is told as such. */
static void test_conditional(void **state)
{
	struct tc_spec *s = parse("version: 1\nname: c\ncommand: [x]\nparameters:\n"
				  "  x: {distribution: uniform, min: 0, max: 1}\n"
				  "  opt: {values: [sgd, adam]}\n"
				  "  momentum: {distribution: uniform, min: 0, max: 0.99}\n");
	struct tc_tpe_options o;
	struct tc_tpe *t = NULL, *u = NULL;
	struct tc_error err;
	int sgd = 0;

	(void)state;
	tc_tpe_defaults(&o);
	o.goal = -1;
	o.seed = 3;
	assert_int_equal(tc_tpe_new(s, &o, &t, &err), 0);
	assert_int_equal(tc_tpe_new(s, &o, &u, &err), 0);
	for (int i = 0; i < 60; i++) {
		const struct tc_value *v, *w;
		const unsigned char *pr, *pw;
		unsigned char present[3] = {1, 1, 1};
		double y;

		assert_int_equal(tc_tpe_suggest(t, &v, &pr, &err), 1);
		assert_int_equal(tc_tpe_suggest(u, &w, &pw, &err), 1);
		assert_true(v[0].f == w[0].f && v[2].f == w[2].f);
		assert_string_equal(v[1].text, w[1].text);
		assert_true(v[2].f >= 0 && v[2].f <= 0.99);
		present[2] = !strcmp(v[1].text, "sgd");
		sgd += present[2] && i >= 10;
		y = (v[0].f - 0.3) * (v[0].f - 0.3) +
		    (present[2] ? (v[2].f - 0.9) * (v[2].f - 0.9) : 0.5);
		assert_true(tc_tpe_tell(t, v, present, TC_TPE_COMPLETE, y, &err) == i);
		assert_true(tc_tpe_tell(u, w, present, TC_TPE_COMPLETE, y, &err) == i);
	}
	/* sgd (with a good momentum) is better: the model prefers it */
	print_message("sgd in %d of 50 model trials\n", sgd);
	assert_true(sgd > 25);
	tc_tpe_free(t);
	tc_tpe_free(u);
	tc_spec_free(s);
}

/* A space of 6 points: 6 distinct suggestions (some failed, some
 * pending), then none. */
static void test_no_repeats(void **state)
{
	struct tc_spec *s = parse("version: 1\nname: d\ncommand: [x]\nparameters:\n"
				  "  a: {values: [1, 2, 3]}\n  b: {values: [x, y]}\n"
				  "  c: {distribution: int_uniform, min: 4, max: 4}\n");
	struct tc_tpe_options o;
	struct tc_tpe *t = NULL;
	struct tc_error err;
	const struct tc_value *v;
	const unsigned char *pr;
	char seen[6][16];

	(void)state;
	tc_tpe_defaults(&o);
	o.startup = 2;
	assert_int_equal(tc_tpe_new(s, &o, &t, &err), 0);
	for (int i = 0; i < 6; i++) {
		size_t k;

		assert_int_equal(tc_tpe_ask(t, &v, &pr, &k, &err), 1);
		snprintf(seen[i], sizeof(seen[i]), "%s%s%s", v[0].text, v[1].text,
			 v[2].text);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
		if (i % 3 == 1)
			assert_int_equal(tc_tpe_settle(t, k, TC_TPE_FAILED, 0, &err), 0);
		else if (i % 3 == 2)
			assert_int_equal(tc_tpe_settle(t, k, TC_TPE_COMPLETE, i, &err), 0);
	}
	assert_int_equal(tc_tpe_ask(t, &v, &pr, NULL, &err), 0);
	assert_int_equal(tc_tpe_count(t), 6);
	assert_int_equal(tc_tpe_settle(t, 6, TC_TPE_FAILED, 0, &err), TC_ERR_USAGE);
	tc_tpe_free(t);
	tc_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_no_repeats),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_branin_beats_random),
		cmocka_unit_test(test_quadratic_beats_random),
		cmocka_unit_test(test_joint_pairs_basins),
		cmocka_unit_test(test_joint_sampled),
		cmocka_unit_test(test_conditional),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
