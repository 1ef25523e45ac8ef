/*
 * program.c — does the spec's command name a program this machine can run?
 * (The local backend's check, made by `validate` and before `run`: a typo
 * in command[0] should cost one message, not one failed attempt a trial.)
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec/spec.h"
#include "util/fsutil.h"
#include "util/spawn.h"

#define SUGGEST_MAX 8192 /* program names looked at for "did you mean" */

/* The executables in $PATH, for a suggestion: names in a malloc'd array
 * of strdup'd strings. */
static size_t path_programs(char ***out)
{
	const char *dirs = getenv("PATH"), *d;
	char **names = NULL;
	size_t n = 0;

	if (!dirs)
		dirs = "/bin:/usr/bin";
	for (d = dirs; *d && n < SUGGEST_MAX;) {
		size_t len = strcspn(d, ":");
		char dir[PATH_MAX];
		DIR *dp;
		struct dirent *de;

		snprintf(dir, sizeof(dir), "%.*s", (int)(len ? len : 1),
			 len ? d : ".");
		d += len;
		if (*d)
			d++;
		if (!(dp = opendir(dir)))
			continue;
		while ((de = readdir(dp)) && n < SUGGEST_MAX) {
			char **grown;

			if (de->d_name[0] == '.')
				continue;
			if (!(grown = realloc(names, (n + 1) * sizeof(*names))))
				break;
			names = grown;
			if (!(names[n] = strdup(de->d_name)))
				break;
			n++;
		}
		closedir(dp);
	}
	*out = names;
	return n;
}

int tc_spec_check_program(const struct tc_spec *spec, const char *cwd,
			  struct tc_error *err)
{
	const struct tc_str *prog;
	char found[PATH_MAX];
	int why;

	if (!spec->command || spec->ncommand == 0)
		return 0; /* a script: /bin/sh runs it */
	prog = &spec->command[0];
	if (strstr(prog->text, "{{"))
		return 0; /* decided per trial */
	why = tc_find_program(prog->text, cwd, found, sizeof(found));
	if (why == 0)
		return 0;
	if (why == EACCES)
		return tc_error_at(err, TC_ERR_SPEC, spec->path, prog->pos.line,
				   prog->pos.col,
				   "command '%s' is not an executable file (%s)",
				   prog->text, found);
	if (strchr(prog->text, '/'))
		return tc_error_at(err, TC_ERR_SPEC, spec->path, prog->pos.line,
				   prog->pos.col,
				   "command '%s' not found (relative to %s)",
				   prog->text, cwd ? cwd : ".");
	{
		char **names = NULL;
		size_t n = path_programs(&names);
		const char *dym = tc_did_you_mean(prog->text,
						  (const char *const *)names, n);

		if (dym)
			tc_error_at(err, TC_ERR_SPEC, spec->path, prog->pos.line,
				    prog->pos.col,
				    "command '%s' not found (did you mean %s?)",
				    prog->text, dym);
		else
			tc_error_at(err, TC_ERR_SPEC, spec->path, prog->pos.line,
				    prog->pos.col,
				    "command '%s' not found in PATH", prog->text);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	return TC_ERR_SPEC;
}
