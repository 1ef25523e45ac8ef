/*
 * trials.c — the trial state machine in the journal (see trials.h): each
 * transition one statement or two, prepared on first use and kept by the
 * handle, run inside the caller's transaction.
 */
#include "store/trials.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/clock.h"

/* The trials a run or a verb may act on (tc_trials_pick): none picked
 * means every trial. */
#define PICKED                                         \
	" AND (NOT EXISTS (SELECT 1 FROM temp.tc_picked) " \
	"OR id IN (SELECT id FROM temp.tc_picked))"

/* A pipeline's job is ready when every job it needs has succeeded. */
#define READY                                                            \
	" AND NOT EXISTS (SELECT 1 FROM needs n JOIN trials u ON u.exp = "  \
	"n.exp AND u.id = n.needed WHERE n.exp = ?1 AND n.trial = "        \
	"trials.id AND u.state <> 'succeeded')"

/* A pipeline's stage with a run.parallel of its own starts no more jobs
 * than that at a time (temp.tc_stage_cap, tc_trials_stage_caps). */
#define CAPPED                                                               \
	" AND (stage IS NULL OR NOT EXISTS (SELECT 1 FROM temp.tc_stage_cap c " \
	"WHERE c.stage = trials.stage AND c.cap <= (SELECT count(*) FROM "    \
	"trials l WHERE l.exp = ?1 AND l.stage = trials.stage AND l.state IN " \
	"('starting', 'running'))))"

/* The columns of a trial's row, as fill_row reads them. */
#define ROW                                                                 \
	"SELECT id, attempt, command, env, params, idx, state, reason, gpus, " \
	"exit_code, started_at, ended_at, wall, utime, stime, total_wall, "    \
	"total_cpu, maxrss_kb, seed, sup_pid, sup_start, pgid, stage, item "    \
	"FROM trials "

/* Every statement on the trial tables.  Parameters ?1 the experiment, ?2
 * the trial, then as numbered. */
enum stmt {
	S_NEXT, S_NEXT_AT, S_GET, S_LIVE, S_LIVE_CANCEL, S_STARTING, S_CLEAR_M,
	S_CLEAR_F, S_RUNNING, S_FINISH, S_UNSTART, S_RERUN, S_FLAGS, S_REASON,
	S_WAIT_ON, S_WAIT_OFF, S_PICK_LIMIT, S_PICK_ID, S_CANCEL_QUEUED,
	S_CANCEL_REQ, S_INTERRUPT, S_RETRY_PICKED, S_RETRY_FAILED,
	S_REQUEUE_INT, S_COUNTS, S_EXPSTATE, S_BEST, S_EVENT, S_NOTE,
	S_EV_MARK, S_EV_SINCE, S_METRIC, S_FINAL, S_PICKED_LIVE, S_SCAN,
	S_FIND_IDX, S_FIND_PREFIX, S_FINALS, S_FINAL_GET, S_EVENTS, S_NEXT_IDX,
	S_INSERT,
	S_SET_COMMAND, S_PLANNED_ADD, S_UNPLANNED, S_PRUNE_REQ, S_SET_STAGE,
	S_NEED, S_SKIP_DEPS, S_STAGE_OF, S_STAGE_SUM, S_SET_INPUTS,
	S_JOB, S_SET_KEY, S_FIND_KEY, S_CACHED, S_CACHED_FINAL, S_NEEDED_KEYS,
	S_JOBS, S_EDGES, S_REQUEUE_JOB, S_REQUEUE_DEPS, S_STAGE_JOBS, S_COUNT
};

