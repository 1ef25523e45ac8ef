/*
 * prune.c — the early-stopping rules of prune.h.
 */
#include "exec/prune.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

#define RUNGS_MAX 64
#define BRACKETS_MAX 16

struct val {
	double v;
	int has;
};

struct rung {
	double step;
	struct val *vals;
	size_t n, cap;
};

struct bracket {
	struct rung rungs[RUNGS_MAX];
	int nrungs;
};

struct ptrial {
	char id[16];
	int bracket;
	int next_rung; /* the first rung not passed */
	int stopped;
	/* median: this attempt's samples, in step order */
	double *steps;
	struct val *vals;
	size_t n, cap;
};

struct tc_pruner {
	enum tc_es_method method;
	int goal;
	double min_step, max_step, rf;
	int min_trials;
	char metric[128];

	struct bracket br[BRACKETS_MAX];
	int nbr;
	int cycle[1024]; /* bracket of index i mod ncycle */
	int ncycle;

	struct ptrial **slots; /* open addressing by id */
	size_t nslots, ntrials;
	struct ptrial **all;   /* in the order first seen */

	struct val *scratch;
	size_t capscratch;
};

static uint64_t hash_id(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 0x100000001b3ULL;
	return h;
}

/* Rungs of a bracket whose first rung is at step base. */
static void bracket_init(struct tc_pruner *p, struct bracket *b, double base)
{
	double step = base;

	b->nrungs = 0;
	while (b->nrungs < RUNGS_MAX && (p->max_step <= 0 || step < p->max_step)) {
		b->rungs[b->nrungs++].step = step;
		step *= p->rf;
	}
}

struct tc_pruner *tc_pruner_new(const struct tc_spec *spec)
{
	struct tc_pruner *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->method = spec->early_stop.method;
	p->goal = spec->early_stop.goal ? spec->early_stop.goal : 1;
	p->min_step = spec->early_stop.min_step;
	p->max_step = spec->early_stop.max_step;
	p->rf = spec->early_stop.reduction_factor > 1
			? spec->early_stop.reduction_factor
			: 3;
	p->min_trials = spec->early_stop.min_trials > 0
				? spec->early_stop.min_trials
				: 1;
	snprintf(p->metric, sizeof(p->metric), "%s",
		 spec->early_stop.metric ? spec->early_stop.metric : "metric");
	if (p->method == TC_ES_HYPERBAND) {
		/* s = ⌊log_rf(max/min)⌋, with a little slack for rounding */
		int s = (int)floor(log(p->max_step / p->min_step) / log(p->rf) +
				   1e-9);

		if (s < 0)
			s = 0;
		if (s > BRACKETS_MAX - 1)
			s = BRACKETS_MAX - 1;
		p->nbr = s + 1;
		for (int b = 0; b <= s; b++) {
			double n = ceil((double)(s + 1) / (double)(s - b + 1) *
					pow(p->rf, s - b));

			bracket_init(p, &p->br[b], p->min_step * pow(p->rf, b));
			for (int k = 0; k < (int)n && p->ncycle < 1024; k++)
				p->cycle[p->ncycle++] = b;
		}
	} else {
		p->nbr = 1;
		bracket_init(p, &p->br[0], p->min_step);
		p->cycle[p->ncycle++] = 0;
	}
	return p;
}

void tc_pruner_free(struct tc_pruner *p)
{
	if (!p)
		return;
	for (int b = 0; b < p->nbr; b++)
		for (int k = 0; k < p->br[b].nrungs; k++)
			free(p->br[b].rungs[k].vals);
	for (size_t i = 0; i < p->ntrials; i++) {
		free(p->all[i]->steps);
		free(p->all[i]->vals);
		free(p->all[i]);
	}
	free(p->all);
	free(p->slots);
	free(p->scratch);
	free(p);
}

static struct ptrial **slot_of(struct tc_pruner *p, const char *id)
{
	size_t mask = p->nslots - 1, i = (size_t)hash_id(id) & mask;

	while (p->slots[i] && strcmp(p->slots[i]->id, id) != 0)
		i = (i + 1) & mask;
	return &p->slots[i];
}

static int grow(struct tc_pruner *p)
{
	size_t n = p->nslots ? p->nslots * 2 : 64;
	struct ptrial **old = p->slots, **all;
	size_t nold = p->nslots;

	all = realloc(p->all, n / 2 * sizeof(*all));
	if (!all)
		return -1;
	p->all = all;
	p->slots = calloc(n, sizeof(*p->slots));
	if (!p->slots) {
		p->slots = old;
		return -1;
	}
	p->nslots = n;
	for (size_t i = 0; i < nold; i++)
		if (old[i])
			*slot_of(p, old[i]->id) = old[i];
	free(old);
	return 0;
}

static struct ptrial *trial_of(struct tc_pruner *p, const char *id,
			       long long idx)
{
	struct ptrial **sl, *t;

	if (p->nslots) {
		sl = slot_of(p, id);
		if (*sl)
			return *sl;
	}
	if ((p->ntrials + 1) * 2 > p->nslots && grow(p))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->bracket = p->cycle[(unsigned long long)(idx < 0 ? 0 : idx) %
			      (unsigned long long)p->ncycle];
	*slot_of(p, id) = t;
	p->all[p->ntrials++] = t;
	return t;
}

