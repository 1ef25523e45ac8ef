/*
 * layers.c — forward and backward passes of the layers (see layers.h).
 *
 * The heavy work is three GEMMs per layer (forward, weight gradient,
 * input gradient), all in cblas_sgemm over the whole batch; the loops
 * here are single passes that fuse the cheap element-wise steps (bias
 * with ReLU, pooling with the ReLU mask, dropout with the ReLU mask).
 */
#include "layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* y = act(y + b) over n rows of m columns. */
static void bias_act(int n, int m, const float *b, float *y, bool relu)
{
	for (int i = 0; i < n; i++) {
		float *row = y + (size_t)i * m;

		if (relu) {
			for (int j = 0; j < m; j++) {
				float v = row[j] + b[j];

				row[j] = v > 0.0f ? v : 0.0f;
			}
		} else {
			for (int j = 0; j < m; j++)
				row[j] += b[j];
		}
	}
}

/* db = column sums of dy (n rows, m columns). */
static void col_sums(int n, int m, const float *dy, float *db)
{
	memset(db, 0, (size_t)m * sizeof(float));
	for (int i = 0; i < n; i++) {
		const float *row = dy + (size_t)i * m;

		for (int j = 0; j < m; j++)
			db[j] += row[j];
	}
}

void fm_linear_forward(const struct fm_linear *l, int n, const float *x,
		       float *y, bool relu)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, l->out, l->in,
		    1.0f, x, l->in, l->w, l->in, 0.0f, y, l->out);
	bias_act(n, l->out, l->b, y, relu);
}

void fm_linear_backward(const struct fm_linear *l, int n, const float *x,
			const float *dy, float *dx)
{
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l->out, l->in, n,
		    1.0f, dy, l->out, x, l->in, 0.0f, l->dw, l->in);
	col_sums(n, l->out, dy, l->db);
	if (dx)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, l->in,
			    l->out, 1.0f, dy, l->out, l->w, l->in, 0.0f, dx,
			    l->in);
}

