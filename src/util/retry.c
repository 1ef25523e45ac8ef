/*
 * retry.c — the retry rule of trainctl's HTTP clients (see retry.h).
 */
#include "util/retry.h"

#include <curl/curl.h>

int tc_http_retryable(int rc, long status)
{
	if (rc == CURLE_OK)
		return status == 429 || status == 500 || status == 502 ||
		       status == 503 || status == 504;
	switch ((CURLcode)rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

double tc_jitter01(uint64_t *s)
{
	/* xorshift64*: jitter only, no need for more */
	if (!*s)
		*s = 0x9e3779b97f4a7c15ULL;
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 2685821657736338717ULL) >> 11) /
	       9007199254740992.0;
}

double tc_backoff(int n, double start, double cap, uint64_t *rng)
{
	double d = start;

	while (--n > 0 && d < cap)
		d *= 2;
	if (d > cap)
		d = cap;
	return d / 2 + tc_jitter01(rng) * d / 2;
}

double tc_retry_wait(double backoff, double retry_after)
{
	return retry_after > backoff ? retry_after : backoff;
}
