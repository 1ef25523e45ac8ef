/*
 * policy.c — cluster policies: the file format, the two built in, and the
 * checks (see policy.h).
 *
 * The file goes through util/yaml.h with a key hook that knows the schema,
 * so an unknown key or rule is refused at its own line and column while
 * the text is read; values are checked afterwards, each at the position of
 * its key (remembered by the hook).  Every scalar arrives as a string (no
 * scalar hook) and numbers are read here, with their end checked.
 */
#include "policy/policy.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/kspec.h"
#include "util/fsutil.h"
#include "util/yaml.h"

/* NRP Nautilus's rules for batch jobs, in the file format: what `--policy
 * nrp` reads (and `--policy strict`, with refuse: true). */
static const char nrp_text[] =
	"# NRP Nautilus: rules for batch Jobs (docs.nationalresearchplatform.org)\n"
	"version: 1\n"
	"name: nrp\n"
	"refuse: false\n"
	"rules:\n"
	"  limits_within: {percent: 20}\n"
	"  limits_equal_above: {jobs: 100}\n"
	"  idle_command:\n"
	"    patterns: [\"sleep infinity\", \"sleep inf\", \"tail -f /dev/null\",\n"
	"               \"while true; do sleep\", \"while :; do sleep\"]\n"
	"  gpu_utilisation: {metric: gpu_util, min_percent: 40}\n";

static const char *const top_keys[] = {"version", "name", "description",
				       "refuse", "rules"};
static const char *const rule_names[] = {"limits_within", "limits_equal_above",
					 "idle_command", "gpu_utilisation"};
static const char *const rule_keys[][3] = {
	{"percent", NULL, NULL},
	{"jobs", NULL, NULL},
	{"patterns", NULL, NULL},
	{"metric", "min_percent", NULL},
};
#define NRULES 4

struct rd {
	const char *path;
	int rule;               /* the rule whose settings are being read */
	int in_rules;           /* the last top-level key was rules: */
	struct tc_pos top[5];   /* of each top-level key */
	struct tc_pos rules[NRULES];
	int has_rule[NRULES];
};

static int index_of(const char *const *names, size_t n, const char *s,
		    size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strlen(names[i]) == len &&
		    !memcmp(names[i], s, len))
			return (int)i;
	return -1;
}

static int unknown(struct tc_yaml_fail *f, const struct tc_yaml_scalar *k,
		   const char *what, const char *const *names, size_t n)
{
	char list[256] = "";

	for (size_t i = 0; i < n; i++)
		if (names[i]) {
			size_t l = strlen(list);

			snprintf(list + l, sizeof(list) - l, "%s%s",
				 l ? ", " : "", names[i]);
		}
	f->code = TC_YAML_HOOK;
	f->line = k->line;
	f->col = k->col;
	snprintf(f->what, sizeof(f->what), "unknown %s '%.*s'; known: %s",
		 what, (int)(k->len < 60 ? k->len : 60), k->text, list);
	return -1;
}

static int on_key(void *ctx, int depth, const struct tc_yaml_scalar *k,
		  struct tc_yaml_fail *f)
{
	struct rd *r = ctx;
	struct tc_pos pos = {k->line, k->col};
	int i;

	if (depth == 1) {
		if ((i = index_of(top_keys, 5, k->text, k->len)) < 0)
			return unknown(f, k, "key", top_keys, 5);
		r->top[i] = pos;
		r->in_rules = i == 4;
		return 0;
	}
	if (depth == 2) {
		if (!r->in_rules)
			return unknown(f, k, "key", top_keys, 0);
		if ((i = index_of(rule_names, NRULES, k->text, k->len)) < 0)
			return unknown(f, k, "rule", rule_names, NRULES);
		r->rule = i;
		r->rules[i] = pos;
		r->has_rule[i] = 1;
		return 0;
	}
	if (depth == 3 && r->in_rules && r->rule >= 0 &&
	    index_of(rule_keys[r->rule], 3, k->text, k->len) < 0) {
		char what[64];

		snprintf(what, sizeof(what), "setting of %s",
			 rule_names[r->rule]);
		return unknown(f, k, what, rule_keys[r->rule], 3);
	}
	return 0;
}

static int bad_at(struct tc_error *err, const char *path, struct tc_pos p,
		  const char *msg)
{
	return tc_error_at(err, TC_ERR_SPEC, path, p.line ? p.line : 1,
			   p.col ? p.col : 1, "%s", msg);
}

/* A number written as a string (every scalar is one here). */
static int number(json_t *v, double lo, double *out)
{
	const char *s = json_string_value(v);
	char *end;
	double d;

	if (!s || !*s)
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (*end || errno || !isfinite(d) || d < lo)
		return -1;
	*out = d;
	return 0;
}

int tc_policy_parse(const char *path, const char *text, size_t len,
		    struct tc_policy **out, struct tc_error *err)
{
	struct tc_yaml_opts o = {0};
	struct tc_yaml_fail f;
	struct tc_policy *p;
	struct rd r = {0};
	json_t *root = NULL, *rules, *v;
	const char *s;
	int rc;

