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

#include "search/search.h"
#include "template/template.h"
#include "util/fsutil.h"
#include "util/spawn.h"

/* ---- provenance ---------------------------------------------------------- */

void tc_provenance_collect(const char *spec_dir, struct tc_provenance *p)
{
	char buf[4096];
	char *const head[] = {"git", "-C", (char *)spec_dir, "rev-parse", "HEAD",
			      NULL};
	char *const stat[] = {"git", "-C", (char *)spec_dir, "status",
			      "--porcelain", "--untracked-files=no", NULL};

	memset(p, 0, sizeof(*p));
	gethostname(p->host, sizeof(p->host) - 1);
	p->git_dirty = -1;
	if (tc_capture(head, buf, sizeof(buf)) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		buf[sizeof(p->git_commit) - 1] = '\0';
		memcpy(p->git_commit, buf, strlen(buf) + 1);
		if (tc_capture(stat, buf, sizeof(buf)) == 0)
			p->git_dirty = buf[0] != '\0';
	}
}

/* ---- resolving a trial ---------------------------------------------------- */

struct lookup_ctx {
	const struct tc_spec *spec;
	const struct tc_value *values;
	const char *id, *trial_dir;
	char index[32], seed[32];
};

static const char *lookup(void *vctx, const char *name, size_t len)
{
	struct lookup_ctx *c = vctx;
	int i = tc_spec_param_index(c->spec, name, len);

#define IS(s) (len == strlen(s) && memcmp(name, s, len) == 0)
	if (i >= 0)
		return c->values[i].text ? c->values[i].text : "";
	if (IS("trial_id"))
		return c->id;
	if (IS("trial_dir"))
		return c->trial_dir;
	if (IS("experiment"))
		return c->spec->name;
	if (IS("index"))
		return c->index;
	if (IS("seed"))
		return c->seed;
#undef IS
	return NULL;
}

