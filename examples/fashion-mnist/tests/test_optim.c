/*
 * test_optim.c — each optimizer's first two steps against values
 * computed by hand from the update rules in optim.h (the arithmetic is
 * spelled out next to each expected value), plus its state size and
 * name parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "optim.h"

#define near(a, b) assert_true(fabs((double)(a) - (double)(b)) < 2e-6)

static struct fm_tensor one_tensor(size_t len)
{
	struct fm_tensor t = {0, len, 1, 1, 0};

	return t;
}

static void test_sgd(void **state)
{
	struct fm_optim_config c;
	struct fm_optim o;
	struct fm_tensor t = one_tensor(2);
	float w[2] = {1.0f, -2.0f}, g[2] = {0.5f, 0.25f};

	(void)state;
	fm_optim_defaults(&c, FM_OPT_SGD, 0.1f, 0.01f);
	assert_int_equal(fm_optim_init(&o, &c, 2, NULL), 0);
	assert_int_equal(fm_optim_state_len(&o), 0);
	fm_optim_step(&o, &t, 1, w, g);
	near(w[0], 0.949);	/* 1 − 0.1·(0.5 + 0.01·1) */
	near(w[1], -2.023);	/* −2 − 0.1·(0.25 + 0.01·(−2)) */
	fm_optim_step(&o, &t, 1, w, g);
	near(w[0], 0.949 - 0.1 * (0.5 + 0.01 * 0.949));
	fm_optim_free(&o);
}

static void test_momentum(void **state)
{
	struct fm_optim_config c;
	struct fm_optim o;
	struct fm_tensor t = one_tensor(1);
	float w = 1.0f, g = 0.5f;

	(void)state;
	fm_optim_defaults(&c, FM_OPT_MOMENTUM, 0.1f, 0.0f);
	assert_true(c.momentum == 0.9f);
	assert_int_equal(fm_optim_init(&o, &c, 1, NULL), 0);
	assert_int_equal(fm_optim_state_len(&o), 1);
	fm_optim_step(&o, &t, 1, &w, &g);
	near(w, 0.95);		/* b = g = 0.5; w = 1 − 0.1·0.5 */
	near(o.state[0], 0.5);
	fm_optim_step(&o, &t, 1, &w, &g);
	near(w, 0.855);		/* b = 0.9·0.5 + 0.5 = 0.95; w = 0.95 − 0.095 */
	near(o.state[0], 0.95);
	fm_optim_free(&o);
}

static void test_adam(void **state)
{
	struct fm_optim_config c;
	struct fm_optim o;
	struct fm_tensor t = one_tensor(2);
	float w[2] = {1.0f, 2.0f}, g[2] = {0.5f, 0.5f};

	(void)state;
	/* element 0 without weight decay: */
	fm_optim_defaults(&c, FM_OPT_ADAM, 0.1f, 0.0f);
	assert_true(c.beta1 == 0.9f && c.beta2 == 0.999f && c.eps == 1e-8f);
	assert_int_equal(fm_optim_init(&o, &c, 1, NULL), 0);
	assert_int_equal(fm_optim_state_len(&o), 2);
	fm_optim_step(&o, &t, 1, w, g);
	/* m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25: w = 1 − 0.1·0.5/0.5 */
	near(w[0], 0.9);
	near(o.state[0], 0.05);
	near(o.state[1], 0.00025);
	g[0] = 0.25f;
	fm_optim_step(&o, &t, 1, w, g);
	/* m = 0.045 + 0.025 = 0.07, v = 0.00024975 + 0.0000625 = 0.00031225,
	 * m̂ = 0.07/0.19, v̂ = 0.00031225/0.001999:
	 * w = 0.9 − 0.1·0.368421/0.395225 = 0.806782 */
	near(w[0], 0.8067820404774624);
	fm_optim_free(&o);

	/* weight decay is L2 added to the gradient (PyTorch Adam):
	 * d = 0.5 + 0.1·2 = 0.7, first step moves by lr: 2 − 0.1;
	 * then d = −0.5 + 0.1·1.9 = −0.31, m = 0.063 − 0.031 = 0.032,
	 * v = 0.0004895 + 0.0000961 → w = 1.868883 */
	w[0] = 2.0f;
	g[0] = 0.5f;
	fm_optim_defaults(&c, FM_OPT_ADAM, 0.1f, 0.1f);
	assert_int_equal(fm_optim_init(&o, &c, 1, NULL), 0);
	fm_optim_step(&o, &t, 1, w, g);
	near(w[0], 1.9000000014285714);
	g[0] = -0.5f;
	fm_optim_step(&o, &t, 1, w, g);
	near(w[0], 1.868882943775352);
	fm_optim_free(&o);
}

static void test_lamb(void **state)
{
	struct fm_optim_config c;
	struct fm_optim o;
	/* two tensors: a weight [3, 4] (norm 5) and a zero bias */
	struct fm_tensor t[2] = {{0, 2, 1, 1, 0}, {2, 1, 1, 1, 1}};
	float w[3] = {3.0f, 4.0f, 0.0f}, g[3] = {1.0f, -1.0f, 2.0f};

	(void)state;
	fm_optim_defaults(&c, FM_OPT_LAMB, 0.1f, 0.01f);
	assert_true(c.eps == 1e-6f);
	assert_int_equal(fm_optim_init(&o, &c, 3, NULL), 0);
	assert_int_equal(fm_optim_state_len(&o), 6);
	fm_optim_step(&o, t, 2, w, g);
	/* step 1: m̂ = g, v̂ = g², so r = g/(|g| + 1e-6) + 0.01·w
	 *   = [1.03, −0.96] (to 1e-6); φ = 5/‖r‖ = 3.551108;
	 *   w = [3 − 0.1·φ·1.03, 4 + 0.1·φ·0.96] */
	near(w[0], 2.6342362634853225);
	near(w[1], 4.340905982714914);
	/* the bias has ‖w‖ = 0, so φ = 1: w = −0.1·2/(2 + 1e-6) */
	near(w[2], -0.099999950000025);
	g[0] = 0.5f;
	g[1] = 0.5f;
	fm_optim_step(&o, t, 1, w, g);	/* the weight tensor only */
	/* step 2: m = [0.14, −0.04], v = [0.00124900, 0.00124900],
	 * φ = 5.159686 → w = [2.139670, 4.455930] */
	near(w[0], 2.139669575388299);
	near(w[1], 4.455929656152401);
	fm_optim_free(&o);
}

static void test_names(void **state)
{
	enum fm_optim_kind k;

	(void)state;
	assert_int_equal(fm_optim_parse("lamb", &k), 0);
	assert_int_equal(k, FM_OPT_LAMB);
	assert_int_equal(fm_optim_parse("momentum", &k), 0);
	assert_int_equal(k, FM_OPT_MOMENTUM);
	assert_int_equal(fm_optim_parse("rmsprop", &k), FM_EINVAL);
	assert_string_equal(fm_optim_name(FM_OPT_ADAM), "adam");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgd),
		cmocka_unit_test(test_momentum),
		cmocka_unit_test(test_adam),
		cmocka_unit_test(test_lamb),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
