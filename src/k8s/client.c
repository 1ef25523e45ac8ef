/*
 * client.c — the Kubernetes API client (see client.h).
 *
 * Everything runs on one libcurl multi handle, in the caller's thread,
 * inside tc_kube_drive().  A request (struct req) is in exactly one place:
 *
 *   queue    submitted (or due for another attempt), waiting for a token of
 *            the rate limiter and a free slot among max_inflight; FIFO;
 *   lqueue   the same for watches and streams, which take no slot;
 *   delayed  waiting for its backoff (or an informer's) timer;
 *   active   on the wire: its easy handle is in the multi handle;
 *   failed   could not start (credentials plugin failed): completed by the
 *            next reap, like a finished transfer.
 *
 * Easy handles come from a small pool and go back to it after every
 * attempt, reset.  User callbacks are never called from inside a libcurl
 * callback: the write and header callbacks only append to buffers and mark
 * watch and stream requests "dirty"; their data is handed over after
 * curl_multi_perform() returns, so a callback may call tc_kube_call(),
 * submit, or free its own informer or stream.  An informer or stream that
 * is being delivered to is "busy": a nested drive leaves it alone, and a
 * free during delivery only marks it ("zombie"); the delivering code frees
 * it when it unwinds.
 *
 * Connections: the multi handle allows one connection to the server
 * (CURLMOPT_MAX_HOST_CONNECTIONS 1) and HTTP/2 multiplexes every request,
 * watch and stream on it.  Until the first answer tells which protocol
 * the server speaks, only one request is on the wire; when it is HTTP/1.1
 * the limit is lifted (a watch holds its connection for minutes, so
 * HTTP/1.1 needs one connection each; requests reuse idle ones).
 *
 * Informers are a small state machine: LIST (pages of 500, following
 * metadata.continue) -> deliver the difference with the cache, SYNCED ->
 * WATCH from the list's resourceVersion -> (end) WATCH from the last
 * resourceVersion seen, or LIST again on 410 Gone.  Failures set the
 * informer's error and retry the same step after a capped backoff; a
 * success clears the error.  Each informer has at most one request.
 */
#include "k8s/client.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "util/clock.h"
#include "util/retry.h"
#include "util/text.h"

#ifndef TC_VERSION
#define TC_VERSION "dev"
#endif

#define DEF_QPS 200.0
#define DEF_BURST 400
#define DEF_INFLIGHT 64
#define DEF_TIMEOUT 30.0
#define DEF_BUDGET 120.0
#define BACKOFF_START 0.2
#define BACKOFF_CAP 10.0
#define EVENT_MAX (16u << 20)     /* one watch event */
#define ERRBODY_MAX (1u << 20)    /* the body of a failed stream */
#define LIST_PAGE 500
#define POOL_MAX 16               /* idle easy handles kept */
#define EXEC_EARLY 60.0           /* refresh exec credentials this early */
#define EXEC_RETRY 5.0            /* after a failed plugin run */
#define WATCH_MIN 300             /* watch timeoutSeconds, drawn from */
#define WATCH_MAX 600             /* [WATCH_MIN, WATCH_MAX] */
#define STREAMS_MAX 1000L         /* HTTP/2 streams we open on a connection */

enum req_kind { RK_PLAIN, RK_WATCH, RK_STREAM };
enum req_state { RS_NONE, RS_QUEUED, RS_DELAYED, RS_ACTIVE, RS_FAILED };

struct req;

struct rlist {
	struct req *head, *tail;
	size_t n;
};

struct req {
	struct tc_kube *k;
	struct req *prev, *next;   /* in the list of its state */
	struct req *dnext;         /* in the dirty list, when dirty */
	int dirty;
	enum req_kind kind;
	enum req_state state;
	int counted;               /* in tc_kube_pending() */
	int retry;                 /* retried (transport errors, 429, 5xx) */

	char *method, *path, *ctype;
	char *body;
	size_t body_len;
	tc_kube_cb cb;
	void *ctx;
	struct tc_kube_informer *inf;
	struct tc_kube_stream *st;

	double deadline;           /* monotonic: end of the retry budget */
	double not_before;         /* monotonic: when delayed */
	double t0;                 /* monotonic: start of this attempt */
	int attempts, auth_retried;

	CURL *easy;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	char why[1024];            /* why it could not start (RS_FAILED) */

	char *buf;                 /* the body received, NUL-terminated */
	size_t len, cap;
	size_t line_start;         /* watch: start of the unfinished line */
	int overflow;              /* watch: an event exceeded EVENT_MAX */
	int headers_done;
	double retry_after;

	/* a finished watch or stream, waiting for process_dirty() */
	int ended;
	CURLcode result;
	long status;
};

struct tc_kube {
	struct tc_kcfg cfg;        /* our own deep copy */
	struct tc_kube_opts o;
	char *url_base;            /* scheme://host:port[/prefix] to dial */
	struct curl_slist *connect_to;
	char ua[64];

	CURLM *multi;
	struct rlist queue, lqueue, delayed, active, failed;
	struct req *dirty;         /* watches and streams with news */
	size_t inflight;           /* short requests on the wire */
	size_t pending;            /* counted requests anywhere */
	double tokens, t_tokens;
	CURL *pool[POOL_MAX];
	int npool;
	int proto;                 /* 0 unknown, 1 HTTP/1.x, 2 HTTP/2 */
	long connects;
	unsigned long fired;        /* user callbacks called, ever */
	uint64_t rng;

	int exec_done;
	struct tc_error cred_err;
	double cred_retry_at;

	struct tc_kube_informer *infs;
	struct tc_kube_stream *streams;
};

struct tc_kube_informer {
	struct tc_kube *k;
	struct tc_kube_informer *prev, *next;
	char *path;
	char *selector;            /* escaped, or NULL */
	tc_kube_watch_cb cb;
	void *ctx;
	json_t *cache;             /* "ns/name" -> last object seen */
	json_t *listing;           /* items of the list in progress */
	char *cont;                /* continue token of the next page */
	char *rv;                  /* resourceVersion to watch from */
	char *item_kind, *item_api;
	int synced, busy, zombie;
	int relist;                /* an ERROR 410 came: list again */
	int watch_failed;          /* an ERROR event (not 410) came */
	int failures;              /* consecutive, for the backoff */
	struct req *req;           /* its one request in progress */
	struct tc_error err;
};

struct tc_kube_stream {
	struct tc_kube *k;
	struct tc_kube_stream *prev, *next;
	tc_kube_data_cb data;
	tc_kube_cb end;
	void *ctx;
	struct req *req;
	int busy, zombie, ended;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;

static void curl_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		curl_init_rc = -1;
}

/* ---- small helpers ---------------------------------------------------- */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *xmemdup(const char *p, size_t n)
{
	char *d;

	if (!p)
		return NULL;
	d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static char **strv_dup(char **v)
{
	size_t n = 0, i;
	char **d;

	if (!v)
		return NULL;
	while (v[n])
		n++;
	d = calloc(n + 1, sizeof(*d));
	if (!d)
		return NULL;
	for (i = 0; i < n; i++) {
		d[i] = strdup(v[i]);
		if (!d[i]) {
			while (i--)
				free(d[i]);
			free(d);
			return NULL;
		}
	}
	return d;
}

static void strv_free(char **v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

static void cfg_release(struct tc_kcfg *c)
{
	free(c->source);
	free(c->context);
	free(c->cluster);
	free(c->user);
	free(c->server);
	free(c->namespace);
	free(c->ca_pem);
	free(c->ca_file);
	free(c->cert_pem);
	free(c->cert_file);
	free(c->key_pem);
	free(c->key_file);
	free(c->tls_server_name);
	free(c->proxy_url);
	free(c->token);
	free(c->token_file);
	free(c->username);
	free(c->password);
	free(c->exec.command);
	strv_free(c->exec.args);
	strv_free(c->exec.env);
	free(c->exec.api_version);
	free(c->exec.install_hint);
	free(c->exec.base_dir);
	memset(c, 0, sizeof(*c));
}

#define DUP(f) do { \
		d->f = xstrdup(s->f); \
		if (s->f && !d->f) \
			goto fail; \
	} while (0)
#define DUPB(f, n) do { \
		d->f = xmemdup(s->f, s->n); \
		d->n = s->n; \
		if (s->f && !d->f) \
			goto fail; \
	} while (0)

