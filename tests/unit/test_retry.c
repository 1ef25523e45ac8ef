/*
 * test_retry.c — the one retry rule of the HTTP clients (util/retry.h):
 * which outcomes are retried, that the backoff doubles from start, stops
 * at cap and stays within [d/2, d] whatever the jitter, and that a
 * server's Retry-After can only lengthen the wait.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "util/retry.h"

static void test_retryable(void **state)
{
	(void)state;
	/* answers: 429 and the transient 5xx, nothing else */
	assert_true(tc_http_retryable(CURLE_OK, 429));
	assert_true(tc_http_retryable(CURLE_OK, 500));
	assert_true(tc_http_retryable(CURLE_OK, 503));
	assert_false(tc_http_retryable(CURLE_OK, 200));
	assert_false(tc_http_retryable(CURLE_OK, 403));
	assert_false(tc_http_retryable(CURLE_OK, 404));
	assert_false(tc_http_retryable(CURLE_OK, 501));
	/* transport failures: refused, reset, timed out; not a bad URL or
	 * a callback's abort (a local file that failed) */
	assert_true(tc_http_retryable(CURLE_COULDNT_CONNECT, 0));
	assert_true(tc_http_retryable(CURLE_OPERATION_TIMEDOUT, 0));
	assert_true(tc_http_retryable(CURLE_RECV_ERROR, 0));
	assert_true(tc_http_retryable(CURLE_SEND_ERROR, 0));
	assert_false(tc_http_retryable(CURLE_URL_MALFORMAT, 0));
	assert_false(tc_http_retryable(CURLE_ABORTED_BY_CALLBACK, 0));
	assert_false(tc_http_retryable(CURLE_WRITE_ERROR, 0));
}

static void test_backoff(void **state)
{
	uint64_t rng = 12345;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		double d1 = tc_backoff(1, 0.25, 4.0, &rng);
		double d3 = tc_backoff(3, 0.25, 4.0, &rng);
		double d9 = tc_backoff(9, 0.25, 4.0, &rng);

		assert_true(d1 >= 0.125 && d1 <= 0.25);
		assert_true(d3 >= 0.5 && d3 <= 1.0);
		assert_true(d9 >= 2.0 && d9 <= 4.0); /* capped */
	}
	/* a server's Retry-After lengthens the wait, never shortens it */
	assert_true(tc_retry_wait(0.5, 0) == 0.5);
	assert_true(tc_retry_wait(0.5, 3) == 3);
	assert_true(tc_retry_wait(2, 1) == 2);
	/* a zero state is seeded, not stuck at zero */
	rng = 0;
	assert_true(tc_jitter01(&rng) != tc_jitter01(&rng));
	for (int i = 0; i < 1000; i++) {
		double u = tc_jitter01(&rng);

		assert_true(u >= 0.0 && u < 1.0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retryable),
		cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
