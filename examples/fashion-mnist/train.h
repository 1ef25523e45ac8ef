/*
 * train.h — one training run of fmnist-train: load the data, build or
 * restore the model, train epoch by epoch, print one name=value line per
 * epoch and a final line on stdout, and keep model.bin and metrics.json
 * in the output directory current after every epoch.
 */
#ifndef FM_TRAIN_H
#define FM_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "data.h"
#include "ddp.h"
#include "model.h"
#include "optim.h"
#include "util.h"

struct fm_train_opts {
	enum fm_data_kind dataset;
	const char *data_dir;
	struct fm_model_config model;	/* input shape filled from the data */
	enum fm_optim_kind optim;
	double lr, weight_decay, momentum;
	int cosine;			/* anneal lr to 0 over the epochs */
	int batch, epochs;
	enum fm_init init;
	const char *pretrained;		/* checkpoint to start from, or NULL */
	uint64_t seed;
	int threads;
	const char *out_dir;		/* NULL: write no files */
	int train_limit, test_limit;	/* 0: all */
	/*
	 * Data parallel (NULL: one process).  Every rank shuffles alike and
	 * takes its `batch` images of each global batch of world·batch; the
	 * summed gradients make the update of one process with batch
	 * world·batch.  Rank 0 prints and writes the files; ddp_check
	 * compares a checksum of every rank's weights after each epoch.
	 */
	struct fm_ddp *ddp;
	int ddp_check;
	/*
	 * Evaluation only: read the model from `load` (a model.bin, or a
	 * directory holding one), train nothing, print one final line with
	 * the test accuracy and loss.  The model's shape comes from the
	 * file; the data options must match the training run's, since the
	 * inputs are normalised by the training images' statistics.
	 */
	int eval_only;
	const char *load;
};

/*
 * Returns 0, or a negative fm_status with err filled: FM_ENAN when the
 * loss stopped being finite; FM_EINVAL, FM_ENOENT, FM_ECORRUPT or
 * FM_EMISMATCH for bad input; FM_EIO or FM_ENOMEM otherwise.
 * out receives the epoch lines, info the progress notes.
 */
int fm_train_run(const struct fm_train_opts *o, FILE *out, FILE *info,
		 struct fm_error *err);

/* What fm_train_run does when o->eval_only is set. */
int fm_train_eval_only(const struct fm_train_opts *o, FILE *out, FILE *info,
		       struct fm_error *err);

#endif
