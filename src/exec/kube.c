/*
 * kube.c — the Kubernetes backend's part of a run (see kube.h): what the
 * one loop (tc_sched_run, exec/scheduler.h) asks of it, on a cluster.
 *
 * Invariants kept here:
 *   - A trial is set to starting (attempt spent) in a committed
 *     transaction before its objects are created, and to running when the
 *     API server has the Job.  Its outcome is committed together with the
 *     metrics of its pod's log.
 *   - Every decision is taken from the latest object the informers hold
 *     (level-triggered): a Job's conditions, its pod's statuses.  Events
 *     are never counted.
 *   - Requests are asynchronous; a live trial is freed only when no request
 *     of its own is on the wire (its `inflight` count is zero).
 */
#include "exec/kube.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "exec/record.h"
#include "exec/scheduler.h"
#include "k8s/client.h"
#include "k8s/kubeconfig.h"
#include "k8s/manifest.h"
#include "metrics/metrics.h"
#include "search/search.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/text.h"

#define LOG_MAX_BYTES (64LL << 20) /* of a pod's log kept and parsed */
/* An API server that has just restarted answers 403 for a moment (its
 * authorizer's caches are empty): a refusal counts as final only when it
 * lasts this long. */
#define FORBID_GRACE 20.0

enum phase {
	P_CREATING, /* starting: objects being created */
	P_ACTIVE,   /* running: the Job exists */
	P_FINISHING,/* outcome decided, log being fetched */
	P_DELETING, /* cancel: the Job being deleted */
	P_DONE,     /* recorded; freed when no request is in flight */
};

struct ktrial {
	struct kube *r;
	char id[TC_TRIAL_ID_LEN + 1];
	int attempt;
	char job[64];
	double timeout;    /* its run.timeout (its stage's); 0 until its objects are made */
	enum phase phase;
	int inflight;      /* requests on the wire for this trial */
	int pending;       /* creates still to answer */
	int create_failed; /* a create was refused: reason holds why */
	int create_fatal;  /* ... in a way that stops the run */
	double recreate_at;/* monotonic: create again (after a 401/403) */
	int pod_running;   /* the rank-0 pod is Running: its log grows */
	int job_existed;   /* the Job's create said AlreadyExists */
	int jstate;        /* its state in the journal: starting or running */
	int log_inflight;  /* a live read of its log is on the wire */
	int last_read;     /* its log was read just before its deadline:
			      from then on each read keeps it */
	int log_kept;      /* this attempt's stdout.log is written */
	int adopted;
	int seen;          /* the Job was seen by the informer */
	json_t *early_job; /* its Job and rank-0 pod as last seen before its
			      creates were all answered: judged once they
			      are (a pod already Running, a Job already
			      complete) */
	json_t *early_pod;
	int cancel;        /* 1 cancelled, 2 interrupted, 3 pruned */
	long long idx;     /* its index in the experiment */
	char *params;      /* JSON text */
	char pod[256];     /* the rank-0 pod */
	char pending_reason[1024];
	char stored_reason[1024]; /* what the journal shows now */
	char pod_reason[1024];   /* how the pod ended, if it failed */
	int exit_code;
	int state;         /* outcome: enum tc_state */
	char reason[1024];
	double created;        /* unix: the Job's creation (its metadata) */
	double started, ended; /* unix, from the Job's status */
	double began;          /* unix: the rank-0 pod's container started
				  (0 unknown): see attempt_times */
	int deleted;           /* trainctl deleted the Job (cancel, a pod
				  that cannot start) */
	double t0;             /* unix: when this attempt began */
	int has_metric;
	double metric;
};

struct kube {
	struct tc_journal *j;
	const struct tc_spec *spec;
	const struct tc_run_opts *o;
	struct tc_error *err;
	struct tc_kube *k;
	const char *ns;
	struct tc_kube_informer *inf_jobs, *inf_pods;
	struct tc_metric_regex *re;

	struct ktrial **live;
	size_t nlive, caplive;
	int fatal;         /* stop: err holds why */
	double forbid_since;   /* monotonic: creates refused since then */
	double log_every;      /* seconds between live log reads of a trial */
	double last_logs;
	size_t log_cursor;     /* round robin over the live trials */
	double inf_err_since;  /* monotonic: the Jobs' watch refused since */
	json_t *jobs_seen;     /* recovery: the Jobs' first list, by name */


	struct tc_sched s; /* counts, stopping, progress, signals, journal */
};

/* ---- live trials ------------------------------------------------------- */

static struct ktrial *kt_new(struct kube *r, const char *id, int attempt)
{
	struct ktrial *t = calloc(1, sizeof(*t));
	char *job;

	if (!t)
		return NULL;
	t->r = r;
	snprintf(t->id, sizeof(t->id), "%.12s", id); /* ids are 12 hex */
	t->attempt = attempt;
	job = tc_k8s_job_name(r->spec->name, id, attempt);
	if (!job) {
		free(t);
		return NULL;
	}
	snprintf(t->job, sizeof(t->job), "%s", job);
	free(job);
	t->t0 = tc_now();
	return t;
}

static void kt_free(struct ktrial *t)
{
	if (!t)
		return;
	free(t->params);
	json_decref(t->early_job);
	json_decref(t->early_pod);
	free(t);
}

static int kt_add(struct kube *r, struct ktrial *t)
{
	if (r->nlive == r->caplive) {
		size_t ncap = r->caplive ? r->caplive * 2 : 64;
		struct ktrial **nl = realloc(r->live, ncap * sizeof(*nl));

		if (!nl)
			return TC_ERR_NOMEM;
		r->live = nl;
		r->caplive = ncap;
	}
	r->live[r->nlive++] = t;
	return 0;
}

/* Trials still counting against `parallel`. */
static size_t active_count(struct kube *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nlive; i++)
		n += r->live[i]->phase != P_DONE;
	return n;
}

/* Drop trials that are recorded and have nothing on the wire. */
static void reap(struct kube *r)
{
	size_t w = 0;

	for (size_t i = 0; i < r->nlive; i++) {
		struct ktrial *t = r->live[i];

		if (t->phase == P_DONE && t->inflight == 0)
			kt_free(t);
		else
			r->live[w++] = t;
	}
	r->nlive = w;
}

static struct ktrial *find_job(struct kube *r, const char *job)
{
	for (size_t i = 0; i < r->nlive; i++)
		if (r->live[i]->phase != P_DONE && !strcmp(r->live[i]->job, job))
			return r->live[i];
	return NULL;
}

/* ---- output ------------------------------------------------------------ */

/* The running trials for the view (tc_sched.running). */
static void view_running(void *ctx, struct tc_progress_status *st)
{
	struct kube *r = ctx;
	struct tc_progress_trial *trials;
	double now = tc_now();

	trials = r->nlive ? calloc(r->nlive, sizeof(*trials)) : NULL;
	st->trials = trials;
	for (size_t i = 0; trials && i < r->nlive; i++) {
		struct ktrial *t = r->live[i];
		struct tc_progress_trial *v = &trials[st->ntrials];

		if (t->phase != P_ACTIVE || !t->pod_running)
			continue;
		v->id = t->id;
		v->params = t->params;
		v->elapsed = now - (t->began > 0     ? t->began
				    : t->started > 0 ? t->started
						     : t->t0);
		v->has_metric = t->has_metric;
		v->metric = t->metric;
		st->ntrials++;
	}
}

/* ---- times and objects ------------------------------------------------- */

/* RFC 3339 "2026-11-23T21:42:25Z" → unix time; 0 when absent. */
static double rfc3339(const char *s)
{
	double t;

	return s && tc_parse_rfc3339(s, &t) == 0 ? t : 0;
}

static const char *jstr(const json_t *o, const char *path)
{
	/* a dotted path of object keys */
	char key[128];
	const char *p = path;

	while (o && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		p = dot ? dot + 1 : p + n;
	}
	return json_string_value(o);
}

