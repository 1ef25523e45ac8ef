/*
 * chip.c — geo-chip: cut a scene and its label raster into square chips
 * that overlap (256×256 every 192 pixels: 25% overlap, as in seed 001),
 * keeping only chips where every class covers enough of the chip.
 *
 * The rasters are read a band of --size rows at a time; moving down by
 * --stride keeps the rows the next band of chips shares.  The output
 * directory appears whole: chips are written into OUTDIR.tmp.PID, which
 * is renamed to OUTDIR at the end (replacing an earlier geo-chip output
 * there, never anything else).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "geo.h"

static const char usage[] =
"usage: geo-chip [options] IMAGE LABEL OUTDIR\n"
"\n"
"Cut IMAGE and LABEL (one 8-bit band of class ids, 255 nodata, as\n"
"geo-label writes it, the size of IMAGE) into --size × --size chips at\n"
"x, y = 0, --stride, 2·--stride … (chips lie wholly inside the scene).\n"
"A chip is kept when\n"
"  - at most --max-nodata of its pixels are nodata, and\n"
"  - every class counted covers at least --min-frac of its pixels (all\n"
"    size×size pixels, nodata included).  The classes counted are those\n"
"    of --classes, or by default every class present anywhere in LABEL.\n"
"Writes OUTDIR/SCENE_yY_xX.tif (the IMAGE window) and SCENE_yY_xX_label.tif\n"
"for each kept chip, and OUTDIR/chips.txt: a first line scene=SCENE …\n"
"kept=N dropped=M, then one line per chip: its image and label file.\n"
"Prints kept=N dropped=M.\n"
"\n"
"  --size N         chip side in pixels (default 256)\n"
"  --stride N       distance between chips (default 192: 25% overlap)\n"
"  --min-frac F     least fraction of each class, 0..1 (default 0.10)\n"
"  --classes LIST   the class ids that must each cover --min-frac, e.g.\n"
"                   0,1 (default: every class present in LABEL)\n"
"  --max-nodata F   most fraction of nodata pixels, 0..1 (default 0)\n"
"  --scene NAME     scene name for the files (default: IMAGE's file name\n"
"                   up to its last dot)\n"
"  --help\n"
"\n"
"Exit status: 0 done, 1 write failure, 2 bad options or input.\n";

struct opts {
	long size, stride;
	double min_frac, max_nodata;
	long classes[GEO_NODATA];
	int nclasses;		/* 0: the classes present in LABEL */
	char scene[256];
};

struct rows {
	struct geo_reader r;
	size_t row;	/* bytes */
	uint8_t *buf;	/* size rows */
};

/* Fill the buffer with rows [y0, y0 + size), keeping those of the
 * previous band [prev, prev + size) it shares. */
static int load_rows(struct rows *b, long size, int64_t prev, uint32_t y0,
		     struct geo_error *e)
{
	uint32_t from = 0;
	int rc;

	if (prev >= 0 && (int64_t)y0 < prev + size) {
		uint32_t shift = y0 - (uint32_t)prev;

		memmove(b->buf, b->buf + shift * b->row,
			(size - shift) * b->row);
		from = (uint32_t)(size - shift);
	}
	for (uint32_t i = from; i < (uint32_t)size; i++) {
		rc = geo_read_row(&b->r, y0 + i, b->buf + i * b->row, e);
		if (rc)
			return rc;
	}
	return 0;
}

/* The classes present in the label raster: one pass over it. */
static int present_classes(struct geo_reader *r, struct opts *o,
			   struct geo_error *e)
{
	uint8_t seen[256] = {0}, *row = malloc(r->info.w);
	int rc = 0;

	if (!row)
		return geo_error_set(e, GEO_EXIT_IO, "out of memory");
	for (uint32_t y = 0; y < r->info.h && !rc; y++) {
		rc = geo_read_row(r, y, row, e);
		for (uint32_t x = 0; x < r->info.w && !rc; x++)
			seen[row[x]] = 1;
	}
	free(row);
	o->nclasses = 0;
	for (int c = 0; c < GEO_NODATA; c++)
		if (seen[c])
			o->classes[o->nclasses++] = c;
	return rc;
}

/* Write the w×h window at (x0, 0) of the rows in b as path. */
static int write_window(struct rows *b, uint32_t x0, uint32_t y0, long size,
			const char *path, struct geo_error *e)
{
	const size_t px = (size_t)b->r.info.bands * (b->r.info.bits / 8);
	struct geo_info ci;
	struct geo_writer w;
	int rc;

	geo_info_window(&b->r.info, x0, y0, (uint32_t)size, (uint32_t)size,
			&ci);
	rc = geo_writer_open(&w, path, &ci, 0, e);
	for (long i = 0; i < size && !rc; i++)
		rc = geo_write_row(&w, b->buf + i * b->row + x0 * px, e);
	if (rc) {
		geo_writer_abort(&w);
		return rc;
	}
	return geo_writer_commit(&w, e);
}

