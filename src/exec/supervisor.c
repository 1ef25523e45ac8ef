/*
 * supervisor.c — the shim that supervises a runner's trials, and the
 * helpers that inspect and cancel attempts from any process (see
 * supervisor.h).
 *
 * Wire format between runner and shim (a stream socket pair, both ends
 * local and trusted): a request is a 4-byte length and then a struct
 * shim_req; a start is followed by NUL-terminated strings (id, trial_dir,
 * cwd, after, the argv strings, the envp strings and, for a trial of
 * several ranks, each rank's own strings) and carries the slot's
 * locked descriptor (and, when `lease` says so, the trial's GPU lease: see
 * exec/gpulease.h), a drop or start-now by the trial's id, a cancel names
 * the process group in the struct; an event is one struct tc_shim_event.  Both
 * sides read whole messages with blocking reads once poll says data is
 * there: writers always write whole messages.
 */
#include "exec/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "exec/nvml.h"
#include "util/clock.h"
#include "util/fsutil.h"

#define REQ_MAX (16u << 20)

enum { REQ_START = 1, REQ_CANCEL = 2, REQ_DROP = 3, REQ_NOW = 4 };

struct shim_req {
	uint32_t type;
	int32_t attempt;
	uint32_t argc, envc;
	double timeout, grace;
	int32_t pgid, hard;
	int64_t idx;     /* the trial's slot in the status file */
	int32_t lease;   /* a start: its GPU lease's descriptor comes too */
	int32_t nodes;   /* its ranks */
	int32_t rank_envc; /* strings of each rank's own (nodes > 1) */
	int32_t avoid_port; /* the previous attempt's MASTER_PORT, 0 */
	int32_t pad;
};

#define RANK_ENV_MAX 64

struct tc_shim {
	int fd;
	pid_t pid;
};

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* 0 done, -1 error or end of stream */
static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Receive a request's length and, riding on it, the descriptors: the
 * lock's, and the GPU lease's if one came (-1 each when none). */
static int recv_header(int fd, uint32_t *len, int *lock_fd, int *lease_fd)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = len, .iov_len = sizeof(*len)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c;
	ssize_t r;

	*lock_fd = *lease_fd = -1;
	do
		r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			if (n >= 1)
				memcpy(lock_fd, CMSG_DATA(c), sizeof(int));
			if (n >= 2)
				memcpy(lease_fd, CMSG_DATA(c) + sizeof(int),
				       sizeof(int));
		}
	if ((size_t)r < sizeof(*len))
		return read_full(fd, (char *)len + r, sizeof(*len) - (size_t)r);
	return 0;
}

/* Send the first bytes of a request with descriptors attached (one or
 * two). */
static int send_with_fds(int fd, const void *buf, size_t len,
			 const int *passfd, int nfd)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int))};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	ssize_t w;

	memset(u.buf, 0, sizeof(u.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)nfd * sizeof(int));
	memcpy(CMSG_DATA(c), passfd, (size_t)nfd * sizeof(int));
	do
		w = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -1;
	return write_full(fd, (const char *)buf + w, len - (size_t)w);
}

/* Replace the content of a trial's slot in the status file (the whole
 * slot, padded with NULs).  Readers trust it only when they find the slot
 * unlocked (the attempt is over and this was the last write) or when it
 * parses (a running attempt's pid record).  -1 when the record does not
 * fit a slot. */
static int write_status(int fd, off_t off, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	char slot[TC_SLOT_SIZE];
	int rc = -1;

	if (text && strlen(text) < sizeof(slot)) {
		size_t n = strlen(text);

		memset(slot, 0, sizeof(slot));
		memcpy(slot, text, n);
		slot[n] = '\n';
		rc = pwrite(fd, slot, sizeof(slot), off) == (ssize_t)sizeof(slot)
			     ? 0
			     : -1;
	}
	free(text);
	json_decref(o);
	return rc;
}

static off_t slot_off(long long idx)
{
	return (off_t)idx * TC_SLOT_SIZE;
}

static double tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void tc_rank_file(char *buf, size_t len, int rank, int which, int kept)
{
	static const char *const base[3] = {"stdout", "stderr", "metrics"};
	static const char *const ext[3] = {"log", "log", "jsonl"};
	char r[24] = "", k[24] = "";

	if (rank > 0)
		snprintf(r, sizeof(r), ".rank%d", rank);
	if (kept > 0)
		snprintf(k, sizeof(k), ".%d", kept);
	snprintf(buf, len, "%s%s%s.%s", base[which], r, k, ext[which]);
}

/* ---- the shim ---------------------------------------------------------- */

struct strial {
	char id[32];
	char after[32];  /* waiting for this trial's slot ("" once started) */
	char *dir;
	int attempt;
	pid_t pid;       /* = its process group; 0 while waiting */
	long long pid_start; /* its start time (tc_proc_start_time) */
	int lock_fd;     /* the status file, its slot locked (OFD) */
	int lease_fd;    /* its GPU lease (exec/gpulease.h), or -1 */
	off_t off;       /* the slot */
	double t0, started, timeout, grace;
	double kill_at;  /* 0 none, -1 killed */
	int timed_out, cancels;
	unsigned long long gpu_peak; /* bytes: the most GPU memory its
					processes held at once (NVML) */
	char *req;       /* the request, kept until the start: its strings */
	char **strs;
	uint32_t argc, envc;
	/* its ranks (one unless nodes > 1): all in the group of rank 0 */
	int nranks, rank_envc;
	pid_t *rpid;     /* each rank's pid while unreaped, else 0 */
	long long *rstart;
	int nleft;       /* ranks not reaped yet */
	int fail_rank;   /* the rank that failed first by itself, -1 */
	int have_end, end_status; /* the first rank's status that was not
				     a success: the attempt's */
	struct rusage ru; /* summed over the reaped ranks */
	int master_port, avoid_port;
	char error[256]; /* a rank that could not be started */
};

struct shim {
	int sock;        /* -1 once the runner is gone */
	struct strial *t;
	size_t n, cap;
	struct tc_nvml *nvml; /* NULL: no NVIDIA library or GPU here */
	double next_sample;   /* monotonic: the next NVML sample */
};

static int open_trial_dir(const char *dir);

/* How often the GPU memory of the trials' processes is sampled. */
#define GPU_SAMPLE_EVERY 1.0

/* One sample: each running trial's processes' GPU memory, summed (a
 * process is the trial's when it is in the trial's process group). */
