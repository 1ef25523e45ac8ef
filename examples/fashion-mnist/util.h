/*
 * util.h — small pieces shared by every file of the fmnist-train library:
 * status codes with a message (library code never prints or exits; main
 * turns an fm_error into a message and an exit code), the deterministic
 * random generator, aligned allocation and checksums.
 */
#ifndef FM_UTIL_H
#define FM_UTIL_H

#include <stddef.h>
#include <stdint.h>

enum fm_status {
	FM_OK = 0,
	FM_EINVAL = -1,		/* bad argument or option value */
	FM_ENOENT = -2,		/* a file that must exist does not */
	FM_ECORRUPT = -3,	/* a file exists but its content is wrong */
	FM_ENOMEM = -4,		/* an allocation failed */
	FM_EIO = -5,		/* reading or writing failed */
	FM_EMISMATCH = -6,	/* a checkpoint does not fit this run */
	FM_ENAN = -7,		/* training diverged */
	FM_ENET = -8,		/* a data-parallel peer is missing or gone */
};

struct fm_error {
	int code;
	char msg[512];
};

/* Fill err (may be NULL) and return code, so callers can write
 * `return fm_error_set(err, FM_EIO, "...")`. */
int fm_error_set(struct fm_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A splitmix64 stream.  Every random decision of a run (init, shuffle,
 * dropout) comes from a stream derived from (seed, purpose, epoch), so a
 * run resumed at an epoch boundary draws exactly what an uninterrupted
 * run would have drawn.
 */
struct fm_rng {
	uint64_t s;
};

void fm_rng_seed(struct fm_rng *r, uint64_t seed, uint64_t stream);
uint64_t fm_rng_next(struct fm_rng *r);
double fm_rng_uniform(struct fm_rng *r);	/* [0, 1) */
double fm_rng_normal(struct fm_rng *r);		/* N(0, 1) */
uint32_t fm_rng_below(struct fm_rng *r, uint32_t n);	/* [0, n) */
/* Advance r as k calls of fm_rng_next would, in O(1). */
void fm_rng_skip(struct fm_rng *r, uint64_t k);

/* 64-byte aligned allocation of n floats (zeroed); NULL on failure.
 * Free with fm_free. */
float *fm_falloc(size_t n);
void fm_free(void *p);

uint32_t fm_crc32(uint32_t crc, const void *buf, size_t len);
uint64_t fm_fnv1a(uint64_t h, const void *buf, size_t len);
#define FM_FNV_INIT 0xcbf29ce484222325ULL

/* Write len bytes to path through path.tmp.PID, fsync and rename, so
 * readers see the old file or the new one, never a partial one. */
int fm_write_atomic(const char *path, const void *buf, size_t len,
		    struct fm_error *err);

/* Seconds from a monotonic clock. */
double fm_now(void);

#endif
