/*
 * report_by.c — `trainctl report NAME --by PARAM,...`: the compute table
 * papers print, one row per group of trials (per model, per dataset):
 * trials and how they ended, epochs (the largest step reported), wall,
 * CPU and GPU hours, peak memory and peak GPU memory; then what the
 * search cost: the hours spent on failed trials and the hours spent until
 * the best trial finished.
 *
 * GPU-hours are the GPUs a trial requested times its wall time, every
 * attempt counted; on Kubernetes wall time starts with the container, and
 * the time its attempts waited for it (unschedulable, queued, pulling an
 * image) is the pending column (rows' pending: the caller loads it with
 * tview_pending).  Peak GPU memory is the
 * largest value of the metric `gpu_mem_mib` a trial reported (any
 * backend).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/query.h"
#include "store/series.h"

#define GPU_MEM_METRIC "gpu_mem_mib"

/* Per row: its largest step and its peak GPU memory (NAN: none). */
struct per_row {
	struct tview *v;
	double *epochs, *gpu_mem;
	double *target;
};

static int on_max(void *ctx, const char *trial, double max)
{
	struct per_row *p = ctx;
	long r = tview_find(p->v, trial);

	if (r == -2)
		return TC_ERR_NOMEM;
	if (r >= 0)
		p->target[r] = max;
	return 0;
}

struct gstat {
	size_t trials, succeeded, failed, cancelled, other;
	double epochs, wall, cpu, gpu, gpu_mem, pending;
	long long rss_kb;
};

static void stat_add(struct gstat *s, const struct trow *r, int gpus,
		     double epochs, double gpu_mem)
{
	s->pending += r->pending;
	s->trials++;
	if (r->state == TC_ST_SUCCEEDED)
		s->succeeded++;
	else if (r->state == TC_ST_FAILED || r->state == TC_ST_TIMED_OUT)
		s->failed++;
	else if (r->state == TC_ST_CANCELLED)
		s->cancelled++;
	else
		s->other++;
	if (!isnan(epochs) && (isnan(s->epochs) || epochs > s->epochs))
		s->epochs = epochs;
	if (!isnan(gpu_mem) && (isnan(s->gpu_mem) || gpu_mem > s->gpu_mem))
		s->gpu_mem = gpu_mem;
	s->wall += r->total_wall;
	s->cpu += r->total_cpu;
	s->gpu += gpus * r->total_wall;
	if (r->maxrss_kb > s->rss_kb)
		s->rss_kb = r->maxrss_kb;
}

static void num(char *buf, size_t len, double x, const char *fmt)
{
	if (isnan(x))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, x);
}

int tc_report_by(struct tc_journal *j, struct tview *v, const char *by_arg,
		 enum tc_format fmt, struct tc_error *err)
{
	char *store = NULL;
	const char **by = NULL;
	size_t nby = tc_split_list(by_arg, &store, &by), ng = 0;
	struct tgroup *g = NULL;
	struct per_row p;
	struct gstat *gs = NULL;
	int gpus = tc_spec_trial_gpus(v->spec), rc;
	const struct trow *best = NULL;
	double failed_wall = 0, until_wall = 0;

