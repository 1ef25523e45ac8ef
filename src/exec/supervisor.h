/*
 * supervisor.h — the supervisor of the local backend's trials ("shim", the
 * idea of containerd's): the process that is the parent of every trial a
 * runner starts, and outlives the runner.
 *
 * A runner forks one shim when it starts (tc_shim_start) and talks to it
 * over a socket pair.  Each trial has a slot of TC_SLOT_SIZE bytes at its
 * index in the experiment's status file (STATE/locks/EXP.status).  For
 * each attempt the runner opens the file afresh, takes an
 * open-file-description lock (F_OFD_SETLK) on the trial's slot and hands
 * the descriptor to the shim with the request, so the lock is held without
 * a gap until the attempt is over, and by nothing else.  The shim spawns
 * the trial with posix_spawn in its own process group with stdout/stderr
 * going straight to files in its directory, enforces its timeout on the
 * whole group, and when it ends reaps it with wait4, writes the exit status
 * and accounting into the slot, lets go of the lock and tells the runner.
 * A trial that uses GPUs comes with a second descriptor, its machine-wide
 * GPU lease (exec/gpulease.h), held the same way and let go just before
 * the slot's lock.
 * If the runner dies, the shim goes on until its last trial has ended and
 * been recorded in its slot, then exits; a restarted runner starts a shim
 * of its own and tells live attempts (slot locked) from finished (exit
 * record) and vanished ones (neither) without trusting pids.  One file for
 * all trials rather than one per trial: creating a file costs more than
 * the rest of a trial's bookkeeping on some file systems (ext4 without a
 * journal scans past every inode deleted in the last minutes).
 *
 * A request may name the trial whose slot it takes ("after"): the shim
 * then holds it, with its lock, and starts it the moment that trial has
 * been reaped, so a freed slot is refilled without a round trip through
 * the runner.  Trials wait in chains (one waits for a trial that waits
 * itself); one that is dropped hands its place in the chain to the one
 * behind it.  A waiting trial is started even if the runner is gone (its
 * start was committed to the journal); only the runner's drop request or a
 * signal that stops every trial makes the shim forget it.
 *
 * One shim per runner rather than one supervisor per trial: creating a
 * process costs milliseconds on some machines, and a trial already costs
 * one.  A shim that dies leaves its trials running; the runner then treats
 * them as adopted and a new shim takes the next ones.
 *
 * Signals a shim takes from other processes (cancel from another
 * trainctl): SIGRTMIN with the trial's pgid as its value cancels that trial
 * (SIGTERM to its group, SIGKILL after the grace period), SIGRTMIN+1 kills
 * it at once.
 *
 * A slot holds one JSON line, NUL-padded, written only under its lock:
 * while the trial is being spawned {state: spawning, attempt,
 * supervisor_pid} (so that a supervisor lost at that moment leaves a trial
 * that may have started, never one taken for unstarted); while the attempt
 * runs {state: running, attempt, supervisor_pid, pgid, pgid_start (the
 * kernel's start time of the group's leader: with pgid it names the group
 * for good), started_at}; when it is over {state: exited, attempt,
 * exit_code, signal, timed_out, cancelled, started_at, ended_at, wall,
 * utime, stime, maxrss_kb, error}; the exit record is final once the lock
 * is free.  The runner clears the slot when it takes the lock for a new
 * attempt.
 *
 * Signals to a trial's process group: its shim sends them while the
 * group's leader is its unreaped child (the pid cannot be reused then);
 * any other process only through tc_supervisor_trial_group, which checks
 * that the recorded group is still the trial's.
 *
 * Files in the trial directory, per attempt: stdout.log, stderr.log (the
 * trial's output; earlier attempts are kept as stdout.N.log, stderr.N.log
 * by the runner).
 *
 * A trial of several ranks (nodes > 1) is one attempt of `nodes`
 * processes, spawned together into one process group (rank 0 leads it),
 * so that every signal above reaches all of them.  The shim picks the
 * attempt's MASTER_PORT (a free port of 127.0.0.1, never the previous
 * attempt's) and gives each rank the launch's environment with its own
 * variables over it (rank_env).  Rank i > 0 writes stdout.rank<i>.log and
 * stderr.rank<i>.log.  The running record adds master_port and ranks:
 * [[pid, start time], ...] of ranks 1.., so that a group whose shim died
 * is killed whole even when its leader is gone.  The attempt is over when
 * every rank has ended: succeeded when all exited 0; the first rank that
 * failed (exit code or signal, while nobody stopped the group) stops the
 * others (SIGTERM, SIGKILL after the grace period) and its status is the
 * attempt's, its index in the exit record's `rank`.
 */
