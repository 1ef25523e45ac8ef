/*
 * results.c — `trainctl results` and `trainctl best`: one row per trial
 * with its parameters and final metrics, ranked; and the best of them.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "artifacts/artifacts.h"
#include "cli/query.h"
#include "search/search.h"
#include "util/fsutil.h"

/* how trials are ranked: results and best alike */
#define RANK_OPTS                                                              \
	{"sort", 's', 1, "METRIC", "rank by this metric (default: the spec's)"}, \
	{"goal", 0, 1, "GOAL", "maximize or minimize (default: the spec's goal " \
			      "for its metric)"},                            \
	{"metric", 'm', 1, "NAME",                                             \
	 "rank on NAME parsed again from the logs (no rerun needed)"},         \
	{"regex", 0, 1, "RE",                                                  \
	 "with --metric: a PCRE2 pattern whose named groups are metrics"}

static const struct tc_opt results_opts[] = {
	RANK_OPTS,
	{"top", 'n', 1, "N", "only the N best"},
	{"format", 'o', 1, "FMT", "table (default), csv, json or markdown"},
	{"group-by", 'g', 1, "PARAM,...",
	 "one row per group of trials with these parameters' values"},
	{"agg", 0, 1, "AGG,...",
	 "with --group-by: of mean, std, min, max, count (default mean,std,count)"},
	{NULL, 0, 0, NULL, NULL},
};

/* best prints one trial: as text or as JSON (for a CSV row, results --top 1) */
static const struct tc_opt best_opts[] = {
	RANK_OPTS,
	{"format", 'o', 1, "FMT", "table (default) or json"},
	{"download", 0, 1, "DIR", "a pipeline with artifacts: fetch the best "
				  "job's outputs from the store into DIR"},
	{NULL, 0, 0, NULL, NULL},
};

struct ranked {
	struct tview v;
	const char *sort;
	int goal;
};

/* Load, optionally re-parse, and rank.  Returns 0 or an exit code. */
static int load_ranked(const char *verb, const struct tc_args *a,
		       const struct tc_opt *opts, struct tc_journal **j,
		       struct ranked *rk)
{
	struct tc_error err;
	const char *metric = tc_arg(a, opts, "metric");
	const char *regex = tc_arg(a, opts, "regex");
	const char *goal = tc_arg(a, opts, "goal");
	int rc;

	memset(rk, 0, sizeof(*rk));
	tc_error_clear(&err);
	if (goal && strcmp(goal, "maximize") && strcmp(goal, "minimize"))
		return tc_usage_error(verb, "--goal must be maximize or minimize");
	if (regex && !metric)
		return tc_usage_error(verb, "--regex needs --metric NAME");
	if ((rc = tc_open_readonly(tc_arg(a, opts, "state-dir"), j, &err)) ||
	    (rc = tview_load(*j, a->pos[0], &rk->v, &err)))
		return tc_fail(verb, &err);
	if (metric && (rc = tview_reparse(&rk->v, *j, regex, &err)))
		return tc_fail(verb, &err);
	rk->sort = tc_arg(a, opts, "sort");
	if (!rk->sort)
		rk->sort = metric ? metric : rk->v.spec->metric.name;
	rk->goal = goal ? (strcmp(goal, "maximize") ? -1 : 1) : 0;
	if (rk->sort) {
		rk->goal = tview_goal_for(&rk->v, rk->sort, rk->goal);
		tview_rank(&rk->v, rk->sort, rk->goal);
	}
	return 0;
}

static void metric_text(const struct trow *r, const char *name, int exact,
			char *buf, size_t len)
{
	double v;
	const char *sp;
	int has = json_object_get(r->metrics, name) != NULL &&
		  trow_metric(r, name, &v, &sp);

	(exact ? tc_fmt_metric_exact : tc_fmt_metric)(buf, len, has, v, sp);
}

/* ---- results --group-by: aggregates over repeats ------------------------ */

enum agg { AGG_MEAN, AGG_STD, AGG_MIN, AGG_MAX, AGG_COUNT, AGG_N };
static const char *const agg_names[AGG_N] = {"mean", "std", "min", "max",
					     "count"};

struct group {
	size_t first;   /* a row of the group (its parameters' values) */
	size_t ntrials;
	double *stat;   /* [metric * AGG_N + agg]; NAN when it has none */
	int has_rank;
	double rank;    /* the sort metric's mean */
};

