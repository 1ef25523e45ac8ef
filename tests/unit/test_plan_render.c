/*
 * test_plan_render.c — one trial's argv and env rendered from the spec
 * (tc_plan_render): {{args}} and {{args_no_hyphens}} as elements of their
 * own, {{name?}} of a parameter the trial lacks (when:), and a script's
 * {{args}} as "$@" with the elements as positional parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan/plan.h"
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

/* The argv and env of every trial of spec, as compact JSON, in plan
 * order, each "ARGV ENV". */
static void render_all(struct tc_spec *s, char out[][512], size_t n)
{
	struct tc_plan *p = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	size_t k = 0;

	assert_int_equal(tc_plan_new(s, 1, &p, &err), 0);
	while (tc_plan_next(p, &t, &err) == 1) {
		json_t *argv = NULL, *env = NULL;
		char *a, *e;

		assert_true(k < n);
		assert_int_equal(tc_plan_render(s, t->values, t->id, t->index,
						t->seed, "/d", &argv, &env, &err),
				 0);
		a = json_dumps(argv, JSON_COMPACT);
		e = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
		snprintf(out[k++], 512, "%s %s", a, e);
		free(a);
		free(e);
		json_decref(argv);
		json_decref(env);
	}
	assert_int_equal(k, n);
	tc_plan_free(p);
}

static void test_args_and_optional(void **state)
{
	struct tc_spec *s = parse(
		"version: 1\nname: r\n"
		"command: [t, \"{{args}}\", \"{{momentum?}}\", \"-m={{momentum?}}\","
		" \"{{args_no_hyphens}}\", \"{{trial_dir}}\"]\n"
		"env: {M: \"<{{momentum?}}>\"}\n"
		"parameters:\n"
		"  opt: {values: [adam, sgd]}\n"
		"  momentum: {values: [0.9], when: {opt: sgd}}\n"
		"  lr: {value: 1.0e-3}\n");
	char out[2][512];

	(void)state;
	render_all(s, out, 2);
	assert_string_equal(out[0],
			    "[\"t\",\"--opt=adam\",\"--lr=1.0e-3\",\"-m=\","
			    "\"opt=adam\",\"lr=1.0e-3\",\"/d\"] {\"M\":\"<>\"}");
	assert_string_equal(out[1],
			    "[\"t\",\"--opt=sgd\",\"--momentum=0.9\","
			    "\"--lr=1.0e-3\",\"0.9\",\"-m=0.9\",\"opt=sgd\","
			    "\"momentum=0.9\",\"lr=1.0e-3\",\"/d\"] "
			    "{\"M\":\"<0.9>\"}");
	tc_spec_free(s);
}

static void test_script_args(void **state)
{
	struct tc_spec *s = parse(
		"version: 1\nname: r\n"
		"script: \"run {{args}} && echo {{ args }}; x\"\n"
		"parameters:\n"
		"  opt: {values: [\"a b\"]}\n"
		"  m: {values: [1], when: {opt: \"a b\"}}\n");
	char out[1][512];

	(void)state;
	render_all(s, out, 1);
	assert_string_equal(out[0],
			    "[\"/bin/sh\",\"-c\",\"run \\\"$@\\\" && echo "
			    "\\\"$@\\\"; x\",\"/bin/sh\",\"--opt=a b\",\"--m=1\"] "
			    "{\"TRAINCTL_PARAM_OPT\":\"a b\",\"opt\":\"a b\","
			    "\"TRAINCTL_PARAM_M\":\"1\",\"m\":\"1\"}");
	tc_spec_free(s);

	/* without {{args}}, a script runs as it always did */
	s = parse("version: 1\nname: r\nscript: run \"$@\"\n"
		  "parameters:\n  opt: {values: [a]}\n");
	render_all(s, out, 1);
	assert_string_equal(out[0],
			    "[\"/bin/sh\",\"-c\",\"run \\\"$@\\\"\"] "
			    "{\"TRAINCTL_PARAM_OPT\":\"a\",\"opt\":\"a\"}");
	tc_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_and_optional),
		cmocka_unit_test(test_script_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