static const char *const sql[S_COUNT] = {
	[S_NEXT] = ROW "WHERE exp = ?1 AND state = 'queued' AND next_at <= ?2"
		   PICKED READY CAPPED " ORDER BY idx LIMIT 1",
	[S_NEXT_AT] = "SELECT min(next_at) FROM trials WHERE exp = ?1 AND "
		      "state = 'queued'" PICKED READY,
	[S_GET] = ROW "WHERE exp = ?1 AND id = ?2",
	[S_LIVE] = ROW "WHERE exp = ?1 AND state IN ('starting', 'running') "
		   "ORDER BY idx",
	[S_LIVE_CANCEL] = ROW "WHERE exp = ?1 AND state IN ('starting', "
			  "'running') AND cancel_req = 1" PICKED " ORDER BY idx",
	[S_STARTING] = "UPDATE trials SET state = 'starting', attempt = ?3, "
		       "started_at = ?4, gpus = ?5, sup_pid = NULL, sup_start = "
		       "NULL, pgid = NULL, exit_code = NULL, term_signal = NULL, "
		       "reason = NULL, ended_at = NULL, cancel_req = 0 WHERE "
		       "exp = ?1 AND id = ?2 AND state = 'queued'",
	[S_CLEAR_M] = "DELETE FROM metrics WHERE exp = ?1 AND trial = ?2 AND "
		      "attempt >= ?3",
	[S_CLEAR_F] = "DELETE FROM final WHERE exp = ?1 AND trial = ?2",
	[S_RUNNING] = "UPDATE trials SET state = 'running', sup_pid = ?3, "
		      "sup_start = ?4, pgid = ?5, started_at = coalesce(?6, "
		      "started_at) WHERE exp = ?1 AND id = ?2 AND state IN "
		      "('starting', 'running')",
	[S_FINISH] = "UPDATE trials SET state = ?3, exit_code = ?4, term_signal "
		     "= ?5, reason = ?6, ended_at = ?7, wall = ?8, utime = ?9, "
		     "stime = ?10, maxrss_kb = ?11, total_wall = total_wall + ?8,"
		     " total_cpu = total_cpu + coalesce(?9, 0) + coalesce(?10, 0),"
		     " next_at = ?12, sup_pid = NULL, started_at = coalesce(?13, "
		     "started_at) WHERE exp = ?1 AND id = ?2",
	[S_UNSTART] = "UPDATE trials SET state = ?3, attempt = attempt - 1, "
		      "reason = CASE ?3 WHEN 'cancelled' THEN 'cancelled' END, "
		      "started_at = NULL, gpus = NULL, sup_pid = NULL, pgid = "
		      "NULL, cancel_req = 0, next_at = 0 WHERE exp = ?1 AND id = ?2",
	[S_RERUN] = "UPDATE trials SET state = ?3, reason = ?4, retry_base = "
		    "attempt, next_at = 0, gpus = NULL, sup_pid = NULL, pgid = "
		    "NULL, cancel_req = 0 WHERE exp = ?1 AND id = ?2",
	[S_FLAGS] = "SELECT state, cancel_req, retry_base FROM trials WHERE "
		    "exp = ?1 AND id = ?2",
	[S_REASON] = "UPDATE trials SET reason = ?3 WHERE exp = ?1 AND id = ?2",
	[S_WAIT_ON] = "UPDATE trials SET reason = CASE WHEN id IN (SELECT id "
		      "FROM trials WHERE exp = ?1 AND state = 'queued' AND "
		      "next_at <= ?2 AND (reason IS NULL OR reason = ?4) ORDER "
		      "BY idx LIMIT ?3) THEN ?4 END WHERE exp = ?1 AND state = "
		      "'queued' AND (reason IS NULL OR reason = ?4)",
	[S_WAIT_OFF] = "UPDATE trials SET reason = NULL WHERE exp = ?1 AND "
		       "state = 'queued' AND reason = ?4",
	[S_PICK_LIMIT] = "INSERT INTO temp.tc_picked SELECT id FROM trials "
			 "WHERE exp = ?1 AND idx < ?3",
	[S_PICK_ID] = "INSERT OR IGNORE INTO temp.tc_picked VALUES(?2)",
	[S_CANCEL_QUEUED] = "UPDATE trials SET state = 'cancelled', reason = "
			    "'cancelled' WHERE exp = ?1 AND state = 'queued'"
			    PICKED,
	[S_CANCEL_REQ] = "UPDATE trials SET cancel_req = 1 WHERE exp = ?1 AND "
			 "state IN ('starting', 'running')" PICKED,
	[S_INTERRUPT] = "UPDATE trials SET cancel_req = 2 WHERE exp = ?1 AND "
			"state IN ('starting', 'running') AND cancel_req = 0",
	[S_RETRY_PICKED] = "UPDATE trials SET state = 'queued', next_at = 0, "
			   "cancel_req = 0, retry_base = attempt WHERE exp = ?1 "
			   "AND state IN ('failed', 'timed_out', 'cancelled', "
			   "'pruned') AND id IN (SELECT id FROM temp.tc_picked)",
	[S_RETRY_FAILED] = "UPDATE trials SET state = 'queued', next_at = 0, "
			   "cancel_req = 0, retry_base = attempt, reason = CASE "
			   "WHEN state = 'cancelled' THEN NULL ELSE reason END "
			   "WHERE exp = ?1 AND (state IN ('failed', 'timed_out') "
			   "OR (state = 'cancelled' AND reason LIKE '" TC_TRIALS_NOT_RUN
			   "%'))",
	[S_REQUEUE_INT] = "UPDATE trials SET state = 'queued', next_at = 0, "
			  "cancel_req = 0, retry_base = attempt WHERE exp = ?1 "
			  "AND state = 'cancelled' AND reason = 'interrupted'",
	[S_COUNTS] = "SELECT state, count(*) FROM trials WHERE exp = ?1 GROUP "
		     "BY state",
	[S_EXPSTATE] = "SELECT state FROM experiments WHERE name = ?1",
	[S_BEST] = "SELECT f.trial, f.value FROM final f JOIN trials t ON "
		   "t.exp = f.exp AND t.id = f.trial WHERE f.exp = ?1 AND f.name "
		   "= ?3 AND f.value IS NOT NULL AND t.state = 'succeeded' ORDER "
		   "BY t.idx",
	[S_EVENT] = "INSERT INTO events(exp, trial, at, state, detail) "
		    "VALUES(?1, ?2, ?3, ?4, ?5)",
	[S_NOTE] = "INSERT INTO events(exp, trial, at, state, detail) SELECT "
		   "?1, ?2, ?3, '" TC_TRIALS_NOTE "', ?4 WHERE NOT EXISTS "
		   "(SELECT 1 FROM events WHERE exp = ?1 AND trial = ?2 AND "
		   "state = '" TC_TRIALS_NOTE "' AND detail = ?4)",
	[S_EV_MARK] = "SELECT (SELECT coalesce(max(seq), 0) FROM events), "
		      "EXISTS (SELECT 1 FROM events WHERE exp = ?1 AND state = "
		      "'succeeded')",
	/* only this run's events: a range of the primary key */
	[S_EV_SINCE] = "SELECT coalesce(sum(state IN ('failed', 'timed_out')),"
		       " 0), coalesce(sum(state = 'succeeded'), 0), (SELECT "
		       "trial FROM events WHERE seq > ?3 AND exp = ?1 AND state "
		       "IN ('failed', 'timed_out') ORDER BY seq DESC LIMIT 1) "
		       "FROM events WHERE seq > ?3 AND exp = ?1",
	[S_METRIC] = "INSERT INTO metrics(exp, trial, attempt, name, step, "
		     "value, special, at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_FINAL] = "INSERT OR REPLACE INTO final(exp, trial, name, attempt, "
		    "step, value, special) VALUES(?1, ?2, ?4, ?3, ?5, ?6, ?7)",
	[S_PICKED_LIVE] = ROW "WHERE exp = ?1 AND id IN (SELECT id FROM "
			  "temp.tc_picked) AND state IN ('queued', 'starting', "
			  "'running') ORDER BY idx LIMIT 1",
	[S_SCAN] = ROW "WHERE exp = ?1 ORDER BY idx",
	[S_FIND_IDX] = "SELECT id FROM trials WHERE exp = ?1 AND idx = ?3",
	[S_FIND_PREFIX] = "SELECT id FROM trials WHERE exp = ?1 AND substr(id, "
			  "1, ?3) = ?4 LIMIT 2",
	[S_FINALS] = "SELECT f.trial, f.name, f.value, f.special FROM final f "
		     "JOIN trials t ON t.exp = f.exp AND t.id = f.trial WHERE "
		     "f.exp = ?1 ORDER BY t.idx",
	[S_FINAL_GET] = "SELECT value FROM final WHERE exp = ?1 AND trial = ?2 "
			"AND name = ?3",
	[S_EVENTS] = "SELECT trial, detail FROM events WHERE exp = ?1 AND "
		     "trial IS NOT NULL AND state = ?3 ORDER BY seq",
	[S_NEXT_IDX] = "SELECT coalesce(max(idx) + 1, 0) FROM trials WHERE exp = ?1",
	[S_INSERT] = "INSERT OR IGNORE INTO trials(exp, id, idx, params, "
		     "command, seed, state, env) VALUES(?1, ?2, ?3, ?4, ?5, ?6, "
		     "'queued', ?7)",
	[S_SET_COMMAND] = "UPDATE trials SET command = ?3, env = ?4 WHERE exp = "
			  "?1 AND id = ?2",
	[S_SET_STAGE] = "UPDATE trials SET stage = ?3, item = ?4 WHERE exp = ?1 "
			"AND id = ?2",
	[S_NEED] = "INSERT OR IGNORE INTO needs VALUES(?1, ?2, ?3)",
	/* every queued job that needs this one, directly or through
	 * others, will not run */
	[S_SKIP_DEPS] = "WITH RECURSIVE dep(id) AS (SELECT trial FROM needs "
			"WHERE exp = ?1 AND needed = ?2 UNION SELECT n.trial "
			"FROM needs n JOIN dep ON n.needed = dep.id WHERE "
			"n.exp = ?1) UPDATE trials SET state = 'cancelled', "
			"reason = ?3 WHERE exp = ?1 AND state = 'queued' AND "
			"id IN (SELECT id FROM dep)",
	[S_STAGE_OF] = "SELECT stage, item FROM trials WHERE exp = ?1 AND id = ?2",
	[S_SET_INPUTS] = "UPDATE trials SET inputs = ?3 WHERE exp = ?1 AND id = ?2",
	[S_JOB] = "SELECT stage, item, inputs, cache_key, command, env FROM "
		  "trials WHERE exp = ?1 AND id = ?2",
	[S_SET_KEY] = "UPDATE trials SET cache_key = ?3 WHERE exp = ?1 AND id = ?2",
	[S_FIND_KEY] = "SELECT exp, id FROM trials WHERE cache_key = ?3 AND state "
		       "= 'succeeded' AND NOT (exp = ?1 AND id = ?2) LIMIT 1",
	[S_CACHED] = "UPDATE trials SET state = 'succeeded', cache_key = ?3, "
		     "reason = ?4, ended_at = ?5, started_at = ?5, wall = 0, "
		     "exit_code = 0, next_at = 0 WHERE exp = ?1 AND id = ?2",
	[S_CACHED_FINAL] = "INSERT OR REPLACE INTO final SELECT ?1, ?2, name, "
			   "attempt, step, value, special FROM final WHERE exp = "
			   "?3 AND trial = ?4",
	[S_NEEDED_KEYS] = "SELECT u.id, coalesce(u.cache_key, '') FROM needs n JOIN "
			  "trials u ON u.exp = n.exp AND u.id = n.needed WHERE "
			  "n.exp = ?1 AND n.trial = ?2 ORDER BY u.id",
	[S_JOBS] = "SELECT id, state, stage, inputs, cache_key, command, env, item "
		   "FROM trials WHERE exp = ?1 AND stage IS NOT NULL ORDER BY idx",
	[S_EDGES] = "SELECT trial, needed FROM needs WHERE exp = ?1",
	/* a job that must run again, and every job that needs it (directly
	 * or through others) and is not running */
	[S_REQUEUE_JOB] = "UPDATE trials SET state = 'queued', next_at = 0, "
			  "cancel_req = 0, retry_base = attempt, cache_key = "
			  "NULL, reason = ?3 WHERE exp = ?1 AND id = ?2 AND state "
			  "NOT IN ('starting', 'running')",
	[S_REQUEUE_DEPS] = "WITH RECURSIVE dep(id) AS (SELECT trial FROM needs "
			   "WHERE exp = ?1 AND needed = ?2 UNION SELECT n.trial "
			   "FROM needs n JOIN dep ON n.needed = dep.id WHERE "
			   "n.exp = ?1) UPDATE trials SET state = 'queued', "
			   "next_at = 0, cancel_req = 0, retry_base = attempt, "
			   "cache_key = NULL, reason = ?3 WHERE exp = ?1 AND "
			   "state NOT IN ('starting', 'running', 'queued') AND "
			   "id IN (SELECT id FROM dep)",
	[S_STAGE_JOBS] = "SELECT id FROM trials WHERE exp = ?1 AND stage = ?3",
	[S_STAGE_SUM] = "SELECT stage, state, count(*), sum(total_wall), "
			"sum(total_cpu), min(idx) AS first FROM trials WHERE exp = ?1 "
			"AND stage IS NOT NULL GROUP BY stage, state ORDER BY "
			"(SELECT min(idx) FROM trials u WHERE u.exp = ?1 AND "
			"u.stage = trials.stage), state",
	[S_PLANNED_ADD] = "INSERT OR IGNORE INTO temp.tc_planned VALUES(?2)",
	[S_UNPLANNED] = "UPDATE trials SET state = 'cancelled', reason = 'no "
			"longer in the spec' WHERE exp = ?1 AND state = 'queued' "
			"AND id NOT IN (SELECT id FROM temp.tc_planned)",
	[S_PRUNE_REQ] = "UPDATE trials SET cancel_req = 3, reason = ?3 WHERE "
			"exp = ?1 AND id = ?2 AND state IN ('starting', "
			"'running') AND cancel_req = 0",
};

struct tc_trials {
	struct tc_journal *j;
	char *exp;
	int picked_ready; /* temp.tc_picked exists on the connection */
	sqlite3_stmt *st[S_COUNT];
};

static int dbfail(struct tc_trials *t, struct tc_error *err)
{
	return tc_error_set(err, TC_ERR_DB, "journal %s: %s", t->j->path,
			    sqlite3_errmsg(t->j->db));
}

static int ensure_picked(struct tc_trials *t, struct tc_error *err)
{
	if (t->picked_ready)
		return 0;
	if (tc_journal_exec(t->j,
			    "CREATE TEMP TABLE IF NOT EXISTS tc_picked(id TEXT "
			    "PRIMARY KEY); CREATE TEMP TABLE IF NOT EXISTS "
			    "tc_planned(id TEXT PRIMARY KEY); CREATE TEMP "
			    "TABLE IF NOT EXISTS tc_stage_cap(stage TEXT "
			    "PRIMARY KEY, cap INTEGER)",
			    err))
		return TC_ERR_DB;
	t->picked_ready = 1;
	return 0;
}

/* The statement k, reset, with the experiment (and trial) bound; NULL on
 * error (err says why). */
static sqlite3_stmt *stmt(struct tc_trials *t, enum stmt k, const char *id,
			  struct tc_error *err)
{
	sqlite3_stmt *st = t->st[k];

	if (!st) {
		if (strstr(sql[k], "temp.") && ensure_picked(t, err))
			return NULL;
		if (!(st = tc_journal_prepare(t->j, sql[k], err)))
			return NULL;
		t->st[k] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_text(st, 1, t->exp, -1, SQLITE_STATIC);
	if (id)
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	return st;
}

/* Step a statement that returns no rows.  0 or TC_ERR_DB. */
static int run(struct tc_trials *t, sqlite3_stmt *st, struct tc_error *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : dbfail(t, err);
}

/* ?i as text, NULL for NULL or "". */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* A metric value at col, its text ("nan", "inf", "-inf") at scol when it
 * is not finite. */
static void bind_value(sqlite3_stmt *st, int col, int scol, double v)
{
	if (isfinite(v)) {
		sqlite3_bind_double(st, col, v);
	} else {
		sqlite3_bind_null(st, col);
		sqlite3_bind_text(st, scol, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf",
				  -1, SQLITE_STATIC);
	}
}

struct tc_trials *tc_trials_open(struct tc_journal *j, const char *exp,
				 struct tc_error *err)
{
	struct tc_trials *t = calloc(1, sizeof(*t));

	if (!t || !(t->exp = strdup(exp))) {
		free(t);
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	t->j = j;
	return t;
}

struct tc_journal *tc_trials_journal(const struct tc_trials *t)
{
	return t->j;
}

void tc_trials_close(struct tc_trials *t)
{
	if (!t)
		return;
	for (int k = 0; k < S_COUNT; k++)
		sqlite3_finalize(t->st[k]);
	free(t->exp);
	free(t);
}

void tc_trial_row_free(struct tc_trial_row *r)
{
	if (!r)
		return;
	free(r->command);
	free(r->env);
	free(r->params);
	free(r->reason);
	free(r->gpus);
	free(r->stage);
	free(r->item);
	memset(r, 0, sizeof(*r));
}

/* A row of ROW's columns, its text pointing into the statement (valid
 * until the next step). */
static void fill_row(sqlite3_stmt *st, struct tc_trial_row *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", (const char *)sqlite3_column_text(st, 0));
	r->attempt = sqlite3_column_int(st, 1);
	r->command = (char *)sqlite3_column_text(st, 2);
	r->env = (char *)sqlite3_column_text(st, 3);
	r->params = (char *)sqlite3_column_text(st, 4);
	r->idx = sqlite3_column_int64(st, 5);
	r->state = tc_state_parse((const char *)sqlite3_column_text(st, 6));
	r->reason = (char *)sqlite3_column_text(st, 7);
	r->gpus = (char *)sqlite3_column_text(st, 8);
	r->has_exit = sqlite3_column_type(st, 9) != SQLITE_NULL;
	r->exit_code = sqlite3_column_int(st, 9);
	r->started_at = sqlite3_column_double(st, 10);
	r->ended_at = sqlite3_column_double(st, 11);
	r->wall = sqlite3_column_double(st, 12);
	r->utime = sqlite3_column_double(st, 13);
	r->stime = sqlite3_column_double(st, 14);
	r->total_wall = sqlite3_column_double(st, 15);
	r->total_cpu = sqlite3_column_double(st, 16);
	r->maxrss_kb = sqlite3_column_int64(st, 17);
	r->seed = (unsigned)sqlite3_column_int64(st, 18);
	r->sup_pid = (pid_t)sqlite3_column_int(st, 19);
	r->sup_start = sqlite3_column_int64(st, 20);
	r->pgid = (pid_t)sqlite3_column_int(st, 21);
	r->stage = (char *)sqlite3_column_text(st, 22);
	r->item = (char *)sqlite3_column_text(st, 23);
}

/* *out = *in with its own copies of the text (env "{}" when none). */
static int row_dup(const struct tc_trial_row *in, struct tc_trial_row *out)
{
	char **f[] = {&out->command, &out->env, &out->params, &out->reason,
		      &out->gpus, &out->stage, &out->item};

	*out = *in;
	if (!out->env)
		out->env = "{}";
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i] && !(*f[i] = strdup(*f[i]))) {
			while (++i < sizeof(f) / sizeof(f[0]))
				*f[i] = NULL;
			tc_trial_row_free(out);
			return TC_ERR_NOMEM;
		}
	return 0;
}

/* Step statement k (bound) over its rows, each to fn.  0, what fn
 * returned to stop, or TC_ERR_DB. */
static int each_row(struct tc_trials *t, sqlite3_stmt *st, tc_trials_row_fn fn,
		    void *ctx, struct tc_error *err)
{
	int rc, stop = 0;

	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tc_trial_row r;

		fill_row(st, &r);
		stop = fn(ctx, &r);
	}
	sqlite3_reset(st);
	if (stop == TC_ERR_NOMEM)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : dbfail(t, err);
}

