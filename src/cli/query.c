/*
 * query.c — see query.h.
 */
#include "cli/query.h"
#include "search/search.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "exec/backend.h"
#include "metrics/metrics.h"
#include "store/series.h"
#include "store/trials.h"
#include "util/fsutil.h"

static int add_name(struct tview *v, const char *name)
{
	char **nn;

	for (size_t i = 0; i < v->nmetric; i++)
		if (!strcmp(v->metric_names[i], name))
			return 0;
	nn = realloc(v->metric_names, (v->nmetric + 1) * sizeof(*nn));
	if (!nn)
		return -1;
	v->metric_names = nn;
	if (!(nn[v->nmetric] = strdup(name)))
		return -1;
	v->nmetric++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect_names(struct tview *v)
{
	size_t first = 0;

	for (size_t i = 0; i < v->nmetric; i++) {
		free(v->metric_names[i]);
		if (v->metric_keys)
			free(v->metric_keys[i]);
	}
	free(v->metric_keys);
	v->metric_keys = NULL;
	v->nmetric = 0;
	if (v->spec->metric.name) {
		add_name(v, v->spec->metric.name);
		first = 1;
	}
	for (size_t r = 0; r < v->n; r++) {
		const char *k;
		json_t *val;

		json_object_foreach(v->rows[r].metrics, k, val) add_name(v, k);
	}
	if (v->nmetric > first)
		qsort(v->metric_names + first, v->nmetric - first,
		      sizeof(char *), cmp_names);
	v->metric_keys = calloc(v->nmetric + 1, sizeof(char *));
	for (size_t i = 0; v->metric_keys && i < v->nmetric; i++) {
		const char *n = v->metric_names[i];
		int clash = tc_is_reserved_column(n) ||
			    tc_spec_param_index(v->spec, n, strlen(n)) >= 0;

		if (clash && asprintf(&v->metric_keys[i], "metric.%s", n) < 0)
			v->metric_keys[i] = NULL;
		if (!v->metric_keys[i])
			v->metric_keys[i] = strdup(n);
	}
}

/* What tview_load's readers share. */
struct load_ctx {
	struct tview *v;
	size_t cap, at;
	const struct tc_backend *be; /* asked why a starting trial waits */
	struct tc_journal *j;
	const char *name;
};

static int load_row(void *vctx, const struct tc_trial_row *t)
{
	struct load_ctx *c = vctx;
	struct tview *v = c->v;
	struct trow *r;

	if (v->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct trow *nr = realloc(v->rows, ncap * sizeof(*nr));

		if (!nr)
			return TC_ERR_NOMEM;
		v->rows = nr;
		c->cap = ncap;
	}
	r = &v->rows[v->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", t->id);
	r->idx = t->idx;
	r->state = t->state;
	r->params = json_loads(t->params, 0, NULL);
	r->command = json_loads(t->command, 0, NULL);
	r->reason = t->reason ? strdup(t->reason) : NULL;
	r->stage = t->stage ? strdup(t->stage) : NULL;
	r->item = t->item ? strdup(t->item) : NULL;
	r->stage_json = t->stage ? json_string(t->stage) : NULL;
	r->attempt = t->attempt;
	r->has_exit = t->has_exit;
	r->exit_code = t->exit_code;
	r->started_at = t->started_at;
	r->ended_at = t->ended_at;
	r->wall = t->wall;
	r->utime = t->utime;
	r->stime = t->stime;
	r->total_wall = t->total_wall;
	r->total_cpu = t->total_cpu;
	r->maxrss_kb = t->maxrss_kb;
	r->seed = t->seed;
	snprintf(r->gpus, sizeof(r->gpus), "%s", t->gpus ? t->gpus : "");
	r->metrics = json_object();
	r->notes = json_array();
	if (!r->params)
		r->params = json_object();
	if (r->state == TC_ST_STARTING && !r->reason && c->be->waiting)
		r->reason = c->be->waiting(c->j, c->name, r->idx, r->attempt);
	return 0;
}

/* final values come in the rows' own order (idx): one merge pass */
static int load_final(void *vctx, const char *tid, const char *mname,
		      double value, const char *special)
{
	struct load_ctx *c = vctx;
	struct tview *v = c->v;

	while (c->at < v->n && strcmp(v->rows[c->at].id, tid) != 0)
		c->at++;
	if (c->at == v->n)
		return 1; /* stop */
	json_object_set_new(v->rows[c->at].metrics, mname,
			    special ? json_string(special) : json_real(value));
	return 0;
}

/* notes (rare): each to its trial */
static int load_note(void *vctx, const char *tid, const char *text)
{
	struct load_ctx *c = vctx;
	struct tview *v = c->v;

	for (size_t i = 0; text && i < v->n; i++)
		if (strcmp(v->rows[i].id, tid) == 0) {
			json_array_append_new(v->rows[i].notes, json_string(text));
			break;
		}
	return 0;
}

int tview_load(struct tc_journal *j, const char *name, struct tview *v,
	       struct tc_error *err)
{
	struct load_ctx c = {v, 0, 0, NULL, j, name};
	struct tc_trials *tr;
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = tc_experiment_load(j, name, &v->exp, err)))
		return rc;
	c.be = tc_backend_of(&v->exp);
	if ((rc = tc_spec_parse_recorded(v->exp.spec_path, v->exp.spec_text,
					 strlen(v->exp.spec_text), &v->spec,
					 err)))
		return rc;
	if (!(tr = tc_trials_open(j, name, err)))
		return TC_ERR_NOMEM;
	rc = tc_trials_scan(tr, load_row, &c, err);
	if (rc == TC_ERR_NOMEM)
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if (!rc && (rc = tc_trials_finals(tr, load_final, &c, err)) == 1)
		rc = 0;
	if (!rc)
		rc = tc_trials_events(tr, TC_TRIALS_NOTE, load_note, &c, err);
	tc_trials_close(tr);
	if (rc)
		return rc;
	collect_names(v);
	return 0;
}