/* Copy every field of s into d (all malloc'd, as kubeconfig.c keeps them,
 * so that tc_kcfg_exec_credential() may replace them). */
static int cfg_copy(struct tc_kcfg *d, const struct tc_kcfg *s)
{
	memset(d, 0, sizeof(*d));
	DUP(source);
	DUP(context);
	DUP(cluster);
	DUP(user);
	DUP(server);
	DUP(namespace);
	DUPB(ca_pem, ca_pem_len);
	DUP(ca_file);
	DUPB(cert_pem, cert_pem_len);
	DUP(cert_file);
	DUPB(key_pem, key_pem_len);
	DUP(key_file);
	d->insecure = s->insecure;
	DUP(tls_server_name);
	DUP(proxy_url);
	DUP(token);
	DUP(token_file);
	DUP(username);
	DUP(password);
	DUP(exec.command);
	DUP(exec.api_version);
	DUP(exec.install_hint);
	DUP(exec.base_dir);
	d->exec.args = strv_dup(s->exec.args);
	if (s->exec.args && !d->exec.args)
		goto fail;
	d->exec.env = strv_dup(s->exec.env);
	if (s->exec.env && !d->exec.env)
		goto fail;
	d->exec.provide_cluster_info = s->exec.provide_cluster_info;
	d->cred_expiry = s->cred_expiry;
	if (!d->namespace) {
		d->namespace = strdup("default");
		if (!d->namespace)
			goto fail;
	}
	return 0;
fail:
	cfg_release(d);
	return TC_ERR_NOMEM;
}

#undef DUP
#undef DUPB

/* Capped exponential backoff with jitter for the n-th failure (n >= 1). */
static double backoff(struct tc_kube *k, int n)
{
	return tc_backoff(n, BACKOFF_START, BACKOFF_CAP, &k->rng);
}

static const char *status_text(long s)
{
	switch (s) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	}
	return "";
}

/* ---- request lists ---------------------------------------------------- */

static void rl_push(struct rlist *l, struct req *r)
{
	r->next = NULL;
	r->prev = l->tail;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
}

static void rl_push_front(struct rlist *l, struct req *r)
{
	r->prev = NULL;
	r->next = l->head;
	if (l->head)
		l->head->prev = r;
	else
		l->tail = r;
	l->head = r;
	l->n++;
}

static void rl_remove(struct rlist *l, struct req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	r->prev = r->next = NULL;
	l->n--;
}

static void mark_dirty(struct tc_kube *k, struct req *r)
{
	if (r->dirty)
		return;
	r->dirty = 1;
	r->dnext = k->dirty;
	k->dirty = r;
}

static void unmark_dirty(struct tc_kube *k, struct req *r)
{
	struct req **p;

	if (!r->dirty)
		return;
	for (p = &k->dirty; *p; p = &(*p)->dnext) {
		if (*p == r) {
			*p = r->dnext;
			break;
		}
	}
	r->dirty = 0;
	r->dnext = NULL;
}

/* ---- easy handles ------------------------------------------------------ */

static CURL *easy_get(struct tc_kube *k)
{
	if (k->npool > 0)
		return k->pool[--k->npool];
	return curl_easy_init();
}

static void easy_put(struct tc_kube *k, CURL *e)
{
	if (!e)
		return;
	if (k->npool < POOL_MAX) {
		curl_easy_reset(e);
		k->pool[k->npool++] = e;
	} else {
		curl_easy_cleanup(e);
	}
}

static void buf_reset(struct req *r)
{
	r->len = 0;
	if (r->buf)
		r->buf[0] = '\0';
	r->line_start = 0;
	r->overflow = 0;
	r->headers_done = 0;
	r->retry_after = 0;
	r->errbuf[0] = '\0';
}

static int buf_add(struct req *r, const char *p, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		b = realloc(r->buf, cap);
		if (!b)
			return -1;
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return 0;
}

/* ---- libcurl callbacks (no user code runs here) ------------------------ */

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct req *r = ud;
	size_t n = size * nmemb;

	if (r->kind == RK_STREAM) {
		long status = 0;

		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if ((status < 200 || status > 299) && r->len + n > ERRBODY_MAX)
			return n; /* enough of an error page */
	}
	if (buf_add(r, p, n) < 0)
		return 0;
	if (r->kind == RK_WATCH) {
		const char *nl = memrchr(p, '\n', n);

		if (nl)
			r->line_start = r->len - n + (size_t)(nl - p) + 1;
		if (r->len - r->line_start > EVENT_MAX) {
			r->overflow = 1;
			return 0;
		}
	}
	if (r->kind != RK_PLAIN)
		mark_dirty(r->k, r);
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct req *r = ud;
	size_t n = size * nmemb;

	if (n >= 5 && !strncmp(p, "HTTP/", 5)) {
		r->retry_after = 0;
		r->headers_done = 0;
	} else if (n >= 12 && !strncasecmp(p, "retry-after:", 12)) {
		char tmp[32], *end;
		size_t m = n - 12;
		double v;

		if (m >= sizeof(tmp))
			m = sizeof(tmp) - 1;
		memcpy(tmp, p + 12, m);
		tmp[m] = '\0';
		v = strtod(tmp, &end);
		/* seconds only; an HTTP date leaves the backoff alone */
		if (end != tmp && isfinite(v) && v > 0 && v < 3600)
			r->retry_after = v;
	} else if ((n == 2 && p[0] == '\r') || (n == 1 && p[0] == '\n')) {
		r->headers_done = 1;
		if (r->kind != RK_PLAIN)
			mark_dirty(r->k, r);
	}
	return n;
}

/* ---- credentials ------------------------------------------------------- */

/* Before a request starts: run the exec plugin the first time and when
 * its credential is about to expire. */
static int creds_ready(struct tc_kube *k, struct tc_error *err)
{
	struct tc_error e;
	double now;

	if (!k->cfg.exec.command)
		return 0;
	now = tc_now();
	if (k->exec_done &&
	    (k->cfg.cred_expiry <= 0 || now < k->cfg.cred_expiry - EXEC_EARLY))
		return 0;
	if (k->cred_err.code && tc_mono() < k->cred_retry_at) {
		*err = k->cred_err;
		return err->code;
	}
	tc_error_clear(&e);
	if (tc_kcfg_exec_credential(&k->cfg, &e) < 0) {
		if (!e.code)
			tc_error_set(&e, TC_ERR_BACKEND,
				     "the credential plugin %s failed",
				     k->cfg.exec.command);
		k->cred_err = e;
		k->cred_retry_at = tc_mono() + EXEC_RETRY;
		*err = e;
		return e.code;
	}
	k->exec_done = 1;
	tc_error_clear(&k->cred_err);
	return 0;
}

/* After a 401: 1 when there are new credentials worth another try. */
static int creds_refresh(struct tc_kube *k)
{
	struct tc_error e;

	tc_error_clear(&e);
	if (k->cfg.exec.command) {
		if (tc_kcfg_exec_credential(&k->cfg, &e) < 0)
			return 0;
		k->exec_done = 1;
		return 1;
	}
	if (k->cfg.token_file)
		return tc_kcfg_reload_token(&k->cfg, &e) == 0;
	return 0;
}

/* ---- starting and ending attempts -------------------------------------- */

