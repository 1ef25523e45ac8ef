/*
 * normalise.c — geo-normalise: stretch each band of a raster between its
 * 1st and 99th percentile into 8 bits, as seed 001 prepares Sentinel-2
 * tiles before labelling and chipping.
 *
 * Two passes over the input, a block row at a time: the first counts
 * every band's values in a histogram (exact percentiles, memory
 * independent of the raster's size), the second maps and writes.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"

static const char usage[] =
"usage: geo-normalise [options] IN OUT\n"
"\n"
"Write OUT: IN with every band mapped linearly from [its --low percentile,\n"
"its --high percentile] to 0..255 as 8-bit unsigned integers, values\n"
"outside clipped (a band whose two percentiles are equal becomes 0).  The\n"
"p-th percentile is the nearest-rank one: the smallest value v such that\n"
"at least p% of the band's pixels are <= v.  IN is 8- or 16-bit unsigned;\n"
"OUT keeps its size, bands, georeferencing and tiling.  Prints each band's\n"
"percentiles as bN_low=V bN_high=V.\n"
"\n"
"  --low P     lower percentile (default 1)\n"
"  --high P    upper percentile (default 99)\n"
"  --help\n"
"\n"
"Exit status: 0 done, 1 write failure, 2 bad options or input.\n";

/* Nearest-rank percentile of a histogram of n values. */
static uint32_t percentile(const uint64_t *hist, uint32_t nbins, uint64_t n,
			   double p)
{
	uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)n), seen = 0;

	if (rank < 1)
		rank = 1;
	for (uint32_t v = 0; v < nbins; v++) {
		seen += hist[v];
		if (seen >= rank)
			return v;
	}
	return nbins - 1;
}

static int run(const char *in, const char *out, double plo, double phi,
	       struct geo_error *e)
{
	struct geo_reader r;
	struct geo_writer w;
	struct geo_info oi;
	uint32_t nbins, *lo = NULL, *hi = NULL;
	uint64_t *hist = NULL;
	uint8_t *row = NULL, *orow = NULL;
	int rc, bands;

	rc = geo_reader_open(&r, in, e);
	if (rc)
		return rc;
	bands = r.info.bands;
	nbins = 1u << r.info.bits;
	hist = calloc((size_t)bands * nbins, sizeof(*hist));
	lo = malloc(bands * sizeof(*lo));
	hi = malloc(bands * sizeof(*hi));
	row = malloc(geo_row_bytes(&r.info));
	orow = malloc((size_t)r.info.w * bands);
	if (!hist || !lo || !hi || !row || !orow) {
		rc = geo_error_set(e, GEO_EXIT_IO, "out of memory for %s", in);
		goto out;
	}
	for (uint32_t y = 0; y < r.info.h; y++) {
		rc = geo_read_row(&r, y, row, e);
		if (rc)
			goto out;
		for (size_t i = 0; i < (size_t)r.info.w * bands; i++) {
			uint32_t v = r.info.bits == 16 ?
				     ((uint16_t *)row)[i] : row[i];

			hist[(i % bands) * nbins + v]++;
		}
	}
	for (int b = 0; b < bands; b++) {
		const uint64_t n = (uint64_t)r.info.w * r.info.h;

		lo[b] = percentile(hist + (size_t)b * nbins, nbins, n, plo);
		hi[b] = percentile(hist + (size_t)b * nbins, nbins, n, phi);
		printf("%sb%d_low=%u b%d_high=%u", b ? " " : "", b + 1, lo[b],
		       b + 1, hi[b]);
	}
	printf("\n");

	oi = r.info;
	oi.bits = 8;
	rc = geo_writer_open(&w, out, &oi, r.tiled && r.block_w == r.block_h &&
			     r.block_w % 16 == 0 ? r.block_w : 0, e);
	if (rc)
		goto out;
	for (uint32_t y = 0; y < r.info.h && !rc; y++) {
		rc = geo_read_row(&r, y, row, e);
		for (size_t i = 0; i < (size_t)r.info.w * bands && !rc; i++) {
			uint32_t v = r.info.bits == 16 ?
				     ((uint16_t *)row)[i] : row[i];
			int b = (int)(i % bands);
			double s;

			if (hi[b] == lo[b])
				s = 0.0;
			else
				s = ((double)v - lo[b]) / (hi[b] - lo[b]);
			s = s < 0.0 ? 0.0 : s > 1.0 ? 1.0 : s;
			orow[i] = (uint8_t)lround(s * 255.0);
		}
		if (!rc)
			rc = geo_write_row(&w, orow, e);
	}
	if (rc)
		geo_writer_abort(&w);
	else
		rc = geo_writer_commit(&w, e);
out:
	geo_reader_close(&r);
	free(hist);
	free(lo);
	free(hi);
	free(row);
	free(orow);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"low", required_argument, NULL, 'l'},
		{"high", required_argument, NULL, 'h'},
		{"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	struct geo_error e = {0, ""};
	double plo = 1.0, phi = 99.0;
	int c, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			rc = geo_parse_double("--low", optarg, 0, 100, &plo, &e);
			break;
		case 'h':
			rc = geo_parse_double("--high", optarg, 0, 100, &phi,
					      &e);
			break;
		case 'H':
			fputs(usage, stdout);
			return 0;
		default:
			rc = geo_bad_option("geo-normalise", argv, &e);
		}
		if (rc)
			return geo_fail("geo-normalise", &e);
	}
	if (plo >= phi) {
		geo_error_set(&e, GEO_EXIT_BAD, "--low %g is not below --high "
			      "%g", plo, phi);
		return geo_fail("geo-normalise", &e);
	}
	if (argc - optind != 2) {
		geo_error_set(&e, GEO_EXIT_BAD, "want IN and OUT (see "
			      "geo-normalise --help)");
		return geo_fail("geo-normalise", &e);
	}
	rc = run(argv[optind], argv[optind + 1], plo, phi, &e);
	if (rc)
		return geo_fail("geo-normalise", &e);
	return fflush(stdout) == 0 ? 0 : GEO_EXIT_IO;
}
