/*
 * sobol.h — scrambled Sobol points: the quasi-random sequence behind
 * `search.method: sobol`.
 *
 * The sequence: Sobol's construction in base 2 with the direction numbers
 * of Joe and Kuo (new-joe-kuo-6.21201, their search for good
 * two-dimensional projections), for up to TC_SOBOL_MAX_DIMS dimensions,
 * 32 bits each, from index 0 in Gray-code order (the sequence Joe and
 * Kuo's own generator prints).  Every run of
 * 2^k points from index 0 puts exactly one point in each interval
 * [j/2^k, (j+1)/2^k) of every dimension, and the first two dimensions form
 * a (0, m, 2)-net.
 *
 * Scrambling: Owen's nested uniform scrambling, each node of each
 * dimension's binary digit tree flipping by a hash of (seed, dimension,
 * node).  It keeps every stratification above (each interval still holds
 * exactly one point) while making each point uniform on [0, 1)^d and the
 * set different per seed; the digits past the 32nd, which the sequence
 * does not set, come out random too, so a coordinate is a full 64-bit
 * fraction.  Integer arithmetic only: the same seed gives the same points
 * on every machine.
 */
#ifndef TC_SOBOL_H
#define TC_SOBOL_H

#include <stdint.h>

#include "util/error.h"

#define TC_SOBOL_MAX_DIMS 1024
#define TC_SOBOL_MAX_POINTS (1ULL << 32)

struct tc_sobol;

/* dims in [1, TC_SOBOL_MAX_DIMS]; seed keys the scrambling.  0, or
 * TC_ERR_NOMEM / TC_ERR_USAGE (dims out of range) with err filled. */
int tc_sobol_new(unsigned dims, uint64_t seed, struct tc_sobol **out,
		 struct tc_error *err);
void tc_sobol_free(struct tc_sobol *s);

/* Coordinate dim of point index (< TC_SOBOL_MAX_POINTS), scrambled, as a
 * 64-bit binary fraction of [0, 1). */
uint64_t tc_sobol_get(const struct tc_sobol *s, unsigned dim, uint64_t index);

/* The same coordinate unscrambled, as a 32-bit fraction (the textbook
 * sequence: 0, 1/2, 3/4, 1/4, ... in dimension 0). */
uint32_t tc_sobol_raw(const struct tc_sobol *s, unsigned dim, uint64_t index);

#endif
