/*
 * metrics.c — `trainctl metrics NAME [TRIAL...]`: every metric value the
 * journal holds, one row per value (the long form a plotting library or a
 * data frame takes): trial, index, attempt, step, name, value, time; with
 * --with-params, each parameter as a column too.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "spec/spec.h"
#include "store/experiment.h"
#include "store/series.h"
#include "util/json.h"

static const struct tc_opt metrics_opts[] = {
	{"format", 'o', 1, "FMT", "csv (default) or jsonl"},
	{"name", 0, 1, "METRIC[,METRIC...]", "only these metrics"},
	{"with-params", 'p', 0, NULL, "each parameter as a column too"},
	{NULL, 0, 0, NULL, NULL},
};

struct out {
	FILE *f;
	int jsonl;
	const struct tc_spec *spec; /* with-params: its parameters, in order */
	char ptrial[16];            /* the trial whose parameters these are */
	char *pcols;                /* its parameter columns, written once a
				       trial: ",v1,v2" or ",\"n1\":v1,..." */
	size_t npcols;
	char *line;                 /* the row being written */
	size_t len, cap;
};

static int grow(struct out *o, size_t more)
{
	if (o->len + more <= o->cap)
		return 0;
	size_t nc = o->cap ? o->cap : 256;
	while (nc < o->len + more)
		nc *= 2;
	char *nl = realloc(o->line, nc);
	if (!nl)
		return -1;
	o->line = nl;
	o->cap = nc;
	return 0;
}

static int put(struct out *o, const char *s, size_t n)
{
	if (grow(o, n))
		return -1;
	memcpy(o->line + o->len, s, n);
	o->len += n;
	return 0;
}

#define PUTS(o, s) put((o), (s), strlen(s))

/* Decimal digits of u ending at end; returns where they begin (printf
 * would otherwise be where the rows spend their time). */
