/*
 * data.c — the IDX (Fashion-MNIST) and CIFAR-10 binary loaders, the
 * per-channel normalisation, and the CIFAR-10-format sample writer.
 * See data.h.
 */
#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAX_IMAGES 10000000
#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define CIFAR_TRAIN_FILES 5

/* Raw images before conversion to float. */
struct raw_set {
	int n, c, h, w;
	uint8_t *px;		/* n × h × w × c */
	uint8_t *y;
};

static void raw_free(struct raw_set *r)
{
	free(r->px);
	free(r->y);
	memset(r, 0, sizeof(*r));
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Read exactly len bytes from a gz stream; FM_ECORRUPT on a short read. */
static int gz_read_all(gzFile f, const char *path, void *buf, size_t len,
		       struct fm_error *err)
{
	unsigned char *b = buf;

	while (len > 0) {
		unsigned chunk = len > (1u << 30) ? (1u << 30) : (unsigned)len;
		int got = gzread(f, b, chunk);
		int zerr;
		const char *msg;

		if (got < 0) {
			msg = gzerror(f, &zerr);
			return fm_error_set(err, FM_ECORRUPT,
					    "%s: cannot decompress: %s", path,
					    msg);
		}
		if (got == 0)
			return fm_error_set(err, FM_ECORRUPT,
					    "%s: file is truncated", path);
		b += got;
		len -= (size_t)got;
	}
	return FM_OK;
}

static uint32_t be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

/*
 * Open dir/name.gz or dir/name.  path receives the name used (for
 * messages).
 */
static int idx_open(const char *dir, const char *name, char *path,
		    size_t pathlen, gzFile *out, struct fm_error *err)
{
	snprintf(path, pathlen, "%s/%s.gz", dir, name);
	if (!exists(path)) {
		snprintf(path, pathlen, "%s/%s", dir, name);
		if (!exists(path)) {
			snprintf(path, pathlen, "%s/%s.gz", dir, name);
			return fm_error_set(err, FM_ENOENT,
					    "%s: no such file (is the "
					    "dataset-fashion-mnist package "
					    "installed? or pass --data DIR)",
					    path);
		}
	}
	*out = gzopen(path, "rb");
	if (!*out)
		return fm_error_set(err, FM_EIO, "%s: cannot open: %s", path,
				    strerror(errno));
	return FM_OK;
}

/* Read an IDX image file (magic 0x803, n × h × w) and its label file
 * (magic 0x801, n), keeping at most limit images when limit > 0. */
static int idx_load(const char *dir, const char *images, const char *labels,
		    int limit, struct raw_set *r, struct fm_error *err)
{
	char path[4096];
	unsigned char hdr[16];
	gzFile f = NULL;
	uint32_t n, h, w, nl;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = idx_open(dir, images, path, sizeof(path), &f, err);
	if (rc)
		return rc;
	rc = gz_read_all(f, path, hdr, 16, err);
	if (rc)
		goto out;
	if (be32(hdr) != 0x803) {
		rc = fm_error_set(err, FM_ECORRUPT,
				  "%s: not an IDX image file (magic 0x%08x, "
				  "expected 0x00000803)", path, be32(hdr));
		goto out;
	}
	n = be32(hdr + 4);
	h = be32(hdr + 8);
	w = be32(hdr + 12);
	if (n == 0 || n > IDX_MAX_IMAGES || h == 0 || h > 1024 || w == 0 ||
	    w > 1024) {
		rc = fm_error_set(err, FM_ECORRUPT,
				  "%s: implausible dimensions %u × %u × %u",
				  path, n, h, w);
		goto out;
	}
	if (limit > 0 && (uint32_t)limit < n)
		n = (uint32_t)limit;
	r->n = (int)n;
	r->c = 1;
	r->h = (int)h;
	r->w = (int)w;
	r->px = malloc((size_t)n * h * w);
	r->y = malloc(n);
	if (!r->px || !r->y) {
		rc = fm_error_set(err, FM_ENOMEM, "out of memory for %s", path);
		goto out;
	}
	rc = gz_read_all(f, path, r->px, (size_t)n * h * w, err);
	if (rc)
		goto out;
	gzclose(f);

	rc = idx_open(dir, labels, path, sizeof(path), &f, err);
	if (rc) {
		f = NULL;
		goto out;
	}
	rc = gz_read_all(f, path, hdr, 8, err);
	if (rc)
		goto out;
	if (be32(hdr) != 0x801) {
		rc = fm_error_set(err, FM_ECORRUPT,
				  "%s: not an IDX label file (magic 0x%08x, "
				  "expected 0x00000801)", path, be32(hdr));
		goto out;
	}
	nl = be32(hdr + 4);
	if (nl < n) {
		rc = fm_error_set(err, FM_ECORRUPT,
				  "%s: %u labels for %u images", path, nl, n);
		goto out;
	}
	rc = gz_read_all(f, path, r->y, n, err);
	if (rc)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		if (r->y[i] >= 10) {
			rc = fm_error_set(err, FM_ECORRUPT,
					  "%s: label %u of image %u is not in "
					  "0..9", path, r->y[i], i);
			goto out;
		}
	}
out:
	if (f)
		gzclose(f);
	if (rc)
		raw_free(r);
	return rc;
}