static const char *label(const json_t *obj, const char *name)
{
	return json_string_value(json_object_get(
		json_object_get(json_object_get(obj, "metadata"), "labels"), name));
}

/* The condition of type `type` with status True, or NULL. */
static const json_t *condition(const json_t *obj, const char *type)
{
	const json_t *conds = json_object_get(json_object_get(obj, "status"),
					      "conditions");
	size_t i;
	json_t *c;

	json_array_foreach(conds, i, c)
	{
		const char *ty = json_string_value(json_object_get(c, "type"));
		const char *st = json_string_value(json_object_get(c, "status"));

		if (ty && st && !strcmp(ty, type) && !strcmp(st, "True"))
			return c;
	}
	return NULL;
}

/* ---- metrics from a log ------------------------------------------------ */

/* Parse a log: name=value pairs and the spec's regex on every line, JSON
 * lines (TRAINCTL_METRICS_FILE is the pod's stdout) too.  What it holds
 * replaces what the journal had of this attempt (collecting is
 * idempotent), written in batches.  0 or a journal error. */
static int collect(struct kube *r, struct ktrial *t, const char *buf,
		   size_t len)
{
	struct tc_collector *text = tc_collector_new(TC_SRC_TEXT, r->re, 1);
	struct tc_collector *jl = tc_collector_new(TC_SRC_JSONL, NULL, 0);
	struct tc_rec_metrics *m = tc_rec_metrics_new(
		r->j, r->spec->name, t->id, t->attempt, r->spec->metric.name, 1,
		tc_sched_metrics_cut, &r->s, r->err);
	int rc = TC_ERR_NOMEM;

	if (text && jl && m && !(rc = tc_sched_watch(&r->s, m, t->idx)) &&
	    !(rc = tc_rec_metrics_feed(m, text, buf, len, 1)) &&
	    !(rc = tc_rec_metrics_feed(m, jl, buf, len, 1)) &&
	    !(rc = tc_sched_metrics_cut(&r->s, m)))
		t->has_metric = tc_rec_metrics_value(m, &t->metric);
	if (rc == TC_ERR_NOMEM && !r->err->code)
		tc_error_set(r->err, TC_ERR_NOMEM, "out of memory");
	tc_rec_metrics_free(m);
	tc_collector_free(text);
	tc_collector_free(jl);
	return rc;
}

/* ---- recording an outcome ---------------------------------------------- */

/* Keep the pod's log as the trial's stdout.log (what `trainctl logs` and
 * `results --metric` read). */
static void keep_log(struct kube *r, struct ktrial *t, const char *buf,
		     size_t len)
{
	char *dir = tc_trial_dir(r->j, t->id);
	char path[PATH_MAX];

	if (!dir)
		return;
	if (tc_mkdir_private(dir, 0755, 2) >= 0) {
		char ppath[PATH_MAX];

		if (t->attempt > 1 && !t->log_kept)
			tc_rotate_log(dir, "stdout", "log", t->attempt - 1);
		t->log_kept = 1;
		snprintf(path, sizeof(path), "%s/stdout.log", dir);
		tc_write_file_atomic(path, buf, len, 0, 0600);
		snprintf(ppath, sizeof(ppath), "%s/params.json", dir);
		if (t->params && access(ppath, F_OK) != 0) {
			size_t n = strlen(t->params);

			t->params[n] = '\n';
			tc_write_file_atomic(ppath, t->params, n + 1, 0, 0600);
			t->params[n] = '\0';
		}
	}
	free(dir);
}

/*
 * The one rule for an attempt's time on a cluster: its compute (wall time,
 * and so GPU-hours) runs from its rank-0 container's start to its end, and
 * the time before, from its Job's creation, is pending: waiting for a
 * node, a quota, an image.  An attempt whose Job trainctl deleted before
 * its container was seen to start (cancelled while unschedulable, an image
 * that cannot be pulled) computed nothing.  One that ended by itself
 * without its start seen counts from the Job's start.  The times are the
 * cluster's, except ended when no Job condition said (then now).  Returns
 * when its compute began.
 */
static double attempt_times(const struct ktrial *t, double ended,
			    double *wall, double *pending)
{
	double created = t->created > 0 ? t->created
			 : t->started > 0 ? t->started : t->t0;
	double start = t->began > 0 ? t->began
		       : t->deleted ? ended
		       : t->started > 0 ? t->started : t->t0;

	*wall = ended > start ? ended - start : 0;
	*pending = start > created ? start - created : 0;
	return start;
}

/* Commit the trial's outcome (t->state, t->reason) with its metrics and,
 * when its Job was created, the time it was pending (the event "pending",
 * the seconds as its detail); a journal error stops the run (err says
 * why). */
static void record_or_die(struct kube *r, struct ktrial *t)
{
	double ended = t->ended > 0 ? t->ended : tc_now(), start, pending;
	struct tc_sched_end e = {
		.id = t->id, .attempt = t->attempt, .params = t->params,
		.has_metric = t->has_metric, .metric = t->metric,
		.state = t->state, .reason = t->reason,
		.reason_len = sizeof(t->reason), .cancel = t->cancel,
		.cancel_wins = 1, .no_retry = t->create_failed,
	};
	char secs[32];
	int rc;

	start = attempt_times(t, ended, &e.wall, &pending);
	snprintf(secs, sizeof(secs), "%.3f", pending);
	if (!(rc = tc_journal_begin(r->j, r->err)) &&
	    ((!t->create_failed &&
	      (rc = tc_trials_event(r->s.tr, t->id, "pending", secs,
				    r->err))) ||
	     (rc = tc_sched_finish(&r->s, &e,
				   &(struct tc_trial_outcome){
					   .has_exit = t->exit_code >= 0,
					   .exit_code = t->exit_code,
					   .started_at = start,
					   .ended_at = ended, .wall = e.wall,
				   })) ||
	     (rc = tc_journal_commit(r->j, r->err))))
		tc_journal_rollback(r->j);
	if (rc) {
		r->fatal = 1;
		return;
	}
	tc_sched_ended(&r->s, t->jstate, &e);
	t->phase = P_DONE;
}

/* ---- finishing: the pod's log, then the record ------------------------- */

/* A pod's whole log, read: kept as the trial's stdout.log and its metrics
 * collected.  0, or -1 when the run must stop (r->fatal). */
static int take_log(struct kube *r, struct ktrial *t,
		    const struct tc_kube_resp *resp)
{
	size_t len = resp->raw_len;

	if ((long long)len > LOG_MAX_BYTES)
		len = (size_t)LOG_MAX_BYTES;
	keep_log(r, t, resp->raw, len);
	if (collect(r, t, resp->raw, len)) {
		r->fatal = 1;
		return -1;
	}
	return 0;
}

static void on_log(void *ctx, const struct tc_kube_resp *resp,
		   const struct tc_error *e)
{
	struct ktrial *t = ctx;
	struct kube *r = t->r;

	t->inflight--;
	if (t->phase != P_FINISHING)
		return;
	if (!e->code && resp->status == 200 && resp->raw) {
		if (take_log(r, t, resp))
			return;
	} else if (!t->log_kept) {
		/* (a pod deleted at its deadline keeps the log read before) */
		keep_log(r, t, "", 0);
	}
	record_or_die(r, t);
}

/* The outcome is known: fetch the log of the rank-0 pod, then record. */
static void finish(struct kube *r, struct ktrial *t, int state,
		   const char *reason)
{
	char path[768];

	if (t->phase == P_FINISHING || t->phase == P_DONE)
		return;
	t->state = state;
	if (reason != t->reason)
		snprintf(t->reason, sizeof(t->reason), "%.*s",
			 (int)sizeof(t->reason) - 1, reason ? reason : "");
	tc_text_sanitize(t->reason); /* the API server's words, for a terminal */
	t->phase = P_FINISHING;
	if (!t->pod[0]) {
		keep_log(r, t, "", 0);
		record_or_die(r, t);
		return;
	}
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/%s/pods/%s/log?container=trial&limitBytes=%lld",
		 r->ns, t->pod, LOG_MAX_BYTES);
	if (tc_kube_submit(r->k, "GET", path, NULL, NULL, on_log, t) == 0)
		t->inflight++;
	else
		record_or_die(r, t);
}

