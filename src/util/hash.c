/*
 * hash.c — SHA-256 helpers over OpenSSL's EVP interface.
 */
#include "util/hash.h"

#include <openssl/evp.h>

void tc_sha256_hex(const void *data, size_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

/* One context, reused: creating and fetching one per hash costs more than
 * hashing the few dozen bytes of a trial's parameters.  trainctl is single
 * threaded. */
static EVP_MD_CTX *shared_ctx;
static EVP_MD *shared_md;

int tc_sha256_init(struct tc_sha256 *h)
{
	if (!shared_md)
		shared_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!shared_ctx)
		shared_ctx = EVP_MD_CTX_new();
	if (!shared_ctx || !shared_md)
		return -1;
	EVP_DigestInit_ex2(shared_ctx, shared_md, NULL);
	h->ctx_ = shared_ctx;
	return 0;
}

void tc_sha256_update(struct tc_sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx_, data, len);
}

void tc_sha256_final(struct tc_sha256 *h, unsigned char out[32])
{
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->ctx_, out, &n);
	h->ctx_ = NULL;
}
