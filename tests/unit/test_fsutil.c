/*
 * test_fsutil.c — unit tests of src/util/fsutil: trainctl's own files in a
 * directory others may write into (no links followed, no foreign files or
 * directories used, nothing truncated before it is checked, 0600), and the
 * atomic write's temporary file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"

static char base[256];

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "%s/tc_fsutil.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* base/name into buf. */
static const char *at(char *buf, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", base, name);
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
	char *buf;

	assert_int_equal(tc_read_file(path, 1 << 20, &buf, NULL), 0);
	return buf;
}

static void test_new_file_is_private(void **state)
{
	char p[PATH_MAX];
	struct stat st;
	int fd;

	(void)state;
	umask(022);
	fd = tc_private_open(at(p, "new.log"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* an existing file of our own is opened, truncated */
	fd = tc_private_open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void test_symlink_refused(void **state)
{
	char victim[PATH_MAX], lnk[PATH_MAX];
	char *text;

	(void)state;
	write_text(at(victim, "victim"), "precious\n");
	assert_int_equal(symlink(victim, at(lnk, "stdout.log")), 0);
	errno = 0;
	assert_int_equal(tc_private_open(lnk, O_WRONLY | O_CREAT | O_TRUNC, 0600),
			 -1);
	assert_int_equal(errno, ELOOP);
	assert_non_null(strstr(tc_fs_strerror(ELOOP), "symbolic link"));
	/* a dangling link is not followed to create its target either */
	unlink(lnk);
	assert_int_equal(symlink(at(victim, "created-by-link"), lnk), 0);
	assert_int_equal(tc_private_open(lnk, O_WRONLY | O_CREAT, 0600), -1);
	assert_int_equal(access(victim, F_OK), -1);
	text = read_text(at(victim, "victim"));
	assert_string_equal(text, "precious\n");
	free(text);
	/* tc_write_file goes the same way */
	unlink(lnk);
	assert_int_equal(symlink(at(victim, "victim"), lnk), 0);
	assert_int_equal(tc_write_file(lnk, "bad\n", 4), -1);
	text = read_text(at(victim, "victim"));
	assert_string_equal(text, "precious\n");
	free(text);
}

static void test_hard_link_not_truncated(void **state)
{
	char victim[PATH_MAX], lnk[PATH_MAX];
	char *text;

	(void)state;
	write_text(at(victim, "victim2"), "precious\n");
	assert_int_equal(link(victim, at(lnk, "params.json")), 0);
	errno = 0;
	assert_int_equal(tc_private_open(lnk, O_WRONLY | O_CREAT | O_TRUNC, 0600),
			 -1);
	assert_int_equal(errno, EMLINK);
	text = read_text(victim);
	assert_string_equal(text, "precious\n");
	free(text);
}

static void test_fifo_refused_without_hanging(void **state)
{
	char p[PATH_MAX];

	(void)state;
	assert_int_equal(mkfifo(at(p, "fifo.log"), 0600), 0);
	errno = 0;
	assert_int_equal(tc_private_open(p, O_WRONLY | O_CREAT, 0600), -1);
	assert_int_equal(errno, EMLINK);
	errno = 0;
	assert_int_equal(tc_private_open(p, O_RDWR | O_CREAT, 0600), -1);
	assert_int_equal(errno, EMLINK);
}

static void test_mkdir_private(void **state)
{
	char d[PATH_MAX], sub[PATH_MAX], other[PATH_MAX];

	(void)state;
	/* made with its parent, then there */
	snprintf(sub, sizeof(sub), "%s/trials/abc", base);
	assert_int_equal(tc_mkdir_private(sub, 0755, 2), 0);
	assert_int_equal(tc_mkdir_private(sub, 0755, 2), 1);
	/* a link in either of the last depth components */
	assert_int_equal(mkdir(at(other, "elsewhere"), 0755), 0);
	assert_int_equal(symlink(other, at(d, "linked")), 0);
	snprintf(sub, sizeof(sub), "%s/linked/abc", base);
	errno = 0;
	assert_int_equal(tc_mkdir_private(sub, 0755, 2), -1);
	assert_int_equal(errno, ELOOP);
	snprintf(sub, sizeof(sub), "%s/elsewhere/abc", base);
	assert_int_equal(access(sub, F_OK), -1);
	errno = 0;
	assert_int_equal(tc_mkdir_private(d, 0755, 1), -1);
	assert_int_equal(errno, ELOOP);
	errno = 0;
	assert_int_equal(tc_private_dir_check(d, 1), -1);
	assert_int_equal(errno, ELOOP);
	snprintf(sub, sizeof(sub), "%s/trials/abc", base);
	assert_int_equal(tc_private_dir_check(sub, 2), 0);
	snprintf(sub, sizeof(sub), "%s/trials/gone", base);
	errno = 0;
	assert_int_equal(tc_private_dir_check(sub, 2), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(access(sub, F_OK), -1);
	/* above depth, links are the user's business */
	snprintf(sub, sizeof(sub), "%s/linked/abc", base);
	assert_int_equal(tc_mkdir_private(sub, 0755, 1), 0);
}

/* Directories of another user: only root can make them. */
static void test_foreign_directory(void **state)
{
	char d[PATH_MAX], f[PATH_MAX];
	struct stat st;

	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	assert_int_equal(mkdir(at(d, "theirs"), 0755), 0);
	assert_int_equal(chown(d, 65534, 65534), 0);
	/* another user's directory: that user could swap files under us */
	assert_int_equal(stat(d, &st), 0);
	assert_false(tc_dir_trusted(&st));
	at(f, "theirs/file");
	errno = 0;
	assert_int_equal(tc_private_open(f, O_WRONLY | O_CREAT, 0600), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(access(f, F_OK), -1);
	errno = 0;
	assert_int_equal(tc_mkdir_private(d, 0755, 1), -1);
	assert_int_equal(errno, EPERM);
	/* ours but writable by everyone: still ours */
	assert_int_equal(chown(d, 0, 0), 0);
	assert_int_equal(chmod(d, 0777), 0);
	assert_int_equal(stat(d, &st), 0);
	assert_true(tc_dir_shared(&st));
	assert_true(tc_dir_trusted(&st));
	/* a file in it that is not ours is not used */
	write_text(f, "theirs\n");
	assert_int_equal(chown(f, 65534, 65534), 0);
	errno = 0;
	assert_int_equal(tc_private_open(f, O_WRONLY | O_APPEND, 0600), -1);
	assert_int_equal(errno, EPERM);
}

static void test_atomic_write_temp_not_followed(void **state)
{
	char victim[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	char *text;

	(void)state;
	write_text(at(victim, "victim3"), "precious\n");
	at(path, "manifest.yaml");
	snprintf(tmp, sizeof(tmp), "%s/manifest.yaml.tmp.%ld", base, (long)getpid());
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(tc_write_file_atomic(path, "new\n", 4, 0, 0600), 0);
	text = read_text(victim);
	assert_string_equal(text, "precious\n");
	free(text);
	text = read_text(path);
	assert_string_equal(text, "new\n");
	free(text);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(access(tmp, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_file_is_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hard_link_not_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fifo_refused_without_hanging,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write_temp_not_followed,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