static int push_val(struct val **a, size_t *n, size_t *cap, struct val v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct val *na = realloc(*a, nc * sizeof(*na));

		if (!na)
			return -1;
		*a = na;
		*cap = nc;
	}
	(*a)[(*n)++] = v;
	return 0;
}

static void value_text(struct val v, char *buf, size_t len)
{
	if (v.has)
		snprintf(buf, len, "%.6g", v.v);
	else
		snprintf(buf, len, "none");
}

/* asha and hyperband: the rungs this sample passes. */
static int rungs_observe(struct tc_pruner *p, struct ptrial *t, double step,
			 struct val v, int act, char *why, size_t len)
{
	struct bracket *b = &p->br[t->bracket];
	int stop = 0;

	while (t->next_rung < b->nrungs && step >= b->rungs[t->next_rung].step) {
		struct rung *r = &b->rungs[t->next_rung++];
		size_t better = 0, keep;

		if (push_val(&r->vals, &r->n, &r->cap, v))
			return -1;
		if (!act || t->stopped || stop)
			continue;
		for (size_t i = 0; i + 1 < r->n; i++)
			better += tc_metric_cmp(r->vals[i].v, r->vals[i].has, v.v,
						v.has, p->goal) < 0;
		keep = (size_t)floor((double)r->n / p->rf);
		if (keep < 1)
			keep = 1;
		if (better + 1 > keep) {
			char a[32], s[32];

			value_text(v, a, sizeof(a));
			snprintf(s, sizeof(s), "%g", r->step);
			snprintf(why, len,
				 "pruned at step %s: %s %s ranks %zu of %zu at "
				 "rung %s (best %zu go on)",
				 s, p->metric, a, better + 1, r->n, s, keep);
			stop = 1;
		}
	}
	return stop;
}

static int cmp_good(const void *a, const void *b)
{
	const struct val *x = a, *y = b;

	/* goal folded in already: larger is better, missing last */
	return tc_metric_cmp(x->v, x->has, y->v, y->has, 1);
}

/* A trial's last value at a step ≤ s: 1 and *out, 0 when it has none. */
static int value_at(const struct ptrial *t, double s, struct val *out)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) { /* the first sample with step > s */
		size_t mid = lo + (hi - lo) / 2;

		if (t->steps[mid] <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	*out = t->vals[lo - 1];
	return 1;
}

static int median_observe(struct tc_pruner *p, struct ptrial *t, double step,
			  struct val v, int act, char *why, size_t len)
{
	size_t n = 0;
	struct val med, mine = {p->goal * v.v, v.has};
	char a[32], m[32], s[32];

	if (t->n && step < t->steps[t->n - 1])
		t->n = 0; /* a new attempt, counted from its start */
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		double *ns = realloc(t->steps, nc * sizeof(*ns));
		struct val *nv;

		if (!ns)
			return -1;
		t->steps = ns;
		nv = realloc(t->vals, nc * sizeof(*nv));
		if (!nv)
			return -1;
		t->vals = nv;
		t->cap = nc;
	}
	t->steps[t->n] = step;
	t->vals[t->n++] = v;
	if (!act || t->stopped || step < p->min_step ||
	    (p->max_step > 0 && step > p->max_step))
		return 0;
	if (p->capscratch < p->ntrials) {
		struct val *ns = realloc(p->scratch, p->ntrials * sizeof(*ns));

		if (!ns)
			return -1;
		p->scratch = ns;
		p->capscratch = p->ntrials;
	}
	for (size_t i = 0; i < p->ntrials; i++) {
		const struct ptrial *o = p->all[i];
		struct val x;

		if (o == t || o->n == 0 || o->steps[o->n - 1] < step ||
		    !value_at(o, step, &x))
			continue;
		p->scratch[n].v = p->goal * x.v;
		p->scratch[n++].has = x.has;
	}
	if (n < (size_t)p->min_trials)
		return 0;
	qsort(p->scratch, n, sizeof(*p->scratch), cmp_good);
	med = p->scratch[(n - 1) / 2];
	if (n % 2 == 0 && med.has && p->scratch[n / 2].has)
		med.v = (med.v + p->scratch[n / 2].v) / 2;
	if (tc_metric_cmp(mine.v, mine.has, med.v, med.has, 1) <= 0)
		return 0;
	value_text(v, a, sizeof(a));
	value_text((struct val){p->goal * med.v, med.has}, m, sizeof(m));
	snprintf(s, sizeof(s), "%g", step);
	snprintf(why, len, "pruned at step %s: %s %s, median of %zu others %s",
		 s, p->metric, a, n, m);
	return 1;
}

int tc_pruner_seen(const struct tc_pruner *p, const char *id)
{
	return p->nslots && *slot_of((struct tc_pruner *)p, id) != NULL;
}

int tc_pruner_observe(struct tc_pruner *p, const char *id, long long idx,
		      double step, double value, int has, int act, char *why,
		      size_t len)
{
	struct ptrial *t = trial_of(p, id, idx);
	struct val v = {has ? value : 0, has && isfinite(value)};
	int r;

	if (!t)
		return -1;
	if (p->method == TC_ES_MEDIAN)
		r = median_observe(p, t, step, v, act, why, len);
	else
		r = rungs_observe(p, t, step, v, act, why, len);
	if (r == 1)
		t->stopped = 1;
	return r;
}
