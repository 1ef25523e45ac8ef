/*
 * layers.h — the forward and backward passes of the network layers used
 * by fmnist-train: linear, ReLU, 2-D convolution (im2col + GEMM), 2×2 max
 * pooling, dropout and softmax cross-entropy.
 *
 * Conventions: activations are float arrays, batch first, images in NHWC
 * order (so im2col copies contiguous channel vectors and a convolution's
 * GEMM output is already NHWC).  Every matrix product goes through
 * cblas_sgemm.  Backward passes overwrite (never accumulate) the weight
 * gradients.  The caller owns every buffer; nothing here allocates.
 */
#ifndef FM_LAYERS_H
#define FM_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* y[n][out] = x[n][in] · wᵀ + b; w is out × in, row-major, like PyTorch. */
struct fm_linear {
	int in, out;
	float *w, *b;		/* parameters */
	float *dw, *db;		/* their gradients */
};

/* relu: apply max(0, ·) in the same pass as the bias. */
void fm_linear_forward(const struct fm_linear *l, int n, const float *x,
		       float *y, bool relu);
/* dw = dyᵀ·x, db = Σ_n dy; dx = dy·w unless dx is NULL. */
void fm_linear_backward(const struct fm_linear *l, int n, const float *x,
			const float *dy, float *dx);

void fm_relu_forward(size_t n, float *x);
/* dy[i] = 0 where y[i] <= 0 (y is the ReLU's output). */
void fm_relu_backward(size_t n, const float *y, float *dy);

/*
 * Convolution, stride 1, "same" zero padding (k odd), NHWC input
 * n × h × w × c, output n × h × w × o.  w is o × (k·k·c) in (ky, kx, c)
 * order.  col is the im2col matrix, (n·h·w) × (k·k·c), filled by the
 * forward pass and read by the backward pass.
 */
struct fm_conv {
	int c, h, w, o, k;
	float *wt, *b;
	float *dwt, *db;
};

size_t fm_conv_col_size(const struct fm_conv *l, int n);
void fm_im2col(const struct fm_conv *l, int n, const float *x, float *col);
/* dx = Σ of dcol's patches put back in place (dx is overwritten). */
void fm_col2im(const struct fm_conv *l, int n, const float *dcol, float *dx);
void fm_conv_forward(const struct fm_conv *l, int n, const float *x,
		     float *col, float *y, bool relu);
/* dwt, db from dy and col; if dx is not NULL, dcol (scratch of the col
 * size) receives dy·wt and dx the col2im of it. */
void fm_conv_backward(const struct fm_conv *l, int n, const float *col,
		      const float *dy, float *dcol, float *dx);

/*
 * 2×2 max pooling, stride 2, NHWC, h and w even.  arg (one byte per
 * output) records which of the four inputs won, 0..3.
 */
void fm_maxpool_forward(int n, int h, int w, int c, const float *x,
			float *y, uint8_t *arg);
/*
 * dx (n × h × w × c, overwritten) gets dy at the winners and 0 elsewhere.
 * relu: the pooled input came from a ReLU, so also drop the gradient
 * where the pooled output y is not positive (a fused ReLU backward).
 */
void fm_maxpool_backward(int n, int h, int w, int c, const float *y,
			 const float *dy, const uint8_t *arg, float *dx,
			 bool relu);

/*
 * Inverted dropout, in place: each x[i] is zeroed with probability p and
 * the survivors scaled by 1/(1-p).  Backward: dy[i] = 0 where the output
 * x[i] was zeroed, else dy[i]/(1-p).  fm_dropout_backward needs x > 0 for
 * survivors, which holds after a ReLU: it is the fused ReLU+dropout
 * backward used by the models.
 */
void fm_dropout_forward(size_t n, float p, struct fm_rng *rng, float *x);
void fm_dropout_relu_backward(size_t n, float p, const float *x, float *dy);

/*
 * Mean softmax cross-entropy of n rows of k logits against labels.
 * dlogits (may be NULL) = (softmax − onehot) / n; *correct (may be NULL)
 * counts rows whose arg-max is the label.
 */
double fm_softmax_xent(int n, int k, const float *logits,
		       const uint8_t *labels, float *dlogits, int *correct);

#endif
