/*
 * record.c — journal writes and small forms shared by the two schedulers
 * (see record.h).
 */
#include "exec/record.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "spec/spec.h"
#include "util/clock.h"
#include "util/text.h"

#define BACKOFF_CAP 300.0

int tc_rec_dbfail(struct tc_journal *j, struct tc_error *err)
{
	return tc_error_set(err, TC_ERR_DB, "journal %s: %s", j->path,
			    sqlite3_errmsg(j->db));
}

int tc_rec_step(struct tc_journal *j, sqlite3_stmt *st, struct tc_error *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : tc_rec_dbfail(j, err);
}

int tc_rec_event(struct tc_journal *j, sqlite3_stmt *st, const char *exp,
		 const char *trial, const char *state, const char *detail,
		 struct tc_error *err)
{
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, trial, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, tc_now());
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
	return tc_rec_step(j, st, err);
}

void tc_rec_bind_value(sqlite3_stmt *st, int col, int scol, double v)
{
	if (isfinite(v)) {
		sqlite3_bind_double(st, col, v);
		sqlite3_bind_null(st, scol);
	} else {
		sqlite3_bind_null(st, col);
		sqlite3_bind_text(st, scol, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf",
				  -1, SQLITE_STATIC);
	}
}

int tc_rec_counts(struct tc_journal *j, const char *exp, long long *counts,
		  long long *total, struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(
		j, "SELECT state, count(*) FROM trials WHERE exp = ? GROUP BY state",
		err);

	if (!st)
		return TC_ERR_DB;
	for (int s = 0; s < TC_ST_COUNT; s++)
		counts[s] = 0;
	*total = 0;
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int s = tc_state_parse((const char *)sqlite3_column_text(st, 0));

		if (s >= 0)
			counts[s] = sqlite3_column_int64(st, 1);
		*total += sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return 0;
}

int tc_rec_requeue_interrupted(struct tc_journal *j, const char *exp,
			       struct tc_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = tc_journal_begin(j, err)))
		return rc;
	st = tc_journal_prepare(
		j,
		"UPDATE trials SET state = 'queued', next_at = 0, cancel_req = 0,"
		" retry_base = attempt WHERE exp = ?1 AND state = 'cancelled' AND "
		"reason = 'interrupted'",
		err);
	if (!st) {
		tc_journal_rollback(j);
		return TC_ERR_DB;
	}
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : tc_rec_dbfail(j, err);
	sqlite3_finalize(st);
	if (rc || (rc = tc_journal_commit(j, err)))
		tc_journal_rollback(j);
	return rc;
}

/* ---- metric samples on their way to the journal -------------------------- */

/* Names an attempt can have: three streams, each collector capped. */
#define SINK_NAMES_MAX (3 * TC_METRICS_NAMES_MAX)
/* Slots of the name table: a power of two, over twice SINK_NAMES_MAX. */
#define SINK_SLOTS 8192
/* Bytes fed to a collector at a time (between checks for a cut). */
#define SINK_SLICE 65536
#define SINK_NOTES_MAX 4

struct sink_name {
	char *name;
	double step, value; /* the latest */
	int dirty;          /* changed since the last write */
};

struct sink_row {
	uint32_t name; /* index into names */
	double step, value;
};

struct tc_rec_metrics {
	struct tc_journal *j;
	char *exp, *trial, *metric;
	int attempt, replace;
	tc_rec_cut_fn cut;
	void *ctx;
	int rc; /* a cut failed: the feed stops */
	sqlite3_stmt *s_metric, *s_final, *s_clear_m, *s_clear_f;

	uint16_t slots[SINK_SLOTS]; /* index + 1 into names; 0 is empty */
	struct sink_name *names;
	size_t nnames, capnames;
	long metric_ent; /* the spec's metric in names, or -1 */

	struct sink_row rows[TC_REC_BATCH];
	size_t nrows;
	size_t seen;  /* samples since the last write */
	size_t bytes; /* bytes fed since the last write */
	long long kept; /* history rows of the attempt, written or waiting */

	int capped, names_dropped; /* data dropped: a note says so */
	int dirty; /* something to write */
	char *notes[SINK_NOTES_MAX];
	int noted[SINK_NOTES_MAX]; /* written */
	size_t nnotes;
};

struct tc_rec_metrics *tc_rec_metrics_new(struct tc_journal *j, const char *exp,
					  const char *trial, int attempt,
					  const char *metric, int replace,
					  tc_rec_cut_fn cut, void *ctx,
					  struct tc_error *err)
{
	struct tc_rec_metrics *m = calloc(1, sizeof(*m));

