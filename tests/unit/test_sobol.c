/*
 * test_sobol.c — the Sobol sequence and its scrambling: the textbook first
 * points, stratification in every dimension of the table, the (0, m, 2)-net
 * of the first two, a lower star discrepancy than random points, and
 * sobol search plans: pinned first points for a seed, reproducible.
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
#include "search/search.h"
#include "search/sobol.h"
#include "spec/spec.h"

static struct tc_sobol *sobol(unsigned dims, uint64_t seed)
{
	struct tc_sobol *s = NULL;
	struct tc_error err;

	assert_int_equal(tc_sobol_new(dims, seed, &s, &err), 0);
	return s;
}

static void test_textbook_points(void **state)
{
	/* the unscrambled sequence in three dimensions, times 16 */
	static const int want[10][3] = {
		{0, 0, 0},   {8, 8, 8},   {12, 4, 4},  {4, 12, 12}, {6, 6, 10},
		{14, 14, 2}, {10, 2, 14}, {2, 10, 6},  {3, 5, 15},  {11, 13, 7},
	};
	struct tc_sobol *s = sobol(3, 1);
	struct tc_error err;

	(void)state;
	for (int i = 0; i < 10; i++)
		for (int d = 0; d < 3; d++)
			assert_int_equal(tc_sobol_raw(s, (unsigned)d, (uint64_t)i),
					 (uint32_t)want[i][d] << 28);
	tc_sobol_free(s);
	assert_int_equal(tc_sobol_new(0, 1, &s, &err), TC_ERR_USAGE);
	assert_int_equal(tc_sobol_new(TC_SOBOL_MAX_DIMS + 1, 1, &s, &err),
			 TC_ERR_USAGE);
}

/* With 2^k points from index 0, each interval [j/2^k, (j+1)/2^k) of every
 * dimension holds exactly one point, scrambled or not: checked for every
 * dimension of the table (a wrong direction number breaks it). */
static void test_stratified_every_dimension(void **state)
{
	enum { K = 10, N = 1 << K };
	struct tc_sobol *s = sobol(TC_SOBOL_MAX_DIMS, 42);
	static unsigned char hit[N], rhit[N];

	(void)state;
	for (unsigned d = 0; d < TC_SOBOL_MAX_DIMS; d++) {
		for (int k = 1; k <= K; k++) {
			uint64_t n = 1ULL << k;

			memset(hit, 0, n);
			memset(rhit, 0, n);
			for (uint64_t i = 0; i < n; i++) {
				hit[tc_sobol_get(s, d, i) >> (64 - k)]++;
				rhit[tc_sobol_raw(s, d, i) >> (32 - k)]++;
			}
			for (uint64_t j = 0; j < n; j++)
				if (hit[j] != 1 || rhit[j] != 1)
					fail_msg("dimension %u, %llu points: interval "
						 "%llu holds %d scrambled, %d raw",
						 d, (unsigned long long)n,
						 (unsigned long long)j, hit[j], rhit[j]);
		}
	}
	tc_sobol_free(s);
}

/* The first two dimensions form a (0, m, 2)-net: every box 2^-a by
 * 2^-(m-a) holds exactly one of the first 2^m points. */
static void test_two_dimensional_net(void **state)
{
	enum { M = 8, N = 1 << M };
	struct tc_sobol *s = sobol(2, 9);
	unsigned char hit[N];

	(void)state;
	for (int a = 0; a <= M; a++) {
		memset(hit, 0, sizeof(hit));
		for (uint64_t i = 0; i < N; i++) {
			uint64_t x = a ? tc_sobol_get(s, 0, i) >> (64 - a) : 0;
			uint64_t y = a < M ? tc_sobol_get(s, 1, i) >> (64 - (M - a)) : 0;

			hit[(x << (M - a)) | y]++;
		}
		for (int j = 0; j < N; j++)
			assert_int_equal(hit[j], 1);
	}
	tc_sobol_free(s);
}

