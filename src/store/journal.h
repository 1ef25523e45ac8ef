/*
 * journal.h — the journal: one SQLite database (WAL mode) per state
 * directory, the single source of truth for experiments and trials.
 *
 * Every state change of a trial is one committed transaction, written
 * before the change is acted on (DESIGN.md, "Intent before action"): the
 * trial state machine, what is durable in each state, and the metrics
 * tables are in store/trials.h, the only module that writes them.
 *
 * Concurrency: one runner per experiment holds an advisory lock
 * (locks/NAME.lock in the state directory); other verbs read, and `cancel`
 * and `retry` write flags the runner picks up.  Every write transaction is
 * short (a runner writes a heavy trial's metrics in bounded batches, see
 * exec/record.h), and a writer that finds the journal locked waits for its
 * turn, up to TC_JOURNAL_BUSY_MS, rather than fail.
 */
#ifndef TC_JOURNAL_H
#define TC_JOURNAL_H

#include <limits.h>
#include <stddef.h>
#include <sqlite3.h>

#include "util/clock.h"
#include "util/error.h"

enum tc_state {
	TC_ST_QUEUED,
	TC_ST_STARTING,
	TC_ST_RUNNING,
	TC_ST_SUCCEEDED,
	TC_ST_FAILED,
	TC_ST_TIMED_OUT,
	TC_ST_CANCELLED,
	TC_ST_PRUNED, /* stopped early (early_stop): never retried */
	TC_ST_COUNT
};

const char *tc_state_name(enum tc_state s);
int tc_state_parse(const char *s); /* enum value or -1 */
int tc_state_final(enum tc_state s); /* succeeded/failed/timed_out/cancelled/
				       pruned */

/* How long a connection waits for another's write lock before it gives up
 * with "database is locked". */
#define TC_JOURNAL_BUSY_MS 120000

/* The journal's schema version (meta 'schema'), documented in the README
 * as a public interface.  A change to the tables raises it and adds a
 * migration (journal.c); a journal of a newer version is refused. */
#define TC_JOURNAL_SCHEMA 2
#define TC_STR_(x) #x
#define TC_STR(x) TC_STR_(x)

struct tc_journal {
	sqlite3 *db;
	char *dir;   /* the state directory, absolute */
	char *path;  /* dir/journal.db */
	int readonly;
};

/* Open for reading and writing (creating directory, database and schema
 * when missing).  Refuses (TC_ERR_USAGE) a state directory that belongs to
 * another user and is writable by others (see util/fsutil.h); the journal's
 * files are created 0600 and never through a link. */
int tc_journal_open(const char *state_dir, struct tc_journal **out,
		    struct tc_error *err);

/* Open an existing journal for reading only: no schema, no directory, no
 * write (SQLite makes the -shm index of a WAL database only where it can),
 * so it works on a read-only mount, a bare copy of journal.db, or a
 * colleague's directory one may read.  Writes through it fail. */
int tc_journal_open_ro(const char *state_dir, struct tc_journal **out,
		       struct tc_error *err);

/* Copy the write-ahead log into journal.db and empty it (skipped, -1,
 * when another connection is busy: it does this itself when it closes). */
int tc_journal_checkpoint(struct tc_journal *j);

/* Close; a connection that wrote checkpoints first, so that journal.db
 * alone is complete at rest. */
void tc_journal_close(struct tc_journal *j);

/* Run SQL without results.  0 or TC_ERR_DB (err says what SQLite said). */
int tc_journal_exec(struct tc_journal *j, const char *sql, struct tc_error *err);
int tc_journal_begin(struct tc_journal *j, struct tc_error *err); /* IMMEDIATE */
int tc_journal_commit(struct tc_journal *j, struct tc_error *err);
void tc_journal_rollback(struct tc_journal *j);

/* Prepare a statement (cached by SQLite's own parser: cheap to call). */
sqlite3_stmt *tc_journal_prepare(struct tc_journal *j, const char *sql,
				 struct tc_error *err);

/* SQLite's data_version of the connection: it changes when another
 * connection commits (-1 on error). */
long long tc_journal_data_version(struct tc_journal *j);

/* Record a state change in the events log (inside the caller's
 * transaction). */
int tc_journal_event(struct tc_journal *j, const char *exp, const char *trial,
		     const char *state, const char *detail, struct tc_error *err);

/* Does the experiment exist?  1, 0, or <0. */
int tc_journal_has_experiment(struct tc_journal *j, const char *name,
			      struct tc_error *err);

/* The state directory, found as git finds .git: --state-dir (flag) if
 * given, else $TRAINCTL_HOME, else the nearest directory named .trainctl
 * in the current directory or its parents, else ./.trainctl (which `run`
 * creates).  The one rule for every verb, with a spec or
 * without.  Returns a malloc'd absolute path, NULL when out of memory. */
char *tc_state_dir_resolve(const char *flag);

/* Is dir (absolute) the directory tc_state_dir_resolve(NULL) finds from
 * here?  When it is not, a command printed for the user to run next must
 * say --state-dir. */
int tc_state_dir_is_default(const char *dir);

/* What a command printed for the user to run next must add so that it
 * works from the current directory: "" when dir is the state directory
 * found from here anyway, else " --state-dir DIR" (DIR quoted for the
 * shell when needed).  Written into buf (len >= TC_STATE_HINT_MAX holds
 * any path). */
#define TC_STATE_HINT_MAX (PATH_MAX * 4 + 32)
void tc_state_dir_hint(const char *dir, char *buf, size_t len);

#endif
