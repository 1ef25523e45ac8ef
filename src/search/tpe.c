/*
 * tpe.c — the TPE sampler (see tpe.h for the model and the contract).
 *
 * Observations live in one table: per observation its outcome and loss
 * (the objective turned so that smaller is better), per parameter its
 * value in the model's space (the log for log_uniform, the category's
 * index for values:), NaN when absent.  An ask rebuilds the model from
 * that table: the good group picked in one pass (O(n), no sort), then the
 * two joint estimators over the parameters every observation has
 * (mv_build; `candidates` points scored against both), and for each other
 * parameter two estimators of its own (tpe_param).  The joint estimators'
 * widths and a large bad group's univariate estimator (build_merged) read
 * each continuous parameter's values in sorted order, kept across asks
 * (the new observations merged in); that order is a function of the table
 * (ties by number), so what an ask returns is still a function of the
 * table alone.
 */
#include "search/tpe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/dist.h"
#include "search/pmath.h"
#include "search/rng.h"
#include "search/search.h"

/* P_DERIVED: follows from the others (tc_spec_derive), never suggested */
enum pkind { P_FIXED, P_CAT, P_REAL, P_DERIVED };

struct tparam {
	enum pkind kind;
	int log, integer;
	int unit; /* a dist.h distribution: modelled over its coordinate u
		     in (0, 1), the value being its quantile */
	double low, high; /* the model's range (log space; +-0.5 for ints) */
	size_t ncat;
};

struct obs {
	enum tc_tpe_outcome outcome;
	double loss;
	uint64_t key; /* the point, for repeats */
};

struct sval {
	double x;
	size_t o; /* the observation's number */
};

/*
 * One group's joint (multivariate) estimator over the joint parameters
 * (mv_joint): a kernel per observation, the product over the parameters
 * of a normal truncated to the range (continuous) and of a categorical
 * row that favours the observation's category; plus the prior kernel
 * (centred and as wide as each range; uniform over the categories).
 * Widths by the neighbour rule in each parameter (mv_build).  The log
 * density at (x, c), up to a term common to both groups
 * (-log(sqrt(2 pi) range) per continuous parameter), is the log of
 *   sum_k exp(logc_k - sum_j ((x_j - mu_kj) / sg_kj)^2 / 2
 *             + sum_j [c_j = cat_kj] dl_j)
 *   + exp(plogc - sum_j ((x_j - mid_j) / range_j)^2 / 2)
 */
struct mvmodel {
	size_t n, cap;    /* kernels (the prior apart); room for */
	size_t max;       /* past it, a stratified sample (mv_build) */
	double *mu;       /* n x dc: centres */
	uint32_t *cat;    /* n x dk: categories */
	double *sg, *is;  /* n x dc: widths, their inverses */
	double *logc, *w; /* n: see above; the weights */
	double *dl;       /* dk: log of a hit's over a miss's probability */
	double *amiss;    /* dk: a miss's unnormalised weight */
	double wsum, plogc;
};

static void mvmodel_free(struct mvmodel *m)
{
	if (!m)
		return;
	free(m->mu);
	free(m->cat);
	free(m->logc);
	free(m->w);
	free(m->sg);
	free(m->is);
	free(m->dl);
	free(m->amiss);
	free(m);
}

/* Room for cap kernels over n1 parameters: 0, or TC_ERR_NOMEM. */
static int mvmodel_reserve(struct mvmodel *m, size_t cap, size_t n1)
{
	if (cap <= m->cap)
		return 0;
#define MVGROW(f, cnt)                                                         \
	do {                                                                   \
		void *q = realloc(m->f, (cnt) * sizeof(*m->f));                \
		if (!q)                                                        \
			return TC_ERR_NOMEM;                                   \
		m->f = q;                                                      \
	} while (0)
	MVGROW(mu, cap * n1);
	MVGROW(cat, cap * n1);
	MVGROW(sg, cap * n1);
	MVGROW(is, cap * n1);
	MVGROW(logc, cap);
	MVGROW(w, cap);
#undef MVGROW
	m->cap = cap;
	return 0;
}

/* A model of at most max kernels over n1 parameters (room for a few made
 * now, more by mvmodel_reserve), or NULL. */
static struct mvmodel *mvmodel_new(size_t max, size_t n1)
{
	struct mvmodel *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->max = max;
	m->dl = calloc(n1, sizeof(*m->dl));
	m->amiss = calloc(n1, sizeof(*m->amiss));
	if (!m->dl || !m->amiss || mvmodel_reserve(m, max < 64 ? max : 64, n1)) {
		mvmodel_free(m);
		return NULL;
	}
	return m;
}

struct tc_tpe {
	const struct tc_spec *spec;
	struct tc_tpe_options o;
	size_t np;
	struct tparam *par;
	struct obs *obs;
	double *x;      /* nobs * np, NaN: absent */
	size_t nobs, cap;
	uint64_t *keys; /* open addressing set of point keys, 0 empty */
	size_t kcap, nkeys;
	/* the last suggestion */
	struct tc_value *out;
	unsigned char *present;
	char (*text)[40];
	double *point; /* model-space values of the point being built */
	/* scratch for an ask */
	size_t *order, *below_idx, *above_idx;
	double *mu, *sigma, *logc, *w, *tmp;
	size_t *sidx;
	double *cat_l, *cat_g;
	/* for a large bad group (merged kernels): per parameter the
	 * observations with a value, sorted by (value, number), kept across
	 * asks (the first supto[i] observations are in them); the good
	 * group's marks; each observation's place in time order */
	struct sval **sorted, *merge_tmp;
	size_t *nsorted, *supto;
	unsigned char *good;
	size_t *tpos;
	size_t ncomplete; /* observations complete */
	int tpos_all;     /* tpos holds the places of all but the good */
	/* multivariate: per parameter how many observations have it; the
	 * upper tail table (qtail); the joint parameters of an ask (jc:
	 * continuous, jk: categorical); the two models; the candidates */
	size_t *npresent;
	double *qtab;
	size_t *jc, *jk, dc, dk;
	unsigned char *joint; /* per parameter: in jc or jk */
	size_t *kpos;         /* per observation: 2 k + g for kernel k of
				 group g, SIZE_MAX: in neither model */
	struct mvmodel *mv[2];
	double *cx, *cscore;
	uint32_t *ck;
};

static int mv_new(struct tc_tpe *t);

void tc_tpe_defaults(struct tc_tpe_options *o)
{
	memset(o, 0, sizeof(*o));
	o->goal = 1;
	o->startup = 10;
	o->candidates = 24;
	o->prior_weight = 1.0;
	o->multivariate = 1;
}

void tc_tpe_free(struct tc_tpe *t)
{
	if (!t)
		return;
	free(t->par);
	free(t->obs);
	free(t->x);
	free(t->keys);
	free(t->out);
	free(t->present);
	free(t->text);
	free(t->point);
	free(t->order);
	free(t->below_idx);
	free(t->above_idx);
	free(t->mu);
	free(t->sigma);
	free(t->logc);
	free(t->w);
	free(t->tmp);
	free(t->sidx);
	free(t->cat_l);
	free(t->cat_g);
	for (size_t i = 0; t->sorted && i < t->np; i++)
		free(t->sorted[i]);
	free(t->sorted);
	free(t->nsorted);
	free(t->good);
	free(t->tpos);
	free(t->merge_tmp);
	free(t->npresent);
	free(t->qtab);
	free(t->jc);
	free(t->jk);
	free(t->joint);
	free(t->kpos);
	free(t->supto);
	for (int g = 0; g < 2; g++)
		mvmodel_free(t->mv[g]);
	free(t->cx);
	free(t->cscore);
	free(t->ck);
	free(t);
}

