/*
 * mlflow.c — the export to an MLflow tracking server (see mlflow.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "export/mlflow.h"
#include "store/series.h"
#include "util/json.h"

/* MLflow's limits for one log-batch request. */
#define BATCH_METRICS 1000
#define BATCH_PARAMS 100
#define BATCH_TAGS 100

struct client {
	CURL *curl;
	struct curl_slist *headers;
	char base[1024]; /* URI without a trailing slash */
	char auth[1024]; /* "user:password" for basic auth, or "" */
	char *buf;       /* the response being read */
	size_t len, cap;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct client *c = ctx;
	size_t add = size * n;

	if (c->len + add + 1 > c->cap) {
		size_t nc = c->cap ? c->cap : 4096;
		char *nb;

		while (nc < c->len + add + 1)
			nc *= 2;
		if (!(nb = realloc(c->buf, nc)))
			return 0;
		c->buf = nb;
		c->cap = nc;
	}
	memcpy(c->buf + c->len, p, add);
	c->len += add;
	c->buf[c->len] = '\0';
	return add;
}

static int client_open(struct client *c, const char *uri, struct tc_error *err)
{
	const char *token = getenv("MLFLOW_TRACKING_TOKEN");
	const char *user = getenv("MLFLOW_TRACKING_USERNAME");
	const char *pass = getenv("MLFLOW_TRACKING_PASSWORD");
	size_t n;

	memset(c, 0, sizeof(*c));
	if (strncmp(uri, "http://", 7) && strncmp(uri, "https://", 8))
		return tc_error_set(err, TC_ERR_USAGE,
				    "--mlflow takes a tracking server's URI "
				    "(http://HOST:PORT or https://...), not '%s'",
				    uri);
	n = strlen(uri);
	while (n > 0 && uri[n - 1] == '/')
		n--;
	if (n >= sizeof(c->base))
		return tc_error_set(err, TC_ERR_USAGE, "--mlflow: URI too long");
	memcpy(c->base, uri, n);
	c->base[n] = '\0';
	if (!(c->curl = curl_easy_init()))
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (token && *token) {
		char h[2048];

		snprintf(h, sizeof(h), "Authorization: Bearer %s", token);
		c->headers = curl_slist_append(c->headers, h);
	} else if (user && *user) {
		snprintf(c->auth, sizeof(c->auth), "%s:%s", user, pass ? pass : "");
	}
	return 0;
}

static void client_close(struct client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	free(c->buf);
}

/* One REST call: path under /api/2.0/mlflow/, body NULL for a GET.  On 0,
 * *status is the HTTP status and *out the answer (NULL when it is not
 * JSON).  TC_ERR_BACKEND when no answer came. */
static int call(struct client *c, const char *path, json_t *body, long *status,
		json_t **out, struct tc_error *err)
{
	char url[2048], *text = NULL;
	CURLcode cc;

	*out = NULL;
	snprintf(url, sizeof(url), "%s/api/2.0/mlflow/%s", c->base, path);
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->auth[0]) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c->curl, CURLOPT_USERPWD, c->auth);
	}
	if (body) {
		if (!(text = json_dumps(body, JSON_COMPACT)))
			return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
	}
	c->len = 0;
	if (c->buf)
		c->buf[0] = '\0';
	cc = curl_easy_perform(c->curl);
	free(text);
	if (cc != CURLE_OK)
		return tc_error_set(err, TC_ERR_BACKEND,
				    "cannot reach the MLflow server at %s: %s",
				    c->base, curl_easy_strerror(cc));
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
	if (c->len)
		*out = json_loads(c->buf, 0, NULL);
	return 0;
}

/* The error an answer carries, as MLflow words it. */
static int refused(struct client *c, const char *what, long status,
		   json_t *answer, struct tc_error *err)
{
	const char *code = json_string_value(json_object_get(answer, "error_code"));
	const char *msg = json_string_value(json_object_get(answer, "message"));

	return tc_error_set(err, TC_ERR_BACKEND,
			    "the MLflow server at %s refused to %s: HTTP %ld%s%s%s%s",
			    c->base, what, status, code ? ": " : "",
			    code ? code : "", msg ? ": " : "", msg ? msg : "");
}