	if (!m) {
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	m->j = j;
	m->attempt = attempt;
	m->replace = replace;
	m->cut = cut;
	m->ctx = ctx;
	m->metric_ent = -1;
	m->exp = strdup(exp);
	m->trial = strdup(trial);
	m->metric = metric ? strdup(metric) : NULL;
	if (!m->exp || !m->trial || (metric && !m->metric)) {
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		tc_rec_metrics_free(m);
		return NULL;
	}
	if (!(m->s_metric = tc_journal_prepare(j, TC_REC_METRIC_SQL, err)) ||
	    !(m->s_final = tc_journal_prepare(j, TC_REC_FINAL_SQL, err)) ||
	    (replace &&
	     (!(m->s_clear_m = tc_journal_prepare(j, TC_REC_CLEAR_METRICS_SQL, err)) ||
	      !(m->s_clear_f = tc_journal_prepare(j, TC_REC_CLEAR_FINAL_SQL, err))))) {
		tc_rec_metrics_free(m);
		return NULL;
	}
	return m;
}

void tc_rec_metrics_free(struct tc_rec_metrics *m)
{
	if (!m)
		return;
	sqlite3_finalize(m->s_metric);
	sqlite3_finalize(m->s_final);
	sqlite3_finalize(m->s_clear_m);
	sqlite3_finalize(m->s_clear_f);
	for (size_t i = 0; i < m->nnames; i++)
		free(m->names[i].name);
	free(m->names);
	for (size_t i = 0; i < m->nnotes; i++)
		free(m->notes[i]);
	free(m->exp);
	free(m->trial);
	free(m->metric);
	free(m);
}

void tc_rec_metrics_note(struct tc_rec_metrics *m, const char *text)
{
	for (size_t i = 0; i < m->nnotes; i++)
		if (strcmp(m->notes[i], text) == 0)
			return;
	if (m->nnotes < SINK_NOTES_MAX && (m->notes[m->nnotes] = strdup(text))) {
		m->nnotes++;
		m->dirty = 1;
	}
}

/* The entry of a name, created when new; -1 past SINK_NAMES_MAX. */
static long sink_name(struct tc_rec_metrics *m, const char *name)
{
	uint32_t h = 2166136261u, i;
	struct sink_name *e;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = h & (SINK_SLOTS - 1); m->slots[i]; i = (i + 1) & (SINK_SLOTS - 1))
		if (strcmp(m->names[m->slots[i] - 1].name, name) == 0)
			return m->slots[i] - 1;
	if (m->nnames >= SINK_NAMES_MAX)
		return -1;
	if (m->nnames == m->capnames) {
		size_t ncap = m->capnames ? m->capnames * 2 : 16;
		struct sink_name *nn = realloc(m->names, ncap * sizeof(*nn));

		if (!nn)
			return -1;
		m->names = nn;
		m->capnames = ncap;
	}
	e = &m->names[m->nnames];
	if (!(e->name = strdup(name)))
		return -1;
	e->dirty = 0;
	m->slots[i] = (uint16_t)(m->nnames + 1);
	if (m->metric && m->metric_ent < 0 && strcmp(name, m->metric) == 0)
		m->metric_ent = (long)m->nnames;
	return (long)m->nnames++;
}

static int sink_cut(struct tc_rec_metrics *m)
{
	if (!m->rc)
		m->rc = m->cut(m->ctx, m);
	return m->rc;
}

/* The collector's callback. */
static int sink_add(void *ctx, const char *name, double step, double value)
{
	struct tc_rec_metrics *m = ctx;
	long k = sink_name(m, name);

	m->dirty = 1;
	if (k < 0) {
		m->names_dropped = 1;
	} else {
		m->names[k].step = step;
		m->names[k].value = value;
		m->names[k].dirty = 1;
		if (m->kept >= TC_REC_HISTORY_MAX) {
			m->capped = 1;
		} else if (m->nrows < TC_REC_BATCH) { /* a cut empties it */
			m->rows[m->nrows].name = (uint32_t)k;
			m->rows[m->nrows].step = step;
			m->rows[m->nrows].value = value;
			m->nrows++;
			m->kept++;
		}
	}
	if (++m->seen >= TC_REC_BATCH)
		return sink_cut(m);
	return 0;
}

int tc_rec_metrics_feed(struct tc_rec_metrics *m, struct tc_collector *c,
			const char *buf, size_t len, int end)
{
	int rc = m->rc;

	while (!rc && len > 0) {
		size_t n = len < SINK_SLICE ? len : SINK_SLICE;

		rc = tc_collector_feed(c, buf, n, sink_add, m);
		buf += n;
		len -= n;
		m->bytes += n;
		if (!rc && m->bytes >= TC_REC_BATCH_BYTES)
			rc = sink_cut(m);
	}
	if (!rc && end)
		rc = tc_collector_finish(c, sink_add, m);
	if (tc_collector_dropped(c) > 0 && !m->names_dropped)
		m->names_dropped = m->dirty = 1;
	return rc;
}

