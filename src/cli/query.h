/*
 * query.h — reading an experiment's trials back for the verbs that show
 * them (status, results, best, report), with their final metrics, ranked.
 */
#ifndef TC_QUERY_H
#define TC_QUERY_H

#include <stdio.h>

#include <jansson.h>

#include "report/table.h"
#include "spec/spec.h"
#include "store/experiment.h"
#include "store/journal.h"

struct trow {
	char id[16];
	long long idx;
	int state;        /* enum tc_state */
	json_t *params;   /* object */
	json_t *command;  /* array */
	json_t *metrics;  /* object: name → number, or "nan"/"inf" string */
	char *reason;
	char *stage, *item; /* a pipeline's job, or NULL */
	json_t *stage_json; /* stage as a string (tview_by_value), or NULL */
	json_t *notes;    /* array of strings: what its metrics do not show
			     (history capped, files vanished; exec/record.h) */
	int attempt, exit_code, has_exit;
	double started_at, ended_at, wall, utime, stime, total_wall, total_cpu;
	double pending;   /* seconds waited for its containers, every attempt
			     (tview_pending; 0 until then) */
	long long maxrss_kb;
	uint32_t seed;
	char gpus[64];
	int has_rank;     /* ranking value present */
	double rank;
};

struct tview {
	struct tc_exp_info exp;
	struct tc_spec *spec;   /* parsed from the journal's copy */
	struct trow *rows;
	size_t n;
	char **metric_names;    /* spec metric first, then the rest sorted */
	char **metric_keys;     /* their output names: "metric.NAME" when NAME
				   is a parameter's or a fixed column's */
	size_t nmetric;
	size_t *by_id;          /* rows in id order (tview_find), or NULL */
};

int tview_load(struct tc_journal *j, const char *name, struct tview *v,
	       struct tc_error *err);
void tview_free(struct tview *v);

/* Replace every row's metrics by values parsed again from its logs with
 * the name=value convention and, when given, a pattern. */
int tview_reparse(struct tview *v, struct tc_journal *j, const char *regex,
		  struct tc_error *err);

/* Rank rows by metric `name` and goal (+1/-1); rows without it last.
 * goal 0: the spec's goal for its metric, else minimize names with "loss"
 * or "err" in them, maximize the rest. */
void tview_rank(struct tview *v, const char *name, int goal);
int tview_goal_for(const struct tview *v, const char *name, int goal);

/* The row of trial id, or -1 (an index of the rows by id is built at the
 * first call; ranking again drops it).  -2 when out of memory. */
long tview_find(struct tview *v, const char *id);

/* Fill each row's pending: the time its attempts waited for their
 * containers on a cluster, before their wall time began (report). */
int tview_pending(struct tc_journal *j, struct tview *v, struct tc_error *err);

/* The sums over every row: trials by state, wall and CPU seconds of
 * every attempt, pending seconds, the largest RSS, the first start and
 * the last end. */
struct tview_totals {
	long long counts[TC_ST_COUNT];
	double wall, cpu, pending, first, last;
	long long peak_rss_kb;
	/* early stopping's savings, estimated: what a pruned trial would
	 * have spent had it run to the end (the mean wall and CPU seconds of
	 * the last attempt of the trials that succeeded) less what it spent;
	 * none without a succeeded trial (full 0) */
	long long full;
	double saved_wall, saved_cpu;
};
void tview_totals(const struct tview *v, struct tview_totals *t);

/* A metric as JSON value for output (number, special string, or null). */
json_t *trow_metric_json(const struct trow *r, const char *name);
int trow_metric(const struct trow *r, const char *name, double *v,
		const char **special);

/* Groups of rows that share the values of the parameters by[0..nby)
 * (results --group-by, report --by).  Each group's rows are in view
 * order; groups in the order of their first row.  0, TC_ERR_USAGE when a
 * name is not a parameter (err lists the parameters), or TC_ERR_NOMEM. */
struct tgroup {
	size_t *rows;
	size_t n;
};
int tview_group(const struct tview *v, const char *const *by, size_t nby,
		struct tgroup **out, size_t *ngroups, struct tc_error *err);
void tview_groups_free(struct tgroup *g, size_t ngroups);

/* provenance object for JSON outputs */
json_t *tview_provenance(const struct tview *v);

/* An adaptive search's budget for JSON outputs: {"method": "tpe",
 * "trials": search.trials, "created": trials in the journal}. */
json_t *tview_search(const struct tview *v);

/* `report --html`: the self-contained HTML report of the view (ranked by
 * metric and goal, when there is one; its rows' pending loaded) written
 * to path, whole or not at all (cli/report_html.c). */
int tc_report_html(struct tc_journal *j, struct tview *v, const char *metric,
		   int goal, const char *path, struct tc_error *err);

/* `report --by`: the compute table by groups of the parameters named in
 * by ("model,dataset"), and what the search cost; the view ranked by the
 * spec's metric, its rows' pending loaded (tview_pending)
 * (cli/report_by.c).  0 or an error code (TC_ERR_USAGE for a name that
 * is not a parameter). */
int tc_report_by(struct tc_journal *j, struct tview *v, const char *by,
		 enum tc_format fmt, struct tc_error *err);

/* After a table: "note: TRIAL: attempt N: ..." for the first n rows. */
void tview_print_notes(const struct tview *v, size_t n, FILE *f);

/* A pipeline job's name as `logs NAME JOB` takes it: STAGE/ITEM (a path
 * item's last component), or STAGE (one job, or a sweep's trial); "-" for
 * a trial of no stage. */
void tview_job_name(const struct trow *r, char *buf, size_t len);

/* What --by groups a row by: parameter name's value, or for "stage" (a
 * pipeline's, when no parameter has that name) the row's stage.
 * Borrowed; NULL when the row has none. */
json_t *tview_by_value(const struct trow *r, const char *name);

#endif
