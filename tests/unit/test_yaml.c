/*
 * test_yaml.c — the one YAML to JSON converter (src/util/yaml): scalars,
 * anchors, aliases and merge keys, the limits counted with aliases
 * expanded, each failure's position, and converting one node of a
 * document (the spec's kubernetes: section) with hooks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/yaml.h"

static struct tc_yaml_opts opts(void)
{
	struct tc_yaml_opts o = {.max_depth = 100,
				 .max_nodes = 1000,
				 .max_anchors = 10,
				 .merge_keys = 1,
				 .node_index = -1};

	return o;
}

static json_t *ok(const char *text, const struct tc_yaml_opts *o)
{
	struct tc_yaml_fail f;
	json_t *j = NULL;
	int rc = tc_yaml_to_json(text, strlen(text), o, &j, &f);

	if (rc)
		fail_msg("expected JSON, got %d at %d:%d: %s", rc, f.line, f.col,
			 f.what);
	return j;
}

static void bad(const char *text, const struct tc_yaml_opts *o,
		enum tc_yaml_status code, int line, int col, const char *what)
{
	struct tc_yaml_fail f;
	json_t *j = NULL;
	int rc = tc_yaml_to_json(text, strlen(text), o, &j, &f);

	if (j)
		fail_msg("%s: converted, expected failure %d", text, code);
	if (rc != (int)code || f.code != code || f.line != line ||
	    f.col != col || (what && strcmp(f.what, what) != 0))
		fail_msg("%s: expected %d at %d:%d '%s', got %d at %d:%d '%s'",
			 text, code, line, col, what ? what : "", rc, f.line,
			 f.col, f.what);
}

static void same(json_t *j, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);

	assert_non_null(w);
	if (!json_equal(j, w)) {
		char *got = json_dumps(j, JSON_COMPACT);

		fail_msg("got %s, want %s", got, want);
	}
	json_decref(w);
	json_decref(j);
}

/* Without hooks (a kubeconfig): every scalar a string or null. */
static void test_plain(void **state)
{
	struct tc_yaml_opts o = opts();

	(void)state;
	same(ok("a: 1\nb: [true, ~, '', \"x\", null]\nc: {d: e}\n", &o),
	     "{\"a\": \"1\", \"b\": [\"true\", null, \"\", \"x\", null], "
	     "\"c\": {\"d\": \"e\"}}");
	/* the first document only; none is NULL */
	same(ok("a: 1\n---\nb: 2\n", &o), "{\"a\": \"1\"}");
	assert_null(ok("# nothing\n", &o));
	/* the last key wins unless strict */
	same(ok("a: 1\na: 2\n", &o), "{\"a\": \"2\"}");
	o.strict_keys = 1;
	bad("a: 1\nb: 0\na: 2\n", &o, TC_YAML_DUPLICATE, 3, 1, "a");
}

static void test_anchors(void **state)
{
	struct tc_yaml_opts o = opts();

	(void)state;
	same(ok("base: &b {x: 1, y: 2}\n"
		"m:\n  <<: *b\n  y: 3\n"
		"l: [*b, &s str, *s]\n"
		"? &k key\n: *k\n"
		"n: {<<: [{p: 1}, {p: 2, q: 2}]}\n",
		&o),
	     "{\"base\": {\"x\": \"1\", \"y\": \"2\"},"
	     " \"m\": {\"y\": \"3\", \"x\": \"1\"},"
	     " \"l\": [{\"x\": \"1\", \"y\": \"2\"}, \"str\", \"str\"],"
	     " \"key\": \"key\", \"n\": {\"p\": \"1\", \"q\": \"2\"}}");
	/* without merge keys, << is a key like any other */
	o.merge_keys = 0;
	same(ok("m: {<<: a}\n", &o), "{\"m\": {\"<<\": \"a\"}}");
	o.merge_keys = 1;
	bad("m: {<<: a}\n", &o, TC_YAML_MERGE, 1, 9, NULL);
	bad("a: *nothing\n", &o, TC_YAML_UNDEFINED, 1, 4, "nothing");
	bad("a: &x [1, *x]\n", &o, TC_YAML_SELF, 1, 11, "x");
	bad("a: &x {b: {c: *x}}\n", &o, TC_YAML_SELF, 1, 15, "x");
	bad("? [a]\n: b\n", &o, TC_YAML_KEY, 1, 3, "list");
	bad("l: &l [1]\n? *l\n: b\n", &o, TC_YAML_KEY, 2, 3, "list");
	bad("a: [&a 1, &b 2, &c 3, &d 4, &e 5, &f 6, &g 7, &h 8, &i 9, "
	    "&j 10, &k 11]\n",
	    &o, TC_YAML_ANCHORS, 1, 66, NULL);
}

