/*
 * common.c — option parsing and helpers shared by the verbs (see cli.h).
 */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "search/search.h"
#include "spec/spec.h"
#include "store/trials.h"
#include "util/json.h"

static const struct tc_opt common_opts[] = {
	{"state-dir", 0, 1, "DIR",
	 "state directory (default: $TRAINCTL_HOME, else the nearest "
	 ".trainctl here or above)"},
	{"help", 'h', 0, NULL, "show this help"},
};

static void print_help(const char *usage, const char *description,
		       const struct tc_opt *opts)
{
	printf("usage: trainctl %s\n\n%s\n\noptions:\n", usage, description);
	for (int pass = 0; pass < 2; pass++) {
		const struct tc_opt *o = pass ? common_opts : opts;
		size_t n = pass ? 2 : SIZE_MAX;

		for (size_t i = 0; o && i < n && o[i].name; i++) {
			char left[64];

			snprintf(left, sizeof(left), "%s%c%s--%s%s%s",
				 o[i].short_name ? "-" : "",
				 o[i].short_name ? o[i].short_name : ' ',
				 o[i].short_name ? ", " : "  ", o[i].name,
				 o[i].has_arg ? " " : "",
				 o[i].has_arg ? o[i].arg_name : "");
			printf("  %-28s %s\n", left + (o[i].short_name ? 0 : 1),
			       o[i].help);
		}
	}
}

static int find_opt(const struct tc_opt *opts, const char *name, size_t len,
		    char short_name)
{
	for (int i = 0; opts && opts[i].name; i++)
		if (short_name ? opts[i].short_name == short_name
			       : strlen(opts[i].name) == len &&
					 !strncmp(opts[i].name, name, len))
			return i;
	return -1;
}

/* set while tc_describe_verb runs a verb: parsing only describes */
static struct tc_verb_desc *describing;

int tc_describe_verb(const struct tc_verb *v, struct tc_verb_desc *out)
{
	char *argv[] = {(char *)v->name, NULL};

	memset(out, 0, sizeof(*out));
	describing = out;
	v->fn(1, argv);
	describing = NULL;
	return out->usage ? 0 : -1;
}

int tc_parse_args(int argc, char **argv, const struct tc_opt *opts,
		  const char *usage, const char *description,
		  struct tc_args *out)
{
	int nopts = 0, only_pos = 0;

	memset(out, 0, sizeof(*out));
	if (describing) {
		*describing = (struct tc_verb_desc){
			opts, common_opts,
			sizeof(common_opts) / sizeof(common_opts[0]), usage,
			description};
		return 1;
	}
	while (opts && opts[nopts].name)
		nopts++;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *name, *val = NULL;
		size_t len;
		int idx = -1, common = -1;

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (out->npos >= (int)(sizeof(out->pos) / sizeof(out->pos[0]))) {
				fprintf(stderr, "trainctl %s: too many arguments\n",
					argv[0]);
				return -1;
			}
			out->pos[out->npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');

			name = a + 2;
			len = eq ? (size_t)(eq - name) : strlen(name);
			if (eq)
				val = eq + 1;
			idx = find_opt(opts, name, len, 0);
			if (idx < 0)
				common = find_opt(common_opts, name, len, 0);
		} else {
			name = a + 1;
			len = 1;
			if (a[2] != '\0')
				val = a + 2;
			idx = find_opt(opts, NULL, 0, a[1]);
			if (idx < 0)
				common = find_opt(common_opts, NULL, 0, a[1]);
		}
		if (common == 1 || (idx < 0 && common < 0 && !strcmp(a, "-h"))) {
			print_help(usage, description, opts);
			return 1;
		}
		if (idx < 0 && common < 0) {
			const char *cands[40];
			size_t nc = 0;
			char word[64];
			const char *dym;

			for (int k = 0; k < nopts && nc < 38; k++)
				cands[nc++] = opts[k].name;
			cands[nc++] = "state-dir";
			cands[nc++] = "help";
			snprintf(word, sizeof(word), "%.*s", (int)len, name);
			dym = tc_did_you_mean(word, cands, nc);
			fprintf(stderr, "trainctl %s: unknown option '%s'%s%s%s\n"
					"Run 'trainctl %s --help' for usage.\n",
				argv[0], a, dym ? " (did you mean --" : "",
				dym ? dym : "", dym ? "?)" : "", argv[0]);
			return -1;
		}
		{
			const struct tc_opt *o = idx >= 0 ? &opts[idx] : &common_opts[common];
			int slot = idx >= 0 ? idx : nopts + common;

			if (slot >= 32) {
				fprintf(stderr, "trainctl: too many options\n");
				return -1;
			}
			if (o->has_arg) {
				if (!val) {
					if (i + 1 >= argc) {
						fprintf(stderr,
							"trainctl %s: option --%s needs "
							"a value (%s)\n",
							argv[0], o->name, o->arg_name);
						return -1;
					}
					val = argv[++i];
				}
			} else if (val) {
				fprintf(stderr,
					"trainctl %s: option --%s takes no value\n",
					argv[0], o->name);
				return -1;
			} else {
				val = "1";
			}
			out->val[slot] = val;
			out->seen[slot] = 1;
		}
	}
	/* common options live after the verb's own, found by name */
	(void)nopts;
	return 0;
}