#ifndef TC_SUPERVISOR_H
#define TC_SUPERVISOR_H

#include <sys/types.h>

#include "util/error.h"

#define TC_SLOT_SIZE 1024
#define TC_RANKS_MAX 4096 /* processes of one trial (nodes:) on one machine */

/* A trial's slot: the experiment's status file and the trial's index. */
struct tc_slot {
	const char *path;
	long long idx;
};

/* The name of file `which` (0 stdout, 1 stderr, 2 the metrics file) of
 * rank `rank` in a trial's directory: stdout.log, stdout.rank1.log; with
 * kept > 0, attempt kept's as the runner keeps it (stdout.3.log,
 * stdout.rank1.3.log). */
void tc_rank_file(char *buf, size_t len, int rank, int which, int kept);

/* The status file of experiment exp in state_dir.  0, or -1 if too long. */
int tc_supervisor_status_path(const char *state_dir, const char *exp,
			      char *buf, size_t len);

struct tc_launch {
	const char *id;        /* the trial id, echoed in events */
	const char *after;     /* NULL: start now; else the id of a trial of
				* this shim whose slot it takes: started the
				* moment that one ends (or now, if it has) */
	const char *trial_dir; /* absolute; exists */
	struct tc_slot slot;   /* its slot in the status file */
	const char *cwd;       /* working directory of the trial */
	char *const *argv;     /* NULL-terminated; argv[0] looked up in PATH */
	char *const *envp;     /* the trial's whole environment */
	int attempt;
	double timeout;        /* seconds, 0 = none */
	double kill_grace;     /* seconds between SIGTERM and SIGKILL */
	int lease_fd;          /* -1, or the trial's GPU lease (see
				* exec/gpulease.h): a copy goes to the shim,
				* which holds it until it has reaped the
				* trial; the caller closes its own */
	int nodes;             /* its ranks (processes), >= 1 */
	char *const *rank_env; /* nodes > 1: nodes * rank_envc strings
				* NAME=VALUE, rank i's from i * rank_envc,
				* set over envp for that rank */
	int rank_envc;
};

struct tc_exit_info {
	int attempt;
	int exit_code;   /* -1 when killed by a signal */
	int term_signal; /* 0 when it exited */
	int timed_out;
	int cancelled;   /* the shim stopped it when asked to (an attempt
			  * that had ended already, or that exited 0, was
			  * not cancelled: what it did stands) */
	double started_at, ended_at, wall, utime, stime;
	long maxrss_kb;
	int rank;        /* the rank whose failure ended the attempt, -1 */
	int master_port; /* nodes > 1: the attempt's rendezvous port, 0 */
	char error[256]; /* "cannot execute foo: No such file or directory" */
};

struct tc_shim;

/* Fork a shim.  Returns 0 or TC_ERR_IO. */
int tc_shim_start(struct tc_shim **out, struct tc_error *err);

/* The socket to poll for events, and the shim's pid (a child of the
 * caller: its death shows as SIGCHLD). */
int tc_shim_fd(const struct tc_shim *s);
pid_t tc_shim_pid(const struct tc_shim *s);

/* Ask the shim to start an attempt.  Returns 0 when sent; the outcome
 * comes as an event. */
int tc_shim_launch(struct tc_shim *s, const struct tc_launch *l,
		   struct tc_error *err);

/* Ask the shim to cancel the attempt whose process group is pgid. */
int tc_shim_cancel(struct tc_shim *s, pid_t pgid, int hard);