void fm_relu_forward(size_t n, float *x)
{
	for (size_t i = 0; i < n; i++)
		x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void fm_relu_backward(size_t n, const float *y, float *dy)
{
	for (size_t i = 0; i < n; i++)
		dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

size_t fm_conv_col_size(const struct fm_conv *l, int n)
{
	return (size_t)n * l->h * l->w * l->k * l->k * l->c;
}

/* memcpy/memset for the short runs of a thin input (c = 1 or 3), where
 * the library calls cost more than the copy. */
static inline void copy_run(float *restrict dst, const float *restrict src,
			    size_t n)
{
	if (n >= 32) {
		memcpy(dst, src, n * sizeof(float));
		return;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i];
}

static inline void zero_run(float *dst, size_t n)
{
	if (n >= 32) {
		memset(dst, 0, n * sizeof(float));
		return;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = 0.0f;
}

/*
 * One row of col per output pixel: the k×k patch around it, channels
 * innermost.  For a fixed kernel row ky the in-bounds part of the patch
 * is one contiguous run of NHWC input, so each (pixel, ky) is one memcpy
 * plus the zero padding at the borders.
 */
void fm_im2col(const struct fm_conv *l, int n, const float *x, float *col)
{
	const int h = l->h, w = l->w, c = l->c, k = l->k, p = k / 2;
	const size_t kc = (size_t)k * c, kk = kc * k;

	for (int b = 0; b < n; b++) {
		const float *img = x + (size_t)b * h * w * c;

		for (int y = 0; y < h; y++) {
			for (int xx = 0; xx < w; xx++) {
				float *row = col + (((size_t)b * h + y) * w + xx) * kk;
				int x0 = xx - p, x1 = xx + p;	/* inclusive */
				int lo = x0 < 0 ? -x0 : 0;
				int hi = x1 >= w ? x1 - (w - 1) : 0;
				size_t run = (size_t)(k - lo - hi) * c;

				for (int ky = 0; ky < k; ky++) {
					int iy = y + ky - p;
					float *dst = row + ky * kc;

					if (iy < 0 || iy >= h) {
						zero_run(dst, kc);
						continue;
					}
					if (lo)
						zero_run(dst, (size_t)lo * c);
					copy_run(dst + (size_t)lo * c,
						 img + ((size_t)iy * w + x0 + lo) * c,
						 run);
					if (hi)
						zero_run(dst + (size_t)(k - hi) * c,
							 (size_t)hi * c);
				}
			}
		}
	}
}

void fm_col2im(const struct fm_conv *l, int n, const float *dcol, float *dx)
{
	const int h = l->h, w = l->w, c = l->c, k = l->k, p = k / 2;
	const size_t kc = (size_t)k * c, kk = kc * k;

	memset(dx, 0, (size_t)n * h * w * c * sizeof(float));
	for (int b = 0; b < n; b++) {
		float *img = dx + (size_t)b * h * w * c;

		for (int y = 0; y < h; y++) {
			for (int xx = 0; xx < w; xx++) {
				const float *row = dcol + (((size_t)b * h + y) * w + xx) * kk;
				int x0 = xx - p, x1 = xx + p;
				int lo = x0 < 0 ? -x0 : 0;
				int hi = x1 >= w ? x1 - (w - 1) : 0;
				size_t run = (size_t)(k - lo - hi) * c;

				for (int ky = 0; ky < k; ky++) {
					int iy = y + ky - p;
					const float *src;
					float *dst;

					if (iy < 0 || iy >= h)
						continue;
					src = row + ky * kc + (size_t)lo * c;
					dst = img + ((size_t)iy * w + x0 + lo) * c;
					for (size_t i = 0; i < run; i++)
						dst[i] += src[i];
				}
			}
		}
	}
}

void fm_conv_forward(const struct fm_conv *l, int n, const float *x,
		     float *col, float *y, bool relu)
{
	const int rows = n * l->h * l->w, kk = l->k * l->k * l->c;

	fm_im2col(l, n, x, col);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, l->o, kk,
		    1.0f, col, kk, l->wt, kk, 0.0f, y, l->o);
	bias_act(rows, l->o, l->b, y, relu);
}

void fm_conv_backward(const struct fm_conv *l, int n, const float *col,
		      const float *dy, float *dcol, float *dx)
{
	const int rows = n * l->h * l->w, kk = l->k * l->k * l->c;

	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l->o, kk, rows,
		    1.0f, dy, l->o, col, kk, 0.0f, l->dwt, kk);
	col_sums(rows, l->o, dy, l->db);
	if (dx) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, kk,
			    l->o, 1.0f, dy, l->o, l->wt, kk, 0.0f, dcol, kk);
		fm_col2im(l, n, dcol, dx);
	}
}

void fm_maxpool_forward(int n, int h, int w, int c, const float *x,
			float *y, uint8_t *arg)
{
	const int oh = h / 2, ow = w / 2;

	for (int b = 0; b < n; b++) {
		for (int oy = 0; oy < oh; oy++) {
			const float *r0 = x + (((size_t)b * h + 2 * oy) * w) * c;
			const float *r1 = r0 + (size_t)w * c;
			float *out = y + (((size_t)b * oh + oy) * ow) * c;
			uint8_t *a = arg + (((size_t)b * oh + oy) * ow) * c;

			for (int ox = 0; ox < ow; ox++) {
				const float *p0 = r0 + (size_t)2 * ox * c, *p1 = p0 + c;
				const float *p2 = r1 + (size_t)2 * ox * c, *p3 = p2 + c;

				for (int ch = 0; ch < c; ch++) {
					float m = p0[ch];
					uint8_t q = 0;

					if (p1[ch] > m) {
						m = p1[ch];
						q = 1;
					}
					if (p2[ch] > m) {
						m = p2[ch];
						q = 2;
					}
					if (p3[ch] > m) {
						m = p3[ch];
						q = 3;
					}
					out[ch] = m;
					a[ch] = q;
				}
				out += c;
				a += c;
			}
		}
	}
}

