/*
 * model.h — the two networks of fmnist-train, built from layers.h:
 *
 *   mlp  input → [linear(hidden) → ReLU → dropout] × layers → linear(classes)
 *   cnn  input → conv k×k (c1) → ReLU → maxpool 2 → conv k×k (c2) → ReLU
 *        → maxpool 2 → dropout → linear(classes)
 *
 * All parameters live in one flat array (and their gradients in another
 * of the same shape), described by a table of tensors, so optimizers and
 * checkpoints treat every model alike.  Every activation buffer is
 * allocated once, for max_batch images, by fm_model_new: a training step
 * allocates nothing.
 */
#ifndef FM_MODEL_H
#define FM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layers.h"
#include "optim.h"
#include "util.h"

#define FM_MAX_HIDDEN_LAYERS 8
#define FM_MAX_TENSORS (2 * (FM_MAX_HIDDEN_LAYERS + 1))
/* grads has room for this many floats after the nparams gradients: a
 * data-parallel trainer sums a step's loss and correct count together
 * with the gradients in one all-reduce. */
#define FM_MODEL_GRAD_SPARE 2

enum fm_model_kind {
	FM_MODEL_MLP = 1,
	FM_MODEL_CNN = 2,
};

enum fm_init {
	FM_INIT_HE = 1,		/* normal, σ = √(2/fan_in) */
	FM_INIT_XAVIER = 2,	/* uniform, ±√(6/(fan_in+fan_out)) */
};

struct fm_model_config {
	enum fm_model_kind kind;
	int in_c, in_h, in_w, classes;
	int hidden, layers;	/* mlp */
	int c1, c2, ksize;	/* cnn */
	float dropout;		/* probability, [0, 1) */
};

struct fm_model {
	struct fm_model_config cfg;
	int max_batch;
	bool dropped;		/* the last forward pass applied dropout */
	/*
	 * A data-parallel rank forwards a slice of a larger batch: images
	 * before and after the slice in the whole batch.  Each dropout layer
	 * skips the draws of the images before and after the slice, so the
	 * slice gets exactly the masks a single process forwarding the whole
	 * batch would draw for it.  Both 0 (the default) for a whole batch.
	 */
	int shard_before, shard_after;

	size_t nparams;
	float *params, *grads;
	int ntensors;
	struct fm_tensor tensors[FM_MAX_TENSORS];

	/* mlp: lin[0..layers-1] hidden, lin[layers] the head */
	struct fm_linear lin[FM_MAX_HIDDEN_LAYERS + 1];
	float *act[FM_MAX_HIDDEN_LAYERS];
	float *dbuf[2];

	/* cnn */
	struct fm_conv conv[2];
	struct fm_linear head;
	float *col1, *y1, *p1, *dy1, *col2, *dcol2, *y2, *p2, *dy2, *dp1;
	float *feat, *dfeat;
	uint8_t *arg1, *arg2;

	float *logits, *dlogits;
};

const char *fm_model_kind_name(enum fm_model_kind kind);
const char *fm_init_name(enum fm_init init);

/* Check cfg and allocate; FM_EINVAL with a message for a shape that
 * cannot work (e.g. a CNN input not divisible by 4). */
int fm_model_new(const struct fm_model_config *cfg, int max_batch,
		 struct fm_model **out, struct fm_error *err);
void fm_model_free(struct fm_model *m);

/* Initialise every weight from the (seed) init stream; biases 0. */
void fm_model_init(struct fm_model *m, enum fm_init init, uint64_t seed);

/*
 * Forward n ≤ max_batch images x (n × h × w × c) with labels y; returns
 * the mean cross-entropy and counts correct predictions in *correct.
 * train: apply dropout (drawn from rng) and keep what backward needs,
 * including dlogits.
 */
double fm_model_forward(struct fm_model *m, int n, const float *x,
			const uint8_t *y, bool train, struct fm_rng *rng,
			int *correct);
/* Random draws dropout makes per image in a train forward pass (0
 * without dropout). */
size_t fm_model_dropout_draws(const struct fm_model *m);
/* Gradients of the last (train) forward pass into m->grads. */
void fm_model_backward(struct fm_model *m, int n, const float *x);

#endif
