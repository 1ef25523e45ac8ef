/*
 * import_katib.c — a Katib Experiment (kubeflow.org/v1beta1) as an
 * experiment file (see import.h).
 *
 *   metadata.name                 name (made a valid one)
 *   metadata.namespace            kubernetes.namespace
 *   spec.objective {type,         metric {goal, name}; additional metrics
 *     objectiveMetricName,        are collected anyway (every name=value
 *     additionalMetricNames}      line, Katib's StdOut convention too)
 *   spec.algorithm                search.method: random, grid, tpe
 *     (random_state setting:      (bayesianoptimization as tpe), and
 *     search.seed)                hyperband as random search with
 *                                 early_stop {method: hyperband}
 *   spec.earlyStopping medianstop early_stop {method: median}
 *   spec.parameters               parameters: double → uniform,
 *                                 log_uniform, normal or log_normal by
 *                                 feasibleSpace.distribution (step: q_ or,
 *                                 for grid, the values), int → int_uniform,
 *                                 categorical/discrete → values
 *   maxTrialCount, parallelTrialCount, maxFailedTrialCount
 *                                 search.trials, run.parallel,
 *                                 run.max_failures
 *   spec.trialTemplate            command (the primary container's command
 *                                 and args, ${trialParameters.x} through
 *                                 trialParameters to {{parameter}},
 *                                 ${trialSpec.Name} to {{trial_id}}), its
 *                                 image, resources and literal env
 *
 * Anything else is an error at its position.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/internal.h"

#define GRID_VALUES_MAX 100000

struct kt {
	struct tc_yw *w;
	const char *method;    /* trainctl's */
	yaml_node_t *tparams;  /* trialTemplate.trialParameters */
};

/* A Katib number (written as a string or not) of node n. */
static int knum(struct kt *k, const yaml_node_t *n, const char *what,
		double *out, int *is_int)
{
	const char *s = tc_yw_text(n);
	struct tc_value v;

	if (!s || !*s)
		return tc_yw_fail(k->w, n, "%s must be a number", what);
	tc_spec_type_plain(s, strlen(s), &v);
	if ((v.type != TC_V_INT && v.type != TC_V_FLOAT) ||
	    (v.type == TC_V_FLOAT && !isfinite(v.f)))
		return tc_yw_fail(k->w, n, "%s must be a number (got '%.40s')",
				  what, s);
	*out = v.type == TC_V_INT ? (double)v.i : v.f;
	if (is_int)
		*is_int = v.type == TC_V_INT;
	return 0;
}

/* A Katib number written plain, marked with its position. */
static void write_num(struct kt *k, const yaml_node_t *n)
{
	const char *s = tc_yw_text(n);
	struct tc_value v;

	tc_yw_mark(k->w, tc_yw_pos(n));
	if (!s) {
		tc_yw_raw(k->w, "null");
		return;
	}
	tc_spec_type_plain(s, strlen(s), &v);
	if (v.type == TC_V_INT || v.type == TC_V_FLOAT)
		tc_yw_raw(k->w, s);
	else /* the loader says what is wrong, at this position */
		tc_yw_string(k->w, s);
}

