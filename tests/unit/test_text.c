/*
 * test_text.c — unit tests of util/text (the terminal-safe text rule) and
 * of the messages built from outside text with it: the Kubernetes API
 * server's error bodies (tc_kube_error) and a trial's parameters on a
 * progress line (tc_params_brief).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec/record.h"
#include "k8s/client.h"
#include "util/error.h"
#include "util/text.h"

/* No byte of s is a control character. */
static void assert_clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fail_msg("control character 0x%02x in the message",
				 (unsigned char)*s);
}

static void test_sanitize(void **state)
{
	char s[] = "a\tb\nc\rd\033[2Je\x7f\xc3\xa9";

	(void)state;
	assert_string_equal(tc_text_sanitize(s), "a b c d?[2Je?\xc3\xa9");
	assert_null(tc_text_sanitize(NULL));
}

static void test_kube_error_json_body(void **state)
{
	struct tc_kube_resp resp = {0};
	struct tc_error err;

	(void)state;
	resp.status = 403;
	resp.body = json_pack("{s:s, s:s}", "message",
			      "jobs is forbidden\033]0;owned\007\033[31m: no",
			      "reason", "Forbidden\033[0m");
	tc_error_clear(&err);
	assert_int_equal(tc_kube_error(&err, &resp, "create Job x"), TC_ERR_BACKEND);
	assert_clean(err.msg);
	assert_non_null(strstr(err.msg, "jobs is forbidden?]0;owned??[31m: no"));
	json_decref(resp.body);

	/* 422 causes and the generic path (message and reason) */
	resp.status = 422;
	resp.body = json_pack("{s:s, s:{s:s, s:s, s:[{s:s, s:s}]}}", "message", "x",
			      "details", "kind", "Job\033[1m", "name", "n\n",
			      "causes", "field", "spec\033c", "message", "bad\r");
	tc_error_clear(&err);
	tc_kube_error(&err, &resp, "create Job x");
	assert_clean(err.msg);
	json_decref(resp.body);
	resp.status = 500;
	resp.body = json_pack("{s:s, s:s}", "message", "boom\033[H",
			      "reason", "Internal\033[J");
	tc_error_clear(&err);
	tc_kube_error(&err, &resp, "list Pods");
	assert_clean(err.msg);
	assert_non_null(strstr(err.msg, "boom?[H"));
	json_decref(resp.body);
}

static void test_kube_error_raw_body(void **state)
{
	char raw[] = "<html>\033[2J\nbad gateway\x01\n\n";
	struct tc_kube_resp resp = {0};
	struct tc_error err;

	(void)state;
	resp.status = 502;
	resp.raw = raw;
	resp.raw_len = strlen(raw);
	tc_error_clear(&err);
	tc_kube_error(&err, &resp, "watch Jobs");
	assert_clean(err.msg);
	/* the one rule: control characters shown, trailing blanks dropped */
	assert_non_null(strstr(err.msg, "<html>?[2J bad gateway? ("));
}

static void test_params_brief(void **state)
{
	char buf[512];

	(void)state;
	tc_params_brief("{\"opt\": \"a\\u001b[2J\\u001b]0;x\\u0007\", \"lr\": 0.5,"
			" \"s\": \"l1\\nl2\"}",
			buf, sizeof(buf));
	assert_clean(buf);
	assert_string_equal(buf, "opt=a?[2J?]0;x? lr=0.5 s=l1 l2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_kube_error_json_body),
		cmocka_unit_test(test_kube_error_raw_body),
		cmocka_unit_test(test_params_brief),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
