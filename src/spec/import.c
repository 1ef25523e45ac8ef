/*
 * import.c — what the importers share (see import.h): the writer of the
 * translation with its map of positions, the mapping back of errors and
 * of a parsed spec's positions, and the entry points.
 */
#include "spec/import.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/kspec.h"
#include "spec/internal.h"
#include "util/hash.h"

/* ---- the writer ------------------------------------------------------- */

static void put(struct tc_yw *w, const char *s, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		char *b;

		while (w->len + n + 1 > cap)
			cap *= 2;
		b = realloc(w->buf, cap);
		if (!b) {
			w->oom = 1;
			return;
		}
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			w->line++;
			w->col = 1;
		} else if (((unsigned char)s[i] & 0xC0) != 0x80) {
			w->col++; /* libyaml counts characters */
		}
	}
}

void tc_yw_raw(struct tc_yw *w, const char *s)
{
	put(w, s, strlen(s));
}

void tc_yw_printf(struct tc_yw *w, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	put(w, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void tc_yw_mark(struct tc_yw *w, struct tc_pos src)
{
	if (w->oom)
		return;
	if (w->nmap == w->mapcap) {
		size_t cap = w->mapcap ? w->mapcap * 2 : 64;
		struct tc_import_pos *m = realloc(w->map, cap * sizeof(*m));

		if (!m) {
			w->oom = 1;
			return;
		}
		w->map = m;
		w->mapcap = cap;
	}
	w->map[w->nmap].line = w->line;
	w->map[w->nmap].col = w->col;
	w->map[w->nmap].src = src;
	w->nmap++;
}

/* Plain in flow and block context, and typed as a string stays one? */
static int plain_safe(const char *s)
{
	if (!*s || !strcmp(s, "-"))
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		      *p == '-' || *p == '+' || *p == '/'))
			return 0;
	return 1;
}

static void quoted(struct tc_yw *w, const char *s, size_t n)
{
	put(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[8];

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			put(w, esc, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", ch);
			put(w, esc, 4);
		} else {
			put(w, (const char *)&s[i], 1);
		}
	}
	put(w, "\"", 1);
}

void tc_yw_string(struct tc_yw *w, const char *s)
{
	struct tc_value v;

	tc_spec_type_plain(s, strlen(s), &v);
	if (plain_safe(s) && v.type == TC_V_STR)
		tc_yw_raw(w, s);
	else
		quoted(w, s, strlen(s));
}

int tc_yw_scalar(struct tc_yw *w, const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	struct tc_value v;

	if (memchr(s, '\0', len))
		return tc_yw_fail(w, n, "a value contains a NUL character");
	tc_yw_mark(w, tc_yw_pos(n));
	/* Typed by its style, as the experiment-file loader types (tags
	 * are not read there either): plain stays plain when it reads
	 * back the same; quoted stays a string. */
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		quoted(w, s, len);
		return 0;
	}
	tc_spec_type_plain(s, len, &v);
	if (plain_safe(s) ||
	    (v.type != TC_V_STR && len && !strpbrk(s, " ,[]{}#:\"'")))
		tc_yw_raw(w, len ? s : "null");
	else
		quoted(w, s, len);
	return 0;
}

void tc_yw_comment(struct tc_yw *w, const char *indent, const char *text)
{
	const char *p = text;

	do {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		tc_yw_raw(w, indent);
		tc_yw_raw(w, n ? "# " : "#");
		for (size_t i = 0; i < n; i++) {
			/* a comment is one line of printable text */
			char ch = (unsigned char)p[i] < 0x20 ? ' ' : p[i];

			put(w, &ch, 1);
		}
		tc_yw_raw(w, "\n");
		p = nl ? nl + 1 : NULL;
	} while (p && *p);
}

yaml_node_t *tc_yw_node(struct tc_yw *w, int index)
{
	return yaml_document_get_node(w->doc, index);
}

struct tc_pos tc_yw_pos(const yaml_node_t *n)
{
	struct tc_pos p = {0, 0};

	if (n) {
		p.line = (int)n->start_mark.line + 1;
		p.col = (int)n->start_mark.column + 1;
	}
	return p;
}

