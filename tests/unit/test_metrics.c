/*
 * test_metrics.c — unit tests of src/metrics: number parsing, the three
 * line parsers, the line splitter (chunks, \r, huge lines) and ranking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

/* ---- a sample recorder ---------------------------------------------- */

struct sample {
	char name[TC_METRIC_NAME_MAX];
	double step, value;
};

struct rec {
	struct sample *s;
	size_t n, cap;
	size_t stop_at; /* return 7 when this many samples are in; 0: never */
};

static int rec_cb(void *ctx, const char *name, double step, double value)
{
	struct rec *r = ctx;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->s = realloc(r->s, r->cap * sizeof(*r->s));
		assert_non_null(r->s);
	}
	assert_true(strlen(name) < TC_METRIC_NAME_MAX);
	strcpy(r->s[r->n].name, name);
	r->s[r->n].step = step;
	r->s[r->n].value = value;
	r->n++;
	if (r->stop_at && r->n == r->stop_at)
		return 7;
	return 0;
}

static void rec_free(struct rec *r)
{
	free(r->s);
	memset(r, 0, sizeof(*r));
}

/* Values compare equal, nan equal to nan (of either sign). */
static int same_value(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return a == b;
}

static void expect(const struct rec *r, size_t i, const char *name,
		   double step, double value)
{
	if (i >= r->n)
		fail_msg("sample %zu missing (only %zu)", i, r->n);
	if (strcmp(r->s[i].name, name) != 0 || r->s[i].step != step ||
	    !same_value(r->s[i].value, value))
		fail_msg("sample %zu: got %s@%g=%g, want %s@%g=%g", i,
			 r->s[i].name, r->s[i].step, r->s[i].value, name, step,
			 value);
}

static void rec_equal(const struct rec *a, const struct rec *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_string_equal(a->s[i].name, b->s[i].name);
		assert_true(a->s[i].step == b->s[i].step);
		assert_true(same_value(a->s[i].value, b->s[i].value));
	}
}

/* Feed all of text (and finish) into a new collector. */
static void collect(enum tc_metric_source src, const struct tc_metric_regex *re,
		    int kv, const char *text, struct rec *r)
{
	struct tc_collector *c = tc_collector_new(src, re, kv);

	assert_non_null(c);
	assert_int_equal(tc_collector_feed(c, text, strlen(text), rec_cb, r), 0);
	assert_int_equal(tc_collector_finish(c, rec_cb, r), 0);
	tc_collector_free(c);
}

/* ---- numbers ---------------------------------------------------------- */

static void test_number_good(void **state)
{
	static const struct {
		const char *s;
		double v;
	} good[] = {
		{"0", 0},
		{"42", 42},
		{"007", 7},
		{"1e-4", 1e-4},
		{"-3.5E+02", -350},
		{".5", 0.5},
		{"5.", 5},
		{"+2", 2},
		{"-0.25", -0.25},
		{"1E5", 1e5},
		{"2e+0", 2},
		{"  42 ", 42},
		{"\t0.875\n", 0.875},
		{"0.8757", 0.8757},
		{"1e999", INFINITY},
		{"-1e999", -INFINITY},
		{"inf", INFINITY},
		{"-inf", -INFINITY},
		{"+INF", INFINITY},
		{"Infinity", INFINITY},
		{"-Infinity", -INFINITY},
		{"iNfInItY", INFINITY},
	};
	static const char *const nans[] = {"nan", "NaN", "NAN", "-nan", "+nan",
					   " nan "};
	size_t i;
	double v;
	char big[400];

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -12345;
		if (tc_metrics_parse_number(good[i].s, strlen(good[i].s), &v))
			fail_msg("\"%s\" refused", good[i].s);
		if (v != good[i].v)
			fail_msg("\"%s\" read as %g", good[i].s, v);
	}
	for (i = 0; i < sizeof(nans) / sizeof(nans[0]); i++) {
		assert_int_equal(
			tc_metrics_parse_number(nans[i], strlen(nans[i]), &v), 0);
		assert_true(isnan(v));
	}
	/* Only len bytes are read: no NUL needed. */
	assert_int_equal(tc_metrics_parse_number("12345", 3, &v), 0);
	assert_true(v == 123);
	assert_int_equal(tc_metrics_parse_number("0.5xyz", 3, &v), 0);
	assert_true(v == 0.5);
	/* Longer than any stack buffer. */
	memset(big, '0', sizeof(big) - 1);
	big[0] = '1';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tc_metrics_parse_number(big, strlen(big), &v), 0);
	assert_true(isinf(v) && v > 0);
	big[1] = '.';
	assert_int_equal(tc_metrics_parse_number(big, strlen(big), &v), 0);
	assert_true(v == 1);
}

