/*
 * optim.c — SGD, momentum, Adam and LAMB updates (see optim.h for the
 * exact rules, which follow PyTorch's so results can be compared).
 */
#include "optim.h"

#include <math.h>
#include <string.h>

void fm_optim_defaults(struct fm_optim_config *cfg, enum fm_optim_kind kind,
		       float lr, float weight_decay)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = kind;
	cfg->lr = lr;
	cfg->weight_decay = weight_decay;
	cfg->momentum = 0.9f;
	cfg->beta1 = 0.9f;
	cfg->beta2 = 0.999f;
	cfg->eps = kind == FM_OPT_LAMB ? 1e-6f : 1e-8f;
}

const char *fm_optim_name(enum fm_optim_kind kind)
{
	switch (kind) {
	case FM_OPT_SGD:
		return "sgd";
	case FM_OPT_MOMENTUM:
		return "momentum";
	case FM_OPT_ADAM:
		return "adam";
	case FM_OPT_LAMB:
		return "lamb";
	}
	return "?";
}

int fm_optim_parse(const char *name, enum fm_optim_kind *kind)
{
	static const enum fm_optim_kind all[] = {
		FM_OPT_SGD, FM_OPT_MOMENTUM, FM_OPT_ADAM, FM_OPT_LAMB,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, fm_optim_name(all[i])) == 0) {
			*kind = all[i];
			return FM_OK;
		}
	}
	return FM_EINVAL;
}

static size_t state_per_param(enum fm_optim_kind kind)
{
	switch (kind) {
	case FM_OPT_SGD:
		return 0;
	case FM_OPT_MOMENTUM:
		return 1;
	case FM_OPT_ADAM:
	case FM_OPT_LAMB:
		return 2;
	}
	return 0;
}

int fm_optim_init(struct fm_optim *o, const struct fm_optim_config *cfg,
		  size_t nparams, struct fm_error *err)
{
	memset(o, 0, sizeof(*o));
	o->cfg = *cfg;
	o->n = nparams;
	o->state = fm_falloc(state_per_param(cfg->kind) * nparams);
	if (cfg->kind == FM_OPT_LAMB)
		o->scratch = fm_falloc(nparams);
	if (!o->state || (cfg->kind == FM_OPT_LAMB && !o->scratch))
		return fm_error_set(err, FM_ENOMEM,
				    "out of memory for the optimizer state");
	return FM_OK;
}

void fm_optim_free(struct fm_optim *o)
{
	fm_free(o->state);
	fm_free(o->scratch);
	o->state = NULL;
	o->scratch = NULL;
}

size_t fm_optim_state_len(const struct fm_optim *o)
{
	return state_per_param(o->cfg.kind) * o->n;
}

static void step_sgd(const struct fm_optim_config *c, size_t n, float *w,
		     const float *g)
{
	const float lr = c->lr, wd = c->weight_decay;

	for (size_t i = 0; i < n; i++)
		w[i] -= lr * (g[i] + wd * w[i]);
}

static void step_momentum(const struct fm_optim_config *c, size_t n,
			  float *w, const float *g, float *buf, uint64_t t)
{
	const float lr = c->lr, wd = c->weight_decay, mu = c->momentum;

	/* PyTorch: the first step initialises the buffer with the gradient. */
	for (size_t i = 0; i < n; i++) {
		float d = g[i] + wd * w[i];

		buf[i] = t == 1 ? d : mu * buf[i] + d;
		w[i] -= lr * buf[i];
	}
}

static void step_adam(const struct fm_optim_config *c, size_t n, float *w,
		      const float *g, float *m, float *v, uint64_t t)
{
	const float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
	const float wd = c->weight_decay;
	const double bc1 = 1.0 - pow(b1, (double)t);
	const double bc2 = 1.0 - pow(b2, (double)t);
	const float step = (float)(c->lr / bc1);
	const float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));

	for (size_t i = 0; i < n; i++) {
		float d = g[i] + wd * w[i];

		m[i] = b1 * m[i] + (1.0f - b1) * d;
		v[i] = b2 * v[i] + (1.0f - b2) * d * d;
		w[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
	}
}

/* Σ a[i]² in 16 float lanes (vectorizable, and the same order on every
 * run), added up in double at the end. */
static double sum_squares(const float *a, size_t n)
{
	float lane[16] = {0};
	double s = 0.0;
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		for (int j = 0; j < 16; j++)
			lane[j] += a[i + j] * a[i + j];
	for (; i < n; i++)
		s += (double)a[i] * a[i];
	for (int j = 0; j < 16; j++)
		s += lane[j];
	return s;
}

/* One tensor of LAMB; r (scratch, n floats) receives the Adam direction
 * plus decay before the trust ratio scales it. */
static void step_lamb(const struct fm_optim_config *c, size_t n, float *w,
		      const float *g, float *m, float *v, float *r,
		      uint64_t t)
{
	const float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
	const float wd = c->weight_decay;
	const float ibc1 = (float)(1.0 / (1.0 - pow(b1, (double)t)));
	const float ibc2 = (float)(1.0 / (1.0 - pow(b2, (double)t)));
	double wn, rn;
	float step;

	for (size_t i = 0; i < n; i++) {
		m[i] = b1 * m[i] + (1.0f - b1) * g[i];
		v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
		r[i] = m[i] * ibc1 / (sqrtf(v[i] * ibc2) + eps) + wd * w[i];
	}
	wn = sqrt(sum_squares(w, n));
	rn = sqrt(sum_squares(r, n));
	step = c->lr * (wn > 0.0 && rn > 0.0 ? (float)(wn / rn) : 1.0f);
	for (size_t i = 0; i < n; i++)
		w[i] -= step * r[i];
}

void fm_optim_step(struct fm_optim *o, const struct fm_tensor *tensors,
		   int ntensors, float *params, const float *grads)
{
	const struct fm_optim_config *c = &o->cfg;

	o->t++;
	switch (c->kind) {
	case FM_OPT_SGD:
		step_sgd(c, o->n, params, grads);
		break;
	case FM_OPT_MOMENTUM:
		step_momentum(c, o->n, params, grads, o->state, o->t);
		break;
	case FM_OPT_ADAM:
		step_adam(c, o->n, params, grads, o->state, o->state + o->n,
			  o->t);
		break;
	case FM_OPT_LAMB:
		for (int i = 0; i < ntensors; i++) {
			size_t off = tensors[i].off;

			step_lamb(c, tensors[i].len, params + off, grads + off,
				  o->state + off, o->state + o->n + off,
				  o->scratch, o->t);
		}
		break;
	}
}
