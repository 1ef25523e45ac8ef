/*
 * runner.c — the local backend's part of a run (see runner.h): what the one
 * loop (tc_sched_run, exec/scheduler.h) asks of it, on processes here.
 *
 * Invariants kept here:
 *   - A trial is set to starting (and the attempt number spent) in a
 *     committed transaction before the request to start it goes to the
 *     shim, and to running with its process group when the shim reports
 *     the start.  Its outcome is committed with its metrics; its slot may
 *     be handed to the next trial first (the outcome waits in the trial's
 *     slot of the status file meanwhile, where recovery finds it).  What
 *     happens in a short while shares one commit (see txn_begin).
 *   - Short trials get successors that wait in the shim for their slot
 *     (pred/succ chains, see stage_ok): a waiting trial is starting in the
 *     journal, counts in no slot (nstandby), and takes its predecessor's
 *     slot when that one ends, or a slot that frees first (promote).  It
 *     is dropped, never started, when the run stops or it is cancelled;
 *     a dropped one goes back to the queue without spending its attempt.
 *   - The journal, not this process, decides what is left to run: the next
 *     trial is always read from it, so `cancel` and `retry` from another
 *     process take effect at once.
 *   - Metrics of an attempt are collected from the start of its files
 *     whenever a runner (re)starts watching it, after deleting that
 *     attempt's rows: collecting is idempotent.
 */
#include "exec/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "exec/gpulease.h"
#include "exec/record.h"
#include "exec/scheduler.h"
#include "exec/supervisor.h"
#include "search/search.h"
#include "metrics/metrics.h"
#include "spec/spec.h"
#include "store/experiment.h"
#include "store/trials.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/spawn.h"
#include "util/text.h"

extern char **environ;

#define TAIL_INTERVAL 0.5       /* seconds between log reads of a trial */
/* ... with early_stop: a trial to stop is stopped within this of its
 * value, so short epochs are not run past the rung that ends them (at
 * 0.02 s the reads cost trainctl about 1% of a core; bench/RESULTS.md) */
#define TAIL_INTERVAL_PRUNE 0.02
#define TAIL_MAX_PER_TICK (4 << 20) /* bytes read per file per tick */

struct live {
	char id[TC_TRIAL_ID_LEN + 1];
	int attempt;
	pid_t pgid;         /* the trial's process group; 0 until known */
	pid_t shim_pid;     /* its supervisor; 0 when unknown */
	long long shim_start;
	int own;            /* supervised by our shim: its events come to us */
	int cancel_pending; /* interrupted before the shim reported its start */
	int released;       /* its slot and resources are handed out already */
	int gpus[16];
	int ngpus;
	int lease_fd;       /* its GPUs' lease until handed to the shim, -1 */
	double timeout;     /* its run.timeout (its stage's), set when picked */
	char *dir;
	char *params;       /* JSON text, for progress lines */
	double t0;          /* monotonic start (ours) */
	struct tailf *tf;   /* the files it writes that are read: 3 of
			       rank 0 (rank_file), and with metrics:
			       {ranks: all} 3 of every other rank after */
	int ntf;
	int files_lost;     /* a file read before vanished: metrics incomplete */
	struct tc_rec_metrics *m; /* its samples on their way to the journal */
	int has_metric;
	double metric;      /* last value of the spec's metric */
	long long idx;      /* its index in the experiment */
	int standby;        /* waits in our shim for pred's slot, holding none */
	int drop_sent;      /* the shim was asked to forget it */
	struct live *pred, *succ; /* whose slot it waits for; who waits for its */
	char *cmd, *envtext; /* picked, until launched */
	int have_exit;      /* ei came with the shim's event */
	struct tc_exit_info ei;
	int pidfd;          /* our own trial's process, to see its end at
			       once (-1: none) */
	double exit_seen;   /* when it was seen to end (wall clock), 0 */
	/* the outcome, from finish_record until finish_after */
	int unstarted, out_from;
	struct tc_sched_end out;
	char reason[512];
};

/* One file a trial writes, read as it grows. */
struct tailf {
	struct tc_collector *col;
	off_t off;
	ino_t ino;          /* the file read (when seen) */
	int seen;
};

struct runner {
	struct tc_journal *j;
	const struct tc_spec *spec;
	const struct tc_exp_info *exp;
	char *workdir; /* where trials run (tc_spec_workdir) */
	json_t *file_env; /* env: {file: PATH} values, read at the start */
	const struct tc_run_opts *o;
	struct tc_error *err;
	struct tc_metric_regex *re;

	struct live **live;
	size_t nlive, caplive;

	struct tc_shim *shim;
	long long shim_start;
	char status_path[PATH_MAX]; /* the trials' slots (supervisor.h) */

	double cpu_cap, cpu_used, cpu_req;
	long long mem_cap, mem_used, mem_req;
	int ngpus, gpu_req;
	unsigned char gpu_busy[64]; /* held by our trials (and adopted ones) */
	struct tc_gpulease *lease;  /* machine-wide leases, when trials use
				     * GPUs (see exec/gpulease.h) */
	int gpu_blocked;    /* room for a trial, but every GPU is taken:
			     * the next trials say they wait for one */
	int threads;

	struct pollfd *pfd; /* op_wait's: signals, the shim, our trials */
	size_t cappfd;
	int hard;         /* second interrupt: kill at once */

	int intxn;          /* a journal transaction is open */
	struct live **pending; /* picked, their intent not yet committed */
	size_t npending, cappending;
	double txn_t0;      /* when the open transaction began (monotonic) */
	double quiet_until; /* the shim's events can wait until then */
	struct live **ended; /* outcomes in the open transaction, to report */
	size_t nended, capended;
	size_t nstandby;    /* live trials waiting in the shim for a slot */
	double avg_wall;    /* recent trials' wall time (moving average) */
	long nwall;

	struct tc_sched s; /* counts, stopping, progress, signals, journal */
};

/* ---- machine resources ---------------------------------------------------- */

/* Is prog an executable in $PATH?  (Spawning one that is not costs a
 * process creation per PATH entry.) */
static int on_path(const char *prog)
{
	char buf[PATH_MAX];

	return tc_find_program(prog, NULL, buf, sizeof(buf)) == 0;
}

void tc_machine_resources(double *cpus, long long *memory, int *gpus)
{
	static int known;
	static double c_cpus;
	static long long c_mem;
	static int c_gpus;
	cpu_set_t set;
	char buf[8192];
	char *const smi[] = {"nvidia-smi", "-L", NULL};

	/* once a process: it spawns nvidia-smi */
	if (known) {
		*cpus = c_cpus;
		*memory = c_mem;
		*gpus = c_gpus;
		return;
	}
	*cpus = (double)sysconf(_SC_NPROCESSORS_ONLN);
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		*cpus = CPU_COUNT(&set);
	*memory = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	*gpus = 0;
	if (on_path(smi[0]) && tc_capture(smi, buf, sizeof(buf)) == 0)
		for (char *p = buf; (p = strstr(p, "GPU ")); p++)
			if (p == buf || p[-1] == '\n')
				(*gpus)++;
	c_cpus = *cpus;
	c_mem = *memory;
	c_gpus = *gpus;
	known = 1;
}

/* ---- metrics ----------------------------------------------------------- */

static int txn_begin(struct runner *r);
static int txn_commit(struct runner *r);
static void txn_abort(struct runner *r);

/* File f of rank k in the trial's directory (tc_rank_file); n > 0:
 * attempt n's, kept. */
static void rank_file(char *buf, size_t len, const char *dir, int k, int f,
		      int n)
{
	char name[64];

	tc_rank_file(name, sizeof(name), k, f, n);
	snprintf(buf, len, "%s/%s", dir, name);
}

/* What the trial writes can no longer be read: say so once. */
static void files_lost(struct live *lv)
{
	if (lv->files_lost)
		return;
	lv->files_lost = 1;
	tc_rec_metrics_note(lv->m, "its directory or log files vanished while "
				   "it ran; its metrics may be incomplete");
}

/* Read what is new in the trial's files (full batches are written and
 * committed on the way).  final: read to the end.  0 or a journal error. */
