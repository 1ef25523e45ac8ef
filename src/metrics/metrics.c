/*
 * metrics.c — metrics from a trial's own output (see metrics.h).
 *
 * A collector is a line splitter in front of three line parsers: name=value
 * pairs, one JSON object, and a user PCRE2 pattern.  The parsers append what
 * they find in a line to c->pend; once the whole line has been read its step
 * is known (a step or epoch value anywhere in it), and the pending samples
 * go to the callback in the order they were found.
 *
 * Memory is bounded whatever the trial prints (the invariants below are kept
 * by line_add(), name_get() and pend_add()):
 *   - the partial-line buffer never grows past TC_METRICS_LINE_MAX bytes; a
 *     longer line is dropped as it streams past;
 *   - at most TC_METRICS_NAMES_MAX distinct names are tracked (for their
 *     auto steps); values of further names are dropped;
 *   - at most TC_METRICS_LINE_VALUES_MAX values are taken from one line.
 */
#include "metrics/metrics.h"

#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Limits of one regex match, so that a pathological pattern on a long line
 * costs a bounded time instead of hanging the collector. */
#define RE_MATCH_LIMIT 1000000u
#define RE_DEPTH_LIMIT 100000u
#define RE_HEAP_LIMIT_KIB 65536u
#define RE_JIT_STACK_MAX (1024 * 1024)

/* Slots of the name hash table: a power of two, at least twice
 * TC_METRICS_NAMES_MAX so that probing stays short. */
#define NAME_SLOTS 2048

/* ------------------------------------------------------------------ */
/* Numbers                                                              */
/* ------------------------------------------------------------------ */

/* strtod() follows LC_NUMERIC; a program that calls setlocale() for its
 * terminal would otherwise stop reading "0.5".  Convert in the C locale. */
static locale_t c_numeric;
static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;

