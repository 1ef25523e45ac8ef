/*
 * gpulease.c — machine-wide GPU leases: byte g of the user's lease file,
 * locked (OFD) by whoever holds GPU g (see gpulease.h).
 */
#include "exec/gpulease.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"

struct tc_gpulease {
	char path[PATH_MAX]; /* LEASEDIR/gpus.lock */
	int probe;           /* a description that never locks: asks only */
	int ngpus;
};

/* A runtime directory we may use: absolute, a directory, ours, and
 * writable by nobody else (what the XDG spec promises of it). */
static int usable(const char *dir)
{
	struct stat st;

	return dir && dir[0] == '/' && stat(dir, &st) == 0 &&
	       S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH)) && access(dir, W_OK | X_OK) == 0;
}

/* Made (or there), no link, and ours. */
static int own_dir(const char *path)
{
	struct stat st;

	if (tc_mkdir_private(path, 0700, 1) < 0)
		return -1;
	if (lstat(path, &st) != 0)
		return -1;
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int tc_gpulease_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char run[64];
	int n;

	snprintf(run, sizeof(run), "/run/user/%u", (unsigned)geteuid());
	if (usable(xdg))
		n = snprintf(buf, len, "%s/trainctl", xdg);
	else if (usable(run))
		n = snprintf(buf, len, "%s/trainctl", run);
	else
		n = snprintf(buf, len, "/tmp/trainctl-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return own_dir(buf);
}

int tc_gpulease_open(struct tc_gpulease **out, int ngpus, struct tc_error *err)
{
	struct tc_gpulease *l = calloc(1, sizeof(*l));
	char dir[PATH_MAX - 16];

	*out = NULL;
	if (!l)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	l->ngpus = ngpus < 0 ? 0 : ngpus > TC_GPU_MAX ? TC_GPU_MAX : ngpus;
	if (tc_gpulease_dir(dir, sizeof(dir)) != 0) {
		int e = errno;

		free(l);
		return tc_error_set(err, TC_ERR_IO,
				    "cannot make the GPU lease directory %s: %s",
				    dir, tc_fs_strerror(e));
	}
	snprintf(l->path, sizeof(l->path), "%s/gpus.lock", dir);
	l->probe = tc_private_open(l->path, O_RDWR | O_CREAT, 0600);
	if (l->probe < 0) {
		int rc = tc_error_set(err, TC_ERR_IO, "cannot open %s: %s",
				      l->path, tc_fs_strerror(errno));

		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void tc_gpulease_close(struct tc_gpulease *l)
{
	if (!l)
		return;
	close(l->probe);
	free(l);
}

static struct flock byte_of(int g)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
			   .l_start = g, .l_len = 1};

	return fl;
}

/* Is GPU g leased by anyone?  (A lock that cannot be asked about counts
 * as held: a GPU is never handed out on a guess.) */
static int leased(const struct tc_gpulease *l, int g)
{
	struct flock fl = byte_of(g);

	return fcntl(l->probe, F_OFD_GETLK, &fl) != 0 || fl.l_type != F_UNLCK;
}

int tc_gpulease_available(const struct tc_gpulease *l,
			  const unsigned char *busy)
{
	int n = 0;

	for (int g = 0; g < l->ngpus; g++)
		n += !(busy && busy[g]) && !leased(l, g);
	return n;
}

int tc_gpulease_take(struct tc_gpulease *l, const unsigned char *busy, int n,
		     int *ids)
{
	int fd, got = 0;

	/* a description of its own: the locks are the description's */
	fd = tc_private_open(l->path, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		return -1;
	for (int g = 0; g < l->ngpus && got < n; g++) {
		struct flock fl = byte_of(g);

		if (busy && busy[g])
			continue;
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			ids[got++] = g;
		else if (errno != EAGAIN && errno != EACCES) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
	}
	if (got < n) {
		close(fd); /* lets go of those it got */
		errno = EAGAIN;
		return -1;
	}
	return fd;
}
