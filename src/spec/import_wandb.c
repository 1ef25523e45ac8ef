/*
 * import_wandb.c — a W&B sweep configuration as an experiment file (see
 * import.h; the format is W&B's sweep configuration schema).
 *
 *   method grid|random|bayes    search.method grid|random|tpe
 *   run_cap                     search.trials (random and bayes need it:
 *                               W&B would sample until stopped)
 *   metric {name, goal,         metric (W&B's goal defaults to minimize;
 *           impute: worst}      failed trials rank last, W&B's "worst")
 *   parameters                  parameters, nested ones flattened as a.b;
 *                               W&B's distributions by their trainctl
 *                               names (spec.h); a grid enumerates
 *                               int_uniform and q_uniform as W&B's does
 *   program, command            command, W&B's macros expanded into the
 *                               argv of every trial: ${args} becomes one
 *                               --name={{name}} element per parameter
 *   early_terminate hyperband   early_stop {method: hyperband, ...}
 *   name, project, entity       name (made a valid one), WANDB_PROJECT,
 *                               WANDB_ENTITY in the trial's environment
 *   description, controller     comments (trainctl is the controller)
 *
 * Anything else, or a value trainctl cannot honour (metric.target, a
 * Launch job, a custom method), is an error at its position.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/internal.h"

#define NAME_MAX_LEN 128
#define GRID_VALUES_MAX 100000

/* W&B's ${interpreter}: the Python trainctl's trials find on $PATH. */
#define WB_INTERPRETER "python3"

struct wparam {
	char name[NAME_MAX_LEN + 1];
	yaml_node_t *key, *node;
	yaml_node_t *dist_node;  /* distribution:'s value, or NULL */
	const char *dist;        /* W&B's name, given or inferred */
	int can_bool;            /* a value is a boolean */
	int json;                /* ${args_json}: 0 raw, 1 quoted, -1 no */
	const yaml_node_t *json_bad;
};

struct wb {
	struct tc_yw *w;
	struct wparam *p;
	size_t np, cap;
	int grid;
};

/* ---- parameters ------------------------------------------------------- */

