/*
 * spec.c — the experiment file (version 1): YAML text in, a validated
 * struct tc_spec out (see spec.h for the contract, DESIGN.md for the format).
 *
 * The pipeline, each step refusing what the next one must not see:
 *
 *   1. bytes:    size limit, NUL bytes, UTF-16 — libyaml would accept some
 *                of these and our byte positions would then be wrong;
 *   2. prescan:  libyaml's event parser once over the text, for syntax
 *                errors, a single document, nesting depth and anchor/alias
 *                counts (libyaml's composer looks anchors up linearly, and
 *                recurses per level: both must be bounded before it runs);
 *   3. compose:  yaml_parser_load() builds the node graph.  Aliases share
 *                nodes, so the graph can be exponentially smaller than its
 *                expansion (billion laughs) or even cyclic (&a [*a]); the
 *                one conversion that expands user data, the kubernetes
 *                mapping → JSON (util/yaml.h), bounds depth and size;
 *   4. validate: one function per section, each error at the position of
 *                the node at fault, then the cross-section checks
 *                (templates, include/exclude names, grid size).
 *
 * Everything a spec holds is allocated from one arena, freed by
 * tc_spec_free(); on any error the arena (and the kubernetes JSON) is freed
 * before returning, so a failed parse leaves nothing behind.
 *
 * Positions: libyaml marks are 0-based lines and columns counted in
 * characters.  To point inside a scalar (a bad {{name}}) we need byte
 * offsets, so the file's line starts are tabulated up front with libyaml's
 * idea of a line break (\n, \r, \r\n, NEL, LS, PS).
 */
#include "spec/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "k8s/kspec.h"
#include "spec/import.h"
#include "spec/internal.h"
#include "template/template.h"
#include "util/arena.h"
#include "util/hash.h"
#include "util/yaml.h"

/* Limits on pathological input; no sensible spec comes near them. */
#define SPEC_MAX_DEPTH 100       /* YAML nesting levels */
#define SPEC_MAX_ANCHORS 1000    /* &anchors in a file */
#define SPEC_MAX_ALIASES 10000   /* *aliases in a file */
#define JSON_MAX_DEPTH 64        /* kubernetes: nesting after aliases */
#define JSON_MAX_NODES 100000    /* kubernetes: nodes (keys too) after
				    aliases */
#define SPEC_MAX_ASSIGNS 10000000 /* include entries x parameters */
#define PARAM_NAME_MAX 128

/* What spec->arena_ points to. */
struct spec_priv {
	struct tc_arena *arena;
	size_t *by_name; /* parameter indices sorted by name */
};

/* The state of one parse. */
struct ctx {
	struct tc_arena *arena;
	struct tc_spec *spec;
	struct spec_priv *priv;
	struct tc_error *err;
	const char *path;
	const char *text; /* the file, NUL-terminated (arena) */
	size_t len;
	size_t *lines;    /* byte offset of each line start (malloc) */
	size_t nlines;
	yaml_document_t doc;
	int have_doc;
	struct tc_pos params_pos; /* of the parameters: key */
	const struct tc_stage *stage; /* the stage being read, or NULL */
	struct tc_spec *parent;       /* then: the whole spec */
	int recorded;     /* tc_spec_parse_recorded(): skip the rules that
			     refuse what older versions accepted */
};

/* ------------------------------------------------------------------ */
/* Positions and errors                                                 */
/* ------------------------------------------------------------------ */

/* Length of a line break at s (within n bytes), libyaml's definition. */
static size_t break_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 2 && u[0] == '\r' && u[1] == '\n')
		return 2;
	if (u[0] == '\r' || u[0] == '\n')
		return 1;
	if (n >= 2 && u[0] == 0xC2 && u[1] == 0x85)
		return 2; /* NEL */
	if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 &&
	    (u[2] == 0xA8 || u[2] == 0xA9))
		return 3; /* LS, PS */
	return 0;
}

static int utf8_bom(const char *s, size_t n)
{
	return n >= 3 && (unsigned char)s[0] == 0xEF &&
	       (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF;
}

static int build_lines(struct ctx *c)
{
	size_t cap = 64, i = utf8_bom(c->text, c->len) ? 3 : 0;

	c->lines = malloc(cap * sizeof(*c->lines));
	if (!c->lines)
		return -1;
	c->lines[0] = i; /* libyaml drops a BOM without counting it */
	c->nlines = 1;
	while (i < c->len) {
		size_t b = break_len(c->text + i, c->len - i);

		if (!b) {
			i++;
			continue;
		}
		i += b;
		if (c->nlines == cap) {
			size_t *p = realloc(c->lines, 2 * cap * sizeof(*p));

			if (!p)
				return -1;
			c->lines = p;
			cap *= 2;
		}
		c->lines[c->nlines++] = i;
	}
	return 0;
}

static int is_cont(unsigned char b)
{
	return (b & 0xC0) == 0x80;
}

/* Byte offset of a libyaml mark (0-based line, column in characters). */
static size_t mark_off(const struct ctx *c, const yaml_mark_t *m)
{
	size_t off, col = m->column;

	if (m->line >= c->nlines)
		return c->len;
	off = c->lines[m->line];
	while (col > 0 && off < c->len &&
	       !break_len(c->text + off, c->len - off)) {
		off++;
		while (off < c->len && is_cont((unsigned char)c->text[off]))
			off++;
		col--;
	}
	return off;
}

static int clamp_int(size_t v)
{
	return v >= INT_MAX ? INT_MAX : (int)v;
}

/* 1-based position of byte offset off. */
static struct tc_pos off_pos(const struct ctx *c, size_t off)
{
	size_t lo = 0, hi = c->nlines, col = 1, i;
	struct tc_pos p;

	if (off > c->len)
		off = c->len;
	while (hi - lo > 1) { /* last line start <= off */
		size_t mid = lo + (hi - lo) / 2;

		if (c->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	for (i = c->lines[lo]; i < off; i++)
		if (!is_cont((unsigned char)c->text[i]))
			col++;
	p.line = clamp_int(lo + 1);
	p.col = clamp_int(col);
	return p;
}

static struct tc_pos mark_pos(const yaml_mark_t *m)
{
	struct tc_pos p;

	p.line = m->line >= INT_MAX ? INT_MAX : (int)m->line + 1;
	p.col = m->column >= INT_MAX ? INT_MAX : (int)m->column + 1;
	return p;
}

static struct tc_pos node_pos(const yaml_node_t *n)
{
	return mark_pos(&n->start_mark);
}

static int vfail(struct ctx *c, struct tc_pos p, const char *fmt, va_list ap)
{
	char msg[sizeof(c->err->msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return tc_error_at(c->err, TC_ERR_SPEC, c->path, p.line, p.col, "%s",
			   msg);
}

__attribute__((format(printf, 3, 4))) static int
fail_at(struct ctx *c, struct tc_pos p, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(c, p, fmt, ap);
	va_end(ap);
	return rc;
}

__attribute__((format(printf, 3, 4))) static int
fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(c, node_pos(n), fmt, ap);
	va_end(ap);
	return rc;
}

static int nomem(struct ctx *c)
{
	return tc_error_at(c->err, TC_ERR_NOMEM, c->path, 0, 0,
			   "out of memory while reading the spec");
}

/* At most 40 bytes of s for a message, "..." when cut (never mid-UTF-8). */
static const char *clip(const char *s, char buf[48])
{
	size_t n = strlen(s);

	if (n <= 40)
		return s;
	n = 40;
	while (n > 0 && is_cont((unsigned char)s[n]))
		n--;
	memcpy(buf, s, n);
	memcpy(buf + n, "...", 4);
	return buf;
}

/* A few words on what a node is, for "(got ...)". */
static const char *describe(const yaml_node_t *n, char buf[64])
{
	switch (n->type) {
	case YAML_SCALAR_NODE: {
		char cb[48];
		const char *s = (const char *)n->data.scalar.value;

		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    n->data.scalar.length == 0)
			return "nothing";
		if (memchr(s, '\0', n->data.scalar.length))
			return "a string with a NUL character";
		snprintf(buf, 64, "'%s'", clip(s, cb));
		return buf;
	}
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_NO_NODE:
		break;
	}
	return "nothing";
}

/* A libyaml parse failure as a positioned error. */
static int yaml_fail(struct ctx *c, const yaml_parser_t *p)
{
	struct tc_pos pos;
	const char *problem = p->problem ? p->problem : "unknown problem";
	size_t off;
	char hint[160] = "";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return nomem(c);
	case YAML_READER_ERROR:
		off = p->problem_offset;
		pos = off_pos(c, off);
		if (strstr(problem, "UTF-8") && p->problem_value != -1)
			return fail_at(c, pos,
				       "not valid UTF-8 text: %s (byte 0x%02x);"
				       " save the file as UTF-8",
				       problem, (unsigned)p->problem_value & 0xff);
		if (p->problem_value != -1)
			return fail_at(c, pos, "unreadable text: %s (U+%04X)",
				       problem, (unsigned)p->problem_value);
		return fail_at(c, pos, "unreadable text: %s", problem);
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
	case YAML_COMPOSER_ERROR:
	default:
		pos = mark_pos(&p->problem_mark);
		off = mark_off(c, &p->problem_mark);
		if (off < c->len && c->text[off] == '\t')
			snprintf(hint, sizeof(hint),
				 "; YAML does not allow tabs for indentation, "
				 "use spaces");
		if (p->context)
			return fail_at(c, pos,
				       "YAML syntax error: %s (%s at line %zu, "
				       "column %zu)%s",
				       problem, p->context,
				       p->context_mark.line + 1,
				       p->context_mark.column + 1, hint);
		return fail_at(c, pos, "YAML syntax error: %s%s", problem, hint);
	}
}

/* ------------------------------------------------------------------ */
/* Nodes and scalars                                                    */
/* ------------------------------------------------------------------ */

static yaml_node_t *node_at(struct ctx *c, int index)
{
	return yaml_document_get_node(&c->doc, index);
}

static int is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = (const char *)n->data.scalar.value;
	return n->data.scalar.length == 0 || strcmp(s, "~") == 0 ||
	       strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int all_of(const char *s, const char *set)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr(set, *s))
			return 0;
	return 1;
}

/* YAML 1.2 core schema float syntax (without .inf/.nan). */
static int float_syntax(const char *s)
{
	size_t digits = 0;

	if (*s == '+' || *s == '-')
		s++;
	while (is_digit(*s))
		s++, digits++;
	if (*s == '.') {
		s++;
		while (is_digit(*s))
			s++, digits++;
	}
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!is_digit(*s))
			return 0;
		while (is_digit(*s))
			s++;
	}
	return *s == '\0';
}

/*
 * Type the plain scalar s (YAML 1.2 core schema): null, bool, int (decimal
 * with sign, 0x, 0o), float (with .inf and .nan), else string.  An integer
 * too big for a long long is a float.
 */
static void type_plain(const char *s, size_t len, struct tc_value *v)
{
	const char *d = s;
	char *end;

	if (len == 0 || !strcmp(s, "~") || !strcmp(s, "null") ||
	    !strcmp(s, "Null") || !strcmp(s, "NULL")) {
		v->type = TC_V_NULL;
		return;
	}
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		v->type = TC_V_BOOL;
		v->b = 1;
		return;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") ||
	    !strcmp(s, "FALSE")) {
		v->type = TC_V_BOOL;
		v->b = 0;
		return;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') &&
	    all_of(s + 2, s[1] == 'x' ? "0123456789abcdefABCDEF"
				      : "01234567")) {
		unsigned long long u;

		errno = 0;
		u = strtoull(s + 2, &end, s[1] == 'x' ? 16 : 8);
		if (errno == 0 && *end == '\0' && u <= LLONG_MAX) {
			v->type = TC_V_INT;
			v->i = (long long)u;
			v->f = (double)u;
		} else {
			/* too big for a long long: a float of its magnitude */
			const char *q;
			double f = 0, base = s[1] == 'x' ? 16 : 8;

			for (q = s + 2; *q; q++)
				f = f * base + (is_digit(*q) ? *q - '0'
						: (*q | 0x20) - 'a' + 10);
			v->type = TC_V_FLOAT;
			v->f = f;
		}
		return;
	}
	if (*d == '+' || *d == '-')
		d++;
	if (all_of(d, "0123456789")) {
		long long i;

		errno = 0;
		i = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0') {
			v->type = TC_V_INT;
			v->i = i;
			v->f = (double)i;
			return;
		}
		/* out of range: fall through to a float */
	}
	if (float_syntax(s)) {
		v->type = TC_V_FLOAT;
		v->f = tc_spec_strtod(s, &end);
		return;
	}
	if (!strcmp(d, ".inf") || !strcmp(d, ".Inf") || !strcmp(d, ".INF")) {
		v->type = TC_V_FLOAT;
		v->f = s[0] == '-' ? -INFINITY : INFINITY;
		return;
	}
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
		v->type = TC_V_FLOAT;
		v->f = NAN;
		return;
	}
	v->type = TC_V_STR;
}

/* Refuse a scalar with a NUL character ("\0" escapes): every string of a
 * spec is a C string. */
static int check_nul(struct ctx *c, const yaml_node_t *n, const char *what)
{
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
		return fail(c, n, "%s contains a NUL character", what);
	return 0;
}

/* n as a typed value (n must be a scalar), text copied to the arena. */
static int scalar_value(struct ctx *c, const yaml_node_t *n, const char *what,
			struct tc_value *v)
{
	int rc = check_nul(c, n, what);
	char *text;

	if (rc)
		return rc;
	text = tc_arena_strndup(c->arena, (const char *)n->data.scalar.value,
				n->data.scalar.length);
	if (!text)
		return nomem(c);
	memset(v, 0, sizeof(*v));
	v->text = text;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		type_plain(text, n->data.scalar.length, v);
	else
		v->type = TC_V_STR;
	return 0;
}

/* A hint for a value that should have been a scalar: an unquoted {{name}}
 * is a YAML flow mapping, the most common way to get here. */
static const char *scalar_hint(const struct ctx *c, const yaml_node_t *n)
{
	size_t off;

	if (n->type != YAML_MAPPING_NODE)
		return "";
	off = mark_off(c, &n->start_mark);
	if (off + 1 < c->len && c->text[off] == '{' && c->text[off + 1] == '{')
		return "; quote template references: \"{{name}}\"";
	return "";
}

/* n must be a scalar: its typed value. */
static int get_scalar(struct ctx *c, const yaml_node_t *n, const char *what,
		      struct tc_value *v)
{
	char d[64];

	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, "%s must be a single value, not %s%s", what,
			    describe(n, d), scalar_hint(c, n));
	return scalar_value(c, n, what, v);
}

/* n must be a string (a quoted scalar, or a plain one YAML types as a
 * string); empty strings are refused.  *out in the arena. */
static int get_string(struct ctx *c, const yaml_node_t *n, const char *what,
		      const char *example, const char **out)
{
	struct tc_value v = {0};
	char d[64];
	int rc;

	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, "%s must be a string%s%s, not %s%s", what,
			    example ? " such as " : "", example ? example : "",
			    describe(n, d), scalar_hint(c, n));
	rc = scalar_value(c, n, what, &v);
	if (rc)
		return rc;
	if (v.type != TC_V_STR)
		return fail(c, n, "%s must be a string%s%s (got %s)", what,
			    example ? " such as " : "", example ? example : "",
			    describe(n, d));
	if (!v.text[0])
		return fail(c, n, "%s must not be empty", what);
	*out = v.text;
	return 0;
}

/* n must be an integer in [lo, hi]; msg is the whole complaint. */
static int get_int(struct ctx *c, const yaml_node_t *n, long long lo,
		   long long hi, const char *msg, long long *out)
{
	struct tc_value v = {0};
	char d[64];
	int rc;

	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, "%s (got %s)", msg, describe(n, d));
	rc = scalar_value(c, n, msg, &v);
	if (rc)
		return rc;
	if (v.type != TC_V_INT || v.i < lo || v.i > hi)
		return fail(c, n, "%s (got %s)", msg, describe(n, d));
	*out = v.i;
	return 0;
}

/* n must be a number (int or float, finite). */
static int get_number(struct ctx *c, const yaml_node_t *n, const char *what,
		      struct tc_value *v)
{
	char d[64];
	int rc;

	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, "%s must be a number (got %s)", what,
			    describe(n, d));
	rc = scalar_value(c, n, what, v);
	if (rc)
		return rc;
	if (v->type != TC_V_INT && v->type != TC_V_FLOAT)
		return fail(c, n, "%s must be a number (got %s)", what,
			    describe(n, d));
	if (!isfinite(v->f))
		return fail(c, n, "%s must be a finite number (got %s)", what,
			    describe(n, d));
	return 0;
}

/*
 * One of names[] (an enumerated string); did-you-mean otherwise.  *index
 * gets its position in names.
 */
static int get_enum(struct ctx *c, const yaml_node_t *n, const char *what,
		    const char *const *names, size_t nnames, size_t *index)
{
	char list[256] = "", d[64];
	const char *s, *hint;
	size_t i;
	int rc;

	for (i = 0; i < nnames; i++) {
		size_t l = strlen(list);

		snprintf(list + l, sizeof(list) - l, "%s%s",
			 i == 0 ? "" : i + 1 == nnames ? " or " : ", ",
			 names[i]);
	}
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return fail(c, n, "%s must be %s (got %s)", what, list,
			    describe(n, d));
	rc = check_nul(c, n, what);
	if (rc)
		return rc;
	s = (const char *)n->data.scalar.value;
	for (i = 0; i < nnames; i++) {
		if (strcmp(s, names[i]) == 0) {
			*index = i;
			return 0;
		}
	}
	hint = tc_did_you_mean(s, names, nnames);
	if (hint)
		return fail(c, n, "unknown %s %s (did you mean '%s'?)", what,
			    describe(n, d), hint);
	return fail(c, n, "unknown %s %s: use %s", what, describe(n, d),
		    list);
}

/* The text of a mapping key: a non-empty scalar without NULs.  Points into
 * the document (valid until it is deleted). */
static int key_text(struct ctx *c, const yaml_node_t *k, const char *where,
		    const char **out)
{
	char d[64];

	if (k->type != YAML_SCALAR_NODE)
		return fail(c, k, "keys%s%s must be names, not %s",
			    where ? " in " : "", where ? where : "",
			    describe(k, d));
	if (is_null(k))
		return fail(c, k, "empty key%s%s", where ? " in " : "",
			    where ? where : "");
	if (memchr(k->data.scalar.value, '\0', k->data.scalar.length))
		return fail(c, k, "a key%s%s contains a NUL character",
			    where ? " in " : "", where ? where : "");
	*out = (const char *)k->data.scalar.value;
	return 0;
}

/* A section that must be a mapping; null means "not given" (*ok = 0). */
/* n must be of the given node type (kind names it), or null (not given):
 * *ok says which. */
static int expect_node(struct ctx *c, const yaml_node_t *n, yaml_node_type_t t,
		       const char *kind, const char *what, const char *example,
		       int *ok)
{
	char d[64];

	*ok = 0;
	if (is_null(n))
		return 0;
	if (n->type != t)
		return fail(c, n, "%s must be %s, e.g. %s (got %s)", what, kind,
			    example, describe(n, d));
	*ok = 1;
	return 0;
}

static int expect_map(struct ctx *c, const yaml_node_t *n, const char *what,
		      const char *example, int *ok)
{
	return expect_node(c, n, YAML_MAPPING_NODE, "a mapping", what, example,
			   ok);
}

static int expect_list(struct ctx *c, const yaml_node_t *n, const char *what,
		       const char *example, int *ok)
{
	return expect_node(c, n, YAML_SEQUENCE_NODE, "a list", what, example, ok);
}

/* ------------------------------------------------------------------ */
/* Mappings with a fixed set of keys                                    */
/* ------------------------------------------------------------------ */

struct field {
	const char *name;
	yaml_node_t *key, *val;
};

static int unknown_key_at(struct ctx *c, struct tc_pos k, const char *key,
			  const char *where, const char *const *names,
			  size_t n)
{
	const char *hint = tc_did_you_mean(key, names, n);
	char cb[48], list[512] = "";
	size_t i;

	if (strcmp(key, "<<") == 0)
		return fail_at(c, k, "YAML merge keys (<<) are not supported%s%s: "
			    "write the keys out",
			    where ? " in " : "", where ? where : "");
	if (hint)
		return fail_at(c, k, "unknown key '%s'%s%s (did you mean '%s'?)",
			    clip(key, cb), where ? " in " : "",
			    where ? where : "", hint);
	for (i = 0; i < n; i++) {
		size_t l = strlen(list);

		snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "",
			 names[i]);
	}
	return fail_at(c, k, "unknown key '%s'%s%s; known keys: %s",
		    clip(key, cb), where ? " in " : "", where ? where : "",
		    list);
}

static int unknown_key(struct ctx *c, const yaml_node_t *k, const char *key,
		       const char *where, const char *const *names, size_t n)
{
	return unknown_key_at(c, node_pos(k), key, where, names, n);
}

/*
 * Match the keys of map against f[0..n): unknown keys (with a suggestion)
 * and duplicates are errors, in file order.  Absent keys leave key/val NULL.
 */
static int get_fields(struct ctx *c, const yaml_node_t *map,
		      const char *where, struct field *f, size_t n)
{
	const char *names[24];
	yaml_node_pair_t *pair;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i < 24)
			names[i] = f[i].name;
		f[i].key = f[i].val = NULL;
	}
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);
		const char *key = NULL;
		int rc;

		if (!k || !v)
			return fail(c, map, "internal error: broken YAML node");
		rc = key_text(c, k, where, &key);
		if (rc)
			return rc;
		for (i = 0; i < n; i++)
			if (strcmp(f[i].name, key) == 0)
				break;
		if (i == n)
			return unknown_key(c, k, key, where, names,
					   n < 24 ? n : 24);
		if (f[i].key)
			return fail(c, k,
				    "duplicate key '%s'%s%s (first given at "
				    "line %d)",
				    key, where ? " in " : "", where ? where : "",
				    node_pos(f[i].key).line);
		f[i].key = k;
		f[i].val = v;
	}
	return 0;
}

/* Keys of a free-form mapping, checked for duplicates in O(n log n). */
struct keyref {
	const char *s;
	size_t len;
	size_t idx; /* pair index, file order */
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->s, y->s, n);

	if (r)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Every key a scalar name, no two alike. */
static int check_keys(struct ctx *c, const yaml_node_t *map, const char *where)
{
	size_t n = (size_t)(map->data.mapping.pairs.top -
			    map->data.mapping.pairs.start);
	struct keyref *keys;
	size_t i, dup = (size_t)-1, first = 0;

	if (n == 0)
		return 0;
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return nomem(c);
	for (i = 0; i < n; i++) {
		yaml_node_pair_t *pair = map->data.mapping.pairs.start + i;
		yaml_node_t *k = node_at(c, pair->key);
		int rc;

		if (!k || !node_at(c, pair->value)) {
			free(keys);
			return fail(c, map, "internal error: broken YAML node");
		}
		rc = key_text(c, k, where, &keys[i].s);
		if (rc) {
			free(keys);
			return rc;
		}
		keys[i].len = k->data.scalar.length;
		keys[i].idx = i;
	}
	qsort(keys, n, sizeof(*keys), keyref_cmp);
	for (i = 1; i < n; i++) {
		if (keys[i].len == keys[i - 1].len &&
		    memcmp(keys[i].s, keys[i - 1].s, keys[i].len) == 0 &&
		    (dup == (size_t)-1 || keys[i].idx < dup)) {
			dup = keys[i].idx; /* the earliest repeat wins */
			first = keys[i - 1].idx;
		}
	}
	free(keys);
	if (dup != (size_t)-1) {
		yaml_node_pair_t *d = map->data.mapping.pairs.start + dup;
		yaml_node_pair_t *f0 = map->data.mapping.pairs.start + first;
		yaml_node_t *k = node_at(c, d->key);
		char cb[48];

		/* keys[] sorted by (key, idx): i-1 may itself be a repeat,
		 * but its line is still an earlier occurrence. */
		return fail(c, k, "duplicate key '%s' in %s (first given at "
			    "line %d)",
			    clip((const char *)k->data.scalar.value, cb), where,
			    node_pos(node_at(c, f0->key)).line);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Values: equality and duplicates                                      */
/* ------------------------------------------------------------------ */

static int value_class(const struct tc_value *v)
{
	switch (v->type) {
	case TC_V_ABSENT:
		return 4;
	case TC_V_NULL:
		return 0;
	case TC_V_BOOL:
		return 1;
	case TC_V_INT:
	case TC_V_FLOAT:
		return 2;
	case TC_V_STR:
		return 3;
	}
	return 3;
}

/* A total order in which equal values (tc_value_equal) compare 0. */
static int value_cmp(const struct tc_value *a, const struct tc_value *b)
{
	int ca = value_class(a), cb = value_class(b);

	if (ca != cb)
		return ca < cb ? -1 : 1;
	switch (ca) {
	case 0:
	case 4: /* absent */
		return 0;
	case 1:
		return (a->b != 0) - (b->b != 0);
	case 2: {
		int na = isnan(a->f) != 0, nb = isnan(b->f) != 0;

		if (na || nb)
			return na - nb;
		if (a->f != b->f)
			return a->f < b->f ? -1 : 1;
		if (a->type == TC_V_INT && b->type == TC_V_INT)
			return (a->i > b->i) - (a->i < b->i);
		return 0;
	}
	default:
		return strcmp(a->text ? a->text : "", b->text ? b->text : "");
	}
}

int tc_value_equal(const struct tc_value *a, const struct tc_value *b)
{
	return value_cmp(a, b) == 0;
}

struct valref {
	const struct tc_value *v;
	size_t idx;
};

static int valref_cmp(const void *a, const void *b)
{
	const struct valref *x = a, *y = b;
	int r = value_cmp(x->v, y->v);

	if (r)
		return r;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Index of the earliest value equal to an earlier one, and that earlier
 * one, or -1: O(n log n). */
static int find_dup(struct ctx *c, const struct tc_value *v, size_t n,
		    size_t *dup, size_t *orig)
{
	struct valref *r;
	size_t i;

	*dup = (size_t)-1;
	if (n < 2)
		return 0;
	r = calloc(n, sizeof(*r));
	if (!r)
		return nomem(c);
	for (i = 0; i < n; i++) {
		r[i].v = &v[i];
		r[i].idx = i;
	}
	qsort(r, n, sizeof(*r), valref_cmp);
	for (i = 1; i < n; i++) {
		if (value_cmp(r[i].v, r[i - 1].v) == 0 && r[i].idx < *dup) {
			*dup = r[i].idx;
			*orig = r[i - 1].idx;
		}
	}
	free(r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sections                                                             */
/* ------------------------------------------------------------------ */

static int valid_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > TC_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || is_digit(ch) || ch == '-'))
			return 0;
	}
	return s[0] != '-' && s[n - 1] != '-';
}

/* A valid name close to s (lowercased, '_' ' ' '.' to '-'), or "". */
static void suggest_name(const char *s, char out[TC_NAME_MAX + 1])
{
	size_t n = 0;

	for (; *s && n < TC_NAME_MAX; s++) {
		char ch = *s;

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		else if (ch == '_' || ch == ' ' || ch == '.' || ch == '/')
			ch = '-';
		if ((ch >= 'a' && ch <= 'z') || is_digit(ch) ||
		    (ch == '-' && n > 0 && out[n - 1] != '-'))
			out[n++] = ch;
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
}

static int parse_name(struct ctx *c, const yaml_node_t *n)
{
	struct tc_value v = {0};
	char sug[TC_NAME_MAX + 1], cb[48], d[64];
	int rc;

	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return fail(c, n, "name must be a name such as fmnist-grid "
			    "(got %s)", describe(n, d));
	rc = scalar_value(c, n, "name", &v);
	if (rc)
		return rc;
	if (!valid_name(v.text)) {
		suggest_name(v.text, sug);
		if (sug[0] && strcmp(sug, v.text) != 0)
			return fail(c, n,
				    "name '%s' must be 1 to %d characters of "
				    "a-z, 0-9 and '-', starting and ending "
				    "with a letter or digit (try '%s')",
				    clip(v.text, cb), TC_NAME_MAX, sug);
		return fail(c, n,
			    "name '%s' must be 1 to %d characters of a-z, 0-9 "
			    "and '-', starting and ending with a letter or "
			    "digit",
			    clip(v.text, cb), TC_NAME_MAX);
	}
	c->spec->name = v.text;
	return 0;
}

static int parse_command(struct ctx *c, const yaml_node_t *n)
{
	yaml_node_item_t *it;
	size_t count, i = 0;
	char d[64];

	if (n->type == YAML_SCALAR_NODE && !is_null(n))
		return fail(c, n,
			    "command must be a list of arguments, e.g. "
			    "[python, train.py, --lr, \"{{lr}}\"]; it runs "
			    "without a shell (use script: for a shell command "
			    "line)");
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "command must be a list of arguments, e.g. "
			    "[python, train.py] (got %s)", describe(n, d));
	count = (size_t)(n->data.sequence.items.top -
			 n->data.sequence.items.start);
	if (count == 0)
		return fail(c, n, "command is empty: give at least the program "
			    "to run");
	c->spec->command = tc_arena_calloc(c->arena, count,
					   sizeof(*c->spec->command));
	if (!c->spec->command)
		return nomem(c);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *a = node_at(c, *it);
		struct tc_value v = {0};
		char what[48];
		int rc;

		if (!a)
			return fail(c, n, "internal error: broken YAML node");
		snprintf(what, sizeof(what), "command[%zu]", i);
		if (a->type == YAML_SCALAR_NODE && is_null(a))
			return fail(c, a, "%s is empty; write \"\" for an "
				    "empty argument", what);
		rc = get_scalar(c, a, what, &v);
		if (rc)
			return rc;
		c->spec->command[i].text = v.text;
		c->spec->command[i].pos = node_pos(a);
	}
	if (!c->spec->command[0].text[0])
		return fail(c, node_at(c, n->data.sequence.items.start[0]),
			    "command[0] (the program) is empty");
	c->spec->ncommand = count;
	return 0;
}

