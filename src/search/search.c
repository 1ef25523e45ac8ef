/*
 * search.c — grid, random and sobol search as streaming iterators (see
 * search.h).
 *
 * Memory is O(parameters) for a grid without a cap, O(cap) with one (the
 * emitted ids are remembered so that include entries are not repeated), and
 * O(trials) for random and sobol search (the ids drawn so far, to skip
 * repeats).
 */
#include "search/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/dist.h"
#include "search/rng.h"
#include "search/sobol.h"
#include "search/tpe.h"
#include "util/hash.h"
#include "util/json.h"

/* ---- a set of 64-bit keys (open addressing, key 0 reserved) ---------- */

struct idset {
	uint64_t *slot;
	size_t cap, n;
};

static int idset_add(struct idset *s, uint64_t key) /* 1 added, 0 present */
{
	if (key == 0)
		key = 1;
	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		uint64_t *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -1;
		for (size_t i = 0; i < s->cap; i++) {
			uint64_t k = s->slot[i];
			size_t j;

			if (!k)
				continue;
			for (j = (k * 0x9E3779B97F4A7C15ULL) & (ncap - 1); ns[j];
			     j = (j + 1) & (ncap - 1))
				;
			ns[j] = k;
		}
		free(s->slot);
		s->slot = ns;
		s->cap = ncap;
	}
	for (size_t j = (key * 0x9E3779B97F4A7C15ULL) & (s->cap - 1);;
	     j = (j + 1) & (s->cap - 1)) {
		if (s->slot[j] == key)
			return 0;
		if (!s->slot[j]) {
			s->slot[j] = key;
			s->n++;
			return 1;
		}
	}
}

static int idset_has(const struct idset *s, uint64_t key)
{
	if (key == 0)
		key = 1;
	if (!s->cap)
		return 0;
	for (size_t j = (key * 0x9E3779B97F4A7C15ULL) & (s->cap - 1);;
	     j = (j + 1) & (s->cap - 1)) {
		if (s->slot[j] == key)
			return 1;
		if (!s->slot[j])
			return 0;
	}
}

const char *tc_search_method_name(enum tc_method m)
{
	switch (m) {
	case TC_SEARCH_GRID:
		return "grid";
	case TC_SEARCH_RANDOM:
		return "random";
	case TC_SEARCH_SOBOL:
		return "sobol";
	case TC_SEARCH_TPE:
		return "tpe";
	}
	return "?";
}

/* ---- values ------------------------------------------------------------ */

void tc_format_double(double d, char *buf, size_t len)
{
	if (isnan(d)) {
		snprintf(buf, len, "nan");
		return;
	}
	if (isinf(d)) {
		snprintf(buf, len, d < 0 ? "-inf" : "inf");
		return;
	}
	snprintf(buf, len, "%.*g", tc_double_digits(d, 6), d);
	/* Keep it a float to a reader: "1" would read back as an integer. */
	if (!strpbrk(buf, ".eEn") && strlen(buf) + 3 < len)
		strcat(buf, ".0");
}

json_t *tc_value_json(const struct tc_value *v)
{
	switch (v->type) {
	case TC_V_INT:
		return json_integer(v->i);
	case TC_V_FLOAT:
		if (!isfinite(v->f)) /* JSON has no nan/inf: keep the text */
			return json_string(v->text);
		return json_real(v->f);
	case TC_V_BOOL:
		return json_boolean(v->b);
	case TC_V_NULL:
	case TC_V_ABSENT: /* callers leave an absent parameter out */
		return json_null();
	case TC_V_STR:
		break;
	}
	return json_string(v->text);
}

