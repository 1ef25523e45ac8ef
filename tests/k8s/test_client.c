/*
 * test_client.c — src/k8s/client against the real API server of
 * tests/k8s/cluster.sh (found through $TC_K8S_STATE): requests and their
 * answers (201, 200, 404, 409, 403, 422, 401), HTTP/2 multiplexing on one
 * connection, the rate limiter, informers (list, watch, relist on 410,
 * through an API server restart), retries across an outage and their
 * budget, pod logs, TLS options.
 *
 * The trainer's client is configured with the CA as a PEM blob and a
 * bearer token (as in trainer.kubeconfig); the admin's with certificate
 * files.  Everything waits by polling with a deadline, never by sleeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "k8s/client.h"
#include "util/clock.h"

/* ---- the cluster ---------------------------------------------------- */

static struct {
	char state[512];
	char server[256];
	char ns[128];
	char ca[600];
	char token_file[600];
	char pod_log[600];
	char cluster_sh[1024];
	char tag[32]; /* unique per run: names and labels */
} E;

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			b = realloc(b, cap + 1);
			assert_non_null(b);
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	b[n] = '\0';
	if (len)
		*len = n;
	return b;
}

static int env_setup(void **state)
{
	const char *st = getenv("TC_K8S_STATE");
	const char *src = getenv("TC_SOURCE_DIR");
	char path[700], *ports, *p, *nl;

	(void)state;
	if (!st || !st[0]) {
		fprintf(stderr, "test_client: TC_K8S_STATE is not set\n");
		return -1;
	}
	snprintf(E.state, sizeof(E.state), "%s", st);
	snprintf(path, sizeof(path), "%s/ports", st);
	ports = slurp(path, NULL);
	if (!ports) {
		fprintf(stderr, "test_client: no %s (is the cluster up?)\n",
			path);
		return -1;
	}
	p = strstr(ports, "SERVER=");
	if (!p) {
		free(ports);
		return -1;
	}
	p += 7;
	nl = strchr(p, '\n');
	if (nl)
		*nl = '\0';
	snprintf(E.server, sizeof(E.server), "%s", p);
	free(ports);
	snprintf(E.ns, sizeof(E.ns), "trainctl-test");
	snprintf(E.ca, sizeof(E.ca), "%s/pki/ca.crt", st);
	snprintf(E.token_file, sizeof(E.token_file), "%s/trainer.token", st);
	snprintf(E.pod_log, sizeof(E.pod_log), "%s/pod-logs/default.log", st);
	if (src && src[0]) {
		snprintf(E.cluster_sh, sizeof(E.cluster_sh),
			 "%s/tests/k8s/cluster.sh", src);
	} else {
		/* this file's directory */
		const char *f = __FILE__, *slash = strrchr(f, '/');

		snprintf(E.cluster_sh, sizeof(E.cluster_sh),
			 "%.*s/cluster.sh", slash ? (int)(slash - f) : 1,
			 slash ? f : ".");
	}
	snprintf(E.tag, sizeof(E.tag), "t%ld-%ld", (long)getpid(),
		 (long)(tc_now()) % 100000);
	return 0;
}

/* Run cluster.sh with our state dir: "stop kube-apiserver --kill". */
static int cluster(const char *a1, const char *a2, const char *a3)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("TC_K8S_STATE", E.state, 1);
		execlp("bash", "bash", E.cluster_sh, a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- configurations ------------------------------------------------- */

/* The trainer (trainer.kubeconfig: CA inline, bearer token, namespace
 * trainctl-test) or the admin (admin.kubeconfig: CA, certificate and key
 * files), loaded as trainctl loads them. */
static struct tc_kcfg *load_cfg(const char *file)
{
	struct tc_kcfg *c = NULL;
	struct tc_error err;
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", E.state, file);
	tc_error_clear(&err);
	if (tc_kcfg_load(path, NULL, NULL, &c, &err) < 0)
		fail_msg("tc_kcfg_load %s: %s", path, err.msg);
	return c;
}

static struct tc_kcfg *trainer_cfg(void)
{
	struct tc_kcfg *c = load_cfg("trainer.kubeconfig");

	assert_non_null(c->ca_pem);
	assert_non_null(c->token);
	assert_string_equal(c->namespace, E.ns);
	return c;
}

static struct tc_kcfg *admin_cfg(void)
{
	struct tc_kcfg *c = load_cfg("admin.kubeconfig");

	assert_non_null(c->cert_file);
	assert_non_null(c->key_file);
	return c;
}

/* TC_TEST_VERBOSE=1: show the messages people would read. */
static void show(const struct tc_error *e)
{
	if (getenv("TC_TEST_VERBOSE"))
		fprintf(stderr, "message: %s\n", e->msg);
}

static struct tc_kube *client(struct tc_kcfg *c, const struct tc_kube_opts *o)
{
	struct tc_kube_opts dflt = {0};
	struct tc_kube *k = NULL;
	struct tc_error err;

	/* TC_TEST_VERBOSE=1: one line per request on stderr */
	if (!o)
		o = &dflt;
	if (getenv("TC_TEST_VERBOSE")) {
		dflt = *o;
		dflt.verbose = 1;
		o = &dflt;
	}
	tc_error_clear(&err);
	if (tc_kube_new(c, o, &k, &err) < 0)
		fail_msg("tc_kube_new: %s", err.msg);
	tc_kcfg_free(c);
	return k;
}

/* ---- helpers -------------------------------------------------------- */

static json_t *configmap(const char *name, const char *label,
			 const char *value)
{
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s}}",
			      "apiVersion", "v1", "kind", "ConfigMap",
			      "metadata", "name", name, "labels", "tc-test",
			      label, "data", "v", value);

	assert_non_null(o);
	return o;
}

static void cm_path(char *buf, size_t len, const char *ns, const char *name)
{
	snprintf(buf, len, "/api/v1/namespaces/%s/configmaps%s%s", ns,
		 name ? "/" : "", name ? name : "");
}

static long call(struct tc_kube *k, const char *method, const char *path,
		 json_t *body, struct tc_kube_resp *resp)
{
	struct tc_error err;

	tc_error_clear(&err);
	if (tc_kube_call(k, method, path, body, resp, &err) < 0)
		fail_msg("%s %s: %s", method, path, err.msg);
	return resp->status;
}

static long call_status(struct tc_kube *k, const char *method,
			const char *path, json_t *body)
{
	struct tc_kube_resp r;
	long s = call(k, method, path, body, &r);

	tc_kube_resp_free(&r);
	return s;
}

static const char *reason(const struct tc_kube_resp *r)
{
	return json_string_value(json_object_get(r->body, "reason"));
}

/* ---- requests ------------------------------------------------------- */