static const struct ranked *group_rk; /* for cmp_group (qsort has no ctx) */

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->has_rank != y->has_rank)
		return y->has_rank - x->has_rank;
	if (x->has_rank && x->rank != y->rank)
		return (x->rank < y->rank) == (group_rk->goal > 0) ? 1 : -1;
	return (x->first > y->first) - (x->first < y->first);
}

/* The aggregates of one group (its rows rows[0..n)), over its succeeded
 * trials that reported each metric. */
static void group_stats(const struct ranked *rk, const size_t *rows, size_t n,
			struct group *g)
{
	const struct tview *v = &rk->v;

	for (size_t m = 0; m < v->nmetric; m++) {
		double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY, mean;
		size_t cnt = 0;
		double *st = &g->stat[m * AGG_N];

		for (size_t i = 0; i < n; i++) {
			const struct trow *r = &v->rows[rows[i]];
			const char *sp;
			double x;

			if (r->state != TC_ST_SUCCEEDED ||
			    !json_object_get(r->metrics, v->metric_names[m]) ||
			    !trow_metric(r, v->metric_names[m], &x, &sp) ||
			    !isfinite(x))
				continue;
			cnt++;
			sum += x;
			if (x < lo)
				lo = x;
			if (x > hi)
				hi = x;
		}
		mean = cnt ? sum / (double)cnt : NAN;
		for (size_t i = 0; cnt > 1 && i < n; i++) {
			const struct trow *r = &v->rows[rows[i]];
			const char *sp;
			double x;

			if (r->state == TC_ST_SUCCEEDED &&
			    json_object_get(r->metrics, v->metric_names[m]) &&
			    trow_metric(r, v->metric_names[m], &x, &sp) &&
			    isfinite(x))
				sq += (x - mean) * (x - mean);
		}
		st[AGG_MEAN] = mean;
		/* the sample standard deviation, as pandas and numpy's ddof=1 */
		st[AGG_STD] = cnt > 1 ? sqrt(sq / (double)(cnt - 1)) : NAN;
		st[AGG_MIN] = cnt ? lo : NAN;
		st[AGG_MAX] = cnt ? hi : NAN;
		st[AGG_COUNT] = (double)cnt;
		if (rk->sort && !strcmp(v->metric_names[m], rk->sort) && cnt) {
			g->has_rank = 1;
			g->rank = mean;
		}
	}
}

static void stat_text(char *buf, size_t len, double x, int agg, int exact)
{
	if (agg == AGG_COUNT)
		snprintf(buf, len, "%.0f", x);
	else if (isnan(x))
		snprintf(buf, len, exact ? "" : "-");
	else if (exact)
		tc_fmt_metric_exact(buf, len, 1, x, NULL);
	else
		tc_fmt_metric(buf, len, 1, x, NULL);
}

