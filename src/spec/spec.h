/*
 * spec.h — the experiment file (version 1): YAML in, a validated struct out.
 *
 * tc_spec_load() reads a file, tc_spec_parse() a buffer (the fuzz target and
 * `resume`, which re-reads the spec text kept in the journal, use it).  Either
 * returns 0 and a spec, or a negative tc_status with err filled as
 * "file:line:col: message" (TC_ERR_SPEC for anything wrong with the file,
 * TC_ERR_IO when it cannot be read).  Nothing is half-built on error: *out is
 * left NULL.  What a backend needs beyond the file's own rules (the
 * kubernetes backend: an image, ...) is the backend's check, made by every
 * verb that picks it (exec/backend.h), since `--backend` can pick another
 * than backend: says.
 *
 * Ownership: every string and array hanging off a struct tc_spec lives in the
 * spec's own arena and is released by tc_spec_free(); callers never free
 * parts of it.
 */
#ifndef TC_SPEC_H
#define TC_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/error.h"

struct tc_kspec;

#define TC_NAME_MAX 40              /* experiment names: [a-z0-9-]{1,40} */
#define TC_GRID_MAX 100000000ULL    /* larger grids need search.trials */
#define TC_SPEC_MAX_BYTES (16 << 20)
#define TC_DURATION_MAX (365 * 86400.0) /* run.timeout, run.backoff */

struct tc_pos {
	int line, col; /* 1-based; 0 when unknown */
};

/* A typed scalar, as YAML typed it (plain 8 → int, "8" → string).
 * TC_V_ABSENT is no value a file can hold: it fills the slot of a
 * parameter a trial does not have (when:, tc_spec_param_present), its
 * text NULL.  It equals only itself (tc_value_equal), and the trial's
 * params JSON, id, {{args}} and results leave it out. */
enum tc_vtype { TC_V_STR, TC_V_INT, TC_V_FLOAT, TC_V_BOOL, TC_V_NULL,
		TC_V_ABSENT };

struct tc_value {
	enum tc_vtype type;
	const char *text; /* as substituted into commands: the scalar as
			     written; for sampled floats the shortest text
			     that reads back to the same double */
	long long i;      /* TC_V_INT */
	double f;         /* TC_V_FLOAT (and TC_V_INT, converted) */
	int b;            /* TC_V_BOOL */
};

enum tc_pkind {
	TC_P_VALUES,      /* values: [...] */
	TC_P_CONST,       /* value: x  (values has exactly one entry) */
	TC_P_UNIFORM,     /* distribution: uniform, min, max */
	TC_P_LOG_UNIFORM, /* distribution: log_uniform, 0 < min <= max */
	TC_P_INT_UNIFORM, /* distribution: int_uniform, integer min, max */
	TC_P_DERIVED,     /* from: p, map: {value of p: value}: not a search
			     dimension; each trial's value is map[its value
			     of p] (tc_spec_derive) */
	/* The distributions of W&B sweeps (search/dist.h draws them, each
	 * through its quantile function).  q > 0 quantises any of them:
	 * round(x / q) q (q_normal, q_beta, ...). */
	TC_P_Q_UNIFORM,   /* q_uniform: uniform(min, max), quantised */
	TC_P_Q_LOG_UNIFORM, /* q_log_uniform_values: log_uniform, quantised */
	TC_P_EXP_UNIFORM, /* exp_uniform: e^uniform(min, max), min and max
			     natural-log exponents (W&B's log_uniform);
			     q_exp_uniform with q */
	TC_P_INV_EXP_UNIFORM, /* inv_exp_uniform: e^-uniform(min, max) (W&B's
				 inv_log_uniform) */
	TC_P_INV_LOG_UNIFORM, /* inv_log_uniform_values: 1/x log-uniform, x
				 in [min, max], 0 < min */
	TC_P_NORMAL,      /* normal (q_normal): mu, sigma */
	TC_P_LOG_NORMAL,  /* log_normal (q_log_normal): e^normal(mu, sigma) */
	TC_P_BETA,        /* beta (q_beta): a, b */
};

/* One entry of a parameter's when:: the parameter at index param has
 * one of values (copies of that parameter's own values: entries, or of
 * its map's values when it is derived: same type and text). */
struct tc_cond {
	int param;
	struct tc_value *values;
	size_t nvalues;
	struct tc_pos pos; /* of the name in when: */
};

