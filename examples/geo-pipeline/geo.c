/*
 * geo.c — raster I/O on libtiff and the small helpers every geo-pipeline
 * program uses.  See geo.h.
 */
#include "geo.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#define TAG_PIXEL_SCALE 33550
#define TAG_TIEPOINT 33922

const struct geo_class geo_classes[GEO_MAX_CLASSES] = {
	{80, "water"}, {10, "forest"}, {40, "field"}, {50, "urban"},
	{30, "grass"}, {60, "bare"}, {20, "shrub"}, {90, "wetland"},
};

int geo_error_set(struct geo_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int geo_fail(const char *prog, const struct geo_error *e)
{
	fprintf(stderr, "%s: error: %s\n", prog, e->msg);
	return e->code ? e->code : GEO_EXIT_IO;
}

/* --- libtiff setup --------------------------------------------------- */

/* libtiff reports through a global handler; keep its last message so our
 * own message can name the file and add libtiff's reason. */
static char tiff_msg[512];

static void tiff_error(const char *module, const char *fmt, va_list ap)
{
	vsnprintf(tiff_msg, sizeof(tiff_msg), fmt, ap);
}

static void tiff_warning(const char *module, const char *fmt, va_list ap)
{
	/* unknown private tags and the like: not the user's problem */
}

static TIFFExtendProc parent_extender;

static const TIFFFieldInfo geo_fields[] = {
	{TAG_PIXEL_SCALE, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
	 "ModelPixelScaleTag"},
	{TAG_TIEPOINT, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
	 "ModelTiepointTag"},
};

static void geo_extender(TIFF *tif)
{
	TIFFMergeFieldInfo(tif, geo_fields,
			   sizeof(geo_fields) / sizeof(geo_fields[0]));
	if (parent_extender)
		parent_extender(tif);
}

static void tiff_setup(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	TIFFSetErrorHandler(tiff_error);
	TIFFSetWarningHandler(tiff_warning);
	parent_extender = TIFFSetTagExtender(geo_extender);
}

/* --- reading --------------------------------------------------------- */

size_t geo_row_bytes(const struct geo_info *in)
{
	return (size_t)in->w * in->bands * (in->bits / 8);
}

void geo_info_window(const struct geo_info *in, uint32_t x0, uint32_t y0,
		     uint32_t w, uint32_t h, struct geo_info *out)
{
	*out = *in;
	out->w = w;
	out->h = h;
	if (!in->has_geo)
		return;
	/* the model point of the window's corner, from the raster's tie */
	out->tie[0] = 0.0;
	out->tie[1] = 0.0;
	out->tie[3] = in->tie[3] + ((double)x0 - in->tie[0]) * in->scale[0];
	out->tie[4] = in->tie[4] - ((double)y0 - in->tie[1]) * in->scale[1];
}

static void read_geo_tags(TIFF *tif, struct geo_info *in)
{
	uint16_t n1 = 0, n2 = 0;
	double *scale = NULL, *tie = NULL;

	if (TIFFGetField(tif, TAG_PIXEL_SCALE, &n1, &scale) && n1 >= 2 &&
	    TIFFGetField(tif, TAG_TIEPOINT, &n2, &tie) && n2 >= 6) {
		in->has_geo = 1;
		for (int i = 0; i < 3; i++)
			in->scale[i] = i < n1 ? scale[i] : 0.0;
		memcpy(in->tie, tie, sizeof(in->tie));
	}
}

int geo_reader_open(struct geo_reader *r, const char *path,
		    struct geo_error *e)
{
	uint16_t planar = PLANARCONFIG_CONTIG, fmt = SAMPLEFORMAT_UINT;
	uint32_t rps = 0;
	struct stat st;
	TIFF *tif;

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->cached = -1;
	tiff_setup();
	if (stat(path, &st) != 0)
		return geo_error_set(e, GEO_EXIT_BAD, "%s: cannot open: %s",
				     path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return geo_error_set(e, GEO_EXIT_BAD, "%s: not a file", path);
	tiff_msg[0] = '\0';
	tif = TIFFOpen(path, "r");
	if (!tif)
		return geo_error_set(e, GEO_EXIT_BAD, "%s: not a TIFF file "
				     "(libtiff: %s)", path, tiff_msg);
	r->tif = tif;
	TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &r->info.w);
	TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &r->info.h);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &r->info.bands);
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &r->info.bits);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
	read_geo_tags(tif, &r->info);
	if (r->info.w == 0 || r->info.h == 0 || r->info.bands == 0) {
		geo_error_set(e, GEO_EXIT_BAD, "%s: empty raster (%u×%u, %u "
			      "bands)", path, r->info.w, r->info.h,
			      r->info.bands);
		goto fail;
	}
	if ((r->info.bits != 8 && r->info.bits != 16) ||
	    fmt != SAMPLEFORMAT_UINT) {
		geo_error_set(e, GEO_EXIT_BAD, "%s: %u-bit samples of format "
			      "%u; only 8- and 16-bit unsigned integers are "
			      "read", path, r->info.bits, fmt);
		goto fail;
	}
	if (r->info.bands > 256) {
		geo_error_set(e, GEO_EXIT_BAD, "%s: %u bands; at most 256 are "
			      "read", path, r->info.bands);
		goto fail;
	}
	if (planar != PLANARCONFIG_CONTIG && r->info.bands > 1) {
		geo_error_set(e, GEO_EXIT_BAD, "%s: bands are stored as "
			      "separate planes; only pixel-interleaved "
			      "rasters are read (gdal_translate -co "
			      "INTERLEAVE=PIXEL converts)", path);
		goto fail;
	}
	r->tiled = TIFFIsTiled(tif);
	if (r->tiled) {
		TIFFGetField(tif, TIFFTAG_TILEWIDTH, &r->block_w);
		TIFFGetField(tif, TIFFTAG_TILELENGTH, &r->block_h);
		if (r->block_w == 0 || r->block_h == 0)
			goto nomem;
		/* rows are copied out of the tile by this size: a tile that
		 * decodes to anything else (subsampled colour) is refused */
		if ((uint64_t)TIFFTileSize64(tif) != (uint64_t)r->block_w *
		    r->block_h * r->info.bands * (r->info.bits / 8)) {
			geo_error_set(e, GEO_EXIT_BAD, "%s: tiles of %u×%u "
				      "pixels do not decode to %u bands of "
				      "%u bits", path, r->block_w, r->block_h,
				      r->info.bands, r->info.bits);
			goto fail;
		}
		r->tile = malloc((size_t)TIFFTileSize64(tif));
		if (!r->tile)
			goto nomem;
	} else {
		TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
		r->block_w = r->info.w;
		r->block_h = rps == 0 || rps > r->info.h ? r->info.h : rps;
	}
	if (r->block_h == 0)
		goto nomem;
	r->cache = malloc(geo_row_bytes(&r->info) * r->block_h);
	if (!r->cache)
		goto nomem;
	return 0;
