/*
 * split.c — geo-split: the training and test sets, split by raster so no
 * scene has chips on both sides (chips of one scene overlap and look
 * alike: a split by chip would test on what was trained on), written in
 * the CIFAR-10 binary format fmnist-train reads (--dataset cifar10).
 *
 * Each chip becomes one record: its majority class, then three of its
 * bands box-averaged down to 32×32.  The split and the order of the
 * training records come from --seed alone.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo.h"

static const char usage[] =
"usage: geo-split [options] OUTDIR CHIPDIR...\n"
"\n"
"Read the chips of each CHIPDIR (a geo-chip output: chips.txt names its\n"
"scene and chips), put every chip of --test-frac of the scenes in the test\n"
"set and every chip of the others in the training set, and write OUTDIR:\n"
"  data_batch_1.bin  training records, shuffled\n"
"  test_batch.bin    test records\n"
"  batches.meta.txt  the class names, one per line, by class id\n"
"  split.txt         one line per scene: train|test SCENE CHIPS\n"
"A record is the CIFAR-10 one: 1 byte, the chip's majority class (the\n"
"class of most of its labelled pixels, the lowest id on a tie), then\n"
"3×32×32 bytes: the three --bands (8-bit, as geo-normalise writes them)\n"
"each averaged over 32×32 equal boxes, band by band, rows top to bottom.\n"
"Train with: fmnist-train --dataset cifar10 --data OUTDIR.\n"
"Prints train_scenes=N test_scenes=N train_chips=N test_chips=N.\n"
"\n"
"  --test-frac F   fraction of the scenes to test on, rounded, at least one\n"
"                  scene on each side (default 0.25)\n"
"  --seed N        which scenes are tested on, and the record order\n"
"                  (default 1)\n"
"  --bands A,B,C   the chip bands (from 1) of the three channels (default\n"
"                  1,2,3)\n"
"  --help\n"
"\n"
"Exit status: 0 done, 1 write failure, 2 bad options or input.\n";

#define SIDE 32
#define RECORD (1 + 3 * SIDE * SIDE)
#define CIFAR_CLASSES 10

struct chip {
	char *img, *label;	/* paths */
};

struct scene {
	char name[256];
	struct chip *chips;
	int n, cap;
	int test;
};

struct set {
	uint8_t *rec;
	size_t n, cap;
};

static struct scene *find_scene(struct scene **s, int *n, const char *name)
{
	struct scene *t;

	for (int i = 0; i < *n; i++)
		if (strcmp((*s)[i].name, name) == 0)
			return &(*s)[i];
	t = realloc(*s, (size_t)(*n + 1) * sizeof(**s));
	if (!t)
		return NULL;
	*s = t;
	t = &(*s)[(*n)++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	return t;
}

static char *join(const char *dir, const char *file)
{
	size_t n = strlen(dir) + strlen(file) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, file);
	return p;
}

/* Add the chips listed in dir/chips.txt to their scene. */
static int read_manifest(const char *dir, struct scene **s, int *ns,
			 struct geo_error *e)
{
	char path[4200], line[1200], a[520], b[520], name[256];
	struct scene *sc = NULL;
	FILE *f;
	int lineno = 0, rc = 0;

