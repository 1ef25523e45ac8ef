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

/* 65 binary parameters, capped at 10 trials, and an exclude that rejects
 * the first half (2^64 points): the odometer jumps past the excluded slice
 * instead of walking it. */
static void test_grid_exclude_jumps(void **state)
{
	char yaml[8192];
	size_t n;
	struct tc_spec *s;
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	int k = 0;

	(void)state;
	n = (size_t)snprintf(yaml, sizeof(yaml),
			     "version: 1\nname: g\ncommand: [x]\nparameters:\n");
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
				      "  p%02d: {values: [0, 1]}\n", i);
	snprintf(yaml + n, sizeof(yaml) - n,
		 "search: {trials: 10, exclude: [{p00: 0}, {p01: 0, p64: 1}]}\n");
	s = parse(yaml);
	assert_int_equal(tc_plan_new(s, 0, &p, &err), 0);
	while (tc_plan_next(p, &t, &err) == 1) {
		assert_int_equal(t->values[0].i, 1);
		assert_int_equal(t->values[1].i, 0);
		assert_int_equal(t->values[62].i, (k >> 1) & 1);
		assert_int_equal(t->values[63].i, k & 1);
		assert_int_equal(t->values[64].i, 0);
		k++;
	}
	assert_int_equal(k, 10);
	tc_plan_free(p);
	tc_spec_free(s);

	/* the last point excluded: the plan ends (no wrap-around) */
	s = parse("version: 1\nname: g\ncommand: [x]\nparameters:\n"
		  "  a: {values: [0, 1]}\n  b: {values: [0, 1]}\n"
		  "search: {trials: 10, exclude: [{b: 1}, {a: 1}]}\n");
	assert_int_equal(count(s, 0), 1);
	tc_spec_free(s);
}

/* Jumps give exactly the points a plain filter keeps, in the same order. */
static void test_grid_exclude_jumps_exact(void **state)
{
	static const char *const want[] = {
		"0ax0", "0ay0", "0az0", "0bx0", "0bx1", "0by0",
		"0by1", "2ay0", "2az0", "2bx1", "2by0", "2by1",
	};
	const char *caps[] = {"", "trials: 100, "};

	(void)state;
	for (int c = 0; c < 2; c++) {
		char yaml[1024];
		struct tc_spec *s;
		struct tc_plan *p = NULL;
		const struct tc_trial *t;
		struct tc_error err;
		size_t k = 0;

		snprintf(yaml, sizeof(yaml),
			 "version: 1\nname: g\ncommand: [x]\nparameters:\n"
			 "  p1: {values: [0, 1, 2]}\n  p2: {values: [a, b]}\n"
			 "  p3: {values: [x, y, z]}\n  p4: {values: [0, 1]}\n"
			 "search: {%sexclude: [{p2: a, p4: 1}, {p1: 1},"
			 " {p3: z, p2: b}, {p4: 0, p1: 2, p3: x}]}\n",
			 caps[c]);
		s = parse(yaml);
		assert_int_equal(tc_plan_new(s, 0, &p, &err), 0);
		while (tc_plan_next(p, &t, &err) == 1) {
			char got[5];

			assert_true(k < 12);
			for (int i = 0; i < 4; i++)
				got[i] = t->values[i].text[0];
			got[4] = '\0';
			assert_string_equal(got, want[k]);
			k++;
		}
		assert_int_equal(k, 12);
		tc_plan_free(p);
		tc_spec_free(s);
	}
}