static int valid_env_name(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

int tc_trial_resolve(const struct tc_spec *spec, const struct tc_value *values,
		     const char *id, uint64_t index, uint32_t seed,
		     const char *trial_dir, json_t **argv_out, json_t **env_out,
		     struct tc_error *err)
{
	struct lookup_ctx c = {spec, values, id, trial_dir, "", ""};
	json_t *argv = json_array(), *env = json_object();
	int rc = 0;

	*argv_out = *env_out = NULL;
	snprintf(c.index, sizeof(c.index), "%" PRIu64, index);
	snprintf(c.seed, sizeof(c.seed), "%" PRIu32, seed);
	if (!argv || !env)
		goto nomem;
	if (spec->script.text) {
		/* A script gets parameters only through its environment. */
		if (json_array_append_new(argv, json_string("/bin/sh")) ||
		    json_array_append_new(argv, json_string("-c")) ||
		    json_array_append_new(argv, json_string(spec->script.text)))
			goto nomem;
		for (size_t i = 0; i < spec->nparams; i++) {
			const char *name = spec->params[i].name;
			const char *text = values[i].text ? values[i].text : "";
			char key[256];
			size_t k = 0;

			/* TRAINCTL_PARAM_<NAME> for every parameter (batch-size
			 * → TRAINCTL_PARAM_BATCH_SIZE), and the bare name too
			 * when it is a valid shell variable name */
			k = (size_t)snprintf(key, sizeof(key), "TRAINCTL_PARAM_");
			for (const char *ch = name; *ch && k + 1 < sizeof(key); ch++)
				key[k++] = (*ch >= 'a' && *ch <= 'z') ? (char)(*ch - 32)
					   : ((*ch >= 'A' && *ch <= 'Z') ||
					      (*ch >= '0' && *ch <= '9'))
						   ? *ch
						   : '_';
			key[k] = '\0';
			if (json_object_set_new(env, key, json_string(text)))
				goto nomem;
			if (valid_env_name(name) &&
			    json_object_set_new(env, name, json_string(text)))
				goto nomem;
		}
	} else {
		for (size_t i = 0; i < spec->ncommand; i++) {
			char *s = NULL;

			rc = tc_template_render(spec->command[i].text, lookup, &c,
						&s, err);
			if (rc)
				goto fail;
			if (json_array_append_new(argv, json_string(s))) {
				free(s);
				goto nomem;
			}
			free(s);
		}
	}
	for (size_t i = 0; i < spec->nenv; i++) {
		char *s = NULL;

		rc = tc_template_render(spec->env[i].value, lookup, &c, &s, err);
		if (rc)
			goto fail;
		if (json_object_set_new(env, spec->env[i].key, json_string(s))) {
			free(s);
			goto nomem;
		}
		free(s);
	}
	*argv_out = argv;
	*env_out = env;
	return 0;
nomem:
	rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
fail:
	json_decref(argv);
	json_decref(env);
	return rc;
}

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

/* A trial found again by a re-plan (old: its row, just stepped): if the
 * command or env resolved now differ from the stored ones, store the new
 * ones and record "command changed: OLD -> NEW" for the trial. */
static int reresolve(struct tc_journal *j, const char *exp, const char *id,
		     sqlite3_stmt *old, sqlite3_stmt *upd, const char *argv,
		     const char *env, struct tc_error *err)
{
	const char *oa = (const char *)sqlite3_column_text(old, 1);
	const char *oe = (const char *)sqlite3_column_text(old, 2);
	int cmd, rc;
	size_t n;
	char *what;

	if (oa && oe && !strcmp(oa, argv) && !strcmp(oe, env))
		return 0;
	cmd = !oa || strcmp(oa, argv);
	n = strlen(cmd ? argv : env) + strlen(cmd ? (oa ? oa : "") : (oe ? oe : "")) + 8;
	if (!(what = malloc(n)))
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	snprintf(what, n, "%s -> %s", cmd ? (oa ? oa : "") : (oe ? oe : ""),
		 cmd ? argv : env);
	sqlite3_reset(upd);
	sqlite3_bind_text(upd, 1, argv, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(upd, 2, env, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(upd, 3, exp, -1, SQLITE_STATIC);
	sqlite3_bind_text(upd, 4, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(upd) == SQLITE_DONE ? 0 : db_fail(j, err);
	if (!rc)
		rc = tc_journal_event(j, exp, id,
				      cmd ? "command changed" : "env changed",
				      what, err);
	free(what);
	return rc;
}

/* Insert every trial of the plan that the journal does not hold yet.
 * *added counts them; keep, when given, gets every planned id (its first
 * parameter).  With keep (a re-plan), a trial the journal holds that has
 * not succeeded and is not live (queued, failed, timed out, cancelled) is
 * resolved again from this spec, at its own index: if its command or env
 * changed, the new ones replace them and the journal gets a "command
 * changed" event naming the trial.  Succeeded and running trials keep what
 * they ran.  Runs inside the caller's transaction. */
static int insert_plan(struct tc_journal *j, const struct tc_spec *spec,
		       uint64_t seed, const char *trial_dir, long long *added,
		       long long *total, sqlite3_stmt *keep,
		       struct tc_error *err)
{
	struct tc_plan *plan = NULL;
	sqlite3_stmt *ins = NULL, *maxidx = NULL, *old = NULL, *upd = NULL;
	const struct tc_trial *t;
	long long base = 0;
	int rc;

	*added = *total = 0;
	rc = tc_plan_new(spec, seed, &plan, err);
	if (rc)
		return rc;
	ins = tc_journal_prepare(
		j,
		"INSERT OR IGNORE INTO trials(exp, id, idx, params, command, seed,"
		" state, env) VALUES(?, ?, ?, ?, ?, ?, 'queued', ?)",
		err);
	maxidx = tc_journal_prepare(
		j, "SELECT coalesce(max(idx) + 1, 0) FROM trials WHERE exp = ?",
		err);
	if (keep) {
		old = tc_journal_prepare(
			j,
			"SELECT idx, command, env, state IN ('queued', 'failed', "
			"'timed_out', 'cancelled') FROM trials WHERE exp = ? AND "
			"id = ?",
			err);
		upd = tc_journal_prepare(j,
					 "UPDATE trials SET command = ?, env = ? "
					 "WHERE exp = ? AND id = ?",
					 err);
	}
	if (!ins || !maxidx || (keep && (!old || !upd))) {
		rc = TC_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(maxidx, 1, spec->name, -1, SQLITE_STATIC);
	if (sqlite3_step(maxidx) == SQLITE_ROW)
		base = sqlite3_column_int64(maxidx, 0);
	while ((rc = tc_plan_next(plan, &t, err)) == 1) {
		/* a pod's trial directory is its own, at a fixed path */
		char *dir = trial_dir ? strdup(trial_dir)
				      : tc_trial_dir(j, t->id);
		char *ptext, *atext, *etext;
		json_t *params = tc_trial_params_json(spec, t->values);
		json_t *argv = NULL, *env = NULL;
		long long idx = base + (long long)t->index;
		int redo = 0;

		(*total)++;
		if (!dir || !params) {
			free(dir);
			json_decref(params);
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (old) {
			sqlite3_reset(old);
			sqlite3_bind_text(old, 1, spec->name, -1, SQLITE_STATIC);
			sqlite3_bind_text(old, 2, t->id, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(old) == SQLITE_ROW) {
				idx = sqlite3_column_int64(old, 0);
				redo = sqlite3_column_int(old, 3) ? 1 : -1;
			}
		}
		rc = tc_trial_resolve(spec, t->values, t->id, (uint64_t)idx,
				      t->seed, dir, &argv, &env, err);
		free(dir);
		if (rc) {
			json_decref(params);
			goto out;
		}
		ptext = tc_params_dumps(params);
		atext = json_dumps(argv, JSON_COMPACT);
		etext = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(params);
		json_decref(argv);
		json_decref(env);
		if (!ptext || !atext || !etext) {
			free(ptext);
			free(atext);
			free(etext);
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (redo) {
			/* in the journal already: a trial that has not
			 * succeeded runs what the spec says now */
			rc = redo > 0 ? reresolve(j, spec->name, t->id, old,
						  upd, atext, etext, err)
				      : 0;
			free(ptext);
			free(atext);
			free(etext);
			if (rc)
				goto out;
			goto next;
		}
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, spec->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, t->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, idx);
		sqlite3_bind_text(ins, 4, ptext, -1, free);
		sqlite3_bind_text(ins, 5, atext, -1, free);
		sqlite3_bind_int64(ins, 6, t->seed);
		sqlite3_bind_text(ins, 7, etext, -1, free);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = db_fail(j, err);
			goto out;
		}
		*added += sqlite3_changes(j->db);
next:
		if (keep) {
			sqlite3_reset(keep);
			sqlite3_bind_text(keep, 1, t->id, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(keep) != SQLITE_DONE) {
				rc = db_fail(j, err);
				goto out;
			}
		}
	}
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(maxidx);
	sqlite3_finalize(old);
	sqlite3_finalize(upd);
	tc_plan_free(plan);
	return rc < 0 ? rc : 0;
}

int tc_experiment_create(struct tc_journal *j, const struct tc_spec *spec,
			 const char *backend, const char *trial_dir,
			 const char *spec_path, uint64_t seed,
			 const struct tc_provenance *prov, struct tc_error *err)
{
	sqlite3_stmt *st;
	long long added = 0, total = 0;
	char *dir = tc_dirname_abs(spec_path);
	int rc;

	if (!dir)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	rc = tc_journal_begin(j, err);
	if (rc) {
		free(dir);
		return rc;
	}
	rc = tc_journal_has_experiment(j, spec->name, err);
	if (rc != 0) {
		if (rc > 0)
			rc = tc_error_set(err, TC_ERR_STATE,
					  "experiment '%s' already exists in %s",
					  spec->name, j->dir);
		goto fail;
	}
	st = tc_journal_prepare(
		j,
		"INSERT INTO experiments(name, spec_path, spec_dir, spec_text,"
		" spec_hash, seed, created_at, updated_at, state, backend,"
		" tc_version, host, git_commit, git_dirty, ntrials)"
		" VALUES(?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?, ?, ?, ?, 0)",
		err);
	if (!st) {
		rc = TC_ERR_DB;
		goto fail;
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
	if (rc)
		goto fail;
	rc = insert_plan(j, spec, seed, trial_dir, &added, &total, NULL, err);
	if (rc)
		goto fail;
	if (added == 0) {
		rc = tc_error_at(err, TC_ERR_SPEC, spec->path,
				 spec->search.nexclude ? spec->search.exclude[0].pos.line : 1,
				 spec->search.nexclude ? spec->search.exclude[0].pos.col : 1,
				 "the plan is empty: every point is excluded");
		goto fail;
	}
	st = tc_journal_prepare(j, "UPDATE experiments SET ntrials = ? WHERE name = ?",
				err);
	if (!st) {
		rc = TC_ERR_DB;
		goto fail;
	}
	sqlite3_bind_int64(st, 1, added);
	sqlite3_bind_text(st, 2, spec->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(j, err);
	sqlite3_finalize(st);
	if (rc)
		goto fail;
	if ((rc = tc_journal_event(j, spec->name, NULL, "created", NULL, err)))
		goto fail;
	rc = tc_journal_commit(j, err);
	if (rc)
		goto fail;
	free(dir);
	return 0;
fail:
	tc_journal_rollback(j);
	free(dir);
	return rc;
}

int tc_experiment_replan(struct tc_journal *j, const struct tc_spec *spec,
			 const char *spec_path, const char *trial_dir,
			 struct tc_error *err)
{
	struct tc_exp_info e;
	sqlite3_stmt *st, *keep;
	long long added = 0, total = 0;
	int rc;

	rc = tc_experiment_load(j, spec->name, &e, err);
	if (rc)
		return rc;
	rc = tc_journal_begin(j, err);
	if (rc)
		goto out;
	/* queued trials that are no longer points of the plan are found with
	 * a temporary table of the planned ids, filled in the same pass */
	if ((rc = tc_journal_exec(j,
				  "CREATE TEMP TABLE IF NOT EXISTS keep(id TEXT "
				  "PRIMARY KEY); DELETE FROM keep;",
				  err)))
		goto fail;
	keep = tc_journal_prepare(j, "INSERT OR IGNORE INTO keep VALUES(?)", err);
	if (!keep) {
		rc = TC_ERR_DB;
		goto fail;
	}
	rc = insert_plan(j, spec, e.seed, trial_dir, &added, &total, keep,
			 err);
	sqlite3_finalize(keep);
	if (rc)
		goto fail;
	st = tc_journal_prepare(
		j,
		"UPDATE trials SET state = 'cancelled', reason = 'no longer in "
		"the spec' WHERE exp = ?1 AND state = 'queued' AND id NOT IN "
		"(SELECT id FROM keep)",
		err);
	if (!st) {
		rc = TC_ERR_DB;
		goto fail;
	}
	sqlite3_bind_text(st, 1, spec->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(j, err);
	sqlite3_finalize(st);
	if (rc)
		goto fail;
	st = tc_journal_prepare(
		j,
		"UPDATE experiments SET spec_text = ?, spec_hash = ?, spec_path = ?,"
		" ntrials = (SELECT count(*) FROM trials WHERE exp = ?4),"
		" updated_at = ? WHERE name = ?4",
		err);
	if (!st) {
		rc = TC_ERR_DB;
		goto fail;
	}
	sqlite3_bind_text(st, 1, spec->text, (int)spec->text_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, spec->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, spec_path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, spec->name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 5, tc_now());
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(j, err);
	sqlite3_finalize(st);
	if (rc)
		goto fail;
	if ((rc = tc_journal_event(j, spec->name, NULL, "replanned", NULL, err)))
		goto fail;
	rc = tc_journal_commit(j, err);
	goto out;
fail:
	tc_journal_rollback(j);
out:
	tc_exp_info_free(&e);
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
