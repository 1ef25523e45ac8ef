/*
 * test_dist.c — the W&B distributions as parameter kinds: the portable
 * quantile functions against known values, the moments and ranges of
 * many seeded draws through a random search, categorical weights, sobol
 * through the same quantiles, determinism (values written down, so a
 * machine that draws differently fails here), and the loader's errors
 * for bad arguments at their line:col.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "search/dist.h"
#include "search/pmath.h"
#include "search/search.h"
#include "spec/spec.h"

static struct tc_spec *parse(const char *yaml)
{
	struct tc_spec *s = NULL;
	struct tc_error err;

	tc_error_clear(&err);
	if (tc_spec_parse("t.yaml", yaml, strlen(yaml), &s, &err) != 0)
		fail_msg("spec did not parse: %d:%d: %s", err.line, err.col,
			 err.msg);
	return s;
}

static void expect_error(const char *yaml, int line, int col, const char *sub)
{
	struct tc_spec *s = NULL;
	struct tc_error err;

	tc_error_clear(&err);
	if (tc_spec_parse("t.yaml", yaml, strlen(yaml), &s, &err) == 0) {
		tc_spec_free(s);
		fail_msg("expected an error containing '%s'", sub);
	}
	if (err.line != line || err.col != col || !strstr(err.msg, sub))
		fail_msg("expected %d:%d '%s', got %d:%d %s", line, col, sub,
			 err.line, err.col, err.msg);
}

static void close_to(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

static void test_quantile_functions(void **state)
{
	(void)state;
	close_to(tc_pmath_ndtri(0.975), 1.959963984540054, 1e-12);
	close_to(tc_pmath_ndtri(0.5), 0.0, 1e-15);
	close_to(tc_pmath_ndtri(1e-10), -6.361340902404056, 1e-10);
	close_to(tc_pmath_ndtri(0.2), -0.8416212335729143, 1e-12);
	for (double p = 1e-12; p < 1; p = p * 3.7 + 1e-3) {
		double z = tc_pmath_ndtri(p);

		close_to(tc_pmath_ndtr(z), p, p * 1e-11);
	}
	close_to(tc_pmath_lgamma(0.5), 0.5723649429247001, 1e-14);
	close_to(tc_pmath_lgamma(1.0), 0.0, 1e-14);
	close_to(tc_pmath_lgamma(10.0), 12.801827480081469, 1e-12);
	close_to(tc_pmath_lgamma(100.0), 359.13420536957540, 1e-10);
	/* Beta(2, 3) at 1/2 is 11/16; Beta(1, 1) is uniform */
	close_to(tc_pmath_betainc(2, 3, 0.5), 0.6875, 1e-14);
	close_to(tc_pmath_betainc(1, 1, 0.3), 0.3, 1e-14);
	close_to(tc_pmath_betainc(0.5, 0.5, 0.5), 0.5, 1e-13);
	for (double a = 0.3; a < 20; a *= 2.3)
		for (double p = 0.001; p < 1; p += 0.0713) {
			double x = tc_pmath_betaincinv(a, 2.5, p);

			close_to(tc_pmath_betainc(a, 2.5, x), p, 1e-12);
		}
	assert_true(tc_pmath_betaincinv(2, 2, 0) == 0);
	assert_true(tc_pmath_betaincinv(2, 2, 1) == 1);
}

#define HEAD "version: 1\nname: d\ncommand: [x]\nparameters:\n"

/* n random draws of parameter 0 of spec, as doubles. */
static double *draws(const char *spec, size_t n, uint64_t seed)
{
	struct tc_spec *s = parse(spec);
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	double *x = calloc(n, sizeof(*x));
	size_t k = 0;

	assert_non_null(x);
	assert_int_equal(tc_plan_new(s, seed, &p, &err), 0);
	while (k < n && tc_plan_next(p, &t, &err) == 1)
		x[k++] = t->values[0].f;
	assert_int_equal(k, n);
	tc_plan_free(p);
	tc_spec_free(s);
	return x;
}

