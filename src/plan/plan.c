/*
 * plan.c — an experiment's plan into the journal (see plan.h).
 */
#include "plan/plan.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <glob.h>
#include <unistd.h>

#include "k8s/manifest.h"
#include "search/search.h"
#include "search/tpe.h"
#include "store/trials.h"
#include "template/template.h"
#include "util/hash.h"
#include "util/spawn.h"

#include <sqlite3.h>

/* ---- provenance ---------------------------------------------------------- */

void tc_provenance_collect(const char *spec_dir, struct tc_provenance *p)
{
	char buf[4096];
	char *const head[] = {"git", "-C", (char *)spec_dir, "rev-parse", "HEAD",
			      NULL};
	char *const stat[] = {"git", "-C", (char *)spec_dir, "status",
			      "--porcelain", "--untracked-files=no", NULL};

	memset(p, 0, sizeof(*p));
	gethostname(p->host, sizeof(p->host) - 1);
	p->git_dirty = -1;
	if (tc_capture(head, buf, sizeof(buf)) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		buf[sizeof(p->git_commit) - 1] = '\0';
		memcpy(p->git_commit, buf, strlen(buf) + 1);
		if (tc_capture(stat, buf, sizeof(buf)) == 0)
			p->git_dirty = buf[0] != '\0';
	}
}

/* ---- rendering a trial ---------------------------------------------------- */

struct lookup_ctx {
	const struct tc_spec *spec;
	const struct tc_value *values;
	const char *id, *trial_dir;
	char index[32], seed[32];
	const struct tc_job_needs *needs; /* a pipeline's job: the jobs it
					     needs, by stage */
	size_t nneeds;
	long rep; /* {{needs.S}}: that job's directory (a gather's rep-th),
		     or -1: all of them, joined by ':' */
};

static const struct tc_job_needs *need_of(const struct lookup_ctx *c,
					  const char *name, size_t len)
{
	if (len <= 6 || memcmp(name, "needs.", 6))
		return NULL;
	for (size_t k = 0; k < c->nneeds; k++)
		if (strlen(c->needs[k].stage) == len - 6 &&
		    !memcmp(c->needs[k].stage, name + 6, len - 6))
			return &c->needs[k];
	return NULL;
}

static const char *lookup(void *vctx, const char *name, size_t len)
{
	struct lookup_ctx *c = vctx;
	int i = tc_spec_param_index(c->spec, name, len);
	const struct tc_job_needs *nd = need_of(c, name, len);

#define IS(s) (len == strlen(s) && memcmp(name, s, len) == 0)
	if (nd) {
		if (c->rep < 0 || nd->n == 0)
			return nd->joined ? nd->joined : "";
		return nd->dirs[(size_t)c->rep < nd->n ? (size_t)c->rep : 0];
	}
	if (i >= 0) {
		if (c->values[i].type == TC_V_ABSENT)
			return tc_template_absent;
		return c->values[i].text ? c->values[i].text : "";
	}
	if (IS("trial_id"))
		return c->id;
	if (IS("trial_dir"))
		return c->trial_dir;
	if (IS("experiment"))
		return c->spec->name;
	if (IS("index"))
		return c->index;
	if (IS("seed"))
		return c->seed;
#undef IS
	return NULL;
}

static int valid_env_name(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* The argument list of {{args}} (kind TC_ARGS_HYPHENS: --name=value) or
 * {{args_no_hyphens}} (name=value) appended to argv: one element per
 * parameter the trial has, in spec order, each value as its text. */
static int append_args(json_t *argv, const struct tc_spec *spec,
		       const struct tc_value *values, int kind)
{
	for (size_t i = 0; i < spec->nparams; i++) {
		const char *text = values[i].text ? values[i].text : "";
		char *el;
		int rc;

		if (values[i].type == TC_V_ABSENT)
			continue;
		if (asprintf(&el, "%s%s=%s", kind == TC_ARGS_HYPHENS ? "--" : "",
			     spec->params[i].name, text) < 0)
			return TC_ERR_NOMEM;
		rc = json_array_append_new(argv, json_string(el));
		free(el);
		if (rc)
			return TC_ERR_NOMEM;
	}
	return 0;
}

/* A script's {{args}} or {{args_no_hyphens}} (a word of its own, the
 * loader made sure, and only one of the two kinds): each becomes "$@",
 * and *kind says which list the script gets as its positional
 * parameters (0: none; the script is then used as it is, *out NULL). */
static int script_args(const struct tc_spec *spec, char **out, int *kind)
{
	const char *text = spec->script.text;
	struct tc_template_ref r;
	size_t pos = 0, copied = 0, len = 0;
	char *b = NULL;
	int rc;

	*out = NULL;
	*kind = 0;
	while ((rc = tc_template_next(text, &pos, &r)) != 0) {
		if (rc < 0 || !tc_template_args_kind(&r) ||
		    tc_spec_param_index(spec, r.name, r.name_len) >= 0)
			continue;
		/* "$@" is shorter than the reference it replaces */
		if (!b && !(b = malloc(strlen(text) + 1)))
			return TC_ERR_NOMEM;
		*kind = tc_template_args_kind(&r);
		memcpy(b + len, text + copied, r.off - copied);
		len += r.off - copied;
		memcpy(b + len, "\"$@\"", 4);
		len += 4;
		copied = r.off + r.len;
	}
	if (b)
		memcpy(b + len, text + copied, strlen(text + copied) + 1);
	*out = b;
	return 0;
}

/* How many times command element el is rendered: once per job of the
 * gathered stage it names ({{needs.S}} of a gather), else once. */
static size_t element_reps(const struct lookup_ctx *c, const char *el)
{
	struct tc_template_ref r;
	size_t pos = 0, reps = 1;
	int rc;

	while ((rc = tc_template_next(el, &pos, &r)) > 0) {
		const struct tc_job_needs *nd = need_of(c, r.name, r.name_len);

		if (nd && nd->gather && nd->n > reps)
			reps = nd->n;
	}
	return reps;
}

/* A pipeline job's inputs: each path rendered (a gather's {{needs.S}}
 * once per job), into a JSON array. */
static int render_inputs(const struct tc_spec *spec, const struct tc_stage *st,
			 const struct tc_value *values, const char *id,
			 const char *trial_dir, const struct tc_job_needs *needs,
			 size_t nneeds, json_t **out, struct tc_error *err)
{
	struct lookup_ctx c = {spec, values, id, trial_dir, "", "", needs,
			       nneeds, -1};
	json_t *a = json_array();

	*out = NULL;
	if (!a)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < st->ninputs; i++) {
		const char *el = st->inputs[i].text;

		for (size_t k = 0, reps = element_reps(&c, el); k < reps; k++) {
			char *s = NULL;
			int rc;

			c.rep = (long)k;
			rc = tc_template_render(el, lookup, &c, &s, err);
			c.rep = -1;
			if (rc) {
				json_decref(a);
				return rc;
			}
			if (json_array_append_new(a, json_string(s))) {
				free(s);
				json_decref(a);
				return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			}
			free(s);
		}
	}
	*out = a;
	return 0;
}