/* The first row of k into *out (copied): 1, 0 when none, or an error. */
static int first_row(struct tc_trials *t, sqlite3_stmt *st,
		     struct tc_trial_row *out, struct tc_error *err)
{
	int rc;

	if (!st)
		return TC_ERR_DB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct tc_trial_row r;

		fill_row(st, &r);
		rc = row_dup(&r, out) ? tc_error_set(err, TC_ERR_NOMEM,
						     "out of memory")
				      : 1;
		sqlite3_reset(st);
		return rc;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : dbfail(t, err);
}

int tc_trials_next_queued(struct tc_trials *t, double now,
			  struct tc_trial_row *out, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_NEXT, NULL, err);

	if (st)
		sqlite3_bind_double(st, 2, now);
	return first_row(t, st, out, err);
}

int tc_trials_get(struct tc_trials *t, const char *id, struct tc_trial_row *out,
		  struct tc_error *err)
{
	return first_row(t, stmt(t, S_GET, id, err), out, err);
}

int tc_trials_picked_unended(struct tc_trials *t, struct tc_trial_row *out,
			     struct tc_error *err)
{
	return first_row(t, stmt(t, S_PICKED_LIVE, NULL, err), out, err);
}

int tc_trials_next_at(struct tc_trials *t, double *at)
{
	struct tc_error e;
	sqlite3_stmt *st = stmt(t, S_NEXT_AT, NULL, &e);
	int found = 0;

	if (!st)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*at = sqlite3_column_double(st, 0);
		found = 1;
	}
	sqlite3_reset(st);
	return found;
}