/* Append the records of one CIFAR-10 binary file to r (at most limit
 * images in r when limit > 0). */
static int cifar_read_file(const char *path, int limit, struct raw_set *r,
			   struct fm_error *err)
{
	FILE *f = fopen(path, "rb");
	unsigned char *rec = NULL;
	long size;
	size_t nrec, keep, old;
	int rc = FM_OK;

	if (!f)
		return fm_error_set(err, errno == ENOENT ? FM_ENOENT : FM_EIO,
				    "%s: cannot open: %s", path,
				    strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		rc = fm_error_set(err, FM_EIO, "%s: cannot read: %s", path,
				  strerror(errno));
		goto out;
	}
	if (size == 0 || size % CIFAR_RECORD != 0) {
		rc = fm_error_set(err, FM_ECORRUPT,
				  "%s: size %ld is not a positive multiple of "
				  "the CIFAR-10 record size %d", path, size,
				  CIFAR_RECORD);
		goto out;
	}
	nrec = (size_t)size / CIFAR_RECORD;
	keep = nrec;
	if (limit > 0 && (size_t)r->n + keep > (size_t)limit)
		keep = (size_t)limit - (size_t)r->n;
	if ((size_t)r->n + keep > IDX_MAX_IMAGES) {
		rc = fm_error_set(err, FM_ECORRUPT, "%s: too many records",
				  path);
		goto out;
	}
	old = (size_t)r->n;
	{
		uint8_t *px = realloc(r->px, (old + keep) * CIFAR_PIXELS);
		uint8_t *y;

		if (!px) {
			rc = fm_error_set(err, FM_ENOMEM,
					  "out of memory for %s", path);
			goto out;
		}
		r->px = px;
		y = realloc(r->y, old + keep);
		if (!y) {
			rc = fm_error_set(err, FM_ENOMEM,
					  "out of memory for %s", path);
			goto out;
		}
		r->y = y;
	}
	rec = malloc(CIFAR_RECORD);
	if (!rec) {
		rc = fm_error_set(err, FM_ENOMEM, "out of memory for %s", path);
		goto out;
	}
	for (size_t i = 0; i < keep; i++) {
		uint8_t *dst = r->px + (old + i) * CIFAR_PIXELS;

		if (fread(rec, 1, CIFAR_RECORD, f) != CIFAR_RECORD) {
			rc = fm_error_set(err, FM_EIO, "%s: read error", path);
			goto out;
		}
		if (rec[0] >= 10) {
			rc = fm_error_set(err, FM_ECORRUPT,
					  "%s: record %zu has label %u, not "
					  "in 0..9", path, i, rec[0]);
			goto out;
		}
		r->y[old + i] = rec[0];
		/* planar RGB (CHW) to interleaved (HWC) */
		for (int p = 0; p < CIFAR_SIDE * CIFAR_SIDE; p++)
			for (int ch = 0; ch < 3; ch++)
				dst[p * 3 + ch] =
					rec[1 + ch * CIFAR_SIDE * CIFAR_SIDE + p];
		r->n++;
	}
out:
	free(rec);
	fclose(f);
	return rc;
}

static int cifar_load(const char *dir, int train_limit, int test_limit,
		      struct raw_set *train, struct raw_set *test,
		      struct fm_error *err)
{
	char path[4096];
	int rc;

