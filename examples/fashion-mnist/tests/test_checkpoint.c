/*
 * test_checkpoint.c — model.bin round trip (every header field, the
 * parameters, the optimizer state, the history), and detection of every
 * kind of damage: a flipped payload byte, a flipped header byte, a
 * truncated file, trailing bytes, a foreign file, a missing file; plus
 * the shape check used before resuming or loading pretrained weights.
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

#include "checkpoint.h"

static char path[256];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/fm_test_ckpt.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void sample(struct fm_ckpt *ck)
{
	static float params[37], st[74];
	static struct fm_epoch_rec hist[3];

	memset(ck, 0, sizeof(*ck));
	ck->model.kind = FM_MODEL_CNN;
	ck->model.in_c = 3;
	ck->model.in_h = 32;
	ck->model.in_w = 32;
	ck->model.classes = 10;
	ck->model.c1 = 8;
	ck->model.c2 = 16;
	ck->model.ksize = 5;
	ck->optim_kind = FM_OPT_ADAM;
	ck->epoch = 3;
	ck->step = 123456789012ULL;
	ck->config_hash = 0xfeedfacecafebeefULL;
	ck->nparams = 37;
	ck->nstate = 74;
	ck->nhist = 3;
	for (int i = 0; i < 37; i++)
		params[i] = (float)i * -0.5f + 1e-7f;
	for (int i = 0; i < 74; i++)
		st[i] = (float)i / 3.0f;
	for (int i = 0; i < 3; i++) {
		hist[i].epoch = i + 1;
		hist[i].train_loss = 1.0 / (i + 1);
		hist[i].train_acc = 0.5 + i * 0.1;
		hist[i].test_loss = 2.0 / (i + 1);
		hist[i].test_acc = 0.4 + i * 0.1;
		hist[i].seconds = 1.25 * i;
	}
	ck->params = params;
	ck->state = st;
	ck->hist = hist;
}

static void test_round_trip(void **state)
{
	struct fm_ckpt a, b;
	struct fm_error err;

	(void)state;
	sample(&a);
	assert_int_equal(fm_ckpt_write(path, &a, &err), 0);
	assert_int_equal(fm_ckpt_read(path, &b, &err), 0);
	assert_int_equal(b.model.kind, FM_MODEL_CNN);
	assert_int_equal(b.model.in_c, 3);
	assert_int_equal(b.model.in_h, 32);
	assert_int_equal(b.model.in_w, 32);
	assert_int_equal(b.model.classes, 10);
	assert_int_equal(b.model.c1, 8);
	assert_int_equal(b.model.c2, 16);
	assert_int_equal(b.model.ksize, 5);
	assert_int_equal(b.optim_kind, FM_OPT_ADAM);
	assert_int_equal(b.epoch, 3);
	assert_true(b.step == a.step);
	assert_true(b.config_hash == a.config_hash);
	assert_int_equal(b.nparams, 37);
	assert_int_equal(b.nstate, 74);
	assert_int_equal(b.nhist, 3);
	assert_memory_equal(b.params, a.params, 37 * sizeof(float));
	assert_memory_equal(b.state, a.state, 74 * sizeof(float));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(b.hist[i].epoch, a.hist[i].epoch);
		assert_true(b.hist[i].train_loss == a.hist[i].train_loss);
		assert_true(b.hist[i].test_acc == a.hist[i].test_acc);
		assert_true(b.hist[i].seconds == a.hist[i].seconds);
	}
	fm_ckpt_free(&b);
	/* no temporary file is left behind */
	{
		char tmp[300];

		snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
		assert_int_not_equal(access(tmp, F_OK), 0);
	}
}

/* Write the sample, damage it with f, and expect FM_ECORRUPT with why
 * in the message. */
static void damaged(void (*f)(FILE *), const char *why)
{
	struct fm_ckpt a, b;
	struct fm_error err;
	FILE *fp;

	sample(&a);
	assert_int_equal(fm_ckpt_write(path, &a, &err), 0);
	fp = fopen(path, "r+b");
	assert_non_null(fp);
	f(fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(fm_ckpt_read(path, &b, &err), FM_ECORRUPT);
	if (!strstr(err.msg, why)) {
		print_error("message '%s' lacks '%s'\n", err.msg, why);
		fail();
	}
	assert_null(b.params);
}

static void flip_at(FILE *f, long off)
{
	int c;

	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	c = fgetc(f);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	fputc(c ^ 0x10, f);
}

static void flip_payload(FILE *f)
{
	flip_at(f, FM_CKPT_HEADER + 4 * 20 + 1);
}

static void flip_header(FILE *f)
{
	flip_at(f, 56);	/* the epoch */
}

static void flip_magic(FILE *f)
{
	flip_at(f, 0);
}

static void truncate_it(FILE *f)
{
	assert_int_equal(ftruncate(fileno(f), FM_CKPT_HEADER + 10), 0);
}

static void truncate_header(FILE *f)
{
	assert_int_equal(ftruncate(fileno(f), 50), 0);
}

static void append(FILE *f)
{
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	fputc(0, f);
}

static void test_corruption(void **state)
{
	(void)state;
	damaged(flip_payload, "payload checksum");
	damaged(flip_header, "header checksum");
	damaged(flip_magic, "magic");
	damaged(truncate_it, "truncated");
	damaged(truncate_header, "header");
	damaged(append, "trailing");
}

static void test_missing(void **state)
{
	struct fm_ckpt b;
	struct fm_error err;

	(void)state;
	assert_int_equal(fm_ckpt_read("/nonexistent/model.bin", &b, &err),
			 FM_ENOENT);
}

static void test_check_model(void **state)
{
	struct fm_ckpt a;
	struct fm_model_config c;
	struct fm_error err;

	(void)state;
	sample(&a);
	c = a.model;
	assert_int_equal(fm_ckpt_check_model(&a, &c, "x", &err), 0);
	c.c2 = 32;
	assert_int_equal(fm_ckpt_check_model(&a, &c, "x", &err),
			 FM_EMISMATCH);
	assert_non_null(strstr(err.msg, "channels"));
	c = a.model;
	c.in_c = 1;
	assert_int_equal(fm_ckpt_check_model(&a, &c, "x", &err),
			 FM_EMISMATCH);
	c = a.model;
	c.kind = FM_MODEL_MLP;
	assert_int_equal(fm_ckpt_check_model(&a, &c, "x", &err),
			 FM_EMISMATCH);
	assert_non_null(strstr(err.msg, "cnn"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_check_model),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
