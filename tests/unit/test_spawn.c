/*
 * test_spawn.c — the one spawn-and-capture (src/util/spawn): output kept up
 * to its limit and the rest dropped or the child stopped, a child that
 * never ends killed at the timeout, the environment given, stderr kept or
 * not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "util/clock.h"
#include "util/spawn.h"

static void test_capture(void **state)
{
	char *const echo[] = {"sh", "-c", "printf hello; exit 3", NULL};
	char *const big[] = {"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x",
			     NULL};
	char *const none[] = {"no-such-program-anywhere", NULL};
	char buf[8];

	(void)state;
	assert_int_equal(tc_capture(echo, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "hello");
	/* beyond the buffer: the rest is read and dropped, the status kept */
	assert_int_equal(tc_capture(big, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "xxxxxxx");
	assert_int_equal(tc_capture(none, buf, sizeof(buf)), -1);
	assert_string_equal(buf, "");
}

/* A helper that never ends (a git waiting on a lock, a wedged nvidia-smi)
 * is killed after TC_CAPTURE_TIMEOUT. */
static void test_capture_hung(void **state)
{
	char *const hung[] = {"sh", "-c", "printf x; exec sleep 600", NULL};
	char buf[8];
	double t0 = tc_mono();

	(void)state;
	assert_int_equal(tc_capture(hung, buf, sizeof(buf)), -1);
	assert_true(tc_mono() - t0 < TC_CAPTURE_TIMEOUT + 5);
	assert_true(tc_mono() - t0 >= TC_CAPTURE_TIMEOUT - 0.5);
}

static void test_timeout(void **state)
{
	char *const forever[] = {"sh", "-c", "printf started; exec sleep 60",
				 NULL};
	struct tc_spawn_opts o = {.timeout = 0.3, .max = 100};
	struct tc_spawn_out out;
	double t0 = tc_mono();

	(void)state;
	assert_int_equal(tc_spawn_capture(forever, &o, &out), 0);
	assert_true(out.timed_out);
	assert_true(WIFSIGNALED(out.status));
	assert_int_equal(WTERMSIG(out.status), SIGKILL);
	assert_string_equal(out.buf, "started");
	assert_true(tc_mono() - t0 < 30);
	free(out.buf);
}

static void test_stop_at_max(void **state)
{
	char *const endless[] = {"sh", "-c", "exec yes", NULL};
	char *const fits[] = {"printf", "%s", "12345", NULL};
	struct tc_spawn_opts o = {.max = 5, .stop_at_max = 1};
	struct tc_spawn_out out;

	(void)state;
	/* a child that prints forever is stopped once past the limit */
	assert_int_equal(tc_spawn_capture(endless, &o, &out), 0);
	assert_true(out.overflow);
	assert_false(out.timed_out);
	assert_int_equal(out.len, 5);
	assert_string_equal(out.buf, "y\ny\ny");
	assert_true(WIFSIGNALED(out.status));
	free(out.buf);
	/* exactly the limit is not too much */
	assert_int_equal(tc_spawn_capture(fits, &o, &out), 0);
	assert_false(out.overflow);
	assert_string_equal(out.buf, "12345");
	assert_true(WIFEXITED(out.status) && WEXITSTATUS(out.status) == 0);
	free(out.buf);
}

static void test_env(void **state)
{
	char *const show[] = {"/bin/sh", "-c", "printf %s \"$TC_X\"; "
			      "echo oops >&2", NULL};
	char *const env[] = {"TC_X=from-envp", "PATH=/bin:/usr/bin", NULL};
	char *const none[] = {"/no/such/program", NULL};
	struct tc_spawn_opts o = {.envp = env, .max = 64};
	struct tc_spawn_out out;

	(void)state;
	assert_int_equal(tc_spawn_capture(show, &o, &out), 0);
	assert_string_equal(out.buf, "from-envp");
	free(out.buf);
	assert_int_equal(tc_spawn_capture(none, &o, &out), ENOENT);
	assert_null(out.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_capture_hung),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_stop_at_max),
		cmocka_unit_test(test_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
