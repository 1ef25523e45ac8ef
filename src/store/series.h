/*
 * series.h — an experiment's metric values read back in the long form:
 * one row per value (trial, attempt, step, name, value, time), in the
 * order a learning curve is drawn.  The journal is only read (a read-only
 * connection does).
 */
#ifndef TC_SERIES_H
#define TC_SERIES_H

#include <stddef.h>

#include "store/journal.h"
#include "util/error.h"

struct tc_series_row {
	const char *trial;   /* its id */
	long long idx;       /* its index */
	const char *params;  /* its parameters, a JSON object's text */
	int attempt;
	int has_step;
	double step;
	const char *name;
	double value;
	const char *special; /* "nan", "inf", "-inf" when not finite, else NULL */
	int has_time;
	double time;         /* seconds since the attempt started */
	int has_at;
	double at;           /* when it was recorded (unix seconds) */
};

/* Called for each row; a nonzero return stops the walk and is returned. */
typedef int (*tc_series_fn)(void *ctx, const struct tc_series_row *row);

/*
 * Each value of experiment exp by trial index, then attempt, then in the
 * order the values were recorded (each metric's steps in order).  ids:
 * only these trials (nids 0: all); names: only these metrics (nnames 0:
 * all).  A value's time is counted from the start of its attempt (its
 * "running" event, else its "starting" one).  0, what fn returned, or
 * TC_ERR_DB.
 */
int tc_series_each(struct tc_journal *j, const char *exp,
		   const char *const *ids, size_t nids,
		   const char *const *names, size_t nnames, tc_series_fn fn,
		   void *ctx, struct tc_error *err);

/* Per trial of exp: the largest value of metric `name` it ever reported
 * (history and final value), or with name NULL the largest step of any of
 * its values.  fn is called once a trial that has one; a nonzero return
 * stops the walk and is returned.  0 or TC_ERR_DB. */
typedef int (*tc_series_max_fn)(void *ctx, const char *trial, double max);
int tc_series_trial_max(struct tc_journal *j, const char *exp,
			const char *name, tc_series_max_fn fn, void *ctx,
			struct tc_error *err);

/* Per trial of exp: the seconds it waited before its containers started,
 * summed over its attempts (the events "pending" the Kubernetes backend
 * records as an attempt ends, the seconds as their detail; none on the
 * local backend, whose processes start at once).  As
 * tc_series_trial_max. */
int tc_series_pending(struct tc_journal *j, const char *exp,
		      tc_series_max_fn fn, void *ctx, struct tc_error *err);

#endif
