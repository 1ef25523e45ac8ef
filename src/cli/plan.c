/*
 * plan.c — `trainctl validate` and `trainctl plan`: the spec checked, and
 * every trial it gives listed (streamed: a million-point grid is printed
 * without being held in memory).  `plan --render DIR` writes what each
 * trial would get under DIR/ID/: params.json and command.json, or with
 * `--backend kubernetes` the exact objects run would create (attempt 1),
 * one JSON file per object and nothing else, ready for `kubectl create -f
 * DIR -R`.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exec/backend.h"
#include "metrics/metrics.h"
#include "plan/plan.h"
#include "search/search.h"
#include "spec/spec.h"
#include "store/experiment.h"
#include "util/fsutil.h"

/* Load a spec and check what the loader cannot: the metric pattern. */
static int load_checked(const char *path, struct tc_spec **spec,
			struct tc_error *err)
{
	int rc = tc_spec_load(path, spec, err);

	if (rc)
		return rc;
	if ((rc = tc_check_param_names(*spec, err))) {
		tc_spec_free(*spec);
		*spec = NULL;
		return rc;
	}
	if ((*spec)->metric.regex) {
		struct tc_metric_regex *re =
			tc_metric_regex_new((*spec)->metric.regex, err);

		if (!re) {
			char msg[sizeof(err->msg)];

			memcpy(msg, err->msg, sizeof(msg));
			tc_error_at(err, TC_ERR_SPEC, path,
				    (*spec)->metric.regex_pos.line,
				    (*spec)->metric.regex_pos.col, "metric.regex: %.900s",
				    msg);
			tc_spec_free(*spec);
			*spec = NULL;
			return TC_ERR_SPEC;
		}
		tc_metric_regex_free(re);
	}
	return 0;
}

uint64_t tc_pick_seed(const struct tc_spec *spec, const char *flag, int *picked)
{
	struct timespec ts;

	*picked = 0;
	if (flag) {
		char *end;
		unsigned long long v = strtoull(flag, &end, 10);

		if (*flag && !*end)
			return v;
	}
	if (spec->search.has_seed)
		return spec->search.seed;
	*picked = 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 32);
}

static const struct tc_opt validate_opts[] = {{NULL, 0, 0, NULL, NULL}};

