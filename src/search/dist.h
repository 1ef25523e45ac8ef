/*
 * dist.h — the parameter distributions of W&B sweeps (spec.h: the kinds
 * after TC_P_DERIVED), and categorical values with probabilities.
 *
 * Every one is drawn through its quantile function: a coordinate u in
 * (0, 1) (random search: the seeded generator; sobol: the point's
 * coordinate; tpe: its model space) gives the value, quantised by q when
 * q > 0.  The arithmetic is pmath.h's, so the same u gives the same value
 * on every machine, and so the same trial id.
 *
 *   q_uniform              min + u (max - min)
 *   q_log_uniform_values   e^(ln min + u (ln max - ln min))
 *   exp_uniform            e^(min + u (max - min))
 *   inv_exp_uniform        e^-(min + (1 - u)(max - min))
 *   inv_log_uniform_values e^(ln min + u (ln max - ln min)) (the same law
 *                          as log_uniform_values, as W&B defines it)
 *   normal                 mu + sigma ndtri(u)
 *   log_normal             e^(mu + sigma ndtri(u))
 *   beta                   the u-quantile of Beta(a, b)
 *
 * then x = round-half-even(x / q) q (an integer, TC_V_INT, when q was
 * written as one), as W&B's q_ distributions do.
 */
#ifndef TC_DIST_H
#define TC_DIST_H

#include <stddef.h>

#include "spec/spec.h"

/* Whether kind is one of the distributions drawn here. */
int tc_dist_owns(enum tc_pkind kind);

/* The value of p (tc_dist_owns(p->kind)) at u; u is moved into (0, 1)
 * first (0 becomes 2^-54).  v->text points to buf (len >= 32). */
void tc_dist_value(const struct tc_param *p, double u, struct tc_value *v,
		   char *buf, size_t len);

/* The distribution function of p at x (the inverse of tc_dist_value
 * before quantisation), in [0, 1]. */
double tc_dist_cdf(const struct tc_param *p, double x);

/* The index of the value of a values: parameter with probabilities that
 * the coordinate u in [0, 1) picks: the first whose cumulative weight
 * exceeds u. */
size_t tc_dist_pick(const struct tc_param *p, double u);

#endif