static void c_numeric_init(void)
{
	c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	       ch == '\v' || ch == '\f';
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* s[0..n) equals lit (lowercase) ignoring case. */
static int ci_eq(const char *s, size_t n, const char *lit)
{
	size_t i;

	if (n != strlen(lit))
		return 0;
	for (i = 0; i < n; i++)
		if (tolower((unsigned char)s[i]) != lit[i])
			return 0;
	return 1;
}

int tc_metrics_parse_number(const char *s, size_t len, double *out)
{
	size_t b = 0, e = len, i, n, ndig = 0, edig = 0;
	int neg = 0, ok;
	char small[64], *tmp, *end;
	double v;

	if (!s || !out)
		return -1;
	while (b < e && is_space(s[b]))
		b++;
	while (e > b && is_space(s[e - 1]))
		e--;
	if (b == e)
		return -1;

	/* Check the grammar first, so that strtod's extras (hex floats,
	 * "nan(chars)", "infinit") are refused:
	 *   [+-]? (digits [. digits?]? | . digits) ([eE] [+-]? digits)?
	 *   [+-]? (nan | inf | infinity)            any case */
	i = b;
	if (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-';
		i++;
	}
	if (ci_eq(s + i, e - i, "nan")) {
		*out = neg ? -NAN : NAN;
		return 0;
	}
	if (ci_eq(s + i, e - i, "inf") || ci_eq(s + i, e - i, "infinity")) {
		*out = neg ? -INFINITY : INFINITY;
		return 0;
	}
	while (i < e && is_digit(s[i])) {
		i++;
		ndig++;
	}
	if (i < e && s[i] == '.') {
		i++;
		while (i < e && is_digit(s[i])) {
			i++;
			ndig++;
		}
	}
	if (ndig == 0)
		return -1;
	if (i < e && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < e && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < e && is_digit(s[i])) {
			i++;
			edig++;
		}
		if (edig == 0)
			return -1;
	}
	if (i != e)
		return -1;

	n = e - b;
	tmp = n < sizeof(small) ? small : malloc(n + 1);
	if (!tmp)
		return -1;
	memcpy(tmp, s + b, n);
	tmp[n] = '\0';
	pthread_once(&c_numeric_once, c_numeric_init);
	/* Out of range gives +-HUGE_VAL (inf) or a denormal/zero: both are
	 * what the text says, so ERANGE is not an error here. */
	v = c_numeric ? strtod_l(tmp, &end, c_numeric) : strtod(tmp, &end);
	ok = end == tmp + n;
	if (tmp != small)
		free(tmp);
	if (!ok)
		return -1;
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Regex                                                                */
/* ------------------------------------------------------------------ */

struct re_group {
	uint32_t num;                 /* capture group number */
	char name[TC_METRIC_NAME_MAX]; /* its name */
};

struct tc_metric_regex {
	pcre2_code *code;
	int utf;                 /* compiled in UTF mode */
	size_t ngroups;          /* named groups ... */
	struct re_group *groups; /* ... in name-table order */
};

struct tc_metric_regex *tc_metric_regex_new(const char *pattern,
					    struct tc_error *err)
{
	struct tc_metric_regex *re;
	int ecode;
	PCRE2_SIZE eoff;
	PCRE2_UCHAR emsg[256];
	uint32_t count = 0, esize = 0, opts = 0, i;
	PCRE2_SPTR table = NULL;

	if (!pattern) {
		tc_error_set(err, TC_ERR_USAGE, "no metric pattern given");
		return NULL;
	}
	re = calloc(1, sizeof(*re));
	if (!re) {
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	/* UTF mode so that '.' and character classes see whole characters of
	 * a UTF-8 pattern; MATCH_INVALID_UTF because a trial's output may be
	 * any bytes at all (invalid sequences simply never match). */
	re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ecode,
				 &eoff, NULL);
	if (!re->code) {
		pcre2_get_error_message(ecode, emsg, sizeof(emsg));
		tc_error_set(err, TC_ERR_SPEC,
			     "metric regex: %s at offset %zu of \"%s\"",
			     (const char *)emsg, (size_t)eoff, pattern);
		free(re);
		return NULL;
	}
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
	pcre2_pattern_info(re->code, PCRE2_INFO_ALLOPTIONS, &opts);
	re->utf = (opts & PCRE2_UTF) != 0;
	if (count == 0) {
		tc_error_set(err, TC_ERR_SPEC,
			     "metric regex \"%s\" has no named group; name the "
			     "value after the metric, e.g. "
			     "\"acc=(?<acc>[0-9.]+)\"",
			     pattern);
		pcre2_code_free(re->code);
		free(re);
		return NULL;
	}
	re->groups = calloc(count, sizeof(*re->groups));
	if (!re->groups) {
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		pcre2_code_free(re->code);
		free(re);
		return NULL;
	}
	/* Each entry: the group number (2 bytes, big-endian), then the name
	 * and a NUL.  PCRE2 limits names to 32 characters, far below
	 * TC_METRIC_NAME_MAX, but do not rely on it. */
	for (i = 0; i < count; i++) {
		PCRE2_SPTR ent = table + (size_t)i * esize;
		const char *name = (const char *)(ent + 2);

		if (strlen(name) >= TC_METRIC_NAME_MAX) {
			tc_error_set(err, TC_ERR_SPEC,
				     "metric regex: group name \"%.40s...\" is "
				     "longer than %d bytes",
				     name, TC_METRIC_NAME_MAX - 1);
			tc_metric_regex_free(re);
			return NULL;
		}
		re->groups[re->ngroups].num = ((uint32_t)ent[0] << 8) | ent[1];
		strcpy(re->groups[re->ngroups].name, name);
		re->ngroups++;
	}
	/* JIT when the library has it; the interpreter otherwise. */
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	tc_error_clear(err);
	return re;
}

void tc_metric_regex_free(struct tc_metric_regex *re)
{
	if (!re)
		return;
	pcre2_code_free(re->code);
	free(re->groups);
	free(re);
}

/* ------------------------------------------------------------------ */
/* Collector                                                            */
/* ------------------------------------------------------------------ */

struct name_ent {
	char *name;
	double next;       /* next auto step */
	uint64_t kv_line;  /* last line with a name=value pair of this name */
	double kv_value;   /* ... and its value */
};

/* A value found in the current line, waiting for the line's step. */
struct pending {
	uint32_t ent; /* index into c->names */
	double value;
};

struct tc_collector {
	enum tc_metric_source src;
	const struct tc_metric_regex *re;
	int kv;

	/* The current line, while it is incomplete. */
	char *line;
	size_t len, cap;
	int skipping; /* the current line is too long: drop to its end */
	uint64_t lineno;

	/* Names seen, for auto steps: an open-addressing table of indexes
	 * (+1; 0 is empty) into names[]. */
	uint16_t *slots;
	struct name_ent *names;
	size_t nnames, names_cap;
	uint64_t dropped; /* values of names past the cap (see metrics.h) */

	/* Values of the line being parsed. */
	struct pending *pend;
	size_t npend, pend_cap;
	int has_step;  /* 2: a step value, 1: an epoch value, 0: none */
	double step;

	/* JSON lines with bare NaN/Infinity are rewritten here. */
	char *scratch;
	size_t scratch_cap;

	/* Regex matching state (the regex itself is shared, read-only). */
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
};

static uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* The entry of name s[0..n), created when new.  -1 when the name cannot be
 * tracked (empty, too long, too many names, no memory). */
static long name_get(struct tc_collector *c, const char *s, size_t n)
{
	uint32_t h, i;
	struct name_ent *e;

	if (n == 0 || n >= TC_METRIC_NAME_MAX)
		return -1;
	if (!c->slots) {
		c->slots = calloc(NAME_SLOTS, sizeof(*c->slots));
		if (!c->slots)
			return -1;
	}
	h = name_hash(s, n);
	for (i = h & (NAME_SLOTS - 1);; i = (i + 1) & (NAME_SLOTS - 1)) {
		uint16_t k = c->slots[i];

		if (k == 0)
			break;
		e = &c->names[k - 1];
		if (strncmp(e->name, s, n) == 0 && e->name[n] == '\0')
			return k - 1;
	}
	if (c->nnames >= TC_METRICS_NAMES_MAX)
		return -1;
	if (c->nnames == c->names_cap) {
		size_t ncap = c->names_cap ? c->names_cap * 2 : 16;
		struct name_ent *nn = realloc(c->names, ncap * sizeof(*nn));

		if (!nn)
			return -1;
		c->names = nn;
		c->names_cap = ncap;
	}
	e = &c->names[c->nnames];
	e->name = malloc(n + 1);
	if (!e->name)
		return -1;
	memcpy(e->name, s, n);
	e->name[n] = '\0';
	e->next = 0;
	e->kv_line = 0;
	e->kv_value = 0;
	c->slots[i] = (uint16_t)(c->nnames + 1);
	return (long)c->nnames++;
}

/* Note a value of the current line.  step is 2 for a name "step", 1 for
 * "epoch", 0 otherwise; a line's step is its first "step" value, else its
 * first "epoch" value (finite ones only). */
static void pend_add(struct tc_collector *c, const char *name, size_t n,
		     double value, int from_kv)
{
	long k;
	int rank = 0;

	if (n == 4 && memcmp(name, "step", 4) == 0)
		rank = 2;
	else if (n == 5 && memcmp(name, "epoch", 5) == 0)
		rank = 1;
	if (rank > c->has_step && isfinite(value)) {
		c->has_step = rank;
		c->step = value;
	}
	if (c->npend >= TC_METRICS_LINE_VALUES_MAX)
		return;
	k = name_get(c, name, n);
	if (k < 0) {
		if (c->nnames >= TC_METRICS_NAMES_MAX)
			c->dropped++;
		return;
	}
	if (from_kv) {
		c->names[k].kv_line = c->lineno;
		c->names[k].kv_value = value;
	} else if (c->kv && c->names[k].kv_line == c->lineno &&
		   (c->names[k].kv_value == value ||
		    (isnan(value) && isnan(c->names[k].kv_value)))) {
		/* The pattern re-reads a pair already taken as name=value. */
		return;
	}
	if (c->npend == c->pend_cap) {
		size_t ncap = c->pend_cap ? c->pend_cap * 2 : 32;
		struct pending *np = realloc(c->pend, ncap * sizeof(*np));

		if (!np)
			return;
		c->pend = np;
		c->pend_cap = ncap;
	}
	c->pend[c->npend].ent = (uint32_t)k;
	c->pend[c->npend].value = value;
	c->npend++;
}

/* Hand the line's values to cb, with the line's step or their auto step. */
static int pend_flush(struct tc_collector *c, tc_metric_cb cb, void *ctx)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < c->npend; i++) {
		struct name_ent *e = &c->names[c->pend[i].ent];
		double step;

		if (c->has_step) {
			step = c->step;
			if (step + 1 > e->next)
				e->next = step + 1;
		} else {
			step = e->next;
			e->next += 1;
		}
		if (cb)
			rc = cb(ctx, e->name, step, c->pend[i].value);
		if (rc)
			break;
	}
	c->npend = 0;
	c->has_step = 0;
	return rc;
}