/* Warnock's formula for the L2 star discrepancy of n points in [0,1]^2. */
static double l2_star(const double (*p)[2], int n)
{
	double a = 0, b = 0;

	for (int i = 0; i < n; i++) {
		b += (1 - p[i][0] * p[i][0]) * (1 - p[i][1] * p[i][1]);
		for (int j = 0; j < n; j++)
			a += (1 - fmax(p[i][0], p[j][0])) * (1 - fmax(p[i][1], p[j][1]));
	}
	return sqrt(1.0 / 9 - b / (2.0 * n) + a / ((double)n * n));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void test_lower_discrepancy_than_random(void **state)
{
	enum { N = 256, SEEDS = 15 };
	static double pts[N][2];
	double ds[SEEDS], dr[SEEDS];

	(void)state;
	for (int seed = 0; seed < SEEDS; seed++) {
		struct tc_sobol *s = sobol(2, (uint64_t)seed);
		struct tc_rng r;

		for (int i = 0; i < N; i++)
			for (unsigned d = 0; d < 2; d++)
				pts[i][d] = (double)(tc_sobol_get(s, d, (uint64_t)i) >> 11) *
					    0x1.0p-53;
		ds[seed] = l2_star(pts, N);
		tc_rng_seed(&r, (uint64_t)seed);
		for (int i = 0; i < N; i++)
			for (int d = 0; d < 2; d++)
				pts[i][d] = tc_rng_unit(&r);
		dr[seed] = l2_star(pts, N);
		tc_sobol_free(s);
	}
	qsort(ds, SEEDS, sizeof(double), cmp_double);
	qsort(dr, SEEDS, sizeof(double), cmp_double);
	/* random: about 1/sqrt(n); scrambled Sobol: about log(n)/n */
	if (!(ds[SEEDS / 2] * 4 < dr[SEEDS / 2]))
		fail_msg("median L2 star discrepancy: sobol %g, random %g",
			 ds[SEEDS / 2], dr[SEEDS / 2]);
	/* and the seed matters */
	assert_true(ds[0] != ds[SEEDS - 1]);
}

#define SPEC                                                                   \
	"version: 1\nname: sob\ncommand: [x, '{{lr}}']\nparameters:\n"         \
	"  lr: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-1}\n"        \
	"  wd: {distribution: uniform, min: 0, max: 1}\n"                      \
	"  n: {distribution: int_uniform, min: 1, max: 8}\n"                   \
	"  o: {values: [adam, sgd, lamb]}\n"                                   \
	"  x: {value: 3}\n"                                                    \
	"search: {method: sobol, trials: 8}\n"

static struct tc_spec *parse(const char *yaml)
{
	struct tc_spec *s = NULL;
	struct tc_error err;

	if (tc_spec_parse("t.yaml", yaml, strlen(yaml), &s, &err) != 0)
		fail_msg("spec did not parse: %d:%d: %s", err.line, err.col, err.msg);
	return s;
}

/* The first points for seed 1, pinned: a change to the table, the
 * scrambling or the mapping shows here (and would change every sobol
 * experiment's trials). */
static void test_plan_golden(void **state)
{
	static const char *const want[4][4] = {
		{"0.05970492870143394", "0.6346105696306482", "8", "lamb"},
		{"0.0009851967901236204", "0.4105993714855408", "4", "adam"},
		{"3.8838716365418255e-05", "0.9193808538033137", "5", "sgd"},
		{"0.004032840463366316", "0.17301579579073267", "1", "sgd"},
	};
	struct tc_spec *s = parse(SPEC);
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	int seen_n[9] = {0}, seen_wd[8] = {0};

	(void)state;
	assert_int_equal(tc_plan_new(s, 1, &p, &err), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(tc_plan_next(p, &t, &err), 1);
		if (i < 4)
			for (int k = 0; k < 4; k++)
				assert_string_equal(t->values[k].text, want[i][k]);
		assert_string_equal(t->values[4].text, "3");
		seen_n[t->values[2].i]++;
		seen_wd[(int)(t->values[1].f * 8)]++;
	}
	assert_int_equal(tc_plan_next(p, &t, &err), 0);
	/* 8 points: each integer of [1, 8] once, each eighth of wd once */
	for (int k = 1; k <= 8; k++)
		assert_int_equal(seen_n[k], 1);
	for (int k = 0; k < 8; k++)
		assert_int_equal(seen_wd[k], 1);
	tc_plan_free(p);
	tc_spec_free(s);
}

static void ids(struct tc_spec *s, uint64_t seed, char out[][TC_TRIAL_ID_LEN + 1],
		int n)
{
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;

	assert_int_equal(tc_plan_new(s, seed, &p, &err), 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(tc_plan_next(p, &t, &err), 1);
		memcpy(out[i], t->id, sizeof(out[i]));
	}
	tc_plan_free(p);
}

static void test_plan_seeded_and_deduplicated(void **state)
{
	struct tc_spec *s = parse(SPEC);
	char a[8][TC_TRIAL_ID_LEN + 1], b[8][TC_TRIAL_ID_LEN + 1],
		c[8][TC_TRIAL_ID_LEN + 1];

	(void)state;
	ids(s, 5, a, 8);
	ids(s, 5, b, 8);
	ids(s, 6, c, 8);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
	tc_spec_free(s);

	/* a space of 6 points: 6 distinct trials, then a note; excludes and
	 * includes as random search has them */
	s = parse("version: 1\nname: d\ncommand: [x]\nparameters:\n"
		  "  a: {values: [1, 2, 3]}\n  b: {values: [x, y]}\n"
		  "search: {method: sobol, trials: 10, seed: 3,"
		  " exclude: [{a: 2, b: y}], include: [{a: 9, b: x}]}\n");
	{
		struct tc_plan *p = NULL;
		const struct tc_trial *t;
		struct tc_error err;
		int n = 0, included = 0;

		assert_int_equal(tc_plan_new(s, 3, &p, &err), 0);
		while (tc_plan_next(p, &t, &err) == 1) {
			n++;
			included += t->included;
			assert_false(t->values[0].i == 2 && !strcmp(t->values[1].text, "y"));
		}
		assert_int_equal(n, 6);
		assert_int_equal(included, 1);
		assert_non_null(tc_plan_note(p));
		tc_plan_free(p);
	}
	tc_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_textbook_points),
		cmocka_unit_test(test_stratified_every_dimension),
		cmocka_unit_test(test_two_dimensional_net),
		cmocka_unit_test(test_lower_discrepancy_than_random),
		cmocka_unit_test(test_plan_golden),
		cmocka_unit_test(test_plan_seeded_and_deduplicated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
