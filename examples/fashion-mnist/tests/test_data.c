/*
 * test_data.c — the data loaders on small files this test writes: the
 * CIFAR-10 binary format (layout, labels, several batch files, limits,
 * truncated and mislabelled files, missing files), gzipped and plain IDX
 * files (bad magic, truncation), the normalisation, and the CIFAR-10
 * sample writer.
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
#include <unistd.h>
#include <zlib.h>

#include "data.h"

#define REC 3073

static char dir[256];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fm_test_data.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[512];
	const char *names[] = {"data_batch_1.bin", "data_batch_2.bin",
			       "test_batch.bin", "batches.meta.txt",
			       "train-images-idx3-ubyte.gz",
			       "train-labels-idx1-ubyte.gz",
			       "t10k-images-idx3-ubyte",
			       "t10k-labels-idx1-ubyte"};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s/%s", dir, names[i]);
		unlink(cmd);
	}
	return rmdir(dir);
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* Record i of a batch: label (i·3 + base) % 10, pixel p of channel ch
 * = (i + 7·ch + p) % 256. */
static void write_cifar(const char *name, int n, int base, int bad_label,
			size_t cut)
{
	char path[512];
	unsigned char *buf = malloc((size_t)n * REC);
	FILE *f;

	assert_non_null(buf);
	for (int i = 0; i < n; i++) {
		unsigned char *r = buf + (size_t)i * REC;

		r[0] = (unsigned char)((i * 3 + base) % 10);
		for (int ch = 0; ch < 3; ch++)
			for (int p = 0; p < 1024; p++)
				r[1 + ch * 1024 + p] =
					(unsigned char)((i + 7 * ch + p) % 256);
	}
	if (bad_label)
		buf[REC] = 10;	/* record 1 */
	path_of(path, sizeof(path), name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, (size_t)n * REC - cut, f),
			 (size_t)n * REC - cut);
	assert_int_equal(fclose(f), 0);
	free(buf);
}

static void test_cifar_layout(void **state)
{
	struct fm_dataset tr, te;
	struct fm_error err;
	double sum[3] = {0}, sq[3] = {0};
	size_t cnt = 0;

	(void)state;
	write_cifar("data_batch_1.bin", 5, 0, 0, 0);
	write_cifar("data_batch_2.bin", 3, 5, 0, 0);
	write_cifar("test_batch.bin", 4, 1, 0, 0);
	assert_int_equal(fm_data_load(FM_DATA_CIFAR10, dir, 0, 0, &tr, &te,
				      &err), 0);
	assert_int_equal(tr.n, 8);	/* both batch files */
	assert_int_equal(te.n, 4);
	assert_int_equal(tr.c, 3);
	assert_int_equal(tr.h, 32);
	assert_int_equal(tr.w, 32);
	assert_int_equal(tr.classes, 10);
	for (int i = 0; i < 5; i++)
		assert_int_equal(tr.y[i], (i * 3) % 10);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tr.y[5 + i], (i * 3 + 5) % 10);
	for (int i = 0; i < 4; i++)
		assert_int_equal(te.y[i], (i * 3 + 1) % 10);

	/* the training images' per-channel statistics, from the raw bytes */
	for (int b = 0; b < 2; b++)
		for (int i = 0; i < (b ? 3 : 5); i++)
			for (int ch = 0; ch < 3; ch++)
				for (int p = 0; p < 1024; p++) {
					double v = ((i + 7 * ch + p) % 256) / 255.0;

					sum[ch] += v;
					sq[ch] += v * v;
				}
	cnt = 8 * 1024;
	/* planar CHW on disk → interleaved HWC in memory, normalised */
	for (int i = 0; i < 8; i++) {
		int raw_i = i < 5 ? i : i - 5;

		for (int p = 0; p < 1024; p += 97)
			for (int ch = 0; ch < 3; ch++) {
				double m = sum[ch] / cnt;
				double sd = sqrt(sq[ch] / cnt - m * m);
				double want = (((raw_i + 7 * ch + p) % 256) / 255.0 - m) / sd;

				assert_true(fabs(tr.x[((size_t)i * 1024 + p) * 3 + ch] -
						 want) < 1e-4);
			}
	}
	fm_dataset_free(&tr);
	fm_dataset_free(&te);

	/* limits keep the first images, across files */
	assert_int_equal(fm_data_load(FM_DATA_CIFAR10, dir, 6, 2, &tr, &te,
				      &err), 0);
	assert_int_equal(tr.n, 6);
	assert_int_equal(te.n, 2);
	assert_int_equal(tr.y[5], 5);
	fm_dataset_free(&tr);
	fm_dataset_free(&te);
	remove_dir(NULL);
	make_dir(NULL);
}

