/*
 * label.c — geo-label: the label raster of a scene, from its land-cover
 * mask: mask codes mapped to class ids 0, 1, 2 … (what a classifier
 * trains on), nodata to 255.  The image is read only to check that the
 * mask covers it pixel for pixel.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"

static const char usage[] =
"usage: geo-label [options] IMAGE MASK OUT\n"
"\n"
"Write OUT, one 8-bit band: the class id of each pixel of MASK (one 8- or\n"
"16-bit band, the size of IMAGE and, when both are georeferenced, on the\n"
"same grid), or 255 where MASK holds the nodata code.  A mask value that\n"
"is neither mapped nor nodata is an error.  Prints the fraction of the\n"
"pixels in each class as classN=F and nodata=F.\n"
"\n"
"  --map CODE:ID,...  mask code to class id, ids 0..254 (default\n"
"                     80:0,10:1,40:2,50:3,30:4,60:5,20:6,90:7: water,\n"
"                     forest, field, urban, grass, bare, shrub, wetland as\n"
"                     geo-gen writes them)\n"
"  --nodata CODE      mask code of pixels with no class (default 0)\n"
"  --help\n"
"\n"
"Exit status: 0 done, 1 write failure, 2 bad options or input.\n";

#define NCODES 65536

static int parse_map(const char *s, int16_t *lut, struct geo_error *e)
{
	const char *p = s;

	for (int i = 0; i < NCODES; i++)
		lut[i] = -1;
	for (;;) {
		char *end;
		long code, id;

		code = strtol(p, &end, 10);
		if (end == p || *end != ':' || code < 0 || code >= NCODES)
			goto bad;
		p = end + 1;
		id = strtol(p, &end, 10);
		if (end == p || (*end != ',' && *end) || id < 0 ||
		    id >= GEO_NODATA)
			goto bad;
		lut[code] = (int16_t)id;
		if (!*end)
			return 0;
		p = end + 1;
	}
bad:
	return geo_error_set(e, GEO_EXIT_BAD, "--map: '%s' is not a list of "
			     "CODE:ID with codes 0..65535 and ids 0..254", s);
}

static int same_grid(const struct geo_info *a, const struct geo_info *b)
{
	if (!a->has_geo || !b->has_geo)
		return 1;
	return memcmp(a->scale, b->scale, sizeof(a->scale)) == 0 &&
	       memcmp(a->tie, b->tie, sizeof(a->tie)) == 0;
}

static int run(const char *img, const char *mask, const char *out,
	       const int16_t *lut, long nodata, struct geo_error *e)
{
	struct geo_reader ri, rm;
	struct geo_writer w;
	struct geo_info oi;
	uint64_t count[GEO_NODATA + 1] = {0};
	uint8_t *row = NULL, *orow = NULL;
	int rc;

	rc = geo_reader_open(&ri, img, e);
	if (rc)
		return rc;
	geo_reader_close(&ri);	/* its size and grid are all we need */
	rc = geo_reader_open(&rm, mask, e);
	if (rc)
		return rc;
	if (rm.info.bands != 1) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "%s: %u bands; a mask has "
				   "one", mask, rm.info.bands);
		goto out;
	}
	if (rm.info.w != ri.info.w || rm.info.h != ri.info.h) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "%s: %u×%u pixels but the "
				   "image %s has %u×%u", mask, rm.info.w,
				   rm.info.h, img, ri.info.w, ri.info.h);
		goto out;
	}
	if (!same_grid(&ri.info, &rm.info)) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "%s: georeferenced on "
				   "another grid than the image %s", mask,
				   img);
		goto out;
	}
	oi = rm.info;
	oi.bits = 8;
	if (!oi.has_geo)
		geo_info_window(&ri.info, 0, 0, oi.w, oi.h, &oi);
	row = malloc(geo_row_bytes(&rm.info));
	orow = malloc(oi.w);
	if (!row || !orow) {
		rc = geo_error_set(e, GEO_EXIT_IO, "out of memory");
		goto out;
	}
	rc = geo_writer_open(&w, out, &oi, 0, e);
	if (rc)
		goto out;
	for (uint32_t y = 0; y < oi.h && !rc; y++) {
		rc = geo_read_row(&rm, y, row, e);
		for (uint32_t x = 0; x < oi.w && !rc; x++) {
			uint32_t v = rm.info.bits == 16 ?
				     ((uint16_t *)row)[x] : row[x];

			if ((long)v == nodata)
				orow[x] = GEO_NODATA;
			else if (lut[v] >= 0)
				orow[x] = (uint8_t)lut[v];
			else
				rc = geo_error_set(e, GEO_EXIT_BAD, "%s: "
						   "value %u at x=%u y=%u is "
						   "not in --map and not the "
						   "nodata code %ld", mask, v,
						   x, y, nodata);
			if (!rc)
				count[orow[x]]++;
		}
		if (!rc)
			rc = geo_write_row(&w, orow, e);
	}
	if (rc) {
		geo_writer_abort(&w);
		goto out;
	}
	rc = geo_writer_commit(&w, e);
	if (rc)
		goto out;
	for (int id = 0; id < GEO_NODATA; id++)
		if (count[id])
			printf("class%d=%.4f ", id,
			       count[id] / ((double)oi.w * oi.h));
	printf("nodata=%.4f\n", count[GEO_NODATA] / ((double)oi.w * oi.h));
out:
	geo_reader_close(&rm);
	free(row);
	free(orow);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"map", required_argument, NULL, 'm'},
		{"nodata", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	static int16_t lut[NCODES];
	struct geo_error e = {0, ""};
	const char *map = NULL;
	long nodata = 0;
	int c, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			map = optarg;
			break;
		case 'n':
			rc = geo_parse_long("--nodata", optarg, 0, NCODES - 1,
					    &nodata, &e);
			break;
		case 'H':
			fputs(usage, stdout);
			return 0;
		default:
			rc = geo_bad_option("geo-label", argv, &e);
		}
		if (rc)
			return geo_fail("geo-label", &e);
	}
	if (map) {
		rc = parse_map(map, lut, &e);
	} else {
		for (int i = 0; i < NCODES; i++)
			lut[i] = -1;
		for (int i = 0; i < GEO_MAX_CLASSES; i++)
			lut[geo_classes[i].code] = (int16_t)i;
	}
	if (!rc && argc - optind != 3)
		rc = geo_error_set(&e, GEO_EXIT_BAD, "want IMAGE, MASK and "
				   "OUT (see geo-label --help)");
	if (!rc)
		rc = run(argv[optind], argv[optind + 1], argv[optind + 2], lut,
			 nodata, &e);
	if (rc)
		return geo_fail("geo-label", &e);
	return fflush(stdout) == 0 ? 0 : GEO_EXIT_IO;
}
