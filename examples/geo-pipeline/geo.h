/*
 * geo.h — what the geo-pipeline stage programs share: reading and writing
 * GeoTIFF-like rasters with libtiff, errors that name the file, output
 * that appears whole or not at all, option parsing and a seeded random
 * stream.
 *
 * Rasters here are 8- or 16-bit unsigned integer, 1 to 256 bands
 * interleaved per pixel (PLANARCONFIG_CONTIG), striped or tiled, any
 * compression libtiff decodes.  Georeferencing is carried by the two
 * GeoTIFF tags ModelPixelScale (33550) and ModelTiepoint (33922), which
 * are read, written and copied through (the GeoKey directory is not).
 *
 * Errors: a function returns 0, or the exit status the program should end
 * with (GEO_EXIT_BAD for bad input, GEO_EXIT_IO for a failed write) with
 * a message in a struct geo_error.  Only main prints and exits.
 */
#ifndef GEO_H
#define GEO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum geo_exit {
	GEO_EXIT_OK = 0,
	GEO_EXIT_IO = 1,	/* reading or writing failed midway */
	GEO_EXIT_BAD = 2,	/* bad options or input files */
};

struct geo_error {
	int code;
	char msg[1024];
};

int geo_error_set(struct geo_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct geo_info {
	uint32_t w, h;
	uint16_t bands;		/* samples per pixel */
	uint16_t bits;		/* 8 or 16 */
	int has_geo;		/* scale and tie are meaningful */
	double scale[3];	/* model units per pixel: x, y, z */
	double tie[6];		/* raster (i, j, k) ↔ model (x, y, z) */
};

/* Bytes of one row of a raster. */
size_t geo_row_bytes(const struct geo_info *in);

/*
 * The georeferencing of the w×h window at (x0, y0) of a raster: the same
 * pixel scale, the tie point moved to the window's corner.
 */
void geo_info_window(const struct geo_info *in, uint32_t x0, uint32_t y0,
		     uint32_t w, uint32_t h, struct geo_info *out);

/*
 * A raster open for reading rows in any order.  A strip or tile row is
 * decoded once and kept while rows from it are read, so reading top to
 * bottom decodes every block once and holds one block row in memory.
 */
struct geo_reader {
	const char *path;
	struct geo_info info;
	void *tif;		/* TIFF * */
	int tiled;
	uint32_t block_w, block_h;	/* tile, or whole width × rows/strip */
	uint8_t *cache;		/* block_h rows of the full width */
	uint8_t *tile;		/* one tile, when tiled */
	int64_t cached;		/* first row in cache, -1: none */
};

/* Open path (kept by pointer: it must outlive the reader). */
int geo_reader_open(struct geo_reader *r, const char *path,
		    struct geo_error *e);
/* Copy row y (geo_row_bytes bytes) into buf. */
int geo_read_row(struct geo_reader *r, uint32_t y, void *buf,
		 struct geo_error *e);
void geo_reader_close(struct geo_reader *r);

/*
 * A raster being written, top row first, to PATH.tmp.PID; commit
 * renames it over PATH, abort removes it, so PATH is never seen half
 * written.  tile 0 writes strips, else tile×tile tiles (a multiple of
 * 16).  Deflate-compressed.
 */
struct geo_writer {
	const char *path;
	char tmp[4200];
	struct geo_info info;
	void *tif;
	uint32_t tile, block_h, next;	/* next: rows written */
	uint8_t *block, *tilebuf;
};

int geo_writer_open(struct geo_writer *w, const char *path,
		    const struct geo_info *info, uint32_t tile,
		    struct geo_error *e);
int geo_write_row(struct geo_writer *w, const void *row,
		  struct geo_error *e);
/* Every row must have been written. */
int geo_writer_commit(struct geo_writer *w, struct geo_error *e);
void geo_writer_abort(struct geo_writer *w);

/* A whole file written through PATH.tmp.PID and renamed. */
int geo_write_file(const char *path, const void *buf, size_t len,
		   struct geo_error *e);

/* mkdir -p */
int geo_mkdirs(const char *path, struct geo_error *e);
/* rm -r of a directory of plain files (no subdirectories). */
int geo_rmdir_files(const char *path, struct geo_error *e);

/* The file name of path without its directory and last extension. */
void geo_stem(const char *path, char *out, size_t len);

/* Option values: a whole integer or number within [min, max]; else
 * GEO_EXIT_BAD with a message naming the option. */
int geo_parse_long(const char *opt, const char *s, long min, long max,
		   long *out, struct geo_error *e);
int geo_parse_double(const char *opt, const char *s, double min, double max,
		     double *out, struct geo_error *e);
/* A comma-separated list of at most max integers in [min, max_val]. */
int geo_parse_list(const char *opt, const char *s, long min, long max_val,
		   long *out, int max, int *n, struct geo_error *e);

/*
 * The error of an option getopt_long refused (it returned '?', with
 * opterr 0): "--opt: needs a value" or "bad option '--opt'", both
 * pointing at PROG --help.  GEO_EXIT_BAD.
 */
int geo_bad_option(const char *prog, char **argv, struct geo_error *e);

/* splitmix64: the one random stream of geo-gen and geo-split. */
struct geo_rng {
	uint64_t s;
};

void geo_rng_seed(struct geo_rng *r, uint64_t seed, uint64_t stream);
uint64_t geo_rng_next(struct geo_rng *r);
double geo_rng_uniform(struct geo_rng *r);	/* [0, 1) */
double geo_rng_normal(struct geo_rng *r);	/* N(0, 1) */
uint32_t geo_rng_below(struct geo_rng *r, uint32_t n);	/* [0, n) */

/* The classes of the pipeline: mask code (ESA WorldCover) and name, in
 * class id order.  geo-gen writes these codes, geo-label maps them to
 * ids by default, geo-split names the classes with them. */
#define GEO_MAX_CLASSES 8
struct geo_class {
	int code;
	const char *name;
};
extern const struct geo_class geo_classes[GEO_MAX_CLASSES];

/* Label value of a pixel with no class. */
#define GEO_NODATA 255

/* Print "PROG: error: MSG" and return e->code. */
int geo_fail(const char *prog, const struct geo_error *e);

#endif