int tc_plan_render(const struct tc_spec *spec, const struct tc_value *values,
		   const char *id, uint64_t index, uint32_t seed,
		   const char *trial_dir, json_t **argv_out, json_t **env_out,
		   struct tc_error *err)
{
	return tc_plan_render_job(spec, values, id, index, seed, trial_dir,
				  NULL, 0, argv_out, env_out, err);
}

int tc_plan_render_job(const struct tc_spec *spec, const struct tc_value *values,
		       const char *id, uint64_t index, uint32_t seed,
		       const char *trial_dir, const struct tc_job_needs *needs,
		       size_t nneeds, json_t **argv_out, json_t **env_out,
		       struct tc_error *err)
{
	struct lookup_ctx c = {spec, values, id, trial_dir, "", "", needs,
			       nneeds, -1};
	json_t *argv = json_array(), *env = json_object();
	int rc = 0;

	*argv_out = *env_out = NULL;
	snprintf(c.index, sizeof(c.index), "%" PRIu64, index);
	snprintf(c.seed, sizeof(c.seed), "%" PRIu32, seed);
	if (!argv || !env)
		goto nomem;
	if (spec->script.text) {
		/* A script gets parameters only through its environment,
		 * and, when it says {{args}}, as its positional parameters
		 * ("$@", $0 being /bin/sh): never in its text. */
		char *script = NULL;
		int kind = 0, bad;

		if (script_args(spec, &script, &kind))
			goto nomem;
		bad = json_array_append_new(argv, json_string("/bin/sh")) ||
		      json_array_append_new(argv, json_string("-c")) ||
		      json_array_append_new(argv, json_string(
							  script ? script
								 : spec->script.text)) ||
		      (kind && (json_array_append_new(argv,
						      json_string("/bin/sh")) ||
				append_args(argv, spec, values, kind)));
		free(script);
		if (bad)
			goto nomem;
		for (size_t i = 0; i < spec->nparams; i++) {
			const char *name = spec->params[i].name;
			const char *text = values[i].text ? values[i].text : "";
			char key[256];
			size_t k = 0;

			if (values[i].type == TC_V_ABSENT)
				continue; /* not this trial's */

			/* TRAINCTL_PARAM_<NAME> for every parameter (batch-size
			 * → TRAINCTL_PARAM_BATCH_SIZE), and the bare name too
			 * when it is a valid shell variable name */
			k = (size_t)snprintf(key, sizeof(key), "TRAINCTL_PARAM_");
			for (const char *ch = name; *ch && k + 1 < sizeof(key); ch++)
				key[k++] = (*ch >= 'a' && *ch <= 'z') ? (char)(*ch - 32)
					   : ((*ch >= 'A' && *ch <= 'Z') ||
					      (*ch >= '0' && *ch <= '9'))
						   ? *ch
						   : '_';
			key[k] = '\0';
			if (json_object_set_new(env, key, json_string(text)))
				goto nomem;
			if (valid_env_name(name) &&
			    json_object_set_new(env, name, json_string(text)))
				goto nomem;
		}
	} else {
		for (size_t i = 0; i < spec->ncommand; i++) {
			const char *el = spec->command[i].text;
			struct tc_template_ref r;
			char *s = NULL;

			/* an element that is only {{args}} is the argument
			 * list; one that is only {{name?}} is left out of a
			 * trial without that parameter */
			if (tc_template_whole(el, &r) &&
			    tc_spec_param_index(spec, r.name, r.name_len) < 0 &&
			    tc_template_args_kind(&r)) {
				if (append_args(argv, spec, values,
						tc_template_args_kind(&r)))
					goto nomem;
				continue;
			}
			if (tc_template_whole(el, &r) && r.optional &&
			    lookup(&c, r.name, r.name_len) == tc_template_absent)
				continue;
			for (size_t k = 0, reps = element_reps(&c, el); k < reps;
			     k++) {
				c.rep = (long)k;
				rc = tc_template_render(el, lookup, &c, &s, err);
				c.rep = -1;
				if (rc)
					goto fail;
				if (json_array_append_new(argv, json_string(s))) {
					free(s);
					goto nomem;
				}
				free(s);
				s = NULL;
			}
		}
	}
	/* a pipeline's job: NEEDS_<STAGE>, the directories of the jobs it
	 * needs of that stage, one per line */
	for (size_t k = 0; k < nneeds; k++) {
		char key[64], *val;
		size_t n = 0;

		n = (size_t)snprintf(key, sizeof(key), "NEEDS_");
		for (const char *ch = needs[k].stage; *ch && n + 1 < sizeof(key);
		     ch++)
			key[n++] = (*ch >= 'a' && *ch <= 'z') ? (char)(*ch - 32)
				   : (*ch >= '0' && *ch <= '9') ? *ch : '_';
		key[n] = '\0';
		if (!(val = strdup(needs[k].joined ? needs[k].joined : "")))
			goto nomem;
		for (char *ch = val; *ch; ch++)
			if (*ch == ':')
				*ch = '\n';
		if (json_object_set_new(env, key, json_string(val))) {
			free(val);
			goto nomem;
		}
		free(val);
	}
	for (size_t i = 0; i < spec->nenv; i++) {
		char *s = NULL;

		/* a reference is resolved where the trial runs (the local
		 * runner reads a file, Kubernetes a Secret): never text here */
		if (spec->env[i].ref != TC_ENV_LITERAL)
			continue;
		rc = tc_template_render(spec->env[i].value, lookup, &c, &s, err);
		if (rc)
			goto fail;
		if (json_object_set_new(env, spec->env[i].key, json_string(s))) {
			free(s);
			goto nomem;
		}
		free(s);
	}
	*argv_out = argv;
	*env_out = env;
	return 0;
nomem:
	rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
fail:
	json_decref(argv);
	json_decref(env);
	return rc;
}

/* ---- writing the plan --------------------------------------------------- */

/* A trial found again by a re-plan (old: its row): if the command or env
 * rendered now differ from the stored ones, store the new ones and record
 * "command changed: OLD -> NEW" for the trial. */
static int rerender(struct tc_trials *tr, const struct tc_trial_row *old,
		    const char *argv, const char *env, struct tc_error *err)
{
	const char *oa = old->command, *oe = old->env;
	int cmd, rc;
	size_t n;
	char *what;

	if (oa && oe && !strcmp(oa, argv) && !strcmp(oe, env))
		return 0;
	cmd = !oa || strcmp(oa, argv);
	n = strlen(cmd ? argv : env) + strlen(cmd ? (oa ? oa : "") : (oe ? oe : "")) + 8;
	if (!(what = malloc(n)))
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	snprintf(what, n, "%s -> %s", cmd ? (oa ? oa : "") : (oe ? oe : ""),
		 cmd ? argv : env);
	rc = tc_trials_set_command(tr, old->id, argv, env, err);
	if (!rc)
		rc = tc_trials_event(tr, old->id,
				     cmd ? "command changed" : "env changed",
				     what, err);
	free(what);
	return rc;
}

/* Insert every trial of the plan that the journal does not hold yet.
 * *added counts them.  replan: every planned id is named (see
 * tc_trials_planned), and a trial the journal holds that has not
 * succeeded and is not live (queued, failed, timed out, cancelled) is
 * rendered again from this spec, at its own index: if its command or env
 * changed, the new ones replace them and the journal gets a "command
 * changed" event naming the trial.  Succeeded and running trials keep
 * what they ran.  Runs inside the caller's transaction. */
