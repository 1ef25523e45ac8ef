/*
 * tpe_cost.c — what one TPE suggestion costs trainctl with N observations
 * (bench/suggest_cost.sh builds it against libtccore and compares with
 * Optuna's TPESampler on the same space).
 *
 *   tpe_cost N K STATE_DIR
 *
 * prints three lines, microseconds per suggestion (median of K):
 *   ask      the sampler in memory, told N results: tc_tpe_ask alone
 *   rebuild  a new sampler told the N results, then asked once (what
 *            tc_plan_extend does besides the journal)
 *   resume   tc_plan_extend on a journal of N succeeded trials: read them,
 *            rebuild, ask, render and insert the new trial (what a run
 *            pays once, for its first adaptive trial: a resume)
 *   extend   tc_plan_extend_cached as the scheduler calls it for each
 *            adaptive trial after that: the trial it created last has
 *            succeeded since (its result recorded, not timed: that is the
 *            runner's cost of a result, not of a suggestion); read what
 *            changed, settle, ask, render and insert
 * The space: x, y uniform, lr log_uniform, n int_uniform, opt of three
 * values; the observations are random points scored by a quadratic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plan/plan.h"
#include "search/rng.h"
#include "search/search.h"
#include "search/tpe.h"
#include "spec/spec.h"
#include "store/journal.h"
#include "store/trials.h"
#include "util/clock.h"

static const char space[] =
	"version: 1\n"
	"name: cost\n"
	"command: [x, '{{x}}', '{{y}}', '{{lr}}', '{{n}}', '{{opt}}']\n"
	"parameters:\n"
	"  x: {distribution: uniform, min: -2, max: 2}\n"
	"  y: {distribution: uniform, min: -2, max: 2}\n"
	"  lr: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-1}\n"
	"  n: {distribution: int_uniform, min: 1, max: 20}\n"
	"  opt: {values: [sgd, adam, lamb]}\n"
	"metric: {name: loss, goal: minimize}\n";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int k)
{
	qsort(v, (size_t)k, sizeof(*v), cmp_d);
	return v[k / 2];
}

static double score(const struct tc_value *v)
{
	return (v[0].f - 0.3) * (v[0].f - 0.3) + (v[1].f + 0.2) * (v[1].f + 0.2);
}

static void die(const char *what, const struct tc_error *err)
{
	fprintf(stderr, "tpe_cost: %s: %s\n", what, err->msg);
	exit(1);
}

/* Trial idx succeeds with its score (in a transaction of its own when
 * own). */
static void succeed(struct tc_journal *j, struct tc_trials *tr,
		    const struct tc_spec *js, long long idx, int own)
{
	char id[16];
	struct tc_trial_row row;
	struct tc_error err;
	json_t *p;
	struct tc_value *v = calloc(js->nparams, sizeof(*v));
	unsigned char *pr = calloc(js->nparams, 1);
	char(*tx)[40] = calloc(js->nparams, sizeof(*tx));

	if ((own && tc_journal_begin(j, &err)) ||
	    tc_trials_find_idx(tr, idx, id, &err) ||
	    tc_trials_get(tr, id, &row, &err) != 1)
		die("get", &err);
	p = json_loads(row.params, 0, NULL);
	tc_trial_values_from_json(js, p, v, pr, tx);
	if (tc_trials_mark_starting(tr, id, 1, NULL, NULL, &err) ||
	    tc_trials_final_set(tr, id, 1, "loss", 1, score(v), &err) ||
	    tc_trials_finish(tr, id,
			     &(struct tc_trial_outcome){.state = TC_ST_SUCCEEDED,
							.has_exit = 1,
							.ended_at = tc_now()},
			     &err) ||
	    (own && tc_journal_commit(j, &err)))
		die("finish", &err);
	json_decref(p);
	tc_trial_row_free(&row);
	free(v);
	free(pr);
	free(tx);
}

static struct tc_spec *load(const char *extra)
{
	char text[2048];
	struct tc_spec *s = NULL;
	struct tc_error err;

	snprintf(text, sizeof(text), "%s%s", space, extra);
	if (tc_spec_parse("cost.yaml", text, strlen(text), &s, &err))
		die("spec", &err);
	return s;
}

/* A sampler told n random points with their scores (startup 10). */
static struct tc_tpe *told(const struct tc_spec *s, int n)
{
	struct tc_tpe_options o;
	struct tc_tpe *t;
	struct tc_error err;
	struct tc_tpe *r;

	tc_tpe_defaults(&o);
	o.goal = -1;
	o.seed = 1;
	if (tc_tpe_new(s, &o, &r, &err))
		die("new", &err);
	/* random points: a sampler with a large startup draws them */
	o.startup = (unsigned)n + 1;
	if (tc_tpe_new(s, &o, &t, &err))
		die("new", &err);
	for (int i = 0; i < n; i++) {
		const struct tc_value *v;
		const unsigned char *pr;

		if (tc_tpe_ask(t, &v, &pr, NULL, &err) != 1 ||
		    tc_tpe_tell(r, v, pr, TC_TPE_COMPLETE, score(v), &err) < 0)
			die("tell", &err);
	}
	tc_tpe_free(t);
	return r;
}