static int print_groups(struct ranked *rk, enum tc_format fmt, long top,
			const char *by_arg, const char *agg_arg)
{
	const struct tview *v = &rk->v;
	char *bystore = NULL, *aggstore = NULL;
	const char **by = NULL, **aggs = NULL;
	size_t nby = tc_split_list(by_arg, &bystore, &by);
	size_t nagg = tc_split_list(agg_arg ? agg_arg : "mean,std,count", &aggstore,
				 &aggs);
	int order[AGG_N], rc = TC_EXIT_USAGE;
	struct tgroup *tg = NULL;
	struct group *g = NULL;
	size_t ng = 0, nshow;
	struct tc_error err;

	if (!by || !aggs || nby == 0 || nagg == 0) {
		rc = tc_usage_error("results", "--group-by and --agg take names "
					       "separated by commas");
		goto out;
	}
	for (size_t i = 0; i < nagg; i++) {
		int a;

		for (a = 0; a < AGG_N; a++)
			if (!strcmp(aggs[i], agg_names[a]))
				break;
		if (a == AGG_N) {
			rc = tc_usage_error("results", "--agg: '%s' is not one of "
						       "mean, std, min, max, count",
					    aggs[i]);
			goto out;
		}
		order[i] = a;
	}
	tc_error_clear(&err);
	if ((rc = tview_group(v, by, nby, &tg, &ng, &err))) {
		rc = rc == TC_ERR_USAGE
			     ? tc_usage_error("results", "--group-by: %s", err.msg)
			     : tc_fail("results", &err);
		goto out;
	}
	if (!(g = calloc(ng + 1, sizeof(*g))))
		goto nomem;
	for (size_t i = 0; i < ng; i++) {
		g[i].first = tg[i].rows[0];
		g[i].ntrials = tg[i].n;
		if (!(g[i].stat = calloc(v->nmetric * AGG_N + 1, sizeof(double))))
			goto nomem;
		group_stats(rk, tg[i].rows, tg[i].n, &g[i]);
	}
	/* ranked by the group's mean (rows are ranked: first is the best) */
	group_rk = rk;
	if (rk->sort)
		qsort(g, ng, sizeof(*g), cmp_group);
	nshow = top > 0 && (size_t)top < ng ? (size_t)top : ng;

	if (fmt == TC_FMT_JSON) {
		json_t *o = json_object(), *arr = json_array(), *jb = json_array(),
		       *ja = json_array();

		json_object_set_new(o, "experiment", json_string(v->exp.name));
		for (size_t i = 0; i < nby; i++)
			json_array_append_new(jb, json_string(by[i]));
		for (size_t i = 0; i < nagg; i++)
			json_array_append_new(ja, json_string(agg_names[order[i]]));
		json_object_set_new(o, "group_by", jb);
		json_object_set_new(o, "agg", ja);
		json_object_set_new(o, "metric",
				    rk->sort ? json_pack("{s:s, s:s}", "name", rk->sort,
							 "goal", rk->goal > 0 ? "maximize"
									      : "minimize")
					     : json_null());
		for (size_t gi = 0; gi < nshow; gi++) {
			const struct trow *r = &v->rows[g[gi].first];
			json_t *row = json_object();

			for (size_t i = 0; i < nby; i++) {
				json_t *pv = json_object_get(r->params, by[i]);

				json_object_set_new(row, by[i], pv ? json_incref(pv)
								   : json_null());
			}
			json_object_set_new(row, "trials",
					    json_integer((json_int_t)g[gi].ntrials));
			for (size_t m = 0; m < v->nmetric; m++) {
				json_t *mo = json_object();

				for (size_t i = 0; i < nagg; i++) {
					double x = g[gi].stat[m * AGG_N + order[i]];

					json_object_set_new(
						mo, agg_names[order[i]],
						order[i] == AGG_COUNT
							? json_integer((json_int_t)x)
						: isnan(x) ? json_null()
							   : json_real(x));
				}
				json_object_set_new(row, v->metric_keys[m], mo);
			}
			json_array_append_new(arr, row);
		}
		json_object_set_new(o, "groups", arr);
		tc_print_json(o);
		json_decref(o);
	} else {
		size_t ncol = nby + 1 + v->nmetric * nagg, c;
		const char **hdr = calloc(ncol + 1, sizeof(*hdr));
		char **names = calloc(ncol + 1, sizeof(*names));
		char **cells = calloc(ncol + 1, sizeof(*cells));
		struct tc_table *t = NULL;

		if (!hdr || !names || !cells) {
			free(hdr);
			free(names);
			free(cells);
			goto nomem;
		}
		c = 0;
		for (size_t i = 0; i < nby; i++)
			hdr[c++] = by[i];
		hdr[c++] = "trials";
		for (size_t m = 0; m < v->nmetric; m++)
			for (size_t i = 0; i < nagg; i++) {
				if (asprintf(&names[c], "%s_%s", v->metric_keys[m],
					     agg_names[order[i]]) < 0)
					names[c] = NULL;
				hdr[c] = names[c];
				c++;
			}
		t = tc_table_new(ncol, hdr);
		for (size_t i = 0; i < ncol; i++)
			cells[i] = malloc(512);
		for (size_t gi = 0; t && gi < nshow; gi++) {
			const struct trow *r = &v->rows[g[gi].first];

			c = 0;
			for (size_t i = 0; i < nby; i++)
				tc_fmt_param(json_object_get(r->params, by[i]),
					     cells[c++], 512);
			snprintf(cells[c++], 512, "%zu", g[gi].ntrials);
			for (size_t m = 0; m < v->nmetric; m++)
				for (size_t i = 0; i < nagg; i++)
					stat_text(cells[c++], 512,
						  g[gi].stat[m * AGG_N + order[i]],
						  order[i], fmt == TC_FMT_CSV);
			tc_table_add_row(t, (const char *const *)cells);
		}
		if (t)
			tc_table_write(t, stdout, fmt);
		for (size_t i = 0; i < ncol; i++) {
			free(cells[i]);
			free(names[i]);
		}
		free(cells);
		free(names);
		free(hdr);
		tc_table_free(t);
	}
	rc = TC_EXIT_OK;
	goto out;
nomem:
	fprintf(stderr, "trainctl results: out of memory\n");
	rc = TC_EXIT_FAILED;
out:
	for (size_t i = 0; g && i < ng; i++)
		free(g[i].stat);
	free(g);
	tview_groups_free(tg, ng);
	free(by);
	free(aggs);
	free(bystore);
	free(aggstore);
	return rc;
}