static int tail(struct runner *r, struct live *lv, int final)
{
	char buf[65536];
	int rc = 0;

	/* not started yet: its files may still be an earlier run's */
	if (!final && lv->own && lv->pgid == 0)
		return 0;
	for (int i = 0; i < lv->ntf && !rc; i++) {
		struct tailf *f = &lv->tf[i];
		char path[PATH_MAX], prefix[24];
		size_t budget = final ? SIZE_MAX : TAIL_MAX_PER_TICK;
		int rank = i / 3, ranked = r->spec->metrics.all_ranks &&
					   r->spec->nodes > 1;
		struct stat st;
		int fd;

		if (!f->col)
			continue;
		rank_file(path, sizeof(path), lv->dir, rank, i % 3, 0);
		snprintf(prefix, sizeof(prefix), "rank%d.", rank);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 ||
		    (f->seen && st.st_ino != f->ino)) {
			/* gone, or another file now: the one it writes to
			 * cannot be read any more */
			if (f->seen && (fd >= 0 || errno == ENOENT))
				files_lost(lv);
			if (fd >= 0)
				close(fd);
			continue;
		}
		f->ino = st.st_ino;
		f->seen = 1;
		while (budget > 0 && !rc) {
			ssize_t n = pread(fd, buf, sizeof(buf), f->off);

			if (n <= 0)
				break;
			f->off += n;
			budget = (size_t)n > budget ? 0 : budget - (size_t)n;
			rc = ranked ? tc_rec_metrics_feed_rank(lv->m, f->col, prefix,
							      rank == 0, buf,
							      (size_t)n, 0)
				    : tc_rec_metrics_feed(lv->m, f->col, buf,
							  (size_t)n, 0);
		}
		close(fd);
		if (final && !rc)
			rc = ranked ? tc_rec_metrics_feed_rank(lv->m, f->col, prefix,
							      rank == 0, NULL, 0, 1)
				    : tc_rec_metrics_feed(lv->m, f->col, NULL, 0, 1);
	}
	/* a started trial's directory exists until someone deletes it */
	if (lv->pgid > 0 && access(lv->dir, F_OK) != 0 && errno == ENOENT)
		files_lost(lv);
	lv->has_metric = tc_rec_metrics_value(lv->m, &lv->metric);
	return rc;
}

/* ---- progress ---------------------------------------------------------- */

/* The running trials for the view (tc_sched.running). */
static void view_running(void *ctx, struct tc_progress_status *st)
{
	struct runner *r = ctx;
	struct tc_progress_trial *trials;
	double now = tc_mono();

	st->queued += (long long)r->nstandby;
	trials = r->nlive ? calloc(r->nlive, sizeof(*trials)) : NULL;
	st->trials = trials;
	for (size_t i = 0; trials && i < r->nlive; i++) {
		struct live *lv = r->live[i];
		struct tc_progress_trial *t = &trials[st->ntrials];

		if (lv->pgid <= 0 || lv->standby || lv->exit_seen > 0)
			continue;
		t->id = lv->id;
		t->params = lv->params;
		t->elapsed = now - lv->t0;
		t->has_step = tc_rec_metrics_step(lv->m, &t->step);
		t->has_metric = lv->has_metric;
		t->metric = lv->metric;
		st->ntrials++;
	}
	/* holding a slot: started, or handed to the supervisor and not yet
	 * running (standby trials wait without a slot: counted as queued) */
	st->running = (long long)st->ntrials;
	st->starting = r->s.counts[TC_ST_RUNNING] + r->s.counts[TC_ST_STARTING] -
		       (long long)r->nstandby - st->running;
	if (st->starting < 0)
		st->starting = 0;
}

/* The run.timeout trial lv ran under: its stage's, for a job of a
 * pipeline (one adopted by a resume is looked up). */
static double job_timeout(struct runner *r, struct live *lv)
{
	char stage[64];

	if (lv->timeout > 0 || !r->spec->nstages)
		return lv->timeout > 0 ? lv->timeout : r->spec->run.timeout;
	if (tc_trials_stage_of(r->s.tr, lv->id, stage, sizeof(stage), NULL) == 1)
		return tc_spec_for_stage(r->spec, stage)->run.timeout;
	return r->spec->run.timeout;
}

/* ---- resources ---------------------------------------------------------- */

#define GPU_POLL 0.25 /* seconds between looks at the GPU leases */

/* Is there room for one more trial, GPUs aside (slots, CPUs, memory)? */
static int fits_room(struct runner *r)
{
	/* trials waiting in the shim for a busy slot hold none */
	if ((long long)r->nlive - (long long)r->nstandby >= r->s.parallel)
		return 0;
	if (r->cpu_req > 0 && r->cpu_used + r->cpu_req > r->cpu_cap + 1e-9)
		return 0;
	if (r->mem_req > 0 && r->mem_used + r->mem_req > r->mem_cap)
		return 0;
	return 1;
}

/* ... and for its GPUs: free of our trials (adopted ones too), and not
 * leased by anyone (other runs, supervisors whose runner died). */
static int fits(struct runner *r)
{
	int free_gpus = 0;

	if (!fits_room(r))
		return 0;
	if (r->lease)
		return tc_gpulease_available(r->lease, r->gpu_busy) >= r->gpu_req;
	for (int g = 0; g < r->ngpus; g++)
		free_gpus += !r->gpu_busy[g];
	return free_gpus >= r->gpu_req;
}

static void take(struct runner *r, struct live *lv, int pick_gpus)
{
	r->cpu_used += r->cpu_req;
	r->mem_used += r->mem_req;
	if (pick_gpus) {
		lv->ngpus = 0;
		for (int g = 0; g < r->ngpus && lv->ngpus < r->gpu_req; g++)
			if (!r->gpu_busy[g])
				lv->gpus[lv->ngpus++] = g;
	}
	for (int i = 0; i < lv->ngpus; i++)
		if (lv->gpus[i] >= 0 && lv->gpus[i] < 64)
			r->gpu_busy[lv->gpus[i]] = 1;
}

static void give_back(struct runner *r, struct live *lv)
{
	r->cpu_used -= r->cpu_req;
	r->mem_used -= r->mem_req;
	for (int i = 0; i < lv->ngpus; i++)
		if (lv->gpus[i] >= 0 && lv->gpus[i] < 64)
			r->gpu_busy[lv->gpus[i]] = 0;
}

static void gpus_text(const struct live *lv, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < lv->ngpus && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%d", i ? "," : "",
				      lv->gpus[i]);
}

static void gpus_parse(struct live *lv, const char *s)
{
	lv->ngpus = 0;
	while (s && *s && lv->ngpus < 16) {
		char *end;
		long g = strtol(s, &end, 10);

		if (end == s)
			break;
		lv->gpus[lv->ngpus++] = (int)g;
		s = *end == ',' ? end + 1 : end;
	}
}

/* ---- live trials ---------------------------------------------------------- */

static struct tc_slot slot_of(const struct runner *r, const struct live *lv)
{
	struct tc_slot sl = {r->status_path, lv->idx};

	return sl;
}

static struct live *live_new(struct runner *r, const char *id, int attempt)
{
	struct live *lv = calloc(1, sizeof(*lv));

	if (!lv)
		return NULL;
	snprintf(lv->id, sizeof(lv->id), "%s", id);
	lv->attempt = attempt;
	lv->pidfd = -1;
	lv->lease_fd = -1;
	lv->dir = tc_trial_dir(r->j, id);
	lv->t0 = tc_mono();
	/* rank 0's files; every rank's with metrics: {ranks: all} */
	lv->ntf = 3 * (r->spec->metrics.all_ranks ? r->spec->nodes : 1);
	lv->tf = calloc((size_t)lv->ntf, sizeof(*lv->tf));
	for (int i = 0; lv->tf && i < lv->ntf; i++)
		if (!(lv->tf[i].col = i % 3 == 2
					     ? tc_collector_new(TC_SRC_JSONL, NULL, 0)
					     : tc_collector_new(TC_SRC_TEXT, r->re, 1)))
			break;
	lv->m = tc_rec_metrics_new(r->j, r->spec->name, id, attempt,
				   r->spec->metric.name, 0, tc_sched_metrics_cut,
				   &r->s, r->err);
	if (!lv->dir || !lv->tf || !lv->tf[lv->ntf - 1].col || !lv->m) {
		for (int i = 0; lv->tf && i < lv->ntf; i++)
			tc_collector_free(lv->tf[i].col);
		free(lv->tf);
		tc_rec_metrics_free(lv->m);
		free(lv->dir);
		free(lv);
		return NULL;
	}
	return lv;
}

static void live_free(struct live *lv)
{
	if (!lv)
		return;
	for (int i = 0; i < lv->ntf; i++)
		tc_collector_free(lv->tf[i].col);
	free(lv->tf);
	tc_rec_metrics_free(lv->m);
	if (lv->pidfd >= 0)
		close(lv->pidfd);
	if (lv->lease_fd >= 0)
		close(lv->lease_fd);
	free(lv->dir);
	free(lv->params);
	free(lv->cmd);
	free(lv->envtext);
	free(lv);
}

static int live_add(struct runner *r, struct live *lv)
{
	if (r->nlive == r->caplive) {
		size_t ncap = r->caplive ? r->caplive * 2 : 16;
		struct live **nl = realloc(r->live, ncap * sizeof(*nl));

		if (!nl)
			return TC_ERR_NOMEM;
		r->live = nl;
		r->caplive = ncap;
	}
	r->live[r->nlive++] = lv;
	return 0;
}

static void live_remove(struct runner *r, struct live *lv)
{
	for (size_t i = 0; i < r->nlive; i++)
		if (r->live[i] == lv) {
			r->live[i] = r->live[--r->nlive];
			break;
		}
}

