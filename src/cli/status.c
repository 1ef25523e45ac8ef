/*
 * status.c — `trainctl status`, `trainctl ls` and `trainctl report`: what
 * experiments exist, how far one has come, and what it cost.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/query.h"
#include "exec/backend.h"
#include "policy/policy.h"
#include "search/search.h"
#include "store/series.h"
#include "store/experiment.h"
#include "store/trials.h"

/* ---- ls ------------------------------------------------------------------ */

static const struct tc_opt ls_opts[] = {
	{"format", 'o', 1, "FMT", "table (default), csv, json or markdown"},
	{NULL, 0, 0, NULL, NULL},
};

struct ls_ctx {
	struct tc_journal *j;
	json_t *arr;
	struct tc_table *t;
};

static int ls_row(void *vctx, const struct tc_exp_summary *e)
{
	struct ls_ctx *c = vctx;
	const char *state = e->state;
	const long long n[5] = {e->ntrials, e->queued, e->running, e->succeeded,
				e->failed};
	char cell[6][32];
	const char *cells[8];

	/* a "running" experiment whose runner is gone was interrupted */
	if (!tc_backend_running(c->j, e->name) && !strcmp(state, "running"))
		state = "interrupted";
	for (int k = 0; k < 5; k++)
		snprintf(cell[k], sizeof(cell[k]), "%lld", n[k]);
	tc_fmt_time(cell[5], sizeof(cell[5]), e->created_at);
	cells[0] = e->name;
	cells[1] = state;
	for (int k = 0; k < 5; k++)
		cells[2 + k] = cell[k];
	cells[7] = cell[5];
	tc_table_add_row(c->t, cells);
	json_array_append_new(
		c->arr, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
				  "name", e->name, "state", state, "trials",
				  (json_int_t)e->ntrials, "queued",
				  (json_int_t)e->queued, "running",
				  (json_int_t)e->running, "succeeded",
				  (json_int_t)e->succeeded, "failed",
				  (json_int_t)e->failed, "cancelled",
				  (json_int_t)e->cancelled, "created_at", cell[5]));
	return 0;
}

static int list_experiments(const char *verb, const char *state_flag,
			    enum tc_format fmt)
{
	struct tc_journal *j = NULL;
	struct tc_error err;
	json_t *arr = json_array();
	static const char *const hdr[] = {"name",   "state",   "trials",
					  "queued", "running", "succeeded",
					  "failed", "created"};
	struct tc_table *t = tc_table_new(8, hdr);
	struct ls_ctx c;
	int rc;

	tc_error_clear(&err);
	if ((rc = tc_open_readonly(state_flag, &j, &err))) {
		json_decref(arr);
		tc_table_free(t);
		if (rc == TC_ERR_NOTFOUND && fmt != TC_FMT_JSON) {
			printf("no experiments (%s)\n", err.msg);
			return 0;
		}
		if (rc == TC_ERR_NOTFOUND) {
			printf("[]\n");
			return 0;
		}
		return tc_fail(verb, &err);
	}
	c.j = j;
	c.arr = arr;
	c.t = t;
	if (tc_experiment_list(j, ls_row, &c, &err)) {
		tc_journal_close(j);
		json_decref(arr);
		tc_table_free(t);
		return tc_fail(verb, &err);
	}
	if (fmt == TC_FMT_JSON)
		tc_print_json(arr);
	else
		tc_table_write(t, stdout, fmt);
	json_decref(arr);
	tc_table_free(t);
	tc_journal_close(j);
	return 0;
}

int cmd_ls(int argc, char **argv)
{
	struct tc_args a;
	enum tc_format fmt;
	int rc = tc_parse_args(argc, argv, ls_opts, "ls [--format FMT]",
			       "List the experiments of the state directory.", &a);

	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 0)
		return tc_usage_error("ls", "takes no arguments");
	if (tc_get_format("ls", tc_arg(&a, ls_opts, "format"), TC_FMT_TABLE,
			  TC_FMTS(TC_FMT_TABLE, TC_FMT_CSV, TC_FMT_JSON,
				  TC_FMT_MARKDOWN),
			  &fmt))
		return TC_EXIT_USAGE;
	return list_experiments("ls", tc_arg(&a, ls_opts, "state-dir"), fmt);
}

/* ---- status -------------------------------------------------------------- */