static int add_param(struct wb *b, const char *prefix, yaml_node_t *k,
		     yaml_node_t *v)
{
	const char *key = tc_yw_text(k);
	struct wparam *p;

	if (!key || !*key)
		return tc_yw_fail(b->w, k, "parameter names must be names");
	if (!tc_yw_param_name(key))
		return tc_yw_fail(b->w, k, "parameter name '%.60s': a name "
				  "starts with a letter or '_' and has only "
				  "letters, digits, '_', '.' and '-' (W&B's "
				  "rule too)", key);
	if (strlen(prefix) + strlen(key) > NAME_MAX_LEN)
		return tc_yw_fail(b->w, k, "parameter name '%s%.40s...' is "
				  "longer than %d characters", prefix, key,
				  NAME_MAX_LEN);
	if (b->np == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct wparam *q = realloc(b->p, cap * sizeof(*q));

		if (!q)
			return tc_error_set(b->w->err, TC_ERR_NOMEM,
					    "out of memory");
		b->p = q;
		b->cap = cap;
	}
	p = &b->p[b->np++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s%s", prefix, key);
	p->key = k;
	p->node = v;
	return 0;
}

/* parameters: {...}, nested {name: {parameters: {...}}} flattened with
 * a '.' between the names. */
static int flatten(struct wb *b, const yaml_node_t *params, const char *prefix)
{
	if (params->type != YAML_MAPPING_NODE ||
	    params->data.mapping.pairs.top == params->data.mapping.pairs.start)
		return tc_yw_fail(b->w, params, "parameters must be a mapping "
				  "of names to parameters, e.g. {lr: {min: "
				  "0.0001, max: 0.1}}");
	for (yaml_node_pair_t *pair = params->data.mapping.pairs.start;
	     pair < params->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = tc_yw_node(b->w, pair->key);
		yaml_node_t *v = tc_yw_node(b->w, pair->value);
		yaml_node_t *nested, *nk;
		int rc;

		for (yaml_node_pair_t *q = params->data.mapping.pairs.start;
		     q < pair; q++) {
			const char *a = tc_yw_text(tc_yw_node(b->w, q->key));

			if (a && tc_yw_text(k) && !strcmp(a, tc_yw_text(k)))
				return tc_yw_fail(b->w, k, "duplicate "
						  "parameter '%.60s'", a);
		}
		if (!v || v->type != YAML_MAPPING_NODE)
			return tc_yw_fail(b->w, v ? v : k, "parameter '%s%.60s' "
					  "must be a mapping: {values: [...]}, "
					  "{value: x}, {min: a, max: b} or "
					  "{distribution: ...}", prefix,
					  tc_yw_text(k) ? tc_yw_text(k) : "?");
		nested = tc_yw_get(b->w, v, "parameters", &nk);
		if (nested) {
			char sub[NAME_MAX_LEN + 2];
			static const char *const only[] = {"parameters"};

			rc = tc_yw_keys(b->w, v, "a nested parameter", only, 1);
			if (rc)
				return rc;
			if (strlen(prefix) + strlen(tc_yw_text(k)) + 1 >
			    NAME_MAX_LEN)
				return tc_yw_fail(b->w, k, "nested parameter "
						  "names are too long");
			snprintf(sub, sizeof(sub), "%s%s.", prefix,
				 tc_yw_text(k));
			rc = flatten(b, nested, sub);
		} else {
			rc = add_param(b, prefix, k, v);
		}
		if (rc)
			return rc;
	}
	return 0;
}

struct wdist {
	const char *wandb, *native; /* native NULL: values:/value: forms */
	const char *const *keys;
};

static const char *const k_value[] = {"value", NULL};
static const char *const k_values[] = {"values", "probabilities", NULL};
static const char *const k_minmax[] = {"min", "max", NULL};
static const char *const k_minmaxq[] = {"min", "max", "q", NULL};
static const char *const k_normal[] = {"mu", "sigma", NULL};
static const char *const k_normalq[] = {"mu", "sigma", "q", NULL};
static const char *const k_beta[] = {"a", "b", NULL};
static const char *const k_betaq[] = {"a", "b", "q", NULL};

static const struct wdist wdists[] = {
	{"constant", NULL, k_value},
	{"categorical", NULL, k_values},
	{"categorical_w_probabilities", NULL, k_values},
	{"int_uniform", "int_uniform", k_minmax},
	{"uniform", "uniform", k_minmax},
	{"q_uniform", "q_uniform", k_minmaxq},
	{"log_uniform", "exp_uniform", k_minmax},
	{"q_log_uniform", "q_exp_uniform", k_minmaxq},
	{"log_uniform_values", "log_uniform", k_minmax},
	{"q_log_uniform_values", "q_log_uniform_values", k_minmaxq},
	{"inv_log_uniform", "inv_exp_uniform", k_minmax},
	{"inv_log_uniform_values", "inv_log_uniform_values", k_minmax},
	{"normal", "normal", k_normal},
	{"q_normal", "q_normal", k_normalq},
	{"log_normal", "log_normal", k_normal},
	{"q_log_normal", "q_log_normal", k_normalq},
	{"beta", "beta", k_beta},
	{"q_beta", "q_beta", k_betaq},
};
#define NWDISTS (sizeof(wdists) / sizeof(wdists[0]))

static int is_int_node(const yaml_node_t *n)
{
	struct tc_value v;

	if (!n || n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	tc_spec_type_plain((const char *)n->data.scalar.value,
			   n->data.scalar.length, &v);
	return v.type == TC_V_INT;
}

/* A JSON number, as ${args_json} needs the text to be. */
static int json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		if (!(*++s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/* What a values/value scalar says about booleans and ${args_json}. */
static void classify(struct wparam *p, const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	struct tc_value v;
	int j;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		v.type = TC_V_STR;
	else
		tc_spec_type_plain(s, n->data.scalar.length, &v);
	p->can_bool |= v.type == TC_V_BOOL;
	switch (v.type) {
	case TC_V_INT:
	case TC_V_FLOAT:
		j = json_number(s) ? 0 : -1;
		break;
	case TC_V_BOOL:
		j = !strcmp(s, "true") || !strcmp(s, "false") ? 0 : -1;
		break;
	case TC_V_NULL:
		j = !strcmp(s, "null") ? 0 : -1;
		break;
	case TC_V_STR:
	default:
		j = strpbrk(s, "\"\\") ? -1 : 1;
		for (const char *q = s; *q && j == 1; q++)
			if ((unsigned char)*q < 0x20)
				j = -1;
		break;
	}
	if (p->json == -1)
		return;
	if (j == -1 || (p->json != j && p->json != 2)) {
		p->json = -1;
		p->json_bad = n;
		return;
	}
	p->json = j;
}

/* One scalar of values:/value:, written and classified. */
static int value_scalar(struct wb *b, struct wparam *p, const yaml_node_t *n,
			const char *what)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return tc_yw_fail(b->w, n, "parameters.%s.%s: trainctl "
				  "parameters are single values (a string, "
				  "number or boolean), not lists or mappings",
				  p->name, what);
	classify(p, n);
	return tc_yw_scalar(b->w, n);
}

/* A list of scalars as a flow sequence. */
static int write_list(struct wb *b, struct wparam *p, const yaml_node_t *seq,
		      const char *what, int values)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return tc_yw_fail(b->w, seq, "parameters.%s.%s must be a list",
				  p->name, what);
	tc_yw_mark(b->w, tc_yw_pos(seq));
	tc_yw_raw(b->w, "[");
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = tc_yw_node(b->w, *it);
		int rc;

		if (it > seq->data.sequence.items.start)
			tc_yw_raw(b->w, ", ");
		if (values)
			rc = value_scalar(b, p, e, what);
		else if (!e || e->type != YAML_SCALAR_NODE)
			rc = tc_yw_fail(b->w, e ? e : seq, "parameters.%s.%s "
					"must be numbers", p->name, what);
		else
			rc = tc_yw_scalar(b->w, e);
		if (rc)
			return rc;
	}
	tc_yw_raw(b->w, "]");
	return 0;
}

/* A number of the original as a double (its text must be one). */
static int number(struct wb *b, const struct wparam *p, const yaml_node_t *n,
		  const char *what, double *out, int *is_int)
{
	struct tc_value v;

	if (!n || n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		goto bad;
	tc_spec_type_plain((const char *)n->data.scalar.value,
			   n->data.scalar.length, &v);
	if (v.type != TC_V_INT && v.type != TC_V_FLOAT)
		goto bad;
	if (v.type == TC_V_INT)
		v.f = (double)v.i;
	if (!isfinite(v.f))
		goto bad;
	*out = v.f;
	if (is_int)
		*is_int = v.type == TC_V_INT;
	return 0;
bad:
	return tc_yw_fail(b->w, n, "parameters.%s.%s must be a number",
			  p->name, what);
}

/* W&B's grid runs int_uniform and q_uniform over their points: so does
 * the translation, as values: lists. */
static int grid_values(struct wb *b, struct wparam *p)
{
	yaml_node_t *kmin, *kmax, *kq;
	yaml_node_t *vmin = tc_yw_get(b->w, p->node, "min", &kmin);
	yaml_node_t *vmax = tc_yw_get(b->w, p->node, "max", &kmax);
	yaml_node_t *vq = tc_yw_get(b->w, p->node, "q", &kq);
	double lo = 0, hi = 0, q = 1.0;
	int ilo = 0, ihi = 0, iq = 0, rc;
	double count;
	char buf[40];

	if (!vmin || !vmax)
		return tc_yw_fail(b->w, p->node, "parameters.%s: %s needs min "
				  "and max", p->name, p->dist);
	rc = number(b, p, vmin, "min", &lo, &ilo);
	if (!rc)
		rc = number(b, p, vmax, "max", &hi, &ihi);
	if (!rc && vq)
		rc = number(b, p, vq, "q", &q, &iq);
	if (rc)
		return rc;
	if (!strcmp(p->dist, "int_uniform")) {
		if (!ilo || !ihi)
			return tc_yw_fail(b->w, ilo ? vmax : vmin,
					  "parameters.%s: int_uniform takes "
					  "integers", p->name);
		count = hi - lo + 1;
		q = 1;
		iq = 1;
	} else {
		if (!(q > 0))
			return tc_yw_fail(b->w, vq, "parameters.%s: q must be "
					  "> 0", p->name);
		count = ceil((hi - lo) / q); /* numpy's arange(min, max, q) */
	}
	if (!(count >= 1))
		return tc_yw_fail(b->w, vmin, "parameters.%s: min and max give "
				  "no grid points", p->name);
	if (count > GRID_VALUES_MAX)
		return tc_yw_fail(b->w, p->node, "parameters.%s: %.0f grid "
				  "points (more than %d); use method: random",
				  p->name, count, GRID_VALUES_MAX);
	tc_yw_mark(b->w, tc_yw_pos(p->dist_node ? p->dist_node : p->node));
	tc_yw_raw(b->w, "{values: [");
	for (long long i = 0; i < (long long)count; i++) {
		if (i)
			tc_yw_raw(b->w, ", ");
		if (ilo && ihi && iq)
			snprintf(buf, sizeof(buf), "%lld",
				 (long long)lo + i * (long long)q);
		else
			tc_yw_double(lo + (double)i * q, buf, sizeof(buf));
		tc_yw_raw(b->w, buf);
	}
	tc_yw_printf(b->w, "]}  # W&B %s, enumerated for the grid\n",
		     p->dist);
	p->json = 0;
	return 0;
}

static int write_param(struct wb *b, struct wparam *p)
{
	const struct wdist *d = NULL;
	const char *allowed[8];
	size_t na = 0;
	int rc;

	p->json = 2; /* nothing seen yet */
	p->dist_node = tc_yw_get(b->w, p->node, "distribution", NULL);
	if (p->dist_node) {
		p->dist = tc_yw_text(p->dist_node);
		if (!p->dist)
			return tc_yw_fail(b->w, p->dist_node, "parameters.%s."
					  "distribution must be a name",
					  p->name);
	} else if (tc_yw_get(b->w, p->node, "values", NULL)) {
		p->dist = tc_yw_get(b->w, p->node, "probabilities", NULL)
				  ? "categorical_w_probabilities"
				  : "categorical";
	} else if (tc_yw_get(b->w, p->node, "value", NULL)) {
		p->dist = "constant";
	} else if (tc_yw_get(b->w, p->node, "min", NULL) &&
		   tc_yw_get(b->w, p->node, "max", NULL)) {
		p->dist = is_int_node(tc_yw_get(b->w, p->node, "min", NULL)) &&
					  is_int_node(tc_yw_get(b->w, p->node,
								"max", NULL))
				  ? "int_uniform"
				  : "uniform";
	} else {
		return tc_yw_fail(b->w, p->node, "parameters.%s needs values: "
				  "[...], value: x, min: and max:, or a "
				  "distribution:", p->name);
	}
	for (size_t i = 0; i < NWDISTS; i++)
		if (!strcmp(wdists[i].wandb, p->dist))
			d = &wdists[i];
	if (!d) {
		const char *names[NWDISTS];
		const char *hint;

		for (size_t i = 0; i < NWDISTS; i++)
			names[i] = wdists[i].wandb;
		hint = tc_did_you_mean(p->dist, names, NWDISTS);
		return tc_yw_fail(b->w, p->dist_node, "parameters.%s: unknown "
				  "W&B distribution '%.60s'%s%s%s", p->name,
				  p->dist, hint ? " (did you mean '" : "",
				  hint ? hint : "", hint ? "'?)" : "");
	}
	allowed[na++] = "distribution";
	for (const char *const *k = d->keys; *k; k++)
		allowed[na++] = *k;
	{
		char what[NAME_MAX_LEN + 64];

		snprintf(what, sizeof(what), "parameters.%s (distribution %s)",
			 p->name, p->dist);
		rc = tc_yw_keys(b->w, p->node, what, allowed, na);
		if (rc)
			return rc;
	}

	tc_yw_raw(b->w, "  ");
	tc_yw_mark(b->w, tc_yw_pos(p->key));
	tc_yw_printf(b->w, "%s: ", p->name);
	if (b->grid) {
		if (!strcmp(p->dist, "int_uniform") ||
		    !strcmp(p->dist, "q_uniform"))
			return grid_values(b, p);
		if (!strcmp(p->dist, "categorical_w_probabilities") ||
		    (d->native == NULL &&
		     tc_yw_get(b->w, p->node, "probabilities", NULL)))
			return tc_yw_fail(b->w, p->node, "parameters.%s: W&B's "
					  "grid search does not weigh values "
					  "with probabilities (it runs each "
					  "one); use method: random",
					  p->name);
		if (d->native)
			return tc_yw_fail(b->w, p->dist_node ? p->dist_node
							     : p->node,
					  "parameters.%s: grid search takes "
					  "values, value, int_uniform and "
					  "q_uniform only (W&B's rule), not "
					  "distribution %s; use method: random",
					  p->name, p->dist);
	}
	tc_yw_raw(b->w, "{");
	if (d->native) {
		tc_yw_mark(b->w, tc_yw_pos(p->dist_node ? p->dist_node
						       : p->node));
		tc_yw_printf(b->w, "distribution: %s", d->native);
		p->json = 0;
	}
	for (yaml_node_pair_t *pair = p->node->data.mapping.pairs.start;
	     pair < p->node->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = tc_yw_node(b->w, pair->key);
		yaml_node_t *v = tc_yw_node(b->w, pair->value);
		const char *key = tc_yw_text(k);

		if (!strcmp(key, "distribution"))
			continue;
		if (d->native || pair > p->node->data.mapping.pairs.start)
			tc_yw_raw(b->w, ", ");
		tc_yw_mark(b->w, tc_yw_pos(k));
		tc_yw_printf(b->w, "%s: ", key);
		if (!strcmp(key, "values"))
			rc = write_list(b, p, v, "values", 1);
		else if (!strcmp(key, "probabilities"))
			rc = write_list(b, p, v, "probabilities", 0);
		else if (!strcmp(key, "value"))
			rc = value_scalar(b, p, v, "value");
		else if (!v || v->type != YAML_SCALAR_NODE)
			rc = tc_yw_fail(b->w, v ? v : k, "parameters.%s.%s "
					"must be a number", p->name, key);
		else
			rc = tc_yw_scalar(b->w, v);
		if (rc)
			return rc;
	}
	tc_yw_raw(b->w, "}");
	if (strcmp(p->dist, d->native ? d->native : ""))
		tc_yw_printf(b->w, "  # W&B %s", p->dist);
	tc_yw_raw(b->w, "\n");
	if (p->json == 2)
		p->json = 0;
	return 0;
}

/* ---- the command ------------------------------------------------------ */

struct argv_item {
	char *text;
	struct tc_pos pos;
};

struct argv_list {
	struct argv_item *a;
	size_t n, cap;
};

static int push(struct wb *b, struct argv_list *l, const char *text,
		struct tc_pos pos)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct argv_item *a = realloc(l->a, cap * sizeof(*a));

		if (!a)
			return tc_error_set(b->w->err, TC_ERR_NOMEM,
					    "out of memory");
		l->a = a;
		l->cap = cap;
	}
	l->a[l->n].text = strdup(text);
	if (!l->a[l->n].text)
		return tc_error_set(b->w->err, TC_ERR_NOMEM, "out of memory");
	l->a[l->n++].pos = pos;
	return 0;
}

