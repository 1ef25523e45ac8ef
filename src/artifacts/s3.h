/*
 * s3.h — a small S3 client for trainctl's artifacts: put and get files and
 * directories under one `s3://bucket/prefix`.
 *
 * Requests go through libcurl, signed with AWS Signature Version 4
 * (CURLOPT_AWS_SIGV4), to path-style URLs (ENDPOINT/bucket/key), so any
 * S3-compatible store works (AWS, SeaweedFS, MinIO, Ceph).
 *
 * Guarantees:
 *   - An object is never half written: a file up to 64 MiB is one PUT, a
 *     larger one a multipart upload that is aborted on any failure, and S3
 *     shows neither until the last byte arrived.  A process killed during an
 *     upload leaves nothing visible under the key (an unfinished multipart
 *     upload is invisible; a bucket lifecycle rule reclaims it).
 *   - A local file is never half written: a download goes to a temporary
 *     file in the same directory, is checked, fsync'ed and renamed.
 *   - Checksums at both ends: an upload sends the SHA-256 of every request
 *     body (x-amz-content-sha256, which the server verifies) and stores the
 *     whole file's SHA-256 as metadata (x-amz-meta-sha256); a download
 *     verifies it, and also the MD5 ETag of a single-part object.  A
 *     mismatch removes the temporary file and is an error.
 *   - Transport failures (refused, reset, timed out) and 429/5xx answers are
 *     retried with the backoff of util/retry.h (the one retry rule of
 *     trainctl's HTTP clients), at most TC_S3_ATTEMPTS tries a request;
 *     a Retry-After of the server is honoured up to a minute.
 *
 * Credentials, looked up once by tc_s3_open: AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) when both are set, else the
 * profile AWS_PROFILE (default "default") of the shared credentials file
 * AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials).  They are kept
 * in memory only (wiped by tc_s3_free), never written anywhere, and no
 * error message contains them.
 *
 * Errors (struct tc_error, util/error.h), so that the CLI exits 3 whenever
 * the store is at fault:
 *   TC_ERR_BACKEND   the endpoint is unreachable, refused the credentials
 *                    (403), has no such bucket, answered an error, or sent
 *                    data that fails its checksum
 *   TC_ERR_NOTFOUND  no object under that key (tc_s3_get_file, tc_s3_head)
 *   TC_ERR_USAGE     a malformed s3:// URL or endpoint, no credentials
 *   TC_ERR_IO        a local file could not be read or written
 *   TC_ERR_NOMEM     out of memory
 * The message says which, names the endpoint, bucket and key, and what to
 * do next.
 *
 * Keys: every key given to these functions is relative to the URL's prefix
 * ("model.pt" under s3://b/runs/7 is the object runs/7/model.pt).
 *
 * Not thread safe: one struct tc_s3 per thread.
 *
 * Use, e.g. a stage that uploads its outputs:
 *
 *	struct tc_s3 *s;
 *	struct tc_error err;
 *	int rc = tc_s3_open(&s, "s3://bucket/runs/7", NULL, NULL, &err);
 *
 *	if (!rc)
 *		rc = tc_s3_check(s, &err);	// fail early, before the work
 *	...
 *	if (!rc)
 *		rc = tc_s3_put_dir(s, "trial-3/checkpoints", dir, &err);
 *	tc_s3_free(s);
 *	// rc < 0: err.msg says what; the CLI exits tc_status_exit(rc)
 */
#ifndef TC_S3_H
#define TC_S3_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Files above this size are uploaded in parts. */
#define TC_S3_MULTIPART_THRESHOLD (64ull << 20)
/* Tries of one request (the first one and its retries). */
#define TC_S3_ATTEMPTS 4

struct tc_s3;

/*
 * Open a client for url ("s3://bucket" or "s3://bucket/prefix").
 * endpoint: "http(s)://host[:port]" of the store; NULL takes
 * AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, then AWS's own
 * (https://s3.REGION.amazonaws.com).  region: NULL takes AWS_REGION, then
 * AWS_DEFAULT_REGION, then "us-east-1".  Reads the credentials (above).
 * Sends nothing: tc_s3_check does.  *out is freed with tc_s3_free.
 */
int tc_s3_open(struct tc_s3 **out, const char *url, const char *endpoint,
	       const char *region, struct tc_error *err);

/* Free a client and wipe its credentials.  NULL is fine. */
void tc_s3_free(struct tc_s3 *s);

/* The bucket and the prefix ("" when none, else without a trailing '/')
 * of the URL, owned by s. */
const char *tc_s3_bucket(const struct tc_s3 *s);
const char *tc_s3_prefix(const struct tc_s3 *s);

/*
 * Is the bucket reachable with these credentials (HEAD bucket)?  0, or
 * TC_ERR_BACKEND with a message that tells an unreachable endpoint, refused
 * credentials and a missing bucket apart.  Fails fast: an unreachable
 * endpoint is tried TC_S3_ATTEMPTS times, a few seconds in all.
 */
int tc_s3_check(struct tc_s3 *s, struct tc_error *err);

/* Upload the regular file at path to key (see the guarantees above). */
int tc_s3_put_file(struct tc_s3 *s, const char *key, const char *path,
		   struct tc_error *err);

/* Download key to path (mode 0644 before umask), replacing path only when
 * the whole object arrived and its checksums match. */
int tc_s3_get_file(struct tc_s3 *s, const char *key, const char *path,
		   struct tc_error *err);

/* Does key exist?  1 yes, 0 no, or a negative code; *size (if not NULL)
 * receives its length. */
int tc_s3_head(struct tc_s3 *s, const char *key, uint64_t *size,
	       struct tc_error *err);

/* Call fn for every object whose key starts with prefix ("" for all),
 * with the key relative to the URL's prefix and its size, in key order
 * (ListObjectsV2).  A nonzero return of fn stops the listing and is
 * returned. */
typedef int (*tc_s3_list_fn)(void *ud, const char *key, uint64_t size);
int tc_s3_list(struct tc_s3 *s, const char *prefix, tc_s3_list_fn fn,
	       void *ud, struct tc_error *err);

/* Upload every regular file below the local directory dir (following no
 * symbolic links) to key/RELATIVE/PATH. */
int tc_s3_put_dir(struct tc_s3 *s, const char *key, const char *dir,
		  struct tc_error *err);

/* Download every object under key/ to dir/RELATIVE/PATH, making the
 * directories.  A key that would land outside dir ("..", an empty path
 * part) is refused.  An empty listing is TC_ERR_NOTFOUND. */
int tc_s3_get_dir(struct tc_s3 *s, const char *key, const char *dir,
		  struct tc_error *err);

/* Delete key (no error when it does not exist). */
int tc_s3_delete(struct tc_s3 *s, const char *key, struct tc_error *err);

#endif
