/*
 * json.c — JSON output with the shortest exact reals (see json.h).
 */
#include "util/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A scalar, encoded by jansson; a real with the fewest significant digits
 * that give back the same double. */
int tc_double_text(char *buf, size_t len, double d, int min)
{
	int prec = min;

	for (; prec < 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return prec;
	}
	snprintf(buf, len, "%.17g", d);
	return 17;
}

int tc_double_digits(double d, int min)
{
	char buf[40];

	return tc_double_text(buf, sizeof(buf), d, min);
}

static int write_scalar(FILE *f, const json_t *v)
{
	size_t flags = JSON_ENCODE_ANY;
	char *t;

	if (json_is_real(v)) {
		double x = json_real_value(v);
		int digits = tc_double_digits(x, 1);

		/* never an exponent where the integer part fits: 30.0, not
		 * 3e1 */
		if (fabs(x) >= 1 && fabs(x) < 1e16) {
			int whole = (int)floor(log10(fabs(x))) + 1;

			if (digits < whole)
				digits = whole;
		}
		flags |= JSON_REAL_PRECISION(digits);
	}
	if (!(t = json_dumps(v, flags)))
		return -1;
	fputs(t, f);
	free(t);
	return 0;
}

static void newline(FILE *f, int indent, int depth)
{
	if (!indent)
		return;
	fputc('\n', f);
	for (int i = 0; i < indent * depth; i++)
		fputc(' ', f);
}

static int write_value(FILE *f, const json_t *v, int indent, int depth)
{
	if (json_is_object(v)) {
		const char *k;
		json_t *m;
		size_t i = 0;

		if (json_object_size(v) == 0) {
			fputs("{}", f);
			return 0;
		}
		fputc('{', f);
		json_object_foreach((json_t *)v, k, m)
		{
			json_t *key = json_string(k);

			if (i++)
				fputc(',', f);
			newline(f, indent, depth + 1);
			if (!key || write_scalar(f, key)) {
				json_decref(key);
				return -1;
			}
			json_decref(key);
			fputs(indent ? ": " : ":", f);
			if (write_value(f, m, indent, depth + 1))
				return -1;
		}
		newline(f, indent, depth);
		fputc('}', f);
		return 0;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *m;

		if (json_array_size(v) == 0) {
			fputs("[]", f);
			return 0;
		}
		fputc('[', f);
		json_array_foreach(v, i, m)
		{
			if (i)
				fputc(',', f);
			newline(f, indent, depth + 1);
			if (write_value(f, m, indent, depth + 1))
				return -1;
		}
		newline(f, indent, depth);
		fputc(']', f);
		return 0;
	}
	return write_scalar(f, v);
}

int tc_json_write(FILE *f, const json_t *v, int indent)
{
	return write_value(f, v, indent, 0);
}
