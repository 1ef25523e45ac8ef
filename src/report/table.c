/*
 * table.c — tabular output: aligned text, CSV and Markdown (see table.h).
 *
 * A table keeps copies of its strings; nothing is written until
 * tc_table_write(), because aligned text needs every cell to size its
 * columns.  A column is numeric when it has at least one number and every
 * other cell in it is empty or "-"; numeric columns are right-aligned in
 * text and marked "---:" in Markdown.
 */
#include "report/table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/error.h"
#include "util/text.h"

struct tc_table {
	size_t ncols;
	char **headers; /* ncols */
	char **cells;   /* nrows * ncols, row-major; never NULL entries */
	size_t nrows, cap;
};

int tc_format_parse(const char *s, enum tc_format *out)
{
	static const struct {
		const char *name;
		enum tc_format fmt;
	} names[] = {
		{"table", TC_FMT_TABLE},   {"csv", TC_FMT_CSV},
		{"json", TC_FMT_JSON},     {"markdown", TC_FMT_MARKDOWN},
		{"md", TC_FMT_MARKDOWN},
	};
	size_t i;

	if (!s || !out)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].fmt;
			return 0;
		}
	}
	return -1;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

struct tc_table *tc_table_new(size_t ncols, const char *const *headers)
{
	struct tc_table *t;
	size_t i;

	if (ncols == 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols;
	t->headers = calloc(ncols, sizeof(*t->headers));
	if (!t->headers) {
		free(t);
		return NULL;
	}
	for (i = 0; i < ncols; i++) {
		t->headers[i] = dup_or_empty(headers ? headers[i] : NULL);
		if (!t->headers[i]) {
			tc_table_free(t);
			return NULL;
		}
	}
	return t;
}

void tc_table_free(struct tc_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->ncols; i++)
		free(t->headers[i]);
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->headers);
	free(t->cells);
	free(t);
}

int tc_table_add_row(struct tc_table *t, const char *const *cells)
{
	char **row;
	size_t i;

	if (!t)
		return TC_ERR_INTERNAL;
	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		char **p;

		if (ncap > SIZE_MAX / sizeof(*p) / t->ncols)
			return TC_ERR_NOMEM;
		p = realloc(t->cells, ncap * t->ncols * sizeof(*p));
		if (!p)
			return TC_ERR_NOMEM;
		t->cells = p;
		t->cap = ncap;
	}
	row = t->cells + t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		row[i] = dup_or_empty(cells ? cells[i] : NULL);
		if (!row[i]) {
			while (i-- > 0)
				free(row[i]);
			return TC_ERR_NOMEM;
		}
	}
	t->nrows++;
	return 0;
}

size_t tc_table_rows(const struct tc_table *t)
{
	return t ? t->nrows : 0;
}

static const char *cell(const struct tc_table *t, size_t r, size_t c)
{
	return t->cells[r * t->ncols + c];
}

static int is_number(const char *s)
{
	double d;

	return tc_metrics_parse_number(s, strlen(s), &d) == 0;
}

static int column_numeric(const struct tc_table *t, size_t c)
{
	size_t r;
	int any = 0;

	for (r = 0; r < t->nrows; r++) {
		const char *s = cell(t, r, c);

		if (is_number(s))
			any = 1;
		else if (s[0] != '\0' && strcmp(s, "-") != 0)
			return 0;
	}
	return any;
}

/* Terminal columns of a UTF-8 string: one per code point (continuation
 * bytes 10xxxxxx do not start one). */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* A cell for a terminal: one line, no control characters (a trial's output
 * ends up in tables, and must not move the cursor).  Each replaced byte
 * still takes one column, so text_width() stays right. */
static void put_text(FILE *f, const char *s)
{
	for (; *s; s++)
		putc(tc_text_safe_char((unsigned char)*s), f);
}

static void pad(FILE *f, size_t n)
{
	while (n-- > 0)
		putc(' ', f);
}

