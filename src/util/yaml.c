/*
 * yaml.c — YAML text to a jansson tree, from libyaml's events (see yaml.h
 * for the contract).
 *
 * A stack of frames holds the collections being built.  A node is built
 * as JSON when it is inside the node asked for, inside a node that is
 * built, or anchored (an alias further on may need it); everything else
 * is only counted.  The node asked for is a contiguous run of events, so
 * "inside" is simply "after its first event and before its last".
 *
 * Every anchor remembers its value, how many nodes and how many levels it
 * stands for, and, for a node before the one asked for, the first thing a
 * hook refused in it: that refusal is the caller's error only if an alias
 * brings the anchor into the node asked for.
 */
#include "util/yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

enum kind { K_SCALAR, K_MAP, K_LIST };

struct frame {
	json_t *val;     /* NULL when not built */
	int map;
	char *key;       /* mapping: the key waiting for its value */
	int key_line, key_col;
	int key_merge;   /* that key is a plain << (merge_keys) */
	json_t *merge;   /* what << brought in (explicit keys win) */
	char *anchor;    /* the collection's own &anchor */
	size_t nodes0;   /* the node count when it began */
	int height;      /* the tallest child so far */
	int root;        /* the node asked for */
	struct tc_yaml_fail *poison;
};

struct anchor {
	char *name;
	json_t *val;
	char *key;       /* a scalar's text, for an alias used as a key */
	enum kind kind;
	size_t nodes;    /* nodes the value stands for, aliases expanded */
	int height;
	struct tc_yaml_fail *poison;
};

struct conv {
	const struct tc_yaml_opts *o;
	struct tc_yaml_fail *f;
	struct frame *st;
	int depth, cap;
	struct anchor *an;
	size_t nan, can;
	size_t nodes;      /* every node so far, aliases expanded */
	int found, done;   /* the node asked for began, ended */
	int base;          /* the stack depth where it began */
	size_t nodes0;     /* the node count then */
	json_t *result;
};

__attribute__((format(printf, 4, 5))) static int
failf(struct conv *c, enum tc_yaml_status code, const yaml_mark_t *m,
      const char *fmt, ...)
{
	va_list ap;

	memset(c->f, 0, sizeof(*c->f));
	c->f->code = code;
	if (m) {
		c->f->line = (int)m->line + 1;
		c->f->col = (int)m->column + 1;
	}
	va_start(ap, fmt);
	vsnprintf(c->f->what, sizeof(c->f->what), fmt, ap);
	va_end(ap);
	return code;
}

static int nomem(struct conv *c)
{
	return failf(c, TC_YAML_NOMEM, NULL, "out of memory");
}

static int inside(const struct conv *c)
{
	return c->found && !c->done;
}

/* The level a node placed now has in the node asked for (its root: 1). */
static int level(const struct conv *c)
{
	return c->depth - c->base + 1;
}

static struct frame *top(struct conv *c)
{
	return c->depth ? &c->st[c->depth - 1] : NULL;
}

static int awaiting_key(struct conv *c)
{
	struct frame *t = top(c);

	return t && t->map && !t->key;
}

/* Whether a new node at this event is the one asked for. */
static int is_root(struct conv *c, const yaml_event_t *ev)
{
	if (c->found)
		return 0;
	if (c->o->node_index < 0)
		return c->depth == 0;
	return (long)ev->start_mark.index == c->o->node_index;
}

static void begin(struct conv *c)
{
	c->found = 1;
	c->base = c->depth;
	c->nodes0 = c->nodes;
}

/* Count n more nodes; past the limit inside the node asked for is an
 * error at m. */
static int count(struct conv *c, size_t n, const yaml_mark_t *m)
{
	c->nodes += n;
	if (inside(c) && c->nodes - c->nodes0 > (size_t)c->o->max_nodes)
		return failf(c, TC_YAML_NODES, m, "more than %d nodes",
			     c->o->max_nodes);
	return 0;
}

/* A node height levels tall placed at the current level. */
static int check_depth(struct conv *c, int height, const yaml_mark_t *m)
{
	if (inside(c) && level(c) - 1 + height > c->o->max_depth)
		return failf(c, TC_YAML_DEPTH, m, "deeper than %d levels",
			     c->o->max_depth);
	return 0;
}

/* A hook's refusal: the caller's error inside the node asked for, else
 * kept in the enclosing frame for an alias to bring in. */
static int refused(struct conv *c, const struct tc_yaml_fail *hf)
{
	struct frame *t = top(c);

	if (inside(c) || !t) {
		if (hf != c->f)
			*c->f = *hf;
		c->f->code = TC_YAML_HOOK;
		return TC_YAML_HOOK;
	}
	if (!t->poison) {
		t->poison = malloc(sizeof(*t->poison));
		if (!t->poison)
			return nomem(c);
		*t->poison = *hf;
		t->poison->code = TC_YAML_HOOK;
	}
	return 0;
}