nomem:
	geo_error_set(e, GEO_EXIT_BAD, "%s: cannot hold a block of %u×%u "
		      "pixels", path, r->block_w, r->block_h);
fail:
	geo_reader_close(r);
	return e->code;
}

/* Decode the block row holding row y into the cache. */
static int load_block(struct geo_reader *r, uint32_t y, struct geo_error *e)
{
	TIFF *tif = r->tif;
	const size_t px = (size_t)r->info.bands * (r->info.bits / 8);
	const size_t row = geo_row_bytes(&r->info);
	uint32_t y0 = y / r->block_h * r->block_h;
	uint32_t rows = r->info.h - y0 < r->block_h ? r->info.h - y0 :
						      r->block_h;

	tiff_msg[0] = '\0';
	if (!r->tiled) {
		tstrip_t s = TIFFComputeStrip(tif, y0, 0);

		if (TIFFReadEncodedStrip(tif, s, r->cache, row * rows) < 0)
			goto bad;
	} else {
		for (uint32_t x0 = 0; x0 < r->info.w; x0 += r->block_w) {
			uint32_t cols = r->info.w - x0 < r->block_w ?
					r->info.w - x0 : r->block_w;

			if (TIFFReadTile(tif, r->tile, x0, y0, 0, 0) < 0)
				goto bad;
			for (uint32_t i = 0; i < rows; i++)
				memcpy(r->cache + i * row + x0 * px,
				       r->tile + (size_t)i * r->block_w * px,
				       cols * px);
		}
	}
	r->cached = y0;
	return 0;
bad:
	r->cached = -1;
	return geo_error_set(e, GEO_EXIT_BAD, "%s: cannot decode rows from "
			     "%u (libtiff: %s)", r->path, y0, tiff_msg);
}