static void test_number_bad(void **state)
{
	static const char *const bad[] = {
		"",      "   ",    "1e",     "1e+",  "--1",   "+-1",    "1.2.3",
		"0x10",  "0x1p3",  "abc",    ".",    "-",     "+",      "e5",
		".e5",   "1 2",    "1,5",    "5%",   "5a",    "nan(1)", "nanx",
		"infin", "infinit", "infinityy", "in", "1..2", "1e5.5",  "1_000",
		"١",    "0.5\x01",
	};
	size_t i;
	double v = 99;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tc_metrics_parse_number(bad[i], strlen(bad[i]), &v) == 0)
			fail_msg("\"%s\" accepted as %g", bad[i], v);
	assert_true(v == 99); /* *out untouched on failure */
	assert_int_equal(tc_metrics_parse_number(NULL, 0, &v), -1);
	/* An embedded NUL is not a terminator. */
	assert_int_equal(tc_metrics_parse_number("1\0" "2", 3, &v), -1);
}

/* ---- name=value lines -------------------------------------------------- */

static void test_kv_epoch_line(void **state)
{
	struct rec r = {0};

	(void)state;
	collect(TC_SRC_TEXT, NULL, 1, "epoch=3 loss=0.41 test_acc=0.8757\n", &r);
	assert_int_equal(r.n, 3);
	expect(&r, 0, "epoch", 3, 3);
	expect(&r, 1, "loss", 3, 0.41);
	expect(&r, 2, "test_acc", 3, 0.8757);
	rec_free(&r);
}

static void test_kv_auto_steps(void **state)
{
	struct rec r = {0};

	(void)state;
	collect(TC_SRC_TEXT, NULL, 1,
		"loss=0.5\nloss=0.4 acc=0.1\nacc=0.2\nstep=10 loss=0.3\n"
		"loss=0.2\nloss=0.1 loss=0.05\n",
		&r);
	assert_int_equal(r.n, 9);
	expect(&r, 0, "loss", 0, 0.5);
	expect(&r, 1, "loss", 1, 0.4);
	expect(&r, 2, "acc", 0, 0.1);
	expect(&r, 3, "acc", 1, 0.2);
	expect(&r, 4, "step", 10, 10);
	expect(&r, 5, "loss", 10, 0.3);
	/* After an explicit step the auto step carries on from it. */
	expect(&r, 6, "loss", 11, 0.2);
	expect(&r, 7, "loss", 12, 0.1);
	expect(&r, 8, "loss", 13, 0.05);
	rec_free(&r);
}

static void test_kv_step_wins_over_epoch(void **state)
{
	struct rec r = {0};

	(void)state;
	/* step wins wherever it is in the line, before or after epoch. */
	collect(TC_SRC_TEXT, NULL, 1,
		"epoch=2 loss=1 step=100\nstep=7, epoch=1; acc=0.5\n", &r);
	assert_int_equal(r.n, 6);
	expect(&r, 0, "epoch", 100, 2);
	expect(&r, 1, "loss", 100, 1);
	expect(&r, 2, "step", 100, 100);
	expect(&r, 3, "step", 7, 7);
	expect(&r, 4, "epoch", 7, 1);
	expect(&r, 5, "acc", 7, 0.5);
	rec_free(&r);
}

static void test_kv_katib_spacing(void **state)
{
	struct rec r = {0};

	(void)state;
	collect(TC_SRC_TEXT, NULL, 1,
		"accuracy = 0.9\naccuracy= 0.8\naccuracy =0.7\n"
		"Validation-accuracy=0.95\taccuracy\t=\t0.6\n",
		&r);
	assert_int_equal(r.n, 5);
	expect(&r, 0, "accuracy", 0, 0.9);
	expect(&r, 1, "accuracy", 1, 0.8);
	expect(&r, 2, "accuracy", 2, 0.7);
	expect(&r, 3, "Validation-accuracy", 0, 0.95);
	expect(&r, 4, "accuracy", 3, 0.6);
	rec_free(&r);
}

static void test_kv_garbage(void **state)
{
	struct rec r = {0};

	(void)state;
	collect(TC_SRC_TEXT, NULL, 1,
		"2024-01-01 12:00:00 INFO [train.py:42] epoch=2, loss=0.5; "
		"acc=0.8 (best) lr=3e-4 optimizer=adam v=1.2.3 h=0x10 =5 9z=3 "
		"x=5abc (y=1) z= , train/loss=0.25 val-acc=-1.5E+00 a=b=3 "
		"q=nan w=-inf\n"
		"no pairs here at all\n"
		"=\n==\n=1\n a = \n\n",
		&r);
	assert_int_equal(r.n, 8);
	expect(&r, 0, "epoch", 2, 2);
	expect(&r, 1, "loss", 2, 0.5);
	expect(&r, 2, "acc", 2, 0.8);
	expect(&r, 3, "lr", 2, 3e-4);
	expect(&r, 4, "train/loss", 2, 0.25);
	expect(&r, 5, "val-acc", 2, -1.5);
	expect(&r, 6, "q", 2, NAN);
	expect(&r, 7, "w", 2, -INFINITY);
	rec_free(&r);
}

