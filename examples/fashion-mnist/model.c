/*
 * model.c — building, initialising, and running forward and backward the
 * MLP and the CNN (see model.h).  The backward passes fuse each ReLU's
 * mask into the step after it: into dropout's backward, or into max
 * pooling's backward.
 */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_INIT 1

const char *fm_model_kind_name(enum fm_model_kind kind)
{
	switch (kind) {
	case FM_MODEL_MLP:
		return "mlp";
	case FM_MODEL_CNN:
		return "cnn";
	}
	return "?";
}

const char *fm_init_name(enum fm_init init)
{
	switch (init) {
	case FM_INIT_HE:
		return "he";
	case FM_INIT_XAVIER:
		return "xavier";
	}
	return "?";
}

/* Reserve a tensor of len floats in the flat array; returns its offset. */
static size_t add_tensor(struct fm_model *m, size_t len, int fan_in,
			 int fan_out, int is_bias)
{
	struct fm_tensor *t = &m->tensors[m->ntensors++];

	t->off = m->nparams;
	t->len = len;
	t->fan_in = fan_in;
	t->fan_out = fan_out;
	t->is_bias = is_bias;
	/* keep every tensor 64-byte aligned */
	m->nparams += (len + 15) & ~(size_t)15;
	return t->off;
}

struct lin_plan {
	size_t w, b;
};

static struct lin_plan plan_linear(struct fm_model *m, int in, int out)
{
	struct lin_plan p;

	p.w = add_tensor(m, (size_t)in * out, in, out, 0);
	p.b = add_tensor(m, (size_t)out, in, out, 1);
	return p;
}

static void bind_linear(struct fm_model *m, struct fm_linear *l,
			struct lin_plan p, int in, int out)
{
	l->in = in;
	l->out = out;
	l->w = m->params + p.w;
	l->b = m->params + p.b;
	l->dw = m->grads + p.w;
	l->db = m->grads + p.b;
}

static int check_config(const struct fm_model_config *c, int max_batch,
			struct fm_error *err)
{
	if (c->in_c < 1 || c->in_c > 4 || c->in_h < 1 || c->in_w < 1 ||
	    c->in_h > 1024 || c->in_w > 1024)
		return fm_error_set(err, FM_EINVAL,
				    "unsupported input shape %d×%d×%d", c->in_c,
				    c->in_h, c->in_w);
	if (c->classes < 2 || c->classes > 256)
		return fm_error_set(err, FM_EINVAL,
				    "classes must be in 2..256");
	if (max_batch < 1)
		return fm_error_set(err, FM_EINVAL, "batch size must be >= 1");
	if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
		return fm_error_set(err, FM_EINVAL,
				    "dropout must be in [0, 1)");
	if (c->kind == FM_MODEL_MLP) {
		if (c->hidden < 1 || c->hidden > 65536)
			return fm_error_set(err, FM_EINVAL,
					    "hidden size must be in 1..65536");
		if (c->layers < 1 || c->layers > FM_MAX_HIDDEN_LAYERS)
			return fm_error_set(err, FM_EINVAL,
					    "layers must be in 1..%d",
					    FM_MAX_HIDDEN_LAYERS);
	} else if (c->kind == FM_MODEL_CNN) {
		if (c->in_h % 4 || c->in_w % 4)
			return fm_error_set(err, FM_EINVAL,
					    "the cnn needs image sides divisible "
					    "by 4, not %d×%d", c->in_h, c->in_w);
		if (c->c1 < 1 || c->c1 > 1024 || c->c2 < 1 || c->c2 > 1024)
			return fm_error_set(err, FM_EINVAL,
					    "channels must be in 1..1024");
		if (c->ksize < 1 || c->ksize > 9 || c->ksize % 2 == 0)
			return fm_error_set(err, FM_EINVAL,
					    "kernel size must be odd, 1..9");
	} else {
		return fm_error_set(err, FM_EINVAL, "unknown model kind %d",
				    (int)c->kind);
	}
	return FM_OK;
}

#define ALLOC(ptr, count)                                                    \
	do {                                                                 \
		(ptr) = fm_falloc(count);                                    \
		if (!(ptr))                                                  \
			goto nomem;                                          \
	} while (0)

