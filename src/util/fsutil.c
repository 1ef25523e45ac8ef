/*
 * fsutil.c — see fsutil.h.
 */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tc_mkdir_p(const char *path, int mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* the common case: only the last component is missing */
	if (mkdir(path, (mode_t)mode) == 0 || errno == EEXIST)
		return 0;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

char *tc_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

char *tc_dirname_abs(const char *path)
{
	char *abs = tc_abspath(path), *dir;

	if (!abs)
		return NULL;
	dir = tc_dirname(abs);
	free(abs);
	return dir;
}

char *tc_abspath(const char *path)
{
	char cwd[PATH_MAX], *joined, *out, *w;
	const char *r;

	if (path[0] == '/')
		joined = strdup(path);
	else {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		if (asprintf(&joined, "%s/%s", cwd, path) < 0)
			return NULL;
	}
	if (!joined)
		return NULL;
	/* normalise "//", "/./" and "/../" lexically */
	out = malloc(strlen(joined) + 2);
	if (!out) {
		free(joined);
		return NULL;
	}
	w = out;
	r = joined;
	while (*r) {
		const char *seg;
		size_t len;

		while (*r == '/')
			r++;
		seg = r;
		while (*r && *r != '/')
			r++;
		len = (size_t)(r - seg);
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (w > out && *--w != '/')
				;
			continue;
		}
		*w++ = '/';
		memcpy(w, seg, len);
		w += len;
	}
	if (w == out)
		*w++ = '/';
	*w = '\0';
	free(joined);
	return out;
}

int tc_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *b;
	size_t cap, n = 0;

	*buf = NULL;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return -1;
	}
	cap = st.st_size > 0 && (size_t)st.st_size < max ? (size_t)st.st_size + 1
							 : 4096;
	b = malloc(cap + 1);
	if (!b) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap > max) {
				free(b);
				close(fd);
				errno = EFBIG;
				return -1;
			}
			cap *= 2;
			nb = realloc(b, cap + 1);
			if (!nb) {
				free(b);
				close(fd);
				return -1;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(b);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		free(b);
		errno = EFBIG;
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	if (len)
		*len = n;
	return 0;
}

/* write(2) until done; 0 or -1 with errno. */
static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int tc_write_file_atomic(const char *path, const void *data, size_t len,
			 int sync, int mode)
{
	char tmp[PATH_MAX];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* a leftover of a process with our pid, or something planted: the
	 * temporary file is always a new one */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  (mode_t)mode);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) != 0)
		goto fail;
	if (sync && fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		fd = -1;
		goto fail;
	}
	if (sync) {
		char *dir = tc_dirname(path);
		int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	return 0;
fail: {
	int saved = errno;

	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}
}

int tc_write_file(const char *path, const void *data, size_t len)
{
	int fd = tc_private_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* ---- trainctl's own files (see fsutil.h) -------------------------------- */

int tc_dir_shared(const struct stat *st)
{
	uid_t me = geteuid();

	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return 1;
	return st->st_uid != me && st->st_uid != 0 && (st->st_mode & S_IWUSR);
}

int tc_dir_trusted(const struct stat *st)
{
	return S_ISDIR(st->st_mode) &&
	       (st->st_uid == geteuid() || !tc_dir_shared(st));
}

/* Close fd keeping errno; -1 with errno e. */
static int fail_close(int fd, int e)
{
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

/* tc_mkdir_private, or with create 0 only its checks; with keep, the
 * directory's descriptor instead of 0/1. */
static int private_dir_fd(const char *path, int mode, int depth, int create,
			  int keep);

static int private_dir(const char *path, int mode, int depth, int create)
{
	return private_dir_fd(path, mode, depth, create, 0);
}

static int private_dir_fd(const char *path, int mode, int depth, int create,
			  int keep)
{
	struct stat st;
	int made = 0, fd;

	if (depth > 1) {
		char *parent = tc_dirname(path);
		int rc = parent ? private_dir(parent, mode, depth - 1, create) : -1;

		free(parent);
		if (rc < 0)
			return -1;
	}
	if (create) {
		made = mkdir(path, (mode_t)mode) == 0;
		if (!made && errno == ENOENT) {
			/* a parent above those checked is missing */
			char *parent = tc_dirname(path);
			int rc = parent ? tc_mkdir_p(parent, mode) : -1;

			free(parent);
			if (rc < 0)
				return -1;
			made = mkdir(path, (mode_t)mode) == 0;
		}
		if (!made && errno != EEXIST)
			return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			e = ELOOP;
		return fail_close(-1, e);
	}
	if (fstat(fd, &st) != 0)
		return fail_close(fd, errno);
	if (!tc_dir_trusted(&st))
		return fail_close(fd, EPERM);
	if (keep)
		return fd;
	close(fd);
	return made ? 0 : 1;
}

int tc_private_dir_open(const char *path, int depth)
{
	return private_dir_fd(path, 0, depth, 0, 1);
}

int tc_mkdir_private(const char *path, int mode, int depth)
{
	return private_dir(path, mode, depth, 1);
}

int tc_private_dir_check(const char *path, int depth)
{
	return private_dir(path, 0, depth, 0) < 0 ? -1 : 0;
}

int tc_private_openat(int dfd, const char *name, int flags, int mode)
{
	struct stat st;
	int fd, fl;

	/* non-blocking: a FIFO planted here must not hang us */
	fd = openat(dfd, name,
		    (flags & ~O_TRUNC) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
		    (mode_t)mode);
	if (fd < 0)
		return fail_close(-1, errno == ENXIO ? EMLINK : errno);
	if (fstat(fd, &st) != 0)
		return fail_close(fd, errno);
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		return fail_close(fd, EMLINK);
	if (st.st_uid != geteuid())
		return fail_close(fd, EPERM);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
		return fail_close(fd, errno);
	/* (not when it is empty already: a truncation still changes its
	 * times, a journal transaction on ext4, per file created) */
	if ((flags & O_TRUNC) && st.st_size != 0 && ftruncate(fd, 0) != 0)
		return fail_close(fd, errno);
	return fd;
}

int tc_private_open(const char *path, int flags, int mode)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char dir[PATH_MAX];
	struct stat st;
	int dfd, fd, e;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	} else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	if (fstat(dfd, &st) != 0)
		return fail_close(dfd, errno);
	if (!tc_dir_trusted(&st))
		return fail_close(dfd, EPERM);
	fd = tc_private_openat(dfd, base, flags, mode);
	e = errno;
	close(dfd);
	errno = e;
	return fd;
}

const char *tc_fs_strerror(int e)
{
	switch (e) {
	case ELOOP:
		return "a symbolic link is in the way (trainctl never follows "
		       "links in its state directory)";
	case EPERM:
		return "refused: it or its directory belongs to another user or "
		       "is writable by others";
	case EMLINK:
		return "refused: something other than a file of trainctl's own "
		       "is in the way (a hard link, a FIFO or a device)";
	default:
		return strerror(e);
	}
}
