/*
 * record.c — journal writes and small forms shared by the two schedulers
 * (see record.h).
 */
#include "exec/record.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "spec/spec.h"
#include "store/trials.h"
#include "util/clock.h"
#include "util/text.h"

#define BACKOFF_CAP 300.0

/* ---- metric samples on their way to the journal -------------------------- */

/* Names an attempt can have: three streams, each collector capped. */
#define SINK_NAMES_MAX (3 * TC_METRICS_NAMES_MAX)
/* Slots of the name table: a power of two, over twice SINK_NAMES_MAX. */
#define SINK_SLOTS 8192
/* Bytes fed to a collector at a time (between checks for a cut). */
#define SINK_SLICE 65536
#define SINK_NOTES_MAX 4

struct sink_name {
	char *name;
	double step, value; /* the latest */
	int dirty;          /* changed since the last write */
};

struct sink_row {
	uint32_t name; /* index into names */
	double step, value;
};

struct tc_rec_metrics {
	struct tc_trials *tr; /* its own: statements kept for its writes */
	char *trial, *metric;
	int attempt, replace;
	tc_rec_cut_fn cut;
	void *ctx;
	int rc; /* a cut failed: the feed stops */

	uint16_t slots[SINK_SLOTS]; /* index + 1 into names; 0 is empty */
	struct sink_name *names;
	size_t nnames, capnames;
	long metric_ent; /* the spec's metric in names, or -1 */
	char *watch;     /* the watched metric (tc_rec_metrics_watch) */
	long watch_ent;  /* ... in names, or -1 */
	long long watch_idx;
	tc_rec_watch_fn watch_fn;
	void *watch_ctx;

	struct sink_row rows[TC_REC_BATCH];
	size_t nrows;
	size_t seen;  /* samples since the last write */
	size_t bytes; /* bytes fed since the last write */
	long long kept; /* history rows of the attempt, written or waiting */

	int capped, names_dropped; /* data dropped: a note says so */
	int dirty; /* something to write */
	char *notes[SINK_NOTES_MAX];
	int noted[SINK_NOTES_MAX]; /* written */
	size_t nnotes;

	const char *prefix; /* during tc_rec_metrics_feed_rank: "rank<i>." */
	int plain;          /* ... and the name as it came too */
};

struct tc_rec_metrics *tc_rec_metrics_new(struct tc_journal *j, const char *exp,
					  const char *trial, int attempt,
					  const char *metric, int replace,
					  tc_rec_cut_fn cut, void *ctx,
					  struct tc_error *err)
{
	struct tc_rec_metrics *m = calloc(1, sizeof(*m));

	if (!m) {
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	m->attempt = attempt;
	m->replace = replace;
	m->cut = cut;
	m->ctx = ctx;
	m->metric_ent = -1;
	m->watch_ent = -1;
	m->trial = strdup(trial);
	m->metric = metric ? strdup(metric) : NULL;
	if (!m->trial || (metric && !m->metric)) {
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		tc_rec_metrics_free(m);
		return NULL;
	}
	if (!(m->tr = tc_trials_open(j, exp, err))) {
		tc_rec_metrics_free(m);
		return NULL;
	}
	return m;
}

void tc_rec_metrics_free(struct tc_rec_metrics *m)
{
	if (!m)
		return;
	tc_trials_close(m->tr);
	for (size_t i = 0; i < m->nnames; i++)
		free(m->names[i].name);
	free(m->names);
	for (size_t i = 0; i < m->nnotes; i++)
		free(m->notes[i]);
	free(m->trial);
	free(m->metric);
	free(m->watch);
	free(m);
}

int tc_rec_metrics_watch(struct tc_rec_metrics *m, const char *name,
			 long long idx, tc_rec_watch_fn fn, void *ctx)
{
	free(m->watch);
	if (!(m->watch = strdup(name)))
		return TC_ERR_NOMEM;
	m->watch_ent = -1;
	for (size_t i = 0; i < m->nnames; i++)
		if (strcmp(m->names[i].name, name) == 0)
			m->watch_ent = (long)i;
	m->watch_idx = idx;
	m->watch_fn = fn;
	m->watch_ctx = ctx;
	return 0;
}

void tc_rec_metrics_note(struct tc_rec_metrics *m, const char *text)
{
	for (size_t i = 0; i < m->nnotes; i++)
		if (strcmp(m->notes[i], text) == 0)
			return;
	if (m->nnotes < SINK_NOTES_MAX && (m->notes[m->nnotes] = strdup(text))) {
		m->nnotes++;
		m->dirty = 1;
	}
}

/* The entry of a name, created when new; -1 past SINK_NAMES_MAX. */
static long sink_name(struct tc_rec_metrics *m, const char *name)
{
	uint32_t h = 2166136261u, i;
	struct sink_name *e;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = h & (SINK_SLOTS - 1); m->slots[i]; i = (i + 1) & (SINK_SLOTS - 1))
		if (strcmp(m->names[m->slots[i] - 1].name, name) == 0)
			return m->slots[i] - 1;
	if (m->nnames >= SINK_NAMES_MAX)
		return -1;
	if (m->nnames == m->capnames) {
		size_t ncap = m->capnames ? m->capnames * 2 : 16;
		struct sink_name *nn = realloc(m->names, ncap * sizeof(*nn));

		if (!nn)
			return -1;
		m->names = nn;
		m->capnames = ncap;
	}
	e = &m->names[m->nnames];
	if (!(e->name = strdup(name)))
		return -1;
	e->dirty = 0;
	m->slots[i] = (uint16_t)(m->nnames + 1);
	if (m->metric && m->metric_ent < 0 && strcmp(name, m->metric) == 0)
		m->metric_ent = (long)m->nnames;
	if (m->watch && m->watch_ent < 0 && strcmp(name, m->watch) == 0)
		m->watch_ent = (long)m->nnames;
	return (long)m->nnames++;
}