	memset(&p, 0, sizeof(p));
	p.v = v;
	if (!by || nby == 0) {
		rc = by ? tc_error_set(err, TC_ERR_USAGE,
				       "--by takes parameter names separated "
				       "by commas")
			: tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = tview_group(v, by, nby, &g, &ng, err)))
		goto out;
	p.epochs = calloc(v->n + 1, sizeof(*p.epochs));
	p.gpu_mem = calloc(v->n + 1, sizeof(*p.gpu_mem));
	gs = calloc(ng + 1, sizeof(*gs));
	if (!p.epochs || !p.gpu_mem || !gs) {
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < v->n; i++)
		p.epochs[i] = p.gpu_mem[i] = NAN;
	p.target = p.epochs;
	if ((rc = tc_series_trial_max(j, v->exp.name, NULL, on_max, &p, err)))
		goto out;
	p.target = p.gpu_mem;
	if ((rc = tc_series_trial_max(j, v->exp.name, GPU_MEM_METRIC, on_max, &p,
				      err)))
		goto out;
	for (size_t k = 0; k < ng; k++) {
		gs[k].epochs = gs[k].gpu_mem = NAN;
		for (size_t i = 0; i < g[k].n; i++) {
			size_t r = g[k].rows[i];

			stat_add(&gs[k], &v->rows[r], gpus, p.epochs[r],
				 p.gpu_mem[r]);
		}
	}
	/* what the search cost: failed attempts, and until the best ended */
	for (size_t i = 0; i < v->n; i++)
		if (v->rows[i].has_rank && v->rows[i].state == TC_ST_SUCCEEDED &&
		    v->rows[i].ended_at > 0) {
			best = &v->rows[i];
			break;
		}
	for (size_t i = 0; i < v->n; i++) {
		const struct trow *r = &v->rows[i];

		if (r->state == TC_ST_FAILED || r->state == TC_ST_TIMED_OUT)
			failed_wall += r->total_wall;
		if (!best)
			continue;
		if (r->ended_at > 0 && r->ended_at <= best->ended_at)
			until_wall += r->total_wall;
		else if (r->started_at > 0 && r->started_at < best->ended_at)
			until_wall += best->ended_at - r->started_at;
	}

	if (fmt == TC_FMT_JSON) {
		json_t *o = json_object(), *arr = json_array(), *jb = json_array();

		json_object_set_new(o, "experiment", json_string(v->exp.name));
		for (size_t i = 0; i < nby; i++)
			json_array_append_new(jb, json_string(by[i]));
		json_object_set_new(o, "by", jb);
		for (size_t k = 0; k < ng; k++) {
			const struct trow *r = &v->rows[g[k].rows[0]];
			json_t *row = json_object();

			for (size_t i = 0; i < nby; i++) {
				json_t *pv = tview_by_value(r, by[i]);

				json_object_set_new(row, by[i],
						    pv ? json_incref(pv) : json_null());
			}
			json_object_set_new(row, "trials", json_integer((json_int_t)gs[k].trials));
			json_object_set_new(row, "succeeded", json_integer((json_int_t)gs[k].succeeded));
			json_object_set_new(row, "failed", json_integer((json_int_t)gs[k].failed));
			json_object_set_new(row, "cancelled", json_integer((json_int_t)gs[k].cancelled));
			json_object_set_new(row, "epochs", isnan(gs[k].epochs) ? json_null()
									: json_real(gs[k].epochs));
			json_object_set_new(row, "wall_hours", json_real(gs[k].wall / 3600));
			json_object_set_new(row, "cpu_hours", json_real(gs[k].cpu / 3600));
			json_object_set_new(row, "gpu_hours", json_real(gs[k].gpu / 3600));
			json_object_set_new(row, "pending_hours", json_real(gs[k].pending / 3600));
			json_object_set_new(row, "peak_rss_mib", json_real(gs[k].rss_kb / 1024.0));
			json_object_set_new(row, "peak_gpu_mem_mib",
					    isnan(gs[k].gpu_mem) ? json_null()
								 : json_real(gs[k].gpu_mem));
			json_array_append_new(arr, row);
		}
		json_object_set_new(o, "groups", arr);
		json_object_set_new(
			o, "search_cost",
			json_pack("{s:f, s:f, s:o, s:o, s:o}", "failed_wall_hours",
				  failed_wall / 3600, "failed_gpu_hours",
				  gpus * failed_wall / 3600, "best_trial",
				  best ? json_string(best->id) : json_null(),
				  "until_best_wall_hours",
				  best ? json_real(until_wall / 3600) : json_null(),
				  "until_best_gpu_hours",
				  best ? json_real(gpus * until_wall / 3600) : json_null()));
		tc_print_json(o);
		json_decref(o);
	} else {
		static const char *const fixed[] = {
			"trials", "succeeded", "failed", "cancelled", "epochs",
			"wall_hours", "cpu_hours", "gpu_hours", "pending_hours",
			"peak_rss_mib", "peak_gpu_mem_mib"};
		size_t nf = sizeof(fixed) / sizeof(fixed[0]), ncol = nby + nf;
		const char **hdr = calloc(ncol + 1, sizeof(*hdr));
		char **cells = calloc(ncol + 1, sizeof(*cells));
		struct tc_table *t = NULL;

		if (hdr && cells) {
			for (size_t i = 0; i < nby; i++)
				hdr[i] = by[i];
			for (size_t i = 0; i < nf; i++)
				hdr[nby + i] = fixed[i];
			t = tc_table_new(ncol, hdr);
			for (size_t i = 0; i < ncol; i++)
				cells[i] = malloc(256);
		}
		for (size_t k = 0; t && k < ng; k++) {
			const struct trow *r = &v->rows[g[k].rows[0]];
			size_t c = 0;

			for (size_t i = 0; i < nby; i++)
				tc_fmt_param(tview_by_value(r, by[i]), cells[c++],
					     256);
			snprintf(cells[c++], 256, "%zu", gs[k].trials);
			snprintf(cells[c++], 256, "%zu", gs[k].succeeded);
			snprintf(cells[c++], 256, "%zu", gs[k].failed);
			snprintf(cells[c++], 256, "%zu", gs[k].cancelled);
			num(cells[c++], 256, gs[k].epochs, "%.6g");
			snprintf(cells[c++], 256, "%.4f", gs[k].wall / 3600);
			snprintf(cells[c++], 256, "%.4f", gs[k].cpu / 3600);
			snprintf(cells[c++], 256, "%.4f", gs[k].gpu / 3600);
			snprintf(cells[c++], 256, "%.4f", gs[k].pending / 3600);
			snprintf(cells[c++], 256, "%.1f", gs[k].rss_kb / 1024.0);
			num(cells[c++], 256, gs[k].gpu_mem, "%.6g");
			tc_table_add_row(t, (const char *const *)cells);
		}
		if (t)
			tc_table_write(t, stdout, fmt);
		if (fmt == TC_FMT_TABLE) {
			printf("\nsearch cost: %.4f wall-hours (%.4f GPU-hours) on "
			       "failed trials",
			       failed_wall / 3600, gpus * failed_wall / 3600);
			if (best)
				printf("; %.4f wall-hours (%.4f GPU-hours) until the "
				       "best trial (%s) finished",
				       until_wall / 3600, gpus * until_wall / 3600,
				       best->id);
			printf("\n");
		}
		for (size_t i = 0; cells && i < ncol; i++)
			free(cells[i]);
		free(cells);
		free(hdr);
		tc_table_free(t);
	}
	rc = 0;
out:
	if (rc && !err->code) /* (what a callback returned) */
		tc_error_set(err, rc, "out of memory");
	tview_groups_free(g, ng);
	free(gs);
	free(p.epochs);
	free(p.gpu_mem);
	free(by);
	free(store);
	return rc;
}
