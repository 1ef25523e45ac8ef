/*
 * data.h — loading image classification data sets into memory as
 * normalised float images (NHWC) with byte labels.
 *
 * Two on-disk formats:
 *  - Fashion-MNIST / MNIST IDX files, gzipped or not (zlib reads both):
 *    train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
 *    t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz];
 *  - the CIFAR-10 binary format: data_batch_1.bin … data_batch_5.bin and
 *    test_batch.bin, records of 1 label byte + 3072 pixel bytes (1024 red,
 *    1024 green, 1024 blue, each 32×32 row-major).
 * Missing files are FM_ENOENT, malformed ones FM_ECORRUPT, each with a
 * message naming the file.
 */
#ifndef FM_DATA_H
#define FM_DATA_H

#include <stdint.h>

#include "util.h"

#define FM_FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

struct fm_dataset {
	int n, c, h, w;		/* n images of c×h×w */
	int classes;
	float *x;		/* n × h × w × c */
	uint8_t *y;		/* n labels, each < classes */
};

enum fm_data_kind {
	FM_DATA_FMNIST = 1,
	FM_DATA_CIFAR10 = 2,
};

/*
 * Load the training and test sets from dir.  A limit > 0 keeps only the
 * first that many images of a set (the rest of the file is not read).
 * On success the images are normalised per channel with the mean and
 * standard deviation of the loaded training images.  On failure both
 * sets are left empty.
 */
int fm_data_load(enum fm_data_kind kind, const char *dir, int train_limit,
		 int test_limit, struct fm_dataset *train,
		 struct fm_dataset *test, struct fm_error *err);
void fm_dataset_free(struct fm_dataset *d);

/*
 * Write a small synthetic data set in the CIFAR-10 binary format to dir
 * (created if missing): data_batch_1.bin with ntrain records,
 * test_batch.bin with ntest, batches.meta.txt with the class names.  The
 * ten classes are gratings of 5 orientations × 2 frequencies at random
 * phase and colour under heavy noise, so a model has something to learn.
 * Files are written atomically.
 */
int fm_data_write_cifar_sample(const char *dir, int ntrain, int ntest,
			       uint64_t seed, struct fm_error *err);

/* mkdir -p; 0 or FM_EIO. */
int fm_mkdirs(const char *path, struct fm_error *err);

#endif
