/*
 * error.c — struct tc_error helpers (see error.h).
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void tc_error_clear(struct tc_error *e)
{
	if (!e)
		return;
	e->code = 0;
	e->file[0] = '\0';
	e->line = e->col = 0;
	e->msg[0] = '\0';
}

int tc_error_set(struct tc_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	tc_error_clear(e);
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int tc_error_at(struct tc_error *e, int code, const char *file, int line,
		int col, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	tc_error_clear(e);
	e->code = code;
	snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
	e->line = line;
	e->col = col;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void tc_error_format(const struct tc_error *e, char *buf, size_t len)
{
	if (e->file[0] && e->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s", e->file, e->line,
			 e->col > 0 ? e->col : 1, e->msg);
	else if (e->file[0])
		snprintf(buf, len, "%s: %s", e->file, e->msg);
	else
		snprintf(buf, len, "%s", e->msg);
}

/* A switch with no default: a new status without a name fails -Wswitch. */
const char *tc_status_str(int code)
{
	switch ((enum tc_status)code) {
	case TC_OK:
		return "ok";
	case TC_ERR_USAGE:
		return "usage error";
	case TC_ERR_SPEC:
		return "spec error";
	case TC_ERR_IO:
		return "i/o error";
	case TC_ERR_DB:
		return "journal error";
	case TC_ERR_NOMEM:
		return "out of memory";
	case TC_ERR_BACKEND:
		return "backend error";
	case TC_ERR_NOTFOUND:
		return "not found";
	case TC_ERR_STATE:
		return "state conflict";
	case TC_ERR_INTERNAL:
		return "internal error";
	}
	return "unknown error";
}

int tc_status_exit(int code)
{
	switch ((enum tc_status)code) {
	case TC_OK:
		return TC_EXIT_OK;
	case TC_ERR_USAGE:
	case TC_ERR_SPEC:
	case TC_ERR_NOTFOUND:
	case TC_ERR_STATE:
		return TC_EXIT_USAGE;
	case TC_ERR_BACKEND:
		return TC_EXIT_BACKEND;
	case TC_ERR_IO:
	case TC_ERR_DB:
	case TC_ERR_NOMEM:
	case TC_ERR_INTERNAL:
		return TC_EXIT_FAILED;
	}
	return TC_EXIT_FAILED;
}