static void drop_standby(struct runner *r, int only_cancelled);
static int stage_depth(const struct runner *r);
static int flush(struct runner *r);

/* Transactions: the statements of everything that happens in a short
 * while (trials that ended or started, the next ones' intents) share one
 * commit.  txn_begin is a no-op inside one.  Outcomes whose statements are
 * in the open transaction wait on r->ended: they are reported (and freed)
 * once it commits.  Until then a runner that dies loses nothing: every
 * outcome is in its trial's status file, where recovery finds it. */
#define BATCH_WINDOW 0.02 /* seconds an outcome may wait for its commit */

static void finish_after(struct runner *r, struct live *lv);

static int txn_begin(struct runner *r)
{
	int rc;

	if (r->intxn)
		return 0;
	if ((rc = tc_journal_begin(r->j, r->err)))
		return rc;
	r->intxn = 1;
	r->txn_t0 = tc_mono();
	return 0;
}

static void txn_abort(struct runner *r)
{
	if (r->intxn)
		tc_journal_rollback(r->j);
	r->intxn = 0;
	/* the run stops: recovery records them from their status files */
	for (size_t i = 0; i < r->nended; i++)
		live_free(r->ended[i]);
	r->nended = 0;
}

static int txn_commit(struct runner *r)
{
	int rc;

	if (!r->intxn)
		return 0;
	if ((rc = tc_journal_commit(r->j, r->err))) {
		txn_abort(r);
		return rc;
	}
	r->intxn = 0;
	for (size_t i = 0; i < r->nended; i++)
		finish_after(r, r->ended[i]);
	r->nended = 0;
	return 0;
}

static int add_ended(struct runner *r, struct live *lv)
{
	if (r->nended == r->capended) {
		size_t ncap = r->capended ? r->capended * 2 : 64;
		struct live **ne = realloc(r->ended, ncap * sizeof(*ne));

		if (!ne)
			return tc_error_set(r->err, TC_ERR_NOMEM, "out of memory");
		r->ended = ne;
		r->capended = ncap;
	}
	r->ended[r->nended++] = lv;
	return 0;
}

/* The trial's cancel request: 1 cancel, 2 interrupt, 0 none. */
static int cancel_req_of(struct runner *r, const char *id)
{
	int state, req = 0, base;

	tc_trials_flags(r->s.tr, id, &state, &req, &base);
	return req;
}

/* Take a waiting trial out of its chain: whoever waited for it waits for
 * what it waited for (as the shim does), and it no longer waits. */
static void chain_unlink(struct runner *r, struct live *lv)
{
	if (lv->pred)
		lv->pred->succ = lv->succ;
	if (lv->succ)
		lv->succ->pred = lv->pred;
	lv->pred = lv->succ = NULL;
	if (lv->standby) {
		lv->standby = 0;
		r->nstandby--;
	}
}

/* An attempt that never started (dropped while it waited for its slot, or
 * its supervisor gone before the start): tc_sched_unstart, and its slot
 * let go.  Statements only; frees lv. */
static int unstart(struct runner *r, struct live *lv, int from,
		   const char *why)
{
	int rc;

	if ((rc = tc_sched_unstart(&r->s, lv->id, from, lv->params, why)))
		return rc;
	if (!lv->released) {
		if (!lv->standby)
			give_back(r, lv); /* a waiting one holds nothing */
		live_remove(r, lv);
	}
	chain_unlink(r, lv);
	live_free(lv);
	return 0;
}

/* The statements that record the outcome of an attempt whose supervisor is
 * done with it (inside the caller's transaction); what follows the commit
 * is finish_after's.  Uses the exit record from the shim's event, or reads
 * it from the status file. */
static int finish_record(struct runner *r, struct live *lv, int from_state)
{
	struct tc_exit_info ei;
	struct tc_slot sl = slot_of(r, lv);
	int have = lv->have_exit, state, rc;
	char *reason = lv->reason;

	if (have)
		ei = lv->ei;
	else
		have = tc_supervisor_read_exit(&sl, lv->attempt, &ei) == 0;
	/* (reading may commit full batches, and the open transaction) */
	if ((rc = tail(r, lv, 1)) || (rc = txn_begin(r)))
		return rc;
	if (have && lv->exit_seen > 0 && lv->exit_seen < ei.ended_at) {
		/* we saw it end before its shim reaped it */
		ei.ended_at = lv->exit_seen > ei.started_at ? lv->exit_seen
							    : ei.started_at;
		ei.wall = ei.ended_at - ei.started_at;
	}
	if (!have) {
		/* its supervisor died without a word */
		enum tc_lost lost = tc_supervisor_lost(&sl, lv->attempt);

		if (lost == TC_LOST_UNSTARTED) {
			lv->unstarted = 1; /* requeued as never started */
			return 0;
		}
		memset(&ei, 0, sizeof(ei));
		ei.exit_code = -1;
		ei.wall = tc_mono() - lv->t0;
		snprintf(ei.error, sizeof(ei.error), "%s",
			 lost == TC_LOST_KILLED
				 ? "its supervisor died while it ran; killed"
				 : "its supervisor died; outcome unknown");
	}
	if ((rc = tc_rec_metrics_flush(lv->m, r->err)))
		return rc;

	reason[0] = '\0';
	if (ei.error[0])
		snprintf(reason, sizeof(lv->reason), "%s", ei.error);
	/* the outcome is what the process did (tc_sched_finish decides
	 * what a cancel request makes of it): cancelled is one the shim
	 * stopped */
	if (have && ei.exit_code == 0 && ei.term_signal == 0 && !ei.timed_out) {
		state = TC_ST_SUCCEEDED;
	} else if (ei.cancelled) {
		state = TC_ST_CANCELLED;
		snprintf(reason, sizeof(lv->reason), "cancelled");
	} else if (ei.timed_out) {
		state = TC_ST_TIMED_OUT;
		snprintf(reason, sizeof(lv->reason), "timed out after %.0fs",
			 job_timeout(r, lv));
	} else {
		state = TC_ST_FAILED;
		if (!reason[0] && ei.term_signal)
			snprintf(reason, sizeof(lv->reason),
				 "killed by signal %d (%s)%s", ei.term_signal,
				 strsignal(ei.term_signal),
				 ei.term_signal == SIGKILL ? ", out of memory?" : "");
		else if (!reason[0])
			snprintf(reason, sizeof(lv->reason), "exit code %d",
				 ei.exit_code);
		if (have && ei.rank >= 0 && r->spec->nodes > 1) {
			/* which rank's failure ended the group */
			char why[sizeof(lv->reason)];

			snprintf(why, sizeof(why), "%s", reason);
			snprintf(reason, sizeof(lv->reason), "rank %d: %.490s",
				 ei.rank, why);
		}
	}
	lv->out = (struct tc_sched_end){
		.id = lv->id, .attempt = lv->attempt, .params = lv->params,
		.has_metric = lv->has_metric, .metric = lv->metric,
		.wall = ei.wall, .state = state, .reason = reason,
		.reason_len = sizeof(lv->reason), .unseen = !have,
	};
	lv->out_from = from_state;
	return tc_sched_finish(
		&r->s, &lv->out,
		&(struct tc_trial_outcome){
			.has_exit = 1, .exit_code = ei.exit_code,
			/* when it really started (one that waited for its slot) */
			.started_at = have ? ei.started_at : 0,
			.ended_at = have ? ei.ended_at : tc_now(), .wall = ei.wall,
			.has_usage = 1, .term_signal = ei.term_signal,
			.utime = ei.utime, .stime = ei.stime,
			.maxrss_kb = ei.maxrss_kb,
		});
}

/* After the commit of finish_record: counts, best so far, the report line;
 * the trial is let go (freed). */
static void finish_after(struct runner *r, struct live *lv)
{
	tc_sched_ended(&r->s, lv->out_from, &lv->out);
	if (lv->own) {
		/* how long trials take: short ones get a successor waiting
		 * in the shim (see stage_ok) */
		r->avg_wall = r->nwall ? 0.8 * r->avg_wall + 0.2 * lv->out.wall
				       : lv->out.wall;
		r->nwall++;
	}
	if (!lv->released) {
		give_back(r, lv);
		live_remove(r, lv);
	}
	live_free(lv);
}

/* Record the outcome of one attempt (committed with whatever the open
 * transaction holds). */
static int finish(struct runner *r, struct live *lv, int from_state)
{
	int rc;

	if ((rc = txn_begin(r)) || (rc = finish_record(r, lv, from_state)))
		goto fail;
	if (lv->unstarted) {
		/* unstart frees lv once its statements are done */
		if ((rc = unstart(r, lv, from_state,
				  "its supervisor ended before it started")))
			goto fail;
	} else if ((rc = add_ended(r, lv))) {
		goto fail;
	}
	return txn_commit(r);
fail:
	txn_abort(r); /* lv stays in the live table */
	return rc;
}

