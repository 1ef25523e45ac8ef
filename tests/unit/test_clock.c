/*
 * test_clock.c — durations as people read them, including ones far beyond
 * what an int holds (a timeout of 2^31 s once printed as "596523h-14m").
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/clock.h"

static void test_fmt_duration(void **state)
{
	char buf[32];

	(void)state;
	tc_fmt_duration(buf, sizeof(buf), 12.34);
	assert_string_equal(buf, "12.3s");
	tc_fmt_duration(buf, sizeof(buf), 184);
	assert_string_equal(buf, "3m04s");
	tc_fmt_duration(buf, sizeof(buf), 3720);
	assert_string_equal(buf, "1h02m");
	tc_fmt_duration(buf, sizeof(buf), 2147483648.0);
	assert_string_equal(buf, "596523h14m");
	tc_fmt_duration(buf, sizeof(buf), 9e18);
	assert_string_equal(buf, "2.5e+15h");
	tc_fmt_duration(buf, sizeof(buf), 1e300);
	assert_string_equal(buf, "2.78e+296h");
	tc_fmt_duration(buf, sizeof(buf), -1);
	assert_string_equal(buf, "-");
	tc_fmt_duration(buf, sizeof(buf), INFINITY);
	assert_string_equal(buf, "-");
}

/* One RFC 3339 parser for every caller: fractions and offsets count. */
static void test_rfc3339(void **state)
{
	double t;

	(void)state;
	assert_int_equal(tc_parse_rfc3339("2026-11-23T21:42:25Z", &t), 0);
	assert_true(t == 1795470145.0);
	assert_int_equal(tc_parse_rfc3339("2026-11-23T21:42:25.25Z", &t), 0);
	assert_true(t == 1795470145.25);
	assert_int_equal(tc_parse_rfc3339("2026-11-23T23:42:25+02:00", &t), 0);
	assert_true(t == 1795470145.0);
	assert_int_equal(tc_parse_rfc3339("2026-11-23T20:42:25.5-01:00", &t), 0);
	assert_true(t == 1795470145.5);
	assert_int_equal(tc_parse_rfc3339("2026-11-23T21:42:25", &t), -1);
	assert_int_equal(tc_parse_rfc3339("2026-13-23T21:42:25Z", &t), -1);
	assert_int_equal(tc_parse_rfc3339("tomorrow", &t), -1);
	assert_int_equal(tc_parse_rfc3339("", &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_duration),
		cmocka_unit_test(test_rfc3339),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
