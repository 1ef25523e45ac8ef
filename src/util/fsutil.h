/*
 * fsutil.h — small file-system helpers: directories, paths, whole-file
 * reads, and atomic writes (temporary file + fsync + rename), so no reader
 * ever sees half a file.
 */
#ifndef TC_FSUTIL_H
#define TC_FSUTIL_H

#include <stddef.h>
#include <sys/stat.h>

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

/* Write data to path atomically, the file with mode (before umask).  sync:
 * fsync the file (and its directory) before returning.  The temporary file
 * is created afresh, never through a link.  0 or -1 with errno. */
int tc_write_file_atomic(const char *path, const void *data, size_t len,
			 int sync, int mode);

/* Write data to path in place, created 0600 or truncated, as
 * tc_private_open does.  0 or -1. */
int tc_write_file(const char *path, const void *data, size_t len);

/*
 * trainctl's own files in a state directory that others may be able to
 * write into (a --state-dir under /tmp, a group-writable project).  Never
 * through a symbolic link, never into a file that has other hard links or
 * is not a regular file, never in a directory someone else controls.  A
 * directory is trusted when it is the caller's, or when nobody but the
 * caller and root can write to it (the rule ssh applies to ~/.ssh).
 * Refusals set errno: ELOOP (a symbolic link is in the way), EPERM (a
 * directory is not trusted), EMLINK (a file with other links, or not a
 * regular file); tc_fs_strerror says so in words.
 */

/* Is the directory described by st writable by someone other than the
 * caller and root? */
int tc_dir_shared(const struct stat *st);

/* Is it trusted (the caller's, or not shared)? */
int tc_dir_trusted(const struct stat *st);

/* Make directory path (mode before umask) unless it exists, and the same
 * for the depth - 1 directories above it: none of these depth directories
 * may be a link, and each must be trusted (missing parents above them are
 * made with tc_mkdir_p).  0 path made, 1 it was there, -1 with errno. */
int tc_mkdir_private(const char *path, int mode, int depth);

/* The same checks of directories that must exist already.  0 or -1. */
int tc_private_dir_check(const char *path, int depth);

/* The checks of tc_private_dir_check, then the directory's descriptor
 * (O_DIRECTORY, never through a link), or -1 with errno. */
int tc_private_dir_open(const char *path, int depth);

/* Open path for writing (flags: O_WRONLY or O_RDWR, O_CREAT, O_TRUNC,
 * O_APPEND, O_EXCL; O_CLOEXEC and O_NOFOLLOW are added) in a trusted
 * directory; a new file gets mode.  O_TRUNC is applied only after the
 * checks.  A descriptor or -1 with errno. */
int tc_private_open(const char *path, int flags, int mode);

/* The same for name in the directory dfd, which the caller checked. */
int tc_private_openat(int dfd, const char *name, int flags, int mode);

/* strerror, with the refusals above said as such. */
const char *tc_fs_strerror(int e);

#endif
