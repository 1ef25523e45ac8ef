/*
 * series.c — metric values in the long form (see series.h).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/series.h"

/* When each attempt of each trial began: the "starting" and "running"
 * events of the experiment, by trial and time. */
struct start {
	char trial[16];
	double at;
};

struct starts {
	struct start *v;
	size_t n;
};

static int cmp_start(const void *a, const void *b)
{
	const struct start *x = a, *y = b;
	int c = strcmp(x->trial, y->trial);

	if (c)
		return c;
	return (x->at > y->at) - (x->at < y->at);
}

/* idl: a JSON array of the trials wanted, or NULL for all (an export
 * walks one trial at a time: it must not read every trial's events each
 * time). */
static int load_starts(struct tc_journal *j, const char *exp,
		       const char *idl, struct starts *s, struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(
		j,
		"SELECT trial, at FROM events WHERE exp = ?1 AND trial IS NOT "
		"NULL AND at IS NOT NULL AND state IN ('starting', 'running') "
		"AND (?2 IS NULL OR trial IN (SELECT value FROM json_each(?2)))",
		err);
	size_t cap = 0;
	int rc = 0;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	if (idl)
		sqlite3_bind_text(st, 2, idl, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		if (s->n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct start *nv = realloc(s->v, nc * sizeof(*nv));

			if (!nv) {
				sqlite3_finalize(st);
				return tc_error_set(err, TC_ERR_NOMEM,
						    "out of memory");
			}
			s->v = nv;
			cap = nc;
		}
		snprintf(s->v[s->n].trial, sizeof(s->v[s->n].trial), "%s", id);
		s->v[s->n].at = sqlite3_column_double(st, 1);
		s->n++;
	}
	if (rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		return tc_error_set(err, TC_ERR_DB, "journal %s: %s", j->path,
				    sqlite3_errmsg(j->db));
	}
	sqlite3_finalize(st);
	if (s->n > 1) /* s->v is NULL when nothing started */
		qsort(s->v, s->n, sizeof(*s->v), cmp_start);
	return 0;
}

/* The latest start of trial at or before `at`: 1 and *out, or 0. */
static int start_before(const struct starts *s, const char *trial, double at,
			double *out)
{
	size_t lo = 0, hi = s->n;
	int found = 0;

	/* the first entry not less than (trial, at + tiny) ... */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->v[mid].trial, trial);

		if (c < 0 || (c == 0 && s->v[mid].at <= at))
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ... and the one before it, if it is this trial's */
	if (lo > 0 && !strcmp(s->v[lo - 1].trial, trial)) {
		*out = s->v[lo - 1].at;
		found = 1;
	}
	return found;
}

/* A JSON array of the strings, for json_each() in a query; NULL for none
 * (every row matches). */
static char *json_list(const char *const *v, size_t n, int *nomem)
{
	json_t *a;
	char *text;

	*nomem = 0;
	if (n == 0)
		return NULL;
	if (!(a = json_array())) {
		*nomem = 1;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!text)
		*nomem = 1;
	return text;
}

