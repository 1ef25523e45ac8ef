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

/*
 * ndtri: for p <= 1/2 a rational approximation of the lower tail
 * (Abramowitz and Stegun 26.2.23, error below 4.5e-4) as a start, then
 * Newton's steps on ndtr(z) - p, which converge quadratically from there;
 * the upper half by symmetry, since 1 - p is exact for p >= 1/2.  The
 * number of steps is fixed, so the result does not depend on when a
 * tolerance happens to be met.
 */
double tc_pmath_ndtri(double p)
{
	static const double inv_sqrt_2pi = 0x1.9884533d43651p-2;
	double t, z;

	if (p != p || p < 0 || p > 1)
		return NAN;
	if (p == 0)
		return -HUGE_VAL;
	if (p == 1)
		return HUGE_VAL;
	if (p > 0.5)
		return -tc_pmath_ndtri(1.0 - p);
	t = sqrt(-2.0 * tc_pmath_log(p));
	z = -(t - (2.515517 + (0.802853 + 0.010328 * t) * t) /
			  (1.0 + (1.432788 + (0.189269 + 0.001308 * t) * t) * t));
	for (int i = 0; i < 6; i++) {
		double pdf = inv_sqrt_2pi * tc_pmath_exp(-0.5 * z * z);
		double step;

		if (!(pdf > 0))
			break;
		step = (tc_pmath_ndtr(z) - p) / pdf;
		z -= step;
	}
	return z;
}

/* Stirling's series from x >= 15 on; smaller x shifted up by the
 * recurrence Gamma(x + 1) = x Gamma(x). */
double tc_pmath_lgamma(double x)
{
	static const double half_log_2pi = 0x1.d67f1c864beb5p-1;
	double shift = 1.0, z, z2, s;

	if (x != x || x <= 0)
		return NAN;
	if (isinf(x))
		return x;
	z = x;
	while (z < 15) {
		shift *= z;
		z += 1;
	}
	z2 = 1.0 / (z * z);
	s = (1.0 / 12 + (-1.0 / 360 + (1.0 / 1260 + (-1.0 / 1680 +
		(1.0 / 1188) * z2) * z2) * z2) * z2) / z;
	return (z - 0.5) * tc_pmath_log(z) - z + half_log_2pi + s -
	       tc_pmath_log(shift);
}

/* The continued fraction of I_x(a, b) (modified Lentz), for
 * x < (a + 1) / (a + b + 2) where it converges fast. */
static double betacf(double a, double b, double x)
{
	const double tiny = 1e-300;
	double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d, h;

	d = 1 - qab * x / qap;
	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= 500; m++) {
		double m2 = 2.0 * m, aa, del;

		aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		d = 1 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-16)
			break;
	}
	return h;
}

double tc_pmath_betainc(double a, double b, double x)
{
	double lfront;

	if (a != a || b != b || x != x || !(a > 0) || !(b > 0))
		return NAN;
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	lfront = a * tc_pmath_log(x) + b * tc_pmath_log(1 - x) -
		 (tc_pmath_lgamma(a) + tc_pmath_lgamma(b) -
		  tc_pmath_lgamma(a + b));
	if (x < (a + 1) / (a + b + 2))
		return tc_pmath_exp(lfront) * betacf(a, b, x) / a;
	return 1 - tc_pmath_exp(lfront) * betacf(b, a, 1 - x) / b;
}

double tc_pmath_betaincinv(double a, double b, double p)
{
	double lo = 0, hi = 1;

	if (p != p || !(a > 0) || !(b > 0))
		return NAN;
	if (p <= 0)
		return 0;
	if (p >= 1)
		return 1;
	/* Halving [lo, hi] until it is as narrow as the doubles allow
	 * relative to hi: a quantile near 0 is found to full relative
	 * precision too (hi halves down to it first). */
	for (int i = 0; i < 1200; i++) {
		double mid = lo + (hi - lo) * 0.5;

		if (mid <= lo || mid >= hi || hi - lo <= hi * 0x1p-52)
			break;
		if (tc_pmath_betainc(a, b, mid) < p)
			lo = mid;
		else
			hi = mid;
	}
	return lo + (hi - lo) * 0.5;
}
