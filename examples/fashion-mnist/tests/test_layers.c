/*
 * test_layers.c — every layer's backward pass against central finite
 * differences of its forward pass (linear, ReLU, convolution, max
 * pooling, dropout, softmax cross-entropy), the forward passes against
 * naive reference code, and whole-model gradient checks of the MLP and
 * the CNN, which exercise the fused ReLU backward steps.
 *
 * A layer y = f(x; θ) is checked through the scalar L = Σ r∘y for a fixed
 * random r: dL/dy = r, so backward(r) must equal the numerical gradient
 * of L for every input and parameter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "model.h"

#define H 1e-2f

static float *rnd(size_t n, struct fm_rng *r, float scale)
{
	float *p = fm_falloc(n);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)(fm_rng_uniform(r) * 2.0 - 1.0) * scale;
	return p;
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

/* |analytic − numeric| within 1e-3 + 2% of the larger magnitude. */
static void expect_close(const char *what, size_t i, double a, double num)
{
	double tol = 1e-3 + 2e-2 * fmax(fabs(a), fabs(num));

	if (fabs(a - num) > tol) {
		print_error("%s[%zu]: analytic %.6g vs numeric %.6g\n", what, i,
			    a, num);
		fail();
	}
}

/* ---- linear ---------------------------------------------------------- */

struct lin_ctx {
	struct fm_linear *l;
	int n;
	const float *x;
	float *y;
	const float *r;
	bool relu;
};

static double lin_loss(struct lin_ctx *c)
{
	fm_linear_forward(c->l, c->n, c->x, c->y, c->relu);
	return dot(c->y, c->r, (size_t)c->n * c->l->out);
}

static void check_param(const char *what, float *p, const float *grad,
			size_t len, double (*loss)(void *), void *ctx)
{
	for (size_t i = 0; i < len; i++) {
		float keep = p[i];
		double lp, lm;

		p[i] = keep + H;
		lp = loss(ctx);
		p[i] = keep - H;
		lm = loss(ctx);
		p[i] = keep;
		expect_close(what, i, grad[i], (lp - lm) / (2.0 * H));
	}
}

static double lin_loss_v(void *c)
{
	return lin_loss(c);
}

static void test_linear_grad(void **state)
{
	struct fm_rng r;
	const int n = 3, in = 5, out = 4;
	struct fm_linear l = {in, out, NULL, NULL, NULL, NULL};
	float *x, *y, *dy, *dx;
	struct lin_ctx c;

	(void)state;
	fm_rng_seed(&r, 7, 0);
	x = rnd((size_t)n * in, &r, 1.0f);
	l.w = rnd((size_t)in * out, &r, 1.0f);
	l.b = rnd((size_t)out, &r, 1.0f);
	l.dw = fm_falloc((size_t)in * out);
	l.db = fm_falloc((size_t)out);
	y = fm_falloc((size_t)n * out);
	dy = rnd((size_t)n * out, &r, 1.0f);
	dx = fm_falloc((size_t)n * in);
	c = (struct lin_ctx){&l, n, x, y, dy, false};

	/* forward against the definition */
	fm_linear_forward(&l, n, x, y, false);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < out; j++) {
			double s = l.b[j];

			for (int k = 0; k < in; k++)
				s += (double)x[i * in + k] * l.w[j * in + k];
			assert_true(fabs(s - y[i * out + j]) < 1e-5);
		}

	fm_linear_backward(&l, n, x, dy, dx);
	check_param("linear.w", l.w, l.dw, (size_t)in * out, lin_loss_v, &c);
	check_param("linear.b", l.b, l.db, (size_t)out, lin_loss_v, &c);
	check_param("linear.x", x, dx, (size_t)n * in, lin_loss_v, &c);

	/* dx may be skipped (first layer) without touching anything else */
	fm_linear_backward(&l, n, x, dy, NULL);
	check_param("linear.w (no dx)", l.w, l.dw, (size_t)in * out,
		    lin_loss_v, &c);

	fm_free(x);
	fm_free(l.w);
	fm_free(l.b);
	fm_free(l.dw);
	fm_free(l.db);
	fm_free(y);
	fm_free(dy);
	fm_free(dx);
}