/* --- name=value pairs ------------------------------------------------ */

static int kv_sep(char ch)
{
	return is_space(ch) || ch == ',' || ch == ';';
}

static int name_start(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       ch == '_';
}

static int name_char(char ch)
{
	return name_start(ch) || is_digit(ch) || ch == '.' || ch == '/' ||
	       ch == '-';
}

/* Tokens are separated by blanks, commas and semicolons.  A pair is a
 * token "name=value", or the same with blanks around '=' ("acc = 0.9",
 * as Katib's default pattern allows).  Anything else is skipped. */
static void parse_kv(struct tc_collector *c, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t ns, ne, vs, j;
		double v;

		while (i < n && kv_sep(s[i]))
			i++;
		if (i >= n)
			break;
		if (name_start(s[i])) {
			ns = i;
			ne = i + 1;
			while (ne < n && name_char(s[ne]))
				ne++;
			j = ne;
			while (j < n && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (j < n && s[j] == '=') {
				j++;
				while (j < n && (s[j] == ' ' || s[j] == '\t'))
					j++;
				vs = j;
				while (j < n && !kv_sep(s[j]))
					j++;
				if (j + 1 < n && s[j] == ',' &&
				    is_digit(s[j + 1])) {
					/* "acc=1,000" or "acc=0,91": digit
					 * groups or a decimal comma, not the
					 * number 1 or 0; not recorded */
					while (j + 1 < n && s[j] == ',' &&
					       is_digit(s[j + 1])) {
						j++;
						while (j < n && !kv_sep(s[j]))
							j++;
					}
				} else if (j > vs &&
					   tc_metrics_parse_number(s + vs, j - vs,
								   &v) == 0) {
					pend_add(c, s + ns, ne - ns, v, 1);
				}
				i = j;
				continue;
			}
			if (ne < n && kv_sep(s[ne])) {
				/* A bare word: "epoch 3 ...". */
				i = ne;
				continue;
			}
		}
		while (i < n && !kv_sep(s[i]))
			i++;
	}
}