static int parse_script(struct ctx *c, const yaml_node_t *n)
{
	const char *s = NULL;
	int rc = get_string(c, n, "script", "a | block of shell lines", &s);

	if (rc)
		return rc;
	if (!s[strspn(s, " \t\r\n")])
		return fail(c, n, "script is blank");
	c->spec->script.text = s;
	c->spec->script.pos = node_pos(n);
	return 0;
}

static int valid_env_name(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	      *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      is_digit(*s) || *s == '_'))
			return 0;
	return 1;
}

static int get_k8s_name(struct ctx *c, const yaml_node_t *n, const char *what,
			int label, const char *example, const char **out);

/*
 * An env: value that is a reference instead of text: one of
 * {secretKeyRef: {name, key}}, {configMapKeyRef: {name, key}},
 * {fieldRef: {fieldPath}} (read by Kubernetes when the pod starts) or
 * {file: PATH} (read by the local backend when the trial starts).  Which
 * backend refuses which kind is said by tc_spec_check_program (local) and
 * tc_k8s_check (kubernetes); here only the shape is checked.
 */
static int parse_env_ref(struct ctx *c, const yaml_node_t *n,
			 const char *what, struct tc_kv *kv)
{
	enum { F_SECRET, F_CM, F_FIELD, F_FILE, F_N };
	struct field f[F_N] = {{"secretKeyRef", NULL, NULL},
			       {"configMapKeyRef", NULL, NULL},
			       {"fieldRef", NULL, NULL},
			       {"file", NULL, NULL}};
	const char *example = "{secretKeyRef: {name: wandb, key: api-key}}";
	char w[200], d[64];
	size_t given = 0, which = 0;
	int rc;

	rc = get_fields(c, n, what, f, F_N);
	if (rc)
		return rc;
	for (size_t i = 0; i < F_N; i++)
		if (f[i].key) {
			if (given++)
				return fail(c, f[i].key, "%s: give one of "
					    "secretKeyRef, configMapKeyRef, "
					    "fieldRef and file, not two",
					    what);
			which = i;
		}
	if (!given)
		return fail(c, n, "%s must be a string or a reference such as "
			    "%s", what, example);
	snprintf(w, sizeof(w), "%s.%s", what, f[which].name);
	if (which == F_FILE) {
		kv->ref = TC_ENV_FILE;
		return get_string(c, f[F_FILE].val, w, "secrets/wandb.key",
				  &kv->ref_name);
	}
	if (f[which].val->type != YAML_MAPPING_NODE)
		return fail(c, f[which].val, "%s must be a mapping such as %s "
			    "(got %s)", w,
			    which == F_FIELD ? "{fieldPath: spec.nodeName}"
					     : "{name: wandb, key: api-key}",
			    describe(f[which].val, d));
	if (which == F_FIELD) {
		struct field g[1] = {{"fieldPath", NULL, NULL}};

		rc = get_fields(c, f[which].val, w, g, 1);
		if (rc)
			return rc;
		if (!g[0].val)
			return fail(c, f[which].val, "%s needs fieldPath:, e.g. "
				    "{fieldPath: spec.nodeName}", w);
		kv->ref = TC_ENV_FIELD;
		snprintf(w + strlen(w), sizeof(w) - strlen(w), ".fieldPath");
		return get_string(c, g[0].val, w, "spec.nodeName",
				  &kv->ref_name);
	} else {
		struct field g[2] = {{"name", NULL, NULL}, {"key", NULL, NULL}};
		size_t l = strlen(w);

		rc = get_fields(c, f[which].val, w, g, 2);
		if (rc)
			return rc;
		if (!g[0].val || !g[1].val)
			return fail(c, f[which].val, "%s needs name: and key: "
				    "(the %s and the key in it), e.g. {name: "
				    "wandb, key: api-key}",
				    w, which == F_SECRET ? "Secret"
							 : "ConfigMap");
		kv->ref = which == F_SECRET ? TC_ENV_SECRET : TC_ENV_CONFIGMAP;
		snprintf(w + l, sizeof(w) - l, ".name");
		rc = get_k8s_name(c, g[0].val, w, 0, "wandb", &kv->ref_name);
		if (rc)
			return rc;
		snprintf(w + l, sizeof(w) - l, ".key");
		rc = get_string(c, g[1].val, w, "api-key", &kv->ref_key);
		if (rc)
			return rc;
		for (const char *p = kv->ref_key; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			      (*p >= 'A' && *p <= 'Z') || is_digit(*p) ||
			      *p == '-' || *p == '_' || *p == '.'))
				return fail(c, g[1].val, "%s must be a key of "
					    "letters, digits, '-', '_' and '.'",
					    w);
		return 0;
	}
}

static int parse_env(struct ctx *c, const yaml_node_t *n)
{
	yaml_node_pair_t *pair;
	size_t count, i = 0;
	int ok, rc;

	rc = expect_map(c, n, "env", "{OMP_NUM_THREADS: \"1\"}", &ok);
	if (rc || !ok)
		return rc;
	rc = check_keys(c, n, "env");
	if (rc)
		return rc;
	count = (size_t)(n->data.mapping.pairs.top -
			 n->data.mapping.pairs.start);
	c->spec->env = tc_arena_calloc(c->arena, count ? count : 1,
				       sizeof(*c->spec->env));
	if (!c->spec->env)
		return nomem(c);
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++, i++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);
		const char *key = (const char *)k->data.scalar.value;
		struct tc_value val;
		char what[128], cb[48];

		if (!valid_env_name(key))
			return fail(c, k,
				    "env: '%s' is not a valid variable name "
				    "(letters, digits and '_', not starting "
				    "with a digit)",
				    clip(key, cb));
		if (strncmp(key, "TRAINCTL_", 9) == 0)
			return fail(c, k, "env: %s is set by trainctl for each "
				    "trial; choose another name",
				    clip(key, cb));
		snprintf(what, sizeof(what), "env.%s", clip(key, cb));
		if (v->type == YAML_SCALAR_NODE && is_null(v))
			return fail(c, v, "%s has no value; write \"\" for an "
				    "empty one", what);
		c->spec->env[i].key = tc_arena_strdup(c->arena, key);
		if (!c->spec->env[i].key)
			return nomem(c);
		c->spec->env[i].pos = node_pos(v);
		if (v->type == YAML_MAPPING_NODE && !*scalar_hint(c, v)) {
			rc = parse_env_ref(c, v, what, &c->spec->env[i]);
			if (rc)
				return rc;
			continue;
		}
		rc = get_scalar(c, v, what, &val);
		if (rc)
			return rc;
		c->spec->env[i].value = val.text;
	}
	c->spec->nenv = count;
	return 0;
}

static int valid_param_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PARAM_NAME_MAX)
		return 0;
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	      *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      is_digit(*s) || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

static const char *const dist_names[] = {"uniform", "log_uniform",
					 "int_uniform"};

/*
 * The distributions of W&B sweeps, as trainctl spells them: W&B's names,
 * but for the three whose bounds are natural-log exponents (W&B's
 * log_uniform, q_log_uniform, inv_log_uniform), which are exp_uniform,
 * q_exp_uniform and inv_exp_uniform here, since log_uniform has always
 * taken values as bounds (W&B's log_uniform_values, accepted as its
 * other name).
 */
enum shape_arg { SA_MINMAX = 1, SA_POSMIN = 2, SA_NORMAL = 4, SA_BETA = 8,
		 SA_Q = 16 };

static const struct shape {
	const char *name;
	enum tc_pkind kind;
	unsigned args;
} shapes[] = {
	{"log_uniform_values", TC_P_LOG_UNIFORM, SA_MINMAX | SA_POSMIN},
	{"q_uniform", TC_P_Q_UNIFORM, SA_MINMAX | SA_Q},
	{"q_log_uniform_values", TC_P_Q_LOG_UNIFORM,
	 SA_MINMAX | SA_POSMIN | SA_Q},
	{"exp_uniform", TC_P_EXP_UNIFORM, SA_MINMAX},
	{"q_exp_uniform", TC_P_EXP_UNIFORM, SA_MINMAX | SA_Q},
	{"inv_exp_uniform", TC_P_INV_EXP_UNIFORM, SA_MINMAX},
	{"inv_log_uniform_values", TC_P_INV_LOG_UNIFORM,
	 SA_MINMAX | SA_POSMIN},
	{"normal", TC_P_NORMAL, SA_NORMAL},
	{"q_normal", TC_P_NORMAL, SA_NORMAL | SA_Q},
	{"log_normal", TC_P_LOG_NORMAL, SA_NORMAL},
	{"q_log_normal", TC_P_LOG_NORMAL, SA_NORMAL | SA_Q},
	{"beta", TC_P_BETA, SA_BETA},
	{"q_beta", TC_P_BETA, SA_BETA | SA_Q},
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* W&B spellings that mean something else here, with what to write. */
static const char *shape_renamed(const char *name)
{
	if (!strcmp(name, "q_log_uniform"))
		return "q_exp_uniform (bounds are natural-log exponents, as "
		       "W&B's q_log_uniform) or q_log_uniform_values";
	if (!strcmp(name, "inv_log_uniform"))
		return "inv_exp_uniform (bounds are natural-log exponents, as "
		       "W&B's inv_log_uniform) or inv_log_uniform_values";
	if (!strcmp(name, "categorical") ||
	    !strcmp(name, "categorical_w_probabilities"))
		return "values: [...] (with probabilities: [...] to weigh "
		       "them)";
	if (!strcmp(name, "constant"))
		return "value: x";
	return NULL;
}

/* The keys a distribution's arguments may use (parse_shape's fields). */
enum { SF_MIN, SF_MAX, SF_Q, SF_MU, SF_SIGMA, SF_A, SF_B, SF_N };

/* One optional number argument: *out keeps its default when absent. */
static int shape_number(struct ctx *c, const yaml_node_t *v,
			const char *where, const char *key, double *out,
			struct tc_value *tv)
{
	char what[PARAM_NAME_MAX + 48];
	struct tc_value tmp;
	int rc;

	if (!v)
		return 0;
	snprintf(what, sizeof(what), "%s.%s", where, key);
	rc = get_number(c, v, what, tv ? tv : &tmp);
	if (rc)
		return rc;
	*out = tv ? tv->f : tmp.f;
	return 0;
}

/*
 * distribution: one of shapes[], with its arguments (f: the parameter's
 * min, max, q, mu, sigma, a, b fields, key and value NULL when absent).
 * An argument the distribution does not take is an error at its key.
 */
static int parse_shape(struct ctx *c, const yaml_node_t *n, const char *where,
		       const struct shape *sh, yaml_node_t *const *keys,
		       yaml_node_t *const *vals, struct tc_param *p)
{
	static const char *const names[SF_N] = {"min", "max", "q", "mu",
						"sigma", "a", "b"};
	static const unsigned needs[SF_N] = {SA_MINMAX, SA_MINMAX, SA_Q,
					     SA_NORMAL, SA_NORMAL, SA_BETA,
					     SA_BETA};
	struct tc_value lo, hi, q;
	int rc;

	for (int i = 0; i < SF_N; i++)
		if (keys[i] && !(sh->args & needs[i]))
			return fail(c, keys[i], "%s: %s does not go with "
				    "distribution %s", where, names[i],
				    sh->name);
	p->kind = sh->kind;
	p->mu = 0;
	p->sigma = 1;
	p->a = p->b = 1;
	if (sh->args & SA_MINMAX) {
		if (!keys[SF_MIN] || !keys[SF_MAX])
			return fail(c, n, "%s: distribution %s needs min and "
				    "max", where, sh->name);
		rc = shape_number(c, vals[SF_MIN], where, "min", &p->min, &lo);
		if (!rc)
			rc = shape_number(c, vals[SF_MAX], where, "max",
					  &p->max, &hi);
		if (rc)
			return rc;
		if (lo.f > hi.f)
			return fail(c, vals[SF_MIN], "%s: min (%s) is greater "
				    "than max (%s)", where, lo.text, hi.text);
		if ((sh->args & SA_POSMIN) && !(lo.f > 0))
			return fail(c, vals[SF_MIN], "%s: %s needs min > 0 "
				    "(got %s)", where, sh->name, lo.text);
		if (sh->kind == TC_P_EXP_UNIFORM ||
		    sh->kind == TC_P_INV_EXP_UNIFORM) {
			if (fabs(lo.f) > 700 || fabs(hi.f) > 700)
				return fail(c, vals[fabs(lo.f) > 700 ? SF_MIN
								     : SF_MAX],
					    "%s: %s takes natural-log exponents: "
					    "e^%s is out of range (for bounds "
					    "that are values, use "
					    "log_uniform)", where, sh->name,
					    fabs(lo.f) > 700 ? lo.text : hi.text);
		}
	}
	if (sh->args & SA_NORMAL) {
		rc = shape_number(c, vals[SF_MU], where, "mu", &p->mu, NULL);
		if (!rc)
			rc = shape_number(c, vals[SF_SIGMA], where, "sigma",
					  &p->sigma, NULL);
		if (rc)
			return rc;
		if (p->sigma < 0)
			return fail(c, vals[SF_SIGMA], "%s: sigma must be >= 0",
				    where);
	}
	if (sh->args & SA_BETA) {
		rc = shape_number(c, vals[SF_A], where, "a", &p->a, NULL);
		if (!rc)
			rc = shape_number(c, vals[SF_B], where, "b", &p->b,
					  NULL);
		if (rc)
			return rc;
		if (!(p->a > 0))
			return fail(c, vals[SF_A], "%s: a must be > 0", where);
		if (!(p->b > 0))
			return fail(c, vals[SF_B], "%s: b must be > 0", where);
	}
	if (sh->args & SA_Q) {
		/* W&B's default q is 1.0, a float: values stay floats
		 * unless q is written as an integer */
		p->q = 1.0;
		rc = shape_number(c, vals[SF_Q], where, "q", &p->q, &q);
		if (rc)
			return rc;
		if (vals[SF_Q]) {
			if (!(p->q > 0))
				return fail(c, vals[SF_Q], "%s: q must be > 0 "
					    "(got %s)", where, q.text);
			p->q_int = q.type == TC_V_INT;
			if (p->q_int && q.i > (1LL << 53))
				return fail(c, vals[SF_Q], "%s: q is too large",
					    where);
		}
	}
	return 0;
}

/* probabilities: [...] of a values: parameter (p->values read). */
static int parse_probabilities(struct ctx *c, const yaml_node_t *k,
			       const yaml_node_t *seq, const char *where,
			       struct tc_param *p)
{
	char what[PARAM_NAME_MAX + 64], d[64];
	double sum = 0;
	size_t count, i = 0;
	yaml_node_item_t *it;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(c, seq, "%s.probabilities must be a list of "
			    "weights, one per value, e.g. [0.7, 0.3] (got %s)",
			    where, describe(seq, d));
	count = (size_t)(seq->data.sequence.items.top -
			 seq->data.sequence.items.start);
	if (count != p->nvalues)
		return fail(c, seq, "%s.probabilities has %zu entries for %zu "
			    "values: give one per value", where, count,
			    p->nvalues);
	p->probs = tc_arena_calloc(c->arena, count, sizeof(*p->probs));
	if (!p->probs)
		return nomem(c);
	for (it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++, i++) {
		yaml_node_t *e = node_at(c, *it);
		struct tc_value v;
		int rc;

		snprintf(what, sizeof(what), "%s.probabilities[%zu]", where, i);
		rc = get_number(c, e, what, &v);
		if (rc)
			return rc;
		if (v.f < 0)
			return fail(c, e, "%s must be >= 0 (got %s)", what,
				    v.text);
		p->probs[i] = v.f;
		sum += v.f;
	}
	if (!(fabs(sum - 1.0) <= 1e-6))
		return fail(c, seq, "%s.probabilities sum to %.10g, not 1",
			    where, sum);
	for (i = 0; i < count; i++)
		p->probs[i] /= sum;
	p->probs_pos = node_pos(k);
	return 0;
}

/*
 * A derived parameter: {from: NAME, map: {value of NAME: value, ...}}.
 * Here only its own shape is checked; that NAME is a values:/value:
 * parameter every value of which the map has is checked once all
 * parameters are read (resolve_derived).  Map keys are typed like values,
 * so a key matches a value by tc_value_equal ("8" is not 8).
 */
static int parse_derived(struct ctx *c, const yaml_node_t *n,
			 const char *where, const yaml_node_t *from,
			 const yaml_node_t *minmax, const yaml_node_t *map,
			 struct tc_param *p)
{
	char what[PARAM_NAME_MAX + 128], d[64]; /* where + ".map." + a clip */
	yaml_node_pair_t *pair;
	const char *name;
	size_t count, i = 0;
	int rc;

	if (minmax)
		return fail(c, minmax, "%s: min and max go with distribution:, "
			    "not with from:", where);
	snprintf(what, sizeof(what), "%s.from", where);
	rc = get_string(c, from, what, "gpu", &name);
	if (rc)
		return rc;
	if (!map)
		return fail(c, n, "%s: from: needs map: {VALUE OF %s: VALUE, "
			    "...}, e.g. {from: gpu, map: {A100: 512, "
			    "RTX-3090: 128}}", where, name);
	if (map->type != YAML_MAPPING_NODE)
		return fail(c, map, "%s.map must be a mapping of %s's values "
			    "to this parameter's, e.g. {A100: 512} (got %s)",
			    where, name, describe(map, d));
	snprintf(what, sizeof(what), "%s.map", where);
	rc = check_keys(c, map, what);
	if (rc)
		return rc;
	count = (size_t)(map->data.mapping.pairs.top -
			 map->data.mapping.pairs.start);
	if (count == 0)
		return fail(c, map, "%s.map is empty: give a value for each "
			    "value of '%s'", where, name);
	p->kind = TC_P_DERIVED;
	p->from = -1; /* resolve_derived */
	p->from_pos = node_pos(from);
	p->keys = tc_arena_calloc(c->arena, count, sizeof(*p->keys));
	p->values = tc_arena_calloc(c->arena, count, sizeof(*p->values));
	if (!p->keys || !p->values)
		return nomem(c);
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++, i++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);
		char cb[48];

		rc = scalar_value(c, k, what, &p->keys[i]);
		if (rc)
			return rc;
		snprintf(what, sizeof(what), "%s.map.%s", where,
			 clip(p->keys[i].text, cb));
		rc = get_scalar(c, v, what, &p->values[i]);
		if (rc)
			return rc;
	}
	p->nvalues = count;
	return 0;
}

static const yaml_node_t *param_from_node(struct ctx *c, const yaml_node_t *n)
{
	yaml_node_pair_t *pair;

	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(c, pair->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, "from"))
			return node_at(c, pair->value);
	}
	return NULL;
}

static int param_names_hint(struct ctx *c, const char *bad, char *buf,
			    size_t len);

/* After every parameter is read: each from: names a values:/value:
 * parameter, and each of its values has an entry in the map. */
static int resolve_derived(struct ctx *c, const yaml_node_t *params)
{
	struct tc_spec *s = c->spec;
	yaml_node_pair_t *pair = params->data.mapping.pairs.start;

	for (size_t i = 0; i < s->nparams; i++, pair++) {
		struct tc_param *p = &s->params[i];
		const yaml_node_t *fn;
		const struct tc_param *src;
		const char *name;
		char hint[PARAM_NAME_MAX + 40], cb[48], cb2[48];
		int fi;

		if (p->kind != TC_P_DERIVED)
			continue;
		fn = param_from_node(c, node_at(c, pair->value));
		if (!fn)
			return fail_at(c, p->pos, "internal error: no from:");
		name = (const char *)fn->data.scalar.value;
		fi = tc_spec_param_index(s, name, strlen(name));
		if (fi < 0) {
			int rc = param_names_hint(c, name, hint, sizeof(hint));

			if (rc)
				return rc;
			return fail(c, fn, "parameters.%s.from: unknown "
				    "parameter '%s'%s",
				    p->name, clip(name, cb), hint);
		}
		if ((size_t)fi == i)
			return fail(c, fn, "parameters.%s.from names the "
				    "parameter itself", p->name);
		src = &s->params[fi];
		if (src->kind != TC_P_VALUES && src->kind != TC_P_CONST)
			return fail(c, fn, "parameters.%s.from: '%s' %s; a "
				    "parameter is derived from one with "
				    "values: or value:",
				    p->name, src->name,
				    src->kind == TC_P_DERIVED
					    ? "is derived itself"
					    : "is drawn from a distribution");
		p->from = fi;
		for (size_t v = 0; v < src->nvalues; v++) {
			size_t k;

			for (k = 0; k < p->nvalues; k++)
				if (tc_value_equal(&p->keys[k], &src->values[v]))
					break;
			if (k == p->nvalues)
				return fail(c, node_at(c, pair->value),
					    "parameters.%s.map has no entry for "
					    "'%s', a value of parameters.%s; add "
					    "'%s: ...'",
					    p->name,
					    clip(src->values[v].text, cb),
					    clip(src->name, cb2),
					    clip(src->values[v].text, cb));
		}
	}
	return 0;
}

/* ---- when: (conditional parameters) ------------------------------------ */

/* v as one of the values parameter t can have in a trial (its values:, or
 * for a derived one the map's entries for its source's values), or NULL
 * when it is none of them. */
static const struct tc_value *param_value_of(const struct tc_spec *s,
					     const struct tc_param *t,
					     const struct tc_value *v)
{
	for (size_t k = 0; k < t->nvalues; k++) {
		const struct tc_param *src;

		if (!tc_value_equal(&t->values[k], v))
			continue;
		if (t->kind != TC_P_DERIVED)
			return &t->values[k];
		src = &s->params[t->from];
		for (size_t j = 0; j < src->nvalues; j++)
			if (tc_value_equal(&t->keys[k], &src->values[j]))
				return &t->values[k];
	}
	return NULL;
}

/* "sgd, adam, momentum" (the first few values t can have) for
 * messages. */
static void values_list(const struct tc_spec *s, const struct tc_param *t,
			char *buf, size_t len)
{
	size_t used = 0, n = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < t->nvalues && used + 1 < len; k++) {
		char cb[48];

		if (param_value_of(s, t, &t->values[k]) != &t->values[k])
			continue; /* unreachable, or a repeat */
		if (n++ == 5) {
			snprintf(buf + used, len - used, ", ...");
			break;
		}
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 used ? ", " : "",
					 clip(t->values[k].text, cb));
		if (used >= len)
			break;
	}
}

/*
 * One parameter's when: {NAME: VALUE or [VALUE, ...], ...}.  Each NAME is
 * another parameter with values (values:, value:, or a derived one's
 * map), each VALUE one of them, stored as that parameter's own value.
 */
static int parse_when(struct ctx *c, struct tc_param *p, const yaml_node_t *key,
		      const yaml_node_t *n)
{
	struct tc_spec *s = c->spec;
	char where[PARAM_NAME_MAX + 32], what[2 * PARAM_NAME_MAX + 48], d[64];
	yaml_node_pair_t *pair;
	size_t count, i = 0;
	int rc;

	snprintf(where, sizeof(where), "parameters.%s.when", p->name);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "%s must be a mapping of other parameters to "
			    "the values they must have, e.g. {optimizer: "
			    "[sgd, momentum]} (got %s)",
			    where, describe(n, d));
	rc = check_keys(c, n, where);
	if (rc)
		return rc;
	count = (size_t)(n->data.mapping.pairs.top -
			 n->data.mapping.pairs.start);
	if (count == 0)
		return fail(c, n, "%s is empty: name the parameters whose "
			    "values make '%s' present, e.g. {optimizer: "
			    "[sgd]}, or drop when:",
			    where, p->name);
	p->when = tc_arena_calloc(c->arena, count, sizeof(*p->when));
	if (!p->when)
		return nomem(c);
	p->when_pos = node_pos(key);
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++, i++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);
		const char *name = (const char *)k->data.scalar.value;
		struct tc_cond *cond = &p->when[i];
		const struct tc_param *t;
		yaml_node_item_t *it = NULL;
		size_t nv = 1, j = 0;
		char cb[48], list[256];
		int ti = tc_spec_param_index(s, name, strlen(name));

		if (ti < 0) {
			char hint[PARAM_NAME_MAX + 40];

			rc = param_names_hint(c, name, hint, sizeof(hint));
			if (rc)
				return rc;
			return fail(c, k, "%s: unknown parameter '%s'%s", where,
				    clip(name, cb), hint);
		}
		if (&s->params[ti] == p)
			return fail(c, k, "%s names the parameter itself", where);
		t = &s->params[ti];
		if (t->kind != TC_P_VALUES && t->kind != TC_P_CONST &&
		    t->kind != TC_P_DERIVED)
			return fail(c, k, "%s: '%s' is drawn from a "
				    "distribution; when: names parameters with "
				    "values:, value: or from:",
				    where, t->name);
		snprintf(what, sizeof(what), "%s.%s", where, t->name);
		if (v->type == YAML_SEQUENCE_NODE) {
			it = v->data.sequence.items.start;
			nv = (size_t)(v->data.sequence.items.top - it);
			if (nv == 0)
				return fail(c, v, "%s is empty: list the values "
					    "of '%s' that make '%s' present",
					    what, t->name, p->name);
		} else if (v->type != YAML_SCALAR_NODE) {
			return fail(c, v, "%s must be a value of '%s' or a "
				    "list of them, e.g. [sgd, momentum] (got "
				    "%s)",
				    what, t->name, describe(v, d));
		}
		cond->param = ti;
		cond->pos = node_pos(k);
		cond->values = tc_arena_calloc(c->arena, nv,
					       sizeof(*cond->values));
		if (!cond->values)
			return nomem(c);
		for (j = 0; j < nv; j++) {
			const yaml_node_t *e = it ? node_at(c, it[j]) : v;
			const struct tc_value *own;
			struct tc_value val;

			rc = get_scalar(c, e, what, &val);
			if (rc)
				return rc;
			own = param_value_of(s, t, &val);
			if (!own) {
				values_list(s, t, list, sizeof(list));
				return fail(c, e, "%s: %s is not one of the "
					    "values of '%s' (%s)",
					    what, describe(e, d), t->name, list);
			}
			for (size_t m = 0; m < j; m++)
				if (tc_value_equal(&cond->values[m], own))
					return fail(c, e, "%s: duplicate value "
						    "%s", what, describe(e, d));
			cond->values[j] = *own;
		}
		cond->nvalues = nv;
	}
	p->nwhen = count;
	return 0;
}

