/*
 * test_backend.c — the table of backends (exec/backend.h): every entry
 * has the operations every verb calls unchecked, names are unique and
 * found again by name, an unknown name is refused with the list of
 * names, and an experiment that recorded no backend (or one this build
 * does not know) is local, as it always was.  The spec loader keeps its
 * own list of the names `backend:` accepts (with a suggestion for a
 * typo): every backend of the table must be in it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "exec/backend.h"

static void test_entries(void **state)
{
	(void)state;
	for (int i = 0; i < TC_BACKEND_COUNT; i++) {
		const struct tc_backend *b = tc_backend_get(i);
		struct tc_error err;

		assert_non_null(b);
		assert_non_null(b->name);
		/* what run, resume and validate call on any backend */
		assert_non_null(b->run);
		assert_non_null(b->check);
		assert_non_null(b->validate);
		/* plan refuses --namespace only for a backend without a
		 * check of it, and renders objects only after checking */
		assert_true(!b->render || b->plan_check);
		tc_error_clear(&err);
		assert_ptr_equal(tc_backend_find(b->name, &err), b);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(tc_backend_get(k)->name, b->name);
	}
	assert_null(tc_backend_get(TC_BACKEND_COUNT));
	assert_ptr_equal(tc_backend_get(TC_BACKEND_LOCAL), &tc_backend_local);
	assert_ptr_equal(tc_backend_get(TC_BACKEND_KUBERNETES),
			 &tc_backend_kubernetes);
}

static void test_find(void **state)
{
	struct tc_error err;

	(void)state;
	tc_error_clear(&err);
	assert_ptr_equal(tc_backend_find(NULL, &err), &tc_backend_local);
	assert_ptr_equal(tc_backend_find("kubernetes", &err),
			 &tc_backend_kubernetes);
	assert_null(tc_backend_find("slurm", &err));
	assert_int_equal(err.code, TC_ERR_USAGE);
	assert_string_equal(err.msg, "backend must be local or kubernetes");
	tc_error_clear(&err);
	assert_null(tc_backend_find("Local", &err));
	assert_int_equal(err.code, TC_ERR_USAGE);
}

static void test_spec_names(void **state)
{
	(void)state;
	for (int i = 0; i < TC_BACKEND_COUNT; i++) {
		const char *name = tc_backend_get(i)->name;
		struct tc_spec *spec = NULL;
		struct tc_error err;
		char text[256];
		int n = snprintf(text, sizeof(text),
				 "version: 1\nname: b\ncommand: [x]\n"
				 "backend: %s\nkubernetes: {image: i}\n",
				 name);

		tc_error_clear(&err);
		assert_int_equal(tc_spec_parse("b.yaml", text, (size_t)n, &spec,
					       &err),
				 0);
		assert_string_equal(spec->backend, name);
		tc_spec_free(spec);
	}
}

static void test_of(void **state)
{
	struct tc_exp_info e;

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_ptr_equal(tc_backend_of(&e), &tc_backend_local);
	e.backend = (char *)"kubernetes";
	assert_ptr_equal(tc_backend_of(&e), &tc_backend_kubernetes);
	e.backend = (char *)"local";
	assert_ptr_equal(tc_backend_of(&e), &tc_backend_local);
	e.backend = (char *)"unknown";
	assert_ptr_equal(tc_backend_of(&e), &tc_backend_local);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_spec_names),
		cmocka_unit_test(test_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
