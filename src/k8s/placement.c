/*
 * placement.c — where and in what a trial runs, per trial: kubernetes.image,
 * the values of kubernetes.nodeSelector and resources.cpu/memory may name
 * parameters ({{gpu}}), so one experiment can spread over several GPU
 * types, each trial on the nodes (and with the memory) its values say.
 *
 * The spec loader has checked the references; what a value renders to is
 * known only per trial, so it is checked here: by `plan` and `run` for
 * every trial before anything is recorded (tc_k8s_check_trial), and again
 * by the Job builder (tc_k8s_place_job), which uses the same rendering.
 * Values come from the trial's parameters as JSON (the journal keeps them
 * so): strings as they are, integers in decimal, reals shortest.
 */
#include "k8s/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/search.h"
#include "template/template.h"

struct lookup {
	const struct tc_spec *spec;
	json_t *params;
	const char *id, *experiment;
	char buf[64];
};

static const char *look(void *ctx, const char *name, size_t len)
{
	struct lookup *l = ctx;
	char key[160];
	json_t *v;

	if (len >= sizeof(key))
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	if ((v = json_object_get(l->params, key))) {
		if (json_is_string(v))
			return json_string_value(v);
		if (json_is_integer(v)) {
			snprintf(l->buf, sizeof(l->buf), "%lld",
				 (long long)json_integer_value(v));
			return l->buf;
		}
		if (json_is_real(v)) {
			tc_format_double(json_real_value(v), l->buf,
					 sizeof(l->buf));
			return l->buf;
		}
		if (json_is_boolean(v))
			return json_is_true(v) ? "true" : "false";
		return "";
	}
	if (tc_spec_param_index(l->spec, name, len) >= 0)
		return tc_template_absent; /* a parameter this trial lacks */
	if (!strcmp(key, "trial_id"))
		return l->id;
	if (!strcmp(key, "experiment"))
		return l->experiment;
	if (!strcmp(key, "trial_dir"))
		return TC_K8S_TRIAL_DIR;
	return NULL; /* index, seed: not part of a pod's placement */
}

static int bad(struct tc_error *err, const struct tc_spec *spec,
	       struct tc_pos pos, const char *id, const char *key,
	       const char *val, const char *why)
{
	return tc_error_at(err, TC_ERR_SPEC, spec->path, pos.line, pos.col,
			   "trial %s: %s renders to '%.80s', %s", id, key, val,
			   why);
}

/* Render one value; 0, or TC_ERR_SPEC naming the trial and the key. */
static int render(const struct tc_spec *spec, struct lookup *l,
		  const char *text, struct tc_pos pos, const char *key,
		  char **out, struct tc_error *err)
{
	struct tc_error e;
	int rc;

	tc_error_clear(&e);
	if ((rc = tc_template_render(text, look, l, out, &e)))
		return rc == TC_ERR_NOMEM
			       ? tc_error_set(err, rc, "out of memory")
			       : tc_error_at(err, TC_ERR_SPEC, spec->path,
					     pos.line, pos.col,
					     "trial %s: %s: %s (only parameters, "
					     "trial_id and experiment may be "
					     "used here)",
					     l->id, key, e.msg);
	return 0;
}

int tc_k8s_place(const struct tc_spec *spec, const char *id,
		 const char *params_json, struct tc_k8s_placement *pl,
		 struct tc_error *err)
{
	const struct tc_kspec *ks = spec->k8s;
	const struct tc_str *ct = &spec->resources.cpu_template;
	const struct tc_str *mt = &spec->resources.memory_template;
	struct lookup l = {0};
	char key[160];
	int rc = 0;