/* Limits count what aliases expand to, and fail where that happens. */
static void test_limits(void **state)
{
	struct tc_yaml_opts o = opts();

	(void)state;
	o.max_nodes = 30;
	/* map, a, list and 3, b, list: 8; each alias 4 more */
	same(ok("a: &a [x, y, z]\nb: [*a, *a, *a]\n", &o),
	     "{\"a\": [\"x\", \"y\", \"z\"], \"b\": [[\"x\", \"y\", \"z\"], "
	     "[\"x\", \"y\", \"z\"], [\"x\", \"y\", \"z\"]]}");
	bad("a: &a [x, y, z]\nb: [*a, *a, *a, *a, *a, *a]\n", &o, TC_YAML_NODES, 2,
	    25, NULL);

	o.max_nodes = 1000;
	o.max_depth = 4; /* map, list, list, scalar */
	same(ok("a: [[x]]\n", &o), "{\"a\": [[\"x\"]]}");
	bad("a: [[[x]]]\n", &o, TC_YAML_DEPTH, 1, 7, NULL);
	/* an alias is as deep as what it names */
	same(ok("a: &a [x]\nb: [*a]\n", &o),
	     "{\"a\": [\"x\"], \"b\": [[\"x\"]]}");
	bad("a: &a [[x]]\nb: [*a]\n", &o, TC_YAML_DEPTH, 2, 5, NULL);
	bad("a: [&a [x], [*a]]\n", &o, TC_YAML_DEPTH, 1, 14, NULL);

	/* not YAML: libyaml's problem and where */
	{
		struct tc_yaml_fail f;
		json_t *j;

		assert_int_equal(tc_yaml_to_json("a: [b\nc: d\n", 11, &o, &j,
						 &f),
				 TC_YAML_SYNTAX);
		assert_int_equal(f.line, 2);
		assert_true(f.what[0] != '\0');
		assert_int_equal(tc_yaml_to_json("a: \xff\n", 6, &o, &j, &f),
				 TC_YAML_READER);
		assert_int_equal(f.offset, 3);
	}
}

/* Hooks as the spec uses them: typed scalars, checked keys. */
static json_t *typed(void *ctx, const struct tc_yaml_scalar *s,
		     struct tc_yaml_fail *f)
{
	(void)ctx;
	if (s->plain && s->len == 3 && !memcmp(s->text, "bad", 3)) {
		f->code = TC_YAML_HOOK;
		f->line = s->line;
		f->col = s->col;
		snprintf(f->what, sizeof(f->what), "no bad values");
		return NULL;
	}
	if (s->plain && s->len && s->text[0] >= '0' && s->text[0] <= '9')
		return json_integer(strtoll(s->text, NULL, 10));
	return json_stringn(s->text, s->len);
}

static int depths[8];

static int key_hook(void *ctx, int depth, const struct tc_yaml_scalar *k,
		    struct tc_yaml_fail *f)
{
	(void)ctx;
	if (depth >= 0 && depth < 8)
		depths[depth]++;
	if (depth == 1 && !strcmp(k->text, "nope")) {
		f->code = TC_YAML_HOOK;
		f->line = k->line;
		f->col = k->col;
		snprintf(f->what, sizeof(f->what), "unknown key");
		return -1;
	}
	return 0;
}

static void test_node(void **state)
{
	static const char text[] = "top: &t {n: 1}\n"
				   "other: [&v bad, &w 2]\n"
				   "sect:\n"
				   "  a: 5\n"
				   "  b: *t\n"
				   "  c: {nope: *w}\n"
				   "after: bad\n";
	struct tc_yaml_opts o = opts();
	const char *sect = strstr(text, "  a: 5") + 2;

	(void)state;
	o.scalar = typed;
	o.key = key_hook;
	o.strict_keys = 1;
	o.merge_keys = 0;
	o.node_index = (long)(sect - text);
	/* only the node asked for, aliases to what came before resolved; a
	 * refused value before it (bad) does not matter unless named */
	memset(depths, 0, sizeof(depths));
	same(ok(text, &o), "{\"a\": 5, \"b\": {\"n\": 1}, \"c\": {\"nope\": 2}}");
	assert_int_equal(depths[0], 0); /* keys before it are not the hook's */
	assert_int_equal(depths[1], 3);
	assert_int_equal(depths[2], 1);

	/* a refusal in a value named from inside: at the value */
	{
		char t2[256];

		snprintf(t2, sizeof(t2),
			 "other: [&v bad, 2]\nsect:\n  a: *v\n");
		o.node_index = (long)(strstr(t2, "a: *v") - t2);
		bad(t2, &o, TC_YAML_HOOK, 1, 9, "no bad values");
		/* ... and inside, at once */
		snprintf(t2, sizeof(t2), "sect:\n  a: [1, bad]\n");
		o.node_index = (long)(strstr(t2, "a: [") - t2);
		bad(t2, &o, TC_YAML_HOOK, 2, 10, "no bad values");
		/* the key hook at depth 1 */
		snprintf(t2, sizeof(t2), "sect:\n  a: 1\n  nope: 2\n");
		o.node_index = (long)(strstr(t2, "a: 1") - t2);
		bad(t2, &o, TC_YAML_HOOK, 3, 3, "unknown key");
		/* the limits count from the node asked for */
		o.max_depth = 2;
		snprintf(t2, sizeof(t2), "x: [[[[1]]]]\nsect:\n  a: 1\n");
		o.node_index = (long)(strstr(t2, "a: 1") - t2);
		same(ok(t2, &o), "{\"a\": 1}");
		snprintf(t2, sizeof(t2), "sect:\n  a: [1]\n");
		o.node_index = (long)(strstr(t2, "a: [") - t2);
		bad(t2, &o, TC_YAML_DEPTH, 2, 7, NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_node),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