/* --- JSON lines ------------------------------------------------------ */

/* A JSON value as a number: numbers, and strings that read as one. */
static int json_number(json_t *v, double *out)
{
	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		*out = json_real_value(v);
		return 0;
	}
	if (json_is_string(v))
		return tc_metrics_parse_number(json_string_value(v),
					       json_string_length(v), out);
	return -1;
}

/* Python's json.dumps writes NaN, Infinity and -Infinity bare, which is
 * not JSON.  Copy s[0..n) into c->scratch with those tokens quoted (outside
 * strings only); returns the new length, or 0 when there is nothing to
 * rewrite or no memory. */
static size_t json_quote_nonfinite(struct tc_collector *c, const char *s,
				   size_t n)
{
	static const char *const words[] = {"NaN", "-Infinity", "Infinity"};
	size_t i, o = 0, need = n + n / 3 * 2 + 3;
	int in_str = 0, changed = 0;

	if (need > c->scratch_cap) {
		char *p = realloc(c->scratch, need);

		if (!p)
			return 0;
		c->scratch = p;
		c->scratch_cap = need;
	}
	for (i = 0; i < n; i++) {
		size_t w;

		if (in_str) {
			if (s[i] == '\\' && i + 1 < n)
				c->scratch[o++] = s[i++];
			else if (s[i] == '"')
				in_str = 0;
			c->scratch[o++] = s[i];
			continue;
		}
		if (s[i] == '"') {
			in_str = 1;
			c->scratch[o++] = s[i];
			continue;
		}
		for (w = 0; w < 3; w++) {
			size_t wl = strlen(words[w]);

			if (n - i >= wl && memcmp(s + i, words[w], wl) == 0 &&
			    (i + wl == n || !isalnum((unsigned char)s[i + wl])) &&
			    (i == 0 || !isalnum((unsigned char)s[i - 1])))
				break;
		}
		if (w < 3) {
			size_t wl = strlen(words[w]);

			c->scratch[o++] = '"';
			memcpy(c->scratch + o, words[w], wl);
			o += wl;
			c->scratch[o++] = '"';
			i += wl - 1;
			changed = 1;
			continue;
		}
		c->scratch[o++] = s[i];
	}
	return changed ? o : 0;
}

