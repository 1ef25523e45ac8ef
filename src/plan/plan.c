/*
 * plan.c — an experiment's plan into the journal (see plan.h).
 */
#include "plan/plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "k8s/manifest.h"
#include "search/search.h"
#include "store/trials.h"
#include "template/template.h"
#include "util/spawn.h"

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
};

static const char *lookup(void *vctx, const char *name, size_t len)
{
	struct lookup_ctx *c = vctx;
	int i = tc_spec_param_index(c->spec, name, len);

#define IS(s) (len == strlen(s) && memcmp(name, s, len) == 0)
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

int tc_plan_render(const struct tc_spec *spec, const struct tc_value *values,
		   const char *id, uint64_t index, uint32_t seed,
		   const char *trial_dir, json_t **argv_out, json_t **env_out,
		   struct tc_error *err)
{
	struct lookup_ctx c = {spec, values, id, trial_dir, "", ""};
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
			rc = tc_template_render(el, lookup, &c, &s, err);
			if (rc)
				goto fail;
			if (json_array_append_new(argv, json_string(s))) {
				free(s);
				goto nomem;
			}
			free(s);
		}
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
	    (rc = insert_plan(j, tr, spec, seed, trial_dir, 0, &added, err)))
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
	    (rc = insert_plan(j, tr, spec, e.seed, trial_dir, 1, &added, err)) ||
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