const char *tc_arg(const struct tc_args *a, const struct tc_opt *opts,
		   const char *name)
{
	int n = 0;

	while (opts && opts[n].name) {
		if (!strcmp(opts[n].name, name))
			return a->val[n];
		n++;
	}
	for (int c = 0; c < 2; c++)
		if (!strcmp(common_opts[c].name, name))
			return a->val[n + c];
	return NULL;
}

int tc_arg_long(const char *verb, const char *opt, const char *s, long min,
		long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr,
			"trainctl %s: --%s must be an integer from %ld to %ld, "
			"not '%s'\n",
			verb, opt, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int tc_arg_double(const char *verb, const char *opt, const char *s, double min,
		  double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min) {
		fprintf(stderr, "trainctl %s: --%s must be a number >= %g, not '%s'\n",
			verb, opt, min, s);
		return -1;
	}
	*out = v;
	return 0;
}

int tc_fail(const char *verb, const struct tc_error *err)
{
	char buf[2048];

	tc_error_format(err, buf, sizeof(buf));
	if (err->file[0] && err->line > 0)
		fprintf(stderr, "%s\n", buf);
	else
		fprintf(stderr, "trainctl %s: %s\n", verb, buf);
	return tc_status_exit(err->code);
}

const char *const tc_reserved_columns[] = {
	"trial", "state", "index", "trial_seed", "attempts", "command",
	"wall_seconds", "reason", "notes", NULL,
};

int tc_is_reserved_column(const char *name)
{
	for (int i = 0; tc_reserved_columns[i]; i++)
		if (!strcmp(name, tc_reserved_columns[i]))
			return 1;
	return 0;
}

int tc_check_param_names(const struct tc_spec *spec, struct tc_error *err)
{
	for (size_t i = 0; i < spec->nparams; i++)
		if (tc_is_reserved_column(spec->params[i].name))
			return tc_error_at(err, TC_ERR_SPEC, spec->path,
					   spec->params[i].pos.line,
					   spec->params[i].pos.col,
					   "parameter name '%s' is reserved: it names "
					   "a column of trainctl's output; rename the "
					   "parameter",
					   spec->params[i].name);
	return 0;
}

int tc_fail_spec(const char *verb, struct tc_error *err)
{
	/* an experiment file that cannot be read is bad usage, like a bad one */
	if (err->code == TC_ERR_IO)
		err->code = TC_ERR_USAGE;
	return tc_fail(verb, err);
}

int tc_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "trainctl %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'trainctl %s --help' for usage.\n", verb);
	return TC_EXIT_USAGE;
}

static int open_existing(const char *state_flag, int readonly,
			 struct tc_journal **j, struct tc_error *err)
{
	char *dir = tc_state_dir_resolve(state_flag);
	char path[PATH_MAX];
	struct stat st;
	int rc;

	*j = NULL;
	if (!dir)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	if (stat(path, &st) != 0) {
		if (state_flag || getenv("TRAINCTL_HOME"))
			tc_error_set(err, TC_ERR_NOTFOUND,
				     "no trainctl state in %s", dir);
		else
			tc_error_set(err, TC_ERR_NOTFOUND,
				     "no trainctl state here: no .trainctl in "
				     "the current directory or its parents (run "
				     "where you ran `trainctl run`, or pass "
				     "--state-dir)");
		free(dir);
		return TC_ERR_NOTFOUND;
	}
	rc = readonly ? tc_journal_open_ro(dir, j, err)
		      : tc_journal_open(dir, j, err);
	free(dir);
	return rc;
}

int tc_open_existing(const char *state_flag, struct tc_journal **j,
		     struct tc_error *err)
{
	return open_existing(state_flag, 0, j, err);
}

int tc_open_readonly(const char *state_flag, struct tc_journal **j,
		     struct tc_error *err)
{
	return open_existing(state_flag, 1, j, err);
}

