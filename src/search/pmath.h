/*
 * pmath.h — exp, log and the normal distribution, the same to the last bit
 * on every machine.
 *
 * The C library's exp, log and erfc are accurate but not correctly
 * rounded, and their last bits differ between libraries and versions; a
 * sampler that compares densities built from them could pick another
 * candidate on another machine.  These use only +, -, *, /, sqrt, floor,
 * frexp and ldexp, which IEEE 754 defines exactly, in a fixed order
 * (the search sources are compiled with -ffp-contract=off so that no
 * compiler fuses a multiply and an add).  That assumes doubles evaluated
 * as doubles (FLT_EVAL_METHOD 0: x86-64, arm64; not the x87 unit).
 * Accuracy: within a few units in the last place for exp and log, about
 * 1e-13 relative for erfc where it is above 1e-300.  The quantile
 * functions below (normal, beta) are built on these, so the parameter
 * distributions (search/dist.h) draw the same values everywhere.
 */
#ifndef TC_PMATH_H
#define TC_PMATH_H

double tc_pmath_exp(double x);
double tc_pmath_log(double x);  /* NaN for x < 0, -inf for 0 */
double tc_pmath_erfc(double x);
/* The standard normal distribution function, P(Z <= z). */
double tc_pmath_ndtr(double z);
/* Its inverse: the z with P(Z <= z) = p, for p in (0, 1) (-inf at 0, +inf
 * at 1, NaN outside).  About 1e-13 relative. */
double tc_pmath_ndtri(double p);
/* log Gamma(x) for x > 0 (NaN otherwise); about 1e-14 relative. */
double tc_pmath_lgamma(double x);
/* The regularised incomplete beta function I_x(a, b), a, b > 0: the
 * distribution function of Beta(a, b) at x (0 below 0, 1 above 1). */
double tc_pmath_betainc(double a, double b, double x);
/* Its inverse in x: the p-quantile of Beta(a, b), p in [0, 1], by
 * bisection (monotone and exact to a few units in the last place of the
 * distribution function's accuracy). */
double tc_pmath_betaincinv(double a, double b, double p);

#endif
