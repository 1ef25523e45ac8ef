/*
 * optim.h — the optimizers of fmnist-train: plain SGD, SGD with momentum,
 * Adam and LAMB, over the model's flat parameter array.
 *
 * Update rules (g is the gradient, wd the weight decay, t the step):
 *   sgd       w -= lr·(g + wd·w)
 *   momentum  b = μ·b + (g + wd·w);  w -= lr·b                (PyTorch SGD)
 *   adam      g' = g + wd·w; m = β1·m + (1−β1)·g'; v = β2·v + (1−β2)·g'²
 *             w -= lr·m̂/(√v̂ + ε), m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)  (PyTorch Adam)
 *   lamb      m, v, m̂, v̂ as Adam on g; r = m̂/(√v̂ + ε) + wd·w per tensor;
 *             w -= lr·φ·r with the trust ratio φ = ‖w‖/‖r‖ (1 if either
 *             norm is 0)                                  (You et al. 2020)
 * The state (momentum buffer, or m and v) is part of the checkpoint.
 */
#ifndef FM_OPTIM_H
#define FM_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum fm_optim_kind {
	FM_OPT_SGD = 1,
	FM_OPT_MOMENTUM = 2,
	FM_OPT_ADAM = 3,
	FM_OPT_LAMB = 4,
};

/* A parameter tensor: a slice of the flat parameter array. */
struct fm_tensor {
	size_t off, len;
	int fan_in, fan_out;	/* for initialisation */
	int is_bias;
};

struct fm_optim_config {
	enum fm_optim_kind kind;
	float lr, weight_decay;
	float momentum;			/* μ, momentum only */
	float beta1, beta2, eps;	/* adam, lamb */
};

struct fm_optim {
	struct fm_optim_config cfg;
	size_t n;		/* parameters */
	uint64_t t;		/* steps taken */
	float *state;		/* fm_optim_state_len(o) floats */
	float *scratch;		/* lamb: n floats, not part of the state */
};

/* Fill cfg with the defaults for kind (β1 0.9, β2 0.999, ε 1e-8 for
 * Adam and 1e-6 for LAMB, μ 0.9). */
void fm_optim_defaults(struct fm_optim_config *cfg, enum fm_optim_kind kind,
		       float lr, float weight_decay);
const char *fm_optim_name(enum fm_optim_kind kind);
/* Returns 0 and sets *kind, or FM_EINVAL for an unknown name. */
int fm_optim_parse(const char *name, enum fm_optim_kind *kind);

int fm_optim_init(struct fm_optim *o, const struct fm_optim_config *cfg,
		  size_t nparams, struct fm_error *err);
void fm_optim_free(struct fm_optim *o);
size_t fm_optim_state_len(const struct fm_optim *o);

/* One step over all tensors (LAMB needs the tensor boundaries for its
 * per-tensor trust ratio). */
void fm_optim_step(struct fm_optim *o, const struct fm_tensor *tensors,
		   int ntensors, float *params, const float *grads);

#endif