/* ---- metrics while a trial runs --------------------------------------- */

/* A live read of a running pod's log: its metrics so far replace what the
 * journal had for this attempt (collecting is idempotent), so `results`
 * and `status` show them while the sweep runs.  From the read just before
 * its deadline on (last_read), the log is kept too: the Job controller
 * deletes the pod when run.timeout passes, and its log with it, so what
 * it printed is kept now, as the local backend keeps what a timed-out
 * process printed. */
static void on_live_log(void *ctx, const struct tc_kube_resp *resp,
			const struct tc_error *e)
{
	struct ktrial *t = ctx;
	struct kube *r = t->r;

	t->inflight--;
	t->log_inflight = 0;
	if (t->phase != P_ACTIVE || e->code || resp->status != 200 || !resp->raw)
		return;
	if (t->last_read)
		keep_log(r, t, resp->raw, resp->raw_len);
	if (collect(r, t, resp->raw, resp->raw_len))
		r->fatal = 1;
}

/* How long before run.timeout a running pod's log is read a last time. */
static double last_read_margin(double timeout)
{
	return timeout / 4 < 5 ? timeout / 4 : 5;
}

static int submit_log_read(struct kube *r, struct ktrial *t)
{
	char path[768];

	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/%s/pods/%s/log?container=trial&"
		 "limitBytes=%lld",
		 r->ns, t->pod, LOG_MAX_BYTES);
	if (tc_kube_submit(r->k, "GET", path, NULL, NULL, on_live_log, t))
		return -1;
	t->inflight++;
	t->log_inflight = 1;
	return 0;
}

/* Every log_every seconds, read the logs of the running pods, at most
 * LIVE_LOGS_PER_TICK at a time, round robin; and each running pod's log
 * once just before its deadline. */
#define LIVE_LOGS_PER_TICK 32
static void read_live_logs(struct kube *r)
{
	size_t sent = 0, n = r->nlive;
	double now = tc_mono();

	{
		double wall = tc_now();

		for (size_t k = 0; k < n; k++) {
			struct ktrial *t = r->live[k];
			double timeout = t->timeout > 0 ? t->timeout
							: r->spec->run.timeout;

			if (timeout > 0 && t->phase == P_ACTIVE && t->pod_running &&
			    !t->log_inflight && !t->last_read &&
			    t->started > 0 &&
			    wall >= t->started + timeout -
					    last_read_margin(timeout) &&
			    submit_log_read(r, t) == 0)
				t->last_read = 1;
		}
	}
	if (r->log_every <= 0 || now - r->last_logs < r->log_every || n == 0)
		return;
	r->last_logs = now;
	for (size_t k = 0; k < n && sent < LIVE_LOGS_PER_TICK; k++) {
		struct ktrial *t = r->live[(r->log_cursor + k) % n];

		if (t->phase != P_ACTIVE || !t->pod_running || t->log_inflight)
			continue;
		if (submit_log_read(r, t))
			break;
		sent++;
		r->log_cursor = (r->log_cursor + k + 1) % n;
	}
}

/* ---- cancelling -------------------------------------------------------- */

static void on_deleted(void *ctx, const struct tc_kube_resp *resp,
		       const struct tc_error *e)
{
	struct ktrial *t = ctx;
	struct kube *r = t->r;

	t->inflight--;
	if (t->phase != P_DELETING)
		return;
	t->phase = P_ACTIVE;
	if (e->code || (resp->status >= 300 && resp->status != 404)) {
		/* not deleted (the API server is away, or refuses): recorded
		 * all the same; `trainctl gc` removes what is left */
		char why[128];

		snprintf(why, sizeof(why), "%s; its Job could not be deleted",
			 t->cancel == 2 ? "interrupted" : "cancelled");
		finish(r, t, TC_ST_CANCELLED, why);
		return;
	}
	if (t->state == TC_ST_FAILED && t->pod_reason[0] && !t->cancel) {
		/* deleted because it could never run */
		finish(r, t, TC_ST_FAILED, t->pod_reason);
		return;
	}
	finish(r, t, TC_ST_CANCELLED, t->cancel == 2 ? "interrupted" : "cancelled");
}

static void submit_delete(struct kube *r, struct ktrial *t);

/* The log of a running pod about to be deleted: kept, its metrics
 * collected (the pod and its log go with the Job), then the delete. */
static void on_last_log(void *ctx, const struct tc_kube_resp *resp,
			const struct tc_error *e)
{
	struct ktrial *t = ctx;
	struct kube *r = t->r;

	t->inflight--;
	if (t->phase != P_DELETING)
		return;
	if (!e->code && resp->status == 200 && resp->raw &&
	    take_log(r, t, resp))
		return;
	submit_delete(r, t);
}

static void delete_job(struct kube *r, struct ktrial *t, int why)
{
	char path[768];

	if (t->phase == P_DELETING || t->phase == P_FINISHING ||
	    t->phase == P_DONE)
		return;
	t->cancel = why;
	t->deleted = 1;
	if (t->phase == P_CREATING && t->pending > 0) {
		/* the creates will answer; delete after them */
		return;
	}
	t->phase = P_DELETING;
	if (t->pod[0] && t->pod_running) {
		/* what it printed so far, as a stopped process's output is */
		snprintf(path, sizeof(path),
			 "/api/v1/namespaces/%s/pods/%s/log?container=trial&"
			 "limitBytes=%lld",
			 r->ns, t->pod, LOG_MAX_BYTES);
		if (tc_kube_submit(r->k, "GET", path, NULL, NULL, on_last_log,
				   t) == 0) {
			t->inflight++;
			return;
		}
	}
	submit_delete(r, t);
}

static void submit_delete(struct kube *r, struct ktrial *t)
{
	char path[512];
	json_t *body;

	snprintf(path, sizeof(path), "/apis/batch/v1/namespaces/%s/jobs/%s",
		 r->ns, t->job);
	body = json_pack("{s:s, s:s, s:s}", "kind", "DeleteOptions", "apiVersion",
			 "v1", "propagationPolicy", "Background");
	if (tc_kube_submit(r->k, "DELETE", path, body, NULL, on_deleted, t) == 0)
		t->inflight++;
	else
		on_deleted(t, &(struct tc_kube_resp){0}, &(struct tc_error){0});
	json_decref(body);
}

/* ---- tracking ---------------------------------------------------------- */

static void set_pending_reason(struct kube *r, struct ktrial *t,
			       const char *why)
{
	snprintf(t->pending_reason, sizeof(t->pending_reason), "%s", why);
	why = tc_text_sanitize(t->pending_reason);
	if (!strcmp(t->pending_reason, t->stored_reason))
		return;
	snprintf(t->stored_reason, sizeof(t->stored_reason), "%s", why);
	tc_trials_set_reason(r->s.tr, t->id, why, r->err);
}