static void test_escape(void **state)
{
	char *e = tc_kube_escape("tc-test=a b,x!=y/z~_.");

	(void)state;
	assert_string_equal(e, "tc-test%3Da%20b%2Cx%21%3Dy%2Fz~_.");
	free(e);
	e = tc_kube_escape("");
	assert_string_equal(e, "");
	free(e);
}

static void test_configmap_crud(void **state)
{
	struct tc_kube *k = client(trainer_cfg(), NULL);
	struct tc_kube_resp r;
	struct tc_error err;
	char name[64], path[256], one[300];
	json_t *cm;

	(void)state;
	assert_string_equal(tc_kube_namespace(k), E.ns);
	assert_string_equal(tc_kube_server(k), E.server);
	snprintf(name, sizeof(name), "crud-%s", E.tag);
	cm = configmap(name, "crud", "1");
	cm_path(path, sizeof(path), E.ns, NULL);
	cm_path(one, sizeof(one), E.ns, name);

	assert_int_equal(call(k, "POST", path, cm, &r), 201);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(r.body, "metadata"), "name")), name);
	assert_string_equal(tc_kube_protocol(k), "HTTP/2");
	tc_kube_resp_free(&r);

	assert_int_equal(call(k, "GET", one, NULL, &r), 200);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(r.body, "data"), "v")), "1");
	assert_true(r.raw_len > 0 && strstr(r.raw, name));
	tc_kube_resp_free(&r);

	assert_int_equal(call(k, "POST", path, cm, &r), 409);
	assert_string_equal(reason(&r), "AlreadyExists");
	assert_int_equal(tc_kube_error(&err, &r, "create ConfigMap"),
			 TC_ERR_BACKEND);
	assert_non_null(strstr(err.msg, "create ConfigMap: "));
	assert_non_null(strstr(err.msg, "already exists"));
	show(&err);
	tc_kube_resp_free(&r);

	assert_int_equal(call_status(k, "DELETE", one, NULL), 200);
	assert_int_equal(call(k, "GET", one, NULL, &r), 404);
	assert_string_equal(reason(&r), "NotFound");
	tc_kube_error(&err, &r, "get ConfigMap");
	assert_non_null(strstr(err.msg, "not found"));
	assert_non_null(strstr(err.msg, "HTTP 404"));
	tc_kube_resp_free(&r);
	assert_int_equal(tc_kube_pending(k), 0);
	json_decref(cm);
	tc_kube_free(k);
}

static void test_forbidden(void **state)
{
	struct tc_kube *k = client(trainer_cfg(), NULL);
	struct tc_kube_resp r;
	struct tc_error err;
	char path[256];
	json_t *cm = configmap("nope", "forbidden", "1");

	(void)state;
	cm_path(path, sizeof(path), "default", NULL);
	assert_int_equal(call(k, "POST", path, cm, &r), 403);
	assert_int_equal(tc_kube_error(&err, &r, "create ConfigMap nope"),
			 TC_ERR_BACKEND);
	assert_non_null(strstr(err.msg, "create ConfigMap nope: "));
	assert_non_null(strstr(err.msg,
		"User \"system:serviceaccount:trainctl-test:trainer\" cannot "
		"create resource \"configmaps\" in API group \"\" in the "
		"namespace \"default\""));
	assert_non_null(strstr(err.msg, "HTTP 403"));
	show(&err);
	tc_kube_resp_free(&r);
	json_decref(cm);
	tc_kube_free(k);
}

static void test_invalid(void **state)
{
	struct tc_kube *k = client(trainer_cfg(), NULL);
	struct tc_kube_resp r;
	struct tc_error err;
	char path[256];
	json_t *cm = configmap("Bad_Name", "invalid", "1");

	(void)state;
	cm_path(path, sizeof(path), E.ns, NULL);
	assert_int_equal(call(k, "POST", path, cm, &r), 422);
	tc_kube_error(&err, &r, "create ConfigMap Bad_Name");
	assert_non_null(strstr(err.msg, "create ConfigMap Bad_Name: "));
	assert_non_null(strstr(err.msg, "ConfigMap \"Bad_Name\" is invalid"));
	assert_non_null(strstr(err.msg, "metadata.name: "));
	assert_non_null(strstr(err.msg, "RFC 1123"));
	show(&err);
	tc_kube_resp_free(&r);
	json_decref(cm);
	tc_kube_free(k);
}

static void test_unauthorized(void **state)
{
	struct tc_kcfg *c = trainer_cfg();
	struct tc_kube *k;
	struct tc_kube_resp r;
	struct tc_error err;
	char path[256];

	(void)state;
	cm_path(path, sizeof(path), E.ns, NULL);
	/* a bad token and no file to re-read: the 401 comes back */
	free(c->token);
	c->token = strdup("not-a-token");
	free(c->token_file);
	c->token_file = NULL;
	k = client(c, NULL);
	assert_int_equal(call(k, "GET", path, NULL, &r), 401);
	tc_kube_error(&err, &r, "list ConfigMaps");
	assert_non_null(strstr(err.msg, "list ConfigMaps: the API server "
				"refused the credentials of context "
				"\"trainer@trainctl-test\""));
	show(&err);
	tc_kube_resp_free(&r);
	tc_kube_free(k);

	/* a stale token with the token file beside it: re-read, retried */
	c = trainer_cfg();
	free(c->token);
	c->token = strdup("stale-token");
	free(c->token_file);
	c->token_file = strdup(E.token_file);
	k = client(c, NULL);
	assert_int_equal(call_status(k, "GET", path, NULL), 200);
	tc_kube_free(k);
}

struct counter {
	int done, ok, other;
	long last;
};

static void count_cb(void *ctx, const struct tc_kube_resp *resp,
		     const struct tc_error *err)
{
	struct counter *c = ctx;

	c->done++;
	if (!err->code && resp->status >= 200 && resp->status <= 299)
		c->ok++;
	else
		c->other++;
	c->last = resp->status;
}

static void drive_until_idle(struct tc_kube *k, double limit)
{
	double end = tc_mono() + limit;

	while (tc_kube_pending(k) > 0) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 200, -1) >= 0);
	}
}