	*out = NULL;
	r.path = path;
	r.rule = -1;
	o.max_depth = 16;
	o.max_nodes = 10000;
	o.max_anchors = 100;
	o.strict_keys = 1;
	o.node_index = -1;
	o.key = on_key;
	o.ctx = &r;
	memset(&f, 0, sizeof(f));
	if ((rc = tc_yaml_to_json(text, len, &o, &root, &f))) {
		if (rc == TC_YAML_NOMEM)
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		return tc_error_at(err, TC_ERR_SPEC, path, f.line ? f.line : 1,
				   f.col ? f.col : 1, "%s%s",
				   rc == TC_YAML_DUPLICATE ? "duplicate key " : "",
				   f.what);
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return bad_at(err, path, (struct tc_pos){1, 1},
			      "a policy is a mapping: version: 1, name:, "
			      "rules: {...}");
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		json_decref(root);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	p->path = path;
	p->limits_within = -1;
	p->equal_above = -1;
	rc = 0;
	s = json_string_value(json_object_get(root, "version"));
	if (!s || strcmp(s, "1"))
		rc = bad_at(err, path, r.top[0],
			    "version: 1 is required (the policy format's "
			    "version)");
	if (!rc && !(s = json_string_value(json_object_get(root, "name"))))
		rc = bad_at(err, path, r.top[1], "name: is required, a string");
	if (!rc && !(p->name = strdup(s)))
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if (!rc && (v = json_object_get(root, "refuse"))) {
		s = json_string_value(v);
		if (s && !strcmp(s, "true"))
			p->refuse = 1;
		else if (!s || strcmp(s, "false"))
			rc = bad_at(err, path, r.top[3],
				    "refuse must be true or false");
	}
	rules = json_object_get(root, "rules");
	if (!rc && rules && !json_is_object(rules))
		rc = bad_at(err, path, r.top[4],
			    "rules must be a mapping of rule names to their "
			    "settings");
	for (int i = 0; !rc && i < NRULES; i++) {
		json_t *set = json_object_get(rules, rule_names[i]);
		double d = 0;

		if (!r.has_rule[i])
			continue;
		if (!json_is_object(set)) {
			rc = bad_at(err, path, r.rules[i],
				    "a rule's settings are a mapping, e.g. "
				    "limits_within: {percent: 20}");
			break;
		}
		switch (i) {
		case 0:
			if (number(json_object_get(set, "percent"), 0, &d))
				rc = bad_at(err, path, r.rules[i],
					    "limits_within needs percent: a "
					    "number >= 0");
			p->limits_within = d;
			break;
		case 1:
			if (number(json_object_get(set, "jobs"), 0, &d) ||
			    d != floor(d) || d > 1e9)
				rc = bad_at(err, path, r.rules[i],
					    "limits_equal_above needs jobs: an "
					    "integer >= 0");
			p->equal_above = (long long)d;
			break;
		case 2: {
			json_t *pats = json_object_get(set, "patterns"), *e;
			size_t k;

			if (!json_is_array(pats) || !json_array_size(pats)) {
				rc = bad_at(err, path, r.rules[i],
					    "idle_command needs patterns: a "
					    "list of texts, e.g. [\"sleep "
					    "infinity\"]");
				break;
			}
			p->idle = calloc(json_array_size(pats), sizeof(char *));
			if (!p->idle) {
				rc = tc_error_set(err, TC_ERR_NOMEM,
						  "out of memory");
				break;
			}
			json_array_foreach(pats, k, e) {
				if (!json_string_value(e) ||
				    !*json_string_value(e)) {
					rc = bad_at(err, path, r.rules[i],
						    "idle_command: each pattern "
						    "is a non-empty text");
					break;
				}
				if (!(p->idle[k] = strdup(json_string_value(e)))) {
					rc = tc_error_set(err, TC_ERR_NOMEM,
							  "out of memory");
					break;
				}
				p->nidle = k + 1;
			}
			break;
		}
		case 3:
			s = json_string_value(json_object_get(set, "metric"));
			if (!s || !*s ||
			    number(json_object_get(set, "min_percent"), 0, &d) ||
			    d > 100) {
				rc = bad_at(err, path, r.rules[i],
					    "gpu_utilisation needs metric: (the "
					    "name a trial reports it as) and "
					    "min_percent: 0 to 100");
				break;
			}
			p->gpu_min = d;
			if (!(p->gpu_metric = strdup(s)))
				rc = tc_error_set(err, TC_ERR_NOMEM,
						  "out of memory");
			break;
		}
	}
	json_decref(root);
	if (rc) {
		tc_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int tc_policy_load(const char *which, struct tc_policy **out,
		   struct tc_error *err)
{
	char *text;
	size_t len;
	int rc;

	if (!strcmp(which, "nrp") || !strcmp(which, "strict")) {
		rc = tc_policy_parse(!strcmp(which, "nrp") ? "<built-in nrp>"
							   : "<built-in strict>",
				     nrp_text, sizeof(nrp_text) - 1, out, err);
		if (!rc && !strcmp(which, "strict")) {
			(*out)->refuse = 1;
			free((*out)->name);
			if (!((*out)->name = strdup("strict"))) {
				tc_policy_free(*out);
				*out = NULL;
				return tc_error_set(err, TC_ERR_NOMEM,
						    "out of memory");
			}
		}
		return rc;
	}
	if (tc_read_file(which, 1 << 20, &text, &len) != 0)
		return tc_error_set(err, TC_ERR_USAGE,
				    "--policy %s: %s (give nrp, strict or a "
				    "policy file)",
				    which, strerror(errno));
	rc = tc_policy_parse(which, text, len, out, err);
	free(text);
	return rc;
}

void tc_policy_free(struct tc_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nidle; i++)
		free(p->idle[i]);
	free(p->idle);
	free(p->name);
	free(p->gpu_metric);
	free(p);
}

/* ---- the checks ----------------------------------------------------- */

struct found {
	struct tc_finding *v;
	size_t n, cap;
};

__attribute__((format(printf, 4, 5))) static int
add(struct found *f, const char *rule, struct tc_pos pos, const char *fmt,
    ...)
{
	va_list ap;

	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 4;
		struct tc_finding *v = realloc(f->v, cap * sizeof(*v));

		if (!v)
			return -1;
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n].rule = rule;
	f->v[f->n].pos = pos;
	va_start(ap, fmt);
	vsnprintf(f->v[f->n].msg, sizeof(f->v[f->n].msg), fmt, ap);
	va_end(ap);
	f->n++;
	return 0;
}

/* The command as one line (argv joined by spaces), or the script. */
static char *command_text(const struct tc_spec *spec)
{
	size_t n = 1;
	char *s;

	if (spec->script.text)
		return strdup(spec->script.text);
	for (size_t i = 0; i < spec->ncommand; i++)
		n += strlen(spec->command[i].text) + 1;
	if (!(s = malloc(n)))
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < spec->ncommand; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, spec->command[i].text);
	}
	return s;
}

