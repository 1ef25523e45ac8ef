/*
 * ddp.h — data-parallel communication for fmnist-train: a rendezvous
 * from the variables torchrun sets (WORLD_SIZE, RANK, MASTER_ADDR,
 * MASTER_PORT) and a ring of TCP connections over which the ranks sum
 * vectors (ring all-reduce: reduce-scatter, then all-gather) and rank 0
 * broadcasts.
 *
 * Rendezvous: rank 0 listens on MASTER_ADDR:MASTER_PORT; every other rank
 * connects to it (retrying until the deadline, since rank 0 may start
 * later) and says its rank and the port of its own ring listener.  Rank 0
 * answers each rank with the address of its right neighbour (rank+1 mod
 * N), every rank connects to that neighbour and accepts its left one.
 * Everything a rank waits for — rank 0 for the others, the others for
 * rank 0, any rank for a neighbour's bytes — gives up after `timeout`
 * seconds without progress with an error naming the rank(s) it waited
 * for.  A neighbour that exits or crashes is seen as end-of-file or a
 * reset and reported, never waited for; no call raises SIGPIPE.
 *
 * Every call is collective: all ranks make the same calls in the same
 * order with the same lengths.  Errors are FM_ENET (a peer is missing,
 * gone or speaks nonsense) or FM_EINVAL (bad environment), with a message.
 */
#ifndef FM_DDP_H
#define FM_DDP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define FM_DDP_MAX_WORLD 1024
#define FM_DDP_DEFAULT_TIMEOUT 120.0

struct fm_ddp_config {
	int rank, world;
	char master_addr[256];
	int master_port;
	double timeout;		/* seconds; every wait for a peer */
	int listen_fd;		/* rank 0: an already listening socket to use
				 * instead of binding MASTER_PORT, or -1 */
};

struct fm_ddp;

/*
 * Fill cfg from the environment: world 1 (no networking) when WORLD_SIZE
 * is unset or 1; otherwise RANK, MASTER_ADDR and MASTER_PORT must be set
 * and valid, else FM_EINVAL naming the variable.  timeout is left at
 * FM_DDP_DEFAULT_TIMEOUT, listen_fd at -1.
 */
int fm_ddp_config_from_env(struct fm_ddp_config *cfg, struct fm_error *err);

/* Rendezvous and build the ring (world > 1 only). */
int fm_ddp_init(const struct fm_ddp_config *cfg, struct fm_ddp **out,
		struct fm_error *err);
/* Close the connections and free d (NULL is fine). */
void fm_ddp_close(struct fm_ddp *d);

int fm_ddp_rank(const struct fm_ddp *d);
int fm_ddp_world(const struct fm_ddp *d);

/* x ← the element-wise sum of every rank's x (n may be anything, also
 * less than the world size or 0).  Every rank ends with bit-identical
 * sums: each chunk is added up on one rank and copied to the others. */
int fm_ddp_allreduce_f32(struct fm_ddp *d, float *x, size_t n,
			 struct fm_error *err);
int fm_ddp_allreduce_f64(struct fm_ddp *d, double *x, size_t n,
			 struct fm_error *err);
int fm_ddp_allreduce_u64(struct fm_ddp *d, uint64_t *x, size_t n,
			 struct fm_error *err);	/* sum modulo 2^64 */

/* Rank 0's len bytes at buf replace every other rank's. */
int fm_ddp_broadcast(struct fm_ddp *d, void *buf, size_t len,
		     struct fm_error *err);

/*
 * Every rank passes its value of something that must agree (a checksum
 * of the weights, a hash of the options); FM_ENET with a message naming
 * `what` and the ranks whose value differs from rank 0's if any does.
 * Also a barrier.
 */
int fm_ddp_check_same(struct fm_ddp *d, uint64_t value, const char *what,
		      struct fm_error *err);

#endif