/* A call that must answer 200: the answer in *out (may be NULL). */
static int call_ok(struct client *c, const char *what, const char *path,
		   json_t *body, json_t **out, struct tc_error *err)
{
	long status = 0;
	json_t *a = NULL;
	int rc = call(c, path, body, &status, &a, err);

	if (!rc && status != 200)
		rc = refused(c, what, status, a, err);
	if (rc || !out)
		json_decref(a);
	else
		*out = a;
	return rc;
}

static json_t *kv(const char *k, const char *v)
{
	return json_pack("{s:s, s:s}", "key", k, "value", v ? v : "");
}

/* The experiment's id: found by name (restored if deleted), or made. */
static int find_experiment(struct client *c, const struct tc_mlflow_export *x,
			   char *id, size_t idlen, struct tc_error *err)
{
	char path[1024], *esc = curl_easy_escape(c->curl, x->experiment, 0);
	long status = 0;
	json_t *a = NULL, *body;
	const char *v, *key;
	json_t *val;
	int rc;

	if (!esc)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	snprintf(path, sizeof(path), "experiments/get-by-name?experiment_name=%s",
		 esc);
	curl_free(esc);
	if ((rc = call(c, path, NULL, &status, &a, err)))
		return rc;
	if (status == 200) {
		json_t *e = json_object_get(a, "experiment");

		snprintf(id, idlen, "%s",
			 (v = json_string_value(json_object_get(e, "experiment_id")))
				 ? v : "");
		if ((v = json_string_value(json_object_get(e, "lifecycle_stage"))) &&
		    !strcmp(v, "deleted")) {
			body = json_pack("{s:s}", "experiment_id", id);
			rc = call_ok(c, "restore the experiment",
				     "experiments/restore", body, NULL, err);
			json_decref(body);
		}
	} else if (status == 404) {
		json_t *na = NULL;

		body = json_pack("{s:s}", "name", x->experiment);
		rc = call_ok(c, "create the experiment", "experiments/create",
			     body, &na, err);
		json_decref(body);
		if (!rc)
			snprintf(id, idlen, "%s",
				 (v = json_string_value(json_object_get(
					  na, "experiment_id")))
					 ? v : "");
		json_decref(na);
	} else {
		rc = refused(c, "look up the experiment", status, a, err);
	}
	json_decref(a);
	if (rc)
		return rc;
	if (!id[0])
		return tc_error_set(err, TC_ERR_BACKEND,
				    "the MLflow server at %s gave no experiment id",
				    c->base);
	json_object_foreach(x->exp_tags, key, val)
	{
		body = json_pack("{s:s, s:s, s:s}", "experiment_id", id, "key", key,
				 "value", json_string_value(val) ? json_string_value(val) : "");
		rc = call_ok(c, "tag the experiment", "experiments/set-experiment-tag",
			     body, NULL, err);
		json_decref(body);
		if (rc)
			return rc;
	}
	return 0;
}

/* The runs the experiment holds already: trial id → run id. */
static int existing_runs(struct client *c, const char *exp_id, json_t *map,
			 struct tc_error *err)
{
	char *token = NULL;
	int rc = 0;