	memset(train, 0, sizeof(*train));
	memset(test, 0, sizeof(*test));
	train->c = test->c = 3;
	train->h = train->w = test->h = test->w = CIFAR_SIDE;
	for (int i = 1; i <= CIFAR_TRAIN_FILES; i++) {
		if (train_limit > 0 && train->n >= train_limit)
			break;
		snprintf(path, sizeof(path), "%s/data_batch_%d.bin", dir, i);
		if (i > 1 && !exists(path))
			break;	/* fewer batches than CIFAR-10 has: fine */
		rc = cifar_read_file(path, train_limit, train, err);
		if (rc == FM_ENOENT)
			fm_error_set(err, rc,
				     "%s: no such file (a CIFAR-10 binary "
				     "directory has data_batch_1.bin … and "
				     "test_batch.bin; make a small one with "
				     "fmnist-train --make-cifar-sample DIR)",
				     path);
		if (rc)
			goto fail;
	}
	snprintf(path, sizeof(path), "%s/test_batch.bin", dir);
	rc = cifar_read_file(path, test_limit, test, err);
	if (rc)
		goto fail;
	return FM_OK;
fail:
	raw_free(train);
	raw_free(test);
	return rc;
}

/* Convert to float and normalise per channel by the training set's
 * mean and standard deviation. */
static int to_float(const struct raw_set *tr, const struct raw_set *te,
		    struct fm_dataset *train, struct fm_dataset *test,
		    struct fm_error *err)
{
	const int c = tr->c;
	const size_t ntr = (size_t)tr->n * tr->h * tr->w;
	double sum[4] = {0}, sq[4] = {0};
	float mean[4], inv[4];
	const struct raw_set *raw[2] = {tr, te};
	struct fm_dataset *out[2] = {train, test};

	for (size_t p = 0; p < ntr; p++) {
		for (int ch = 0; ch < c; ch++) {
			double v = tr->px[p * c + ch] / 255.0;

			sum[ch] += v;
			sq[ch] += v * v;
		}
	}
	for (int ch = 0; ch < c; ch++) {
		double m = sum[ch] / (double)ntr;
		double var = sq[ch] / (double)ntr - m * m;

		mean[ch] = (float)m;
		inv[ch] = var > 1e-12 ? (float)(1.0 / sqrt(var)) : 1.0f;
	}
	for (int s = 0; s < 2; s++) {
		const struct raw_set *r = raw[s];
		struct fm_dataset *d = out[s];
		size_t total = (size_t)r->n * r->h * r->w * r->c;

		d->n = r->n;
		d->c = r->c;
		d->h = r->h;
		d->w = r->w;
		d->classes = 10;
		d->x = fm_falloc(total);
		d->y = malloc((size_t)r->n);
		if (!d->x || !d->y)
			return fm_error_set(err, FM_ENOMEM,
					    "out of memory for the images");
		memcpy(d->y, r->y, (size_t)r->n);
		for (size_t i = 0; i < total; i++) {
			int ch = (int)(i % (size_t)c);

			d->x[i] = ((float)r->px[i] / 255.0f - mean[ch]) * inv[ch];
		}
	}
	return FM_OK;
}

int fm_data_load(enum fm_data_kind kind, const char *dir, int train_limit,
		 int test_limit, struct fm_dataset *train,
		 struct fm_dataset *test, struct fm_error *err)
{
	struct raw_set tr, te;
	int rc;

	memset(train, 0, sizeof(*train));
	memset(test, 0, sizeof(*test));
	if (kind == FM_DATA_CIFAR10) {
		rc = cifar_load(dir, train_limit, test_limit, &tr, &te, err);
		if (rc)
			return rc;
	} else {
		rc = idx_load(dir, "train-images-idx3-ubyte",
			      "train-labels-idx1-ubyte", train_limit, &tr, err);
		if (rc)
			return rc;
		rc = idx_load(dir, "t10k-images-idx3-ubyte",
			      "t10k-labels-idx1-ubyte", test_limit, &te, err);
		if (rc) {
			raw_free(&tr);
			return rc;
		}
		if (te.h != tr.h || te.w != tr.w) {
			rc = fm_error_set(err, FM_ECORRUPT,
					  "%s: test images are %d×%d but "
					  "training images %d×%d", dir, te.h,
					  te.w, tr.h, tr.w);
			raw_free(&tr);
			raw_free(&te);
			return rc;
		}
	}
	rc = to_float(&tr, &te, train, test, err);
	raw_free(&tr);
	raw_free(&te);
	if (rc) {
		fm_dataset_free(train);
		fm_dataset_free(test);
	}
	return rc;
}

