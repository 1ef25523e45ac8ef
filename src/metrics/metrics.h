/*
 * metrics.h — metrics from a trial's own output, and their ranking.
 *
 * Three sources (DESIGN.md "Metrics"):
 *   - lines of stdout/stderr with name=value pairs (Katib's convention:
 *     "epoch=3 loss=0.41 test_acc=0.8757"); a pair named epoch or step in
 *     the line gives the step of every value on that line;
 *   - JSON lines in $TRAINCTL_METRICS_FILE ({"step":3,"loss":0.41}), same
 *     rule for "step"/"epoch" keys;
 *   - a user PCRE2 pattern whose named groups are metric names (a group
 *     named step or epoch gives the step).
 * Numbers are read in any decimal C or JSON notation ("1e-4", "-3.5E+02",
 * ".5", "5.", "+2"; not hex), plus nan, inf and infinity (any case,
 * optional sign), which are kept as such.
 * A value without a step gets the next step of that metric (0, 1, 2, ...).
 *
 * A collector turns a byte stream (fed in arbitrary chunks, as a file is
 * tailed) into samples.  Lines longer than TC_METRICS_LINE_MAX are skipped,
 * so a trial that writes gigabytes without a newline costs no memory.
 */
#ifndef TC_METRICS_H
#define TC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define TC_METRICS_LINE_MAX 65536
#define TC_METRIC_NAME_MAX 128
/* A collector tracks at most this many distinct metric names; values of
 * further names are dropped (a trial printing random keys costs nothing),
 * and counted (tc_collector_dropped) so that the drop can be reported. */
#define TC_METRICS_NAMES_MAX 1024
/* At most this many values are taken from one line (and at most this many
 * matches of the pattern tried on it). */
#define TC_METRICS_LINE_VALUES_MAX 8192

/* Called for every sample; return non-zero to stop (the value is passed
 * back to the feeder). */
typedef int (*tc_metric_cb)(void *ctx, const char *name, double step,
			    double value);

/* Parse a number: the whole of s[0..len) must be one (surrounding spaces
 * allowed).  0 on success, -1 otherwise. */
int tc_metrics_parse_number(const char *s, size_t len, double *out);

struct tc_metric_regex;

/* Compile a pattern; it must have at least one named group.  NULL on error
 * (err says why, with the offset in the pattern). */
struct tc_metric_regex *tc_metric_regex_new(const char *pattern,
					    struct tc_error *err);
void tc_metric_regex_free(struct tc_metric_regex *re);

enum tc_metric_source {
	TC_SRC_TEXT, /* stdout/stderr: name=value pairs (and the regex, if any) */
	TC_SRC_JSONL /* the metrics file: one JSON object a line */
};

struct tc_collector;

/* re may be NULL; it is borrowed and must outlive the collector.  With
 * kv == 0 a TC_SRC_TEXT collector applies only the regex (used to re-rank
 * on a pattern after the fact). */
struct tc_collector *tc_collector_new(enum tc_metric_source src,
				      const struct tc_metric_regex *re, int kv);
void tc_collector_free(struct tc_collector *c);

/* Feed the next bytes of the stream; complete lines are parsed at once, a
 * trailing partial line is kept for the next call.  "\n", "\r\n" and a bare
 * "\r" (progress bars) all end a line.  Returns 0 or what cb returned to
 * stop; after a stop the rest of buf is not read. */
int tc_collector_feed(struct tc_collector *c, const char *buf, size_t len,
		      tc_metric_cb cb, void *ctx);

/* The stream ended: parse a trailing line without a newline. */
int tc_collector_finish(struct tc_collector *c, tc_metric_cb cb, void *ctx);

/* Set the next auto-step of a metric (used when a collector is recreated
 * after a restart part-way through a file). */
void tc_collector_set_next_step(struct tc_collector *c, const char *name,
				double step);

/* Values dropped so far because their name came past the first
 * TC_METRICS_NAMES_MAX names. */
uint64_t tc_collector_dropped(const struct tc_collector *c);

/* Bytes the collector holds now (its line buffer never exceeds
 * TC_METRICS_LINE_MAX); for tests and diagnostics. */
size_t tc_collector_bytes(const struct tc_collector *c);

/* Ranking.  goal is +1 (maximize) or -1 (minimize).  A missing value
 * (has == 0) or a non-finite one (nan, inf) never ranks best: it sorts after
 * every finite value; missing sorts after non-finite.  Returns <0 when a
 * ranks before b, >0 when after, 0 when equal. */
int tc_metric_cmp(double a, int has_a, double b, int has_b, int goal);

/* The best trial so far: offered each succeeded trial's value, it keeps
 * the one tc_metric_cmp ranks first (the earlier of equal ones; never a
 * missing or non-finite value).  Returns 1 when v became the best. */
struct tc_metric_best {
	int has;
	double value;
	char id[16];
};
int tc_metric_best_offer(struct tc_metric_best *b, const char *id, double v,
			 int has, int goal);

#endif
