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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