/* What parameter p's presence or value depends on: its when: names, then
 * its from:. */
static size_t param_ndeps(const struct tc_param *p)
{
	return p->nwhen + (p->kind == TC_P_DERIVED);
}

static size_t param_dep(const struct tc_param *p, size_t d)
{
	return d < p->nwhen ? (size_t)p->when[d].param : (size_t)p->from;
}

/*
 * spec->order: a depth-first walk from each parameter in file order that
 * places a parameter after everything it depends on (so the identity when
 * nothing has when:).  A dependency met again while it is still being
 * walked closes a cycle, which no order can satisfy: an error at the
 * when: entry (or from:) that closes it.  Iterative, O(parameters +
 * conditions).
 */
static int order_params(struct ctx *c)
{
	struct tc_spec *s = c->spec;
	size_t n = s->nparams, m = 0, top = 0;
	size_t *order = tc_arena_calloc(c->arena, n ? n : 1, sizeof(*order));
	unsigned char *state = calloc(n ? n : 1, 1); /* 1 walking, 2 placed */
	struct frame {
		size_t param, next;
	} *stack = calloc(n ? n : 1, sizeof(*stack));
	int rc = 0;

	if (!order || !state || !stack) {
		free(state);
		free(stack);
		return nomem(c);
	}
	for (size_t root = 0; root < n && !rc; root++) {
		if (state[root])
			continue;
		state[root] = 1;
		stack[top++] = (struct frame){root, 0};
		while (top && !rc) {
			struct frame *f = &stack[top - 1];
			const struct tc_param *p = &s->params[f->param];
			size_t u, d;

			if (f->next == param_ndeps(p)) {
				state[f->param] = 2;
				order[m++] = f->param;
				top--;
				continue;
			}
			d = f->next++;
			u = param_dep(p, d);
			if (state[u] == 0) {
				state[u] = 1;
				stack[top++] = (struct frame){u, 0};
			} else if (state[u] == 1) {
				char path[512];
				size_t k = top, used;

				while (k > 0 && stack[k - 1].param != u)
					k--;
				used = (size_t)snprintf(path, sizeof(path), "%s",
							s->params[u].name);
				for (; k < top && used < sizeof(path); k++)
					used += (size_t)snprintf(
						path + used, sizeof(path) - used,
						" -> %s",
						s->params[stack[k].param].name);
				if (used < sizeof(path))
					snprintf(path + used, sizeof(path) - used,
						 " -> %s", s->params[u].name);
				rc = fail_at(c,
					     d < p->nwhen ? p->when[d].pos
							  : p->from_pos,
					     "parameters.%s.%s: when: and from: "
					     "go round in a cycle (%s, each "
					     "depending on the next): no "
					     "parameter of it can be decided "
					     "first",
					     p->name, d < p->nwhen ? "when" : "from",
					     path);
			}
		}
	}
	free(state);
	free(stack);
	if (rc)
		return rc;
	for (size_t k = 0; k < n; k++) {
		struct tc_param *p = &s->params[order[k]];

		p->conditional = p->nwhen > 0 ||
				 (p->kind == TC_P_DERIVED &&
				  s->params[p->from].conditional);
		s->conditional |= p->conditional;
	}
	s->order = order;
	return 0;
}

/* After every parameter is read (and resolve_derived): each when: checked
 * against the parameters it names, then spec->order. */
static int resolve_when(struct ctx *c, const yaml_node_t *params)
{
	struct tc_spec *s = c->spec;
	yaml_node_pair_t *pair = params->data.mapping.pairs.start;

	for (size_t i = 0; i < s->nparams; i++, pair++) {
		const yaml_node_t *n = node_at(c, pair->value);
		yaml_node_pair_t *q;

		for (q = n->data.mapping.pairs.start;
		     q < n->data.mapping.pairs.top; q++) {
			yaml_node_t *k = node_at(c, q->key);
			int rc;

			if (strcmp((const char *)k->data.scalar.value, "when"))
				continue;
			rc = parse_when(c, &s->params[i], k, node_at(c, q->value));
			if (rc)
				return rc;
		}
	}
	return order_params(c);
}

static int parse_param(struct ctx *c, const yaml_node_t *n,
		       struct tc_param *p)
{
	enum { F_VALUES, F_VALUE, F_DIST, F_FROM, F_MIN, F_MAX, F_MAP,
	       F_Q, F_MU, F_SIGMA, F_A, F_B, F_PROBS, F_WHEN, F_N };
	struct field f[F_N] = {{"values", NULL, NULL}, {"value", NULL, NULL},
			       {"distribution", NULL, NULL},
			       {"from", NULL, NULL},
			       {"min", NULL, NULL}, {"max", NULL, NULL},
			       {"map", NULL, NULL}, {"q", NULL, NULL},
			       {"mu", NULL, NULL}, {"sigma", NULL, NULL},
			       {"a", NULL, NULL}, {"b", NULL, NULL},
			       {"probabilities", NULL, NULL},
			       {"when", NULL, NULL}}; /* resolve_when */
	char where[PARAM_NAME_MAX + 32], what[PARAM_NAME_MAX + 48], d[64];
	int forms = 0, rc;

	snprintf(where, sizeof(where), "parameters.%s", p->name);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n,
			    "%s must be a mapping: {values: [...]}, {value: "
			    "x} or {distribution: uniform, min: a, max: b} "
			    "(got %s)%s",
			    where, describe(n, d), scalar_hint(c, n));
	rc = get_fields(c, n, where, f, F_N);
	if (rc)
		return rc;
	for (int i = F_VALUES; i <= F_FROM; i++)
		forms += f[i].key != NULL;
	if (forms == 0)
		return fail(c, n, "%s needs values: [...], value: x, "
			    "distribution: with min and max, or from: with "
			    "map:", where);
	if (forms > 1) {
		/* point at the later of the conflicting keys */
		const yaml_node_t *late = NULL;

		for (int i = F_VALUES; i <= F_FROM; i++)
			if (f[i].key && (!late || f[i].key->start_mark.index >
							  late->start_mark.index))
				late = f[i].key;
		return fail(c, late, "%s: give only one of values, value, "
			    "distribution or from", where);
	}
	if (!f[F_FROM].key && f[F_MAP].key)
		return fail(c, f[F_MAP].key, "%s: map goes with from: (the "
			    "parameter whose value picks the entry)", where);
	if (f[F_FROM].key)
		return parse_derived(c, n, where, f[F_FROM].val,
				     f[F_MIN].key ? f[F_MIN].key : f[F_MAX].key,
				     f[F_MAP].val, p);
	if (!f[F_DIST].key && (f[F_MIN].key || f[F_MAX].key))
		return fail(c, f[F_MIN].key ? f[F_MIN].key : f[F_MAX].key,
			    "%s: min and max go with distribution: uniform, "
			    "log_uniform or int_uniform",
			    where);
	for (int i = F_Q; i <= F_B; i++)
		if (f[i].key && !f[F_DIST].key)
			return fail(c, f[i].key, "%s: %s goes with a "
				    "distribution: (q_uniform, normal, beta, "
				    "...)", where, f[i].name);
	if (f[F_PROBS].key && !f[F_VALUES].key)
		return fail(c, f[F_PROBS].key, "%s: probabilities go with "
			    "values: [...], one weight per value", where);

	if (f[F_VALUES].key) {
		const yaml_node_t *seq = f[F_VALUES].val;
		yaml_node_item_t *it;
		size_t count, i = 0, dup, orig;

		if (seq->type != YAML_SEQUENCE_NODE)
			return fail(c, seq, "%s.values must be a list, e.g. "
				    "[0.1, 0.01] (got %s)%s",
				    where, describe(seq, d),
				    scalar_hint(c, seq));
		count = (size_t)(seq->data.sequence.items.top -
				 seq->data.sequence.items.start);
		if (count == 0)
			return fail(c, seq, "%s.values is empty: give at least "
				    "one value", where);
		p->kind = TC_P_VALUES;
		p->values = tc_arena_calloc(c->arena, count, sizeof(*p->values));
		if (!p->values)
			return nomem(c);
		for (it = seq->data.sequence.items.start;
		     it < seq->data.sequence.items.top; it++, i++) {
			yaml_node_t *e = node_at(c, *it);

			if (!e)
				return fail(c, seq, "internal error: broken "
					    "YAML node");
			snprintf(what, sizeof(what), "%s.values[%zu]", where, i);
			rc = get_scalar(c, e, what, &p->values[i]);
			if (rc)
				return rc;
		}
		p->nvalues = count;
		rc = find_dup(c, p->values, count, &dup, &orig);
		if (rc)
			return rc;
		if (dup != (size_t)-1) {
			char cb[48], cb2[48];

			return fail(c,
				    node_at(c,
					    seq->data.sequence.items.start[dup]),
				    "%s.values: duplicate value %s (same as "
				    "%s, entry %zu)",
				    where, clip(p->values[dup].text, cb),
				    clip(p->values[orig].text, cb2), orig);
		}
		if (f[F_PROBS].key)
			return parse_probabilities(c, f[F_PROBS].key,
						   f[F_PROBS].val, where, p);
		return 0;
	}

	if (f[F_VALUE].key) {
		const yaml_node_t *v = f[F_VALUE].val;

		snprintf(what, sizeof(what), "%s.value", where);
		if (v->type == YAML_SEQUENCE_NODE)
			return fail(c, v, "%s must be a single value; for "
				    "several write values: [...]", what);
		p->kind = TC_P_CONST;
		p->values = tc_arena_calloc(c->arena, 1, sizeof(*p->values));
		if (!p->values)
			return nomem(c);
		rc = get_scalar(c, v, what, &p->values[0]);
		if (rc)
			return rc;
		p->nvalues = 1;
		return 0;
	}

	/* distribution */
	{
		struct tc_value lo, hi;
		size_t which = 0;

		snprintf(what, sizeof(what), "%s.distribution", where);
		if (f[F_DIST].val->type == YAML_SCALAR_NODE) {
			const char *dn =
				(const char *)f[F_DIST].val->data.scalar.value;
			const char *renamed = shape_renamed(dn);
			yaml_node_t *keys[SF_N], *vals[SF_N];

			if (renamed)
				return fail(c, f[F_DIST].val, "%s: distribution "
					    "%s is written %s in an experiment "
					    "file", where, dn, renamed);
			for (size_t k = 0; k < NSHAPES; k++) {
				if (strcmp(dn, shapes[k].name))
					continue;
				for (int j = 0; j < SF_N; j++) {
					keys[j] = f[F_MIN + (j > 1 ? j + 1 : j)].key;
					vals[j] = f[F_MIN + (j > 1 ? j + 1 : j)].val;
				}
				return parse_shape(c, n, where, &shapes[k], keys,
						   vals, p);
			}
		}
		{
			const char *all[3 + NSHAPES];

			for (size_t k = 0; k < 3; k++)
				all[k] = dist_names[k];
			for (size_t k = 0; k < NSHAPES; k++)
				all[3 + k] = shapes[k].name;
			rc = get_enum(c, f[F_DIST].val, what, all, 3 + NSHAPES,
				      &which);
		}
		if (rc)
			return rc;
		for (int i = F_Q; i <= F_B; i++)
			if (f[i].key)
				return fail(c, f[i].key, "%s: %s does not go "
					    "with distribution %s", where,
					    f[i].name, dist_names[which]);
		p->kind = which == 0   ? TC_P_UNIFORM
			  : which == 1 ? TC_P_LOG_UNIFORM
				       : TC_P_INT_UNIFORM;
		if (!f[F_MIN].key || !f[F_MAX].key)
			return fail(c, n, "%s: distribution %s needs min and "
				    "max", where, dist_names[which]);
		snprintf(what, sizeof(what), "%s.min", where);
		rc = get_number(c, f[F_MIN].val, what, &lo);
		if (rc)
			return rc;
		snprintf(what, sizeof(what), "%s.max", where);
		rc = get_number(c, f[F_MAX].val, what, &hi);
		if (rc)
			return rc;
		if (p->kind == TC_P_INT_UNIFORM) {
			if (lo.type != TC_V_INT)
				return fail(c, f[F_MIN].val,
					    "%s.min must be an integer for "
					    "int_uniform (got %s)",
					    where, describe(f[F_MIN].val, d));
			if (hi.type != TC_V_INT)
				return fail(c, f[F_MAX].val,
					    "%s.max must be an integer for "
					    "int_uniform (got %s)",
					    where, describe(f[F_MAX].val, d));
			if (lo.i > hi.i)
				return fail(c, f[F_MIN].val,
					    "%s: min (%lld) is greater than "
					    "max (%lld)",
					    where, lo.i, hi.i);
		}
		if (lo.f > hi.f)
			return fail(c, f[F_MIN].val,
				    "%s: min (%s) is greater than max (%s)",
				    where, lo.text, hi.text);
		if (p->kind == TC_P_LOG_UNIFORM && !(lo.f > 0))
			return fail(c, f[F_MIN].val,
				    "%s: log_uniform needs min > 0 (got %s)",
				    where, lo.text);
		p->min = lo.f;
		p->max = hi.f;
		if (p->kind == TC_P_INT_UNIFORM) {
			p->imin = lo.i;
			p->imax = hi.i;
		}
	}
	return 0;
}

struct nameref {
	const char *name;
	size_t idx;
};

static int nameref_cmp(const void *a, const void *b)
{
	const struct nameref *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int is_builtin(const char *name, size_t len);

/* What a built-in {{name}} stands for (they are tc_template_builtins). */
static const char *builtin_meaning(const char *name)
{
	if (!strcmp(name, "trial_id"))
		return "the trial's id";
	if (!strcmp(name, "trial_dir"))
		return "the trial's directory";
	if (!strcmp(name, "experiment"))
		return "the experiment's name";
	if (!strcmp(name, "index"))
		return "the trial's index";
	if (!strcmp(name, "seed"))
		return "the trial's own seed";
	if (!strcmp(name, "args"))
		return "the trial's parameters as --name=value arguments";
	if (!strcmp(name, "args_no_hyphens"))
		return "the trial's parameters as name=value arguments";
	return "a built-in name";
}

/*
 * A variable a script: parameter must not set.  A script gets each
 * parameter as a variable of its name too, which would otherwise override
 * what trainctl sets for the trial (TRAINCTL_METRICS_FILE: metrics lost),
 * or change what code the shell and the dynamic loader run.
 */
static const char *script_reserved(const char *name)
{
	static const char *const shell[] = {"PATH", "IFS", "ENV", "BASH_ENV"};

	if (!strncmp(name, "TRAINCTL_", 9))
		return "TRAINCTL_ variables are set by trainctl for each trial";
	if (!strncmp(name, "LD_", 3))
		return "LD_ variables choose the code the dynamic loader loads";
	if (!strcmp(name, "CUDA_VISIBLE_DEVICES"))
		return "trainctl hands out GPUs through it";
	for (size_t i = 0; i < sizeof(shell) / sizeof(shell[0]); i++)
		if (!strcmp(name, shell[i]))
			return "it changes how the shell runs the script";
	return NULL;
}

/* A parameter's name must not shadow a built-in {{name}}, nor, for a
 * script:, a variable that trainctl, the shell or the loader relies on. */
static int check_param_name(struct ctx *c, const yaml_node_t *k,
			    const char *key)
{
	const char *why;
	char cb[48];

	if (c->recorded)
		return 0;
	if (is_builtin(key, strlen(key)))
		return fail(c, k,
			    "parameter name '%s' is reserved: {{%s}} is %s; "
			    "rename the parameter (e.g. 'my_%s')",
			    key, key, builtin_meaning(key), key);
	if (c->spec->script.text && (why = script_reserved(key)))
		return fail(c, k,
			    "parameter name '%s' cannot be used with script: "
			    "(the script gets each parameter as a variable "
			    "of its name, and %s); rename the parameter",
			    clip(key, cb), why);
	return 0;
}

static int parse_parameters(struct ctx *c, const yaml_node_t *n)
{
	struct nameref *sorted;
	yaml_node_pair_t *pair;
	size_t count, i = 0;
	int ok, rc;

	rc = expect_map(c, n, "parameters", "{lr: {values: [0.1, 0.01]}}",
			&ok);
	if (rc || !ok)
		return rc;
	rc = check_keys(c, n, "parameters");
	if (rc)
		return rc;
	count = (size_t)(n->data.mapping.pairs.top -
			 n->data.mapping.pairs.start);
	c->spec->params = tc_arena_calloc(c->arena, count ? count : 1,
					  sizeof(*c->spec->params));
	c->priv->by_name = tc_arena_calloc(c->arena, count ? count : 1,
					   sizeof(*c->priv->by_name));
	if (!c->spec->params || !c->priv->by_name)
		return nomem(c);
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++, i++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);
		struct tc_param *p = &c->spec->params[i];
		const char *key = (const char *)k->data.scalar.value;
		char cb[48];

		if (!valid_param_name(key))
			return fail(c, k,
				    "parameter name '%s' must start with a "
				    "letter or '_' and contain only letters, "
				    "digits, '_', '.' and '-' (at most %d), so "
				    "that {{%s}} can refer to it",
				    clip(key, cb), PARAM_NAME_MAX, clip(key, cb));
		rc = check_param_name(c, k, key);
		if (rc)
			return rc;
		p->name = tc_arena_strdup(c->arena, key);
		if (!p->name)
			return nomem(c);
		p->pos = node_pos(k);
		rc = parse_param(c, v, p);
		if (rc)
			return rc;
	}
	c->spec->nparams = count;

	/* The name index behind tc_spec_param_index(). */
	sorted = calloc(count ? count : 1, sizeof(*sorted));
	if (!sorted)
		return nomem(c);
	for (i = 0; i < count; i++) {
		sorted[i].name = c->spec->params[i].name;
		sorted[i].idx = i;
	}
	qsort(sorted, count, sizeof(*sorted), nameref_cmp);
	for (i = 0; i < count; i++)
		c->priv->by_name[i] = sorted[i].idx;
	free(sorted);
	rc = resolve_derived(c, n);
	if (!rc)
		rc = resolve_when(c, n);
	return rc;
}

/* Names a template may use: parameters, then builtins (malloc'd array). */
static const char **known_names(struct ctx *c, size_t *n)
{
	size_t np = c->spec->nparams, i;
	const char **names = calloc(np + tc_template_nbuiltins,
				    sizeof(*names));

	if (!names)
		return NULL;
	for (i = 0; i < np; i++)
		names[i] = c->spec->params[i].name;
	for (i = 0; i < tc_template_nbuiltins; i++)
		names[np + i] = tc_template_builtins[i];
	*n = np + tc_template_nbuiltins;
	return names;
}

static int param_names_hint(struct ctx *c, const char *bad, char *buf,
			    size_t len)
{
	size_t n;
	const char **names = known_names(c, &n);
	const char *hint;

	if (!names)
		return nomem(c);
	hint = tc_did_you_mean(bad, names, c->spec->nparams);
	if (hint)
		snprintf(buf, len, " (did you mean '%s'?)", hint);
	else
		buf[0] = '\0';
	free(names);
	return 0;
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* One assignment of an exclude/include entry: checked, and normalised to
 * the parameter's own value where it has values. */
static int parse_assign(struct ctx *c, const char *where, int include,
			const struct tc_param *p, const yaml_node_t *vn,
			struct tc_value *out)
{
	char what[PARAM_NAME_MAX + 96], d[64];
	struct tc_value v = {0};
	int rc;

	snprintf(what, sizeof(what), "%s.%s", where, p->name);
	if (p->kind == TC_P_DERIVED)
		return fail(c, vn, "%s: '%s' is derived from '%s' (from:): "
			    "name '%s' instead", where, p->name,
			    c->spec->params[p->from].name,
			    c->spec->params[p->from].name);
	rc = get_scalar(c, vn, what, &v);
	if (rc)
		return rc;
	if (p->kind == TC_P_VALUES || p->kind == TC_P_CONST) {
		size_t j;

		for (j = 0; j < p->nvalues; j++)
			if (tc_value_equal(&v, &p->values[j]))
				break;
		if (j < p->nvalues)
			v = p->values[j]; /* same text and type as the grid's */
		else if (!include)
			return fail(c, vn, "%s: %s is not one of the values of "
				    "'%s', so this entry would never match",
				    where, describe(vn, d), p->name);
	} else if (p->kind == TC_P_INT_UNIFORM) {
		if (v.type != TC_V_INT)
			return fail(c, vn, "%s must be an integer (got %s)",
				    what, describe(vn, d));
	} else if ((v.type != TC_V_INT && v.type != TC_V_FLOAT) ||
		   !isfinite(v.f)) {
		return fail(c, vn, "%s must be a number (got %s)", what,
			    describe(vn, d));
	}
	*out = v;
	return 0;
}

/*
 * An include entry made complete, in spec->order (so whether a parameter
 * is present is known when its turn comes): constants are filled in,
 * derived parameters set from their source, distributions it leaves out
 * are drawn per point (search.h).  Every values: parameter the entry's
 * trial has must be given, and none it does not have (when:) may be.
 * vals: scratch, one per parameter.
 */
static int complete_include(struct ctx *c, const yaml_node_t *m,
			    const char *where, unsigned char *seen,
			    size_t *touched, size_t *nt, struct tc_assign *tmp,
			    struct tc_value *vals)
{
	struct tc_spec *s = c->spec;
	char missing[256] = "", cb[48];
	size_t nmiss = 0, extra = (size_t)-1;

	for (size_t k = 0; k < s->nparams; k++) {
		size_t i = tc_spec_nth(s, k), j;
		const struct tc_param *p = &s->params[i];

		vals[i] = seen[i] ? tmp[i].value : tc_value_absent;
		if (!tc_spec_param_present(s, vals, i)) {
			if (seen[i] && extra == (size_t)-1)
				extra = i;
			vals[i] = tc_value_absent;
			continue;
		}
		if (seen[i])
			continue;
		if (p->kind == TC_P_VALUES) {
			if (nmiss++ < 5) {
				size_t l = strlen(missing);

				snprintf(missing + l, sizeof(missing) - l,
					 "%s'%s'", l ? ", " : "", p->name);
			}
			continue;
		}
		if (p->kind == TC_P_CONST) {
			vals[i] = p->values[0];
		} else if (p->kind == TC_P_DERIVED) {
			for (j = 0; j < p->nvalues; j++)
				if (tc_value_equal(&p->keys[j], &vals[p->from]))
					break;
			if (j == p->nvalues)
				return fail(c, m, "%s: parameters.%s.map has no "
					    "entry for %s '%s'",
					    where, p->name, s->params[p->from].name,
					    clip(vals[p->from].text, cb));
			vals[i] = p->values[j];
		} else {
			continue; /* a distribution: drawn per point */
		}
		seen[i] = 1;
		touched[(*nt)++] = i;
		tmp[i].name = p->name;
		tmp[i].value = vals[i];
		tmp[i].pos = node_pos(m);
	}
	if (nmiss)
		return fail(c, m, "%s does not set %s%s: an include entry "
			    "gives a value to every parameter that has "
			    "values: (constants are filled in and "
			    "distributions drawn)",
			    where, missing, nmiss > 5 ? " and more" : "");
	if (extra != (size_t)-1)
		return fail_at(c, tmp[extra].pos,
			       "%s sets '%s', which a trial with the entry's "
			       "other values does not have (parameters.%s."
			       "when, line %d): leave it out",
			       where, s->params[extra].name,
			       s->params[extra].name,
			       s->params[extra].when_pos.line
				       ? s->params[extra].when_pos.line
				       : s->params[extra].pos.line);
	return 0;
}

/* An exclude entry that names a parameter together with a value of its
 * when: that leaves it out would never match: an error, as a value the
 * parameter does not have is. */
static int check_exclude_when(struct ctx *c, const char *where,
			      const unsigned char *seen, const size_t *touched,
			      size_t nt, const struct tc_assign *tmp)
{
	const struct tc_spec *s = c->spec;

	for (size_t k = 0; k < nt; k++) {
		const struct tc_param *p = &s->params[touched[k]];

		for (size_t w = 0; w < p->nwhen; w++) {
			const struct tc_cond *cond = &p->when[w];
			char cb[48];
			size_t j;

			if (!seen[cond->param])
				continue;
			for (j = 0; j < cond->nvalues; j++)
				if (tc_value_equal(&cond->values[j],
						   &tmp[cond->param].value))
					break;
			if (j == cond->nvalues)
				return fail_at(c, tmp[touched[k]].pos,
					       "%s: a trial with %s '%s' has no "
					       "'%s' (parameters.%s.when, line "
					       "%d), so this entry would never "
					       "match",
					       where, s->params[cond->param].name,
					       clip(tmp[cond->param].value.text, cb),
					       p->name, p->name, p->when_pos.line);
		}
	}
	return 0;
}

/*
 * One search.exclude / search.include entry into pt, in parameter order;
 * an include entry is completed with the constants it leaves out.  seen[]
 * (one flag per parameter) is all zero on entry and on return; the work is
 * proportional to the entry's size for exclude, to nparams for include
 * (bounded by SPEC_MAX_ASSIGNS over all entries).
 */
static int parse_point(struct ctx *c, const yaml_node_t *m, const char *where,
		       int include, unsigned char *seen, size_t *touched,
		       struct tc_assign *tmp, struct tc_value *vals,
		       struct tc_point *pt)
{
	struct tc_spec *s = c->spec;
	yaml_node_pair_t *pair;
	size_t t = 0, i;
	char d[64];
	int rc = 0;

	if (m->type != YAML_MAPPING_NODE)
		return fail(c, m, "%s must be a mapping of parameter values, "
			    "e.g. {optimizer: lamb} (got %s)",
			    where, describe(m, d));
	if (m->data.mapping.pairs.top == m->data.mapping.pairs.start &&
	    !include)
		return fail(c, m, "%s is empty: it would exclude every trial",
			    where);
	pt->pos = node_pos(m);
	for (pair = m->data.mapping.pairs.start;
	     pair < m->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = node_at(c, pair->key);
		yaml_node_t *vn = node_at(c, pair->value);
		const char *key;
		char cb[48], hint[PARAM_NAME_MAX + 40];
		int pi;

		if (!kn || !vn) {
			rc = fail(c, m, "internal error: broken YAML node");
			break;
		}
		rc = key_text(c, kn, where, &key);
		if (rc)
			break;
		pi = tc_spec_param_index(s, key, strlen(key));
		if (pi < 0) {
			rc = param_names_hint(c, key, hint, sizeof(hint));
			if (!rc)
				rc = fail(c, kn, "%s: unknown parameter '%s'%s",
					  where, clip(key, cb), hint);
			break;
		}
		if (seen[pi]) {
			rc = fail(c, kn, "duplicate key '%s' in %s",
				  clip(key, cb), where);
			break;
		}
		rc = parse_assign(c, where, include, &s->params[pi], vn,
				  &tmp[pi].value);
		if (rc)
			break;
		seen[pi] = 1;
		touched[t++] = (size_t)pi;
		tmp[pi].name = s->params[pi].name;
		tmp[pi].pos = node_pos(kn);
	}

	if (!rc && include)
		rc = complete_include(c, m, where, seen, touched, &t, tmp, vals);
	if (!rc && !include)
		rc = check_exclude_when(c, where, seen, touched, t, tmp);
	if (!rc) {
		qsort(touched, t, sizeof(*touched), size_cmp);
		pt->a = tc_arena_calloc(c->arena, t ? t : 1, sizeof(*pt->a));
		if (!pt->a)
			rc = nomem(c);
		for (i = 0; i < t && !rc; i++)
			pt->a[i] = tmp[touched[i]];
		if (!rc)
			pt->n = t;
	}
	for (i = 0; i < t; i++)
		seen[touched[i]] = 0;
	return rc;
}

/* search.exclude or search.include: a list of entries (see parse_point). */
static int parse_points(struct ctx *c, const yaml_node_t *n, int include,
			struct tc_point **out, size_t *nout)
{
	const char *sect = include ? "search.include" : "search.exclude";
	size_t np = c->spec->nparams ? c->spec->nparams : 1;
	struct tc_assign *tmp;
	struct tc_value *vals;
	unsigned char *seen;
	size_t *touched;
	yaml_node_item_t *it;
	size_t count, e = 0;
	char d[64];
	int rc = 0;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "%s must be a list of mappings, e.g. "
			    "[{optimizer: lamb, batch_size: 8}] (got %s)",
			    sect, describe(n, d));
	count = (size_t)(n->data.sequence.items.top -
			 n->data.sequence.items.start);
	if (include && count > SPEC_MAX_ASSIGNS / np)
		return fail(c, n, "%s has more entries than trainctl can hold "
			    "(%zu x %zu parameters)",
			    sect, count, c->spec->nparams);
	*out = tc_arena_calloc(c->arena, count ? count : 1, sizeof(**out));
	tmp = calloc(np, sizeof(*tmp));
	vals = calloc(np, sizeof(*vals));
	seen = calloc(np, 1);
	touched = calloc(np, sizeof(*touched));
	if (!*out || !tmp || !vals || !seen || !touched) {
		free(tmp);
		free(vals);
		free(seen);
		free(touched);
		return nomem(c);
	}
	for (it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top && !rc; it++, e++) {
		yaml_node_t *m = node_at(c, *it);
		char where[64];

		snprintf(where, sizeof(where), "%s[%zu]", sect, e);
		if (!m)
			rc = fail(c, n, "internal error: broken YAML node");
		else
			rc = parse_point(c, m, where, include, seen, touched,
					 tmp, vals, &(*out)[e]);
	}
	free(tmp);
	free(vals);
	free(seen);
	free(touched);
	if (rc)
		return rc;
	*nout = count;
	return 0;
}

