/*
 * checkpoint.h — model.bin: the parameters, the optimizer state and the
 * per-epoch history of a run, after a whole epoch.
 *
 * Layout (all integers and floats little-endian):
 *   header, 128 bytes:
 *     0  magic "FMNTCKPT"          8  u32 version (1)
 *    12  u32 model kind           16  u32 in_c, in_h, in_w, classes
 *    32  u32 hidden, layers       40  u32 c1, c2, ksize
 *    52  u32 optimizer kind       56  u32 epoch (completed epochs)
 *    60  u32 history records      64  u64 optimizer step count
 *    72  u64 parameter floats     80  u64 optimizer state floats
 *    88  u64 config hash          96  u64 payload bytes
 *   104  u32 payload CRC-32      108  reserved (0) up to 124
 *   124  u32 CRC-32 of bytes 0..123
 *   payload: params (f32 ×), state (f32 ×), history records
 *     (u32 epoch, u32 0, f64 train_loss, train_acc, test_loss, test_acc,
 *     seconds).
 * A file is written to NAME.tmp.PID, synced and renamed over NAME, so a
 * reader sees the old checkpoint or the new one, never half of one.
 */
#ifndef FM_CHECKPOINT_H
#define FM_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "util.h"

#define FM_CKPT_VERSION 1
#define FM_CKPT_HEADER 128

struct fm_epoch_rec {
	int epoch;
	double train_loss, train_acc, test_loss, test_acc, seconds;
};

struct fm_ckpt {
	struct fm_model_config model;	/* dropout is not stored */
	uint32_t optim_kind;
	uint32_t epoch;
	uint64_t step;
	uint64_t config_hash;	/* of the options that shape the run */
	size_t nparams, nstate;
	uint32_t nhist;
	float *params;		/* owned; nparams */
	float *state;		/* owned; nstate */
	struct fm_epoch_rec *hist;	/* owned; nhist */
};

int fm_ckpt_write(const char *path, const struct fm_ckpt *ck,
		  struct fm_error *err);
/* FM_ENOENT if path does not exist; FM_ECORRUPT for a file that is not a
 * complete, intact checkpoint of this version.  On success *ck owns its
 * arrays: release with fm_ckpt_free. */
int fm_ckpt_read(const char *path, struct fm_ckpt *ck, struct fm_error *err);
void fm_ckpt_free(struct fm_ckpt *ck);

/* 0 if ck's model has the shape of cfg (dropout aside), else FM_EMISMATCH
 * with a message saying what differs. */
int fm_ckpt_check_model(const struct fm_ckpt *ck,
			const struct fm_model_config *cfg, const char *path,
			struct fm_error *err);

#endif