static void argv_free(struct argv_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->a[i].text);
	free(l->a);
}

/* One element of a W&B command (its text, its node; program is the
 * program: value or NULL). */
static int expand(struct wb *b, struct argv_list *l, const char *item,
		  const yaml_node_t *n, const char *program)
{
	struct tc_pos pos = tc_yw_pos(n);
	char buf[4096];
	int rc;

	if (!strcmp(item, "${env}"))
		return push(b, l, "/usr/bin/env", pos);
	if (!strcmp(item, "${interpreter}"))
		return push(b, l, WB_INTERPRETER, pos);
	if (!strcmp(item, "${program}")) {
		if (!program)
			return tc_yw_fail(b->w, n, "command uses ${program} but "
					  "the sweep has no program:");
		return push(b, l, program, pos);
	}
	if (!strcmp(item, "${args}") || !strcmp(item, "${args_no_hyphens}") ||
	    !strcmp(item, "${args_no_boolean_flags}")) {
		int hyphens = strcmp(item, "${args_no_hyphens}") != 0;

		for (size_t i = 0; i < b->np; i++) {
			if (!strcmp(item, "${args_no_boolean_flags}") &&
			    b->p[i].can_bool)
				return tc_yw_fail(b->w, n, "%s: parameter '%s' "
						  "has boolean values, which "
						  "this macro turns into a "
						  "flag or nothing per run; "
						  "trainctl's command is the "
						  "same argv for every trial: "
						  "use ${args}", item,
						  b->p[i].name);
			snprintf(buf, sizeof(buf), "%s%s={{%s}}",
				 hyphens ? "--" : "", b->p[i].name,
				 b->p[i].name);
			if ((rc = push(b, l, buf, pos)))
				return rc;
		}
		return 0;
	}
	if (!strcmp(item, "${args_json}")) {
		size_t len = 0;

		buf[len++] = '{';
		for (size_t i = 0; i < b->np; i++) {
			const struct wparam *p = &b->p[i];
			int w;

			if (p->json < 0)
				return tc_yw_fail(b->w, p->json_bad ? p->json_bad
								    : n,
						  "${args_json}: the values of "
						  "parameter '%s' cannot all be "
						  "written into JSON as they are "
						  "(mixed types, or quotes or "
						  "backslashes in a string); use "
						  "${args_json_file}",
						  p->name);
			w = snprintf(buf + len, sizeof(buf) - len,
				     "%s\"%s\": %s{{%s}}%s", i ? ", " : "",
				     p->name, p->json ? "\"" : "", p->name,
				     p->json ? "\"" : "");
			if (w < 0 || (size_t)w >= sizeof(buf) - len - 1)
				return tc_yw_fail(b->w, n, "${args_json}: too "
						  "many parameters");
			len += (size_t)w;
		}
		buf[len++] = '}';
		buf[len] = '\0';
		return push(b, l, buf, pos);
	}
	if (!strcmp(item, "${args_json_file}"))
		return push(b, l, "{{trial_dir}}/params.json", pos);
	/* ${env}, ${interpreter} and ${program} inside a longer element */
	{
		size_t len = 0;
		const char *s = item;

		while (*s) {
			const char *rep = NULL;
			size_t skip = 0;

			if (!strncmp(s, "${env}", 6)) {
				rep = "/usr/bin/env";
				skip = 6;
			} else if (!strncmp(s, "${interpreter}", 14)) {
				rep = WB_INTERPRETER;
				skip = 14;
			} else if (!strncmp(s, "${program}", 10)) {
				if (!program)
					return tc_yw_fail(b->w, n, "command "
							  "uses ${program} but "
							  "the sweep has no "
							  "program:");
				rep = program;
				skip = 10;
			} else if (!strncmp(s, "${", 2)) {
				const char *e = strchr(s, '}');

				return tc_yw_fail(b->w, n, "command: %.*s is "
						  "not a W&B macro trainctl "
						  "knows (${env}, "
						  "${interpreter}, ${program}, "
						  "${args}, ${args_no_hyphens}, "
						  "${args_no_boolean_flags}, "
						  "${args_json}, "
						  "${args_json_file}); the "
						  "${args...} ones must be a "
						  "whole element",
						  e ? (int)(e - s + 1) : 2, s);
			}
			if (rep) {
				size_t rl = strlen(rep);

				if (len + rl + 1 > sizeof(buf))
					return tc_yw_fail(b->w, n, "command "
							  "element too long");
				memcpy(buf + len, rep, rl);
				len += rl;
				s += skip;
			} else {
				if (len + 2 > sizeof(buf))
					return tc_yw_fail(b->w, n, "command "
							  "element too long");
				buf[len++] = *s++;
			}
		}
		buf[len] = '\0';
		return push(b, l, buf, pos);
	}
}

