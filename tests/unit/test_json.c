/* util/json: the layout is jansson's, each real the shortest exact text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/json.h"

static char *written(const json_t *v, int indent)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(tc_json_write(f, v, indent), 0);
	fclose(f);
	return buf;
}

static void test_layout_is_janssons(void **state)
{
	json_t *v = json_pack("{s:s, s:i, s:[i, s, {}, []], s:{s:b, s:n}, s:{}}",
			      "name", "a\"b\n", "n", 3, "list", 1, "x", "obj",
			      "t", 1, "z", "empty");
	char *mine, *theirs;

	(void)state;
	assert_non_null(v);
	for (int indent = 0; indent <= 4; indent += 2) {
		mine = written(v, indent);
		theirs = json_dumps(v, indent ? JSON_INDENT(indent) | JSON_PRESERVE_ORDER
					      : JSON_COMPACT | JSON_PRESERVE_ORDER);
		assert_string_equal(mine, theirs);
		free(mine);
		free(theirs);
	}
	json_decref(v);
}

static void test_shortest_reals(void **state)
{
	static const struct {
		double d;
		const char *text;
	} cases[] = {
		{0.1, "0.1"},
		{0.123456789012345678, "0.12345678901234568"},
		{1.0, "1.0"},
		{-2.5e-300, "-2.5e-300"},
		{123456789.125, "123456789.125"},
		{1e22, "1e22"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = json_real(cases[i].d);
		char *t = written(v, 2);

		assert_string_equal(t, cases[i].text);
		assert_true(strtod(t, NULL) == cases[i].d);
		free(t);
		json_decref(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_is_janssons),
		cmocka_unit_test(test_shortest_reals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