/* A number with digit groups or a decimal comma is not misread as its
 * first group (acc=1,000 was recorded as 1): such a value is not recorded;
 * a comma before the next pair still separates. */
static void test_kv_digit_groups(void **state)
{
	struct rec r = {0};

	(void)state;
	collect(TC_SRC_TEXT, NULL, 1,
		"acc=1,000 loss=0,91 n=1,000,000;x=2\nacc=0.5,loss=0.25 b=1,\n"
		"c=3,d=4 e=1,2x,f=5\n",
		&r);
	assert_int_equal(r.n, 7);
	expect(&r, 0, "x", 0, 2);
	expect(&r, 1, "acc", 0, 0.5);
	expect(&r, 2, "loss", 0, 0.25);
	expect(&r, 3, "b", 0, 1);
	expect(&r, 4, "c", 0, 3);
	expect(&r, 5, "d", 0, 4);
	expect(&r, 6, "f", 0, 5);
	rec_free(&r);
}

static void test_kv_name_length(void **state)
{
	struct rec r = {0};
	char line[TC_METRIC_NAME_MAX + 32];
	size_t n = TC_METRIC_NAME_MAX - 1;

	(void)state;
	memset(line, 'a', n);
	strcpy(line + n, "=1\n");
	collect(TC_SRC_TEXT, NULL, 1, line, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(strlen(r.s[0].name), n);
	rec_free(&r);
	memset(line, 'a', n + 1);
	strcpy(line + n + 1, "=1\n");
	collect(TC_SRC_TEXT, NULL, 1, line, &r);
	assert_int_equal(r.n, 0);
	rec_free(&r);
}

static void test_kv_off(void **state)
{
	struct rec r = {0};

	(void)state;
	/* kv == 0 and no regex: nothing at all. */
	collect(TC_SRC_TEXT, NULL, 0, "loss=1\n", &r);
	assert_int_equal(r.n, 0);
	/* A text collector does not read JSON, a JSON one not pairs. */
	collect(TC_SRC_TEXT, NULL, 1, "{\"loss\": 1}\n", &r);
	assert_int_equal(r.n, 0);
	collect(TC_SRC_JSONL, NULL, 1, "loss=1\n", &r);
	assert_int_equal(r.n, 0);
	rec_free(&r);
}

static void test_names_bounded(void **state)
{
	struct tc_collector *c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
	struct rec r = {0};
	char line[64];
	size_t i, j;

	(void)state;
	for (i = 0; i < TC_METRICS_NAMES_MAX + 200; i++) {
		int n = snprintf(line, sizeof(line), "m%zu=1\n", i);

		assert_int_equal(tc_collector_feed(c, line, (size_t)n, rec_cb,
						   &r),
				 0);
	}
	assert_int_equal(r.n, TC_METRICS_NAMES_MAX);
	assert_int_equal(tc_collector_dropped(c), 200); /* counted, to be said */
	/* Known names still work, with their own steps. */
	assert_int_equal(tc_collector_feed(c, "m0=2 m5000=3\n", 13, rec_cb, &r),
			 0);
	assert_int_equal(r.n, TC_METRICS_NAMES_MAX + 1);
	assert_int_equal(tc_collector_dropped(c), 201);
	expect(&r, TC_METRICS_NAMES_MAX, "m0", 1, 2);
	for (i = 0; i < 64 && i < r.n; i++)
		for (j = i + 1; j < 64 && j < r.n; j++)
			assert_string_not_equal(r.s[i].name, r.s[j].name);
	tc_collector_free(c);
	rec_free(&r);
}

/* ---- JSON lines ------------------------------------------------------- */

static void test_json_lines(void **state)
{
	struct rec r = {0};

	(void)state;
	collect(TC_SRC_JSONL, NULL, 0,
		"{\"step\":3,\"loss\":0.41}\n"
		"{\"epoch\": 1, \"loss\": \"nan\", \"acc\": \"inf\", "
		"\"name\": \"resnet\", \"ok\": true, \"bad\": false, "
		"\"nested\": {\"a\": 1}, \"arr\": [1, 2], \"none\": null, "
		"\"s\": \" 2.5 \"}\n"
		"{\"it\": 7}\n{\"it\": 8}\r\n"
		"{\"epoch\": 2, \"step\": \"40\", \"x\": -1e-3}\n",
		&r);
	assert_int_equal(r.n, 11);
	expect(&r, 0, "step", 3, 3);
	expect(&r, 1, "loss", 3, 0.41);
	expect(&r, 2, "epoch", 1, 1);
	expect(&r, 3, "loss", 1, NAN);
	expect(&r, 4, "acc", 1, INFINITY);
	expect(&r, 5, "s", 1, 2.5);
	expect(&r, 6, "it", 0, 7);
	expect(&r, 7, "it", 1, 8);
	expect(&r, 8, "epoch", 40, 2);
	expect(&r, 9, "step", 40, 40);
	expect(&r, 10, "x", 40, -1e-3);
	rec_free(&r);
}

static void test_json_python_nonfinite(void **state)
{
	struct rec r = {0};

	(void)state;
	/* What Python's json.dumps writes for float('nan') and friends. */
	collect(TC_SRC_JSONL, NULL, 0,
		"{\"step\": 2, \"loss\": NaN, \"a\": -Infinity, \"b\": Infinity, "
		"\"NaN\": \"NaN: not \\\" NaN\"}\n",
		&r);
	assert_int_equal(r.n, 4);
	expect(&r, 0, "step", 2, 2);
	expect(&r, 1, "loss", 2, NAN);
	expect(&r, 2, "a", 2, -INFINITY);
	expect(&r, 3, "b", 2, INFINITY);
	rec_free(&r);
}

static void test_json_invalid(void **state)
{
	static const char *const junk[] = {
		"{\"loss\": ",
		"garbage",
		"[1, 2]",
		"3.5",
		"\"loss\"",
		"{\"a\": 1} trailing",
		"{\"a\": 1}{\"b\": 2}",
		"{'a': 1}",
		"{\"a\": NaNa}",
		"{\"a\": 1,}",
		"\xff\xfe{\"a\":1}",
		"{\"a\\u0000b\": 1}",
		"{\"bad\\u0001key\": 1}",
		"{",
		"}",
		"",
	};
	struct tc_collector *c = tc_collector_new(TC_SRC_JSONL, NULL, 0);
	struct rec r = {0};
	char deep[8000];
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		assert_int_equal(tc_collector_feed(c, junk[i], strlen(junk[i]),
						   rec_cb, &r),
				 0);
		assert_int_equal(tc_collector_feed(c, "\n", 1, rec_cb, &r), 0);
	}
	/* Deep nesting: refused by jansson's depth limit, no stack overflow. */
	n += (size_t)sprintf(deep, "{\"a\": 1, \"b\": ");
	for (i = 0; i < 3000; i++)
		deep[n++] = '[';
	for (i = 0; i < 3000; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	assert_int_equal(tc_collector_feed(c, deep, n, rec_cb, &r), 0);
	assert_int_equal(tc_collector_feed(c, "\n", 1, rec_cb, &r), 0);
	assert_int_equal(r.n, 0);
	/* The collector still works afterwards. */
	assert_int_equal(tc_collector_feed(c, "{\"ok\": 1}\n", 10, rec_cb, &r),
			 0);
	assert_int_equal(r.n, 1);
	expect(&r, 0, "ok", 0, 1);
	tc_collector_free(c);
	rec_free(&r);
}

/* ---- regex ------------------------------------------------------------ */

static void test_regex_sources_format(void **state)
{
	struct tc_error err;
	struct tc_metric_regex *re =
		tc_metric_regex_new("test acc,(?<test_acc>[0-9.]+)", &err);
	struct rec r = {0};
	const char *out = "epoch 1, loss 0.5213, train acc,0.80, test acc,0.8123\n"
			  "epoch 2, loss 0.4011, train acc,0.85, test acc,0.8757\n"
			  "done\n";

	(void)state;
	assert_non_null(re);
	collect(TC_SRC_TEXT, re, 0, out, &r);
	assert_int_equal(r.n, 2);
	expect(&r, 0, "test_acc", 0, 0.8123);
	expect(&r, 1, "test_acc", 1, 0.8757);
	rec_free(&r);
	/* With pairs on as well: the same, nothing in this output is a pair. */
	collect(TC_SRC_TEXT, re, 1, out, &r);
	assert_int_equal(r.n, 2);
	rec_free(&r);
	/* A JSONL collector ignores the pattern. */
	collect(TC_SRC_JSONL, re, 0, out, &r);
	assert_int_equal(r.n, 0);
	rec_free(&r);
	tc_metric_regex_free(re);
}

static void test_regex_step_group(void **state)
{
	struct tc_error err;
	struct tc_metric_regex *re = tc_metric_regex_new(
		"Epoch (?<epoch>\\d+)/\\d+.*?loss: (?<loss>[-+0-9.eE]+|nan)",
		&err);
	struct rec r = {0};

	(void)state;
	assert_non_null(re);
	collect(TC_SRC_TEXT, re, 0,
		"Epoch 4/10 - 3s - loss: 1e-3 - acc: 0.9\n"
		"Epoch 5/10 - 3s - loss: nan\n",
		&r);
	assert_int_equal(r.n, 4);
	expect(&r, 0, "epoch", 4, 4);
	expect(&r, 1, "loss", 4, 1e-3);
	expect(&r, 2, "epoch", 5, 5);
	expect(&r, 3, "loss", 5, NAN);
	rec_free(&r);
	tc_metric_regex_free(re);
}

static void test_regex_global_and_dedupe(void **state)
{
	struct tc_error err;
	struct tc_metric_regex *re =
		tc_metric_regex_new("acc: (?<acc>[0-9.]+)", &err);
	struct tc_metric_regex *re2 =
		tc_metric_regex_new("loss=(?<loss>[0-9.]+)", &err);
	struct rec r = {0};

	(void)state;
	assert_non_null(re);
	assert_non_null(re2);
	/* Every match of a line counts. */
	collect(TC_SRC_TEXT, re, 0, "acc: 0.1 acc: 0.2 acc: x\n", &r);
	assert_int_equal(r.n, 2);
	expect(&r, 0, "acc", 0, 0.1);
	expect(&r, 1, "acc", 1, 0.2);
	rec_free(&r);
	/* A pattern over a pair already read as name=value adds nothing. */
	collect(TC_SRC_TEXT, re2, 1, "loss=0.5 acc=1\n", &r);
	assert_int_equal(r.n, 2);
	expect(&r, 0, "loss", 0, 0.5);
	expect(&r, 1, "acc", 0, 1);
	rec_free(&r);
	/* ... while with pairs off, the pattern alone reports it. */
	collect(TC_SRC_TEXT, re2, 0, "loss=0.5 acc=1\n", &r);
	assert_int_equal(r.n, 1);
	expect(&r, 0, "loss", 0, 0.5);
	rec_free(&r);
	tc_metric_regex_free(re);
	tc_metric_regex_free(re2);
}

static void test_regex_empty_matches_and_bytes(void **state)
{
	struct tc_error err;
	struct tc_metric_regex *re = tc_metric_regex_new("(?<x>[0-9]*)", &err);
	struct tc_metric_regex *re2 =
		tc_metric_regex_new("准确率[:：] ?(?<acc>[0-9.]+)", &err);
	struct rec r = {0};

	(void)state;
	assert_non_null(re);
	assert_non_null(re2);
	/* A pattern that matches the empty string terminates, and finds every
	 * number, also after invalid UTF-8. */
	collect(TC_SRC_TEXT, re, 0, "a1b22\xff\xfe" "333é4\n", &r);
	assert_int_equal(r.n, 4);
	expect(&r, 0, "x", 0, 1);
	expect(&r, 1, "x", 1, 22);
	expect(&r, 2, "x", 2, 333);
	expect(&r, 3, "x", 3, 4);
	rec_free(&r);
	collect(TC_SRC_TEXT, re2, 0, "\xc3(bad utf8) 准确率：0.91\n", &r);
	assert_int_equal(r.n, 1);
	expect(&r, 0, "acc", 0, 0.91);
	rec_free(&r);
	tc_metric_regex_free(re);
	tc_metric_regex_free(re2);
}

static void test_regex_errors(void **state)
{
	struct tc_error err;

	(void)state;
	assert_null(tc_metric_regex_new("(?<a>[0-9]+", &err));
	assert_int_equal(err.code, TC_ERR_SPEC);
	assert_non_null(strstr(err.msg, "offset"));
	assert_null(tc_metric_regex_new("acc: ([0-9.]+)", &err));
	assert_int_equal(err.code, TC_ERR_SPEC);
	assert_non_null(strstr(err.msg, "named group"));
	assert_null(tc_metric_regex_new(NULL, &err));
	assert_null(tc_metric_regex_new("(", NULL)); /* err may be NULL */
	tc_metric_regex_free(NULL);
}

static void test_regex_pathological(void **state)
{
	struct tc_error err;
	struct tc_metric_regex *re =
		tc_metric_regex_new("(?<x>(a+)+)b|(?<y>[0-9]+)", &err);
	struct tc_collector *c;
	struct rec r = {0};
	size_t n = 30000;
	char *line = malloc(n + 16);

	(void)state;
	assert_non_null(re);
	assert_non_null(line);
	/* Catastrophic backtracking on a long line: the match limit ends it
	 * (without it this would not finish in our lifetime). */
	memset(line, 'a', n);
	memcpy(line + n, "\ny=5 7\n", 8);
	c = tc_collector_new(TC_SRC_TEXT, re, 0);
	assert_int_equal(tc_collector_feed(c, line, n + 7, rec_cb, &r), 0);
	assert_int_equal(r.n, 2);
	expect(&r, 0, "y", 0, 5);
	expect(&r, 1, "y", 1, 7);
	tc_collector_free(c);
	tc_metric_regex_free(re);
	free(line);
	rec_free(&r);
}

/* ---- the stream ------------------------------------------------------- */

static const char stream_text[] =
	"starting\r\n"
	"epoch=1 loss=0.9 acc=0.1\r\n"
	"  1%|#  | loss=0.8\r  2%|## | loss=0.7\r  3%|###| loss=0.6\n"
	"accuracy = 0.5\n\n\r\r\n"
	"step=10, loss=0.5; lr=1e-4\n"
	"test acc,0.77 garbage=yes\n"
	"loss=0.4";

static void test_chunked_equals_whole(void **state)
{
	struct tc_error err;
	struct tc_metric_regex *re =
		tc_metric_regex_new("test acc,(?<test_acc>[0-9.]+)", &err);
	struct rec whole = {0}, bytes = {0}, odd = {0};
	struct tc_collector *c;
	size_t n = strlen(stream_text), i, k;

	(void)state;
	assert_non_null(re);
	collect(TC_SRC_TEXT, re, 1, stream_text, &whole);
	assert_int_equal(whole.n, 12);
	expect(&whole, 0, "epoch", 1, 1);
	/* After the explicit step 1, loss goes on at 2. */
	expect(&whole, 3, "loss", 2, 0.8);
	expect(&whole, 4, "loss", 3, 0.7);
	expect(&whole, 5, "loss", 4, 0.6);
	expect(&whole, 6, "accuracy", 0, 0.5);
	expect(&whole, 9, "lr", 10, 1e-4);
	expect(&whole, 10, "test_acc", 0, 0.77);
	expect(&whole, 11, "loss", 11, 0.4);

	c = tc_collector_new(TC_SRC_TEXT, re, 1);
	for (i = 0; i < n; i++)
		assert_int_equal(tc_collector_feed(c, stream_text + i, 1,
						   rec_cb, &bytes),
				 0);
	assert_int_equal(tc_collector_finish(c, rec_cb, &bytes), 0);
	tc_collector_free(c);
	rec_equal(&whole, &bytes);

	/* Chunks of every size from 2 to 17. */
	for (k = 2; k < 18; k++) {
		c = tc_collector_new(TC_SRC_TEXT, re, 1);
		for (i = 0; i < n; i += k)
			assert_int_equal(tc_collector_feed(c, stream_text + i,
							   n - i < k ? n - i : k,
							   rec_cb, &odd),
					 0);
		assert_int_equal(tc_collector_finish(c, rec_cb, &odd), 0);
		tc_collector_free(c);
		rec_equal(&whole, &odd);
		rec_free(&odd);
	}
	rec_free(&whole);
	rec_free(&bytes);
	tc_metric_regex_free(re);
}

static void test_chunked_json(void **state)
{
	static const char text[] = "{\"step\": 1, \"loss\": 0.5}\n"
				   "{\"loss\": NaN}\r\n"
				   "{\"loss\": \"inf\"}";
	struct rec whole = {0}, bytes = {0};
	struct tc_collector *c;
	size_t i;

	(void)state;
	collect(TC_SRC_JSONL, NULL, 0, text, &whole);
	assert_int_equal(whole.n, 4);
	c = tc_collector_new(TC_SRC_JSONL, NULL, 0);
	for (i = 0; i < sizeof(text) - 1; i++)
		assert_int_equal(tc_collector_feed(c, text + i, 1, rec_cb,
						   &bytes),
				 0);
	assert_int_equal(tc_collector_finish(c, rec_cb, &bytes), 0);
	tc_collector_free(c);
	rec_equal(&whole, &bytes);
	rec_free(&whole);
	rec_free(&bytes);
}

static void test_carriage_returns(void **state)
{
	struct rec r = {0};

	(void)state;
	collect(TC_SRC_TEXT, NULL, 1, "loss=1\r\nloss=2\rloss=3\n\rloss=4\r",
		&r);
	assert_int_equal(r.n, 4);
	expect(&r, 0, "loss", 0, 1);
	expect(&r, 1, "loss", 1, 2);
	expect(&r, 2, "loss", 2, 3);
	expect(&r, 3, "loss", 3, 4);
	rec_free(&r);
}

static void test_finish(void **state)
{
	struct tc_collector *c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
	struct rec r = {0};

	(void)state;
	assert_int_equal(tc_collector_feed(c, "loss=1", 6, rec_cb, &r), 0);
	assert_int_equal(r.n, 0); /* not yet: the line may go on */
	assert_int_equal(tc_collector_feed(c, "5", 1, rec_cb, &r), 0);
	assert_int_equal(tc_collector_finish(c, rec_cb, &r), 0);
	assert_int_equal(r.n, 1);
	expect(&r, 0, "loss", 0, 15);
	assert_int_equal(tc_collector_finish(c, rec_cb, &r), 0);
	assert_int_equal(r.n, 1); /* nothing twice */
	/* Feeding after a finish starts a new line. */
	assert_int_equal(tc_collector_feed(c, "loss=2\n", 7, rec_cb, &r), 0);
	expect(&r, 1, "loss", 1, 2);
	tc_collector_free(c);
	rec_free(&r);
}

static void test_callback_stops(void **state)
{
	struct tc_collector *c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
	struct rec r = {0};
	const char *text = "a=1 b=2 c=3\nd=4\n";

	(void)state;
	r.stop_at = 2;
	assert_int_equal(tc_collector_feed(c, text, strlen(text), rec_cb, &r),
			 7);
	assert_int_equal(r.n, 2);
	r.stop_at = 0;
	assert_int_equal(tc_collector_feed(c, "e=5", 3, rec_cb, &r), 0);
	r.stop_at = 3;
	assert_int_equal(tc_collector_finish(c, rec_cb, &r), 7);
	expect(&r, 2, "e", 0, 5);
	/* A NULL callback is allowed: values are counted, not reported. */
	assert_int_equal(tc_collector_feed(c, "a=1\n", 4, NULL, NULL), 0);
	r.stop_at = 0;
	assert_int_equal(tc_collector_feed(c, "a=1\n", 4, rec_cb, &r), 0);
	expect(&r, 3, "a", 2, 1);
	tc_collector_free(c);
	rec_free(&r);
}

static void test_set_next_step(void **state)
{
	struct tc_collector *c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
	struct rec r = {0};

	(void)state;
	tc_collector_set_next_step(c, "loss", 10);
	assert_int_equal(tc_collector_feed(c, "loss=1 acc=2\nloss=3\n", 20,
					   rec_cb, &r),
			 0);
	expect(&r, 0, "loss", 10, 1);
	expect(&r, 1, "acc", 0, 2);
	expect(&r, 2, "loss", 11, 3);
	tc_collector_free(c);
	rec_free(&r);
}

/* A line of 10 MB without a newline, fed as a tailed file would be. */
static void test_huge_line_skipped(void **state)
{
	struct tc_collector *c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
	struct rec r = {0};
	size_t chunk = 65536 + 17, total = 10u << 20, fed = 0;
	char *buf = malloc(chunk);
	size_t peak = 0;

	(void)state;
	assert_non_null(buf);
	memset(buf, 'x', chunk);
	memcpy(buf + 100, " loss=5 ", 8); /* inside the long line: ignored */
	assert_int_equal(tc_collector_feed(c, "a=1\nb=2 ", 8, rec_cb, &r), 0);
	while (fed < total) {
		size_t n = total - fed < chunk ? total - fed : chunk;

		assert_int_equal(tc_collector_feed(c, buf, n, rec_cb, &r), 0);
		fed += n;
		if (tc_collector_bytes(c) > peak)
			peak = tc_collector_bytes(c);
	}
	assert_int_equal(tc_collector_feed(c, " c=3\nd=4\n", 9, rec_cb, &r), 0);
	assert_true(peak <= TC_METRICS_LINE_MAX + 16384);
	assert_int_equal(r.n, 2);
	expect(&r, 0, "a", 0, 1);
	expect(&r, 1, "d", 0, 4);

	/* The same without a newline at all, then finish: nothing. */
	for (fed = 0; fed < total; fed += chunk)
		assert_int_equal(tc_collector_feed(c, buf, chunk, rec_cb, &r),
				 0);
	assert_true(tc_collector_bytes(c) <= TC_METRICS_LINE_MAX + 16384);
	assert_int_equal(tc_collector_finish(c, rec_cb, &r), 0);
	assert_int_equal(r.n, 2);
	tc_collector_free(c);
	free(buf);
	rec_free(&r);
}

/* A line of exactly TC_METRICS_LINE_MAX bytes is read, one byte more is
 * not; the same whether it arrives whole or in pieces. */
static void test_line_max_boundary(void **state)
{
	static const size_t pieces[] = {1,     8,     57,    4096,
					65535, 65536, 65537, 1u << 20};
	size_t n = TC_METRICS_LINE_MAX;
	char *line = malloc(n + 2);
	size_t p, i;

	(void)state;
	assert_non_null(line);
	for (p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
		size_t piece = pieces[p];
		struct rec r = {0};
		struct tc_collector *c;

		memset(line, ' ', n + 1);
		memcpy(line, "loss=1", 6);
		line[n] = '\n';
		c = tc_collector_new(TC_SRC_TEXT, NULL, 1);
		for (i = 0; i < n + 1; i += piece)
			tc_collector_feed(c, line + i,
					  n + 1 - i < piece ? n + 1 - i : piece,
					  rec_cb, &r);
		assert_int_equal(r.n, 1);
		/* One byte longer. */
		line[n] = ' ';
		line[n + 1] = '\n';
		for (i = 0; i < n + 2; i += piece)
			tc_collector_feed(c, line + i,
					  n + 2 - i < piece ? n + 2 - i : piece,
					  rec_cb, &r);
		assert_int_equal(r.n, 1);
		tc_collector_free(c);
		rec_free(&r);
	}
	free(line);
}

/* ---- ranking ---------------------------------------------------------- */

struct ranked {
	double v;
	int has;
	int id;
};

static int g_goal;

static int ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	int c = tc_metric_cmp(x->v, x->has, y->v, y->has, g_goal);

	return c ? c : x->id - y->id;
}