struct rows {
	struct tc_trial_row *a;
	size_t n, cap;
};

static int add_row(void *ctx, const struct tc_trial_row *r)
{
	struct rows *v = ctx;

	if (v->n == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 16;
		struct tc_trial_row *na = realloc(v->a, ncap * sizeof(*na));

		if (!na)
			return TC_ERR_NOMEM;
		v->a = na;
		v->cap = ncap;
	}
	if (row_dup(r, &v->a[v->n]))
		return TC_ERR_NOMEM;
	v->n++;
	return 0;
}

static int live_rows(struct tc_trials *t, enum stmt k, struct tc_trial_row **out,
		     size_t *n, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, k, NULL, err);
	struct rows v = {NULL, 0, 0};
	int rc = st ? each_row(t, st, add_row, &v, err) : TC_ERR_DB;

	if (rc) {
		for (size_t i = 0; i < v.n; i++)
			tc_trial_row_free(&v.a[i]);
		free(v.a);
		v.a = NULL;
		v.n = 0;
	}
	*out = v.a;
	*n = v.n;
	return rc;
}

int tc_trials_live(struct tc_trials *t, struct tc_trial_row **out, size_t *n,
		   struct tc_error *err)
{
	return live_rows(t, S_LIVE, out, n, err);
}

int tc_trials_cancelling(struct tc_trials *t, struct tc_trial_row **out,
			 size_t *n, struct tc_error *err)
{
	return live_rows(t, S_LIVE_CANCEL, out, n, err);
}

