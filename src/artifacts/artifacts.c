/*
 * artifacts.c — a pipeline's artifact store (see artifacts.h).
 */
#include "artifacts/artifacts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"

int tc_artifacts_open(const struct tc_spec *spec, struct tc_s3 **out,
		      struct tc_error *err)
{
	struct tc_s3 *s3 = NULL;
	int rc;

	*out = NULL;
	if (!spec->artifacts.store)
		return 0;
	if ((rc = tc_s3_open(&s3, spec->artifacts.store, spec->artifacts.endpoint,
			     spec->artifacts.region, err)) ||
	    (rc = tc_s3_check(s3, err))) {
		tc_s3_free(s3);
		/* no credentials, or a malformed endpoint: the store cannot
		 * be used, whoever is at fault (exit 3, before anything) */
		if (rc == TC_ERR_USAGE)
			err->code = rc = TC_ERR_BACKEND;
		return rc;
	}
	*out = s3;
	return 0;
}

static void job_key(char *key, size_t len, const char *exp, const char *id,
		    const char *path)
{
	snprintf(key, len, "%s/%s%s%s", exp, id, path ? "/" : "",
		 path ? path : "");
}

int tc_artifacts_put(struct tc_s3 *s3, const char *exp, const char *id,
		     const char *dir, const struct tc_stage *st,
		     struct tc_error *err)
{
	for (size_t k = 0; s3 && k < st->noutputs; k++) {
		const char *out = st->outputs[k].text;
		char key[PATH_MAX], path[PATH_MAX];
		struct stat sb;
		int rc;

		job_key(key, sizeof(key), exp, id, out);
		snprintf(path, sizeof(path), "%s/%s", dir, out);
		if (stat(path, &sb) != 0)
			return tc_error_set(err, TC_ERR_IO, "declared output '%s' "
					    "is missing (in %s)", out, dir);
		rc = S_ISDIR(sb.st_mode) ? tc_s3_put_dir(s3, key, path, err)
					 : tc_s3_put_file(s3, key, path, err);
		if (rc)
			return rc;
	}
	return 0;
}

int tc_artifacts_fetch(struct tc_s3 *s3, const char *exp, const char *id,
		       const char *dir, const struct tc_stage *st,
		       struct tc_error *err)
{
	for (size_t k = 0; s3 && k < st->noutputs; k++) {
		const char *out = st->outputs[k].text;
		char key[PATH_MAX], path[PATH_MAX], *slash;
		int rc;

		snprintf(path, sizeof(path), "%s/%s", dir, out);
		if (access(path, F_OK) == 0)
			continue;
		job_key(key, sizeof(key), exp, id, out);
		if ((slash = strrchr(path, '/')) && slash > path) {
			*slash = '\0';
			if (tc_mkdir_p(path, 0755) != 0)
				return tc_error_set(err, TC_ERR_IO, "cannot create "
						    "%s: %s", path, strerror(errno));
			*slash = '/';
		}
		rc = tc_s3_head(s3, key, NULL, err);
		if (rc == 1)
			rc = tc_s3_get_file(s3, key, path, err);
		else if (rc == 0)
			rc = tc_s3_get_dir(s3, key, path, err);
		if (rc)
			return rc;
	}
	return 0;
}

int tc_artifacts_download(struct tc_s3 *s3, const char *exp, const char *id,
			  const char *dir, struct tc_error *err)
{
	char key[PATH_MAX];

	job_key(key, sizeof(key), exp, id, NULL);
	return tc_s3_get_dir(s3, key, dir, err);
}
