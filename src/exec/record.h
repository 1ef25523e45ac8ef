/*
 * record.h — what both backends' schedulers (runner.c for the local
 * backend, kube.c for Kubernetes) write to and read from the journal in the
 * same way: statement stepping with the journal's error, trial events,
 * metric values (SQLite keeps NaN as NULL, so non-finite values keep their
 * text), the counts of an experiment's trials by state, the requeue of
 * interrupted trials on resume, and the one-line forms of parameters and
 * log rotation between attempts.
 */
#ifndef TC_RECORD_H
#define TC_RECORD_H

#include <stddef.h>

#include <sqlite3.h>

#include "store/journal.h"
#include "util/error.h"

/* Step a statement that returns no rows, then reset it.  0 or TC_ERR_DB
 * with what SQLite said. */
int tc_rec_step(struct tc_journal *j, sqlite3_stmt *st, struct tc_error *err);

/* TC_ERR_DB with the journal's last SQLite error. */
int tc_rec_dbfail(struct tc_journal *j, struct tc_error *err);

/* The statement tc_rec_event() takes (prepare once per scheduler). */
#define TC_REC_EVENT_SQL \
	"INSERT INTO events(exp, trial, at, state, detail) VALUES(?, ?, ?, ?, ?)"

/* Statements both schedulers prepare (parameters as numbered). */
#define TC_REC_NEXT_AT_SQL \
	"SELECT min(next_at) FROM trials WHERE exp = ?1 AND state = 'queued'"
#define TC_REC_CLEAR_METRICS_SQL \
	"DELETE FROM metrics WHERE exp = ?1 AND trial = ?2 AND attempt >= ?3"
#define TC_REC_CLEAR_FINAL_SQL "DELETE FROM final WHERE exp = ?1 AND trial = ?2"
#define TC_REC_METRIC_SQL                                                     \
	"INSERT INTO metrics(exp, trial, attempt, name, step, value, special, " \
	"at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
#define TC_REC_FINAL_SQL                                                      \
	"INSERT OR REPLACE INTO final(exp, trial, name, attempt, step, value, " \
	"special) VALUES(?1, ?2, ?4, ?3, ?5, ?6, ?7)"
#define TC_REC_FLAGS_SQL \
	"SELECT cancel_req, retry_base FROM trials WHERE exp = ?1 AND id = ?2"
#define TC_REC_EXPSTATE_SQL "SELECT state FROM experiments WHERE name = ?1"

/* A failed or timed-out attempt: when may it run again?  0 when its
 * retries (run.retries, counted from retry_base) are spent, else now plus
 * run.backoff doubled for each earlier retry, capped at 300 s. */
struct tc_spec;
double tc_rec_retry_at(const struct tc_spec *spec, int attempt, int retry_base);

/* Insert a trial event (inside the caller's transaction). */
int tc_rec_event(struct tc_journal *j, sqlite3_stmt *st, const char *exp,
		 const char *trial, const char *state, const char *detail,
		 struct tc_error *err);

/* Bind a metric value at column col, its text ("nan", "inf", "-inf") at
 * scol when it is not finite. */
void tc_rec_bind_value(sqlite3_stmt *st, int col, int scol, double v);

/* The experiment's trials by state (counts[TC_ST_COUNT]) and in total. */
int tc_rec_counts(struct tc_journal *j, const char *exp, long long *counts,
		  long long *total, struct tc_error *err);

/* resume: trials cancelled by an interrupt go back to the queue with a
 * fresh retry budget.  One transaction. */
int tc_rec_requeue_interrupted(struct tc_journal *j, const char *exp,
			       struct tc_error *err);

/* "lr=0.01 opt=adam" from a parameters JSON object, cut to len, with
 * control characters made safe for a terminal (util/text.h). */
void tc_params_brief(const char *json, char *buf, size_t len);

/* dir/base.ext → dir/base.n.ext (an earlier attempt's log). */
void tc_rotate_log(const char *dir, const char *base, const char *ext, int n);

#endif