int tc_trials_scan(struct tc_trials *t, tc_trials_row_fn fn, void *ctx,
		   struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_SCAN, NULL, err);

	return st ? each_row(t, st, fn, ctx, err) : TC_ERR_DB;
}

int tc_trials_event(struct tc_trials *t, const char *trial, const char *state,
		    const char *detail, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_EVENT, trial, err);

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_double(st, 3, tc_now());
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	if (detail)
		sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
	return run(t, st, err);
}

int tc_trials_metrics_clear(struct tc_trials *t, const char *trial,
			    int attempt, struct tc_error *err)
{
	sqlite3_stmt *m = stmt(t, S_CLEAR_M, trial, err), *f;

	if (!m)
		return TC_ERR_DB;
	sqlite3_bind_int(m, 3, attempt);
	if (run(t, m, err))
		return TC_ERR_DB;
	if (!(f = stmt(t, S_CLEAR_F, trial, err)))
		return TC_ERR_DB;
	return run(t, f, err);
}

int tc_trials_mark_starting(struct tc_trials *t, const char *id, int attempt,
			    const char *gpus, const char *detail,
			    struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_STARTING, id, err);
	int rc;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_int(st, 3, attempt);
	sqlite3_bind_double(st, 4, tc_now());
	if (gpus)
		sqlite3_bind_text(st, 5, gpus, -1, SQLITE_STATIC);
	if ((rc = run(t, st, err)) ||
	    (rc = tc_trials_metrics_clear(t, id, attempt, err)))
		return rc;
	return tc_trials_event(t, id, "starting", detail, err);
}

int tc_trials_mark_running(struct tc_trials *t, const char *id,
			   const struct tc_trial_proc *proc, double started_at,
			   const char *detail, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_RUNNING, id, err);
	int rc;

	if (!st)
		return TC_ERR_DB;
	if (proc) {
		sqlite3_bind_int(st, 3, (int)proc->sup_pid);
		sqlite3_bind_int64(st, 4, proc->sup_start);
		sqlite3_bind_int(st, 5, (int)proc->pgid);
	}
	if (started_at > 0)
		sqlite3_bind_double(st, 6, started_at);
	if ((rc = run(t, st, err)))
		return rc;
	return tc_trials_event(t, id, "running", detail, err);
}

int tc_trials_finish(struct tc_trials *t, const char *id,
		     const struct tc_trial_outcome *o, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_FINISH, id, err);
	const char *reason = o->reason && *o->reason ? o->reason : NULL;
	int rc;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, tc_state_name(o->next_at > 0 ? TC_ST_QUEUED
							       : (enum tc_state)o->state),
			  -1, SQLITE_STATIC);
	if (o->has_exit)
		sqlite3_bind_int(st, 4, o->exit_code);
	if (o->has_usage) {
		sqlite3_bind_int(st, 5, o->term_signal);
		sqlite3_bind_double(st, 9, o->utime);
		sqlite3_bind_double(st, 10, o->stime);
		sqlite3_bind_int64(st, 11, o->maxrss_kb);
	}
	bind_text(st, 6, reason);
	sqlite3_bind_double(st, 7, o->ended_at);
	sqlite3_bind_double(st, 8, o->wall);
	sqlite3_bind_double(st, 12, o->next_at);
	if (o->started_at > 0)
		sqlite3_bind_double(st, 13, o->started_at);
	if ((rc = run(t, st, err)) ||
	    (rc = tc_trials_event(t, id, tc_state_name((enum tc_state)o->state),
				  reason, err)))
		return rc;
	if (o->next_at > 0)
		return tc_trials_event(t, id, "queued", "retry", err);
	return 0;
}

int tc_trials_unstart(struct tc_trials *t, const char *id, int cancelled,
		      const char *detail, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_UNSTART, id, err);
	const char *state = cancelled ? "cancelled" : "queued";
	int rc;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	if ((rc = run(t, st, err)))
		return rc;
	return tc_trials_event(t, id, state, detail, err);
}

int tc_trials_rerun(struct tc_trials *t, const char *id, int cancelled,
		    const char *reason, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_RERUN, id, err);
	const char *state = cancelled ? "cancelled" : "queued";
	int rc;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, cancelled ? "cancelled" : reason, -1,
			  SQLITE_STATIC);
	if ((rc = run(t, st, err)))
		return rc;
	return tc_trials_event(t, id, state, reason, err);
}

int tc_trials_flags(struct tc_trials *t, const char *id, int *state,
		    int *cancel_req, int *retry_base)
{
	struct tc_error e;
	sqlite3_stmt *st = stmt(t, S_FLAGS, id, &e);
	int found = 0;

	*state = *cancel_req = *retry_base = 0;
	if (!st)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*state = tc_state_parse((const char *)sqlite3_column_text(st, 0));
		*cancel_req = sqlite3_column_int(st, 1);
		*retry_base = sqlite3_column_int(st, 2);
		found = 1;
	}
	sqlite3_reset(st);
	return found;
}

