/*
 * template.h — {{name}} substitution in command arguments and env values.
 *
 * Syntax: "{{" optional-spaces NAME ["?"] optional-spaces "}}", NAME in
 * [A-Za-z_][A-Za-z0-9_.-]*.  Everything else is copied verbatim; a "{{"
 * that does not open a well-formed reference is an error (so typos are
 * caught at validate time instead of reaching the trial).  Substitution is
 * plain text: the result becomes one argv element or one env value and never
 * passes through a shell, so no escaping is needed or done.
 *
 * "{{name?}}" is an optional reference: it renders to nothing when the
 * trial has no such parameter (a conditional parameter, when:, that the
 * lookup reports as tc_template_absent); "{{name}}" is then an error.
 * Whether a whole argv element that renders to nothing is dropped, and
 * what {{args}} expands to, is the caller's (plan/plan.h): here every
 * reference renders to one piece of text.
 */
#ifndef TC_TEMPLATE_H
#define TC_TEMPLATE_H

#include <stddef.h>

#include "util/error.h"

/* Names every trial provides besides its parameters.  args and
 * args_no_hyphens stand for several argv elements (--name=value, or
 * name=value, one per parameter the trial has): no lookup gives them a
 * text, and the spec loader allows them only where they can expand. */
extern const char *const tc_template_builtins[];
extern const size_t tc_template_nbuiltins; /* trial_id trial_dir experiment
					      index seed args
					      args_no_hyphens */

/* What a lookup returns for a name it knows that has no value in this
 * trial (compared by address). */
extern const char tc_template_absent[];

/* Look a name up: return its text, tc_template_absent, or NULL when
 * unknown. */
typedef const char *(*tc_template_lookup)(void *ctx, const char *name,
					  size_t len);

/* One reference found by tc_template_next(). */
struct tc_template_ref {
	size_t off;          /* byte offset of its "{{" in text */
	size_t len;          /* bytes up to and including its "}}" */
	const char *name;    /* points into text; not NUL-terminated */
	size_t name_len;
	int optional;        /* written {{name?}} */
};

/* Find the next reference at or after byte *pos of text.  Returns 1 and
 * fills ref (and moves *pos past it), 0 when there is none left, or
 * TC_ERR_SPEC when a "{{" at ref->off does not open a well-formed reference
 * (ref->len then covers what was read of it).  The building block of
 * tc_template_check() and tc_template_render(), for callers that want their
 * own messages (the spec loader suggests parameter names). */
int tc_template_next(const char *text, size_t *pos,
		     struct tc_template_ref *ref);

/* Which of the argument lists ref names: TC_ARGS_HYPHENS ({{args}}:
 * --name=value), TC_ARGS_PLAIN ({{args_no_hyphens}}: name=value), or 0.
 * (A parameter of that name, which only an old recorded spec can have,
 * shadows it: the caller checks.) */
enum { TC_ARGS_HYPHENS = 1, TC_ARGS_PLAIN = 2 };
int tc_template_args_kind(const struct tc_template_ref *ref);

/* Is text exactly one reference, with nothing before or after it?  1 and
 * ref filled, else 0. */
int tc_template_whole(const char *text, struct tc_template_ref *ref);

/* Check text without rendering: every reference well-formed and known
 * (lookup returning non-NULL means known).  On error returns TC_ERR_SPEC and
 * sets *bad_off to the byte offset of the offending "{{" in text and fills
 * msg (e.g. "unknown parameter 'lrr' in {{lrr}} (did you mean 'lr'?)"). */
int tc_template_check(const char *text, tc_template_lookup lookup, void *ctx,
		      size_t *bad_off, char *msg, size_t msglen);

/* Render text into a new malloc'd string (*out, caller frees).  Returns 0,
 * TC_ERR_SPEC for an unknown or malformed reference, or a reference
 * without "?" to a name the lookup reports absent (err says which), or
 * TC_ERR_NOMEM. */
int tc_template_render(const char *text, tc_template_lookup lookup, void *ctx,
		       char **out, struct tc_error *err);

#endif