size_t tc_trial_values_from_json(const struct tc_spec *spec, json_t *params,
				 struct tc_value *values, unsigned char *present,
				 char (*texts)[40])
{
	size_t absent = 0;

	for (size_t i = 0; i < spec->nparams; i++) {
		const struct tc_param *par = &spec->params[i];
		json_t *j = json_object_get(params, par->name);
		struct tc_value v;
		int ok = 0;

		memset(&v, 0, sizeof(v));
		v.text = "";
		if (json_is_integer(j)) {
			v.type = TC_V_INT;
			v.i = json_integer_value(j);
			v.f = (double)v.i;
		} else if (json_is_real(j)) {
			v.type = TC_V_FLOAT;
			v.f = json_real_value(j);
		} else if (json_is_string(j)) {
			v.type = TC_V_STR;
			v.text = json_string_value(j);
		} else if (json_is_boolean(j)) {
			v.type = TC_V_BOOL;
			v.b = json_is_true(j);
		} else if (json_is_null(j)) {
			v.type = TC_V_NULL;
		}
		switch (par->kind) {
		case TC_P_VALUES:
		case TC_P_CONST:
			for (size_t k = 0; j && !ok && k < par->nvalues; k++) {
				const struct tc_value *pv = &par->values[k];

				/* a nan or inf value is stored as its text */
				if (tc_value_equal(pv, &v) ||
				    (v.type == TC_V_STR && pv->type == TC_V_FLOAT &&
				     !isfinite(pv->f) && !strcmp(pv->text, v.text))) {
					values[i] = *pv;
					ok = 1;
				}
			}
			break;
		case TC_P_UNIFORM:
		case TC_P_LOG_UNIFORM:
			if (v.type == TC_V_INT || v.type == TC_V_FLOAT) {
				v.type = TC_V_FLOAT;
				if (texts) {
					tc_format_double(v.f, texts[i],
							 sizeof(texts[i]));
					v.text = texts[i];
				}
				values[i] = v;
				ok = 1;
			}
			break;
		case TC_P_INT_UNIFORM:
			if (v.type == TC_V_INT) {
				if (texts) {
					snprintf(texts[i], sizeof(texts[i]), "%lld",
						 v.i);
					v.text = texts[i];
				}
				values[i] = v;
				ok = 1;
			}
			break;
		case TC_P_Q_UNIFORM:
		case TC_P_Q_LOG_UNIFORM:
		case TC_P_EXP_UNIFORM:
		case TC_P_INV_EXP_UNIFORM:
		case TC_P_INV_LOG_UNIFORM:
		case TC_P_NORMAL:
		case TC_P_LOG_NORMAL:
		case TC_P_BETA:
			/* drawn numbers (integers when a q is written as one) */
			if (v.type == TC_V_INT || v.type == TC_V_FLOAT) {
				if (texts && v.type == TC_V_INT)
					snprintf(texts[i], sizeof(texts[i]), "%lld",
						 v.i);
				else if (texts)
					tc_format_double(v.f, texts[i],
							 sizeof(texts[i]));
				if (texts)
					v.text = texts[i];
				values[i] = v;
				ok = 1;
			}
			break;
		case TC_P_DERIVED:
			break;
		}
		if (!ok) {
			memset(&values[i], 0, sizeof(values[i]));
			values[i].type = TC_V_NULL;
			values[i].text = "";
		}
		present[i] = (unsigned char)ok;
		absent += !ok && par->kind != TC_P_DERIVED;
	}
	return absent;
}

