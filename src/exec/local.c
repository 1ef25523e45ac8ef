/*
 * local.c — supervisors for local trials (see local.h for the protocol).
 *
 * The supervisor is a fork of trainctl that never returns to trainctl's
 * code: it drops every descriptor but the lock, detaches into its own
 * session, spawns the trial and waits.  Being a fork (not an exec of a
 * helper binary) keeps the cost of a trial start to one fork of a small
 * process plus one posix_spawn.
 */
#include "exec/local.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "util/fsutil.h"

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void trial_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void write_json(const char *dir, const char *name, json_t *o)
{
	char path[PATH_MAX];
	char *text = json_dumps(o, JSON_COMPACT);

	trial_path(path, sizeof(path), dir, name);
	if (text) {
		size_t n = strlen(text);

		text[n] = '\n'; /* replaces the NUL: write n + 1 bytes */
		tc_write_file_atomic(path, text, n + 1, 0);
		free(text);
	}
	json_decref(o);
}

static double tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ---- the supervisor ------------------------------------------------------ */

void tc_supervise(const struct tc_launch *l, int lock_fd)
{
	sigset_t waitset, empty;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char out_path[PATH_MAX], err_path[PATH_MAX];
	pid_t child = -1;
	int status = 0, rc, cancels = 0, timed_out = 0;
	double t0 = mono_now(), started = real_now(), kill_at = 0;
	struct rusage ru;
	char error[256] = "";
	int devnull;

	/* Only the lock survives, as fd 3, closed on the trial's exec. */
	if (lock_fd != 3) {
		dup2(lock_fd, 3);
		lock_fd = 3;
	}
	fcntl(lock_fd, F_SETFD, FD_CLOEXEC);
	close_range(4, ~0U, 0);
	setsid();
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 2 && devnull != lock_fd)
			close(devnull);
	}

	sigemptyset(&waitset);
	sigaddset(&waitset, SIGCHLD);
	sigaddset(&waitset, SIGTERM);
	sigaddset(&waitset, SIGINT);
	sigaddset(&waitset, SIGHUP);
	sigaddset(&waitset, SIGUSR1);
	sigprocmask(SIG_BLOCK, &waitset, NULL);
	signal(SIGPIPE, SIG_IGN);

	trial_path(out_path, sizeof(out_path), l->trial_dir, "stdout.log");
	trial_path(err_path, sizeof(err_path), l->trial_dir, "stderr.log");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path,
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err_path,
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (l->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, l->cwd);
	posix_spawnattr_init(&at);
	sigemptyset(&empty);
	{
		sigset_t all;

		sigfillset(&all);
		sigdelset(&all, SIGKILL);
		sigdelset(&all, SIGSTOP);
		posix_spawnattr_setsigdefault(&at, &all);
	}
	posix_spawnattr_setsigmask(&at, &empty);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
					      POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&child, l->argv[0], &fa, &at, l->argv, l->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);

	if (rc != 0) {
		/* Leave the reason where the user looks: stderr.log. */
		int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);

		snprintf(error, sizeof(error), "cannot execute %s: %s",
			 l->argv[0], strerror(rc));
		if (fd >= 0) {
			dprintf(fd, "trainctl: %s\n", error);
			close(fd);
		}
		memset(&ru, 0, sizeof(ru));
		status = 127 << 8;
	} else {
		json_t *run = json_pack("{s:i, s:i, s:i, s:f}", "attempt",
					l->attempt, "supervisor_pid",
					(int)getpid(), "pgid", (int)child,
					"started_at", started);

		if (run)
			write_json(l->trial_dir, "run.json", run);
		for (;;) {
			struct timespec ts;
			double now = mono_now(), wait_s = 3600;
			siginfo_t si;
			int sig;
			pid_t w = wait4(child, &status, WNOHANG, &ru);

			if (w == child)
				break;
			if (l->timeout > 0 && !timed_out && !cancels) {
				if (now - t0 >= l->timeout) {
					timed_out = 1;
					kill(-child, SIGTERM);
					kill_at = now + l->kill_grace;
				} else if (l->timeout - (now - t0) < wait_s)
					wait_s = l->timeout - (now - t0);
			}
			if (kill_at > 0) {
				if (now >= kill_at) {
					kill(-child, SIGKILL);
					kill_at = -1;
				} else if (kill_at - now < wait_s)
					wait_s = kill_at - now;
			}
			if (wait_s < 0.001)
				wait_s = 0.001;
			ts.tv_sec = (time_t)wait_s;
			ts.tv_nsec = (long)((wait_s - (double)ts.tv_sec) * 1e9);
			sig = sigtimedwait(&waitset, &si, &ts);
			if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP ||
			    sig == SIGUSR1) {
				cancels++;
				if (cancels == 1 && !timed_out && sig != SIGUSR1) {
					kill(-child, SIGTERM);
					kill_at = mono_now() + l->kill_grace;
				} else {
					kill(-child, SIGKILL);
					kill_at = -1;
				}
			}
		}
		/* Leftovers of the trial's group go with it. */
		kill(-child, SIGKILL);
	}

	{
		double wall = mono_now() - t0;
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		json_t *o = json_pack(
			"{s:i, s:i, s:i, s:b, s:b, s:f, s:f, s:f, s:f, s:f, s:I, s:s}",
			"attempt", l->attempt, "exit_code", code, "signal", sig,
			"timed_out", timed_out, "cancelled", cancels > 0 && !timed_out,
			"started_at", started, "ended_at", started + wall, "wall",
			wall, "utime", tv_sec(ru.ru_utime), "stime",
			tv_sec(ru.ru_stime), "maxrss_kb", (json_int_t)ru.ru_maxrss,
			"error", error);

		if (o)
			write_json(l->trial_dir, "exit.json", o);
	}
	_exit(0);
}