static int write_command(struct wb *b, const yaml_node_t *cmd,
			 const yaml_node_t *cmd_key, const yaml_node_t *prog,
			 const yaml_node_t *prog_key)
{
	static const char *const defaults[] = {"${env}", "${interpreter}",
					       "${program}", "${args}"};
	const char *program = NULL;
	struct argv_list l = {0};
	int rc = 0;

	if (prog) {
		program = tc_yw_text(prog);
		if (!program || !*program)
			return tc_yw_fail(b->w, prog, "program must be the "
					  "training script's path");
		if (strstr(program, "{{"))
			return tc_yw_fail(b->w, prog, "program: '{{' would be "
					  "read as a trainctl template");
	}
	if (!cmd && !prog)
		return tc_yw_fail(b->w, NULL, "the sweep needs program: (the "
				  "training script) or command:");
	if (cmd) {
		if (cmd->type != YAML_SEQUENCE_NODE)
			return tc_yw_fail(b->w, cmd, "command must be a list, "
					  "e.g. [${env}, ${interpreter}, "
					  "${program}, ${args}]");
		for (yaml_node_item_t *it = cmd->data.sequence.items.start;
		     it < cmd->data.sequence.items.top && !rc; it++) {
			yaml_node_t *e = tc_yw_node(b->w, *it);
			const char *t = tc_yw_text(e);

			if (!t)
				rc = tc_yw_fail(b->w, e, "command elements must "
						"be strings");
			else if (strstr(t, "{{"))
				rc = tc_yw_fail(b->w, e, "command: '{{' would "
						"be read as a trainctl "
						"template");
			else
				rc = expand(b, &l, t, e, program);
		}
		if (!rc && l.n == 0)
			rc = tc_yw_fail(b->w, cmd, "command is empty");
	} else {
		for (size_t i = 0; i < 4 && !rc; i++)
			rc = expand(b, &l, defaults[i], prog_key, program);
	}
	if (!rc) {
		tc_yw_comment(b->w, "", cmd ? "W&B command, its macros "
					      "expanded for every trial"
					    : "W&B's default command: ${env} "
					      "${interpreter} ${program} "
					      "${args}");
		tc_yw_mark(b->w, tc_yw_pos(cmd ? cmd_key : prog_key));
		tc_yw_raw(b->w, "command:\n");
		for (size_t i = 0; i < l.n; i++) {
			tc_yw_raw(b->w, "  - ");
			tc_yw_mark(b->w, l.a[i].pos);
			tc_yw_string(b->w, l.a[i].text);
			tc_yw_raw(b->w, "\n");
		}
	}
	argv_free(&l);
	return rc;
}

