/*
 * spawn.h — running a helper program without a shell.
 */
#ifndef TC_SPAWN_H
#define TC_SPAWN_H

#include <stddef.h>

/* Run argv (argv[0] looked up in PATH) with stdin and stderr on /dev/null;
 * keep up to len - 1 bytes of its stdout in buf (NUL-terminated).  Returns
 * its exit status, or -1 when it could not run or was killed. */
int tc_capture(char *const argv[], char *buf, size_t len);

/* Find the program prog as execvp would run it from directory cwd: a name
 * with a slash is a path (relative to cwd); a bare name is looked up in
 * $PATH (unset: /bin:/usr/bin; an empty entry is cwd).  Fills out (len
 * bytes) with the file found.  0, ENOENT (nowhere), EACCES (found but not
 * executable) or ENAMETOOLONG. */
int tc_find_program(const char *prog, const char *cwd, char *out, size_t len);

#endif