static void parse_json(struct tc_collector *c, const char *s, size_t n)
{
	json_t *root, *v;
	json_error_t jerr;
	const char *key;
	size_t i;

	for (i = 0; i < n && is_space(s[i]); i++)
		;
	if (i == n || s[i] != '{')
		return; /* blank line or not an object: not ours */
	root = json_loadb(s, n, 0, &jerr);
	if (!root) {
		size_t m = json_quote_nonfinite(c, s, n);

		if (m)
			root = json_loadb(c->scratch, m, 0, &jerr);
	}
	if (!root)
		return;
	if (json_is_object(root)) {
		json_object_foreach(root, key, v) {
			double d;
			size_t kl = strlen(key);
			size_t j;

			for (j = 0; j < kl; j++)
				if ((unsigned char)key[j] < 0x20 ||
				    key[j] == 0x7f)
					break;
			if (j < kl)
				continue; /* control characters in a name */
			if (json_number(v, &d) == 0)
				pend_add(c, key, kl, d, 0);
		}
	}
	json_decref(root);
}

/* --- the user's pattern ---------------------------------------------- */

static int regex_state(struct tc_collector *c)
{
	if (c->md && c->mctx)
		return 0;
	if (!c->md)
		c->md = pcre2_match_data_create_from_pattern(c->re->code, NULL);
	if (!c->mctx)
		c->mctx = pcre2_match_context_create(NULL);
	if (!c->md || !c->mctx)
		return -1; /* no memory: this line goes unread */
	pcre2_set_match_limit(c->mctx, RE_MATCH_LIMIT);
	pcre2_set_depth_limit(c->mctx, RE_DEPTH_LIMIT);
	pcre2_set_heap_limit(c->mctx, RE_HEAP_LIMIT_KIB);
	c->jstack = pcre2_jit_stack_create(32 * 1024, RE_JIT_STACK_MAX, NULL);
	if (c->jstack)
		pcre2_jit_stack_assign(c->mctx, NULL, c->jstack);
	return 0;
}

/* Every match in the line, like a global match; each named group that took
 * part and reads as a number is a value. */
static void parse_regex(struct tc_collector *c, const char *s, size_t n)
{
	const struct tc_metric_regex *re = c->re;
	PCRE2_SIZE off = 0, *ov;
	size_t g, calls = 0;
	int rc;

	if (regex_state(c) < 0)
		return;
	ov = pcre2_get_ovector_pointer(c->md);
	/* Each call is bounded by the match limit; bound the calls too, so a
	 * line costs at most TC_METRICS_LINE_VALUES_MAX of them. */
	while (off <= n && calls++ < TC_METRICS_LINE_VALUES_MAX &&
	       c->npend < TC_METRICS_LINE_VALUES_MAX) {
		rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, off, 0, c->md,
				 c->mctx);
		if (rc < 0)
			break; /* no match, or a limit hit: done with the line */
		for (g = 0; g < re->ngroups; g++) {
			uint32_t k = re->groups[g].num;
			double v;

			if ((int)k >= rc || ov[2 * k] == PCRE2_UNSET)
				continue;
			if (tc_metrics_parse_number(s + ov[2 * k],
						    ov[2 * k + 1] - ov[2 * k],
						    &v) == 0)
				pend_add(c, re->groups[g].name,
					 strlen(re->groups[g].name), v, 0);
		}
		if (ov[1] > off) {
			off = ov[1];
		} else {
			/* Empty match: step over one character. */
			if (ov[1] >= n)
				break;
			off = ov[1] + 1;
			while (re->utf && off < n &&
			       ((unsigned char)s[off] & 0xc0) == 0x80)
				off++;
		}
	}
}

/* --- lines ----------------------------------------------------------- */

static int parse_line(struct tc_collector *c, const char *s, size_t n,
		      tc_metric_cb cb, void *ctx)
{
	c->lineno++;
	c->npend = 0;
	c->has_step = 0;
	if (n == 0)
		return 0;
	if (c->src == TC_SRC_JSONL) {
		parse_json(c, s, n);
	} else {
		if (c->kv)
			parse_kv(c, s, n);
		if (c->re)
			parse_regex(c, s, n);
	}
	return pend_flush(c, cb, ctx);
}

struct tc_collector *tc_collector_new(enum tc_metric_source src,
				      const struct tc_metric_regex *re, int kv)
{
	struct tc_collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->src = src;
	c->re = src == TC_SRC_TEXT ? re : NULL;
	c->kv = kv;
	return c;
}

void tc_collector_free(struct tc_collector *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nnames; i++)
		free(c->names[i].name);
	free(c->names);
	free(c->slots);
	free(c->pend);
	free(c->line);
	free(c->scratch);
	pcre2_match_data_free(c->md);
	pcre2_match_context_free(c->mctx);
	pcre2_jit_stack_free(c->jstack);
	free(c);
}

/* Append to the partial line; past TC_METRICS_LINE_MAX the line is dropped
 * and the rest of it skipped. */
