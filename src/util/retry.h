/*
 * retry.h — when a request to a server is tried again, and after how long.
 *
 * One rule for every HTTP client of trainctl (the Kubernetes API client,
 * the S3 artifact store): transport failures (refused, reset, timed out,
 * nothing answered) and 429 and 5xx answers are worth another try, other
 * answers are not; the n-th retry waits a capped exponential backoff with
 * jitter so that many clients do not retry in step, or longer when the
 * server's Retry-After says so.
 */
#ifndef TC_RETRY_H
#define TC_RETRY_H

#include <stdint.h>

/* Is a request that ended with libcurl result rc (a CURLcode) and HTTP
 * status (meaningful when rc is CURLE_OK) worth retrying? */
int tc_http_retryable(int rc, long status);

/* Seconds to wait before the retry after the n-th failure (n >= 1):
 * uniformly in [d/2, d] with d = min(cap, start * 2^(n-1)).  *rng is the
 * caller's jitter state (any nonzero seed; it is advanced). */
double tc_backoff(int n, double start, double cap, uint64_t *rng);

/* How long to wait before a retry: the backoff, or longer when the server
 * asked for it (a Retry-After of retry_after seconds; 0 when none). */
double tc_retry_wait(double backoff, double retry_after);

/* A uniform draw in [0, 1) from the same jitter state (xorshift64*: for
 * spreading clients out, not for anything that must be unpredictable). */
double tc_jitter01(uint64_t *rng);

#endif