static int build_mlp(struct fm_model *m, struct fm_error *err)
{
	const struct fm_model_config *c = &m->cfg;
	const int nb = m->max_batch, L = c->layers;
	const int in = c->in_c * c->in_h * c->in_w;
	int width = in > c->hidden ? in : c->hidden;
	struct lin_plan p[FM_MAX_HIDDEN_LAYERS + 1];

	for (int i = 0; i <= L; i++)
		p[i] = plan_linear(m, i == 0 ? in : c->hidden,
				   i == L ? c->classes : c->hidden);
	ALLOC(m->params, m->nparams);
	ALLOC(m->grads, m->nparams + FM_MODEL_GRAD_SPARE);
	for (int i = 0; i <= L; i++)
		bind_linear(m, &m->lin[i], p[i], i == 0 ? in : c->hidden,
			    i == L ? c->classes : c->hidden);
	for (int i = 0; i < L; i++)
		ALLOC(m->act[i], (size_t)nb * c->hidden);
	if (width < c->classes)
		width = c->classes;
	ALLOC(m->dbuf[0], (size_t)nb * width);
	ALLOC(m->dbuf[1], (size_t)nb * width);
	return FM_OK;
nomem:
	return fm_error_set(err, FM_ENOMEM, "out of memory for the model");
}

static int build_cnn(struct fm_model *m, struct fm_error *err)
{
	const struct fm_model_config *c = &m->cfg;
	const int nb = m->max_batch, k = c->ksize;
	const int h = c->in_h, w = c->in_w, h2 = h / 2, w2 = w / 2;
	const int feat = (h / 4) * (w / 4) * c->c2;
	size_t w1, b1, w2o, b2;
	struct lin_plan ph;
	struct fm_conv *cv;

	w1 = add_tensor(m, (size_t)c->c1 * k * k * c->in_c, k * k * c->in_c,
			k * k * c->c1, 0);
	b1 = add_tensor(m, (size_t)c->c1, k * k * c->in_c, k * k * c->c1, 1);
	w2o = add_tensor(m, (size_t)c->c2 * k * k * c->c1, k * k * c->c1,
			 k * k * c->c2, 0);
	b2 = add_tensor(m, (size_t)c->c2, k * k * c->c1, k * k * c->c2, 1);
	ph = plan_linear(m, feat, c->classes);
	ALLOC(m->params, m->nparams);
	ALLOC(m->grads, m->nparams + FM_MODEL_GRAD_SPARE);

	cv = &m->conv[0];
	cv->c = c->in_c;
	cv->h = h;
	cv->w = w;
	cv->o = c->c1;
	cv->k = k;
	cv->wt = m->params + w1;
	cv->b = m->params + b1;
	cv->dwt = m->grads + w1;
	cv->db = m->grads + b1;
	cv = &m->conv[1];
	cv->c = c->c1;
	cv->h = h2;
	cv->w = w2;
	cv->o = c->c2;
	cv->k = k;
	cv->wt = m->params + w2o;
	cv->b = m->params + b2;
	cv->dwt = m->grads + w2o;
	cv->db = m->grads + b2;
	bind_linear(m, &m->head, ph, feat, c->classes);

	ALLOC(m->col1, fm_conv_col_size(&m->conv[0], nb));
	ALLOC(m->y1, (size_t)nb * h * w * c->c1);
	ALLOC(m->dy1, (size_t)nb * h * w * c->c1);
	ALLOC(m->p1, (size_t)nb * h2 * w2 * c->c1);
	ALLOC(m->dp1, (size_t)nb * h2 * w2 * c->c1);
	ALLOC(m->col2, fm_conv_col_size(&m->conv[1], nb));
	ALLOC(m->dcol2, fm_conv_col_size(&m->conv[1], nb));
	ALLOC(m->y2, (size_t)nb * h2 * w2 * c->c2);
	ALLOC(m->dy2, (size_t)nb * h2 * w2 * c->c2);
	ALLOC(m->p2, (size_t)nb * feat);
	ALLOC(m->feat, (size_t)nb * feat);
	ALLOC(m->dfeat, (size_t)nb * feat);
	m->arg1 = malloc((size_t)nb * h2 * w2 * c->c1);
	m->arg2 = malloc((size_t)nb * feat);
	if (!m->arg1 || !m->arg2)
		goto nomem;
	return FM_OK;
nomem:
	return fm_error_set(err, FM_ENOMEM, "out of memory for the model");
}