int tc_trials_set_reason(struct tc_trials *t, const char *id,
			 const char *reason, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_REASON, id, err);

	if (!st)
		return TC_ERR_DB;
	bind_text(st, 3, reason);
	return run(t, st, err);
}

int tc_trials_queued_reason(struct tc_trials *t, const char *why, long long n,
			    double now, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, n > 0 ? S_WAIT_ON : S_WAIT_OFF, NULL, err);

	if (!st)
		return TC_ERR_DB;
	if (n > 0) {
		sqlite3_bind_double(st, 2, now);
		sqlite3_bind_int64(st, 3, n);
	}
	sqlite3_bind_text(st, 4, why, -1, SQLITE_STATIC);
	return run(t, st, err);
}

int tc_trials_stage_caps(struct tc_trials *t, const char *const *stages,
			 const int *caps, size_t n, struct tc_error *err)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (ensure_picked(t, err) ||
	    tc_journal_exec(t->j, "DELETE FROM temp.tc_stage_cap", err))
		return TC_ERR_DB;
	if (!n)
		return 0;
	if (!(st = tc_journal_prepare(t->j, "INSERT OR REPLACE INTO "
				      "temp.tc_stage_cap VALUES(?1, ?2)", err)))
		return TC_ERR_DB;
	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_bind_text(st, 1, stages[i], -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, caps[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = dbfail(t, err);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

int tc_trials_pick(struct tc_trials *t, long long limit,
		   const char *const *ids, size_t nids, int *n,
		   struct tc_error *err)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (n)
		*n = 0;
	if (ensure_picked(t, err) ||
	    tc_journal_exec(t->j, "DELETE FROM temp.tc_picked", err))
		return TC_ERR_DB;
	if (limit > 0) {
		if (!(st = stmt(t, S_PICK_LIMIT, NULL, err)))
			return TC_ERR_DB;
		sqlite3_bind_int64(st, 3, limit);
		return run(t, st, err);
	}
	for (size_t i = 0; i < nids && !rc; i++) {
		if (!(st = stmt(t, S_PICK_ID, ids[i], err)))
			return TC_ERR_DB;
		rc = run(t, st, err);
		if (n) /* a trial named twice counts once */
			*n += sqlite3_changes(t->j->db);
	}
	return rc;
}

/* Run k (no rows); *changes, when given, the rows it changed. */
static int run_counted(struct tc_trials *t, enum stmt k, int *changes,
		       struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, k, NULL, err);
	int rc;

	if (!st)
		return TC_ERR_DB;
	rc = run(t, st, err);
	if (changes)
		*changes = rc ? 0 : sqlite3_changes(t->j->db);
	return rc;
}

int tc_trials_request_cancel(struct tc_trials *t, int *ncancelled,
			     int *nrequested, struct tc_error *err)
{
	int rc = run_counted(t, S_CANCEL_QUEUED, ncancelled, err);

	return rc ? rc : run_counted(t, S_CANCEL_REQ, nrequested, err);
}

int tc_trials_request_interrupt(struct tc_trials *t, struct tc_error *err)
{
	return run_counted(t, S_INTERRUPT, NULL, err);
}

int tc_trials_request_prune(struct tc_trials *t, const char *id,
			    const char *why, int *requested,
			    struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_PRUNE_REQ, id, err);
	int rc;

	if (!st)
		return TC_ERR_DB;
	bind_text(st, 3, why);
	rc = run(t, st, err);
	if (requested)
		*requested = !rc && sqlite3_changes(t->j->db) > 0;
	return rc;
}

int tc_trials_retry(struct tc_trials *t, int picked_only, int *n,
		    struct tc_error *err)
{
	return run_counted(t, picked_only ? S_RETRY_PICKED : S_RETRY_FAILED, n,
			   err);
}

int tc_trials_requeue_interrupted(struct tc_trials *t, struct tc_error *err)
{
	int rc;

	if ((rc = tc_journal_begin(t->j, err)))
		return rc;
	if ((rc = run_counted(t, S_REQUEUE_INT, NULL, err)) ||
	    (rc = tc_journal_commit(t->j, err)))
		tc_journal_rollback(t->j);
	return rc;
}

int tc_trials_counts(struct tc_trials *t, long long *counts, long long *total,
		     struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_COUNTS, NULL, err);
	int rc;

	for (int s = 0; s < TC_ST_COUNT; s++)
		counts[s] = 0;
	*total = 0;
	if (!st)
		return TC_ERR_DB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int s = tc_state_parse((const char *)sqlite3_column_text(st, 0));

		if (s >= 0)
			counts[s] = sqlite3_column_int64(st, 1);
		*total += sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : dbfail(t, err);
}

int tc_trials_exp_cancelled(struct tc_trials *t)
{
	struct tc_error e;
	sqlite3_stmt *st = stmt(t, S_EXPSTATE, NULL, &e);
	int cancelled = 0;

	if (!st)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);

		cancelled = s && !strcmp((const char *)s, "cancelled");
	}
	sqlite3_reset(st);
	return cancelled;
}

int tc_trials_best(struct tc_trials *t, const char *metric, int goal,
		   struct tc_metric_best *best, struct tc_error *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(best, 0, sizeof(*best));
	if (!metric)
		return 0;
	if (!(st = stmt(t, S_BEST, NULL, err)))
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		tc_metric_best_offer(best, (const char *)sqlite3_column_text(st, 0),
				     sqlite3_column_double(st, 1), 1, goal);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return dbfail(t, err);
	return best->has;
}

int tc_trials_note(struct tc_trials *t, const char *trial, int attempt,
		   const char *text, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_NOTE, trial, err);
	char detail[512];

	if (!st)
		return TC_ERR_DB;
	snprintf(detail, sizeof(detail), "attempt %d: %s", attempt, text);
	sqlite3_bind_double(st, 3, tc_now());
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	return run(t, st, err);
}

int tc_trials_events_mark(struct tc_trials *t, long long *seq, int *succeeded,
			  struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_EV_MARK, NULL, err);
	int rc;

	*seq = 0;
	*succeeded = 0;
	if (!st)
		return TC_ERR_DB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		*succeeded = sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : dbfail(t, err);
}

int tc_trials_outcomes_since(struct tc_trials *t, long long since,
			     long long *failed, long long *succeeded,
			     char last_failed[16], struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_EV_SINCE, NULL, err);
	int rc;

	*failed = *succeeded = 0;
	last_failed[0] = '\0';
	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_int64(st, 3, since);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 2);

		*failed = sqlite3_column_int64(st, 0);
		*succeeded = sqlite3_column_int64(st, 1);
		snprintf(last_failed, 16, "%s", id ? (const char *)id : "");
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : dbfail(t, err);
}

