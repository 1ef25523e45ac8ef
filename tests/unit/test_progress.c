/*
 * test_progress.c — unit tests of cli/progress: display width and cutting
 * of UTF-8 text, and the line-per-event output (not a terminal) that
 * scripts read, with a counter that never passes its total.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(tc_cli_text_width("abc", 3), 3);
	/* é is two bytes, one column; 日本 two wide characters */
	assert_int_equal(tc_cli_text_width("\xc3\xa9t\xc3\xa9", 5), 3);
	assert_int_equal(tc_cli_text_width("\xe6\x97\xa5\xe6\x9c\xac", 6), 4);
	/* a combining accent takes no column; a stray byte takes one */
	assert_int_equal(tc_cli_text_width("e\xcc\x81", 3), 1);
	assert_int_equal(tc_cli_text_width("\xff" "a", 2), 2);
}

static void test_fit(void **state)
{
	char s[64];

	(void)state;
	strcpy(s, "lr=0.1 bs=32");
	tc_cli_text_fit(s, 6);
	assert_string_equal(s, "lr=0.1");
	/* never inside a character: 3 columns hold "日" and not half of "本" */
	strcpy(s, "\xe6\x97\xa5\xe6\x9c\xac");
	tc_cli_text_fit(s, 3);
	assert_string_equal(s, "\xe6\x97\xa5");
	strcpy(s, "\xc3\xa9t\xc3\xa9");
	tc_cli_text_fit(s, 2);
	assert_string_equal(s, "\xc3\xa9t");
	strcpy(s, "short");
	tc_cli_text_fit(s, 80);
	assert_string_equal(s, "short");
}

static void test_lines(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct tc_cli_progress *p;
	const struct tc_progress *v;
	struct tc_progress_status st = {.total = 12, .done = 3, .metric = "loss"};
	struct tc_progress_event ev = {
		.kind = TC_PROGRESS_TRIAL,
		.status = &st,
		.state = "succeeded",
		.id = "0123456789ab",
		.params = "{\"lr\": 0.1}",
		.wall = 1.25,
		.has_metric = 1,
		.metric = 0.5,
	};

	(void)state;
	assert_non_null(f);
	p = tc_cli_progress_new(f);
	assert_non_null(p);
	v = tc_cli_progress_view(p);
	v->fn(v->ctx, &ev);
	/* a retry left the total behind: the counter must not pass it */
	st.done = 13;
	ev.state = "failed";
	ev.has_metric = 0;
	ev.reason = "exit code 1";
	v->fn(v->ctx, &ev);
	ev.kind = TC_PROGRESS_STATUS;
	v->fn(v->ctx, &ev); /* nothing, off a terminal */
	ev.kind = TC_PROGRESS_NOTE;
	ev.text = "cancelled 2 queued trials";
	ev.counted = 1;
	v->fn(v->ctx, &ev);
	ev.kind = TC_PROGRESS_END;
	v->fn(v->ctx, &ev);
	tc_cli_progress_free(p);
	fclose(f);
	assert_string_equal(buf,
			    "[ 3/12] succeeded 0123456789ab    1.2s  loss=0.5  lr=0.1\n"
			    "[13/13] failed    0123456789ab    1.2s  loss=-  lr=0.1  "
			    "(exit code 1)\n"
			    "[13/13] cancelled 2 queued trials\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