static int write_param(struct kt *k, const yaml_node_t *p)
{
	static const char *const pkeys[] = {"name", "parameterType",
					    "feasibleSpace"};
	static const char *const fkeys[] = {"min", "max", "step", "list",
					    "distribution"};
	yaml_node_t *name = tc_yw_get(k->w, p, "name", NULL);
	yaml_node_t *type = tc_yw_get(k->w, p, "parameterType", NULL);
	yaml_node_t *fs = tc_yw_get(k->w, p, "feasibleSpace", NULL);
	yaml_node_t *min, *max, *step, *list, *dist;
	const char *t, *d = "uniform";
	char what[200];
	int rc;

	rc = tc_yw_keys(k->w, p, "a Katib parameter", pkeys, 3);
	if (rc)
		return rc;
	if (!tc_yw_text(name))
		return tc_yw_fail(k->w, name ? name : p, "a parameter needs a "
				  "name");
	snprintf(what, sizeof(what), "parameter %.60s", tc_yw_text(name));
	if (!tc_yw_param_name(tc_yw_text(name)))
		return tc_yw_fail(k->w, name, "%s: a name starts with a letter "
				  "or '_' and has only letters, digits, '_', "
				  "'.' and '-'", what);
	if (!(t = tc_yw_text(type)))
		return tc_yw_fail(k->w, type ? type : p, "%s needs "
				  "parameterType: double, int, categorical or "
				  "discrete", what);
	if (!fs)
		return tc_yw_fail(k->w, p, "%s needs a feasibleSpace", what);
	rc = tc_yw_keys(k->w, fs, "feasibleSpace", fkeys, 5);
	if (rc)
		return rc;
	min = tc_yw_get(k->w, fs, "min", NULL);
	max = tc_yw_get(k->w, fs, "max", NULL);
	step = tc_yw_get(k->w, fs, "step", NULL);
	list = tc_yw_get(k->w, fs, "list", NULL);
	dist = tc_yw_get(k->w, fs, "distribution", NULL);

	tc_yw_raw(k->w, "  ");
	tc_yw_mark(k->w, tc_yw_pos(name));
	tc_yw_printf(k->w, "%s: ", tc_yw_text(name));
	if (!strcmp(t, "categorical") || !strcmp(t, "discrete")) {
		int discrete = !strcmp(t, "discrete");

		if (!list || list->type != YAML_SEQUENCE_NODE ||
		    list->data.sequence.items.top ==
			    list->data.sequence.items.start)
			return tc_yw_fail(k->w, list ? list : fs, "%s: %s needs "
					  "feasibleSpace.list", what, t);
		if (min || max || step || dist)
			return tc_yw_fail(k->w, min ? min : max ? max
						  : step ? step : dist,
					  "%s: a %s parameter takes list only",
					  what, t);
		tc_yw_mark(k->w, tc_yw_pos(list));
		tc_yw_raw(k->w, "{values: [");
		for (yaml_node_item_t *it = list->data.sequence.items.start;
		     it < list->data.sequence.items.top; it++) {
			yaml_node_t *e = tc_yw_node(k->w, *it);
			double x;

			if (!tc_yw_text(e))
				return tc_yw_fail(k->w, e ? e : list, "%s: list "
						  "entries must be values",
						  what);
			if (it > list->data.sequence.items.start)
				tc_yw_raw(k->w, ", ");
			if (discrete) {
				rc = knum(k, e, what, &x, NULL);
				if (rc)
					return rc;
				write_num(k, e);
			} else {
				tc_yw_mark(k->w, tc_yw_pos(e));
				tc_yw_string(k->w, tc_yw_text(e));
			}
		}
		tc_yw_printf(k->w, "]}  # Katib %s\n", t);
		return 0;
	}
	if (strcmp(t, "double") && strcmp(t, "int"))
		return tc_yw_fail(k->w, type, "%s: parameterType must be double, "
				  "int, categorical or discrete", what);
	if (list)
		return tc_yw_fail(k->w, list, "%s: list goes with categorical "
				  "and discrete parameters", what);
	if (!min || !max)
		return tc_yw_fail(k->w, fs, "%s needs feasibleSpace min and max",
				  what);
	{
		double lo, hi, q = 0;
		int ilo, ihi, iq = 1, isint = !strcmp(t, "int");

		rc = knum(k, min, what, &lo, &ilo);
		if (!rc)
			rc = knum(k, max, what, &hi, &ihi);
		if (!rc && step)
			rc = knum(k, step, what, &q, &iq);
		if (rc)
			return rc;
		if (isint && (!ilo || !ihi || !iq))
			return tc_yw_fail(k->w, !ilo ? min : !ihi ? max : step,
					  "%s: an int parameter takes integers",
					  what);
		if (step && !(q > 0))
			return tc_yw_fail(k->w, step, "%s: step must be > 0",
					  what);
		if (dist) {
			const char *ds = tc_yw_text(dist);

			if (!ds || (strcmp(ds, "uniform") &&
				    strcmp(ds, "logUniform") &&
				    strcmp(ds, "normal") &&
				    strcmp(ds, "logNormal")))
				return tc_yw_fail(k->w, dist, "%s: distribution "
						  "must be uniform, logUniform, "
						  "normal or logNormal", what);
			d = ds;
		}
		/* A grid (or an int with a step) runs over the points. */
		if ((!strcmp(k->method, "grid") || (isint && step)) &&
		    !strcmp(d, "uniform")) {
			double count;

			if (!step && !isint)
				return tc_yw_fail(k->w, fs, "%s: a grid over a "
						  "double needs feasibleSpace."
						  "step", what);
			if (!step)
				q = 1;
			count = floor((hi - lo) / q + 1e-9) + 1;
			if (!(count >= 1) || count > GRID_VALUES_MAX)
				return tc_yw_fail(k->w, fs, "%s: min, max and "
						  "step give %.0f points", what,
						  count);
			tc_yw_mark(k->w, tc_yw_pos(fs));
			tc_yw_raw(k->w, "{values: [");
			for (long long i = 0; i < (long long)count; i++) {
				char buf[40];

				if (isint)
					snprintf(buf, sizeof(buf), "%lld",
						 (long long)lo + i * (long long)q);
				else
					tc_yw_double(lo + (double)i * q, buf,
						     sizeof(buf));
				tc_yw_printf(k->w, "%s%s", i ? ", " : "", buf);
			}
			tc_yw_printf(k->w, "]}  # Katib %s, min to max by "
				     "step\n", t);
			return 0;
		}
		if (!strcmp(k->method, "grid"))
			return tc_yw_fail(k->w, dist, "%s: a grid cannot run "
					  "over a %s distribution", what, d);
		tc_yw_mark(k->w, tc_yw_pos(fs));
		if (!strcmp(d, "normal") || !strcmp(d, "logNormal")) {
			/* Katib: the mean is the middle of [min, max], which
			 * holds six standard deviations (in log space for
			 * logNormal) */
			double a = lo, b = hi;
			char mu[40], sigma[40];

			if (!strcmp(d, "logNormal")) {
				if (!(lo > 0))
					return tc_yw_fail(k->w, min, "%s: "
							  "logNormal needs min > "
							  "0", what);
				a = log(lo);
				b = log(hi);
			}
			tc_yw_double((a + b) / 2, mu, sizeof(mu));
			tc_yw_double((b - a) / 6, sigma, sizeof(sigma));
			tc_yw_printf(k->w, "{distribution: %s%s, mu: %s, "
				     "sigma: %s",
				     step || isint ? "q_" : "",
				     !strcmp(d, "normal") ? "normal"
							  : "log_normal",
				     mu, sigma);
		} else {
			if (!strcmp(d, "logUniform") && !(lo > 0))
				return tc_yw_fail(k->w, min, "%s: logUniform "
						  "needs min > 0", what);
			tc_yw_printf(k->w, "{distribution: %s",
				     !strcmp(d, "logUniform")
					     ? (step || isint
							? "q_log_uniform_values"
							: "log_uniform")
				     : isint ? "int_uniform"
				     : step  ? "q_uniform"
					     : "uniform");
			tc_yw_raw(k->w, ", min: ");
			write_num(k, min);
			tc_yw_raw(k->w, ", max: ");
			write_num(k, max);
		}
		if (step) {
			tc_yw_raw(k->w, ", q: ");
			write_num(k, step);
		} else if (isint && strcmp(d, "uniform")) {
			tc_yw_raw(k->w, ", q: 1"); /* an int stays an int */
		}
		tc_yw_printf(k->w, "}  # Katib %s%s%s\n", t, dist ? ", " : "",
			     dist ? d : "");
	}
	return 0;
}

