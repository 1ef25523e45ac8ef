/*
 * checkpoint.c — writing and reading model.bin (format in checkpoint.h).
 * The encoder writes explicit little-endian bytes so the file does not
 * depend on the host; two CRC-32s (header, payload) catch truncation and
 * bit rot before anything in the file is trusted.
 */
#include "checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = {'F', 'M', 'N', 'T', 'C', 'K', 'P', 'T'};

#define HIST_BYTES 48
#define MAX_FLOATS (1ULL << 31)

static void put32(unsigned char *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *b)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static uint64_t get64(const unsigned char *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void put_f64(unsigned char *b, double d)
{
	uint64_t v;

	memcpy(&v, &d, 8);
	put64(b, v);
}

static double get_f64(const unsigned char *b)
{
	uint64_t v = get64(b);
	double d;

	memcpy(&d, &v, 8);
	return d;
}

static void put_floats(unsigned char *b, const float *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t v;

		memcpy(&v, &f[i], 4);
		put32(b + 4 * i, v);
	}
}

static void get_floats(const unsigned char *b, float *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t v = get32(b + 4 * i);

		memcpy(&f[i], &v, 4);
	}
}

static size_t payload_size(size_t np, size_t ns, size_t nh)
{
	return 4 * np + 4 * ns + HIST_BYTES * nh;
}

int fm_ckpt_write(const char *path, const struct fm_ckpt *ck,
		  struct fm_error *err)
{
	const size_t plen = payload_size(ck->nparams, ck->nstate, ck->nhist);
	unsigned char *buf = malloc(FM_CKPT_HEADER + plen);
	unsigned char *h = buf, *p;
	int rc;

	if (!buf)
		return fm_error_set(err, FM_ENOMEM,
				    "out of memory writing %s", path);
	memset(h, 0, FM_CKPT_HEADER);
	p = buf + FM_CKPT_HEADER;
	put_floats(p, ck->params, ck->nparams);
	put_floats(p + 4 * ck->nparams, ck->state, ck->nstate);
	for (uint32_t i = 0; i < ck->nhist; i++) {
		unsigned char *r = p + 4 * (ck->nparams + ck->nstate) +
				   (size_t)HIST_BYTES * i;
		const struct fm_epoch_rec *e_ = &ck->hist[i];

		put32(r, (uint32_t)e_->epoch);
		put32(r + 4, 0);
		put_f64(r + 8, e_->train_loss);
		put_f64(r + 16, e_->train_acc);
		put_f64(r + 24, e_->test_loss);
		put_f64(r + 32, e_->test_acc);
		put_f64(r + 40, e_->seconds);
	}

	memcpy(h, magic, 8);
	put32(h + 8, FM_CKPT_VERSION);
	put32(h + 12, (uint32_t)ck->model.kind);
	put32(h + 16, (uint32_t)ck->model.in_c);
	put32(h + 20, (uint32_t)ck->model.in_h);
	put32(h + 24, (uint32_t)ck->model.in_w);
	put32(h + 28, (uint32_t)ck->model.classes);
	put32(h + 32, (uint32_t)ck->model.hidden);
	put32(h + 36, (uint32_t)ck->model.layers);
	put32(h + 40, (uint32_t)ck->model.c1);
	put32(h + 44, (uint32_t)ck->model.c2);
	put32(h + 48, (uint32_t)ck->model.ksize);
	put32(h + 52, ck->optim_kind);
	put32(h + 56, ck->epoch);
	put32(h + 60, ck->nhist);
	put64(h + 64, ck->step);
	put64(h + 72, ck->nparams);
	put64(h + 80, ck->nstate);
	put64(h + 88, ck->config_hash);
	put64(h + 96, plen);
	put32(h + 104, fm_crc32(0, p, plen));
	put32(h + 124, fm_crc32(0, h, 124));

	rc = fm_write_atomic(path, buf, FM_CKPT_HEADER + plen, err);
	free(buf);
	return rc;
}

static int corrupt(struct fm_error *err, const char *path, const char *why)
{
	return fm_error_set(err, FM_ECORRUPT,
			    "%s: not a usable checkpoint (%s); delete it to "
			    "start afresh", path, why);
}