/* A Job as the informer last saw it. */
static void judge_job(struct kube *r, struct ktrial *t, json_t *job)
{
	const json_t *c;
	const json_t *st = json_object_get(job, "status");

	t->seen = 1;
	if (t->phase == P_CREATING && job != t->early_job) {
		json_decref(t->early_job);
		t->early_job = json_incref(job);
	}
	if (t->phase != P_ACTIVE)
		return;
	t->created = rfc3339(jstr(job, "metadata.creationTimestamp"));
	t->started = rfc3339(json_string_value(json_object_get(st, "startTime")));
	if ((c = condition(job, "Complete"))) {
		t->ended = rfc3339(json_string_value(
			json_object_get(st, "completionTime")));
		if (t->ended <= 0)
			t->ended = rfc3339(json_string_value(
				json_object_get(c, "lastTransitionTime")));
		t->exit_code = 0;
		finish(r, t, TC_ST_SUCCEEDED, NULL);
	} else if ((c = condition(job, "Failed"))) {
		const char *why = json_string_value(json_object_get(c, "reason"));
		const char *msg = json_string_value(json_object_get(c, "message"));
		char reason[1024];

		t->ended = rfc3339(json_string_value(
			json_object_get(c, "lastTransitionTime")));
		if (why && !strcmp(why, "DeadlineExceeded")) {
			snprintf(reason, sizeof(reason),
				 "DeadlineExceeded: timed out after %.0fs",
				 t->timeout > 0 ? t->timeout : r->spec->run.timeout);
			finish(r, t, TC_ST_TIMED_OUT, reason);
			return;
		}
		if (t->pod_reason[0])
			snprintf(reason, sizeof(reason), "%s", t->pod_reason);
		else
			snprintf(reason, sizeof(reason), "%s%s%s",
				 why ? why : "Failed", msg ? ": " : "",
				 msg ? msg : "");
		finish(r, t, TC_ST_FAILED, reason);
	}
}

static void on_job(void *ctx, enum tc_kube_event ev, json_t *obj)
{
	struct kube *r = ctx;
	const char *name;
	struct ktrial *t;

	if (ev == TC_KUBE_SYNCED || !obj)
		return;
	name = jstr(obj, "metadata.name");
	if (!name || !(t = find_job(r, name)))
		return;
	if (ev == TC_KUBE_DELETED) {
		if (t->phase == P_ACTIVE)
			finish(r, t, TC_ST_FAILED,
			       "the Job was deleted outside trainctl");
		return;
	}
	judge_job(r, t, obj);
}

/* Waiting reasons that will not resolve by waiting. */
static int hopeless(const char *why)
{
	static const char *const bad[] = {
		"ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
		"CreateContainerConfigError", "CreateContainerError",
		"RunContainerError",
	};

	for (size_t i = 0; why && i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!strcmp(why, bad[i]))
			return 1;
	return 0;
}

static void on_pod(void *ctx, enum tc_kube_event ev, json_t *obj)
{
	struct kube *r = ctx;
	const char *trial, *attempt, *idx, *pname, *phase, *sreason;
	const json_t *st, *cs;
	char job[64];
	struct ktrial *t;
	size_t i;
	json_t *c;

	if (ev == TC_KUBE_SYNCED || ev == TC_KUBE_DELETED || !obj)
		return;
	trial = label(obj, TC_K8S_LABEL_TRIAL);
	attempt = label(obj, TC_K8S_LABEL_ATTEMPT);
	if (!trial || !attempt)
		return;
	{
		char *jn = tc_k8s_job_name(r->spec->name, trial, atoi(attempt));

		snprintf(job, sizeof(job), "%s", jn ? jn : "");
		free(jn);
	}
	if (!(t = find_job(r, job)))
		return;
	idx = label(obj, "batch.kubernetes.io/job-completion-index");
	if (t->phase == P_CREATING && obj != t->early_pod &&
	    (!idx || !strcmp(idx, "0"))) {
		/* before the create's answer: kept for created() */
		json_decref(t->early_pod);
		t->early_pod = json_incref(obj);
	}
	if (t->phase != P_ACTIVE)
		return;
	pname = jstr(obj, "metadata.name");
	if (pname && (!idx || !strcmp(idx, "0")))
		snprintf(t->pod, sizeof(t->pod), "%s", pname);
	st = json_object_get(obj, "status");
	phase = json_string_value(json_object_get(st, "phase"));
	sreason = json_string_value(json_object_get(st, "reason"));
	if (sreason && !strcmp(sreason, "Evicted")) {
		const char *msg = json_string_value(json_object_get(st, "message"));

		snprintf(t->pod_reason, sizeof(t->pod_reason), "evicted%s%s",
			 msg ? ": " : "", msg ? msg : "");
	}
	cs = json_object_get(st, "containerStatuses");
	json_array_foreach(cs, i, c)
	{
		const json_t *term = json_object_get(
			json_object_get(c, "state"), "terminated");
		const json_t *wait = json_object_get(
			json_object_get(c, "state"), "waiting");
		const json_t *run = json_object_get(
			json_object_get(c, "state"), "running");

		/* the rank-0 pod's trial container: when it started (seen
		 * running, else as the terminated state says) */
		if (!t->began && (!idx || !strcmp(idx, "0")) &&
		    (run || term)) {
			const char *at = json_string_value(
				json_object_get(run ? run : term, "startedAt"));

			if (at)
				t->began = rfc3339(at);
		}
		if (term) {
			const char *why = json_string_value(
				json_object_get(term, "reason"));
			int code = (int)json_integer_value(
				json_object_get(term, "exitCode"));

			t->exit_code = code;
			if (code != 0 || (why && strcmp(why, "Completed")))
				snprintf(t->pod_reason, sizeof(t->pod_reason),
					 "%s (exit code %d)",
					 why ? why : "Error", code);
		} else if (wait) {
			const char *why = json_string_value(
				json_object_get(wait, "reason"));
			const char *msg = json_string_value(
				json_object_get(wait, "message"));
			char reason[1024];

			if (!why)
				continue;
			snprintf(reason, sizeof(reason), "%s%s%s", why,
				 msg ? ": " : "", msg ? msg : "");
			if (hopeless(why)) {
				/* fail it now: the Job would wait forever */
				snprintf(t->pod_reason, sizeof(t->pod_reason),
					 "%s", reason);
				t->state = TC_ST_FAILED;
				delete_job(r, t, 0);
				t->cancel = 0;
				return;
			}
			set_pending_reason(r, t, reason);
		}
	}
	if (phase && !strcmp(phase, "Pending")) {
		const json_t *conds = json_object_get(st, "conditions");

		json_array_foreach(conds, i, c)
		{
			const char *ty = json_string_value(json_object_get(c, "type"));
			const char *s = json_string_value(json_object_get(c, "status"));
			const char *why = json_string_value(json_object_get(c, "reason"));
			const char *msg = json_string_value(json_object_get(c, "message"));

			if (ty && s && why && !strcmp(ty, "PodScheduled") &&
			    !strcmp(s, "False")) {
				char reason[1024];

				snprintf(reason, sizeof(reason), "%s%s%s", why,
					 msg ? ": " : "", msg ? msg : "");
				set_pending_reason(r, t, reason);
			}
		}
	} else if (phase && !strcmp(phase, "Running") && t->stored_reason[0]) {
		set_pending_reason(r, t, "");
	}
	if (pname && !strcmp(pname, t->pod))
		t->pod_running = phase && !strcmp(phase, "Running");
}

/* ---- adopting a Job that existed already ------------------------------ */

/* A create answered AlreadyExists (an earlier runner created the Job and
 * died before recording it): the informers told of it before the trial was
 * tracked, so read its pods and then the Job, and judge them as events. */
static void on_existing_job(void *ctx, const struct tc_kube_resp *resp,
			    const struct tc_error *e)
{
	struct ktrial *t = ctx;

	t->inflight--;
	if (!e->code && resp->status == 200 && resp->body)
		on_job(t->r, TC_KUBE_MODIFIED, resp->body);
}

static void on_existing_pods(void *ctx, const struct tc_kube_resp *resp,
			     const struct tc_error *e)
{
	struct ktrial *t = ctx;
	struct kube *r = t->r;
	char path[512];
	size_t i;
	json_t *it;

	t->inflight--;
	if (!e->code && resp->status == 200)
		json_array_foreach(json_object_get(resp->body, "items"), i, it)
			on_pod(r, TC_KUBE_MODIFIED, it);
	if (t->phase != P_ACTIVE)
		return;
	snprintf(path, sizeof(path), "/apis/batch/v1/namespaces/%s/jobs/%s",
		 r->ns, t->job);
	if (tc_kube_submit(r->k, "GET", path, NULL, NULL, on_existing_job, t) == 0)
		t->inflight++;
}