static void set_tls(struct tc_kube *k, CURL *e)
{
	const struct tc_kcfg *c = &k->cfg;
	struct curl_blob b;

	if (c->ca_pem) {
		b.data = c->ca_pem;
		b.len = c->ca_pem_len;
		b.flags = CURL_BLOB_COPY;
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	} else if (c->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->cert_pem) {
		b.data = c->cert_pem;
		b.len = c->cert_pem_len;
		b.flags = CURL_BLOB_COPY;
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (c->cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (c->key_pem) {
		b.data = c->key_pem;
		b.len = c->key_pem_len;
		b.flags = CURL_BLOB_COPY;
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (c->key_file) {
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static struct curl_slist *build_headers(struct tc_kube *k, struct req *r)
{
	struct curl_slist *h = NULL, *t;
	char line[128];

	h = curl_slist_append(h, "Accept: application/json");
	if (!h)
		return NULL;
	if (r->body) {
		snprintf(line, sizeof(line), "Content-Type: %s",
			 r->ctype ? r->ctype : "application/json");
		t = curl_slist_append(h, line);
		if (!t)
			goto fail;
		h = t;
	}
	t = curl_slist_append(h, "Expect:");
	if (!t)
		goto fail;
	h = t;
	if (k->cfg.token && k->cfg.token[0]) {
		size_t n = strlen(k->cfg.token) + 32;
		char *a = malloc(n);

		if (!a)
			goto fail;
		snprintf(a, n, "Authorization: Bearer %s", k->cfg.token);
		t = curl_slist_append(h, a);
		free(a);
		if (!t)
			goto fail;
		h = t;
	}
	return h;
fail:
	curl_slist_free_all(h);
	return NULL;
}

static void fail_start(struct tc_kube *k, struct req *r, const char *fmt,
		       const char *arg)
{
	snprintf(r->why, sizeof(r->why), fmt, arg);
	r->state = RS_FAILED;
	rl_push(&k->failed, r);
}

/* Put r on the wire (it has left the queue). */
static void start(struct tc_kube *k, struct req *r)
{
	struct tc_error e;
	size_t ulen;
	char *url;
	CURL *h;
	double now = tc_mono();

	tc_error_clear(&e);
	if (creds_ready(k, &e) < 0) {
		fail_start(k, r, "%s", e.msg);
		return;
	}
	h = easy_get(k);
	if (!h) {
		fail_start(k, r, "%s", "out of memory");
		return;
	}
	buf_reset(r);
	r->ended = 0;
	r->status = 0;
	r->result = CURLE_OK;
	r->hdrs = build_headers(k, r);
	ulen = strlen(k->url_base) + strlen(r->path) + 1;
	url = malloc(ulen);
	if (!r->hdrs || !url) {
		free(url);
		curl_slist_free_all(r->hdrs);
		r->hdrs = NULL;
		easy_put(k, h);
		fail_start(k, r, "%s", "out of memory");
		return;
	}
	snprintf(url, ulen, "%s%s", k->url_base, r->path);
	r->easy = h;
	curl_easy_setopt(h, CURLOPT_URL, url); /* libcurl copies strings */
	free(url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
			 k->o.http1 ? (long)CURL_HTTP_VERSION_1_1 :
				      (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, k->ua);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(k->o.timeout * 1000));
	if (r->kind == RK_PLAIN) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
				 (long)(k->o.timeout * 1000));
		curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	} else if (r->kind == RK_WATCH) {
		/* the server ends it after timeoutSeconds: a backstop */
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
				 (long)(WATCH_MAX + 60) * 1000L);
	}
	set_tls(k, h);
	if (k->connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, k->connect_to);
	if (k->cfg.proxy_url)
		curl_easy_setopt(h, CURLOPT_PROXY, k->cfg.proxy_url);
	if (k->cfg.username && k->cfg.password && !k->cfg.token) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, k->cfg.username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, k->cfg.password);
	}
	if (r->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)r->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
		if (strcmp(r->method, "POST"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	} else if (!strcmp(r->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(r->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
	if (curl_multi_add_handle(k->multi, h) != CURLM_OK) {
		curl_slist_free_all(r->hdrs);
		r->hdrs = NULL;
		r->easy = NULL;
		easy_put(k, h);
		fail_start(k, r, "%s", "cannot add a transfer");
		return;
	}
	r->state = RS_ACTIVE;
	rl_push(&k->active, r);
	if (r->kind == RK_PLAIN)
		k->inflight++;
	r->attempts++;
	r->t0 = now;
}

/* What the server speaks, from an answer's headers.  HTTP/1.1 cannot
 * multiplex: from then on each watch or stream needs a connection. */
static void note_proto(struct tc_kube *k, CURL *h)
{
	long v = 0;

	curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &v);
	if (v == CURL_HTTP_VERSION_2_0 || v == CURL_HTTP_VERSION_3) {
		k->proto = 2;
	} else if (v == CURL_HTTP_VERSION_1_0 || v == CURL_HTTP_VERSION_1_1) {
		if (k->proto != 1)
			curl_multi_setopt(k->multi,
					  CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
		k->proto = 1;
	}
}

/* Take r off the wire: remember what its easy handle knows, give the
 * handle back. */
static void detach(struct tc_kube *k, struct req *r)
{
	long v = 0;

	if (r->state != RS_ACTIVE)
		return;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &v) == CURLE_OK)
		k->connects += v;
	note_proto(k, r->easy);
	curl_multi_remove_handle(k->multi, r->easy);
	easy_put(k, r->easy);
	r->easy = NULL;
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	rl_remove(&k->active, r);
	r->state = RS_NONE;
	if (r->kind == RK_PLAIN)
		k->inflight--;
	if (k->o.verbose)
		fprintf(stderr, "trainctl: k8s: %s %s -> %ld (%.0f ms)%s%s\n",
			r->method, r->path, r->status,
			(tc_mono() - r->t0) * 1000,
			r->errbuf[0] ? ": " : "", r->errbuf);
}

static void req_free(struct tc_kube *k, struct req *r)
{
	if (!r)
		return;
	/* a nested drive may have marked it again meanwhile */
	unmark_dirty(k, r);
	if (r->counted) {
		k->pending--;
		r->counted = 0;
	}
	free(r->method);
	free(r->path);
	free(r->ctype);
	free(r->body);
	free(r->buf);
	free(r);
}

static struct rlist *queue_of(struct tc_kube *k, struct req *r)
{
	return r->kind == RK_PLAIN ? &k->queue : &k->lqueue;
}

/* Take r out of wherever it is and free it; no callback. */
static void req_cancel(struct tc_kube *k, struct req *r)
{
	if (!r)
		return;
	switch (r->state) {
	case RS_QUEUED:
		rl_remove(queue_of(k, r), r);
		break;
	case RS_DELAYED:
		rl_remove(&k->delayed, r);
		break;
	case RS_FAILED:
		rl_remove(&k->failed, r);
		break;
	case RS_ACTIVE:
		detach(k, r);
		break;
	case RS_NONE:
		break;
	}
	r->state = RS_NONE;
	unmark_dirty(k, r);
	req_free(k, r);
}

/* Queue r now (delay <= 0) or after delay seconds. */
static void schedule(struct tc_kube *k, struct req *r, double delay)
{
	if (delay > 0) {
		r->not_before = tc_mono() + delay;
		r->state = RS_DELAYED;
		rl_push(&k->delayed, r);
	} else {
		r->state = RS_QUEUED;
		rl_push(queue_of(k, r), r);
	}
}

static struct req *req_new(struct tc_kube *k, enum req_kind kind,
			   const char *method, const char *path)
{
	struct req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->k = k;
	r->kind = kind;
	r->method = strdup(method);
	r->path = strdup(path);
	if (!r->method || !r->path) {
		req_free(k, r);
		return NULL;
	}
	r->deadline = tc_mono() + k->o.retry_budget;
	return r;
}

/* Token bucket: may a request start now? */
static int take_token(struct tc_kube *k, double now)
{
	k->tokens += (now - k->t_tokens) * k->o.qps;
	if (k->tokens > k->o.burst)
		k->tokens = k->o.burst;
	k->t_tokens = now;
	if (k->tokens >= 1.0) {
		k->tokens -= 1.0;
		return 1;
	}
	return 0;
}

/* Start what may start: watches and streams first (they are few and
 * take no slot), then requests in order. */
static void dispatch(struct tc_kube *k)
{
	double now = tc_mono();
	struct rlist *q;
	struct req *r, *nx;
	int i;

	for (r = k->delayed.head; r; r = nx) {
		nx = r->next;
		if (r->not_before <= now) {
			rl_remove(&k->delayed, r);
			r->state = RS_QUEUED;
			rl_push(queue_of(k, r), r);
		}
	}
	for (i = 0; i < 2; i++) {
		q = i ? &k->queue : &k->lqueue;
		while ((r = q->head)) {
			/* until the protocol is known, one at a time */
			if (!k->proto && k->active.n > 0)
				return;
			if (r->kind == RK_PLAIN &&
			    k->inflight >= (size_t)k->o.max_inflight)
				break;
			if (!take_token(k, now))
				return;
			rl_remove(q, r);
			r->state = RS_NONE;
			start(k, r);
		}
	}
}

/* Seconds until the next timer (a delayed request, a token for the head
 * of the queue); HUGE_VAL when none. */
static double next_timer(struct tc_kube *k, double now)
{
	double t = HUGE_VAL;
	struct req *r;

	for (r = k->delayed.head; r; r = r->next)
		if (r->not_before - now < t)
			t = r->not_before - now;
	if (k->failed.n)
		t = 0;
	if (k->proto || !k->active.n) {
		int startable = k->lqueue.n > 0 ||
				(k->queue.n > 0 &&
				 k->inflight < (size_t)k->o.max_inflight);

		if (startable) {
			double need = (1.0 - k->tokens) / k->o.qps -
				      (now - k->t_tokens);

			if (need < t)
				t = need;
		}
	}
	return t < 0 ? 0 : t;
}

/* ---- finishing requests ----------------------------------------------- */

static int retryable(CURLcode rc, long status)
{
	return tc_http_retryable(rc, status);
}

static void transport_error(struct tc_kube *k, struct req *r, CURLcode rc,
			    struct tc_error *err)
{
	const char *what = r->why[0] ? r->why :
			   r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);

	if (r->why[0])
		tc_error_set(err, TC_ERR_BACKEND, "%s", r->why);
	else if (r->attempts > 1)
		tc_error_set(err, TC_ERR_BACKEND,
			     "cannot reach %s: %s (gave up after %d attempts)",
			     k->cfg.server, what, r->attempts);
	else
		tc_error_set(err, TC_ERR_BACKEND, "cannot reach %s: %s",
			     k->cfg.server, what);
}

static json_t *parse_body(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && isspace((unsigned char)p[i]))
		i++;
	if (i == n || (p[i] != '{' && p[i] != '['))
		return NULL;
	return json_loadb(p, n, 0, NULL);
}

