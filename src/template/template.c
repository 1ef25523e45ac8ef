/*
 * template.c — {{name}} references in command arguments, env values and
 * scripts (see template.h for the syntax).
 *
 * One scanner, tc_template_next(), defines the syntax; check and render are
 * loops over it, so what validates is exactly what renders.
 */
#include "template/template.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/spec.h"

const char *const tc_template_builtins[] = {
	"trial_id", "trial_dir", "experiment", "index", "seed",
	"args", "args_no_hyphens",
};
const size_t tc_template_nbuiltins =
	sizeof(tc_template_builtins) / sizeof(tc_template_builtins[0]);

const char tc_template_absent[] = "";

static int name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static size_t skip_spaces(const char *s, size_t i)
{
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	return i;
}

int tc_template_next(const char *text, size_t *pos,
		     struct tc_template_ref *ref)
{
	const char *open = strstr(text + *pos, "{{");
	size_t i, start;

	if (!open)
		return 0;
	ref->off = (size_t)(open - text);
	ref->name = NULL;
	ref->name_len = 0;
	ref->optional = 0;
	i = skip_spaces(text, ref->off + 2);
	start = i;
	if (name_start(text[i])) {
		while (name_char(text[i]))
			i++;
		ref->name = text + start;
		ref->name_len = i - start;
		if (text[i] == '?') {
			ref->optional = 1;
			i++;
		}
		i = skip_spaces(text, i);
		if (text[i] == '}' && text[i + 1] == '}') {
			ref->len = i + 2 - ref->off;
			*pos = i + 2;
			return 1;
		}
	}
	ref->len = i - ref->off;
	*pos = i;
	return TC_ERR_SPEC;
}

int tc_template_args_kind(const struct tc_template_ref *ref)
{
	if (ref->name_len == 4 && !memcmp(ref->name, "args", 4))
		return TC_ARGS_HYPHENS;
	if (ref->name_len == 15 && !memcmp(ref->name, "args_no_hyphens", 15))
		return TC_ARGS_PLAIN;
	return 0;
}

int tc_template_whole(const char *text, struct tc_template_ref *ref)
{
	size_t pos = 0;

	return strncmp(text, "{{", 2) == 0 &&
	       tc_template_next(text, &pos, ref) == 1 && text[pos] == '\0';
}

/* The reference as written, shortened for messages.  A malformed one is
 * shown up to the end of its line (at most 24 bytes), so "{{lr" points at
 * what is wrong. */
static void quote_ref(const char *text, const struct tc_template_ref *r,
		      int malformed, char *buf, size_t len)
{
	size_t n = r->len, i;

	if (malformed) {
		n = 2;
		while (n < 24 && text[r->off + n] && text[r->off + n] != '\n')
			n++;
	}
	if (n > 60)
		n = 60;
	/* do not cut a UTF-8 character in half */
	while (n > 2 && ((unsigned char)text[r->off + n] & 0xC0) == 0x80)
		n--;
	for (i = 0; i < n && i + 1 < len; i++)
		buf[i] = text[r->off + i];
	buf[i] = '\0';
}

/* Message for an unknown name, with a suggestion among the builtins. */
static void unknown_msg(const char *text, const struct tc_template_ref *r,
			char *msg, size_t msglen)
{
	char name[65], quoted[64];
	const char *hint;
	size_t n = r->name_len < sizeof(name) - 1 ? r->name_len
						  : sizeof(name) - 1;

	memcpy(name, r->name, n);
	name[n] = '\0';
	quote_ref(text, r, 0, quoted, sizeof(quoted));
	hint = tc_did_you_mean(name, tc_template_builtins,
			       tc_template_nbuiltins);
	if (hint)
		snprintf(msg, msglen,
			 "unknown parameter '%s' in %s (did you mean '%s'?)",
			 name, quoted, hint);
	else
		snprintf(msg, msglen, "unknown parameter '%s' in %s", name,
			 quoted);
}

static void malformed_msg(const char *text, const struct tc_template_ref *r,
			  char *msg, size_t msglen)
{
	char quoted[64];

	quote_ref(text, r, 1, quoted, sizeof(quoted));
	snprintf(msg, msglen,
		 "malformed template reference '%s': write {{name}} (or "
		 "{{name?}}) with a parameter name or one of trial_id, "
		 "trial_dir, experiment, index, seed, args",
		 quoted);
}

int tc_template_check(const char *text, tc_template_lookup lookup, void *ctx,
		      size_t *bad_off, char *msg, size_t msglen)
{
	struct tc_template_ref r;
	size_t pos = 0;
	int rc;

	while ((rc = tc_template_next(text, &pos, &r)) != 0) {
		if (rc < 0) {
			if (bad_off)
				*bad_off = r.off;
			if (msg && msglen)
				malformed_msg(text, &r, msg, msglen);
			return TC_ERR_SPEC;
		}
		if (!lookup(ctx, r.name, r.name_len)) {
			if (bad_off)
				*bad_off = r.off;
			if (msg && msglen)
				unknown_msg(text, &r, msg, msglen);
			return TC_ERR_SPEC;
		}
	}
	return 0;
}

/* A growing output buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (n > SIZE_MAX - b->len - 1)
		return TC_ERR_NOMEM;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
		p = realloc(b->p, cap);
		if (!p)
			return TC_ERR_NOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int tc_template_render(const char *text, tc_template_lookup lookup, void *ctx,
		       char **out, struct tc_error *err)
{
	struct buf b = {NULL, 0, 0};
	struct tc_template_ref r;
	size_t pos = 0, copied = 0;
	int rc;

	*out = NULL;
	while ((rc = tc_template_next(text, &pos, &r)) != 0) {
		const char *val;
		char msg[512];

		if (rc < 0) {
			malformed_msg(text, &r, msg, sizeof(msg));
			free(b.p);
			return tc_error_set(err, TC_ERR_SPEC, "%s", msg);
		}
		val = lookup(ctx, r.name, r.name_len);
		if (!val) {
			unknown_msg(text, &r, msg, sizeof(msg));
			free(b.p);
			return tc_error_set(err, TC_ERR_SPEC, "%s", msg);
		}
		if (val == tc_template_absent && !r.optional) {
			free(b.p);
			return tc_error_set(err, TC_ERR_SPEC,
					    "this trial has no parameter "
					    "'%.*s' (when:): write {{%.*s?}} to "
					    "render nothing without it",
					    (int)r.name_len, r.name,
					    (int)r.name_len, r.name);
		}
		if (buf_add(&b, text + copied, r.off - copied) != 0 ||
		    buf_add(&b, val, strlen(val)) != 0) {
			free(b.p);
			return tc_error_set(err, TC_ERR_NOMEM,
					    "out of memory rendering a "
					    "template");
		}
		copied = r.off + r.len;
	}
	if (buf_add(&b, text + copied, strlen(text + copied)) != 0) {
		free(b.p);
		return tc_error_set(err, TC_ERR_NOMEM,
				    "out of memory rendering a template");
	}
	*out = b.p;
	return 0;
}