static void look_at_existing(struct kube *r, struct ktrial *t)
{
	char sel[256], path[768], *esc;

	snprintf(sel, sizeof(sel),
		 TC_K8S_LABEL_EXP "=%s," TC_K8S_LABEL_TRIAL "=%s," TC_K8S_LABEL_ATTEMPT
				  "=%d",
		 r->spec->name, t->id, t->attempt);
	esc = tc_kube_escape(sel);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods?labelSelector=%s",
		 r->ns, esc ? esc : "");
	free(esc);
	if (tc_kube_submit(r->k, "GET", path, NULL, NULL, on_existing_pods, t) == 0)
		t->inflight++;
}

/* ---- starting ---------------------------------------------------------- */

static void created(struct kube *r, struct ktrial *t)
{
	/* all objects exist: the trial is running */
	if (t->create_failed) {
		t->phase = P_ACTIVE;
		t->exit_code = -1;
		finish(r, t, TC_ST_FAILED, t->reason);
		return;
	}
	if (t->adopted) {
		t->phase = P_ACTIVE;
	} else {
		if (tc_journal_begin(r->j, r->err)) {
			r->fatal = 1;
			return;
		}
		if (tc_trials_mark_running(r->s.tr, t->id, NULL, 0, t->job,
					   r->err) ||
		    tc_journal_commit(r->j, r->err)) {
			tc_journal_rollback(r->j);
			r->fatal = 1;
			return;
		}
		tc_sched_count_move(&r->s, TC_ST_STARTING, TC_ST_RUNNING);
		t->jstate = TC_ST_RUNNING;
		t->phase = P_ACTIVE;
	}
	if (t->cancel) {
		int why = t->cancel;

		delete_job(r, t, why);
		return;
	}
	if (t->job_existed) {
		look_at_existing(r, t);
		return;
	}
	/* what the informers said before the creates were answered: the
	 * pod first (its name, whether it runs), then the Job (its end) */
	if (t->early_pod) {
		json_t *o = t->early_pod;

		t->early_pod = NULL;
		on_pod(r, TC_KUBE_MODIFIED, o);
		json_decref(o);
	}
	if (t->early_job && t->phase == P_ACTIVE) {
		json_t *o = t->early_job;

		t->early_job = NULL;
		judge_job(r, t, o);
		json_decref(o);
	}
}

static void on_created(void *ctx, const struct tc_kube_resp *resp,
		       const struct tc_error *e)
{
	struct ktrial *t = ctx;
	struct kube *r = t->r;

	t->inflight--;
	t->pending--;
	if (e->code) {
		/* no answer within the retry budget: stop; resume creates it */
		if (!r->fatal) {
			*r->err = *e;
			r->fatal = 1;
		}
		t->create_fatal = 1;
	} else if (resp->status >= 300 && resp->status != 409) {
		struct tc_error ke;

		tc_error_clear(&ke);
		tc_kube_error(&ke, resp, "create");
		if (resp->status == 401 || resp->status == 403) {
			double now = tc_mono();

			if (r->forbid_since == 0)
				r->forbid_since = now;
			if (now - r->forbid_since > FORBID_GRACE) {
				if (!r->fatal) {
					*r->err = ke;
					r->fatal = 1;
				}
				t->create_fatal = 1;
			} else {
				/* try again in a second */
				t->recreate_at = now + 1;
			}
		} else if (resp->status == 404) {
			/* no such namespace */
			if (!r->fatal) {
				*r->err = ke;
				r->fatal = 1;
			}
			t->create_fatal = 1;
		} else if (!t->create_failed) {
			t->create_failed = 1;
			snprintf(t->reason, sizeof(t->reason), "%s", ke.msg);
		}
	}
	else if (resp->status < 300 || resp->status == 409)
		r->forbid_since = 0;
	if (t->pending == 0 && !t->create_fatal && !t->recreate_at)
		created(r, t);
}

static void on_job_created(void *ctx, const struct tc_kube_resp *resp,
			   const struct tc_error *e)
{
	struct ktrial *t = ctx;

	if (!e->code && resp->status == 409)
		t->job_existed = 1;
	on_created(ctx, resp, e);
}

static int submit_create(struct kube *r, struct ktrial *t, const char *kind,
			 json_t *obj)
{
	char path[256];

	if (!strcmp(kind, "Job"))
		snprintf(path, sizeof(path), "/apis/batch/v1/namespaces/%s/jobs",
			 r->ns);
	else if (!strcmp(kind, "ConfigMap"))
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps",
			 r->ns);
	else
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services",
			 r->ns);
	if (tc_kube_submit(r->k, "POST", path, obj, NULL,
			   strcmp(kind, "Job") ? on_created : on_job_created, t))
		return tc_error_set(r->err, TC_ERR_NOMEM, "out of memory");
	t->inflight++;
	t->pending++;
	return 0;
}

/* Build the trial's objects from the journal row and submit their creation.
 * ConfigMap and Service first: the Job's pods need them. */
static int create_objects(struct kube *r, struct ktrial *t)
{
	struct tc_trial_row row;
	json_t *argv = NULL, *env = NULL, *cm = NULL, *job = NULL, *svc = NULL;
	struct tc_k8s_trial kt;
	struct tc_error e;
	const struct tc_spec *js; /* its stage's, for a pipeline's job */
	int rc;

	if ((rc = tc_trials_get(r->s.tr, t->id, &row, r->err)) <= 0)
		return rc ? rc
			  : tc_error_set(r->err, TC_ERR_DB,
					 "trial %s is not in the journal", t->id);
	js = tc_spec_for_stage(r->spec, row.stage);
	t->timeout = js->run.timeout;
	argv = json_loads(row.command, 0, NULL);
	env = json_loads(row.env, 0, NULL);
	if (!t->params) {
		t->params = row.params;
		row.params = NULL;
	}
	tc_trial_row_free(&row);
	rc = 0;
	kt.experiment = r->spec->name;
	kt.id = t->id;
	kt.attempt = t->attempt;
	kt.params_json = t->params ? t->params : "{}";
	kt.argv = argv;
	kt.env = env;
	tc_error_clear(&e);
	cm = tc_k8s_configmap(js, r->ns, &kt, &e);
	job = cm ? tc_k8s_job(js, r->ns, &kt, &e) : NULL;
	if (job && r->spec->nodes > 1)
		svc = tc_k8s_service(js, r->ns, &kt, &e);
	if (!cm || !job || (r->spec->nodes > 1 && !svc)) {
		rc = tc_error_set(r->err, e.code ? e.code : TC_ERR_INTERNAL,
				  "trial %s: %s", t->id, e.msg);
		goto out;
	}
	t->phase = P_CREATING;
	if ((rc = submit_create(r, t, "ConfigMap", cm)) ||
	    (svc && (rc = submit_create(r, t, "Service", svc))) ||
	    (rc = submit_create(r, t, "Job", job)))
		goto out;
out:
	json_decref(argv);
	json_decref(env);
	json_decref(cm);
	json_decref(job);
	json_decref(svc);
	return rc;
}

/* Take the next queued trial: intent, then creation.  1 when one started,
 * 0 when none is ready. */
