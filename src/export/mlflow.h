/*
 * mlflow.h — an experiment exported to an MLflow tracking server through
 * its REST API (/api/2.0/mlflow/...): the experiment by name, one run a
 * trial (params, every metric value with its step and time, tags, the
 * state as MLflow's status).  Idempotent: a trial's run is found again by
 * its tag `trainctl.trial_id`, so a second export updates what changed and
 * duplicates nothing (MLflow keeps a metric value once per key, step,
 * time and value).
 *
 * Credentials as MLflow's own clients take them: MLFLOW_TRACKING_TOKEN
 * (a bearer token), else MLFLOW_TRACKING_USERNAME and
 * MLFLOW_TRACKING_PASSWORD (basic).
 */
#ifndef TC_MLFLOW_H
#define TC_MLFLOW_H

#include <stddef.h>

#include <jansson.h>

#include "store/journal.h"
#include "util/error.h"

/* One trial as the export takes it. */
struct tc_mlflow_trial {
	const char *id;
	long long idx;
	const char *state;   /* trainctl's: succeeded, failed, ... */
	int attempt;
	json_t *params;      /* object: name → its value as text (as the
				command got it) */
	double started_at, ended_at; /* unix seconds; 0 unknown */
};

struct tc_mlflow_export {
	const char *uri;        /* http(s)://host[:port][/prefix] */
	const char *experiment; /* its name in MLflow (trainctl's name) */
	json_t *exp_tags;       /* object: string → string, on the experiment */
	json_t *run_tags;       /* object: string → string, on every run */
	struct tc_mlflow_trial *trials;
	size_t ntrials;
	struct tc_journal *j;   /* the metric values are read from here */
};

struct tc_mlflow_result {
	char experiment_id[64];
	size_t created, updated;  /* runs */
	size_t values;            /* metric values sent */
	size_t skipped;           /* values MLflow cannot hold (nan, inf) */
};

/* TC_ERR_USAGE for a URI that is not http(s), TC_ERR_BACKEND when the
 * server cannot be reached or refuses (err says what it said). */
int tc_mlflow_export(const struct tc_mlflow_export *x,
		     struct tc_mlflow_result *res, struct tc_error *err);

#endif
