/*
 * s3_roundtrip.c — a test driver for src/artifacts/s3.c: one call of the
 * module per run, so that tests/s3/test_s3.sh (and bench/s3.sh) can check
 * its effects with the store's own view, kill it mid-transfer and read its
 * exit code and message the way the CLI would report them.
 *
 *   s3_roundtrip URL check
 *   s3_roundtrip URL put KEY FILE | get KEY FILE
 *   s3_roundtrip URL put-dir KEY DIR | get-dir KEY DIR
 *   s3_roundtrip URL head KEY        (prints the size; exit 1 when missing)
 *   s3_roundtrip URL ls [PREFIX]     (prints "SIZE KEY" lines)
 *   s3_roundtrip URL rm KEY
 *
 * The endpoint and region come from TC_S3_ENDPOINT / TC_S3_REGION (else the
 * module's defaults), the credentials from the usual AWS variables or file.
 * Errors print as "s3_roundtrip: message" and exit with tc_status_exit().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/s3.h"

static int print_entry(void *ud, const char *key, uint64_t size)
{
	(void)ud;
	printf("%llu %s\n", (unsigned long long)size, key);
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: s3_roundtrip s3://BUCKET[/PREFIX] "
		"check|put|get|put-dir|get-dir|head|ls|rm [ARGS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct tc_error err = {0};
	struct tc_s3 *s = NULL;
	const char *cmd;
	int rc;

	if (argc < 3)
		return usage();
	cmd = argv[2];
	rc = tc_s3_open(&s, argv[1], getenv("TC_S3_ENDPOINT"),
			getenv("TC_S3_REGION"), &err);
	if (!rc) {
		if (!strcmp(cmd, "check") && argc == 3)
			rc = tc_s3_check(s, &err);
		else if (!strcmp(cmd, "put") && argc == 5)
			rc = tc_s3_put_file(s, argv[3], argv[4], &err);
		else if (!strcmp(cmd, "get") && argc == 5)
			rc = tc_s3_get_file(s, argv[3], argv[4], &err);
		else if (!strcmp(cmd, "put-dir") && argc == 5)
			rc = tc_s3_put_dir(s, argv[3], argv[4], &err);
		else if (!strcmp(cmd, "get-dir") && argc == 5)
			rc = tc_s3_get_dir(s, argv[3], argv[4], &err);
		else if (!strcmp(cmd, "ls") && (argc == 3 || argc == 4))
			rc = tc_s3_list(s, argc == 4 ? argv[3] : "",
					print_entry, NULL, &err);
		else if (!strcmp(cmd, "rm") && argc == 4)
			rc = tc_s3_delete(s, argv[3], &err);
		else if (!strcmp(cmd, "head") && argc == 4) {
			uint64_t size = 0;

			rc = tc_s3_head(s, argv[3], &size, &err);
			if (rc == 1)
				printf("%llu\n", (unsigned long long)size);
			tc_s3_free(s);
			return rc == 1 ? 0 : rc == 0 ? 1 : tc_status_exit(rc);
		} else {
			tc_s3_free(s);
			return usage();
		}
	}
	tc_s3_free(s);
	if (rc < 0) {
		char msg[1600];

		tc_error_format(&err, msg, sizeof msg);
		fprintf(stderr, "s3_roundtrip: %s\n", msg);
		return tc_status_exit(rc);
	}
	if (fflush(stdout) || ferror(stdout))
		return 1;
	return 0;
}