static void text_row(FILE *f, const struct tc_table *t, char *const *row,
		     const size_t *width, const int *right)
{
	size_t c, end = t->ncols;

	/* No trailing blanks: the line ends with its last non-empty cell. */
	while (end > 0 && row[end - 1][0] == '\0')
		end--;
	for (c = 0; c < end; c++) {
		size_t w = text_width(row[c]);
		size_t gap = width[c] > w ? width[c] - w : 0;

		if (c > 0)
			fputs("  ", f);
		if (right[c]) {
			pad(f, gap);
			put_text(f, row[c]);
		} else {
			put_text(f, row[c]);
			if (c + 1 < end)
				pad(f, gap);
		}
	}
	putc('\n', f);
}

static int write_text(const struct tc_table *t, FILE *f)
{
	size_t *width = calloc(t->ncols, sizeof(*width));
	int *right = calloc(t->ncols, sizeof(*right));
	size_t r, c;

	if (!width || !right) {
		free(width);
		free(right);
		return TC_ERR_NOMEM;
	}
	for (c = 0; c < t->ncols; c++) {
		width[c] = text_width(t->headers[c]);
		right[c] = column_numeric(t, c);
		for (r = 0; r < t->nrows; r++) {
			size_t w = text_width(cell(t, r, c));

			if (w > width[c])
				width[c] = w;
		}
	}
	text_row(f, t, t->headers, width, right);
	for (r = 0; r < t->nrows; r++)
		text_row(f, t, t->cells + r * t->ncols, width, right);
	free(width);
	free(right);
	return 0;
}

int tc_csv_needs_quotes(const char *s)
{
	size_t n = strlen(s);

	return strpbrk(s, ",\"\r\n") != NULL ||
	       (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
			  s[n - 1] == '\t'));
}

void tc_csv_field(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!tc_csv_needs_quotes(s)) {
		fputs(s, f);
		return;
	}
	putc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
}

static void csv_row(FILE *f, size_t ncols, char *const *row)
{
	size_t c;

	for (c = 0; c < ncols; c++) {
		if (c > 0)
			putc(',', f);
		tc_csv_field(f, row[c]);
	}
	putc('\n', f);
}

static int write_csv(const struct tc_table *t, FILE *f)
{
	size_t r;

	csv_row(f, t->ncols, t->headers);
	for (r = 0; r < t->nrows; r++)
		csv_row(f, t->ncols, t->cells + r * t->ncols);
	return 0;
}

/* A Markdown cell: '|' would end it and a newline would end the row. */
static void md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n' || *s == '\r')
			putc(' ', f);
		else
			putc(*s, f);
	}
}

static void md_row(FILE *f, size_t ncols, char *const *row)
{
	size_t c;

	putc('|', f);
	for (c = 0; c < ncols; c++) {
		putc(' ', f);
		md_cell(f, row[c]);
		fputs(" |", f);
	}
	putc('\n', f);
}

static int write_markdown(const struct tc_table *t, FILE *f)
{
	size_t r, c;

	md_row(f, t->ncols, t->headers);
	putc('|', f);
	for (c = 0; c < t->ncols; c++)
		fputs(column_numeric(t, c) ? "---:|" : "---|", f);
	putc('\n', f);
	for (r = 0; r < t->nrows; r++)
		md_row(f, t->ncols, t->cells + r * t->ncols);
	return 0;
}

int tc_table_write(const struct tc_table *t, FILE *f, enum tc_format fmt)
{
	int rc = TC_ERR_INTERNAL; /* a value outside the enum */

	if (!t || !f)
		return TC_ERR_INTERNAL;
	switch (fmt) {
	case TC_FMT_TABLE:
		rc = write_text(t, f);
		break;
	case TC_FMT_CSV:
		rc = write_csv(t, f);
		break;
	case TC_FMT_MARKDOWN:
		rc = write_markdown(t, f);
		break;
	case TC_FMT_JSON:
		/* JSON is built by the verbs with jansson (table.h). */
		return TC_ERR_INTERNAL;
	}
	if (rc)
		return rc;
	/* Flush so that a full disk or a closed pipe is reported here. */
	if (fflush(f) != 0 || ferror(f))
		return TC_ERR_IO;
	return 0;
}