int main(int argc, char **argv)
{
	int n, k;
	double *dt;
	struct tc_error err;
	struct tc_spec *s;
	struct tc_tpe *t;

	if (argc != 4) {
		fprintf(stderr, "usage: tpe_cost N K STATE_DIR\n");
		return 2;
	}
	n = atoi(argv[1]);
	k = atoi(argv[2]);
	if (n < 1 || k < 1 || !(dt = calloc((size_t)k, sizeof(*dt))))
		return 2;
	s = load("search: {method: tpe, trials: 100000, seed: 1}\n");

	/* ask: one sampler, asked k times (each ask adds a pending point) */
	t = told(s, n);
	for (int i = 0; i < k; i++) {
		const struct tc_value *v;
		const unsigned char *pr;
		double t0 = now();

		if (tc_tpe_ask(t, &v, &pr, NULL, &err) != 1)
			die("ask", &err);
		dt[i] = now() - t0;
	}
	printf("ask %.1f\n", median(dt, k) * 1e6);
	tc_tpe_free(t);

	/* rebuild: tell everything again, then ask */
	{
		struct tc_tpe *src;
		/* the told points, kept to tell again */
		struct tc_value *pts = calloc((size_t)n * s->nparams, sizeof(*pts));
		double *ys = calloc((size_t)n, sizeof(*ys));
		struct tc_tpe_options o;

		tc_tpe_defaults(&o);
		o.goal = -1;
		o.seed = 1;
		o.startup = (unsigned)n + 1;
		if (tc_tpe_new(s, &o, &src, &err))
			die("new", &err);
		for (int i = 0; i < n; i++) {
			const struct tc_value *v;
			const unsigned char *pr;

			if (tc_tpe_ask(src, &v, &pr, NULL, &err) != 1)
				die("ask", &err);
			memcpy(&pts[(size_t)i * s->nparams], v,
			       s->nparams * sizeof(*v));
			/* texts point into the sampler: not needed to tell */
			for (size_t p = 0; p < s->nparams; p++)
				if (pts[(size_t)i * s->nparams + p].type != TC_V_STR)
					pts[(size_t)i * s->nparams + p].text = "";
			ys[i] = score(v);
		}
		for (int r = 0; r < k; r++) {
			const struct tc_value *v;
			const unsigned char *pr;
			struct tc_tpe *u;
			double t0 = now();

			o.startup = 10;
			if (tc_tpe_new(s, &o, &u, &err))
				die("new", &err);
			for (int i = 0; i < n; i++)
				if (tc_tpe_tell(u, &pts[(size_t)i * s->nparams], NULL,
						TC_TPE_COMPLETE, ys[i], &err) < 0)
					die("tell", &err);
			if (tc_tpe_ask(u, &v, &pr, NULL, &err) != 1)
				die("ask", &err);
			dt[r] = now() - t0;
			tc_tpe_free(u);
		}
		printf("rebuild %.1f\n", median(dt, k) * 1e6);
		tc_tpe_free(src);
		free(pts);
		free(ys);
	}

	/* extend: from a journal of n succeeded trials */
	{
		char extra[128];
		struct tc_spec *js;
		struct tc_journal *j;
		struct tc_trials *tr;
		struct tc_provenance prov;
		struct tc_plan_cache *cache = NULL;
		int done;

		snprintf(extra, sizeof(extra),
			 "search: {method: tpe, trials: %d, startup: %d, seed: 1}\n",
			 n + 2 * k + 2, n);
		js = load(extra);
		if (tc_journal_open(argv[3], &j, &err))
			die("journal", &err);
		memset(&prov, 0, sizeof(prov));
		prov.git_dirty = -1;
		if (tc_plan_create(j, js, "local", NULL, "/cost.yaml", 1, &prov, &err))
			die("create", &err);
		if (!(tr = tc_trials_open(j, "cost", &err)))
			die("trials", &err);
		if (tc_journal_begin(j, &err))
			die("begin", &err);
		for (int i = 0; i < n; i++)
			succeed(j, tr, js, i, 0);
		if (tc_journal_commit(j, &err))
			die("commit", &err);
		/* resume: a sampler rebuilt from the journal */
		for (int r = 0; r < k; r++) {
			double t0 = now();

			if (tc_plan_extend(j, js, NULL, 1, &done, &err) != 1)
				die("extend", &err);
			dt[r] = now() - t0;
			succeed(j, tr, js, n + r, 1);
		}
		printf("resume %.1f\n", median(dt, k) * 1e6);
		/* extend: the run's sampler kept between its extends */
		if (tc_plan_extend_cached(j, js, NULL, 1, &done, &cache, &err) != 1)
			die("extend", &err);
		for (int r = 0; r < k; r++) {
			double t0;

			succeed(j, tr, js, n + k + r, 1);
			t0 = now();
			if (tc_plan_extend_cached(j, js, NULL, 1, &done, &cache,
						  &err) != 1)
				die("extend", &err);
			dt[r] = now() - t0;
		}
		printf("extend %.1f\n", median(dt, k) * 1e6);
		tc_plan_cache_free(cache);
		tc_trials_close(tr);
		tc_journal_close(j);
		tc_spec_free(js);
	}
	tc_spec_free(s);
	free(dt);
	return 0;
}