int geo_read_row(struct geo_reader *r, uint32_t y, void *buf,
		 struct geo_error *e)
{
	const size_t row = geo_row_bytes(&r->info);
	int rc;

	if (y >= r->info.h)
		return geo_error_set(e, GEO_EXIT_IO, "%s: row %u is past the "
				     "last row", r->path, y);
	if (r->cached < 0 || y < (uint32_t)r->cached ||
	    y >= (uint32_t)r->cached + r->block_h) {
		rc = load_block(r, y, e);
		if (rc)
			return rc;
	}
	memcpy(buf, r->cache + (y - (uint32_t)r->cached) * row, row);
	return 0;
}

void geo_reader_close(struct geo_reader *r)
{
	if (r->tif)
		TIFFClose(r->tif);
	free(r->cache);
	free(r->tile);
	r->tif = NULL;
	r->cache = r->tile = NULL;
}

/* --- writing --------------------------------------------------------- */

int geo_writer_open(struct geo_writer *w, const char *path,
		    const struct geo_info *info, uint32_t tile,
		    struct geo_error *e)
{
	const size_t row = geo_row_bytes(info);
	TIFF *tif;

	memset(w, 0, sizeof(*w));
	w->path = path;
	w->info = *info;
	w->tile = tile;
	tiff_setup();
	snprintf(w->tmp, sizeof(w->tmp), "%s.tmp.%ld", path, (long)getpid());
	tiff_msg[0] = '\0';
	tif = TIFFOpen(w->tmp, "w");
	if (!tif)
		return geo_error_set(e, GEO_EXIT_IO, "%s: cannot create: %s",
				     w->tmp, tiff_msg[0] ? tiff_msg :
				     strerror(errno));
	w->tif = tif;
	TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, info->w);
	TIFFSetField(tif, TIFFTAG_IMAGELENGTH, info->h);
	TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, info->bands);
	TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, info->bits);
	TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
	TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
	TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
	if (info->bands > 1) {
		/* grey plus bands that are no alpha: what GDAL writes */
		uint16_t extra[256];

		for (int i = 0; i < info->bands - 1 && i < 256; i++)
			extra[i] = EXTRASAMPLE_UNSPECIFIED;
		TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, info->bands - 1,
			     extra);
	}
	if (info->has_geo) {
		TIFFSetField(tif, TAG_PIXEL_SCALE, 3, info->scale);
		TIFFSetField(tif, TAG_TIEPOINT, 6, info->tie);
	}
	if (tile) {
		TIFFSetField(tif, TIFFTAG_TILEWIDTH, tile);
		TIFFSetField(tif, TIFFTAG_TILELENGTH, tile);
		w->block_h = tile;
		w->tilebuf = calloc((size_t)tile * tile, info->bands *
				    (info->bits / 8));
	} else {
		/* strips of about 64 KiB */
		w->block_h = (uint32_t)(65536 / (row ? row : 1));
		if (w->block_h < 1)
			w->block_h = 1;
		if (w->block_h > info->h)
			w->block_h = info->h;
		TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, w->block_h);
	}
	w->block = calloc(w->block_h, row);
	if (!w->block || (tile && !w->tilebuf)) {
		geo_writer_abort(w);
		return geo_error_set(e, GEO_EXIT_IO, "out of memory for %s",
				     path);
	}
	return 0;
}