/* Hand the answer (or the failure) of a plain request to its callback and
 * free it. */
static void deliver(struct tc_kube *k, struct req *r, CURLcode rc)
{
	struct tc_kube_resp resp;
	struct tc_error err;
	tc_kube_cb cb = r->cb;
	void *ctx = r->ctx;

	memset(&resp, 0, sizeof(resp));
	tc_error_clear(&err);
	if (r->counted) {
		k->pending--;
		r->counted = 0;
	}
	if (rc != CURLE_OK || r->why[0]) {
		transport_error(k, r, rc, &err);
	} else {
		resp.status = r->status;
		resp.body = parse_body(r->buf ? r->buf : "", r->len);
		resp.retry_after = r->retry_after;
	}
	resp.raw = r->buf ? r->buf : "";
	resp.raw_len = r->buf ? r->len : 0;
	resp.context = k->cfg.context;
	k->fired++;
	if (cb)
		cb(ctx, &resp, &err);
	json_decref(resp.body);
	req_free(k, r);
}

/* A plain request's attempt ended: retry it, or deliver. */
static void plain_done(struct tc_kube *k, struct req *r, CURLcode rc)
{
	double d;

	if (r->why[0]) {
		deliver(k, r, rc);
		return;
	}
	if (rc == CURLE_OK && r->status == 401 && !r->auth_retried &&
	    creds_refresh(k)) {
		r->auth_retried = 1;
		r->state = RS_QUEUED;
		rl_push_front(queue_of(k, r), r);
		return;
	}
	if (r->retry && retryable(rc, r->status)) {
		d = tc_retry_wait(backoff(k, r->attempts),
				  rc == CURLE_OK ? r->retry_after : 0);
		if (tc_mono() + d <= r->deadline) {
			schedule(k, r, d);
			return;
		}
	}
	deliver(k, r, rc);
}

static void watch_end(struct tc_kube_informer *inf, struct req *r);
static void stream_process(struct tc_kube_stream *s, struct req *r);
static void watch_process(struct tc_kube_informer *inf, struct req *r);

static void on_done(struct tc_kube *k, struct req *r, CURLcode rc)
{
	if (r->kind == RK_PLAIN) {
		plain_done(k, r, rc);
		return;
	}
	/* watches and streams end in process_dirty(), after their data */
	r->ended = 1;
	r->result = r->why[0] ? CURLE_FAILED_INIT : rc;
	mark_dirty(k, r);
}

static void reap(struct tc_kube *k)
{
	CURLMsg *m;
	struct req *r;
	int left;

	while ((m = curl_multi_info_read(k->multi, &left))) {
		CURLcode rc;
		char *priv;

		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		priv = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		if (!priv)
			continue;
		r = (struct req *)(void *)priv;
		detach(k, r);
		on_done(k, r, rc);
	}
	while ((r = k->failed.head)) {
		rl_remove(&k->failed, r);
		r->state = RS_NONE;
		on_done(k, r, CURLE_FAILED_INIT);
	}
}

/* Watches and streams with news.  Those being delivered to (busy) are
 * left for the outer delivery to finish. */
static void process_dirty(struct tc_kube *k)
{
	struct req *r, *keep = NULL;

	while ((r = k->dirty)) {
		k->dirty = r->dnext;
		r->dnext = NULL;
		r->dirty = 0;
		if ((r->inf && r->inf->busy) || (r->st && r->st->busy)) {
			r->dnext = keep;
			keep = r;
			continue;
		}
		if (r->inf)
			watch_process(r->inf, r);
		else if (r->st)
			stream_process(r->st, r);
	}
	while ((r = keep)) {
		keep = r->dnext;
		r->dnext = NULL;
		mark_dirty(k, r);
	}
}

/* ---- public: client ---------------------------------------------------- */