static int sink_cut(struct tc_rec_metrics *m)
{
	if (!m->rc)
		m->rc = m->cut(m->ctx, m);
	return m->rc;
}

static int sink_add_one(struct tc_rec_metrics *m, const char *name,
			double step, double value);

/* The collector's callback: the name as it came, or with the rank's
 * prefix (or both). */
static int sink_add(void *ctx, const char *name, double step, double value)
{
	struct tc_rec_metrics *m = ctx;
	char full[512];
	int rc = 0;

	if (!m->prefix || m->plain)
		rc = sink_add_one(m, name, step, value);
	if (!rc && m->prefix &&
	    (size_t)snprintf(full, sizeof(full), "%s%s", m->prefix, name) <
		    sizeof(full))
		rc = sink_add_one(m, full, step, value);
	return rc;
}

static int sink_add_one(struct tc_rec_metrics *m, const char *name,
			double step, double value)
{
	long k = sink_name(m, name);

	m->dirty = 1;
	if (k < 0) {
		m->names_dropped = 1;
	} else {
		m->names[k].step = step;
		m->names[k].value = value;
		m->names[k].dirty = 1;
		if (k == m->watch_ent)
			m->watch_fn(m->watch_ctx, m->trial, m->watch_idx, step,
				    value);
		if (m->kept >= TC_REC_HISTORY_MAX) {
			m->capped = 1;
		} else if (m->nrows < TC_REC_BATCH) { /* a cut empties it */
			m->rows[m->nrows].name = (uint32_t)k;
			m->rows[m->nrows].step = step;
			m->rows[m->nrows].value = value;
			m->nrows++;
			m->kept++;
		}
	}
	if (++m->seen >= TC_REC_BATCH)
		return sink_cut(m);
	return 0;
}

int tc_rec_metrics_feed(struct tc_rec_metrics *m, struct tc_collector *c,
			const char *buf, size_t len, int end)
{
	int rc = m->rc;

	while (!rc && len > 0) {
		size_t n = len < SINK_SLICE ? len : SINK_SLICE;

		rc = tc_collector_feed(c, buf, n, sink_add, m);
		buf += n;
		len -= n;
		m->bytes += n;
		if (!rc && m->bytes >= TC_REC_BATCH_BYTES)
			rc = sink_cut(m);
	}
	if (!rc && end)
		rc = tc_collector_finish(c, sink_add, m);
	if (tc_collector_dropped(c) > 0 && !m->names_dropped)
		m->names_dropped = m->dirty = 1;
	return rc;
}

int tc_rec_metrics_feed_rank(struct tc_rec_metrics *m, struct tc_collector *c,
			     const char *prefix, int plain, const char *buf,
			     size_t len, int end)
{
	int rc;

	m->prefix = prefix;
	m->plain = plain;
	rc = tc_rec_metrics_feed(m, c, buf, len, end);
	m->prefix = NULL;
	m->plain = 0;
	return rc;
}

