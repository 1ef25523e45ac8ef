/*
 * test_golden_ids.c — the trial ids, seeds, values and plan order of two
 * fixed specs, written down literally.
 *
 * A journal finds its trials again by id: `resume`, `resume --force` and
 * every verb that names a trial rely on a spec giving the ids it gave when
 * the experiment was created.  A change to the hashing of parameters, to
 * the text of a value, to the generator or to the order of the plan would
 * pass every other test and orphan the trials of every existing journal.
 * If this test fails, that is what changed: such a change needs a journal
 * migration, not new values here.
 *
 * The specs cover a grid (values, a constant, drawn log-uniform and
 * int-uniform parameters, exclude entries, an include point outside the
 * grid) and a seeded random search (log-uniform, uniform, int-uniform,
 * choices, an exclude entry and an include point).  The spec language has
 * no matrix form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "search/search.h"
#include "spec/spec.h"

struct golden {
	uint64_t index;
	const char *id;
	uint32_t seed;
	const char *values; /* each parameter's text, in spec order */
};

static const char grid_spec[] =
	"version: 1\n"
	"name: golden-grid\n"
	"command: [train, '{{lr}}', '{{opt}}']\n"
	"parameters:\n"
	"  lr: {values: [0.1, 0.01, 0.001]}\n"
	"  opt: {values: [adam, sgd]}\n"
	"  depth: {values: [2, 4]}\n"
	"  wd: {distribution: log_uniform, min: 1.0e-6, max: 1.0e-2}\n"
	"  layers: {distribution: int_uniform, min: 1, max: 8}\n"
	"  tag: {value: golden}\n"
	"search:\n"
	"  exclude: [{opt: sgd, depth: 4}, {lr: 0.001, opt: adam, depth: 2}]\n"
	"  include: [{lr: 0.5, opt: adam, depth: 8}]\n";

static const struct golden grid_want[] = {
	{0, "e49468219dbf", 3232808252u, "0.1 adam 2 3.357889242456953e-06 7 golden"},
	{1, "aa8d907d7131", 3283630021u, "0.1 adam 4 6.84883545647241e-06 2 golden"},
	{2, "d405865ff6f5", 2967920344u, "0.1 sgd 2 3.889392162317081e-05 8 golden"},
	{3, "f3585d9456cd", 1089885141u, "0.01 adam 2 4.6700411548995305e-05 2 golden"},
	{4, "ec1824b25633", 4222346700u, "0.01 adam 4 0.005587466301387537 5 golden"},
	{5, "b3067b9c7f18", 1634515716u, "0.01 sgd 2 0.00552671948991424 8 golden"},
	{6, "390cc64bd7c1", 477482567u, "0.001 adam 4 0.0014506335506908681 3 golden"},
	{7, "9d24d74ee071", 1201688786u, "0.001 sgd 2 3.0576018083950887e-06 8 golden"},
	{8, "fdc9da46f73e", 669806208u, "0.5 adam 8 0.0001231915795999008 1 golden"},
};

static const char random_spec[] =
	"version: 1\n"
	"name: golden-random\n"
	"command: [train]\n"
	"parameters:\n"
	"  lr: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-1}\n"
	"  drop: {distribution: uniform, min: 0.0, max: 0.5}\n"
	"  layers: {distribution: int_uniform, min: 1, max: 6}\n"
	"  opt: {values: [adam, sgd, lamb]}\n"
	"  bs: {values: [16, 32]}\n"
	"search:\n"
	"  method: random\n"
	"  trials: 6\n"
	"  seed: 42\n"
	"  exclude: [{opt: lamb, bs: 32}]\n"
	"  include: [{opt: sgd, bs: 64}]\n";

static const struct golden random_want[] = {
	{0, "d5cbb7daff61", 1696491339u, "2.16497000762327e-05 0.1894901253313343 6 lamb 16"},
	{1, "2445ed3ddba4", 991004254u, "0.011993828698192764 0.3596292889389578 4 sgd 32"},
	{2, "fe1abc8bf4b8", 2760874150u, "0.005367987284864122 0.14533888088212082 5 sgd 32"},
	{3, "f89fce532e22", 172214434u, "0.032439109110693524 0.30838077129492963 1 adam 16"},
	{4, "6e510c97556b", 2796594579u, "2.3520158824288694e-05 0.08951140505616778 4 lamb 16"},
	{5, "7468061cd6d3", 1297173138u, "0.0009052468522972408 0.19949589475929042 3 lamb 16"},
	{6, "207ae52177da", 3730472228u, "1.0036656156017509e-05 0.14373628754644174 6 sgd 64"},
};

