/*
 * cli.h — what the verbs share: the verb table's entry type, option
 * parsing, opening the journal, finding trials, and output helpers.
 *
 * Each verb is one file in src/cli/ with one entry function
 *   int cmd_VERB(int argc, char **argv);
 * returning the process exit code (enum tc_exit).  Verbs print; library
 * code does not.
 */
#ifndef TC_CLI_H
#define TC_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "report/table.h"
#include "store/journal.h"
#include "util/clock.h"
#include "util/error.h"

struct tc_verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

extern const struct tc_verb tc_verbs[];

/* An option a verb accepts.  Long name without dashes; short may be 0. */
struct tc_opt {
	const char *name;
	char short_name;
	int has_arg;
	const char *arg_name; /* for help: "N", "DIR" */
	const char *help;
};

struct tc_args {
	const char *val[32];   /* value per option index (or "1" for flags) */
	int seen[32];
	const char *pos[256];  /* positional arguments */
	int npos;
};

/* Parse argv (argv[0] is the verb).  Options may come anywhere; "--" ends
 * them.  --state-dir and --help are accepted by every verb.  Prints help
 * and returns 1 for --help, prints the problem and returns -1 for bad
 * usage, 0 otherwise. */
int tc_parse_args(int argc, char **argv, const struct tc_opt *opts,
		  const char *usage, const char *description,
		  struct tc_args *out);

/* What a verb accepts, as its call of tc_parse_args declares it.  Every
 * verb's entry calls tc_parse_args before anything else; tc_describe_verb
 * runs the entry with parsing replaced by filling *out (the verb returns at
 * once, as after --help), so completion and the manual's test see the very
 * tables --help prints.  Returns 0, or -1 if the verb never asked. */
struct tc_verb_desc {
	const struct tc_opt *opts;   /* the verb's own, name NULL at the end */
	const struct tc_opt *common; /* --state-dir and --help, ncommon of them */
	size_t ncommon;
	const char *usage;	     /* "logs NAME TRIAL [-f] [--stderr]" */
	const char *description;
};
int tc_describe_verb(const struct tc_verb *v, struct tc_verb_desc *out);

/* The value of the option called name, or NULL. */
const char *tc_arg(const struct tc_args *a, const struct tc_opt *opts,
		   const char *name);

/* Integer/number options with end-pointer checks; print and return -1 on
 * a bad value. */
int tc_arg_long(const char *verb, const char *opt, const char *s, long min,
		long max, long *out);
int tc_arg_double(const char *verb, const char *opt, const char *s, double min,
		  double *out);

/* Print an error as "trainctl: VERB: message" and return its exit code. */
int tc_fail(const char *verb, const struct tc_error *err);
/* Output columns of every trial row besides its parameters and metrics.
 * A parameter may not take one of these names; a metric that has one (or
 * a parameter's) is shown as "metric.NAME". */
extern const char *const tc_reserved_columns[];
int tc_is_reserved_column(const char *name);
struct tc_spec;
int tc_check_param_names(const struct tc_spec *spec, struct tc_error *err);

/* The same for a spec that failed to load: unreadable is bad usage (2). */
int tc_fail_spec(const char *verb, struct tc_error *err);
int tc_usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Open the journal for a verb that names an experiment (the state dir as
 * tc_state_dir_resolve() finds it).  Refuses to create one when it does
 * not exist (TC_ERR_NOTFOUND). */
int tc_open_existing(const char *state_flag, struct tc_journal **j,
		     struct tc_error *err);

/* The same for a verb that only reads: the journal is opened read-only
 * (nothing in the state directory is created or written). */
int tc_open_readonly(const char *state_flag, struct tc_journal **j,
		     struct tc_error *err);

/* tc_state_dir_hint() into a static buffer, valid until the next call:
 * "" or " --state-dir DIR", for the commands a verb prints. */
const char *tc_state_hint(const char *state_dir);

/* Resolve a TRIAL argument to an id: an id, a unique id prefix, an index,
 * or #index.  Digits that are both an index and the unique prefix of
 * another trial's id are refused as ambiguous (TC_ERR_USAGE). */
int tc_find_trial(struct tc_journal *j, const char *exp, const char *arg,
		  char id[16], struct tc_error *err);

/* Parse --format (default def); prints and returns -1 when not allowed. */
int tc_get_format(const char *verb, const char *s, enum tc_format def,
		  unsigned allowed_mask, enum tc_format *out);
#define TC_FMTS(...) tc_fmt_mask(__VA_ARGS__, -1)
unsigned tc_fmt_mask(int first, ...);

/* Write JSON to stdout (indented), with a newline. */
int tc_print_json(json_t *v);

/* A value from a final metric row: number or its special text; rounded
 * to 6 significant digits for tables, or (_exact, for CSV) the shortest
 * text that reads back as the same double. */
void tc_fmt_metric(char *buf, size_t len, int has, double v, const char *special);
void tc_fmt_metric_exact(char *buf, size_t len, int has, double v,
			 const char *special);


/* "a,b,,c" → its non-empty names, pointers into a copy (*store): both
 * *store and *out to free.  *out NULL when out of memory. */
size_t tc_split_list(const char *s, char **store, const char ***out);

/* ISO 8601 UTC time. */
void tc_fmt_time(char *buf, size_t len, double t);

/* The experiment seed: --seed, else search.seed, else one picked now
 * (*picked set). */
struct tc_spec;
uint64_t tc_pick_seed(const struct tc_spec *spec, const char *flag, int *picked);

/* If the spec file (spec_path, or the experiment's recorded one when
 * NULL) changed since the experiment recorded it: without force, say so
 * and return the usage exit code; with force, re-plan from it (new points
 * are added, trials that have not succeeded run the new command).  0 when
 * there is nothing to refuse; else the exit code. */
int tc_prepare_resume(const char *verb, struct tc_journal *j, const char *name,
		      const char *spec_path, int force);

/* Run (or resume) an existing experiment with the run options in a;
 * returns the exit code.  May replace *jp (--detach reopens the journal
 * in the child). */
int tc_run_existing(const char *verb, struct tc_journal **jp, const char *name,
		    const struct tc_args *a, const struct tc_opt *opts,
		    int requeue_interrupted);

/* A parameter's value as table text: strings bare, floats as short as
 * read back exactly. */
void tc_fmt_param(json_t *v, char *buf, size_t len);

int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_results(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_best(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_completion(int argc, char **argv);
int cmd_lint(int argc, char **argv);

/* run: the findings of the cluster policy `which` (nrp, strict or a file)
 * on spec as warnings on stderr; 0, or TC_EXIT_USAGE when the policy
 * refuses them or cannot be read (cli/lint.c). */
int tc_policy_gate(const char *verb, const char *which,
		   const struct tc_spec *spec);

#endif