	snprintf(path, sizeof(path), "%s/chips.txt", dir);
	f = fopen(path, "r");
	if (!f)
		return geo_error_set(e, GEO_EXIT_BAD, "%s: cannot open: %m "
				     "(is %s a geo-chip output?)", path, dir);
	while (!rc && fgets(line, sizeof(line), f)) {
		lineno++;
		if (lineno == 1) {
			if (sscanf(line, "scene=%255s", name) != 1) {
				rc = geo_error_set(e, GEO_EXIT_BAD, "%s:1: no "
						   "scene=NAME", path);
				break;
			}
			sc = find_scene(s, ns, name);
			if (!sc)
				rc = geo_error_set(e, GEO_EXIT_IO, "out of "
						   "memory");
			continue;
		}
		if (sscanf(line, "%511s %511s", a, b) != 2) {
			rc = geo_error_set(e, GEO_EXIT_BAD, "%s:%d: want an "
					   "image and a label file", path,
					   lineno);
			break;
		}
		if (sc->n == sc->cap) {
			int cap = sc->cap ? sc->cap * 2 : 64;
			struct chip *t = realloc(sc->chips, cap * sizeof(*t));

			if (!t) {
				rc = geo_error_set(e, GEO_EXIT_IO, "out of "
						   "memory");
				break;
			}
			sc->chips = t;
			sc->cap = cap;
		}
		sc->chips[sc->n].img = join(dir, a);
		sc->chips[sc->n].label = join(dir, b);
		if (!sc->chips[sc->n].img || !sc->chips[sc->n].label) {
			free(sc->chips[sc->n].img);
			free(sc->chips[sc->n].label);
			rc = geo_error_set(e, GEO_EXIT_IO, "out of memory");
			break;
		}
		sc->n++;
	}
	if (!rc && lineno == 0)
		rc = geo_error_set(e, GEO_EXIT_BAD, "%s: empty", path);
	fclose(f);
	return rc;
}

/* Read a whole chip raster into memory. */
static int read_all(const char *path, struct geo_info *info, uint8_t **px,
		    struct geo_error *e)
{
	struct geo_reader r;
	size_t row;
	int rc;

	*px = NULL;
	rc = geo_reader_open(&r, path, e);
	if (rc)
		return rc;
	*info = r.info;
	row = geo_row_bytes(&r.info);
	*px = malloc(row * r.info.h);
	if (!*px)
		rc = geo_error_set(e, GEO_EXIT_IO, "out of memory for %s",
				   path);
	for (uint32_t y = 0; y < r.info.h && !rc; y++)
		rc = geo_read_row(&r, y, *px + y * row, e);
	geo_reader_close(&r);
	if (rc) {
		free(*px);
		*px = NULL;
	}
	return rc;
}

/* One chip as a CIFAR-10 record into rec. */
static int make_record(const struct chip *c, const long *bands,
		       uint8_t *rec, struct geo_error *e)
{
	struct geo_info ii, li;
	uint8_t *img = NULL, *lab = NULL;
	uint64_t count[256] = {0};
	int rc, best = -1;

	rc = read_all(c->img, &ii, &img, e);
	if (!rc)
		rc = read_all(c->label, &li, &lab, e);
	if (rc)
		goto out;
	if (ii.bits != 8) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "%s: %u-bit samples; "
				   "chip a normalised (8-bit) image", c->img,
				   ii.bits);
		goto out;
	}
	for (int k = 0; k < 3; k++) {
		if (bands[k] > ii.bands) {
			rc = geo_error_set(e, GEO_EXIT_BAD, "%s: has %u bands, "
					   "--bands asks for band %ld",
					   c->img, ii.bands, bands[k]);
			goto out;
		}
	}
	if (li.w != ii.w || li.h != ii.h || li.bands != 1 || li.bits != 8) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "%s: not a %u×%u 8-bit "
				   "label chip for %s", c->label, ii.w, ii.h,
				   c->img);
		goto out;
	}
	if (ii.w < SIDE || ii.h < SIDE) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "%s: %u×%u is smaller "
				   "than %d×%d", c->img, ii.w, ii.h, SIDE,
				   SIDE);
		goto out;
	}
	for (size_t i = 0; i < (size_t)li.w * li.h; i++)
		count[lab[i]]++;
	for (int k = 0; k < GEO_NODATA; k++)
		if (count[k] && (best < 0 || count[k] > count[best]))
			best = k;
	if (best < 0 || best >= CIFAR_CLASSES) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "%s: majority class %d "
				   "is not one of the CIFAR-10 format's 0..9",
				   c->label, best);
		goto out;
	}
	rec[0] = (uint8_t)best;
	/* box average: output pixel (i, j) averages source rows
	 * [i·h/32, (i+1)·h/32) and columns [j·w/32, (j+1)·w/32) */
	for (int k = 0; k < 3; k++) {
		int b = (int)bands[k] - 1;

		for (int i = 0; i < SIDE; i++) {
			uint32_t y0 = i * ii.h / SIDE, y1 = (i + 1) * ii.h / SIDE;

			for (int j = 0; j < SIDE; j++) {
				uint32_t x0 = j * ii.w / SIDE;
				uint32_t x1 = (j + 1) * ii.w / SIDE;
				uint64_t sum = 0, n = (uint64_t)(y1 - y0) *
						      (x1 - x0);

				for (uint32_t y = y0; y < y1; y++)
					for (uint32_t x = x0; x < x1; x++)
						sum += img[((size_t)y * ii.w +
							    x) * ii.bands + b];
				rec[1 + k * SIDE * SIDE + i * SIDE + j] =
					(uint8_t)((sum + n / 2) / n);
			}
		}
	}