json_t *tc_trial_params_json(const struct tc_spec *spec,
			     const struct tc_value *values)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (size_t i = 0; i < spec->nparams; i++) {
		json_t *v;

		if (values[i].type == TC_V_ABSENT)
			continue; /* not a parameter of this trial */
		v = tc_value_json(&values[i]);
		if (!v || json_object_set_new(o, spec->params[i].name, v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static char type_char(enum tc_vtype t)
{
	switch (t) {
	case TC_V_STR:
		return 's';
	case TC_V_INT:
		return 'i';
	case TC_V_FLOAT:
		return 'f';
	case TC_V_BOOL:
		return 'b';
	case TC_V_NULL:
		return 'n';
	case TC_V_ABSENT:
		return 'a'; /* never hashed */
	}
	return '?';
}

static uint64_t hex_u64(const char *hex, int n)
{
	uint64_t x = 0;

	for (int i = 0; i < n; i++) {
		char c = hex[i];

		x = x * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return x;
}

void tc_trial_identity(const struct tc_spec *spec, const struct tc_value *values,
		       char id[TC_TRIAL_ID_LEN + 1], uint32_t *seed)
{
	struct tc_sha256 h;
	unsigned char md[32];
	static const char digits[] = "0123456789abcdef";

	tc_sha256_init(&h);
	tc_sha256_update(&h, spec->name, strlen(spec->name) + 1);
	for (size_t i = 0; i < spec->nparams; i++) {
		const char *text = values[i].text ? values[i].text : "";
		char t = type_char(values[i].type);
		unsigned char bits[8];

		/* an absent parameter is not part of the trial, so a spec
		 * without when: hashes exactly as before it existed */
		if (values[i].type == TC_V_ABSENT)
			continue;
		tc_sha256_update(&h, spec->params[i].name,
				 strlen(spec->params[i].name) + 1);
		tc_sha256_update(&h, &t, 1);
		if (values[i].type == TC_V_FLOAT) {
			/* Floats hash by value (IEEE 754 bits, little-endian),
			 * so 1e-3 and 0.001 are one trial on every machine. */
			double d = values[i].f == 0 ? 0.0 : values[i].f;
			uint64_t u;

			memcpy(&u, &d, sizeof(u));
			for (int k = 0; k < 8; k++)
				bits[k] = (unsigned char)(u >> (8 * k));
			tc_sha256_update(&h, bits, sizeof(bits));
		} else {
			tc_sha256_update(&h, text, strlen(text) + 1);
		}
	}
	tc_sha256_final(&h, md);
	for (int i = 0; i < TC_TRIAL_ID_LEN / 2; i++) {
		id[2 * i] = digits[md[i] >> 4];
		id[2 * i + 1] = digits[md[i] & 15];
	}
	id[TC_TRIAL_ID_LEN] = '\0';
	if (seed)
		*seed = (uint32_t)md[6] << 24 | (uint32_t)md[7] << 16 |
			(uint32_t)md[8] << 8 | md[9];
}

/* ---- the iterator -------------------------------------------------------- */

struct tc_plan {
	const struct tc_spec *spec;
	struct tc_trial trial;
	struct tc_value *cur;  /* nparams */
	char (*text)[40];      /* per parameter, for sampled values */
	size_t *odo;           /* grid odometer, per parameter */
	size_t *pos;           /* each parameter's position in spec->order:
				  the odometer's digits, most significant
				  first */
	unsigned *dim;         /* sobol: each parameter's dimension */
	int grid_done;
	uint64_t emitted;      /* main points emitted (not includes) */
	uint64_t next_index;
	size_t next_include;
	struct idset seen;     /* ids emitted, when needed */
	int track_seen;
	struct tc_rng rng;
	struct tc_sobol *sobol; /* sobol search */
	uint64_t sobol_index;   /* the next point of the sequence */
	struct tc_tpe *tpe;     /* tpe search: its startup points */
	uint64_t seed;
	uint64_t draws;
	char note[256];
};

static uint64_t id_key(const char *id)
{
	return hex_u64(id, TC_TRIAL_ID_LEN);
}

uint64_t tc_plan_upfront(const struct tc_spec *spec)
{
	uint64_t n = spec->search.startup ? spec->search.startup : 1;

	if (spec->search.method != TC_SEARCH_TPE)
		return spec->search.trials;
	return n < spec->search.trials ? n : spec->search.trials;
}

int tc_plan_tpe_new(const struct tc_spec *spec, uint64_t seed,
		    struct tc_tpe **out, struct tc_error *err)
{
	struct tc_tpe_options o;

	tc_tpe_defaults(&o);
	o.goal = spec->metric.goal < 0 ? -1 : 1;
	o.seed = seed;
	o.startup = spec->search.startup;
	return tc_tpe_new(spec, &o, out, err);
}

/* Copy a suggestion (values, present) into cur, its derived parameters
 * set from the rest. */
void tc_plan_take_point(const struct tc_spec *spec, const struct tc_value *v,
			struct tc_value *cur)
{
	for (size_t i = 0; i < spec->nparams; i++)
		if (spec->params[i].kind != TC_P_DERIVED)
			cur[i] = v[i];
	tc_spec_derive(spec, cur);
}

int tc_plan_new(const struct tc_spec *spec, uint64_t seed,
		struct tc_plan **out, struct tc_error *err)
{
	struct tc_plan *p = calloc(1, sizeof(*p));
	size_t n = spec->nparams ? spec->nparams : 1;

	*out = NULL;
	if (!p)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	p->spec = spec;
	p->cur = calloc(n, sizeof(*p->cur));
	p->text = calloc(n, sizeof(*p->text));
	p->odo = calloc(n, sizeof(*p->odo));
	p->pos = calloc(n, sizeof(*p->pos));
	p->dim = calloc(n, sizeof(*p->dim));
	if (!p->cur || !p->text || !p->odo || !p->pos || !p->dim) {
		tc_plan_free(p);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	for (size_t k = 0; k < spec->nparams; k++)
		p->pos[tc_spec_nth(spec, k)] = k;
	if (spec->search.method == TC_SEARCH_GRID) {
		for (size_t i = 0; i < spec->nparams; i++) {
			const struct tc_param *par = &spec->params[i];

			if (par->kind != TC_P_VALUES && par->kind != TC_P_CONST)
				continue; /* drawn per grid point */
			if (par->nvalues == 0) {
				tc_plan_free(p);
				return tc_error_at(err, TC_ERR_SPEC, spec->path,
						   par->pos.line, par->pos.col,
						   "parameter '%s' has no values",
						   par->name);
			}
		}
		p->track_seen = spec->search.has_trials;
	} else {
		p->track_seen = 1;
	}
	if (spec->search.method == TC_SEARCH_SOBOL) {
		unsigned dims = 0, used = 0;
		int rc;

		for (size_t i = 0; i < spec->nparams; i++) {
			if (spec->params[i].kind == TC_P_CONST)
				continue;
			/* (a derived parameter counts here but reads no
			 * coordinate: the sequence stays what it was) */
			if (spec->params[i].kind != TC_P_DERIVED)
				p->dim[i] = used++;
			if (++dims > TC_SOBOL_MAX_DIMS) {
				tc_plan_free(p);
				return tc_error_at(err, TC_ERR_SPEC, spec->path,
						   spec->params[i].pos.line,
						   spec->params[i].pos.col,
						   "sobol search takes at most %d "
						   "parameters that are not constants; "
						   "'%s' is one more: use method: random",
						   TC_SOBOL_MAX_DIMS, spec->params[i].name);
			}
		}
		/* (no parameter to vary: one dimension, never read) */
		rc = tc_sobol_new(dims ? dims : 1, seed, &p->sobol, err);
		if (rc) {
			tc_plan_free(p);
			return rc;
		}
	}
	if (spec->search.method == TC_SEARCH_TPE) {
		int rc = tc_plan_tpe_new(spec, seed, &p->tpe, err);

		if (rc) {
			tc_plan_free(p);
			return rc;
		}
	}
	tc_rng_seed(&p->rng, seed);
	p->seed = seed;
	p->trial.values = p->cur;
	*out = p;
	return 0;
}

void tc_plan_free(struct tc_plan *p)
{
	if (!p)
		return;
	free(p->cur);
	free(p->text);
	free(p->odo);
	free(p->pos);
	free(p->dim);
	free(p->seen.slot);
	tc_sobol_free(p->sobol);
	tc_tpe_free(p->tpe);
	free(p);
}

const char *tc_plan_note(const struct tc_plan *p)
{
	return p->note[0] ? p->note : NULL;
}

static int point_excluded(const struct tc_spec *spec, const struct tc_value *vals)
{
	for (size_t e = 0; e < spec->search.nexclude; e++) {
		const struct tc_point *pt = &spec->search.exclude[e];
		size_t k;

		for (k = 0; k < pt->n; k++) {
			int pi = tc_spec_param_index(spec, pt->a[k].name,
						     strlen(pt->a[k].name));

			if (pi < 0 || !tc_value_equal(&vals[pi], &pt->a[k].value))
				break;
		}
		if (pt->n > 0 && k == pt->n)
			return 1;
	}
	return 0;
}

static int emit(struct tc_plan *p, int included, const struct tc_trial **out)
{
	tc_trial_identity(p->spec, p->cur, p->trial.id, &p->trial.seed);
	if (p->track_seen || included) {
		int r = idset_add(&p->seen, id_key(p->trial.id));

		if (r < 0)
			return TC_ERR_NOMEM;
		if (r == 0)
			return 0; /* a repeat */
	}
	p->trial.index = p->next_index++;
	p->trial.included = included;
	*out = &p->trial;
	return 1;
}

static int is_enumerated(const struct tc_param *par);
static void draw_rest(struct tc_plan *p);

/* Advance the odometer at position top - 1 of spec->order (positions
 * from top on are reset to their first value), carrying leftwards; the
 * last position varies fastest, so top == nparams steps to the next point.
 * A parameter absent from the current point is passed over like a
 * constant: its digit stays 0, so a grid has no more points than the
 * values of the parameters each point has (whether the parameter at a
 * position is present depends only on the positions before it, which a
 * carry leaves as they are). */
static void odo_advance(struct tc_plan *p, size_t top)
{
	const struct tc_spec *spec = p->spec;
	size_t k;

	for (k = top; k < spec->nparams; k++)
		p->odo[tc_spec_nth(spec, k)] = 0;
	for (k = top; k > 0;) {
		size_t i = tc_spec_nth(spec, --k);

		if (is_enumerated(&spec->params[i]) &&
		    p->cur[i].type != TC_V_ABSENT &&
		    ++p->odo[i] < spec->params[i].nvalues)
			return;
		p->odo[i] = 0;
	}
	p->grid_done = 1;
}

/*
 * Where an exclude entry lets the odometer jump: an entry that names only
 * enumerated parameters and matches the current point excludes every point
 * that shares the point's values up to the entry's last (fastest) parameter,
 * so the odometer can advance there directly.  Returns the smallest such
 * "top" (the longest jump) over all matching entries, or 0 when none
 * matches.  Without it, a grid capped by search.trials whose exclude rejects
 * a large leading slice would walk every point of the slice.
 */
static size_t exclude_jump(const struct tc_plan *p)
{
	const struct tc_spec *spec = p->spec;
	size_t best = 0;

	for (size_t e = 0; e < spec->search.nexclude; e++) {
		const struct tc_point *pt = &spec->search.exclude[e];
		size_t top = 0, k;

		for (k = 0; k < pt->n; k++) {
			int pi = tc_spec_param_index(spec, pt->a[k].name,
						     strlen(pt->a[k].name));

			if (pi < 0 || !is_enumerated(&spec->params[pi]) ||
			    !tc_value_equal(&p->cur[pi], &pt->a[k].value))
				break;
			if (p->pos[pi] + 1 > top)
				top = p->pos[pi] + 1;
		}
		if (pt->n > 0 && k == pt->n && (best == 0 || top < best))
			best = top;
	}
	return best;
}

static int grid_next(struct tc_plan *p, const struct tc_trial **out)
{
	const struct tc_spec *spec = p->spec;

	while (!p->grid_done) {
		size_t jump;

		if (spec->search.has_trials && p->emitted >= spec->search.trials) {
			p->grid_done = 1;
			break;
		}
		if (spec->nparams == 0) {
			p->grid_done = 1;
		} else {
			for (size_t i = 0; i < spec->nparams; i++)
				if (is_enumerated(&spec->params[i]))
					p->cur[i] = spec->params[i].values[p->odo[i]];
			/* which parameters the point has, before the
			 * odometer moves past the absent ones */
			tc_spec_derive(spec, p->cur);
			jump = exclude_jump(p);
			if (jump) {
				odo_advance(p, jump);
				continue;
			}
			odo_advance(p, spec->nparams);
		}
		/* entries that name a drawn parameter match only after the
		 * draw */
		draw_rest(p);
		if (!point_excluded(spec, p->cur)) {
			int r = emit(p, 0, out);

			if (r != 0) {
				if (r > 0)
					p->emitted++;
				return r;
			}
		}
	}
	return 0;
}

/* A float parameter's value at u in [0, 1): the one mapping of uniform and
 * log_uniform (and, through dist.h, of the W&B distributions), for random
 * and sobol alike. */
static void set_unit(struct tc_plan *p, size_t i, double u)
{
	const struct tc_param *par = &p->spec->params[i];
	struct tc_value *v = &p->cur[i];

	if (tc_dist_owns(par->kind)) {
		tc_dist_value(par, u, v, p->text[i], sizeof(p->text[i]));
		return;
	}
	v->type = TC_V_FLOAT;
	if (par->kind == TC_P_LOG_UNIFORM) {
		v->f = exp(log(par->min) + u * (log(par->max) - log(par->min)));
		if (v->f < par->min)
			v->f = par->min;
		if (v->f > par->max)
			v->f = par->max;
	} else {
		v->f = par->min + u * (par->max - par->min);
	}
	tc_format_double(v->f, p->text[i], sizeof(p->text[i]));
	v->text = p->text[i];
	v->i = 0;
	v->b = 0;
}

/* An int_uniform parameter's value at offset from its minimum (exact
 * integer arithmetic over the whole int64 range). */
static void set_int(struct tc_plan *p, size_t i, uint64_t offset)
{
	const struct tc_param *par = &p->spec->params[i];
	struct tc_value *v = &p->cur[i];
	uint64_t u = (uint64_t)par->imin + offset;

	v->type = TC_V_INT;
	v->i = u > (uint64_t)INT64_MAX ? -(long long)(~u) - 1 : (long long)u;
	v->f = (double)v->i;
	snprintf(p->text[i], sizeof(p->text[i]), "%lld", v->i);
	v->text = p->text[i];
}

/* The span of an int_uniform parameter: 0 stands for 2^64, the range
 * [INT64_MIN, INT64_MAX]. */
static uint64_t int_span(const struct tc_param *par)
{
	return (uint64_t)par->imax - (uint64_t)par->imin + 1;
}

static void sample_param_rng(struct tc_plan *p, size_t i, struct tc_rng *rg)
{
	const struct tc_param *par = &p->spec->params[i];

	switch (par->kind) {
	case TC_P_VALUES:
	case TC_P_CONST:
		if (par->probs) {
			p->cur[i] = par->values[tc_dist_pick(par,
							     tc_rng_unit(rg))];
			return;
		}
		p->cur[i] = par->values[tc_rng_below(rg, par->nvalues)];
		return;
	case TC_P_DERIVED:
		return; /* set by tc_spec_derive, drawing nothing */
	case TC_P_UNIFORM:
	case TC_P_LOG_UNIFORM:
	case TC_P_Q_UNIFORM:
	case TC_P_Q_LOG_UNIFORM:
	case TC_P_EXP_UNIFORM:
	case TC_P_INV_EXP_UNIFORM:
	case TC_P_INV_LOG_UNIFORM:
	case TC_P_NORMAL:
	case TC_P_LOG_NORMAL:
	case TC_P_BETA:
		set_unit(p, i, tc_rng_unit(rg));
		return;
	case TC_P_INT_UNIFORM:
		set_int(p, i, tc_rng_below(rg, int_span(par)));
		return;
	}
}

/* floor(x * n / 2^64): a 64-bit fraction scaled to [0, n) (n == 0: 2^64) */
static uint64_t scale_fraction(uint64_t x, uint64_t n)
{
	uint64_t xh = x >> 32, xl = x & 0xffffffffu;
	uint64_t nh = n >> 32, nl = n & 0xffffffffu;
	uint64_t ll = xl * nl, lh = xl * nh, hl = xh * nl, hh = xh * nh;
	uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);

	if (n == 0)
		return x;
	return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/* Point p->sobol_index of the scrambled Sobol sequence onto the parameters:
 * one dimension per parameter that is not a constant, in spec order
 * (p->dim); a parameter absent from the point leaves its coordinate
 * unread. */
static void sobol_point(struct tc_plan *p)
{
	const struct tc_spec *spec = p->spec;

	for (size_t k = 0; k < spec->nparams; k++) {
		size_t i = tc_spec_nth(spec, k);
		const struct tc_param *par = &spec->params[i];
		uint64_t x;

		if (tc_spec_param_resolve(spec, p->cur, i) != 1 ||
		    par->kind == TC_P_DERIVED)
			continue; /* absent, or set from its source */
		if (par->kind == TC_P_CONST) {
			p->cur[i] = par->values[0];
			continue;
		}
		x = tc_sobol_get(p->sobol, p->dim[i], p->sobol_index);
		switch (par->kind) {
		case TC_P_VALUES:
		case TC_P_CONST:
			p->cur[i] = par->probs
				? par->values[tc_dist_pick(
					  par, (double)(x >> 11) * 0x1.0p-53)]
				: par->values[scale_fraction(x, par->nvalues)];
			break;
		case TC_P_DERIVED:
			break;
		case TC_P_UNIFORM:
		case TC_P_LOG_UNIFORM:
		case TC_P_Q_UNIFORM:
		case TC_P_Q_LOG_UNIFORM:
		case TC_P_EXP_UNIFORM:
		case TC_P_INV_EXP_UNIFORM:
		case TC_P_INV_LOG_UNIFORM:
		case TC_P_NORMAL:
		case TC_P_LOG_NORMAL:
		case TC_P_BETA:
			set_unit(p, i, (double)(x >> 11) * 0x1.0p-53);
			break;
		case TC_P_INT_UNIFORM:
			set_int(p, i, scale_fraction(x, int_span(par)));
			break;
		}
	}
	p->sobol_index++;
}

static void sample_param(struct tc_plan *p, size_t i)
{
	sample_param_rng(p, i, &p->rng);
}

static int is_enumerated(const struct tc_param *par)
{
	return par->kind == TC_P_VALUES || par->kind == TC_P_CONST;
}

/* Drawn from a distribution (neither enumerated nor derived). */
static int is_drawn(const struct tc_param *par)
{
	return !is_enumerated(par) && par->kind != TC_P_DERIVED;
}

/* Draw the distribution parameters of a grid or include point from a
 * generator seeded by the experiment seed and the point's enumerated
 * values, so a point always draws the same values for the same seed.
 * The enumerated and derived values are set (tc_spec_derive), so which
 * parameters the point has is known: an absent one neither counts in
 * the seed nor draws. */
static void draw_rest(struct tc_plan *p)
{
	const struct tc_spec *spec = p->spec;
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	struct tc_rng rg;
	int any = 0;

	for (size_t i = 0; i < spec->nparams; i++) {
		const char *t;

		if (is_drawn(&spec->params[i]))
			any = 1;
		if (!is_enumerated(&spec->params[i]) ||
		    p->cur[i].type == TC_V_ABSENT)
			continue;
		for (t = spec->params[i].name; *t; t++)
			h = (h ^ (unsigned char)*t) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
		for (t = p->cur[i].text ? p->cur[i].text : ""; *t; t++)
			h = (h ^ (unsigned char)*t) * 0x100000001b3ULL;
		h = (h ^ 0xfe) * 0x100000001b3ULL;
	}
	if (!any)
		return;
	tc_rng_seed(&rg, p->seed ^ h);
	for (size_t i = 0; i < spec->nparams; i++) {
		if (!is_drawn(&spec->params[i]))
			continue;
		if (tc_spec_param_present(spec, p->cur, i))
			sample_param_rng(p, i, &rg);
		else
			p->cur[i] = tc_value_absent;
	}
}

/* Random and sobol search: trials distinct points, excluded ones and
 * repeats skipped, within a budget of draws. */
static int sampled_next(struct tc_plan *p, const struct tc_trial **out)
{
	const struct tc_spec *spec = p->spec;
	uint64_t budget = spec->search.trials * 100 + 1000;

	while (p->emitted < spec->search.trials) {
		int r;

		if (p->draws >= budget ||
		    (p->sobol && p->sobol_index >= TC_SOBOL_MAX_POINTS)) {
			snprintf(p->note, sizeof(p->note),
				 "only %llu distinct points could be drawn "
				 "(search.trials is %llu): the space is smaller "
				 "than asked or exclude rules reject most of it",
				 (unsigned long long)p->emitted,
				 (unsigned long long)spec->search.trials);
			return 0;
		}
		p->draws++;
		if (p->sobol)
			sobol_point(p);
		else
			/* in spec->order, so that whether a parameter is
			 * drawn is known when its turn comes */
			for (size_t k = 0; k < spec->nparams; k++) {
				size_t i = tc_spec_nth(spec, k);

				if (tc_spec_param_resolve(spec, p->cur, i) == 1)
					sample_param(p, i);
			}
		if (point_excluded(spec, p->cur))
			continue;
		r = emit(p, 0, out);
		if (r != 0) {
			if (r > 0)
				p->emitted++;
			return r;
		}
	}
	return 0;
}

/* TPE search: the startup points, asked with nothing told (they depend on
 * the seed only); the sampler refuses repeats itself. */
static int tpe_next(struct tc_plan *p, const struct tc_trial **out,
		    struct tc_error *err)
{
	const struct tc_value *v;
	const unsigned char *present;
	int r;

	while (p->emitted < tc_plan_upfront(p->spec)) {
		/* TODO(when:): the sampler's present[] will say which
		 * conditional parameters the point has */
		r = tc_tpe_ask(p->tpe, &v, &present, NULL, err);
		if (r < 0)
			return r;
		if (r == 0) {
			snprintf(p->note, sizeof(p->note),
				 "only %llu distinct points could be drawn: "
				 "the space is smaller than search.startup",
				 (unsigned long long)p->emitted);
			return 0;
		}
		tc_plan_take_point(p->spec, v, p->cur);
		r = emit(p, 0, out);
		if (r != 0) {
			if (r > 0)
				p->emitted++;
			return r;
		}
	}
	return 0;
}

/* Is an include point (already in grid form, its id computed) one the
 * grid emitted? */
static int grid_has(struct tc_plan *p)
{
	const struct tc_spec *spec = p->spec;
	struct tc_value *saved;
	char id[sizeof(p->trial.id)];
	uint32_t seed;
	int drawn = 0, excluded;

	if (p->track_seen)
		return idset_has(&p->seen, id_key(p->trial.id));
	for (size_t i = 0; i < spec->nparams; i++) {
		const struct tc_param *par = &spec->params[i];
		size_t k;

		if (par->kind == TC_P_DERIVED || p->cur[i].type == TC_V_ABSENT)
			continue; /* follows from the others */
		if (!is_enumerated(par)) {
			drawn = 1;
			continue;
		}
		for (k = 0; k < par->nvalues; k++)
			if (&par->values[k] == &p->cur[i] ||
			    tc_value_equal(&par->values[k], &p->cur[i]))
				break;
		if (k == par->nvalues)
			return 0;
	}
	if (!drawn)
		return !point_excluded(spec, p->cur);
	/* The grid point with these enumerated values drew the rest from
	 * them (draw_rest): draw them again and compare the ids. */
	if (!(saved = malloc(spec->nparams * sizeof(*saved))))
		return 0;
	memcpy(saved, p->cur, spec->nparams * sizeof(*saved));
	draw_rest(p);
	excluded = point_excluded(spec, p->cur);
	tc_trial_identity(spec, p->cur, id, &seed);
	memcpy(p->cur, saved, spec->nparams * sizeof(*saved));
	free(saved);
	return !excluded && strcmp(id, p->trial.id) == 0;
}

static int include_next(struct tc_plan *p, const struct tc_trial **out,
			struct tc_error *err)
{
	const struct tc_spec *spec = p->spec;

	while (p->next_include < spec->search.ninclude) {
		const struct tc_point *pt = &spec->search.include[p->next_include++];
		int missing_dist = 0;

		for (size_t i = 0; i < spec->nparams; i++) {
			const struct tc_param *par = &spec->params[i];
			const struct tc_value *v = NULL;

			for (size_t k = 0; k < pt->n; k++)
				if (strcmp(pt->a[k].name, par->name) == 0)
					v = &pt->a[k].value;
			if (!v && par->kind == TC_P_CONST)
				v = &par->values[0];
			if (!v && par->kind != TC_P_VALUES) {
				missing_dist = 1; /* drawn below */
				continue;
			}
			if (!v) {
				/* absent from this point, or an error below */
				p->cur[i] = tc_value_absent;
				continue;
			}
			/* Take the parameter's own spelling of an equal value
			 * so the id matches the grid point's. */
			for (size_t k = 0; k < par->nvalues; k++)
				if (tc_value_equal(&par->values[k], v)) {
					v = &par->values[k];
					break;
				}
			p->cur[i] = *v;
		}
		tc_spec_derive(spec, p->cur);
		for (size_t i = 0; i < spec->nparams; i++)
			if (spec->params[i].kind == TC_P_VALUES &&
			    p->cur[i].type == TC_V_ABSENT &&
			    tc_spec_param_present(spec, p->cur, i))
				return tc_error_at(err, TC_ERR_SPEC, spec->path,
						   pt->pos.line, pt->pos.col,
						   "include entry lacks parameter '%s'",
						   spec->params[i].name);
		if (missing_dist) {
			/* what the entry does not set is drawn, seeded by what
			 * it does set (its distribution values keep theirs) */
			struct tc_value keep[64];
			size_t nk = spec->nparams < 64 ? spec->nparams : 64;
			int set[64] = {0};

			for (size_t i = 0; i < nk; i++)
				for (size_t k = 0; k < pt->n; k++)
					if (!strcmp(pt->a[k].name, spec->params[i].name)) {
						set[i] = 1;
						keep[i] = p->cur[i];
					}
			draw_rest(p);
			for (size_t i = 0; i < nk; i++)
				if (set[i])
					p->cur[i] = keep[i];
		}
		tc_spec_derive(spec, p->cur);
		tc_trial_identity(spec, p->cur, p->trial.id, &p->trial.seed);
		if (spec->search.method == TC_SEARCH_GRID && !p->track_seen &&
		    grid_has(p))
			continue;
		{
			int r = emit(p, 1, out);

			if (r != 0)
				return r;
		}
	}
	return 0;
}

int tc_plan_next(struct tc_plan *p, const struct tc_trial **out,
		 struct tc_error *err)
{
	int r;

	*out = NULL;
	if (p->spec->search.method == TC_SEARCH_GRID)
		r = grid_next(p, out);
	else if (p->spec->search.method == TC_SEARCH_TPE)
		r = tpe_next(p, out, err);
	else
		r = sampled_next(p, out);
	if (r == 0)
		r = include_next(p, out, err);
	if (r == TC_ERR_NOMEM)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	return r;
}

/* Is every real in o written back exactly with 15 significant digits? */
static int reals_fit_15(json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
	{
		if (json_is_real(v)) {
			char buf[40];

			snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
			if (strtod(buf, NULL) != json_real_value(v))
				return 0;
		}
	}
	return 1;
}

char *tc_params_dumps(json_t *params)
{
	return json_dumps(params, JSON_COMPACT | JSON_PRESERVE_ORDER |
					  JSON_REAL_PRECISION(reals_fit_15(params) ? 15
										    : 17));
}
