/*
 * spawn.h — running a helper program without a shell.
 */
#ifndef TC_SPAWN_H
#define TC_SPAWN_H

#include <stddef.h>

/* How tc_spawn_capture() runs a child. */
struct tc_spawn_opts {
	char *const *envp; /* the child's environment; NULL: ours */
	int keep_stderr;   /* 1: the child writes to our stderr; 0: to
			      /dev/null */
	double timeout;    /* seconds before the child is killed (SIGKILL);
			      <= 0: no limit */
	size_t max;        /* bytes of stdout kept */
	int stop_at_max;   /* past max bytes: 1 kills the child, 0 reads on
			      and drops the rest */
};

/* What came of it. */
struct tc_spawn_out {
	char *buf;     /* stdout, at most max bytes, NUL-terminated
			  (malloc'd; the caller frees it) */
	size_t len;
	int status;    /* as waitpid() reports it */
	int timed_out; /* killed at the timeout */
	int overflow;  /* it printed more than max bytes */
};

/* Run argv (argv[0] a path, or a bare name looked up in PATH) with stdin
 * on /dev/null, its stdout captured, and the signal mask and SIGPIPE's
 * action reset to the defaults; wait for it to end (or kill it at the
 * timeout, or past max with stop_at_max).  0 with *out filled, or an
 * errno when it could not be started or out of memory (*out then holds
 * nothing to free). */
int tc_spawn_capture(char *const argv[], const struct tc_spawn_opts *o,
		     struct tc_spawn_out *out);

/* tc_spawn_capture() for helpers such as git and nvidia-smi: stderr on
 * /dev/null, killed after TC_CAPTURE_TIMEOUT seconds, up to len - 1 bytes
 * of stdout kept in buf (NUL-terminated), the rest dropped.  Returns its
 * exit status, or -1 when it could not run or was killed. */
#define TC_CAPTURE_TIMEOUT 10.0
int tc_capture(char *const argv[], char *buf, size_t len);

/* Find the program prog as execvp would run it from directory cwd: a name
 * with a slash is a path (relative to cwd); a bare name is looked up in
 * $PATH (unset: /bin:/usr/bin; an empty entry is cwd).  Fills out (len
 * bytes) with the file found.  0, ENOENT (nowhere), EACCES (found but not
 * executable) or ENAMETOOLONG. */
int tc_find_program(const char *prog, const char *cwd, char *out, size_t len);

#endif