/* ---- the rest --------------------------------------------------------- */

static int write_early_stop(struct wb *b, const yaml_node_t *k,
			    const yaml_node_t *et, unsigned flags)
{
	static const char *const keys[] = {"type", "min_iter", "max_iter",
					   "s", "eta", "strict"};
	yaml_node_t *type = tc_yw_get(b->w, et, "type", NULL);
	yaml_node_t *min_iter = tc_yw_get(b->w, et, "min_iter", NULL);
	yaml_node_t *max_iter = tc_yw_get(b->w, et, "max_iter", NULL);
	yaml_node_t *s = tc_yw_get(b->w, et, "s", NULL);
	yaml_node_t *eta_n = tc_yw_get(b->w, et, "eta", NULL);
	yaml_node_t *strict = tc_yw_get(b->w, et, "strict", NULL);
	struct wparam dummy = {.name = "early_terminate"};
	double eta = 3, lo = 0, hi = 0, sv = 0;
	int isint = 1, rc, known = tc_spec_has_section("early_stop");

	rc = tc_yw_keys(b->w, et, "early_terminate", keys, 6);
	if (rc)
		return rc;
	if (!type || !tc_yw_text(type) || strcmp(tc_yw_text(type), "hyperband"))
		return tc_yw_fail(b->w, type ? type : et, "early_terminate.type "
				  "must be hyperband (W&B's only type)");
	if (strict && (!tc_yw_text(strict) || strcmp(tc_yw_text(strict), "true")))
		return tc_yw_fail(b->w, strict, "early_terminate.strict: "
				  "trainctl's hyperband stops as W&B's strict "
				  "rule does; remove strict: false");
	if (eta_n) {
		rc = number(b, &dummy, eta_n, "eta", &eta, &isint);
		if (rc)
			return rc;
		if (!isint || eta < 2)
			return tc_yw_fail(b->w, eta_n, "early_terminate.eta "
					  "must be an integer >= 2 (trainctl's "
					  "reduction_factor)");
	}
	if (max_iter) {
		int ii = 0;

		if (!s)
			return tc_yw_fail(b->w, max_iter, "early_terminate: "
					  "max_iter needs s (how many times to "
					  "divide it by eta)");
		rc = number(b, &dummy, max_iter, "max_iter", &hi, &ii);
		if (!rc)
			rc = number(b, &dummy, s, "s", &sv, NULL);
		if (rc)
			return rc;
		if (!ii || hi < 1)
			return tc_yw_fail(b->w, max_iter, "early_terminate."
					  "max_iter must be an integer >= 1");
		/* W&B's bands: max_iter / eta^k for k = 1..s, while >= 1 */
		lo = 0;
		for (int i = 0; i < (int)sv && i < 64; i++) {
			double band = floor(hi / pow(eta, i + 1));

			if (band < 1)
				break;
			lo = band;
		}
		if (lo < 1)
			return tc_yw_fail(b->w, s, "early_terminate: no band "
					  "of max_iter / eta^k is >= 1: raise "
					  "max_iter or s, or lower eta");
	} else if (min_iter) {
		int ii = 0;

		rc = number(b, &dummy, min_iter, "min_iter", &lo, &ii);
		if (rc)
			return rc;
		if (!ii || lo < 1)
			return tc_yw_fail(b->w, min_iter, "early_terminate."
					  "min_iter must be an integer >= 1");
		if (s)
			return tc_yw_fail(b->w, s, "early_terminate: s goes "
					  "with max_iter");
	} else {
		return tc_yw_fail(b->w, et, "early_terminate needs min_iter, "
				  "or max_iter and s");
	}
	if (!known && (flags & TC_IMPORT_RUNNABLE))
		return tc_yw_fail(b->w, k, "early_terminate: this trainctl "
				  "cannot stop trials early yet (early_stop:); "
				  "remove early_terminate to run the sweep, or "
				  "see its translation with `trainctl import "
				  "wandb`");
	if (!known && (flags & TC_IMPORT_CHECKABLE))
		return 0;
	tc_yw_comment(b->w, "", "W&B early_terminate (hyperband): a step is "
				"the trial's own epoch/step");
	if (!known)
		tc_yw_comment(b->w, "", "(needs a trainctl with early "
					"stopping: this one does not read "
					"early_stop: yet)");
	tc_yw_mark(b->w, tc_yw_pos(k));
	tc_yw_printf(b->w, "early_stop: {method: hyperband, min_step: %.0f", lo);
	if (max_iter)
		tc_yw_printf(b->w, ", max_step: %.0f", hi);
	tc_yw_printf(b->w, ", reduction_factor: %.0f}\n", eta);
	return 0;
}

