/*
 * experiment.h — experiments in the journal: the row of each (its spec,
 * seed, provenance and state), read back, listed and deleted.  Creating
 * one with its plan, and re-planning, are plan/plan.h's: it writes the
 * rows through this module and store/trials.h.
 */
#ifndef TC_EXPERIMENT_H
#define TC_EXPERIMENT_H

#include <stdint.h>

#include "spec/spec.h"
#include "store/journal.h"

struct tc_exp_info {
	char *name;
	char *spec_path;  /* absolute */
	char *spec_dir;   /* trials run here */
	char *spec_text;
	char *spec_hash;
	uint64_t seed;
	double created_at, updated_at;
	char *state;      /* created, running, finished, cancelled */
	char *backend;
	char *tc_version, *host, *git_commit;
	int git_dirty;    /* -1 when not in a git work tree */
	long long ntrials;
};

struct tc_provenance {
	char host[256];
	char git_commit[64]; /* "" when not in a git work tree */
	int git_dirty;       /* -1 unknown */
};

/* The experiment's row, state "created", no trials yet, to run on the
 * backend called `backend` (inside the caller's transaction).  spec_path
 * is absolute.  TC_ERR_STATE if one of that name exists. */
int tc_experiment_insert(struct tc_journal *j, const struct tc_spec *spec,
			 const char *backend, const char *spec_path,
			 uint64_t seed,
			 const struct tc_provenance *prov, struct tc_error *err);

/* Count the experiment's trials into its row and, with spec_path, store
 * spec (its text, hash and path) as the experiment's spec now (inside the
 * caller's transaction). */
int tc_experiment_set_spec(struct tc_journal *j, const struct tc_spec *spec,
			   const char *spec_path, struct tc_error *err);

int tc_experiment_load(struct tc_journal *j, const char *name,
		       struct tc_exp_info *out, struct tc_error *err);
void tc_exp_info_free(struct tc_exp_info *e);

int tc_experiment_set_state(struct tc_journal *j, const char *name,
			    const char *state, struct tc_error *err);

/* What `ls` shows of an experiment. */
struct tc_exp_summary {
	const char *name, *state;
	long long ntrials;
	double created_at;
	long long queued, running, succeeded, failed, cancelled;
};

/* Every experiment, oldest first, to fn (valid during the call); fn
 * returns 0 to go on.  0 or TC_ERR_DB. */
int tc_experiment_list(struct tc_journal *j,
		       int (*fn)(void *ctx, const struct tc_exp_summary *e),
		       void *ctx, struct tc_error *err);

/* Delete the experiment and everything the journal holds of it (trials,
 * metrics, final values, events), in one transaction. */
int tc_experiment_delete(struct tc_journal *j, const char *name,
			 struct tc_error *err);

/* trial directory: STATE/trials/ID (malloc'd). */
char *tc_trial_dir(const struct tc_journal *j, const char *id);

#endif