static char **build_env(struct runner *r, struct live *lv, json_t *spec_env,
			const char *params)
{
	const char *own[24][2];
	size_t nown = 0, nenv = 0, k = 0;
	char threads[16], attempt[16], seedbuf[32], gpus[64], mfile[PATH_MAX];
	char world[16];
	char **envp;
	const char *key;
	json_t *v;

	snprintf(threads, sizeof(threads), "%d", r->threads);
	snprintf(attempt, sizeof(attempt), "%d", lv->attempt);
	snprintf(mfile, sizeof(mfile), "%s/metrics.jsonl", lv->dir);
	snprintf(seedbuf, sizeof(seedbuf), "%s", "");
	gpus_text(lv, gpus, sizeof(gpus));
#define OWN(k_, v_)                                                            \
	do {                                                                   \
		own[nown][0] = (k_);                                           \
		own[nown][1] = (v_);                                           \
		nown++;                                                        \
	} while (0)
	OWN("TRAINCTL_EXPERIMENT", r->spec->name);
	OWN("TRAINCTL_TRIAL", lv->id);
	OWN("TRAINCTL_TRIAL_DIR", lv->dir);
	OWN("TRAINCTL_PARAMS", params);
	OWN("TRAINCTL_METRICS_FILE", mfile);
	OWN("TRAINCTL_ATTEMPT", attempt);
	if (!json_object_get(spec_env, "OMP_NUM_THREADS"))
		OWN("OMP_NUM_THREADS", threads);
	if (!json_object_get(spec_env, "OPENBLAS_NUM_THREADS"))
		OWN("OPENBLAS_NUM_THREADS", threads);
	if (!json_object_get(spec_env, "MKL_NUM_THREADS"))
		OWN("MKL_NUM_THREADS", threads);
	/* print() reaches the logs (and live metrics) as it happens */
	if (!json_object_get(spec_env, "PYTHONUNBUFFERED"))
		OWN("PYTHONUNBUFFERED", "1");
	if (r->ngpus > 0 && !json_object_get(spec_env, "CUDA_VISIBLE_DEVICES"))
		OWN("CUDA_VISIBLE_DEVICES", gpus);
	if (r->spec->nodes > 1) {
		/* what torchrun sets, on one machine (one group: GROUP_RANK
		 * 0); each rank's own (RANK...) come with rank_env, the port
		 * from the supervisor (exec/supervisor.h) */
		snprintf(world, sizeof(world), "%d", r->spec->nodes);
		OWN("WORLD_SIZE", world);
		OWN("LOCAL_WORLD_SIZE", world);
		OWN("GROUP_RANK", "0");
		OWN("MASTER_ADDR", "127.0.0.1");
	}
#undef OWN
	while (environ[nenv])
		nenv++;
	envp = calloc(nenv + nown + json_object_size(spec_env) + 1, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < nenv; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t kl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		int skip = 0;

		for (size_t o = 0; o < nown && !skip; o++)
			skip = strlen(own[o][0]) == kl &&
			       !memcmp(own[o][0], environ[i], kl);
		json_object_foreach(spec_env, key, v)
		{
			if (strlen(key) == kl && !memcmp(key, environ[i], kl))
				skip = 1;
		}
		if (!skip && !(envp[k++] = strdup(environ[i])))
			goto nomem;
	}
	for (size_t o = 0; o < nown; o++)
		if (asprintf(&envp[k++], "%s=%s", own[o][0], own[o][1]) < 0) {
			envp[--k] = NULL;
			goto nomem;
		}
	json_object_foreach(spec_env, key, v)
	{
		if (asprintf(&envp[k++], "%s=%s", key,
			     json_string_value(v) ? json_string_value(v) : "") < 0) {
			envp[--k] = NULL;
			goto nomem;
		}
	}
	return envp;
nomem:
	for (size_t i = 0; i < k; i++)
		free(envp[i]);
	free(envp);
	return NULL;
}

/* Each rank's own variables for a trial of several (see
 * exec/supervisor.h): nodes * *per strings, rank i's from i * *per.  NULL
 * when out of memory. */