static int write_metric(struct wb *b, const yaml_node_t *k,
			const yaml_node_t *m)
{
	static const char *const keys[] = {"name", "goal", "target", "impute",
					   "impute_while_running"};
	yaml_node_t *name = tc_yw_get(b->w, m, "name", NULL);
	yaml_node_t *goal = tc_yw_get(b->w, m, "goal", NULL);
	yaml_node_t *target = tc_yw_get(b->w, m, "target", NULL);
	yaml_node_t *impute = tc_yw_get(b->w, m, "impute", NULL);
	yaml_node_t *iwr = tc_yw_get(b->w, m, "impute_while_running", NULL);
	const char *g = "minimize";
	int rc = tc_yw_keys(b->w, m, "metric", keys, 5);

	if (rc)
		return rc;
	if (!name || !tc_yw_text(name))
		return tc_yw_fail(b->w, name ? name : m, "metric needs a name");
	if (goal) {
		g = tc_yw_text(goal);
		if (!g || (strcmp(g, "minimize") && strcmp(g, "maximize")))
			return tc_yw_fail(b->w, goal, "metric.goal must be "
					  "minimize or maximize");
	}
	if (target)
		return tc_yw_fail(b->w, target, "metric.target: trainctl does "
				  "not end a search when a trial reaches a "
				  "value; remove target (`trainctl best` "
				  "shows the best trial)");
	if (impute && (!tc_yw_text(impute) || strcmp(tc_yw_text(impute), "worst")))
		return tc_yw_fail(b->w, impute, "metric.impute: trainctl ranks "
				  "failed trials as the worst; only impute: "
				  "worst can be honoured");
	if (iwr && (!tc_yw_text(iwr) || strcmp(tc_yw_text(iwr), "false")))
		return tc_yw_fail(b->w, iwr, "metric.impute_while_running: "
				  "trainctl's search sees a trial's value when "
				  "it ends; only false can be honoured");
	tc_yw_comment(b->w, "", "W&B metric (its goal defaults to minimize)");
	tc_yw_mark(b->w, tc_yw_pos(k));
	tc_yw_raw(b->w, "metric: {name: ");
	rc = tc_yw_scalar(b->w, name);
	if (rc)
		return rc;
	tc_yw_mark(b->w, tc_yw_pos(goal ? goal : k));
	tc_yw_printf(b->w, ", goal: %s}\n", g);
	return 0;
}

