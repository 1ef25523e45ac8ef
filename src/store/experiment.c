/*
 * experiment.c — see experiment.h.
 */
#include "store/experiment.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"

char *tc_trial_dir(const struct tc_journal *j, const char *id)
{
	char *s;

	if (asprintf(&s, "%s/trials/%s", j->dir, id) < 0)
		return NULL;
	return s;
}

/* ---- creating ---------------------------------------------------------- */

static int db_fail(struct tc_journal *j, struct tc_error *err)
{
	return tc_error_set(err, TC_ERR_DB, "journal %s: %s", j->path,
			    sqlite3_errmsg(j->db));
}

int tc_experiment_insert(struct tc_journal *j, const struct tc_spec *spec,
			 const char *backend, const char *spec_path,
			 uint64_t seed,
			 const struct tc_provenance *prov, struct tc_error *err)
{
	sqlite3_stmt *st;
	char *dir;
	int rc = tc_journal_has_experiment(j, spec->name, err);

	if (rc != 0)
		return rc < 0 ? rc
			      : tc_error_set(err, TC_ERR_STATE,
					     "experiment '%s' already exists in %s",
					     spec->name, j->dir);
	if (!(dir = tc_dirname_abs(spec_path)))
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	st = tc_journal_prepare(
		j,
		"INSERT INTO experiments(name, spec_path, spec_dir, spec_text,"
		" spec_hash, seed, created_at, updated_at, state, backend,"
		" tc_version, host, git_commit, git_dirty, ntrials)"
		" VALUES(?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?, ?, ?, ?, 0)",
		err);
	if (!st) {
		free(dir);
		return TC_ERR_DB;
	}
	sqlite3_bind_text(st, 1, spec->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, spec_path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, dir, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, spec->text, (int)spec->text_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, spec->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)seed);
	sqlite3_bind_double(st, 7, tc_now());
	sqlite3_bind_double(st, 8, tc_now());
	sqlite3_bind_text(st, 9, backend, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, TC_VERSION, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, prov->host, -1, SQLITE_STATIC);
	if (prov->git_commit[0])
		sqlite3_bind_text(st, 12, prov->git_commit, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 12);
	sqlite3_bind_int(st, 13, prov->git_dirty);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(j, err);
	sqlite3_finalize(st);
	free(dir);
	return rc;
}

int tc_experiment_set_spec(struct tc_journal *j, const struct tc_spec *spec,
			   const char *spec_path, struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(
		j,
		spec_path ? "UPDATE experiments SET spec_text = ?, spec_hash = ?,"
			    " spec_path = ?, ntrials = (SELECT count(*) FROM "
			    "trials WHERE exp = ?4), updated_at = ? WHERE name = ?4"
			  : "UPDATE experiments SET ntrials = (SELECT count(*) "
			    "FROM trials WHERE exp = ?4) WHERE name = ?4",
		err);
	int rc;

	if (!st)
		return TC_ERR_DB;
	if (spec_path) {
		sqlite3_bind_text(st, 1, spec->text, (int)spec->text_len,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 2, spec->hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, spec_path, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 5, tc_now());
	}
	sqlite3_bind_text(st, 4, spec->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(j, err);
	sqlite3_finalize(st);
	return rc;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? strdup((const char *)s) : NULL;
}

int tc_experiment_load(struct tc_journal *j, const char *name,
		       struct tc_exp_info *e, struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(
		j,
		"SELECT name, spec_path, spec_dir, spec_text, spec_hash, seed,"
		" created_at, updated_at, state, backend, tc_version, host,"
		" git_commit, git_dirty, ntrials FROM experiments WHERE name = ?",
		err);
	int rc;

	memset(e, 0, sizeof(*e));
	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (rc == SQLITE_DONE)
			return tc_error_set(err, TC_ERR_NOTFOUND,
					    "no experiment '%s' in %s (see "
					    "`trainctl ls`, or pass --state-dir)",
					    name, j->dir);
		return db_fail(j, err);
	}
	e->name = col_dup(st, 0);
	e->spec_path = col_dup(st, 1);
	e->spec_dir = col_dup(st, 2);
	e->spec_text = col_dup(st, 3);
	e->spec_hash = col_dup(st, 4);
	e->seed = (uint64_t)sqlite3_column_int64(st, 5);
	e->created_at = sqlite3_column_double(st, 6);
	e->updated_at = sqlite3_column_double(st, 7);
	e->state = col_dup(st, 8);
	e->backend = col_dup(st, 9);
	e->tc_version = col_dup(st, 10);
	e->host = col_dup(st, 11);
	e->git_commit = col_dup(st, 12);
	e->git_dirty = sqlite3_column_type(st, 13) == SQLITE_NULL
			       ? -1
			       : sqlite3_column_int(st, 13);
	e->ntrials = sqlite3_column_int64(st, 14);
	sqlite3_finalize(st);
	if (!e->name || !e->spec_text) {
		tc_exp_info_free(e);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	return 0;
}

void tc_exp_info_free(struct tc_exp_info *e)
{
	free(e->name);
	free(e->spec_path);
	free(e->spec_dir);
	free(e->spec_text);
	free(e->spec_hash);
	free(e->state);
	free(e->backend);
	free(e->tc_version);
	free(e->host);
	free(e->git_commit);
	memset(e, 0, sizeof(*e));
}

int tc_experiment_set_state(struct tc_journal *j, const char *name,
			    const char *state, struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(
		j, "UPDATE experiments SET state = ?, updated_at = ? WHERE name = ?",
		err);
	int rc;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, tc_now());
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(j, err);
	sqlite3_finalize(st);
	return rc;
}

