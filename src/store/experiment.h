/*
 * experiment.h — experiments in the journal: creating one from a spec (the
 * whole plan in one transaction, so an experiment exists completely or not
 * at all), reading one back, and re-planning after the spec changed.
 *
 * At creation each trial's command and env are resolved ({{...}}
 * substituted) and stored, with its parameters (JSON) and seed: the journal
 * holds exactly what will run, and `plan --render` shows the same.
 */
#ifndef TC_EXPERIMENT_H
#define TC_EXPERIMENT_H

#include <stdint.h>

#include <jansson.h>

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

/* Where the spec lives: host, and the git commit and dirtiness of the work
 * tree holding it (git run as an argv vector, never a shell). */
void tc_provenance_collect(const char *spec_dir, struct tc_provenance *p);

/* Resolve one trial: argv (JSON array of strings) and env (JSON object),
 * both with {{...}} substituted.  trial_dir is where the trial will run.
 * Returns 0 or TC_ERR_SPEC / TC_ERR_NOMEM with err. */
int tc_trial_resolve(const struct tc_spec *spec, const struct tc_value *values,
		     const char *id, uint64_t index, uint32_t seed,
		     const char *trial_dir, json_t **argv, json_t **env,
		     struct tc_error *err);

/* Create the experiment with every trial queued, to run on the backend
 * called `backend` (recorded).  trial_dir: the directory every trial sees
 * as its own (a pod's), or NULL: its directory in the state directory.
 * spec_path is absolute.  TC_ERR_STATE if one of that name exists;
 * TC_ERR_SPEC for an empty plan. */
int tc_experiment_create(struct tc_journal *j, const struct tc_spec *spec,
			 const char *backend, const char *trial_dir,
			 const char *spec_path, uint64_t seed,
			 const struct tc_provenance *prov, struct tc_error *err);

/* Bring an experiment's trials in line with a changed spec (resume
 * --force): new points are added queued, queued trials no longer in the plan
 * are cancelled; finished trials are kept.  Updates the stored spec.
 * trial_dir: as the experiment was created with. */
int tc_experiment_replan(struct tc_journal *j, const struct tc_spec *spec,
			 const char *spec_path, const char *trial_dir,
			 struct tc_error *err);

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
