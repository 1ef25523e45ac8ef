/*
 * hash.h — SHA-256 (through OpenSSL's libcrypto) as lowercase hex.
 */
#ifndef TC_HASH_H
#define TC_HASH_H

#include <stddef.h>

/* hex receives 64 hex digits and a NUL. */
void tc_sha256_hex(const void *data, size_t len, char hex[65]);

/* Incremental form. */
struct tc_sha256 {
	void *ctx_;
};
int tc_sha256_init(struct tc_sha256 *h);
void tc_sha256_update(struct tc_sha256 *h, const void *data, size_t len);
void tc_sha256_final(struct tc_sha256 *h, unsigned char out[32]);

#endif
