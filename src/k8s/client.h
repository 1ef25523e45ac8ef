/*
 * client.h — a Kubernetes API client on libcurl and jansson.
 *
 * One libcurl multi handle, one connection to the API server: HTTP/2 when
 * the server offers it (requests and watches multiplexed on it), else
 * HTTP/1.1 with connection reuse.  Single-threaded: nothing happens
 * except inside tc_kube_drive() (or a synchronous tc_kube_call(), which
 * drives until its own request is done and may fire other callbacks
 * meanwhile).
 *
 * Requests go through a client-side token bucket (qps, burst) and at most
 * max_inflight are on the wire at once.  429 and 5xx answers and transport
 * failures (connection refused or reset, timeouts) are retried with capped
 * exponential backoff and jitter, honouring Retry-After, until the retry
 * budget of that request is spent; other 4xx are never retried (a 401 is
 * retried once after refreshing the credentials: token file re-read, exec
 * plugin rerun).  Exec-plugin credentials are refreshed before they expire.
 * A create retried after a transport failure may have been applied by the
 * first attempt: its answer is then 409 AlreadyExists (treat as success).
 *
 * Watches (informers) list, then watch from the list's resourceVersion with
 * allowWatchBookmarks=true and a randomised timeoutSeconds (5–10 min); when
 * the watch ends they rewatch from the last resourceVersion seen (bookmarks
 * included); on 410 Gone (or an ERROR event with code 410) they relist.
 * An informer keeps the objects it has seen (name → resourceVersion) so
 * that after a relist it reports the objects that disappeared as DELETED:
 * consumers see a level-triggered stream without counting events.
 *
 * Paths are API paths with their query string ("/api/v1/namespaces/ns/pods
 * ?labelSelector=a%3Db"): use tc_kube_escape() for values.
 */
#ifndef TC_K8S_CLIENT_H
#define TC_K8S_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#include "k8s/kubeconfig.h"
#include "util/error.h"

struct tc_kube;
struct tc_kube_informer;

struct tc_kube_opts {
	double qps;          /* 0: default 200 requests per second */
	int burst;           /* 0: default 400 */
	int max_inflight;    /* 0: default 64 requests on the wire at once */
	double timeout;      /* 0: default 30 s per request attempt */
	double retry_budget; /* 0: default 120 s of retrying per request */
	int verbose;         /* 1: one line per request on stderr */
	int http1;           /* 1: HTTP/1.1 only (a proxy that mangles h2) */
};

struct tc_kube_resp {
	long status;     /* HTTP status; 0 when no answer came */
	json_t *body;    /* the body parsed as JSON, or NULL */
	char *raw;       /* the body as received, NUL-terminated (may be "") */
	size_t raw_len;
	double retry_after; /* seconds, from Retry-After; 0 when absent */
	const char *context; /* the kubeconfig context (for tc_kube_error's
				401 message); the client's, may be NULL */
};

/* A request's end.  err->code is 0 when an HTTP answer came (any status:
 * the caller judges it), or TC_ERR_BACKEND when none came within the retry
 * budget (err says why: "cannot connect to https://...: Connection
 * refused").  resp and its members belong to the client: valid during the
 * callback only (steal resp->body with json_incref). */
typedef void (*tc_kube_cb)(void *ctx, const struct tc_kube_resp *resp,
			   const struct tc_error *err);

/* The client copies what it needs from cfg (cfg may be freed after).
 * tc_kube_free() drops what is pending without calling back, and frees the
 * informers and streams still open (free them first to keep it tidy). */
int tc_kube_new(const struct tc_kcfg *cfg, const struct tc_kube_opts *o,
		struct tc_kube **out, struct tc_error *err);
void tc_kube_free(struct tc_kube *k);

const char *tc_kube_namespace(const struct tc_kube *k);
const char *tc_kube_server(const struct tc_kube *k);
/* "HTTP/2" or "HTTP/1.1": what the connection speaks (after a request;
 * "unknown" before). */
const char *tc_kube_protocol(const struct tc_kube *k);

/* Queue a request.  body (may be NULL) is serialised at once and not kept.
 * content_type NULL means application/json (use
 * "application/apply-patch+yaml" with ?fieldManager=... for server-side
 * apply, "application/merge-patch+json" for a merge patch).  cb may be NULL.
 * Returns 0, or TC_ERR_NOMEM. */
