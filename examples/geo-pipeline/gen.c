/*
 * gen.c — geo-gen: a synthetic multi-band scene and its class mask, the
 * stand-in for a downloaded Sentinel-2 tile and its land-cover map.
 *
 * The land cover has two scales, so a chip of a few cells holds every
 * class but one dominates it: large Voronoi regions (5 × --cell) each
 * get a dominant class, small Voronoi cells (--cell) take their region's
 * dominant class with probability 0.55 and another class otherwise.  A
 * pixel's band values are its class's mean spectrum, times a gain and
 * plus an offset drawn per scene (what normalisation is for), plus
 * Gaussian noise.  Everything is drawn from --seed: the same options
 * write the same bytes.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo.h"

static const char usage[] =
"usage: geo-gen [options] IMAGE MASK\n"
"\n"
"Write a synthetic scene: IMAGE, --bands bands of 16-bit reflectance-like\n"
"values, and MASK, one 8-bit band of land-cover codes (80 water, 10\n"
"forest, 40 field, 50 urban, then 30 grass, 60 bare, 20 shrub, 90\n"
"wetland), both georeferenced (10 m pixels).  Prints the scene's class\n"
"fractions as name=value.\n"
"\n"
"  --seed N        random seed (default 1)\n"
"  --width N       pixels (default 600)\n"
"  --height N      pixels (default 600)\n"
"  --bands N       bands, 1..16 (default 4: blue, green, red, near infrared)\n"
"  --classes N     classes, 2..8 (default 4)\n"
"  --cell N        size of the small land-cover cells in pixels (default 40)\n"
"  --tile N        write N×N tiles (a multiple of 16) instead of strips\n"
"  --help\n"
"\n"
"Exit status: 0 done, 1 write failure, 2 bad options.\n";

/* Mean reflectance (0..10000) of the first four classes in the first
 * four bands (blue, green, red, near infrared); other classes and bands
 * are filled in by band_mean. */
static const double means[4][4] = {
	{600, 500, 300, 200},		/* water: dark, darkest in NIR */
	{300, 500, 300, 3000},		/* forest: bright NIR */
	{700, 900, 1100, 2200},		/* field */
	{1400, 1400, 1500, 1800},	/* urban: bright, flat */
};

static double band_mean(int c, int b)
{
	if (c < 4 && b < 4)
		return means[c][b];
	return 400.0 + (double)((c * 7 + b * 13) % 10) * 500.0;
}

/* Seeds of a Voronoi diagram, one jittered point per grid cell. */
struct voronoi {
	int pitch, gw, gh;
	double *x, *y;
	int *cls;
};

static int voronoi_new(struct voronoi *v, int pitch, uint32_t w, uint32_t h,
		       struct geo_rng *rng)
{
	v->pitch = pitch;
	v->gw = (int)(w / (uint32_t)pitch) + 1;
	v->gh = (int)(h / (uint32_t)pitch) + 1;
	v->x = malloc((size_t)v->gw * v->gh * sizeof(double));
	v->y = malloc((size_t)v->gw * v->gh * sizeof(double));
	v->cls = malloc((size_t)v->gw * v->gh * sizeof(int));
	if (!v->x || !v->y || !v->cls)
		return -1;
	for (int j = 0; j < v->gh; j++) {
		for (int i = 0; i < v->gw; i++) {
			v->x[j * v->gw + i] = (i + geo_rng_uniform(rng)) * pitch;
			v->y[j * v->gw + i] = (j + geo_rng_uniform(rng)) * pitch;
		}
	}
	return 0;
}

static void voronoi_free(struct voronoi *v)
{
	free(v->x);
	free(v->y);
	free(v->cls);
}

/* Index of the seed nearest to (x, y).  Seeds are jittered within their
 * grid cell, so the nearest lies within two cells. */
static int nearest(const struct voronoi *v, double x, double y)
{
	int gi = (int)(x / v->pitch), gj = (int)(y / v->pitch), best = -1;
	double bd = 0.0;

	for (int j = gj - 2; j <= gj + 2; j++) {
		for (int i = gi - 2; i <= gi + 2; i++) {
			int k = j * v->gw + i;
			double dx, dy, d;

			if (i < 0 || j < 0 || i >= v->gw || j >= v->gh)
				continue;
			dx = v->x[k] - x;
			dy = v->y[k] - y;
			d = dx * dx + dy * dy;
			if (best < 0 || d < bd) {
				best = k;
				bd = d;
			}
		}
	}
	return best;
}

struct opts {
	long seed, width, height, bands, classes, cell, tile;
};