static const struct tc_opt status_opts[] = {
	{"format", 'o', 1, "FMT", "table (default), csv, json or markdown"},
	{"watch", 'w', 0, NULL, "redraw every second until the experiment stops"},
	{NULL, 0, 0, NULL, NULL},
};

static int add_changed(void *ctx, const char *trial, const char *detail)
{
	json_object_set_new(ctx, trial, json_true());
	return 0;
}

/* The trials of an experiment whose command or env was changed by a
 * re-plan after they were planned (a "command changed" or "env changed"
 * event, plan/plan.c): an object with their ids as keys. */
static json_t *changed_trials(struct tc_journal *j, const char *name)
{
	struct tc_error err;
	json_t *set = json_object();
	struct tc_trials *tr;

	tc_error_clear(&err);
	if (!set || !(tr = tc_trials_open(j, name, &err)))
		return set;
	if (tc_trials_events(tr, "command changed", add_changed, set, &err) == 0)
		tc_trials_events(tr, "env changed", add_changed, set, &err);
	tc_trials_close(tr);
	return set;
}

/* A pipeline's stages: one line each in the table, an object in JSON. */
struct stage_sum {
	json_t *stages; /* name -> {counts, wall, cpu} */
};

static int stage_row(void *ctx, const char *stage, int state, long long n,
		     double wall, double cpu)
{
	struct stage_sum *ss = ctx;
	json_t *o = json_object_get(ss->stages, stage);

	if (!o) {
		o = json_object();
		json_object_set_new(o, "jobs", json_integer(0));
		json_object_set_new(o, "counts", json_object());
		json_object_set_new(o, "wall_s", json_real(0));
		json_object_set_new(o, "cpu_s", json_real(0));
		json_object_set_new(ss->stages, stage, o);
	}
	if (state >= 0)
		json_object_set_new(json_object_get(o, "counts"),
				    tc_state_name(state), json_integer(n));
	json_object_set_new(o, "jobs", json_integer(json_integer_value(
					       json_object_get(o, "jobs")) + n));
	json_object_set_new(o, "wall_s", json_real(json_real_value(
				json_object_get(o, "wall_s")) + wall));
	json_object_set_new(o, "cpu_s", json_real(json_real_value(
				json_object_get(o, "cpu_s")) + cpu));
	return 0;
}

/* The stages of experiment name (NULL when it is no pipeline). */
static json_t *stage_summary(struct tc_journal *j, const char *name)
{
	struct stage_sum ss = {json_object()};
	struct tc_error err;
	struct tc_trials *tr;

	tc_error_clear(&err);
	if (!ss.stages || !(tr = tc_trials_open(j, name, &err))) {
		json_decref(ss.stages);
		return NULL;
	}
	if (tc_trials_stage_summary(tr, stage_row, &ss, &err) ||
	    json_object_size(ss.stages) == 0) {
		json_decref(ss.stages);
		ss.stages = NULL;
	}
	tc_trials_close(tr);
	return ss.stages;
}

static void print_stages(json_t *stages)
{
	const char *name;
	json_t *o;

	printf("%-24s  %6s  %9s  %9s  %s\n", "stage", "jobs", "wall", "cpu",
	       "states");
	json_object_foreach(stages, name, o) {
		const char *st;
		json_t *n;

		printf("%-24s  %6lld  %8.1fs  %8.1fs ", name,
		       (long long)json_integer_value(json_object_get(o, "jobs")),
		       json_real_value(json_object_get(o, "wall_s")),
		       json_real_value(json_object_get(o, "cpu_s")));
		json_object_foreach(json_object_get(o, "counts"), st, n)
			printf(" %lld %s", (long long)json_integer_value(n), st);
		printf("\n");
	}
	printf("\n");
}