int tc_tpe_new(const struct tc_spec *spec, const struct tc_tpe_options *o,
	       struct tc_tpe **out, struct tc_error *err)
{
	struct tc_tpe *t;
	size_t np = spec->nparams, n1 = np ? np : 1, maxcat = 1;

	*out = NULL;
	if (o->goal != 1 && o->goal != -1)
		return tc_error_set(err, TC_ERR_USAGE, "goal must be +1 or -1");
	if (o->candidates < 1)
		return tc_error_set(err, TC_ERR_USAGE,
				    "the number of candidates must be at least 1");
	if (!(o->prior_weight > 0) || !isfinite(o->prior_weight))
		return tc_error_set(err, TC_ERR_USAGE,
				    "the prior weight must be a number > 0");
	t = calloc(1, sizeof(*t));
	if (!t)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	t->spec = spec;
	t->o = *o;
	t->np = np;
	t->par = calloc(n1, sizeof(*t->par));
	t->out = calloc(n1, sizeof(*t->out));
	t->present = calloc(n1, 1);
	t->text = calloc(n1, sizeof(*t->text));
	t->point = calloc(n1, sizeof(*t->point));
	t->sorted = calloc(n1, sizeof(*t->sorted));
	t->nsorted = calloc(n1, sizeof(*t->nsorted));
	if (!t->par || !t->out || !t->present || !t->text || !t->point ||
	    !t->sorted || !t->nsorted) {
		tc_tpe_free(t);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < np; i++) {
		const struct tc_param *sp = &spec->params[i];
		struct tparam *p = &t->par[i];

		switch (sp->kind) {
		case TC_P_CONST:
		case TC_P_VALUES:
			p->kind = sp->nvalues > 1 ? P_CAT : P_FIXED;
			p->ncat = sp->nvalues;
			if (p->ncat > maxcat)
				maxcat = p->ncat;
			break;
		case TC_P_UNIFORM:
			p->kind = sp->max > sp->min ? P_REAL : P_FIXED;
			p->low = sp->min;
			p->high = sp->max;
			break;
		case TC_P_LOG_UNIFORM:
			p->kind = sp->max > sp->min ? P_REAL : P_FIXED;
			p->log = 1;
			p->low = tc_pmath_log(sp->min);
			p->high = tc_pmath_log(sp->max);
			break;
		case TC_P_DERIVED:
			p->kind = P_DERIVED;
			break;
		case TC_P_INT_UNIFORM:
			p->kind = sp->imax > sp->imin ? P_REAL : P_FIXED;
			p->integer = 1;
			p->low = (double)sp->imin - 0.5;
			p->high = (double)sp->imax + 0.5;
			break;
		case TC_P_Q_UNIFORM:
		case TC_P_Q_LOG_UNIFORM:
		case TC_P_EXP_UNIFORM:
		case TC_P_INV_EXP_UNIFORM:
		case TC_P_INV_LOG_UNIFORM:
		case TC_P_NORMAL:
		case TC_P_LOG_NORMAL:
		case TC_P_BETA:
			p->kind = P_REAL;
			p->unit = 1;
			p->low = 0;
			p->high = 1;
			break;
		}
	}
	t->cat_l = calloc(maxcat, sizeof(double));
	t->cat_g = calloc(maxcat, sizeof(double));
	t->npresent = calloc(n1, sizeof(*t->npresent));
	t->supto = calloc(n1, sizeof(*t->supto));
	if (!t->cat_l || !t->cat_g || !t->npresent || !t->supto) {
		tc_tpe_free(t);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	if (o->multivariate && mv_new(t)) {
		tc_tpe_free(t);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	*out = t;
	return 0;
}

size_t tc_tpe_count(const struct tc_tpe *t)
{
	return t->nobs;
}

/* ---- observations -------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	uint64_t z = h ^ v;

	return tc_rng_splitmix(&z);
}

/* The key of a point: its parameters' values as the spec compares them
 * (numbers by value, so 3 and 3.0 are one point). */
static uint64_t point_key(const struct tc_tpe *t, const struct tc_value *v,
			  const unsigned char *present)
{
	uint64_t h = 0x7470652d6b6579ULL;

	for (size_t i = 0; i < t->np; i++) {
		uint64_t bits;
		double d;

		if ((present && !present[i]) || v[i].type == TC_V_ABSENT) {
			h = mix(h, 0xab5e27);
			continue;
		}
		switch (v[i].type) {
		case TC_V_ABSENT:
			break;
		case TC_V_INT:
		case TC_V_FLOAT:
			d = v[i].type == TC_V_INT ? (double)v[i].i : v[i].f;
			if (d == 0)
				d = 0; /* -0 */
			memcpy(&bits, &d, sizeof(bits));
			h = mix(h, bits ^ 0x6e);
			break;
		case TC_V_BOOL:
			h = mix(h, (uint64_t)(v[i].b != 0) ^ 0x62000);
			break;
		case TC_V_NULL:
			h = mix(h, 0x6e756c6c);
			break;
		case TC_V_STR:
			for (const char *s = v[i].text ? v[i].text : ""; *s; s++)
				h = mix(h, (unsigned char)*s);
			h = mix(h, 0x73747200);
			break;
		}
	}
	return h ? h : 1;
}

static int key_add(struct tc_tpe *t, uint64_t key) /* 1 new, 0 seen, <0 */
{
	if ((t->nkeys + 1) * 2 > t->kcap) {
		size_t ncap = t->kcap ? t->kcap * 2 : 256;
		uint64_t *nk = calloc(ncap, sizeof(*nk));

		if (!nk)
			return TC_ERR_NOMEM;
		for (size_t i = 0; i < t->kcap; i++) {
			size_t j;

			if (!t->keys[i])
				continue;
			for (j = t->keys[i] & (ncap - 1); nk[j]; j = (j + 1) & (ncap - 1))
				;
			nk[j] = t->keys[i];
		}
		free(t->keys);
		t->keys = nk;
		t->kcap = ncap;
	}
	for (size_t j = key & (t->kcap - 1);; j = (j + 1) & (t->kcap - 1)) {
		if (t->keys[j] == key)
			return 0;
		if (!t->keys[j]) {
			t->keys[j] = key;
			t->nkeys++;
			return 1;
		}
	}
}

static int key_has(const struct tc_tpe *t, uint64_t key)
{
	if (!t->kcap)
		return 0;
	for (size_t j = key & (t->kcap - 1);; j = (j + 1) & (t->kcap - 1)) {
		if (t->keys[j] == key)
			return 1;
		if (!t->keys[j])
			return 0;
	}
}

/* A told value in the model's space, or NaN when it does not fit. */
static double model_value(const struct tc_tpe *t, size_t i,
			  const struct tc_value *v)
{
	const struct tparam *p = &t->par[i];
	const struct tc_param *sp = &t->spec->params[i];
	double d;

	if (p->kind != P_REAL) {
		for (size_t k = 0; k < sp->nvalues; k++)
			if (tc_value_equal(&sp->values[k], v))
				return (double)k;
		return NAN;
	}
	if (v->type == TC_V_INT)
		d = (double)v->i;
	else if (v->type == TC_V_FLOAT)
		d = v->f;
	else
		return NAN;
	if (d != d)
		return NAN;
	if (p->unit)
		return tc_dist_cdf(sp, d);
	if (p->log) {
		if (!(d > 0))
			return NAN;
		d = tc_pmath_log(d);
	}
	if (p->integer) {
		if (d < (double)sp->imin)
			d = (double)sp->imin;
		if (d > (double)sp->imax)
			d = (double)sp->imax;
	} else {
		if (d < p->low)
			d = p->low;
		if (d > p->high)
			d = p->high;
	}
	return d;
}

static void set_outcome(struct obs *ob, int goal, enum tc_tpe_outcome outcome,
			double objective)
{
	ob->outcome = outcome;
	ob->loss = 0;
	if (outcome == TC_TPE_COMPLETE) {
		if (!isfinite(objective))
			ob->outcome = TC_TPE_FAILED;
		else
			ob->loss = goal > 0 ? -objective : objective;
	}
}

static int grow(struct tc_tpe *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64, n1 = t->np ? t->np : 1;
	struct obs *no;
	double *nx;
	if (!(no = realloc(t->obs, ncap * sizeof(*no))))
		return TC_ERR_NOMEM;
	t->obs = no;
	if (!(nx = realloc(t->x, ncap * n1 * sizeof(*nx))))
		return TC_ERR_NOMEM;
	t->x = nx;
	/* scratch sized by observations, plus the two mixtures' priors */
#define GROW(f)                                                                \
	do {                                                                   \
		void *q = realloc(t->f, (ncap + 2) * sizeof(*t->f));           \
		if (!q)                                                        \
			return TC_ERR_NOMEM;                                   \
		t->f = q;                                                      \
	} while (0)
	GROW(order);
	GROW(below_idx);
	GROW(above_idx);
	GROW(mu);
	GROW(sigma);
	GROW(logc);
	GROW(w);
	GROW(tmp);
	GROW(sidx);
	GROW(good);
	GROW(tpos);
	GROW(merge_tmp);
	GROW(kpos);
	for (size_t i = 0; i < t->np; i++) {
		struct sval *q = realloc(t->sorted[i], (ncap + 2) * sizeof(*q));

		if (!q)
			return TC_ERR_NOMEM;
		t->sorted[i] = q;
	}
#undef GROW
	for (int g = 0; g < 2 && t->mv[g]; g++)
		if (mvmodel_reserve(t->mv[g], ncap < t->mv[g]->max ? ncap : t->mv[g]->max,
				    n1))
			return TC_ERR_NOMEM;
	t->cap = ncap;
	return 0;
}

static long add_obs(struct tc_tpe *t, const struct tc_value *values,
		    const unsigned char *present, enum tc_tpe_outcome outcome,
		    double objective, struct tc_error *err)
{
	struct obs *ob;
	int r;

	if (t->nobs == t->cap && grow(t))
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	ob = &t->obs[t->nobs];
	set_outcome(ob, t->o.goal, outcome, objective);
	t->ncomplete += ob->outcome == TC_TPE_COMPLETE;
	ob->key = point_key(t, values, present);
	for (size_t i = 0; i < t->np; i++) {
		double x = present && !present[i] ? NAN
						  : model_value(t, i, &values[i]);

		t->x[t->nobs * t->np + i] = x;
		t->npresent[i] += x == x;
	}
	if ((r = key_add(t, ob->key)) < 0)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	return (long)t->nobs++;
}

long tc_tpe_tell(struct tc_tpe *t, const struct tc_value *values,
		 const unsigned char *present, enum tc_tpe_outcome outcome,
		 double objective, struct tc_error *err)
{
	return add_obs(t, values, present, outcome, objective, err);
}

int tc_tpe_settle(struct tc_tpe *t, size_t obs, enum tc_tpe_outcome outcome,
		  double objective, struct tc_error *err)
{
	if (obs >= t->nobs)
		return tc_error_set(err, TC_ERR_USAGE,
				    "no observation number %zu (%zu told)", obs,
				    t->nobs);
	t->ncomplete -= t->obs[obs].outcome == TC_TPE_COMPLETE;
	set_outcome(&t->obs[obs], t->o.goal, outcome, objective);
	t->ncomplete += t->obs[obs].outcome == TC_TPE_COMPLETE;
	return 0;
}

/* ---- ranking ------------------------------------------------------------- */

static const struct tc_tpe *sort_ctx; /* qsort has no context argument */
static double sort_liar;

static double rank_loss(const struct obs *ob)
{
	switch (ob->outcome) {
	case TC_TPE_COMPLETE:
		return ob->loss;
	case TC_TPE_PENDING:
		return sort_liar;
	case TC_TPE_FAILED:
		break;
	}
	return HUGE_VAL;
}

static int rank_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct obs *x = &sort_ctx->obs[i], *y = &sort_ctx->obs[j];
	double lx = rank_loss(x), ly = rank_loss(y);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	if (x->outcome != y->outcome) /* complete, then pending, then failed */
		return x->outcome == TC_TPE_COMPLETE ? -1
		       : y->outcome == TC_TPE_COMPLETE ? 1
		       : x->outcome == TC_TPE_PENDING ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* ---- Parzen estimators --------------------------------------------------- */

/* Optuna's default weights: 1 each up to 25 observations; past that the
 * oldest m - 25 ramp linearly from 1/m up to 1. */
static void time_weights(double *w, size_t m)
{
	size_t ramp = m > 25 ? m - 25 : 0;

	for (size_t j = 0; j < m; j++)
		w[j] = 1.0;
	if (ramp == 1)
		w[0] = 1.0 / (double)m;
	else
		for (size_t j = 0; j < ramp; j++)
			w[j] = 1.0 / (double)m +
			       (double)j * (1.0 - 1.0 / (double)m) / (double)(ramp - 1);
}

static const double *sort_mu;

static int mu_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (sort_mu[i] != sort_mu[j])
		return sort_mu[i] < sort_mu[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

struct mixture {
	size_t n;       /* kernels, the prior last */
	double *mu, *sigma, *logc, *w;
	double wsum;
};

/* Past this many values in the bad group, its estimator merges kernels
 * (build_merged).  (bench/tpe_merge_quality.c builds the sampler without
 * merging, through TC_TPE_MERGE_MIN, to compare.) */
#ifdef TC_TPE_MERGE_MIN
#define MERGE_MIN TC_TPE_MERGE_MIN
#else
#define MERGE_MIN 256
#endif

static int sval_cmp(const void *a, const void *b)
{
	const struct sval *x = a, *y = b;

	if (x->x != y->x)
		return x->x < y->x ? -1 : 1;
	return x->o < y->o ? -1 : x->o > y->o;
}

/* Bring each continuous parameter's sorted values up to the observations
 * told: the new ones sorted, then merged in (they come after every older
 * one in number, so an equal value goes after the older).  supto[i]
 * says how far each is. */
static void update_sorted(struct tc_tpe *t)
{
	for (size_t i = 0; i < t->np; i++) {
		struct sval *old = t->sorted[i], *out = t->merge_tmp, *tail;
		size_t no = t->nsorted[i], nt = 0, a = 0, b = 0, n = 0;

		if (t->par[i].kind != P_REAL)
			continue;
		/* the new ones after the old in the same array, sorted */
		tail = old + no;
		for (size_t j = t->supto[i]; j < t->nobs; j++) {
			double x = t->x[j * t->np + i];

			if (x == x)
				tail[nt++] = (struct sval){x, j};
		}
		t->supto[i] = t->nobs;
		if (!nt)
			continue;
		qsort(tail, nt, sizeof(*tail), sval_cmp);
		if (nt <= 4) { /* an ask or two: moved in place */
			for (b = 0; b < nt; b++) {
				struct sval e = tail[b];
				size_t lo = 0, hi = no + b;

				while (lo < hi) {
					size_t mid = lo + (hi - lo) / 2;

					if (sval_cmp(&old[mid], &e) < 0)
						lo = mid + 1;
					else
						hi = mid;
				}
				memmove(&old[lo + 1], &old[lo],
					(no + b - lo) * sizeof(*old));
				old[lo] = e;
			}
			t->nsorted[i] = no + nt;
			continue;
		}
		while (a < no || b < nt)
			out[n++] = b == nt || (a < no && sval_cmp(&old[a], &tail[b]) < 0)
					   ? old[a++]
					   : tail[b++];
		t->merge_tmp = old;
		t->sorted[i] = out;
		t->nsorted[i] = n;
	}
}

/* The log coefficients log(w / (wsum sigma Z)) of a mixture whose
 * kernels, weights and wsum are set (Z: the kernel's mass in range). */
static void mixture_coefs(const struct tparam *p, struct mixture *mx)
{
	for (size_t j = 0; j < mx->n; j++) {
		double mu = mx->mu[j], sg = mx->sigma[j];
		double a = (p->low - mu) / sg, b = (p->high - mu) / sg;
		double z = (b > 8.5 ? 1.0 : tc_pmath_ndtr(b)) -
			   (a < -8.5 ? 0.0 : tc_pmath_ndtr(a));

		if (!(z > 1e-300))
			z = 1e-300;
		mx->logc[j] = tc_pmath_log(mx->w[j] / mx->wsum) -
			      tc_pmath_log(sg) - tc_pmath_log(z);
	}
}

/*
 * A truncated-normal mixture over values vals[0..m) (in time order) and the
 * prior, on [low, high].  Widths by the neighbour rule, clipped; log
 * coefficients log(w / (sigma Z)) so that a density is
 * sum_i exp(logc_i - z_i^2 / 2) (the common 1/sqrt(2 pi) left out).
 */
static void build_mixture(struct tc_tpe *t, const struct tparam *p,
			  const double *vals, size_t m, struct mixture *mx)
{
	double range = p->high - p->low, minsigma, *mu = mx->mu,
	       *sg = mx->sigma;
	size_t *s = t->sidx;

	time_weights(mx->w, m);
	for (size_t j = 0; j < m; j++)
		mu[j] = vals[j];
	if (m > 0) {
		for (size_t j = 0; j < m; j++)
			s[j] = j;
		sort_mu = mu;
		qsort(s, m, sizeof(*s), mu_cmp);
		/* E[0] = low, E[1..m] = sorted mus, E[m+1] = high */
		for (size_t r = 0; r < m; r++) {
			double left = mu[s[r]] - (r ? mu[s[r - 1]] : p->low);
			double right = (r + 1 < m ? mu[s[r + 1]] : p->high) - mu[s[r]];

			sg[s[r]] = left > right ? left : right;
		}
		if (m >= 2) { /* the end kernels ignore the range's ends */
			sg[s[0]] = mu[s[1]] - mu[s[0]];
			sg[s[m - 1]] = mu[s[m - 1]] - mu[s[m - 2]];
		}
	}
	minsigma = range / ((double)(m + 2) < 100.0 ? (double)(m + 2) : 100.0);
	for (size_t j = 0; j < m; j++) {
		if (!(sg[j] >= minsigma))
			sg[j] = minsigma;
		if (sg[j] > range)
			sg[j] = range;
	}
	mu[m] = 0.5 * (p->low + p->high);
	sg[m] = range;
	mx->w[m] = t->o.prior_weight;
	mx->n = m + 1;
	mx->wsum = 0;
	for (size_t j = 0; j <= m; j++)
		mx->wsum += mx->w[j];
	mixture_coefs(p, mx);
}

/*
 * The bad group's estimator when it has more than MERGE_MIN values of
 * parameter i (m of them): the same kernels as build_mixture's (widths by
 * the neighbour rule, the same time weights), but neighbours closer than
 * half the narrowest width with about the same width are merged into one
 * normal of their total weight, mean and variance (moment matching), the
 * truncation applied to the merged one.  Every kernel is at least
 * range / 100 wide and a merged group spans at most half that, so the
 * density changes by well under a thousandth while the kernels are at
 * most a few hundred however many observations there are.  Built from
 * the parameter's sorted values (update_sorted), O(n), no sort.
 */
struct merging {
	double h, minsigma, range;
	double x0, s0, W, S1, S2; /* the open group: its first value and
				     width, its sums */
	size_t nk;                /* groups closed */
};

static inline void group_close(struct merging *g, struct mixture *mx)
{
	double mean = g->S1 / g->W;

	mx->mu[g->nk] = g->x0 + mean;
	mx->sigma[g->nk] = sqrt(g->S2 / g->W - mean * mean);
	mx->w[g->nk++] = g->W;
}

/* A kernel at x, width sg (before clipping), weight w, in value order. */
static inline void group_add(struct merging *g, struct mixture *mx, double x,
		      double sg, double w, int first)
{
	double d;

	if (!(sg >= g->minsigma))
		sg = g->minsigma;
	if (sg > g->range)
		sg = g->range;
	if (first || x - g->x0 > g->h || sg > 1.25 * g->s0 || 1.25 * sg < g->s0) {
		if (!first)
			group_close(g, mx);
		g->x0 = x;
		g->s0 = sg;
		g->W = g->S1 = g->S2 = 0;
	}
	d = x - g->x0;
	g->W += w;
	g->S1 += w * d;
	g->S2 += w * (sg * sg + d * d);
}

static void build_merged(struct tc_tpe *t, const struct tparam *p, size_t i,
			 size_t m, struct mixture *mx)
{
	const struct sval *srt = t->sorted[i];
	const unsigned char *good = t->good;
	const size_t *tpos = t->tpos;
	size_t ns = t->nsorted[i], ramp = m - 25, r = 0;
	double inv = 1.0 / (double)m, slope = (1.0 - inv) / (double)(ramp - 1);
	double xp = 0, xc = 0, wc = 0, wsum = 0;
	struct merging g;

	g.range = p->high - p->low;
	g.minsigma = g.range / 100.0;
	g.h = 0.5 * g.minsigma;
	g.x0 = g.s0 = g.W = g.S1 = g.S2 = 0;
	g.nk = 0;
	/* each value's place among the group's, in time order (the same
	 * for every parameter every observation has: computed once) */
	if (ns < t->nobs || !t->tpos_all) {
		for (size_t j = 0, k = 0; j < t->nobs; j++) {
			double x = t->x[j * t->np + i];

			if (x == x && !t->good[j])
				t->tpos[j] = k++;
		}
		t->tpos_all = ns == t->nobs;
	}
	/* one pass over the group's values in order: value r's width (the
	 * neighbour rule: the larger gap, the end ones their inner gap) is
	 * known when value r + 1 is read */
	for (size_t k = 0; k < ns; k++) {
		size_t o = srt[k].o, pos;
		double x = srt[k].x, w;

		if (good[o])
			continue;
		pos = tpos[o];
		/* (a signed conversion: an unsigned one costs more) */
		w = pos < ramp ? inv + (double)(long long)pos * slope : 1.0;
		wsum += w;
		if (r >= 1) {
			double right = x - xc, left = xc - xp;

			group_add(&g, mx, xc, r == 1 || right > left ? right : left,
				  wc, r == 1);
		}
		xp = xc;
		xc = x;
		wc = w;
		r++;
	}
	group_add(&g, mx, xc, xc - xp, wc, 0); /* the last: m > 2 */
	group_close(&g, mx);
	mx->mu[g.nk] = 0.5 * (p->low + p->high);
	mx->sigma[g.nk] = g.range;
	mx->w[g.nk] = t->o.prior_weight;
	mx->n = g.nk + 1;
	mx->wsum = wsum + t->o.prior_weight;
	mixture_coefs(p, mx);
}

/* log of the mixture's density at x (without the common constant) */
static double mixture_logpdf(const struct mixture *mx, double x, double *tmp)
{
	double best = -HUGE_VAL, sum = 0;

	for (size_t j = 0; j < mx->n; j++) {
		double z = (x - mx->mu[j]) / mx->sigma[j];

		tmp[j] = mx->logc[j] - 0.5 * z * z;
		if (tmp[j] > best)
			best = tmp[j];
	}
	for (size_t j = 0; j < mx->n; j++) {
		double d = tmp[j] - best;

		if (d > -50) /* e^-50: below any sum's last bit */
			sum += tc_pmath_exp(d);
	}
	return best + tc_pmath_log(sum);
}

/* A standard normal draw (Marsaglia's polar method: sqrt is exact in IEEE
 * 754, the log is ours). */
static double normal(struct tc_rng *r)
{
	for (;;) {
		double u = 2 * tc_rng_unit(r) - 1, v = 2 * tc_rng_unit(r) - 1;
		double s = u * u + v * v;

		if (s > 0 && s < 1)
			return u * sqrt(-2 * tc_pmath_log(s) / s);
	}
}

static double mixture_draw(const struct mixture *mx, const struct tparam *p,
			   struct tc_rng *r)
{
	double u = tc_rng_unit(r) * mx->wsum, acc = 0, x = 0;
	size_t j;

	for (j = 0; j + 1 < mx->n; j++) {
		acc += mx->w[j];
		if (u < acc)
			break;
	}
	/* truncated: every kernel's centre is in range, so at least about a
	 * third of its mass is; give up after many tries and clamp */
	for (int k = 0; k < 200; k++) {
		x = mx->mu[j] + mx->sigma[j] * normal(r);
		if (x >= p->low && x <= p->high)
			return x;
	}
	return x < p->low ? p->low : p->high;
}

/* ---- a point ------------------------------------------------------------- */

/* Round a model-space int to the parameter's integers. */
static double round_int(const struct tc_param *sp, double x)
{
	double r = floor(x + 0.5);

	if (r < (double)sp->imin)
		r = (double)sp->imin;
	if (r > (double)sp->imax)
		r = (double)sp->imax;
	return r;
}

/* Parameter i of the suggestion from its model-space value x. */
static void set_out(struct tc_tpe *t, size_t i, double x)
{
	const struct tc_param *sp = &t->spec->params[i];
	const struct tparam *p = &t->par[i];
	struct tc_value *v = &t->out[i];

	t->present[i] = 1;
	if (p->kind != P_REAL && sp->nvalues) {
		*v = sp->values[p->kind == P_CAT ? (size_t)x : 0];
		return;
	}
	if (p->kind == P_FIXED) /* a range of one value */
		x = sp->kind == TC_P_INT_UNIFORM ? (double)sp->imin : p->low;
	if (p->unit) {
		tc_dist_value(sp, x, v, t->text[i], sizeof(t->text[i]));
		return;
	}
	memset(v, 0, sizeof(*v));
	if (sp->kind == TC_P_INT_UNIFORM) {
		v->type = TC_V_INT;
		if (x <= (double)sp->imin)
			v->i = sp->imin;
		else if (x >= (double)sp->imax)
			v->i = sp->imax;
		else
			v->i = (long long)x;
		v->f = (double)v->i;
		snprintf(t->text[i], sizeof(t->text[i]), "%lld", v->i);
	} else {
		v->type = TC_V_FLOAT;
		v->f = p->log ? tc_pmath_exp(x) : x;
		if (v->f < sp->min)
			v->f = sp->min;
		if (v->f > sp->max)
			v->f = sp->max;
		tc_format_double(v->f, t->text[i], sizeof(t->text[i]));
	}
	v->text = t->text[i];
}

/* Parameter i drawn from its prior. */
static void draw_prior(struct tc_tpe *t, size_t i, struct tc_rng *r)
{
	const struct tc_param *sp = &t->spec->params[i];
	const struct tparam *p = &t->par[i];

	if (p->kind == P_DERIVED) {
		return;
	} else if (p->kind == P_FIXED) {
		set_out(t, i, 0);
	} else if (p->kind == P_CAT) {
		set_out(t, i, (double)tc_rng_below(r, p->ncat));
	} else if (sp->kind == TC_P_INT_UNIFORM) {
		/* exact over the whole range, as random search draws */
		uint64_t span = (uint64_t)sp->imax - (uint64_t)sp->imin + 1;
		uint64_t u = (uint64_t)sp->imin + tc_rng_below(r, span);
		struct tc_value *v = &t->out[i];

		memset(v, 0, sizeof(*v));
		v->type = TC_V_INT;
		v->i = u > (uint64_t)INT64_MAX ? -(long long)(~u) - 1 : (long long)u;
		v->f = (double)v->i;
		snprintf(t->text[i], sizeof(t->text[i]), "%lld", v->i);
		v->text = t->text[i];
		t->present[i] = 1;
	} else {
		set_out(t, i, p->low + tc_rng_unit(r) * (p->high - p->low));
	}
}

/* Gather parameter i's present values of the observations in idx[0..n),
 * in time order (idx is sorted by observation number). */
static size_t gather(const struct tc_tpe *t, size_t i, const size_t *idx,
		     size_t n, double *out)
{
	size_t m = 0;

	for (size_t k = 0; k < n; k++) {
		double x = t->x[idx[k] * t->np + i];

		if (x == x)
			out[m++] = x;
	}
	return m;
}

/* Parameter i by the TPE criterion, given the split. */
static void tpe_param(struct tc_tpe *t, size_t i, size_t nb, size_t na,
		      struct tc_rng *r)
{
	const struct tparam *p = &t->par[i];
	double best = -HUGE_VAL, pick = 0;

	if (p->kind == P_DERIVED)
		return;
	if (p->kind == P_FIXED) {
		set_out(t, i, 0);
		return;
	}
	if (p->kind == P_CAT) {
		double *vb = t->tmp, *cl = t->cat_l, *cg = t->cat_g;
		double sl = 0, sg = 0, wsl, wsg;
		size_t m;

		/* counts (time-weighted) plus the prior spread evenly */
		for (int g = 0; g < 2; g++) {
			double *c = g ? cg : cl, *s = g ? &sg : &sl;

			m = gather(t, i, g ? t->above_idx : t->below_idx, g ? na : nb, vb);
			time_weights(t->w, m);
			for (size_t k = 0; k < p->ncat; k++)
				c[k] = t->o.prior_weight / (double)p->ncat;
			for (size_t j = 0; j < m; j++)
				c[(size_t)vb[j]] += t->w[j];
			for (size_t k = 0; k < p->ncat; k++)
				*s += c[k];
		}
		wsl = sl;
		wsg = sg;
		for (unsigned c = 0; c < t->o.candidates; c++) {
			double u = tc_rng_unit(r) * wsl, acc = 0, score;
			size_t k;

			for (k = 0; k + 1 < p->ncat; k++) {
				acc += cl[k];
				if (u < acc)
					break;
			}
			score = tc_pmath_log(cl[k] / wsl) - tc_pmath_log(cg[k] / wsg);
			if (score > best) {
				best = score;
				pick = (double)k;
			}
		}
		set_out(t, i, pick);
		return;
	}
	{
		const struct tc_param *sp = &t->spec->params[i];
		struct mixture l, g;
		size_t m;
		/* the good mixture first (at the front of the scratch arrays),
		 * the bad one after it */
		m = gather(t, i, t->below_idx, nb, t->tmp);
		l.mu = t->mu;
		l.sigma = t->sigma;
		l.logc = t->logc;
		l.w = t->w;
		build_mixture(t, p, t->tmp, m, &l);
		g.mu = t->mu + l.n;
		g.sigma = t->sigma + l.n;
		g.logc = t->logc + l.n;
		g.w = t->w + l.n;
		m = 0;
		if (na > MERGE_MIN && t->supto[i] == t->nobs) {
			m = t->nsorted[i];
			for (size_t k = 0; k < nb; k++)
				m -= t->x[t->below_idx[k] * t->np + i] ==
				     t->x[t->below_idx[k] * t->np + i];
		}
		if (m > MERGE_MIN) {
			build_merged(t, p, i, m, &g);
		} else {
			m = gather(t, i, t->above_idx, na, t->tmp);
			build_mixture(t, p, t->tmp, m, &g);
		}
		for (unsigned c = 0; c < t->o.candidates; c++) {
			double x = mixture_draw(&l, p, r), score;

			if (p->integer)
				x = round_int(sp, x);
			score = mixture_logpdf(&l, x, t->tmp) -
				mixture_logpdf(&g, x, t->tmp);
			if (score > best) {
				best = score;
				pick = x;
			}
		}
		set_out(t, i, pick);
	}
}

/* ---- the joint (multivariate) model -------------------------------------- */

/*
 * The normal distribution's upper tail Q(t) = P(Z > t) on [0, 8.5] (zero
 * past it: below 1e-17), tabulated at steps of 1/64 with its derivative
 * -phi(t) and read by cubic Hermite interpolation: within 3e-10 of
 * tc_pmath_ndtr, at a few multiplications instead of a series.  The joint
 * model needs the truncation mass of every kernel in every parameter
 * (2 n d tails an ask); the table is built from pmath.h's functions with
 * the same arithmetic everywhere, so it is the same on every machine.
 */
#define QSTEP 64
#define QMAX 8.5
#define QN ((size_t)(QMAX * QSTEP))

/* The most kernels of the bad group's joint model (mv_build).
 * (bench/tpe_merge_quality.c builds the sampler without the sample,
 * through TC_TPE_MV_BAD_MAX, to compare.) */
#ifdef TC_TPE_MV_BAD_MAX
#define MV_BAD_MAX TC_TPE_MV_BAD_MAX
#else
#define MV_BAD_MAX 1000
#endif
/* The good group's most: gamma(n) is at most 25 (split). */
#define MV_GOOD_MAX 25

static void qtab_build(double *q)
{
	for (size_t j = 0; j <= QN; j++) {
		double x = (double)j / QSTEP;

		q[2 * j] = tc_pmath_ndtr(-x);
		/* phi(x) / QSTEP: the derivative in steps (1 / sqrt(2 pi)) */
		q[2 * j + 1] = tc_pmath_exp(-0.5 * x * x) *
			       0.39894228040143267794 / QSTEP;
	}
}

static double qtail(const double *q, double x)
{
	double f, f2, f3;
	size_t j;

	if (x < 0)
		return 1.0 - qtail(q, -x);
	if (!(x < QMAX))
		return 0.0;
	f = x * QSTEP;
	j = (size_t)f;
	f -= (double)j;
	f2 = f * f;
	f3 = f2 * f;
	/* Q' = -phi: the derivative terms enter with a minus */
	return (2 * f3 - 3 * f2 + 1) * q[2 * j] -
	       (f3 - 2 * f2 + f) * q[2 * j + 1] +
	       (3 * f2 - 2 * f3) * q[2 * j + 2] -
	       (f3 - f2) * q[2 * j + 3];
}

static int mv_new(struct tc_tpe *t)
{
	size_t n1 = t->np ? t->np : 1, nc = t->o.candidates;

	t->qtab = malloc(2 * (QN + 1) * sizeof(*t->qtab));
	t->jc = calloc(n1, sizeof(*t->jc));
	t->jk = calloc(n1, sizeof(*t->jk));
	t->joint = calloc(n1, 1);
	t->cx = calloc(nc * n1, sizeof(*t->cx));
	t->ck = calloc(nc * n1, sizeof(*t->ck));
	t->cscore = calloc(nc, sizeof(*t->cscore));
	t->mv[0] = mvmodel_new(MV_GOOD_MAX, n1);
	t->mv[1] = mvmodel_new(MV_BAD_MAX, n1);
	if (!t->qtab || !t->jc || !t->jk || !t->joint || !t->cx || !t->ck ||
	    !t->cscore || !t->mv[0] || !t->mv[1])
		return TC_ERR_NOMEM;
	qtab_build(t->qtab);
	return 0;
}

/* The joint parameters of this ask: those to choose (continuous or
 * categorical) that every observation has.  A conditional parameter
 * absent from some observation is left to its own estimator, as Optuna's
 * multivariate TPE samples what is outside its intersection search space
 * independently: its kernels would have nothing to say about the
 * observations without it.  Returns how many. */
static size_t mv_joint(struct tc_tpe *t)
{
	t->dc = t->dk = 0;
	for (size_t i = 0; i < t->np; i++) {
		const struct tparam *p = &t->par[i];

		t->joint[i] = 0;
		if (t->npresent[i] != t->nobs)
			continue;
		if (p->kind == P_REAL)
			t->jc[t->dc++] = i;
		else if (p->kind == P_CAT)
			t->jk[t->dk++] = i;
		else
			continue;
		t->joint[i] = 1;
	}
	return t->dc + t->dk;
}

/* The neighbour rule over one group's values of a parameter, read in
 * value order: a kernel's width is the larger of its gaps to its
 * neighbours (the range's ends count as neighbours), except that the two
 * end kernels of a group of two or more take their inner gap (Optuna's
 * rule without consider_endpoints, as build_mixture).  Raw widths into
 * sg[k * dc + c]. */
struct nbr {
	size_t cnt, k; /* values seen; the kernel of the last */
	double prev, pprev;
};

static void nbr_add(struct nbr *b, double *sg, size_t dc, size_t c,
		    const struct tparam *p, size_t k, double x)
{
	if (b->cnt >= 1) {
		double right = x - b->prev;
		double left = b->prev - (b->cnt >= 2 ? b->pprev : p->low);

		sg[b->k * dc + c] = b->cnt == 1 || right > left ? right : left;
	}
	b->pprev = b->prev;
	b->prev = x;
	b->k = k;
	b->cnt++;
}

static void nbr_end(struct nbr *b, double *sg, size_t dc, size_t c,
		    const struct tparam *p)
{
	if (b->cnt == 1) {
		double left = b->prev - p->low, right = p->high - b->prev;

		sg[b->k * dc + c] = left > right ? left : right;
	} else if (b->cnt >= 2) {
		sg[b->k * dc + c] = b->prev - b->pprev;
	}
}

/*
 * Both groups' joint models: mv[0] from the good group (below_idx, nb),
 * mv[1] from the bad (above_idx, na), each in time order.  Past a
 * model's most kernels (MV_BAD_MAX: only the bad group gets there) it is
 * the model of a sample in time: the newest half of them as they are,
 * and for the other half every s-th of the older observations (back from
 * the newest of them), each weighing as the s it stands for (its time
 * weight times s).  An ask then costs about the same however many trials
 * there are (the rest is a few O(n) passes).  The price: an observation
 * left out no longer keeps the search from its neighbourhood, so past
 * about a thousand trials the search narrows in more slowly
 * (bench/tpe_merge_quality.sh: best after 2,000 and 3,000 trials 2-3x
 * the exact model's on tpe_cost.c's space, still improving; identical up
 * to 1,000).  With 2,000 the ask costs ~0.6 ms at 10,000 observations.
 *
 * As Optuna 5's estimator: widths by the neighbour rule within the group
 * in each parameter (from the values kept sorted, update_sorted),
 * clipped to [range / min(100, n + 2), range] (the "magic clip"; n the
 * group's kernels); the prior as wide as each range.  Categorical rows:
 * weight prior_weight / (n + 1) on every category and one more on the
 * observation's own, normalised; the prior's row is uniform.  Weights:
 * time_weights, prior_weight for the prior.
 */
static void mv_build(struct tc_tpe *t, size_t nb, size_t na)
{
	const size_t *idx[2] = {t->below_idx, t->above_idx};
	size_t cnt[2] = {nb, na}, dc = t->dc, dk = t->dk;
	double pw = t->o.prior_weight;
	double z0 = 1.0 - 2.0 * qtail(t->qtab, 0.5);

	for (size_t j = 0; j < t->nobs; j++)
		t->kpos[j] = SIZE_MAX;
	for (int g = 0; g < 2; g++) {
		struct mvmodel *m = t->mv[g];
		size_t c0 = cnt[g], keep = c0, s = 1, j0 = 0, n = 0, ramp;
		double inv;

		/* past max: the newest max / 2 as they are, every s-th of the
		 * older ones (back from the newest of them) for the rest, each
		 * weighing as the s it stands for */
		if (c0 > m->max) {
			keep = m->max / 2;
			s = (c0 - keep + (m->max - keep) - 1) / (m->max - keep);
			j0 = (c0 - keep - 1) % s;
		}
		ramp = c0 > 25 ? c0 - 25 : 0;
		inv = c0 ? 1.0 / (double)c0 : 0;
		for (size_t j = j0; j < c0; n++) {
			const double *x = &t->x[idx[g][j] * t->np];
			double w = 1.0; /* time_weights' weight of place j of c0 */

			if (ramp == 1 && j == 0)
				w = inv;
			else if (ramp > 1 && j < ramp)
				w = inv + (double)j * (1.0 - inv) / (double)(ramp - 1);
			t->kpos[idx[g][j]] = 2 * n + (size_t)g;
			for (size_t c = 0; c < dc; c++)
				m->mu[n * dc + c] = x[t->jc[c]];
			for (size_t k = 0; k < dk; k++)
				m->cat[n * dk + k] = (uint32_t)x[t->jk[k]];
			if (j < c0 - keep) {
				m->w[n] = w * (double)s;
				/* the last older one is c0 - keep - 1: then
				 * every newer one */
				j = j + s < c0 - keep ? j + s : c0 - keep;
			} else {
				m->w[n] = w;
				j++;
			}
		}
		m->n = n;
		m->wsum = pw;
		for (size_t k = 0; k < n; k++)
			m->wsum += m->w[k];
	}
	/* widths: one pass over each parameter's sorted values */
	for (size_t c = 0; c < dc; c++) {
		size_t i = t->jc[c];
		const struct tparam *p = &t->par[i];
		const struct sval *srt = t->sorted[i];
		double range = p->high - p->low;
		struct nbr b[2];

		memset(b, 0, sizeof(b));
		for (size_t k = 0; k < t->nsorted[i]; k++) {
			size_t kp = t->kpos[srt[k].o];

			if (kp != SIZE_MAX)
				nbr_add(&b[kp & 1], t->mv[kp & 1]->sg, dc, c, p,
					kp >> 1, srt[k].x);
		}
		for (int g = 0; g < 2; g++) {
			struct mvmodel *m = t->mv[g];
			double kern = (double)m->n + 2.0;
			double minsigma = range / (kern < 100.0 ? kern : 100.0);

			nbr_end(&b[g], m->sg, dc, c, p);
			for (size_t k = 0; k < m->n; k++) {
				double *sg = &m->sg[k * dc + c];

				if (!(*sg >= minsigma))
					*sg = minsigma;
				if (*sg > range)
					*sg = range;
				m->is[k * dc + c] = 1.0 / *sg;
			}
		}
	}
	for (int g = 0; g < 2; g++) {
		struct mvmodel *m = t->mv[g];
		double base = 0, a = pw / ((double)m->n + 1.0);

		for (size_t k = 0; k < dk; k++) {
			double ncat = (double)t->par[t->jk[k]].ncat;

			m->amiss[k] = a;
			m->dl[k] = tc_pmath_log((a + 1.0) / a);
			base += tc_pmath_log(a / (1.0 + a * ncat));
		}
		/* each kernel's width over the range times its mass in range:
		 * a product over the parameters, its log taken once (or when
		 * it gets small, with many parameters) */
		for (size_t k = 0; k < m->n; k++) {
			double prod = 1.0, lz = 0;

			for (size_t c = 0; c < dc; c++) {
				const struct tparam *p = &t->par[t->jc[c]];
				double mu = m->mu[k * dc + c], is = m->is[k * dc + c];
				double z = 1.0 - qtail(t->qtab, (p->high - mu) * is) -
					   qtail(t->qtab, (mu - p->low) * is);

				if (!(z > 1e-300))
					z = 1e-300;
				prod *= z * m->sg[k * dc + c] / (p->high - p->low);
				if (prod < 1e-200) {
					lz += tc_pmath_log(prod);
					prod = 1.0;
				}
			}
			lz += tc_pmath_log(prod);
			m->logc[k] = tc_pmath_log(m->w[k] / m->wsum) - lz + base;
		}
		m->plogc = tc_pmath_log(pw / m->wsum);
		for (size_t c = 0; c < dc; c++)
			m->plogc -= tc_pmath_log(z0);
		for (size_t k = 0; k < dk; k++)
			m->plogc -= tc_pmath_log((double)t->par[t->jk[k]].ncat);
	}
}

/* log of a model's density at (xc, xk), up to the common term; tmp has
 * room for n + 1. */
static double mv_logpdf(const struct tc_tpe *t, const struct mvmodel *m,
			const double *xc, const uint32_t *xk, double *tmp)
{
	size_t dc = t->dc, dk = t->dk;
	double best, sum = 0, acc = 0;

	for (size_t c = 0; c < dc; c++) {
		const struct tparam *p = &t->par[t->jc[c]];
		double z = (xc[c] - 0.5 * (p->low + p->high)) / (p->high - p->low);

		acc += z * z;
	}
	best = tmp[m->n] = m->plogc - 0.5 * acc;
	for (size_t k = 0; k < m->n; k++) {
		const double *mu = &m->mu[k * dc], *is = &m->is[k * dc];
		const uint32_t *ck = &m->cat[k * dk];
		double q;

		acc = 0;
		for (size_t c = 0; c < dc; c++) {
			double z = (xc[c] - mu[c]) * is[c];

			acc += z * z;
		}
		q = m->logc[k] - 0.5 * acc;
		for (size_t j = 0; j < dk; j++)
			if (ck[j] == xk[j])
				q += m->dl[j];
		tmp[k] = q;
		if (q > best)
			best = q;
	}
	for (size_t k = 0; k <= m->n; k++) {
		double e = tmp[k] - best;

		if (e > -50) /* e^-50: below any sum's last bit */
			sum += tc_pmath_exp(e);
	}
	return best + tc_pmath_log(sum);
}

/* A draw from a normal truncated to the parameter's range. */
static double trunc_draw(const struct tparam *p, double mu, double sg,
			 struct tc_rng *r)
{
	double x = mu;

	/* the centre is in range, so at least a third of the mass is: give
	 * up after many tries and clamp */
	for (int k = 0; k < 200; k++) {
		x = mu + sg * normal(r);
		if (x >= p->low && x <= p->high)
			return x;
	}
	return x < p->low ? p->low : p->high;
}

/* The joint parameters of the suggestion: `candidates` points drawn from
 * the good model (a kernel by weight, then each parameter from it), the
 * one with the largest good/bad density ratio (the first of equals). */
static void mv_point(struct tc_tpe *t, struct tc_rng *r)
{
	const struct mvmodel *l = t->mv[0], *g = t->mv[1];
	size_t dc = t->dc, dk = t->dk, pick = 0;
	unsigned nc = t->o.candidates;

	for (unsigned c = 0; c < nc; c++) {
		double u = tc_rng_unit(r) * l->wsum, acc = 0;
		double *xc = &t->cx[c * dc];
		uint32_t *xk = &t->ck[c * dk];
		size_t k;

		for (k = 0; k < l->n; k++) {
			acc += l->w[k];
			if (u < acc)
				break;
		}
		for (size_t j = 0; j < dc; j++) {
			const struct tparam *p = &t->par[t->jc[j]];

			if (k == l->n)
				xc[j] = trunc_draw(p, 0.5 * (p->low + p->high),
						   p->high - p->low, r);
			else
				xc[j] = trunc_draw(p, l->mu[k * dc + j],
						   l->sg[k * dc + j], r);
			if (p->integer)
				xc[j] = round_int(&t->spec->params[t->jc[j]], xc[j]);
		}
		for (size_t j = 0; j < dk; j++) {
			uint32_t ncat = (uint32_t)t->par[t->jk[j]].ncat;

			if (k == l->n) {
				xk[j] = (uint32_t)tc_rng_below(r, ncat);
			} else {
				/* the kernel's row: its own category with
				 * weight 1 + a, every other a */
				double a = l->amiss[j];
				double v = tc_rng_unit(r) * (1.0 + a * ncat);

				if (v < 1.0) {
					xk[j] = l->cat[k * dk + j];
				} else {
					double q = (v - 1.0) / a;

					xk[j] = q < ncat ? (uint32_t)q : ncat - 1;
				}
			}
		}
	}
	for (unsigned c = 0; c < nc; c++) {
		t->cscore[c] = mv_logpdf(t, l, &t->cx[c * dc], &t->ck[c * dk], t->tmp) -
			       mv_logpdf(t, g, &t->cx[c * dc], &t->ck[c * dk], t->tmp);
		if (t->cscore[c] > t->cscore[pick])
			pick = c;
	}
	for (size_t j = 0; j < dc; j++)
		set_out(t, t->jc[j], t->cx[pick * dc + j]);
	for (size_t j = 0; j < dk; j++)
		set_out(t, t->jk[j], (double)t->ck[pick * dk + j]);
}

static void random_point(struct tc_tpe *t, struct tc_rng *r)
{
	for (size_t i = 0; i < t->np; i++)
		draw_prior(t, i, r);
}

/* Split the observations: the good group's numbers into below_idx, the
 * rest into above_idx, each in time order; good[] marks the good ones.
 * Returns the good count.  The good group is the first nb in rank order
 * (rank_cmp, a total order): picked in one pass keeping the nb best so
 * far in order, not by sorting all n. */
static size_t split(struct tc_tpe *t, size_t ncomplete, size_t *na)
{
	size_t n = t->nobs, nb = (n + 9) / 10, kept = 0, a = 0;
	double liar = -HUGE_VAL;
	size_t *best = t->order;

	if (nb > 25)
		nb = 25;
	if (nb > ncomplete)
		nb = ncomplete;
	for (size_t j = 0; j < n; j++)
		if (t->obs[j].outcome == TC_TPE_COMPLETE && t->obs[j].loss > liar)
			liar = t->obs[j].loss;
	sort_ctx = t;
	sort_liar = liar;
	for (size_t j = 0; j < n && nb > 0; j++) {
		size_t at;

		if (kept == nb && rank_cmp(&j, &best[nb - 1]) >= 0)
			continue;
		if (kept < nb)
			kept++;
		for (at = kept - 1; at > 0 && rank_cmp(&j, &best[at - 1]) < 0; at--)
			best[at] = best[at - 1];
		best[at] = j;
	}
	memset(t->good, 0, n);
	t->tpos_all = 0;
	for (size_t k = 0; k < nb; k++)
		t->good[best[k]] = 1;
	for (size_t j = 0, b = 0; j < n; j++)
		if (t->good[j])
			t->below_idx[b++] = j;
		else
			t->above_idx[a++] = j;
	*na = a;
	return nb;
}

/* The next point into t->out / t->present: 1, or 0 when only repeats were
 * found. */
static int propose(struct tc_tpe *t)
{
	struct tc_rng r;
	size_t ncomplete = 0, nb = 0, na = 0;
	int model, found = 0, mv = 0;

	tc_rng_seed(&r, mix(t->o.seed, (uint64_t)t->nobs * 0x9E3779B97F4A7C15ULL));
	ncomplete = t->ncomplete;
	model = t->nobs >= t->o.startup && ncomplete > 0;
	if (model) {
		nb = split(t, ncomplete, &na);
		mv = t->o.multivariate && mv_joint(t);
		if (mv || na > MERGE_MIN)
			update_sorted(t);
		if (mv)
			mv_build(t, nb, na);
	}
	/* the model's point, then (a repeat) ten more tries of it, then
	 * random points */
	for (int tries = 0; tries < 110 && !found; tries++) {
		if (model && tries < 11) {
			if (mv)
				mv_point(t, &r);
			for (size_t i = 0; i < t->np; i++)
				if (!mv || !t->joint[i])
					tpe_param(t, i, nb, na, &r);
		} else {
			random_point(t, &r);
		}
		found = !key_has(t, point_key(t, t->out, t->present));
	}
	return found;
}

int tc_tpe_suggest(struct tc_tpe *t, const struct tc_value **values,
		   const unsigned char **present, struct tc_error *err)
{
	*values = NULL;
	*present = NULL;
	if (t->nobs == t->cap && grow(t))
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if (!propose(t))
		return 0;
	*values = t->out;
	*present = t->present;
	return 1;
}

int tc_tpe_ask(struct tc_tpe *t, const struct tc_value **values,
	       const unsigned char **present, size_t *obs,
	       struct tc_error *err)
{
	int rc = tc_tpe_suggest(t, values, present, err);
	long k;

	if (rc <= 0)
		return rc;
	k = add_obs(t, t->out, t->present, TC_TPE_PENDING, 0, err);
	if (k < 0) {
		*values = NULL;
		*present = NULL;
		return (int)k;
	}
	if (obs)
		*obs = (size_t)k;
	return 1;
}