/* Whether OUTDIR may be replaced: absent, or an earlier geo-chip output. */
static int check_outdir(const char *dir, struct geo_error *e)
{
	char manifest[4200];
	struct stat st;

	if (stat(dir, &st) != 0)
		return 0;
	snprintf(manifest, sizeof(manifest), "%s/chips.txt", dir);
	if (!S_ISDIR(st.st_mode) || access(manifest, F_OK) != 0)
		return geo_error_set(e, GEO_EXIT_BAD, "%s: exists and is not "
				     "a geo-chip output (no chips.txt); remove "
				     "it or choose another OUTDIR", dir);
	return 0;
}

struct manifest {
	char *text;
	size_t len, cap;
};

static int add_line(struct manifest *m, const char *a, const char *b)
{
	size_t need = strlen(a) + strlen(b) + 2;

	if (m->len + need + 1 > m->cap) {
		size_t cap = (m->cap + need) * 2;
		char *t = realloc(m->text, cap);

		if (!t)
			return -1;
		m->text = t;
		m->cap = cap;
	}
	m->len += (size_t)sprintf(m->text + m->len, "%s %s\n", a, b);
	return 0;
}

static int run(const char *img, const char *lab, const char *outdir,
	       struct opts *o, struct geo_error *e)
{
	struct rows bi = {0}, bl = {0};
	struct manifest m = {0};
	char tmpdir[4096], path[4500], lpath[4500], name[300], lname[320];
	char head[2048];
	uint32_t count[256];
	long kept = 0, dropped = 0;
	int64_t prev = -1;
	int rc, made = 0, hl;