/* ---- relu ------------------------------------------------------------ */

static void test_relu_grad(void **state)
{
	struct fm_rng r;
	const size_t n = 64;
	float x[64], y[64], dy[64], g[64];

	(void)state;
	fm_rng_seed(&r, 8, 0);
	for (size_t i = 0; i < n; i++) {
		/* keep away from the kink at 0 */
		float v = (float)(0.1 + fm_rng_uniform(&r));

		x[i] = i % 2 ? v : -v;
		dy[i] = (float)(fm_rng_uniform(&r) * 2.0 - 1.0);
	}
	memcpy(y, x, sizeof(x));
	fm_relu_forward(n, y);
	memcpy(g, dy, sizeof(dy));
	fm_relu_backward(n, y, g);
	for (size_t i = 0; i < n; i++) {
		float a = x[i] + H, b = x[i] - H;
		double num;

		a = a > 0 ? a : 0;
		b = b > 0 ? b : 0;
		num = (double)dy[i] * (a - b) / (2.0 * H);
		assert_true(y[i] == (x[i] > 0 ? x[i] : 0.0f));
		expect_close("relu.x", i, g[i], num);
	}
}

/* ---- convolution ----------------------------------------------------- */

struct conv_ctx {
	struct fm_conv *l;
	int n;
	const float *x;
	float *col, *y;
	const float *r;
};

static double conv_loss_v(void *p)
{
	struct conv_ctx *c = p;

	fm_conv_forward(c->l, c->n, c->x, c->col, c->y, false);
	return dot(c->y, c->r, (size_t)c->n * c->l->h * c->l->w * c->l->o);
}

/* Direct convolution, NHWC, zero "same" padding. */
static double conv_ref(const struct fm_conv *l, const float *x, int b, int y,
		       int xx, int o)
{
	const int p = l->k / 2;
	double s = l->b[o];

	for (int ky = 0; ky < l->k; ky++)
		for (int kx = 0; kx < l->k; kx++) {
			int iy = y + ky - p, ix = xx + kx - p;

			if (iy < 0 || iy >= l->h || ix < 0 || ix >= l->w)
				continue;
			for (int c = 0; c < l->c; c++)
				s += (double)x[((b * l->h + iy) * l->w + ix) * l->c + c] *
				     l->wt[((o * l->k + ky) * l->k + kx) * l->c + c];
		}
	return s;
}

static void conv_case(int n, int c, int h, int w, int o, int k)
{
	struct fm_rng r;
	struct fm_conv l = {c, h, w, o, k, NULL, NULL, NULL, NULL};
	const size_t nx = (size_t)n * h * w * c, ny = (size_t)n * h * w * o;
	const size_t nw = (size_t)o * k * k * c;
	float *x, *y, *dy, *dx, *col, *dcol;
	struct conv_ctx cc;

	fm_rng_seed(&r, 9, (uint64_t)k);
	x = rnd(nx, &r, 1.0f);
	l.wt = rnd(nw, &r, 1.0f);
	l.b = rnd((size_t)o, &r, 1.0f);
	l.dwt = fm_falloc(nw);
	l.db = fm_falloc((size_t)o);
	y = fm_falloc(ny);
	dy = rnd(ny, &r, 1.0f);
	dx = fm_falloc(nx);
	col = fm_falloc(fm_conv_col_size(&l, n));
	dcol = fm_falloc(fm_conv_col_size(&l, n));
	cc = (struct conv_ctx){&l, n, x, col, y, dy};

	fm_conv_forward(&l, n, x, col, y, false);
	for (int b = 0; b < n; b++)
		for (int yy = 0; yy < h; yy++)
			for (int xx = 0; xx < w; xx++)
				for (int oo = 0; oo < o; oo++)
					assert_true(fabs(conv_ref(&l, x, b, yy, xx, oo) -
							 y[((b * h + yy) * w + xx) * o + oo]) < 1e-4);

	/* the fused ReLU forward is the plain forward then max(0, ·) */
	{
		float *y2 = fm_falloc(ny);

		assert_non_null(y2);
		fm_conv_forward(&l, n, x, col, y2, true);
		for (size_t i = 0; i < ny; i++)
			assert_true(y2[i] == (y[i] > 0 ? y[i] : 0.0f));
		fm_free(y2);
	}

	fm_conv_forward(&l, n, x, col, y, false);
	fm_conv_backward(&l, n, col, dy, dcol, dx);
	check_param("conv.w", l.wt, l.dwt, nw, conv_loss_v, &cc);
	check_param("conv.b", l.b, l.db, (size_t)o, conv_loss_v, &cc);
	check_param("conv.x", x, dx, nx, conv_loss_v, &cc);

	fm_free(x);
	fm_free(l.wt);
	fm_free(l.b);
	fm_free(l.dwt);
	fm_free(l.db);
	fm_free(y);
	fm_free(dy);
	fm_free(dx);
	fm_free(col);
	fm_free(dcol);
}