/* Encode the block of rows ending with row w->next - 1. */
static int flush_block(struct geo_writer *w, struct geo_error *e)
{
	TIFF *tif = w->tif;
	const size_t row = geo_row_bytes(&w->info);
	const size_t px = (size_t)w->info.bands * (w->info.bits / 8);
	uint32_t rows = (w->next - 1) % w->block_h + 1;
	uint32_t y0 = w->next - rows;

	tiff_msg[0] = '\0';
	if (!w->tile) {
		if (TIFFWriteEncodedStrip(tif, TIFFComputeStrip(tif, y0, 0),
					  w->block, row * rows) < 0)
			goto bad;
		return 0;
	}
	for (uint32_t x0 = 0; x0 < w->info.w; x0 += w->tile) {
		uint32_t cols = w->info.w - x0 < w->tile ? w->info.w - x0 :
							   w->tile;

		/* edge tiles are padded with zeros */
		memset(w->tilebuf, 0, (size_t)w->tile * w->tile * px);
		for (uint32_t i = 0; i < rows; i++)
			memcpy(w->tilebuf + (size_t)i * w->tile * px,
			       w->block + i * row + x0 * px, cols * px);
		if (TIFFWriteTile(tif, w->tilebuf, x0, y0, 0, 0) < 0)
			goto bad;
	}
	return 0;
bad:
	return geo_error_set(e, GEO_EXIT_IO, "%s: write failed (libtiff: %s)",
			     w->tmp, tiff_msg);
}

int geo_write_row(struct geo_writer *w, const void *buf, struct geo_error *e)
{
	const size_t row = geo_row_bytes(&w->info);

	if (w->next >= w->info.h)
		return geo_error_set(e, GEO_EXIT_IO, "%s: more rows than the "
				     "raster's %u", w->path, w->info.h);
	memcpy(w->block + (w->next % w->block_h) * row, buf, row);
	w->next++;
	if (w->next % w->block_h == 0 || w->next == w->info.h)
		return flush_block(w, e);
	return 0;
}

int geo_writer_commit(struct geo_writer *w, struct geo_error *e)
{
	int fd, ok;

	if (w->next != w->info.h) {
		geo_writer_abort(w);
		return geo_error_set(e, GEO_EXIT_IO, "%s: %u of %u rows "
				     "written", w->path, w->next, w->info.h);
	}
	tiff_msg[0] = '\0';
	ok = TIFFFlush(w->tif);
	/* make the data durable before the name points at it */
	fd = TIFFFileno(w->tif);
	if (ok && fsync(fd) != 0)
		ok = 0;
	TIFFClose(w->tif);
	w->tif = NULL;
	if (!ok || rename(w->tmp, w->path) != 0) {
		int err = errno;

		geo_writer_abort(w);
		return geo_error_set(e, GEO_EXIT_IO, "%s: cannot write: %s",
				     w->path, tiff_msg[0] ? tiff_msg :
				     strerror(err));
	}
	free(w->block);
	free(w->tilebuf);
	w->block = w->tilebuf = NULL;
	return 0;
}

void geo_writer_abort(struct geo_writer *w)
{
	if (w->tif) {
		TIFFClose(w->tif);
		w->tif = NULL;
	}
	if (w->tmp[0])
		unlink(w->tmp);
	free(w->block);
	free(w->tilebuf);
	w->block = w->tilebuf = NULL;
}

/* --- files ----------------------------------------------------------- */

int geo_write_file(const char *path, const void *buf, size_t len,
		   struct geo_error *e)
{
	char tmp[4200];
	FILE *f;
	int err;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "wb");
	if (!f)
		return geo_error_set(e, GEO_EXIT_IO, "%s: cannot create: %s",
				     tmp, strerror(errno));
	if ((len && fwrite(buf, 1, len, f) != len) || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		err = errno;
		fclose(f);
		unlink(tmp);
		return geo_error_set(e, GEO_EXIT_IO, "%s: write failed: %s",
				     tmp, strerror(err));
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		err = errno;
		unlink(tmp);
		return geo_error_set(e, GEO_EXIT_IO, "%s: cannot write: %s",
				     path, strerror(err));
	}
	return 0;
}