int cmd_results(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct ranked rk;
	enum tc_format fmt;
	long top = -1;
	size_t nshow, missing = 0;
	int rc;

	rc = tc_parse_args(argc, argv, results_opts,
			   "results NAME [--sort METRIC] [--top N] [--format FMT] "
			   "[--group-by PARAM,... [--agg AGG,...]]",
			   "One row per trial: id, state, parameters and final "
			   "metrics, best first.  Trials\nwithout the metric rank "
			   "last.  --metric re-ranks a finished experiment on a "
			   "metric\nor pattern nobody declared before it ran.  --group-by gives "
			   "one row per group\nof trials (other parameters, a seed "
			   "say, vary inside it): the mean, std, min,\nmax and count "
			   "of each metric over its succeeded trials, ranked by "
			   "the mean.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("results", "expected an experiment name");
	if (tc_get_format("results", tc_arg(&a, results_opts, "format"),
			  TC_FMT_TABLE,
			  TC_FMTS(TC_FMT_TABLE, TC_FMT_CSV, TC_FMT_JSON,
				  TC_FMT_MARKDOWN),
			  &fmt))
		return TC_EXIT_USAGE;
	if (tc_arg(&a, results_opts, "agg") && !tc_arg(&a, results_opts, "group-by"))
		return tc_usage_error("results", "--agg goes with --group-by");
	if (tc_arg(&a, results_opts, "top") &&
	    tc_arg_long("results", "top", tc_arg(&a, results_opts, "top"), 1,
			LONG_MAX, &top))
		return TC_EXIT_USAGE;
	if ((rc = load_ranked("results", &a, results_opts, &j, &rk))) {
		tview_free(&rk.v);
		tc_journal_close(j);
		return rc;
	}
	if (tc_arg(&a, results_opts, "group-by")) {
		rc = print_groups(&rk, fmt, top, tc_arg(&a, results_opts, "group-by"),
				  tc_arg(&a, results_opts, "agg"));
		tview_free(&rk.v);
		tc_journal_close(j);
		return rc;
	}
	nshow = top > 0 && (size_t)top < rk.v.n ? (size_t)top : rk.v.n;
	for (size_t i = 0; rk.sort && i < rk.v.n; i++)
		missing += !rk.v.rows[i].has_rank;

	if (fmt == TC_FMT_JSON) {
		json_t *o = json_object(), *rows = json_array(), *m = json_object();

		json_object_set_new(o, "experiment", json_string(rk.v.exp.name));
		json_object_set_new(o, "state", json_string(rk.v.exp.state));
		if (rk.sort) {
			json_object_set_new(m, "name", json_string(rk.sort));
			json_object_set_new(m, "goal", json_string(rk.goal > 0
									   ? "maximize"
									   : "minimize"));
		}
		json_object_set_new(o, "metric", rk.sort ? m : json_null());
		if (!rk.sort)
			json_decref(m);
		json_object_set_new(o, "provenance", tview_provenance(&rk.v));
		for (size_t i = 0; i < nshow; i++) {
			struct trow *r = &rk.v.rows[i];
			json_t *row = json_object();

			json_object_set_new(row, "trial", json_string(r->id));
			json_object_set_new(row, "index", json_integer(r->idx));
			json_object_set_new(row, "state",
					    json_string(tc_state_name(r->state)));
			for (size_t p = 0; p < rk.v.spec->nparams; p++) {
				json_t *pv = json_object_get(r->params,
							     rk.v.spec->params[p].name);

				if (!pv && rk.v.spec->params[p].conditional)
					continue; /* not this trial's (when:) */
				json_object_set_new(row, rk.v.spec->params[p].name,
						    pv ? json_incref(pv) : json_null());
			}
			for (size_t k = 0; k < rk.v.nmetric; k++)
				json_object_set_new(row, rk.v.metric_keys[k],
						    trow_metric_json(r, rk.v.metric_names[k]));
			json_object_set_new(row, "attempts", json_integer(r->attempt));
			json_object_set_new(row, "trial_seed", json_integer(r->seed));
			json_object_set_new(row, "command", json_incref(r->command));
			json_object_set_new(row, "wall_seconds", json_real(r->wall));
			json_object_set_new(row, "reason", r->reason ? json_string(r->reason)
								     : json_null());
			json_object_set_new(row, "notes", json_incref(r->notes));
			json_array_append_new(rows, row);
		}
		json_object_set_new(o, "trials", rows);
		tc_print_json(o);
		json_decref(o);
	} else {
		size_t ncol = 2 + rk.v.spec->nparams + rk.v.nmetric;
		const char **hdr = calloc(ncol, sizeof(*hdr));
		char **cells = calloc(ncol, sizeof(*cells));
		struct tc_table *t = NULL;

		if (hdr && cells) {
			size_t c = 0;

			hdr[c++] = "trial";
			hdr[c++] = "state";
			for (size_t p = 0; p < rk.v.spec->nparams; p++)
				hdr[c++] = rk.v.spec->params[p].name;
			for (size_t k = 0; k < rk.v.nmetric; k++)
				hdr[c++] = rk.v.metric_keys[k];
			t = tc_table_new(ncol, hdr);
			for (size_t i = 0; i < ncol; i++)
				cells[i] = malloc(256);
		}
		for (size_t i = 0; t && i < nshow; i++) {
			struct trow *r = &rk.v.rows[i];
			size_t c = 0;

			snprintf(cells[c++], 256, "%s", r->id);
			snprintf(cells[c++], 256, "%s", tc_state_name(r->state));
			for (size_t p = 0; p < rk.v.spec->nparams; p++)
				tc_fmt_param(json_object_get(r->params,
							   rk.v.spec->params[p].name),
					   cells[c++], 256);
			for (size_t k = 0; k < rk.v.nmetric; k++)
				metric_text(r, rk.v.metric_names[k],
					    fmt == TC_FMT_CSV, cells[c++], 256);
			tc_table_add_row(t, (const char *const *)cells);
		}
		if (t)
			tc_table_write(t, stdout, fmt);
		if (fmt == TC_FMT_TABLE && rk.sort && missing)
			printf("\n%zu trial%s did not report %s (ranked last)\n",
			       missing, missing == 1 ? "" : "s", rk.sort);
		if (fmt == TC_FMT_TABLE)
			tview_print_notes(&rk.v, nshow, stdout);
		for (size_t i = 0; cells && i < ncol; i++)
			free(cells[i]);
		free(cells);
		free(hdr);
		tc_table_free(t);
	}
	tview_free(&rk.v);
	tc_journal_close(j);
	return 0;
}

/* best --download DIR: the best job's declared outputs from the artifact
 * store (for a job of a {trials: S} stage that has none, its trial's).
 * 0 or an exit code. */
static int download_best(const struct ranked *rk, const struct trow *best,
			 const char *dir)
{
	const struct tc_spec *spec = rk->v.spec;
	const struct tc_stage *st = tc_spec_stage(spec, best->stage);
	const char *id = best->id;
	struct tc_s3 *s3 = NULL;
	struct tc_error err;
	int rc;

	if (!spec->artifacts.store)
		return tc_usage_error("best", "--download: experiment %s keeps no "
					      "artifacts (its spec has no "
					      "artifacts: store)",
				      rk->v.exp.name);
	if (st && !st->noutputs && st->foreach == TC_FE_TRIALS && best->item)
		id = best->item; /* a test of a trained model: the model's */
	tc_error_clear(&err);
	if ((rc = tc_artifacts_open(spec, &s3, &err)) ||
	    (rc = tc_mkdir_p(dir, 0755) ? tc_error_set(&err, TC_ERR_IO,
						      "cannot create %s: %s", dir,
						      strerror(errno))
					: 0) ||
	    (rc = tc_artifacts_download(s3, rk->v.exp.name, id, dir, &err))) {
		tc_s3_free(s3);
		if (rc == TC_ERR_NOTFOUND)
			err.code = TC_ERR_BACKEND;
		return tc_fail("best", &err);
	}
	tc_s3_free(s3);
	fprintf(stderr, "downloaded the artifacts of %s into %s\n", id, dir);
	return 0;
}

int cmd_best(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct ranked rk;
	enum tc_format fmt;
	struct trow *best = NULL;
	int rc;

	rc = tc_parse_args(argc, argv, best_opts,
			   "best NAME [--format json] [--download DIR]",
			   "The best succeeded trial by the spec's metric and goal "
			   "(or --sort/--metric):\nits id, parameters, metrics, "
			   "directory and command.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("best", "expected an experiment name");
	if (tc_get_format("best", tc_arg(&a, best_opts, "format"), TC_FMT_TABLE,
			  TC_FMTS(TC_FMT_TABLE, TC_FMT_JSON), &fmt))
		return TC_EXIT_USAGE;
	if ((rc = load_ranked("best", &a, best_opts, &j, &rk))) {
		tview_free(&rk.v);
		tc_journal_close(j);
		return rc;
	}
	if (!rk.sort) {
		tview_free(&rk.v);
		tc_journal_close(j);
		return tc_usage_error("best", "the spec declares no metric: pass "
					      "--sort METRIC or --metric NAME");
	}
	for (size_t i = 0; i < rk.v.n && !best; i++) {
		struct trow *r = &rk.v.rows[i];

		if (r->state == TC_ST_SUCCEEDED && r->has_rank && isfinite(r->rank))
			best = r;
	}
	if (!best) {
		fprintf(stderr,
			"trainctl best: no succeeded trial of '%s' reported a finite "
			"%s\n",
			rk.v.exp.name, rk.sort);
		tview_free(&rk.v);
		tc_journal_close(j);
		return TC_EXIT_FAILED;
	}
	{
		char *dir = tc_trial_dir(j, best->id);

		if (fmt == TC_FMT_JSON) {
			json_t *o = json_object();

			json_object_set_new(o, "experiment", json_string(rk.v.exp.name));
			json_object_set_new(o, "trial", json_string(best->id));
			json_object_set_new(o, "index", json_integer(best->idx));
			json_object_set_new(o, "metric", json_string(rk.sort));
			json_object_set_new(o, "goal", json_string(rk.goal > 0 ? "maximize"
									     : "minimize"));
			json_object_set_new(o, "value", json_real(best->rank));
			json_object_set_new(o, "params", json_incref(best->params));
			json_object_set_new(o, "metrics", json_incref(best->metrics));
			json_object_set_new(o, "trial_dir", json_string(dir ? dir : ""));
			json_object_set_new(o, "command", json_incref(best->command));
			json_object_set_new(o, "seed", json_integer(best->seed));
			json_object_set_new(o, "provenance", tview_provenance(&rk.v));
			tc_print_json(o);
			json_decref(o);
		} else {
			const char *k;
			json_t *v;
			char buf[256];

			printf("best trial of %s by %s (%s): %s\n", rk.v.exp.name,
			       rk.sort, rk.goal > 0 ? "maximize" : "minimize", best->id);
			printf("  %s = %.6g\n", rk.sort, best->rank);
			printf("  parameters:");
			json_object_foreach(best->params, k, v)
			{
				tc_fmt_param(v, buf, sizeof(buf));
				printf(" %s=%s", k, buf);
			}
			printf("\n  metrics:   ");
			json_object_foreach(best->metrics, k, v)
			{
				metric_text(best, k, 0, buf, sizeof(buf));
				printf(" %s=%s", k, buf);
			}
			printf("\n  directory:  %s\n  command:   ", dir ? dir : "");
			for (size_t i = 0; i < json_array_size(best->command); i++)
				printf(" %s", json_string_value(json_array_get(best->command, i)));
			printf("\n");
		}
		free(dir);
	}
	rc = tc_arg(&a, best_opts, "download")
		     ? download_best(&rk, best, tc_arg(&a, best_opts, "download"))
		     : 0;
	tview_free(&rk.v);
	tc_journal_close(j);
	return rc;
}