int tc_rec_metrics_flush(struct tc_rec_metrics *m, struct tc_error *err)
{
	double now = tc_now();
	int rc = 0;

	if (m->replace) {
		sqlite3_bind_text(m->s_clear_m, 1, m->exp, -1, SQLITE_STATIC);
		sqlite3_bind_text(m->s_clear_m, 2, m->trial, -1, SQLITE_STATIC);
		sqlite3_bind_int(m->s_clear_m, 3, m->attempt);
		sqlite3_bind_text(m->s_clear_f, 1, m->exp, -1, SQLITE_STATIC);
		sqlite3_bind_text(m->s_clear_f, 2, m->trial, -1, SQLITE_STATIC);
		if ((rc = tc_rec_step(m->j, m->s_clear_m, err)) ||
		    (rc = tc_rec_step(m->j, m->s_clear_f, err)))
			goto out;
		m->replace = 0;
	}
	for (size_t i = 0; i < m->nrows + m->nnames; i++) {
		int hist = i < m->nrows;
		sqlite3_stmt *st = hist ? m->s_metric : m->s_final;
		const struct sink_name *e =
			&m->names[hist ? m->rows[i].name : i - m->nrows];

		if (!hist && !e->dirty)
			continue;
		sqlite3_bind_text(st, 1, m->exp, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, m->trial, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, m->attempt);
		sqlite3_bind_text(st, 4, e->name, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 5, hist ? m->rows[i].step : e->step);
		tc_rec_bind_value(st, 6, 7, hist ? m->rows[i].value : e->value);
		if (hist)
			sqlite3_bind_double(st, 8, now);
		if ((rc = tc_rec_step(m->j, st, err)))
			goto out;
	}
	for (size_t i = 0; i < m->nnames; i++)
		m->names[i].dirty = 0;
	if (m->capped) {
		char text[160];

		snprintf(text, sizeof(text),
			 "metric history capped at %d values; later values "
			 "update only the final values",
			 TC_REC_HISTORY_MAX);
		tc_rec_metrics_note(m, text);
	}
	if (m->names_dropped) {
		char text[160];

		snprintf(text, sizeof(text),
			 "values of metric names past the first %d of a stream "
			 "were dropped",
			 TC_METRICS_NAMES_MAX);
		tc_rec_metrics_note(m, text);
	}
	for (size_t i = 0; i < m->nnotes; i++) {
		if (m->noted[i])
			continue;
		if ((rc = tc_rec_note(m->j, m->exp, m->trial, m->attempt,
				      m->notes[i], err)))
			goto out;
		m->noted[i] = 1;
	}
	m->dirty = 0;
out:
	m->nrows = 0;
	m->seen = 0;
	m->bytes = 0;
	return rc;
}

int tc_rec_metrics_pending(const struct tc_rec_metrics *m)
{
	return m && (m->dirty || m->replace);
}

int tc_rec_metrics_value(const struct tc_rec_metrics *m, double *v)
{
	if (!m || m->metric_ent < 0)
		return 0;
	*v = m->names[m->metric_ent].value;
	return 1;
}

int tc_rec_metrics_step(const struct tc_rec_metrics *m, double *step)
{
	if (!m || m->metric_ent < 0)
		return 0;
	*step = m->names[m->metric_ent].step;
	return 1;
}

int tc_rec_note(struct tc_journal *j, const char *exp, const char *trial,
		int attempt, const char *text, struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(
		j,
		"INSERT INTO events(exp, trial, at, state, detail) SELECT ?1, ?2, "
		"?3, '" TC_REC_NOTE_STATE "', ?4 WHERE NOT EXISTS (SELECT 1 FROM "
		"events WHERE exp = ?1 AND trial = ?2 AND state = '"
		TC_REC_NOTE_STATE "' AND detail = ?4)",
		err);
	char detail[512];
	int rc;

	if (!st)
		return TC_ERR_DB;
	snprintf(detail, sizeof(detail), "attempt %d: %s", attempt, text);
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, trial, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, tc_now());
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : tc_rec_dbfail(j, err);
	sqlite3_finalize(st);
	return rc;
}

void tc_params_brief(const char *json, char *buf, size_t len)
{
	json_t *o = json_loads(json ? json : "{}", 0, NULL);
	const char *k;
	json_t *v;
	size_t n = 0;

	buf[0] = '\0';
	json_object_foreach(o, k, v)
	{
		char val[64];

		if (json_is_string(v)) {
			snprintf(val, sizeof(val), "%s", json_string_value(v));
		} else {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));

			snprintf(val, sizeof(val), "%s", t ? t : "?");
			free(t);
		}
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s=%s",
				      n ? " " : "", k, val);
		if (n >= len)
			break;
	}
	json_decref(o);
	tc_text_sanitize(buf); /* values are anything: this goes to a terminal */
}