static void gpu_sample(struct shim *s)
{
	struct tc_gpu_proc procs[256];
	pid_t pgid[256];
	int n = tc_nvml_processes(s->nvml, procs, 256);

	if (n <= 0)
		return;
	for (int k = 0; k < n; k++) /* (once a process, not once a trial) */
		pgid[k] = getpgid(procs[k].pid);
	for (size_t i = 0; i < s->n; i++) {
		struct strial *t = &s->t[i];
		unsigned long long sum = 0;

		if (t->pid <= 0)
			continue;
		for (int k = 0; k < n; k++)
			if (pgid[k] == t->pid)
				sum += procs[k].bytes;
		if (sum > t->gpu_peak)
			t->gpu_peak = sum;
	}
}

/* The peak as the metric gpu_mem_mib, appended to the trial's metrics
 * file before its exit is recorded (the runner reads that file to the end
 * once it sees the exit). */
static void gpu_report(const struct strial *t)
{
	char line[96];
	int dfd, fd, n;

	if (!t->gpu_peak || (dfd = open_trial_dir(t->dir)) < 0)
		return;
	fd = tc_private_openat(dfd, "metrics.jsonl",
			       O_WRONLY | O_CREAT | O_APPEND, 0600);
	close(dfd);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "{\"gpu_mem_mib\": %.1f}\n",
		     (double)t->gpu_peak / (1024.0 * 1024.0));
	(void)!write(fd, line, (size_t)n);
	close(fd);
}