int fm_model_new(const struct fm_model_config *cfg, int max_batch,
		 struct fm_model **out, struct fm_error *err)
{
	struct fm_model *m;
	int rc;

	*out = NULL;
	rc = check_config(cfg, max_batch, err);
	if (rc)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m)
		return fm_error_set(err, FM_ENOMEM,
				    "out of memory for the model");
	m->cfg = *cfg;
	m->max_batch = max_batch;
	rc = cfg->kind == FM_MODEL_MLP ? build_mlp(m, err) : build_cnn(m, err);
	if (!rc) {
		m->logits = fm_falloc((size_t)max_batch * cfg->classes);
		m->dlogits = fm_falloc((size_t)max_batch * cfg->classes);
		if (!m->logits || !m->dlogits)
			rc = fm_error_set(err, FM_ENOMEM,
					  "out of memory for the model");
	}
	if (rc) {
		fm_model_free(m);
		return rc;
	}
	*out = m;
	return FM_OK;
}

void fm_model_free(struct fm_model *m)
{
	if (!m)
		return;
	fm_free(m->params);
	fm_free(m->grads);
	for (int i = 0; i < FM_MAX_HIDDEN_LAYERS; i++)
		fm_free(m->act[i]);
	fm_free(m->dbuf[0]);
	fm_free(m->dbuf[1]);
	fm_free(m->col1);
	fm_free(m->y1);
	fm_free(m->dy1);
	fm_free(m->p1);
	fm_free(m->dp1);
	fm_free(m->col2);
	fm_free(m->dcol2);
	fm_free(m->y2);
	fm_free(m->dy2);
	fm_free(m->p2);
	fm_free(m->feat);
	fm_free(m->dfeat);
	free(m->arg1);
	free(m->arg2);
	fm_free(m->logits);
	fm_free(m->dlogits);
	free(m);
}

void fm_model_init(struct fm_model *m, enum fm_init init, uint64_t seed)
{
	struct fm_rng rng;

	fm_rng_seed(&rng, seed, STREAM_INIT);
	memset(m->params, 0, m->nparams * sizeof(float));
	for (int i = 0; i < m->ntensors; i++) {
		const struct fm_tensor *t = &m->tensors[i];
		float *p = m->params + t->off;

		if (t->is_bias)
			continue;
		if (init == FM_INIT_XAVIER) {
			double a = sqrt(6.0 / (t->fan_in + t->fan_out));

			for (size_t j = 0; j < t->len; j++)
				p[j] = (float)((2.0 * fm_rng_uniform(&rng) - 1.0) * a);
		} else {
			double s = sqrt(2.0 / t->fan_in);

			for (size_t j = 0; j < t->len; j++)
				p[j] = (float)(fm_rng_normal(&rng) * s);
		}
	}
}

/* Dropout over n images of width values each, as the images
 * shard_before .. shard_before+n−1 of the whole batch (see model.h). */
static void drop_slice(struct fm_model *m, int n, size_t width,
		       struct fm_rng *rng, float *x)
{
	fm_rng_skip(rng, (uint64_t)m->shard_before * width);
	fm_dropout_forward((size_t)n * width, m->cfg.dropout, rng, x);
	fm_rng_skip(rng, (uint64_t)m->shard_after * width);
}

size_t fm_model_dropout_draws(const struct fm_model *m)
{
	if (m->cfg.dropout <= 0.0f)
		return 0;
	if (m->cfg.kind == FM_MODEL_MLP)
		return (size_t)m->cfg.layers * (size_t)m->cfg.hidden;
	return (size_t)m->head.in;
}

