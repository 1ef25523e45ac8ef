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

#endif