void tview_free(struct tview *v)
{
	for (size_t i = 0; i < v->n; i++) {
		json_decref(v->rows[i].params);
		json_decref(v->rows[i].command);
		json_decref(v->rows[i].metrics);
		json_decref(v->rows[i].notes);
		free(v->rows[i].reason);
		free(v->rows[i].stage);
		free(v->rows[i].item);
		json_decref(v->rows[i].stage_json);
	}
	free(v->rows);
	free(v->by_id);
	for (size_t i = 0; i < v->nmetric; i++) {
		free(v->metric_names[i]);
		if (v->metric_keys)
			free(v->metric_keys[i]);
	}
	free(v->metric_names);
	free(v->metric_keys);
	tc_spec_free(v->spec);
	tc_exp_info_free(&v->exp);
	memset(v, 0, sizeof(*v));
}

struct reparse_ctx {
	json_t *metrics;
};

static int on_value(void *vctx, const char *name, double step, double value)
{
	struct reparse_ctx *c = vctx;

	(void)step;
	if (isfinite(value))
		json_object_set_new(c->metrics, name, json_real(value));
	else
		json_object_set_new(c->metrics, name,
				    json_string(isnan(value) ? "nan"
						: value > 0  ? "inf"
							     : "-inf"));
	return 0;
}

int tview_reparse(struct tview *v, struct tc_journal *j, const char *regex,
		  struct tc_error *err)
{
	struct tc_metric_regex *re = NULL;
	static const char *const files[] = {"stdout.log", "stderr.log",
					    "metrics.jsonl"};

