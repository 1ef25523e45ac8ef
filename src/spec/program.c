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

#include <jansson.h>
#include <stdio.h>

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

char *tc_spec_workdir(const struct tc_spec *spec, const char *spec_dir)
{
	char *joined, *abs;

	if (!spec->workdir)
		return tc_abspath(spec_dir);
	if (spec->workdir[0] == '/')
		return tc_abspath(spec->workdir);
	if (asprintf(&joined, "%s/%s", spec_dir, spec->workdir) < 0)
		return NULL;
	abs = tc_abspath(joined);
	free(joined);
	return abs;
}

/* workdir must be a directory we can enter. */
static int check_workdir(const struct tc_spec *spec, const char *dir,
			 struct tc_error *err)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return tc_error_at(err, TC_ERR_SPEC, spec->path,
				   spec->workdir_pos.line, spec->workdir_pos.col,
				   "workdir '%s' does not exist (%s)",
				   spec->workdir, dir);
	if (!S_ISDIR(st.st_mode))
		return tc_error_at(err, TC_ERR_SPEC, spec->path,
				   spec->workdir_pos.line, spec->workdir_pos.col,
				   "workdir '%s' is not a directory (%s)",
				   spec->workdir, dir);
	if (access(dir, X_OK) != 0)
		return tc_error_at(err, TC_ERR_SPEC, spec->path,
				   spec->workdir_pos.line, spec->workdir_pos.col,
				   "workdir '%s' cannot be entered (%s): %s",
				   spec->workdir, dir, strerror(errno));
	return 0;
}

/* Why command[0] (prog) does not run from cwd: why is tc_find_program's
 * answer, found the file it looked at. */
static int report(const struct tc_spec *spec, const struct tc_str *prog,
		  int why, const char *found, const char *cwd,
		  struct tc_error *err)
{
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

/* The path of an env: {file: PATH}: as written when absolute, else
 * relative to the spec's directory.  malloc'd; NULL when out of memory. */
static char *env_file_path(const struct tc_kv *kv, const char *spec_dir)
{
	size_t n = strlen(spec_dir) + strlen(kv->ref_name) + 2;
	char *p;

	if (kv->ref_name[0] == '/')
		return strdup(kv->ref_name);
	if ((p = malloc(n)))
		snprintf(p, n, "%s/%s", spec_dir, kv->ref_name);
	return p;
}

int tc_spec_read_env_files(const struct tc_spec *spec, const char *spec_dir,
			   json_t *into, struct tc_error *err)
{
	static const char *const kinds[] = {
		[TC_ENV_SECRET] = "secretKeyRef",
		[TC_ENV_CONFIGMAP] = "configMapKeyRef",
		[TC_ENV_FIELD] = "fieldRef",
	};

	for (size_t i = 0; i < spec->nenv; i++) {
		const struct tc_kv *kv = &spec->env[i];
		char *path, *buf = NULL;
		size_t len = 0;
		int rc;

		if (kv->ref == TC_ENV_LITERAL)
			continue;
		if (kv->ref != TC_ENV_FILE)
			return tc_error_at(
				err, TC_ERR_SPEC, spec->path, kv->pos.line,
				kv->pos.col,
				"env.%s: a %s is read by Kubernetes; the local "
				"backend cannot resolve it (use {file: PATH} "
				"for a local file, or run with --backend "
				"kubernetes)",
				kv->key, kinds[kv->ref]);
		if (!(path = env_file_path(kv, spec_dir)))
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		if (tc_read_file(path, TC_ENV_FILE_MAX, &buf, &len) != 0) {
			rc = tc_error_at(err, TC_ERR_SPEC, spec->path,
					 kv->pos.line, kv->pos.col,
					 "env.%s: cannot read %s: %s", kv->key,
					 path, tc_fs_strerror(errno));
			free(path);
			return rc;
		}
		free(path);
		if (memchr(buf, '\0', len)) {
			free(buf);
			return tc_error_at(err, TC_ERR_SPEC, spec->path,
					   kv->pos.line, kv->pos.col,
					   "env.%s: %s contains a NUL byte, "
					   "which no variable can hold",
					   kv->key, kv->ref_name);
		}
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		rc = into ? json_object_set_new(into, kv->key,
						json_stringn(buf, len))
			  : 0;
		free(buf);
		if (rc)
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	return 0;
}

int tc_spec_check_program(const struct tc_spec *spec, const char *spec_dir,
			  struct tc_error *err)
{
	const struct tc_str *prog;
	char found[PATH_MAX], *cwd;
	int why;

	if ((why = tc_spec_read_env_files(spec, spec_dir, NULL, err)))
		return why;
	if (!(cwd = tc_spec_workdir(spec, spec_dir)))
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	why = spec->workdir ? check_workdir(spec, cwd, err) : 0;
	if (why || !spec->command || spec->ncommand == 0) {
		free(cwd);
		return why; /* a script: /bin/sh runs it */
	}
	prog = &spec->command[0];
	if (strstr(prog->text, "{{")) {
		free(cwd);
		return 0; /* decided per trial */
	}
	why = tc_find_program(prog->text, cwd, found, sizeof(found));
	if (why == 0) {
		free(cwd);
		return 0;
	}
	why = report(spec, prog, why, found, cwd, err);
	free(cwd);
	return why;
}