int cmd_validate(int argc, char **argv)
{
	struct tc_args a;
	struct tc_spec *spec = NULL;
	struct tc_plan *plan = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	uint64_t n = 0;
	int rc, picked;

	rc = tc_parse_args(argc, argv, validate_opts, "validate SPEC",
			   "Parse and check an experiment file.  Errors are printed "
			   "as file:line:col: message\nand exit with code 2.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("validate", "expected one experiment file");
	tc_error_clear(&err);
	if ((rc = load_checked(a.pos[0], &spec, &err)))
		return tc_fail_spec("validate", &err);
	{
		const struct tc_backend *be =
			tc_backend_find(spec->backend, &err);
		char *cwd = tc_dirname_abs(a.pos[0]);

		rc = be ? be->validate(spec, cwd, &err) : err.code;
		if (!rc)
			rc = tc_backend_check_trials(
				be, spec, tc_pick_seed(spec, NULL, &picked), &err);
		free(cwd);
		if (rc) {
			tc_spec_free(spec);
			return tc_fail_spec("validate", &err);
		}
	}
	if (spec->nstages) {
		/* a pipeline: its jobs, with the items as run would read them */
		size_t *counts = calloc(spec->nstages + 1, sizeof(*counts)), total = 0;
		char *dir = tc_dirname_abs(a.pos[0]);

		rc = !counts || !dir
			     ? tc_error_set(&err, TC_ERR_NOMEM, "out of memory")
			     : tc_plan_stage_jobs(spec, dir,
						  tc_pick_seed(spec, NULL, &picked),
						  counts, &err);
		for (size_t i = 0; !rc && i < spec->nstages; i++)
			total += counts[i];
		if (!rc)
			printf("%s: ok: experiment '%s', %zu job%s in %zu stage%s\n",
			       a.pos[0], spec->name, total, total == 1 ? "" : "s",
			       spec->nstages, spec->nstages == 1 ? "" : "s");
		free(counts);
		free(dir);
		tc_spec_free(spec);
		return rc ? (rc == TC_ERR_SPEC ? tc_fail_spec("validate", &err)
					       : tc_fail("validate", &err))
			  : 0;
	}
	if ((rc = tc_plan_new(spec, tc_pick_seed(spec, NULL, &picked), &plan, &err))) {
		tc_spec_free(spec);
		return tc_fail("validate", &err);
	}
	while ((rc = tc_plan_next(plan, &t, &err)) == 1)
		n++;
	if (rc == 0 && n == 0)
		rc = tc_error_at(&err, TC_ERR_SPEC, a.pos[0],
				 spec->search.nexclude ? spec->search.exclude[0].pos.line : 1,
				 spec->search.nexclude ? spec->search.exclude[0].pos.col : 1,
				 "the plan is empty: every point is excluded");
	if (rc < 0) {
		tc_plan_free(plan);
		tc_spec_free(spec);
		return tc_fail("validate", &err);
	}
	if (spec->search.method == TC_SEARCH_TPE)
		printf("%s: ok: experiment '%s', %" PRIu64 " trial%s (tpe "
		       "search: %" PRIu64 " startup, the rest chosen from "
		       "results)\n",
		       a.pos[0], spec->name, spec->search.trials,
		       spec->search.trials == 1 ? "" : "s", n);
	else
		printf("%s: ok: experiment '%s', %" PRIu64 " trial%s (%s "
		       "search)\n",
		       a.pos[0], spec->name, n, n == 1 ? "" : "s",
		       tc_search_method_name(spec->search.method));
	if (tc_plan_note(plan))
		printf("note: %s\n", tc_plan_note(plan));
	tc_plan_free(plan);
	tc_spec_free(spec);
	return 0;
}

static const struct tc_opt plan_opts[] = {
	{"format", 'o', 1, "FMT", "table (default), json or csv; dot for a "
				  "pipeline's DAG (Graphviz)"},
	{"render", 0, 1, "DIR",
	 "write each trial's params.json and command.json under DIR/ID/ "
	 "(kubernetes: the objects run would create, for kubectl create -f "
	 "DIR -R)"},
	{"backend", 0, 1, "NAME",
	 "local or kubernetes (default: the spec's backend:)"},
	{"namespace", 'n', 1, "NS",
	 "namespace of rendered objects (default: kubernetes.namespace, "
	 "else default)"},
	{"seed", 0, 1, "N", "random/sobol search seed (default: search.seed)"},
	{NULL, 0, 0, NULL, NULL},
};

/* What trial t would get on backend be, under dir/ID/: its objects (ns:
 * --namespace or NULL), or its params.json and command.json. */
static int render_one(const char *dir, const struct tc_spec *spec,
		      const struct tc_trial *t, const char *state_dir,
		      const struct tc_backend *be, const char *ns,
		      struct tc_error *err)
{
	char path[PATH_MAX], tdir[PATH_MAX];
	json_t *params = tc_trial_params_json(spec, t->values), *argv = NULL,
	       *env = NULL, *cmd;
	char *text;
	int rc;

	if (be->trial_dir)
		snprintf(tdir, sizeof(tdir), "%s", be->trial_dir);
	else
		snprintf(tdir, sizeof(tdir), "%s/trials/%s", state_dir, t->id);
	rc = tc_plan_render(spec, t->values, t->id, t->index, t->seed, tdir,
			    &argv, &env, err);
	if (rc) {
		json_decref(params);
		return rc;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, t->id);
	if (tc_mkdir_p(path, 0755) != 0) {
		json_decref(params);
		json_decref(argv);
		json_decref(env);
		return tc_error_set(err, TC_ERR_IO, "cannot create %s: %s", path,
				    strerror(errno));
	}
	if (be->render) {
		rc = be->render(dir, spec, t, ns, params, argv, env, err);
		json_decref(params);
		json_decref(argv);
		json_decref(env);
		return rc;
	}
	cmd = json_pack("{s:s, s:I, s:o, s:o, s:I}", "trial", t->id, "index",
			(json_int_t)t->index, "argv", argv, "env", env, "seed",
			(json_int_t)t->seed);
	for (int k = 0; k < 2; k++) {
		json_t *o = k ? cmd : params;

		snprintf(path, sizeof(path), "%s/%s/%s", dir, t->id,
			 k ? "command.json" : "params.json");
		text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		if (!text || tc_write_file_atomic(path, text, strlen(text), 0, 0644) != 0) {
			free(text);
			json_decref(params);
			json_decref(cmd);
			return tc_error_set(err, TC_ERR_IO, "cannot write %s: %s",
					    path, strerror(errno));
		}
		free(text);
	}
	json_decref(params);
	json_decref(cmd);
	return 0;
}

/* JSON rows of `plan --format json`, a million a second or so: each row is
 * the same object (index, trial, state, the parameters, trial_seed), so its
 * keys are encoded once, and the encoding of each parameter value (by the
 * JSON library, as the whole object would be) is kept and reused while the
 * value repeats, as a grid's values do. */
#define JROW_CACHE 256

struct jval {
	const char *text; /* the value's own text (pointer and content) */
	char *copy;
	enum tc_vtype type;
	char *json;
};

struct jrow {
	char **key;                   /* ,"name": per parameter */
	struct jval (*cache)[JROW_CACHE];
};

static const size_t jflags = JSON_COMPACT | JSON_PRESERVE_ORDER |
			     JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY;

static void jrow_free(struct jrow *jr, const struct tc_spec *spec)
{
	if (!jr)
		return;
	for (size_t i = 0; i < spec->nparams; i++) {
		free(jr->key ? jr->key[i] : NULL);
		for (int k = 0; jr->cache && k < JROW_CACHE; k++) {
			free(jr->cache[i][k].copy);
			free(jr->cache[i][k].json);
		}
	}
	free(jr->key);
	free(jr->cache);
	free(jr);
}

static struct jrow *jrow_new(const struct tc_spec *spec)
{
	struct jrow *jr = calloc(1, sizeof(*jr));

	if (!jr)
		return NULL;
	jr->key = calloc(spec->nparams + 1, sizeof(*jr->key));
	jr->cache = calloc(spec->nparams + 1, sizeof(*jr->cache));
	if (!jr->key || !jr->cache) {
		jrow_free(jr, spec);
		return NULL;
	}
	for (size_t i = 0; i < spec->nparams; i++) {
		json_t *k = json_string(spec->params[i].name);
		char *enc = k ? json_dumps(k, jflags) : NULL;

		json_decref(k);
		if (!enc || asprintf(&jr->key[i], ",%s:", enc) < 0)
			jr->key[i] = NULL;
		free(enc);
		if (!jr->key[i]) {
			jrow_free(jr, spec);
			return NULL;
		}
	}
	return jr;
}

/* The JSON of value v of parameter i: from the cache, or encoded now. */
static const char *jrow_value(struct jrow *jr, size_t i, const struct tc_value *v,
			      char **tmp)
{
	uintptr_t h = ((uintptr_t)v->text >> 3) ^ ((uintptr_t)v->text >> 11);
	struct jval *c = &jr->cache[i][h % JROW_CACHE];
	json_t *o;
	char *enc;

	if (v->text && c->text == v->text && c->type == v->type &&
	    !strcmp(c->copy, v->text))
		return c->json;
	o = tc_value_json(v);
	enc = o ? json_dumps(o, jflags) : NULL;
	json_decref(o);
	if (!enc)
		return "null";
	if (v->text) {
		char *copy = strdup(v->text);

		if (copy) {
			free(c->copy);
			free(c->json);
			c->text = v->text;
			c->copy = copy;
			c->type = v->type;
			c->json = enc;
			return enc;
		}
	}
	*tmp = enc;
	return enc;
}

static void jrow_write(struct jrow *jr, const struct tc_spec *spec,
		       const struct tc_trial *t, FILE *out)
{
	/* the id is hex: no escaping; index and seed are plain integers */
	fprintf(out, "{\"index\":%" PRIu64 ",\"trial\":\"%s\",\"state\":\"planned\"",
		t->index, t->id);
	for (size_t i = 0; i < spec->nparams; i++) {
		char *tmp = NULL;

		if (t->values[i].type == TC_V_ABSENT)
			continue; /* as in the trial's params.json */
		fputs(jr->key[i], out);
		fputs(jrow_value(jr, i, &t->values[i], &tmp), out);
		free(tmp);
	}
	fprintf(out, ",\"trial_seed\":%" PRIu32 "}", t->seed);
}

/* --render DIR holds what plan writes and nothing else (kubectl create -f
 * DIR -R takes all of it): DIR must be new or an empty directory, so no
 * file of an earlier render or of anyone else is mixed in. */
static int render_dir_check(const char *dir, struct tc_error *err)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int empty = 1;

	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return 0; /* created below */
		return tc_error_set(err, TC_ERR_USAGE, "--render %s: %s", dir,
				    strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return tc_error_set(err, TC_ERR_USAGE,
				    "--render %s is not a directory: give a new "
				    "or empty directory",
				    dir);
	d = opendir(dir);
	if (!d)
		return tc_error_set(err, TC_ERR_USAGE, "--render %s: %s", dir,
				    strerror(errno));
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	if (!empty)
		return tc_error_set(err, TC_ERR_USAGE,
				    "--render %s is not empty: give a new or "
				    "empty directory (to render again, remove "
				    "it first)",
				    dir);
	return 0;
}

/* A pipeline's plan: its stages in order with their number of jobs and
 * what they need (each: item-wise, all: a gather), as a table or as a
 * Graphviz digraph. */
static int plan_pipeline(const struct tc_spec *spec, const char *path,
			 uint64_t seed, int dot, struct tc_error *err)
{
	size_t *counts = calloc(spec->nstages + 1, sizeof(*counts)), total = 0;
	char *dir = strdup(path), *slash, *abs;
	int rc;

	if (!counts || !dir) {
		free(counts);
		free(dir);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else
		*(slash == dir ? slash + 1 : slash) = '\0';
	abs = realpath(dir, NULL);
	rc = tc_plan_stage_jobs(spec, abs ? abs : dir, seed, counts, err);
	free(abs);
	free(dir);
	if (rc) {
		free(counts);
		return rc;
	}
	if (dot) {
		printf("digraph \"%s\" {\n  rankdir=LR;\n  node [shape=box];\n",
		       spec->name);
		for (size_t i = 0; i < spec->nstages; i++)
			printf("  \"%s\" [label=\"%s\\n%zu job%s\"];\n",
			       spec->stages[i].name, spec->stages[i].name,
			       counts[i], counts[i] == 1 ? "" : "s");
		for (size_t i = 0; i < spec->nstages; i++)
			for (size_t k = 0; k < spec->stages[i].nneeds; k++) {
				size_t n = (size_t)spec->stages[i].needs[k];

				printf("  \"%s\" -> \"%s\"%s;\n",
				       spec->stages[n].name, spec->stages[i].name,
				       tc_plan_itemwise(spec, i, n)
					       ? " [label=\"each\"]"
					       : " [label=\"all\", style=bold]");
			}
		printf("}\n");
		free(counts);
		return 0;
	}
	printf("%-24s  %6s  %-24s  %s\n", "stage", "jobs", "foreach", "needs");
	for (size_t i = 0; i < spec->nstages; i++) {
		const struct tc_stage *st = &spec->stages[i];
		char fe[64] = "", needs[512] = "";
		size_t off = 0;

		switch (st->foreach) {
		case TC_FE_NONE: break;
		case TC_FE_LIST: snprintf(fe, sizeof(fe), "list"); break;
		case TC_FE_GLOB: snprintf(fe, sizeof(fe), "glob %s", st->pattern); break;
		case TC_FE_LINES: snprintf(fe, sizeof(fe), "lines of %s", st->pattern); break;
		case TC_FE_SWEEP: snprintf(fe, sizeof(fe), "sweep"); break;
		case TC_FE_TRIALS:
			snprintf(fe, sizeof(fe), "trials of %s",
				 spec->stages[st->of].name);
			break;
		}
		for (size_t k = 0; k < st->nneeds && off < sizeof(needs); k++) {
			size_t n = (size_t)st->needs[k];
			int w = snprintf(needs + off, sizeof(needs) - off, "%s%s (%s)",
					 k ? ", " : "", spec->stages[n].name,
					 tc_plan_itemwise(spec, i, n) ? "each" : "all");

			off += w > 0 ? (size_t)w : 0;
		}
		printf("%-24s  %6zu  %-24s  %s\n", st->name, counts[i], fe, needs);
		total += counts[i];
	}
	printf("\n%zu stage%s, %zu job%s (parallel %d)\n", spec->nstages,
	       spec->nstages == 1 ? "" : "s", total, total == 1 ? "" : "s",
	       spec->run.parallel);
	free(counts);
	return 0;
}

int cmd_plan(int argc, char **argv)
{
	struct tc_args a;
	struct tc_spec *spec = NULL;
	struct tc_plan *plan = NULL;
	const struct tc_trial *t;
	struct tc_error err;
	enum tc_format fmt;
	const char *render, *backend, *ns;
	const struct tc_backend *be = NULL;
	char *state_dir = NULL;
	int *width = NULL, rc, picked;
	uint64_t n = 0, seed, listed;
	struct jrow *jr = NULL;
	int dot;

	rc = tc_parse_args(argc, argv, plan_opts,
			   "plan SPEC [--format FMT] [--render DIR [--backend "
			   "kubernetes] [--namespace NS]]",
			   "List every trial the experiment file gives, before "
			   "anything runs: its index, id,\nparameters and "
			   "resources, and the total requested.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("plan", "expected one experiment file");
	dot = tc_arg(&a, plan_opts, "format") &&
	      !strcmp(tc_arg(&a, plan_opts, "format"), "dot");
	if (!dot &&
	    tc_get_format("plan", tc_arg(&a, plan_opts, "format"), TC_FMT_TABLE,
			  TC_FMTS(TC_FMT_TABLE, TC_FMT_JSON, TC_FMT_CSV), &fmt))
		return TC_EXIT_USAGE;
	render = tc_arg(&a, plan_opts, "render");
	backend = tc_arg(&a, plan_opts, "backend");
	ns = tc_arg(&a, plan_opts, "namespace");
	tc_error_clear(&err);
	if (backend && !(be = tc_backend_find(backend, &err)))
		return tc_usage_error("plan", "--%s, not '%s'", err.msg,
				      backend);
	if ((rc = load_checked(a.pos[0], &spec, &err)))
		return tc_fail_spec("plan", &err);
	if (!be && !(be = tc_backend_find(spec->backend, &err))) {
		tc_spec_free(spec);
		return tc_fail_spec("plan", &err);
	}
	if (be->plan_check && (rc = be->plan_check(spec, ns, &err))) {
		tc_spec_free(spec);
		return err.code == TC_ERR_USAGE
			       ? tc_usage_error("plan", "%s", err.msg)
			       : tc_fail_spec("plan", &err);
	}
	if (!be->plan_check && ns) {
		tc_spec_free(spec);
		return tc_usage_error("plan", "--namespace goes with --backend "
				      "kubernetes");
	}
	if (dot && !spec->nstages) {
		tc_spec_free(spec);
		return tc_usage_error("plan", "--format dot is for a pipeline "
				      "(stages:)");
	}
	seed = tc_pick_seed(spec, tc_arg(&a, plan_opts, "seed"), &picked);
	if (spec->nstages) {
		if (render) {
			tc_spec_free(spec);
			return tc_usage_error("plan", "--render is not "
					      "supported for a pipeline yet");
		}
		rc = plan_pipeline(spec, a.pos[0], seed, dot, &err);
		tc_spec_free(spec);
		return rc ? tc_fail_spec("plan", &err) : 0;
	}
	if (picked && spec->search.method != TC_SEARCH_GRID)
		fprintf(stderr,
			"note: no search.seed in the spec: this plan drew seed %" PRIu64
			"; run draws a new one and records it (`trainctl run --seed "
			"%" PRIu64 "` runs this plan)\n",
			seed, seed);
	if ((rc = tc_backend_check_trials(be, spec, seed, &err))) {
		tc_spec_free(spec);
		return tc_fail_spec("plan", &err);
	}
	state_dir = tc_state_dir_resolve(tc_arg(&a, plan_opts, "state-dir"));
	if ((rc = tc_plan_new(spec, seed, &plan, &err)) || !state_dir) {
		if (!rc)
			tc_error_set(&err, TC_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (render && (rc = render_dir_check(render, &err)))
		goto fail;
	if (render && tc_mkdir_p(render, 0755) != 0) {
		tc_error_set(&err, TC_ERR_IO, "cannot create %s: %s", render,
			     strerror(errno));
		goto fail;
	}

	/* header */
	width = calloc(spec->nparams + 1, sizeof(*width));
	if (!width) {
		tc_error_set(&err, TC_ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < spec->nparams; i++) {
		const struct tc_param *p = &spec->params[i];

		width[i] = (int)strlen(p->name);
		if (p->kind == TC_P_VALUES || p->kind == TC_P_CONST ||
		    p->kind == TC_P_DERIVED) {
			for (size_t k = 0; k < p->nvalues; k++)
				if ((int)strlen(p->values[k].text) > width[i])
					width[i] = (int)strlen(p->values[k].text);
		} else if (p->kind == TC_P_INT_UNIFORM) {
			int w = snprintf(NULL, 0, "%lld", p->imax);
			int w2 = snprintf(NULL, 0, "%lld", p->imin);

			if (w2 > w)
				w = w2;
			if (w > width[i])
				width[i] = w;
		} else if (width[i] < 22) {
			width[i] = 22; /* the longest round-trip double */
		}
	}
	for (size_t i = 0; i < spec->search.ninclude; i++)
		for (size_t k = 0; k < spec->search.include[i].n; k++) {
			int pi = tc_spec_param_index(
				spec, spec->search.include[i].a[k].name,
				strlen(spec->search.include[i].a[k].name));
			int w = (int)strlen(spec->search.include[i].a[k].value.text);

			if (pi >= 0 && w > width[pi])
				width[pi] = w;
		}
	if (fmt == TC_FMT_TABLE) {
		printf("%5s  %-12s  %-7s", "index", "trial", "state");
		for (size_t i = 0; i < spec->nparams; i++)
			printf("  %-*s", i + 1 < spec->nparams ? width[i] : 0,
			       spec->params[i].name);
		printf("\n");
	} else if (fmt == TC_FMT_CSV) {
		fputs("index,trial,state", stdout);
		for (size_t i = 0; i < spec->nparams; i++) {
			fputc(',', stdout);
			tc_csv_field(stdout, spec->params[i].name);
		}
		fputs(",trial_seed\n", stdout);
	} else {
		fputs("[", stdout);
	}

	while ((rc = tc_plan_next(plan, &t, &err)) == 1) {
		if (fmt == TC_FMT_TABLE) {
			printf("%5" PRIu64 "  %-12s  planned", t->index, t->id);
			for (size_t i = 0; i < spec->nparams; i++) {
				const char *s = t->values[i].type == TC_V_ABSENT
							? "-" /* as results */
						: t->values[i].text ? t->values[i].text
								    : "";
				int pad = width[i] - (int)strlen(s);

				fputs("  ", stdout);
				fputs(s, stdout);
				if (i + 1 < spec->nparams)
					while (pad-- > 0)
						fputc(' ', stdout);
			}
			fputc('\n', stdout);
		} else if (fmt == TC_FMT_CSV) {
			printf("%" PRIu64 ",%s,planned", t->index, t->id);
			for (size_t i = 0; i < spec->nparams; i++) {
				fputc(',', stdout);
				tc_csv_field(stdout, t->values[i].text ? t->values[i].text : "");
			}
			printf(",%" PRIu32 "\n", t->seed);
		} else {
			if (!jr && !(jr = jrow_new(spec))) {
				tc_error_set(&err, TC_ERR_NOMEM, "out of memory");
				goto fail;
			}
			fputs(n ? ",\n  " : "\n  ", stdout);
			jrow_write(jr, spec, t, stdout);
		}
		if (render && (rc = render_one(render, spec, t, state_dir, be,
					       ns, &err)))
			goto fail;
		n++;
		if (ferror(stdout))
			break;
	}
	if (rc < 0)
		goto fail;
	if (fmt == TC_FMT_JSON)
		fputs(n ? "\n]\n" : "]\n", stdout);
	if (n == 0) {
		tc_error_at(&err, TC_ERR_SPEC, a.pos[0],
			    spec->search.nexclude ? spec->search.exclude[0].pos.line : 1,
			    spec->search.nexclude ? spec->search.exclude[0].pos.col : 1,
			    "the plan is empty: every point is excluded");
		goto fail;
	}
	listed = n;
	if (fmt == TC_FMT_TABLE) {
		char res[256], tbuf[32] = "none";

		char cpu[48], mem[48];

		snprintf(cpu, sizeof(cpu), "%g", spec->resources.cpu);
		snprintf(mem, sizeof(mem), "%lld MiB",
			 spec->resources.memory >> 20);
		snprintf(res, sizeof(res), "cpu %s, memory %s, gpu %d",
			 spec->resources.cpu_template.text ? "per trial" : cpu,
			 spec->resources.memory_template.text ? "per trial"
								 : mem,
			 spec->resources.gpu);
		if (spec->run.timeout > 0)
			tc_fmt_duration(tbuf, sizeof(tbuf), spec->run.timeout);
		if (spec->search.method == TC_SEARCH_TPE) {
			/* the rest depend on results: counted, not listed */
			uint64_t later = spec->search.trials - n;

			printf("\n%" PRIu64 " startup trial%s above (drawn from the "
			       "seed); %" PRIu64 " more chosen by tpe from the "
			       "results as they come in\n",
			       n, n == 1 ? "" : "s", later);
			n = spec->search.trials;
		}
		printf("\n%" PRIu64 " trial%s (%s search, parallel %d); each: %s; "
		       "timeout %s",
		       n, n == 1 ? "" : "s",
		       tc_search_method_name(spec->search.method),
		       spec->run.parallel, spec->resources.given ? res : "no resources requested",
		       tbuf);
		if (spec->nodes > 1)
			printf("; %d ranks a trial, resources per rank",
			       spec->nodes);
		if (spec->resources.gpu > 0 && spec->run.timeout > 0)
			printf("; at most %.1f GPU-hours requested",
			       (double)n * tc_spec_trial_gpus(spec) *
				       (spec->run.timeout / 3600.0) *
				       (spec->run.retries + 1));
		else if (spec->resources.gpu > 0)
			printf("; %" PRIu64 " GPUs per hour of trial time",
			       n * (uint64_t)tc_spec_trial_gpus(spec));
		printf("\n");
		if (tc_plan_note(plan))
			printf("note: %s\n", tc_plan_note(plan));
	}
	if (render)
		fprintf(stderr, "rendered %" PRIu64 " trial%s into %s\n",
			listed, listed == 1 ? "" : "s", render);
	jrow_free(jr, spec);
	free(width);
	free(state_dir);
	tc_plan_free(plan);
	tc_spec_free(spec);
	return 0;
fail:
	jrow_free(jr, spec);
	free(width);
	free(state_dir);
	tc_plan_free(plan);
	tc_spec_free(spec);
	return tc_fail("plan", &err);
}