static int parse(int argc, char **argv, struct opts *o, struct geo_error *e)
{
	static const struct option longopts[] = {
		{"seed", required_argument, NULL, 's'},
		{"width", required_argument, NULL, 'w'},
		{"height", required_argument, NULL, 'h'},
		{"bands", required_argument, NULL, 'b'},
		{"classes", required_argument, NULL, 'k'},
		{"cell", required_argument, NULL, 'c'},
		{"tile", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	int c, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			rc = geo_parse_long("--seed", optarg, 0, 1L << 40,
					    &o->seed, e);
			break;
		case 'w':
			rc = geo_parse_long("--width", optarg, 1, 100000,
					    &o->width, e);
			break;
		case 'h':
			rc = geo_parse_long("--height", optarg, 1, 100000,
					    &o->height, e);
			break;
		case 'b':
			rc = geo_parse_long("--bands", optarg, 1, 16,
					    &o->bands, e);
			break;
		case 'k':
			rc = geo_parse_long("--classes", optarg, 2,
					    GEO_MAX_CLASSES, &o->classes, e);
			break;
		case 'c':
			rc = geo_parse_long("--cell", optarg, 2, 10000,
					    &o->cell, e);
			break;
		case 't':
			rc = geo_parse_long("--tile", optarg, 16, 4096,
					    &o->tile, e);
			if (!rc && o->tile % 16)
				rc = geo_error_set(e, GEO_EXIT_BAD, "--tile: "
						   "%ld is not a multiple of "
						   "16", o->tile);
			break;
		case 'H':
			fputs(usage, stdout);
			return -1;
		default:
			return geo_bad_option("geo-gen", argv, e);
		}
		if (rc)
			return rc;
	}
	if (argc - optind != 2)
		return geo_error_set(e, GEO_EXIT_BAD, "want IMAGE and MASK "
				     "(see geo-gen --help)");
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {1, 600, 600, 4, 4, 40, 0};
	struct geo_error e = {0, ""};
	struct geo_info ii, mi;
	struct geo_writer wi, wm;
	struct voronoi big = {0}, small = {0};
	struct geo_rng rng;
	uint16_t *row = NULL;
	uint8_t *mrow = NULL;
	double gain, offset, count[GEO_MAX_CLASSES] = {0};
	int rc;

	rc = parse(argc, argv, &o, &e);
	if (rc < 0)
		return 0;
	if (rc)
		return geo_fail("geo-gen", &e);

	/* the scene: regions, cells, gain and offset */
	geo_rng_seed(&rng, (uint64_t)o.seed, 1);
	if (voronoi_new(&big, (int)o.cell * 5, (uint32_t)o.width,
			(uint32_t)o.height, &rng) ||
	    voronoi_new(&small, (int)o.cell, (uint32_t)o.width,
			(uint32_t)o.height, &rng)) {
		geo_error_set(&e, GEO_EXIT_IO, "out of memory");
		goto out;
	}
	for (int k = 0; k < big.gw * big.gh; k++)
		big.cls[k] = (int)geo_rng_below(&rng, (uint32_t)o.classes);
	for (int k = 0; k < small.gw * small.gh; k++) {
		int dom = big.cls[nearest(&big, small.x[k], small.y[k])];
		int other = (int)geo_rng_below(&rng, (uint32_t)o.classes - 1);

		small.cls[k] = geo_rng_uniform(&rng) < 0.55 ? dom :
			       other < dom ? other : other + 1;
	}
	gain = 0.8 + 0.4 * geo_rng_uniform(&rng);
	offset = 300.0 * geo_rng_uniform(&rng);

	memset(&ii, 0, sizeof(ii));
	ii.w = (uint32_t)o.width;
	ii.h = (uint32_t)o.height;
	ii.bands = (uint16_t)o.bands;
	ii.bits = 16;
	ii.has_geo = 1;
	ii.scale[0] = ii.scale[1] = 10.0;
	ii.tie[3] = 300000.0 + 10000.0 * (double)(o.seed % 50);
	ii.tie[4] = 5000000.0;
	mi = ii;
	mi.bands = 1;
	mi.bits = 8;
	row = malloc(geo_row_bytes(&ii));
	mrow = malloc(geo_row_bytes(&mi));
	if (!row || !mrow) {
		geo_error_set(&e, GEO_EXIT_IO, "out of memory");
		goto out;
	}
	rc = geo_writer_open(&wi, argv[optind], &ii, (uint32_t)o.tile, &e);
	if (rc)
		goto out;
	rc = geo_writer_open(&wm, argv[optind + 1], &mi, (uint32_t)o.tile, &e);
	if (rc) {
		geo_writer_abort(&wi);
		goto out;
	}
	geo_rng_seed(&rng, (uint64_t)o.seed, 2);
	for (uint32_t y = 0; y < ii.h && !rc; y++) {
		for (uint32_t x = 0; x < ii.w; x++) {
			int c = small.cls[nearest(&small, x + 0.5, y + 0.5)];

			mrow[x] = (uint8_t)geo_classes[c].code;
			count[c]++;
			for (int b = 0; b < ii.bands; b++) {
				double v = gain * band_mean(c, b) + offset +
					   120.0 * geo_rng_normal(&rng);

				v = v < 0.0 ? 0.0 : v > 65535.0 ? 65535.0 : v;
				row[x * ii.bands + b] = (uint16_t)lround(v);
			}
		}
		rc = geo_write_row(&wi, row, &e);
		if (!rc)
			rc = geo_write_row(&wm, mrow, &e);
	}
	if (!rc)
		rc = geo_writer_commit(&wi, &e);
	else
		geo_writer_abort(&wi);
	if (!rc) {
		rc = geo_writer_commit(&wm, &e);
		if (rc)
			unlink(argv[optind]);	/* both or neither */
	} else {
		geo_writer_abort(&wm);
	}
	if (rc)
		goto out;
	for (int c = 0; c < o.classes; c++)
		printf("%s%s=%.4f", c ? " " : "", geo_classes[c].name,
		       count[c] / ((double)ii.w * ii.h));
	printf("\n");
out:
	voronoi_free(&big);
	voronoi_free(&small);
	free(row);
	free(mrow);
	if (e.code)
		return geo_fail("geo-gen", &e);
	return fflush(stdout) == 0 ? 0 : GEO_EXIT_IO;
}