/* ${trialParameters.x} → {{parameter x references}}, ${trialSpec.Name}
 * → {{trial_id}}, into out. */
static int substitute(struct kt *k, const yaml_node_t *n, char *out,
		      size_t len)
{
	const char *s = tc_yw_text(n);
	size_t o = 0;

	if (!s)
		return tc_yw_fail(k->w, n, "command and args must be strings");
	if (strstr(s, "{{"))
		return tc_yw_fail(k->w, n, "'{{' would be read as a trainctl "
				  "template");
	while (*s) {
		char rep[200];
		const char *e;

		rep[0] = '\0';
		if (!strncmp(s, "${", 2) && (e = strchr(s, '}'))) {
			size_t nl = (size_t)(e - s - 2);

			if (nl > 14 && !strncmp(s + 2, "trialParameters.", 16)) {
				const char *tp = s + 18;
				size_t tl = (size_t)(e - tp);
				const char *ref = NULL;

				if (k->tparams &&
				    k->tparams->type == YAML_SEQUENCE_NODE)
					for (yaml_node_item_t *it =
						     k->tparams->data.sequence
							     .items.start;
					     it < k->tparams->data.sequence.items
							  .top;
					     it++) {
						yaml_node_t *q =
							tc_yw_node(k->w, *it);
						const char *nm = tc_yw_text(
							tc_yw_get(k->w, q,
								  "name", NULL));

						if (nm && strlen(nm) == tl &&
						    !strncmp(nm, tp, tl))
							ref = tc_yw_text(tc_yw_get(
								k->w, q,
								"reference",
								NULL));
					}
				if (!ref)
					return tc_yw_fail(k->w, n, "%.*s: no "
							  "trialParameters entry "
							  "of that name with a "
							  "reference",
							  (int)(e - s + 1), s);
				if (!strcmp(ref, "${trialSpec.Name}"))
					snprintf(rep, sizeof(rep),
						 "{{trial_id}}");
				else
					snprintf(rep, sizeof(rep), "{{%s}}", ref);
			} else if (!strncmp(s, "${trialSpec.Name}", 17)) {
				snprintf(rep, sizeof(rep), "{{trial_id}}");
			} else {
				return tc_yw_fail(k->w, n, "%.*s: trainctl "
						  "knows ${trialParameters.NAME} "
						  "and ${trialSpec.Name}",
						  (int)(e - s + 1), s);
			}
			if (o + strlen(rep) + 1 > len)
				return tc_yw_fail(k->w, n, "too long");
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
			s = e + 1;
			continue;
		}
		if (o + 2 > len)
			return tc_yw_fail(k->w, n, "too long");
		out[o++] = *s++;
	}
	out[o] = '\0';
	return 0;
}