static int insert_plan(struct tc_journal *j, struct tc_trials *tr,
		       const struct tc_spec *spec, uint64_t seed,
		       const char *trial_dir, int replan, long long *added,
		       struct tc_error *err)
{
	struct tc_plan *plan = NULL;
	const struct tc_trial *t;
	long long base = 0;
	int rc;

	*added = 0;
	if ((rc = tc_plan_new(spec, seed, &plan, err)) ||
	    (rc = tc_trials_next_index(tr, &base, err)))
		goto out;
	while ((rc = tc_plan_next(plan, &t, err)) == 1) {
		/* the backend's fixed path (a pod's own directory), or the
		 * trial's directory in the state directory */
		char *dir = trial_dir ? strdup(trial_dir)
				      : tc_trial_dir(j, t->id);
		char *ptext = NULL, *atext = NULL, *etext = NULL;
		json_t *params = tc_trial_params_json(spec, t->values);
		json_t *argv = NULL, *env = NULL;
		struct tc_trial_row old;
		long long idx = base + (long long)t->index;
		int found = 0;

		memset(&old, 0, sizeof(old));
		if (!dir || !params) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			goto next;
		}
		if (replan && (found = tc_trials_get(tr, t->id, &old, err)) < 0) {
			rc = found;
			goto next;
		}
		if (found)
			idx = old.idx;
		if ((rc = tc_plan_render(spec, t->values, t->id, (uint64_t)idx,
					 t->seed, dir, &argv, &env, err)))
			goto next;
		ptext = tc_params_dumps(params);
		atext = json_dumps(argv, JSON_COMPACT);
		etext = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!ptext || !atext || !etext) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			goto next;
		}
		if (found) {
			/* in the journal already: a trial that has not
			 * succeeded runs what the spec says now */
			if (old.state == TC_ST_QUEUED || old.state == TC_ST_FAILED ||
			    old.state == TC_ST_TIMED_OUT ||
			    old.state == TC_ST_CANCELLED)
				rc = rerender(tr, &old, atext, etext, err);
		} else if ((rc = tc_trials_insert(tr, t->id, idx, ptext, atext,
						  t->seed, etext, err)) >= 0) {
			*added += rc;
			rc = 0;
		}
		if (!rc && replan)
			rc = tc_trials_planned(tr, t->id, err);
next:
		free(dir);
		free(ptext);
		free(atext);
		free(etext);
		json_decref(params);
		json_decref(argv);
		json_decref(env);
		tc_trial_row_free(&old);
		if (rc)
			goto out;
	}
out:
	tc_plan_free(plan);
	return rc < 0 ? rc : 0;
}

/* ---- a pipeline (stages:) ------------------------------------------------ */

/* One job of a stage, as planned. */
struct pjob {
	char id[TC_TRIAL_ID_LEN + 1];
	struct tc_value *values; /* one per parameter of the stage's spec */
	char *item;              /* the journal's item text, or NULL */
	char *dir;               /* its directory ({{trial_dir}}) */
	uint32_t seed;
};

struct pstage {
	struct pjob *jobs;
	size_t n;
};

/* The planned stages of spec, with their jobs' values' texts (copies). */
static void pstages_free(struct pstage *ps, const struct tc_spec *spec)
{
	for (size_t i = 0; ps && i < spec->nstages; i++) {
		for (size_t k = 0; k < ps[i].n; k++) {
			struct pjob *pj = &ps[i].jobs[k];

			for (size_t p = 0; pj->values &&
					   p < spec->stages[i].spec->nparams; p++)
				free((char *)pj->values[p].text);
			free(pj->item);
			free(pj->dir);
			free(pj->values);
		}
		free(ps[i].jobs);
	}
	free(ps);
}

/* A job's id: the experiment's name, the stage's and what the job is (its
 * item, or the id of its trial), so that two experiments of the same
 * stages have jobs (and directories) of their own. */
static void job_id(const char *exp, const char *stage, const char *what,
		   char id[TC_TRIAL_ID_LEN + 1], uint32_t *seed)
{
	struct tc_sha256 h;
	unsigned char md[32];
	char hex[65];

	tc_sha256_init(&h);
	tc_sha256_update(&h, exp, strlen(exp) + 1);
	tc_sha256_update(&h, stage, strlen(stage) + 1);
	tc_sha256_update(&h, what, strlen(what));
	tc_sha256_final(&h, md);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	memcpy(id, hex, TC_TRIAL_ID_LEN);
	id[TC_TRIAL_ID_LEN] = '\0';
	*seed = (uint32_t)strtoul((char[9]){hex[12], hex[13], hex[14], hex[15],
					    hex[16], hex[17], hex[18], hex[19], 0},
				  NULL, 16);
}

static int glob_err(const char *epath, int eerrno)
{
	(void)epath;
	(void)eerrno;
	return 0;
}

