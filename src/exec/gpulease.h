/*
 * gpulease.h — GPUs leased machine-wide, so that two runs on one machine
 * never hand out the same GPU.
 *
 * The rule, in one place: GPU g (an index as CUDA_VISIBLE_DEVICES counts
 * them, 0 <= g < TC_GPU_MAX) is taken while some open file description
 * holds an open-file-description write lock (F_OFD_SETLK) on byte g of
 * the lease file, LEASEDIR/gpus.lock (a lock per GPU).  LEASEDIR is under
 * the user's runtime directory: $XDG_RUNTIME_DIR/trainctl when that is
 * set and usable (absolute, a directory of ours that nobody else can write
 * to), else /run/user/UID/trainctl when that directory exists and is ours,
 * else /tmp/trainctl-UID (made 0700, and refused unless it is ours).
 *
 * A runner takes a trial's GPUs in one new description (tc_gpulease_take)
 * and hands it to the trial's supervisor with the start request (see
 * exec/supervisor.h); the supervisor holds it until it has reaped the trial,
 * and lets go of it before the trial's slot.  The kernel drops the locks
 * when the last descriptor of the description is closed, so a lease ends
 * with the trial, or with whoever holds it however it dies (kill -9
 * included): there is never anything to clean up.  A runner killed while
 * its trials run leaves their leases to their supervisor, so other runs
 * still cannot take those GPUs; a runner that resumes and adopts them
 * counts their GPUs (from the journal) as busy until they end.  A
 * supervisor killed alone lets its leases go; its trials are killed by
 * their runner within a moment (see tc_supervisor_lost).
 *
 * Leases are the user's: runs of other users are not seen (they have
 * runtime directories of their own).
 */
#ifndef TC_GPULEASE_H
#define TC_GPULEASE_H

#include <stddef.h>

#include "util/error.h"

#define TC_GPU_MAX 64

struct tc_gpulease;

/* The lease directory (see above) into buf, made when missing.  0, or -1
 * with errno (EPERM: /tmp/trainctl-UID is not ours; see tc_fs_strerror). */
int tc_gpulease_dir(char *buf, size_t len);

/* Open the lease file for a machine of ngpus GPUs (ids 0..ngpus-1, at
 * most TC_GPU_MAX).  0, or TC_ERR_IO with a message. */
int tc_gpulease_open(struct tc_gpulease **out, int ngpus,
		     struct tc_error *err);

void tc_gpulease_close(struct tc_gpulease *l);

/* How many GPUs are free: busy[g] clear (busy may be NULL) and leased by
 * nobody. */
int tc_gpulease_available(const struct tc_gpulease *l,
			  const unsigned char *busy);

/* Lease n free GPUs (as above), lowest ids first, into ids[0..n-1].  A
 * descriptor holding the lease (close it to let go; the caller owns it,
 * close-on-exec), or -1 with errno: EAGAIN when fewer than n are free. */
int tc_gpulease_take(struct tc_gpulease *l, const unsigned char *busy, int n,
		     int *ids);

#endif