static int start_next(struct kube *r)
{
	struct tc_trial_row row;
	struct ktrial *t;
	int attempt, rc;

	if ((rc = tc_sched_extend(&r->s, (long long)active_count(r))) < 0 ||
	    (rc = tc_sched_next(&r->s, tc_now(), &row)) <= 0)
		return rc;
	attempt = row.attempt + 1;
	t = kt_new(r, row.id, attempt);
	if (t) {
		t->params = row.params;
		t->idx = row.idx;
		row.params = NULL;
	}
	tc_trial_row_free(&row);
	if (!t || !t->params) {
		kt_free(t);
		return tc_error_set(r->err, TC_ERR_NOMEM, "out of memory");
	}
	if ((rc = tc_journal_begin(r->j, r->err)))
		goto fail_free;
	if ((rc = tc_trials_mark_starting(r->s.tr, t->id, attempt, NULL, t->job,
					  r->err)) ||
	    (rc = tc_journal_commit(r->j, r->err))) {
		tc_journal_rollback(r->j);
		goto fail_free;
	}
	tc_sched_count_move(&r->s, TC_ST_QUEUED, TC_ST_STARTING);
	t->jstate = TC_ST_STARTING;
	if ((rc = kt_add(r, t)))
		goto fail_free;
	if ((rc = create_objects(r, t)))
		return rc; /* in the table: freed at the end; resume redoes it */
	return 1;
fail_free:
	kt_free(t);
	return rc;
}

/* ---- recovery (tc_sched_recover decides) ------------------------------- */

/* After the first list of Jobs (r->jobs_seen): what a previous runner
 * left in starting or running. */
static int probe(void *b, const struct tc_trial_row *row,
		 struct tc_probe_result *pr)
{
	struct kube *r = b;
	char *job;
	int seen;

	if (row->state == TC_ST_STARTING) {
		/* the intent is there; the objects may be: creating them
		 * again adopts those that are (AlreadyExists) */
		pr->found = TC_FOUND_STARTING;
		return 0;
	}
	if (!(job = tc_k8s_job_name(r->spec->name, row->id, row->attempt)))
		return tc_error_set(r->err, TC_ERR_NOMEM, "out of memory");
	seen = json_object_get(r->jobs_seen, job) != NULL;
	free(job);
	if (seen) {
		pr->found = TC_FOUND_RUNNING;
		return 0;
	}
	pr->found = TC_FOUND_LOST;
	snprintf(pr->why, sizeof(pr->why),
		 "its Job vanished while trainctl was down");
	return 0;
}

static int adopt(void *b, struct tc_trial_row *row, int state,
		 const struct tc_probe_result *pr)
{
	struct kube *r = b;
	struct ktrial *t = kt_new(r, row->id, row->attempt);
	int rc;

	if (!t)
		return tc_error_set(r->err, TC_ERR_NOMEM, "out of memory");
	t->params = row->params; /* taken */
	t->idx = row->idx;
	row->params = NULL;
	if (row->reason)
		snprintf(t->stored_reason, sizeof(t->stored_reason), "%s",
			 row->reason);
	t->jstate = state;
	if ((rc = kt_add(r, t))) {
		kt_free(t);
		return rc;
	}
	if (pr->found == TC_FOUND_STARTING)
		return create_objects(r, t);
	t->adopted = 1;
	t->phase = P_ACTIVE;
	return 0;
}

/* Until recovery is done, the informers' events are kept (name → object)
 * rather than acted on; recovery then replays them. */
struct first_list {
	json_t *jobs, *pods;
	int live;
	struct kube *r;
};

static void keep_first(json_t *into, enum tc_kube_event ev, json_t *obj)
{
	const char *name;

	if (ev == TC_KUBE_SYNCED || !obj)
		return;
	name = jstr(obj, "metadata.name");
	if (name && ev != TC_KUBE_DELETED)
		json_object_set(into, name, obj);
	else if (name)
		json_object_del(into, name);
}

static void on_job_first(void *ctx, enum tc_kube_event ev, json_t *obj)
{
	struct first_list *fl = ctx;

	if (fl->live)
		on_job(fl->r, ev, obj);
	else
		keep_first(fl->jobs, ev, obj);
}

static void on_pod_first(void *ctx, enum tc_kube_event ev, json_t *obj)
{
	struct first_list *fl = ctx;

	if (fl->live)
		on_pod(fl->r, ev, obj);
	else
		keep_first(fl->pods, ev, obj);
}

/* ---- the loop ---------------------------------------------------------- */

static int check_external(struct kube *r)
{
	for (size_t i = 0; i < r->nlive; i++) {
		struct ktrial *t = r->live[i];
		int state, req, base;

		if (t->phase != P_ACTIVE && t->phase != P_CREATING)
			continue;
		if (r->s.stopping == 1) {
			delete_job(r, t, 1);
			continue;
		}
		if (tc_trials_flags(r->s.tr, t->id, &state, &req, &base) &&
		    state == TC_ST_RUNNING && req != 0) {
			delete_job(r, t, req == 2 ? 2 : 1);
		} else {
			/* drain: a trial nobody cancelled runs on, for a
			 * later resume to adopt */
			if (r->o->drain && t->phase == P_ACTIVE)
				t->phase = P_DONE;
		}
	}
	return 0;
}

/* The early-stopping rule chose this trial (tc_sched_prune): its Job
 * deleted, as a cancelled one's is. */
static void prune_one(void *ctx, const char *id)
{
	struct kube *r = ctx;

	for (size_t i = 0; i < r->nlive; i++)
		if (!strcmp(r->live[i]->id, id) &&
		    (r->live[i]->phase == P_ACTIVE ||
		     r->live[i]->phase == P_CREATING))
			delete_job(r, r->live[i], 3);
}

/* ---- what the one loop (tc_sched_run) asks of the Kubernetes backend -- */

/* What the last drive of the client brought is taken in by its callbacks;
 * here what they left: a fatal refusal, recorded trials to free, creates
 * to retry. */
static int op_events(void *b)
{
	struct kube *r = b;
	double now = tc_mono();

	if (r->fatal)
		return r->err->code ? r->err->code : TC_ERR_BACKEND;
	reap(r);
	for (size_t i = 0; i < r->nlive; i++) {
		struct ktrial *t = r->live[i];

		if (t->phase == P_CREATING && t->pending == 0 &&
		    t->recreate_at > 0 && now >= t->recreate_at) {
			int rc;

			t->recreate_at = 0;
			if ((rc = create_objects(r, t)))
				return rc;
		}
	}
	return 0;
}

static int op_look(void *b)
{
	return check_external(b);
}

static int op_collect(void *b)
{
	read_live_logs(b); /* each trial at its own pace (log_every) */
	return 0;
}

static int op_fill(void *b)
{
	struct kube *r = b;

	while (active_count(r) < (size_t)r->s.parallel) {
		int rc = start_next(r);

		if (rc <= 0)
			return rc;
	}
	return 0;
}

static size_t op_held(void *b)
{
	struct kube *r = b;

	return r->nlive + (tc_kube_pending(r->k) > 0);
}

/* Interrupted: every Job deleted (there is nothing harder to do). */
static int op_stop_all(void *b, int hard)
{
	struct kube *r = b;

	(void)hard;
	for (size_t i = 0; i < r->nlive; i++)
		delete_job(r, r->live[i], 2);
	return 0;
}

/* Drive the client (its answers and watch events call back into this
 * file) until something arrives, a signal, or `seconds`.  A watch of the
 * Jobs refused for longer than a restarting API server refuses ends the
 * run. */
static int op_wait(void *b, double seconds)
{
	struct kube *r = b;
	const struct tc_error *ie = tc_kube_informer_error(r->inf_jobs);
	double now = tc_mono();

	if (ie && ie->code && (strstr(ie->msg, "forbidden") ||
			       strstr(ie->msg, "refused the credentials"))) {
		if (r->inf_err_since == 0)
			r->inf_err_since = now;
		if (now - r->inf_err_since > FORBID_GRACE) {
			*r->err = *ie;
			return TC_ERR_BACKEND;
		}
	} else {
		r->inf_err_since = 0;
	}
	if (tc_kube_drive(r->k, (int)(seconds * 1000) + 1, r->s.sigfd) < 0)
		return tc_error_set(r->err, TC_ERR_BACKEND,
				    "the connection to %s failed",
				    tc_kube_server(r->k));
	return 0;
}