static void test_concurrent_h2(void **state)
{
	struct tc_kube *k = client(trainer_cfg(), NULL);
	struct counter c = {0}, d = {0};
	char path[256], one[300], name[64];
	int i;

	(void)state;
	assert_string_equal(tc_kube_protocol(k), "unknown");
	cm_path(path, sizeof(path), E.ns, NULL);
	for (i = 0; i < 100; i++) {
		json_t *cm;

		snprintf(name, sizeof(name), "many-%s-%d", E.tag, i);
		cm = configmap(name, "many", "x");
		assert_int_equal(tc_kube_submit(k, "POST", path, cm, NULL,
						count_cb, &c), 0);
		json_decref(cm);
	}
	assert_int_equal(tc_kube_pending(k), 100);
	drive_until_idle(k, 60);
	assert_int_equal(c.done, 100);
	assert_int_equal(c.ok, 100);
	assert_string_equal(tc_kube_protocol(k), "HTTP/2");
	assert_int_equal(tc_kube_connections(k), 1);

	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "many-%s-%d", E.tag, i);
		cm_path(one, sizeof(one), E.ns, name);
		assert_int_equal(tc_kube_submit(k, "DELETE", one, NULL, NULL,
						count_cb, &d), 0);
	}
	drive_until_idle(k, 60);
	assert_int_equal(d.ok, 100);
	assert_int_equal(tc_kube_connections(k), 1);
	tc_kube_free(k);
}

static void test_rate_limit(void **state)
{
	struct tc_kube_opts o = {.qps = 20, .burst = 1};
	struct tc_kube *k = client(trainer_cfg(), &o);
	struct counter c = {0};
	char path[256];
	double t0, dt;
	int i;

	(void)state;
	cm_path(path, sizeof(path), E.ns, NULL);
	t0 = tc_mono();
	for (i = 0; i < 21; i++)
		assert_int_equal(tc_kube_submit(k, "GET", path, NULL, NULL,
						count_cb, &c), 0);
	drive_until_idle(k, 30);
	dt = tc_mono() - t0;
	assert_int_equal(c.ok, 21);
	/* 1 at once, then one every 50 ms */
	assert_true(dt >= 0.9);
	tc_kube_free(k);
}

/* ---- informers ------------------------------------------------------ */

struct evrec {
	int n;
	int ev[256];
	char name[256][96];
	char val[256][16];
	int synced;
	int first_synced_at; /* index of the first SYNCED */
};

static void rec_cb(void *ctx, enum tc_kube_event ev, json_t *obj)
{
	struct evrec *r = ctx;
	json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *v = json_string_value(
		json_object_get(json_object_get(obj, "data"), "v"));

	assert_true(r->n < 256);
	if (ev == TC_KUBE_SYNCED) {
		assert_null(obj);
		if (!r->synced)
			r->first_synced_at = r->n;
		r->synced++;
	} else {
		assert_non_null(name);
		/* list items get the kind watch events have */
		assert_string_equal(json_string_value(json_object_get(obj,
			"kind")), "ConfigMap");
	}
	r->ev[r->n] = (int)ev;
	snprintf(r->name[r->n], sizeof(r->name[0]), "%s", name ? name : "");
	snprintf(r->val[r->n], sizeof(r->val[0]), "%s", v ? v : "");
	r->n++;
}

/* Index of the first event ev for name at or after from, or -1. */
static int rec_find(const struct evrec *r, int from, int ev, const char *name)
{
	int i;

	for (i = from; i < r->n; i++)
		if (r->ev[i] == ev && (!name || !strcmp(r->name[i], name)))
			return i;
	return -1;
}

static int rec_count(const struct evrec *r, int ev, const char *name)
{
	int i, n = 0;

	for (i = 0; i < r->n; i++)
		if (r->ev[i] == ev && (!name || !strcmp(r->name[i], name)))
			n++;
	return n;
}

/* Drive k until rec has event ev for name (at or after from); returns its
 * index. */
static int wait_event(struct tc_kube *k, struct evrec *rec, int from,
		      int ev, const char *name, double limit)
{
	double end = tc_mono() + limit;
	int i;

	while ((i = rec_find(rec, from, ev, name)) < 0) {
		if (tc_mono() > end)
			fail_msg("no event %d for %s within %.0f s", ev,
				 name ? name : "-", limit);
		assert_true(tc_kube_drive(k, 100, -1) >= 0);
	}
	return i;
}

static void feed_when_watching(struct tc_kube *k,
			       struct tc_kube_informer *inf, const char *s)
{
	double end = tc_mono() + 30;

	while (tc_kube_informer_test_feed(inf, s, strlen(s)) != 0) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 50, -1) >= 0);
	}
}