static int make_base(struct tc_kube *k, struct tc_error *err)
{
	const char *srv = k->cfg.server;
	size_t n = strlen(srv);
	CURLU *u;
	char *host = NULL, *port = NULL, *url = NULL;
	int rc = 0;

	while (n > 0 && srv[n - 1] == '/')
		n--;
	if (!k->cfg.tls_server_name) {
		k->url_base = xmemdup(srv, n);
		return k->url_base ? 0 : TC_ERR_NOMEM;
	}
	/* Dial the server's address but talk TLS (SNI, verification) with
	 * tls_server_name: the URL names tls_server_name and CONNECT_TO maps
	 * it to the real host.  The Host header is tls_server_name too. */
	u = curl_url();
	if (!u)
		return TC_ERR_NOMEM;
	if (curl_url_set(u, CURLUPART_URL, srv, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		    CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, k->cfg.tls_server_name, 0) !=
		    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "cannot use server %s with "
				  "tls-server-name %s",
				  srv, k->cfg.tls_server_name);
	} else {
		char line[512];

		snprintf(line, sizeof(line), "%s:%s:%s:%s",
			 k->cfg.tls_server_name, port, host, port);
		n = strlen(url);
		while (n > 0 && url[n - 1] == '/')
			n--;
		k->url_base = xmemdup(url, n);
		k->connect_to = curl_slist_append(NULL, line);
		if (!k->url_base || !k->connect_to)
			rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

int tc_kube_new(const struct tc_kcfg *cfg, const struct tc_kube_opts *o,
		struct tc_kube **out, struct tc_error *err)
{
	struct tc_kube *k;
	int rc;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc < 0)
		return tc_error_set(err, TC_ERR_INTERNAL,
				    "libcurl cannot initialise");
	if (!cfg || !cfg->server || !cfg->server[0])
		return tc_error_set(err, TC_ERR_BACKEND,
				    "no Kubernetes API server is configured");
	k = calloc(1, sizeof(*k));
	if (!k)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if (cfg_copy(&k->cfg, cfg) < 0) {
		free(k);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	if (o)
		k->o = *o;
	if (!(k->o.qps > 0))
		k->o.qps = DEF_QPS;
	if (k->o.burst <= 0)
		k->o.burst = DEF_BURST;
	if (k->o.max_inflight <= 0)
		k->o.max_inflight = DEF_INFLIGHT;
	if (!(k->o.timeout > 0))
		k->o.timeout = DEF_TIMEOUT;
	if (!(k->o.retry_budget > 0))
		k->o.retry_budget = DEF_BUDGET;
	k->tokens = k->o.burst;
	k->t_tokens = tc_mono();
	k->rng = (uint64_t)(tc_now() * 1e6) ^ ((uint64_t)getpid() << 32) ^
		 (uint64_t)(uintptr_t)k;
	if (!k->rng)
		k->rng = 88172645463325252ULL;
	snprintf(k->ua, sizeof(k->ua), "trainctl/%s", TC_VERSION);
	rc = make_base(k, err);
	if (rc < 0) {
		if (rc == TC_ERR_NOMEM)
			tc_error_set(err, rc, "out of memory");
		tc_kube_free(k);
		return rc;
	}
	k->multi = curl_multi_init();
	if (!k->multi) {
		tc_kube_free(k);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	curl_multi_setopt(k->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(k->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
	curl_multi_setopt(k->multi, CURLMOPT_MAX_CONCURRENT_STREAMS,
			  STREAMS_MAX);
	*out = k;
	return 0;
}

static void informer_destroy(struct tc_kube_informer *inf);
static void stream_destroy(struct tc_kube_stream *s);

void tc_kube_free(struct tc_kube *k)
{
	struct req *r;
	struct rlist *lists[5];
	int i;

	if (!k)
		return;
	while (k->infs)
		informer_destroy(k->infs);
	while (k->streams)
		stream_destroy(k->streams);
	lists[0] = &k->queue;
	lists[1] = &k->lqueue;
	lists[2] = &k->delayed;
	lists[3] = &k->active;
	lists[4] = &k->failed;
	for (i = 0; i < 5; i++)
		while ((r = lists[i]->head))
			req_cancel(k, r);
	while (k->npool > 0)
		curl_easy_cleanup(k->pool[--k->npool]);
	if (k->multi)
		curl_multi_cleanup(k->multi);
	curl_slist_free_all(k->connect_to);
	free(k->url_base);
	cfg_release(&k->cfg);
	free(k);
}

const char *tc_kube_namespace(const struct tc_kube *k)
{
	return k->cfg.namespace;
}

const char *tc_kube_server(const struct tc_kube *k)
{
	return k->cfg.server;
}

const char *tc_kube_protocol(const struct tc_kube *k)
{
	return k->proto == 2 ? "HTTP/2" : k->proto == 1 ? "HTTP/1.1" :
	       "unknown";
}

long tc_kube_connections(const struct tc_kube *k)
{
	return k->connects;
}

size_t tc_kube_pending(const struct tc_kube *k)
{
	return k->pending;
}

static struct req *submit(struct tc_kube *k, enum req_kind kind,
			  const char *method, const char *path,
			  const json_t *body, const char *content_type)
{
	struct req *r = req_new(k, kind, method, path);

	if (!r)
		return NULL;
	if (body) {
		r->body = json_dumps(body, JSON_COMPACT);
		if (!r->body) {
			req_free(k, r);
			return NULL;
		}
		r->body_len = strlen(r->body);
	}
	if (content_type) {
		r->ctype = strdup(content_type);
		if (!r->ctype) {
			req_free(k, r);
			return NULL;
		}
	}
	return r;
}

int tc_kube_submit(struct tc_kube *k, const char *method, const char *path,
		   const json_t *body, const char *content_type, tc_kube_cb cb,
		   void *ctx)
{
	struct req *r = submit(k, RK_PLAIN, method, path, body, content_type);

	if (!r)
		return TC_ERR_NOMEM;
	r->cb = cb;
	r->ctx = ctx;
	r->retry = 1;
	r->counted = 1;
	k->pending++;
	schedule(k, r, 0);
	return 0;
}

int tc_kube_drive(struct tc_kube *k, int timeout_ms, int wake_fd)
{
	double end = tc_mono() + (timeout_ms > 0 ? timeout_ms / 1000.0 : 0);
	unsigned long fired = k->fired;
	int polled = 0, woke = 0;

	for (;;) {
		struct curl_waitfd wfd;
		double now, wait, t;
		int running, ms;

		dispatch(k);
		if (curl_multi_perform(k->multi, &running) != CURLM_OK)
			return TC_ERR_INTERNAL;
		reap(k);
		process_dirty(k);
		dispatch(k);
		if (woke)
			return 1;
		now = tc_mono();
		/* callbacks fired: the caller may have something to do */
		if ((polled && now >= end) || k->fired != fired)
			return 0;
		wait = end - now;
		t = next_timer(k, now);
		if (t < wait)
			wait = t;
		if (wait < 0)
			wait = 0;
		ms = (int)ceil(wait * 1000);
		memset(&wfd, 0, sizeof(wfd));
		wfd.fd = wake_fd;
		wfd.events = CURL_WAIT_POLLIN;
		if (curl_multi_poll(k->multi, wake_fd >= 0 ? &wfd : NULL,
				    wake_fd >= 0 ? 1 : 0, ms, NULL) != CURLM_OK)
			return TC_ERR_INTERNAL;
		polled = 1;
		if (wake_fd >= 0 && (wfd.revents & CURL_WAIT_POLLIN))
			woke = 1;
	}
}

struct call_state {
	int done;
	struct tc_kube_resp *resp;
	struct tc_error *err;
	int rc;
};

static void call_cb(void *ctx, const struct tc_kube_resp *resp,
		    const struct tc_error *err)
{
	struct call_state *cs = ctx;

	cs->done = 1;
	cs->resp->status = resp->status;
	cs->resp->retry_after = resp->retry_after;
	cs->resp->context = resp->context;
	if (err->code) {
		if (cs->err)
			*cs->err = *err;
		cs->rc = err->code;
		return;
	}
	cs->resp->body = json_incref(resp->body);
	cs->resp->raw = xmemdup(resp->raw, resp->raw_len);
	cs->resp->raw_len = resp->raw_len;
	if (!cs->resp->raw) {
		json_decref(cs->resp->body);
		cs->resp->body = NULL;
		cs->resp->raw_len = 0;
		cs->rc = tc_error_set(cs->err, TC_ERR_NOMEM, "out of memory");
	}
}

int tc_kube_call(struct tc_kube *k, const char *method, const char *path,
		 const json_t *body, struct tc_kube_resp *resp,
		 struct tc_error *err)
{
	struct call_state cs;
	struct req *r;

	memset(resp, 0, sizeof(*resp));
	memset(&cs, 0, sizeof(cs));
	cs.resp = resp;
	cs.err = err;
	r = submit(k, RK_PLAIN, method, path, body, NULL);
	if (!r)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	r->cb = call_cb;
	r->ctx = &cs;
	r->retry = 1;
	r->counted = 1;
	k->pending++;
	schedule(k, r, 0);
	while (!cs.done) {
		if (tc_kube_drive(k, 1000, -1) < 0) {
			if (!cs.done)
				req_cancel(k, r);
			return tc_error_set(err, TC_ERR_INTERNAL,
					    "libcurl failed during %s %s",
					    method, path);
		}
	}
	return cs.rc;
}

void tc_kube_resp_free(struct tc_kube_resp *resp)
{
	if (!resp)
		return;
	json_decref(resp->body);
	free(resp->raw);
	memset(resp, 0, sizeof(resp[0]));
}

/* ---- errors for people ------------------------------------------------- */

static int kube_error(struct tc_error *err, const struct tc_kube_resp *resp,
		      const char *what)
{
	const char *msg = NULL, *reason = NULL;
	char causes[640], body[256], status[64];
	const char *pre = what ? what : "request";
	json_t *b = resp ? resp->body : NULL;
	long code = resp ? resp->status : 0;

	causes[0] = body[0] = '\0';
	if (json_is_object(b)) {
		json_t *det = json_object_get(b, "details");
		json_t *cs = json_object_get(det, "causes");
		size_t i, off = 0;
		json_t *c;

		msg = json_string_value(json_object_get(b, "message"));
		reason = json_string_value(json_object_get(b, "reason"));
		json_array_foreach(cs, i, c) {
			const char *f = json_string_value(
				json_object_get(c, "field"));
			const char *m = json_string_value(
				json_object_get(c, "message"));
			int n;

			if (!m || off >= sizeof(causes))
				continue;
			n = snprintf(causes + off, sizeof(causes) - off,
				     "%s%s%s%s", off ? "; " : "", f ? f : "",
				     f ? ": " : "", m);
			if (n > 0)
				off += (size_t)n;
		}
	} else if (resp && resp->raw && resp->raw_len) {
		size_t n = resp->raw_len, i;

		if (n >= sizeof(body))
			n = sizeof(body) - 1;
		for (i = 0; i < n; i++)
			body[i] = tc_text_safe_char((unsigned char)resp->raw[i]);
		while (i > 0 && body[i - 1] == ' ')
			i--;
		body[i] = '\0';
		if (body[0])
			msg = body;
	}
	if (code)
		snprintf(status, sizeof(status), "HTTP %ld%s%s", code,
			 status_text(code)[0] ? " " : "", status_text(code));
	else
		snprintf(status, sizeof(status), "no answer");

	if (msg && !strcasecmp(msg, status_text(code)))
		msg = NULL; /* "Unauthorized": the status says it already */
	switch (code) {
	case 401:
		if (resp && resp->context)
			return tc_error_set(err, TC_ERR_BACKEND,
				"%s: the API server refused the credentials of "
				"context \"%s\" (%s%s%s); log in again or "
				"check the kubeconfig's user", pre,
				resp->context, status, msg ? ": " : "",
				msg ? msg : "");
		return tc_error_set(err, TC_ERR_BACKEND,
			"%s: the API server refused the credentials (%s%s%s); "
			"log in again or check the kubeconfig's user", pre,
			status, msg ? ": " : "", msg ? msg : "");
	case 403:
		return tc_error_set(err, TC_ERR_BACKEND,
			"%s: %s (%s); the Role bound to this account must "
			"allow it", pre, msg ? msg : "forbidden", status);
	case 422:
		if (causes[0]) {
			json_t *det = json_object_get(b, "details");
			const char *kind = json_string_value(
				json_object_get(det, "kind"));
			const char *name = json_string_value(
				json_object_get(det, "name"));

			if (kind && name)
				return tc_error_set(err, TC_ERR_BACKEND,
					"%s: %s \"%s\" is invalid: %s (%s)",
					pre, kind, name, causes, status);
			return tc_error_set(err, TC_ERR_BACKEND,
					    "%s: invalid: %s (%s)", pre,
					    causes, status);
		}
		break;
	default:
		break;
	}
	if (msg)
		return tc_error_set(err, TC_ERR_BACKEND, "%s: %s (%s%s%s)", pre,
				    msg, status, reason ? ", " : "",
				    reason ? reason : "");
	return tc_error_set(err, TC_ERR_BACKEND, "%s: %s", pre, status);
}

/* The server's words reach a terminal: no escape sequence gets through. */
int tc_kube_error(struct tc_error *err, const struct tc_kube_resp *resp,
		  const char *what)
{
	int rc = kube_error(err, resp, what);

	if (err)
		tc_text_sanitize(err->msg);
	return rc;
}

char *tc_kube_escape(const char *s)
{
	/* libcurl's escaping keeps exactly RFC 3986's unreserved characters
	 * (letters, digits, '-', '.', '_', '~'); its result is curl_free()'d,
	 * ours free()'d, hence the copy */
	char *e = curl_easy_escape(NULL, s, 0), *d;

	if (!e)
		return NULL;
	d = strdup(e);
	curl_free(e);
	return d;
}

/* ---- informers --------------------------------------------------------- */

static void inf_list(struct tc_kube_informer *inf, double delay);
static void inf_watch(struct tc_kube_informer *inf, double delay);

static void inf_set_error(struct tc_kube_informer *inf,
			  const struct tc_error *e)
{
	inf->err = *e;
	inf->failures++;
}

static void inf_ok(struct tc_kube_informer *inf)
{
	tc_error_clear(&inf->err);
	inf->failures = 0;
}

/* Object key: "namespace/name" (or "name"); NULL when it has no name. */
static int obj_key(json_t *obj, char *buf, size_t len)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));

	if (!name)
		return -1;
	if (ns)
		snprintf(buf, len, "%s/%s", ns, name);
	else
		snprintf(buf, len, "%s", name);
	return 0;
}

static const char *obj_rv(json_t *obj)
{
	return json_string_value(json_object_get(
		json_object_get(obj, "metadata"), "resourceVersion"));
}

static void inf_set_rv(struct tc_kube_informer *inf, const char *rv)
{
	char *d;

	if (!rv || !rv[0])
		return;
	d = strdup(rv);
	if (!d)
		return;
	free(inf->rv);
	inf->rv = d;
}

/* Call the user; 0 to go on, -1 when the informer was freed meanwhile. */
static int inf_emit(struct tc_kube_informer *inf, enum tc_kube_event ev,
		    json_t *obj)
{
	if (inf->zombie)
		return -1;
	inf->k->fired++;
	inf->cb(inf->ctx, ev, obj);
	return inf->zombie ? -1 : 0;
}

static char *inf_url(struct tc_kube_informer *inf, int watch)
{
	char *cont = NULL, *rv = NULL, *u;
	const char *sep = strchr(inf->path, '?') ? "&" : "?";
	size_t n;

	if (!watch && inf->cont && !(cont = tc_kube_escape(inf->cont)))
		return NULL;
	if (watch && !(rv = tc_kube_escape(inf->rv ? inf->rv : "")))
		return NULL;
	n = strlen(inf->path) + (inf->selector ? strlen(inf->selector) : 0) +
	    (cont ? strlen(cont) : 0) + (rv ? strlen(rv) : 0) + 160;
	u = malloc(n);
	if (u && watch) {
		int t = WATCH_MIN +
			(int)(tc_jitter01(&inf->k->rng) * (WATCH_MAX - WATCH_MIN + 1));

		if (t > WATCH_MAX)
			t = WATCH_MAX;
		snprintf(u, n,
			 "%s%swatch=1&allowWatchBookmarks=true"
			 "&resourceVersion=%s&timeoutSeconds=%d%s%s",
			 inf->path, sep, rv, t,
			 inf->selector ? "&labelSelector=" : "",
			 inf->selector ? inf->selector : "");
	} else if (u) {
		snprintf(u, n, "%s%slimit=%d%s%s%s%s", inf->path, sep,
			 LIST_PAGE, inf->selector ? "&labelSelector=" : "",
			 inf->selector ? inf->selector : "",
			 cont ? "&continue=" : "", cont ? cont : "");
	}
	free(cont);
	free(rv);
	return u;
}

static void inf_fail_nomem(struct tc_kube_informer *inf)
{
	struct tc_error e;

	tc_error_set(&e, TC_ERR_NOMEM, "out of memory");
	inf_set_error(inf, &e);
}

static void inf_list_cb(void *ctx, const struct tc_kube_resp *resp,
			const struct tc_error *err);

static void inf_list(struct tc_kube_informer *inf, double delay)
{
	struct tc_kube *k = inf->k;
	char *u = inf_url(inf, 0);
	struct req *r;

	if (!u) {
		inf_fail_nomem(inf);
		return;
	}
	r = req_new(k, RK_PLAIN, "GET", u);
	free(u);
	if (!r) {
		inf_fail_nomem(inf);
		return;
	}
	r->cb = inf_list_cb;
	r->ctx = inf;
	inf->req = r;
	schedule(k, r, delay);
}

static void inf_watch(struct tc_kube_informer *inf, double delay)
{
	struct tc_kube *k = inf->k;
	char *u = inf_url(inf, 1);
	struct req *r;

	if (!u) {
		inf_fail_nomem(inf);
		return;
	}
	r = req_new(k, RK_WATCH, "GET", u);
	free(u);
	if (!r) {
		inf_fail_nomem(inf);
		return;
	}
	r->inf = inf;
	inf->req = r;
	inf->relist = 0;
	inf->watch_failed = 0;
	schedule(k, r, delay);
}

static void inf_relist(struct tc_kube_informer *inf, double delay)
{
	json_decref(inf->listing);
	inf->listing = NULL;
	free(inf->cont);
	inf->cont = NULL;
	inf_list(inf, delay);
}

static void inf_maybe_destroy(struct tc_kube_informer *inf)
{
	if (inf->zombie && !inf->busy)
		informer_destroy(inf);
}

/* What the cache keeps of an object: its identity and resourceVersion (a
 * relist compares versions; a DELETED found by a relist carries this).
 * Whole objects would cost tens of MB for a few hundred pods. */
static json_t *stub_of(const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	json_t *m = json_object(), *o = json_object();
	static const char *const keys[] = {"name", "namespace", "resourceVersion",
					   "uid", "labels"};

	if (!m || !o) {
		json_decref(m);
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(md, keys[i]);

		if (v)
			json_object_set(m, keys[i], v);
	}
	json_object_set_new(o, "metadata", m);
	if (json_object_get(obj, "kind"))
		json_object_set(o, "kind", json_object_get(obj, "kind"));
	if (json_object_get(obj, "apiVersion"))
		json_object_set(o, "apiVersion", json_object_get(obj, "apiVersion"));
	return o;
}

/* The last page is in: compare with the cache, deliver, watch. */
static void inf_apply_list(struct tc_kube_informer *inf, const char *rv)
{
	json_t *fresh = json_object(), *events = json_array();
	json_t *item, *old, *ev;
	const char *key;
	size_t i;
	char kb[1024];
	void *tmp;

	if (!fresh || !events) {
		json_decref(fresh);
		json_decref(events);
		inf_fail_nomem(inf);
		inf_relist(inf, backoff(inf->k, inf->failures));
		return;
	}
	json_array_foreach(inf->listing, i, item) {
		const char *orv;

		if (obj_key(item, kb, sizeof(kb)) < 0)
			continue;
		old = json_object_get(inf->cache, kb);
		json_object_set_new(fresh, kb, stub_of(item));
		if (!old) {
			json_array_append_new(events,
				json_pack("[iO]", TC_KUBE_ADDED, item));
			continue;
		}
		orv = obj_rv(old);
		if (!orv || !obj_rv(item) || strcmp(orv, obj_rv(item)))
			json_array_append_new(events,
				json_pack("[iO]", TC_KUBE_MODIFIED, item));
	}
	json_object_foreach_safe(inf->cache, tmp, key, old) {
		if (!json_object_get(fresh, key))
			json_array_append_new(events,
				json_pack("[iO]", TC_KUBE_DELETED, old));
	}
	json_decref(inf->cache);
	inf->cache = fresh;
	json_decref(inf->listing);
	inf->listing = NULL;
	free(inf->cont);
	inf->cont = NULL;
	inf_set_rv(inf, rv);
	inf_ok(inf);
	inf->synced = 1;

	json_array_foreach(events, i, ev) {
		if (inf_emit(inf, (enum tc_kube_event)json_integer_value(
					  json_array_get(ev, 0)),
			     json_array_get(ev, 1)) < 0)
			break;
	}
	json_decref(events);
	if (inf_emit(inf, TC_KUBE_SYNCED, NULL) < 0)
		return;
	if (!inf->req)
		inf_watch(inf, 0);
}

static void inf_list_cb(void *ctx, const struct tc_kube_resp *resp,
			const struct tc_error *err)
{
	struct tc_kube_informer *inf = ctx;
	json_t *items, *item, *md;
	const char *cont, *kind, *api;
	char what[256];
	size_t i;

	inf->req = NULL;
	inf->busy++;
	snprintf(what, sizeof(what), "list %s", inf->path);
	if (err->code) {
		inf_set_error(inf, err);
		inf_relist(inf, backoff(inf->k, inf->failures));
		goto out;
	}
	if (resp->status == 410 && inf->cont) {
		/* the continue token expired: start the list again */
		inf_relist(inf, 0);
		goto out;
	}
	if (resp->status != 200 || !json_is_object(resp->body)) {
		struct tc_error e;

		double d;

		tc_kube_error(&e, resp, what);
		inf_set_error(inf, &e);
		d = backoff(inf->k, inf->failures);
		inf_relist(inf, resp->retry_after > d ? resp->retry_after : d);
		goto out;
	}
	if (!inf->listing && !(inf->listing = json_array())) {
		inf_fail_nomem(inf);
		inf_relist(inf, backoff(inf->k, inf->failures));
		goto out;
	}
	/* list items carry no kind; give them the one watch events have */
	kind = json_string_value(json_object_get(resp->body, "kind"));
	api = json_string_value(json_object_get(resp->body, "apiVersion"));
	if (kind && strlen(kind) > 4 &&
	    !strcmp(kind + strlen(kind) - 4, "List") && !inf->item_kind)
		inf->item_kind = xmemdup(kind, strlen(kind) - 4);
	if (api && !inf->item_api)
		inf->item_api = strdup(api);
	items = json_object_get(resp->body, "items");
	json_array_foreach(items, i, item) {
		if (!json_is_object(item))
			continue;
		if (inf->item_kind && !json_object_get(item, "kind"))
			json_object_set_new(item, "kind",
					    json_string(inf->item_kind));
		if (inf->item_api && !json_object_get(item, "apiVersion"))
			json_object_set_new(item, "apiVersion",
					    json_string(inf->item_api));
		json_array_append(inf->listing, item);
	}
	md = json_object_get(resp->body, "metadata");
	cont = json_string_value(json_object_get(md, "continue"));
	free(inf->cont);
	inf->cont = NULL;
	if (cont && cont[0]) {
		inf->cont = strdup(cont);
		if (!inf->cont) {
			inf_fail_nomem(inf);
			inf_relist(inf, backoff(inf->k, inf->failures));
			goto out;
		}
		inf_list(inf, 0);
		goto out;
	}
	inf_apply_list(inf, json_string_value(
				    json_object_get(md, "resourceVersion")));
out:
	inf->busy--;
	inf_maybe_destroy(inf);
}

/* One watch event. */
static void inf_event(struct tc_kube_informer *inf, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	char kb[1024];
	json_t *old;

	if (!type || !json_is_object(obj)) {
		struct tc_error e;

		tc_error_set(&e, TC_ERR_BACKEND,
			     "watch %s: the server sent an unreadable event",
			     inf->path);
		inf_set_error(inf, &e);
		inf->watch_failed = 1;
		return;
	}
	if (!strcmp(type, "BOOKMARK")) {
		inf_set_rv(inf, obj_rv(obj));
		return;
	}
	if (!strcmp(type, "ERROR")) {
		json_t *code = json_object_get(obj, "code");
		struct tc_kube_resp resp;
		struct tc_error e;
		char what[256];

		if (json_integer_value(code) == 410) {
			inf->relist = 1;
			return;
		}
		memset(&resp, 0, sizeof(resp));
		resp.status = (long)json_integer_value(code);
		resp.body = obj;
		snprintf(what, sizeof(what), "watch %s", inf->path);
		tc_kube_error(&e, &resp, what);
		inf_set_error(inf, &e);
		inf->watch_failed = 1;
		return;
	}
	if (obj_key(obj, kb, sizeof(kb)) < 0)
		return;
	inf_set_rv(inf, obj_rv(obj));
	old = json_object_get(inf->cache, kb);
	if (!strcmp(type, "DELETED")) {
		json_incref(obj);
		json_object_del(inf->cache, kb);
		inf_emit(inf, TC_KUBE_DELETED, obj);
		json_decref(obj);
		return;
	}
	if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED"))
		return;
	if (old && obj_rv(old) && obj_rv(obj) &&
	    !strcmp(obj_rv(old), obj_rv(obj)))
		return; /* seen already */
	{
		int had = old != NULL;

		json_object_set_new(inf->cache, kb, stub_of(obj));
		inf_emit(inf, had ? TC_KUBE_MODIFIED : TC_KUBE_ADDED, obj);
	}
}

/* Hand over the complete lines of a watch, then handle its end. */
static void watch_process(struct tc_kube_informer *inf, struct req *r)
{
	size_t off = 0;

	inf->busy++;
	if (r->headers_done && r->state == RS_ACTIVE && !r->status) {
		long st = 0;

		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
		if (!inf->k->proto)
			note_proto(inf->k, r->easy);
		if (st == 200)
			inf_ok(inf);
		r->status = st;
	}
	/* a watch refused is one Status object, for watch_end() */
	for (; r->status == 200;) {
		char *nl, *line;
		json_t *ev;

		if (inf->zombie || inf->relist || inf->req != r ||
		    off >= r->len)
			break;
		line = r->buf + off;
		nl = memchr(line, '\n', r->len - off);
		if (!nl)
			break;
		off += (size_t)(nl - line) + 1;
		if (nl == line || (nl == line + 1 && line[0] == '\r'))
			continue;
		ev = json_loadb(line, (size_t)(nl - line), 0, NULL);
		if (ev) {
			inf_event(inf, ev);
			json_decref(ev);
		} else {
			struct tc_error e;

			tc_error_set(&e, TC_ERR_BACKEND,
				     "watch %s: the server sent an unreadable "
				     "event", inf->path);
			inf_set_error(inf, &e);
			inf->watch_failed = 1;
			inf->relist = 1;
		}
	}
	if (inf->req == r && off > 0) {
		memmove(r->buf, r->buf + off, r->len - off);
		r->len -= off;
		r->buf[r->len] = '\0';
		r->line_start = r->line_start > off ? r->line_start - off : 0;
	}
	inf->busy--;
	if (inf->zombie) {
		inf_maybe_destroy(inf);
		return;
	}
	if (inf->req != r)
		return;
	if (inf->relist) {
		struct tc_kube *k = inf->k;
		int fail = inf->watch_failed;

		inf->req = NULL;
		req_cancel(k, r);
		inf_relist(inf, fail ? backoff(k, inf->failures) : 0);
		return;
	}
	if (r->ended)
		watch_end(inf, r);
}

static void watch_end(struct tc_kube_informer *inf, struct req *r)
{
	struct tc_kube *k = inf->k;
	struct tc_error e;
	char what[256];

	inf->req = NULL;
	snprintf(what, sizeof(what), "watch %s", inf->path);
	if (r->overflow) {
		tc_error_set(&e, TC_ERR_BACKEND,
			     "%s: an event larger than %u MB", what,
			     EVENT_MAX >> 20);
		inf_set_error(inf, &e);
		req_free(k, r);
		inf_relist(inf, backoff(k, inf->failures));
		return;
	}
	if (r->result != CURLE_OK) {
		transport_error(k, r, r->result, &e);
		inf_set_error(inf, &e);
		req_free(k, r);
		inf_watch(inf, backoff(k, inf->failures));
		return;
	}
	if (r->status == 410) {
		req_free(k, r);
		inf_relist(inf, 0);
		return;
	}
	if (r->status != 200) {
		struct tc_kube_resp resp;
		double d;

		memset(&resp, 0, sizeof(resp));
		resp.status = r->status;
		resp.raw = r->buf ? r->buf : "";
		resp.raw_len = r->buf ? r->len : 0;
		resp.body = parse_body(resp.raw, resp.raw_len);
		resp.context = k->cfg.context;
		tc_kube_error(&e, &resp, what);
		json_decref(resp.body);
		inf_set_error(inf, &e);
		if (r->status == 401)
			creds_refresh(k);
		d = backoff(k, inf->failures);
		if (r->retry_after > d)
			d = r->retry_after;
		req_free(k, r);
		inf_watch(inf, d);
		return;
	}
	req_free(k, r);
	if (inf->watch_failed) {
		inf_watch(inf, backoff(k, inf->failures));
		return;
	}
	/* the server's timeout, or it went away cleanly: watch on */
	inf_watch(inf, 0);
}

struct tc_kube_informer *tc_kube_informer_new(struct tc_kube *k,
					      const char *path,
					      const char *label_selector,
					      tc_kube_watch_cb cb, void *ctx)
{
	struct tc_kube_informer *inf = calloc(1, sizeof(*inf));

	if (!inf)
		return NULL;
	inf->k = k;
	inf->cb = cb;
	inf->ctx = ctx;
	inf->path = strdup(path);
	inf->cache = json_object();
	if (label_selector && label_selector[0])
		inf->selector = tc_kube_escape(label_selector);
	if (!inf->path || !inf->cache ||
	    (label_selector && label_selector[0] && !inf->selector)) {
		free(inf->path);
		free(inf->selector);
		json_decref(inf->cache);
		free(inf);
		return NULL;
	}
	inf->next = k->infs;
	if (k->infs)
		k->infs->prev = inf;
	k->infs = inf;
	inf_list(inf, 0);
	if (!inf->req) {
		informer_destroy(inf);
		return NULL;
	}
	return inf;
}

int tc_kube_informer_synced(const struct tc_kube_informer *inf)
{
	return inf->synced;
}

const struct tc_error *tc_kube_informer_error(
	const struct tc_kube_informer *inf)
{
	return &inf->err;
}

static void informer_destroy(struct tc_kube_informer *inf)
{
	struct tc_kube *k = inf->k;

	req_cancel(k, inf->req);
	inf->req = NULL;
	if (inf->prev)
		inf->prev->next = inf->next;
	else
		k->infs = inf->next;
	if (inf->next)
		inf->next->prev = inf->prev;
	json_decref(inf->cache);
	json_decref(inf->listing);
	free(inf->cont);
	free(inf->rv);
	free(inf->path);
	free(inf->selector);
	free(inf->item_kind);
	free(inf->item_api);
	free(inf);
}

void tc_kube_informer_free(struct tc_kube_informer *inf)
{
	if (!inf)
		return;
	if (inf->busy) {
		inf->zombie = 1;
		return;
	}
	informer_destroy(inf);
}

int tc_kube_informer_test_feed(struct tc_kube_informer *inf,
			       const char *data, size_t len)
{
	struct req *r = inf->req;

	if (!r || r->kind != RK_WATCH || r->state != RS_ACTIVE ||
	    r->status != 200)
		return TC_ERR_STATE;
	if (buf_add(r, data, len) < 0)
		return TC_ERR_NOMEM;
	mark_dirty(inf->k, r);
	return 0;
}

void tc_kube_informer_test_rewatch(struct tc_kube_informer *inf,
				   const char *rv)
{
	req_cancel(inf->k, inf->req);
	inf->req = NULL;
	if (rv)
		inf_set_rv(inf, rv);
	inf_watch(inf, 0);
}

/* ---- streams ------------------------------------------------------------ */

static void stream_process(struct tc_kube_stream *s, struct req *r)
{
	struct tc_kube *k = s->k;
	long status = r->status;

	if (r->state == RS_ACTIVE) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (!k->proto && r->headers_done)
			note_proto(k, r->easy);
	}
	s->busy++;
	if (status >= 200 && status <= 299 && r->len > 0) {
		/* hand over what is here; more may arrive during the call */
		while (r->len > 0 && !s->zombie && s->req == r) {
			char *b = r->buf;
			size_t n = r->len;

			r->buf = NULL;
			r->len = r->cap = 0;
			k->fired++;
			s->data(s->ctx, b, n);
			free(b);
		}
	}
	s->busy--;
	if (s->zombie) {
		if (!s->busy)
			stream_destroy(s);
		return;
	}
	if (s->req != r || !r->ended)
		return;
	{
		struct tc_kube_resp resp;
		struct tc_error err;

		memset(&resp, 0, sizeof(resp));
		tc_error_clear(&err);
		if (r->result != CURLE_OK)
			transport_error(k, r, r->result, &err);
		resp.status = r->status;
		resp.raw = r->buf ? r->buf : "";
		resp.raw_len = r->buf ? r->len : 0;
		if (r->status < 200 || r->status > 299)
			resp.body = parse_body(resp.raw, resp.raw_len);
		resp.context = k->cfg.context;
		s->req = NULL;
		s->ended = 1;
		s->busy++;
		k->fired++;
		if (s->end)
			s->end(s->ctx, &resp, &err);
		s->busy--;
		json_decref(resp.body);
		req_free(k, r);
		if (s->zombie && !s->busy)
			stream_destroy(s);
	}
}

struct tc_kube_stream *tc_kube_stream_new(struct tc_kube *k, const char *path,
					  tc_kube_data_cb data, tc_kube_cb end,
					  void *ctx)
{
	struct tc_kube_stream *s = calloc(1, sizeof(*s));
	struct req *r;

	if (!s)
		return NULL;
	r = req_new(k, RK_STREAM, "GET", path);
	if (!r) {
		free(s);
		return NULL;
	}
	s->k = k;
	s->data = data;
	s->end = end;
	s->ctx = ctx;
	s->req = r;
	r->st = s;
	s->next = k->streams;
	if (k->streams)
		k->streams->prev = s;
	k->streams = s;
	schedule(k, r, 0);
	return s;
}

static void stream_destroy(struct tc_kube_stream *s)
{
	struct tc_kube *k = s->k;

	req_cancel(k, s->req);
	s->req = NULL;
	if (s->prev)
		s->prev->next = s->next;
	else
		k->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

void tc_kube_stream_free(struct tc_kube_stream *s)
{
	if (!s)
		return;
	if (s->busy) {
		s->zombie = 1;
		return;
	}
	stream_destroy(s);
}