/* int_uniform draws integers over the exact range, whatever its size. */
static void test_int_uniform_exact(void **state)
{
	struct tc_spec *s;
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	int n = 0, seen_lo = 0, seen_hi = 0;

	(void)state;
	/* near the top of int64: min as a double would be 2^63 */
	s = parse("version: 1\nname: r\ncommand: [x]\nparameters:\n"
		  "  a: {distribution: int_uniform, min: 9223372036854775806,"
		  " max: 9223372036854775807}\n"
		  "search: {method: random, trials: 2}\n");
	assert_int_equal(tc_plan_new(s, 7, &p, &err), 0);
	while (tc_plan_next(p, &t, &err) == 1) {
		assert_int_equal(t->values[0].type, TC_V_INT);
		seen_lo += t->values[0].i == INT64_MAX - 1;
		seen_hi += t->values[0].i == INT64_MAX;
		n++;
	}
	assert_int_equal(n, 2);
	assert_int_equal(seen_lo, 1);
	assert_int_equal(seen_hi, 1);
	tc_plan_free(p);
	tc_spec_free(s);

	/* above 2^53, where doubles skip odd numbers */
	s = parse("version: 1\nname: r\ncommand: [x]\nparameters:\n"
		  "  a: {distribution: int_uniform, min: 9007199254740993,"
		  " max: 9007199254740993}\n"
		  "  b: {values: [1, 2]}\n"
		  "search: {method: random, trials: 1}\n");
	assert_int_equal(tc_plan_new(s, 7, &p, &err), 0);
	assert_int_equal(tc_plan_next(p, &t, &err), 1);
	assert_true(t->values[0].i == 9007199254740993LL);
	assert_string_equal(t->values[0].text, "9007199254740993");
	tc_plan_free(p);
	tc_spec_free(s);

	/* the full int64 range: as many distinct trials as asked */
	s = parse("version: 1\nname: r\ncommand: [x]\nparameters:\n"
		  "  a: {distribution: int_uniform, min: -9223372036854775808,"
		  " max: 9223372036854775807}\n"
		  "search: {method: random, trials: 50}\n");
	assert_int_equal(count(s, 7), 50);
	tc_spec_free(s);
}

/* Ordinary ranges keep the values they always drew (trial ids and values of
 * existing experiments must not change). */
static void test_int_uniform_stream_pinned(void **state)
{
	static const long long want[3][3] = {
		{3, 210884929, -4}, {2, 242265682, -4}, {1, 32974182, -3}};
	struct tc_spec *s = parse(
		"version: 1\nname: gold-b\ncommand: [x]\nparameters:\n"
		"  lr: {values: [0.1, 0.01, 0.001]}\n"
		"  opt: {values: [adam, sgd]}\n"
		"  wd: {distribution: log_uniform, min: 1.0e-6, max: 1.0e-2}\n"
		"  dr: {distribution: uniform, min: 0.0, max: 0.5}\n"
		"  layers: {distribution: int_uniform, min: 1, max: 4}\n"
		"  big: {distribution: int_uniform, min: -1000000, max: 1000000000}\n"
		"  neg: {distribution: int_uniform, min: -7, max: -3}\n"
		"search: {method: random, trials: 3, seed: 3}\n");
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	int k = 0;

	(void)state;
	assert_int_equal(tc_plan_new(s, 3, &p, &err), 0);
	while (tc_plan_next(p, &t, &err) == 1) {
		assert_true(k < 3);
		for (int i = 0; i < 3; i++)
			assert_true(t->values[4 + i].i == want[k][i]);
		k++;
	}
	assert_int_equal(k, 3);
	tc_plan_free(p);
	tc_spec_free(s);
}

/* An include entry equal to a grid point whose other parameters are drawn
 * is that point: listed once, not twice under one id. */
static void test_grid_include_of_drawn_point(void **state)
{
	const char *head =
		"version: 1\nname: g\ncommand: [x, '{{lr}}']\nparameters:\n"
		"  lr: {values: [0.1, 0.01]}\n"
		"  wd: {distribution: uniform, min: 0.0, max: 1.0}\n";
	char yaml[1024], ids[3][13];
	struct tc_spec *s = parse(head);
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	size_t n = 0;

	(void)state;
	/* the value the grid draws for lr=0.1 */
	assert_int_equal(tc_plan_new(s, 3, &p, &err), 0);
	assert_int_equal(tc_plan_next(p, &t, &err), 1);
	snprintf(yaml, sizeof(yaml),
		 "%ssearch: {include: [{lr: 0.1, wd: %s}, {lr: 0.1, wd: 0.5}]}\n",
		 head, t->values[1].text);
	tc_plan_free(p);
	tc_spec_free(s);
	s = parse(yaml);
	assert_int_equal(tc_plan_new(s, 3, &p, &err), 0);
	while (tc_plan_next(p, &t, &err) == 1) {
		assert_true(n < 3);
		memcpy(ids[n++], t->id, 13);
	}
	/* the two grid points and the one new include point */
	assert_int_equal(n, 3);
	assert_string_not_equal(ids[2], ids[0]);
	assert_string_not_equal(ids[2], ids[1]);
	tc_plan_free(p);
	tc_spec_free(s);
}

