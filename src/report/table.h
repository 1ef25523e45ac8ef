/*
 * table.h — tabular output in the formats the verbs offer.
 *
 * A table is columns of strings.  It is written as aligned text for a
 * terminal (numbers right-aligned), CSV (RFC 4180 quoting), or a GitHub
 * Markdown table.  JSON output is built by the verbs with jansson.
 */
#ifndef TC_TABLE_H
#define TC_TABLE_H

#include <stdio.h>
#include <stddef.h>

enum tc_format { TC_FMT_TABLE, TC_FMT_CSV, TC_FMT_JSON, TC_FMT_MARKDOWN };

/* Parse "table", "csv", "json", "markdown" (also "md").  0 or -1. */
int tc_format_parse(const char *s, enum tc_format *out);

struct tc_table;

/* headers are copied (NULL entries are empty).  NULL when out of memory or
 * ncols == 0. */
struct tc_table *tc_table_new(size_t ncols, const char *const *headers);
void tc_table_free(struct tc_table *t);

/* cells (ncols of them; NULL means empty) are copied.  0 or TC_ERR_NOMEM. */
int tc_table_add_row(struct tc_table *t, const char *const *cells);

size_t tc_table_rows(const struct tc_table *t);

/* Write in fmt (TC_FMT_TABLE, TC_FMT_CSV or TC_FMT_MARKDOWN).  Returns 0 or
 * TC_ERR_IO when the stream reports an error (f is flushed first, so a full
 * disk shows here); TC_ERR_INTERNAL for TC_FMT_JSON.
 *
 * A column is numeric when it holds a number (tc_metrics_parse_number) and
 * otherwise only empty cells or "-": it is right-aligned in text and "---:"
 * in Markdown.  Text columns are two spaces apart, widths count UTF-8 code
 * points, control characters print as ' ' or '?', lines have no trailing
 * blanks.  CSV quotes a field holding , " CR or LF or with a leading or
 * trailing blank, doubles quotes, ends lines with \n.  Markdown escapes |
 * as \| and turns line breaks into spaces. */
int tc_table_write(const struct tc_table *t, FILE *f, enum tc_format fmt);

/* One CSV field, quoted when needed: when it holds a comma, a quote or a
 * line break, or starts or ends with a blank (quotes inside doubled). */
void tc_csv_field(FILE *f, const char *s);
int tc_csv_needs_quotes(const char *s);

#endif
