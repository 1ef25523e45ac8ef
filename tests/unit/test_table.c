/*
 * test_table.c — unit tests of src/report/table: aligned text, CSV and
 * Markdown output, format names, write errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/table.h"
#include "util/error.h"

/* Write t in fmt into a string (caller frees). */
static char *render(const struct tc_table *t, enum tc_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(tc_table_write(t, f, fmt), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static struct tc_table *results_table(void)
{
	static const char *const hdr[] = {"trial", "lr", "state", "acc"};
	static const char *const rows[][4] = {
		{"t1", "0.1", "done", "0.9"},
		{"t22", "1e-3", "failed", "-"},
		{"t3", "10", "running", ""},
	};
	struct tc_table *t = tc_table_new(4, hdr);
	size_t i;

	assert_non_null(t);
	for (i = 0; i < 3; i++)
		assert_int_equal(tc_table_add_row(t, rows[i]), 0);
	assert_int_equal(tc_table_rows(t), 3);
	return t;
}

static void test_text_alignment(void **state)
{
	struct tc_table *t = results_table();
	char *out = render(t, TC_FMT_TABLE);

	(void)state;
	/* Two spaces between columns; lr and acc are numeric (right-aligned,
	 * header too); no trailing blanks. */
	assert_string_equal(out, "trial    lr  state    acc\n"
				 "t1      0.1  done     0.9\n"
				 "t22    1e-3  failed     -\n"
				 "t3       10  running\n");
	free(out);
	tc_table_free(t);
}

static void test_text_mixed_column_left(void **state)
{
	static const char *const hdr[] = {"id", "loss"};
	static const char *const r1[] = {"a", "0.5"};
	static const char *const r2[] = {"bb", "n/a"};
	static const char *const r3[] = {"c", "nan"};
	struct tc_table *t = tc_table_new(2, hdr);
	char *out;

	(void)state;
	assert_int_equal(tc_table_add_row(t, r1), 0);
	assert_int_equal(tc_table_add_row(t, r2), 0);
	assert_int_equal(tc_table_add_row(t, r3), 0);
	out = render(t, TC_FMT_TABLE);
	/* "n/a" is not a number: the column is text, left-aligned. */
	assert_string_equal(out, "id  loss\n"
				 "a   0.5\n"
				 "bb  n/a\n"
				 "c   nan\n");
	free(out);
	tc_table_free(t);
}

static void test_text_all_dash_is_text(void **state)
{
	static const char *const hdr[] = {"metric", "x"};
	static const char *const r1[] = {"-", "1"};
	struct tc_table *t = tc_table_new(2, hdr);
	char *out;

	(void)state;
	assert_int_equal(tc_table_add_row(t, r1), 0);
	out = render(t, TC_FMT_TABLE);
	assert_string_equal(out, "metric  x\n"
				 "-       1\n");
	free(out);
	tc_table_free(t);
}

static void test_text_utf8_width(void **state)
{
	static const char *const hdr[] = {"name", "n"};
	static const char *const r1[] = {"héllo", "1"};
	static const char *const r2[] = {"日本", "22"};
	static const char *const r3[] = {"x", "333"};
	struct tc_table *t = tc_table_new(2, hdr);
	char *out;

	(void)state;
	assert_int_equal(tc_table_add_row(t, r1), 0);
	assert_int_equal(tc_table_add_row(t, r2), 0);
	assert_int_equal(tc_table_add_row(t, r3), 0);
	out = render(t, TC_FMT_TABLE);
	/* Widths count code points: "héllo" is 5 wide, not 6. */
	assert_string_equal(out, "name     n\n"
				 "héllo    1\n"
				 "日本      22\n"
				 "x      333\n");
	free(out);
	tc_table_free(t);
}

static void test_text_control_chars(void **state)
{
	static const char *const hdr[] = {"a", "b"};
	static const char *const r1[] = {"x\ty\n\x1b[31mz", "1"};
	struct tc_table *t = tc_table_new(2, hdr);
	char *out;

	(void)state;
	assert_int_equal(tc_table_add_row(t, r1), 0);
	out = render(t, TC_FMT_TABLE);
	/* Output of a trial must not reach the terminal as escapes. */
	assert_string_equal(out, "a           b\n"
				 "x y ?[31mz  1\n");
	free(out);
	tc_table_free(t);
}

static void test_null_cells(void **state)
{
	static const char *const hdr[] = {"a", "b", "c"};
	const char *r1[] = {NULL, "2", NULL};
	struct tc_table *t = tc_table_new(3, hdr);
	char *out;

	(void)state;
	assert_int_equal(tc_table_add_row(t, r1), 0);
	out = render(t, TC_FMT_CSV);
	assert_string_equal(out, "a,b,c\n,2,\n");
	free(out);
	out = render(t, TC_FMT_TABLE);
	assert_string_equal(out, "a  b  c\n"
				 "   2\n");
	free(out);
	tc_table_free(t);
}

static void test_csv_quoting(void **state)
{
	static const char *const hdr[] = {"id", "cmd", "note"};
	static const char *const r1[] = {"a,b", "say \"hi\"", "line1\nline2"};
	static const char *const r2[] = {" lead", "trail ", "plain"};
	static const char *const r3[] = {"cr\rhere", "", "x;y|z'"};
	struct tc_table *t = tc_table_new(3, hdr);
	char *out;

	(void)state;
	assert_int_equal(tc_table_add_row(t, r1), 0);
	assert_int_equal(tc_table_add_row(t, r2), 0);
	assert_int_equal(tc_table_add_row(t, r3), 0);
	out = render(t, TC_FMT_CSV);
	assert_string_equal(out, "id,cmd,note\n"
				 "\"a,b\",\"say \"\"hi\"\"\",\"line1\nline2\"\n"
				 "\" lead\",\"trail \",plain\n"
				 "\"cr\rhere\",,x;y|z'\n");
	free(out);
	tc_table_free(t);
}

static void test_csv_field(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	tc_csv_field(f, "\"");
	putc('|', f);
	tc_csv_field(f, NULL);
	putc('|', f);
	tc_csv_field(f, "héllo");
	putc('|', f);
	tc_csv_field(f, "\tx");
	fclose(f);
	assert_string_equal(buf, "\"\"\"\"||héllo|\"\tx\"");
	free(buf);
}

static void test_markdown(void **state)
{
	static const char *const hdr[] = {"id", "acc", "pipe|head"};
	static const char *const r1[] = {"a|b", "0.5", "x"};
	static const char *const r2[] = {"x\ny\r\nz", "-", ""};
	struct tc_table *t = tc_table_new(3, hdr);
	char *out;

	(void)state;
	assert_int_equal(tc_table_add_row(t, r1), 0);
	assert_int_equal(tc_table_add_row(t, r2), 0);
	out = render(t, TC_FMT_MARKDOWN);
	assert_string_equal(out, "| id | acc | pipe\\|head |\n"
				 "|---|---:|---|\n"
				 "| a\\|b | 0.5 | x |\n"
				 "| x y  z | - |  |\n");
	free(out);
	tc_table_free(t);
}

static void test_empty_table(void **state)
{
	static const char *const hdr[] = {"id", "acc"};
	struct tc_table *t = tc_table_new(2, hdr);
	char *out;

	(void)state;
	assert_int_equal(tc_table_rows(t), 0);
	out = render(t, TC_FMT_TABLE);
	assert_string_equal(out, "id  acc\n");
	free(out);
	out = render(t, TC_FMT_MARKDOWN);
	assert_string_equal(out, "| id | acc |\n|---|---|\n");
	free(out);
	out = render(t, TC_FMT_CSV);
	assert_string_equal(out, "id,acc\n");
	free(out);
	tc_table_free(t);
	assert_null(tc_table_new(0, hdr));
	tc_table_free(NULL);
}

static void test_copies(void **state)
{
	char h[8] = "head", c[8] = "cell";
	const char *hdr[] = {h};
	const char *row[] = {c};
	struct tc_table *t = tc_table_new(1, hdr);
	char *out;
	int i;

	(void)state;
	assert_int_equal(tc_table_add_row(t, row), 0);
	strcpy(h, "XXXX");
	strcpy(c, "YYYY");
	/* Many rows: the row array grows. */
	for (i = 0; i < 100; i++)
		assert_int_equal(tc_table_add_row(t, row), 0);
	assert_int_equal(tc_table_rows(t), 101);
	out = render(t, TC_FMT_CSV);
	assert_true(strncmp(out, "head\ncell\nYYYY\n", 15) == 0);
	free(out);
	tc_table_free(t);
}

static void test_format_parse(void **state)
{
	enum tc_format f;

	(void)state;
	assert_int_equal(tc_format_parse("table", &f), 0);
	assert_int_equal(f, TC_FMT_TABLE);
	assert_int_equal(tc_format_parse("csv", &f), 0);
	assert_int_equal(f, TC_FMT_CSV);
	assert_int_equal(tc_format_parse("json", &f), 0);
	assert_int_equal(f, TC_FMT_JSON);
	assert_int_equal(tc_format_parse("markdown", &f), 0);
	assert_int_equal(f, TC_FMT_MARKDOWN);
	assert_int_equal(tc_format_parse("md", &f), 0);
	assert_int_equal(f, TC_FMT_MARKDOWN);
	assert_int_equal(tc_format_parse("", &f), -1);
	assert_int_equal(tc_format_parse("yaml", &f), -1);
	assert_int_equal(tc_format_parse("csvx", &f), -1);
	assert_int_equal(tc_format_parse(NULL, &f), -1);
}

static void test_write_errors(void **state)
{
	struct tc_table *t = results_table();
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (f) {
		/* A full disk is reported, not swallowed. */
		assert_int_equal(tc_table_write(t, f, TC_FMT_TABLE), TC_ERR_IO);
		fclose(f);
	}
	f = fopen("/dev/null", "w");
	assert_non_null(f);
	/* JSON is not a table format (the verbs build it with jansson). */
	assert_int_equal(tc_table_write(t, f, TC_FMT_JSON), TC_ERR_INTERNAL);
	assert_int_equal(tc_table_write(t, f, TC_FMT_CSV), 0);
	fclose(f);
	tc_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_alignment),
		cmocka_unit_test(test_text_mixed_column_left),
		cmocka_unit_test(test_text_all_dash_is_text),
		cmocka_unit_test(test_text_utf8_width),
		cmocka_unit_test(test_text_control_chars),
		cmocka_unit_test(test_null_cells),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_field),
		cmocka_unit_test(test_markdown),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_copies),
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_write_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