int tc_experiment_list(struct tc_journal *j,
		       int (*fn)(void *ctx, const struct tc_exp_summary *e),
		       void *ctx, struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(
		j,
		"SELECT e.name, e.state, e.ntrials, e.created_at,"
		" (SELECT count(*) FROM trials t WHERE t.exp = e.name AND t.state = 'queued'),"
		" (SELECT count(*) FROM trials t WHERE t.exp = e.name AND t.state IN ('starting','running')),"
		" (SELECT count(*) FROM trials t WHERE t.exp = e.name AND t.state = 'succeeded'),"
		" (SELECT count(*) FROM trials t WHERE t.exp = e.name AND t.state IN ('failed','timed_out')),"
		" (SELECT count(*) FROM trials t WHERE t.exp = e.name AND t.state = 'cancelled')"
		" FROM experiments e ORDER BY e.created_at",
		err);
	int rc, stop = 0;

	if (!st)
		return TC_ERR_DB;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tc_exp_summary e = {
			(const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1),
			sqlite3_column_int64(st, 2),
			sqlite3_column_double(st, 3),
			sqlite3_column_int64(st, 4),
			sqlite3_column_int64(st, 5),
			sqlite3_column_int64(st, 6),
			sqlite3_column_int64(st, 7),
			sqlite3_column_int64(st, 8),
		};

		stop = fn(ctx, &e);
	}
	if (!stop && rc != SQLITE_DONE)
		stop = db_fail(j, err);
	sqlite3_finalize(st);
	return stop;
}

int tc_experiment_delete(struct tc_journal *j, const char *name,
			 struct tc_error *err)
{
	static const char *const sql[] = {
		"DELETE FROM metrics WHERE exp = ?1",
		"DELETE FROM final WHERE exp = ?1",
		"DELETE FROM events WHERE exp = ?1",
		"DELETE FROM trials WHERE exp = ?1",
		"DELETE FROM experiments WHERE name = ?1",
	};
	int rc;

	if ((rc = tc_journal_begin(j, err)))
		return rc;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st = tc_journal_prepare(j, sql[i], err);

		if (!st) {
			tc_journal_rollback(j);
			return TC_ERR_DB;
		}
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			db_fail(j, err);
			tc_journal_rollback(j);
			return TC_ERR_DB;
		}
	}
	return tc_journal_commit(j, err);
}