/* Ask the shim to forget a trial still waiting for its slot (launched with
 * `after`): it answers TC_SHIM_DROPPED, or nothing if the trial has
 * started already (TC_SHIM_STARTED is then on its way). */
int tc_shim_drop(struct tc_shim *s, const char *id);

/* Ask the shim to start a waiting trial now, in a slot of its own (one
 * that freed first): TC_SHIM_STARTED follows, unless it started already. */
int tc_shim_start_now(struct tc_shim *s, const char *id);

enum tc_shim_event_type {
	TC_SHIM_STARTED, /* pid is the trial's pid (= its pgid), at its start */
	TC_SHIM_EXITED,  /* the exit record is written (and in ei); the lock
			  * is free */
	TC_SHIM_DROPPED, /* a waiting trial was forgotten, never started; its
			  * lock is free and its status file empty */
};

struct tc_shim_event {
	enum tc_shim_event_type type;
	char id[32];
	int attempt;
	pid_t pid;
	long long pid_start;     /* STARTED: the pid's start time (see
				  * tc_proc_start_time) */
	double at;               /* STARTED: when (wall clock) */
	struct tc_exit_info ei;  /* EXITED: the exit record */
};

/* Read the next event: 1 one read, 0 none waiting, -1 the shim is gone. */
int tc_shim_read(struct tc_shim *s, struct tc_shim_event *ev);

/* Close the socket (the shim exits once its trials have ended) and reap
 * the shim if it has exited; frees s. */
void tc_shim_close(struct tc_shim *s);

enum tc_probe { TC_PROBE_ALIVE, TC_PROBE_EXITED, TC_PROBE_VANISHED };

/* What became of attempt `attempt` of the trial in slot sl?  ALIVE (a
 * shim holds the lock), EXITED (the exit record of that attempt is there;
 * *ei filled), or VANISHED (neither). */
enum tc_probe tc_supervisor_probe(const struct tc_slot *sl, int attempt,
				  struct tc_exit_info *ei);

/* Read the exit record; 0 when present and of this attempt, -1
 * otherwise. */
int tc_supervisor_read_exit(const struct tc_slot *sl, int attempt,
			    struct tc_exit_info *ei);

/* Read the running record: the shim pid and the trial's process group of
 * this attempt.  0 or -1. */
int tc_supervisor_read_run(const struct tc_slot *sl, int attempt,
			   pid_t *shim_pid, pid_t *pgid);

/* The kernel's start time of a process (clock ticks since boot), 0 when it
 * does not exist: with the pid it names one process for good. */
long long tc_proc_start_time(pid_t pid);

/* The process group of attempt `attempt` as its slot records it, if that
 * group is still the attempt's: its leader alive (or not yet reaped) and
 * started when the record says.  After a reboot or a long outage a
 * recorded pgid may name anything; every signal to a trial's group from
 * outside its shim goes through this check.  The pgid, or 0. */
pid_t tc_supervisor_trial_group(const struct tc_slot *sl, int attempt);

enum tc_lost {
	TC_LOST_UNSTARTED, /* its start was never recorded: it did not run */
	TC_LOST_UNKNOWN,   /* it started; nothing left of it can be told to
			    * be its own: its outcome is unknown */
	TC_LOST_KILLED,    /* it still ran: its group was killed (SIGKILL) */
};

/* What is known of an attempt whose shim is gone without recording its
 * end (tc_supervisor_probe said VANISHED).  A group that is still the
 * trial's (tc_supervisor_trial_group) is killed: without a parent its
 * exit status could never be known.  Leftovers of a group whose leader has
 * ended cannot be told from a stranger's group and are left alone. */
enum tc_lost tc_supervisor_lost(const struct tc_slot *sl, int attempt);

/* Cancel an attempt from any process: signal its shim (checked against its
 * recorded start time) with the trial's pgid; if the shim cannot be
 * reached but the trial's group is still its
 * (tc_supervisor_trial_group), signal the group.  0, 1 when it had not
 * started (it waited in its shim for a slot, and is dropped), or -1 when
 * nothing was there. */
int tc_supervisor_cancel(const struct tc_slot *sl, int attempt,
			 pid_t shim_pid, long long shim_start, int hard);

#endif