	memset(pl, 0, sizeof(*pl));
	tc_error_clear(err);
	if (!spec->placement_templates)
		return 0;
	l.params = json_loads(params_json ? params_json : "{}", 0, NULL);
	l.spec = spec;
	l.id = id;
	l.experiment = spec->name;
	if (!json_is_object(l.params)) {
		json_decref(l.params);
		return tc_error_set(err, TC_ERR_INTERNAL,
				    "trial %s: parameters are not a JSON "
				    "object", id);
	}
	if (ks->nnode_selector &&
	    !(pl->node_selector = calloc(ks->nnode_selector, sizeof(char *))))
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if (!rc && ks->image.text && strstr(ks->image.text, "{{") &&
	    !(rc = render(spec, &l, ks->image.text, ks->image.pos,
			  "kubernetes.image", &pl->image, err)) &&
	    (!pl->image[0] || strpbrk(pl->image, " \t\r\n")))
		rc = bad(err, spec, ks->image.pos, id, "kubernetes.image",
			 pl->image, "not an image name (empty or with spaces)");
	for (size_t i = 0; !rc && i < ks->nnode_selector; i++) {
		const struct tc_klabel *s = &ks->node_selector[i];

		if (!strstr(s->value, "{{"))
			continue;
		snprintf(key, sizeof(key), "kubernetes.nodeSelector.%s", s->key);
		if (!(rc = render(spec, &l, s->value, s->pos, key,
				  &pl->node_selector[i], err)) &&
		    !tc_k8s_is_label_value(pl->node_selector[i]))
			rc = bad(err, spec, s->pos, id, key,
				 pl->node_selector[i],
				 "not a valid label value (at most 63 "
				 "letters, digits, '-', '_' and '.', starting "
				 "and ending alphanumeric)");
	}
	if (!rc && ct->text &&
	    !(rc = render(spec, &l, ct->text, ct->pos, "resources.cpu",
			  &pl->cpu, err)) &&
	    tc_parse_cpu(pl->cpu, &pl->cores) != 0)
		rc = bad(err, spec, ct->pos, id, "resources.cpu", pl->cpu,
			 "not a CPU quantity such as 2 or 500m");
	if (!rc && mt->text &&
	    !(rc = render(spec, &l, mt->text, mt->pos, "resources.memory",
			  &pl->memory, err)) &&
	    tc_parse_bytes(pl->memory, &pl->bytes) != 0)
		rc = bad(err, spec, mt->pos, id, "resources.memory", pl->memory,
			 "not a memory quantity such as 24Gi or 512Mi");
	json_decref(l.params);
	if (rc)
		tc_k8s_placement_free(pl, spec);
	return rc;
}

void tc_k8s_placement_free(struct tc_k8s_placement *pl,
			   const struct tc_spec *spec)
{
	if (pl->node_selector)
		for (size_t i = 0; i < spec->k8s->nnode_selector; i++)
			free(pl->node_selector[i]);
	free(pl->node_selector);
	free(pl->image);
	free(pl->cpu);
	free(pl->memory);
	memset(pl, 0, sizeof(*pl));
}

int tc_k8s_check_trial(const struct tc_spec *spec, const char *id,
		       const char *params_json, struct tc_error *err)
{
	struct tc_k8s_placement pl;
	int rc = tc_k8s_place(spec, id, params_json, &pl, err);

	if (!rc)
		tc_k8s_placement_free(&pl, spec);
	return rc;
}

/* One rendered quantity as request and, unless kubernetes.limits sets
 * that resource itself, as limit (requests equal limits, as for every
 * quantity of the spec). */
static int set_quantity(json_t *res, const char *name, const char *val,
			int explicit_limit)
{
	static const char *const parts[2] = {"requests", "limits"};
	int rc = 0;

	for (int k = 0; k < 2 - explicit_limit; k++) {
		json_t *r = json_object_get(res, parts[k]);

		if (!r && (rc |= json_object_set_new(res, parts[k],
						      r = json_object())))
			return rc;
		rc |= json_object_set_new(r, name, json_string(val));
	}
	return rc;
}

int tc_k8s_place_job(const struct tc_spec *spec, const struct tc_k8s_trial *t,
		     json_t *pod, json_t *ctr, struct tc_error *err)
{
	struct tc_k8s_placement pl;
	json_t *sel, *res;
	int rc;

	if (!spec->placement_templates)
		return 0;
	if ((rc = tc_k8s_place(spec, t->id, t->params_json, &pl, err)))
		return rc;
	if (pl.image)
		rc |= json_object_set_new(ctr, "image", json_string(pl.image));
	sel = json_object_get(pod, "nodeSelector");
	for (size_t i = 0; sel && i < spec->k8s->nnode_selector; i++)
		if (pl.node_selector[i])
			rc |= json_object_set_new(
				sel, spec->k8s->node_selector[i].key,
				json_string(pl.node_selector[i]));
	if (pl.cpu || pl.memory) {
		if (!(res = json_object_get(ctr, "resources")))
			rc |= json_object_set_new(ctr, "resources",
						  res = json_object());
		if (pl.cpu)
			rc |= set_quantity(res, "cpu", pl.cpu,
					   spec->k8s->limits.cpu >= 0);
		if (pl.memory)
			rc |= set_quantity(res, "memory", pl.memory,
					   spec->k8s->limits.memory >= 0);
	}
	tc_k8s_placement_free(&pl, spec);
	return rc ? tc_error_set(err, TC_ERR_NOMEM, "out of memory") : 0;
}