static void test_informer(void **state)
{
	struct tc_kube *k = client(trainer_cfg(), NULL);
	struct tc_kube *w = client(trainer_cfg(), NULL); /* the writer */
	struct tc_kube_informer *inf;
	struct evrec *rec = calloc(1, sizeof(*rec));
	char label[64], sel[96], path[256], a[64], b[64], c[64], x[64];
	char one[300];
	json_t *cm, *patch;
	int i, s2;

	(void)state;
	assert_non_null(rec);
	snprintf(label, sizeof(label), "inf-%s", E.tag);
	snprintf(sel, sizeof(sel), "tc-test=%s", label);
	snprintf(a, sizeof(a), "inf-a-%s", E.tag);
	snprintf(b, sizeof(b), "inf-b-%s", E.tag);
	snprintf(c, sizeof(c), "inf-c-%s", E.tag);
	snprintf(x, sizeof(x), "inf-x-%s", E.tag);
	cm_path(path, sizeof(path), E.ns, NULL);

	/* one object before the informer starts */
	cm = configmap(a, label, "1");
	assert_int_equal(call_status(w, "POST", path, cm), 201);
	json_decref(cm);

	inf = tc_kube_informer_new(k, path, sel, rec_cb, rec);
	assert_non_null(inf);
	assert_false(tc_kube_informer_synced(inf));
	wait_event(k, rec, 0, TC_KUBE_SYNCED, NULL, 30);
	assert_true(tc_kube_informer_synced(inf));
	assert_int_equal(tc_kube_informer_error(inf)->code, 0);
	/* the list: a, then SYNCED */
	assert_int_equal(rec->first_synced_at, 1);
	assert_int_equal(rec->ev[0], TC_KUBE_ADDED);
	assert_string_equal(rec->name[0], a);

	/* watch: create, patch, delete; another label is not seen */
	cm = configmap(b, label, "1");
	assert_int_equal(call_status(w, "POST", path, cm), 201);
	json_decref(cm);
	cm = configmap(x, "other", "1");
	assert_int_equal(call_status(w, "POST", path, cm), 201);
	json_decref(cm);
	i = wait_event(k, rec, 0, TC_KUBE_ADDED, b, 30);
	assert_string_equal(rec->val[i], "1");

	cm_path(one, sizeof(one), E.ns, b);
	patch = json_pack("{s:{s:s}}", "data", "v", "2");
	{
		struct counter cnt = {0};

		assert_int_equal(tc_kube_submit(w, "PATCH", one, patch,
				 "application/merge-patch+json", count_cb,
				 &cnt), 0);
		drive_until_idle(w, 30);
		assert_int_equal(cnt.last, 200);
	}
	json_decref(patch);
	i = wait_event(k, rec, 0, TC_KUBE_MODIFIED, b, 30);
	assert_string_equal(rec->val[i], "2");

	cm_path(one, sizeof(one), E.ns, a);
	assert_int_equal(call_status(w, "DELETE", one, NULL), 200);
	wait_event(k, rec, 0, TC_KUBE_DELETED, a, 30);
	assert_int_equal(rec_count(rec, TC_KUBE_ADDED, x), 0);
	assert_int_equal(rec_count(rec, TC_KUBE_ADDED, b), 1);

	/* an event cut in two chunks is delivered once, whole */
	{
		char ev[512];
		size_t half;

		snprintf(ev, sizeof(ev),
			 "{\"type\":\"ADDED\",\"object\":{\"kind\":"
			 "\"ConfigMap\",\"metadata\":{\"name\":\"ghost-%s\","
			 "\"namespace\":\"%s\",\"resourceVersion\":\"1\"},"
			 "\"data\":{\"v\":\"g\"}}}\n", E.tag, E.ns);
		half = strlen(ev) / 2;
		ev[half] = '\0';
		feed_when_watching(k, inf, ev);
		assert_true(tc_kube_drive(k, 0, -1) >= 0);
		snprintf(one, sizeof(one), "ghost-%s", E.tag);
		assert_int_equal(rec_count(rec, TC_KUBE_ADDED, one), 0);
		snprintf(ev, sizeof(ev),
			 "{\"type\":\"ADDED\",\"object\":{\"kind\":"
			 "\"ConfigMap\",\"metadata\":{\"name\":\"ghost-%s\","
			 "\"namespace\":\"%s\",\"resourceVersion\":\"1\"},"
			 "\"data\":{\"v\":\"g\"}}}\n", E.tag, E.ns);
		feed_when_watching(k, inf, ev + half);
		i = wait_event(k, rec, 0, TC_KUBE_ADDED, one, 10);
		assert_string_equal(rec->val[i], "g");
	}

	/* ERROR 410 in the stream: relist; the ghost is gone from the list
	 * and is reported DELETED, then SYNCED again */
	s2 = rec->n;
	feed_when_watching(k, inf,
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
		"\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
		"\"too old resource version\",\"reason\":\"Expired\","
		"\"code\":410}}\n");
	snprintf(one, sizeof(one), "ghost-%s", E.tag);
	i = wait_event(k, rec, s2, TC_KUBE_DELETED, one, 30);
	wait_event(k, rec, i, TC_KUBE_SYNCED, NULL, 30);
	/* b is unchanged: not delivered again by the relist */
	assert_int_equal(rec_find(rec, s2, TC_KUBE_MODIFIED, b), -1);
	assert_int_equal(rec_find(rec, s2, TC_KUBE_ADDED, b), -1);

	/* and it watches on after that */
	cm = configmap(c, label, "3");
	assert_int_equal(call_status(w, "POST", path, cm), 201);
	json_decref(cm);
	i = wait_event(k, rec, s2, TC_KUBE_ADDED, c, 30);
	assert_string_equal(rec->val[i], "3");
	assert_int_equal(rec_count(rec, TC_KUBE_ADDED, x), 0);

	tc_kube_informer_free(inf);
	cm_path(one, sizeof(one), E.ns, b);
	assert_int_equal(call_status(w, "DELETE", one, NULL), 200);
	cm_path(one, sizeof(one), E.ns, c);
	assert_int_equal(call_status(w, "DELETE", one, NULL), 200);
	cm_path(one, sizeof(one), E.ns, x);
	assert_int_equal(call_status(w, "DELETE", one, NULL), 200);
	free(rec);
	tc_kube_free(w);
	tc_kube_free(k);
}

/* HTTP/1.1 (no multiplexing): a watch holds its own connection while
 * requests go on others. */
static void test_http1(void **state)
{
	struct tc_kube_opts o = {.http1 = 1};
	struct tc_kube *k = client(trainer_cfg(), &o);
	struct tc_kube_informer *inf;
	struct evrec *rec = calloc(1, sizeof(*rec));
	struct counter c = {0}, d = {0};
	char label[64], sel[96], path[256], one[300], name[64];
	int i;

	(void)state;
	assert_non_null(rec);
	snprintf(label, sizeof(label), "h1-%s", E.tag);
	snprintf(sel, sizeof(sel), "tc-test=%s", label);
	cm_path(path, sizeof(path), E.ns, NULL);
	inf = tc_kube_informer_new(k, path, sel, rec_cb, rec);
	assert_non_null(inf);
	wait_event(k, rec, 0, TC_KUBE_SYNCED, NULL, 30);
	assert_string_equal(tc_kube_protocol(k), "HTTP/1.1");
	for (i = 0; i < 10; i++) {
		json_t *cm;

		snprintf(name, sizeof(name), "h1-%s-%d", E.tag, i);
		cm = configmap(name, label, "x");
		assert_int_equal(tc_kube_submit(k, "POST", path, cm, NULL,
						count_cb, &c), 0);
		json_decref(cm);
	}
	drive_until_idle(k, 30);
	assert_int_equal(c.ok, 10);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "h1-%s-%d", E.tag, i);
		wait_event(k, rec, 0, TC_KUBE_ADDED, name, 30);
	}
	assert_true(tc_kube_connections(k) >= 2);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "h1-%s-%d", E.tag, i);
		cm_path(one, sizeof(one), E.ns, name);
		assert_int_equal(tc_kube_submit(k, "DELETE", one, NULL, NULL,
						count_cb, &d), 0);
	}
	drive_until_idle(k, 30);
	assert_int_equal(d.ok, 10);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "h1-%s-%d", E.tag, i);
		wait_event(k, rec, 0, TC_KUBE_DELETED, name, 30);
	}
	tc_kube_informer_free(inf);
	free(rec);
	tc_kube_free(k);
}

/* ---- the Role taken away and given back ------------------------------ */

static json_t *saved_binding; /* the trainer's RoleBinding, to restore */

static void binding_path(char *buf, size_t len, int one)
{
	snprintf(buf, len,
		 "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/"
		 "rolebindings%s", E.ns, one ? "/trainer" : "");
}

/* Put the RoleBinding back if a test took it away. */
static int restore_binding(void **state)
{
	struct tc_kube *a;
	char path[256];

	(void)state;
	if (!saved_binding)
		return 0;
	a = client(admin_cfg(), NULL);
	binding_path(path, sizeof(path), 1);
	if (call_status(a, "GET", path, NULL) == 404) {
		binding_path(path, sizeof(path), 0);
		call_status(a, "POST", path, saved_binding);
	}
	tc_kube_free(a);
	json_decref(saved_binding);
	saved_binding = NULL;
	return 0;
}