struct tc_param {
	const char *name;
	enum tc_pkind kind;
	struct tc_value *values; /* TC_P_VALUES, TC_P_CONST */
	size_t nvalues;          /* >= 1 for those; duplicates are an error */
	double min, max;         /* distributions; min <= max */
	long long imin, imax;    /* TC_P_INT_UNIFORM: the exact bounds (min
				    and max hold them rounded) */
	struct tc_pos pos;       /* of the parameter's key */

	/* The distributions after TC_P_DERIVED (0 when not given). */
	double q;                /* > 0: quantisation step; 0: none */
	int q_int;               /* q written as an integer: values are
				    integers (TC_V_INT) */
	double mu, sigma;        /* normal kinds (defaults 0, 1) */
	double a, b;             /* beta kinds (defaults 1, 1) */
	/* TC_P_VALUES with probabilities: [...]: one weight per value, >= 0,
	 * summing to 1 (within 1e-6; normalised here); NULL otherwise.
	 * Random search draws values with these weights; a grid refuses
	 * them (it runs every value). */
	double *probs;
	struct tc_pos probs_pos;

	/* TC_P_DERIVED: values[k] is the value for keys[k] (nvalues of
	 * each); from is the index of the parameter it is derived from, a
	 * values:/value: parameter every value of which has a key. */
	struct tc_value *keys;
	int from;
	struct tc_pos from_pos;  /* of from:'s value */

	/* when: {a: [x, y], b: z}: the parameter is present only in trials
	 * where every named parameter is present with one of its listed
	 * values (nwhen 0: always, unless derived from an absent one).
	 * Named parameters have values: (values:, value:, or a derived
	 * map's), never a distribution, so whether a parameter is present
	 * never depends on a drawn value. */
	struct tc_cond *when;
	size_t nwhen;
	struct tc_pos when_pos;  /* of the when: key */
	int conditional;         /* may be absent from a trial: it has
				    when:, or is derived from a parameter
				    that may be */
};

/* One `name: value` of an exclude/include entry. */
struct tc_assign {
	const char *name;
	struct tc_value value;
	struct tc_pos pos;
};

/* An exclude or include entry: a partial (exclude) or full (include)
 * assignment.  Names are checked against the parameters at load time.
 * Assignments are in parameter order.  An include entry is complete (n ==
 * nparams): the constants it leaves out are filled in from their value:.
 * An exclude value for a values:/value: parameter must be one of that
 * parameter's values (tc_value_equal) and is stored as that value, same
 * type and text, so plain comparison of text matches it. */
struct tc_point {
	struct tc_assign *a;
	size_t n;
	struct tc_pos pos;
};

struct tc_str {
	const char *text;
	struct tc_pos pos; /* of the scalar */
};

/* Where an env: value comes from when it is not written out. */
enum tc_env_ref {
	TC_ENV_LITERAL = 0, /* value holds it */
	TC_ENV_SECRET,      /* {secretKeyRef: {name, key}}: Kubernetes only */
	TC_ENV_CONFIGMAP,   /* {configMapKeyRef: {name, key}}: Kubernetes only */
	TC_ENV_FIELD,       /* {fieldRef: {fieldPath}}: Kubernetes only */
	TC_ENV_FILE,        /* {file: PATH}: a local file's content, read
			       when the trial starts; local backend only */
};

struct tc_kv {
	const char *key;
	const char *value; /* scalars of any type, as text; NULL for a
			      reference */
	struct tc_pos pos; /* of the value */
	enum tc_env_ref ref;
	const char *ref_name; /* secret or ConfigMap name, fieldPath, or the
				 file's path as written */
	const char *ref_key;  /* key in the secret or ConfigMap */
};

enum tc_method {
	TC_SEARCH_GRID,
	TC_SEARCH_RANDOM,
	TC_SEARCH_SOBOL,
	TC_SEARCH_TPE, /* tpe (alias bayes): adaptive, search/tpe.h */
};

/* search.startup when not given: random points before TPE models (as
 * Optuna's n_startup_trials) */
#define TC_TPE_STARTUP_DEFAULT 10

/* early_stop.method: the rules of exec/prune.h */
enum tc_es_method { TC_ES_NONE, TC_ES_ASHA, TC_ES_HYPERBAND, TC_ES_MEDIAN };

/* A stage's fan-out (foreach:). */
enum tc_foreach {
	TC_FE_NONE,   /* one job */
	TC_FE_LIST,   /* foreach: [a, b, {k: v}]: one job per entry */
	TC_FE_GLOB,   /* foreach: {glob: PATTERN}: one per file, matched
			 in the working directory when the plan is made */
	TC_FE_LINES,  /* foreach: {lines: FILE}: one per non-blank line */
	TC_FE_SWEEP,  /* foreach: sweep: one per trial of the search space */
	TC_FE_TRIALS, /* foreach: {trials: STAGE}: one per job of STAGE */
};