static void line_add(struct tc_collector *c, const char *s, size_t n)
{
	if (c->skipping)
		return;
	if (n > TC_METRICS_LINE_MAX - c->len) {
		c->skipping = 1;
		c->len = 0;
		return;
	}
	if (c->len + n > c->cap) {
		size_t ncap = c->cap ? c->cap : 256;
		char *p;

		while (ncap < c->len + n)
			ncap *= 2;
		if (ncap > TC_METRICS_LINE_MAX)
			ncap = TC_METRICS_LINE_MAX;
		p = realloc(c->line, ncap);
		if (!p) {
			c->skipping = 1; /* lose this line, not the stream */
			c->len = 0;
			return;
		}
		/* Zeroed: PCRE2's JIT reads the subject a word at a time, a
		 * few bytes past its end (harmless, but valgrind would flag
		 * the uninitialised tail). */
		memset(p + c->cap, 0, ncap - c->cap);
		c->line = p;
		c->cap = ncap;
	}
	memcpy(c->line + c->len, s, n);
	c->len += n;
}

int tc_collector_feed(struct tc_collector *c, const char *buf, size_t len,
		      tc_metric_cb cb, void *ctx)
{
	size_t i = 0;
	int rc;

	if (!c)
		return 0;
	while (i < len) {
		size_t j = i;
		int skipped;

		while (j < len && buf[j] != '\n' && buf[j] != '\r')
			j++;
		if (j == len) {
			line_add(c, buf + i, len - i);
			break;
		}
		/* buf[j] ends a line ("\r\n" ends one line and then an empty
		 * one, which yields nothing). */
		skipped = c->skipping;
		c->skipping = 0;
		rc = 0;
		if (skipped) {
			c->len = 0;
		} else if (c->len == 0) {
			if (j - i <= TC_METRICS_LINE_MAX)
				rc = parse_line(c, buf + i, j - i, cb, ctx);
		} else {
			line_add(c, buf + i, j - i);
			if (!c->skipping)
				rc = parse_line(c, c->line, c->len, cb, ctx);
			c->skipping = 0;
			c->len = 0;
		}
		i = j + 1;
		if (rc)
			return rc;
	}
	return 0;
}

int tc_collector_finish(struct tc_collector *c, tc_metric_cb cb, void *ctx)
{
	int rc = 0;

	if (!c)
		return 0;
	if (!c->skipping && c->len > 0)
		rc = parse_line(c, c->line, c->len, cb, ctx);
	c->len = 0;
	c->skipping = 0;
	return rc;
}

void tc_collector_set_next_step(struct tc_collector *c, const char *name,
				double step)
{
	long k;

	if (!c || !name)
		return;
	k = name_get(c, name, strlen(name));
	if (k >= 0)
		c->names[k].next = step;
}

uint64_t tc_collector_dropped(const struct tc_collector *c)
{
	return c ? c->dropped : 0;
}

size_t tc_collector_bytes(const struct tc_collector *c)
{
	size_t n;

	if (!c)
		return 0;
	n = sizeof(*c) + c->cap + c->scratch_cap +
	    c->pend_cap * sizeof(*c->pend) +
	    c->names_cap * sizeof(*c->names);
	if (c->slots)
		n += NAME_SLOTS * sizeof(*c->slots);
	for (size_t i = 0; i < c->nnames; i++)
		n += strlen(c->names[i].name) + 1;
	return n;
}

/* ------------------------------------------------------------------ */
/* Ranking                                                              */
/* ------------------------------------------------------------------ */

/* 0: a finite value, 1: nan or inf, 2: no value. */
static int rank_class(double v, int has)
{
	if (!has)
		return 2;
	return isfinite(v) ? 0 : 1;
}

int tc_metric_cmp(double a, int has_a, double b, int has_b, int goal)
{
	int ca = rank_class(a, has_a), cb = rank_class(b, has_b);

	if (ca != cb)
		return ca < cb ? -1 : 1;
	if (ca != 0)
		return 0;
	if (a == b)
		return 0;
	if (goal < 0)
		return a < b ? -1 : 1;
	return a > b ? -1 : 1;
}

int tc_metric_best_offer(struct tc_metric_best *b, const char *id, double v,
			 int has, int goal)
{
	if (!has || !isfinite(v) ||
	    (b->has && tc_metric_cmp(v, 1, b->value, 1, goal) >= 0))
		return 0;
	b->has = 1;
	b->value = v;
	snprintf(b->id, sizeof(b->id), "%s", id);
	return 1;
}