static void test_ranking(void **state)
{
	struct ranked in[] = {
		{0.5, 1, 0},       {NAN, 1, 1},  {0.9, 1, 2},
		{0, 0, 3},         {INFINITY, 1, 4}, {-INFINITY, 1, 5},
		{0.7, 1, 6},       {-2, 1, 7},   {1e300, 0, 8},
	};
	struct ranked a[9];
	static const int max_order[] = {2, 6, 0, 7, 1, 4, 5, 3, 8};
	static const int min_order[] = {7, 0, 6, 2, 1, 4, 5, 3, 8};
	size_t i;

	(void)state;
	memcpy(a, in, sizeof(a));
	g_goal = 1;
	qsort(a, 9, sizeof(a[0]), ranked_cmp);
	for (i = 0; i < 9; i++)
		assert_int_equal(a[i].id, max_order[i]);
	memcpy(a, in, sizeof(a));
	g_goal = -1;
	qsort(a, 9, sizeof(a[0]), ranked_cmp);
	for (i = 0; i < 9; i++)
		assert_int_equal(a[i].id, min_order[i]);

	/* Direct cases. */
	assert_true(tc_metric_cmp(1, 1, 2, 1, 1) > 0);
	assert_true(tc_metric_cmp(1, 1, 2, 1, -1) < 0);
	assert_int_equal(tc_metric_cmp(1, 1, 1, 1, 1), 0);
	assert_int_equal(tc_metric_cmp(0.0, 1, -0.0, 1, 1), 0);
	/* inf is never best, even when maximizing; -inf not when minimizing */
	assert_true(tc_metric_cmp(INFINITY, 1, -1e308, 1, 1) > 0);
	assert_true(tc_metric_cmp(-INFINITY, 1, 1e308, 1, -1) > 0);
	assert_true(tc_metric_cmp(NAN, 1, 0, 1, -1) > 0);
	assert_true(tc_metric_cmp(0, 1, NAN, 1, 1) < 0);
	/* missing after non-finite, whatever the value slot holds */
	assert_true(tc_metric_cmp(NAN, 1, 5, 0, 1) < 0);
	assert_true(tc_metric_cmp(5, 0, INFINITY, 1, -1) > 0);
	assert_int_equal(tc_metric_cmp(5, 0, 7, 0, 1), 0);
	assert_int_equal(tc_metric_cmp(NAN, 1, INFINITY, 1, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_number_good),
		cmocka_unit_test(test_number_bad),
		cmocka_unit_test(test_kv_epoch_line),
		cmocka_unit_test(test_kv_auto_steps),
		cmocka_unit_test(test_kv_step_wins_over_epoch),
		cmocka_unit_test(test_kv_katib_spacing),
		cmocka_unit_test(test_kv_garbage),
		cmocka_unit_test(test_kv_digit_groups),
		cmocka_unit_test(test_kv_name_length),
		cmocka_unit_test(test_kv_off),
		cmocka_unit_test(test_names_bounded),
		cmocka_unit_test(test_json_lines),
		cmocka_unit_test(test_json_python_nonfinite),
		cmocka_unit_test(test_json_invalid),
		cmocka_unit_test(test_regex_sources_format),
		cmocka_unit_test(test_regex_step_group),
		cmocka_unit_test(test_regex_global_and_dedupe),
		cmocka_unit_test(test_regex_empty_matches_and_bytes),
		cmocka_unit_test(test_regex_errors),
		cmocka_unit_test(test_regex_pathological),
		cmocka_unit_test(test_chunked_equals_whole),
		cmocka_unit_test(test_chunked_json),
		cmocka_unit_test(test_carriage_returns),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_set_next_step),
		cmocka_unit_test(test_huge_line_skipped),
		cmocka_unit_test(test_line_max_boundary),
		cmocka_unit_test(test_ranking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
