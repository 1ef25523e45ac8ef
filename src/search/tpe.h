/*
 * tpe.h — the Tree-structured Parzen Estimator as an ask/tell sampler over
 * a spec's parameters.
 *
 * The caller tells observations (a trial's values and how it ended) and
 * asks for the next point; the sampler keeps no other state.  A run's
 * scheduler rebuilds one from its journal by telling every trial in index
 * order, so a resumed search asks exactly what the interrupted one would
 * have.
 *
 * Model (Optuna 5's default TPE: multivariate, its bandwidth rules):
 *   - Observations are ranked best first by the objective (goal applied):
 *     complete ones by their value; pending ones (asked or told, not yet
 *     ended) by the worst complete value so far, after the complete ones
 *     that share it (the constant liar: parallel asks spread out instead
 *     of piling onto the current best); failed ones last.
 *   - The best gamma(n) = min(ceil(n / 10), 25) of the n observations, at
 *     most the complete ones, form the "good" group, the rest the "bad".
 *   - The joint parameters are those to choose that every observation
 *     has.  Each group gives one Parzen estimator over all of them at
 *     once: a kernel per observation, the product over the parameters of
 *     a normal truncated to the range (log_uniform in log space;
 *     int_uniform over [min - 0.5, max + 0.5], the point rounded) and,
 *     for values: lists (categorical), a row with weight prior_weight /
 *     (m + 1) on every category and 1 more on the observation's; plus
 *     the prior kernel (weight prior_weight), centred, as wide as each
 *     range, uniform over categories.  A kernel's width in a parameter
 *     is the larger distance to its neighbours' values in the group (the
 *     two end ones: the inner distance), clipped to
 *     [range / min(100, m + 2), range], m the group's kernels.  Past 25
 *     observations in a group, older ones weigh less (a ramp from 1/m).
 *     Past 1,000 observations in the bad group, its estimator is that of
 *     a sample: the newest 500 and every s-th older one (weighing s), so
 *     that an ask costs O(n) simple passes plus a bounded model.
 *   - A conditional parameter (absent from some observation) has its own
 *     estimators, one per group, over the observations that have it: the
 *     univariate form of the same rules (and past 256 bad observations,
 *     neighbouring kernels of about the same width within range / 200
 *     merged into one moment-matched normal).  So do all parameters when
 *     the option multivariate is 0.
 *   - `candidates` points are drawn from the good estimators and the one
 *     with the largest good/bad density ratio is suggested (the expected
 *     improvement criterion): jointly for the joint parameters, then
 *     each other parameter on its own.
 *   - Until `startup` observations have been told (any outcome), or while
 *     none is complete, points are drawn at random from the prior
 *     (uniform over each range, log-uniform for log_uniform).
 *
 * Failed trials: a failed (or timed-out, or crashed) trial counts as an
 * observation worse than every complete one: it is in the bad group, so
 * the sampler moves away from regions that fail, and it counts in n.  A
 * non-finite objective (NaN, inf) is a failure.  What a cancelled or
 * pruned trial is, the caller decides (leave it out, or tell it failed or
 * complete with its last value).
 *
 * Duplicates: an ask never returns a point equal to one already told or
 * asked (values compared as the spec compares them; the point as a whole).
 * When the good candidates all repeat one, random points are tried; when
 * those repeat too (a small discrete space used up), ask returns 0.
 *
 * Determinism: an ask's result depends only on the spec's parameters, the
 * options (seed included) and the observations told, in order, with their
 * outcomes.  Draws come from xoshiro256** (rng.h) seeded by the seed and
 * the number of observations; densities use pmath.h, never the C
 * library's exp/log, and ties go to the earlier candidate: the same
 * observations give the same suggestion on every machine.
 *
 * Ownership: the sampler keeps a pointer to spec, which must outlive it.
 * Values returned by ask point into the sampler (texts) or the spec
 * (values: entries) and stay valid until the next ask or tc_tpe_free().
 * Values told are copied.
 */
#ifndef TC_TPE_H
#define TC_TPE_H

#include <stddef.h>
#include <stdint.h>

#include "spec/spec.h"
#include "util/error.h"

enum tc_tpe_outcome {
	TC_TPE_PENDING,  /* asked or running, no result yet */
	TC_TPE_COMPLETE, /* ended with an objective value */
	TC_TPE_FAILED,   /* ended without one */
};

struct tc_tpe_options {
	int goal;             /* +1 maximize, -1 minimize */
	uint64_t seed;
	unsigned startup;     /* random points first; default 10 */
	unsigned candidates;  /* drawn from the good estimator; default 24 */
	double prior_weight;  /* default 1.0; > 0 */
	int multivariate;     /* 1 (default): the joint model above; 0: one
				 estimator per parameter */
};

struct tc_tpe;

/* The defaults above, goal +1, seed 0. */
void tc_tpe_defaults(struct tc_tpe_options *o);

/* 0, or TC_ERR_USAGE (bad options) / TC_ERR_NOMEM with err filled. */
int tc_tpe_new(const struct tc_spec *spec, const struct tc_tpe_options *o,
	       struct tc_tpe **out, struct tc_error *err);
void tc_tpe_free(struct tc_tpe *t);

/*
 * Tell an observation: values has one entry per spec parameter, in spec
 * order; present (NULL: all) says which the trial has.  A value that does
 * not fit its parameter (a string for a uniform, a value outside a
 * values: list, a log_uniform value <= 0) counts as absent; a number
 * outside a range is taken at the nearest bound.  objective is read only
 * for TC_TPE_COMPLETE.  Returns the observation's number (0, 1, ... in the
 * order told or asked), or a negative status.
 */
long tc_tpe_tell(struct tc_tpe *t, const struct tc_value *values,
		 const unsigned char *present, enum tc_tpe_outcome outcome,
		 double objective, struct tc_error *err);

/* Settle observation number obs (pending) as complete or failed, or set
 * it back to pending.  0, or TC_ERR_USAGE for an unknown number. */
int tc_tpe_settle(struct tc_tpe *t, size_t obs, enum tc_tpe_outcome outcome,
		  double objective, struct tc_error *err);

/*
 * Suggest a point.  1: *values (one per spec parameter) and *present (all
 * 1 today; conditional parameters will clear theirs) are set, and the
 * point is recorded as a pending observation numbered *obs (NULL: not
 * wanted); tell how it ended with tc_tpe_settle().  0: no point that is
 * not a repeat could be found.  <0: error (err).
 */
int tc_tpe_ask(struct tc_tpe *t, const struct tc_value **values,
	       const unsigned char **present, size_t *obs,
	       struct tc_error *err);

/*
 * The point ask would suggest, without recording it (tell it afterwards,
 * pending, as the caller stores it: a planner tells the point read back
 * from what it wrote, so that its sampler is the one a rebuild from the
 * journal gives).  1, 0 or <0 as ask; the values are valid as ask's.
 */
int tc_tpe_suggest(struct tc_tpe *t, const struct tc_value **values,
		   const unsigned char **present, struct tc_error *err);

/* Observations told or asked so far. */
size_t tc_tpe_count(const struct tc_tpe *t);

#endif