static int add_anchor(struct conv *c, const char *name, json_t *v,
		      const char *key, enum kind kind, size_t nodes,
		      int height, const struct tc_yaml_fail *poison,
		      const yaml_mark_t *m)
{
	struct anchor *a;

	if (c->nan == (size_t)c->o->max_anchors)
		return failf(c, TC_YAML_ANCHORS, m, "more than %d anchors",
			     c->o->max_anchors);
	if (c->nan == c->can) {
		size_t cap = c->can ? 2 * c->can : 16;

		a = realloc(c->an, cap * sizeof(*a));
		if (!a)
			return nomem(c);
		c->an = a;
		c->can = cap;
	}
	a = &c->an[c->nan];
	memset(a, 0, sizeof(*a));
	a->name = strdup(name);
	a->key = key ? strdup(key) : NULL;
	if (poison && (a->poison = malloc(sizeof(*a->poison))))
		*a->poison = *poison;
	if (!a->name || (key && !a->key) || (poison && !a->poison)) {
		free(a->name);
		free(a->key);
		free(a->poison);
		return nomem(c);
	}
	a->val = json_incref(v);
	a->kind = kind;
	a->nodes = nodes;
	a->height = height;
	c->nan++;
	return 0;
}

/* The latest definition of an anchor wins, as YAML says. */
static const struct anchor *find_anchor(const struct conv *c,
					const char *name)
{
	size_t i = c->nan;

	while (i-- > 0)
		if (!strcmp(c->an[i].name, name))
			return &c->an[i];
	return NULL;
}

/* "<<: v": v is a mapping or a list of them; earlier ones win. */
static int merge_in(struct conv *c, struct frame *f, json_t *v,
		    const yaml_mark_t *m)
{
	size_t i;
	json_t *e;

	if (!f->merge) {
		f->merge = json_object();
		if (!f->merge)
			return nomem(c);
	}
	if (json_is_object(v))
		return json_object_update_missing(f->merge, v) ? nomem(c) : 0;
	if (!json_is_array(v))
		return failf(c, TC_YAML_MERGE, m, "<< merges mappings");
	json_array_foreach(v, i, e) {
		if (!json_is_object(e))
			return failf(c, TC_YAML_MERGE, m, "<< merges mappings");
		if (json_object_update_missing(f->merge, e))
			return nomem(c);
	}
	return 0;
}

/* Put a finished node (v, height levels) where it belongs; steals v. */
static int place(struct conv *c, json_t *v, int height, int root,
		 const yaml_mark_t *m)
{
	struct frame *f = top(c);
	int rc = 0;

	if (root) {
		c->result = json_incref(v);
		c->done = 1;
	}
	if (!f) {
		json_decref(v);
		return 0;
	}
	if (height > f->height)
		f->height = height;
	if (!f->val) {
		json_decref(v);
	} else if (!f->map) {
		if (json_array_append_new(f->val, v))
			rc = nomem(c);
	} else if (f->key_merge) {
		rc = merge_in(c, f, v, m);
		json_decref(v);
	} else if (c->o->strict_keys && json_object_get(f->val, f->key)) {
		yaml_mark_t km = {0, (size_t)f->key_line - 1,
				  (size_t)f->key_col - 1};

		json_decref(v);
		rc = failf(c, TC_YAML_DUPLICATE, &km, "%s", f->key);
	} else if (json_object_set_new(f->val, f->key, v)) {
		rc = nomem(c); /* v is gone either way */
	}
	free(f->key);
	f->key = NULL;
	f->key_merge = 0;
	return rc;
}

static int word_in(const char *s, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n && !memcmp(s, *words, n))
			return 1;
	return 0;
}

/* The scalar without a hook: a plain null (~, null, empty) is null,
 * everything else the text as written. */
static json_t *plain_json(const struct tc_yaml_scalar *s,
			  struct tc_yaml_fail *f)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL",
					    NULL};
	json_t *v;

	if ((s->implicit || (s->tag && !strcmp(s->tag, YAML_NULL_TAG))) &&
	    word_in(s->text, s->len, nulls))
		return json_null();
	v = json_stringn(s->text, s->len);
	if (!v) {
		memset(f, 0, sizeof(*f));
		f->line = s->line;
		f->col = s->col;
		snprintf(f->what, sizeof(f->what),
			 "a scalar that is not valid text");
	}
	return v;
}

static struct tc_yaml_scalar scalar_of(const yaml_event_t *ev)
{
	struct tc_yaml_scalar s;

