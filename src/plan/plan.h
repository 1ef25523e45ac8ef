/*
 * plan.h — an experiment's plan made into journal rows: the search space
 * walked (search/search.h: trial generation, ids, seeds), each trial's
 * command and env rendered from the spec's templates, and the rows written
 * through store/ (the whole plan in one transaction, so an experiment
 * exists completely or not at all).
 *
 * Each trial's command and env are stored resolved ({{...}} substituted),
 * with its parameters (JSON) and seed: the journal holds exactly what will
 * run, and `plan --render` shows the same (tc_plan_render).
 */
#ifndef TC_PLAN_H
#define TC_PLAN_H

#include <stdint.h>

#include <jansson.h>

#include "spec/spec.h"
#include "store/experiment.h"
#include "store/journal.h"

/* Where the spec lives: host, and the git commit and dirtiness of the work
 * tree holding it (git run as an argv vector, never a shell). */
void tc_provenance_collect(const char *spec_dir, struct tc_provenance *p);

/* Render one trial: argv (JSON array of strings) and env (JSON object),
 * both with {{...}} substituted.  A command element that is only {{args}}
 * ({{args_no_hyphens}}) becomes one --name=value (name=value) element per
 * parameter the trial has, in spec order; one that is only {{name?}} of a
 * parameter the trial lacks is left out.  A script that says {{args}}
 * gets "$@" there, and the elements as its positional parameters after
 * $0 (/bin/sh).  trial_dir is where the trial will run.
 * Returns 0 or TC_ERR_SPEC / TC_ERR_NOMEM with err. */
int tc_plan_render(const struct tc_spec *spec, const struct tc_value *values,
		   const char *id, uint64_t index, uint32_t seed,
		   const char *trial_dir, json_t **argv, json_t **env,
		   struct tc_error *err);

/* A pipeline job's needs of one stage: the directories of the jobs it
 * needs there ({{needs.STAGE}}), all of them joined by ':' too; gather:
 * every job of that stage (a command element naming it is repeated once
 * per directory), else the one job of the same item. */
struct tc_job_needs {
	const char *stage;
	char **dirs;
	size_t n;
	char *joined;
	int gather;
};

/* tc_plan_render for a pipeline's job (spec: its stage's own spec), with
 * {{needs.STAGE}} and NEEDS_<STAGE> from needs[0..nneeds). */
int tc_plan_render_job(const struct tc_spec *spec, const struct tc_value *values,
		       const char *id, uint64_t index, uint32_t seed,
		       const char *trial_dir, const struct tc_job_needs *needs,
		       size_t nneeds, json_t **argv, json_t **env,
		       struct tc_error *err);

/* A pipeline: the number of jobs of each stage (counts[nstages]), its
 * items read in the working directory as run would (spec_dir: the
 * spec's directory). */
int tc_plan_stage_jobs(const struct tc_spec *spec, const char *spec_dir,
		       uint64_t seed, size_t *counts, struct tc_error *err);

/* Is stage a's need on stage b item-wise (1) or a gather (0)? */
int tc_plan_itemwise(const struct tc_spec *spec, size_t a, size_t b);

/* Create the experiment with every trial of its plan queued, to run on
 * the backend called `backend` (recorded).  trial_dir: the directory
 * every trial sees as its own (a pod's), or NULL: its directory in the
 * state directory.  spec_path is absolute.  TC_ERR_STATE if one of that
 * name exists; TC_ERR_SPEC for an empty plan. */
int tc_plan_create(struct tc_journal *j, const struct tc_spec *spec,
		   const char *backend, const char *trial_dir,
		   const char *spec_path, uint64_t seed,
		   const struct tc_provenance *prov, struct tc_error *err);

/* tpe search: the next trials, asked of a sampler rebuilt from the
 * journal.  Every trial of the experiment is told in index order (the
 * order they were asked), with its values as stored and its outcome:
 * succeeded with a finite final value of the spec's metric (its last
 * reported value, the value results ranks by) is complete, succeeded
 * without one, failed or timed out is failed, and queued, starting,
 * running or cancelled is pending (the sampler's constant liar).  Then
 * up to want points are asked, each distinct from every trial's, and
 * created queued at the next indexes, never past search.trials trials in
 * all.  The same journal gives the same trials on every machine.
 * Runs in the caller's transaction when one is open, else in its own.
 * Returns how many trials it created, or <0 with err; *done is
 * TC_EXTEND_SPENT when no trial is left to create, TC_EXTEND_EXHAUSTED
 * when the sampler found no new point (a "search exhausted" event says
 * so), else 0.  trial_dir: as for tc_plan_create.  Other methods: 0
 * trials, *done TC_EXTEND_SPENT. */
#define TC_EXTEND_SPENT 1
#define TC_EXTEND_EXHAUSTED 2
int tc_plan_extend(struct tc_journal *j, const struct tc_spec *spec,
		   const char *trial_dir, long long want, int *done,
		   struct tc_error *err);

/* tc_plan_extend for a run that extends again and again: *cache (NULL
 * the first time; free it with tc_plan_cache_free) keeps the sampler
 * between calls, so that a call reads only the trials that may have
 * ended since the last instead of the whole journal.  What it creates is
 * what tc_plan_extend would (the same sampler, in step with the
 * journal); the cache is rebuilt from the journal whenever it may not
 * be. */
struct tc_plan_cache;
int tc_plan_extend_cached(struct tc_journal *j, const struct tc_spec *spec,
			  const char *trial_dir, long long want, int *done,
			  struct tc_plan_cache **cache, struct tc_error *err);
void tc_plan_cache_free(struct tc_plan_cache *c);

/* Bring an experiment's trials in line with a changed spec (resume
 * --force): new points are added queued, queued trials no longer in the
 * plan are cancelled; finished trials are kept, and one that has not
 * succeeded and is not live runs what the spec says now (a "command
 * changed" or "env changed" event names it).  Stores the new spec.
 * trial_dir: as the experiment was created with. */
int tc_plan_replan(struct tc_journal *j, const struct tc_spec *spec,
		   const char *spec_path, const char *trial_dir,
		   struct tc_error *err);

#endif