static int show_one(struct tc_journal *j, const char *name, enum tc_format fmt,
		    int *running, int *created)
{
	struct tview v;
	struct tc_error err;
	long long counts[TC_ST_COUNT] = {0};
	int rc, live;
	const char *state, *reason;
	json_t *changed, *stages;

	tc_error_clear(&err);
	if ((rc = tview_load(j, name, &v, &err))) {
		tview_free(&v);
		return tc_fail("status", &err);
	}
	changed = changed_trials(j, name);
	stages = v.spec->nstages ? stage_summary(j, name) : NULL;
	for (size_t i = 0; i < v.n; i++)
		if (v.rows[i].state >= 0)
			counts[v.rows[i].state]++;
	state = v.exp.state;
	live = tc_backend_running(j, name);
	*running = live;
	*created = !strcmp(state, "created");
	if (!live && !strcmp(state, "running"))
		state = "interrupted";
	/* a runner killed while it waited (for a GPU) said so last */
	reason = tc_backend_of(&v.exp)->live_reason;
	for (size_t i = 0; !live && reason && i < v.n; i++)
		if (v.rows[i].reason && !strcmp(v.rows[i].reason, reason)) {
			free(v.rows[i].reason);
			v.rows[i].reason = NULL;
		}
	if (fmt == TC_FMT_JSON) {
		json_t *o = json_object(), *c = json_object(), *rows = json_array();

		json_object_set_new(o, "experiment", json_string(v.exp.name));
		json_object_set_new(o, "state", json_string(state));
		for (int s = 0; s < TC_ST_COUNT; s++)
			json_object_set_new(c, tc_state_name(s), json_integer(counts[s]));
		json_object_set_new(o, "total", json_integer((json_int_t)v.n));
		json_object_set_new(o, "counts", c);
		if (stages)
			json_object_set_new(o, "stages", json_incref(stages));
		if (v.spec->search.method == TC_SEARCH_TPE)
			json_object_set_new(o, "search", tview_search(&v));
		for (size_t i = 0; i < v.n; i++) {
			struct trow *r = &v.rows[i];
			json_t *row = json_object();

			json_object_set_new(row, "trial", json_string(r->id));
			json_object_set_new(row, "index", json_integer(r->idx));
			if (stages) {
				json_object_set_new(row, "stage", json_string(r->stage));
				json_object_set_new(row, "item", r->item ? json_string(r->item)
									 : json_null());
			}
			json_object_set_new(row, "state", json_string(tc_state_name(r->state)));
			for (size_t p = 0; p < v.spec->nparams; p++) {
				json_t *pv = json_object_get(r->params, v.spec->params[p].name);

				if (!pv && v.spec->params[p].conditional)
					continue; /* not this trial's (when:) */
				json_object_set_new(row, v.spec->params[p].name,
						    pv ? json_incref(pv) : json_null());
			}
			for (size_t k = 0; k < v.nmetric; k++)
				json_object_set_new(row, v.metric_keys[k],
						    trow_metric_json(r, v.metric_names[k]));
			json_object_set_new(row, "attempts", json_integer(r->attempt));
			json_object_set_new(row, "reason", r->reason ? json_string(r->reason)
								     : json_null());
			json_object_set_new(row, "notes", json_incref(r->notes));
			json_object_set_new(row, "command_changed",
					    json_boolean(json_object_get(changed, r->id)));
			json_array_append_new(rows, row);
		}
		json_object_set_new(o, "trials", rows);
		tc_print_json(o);
		json_decref(o);
	} else {
		size_t ncol = 4 + !!stages + v.spec->nparams + v.nmetric;
		const char **hdr = calloc(ncol + 1, sizeof(*hdr));
		char (*cells)[256] = calloc(ncol + 1, sizeof(*cells));
		const char **cp = calloc(ncol + 1, sizeof(*cp));
		struct tc_table *t = NULL;

		if (hdr && cells && cp) {
			size_t c = 0;

			hdr[c++] = "index";
			hdr[c++] = "trial";
			if (stages)
				hdr[c++] = "job";
			hdr[c++] = "state";
			for (size_t p = 0; p < v.spec->nparams; p++)
				hdr[c++] = v.spec->params[p].name;
			for (size_t k = 0; k < v.nmetric; k++)
				hdr[c++] = v.metric_keys[k];
			hdr[c++] = "reason";
			t = tc_table_new(ncol, hdr);
		}
		if (fmt == TC_FMT_TABLE) {
			if (v.spec->search.method == TC_SEARCH_TPE)
				printf("experiment %s: %s, %zu of %" PRIu64
				       " trials created (tpe):",
				       v.exp.name, state, v.n,
				       v.spec->search.trials);
			else
				printf("experiment %s: %s, %zu trials:", v.exp.name,
				       state, v.n);
			for (int s = 0; s < TC_ST_COUNT; s++)
				if (counts[s])
					printf(" %lld %s", counts[s], tc_state_name(s));
			printf("\n\n");
			if (stages)
				print_stages(stages);
		}
		for (size_t i = 0; t && i < v.n; i++) {
			struct trow *r = &v.rows[i];
			size_t c = 0;

			snprintf(cells[c++], 256, "%lld", r->idx);
			snprintf(cells[c++], 256, "%s", r->id);
			if (stages)
				tview_job_name(r, cells[c++], 256);
			snprintf(cells[c++], 256, "%s", tc_state_name(r->state));
			for (size_t p = 0; p < v.spec->nparams; p++)
				tc_fmt_param(json_object_get(r->params, v.spec->params[p].name),
					   cells[c++], 256);
			for (size_t k = 0; k < v.nmetric; k++) {
				double val;
				const char *sp;
				int has = json_object_get(r->metrics, v.metric_names[k]) &&
					  trow_metric(r, v.metric_names[k], &val, &sp);

				(fmt == TC_FMT_CSV ? tc_fmt_metric_exact
						   : tc_fmt_metric)(cells[c++], 256,
								    has, val, sp);
			}
			snprintf(cells[c++], 256, "%s", r->reason ? r->reason : "");
			for (size_t k = 0; k < ncol; k++)
				cp[k] = cells[k];
			tc_table_add_row(t, cp);
		}
		if (t)
			tc_table_write(t, stdout, fmt);
		if (fmt == TC_FMT_TABLE) {
			size_t nch = json_object_size(changed);

			tview_print_notes(&v, v.n, stdout);
			if (nch)
				printf("%zu trial%s run%s a newer command than "
				       "first planned (a re-plan changed it; see "
				       "the journal's events)\n",
				       nch, nch == 1 ? "" : "s", nch == 1 ? "s" : "");
		}
		tc_table_free(t);
		free(hdr);
		free(cells);
		free(cp);
	}
	json_decref(changed);
	json_decref(stages);
	tview_free(&v);
	return 0;
}

