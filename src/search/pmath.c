/*
 * pmath.c — portable exp, log, erfc (see pmath.h).
 *
 * exp: x = k ln2 + r with |r| <= ln2/2 (ln 2 split in two so k ln2 is
 * exact), e^r by its Taylor polynomial to r^13 (error below 5e-18), times
 * 2^k.  log: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh f
 * with f = (m-1)/(m+1), |f| <= 0.172, as an odd series to f^25.  erfc:
 * below 1.5 from erf's series of positive terms
 *     erf x = 2/sqrt(pi) e^(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1)),
 * above it Laplace's continued fraction evaluated from a fixed depth
 * (120: below 1e-13 relative error from 1.5 on).
 */
#include "search/pmath.h"

#include <math.h>

static const double ln2_hi = 0x1.62e42feep-1; /* low bits zero: k ln2_hi exact */
static const double ln2_lo = 0x1.a39ef35793c76p-33;
static const double inv_ln2 = 0x1.71547652b82fep0;

/* 1/n! for n = 13 down to 2 */
static const double inv_fact[] = {
	0x1.6124613a86d09p-33, 0x1.1eed8eff8d898p-29, 0x1.ae64567f544e4p-26,
	0x1.27e4fb7789f5cp-22, 0x1.71de3a556c734p-19, 0x1.a01a01a01a01ap-16,
	0x1.a01a01a01a01ap-13, 0x1.6c16c16c16c17p-10, 0x1.1111111111111p-7,
	0x1.5555555555555p-5,  0x1.5555555555555p-3,  0x1.0000000000000p-1,
};

double tc_pmath_exp(double x)
{
	double k, r, p;

	if (x != x)
		return x;
	if (x > 709.782712893384)
		return HUGE_VAL;
	if (x < -745.2)
		return 0.0;
	k = floor(x * inv_ln2 + 0.5);
	r = (x - k * ln2_hi) - k * ln2_lo;
	p = inv_fact[0];
	for (unsigned i = 1; i < sizeof(inv_fact) / sizeof(inv_fact[0]); i++)
		p = p * r + inv_fact[i];
	p = (p * r + 1.0) * r + 1.0;
	return ldexp(p, (int)k);
}

double tc_pmath_log(double x)
{
	double m, f, f2, s;
	int e;

	if (x != x || x < 0)
		return NAN;
	if (x == 0)
		return -HUGE_VAL;
	if (isinf(x))
		return x;
	m = frexp(x, &e); /* [0.5, 1), exact */
	if (m < 0x1.6a09e667f3bcdp-1) { /* sqrt(1/2) */
		m *= 2;
		e--;
	}
	f = (m - 1) / (m + 1);
	f2 = f * f;
	s = 1.0 / 25;
	for (int n = 23; n >= 1; n -= 2)
		s = s * f2 + 1.0 / n;
	return e * ln2_hi + (e * ln2_lo + 2 * f * s);
}

static const double two_over_sqrt_pi = 0x1.20dd750429b6dp0;
static const double inv_sqrt_pi = 0x1.20dd750429b6dp-1;

double tc_pmath_erfc(double x)
{
	if (x != x)
		return x;
	if (x < 0)
		return 2.0 - tc_pmath_erfc(-x);
	if (x < 1.5) {
		/* erf by the series of positive terms */
		double x2 = x * x, term = x, sum = x;

		for (int n = 1; n < 200; n++) {
			term = term * 2 * x2 / (2 * n + 1);
			sum += term;
			if (term < sum * 1e-17)
				break;
		}
		return 1.0 - two_over_sqrt_pi * tc_pmath_exp(-x2) * sum;
	}
	if (x > 27.3)
		return 0.0;
	{
		/* e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) */
		double f = x;

		for (int k = 120; k >= 1; k--)
			f = x + (k * 0.5) / f;
		return inv_sqrt_pi * tc_pmath_exp(-x * x) / f;
	}
}

double tc_pmath_ndtr(double z)
{
	static const double inv_sqrt2 = 0x1.6a09e667f3bcdp-1;

	if (z < 0)
		return 0.5 * tc_pmath_erfc(-z * inv_sqrt2);
	return 1.0 - 0.5 * tc_pmath_erfc(z * inv_sqrt2);
}
