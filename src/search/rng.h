/*
 * rng.h — the one portable generator of the samplers: xoshiro256** seeded
 * through splitmix64.
 *
 * Integer arithmetic only, so a seed gives the same stream on every machine
 * and compiler; random, sobol (its scrambling) and tpe all draw from it.
 * A struct tc_rng is plain data: copy it to fork a stream.
 */
#ifndef TC_RNG_H
#define TC_RNG_H

#include <stdint.h>

struct tc_rng {
	uint64_t s[4];
};

/* splitmix64: advances *x and returns the next output (also a good 64-bit
 * mixer for deriving seeds). */
uint64_t tc_rng_splitmix(uint64_t *x);

void tc_rng_seed(struct tc_rng *r, uint64_t seed);
uint64_t tc_rng_next(struct tc_rng *r);
/* [0, 1), 53 random bits */
double tc_rng_unit(struct tc_rng *r);
/* [0, n), unbiased (rejection); n == 0 means 2^64 */
uint64_t tc_rng_below(struct tc_rng *r, uint64_t n);

#endif