static int qsort_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The items of a list, glob or lines stage, as texts (malloc'd). */
static int stage_items(const struct tc_spec *spec, const struct tc_stage *st,
		       const char *workdir, char ***out, size_t *n,
		       struct tc_error *err)
{
	char **items = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (st->foreach == TC_FE_LIST) {
		json_t *list = json_loads(st->pattern, 0, NULL);
		size_t k;
		json_t *e;

		if (!list)
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		items = calloc(json_array_size(list) + 1, sizeof(*items));
		json_array_foreach(list, k, e) {
			if (!items)
				break;
			items[cnt++] = json_is_string(e)
					       ? strdup(json_string_value(e))
					       : json_dumps(e, JSON_COMPACT |
								       JSON_PRESERVE_ORDER);
		}
		json_decref(list);
	} else if (st->foreach == TC_FE_GLOB) {
		glob_t g;
		char *pat = NULL;
		size_t wl = strlen(workdir);
		int grc;

		if (asprintf(&pat, "%s/%s", workdir, st->pattern) < 0)
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		grc = glob(st->pattern[0] == '/' ? st->pattern : pat, 0, glob_err, &g);
		free(pat);
		if (grc == GLOB_NOMATCH || (grc == 0 && g.gl_pathc == 0)) {
			if (grc == 0)
				globfree(&g);
			return tc_error_at(err, TC_ERR_SPEC, spec->path,
					   st->foreach_pos.line, st->foreach_pos.col,
					   "foreach.glob '%s' matches no file in %s",
					   st->pattern, workdir);
		}
		if (grc)
			return tc_error_set(err, TC_ERR_IO, "foreach.glob '%s': "
					    "cannot read %s", st->pattern, workdir);
		items = calloc(g.gl_pathc + 1, sizeof(*items));
		for (size_t k = 0; items && k < g.gl_pathc; k++) {
			const char *m = g.gl_pathv[k];

			/* relative to the working directory, as written */
			if (st->pattern[0] != '/' && !strncmp(m, workdir, wl) &&
			    m[wl] == '/')
				m += wl + 1;
			items[cnt++] = strdup(m);
		}
		globfree(&g);
	} else if (st->foreach == TC_FE_LINES) {
		char *path = NULL, *line = NULL;
		size_t cap = 0;
		ssize_t len;
		FILE *f;

		if (asprintf(&path, "%s/%s", workdir, st->pattern) < 0)
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		f = fopen(st->pattern[0] == '/' ? st->pattern : path, "r");
		free(path);
		if (!f)
			return tc_error_at(err, TC_ERR_SPEC, spec->path,
					   st->foreach_pos.line, st->foreach_pos.col,
					   "foreach.lines: cannot read '%s' in %s: %s",
					   st->pattern, workdir, strerror(errno));
		while ((len = getline(&line, &cap, f)) >= 0) {
			char *a = line, *e = line + len, **ni;

			while (a < e && strchr(" \t\r\n", *a))
				a++;
			while (e > a && strchr(" \t\r\n", e[-1]))
				e--;
			if (a == e || *a == '#')
				continue;
			if (!(ni = realloc(items, (cnt + 2) * sizeof(*items))))
				break;
			items = ni;
			items[cnt++] = strndup(a, (size_t)(e - a));
		}
		free(line);
		fclose(f);
		if (cnt == 0) {
			free(items);
			return tc_error_at(err, TC_ERR_SPEC, spec->path,
					   st->foreach_pos.line, st->foreach_pos.col,
					   "foreach.lines: '%s' has no item (no "
					   "line that is not blank or a # comment)",
					   st->pattern);
		}
	}
	if (!items)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	for (size_t k = 0; k < cnt; k++)
		if (!items[k]) {
			for (size_t m = 0; m < cnt; m++)
				free(items[m]);
			free(items);
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		}
	if (st->foreach == TC_FE_LINES) {
		/* the same line twice is one job */
		char **sorted = malloc(cnt * sizeof(*sorted));

		if (sorted) {
			memcpy(sorted, items, cnt * sizeof(*sorted));
			qsort(sorted, cnt, sizeof(*sorted), qsort_strcmp);
			for (size_t k = 1; k < cnt; k++)
				if (!strcmp(sorted[k], sorted[k - 1])) {
					int rc = tc_error_at(
						err, TC_ERR_SPEC, spec->path,
						st->foreach_pos.line,
						st->foreach_pos.col,
						"foreach.lines: '%s' is listed "
						"twice in %s", sorted[k],
						st->pattern);

					free(sorted);
					for (size_t m = 0; m < cnt; m++)
						free(items[m]);
					free(items);
					return rc;
				}
			free(sorted);
		}
	}
	*out = items;
	*n = cnt;
	return 0;
}

/* Is stage a's need on stage b item-wise (job k needs job k of b)? */
static int itemwise(const struct tc_stage *a, const struct tc_stage *b,
		    int bi)
{
	if (a->foreach == TC_FE_TRIALS && a->of == bi)
		return 1;
	return a->foreach != TC_FE_NONE && b->foreach != TC_FE_NONE &&
	       a->foreach_key && b->foreach_key &&
	       !strcmp(a->foreach_key, b->foreach_key);
}

/* The jobs of stage si (its earlier stages planned in ps). */
static int plan_stage(struct tc_journal *j, const struct tc_spec *spec,
		      size_t si, uint64_t seed, const char *trial_dir,
		      const char *workdir, struct pstage *ps,
		      struct tc_error *err)
{
	const struct tc_stage *st = &spec->stages[si];
	const struct tc_spec *v = st->spec;
	struct pstage *out = &ps[si];
	char **items = NULL;
	size_t nitems = 0;
	int rc = 0;

	if (st->foreach == TC_FE_SWEEP) {
		struct tc_plan *plan = NULL;
		const struct tc_trial *t;
		size_t cap = 0;

		if ((rc = tc_plan_new(v, seed, &plan, err)))
			return rc;
		while ((rc = tc_plan_next(plan, &t, err)) == 1) {
			struct pjob *pj;

			if (out->n == cap) {
				struct pjob *nj;

				cap = cap ? 2 * cap : 64;
				if (!(nj = realloc(out->jobs, cap * sizeof(*nj)))) {
					rc = TC_ERR_NOMEM;
					break;
				}
				out->jobs = nj;
			}
			pj = &out->jobs[out->n++];
			memset(pj, 0, sizeof(*pj));
			job_id(spec->name, st->name, t->id, pj->id, &pj->seed);
			pj->seed = t->seed;
			if (!(pj->values = calloc(v->nparams + 1, sizeof(*pj->values)))) {
				rc = TC_ERR_NOMEM;
				break;
			}
			memcpy(pj->values, t->values, v->nparams * sizeof(*pj->values));
		}
		/* the values' texts belong to the plan: keep copies */
		for (size_t k = 0; rc == 0 && k < out->n; k++)
			for (size_t p = 0; p < v->nparams; p++)
				if (out->jobs[k].values[p].text)
					out->jobs[k].values[p].text =
						strdup(out->jobs[k].values[p].text);
		tc_plan_free(plan);
		if (rc < 0)
			return rc == TC_ERR_NOMEM
				       ? tc_error_set(err, rc, "out of memory")
				       : rc;
		rc = 0;
	} else if (st->foreach == TC_FE_TRIALS) {
		const struct pstage *of = &ps[st->of];

		if (!(out->jobs = calloc(of->n + 1, sizeof(*out->jobs))))
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		for (size_t k = 0; k < of->n; k++) {
			struct pjob *pj = &out->jobs[out->n++];

			job_id(spec->name, st->name, of->jobs[k].id, pj->id, &pj->seed);
			pj->item = strdup(of->jobs[k].id);
			pj->values = calloc(v->nparams + 1, sizeof(*pj->values));
			if (!pj->item || !pj->values)
				return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			for (size_t p = 0; p < v->nparams; p++) {
				pj->values[p] = of->jobs[k].values[p];
				if (pj->values[p].text &&
				    !(pj->values[p].text = strdup(pj->values[p].text)))
					return tc_error_set(err, TC_ERR_NOMEM,
							    "out of memory");
			}
		}
	} else {
		if (st->foreach != TC_FE_NONE &&
		    (rc = stage_items(spec, st, workdir, &items, &nitems, err)))
			return rc;
		if (st->foreach == TC_FE_NONE)
			nitems = 1;
		if (!(out->jobs = calloc(nitems, sizeof(*out->jobs))))
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		for (size_t k = 0; !rc && k < nitems; k++) {
			struct pjob *pj = &out->jobs[out->n++];
			json_t *map = NULL;

			job_id(spec->name, st->name, items ? items[k] : "", pj->id, &pj->seed);
			pj->values = calloc(v->nparams + 1, sizeof(*pj->values));
			if (!pj->values) {
				rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
				break;
			}
			if (!items)
				continue;
			pj->item = items[k];
			items[k] = NULL;
			if (v->nparams > 1)
				map = json_loads(pj->item, 0, NULL);
			for (size_t p = 0; p < v->nparams; p++) {
				const char *name = v->params[p].name;
				const char *text = pj->item;

				if (p > 0) {
					json_t *x = json_object_get(map, name + 5);

					text = json_is_string(x) ? json_string_value(x) : "";
				}
				pj->values[p].type = TC_V_STR;
				pj->values[p].text = strdup(text);
				if (!pj->values[p].text)
					rc = tc_error_set(err, TC_ERR_NOMEM,
							  "out of memory");
			}
			json_decref(map);
		}
		for (size_t k = 0; k < nitems && items; k++)
			free(items[k]);
		free(items);
		if (rc)
			return rc;
	}
	if (out->n == 0)
		return tc_error_at(err, TC_ERR_SPEC, spec->path, st->pos.line,
				   st->pos.col, "stage '%s' has no job (every "
				   "point of its sweep is excluded)", st->name);
	for (size_t k = 0; k < out->n; k++) {
		struct pjob *pj = &out->jobs[k];

		if (!(pj->dir = trial_dir ? strdup(trial_dir) : tc_trial_dir(j, pj->id)))
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	return 0;
}

static void needs_free(struct tc_job_needs *nd, size_t n)
{
	for (size_t k = 0; nd && k < n; k++) {
		free(nd[k].dirs);
		free(nd[k].joined);
	}
	free(nd);
}

/* Every job of every stage into the journal, with what it needs. */
static int insert_pipeline(struct tc_journal *j, struct tc_trials *tr,
			   const struct tc_spec *spec, uint64_t seed,
			   const char *trial_dir, const char *spec_path,
			   int replan, long long *added, struct tc_error *err)
{
	struct pstage *ps = calloc(spec->nstages, sizeof(*ps));
	char *dir = NULL, *workdir = NULL, *slash;
	long long idx = 0;
	int rc = 0;

	*added = 0;
	if (!ps || !(dir = strdup(spec_path))) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((slash = strrchr(dir, '/')))
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (!(workdir = tc_spec_workdir(spec, dir))) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = tc_trials_next_index(tr, &idx, err)))
		goto out;
	for (size_t si = 0; si < spec->nstages; si++)
		if ((rc = plan_stage(j, spec, si, seed, trial_dir, workdir, ps, err)))
			goto out;
	for (size_t si = 0; si < spec->nstages && !rc; si++) {
		const struct tc_stage *st = &spec->stages[si];
		const struct tc_spec *v = st->spec;
		struct tc_job_needs *nd = calloc(st->nneeds + 1, sizeof(*nd));

		if (!nd) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			break;
		}
		for (size_t k = 0; k < ps[si].n && !rc; k++, idx++) {
			struct pjob *pj = &ps[si].jobs[k];
			json_t *params = tc_trial_params_json(v, pj->values);
			json_t *argv = NULL, *env = NULL;
			char *ptext = NULL, *atext = NULL, *etext = NULL;
			struct tc_trial_row old;
			long long jidx = idx;
			int found = 0;

			memset(&old, 0, sizeof(old));
			/* a job planned before keeps its index */
			if (replan && (found = tc_trials_get(tr, pj->id, &old, err)) < 0)
				rc = found;
			if (found > 0)
				jidx = old.idx;

			/* what it needs, stage by stage */
			for (size_t q = 0; q < st->nneeds && !rc; q++) {
				int ni = st->needs[q];
				const struct pstage *up = &ps[ni];
				int iw = itemwise(st, &spec->stages[ni], ni);
				size_t from = iw ? k : 0, to = iw ? k + 1 : up->n, len = 0;

				free(nd[q].dirs);
				free(nd[q].joined);
				nd[q].stage = spec->stages[ni].name;
				nd[q].gather = !iw;
				nd[q].n = 0;
				nd[q].dirs = calloc(to - from + 1, sizeof(char *));
				for (size_t u = from; u < to; u++)
					len += strlen(up->jobs[u].dir) + 1;
				nd[q].joined = calloc(len + 1, 1);
				if (!nd[q].dirs || !nd[q].joined) {
					rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
					break;
				}
				if (iw && k >= up->n) {
					rc = tc_error_at(err, TC_ERR_SPEC, spec->path,
							 st->pos.line, st->pos.col,
							 "stage '%s' has more items "
							 "than '%s'", st->name,
							 spec->stages[ni].name);
					break;
				}
				for (size_t u = from; u < to; u++) {
					nd[q].dirs[nd[q].n++] = up->jobs[u].dir;
					if (u > from)
						strcat(nd[q].joined, ":");
					strcat(nd[q].joined, up->jobs[u].dir);
					if ((rc = tc_trials_need(tr, pj->id,
								 up->jobs[u].id, err)))
						break;
				}
			}
			if (!rc && !params)
				rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			if (!rc)
				rc = tc_plan_render_job(
					v, pj->values, pj->id, (uint64_t)jidx,
					pj->seed,
					st->foreach == TC_FE_TRIALS
						? ps[st->of].jobs[k].dir
						: pj->dir,
					nd, st->nneeds, &argv, &env, err);
			if (!rc) {
				ptext = tc_params_dumps(params);
				atext = json_dumps(argv, JSON_COMPACT);
				etext = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
				if (!ptext || !atext || !etext)
					rc = tc_error_set(err, TC_ERR_NOMEM,
							  "out of memory");
			}
			if (!rc && replan) {
				/* a job planned before: what it runs now (the
				 * cache decides whether it runs again) */
				if (found && old.state != TC_ST_STARTING &&
				    old.state != TC_ST_RUNNING)
					rc = rerender(tr, &old, atext, etext, err);
				if (!rc)
					rc = tc_trials_planned(tr, pj->id, err);
			}
			tc_trial_row_free(&old);
			if (!rc && (rc = tc_trials_insert(tr, pj->id, jidx, ptext,
							  atext, pj->seed, etext,
							  err)) >= 0) {
				*added += rc;
				rc = tc_trials_set_stage(tr, pj->id, st->name,
							 pj->item, err);
			}
			if (!rc && st->ninputs) {
				json_t *in = NULL;
				char *itext = NULL;

				rc = render_inputs(v, st, pj->values, pj->id,
						   pj->dir, nd, st->nneeds, &in, err);
				if (!rc && !(itext = json_dumps(in, JSON_COMPACT)))
					rc = tc_error_set(err, TC_ERR_NOMEM,
							  "out of memory");
				if (!rc)
					rc = tc_trials_set_inputs(tr, pj->id, itext, err);
				free(itext);
				json_decref(in);
			}
			free(ptext);
			free(atext);
			free(etext);
			json_decref(params);
			json_decref(argv);
			json_decref(env);
		}
		needs_free(nd, st->nneeds);
	}