	do {
		json_t *body = json_pack("{s:[s], s:i, s:s}", "experiment_ids",
					 exp_id, "max_results", 1000, "run_view_type",
					 "ALL");
		json_t *a = NULL, *runs, *run;
		const char *next;
		size_t i;

		if (token)
			json_object_set_new(body, "page_token", json_string(token));
		rc = call_ok(c, "list its runs", "runs/search", body, &a, err);
		json_decref(body);
		free(token);
		token = NULL;
		if (rc)
			break;
		runs = json_object_get(a, "runs");
		json_array_foreach(runs, i, run)
		{
			const char *rid = json_string_value(json_object_get(
				json_object_get(run, "info"), "run_id"));
			json_t *tags = json_object_get(json_object_get(run, "data"), "tags");
			json_t *t;
			size_t k;

			json_array_foreach(tags, k, t)
			{
				const char *key = json_string_value(json_object_get(t, "key"));
				const char *val = json_string_value(json_object_get(t, "value"));

				if (rid && key && val && !strcmp(key, "trainctl.trial_id"))
					json_object_set_new(map, val, json_string(rid));
			}
		}
		next = json_string_value(json_object_get(a, "next_page_token"));
		if (next && *next && !(token = strdup(next)))
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		json_decref(a);
	} while (!rc && token);
	free(token);
	return rc;
}

/* MLflow's status for trainctl's state. */
static const char *run_status(const char *state)
{
	if (!strcmp(state, "succeeded"))
		return "FINISHED";
	if (!strcmp(state, "failed") || !strcmp(state, "timed_out"))
		return "FAILED";
	if (!strcmp(state, "cancelled") || !strcmp(state, "pruned"))
		return "KILLED";
	if (!strcmp(state, "queued"))
		return "SCHEDULED";
	return "RUNNING";
}

/* Metric values of one trial's last attempt, sent in batches. */
struct sender {
	struct client *c;
	const char *run_id;
	int attempt;
	double fallback_at;
	json_t *batch;
	struct tc_mlflow_result *res;
	struct tc_error *err;
};

static int flush_metrics(struct sender *s)
{
	json_t *body;
	int rc;

	if (json_array_size(s->batch) == 0)
		return 0;
	body = json_pack("{s:s, s:O}", "run_id", s->run_id, "metrics", s->batch);
	rc = call_ok(s->c, "log metrics", "runs/log-batch", body, NULL, s->err);
	json_decref(body);
	json_array_clear(s->batch);
	return rc;
}

static int on_value(void *ctx, const struct tc_series_row *r)
{
	struct sender *s = ctx;
	double at = r->has_at ? r->at : s->fallback_at;
	json_t *m;

	if (r->attempt != s->attempt)
		return 0;
	if (r->special || !isfinite(r->value)) {
		s->res->skipped++;
		return 0;
	}
	m = json_pack("{s:s, s:f, s:I, s:I}", "key", r->name, "value", r->value,
		      "timestamp", (json_int_t)llround(at * 1000),
		      "step", (json_int_t)(r->has_step ? llround(r->step) : 0));
	if (!m || json_array_append_new(s->batch, m))
		return TC_ERR_NOMEM;
	s->res->values++;
	if (json_array_size(s->batch) >= BATCH_METRICS)
		return flush_metrics(s);
	return 0;
}

/* Params and tags of a run, in batches MLflow takes. */
static int log_params_tags(struct client *c, const char *run_id,
			   json_t *params, json_t *tags, struct tc_error *err)
{
	size_t np = json_array_size(params), nt = json_array_size(tags);
	size_t ip = 0, it = 0;
	int rc = 0;

	while (!rc && (ip < np || it < nt)) {
		json_t *bp = json_array(), *bt = json_array(), *body;

		for (size_t k = 0; k < BATCH_PARAMS && ip < np; k++)
			json_array_append(bp, json_array_get(params, ip++));
		for (size_t k = 0; k < BATCH_TAGS && it < nt; k++)
			json_array_append(bt, json_array_get(tags, it++));
		body = json_pack("{s:s, s:o, s:o}", "run_id", run_id, "params", bp,
				 "tags", bt);
		rc = call_ok(c, "log params and tags", "runs/log-batch", body,
			     NULL, err);
		json_decref(body);
	}
	return rc;
}

static int export_trial(struct client *c, const struct tc_mlflow_export *x,
			const char *exp_id, const struct tc_mlflow_trial *t,
			json_t *runs, struct tc_mlflow_result *res,
			struct tc_error *err)
{
	json_t *params = json_array(), *tags = json_array(), *body, *a = NULL;
	const char *rid = json_string_value(json_object_get(runs, t->id));
	char run_id[128], name[64], num[32], *run_name;
	const char *key;
	json_t *val;
	int rc = 0;

