/*
 * fsutil.h — small file-system helpers: directories, paths, whole-file
 * reads, and atomic writes (temporary file + fsync + rename), so no reader
 * ever sees half a file.
 */
#ifndef TC_FSUTIL_H
#define TC_FSUTIL_H

#include <stddef.h>

/* mkdir -p.  0 or -1 with errno. */
int tc_mkdir_p(const char *path, int mode);

/* malloc'd directory part of path ("." when none). */
char *tc_dirname(const char *path);

/* malloc'd absolute directory part of path. */
char *tc_dirname_abs(const char *path);

/* malloc'd absolute, normalised form of path (it need not exist). */
char *tc_abspath(const char *path);

/* Read a whole file, at most max bytes (more is an error, errno EFBIG).
 * *buf is malloc'd and NUL-terminated.  0 or -1 with errno. */
int tc_read_file(const char *path, size_t max, char **buf, size_t *len);

/* Write data to path atomically.  sync: fsync the file (and its directory)
 * before returning.  0 or -1 with errno. */
int tc_write_file_atomic(const char *path, const void *data, size_t len,
			 int sync);

/* Write data to path in place (created or truncated).  0 or -1. */
int tc_write_file(const char *path, const void *data, size_t len);

#endif