	if (regex && !(re = tc_metric_regex_new(regex, err)))
		return TC_ERR_USAGE;
	for (size_t i = 0; i < v->n; i++) {
		struct trow *r = &v->rows[i];
		struct reparse_ctx c;
		char *dir = tc_trial_dir(j, r->id);

		/* values parsed again overlay the recorded ones */
		c.metrics = r->metrics;
		for (int f = 0; dir && f < 3; f++) {
			char path[PATH_MAX];
			char *buf;
			size_t len;
			struct tc_collector *col;

			snprintf(path, sizeof(path), "%s/%s", dir, files[f]);
			if (tc_read_file(path, (size_t)1 << 34, &buf, &len) != 0)
				continue;
			col = tc_collector_new(f == 2 ? TC_SRC_JSONL : TC_SRC_TEXT,
					       f == 2 ? NULL : re, 1);
			if (col) {
				tc_collector_feed(col, buf, len, on_value, &c);
				tc_collector_finish(col, on_value, &c);
				tc_collector_free(col);
			}
			free(buf);
		}
		free(dir);
	}
	tc_metric_regex_free(re);
	collect_names(v);
	return 0;
}

int trow_metric(const struct trow *r, const char *name, double *v,
		const char **special)
{
	json_t *m = json_object_get(r->metrics, name);

	*special = NULL;
	if (!m) {
		/* a parameter can be a sort key too */
		m = json_object_get(r->params, name);
		if (!json_is_number(m))
			return 0;
	}
	if (json_is_number(m)) {
		*v = json_number_value(m);
		return 1;
	}
	if (json_is_string(m)) {
		*special = json_string_value(m);
		if (tc_metrics_parse_number(*special, strlen(*special), v) != 0)
			*v = NAN;
		return 1;
	}
	return 0;
}

json_t *trow_metric_json(const struct trow *r, const char *name)
{
	json_t *m = json_object_get(r->metrics, name);

	return m ? json_incref(m) : json_null();
}

int tview_goal_for(const struct tview *v, const char *name, int goal)
{
	if (goal)
		return goal;
	if (v->spec->metric.name && !strcmp(name, v->spec->metric.name))
		return v->spec->metric.goal;
	if (strcasestr(name, "loss") || strcasestr(name, "err"))
		return -1;
	return 1;
}

static int g_goal;

static int cmp_rows(const void *a, const void *b)
{
	const struct trow *x = a, *y = b;
	/* succeeded, then pruned (stopped early: its last value is a
	 * partial result), then the rest */
	int sx = x->state == TC_ST_SUCCEEDED ? 0 : x->state == TC_ST_PRUNED ? 1 : 2;
	int sy = y->state == TC_ST_SUCCEEDED ? 0 : y->state == TC_ST_PRUNED ? 1 : 2;
	int c;

	/* trials without the metric last; among those with it, succeeded
	 * ones first: a failed trial's last value is no result */
	if (x->has_rank != y->has_rank)
		return x->has_rank ? -1 : 1;
	if (sx != sy)
		return sx < sy ? -1 : 1;
	c = tc_metric_cmp(x->rank, x->has_rank, y->rank, y->has_rank, g_goal);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void tview_rank(struct tview *v, const char *name, int goal)
{
	free(v->by_id); /* the rows move */
	v->by_id = NULL;
	g_goal = tview_goal_for(v, name, goal);
	for (size_t i = 0; i < v->n; i++) {
		const char *sp;

		v->rows[i].has_rank = trow_metric(&v->rows[i], name,
						  &v->rows[i].rank, &sp);
	}
	qsort(v->rows, v->n, sizeof(*v->rows), cmp_rows);
}

void tview_print_notes(const struct tview *v, size_t n, FILE *f)
{
	int first = 1;

	for (size_t i = 0; i < n && i < v->n; i++) {
		size_t k;
		json_t *note;

		json_array_foreach(v->rows[i].notes, k, note)
		{
			fprintf(f, "%snote: %s: %s\n", first ? "\n" : "",
				v->rows[i].id, json_string_value(note));
			first = 0;
		}
	}
}

json_t *tview_search(const struct tview *v)
{
	return json_pack("{s:s, s:I, s:I}", "method",
			 tc_search_method_name(v->spec->search.method), "trials",
			 (json_int_t)v->spec->search.trials, "created",
			 (json_int_t)v->n);
}

json_t *tview_provenance(const struct tview *v)
{
	json_t *o = json_object();

	json_object_set_new(o, "spec_path", json_string(v->exp.spec_path));
	json_object_set_new(o, "spec_sha256", json_string(v->exp.spec_hash));
	json_object_set_new(o, "trainctl_version", json_string(v->exp.tc_version));
	json_object_set_new(o, "host", json_string(v->exp.host));
	json_object_set_new(o, "git_commit", v->exp.git_commit
						     ? json_string(v->exp.git_commit)
						     : json_null());
	json_object_set_new(o, "git_dirty", v->exp.git_dirty < 0
						    ? json_null()
						    : json_boolean(v->exp.git_dirty));
	json_object_set_new(o, "seed", json_integer((json_int_t)v->exp.seed));
	json_object_set_new(o, "created_at", json_real(v->exp.created_at));
	return o;
}

/* ---- groups of rows ------------------------------------------------------ */

/* A row's group key: its values of the grouping parameters. */
static char *group_key(const struct trow *r, const char *const *by, size_t nby)
{
	size_t cap = 64, len = 0;
	char *k = malloc(cap);

	for (size_t i = 0; k && i < nby; i++) {
		char val[512];
		size_t n;

		tc_fmt_param(tview_by_value(r, by[i]), val, sizeof(val));
		n = strlen(val);
		if (len + n + 2 > cap) {
			char *nk;

			while (len + n + 2 > cap)
				cap *= 2;
			if (!(nk = realloc(k, cap))) {
				free(k);
				return NULL;
			}
			k = nk;
		}
		memcpy(k + len, val, n);
		len += n;
		k[len++] = '\x1f';
	}
	if (k)
		k[len] = '\0';
	return k;
}

struct keyed {
	char *key;
	size_t row;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->row > y->row) - (x->row < y->row);
}