/* A grid with no values: parameter is one point, its distributions drawn
 * once: surely not meant, unless include entries give its points.  (After
 * the search's include entries are read.) */
static int check_grid_values(struct ctx *c)
{
	const struct tc_spec *s = c->spec;
	const struct tc_param *dist = NULL;

	if (s->search.method != TC_SEARCH_GRID || s->search.ninclude ||
	    c->recorded)
		return 0;
	for (size_t i = 0; i < s->nparams; i++) {
		if (s->params[i].kind == TC_P_VALUES)
			return 0;
		if (s->params[i].kind != TC_P_CONST &&
		    s->params[i].kind != TC_P_DERIVED && !dist)
			dist = &s->params[i];
	}
	if (!dist)
		return 0;
	return fail_at(c, dist->pos,
		       "grid search needs `values`: this grid is one trial "
		       "with '%s' drawn once; use `method: random` with "
		       "`trials`",
		       dist->name);
}

/* A grid search: every parameter enumerable, and not too many points. */
static int check_grid(struct ctx *c)
{
	struct tc_spec *s = c->spec;
	uint64_t size;
	size_t i;

	if (s->search.method != TC_SEARCH_GRID)
		return 0;
	for (i = 0; i < s->nparams; i++)
		if (s->params[i].probs && !c->recorded)
			return fail_at(c, s->params[i].probs_pos,
				       "parameters.%s: a grid runs every value, "
				       "so probabilities have nothing to weigh; "
				       "remove them or use search.method: random",
				       s->params[i].name);
	/* Distribution parameters are allowed: as in Ray Tune, the grid runs
	 * over the values: parameters and each point draws the others. */
	size = tc_spec_grid_size(s);
	if (size > TC_GRID_MAX && !s->search.has_trials) {
		char num[48];

		if (size == UINT64_MAX)
			snprintf(num, sizeof(num), "more than %llu",
				 (unsigned long long)UINT64_MAX - 1);
		else
			snprintf(num, sizeof(num), "%llu",
				 (unsigned long long)size);
		return fail_at(c, c->params_pos,
			       "the grid has %s points (more than %llu): set "
			       "search.trials to cap it, or use "
			       "search.method: random",
			       num, (unsigned long long)TC_GRID_MAX);
	}
	return 0;
}

static int parse_search(struct ctx *c, const yaml_node_t *n)
{
	enum { F_METHOD, F_TRIALS, F_SEED, F_EXCLUDE, F_INCLUDE, F_STARTUP, F_N };
	struct field f[F_N] = {{"method", NULL, NULL}, {"trials", NULL, NULL},
			       {"seed", NULL, NULL}, {"exclude", NULL, NULL},
			       {"include", NULL, NULL}, {"startup", NULL, NULL}};
	/* bayes: W&B's name for its adaptive method, run here as tpe; the
	 * first four are in enum tc_method's order (their names) */
	static const char *const methods[] = {"grid", "random", "sobol", "tpe",
					      "bayes"};
	static const enum tc_method method_of[] = {
		TC_SEARCH_GRID, TC_SEARCH_RANDOM, TC_SEARCH_SOBOL, TC_SEARCH_TPE,
		TC_SEARCH_TPE};
	struct tc_spec *s = c->spec;
	long long v;
	int ok, rc;

	s->search.method = TC_SEARCH_GRID;
	rc = expect_map(c, n, "search", "{method: random, trials: 20}", &ok);
	if (rc || !ok)
		return rc;
	rc = get_fields(c, n, "search", f, F_N);
	if (rc)
		return rc;
	if (f[F_METHOD].val) {
		size_t m = 0;

		rc = get_enum(c, f[F_METHOD].val, "search.method", methods, 5,
			      &m);
		if (rc)
			return rc;
		s->search.method = method_of[m];
		s->search.method_pos = node_pos(f[F_METHOD].val);
	}
	s->search.startup = TC_TPE_STARTUP_DEFAULT;
	if (f[F_STARTUP].val) {
		if (s->search.method != TC_SEARCH_TPE)
			return fail(c, f[F_STARTUP].key,
				    "search.startup is for method: tpe (random "
				    "trials before the model); remove it");
		rc = get_int(c, f[F_STARTUP].val, 0, 1000000,
			     "search.startup must be an integer from 0 to "
			     "1000000",
			     &v);
		if (rc)
			return rc;
		s->search.startup = (unsigned)v;
	}
	if (f[F_TRIALS].val) {
		rc = get_int(c, f[F_TRIALS].val, 1, LLONG_MAX,
			     "search.trials must be an integer ≥ 1", &v);
		if (rc)
			return rc;
		s->search.trials = (uint64_t)v;
		s->search.has_trials = 1;
	}
	if (f[F_SEED].val) {
		rc = get_int(c, f[F_SEED].val, 0, LLONG_MAX,
			     "search.seed must be an integer ≥ 0", &v);
		if (rc)
			return rc;
		s->search.seed = (uint64_t)v;
		s->search.has_seed = 1;
	}
	if (s->search.method != TC_SEARCH_GRID && !s->search.has_trials)
		return fail(c, f[F_METHOD].val,
			    "%s search needs search.trials: how many "
			    "trials to sample",
			    methods[s->search.method]);
	if (s->search.method == TC_SEARCH_TPE &&
	    (f[F_EXCLUDE].val || f[F_INCLUDE].val))
		return fail(c, f[F_EXCLUDE].val ? f[F_EXCLUDE].key : f[F_INCLUDE].key,
			    "tpe search takes no %s: it picks each point from "
			    "the results so far (use method: random or sobol "
			    "for a fixed set)",
			    f[F_EXCLUDE].val ? "exclude" : "include");
	if (s->search.method == TC_SEARCH_TPE)
		for (size_t i = 0; i < s->nparams; i++)
			if (s->params[i].kind == TC_P_VALUES &&
			    s->params[i].nvalues == 1)
				return fail_at(c, s->params[i].pos,
					       "parameter '%s' has one value: "
					       "tpe has nothing to choose; write "
					       "it as a constant (value: x)",
					       s->params[i].name);
	rc = check_grid(c);
	if (rc)
		return rc;
	if (f[F_EXCLUDE].val) {
		rc = parse_points(c, f[F_EXCLUDE].val, 0, &s->search.exclude,
				  &s->search.nexclude);
		if (rc)
			return rc;
	}
	if (f[F_INCLUDE].val) {
		rc = parse_points(c, f[F_INCLUDE].val, 1, &s->search.include,
				  &s->search.ninclude);
		if (rc)
			return rc;
	}
	return check_grid_values(c);
}

static int parse_metric(struct ctx *c, const yaml_node_t *n)
{
	enum { F_NAME, F_GOAL, F_REGEX, F_N };
	struct field f[F_N] = {{"name", NULL, NULL}, {"goal", NULL, NULL},
			       {"regex", NULL, NULL}};
	static const char *const goals[] = {"maximize", "minimize"};
	struct tc_spec *s = c->spec;
	const char *name;
	int ok, rc;

	s->metric.goal = 1;
	rc = expect_map(c, n, "metric", "{name: test_acc, goal: maximize}",
			&ok);
	if (rc || !ok)
		return rc;
	rc = get_fields(c, n, "metric", f, F_N);
	if (rc)
		return rc;
	if (!f[F_NAME].val)
		return fail(c, n, "metric needs a name: the metric to rank "
			    "trials by, e.g. name: test_acc");
	rc = get_string(c, f[F_NAME].val, "metric.name", "test_acc", &name);
	if (rc)
		return rc;
	if (strpbrk(name, " \t\r\n="))
		return fail(c, f[F_NAME].val, "metric.name must not contain "
			    "spaces or '='");
	s->metric.name = name;
	if (f[F_GOAL].val) {
		size_t g;

		rc = get_enum(c, f[F_GOAL].val, "metric.goal", goals, 2, &g);
		if (rc)
			return rc;
		s->metric.goal = g ? -1 : 1;
	}
	if (f[F_REGEX].val) {
		rc = get_string(c, f[F_REGEX].val, "metric.regex",
				"'test acc,(?<test_acc>[0-9.]+)'",
				&s->metric.regex);
		if (rc)
			return rc;
		s->metric.regex_pos = node_pos(f[F_REGEX].val);
	}
	return 0;
}

/* A positive number of early_stop (steps, reduction factor). */
static int es_number(struct ctx *c, const yaml_node_t *n, const char *what,
		     double lo, double *out)
{
	struct tc_value v = {0};
	char d[64];
	int rc = get_number(c, n, what, &v);

	if (rc)
		return rc;
	if (!(v.f >= lo))
		return fail(c, n, "%s must be a number ≥ %g (got %s)", what, lo,
			    describe(n, d));
	*out = v.f;
	return 0;
}

/* early_stop: {method: asha|hyperband|median, metric, goal, min_step,
 * max_step, reduction_factor, min_trials}; after metric: (its defaults). */
static int parse_early_stop(struct ctx *c, const yaml_node_t *key,
			    const yaml_node_t *n)
{
	enum { F_METHOD, F_METRIC, F_GOAL, F_MIN, F_MAX, F_RF, F_MINTR, F_N };
	struct field f[F_N] = {{"method", NULL, NULL}, {"metric", NULL, NULL},
			       {"goal", NULL, NULL}, {"min_step", NULL, NULL},
			       {"max_step", NULL, NULL},
			       {"reduction_factor", NULL, NULL},
			       {"min_trials", NULL, NULL}};
	static const char *const methods[] = {"asha", "hyperband", "median"};
	static const char *const goals[] = {"maximize", "minimize"};
	struct tc_spec *s = c->spec;
	size_t m;
	long long v;
	int ok, rc;

	rc = expect_map(c, n, "early_stop",
			"{method: asha, metric: val_loss, max_step: 20}", &ok);
	if (rc || !ok)
		return rc;
	rc = get_fields(c, n, "early_stop", f, F_N);
	if (rc)
		return rc;
	if (!f[F_METHOD].val)
		return fail(c, n, "early_stop needs a method: asha, hyperband "
			    "or median");
	rc = get_enum(c, f[F_METHOD].val, "early_stop.method", methods, 3, &m);
	if (rc)
		return rc;
	s->early_stop.method = m == 0 ? TC_ES_ASHA
			       : m == 1 ? TC_ES_HYPERBAND : TC_ES_MEDIAN;
	s->early_stop.pos = node_pos(key);
	s->early_stop.metric = s->metric.name;
	s->early_stop.goal = s->metric.goal;
	if (f[F_METRIC].val) {
		rc = get_string(c, f[F_METRIC].val, "early_stop.metric",
				"val_loss", &s->early_stop.metric);
		if (rc)
			return rc;
		if (strpbrk(s->early_stop.metric, " \t\r\n="))
			return fail(c, f[F_METRIC].val, "early_stop.metric must "
				    "not contain spaces or '='");
		/* another metric than the ranked one: its own direction */
		if (!s->metric.name ||
		    strcmp(s->metric.name, s->early_stop.metric) != 0)
			s->early_stop.goal =
				strstr(s->early_stop.metric, "loss") ||
						strstr(s->early_stop.metric, "err")
					? -1
					: 1;
	}
	if (!s->early_stop.metric)
		return fail(c, n, "early_stop needs a metric: give metric: in "
			    "early_stop (e.g. metric: val_loss) or a metric: "
			    "section for the experiment");
	if (f[F_GOAL].val) {
		size_t g;

		rc = get_enum(c, f[F_GOAL].val, "early_stop.goal", goals, 2, &g);
		if (rc)
			return rc;
		s->early_stop.goal = g ? -1 : 1;
	}
	s->early_stop.min_step = 1;
	s->early_stop.reduction_factor = 3;
	s->early_stop.min_trials = 3;
	if (f[F_MIN].val && (rc = es_number(c, f[F_MIN].val,
					    "early_stop.min_step", 0,
					    &s->early_stop.min_step)))
		return rc;
	if (f[F_MAX].val) {
		if ((rc = es_number(c, f[F_MAX].val, "early_stop.max_step", 0,
				    &s->early_stop.max_step)))
			return rc;
		if (!(s->early_stop.max_step > s->early_stop.min_step))
			return fail(c, f[F_MAX].val, "early_stop.max_step must "
				    "be more than min_step (%g)",
				    s->early_stop.min_step);
	}
	if (f[F_RF].val) {
		if (s->early_stop.method == TC_ES_MEDIAN)
			return fail(c, f[F_RF].key, "early_stop.reduction_factor "
				    "is for asha and hyperband, not median");
		if ((rc = es_number(c, f[F_RF].val,
				    "early_stop.reduction_factor", 2,
				    &s->early_stop.reduction_factor)))
			return rc;
	}
	if (f[F_MINTR].val) {
		if (s->early_stop.method != TC_ES_MEDIAN)
			return fail(c, f[F_MINTR].key, "early_stop.min_trials "
				    "is for median, not %s", methods[m]);
		rc = get_int(c, f[F_MINTR].val, 1, INT_MAX,
			     "early_stop.min_trials must be an integer ≥ 1", &v);
		if (rc)
			return rc;
		s->early_stop.min_trials = (int)v;
	}
	if (s->early_stop.method == TC_ES_HYPERBAND && !f[F_MAX].val)
		return fail(c, n, "hyperband needs early_stop.max_step: the "
			    "step a trial that is never stopped reaches (e.g. "
			    "the number of epochs)");
	if (s->early_stop.method != TC_ES_MEDIAN &&
	    !(s->early_stop.min_step > 0))
		return fail(c, f[F_MIN].val, "%s needs early_stop.min_step > 0 "
			    "(its first rung)", methods[m]);
	return 0;
}

static int check_refs(struct ctx *c, const yaml_node_t *n);

/* A scalar with {{...}} in image, nodeSelector or resources: its
 * references checked now, the rendered text per trial when planned. */
static int placement_template(struct ctx *c, const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE ||
	    !strstr((const char *)n->data.scalar.value, "{{"))
		return 0;
	c->spec->placement_templates = 1;
	return check_refs(c, n) ? -1 : 1;
}

/* resources.cpu or .memory written with {{...}}: its text kept in *out
 * for each trial's rendering.  1 so, 0 when it is a plain quantity, -1 on
 * an error (c->err). */
static int resource_template(struct ctx *c, const yaml_node_t *x,
			     struct tc_str *out)
{
	int rc = placement_template(c, x);

	if (rc <= 0)
		return rc;
	out->text = tc_arena_strdup(c->arena, (const char *)x->data.scalar.value);
	if (!out->text) {
		nomem(c);
		return -1;
	}
	out->pos = node_pos(x);
	return 1;
}

static int get_bytes(struct ctx *c, const yaml_node_t *x, const char *what,
		     long long *out);

/* A byte quantity already read by get_bytes(): its text when written as a
 * string ("28.8Gi"), which Kubernetes reads as the same amount, so that
 * manifests say what the user wrote; NULL for a plain number. */
static const char *quantity_text(struct ctx *c, const yaml_node_t *x)
{
	struct tc_value v = {0};

	if (x->type != YAML_SCALAR_NODE || scalar_value(c, x, "", &v) != 0 ||
	    v.type != TC_V_STR)
		return NULL;
	return v.text;
}

static int parse_resources(struct ctx *c, const yaml_node_t *n)
{
	enum { F_CPU, F_MEM, F_GPU, F_EPH, F_N };
	struct field f[F_N] = {{"cpu", NULL, NULL}, {"memory", NULL, NULL},
			       {"gpu", NULL, NULL},
			       {"ephemeral-storage", NULL, NULL}};
	struct tc_spec *s = c->spec;
	struct tc_value v = {0};
	char d[64];
	long long g;
	int ok, rc;

	rc = expect_map(c, n, "resources", "{cpu: 1, memory: 2Gi, gpu: 0}",
			&ok);
	if (rc || !ok)
		return rc;
	s->resources.given = 1;
	rc = get_fields(c, n, "resources", f, F_N);
	if (rc)
		return rc;
	if (f[F_CPU].val && (rc = resource_template(c, f[F_CPU].val,
						    &s->resources.cpu_template))) {
		if (rc < 0)
			return c->err->code;
	} else if (f[F_CPU].val) {
		const yaml_node_t *x = f[F_CPU].val;
		const char *msg = "resources.cpu must be a number of cores or "
				  "a quantity such as 500m";

		if (x->type != YAML_SCALAR_NODE || is_null(x))
			return fail(c, x, "%s (got %s)", msg, describe(x, d));
		rc = scalar_value(c, x, "resources.cpu", &v);
		if (rc)
			return rc;
		if (v.type == TC_V_INT || v.type == TC_V_FLOAT) {
			if (!isfinite(v.f) || v.f < 0)
				return fail(c, x, "%s (got %s)", msg,
					    describe(x, d));
			s->resources.cpu = v.f;
		} else if (v.type != TC_V_STR ||
			   tc_parse_cpu(v.text, &s->resources.cpu) != 0) {
			return fail(c, x, "%s (got %s)", msg, describe(x, d));
		}
	}
	if (f[F_MEM].val &&
	    (rc = resource_template(c, f[F_MEM].val,
				    &s->resources.memory_template))) {
		if (rc < 0)
			return c->err->code;
	} else if (f[F_MEM].val) {
		const yaml_node_t *x = f[F_MEM].val;
		const char *msg = "resources.memory must be a quantity such as "
				  "2Gi, 512Mi, 1G or 500M, or a number of bytes";

		if (x->type != YAML_SCALAR_NODE || is_null(x))
			return fail(c, x, "%s (got %s)", msg, describe(x, d));
		rc = scalar_value(c, x, "resources.memory", &v);
		if (rc)
			return rc;
		if (v.type == TC_V_INT) {
			if (v.i < 0)
				return fail(c, x, "%s (got %s)", msg,
					    describe(x, d));
			s->resources.memory = v.i;
		} else if (v.type == TC_V_FLOAT) {
			if (!isfinite(v.f) || v.f < 0 ||
			    ceil(v.f) >= 9223372036854775808.0)
				return fail(c, x, "%s (got %s)", msg,
					    describe(x, d));
			s->resources.memory = (long long)ceil(v.f);
		} else if (v.type != TC_V_STR ||
			   tc_parse_bytes(v.text, &s->resources.memory) != 0) {
			return fail(c, x, "%s (got %s)", msg, describe(x, d));
		} else {
			s->resources.memory_text = v.text;
		}
	}
	if (f[F_EPH].val) {
		rc = get_bytes(c, f[F_EPH].val, "resources.ephemeral-storage",
			       &s->resources.ephemeral);
		if (rc)
			return rc;
		s->resources.ephemeral_text = quantity_text(c, f[F_EPH].val);
	}
	if (f[F_GPU].val) {
		rc = get_int(c, f[F_GPU].val, 0, INT_MAX,
			     "resources.gpu must be an integer ≥ 0", &g);
		if (rc)
			return rc;
		s->resources.gpu = (int)g;
	}
	return 0;
}

/* A duration: a number of seconds or a string like "1h30m". */
static int get_duration(struct ctx *c, const yaml_node_t *x, const char *what,
			double *out)
{
	struct tc_value v = {0};
	char d[64];
	int rc;

	if (x->type != YAML_SCALAR_NODE || is_null(x))
		return fail(c, x, "%s must be a duration such as 90s, 30m, 2h "
			    "or 1h30m, or a number of seconds (got %s)",
			    what, describe(x, d));
	rc = scalar_value(c, x, what, &v);
	if (rc)
		return rc;
	if ((v.type == TC_V_INT || v.type == TC_V_FLOAT) && isfinite(v.f) &&
	    v.f >= 0)
		*out = v.f;
	else if (v.type != TC_V_STR || tc_parse_duration(v.text, out) != 0)
		return fail(c, x, "%s must be a duration such as 90s, 30m, 2h "
			    "or 1h30m, or a number of seconds (got %s)",
			    what, describe(x, d));
	if (*out > TC_DURATION_MAX && !c->recorded)
		return fail(c, x, "%s is more than %d days (got %s): give a "
			    "shorter duration, or none",
			    what, (int)(TC_DURATION_MAX / 86400),
			    describe(x, d));
	return 0;
}

static int parse_run(struct ctx *c, const yaml_node_t *n)
{
	enum { F_PARALLEL, F_TIMEOUT, F_RETRIES, F_BACKOFF, F_MAXFAIL, F_N };
	struct field f[F_N] = {{"parallel", NULL, NULL},
			       {"timeout", NULL, NULL},
			       {"retries", NULL, NULL},
			       {"backoff", NULL, NULL},
			       {"max_failures", NULL, NULL}};
	struct tc_spec *s = c->spec;
	long long v;
	int ok, rc;

	rc = expect_map(c, n, "run", "{parallel: 2, timeout: 30m, retries: 1}",
			&ok);
	if (rc || !ok)
		return rc;
	rc = get_fields(c, n, "run", f, F_N);
	if (rc)
		return rc;
	if (f[F_PARALLEL].val) {
		rc = get_int(c, f[F_PARALLEL].val, 1, INT_MAX,
			     "run.parallel must be an integer ≥ 1", &v);
		if (rc)
			return rc;
		s->run.parallel = (int)v;
	}
	if (f[F_TIMEOUT].val) {
		rc = get_duration(c, f[F_TIMEOUT].val, "run.timeout",
				  &s->run.timeout);
		if (rc)
			return rc;
	}
	if (f[F_RETRIES].val) {
		rc = get_int(c, f[F_RETRIES].val, 0, INT_MAX,
			     "run.retries must be an integer ≥ 0", &v);
		if (rc)
			return rc;
		s->run.retries = (int)v;
	}
	if (f[F_BACKOFF].val) {
		rc = get_duration(c, f[F_BACKOFF].val, "run.backoff",
				  &s->run.backoff);
		if (rc)
			return rc;
	}
	if (f[F_MAXFAIL].val) {
		rc = get_int(c, f[F_MAXFAIL].val, 0, INT_MAX,
			     "run.max_failures must be an integer ≥ 0 (0: never "
			     "stop)",
			     &v);
		if (rc)
			return rc;
		s->run.max_failures = (int)v;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* kubernetes: YAML → JSON                                              */
/* ------------------------------------------------------------------ */

static const char *const k8s_keys[] = {
	"context",       "namespace",    "image",
	"imagePullSecrets", "serviceAccount", "gpuResource",
	"limits",        "volumes",      "shm",
	"nodeSelector",  "tolerations",  "affinity",
	"priorityClass", "queue",        "labels",
	"podTemplate",   "backoffLimit", "ttlSecondsAfterFinished",
	"envFrom",       "trialVolume",
};

/*
 * The section goes through util/yaml.h's converter, which bounds its size
 * and depth once aliases are expanded and refuses duplicate keys; these
 * hooks add the spec's rules: scalars typed as everywhere in a spec (and no
 * NUL, no infinity), keys that are names, and only the known keys at the
 * top.  A refusal is written to c->err and handed back as the converter's
 * failure (util/yaml keeps it for an alias to bring in).
 */
static void hook_fail(struct ctx *c, struct tc_yaml_fail *f)
{
	memset(f, 0, sizeof(*f));
	f->code = c->err && c->err->code == TC_ERR_NOMEM ? TC_YAML_NOMEM
							 : TC_YAML_HOOK;
	if (c->err) {
		f->line = c->err->line;
		f->col = c->err->col;
		snprintf(f->what, sizeof(f->what), "%s", c->err->msg);
	}
}

static json_t *k8s_scalar(void *ctx, const struct tc_yaml_scalar *s,
			  struct tc_yaml_fail *f)
{
	struct ctx *c = ctx;
	struct tc_pos p = {s->line, s->col};
	struct tc_value v = {0};
	json_t *j = NULL;
	char cb[48];

	if (memchr(s->text, '\0', s->len)) {
		fail_at(c, p, "a kubernetes value contains a NUL character");
		hook_fail(c, f);
		return NULL;
	}
	v.text = s->text;
	if (s->plain)
		type_plain(s->text, s->len, &v);
	else
		v.type = TC_V_STR;
	switch (v.type) {
	case TC_V_NULL:
		j = json_null();
		break;
	case TC_V_BOOL:
		j = json_boolean(v.b);
		break;
	case TC_V_INT:
		j = json_integer(v.i);
		break;
	case TC_V_FLOAT:
		if (!isfinite(v.f)) {
			fail_at(c, p, "kubernetes: '%s' is not a finite number; "
				"quote it if you mean a string",
				clip(s->text, cb));
			hook_fail(c, f);
			return NULL;
		}
		j = json_real(v.f);
		break;
	case TC_V_STR:
	case TC_V_ABSENT: /* (type_plain never gives it) */
		j = json_stringn(s->text, s->len);
		break;
	}
	if (!j) {
		nomem(c);
		hook_fail(c, f);
	}
	return j;
}

/* A key at depth (1: the section's own keys, which must be known ones). */
static int k8s_key(void *ctx, int depth, const struct tc_yaml_scalar *k,
		   struct tc_yaml_fail *f)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	struct ctx *c = ctx;
	struct tc_pos p = {k->line, k->col};
	size_t i, nk = sizeof(k8s_keys) / sizeof(k8s_keys[0]);

	for (i = 0; k->plain && i < 5; i++)
		if (strlen(nulls[i]) == k->len &&
		    !memcmp(k->text, nulls[i], k->len))
			break;
	if (k->plain && i < 5)
		fail_at(c, p, "empty key in kubernetes");
	else if (memchr(k->text, '\0', k->len))
		fail_at(c, p, "a key in kubernetes contains a NUL character");
	else if (depth != 1)
		return 0;
	else {
		for (i = 0; i < nk; i++)
			if (!strcmp(k->text, k8s_keys[i]))
				return 0;
		unknown_key_at(c, p, k->text, "kubernetes", k8s_keys, nk);
	}
	hook_fail(c, f);
	return -1;
}

/* The section (n) as JSON, or NULL with c->err set. */
static json_t *k8s_json(struct ctx *c, const yaml_node_t *n)
{
	const struct tc_yaml_opts o = {.max_depth = JSON_MAX_DEPTH,
				       .max_nodes = JSON_MAX_NODES,
				       .max_anchors = SPEC_MAX_ANCHORS,
				       .strict_keys = 1,
				       .node_index = (long)n->start_mark.index,
				       .scalar = k8s_scalar,
				       .key = k8s_key,
				       .ctx = c};
	struct tc_yaml_fail f;
	struct tc_pos p;
	json_t *j;
	char cb[48];

	switch (tc_yaml_to_json(c->text, c->len, &o, &j, &f)) {
	case TC_YAML_OK:
		if (j)
			return j;
		fail(c, n, "internal error: the kubernetes section was not "
		     "found again");
		return NULL;
	case TC_YAML_NOMEM:
		nomem(c);
		return NULL;
	default:
		break;
	}
	p.line = f.line;
	p.col = f.col;
	switch (f.code) {
	case TC_YAML_DEPTH:
	case TC_YAML_SELF:
		fail_at(c, p, "kubernetes: nested deeper than %d levels (or an "
			"alias that refers to itself)", JSON_MAX_DEPTH);
		break;
	case TC_YAML_NODES:
		fail_at(c, p, "kubernetes: more than %d values once aliases are "
			"expanded", JSON_MAX_NODES);
		break;
	case TC_YAML_KEY:
		fail_at(c, p, "keys in kubernetes must be names, not a %s",
			f.what[0] ? f.what : "value");
		break;
	case TC_YAML_DUPLICATE:
		fail_at(c, p, "duplicate key '%s' in kubernetes",
			clip(f.what, cb));
		break;
	case TC_YAML_HOOK:
		fail_at(c, p, "%s", f.what);
		break;
	default: /* the prescan and the composer read this text already */
		fail_at(c, p, "internal error: the kubernetes section: %s",
			f.what);
		break;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* kubernetes: the types and shapes of its keys                         */
/* ------------------------------------------------------------------ */

/*
 * After the section has been converted to JSON (which bounded its size and
 * depth and refused unknown top-level keys and duplicates), each known key
 * is checked on the YAML nodes, so every error has the position of the
 * value at fault, and stored in struct tc_kspec (k8s/kspec.h) with that
 * position.  Label, node-selector and toleration values are kept as the
 * text written (YAML types "true" and 8; Kubernetes wants strings there).
 * A null value means the key is not given, except where a single value is
 * expected (image: with nothing after it is an error, not a default).
 */

#define K8S_MAX_VOLUMES 100
#define K8S_NAME_HINT "at most 63 characters of a-z, 0-9 and '-', starting " \
		      "and ending with a letter or digit"

/* The value node of key in the mapping n (keys already checked), else
 * NULL; *k gets the key node. */
static yaml_node_t *map_get(struct ctx *c, const yaml_node_t *n,
			    const char *key, yaml_node_t **k)
{
	yaml_node_pair_t *pair;

	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = node_at(c, pair->key);

		if (kn && kn->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)kn->data.scalar.value, key) == 0) {
			if (k)
				*k = kn;
			return node_at(c, pair->value);
		}
	}
	return NULL;
}