static char **build_rank_env(struct runner *r, struct live *lv,
			     json_t *spec_env, int *per)
{
	int n = r->spec->nodes, g = r->spec->resources.gpu;
	int cuda = r->ngpus > 0 && !json_object_get(spec_env,
						     "CUDA_VISIBLE_DEVICES");
	char **v;
	size_t k = 0;

	*per = 3 + cuda;
	v = calloc((size_t)n * (size_t)*per + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (int i = 0; i < n; i++) {
		char mfile[PATH_MAX], gtext[64];
		size_t gl = 0;

		rank_file(mfile, sizeof(mfile), lv->dir, i, 2, 0);
		if (asprintf(&v[k++], "RANK=%d", i) < 0 ||
		    asprintf(&v[k++], "LOCAL_RANK=%d", i) < 0 ||
		    asprintf(&v[k++], "TRAINCTL_METRICS_FILE=%s", mfile) < 0)
			goto nomem;
		if (!cuda)
			continue;
		/* the group's GPUs split: rank i has its g of them */
		gtext[0] = '\0';
		for (int d = i * g; d < (i + 1) * g && d < lv->ngpus &&
				    gl < sizeof(gtext);
		     d++)
			gl += (size_t)snprintf(gtext + gl, sizeof(gtext) - gl,
					       "%s%d", gl ? "," : "",
					       lv->gpus[d]);
		if (asprintf(&v[k++], "CUDA_VISIBLE_DEVICES=%s", gtext) < 0)
			goto nomem;
	}
	return v;
nomem:
	v[--k] = NULL;
	for (size_t i = 0; i < k; i++)
		free(v[i]);
	free(v);
	return NULL;
}

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static char **argv_from_json(const char *text)
{
	json_t *a = json_loads(text, 0, NULL);
	char **argv;
	size_t n = json_array_size(a);

	if (!json_is_array(a) || n == 0) {
		json_decref(a);
		return NULL;
	}
	argv = calloc(n + 1, sizeof(*argv));
	for (size_t i = 0; argv && i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if (!(argv[i] = strdup(s ? s : ""))) {
			free_strv(argv);
			argv = NULL;
		}
	}
	json_decref(a);
	return argv;
}

static int grow_pending(struct runner *r)
{
	size_t ncap = r->cappending ? r->cappending * 2 : 16;
	struct live **np = realloc(r->pending, ncap * sizeof(*np));

	if (!np)
		return -1;
	r->pending = np;
	r->cappending = ncap;
	return 0;
}

/* Pick the next queued trial whose time has come and record its start
 * intent (inside the caller's transaction); it joins the live table and
 * waits on r->pending for launch_pending, after the commit.  pred: the
 * trial of our shim whose slot it will take the moment that one ends (it
 * waits in the shim meanwhile, holding nothing), or NULL for a slot of its
 * own.  1 picked, 0 none ready, <0 error. */
static int pick_next(struct runner *r, struct live *pred)
{
	struct tc_trial_row row;
	struct live *lv;
	char gtext[64];
	int attempt, rc, lease_fd = -1, gpus[TC_GPU_MAX];

	if ((rc = txn_begin(r)) ||
	    (!pred && (rc = tc_sched_extend(&r->s, (long long)r->nlive -
							   (long long)r->nstandby)) < 0))
		return rc;
	/* its GPUs first, leased machine-wide: none free, none picked */
	if (!pred && r->lease && r->gpu_req > 0) {
		lease_fd = tc_gpulease_take(r->lease, r->gpu_busy, r->gpu_req,
					    gpus);
		if (lease_fd < 0 && errno == EAGAIN)
			return 0;
		if (lease_fd < 0)
			return tc_error_set(r->err, TC_ERR_IO,
					    "cannot lease GPUs: %s",
					    tc_fs_strerror(errno));
	}
	if ((rc = tc_sched_next(&r->s, tc_now(), &row)) <= 0) {
		if (lease_fd >= 0)
			close(lease_fd);
		return rc;
	}
	attempt = row.attempt + 1;
	lv = live_new(r, row.id, attempt);
	if (lv) { /* its strings, taken */
		lv->cmd = row.command;
		lv->envtext = row.env;
		lv->params = row.params;
		lv->idx = row.idx;
		lv->timeout = tc_spec_for_stage(r->spec, row.stage)->run.timeout;
		row.command = row.env = row.params = NULL;
		if (tc_sched_watch(&r->s, lv->m, lv->idx)) {
			live_free(lv);
			lv = NULL;
		}
	}
	tc_trial_row_free(&row);
	if (lv && lease_fd >= 0) {
		lv->lease_fd = lease_fd; /* freed with it */
		lease_fd = -1;
		lv->ngpus = r->gpu_req;
		memcpy(lv->gpus, gpus, (size_t)r->gpu_req * sizeof(int));
	}
	if (!lv || !lv->cmd || !lv->envtext || !lv->params ||
	    (r->npending == r->cappending && grow_pending(r))) {
		if (lease_fd >= 0)
			close(lease_fd);
		live_free(lv);
		return tc_error_set(r->err, TC_ERR_NOMEM, "out of memory");
	}
	if (pred) {
		lv->standby = 1;
		lv->pred = pred;
		lv->ngpus = pred->ngpus;
		memcpy(lv->gpus, pred->gpus, sizeof(lv->gpus));
	} else {
		take(r, lv, lv->lease_fd < 0);
	}
	gpus_text(lv, gtext, sizeof(gtext));

	/* the intent, durable before anything exists */
	if ((rc = tc_trials_mark_starting(r->s.tr, lv->id, attempt, gtext, NULL,
					  r->err)) ||
	    (rc = live_add(r, lv))) {
		if (!pred)
			give_back(r, lv);
		live_free(lv);
		return rc;
	}
	if (pred) {
		pred->succ = lv;
		r->nstandby++;
	}
	tc_sched_count_move(&r->s, TC_ST_QUEUED, TC_ST_STARTING);
	r->pending[r->npending++] = lv;
	return 1;
}

/* Make the trial's directory and files and hand it to the shim (its start
 * intent is committed).  0 or an error: the run stops, and a resume finds
 * the trial vanished and requeues it. */
static int launch(struct runner *r, struct live *lv)
{
	char **argv = NULL, **envp = NULL, **rank_envp = NULL;
	json_t *spec_env = NULL;
	struct tc_launch l;
	int rc = 0, fresh = 0, rank_envc = 0;

	/* a new directory has nothing of an earlier run to clear */
	rc = tc_mkdir_private(lv->dir, 0755, 2);
	if (rc < 0)
		return tc_error_set(r->err, TC_ERR_IO, "cannot create %s: %s",
				    lv->dir, tc_fs_strerror(errno));
	fresh = rc == 0;
	rc = 0;
	if (fresh) {
		/* nothing to rotate or clear */
	} else {
		/* every rank's files (one rank unless nodes > 1) */
		for (int k = 0; k < r->spec->nodes; k++) {
			char from[PATH_MAX], to[PATH_MAX];

			for (int f = 0; f < 3; f++) {
				rank_file(from, sizeof(from), lv->dir, k, f, 0);
				rank_file(to, sizeof(to), lv->dir, k, f,
					  lv->attempt - 1);
				/* an earlier attempt's kept; a rerun of a
				 * vanished attempt starts with clean files */
				if (lv->attempt > 1)
					rename(from, to);
				else if (f == 2)
					unlink(from);
			}
		}
	}
	{
		char ppath[PATH_MAX];
		size_t n = strlen(lv->params);

		/* written in place: the trial has not started, and a runner
		 * that dies here leaves the trial to be requeued and this
		 * file written again */
		snprintf(ppath, sizeof(ppath), "%s/params.json", lv->dir);
		lv->params[n] = '\n';
		rc = tc_write_file(ppath, lv->params, n + 1);
		lv->params[n] = '\0';
		if (rc)
			return tc_error_set(r->err, TC_ERR_IO, "cannot write %s: %s",
					    ppath, tc_fs_strerror(errno));
	}
	spec_env = json_loads(lv->envtext, 0, NULL);
	if (spec_env && r->file_env &&
	    json_object_update(spec_env, r->file_env) != 0) {
		json_decref(spec_env);
		spec_env = NULL;
	}
	argv = argv_from_json(lv->cmd);
	envp = argv ? build_env(r, lv, spec_env, lv->params) : NULL;
	if (envp && r->spec->nodes > 1)
		rank_envp = build_rank_env(r, lv, spec_env, &rank_envc);
	if (!argv || !envp || (r->spec->nodes > 1 && !rank_envp)) {
		rc = tc_error_set(r->err, TC_ERR_NOMEM,
				  "cannot build the command of trial %s", lv->id);
		goto out;
	}
	if (!r->shim) {
		if ((rc = tc_shim_start(&r->shim, r->err)))
			goto out;
		r->shim_start = tc_proc_start_time(tc_shim_pid(r->shim));
	}
	l.id = lv->id;
	l.after = lv->pred ? lv->pred->id : NULL;
	l.trial_dir = lv->dir;
	l.slot = slot_of(r, lv);
	l.cwd = r->workdir;
	l.argv = argv;
	l.envp = envp;
	l.attempt = lv->attempt;
	l.timeout = lv->timeout;
	l.kill_grace = r->o->kill_grace > 0 ? r->o->kill_grace : 10;
	l.lease_fd = lv->lease_fd;
	l.nodes = r->spec->nodes;
	l.rank_env = rank_envp;
	l.rank_envc = rank_envc;
	rc = tc_shim_launch(r->shim, &l, r->err);
	/* the shim holds the lease now (or, on an error, nobody) */
	if (lv->lease_fd >= 0)
		close(lv->lease_fd);
	lv->lease_fd = -1;
	if (rc)
		goto out;
	lv->own = 1;
	lv->shim_pid = tc_shim_pid(r->shim);
	lv->shim_start = r->shim_start;
	/* running is recorded when the shim reports the trial's pid */
out:
	free(lv->cmd);
	free(lv->envtext);
	lv->cmd = lv->envtext = NULL;
	free_strv(argv);
	free_strv(envp);
	free_strv(rank_envp);
	json_decref(spec_env);
	return rc;
}

static int launch_pending(struct runner *r)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < r->npending && !rc; i++)
		rc = launch(r, r->pending[i]);
	r->npending = 0;
	return rc;
}

static struct live *find_live(struct runner *r, const char *id, int attempt)
{
	for (size_t i = 0; i < r->nlive; i++)
		if (r->live[i]->own && r->live[i]->attempt == attempt &&
		    !strcmp(r->live[i]->id, id))
			return r->live[i];
	return NULL;
}

/* Watch our own trial's process (pid, started at pid_start): its end is
 * seen the moment it happens even when the shim is slow to reap it (busy,
 * or stopped), and the earlier of the two ends is recorded. */
#define WATCH_FD_MAX 512 /* descriptors above are left to the rest */

static void watch_exit(struct live *lv, pid_t pid, long long pid_start)
{
	int fd = pid_start > 0 ? pidfd_open(pid, 0) : -1;

	/* held, the pidfd pins the pid: check it is still the trial's (and
	 * leave descriptors for locks and logs when very many trials run:
	 * the shim's end is then the one recorded) */
	if (fd >= 0 &&
	    (fd >= WATCH_FD_MAX || tc_proc_start_time(pid) != pid_start)) {
		close(fd);
		fd = -1;
	}
	lv->pidfd = fd;
}

/* The shim says a trial started (at `at`): record its process group
 * (inside the caller's transaction). */
static int on_started(struct runner *r, struct live *lv, pid_t pgid,
		      long long pid_start, double at)
{
	int rc;

	lv->pgid = pgid;
	lv->t0 = tc_mono();
	/* (a group of ranks ends when its last does, which only its shim
	 * sees) */
	if (r->spec->nodes <= 1)
		watch_exit(lv, pgid, pid_start);
	{
		struct tc_trial_proc proc = {lv->shim_pid, lv->shim_start, pgid};

		if ((rc = tc_trials_mark_running(r->s.tr, lv->id, &proc, at, NULL,
						 r->err)))
			return rc;
	}
	tc_sched_count_move(&r->s, TC_ST_STARTING, TC_ST_RUNNING);
	if (lv->cancel_pending && r->shim)
		tc_shim_cancel(r->shim, pgid, r->hard);
	return 0;
}

/* The shim is gone or its socket broke: its trials go on without it (or
 * ended): watch them like adopted ones; the next start makes a new shim.
 * (Trials that waited in it for a slot are either started by it or found
 * vanished: watched the same way, they are taken as holding one.) */
static void shim_lost(struct runner *r)
{
	for (size_t i = 0; i < r->nlive; i++) {
		struct live *lv = r->live[i];

		lv->own = 0;
		if (lv->standby) {
			lv->standby = 0;
			r->nstandby--;
			take(r, lv, 0);
		}
		lv->pred = lv->succ = NULL;
		if (lv->pgid == 0) /* adopted trials count as running */
			tc_sched_count_move(&r->s, TC_ST_STARTING, TC_ST_RUNNING);
	}
	tc_shim_close(r->shim);
	r->shim = NULL;
}

/* Short trials get their successor handed to the shim ahead, so a freed
 * slot is refilled by the shim itself without waiting for the runner
 * (creating a process costs ~1 ms on some machines, and so does a round
 * trip through the runner).  Long trials do not need it: their successors
 * stay queued, and `status` shows only what runs. */
#define STAGE_WALL_MAX 10.0 /* seconds: mean wall time of recent trials */
#define STANDBY_MAX 1024    /* trials waiting in the shim at most */

static int stage_ok(const struct runner *r)
{
	/* trials that use GPUs are given their slot's GPUs: not moved; none
	 * runs ahead while fail fast counts (a failure must stop them) */
	return tc_sched_may_start(&r->s) && r->shim && r->gpu_req == 0 &&
	       r->nwall > 0 && !tc_rec_failfast_armed(&r->s.ff) &&
	       r->avg_wall < STAGE_WALL_MAX;
}