	if (strlen(outdir) > 4000)
		return geo_error_set(e, GEO_EXIT_BAD, "OUTDIR: a path of "
				     "more than 4000 bytes");
	rc = check_outdir(outdir, e);
	if (rc)
		return rc;
	rc = geo_reader_open(&bi.r, img, e);
	if (rc)
		return rc;
	rc = geo_reader_open(&bl.r, lab, e);
	if (rc)
		goto out;
	if (bl.r.info.bands != 1 || bl.r.info.bits != 8) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "%s: %u bands of %u bits; "
				   "a label raster has one 8-bit band (make "
				   "it with geo-label)", lab, bl.r.info.bands,
				   bl.r.info.bits);
		goto out;
	}
	if (bl.r.info.w != bi.r.info.w || bl.r.info.h != bi.r.info.h) {
		rc = geo_error_set(e, GEO_EXIT_BAD, "%s: %u×%u pixels but the "
				   "image %s has %u×%u", lab, bl.r.info.w,
				   bl.r.info.h, img, bi.r.info.w,
				   bi.r.info.h);
		goto out;
	}
	if (!o->nclasses) {
		rc = present_classes(&bl.r, o, e);
		if (rc)
			goto out;
	}
	if (!o->scene[0])
		geo_stem(img, o->scene, sizeof(o->scene));

	bi.row = geo_row_bytes(&bi.r.info);
	bl.row = geo_row_bytes(&bl.r.info);
	bi.buf = malloc(bi.row * (size_t)o->size);
	bl.buf = malloc(bl.row * (size_t)o->size);
	if (!bi.buf || !bl.buf) {
		rc = geo_error_set(e, GEO_EXIT_IO, "out of memory for %ld rows "
				   "of %s", o->size, img);
		goto out;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s.tmp.%ld", outdir, (long)getpid());
	geo_rmdir_files(tmpdir, e);	/* a leftover of a pid reused */
	rc = geo_mkdirs(tmpdir, e);
	if (rc)
		goto out;
	made = 1;

	for (uint32_t y0 = 0; (long)y0 + o->size <= (long)bi.r.info.h;
	     y0 += (uint32_t)o->stride) {
		rc = load_rows(&bi, o->size, prev, y0, e);
		if (!rc)
			rc = load_rows(&bl, o->size, prev, y0, e);
		if (rc)
			goto out;
		prev = y0;
		for (uint32_t x0 = 0; (long)x0 + o->size <= (long)bi.r.info.w;
		     x0 += (uint32_t)o->stride) {
			const double n = (double)o->size * o->size;
			int keep;

			memset(count, 0, sizeof(count));
			for (long i = 0; i < o->size; i++) {
				const uint8_t *p = bl.buf + i * bl.row + x0;

				for (long j = 0; j < o->size; j++)
					count[p[j]]++;
			}
			keep = count[GEO_NODATA] <= o->max_nodata * n;
			for (int k = 0; k < o->nclasses && keep; k++)
				keep = count[o->classes[k]] >= o->min_frac * n;
			if (!keep) {
				dropped++;
				continue;
			}
			snprintf(name, sizeof(name), "%s_y%05u_x%05u.tif",
				 o->scene, y0, x0);
			snprintf(lname, sizeof(lname), "%s_y%05u_x%05u_label.tif",
				 o->scene, y0, x0);
			snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
			snprintf(lpath, sizeof(lpath), "%s/%s", tmpdir, lname);
			rc = write_window(&bi, x0, y0, o->size, path, e);
			if (!rc)
				rc = write_window(&bl, x0, y0, o->size, lpath,
						  e);
			if (!rc && add_line(&m, name, lname))
				rc = geo_error_set(e, GEO_EXIT_IO, "out of "
						   "memory");
			if (rc)
				goto out;
			kept++;
		}
	}

	/* the manifest, its first line saying how it was cut */
	hl = snprintf(head, sizeof(head), "scene=%s size=%ld stride=%ld "
		      "min_frac=%.4f max_nodata=%.4f kept=%ld dropped=%ld "
		      "classes=", o->scene, o->size, o->stride, o->min_frac,
		      o->max_nodata, kept, dropped);
	for (int k = 0; k < o->nclasses && hl < (int)sizeof(head) - 8; k++)
		hl += snprintf(head + hl, sizeof(head) - hl, "%s%ld",
			       k ? "," : "", o->classes[k]);
	snprintf(head + hl, sizeof(head) - hl, "\n");
	{
		size_t total = strlen(head) + m.len;
		char *text = malloc(total + 1);

		if (!text) {
			rc = geo_error_set(e, GEO_EXIT_IO, "out of memory");
			goto out;
		}
		memcpy(text, head, strlen(head));
		if (m.len)
			memcpy(text + strlen(head), m.text, m.len);
		snprintf(path, sizeof(path), "%s/chips.txt", tmpdir);
		rc = geo_write_file(path, text, total, e);
		free(text);
		if (rc)
			goto out;
	}
	/* swap the finished directory in */
	rc = geo_rmdir_files(outdir, e);
	if (!rc && rename(tmpdir, outdir) != 0)
		rc = geo_error_set(e, GEO_EXIT_IO, "%s: cannot rename to %s: "
				   "%s", tmpdir, outdir, strerror(errno));
	if (!rc) {
		made = 0;
		printf("kept=%ld dropped=%ld\n", kept, dropped);
	}
out:
	if (made) {
		struct geo_error ignored;

		geo_rmdir_files(tmpdir, &ignored);
	}
	geo_reader_close(&bi.r);
	geo_reader_close(&bl.r);
	free(bi.buf);
	free(bl.buf);
	free(m.text);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"size", required_argument, NULL, 's'},
		{"stride", required_argument, NULL, 't'},
		{"min-frac", required_argument, NULL, 'f'},
		{"classes", required_argument, NULL, 'c'},
		{"max-nodata", required_argument, NULL, 'n'},
		{"scene", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	static struct opts o;
	struct geo_error e = {0, ""};
	int c, rc = 0;

	o.size = 256;
	o.stride = 192;
	o.min_frac = 0.10;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			rc = geo_parse_long("--size", optarg, 1, 65536, &o.size,
					    &e);
			break;
		case 't':
			rc = geo_parse_long("--stride", optarg, 1, 65536,
					    &o.stride, &e);
			break;
		case 'f':
			rc = geo_parse_double("--min-frac", optarg, 0, 1,
					      &o.min_frac, &e);
			break;
		case 'c':
			rc = geo_parse_list("--classes", optarg, 0,
					    GEO_NODATA - 1, o.classes,
					    GEO_NODATA, &o.nclasses, &e);
			break;
		case 'n':
			rc = geo_parse_double("--max-nodata", optarg, 0, 1,
					      &o.max_nodata, &e);
			break;
		case 'S':
			if (!*optarg || strchr(optarg, '/') ||
			    strlen(optarg) >= sizeof(o.scene))
				rc = geo_error_set(&e, GEO_EXIT_BAD, "--scene: "
						   "'%s' is not a file name",
						   optarg);
			else
				strcpy(o.scene, optarg);
			break;
		case 'H':
			fputs(usage, stdout);
			return 0;
		default:
			rc = geo_bad_option("geo-chip", argv, &e);
		}
		if (rc)
			return geo_fail("geo-chip", &e);
	}
	if (argc - optind != 3) {
		geo_error_set(&e, GEO_EXIT_BAD, "want IMAGE, LABEL and OUTDIR "
			      "(see geo-chip --help)");
		return geo_fail("geo-chip", &e);
	}
	rc = run(argv[optind], argv[optind + 1], argv[optind + 2], &o, &e);
	if (rc)
		return geo_fail("geo-chip", &e);
	return fflush(stdout) == 0 ? 0 : GEO_EXIT_IO;
}
