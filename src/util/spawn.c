/*
 * spawn.c — run a helper program (git, nvidia-smi, a kubeconfig exec
 * credential plugin) as an argv vector and capture its output.  See spawn.h.
 */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/clock.h"

extern char **environ;

/* Read the child's stdout (fd) into out until it ends, the deadline (0:
 * none) passes or, with o->stop_at_max, more than o->max bytes came.
 * 0 or an errno. */
static int collect(int fd, const struct tc_spawn_opts *o, double deadline,
		   struct tc_spawn_out *out)
{
	size_t cap = 0;

	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		char tmp[4096];
		int ms = -1, pr;
		ssize_t r;

		if (deadline > 0) {
			double left = deadline - tc_mono();

			if (left <= 0) {
				out->timed_out = 1;
				return 0;
			}
			ms = left > 3600 ? 3600000 : (int)(left * 1000) + 1;
		}
		pr = poll(&pf, 1, ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return errno;
		if (pr == 0)
			continue;
		r = read(fd, tmp, sizeof(tmp));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return errno;
		if (r == 0)
			return 0;
		if (out->len + (size_t)r > o->max) {
			out->overflow = 1;
			r = (ssize_t)(o->max - out->len);
		}
		if (out->len + (size_t)r + 1 > cap) {
			size_t ncap = cap ? 2 * cap : 4096;
			char *nb;

			while (ncap < out->len + (size_t)r + 1)
				ncap *= 2;
			if (ncap > o->max + 1)
				ncap = o->max + 1;
			nb = realloc(out->buf, ncap);
			if (!nb)
				return ENOMEM;
			out->buf = nb;
			cap = ncap;
		}
		memcpy(out->buf + out->len, tmp, (size_t)r);
		out->len += (size_t)r;
		out->buf[out->len] = '\0';
		if (out->overflow && o->stop_at_max)
			return 0;
	}
}

int tc_spawn_capture(char *const argv[], const struct tc_spawn_opts *o,
		     struct tc_spawn_out *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, def;
	int fds[2], rc;
	double deadline;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->buf = malloc(1);
	if (!out->buf)
		return ENOMEM;
	out->buf[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0) {
		rc = errno;
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	if (!o->keep_stderr)
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
						 0);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr,
				 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv,
			  o->envp ? o->envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		goto fail;
	}
	deadline = o->timeout > 0 ? tc_mono() + o->timeout : 0;
	rc = collect(fds[0], o, deadline, out);
	close(fds[0]);
	if (rc || out->timed_out || (out->overflow && o->stop_at_max))
		kill(pid, SIGKILL);
	while (waitpid(pid, &out->status, 0) < 0 && errno == EINTR)
		;
	if (!rc)
		return 0;
fail:
	free(out->buf);
	memset(out, 0, sizeof(*out));
	return rc;
}

int tc_capture(char *const argv[], char *buf, size_t len)
{
	/* a hung git or nvidia-smi must not hang the verb that asked */
	struct tc_spawn_opts o = {.max = len ? len - 1 : 0,
				  .timeout = TC_CAPTURE_TIMEOUT};
	struct tc_spawn_out out;

	if (len)
		buf[0] = '\0';
	if (tc_spawn_capture(argv, &o, &out) != 0)
		return -1;
	if (len)
		memcpy(buf, out.buf, out.len + 1);
	free(out.buf);
	return WIFEXITED(out.status) ? WEXITSTATUS(out.status) : -1;
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