out:
	pstages_free(ps, spec);
	free(dir);
	free(workdir);
	return rc < 0 ? rc : 0;
}

int tc_plan_stage_jobs(const struct tc_spec *spec, const char *spec_dir,
		       uint64_t seed, size_t *counts, struct tc_error *err)
{
	struct pstage *ps = calloc(spec->nstages + 1, sizeof(*ps));
	char *workdir = tc_spec_workdir(spec, spec_dir);
	int rc = 0;

	if (!ps || !workdir)
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	for (size_t si = 0; !rc && si < spec->nstages; si++) {
		rc = plan_stage(NULL, spec, si, seed, "-", workdir, ps, err);
		counts[si] = ps[si].n;
	}
	pstages_free(ps, spec);
	free(workdir);
	return rc;
}

int tc_plan_itemwise(const struct tc_spec *spec, size_t a, size_t b)
{
	return itemwise(&spec->stages[a], &spec->stages[b], (int)b);
}

int tc_plan_create(struct tc_journal *j, const struct tc_spec *spec,
		   const char *backend, const char *trial_dir,
		   const char *spec_path, uint64_t seed,
		   const struct tc_provenance *prov, struct tc_error *err)
{
	struct tc_trials *tr = tc_trials_open(j, spec->name, err);
	long long added = 0;
	int rc;

	if (!tr)
		return TC_ERR_NOMEM;
	if ((rc = tc_journal_begin(j, err))) {
		tc_trials_close(tr);
		return rc;
	}
	if ((rc = tc_experiment_insert(j, spec, backend, spec_path, seed, prov,
					err)) ||
	    (rc = spec->nstages
			  ? insert_pipeline(j, tr, spec, seed, trial_dir,
					    spec_path, 0, &added, err)
			  : insert_plan(j, tr, spec, seed, trial_dir, 0, &added,
					err)))
		goto fail;
	if (added == 0) {
		rc = tc_error_at(err, TC_ERR_SPEC, spec->path,
				 spec->search.nexclude ? spec->search.exclude[0].pos.line : 1,
				 spec->search.nexclude ? spec->search.exclude[0].pos.col : 1,
				 "the plan is empty: every point is excluded");
		goto fail;
	}
	if ((rc = tc_experiment_set_spec(j, spec, NULL, err)) ||
	    (rc = tc_trials_event(tr, NULL, "created", NULL, err)) ||
	    (rc = tc_journal_commit(j, err)))
		goto fail;
	tc_trials_close(tr);
	return 0;
fail:
	tc_journal_rollback(j);
	tc_trials_close(tr);
	return rc;
}