/*
 * One stage of a pipeline (stages:).  Its jobs are trials of the
 * experiment: each runs the stage's command with {{item}} (and
 * {{item.KEY}} for a map entry) set, and starts only when the jobs it
 * needs have succeeded.  A need on a stage with the same foreach (the same
 * list, pattern, file, or both sweep; or the stage a foreach: {trials:}
 * names) is item-wise: job k needs job k of that stage; any other need
 * gathers: every job of that stage.  {{needs.STAGE}} is the directory of
 * the needed job (of each needed job, for a gather: an argv element that
 * says it is repeated once per job).
 */
struct tc_stage {
	const char *name;
	struct tc_pos pos;        /* of its key */
	int *needs;               /* stage indices */
	struct tc_pos *needs_pos;
	size_t nneeds;
	enum tc_foreach foreach;
	struct tc_pos foreach_pos;
	const char *foreach_key;  /* what makes two foreach the same: the
				     list as JSON, the pattern, the file,
				     "sweep", or NULL */
	const char *pattern;      /* TC_FE_GLOB, TC_FE_LINES; TC_FE_LIST:
				     the entries as a JSON array (strings,
				     numbers, or flat maps of them) */
	int of;                   /* TC_FE_TRIALS: the stage, a sweep */
	struct tc_str *inputs, *outputs; /* outputs: paths in the job's
					    directory */
	size_t ninputs, noutputs;
	/* the stage as a spec of its own: its command or script, the
	 * top-level env with its own over it, and as parameters: the
	 * search space (sweep, trials) or "item" (and "item.KEY") */
	struct tc_spec *spec;
	/* what the stage sets of its own (0: the top level's, as in spec) */
	struct tc_pos resources_pos, kubernetes_pos;
	int own_resources, own_kubernetes, own_parallel;
};

struct tc_spec {
	const char *path;  /* as given (for messages) */
	const char *text;  /* the whole file, NUL-terminated */
	size_t text_len;
	char hash[65];     /* sha256 of the file's bytes, hex */

	int version;       /* 1 */
	const char *name;

	struct tc_str *command; /* argv; NULL when script is used */
	size_t ncommand;
	struct tc_str script;   /* text NULL when command is used */

	struct tc_kv *env;
	size_t nenv;

	struct tc_param *params; /* in file order (grid order) */
	size_t nparams;
	/* The parameters in the order a trial's values are set: each after
	 * the parameters its when: names and its from:, otherwise in file
	 * order (so the identity when no parameter has when:).  Grid's
	 * odometer and random draws walk it.  NULL in a spec built by hand:
	 * file order (tc_spec_nth). */
	const size_t *order;
	int conditional;         /* some parameter may be absent */

	struct {
		enum tc_method method; /* default grid */
		uint64_t trials;       /* random, sobol, tpe: required (tpe:
					  the budget); grid: cap (0 = none) */
		int has_trials;
		uint64_t seed;
		int has_seed;          /* 0: run picks one and journals it */
		unsigned startup;      /* tpe: random points first (default
					  TC_TPE_STARTUP_DEFAULT) */
		struct tc_pos method_pos; /* of method's value (0: not given) */
		struct tc_point *exclude;
		size_t nexclude;
		struct tc_point *include;
		size_t ninclude;
	} search;

	struct {
		const char *name;  /* NULL when the spec declares no metric */
		int goal;          /* +1 maximize (default), -1 minimize */
		const char *regex; /* PCRE2 with named groups, or NULL */
		struct tc_pos regex_pos;
	} metric;

	/* early_stop: stop trials whose metric lags the others' at the same
	 * step (exec/prune.h says how each method decides) */
	struct {
		enum tc_es_method method; /* TC_ES_NONE without the key */
		const char *metric; /* default: metric.name */
		int goal;           /* +1 maximize, -1 minimize; default
				       metric.goal */
		double min_step;    /* default 1 */
		double max_step;    /* 0: none (asha, median) */
		double reduction_factor; /* asha, hyperband: default 3 */
		int min_trials;     /* median: others needed at a step,
				       default 3 */
		struct tc_pos pos;  /* of the key */
	} early_stop;