static void shim_event(struct shim *s, int type, const struct strial *t,
		       const struct tc_exit_info *ei)
{
	struct tc_shim_event ev;

	if (s->sock < 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	snprintf(ev.id, sizeof(ev.id), "%s", t->id);
	ev.attempt = t->attempt;
	ev.pid = t->pid;
	ev.pid_start = t->pid_start;
	ev.at = t->started;
	if (ei)
		ev.ei = *ei;
	if (write_full(s->sock, &ev, sizeof(ev)) != 0) {
		close(s->sock);
		s->sock = -1;
	}
}

/* end: when it was reaped, on both clocks: wall from the monotonic one,
 * ended_at from the real one (so that a successor started after it never
 * seems to overlap it). */
struct when {
	double mono, real;
};

static struct when when_now(void)
{
	struct when w = {tc_mono(), tc_now()};

	return w;
}

static void exit_info(const struct strial *t, struct when end, int status,
		      const struct rusage *ru, const char *error,
		      struct tc_exit_info *ei)
{
	double wall = end.mono - t->t0;

	memset(ei, 0, sizeof(*ei));
	ei->attempt = t->attempt;
	ei->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	ei->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	ei->timed_out = t->timed_out;
	/* an exit 0 is a success whenever a cancel came */
	ei->cancelled = t->cancels > 0 && !t->timed_out &&
			!(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ei->started_at = t->started;
	ei->ended_at = end.real > t->started ? end.real : t->started;
	ei->wall = wall;
	ei->utime = tv_sec(ru->ru_utime);
	ei->stime = tv_sec(ru->ru_stime);
	ei->maxrss_kb = ru->ru_maxrss;
	ei->rank = t->nranks > 1 ? t->fail_rank : -1;
	ei->master_port = t->master_port;
	snprintf(ei->error, sizeof(ei->error), "%s", error);
}

static void record_exit(int fd, off_t off, const struct tc_exit_info *ei)
{
	const char *error = ei->error;

again:
	if (write_status(fd, off, json_pack("{s:s, s:i, s:i, s:i, s:b, s:b, s:f, s:f, s:f,"
				   " s:f, s:f, s:I, s:i, s:i, s:s}",
				   "state", "exited", "attempt", ei->attempt,
				   "exit_code", ei->exit_code, "signal",
				   ei->term_signal, "timed_out", ei->timed_out,
				   "cancelled", ei->cancelled, "started_at",
				   ei->started_at, "ended_at", ei->ended_at,
				   "wall", ei->wall, "utime", ei->utime, "stime",
				   ei->stime, "maxrss_kb",
				   (json_int_t)ei->maxrss_kb, "rank", ei->rank,
				   "master_port", ei->master_port, "error",
				   error)) != 0 &&
	    error[0]) {
		error = ""; /* too long for a slot: it is in stderr.log too */
		goto again;
	}
}

/* Take entry i out of the table (the last one takes its place). */
static struct strial shim_remove(struct shim *s, size_t i)
{
	struct strial t = s->t[i];

	s->t[i] = s->t[--s->n];
	return t;
}

static void strial_free(struct strial *t)
{
	free(t->dir);
	free(t->req);
	free(t->strs);
	free(t->rpid);
	free(t->rstart);
}

/* The attempt in entry i is over (at `end`, monotonic): its record, its
 * lock, its event. */
static void trial_done(struct shim *s, size_t i, struct when end, int status,
		       const struct rusage *ru, const char *error)
{
	struct strial t = shim_remove(s, i);
	struct tc_exit_info ei;

	exit_info(&t, end, status, ru, error, &ei);
	gpu_report(&t);
	record_exit(t.lock_fd, t.off, &ei);
	/* its GPUs first: an attempt seen over holds none */
	if (t.lease_fd >= 0)
		close(t.lease_fd);
	close(t.lock_fd); /* the attempt is over, its record written */
	shim_event(s, TC_SHIM_EXITED, &t, &ei);
	strial_free(&t);
}

/* Forget a trial that waits for its slot: it never started, its status
 * file stays empty, its lock goes. */
static void shim_drop(struct shim *s, size_t i)
{
	struct strial t = shim_remove(s, i);

	/* whoever waited for it waits for what it waited for */
	for (size_t w = 0; w < s->n; w++)
		if (s->t[w].pid == 0 && !strcmp(s->t[w].after, t.id))
			memcpy(s->t[w].after, t.after, sizeof(t.after));
	if (t.lease_fd >= 0)
		close(t.lease_fd);
	close(t.lock_fd);
	shim_event(s, TC_SHIM_DROPPED, &t, NULL);
	strial_free(&t);
}

static ssize_t shim_find(const struct shim *s, pid_t pid, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (id ? !strcmp(s->t[i].id, id) : s->t[i].pid == pid)
			return (ssize_t)i;
	return -1;
}

/* The trial's directory, which the runner made: it and the one holding it
 * (STATE/trials) must still be trainctl's own; its logs are opened
 * through this descriptor, never through a link. */
static int open_trial_dir(const char *dir)
{
	return tc_private_dir_open(dir, 2);
}

/* Entry i could not be started (error says why): recorded as exited with
 * 127, the reason in its stderr.log too (efd, closed here, when open).
 * Returns 0. */
static int spawn_failed(struct shim *s, size_t i, int efd, const char *error)
{
	struct rusage ru;

	if (efd >= 0) {
		dprintf(efd, "trainctl: %s\n", error);
		close(efd);
	}
	memset(&ru, 0, sizeof(ru));
	s->t[i].pid = 0;
	trial_done(s, i, when_now(), 127 << 8, &ru, error);
	return 0;
}

/* A free TCP port of 127.0.0.1 for a group's rendezvous, other than
 * avoid (the previous attempt's); 0 if none could be had. */
static int free_port(int avoid)
{
	int port = 0;

	for (int tries = 0; tries < 16; tries++) {
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t sl = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return 0;
		port = 0;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
			port = ntohs(sa.sin_port);
		close(fd);
		if (port != avoid)
			return port;
	}
	return 0;
}

/* Rank k's environment: the launch's, with the rank's own strings (and
 * the group's port) over it.  The strings stay the request's; NULL when
 * out of memory. */
static char **rank_env(const struct strial *t, int k, const char *port)
{
	char **base = t->strs + 5 + t->argc;
	char **own = base + t->envc + 1 + (size_t)k * (size_t)t->rank_envc;
	char **env = calloc(t->envc + (size_t)t->rank_envc + 2, sizeof(*env));
	size_t n = 0;

	if (!env)
		return NULL;
	for (uint32_t i = 0; i < t->envc; i++) {
		const char *eq = strchr(base[i], '=');
		size_t kl = eq ? (size_t)(eq - base[i]) : strlen(base[i]);
		int skip = kl == 11 && !memcmp(base[i], "MASTER_PORT", 11);

		for (int o = 0; o < t->rank_envc && !skip; o++)
			skip = !strncmp(own[o], base[i], kl) && own[o][kl] == '=';
		if (!skip)
			env[n++] = base[i];
	}
	for (int o = 0; o < t->rank_envc; o++)
		env[n++] = own[o];
	env[n++] = (char *)port;
	return env;
}

/* Start entry i: its ranks, in the group of rank 0.  1 started (its
 * STARTED event is the caller's to send), 0 it could not be (recorded as
 * exited with 127).  A rank after the first that cannot be started stops
 * those that were: the attempt fails with its reason once they are
 * reaped. */
static int shim_spawn(struct shim *s, size_t i)
{
	struct strial *t = &s->t[i];
	char **strs = t->strs;
	const char *cwd = strs[2];
	char **argv = strs + 4, **envp = strs + 5 + t->argc;
	char out_path[PATH_MAX], err_path[PATH_MAX], error[PATH_MAX + 128];
	char out_name[48], err_name[48], portvar[32];
	sigset_t all, none;
	int rc, cwd_fd = -1, dfd = -1, n = t->nranks;
	json_t *ranks;

	t->after[0] = '\0';
	t->t0 = tc_mono();
	t->started = tc_now();
	t->fail_rank = -1;
	/* from here on it may have started: a shim lost before the running
	 * record leaves a trial that nobody may take for never started */
	write_status(t->lock_fd, t->off,
		     json_pack("{s:s, s:i, s:i}", "state", "spawning", "attempt",
			       t->attempt, "supervisor_pid", (int)getpid()));
	t->rpid = calloc((size_t)n, sizeof(*t->rpid));
	t->rstart = calloc((size_t)n, sizeof(*t->rstart));
	if (!t->rpid || !t->rstart)
		return spawn_failed(s, i, -1, "out of memory");
	if (n > 1) {
		t->master_port = free_port(t->avoid_port);
		if (!t->master_port)
			return spawn_failed(s, i, -1,
					    "no free TCP port on 127.0.0.1 for "
					    "the ranks' rendezvous");
		snprintf(portvar, sizeof(portvar), "MASTER_PORT=%d",
			 t->master_port);
	}
	/* opened here, not by posix_spawn: never through a link planted in
	 * the trial's directory (see util/fsutil.h) */
	if ((dfd = open_trial_dir(t->dir)) < 0) {
		snprintf(error, sizeof(error), "cannot create %s: %s", t->dir,
			 tc_fs_strerror(errno));
		return spawn_failed(s, i, -1, error);
	}
	/* entered through a descriptor, so that a directory deleted since is
	 * said to be gone rather than taken for a missing program */
	if (cwd[0] && (cwd_fd = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		int e = errno, efd;

		if (e == ENOENT)
			snprintf(error, sizeof(error),
				 "the working directory %s is gone", cwd);
		else
			snprintf(error, sizeof(error),
				 "cannot enter the working directory %s: %s", cwd,
				 strerror(e));
		efd = tc_private_openat(dfd, "stderr.log",
					O_WRONLY | O_CREAT | O_TRUNC, 0600);
		close(dfd);
		return spawn_failed(s, i, efd, error);
	}
	/* the shim ignores only SIGPIPE (handlers do not survive exec) */
	sigemptyset(&all);
	sigaddset(&all, SIGPIPE);
	sigemptyset(&none);
	for (int k = 0; k < n; k++) {
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t at;
		char **env = envp;
		pid_t child = -1;
		int ofd, efd;

		tc_rank_file(out_name, sizeof(out_name), k, 0, 0);
		tc_rank_file(err_name, sizeof(err_name), k, 1, 0);
		snprintf(out_path, sizeof(out_path), "%s/%s", t->dir, out_name);
		snprintf(err_path, sizeof(err_path), "%s/%s", t->dir, err_name);
		ofd = tc_private_openat(dfd, out_name,
					O_WRONLY | O_CREAT | O_TRUNC, 0600);
		efd = ofd < 0 ? -1
			      : tc_private_openat(dfd, err_name,
						  O_WRONLY | O_CREAT | O_TRUNC,
						  0600);
		if (ofd < 0 || efd < 0) {
			snprintf(error, sizeof(error), "cannot create %s: %s",
				 ofd < 0 ? out_path : err_path,
				 tc_fs_strerror(errno));
			if (ofd >= 0)
				close(ofd);
			rc = -1;
			goto failed;
		}
		if (n > 1 && !(env = rank_env(t, k, portvar))) {
			snprintf(error, sizeof(error), "out of memory");
			close(ofd);
			rc = -1;
			goto failed;
		}
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, ofd, 1);
		posix_spawn_file_actions_adddup2(&fa, efd, 2);
		if (cwd_fd >= 0)
			posix_spawn_file_actions_addfchdir_np(&fa, cwd_fd);
		posix_spawnattr_init(&at);
		posix_spawnattr_setsigdefault(&at, &all);
		posix_spawnattr_setsigmask(&at, &none);
		/* rank 0 leads the group, the others join it */
		posix_spawnattr_setpgroup(&at, k ? t->rpid[0] : 0);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
						      POSIX_SPAWN_SETSIGMASK |
						      POSIX_SPAWN_SETSIGDEF);
		rc = posix_spawnp(&child, argv[0], &fa, &at, argv, env);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&at);
		if (env != envp)
			free(env);
		close(ofd);
		if (rc != 0) {
			snprintf(error, sizeof(error), "cannot execute %s: %s",
				 argv[0], strerror(rc));
			dprintf(efd, "trainctl: %s\n", error);
			close(efd);
			goto failed;
		}
		close(efd);
		t->rpid[k] = child;
		/* unreaped, the child cannot be gone: its start time names it */
		t->rstart[k] = tc_proc_start_time(child);
		t->nleft++;
		continue;
	failed:
		if (k == 0) {
			if (cwd_fd >= 0)
				close(cwd_fd);
			close(dfd);
			return spawn_failed(s, i, -1, error);
		}
		/* the ranks started stop; the attempt is this rank's failure */
		kill(-t->rpid[0], SIGKILL);
		t->kill_at = -1;
		t->fail_rank = k;
		t->have_end = 1;
		t->end_status = 127 << 8;
		memcpy(t->error, error, sizeof(t->error) - 1);
		t->error[sizeof(t->error) - 1] = '\0';
		break;
	}
	if (cwd_fd >= 0)
		close(cwd_fd);
	close(dfd);
	t->pid = t->rpid[0];
	t->pid_start = t->rstart[0];
	free(t->req);
	free(t->strs);
	t->req = NULL;
	t->strs = NULL;
	ranks = n > 1 ? json_array() : NULL;
	for (int k = 1; k < n && ranks; k++)
		if (t->rpid[k])
			json_array_append_new(
				ranks, json_pack("[i, I]", (int)t->rpid[k],
						 (json_int_t)t->rstart[k]));
	/* (the ranks' pids, when they fit the slot: without them a group
	 * whose shim and leader are gone cannot be told to be its own) */
	for (int pass = ranks ? 0 : 1; pass < 2; pass++)
		if (write_status(t->lock_fd, t->off,
				 json_pack("{s:s, s:i, s:i, s:i, s:I, s:f, s:i, s:O*}",
					   "state", "running", "attempt",
					   t->attempt, "supervisor_pid",
					   (int)getpid(), "pgid", (int)t->pid,
					   "pgid_start", (json_int_t)t->pid_start,
					   "started_at", t->started,
					   "master_port", t->master_port,
					   "ranks", pass ? NULL : ranks)) == 0)
			break;
	json_decref(ranks);
	return 1;
}