/* A string that must be a Kubernetes name: a DNS-1123 label (label != 0)
 * or subdomain. */
static int get_k8s_name(struct ctx *c, const yaml_node_t *n, const char *what,
			int label, const char *example, const char **out)
{
	const char *s = NULL;
	char cb[48];
	int rc = get_string(c, n, what, example, &s);

	if (rc)
		return rc;
	if (label ? !tc_k8s_is_dns_label(s) : !tc_k8s_is_dns_subdomain(s))
		return fail(c, n, "%s '%s' is not a valid Kubernetes name: %s",
			    what, clip(s, cb),
			    label ? K8S_NAME_HINT
				  : "at most 253 characters of a-z, 0-9, '-' "
				    "and '.', each dot-separated part starting "
				    "and ending with a letter or digit");
	if (out)
		*out = s;
	return 0;
}

static int get_bool(struct ctx *c, const yaml_node_t *n, const char *what,
		    int *out)
{
	struct tc_value v = {0};
	char d[64];
	int rc;

	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, "%s must be true or false (got %s)", what,
			    describe(n, d));
	rc = scalar_value(c, n, what, &v);
	if (rc)
		return rc;
	if (v.type != TC_V_BOOL)
		return fail(c, n, "%s must be true or false (got %s)", what,
			    describe(n, d));
	*out = v.b;
	return 0;
}

/* A CPU quantity: a number of cores or a string such as "500m". */
static int get_cores(struct ctx *c, const yaml_node_t *x, const char *what,
		     double *out)
{
	struct tc_value v = {0};
	char d[64];
	int rc;

	if (x->type != YAML_SCALAR_NODE || is_null(x))
		goto bad;
	rc = scalar_value(c, x, what, &v);
	if (rc)
		return rc;
	if (v.type == TC_V_INT || v.type == TC_V_FLOAT) {
		if (isfinite(v.f) && v.f >= 0) {
			*out = v.f;
			return 0;
		}
	} else if (v.type == TC_V_STR && tc_parse_cpu(v.text, out) == 0) {
		return 0;
	}
bad:
	return fail(c, x, "%s must be a number of cores or a quantity such as "
		    "500m (got %s)", what, describe(x, d));
}

/* A byte quantity: a number of bytes or a string such as "8Gi". */
static int get_bytes(struct ctx *c, const yaml_node_t *x, const char *what,
		     long long *out)
{
	struct tc_value v = {0};
	char d[64];
	int rc;

	if (x->type != YAML_SCALAR_NODE || is_null(x))
		goto bad;
	rc = scalar_value(c, x, what, &v);
	if (rc)
		return rc;
	if (v.type == TC_V_INT && v.i >= 0) {
		*out = v.i;
		return 0;
	}
	if (v.type == TC_V_FLOAT && isfinite(v.f) && v.f >= 0 &&
	    ceil(v.f) < 9223372036854775808.0) {
		*out = (long long)ceil(v.f);
		return 0;
	}
	if (v.type == TC_V_STR && tc_parse_bytes(v.text, out) == 0)
		return 0;
bad:
	return fail(c, x, "%s must be a quantity such as 8Gi, 512Mi or 1G, or "
		    "a number of bytes (got %s)", what, describe(x, d));
}

/* A scalar that Kubernetes wants as a string (label and selector values):
 * its text as written ("true", "8"), copied to the arena.  Null is
 * refused. */
static int k8s_text(struct ctx *c, const yaml_node_t *v, const char *what,
		    const char **out)
{
	char d[64];
	int rc;

	if (v->type != YAML_SCALAR_NODE)
		return fail(c, v, "%s must be a single value, not %s", what,
			    describe(v, d));
	if (is_null(v))
		return fail(c, v, "%s has no value; write \"\" for an empty "
			    "one", what);
	rc = check_nul(c, v, what);
	if (rc)
		return rc;
	*out = tc_arena_strndup(c->arena, (const char *)v->data.scalar.value,
				v->data.scalar.length);
	return *out ? 0 : nomem(c);
}

/* labels: (labels != 0) or nodeSelector: label keys to label values. */
static int check_label_map(struct ctx *c, const yaml_node_t *n,
			   const char *what, int labels,
			   struct tc_klabel **out, size_t *nout)
{
	yaml_node_pair_t *pair;
	struct tc_klabel *l;
	int ok, rc;

	rc = expect_map(c, n, what, labels ? "{project: sentinel}"
					: "{nvidia.com/gpu.product: A100}",
		     &ok);
	if (rc || !ok)
		return rc;
	*out = l = tc_arena_calloc(c->arena,
				   (size_t)(n->data.mapping.pairs.top -
					    n->data.mapping.pairs.start) + 1,
				   sizeof(*l));
	if (!l)
		return nomem(c);
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);
		const char *key = (const char *)k->data.scalar.value, *val;
		char w[128], cb[48], cb2[48];

		if (!tc_k8s_is_label_key(key, 0))
			return fail(c, k, "%s: '%s' is not a valid label key: "
				    "an optional DNS prefix and '/', then at "
				    "most 63 characters of letters, digits, "
				    "'-', '_' and '.', starting and ending "
				    "with a letter or digit",
				    what, clip(key, cb));
		if (labels && strncmp(key, "trainctl.io/", 12) == 0)
			return fail(c, k, "%s: %s is set by trainctl; choose "
				    "another key", what, clip(key, cb));
		if (labels && strcmp(key, "kueue.x-k8s.io/queue-name") == 0)
			return fail(c, k, "%s: set the Kueue queue with "
				    "kubernetes.queue instead", what);
		snprintf(w, sizeof(w), "%s.%s", what, clip(key, cb));
		rc = k8s_text(c, v, w, &val);
		if (rc)
			return rc;
		if (!labels && (rc = placement_template(c, v)) < 0)
			return c->err->code;
		if (!(!labels && rc == 1) && !tc_k8s_is_label_value(val))
			return fail(c, v, "%s: '%s' is not a valid label value: "
				    "at most 63 characters of letters, digits, "
				    "'-', '_' and '.', starting and ending "
				    "with a letter or digit",
				    w, clip(val, cb2));
		l[*nout].key = tc_arena_strdup(c->arena, key);
		l[*nout].value = val;
		l[*nout].pos = node_pos(k);
		if (!l[(*nout)++].key)
			return nomem(c);
	}
	return 0;
}

static int check_k8s_limits(struct ctx *c, const yaml_node_t *n,
			    const char *gpu_res)
{
	const struct tc_spec *s = c->spec;
	struct tc_kspec *ks = c->spec->k8s;
	const char *names[5] = {"cpu", "memory", "gpu", "ephemeral-storage",
				gpu_res};
	yaml_node_pair_t *pair;
	const yaml_node_t *gpu_key = NULL;
	int ok, rc;

	rc = expect_map(c, n, "kubernetes.limits", "{cpu: 4.8, memory: 30Gi}",
		     &ok);
	if (rc || !ok)
		return rc;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);
		const char *key = (const char *)k->data.scalar.value;
		char w[300];
		size_t i;

		for (i = 0; i < 5; i++)
			if (strcmp(key, names[i]) == 0)
				break;
		if (i == 5)
			return unknown_key(c, k, key, "kubernetes.limits", names,
					   5);
		snprintf(w, sizeof(w), "kubernetes.limits.%s", key);
		if (i == 0) {
			double cores = 0;

			rc = get_cores(c, v, w, &cores);
			if (rc)
				return rc;
			if (cores < s->resources.cpu)
				return fail(c, v, "%s (%g) is below "
					    "resources.cpu (%g): a limit must be "
					    "at least the request",
					    w, cores, s->resources.cpu);
			ks->limits.cpu = cores;
		} else if (i == 1) {
			long long bytes = 0;

			rc = get_bytes(c, v, w, &bytes);
			if (rc)
				return rc;
			if (bytes < s->resources.memory)
				return fail(c, v, "%s (%lld bytes) is below "
					    "resources.memory (%lld bytes): a "
					    "limit must be at least the request",
					    w, bytes, s->resources.memory);
			ks->limits.memory = bytes;
			ks->limit_memory_text = quantity_text(c, v);
		} else if (i == 3) {
			long long bytes = 0;

			rc = get_bytes(c, v, w, &bytes);
			if (rc)
				return rc;
			if (bytes < s->resources.ephemeral)
				return fail(c, v, "%s (%lld bytes) is below "
					    "resources.ephemeral-storage (%lld "
					    "bytes): a limit must be at least "
					    "the request",
					    w, bytes, s->resources.ephemeral);
			ks->limit_ephemeral = bytes;
			ks->limit_ephemeral_text = quantity_text(c, v);
		} else {
			long long g;
			char msg[400];

			if (gpu_key)
				return fail(c, k, "kubernetes.limits gives the "
					    "GPU limit twice (as %s and as %s)",
					    (const char *)gpu_key->data.scalar
						    .value,
					    key);
			gpu_key = k;
			snprintf(msg, sizeof(msg), "%s must be an integer ≥ 0",
				 w);
			rc = get_int(c, v, 0, INT_MAX, msg, &g);
			if (rc)
				return rc;
			if (g != s->resources.gpu)
				return fail(c, v, "%s (%lld) must equal "
					    "resources.gpu (%d): Kubernetes "
					    "does not overcommit GPUs; set "
					    "resources.gpu instead",
					    w, g, s->resources.gpu);
			ks->limits.gpu = (int)g;
		}
	}
	return 0;
}

/* A path inside the container for a volume. */
static int get_mount_path(struct ctx *c, const yaml_node_t *n,
			  const char *what, const char **out)
{
	char cb[48];
	int rc = get_string(c, n, what, "/data", out);

	if (rc)
		return rc;
	if ((*out)[0] != '/')
		return fail(c, n, "%s must be an absolute path such as /data "
			    "(got '%s')", what, clip(*out, cb));
	return 0;
}

/* Whether path (normalised of trailing '/') is p. */
static int same_path(const char *path, const char *p)
{
	size_t n = strlen(path), m = strlen(p);

	while (n > 1 && path[n - 1] == '/')
		n--;
	return n == m && memcmp(path, p, n) == 0;
}

static int check_k8s_nfs(struct ctx *c, const yaml_node_t *n, const char *w,
			 struct tc_kvolume *vol)
{
	enum { F_SERVER, F_PATH, F_RO, F_N };
	struct field f[F_N] = {{"server", NULL, NULL}, {"path", NULL, NULL},
			       {"readOnly", NULL, NULL}};
	char what[96], d[64];
	const char *s;
	int rc;

	snprintf(what, sizeof(what), "%s.nfs", w);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "%s must be a mapping such as {server: "
			    "nfs.lab.example, path: /export} (got %s)",
			    what, describe(n, d));
	rc = get_fields(c, n, what, f, F_N);
	if (rc)
		return rc;
	if (!f[F_SERVER].val || !f[F_PATH].val)
		return fail(c, n, "%s needs server: and path:, e.g. {server: "
			    "nfs.lab.example, path: /export}", what);
	snprintf(what, sizeof(what), "%s.nfs.server", w);
	rc = get_string(c, f[F_SERVER].val, what, "nfs.lab.example", &s);
	if (rc)
		return rc;
	vol->nfs_server = s;
	snprintf(what, sizeof(what), "%s.nfs.path", w);
	rc = get_mount_path(c, f[F_PATH].val, what, &s);
	if (rc)
		return rc;
	vol->nfs_path = s;
	if (f[F_RO].val) {
		snprintf(what, sizeof(what), "%s.nfs.readOnly", w);
		rc = get_bool(c, f[F_RO].val, what, &vol->nfs_read_only);
	}
	return rc;
}

/* emptyDir: {} or {medium: Memory, sizeLimit: 20Gi}; null means {}. */
static int check_k8s_empty_dir(struct ctx *c, const yaml_node_t *n,
			       const char *w, struct tc_kvolume *vol)
{
	enum { F_MEDIUM, F_SIZE, F_N };
	struct field f[F_N] = {{"medium", NULL, NULL}, {"sizeLimit", NULL, NULL}};
	static const char *const media[] = {"", "Memory"};
	char what[96], d[64];
	long long bytes = 0;
	int rc;

	vol->empty_dir = 1;
	if (is_null(n))
		return 0;
	snprintf(what, sizeof(what), "%s.emptyDir", w);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "%s must be a mapping such as {sizeLimit: "
			    "20Gi} or {medium: Memory} (got %s)",
			    what, describe(n, d));
	rc = get_fields(c, n, what, f, F_N);
	if (rc)
		return rc;
	if (f[F_MEDIUM].val) {
		struct tc_value v = {0};

		snprintf(what, sizeof(what), "%s.emptyDir.medium", w);
		rc = get_scalar(c, f[F_MEDIUM].val, what, &v);
		if (rc)
			return rc;
		if (strcmp(v.text, media[0]) && strcmp(v.text, media[1]))
			return fail(c, f[F_MEDIUM].val, "%s must be \"\" (the "
				    "node's disk) or Memory (a tmpfs)", what);
		vol->medium = v.text;
	}
	if (f[F_SIZE].val) {
		snprintf(what, sizeof(what), "%s.emptyDir.sizeLimit", w);
		rc = get_bytes(c, f[F_SIZE].val, what, &bytes);
		if (rc)
			return rc;
		if (bytes <= 0)
			return fail(c, f[F_SIZE].val, "%s must be more than 0 "
				    "bytes", what);
		vol->size_limit = quantity_text(c, f[F_SIZE].val);
		if (!vol->size_limit) {
			char buf[32];

			snprintf(buf, sizeof(buf), "%lld", bytes);
			vol->size_limit = tc_arena_strdup(c->arena, buf);
			if (!vol->size_limit)
				return nomem(c);
		}
	}
	return 0;
}

static int check_k8s_volume(struct ctx *c, const yaml_node_t *n, size_t idx,
			    const char **names, const char **paths, int shm,
			    struct tc_kvolume *vol)
{
	enum { F_NAME, F_CLAIM, F_NFS, F_EMPTY, F_SECRET, F_CM, F_MOUNT, F_RO,
	       F_SUBPATH, F_N };
	struct field f[F_N] = {{"name", NULL, NULL},     {"claim", NULL, NULL},
			       {"nfs", NULL, NULL},      {"emptyDir", NULL, NULL},
			       {"secret", NULL, NULL},   {"configMap", NULL, NULL},
			       {"mountPath", NULL, NULL},
			       {"readOnly", NULL, NULL}, {"subPath", NULL, NULL}};
	const yaml_node_t *src = NULL;
	static const char *const reserved[] = {"dshm", "trainctl-trial",
					       "trainctl-params"};
	char w[48], what[96], d[64], cb[48];
	const char *s;
	int rc;

	snprintf(w, sizeof(w), "kubernetes.volumes[%zu]", idx);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "%s must be a mapping such as {name: data, "
			    "claim: my-pvc, mountPath: /data} (got %s)",
			    w, describe(n, d));
	rc = get_fields(c, n, w, f, F_N);
	if (rc)
		return rc;
	if (!f[F_NAME].val)
		return fail(c, n, "%s needs a name: (a-z, 0-9 and '-')", w);
	snprintf(what, sizeof(what), "%s.name", w);
	rc = get_k8s_name(c, f[F_NAME].val, what, 1, "data", &s);
	if (rc)
		return rc;
	for (size_t i = 0; i < 3; i++)
		if (strcmp(s, reserved[i]) == 0)
			return fail(c, f[F_NAME].val, "%s: the volume name '%s' "
				    "is used by trainctl; choose another",
				    what, s);
	for (size_t i = 0; i < idx; i++)
		if (strcmp(s, names[i]) == 0)
			return fail(c, f[F_NAME].val, "%s: two volumes are "
				    "named '%s'", what, s);
	names[idx] = vol->name = s;
	vol->pos = node_pos(n);

	if (!f[F_MOUNT].val)
		return fail(c, n, "%s needs a mountPath: (where it appears in "
			    "the container, e.g. /data)", w);
	snprintf(what, sizeof(what), "%s.mountPath", w);
	rc = get_mount_path(c, f[F_MOUNT].val, what, &s);
	if (rc)
		return rc;
	if (same_path(s, "/trainctl/trial") || same_path(s, "/etc/trainctl") ||
	    (shm && same_path(s, "/dev/shm")))
		return fail(c, f[F_MOUNT].val, "%s: %s is used by trainctl%s; "
			    "choose another path", what, clip(s, cb),
			    same_path(s, "/dev/shm") ? " (kubernetes.shm)"
						     : "");
	for (size_t i = 0; i < idx; i++)
		if (same_path(s, paths[i]))
			return fail(c, f[F_MOUNT].val, "%s: two volumes are "
				    "mounted at %s", what, clip(s, cb));
	paths[idx] = vol->mount_path = s;

	for (size_t i = F_CLAIM; i <= F_CM; i++) {
		if (!f[i].key)
			continue;
		/* the later of two sources is the one to remove */
		if (src)
			return fail(c, f[i].key, "%s: give one of claim, nfs, "
				    "emptyDir, secret and configMap, not two",
				    w);
		src = f[i].key;
	}
	if (f[F_CLAIM].val) {
		snprintf(what, sizeof(what), "%s.claim", w);
		rc = get_k8s_name(c, f[F_CLAIM].val, what, 0, "my-pvc",
				  &vol->claim);
	} else if (f[F_NFS].val) {
		rc = check_k8s_nfs(c, f[F_NFS].val, w, vol);
	} else if (f[F_EMPTY].val) {
		rc = check_k8s_empty_dir(c, f[F_EMPTY].val, w, vol);
	} else if (f[F_SECRET].val) {
		snprintf(what, sizeof(what), "%s.secret", w);
		rc = get_k8s_name(c, f[F_SECRET].val, what, 0, "wandb",
				  &vol->secret);
	} else if (f[F_CM].val) {
		snprintf(what, sizeof(what), "%s.configMap", w);
		rc = get_k8s_name(c, f[F_CM].val, what, 0, "settings",
				  &vol->config_map);
	} else {
		return fail(c, n, "%s needs one of claim: (a "
			    "PersistentVolumeClaim's name), nfs: {server, "
			    "path}, emptyDir: {}, secret: NAME or configMap: "
			    "NAME", w);
	}
	if (rc)
		return rc;
	if (f[F_RO].val) {
		snprintf(what, sizeof(what), "%s.readOnly", w);
		rc = get_bool(c, f[F_RO].val, what, &vol->read_only);
		if (rc)
			return rc;
	}
	if (f[F_SUBPATH].val) {
		const char *p;

		snprintf(what, sizeof(what), "%s.subPath", w);
		rc = get_string(c, f[F_SUBPATH].val, what, "run-1", &s);
		if (rc)
			return rc;
		if (s[0] == '/')
			return fail(c, f[F_SUBPATH].val, "%s must be a relative "
				    "path inside the volume (got '%s')",
				    what, clip(s, cb));
		for (p = s; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
			if (p[0] == '.' && p[1] == '.' &&
			    (p[2] == '/' || p[2] == '\0'))
				return fail(c, f[F_SUBPATH].val, "%s must not "
					    "contain '..' (got '%s')",
					    what, clip(s, cb));
		vol->sub_path = s;
	}
	return 0;
}

static int check_k8s_volumes(struct ctx *c, const yaml_node_t *n, int shm)
{
	const char *names[K8S_MAX_VOLUMES], *paths[K8S_MAX_VOLUMES];
	struct tc_kspec *ks = c->spec->k8s;
	yaml_node_item_t *it;
	size_t i = 0;
	int ok, rc;

	rc = expect_list(c, n, "kubernetes.volumes",
		      "[{name: data, claim: my-pvc, mountPath: /data}]", &ok);
	if (rc || !ok)
		return rc;
	if (n->data.sequence.items.top - n->data.sequence.items.start >
	    K8S_MAX_VOLUMES)
		return fail(c, n, "kubernetes.volumes: more than %d volumes",
			    K8S_MAX_VOLUMES);
	ks->volumes = tc_arena_calloc(
		c->arena,
		(size_t)(n->data.sequence.items.top -
			 n->data.sequence.items.start) + 1,
		sizeof(*ks->volumes));
	if (!ks->volumes)
		return nomem(c);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		rc = check_k8s_volume(c, node_at(c, *it), i, names, paths, shm,
				      &ks->volumes[i]);
		if (rc)
			return rc;
		ks->nvolumes = i + 1;
	}
	return 0;
}

static int check_k8s_tolerations(struct ctx *c, const yaml_node_t *n)
{
	enum { F_KEY, F_OP, F_VALUE, F_EFFECT, F_SECONDS, F_N };
	static const char *const ops[] = {"Exists", "Equal"};
	static const char *const effects[] = {"NoSchedule", "PreferNoSchedule",
					      "NoExecute"};
	struct tc_kspec *ks = c->spec->k8s;
	yaml_node_item_t *it;
	size_t i = 0;
	int ok, rc;

	rc = expect_list(c, n, "kubernetes.tolerations",
		      "[{key: lab/reserved, operator: Exists, effect: "
		      "NoSchedule}]",
		      &ok);
	if (rc || !ok)
		return rc;
	ks->tolerations = tc_arena_calloc(
		c->arena,
		(size_t)(n->data.sequence.items.top -
			 n->data.sequence.items.start) + 1,
		sizeof(*ks->tolerations));
	if (!ks->tolerations)
		return nomem(c);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		struct tc_ktoleration *t = &ks->tolerations[i];
		struct field f[F_N] = {{"key", NULL, NULL},
				       {"operator", NULL, NULL},
				       {"value", NULL, NULL},
				       {"effect", NULL, NULL},
				       {"tolerationSeconds", NULL, NULL}};
		yaml_node_t *e = node_at(c, *it);
		char w[64], what[128], d[64];
		const char *s;
		size_t idx;
		long long secs;

		snprintf(w, sizeof(w), "kubernetes.tolerations[%zu]", i);
		if (e->type != YAML_MAPPING_NODE)
			return fail(c, e, "%s must be a mapping such as {key: "
				    "lab/reserved, operator: Exists} (got %s)",
				    w, describe(e, d));
		rc = get_fields(c, e, w, f, F_N);
		if (rc)
			return rc;
		t->pos = node_pos(e);
		if (f[F_KEY].val) {
			snprintf(what, sizeof(what), "%s.key", w);
			rc = get_string(c, f[F_KEY].val, what, "lab/reserved",
					&s);
			if (rc)
				return rc;
			t->key = s;
		}
		if (f[F_OP].val) {
			snprintf(what, sizeof(what), "%s.operator", w);
			rc = get_enum(c, f[F_OP].val, what, ops, 2, &idx);
			if (rc)
				return rc;
			t->op = ops[idx];
		}
		if (f[F_VALUE].val) {
			snprintf(what, sizeof(what), "%s.value", w);
			rc = k8s_text(c, f[F_VALUE].val, what, &t->value);
			if (rc)
				return rc;
		}
		if (f[F_EFFECT].val) {
			snprintf(what, sizeof(what), "%s.effect", w);
			rc = get_enum(c, f[F_EFFECT].val, what, effects, 3,
				      &idx);
			if (rc)
				return rc;
			t->effect = effects[idx];
		}
		if (f[F_SECONDS].val) {
			snprintf(what, sizeof(what),
				 "%s.tolerationSeconds must be an integer", w);
			rc = get_int(c, f[F_SECONDS].val, LLONG_MIN, LLONG_MAX,
				     what, &secs);
			if (rc)
				return rc;
			t->seconds = secs;
			t->has_seconds = 1;
		}
		ks->ntolerations = i + 1;
	}
	return 0;
}

/* A mapping whose keys are one of names (its values are free-form
 * mappings, passed to Kubernetes as written). */
static int check_k8s_object(struct ctx *c, const yaml_node_t *n,
			    const char *what, const char *example,
			    const char *const *names, size_t nnames)
{
	struct field f[4];
	char w[96], d[64];
	int ok, rc;

	rc = expect_map(c, n, what, example, &ok);
	if (rc || !ok)
		return rc;
	for (size_t i = 0; i < nnames; i++)
		f[i].name = names[i];
	rc = get_fields(c, n, what, f, nnames);
	if (rc)
		return rc;
	for (size_t i = 0; i < nnames; i++) {
		if (!f[i].val || is_null(f[i].val) ||
		    f[i].val->type == YAML_MAPPING_NODE)
			continue;
		snprintf(w, sizeof(w), "%s.%s", what, names[i]);
		return fail(c, f[i].val, "%s must be a mapping (got %s)", w,
			    describe(f[i].val, d));
	}
	return 0;
}