	struct {
		int given;         /* 0 when the spec has no resources: key */
		double cpu;        /* cores; 0 = not requested */
		long long memory;  /* bytes; 0 = not requested */
		int gpu;
		/* cpu or memory written with {{...}}: the text, rendered
		 * per trial (k8s/manifest.h); the number above is then 0.
		 * Only the kubernetes backend runs such a spec. */
		struct tc_str cpu_template, memory_template;
		const char *memory_text; /* the quantity as written when
					    Kubernetes reads it the same
					    ("28.8Gi"), else NULL */
		long long ephemeral;     /* ephemeral-storage bytes; 0 = not
					    requested (Kubernetes only) */
		const char *ephemeral_text; /* as memory_text */
	} resources;

	struct {
		int parallel;      /* >= 1, default 1 */
		double timeout;    /* seconds, 0 = none; at most
				      TC_DURATION_MAX */
		int retries;       /* >= 0, default 0 */
		double backoff;    /* seconds before the first retry, default 1;
				      doubles each attempt, capped at 300 */
		int max_failures;  /* >= 0, default 3: stop starting trials
				      after this many failed attempts while
				      none succeeded (exec/record.h); 0 =
				      never */
	} run;

	const char *workdir; /* as written, or NULL: the spec's directory
				(see tc_spec_workdir) */
	struct tc_pos workdir_pos; /* of the value */
	const char *backend; /* "local" (default) or "kubernetes" */
	int nodes;           /* default 1: processes (ranks) of a trial,
				one pod each on Kubernetes, all on this
				machine locally; each gets the rendezvous
				variables (tc_spec_rendezvous_vars) */
	struct tc_pos nodes_pos; /* of the nodes: key; 0:0 without one */
	/* metrics: {ranks: 0|all}: whose metrics a nodes > 1 trial records
	 * (default rank 0's; all: every rank's, named rank<i>.NAME) */
	struct {
		int all_ranks;
		struct tc_pos pos; /* of the metrics: key */
	} metrics;
	int placement_templates; /* kubernetes.image, kubernetes.nodeSelector
				    or resources use {{...}}: checked per
				    trial when planned */
	/* stages: (nstages 0: none, the spec is one job per trial) in file
	 * order, which is also a topological order (a stage needs only
	 * stages before it) */
	struct tc_stage *stages;
	size_t nstages;
	/* artifacts: {store: s3://bucket/prefix, endpoint, region}: where a
	 * pipeline job's declared outputs go (store NULL: nowhere) */
	struct {
		const char *store, *endpoint, *region; /* NULL when not given */
		struct tc_pos pos;                     /* of the artifacts: key */
		struct tc_pos store_pos, endpoint_pos;
	} artifacts;
	const struct tc_stage *stage; /* in a stage's own spec: that stage */
	struct tc_kspec *k8s; /* the kubernetes: section, typed and checked
				 (k8s/kspec.h); never NULL, empty without
				 the section */

	void *arena_;        /* private */
};

/* The variables trainctl sets for each rank of a nodes > 1 trial, on
 * every backend (those torchrun sets): env: may not set them then. */
#define TC_RENDEZVOUS_NVARS 7
extern const char *const tc_spec_rendezvous_vars[TC_RENDEZVOUS_NVARS];

/* The GPUs one trial holds: resources.gpu for each of its nodes (ranks
 * locally, pods on Kubernetes).  GPU-hours count these. */
int tc_spec_trial_gpus(const struct tc_spec *spec);

int tc_spec_load(const char *path, struct tc_spec **out, struct tc_error *err);
int tc_spec_parse(const char *path, const char *buf, size_t len,
		  struct tc_spec **out, struct tc_error *err);

/* A spec as recorded in a journal when its experiment was created: as
 * tc_spec_parse(), but without the rules that refuse what an older trainctl
 * accepted (parameters named like a built-in {{name}} or a variable a
 * script must not get, durations over TC_DURATION_MAX), so that every
 * experiment already in a state directory stays readable and resumable.
 * New experiments go through tc_spec_load()/tc_spec_parse(). */
int tc_spec_parse_recorded(const char *path, const char *buf, size_t len,
			   struct tc_spec **out, struct tc_error *err);
void tc_spec_free(struct tc_spec *spec);

/* Whether two values are the same parameter value: numbers (int or float)
 * by numeric value (1 == 1.0, 0.001 == 1e-3; NaN equals NaN), booleans by
 * value, nulls always, strings byte for byte; a string never equals a
 * number ("8" != 8).  The rule behind "duplicate value" errors and behind
 * matching exclude entries at load time. */
int tc_value_equal(const struct tc_value *a, const struct tc_value *b);

/* Index of the parameter called name (len bytes), or -1. */
int tc_spec_param_index(const struct tc_spec *spec, const char *name,
			size_t len);

/* The value of an absent parameter (type TC_V_ABSENT, text NULL). */
extern const struct tc_value tc_value_absent;