/* A start the shim cannot take (no lock came with it, or no memory): it
 * is not started, and the runner hears so (DROPPED: it requeues it). */
static void shim_refuse(struct shim *s, const char *id, int attempt)
{
	struct strial t;

	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", id);
	t.attempt = attempt;
	shim_event(s, TC_SHIM_DROPPED, &t, NULL);
}

/* Take a start request (strs points into req; both are kept until the
 * start): start it now, or hold it until the trial it follows ends. */
static void shim_add(struct shim *s, const struct shim_req *rq, char *req,
		     char **strs, int lock_fd, int lease_fd)
{
	struct strial *t;
	const char *after = strs[3];

	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		struct strial *nt = realloc(s->t, ncap * sizeof(*nt));

		if (!nt) {
			close(lock_fd);
			if (lease_fd >= 0)
				close(lease_fd);
			shim_refuse(s, strs[0], rq->attempt);
			free(req);
			free(strs);
			return;
		}
		s->t = nt;
		s->cap = ncap;
	}
	t = &s->t[s->n];
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", strs[0]);
	t->dir = strdup(strs[1]);
	t->attempt = rq->attempt;
	t->timeout = rq->timeout;
	t->grace = rq->grace;
	t->lock_fd = lock_fd; /* locked by the runner, held from now on here */
	t->lease_fd = lease_fd; /* the same */
	t->off = slot_off(rq->idx);
	t->req = req;
	t->strs = strs;
	t->argc = rq->argc;
	t->envc = rq->envc;
	t->nranks = rq->nodes > 1 ? rq->nodes : 1;
	t->rank_envc = rq->nodes > 1 ? rq->rank_envc : 0;
	t->avoid_port = rq->avoid_port;
	t->fail_rank = -1;
	if (!t->dir) {
		close(lock_fd);
		if (lease_fd >= 0)
			close(lease_fd);
		shim_refuse(s, t->id, t->attempt);
		strial_free(t);
		return;
	}
	s->n++;
	if (after[0] && shim_find(s, 0, after) >= 0) {
		/* started when that one is reaped (or, if it waits itself,
		 * once it has run) */
		snprintf(t->after, sizeof(t->after), "%s", after);
		/* published, so that a cancel from another trainctl can ask
		 * this shim to forget it (see tc_supervisor_cancel) */
		write_status(t->lock_fd, t->off,
			     json_pack("{s:s, s:i, s:i}", "state", "waiting",
				       "attempt", t->attempt, "supervisor_pid",
				       (int)getpid()));
		return;
	}
	if (shim_spawn(s, s->n - 1))
		shim_event(s, TC_SHIM_STARTED, &s->t[s->n - 1], NULL);
}

/* Forget the waiting trial of slot idx (a cancel from another process). */
static void shim_drop_slot(struct shim *s, long long idx)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->t[i].pid == 0 && s->t[i].after[0] &&
		    s->t[i].off == slot_off(idx)) {
			shim_drop(s, i);
			return;
		}
}

static ssize_t find_waiter(const struct shim *s, const char *id)
{
	for (size_t w = 0; w < s->n; w++)
		if (s->t[w].pid == 0 && !strcmp(s->t[w].after, id))
			return (ssize_t)w;
	return -1;
}

/* Start entry w; if it cannot start (recorded as exited), the slot passes
 * on to whoever waited for it.  The id of the trial that started goes to
 * `started` ("" if none); its STARTED event is the caller's to send. */
static void start_or_pass(struct shim *s, ssize_t w, char started[32])
{
	started[0] = '\0';
	while (w >= 0) {
		char id[32];

		snprintf(id, sizeof(id), "%s", s->t[w].id);
		if (shim_spawn(s, (size_t)w)) {
			memcpy(started, id, sizeof(id));
			return;
		}
		w = find_waiter(s, id);
	}
}

static void event_started(struct shim *s, const char *id)
{
	ssize_t k;

	if (id[0] && (k = shim_find(s, 0, id)) >= 0)
		shim_event(s, TC_SHIM_STARTED, &s->t[k], NULL);
}

/* The trial with this pid ended: start the one waiting for its slot, then
 * record the end, then say both (in that order). */
static void shim_reaped(struct shim *s, pid_t pid, int status,
			const struct rusage *ru)
{
	ssize_t i = shim_find(s, pid, NULL);
	struct when end = when_now(); /* before the successor's start */
	char next[32];

	if (i < 0)
		return;
	start_or_pass(s, find_waiter(s, s->t[i].id), next);
	i = shim_find(s, pid, NULL); /* the table may have changed */
	if (i >= 0) {
		char error[256];

		snprintf(error, sizeof(error), "%s", s->t[i].error);
		trial_done(s, (size_t)i, end, status, ru, error);
	}
	event_started(s, next);
}