int tc_trials_metric_add(struct tc_trials *t, const char *trial, int attempt,
			 const char *name, double step, double value, double at,
			 struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_METRIC, trial, err);

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_int(st, 3, attempt);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 5, step);
	bind_value(st, 6, 7, value);
	sqlite3_bind_double(st, 8, at);
	return run(t, st, err);
}

int tc_trials_final_set(struct tc_trials *t, const char *trial, int attempt,
			const char *name, double step, double value,
			struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_FINAL, trial, err);

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_int(st, 3, attempt);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 5, step);
	bind_value(st, 6, 7, value);
	return run(t, st, err);
}

int tc_trials_find_idx(struct tc_trials *t, long long idx, char id[16],
		       struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_FIND_IDX, NULL, err);
	int rc;

	id[0] = '\0';
	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_int64(st, 3, idx);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(id, 16, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : dbfail(t, err);
}

int tc_trials_find_prefix(struct tc_trials *t, const char *prefix,
			  char id[16], struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_FIND_PREFIX, NULL, err);
	int rc, n = 0;

	id[0] = '\0';
	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_int(st, 3, (int)strlen(prefix));
	sqlite3_bind_text(st, 4, prefix, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (n++ == 0)
			snprintf(id, 16, "%s",
				 (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? n : dbfail(t, err);
}

int tc_trials_finals(struct tc_trials *t, tc_trials_final_fn fn, void *ctx,
		     struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_FINALS, NULL, err);
	int rc, stop = 0;

	if (!st)
		return TC_ERR_DB;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int finite = sqlite3_column_type(st, 2) != SQLITE_NULL;

		stop = fn(ctx, (const char *)sqlite3_column_text(st, 0),
			  (const char *)sqlite3_column_text(st, 1),
			  finite ? sqlite3_column_double(st, 2) : NAN,
			  finite ? NULL : (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_reset(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : dbfail(t, err);
}

int tc_trials_final_get(struct tc_trials *t, const char *trial,
			const char *name, double *value, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_FINAL_GET, trial, err);
	int rc;

	*value = NAN;
	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			*value = sqlite3_column_double(st, 0);
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : dbfail(t, err);
}

int tc_trials_events(struct tc_trials *t, const char *state,
		     tc_trials_event_fn fn, void *ctx, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_EVENTS, NULL, err);
	int rc, stop = 0;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = fn(ctx, (const char *)sqlite3_column_text(st, 0),
			  (const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : dbfail(t, err);
}

int tc_trials_planned(struct tc_trials *t, const char *id,
		      struct tc_error *err)
{
	sqlite3_stmt *st;

	if (!id) {
		if (ensure_picked(t, err) ||
		    tc_journal_exec(t->j, "DELETE FROM temp.tc_planned", err))
			return TC_ERR_DB;
		return 0;
	}
	st = stmt(t, S_PLANNED_ADD, id, err);
	return st ? run(t, st, err) : TC_ERR_DB;
}

int tc_trials_next_index(struct tc_trials *t, long long *idx,
			 struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_NEXT_IDX, NULL, err);
	int rc;

	*idx = 0;
	if (!st)
		return TC_ERR_DB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*idx = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : dbfail(t, err);
}

int tc_trials_insert(struct tc_trials *t, const char *id, long long idx,
		     const char *params, const char *command, unsigned seed,
		     const char *env, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_INSERT, id, err);
	int rc;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_int64(st, 3, idx);
	sqlite3_bind_text(st, 4, params, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, command, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, seed);
	sqlite3_bind_text(st, 7, env, -1, SQLITE_STATIC);
	if ((rc = run(t, st, err)))
		return rc;
	return sqlite3_changes(t->j->db);
}

int tc_trials_set_command(struct tc_trials *t, const char *id,
			  const char *command, const char *env,
			  struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_SET_COMMAND, id, err);

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, env, -1, SQLITE_STATIC);
	return run(t, st, err);
}

int tc_trials_cancel_unplanned(struct tc_trials *t, struct tc_error *err)
{
	return run_counted(t, S_UNPLANNED, NULL, err);
}

int tc_trials_set_stage(struct tc_trials *t, const char *id, const char *stage,
			const char *item, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_SET_STAGE, id, err);

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, stage, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, item, -1, SQLITE_STATIC);
	return run(t, st, err);
}

int tc_trials_need(struct tc_trials *t, const char *id, const char *needed,
		   struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_NEED, id, err);

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, needed, -1, SQLITE_STATIC);
	return run(t, st, err);
}

/* Run statement k of trial id with text as ?3; *n the rows it changed. */
static int run_text(struct tc_trials *t, enum stmt k, const char *id,
		    const char *text, int *n, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, k, id, err);
	int rc;

	*n = 0;
	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	if ((rc = run(t, st, err)))
		return rc;
	*n = sqlite3_changes(t->j->db);
	return 0;
}

int tc_trials_skip_dependants(struct tc_trials *t, const char *id,
			      const char *reason, int *n, struct tc_error *err)
{
	return run_text(t, S_SKIP_DEPS, id, reason, n, err);
}

int tc_trials_stage_of(struct tc_trials *t, const char *id, char *stage,
		       size_t len, char **item)
{
	struct tc_error ignored = {0};
	sqlite3_stmt *st = stmt(t, S_STAGE_OF, id, &ignored);
	int found = 0;

	stage[0] = '\0';
	if (item)
		*item = NULL;
	if (st && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL) {
		snprintf(stage, len, "%s", (const char *)sqlite3_column_text(st, 0));
		if (item && sqlite3_column_type(st, 1) != SQLITE_NULL)
			*item = strdup((const char *)sqlite3_column_text(st, 1));
		found = 1;
	}
	if (st)
		sqlite3_reset(st);
	return found;
}

int tc_trials_stage_summary(struct tc_trials *t, tc_trials_stage_fn fn,
			    void *ctx, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_STAGE_SUM, NULL, err);
	int rc = 0, r;

	if (!st)
		return TC_ERR_DB;
	while ((r = sqlite3_step(st)) == SQLITE_ROW && !rc)
		rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
			tc_state_parse((const char *)sqlite3_column_text(st, 1)),
			sqlite3_column_int64(st, 2), sqlite3_column_double(st, 3),
			sqlite3_column_double(st, 4));
	if (!rc && r != SQLITE_DONE && r != SQLITE_ROW)
		rc = tc_error_set(err, TC_ERR_DB, "journal: %s",
				  sqlite3_errmsg(t->j->db));
	sqlite3_reset(st);
	return rc;
}

