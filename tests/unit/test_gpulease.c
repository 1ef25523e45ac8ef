/*
 * test_gpulease.c — unit tests of src/exec/gpulease: where the lease file
 * lives ($XDG_RUNTIME_DIR when usable, else a private directory of ours),
 * that a GPU leased by one description is not handed out by another (in
 * this process too: the locks are the descriptions'), and that closing the
 * lease lets its GPUs go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/gpulease.h"

static char base[256];

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "%s/tc_gpulease.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base))
		return -1;
	return setenv("XDG_RUNTIME_DIR", base, 1);
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_dir_xdg(void **state)
{
	char dir[PATH_MAX], want[PATH_MAX];
	struct stat st;

	(void)state;
	snprintf(want, sizeof(want), "%s/trainctl", base);
	assert_int_equal(tc_gpulease_dir(dir, sizeof(dir)), 0);
	assert_string_equal(dir, want);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_dir_unusable_xdg(void **state)
{
	char dir[PATH_MAX], shared[PATH_MAX];
	const char *bad[] = {"relative/dir", "/nonexistent/tc-xdg", shared};

	(void)state;
	/* relative, missing, or writable by others: not used */
	snprintf(shared, sizeof(shared), "%s/shared", base);
	assert_int_equal(mkdir(shared, 0700), 0);
	assert_int_equal(chmod(shared, 0777), 0);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("XDG_RUNTIME_DIR", bad[i], 1);
		if (tc_gpulease_dir(dir, sizeof(dir)) == 0)
			assert_null(strstr(dir, bad[i]));
	}
	setenv("XDG_RUNTIME_DIR", base, 1);
}

static void test_take_and_release(void **state)
{
	struct tc_gpulease *l;
	struct tc_error err;
	unsigned char busy[TC_GPU_MAX] = {0};
	int ids[4], a, b, c;

	(void)state;
	tc_error_clear(&err);
	assert_int_equal(tc_gpulease_open(&l, 3, &err), 0);
	assert_int_equal(tc_gpulease_available(l, NULL), 3);

	a = tc_gpulease_take(l, NULL, 2, ids);
	assert_true(a >= 0);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 1);
	assert_int_equal(tc_gpulease_available(l, NULL), 1);

	/* one left: two cannot be had, and the attempt holds nothing */
	errno = 0;
	assert_int_equal(tc_gpulease_take(l, NULL, 2, ids), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(tc_gpulease_available(l, NULL), 1);

	/* busy here counts as taken */
	busy[2] = 1;
	assert_int_equal(tc_gpulease_available(l, busy), 0);
	assert_int_equal(tc_gpulease_take(l, busy, 1, ids), -1);

	b = tc_gpulease_take(l, NULL, 1, ids);
	assert_true(b >= 0);
	assert_int_equal(ids[0], 2);
	assert_int_equal(tc_gpulease_available(l, NULL), 0);

	/* a lease ends when its description is closed */
	close(a);
	assert_int_equal(tc_gpulease_available(l, NULL), 2);
	c = tc_gpulease_take(l, NULL, 2, ids);
	assert_true(c >= 0);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 1);
	close(b);
	close(c);
	assert_int_equal(tc_gpulease_available(l, NULL), 3);
	tc_gpulease_close(l);
}

/* Another opening of the lease file (as another run makes) sees the
 * leases of the first. */
static void test_two_runs(void **state)
{
	struct tc_gpulease *l1, *l2;
	struct tc_error err;
	int ids[2], a, b;

	(void)state;
	tc_error_clear(&err);
	assert_int_equal(tc_gpulease_open(&l1, 2, &err), 0);
	assert_int_equal(tc_gpulease_open(&l2, 2, &err), 0);
	a = tc_gpulease_take(l1, NULL, 1, ids);
	assert_true(a >= 0);
	assert_int_equal(tc_gpulease_available(l2, NULL), 1);
	b = tc_gpulease_take(l2, NULL, 1, ids);
	assert_true(b >= 0);
	assert_int_equal(ids[0], 1);
	assert_int_equal(tc_gpulease_available(l1, NULL), 0);
	tc_gpulease_close(l1);
	tc_gpulease_close(l2);
	close(a);
	close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dir_xdg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_unusable_xdg, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_take_and_release, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_runs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