/* The entry one of whose ranks is pid (its index in *rank). */
static ssize_t shim_find_rank(const struct shim *s, pid_t pid, int *rank)
{
	for (size_t i = 0; i < s->n; i++)
		for (int k = 0; s->t[i].rpid && k < s->t[i].nranks; k++)
			if (s->t[i].rpid[k] == pid) {
				*rank = k;
				return (ssize_t)i;
			}
	return -1;
}

/* Rank k of entry i was reaped with this status.  A rank that failed
 * while nobody stopped the group is the attempt's failure, and the
 * others are stopped; when the last rank is reaped the attempt is over:
 * the first status that was not a success is its own. */
static void rank_ended(struct shim *s, size_t i, int k, int status,
		       const struct rusage *ru)
{
	struct strial *t = &s->t[i];
	int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	t->rpid[k] = 0;
	t->nleft--;
	timeradd(&t->ru.ru_utime, &ru->ru_utime, &t->ru.ru_utime);
	timeradd(&t->ru.ru_stime, &ru->ru_stime, &t->ru.ru_stime);
	if (ru->ru_maxrss > t->ru.ru_maxrss)
		t->ru.ru_maxrss = ru->ru_maxrss;
	if (!ok && !t->have_end) {
		t->have_end = 1;
		t->end_status = status;
		if (!t->cancels && !t->timed_out)
			t->fail_rank = k;
	}
	if (!ok && t->nleft > 0 && t->kill_at == 0) {
		/* the rest of the group goes: the attempt has failed */
		kill(-t->pid, SIGTERM);
		t->kill_at = tc_mono() + t->grace;
	}
	if (t->nleft == 0) {
		struct rusage sum = t->ru;

		shim_reaped(s, t->pid, t->have_end ? t->end_status : 0, &sum);
	}
}

/* Has child pid ended (it is not reaped yet)? */
static int child_ended(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == pid;
}

static void shim_cancel(struct strial *t, int hard)
{
	/* one that ended before the cancel reached us is not cancelled:
	 * what it did stands (its leftovers go when it is reaped) */
	if (!t || t->pid <= 0 || child_ended(t->pid))
		return;
	t->cancels++;
	if (hard || t->cancels > 1 || t->timed_out) {
		kill(-t->pid, SIGKILL);
		t->kill_at = -1;
	} else {
		kill(-t->pid, SIGTERM);
		t->kill_at = tc_mono() + t->grace;
	}
}

static void close_pair(int lock_fd, int lease_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
	if (lease_fd >= 0)
		close(lease_fd);
}

/* Read one request.  -1 when the runner is gone. */
static int shim_request(struct shim *s)
{
	uint32_t len;
	struct shim_req rq;
	char *buf, **strs;
	size_t nstr, nrank, k = 0;
	int lock_fd = -1, lease_fd = -1;

	if (recv_header(s->sock, &len, &lock_fd, &lease_fd) != 0 ||
	    len < sizeof(rq) || len > REQ_MAX) {
		close_pair(lock_fd, lease_fd);
		return -1;
	}
	buf = malloc(len + 1);
	if (!buf || read_full(s->sock, buf, len) != 0) {
		free(buf);
		close_pair(lock_fd, lease_fd);
		return -1;
	}
	buf[len] = '\0';
	memcpy(&rq, buf, sizeof(rq));
	if (rq.type == REQ_CANCEL || rq.type == REQ_DROP || rq.type == REQ_NOW) {
		ssize_t i;

		if (rq.type == REQ_CANCEL) {
			i = shim_find(s, rq.pgid, NULL);
			if (i >= 0)
				shim_cancel(&s->t[i], rq.hard);
		} else if ((i = shim_find(s, 0, buf + sizeof(rq))) >= 0 &&
			   s->t[i].pid == 0) {
			char next[32];

			if (rq.type == REQ_DROP) {
				shim_drop(s, (size_t)i);
			} else {
				start_or_pass(s, i, next);
				event_started(s, next);
			}
		}
		free(buf);
		close_pair(lock_fd, lease_fd);
		return 0;
	}
	if (!rq.lease && lease_fd >= 0) {
		close(lease_fd);
		lease_fd = -1;
	}
	if (rq.type == REQ_START && (lock_fd < 0 || (rq.lease && lease_fd < 0)) &&
	    len > sizeof(rq)) {
		/* its lock or its GPUs' lease did not come (no descriptor
		 * left here): it cannot be supervised, so it is not started */
		close_pair(lock_fd, lease_fd);
		shim_refuse(s, buf + sizeof(rq), rq.attempt);
		free(buf);
		return 0;
	}
	if (rq.type != REQ_START || rq.argc == 0 || rq.argc > (1u << 20) ||
	    rq.envc > (1u << 20) || lock_fd < 0 || rq.nodes > TC_RANKS_MAX ||
	    rq.rank_envc < 0 || rq.rank_envc > RANK_ENV_MAX) {
		free(buf);
		close_pair(lock_fd, lease_fd);
		return 0;
	}
	nrank = rq.nodes > 1 ? (size_t)rq.nodes * (size_t)rq.rank_envc : 0;
	nstr = 4 + rq.argc + 1 + rq.envc + 1 + nrank;
	strs = calloc(nstr, sizeof(*strs));
	if (!strs) {
		close_pair(lock_fd, lease_fd);
		shim_refuse(s, buf + sizeof(rq), rq.attempt);
		free(buf);
		return 0;
	}
	for (char *p = buf + sizeof(rq); p < buf + len && k < nstr; k++) {
		if (k == 4 + rq.argc || k == 5 + rq.argc + rq.envc) {
			strs[k] = NULL; /* argv and envp terminators */
			continue;
		}
		strs[k] = p;
		p += strlen(p) + 1;
	}
	if (k >= nstr - (nrank ? 0 : 1)) {
		shim_add(s, &rq, buf, strs, lock_fd, lease_fd);
		return 0;
	}
	close_pair(lock_fd, lease_fd);
	free(strs);
	free(buf);
	return 0;
}

static void shim_main(int sock) __attribute__((noreturn));

