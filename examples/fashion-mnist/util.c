/*
 * util.c — error reports, random streams, aligned buffers and checksums
 * for the fmnist-train library.  See util.h.
 */
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>
#include <zlib.h>

int fm_error_set(struct fm_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void fm_rng_seed(struct fm_rng *r, uint64_t seed, uint64_t stream)
{
	r->s = mix64(seed ^ mix64(stream + 0x9e3779b97f4a7c15ULL));
}

uint64_t fm_rng_next(struct fm_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

void fm_rng_skip(struct fm_rng *r, uint64_t k)
{
	r->s += k * 0x9e3779b97f4a7c15ULL;
}

double fm_rng_uniform(struct fm_rng *r)
{
	return (double)(fm_rng_next(r) >> 11) * 0x1.0p-53;
}

double fm_rng_normal(struct fm_rng *r)
{
	/* Box-Muller; one value per call keeps the stream simple to replay. */
	double u1 = 1.0 - fm_rng_uniform(r);	/* (0, 1] */
	double u2 = fm_rng_uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

uint32_t fm_rng_below(struct fm_rng *r, uint32_t n)
{
	/* Lemire's multiply-shift; the tiny bias is irrelevant for shuffling. */
	return (uint32_t)(((fm_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

float *fm_falloc(size_t n)
{
	size_t bytes = n * sizeof(float);
	float *p;

	if (n == 0)
		bytes = 64;
	if (bytes / sizeof(float) < n)
		return NULL;
	bytes = (bytes + 63) & ~(size_t)63;
	p = aligned_alloc(64, bytes);
	if (p)
		memset(p, 0, bytes);
	return p;
}

void fm_free(void *p)
{
	free(p);
}

uint32_t fm_crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	/* zlib's crc32 takes a uInt length; feed it in pieces. */
	while (len > 0) {
		uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;

		crc = (uint32_t)crc32(crc, b, chunk);
		b += chunk;
		len -= chunk;
	}
	return crc;
}

uint64_t fm_fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

double fm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int fm_write_atomic(const char *path, const void *buf, size_t len,
		    struct fm_error *err)
{
	char tmp[4200];
	FILE *f;
	int e;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "wb");
	if (!f)
		return fm_error_set(err, FM_EIO, "%s: cannot create: %s", tmp,
				    strerror(errno));
	if (fwrite(buf, 1, len, f) != len || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		e = errno;
		fclose(f);
		unlink(tmp);
		return fm_error_set(err, FM_EIO, "%s: write failed: %s", tmp,
				    strerror(e));
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		return fm_error_set(err, FM_EIO, "%s: cannot write: %s", path,
				    strerror(e));
	}
	return FM_OK;
}