static int replan_tpe(struct tc_journal *j, struct tc_trials *tr,
		      const struct tc_spec *spec, const char *trial_dir,
		      struct tc_error *err);

int tc_plan_replan(struct tc_journal *j, const struct tc_spec *spec,
		   const char *spec_path, const char *trial_dir,
		   struct tc_error *err)
{
	struct tc_exp_info e;
	struct tc_trials *tr = NULL;
	long long added = 0;
	int rc;

	if ((rc = tc_experiment_load(j, spec->name, &e, err)))
		return rc;
	if (!(tr = tc_trials_open(j, spec->name, err))) {
		rc = TC_ERR_NOMEM;
		goto out;
	}
	if ((rc = tc_journal_begin(j, err)))
		goto out;
	/* queued trials that are no longer points of the plan: those not
	 * picked in the same pass */
	if ((rc = tc_trials_planned(tr, NULL, err)) ||
	    (rc = spec->nstages
			  ? insert_pipeline(j, tr, spec, e.seed, trial_dir,
					    spec_path ? spec_path : e.spec_path,
					    1, &added, err)
		  : spec->search.method == TC_SEARCH_TPE
			  ? replan_tpe(j, tr, spec, trial_dir, err)
			  : insert_plan(j, tr, spec, e.seed, trial_dir, 1,
					&added, err)) ||
	    (rc = tc_trials_cancel_unplanned(tr, err)) ||
	    (rc = tc_experiment_set_spec(j, spec, spec_path, err)) ||
	    (rc = tc_trials_event(tr, NULL, "replanned", NULL, err)) ||
	    (rc = tc_journal_commit(j, err)))
		tc_journal_rollback(j);
out:
	tc_trials_close(tr);
	tc_exp_info_free(&e);
	return rc;
}

/* ---- tpe: the search extended from the journal --------------------------- */

/* What extend reads of one trial: how it stands, its point, its value. */
struct obs_row {
	char id[16];
	int state;
	json_t *params;
	int has_value;
	double value;
};

struct obs_list {
	struct obs_row *a;
	size_t n, cap, at;
	const char *metric;
};

static int add_obs_row(void *ctx, const struct tc_trial_row *r)
{
	struct obs_list *l = ctx;
	struct obs_row *o;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct obs_row *na = realloc(l->a, ncap * sizeof(*na));

		if (!na)
			return TC_ERR_NOMEM;
		l->a = na;
		l->cap = ncap;
	}
	o = &l->a[l->n];
	memset(o, 0, sizeof(*o));
	memcpy(o->id, r->id, sizeof(o->id));
	o->state = r->state;
	if (!(o->params = json_loads(r->params ? r->params : "{}", 0, NULL)))
		o->params = json_object();
	if (!o->params)
		return TC_ERR_NOMEM;
	l->n++;
	return 0;
}

/* The final values come in the rows' order (index): one merge pass.  A
 * trial's value is its final value of the metric (its last reported), as
 * results ranks it; not finite (special) is no value. */
static int add_obs_final(void *ctx, const char *trial, const char *name,
			 double value, const char *special)
{
	struct obs_list *l = ctx;

	if (strcmp(name, l->metric) != 0)
		return 0;
	while (l->at < l->n && strcmp(l->a[l->at].id, trial) != 0)
		l->at++;
	if (l->at == l->n)
		return 1; /* stop */
	l->a[l->at].has_value = !special && isfinite(value);
	l->a[l->at].value = value;
	return 0;
}

static void obs_list_free(struct obs_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->a[i].params);
	free(l->a);
}

/* The one rule of what a trial tells the sampler.  Succeeded: complete
 * with its value (failed without a finite one); failed or timed out:
 * failed; queued, starting, running: pending; cancelled: pending too (no
 * result either way, and its point is taken); pruned (early_stop):
 * complete with its last value, as Optuna's TPE counts a pruned trial by
 * its last intermediate value.  A new state must be placed here (no
 * default: it does not compile until it is). */
static enum tc_tpe_outcome obs_outcome(const struct obs_row *o)
{
	switch ((enum tc_state)o->state) {
	case TC_ST_QUEUED:
	case TC_ST_STARTING:
	case TC_ST_RUNNING:
	case TC_ST_CANCELLED:
	case TC_ST_COUNT:
		return TC_TPE_PENDING;
	case TC_ST_SUCCEEDED:
	case TC_ST_PRUNED: /* its last value: worse than most, but told */
		return o->has_value ? TC_TPE_COMPLETE : TC_TPE_FAILED;
	case TC_ST_FAILED:
	case TC_ST_TIMED_OUT:
		return TC_TPE_FAILED;
	}
	return TC_TPE_PENDING;
}

/* Render and insert one new trial, queued, at index idx.  1 inserted, 0
 * when the experiment has that id already, <0 error. */
static int insert_one(struct tc_journal *j, struct tc_trials *tr,
		      const struct tc_spec *spec, const struct tc_value *values,
		      const char *id, uint32_t seed, long long idx,
		      const char *trial_dir, json_t **stored,
		      struct tc_error *err)
{
	char *dir = trial_dir ? strdup(trial_dir) : tc_trial_dir(j, id);
	char *ptext = NULL, *atext = NULL, *etext = NULL;
	json_t *params = tc_trial_params_json(spec, values);
	json_t *argv = NULL, *env = NULL;
	int rc;