static void test_conv_grad(void **state)
{
	(void)state;
	conv_case(2, 3, 6, 5, 4, 3);	/* non-square, several channels */
	conv_case(1, 1, 4, 4, 2, 3);	/* one input channel */
	conv_case(2, 2, 5, 6, 3, 5);	/* wider kernel than some borders */
	conv_case(1, 2, 3, 3, 2, 1);	/* 1×1 */
}

/* ---- max pooling ----------------------------------------------------- */

struct pool_ctx {
	int n, h, w, c;
	const float *x;
	float *y;
	uint8_t *arg;
	const float *r;
};

static double pool_loss_v(void *p)
{
	struct pool_ctx *c = p;

	fm_maxpool_forward(c->n, c->h, c->w, c->c, c->x, c->y, c->arg);
	return dot(c->y, c->r, (size_t)c->n * (c->h / 2) * (c->w / 2) * c->c);
}

static void test_maxpool_grad(void **state)
{
	const int n = 2, h = 4, w = 6, c = 3;
	const size_t nx = (size_t)n * h * w * c, ny = nx / 4;
	struct fm_rng r;
	float *x = fm_falloc(nx), *y = fm_falloc(ny), *dx = fm_falloc(nx);
	float *dx2 = fm_falloc(nx), *dy;
	uint8_t *arg = malloc(ny);
	struct pool_ctx pc;

	(void)state;
	assert_true(x && y && dx && dx2 && arg);
	fm_rng_seed(&r, 10, 0);
	/* distinct values at least 0.1 apart, so ±H never changes a winner */
	for (size_t i = 0; i < nx; i++)
		x[i] = 0.1f * (float)((i * 37) % nx) - 2.0f;
	dy = rnd(ny, &r, 1.0f);
	pc = (struct pool_ctx){n, h, w, c, x, y, arg, dy};

	fm_maxpool_forward(n, h, w, c, x, y, arg);
	for (int b = 0; b < n; b++)
		for (int oy = 0; oy < h / 2; oy++)
			for (int ox = 0; ox < w / 2; ox++)
				for (int ch = 0; ch < c; ch++) {
					float m = -1e30f;

					for (int q = 0; q < 4; q++) {
						int iy = 2 * oy + q / 2, ix = 2 * ox + q % 2;
						float v = x[((b * h + iy) * w + ix) * c + ch];

						m = v > m ? v : m;
					}
					assert_true(m == y[((b * (h / 2) + oy) * (w / 2) + ox) * c + ch]);
				}

	fm_maxpool_backward(n, h, w, c, y, dy, arg, dx, false);
	check_param("maxpool.x", x, dx, nx, pool_loss_v, &pc);

	/* fused ReLU: the same as masking dy where the pooled output <= 0 */
	fm_maxpool_forward(n, h, w, c, x, y, arg);
	fm_maxpool_backward(n, h, w, c, y, dy, arg, dx, true);
	{
		float *masked = fm_falloc(ny);

		assert_non_null(masked);
		for (size_t i = 0; i < ny; i++)
			masked[i] = y[i] > 0 ? dy[i] : 0.0f;
		fm_maxpool_backward(n, h, w, c, y, masked, arg, dx2, false);
		assert_memory_equal(dx, dx2, nx * sizeof(float));
		fm_free(masked);
	}
	fm_free(x);
	fm_free(y);
	fm_free(dx);
	fm_free(dx2);
	fm_free(dy);
	free(arg);
}

