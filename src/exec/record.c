/*
 * record.c — journal writes and small forms shared by the two schedulers
 * (see record.h).
 */
#include "exec/record.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