int tc_trials_set_inputs(struct tc_trials *t, const char *id,
			 const char *inputs, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_SET_INPUTS, id, err);

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, inputs, -1, SQLITE_STATIC);
	return run(t, st, err);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL
		       ? NULL
		       : strdup((const char *)sqlite3_column_text(st, i));
}

void tc_job_free(struct tc_job *jb)
{
	free(jb->stage);
	free(jb->item);
	free(jb->inputs);
	free(jb->key);
	free(jb->command);
	free(jb->env);
	memset(jb, 0, sizeof(*jb));
}

int tc_trials_job(struct tc_trials *t, const char *id, struct tc_job *jb,
		  struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_JOB, id, err);
	int r;

	memset(jb, 0, sizeof(*jb));
	if (!st)
		return TC_ERR_DB;
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(jb->id, sizeof(jb->id), "%s", id);
		jb->stage = col_dup(st, 0);
		jb->item = col_dup(st, 1);
		jb->inputs = col_dup(st, 2);
		jb->key = col_dup(st, 3);
		jb->command = col_dup(st, 4);
		jb->env = col_dup(st, 5);
	}
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return tc_error_set(err, TC_ERR_DB, "journal: %s",
				    sqlite3_errmsg(t->j->db));
	return r == SQLITE_ROW && jb->stage;
}

int tc_trials_set_key(struct tc_trials *t, const char *id, const char *key,
		      struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_SET_KEY, id, err);

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	return run(t, st, err);
}

int tc_trials_find_key(struct tc_trials *t, const char *id, const char *key,
		       char **exp, char found[16], struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_FIND_KEY, id, err);
	int r, hit = 0;

	*exp = NULL;
	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		*exp = col_dup(st, 0);
		snprintf(found, 16, "%s", (const char *)sqlite3_column_text(st, 1));
		hit = *exp != NULL;
	}
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return tc_error_set(err, TC_ERR_DB, "journal: %s",
				    sqlite3_errmsg(t->j->db));
	return hit;
}

int tc_trials_mark_cached(struct tc_trials *t, const char *id, const char *key,
			  const char *src_exp, const char *src_id,
			  struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_CACHED, id, err);
	char why[128];
	int rc;

	if (!st)
		return TC_ERR_DB;
	snprintf(why, sizeof(why), "cached: %s/%s", src_exp, src_id);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, why, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 5, tc_now());
	if ((rc = run(t, st, err)))
		return rc;
	if (!(st = stmt(t, S_CACHED_FINAL, id, err)))
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, src_exp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, src_id, -1, SQLITE_STATIC);
	if ((rc = run(t, st, err)))
		return rc;
	return tc_trials_event(t, id, "succeeded", why, err);
}

int tc_trials_needed_keys(struct tc_trials *t, const char *id,
			  void (*fn)(void *ctx, const char *id, const char *key),
			  void *ctx,
			  struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_NEEDED_KEYS, id, err);
	int r;

	if (!st)
		return TC_ERR_DB;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(st, 0),
		   (const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0
				: tc_error_set(err, TC_ERR_DB, "journal: %s",
					       sqlite3_errmsg(t->j->db));
}

int tc_trials_jobs(struct tc_trials *t, struct tc_job **out, size_t *n,
		   struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_JOBS, NULL, err);
	struct tc_job *a = NULL;
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (!st)
		return TC_ERR_DB;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct tc_job *jb;

		if (*n == cap) {
			struct tc_job *na;

			cap = cap ? 2 * cap : 64;
			if (!(na = realloc(a, cap * sizeof(*na)))) {
				r = SQLITE_NOMEM;
				break;
			}
			a = na;
		}
		jb = &a[(*n)++];
		memset(jb, 0, sizeof(*jb));
		snprintf(jb->id, sizeof(jb->id), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		jb->state = tc_state_parse((const char *)sqlite3_column_text(st, 1));
		jb->stage = col_dup(st, 2);
		jb->inputs = col_dup(st, 3);
		jb->key = col_dup(st, 4);
		jb->command = col_dup(st, 5);
		jb->env = col_dup(st, 6);
		jb->item = col_dup(st, 7);
	}
	sqlite3_reset(st);
	*out = a;
	if (r != SQLITE_DONE)
		return tc_error_set(err, TC_ERR_DB, "journal: %s",
				    sqlite3_errmsg(t->j->db));
	return 0;
}

int tc_trials_edges(struct tc_trials *t,
		    void (*fn)(void *ctx, const char *trial, const char *needed),
		    void *ctx, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_EDGES, NULL, err);
	int r;

	if (!st)
		return TC_ERR_DB;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(st, 0),
		   (const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0
				: tc_error_set(err, TC_ERR_DB, "journal: %s",
					       sqlite3_errmsg(t->j->db));
}

int tc_trials_requeue_job(struct tc_trials *t, const char *id,
			  const char *why, int *n, struct tc_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = run_text(t, S_REQUEUE_JOB, id, why, n, err)))
		return rc;
	if (!(st = stmt(t, S_REQUEUE_DEPS, id, err)))
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, why, -1, SQLITE_STATIC);
	if ((rc = run(t, st, err)))
		return rc;
	*n += sqlite3_changes(t->j->db);
	return 0;
}

int tc_trials_stage_ids(struct tc_trials *t, const char *stage, char (**ids)[16],
			size_t *n, struct tc_error *err)
{
	sqlite3_stmt *st = stmt(t, S_STAGE_JOBS, NULL, err);
	char (*a)[16] = NULL;
	size_t cap = 0;
	int r;

	*ids = NULL;
	*n = 0;
	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 3, stage, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			char (*na)[16];

			cap = cap ? 2 * cap : 64;
			if (!(na = realloc(a, cap * sizeof(*na)))) {
				r = SQLITE_NOMEM;
				break;
			}
			a = na;
		}
		snprintf(a[(*n)++], 16, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	*ids = a;
	if (r != SQLITE_DONE)
		return tc_error_set(err, TC_ERR_DB, "journal: %s",
				    sqlite3_errmsg(t->j->db));
	return 0;
}