static void shim_main(int sock)
{
	struct shim s = {.sock = sock};
	sigset_t mask;
	int sfd, devnull;

	/* nothing of trainctl's but the socket */
	if (sock != 3) {
		dup2(sock, 3);
		close(sock);
		s.sock = 3;
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	close_range(4, ~0U, 0);
	setsid();
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 3)
			close(devnull);
	}
	signal(SIGPIPE, SIG_IGN);
	/* a descriptor per trial it holds (its lock): as many as allowed */
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGRTMIN);
	sigaddset(&mask, SIGRTMIN + 1);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	s.nvml = tc_nvml_open();

	for (;;) {
		struct pollfd pfd[2];
		double now = tc_mono(), wait_s = 3600;
		int status, np = 0;
		struct rusage ru;
		pid_t pid;

		/* reap: leftovers of a trial's group are killed while its
		 * last rank's zombie still holds the pgid (after the reap the
		 * id could name another group) */
		for (;;) {
			siginfo_t si;
			ssize_t ti;
			int rank = -1;

			memset(&si, 0, sizeof(si));
			if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
			    si.si_pid <= 0)
				break;
			pid = si.si_pid;
			ti = shim_find_rank(&s, pid, &rank);
			if (ti >= 0 && s.t[ti].nleft == 1)
				kill(-s.t[ti].pid, SIGKILL);
			if (wait4(pid, &status, 0, &ru) != pid)
				break;
			if (ti >= 0)
				rank_ended(&s, (size_t)ti, rank, status, &ru);
		}
		if (s.sock < 0 && s.n == 0)
			_exit(0);
		/* timeouts and kill deadlines */
		for (size_t i = 0; i < s.n; i++) {
			struct strial *t = &s.t[i];

			if (t->pid <= 0)
				continue;
			if (t->timeout > 0 && !t->timed_out && !t->cancels) {
				if (now - t->t0 >= t->timeout) {
					t->timed_out = 1;
					kill(-t->pid, SIGTERM);
					t->kill_at = now + t->grace;
				} else if (t->t0 + t->timeout - now < wait_s)
					wait_s = t->t0 + t->timeout - now;
			}
			if (t->kill_at > 0) {
				if (now >= t->kill_at) {
					kill(-t->pid, SIGKILL);
					t->kill_at = -1;
				} else if (t->kill_at - now < wait_s)
					wait_s = t->kill_at - now;
			}
		}
		if (s.nvml && s.n > 0) {
			if (now >= s.next_sample) {
				gpu_sample(&s);
				s.next_sample = now + GPU_SAMPLE_EVERY;
			}
			if (s.next_sample - now < wait_s)
				wait_s = s.next_sample - now;
		}
		pfd[np].fd = sfd;
		pfd[np++].events = POLLIN;
		if (s.sock >= 0) {
			pfd[np].fd = s.sock;
			pfd[np++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)np, (int)(wait_s * 1000) + 1) <= 0)
			continue;
		if (pfd[0].revents) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if ((int)si.ssi_signo == SIGRTMIN ||
				    (int)si.ssi_signo == SIGRTMIN + 1) {
					ssize_t i = shim_find(&s, si.ssi_int, NULL);

					if (si.ssi_int < 0)
						shim_drop_slot(&s, -(long long)si.ssi_int - 1);
					else if (i >= 0 && si.ssi_int > 0)
						shim_cancel(&s.t[i],
							    (int)si.ssi_signo ==
								    SIGRTMIN + 1);
				} else if (si.ssi_signo != SIGCHLD) {
					/* stop everything: waiting trials
					 * never start */
					for (size_t i = 0; i < s.n;) {
						if (s.t[i].pid == 0) {
							shim_drop(&s, i);
							continue;
						}
						shim_cancel(&s.t[i],
							    si.ssi_signo == SIGUSR1);
						i++;
					}
				}
			}
		}
		if (np > 1 && pfd[1].revents && shim_request(&s) != 0) {
			close(s.sock);
			s.sock = -1;
		}
	}
}

/* ---- the runner's side ----------------------------------------------------- */

int tc_shim_start(struct tc_shim **out, struct tc_error *err)
{
	int sv[2];
	struct tc_shim *s = calloc(1, sizeof(*s));
	pid_t pid;

	*out = NULL;
	if (!s)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		free(s);
		return tc_error_set(err, TC_ERR_IO, "socketpair: %s", strerror(errno));
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		free(s);
		return tc_error_set(err, TC_ERR_IO, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(sv[0]);
		shim_main(sv[1]);
	}
	close(sv[1]);
	s->fd = sv[0];
	s->pid = pid;
	*out = s;
	return 0;
}

int tc_shim_fd(const struct tc_shim *s)
{
	return s->fd;
}

pid_t tc_shim_pid(const struct tc_shim *s)
{
	return s->pid;
}

/* The MASTER_PORT in the record of a slot (an earlier attempt's), 0. */
static int slot_port(int fd, off_t off)
{
	char buf[TC_SLOT_SIZE];
	ssize_t n = pread(fd, buf, sizeof(buf), off);
	json_t *o;
	int port = 0;

	if (n <= 0)
		return 0;
	o = json_loadb(buf, strnlen(buf, (size_t)n), 0, NULL);
	port = (int)json_integer_value(json_object_get(o, "master_port"));
	json_decref(o);
	return port > 0 && port < 65536 ? port : 0;
}

int tc_shim_launch(struct tc_shim *s, const struct tc_launch *l,
		   struct tc_error *err)
{
	struct shim_req rq;
	size_t len = sizeof(rq), argc = 0, envc = 0, nrank = 0;
	const char *fixed[4] = {l->id, l->trial_dir, l->cwd ? l->cwd : "",
			       l->after ? l->after : ""};
	char *buf, *p;
	uint32_t len32;
	int rc;

	while (l->argv[argc])
		len += strlen(l->argv[argc++]) + 1;
	while (l->envp[envc])
		len += strlen(l->envp[envc++]) + 1;
	if (l->nodes > TC_RANKS_MAX || l->rank_envc < 0 ||
	    l->rank_envc > RANK_ENV_MAX)
		return tc_error_set(err, TC_ERR_USAGE,
				    "trial %s: %d ranks on one machine (at most "
				    "%d)", l->id, l->nodes, TC_RANKS_MAX);
	if (l->nodes > 1)
		nrank = (size_t)l->nodes * (size_t)l->rank_envc;
	for (size_t i = 0; i < nrank; i++)
		len += strlen(l->rank_env[i]) + 1;
	for (int i = 0; i < 4; i++)
		len += strlen(fixed[i]) + 1;
	if (len > REQ_MAX)
		return tc_error_set(err, TC_ERR_USAGE,
				    "the command and environment of trial %s are "
				    "too large (%zu bytes)",
				    l->id, len);
	memset(&rq, 0, sizeof(rq));
	rq.type = REQ_START;
	rq.attempt = l->attempt;
	rq.argc = (uint32_t)argc;
	rq.envc = (uint32_t)envc;
	rq.timeout = l->timeout;
	rq.grace = l->kill_grace;
	rq.idx = l->slot.idx;
	rq.lease = l->lease_fd >= 0;
	rq.nodes = l->nodes > 1 ? l->nodes : 1;
	rq.rank_envc = l->nodes > 1 ? l->rank_envc : 0;
	buf = malloc(sizeof(len32) + len);
	if (!buf)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	len32 = (uint32_t)len;
	memcpy(buf, &len32, sizeof(len32));
	memcpy(buf + sizeof(len32), &rq, sizeof(rq));
	p = buf + sizeof(len32) + sizeof(rq);
#define PUT(str)                                                               \
	do {                                                                   \
		size_t n_ = strlen(str) + 1;                                   \
		memcpy(p, (str), n_);                                          \
		p += n_;                                                       \
	} while (0)
	for (int i = 0; i < 4; i++)
		PUT(fixed[i]);
	for (size_t i = 0; i < argc; i++)
		PUT(l->argv[i]);
	for (size_t i = 0; i < envc; i++)
		PUT(l->envp[i]);
	for (size_t i = 0; i < nrank; i++)
		PUT(l->rank_env[i]);
#undef PUT
	/* The lock is taken here and handed to the shim with the request:
	 * it is held without a gap from before the request is sent until the
	 * attempt is over, so a runner that dies at any point leaves either
	 * a held lock (the shim has or will start the trial) or a free one
	 * (nothing started). */
	{
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
				   .l_start = slot_off(l->slot.idx),
				   .l_len = TC_SLOT_SIZE};
		static const char zero[TC_SLOT_SIZE];
		int lfd, e = 0;

