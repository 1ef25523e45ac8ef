/*
 * yaml.h — YAML text to a jansson tree: the one converter, used for
 * kubeconfig files (k8s/kubeconfig.c) and for the kubernetes: section of a
 * spec (spec/spec.c).
 *
 * libyaml's event parser goes once over the text, straight into JSON.
 * Aliases stay bounded: an alias is its anchor's json_t with one more
 * reference, and counts as many nodes and as many levels as its anchor's
 * value expanded to, so "billion laughs" is refused once the expanded
 * count passes max_nodes, long before anything is copied, and a deep
 * structure reached through aliases is as deep as it would be written out.
 * An alias names a finished node: one that names a node still open (&a
 * [*a]) is an error, so no tree has a cycle.
 *
 * Errors are data, not text (struct tc_yaml_fail: what, where), so that a
 * kubeconfig and a spec each say them their own way.
 */
#ifndef TC_YAML_H
#define TC_YAML_H

#include <stddef.h>

#include <jansson.h>

enum tc_yaml_status {
	TC_YAML_OK = 0,
	TC_YAML_NOMEM,
	TC_YAML_SYNTAX,    /* libyaml refused the text: what = its problem,
			      context (and context_line/col) when it gave one */
	TC_YAML_READER,    /* not valid text: what = the problem, offset =
			      the byte, value = the byte or code point (-1) */
	TC_YAML_DEPTH,     /* deeper than max_depth, aliases expanded */
	TC_YAML_NODES,     /* more than max_nodes, aliases expanded */
	TC_YAML_ANCHORS,   /* more than max_anchors */
	TC_YAML_UNDEFINED, /* what = an alias's name that no anchor before it
			      has */
	TC_YAML_SELF,      /* what = an alias's name, inside the node it names */
	TC_YAML_KEY,       /* a mapping key that is not a string: what = "a
			      mapping" or "a list" */
	TC_YAML_DUPLICATE, /* strict_keys: what = a key given twice */
	TC_YAML_MERGE,     /* merge_keys: << with something not mappings */
	TC_YAML_HOOK,      /* a hook refused: what = its message */
};

/* What went wrong, and where (1-based, of the node at fault). */
struct tc_yaml_fail {
	enum tc_yaml_status code;
	int line, col;
	size_t offset;
	long value;
	char what[1024];
	char context[128];
	int context_line, context_col;
};

/* A scalar as a hook sees it. */
struct tc_yaml_scalar {
	const char *text;
	size_t len;
	int plain;        /* written without quotes (plain style) */
	int implicit;     /* plain and untagged: its type is for the reader
			     to resolve */
	const char *tag;  /* an explicit tag, or NULL */
	int line, col;
};

struct tc_yaml_opts {
	int max_depth;   /* levels, scalars and the root included */
	int max_nodes;   /* nodes (keys included), aliases expanded */
	int max_anchors;
	int merge_keys;  /* 1: a plain << key merges a mapping or a list of
			    them in, explicit keys winning (as kubectl);
			    0: << is a key like any other */
	int strict_keys; /* 1: a key given twice is TC_YAML_DUPLICATE;
			    0: the last one wins */
	/* The index (libyaml's mark.index) where the node to convert starts,
	 * or -1 for the first document's root.  A node inside a document:
	 * everything before it is read for its anchors, and the rules above
	 * and the hooks apply only to what the node holds (or names through
	 * an alias). */
	long node_index;
	/* A scalar value as JSON, or NULL with f filled (code TC_YAML_HOOK,
	 * what and position).  NULL hook: the text as a string, except a
	 * plain (or !!null) null, ~, Null, NULL or nothing, which is null. */
	json_t *(*scalar)(void *ctx, const struct tc_yaml_scalar *s,
			  struct tc_yaml_fail *f);
	/* A key of a mapping at depth (1: the converted node's own keys):
	 * 0, or -1 with f filled as above.  NULL: every string is a key. */
	int (*key)(void *ctx, int depth, const struct tc_yaml_scalar *k,
		   struct tc_yaml_fail *f);
	void *ctx;
};

/* text (len bytes) to *out: the node asked for as JSON, NULL when the
 * stream has no document.  0, or the failure's code with *f filled (its
 * code TC_YAML_NOMEM when out of memory). */
int tc_yaml_to_json(const char *text, size_t len,
		    const struct tc_yaml_opts *o, json_t **out,
		    struct tc_yaml_fail *f);

#endif
