/*
 * template.h — {{name}} substitution in command arguments and env values.
 *
 * Syntax: "{{" optional-spaces NAME optional-spaces "}}", NAME in
 * [A-Za-z_][A-Za-z0-9_.-]*.  Everything else is copied verbatim; a "{{"
 * that does not open a well-formed reference is an error (so typos are
 * caught at validate time instead of reaching the trial).  Substitution is
 * plain text: the result becomes one argv element or one env value and never
 * passes through a shell, so no escaping is needed or done.
 */
#ifndef TC_TEMPLATE_H
#define TC_TEMPLATE_H

#include <stddef.h>

#include "util/error.h"

/* Names every trial provides besides its parameters. */
extern const char *const tc_template_builtins[];
extern const size_t tc_template_nbuiltins; /* trial_id trial_dir experiment
					      index seed */

/* Look a name up: return its text, or NULL when unknown. */
typedef const char *(*tc_template_lookup)(void *ctx, const char *name,
					  size_t len);

/* One reference found by tc_template_next(). */
struct tc_template_ref {
	size_t off;          /* byte offset of its "{{" in text */
	size_t len;          /* bytes up to and including its "}}" */
	const char *name;    /* points into text; not NUL-terminated */
	size_t name_len;
};

/* Find the next reference at or after byte *pos of text.  Returns 1 and
 * fills ref (and moves *pos past it), 0 when there is none left, or
 * TC_ERR_SPEC when a "{{" at ref->off does not open a well-formed reference
 * (ref->len then covers what was read of it).  The building block of
 * tc_template_check() and tc_template_render(), for callers that want their
 * own messages (the spec loader suggests parameter names). */
int tc_template_next(const char *text, size_t *pos,
		     struct tc_template_ref *ref);

/* Check text without rendering: every reference well-formed and known
 * (lookup returning non-NULL means known).  On error returns TC_ERR_SPEC and
 * sets *bad_off to the byte offset of the offending "{{" in text and fills
 * msg (e.g. "unknown parameter 'lrr' in {{lrr}} (did you mean 'lr'?)"). */
int tc_template_check(const char *text, tc_template_lookup lookup, void *ctx,
		      size_t *bad_off, char *msg, size_t msglen);

/* Render text into a new malloc'd string (*out, caller frees).  Returns 0,
 * TC_ERR_SPEC for an unknown or malformed reference (err says which), or
 * TC_ERR_NOMEM. */
int tc_template_render(const char *text, tc_template_lookup lookup, void *ctx,
		       char **out, struct tc_error *err);

#endif