		/* a description of its own: the lock is the description's */
		lfd = tc_private_open(l->slot.path, O_RDWR | O_CREAT, 0600);
		if (lfd < 0 || fcntl(lfd, F_OFD_SETLK, &fl) != 0) {
			e = errno;
		} else {
			/* a retry rendezvous on another port than the last
			 * attempt's (its leftovers may still hold it) */
			if (l->nodes > 1 &&
			    (rq.avoid_port = slot_port(lfd, fl.l_start)) > 0)
				memcpy(buf + sizeof(len32), &rq, sizeof(rq));
			/* an earlier attempt's record goes */
			if (pwrite(lfd, zero, sizeof(zero), fl.l_start) !=
			    sizeof(zero))
				e = errno ? errno : EIO;
		}
		if (e) {
			int busy = e == EAGAIN || e == EACCES;

			if (lfd >= 0)
				close(lfd);
			free(buf);
			return tc_error_set(err, busy ? TC_ERR_STATE : TC_ERR_IO,
					    busy ? "trial %s is still supervised by "
						   "another trainctl"
						 : "cannot lock %s: %s",
					    busy ? l->id : l->slot.path,
					    tc_fs_strerror(e));
		}
		{
			/* the GPU lease rides along: held by the shim from
			 * then on, like the lock */
			int fds[2] = {lfd, l->lease_fd};

			rc = send_with_fds(s->fd, buf, sizeof(len32) + len, fds,
					   l->lease_fd >= 0 ? 2 : 1);
		}
		close(lfd);
	}
	free(buf);
	if (rc != 0)
		return tc_error_set(err, TC_ERR_IO, "the supervisor is gone: %s",
				    strerror(errno));
	return 0;
}

int tc_shim_cancel(struct tc_shim *s, pid_t pgid, int hard)
{
	char buf[sizeof(uint32_t) + sizeof(struct shim_req)];
	struct shim_req rq;
	uint32_t len = sizeof(rq);

	/* laid out byte by byte as the shim reads it: length, then request */
	memset(&rq, 0, sizeof(rq));
	rq.type = REQ_CANCEL;
	rq.pgid = pgid;
	rq.hard = hard;
	memcpy(buf, &len, sizeof(len));
	memcpy(buf + sizeof(len), &rq, sizeof(rq));
	return write_full(s->fd, buf, sizeof(buf));
}

static int send_id(struct tc_shim *s, uint32_t type, const char *id)
{
	char buf[sizeof(uint32_t) + sizeof(struct shim_req) + 32];
	struct shim_req rq;
	size_t n = strlen(id) + 1;
	uint32_t len;

	if (n > 32)
		return -1;
	len = (uint32_t)(sizeof(rq) + n);
	memset(&rq, 0, sizeof(rq));
	rq.type = type;
	memcpy(buf, &len, sizeof(len));
	memcpy(buf + sizeof(len), &rq, sizeof(rq));
	memcpy(buf + sizeof(len) + sizeof(rq), id, n);
	return write_full(s->fd, buf, sizeof(len) + len);
}

int tc_shim_drop(struct tc_shim *s, const char *id)
{
	return send_id(s, REQ_DROP, id);
}

int tc_shim_start_now(struct tc_shim *s, const char *id)
{
	return send_id(s, REQ_NOW, id);
}

int tc_shim_read(struct tc_shim *s, struct tc_shim_event *ev)
{
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (read_full(s->fd, ev, sizeof(*ev)) != 0)
		return -1;
	ev->id[sizeof(ev->id) - 1] = '\0';
	return 1;
}

void tc_shim_close(struct tc_shim *s)
{
	if (!s)
		return;
	close(s->fd);
	waitpid(s->pid, NULL, WNOHANG);
	free(s);
}

/* ---- inspecting attempts from any process ------------------------------ */

int tc_supervisor_status_path(const char *state_dir, const char *exp,
			      char *buf, size_t len)
{
	return snprintf(buf, len, "%s/locks/%s.status", state_dir, exp) < (int)len
		       ? 0
		       : -1;
}

static json_t *read_status(const struct tc_slot *sl)
{
	char buf[TC_SLOT_SIZE];
	int fd = open(sl->path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = pread(fd, buf, sizeof(buf), slot_off(sl->idx));
	close(fd);
	if (n <= 0)
		return NULL;
	return json_loadb(buf, strnlen(buf, (size_t)n), 0, NULL);
}

int tc_supervisor_read_exit(const struct tc_slot *sl, int attempt,
			    struct tc_exit_info *ei)
{
	json_t *o = read_status(sl);
	const char *e, *st;

	memset(ei, 0, sizeof(*ei));
	if (!o)
		return -1;
	st = json_string_value(json_object_get(o, "state"));
	ei->attempt = (int)json_integer_value(json_object_get(o, "attempt"));
	if (ei->attempt != attempt || !st || strcmp(st, "exited") != 0) {
		json_decref(o);
		return -1;
	}
	ei->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
	ei->term_signal = (int)json_integer_value(json_object_get(o, "signal"));
	ei->timed_out = json_is_true(json_object_get(o, "timed_out"));
	ei->cancelled = json_is_true(json_object_get(o, "cancelled"));
	ei->started_at = json_number_value(json_object_get(o, "started_at"));
	ei->ended_at = json_number_value(json_object_get(o, "ended_at"));
	ei->wall = json_number_value(json_object_get(o, "wall"));
	ei->utime = json_number_value(json_object_get(o, "utime"));
	ei->stime = json_number_value(json_object_get(o, "stime"));
	ei->maxrss_kb = (long)json_integer_value(json_object_get(o, "maxrss_kb"));
	ei->rank = json_is_integer(json_object_get(o, "rank"))
			   ? (int)json_integer_value(json_object_get(o, "rank"))
			   : -1;
	ei->master_port = (int)json_integer_value(json_object_get(o, "master_port"));
	e = json_string_value(json_object_get(o, "error"));
	snprintf(ei->error, sizeof(ei->error), "%s", e ? e : "");
	json_decref(o);
	return 0;
}

int tc_supervisor_read_run(const struct tc_slot *sl, int attempt,
			   pid_t *shim_pid, pid_t *pgid)
{
	json_t *o = read_status(sl);
	int ok;

	if (!o)
		return -1;
	ok = json_integer_value(json_object_get(o, "attempt")) == attempt &&
	     json_integer_value(json_object_get(o, "pgid")) > 0;
	if (ok) {
		*shim_pid = (pid_t)json_integer_value(
			json_object_get(o, "supervisor_pid"));
		*pgid = (pid_t)json_integer_value(json_object_get(o, "pgid"));
	}
	json_decref(o);
	return ok ? 0 : -1;
}

enum tc_probe tc_supervisor_probe(const struct tc_slot *sl, int attempt,
				  struct tc_exit_info *ei)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
			   .l_start = slot_off(sl->idx), .l_len = TC_SLOT_SIZE};
	int fd = open(sl->path, O_RDONLY | O_CLOEXEC);
	int held = 0;

	/* asking takes no lock: a prober never gets in a shim's way */
	if (fd >= 0) {
		held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
		close(fd);
	}
	if (held)
		return TC_PROBE_ALIVE;
	if (tc_supervisor_read_exit(sl, attempt, ei) == 0)
		return TC_PROBE_EXITED;
	return TC_PROBE_VANISHED;
}