const char *tc_state_hint(const char *state_dir)
{
	static char buf[TC_STATE_HINT_MAX];

	tc_state_dir_hint(state_dir, buf, sizeof(buf));
	return buf;
}

static int find_trial(struct tc_journal *j, struct tc_trials *tr,
		      const char *exp, const char *arg, char id[16],
		      struct tc_error *err)
{
	const char *digits = arg[0] == '#' ? arg + 1 : arg;
	char by_idx[16] = "", by_id[16];
	char *end;
	long idx = -1;
	int n;

	errno = 0;
	if (*digits >= '0' && *digits <= '9') {
		idx = strtol(digits, &end, 10);
		if (*end || errno || strlen(digits) >= 8)
			idx = -1;
	}
	if (idx >= 0 && tc_trials_find_idx(tr, idx, by_idx, err))
		return TC_ERR_DB;
	if (arg[0] == '#') {
		if (by_idx[0]) {
			snprintf(id, 16, "%s", by_idx);
			return 0;
		}
		return tc_error_set(err, idx < 0 ? TC_ERR_USAGE : TC_ERR_NOTFOUND,
				    idx < 0 ? "'%s' is not an index: write #N, N a "
					      "trial's index in '%s'"
					    : "no trial with index %s in '%s' (see "
					      "`trainctl status%s %s`)",
				    idx < 0 ? arg : digits, exp,
				    idx < 0 ? "" : tc_state_hint(j->dir), exp);
	}
	if (!*arg)
		n = 0;
	else if ((n = tc_trials_find_prefix(tr, arg, by_id, err)) < 0)
		return n;
	if (by_idx[0] && n == 1 && strcmp(by_idx, by_id) != 0)
		return tc_error_set(err, TC_ERR_USAGE,
				    "trial '%s' is ambiguous in '%s': index %s is "
				    "trial %s, and trial %s's id starts with %s; "
				    "write #%s for the index, or more characters "
				    "of the id",
				    arg, exp, arg, by_idx, by_id, arg, arg);
	if (by_idx[0]) {
		snprintf(id, 16, "%s", by_idx);
		return 0;
	}
	if (n == 1) {
		snprintf(id, 16, "%s", by_id);
		return 0;
	}
	if (n > 1)
		return tc_error_set(err, TC_ERR_USAGE,
				    "trial '%s' is ambiguous in '%s': give more "
				    "characters of its id",
				    arg, exp);
	return tc_error_set(err, TC_ERR_NOTFOUND,
			    "no trial '%s' in experiment '%s' (give an id, an id "
			    "prefix, an index or #index; see `trainctl status%s "
			    "%s`)",
			    arg, exp, tc_state_hint(j->dir), exp);
}

/* The part of an item a user types for it: a path's last component. */
static const char *item_base(const char *item)
{
	const char *sl = strrchr(item, '/');

	return sl && sl[1] ? sl + 1 : item;
}

/* A pipeline's job by STAGE/ITEM: ITEM is the job's item as recorded, the
 * last component of a path item, a unique prefix of either, or of the
 * job's id (a sweep stage's jobs have no item); STAGE alone is the job of
 * a stage of one job.  1 when found, 0 when arg names no stage, < 0 on an
 * error (set). */