int tc_kube_submit(struct tc_kube *k, const char *method, const char *path,
		   const json_t *body, const char *content_type, tc_kube_cb cb,
		   void *ctx);

/* Synchronous request: submit and drive until it is done.  On return 0,
 * *resp holds the answer (free with tc_kube_resp_free); the status may be
 * any HTTP status.  TC_ERR_BACKEND when no answer came. */
int tc_kube_call(struct tc_kube *k, const char *method, const char *path,
		 const json_t *body, struct tc_kube_resp *resp,
		 struct tc_error *err);
void tc_kube_resp_free(struct tc_kube_resp *resp);

/* Run transfers and timers for at most timeout_ms (0: only what is ready),
 * firing callbacks; returns soon after some callback has fired (0).
 * Returns early when wake_fd (>= 0) becomes readable: then the result is
 * 1, else 0; <0 on a fatal error. */
int tc_kube_drive(struct tc_kube *k, int timeout_ms, int wake_fd);

/* Requests queued or on the wire (watches, streams and informers' lists
 * not counted). */
size_t tc_kube_pending(const struct tc_kube *k);

/* Connections opened so far (1 while HTTP/2 keeps everything on one). */
long tc_kube_connections(const struct tc_kube *k);

/* Turn a non-2xx answer into an error for people: the API server's own
 * Status message, prefixed by what was tried ("create Job x"), and for
 * 401 "the API server refused the credentials of context C", for 403 the
 * missing permission as the server names it ("... cannot create resource
 * \"jobs\" in API group \"batch\" in the namespace \"ns\""), for 422 the
 * field causes.  Control characters in the server's words are made safe
 * for a terminal (util/text.h).  Returns TC_ERR_BACKEND. */
int tc_kube_error(struct tc_error *err, const struct tc_kube_resp *resp,
		  const char *what);

/* Percent-escape a query value or name (malloc'd). */
char *tc_kube_escape(const char *s);

/* ---- informers ---------------------------------------------------------- */

enum tc_kube_event {
	TC_KUBE_ADDED,
	TC_KUBE_MODIFIED,
	TC_KUBE_DELETED,
	TC_KUBE_SYNCED, /* the first list (and every relist) was delivered;
			   obj is NULL */
};

/* obj is borrowed for the callback (json_incref to keep it). */
typedef void (*tc_kube_watch_cb)(void *ctx, enum tc_kube_event ev,
				 json_t *obj);

/* Watch a collection ("/apis/batch/v1/namespaces/ns/jobs") with a label
 * selector (NULL: all).  The first list starts at once. */
struct tc_kube_informer *tc_kube_informer_new(struct tc_kube *k,
					      const char *path,
					      const char *label_selector,
					      tc_kube_watch_cb cb, void *ctx);
/* Has the first list been delivered? */
int tc_kube_informer_synced(const struct tc_kube_informer *inf);
/* The last failure of its list or watch (code 0 when it is healthy): a 403
 * after a Role was revoked, an unreachable server, ...  The informer keeps
 * retrying with backoff. */
const struct tc_error *tc_kube_informer_error(const struct tc_kube_informer *inf);
/* May be called from the informer's own callback. */
void tc_kube_informer_free(struct tc_kube_informer *inf);

/* Test hooks (tests/k8s/test_client.c), not for other use.  _test_feed
 * hands bytes to the informer as if its running watch had received them
 * (TC_ERR_STATE when no watch is answering 200 right now); _test_rewatch
 * drops the current list or watch and watches from resourceVersion rv
 * (NULL: the last one seen). */
int tc_kube_informer_test_feed(struct tc_kube_informer *inf,
			       const char *data, size_t len);
void tc_kube_informer_test_rewatch(struct tc_kube_informer *inf,
				   const char *rv);

/* ---- streams (pod logs with follow=true) ------------------------------- */

struct tc_kube_stream;
typedef void (*tc_kube_data_cb)(void *ctx, const char *buf, size_t len);

/* GET path and hand the body over as it arrives; end is called once with
 * the final answer (status and body of a non-2xx answer in resp).  Not
 * retried. */
struct tc_kube_stream *tc_kube_stream_new(struct tc_kube *k, const char *path,
					  tc_kube_data_cb data, tc_kube_cb end,
					  void *ctx);
/* Stops it if it is still running (end is then not called); may be called
 * from its own callbacks. */
void tc_kube_stream_free(struct tc_kube_stream *s);

#endif