	s.text = (const char *)ev->data.scalar.value;
	s.len = ev->data.scalar.length;
	s.plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	s.implicit = ev->data.scalar.plain_implicit;
	s.tag = (const char *)ev->data.scalar.tag;
	s.line = (int)ev->start_mark.line + 1;
	s.col = (int)ev->start_mark.column + 1;
	return s;
}

/* The key of the mapping on top: text (len bytes) at s, checked. */
static int set_key(struct conv *c, const struct tc_yaml_scalar *s,
		   const yaml_mark_t *m)
{
	struct frame *f = top(c);
	struct tc_yaml_fail hf = {0};

	if (inside(c) && c->o->key && c->o->key(c->o->ctx, level(c) - 1, s,
						 &hf)) {
		*c->f = hf;
		c->f->code = TC_YAML_HOOK;
		return TC_YAML_HOOK;
	}
	f->key = strndup(s->text, s->len);
	if (!f->key)
		return nomem(c);
	f->key_line = (int)m->line + 1;
	f->key_col = (int)m->column + 1;
	f->key_merge = c->o->merge_keys && s->implicit && s->len == 2 &&
		       !memcmp(s->text, "<<", 2);
	return 0;
}

/* A scalar's value through the hook, or NULL with hf filled. */
static json_t *value_of(struct conv *c, const struct tc_yaml_scalar *s,
			struct tc_yaml_fail *hf)
{
	memset(hf, 0, sizeof(*hf));
	return c->o->scalar ? c->o->scalar(c->o->ctx, s, hf)
			    : plain_json(s, hf);
}

static int on_scalar(struct conv *c, const yaml_event_t *ev)
{
	const char *anchor = (const char *)ev->data.scalar.anchor;
	struct tc_yaml_scalar s = scalar_of(ev);
	const struct tc_yaml_fail *mine = NULL;
	struct tc_yaml_fail hf;
	int root, rc;
	json_t *v;

	if (awaiting_key(c)) {
		rc = count(c, 1, &ev->start_mark);
		if (!rc)
			rc = set_key(c, &s, &ev->start_mark);
		if (rc || !anchor)
			return rc;
		v = value_of(c, &s, &hf);
		rc = add_anchor(c, anchor, v ? v : json_null(), top(c)->key,
				K_SCALAR, 1, 1, v ? NULL : &hf,
				&ev->start_mark);
		json_decref(v);
		return rc;
	}
	root = is_root(c, ev);
	if (root)
		begin(c);
	if ((rc = count(c, 1, &ev->start_mark)) ||
	    (rc = check_depth(c, 1, &ev->start_mark)))
		return rc;
	if (!inside(c) && !anchor && !(top(c) && top(c)->val))
		return 0; /* nothing needs it */
	v = value_of(c, &s, &hf);
	if (!v) {
		if (hf.code == TC_YAML_NOMEM)
			return nomem(c);
		rc = refused(c, &hf);
		if (rc)
			return rc;
		v = json_null(); /* stands in for it outside */
		mine = &hf;
	}
	if (anchor && (rc = add_anchor(c, anchor, v, s.text, K_SCALAR, 1, 1,
				       mine, &ev->start_mark))) {
		json_decref(v);
		return rc;
	}
	return place(c, v, 1, root, &ev->start_mark);
}

static int on_alias(struct conv *c, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *a;
	int rc;

	for (int i = 0; i < c->depth; i++)
		if (c->st[i].anchor && !strcmp(c->st[i].anchor, name))
			return failf(c, TC_YAML_SELF, &ev->start_mark, "%s",
				     name);
	a = find_anchor(c, name);
	if (!a)
		return failf(c, TC_YAML_UNDEFINED, &ev->start_mark, "%s",
			     name);
	rc = count(c, a->nodes, &ev->start_mark);
	if (rc)
		return rc;
	if (awaiting_key(c)) {
		struct tc_yaml_scalar s = {0};

		if (a->kind != K_SCALAR ||
		    (!c->o->scalar && !json_is_string(a->val)))
			return failf(c, TC_YAML_KEY, &ev->start_mark, "%s",
				     a->kind == K_MAP    ? "mapping"
				     : a->kind == K_LIST ? "list"
							 : "");
		s.text = a->key;
		s.len = strlen(a->key);
		s.line = (int)ev->start_mark.line + 1;
		s.col = (int)ev->start_mark.column + 1;
		return set_key(c, &s, &ev->start_mark);
	}
	if ((rc = check_depth(c, a->height, &ev->start_mark)))
		return rc;
	if (a->poison && (rc = refused(c, a->poison)))
		return rc;
	return place(c, json_incref(a->val), a->height, 0, &ev->start_mark);
}