static const struct tc_sched_ops kube_ops = {
	.look_every = 0.5,
	.collect_every = 0,
	.collect_prune = 0,
	.idle = 0.5,
	.kills = 0,
	.events = op_events,
	.look = op_look,
	.collect = op_collect,
	.fill = op_fill,
	.held = op_held,
	.stop = prune_one,
	.stop_all = op_stop_all,
	.wait = op_wait,
	.running = view_running,
	.probe = probe,
	.adopt = adopt,
};

/* ---- setup ------------------------------------------------------------- */

static int connect_cluster(const struct tc_spec *spec,
			   const struct tc_run_opts *o, struct tc_kube **k,
			   struct tc_error *err)
{
	struct tc_kcfg *cfg = NULL;
	struct tc_kube_opts ko;
	struct tc_kube_resp resp;
	char path[512];
	int rc;

	rc = tc_kcfg_load(o->kubeconfig,
			  o->context ? o->context : spec->k8s->context.text,
			  o->ns ? o->ns : spec->k8s->ns.text, &cfg,
			  err);
	if (rc)
		return rc;
	memset(&ko, 0, sizeof(ko));
	ko.qps = o->qps;
	ko.burst = o->burst;
	ko.retry_budget = 30;
	rc = tc_kube_new(cfg, &ko, k, err);
	tc_kcfg_free(cfg);
	if (rc)
		return rc;
	/* one cheap request: is the server there, and may we list Jobs? */
	snprintf(path, sizeof(path), "/apis/batch/v1/namespaces/%s/jobs?limit=1",
		 tc_kube_namespace(*k));
	memset(&resp, 0, sizeof(resp));
	rc = tc_kube_call(*k, "GET", path, NULL, &resp, err);
	if (rc == 0 && resp.status != 200)
		rc = tc_kube_error(err, &resp, "list Jobs");
	tc_kube_resp_free(&resp);
	if (rc) {
		tc_kube_free(*k);
		*k = NULL;
	}
	return rc;
}

int tc_kube_reach(const struct tc_spec *spec, const struct tc_run_opts *o,
		  struct tc_error *err)
{
	struct tc_kube *k = NULL;
	int rc = connect_cluster(spec, o, &k, err);

	if (k)
		tc_kube_free(k);
	return rc;
}

char *tc_kube_recorded_ns(struct tc_journal *j, const char *name)
{
	struct tc_error e;
	sqlite3_stmt *st = tc_journal_prepare(
		j, "SELECT note FROM experiments WHERE name = ?1", &e);
	char *ns = NULL;

	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		json_t *o = json_loads((const char *)sqlite3_column_text(st, 0), 0,
				       NULL);
		const char *v = json_string_value(json_object_get(
			json_object_get(o, "kubernetes"), "namespace"));

		if (v)
			ns = strdup(v);
		json_decref(o);
	}
	sqlite3_finalize(st);
	return ns;
}

/* Where the experiment's objects go, kept at its first run: a resume (or
 * cancel, gc, logs) under another kubeconfig context finds them there. */
static int record_where(struct tc_journal *j, const char *name,
			const struct tc_kube *k, struct tc_error *err)
{
	json_t *o = json_pack("{s:{s:s, s:s}}", "kubernetes", "namespace",
			      tc_kube_namespace(k), "server", tc_kube_server(k));
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	sqlite3_stmt *st;
	int rc = 0;

	json_decref(o);
	if (!text)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	st = tc_journal_prepare(j, "UPDATE experiments SET note = ?2 WHERE name "
				   "= ?1 AND note IS NULL",
				err);
	if (!st) {
		free(text);
		return TC_ERR_DB;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = tc_error_set(err, TC_ERR_DB, "journal %s: %s", j->path,
				  sqlite3_errmsg(j->db));
	sqlite3_finalize(st);
	free(text);
	return rc;
}

int tc_kube_run(struct tc_journal *j, const struct tc_exp_info *exp,
		const struct tc_spec *spec, const struct tc_run_opts *o,
		struct tc_run_summary *sum, struct tc_error *err)
{
	struct kube r;
	struct first_list fl;
	char sel[256], path[512];
	int rc;

	memset(&r, 0, sizeof(r));
	memset(sum, 0, sizeof(*sum));
	r.j = j;
	r.spec = spec;
	r.o = o;
	r.err = err;
	{
		/* how often running trials' logs are read for their metrics
		 * (TRAINCTL_K8S_LOG_EVERY seconds, default 15; 0: only at
		 * the end) */
		const char *ev = getenv("TRAINCTL_K8S_LOG_EVERY");
		char *end;

		r.log_every = 15;
		if (ev && *ev) {
			double v = strtod(ev, &end);

			if (*end == '\0' && v >= 0)
				r.log_every = v;
		}
		r.last_logs = tc_mono();
	}
	if ((rc = tc_k8s_check(spec, err)))
		return rc;
	if (spec->metric.regex) {
		r.re = tc_metric_regex_new(spec->metric.regex, err);
		if (!r.re)
			return TC_ERR_SPEC;
	}
	{
		/* the namespace of the first run, unless one is asked for */
		struct tc_run_opts oo = *o;
		char *rec = o->ns ? NULL : tc_kube_recorded_ns(j, spec->name);

		if (rec)
			oo.ns = rec;
		rc = connect_cluster(spec, &oo, &r.k, err);
		free(rec);
		if (rc)
			goto out;
	}
	r.ns = tc_kube_namespace(r.k);
	if ((rc = record_where(j, spec->name, r.k, err)))
		goto out;
	if ((rc = tc_sched_begin(&r.s, j, spec->name, spec, o, NULL,
				 &kube_ops, &r, err)))
		goto out;

	/* the informers; the Jobs' first list decides recovery */
	snprintf(sel, sizeof(sel), TC_K8S_LABEL_EXP "=%s", spec->name);
	fl.jobs = json_object();
	fl.pods = json_object();
	fl.live = 0;
	fl.r = &r;
	snprintf(path, sizeof(path), "/apis/batch/v1/namespaces/%s/jobs", r.ns);
	r.inf_jobs = tc_kube_informer_new(r.k, path, sel, on_job_first, &fl);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", r.ns);
	r.inf_pods = tc_kube_informer_new(r.k, path, sel, on_pod_first, &fl);
	if (!fl.jobs || !fl.pods || !r.inf_jobs || !r.inf_pods) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out_lists;
	}
	{
		double deadline = tc_mono() + 60;

		while (!tc_kube_informer_synced(r.inf_jobs) ||
		       !tc_kube_informer_synced(r.inf_pods)) {
			const struct tc_error *ie =
				tc_kube_informer_error(r.inf_jobs);

			if (ie && ie->code && tc_mono() > deadline) {
				*err = *ie;
				rc = TC_ERR_BACKEND;
				break;
			}
			if (tc_kube_drive(r.k, 200, -1) < 0) {
				rc = tc_error_set(err, TC_ERR_BACKEND,
						  "cannot reach %s",
						  tc_kube_server(r.k));
				break;
			}
		}
	}
	if (rc)
		goto out_lists;
	r.jobs_seen = fl.jobs;
	rc = tc_sched_recover(&r.s);
	r.jobs_seen = NULL;
	fl.live = 1; /* from now on events are acted on */
	if (rc == 0) {
		const char *name;
		json_t *obj;

		/* what the lists said, for the adopted trials: pods first
		 * (the rank-0 pod, how it ended), then the Jobs */
		json_object_foreach(fl.pods, name, obj)
			on_pod(&r, TC_KUBE_ADDED, obj);
		json_object_foreach(fl.jobs, name, obj)
			on_job(&r, TC_KUBE_ADDED, obj);
	}
out_lists:
	json_decref(fl.jobs);
	json_decref(fl.pods);
	fl.jobs = fl.pods = NULL;
	if (rc)
		goto out;
	rc = tc_sched_run(&r.s);
	tc_sched_end(&r.s, rc);
out:
	tc_sched_close(&r.s, rc, sum);
	tc_kube_informer_free(r.inf_jobs);
	tc_kube_informer_free(r.inf_pods);
	tc_kube_free(r.k);
	while (r.nlive > 0)
		kt_free(r.live[--r.nlive]);
	free(r.live);
	tc_metric_regex_free(r.re);
	return rc;
}