/* ---- conditional parameters (when:) ------------------------------------ */

/* Every trial of a plan, its values' texts joined ("-" for an absent
 * parameter) and its id, into rows (at most n); returns how many. */
static size_t plan_rows(struct tc_spec *s, uint64_t seed, char rows[][160],
			char ids[][13], size_t n)
{
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	size_t k = 0;
	int rc;

	assert_int_equal(tc_plan_new(s, seed, &p, &err), 0);
	while ((rc = tc_plan_next(p, &t, &err)) == 1) {
		size_t used = 0;

		assert_true(k < n);
		rows[k][0] = '\0';
		for (size_t i = 0; i < s->nparams; i++)
			used += (size_t)snprintf(rows[k] + used, 160 - used,
						 "%s%s", i ? " " : "",
						 t->values[i].type == TC_V_ABSENT
							 ? "-"
							 : t->values[i].text);
		memcpy(ids[k++], t->id, 13);
	}
	assert_int_equal(rc, 0);
	tc_plan_free(p);
	return k;
}

#define WHEN_GRID                                                              \
	"version: 1\nname: w\ncommand: [x]\nparameters:\n"                     \
	"  optimizer: {values: [adam, sgd, momentum]}\n"                       \
	"  momentum: {values: [0.9, 0.99], when: {optimizer: [sgd, momentum]}}\n" \
	"  lr: {values: [0.1, 0.01]}\n"

/* A grid has the points of the parameters each point has: an absent
 * parameter multiplies nothing; exclude and include meet when:. */
static void test_when_grid(void **state)
{
	static const char *const want[] = {
		"adam - 0.1",      "adam - 0.01",      "sgd 0.9 0.1",
		"sgd 0.9 0.01",    "sgd 0.99 0.1",     "sgd 0.99 0.01",
		"momentum 0.9 0.1", "momentum 0.9 0.01", "momentum 0.99 0.1",
		"momentum 0.99 0.01",
	};
	char rows[16][160], ids[16][13], rows2[16][160], ids2[16][13];
	struct tc_spec *s = parse(WHEN_GRID);
	size_t n;

	(void)state;
	assert_int_equal(tc_spec_grid_size(s), 12); /* an upper bound */
	n = plan_rows(s, 0, rows, ids, 16);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(rows[i], want[i]);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	tc_spec_free(s);

	/* named before the parameter it depends on: the same points, the
	 * odometer walking optimizer first */
	s = parse("version: 1\nname: w\ncommand: [x]\nparameters:\n"
		  "  momentum: {values: [0.9, 0.99], when: {optimizer: [sgd, momentum]}}\n"
		  "  optimizer: {values: [adam, sgd, momentum]}\n"
		  "  lr: {values: [0.1, 0.01]}\n");
	assert_int_equal(plan_rows(s, 0, rows2, ids2, 16), 10);
	assert_string_equal(rows2[0], "- adam 0.1");
	assert_string_equal(rows2[2], "0.9 sgd 0.1");
	assert_string_equal(rows2[9], "0.99 momentum 0.01");
	tc_spec_free(s);

	/* exclude: an entry naming momentum matches only trials that have
	 * it; one naming optimizer jumps over its slice */
	s = parse(WHEN_GRID "search: {exclude: [{momentum: 0.99}]}\n");
	assert_int_equal(count(s, 0), 6);
	tc_spec_free(s);
	s = parse(WHEN_GRID "search: {exclude: [{optimizer: sgd}, {optimizer: adam}]}\n");
	assert_int_equal(plan_rows(s, 0, rows, ids, 16), 4);
	assert_string_equal(rows[0], "momentum 0.9 0.1");
	tc_spec_free(s);
	/* include: a grid point is not repeated, a new one is added */
	s = parse(WHEN_GRID "search: {include: [{optimizer: sgd, momentum: 0.9, lr: 0.1},"
		  " {optimizer: adam, lr: 0.1}, {optimizer: adam, lr: 0.5}]}\n");
	n = plan_rows(s, 0, rows, ids, 16);
	assert_int_equal(n, 11);
	assert_string_equal(rows[10], "adam - 0.5");
	tc_spec_free(s);
	/* a cap counts points, not the product */
	s = parse(WHEN_GRID "search: {trials: 3}\n");
	assert_int_equal(count(s, 0), 3);
	tc_spec_free(s);

	/* a chain, a conditional constant, a derived parameter of a
	 * conditional one, and a distribution drawn only where present */
	s = parse("version: 1\nname: w\ncommand: [x]\nparameters:\n"
		  "  a: {values: [1, 2]}\n"
		  "  b: {values: [x, y], when: {a: 2}}\n"
		  "  c: {value: k, when: {b: y}}\n"
		  "  d: {from: b, map: {x: 10, y: 20}}\n"
		  "  u: {distribution: uniform, min: 0, max: 1, when: {d: 20}}\n");
	n = plan_rows(s, 7, rows, ids, 16);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0], "1 - - - -");
	assert_string_equal(rows[1], "2 x - 10 -");
	assert_memory_equal(rows[2], "2 y k 20 0.", 11);
	tc_spec_free(s);
}