/* kubernetes.envFrom: [{secretRef: NAME}, {configMapRef: NAME}]. */
static int check_k8s_env_from(struct ctx *c, const yaml_node_t *n)
{
	static const char *const kinds[] = {"secretRef", "configMapRef"};
	struct tc_kspec *ks = c->spec->k8s;
	yaml_node_item_t *it;
	size_t i = 0, count;
	char w[64], d[64];
	int ok, rc;

	rc = expect_list(c, n, "kubernetes.envFrom", "[{secretRef: wandb}]",
			 &ok);
	if (rc || !ok)
		return rc;
	count = (size_t)(n->data.sequence.items.top -
			 n->data.sequence.items.start);
	ks->env_from = tc_arena_calloc(c->arena, count + 1,
				       sizeof(*ks->env_from));
	if (!ks->env_from)
		return nomem(c);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *e = node_at(c, *it), *k, *v;
		struct tc_kenv_from *ef = &ks->env_from[i];
		const char *key = NULL;
		size_t kind;

		snprintf(w, sizeof(w), "kubernetes.envFrom[%zu]", i);
		if (e->type != YAML_MAPPING_NODE ||
		    e->data.mapping.pairs.top - e->data.mapping.pairs.start != 1)
			return fail(c, e, "%s must be {secretRef: NAME} or "
				    "{configMapRef: NAME} (got %s)",
				    w, describe(e, d));
		k = node_at(c, e->data.mapping.pairs.start->key);
		v = node_at(c, e->data.mapping.pairs.start->value);
		rc = key_text(c, k, w, &key);
		if (rc)
			return rc;
		for (kind = 0; kind < 2; kind++)
			if (strcmp(key, kinds[kind]) == 0)
				break;
		if (kind == 2)
			return unknown_key(c, k, key, w, kinds, 2);
		snprintf(w + strlen(w), sizeof(w) - strlen(w), ".%s", key);
		rc = get_k8s_name(c, v, w, 0, "wandb", &ef->name);
		if (rc)
			return rc;
		ef->secret = kind == 0;
		ef->pos = node_pos(e);
		ks->nenv_from = i + 1;
	}
	return 0;
}

/* kubernetes.trialVolume: {claim: NAME, subPath: PREFIX}. */
static int check_k8s_trial_volume(struct ctx *c, const yaml_node_t *k,
				  const yaml_node_t *n)
{
	enum { F_CLAIM, F_SUB, F_N };
	struct field f[F_N] = {{"claim", NULL, NULL}, {"subPath", NULL, NULL}};
	struct tc_kspec *ks = c->spec->k8s;
	const char *w = "kubernetes.trialVolume";
	char cb[48];
	const char *s;
	int ok, rc;

	rc = expect_map(c, n, w, "{claim: checkpoints, subPath: trials}", &ok);
	if (rc || !ok)
		return rc;
	rc = get_fields(c, n, w, f, F_N);
	if (rc)
		return rc;
	if (!f[F_CLAIM].val)
		return fail(c, n, "%s needs claim: (the PersistentVolumeClaim "
			    "trial directories live on), e.g. {claim: "
			    "checkpoints, subPath: trials}", w);
	rc = get_k8s_name(c, f[F_CLAIM].val, "kubernetes.trialVolume.claim", 0,
			  "checkpoints", &ks->trial_volume.claim);
	if (rc)
		return rc;
	if (f[F_SUB].val && !is_null(f[F_SUB].val)) {
		rc = get_string(c, f[F_SUB].val, "kubernetes.trialVolume.subPath",
				"trials", &s);
		if (rc)
			return rc;
		if (s[0] == '/')
			return fail(c, f[F_SUB].val, "%s.subPath must be a "
				    "relative path inside the claim (got '%s')",
				    w, clip(s, cb));
		for (const char *p = s; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
			if (p[0] == '.' && p[1] == '.' &&
			    (p[2] == '/' || p[2] == '\0'))
				return fail(c, f[F_SUB].val, "%s.subPath must not "
					    "contain '..' (got '%s')",
					    w, clip(s, cb));
		ks->trial_volume.sub_path = s;
	}
	ks->trial_volume.pos = node_pos(k);
	return 0;
}

/*
 * kubernetes.podTemplate is merged into the pod the way a strategic merge
 * patch is (k8s/manifest.h, tc_k8s_merge_template): containers,
 * initContainers and volumes by name, a container's env by name and
 * volumeMounts by mountPath.  What a merge can still take away from
 * trainctl's own container, volumes and mounts is refused here, at the
 * patch's position: a null for one of those lists or for the container's
 * image, command, env or volumeMounts, an entry with no name to merge by,
 * a mount of another volume at one of trainctl's paths, a null inside one
 * of trainctl's volumes, and the $patch directives.
 */
static int own_volume(const struct tc_kspec *ks, const char *name)
{
	if (!strcmp(name, "trainctl-trial") || !strcmp(name, "trainctl-params") ||
	    (ks->shm > 0 && !strcmp(name, "dshm")))
		return 1;
	for (size_t i = 0; i < ks->nvolumes; i++)
		if (!strcmp(name, ks->volumes[i].name))
			return 1;
	return 0;
}

/* The volume trainctl mounts at path, or NULL. */
static const char *own_mount(const struct tc_kspec *ks, const char *path)
{
	if (same_path(path, "/trainctl/trial"))
		return "trainctl-trial";
	if (same_path(path, "/etc/trainctl"))
		return "trainctl-params";
	if (ks->shm > 0 && same_path(path, "/dev/shm"))
		return "dshm";
	for (size_t i = 0; i < ks->nvolumes; i++)
		if (same_path(path, ks->volumes[i].mount_path))
			return ks->volumes[i].name;
	return NULL;
}

/* The text of the scalar under key in the mapping n, or NULL. */
static const char *entry_text(struct ctx *c, const yaml_node_t *n,
			      const char *key)
{
	yaml_node_pair_t *pair;

	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);

		if (k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key) &&
		    !is_null(v))
			return (const char *)v->data.scalar.value;
	}
	return NULL;
}

/* The entries of a list merged by merge_key: each a mapping naming itself,
 * no directives.  own != 0: a null list takes trainctl's away. */
static int check_merge_list(struct ctx *c, const yaml_node_t *k,
			    const yaml_node_t *n, const char *w,
			    const char *merge_key, const char *own)
{
	yaml_node_item_t *it;
	char d[64];
	size_t i = 0;

	if (is_null(n)) {
		if (own)
			return fail(c, k, "%s: null would remove %s", w, own);
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "%s must be a list (got %s)", w, describe(n, d));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		yaml_node_t *e = node_at(c, *it);
		yaml_node_pair_t *pair;

		if (e->type != YAML_MAPPING_NODE || !entry_text(c, e, merge_key))
			return fail(c, e, "%s[%zu] needs %s: (entries are "
				    "merged with the pod's by %s)",
				    w, i, merge_key, merge_key);
		for (pair = e->data.mapping.pairs.start;
		     pair < e->data.mapping.pairs.top; pair++) {
			yaml_node_t *ek = node_at(c, pair->key);

			if (ek->type == YAML_SCALAR_NODE &&
			    ek->data.scalar.value[0] == '$')
				return fail(c, ek, "%s[%zu]: %s is not "
					    "supported; entries are merged by "
					    "%s, and trainctl's own cannot be "
					    "removed",
					    w, i, (const char *)ek->data.scalar.value,
					    merge_key);
		}
	}
	return 0;
}

static int check_template_container(struct ctx *c, const yaml_node_t *e,
				    const char *w, int own)
{
	static const char *const kept[] = {"image", "command", "env",
					   "volumeMounts"};
	const struct tc_kspec *ks = c->spec->k8s;
	yaml_node_pair_t *pair;
	char what[160];
	int rc;

	for (pair = e->data.mapping.pairs.start;
	     pair < e->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);
		const char *key = (const char *)k->data.scalar.value;

		snprintf(what, sizeof(what), "%s.%s", w, key);
		if (own && is_null(v))
			for (size_t i = 0; i < 4; i++)
				if (!strcmp(key, kept[i]))
					return fail(c, k, "%s: null would "
						    "remove trainctl's %s from "
						    "the trial container",
						    what, key);
		if (!strcmp(key, "env")) {
			rc = check_merge_list(c, k, v, what, "name", NULL);
			if (rc)
				return rc;
		} else if (!strcmp(key, "volumeMounts")) {
			yaml_node_item_t *it;
			size_t i = 0;

			rc = check_merge_list(c, k, v, what, "mountPath", NULL);
			if (rc)
				return rc;
			if (!own || v->type != YAML_SEQUENCE_NODE)
				continue;
			for (it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++, i++) {
				yaml_node_t *m = node_at(c, *it);
				const char *path = entry_text(c, m, "mountPath");
				const char *name = entry_text(c, m, "name");
				const char *mine = own_mount(ks, path);

				if (mine && (!name || strcmp(name, mine)))
					return fail(c, m, "%s[%zu]: %s is "
						    "where trainctl mounts "
						    "volume %s; mount this "
						    "one elsewhere",
						    what, i, path, mine);
			}
		}
	}
	return 0;
}

static int check_pod_template(struct ctx *c, const yaml_node_t *n)
{
	const struct tc_kspec *ks = c->spec->k8s;
	yaml_node_t *sk = NULL, *spec = map_get(c, n, "spec", &sk), *k, *v;
	static const char *const lists[] = {"containers", "initContainers"};
	int rc;

	if (!spec)
		return 0;
	if (is_null(spec))
		return fail(c, sk, "kubernetes.podTemplate.spec: null would "
			    "remove trainctl's container and volumes");
	for (size_t l = 0; l < 2; l++) {
		char w[96];
		yaml_node_item_t *it;
		size_t i = 0;

		snprintf(w, sizeof(w), "kubernetes.podTemplate.spec.%s",
			 lists[l]);
		if (!(v = map_get(c, spec, lists[l], &k)))
			continue;
		rc = check_merge_list(c, k, v, w, "name",
				      l == 0 ? "trainctl's container" : NULL);
		if (rc)
			return rc;
		if (is_null(v))
			continue;
		for (it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++, i++) {
			yaml_node_t *e = node_at(c, *it);
			char what[128];

			snprintf(what, sizeof(what), "%s[%zu]", w, i);
			rc = check_template_container(
				c, e, what,
				l == 0 && !strcmp(entry_text(c, e, "name"),
						  "trial"));
			if (rc)
				return rc;
		}
	}
	if ((v = map_get(c, spec, "volumes", &k))) {
		const char *w = "kubernetes.podTemplate.spec.volumes";
		yaml_node_item_t *it;
		size_t i = 0;

		rc = check_merge_list(c, k, v, w, "name", "trainctl's volumes");
		if (rc || is_null(v))
			return rc;
		for (it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++, i++) {
			yaml_node_t *e = node_at(c, *it);
			const char *name = entry_text(c, e, "name");
			yaml_node_pair_t *pair;

			if (!own_volume(ks, name))
				continue;
			for (pair = e->data.mapping.pairs.start;
			     pair < e->data.mapping.pairs.top; pair++)
				if (is_null(node_at(c, pair->value)))
					return fail(c, node_at(c, pair->key),
						    "%s[%zu]: a null in %s "
						    "would take trainctl's "
						    "volume apart",
						    w, i, name);
		}
	}
	return 0;
}

/* An object the section's JSON holds under key (affinity, podTemplate),
 * taken out of it for the typed section to keep; NULL when not given. */
static json_t *take_object(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	return json_is_object(v) ? json_incref(v) : NULL;
}

/* A string key: its text and position into *out. */
static void k8s_str(const yaml_node_t *v, const char *s, struct tc_str *out)
{
	out->text = s;
	out->pos = node_pos(v);
}

/* The kubernetes: section (n, a mapping, already converted to j): each key
 * checked on its YAML node and stored, typed, in c->spec->k8s. */
static int check_kubernetes(struct ctx *c, const yaml_node_t *n, json_t *j)
{
	static const char *const affinity_keys[] = {
		"nodeAffinity", "podAffinity", "podAntiAffinity"};
	static const char *const template_keys[] = {"metadata", "spec"};
	struct tc_kspec *ks = c->spec->k8s;
	const char *gpu_res = "nvidia.com/gpu", *s;
	yaml_node_t *v;
	long long ll;
	char cb[48];
	int ok, rc;

	if ((v = map_get(c, n, "context", NULL))) {
		rc = get_string(c, v, "kubernetes.context", "nautilus", &s);
		if (rc)
			return rc;
		k8s_str(v, s, &ks->context);
	}
	if ((v = map_get(c, n, "namespace", NULL))) {
		rc = get_k8s_name(c, v, "kubernetes.namespace", 1, "my-lab",
				  &s);
		if (rc)
			return rc;
		k8s_str(v, s, &ks->ns);
	}
	if ((v = map_get(c, n, "image", NULL))) {
		rc = get_string(c, v, "kubernetes.image",
				"ghcr.io/lab/train:1.4", &s);
		if (rc)
			return rc;
		if (strpbrk(s, " \t\r\n"))
			return fail(c, v, "kubernetes.image must not contain "
				    "spaces (got '%s')", clip(s, cb));
		if (placement_template(c, v) < 0)
			return c->err->code;
		k8s_str(v, s, &ks->image);
	}
	if ((v = map_get(c, n, "imagePullSecrets", NULL))) {
		yaml_node_item_t *it;
		size_t i = 0;

		rc = expect_list(c, v, "kubernetes.imagePullSecrets", "[regcred]",
			      &ok);
		if (rc)
			return rc;
		if (ok) {
			ks->pull_secrets = tc_arena_calloc(
				c->arena,
				(size_t)(v->data.sequence.items.top -
					 v->data.sequence.items.start) + 1,
				sizeof(*ks->pull_secrets));
			if (!ks->pull_secrets)
				return nomem(c);
		}
		for (it = ok ? v->data.sequence.items.start : NULL;
		     ok && it < v->data.sequence.items.top; it++, i++) {
			yaml_node_t *e = node_at(c, *it);
			char what[64];

			snprintf(what, sizeof(what),
				 "kubernetes.imagePullSecrets[%zu]", i);
			rc = get_k8s_name(c, e, what, 0, "regcred", &s);
			if (rc)
				return rc;
			k8s_str(e, s, &ks->pull_secrets[i]);
			ks->npull_secrets = i + 1;
		}
	}
	if ((v = map_get(c, n, "serviceAccount", NULL))) {
		rc = get_k8s_name(c, v, "kubernetes.serviceAccount", 0, "trainer",
				  &s);
		if (rc)
			return rc;
		k8s_str(v, s, &ks->service_account);
	}
	if ((v = map_get(c, n, "gpuResource", NULL))) {
		rc = get_string(c, v, "kubernetes.gpuResource", "nvidia.com/gpu",
				&gpu_res);
		if (rc)
			return rc;
		if (!tc_k8s_is_label_key(gpu_res, 1) || !strcmp(gpu_res, "cpu") ||
		    !strcmp(gpu_res, "memory"))
			return fail(c, v, "kubernetes.gpuResource must be an "
				    "extended resource name such as "
				    "nvidia.com/gpu or amd.com/gpu (got '%s')",
				    clip(gpu_res, cb));
		k8s_str(v, gpu_res, &ks->gpu_resource);
	}
	if ((v = map_get(c, n, "limits", NULL)) &&
	    (rc = check_k8s_limits(c, v, gpu_res)))
		return rc;
	if ((v = map_get(c, n, "shm", NULL))) {
		long long bytes = 0;

		rc = get_bytes(c, v, "kubernetes.shm", &bytes);
		if (rc)
			return rc;
		if (bytes <= 0)
			return fail(c, v, "kubernetes.shm must be more than 0 "
				    "bytes; leave it out for no /dev/shm "
				    "volume");
		ks->shm = bytes;
	}
	if ((v = map_get(c, n, "volumes", NULL)) &&
	    (rc = check_k8s_volumes(c, v, map_get(c, n, "shm", NULL) != NULL)))
		return rc;
	if ((v = map_get(c, n, "nodeSelector", NULL)) &&
	    (rc = check_label_map(c, v, "kubernetes.nodeSelector", 0,
				  &ks->node_selector, &ks->nnode_selector)))
		return rc;
	if ((v = map_get(c, n, "labels", NULL)) &&
	    (rc = check_label_map(c, v, "kubernetes.labels", 1, &ks->labels,
				  &ks->nlabels)))
		return rc;
	if ((v = map_get(c, n, "tolerations", NULL)) &&
	    (rc = check_k8s_tolerations(c, v)))
		return rc;
	if ((v = map_get(c, n, "affinity", NULL)) &&
	    (rc = check_k8s_object(c, v, "kubernetes.affinity",
				   "{nodeAffinity: {...}}", affinity_keys, 3)))
		return rc;
	if ((v = map_get(c, n, "podTemplate", NULL)) &&
	    (rc = check_k8s_object(c, v, "kubernetes.podTemplate",
				   "{spec: {hostIPC: false}}", template_keys,
				   2)))
		return rc;
	if (v && (rc = check_pod_template(c, v)))
		return rc;
	if ((v = map_get(c, n, "envFrom", NULL)) &&
	    (rc = check_k8s_env_from(c, v)))
		return rc;
	{
		yaml_node_t *tk = NULL;

		if ((v = map_get(c, n, "trialVolume", &tk)) &&
		    (rc = check_k8s_trial_volume(c, tk, v)))
			return rc;
	}
	if ((v = map_get(c, n, "priorityClass", NULL))) {
		rc = get_k8s_name(c, v, "kubernetes.priorityClass", 0, "low",
				  &s);
		if (rc)
			return rc;
		k8s_str(v, s, &ks->priority_class);
	}
	if ((v = map_get(c, n, "queue", NULL))) {
		rc = get_string(c, v, "kubernetes.queue", "team-a", &s);
		if (rc)
			return rc;
		if (!tc_k8s_is_label_value(s))
			return fail(c, v, "kubernetes.queue '%s' is not a valid "
				    "Kueue queue name (it becomes a label "
				    "value): at most 63 characters of letters, "
				    "digits, '-', '_' and '.', starting and "
				    "ending with a letter or digit",
				    clip(s, cb));
		k8s_str(v, s, &ks->queue);
	}
	if ((v = map_get(c, n, "backoffLimit", NULL))) {
		rc = get_int(c, v, 0, INT32_MAX,
			     "kubernetes.backoffLimit must be an integer ≥ 0",
			     &ll);
		if (rc)
			return rc;
		ks->backoff_limit = ll;
	}
	if ((v = map_get(c, n, "ttlSecondsAfterFinished", NULL))) {
		rc = get_int(c, v, 0, INT32_MAX,
			     "kubernetes.ttlSecondsAfterFinished must be an "
			     "integer ≥ 0 (seconds)",
			     &ll);
		if (rc)
			return rc;
		ks->ttl = ll;
	}
	/* (over what a stage's section took from the top level's) */
	{
		json_t *a = take_object(j, "affinity"),
		       *pt = take_object(j, "podTemplate");

		if (a) {
			json_decref(ks->affinity);
			ks->affinity = a;
		}
		if (pt) {
			json_decref(ks->pod_template);
			ks->pod_template = pt;
		}
	}
	return 0;
}

/*
 * The section goes through k8s_json() first, whole: that bounds its size
 * and depth once aliases are expanded and refuses unknown keys,
 * duplicates, NULs and non-finite numbers anywhere in it, with the same
 * messages for every key.  Then each key is checked and stored typed; of
 * the JSON only affinity and podTemplate are kept.
 */
static int parse_kubernetes(struct ctx *c, const yaml_node_t *n)
{
	json_t *j;
	int ok, rc;

	rc = expect_map(c, n, "kubernetes",
			"{namespace: my-lab, image: ghcr.io/lab/train:1.4}",
			&ok);
	if (rc || !ok)
		return rc;
	j = k8s_json(c, n);
	if (!j)
		return c->err && c->err->code ? c->err->code : TC_ERR_SPEC;
	rc = check_kubernetes(c, n, j);
	json_decref(j);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Templates                                                            */
/* ------------------------------------------------------------------ */

static int is_builtin(const char *name, size_t len)
{
	for (size_t i = 0; i < tc_template_nbuiltins; i++)
		if (strlen(tc_template_builtins[i]) == len &&
		    memcmp(tc_template_builtins[i], name, len) == 0)
			return 1;
	return 0;
}

/* The n-th (0-based) occurrence of needle in hay[0..hlen), or NULL. */
static const char *find_nth(const char *hay, size_t hlen, const char *needle,
			    size_t nlen, size_t n)
{
	size_t i;

	if (nlen == 0 || nlen > hlen)
		return NULL;
	for (i = 0; i + nlen <= hlen; i++) {
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nlen) == 0) {
			if (n == 0)
				return hay + i;
			n--;
		}
	}
	return NULL;
}

/*
 * Where in the file byte off of scalar n's value is, for a reference of
 * reflen bytes there.  References are found in the source text (the k-th
 * occurrence of the same text in the value is the k-th in the source), which
 * is exact unless escapes changed the text; then, on a one-line scalar, the
 * offset is counted from its start (past the opening quote).
 */
static struct tc_pos ref_pos(struct ctx *c, const yaml_node_t *n, size_t off,
			     size_t reflen)
{
	const char *val = (const char *)n->data.scalar.value;
	size_t vlen = n->data.scalar.length, k = 0, i;
	size_t s = mark_off(c, &n->start_mark), e = mark_off(c, &n->end_mark);
	const char *hit;
	struct tc_pos p = node_pos(n);

	for (i = 0; i < off; i++)
		if (memcmp(val + i, val + off, reflen) == 0 &&
		    i + reflen <= vlen)
			k++;
	if (s < e && e <= c->len) {
		hit = find_nth(c->text + s, e - s, val + off, reflen, k);
		if (hit)
			return off_pos(c, (size_t)(hit - c->text));
	}
	if (n->start_mark.line == n->end_mark.line) {
		size_t chars = 0;

		for (i = 0; i < off; i++)
			if (!is_cont((unsigned char)val[i]))
				chars++;
		if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			chars++;
		p.col = clamp_int((size_t)p.col + chars);
	}
	return p;
}

/* A lookup that knows every name: tc_template_check() then only finds
 * malformed references. */
static const char *any_name(void *ctx, const char *name, size_t len)
{
	(void)ctx;
	(void)name;
	(void)len;
	return "";
}

/* Where a scalar with {{...}} is: where {{args}} can expand, and how. */
enum ref_where {
	REF_OTHER,  /* env values, resources, kubernetes: one text */
	REF_ARGV,   /* an element of command: */
	REF_SCRIPT, /* script: */
};

/* {{args}} or {{args_no_hyphens}} (not shadowed by a parameter so named,
 * which only a recorded spec can have). */
static int is_args_ref(struct ctx *c, const struct tc_template_ref *r)
{
	return tc_template_args_kind(r) &&
	       tc_spec_param_index(c->spec, r->name, r->name_len) < 0;
}

static int shell_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n';
}

/*
 * Where {{args}} may stand (plan/plan.c expands it): as a whole element of
 * command:, which becomes one element per parameter; in a script, as a
 * word of its own (blanks around it, or ; & | ) after it), which becomes
 * "$@" with the elements passed as the script's positional parameters, so
 * no value is ever parsed by the shell.  One script uses one of the two
 * kinds.  Anywhere else it is an error.
 */
static int check_args_ref(struct ctx *c, const yaml_node_t *n,
			  const struct tc_template_ref *r, enum ref_where w,
			  const char **script_kind)
{
	const char *text = (const char *)n->data.scalar.value;
	size_t end = r->off + r->len;
	char kind[16];

	snprintf(kind, sizeof(kind), "%.*s", (int)r->name_len, r->name);
	if (w == REF_ARGV) {
		if (r->off == 0 && text[end] == '\0')
			return 0;
		return fail_at(c, ref_pos(c, n, r->off, r->len),
			       "{{%s}} stands for several arguments: write it "
			       "as an element of command: of its own "
			       "(\"{{%s}}\"), not inside '%.60s'",
			       kind, kind, text);
	}
	if (w == REF_SCRIPT) {
		if ((r->off > 0 && !shell_blank(text[r->off - 1])) ||
		    (text[end] && !shell_blank(text[end]) &&
		     !strchr(";&|)", text[end])))
			return fail_at(c, ref_pos(c, n, r->off, r->len),
				       "{{%s}} in a script must be a word of "
				       "its own, outside quotes (it becomes "
				       "\"$@\", the trial's arguments)",
				       kind);
		if (*script_kind && strcmp(*script_kind, kind))
			return fail_at(c, ref_pos(c, n, r->off, r->len),
				       "a script uses {{args}} or "
				       "{{args_no_hyphens}}, not both (both "
				       "become \"$@\")");
		*script_kind = r->name_len == 4 ? "args" : "args_no_hyphens";
		return 0;
	}
	return fail_at(c, ref_pos(c, n, r->off, r->len),
		       "{{%s}} stands for several arguments: it can only be "
		       "an element of command: of its own, or a word of "
		       "script:",
		       kind);
}

/* Every {{name}} of one scalar well-formed and known; {{args}} only where
 * it expands; a parameter some trials lack (when:) only as {{name?}}. */
static int stage_index(const struct tc_spec *s, const char *name,
		       size_t len);

static int check_refs_in(struct ctx *c, const yaml_node_t *n,
			 enum ref_where w)
{
	const char *text = (const char *)n->data.scalar.value;
	const char *script_kind = NULL;
	struct tc_template_ref r;
	size_t pos = 0;
	int rc, pi;