/* ---- dropout --------------------------------------------------------- */

static void test_dropout(void **state)
{
	const size_t n = 100000;
	const float p = 0.3f;
	float *x = fm_falloc(n), *dy = fm_falloc(n);
	struct fm_rng r;
	size_t zeros = 0;

	(void)state;
	assert_true(x && dy);
	for (size_t i = 0; i < n; i++) {
		x[i] = 1.0f + (float)(i % 5);
		dy[i] = 1.0f;
	}
	fm_rng_seed(&r, 11, 0);
	fm_dropout_forward(n, p, &r, x);
	fm_dropout_relu_backward(n, p, x, dy);
	for (size_t i = 0; i < n; i++) {
		float orig = 1.0f + (float)(i % 5);

		if (x[i] == 0.0f) {
			zeros++;
			assert_true(dy[i] == 0.0f);
		} else {
			/* survivors are scaled by 1/(1-p), and so is their gradient */
			assert_true(fabsf(x[i] - orig / (1.0f - p)) < 1e-5f);
			assert_true(fabsf(dy[i] - 1.0f / (1.0f - p)) < 1e-6f);
		}
	}
	assert_true(fabs((double)zeros / n - p) < 0.01);
	fm_free(x);
	fm_free(dy);
}

/* ---- softmax cross-entropy ------------------------------------------- */

static void test_softmax_xent(void **state)
{
	const int n = 4, k = 5;
	float z[20], d[20];
	uint8_t lab[4] = {0, 3, 4, 1};
	struct fm_rng r;
	int correct;
	double l0;

	(void)state;
	/* a hand-checked value: logits (0, ln 3) with label 1 → −ln(3/4) */
	{
		float z2[2] = {0.0f, logf(3.0f)}, d2[2];
		uint8_t l2 = 1;

		l0 = fm_softmax_xent(1, 2, z2, &l2, d2, &correct);
		assert_true(fabs(l0 + log(0.75)) < 1e-6);
		assert_true(fabsf(d2[0] - 0.25f) < 1e-6f);
		assert_true(fabsf(d2[1] + 0.25f) < 1e-6f);
		assert_int_equal(correct, 1);
	}

	fm_rng_seed(&r, 12, 0);
	for (int i = 0; i < n * k; i++)
		z[i] = (float)(fm_rng_uniform(&r) * 6.0 - 3.0);
	z[0 * k + 0] = 5.0f;	/* row 0 predicts its label 0 */
	z[1 * k + 2] = 5.0f;	/* row 1 predicts 2, label 3 */
	fm_softmax_xent(n, k, z, lab, d, &correct);
	for (int i = 0; i < n * k; i++) {
		float keep = z[i];
		double lp, lm;

		z[i] = keep + 1e-3f;
		lp = fm_softmax_xent(n, k, z, lab, NULL, NULL);
		z[i] = keep - 1e-3f;
		lm = fm_softmax_xent(n, k, z, lab, NULL, NULL);
		z[i] = keep;
		expect_close("xent.z", (size_t)i, d[i], (lp - lm) / 2e-3);
	}
	{
		int expect = 0;

		for (int i = 0; i < n; i++) {
			int best = 0;

			for (int j = 1; j < k; j++)
				if (z[i * k + j] > z[i * k + best])
					best = j;
			expect += best == lab[i];
		}
		assert_int_equal(correct, expect);
	}
	/* large logits do not overflow */
	{
		float big[2] = {1000.0f, 0.0f};
		uint8_t l1 = 0;

		l0 = fm_softmax_xent(1, 2, big, &l1, NULL, NULL);
		assert_true(isfinite(l0) && l0 < 1e-6);
	}
}

/* ---- whole models ---------------------------------------------------- */

struct model_ctx {
	struct fm_model *m;
	int n;
	const float *x;
	const uint8_t *y;
};

