/*
 * internal.h — helpers shared by the files of src/spec/, not part of the
 * module's contract.
 */
#ifndef TC_SPEC_INTERNAL_H
#define TC_SPEC_INTERNAL_H

#include <stddef.h>

#include <yaml.h>

#include "spec/import.h"
#include "spec/spec.h"

/* strtod in the C locale whatever setlocale() was called with, so "0.5"
 * reads the same in a German terminal.  Same contract as strtod. */
double tc_spec_strtod(const char *s, char **end);

/* For the importers (import_*.c): another tool's YAML file through the
 * spec loader's own checks (bytes, one document, depth, anchors and
 * aliases bounded), composed into *doc (the caller deletes it).  0, or
 * TC_ERR_SPEC/TC_ERR_NOMEM with err at path:line:col. */
int tc_spec_yaml_document(const char *path, const char *text, size_t len,
			  yaml_document_t *doc, struct tc_error *err);

/* A plain scalar typed as the loader types it (null, bool, int, float or
 * string); v->text is s. */
void tc_spec_type_plain(const char *s, size_t len, struct tc_value *v);

/* Whether this trainctl's experiment file has the top-level key (an
 * importer asks for early_stop: before writing one). */
int tc_spec_has_section(const char *key);

/*
 * The importers' writer: the translation's text, and for every key and
 * value written the position it came from (spec/import.h).  Structure
 * (indentation, keys, comments) is written as is; every value goes
 * through tc_yw_scalar()/tc_yw_string(), which quote it so that it reads
 * back with the type and text it had.  Out of memory is sticky (oom).
 */
struct tc_import;

struct tc_yw {
	char *buf;
	size_t len, cap;
	int line, col;        /* where the next character goes, 1-based */
	struct tc_import_pos *map;
	size_t nmap, mapcap;
	int oom;
	const char *path;     /* the original file, for errors */
	yaml_document_t *doc; /* the original, parsed */
	struct tc_error *err;
};

void tc_yw_raw(struct tc_yw *w, const char *s);
__attribute__((format(printf, 2, 3))) void tc_yw_printf(struct tc_yw *w,
							   const char *fmt,
							   ...);
/* What is written next came from src. */
void tc_yw_mark(struct tc_yw *w, struct tc_pos src);
/* A string, double-quoted when it must be (so it stays a string). */
void tc_yw_string(struct tc_yw *w, const char *s);
/* The scalar node n of the original, marked with its position, with its
 * type kept (plain when it reads back the same, else double-quoted):
 * 0, or TC_ERR_SPEC for a tag trainctl does not read (err set). */
int tc_yw_scalar(struct tc_yw *w, const yaml_node_t *n);
/* A comment of free text after "# " (line breaks become new comment
 * lines), ending the line. */
void tc_yw_comment(struct tc_yw *w, const char *indent, const char *text);

/* Nodes of the original. */
yaml_node_t *tc_yw_node(struct tc_yw *w, int index);
struct tc_pos tc_yw_pos(const yaml_node_t *n);
/* The value of key in the mapping n, or NULL; *k gets the key node. */
yaml_node_t *tc_yw_get(struct tc_yw *w, const yaml_node_t *n, const char *key,
		       yaml_node_t **k);
/* The scalar text of n, or NULL when n is not a scalar. */
const char *tc_yw_text(const yaml_node_t *n);
/* An error at n's position; returns TC_ERR_SPEC. */
__attribute__((format(printf, 3, 4))) int
tc_yw_fail(struct tc_yw *w, const yaml_node_t *n, const char *fmt, ...);
/* Every key of the mapping n one of names (did-you-mean otherwise), none
 * twice; what names the mapping in messages ("metric"). */
int tc_yw_keys(struct tc_yw *w, const yaml_node_t *n, const char *what,
	       const char *const *names, size_t nnames);
/* A valid experiment name made of free text ("My LR sweep" → my-lr-sweep);
 * "" when it has no letter or digit. */
void tc_yw_name(const char *from, char out[TC_NAME_MAX + 1]);
/* Whether s is a parameter name ([A-Za-z_][A-Za-z0-9_.-]*), so that it
 * can be written as a key as it is. */
int tc_yw_param_name(const char *s);
/* Shortest text of d that reads back the same, as a float ("2.0"). */
void tc_yw_double(double d, char *buf, size_t len);

int tc_import_wandb(struct tc_yw *w, const yaml_node_t *root, unsigned flags);
int tc_import_katib(struct tc_yw *w, const yaml_node_t *root, unsigned flags);

#endif