static int write_list_cmd(struct kt *k, const yaml_node_t *l)
{
	char buf[4096];

	if (!l)
		return 0;
	if (l->type != YAML_SEQUENCE_NODE)
		return tc_yw_fail(k->w, l, "command and args must be lists");
	for (yaml_node_item_t *it = l->data.sequence.items.start;
	     it < l->data.sequence.items.top; it++) {
		yaml_node_t *e = tc_yw_node(k->w, *it);
		int rc = substitute(k, e, buf, sizeof(buf));

		if (rc)
			return rc;
		tc_yw_raw(k->w, "  - ");
		tc_yw_mark(k->w, tc_yw_pos(e));
		tc_yw_string(k->w, buf);
		tc_yw_raw(k->w, "\n");
	}
	return 0;
}

/* trialTemplate: the primary container's command, image, resources and
 * env. */
static int write_trial(struct kt *k, const yaml_node_t *tk,
		       const yaml_node_t *tt, const yaml_node_t *ns)
{
	static const char *const ttk[] = {"primaryContainerName",
					  "trialParameters", "trialSpec",
					  "successCondition",
					  "failureCondition"};
	static const char *const tsk[] = {"apiVersion", "kind", "spec"};
	static const char *const jk[] = {"template"};
	static const char *const tk2[] = {"spec", "metadata"};
	static const char *const pk[] = {"containers", "restartPolicy"};
	static const char *const ck[] = {"name", "image", "command", "args",
					 "resources", "env"};
	yaml_node_t *ts, *js, *tpl, *ps, *cs, *c = NULL, *v;
	const char *primary;
	int rc;

	rc = tc_yw_keys(k->w, tt, "trialTemplate", ttk, 5);
	if (rc)
		return rc;
	k->tparams = tc_yw_get(k->w, tt, "trialParameters", NULL);
	if (k->tparams) {
		static const char *const tpk[] = {"name", "reference",
						  "description"};

		if (k->tparams->type != YAML_SEQUENCE_NODE)
			return tc_yw_fail(k->w, k->tparams, "trialParameters "
					  "must be a list");
		for (yaml_node_item_t *it = k->tparams->data.sequence.items.start;
		     it < k->tparams->data.sequence.items.top; it++) {
			rc = tc_yw_keys(k->w, tc_yw_node(k->w, *it),
					"a trial parameter", tpk, 3);
			if (rc)
				return rc;
		}
	}
	ts = tc_yw_get(k->w, tt, "trialSpec", NULL);
	if (!ts)
		return tc_yw_fail(k->w, tt, "trialTemplate needs a trialSpec "
				  "(trainctl reads an inline batch/v1 Job)");
	rc = tc_yw_keys(k->w, ts, "trialSpec", tsk, 3);
	if (rc)
		return rc;
	if (!tc_yw_text(tc_yw_get(k->w, ts, "kind", NULL)) ||
	    strcmp(tc_yw_text(tc_yw_get(k->w, ts, "kind", NULL)), "Job"))
		return tc_yw_fail(k->w, ts, "trialSpec: trainctl reads a "
				  "batch/v1 Job");
	if (!(js = tc_yw_get(k->w, ts, "spec", NULL)) ||
	    (rc = tc_yw_keys(k->w, js, "trialSpec.spec", jk, 1)))
		return js ? rc : tc_yw_fail(k->w, ts, "trialSpec needs spec");
	if (!(tpl = tc_yw_get(k->w, js, "template", NULL)) ||
	    (rc = tc_yw_keys(k->w, tpl, "the Job's template", tk2, 2)))
		return tpl ? rc : tc_yw_fail(k->w, js, "the Job needs a "
					     "template");
	if ((v = tc_yw_get(k->w, tpl, "metadata", NULL)))
		return tc_yw_fail(k->w, v, "the pod template's metadata "
				  "(labels, annotations): write them as "
				  "kubernetes.labels or kubernetes.podTemplate "
				  "in the experiment file");
	if (!(ps = tc_yw_get(k->w, tpl, "spec", NULL)) ||
	    (rc = tc_yw_keys(k->w, ps, "the pod spec", pk, 2)))
		return ps ? rc : tc_yw_fail(k->w, tpl, "the template needs a "
					    "spec");
	cs = tc_yw_get(k->w, ps, "containers", NULL);
	if (!cs || cs->type != YAML_SEQUENCE_NODE ||
	    cs->data.sequence.items.top == cs->data.sequence.items.start)
		return tc_yw_fail(k->w, cs ? cs : ps, "the pod spec needs "
				  "containers");
	primary = tc_yw_text(tc_yw_get(k->w, tt, "primaryContainerName", NULL));
	for (yaml_node_item_t *it = cs->data.sequence.items.start;
	     it < cs->data.sequence.items.top; it++) {
		yaml_node_t *e = tc_yw_node(k->w, *it);
		const char *nm = tc_yw_text(tc_yw_get(k->w, e, "name", NULL));

		if (!primary || (nm && !strcmp(nm, primary))) {
			if (c)
				return tc_yw_fail(k->w, e, "several containers: "
						  "trainctl runs one command; "
						  "name it with "
						  "primaryContainerName");
			c = e;
		} else {
			return tc_yw_fail(k->w, e, "a second container: "
					  "trainctl runs one command per "
					  "trial");
		}
	}
	if (!c)
		return tc_yw_fail(k->w, cs, "no container named %.60s", primary);
	rc = tc_yw_keys(k->w, c, "the container", ck, 6);
	if (rc)
		return rc;
	if (!tc_yw_get(k->w, c, "command", NULL) &&
	    !tc_yw_get(k->w, c, "args", NULL))
		return tc_yw_fail(k->w, c, "the container needs command (its "
				  "image's entrypoint is not known here)");
	tc_yw_comment(k->w, "", "Katib trialTemplate: the primary container's "
				"command and args");
	tc_yw_mark(k->w, tc_yw_pos(tk));
	tc_yw_raw(k->w, "command:\n");
	rc = write_list_cmd(k, tc_yw_get(k->w, c, "command", NULL));
	if (!rc)
		rc = write_list_cmd(k, tc_yw_get(k->w, c, "args", NULL));
	if (rc)
		return rc;
	if ((v = tc_yw_get(k->w, c, "env", NULL))) {
		static const char *const ek[] = {"name", "value"};

		if (v->type != YAML_SEQUENCE_NODE)
			return tc_yw_fail(k->w, v, "env must be a list");
		tc_yw_raw(k->w, "env:\n");
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			yaml_node_t *e = tc_yw_node(k->w, *it);
			yaml_node_t *en = tc_yw_get(k->w, e, "name", NULL);
			yaml_node_t *ev = tc_yw_get(k->w, e, "value", NULL);
			char buf[4096];

			if ((rc = tc_yw_keys(k->w, e, "an env entry (trainctl "
					     "translates literal values)",
					     ek, 2)))
				return rc;
			if (!tc_yw_text(en) || !ev)
				return tc_yw_fail(k->w, e, "an env entry needs "
						  "name and value");
			if ((rc = substitute(k, ev, buf, sizeof(buf))))
				return rc;
			tc_yw_raw(k->w, "  ");
			tc_yw_mark(k->w, tc_yw_pos(en));
			tc_yw_string(k->w, tc_yw_text(en));
			tc_yw_raw(k->w, ": ");
			tc_yw_mark(k->w, tc_yw_pos(ev));
			tc_yw_string(k->w, buf);
			tc_yw_raw(k->w, "\n");
		}
	}
	if ((v = tc_yw_get(k->w, c, "resources", NULL))) {
		static const char *const rk[] = {"limits", "requests"};
		static const char *const qk[] = {"cpu", "memory",
						 "nvidia.com/gpu"};
		yaml_node_t *src;

		if ((rc = tc_yw_keys(k->w, v, "resources", rk, 2)))
			return rc;
		/* trainctl's requests equal its limits: the requests when
		 * given, else the limits */
		src = tc_yw_get(k->w, v, "requests", NULL);
		if (!src)
			src = tc_yw_get(k->w, v, "limits", NULL);
		if (src) {
			if ((rc = tc_yw_keys(k->w, src, "resources", qk, 3)))
				return rc;
			tc_yw_mark(k->w, tc_yw_pos(src));
			tc_yw_raw(k->w, "resources: {");
			for (int i = 0, first = 1; i < 3; i++) {
				yaml_node_t *q = tc_yw_get(k->w, src, qk[i],
							   NULL);

				if (!q)
					continue;
				if (!tc_yw_text(q))
					return tc_yw_fail(k->w, q, "a quantity "
							  "must be a value");
				tc_yw_printf(k->w, "%s%s: ", first ? "" : ", ",
					     i == 2 ? "gpu" : qk[i]);
				first = 0;
				rc = tc_yw_scalar(k->w, q);
				if (rc)
					return rc;
			}
			tc_yw_raw(k->w, "}\n");
		}
	}
	{
		yaml_node_t *img = tc_yw_get(k->w, c, "image", NULL);

		if (img || ns) {
			tc_yw_comment(k->w, "", "the trial's image and namespace, "
					       "for --backend kubernetes");
			tc_yw_raw(k->w, "kubernetes:\n");
			if (ns) {
				tc_yw_raw(k->w, "  namespace: ");
				rc = tc_yw_scalar(k->w, ns);
				if (rc)
					return rc;
				tc_yw_raw(k->w, "\n");
			}
			if (img) {
				tc_yw_raw(k->w, "  image: ");
				rc = tc_yw_scalar(k->w, img);
				if (rc)
					return rc;
				tc_yw_raw(k->w, "\n");
			}
		}
	}
	return 0;
}