static void test_cifar_errors(void **state)
{
	struct fm_dataset tr, te;
	struct fm_error err;

	(void)state;
	/* nothing there */
	assert_int_equal(fm_data_load(FM_DATA_CIFAR10, dir, 0, 0, &tr, &te,
				      &err), FM_ENOENT);
	assert_non_null(strstr(err.msg, "data_batch_1.bin"));
	assert_null(tr.x);

	/* a training file but no test file */
	write_cifar("data_batch_1.bin", 2, 0, 0, 0);
	assert_int_equal(fm_data_load(FM_DATA_CIFAR10, dir, 0, 0, &tr, &te,
				      &err), FM_ENOENT);
	assert_non_null(strstr(err.msg, "test_batch.bin"));

	/* a truncated record */
	write_cifar("test_batch.bin", 2, 0, 0, 100);
	assert_int_equal(fm_data_load(FM_DATA_CIFAR10, dir, 0, 0, &tr, &te,
				      &err), FM_ECORRUPT);
	assert_non_null(strstr(err.msg, "record size"));

	/* a label outside 0..9 */
	write_cifar("test_batch.bin", 2, 0, 1, 0);
	assert_int_equal(fm_data_load(FM_DATA_CIFAR10, dir, 0, 0, &tr, &te,
				      &err), FM_ECORRUPT);
	assert_non_null(strstr(err.msg, "label"));

	/* an empty file */
	write_cifar("test_batch.bin", 1, 0, 0, REC);
	assert_int_equal(fm_data_load(FM_DATA_CIFAR10, dir, 0, 0, &tr, &te,
				      &err), FM_ECORRUPT);
	remove_dir(NULL);
	make_dir(NULL);
}

static void be32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

/* An IDX pair of n images h×w: pixel p of image i = (i·5 + p) % 256,
 * label i % 10.  gz: gzip them (the training pair) or not (test). */
static void write_idx(const char *prefix, int n, int h, int w, int gz,
		      uint32_t magic, int truncate)
{
	char path[512], name[128];
	size_t len = 16 + (size_t)n * h * w;
	unsigned char *img = malloc(len), lab[8 + 64];

	assert_non_null(img);
	assert_true(n <= 64);
	be32(img, magic);
	be32(img + 4, (uint32_t)n);
	be32(img + 8, (uint32_t)h);
	be32(img + 12, (uint32_t)w);
	for (int i = 0; i < n; i++)
		for (int p = 0; p < h * w; p++)
			img[16 + (size_t)i * h * w + p] = (unsigned char)((i * 5 + p) % 256);
	be32(lab, 0x801);
	be32(lab + 4, (uint32_t)n);
	for (int i = 0; i < n; i++)
		lab[8 + i] = (unsigned char)(i % 10);
	if (truncate)
		len -= (size_t)truncate;
	for (int k = 0; k < 2; k++) {
		const unsigned char *buf = k ? lab : img;
		size_t blen = k ? 8 + (size_t)n : len;

		snprintf(name, sizeof(name), "%s-%s-idx%d-ubyte%s", prefix,
			 k ? "labels" : "images", k ? 1 : 3, gz ? ".gz" : "");
		path_of(path, sizeof(path), name);
		if (gz) {
			gzFile f = gzopen(path, "wb");

			assert_non_null(f);
			assert_int_equal(gzwrite(f, buf, (unsigned)blen), (int)blen);
			assert_int_equal(gzclose(f), Z_OK);
		} else {
			FILE *f = fopen(path, "wb");

			assert_non_null(f);
			assert_int_equal(fwrite(buf, 1, blen, f), blen);
			assert_int_equal(fclose(f), 0);
		}
	}
	free(img);
}