/* ---- gc ---------------------------------------------------------------- */

/* Connect for a verb on an experiment (gc, logs): with its recorded spec,
 * to the namespace of its first run unless o names one.  *spec to free. */
static int connect_exp(struct tc_journal *j, const struct tc_exp_info *exp,
		       const struct tc_run_opts *o, struct tc_spec **spec,
		       struct tc_kube **k, struct tc_error *err)
{
	struct tc_run_opts oo = *o;
	char *rec = NULL;
	int rc;

	if ((rc = tc_spec_parse_recorded(exp->spec_path, exp->spec_text,
					 strlen(exp->spec_text), spec, err)))
		return rc;
	if (!o->ns && (rec = tc_kube_recorded_ns(j, exp->name)))
		oo.ns = rec;
	rc = connect_cluster(*spec, &oo, k, err);
	free(rec);
	return rc;
}

int tc_kube_gc(struct tc_journal *j, const struct tc_exp_info *exp,
	       const struct tc_run_opts *o, long *deleted,
	       struct tc_error *err)
{
	static const struct {
		const char *group, *kind;
	} kinds[] = {
		{"/apis/batch/v1", "jobs"},
		{"/api/v1", "services"},
		{"/api/v1", "configmaps"},
		{"/api/v1", "pods"},
	};
	struct tc_spec *spec = NULL;
	struct tc_kube *k = NULL;
	int rc;

	*deleted = 0;
	if ((rc = connect_exp(j, exp, o, &spec, &k, err)))
		goto out;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !rc; i++) {
		char path[768], *sel, *esc;
		struct tc_kube_resp resp;
		json_t *items, *it;
		size_t n;

		if (asprintf(&sel, TC_K8S_LABEL_EXP "=%s", exp->name) < 0) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			break;
		}
		esc = tc_kube_escape(sel);
		free(sel);
		snprintf(path, sizeof(path), "%s/namespaces/%s/%s?labelSelector=%s",
			 kinds[i].group, tc_kube_namespace(k), kinds[i].kind,
			 esc ? esc : "");
		free(esc);
		memset(&resp, 0, sizeof(resp));
		if ((rc = tc_kube_call(k, "GET", path, NULL, &resp, err)))
			break;
		if (resp.status != 200) {
			char what[64];

			snprintf(what, sizeof(what), "list %s", kinds[i].kind);
			rc = tc_kube_error(err, &resp, what);
			tc_kube_resp_free(&resp);
			break;
		}
		items = json_object_get(resp.body, "items");
		json_array_foreach(items, n, it)
		{
			const char *oname = jstr(it, "metadata.name");
			json_t *body = json_pack("{s:s, s:s, s:s}", "kind",
						 "DeleteOptions", "apiVersion", "v1",
						 "propagationPolicy", "Background");

			if (!oname) {
				json_decref(body);
				continue;
			}
			snprintf(path, sizeof(path), "%s/namespaces/%s/%s/%s",
				 kinds[i].group, tc_kube_namespace(k),
				 kinds[i].kind, oname);
			if (tc_kube_submit(k, "DELETE", path, body, NULL, NULL,
					   NULL) == 0)
				(*deleted)++;
			json_decref(body);
		}
		tc_kube_resp_free(&resp);
		while (tc_kube_pending(k) > 0)
			if (tc_kube_drive(k, 200, -1) < 0)
				break;
	}
out:
	tc_kube_free(k);
	tc_spec_free(spec);
	return rc;
}

/* ---- logs of a running trial ------------------------------------------- */

struct follow {
	FILE *out;
	int done;
	int failed;
	struct tc_error err;
};

static void on_log_data(void *ctx, const char *buf, size_t len)
{
	struct follow *f = ctx;

	if (fwrite(buf, 1, len, f->out) != len)
		f->failed = 1;
	fflush(f->out);
}

static void on_log_end(void *ctx, const struct tc_kube_resp *resp,
		       const struct tc_error *e)
{
	struct follow *f = ctx;

	f->done = 1;
	if (e->code)
		f->err = *e;
	else if (resp->status >= 300)
		tc_kube_error(&f->err, resp, "follow the pod's log");
}

int tc_kube_logs(struct tc_journal *j, const struct tc_exp_info *exp,
		 const char *id, int attempt, int follow,
		 const struct tc_run_opts *o, FILE *out, struct tc_error *err)
{
	const char *name = exp->name;
	struct tc_spec *spec = NULL;
	struct tc_kube *k = NULL;
	struct tc_kube_resp resp;
	char sel[256], path[1024], pod[256] = "", *esc;
	json_t *items, *it;
	size_t i;
	int rc;

	if ((rc = connect_exp(j, exp, o, &spec, &k, err)))
		goto out;
	snprintf(sel, sizeof(sel),
		 TC_K8S_LABEL_EXP "=%s," TC_K8S_LABEL_TRIAL "=%s," TC_K8S_LABEL_ATTEMPT
				  "=%d",
		 name, id, attempt);
	esc = tc_kube_escape(sel);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods?labelSelector=%s",
		 tc_kube_namespace(k), esc ? esc : "");
	free(esc);
	memset(&resp, 0, sizeof(resp));
	if ((rc = tc_kube_call(k, "GET", path, NULL, &resp, err)))
		goto out;
	if (resp.status != 200) {
		rc = tc_kube_error(err, &resp, "list the trial's pods");
		tc_kube_resp_free(&resp);
		goto out;
	}
	items = json_object_get(resp.body, "items");
	json_array_foreach(items, i, it)
	{
		const char *idx = label(it, "batch.kubernetes.io/job-completion-index");
		const char *pn = jstr(it, "metadata.name");

		if (pn && (!idx || !strcmp(idx, "0")))
			snprintf(pod, sizeof(pod), "%s", pn);
	}
	tc_kube_resp_free(&resp);
	if (!pod[0]) {
		rc = tc_error_set(err, TC_ERR_STATE,
				  "trial %s has no pod yet (see `trainctl status "
				  "%s` for why)",
				  id, name);
		goto out;
	}
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/%s/pods/%s/log?container=trial%s",
		 tc_kube_namespace(k), pod, follow ? "&follow=true" : "");
	if (follow) {
		struct follow f;
		struct tc_kube_stream *s;

		memset(&f, 0, sizeof(f));
		f.out = out;
		s = tc_kube_stream_new(k, path, on_log_data, on_log_end, &f);
		if (!s) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			goto out;
		}
		while (!f.done && !f.failed)
			if (tc_kube_drive(k, 1000, -1) < 0)
				break;
		tc_kube_stream_free(s);
		if (f.err.code) {
			*err = f.err;
			rc = f.err.code;
		}
		goto out;
	}
	memset(&resp, 0, sizeof(resp));
	if ((rc = tc_kube_call(k, "GET", path, NULL, &resp, err)))
		goto out;
	if (resp.status != 200)
		rc = tc_kube_error(err, &resp, "read the pod's log");
	else if (resp.raw_len &&
		 fwrite(resp.raw, 1, resp.raw_len, out) != resp.raw_len)
		rc = tc_error_set(err, TC_ERR_IO, "cannot write the log");
	tc_kube_resp_free(&resp);
out:
	tc_kube_free(k);
	tc_spec_free(spec);
	return rc;
}