/* One output pixel's channels: the four inputs of its window get dy at
 * the winner (masked by y > 0 for a fused ReLU) and 0 elsewhere.  Plain
 * indexed loops over restrict pointers so the compiler vectorizes them. */
static void pool_back_px(int c, const float *restrict y,
			 const float *restrict dy, const uint8_t *restrict arg,
			 float *restrict p0, float *restrict p1,
			 float *restrict p2, float *restrict p3, bool relu)
{
	if (relu) {
		for (int ch = 0; ch < c; ch++) {
			float d = dy[ch], v = y[ch];
			float g = v > 0.0f ? d : 0.0f;
			float q = arg[ch];

			p0[ch] = q == 0 ? g : 0.0f;
			p1[ch] = q == 1 ? g : 0.0f;
			p2[ch] = q == 2 ? g : 0.0f;
			p3[ch] = q == 3 ? g : 0.0f;
		}
		return;
	}
	for (int ch = 0; ch < c; ch++) {
		float g = dy[ch];
		float q = arg[ch];

		p0[ch] = q == 0 ? g : 0.0f;
		p1[ch] = q == 1 ? g : 0.0f;
		p2[ch] = q == 2 ? g : 0.0f;
		p3[ch] = q == 3 ? g : 0.0f;
	}
}

void fm_maxpool_backward(int n, int h, int w, int c, const float *y,
			 const float *dy, const uint8_t *arg, float *dx,
			 bool relu)
{
	const int oh = h / 2, ow = w / 2;

	for (int b = 0; b < n; b++) {
		for (int oy = 0; oy < oh; oy++) {
			float *r0 = dx + (((size_t)b * h + 2 * oy) * w) * c;
			float *r1 = r0 + (size_t)w * c;
			size_t o = (((size_t)b * oh + oy) * ow) * c;

			for (int ox = 0; ox < ow; ox++, o += (size_t)c) {
				float *p0 = r0 + (size_t)2 * ox * c;
				float *p2 = r1 + (size_t)2 * ox * c;

				pool_back_px(c, y + o, dy + o, arg + o, p0,
					     p0 + c, p2, p2 + c, relu);
			}
		}
	}
}

void fm_dropout_forward(size_t n, float p, struct fm_rng *rng, float *x)
{
	const float scale = 1.0f / (1.0f - p);
	/* Compare 24-bit integers: exact and cheap. */
	const uint32_t cut = (uint32_t)((double)p * 16777216.0);

	for (size_t i = 0; i < n; i++) {
		uint32_t u = (uint32_t)(fm_rng_next(rng) >> 40);

		x[i] = u < cut ? 0.0f : x[i] * scale;
	}
}

void fm_dropout_relu_backward(size_t n, float p, const float *x, float *dy)
{
	const float scale = 1.0f / (1.0f - p);

	for (size_t i = 0; i < n; i++)
		dy[i] = x[i] > 0.0f ? dy[i] * scale : 0.0f;
}

double fm_softmax_xent(int n, int k, const float *logits,
		       const uint8_t *labels, float *dlogits, int *correct)
{
	double loss = 0.0;
	int right = 0;
	const float inv_n = 1.0f / (float)n;

	for (int i = 0; i < n; i++) {
		const float *z = logits + (size_t)i * k;
		float m = z[0], sum = 0.0f;
		int best = 0;

		for (int j = 1; j < k; j++) {
			if (z[j] > m) {
				m = z[j];
				best = j;
			}
		}
		for (int j = 0; j < k; j++)
			sum += expf(z[j] - m);
		/* −log softmax(z)[label] = log Σ exp(z − m) − (z[label] − m) */
		loss += (double)logf(sum) - (double)(z[labels[i]] - m);
		right += best == labels[i];
		if (dlogits) {
			float *d = dlogits + (size_t)i * k;
			float inv = 1.0f / sum;

			for (int j = 0; j < k; j++)
				d[j] = expf(z[j] - m) * inv * inv_n;
			d[labels[i]] -= inv_n;
		}
	}
	if (correct)
		*correct = right;
	return loss / n;
}