static int check_limits(const struct tc_policy *p, const struct tc_spec *spec,
			struct found *f)
{
	const struct tc_kspec *ks = spec->k8s;
	struct tc_pos pos = ks->pos;
	double req[2] = {spec->resources.cpu, (double)spec->resources.memory};
	double lim[2] = {ks->limits.cpu, (double)ks->limits.memory};
	static const char *const what[2] = {"cpu", "memory"};
	int many = p->equal_above >= 0 && spec->run.parallel > p->equal_above;

	for (int k = 0; k < 2; k++) {
		if (lim[k] < 0 || req[k] <= 0)
			continue; /* limit = request, or no request */
		if (many && lim[k] != req[k]) {
			if (add(f, "limits_equal_above", pos,
				"kubernetes.limits.%s differs from "
				"resources.%s while run.parallel is %d (more "
				"than %lld Jobs at once): limits must equal "
				"requests; remove kubernetes.limits.%s",
				what[k], what[k], spec->run.parallel,
				p->equal_above, what[k]))
				return -1;
		} else if (p->limits_within >= 0 &&
			   lim[k] > req[k] * (1 + p->limits_within / 100) *
					    (1 + 1e-9)) {
			if (add(f, "limits_within", pos,
				"kubernetes.limits.%s is %.0f%% above "
				"resources.%s (at most %g%% allowed): raise "
				"the request or lower the limit",
				what[k], (lim[k] / req[k] - 1) * 100, what[k],
				p->limits_within))
				return -1;
		}
	}
	return 0;
}

int tc_policy_check(const struct tc_policy *p, const struct tc_spec *spec,
		    struct tc_finding **out, size_t *n, struct tc_error *err)
{
	struct found f = {0};
	int rc = check_limits(p, spec, &f);

	if (!rc && p->idle) {
		char *cmd = command_text(spec);
		struct tc_pos pos = spec->script.text
					    ? spec->script.pos
					    : spec->ncommand ? spec->command[0].pos
							     : (struct tc_pos){1, 1};

		if (!cmd)
			rc = -1;
		for (size_t i = 0; !rc && i < p->nidle; i++)
			if (strstr(cmd, p->idle[i])) {
				rc = add(&f, "idle_command", pos,
					 "the %s contains '%s': a Job must "
					 "do its work and end, not hold its "
					 "resources idle",
					 spec->script.text ? "script" : "command",
					 p->idle[i]);
				break;
			}
		free(cmd);
	}
	if (rc) {
		free(f.v);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	*out = f.v;
	*n = f.n;
	return 0;
}

int tc_policy_gpu_idle(const struct tc_policy *p, int reported,
		       double max_value)
{
	return p->gpu_metric && reported && max_value < p->gpu_min;
}
