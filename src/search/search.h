/*
 * search.h — the search space of a spec turned into trials, one at a time.
 *
 * Planning streams: an iterator yields trials in plan order without holding
 * the plan in memory, so a grid of a million points costs the same memory as
 * a grid of ten.
 *
 *   grid:   the cartesian product of the parameters' values in file order
 *           (the last parameter varies fastest), minus every point that
 *           matches an exclude entry (an entry matches when all the
 *           parameters it names have its values: partial entries exclude
 *           whole slices), capped at search.trials when given; then every
 *           include entry that is not already one of the points emitted.
 *   random: search.trials points drawn from a generator seeded with the
 *           experiment seed (xoshiro256**, seeded through splitmix64, so the
 *           same seed gives the same trials on every machine), skipping
 *           excluded points and repeats; then the include entries.
 *   sobol:  as random, but the points are those of a scrambled Sobol
 *           sequence (sobol.h) keyed by the experiment seed: one dimension
 *           per parameter that is not a constant, in spec order; a
 *           coordinate u picks values[floor(u n)], min + u (max - min) for
 *           uniform and int_uniform (over the exact integer range), and
 *           the same in log space for log_uniform; the W&B distributions
 *           (and values: with probabilities) take the value at u of their
 *           quantile function (dist.h), as random draws do.  Excluded points and
 *           repeats are skipped (the sequence goes on), then the include
 *           entries.  Any 2^k points in a row from the start fill every
 *           1/2^k of each parameter's range exactly once, where random
 *           draws leave gaps and clumps.
 *   tpe:    adaptive (search/tpe.h): the plan holds only the startup
 *           points, tc_plan_upfront() of them, which the sampler draws
 *           at random from the seed alone; every later point is asked
 *           of a sampler told the results so far (plan/plan.h,
 *           tc_plan_extend), up to search.trials in all.
 *
 * A trial's id is the first 12 hex digits of SHA-256 over the experiment
 * name and the parameters' names, types and texts: the same spec always
 * gives the same ids, and two experiments never share one.  Its seed is the
 * next 8 hex digits of that hash, as a number.
 *
 * A derived parameter (from:, map:) is no dimension of the search: it draws
 * nothing and adds no grid points, so a spec's points and draws are those
 * of the spec without it.  Its value is part of the trial's identity like
 * any other (hashed as if it were a value: constant), because the trial
 * runs with it: a map changed under `resume --force` gives the trials
 * whose value changed new ids, and they run again, while the others keep
 * theirs.
 *
 * A conditional parameter (when:) that a point does not have is
 * TC_V_ABSENT in its values, and is no part of it: the grid's odometer
 * walks spec->order (file order without when:) and passes over it, so the
 * grid has one point per combination of the values its points do have;
 * random search draws nothing for it (draws in spec->order); sobol leaves
 * its coordinate unread, every parameter keeping its dimension; the id
 * hashes only the parameters present, so a spec without when: keeps its
 * ids, and params JSON leaves it out.
 */
#ifndef TC_SEARCH_H
#define TC_SEARCH_H

#include <stdint.h>

#include <jansson.h>

#include "spec/spec.h"

#define TC_TRIAL_ID_LEN 12

struct tc_trial {
	uint64_t index;            /* 0-based position in the plan */
	char id[TC_TRIAL_ID_LEN + 1];
	const struct tc_value *values; /* one per spec parameter, in spec
					  order; owned by the iterator, valid
					  until the next call */
	uint32_t seed;
	int included;              /* came from search.include */
};

struct tc_plan;

/* seed is the experiment seed (the spec's, or one the caller picked).
 * Returns 0 or a negative status with err filled. */
int tc_plan_new(const struct tc_spec *spec, uint64_t seed,
		struct tc_plan **out, struct tc_error *err);

/* 1 and *out set: a trial; 0: the plan is complete; <0: error (err).
 * A random search whose space holds fewer distinct points than asked ends
 * early; tc_plan_note() then says so. */
int tc_plan_next(struct tc_plan *p, const struct tc_trial **out,
		 struct tc_error *err);

/* A remark about the plan for the user ("only 6 distinct points"), or NULL. */
const char *tc_plan_note(const struct tc_plan *p);

void tc_plan_free(struct tc_plan *p);

/* "grid", "random", "sobol" or "tpe" */
const char *tc_search_method_name(enum tc_method m);

/* How many main points the plan holds: search.trials, or for tpe the
 * startup points (at least one, at most search.trials). */
uint64_t tc_plan_upfront(const struct tc_spec *spec);

/* The TPE sampler of a spec (search/tpe.h) with its goal, startup and the
 * experiment seed: the one set of options a plan and its extensions use.
 * 0 or an error code. */
struct tc_tpe;
int tc_plan_tpe_new(const struct tc_spec *spec, uint64_t seed,
		    struct tc_tpe **out, struct tc_error *err);

/* A sampler's suggestion (one value per parameter) copied into cur, its
 * derived parameters set from the others. */
void tc_plan_take_point(const struct tc_spec *spec, const struct tc_value *v,
			struct tc_value *cur);

/* A trial's parameters as stored (JSON object, as tc_trial_params_json
 * gives) back into values (one per spec parameter): a values:/value:
 * parameter's own entry when one is equal, a float or an integer for a
 * distribution (its text in texts[i]; texts NULL: text "", for a caller
 * that only compares values).  present[i] is 0 where the trial has
 * no value that fits the parameter (missing, or not one of its values,
 * or of another type), and for derived parameters (they follow from the
 * others).  Returns how many parameters are absent. */
size_t tc_trial_values_from_json(const struct tc_spec *spec, json_t *params,
				 struct tc_value *values, unsigned char *present,
				 char (*texts)[40]);

/* The trial's parameters as a JSON object {name: typed value}. */
json_t *tc_trial_params_json(const struct tc_spec *spec,
			     const struct tc_value *values);

/* The parameters as compact JSON text, numbers written as short as reads
 * back exactly (0.1, not 0.10000000000000001).  malloc'd. */
char *tc_params_dumps(json_t *params);

/* A value as JSON (int, real, string, bool or null). */
json_t *tc_value_json(const struct tc_value *v);

/* Compute the id and seed of a parameter assignment. */
void tc_trial_identity(const struct tc_spec *spec, const struct tc_value *values,
		       char id[TC_TRIAL_ID_LEN + 1], uint32_t *seed);

/* Shortest decimal text that reads back to the same double. */
void tc_format_double(double d, char *buf, size_t len);

#endif
