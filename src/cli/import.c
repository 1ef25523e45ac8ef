/*
 * import.c — `trainctl import wandb|katib FILE`: another tool's sweep as
 * a commented experiment file on stdout (spec/import.h).  What it prints
 * is checked first, by the loader every other verb uses, so a file that
 * prints is one `validate` accepts; errors point into FILE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "spec/import.h"
#include "spec/spec.h"
#include "util/fsutil.h"

static const struct tc_opt import_opts[] = {
	{NULL, 0, 0, NULL, NULL},
};

int cmd_import(int argc, char **argv)
{
	struct tc_args a;
	struct tc_error err;
	struct tc_import im;
	enum tc_import_format f;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = tc_parse_args(argc, argv, import_opts, "import wandb|katib FILE",
			   "Print the experiment file that FILE, a W&B sweep "
			   "configuration (wandb) or a\nKatib Experiment (katib), "
			   "translates to, commented with where each part\ncame "
			   "from.  `trainctl run` takes a W&B sweep as it is; "
			   "this shows what it runs.\nA key trainctl cannot "
			   "honour is an error at its line and column.",
			   &a);
	if (rc)
		return rc > 0 ? TC_EXIT_OK : TC_EXIT_USAGE;
	if (a.npos != 2)
		return tc_usage_error("import", "expected wandb or katib and a "
				      "file");
	if (!strcmp(a.pos[0], "wandb"))
		f = TC_IMPORT_WANDB;
	else if (!strcmp(a.pos[0], "katib"))
		f = TC_IMPORT_KATIB;
	else
		return tc_usage_error("import", "unknown format '%s': wandb or "
				      "katib", a.pos[0]);
	tc_error_clear(&err);
	if (tc_read_file(a.pos[1], TC_SPEC_MAX_BYTES + 1, &buf, &len) != 0) {
		tc_error_at(&err, TC_ERR_IO, a.pos[1], 0, 0, "cannot read: %s",
			    strerror(errno));
		return tc_fail_spec("import", &err);
	}
	if ((rc = tc_import_check(f, a.pos[1], buf, len, &err)) ||
	    (rc = tc_import_translate(f, a.pos[1], buf, len, 0, &im, &err))) {
		free(buf);
		return tc_fail_spec("import", &err);
	}
	fwrite(im.text, 1, im.len, stdout);
	tc_import_free(&im);
	free(buf);
	return TC_EXIT_OK;
}