	while ((rc = tc_template_next(text, &pos, &r)) != 0) {
		char name[PARAM_NAME_MAX + 1], hint[PARAM_NAME_MAX + 40];
		size_t nlen;

		if (rc < 0) {
			char msg[256];

			/* the same message tc_template_check() gives */
			tc_template_check(text, any_name, NULL, NULL, msg,
					  sizeof(msg));
			return fail_at(c, ref_pos(c, n, r.off, 2), "%s", msg);
		}
		if (is_args_ref(c, &r)) {
			rc = check_args_ref(c, n, &r, w, &script_kind);
			if (rc)
				return rc;
			continue;
		}
		if (r.name_len > 6 && !memcmp(r.name, "needs.", 6)) {
			const struct tc_stage *st = c->stage;
			int k = st ? stage_index(c->parent, r.name + 6,
						 r.name_len - 6) : -1;
			int in = 0;

			for (size_t j = 0; st && k >= 0 && j < st->nneeds; j++)
				in |= st->needs[j] == k;
			if (!in)
				return fail_at(c, ref_pos(c, n, r.off, r.len),
					       "%.*s: '%.*s' is not %s",
					       (int)r.len, text + r.off,
					       (int)r.name_len - 6, r.name + 6,
					       st ? "in this stage's needs:"
						  : "a stage (needs.STAGE is "
						    "for stages:)");
			if (c->parent && c->parent->backend &&
			    !strcmp(c->parent->backend, "kubernetes"))
				return fail_at(c, ref_pos(c, n, r.off, r.len),
					       "%.*s: on kubernetes a job's "
					       "directory is its pod's own; share "
					       "data between stages through a "
					       "volume (kubernetes.volumes) and "
					       "paths of your own",
					       (int)r.len, text + r.off);
			if (w == REF_SCRIPT)
				return fail_at(c, ref_pos(c, n, r.off, r.len),
					       "%.*s in a script: use $NEEDS_%s "
					       "(the directories, one per line)",
					       (int)r.len, text + r.off,
					       "STAGE");
			continue;
		}
		if ((r.name_len == 4 || (r.name_len > 5 && r.name[4] == '.')) &&
		    !memcmp(r.name, "item", 4) &&
		    tc_spec_param_index(c->spec, r.name, r.name_len) < 0 &&
		    c->stage && tc_spec_param_index(c->spec, "item", 4) >= 0) {
			/* a fan-out stage, but no such key in its items */
			char keys[256] = "";

			for (size_t q = 0; q < c->spec->nparams; q++)
				if (!strncmp(c->spec->params[q].name, "item.", 5))
					snprintf(keys + strlen(keys),
						 sizeof(keys) - strlen(keys), "%s%s",
						 keys[0] ? ", " : "",
						 c->spec->params[q].name + 5);
			if (!keys[0])
				return fail_at(c, ref_pos(c, n, r.off, r.len),
					       "%.*s: the items of this stage "
					       "are not mappings",
					       (int)r.len, text + r.off);
			return fail_at(c, ref_pos(c, n, r.off, r.len),
				       "%.*s: the items have no key '%.*s' (they "
				       "have: %s)",
				       (int)r.len, text + r.off,
				       (int)r.name_len - 5, r.name + 5, keys);
		}
		if ((r.name_len == 4 || (r.name_len > 5 && r.name[4] == '.')) &&
		    !memcmp(r.name, "item", 4) &&
		    tc_spec_param_index(c->spec, r.name, r.name_len) < 0)
			return fail_at(c, ref_pos(c, n, r.off, r.len),
				       "%.*s outside a fan-out stage: only a "
				       "stage with foreach: a list, {glob:} or "
				       "{lines:}%s has items",
				       (int)r.len, text + r.off,
				       r.name_len > 4 ? " of mappings" : "");
		pi = tc_spec_param_index(c->spec, r.name, r.name_len);
		if (pi >= 0 && c->spec->params[pi].conditional && !r.optional) {
			const struct tc_param *p = &c->spec->params[pi];

			return fail_at(c, ref_pos(c, n, r.off, r.len),
				       "'%s' is not a parameter of every trial "
				       "(%s, line %d): write {{%s?}}, which "
				       "renders nothing in trials without it%s",
				       p->name,
				       p->nwhen ? "its when:" : "its from: has when:",
				       p->nwhen ? p->when_pos.line : p->from_pos.line,
				       p->name,
				       w == REF_ARGV ? " (and an element that "
						       "is only {{name?}} is "
						       "left out)"
						     : "");
		}
		if (pi >= 0 || is_builtin(r.name, r.name_len))
			continue;
		nlen = r.name_len < PARAM_NAME_MAX ? r.name_len
						   : PARAM_NAME_MAX;
		memcpy(name, r.name, nlen);
		name[nlen] = '\0';
		{
			size_t nn;
			const char **names = known_names(c, &nn);
			const char *sug;

			if (!names)
				return nomem(c);
			sug = tc_did_you_mean(name, names, nn);
			if (sug)
				snprintf(hint, sizeof(hint),
					 " (did you mean '%s'?)", sug);
			else
				snprintf(hint, sizeof(hint),
					 ": not a parameter, nor one of "
					 "trial_id, trial_dir, experiment, "
					 "index, seed, args");
			free(names);
		}
		return fail_at(c, ref_pos(c, n, r.off, r.len),
			       "unknown parameter '%s' in %.*s%s", name,
			       (int)(r.len < 80 ? r.len : 80), text + r.off,
			       hint);
	}
	return 0;
}

static int check_refs(struct ctx *c, const yaml_node_t *n)
{
	return check_refs_in(c, n, REF_OTHER);
}

static int check_templates(struct ctx *c, const yaml_node_t *cmd,
			   const yaml_node_t *script, const yaml_node_t *env)
{
	int rc;

	if (cmd && cmd->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it;

		for (it = cmd->data.sequence.items.start;
		     it < cmd->data.sequence.items.top; it++) {
			rc = check_refs_in(c, node_at(c, *it), REF_ARGV);
			if (rc)
				return rc;
		}
	}
	if (script) {
		rc = check_refs_in(c, script, REF_SCRIPT);
		if (rc)
			return rc;
	}
	if (env && env->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *pair;

		for (pair = env->data.mapping.pairs.start;
		     pair < env->data.mapping.pairs.top; pair++) {
			yaml_node_t *v = node_at(c, pair->value);

			if (v->type != YAML_SCALAR_NODE) /* a reference */
				continue;
			rc = check_refs(c, v);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The whole file                                                       */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* stages: a pipeline                                                   */
/* ------------------------------------------------------------------ */

static int stage_index(const struct tc_spec *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->nstages; i++)
		if (strlen(s->stages[i].name) == len &&
		    memcmp(s->stages[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

const struct tc_stage *tc_spec_stage(const struct tc_spec *spec, const char *name)
{
	int k = name ? stage_index(spec, name, strlen(name)) : -1;

	return k >= 0 ? &spec->stages[k] : NULL;
}

const struct tc_spec *tc_spec_for_stage(const struct tc_spec *spec,
					const char *name)
{
	const struct tc_stage *st = tc_spec_stage(spec, name);

	return st ? st->spec : spec;
}

/* A placeholder parameter named name (TC_P_VALUES, one empty value): in a
 * stage's own spec, it makes {{item}} a known name; the plan gives each
 * job its value. */
static int item_param(struct ctx *c, struct tc_param *p, const char *name,
		      struct tc_pos pos)
{
	memset(p, 0, sizeof(*p));
	p->name = tc_arena_strdup(c->arena, name);
	p->values = tc_arena_calloc(c->arena, 1, sizeof(*p->values));
	if (!p->name || !p->values)
		return nomem(c);
	p->kind = TC_P_VALUES;
	p->values[0].type = TC_V_STR;
	p->values[0].text = "";
	p->nvalues = 1;
	p->pos = pos;
	return 0;
}

/* foreach: a list, {glob: P}, {lines: F}, sweep, or {trials: STAGE}. */
static int parse_foreach(struct ctx *c, struct tc_stage *st,
			 const yaml_node_t *n, struct tc_spec *v)
{
	static const char example[] = "[a, b], {glob: \"raw/*.tif\"}, "
				      "{lines: tiles.txt}, sweep or "
				      "{trials: train}";
	char d[64];
	int rc;

	st->foreach_pos = node_pos(n);
	if (n->type == YAML_SCALAR_NODE && !is_null(n) &&
	    !strcmp((const char *)n->data.scalar.value, "sweep")) {
		st->foreach = TC_FE_SWEEP;
		st->foreach_key = "sweep";
		v->params = c->spec->params;
		v->nparams = c->spec->nparams;
		v->order = c->spec->order;
		v->conditional = c->spec->conditional;
		if (!c->spec->nparams)
			return fail(c, n, "foreach: sweep needs parameters: "
				    "to sweep (none given at the top level)");
		return 0;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		json_t *list = json_array();
		size_t count = (size_t)(n->data.sequence.items.top -
					n->data.sequence.items.start), nkeys = 0;
		const char **keys = NULL;
		char *text;

		if (!list)
			return nomem(c);
		if (count == 0) {
			json_decref(list);
			return fail(c, n, "foreach is an empty list: give at "
				    "least one item");
		}
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			yaml_node_t *e = node_at(c, *it);
			json_t *je = NULL;

			if (e->type == YAML_MAPPING_NODE) {
				size_t k = 0;

				je = json_object();
				for (yaml_node_pair_t *pr = e->data.mapping.pairs.start;
				     je && pr < e->data.mapping.pairs.top; pr++, k++) {
					yaml_node_t *kk = node_at(c, pr->key);
					yaml_node_t *vv = node_at(c, pr->value);
					struct tc_value val;
					const char *key;

					if ((rc = key_text(c, kk, "foreach", &key)) ||
					    (rc = get_scalar(c, vv, "a foreach item's value",
							     &val))) {
						json_decref(je);
						json_decref(list);
						return rc;
					}
					if (!valid_param_name(key) || strchr(key, '.')) {
						json_decref(je);
						json_decref(list);
						return fail(c, kk, "foreach: '%s' is not a "
							    "name {{item.%s}} can use "
							    "(letters, digits, '_', '-')",
							    key, key);
					}
					json_object_set_new(je, key, json_string(val.text));
				}
				if (!je)
					break;
				/* every map has the keys of the first */
				if (it == n->data.sequence.items.start) {
					const char *key;
					json_t *x;

					nkeys = json_object_size(je);
					keys = tc_arena_calloc(c->arena, nkeys + 1,
							       sizeof(*keys));
					if (!keys) {
						json_decref(je);
						json_decref(list);
						return nomem(c);
					}
					nkeys = 0;
					json_object_foreach(je, key, x)
						keys[nkeys++] = tc_arena_strdup(c->arena, key);
				} else {
					int same = json_object_size(je) == nkeys;

					for (size_t k2 = 0; same && k2 < nkeys; k2++)
						same = json_object_get(je, keys[k2]) != NULL;
					if (!same) {
						json_decref(je);
						json_decref(list);
						return fail(c, e, "foreach: every item "
							    "must have the same keys as "
							    "the first (line %d)",
							    node_pos(node_at(c, n->data.sequence.items.start[0])).line);
					}
				}
			} else if (e->type == YAML_SCALAR_NODE && !is_null(e)) {
				struct tc_value val;

				if (keys) {
					json_decref(list);
					return fail(c, e, "foreach: every item "
						    "must be a mapping like the "
						    "first");
				}
				if ((rc = get_scalar(c, e, "a foreach item", &val))) {
					json_decref(list);
					return rc;
				}
				je = json_string(val.text);
			} else {
				json_decref(list);
				return fail(c, e, "a foreach item must be a "
					    "value or a mapping of values, not "
					    "%s", describe(e, d));
			}
			if (!je || json_array_append_new(list, je)) {
				json_decref(list);
				return nomem(c);
			}
			if (it > n->data.sequence.items.start) {
				for (size_t k = 0; k + 1 < json_array_size(list); k++)
					if (json_equal(json_array_get(list, k), je)) {
						json_decref(list);
						return fail(c, e, "foreach: duplicate "
							    "item (item %zu is the "
							    "same)", k + 1);
					}
			}
		}
		text = json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(list);
		if (!text)
			return nomem(c);
		st->pattern = st->foreach_key = tc_arena_strdup(c->arena, text);
		free(text);
		if (!st->pattern)
			return nomem(c);
		st->foreach = TC_FE_LIST;
		v->params = tc_arena_calloc(c->arena, nkeys + 1,
					    sizeof(*v->params));
		if (!v->params)
			return nomem(c);
		if ((rc = item_param(c, &v->params[0], "item", st->foreach_pos)))
			return rc;
		for (size_t k = 0; k < nkeys; k++) {
			char name[PARAM_NAME_MAX + 8];

			snprintf(name, sizeof(name), "item.%s", keys[k]);
			if ((rc = item_param(c, &v->params[k + 1], name,
					     st->foreach_pos)))
				return rc;
		}
		v->nparams = nkeys + 1;
		return 0;
	}
	if (n->type == YAML_MAPPING_NODE &&
	    n->data.mapping.pairs.top - n->data.mapping.pairs.start == 1) {
		yaml_node_t *k = node_at(c, n->data.mapping.pairs.start->key);
		yaml_node_t *x = node_at(c, n->data.mapping.pairs.start->value);
		const char *key;

		if ((rc = key_text(c, k, "foreach", &key)))
			return rc;
		if (!strcmp(key, "glob") || !strcmp(key, "lines")) {
			if ((rc = get_string(c, x, key[0] == 'g' ? "foreach.glob"
								 : "foreach.lines",
					     key[0] == 'g' ? "\"raw/*.tif\""
							   : "tiles.txt",
					     &st->pattern)))
				return rc;
			if (!st->pattern[0])
				return fail(c, x, "foreach.%s is empty", key);
			st->foreach = key[0] == 'g' ? TC_FE_GLOB : TC_FE_LINES;
			st->foreach_key = tc_arena_strdup(c->arena, key[0] == 'g'
						? "glob" : "lines");
			{
				size_t l1 = strlen(st->foreach_key), l2 = strlen(st->pattern);
				char *fk = tc_arena_alloc(c->arena, l1 + l2 + 2);

				if (!fk)
					return nomem(c);
				memcpy(fk, st->foreach_key, l1);
				fk[l1] = ':';
				memcpy(fk + l1 + 1, st->pattern, l2 + 1);
				st->foreach_key = fk;
			}
			v->params = tc_arena_calloc(c->arena, 1, sizeof(*v->params));
			if (!v->params)
				return nomem(c);
			v->nparams = 1;
			return item_param(c, &v->params[0], "item", st->foreach_pos);
		}
		if (!strcmp(key, "trials")) {
			int of;

			if (x->type != YAML_SCALAR_NODE || is_null(x))
				return fail(c, x, "foreach.trials names a stage "
					    "whose foreach is sweep");
			of = stage_index(c->spec, (const char *)x->data.scalar.value,
					 x->data.scalar.length);
			if (of < 0)
				return fail(c, x, "foreach.trials: no stage named "
					    "'%s'", (const char *)x->data.scalar.value);
			if (c->spec->stages[of].foreach != TC_FE_SWEEP)
				return fail(c, x, "foreach.trials: stage '%s' is "
					    "not a sweep (foreach: sweep)",
					    c->spec->stages[of].name);
			st->foreach = TC_FE_TRIALS;
			st->of = of;
			st->foreach_key = c->spec->stages[of].name;
			v->params = c->spec->params;
			v->nparams = c->spec->nparams;
			v->order = c->spec->order;
			v->conditional = c->spec->conditional;
			return 0;
		}
		return fail(c, k, "foreach: unknown key '%s' (expected glob, "
			    "lines or trials)", key);
	}
	return fail(c, n, "foreach must be %s (got %s)", example, describe(n, d));
}

/* inputs:/outputs: lists of paths; outputs stay in the job's directory. */
static int parse_paths(struct ctx *c, const yaml_node_t *n, const char *what,
		       int out, struct tc_str **list, size_t *count)
{
	size_t i = 0;
	int ok, rc;

	if ((rc = expect_list(c, n, what, "[model.bin, metrics.json]", &ok)) ||
	    !ok)
		return rc;
	*count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*list = tc_arena_calloc(c->arena, *count ? *count : 1, sizeof(**list));
	if (!*list)
		return nomem(c);
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++, i++) {
		yaml_node_t *e = node_at(c, *it);
		const char *p;

		if ((rc = get_string(c, e, what, "model.bin", &p)))
			return rc;
		if (!p[0])
			return fail(c, e, "%s: an empty path", what);
		if (out && (p[0] == '/' || !strcmp(p, "..") ||
			    !strncmp(p, "../", 3) || strstr(p, "/../") ||
			    (strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/..")) ||
			    strstr(p, "{{")))
			return fail(c, e, "outputs: '%s' is outside the job's "
				    "directory: give a path relative to it "
				    "(its {{trial_dir}}), without '..' or "
				    "{{...}}", p);
		(*list)[i].text = p;
		(*list)[i].pos = node_pos(e);
	}
	return 0;
}

/* The stage's env: the top level's, with its own over it. */
static int merge_env(struct ctx *c, struct tc_spec *v)
{
	const struct tc_spec *top = c->spec;
	struct tc_kv *all;
	size_t n = 0;

	all = tc_arena_calloc(c->arena, top->nenv + v->nenv + 1, sizeof(*all));
	if (!all)
		return nomem(c);
	for (size_t i = 0; i < top->nenv; i++) {
		int over = 0;

		for (size_t k = 0; k < v->nenv && !over; k++)
			over = !strcmp(top->env[i].key, v->env[k].key);
		if (!over)
			all[n++] = top->env[i];
	}
	for (size_t k = 0; k < v->nenv; k++)
		all[n++] = v->env[k];
	v->env = all;
	v->nenv = n;
	return 0;
}

/* Stages in an order where each comes after what it needs; a cycle is an
 * error at the need that closes it. */
static int order_stages(struct ctx *c)
{
	struct tc_spec *s = c->spec;
	size_t n = s->nstages, done = 0;
	struct tc_stage *sorted;
	int *map, *state;

	sorted = tc_arena_calloc(c->arena, n, sizeof(*sorted));
	map = tc_arena_calloc(c->arena, n, sizeof(*map));
	state = tc_arena_calloc(c->arena, n, sizeof(*state));
	if (!sorted || !map || !state)
		return nomem(c);
	/* repeatedly take, in file order, the first stage whose needs are
	 * all taken (stable: file order where the DAG allows) */
	while (done < n) {
		size_t i;

		for (i = 0; i < n; i++) {
			int ready = !state[i];

			for (size_t k = 0; ready && k < s->stages[i].nneeds; k++)
				ready = state[s->stages[i].needs[k]];
			if (ready)
				break;
		}
		if (i == n) {
			/* a cycle among the rest: report one of its needs */
			for (i = 0; i < n; i++) {
				if (state[i])
					continue;
				for (size_t k = 0; k < s->stages[i].nneeds; k++) {
					int t = s->stages[i].needs[k];

					if (!state[t])
						return fail_at(
							c, s->stages[i].needs_pos[k],
							"stages: cycle: '%s' needs "
							"'%s', which needs '%s' "
							"(directly or through "
							"others)",
							s->stages[i].name,
							s->stages[t].name,
							s->stages[i].name);
				}
			}
			return fail_at(c, s->stages[0].pos, "stages: cycle");
		}
		state[i] = 1;
		map[i] = (int)done;
		sorted[done++] = s->stages[i];
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sorted[i].nneeds; k++)
			sorted[i].needs[k] = map[sorted[i].needs[k]];
		if (sorted[i].foreach == TC_FE_TRIALS)
			sorted[i].of = map[sorted[i].of];
	}
	s->stages = sorted;
	for (size_t i = 0; i < n; i++)
		s->stages[i].spec->stage = &s->stages[i];
	return 0;
}

static int parse_stage(struct ctx *c, struct tc_stage *st,
		       const yaml_node_t *n)
{
	enum { F_NEEDS, F_FOREACH, F_COMMAND, F_SCRIPT, F_ENV, F_RUN,
	       F_INPUTS, F_OUTPUTS, F_RESOURCES, F_KUBERNETES, F_N };
	struct field f[F_N] = {
		{"needs", NULL, NULL},   {"foreach", NULL, NULL},
		{"command", NULL, NULL}, {"script", NULL, NULL},
		{"env", NULL, NULL},     {"run", NULL, NULL},
		{"inputs", NULL, NULL},  {"outputs", NULL, NULL},
		{"resources", NULL, NULL}, {"kubernetes", NULL, NULL}};
	struct tc_spec *top = c->spec, *v;
	char where[TC_NAME_MAX + 16];
	int ok, rc;

	snprintf(where, sizeof(where), "stage %s", st->name);
	if ((rc = expect_map(c, n, where, "{command: [prepare.sh]}", &ok)))
		return rc;
	if (!ok)
		return fail(c, n, "stage '%s' is empty: give it a command",
			    st->name);
	if ((rc = get_fields(c, n, where, f, F_N)))
		return rc;
	/* the stage's own spec: the top level's, but its own command and
	 * parameters */
	v = tc_arena_calloc(c->arena, 1, sizeof(*v));
	if (!v)
		return nomem(c);
	*v = *top;
	v->command = NULL;
	v->ncommand = 0;
	v->script.text = NULL;
	v->params = NULL;
	v->nparams = 0;
	v->order = NULL;
	v->conditional = 0;
	v->env = NULL;
	v->nenv = 0;
	v->stages = NULL;
	v->nstages = 0;
	v->arena_ = NULL; /* parameters are looked up by a linear search */
	st->spec = v;

	if (f[F_NEEDS].val) {
		const yaml_node_t *nn = f[F_NEEDS].val;
		size_t count, i = 0;

		if ((rc = expect_list(c, nn, "needs", "[prepare]", &ok)))
			return rc;
		count = ok ? (size_t)(nn->data.sequence.items.top -
				      nn->data.sequence.items.start) : 0;
		st->needs = tc_arena_calloc(c->arena, count + 1, sizeof(int));
		st->needs_pos = tc_arena_calloc(c->arena, count + 1,
						sizeof(*st->needs_pos));
		if (!st->needs || !st->needs_pos)
			return nomem(c);
		for (yaml_node_item_t *it = ok ? nn->data.sequence.items.start : NULL;
		     ok && it < nn->data.sequence.items.top; it++, i++) {
			yaml_node_t *e = node_at(c, *it);
			const char *name;
			int k;

			if ((rc = get_string(c, e, "needs", "prepare", &name)))
				return rc;
			k = stage_index(top, name, strlen(name));
			if (k < 0) {
				const char **names = tc_arena_calloc(
					c->arena, top->nstages + 1, sizeof(*names));
				const char *sug;

				if (!names)
					return nomem(c);
				for (size_t j = 0; j < top->nstages; j++)
					names[j] = top->stages[j].name;
				sug = tc_did_you_mean(name, names, top->nstages);
				return fail(c, e, "needs: no stage named '%s'%s%s%s",
					    name, sug ? " (did you mean '" : "",
					    sug ? sug : "", sug ? "'?)" : "");
			}
			if (k == st - top->stages)
				return fail(c, e, "stages: cycle: '%s' needs "
					    "itself", name);
			for (size_t j = 0; j < i; j++)
				if (st->needs[j] == k)
					return fail(c, e, "needs: '%s' is "
						    "given twice", name);
			st->needs[i] = k;
			st->needs_pos[i] = node_pos(e);
		}
		st->nneeds = i;
	}
	if (f[F_FOREACH].val &&
	    (rc = parse_foreach(c, st, f[F_FOREACH].val, v)))
		return rc;
	if (st->foreach == TC_FE_TRIALS) {
		int found = 0;

		for (size_t k = 0; k < st->nneeds; k++)
			found |= st->needs[k] == st->of;
		if (!found)
			return fail_at(c, st->foreach_pos, "foreach: {trials: "
				       "%s}: add %s to needs:",
				       top->stages[st->of].name,
				       top->stages[st->of].name);
	}
	if (f[F_COMMAND].key && f[F_SCRIPT].key)
		return fail(c, f[F_SCRIPT].key, "%s: give either command or "
			    "script, not both", where);
	if (!f[F_COMMAND].key && !f[F_SCRIPT].key)
		return fail(c, n, "%s: missing command (or script)", where);
	if (f[F_INPUTS].val &&
	    (rc = parse_paths(c, f[F_INPUTS].val, "inputs", 0, &st->inputs,
			      &st->ninputs)))
		return rc;
	if (f[F_OUTPUTS].val &&
	    (rc = parse_paths(c, f[F_OUTPUTS].val, "outputs", 1, &st->outputs,
			      &st->noutputs)))
		return rc;

	c->spec = v;
	c->stage = st;
	c->parent = top;
	rc = f[F_COMMAND].key ? parse_command(c, f[F_COMMAND].val)
			      : parse_script(c, f[F_SCRIPT].val);
	if (!rc && f[F_ENV].val)
		rc = parse_env(c, f[F_ENV].val);
	if (!rc && f[F_RUN].val) {
		int mf = v->run.max_failures;

		v->run.parallel = 0;
		rc = parse_run(c, f[F_RUN].val);
		if (!rc && v->run.max_failures != mf)
			rc = fail(c, f[F_RUN].key, "%s: run.max_failures is "
				  "the whole run's: set it at the top level",
				  where);
		st->own_parallel = v->run.parallel;
		if (!v->run.parallel)
			v->run.parallel = top->run.parallel;
	}
	if (!rc && f[F_RESOURCES].val) {
		st->own_resources = 1;
		st->resources_pos = node_pos(f[F_RESOURCES].key);
		rc = parse_resources(c, f[F_RESOURCES].val);
	}
	if (!rc && f[F_KUBERNETES].val) {
		const yaml_node_t *kn = f[F_KUBERNETES].val;
		const char *own[] = {"namespace", "context"};
		struct tc_kspec *ks = tc_arena_calloc(c->arena, 1, sizeof(*ks));

		if (!ks) {
			c->spec = top;
			return nomem(c);
		}
		*ks = *top->k8s;
		json_incref(ks->affinity);     /* its own references */
		json_incref(ks->pod_template);
		v->k8s = ks;
		st->own_kubernetes = 1;
		st->kubernetes_pos = node_pos(f[F_KUBERNETES].key);
		for (size_t k = 0; !rc && k < 2; k++) {
			yaml_node_t *x = kn->type == YAML_MAPPING_NODE
						 ? map_get(c, kn, own[k], NULL)
						 : NULL;

			if (x)
				rc = fail(c, x, "%s: kubernetes.%s is the whole "
					  "run's: set it at the top level",
					  where, own[k]);
		}
		if (!rc)
			rc = parse_kubernetes(c, kn);
	}
	if (!rc)
		rc = check_templates(c, f[F_COMMAND].val, f[F_SCRIPT].val,
				     f[F_ENV].val);
	for (size_t k = 0; !rc && k < st->ninputs; k++) {
		yaml_node_t *e = node_at(c, f[F_INPUTS].val->data.sequence.items.start[k]);

		rc = check_refs_in(c, e, REF_OTHER);
	}
	c->spec = top;
	c->stage = NULL;
	if (!rc)
		rc = merge_env(c, v);
	return rc;
}

static int parse_stages(struct ctx *c, const yaml_node_t *n)
{
	struct tc_spec *s = c->spec;
	size_t count, i = 0;
	int ok, rc;

	if ((rc = expect_map(c, n, "stages", "{prepare: {command: [prep]}}",
			     &ok)))
		return rc;
	if (!ok)
		return fail(c, n, "stages is empty: give at least one stage");
	if ((rc = check_keys(c, n, "stages")))
		return rc;
	count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	s->stages = tc_arena_calloc(c->arena, count, sizeof(*s->stages));
	if (!s->stages)
		return nomem(c);
	/* names first: needs: may name a later stage */
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	     pr < n->data.mapping.pairs.top; pr++, i++) {
		yaml_node_t *k = node_at(c, pr->key);
		const char *name = (const char *)k->data.scalar.value;

		if (!valid_name(name) || strlen(name) > 24)
			return fail(c, k, "stage name '%s' must be 1 to 24 of "
				    "a-z, 0-9 and '-'", name);
		s->stages[i].name = tc_arena_strdup(c->arena, name);
		if (!s->stages[i].name)
			return nomem(c);
		s->stages[i].pos = node_pos(k);
		s->stages[i].of = -1;
	}
	s->nstages = count;
	/* a stage's foreach: {trials: X} reads X's foreach: sweeps first */
	for (int pass = 0; pass < 2; pass++) {
		i = 0;
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		     pr < n->data.mapping.pairs.top; pr++, i++) {
			yaml_node_t *v = node_at(c, pr->value);
			int trials = 0;

			if (v->type == YAML_MAPPING_NODE)
				for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
				     q < v->data.mapping.pairs.top; q++) {
					yaml_node_t *kk = node_at(c, q->key);
					yaml_node_t *vv = node_at(c, q->value);

					if (kk->type == YAML_SCALAR_NODE &&
					    !strcmp((const char *)kk->data.scalar.value,
						    "foreach") &&
					    vv->type == YAML_MAPPING_NODE)
						trials = 1; /* may be {trials:} */
				}
			if (trials != pass)
				continue;
			if ((rc = parse_stage(c, &s->stages[i], v)))
				return rc;
		}
	}
	return order_stages(c);
}

static const char *const top_keys[] = {
	"version",   "name",   "command", "script",  "env",
	"parameters", "search", "metric",  "resources", "run",
	"backend",   "nodes",  "kubernetes", "workdir", "early_stop",
	"metrics", "stages", "artifacts",
};

enum {
	T_VERSION, T_NAME, T_COMMAND, T_SCRIPT, T_ENV, T_PARAMETERS, T_SEARCH,
	T_METRIC, T_RESOURCES, T_RUN, T_BACKEND, T_NODES, T_KUBERNETES,
	T_WORKDIR, T_EARLY_STOP, T_METRICS, T_STAGES, T_ARTIFACTS, T_N
};

const char *const tc_spec_rendezvous_vars[TC_RENDEZVOUS_NVARS] = {
	"WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK",
	"MASTER_ADDR", "MASTER_PORT",
};

int tc_spec_trial_gpus(const struct tc_spec *spec)
{
	long long g = (long long)spec->resources.gpu *
		      (spec->nodes > 1 ? spec->nodes : 1);

	return g > INT_MAX ? INT_MAX : (int)g;
}

/* metrics: {ranks: 0|all}: whose name=value lines and metrics file a
 * trial of several ranks (nodes:) records. */
static int parse_metrics(struct ctx *c, const yaml_node_t *k,
			 const yaml_node_t *n)
{
	enum { F_RANKS, F_N };
	struct field f[F_N] = {{"ranks", NULL, NULL}};
	static const char *const ranks[] = {"0", "all"};
	size_t r = 0;
	int ok, rc;

	c->spec->metrics.pos = node_pos(k);
	rc = expect_map(c, n, "metrics", "{ranks: all}", &ok);
	if (rc || !ok)
		return rc;
	rc = get_fields(c, n, "metrics", f, F_N);
	if (rc || !f[F_RANKS].val)
		return rc;
	rc = get_enum(c, f[F_RANKS].val, "metrics.ranks", ranks, 2, &r);
	if (rc)
		return rc;
	c->spec->metrics.all_ranks = r == 1;
	return 0;
}

/* artifacts: {store: s3://bucket/prefix, endpoint: URL, region: R}.
 * Whether the store answers is the run's to find out (exit 3). */
static int parse_artifacts(struct ctx *c, const yaml_node_t *k,
			   const yaml_node_t *n)
{
	enum { F_STORE, F_ENDPOINT, F_REGION, F_N };
	struct field f[F_N] = {{"store", NULL, NULL}, {"endpoint", NULL, NULL},
			       {"region", NULL, NULL}};
	struct tc_spec *s = c->spec;
	const char *v;
	int ok, rc;

	s->artifacts.pos = node_pos(k);
	if (s->backend && !strcmp(s->backend, "kubernetes"))
		return fail(c, k, "artifacts: a job's outputs are in its pod on "
			    "the kubernetes backend; share them through a "
			    "volume (kubernetes.volumes) instead");
	rc = expect_map(c, n, "artifacts", "{store: s3://bucket/prefix}", &ok);
	if (rc)
		return rc;
	if (!ok)
		return fail(c, n, "artifacts is empty: give it a store "
			    "(s3://bucket/prefix)");
	if ((rc = get_fields(c, n, "artifacts", f, F_N)))
		return rc;
	if (!f[F_STORE].val)
		return fail(c, n, "artifacts: missing store (s3://bucket/prefix)");
	if ((rc = get_string(c, f[F_STORE].val, "artifacts.store",
			     "s3://bucket/prefix", &v)))
		return rc;
	if (strncmp(v, "s3://", 5) || !v[5] || v[5] == '/' ||
	    strpbrk(v, " \t\r\n?#"))
		return fail(c, f[F_STORE].val, "artifacts.store must be "
			    "s3://BUCKET or s3://BUCKET/PREFIX (got '%s')", v);
	s->artifacts.store = v;
	s->artifacts.store_pos = node_pos(f[F_STORE].val);
	if (f[F_ENDPOINT].val) {
		if ((rc = get_string(c, f[F_ENDPOINT].val, "artifacts.endpoint",
				     "http://127.0.0.1:8333", &v)))
			return rc;
		if ((strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) ||
		    strpbrk(v, " \t\r\n"))
			return fail(c, f[F_ENDPOINT].val, "artifacts.endpoint "
				    "must be an http:// or https:// URL (got "
				    "'%s')", v);
		s->artifacts.endpoint = v;
		s->artifacts.endpoint_pos = node_pos(f[F_ENDPOINT].val);
	}
	if (f[F_REGION].val) {
		if ((rc = get_string(c, f[F_REGION].val, "artifacts.region",
				     "us-east-1", &v)))
			return rc;
		if (!*v || strpbrk(v, " \t\r\n/"))
			return fail(c, f[F_REGION].val, "artifacts.region must "
				    "be a region name such as us-east-1 (got "
				    "'%s')", v);
		s->artifacts.region = v;
	}
	return 0;
}

/* A trial of several ranks gets the rendezvous variables from trainctl,
 * whichever backend runs it: env: may not set them. */
static int check_rendezvous_env(struct ctx *c)
{
	const struct tc_spec *s = c->spec;

	if (s->nodes <= 1)
		return 0;
	for (size_t i = 0; i < s->nenv; i++)
		for (size_t k = 0; k < TC_RENDEZVOUS_NVARS; k++)
			if (!strcmp(s->env[i].key, tc_spec_rendezvous_vars[k]))
				return fail_at(c, s->env[i].pos,
					       "env: %s is set by trainctl for "
					       "each rank of a multi-node "
					       "trial (nodes: %d); remove it",
					       tc_spec_rendezvous_vars[k],
					       s->nodes);
	return 0;
}

static int parse_root(struct ctx *c, const yaml_node_t *root)
{
	struct field f[T_N];
	static const char *const backends[] = {"local", "kubernetes"};
	struct tc_spec *s = c->spec;
	long long v;
	size_t i;
	int rc;

	for (i = 0; i < T_N; i++)
		f[i].name = top_keys[i];
	rc = get_fields(c, root, NULL, f, T_N);
	if (rc)
		return rc;

	if (!f[T_VERSION].val)
		return fail(c, root, "missing version: add 'version: 1' at the "
			    "top of the file");
	/* version: "1" (quoted, as some YAML writers emit) means 1 too */
	if (f[T_VERSION].val->type == YAML_SCALAR_NODE &&
	    f[T_VERSION].val->data.scalar.length == 1 &&
	    f[T_VERSION].val->data.scalar.value[0] == '1') {
		v = 1;
	} else {
		rc = get_int(c, f[T_VERSION].val, LLONG_MIN, LLONG_MAX,
			     "version must be 1", &v);
		if (rc)
			return rc;
	}
	if (v != 1)
		return fail(c, f[T_VERSION].val, "unsupported version %lld: "
			    "this trainctl reads version 1", v);
	s->version = 1;

	if (!f[T_NAME].val)
		return fail(c, root, "missing name: add e.g. 'name: "
			    "fmnist-grid' (a-z, 0-9 and '-')");
	rc = parse_name(c, f[T_NAME].val);
	if (rc)
		return rc;

	if (f[T_COMMAND].key && f[T_SCRIPT].key) {
		const yaml_node_t *late =
			f[T_COMMAND].key->start_mark.index >
					f[T_SCRIPT].key->start_mark.index
				? f[T_COMMAND].key
				: f[T_SCRIPT].key;

		return fail(c, late, "give either command or script, not "
			    "both");
	}
	if (f[T_STAGES].key && (f[T_COMMAND].key || f[T_SCRIPT].key))
		return fail(c, f[T_COMMAND].key ? f[T_COMMAND].key
						: f[T_SCRIPT].key,
			    "with stages:, each stage has its own command; "
			    "move this one into a stage");
	if (!f[T_COMMAND].key && !f[T_SCRIPT].key && !f[T_STAGES].key)
		return fail(c, root, "missing command: add e.g. 'command: "
			    "[python, train.py, --lr, \"{{lr}}\"]' (or "
			    "script: for a shell script)");
	if (f[T_COMMAND].key || f[T_SCRIPT].key) {
		rc = f[T_COMMAND].key ? parse_command(c, f[T_COMMAND].val)
				      : parse_script(c, f[T_SCRIPT].val);
		if (rc)
			return rc;
	}

	if (f[T_PARAMETERS].val) {
		c->params_pos = node_pos(f[T_PARAMETERS].key);
		rc = parse_parameters(c, f[T_PARAMETERS].val);
		if (rc)
			return rc;
	}
	if (f[T_ENV].val) {
		rc = parse_env(c, f[T_ENV].val);
		if (rc)
			return rc;
	}
	rc = check_templates(c, f[T_COMMAND].val, f[T_SCRIPT].val,
			     f[T_ENV].val);
	if (rc)
		return rc;

	s->search.method = TC_SEARCH_GRID;
	if (f[T_SEARCH].val) {
		rc = parse_search(c, f[T_SEARCH].val);
		if (rc)
			return rc;
	}
	if (!f[T_SEARCH].val) {
		rc = check_grid(c);
		if (!rc)
			rc = check_grid_values(c);
		if (rc)
			return rc;
	}

	s->metric.goal = 1;
	if (f[T_METRIC].val) {
		rc = parse_metric(c, f[T_METRIC].val);
		if (rc)
			return rc;
	}
	if (f[T_EARLY_STOP].val) {
		rc = parse_early_stop(c, f[T_EARLY_STOP].key,
				      f[T_EARLY_STOP].val);
		if (rc)
			return rc;
	}
	if (s->search.method == TC_SEARCH_TPE && !s->metric.name)
		return fail_at(c, s->search.method_pos,
			       "tpe search needs a metric to optimise: add "
			       "e.g. 'metric: {name: val_loss, goal: "
			       "minimize}'");
	if (f[T_RESOURCES].val) {
		rc = parse_resources(c, f[T_RESOURCES].val);
		if (rc)
			return rc;
	}
	s->run.parallel = 1;
	s->run.backoff = 1.0;
	s->run.max_failures = 3;
	if (f[T_RUN].val) {
		rc = parse_run(c, f[T_RUN].val);
		if (rc)
			return rc;
	}
	s->backend = backends[0];
	if (f[T_BACKEND].val) {
		size_t b = 0;

		rc = get_enum(c, f[T_BACKEND].val, "backend", backends, 2, &b);
		if (rc)
			return rc;
		s->backend = backends[b];
	}
	if (f[T_WORKDIR].val) {
		rc = get_string(c, f[T_WORKDIR].val, "workdir", "'..' or "
				"/srv/project", &s->workdir);
		if (rc)
			return rc;
		s->workdir_pos = node_pos(f[T_WORKDIR].val);
	}
	s->nodes = 1;
	if (f[T_NODES].val) {
		rc = get_int(c, f[T_NODES].val, 1, INT_MAX,
			     "nodes must be an integer ≥ 1", &v);
		if (rc)
			return rc;
		s->nodes = (int)v;
		s->nodes_pos = node_pos(f[T_NODES].key);
	}
	if ((rc = check_rendezvous_env(c)))
		return rc;
	if (f[T_METRICS].val) {
		rc = parse_metrics(c, f[T_METRICS].key, f[T_METRICS].val);
		if (rc)
			return rc;
	}
	if (f[T_KUBERNETES].val) {
		s->k8s->pos = node_pos(f[T_KUBERNETES].key);
		rc = parse_kubernetes(c, f[T_KUBERNETES].val);
		if (rc)
			return rc;
	}
	if (f[T_ARTIFACTS].val &&
	    (rc = parse_artifacts(c, f[T_ARTIFACTS].key, f[T_ARTIFACTS].val)))
		return rc;
	if (f[T_ARTIFACTS].val && !f[T_STAGES].val)
		return fail(c, f[T_ARTIFACTS].key, "artifacts: the store "
			    "takes a pipeline's declared outputs: it needs "
			    "stages: with outputs:");
	if (f[T_STAGES].val) {
		int sweep = 0;

		if ((rc = parse_stages(c, f[T_STAGES].val)))
			return rc;
		for (size_t k = 0; k < s->nstages; k++)
			sweep |= s->stages[k].foreach == TC_FE_SWEEP;
		if (s->nparams && !sweep)
			return fail_at(c, c->params_pos, "parameters: no stage "
				       "sweeps them: add 'foreach: sweep' to "
				       "the stage that does");
		if (s->nodes > 1)
			return fail_at(c, s->nodes_pos, "nodes: is not "
				       "supported with stages: yet");
		if (s->search.method == TC_SEARCH_TPE)
			return fail_at(c, s->search.method_pos, "a tpe search "
				       "is not supported with stages: yet "
				       "(grid, random or sobol)");
	}
	return 0;
}

/*
 * A file in another tool's format (spec/import.h): a W&B sweep has a
 * top-level method: and no version: (an experiment file has neither
 * method: at the top nor a missing version:); a Katib Experiment has
 * apiVersion kubeflow.org/... and kind Experiment.
 */
static enum tc_import_format foreign_format(struct ctx *c,
					   const yaml_node_t *root)
{
	yaml_node_pair_t *pair;
	int version = 0, method = 0, kubeflow = 0, experiment = 0;

	for (pair = root->data.mapping.pairs.start;
	     pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);
		const char *key, *val;

		if (!k || !v || k->type != YAML_SCALAR_NODE)
			continue;
		key = (const char *)k->data.scalar.value;
		val = v->type == YAML_SCALAR_NODE
			      ? (const char *)v->data.scalar.value
			      : "";
		version |= !strcmp(key, "version");
		method |= !strcmp(key, "method");
		kubeflow |= !strcmp(key, "apiVersion") &&
			    !strncmp(val, "kubeflow.org/", 13);
		experiment |= !strcmp(key, "kind") && !strcmp(val, "Experiment");
	}
	if (version)
		return TC_IMPORT_NONE;
	if (kubeflow && experiment)
		return TC_IMPORT_KATIB;
	return method ? TC_IMPORT_WANDB : TC_IMPORT_NONE;
}