int geo_mkdirs(const char *path, struct geo_error *e)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return geo_error_set(e, GEO_EXIT_BAD, "bad directory name "
				     "'%s'", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return geo_error_set(e, GEO_EXIT_IO, "%s: cannot "
					     "create: %s", buf,
					     strerror(errno));
		buf[i] = path[i];
	}
	return 0;
}

int geo_rmdir_files(const char *path, struct geo_error *e)
{
	char file[4400];
	struct dirent *d;
	DIR *dir = opendir(path);

	if (!dir)
		return errno == ENOENT ? 0 :
		       geo_error_set(e, GEO_EXIT_IO, "%s: cannot open: %s",
				     path, strerror(errno));
	while ((d = readdir(dir))) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, d->d_name);
		if (unlink(file) != 0) {
			closedir(dir);
			return geo_error_set(e, GEO_EXIT_IO, "%s: cannot "
					     "remove: %s", file,
					     strerror(errno));
		}
	}
	closedir(dir);
	if (rmdir(path) != 0)
		return geo_error_set(e, GEO_EXIT_IO, "%s: cannot remove: %s",
				     path, strerror(errno));
	return 0;
}

void geo_stem(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/');
	const char *dot;
	size_t n;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (n >= len)
		n = len - 1;
	memcpy(out, base, n);
	out[n] = '\0';
}

/* --- options --------------------------------------------------------- */

int geo_parse_long(const char *opt, const char *s, long min, long max,
		   long *out, struct geo_error *e)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno == ERANGE)
		return geo_error_set(e, GEO_EXIT_BAD, "%s: '%s' is not an "
				     "integer", opt, s);
	if (v < min || v > max)
		return geo_error_set(e, GEO_EXIT_BAD, "%s: %ld is out of "
				     "range %ld..%ld", opt, v, min, max);
	*out = v;
	return 0;
}

int geo_parse_double(const char *opt, const char *s, double min, double max,
		     double *out, struct geo_error *e)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
		return geo_error_set(e, GEO_EXIT_BAD, "%s: '%s' is not a "
				     "number", opt, s);
	if (v < min || v > max)
		return geo_error_set(e, GEO_EXIT_BAD, "%s: %s is out of range "
				     "[%g, %g]", opt, s, min, max);
	*out = v;
	return 0;
}

int geo_parse_list(const char *opt, const char *s, long min, long max_val,
		   long *out, int max, int *n, struct geo_error *e)
{
	char item[64];
	const char *p = s;

	*n = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int rc;

		if (*n == max)
			return geo_error_set(e, GEO_EXIT_BAD, "%s: '%s' has "
					     "more than %d items", opt, s,
					     max);
		if (len >= sizeof(item))
			len = sizeof(item) - 1;
		memcpy(item, p, len);
		item[len] = '\0';
		rc = geo_parse_long(opt, item, min, max_val, &out[*n], e);
		if (rc)
			return rc;
		(*n)++;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int geo_bad_option(const char *prog, char **argv, struct geo_error *e)
{
	/* getopt_long sets optopt to a known long option's value when its
	 * argument is missing, to 0 for a long option it does not know;
	 * the programs have no short options */
	if (optopt && strncmp(argv[optind - 1], "--", 2) == 0)
		return geo_error_set(e, GEO_EXIT_BAD, "%s: needs a value (see "
				     "%s --help)", argv[optind - 1], prog);
	return geo_error_set(e, GEO_EXIT_BAD, "bad option '%s' (see %s "
			     "--help)", argv[optind - 1], prog);
}

/* --- random ---------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void geo_rng_seed(struct geo_rng *r, uint64_t seed, uint64_t stream)
{
	r->s = mix64(seed ^ mix64(stream + 0x9e3779b97f4a7c15ULL));
}

uint64_t geo_rng_next(struct geo_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

double geo_rng_uniform(struct geo_rng *r)
{
	return (double)(geo_rng_next(r) >> 11) * 0x1.0p-53;
}

double geo_rng_normal(struct geo_rng *r)
{
	double u = geo_rng_uniform(r), v = geo_rng_uniform(r);

	return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

uint32_t geo_rng_below(struct geo_rng *r, uint32_t n)
{
	return (uint32_t)(geo_rng_uniform(r) * n);
}