	if (!dir || !params) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = tc_plan_render(spec, values, id, (uint64_t)idx, seed, dir,
				 &argv, &env, err)))
		goto out;
	ptext = tc_params_dumps(params);
	atext = json_dumps(argv, JSON_COMPACT);
	etext = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!ptext || !atext || !etext) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = tc_trials_insert(tr, id, idx, ptext, atext, seed, etext, err);
	/* the parameters as the journal gives them back */
	if (rc == 1 && !(*stored = json_loads(ptext, 0, NULL)))
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
out:
	free(dir);
	free(ptext);
	free(atext);
	free(etext);
	json_decref(params);
	json_decref(argv);
	json_decref(env);
	return rc;
}

/*
 * The sampler of a run's extends, kept between them.  It is always the
 * sampler a rebuild from the journal would give: built by telling every
 * trial (tpe_build), then each trial this process adds told as the
 * journal gives it back, and each pending trial settled when the journal
 * says it ended (cache_sync).  It is dropped and rebuilt whenever the
 * journal may have changed otherwise: another connection wrote it
 * (SQLite's data_version), the trials are not the ones it counted (a
 * rolled-back extend), a trial it waits on is gone, or an insert found
 * its trial there already.  Trials that ended complete or failed are not
 * read again: in a run they never change state (a retry re-queues before
 * it fails; `trainctl retry` is another connection).
 */
struct tc_plan_cache {
	const struct tc_spec *spec;
	struct tc_journal *j;
	struct tc_trials *tr;
	struct tc_tpe *tpe;
	char (*id)[16];     /* per observation, in index order */
	size_t n, cap;
	size_t *pending;    /* observations told pending */
	size_t npending;
	long long next_idx; /* the journal's next index when in step */
	long long version;  /* its data_version then */
	int stale;
};

void tc_plan_cache_free(struct tc_plan_cache *c)
{
	if (!c)
		return;
	tc_tpe_free(c->tpe);
	tc_trials_close(c->tr);
	free(c->id);
	free(c->pending);
	free(c);
}

/* Tell the sampler one trial (its stored parameters, its outcome) and
 * remember it. */
static int cache_tell(struct tc_plan_cache *c, const char *id, json_t *params,
		      enum tc_tpe_outcome outcome, double value,
		      struct tc_value *vals, unsigned char *present,
		      struct tc_error *err)
{
	long k;

	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		char(*ni)[16] = realloc(c->id, ncap * sizeof(*ni));
		size_t *np;

		if (!ni)
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		c->id = ni;
		if (!(np = realloc(c->pending, ncap * sizeof(*np))))
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		c->pending = np;
		c->cap = ncap;
	}
	tc_trial_values_from_json(c->spec, params, vals, present, NULL);
	/* TODO(when:): a conditional parameter absent from a trial is not
	 * present; tc_trial_values_from_json says so already for a missing
	 * key */
	k = tc_tpe_tell(c->tpe, vals, present, outcome, value, err);
	if (k < 0)
		return (int)k;
	snprintf(c->id[c->n], sizeof(c->id[0]), "%s", id);
	if (outcome == TC_TPE_PENDING)
		c->pending[c->npending++] = c->n;
	c->n++;
	return 0;
}

/* A new sampler told every trial of the journal. */
static int cache_build(struct tc_plan_cache *c, struct tc_value *vals,
		       unsigned char *present, struct tc_error *err)
{
	struct obs_list l = {NULL, 0, 0, 0, c->spec->metric.name};
	struct tc_exp_info e;
	int rc;

	memset(&e, 0, sizeof(e));
	tc_tpe_free(c->tpe);
	c->tpe = NULL;
	c->n = c->npending = 0;
	c->stale = 0;
	c->version = tc_journal_data_version(c->j);
	if ((rc = tc_experiment_load(c->j, c->spec->name, &e, err)))
		goto out;
	/* the observations, in the order the trials were created */
	if ((rc = tc_trials_scan(c->tr, add_obs_row, &l, err)) == TC_ERR_NOMEM)
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if (rc || (rc = tc_trials_finals(c->tr, add_obs_final, &l, err)) < 0 ||
	    (rc = tc_trials_next_index(c->tr, &c->next_idx, err)) ||
	    (rc = tc_plan_tpe_new(c->spec, e.seed, &c->tpe, err)))
		goto out;
	for (size_t i = 0; i < l.n && !rc; i++)
		rc = cache_tell(c, l.a[i].id, l.a[i].params,
				obs_outcome(&l.a[i]), l.a[i].value, vals,
				present, err);
out:
	if (rc)
		c->stale = 1;
	tc_exp_info_free(&e);
	obs_list_free(&l);
	return rc;
}

/* Bring the sampler in step with the journal: settle the trials that
 * ended since.  0, 1 when it must be rebuilt, or <0. */
static int cache_sync(struct tc_plan_cache *c, struct tc_error *err)
{
	long long next;
	size_t kept = 0;
	int rc;

	if (c->stale || tc_journal_data_version(c->j) != c->version)
		return 1;
	if ((rc = tc_trials_next_index(c->tr, &next, err)))
		return rc;
	if (next != c->next_idx)
		return 1;
	for (size_t k = 0; k < c->npending; k++) {
		size_t o = c->pending[k];
		struct obs_row r;
		enum tc_tpe_outcome out;
		int cancel_req, retry_base;

		memset(&r, 0, sizeof(r));
		if (tc_trials_flags(c->tr, c->id[o], &r.state, &cancel_req,
				    &retry_base) != 1)
			return 1;
		if (r.state == TC_ST_SUCCEEDED || r.state == TC_ST_PRUNED) {
			rc = tc_trials_final_get(c->tr, c->id[o],
						 c->spec->metric.name, &r.value,
						 err);
			if (rc < 0)
				return rc;
			r.has_value = rc == 1 && isfinite(r.value);
		}
		out = obs_outcome(&r);
		if (out == TC_TPE_PENDING)
			c->pending[kept++] = o;
		else if ((rc = tc_tpe_settle(c->tpe, o, out, r.value, err)))
			return rc;
	}
	c->npending = kept;
	return 0;
}

int tc_plan_extend(struct tc_journal *j, const struct tc_spec *spec,
		   const char *trial_dir, long long want, int *done,
		   struct tc_error *err)
{
	struct tc_plan_cache *c = NULL;
	int rc = tc_plan_extend_cached(j, spec, trial_dir, want, done, &c, err);

	tc_plan_cache_free(c);
	return rc;
}

int tc_plan_extend_cached(struct tc_journal *j, const struct tc_spec *spec,
			  const char *trial_dir, long long want, int *done,
			  struct tc_plan_cache **cache, struct tc_error *err)
{
	size_t np = spec->nparams ? spec->nparams : 1;
	struct tc_value *vals = calloc(np, sizeof(*vals));
	unsigned char *present = calloc(np, 1);
	struct tc_plan_cache *c = *cache;
	long long left, idx = 0, added = 0;
	int rc, own = 0, tries = 0;