static void check(const char *yaml, uint64_t seed, const struct golden *want,
		  size_t nwant)
{
	struct tc_spec *s = NULL;
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	size_t n = 0;
	int rc;

	tc_error_clear(&err);
	if (tc_spec_parse("golden.yaml", yaml, strlen(yaml), &s, &err) != 0)
		fail_msg("spec did not parse: %d:%d: %s", err.line, err.col, err.msg);
	assert_int_equal(tc_plan_new(s, seed, &p, &err), 0);
	while ((rc = tc_plan_next(p, &t, &err)) == 1) {
		char values[512];
		size_t len = 0;

		assert_true(n < nwant);
		for (size_t i = 0; i < s->nparams; i++)
			len += (size_t)snprintf(values + len, sizeof(values) - len,
						"%s%s", i ? " " : "",
						t->values[i].text ? t->values[i].text : "");
		assert_int_equal(t->index, want[n].index);
		assert_string_equal(t->id, want[n].id);
		assert_int_equal(t->seed, want[n].seed);
		assert_string_equal(values, want[n].values);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, nwant);
	tc_plan_free(p);
	tc_spec_free(s);
}

static void test_grid_golden(void **state)
{
	(void)state;
	check(grid_spec, 0, grid_want, sizeof(grid_want) / sizeof(grid_want[0]));
	/* the experiment seed draws a grid's distributions: another seed,
	 * other values, other ids */
	{
		struct tc_spec *s = NULL;
		struct tc_plan *p = NULL;
		const struct tc_trial *t;
		struct tc_error err;

		assert_int_equal(tc_spec_parse("golden.yaml", grid_spec,
					       strlen(grid_spec), &s, &err),
				 0);
		assert_int_equal(tc_plan_new(s, 1, &p, &err), 0);
		assert_int_equal(tc_plan_next(p, &t, &err), 1);
		assert_string_not_equal(t->id, grid_want[0].id);
		tc_plan_free(p);
		tc_spec_free(s);
	}
}

static void test_random_golden(void **state)
{
	(void)state;
	check(random_spec, 42, random_want,
	      sizeof(random_want) / sizeof(random_want[0]));
}

/* A derived parameter is no dimension of the search: the spec above with
 * one added draws the same points in the same order, the derived value
 * following its source, and counts in the ids (they differ). */
static void test_derived_draws_nothing(void **state)
{
	static const char map[] = "  size: {from: bs, map: {16: small, 32: "
				  "medium, 64: large}}\n";
	const char *base[2] = {grid_spec, random_spec};
	const struct golden *want[2] = {grid_want, random_want};
	size_t nwant[2] = {sizeof(grid_want) / sizeof(grid_want[0]),
			   sizeof(random_want) / sizeof(random_want[0])};
	uint64_t seed[2] = {0, 42};

	(void)state;
	for (int k = 0; k < 2; k++) {
		char yaml[2048];
		const char *at = strstr(base[k], "search:");
		struct tc_spec *s = NULL;
		struct tc_plan *p = NULL;
		const struct tc_trial *t;
		struct tc_error err;
		size_t n = 0;

		/* grid_spec has no bs: derive from depth there */
		snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(at - base[k]),
			 base[k],
			 k ? map
			   : "  size: {from: depth, map: {2: small, 4: medium, "
			     "8: large}}\n",
			 at);
		tc_error_clear(&err);
		if (tc_spec_parse("golden.yaml", yaml, strlen(yaml), &s, &err))
			fail_msg("spec did not parse: %d:%d: %s", err.line,
				 err.col, err.msg);
		assert_int_equal(tc_plan_new(s, seed[k], &p, &err), 0);
		while (tc_plan_next(p, &t, &err) == 1) {
			char values[512], src[16];
			size_t len = 0, last = s->nparams - 1;
			const char *sv;

			assert_true(n < nwant[k]);
			for (size_t i = 0; i < last; i++)
				len += (size_t)snprintf(values + len,
							sizeof(values) - len,
							"%s%s", i ? " " : "",
							t->values[i].text);
			assert_string_equal(values, want[k][n].values);
			assert_string_not_equal(t->id, want[k][n].id);
			sv = t->values[s->params[last].from].text;
			snprintf(src, sizeof(src), "%s", sv);
			assert_string_equal(t->values[last].text,
					    !strcmp(src, "16") || !strcmp(src, "2")
						    ? "small"
					    : !strcmp(src, "32") || !strcmp(src, "4")
						    ? "medium"
						    : "large");
			n++;
		}
		assert_int_equal(n, nwant[k]);
		tc_plan_free(p);
		tc_spec_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grid_golden),
		cmocka_unit_test(test_random_golden),
		cmocka_unit_test(test_derived_draws_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