/* Poll the trainer's list of ConfigMaps until it answers want. */
static void wait_list_status(struct tc_kube *k, long want)
{
	double end = tc_mono() + 30;
	char path[256];

	cm_path(path, sizeof(path), E.ns, NULL);
	while (call_status(k, "GET", path, NULL) != want) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 100, -1) >= 0);
	}
}

static void test_informer_forbidden(void **state)
{
	struct tc_kube *k = client(trainer_cfg(), NULL);
	struct tc_kube *a = client(admin_cfg(), NULL);
	struct tc_kube_informer *inf;
	struct evrec *rec = calloc(1, sizeof(*rec));
	struct tc_kube_resp r;
	char label[64], sel[96], path[256], one[300], name[64];
	const struct tc_error *ie;
	json_t *cm, *b;
	double end;
	int s0;

	(void)state;
	assert_non_null(rec);
	snprintf(label, sizeof(label), "rbac-%s", E.tag);
	snprintf(sel, sizeof(sel), "tc-test=%s", label);
	snprintf(name, sizeof(name), "rbac-%s", E.tag);
	cm_path(path, sizeof(path), E.ns, NULL);
	inf = tc_kube_informer_new(k, path, sel, rec_cb, rec);
	assert_non_null(inf);
	wait_event(k, rec, 0, TC_KUBE_SYNCED, NULL, 30);

	/* take the RoleBinding away (kept for the teardown) */
	binding_path(one, sizeof(one), 1);
	assert_int_equal(call(a, "GET", one, NULL, &r), 200);
	b = json_pack("{s:s, s:s, s:{s:s, s:s}, s:O, s:O}", "apiVersion",
		      "rbac.authorization.k8s.io/v1", "kind", "RoleBinding",
		      "metadata", "name", "trainer", "namespace", E.ns,
		      "roleRef", json_object_get(r.body, "roleRef"),
		      "subjects", json_object_get(r.body, "subjects"));
	assert_non_null(b);
	saved_binding = b;
	tc_kube_resp_free(&r);
	assert_int_equal(call_status(a, "DELETE", one, NULL), 200);
	wait_list_status(k, 403);

	/* the next watch is refused; the informer says why */
	tc_kube_informer_test_rewatch(inf, NULL);
	end = tc_mono() + 30;
	while (!tc_kube_informer_error(inf)->code) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 100, -1) >= 0);
	}
	ie = tc_kube_informer_error(inf);
	assert_int_equal(ie->code, TC_ERR_BACKEND);
	assert_non_null(strstr(ie->msg, "cannot watch resource "
				"\"configmaps\""));
	assert_non_null(strstr(ie->msg, "HTTP 403"));
	show(ie);

	/* given back: the informer recovers on its own */
	binding_path(one, sizeof(one), 0);
	assert_int_equal(call_status(a, "POST", one, saved_binding), 201);
	wait_list_status(k, 200);
	end = tc_mono() + 30;
	while (tc_kube_informer_error(inf)->code) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 100, -1) >= 0);
	}
	s0 = rec->n;
	cm = configmap(name, label, "1");
	assert_int_equal(call_status(k, "POST", path, cm), 201);
	json_decref(cm);
	wait_event(k, rec, s0, TC_KUBE_ADDED, name, 30);

	tc_kube_informer_free(inf);
	cm_path(one, sizeof(one), E.ns, name);
	assert_int_equal(call_status(k, "DELETE", one, NULL), 200);
	free(rec);
	tc_kube_free(a);
	tc_kube_free(k);
}

/* The informer's callback frees the informer: nothing breaks. */
struct selffree {
	struct tc_kube_informer *inf;
	int events;
};

static void selffree_cb(void *ctx, enum tc_kube_event ev, json_t *obj)
{
	struct selffree *s = ctx;

	(void)ev;
	(void)obj;
	s->events++;
	tc_kube_informer_free(s->inf);
	s->inf = NULL;
}

static void test_informer_free_in_callback(void **state)
{
	struct tc_kube *k = client(trainer_cfg(), NULL);
	struct selffree s = {0};
	char path[256];
	double end = tc_mono() + 30;

	(void)state;
	cm_path(path, sizeof(path), E.ns, NULL);
	s.inf = tc_kube_informer_new(k, path, NULL, selffree_cb, &s);
	assert_non_null(s.inf);
	while (!s.events) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 100, -1) >= 0);
	}
	assert_int_equal(s.events, 1); /* nothing after the free */
	assert_true(tc_kube_drive(k, 50, -1) >= 0);
	assert_int_equal(s.events, 1);
	tc_kube_free(k);
}

/* A synchronous call from inside an informer's callback (a nested drive
 * while the informer is being delivered to). */
struct nested {
	struct tc_kube *k;
	int calls, ok, synced;
	char label[64];
	char name[64];
};

static void nested_cb(void *ctx, enum tc_kube_event ev, json_t *obj)
{
	struct nested *n = ctx;
	struct tc_kube_resp r;
	struct tc_error err;
	char path[300];
	json_t *cm;

	(void)obj;
	if (ev == TC_KUBE_SYNCED) {
		n->synced++;
		if (n->synced > 1)
			return;
		/* create the object the informer is about to see */
		cm_path(path, sizeof(path), E.ns, NULL);
		cm = configmap(n->name, n->label, "n");
		tc_error_clear(&err);
		n->calls++;
		if (tc_kube_call(n->k, "POST", path, cm, &r, &err) == 0 &&
		    r.status == 201)
			n->ok++;
		tc_kube_resp_free(&r);
		json_decref(cm);
		return;
	}
	if (ev != TC_KUBE_ADDED)
		return;
	cm_path(path, sizeof(path), E.ns, n->name);
	tc_error_clear(&err);
	n->calls++;
	if (tc_kube_call(n->k, "GET", path, NULL, &r, &err) == 0 &&
	    r.status == 200)
		n->ok++;
	tc_kube_resp_free(&r);
}

static void test_nested_call(void **state)
{
	struct tc_kube *k = client(trainer_cfg(), NULL);
	struct tc_kube_informer *inf;
	struct nested n;
	char path[256], sel[96], one[300];
	double end = tc_mono() + 30;

	(void)state;
	memset(&n, 0, sizeof(n));
	n.k = k;
	snprintf(n.label, sizeof(n.label), "nest-%s", E.tag);
	snprintf(n.name, sizeof(n.name), "nest-%s", E.tag);
	snprintf(sel, sizeof(sel), "tc-test=%s", n.label);
	cm_path(path, sizeof(path), E.ns, NULL);
	inf = tc_kube_informer_new(k, path, sel, nested_cb, &n);
	assert_non_null(inf);
	while (n.calls < 2) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 100, -1) >= 0);
	}
	assert_int_equal(n.ok, 2);
	assert_int_equal(n.synced, 1);
	tc_kube_informer_free(inf);
	cm_path(one, sizeof(one), E.ns, n.name);
	assert_int_equal(call_status(k, "DELETE", one, NULL), 200);
	tc_kube_free(k);
}

