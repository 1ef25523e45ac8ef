/*
 * test_search.c — grid and random search: counts with exclude/include and
 * caps, stable ids, seeded determinism, bounds of sampled values.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "search/search.h"
#include "spec/spec.h"

static struct tc_spec *parse(const char *yaml)
{
	struct tc_spec *s = NULL;
	struct tc_error err;

	tc_error_clear(&err);
	if (tc_spec_parse("t.yaml", yaml, strlen(yaml), &s, &err) != 0)
		fail_msg("spec did not parse: %d:%d: %s", err.line, err.col, err.msg);
	return s;
}

static uint64_t count(struct tc_spec *s, uint64_t seed)
{
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	uint64_t n = 0;
	int rc;

	assert_int_equal(tc_plan_new(s, seed, &p, &err), 0);
	while ((rc = tc_plan_next(p, &t, &err)) == 1) {
		assert_int_equal(t->index, n);
		n++;
	}
	assert_int_equal(rc, 0);
	tc_plan_free(p);
	return n;
}

#define GRID_HEAD                                                              \
	"version: 1\nname: g\ncommand: [x, '{{lr}}']\nparameters:\n"           \
	"  lr: {values: [0.1, 0.01, 0.001]}\n"                                 \
	"  batch_size: {values: [8, 16, 32]}\n"                                \
	"  optimizer: {values: [adam, lamb]}\n"

static void test_grid_counts(void **state)
{
	struct tc_spec *s;

	(void)state;
	s = parse(GRID_HEAD);
	assert_int_equal(count(s, 0), 18);
	tc_spec_free(s);
	s = parse(GRID_HEAD "search: {exclude: [{optimizer: lamb, batch_size: 8}]}\n");
	assert_int_equal(count(s, 0), 15);
	tc_spec_free(s);
	s = parse(GRID_HEAD "search: {exclude: [{optimizer: lamb, batch_size: 8}],"
			    " include: [{lr: 0.0003, batch_size: 64, optimizer: adam},"
			    " {lr: 0.1, batch_size: 8, optimizer: adam}]}\n");
	assert_int_equal(count(s, 0), 16); /* the second include is a grid point */
	tc_spec_free(s);
	s = parse(GRID_HEAD "search: {trials: 5, include: [{lr: 0.5, batch_size: 8,"
			    " optimizer: adam}]}\n");
	assert_int_equal(count(s, 0), 6);
	tc_spec_free(s);
}

static void test_grid_order_and_ids(void **state)
{
	struct tc_spec *s = parse(GRID_HEAD), *s2;
	struct tc_plan *p = NULL, *p2 = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	char first[13], second[13];

	(void)state;
	assert_int_equal(tc_plan_new(s, 0, &p, &err), 0);
	assert_int_equal(tc_plan_next(p, &t, &err), 1);
	assert_string_equal(t->values[0].text, "0.1");
	assert_string_equal(t->values[2].text, "adam");
	memcpy(first, t->id, 13);
	assert_int_equal(tc_plan_next(p, &t, &err), 1);
	/* the last parameter varies fastest */
	assert_string_equal(t->values[0].text, "0.1");
	assert_string_equal(t->values[1].text, "8");
	assert_string_equal(t->values[2].text, "lamb");
	memcpy(second, t->id, 13);
	assert_string_not_equal(first, second);
	assert_int_equal(strlen(first), 12);

	/* same spec, same ids; another name, other ids */
	s2 = parse(GRID_HEAD);
	assert_int_equal(tc_plan_new(s2, 0, &p2, &err), 0);
	assert_int_equal(tc_plan_next(p2, &t, &err), 1);
	assert_string_equal(t->id, first);
	tc_plan_free(p2);
	tc_spec_free(s2);
	s2 = parse("version: 1\nname: h\ncommand: [x]\nparameters:\n"
		   "  lr: {values: [0.1, 0.01, 0.001]}\n"
		   "  batch_size: {values: [8, 16, 32]}\n"
		   "  optimizer: {values: [adam, lamb]}\n");
	assert_int_equal(tc_plan_new(s2, 0, &p2, &err), 0);
	assert_int_equal(tc_plan_next(p2, &t, &err), 1);
	assert_string_not_equal(t->id, first);
	tc_plan_free(p2);
	tc_spec_free(s2);
	tc_plan_free(p);
	tc_spec_free(s);
}

#define RANDOM_SPEC                                                            \
	"version: 1\nname: r\ncommand: [x]\nparameters:\n"                     \
	"  lr: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-1}\n"        \
	"  drop: {distribution: uniform, min: 0.0, max: 0.5}\n"                \
	"  layers: {distribution: int_uniform, min: 1, max: 4}\n"              \
	"  opt: {values: [adam, sgd]}\n"                                       \
	"search: {method: random, trials: 50}\n"

static void collect(struct tc_spec *s, uint64_t seed, char ids[][13], size_t n)
{
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	size_t i = 0;

	assert_int_equal(tc_plan_new(s, seed, &p, &err), 0);
	while (tc_plan_next(p, &t, &err) == 1) {
		assert_true(i < n);
		assert_true(t->values[0].f >= 1e-5 && t->values[0].f <= 1e-1);
		assert_true(t->values[1].f >= 0.0 && t->values[1].f <= 0.5);
		assert_int_equal(t->values[2].type, TC_V_INT);
		assert_true(t->values[2].i >= 1 && t->values[2].i <= 4);
		/* the text substituted into commands reads back to the value */
		assert_true(strtod(t->values[0].text, NULL) == t->values[0].f);
		memcpy(ids[i++], t->id, 13);
	}
	assert_int_equal(i, n);
	tc_plan_free(p);
}

static void test_random_determinism(void **state)
{
	struct tc_spec *s = parse(RANDOM_SPEC);
	char a[50][13], b[50][13], c[50][13];

	(void)state;
	collect(s, 1, a, 50);
	collect(s, 1, b, 50);
	collect(s, 2, c, 50);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
	tc_spec_free(s);
}

static void test_random_small_space(void **state)
{
	/* 2 x 2 distinct points: asking for 10 gives 4 and a note */
	struct tc_spec *s = parse("version: 1\nname: r\ncommand: [x]\nparameters:\n"
				  "  a: {values: [1, 2]}\n  b: {values: [x, y]}\n"
				  "search: {method: random, trials: 10, seed: 3}\n");
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	int n = 0;

	(void)state;
	assert_int_equal(tc_plan_new(s, 3, &p, &err), 0);
	while (tc_plan_next(p, &t, &err) == 1)
		n++;
	assert_int_equal(n, 4);
	assert_non_null(tc_plan_note(p));
	tc_plan_free(p);
	tc_spec_free(s);
}

static void test_format_double(void **state)
{
	char buf[40];

	(void)state;
	tc_format_double(0.1, buf, sizeof(buf));
	assert_string_equal(buf, "0.1");
	tc_format_double(1.0, buf, sizeof(buf));
	assert_string_equal(buf, "1.0");
	tc_format_double(1e-5, buf, sizeof(buf));
	assert_string_equal(buf, "1e-05");
	tc_format_double(0.1 + 0.2, buf, sizeof(buf));
	assert_true(strtod(buf, NULL) == 0.1 + 0.2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grid_counts),
		cmocka_unit_test(test_grid_order_and_ids),
		cmocka_unit_test(test_random_determinism),
		cmocka_unit_test(test_random_small_space),
		cmocka_unit_test(test_format_double),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