/* The k-th parameter in spec->order. */
static inline size_t tc_spec_nth(const struct tc_spec *spec, size_t k)
{
	return spec->order ? spec->order[k] : k;
}

/*
 * Conditional parameters (when:).  values has one entry per parameter, in
 * spec order.  Whether parameter i is present in a trial depends only on
 * the parameters before it in spec->order (those its when: names, and its
 * from:), which must be set: walk spec->order, and ask for each parameter
 * before giving it a value (a TPE or a random draw then draws nothing for
 * an absent one).
 *
 * tc_spec_param_present: 1 when every parameter its when: names is present
 * with one of the listed values and, for a derived parameter, its source
 * is present; else 0.  It reads values and writes nothing.
 *
 * tc_spec_param_resolve: the same answer, and sets values[i]:
 * tc_value_absent when absent, its map's entry when derived (left alone
 * otherwise, for the caller to give).  TC_ERR_SPEC when a derived
 * parameter's map has no entry for its source's value.
 */
int tc_spec_param_present(const struct tc_spec *spec,
			  const struct tc_value *values, size_t i);
int tc_spec_param_resolve(const struct tc_spec *spec, struct tc_value *values,
			  size_t i);

/* tc_spec_param_resolve() over spec->order: every derived parameter of
 * values set from the parameter it is derived from, and every parameter a
 * trial with these values does not have set to tc_value_absent; the
 * others are left as they are.  The one rule behind grid, random, sobol
 * and include points.  0, or TC_ERR_SPEC when a value has no entry in a
 * map (the loader makes sure none lacks one for the values a plan can
 * give). */
int tc_spec_derive(const struct tc_spec *spec, struct tc_value *values);

/* Number of grid points before exclude/include, saturating at UINT64_MAX.
 * Distribution parameters do not count (a grid spec has none).  With
 * conditional parameters (when:) an upper bound: each counts as if it
 * were present everywhere. */
uint64_t tc_spec_grid_size(const struct tc_spec *spec);

/* Kubernetes quantities and durations.  Each returns 0 or TC_ERR_SPEC (with
 * no message: the caller adds the position). */
int tc_parse_cpu(const char *s, double *cores);        /* "2", "0.5", "500m" */
int tc_parse_bytes(const char *s, long long *bytes);   /* "2Gi", "512M", "1e9",
							  "1024" */
int tc_parse_duration(const char *s, double *seconds); /* "90s", "30m", "2h",
							  "1h30m", "1.5h",
							  "250ms", "0" */

/* The closest of candidates to word by edit distance when close enough to
 * suggest ("did you mean ..."), else NULL. */
const char *tc_did_you_mean(const char *word, const char *const *candidates,
			    size_t n);

/* The directory a trial runs in: workdir: resolved against spec_dir (the
 * spec's directory, absolute) when relative, spec_dir itself without one.
 * The one rule for validate, run and the runner.  malloc'd, normalised;
 * NULL when out of memory. */
char *tc_spec_workdir(const struct tc_spec *spec, const char *spec_dir);

/* For the local backend: is the working directory (tc_spec_workdir) a
 * directory, and does command[0] name a program that runs from it (a path
 * relative to it, or a name in $PATH)?  0, or TC_ERR_SPEC at workdir:'s or
 * command[0]'s position ("command 'pyhton3' not found (did you mean
 * python3?)").  A script, or a command[0] with {{...}}, passes. */
/* The env: values given as {file: PATH} (PATH relative to spec_dir unless
 * absolute), each read whole, one trailing newline dropped, and set in
 * into (a JSON object; NULL: only check they can be read).  A secret,
 * ConfigMap or field reference is TC_ERR_SPEC at its position: only
 * Kubernetes resolves those.  The local backend's rule, for validate
 * (through tc_spec_check_program) and for the runner, which reads the
 * files once when the run starts. */
#define TC_ENV_FILE_MAX (1 << 20)
int tc_spec_read_env_files(const struct tc_spec *spec, const char *spec_dir,
			   json_t *into, struct tc_error *err);

int tc_spec_check_program(const struct tc_spec *spec, const char *spec_dir,
			  struct tc_error *err);

/* A pipeline's stage by name, or NULL (none, or name is NULL). */
const struct tc_stage *tc_spec_stage(const struct tc_spec *spec, const char *name);

/* What a job of stage name runs by (its command, env, run, resources,
 * kubernetes): the stage's own spec, or spec itself for a trial of no
 * stage. */
const struct tc_spec *tc_spec_for_stage(const struct tc_spec *spec,
					const char *name);

#endif