/* Random and sobol search draw a parameter only where the trial has it. */
static void test_when_sampled(void **state)
{
	static const char *const methods[] = {"random", "sobol"};

	(void)state;
	for (size_t m = 0; m < 2; m++) {
		char yaml[1024];
		struct tc_spec *s;
		struct tc_plan *p = NULL;
		const struct tc_trial *t;
		struct tc_error err;
		size_t n = 0, with = 0;
		char ids[40][13], ids2[40][13];

		snprintf(yaml, sizeof(yaml),
			 "version: 1\nname: w\ncommand: [x]\nparameters:\n"
			 "  momentum: {distribution: uniform, min: 0.5, max: 0.99,"
			 " when: {optimizer: [sgd]}}\n"
			 "  wd: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-2,"
			 " when: {optimizer: adam}}\n"
			 "  optimizer: {values: [adam, sgd]}\n"
			 "  layers: {distribution: int_uniform, min: 1, max: 4,"
			 " when: {optimizer: sgd}}\n"
			 "  tag: {value: t, when: {optimizer: adam}}\n"
			 "search: {method: %s, trials: 40}\n",
			 methods[m]);
		s = parse(yaml);
		assert_int_equal(tc_plan_new(s, 5, &p, &err), 0);
		while (tc_plan_next(p, &t, &err) == 1) {
			int sgd = !strcmp(t->values[2].text, "sgd");
			json_t *o = tc_trial_params_json(s, t->values);

			assert_int_equal(t->values[0].type,
					 sgd ? TC_V_FLOAT : TC_V_ABSENT);
			assert_int_equal(t->values[1].type,
					 sgd ? TC_V_ABSENT : TC_V_FLOAT);
			assert_int_equal(t->values[3].type,
					 sgd ? TC_V_INT : TC_V_ABSENT);
			assert_int_equal(t->values[4].type,
					 sgd ? TC_V_ABSENT : TC_V_STR);
			if (sgd)
				assert_true(t->values[0].f >= 0.5 &&
					    t->values[0].f <= 0.99 &&
					    t->values[3].i >= 1 &&
					    t->values[3].i <= 4);
			else
				assert_true(t->values[1].f >= 1e-5 &&
					    t->values[1].f <= 1e-2);
			/* params.json has the trial's parameters only */
			assert_int_equal(json_object_size(o), 3);
			assert_true((json_object_get(o, "momentum") != NULL) == sgd);
			json_decref(o);
			with += sgd;
			memcpy(ids[n++], t->id, 13);
		}
		tc_plan_free(p);
		assert_int_equal(n, 40);
		assert_true(with > 5 && with < 35);
		/* the same seed, the same trials */
		assert_int_equal(tc_plan_new(s, 5, &p, &err), 0);
		for (size_t i = 0; tc_plan_next(p, &t, &err) == 1; i++)
			memcpy(ids2[i], t->id, 13);
		tc_plan_free(p);
		assert_memory_equal(ids, ids2, sizeof(ids));
		tc_spec_free(s);
	}
}