out:
	free(img);
	free(lab);
	return rc;
}

static uint8_t *add_record(struct set *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		uint8_t *t = realloc(s->rec, cap * RECORD);

		if (!t)
			return NULL;
		s->rec = t;
		s->cap = cap;
	}
	return s->rec + s->n++ * RECORD;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct scene *)a)->name,
		      ((const struct scene *)b)->name);
}

static int write_outputs(const char *outdir, struct set *train,
			 struct set *test, struct scene *s, int ns,
			 struct geo_error *e)
{
	char path[4200], *text;
	size_t len = 0, cap = 64 + (size_t)ns * 300;
	int rc;

	rc = geo_mkdirs(outdir, e);
	if (rc)
		return rc;
	/* an earlier set's other batches would be read with this one */
	for (int i = 2; i <= 5; i++) {
		snprintf(path, sizeof(path), "%s/data_batch_%d.bin", outdir, i);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/data_batch_1.bin", outdir);
	rc = geo_write_file(path, train->rec, train->n * RECORD, e);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/test_batch.bin", outdir);
	rc = geo_write_file(path, test->rec, test->n * RECORD, e);
	if (rc)
		return rc;
	text = malloc(cap);
	if (!text)
		return geo_error_set(e, GEO_EXIT_IO, "out of memory");
	for (int c = 0; c < GEO_MAX_CLASSES; c++)
		len += (size_t)snprintf(text + len, cap - len, "%s\n",
					geo_classes[c].name);
	snprintf(path, sizeof(path), "%s/batches.meta.txt", outdir);
	rc = geo_write_file(path, text, len, e);
	len = 0;
	for (int i = 0; i < ns && !rc; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s %s %d\n",
					s[i].test ? "test" : "train",
					s[i].name, s[i].n);
	snprintf(path, sizeof(path), "%s/split.txt", outdir);
	if (!rc)
		rc = geo_write_file(path, text, len, e);
	free(text);
	return rc;
}

static int run(const char *outdir, char **dirs, int ndirs, double frac,
	       uint64_t seed, const long *bands, struct geo_error *e)
{
	struct scene *s = NULL;
	struct set train = {0}, test = {0};
	struct geo_rng rng;
	int ns = 0, ntest, rc = 0, *order = NULL, tscenes = 0;

	for (int i = 0; i < ndirs && !rc; i++)
		rc = read_manifest(dirs[i], &s, &ns, e);
	if (rc)
		goto out;
	if (ns < 2) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "%d scene(s) in the chip "
				   "directories; a split by raster needs two "
				   "or more", ns);
		goto out;
	}
	/* which scenes are tested on: a seeded shuffle of the sorted names,
	 * so the choice depends on the scenes and the seed, not the order
	 * of the arguments */
	qsort(s, (size_t)ns, sizeof(*s), by_name);
	ntest = (int)(frac * ns + 0.5);
	ntest = ntest < 1 ? 1 : ntest > ns - 1 ? ns - 1 : ntest;
	order = malloc((size_t)ns * sizeof(*order));
	if (!order) {
		rc = geo_error_set(e, GEO_EXIT_IO, "out of memory");
		goto out;
	}
	for (int i = 0; i < ns; i++)
		order[i] = i;
	geo_rng_seed(&rng, seed, 1);
	for (int i = ns - 1; i > 0; i--) {
		int j = (int)geo_rng_below(&rng, (uint32_t)i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < ntest; i++)
		s[order[i]].test = 1;

	for (int i = 0; i < ns && !rc; i++) {
		struct set *to = s[i].test ? &test : &train;

		tscenes += s[i].test;
		for (int k = 0; k < s[i].n && !rc; k++) {
			uint8_t *rec = add_record(to);

			rc = rec ? make_record(&s[i].chips[k], bands, rec, e) :
			     geo_error_set(e, GEO_EXIT_IO, "out of memory");
		}
	}
	if (rc)
		goto out;
	if (!train.n || !test.n) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "no chips to %s on: the "
				   "%s scenes kept no chips", train.n ?
				   "test" : "train", train.n ? "test" :
				   "training");
		goto out;
	}
	/* the trainer reads a prefix with --train-limit: mix the scenes */
	geo_rng_seed(&rng, seed, 2);
	for (size_t i = train.n - 1; i > 0; i--) {
		size_t j = geo_rng_below(&rng, (uint32_t)i + 1);
		uint8_t t[RECORD];

		memcpy(t, train.rec + i * RECORD, RECORD);
		memcpy(train.rec + i * RECORD, train.rec + j * RECORD, RECORD);
		memcpy(train.rec + j * RECORD, t, RECORD);
	}
	rc = write_outputs(outdir, &train, &test, s, ns, e);
	if (!rc)
		printf("train_scenes=%d test_scenes=%d train_chips=%zu "
		       "test_chips=%zu\n", ns - tscenes, tscenes, train.n,
		       test.n);