/* ---- the caller's side ------------------------------------------------- */

static int open_lock(const char *trial_dir)
{
	char path[PATH_MAX];

	trial_path(path, sizeof(path), trial_dir, ".lock");
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
}

int tc_local_start(const struct tc_launch *l, pid_t *pid, struct tc_error *err)
{
	int fd = open_lock(l->trial_dir);
	pid_t p;

	if (fd < 0)
		return tc_error_set(err, TC_ERR_IO, "cannot create %s/.lock: %s",
				    l->trial_dir, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(fd);
		if (e == EWOULDBLOCK)
			return tc_error_set(err, TC_ERR_STATE,
					    "a supervisor for %s is still running",
					    l->trial_dir);
		return tc_error_set(err, TC_ERR_IO, "cannot lock %s/.lock: %s",
				    l->trial_dir, strerror(e));
	}
	fflush(NULL);
	p = fork();
	if (p < 0) {
		int e = errno;

		close(fd);
		return tc_error_set(err, TC_ERR_IO, "fork: %s", strerror(e));
	}
	if (p == 0)
		tc_supervise(l, fd);
	close(fd); /* the supervisor's copy keeps the lock */
	*pid = p;
	return 0;
}

static int read_json_file(const char *dir, const char *name, json_t **out)
{
	char path[PATH_MAX];
	char *buf;
	size_t len;

	trial_path(path, sizeof(path), dir, name);
	if (tc_read_file(path, 1 << 20, &buf, &len) != 0)
		return -1;
	*out = json_loadb(buf, len, 0, NULL);
	free(buf);
	return *out ? 0 : -1;
}

static double jnum(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

int tc_local_read_exit(const char *trial_dir, int attempt,
		       struct tc_exit_info *ei)
{
	json_t *o;
	const char *e;

	memset(ei, 0, sizeof(*ei));
	if (read_json_file(trial_dir, "exit.json", &o) != 0)
		return -1;
	ei->attempt = (int)json_integer_value(json_object_get(o, "attempt"));
	if (ei->attempt != attempt) {
		json_decref(o);
		return -1;
	}
	ei->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
	ei->term_signal = (int)json_integer_value(json_object_get(o, "signal"));
	ei->timed_out = json_is_true(json_object_get(o, "timed_out"));
	ei->cancelled = json_is_true(json_object_get(o, "cancelled"));
	ei->started_at = jnum(o, "started_at");
	ei->ended_at = jnum(o, "ended_at");
	ei->wall = jnum(o, "wall");
	ei->utime = jnum(o, "utime");
	ei->stime = jnum(o, "stime");
	ei->maxrss_kb = (long)json_integer_value(json_object_get(o, "maxrss_kb"));
	e = json_string_value(json_object_get(o, "error"));
	snprintf(ei->error, sizeof(ei->error), "%s", e ? e : "");
	json_decref(o);
	return 0;
}

int tc_local_read_run(const char *trial_dir, int attempt, pid_t *sup_pid,
		      pid_t *pgid)
{
	json_t *o;
	int ok;

	if (read_json_file(trial_dir, "run.json", &o) != 0)
		return -1;
	ok = json_integer_value(json_object_get(o, "attempt")) == attempt;
	if (ok) {
		*sup_pid = (pid_t)json_integer_value(
			json_object_get(o, "supervisor_pid"));
		*pgid = (pid_t)json_integer_value(json_object_get(o, "pgid"));
	}
	json_decref(o);
	return ok ? 0 : -1;
}

enum tc_probe tc_local_probe(const char *trial_dir, int attempt,
			     struct tc_exit_info *ei)
{
	int fd = open_lock(trial_dir);
	int held;

	if (fd < 0)
		return TC_PROBE_VANISHED;
	held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	if (held)
		return TC_PROBE_ALIVE;
	if (tc_local_read_exit(trial_dir, attempt, ei) == 0)
		return TC_PROBE_EXITED;
	return TC_PROBE_VANISHED;
}

long long tc_proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	FILE *f;
	long long start = 0;
	size_t n;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: skip past the
	 * last ')' and count fields from there (field 22 is starttime) */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p)
		start = strtoll(p + 1, NULL, 10);
	return start;
}

int tc_local_cancel(const char *trial_dir, int attempt, pid_t sup_pid,
		    long long sup_start, int hard)
{
	pid_t rp = 0, pgid = 0;

	if (sup_pid <= 0 || (sup_start && tc_proc_start_time(sup_pid) != sup_start))
		sup_pid = 0;
	if (sup_pid <= 0 &&
	    tc_local_read_run(trial_dir, attempt, &rp, &pgid) == 0 &&
	    tc_local_probe(trial_dir, attempt, &(struct tc_exit_info){0}) ==
		    TC_PROBE_ALIVE)
		sup_pid = rp;
	if (sup_pid > 0) {
		return kill(sup_pid, hard ? SIGUSR1 : SIGTERM) == 0 ? 0 : -1;
	}
	/* No supervisor: kill what is left of the trial's group. */
	if (tc_local_read_run(trial_dir, attempt, &rp, &pgid) == 0 && pgid > 0 &&
	    kill(-pgid, SIGKILL) == 0)
		return 0;
	return -1;
}