static int on_start(struct conv *c, const yaml_event_t *ev)
{
	int map = ev->type == YAML_MAPPING_START_EVENT;
	const char *anchor =
		map ? (const char *)ev->data.mapping_start.anchor
		    : (const char *)ev->data.sequence_start.anchor;
	struct frame *f, *parent = top(c);
	size_t nodes0 = c->nodes;
	int root, rc;

	if (awaiting_key(c))
		return failf(c, TC_YAML_KEY, &ev->start_mark, "%s",
			     map ? "mapping" : "list");
	root = is_root(c, ev);
	if (root)
		begin(c);
	if ((rc = count(c, 1, &ev->start_mark)) ||
	    (rc = check_depth(c, 1, &ev->start_mark)))
		return rc;
	if (c->depth == c->cap) {
		int cap = c->cap ? 2 * c->cap : 16;
		struct frame *st = realloc(c->st, (size_t)cap * sizeof(*st));

		if (!st)
			return nomem(c);
		c->st = st;
		c->cap = cap;
	}
	f = &c->st[c->depth];
	memset(f, 0, sizeof(*f));
	f->map = map;
	f->root = root;
	f->nodes0 = nodes0;
	if (inside(c) || anchor || (parent && parent->val)) {
		f->val = map ? json_object() : json_array();
		if (!f->val)
			return nomem(c);
	}
	c->depth++;
	if (anchor && !(f->anchor = strdup(anchor)))
		return nomem(c);
	return 0;
}

static int on_end(struct conv *c, const yaml_event_t *ev)
{
	struct frame f = c->st[c->depth - 1];
	struct frame *parent;
	int rc = 0;

	c->depth--;
	parent = top(c);
	if (f.merge && json_object_update_missing(f.val, f.merge))
		rc = nomem(c);
	if (!rc && f.anchor)
		rc = add_anchor(c, f.anchor, f.val, NULL,
				f.map ? K_MAP : K_LIST, c->nodes - f.nodes0,
				f.height + 1, f.poison, &ev->start_mark);
	if (!rc && f.poison && parent && !parent->poison) {
		parent->poison = f.poison;
		f.poison = NULL;
	}
	free(f.key);
	free(f.anchor);
	free(f.poison);
	json_decref(f.merge);
	if (rc) {
		json_decref(f.val);
		return rc;
	}
	return place(c, f.val ? f.val : json_null(), f.height + 1, f.root,
		     &ev->start_mark);
}

/* A libyaml failure. */
static int parser_fail(struct conv *c, const yaml_parser_t *p)
{
	struct tc_yaml_fail *f = c->f;

	if (p->error == YAML_MEMORY_ERROR)
		return nomem(c);
	memset(f, 0, sizeof(*f));
	snprintf(f->what, sizeof(f->what), "%s",
		 p->problem ? p->problem : "unknown problem");
	if (p->error == YAML_READER_ERROR) {
		f->code = TC_YAML_READER;
		f->offset = p->problem_offset;
		f->value = p->problem_value;
		return f->code;
	}
	f->code = TC_YAML_SYNTAX;
	f->line = (int)p->problem_mark.line + 1;
	f->col = (int)p->problem_mark.column + 1;
	if (p->context) {
		snprintf(f->context, sizeof(f->context), "%s", p->context);
		f->context_line = (int)p->context_mark.line + 1;
		f->context_col = (int)p->context_mark.column + 1;
	}
	return f->code;
}

int tc_yaml_to_json(const char *text, size_t len,
		    const struct tc_yaml_opts *o, json_t **out,
		    struct tc_yaml_fail *f)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct conv c;
	int rc = 0, stop = 0;

	*out = NULL;
	memset(f, 0, sizeof(*f));
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.f = f;
	if (!yaml_parser_initialize(&p))
		return nomem(&c);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!stop && !rc && !c.done) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = parser_fail(&c, &p);
			break;
		}
		switch (ev.type) {
		case YAML_SCALAR_EVENT:
			rc = on_scalar(&c, &ev);
			break;
		case YAML_ALIAS_EVENT:
			rc = on_alias(&c, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			rc = on_start(&c, &ev);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			rc = on_end(&c, &ev);
			break;
		case YAML_DOCUMENT_END_EVENT: /* the first document only */
		case YAML_STREAM_END_EVENT:
			stop = 1;
			break;
		case YAML_NO_EVENT:
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	while (c.depth > 0) {
		struct frame *fr = &c.st[--c.depth];

		json_decref(fr->val);
		json_decref(fr->merge);
		free(fr->key);
		free(fr->anchor);
		free(fr->poison);
	}
	free(c.st);
	for (size_t i = 0; i < c.nan; i++) {
		free(c.an[i].name);
		free(c.an[i].key);
		free(c.an[i].poison);
		json_decref(c.an[i].val);
	}
	free(c.an);
	if (rc) {
		json_decref(c.result);
		return rc;
	}
	*out = c.result;
	return 0;
}
