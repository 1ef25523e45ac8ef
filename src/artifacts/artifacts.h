/*
 * artifacts.h — a pipeline's artifact store (the spec's `artifacts:`):
 * where its jobs' declared outputs go when they succeed and where a job's
 * missing inputs from another stage come from, on top of the S3 client
 * (artifacts/s3.h).
 *
 * An output `OUT` of job ID of experiment EXP is the object
 * `PREFIX/EXP/ID/OUT` of the store (a directory output: one object per
 * file below it).  Nothing here is the scheduler's policy: it calls these
 * when a job succeeded (tc_artifacts_put) and before a job starts
 * (tc_artifacts_fetch).
 */
#ifndef TC_ARTIFACTS_H
#define TC_ARTIFACTS_H

#include <stddef.h>

#include "artifacts/s3.h"
#include "spec/spec.h"
#include "util/error.h"

/* The spec's store, opened and checked (reachable, credentials taken):
 * 0 and *out (NULL when the spec has none), or an error (TC_ERR_BACKEND:
 * exit 3) whose message names the store, never a secret. */
int tc_artifacts_open(const struct tc_spec *spec, struct tc_s3 **out,
		      struct tc_error *err);

/* Upload the declared outputs of stage st's job id (in dir).  0, or an
 * error (err set). */
int tc_artifacts_put(struct tc_s3 *s3, const char *exp, const char *id,
		     const char *dir, const struct tc_stage *st,
		     struct tc_error *err);

/* The declared outputs of stage st's job id that are not in dir, from the
 * store.  0 (all there now), or an error (TC_ERR_NOTFOUND: the store
 * has not got one either). */
int tc_artifacts_fetch(struct tc_s3 *s3, const char *exp, const char *id,
		       const char *dir, const struct tc_stage *st,
		       struct tc_error *err);

/* Every object of job id into dir (`best --download`): 0, or an error
 * (TC_ERR_NOTFOUND: it has none). */
int tc_artifacts_download(struct tc_s3 *s3, const char *exp, const char *id,
			  const char *dir, struct tc_error *err);

#endif