static void forward_mlp(struct fm_model *m, int n, const float *x,
			bool drop, struct fm_rng *rng)
{
	const int L = m->cfg.layers;
	const float *in = x;

	for (int i = 0; i < L; i++) {
		fm_linear_forward(&m->lin[i], n, in, m->act[i], true);
		if (drop)
			drop_slice(m, n, (size_t)m->cfg.hidden, rng,
				   m->act[i]);
		in = m->act[i];
	}
	fm_linear_forward(&m->lin[L], n, in, m->logits, false);
}

static void backward_mlp(struct fm_model *m, int n, const float *x)
{
	const int L = m->cfg.layers;
	const size_t hn = (size_t)n * m->cfg.hidden;
	float *d = m->dbuf[0], *dn = m->dbuf[1], *t;

	fm_linear_backward(&m->lin[L], n, m->act[L - 1], m->dlogits, d);
	for (int i = L - 1; i >= 0; i--) {
		if (m->dropped)
			fm_dropout_relu_backward(hn, m->cfg.dropout, m->act[i], d);
		else
			fm_relu_backward(hn, m->act[i], d);
		fm_linear_backward(&m->lin[i], n, i == 0 ? x : m->act[i - 1], d,
				   i == 0 ? NULL : dn);
		t = d;
		d = dn;
		dn = t;
	}
}

static void forward_cnn(struct fm_model *m, int n, const float *x,
			bool drop, struct fm_rng *rng)
{
	const struct fm_model_config *c = &m->cfg;
	const size_t nf = (size_t)n * m->head.in;
	const float *feat = m->p2;

	fm_conv_forward(&m->conv[0], n, x, m->col1, m->y1, true);
	fm_maxpool_forward(n, c->in_h, c->in_w, c->c1, m->y1, m->p1, m->arg1);
	fm_conv_forward(&m->conv[1], n, m->p1, m->col2, m->y2, true);
	fm_maxpool_forward(n, c->in_h / 2, c->in_w / 2, c->c2, m->y2, m->p2,
			   m->arg2);
	if (drop) {
		memcpy(m->feat, m->p2, nf * sizeof(float));
		drop_slice(m, n, (size_t)m->head.in, rng, m->feat);
		feat = m->feat;
	}
	fm_linear_forward(&m->head, n, feat, m->logits, false);
}

static void backward_cnn(struct fm_model *m, int n)
{
	const struct fm_model_config *c = &m->cfg;
	const size_t nf = (size_t)n * m->head.in;

	fm_linear_backward(&m->head, n, m->dropped ? m->feat : m->p2,
			   m->dlogits, m->dfeat);
	/* p2 > 0 wherever feat > 0; where p2 == 0 the pooling backward
	 * drops the gradient anyway, so this is exact. */
	if (m->dropped)
		fm_dropout_relu_backward(nf, c->dropout, m->feat, m->dfeat);
	fm_maxpool_backward(n, c->in_h / 2, c->in_w / 2, c->c2, m->p2,
			    m->dfeat, m->arg2, m->dy2, true);
	fm_conv_backward(&m->conv[1], n, m->col2, m->dy2, m->dcol2, m->dp1);
	fm_maxpool_backward(n, c->in_h, c->in_w, c->c1, m->p1, m->dp1, m->arg1,
			    m->dy1, true);
	fm_conv_backward(&m->conv[0], n, m->col1, m->dy1, NULL, NULL);
}

double fm_model_forward(struct fm_model *m, int n, const float *x,
			const uint8_t *y, bool train, struct fm_rng *rng,
			int *correct)
{
	bool drop = train && m->cfg.dropout > 0.0f && rng;

	if (m->cfg.kind == FM_MODEL_MLP)
		forward_mlp(m, n, x, drop, rng);
	else
		forward_cnn(m, n, x, drop, rng);
	m->dropped = drop;
	return fm_softmax_xent(n, m->cfg.classes, m->logits, y,
			       train ? m->dlogits : NULL, correct);
}

void fm_model_backward(struct fm_model *m, int n, const float *x)
{
	if (m->cfg.kind == FM_MODEL_MLP)
		backward_mlp(m, n, x);
	else
		backward_cnn(m, n);
}
