/*
 * local.h — the local backend: one supervisor process per trial attempt.
 *
 * tc_local_start() takes the trial directory's lock, forks a supervisor and
 * returns its pid.  The supervisor (the idea of containerd's shim) starts its
 * own session, spawns the trial with posix_spawn in a new process group with
 * stdout/stderr going straight to files in the trial directory, enforces the
 * timeout on the whole group, and when the trial ends writes exit.json
 * (exit status and wait4 accounting) atomically and exits.  It holds the
 * lock (.lock, flock) for its whole life and nothing else does, so a
 * restarted trainctl can tell a live supervisor from a vanished one without
 * trusting pids.  Signals to the supervisor: SIGTERM/SIGINT/SIGHUP cancel
 * (SIGTERM to the trial's group, SIGKILL after the grace period or at the
 * second signal); SIGUSR1 cancels at once (SIGKILL to the group).
 *
 * Files in the trial directory, per attempt:
 *   stdout.log, stderr.log   the trial's output (earlier attempts are kept
 *                            as stdout.N.log, stderr.N.log)
 *   run.json                 {attempt, supervisor_pid, pgid, started_at}
 *   exit.json                {attempt, exit_code, signal, timed_out,
 *                             cancelled, started_at, ended_at, wall, utime,
 *                             stime, maxrss_kb, error}
 */
#ifndef TC_LOCAL_H
#define TC_LOCAL_H

#include <sys/types.h>

#include "util/error.h"

struct tc_launch {
	const char *trial_dir; /* absolute; exists */
	const char *cwd;       /* working directory of the trial */
	char *const *argv;     /* NULL-terminated; argv[0] looked up in PATH */
	char *const *envp;     /* the trial's whole environment */
	int attempt;
	double timeout;        /* seconds, 0 = none */
	double kill_grace;     /* seconds between SIGTERM and SIGKILL */
};

struct tc_exit_info {
	int attempt;
	int exit_code;   /* -1 when killed by a signal */
	int term_signal; /* 0 when it exited */
	int timed_out;
	int cancelled;   /* the supervisor was asked to stop it */
	double started_at, ended_at, wall, utime, stime;
	long maxrss_kb;
	char error[256]; /* "cannot execute foo: No such file or directory" */
};

/* Start an attempt.  *pid is the supervisor's pid (a child of the caller,
 * reaped with waitpid).  0 or TC_ERR_IO / TC_ERR_STATE (a supervisor for
 * this trial is already alive). */
int tc_local_start(const struct tc_launch *l, pid_t *pid, struct tc_error *err);

enum tc_probe { TC_PROBE_ALIVE, TC_PROBE_EXITED, TC_PROBE_VANISHED };

/* What became of attempt `attempt` of the trial in trial_dir?  ALIVE (a
 * supervisor holds the lock), EXITED (exit.json of that attempt is there;
 * *ei filled), or VANISHED (neither). */
enum tc_probe tc_local_probe(const char *trial_dir, int attempt,
			     struct tc_exit_info *ei);

/* Read exit.json; 0 when present and of this attempt, -1 otherwise. */
int tc_local_read_exit(const char *trial_dir, int attempt,
		       struct tc_exit_info *ei);

/* Read run.json: the supervisor pid and the trial's process group of this
 * attempt.  0 or -1. */
int tc_local_read_run(const char *trial_dir, int attempt, pid_t *sup_pid,
		      pid_t *pgid);

/* The kernel's start time of a process (clock ticks since boot), 0 when it
 * does not exist: with the pid it names one process for good. */
long long tc_proc_start_time(pid_t pid);

/* Ask the supervisor of an attempt to stop the trial (SIGTERM; `hard`:
 * SIGUSR1, which kills at once).  The pid is checked against its
 * recorded start time first.  If the supervisor is gone but the trial's
 * group still runs, the group is killed.  0, or -1 when nothing was there. */
int tc_local_cancel(const char *trial_dir, int attempt, pid_t sup_pid,
		    long long sup_start, int hard);

/* The supervisor itself (also reachable as `trainctl __supervise`, unused
 * by default).  Never returns. */
void tc_supervise(const struct tc_launch *l, int lock_fd)
	__attribute__((noreturn));

#endif