/* A slot freed while trials wait in the shim for slots that are still
 * busy: the first of them takes it now (it is first in the queue; a newly
 * picked trial would overtake it).  0, or -1 when none was moved. */
static int promote_standby(struct runner *r)
{
	struct live *first = NULL;

	for (size_t i = 0; i < r->nlive; i++) {
		struct live *lv = r->live[i];

		if (lv->standby && !lv->drop_sent && (!first || lv->idx < first->idx))
			first = lv;
	}
	if (!first || tc_shim_start_now(r->shim, first->id) != 0)
		return -1;
	/* it leaves its chain; those behind it keep waiting for it */
	first->standby = 0;
	r->nstandby--;
	if (first->pred)
		first->pred->succ = NULL;
	first->pred = NULL;
	take(r, first, 0);
	return 0;
}

/* The queued trials that wait for a GPU say so in their reason (`status`
 * shows it): the first ones ready, as many as there is room for; others
 * that said so before no longer do (with on = 0, none does).  A queued
 * trial with a reason of its own (a failure it is retried after) keeps
 * it.  Statements only. */
static int gpu_wait_note(struct runner *r, int on)
{
	long long room = r->s.parallel - ((long long)r->nlive - (long long)r->nstandby);
	long long cpu_room = r->cpu_req > 0
				     ? (long long)((r->cpu_cap - r->cpu_used) /
						   r->cpu_req + 1e-9)
				     : room;
	long long mem_room = r->mem_req > 0 ? (r->mem_cap - r->mem_used) / r->mem_req
					    : room;
	int rc;

	if (cpu_room < room)
		room = cpu_room;
	if (mem_room < room)
		room = mem_room;
	if ((rc = txn_begin(r)))
		return rc;
	return tc_trials_queued_reason(r->s.tr, TC_GPU_WAIT,
				       on ? (room > 0 ? room : 1) : 0, tc_now(),
				       r->err);
}

/* Pick what fits now, and successors for the running trials of our shim
 * that have none; the caller commits and then calls launch_pending.
 * 0 or an error. */
static int pick_ready(struct runner *r)
{
	int rc, go = tc_sched_may_start(&r->s);

	while (go && fits(r) && r->nstandby && r->shim &&
	       promote_standby(r) == 0)
		;
	if (r->lease) {
		/* trials with GPUs (never staged: see stage_ok) */
		int picked = 0, blocked;

		rc = 0;
		while (go && fits(r) && (rc = pick_next(r, NULL)) > 0)
			picked++;
		if (rc < 0)
			return rc;
		blocked = go && fits_room(r) && !fits(r);
		if (blocked != r->gpu_blocked || (blocked && picked)) {
			if ((rc = gpu_wait_note(r, blocked)))
				return rc;
			r->gpu_blocked = blocked;
		}
		return 0;
	}
	while (go && fits(r))
		if ((rc = pick_next(r, NULL)) <= 0)
			return rc;
	if (!stage_ok(r))
		return 0;
	for (size_t i = 0, n = r->nlive; i < n; i++) {
		struct live *lv = r->live[i];
		int depth = 0;

		if (!lv->own || lv->standby || lv->cancel_pending)
			continue;
		while (lv->succ) {
			lv = lv->succ;
			depth++;
		}
		for (; depth < stage_depth(r) && r->nstandby < STANDBY_MAX;
		     depth++, lv = lv->succ)
			if ((rc = pick_next(r, lv)) <= 0)
				return rc;
	}
	return 0;
}

static int launch_ready(struct runner *r)
{
	/* a run that starts or stops waiting for a GPU says so */
	if (r->lease && r->gpu_blocked != (fits_room(r) && !fits(r)))
		return flush(r);
	if (!fits(r) && !stage_ok(r))
		return 0;
	return flush(r);
}

/* Drop the trials waiting in the shim for a slot (the runner stops, or
 * they were cancelled): the shim answers with DROPPED events, or with
 * their start if it came first. */
static void drop_standby(struct runner *r, int only_cancelled)
{
	for (size_t i = 0; i < r->nlive && r->shim; i++) {
		struct live *lv = r->live[i];

		if (!lv->standby || lv->drop_sent)
			continue;
		if (only_cancelled && cancel_req_of(r, lv->id) != 1)
			continue;
		lv->cancel_pending = 1; /* if it starts before the drop */
		if (tc_shim_drop(r->shim, lv->id) == 0)
			lv->drop_sent = 1;
	}
}

/* The depth of a slot's chain: trials waiting behind the one running. */
static int chain_depth(const struct live *lv)
{
	int d = 0;

	for (lv = lv->succ; lv; lv = lv->succ)
		d++;
	return d;
}

/* The shortest chain behind our shim's running trials (at most cap). */
static int min_chain_depth(const struct runner *r, int cap)
{
	int dmin = cap;

	for (size_t i = 0; i < r->nlive; i++) {
		const struct live *lv = r->live[i];
		int cd;

		if (lv->own && !lv->standby && !lv->cancel_pending &&
		    (cd = chain_depth(lv)) < dmin)
			dmin = cd;
	}
	return dmin;
}

/* How many trials wait behind each running one: enough to cover
 * STAGE_AHEAD seconds of work. */
#define STAGE_AHEAD 0.02
#define STAGE_DEPTH_MAX 4

static int stage_depth(const struct runner *r)
{
	double d = r->avg_wall > 0 ? ceil(STAGE_AHEAD / r->avg_wall) : 1;

	return d < 1 ? 1 : d > STAGE_DEPTH_MAX ? STAGE_DEPTH_MAX : (int)d;
}

/* Must the open transaction be committed now?  When a slot is free, or a
 * slot's waiting trials run low, or it is old enough, or the run stops. */
static int must_flush(struct runner *r)
{
	if (!r->intxn)
		return 0;
	if (r->s.stopping || fits(r) || r->nended >= 256 ||
	    tc_mono() - r->txn_t0 >= BATCH_WINDOW)
		return 1;
	return stage_ok(r) &&
	       min_chain_depth(r, INT_MAX) < (stage_depth(r) + 1) / 2;
}

/* Commit the open transaction with the intents of the trials picked now,
 * then launch them. */
static int flush(struct runner *r)
{
	int rc;

	if ((rc = pick_ready(r)) || (rc = txn_commit(r))) {
		txn_abort(r);
		return rc;
	}
	rc = launch_pending(r);
	/* With every slot's chain full, nothing needs the runner before the
	 * shortest chain has run down to its low mark: it need not wake for
	 * each event meanwhile (they wait in the socket, read in one go). */
	if (!rc && stage_ok(r) && r->nstandby) {
		int d = stage_depth(r), low = (d + 1) / 2,
		    dmin = min_chain_depth(r, d);

		if (dmin > low)
			r->quiet_until = tc_mono() +
					 fmin(BATCH_WINDOW, (dmin - low) * r->avg_wall);
	}
	return rc;
}

/* Events from the shim.  Their statements go into the open transaction
 * (see txn_begin): starts recorded, trials that ended recorded; it is
 * committed, with the next trials' intents, when must_flush says so.  A
 * trial that ended hands its slot to its successor waiting in the shim
 * (started already), or frees it for a trial picked then. */
static int shim_events(struct runner *r)
{
	struct tc_shim_event ev;
	int n, rc = 0, any = 0;

	while (r->shim && (n = tc_shim_read(r->shim, &ev)) != 0) {
		struct live *lv;

		if (n < 0) {
			shim_lost(r);
			break;
		}
		lv = find_live(r, ev.id, ev.attempt);
		if (!lv)
			continue;
		any = 1;
		if ((rc = txn_begin(r)))
			break;
		if (ev.type == TC_SHIM_STARTED) {
			if ((rc = on_started(r, lv, ev.pid, ev.pid_start, ev.at)))
				break;
			continue;
		}
		if (ev.type == TC_SHIM_DROPPED) {
			if ((rc = unstart(r, lv, TC_ST_STARTING, "not started")))
				break;
			continue;
		}
		lv->ei = ev.ei;
		lv->have_exit = 1;
		live_remove(r, lv);
		if (lv->standby) {
			/* it could not start: it never took a slot, and the
			 * one behind it takes its place in the chain */
			chain_unlink(r, lv);
		} else if (lv->succ) {
			/* its slot is its successor's now */
			struct live *s = lv->succ;

			s->pred = NULL;
			lv->succ = NULL;
			if (s->standby) {
				s->standby = 0;
				r->nstandby--;
			}
		} else {
			give_back(r, lv);
		}
		lv->released = 1;
		if ((rc = finish_record(r, lv, lv->pgid ? TC_ST_RUNNING
							 : TC_ST_STARTING)) ||
		    (rc = add_ended(r, lv))) {
			live_free(lv);
			break;
		}
		if (r->nended >= 256)
			break;
	}
	if (rc) {
		txn_abort(r);
		return rc;
	}
	if (any && must_flush(r))
		return flush(r);
	return 0;
}

