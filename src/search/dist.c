/*
 * dist.c — quantile functions of the W&B distributions (see dist.h).
 */
#include "search/dist.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "search/pmath.h"
#include "search/search.h"

int tc_dist_owns(enum tc_pkind kind)
{
	switch (kind) {
	case TC_P_VALUES:
	case TC_P_CONST:
	case TC_P_UNIFORM:
	case TC_P_LOG_UNIFORM:
	case TC_P_INT_UNIFORM:
	case TC_P_DERIVED:
		return 0;
	case TC_P_Q_UNIFORM:
	case TC_P_Q_LOG_UNIFORM:
	case TC_P_EXP_UNIFORM:
	case TC_P_INV_EXP_UNIFORM:
	case TC_P_INV_LOG_UNIFORM:
	case TC_P_NORMAL:
	case TC_P_LOG_NORMAL:
	case TC_P_BETA:
		return 1;
	}
	return 0;
}

static double quantile(const struct tc_param *p, double u)
{
	switch (p->kind) {
	case TC_P_Q_UNIFORM:
		return p->min + u * (p->max - p->min);
	case TC_P_Q_LOG_UNIFORM:
	case TC_P_INV_LOG_UNIFORM: {
		double lo = tc_pmath_log(p->min), hi = tc_pmath_log(p->max);

		return tc_pmath_exp(lo + u * (hi - lo));
	}
	case TC_P_EXP_UNIFORM:
		return tc_pmath_exp(p->min + u * (p->max - p->min));
	case TC_P_INV_EXP_UNIFORM:
		return tc_pmath_exp(-(p->min + (1.0 - u) * (p->max - p->min)));
	case TC_P_NORMAL:
		return p->mu + p->sigma * tc_pmath_ndtri(u);
	case TC_P_LOG_NORMAL:
		return tc_pmath_exp(p->mu + p->sigma * tc_pmath_ndtri(u));
	case TC_P_BETA:
		return tc_pmath_betaincinv(p->a, p->b, u);
	case TC_P_VALUES:
	case TC_P_CONST:
	case TC_P_UNIFORM:
	case TC_P_LOG_UNIFORM:
	case TC_P_INT_UNIFORM:
	case TC_P_DERIVED:
		break;
	}
	return NAN;
}

void tc_dist_value(const struct tc_param *p, double u, struct tc_value *v,
		   char *buf, size_t len)
{
	double x;

	if (!(u > 0))
		u = 0x1p-54;
	if (!(u < 1))
		u = 1.0 - 0x1p-53;
	x = quantile(p, u);
	memset(v, 0, sizeof(*v));
	if (p->q > 0) {
		double k = rint(x / p->q); /* half to even, as numpy's round */

		if (p->q_int && fabs(k * p->q) < 0x1p62) {
			v->type = TC_V_INT;
			v->i = (long long)k * (long long)p->q;
			v->f = (double)v->i;
			snprintf(buf, len, "%lld", v->i);
			v->text = buf;
			return;
		}
		x = k * p->q;
	}
	x += 0.0; /* no "-0.0" */
	v->type = TC_V_FLOAT;
	v->f = x;
	tc_format_double(x, buf, len);
	v->text = buf;
}

double tc_dist_cdf(const struct tc_param *p, double x)
{
	double u = NAN;

	switch (p->kind) {
	case TC_P_Q_UNIFORM:
		u = p->max > p->min ? (x - p->min) / (p->max - p->min) : 0.5;
		break;
	case TC_P_Q_LOG_UNIFORM:
	case TC_P_INV_LOG_UNIFORM: {
		double lo = tc_pmath_log(p->min), hi = tc_pmath_log(p->max);

		u = x > 0 && hi > lo ? (tc_pmath_log(x) - lo) / (hi - lo) : 0.5;
		break;
	}
	case TC_P_EXP_UNIFORM:
		u = x > 0 && p->max > p->min
			    ? (tc_pmath_log(x) - p->min) / (p->max - p->min)
			    : 0.5;
		break;
	case TC_P_INV_EXP_UNIFORM:
		u = x > 0 && p->max > p->min
			    ? 1.0 - (-tc_pmath_log(x) - p->min) /
					    (p->max - p->min)
			    : 0.5;
		break;
	case TC_P_NORMAL:
		u = p->sigma > 0 ? tc_pmath_ndtr((x - p->mu) / p->sigma) : 0.5;
		break;
	case TC_P_LOG_NORMAL:
		u = !(x > 0)        ? 0
		    : p->sigma > 0 ? tc_pmath_ndtr((tc_pmath_log(x) - p->mu) /
						    p->sigma)
				    : 0.5;
		break;
	case TC_P_BETA:
		u = tc_pmath_betainc(p->a, p->b, x);
		break;
	case TC_P_VALUES:
	case TC_P_CONST:
	case TC_P_UNIFORM:
	case TC_P_LOG_UNIFORM:
	case TC_P_INT_UNIFORM:
	case TC_P_DERIVED:
		break;
	}
	if (u != u)
		return 0.5;
	return u < 0 ? 0 : u > 1 ? 1 : u;
}

size_t tc_dist_pick(const struct tc_param *p, double u)
{
	double acc = 0;

	for (size_t k = 0; k + 1 < p->nvalues; k++) {
		acc += p->probs[k];
		if (u < acc)
			return k;
	}
	return p->nvalues - 1;
}
