/*
 * version.c — `trainctl version`.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <yaml.h>

#include "cli/cli.h"

static const struct tc_opt version_opts[] = {{NULL, 0, 0, NULL, NULL}};

int cmd_version(int argc, char **argv)
{
	struct tc_args a;
	int rc = tc_parse_args(argc, argv, version_opts, "version",
			       "Print trainctl's version and its libraries'.", &a);

	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	printf("trainctl %s\n", TC_VERSION);
	printf("  sqlite %s, jansson %s, libyaml %s\n", sqlite3_libversion(),
	       JANSSON_VERSION, yaml_get_version_string());
	return 0;
}
