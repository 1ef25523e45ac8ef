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
 *           the same in log space for log_uniform.  Excluded points and
 *           repeats are skipped (the sequence goes on), then the include
 *           entries.  Any 2^k points in a row from the start fill every
 *           1/2^k of each parameter's range exactly once, where random
 *           draws leave gaps and clumps.
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

/* "grid", "random" or "sobol" */
const char *tc_search_method_name(enum tc_method m);

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