static double model_loss_v(void *p)
{
	struct model_ctx *c = p;

	return fm_model_forward(c->m, c->n, c->x, c->y, false, NULL, NULL);
}

static void model_case(const struct fm_model_config *cfg)
{
	const int n = 3;
	const size_t img = (size_t)cfg->in_c * cfg->in_h * cfg->in_w;
	struct fm_model *m;
	struct fm_error err;
	struct fm_rng r;
	float *x;
	uint8_t y[3] = {0, 1, 2};
	struct model_ctx mc;
	float *g;

	assert_int_equal(fm_model_new(cfg, n, &m, &err), 0);
	fm_model_init(m, FM_INIT_HE, 3);
	fm_rng_seed(&r, 13, 0);
	/* non-zero biases so ReLUs sit away from their kinks more often */
	for (int t = 0; t < m->ntensors; t++)
		if (m->tensors[t].is_bias)
			for (size_t i = 0; i < m->tensors[t].len; i++)
				m->params[m->tensors[t].off + i] =
					(float)(fm_rng_uniform(&r) * 0.2 + 0.05);
	x = rnd((size_t)n * img, &r, 1.0f);
	mc = (struct model_ctx){m, n, x, y};
	fm_model_forward(m, n, x, y, true, NULL, NULL);
	fm_model_backward(m, n, x);
	g = fm_falloc(m->nparams);
	assert_non_null(g);
	memcpy(g, m->grads, m->nparams * sizeof(float));
	for (int t = 0; t < m->ntensors; t++) {
		const struct fm_tensor *ts = &m->tensors[t];

		for (size_t i = 0; i < ts->len; i++) {
			float *p = &m->params[ts->off + i], keep = *p;
			double lp, lm;

			/* a smaller step: a kink crossing would show as a
			 * large error, which is what the check is for */
			*p = keep + 1e-3f;
			lp = model_loss_v(&mc);
			*p = keep - 1e-3f;
			lm = model_loss_v(&mc);
			*p = keep;
			expect_close(fm_model_kind_name(cfg->kind), ts->off + i,
				     g[ts->off + i], (lp - lm) / 2e-3);
		}
	}
	fm_free(g);
	fm_free(x);
	fm_model_free(m);
}

static void test_mlp_grad(void **state)
{
	struct fm_model_config c = {0};

	(void)state;
	c.kind = FM_MODEL_MLP;
	c.in_c = 1;
	c.in_h = 4;
	c.in_w = 3;
	c.classes = 3;
	c.hidden = 6;
	c.layers = 2;
	model_case(&c);
}

static void test_cnn_grad(void **state)
{
	struct fm_model_config c = {0};

	(void)state;
	c.kind = FM_MODEL_CNN;
	c.in_c = 2;
	c.in_h = 8;
	c.in_w = 4;
	c.classes = 3;
	c.c1 = 3;
	c.c2 = 4;
	c.ksize = 3;
	model_case(&c);
}

static void test_model_rejects_bad_shapes(void **state)
{
	struct fm_model_config c = {0};
	struct fm_model *m;
	struct fm_error err;

	(void)state;
	c.kind = FM_MODEL_CNN;
	c.in_c = 1;
	c.in_h = 6;	/* not divisible by 4 */
	c.in_w = 8;
	c.classes = 10;
	c.c1 = 4;
	c.c2 = 4;
	c.ksize = 3;
	assert_int_equal(fm_model_new(&c, 8, &m, &err), FM_EINVAL);
	assert_null(m);
	assert_non_null(strstr(err.msg, "divisible by 4"));
	c.in_h = 8;
	c.ksize = 2;
	assert_int_equal(fm_model_new(&c, 8, &m, &err), FM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linear_grad),
		cmocka_unit_test(test_relu_grad),
		cmocka_unit_test(test_conv_grad),
		cmocka_unit_test(test_maxpool_grad),
		cmocka_unit_test(test_dropout),
		cmocka_unit_test(test_softmax_xent),
		cmocka_unit_test(test_mlp_grad),
		cmocka_unit_test(test_cnn_grad),
		cmocka_unit_test(test_model_rejects_bad_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