int fm_ckpt_read(const char *path, struct fm_ckpt *ck, struct fm_error *err)
{
	unsigned char h[FM_CKPT_HEADER], *p = NULL;
	FILE *f;
	uint64_t plen;
	int rc;

	memset(ck, 0, sizeof(*ck));
	f = fopen(path, "rb");
	if (!f)
		return fm_error_set(err, errno == ENOENT ? FM_ENOENT : FM_EIO,
				    "%s: cannot open: %s", path,
				    strerror(errno));
	if (fread(h, 1, FM_CKPT_HEADER, f) != FM_CKPT_HEADER) {
		rc = corrupt(err, path, "shorter than its header");
		goto out;
	}
	if (memcmp(h, magic, 8) != 0) {
		rc = corrupt(err, path, "bad magic");
		goto out;
	}
	if (get32(h + 124) != fm_crc32(0, h, 124)) {
		rc = corrupt(err, path, "header checksum mismatch");
		goto out;
	}
	if (get32(h + 8) != FM_CKPT_VERSION) {
		rc = corrupt(err, path, "unsupported version");
		goto out;
	}
	ck->model.kind = (enum fm_model_kind)get32(h + 12);
	ck->model.in_c = (int)get32(h + 16);
	ck->model.in_h = (int)get32(h + 20);
	ck->model.in_w = (int)get32(h + 24);
	ck->model.classes = (int)get32(h + 28);
	ck->model.hidden = (int)get32(h + 32);
	ck->model.layers = (int)get32(h + 36);
	ck->model.c1 = (int)get32(h + 40);
	ck->model.c2 = (int)get32(h + 44);
	ck->model.ksize = (int)get32(h + 48);
	ck->optim_kind = get32(h + 52);
	ck->epoch = get32(h + 56);
	ck->nhist = get32(h + 60);
	ck->step = get64(h + 64);
	ck->nparams = (size_t)get64(h + 72);
	ck->nstate = (size_t)get64(h + 80);
	ck->config_hash = get64(h + 88);
	plen = get64(h + 96);
	if (ck->nparams > MAX_FLOATS || ck->nstate > MAX_FLOATS ||
	    ck->nhist > 1000000 ||
	    plen != payload_size(ck->nparams, ck->nstate, ck->nhist)) {
		rc = corrupt(err, path, "inconsistent sizes");
		goto out;
	}
	p = malloc(plen ? plen : 1);
	ck->params = fm_falloc(ck->nparams);
	ck->state = fm_falloc(ck->nstate);
	ck->hist = calloc(ck->nhist ? ck->nhist : 1, sizeof(*ck->hist));
	if (!p || !ck->params || !ck->state || !ck->hist) {
		rc = fm_error_set(err, FM_ENOMEM, "out of memory reading %s",
				  path);
		goto out;
	}
	if (fread(p, 1, plen, f) != plen) {
		rc = corrupt(err, path, "truncated");
		goto out;
	}
	if (fgetc(f) != EOF) {
		rc = corrupt(err, path, "trailing bytes");
		goto out;
	}
	if (get32(h + 104) != fm_crc32(0, p, plen)) {
		rc = corrupt(err, path, "payload checksum mismatch");
		goto out;
	}
	get_floats(p, ck->params, ck->nparams);
	get_floats(p + 4 * ck->nparams, ck->state, ck->nstate);
	for (uint32_t i = 0; i < ck->nhist; i++) {
		const unsigned char *r = p + 4 * (ck->nparams + ck->nstate) +
					 (size_t)HIST_BYTES * i;
		struct fm_epoch_rec *e = &ck->hist[i];

		e->epoch = (int)get32(r);
		e->train_loss = get_f64(r + 8);
		e->train_acc = get_f64(r + 16);
		e->test_loss = get_f64(r + 24);
		e->test_acc = get_f64(r + 32);
		e->seconds = get_f64(r + 40);
	}
	rc = FM_OK;
out:
	free(p);
	fclose(f);
	if (rc)
		fm_ckpt_free(ck);
	return rc;
}

void fm_ckpt_free(struct fm_ckpt *ck)
{
	fm_free(ck->params);
	fm_free(ck->state);
	free(ck->hist);
	ck->params = ck->state = NULL;
	ck->hist = NULL;
}

int fm_ckpt_check_model(const struct fm_ckpt *ck,
			const struct fm_model_config *cfg, const char *path,
			struct fm_error *err)
{
	const struct fm_model_config *c = &ck->model;

	if (c->kind != cfg->kind)
		return fm_error_set(err, FM_EMISMATCH,
				    "%s holds a %s model, not a %s", path,
				    fm_model_kind_name(c->kind),
				    fm_model_kind_name(cfg->kind));
	if (c->in_c != cfg->in_c || c->in_h != cfg->in_h ||
	    c->in_w != cfg->in_w || c->classes != cfg->classes)
		return fm_error_set(err, FM_EMISMATCH,
				    "%s was trained on %d×%d×%d inputs with %d "
				    "classes; this data is %d×%d×%d with %d",
				    path, c->in_c, c->in_h, c->in_w, c->classes,
				    cfg->in_c, cfg->in_h, cfg->in_w,
				    cfg->classes);
	if (cfg->kind == FM_MODEL_MLP &&
	    (c->hidden != cfg->hidden || c->layers != cfg->layers))
		return fm_error_set(err, FM_EMISMATCH,
				    "%s has %d hidden layer(s) of %d, not %d "
				    "of %d", path, c->layers, c->hidden,
				    cfg->layers, cfg->hidden);
	if (cfg->kind == FM_MODEL_CNN &&
	    (c->c1 != cfg->c1 || c->c2 != cfg->c2 || c->ksize != cfg->ksize))
		return fm_error_set(err, FM_EMISMATCH,
				    "%s has channels %d,%d kernel %d, not "
				    "%d,%d kernel %d", path, c->c1, c->c2,
				    c->ksize, cfg->c1, cfg->c2, cfg->ksize);
	return FM_OK;
}