/* Sobol: each parameter keeps its dimension whether or not another one is
 * present, so an unconditional parameter's values do not depend on when:
 * elsewhere. */
static void test_when_sobol_dims(void **state)
{
	const char *fmt = "version: 1\nname: w\ncommand: [x]\nparameters:\n"
			  "  o: {values: [a, b]}\n"
			  "  x: {distribution: uniform, min: 0, max: 1%s}\n"
			  "  y: {distribution: uniform, min: 0, max: 1}\n"
			  "search: {method: sobol, trials: 16, seed: 9}\n";
	char yaml[512], rows[2][16][160], ids[2][16][13];
	struct tc_spec *s;

	(void)state;
	for (int k = 0; k < 2; k++) {
		snprintf(yaml, sizeof(yaml), fmt, k ? ", when: {o: b}" : "");
		s = parse(yaml);
		assert_int_equal(plan_rows(s, 9, rows[k], ids[k], 16), 16);
		tc_spec_free(s);
	}
	for (size_t i = 0; i < 16; i++) {
		const char *ya = strrchr(rows[0][i], ' ');
		const char *yb = strrchr(rows[1][i], ' ');

		assert_string_equal(ya, yb);
		assert_int_equal(rows[1][i][0] == 'a',
				 strstr(rows[1][i], " - ") != NULL);
	}
}

/* An absent parameter is not part of a trial's id: the id is the one the
 * same values have in a spec without that parameter, and a spec without
 * when: keeps its ids (test_golden_ids pins those). */
static void test_when_ids(void **state)
{
	char rows[16][160], ids[16][13], rows2[16][160], ids2[16][13];
	struct tc_spec *s = parse(WHEN_GRID), *s2;

	(void)state;
	assert_int_equal(plan_rows(s, 0, rows, ids, 16), 10);
	s2 = parse("version: 1\nname: w\ncommand: [x]\nparameters:\n"
		   "  optimizer: {values: [adam]}\n"
		   "  lr: {values: [0.1, 0.01]}\n");
	assert_int_equal(plan_rows(s2, 0, rows2, ids2, 16), 2);
	assert_string_equal(ids[0], ids2[0]);
	assert_string_equal(ids[1], ids2[1]);
	tc_spec_free(s2);
	/* and a present one is: the same values with momentum differ */
	s2 = parse("version: 1\nname: w\ncommand: [x]\nparameters:\n"
		   "  optimizer: {values: [sgd]}\n"
		   "  lr: {values: [0.1]}\n");
	assert_int_equal(plan_rows(s2, 0, rows2, ids2, 16), 1);
	assert_string_not_equal(ids[2], ids2[0]);
	tc_spec_free(s2);
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
		cmocka_unit_test(test_grid_exclude_jumps),
		cmocka_unit_test(test_grid_exclude_jumps_exact),
		cmocka_unit_test(test_int_uniform_exact),
		cmocka_unit_test(test_int_uniform_stream_pinned),
		cmocka_unit_test(test_grid_include_of_drawn_point),
		cmocka_unit_test(test_format_double),
		cmocka_unit_test(test_when_grid),
		cmocka_unit_test(test_when_sampled),
		cmocka_unit_test(test_when_sobol_dims),
		cmocka_unit_test(test_when_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