yaml_node_t *tc_yw_get(struct tc_yw *w, const yaml_node_t *n, const char *key,
		       yaml_node_t **k)
{
	if (k)
		*k = NULL;
	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = tc_yw_node(w, pair->key);

		if (kn && kn->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)kn->data.scalar.value, key)) {
			if (k)
				*k = kn;
			return tc_yw_node(w, pair->value);
		}
	}
	return NULL;
}

const char *tc_yw_text(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

int tc_yw_fail(struct tc_yw *w, const yaml_node_t *n, const char *fmt, ...)
{
	struct tc_pos p = tc_yw_pos(n);
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tc_error_at(w->err, TC_ERR_SPEC, w->path, p.line, p.col, "%s",
			   msg);
}

int tc_yw_keys(struct tc_yw *w, const yaml_node_t *n, const char *what,
	       const char *const *names, size_t nnames)
{
	if (n->type != YAML_MAPPING_NODE)
		return tc_yw_fail(w, n, "%s must be a mapping", what);
	for (yaml_node_pair_t *pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = tc_yw_node(w, pair->key);
		const char *key = tc_yw_text(k);
		size_t i;

		if (!key)
			return tc_yw_fail(w, k, "keys in %s must be names", what);
		for (i = 0; i < nnames; i++)
			if (!strcmp(names[i], key))
				break;
		if (i == nnames) {
			const char *hint = tc_did_you_mean(key, names, nnames);
			char list[512] = "";

			for (i = 0; i < nnames; i++) {
				size_t l = strlen(list);

				snprintf(list + l, sizeof(list) - l, "%s%s",
					 i ? ", " : "", names[i]);
			}
			if (hint)
				return tc_yw_fail(w, k, "unknown key '%.60s' in "
						  "%s (did you mean '%s'?)",
						  key, what, hint);
			return tc_yw_fail(w, k, "unknown key '%.60s' in %s; "
					  "trainctl reads: %s", key, what, list);
		}
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start;
		     q < pair; q++) {
			const char *prev = tc_yw_text(tc_yw_node(w, q->key));

			if (prev && !strcmp(prev, key))
				return tc_yw_fail(w, k, "duplicate key '%.60s' "
						  "in %s", key, what);
		}
	}
	return 0;
}

void tc_yw_double(double d, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (tc_spec_strtod(buf, NULL) == d)
			break;
	}
	if (!strpbrk(buf, ".eEn") && strlen(buf) + 3 < len)
		strcat(buf, ".0");
}

void tc_yw_name(const char *from, char out[TC_NAME_MAX + 1])
{
	size_t n = 0;
	int dash = 0;

	for (const char *s = from; *s && n < TC_NAME_MAX; s++) {
		char ch = *s;

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
			if (dash && n > 0) {
				if (n + 2 > TC_NAME_MAX)
					break; /* never end in '-' */
				out[n++] = '-';
			}
			dash = 0;
			out[n++] = ch;
		} else {
			dash = 1;
		}
	}
	out[n] = '\0';
}

int tc_yw_param_name(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	      *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
		      *s == '-'))
			return 0;
	return 1;
}

/* ---- translations ------------------------------------------------------ */

void tc_import_free(struct tc_import *im)
{
	if (!im)
		return;
	free(im->text);
	free(im->map);
	memset(im, 0, sizeof(*im));
}

int tc_import_translate(enum tc_import_format f, const char *path,
			const char *text, size_t len, unsigned flags,
			struct tc_import *out, struct tc_error *err)
{
	yaml_document_t doc;
	yaml_node_t *root;
	struct tc_yw w;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = tc_spec_yaml_document(path, text, len, &doc, err);
	if (rc)
		return rc;
	memset(&w, 0, sizeof(w));
	w.line = w.col = 1;
	w.path = path ? path : "<file>";
	w.doc = &doc;
	w.err = err;
	root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE)
		rc = tc_error_at(err, TC_ERR_SPEC, w.path, 1, 1,
				 "the top level must be a mapping of keys");
	else if (f == TC_IMPORT_WANDB)
		rc = tc_import_wandb(&w, root, flags);
	else if (f == TC_IMPORT_KATIB)
		rc = tc_import_katib(&w, root, flags);
	else
		rc = tc_error_set(err, TC_ERR_INTERNAL, "no such format");
	yaml_document_delete(&doc);
	if (!rc && w.oom)
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if (rc) {
		free(w.buf);
		free(w.map);
		return rc;
	}
	out->text = w.buf;
	out->len = w.len;
	out->map = w.map;
	out->nmap = w.nmap;
	return 0;
}