static const char *const top_keys[] = {
	"program", "command", "method", "metric", "parameters",
	"early_terminate", "run_cap", "name", "description", "project",
	"entity", "controller", "kind", "apiVersion", "job", "image_uri",
	"scheduler", "metrics",
};
#define NTOP (sizeof(top_keys) / sizeof(top_keys[0]))

int tc_import_wandb(struct tc_yw *w, const yaml_node_t *root, unsigned flags)
{
	struct wb b = {.w = w};
	yaml_node_t *n[NTOP], *k[NTOP];
	char name[TC_NAME_MAX + 1];
	const char *method;
	int rc;

	rc = tc_yw_keys(w, root, "a W&B sweep", top_keys, NTOP);
	if (rc)
		return rc;
	for (size_t i = 0; i < NTOP; i++)
		n[i] = tc_yw_get(w, root, top_keys[i], &k[i]);
	/* 14..17: W&B features with no trainctl meaning */
	if (k[14] || k[15])
		return tc_yw_fail(w, k[14] ? k[14] : k[15], "%s: W&B Launch "
				  "jobs run on W&B's infrastructure; give the "
				  "training script as program: or command:",
				  k[14] ? "job" : "image_uri");
	if (k[16])
		return tc_yw_fail(w, k[16], "scheduler: trainctl is the "
				  "scheduler; use method: grid, random or "
				  "bayes");
	if (k[17])
		return tc_yw_fail(w, k[17], "metrics: trainctl optimises one "
				  "metric; use metric: {name, goal}");
	if (n[12] && (!tc_yw_text(n[12]) || strcmp(tc_yw_text(n[12]), "sweep")))
		return tc_yw_fail(w, n[12], "kind must be sweep");
	if (n[11]) {
		static const char *const ck[] = {"type"};
		yaml_node_t *t = tc_yw_get(w, n[11], "type", NULL);

		rc = tc_yw_keys(w, n[11], "controller", ck, 1);
		if (rc)
			return rc;
		if (t && (!tc_yw_text(t) || (strcmp(tc_yw_text(t), "local") &&
					     strcmp(tc_yw_text(t), "cloud"))))
			return tc_yw_fail(w, t, "controller.type must be local "
					  "or cloud");
	}
	if (!n[2] || !(method = tc_yw_text(n[2])))
		return tc_yw_fail(w, n[2] ? n[2] : root, "method must be grid, "
				  "random or bayes");
	if (strcmp(method, "grid") && strcmp(method, "random") &&
	    strcmp(method, "bayes"))
		return tc_yw_fail(w, n[2], "method '%.40s': trainctl runs W&B's "
				  "grid, random and bayes (as tpe)%s", method,
				  !strcmp(method, "custom")
					  ? "; a custom method has no "
					    "trainctl meaning"
					  : "");
	b.grid = !strcmp(method, "grid");
	if (!n[4])
		return tc_yw_fail(w, root, "the sweep has no parameters:");
	rc = flatten(&b, n[4], "");
	if (rc)
		goto out;
	if (!b.grid && !n[6]) {
		rc = tc_yw_fail(w, n[2], "a W&B %s search runs until it is "
				"stopped; trainctl needs a number of trials: "
				"add run_cap: N", method);
		goto out;
	}

	/* the file */
	tc_yw_comment(w, "", "Translated from a W&B sweep configuration by "
			     "`trainctl import wandb`.\n`trainctl run` on the "
			     "sweep itself runs exactly this experiment, with "
			     "the\nsame trial ids.");
	if (n[8] && tc_yw_text(n[8])) {
		tc_yw_comment(w, "", "W&B description:");
		tc_yw_comment(w, "", tc_yw_text(n[8]));
	}
	if (n[11])
		tc_yw_comment(w, "", "W&B controller: trainctl itself is the "
				     "controller");
	tc_yw_raw(w, "version: 1\n");
	name[0] = '\0';
	if (n[7] && tc_yw_text(n[7]))
		tc_yw_name(tc_yw_text(n[7]), name);
	if (!name[0]) {
		const char *base = strrchr(w->path, '/');
		char stem[256];
		char *dot;

		snprintf(stem, sizeof(stem), "%s", base ? base + 1 : w->path);
		dot = strrchr(stem, '.');
		if (dot && dot != stem)
			*dot = '\0';
		tc_yw_name(stem, name);
	}
	if (!name[0])
		snprintf(name, sizeof(name), "wandb-sweep");
	if (n[7])
		tc_yw_mark(w, tc_yw_pos(n[7]));
	tc_yw_printf(w, "name: %s", name);
	if (n[7] && tc_yw_text(n[7]) && strcmp(tc_yw_text(n[7]), name)) {
		tc_yw_raw(w, "  ");
		tc_yw_comment(w, "", "W&B name, made a valid experiment name");
	} else {
		tc_yw_raw(w, "\n");
	}

	/* parameters before the command, which needs to know their
	 * values (booleans, JSON) to expand W&B's macros */
	tc_yw_mark(w, tc_yw_pos(k[4]));
	tc_yw_raw(w, "parameters:\n");
	for (size_t i = 0; i < b.np && !rc; i++)
		rc = write_param(&b, &b.p[i]);
	if (!rc)
		rc = write_command(&b, n[1], k[1], n[0], k[0]);
	if (rc)
		goto out;
	if (n[9] || n[10]) {
		tc_yw_comment(w, "", "W&B project and entity, for a program "
				     "that logs to W&B");
		tc_yw_raw(w, "env:\n");
		for (int i = 9; i <= 10; i++) {
			if (!n[i])
				continue;
			if (!tc_yw_text(n[i])) {
				rc = tc_yw_fail(w, n[i], "%s must be a name",
						top_keys[i]);
				goto out;
			}
			tc_yw_mark(w, tc_yw_pos(k[i]));
			tc_yw_raw(w, i == 9 ? "  WANDB_PROJECT: "
					    : "  WANDB_ENTITY: ");
			rc = tc_yw_scalar(w, n[i]);
			if (rc)
				goto out;
			tc_yw_raw(w, "\n");
		}
	}
	tc_yw_mark(w, tc_yw_pos(k[2]));
	tc_yw_raw(w, "search:\n");
	tc_yw_mark(w, tc_yw_pos(n[2]));
	tc_yw_printf(w, "  method: %s", b.grid ? "grid"
					     : !strcmp(method, "random")
						       ? "random"
						       : "tpe");
	tc_yw_printf(w, "%s\n", !strcmp(method, "bayes")
				      ? "  # W&B bayes: trainctl's TPE"
				      : "");
	if (n[6]) {
		long long cap;
		char *end;
		const char *t = tc_yw_text(n[6]);

		cap = t ? strtoll(t, &end, 10) : 0;
		if (!t || !is_int_node(n[6]) || *end || cap < 1) {
			rc = tc_yw_fail(w, n[6], "run_cap must be an integer "
					">= 1");
			goto out;
		}
		tc_yw_mark(w, tc_yw_pos(n[6]));
		tc_yw_printf(w, "  trials: %lld  # W&B run_cap\n", cap);
	}
	if (n[3]) {
		rc = write_metric(&b, k[3], n[3]);
		if (rc)
			goto out;
	} else if (!b.grid && !strcmp(method, "bayes")) {
		rc = tc_yw_fail(w, n[2], "method bayes needs metric: {name, "
				"goal}");
		goto out;
	}
	if (n[5]) {
		if (!n[3]) {
			rc = tc_yw_fail(w, k[5], "early_terminate needs a "
					"metric: to compare trials by");
			goto out;
		}
		rc = write_early_stop(&b, k[5], n[5], flags);
	}
out:
	free(b.p);
	return rc;
}
