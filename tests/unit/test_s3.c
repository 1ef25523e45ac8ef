/*
 * test_s3.c — what tc_s3_open decides before sending anything: the URL's
 * bucket and prefix, refused URLs and endpoints, and where credentials
 * come from (the environment first, else the profile of the shared
 * credentials file; none is a usage error that says what to set and does
 * not echo a secret).  Requests are tested against a real server in
 * tests/s3/test_s3.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/s3.h"

static char creds_path[] = "/tmp/test_s3_creds.XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(creds_path);
	const char text[] = "[default]\n"
			    "aws_access_key_id = AKDEFAULT\n"
			    "aws_secret_access_key = default-secret-1\n"
			    "\n# a comment\n[other]\n"
			    "  aws_access_key_id=AKOTHER  \n"
			    "aws_secret_access_key=other-secret-2\n";

	(void)state;
	if (fd < 0 || write(fd, text, sizeof text - 1) != sizeof text - 1)
		return -1;
	close(fd);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	setenv("AWS_SHARED_CREDENTIALS_FILE", creds_path, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(creds_path);
	return 0;
}

static void test_url(void **state)
{
	struct tc_s3 *s;
	struct tc_error err = {0};

	(void)state;
	assert_int_equal(tc_s3_open(&s, "s3://bkt/runs/7/", "http://127.0.0.1:9",
				    NULL, &err),
			 0);
	assert_string_equal(tc_s3_bucket(s), "bkt");
	assert_string_equal(tc_s3_prefix(s), "runs/7");
	tc_s3_free(s);
	assert_int_equal(tc_s3_open(&s, "s3://bkt", "http://127.0.0.1:9", NULL,
				    &err),
			 0);
	assert_string_equal(tc_s3_prefix(s), "");
	tc_s3_free(s);

	const char *bad[] = {"bkt/x", "s3://", "s3:///x", "http://bkt/x",
			     "s3://Upper/x", "s3://a_b"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		s = (struct tc_s3 *)1;
		assert_int_equal(tc_s3_open(&s, bad[i], "http://127.0.0.1:9",
					    NULL, &err),
				 TC_ERR_USAGE);
		assert_null(s);
	}
	const char *badep[] = {"127.0.0.1:9", "ftp://h", "http://h/path",
			       "http://user:pw@h"};
	for (size_t i = 0; i < sizeof badep / sizeof *badep; i++)
		assert_int_equal(tc_s3_open(&s, "s3://b", badep[i], NULL, &err),
				 TC_ERR_USAGE);
}

static void test_credentials(void **state)
{
	struct tc_s3 *s;
	struct tc_error err = {0};

	(void)state;
	/* the default profile of the file */
	assert_int_equal(tc_s3_open(&s, "s3://b", "http://h", NULL, &err), 0);
	tc_s3_free(s);
	/* a named profile */
	setenv("AWS_PROFILE", "other", 1);
	assert_int_equal(tc_s3_open(&s, "s3://b", "http://h", NULL, &err), 0);
	tc_s3_free(s);
	/* a profile the file lacks: a usage error naming what to set */
	setenv("AWS_PROFILE", "missing", 1);
	assert_int_equal(tc_s3_open(&s, "s3://b", "http://h", NULL, &err),
			 TC_ERR_USAGE);
	assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID"));
	assert_non_null(strstr(err.msg, "'missing'"));
	assert_null(strstr(err.msg, "secret-"));
	/* the environment wins over the file */
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
	assert_int_equal(tc_s3_open(&s, "s3://b", "http://h", NULL, &err), 0);
	tc_s3_free(s);
	/* an id with ':' cannot be given to libcurl */
	setenv("AWS_ACCESS_KEY_ID", "AK:X", 1);
	assert_int_equal(tc_s3_open(&s, "s3://b", "http://h", NULL, &err),
			 TC_ERR_USAGE);
	assert_null(strstr(err.msg, "env-secret"));
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	/* no file at all */
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	assert_int_equal(tc_s3_open(&s, "s3://b", "http://h", NULL, &err),
			 TC_ERR_USAGE);
	setenv("AWS_SHARED_CREDENTIALS_FILE", creds_path, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_credentials),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
