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

int tc_sha256_init(struct tc_sha256 *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c)
		return -1;
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	h->ctx_ = c;
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
	EVP_MD_CTX_free(h->ctx_);
	h->ctx_ = NULL;
}