struct tc_pos tc_import_source(const struct tc_import *im, int line, int col)
{
	struct tc_pos p = {1, 1};

	for (size_t i = 0; i < im->nmap; i++) {
		const struct tc_import_pos *m = &im->map[i];

		if (m->line > line || (m->line == line && m->col > col))
			break;
		p = m->src;
	}
	return p;
}

static void remap(const struct tc_import *im, struct tc_pos *p)
{
	if (p->line > 0)
		*p = tc_import_source(im, p->line, p->col);
}

/* Every position a parsed spec keeps, into the original file's. */
static void remap_spec(const struct tc_import *im, struct tc_spec *s)
{
	for (size_t i = 0; i < s->nparams; i++) {
		remap(im, &s->params[i].pos);
		remap(im, &s->params[i].from_pos);
		remap(im, &s->params[i].probs_pos);
	}
	for (size_t i = 0; i < s->ncommand; i++)
		remap(im, &s->command[i].pos);
	remap(im, &s->script.pos);
	for (size_t i = 0; i < s->nenv; i++)
		remap(im, &s->env[i].pos);
	for (size_t i = 0; i < s->search.nexclude; i++) {
		remap(im, &s->search.exclude[i].pos);
		for (size_t k = 0; k < s->search.exclude[i].n; k++)
			remap(im, &s->search.exclude[i].a[k].pos);
	}
	for (size_t i = 0; i < s->search.ninclude; i++) {
		remap(im, &s->search.include[i].pos);
		for (size_t k = 0; k < s->search.include[i].n; k++)
			remap(im, &s->search.include[i].a[k].pos);
	}
	remap(im, &s->metric.regex_pos);
	remap(im, &s->resources.cpu_template.pos);
	remap(im, &s->resources.memory_template.pos);
	remap(im, &s->workdir_pos);
	remap(im, &s->nodes_pos);
	if (s->k8s)
		remap(im, &s->k8s->pos);
}

/* Parse a translation; errors mapped back to the original at path. */
static int parse_translation(const struct tc_import *im, const char *path,
			     struct tc_spec **out, struct tc_error *err)
{
	int rc = tc_spec_parse(path, im->text, im->len, out, err);

	if (rc) {
		if (err && err->line > 0) {
			struct tc_pos p = tc_import_source(im, err->line,
							   err->col);

			err->line = p.line;
			err->col = p.col;
		}
		return rc;
	}
	remap_spec(im, *out);
	return 0;
}

int tc_import_spec(enum tc_import_format f, const char *path, const char *buf,
		   size_t len, struct tc_spec **out, struct tc_error *err)
{
	struct tc_import im;
	int rc;

	*out = NULL;
	if (f == TC_IMPORT_KATIB)
		return tc_error_at(err, TC_ERR_SPEC, path, 1, 1,
				   "this is a Katib Experiment: translate it "
				   "with `trainctl import katib %s > "
				   "experiment.yaml`, then run that",
				   path);
	rc = tc_import_translate(f, path, buf, len, TC_IMPORT_RUNNABLE, &im,
				 err);
	if (rc)
		return rc;
	rc = parse_translation(&im, path, out, err);
	if (!rc)
		tc_sha256_hex(buf, len, (*out)->hash);
	tc_import_free(&im);
	return rc;
}

int tc_import_check(enum tc_import_format f, const char *path,
		    const char *buf, size_t len, struct tc_error *err)
{
	struct tc_import im;
	struct tc_spec *spec = NULL;
	int rc;

	rc = tc_import_translate(f, path, buf, len, TC_IMPORT_CHECKABLE, &im,
				 err);
	if (rc)
		return rc;
	rc = parse_translation(&im, path, &spec, err);
	tc_spec_free(spec);
	tc_import_free(&im);
	return rc;
}
