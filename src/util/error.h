/*
 * error.h — the one error type of trainctl.
 *
 * Library code never prints and never exits: it returns 0 on success or a
 * negative tc_status, and fills a struct tc_error with a human message (and,
 * when a spec file is at fault, the file, line and column).  Only main() and
 * the verbs in src/cli/ turn an error into text on stderr and an exit code.
 */
#ifndef TC_ERROR_H
#define TC_ERROR_H

#include <stddef.h>

/* Result codes.  tc_status_exit() maps each to a documented exit code. */
enum tc_status {
	TC_OK = 0,
	TC_ERR_USAGE = -1,   /* bad command line */
	TC_ERR_SPEC = -2,    /* the experiment file is wrong */
	TC_ERR_IO = -3,      /* a file could not be read or written */
	TC_ERR_DB = -4,      /* the journal failed */
	TC_ERR_NOMEM = -5,   /* out of memory */
	TC_ERR_BACKEND = -6, /* a backend is unreachable or refused */
	TC_ERR_NOTFOUND = -7,/* no such experiment or trial */
	TC_ERR_STATE = -8,   /* the request conflicts with the current state */
	TC_ERR_INTERNAL = -9,
};

/* Exit codes of the trainctl binary (DESIGN.md). */
enum tc_exit {
	TC_EXIT_OK = 0,      /* all good */
	TC_EXIT_FAILED = 1,  /* some trials failed (or were cancelled) */
	TC_EXIT_USAGE = 2,   /* bad usage or bad spec */
	TC_EXIT_BACKEND = 3, /* backend unreachable or refused */
};

struct tc_error {
	int code;       /* a tc_status, 0 when nothing went wrong */
	char file[512]; /* spec file at fault, or "" */
	int line, col;  /* 1-based position in file, 0 when unknown */
	char msg[1024]; /* what is wrong and, where possible, what to do */
};

/* Clear an error. */
void tc_error_clear(struct tc_error *e);

/* Set code and message; returns code so callers can `return tc_error_set(..)`.
 * e may be NULL (the error is then dropped). */
int tc_error_set(struct tc_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same, with a position in a spec file. */
int tc_error_at(struct tc_error *e, int code, const char *file, int line,
		int col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* "file:line:col: msg" or just "msg", into buf. */
void tc_error_format(const struct tc_error *e, char *buf, size_t len);

/* Short name of a status, for logs ("spec error", ...). */
const char *tc_status_str(int code);

/* The exit code the binary uses for a status. */
int tc_status_exit(int code);

#endif