/* ---- outages -------------------------------------------------------- */

static int closed_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd); /* bound, never listened: connections are refused */
	return ntohs(a.sin_port);
}

static void test_connection_refused(void **state)
{
	struct tc_kube_opts o = {.retry_budget = 1.0};
	struct tc_kcfg *c = trainer_cfg();
	struct tc_kube *k;
	struct tc_kube_resp r;
	struct tc_error err;
	char srv[64];
	double t0;

	(void)state;
	snprintf(srv, sizeof(srv), "https://127.0.0.1:%d", closed_port());
	free(c->server);
	c->server = strdup(srv);
	k = client(c, &o);
	t0 = tc_mono();
	tc_error_clear(&err);
	assert_int_equal(tc_kube_call(k, "GET", "/version", NULL, &r, &err),
			 TC_ERR_BACKEND);
	assert_true(tc_mono() - t0 < 5);
	assert_int_equal(err.code, TC_ERR_BACKEND);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(err.msg, "cannot reach "));
	assert_non_null(strstr(err.msg, srv));
	assert_non_null(strstr(err.msg, "attempts")); /* it did retry */
	show(&err);
	tc_kube_resp_free(&r);
	tc_kube_free(k);
}

static void test_apiserver_restart(void **state)
{
	struct tc_kube_opts shorto = {.retry_budget = 1.0};
	struct tc_kube *k = client(trainer_cfg(), NULL);
	struct tc_kube *ks = client(trainer_cfg(), &shorto);
	struct tc_kube *ka = client(admin_cfg(), NULL);
	struct tc_kube_informer *inf;
	struct evrec *rec = calloc(1, sizeof(*rec));
	struct tc_kube_resp r;
	struct tc_error err;
	char label[64], sel[96], path[256], one[300], d[64];
	json_t *cm;
	double end;
	pid_t pid;
	int status, s0, i;

	(void)state;
	assert_non_null(rec);
	snprintf(label, sizeof(label), "rst-%s", E.tag);
	snprintf(sel, sizeof(sel), "tc-test=%s", label);
	snprintf(d, sizeof(d), "rst-d-%s", E.tag);
	cm_path(path, sizeof(path), E.ns, NULL);
	inf = tc_kube_informer_new(k, path, sel, rec_cb, rec);
	assert_non_null(inf);
	wait_event(k, rec, 0, TC_KUBE_SYNCED, NULL, 30);
	assert_int_equal(call_status(ks, "GET", path, NULL), 200);
	assert_int_equal(call_status(ka, "GET", path, NULL), 200);

	assert_int_equal(cluster("stop", "kube-apiserver", "--kill"), 0);

	/* a short retry budget: a clear failure, soon */
	end = tc_mono();
	tc_error_clear(&err);
	assert_int_equal(tc_kube_call(ks, "GET", path, NULL, &r, &err),
			 TC_ERR_BACKEND);
	assert_true(tc_mono() - end < 10);
	assert_non_null(strstr(err.msg, "cannot reach "));
	assert_non_null(strstr(err.msg, E.server));
	tc_kube_resp_free(&r);

	/* the informer notices */
	end = tc_mono() + 30;
	while (!tc_kube_informer_error(inf)->code) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 100, -1) >= 0);
	}
	assert_int_equal(tc_kube_informer_error(inf)->code, TC_ERR_BACKEND);
	assert_non_null(strstr(tc_kube_informer_error(inf)->msg,
			       "cannot reach "));

	/* a call with the default budget outlasts the outage.  It is the
	 * admin's: for a second or so after a start the API server's RBAC
	 * caches are empty and it answers the trainer 403 ("clusterrole ...
	 * not found"), which is not retried; system:masters skips RBAC. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("TC_K8S_STATE", E.state, 1);
		execlp("bash", "bash", E.cluster_sh, "start", "kube-apiserver",
		       (char *)NULL);
		_exit(127);
	}
	s0 = rec->n;
	cm = configmap(d, label, "after");
	memset(&r, 0, sizeof(r));
	tc_error_clear(&err);
	status = tc_kube_call(ka, "POST", path, cm, &r, &err);
	json_decref(cm);
	{
		int ws;

		assert_int_equal(waitpid(pid, &ws, 0), pid);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	}
	if (status < 0)
		fail_msg("create during the outage: %s", err.msg);
	assert_int_equal(r.status, 201);
	tc_kube_resp_free(&r);

	/* the informer watches again and sees what was made meanwhile */
	wait_event(k, rec, s0, TC_KUBE_ADDED, d, 60);
	end = tc_mono() + 30;
	while (tc_kube_informer_error(inf)->code) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 100, -1) >= 0);
	}
	assert_int_equal(rec_count(rec, TC_KUBE_ADDED, d), 1);

	/* The restarted server's watch cache starts at the present: a watch
	 * from an older resourceVersion is answered 410 Gone (before the
	 * restart, on a young cluster, "1" may still be in its window).  The
	 * informer lists again and reports what the list no longer has. */
	feed_when_watching(k, inf,
		"{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\","
		"\"metadata\":{\"name\":\"ghost2\",\"resourceVersion\":"
		"\"2\"}}}\n");
	wait_event(k, rec, 0, TC_KUBE_ADDED, "ghost2", 10);
	s0 = rec->n;
	tc_kube_informer_test_rewatch(inf, "1");
	i = wait_event(k, rec, s0, TC_KUBE_DELETED, "ghost2", 30);
	wait_event(k, rec, i, TC_KUBE_SYNCED, NULL, 30);
	assert_int_equal(tc_kube_informer_error(inf)->code, 0);
	/* d is unchanged: the relist does not deliver it again */
	assert_int_equal(rec_find(rec, s0, TC_KUBE_ADDED, d), -1);
	assert_int_equal(rec_find(rec, s0, TC_KUBE_MODIFIED, d), -1);

	tc_kube_informer_free(inf);
	cm_path(one, sizeof(one), E.ns, d);
	assert_int_equal(call_status(k, "DELETE", one, NULL), 200);
	free(rec);
	tc_kube_free(ka);
	tc_kube_free(ks);
	tc_kube_free(k);
}

/* ---- pod logs ------------------------------------------------------- */

struct logrec {
	char *buf;
	size_t len;
	int chunks, ends;
	long status;
	int err;
};