void fm_dataset_free(struct fm_dataset *d)
{
	fm_free(d->x);
	free(d->y);
	memset(d, 0, sizeof(*d));
}

int fm_mkdirs(const char *path, struct fm_error *err)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return fm_error_set(err, FM_EINVAL, "bad directory name '%s'",
				    path);
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return fm_error_set(err, FM_EIO,
					    "cannot create directory %s: %s",
					    buf, strerror(errno));
		buf[i] = path[i];
	}
	{
		struct stat st;

		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			return fm_error_set(err, FM_EIO,
					    "%s is not a directory", path);
	}
	return FM_OK;
}

/* Write buf to dir/name atomically. */
static int write_atomic(const char *dir, const char *name, const void *buf,
			size_t len, struct fm_error *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fm_write_atomic(path, buf, len, err);
}

/*
 * One synthetic record of class label: a sinusoidal grating whose
 * orientation (5 angles, 36° apart, jittered ±6°) and frequency (3 or 5
 * cycles across the image) encode the class, at a random phase, in a
 * random colour (so colour carries no information), under Gaussian noise
 * of σ = 56 grey levels: learnable, but far from trivially (MLP and CNN
 * reach roughly 75–90% test accuracy in 5 epochs on 2,000 images).
 */
static void sample_image(struct fm_rng *rng, int label, unsigned char *rec)
{
	const double pi = 3.141592653589793;
	const double ang = (label % 5) * (pi / 5.0) +
			   (fm_rng_uniform(rng) - 0.5) * (pi / 15.0);
	const double freq = (label < 5 ? 3.0 : 5.0) * 2.0 * pi / CIFAR_SIDE;
	const double phase = fm_rng_uniform(rng) * 2.0 * pi;
	const double ca = cos(ang), sa = sin(ang);
	double tint[3];

	for (int ch = 0; ch < 3; ch++)
		tint[ch] = 0.3 + 0.7 * fm_rng_uniform(rng);
	rec[0] = (unsigned char)label;
	for (int y = 0; y < CIFAR_SIDE; y++) {
		for (int x = 0; x < CIFAR_SIDE; x++) {
			double s = sin(freq * (x * ca + y * sa) + phase);

			for (int ch = 0; ch < 3; ch++) {
				double v = 128.0 + 48.0 * s * tint[ch] +
					   56.0 * fm_rng_normal(rng);
				int q = (int)lround(v);

				q = q < 0 ? 0 : q > 255 ? 255 : q;
				rec[1 + ch * CIFAR_SIDE * CIFAR_SIDE +
				    y * CIFAR_SIDE + x] = (unsigned char)q;
			}
		}
	}
}

int fm_data_write_cifar_sample(const char *dir, int ntrain, int ntest,
			       uint64_t seed, struct fm_error *err)
{
	static const char meta[] =
		"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\n"
		"ship\ntruck\n";
	const int counts[2] = {ntrain, ntest};
	const char *names[2] = {"data_batch_1.bin", "test_batch.bin"};
	struct fm_rng rng;
	int rc;

	if (ntrain <= 0 || ntest <= 0 || ntrain > 100000 || ntest > 100000)
		return fm_error_set(err, FM_EINVAL,
				    "sample sizes must be in 1..100000");
	rc = fm_mkdirs(dir, err);
	if (rc)
		return rc;
	for (int s = 0; s < 2; s++) {
		unsigned char *buf = malloc((size_t)counts[s] * CIFAR_RECORD);

		if (!buf)
			return fm_error_set(err, FM_ENOMEM,
					    "out of memory for the sample");
		fm_rng_seed(&rng, seed, 0x5a3d1e00u + (uint64_t)s);
		for (int i = 0; i < counts[s]; i++)
			sample_image(&rng, i % 10,
				     buf + (size_t)i * CIFAR_RECORD);
		rc = write_atomic(dir, names[s], buf,
				  (size_t)counts[s] * CIFAR_RECORD, err);
		free(buf);
		if (rc)
			return rc;
	}
	return write_atomic(dir, "batches.meta.txt", meta, sizeof(meta) - 1,
			    err);
}