static int cmp_first_row(const void *a, const void *b)
{
	const struct tgroup *x = a, *y = b;

	return (x->rows[0] > y->rows[0]) - (x->rows[0] < y->rows[0]);
}

int tview_group(const struct tview *v, const char *const *by, size_t nby,
		struct tgroup **out, size_t *ngroups, struct tc_error *err)
{
	struct keyed *kr;
	struct tgroup *g;
	size_t ng = 0;
	int rc = 0;

	*out = NULL;
	*ngroups = 0;
	for (size_t i = 0; i < nby; i++) {
		size_t p;
		char names[1024] = "";

		for (p = 0; p < v->spec->nparams; p++)
			if (!strcmp(v->spec->params[p].name, by[i]))
				break;
		if (p < v->spec->nparams ||
		    (v->spec->nstages && !strcmp(by[i], "stage")))
			continue;
		for (p = 0; p < v->spec->nparams; p++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names),
				 "%s%s", p ? ", " : "", v->spec->params[p].name);
		return tc_error_set(err, TC_ERR_USAGE,
				    "'%s' is not a parameter of %s (its "
				    "parameters: %s)",
				    by[i], v->exp.name, names);
	}
	kr = calloc(v->n + 1, sizeof(*kr));
	g = calloc(v->n + 1, sizeof(*g));
	if (!kr || !g)
		goto nomem;
	for (size_t i = 0; i < v->n; i++) {
		kr[i].row = i;
		if (!(kr[i].key = group_key(&v->rows[i], by, nby)))
			goto nomem;
	}
	qsort(kr, v->n, sizeof(*kr), cmp_keyed);
	for (size_t i = 0; i < v->n;) {
		size_t k = i;

		while (k < v->n && !strcmp(kr[k].key, kr[i].key))
			k++;
		if (!(g[ng].rows = calloc(k - i, sizeof(size_t))))
			goto nomem;
		for (size_t m = i; m < k; m++)
			g[ng].rows[g[ng].n++] = kr[m].row;
		ng++;
		i = k;
	}
	qsort(g, ng, sizeof(*g), cmp_first_row);
	*out = g;
	*ngroups = ng;
	g = NULL;
	goto out;
