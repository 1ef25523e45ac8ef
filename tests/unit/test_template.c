/*
 * test_template.c — {{name}} references: the scanner, check (with offsets
 * and messages) and render (verbatim substitution, no escaping); optional
 * references {{name?}} to a parameter the trial lacks; {{args}}.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template/template.h"

/* A lookup over a small table of name=value pairs. */
static const char *const table[][2] = {
	{"lr", "0.001"},
	{"batch_size", "32"},
	{"opt.name", "adam"},
	{"x-y", "z"},
	{"evil", "a b; $(rm -rf ~) \"q\" 'r'\nnext"},
	{"empty", ""},
	{"trial_id", "t-0001"},
};

static const char *lookup(void *ctx, const char *name, size_t len)
{
	(void)ctx;
	if (len == 8 && !memcmp(name, "momentum", 8))
		return tc_template_absent; /* a parameter this trial lacks */
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strlen(table[i][0]) == len &&
		    memcmp(table[i][0], name, len) == 0)
			return table[i][1];
	return NULL;
}

static void test_builtins(void **state)
{
	static const char *const want[] = {"trial_id", "trial_dir",
					   "experiment", "index", "seed",
					   "args", "args_no_hyphens"};

	(void)state;
	assert_int_equal(tc_template_nbuiltins, 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(tc_template_builtins[i], want[i]);
}

static void test_next(void **state)
{
	const char *t = "a {{lr}} b {{  batch_size\t}}{{x-y}}";
	struct tc_template_ref r;
	size_t pos = 0;

	(void)state;
	assert_int_equal(tc_template_next(t, &pos, &r), 1);
	assert_int_equal(r.off, 2);
	assert_int_equal(r.len, 6);
	assert_int_equal(r.name_len, 2);
	assert_memory_equal(r.name, "lr", 2);
	assert_int_equal(tc_template_next(t, &pos, &r), 1);
	assert_int_equal(r.off, 11);
	assert_int_equal(r.name_len, 10);
	assert_memory_equal(r.name, "batch_size", 10);
	assert_int_equal(r.len, strlen("{{  batch_size\t}}"));
	assert_int_equal(tc_template_next(t, &pos, &r), 1);
	assert_memory_equal(r.name, "x-y", 3);
	assert_int_equal(tc_template_next(t, &pos, &r), 0);

	pos = 0;
	assert_int_equal(tc_template_next("x {{lr", &pos, &r), TC_ERR_SPEC);
	assert_int_equal(r.off, 2);
	pos = 0;
	assert_int_equal(tc_template_next("", &pos, &r), 0);
}

static void test_check_ok(void **state)
{
	static const char *const good[] = {
		"",
		"plain text",
		"{{lr}}",
		"--lr={{lr}}",
		"{{ lr }}",
		"{{\tlr }}",
		"{{lr}}{{batch_size}}",
		"{{opt.name}}",
		"a } b }} c { d",
		"{ {lr} }",
		"{{lr}}}",
		"}}{{lr}}",
	};
	char msg[256];
	size_t off;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = tc_template_check(good[i], lookup, NULL, &off, msg,
					   sizeof(msg));

		if (rc != 0)
			fail_msg("'%s' should be fine: %s", good[i], msg);
	}
}

static void test_check_bad(void **state)
{
	static const struct {
		const char *text;
		size_t off;
		const char *sub;
	} bad[] = {
		{"{{lrr}}", 0, "unknown parameter 'lrr' in {{lrr}}"},
		{"--x={{ nope }}", 4, "unknown parameter 'nope' in {{ nope }}"},
		{"{{trial_idd}}", 0, "(did you mean 'trial_id'?)"},
		{"{{experimnt}}", 0, "(did you mean 'experiment'?)"},
		{"{{lr}} {{ba tch}}", 7, "malformed template reference"},
		{"{{lr", 0, "malformed template reference '{{lr'"},
		{"ok {{}}", 3, "malformed"},
		{"{{{lr}}}", 0, "malformed"},
		{"{{1x}}", 0, "malformed"},
		{"{{lr}", 0, "malformed"},
		{"{{lr }x", 0, "malformed"},
		{"{{lr}} and {{", 11, "malformed"},
	};
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t off = 999;
		int rc = tc_template_check(bad[i].text, lookup, NULL, &off, msg,
					   sizeof(msg));

		if (rc != TC_ERR_SPEC || off != bad[i].off ||
		    !strstr(msg, bad[i].sub))
			fail_msg("'%s': rc %d off %zu msg '%s'", bad[i].text, rc,
				 off, msg);
	}
	/* NULL out-parameters are allowed; a tiny buffer is not overrun */
	assert_int_equal(tc_template_check("{{zz}}", lookup, NULL, NULL, NULL,
					   0),
			 TC_ERR_SPEC);
	msg[3] = 'X';
	assert_int_equal(tc_template_check("{{zz}}", lookup, NULL, NULL, msg,
					   3),
			 TC_ERR_SPEC);
	assert_int_equal(msg[2], '\0');
	assert_int_equal(msg[3], 'X');
}

static void test_render(void **state)
{
	static const char *const cases[][2] = {
		{"", ""},
		{"plain", "plain"},
		{"--lr={{lr}}", "--lr=0.001"},
		{"{{ lr }}/{{batch_size}}", "0.001/32"},
		{"{{lr}}{{lr}}", "0.0010.001"},
		{"[{{empty}}]", "[]"},
		{"{{opt.name}}-{{x-y}}", "adam-z"},
		{"a } b }} {", "a } b }} {"},
		{"{{evil}}", "a b; $(rm -rf ~) \"q\" 'r'\nnext"},
		{"id={{trial_id}}", "id=t-0001"},
	};
	struct tc_error e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = (char *)1;

		assert_int_equal(tc_template_render(cases[i][0], lookup, NULL,
						    &out, &e),
				 0);
		assert_string_equal(out, cases[i][1]);
		free(out);
	}
}