int tc_rec_metrics_flush(struct tc_rec_metrics *m, struct tc_error *err)
{
	double now = tc_now();
	int rc = 0;

	if (m->replace) {
		if ((rc = tc_trials_metrics_clear(m->tr, m->trial, m->attempt, err)))
			goto out;
		m->replace = 0;
	}
	for (size_t i = 0; i < m->nrows; i++)
		if ((rc = tc_trials_metric_add(m->tr, m->trial, m->attempt,
					       m->names[m->rows[i].name].name,
					       m->rows[i].step, m->rows[i].value,
					       now, err)))
			goto out;
	for (size_t i = 0; i < m->nnames; i++) {
		const struct sink_name *e = &m->names[i];

		if (e->dirty && (rc = tc_trials_final_set(m->tr, m->trial,
							   m->attempt, e->name,
							   e->step, e->value, err)))
			goto out;
	}
	for (size_t i = 0; i < m->nnames; i++)
		m->names[i].dirty = 0;
	if (m->capped) {
		char text[160];

		snprintf(text, sizeof(text),
			 "metric history capped at %d values; later values "
			 "update only the final values",
			 TC_REC_HISTORY_MAX);
		tc_rec_metrics_note(m, text);
	}
	if (m->names_dropped) {
		char text[160];

		snprintf(text, sizeof(text),
			 "values of metric names past the first %d of a stream "
			 "were dropped",
			 TC_METRICS_NAMES_MAX);
		tc_rec_metrics_note(m, text);
	}
	for (size_t i = 0; i < m->nnotes; i++) {
		if (m->noted[i])
			continue;
		if ((rc = tc_trials_note(m->tr, m->trial, m->attempt,
					 m->notes[i], err)))
			goto out;
		m->noted[i] = 1;
	}
	m->dirty = 0;
out:
	m->nrows = 0;
	m->seen = 0;
	m->bytes = 0;
	return rc;
}

int tc_rec_metrics_pending(const struct tc_rec_metrics *m)
{
	return m && (m->dirty || m->replace);
}

int tc_rec_metrics_value(const struct tc_rec_metrics *m, double *v)
{
	if (!m || m->metric_ent < 0)
		return 0;
	*v = m->names[m->metric_ent].value;
	return 1;
}

int tc_rec_metrics_step(const struct tc_rec_metrics *m, double *step)
{
	if (!m || m->metric_ent < 0)
		return 0;
	*step = m->names[m->metric_ent].step;
	return 1;
}

void tc_params_brief(const char *json, char *buf, size_t len)
{
	json_t *o = json_loads(json ? json : "{}", 0, NULL);
	const char *k;
	json_t *v;
	size_t n = 0;

	buf[0] = '\0';
	json_object_foreach(o, k, v)
	{
		char val[64];

		if (json_is_string(v)) {
			snprintf(val, sizeof(val), "%s", json_string_value(v));
		} else {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));

			snprintf(val, sizeof(val), "%s", t ? t : "?");
			free(t);
		}
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s=%s",
				      n ? " " : "", k, val);
		if (n >= len)
			break;
	}
	json_decref(o);
	tc_text_sanitize(buf); /* values are anything: this goes to a terminal */
}

void tc_rotate_log(const char *dir, const char *base, const char *ext, int n)
{
	char from[PATH_MAX], to[PATH_MAX];

	snprintf(from, sizeof(from), "%s/%s.%s", dir, base, ext);
	snprintf(to, sizeof(to), "%s/%s.%d.%s", dir, base, n, ext);
	rename(from, to);
}

double tc_rec_retry_at(const struct tc_spec *spec, int attempt, int retry_base)
{
	double b = spec->run.backoff;

	if (attempt - retry_base > spec->run.retries)
		return 0;
	for (int k = 1; k < attempt - retry_base && b < BACKOFF_CAP; k++)
		b *= 2;
	if (b > BACKOFF_CAP)
		b = BACKOFF_CAP;
	return tc_now() + b;
}

/* ---- fail fast ---------------------------------------------------------- */

int tc_rec_failfast_init(struct tc_trials *tr, const struct tc_spec *spec,
			 int override, struct tc_rec_failfast *ff,
			 struct tc_error *err)
{
	int succeeded, rc;

	memset(ff, 0, sizeof(*ff));
	ff->max = override >= 0 ? override : spec->run.max_failures;
	ff->state = ff->max > 0 ? 0 : -1;
	/* where this run's count begins, and whether a trial ever succeeded */
	if ((rc = tc_trials_events_mark(tr, &ff->since, &succeeded, err)))
		return rc;
	if (succeeded)
		ff->state = -1;
	return 0;
}

int tc_rec_failfast_check(struct tc_trials *tr, struct tc_rec_failfast *ff,
			  struct tc_error *err)
{
	long long failed, succeeded;
	char last[16];
	int rc;

	if (ff->state != 0)
		return ff->state > 0;
	if ((rc = tc_trials_outcomes_since(tr, ff->since, &failed, &succeeded,
					   last, err)))
		return rc;
	if (succeeded > 0) {
		ff->state = -1;
	} else if (failed >= ff->max) {
		ff->state = 1;
		ff->failed = failed;
		snprintf(ff->trial, sizeof(ff->trial), "%s", last);
	}
	return ff->state > 0;
}
