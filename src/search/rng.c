/*
 * rng.c — xoshiro256** seeded by splitmix64 (see rng.h).
 */
#include "search/rng.h"

uint64_t tc_rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void tc_rng_seed(struct tc_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = tc_rng_splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t tc_rng_next(struct tc_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double tc_rng_unit(struct tc_rng *r)
{
	return (double)(tc_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t tc_rng_below(struct tc_rng *r, uint64_t n)
{
	uint64_t limit, x;

	if (n == 0)
		return tc_rng_next(r);
	limit = UINT64_MAX - UINT64_MAX % n;
	do
		x = tc_rng_next(r);
	while (x >= limit);
	return x % n;
}