/* Step 1: bytes libyaml must not see. */
static int check_bytes(struct ctx *c)
{
	const char *nul = memchr(c->text, '\0', c->len);
	const unsigned char *u = (const unsigned char *)c->text;

	if (c->len >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) ||
			    (u[0] == 0xFF && u[1] == 0xFE)))
		return tc_error_at(c->err, TC_ERR_SPEC, c->path, 1, 1,
				   "the file is UTF-16; save it as UTF-8");
	if (nul)
		return fail_at(c, off_pos(c, (size_t)(nul - c->text)),
			       "the file contains a NUL byte (is it binary, or "
			       "UTF-16?); save it as UTF-8 text");
	return 0;
}

/* Step 2: one pass of libyaml's event parser (see the top of the file). */
static int prescan(struct ctx *c)
{
	yaml_parser_t p;
	yaml_event_t ev;
	size_t depth = 0, anchors = 0, aliases = 0, docs = 0;
	int rc = 0, done = 0;

	if (!yaml_parser_initialize(&p))
		return nomem(c);
	yaml_parser_set_input_string(&p, (const unsigned char *)c->text,
				     c->len);
	while (!done && !rc) {
		const char *anchor = NULL;

		if (!yaml_parser_parse(&p, &ev)) {
			rc = yaml_fail(c, &p);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = fail_at(c, mark_pos(&ev.start_mark),
					     "a second YAML document: an "
					     "experiment file holds exactly "
					     "one");
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			anchor = ev.type == YAML_SEQUENCE_START_EVENT
					 ? (const char *)ev.data.sequence_start
						   .anchor
					 : (const char *)ev.data.mapping_start
						   .anchor;
			if (++depth > SPEC_MAX_DEPTH)
				rc = fail_at(c, mark_pos(&ev.start_mark),
					     "nested deeper than %d levels",
					     SPEC_MAX_DEPTH);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			anchor = (const char *)ev.data.scalar.anchor;
			break;
		case YAML_ALIAS_EVENT:
			if (++aliases > SPEC_MAX_ALIASES)
				rc = fail_at(c, mark_pos(&ev.start_mark),
					     "more than %d aliases (*name)",
					     SPEC_MAX_ALIASES);
			break;
		case YAML_NO_EVENT:
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		}
		if (anchor && !rc && ++anchors > SPEC_MAX_ANCHORS)
			rc = fail_at(c, mark_pos(&ev.start_mark),
				     "more than %d anchors (&name)",
				     SPEC_MAX_ANCHORS);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* Step 3: compose the document. */
static int compose(struct ctx *c)
{
	yaml_parser_t p;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return nomem(c);
	yaml_parser_set_input_string(&p, (const unsigned char *)c->text,
				     c->len);
	if (!yaml_parser_load(&p, &c->doc))
		rc = yaml_fail(c, &p);
	else
		c->have_doc = 1;
	yaml_parser_delete(&p);
	return rc;
}

/* The section's JSON trees, the only parts of a spec outside its arena. */
static void free_k8s(struct tc_spec *spec)
{
	for (size_t i = 0; spec && i < spec->nstages; i++) {
		struct tc_spec *v = spec->stages[i].spec;

		if (v && spec->stages[i].own_kubernetes && v->k8s != spec->k8s) {
			json_decref(v->k8s->affinity);
			json_decref(v->k8s->pod_template);
			v->k8s->affinity = v->k8s->pod_template = NULL;
		}
	}
	if (spec && spec->k8s) {
		json_decref(spec->k8s->affinity);
		json_decref(spec->k8s->pod_template);
		spec->k8s->affinity = spec->k8s->pod_template = NULL;
	}
}

static int parse_text(const char *path, const char *buf, size_t len,
		      int recorded, struct tc_spec **out, struct tc_error *err)
{
	struct ctx c;
	yaml_node_t *root;
	char *text;
	enum tc_import_format foreign = TC_IMPORT_NONE;
	int rc;

	*out = NULL;
	tc_error_clear(err);
	memset(&c, 0, sizeof(c));
	c.err = err;
	c.recorded = recorded;
	c.path = path ? path : "<spec>";
	if (len > (size_t)TC_SPEC_MAX_BYTES)
		return tc_error_at(err, TC_ERR_SPEC, c.path, 0, 0,
				   "the file is %zu bytes, more than the %d an "
				   "experiment file may have",
				   len, TC_SPEC_MAX_BYTES);
	if (!buf && len)
		return tc_error_set(err, TC_ERR_INTERNAL, "no spec text");

	c.arena = tc_arena_new();
	if (!c.arena)
		return nomem(&c);
	c.spec = tc_arena_alloc(c.arena, sizeof(*c.spec));
	c.priv = tc_arena_alloc(c.arena, sizeof(*c.priv));
	text = tc_arena_strndup(c.arena, buf ? buf : "", len);
	if (!c.spec || !c.priv || !text ||
	    !(c.spec->k8s = tc_arena_alloc(c.arena, sizeof(*c.spec->k8s)))) {
		rc = nomem(&c);
		goto out;
	}
	c.spec->k8s->limits.cpu = -1;
	c.spec->k8s->limits.memory = -1;
	c.spec->k8s->limit_ephemeral = -1;
	c.spec->k8s->limits.gpu = -1;
	c.spec->k8s->backoff_limit = -1;
	c.spec->k8s->ttl = -1;
	c.priv->arena = c.arena;
	c.spec->arena_ = c.priv;
	c.spec->path = tc_arena_strdup(c.arena, c.path);
	if (!c.spec->path) {
		rc = nomem(&c);
		goto out;
	}
	c.spec->text = c.text = text;
	c.spec->text_len = c.len = len;
	tc_sha256_hex(text, len, c.spec->hash);
	if (build_lines(&c) != 0) {
		rc = nomem(&c);
		goto out;
	}

	rc = check_bytes(&c);
	if (!rc)
		rc = prescan(&c);
	if (!rc)
		rc = compose(&c);
	if (rc)
		goto out;
	root = yaml_document_get_root_node(&c.doc);
	if (!root) {
		rc = tc_error_at(err, TC_ERR_SPEC, c.path, 1, 1,
				 "the file is empty: an experiment needs at "
				 "least version: 1, name: and command:");
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		rc = fail(&c, root, "the top level must be a mapping of keys "
			  "(version: 1, name: ..., command: [...]), not %s",
			  root->type == YAML_SEQUENCE_NODE ? "a list"
							   : "a single value");
		goto out;
	}
	if (!recorded && (foreign = foreign_format(&c, root)) != TC_IMPORT_NONE)
		goto out; /* translated below, once this parse is undone */
	rc = parse_root(&c, root);

out:
	if (c.have_doc)
		yaml_document_delete(&c.doc);
	free(c.lines);
	if (rc) {
		if (err && !err->msg[0])
			tc_error_at(err, rc, c.path, 0, 0,
				    "internal error: the spec was refused "
				    "without a reason");
		free_k8s(c.spec);
		tc_arena_free(c.arena);
		return rc;
	}
	if (foreign != TC_IMPORT_NONE) {
		free_k8s(c.spec);
		tc_arena_free(c.arena);
		return tc_import_spec(foreign, c.path, buf, len, out, err);
	}
	*out = c.spec;
	return 0;
}

int tc_spec_parse(const char *path, const char *buf, size_t len,
		  struct tc_spec **out, struct tc_error *err)
{
	return parse_text(path, buf, len, 0, out, err);
}

int tc_spec_parse_recorded(const char *path, const char *buf, size_t len,
			   struct tc_spec **out, struct tc_error *err)
{
	return parse_text(path, buf, len, 1, out, err);
}

int tc_spec_load(const char *path, struct tc_spec **out, struct tc_error *err)
{
	FILE *f;
	char *buf;
	size_t len = 0, cap = 1 << 16;
	struct stat st;
	int fd, rc;

	*out = NULL;
	tc_error_clear(err);
	/* Non-blocking, so that a FIFO with no writer is refused below
	 * instead of hanging the open; only regular files are read. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return tc_error_at(err, TC_ERR_IO, path, 0, 0,
				   "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0) {
		int e = errno;

		close(fd);
		return tc_error_at(err, TC_ERR_IO, path, 0, 0,
				   "cannot read: %s", strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return tc_error_at(err, TC_ERR_IO, path, 0, 0,
				   "is %s, not an experiment file (give a "
				   "regular file)",
				   S_ISDIR(st.st_mode)    ? "a directory"
				   : S_ISFIFO(st.st_mode) ? "a FIFO or pipe"
				   : S_ISSOCK(st.st_mode) ? "a socket"
							  : "a device");
	}
	if (st.st_size > TC_SPEC_MAX_BYTES) {
		close(fd);
		return tc_error_at(err, TC_ERR_SPEC, path, 0, 0,
				   "the file is %lld bytes, more than "
				   "the %d an experiment file may have",
				   (long long)st.st_size, TC_SPEC_MAX_BYTES);
	}
	if (st.st_size > 0)
		cap = (size_t)st.st_size + 1;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
	    !(f = fdopen(fd, "rb"))) {
		int e = errno;

		close(fd);
		return tc_error_at(err, TC_ERR_IO, path, 0, 0,
				   "cannot read: %s", strerror(e));
	}
	buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *p;

			if (cap > (size_t)TC_SPEC_MAX_BYTES)
				break; /* too big: tc_spec_parse says so */
			p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				fclose(f);
				return tc_error_set(err, TC_ERR_NOMEM,
						    "out of memory");
			}
			buf = p;
			cap *= 2;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno;

		free(buf);
		fclose(f);
		return tc_error_at(err, TC_ERR_IO, path, 0, 0,
				   "cannot read: %s", strerror(e));
	}
	fclose(f);
	rc = tc_spec_parse(path, buf, len, out, err);
	free(buf);
	return rc;
}

void tc_spec_free(struct tc_spec *spec)
{
	struct spec_priv *priv;

	if (!spec)
		return;
	free_k8s(spec);
	priv = spec->arena_;
	if (priv)
		tc_arena_free(priv->arena); /* spec itself lives in it */
}

int tc_spec_param_index(const struct tc_spec *spec, const char *name,
			size_t len)
{
	const struct spec_priv *priv = spec->arena_;
	size_t lo = 0, hi = spec->nparams;

	if (spec->nparams > INT_MAX)
		return -1;
	if (!priv || !priv->by_name) {
		/* a spec built by hand (tests): linear search */
		for (size_t i = 0; i < spec->nparams; i++)
			if (strlen(spec->params[i].name) == len &&
			    memcmp(spec->params[i].name, name, len) == 0)
				return (int)i;
		return -1;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = spec->params[priv->by_name[mid]].name;
		size_t plen = strlen(p);
		int r = memcmp(p, name, plen < len ? plen : len);

		if (r == 0 && plen != len)
			r = plen < len ? -1 : 1;
		if (r == 0)
			return (int)priv->by_name[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const struct tc_value tc_value_absent = {TC_V_ABSENT, NULL, 0, 0.0, 0};

int tc_spec_param_present(const struct tc_spec *spec,
			  const struct tc_value *values, size_t i)
{
	const struct tc_param *p = &spec->params[i];

	if (p->kind == TC_P_DERIVED && values[p->from].type == TC_V_ABSENT)
		return 0;
	for (size_t w = 0; w < p->nwhen; w++) {
		const struct tc_cond *cond = &p->when[w];
		const struct tc_value *v = &values[cond->param];
		size_t k;

		if (v->type == TC_V_ABSENT)
			return 0;
		for (k = 0; k < cond->nvalues; k++)
			if (tc_value_equal(&cond->values[k], v))
				break;
		if (k == cond->nvalues)
			return 0;
	}
	return 1;
}

int tc_spec_param_resolve(const struct tc_spec *spec, struct tc_value *values,
			  size_t i)
{
	const struct tc_param *p = &spec->params[i];
	size_t k;

	if (!tc_spec_param_present(spec, values, i)) {
		values[i] = tc_value_absent;
		return 0;
	}
	if (p->kind != TC_P_DERIVED)
		return 1;
	for (k = 0; k < p->nvalues; k++)
		if (tc_value_equal(&p->keys[k], &values[p->from]))
			break;
	if (k == p->nvalues)
		return TC_ERR_SPEC;
	values[i] = p->values[k];
	return 1;
}

int tc_spec_derive(const struct tc_spec *spec, struct tc_value *values)
{
	for (size_t k = 0; k < spec->nparams; k++) {
		int rc = tc_spec_param_resolve(spec, values,
					       tc_spec_nth(spec, k));

		if (rc < 0)
			return rc;
	}
	return 0;
}

uint64_t tc_spec_grid_size(const struct tc_spec *spec)
{
	uint64_t size = 1;

	for (size_t i = 0; i < spec->nparams; i++) {
		const struct tc_param *p = &spec->params[i];
		uint64_t n;

		if (p->kind != TC_P_VALUES && p->kind != TC_P_CONST)
			continue; /* distributions are not part of a grid */
		n = p->nvalues;
		if (n == 0)
			return 0;
		if (size > UINT64_MAX / n)
			return UINT64_MAX;
		size *= n;
	}
	return size;
}

/* ------------------------------------------------------------------ */
/* For the importers (spec/internal.h)                                  */
/* ------------------------------------------------------------------ */

int tc_spec_yaml_document(const char *path, const char *text, size_t len,
			  yaml_document_t *doc, struct tc_error *err)
{
	struct ctx c;
	int rc;

	tc_error_clear(err);
	memset(&c, 0, sizeof(c));
	c.err = err;
	c.path = path ? path : "<file>";
	if (len > (size_t)TC_SPEC_MAX_BYTES)
		return tc_error_at(err, TC_ERR_SPEC, c.path, 0, 0,
				   "the file is %zu bytes, more than the %d "
				   "trainctl reads", len, TC_SPEC_MAX_BYTES);
	c.text = text;
	c.len = len;
	if (build_lines(&c) != 0)
		return nomem(&c);
	rc = check_bytes(&c);
	if (!rc)
		rc = prescan(&c);
	if (!rc)
		rc = compose(&c);
	free(c.lines);
	if (rc) {
		if (c.have_doc)
			yaml_document_delete(&c.doc);
		return rc;
	}
	*doc = c.doc;
	return 0;
}

void tc_spec_type_plain(const char *s, size_t len, struct tc_value *v)
{
	memset(v, 0, sizeof(*v));
	v->text = s;
	type_plain(s, len, v);
}

int tc_spec_has_section(const char *key)
{
	for (size_t i = 0; i < sizeof(top_keys) / sizeof(top_keys[0]); i++)
		if (!strcmp(top_keys[i], key))
			return 1;
	return 0;
}