int tc_series_each(struct tc_journal *j, const char *exp,
		   const char *const *ids, size_t nids,
		   const char *const *names, size_t nnames, tc_series_fn fn,
		   void *ctx, struct tc_error *err)
{
	struct starts starts = {NULL, 0};
	char *idl = NULL, *namel = NULL, group[16] = "";
	int rc, nomem1, nomem2, group_attempt = -1, has_start = 0;
	double start = 0;
	sqlite3_stmt *st = NULL;

	idl = json_list(ids, nids, &nomem1);
	namel = json_list(names, nnames, &nomem2);
	if (nomem1 || nomem2) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = load_starts(j, exp, idl, &starts, err)))
		goto out;
	st = tc_journal_prepare(
		j,
		/* trials by index, then each one's values through its index
		 * on (exp, trial, attempt): in order without a sort (CROSS
		 * JOIN keeps that order of the loops) */
		"SELECT m.trial, t.idx, t.params, m.attempt, m.step, m.name, "
		"m.value, m.special, m.at FROM trials t CROSS JOIN metrics m "
		"ON m.exp = t.exp AND m.trial = t.id WHERE t.exp = ?1 AND (?2 "
		"IS NULL OR t.id IN (SELECT value FROM json_each(?2))) AND (?3 "
		"IS NULL OR m.name IN (SELECT value FROM json_each(?3))) "
		"ORDER BY t.idx, m.attempt, m.rowid",
		err);
	if (!st) {
		rc = TC_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	if (idl)
		sqlite3_bind_text(st, 2, idl, -1, SQLITE_STATIC);
	if (namel)
		sqlite3_bind_text(st, 3, namel, -1, SQLITE_STATIC);
	for (;;) {
		struct tc_series_row row;
		int s = sqlite3_step(st);

		if (s == SQLITE_DONE)
			break;
		if (s != SQLITE_ROW) {
			rc = tc_error_set(err, TC_ERR_DB, "journal %s: %s",
					  j->path, sqlite3_errmsg(j->db));
			goto out;
		}
		memset(&row, 0, sizeof(row));
		row.trial = (const char *)sqlite3_column_text(st, 0);
		row.idx = sqlite3_column_int64(st, 1);
		row.params = (const char *)sqlite3_column_text(st, 2);
		row.attempt = sqlite3_column_int(st, 3);
		row.has_step = sqlite3_column_type(st, 4) != SQLITE_NULL;
		row.step = sqlite3_column_double(st, 4);
		row.name = (const char *)sqlite3_column_text(st, 5);
		row.value = sqlite3_column_double(st, 6);
		row.special = (const char *)sqlite3_column_text(st, 7);
		if (!row.trial || !row.name)
			continue;
		if (strcmp(group, row.trial) || group_attempt != row.attempt) {
			/* a new attempt: when it began, from its first value */
			snprintf(group, sizeof(group), "%s", row.trial);
			group_attempt = row.attempt;
			has_start = sqlite3_column_type(st, 8) != SQLITE_NULL &&
				    start_before(&starts, row.trial,
						 sqlite3_column_double(st, 8),
						 &start);
		}
		if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
			row.has_at = 1;
			row.at = sqlite3_column_double(st, 8);
		}
		if (has_start && row.has_at) {
			row.has_time = 1;
			row.time = sqlite3_column_double(st, 8) - start;
		}
		if ((rc = fn(ctx, &row)))
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	free(starts.v);
	free(idl);
	free(namel);
	return rc;
}

/* Rows of (trial, number) from a statement taking exp (and text ?2). */
static int per_trial(struct tc_journal *j, const char *sql, const char *exp,
		     const char *arg, tc_series_max_fn fn, void *ctx,
		     struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(j, sql, err);
	int rc = 0, s;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	if (arg)
		sqlite3_bind_text(st, 2, arg, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *trial = (const char *)sqlite3_column_text(st, 0);

		if (trial && sqlite3_column_type(st, 1) != SQLITE_NULL &&
		    (rc = fn(ctx, trial, sqlite3_column_double(st, 1))))
			break;
	}
	if (!rc && s != SQLITE_DONE)
		rc = tc_error_set(err, TC_ERR_DB, "journal %s: %s", j->path,
				  sqlite3_errmsg(j->db));
	sqlite3_finalize(st);
	return rc;
}

int tc_series_pending(struct tc_journal *j, const char *exp,
		      tc_series_max_fn fn, void *ctx, struct tc_error *err)
{
	return per_trial(j,
			 "SELECT trial, sum(CAST(detail AS REAL)) FROM events "
			 "WHERE exp = ?1 AND state = 'pending' AND trial IS NOT "
			 "NULL GROUP BY trial",
			 exp, NULL, fn, ctx, err);
}

int tc_series_trial_max(struct tc_journal *j, const char *exp,
			const char *name, tc_series_max_fn fn, void *ctx,
			struct tc_error *err)
{
	return per_trial(
		j,
		name ? "SELECT trial, max(value) FROM (SELECT trial, value FROM "
		       "metrics WHERE exp = ?1 AND name = ?2 AND value IS NOT "
		       "NULL UNION ALL SELECT trial, value FROM final WHERE exp "
		       "= ?1 AND name = ?2 AND value IS NOT NULL) GROUP BY trial"
		     : "SELECT trial, max(step) FROM metrics WHERE exp = ?1 AND "
		       "step IS NOT NULL GROUP BY trial",
		exp, name, fn, ctx, err);
}