int cmd_status(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct tc_error err;
	enum tc_format fmt;
	int rc, running = 0, created = 0, waited = 0;

	rc = tc_parse_args(argc, argv, status_opts, "status [NAME] [--watch] [--format FMT]",
			   "Without NAME: the experiments and their counts.  With "
			   "NAME: that experiment's\ntrials, their states, "
			   "parameters and latest metrics.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos > 1)
		return tc_usage_error("status", "expected at most one experiment name");
	if (tc_get_format("status", tc_arg(&a, status_opts, "format"), TC_FMT_TABLE,
			  TC_FMTS(TC_FMT_TABLE, TC_FMT_CSV, TC_FMT_JSON,
				  TC_FMT_MARKDOWN),
			  &fmt))
		return TC_EXIT_USAGE;
	if (a.npos == 0)
		return list_experiments("status", tc_arg(&a, status_opts, "state-dir"),
					fmt);
	tc_error_clear(&err);
	if ((rc = tc_open_readonly(tc_arg(&a, status_opts, "state-dir"), &j, &err)))
		return tc_fail("status", &err);
	for (;;) {
		int tty = isatty(STDOUT_FILENO);

		if (tc_arg(&a, status_opts, "watch") && tty)
			printf("\033[H\033[2J");
		rc = show_one(j, a.pos[0], fmt, &running, &created);
		fflush(stdout);
		/* a just-created experiment whose runner is starting: wait a
		 * little for it */
		if (rc || !tc_arg(&a, status_opts, "watch") ||
		    (!running && !(created && waited++ < 10)))
			break;
		if (!tty)
			printf("\n");
		sleep(1);
	}
	tc_journal_close(j);
	return rc;
}

/* ---- report -------------------------------------------------------------- */

static const struct tc_opt report_opts[] = {
	{"format", 'o', 1, "FMT", "table (default), csv, json or markdown"},
	{"html", 0, 1, "FILE",
	 "write a self-contained HTML report (tables, curves, plots) to FILE"},
	{"by", 0, 1, "PARAM,...",
	 "the compute table by groups of these parameters, and the search's cost"},
	{"policy", 0, 1, "P",
	 "flag trials that left their GPUs idle by this cluster policy: nrp "
	 "(default), strict or a file"},
	{NULL, 0, 0, NULL, NULL},
};

/* The gpu_utilisation rule of a cluster policy over a finished run: the
 * trials that reported the policy's metric and never reached its minimum,
 * as {trial: highest value}.  NULL when the rule does not apply (no GPUs
 * requested, no such rule); an empty object when no trial is flagged. */
struct gpu_walk {
	const struct tc_policy *p;
	json_t *flagged;
};

static int gpu_each(void *ctx, const char *trial, double max)
{
	struct gpu_walk *w = ctx;

	if (tc_policy_gpu_idle(w->p, 1, max))
		json_object_set_new(w->flagged, trial, json_real(max));
	return 0;
}

static int gpu_underused(struct tc_journal *j, const struct tview *v,
			 const char *which, struct tc_policy **pol,
			 json_t **out, struct tc_error *err)
{
	struct gpu_walk w = {0};
	int rc;

	*out = NULL;
	if (v->spec->resources.gpu <= 0)
		return 0;
	if ((rc = tc_policy_load(which, pol, err)))
		return rc;
	if (!(*pol)->gpu_metric)
		return 0;
	w.p = *pol;
	if (!(w.flagged = json_object()))
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if ((rc = tc_series_trial_max(j, v->exp.name, (*pol)->gpu_metric,
				      gpu_each, &w, err))) {
		json_decref(w.flagged);
		return rc;
	}
	*out = w.flagged;
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct tc_args a;
	struct tc_journal *j = NULL;
	struct tc_error err;
	struct tview v;
	enum tc_format fmt;
	double tw, tc, tg, tp, first, last;
	long long peak;
	struct tview_totals tt;
	struct tc_policy *pol = NULL;
	json_t *idle = NULL;
	int rc, gpu;

	rc = tc_parse_args(argc, argv, report_opts, "report NAME [--format FMT] [--by PARAM,...] [--html FILE]",
			   "Compute accounting per trial and in total: wall time, "
			   "CPU time (user + system),\npeak memory (RSS), and "
			   "GPU-hours (requested GPUs x wall time).  Every attempt\n"
			   "counts, retries included.  On Kubernetes wall time starts "
			   "with the container;\nthe time before, from the Job's "
			   "creation, is shown as pending.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("report", "expected an experiment name");
	if (tc_get_format("report", tc_arg(&a, report_opts, "format"), TC_FMT_TABLE,
			  TC_FMTS(TC_FMT_TABLE, TC_FMT_CSV, TC_FMT_JSON,
				  TC_FMT_MARKDOWN),
			  &fmt))
		return TC_EXIT_USAGE;
	tc_error_clear(&err);
	if ((rc = tc_open_readonly(tc_arg(&a, report_opts, "state-dir"), &j, &err)) ||
	    (rc = tview_load(j, a.pos[0], &v, &err))) {
		if (j)
			tview_free(&v);
		tc_journal_close(j);
		return tc_fail("report", &err);
	}
	if ((rc = tview_pending(j, &v, &err))) {
		tview_free(&v);
		tc_journal_close(j);
		return tc_fail("report", &err);
	}
	if (tc_arg(&a, report_opts, "html") && tc_arg(&a, report_opts, "by")) {
		tview_free(&v);
		tc_journal_close(j);
		return tc_usage_error("report", "--html writes its own compute "
						"tables: --by goes without it");
	}
	if (tc_arg(&a, report_opts, "html")) {
		const char *path = tc_arg(&a, report_opts, "html");
		const char *metric = v.spec->metric.name;
		int goal = metric ? tview_goal_for(&v, metric, 0) : 0;

		if (metric)
			tview_rank(&v, metric, goal);
		rc = tc_report_html(j, &v, metric, goal, path, &err);
		tview_free(&v);
		tc_journal_close(j);
		if (rc)
			return tc_fail("report", &err);
		printf("%s\n", path);
		return TC_EXIT_OK;
	}
	if (tc_arg(&a, report_opts, "by")) {
		const char *metric = v.spec->metric.name;

		if (metric)
			tview_rank(&v, metric, tview_goal_for(&v, metric, 0));
		rc = tc_report_by(j, &v, tc_arg(&a, report_opts, "by"), fmt, &err);
		tview_free(&v);
		tc_journal_close(j);
		if (rc == TC_ERR_USAGE)
			return tc_usage_error("report", "--by: %s", err.msg);
		return rc ? tc_fail("report", &err) : TC_EXIT_OK;
	}
	gpu = tc_spec_trial_gpus(v.spec);
	if ((rc = gpu_underused(j, &v,
				tc_arg(&a, report_opts, "policy")
					? tc_arg(&a, report_opts, "policy")
					: "nrp",
				&pol, &idle, &err))) {
		tview_free(&v);
		tc_journal_close(j);
		return rc == TC_ERR_SPEC || rc == TC_ERR_USAGE
			       ? tc_fail_spec("report", &err)
			       : tc_fail("report", &err);
	}
	{
		tview_totals(&v, &tt);
		tw = tt.wall;
		tc = tt.cpu;
		tg = gpu * tt.wall / 3600.0;
		tp = tt.pending;
		peak = tt.peak_rss_kb;
		first = tt.first;
		last = tt.last;
	}
	if (fmt == TC_FMT_JSON) {
		json_t *o = json_object(), *rows = json_array();

		json_object_set_new(o, "experiment", json_string(v.exp.name));
		json_object_set_new(o, "provenance", tview_provenance(&v));
		if (v.spec->search.method == TC_SEARCH_TPE)
			json_object_set_new(o, "search", tview_search(&v));
		for (size_t i = 0; i < v.n; i++) {
			struct trow *r = &v.rows[i];

			json_array_append_new(
				rows,
				json_pack("{s:s, s:I, s:s, s:i, s:f, s:f, s:f, s:f, s:f, s:I, s:i, s:f}",
					  "trial", r->id, "index", (json_int_t)r->idx,
					  "state", tc_state_name(r->state), "attempts",
					  r->attempt, "wall_seconds", r->total_wall,
					  "pending_seconds", r->pending,
					  "cpu_seconds", r->total_cpu, "user_seconds",
					  r->utime, "system_seconds", r->stime,
					  "peak_rss_kb", (json_int_t)r->maxrss_kb,
					  "gpus", gpu, "gpu_hours",
					  gpu * r->total_wall / 3600.0));
		}
		json_object_set_new(o, "trials", rows);
		if (v.spec->nstages) {
			json_t *stages = stage_summary(j, v.exp.name);

			if (stages)
				json_object_set_new(o, "stages", stages);
		}
		if (idle)
			json_object_set_new(
				o, "gpu_underused",
				json_pack("{s:s, s:s, s:f, s:O}", "policy",
					  pol->name, "metric", pol->gpu_metric,
					  "min_percent", pol->gpu_min,
					  "trials", idle));
		json_object_set_new(
			o, "total",
			json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:f}", "trials",
				  (json_int_t)v.n, "wall_seconds", tw,
				  "pending_seconds", tp, "cpu_seconds", tc,
				  "cpu_hours", tc / 3600.0, "gpu_hours", tg,
				  "peak_rss_kb", (json_int_t)peak,
				  "elapsed_seconds", last > first ? last - first : 0.0));
		if (v.spec->early_stop.method != TC_ES_NONE ||
		    tt.counts[TC_ST_PRUNED])
			json_object_set_new(
				o, "early_stop",
				json_pack("{s:I, s:I, s:f, s:f, s:f}", "pruned",
					  (json_int_t)tt.counts[TC_ST_PRUNED],
					  "estimated_from",
					  (json_int_t)tt.full, "saved_wall_seconds",
					  tt.saved_wall, "saved_cpu_hours",
					  tt.saved_cpu / 3600.0, "saved_gpu_hours",
					  gpu * tt.saved_wall / 3600.0));
		tc_print_json(o);
		json_decref(o);
	} else {
		static const char *const hdr[] = {
			"trial", "state", "attempts", "wall", "pending", "cpu",
			"cpu_util", "peak_rss_mib", "gpus", "gpu_hours"};
		enum { NCOL = sizeof(hdr) / sizeof(hdr[0]) };
		struct tc_table *t = tc_table_new(NCOL, hdr);
		char c[NCOL][64];
		const char *cp[NCOL];

		if (fmt == TC_FMT_TABLE) {
			char el[32];

			tc_fmt_duration(el, sizeof(el), last > first ? last - first : 0);
			printf("experiment %s  (spec %.12s, trainctl %s, host %s%s%s%s)\n\n",
			       v.exp.name, v.exp.spec_hash, v.exp.tc_version, v.exp.host,
			       v.exp.git_commit ? ", commit " : "",
			       v.exp.git_commit ? v.exp.git_commit : "",
			       v.exp.git_dirty > 0 ? " (dirty)" : "");
			if (v.spec->search.method == TC_SEARCH_TPE)
				printf("tpe search: %zu of %" PRIu64
				       " trials created\n\n",
				       v.n, v.spec->search.trials);
		}
		for (int k = 0; k < NCOL; k++)
			cp[k] = c[k];
		for (size_t i = 0; i < v.n; i++) {
			struct trow *r = &v.rows[i];

			snprintf(c[0], 64, "%s", r->id);
			snprintf(c[1], 64, "%s", tc_state_name(r->state));
			snprintf(c[2], 64, "%d", r->attempt);
			snprintf(c[3], 64, "%.2f", r->total_wall);
			snprintf(c[4], 64, "%.2f", r->pending);
			snprintf(c[5], 64, "%.2f", r->total_cpu);
			snprintf(c[6], 64, "%.2f",
				 r->total_wall > 0 ? r->total_cpu / r->total_wall : 0.0);
			snprintf(c[7], 64, "%.1f", (double)r->maxrss_kb / 1024.0);
			snprintf(c[8], 64, "%d", gpu);
			snprintf(c[9], 64, "%.4f", gpu * r->total_wall / 3600.0);
			tc_table_add_row(t, cp);
		}
		snprintf(c[0], 64, "total");
		snprintf(c[1], 64, "%zu trials", v.n);
		snprintf(c[2], 64, "-");
		snprintf(c[3], 64, "%.2f", tw);
		snprintf(c[4], 64, "%.2f", tp);
		snprintf(c[5], 64, "%.2f", tc);
		snprintf(c[6], 64, "%.2f", tw > 0 ? tc / tw : 0.0);
		snprintf(c[7], 64, "%.1f", (double)peak / 1024.0);
		snprintf(c[8], 64, "-");
		snprintf(c[9], 64, "%.4f", tg);
		tc_table_add_row(t, cp);
		tc_table_write(t, stdout, fmt);
		if (fmt == TC_FMT_TABLE) {
			char el[32], w[32], pd[32];

			tc_fmt_duration(el, sizeof(el), last > first ? last - first : 0);
			tc_fmt_duration(w, sizeof(w), tw);
			tc_fmt_duration(pd, sizeof(pd), tp);
			printf("\nwall time %s over %s elapsed; %.3f CPU-hours; %.3f "
			       "GPU-hours; peak RSS %.1f MiB; pending %s (not "
			       "in wall time)\n",
			       w, el, tc / 3600.0, tg, (double)peak / 1024.0, pd);
			if (tt.counts[TC_ST_PRUNED] && tt.full)
				printf("early stopping: %lld trial%s pruned, about "
				       "%.3f CPU-hours and %.3f GPU-hours saved "
				       "(%.0f s of wall time; estimated from the "
				       "%lld trial%s that ran to the end)\n",
				       tt.counts[TC_ST_PRUNED],
				       tt.counts[TC_ST_PRUNED] == 1 ? "" : "s",
				       tt.saved_cpu / 3600.0,
				       gpu * tt.saved_wall / 3600.0, tt.saved_wall,
				       tt.full, tt.full == 1 ? "" : "s");
			else if (tt.counts[TC_ST_PRUNED])
				printf("early stopping: %lld trial%s pruned (no "
				       "trial ran to the end to estimate what "
				       "that saved)\n",
				       tt.counts[TC_ST_PRUNED],
				       tt.counts[TC_ST_PRUNED] == 1 ? "" : "s");
		}
		if (fmt == TC_FMT_TABLE && v.spec->nstages) {
			json_t *stages = stage_summary(j, v.exp.name);

			if (stages) {
				printf("\nper stage (`report %s --by stage` for "
				       "hours and memory):\n", v.exp.name);
				print_stages(stages);
			}
			json_decref(stages);
		}
		if (fmt == TC_FMT_TABLE && idle && json_object_size(idle)) {
			const char *id;
			json_t *mx;

			printf("\npolicy %s: GPUs requested but left idle (%s "
			       "stayed under %g%%):\n",
			       pol->name, pol->gpu_metric, pol->gpu_min);
			json_object_foreach(idle, id, mx)
				printf("  trial %s: %s at most %g\n", id,
				       pol->gpu_metric, json_real_value(mx));
		}
		tc_table_free(t);
	}
	json_decref(idle);
	tc_policy_free(pol);
	tview_free(&v);
	tc_journal_close(j);
	return 0;
}