	*done = 0;
	if (!vals || !present) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (spec->search.method != TC_SEARCH_TPE || !spec->metric.name) {
		*done = TC_EXTEND_SPENT;
		rc = 0;
		goto out;
	}
	if (c && (c->spec != spec || c->j != j)) {
		tc_plan_cache_free(c);
		*cache = c = NULL;
	}
	if (!c) {
		if (!(c = calloc(1, sizeof(*c)))) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			goto out;
		}
		c->spec = spec;
		c->j = j;
		c->stale = 1;
		*cache = c;
		if (!(c->tr = tc_trials_open(j, spec->name, err))) {
			rc = TC_ERR_NOMEM;
			goto out;
		}
	}
	if ((rc = cache_sync(c, err)) < 0 ||
	    (rc == 1 && (rc = cache_build(c, vals, present, err))))
		goto out;
	left = (long long)spec->search.trials - (long long)c->n;
	if (left <= 0) {
		*done = TC_EXTEND_SPENT;
		rc = 0;
		goto out;
	}
	if (want > left)
		want = left;
	if (want <= 0) {
		rc = 0;
		goto out;
	}
	/* in the caller's transaction (the local runner batches its
	 * statements), else in one of its own: every new trial or none */
	if (sqlite3_get_autocommit(j->db)) {
		if ((rc = tc_journal_begin(j, err)))
			goto out;
		own = 1;
	}
	idx = c->next_idx;
	while (added < want) {
		const struct tc_value *v;
		const unsigned char *pr;
		char id[TC_TRIAL_ID_LEN + 1];
		uint32_t seed;
		json_t *stored = NULL;

		if ((rc = tc_tpe_suggest(c->tpe, &v, &pr, err)) < 0)
			goto out;
		if (rc == 0 || ++tries > 100) {
			*done = TC_EXTEND_EXHAUSTED;
			break;
		}
		tc_plan_take_point(spec, v, vals);
		tc_trial_identity(spec, vals, id, &seed);
		rc = insert_one(j, c->tr, spec, vals, id, seed, idx, trial_dir,
				&stored, err);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			/* a point of a trial the sampler could not read back
			 * (a changed spec): asked again with this one taken,
			 * and the sampler rebuilt next time */
			c->stale = 1; /* (its observation numbers are off now:
				       * cache_sync rebuilds before reading
				       * them) */
			if ((rc = (int)tc_tpe_tell(c->tpe, v, pr, TC_TPE_PENDING,
						   0, err)) < 0)
				goto out;
			continue;
		}
		rc = cache_tell(c, id, stored, TC_TPE_PENDING, 0, vals, present,
				err);
		json_decref(stored);
		if (rc)
			goto out;
		idx++;
		added++;
	}
	c->next_idx = idx;
	rc = 0;
	if (added == left)
		*done = TC_EXTEND_SPENT;
	if (*done == TC_EXTEND_EXHAUSTED) {
		char detail[200];

		snprintf(detail, sizeof(detail),
			 "tpe found no new point after %lld trials (search.trials "
			 "is %llu): the space is used up",
			 (long long)c->n,
			 (unsigned long long)spec->search.trials);
		rc = tc_trials_event(c->tr, NULL, "search exhausted", detail,
				     err);
	}
	if (!rc && own)
		rc = tc_journal_commit(j, err);
out:
	if (own && rc < 0)
		tc_journal_rollback(j);
	if (rc < 0 && c)
		c->stale = 1;
	free(vals);
	free(present);
	return rc < 0 ? rc : (int)added;
}

/* A trial of a tpe experiment that a re-plan may render again. */
struct replan_row {
	char id[16];
	long long idx;
	unsigned seed;
	char *params, *command, *env;
};

struct replan_list {
	struct replan_row *a;
	size_t n, cap;
};

static int add_replan_row(void *ctx, const struct tc_trial_row *r)
{
	struct replan_list *l = ctx;
	struct replan_row *o;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct replan_row *na = realloc(l->a, ncap * sizeof(*na));

		if (!na)
			return TC_ERR_NOMEM;
		l->a = na;
		l->cap = ncap;
	}
	o = &l->a[l->n++];
	memset(o, 0, sizeof(*o));
	memcpy(o->id, r->id, sizeof(o->id));
	o->idx = r->idx;
	o->seed = r->seed;
	/* succeeded and live trials keep what they ran: named, not read */
	if (r->state == TC_ST_QUEUED || r->state == TC_ST_FAILED ||
	    r->state == TC_ST_TIMED_OUT || r->state == TC_ST_CANCELLED) {
		o->params = strdup(r->params ? r->params : "{}");
		o->command = r->command ? strdup(r->command) : NULL;
		o->env = r->env ? strdup(r->env) : NULL;
		if (!o->params)
			return TC_ERR_NOMEM;
	}
	return 0;
}

/* resume --force of a tpe experiment: every trial it has stays (none is
 * "no longer in the spec": the plan is what was asked), and one that has
 * not succeeded and is not live runs what the new spec says for its
 * values when they all fit the new parameters (else it keeps its
 * command).  The trials still to create follow the new spec: they are
 * asked of a sampler told the old trials as the new spec reads them
 * (tc_plan_extend). */
static int replan_tpe(struct tc_journal *j, struct tc_trials *tr,
		      const struct tc_spec *spec, const char *trial_dir,
		      struct tc_error *err)
{
	struct replan_list l = {NULL, 0, 0};
	size_t np = spec->nparams ? spec->nparams : 1;
	struct tc_value *vals = calloc(np, sizeof(*vals));
	unsigned char *present = calloc(np, 1);
	char(*texts)[40] = calloc(np, sizeof(*texts));
	int rc;

	if (!vals || !present || !texts) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = tc_trials_scan(tr, add_replan_row, &l, err)) == TC_ERR_NOMEM)
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < l.n; i++) {
		struct replan_row *o = &l.a[i];
		struct tc_trial_row old;
		json_t *params, *argv = NULL, *env = NULL;
		char *dir, *atext = NULL, *etext = NULL;

		if ((rc = tc_trials_planned(tr, o->id, err)) || !o->params)
			continue;
		params = json_loads(o->params, 0, NULL);
		if (!params ||
		    tc_trial_values_from_json(spec, params, vals, present, texts)) {
			json_decref(params);
			continue; /* its values do not fit the new space */
		}
		json_decref(params);
		tc_spec_derive(spec, vals);
		dir = trial_dir ? strdup(trial_dir) : tc_trial_dir(j, o->id);
		if (!dir) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			break;
		}
		rc = tc_plan_render(spec, vals, o->id, (uint64_t)o->idx, o->seed,
				    dir, &argv, &env, err);
		free(dir);
		if (!rc) {
			atext = json_dumps(argv, JSON_COMPACT);
			etext = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
			memset(&old, 0, sizeof(old));
			memcpy(old.id, o->id, sizeof(old.id));
			old.command = o->command;
			old.env = o->env;
			rc = atext && etext ? rerender(tr, &old, atext, etext, err)
					    : tc_error_set(err, TC_ERR_NOMEM,
							   "out of memory");
		}
		json_decref(argv);
		json_decref(env);
		free(atext);
		free(etext);
	}
out:
	for (size_t i = 0; i < l.n; i++) {
		free(l.a[i].params);
		free(l.a[i].command);
		free(l.a[i].env);
	}
	free(l.a);
	free(vals);
	free(present);
	free(texts);
	return rc;
}