	snprintf(name, sizeof(name), "%s-%lld", x->experiment, t->idx);
	/* what every run carries, and this trial's own */
	snprintf(num, sizeof(num), "%lld", t->idx);
	json_array_append_new(tags, kv("trainctl.trial_id", t->id));
	json_array_append_new(tags, kv("trainctl.index", num));
	json_array_append_new(tags, kv("trainctl.state", t->state));
	snprintf(num, sizeof(num), "%d", t->attempt);
	json_array_append_new(tags, kv("trainctl.attempt", num));
	json_object_foreach(x->run_tags, key, val)
		json_array_append_new(tags, kv(key, json_string_value(val)));
	json_object_foreach(t->params, key, val)
		json_array_append_new(params, kv(key, json_string_value(val)));
	run_name = name;
	if (rid) {
		snprintf(run_id, sizeof(run_id), "%s", rid);
		res->updated++;
	} else {
		double start = t->started_at > 0 ? t->started_at : 0;

		body = json_pack("{s:s, s:s, s:I, s:[{s:s, s:s}]}", "experiment_id",
				 exp_id, "run_name", run_name, "start_time",
				 (json_int_t)llround(start * 1000), "tags", "key",
				 "trainctl.trial_id", "value", t->id);
		rc = call_ok(c, "create a run", "runs/create", body, &a, err);
		json_decref(body);
		if (rc)
			goto out;
		rid = json_string_value(json_object_get(
			json_object_get(json_object_get(a, "run"), "info"), "run_id"));
		if (!rid) {
			rc = tc_error_set(err, TC_ERR_BACKEND,
					  "the MLflow server at %s gave no run id",
					  c->base);
			goto out;
		}
		snprintf(run_id, sizeof(run_id), "%s", rid);
		res->created++;
	}
	if ((rc = log_params_tags(c, run_id, params, tags, err)))
		goto out;
	{
		struct sender s = {c, run_id, t->attempt,
				   t->started_at > 0 ? t->started_at : 0,
				   json_array(), res, err};
		const char *one[1] = {t->id};

		if (!s.batch) {
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
			goto out;
		}
		rc = tc_series_each(x->j, x->experiment, one, 1, NULL, 0,
				    on_value, &s, err);
		if (rc == TC_ERR_NOMEM && !err->code)
			tc_error_set(err, rc, "out of memory");
		if (!rc)
			rc = flush_metrics(&s);
		json_decref(s.batch);
		if (rc)
			goto out;
	}
	body = json_pack("{s:s, s:s}", "run_id", run_id, "status",
			 run_status(t->state));
	if (t->ended_at > 0 && strcmp(run_status(t->state), "RUNNING") &&
	    strcmp(run_status(t->state), "SCHEDULED"))
		json_object_set_new(body, "end_time",
				    json_integer((json_int_t)llround(t->ended_at * 1000)));
	rc = call_ok(c, "update a run", "runs/update", body, NULL, err);
	json_decref(body);
out:
	json_decref(a);
	json_decref(params);
	json_decref(tags);
	return rc;
}

int tc_mlflow_export(const struct tc_mlflow_export *x,
		     struct tc_mlflow_result *res, struct tc_error *err)
{
	struct client c;
	json_t *runs = json_object();
	int rc;

	memset(res, 0, sizeof(*res));
	if (!runs)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if ((rc = client_open(&c, x->uri, err)) ||
	    (rc = find_experiment(&c, x, res->experiment_id,
				  sizeof(res->experiment_id), err)) ||
	    (rc = existing_runs(&c, res->experiment_id, runs, err)))
		goto out;
	for (size_t i = 0; i < x->ntrials && !rc; i++)
		rc = export_trial(&c, x, res->experiment_id, &x->trials[i], runs,
				  res, err);
out:
	client_close(&c);
	json_decref(runs);
	return rc;
}