static void log_data(void *ctx, const char *buf, size_t len)
{
	struct logrec *l = ctx;

	l->buf = realloc(l->buf, l->len + len + 1);
	assert_non_null(l->buf);
	memcpy(l->buf + l->len, buf, len);
	l->len += len;
	l->buf[l->len] = '\0';
	l->chunks++;
}

static void log_end(void *ctx, const struct tc_kube_resp *resp,
		    const struct tc_error *err)
{
	struct logrec *l = ctx;

	l->ends++;
	l->status = resp->status;
	l->err = err->code;
}

static void test_pod_logs(void **state)
{
	struct tc_kube *k = client(trainer_cfg(), NULL);
	struct tc_kube_resp r;
	struct tc_kube_stream *s;
	struct logrec l = {0};
	char name[64], path[512], lines[2][96];
	const char *pod = NULL;
	json_t *job;
	FILE *f;
	double end;
	int i;

	(void)state;
	for (i = 0; i < 2; i++)
		snprintf(lines[i], sizeof(lines[i]), "epoch %d loss 0.%d %s",
			 i + 1, 5 - i, E.tag);
	f = fopen(E.pod_log, "a");
	assert_non_null(f);
	for (i = 0; i < 2; i++)
		fprintf(f, "2025-01-01T00:00:0%d.000000000Z stdout F %s\n", i,
			lines[i]);
	assert_int_equal(fclose(f), 0);

	snprintf(name, sizeof(name), "logs-%s", E.tag);
	job = json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s, s:[{s:s, "
			"s:s, s:[s, s]}]}}}}",
			"apiVersion", "batch/v1", "kind", "Job", "metadata",
			"name", name, "spec", "backoffLimit", 0, "template",
			"spec", "restartPolicy", "Never", "containers",
			"name", "main", "image", "busybox", "command", "echo",
			"hi");
	assert_non_null(job);
	snprintf(path, sizeof(path), "/apis/batch/v1/namespaces/%s/jobs",
		 E.ns);
	assert_int_equal(call_status(k, "POST", path, job), 201);
	json_decref(job);

	/* its pod, once it has run */
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/%s/pods?labelSelector=job-name%%3D%s",
		 E.ns, name);
	end = tc_mono() + 60;
	for (;;) {
		json_t *items, *p0;
		const char *phase;

		assert_true(tc_mono() < end);
		assert_int_equal(call(k, "GET", path, NULL, &r), 200);
		items = json_object_get(r.body, "items");
		p0 = json_array_get(items, 0);
		phase = json_string_value(json_object_get(
			json_object_get(p0, "status"), "phase"));
		if (phase && (!strcmp(phase, "Running") ||
			      !strcmp(phase, "Succeeded"))) {
			pod = strdup(json_string_value(json_object_get(
				json_object_get(p0, "metadata"), "name")));
			tc_kube_resp_free(&r);
			break;
		}
		tc_kube_resp_free(&r);
		assert_true(tc_kube_drive(k, 200, -1) >= 0);
	}
	assert_non_null(pod);

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/log",
		 E.ns, pod);
	assert_int_equal(call(k, "GET", path, NULL, &r), 200);
	assert_null(r.body); /* text, not JSON */
	for (i = 0; i < 2; i++)
		assert_non_null(strstr(r.raw, lines[i]));
	tc_kube_resp_free(&r);

	s = tc_kube_stream_new(k, path, log_data, log_end, &l);
	assert_non_null(s);
	end = tc_mono() + 30;
	while (!l.ends) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 100, -1) >= 0);
	}
	assert_true(tc_kube_drive(k, 50, -1) >= 0);
	assert_int_equal(l.ends, 1);
	assert_int_equal(l.status, 200);
	assert_int_equal(l.err, 0);
	assert_true(l.chunks >= 1);
	for (i = 0; i < 2; i++)
		assert_non_null(strstr(l.buf, lines[i]));
	tc_kube_stream_free(s);
	free(l.buf);

	/* a stream refused: end once, with the status and no data */
	memset(&l, 0, sizeof(l));
	snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods/x/log");
	s = tc_kube_stream_new(k, path, log_data, log_end, &l);
	end = tc_mono() + 30;
	while (!l.ends) {
		assert_true(tc_mono() < end);
		assert_true(tc_kube_drive(k, 100, -1) >= 0);
	}
	assert_int_equal(l.status, 403);
	assert_int_equal(l.chunks, 0);
	tc_kube_stream_free(s);

	snprintf(path, sizeof(path),
		 "/apis/batch/v1/namespaces/%s/jobs/%s"
		 "?propagationPolicy=Background", E.ns, name);
	assert_int_equal(call_status(k, "DELETE", path, NULL), 200);
	free((char *)pod);
	tc_kube_free(k);
}

/* ---- TLS and the admin's client certificate ------------------------- */

static void test_admin_tls(void **state)
{
	struct tc_kcfg *c;
	struct tc_kube *k;
	struct tc_kube_opts o = {.retry_budget = 1.0};
	struct tc_kube_resp r;
	struct tc_error err;

	(void)state;
	/* certificate and key files; cluster-wide reads are allowed */
	k = client(admin_cfg(), NULL);
	assert_int_equal(call_status(k, "GET", "/api/v1/nodes", NULL), 200);
	assert_string_equal(tc_kube_protocol(k), "HTTP/2");
	tc_kube_free(k);

	/* the same as PEM blobs, verifying the name "kubernetes" while
	 * dialling 127.0.0.1 */
	c = admin_cfg();
	c->cert_pem = slurp(c->cert_file, &c->cert_pem_len);
	c->key_pem = slurp(c->key_file, &c->key_pem_len);
	free(c->cert_file);
	free(c->key_file);
	c->cert_file = c->key_file = NULL;
	c->tls_server_name = strdup("kubernetes");
	k = client(c, NULL);
	assert_int_equal(call_status(k, "GET", "/api/v1/nodes", NULL), 200);
	tc_kube_free(k);

	/* a name the certificate does not carry: refused, not retried */
	c = admin_cfg();
	c->tls_server_name = strdup("wrong.example");
	k = client(c, &o);
	tc_error_clear(&err);
	assert_int_equal(tc_kube_call(k, "GET", "/version", NULL, &r, &err),
			 TC_ERR_BACKEND);
	assert_non_null(strstr(err.msg, "cannot reach "));
	assert_null(strstr(err.msg, "attempts"));
	tc_kube_resp_free(&r);
	tc_kube_free(k);

	/* insecure: no CA at all */
	c = trainer_cfg();
	free(c->ca_pem);
	c->ca_pem = NULL;
	c->ca_pem_len = 0;
	c->insecure = 1;
	k = client(c, NULL);
	assert_int_equal(call_status(k, "GET", "/version", NULL), 200);
	tc_kube_free(k);
}

/* ---- exec credential plugins -------------------------------------- */

