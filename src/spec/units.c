/*
 * units.c — Kubernetes quantities ("500m", "2Gi", "1e9") and durations
 * ("1h30m", "250ms") as they appear in experiment files, and the C-locale
 * strtod the whole spec module reads numbers with.
 *
 * These take a NUL-terminated string and return 0 or TC_ERR_SPEC without a
 * message: the caller knows where in the file the string came from and
 * writes the message (see spec.c).  The grammar is checked here by hand
 * before strtod is asked for the value, because strtod alone accepts far
 * more ("0x1p3", "inf", " 5", "-nan") than a quantity may be.
 */
#include "spec/spec.h"
#include "spec/internal.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

double tc_spec_strtod(const char *s, char **end)
{
	pthread_once(&c_locale_once, c_locale_init);
	if (c_locale)
		return strtod_l(s, end, c_locale);
	return strtod(s, end); /* newlocale failed: the locale is most likely
				  still "C" anyway */
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Scan an unsigned decimal "12", "1.5", ".5", "5." at s; return the length
 * (0 when there is no digit).
 */
static size_t scan_decimal(const char *s)
{
	size_t i = 0, digits = 0;

	while (is_digit(s[i]))
		i++, digits++;
	if (s[i] == '.') {
		i++;
		while (is_digit(s[i]))
			i++, digits++;
	}
	return digits ? i : 0;
}

/* Length of an exponent "e5", "E-3", "e+07" at s, or 0. */
static size_t scan_exponent(const char *s)
{
	size_t i = 1;

	if (s[0] != 'e' && s[0] != 'E')
		return 0;
	if (s[i] == '+' || s[i] == '-')
		i++;
	if (!is_digit(s[i]))
		return 0;
	while (is_digit(s[i]))
		i++;
	return i;
}

/*
 * A non-negative Kubernetes quantity: [+]decimal followed by an exponent
 * (e3), a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix (n u m k M G T
 * P E) or nothing.  A minus sign is refused: no resource is negative.
 */
static int parse_quantity(const char *s, double *out)
{
	static const struct {
		const char *suffix;
		double mult;
	} suffixes[] = {
		{"Ki", 1024.0},
		{"Mi", 1048576.0},
		{"Gi", 1073741824.0},
		{"Ti", 1099511627776.0},
		{"Pi", 1125899906842624.0},
		{"Ei", 1152921504606846976.0},
		{"n", 1e-9},
		{"u", 1e-6},
		{"m", 1e-3},
		{"k", 1e3},
		{"M", 1e6},
		{"G", 1e9},
		{"T", 1e12},
		{"P", 1e15},
		{"E", 1e18},
	};
	const char *p = s, *num;
	size_t n, e;
	char *end;
	double v, mult = 1.0;

	if (*p == '+')
		p++;
	num = p;
	n = scan_decimal(p);
	if (n == 0)
		return TC_ERR_SPEC;
	p += n;
	e = scan_exponent(p);
	p += e;
	if (!e && *p) {
		size_t i;

		for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			size_t len = strlen(suffixes[i].suffix);

			if (strncmp(p, suffixes[i].suffix, len) == 0 &&
			    p[len] == '\0') {
				mult = suffixes[i].mult;
				p += len;
				break;
			}
		}
	}
	if (*p != '\0')
		return TC_ERR_SPEC;

	v = tc_spec_strtod(num, &end);
	if (end != num + n + e)
		return TC_ERR_SPEC;
	v *= mult;
	if (!isfinite(v) || v < 0)
		return TC_ERR_SPEC;
	*out = v;
	return 0;
}

int tc_parse_cpu(const char *s, double *cores)
{
	double v;

	if (!s || parse_quantity(s, &v) != 0)
		return TC_ERR_SPEC;
	*cores = v;
	return 0;
}

int tc_parse_bytes(const char *s, long long *bytes)
{
	double v;

	if (!s || parse_quantity(s, &v) != 0)
		return TC_ERR_SPEC;
	v = ceil(v); /* like Kubernetes: a fraction of a byte rounds up */
	if (v >= 9223372036854775808.0) /* 2^63: no longer a long long */
		return TC_ERR_SPEC;
	*bytes = (long long)v;
	return 0;
}

int tc_parse_duration(const char *s, double *seconds)
{
	static const struct {
		const char *unit;
		double secs;
	} units[] = {
		/* longest first so "ms" is not read as "m" then "s" */
		{"ns", 1e-9},
		{"us", 1e-6},
		{"\xc2\xb5s", 1e-6}, /* U+00B5 micro sign */
		{"\xce\xbcs", 1e-6}, /* U+03BC greek mu */
		{"ms", 1e-3},
		{"s", 1.0},
		{"m", 60.0},
		{"h", 3600.0},
		{"d", 86400.0},
	};
	const char *p = s, *first;
	double total = 0;

	if (!s || !*s)
		return TC_ERR_SPEC;
	if (*p == '+')
		p++;
	first = p;
	if (!*p)
		return TC_ERR_SPEC;
	while (*p) {
		size_t n = scan_decimal(p), i;
		char *end;
		double v;

		if (n == 0)
			return TC_ERR_SPEC;
		v = tc_spec_strtod(p, &end);
		if (end < p + n) /* strtod stopped early: not our number */
			return TC_ERR_SPEC;
		p += n;
		if (*p == '\0') {
			/* A bare number is seconds, but only on its own:
			 * "1h30" is more likely a typo than 1h + 30s. */
			if (p - n != first)
				return TC_ERR_SPEC;
			total += v;
			break;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t len = strlen(units[i].unit);

			if (strncmp(p, units[i].unit, len) == 0) {
				total += v * units[i].secs;
				p += len;
				break;
			}
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return TC_ERR_SPEC;
	}
	if (!isfinite(total) || total < 0)
		return TC_ERR_SPEC;
	*seconds = total;
	return 0;
}