out:
	for (int i = 0; i < ns; i++) {
		for (int k = 0; k < s[i].n; k++) {
			free(s[i].chips[k].img);
			free(s[i].chips[k].label);
		}
		free(s[i].chips);
	}
	free(s);
	free(order);
	free(train.rec);
	free(test.rec);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"test-frac", required_argument, NULL, 'f'},
		{"seed", required_argument, NULL, 's'},
		{"bands", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	struct geo_error e = {0, ""};
	double frac = 0.25;
	long seed = 1, bands[3] = {1, 2, 3};
	int c, n, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			rc = geo_parse_double("--test-frac", optarg, 0, 1,
					      &frac, &e);
			break;
		case 's':
			rc = geo_parse_long("--seed", optarg, 0, 1L << 40,
					    &seed, &e);
			break;
		case 'b':
			rc = geo_parse_list("--bands", optarg, 1, 65535, bands,
					    3, &n, &e);
			if (!rc && n != 3)
				rc = geo_error_set(&e, GEO_EXIT_BAD, "--bands: "
						   "'%s' is not three bands",
						   optarg);
			break;
		case 'H':
			fputs(usage, stdout);
			return 0;
		default:
			rc = geo_bad_option("geo-split", argv, &e);
		}
		if (rc)
			return geo_fail("geo-split", &e);
	}
	if (argc - optind < 2) {
		geo_error_set(&e, GEO_EXIT_BAD, "want OUTDIR and one or more "
			      "CHIPDIR (see geo-split --help)");
		return geo_fail("geo-split", &e);
	}
	rc = run(argv[optind], argv + optind + 1, argc - optind - 1, frac,
		 (uint64_t)seed, bands, &e);
	if (rc)
		return geo_fail("geo-split", &e);
	return fflush(stdout) == 0 ? 0 : GEO_EXIT_IO;
}