nomem:
	rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
out:
	for (size_t i = 0; kr && i < v->n; i++)
		free(kr[i].key);
	free(kr);
	tview_groups_free(g, ng);
	return rc;
}

void tview_groups_free(struct tgroup *g, size_t ngroups)
{
	for (size_t i = 0; g && i < ngroups; i++)
		free(g[i].rows);
	free(g);
}

/* ---- rows by id, totals -------------------------------------------------- */

static int cmp_by_id(const void *a, const void *b, void *ctx)
{
	const struct tview *v = ctx;

	return strcmp(v->rows[*(const size_t *)a].id,
		      v->rows[*(const size_t *)b].id);
}

long tview_find(struct tview *v, const char *id)
{
	size_t lo = 0, hi = v->n;

	if (!v->by_id) {
		if (!(v->by_id = malloc((v->n + 1) * sizeof(*v->by_id))))
			return -2;
		for (size_t i = 0; i < v->n; i++)
			v->by_id[i] = i;
		qsort_r(v->by_id, v->n, sizeof(*v->by_id), cmp_by_id, v);
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v->rows[v->by_id[mid]].id, id);

		if (c == 0)
			return (long)v->by_id[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int on_pending(void *ctx, const char *trial, double secs)
{
	struct tview *v = ctx;
	long r = tview_find(v, trial);

	if (r == -2)
		return TC_ERR_NOMEM;
	if (r >= 0)
		v->rows[r].pending = secs;
	return 0;
}

int tview_pending(struct tc_journal *j, struct tview *v, struct tc_error *err)
{
	int rc = tc_series_pending(j, v->exp.name, on_pending, v, err);

	if (rc == TC_ERR_NOMEM && !err->code)
		tc_error_set(err, rc, "out of memory");
	return rc;
}

void tview_totals(const struct tview *v, struct tview_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < v->n; i++) {
		const struct trow *r = &v->rows[i];

		if (r->state >= 0 && r->state < TC_ST_COUNT)
			t->counts[r->state]++;
		t->wall += r->total_wall;
		t->cpu += r->total_cpu;
		t->pending += r->pending;
		if (r->maxrss_kb > t->peak_rss_kb)
			t->peak_rss_kb = r->maxrss_kb;
		if (r->started_at > 0 && (t->first == 0 || r->started_at < t->first))
			t->first = r->started_at;
		if (r->ended_at > t->last)
			t->last = r->ended_at;
	}
	{
		double fw = 0, fc = 0;

		for (size_t i = 0; i < v->n; i++)
			if (v->rows[i].state == TC_ST_SUCCEEDED) {
				fw += v->rows[i].wall;
				fc += v->rows[i].utime + v->rows[i].stime;
				t->full++;
			}
		for (size_t i = 0; t->full && i < v->n; i++) {
			const struct trow *r = &v->rows[i];

			if (r->state != TC_ST_PRUNED)
				continue;
			if (fw / t->full > r->wall)
				t->saved_wall += fw / t->full - r->wall;
			if (fc / t->full > r->utime + r->stime)
				t->saved_cpu += fc / t->full - r->utime - r->stime;
		}
	}
}

void tview_job_name(const struct trow *r, char *buf, size_t len)
{
	const char *item = r->item && r->item[0] ? r->item : NULL;
	const char *sl = item ? strrchr(item, '/') : NULL;

	if (sl && sl[1])
		item = sl + 1;
	if (!r->stage)
		snprintf(buf, len, "-");
	else if (item)
		snprintf(buf, len, "%s/%s", r->stage, item);
	else
		snprintf(buf, len, "%s", r->stage);
}

json_t *tview_by_value(const struct trow *r, const char *name)
{
	json_t *pv = json_object_get(r->params, name);

	if (!pv && !strcmp(name, "stage"))
		pv = r->stage_json;
	return pv;
}