/* algorithmSettings / earlyStopping settings: name → value node. */
static yaml_node_t *setting(struct kt *k, const yaml_node_t *list,
			    const char *name)
{
	if (!list || list->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *it = list->data.sequence.items.start;
	     it < list->data.sequence.items.top; it++) {
		yaml_node_t *e = tc_yw_node(k->w, *it);
		const char *nm = tc_yw_text(tc_yw_get(k->w, e, "name", NULL));

		if (nm && !strcmp(nm, name))
			return tc_yw_get(k->w, e, "value", NULL);
	}
	return NULL;
}

/* Every setting one of names. */
static int check_settings(struct kt *k, const yaml_node_t *list,
			  const char *what, const char *const *names, size_t n)
{
	static const char *const sk[] = {"name", "value"};

	if (!list)
		return 0;
	if (list->type != YAML_SEQUENCE_NODE)
		return tc_yw_fail(k->w, list, "%s must be a list", what);
	for (yaml_node_item_t *it = list->data.sequence.items.start;
	     it < list->data.sequence.items.top; it++) {
		yaml_node_t *e = tc_yw_node(k->w, *it);
		yaml_node_t *nn = tc_yw_get(k->w, e, "name", NULL);
		const char *nm = tc_yw_text(nn);
		size_t i;
		int rc = tc_yw_keys(k->w, e, what, sk, 2);

		if (rc)
			return rc;
		for (i = 0; nm && i < n; i++)
			if (!strcmp(names[i], nm))
				break;
		if (!nm || i == n)
			return tc_yw_fail(k->w, nn ? nn : e, "%s: trainctl "
					  "cannot honour setting '%.40s'%s%s",
					  what, nm ? nm : "?",
					  n ? "; it reads " : "",
					  n ? names[0] : "");
	}
	return 0;
}