static char *utoa_end(unsigned long long u, char *end)
{
	do {
		*--end = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	return end;
}

/* The shortest text that reads back as the same double: integers (the
 * common case for steps and counts) without printf. */
static int put_num(struct out *o, double v)
{
	char tmp[40];

	if (v == floor(v) && fabs(v) < 1e15) {
		char *p = utoa_end((unsigned long long)fabs(v), tmp + sizeof(tmp));

		if (v < 0 || (v == 0 && signbit(v)))
			*--p = '-';
		return put(o, p, (size_t)(tmp + sizeof(tmp) - p));
	}
	tc_double_text(tmp, sizeof(tmp), v, 6);
	return PUTS(o, tmp);
}

/* Seconds to the microsecond ("12.000345"). */
static int put_secs(struct out *o, double t)
{
	long long us = llround(t * 1e6);
	unsigned long long a = (unsigned long long)(us < 0 ? -us : us);
	char tmp[32], *p = tmp + sizeof(tmp);

	for (int k = 0; k < 6; k++, a /= 10)
		*--p = (char)('0' + a % 10);
	*--p = '.';
	p = utoa_end(a, p);
	if (us < 0)
		*--p = '-';
	return put(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* A CSV field, quoted as tc_csv_field quotes it. */
static int put_csv_field(struct out *o, const char *s)
{
	if (!tc_csv_needs_quotes(s))
		return PUTS(o, s);
	if (put(o, "\"", 1))
		return -1;
	for (; *s; s++)
		if ((*s == '"' && put(o, "\"", 1)) || put(o, s, 1))
			return -1;
	return put(o, "\"", 1);
}

/* A JSON string. */
static int put_json_str(struct out *o, const char *s)
{
	json_t *j;
	char *t;
	int rc;

	for (const char *p = s; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			goto escape;
	return put(o, "\"", 1) || PUTS(o, s) || put(o, "\"", 1) ? -1 : 0;
escape:
	j = json_string(s);
	t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	rc = t ? PUTS(o, t) : -1;
	free(t);
	json_decref(j);
	return rc;
}

/* The parameter columns of the trial whose parameters are `text`. */
static int param_cols(struct out *o, const char *text)
{
	json_t *params = text ? json_loads(text, 0, NULL) : NULL;
	size_t keep = o->len;
	int rc = 0;

	for (size_t i = 0; !rc && i < o->spec->nparams; i++) {
		const char *n = o->spec->params[i].name;
		json_t *v = json_object_get(params, n);

		if (o->jsonl) {
			char *t = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)
				    : NULL;

			rc = put(o, ",", 1) || put_json_str(o, n) ||
			     put(o, ":", 1) || PUTS(o, t ? t : "null");
			free(t);
		} else {
			char buf[1024];

			tc_fmt_param(v, buf, sizeof(buf));
			rc = put(o, ",", 1) || put_csv_field(o, buf);
		}
	}
	json_decref(params);
	/* keep them aside: they end every row of this trial */
	free(o->pcols);
	o->npcols = o->len - keep;
	o->pcols = malloc(o->npcols + 1);
	if (!o->pcols)
		return -1;
	memcpy(o->pcols, o->line + keep, o->npcols);
	o->len = keep;
	return rc;
}

static int put_row(struct out *o, const struct tc_series_row *r)
{
	int rc;

	o->len = 0;
	if (o->spec && (!o->pcols || strcmp(o->ptrial, r->trial))) {
		/* rows come trial by trial: its columns are written once */
		snprintf(o->ptrial, sizeof(o->ptrial), "%s", r->trial);
		if (param_cols(o, r->params))
			return -1;
	}
	if (o->jsonl) {
		rc = PUTS(o, "{\"trial\":") || put_json_str(o, r->trial) ||
		     PUTS(o, ",\"index\":") || put_num(o, (double)r->idx) ||
		     PUTS(o, ",\"attempt\":") || put_num(o, r->attempt) ||
		     PUTS(o, ",\"step\":") ||
		     (r->has_step ? put_num(o, r->step) : PUTS(o, "null")) ||
		     PUTS(o, ",\"name\":") || put_json_str(o, r->name) ||
		     PUTS(o, ",\"value\":") ||
		     (r->special ? put_json_str(o, r->special)
				 : put_num(o, r->value)) ||
		     PUTS(o, ",\"time\":") ||
		     (r->has_time ? put_secs(o, r->time) : PUTS(o, "null")) ||
		     (o->spec && put(o, o->pcols, o->npcols)) || PUTS(o, "}\n");
	} else {
		rc = PUTS(o, r->trial) || put(o, ",", 1) ||
		     put_num(o, (double)r->idx) || put(o, ",", 1) ||
		     put_num(o, r->attempt) || put(o, ",", 1) ||
		     (r->has_step && put_num(o, r->step)) || put(o, ",", 1) ||
		     put_csv_field(o, r->name) || put(o, ",", 1) ||
		     (r->special ? PUTS(o, r->special) : put_num(o, r->value)) ||
		     put(o, ",", 1) || (r->has_time && put_secs(o, r->time)) ||
		     (o->spec && put(o, o->pcols, o->npcols)) || put(o, "\n", 1);
	}
	return rc;
}

static int on_row(void *ctx, const struct tc_series_row *r)
{
	struct out *o = ctx;

	if (put_row(o, r))
		return TC_ERR_NOMEM;
	if (fwrite(o->line, 1, o->len, o->f) != o->len)
		return TC_ERR_IO;
	return 0;
}

int cmd_metrics(int argc, char **argv)
{
	struct tc_args a;
	struct tc_error err;
	struct tc_journal *j = NULL;
	struct tc_exp_info e;
	struct tc_spec *spec = NULL;
	struct out o = {stdout, 0, NULL, "", NULL, 0, NULL, 0, 0};
	const char *fmt, *namearg;
	const char **names = NULL;
	char (*ids)[16] = NULL;
	const char **idp = NULL;
	char *namestore = NULL;
	size_t nnames = 0;
	int rc, npick;

	rc = tc_parse_args(argc, argv, metrics_opts,
			   "metrics NAME [TRIAL...] [--format csv|jsonl] "
			   "[--name METRIC,...] [--with-params]",
			   "Every metric value of an experiment's trials, one "
			   "row per value: trial, index, attempt, step, name, "
			   "value and time (seconds since the attempt started). "
			   "TRIAL: an id, a unique prefix, or #index.",
			   &a);
	if (rc)
		return rc > 0 ? TC_EXIT_OK : TC_EXIT_USAGE;
	if (a.npos < 1)
		return tc_usage_error("metrics", "which experiment? (metrics NAME)");
	fmt = tc_arg(&a, metrics_opts, "format");
	if (fmt && strcmp(fmt, "csv") && strcmp(fmt, "jsonl"))
		return tc_usage_error("metrics",
				      "--format must be one of csv, jsonl, "
				      "not '%s'",
				      fmt);
	o.jsonl = fmt && !strcmp(fmt, "jsonl");
	namearg = tc_arg(&a, metrics_opts, "name");
	tc_error_clear(&err);
	memset(&e, 0, sizeof(e));
	if ((rc = tc_open_readonly(tc_arg(&a, metrics_opts, "state-dir"), &j,
				   &err)) ||
	    (rc = tc_experiment_load(j, a.pos[0], &e, &err))) {
		rc = tc_fail("metrics", &err);
		goto out;
	}
	npick = a.npos - 1;
	if (npick > 0) {
		ids = calloc((size_t)npick, sizeof(*ids));
		idp = calloc((size_t)npick, sizeof(*idp));
		if (!ids || !idp) {
			tc_error_set(&err, TC_ERR_NOMEM, "out of memory");
			rc = tc_fail("metrics", &err);
			goto out;
		}
		for (int i = 0; i < npick; i++) {
			if (tc_find_trial(j, e.name, a.pos[i + 1], ids[i], &err)) {
				rc = tc_fail("metrics", &err);
				goto out;
			}
			idp[i] = ids[i];
		}
	}
	if (namearg) {
		nnames = tc_split_list(namearg, &namestore, &names);
		if (!names) {
			tc_error_set(&err, TC_ERR_NOMEM, "out of memory");
			rc = tc_fail("metrics", &err);
			goto out;
		}
		if (nnames == 0) {
			rc = tc_usage_error("metrics", "--name needs a metric name");
			goto out;
		}
	}
	if (tc_arg(&a, metrics_opts, "with-params")) {
		if (tc_spec_parse_recorded(e.spec_path, e.spec_text,
					   strlen(e.spec_text), &spec, &err)) {
			rc = tc_fail("metrics", &err);
			goto out;
		}
		o.spec = spec;
	}
	if (!o.jsonl) {
		fputs("trial,index,attempt,step,name,value,time", stdout);
		for (size_t i = 0; spec && i < spec->nparams; i++) {
			fputc(',', stdout);
			tc_csv_field(stdout, spec->params[i].name);
		}
		fputc('\n', stdout);
	}
	rc = tc_series_each(j, e.name, idp, (size_t)npick, names, nnames,
			    on_row, &o, &err);
	if (rc == TC_ERR_IO || fflush(stdout) != 0 || ferror(stdout)) {
		tc_error_set(&err, TC_ERR_IO, "cannot write the output");
		rc = tc_fail("metrics", &err);
	} else if (rc) {
		if (!err.code)
			tc_error_set(&err, rc, "out of memory");
		rc = tc_fail("metrics", &err);
	}
out:
	free(o.pcols);
	free(o.line);
	tc_spec_free(spec);
	free(namestore);
	free(names);
	free(ids);
	free(idp);
	tc_exp_info_free(&e);
	tc_journal_close(j);
	return rc;
}