/* Our only child is the shim.  If it died, its trials go on without it:
 * watch them like adopted ones, and start a new shim for the next. */
static int reap(struct runner *r)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (!r->shim || pid != tc_shim_pid(r->shim))
			continue;
		shim_events(r);
		if (r->shim)
			shim_lost(r);
	}
	return 0;
}

/* Adopted supervisors are not our children: look at their locks. */
static int check_adopted(struct runner *r)
{
	for (size_t i = 0; i < r->nlive;) {
		struct live *lv = r->live[i];
		struct tc_slot sl = slot_of(r, lv);
		struct tc_exit_info ei;

		if (!lv->own && tc_supervisor_probe(&sl, lv->attempt, &ei) !=
					TC_PROBE_ALIVE) {
			int rc = finish(r, lv, TC_ST_RUNNING);

			if (rc)
				return rc;
			continue; /* the table shrank at i */
		}
		if (!lv->own && lv->pgid == 0) {
			pid_t sp, pg;

			if (tc_supervisor_read_run(&sl, lv->attempt, &sp,
						   &pg) == 0) {
				lv->pgid = pg;
				if (!lv->shim_pid) {
					lv->shim_pid = sp;
					lv->shim_start = tc_proc_start_time(sp);
				}
			}
		}
		i++;
	}
	return 0;
}

static int tail_all(struct runner *r)
{
	int rc = 0, any = 0;

	for (size_t i = 0; i < r->nlive && !rc; i++)
		if (!(rc = tail(r, r->live[i], 0)))
			any |= tc_rec_metrics_pending(r->live[i]->m);
	if (rc || !any)
		return rc;
	if ((rc = txn_begin(r)))
		return rc;
	for (size_t i = 0; i < r->nlive && !rc; i++)
		rc = tc_rec_metrics_flush(r->live[i]->m, r->err);
	if (rc || (rc = txn_commit(r))) {
		txn_abort(r);
		return rc;
	}
	return 0;
}

/* Stop live trial lv: through our shim, or through its own supervisor
 * (adopted); one whose start is not reported yet is stopped then. */
static void stop_live(struct runner *r, struct live *lv, int hard)
{
	if (lv->own && r->shim) {
		if (lv->pgid > 0)
			tc_shim_cancel(r->shim, lv->pgid, hard);
		else
			lv->cancel_pending = 1;
	} else {
		struct tc_slot sl = slot_of(r, lv);

		tc_supervisor_cancel(&sl, lv->attempt, lv->shim_pid,
				     lv->shim_start, hard);
	}
}

/* The early-stopping rule chose this trial (tc_sched_prune): stopped as
 * a cancelled one is, gracefully. */
static void prune_one(void *ctx, const char *id)
{
	struct runner *r = ctx;

	for (size_t i = 0; i < r->nlive; i++)
		if (!strcmp(r->live[i]->id, id) && !r->live[i]->standby)
			stop_live(r, r->live[i], 0);
}

/* ---- recovery (tc_sched_recover decides) ------------------------------- */

static int probe(void *b, const struct tc_trial_row *row,
		 struct tc_probe_result *pr)
{
	struct runner *r = b;
	struct tc_slot sl = {r->status_path, row->idx};
	struct tc_exit_info ei;
	enum tc_probe found = tc_supervisor_probe(&sl, row->attempt, &ei);

	if (found == TC_PROBE_VANISHED) {
		enum tc_lost lost = tc_supervisor_lost(&sl, row->attempt);

		pr->found = lost == TC_LOST_UNSTARTED ? TC_FOUND_UNSTARTED
						      : TC_FOUND_LOST;
		snprintf(pr->why, sizeof(pr->why), "%s",
			 lost == TC_LOST_UNSTARTED
				 ? "its supervisor ended before it started; "
				   "requeued"
			 : lost == TC_LOST_KILLED
				 ? "supervisor lost; still running at resume; "
				   "killed"
				 : "supervisor lost; outcome unknown");
		return 0;
	}
	pr->found = found == TC_PROBE_EXITED ? TC_FOUND_ENDED : TC_FOUND_RUNNING;
	if (row->state == TC_ST_STARTING) {
		pid_t sp = 0, pg = 0;

		/* a start whose pid was never recorded: the lock's content
		 * names the shim and the trial */
		tc_supervisor_read_run(&sl, row->attempt, &sp, &pg);
		pr->proc = (struct tc_trial_proc){sp, tc_proc_start_time(sp), pg};
		pr->has_proc = 1;
	}
	return 0;
}

static int adopt(void *b, struct tc_trial_row *row, int state,
		 const struct tc_probe_result *pr)
{
	struct runner *r = b;
	struct live *lv = live_new(r, row->id, row->attempt);
	int rc;

	if (!lv)
		return tc_error_set(r->err, TC_ERR_NOMEM, "out of memory");
	if (pr->has_proc) {
		lv->shim_pid = pr->proc.sup_pid;
		lv->shim_start = pr->proc.sup_start;
		lv->pgid = pr->proc.pgid;
	} else {
		lv->shim_pid = row->sup_pid;
		lv->shim_start = row->sup_start;
		lv->pgid = row->pgid;
	}
	gpus_parse(lv, row->gpus);
	lv->params = row->params; /* taken */
	row->params = NULL;
	lv->idx = row->idx;
	lv->own = 0;
	if ((rc = tc_sched_watch(&r->s, lv->m, lv->idx))) {
		live_free(lv);
		return rc;
	}
	take(r, lv, 0);
	if ((rc = live_add(r, lv))) {
		give_back(r, lv);
		live_free(lv);
		return tc_error_set(r->err, rc, "out of memory");
	}
	return pr->found == TC_FOUND_ENDED ? finish(r, lv, state) : 0;
}


/* ---- the loop ---------------------------------------------------------- */

/* Trials whose pidfd polled readable (pfd, in the order of r->live) have
 * ended: when, by our clock; their shim may reap them later. */
static void exits_seen(struct runner *r, const struct pollfd *pfd, size_t n)
{
	size_t k = 0;
	double now = tc_now();

	for (size_t i = 0; i < r->nlive && k < n; i++) {
		struct live *lv = r->live[i];

		if (lv->pidfd < 0)
			continue;
		if (pfd[k++].revents) {
			lv->exit_seen = now;
			close(lv->pidfd);
			lv->pidfd = -1;
		}
	}
}

/* ---- what the one loop (tc_sched_run) asks of the local backend ------- */

static int op_begin(void *b)
{
	return txn_begin(b);
}

static int op_commit(void *b)
{
	return txn_commit(b);
}

static void op_abort(void *b)
{
	txn_abort(b);
}

static int op_busy(void *b)
{
	struct runner *r = b;

	return r->intxn || r->nended;
}

static int op_events(void *b)
{
	struct runner *r = b;
	int rc;

	if ((rc = shim_events(r)))
		return rc;
	return reap(r);
}

static int op_look(void *b)
{
	struct runner *r = b;
	int rc;

	if ((rc = check_adopted(r)))
		return rc;
	/* waiting trials cancelled, or all once the run stops */
	if (r->nstandby)
		drop_standby(r, tc_sched_may_start(&r->s));
	return 0;
}

static int op_collect(void *b)
{
	return tail_all(b);
}

static int op_fill(void *b)
{
	return launch_ready(b);
}

static int op_settle(void *b, int now)
{
	struct runner *r = b;

	return now || must_flush(r) ? flush(r) : 0;
}

static size_t op_held(void *b)
{
	return ((struct runner *)b)->nlive;
}

/* The run is interrupted (the loop committed its request): every live
 * trial stopped, the waiting ones first (the shim reads requests in order,
 * and a trial stopped first would hand its slot to its successor). */
static int op_stop_all(void *b, int hard)
{
	struct runner *r = b;

	r->hard |= hard;
	drop_standby(r, 0);
	r->quiet_until = 0; /* and their answers are awaited now */
	for (size_t i = 0; i < r->nlive; i++)
		stop_live(r, r->live[i], r->hard);
	return 0;
}

/* Wait for the shim's events, our trials' ends or a signal: at most
 * `wait_s`, less while adopted trials must be looked at or a batch is
 * open; the shim's events may wait while every slot has successors
 * (quiet_until). */