static void test_render_errors(void **state)
{
	struct tc_error e;
	char *out = (char *)1;
	char *big;
	size_t n = 100000;

	(void)state;
	assert_int_equal(tc_template_render("x {{lrr}}", lookup, NULL, &out,
					    &e),
			 TC_ERR_SPEC);
	assert_null(out);
	assert_int_equal(e.code, TC_ERR_SPEC);
	assert_non_null(strstr(e.msg, "unknown parameter 'lrr'"));
	assert_null(strstr(e.msg, "did you mean")); /* nothing close */
	assert_int_equal(tc_template_render("{{indx}}", lookup, NULL, &out,
					    &e),
			 TC_ERR_SPEC);
	assert_non_null(strstr(e.msg, "(did you mean 'index'?)"));

	out = (char *)1;
	assert_int_equal(tc_template_render("{{lr}} {{", lookup, NULL, &out,
					    &e),
			 TC_ERR_SPEC);
	assert_null(out);
	assert_non_null(strstr(e.msg, "malformed"));

	/* a NULL error is allowed */
	assert_int_equal(tc_template_render("{{q}}", lookup, NULL, &out, NULL),
			 TC_ERR_SPEC);

	/* many references: the buffer grows */
	big = malloc(n * 6 + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(big + 6 * i, "{{lr}}", 6);
	big[n * 6] = '\0';
	assert_int_equal(tc_template_render(big, lookup, NULL, &out, &e), 0);
	assert_int_equal(strlen(out), n * 5);
	assert_memory_equal(out, "0.0010.001", 10);
	free(out);
	free(big);
}

static void test_optional(void **state)
{
	struct tc_template_ref r;
	struct tc_error e;
	size_t pos = 0;
	char *out = NULL;

	(void)state;
	assert_int_equal(tc_template_next("a {{ lr? }}b", &pos, &r), 1);
	assert_int_equal(r.optional, 1);
	assert_int_equal(r.name_len, 2);
	assert_int_equal(r.len, strlen("{{ lr? }}"));
	pos = 0;
	assert_int_equal(tc_template_next("{{lr}}", &pos, &r), 1);
	assert_int_equal(r.optional, 0);
	/* "?" only right after the name, once */
	pos = 0;
	assert_int_equal(tc_template_next("{{lr ?}}", &pos, &r), TC_ERR_SPEC);
	pos = 0;
	assert_int_equal(tc_template_next("{{lr??}}", &pos, &r), TC_ERR_SPEC);
	pos = 0;
	assert_int_equal(tc_template_next("{{?lr}}", &pos, &r), TC_ERR_SPEC);

	/* present: the value; absent: nothing with "?", an error without */
	assert_int_equal(tc_template_render("--lr={{lr?}}", lookup, NULL, &out,
					    &e), 0);
	assert_string_equal(out, "--lr=0.001");
	free(out);
	assert_int_equal(tc_template_render("--m={{momentum?}}.", lookup, NULL,
					    &out, &e), 0);
	assert_string_equal(out, "--m=.");
	free(out);
	out = (char *)1;
	assert_int_equal(tc_template_render("--m={{momentum}}", lookup, NULL,
					    &out, &e), TC_ERR_SPEC);
	assert_null(out);
	assert_non_null(strstr(e.msg, "no parameter 'momentum'"));
	assert_non_null(strstr(e.msg, "{{momentum?}}"));
	/* an absent name is a known one: check passes it */
	assert_int_equal(tc_template_check("{{momentum}}", lookup, NULL, NULL,
					   NULL, 0), 0);
	/* "?" does not make an unknown name known */
	assert_int_equal(tc_template_render("{{nope?}}", lookup, NULL, &out,
					    &e), TC_ERR_SPEC);
	assert_non_null(strstr(e.msg, "unknown parameter 'nope'"));
}

static void test_whole_and_args(void **state)
{
	struct tc_template_ref r;

	(void)state;
	assert_int_equal(tc_template_whole("{{args}}", &r), 1);
	assert_int_equal(tc_template_args_kind(&r), TC_ARGS_HYPHENS);
	assert_int_equal(tc_template_whole("{{ args_no_hyphens }}", &r), 1);
	assert_int_equal(tc_template_args_kind(&r), TC_ARGS_PLAIN);
	assert_int_equal(tc_template_whole("{{momentum?}}", &r), 1);
	assert_int_equal(r.optional, 1);
	assert_int_equal(tc_template_args_kind(&r), 0);
	assert_int_equal(tc_template_whole("x{{args}}", &r), 0);
	assert_int_equal(tc_template_whole("{{args}} ", &r), 0);
	assert_int_equal(tc_template_whole("{{args}}{{lr}}", &r), 0);
	assert_int_equal(tc_template_whole("{{args", &r), 0);
	assert_int_equal(tc_template_whole("", &r), 0);
	assert_int_equal(tc_template_whole("{{argsx}}", &r), 1);
	assert_int_equal(tc_template_args_kind(&r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_check_ok),
		cmocka_unit_test(test_check_bad),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_optional),
		cmocka_unit_test(test_whole_and_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