/* A process's start time (clock ticks since boot; 0 when it does not
 * exist) and state letter ('Z' for a zombie) from /proc. */
static long long proc_stat(pid_t pid, char *state)
{
	char path[64], buf[1024], *p;
	FILE *f;
	long long start = 0;
	size_t n;

	*state = '?';
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: count fields
	 * from the last ')' (field 3 is the state, 22 starttime) */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	if (p[0] == ' ' && p[1])
		*state = p[1];
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoll(p + 1, NULL, 10);
	return start;
}

long long tc_proc_start_time(pid_t pid)
{
	char state;

	return proc_stat(pid, &state);
}

/* The group a running record names, if it is still the attempt's: its
 * leader alive (or unreaped) and started when recorded, or, the leader
 * gone, one of its other ranks still in the group (the pgid is held
 * while a member lives).  *running: how many of them are still running
 * (not zombies). */
static pid_t record_group(json_t *o, int attempt, int *running)
{
	const char *st = json_string_value(json_object_get(o, "state"));
	json_int_t pg = json_integer_value(json_object_get(o, "pgid"));
	json_int_t start = json_integer_value(json_object_get(o, "pgid_start"));
	json_t *ranks = json_object_get(o, "ranks"), *r;
	int mine = st && !strcmp(st, "running") &&
		   json_integer_value(json_object_get(o, "attempt")) == attempt;
	pid_t found = 0;
	size_t k;
	char state;

	*running = 0;
	/* a record without the leader's start time names no group for sure */
	if (!mine || pg <= 0 || pg > INT_MAX || start <= 0)
		return 0;
	if (proc_stat((pid_t)pg, &state) == start) {
		found = (pid_t)pg;
		*running += state != 'Z';
	}
	json_array_foreach(ranks, k, r) {
		json_int_t pid = json_integer_value(json_array_get(r, 0));
		json_int_t rs = json_integer_value(json_array_get(r, 1));

		if (pid <= 0 || pid > INT_MAX || rs <= 0 ||
		    proc_stat((pid_t)pid, &state) != rs ||
		    getpgid((pid_t)pid) != (pid_t)pg)
			continue;
		found = (pid_t)pg;
		*running += state != 'Z';
	}
	return found;
}

pid_t tc_supervisor_trial_group(const struct tc_slot *sl, int attempt)
{
	json_t *o = read_status(sl);
	int running;
	pid_t pg = record_group(o, attempt, &running);

	json_decref(o);
	return pg;
}

enum tc_lost tc_supervisor_lost(const struct tc_slot *sl, int attempt)
{
	json_t *o = read_status(sl);
	const char *st = json_string_value(json_object_get(o, "state"));
	int started = st && (!strcmp(st, "spawning") || !strcmp(st, "running")) &&
		      json_integer_value(json_object_get(o, "attempt")) == attempt;
	int running = 0;
	pid_t pg = started ? record_group(o, attempt, &running) : 0;

	json_decref(o);
	if (!started)
		return TC_LOST_UNSTARTED;
	if (pg <= 0)
		return TC_LOST_UNKNOWN;
	/* a group whose members have all ended (zombies nobody reaped yet)
	 * ran no more; its leftovers go all the same, and of a group some
	 * of whose ranks are gone the survivors go too: never half of it */
	if (kill(-pg, SIGKILL) == 0 && running > 0)
		return TC_LOST_KILLED;
	return TC_LOST_UNKNOWN;
}

int tc_supervisor_cancel(const struct tc_slot *sl, int attempt,
			 pid_t shim_pid, long long shim_start, int hard)
{
	pid_t sp = 0, pgid = 0;
	struct tc_exit_info ei;

	if (tc_supervisor_probe(sl, attempt, &ei) != TC_PROBE_ALIVE)
		return -1; /* over already, or never started */
	if (tc_supervisor_read_run(sl, attempt, &sp, &pgid) != 0 || pgid <= 0) {
		/* not started: waiting in its shim for a slot?  The shim holds
		 * the lock, so the pid it published is its own */
		json_t *o = read_status(sl);
		const char *st = json_string_value(json_object_get(o, "state"));
		pid_t wp = (pid_t)json_integer_value(json_object_get(o, "supervisor_pid"));
		int waiting = st && !strcmp(st, "waiting") &&
			      json_integer_value(json_object_get(o, "attempt")) == attempt;
		union sigval v = {.sival_int = -(int)(sl->idx + 1)};

		json_decref(o);
		if (waiting && wp > 0 && sl->idx < INT_MAX - 1 &&
		    sigqueue(wp, SIGRTMIN, v) == 0)
			return 1;
		return -1;
	}
	if (shim_pid <= 0)
		shim_pid = sp;
	if (shim_pid > 0 && (!shim_start || tc_proc_start_time(shim_pid) == shim_start)) {
		union sigval v = {.sival_int = pgid};

		if (sigqueue(shim_pid, hard ? SIGRTMIN + 1 : SIGRTMIN, v) == 0)
			return 0;
	}
	pgid = tc_supervisor_trial_group(sl, attempt);
	return pgid > 0 && kill(-pgid, hard ? SIGKILL : SIGTERM) == 0 ? 0 : -1;
}