static int op_wait(void *b, double wait_s)
{
	struct runner *r = b;
	struct pollfd *pfd;
	nfds_t npfd = 1, nfixed;
	double now;

	if (r->nlive > 0) {
		int adopted = 0;

		for (size_t i = 0; i < r->nlive; i++)
			adopted |= !r->live[i]->own;
		if (adopted && wait_s > 0.25)
			wait_s = 0.25;
		if (r->gpu_blocked && wait_s > GPU_POLL)
			wait_s = GPU_POLL;
	} else if (r->gpu_blocked && wait_s < GPU_POLL) {
		/* a GPU that frees is seen at the next look */
		wait_s = GPU_POLL;
	}
	if (r->intxn && r->txn_t0 + BATCH_WINDOW - tc_mono() < wait_s)
		wait_s = r->txn_t0 + BATCH_WINDOW - tc_mono();
	if (wait_s < 0)
		wait_s = 0;
	if (r->cappfd < r->nlive + 2) {
		size_t ncap = r->nlive + 2 + 64;
		struct pollfd *np = realloc(r->pfd, ncap * sizeof(*np));

		if (!np)
			return tc_error_set(r->err, TC_ERR_NOMEM,
					    "out of memory");
		r->pfd = np;
		r->cappfd = ncap;
	}
	pfd = r->pfd;
	pfd[0].fd = r->s.sigfd;
	pfd[0].events = POLLIN;
	now = tc_mono();
	if (r->shim && now >= r->quiet_until) {
		pfd[1].fd = tc_shim_fd(r->shim);
		pfd[1].events = POLLIN;
		npfd = 2;
	} else if (r->shim && r->quiet_until - now < wait_s) {
		wait_s = r->quiet_until - now;
	}
	/* our trials' ends, unless the shim's events may wait too (an end is
	 * then seen at most BATCH_WINDOW late) */
	nfixed = npfd;
	for (size_t i = 0; i < r->nlive && (!r->shim || now >= r->quiet_until);
	     i++)
		if (r->live[i]->pidfd >= 0) {
			pfd[npfd].fd = r->live[i]->pidfd;
			pfd[npfd++].events = POLLIN;
		}
	{
		struct timespec ts = {(time_t)wait_s,
				      (long)((wait_s - (double)(time_t)wait_s) * 1e9)};

		if (ppoll(pfd, npfd, &ts, NULL) > 0)
			exits_seen(r, pfd + nfixed, npfd - nfixed);
	}
	return 0;
}

static const struct tc_sched_ops local_ops = {
	.look_every = 0.25,
	.collect_every = TAIL_INTERVAL,
	.collect_prune = TAIL_INTERVAL_PRUNE,
	.idle = 1.0,
	.kills = 1,
	.begin = op_begin,
	.commit = op_commit,
	.abort = op_abort,
	.busy = op_busy,
	.events = op_events,
	.look = op_look,
	.collect = op_collect,
	.fill = op_fill,
	.settle = op_settle,
	.held = op_held,
	.stop = prune_one,
	.stop_all = op_stop_all,
	.wait = op_wait,
	.running = view_running,
	.probe = probe,
	.adopt = adopt,
};

/* What the machine offers, as the options describe it. */
static void capacity(const struct tc_run_opts *o, double *cpus, long long *mem,
		     int *gpus)
{
	tc_machine_resources(cpus, mem, gpus);
	if (o->cpus > 0)
		*cpus = o->cpus;
	if (o->memory > 0)
		*mem = o->memory;
	if (o->gpus >= 0)
		*gpus = o->gpus;
	if (*gpus > 64)
		*gpus = 64;
}

int tc_runner_check_nodes(const struct tc_spec *spec, double cpus,
			  long long memory, int gpus, struct tc_error *err)
{
	double n = spec->nodes;

	if (spec->nodes <= 1)
		return 0;
	if (spec->nodes > TC_RANKS_MAX)
		return tc_error_at(err, TC_ERR_SPEC, spec->path,
				   spec->nodes_pos.line, spec->nodes_pos.col,
				   "nodes: %d is more than the %d processes "
				   "of one trial the local backend runs",
				   spec->nodes, TC_RANKS_MAX);
	if (spec->resources.cpu * n > cpus + 1e-9 ||
	    (double)spec->resources.memory * n > (double)memory ||
	    (double)spec->resources.gpu * n > gpus)
		return tc_error_at(
			err, TC_ERR_SPEC, spec->path, spec->nodes_pos.line,
			spec->nodes_pos.col,
			"nodes: %d processes of %g CPUs, %lld MiB and %d GPUs "
			"each need %g CPUs, %.0f MiB and %.0f GPUs at once, but "
			"this machine offers %g CPUs, %lld MiB and %d GPUs: "
			"lower nodes or resources, or use --backend kubernetes",
			spec->nodes, spec->resources.cpu,
			spec->resources.memory >> 20, spec->resources.gpu,
			spec->resources.cpu * n,
			(double)(spec->resources.memory >> 20) * n,
			spec->resources.gpu * n, cpus, memory >> 20, gpus);
	return 0;
}

int tc_runner_check(const struct tc_spec *spec, const struct tc_run_opts *o,
		    struct tc_error *err)
{
	double cpus;
	long long mem;
	int gpus;

	capacity(o, &cpus, &mem, &gpus);
	if (spec->nodes > 1)
		return tc_runner_check_nodes(spec, cpus, mem, gpus, err);
	if (spec->resources.cpu > cpus + 1e-9 || spec->resources.memory > mem ||
	    spec->resources.gpu > gpus)
		return tc_error_set(
			err, TC_ERR_USAGE,
			"a trial requests %g CPUs, %lld MiB and %d GPUs, but this "
			"machine offers %g CPUs, %lld MiB and %d GPUs: lower "
			"resources in the spec, or set --cpus/--memory/--gpus, or "
			"use --backend kubernetes",
			spec->resources.cpu, spec->resources.memory >> 20,
			spec->resources.gpu, cpus, mem >> 20, gpus);
	return 0;
}

int tc_runner_run(struct tc_journal *j, const struct tc_exp_info *exp,
		  const struct tc_spec *spec, const struct tc_run_opts *o,
		  struct tc_run_summary *sum, struct tc_error *err)
{
	const char *name = exp->name;
	struct runner r;
	sigset_t extra;
	int rc;

	memset(&r, 0, sizeof(r));
	r.j = j;
	r.exp = exp;
	r.spec = spec;
	r.o = o;
	r.err = err;
	if (r.spec->metric.regex) {
		r.re = tc_metric_regex_new(r.spec->metric.regex, err);
		if (!r.re) {
			rc = TC_ERR_SPEC;
			goto out;
		}
	}
	if ((rc = tc_runner_check(r.spec, o, err)))
		goto out;
	if (!(r.workdir = tc_spec_workdir(r.spec, r.exp->spec_dir))) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!(r.file_env = json_object())) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = tc_spec_read_env_files(r.spec, r.exp->spec_dir, r.file_env,
					 err)))
		goto out;
	capacity(o, &r.cpu_cap, &r.mem_cap, &r.ngpus);
	/* resources: are a process's; a trial is `nodes` of them */
	r.cpu_req = r.spec->resources.cpu * r.spec->nodes;
	r.mem_req = r.spec->resources.memory * r.spec->nodes;
	r.gpu_req = r.spec->resources.gpu * r.spec->nodes;
	r.threads = r.spec->resources.cpu > 0
			    ? (int)ceil(r.spec->resources.cpu)
			    : 1;
	/* GPUs are handed out machine-wide, whoever runs what */
	if (r.ngpus > 0 && r.gpu_req > 0 &&
	    (rc = tc_gpulease_open(&r.lease, r.ngpus, err)))
		goto out;
	if (tc_supervisor_status_path(j->dir, name, r.status_path,
				      sizeof(r.status_path))) {
		rc = tc_error_set(err, TC_ERR_IO, "state directory path too long");
		goto out;
	}
	/* the shim's events and its children's ends come as signals too */
	sigemptyset(&extra);
	sigaddset(&extra, SIGCHLD);
	sigaddset(&extra, SIGUSR1);
	if ((rc = tc_sched_begin(&r.s, j, name, spec, o, &extra, &local_ops,
				 &r, err)))
		goto out;
	/* what an earlier run that died said of its waits no longer holds */
	if (r.lease && ((rc = gpu_wait_note(&r, 0)) || (rc = txn_commit(&r))))
		goto out;
	if ((rc = tc_sched_recover(&r.s)))
		goto out;
	rc = tc_sched_run(&r.s);
	if (r.lease && !r.intxn) {
		struct tc_error e2;

		/* nobody waits for a GPU once the run is over */
		tc_error_clear(&e2);
		r.err = &e2;
		if (gpu_wait_note(&r, 0) || txn_commit(&r))
			txn_abort(&r);
		r.err = err;
	}
	tc_sched_end(&r.s, rc);
out:
	/* On an error, leave running trials to their supervisors: a resume
	 * adopts them. */
	tc_sched_close(&r.s, rc, sum);
	tc_shim_close(r.shim);
	while (r.nlive > 0) {
		struct live *lv = r.live[--r.nlive];

		live_free(lv);
	}
	free(r.live);
	free(r.pfd);
	free(r.pending);
	for (size_t i = 0; i < r.nended; i++)
		live_free(r.ended[i]);
	free(r.ended);
	tc_gpulease_close(r.lease);
	tc_metric_regex_free(r.re);
	free(r.workdir);
	json_decref(r.file_env);
	return rc;
}