static int find_job(struct tc_trials *tr, const char *exp, const char *arg,
		    char id[16], struct tc_error *err)
{
	const char *slash = strchr(arg, '/');
	size_t ls = slash ? (size_t)(slash - arg) : strlen(arg);
	const char *want = slash ? slash + 1 : NULL;
	struct tc_job *jobs = NULL;
	size_t n = 0, nstage = 0, exact = 0, pre = 0;
	long hit_exact = -1, hit_pre = -1;
	int rc;

	if ((rc = tc_trials_jobs(tr, &jobs, &n, err)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		const char *item = jobs[i].item ? jobs[i].item : "";

		if (strlen(jobs[i].stage) != ls || strncmp(jobs[i].stage, arg, ls))
			continue;
		nstage++;
		if (!want) {
			hit_exact = (long)i;
			continue;
		}
		if (!strcmp(item, want) || (*item && !strcmp(item_base(item), want))) {
			exact++;
			hit_exact = (long)i;
		} else if (*want && (!strncmp(item, want, strlen(want)) ||
				     !strncmp(item_base(item), want, strlen(want)) ||
				     !strncmp(jobs[i].id, want, strlen(want)))) {
			pre++;
			hit_pre = (long)i;
		}
	}
	rc = 1;
	if (!nstage)
		rc = 0;
	else if (!want && nstage > 1)
		rc = tc_error_set(err, TC_ERR_USAGE,
				  "stage %.*s of '%s' has %zu jobs: write %.*s/ITEM",
				  (int)ls, arg, exp, nstage, (int)ls, arg);
	else if (!want || exact == 1)
		snprintf(id, 16, "%s", jobs[hit_exact].id);
	else if (!exact && pre == 1)
		snprintf(id, 16, "%s", jobs[hit_pre].id);
	else if (exact > 1 || pre > 1)
		rc = tc_error_set(err, TC_ERR_USAGE,
				  "'%s' is ambiguous in '%s': %zu jobs of stage "
				  "%.*s match; give more of the item or the job's id",
				  arg, exp, exact > 1 ? exact : pre, (int)ls, arg);
	else
		rc = tc_error_set(err, TC_ERR_NOTFOUND,
				  "no job '%s' in stage %.*s of '%s' (see `trainctl "
				  "status %s`)",
				  want, (int)ls, arg, exp, exp);
	for (size_t i = 0; i < n; i++)
		tc_job_free(&jobs[i]);
	free(jobs);
	return rc;
}

/* "#N" is index N; digits alone are an index too, unless they are also
 * the unique prefix of another trial's id: then the argument is refused
 * as ambiguous rather than guessed (cancel and retry act on the result). */
int tc_find_trial(struct tc_journal *j, const char *exp, const char *arg,
		  char id[16], struct tc_error *err)
{
	struct tc_trials *tr = tc_trials_open(j, exp, err);
	int rc;

	if (!tr)
		return TC_ERR_NOMEM;
	/* a pipeline's STAGE/ITEM (or STAGE of one job) before an id */
	rc = arg[0] != '#' ? find_job(tr, exp, arg, id, err) : 0;
	if (rc == 0)
		rc = find_trial(j, tr, exp, arg, id, err);
	else if (rc == 1)
		rc = 0;
	tc_trials_close(tr);
	return rc;
}

unsigned tc_fmt_mask(int first, ...)
{
	va_list ap;
	unsigned m = 0;
	int f = first;

	va_start(ap, first);
	while (f >= 0) {
		m |= 1u << f;
		f = va_arg(ap, int);
	}
	va_end(ap);
	return m;
}

int tc_get_format(const char *verb, const char *s, enum tc_format def,
		  unsigned allowed, enum tc_format *out)
{
	static const char *const names[] = {"table", "csv", "json", "markdown"};
	char list[128] = "";

	if (!s) {
		*out = def;
		return 0;
	}
	if (tc_format_parse(s, out) == 0 && (allowed & (1u << *out)))
		return 0;
	for (int i = 0; i < 4; i++)
		if (allowed & (1u << i)) {
			if (list[0])
				strcat(list, ", ");
			strcat(list, names[i]);
		}
	fprintf(stderr, "trainctl %s: --format must be one of %s, not '%s'\n",
		verb, list, s);
	return -1;
}

int tc_print_json(json_t *v)
{
	if (!v) {
		fprintf(stderr, "trainctl: out of memory\n");
		return -1;
	}
	if (tc_json_write(stdout, v, 2)) {
		fprintf(stderr, "trainctl: out of memory\n");
		return -1;
	}
	fputc('\n', stdout);
	return 0;
}

void tc_fmt_metric(char *buf, size_t len, int has, double v, const char *special)
{
	if (!has)
		snprintf(buf, len, "-");
	else if (special)
		snprintf(buf, len, "%s", special);
	else
		snprintf(buf, len, "%.6g", v);
}

void tc_fmt_metric_exact(char *buf, size_t len, int has, double v,
			 const char *special)
{
	if (!has || special || !isfinite(v)) {
		tc_fmt_metric(buf, len, has, v, special);
		return;
	}
	snprintf(buf, len, "%.*g", tc_double_digits(v, 6), v);
}

void tc_fmt_param(json_t *v, char *buf, size_t len)
{
	if (!v)
		snprintf(buf, len, "-");
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_real(v))
		tc_format_double(json_real_value(v), buf, len);
	else {
		char *t = json_dumps(v, JSON_ENCODE_ANY);

		snprintf(buf, len, "%s", t ? t : "");
		free(t);
	}
}

void tc_fmt_time(char *buf, size_t len, double t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

size_t tc_split_list(const char *s, char **store, const char ***out)
{
	size_t n = 0;
	char *save = NULL, *w;

	*out = NULL;
	if (!s || !(*store = strdup(s)) ||
	    !(*out = calloc(strlen(s) + 1, sizeof(**out))))
		return 0;
	for (w = strtok_r(*store, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (*w)
			(*out)[n++] = w;
	return n;
}