/* A plugin (a shell script) in a temp dir: it prints the token in "tok"
 * (then replaces it with "tok.next" if there is one) and the expiry in
 * "exp", and counts its runs in "runs". */
struct plug {
	char dir[64];
	char kc[128];
	char cmd[128];
};

static void plug_write(const struct plug *p, const char *name,
		       const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", p->dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int plug_runs(const struct plug *p)
{
	char path[256], *t;
	int n = 0;
	size_t i, len;

	snprintf(path, sizeof(path), "%s/runs", p->dir);
	t = slurp(path, &len);
	if (!t)
		return 0;
	for (i = 0; i < len; i++)
		n += t[i] == '\n';
	free(t);
	return n;
}

static void plug_setup(struct plug *p, const char *token,
		       const char *next_token, double expires_in)
{
	char exp[64];
	time_t t = (time_t)(tc_now() + expires_in);
	struct tm tm;
	json_t *kc;

	snprintf(p->dir, sizeof(p->dir), "/tmp/tc-client-plugin-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->cmd, sizeof(p->cmd), "%s/plugin.sh", p->dir);
	snprintf(p->kc, sizeof(p->kc), "%s/kubeconfig", p->dir);
	plug_write(p, "plugin.sh",
		   "#!/bin/sh\n"
		   "d=$(dirname \"$0\")\n"
		   "echo run >> \"$d/runs\"\n"
		   "printf '{\"apiVersion\":"
		   "\"client.authentication.k8s.io/v1\","
		   "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\","
		   "\"expirationTimestamp\":\"%s\"}}\\n' "
		   "\"$(cat \"$d/tok\")\" \"$(cat \"$d/exp\")\"\n"
		   "if [ -f \"$d/tok.next\" ]; then "
		   "mv \"$d/tok.next\" \"$d/tok\"; fi\n");
	assert_int_equal(chmod(p->cmd, 0755), 0);
	plug_write(p, "tok", token);
	if (next_token)
		plug_write(p, "tok.next", next_token);
	gmtime_r(&t, &tm);
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	plug_write(p, "exp", exp);

	kc = json_pack("{s:s, s:s, s:[{s:s, s:{s:s, s:s}}], "
		       "s:[{s:s, s:{s:{s:s, s:s, s:s}}}], "
		       "s:[{s:s, s:{s:s, s:s, s:s}}], s:s}",
		       "apiVersion", "v1", "kind", "Config",
		       "clusters", "name", "c", "cluster", "server", E.server,
		       "certificate-authority", E.ca,
		       "users", "name", "u", "user", "exec", "apiVersion",
		       "client.authentication.k8s.io/v1", "command", p->cmd,
		       "interactiveMode", "Never",
		       "contexts", "name", "x", "context", "cluster", "c",
		       "user", "u", "namespace", E.ns,
		       "current-context", "x");
	assert_non_null(kc);
	assert_int_equal(json_dump_file(kc, p->kc, 0), 0);
	json_decref(kc);
}

static void plug_cleanup(struct plug *p)
{
	const char *names[] = {"plugin.sh", "tok", "tok.next", "exp", "runs",
			       "kubeconfig"};
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", p->dir, names[i]);
		unlink(path);
	}
	rmdir(p->dir);
}

static struct tc_kube *plug_client(struct plug *p)
{
	struct tc_kcfg *c = NULL;
	struct tc_error err;

	tc_error_clear(&err);
	if (tc_kcfg_load(p->kc, NULL, NULL, &c, &err) < 0)
		fail_msg("tc_kcfg_load %s: %s", p->kc, err.msg);
	assert_non_null(c->exec.command);
	return client(c, NULL);
}

static char *trainer_token(void)
{
	size_t n;
	char *t = slurp(E.token_file, &n);

	assert_non_null(t);
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r'))
		t[--n] = '\0';
	return t;
}

static void test_exec_plugin(void **state)
{
	char *tok = trainer_token();
	struct tc_kube *k;
	struct tc_kube_resp r;
	struct tc_error err;
	struct plug p;
	char path[256];
	int i;

	(void)state;
	cm_path(path, sizeof(path), E.ns, NULL);

	/* run once, before the first request, then reused */
	plug_setup(&p, tok, NULL, 3600);
	k = plug_client(&p);
	assert_int_equal(plug_runs(&p), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(call_status(k, "GET", path, NULL), 200);
	assert_int_equal(plug_runs(&p), 1);
	tc_kube_free(k);
	plug_cleanup(&p);

	/* expiring within a minute: run again before each request */
	plug_setup(&p, tok, NULL, 30);
	k = plug_client(&p);
	for (i = 0; i < 3; i++)
		assert_int_equal(call_status(k, "GET", path, NULL), 200);
	assert_int_equal(plug_runs(&p), 3);
	tc_kube_free(k);
	plug_cleanup(&p);

	/* a token the server refuses: 401, the plugin runs again, the
	 * request is retried with the new token */
	plug_setup(&p, "refused", tok, 3600);
	k = plug_client(&p);
	assert_int_equal(call_status(k, "GET", path, NULL), 200);
	assert_int_equal(plug_runs(&p), 2);
	tc_kube_free(k);

	/* a plugin that fails: the request fails with its error */
	unlink(p.cmd);
	k = plug_client(&p);
	tc_error_clear(&err);
	assert_int_equal(tc_kube_call(k, "GET", path, NULL, &r, &err),
			 TC_ERR_BACKEND);
	assert_non_null(strstr(err.msg, "plugin"));
	show(&err);
	tc_kube_resp_free(&r);
	tc_kube_free(k);
	plug_cleanup(&p);
	free(tok);
}

/* wake_fd: drive returns 1 as soon as it is readable */
static void test_wake_fd(void **state)
{
	struct tc_kube *k = client(trainer_cfg(), NULL);
	int p[2];
	double t0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(tc_kube_drive(k, 0, p[0]), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	t0 = tc_mono();
	assert_int_equal(tc_kube_drive(k, 5000, p[0]), 1);
	assert_true(tc_mono() - t0 < 2);
	close(p[0]);
	close(p[1]);
	tc_kube_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_configmap_crud),
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_unauthorized),
		cmocka_unit_test(test_concurrent_h2),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_wake_fd),
		cmocka_unit_test(test_admin_tls),
		cmocka_unit_test(test_exec_plugin),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_informer),
		cmocka_unit_test(test_informer_free_in_callback),
		cmocka_unit_test(test_nested_call),
		cmocka_unit_test(test_http1),
		cmocka_unit_test_teardown(test_informer_forbidden,
					  restore_binding),
		cmocka_unit_test(test_pod_logs),
		cmocka_unit_test(test_apiserver_restart),
	};

	return cmocka_run_group_tests(tests, env_setup, NULL);
}