static const char *const spec_keys[] = {
	"objective", "algorithm", "earlyStopping", "parameters",
	"trialTemplate", "maxTrialCount", "parallelTrialCount",
	"maxFailedTrialCount", "metricsCollectorSpec",
};
#define NSPEC (sizeof(spec_keys) / sizeof(spec_keys[0]))

int tc_import_katib(struct tc_yw *w, const yaml_node_t *root, unsigned flags)
{
	static const char *const root_keys[] = {"apiVersion", "kind",
						"metadata", "spec"};
	static const char *const meta_keys[] = {"name", "namespace"};
	static const char *const obj_keys[] = {"type", "objectiveMetricName",
					       "goal", "additionalMetricNames"};
	static const char *const alg_keys[] = {"algorithmName",
					       "algorithmSettings"};
	struct kt k = {.w = w};
	yaml_node_t *meta, *spec, *n[NSPEC], *kk[NSPEC], *v, *algs = NULL;
	char name[TC_NAME_MAX + 1] = "";
	const char *alg = "random", *api;
	int rc, hyperband = 0, known = tc_spec_has_section("early_stop");

	(void)flags;
	if ((rc = tc_yw_keys(w, root, "a Katib Experiment", root_keys, 4)))
		return rc;
	api = tc_yw_text(tc_yw_get(w, root, "apiVersion", NULL));
	if (!api || strcmp(api, "kubeflow.org/v1beta1"))
		return tc_yw_fail(w, tc_yw_get(w, root, "apiVersion", NULL),
				  "trainctl reads kubeflow.org/v1beta1 "
				  "Experiments");
	meta = tc_yw_get(w, root, "metadata", NULL);
	if (meta && (rc = tc_yw_keys(w, meta, "metadata", meta_keys, 2)))
		return rc;
	spec = tc_yw_get(w, root, "spec", NULL);
	if (!spec)
		return tc_yw_fail(w, root, "the Experiment has no spec");
	if ((rc = tc_yw_keys(w, spec, "spec", spec_keys, NSPEC)))
		return rc;
	for (size_t i = 0; i < NSPEC; i++)
		n[i] = tc_yw_get(w, spec, spec_keys[i], &kk[i]);
	if (n[8]) {
		static const char *const mk[] = {"collector"};
		static const char *const ck[] = {"kind"};
		yaml_node_t *col = tc_yw_get(w, n[8], "collector", NULL);
		const char *kind = tc_yw_text(tc_yw_get(w, col, "kind", NULL));

		if ((rc = tc_yw_keys(w, n[8], "metricsCollectorSpec", mk, 1)) ||
		    (col && (rc = tc_yw_keys(w, col, "collector", ck, 1))))
			return rc;
		if (!kind || strcmp(kind, "StdOut"))
			return tc_yw_fail(w, col ? col : n[8], "metrics "
					  "collector: trainctl reads name=value "
					  "lines on stdout (kind StdOut); write "
					  "metrics there or to "
					  "$TRAINCTL_METRICS_FILE");
	}
	if (n[1]) {
		if ((rc = tc_yw_keys(w, n[1], "algorithm", alg_keys, 2)))
			return rc;
		v = tc_yw_get(w, n[1], "algorithmName", NULL);
		if (!(alg = tc_yw_text(v)))
			return tc_yw_fail(w, n[1], "algorithm needs "
					  "algorithmName");
		algs = tc_yw_get(w, n[1], "algorithmSettings", NULL);
		if (!strcmp(alg, "random") || !strcmp(alg, "tpe") ||
		    !strcmp(alg, "bayesianoptimization")) {
			static const char *const rs[] = {"random_state"};

			k.method = !strcmp(alg, "random") ? "random" : "tpe";
			rc = check_settings(&k, algs, "algorithmSettings", rs,
					    1);
		} else if (!strcmp(alg, "grid")) {
			k.method = "grid";
			rc = check_settings(&k, algs, "algorithmSettings", NULL,
					    0);
		} else if (!strcmp(alg, "hyperband")) {
			static const char *const hs[] = {"eta", "r_l",
							 "resource_name",
							 "random_state"};

			k.method = "random";
			hyperband = 1;
			rc = check_settings(&k, algs, "algorithmSettings", hs,
					    4);
		} else {
			return tc_yw_fail(w, v, "algorithm %.40s: trainctl runs "
					  "random, grid, tpe, "
					  "bayesianoptimization (as tpe) and "
					  "hyperband", alg);
		}
		if (rc)
			return rc;
	} else {
		k.method = "random";
	}
	if (k.method[0] != 'g' && !n[5])
		return tc_yw_fail(w, spec, "a %s search needs maxTrialCount",
				  alg);
	if (!n[3] || n[3]->type != YAML_SEQUENCE_NODE)
		return tc_yw_fail(w, n[3] ? n[3] : spec, "spec.parameters must "
				  "be a list of parameters");
	if (!n[4])
		return tc_yw_fail(w, spec, "the Experiment has no trialTemplate");

	tc_yw_comment(w, "", "Translated from a Katib Experiment by `trainctl "
			     "import katib`.");
	tc_yw_raw(w, "version: 1\n");
	if (meta && tc_yw_text(tc_yw_get(w, meta, "name", NULL))) {
		v = tc_yw_get(w, meta, "name", NULL);
		tc_yw_name(tc_yw_text(v), name);
		tc_yw_mark(w, tc_yw_pos(v));
	}
	tc_yw_printf(w, "name: %s\n", name[0] ? name : "katib-experiment");
	tc_yw_mark(w, tc_yw_pos(kk[3]));
	tc_yw_raw(w, "parameters:\n");
	for (yaml_node_item_t *it = n[3]->data.sequence.items.start;
	     it < n[3]->data.sequence.items.top; it++) {
		rc = write_param(&k, tc_yw_node(w, *it));
		if (rc)
			return rc;
	}
	rc = write_trial(&k, kk[4], n[4],
			 meta ? tc_yw_get(w, meta, "namespace", NULL) : NULL);
	if (rc)
		return rc;
	tc_yw_mark(w, tc_yw_pos(n[1] ? n[1] : spec));
	tc_yw_printf(w, "search:\n  method: %s", k.method);
	if (strcmp(alg, k.method))
		tc_yw_printf(w, "  # Katib %s", alg);
	tc_yw_raw(w, "\n");
	if (n[5]) {
		tc_yw_raw(w, "  trials: ");
		write_num(&k, n[5]);
		tc_yw_raw(w, "  # maxTrialCount\n");
	}
	if ((v = setting(&k, algs, "random_state"))) {
		tc_yw_raw(w, "  seed: ");
		write_num(&k, v);
		tc_yw_raw(w, "  # random_state\n");
	}
	if (n[0]) {
		yaml_node_t *type = tc_yw_get(w, n[0], "type", NULL);
		yaml_node_t *mn = tc_yw_get(w, n[0], "objectiveMetricName", NULL);
		const char *t = tc_yw_text(type);

		if ((rc = tc_yw_keys(w, n[0], "objective", obj_keys, 4)))
			return rc;
		if ((v = tc_yw_get(w, n[0], "goal", NULL)))
			return tc_yw_fail(w, v, "objective.goal: trainctl does "
					  "not end a search when a trial "
					  "reaches a value; remove goal "
					  "(`trainctl best` shows the best "
					  "trial)");
		if (!t || (strcmp(t, "minimize") && strcmp(t, "maximize")))
			return tc_yw_fail(w, type ? type : n[0], "objective."
					  "type must be minimize or maximize");
		if (!tc_yw_text(mn))
			return tc_yw_fail(w, n[0], "objective needs "
					  "objectiveMetricName");
		tc_yw_comment(w, "", "Katib objective (additional metrics are "
				     "collected as well)");
		tc_yw_mark(w, tc_yw_pos(kk[0]));
		tc_yw_raw(w, "metric: {name: ");
		rc = tc_yw_scalar(w, mn);
		if (rc)
			return rc;
		tc_yw_printf(w, ", goal: %s}\n", t);
	}
	if (n[6] || n[7]) {
		tc_yw_raw(w, "run:\n");
		if (n[6]) {
			tc_yw_raw(w, "  parallel: ");
			write_num(&k, n[6]);
			tc_yw_raw(w, "  # parallelTrialCount\n");
		}
		if (n[7]) {
			tc_yw_raw(w, "  max_failures: ");
			write_num(&k, n[7]);
			tc_yw_raw(w, "  # maxFailedTrialCount\n");
		}
	}
	if (hyperband || n[2]) {
		yaml_node_t *es = n[2], *name2 = NULL, *set = NULL;
		const char *esn = NULL;

		if (es) {
			static const char *const ek[] = {"algorithmName",
							 "algorithmSettings"};
			static const char *const ms[] = {"min_trials_required",
							 "start_step"};

			if ((rc = tc_yw_keys(w, es, "earlyStopping", ek, 2)))
				return rc;
			name2 = tc_yw_get(w, es, "algorithmName", NULL);
			esn = tc_yw_text(name2);
			if (!esn || strcmp(esn, "medianstop"))
				return tc_yw_fail(w, name2 ? name2 : es,
						  "earlyStopping: trainctl runs "
						  "medianstop");
			if (hyperband)
				return tc_yw_fail(w, es, "earlyStopping with "
						  "algorithm hyperband: choose "
						  "one way to stop trials");
			set = tc_yw_get(w, es, "algorithmSettings", NULL);
			if ((rc = check_settings(&k, set, "earlyStopping",
						 ms, 2)))
				return rc;
		}
		if (!known && (flags & TC_IMPORT_CHECKABLE))
			return 0;
		tc_yw_comment(w, "", hyperband ? "Katib hyperband: its rungs "
						 "as early stopping"
					       : "Katib medianstop");
		if (!known)
			tc_yw_comment(w, "", "(needs a trainctl with early "
					     "stopping: this one does not "
					     "read early_stop: yet)");
		tc_yw_mark(w, tc_yw_pos(hyperband ? n[1] : es));
		if (hyperband) {
			yaml_node_t *eta = setting(&k, algs, "eta");
			yaml_node_t *rl = setting(&k, algs, "r_l");
			const char *rn = tc_yw_text(setting(&k, algs,
							    "resource_name"));

			if (rn) {
				char c[200];

				snprintf(c, sizeof(c), "Katib's resource "
					 "parameter %.60s: here the rungs are "
					 "the steps each trial reports", rn);
				tc_yw_comment(w, "", c);
			}

			tc_yw_raw(w, "early_stop: {method: hyperband, min_step: "
				     "1");
			if (rl) {
				tc_yw_raw(w, ", max_step: ");
				write_num(&k, rl);
			}
			tc_yw_raw(w, ", reduction_factor: ");
			if (eta)
				write_num(&k, eta);
			else
				tc_yw_raw(w, "3");
			tc_yw_raw(w, "}\n");
		} else {
			yaml_node_t *st = setting(&k, set, "start_step");
			yaml_node_t *mt = setting(&k, set,
						  "min_trials_required");

			tc_yw_raw(w, "early_stop: {method: median");
			if (st) {
				tc_yw_raw(w, ", min_step: ");
				write_num(&k, st);
			}
			if (mt) {
				tc_yw_raw(w, ", min_trials: ");
				write_num(&k, mt);
			}
			tc_yw_raw(w, "}\n");
		}
	}
	return 0;
}
