/*
 * results.c — `trainctl results` and `trainctl best`: one row per trial
 * with its parameters and final metrics, ranked; and the best of them.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/query.h"
#include "search/search.h"

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
	{NULL, 0, 0, NULL, NULL},
};

/* best prints one trial: as text or as JSON (for a CSV row, results --top 1) */
static const struct tc_opt best_opts[] = {
	RANK_OPTS,
	{"format", 'o', 1, "FMT", "table (default) or json"},
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
			   "results NAME [--sort METRIC] [--top N] [--format FMT]",
			   "One row per trial: id, state, parameters and final "
			   "metrics, best first.  Trials\nwithout the metric rank "
			   "last.  --metric re-ranks a finished experiment on a "
			   "metric\nor pattern nobody declared before it ran.",
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
	if (tc_arg(&a, results_opts, "top") &&
	    tc_arg_long("results", "top", tc_arg(&a, results_opts, "top"), 1,
			LONG_MAX, &top))
		return TC_EXIT_USAGE;
	if ((rc = load_ranked("results", &a, results_opts, &j, &rk))) {
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

int cmd_best(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct ranked rk;
	enum tc_format fmt;
	struct trow *best = NULL;
	int rc;

	rc = tc_parse_args(argc, argv, best_opts, "best NAME [--format json]",
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
	tview_free(&rk.v);
	tc_journal_close(j);
	return 0;
}
