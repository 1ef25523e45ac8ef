/*
 * spawn.c — run a helper program (git, nvidia-smi) as an argv vector and
 * capture its output.  See spawn.h.
 */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Run argv, capture up to len-1 bytes of stdout.  Exit status or -1. */
int tc_capture(char *const argv[], char *buf, size_t len)
{
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1;
	pid_t pid;
	size_t n = 0;

	buf[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	for (;;) {
		char tmp[4096];
		ssize_t r = read(fds[0], tmp, sizeof(tmp));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && n + 1 < len; i++)
			buf[n++] = tmp[i];
	}
	buf[n] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}


/* A regular file we may execute: 0, or why not. */
static int executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return ENOENT;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	return access(path, X_OK) == 0 ? 0 : EACCES;
}

int tc_find_program(const char *prog, const char *cwd, char *out, size_t len)
{
	const char *dirs = getenv("PATH"), *d;
	int why = ENOENT;

	if (!prog[0])
		return ENOENT;
	if (strchr(prog, '/')) {
		if ((prog[0] == '/' ? snprintf(out, len, "%s", prog)
				    : snprintf(out, len, "%s/%s", cwd ? cwd : ".",
					       prog)) >= (int)len)
			return ENAMETOOLONG;
		return executable(out);
	}
	if (!dirs)
		dirs = "/bin:/usr/bin";
	for (d = dirs;; d++) {
		size_t n = strcspn(d, ":");
		int r;

		if (n == 0)
			r = snprintf(out, len, "%s/%s", cwd ? cwd : ".", prog);
		else
			r = snprintf(out, len, "%.*s/%s", (int)n, d, prog);
		if (r < (int)len) {
			int e = executable(out);

			if (e == 0)
				return 0;
			if (e == EACCES)
				why = EACCES; /* as execvp: keep looking */
		}
		d += n;
		if (!*d)
			break;
	}
	return why;
}