static void test_idx(void **state)
{
	struct fm_dataset tr, te;
	struct fm_error err;

	(void)state;
	assert_int_equal(fm_data_load(FM_DATA_FMNIST, dir, 0, 0, &tr, &te,
				      &err), FM_ENOENT);
	assert_non_null(strstr(err.msg, "train-images-idx3-ubyte.gz"));

	write_idx("train", 12, 8, 4, 1, 0x803, 0);
	write_idx("t10k", 5, 8, 4, 0, 0x803, 0);
	assert_int_equal(fm_data_load(FM_DATA_FMNIST, dir, 10, 0, &tr, &te,
				      &err), 0);
	assert_int_equal(tr.n, 10);
	assert_int_equal(te.n, 5);
	assert_int_equal(tr.c, 1);
	assert_int_equal(tr.h, 8);
	assert_int_equal(tr.w, 4);
	assert_int_equal(tr.y[7], 7);
	assert_int_equal(te.y[4], 4);
	{
		/* normalised: the training images have mean 0, variance 1 */
		double s = 0, q = 0;
		size_t tot = (size_t)tr.n * 32;

		for (size_t i = 0; i < tot; i++) {
			s += tr.x[i];
			q += (double)tr.x[i] * tr.x[i];
		}
		assert_true(fabs(s / tot) < 1e-4);
		assert_true(fabs(q / tot - 1.0) < 1e-3);
		/* and order is kept: pixel 1 of image 0 > pixel 0 */
		assert_true(tr.x[1] > tr.x[0]);
	}
	fm_dataset_free(&tr);
	fm_dataset_free(&te);

	/* a wrong magic number */
	write_idx("t10k", 5, 8, 4, 0, 0x804, 0);
	assert_int_equal(fm_data_load(FM_DATA_FMNIST, dir, 0, 0, &tr, &te,
				      &err), FM_ECORRUPT);
	assert_non_null(strstr(err.msg, "magic"));
	assert_null(tr.x);

	/* a truncated gzip member */
	write_idx("t10k", 5, 8, 4, 0, 0x803, 0);
	write_idx("train", 12, 8, 4, 1, 0x803, 40);
	assert_int_equal(fm_data_load(FM_DATA_FMNIST, dir, 0, 0, &tr, &te,
				      &err), FM_ECORRUPT);
	assert_non_null(strstr(err.msg, "truncated"));
	remove_dir(NULL);
	make_dir(NULL);
}

static void test_sample_writer(void **state)
{
	struct fm_dataset tr, te;
	struct fm_error err;
	int count[10] = {0};

	(void)state;
	assert_int_equal(fm_data_write_cifar_sample(dir, 40, 20, 1, &err), 0);
	assert_int_equal(fm_data_load(FM_DATA_CIFAR10, dir, 0, 0, &tr, &te,
				      &err), 0);
	assert_int_equal(tr.n, 40);
	assert_int_equal(te.n, 20);
	for (int i = 0; i < tr.n; i++)
		count[tr.y[i]]++;
	for (int k = 0; k < 10; k++)
		assert_int_equal(count[k], 4);
	fm_dataset_free(&tr);
	fm_dataset_free(&te);
	assert_int_equal(fm_data_write_cifar_sample(dir, 0, 20, 1, &err),
			 FM_EINVAL);
	remove_dir(NULL);
	make_dir(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cifar_layout),
		cmocka_unit_test(test_cifar_errors),
		cmocka_unit_test(test_idx),
		cmocka_unit_test(test_sample_writer),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
