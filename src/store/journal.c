/*
 * journal.c — opening the journal, its schema, and small helpers (see
 * journal.h for the states and what is durable in each).
 */
#include "store/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"

static const char *const state_names[TC_ST_COUNT] = {
	[TC_ST_QUEUED] = "queued",	 [TC_ST_STARTING] = "starting",
	[TC_ST_RUNNING] = "running",	 [TC_ST_SUCCEEDED] = "succeeded",
	[TC_ST_FAILED] = "failed",	 [TC_ST_TIMED_OUT] = "timed_out",
	[TC_ST_CANCELLED] = "cancelled", [TC_ST_PRUNED] = "pruned",
};

const char *tc_state_name(enum tc_state s)
{
	return (unsigned)s < TC_ST_COUNT ? state_names[s] : "unknown";
}

int tc_state_parse(const char *s)
{
	for (int i = 0; i < TC_ST_COUNT; i++)
		if (s && strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

int tc_state_final(enum tc_state s)
{
	return s == TC_ST_SUCCEEDED || s == TC_ST_FAILED ||
	       s == TC_ST_TIMED_OUT || s == TC_ST_CANCELLED ||
	       s == TC_ST_PRUNED;
}

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"INSERT OR IGNORE INTO meta VALUES('schema', '" TC_STR(TC_JOURNAL_SCHEMA) "');"
	"CREATE TABLE IF NOT EXISTS experiments("
	" name TEXT PRIMARY KEY, spec_path TEXT, spec_dir TEXT,"
	" spec_text TEXT, spec_hash TEXT, seed INTEGER,"
	" created_at REAL, updated_at REAL, state TEXT, backend TEXT,"
	" tc_version TEXT, host TEXT, git_commit TEXT, git_dirty INTEGER,"
	" ntrials INTEGER, note TEXT);"
	"CREATE TABLE IF NOT EXISTS trials("
	" exp TEXT NOT NULL, id TEXT NOT NULL, idx INTEGER NOT NULL,"
	" params TEXT NOT NULL, command TEXT NOT NULL, seed INTEGER,"
	" state TEXT NOT NULL DEFAULT 'queued', attempt INTEGER DEFAULT 0,"
	" next_at REAL DEFAULT 0, sup_pid INTEGER, sup_start INTEGER,"
	" pgid INTEGER, gpus TEXT, exit_code INTEGER, term_signal INTEGER,"
	" reason TEXT, started_at REAL, ended_at REAL, wall REAL, utime REAL,"
	" stime REAL, maxrss_kb INTEGER, cancel_req INTEGER DEFAULT 0,"
	" env TEXT, retry_base INTEGER DEFAULT 0,"
	" total_wall REAL DEFAULT 0, total_cpu REAL DEFAULT 0,"
	" stage TEXT, item TEXT, inputs TEXT, cache_key TEXT,"
	" PRIMARY KEY(exp, id));"
	"CREATE INDEX IF NOT EXISTS trials_by_state ON trials(exp, state, idx);"
	"CREATE UNIQUE INDEX IF NOT EXISTS trials_by_idx ON trials(exp, idx);"
	"CREATE TABLE IF NOT EXISTS metrics("
	" exp TEXT NOT NULL, trial TEXT NOT NULL, attempt INTEGER NOT NULL,"
	" name TEXT NOT NULL, step REAL, value REAL, special TEXT, at REAL);"
	"CREATE INDEX IF NOT EXISTS metrics_by_trial ON metrics(exp, trial, attempt);"
	"CREATE TABLE IF NOT EXISTS final("
	" exp TEXT NOT NULL, trial TEXT NOT NULL, name TEXT NOT NULL,"
	" attempt INTEGER, step REAL, value REAL, special TEXT,"
	" PRIMARY KEY(exp, trial, name));"
	"CREATE TABLE IF NOT EXISTS needs("
	" exp TEXT NOT NULL, trial TEXT NOT NULL, needed TEXT NOT NULL,"
	" PRIMARY KEY(exp, trial, needed)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS needs_by_needed ON needs(exp, needed);"
	"CREATE TABLE IF NOT EXISTS events("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, exp TEXT, trial TEXT,"
	" at REAL, state TEXT, detail TEXT);";

/* migrations[k - 1] brings a journal of schema version k to k + 1:
 * appended when the schema changes (and TC_JOURNAL_SCHEMA with it); a
 * journal is migrated when a writing command opens it (the schema above
 * has made the new tables already). */
/* views[k - 1] shows a journal of schema version k, opened read-only (it
 * is not migrated), as the current schema: temporary objects, which
 * shadow the file's own of the same name. */
static const char *const views[TC_JOURNAL_SCHEMA] = {
	/* 1: no pipelines */
	"CREATE TEMP VIEW trials AS SELECT *, NULL AS stage, NULL AS item, "
	"NULL AS inputs, NULL AS cache_key FROM main.trials;"
	"CREATE TEMP TABLE needs(exp TEXT, trial TEXT, needed TEXT);",
	NULL,
};

static const char *const migrations[TC_JOURNAL_SCHEMA] = {
	/* 1 → 2: pipelines (stages:): a job's stage and item, and the
	 * jobs it needs (the needs table) */
	"ALTER TABLE trials ADD COLUMN stage TEXT;"
	"ALTER TABLE trials ADD COLUMN item TEXT;"
	"ALTER TABLE trials ADD COLUMN inputs TEXT;"
	"ALTER TABLE trials ADD COLUMN cache_key TEXT;",
	NULL,
};

/* The journal's schema version against this trainctl's: a newer one is
 * refused (its meaning is unknown here), an older one migrated when the
 * journal may be written.  0 or an error. */
static int check_schema(struct tc_journal *j, int may_migrate,
			struct tc_error *err)
{
	sqlite3_stmt *st;
	int v = 0, rc = 0;

	if (sqlite3_prepare_v2(j->db, "SELECT value FROM meta WHERE key = 'schema'",
			       -1, &st, NULL) != SQLITE_OK)
		return 0; /* (no meta table: checked where it matters) */
	if (sqlite3_step(st) == SQLITE_ROW)
		v = atoi((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (v > TC_JOURNAL_SCHEMA)
		return tc_error_set(err, TC_ERR_STATE,
				    "journal %s has schema version %d; this "
				    "trainctl (%s) knows versions up to %d: use "
				    "a newer trainctl",
				    j->path, v, TC_VERSION, TC_JOURNAL_SCHEMA);
	if (v >= 1 && v < TC_JOURNAL_SCHEMA && !may_migrate) {
		if (views[v - 1] &&
		    sqlite3_exec(j->db, views[v - 1], NULL, NULL, NULL) != SQLITE_OK)
			return tc_error_set(err, TC_ERR_DB, "journal %s (schema "
					    "%d): %s", j->path, v,
					    sqlite3_errmsg(j->db));
		return 0;
	}
	if (v < 1 || v == TC_JOURNAL_SCHEMA || !may_migrate)
		return 0;
	if ((rc = tc_journal_begin(j, err)))
		return rc;
	for (int k = v; k < TC_JOURNAL_SCHEMA && !rc; k++)
		if (migrations[k - 1])
			rc = tc_journal_exec(j, migrations[k - 1], err);
	if (!rc) {
		char *sql = sqlite3_mprintf("UPDATE meta SET value = '%d' WHERE "
					    "key = 'schema'",
					    TC_JOURNAL_SCHEMA);

		rc = sql ? tc_journal_exec(j, sql, err)
			 : tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		sqlite3_free(sql);
	}
	if (!rc)
		rc = tc_journal_commit(j, err);
	if (rc)
		tc_journal_rollback(j);
	return rc;
}

int tc_journal_exec(struct tc_journal *j, const char *sql, struct tc_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(j->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		tc_error_set(err, TC_ERR_DB, "journal %s: %s", j->path,
			     msg ? msg : sqlite3_errmsg(j->db));
		sqlite3_free(msg);
		return TC_ERR_DB;
	}
	return 0;
}

/* The state directory may be used for writing: refuse one another user
 * controls (the rule ssh applies to ~/.ssh), where files could be swapped
 * for links under our feet. */
static int check_state_dir(const char *dir, struct tc_error *err)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return tc_error_set(err, TC_ERR_IO, "cannot use state directory %s: %s",
				    dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return tc_error_set(err, TC_ERR_USAGE,
				    "state directory %s is not a directory", dir);
	if (!tc_dir_trusted(&st))
		return tc_error_set(
			err, TC_ERR_USAGE,
			"state directory %s belongs to another user (uid %ld) and "
			"is writable by others: anyone who can write there could "
			"redirect what trainctl writes; use a directory of your "
			"own (--state-dir), or have its owner make it writable by "
			"the owner alone",
			dir, (long)st.st_uid);
	return 0;
}

/* The journal's files are created 0600 (env values are secrets), never
 * through a link: the database here, its -wal and -shm by SQLite with the
 * database's mode, after we made sure no link or foreign file is in their
 * place. */
static int prepare_files(const char *path, struct tc_error *err)
{
	static const char *const sfx[] = {"-wal", "-shm"};
	int fd = tc_private_open(path, O_RDWR | O_CREAT, 0600);

	if (fd < 0)
		return tc_error_set(err, TC_ERR_IO, "cannot open journal %s: %s",
				    path, tc_fs_strerror(errno));
	close(fd);
	for (int i = 0; i < 2; i++) {
		char side[PATH_MAX];
		struct stat st;
		int e;

		snprintf(side, sizeof(side), "%s%s", path, sfx[i]);
		if (lstat(side, &st) != 0)
			continue;
		if (S_ISLNK(st.st_mode))
			e = ELOOP;
		else if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
			e = EMLINK;
		else if (st.st_uid != geteuid())
			e = EPERM;
		else
			continue;
		return tc_error_set(err, TC_ERR_IO, "cannot open journal %s: %s",
				    side, tc_fs_strerror(e));
	}
	return 0;
}

static int journal_new(const char *state_dir, struct tc_journal **out,
		       struct tc_error *err)
{
	struct tc_journal *j = calloc(1, sizeof(*j));

	*out = NULL;
	if (!j)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	j->dir = strdup(state_dir);
	if (asprintf(&j->path, "%s/journal.db", state_dir) < 0)
		j->path = NULL;
	if (!j->dir || !j->path) {
		tc_journal_close(j);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	*out = j;
	return 0;
}

int tc_journal_open(const char *state_dir, struct tc_journal **out,
		    struct tc_error *err)
{
	struct tc_journal *j;
	char *path;
	int rc;

	*out = NULL;
	if (tc_mkdir_p(state_dir, 0755) != 0)
		return tc_error_set(err, TC_ERR_IO,
				    "cannot create state directory %s: %s",
				    state_dir, strerror(errno));
	if ((rc = check_state_dir(state_dir, err)) ||
	    (rc = journal_new(state_dir, &j, err)))
		return rc;
	path = j->path;
	if ((rc = prepare_files(path, err))) {
		tc_journal_close(j);
		return rc;
	}
	if (sqlite3_open_v2(path, &j->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		tc_error_set(err, TC_ERR_DB, "cannot open journal %s: %s", path,
			     j->db ? sqlite3_errmsg(j->db) : "out of memory");
		tc_journal_close(j);
		return TC_ERR_DB;
	}
	sqlite3_busy_timeout(j->db, TC_JOURNAL_BUSY_MS);
	/* no checkpoint of the whole WAL at every close (tens of ms at the end
	 * of each command): the automatic checkpoints keep it small */
	sqlite3_db_config(j->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (tc_journal_exec(j,
			    "PRAGMA journal_mode=WAL;"
			    "PRAGMA synchronous=NORMAL;",
			    err) ||
	    tc_journal_exec(j, schema, err)) {
		tc_journal_close(j);
		return TC_ERR_DB;
	}
	if ((rc = check_schema(j, 1, err)) ||
	    /* on columns a migration may have added */
	    (rc = tc_journal_exec(j, "CREATE INDEX IF NOT EXISTS trials_by_key "
				  "ON trials(cache_key) WHERE cache_key IS NOT "
				  "NULL;", err))) {
		tc_journal_close(j);
		return rc;
	}
	*out = j;
	return 0;
}

static int journal_connect(struct tc_journal *j, const char *name, int flags,
			   struct tc_error *err)
{
	if (sqlite3_open_v2(name, &j->db, flags | SQLITE_OPEN_NOMUTEX, NULL) ==
	    SQLITE_OK)
		return 0;
	tc_error_set(err, TC_ERR_DB, "cannot open journal %s: %s", j->path,
		     j->db ? sqlite3_errmsg(j->db) : "out of memory");
	sqlite3_close_v2(j->db);
	j->db = NULL;
	return TC_ERR_DB;
}

/* Can the journal be read?  A read-only connection opens lazily: the
 * first statement tells. */
static int journal_readable(struct tc_journal *j)
{
	return sqlite3_exec(j->db, "SELECT count(*) FROM sqlite_schema", NULL,
			    NULL, NULL) == SQLITE_OK;
}

int tc_journal_open_ro(const char *state_dir, struct tc_journal **out,
		       struct tc_error *err)
{
	struct tc_journal *j;
	char *uri;
	int rc;

	if ((rc = journal_new(state_dir, &j, err)))
		return rc;
	j->readonly = 1;
	if ((rc = journal_connect(j, j->path, SQLITE_OPEN_READONLY, err))) {
		tc_journal_close(j);
		return rc;
	}
	sqlite3_busy_timeout(j->db, 10000);
	if (!journal_readable(j)) {
		/* A WAL database whose -shm index we can neither make nor
		 * use (a read-only mount, a bare copy of journal.db in a
		 * directory we cannot write, a colleague's -shm that is
		 * theirs alone): read journal.db as immutable.  What a run
		 * still holds in its write-ahead log is not seen; at rest
		 * there is nothing there (see tc_journal_close). */
		sqlite3_close_v2(j->db);
		j->db = NULL;
		uri = sqlite3_mprintf("file:%q?immutable=1", j->path);
		if (!uri) {
			tc_journal_close(j);
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		}
		rc = journal_connect(j, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
				     err);
		sqlite3_free(uri);
		if (!rc && !journal_readable(j))
			rc = tc_error_set(err, TC_ERR_DB, "cannot read journal %s: %s",
					  j->path, sqlite3_errmsg(j->db));
		if (rc) {
			tc_journal_close(j);
			return rc;
		}
	}
	/* a journal.db that a first run had only begun to make */
	if (sqlite3_exec(j->db, "SELECT 1 FROM experiments LIMIT 0", NULL, NULL,
			 NULL) != SQLITE_OK) {
		tc_error_set(err, TC_ERR_NOTFOUND, "no trainctl state in %s (%s)",
			     state_dir, sqlite3_errmsg(j->db));
		tc_journal_close(j);
		return TC_ERR_NOTFOUND;
	}
	if ((rc = check_schema(j, 0, err))) {
		tc_journal_close(j);
		return rc;
	}
	*out = j;
	return 0;
}

int tc_journal_checkpoint(struct tc_journal *j)
{
	int rc;

	if (!j || !j->db || j->readonly)
		return 0;
	/* never wait for another runner: it checkpoints when it ends */
	sqlite3_busy_timeout(j->db, 0);
	rc = sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				       NULL, NULL);
	sqlite3_busy_timeout(j->db, 10000);
	return rc == SQLITE_OK ? 0 : -1;
}

void tc_journal_close(struct tc_journal *j)
{
	if (!j)
		return;
	if (j->db) {
		/* at rest, journal.db alone holds everything (a copy of it is
		 * the whole journal): what this connection wrote goes into it,
		 * once, here, rather than a checkpoint at every close */
		if (sqlite3_total_changes(j->db) > 0)
			tc_journal_checkpoint(j);
		sqlite3_close_v2(j->db);
	}
	free(j->dir);
	free(j->path);
	free(j);
}

int tc_journal_begin(struct tc_journal *j, struct tc_error *err)
{
	return tc_journal_exec(j, "BEGIN IMMEDIATE", err);
}

int tc_journal_commit(struct tc_journal *j, struct tc_error *err)
{
	return tc_journal_exec(j, "COMMIT", err);
}

void tc_journal_rollback(struct tc_journal *j)
{
	sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3_stmt *tc_journal_prepare(struct tc_journal *j, const char *sql,
				 struct tc_error *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK) {
		tc_error_set(err, TC_ERR_DB, "journal %s: %s", j->path,
			     sqlite3_errmsg(j->db));
		return NULL;
	}
	return st;
}

long long tc_journal_data_version(struct tc_journal *j)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(j->db, "PRAGMA data_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int tc_journal_event(struct tc_journal *j, const char *exp, const char *trial,
		     const char *state, const char *detail, struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(
		j, "INSERT INTO events(exp, trial, at, state, detail) "
		   "VALUES(?, ?, ?, ?, ?)",
		err);
	int rc;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 1, exp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, trial, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, tc_now());
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return tc_error_set(err, TC_ERR_DB, "journal: %s",
				    sqlite3_errmsg(j->db));
	return 0;
}

int tc_journal_has_experiment(struct tc_journal *j, const char *name,
			      struct tc_error *err)
{
	sqlite3_stmt *st = tc_journal_prepare(
		j, "SELECT 1 FROM experiments WHERE name = ?", err);
	int rc;

	if (!st)
		return TC_ERR_DB;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return tc_error_set(err, TC_ERR_DB, "journal: %s", sqlite3_errmsg(j->db));
}

/* The nearest directory named .trainctl in the current directory or its
 * parents (absolute, malloc'd), or NULL when there is none. */
static char *find_upwards(void)
{
	char *dir = tc_abspath(".");

	while (dir) {
		char *cand = NULL, *up;
		struct stat st;

		if (asprintf(&cand, "%s%s.trainctl", dir,
			     dir[1] ? "/" : "") < 0) {
			free(dir);
			return NULL;
		}
		if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(dir);
			return cand;
		}
		free(cand);
		if (!dir[1]) /* "/" searched */
			break;
		up = tc_dirname(dir);
		free(dir);
		dir = up;
	}
	free(dir);
	return NULL;
}

char *tc_state_dir_resolve(const char *flag)
{
	const char *home = getenv("TRAINCTL_HOME");
	char *found;

	if (flag && *flag)
		return tc_abspath(flag);
	if (home && *home)
		return tc_abspath(home);
	if ((found = find_upwards()))
		return found;
	return tc_abspath(".trainctl");
}

int tc_state_dir_is_default(const char *dir)
{
	char *d = tc_state_dir_resolve(NULL);
	int same = d && !strcmp(d, dir);

	free(d);
	return same;
}

void tc_state_dir_hint(const char *dir, char *buf, size_t len)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./+-,:@%";
	size_t n;

	buf[0] = '\0';
	if (!dir || tc_state_dir_is_default(dir))
		return;
	n = (size_t)snprintf(buf, len, " --state-dir ");
	if (dir[strspn(dir, safe)] == '\0') {
		snprintf(buf + n, len - n, "%s", dir);
		return;
	}
	/* quoted for the shell: 'it'\''s' */
	buf[n++] = '\'';
	for (const char *r = dir; *r && n + 6 < len; r++) {
		if (*r == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else
			buf[n++] = *r;
	}
	buf[n++] = '\'';
	buf[n] = '\0';
}