static void moments(const double *x, size_t n, double *mean, double *var)
{
	double m = 0, v = 0;

	for (size_t i = 0; i < n; i++)
		m += x[i];
	m /= (double)n;
	for (size_t i = 0; i < n; i++)
		v += (x[i] - m) * (x[i] - m);
	*mean = m;
	*var = v / (double)(n - 1);
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define N 20000

static void test_normal_moments(void **state)
{
	double *x, m, v;

	(void)state;
	x = draws(HEAD "  a: {distribution: normal, mu: 3, sigma: 2}\n"
		       "search: {method: random, trials: 20000}\n", N, 11);
	moments(x, N, &m, &v);
	close_to(m, 3.0, 0.05);
	close_to(sqrt(v), 2.0, 0.05);
	qsort(x, N, sizeof(*x), dcmp);
	/* the quartiles of N(3, 2): 3 -+ 2 * 0.6745 */
	close_to(x[N / 4], 3 - 2 * 0.6744897501960817, 0.06);
	close_to(x[3 * N / 4], 3 + 2 * 0.6744897501960817, 0.06);
	free(x);
	/* defaults: N(0, 1) */
	x = draws(HEAD "  a: {distribution: normal}\n"
		       "search: {method: random, trials: 20000}\n", N, 12);
	moments(x, N, &m, &v);
	close_to(m, 0.0, 0.03);
	close_to(v, 1.0, 0.04);
	free(x);
}

static void test_log_normal_and_beta(void **state)
{
	double *x, m, v;

	(void)state;
	x = draws(HEAD "  a: {distribution: log_normal, mu: 1, sigma: 0.5}\n"
		       "search: {method: random, trials: 20000}\n", N, 5);
	qsort(x, N, sizeof(*x), dcmp);
	close_to(x[N / 2], exp(1.0), 0.05); /* median e^mu */
	assert_true(x[0] > 0);
	free(x);

	x = draws(HEAD "  a: {distribution: beta, a: 2, b: 5}\n"
		       "search: {method: random, trials: 20000}\n", N, 6);
	moments(x, N, &m, &v);
	close_to(m, 2.0 / 7, 0.005);
	close_to(v, 10.0 / (49 * 8), 0.001);
	for (size_t i = 0; i < N; i++)
		assert_true(x[i] > 0 && x[i] < 1);
	free(x);
}

static void test_uniform_family(void **state)
{
	double *x, m, v;

	(void)state;
	/* exp_uniform: the log of the value is uniform over the exponents */
	x = draws(HEAD "  a: {distribution: exp_uniform, min: -9, max: -2}\n"
		       "search: {method: random, trials: 20000}\n", N, 7);
	for (size_t i = 0; i < N; i++) {
		assert_true(x[i] >= exp(-9.0) * (1 - 1e-12));
		assert_true(x[i] <= exp(-2.0) * (1 + 1e-12));
		x[i] = log(x[i]);
	}
	moments(x, N, &m, &v);
	close_to(m, -5.5, 0.05);
	close_to(v, 49.0 / 12, 0.1);
	free(x);

	/* inv_exp_uniform: e^-U(1, 3), so within [e^-3, e^-1] */
	x = draws(HEAD "  a: {distribution: inv_exp_uniform, min: 1, max: 3}\n"
		       "search: {method: random, trials: 20000}\n", N, 8);
	for (size_t i = 0; i < N; i++) {
		assert_true(x[i] >= exp(-3.0) * (1 - 1e-12));
		assert_true(x[i] <= exp(-1.0) * (1 + 1e-12));
		x[i] = log(x[i]);
	}
	moments(x, N, &m, &v);
	close_to(m, -2.0, 0.03);
	free(x);

	/* q_uniform: multiples of q, the end points half as likely */
	x = draws(HEAD "  a: {distribution: q_uniform, min: 0, max: 10, "
		       "q: 2.5}\n"
		       "  i: {distribution: int_uniform, min: 0, max: 1000000}\n"
		       "search: {method: random, trials: 20000}\n", N, 9);
	{
		size_t c[5] = {0};

		for (size_t i = 0; i < N; i++) {
			double k = x[i] / 2.5;

			assert_true(k == floor(k) && k >= 0 && k <= 4);
			c[(int)k]++;
		}
		close_to((double)c[0] / N, 0.125, 0.01);
		close_to((double)c[2] / N, 0.25, 0.015);
		close_to((double)c[4] / N, 0.125, 0.01);
	}
	free(x);
}

static void test_quantised_integers(void **state)
{
	struct tc_spec *s;
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	int n = 0;

	(void)state;
	s = parse(HEAD "  a: {distribution: q_log_uniform_values, min: 1, "
		       "max: 1000, q: 1}\n"
		       "  b: {distribution: q_normal, mu: 10, sigma: 3}\n"
		       "  c: {distribution: q_beta, a: 2, b: 2, q: 0.25}\n"
		       "search: {method: random, trials: 200}\n");
	assert_int_equal(tc_plan_new(s, 3, &p, &err), 0);
	while (tc_plan_next(p, &t, &err) == 1) {
		/* q written as an integer: integers */
		assert_int_equal(t->values[0].type, TC_V_INT);
		assert_true(t->values[0].i >= 1 && t->values[0].i <= 1000);
		/* q defaults to 1.0, W&B's: whole floats */
		assert_int_equal(t->values[1].type, TC_V_FLOAT);
		assert_true(t->values[1].f == floor(t->values[1].f));
		assert_non_null(strchr(t->values[1].text, '.'));
		assert_true(t->values[2].f * 4 == floor(t->values[2].f * 4));
		n++;
	}
	assert_true(n > 50); /* repeats of the few points are skipped */
	tc_plan_free(p);
	tc_spec_free(s);
}

static void test_categorical_probabilities(void **state)
{
	struct tc_spec *s;
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	size_t c[3] = {0};
	int n = 0;

	(void)state;
	s = parse(HEAD "  o: {values: [adam, sgd, lamb], probabilities: "
		       "[0.7, 0.2, 0.1]}\n"
		       "  i: {distribution: int_uniform, min: 0, max: 1000000}\n"
		       "search: {method: random, trials: 20000}\n");
	assert_int_equal(tc_plan_new(s, 4, &p, &err), 0);
	while (tc_plan_next(p, &t, &err) == 1) {
		c[t->values[0].text[0] == 'a' ? 0
		  : t->values[0].text[0] == 's' ? 1 : 2]++;
		n++;
	}
	assert_int_equal(n, 20000);
	close_to((double)c[0] / n, 0.7, 0.015);
	close_to((double)c[1] / n, 0.2, 0.015);
	close_to((double)c[2] / n, 0.1, 0.01);
	tc_plan_free(p);
	tc_spec_free(s);
}

/* The values of a seeded search, written down: every machine must draw
 * these (pmath.h), or trial ids would differ between machines. */
static void test_golden_values(void **state)
{
	static const char spec[] =
		HEAD "  a: {distribution: normal, mu: 1, sigma: 2}\n"
		     "  b: {distribution: beta, a: 2, b: 5}\n"
		     "  c: {distribution: exp_uniform, min: -9, max: -2}\n"
		     "  d: {distribution: q_log_normal, mu: 2, sigma: 1, q: 1}\n"
		     "  e: {values: [x, y, z], probabilities: [0.5, 0.3, 0.2]}\n"
		     "search: {method: random, trials: 3, seed: 42}\n";
	static const char *const want[] = {
		"f2e02214a9f9 -1.7590954506120635 0.21398696569651848 "
		"0.014411970647012443 31 z",
		"c8508aab20da 2.475978179246368 0.3712053369511744 "
		"0.04736172373566033 15 y",
		"a4478f80d1cf 1.9491378472590473 0.177984803623829 "
		"0.03361341898129753 5 y",
	};
	struct tc_spec *s = parse(spec);
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	int k = 0;

	(void)state;
	for (int round = 0; round < 2; round++) {
		assert_int_equal(tc_plan_new(s, 42, &p, &err), 0);
		for (k = 0; tc_plan_next(p, &t, &err) == 1; k++) {
			char line[512];

			snprintf(line, sizeof(line), "%s %s %s %s %s %s", t->id,
				 t->values[0].text, t->values[1].text,
				 t->values[2].text, t->values[3].text,
				 t->values[4].text);
			if (getenv("TC_PRINT_GOLDEN"))
				printf("\"%s\",\n", line);
			else
				assert_string_equal(line, want[k]);
		}
		assert_int_equal(k, 3);
		tc_plan_free(p);
	}
	tc_spec_free(s);
}

/* sobol goes through the same quantile functions: its 2^k first points
 * stratify each parameter's distribution. */
static void test_sobol_quantiles(void **state)
{
	struct tc_spec *s;
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	int below = 0, n = 0;

	(void)state;
	s = parse(HEAD "  a: {distribution: normal, mu: 0, sigma: 1}\n"
		       "  b: {distribution: beta, a: 3, b: 3}\n"
		       "search: {method: sobol, trials: 256}\n");
	assert_int_equal(tc_plan_new(s, 9, &p, &err), 0);
	while (tc_plan_next(p, &t, &err) == 1) {
		below += t->values[0].f < 0;
		assert_true(t->values[1].f > 0 && t->values[1].f < 1);
		n++;
	}
	assert_int_equal(n, 256);
	assert_int_equal(below, 128); /* exactly half below the median */
	tc_plan_free(p);
	tc_spec_free(s);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error(HEAD "  a: {distribution: normal, mu: 0, sigma: -1}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 43, "sigma must be >= 0");
	expect_error(HEAD "  a: {distribution: beta, a: 0, b: 1}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 30, "a must be > 0");
	expect_error(HEAD "  a: {distribution: q_uniform, min: 0, max: 1, "
			  "q: 0}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 51, "q must be > 0");
	expect_error(HEAD "  a: {distribution: uniform, min: 0, max: 1, "
			  "q: 1}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 46, "q does not go with distribution uniform");
	expect_error(HEAD "  a: {distribution: normal, min: 0}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 29, "min does not go with distribution normal");
	expect_error(HEAD "  a: {distribution: log_uniform_values, min: 0, "
			  "max: 1}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 46, "needs min > 0");
	expect_error(HEAD "  a: {distribution: q_log_uniform, min: 0, "
			  "max: 1}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 21, "q_exp_uniform");
	expect_error(HEAD "  a: {distribution: gauss}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 21, "unknown parameters.a.distribution");
	expect_error(HEAD "  a: {values: [1, 2], probabilities: [0.5, 0.6]}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 38, "sum to 1.1");
	expect_error(HEAD "  a: {values: [1, 2], probabilities: [1]}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 38, "1 entries for 2 values");
	expect_error(HEAD "  a: {values: [1, 2], probabilities: [0.5, 0.5]}\n",
		     5, 23, "a grid runs every value");
	expect_error(HEAD "  a: {value: 1, probabilities: [1]}\n",
		     5, 17, "probabilities go with values");
	expect_error(HEAD "  a: {distribution: exp_uniform, min: 1, max: 800}\n"
			  "search: {method: random, trials: 2}\n",
		     5, 47, "natural-log exponents");
	/* a grid over a distribution alone draws it once: refused as for
	 * uniform */
	expect_error(HEAD "  a: {distribution: normal}\n", 5, 3,
		     "grid search needs `values`");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantile_functions),
		cmocka_unit_test(test_normal_moments),
		cmocka_unit_test(test_log_normal_and_beta),
		cmocka_unit_test(test_uniform_family),
		cmocka_unit_test(test_quantised_integers),
		cmocka_unit_test(test_categorical_probabilities),
		cmocka_unit_test(test_golden_values),
		cmocka_unit_test(test_sobol_quantiles),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
