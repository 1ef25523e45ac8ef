/*
 * test_overfit.c — the whole training path can fit: the MLP and the CNN
 * reach (near) 100% accuracy on a few hundred images they train on.
 * Uses the real Fashion-MNIST files when the dataset-fashion-mnist
 * package is installed (FMNIST_DATA or its default directory), else the
 * CIFAR-10-format sample written to a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "model.h"
#include "optim.h"

static struct fm_dataset train, test;
static char sample_dir[256];

static int load(void **state)
{
	struct fm_error err;
	const char *d = getenv("FMNIST_DATA");

	(void)state;
	if (!d || !*d)
		d = FM_FMNIST_DEFAULT_DIR;
	if (fm_data_load(FM_DATA_FMNIST, d, 300, 10, &train, &test, &err) == 0)
		return 0;
	fprintf(stderr, "note: %s; using a CIFAR-10-format sample\n", err.msg);
	snprintf(sample_dir, sizeof(sample_dir), "/tmp/fm_overfit.XXXXXX");
	if (!mkdtemp(sample_dir) ||
	    fm_data_write_cifar_sample(sample_dir, 200, 10, 1, &err) ||
	    fm_data_load(FM_DATA_CIFAR10, sample_dir, 0, 0, &train, &test,
			 &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int unload(void **state)
{
	char p[400];

	(void)state;
	fm_dataset_free(&train);
	fm_dataset_free(&test);
	if (sample_dir[0]) {
		const char *names[] = {"data_batch_1.bin", "test_batch.bin",
				       "batches.meta.txt"};

		for (int i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s/%s", sample_dir, names[i]);
			unlink(p);
		}
		rmdir(sample_dir);
	}
	return 0;
}

/* Train for epochs passes of batch 32 with Adam; return the accuracy on
 * the training images themselves. */
static double fit(struct fm_model_config *c, int epochs, float lr)
{
	const int n = train.n, bs = 32;
	const size_t img = (size_t)train.c * train.h * train.w;
	struct fm_model *m;
	struct fm_optim o;
	struct fm_optim_config oc;
	struct fm_error err;
	long right = 0;

	c->in_c = train.c;
	c->in_h = train.h;
	c->in_w = train.w;
	c->classes = 10;
	assert_int_equal(fm_model_new(c, 64, &m, &err), 0);
	fm_model_init(m, FM_INIT_HE, 1);
	fm_optim_defaults(&oc, FM_OPT_ADAM, lr, 0.0f);
	assert_int_equal(fm_optim_init(&o, &oc, m->nparams, &err), 0);
	for (int e = 0; e < epochs; e++) {
		for (int s = 0; s < n; s += bs) {
			int nb = n - s < bs ? n - s : bs;
			const float *x = train.x + (size_t)s * img;

			fm_model_forward(m, nb, x, train.y + s, true, NULL, NULL);
			fm_model_backward(m, nb, x);
			fm_optim_step(&o, m->tensors, m->ntensors, m->params,
				      m->grads);
		}
	}
	for (int s = 0; s < n; s += 64) {
		int nb = n - s < 64 ? n - s : 64, correct;

		fm_model_forward(m, nb, train.x + (size_t)s * img, train.y + s,
				 false, NULL, &correct);
		right += correct;
	}
	fm_optim_free(&o);
	fm_model_free(m);
	return (double)right / n;
}

static void test_mlp_overfits(void **state)
{
	struct fm_model_config c = {0};
	double acc;

	(void)state;
	c.kind = FM_MODEL_MLP;
	c.hidden = 128;
	c.layers = 1;
	acc = fit(&c, 40, 2e-3f);
	print_message("mlp train accuracy after 40 epochs on %d images: %.4f\n",
		      train.n, acc);
	assert_true(acc >= 0.99);
}

static void test_cnn_overfits(void **state)
{
	struct fm_model_config c = {0};
	double acc;

	(void)state;
	c.kind = FM_MODEL_CNN;
	c.c1 = 8;
	c.c2 = 16;
	c.ksize = 3;
	acc = fit(&c, 40, 2e-3f);
	print_message("cnn train accuracy after 40 epochs on %d images: %.4f\n",
		      train.n, acc);
	assert_true(acc >= 0.99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mlp_overfits),
		cmocka_unit_test(test_cnn_overfits),
	};

	return cmocka_run_group_tests(tests, load, unload);
}