void tc_rotate_log(const char *dir, const char *base, const char *ext, int n)
{
	char from[PATH_MAX], to[PATH_MAX];

	snprintf(from, sizeof(from), "%s/%s.%s", dir, base, ext);
	snprintf(to, sizeof(to), "%s/%s.%d.%s", dir, base, n, ext);
	rename(from, to);
}

double tc_rec_retry_at(const struct tc_spec *spec, int attempt, int retry_base)
{
	double b = spec->run.backoff;

	if (attempt - retry_base > spec->run.retries)
		return 0;
	for (int k = 1; k < attempt - retry_base && b < BACKOFF_CAP; k++)
		b *= 2;
	if (b > BACKOFF_CAP)
		b = BACKOFF_CAP;
	return tc_now() + b;
}

/* ---- fail fast ---------------------------------------------------------- */

int tc_rec_failfast_init(struct tc_journal *j, const char *exp,
			 const struct tc_spec *spec, int override,
			 struct tc_rec_failfast *ff, struct tc_error *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(ff, 0, sizeof(*ff));
	ff->max = override >= 0 ? override : spec->run.max_failures;
	ff->state = ff->max > 0 ? 0 : -1;
	/* where this run's count begins, and whether a trial ever succeeded */
	st = tc_journal_prepare(
		j,
		"SELECT (SELECT coalesce(max(seq), 0) FROM events), EXISTS "
		"(SELECT 1 FROM events WHERE exp = ?1 AND state = 'succeeded')",
		err);
	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ff->since = sqlite3_column_int64(st, 0);
		if (sqlite3_column_int(st, 1))
			ff->state = -1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : tc_rec_dbfail(j, err);
}

int tc_rec_failfast_check(struct tc_journal *j, const char *exp,
			  struct tc_rec_failfast *ff, struct tc_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (ff->state != 0)
		return ff->state > 0;
	/* only this run's events: a range of the primary key */
	st = tc_journal_prepare(
		j,
		"SELECT coalesce(sum(state IN ('failed', 'timed_out')), 0), "
		"coalesce(sum(state = 'succeeded'), 0), (SELECT trial FROM events "
		"WHERE seq > ?2 AND exp = ?1 AND state IN ('failed', 'timed_out') "
		"ORDER BY seq DESC LIMIT 1) FROM events WHERE seq > ?2 AND exp = ?1",
		err);
	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ff->since);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		long long failed = sqlite3_column_int64(st, 0);
		const unsigned char *t = sqlite3_column_text(st, 2);

		if (sqlite3_column_int64(st, 1) > 0) {
			ff->state = -1;
		} else if (failed >= ff->max) {
			ff->state = 1;
			ff->failed = failed;
			snprintf(ff->trial, sizeof(ff->trial), "%s",
				 t ? (const char *)t : "");
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return tc_rec_dbfail(j, err);
	return ff->state > 0;
}

/* ---- the trials a run may start ----------------------------------------- */

int tc_rec_select(struct tc_journal *j, const char *exp, long long limit,
		  const char *const *ids, size_t nids, struct tc_error *err)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (tc_journal_exec(j,
			    "CREATE TEMP TABLE IF NOT EXISTS tc_picked(id TEXT "
			    "PRIMARY KEY); DELETE FROM temp.tc_picked;",
			    err))
		return TC_ERR_DB;
	if (limit > 0) {
		st = tc_journal_prepare(j,
					"INSERT INTO temp.tc_picked SELECT id FROM "
					"trials WHERE exp = ?1 AND idx < ?2",
					err);
		if (!st)
			return TC_ERR_DB;
		sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, limit);
		rc = tc_rec_step(j, st, err);
		sqlite3_finalize(st);
		return rc;
	}
	if (nids == 0)
		return 0;
	st = tc_journal_prepare(j, "INSERT OR IGNORE INTO temp.tc_picked VALUES(?1)",
				err);
	if (!st)
		return TC_ERR_DB;
	for (size_t i = 0; i < nids && !rc; i++) {
		sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
		rc = tc_rec_step(j, st, err);
	}
	sqlite3_finalize(st);
	return rc;
}

const char *tc_rec_final_state(const long long *counts, long long total,
			       int stopping)
{
	long long ended = 0;

	if (stopping == 2)
		return "interrupted";
	if (stopping == 1)
		return "cancelled";
	for (int s = TC_ST_SUCCEEDED; s < TC_ST_COUNT; s++)
		ended += counts[s];
	return ended == total ? "finished" : "interrupted";
}
