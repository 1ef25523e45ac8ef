/*
 * test_kubeconfig.c — kubeconfig resolution on real files in a scratch
 * directory: inline (base64) and file credentials with relative paths, the
 * $KUBECONFIG merge (first file wins, missing and empty entries skipped),
 * ~/.kube/config, context and namespace choice, every error message
 * (missing context, cluster, user, server, YAML syntax with its line, wrong
 * shapes, alias bombs, oversize files), token files and their reload, the
 * in-cluster service account (IPv4 and IPv6), and exec credential plugins
 * run for real as scripts (token, expiry, args, env, KUBERNETES_EXEC_INFO,
 * client certificates, failures, garbage, timeouts).
 *
 * Each test starts from a clean environment: KUBECONFIG, the in-cluster
 * variables and TRAINCTL_* unset, HOME pointing at an empty directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "k8s/kubeconfig.h"
#include "util/clock.h"

static char g_dir[128];       /* scratch directory of the whole run */
static char g_cwd[PATH_MAX];
static char *g_path0;         /* PATH at start */

/* ---- helpers --------------------------------------------------------- */

/* g_dir/rel, in one of a few rotating buffers. */
static const char *at(const char *rel)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", g_dir, rel);
	return b;
}

static void mkdirs_for(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + strlen(g_dir) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
}

/* Write text to g_dir/rel (directories made); returns the path. */
static const char *put(const char *rel, const char *text)
{
	const char *p = at(rel);
	FILE *f;

	mkdirs_for(p);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	return p;
}

static const char *put_exec(const char *rel, const char *text)
{
	const char *p = put(rel, text);

	assert_int_equal(chmod(p, 0755), 0);
	return p;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	return b;
}

/* base64 of s, a newline every 16 characters (kubeconfigs wrap). */
static char *b64_wrapped(const char *s)
{
	size_t n = strlen(s);
	char *plain = malloc(4 * ((n + 2) / 3) + 1), *out, *w;

	assert_non_null(plain);
	EVP_EncodeBlock((unsigned char *)plain, (const unsigned char *)s,
			(int)n);
	out = malloc(2 * strlen(plain) + 2);
	assert_non_null(out);
	w = out;
	for (size_t i = 0; plain[i]; i++) {
		*w++ = plain[i];
		if (i % 16 == 15)
			*w++ = '\n';
	}
	*w = '\0';
	free(plain);
	return out;
}

static struct tc_kcfg *load_ok(const char *path, const char *ctx,
			       const char *ns)
{
	struct tc_kcfg *k = NULL;
	struct tc_error e;

	if (tc_kcfg_load(path, ctx, ns, &k, &e) != 0)
		fail_msg("expected a config, got: %s", e.msg);
	assert_non_null(k);
	assert_non_null(k->server);
	assert_non_null(k->namespace);
	return k;
}

/* Loading must fail with every one of the NULL-terminated substrings. */
static void load_err(const char *path, const char *ctx, const char *ns,
		     ...)
{
	struct tc_kcfg *k = (struct tc_kcfg *)1;
	struct tc_error e;
	const char *sub;
	va_list ap;
	int rc = tc_kcfg_load(path, ctx, ns, &k, &e);

	if (rc == 0) {
		tc_kcfg_free(k);
		fail_msg("expected an error, got a config");
	}
	assert_null(k);
	assert_int_equal(rc, TC_ERR_BACKEND);
	assert_int_equal(e.code, TC_ERR_BACKEND);
	va_start(ap, ns);
	while ((sub = va_arg(ap, const char *)))
		if (!strstr(e.msg, sub))
			fail_msg("expected '%s' in: %s", sub, e.msg);
	va_end(ap);
}

static double utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (double)timegm(&tm);
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A fresh environment and an empty scratch tree for each test. */
static int setup(void **state)
{
	(void)state;
	nftw(g_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(g_dir, 0700) != 0)
		return -1;
	if (mkdir(at("home"), 0700) != 0)
		return -1;
	setenv("HOME", at("home"), 1);
	setenv("PATH", g_path0, 1);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("TRAINCTL_SA_DIR");
	unsetenv("TRAINCTL_EXEC_TIMEOUT");
	unsetenv("TC_TEST_FROM_ENVIRON");
	return chdir(g_cwd);
}

/* A one-cluster, one-user, one-context config; user is YAML put under
 * users[0].user (indented 4). */
static const char *simple(const char *rel, const char *user)
{
	char text[8192];

	snprintf(text, sizeof(text),
		 "apiVersion: v1\n"
		 "kind: Config\n"
		 "clusters:\n"
		 "- name: c\n"
		 "  cluster:\n"
		 "    server: https://127.0.0.1:6443\n"
		 "users:\n"
		 "- name: u\n"
		 "  user:\n"
		 "%s"
		 "contexts:\n"
		 "- name: x\n"
		 "  context: {cluster: c, user: u}\n"
		 "current-context: x\n",
		 user);
	return put(rel, text);
}

/* ---- files, data, paths --------------------------------------------- */

#define CA_PEM \
	"-----BEGIN CERTIFICATE-----\nMIIBcA==\n-----END CERTIFICATE-----\n"
#define CRT_PEM \
	"-----BEGIN CERTIFICATE-----\nMIIBdB==\n-----END CERTIFICATE-----\n"
#define KEY_PEM \
	"-----BEGIN PRIVATE KEY-----\nMIIEvQ==\n-----END PRIVATE KEY-----\n"

static void test_inline_data(void **state)
{
	char *ca = b64_wrapped(CA_PEM), *crt = b64_wrapped(CRT_PEM);
	char *key = b64_wrapped(KEY_PEM), text[8192], ind[3][2048];
	struct tc_kcfg *k;
	const char *p;
	char *src[3] = {ca, crt, key};

	(void)state;
	/* the wrapped base64 as YAML block scalars, indented 6 */
	for (int i = 0; i < 3; i++) {
		char *w = ind[i];

		w += sprintf(w, "      ");
		for (const char *r = src[i]; *r; r++) {
			*w++ = *r;
			if (*r == '\n' && r[1])
				w += sprintf(w, "      ");
		}
		*w = '\0';
	}
	snprintf(text, sizeof(text),
		 "apiVersion: v1\n"
		 "kind: Config\n"
		 "preferences: {colors: true}\n"
		 "clusters:\n"
		 "- name: prod\n"
		 "  cluster:\n"
		 "    server: https://api.example.org:6443/\n"
		 "    certificate-authority-data: |\n%s\n"
		 "    tls-server-name: kubernetes.default\n"
		 "    proxy-url: http://proxy:3128\n"
		 "    extensions: [{name: x, extension: {a: 1}}]\n"
		 "users:\n"
		 "- name: alice\n"
		 "  user:\n"
		 "    client-certificate-data: |\n%s\n"
		 "    client-key-data: >-\n%s\n"
		 "    client-certificate: /ignored/because/data/wins\n"
		 "contexts:\n"
		 "- name: alice@prod\n"
		 "  context:\n"
		 "    cluster: prod\n"
		 "    user: alice\n"
		 "current-context: alice@prod\n",
		 ind[0], ind[1], ind[2]);
	p = put("inline.yaml", text);
	k = load_ok(p, NULL, NULL);
	assert_string_equal(k->source, p);
	assert_string_equal(k->context, "alice@prod");
	assert_string_equal(k->cluster, "prod");
	assert_string_equal(k->user, "alice");
	assert_string_equal(k->server, "https://api.example.org:6443");
	assert_string_equal(k->namespace, "default");
	assert_string_equal(k->ca_pem, CA_PEM);
	assert_int_equal(k->ca_pem_len, strlen(CA_PEM));
	assert_null(k->ca_file);
	assert_string_equal(k->cert_pem, CRT_PEM);
	assert_int_equal(k->cert_pem_len, strlen(CRT_PEM));
	assert_null(k->cert_file);
	assert_string_equal(k->key_pem, KEY_PEM);
	assert_int_equal(k->key_pem_len, strlen(KEY_PEM));
	assert_null(k->key_file);
	assert_string_equal(k->tls_server_name, "kubernetes.default");
	assert_string_equal(k->proxy_url, "http://proxy:3128");
	assert_int_equal(k->insecure, 0);
	assert_null(k->token);
	assert_null(k->exec.command);
	tc_kcfg_free(k);

	/* bad base64 names the field and the user */
	put("bad64.yaml", "clusters: [{name: c, cluster: {server: https://h}}]\n"
			  "users: [{name: u, user: {client-key-data: 'ab$d'}}]\n"
			  "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
			  "current-context: x\n");
	load_err(at("bad64.yaml"), NULL, NULL, "kubeconfig ",
		 "bad64.yaml: user 'u': client-key-data is not valid base64",
		 NULL);
	free(ca);
	free(crt);
	free(key);
}

static void test_file_paths(void **state)
{
	struct tc_kcfg *k;
	char want[PATH_MAX];

	(void)state;
	put("conf/sub/config",
	    "clusters:\n"
	    "- name: c\n"
	    "  cluster:\n"
	    "    server: 10.1.2.3:6443\n"
	    "    certificate-authority: ca.crt\n"
	    "    insecure-skip-tls-verify: yes\n"
	    "users:\n"
	    "- name: u\n"
	    "  user:\n"
	    "    client-certificate: certs/../certs/me.crt\n"
	    "    client-key: /etc/abs/me.key\n"
	    "contexts:\n"
	    "- {name: x, context: {cluster: c, user: u, namespace: team}}\n"
	    "current-context: x\n");
	/* a relative --kubeconfig: paths still come out absolute */
	assert_int_equal(chdir(at("conf")), 0);
	k = load_ok("sub/config", NULL, NULL);
	assert_int_equal(chdir(g_cwd), 0);
	assert_string_equal(k->server, "https://10.1.2.3:6443");
	snprintf(want, sizeof(want), "%s/conf/sub/ca.crt", g_dir);
	assert_string_equal(k->ca_file, want);
	assert_null(k->ca_pem);
	snprintf(want, sizeof(want), "%s/conf/sub/certs/../certs/me.crt",
		 g_dir);
	assert_string_equal(k->cert_file, want);
	assert_string_equal(k->key_file, "/etc/abs/me.key");
	assert_int_equal(k->insecure, 1);
	assert_string_equal(k->namespace, "team");
	assert_string_equal(k->source, "sub/config");
	tc_kcfg_free(k);
}

/* The two kubeconfigs tests/k8s/cluster.sh writes, as it writes them. */
static void test_test_cluster_format(void **state)
{
	char text[8192], *ca = b64_wrapped(CA_PEM), *flat;
	struct tc_kcfg *k;
	char want[PATH_MAX];
	size_t j = 0;

	(void)state;
	flat = strdup(ca); /* base64 -w0: one line */
	for (size_t i = 0; ca[i]; i++)
		if (ca[i] != '\n')
			flat[j++] = ca[i];
	flat[j] = '\0';
	snprintf(text, sizeof(text),
		 "apiVersion: v1\n"
		 "kind: Config\n"
		 "clusters:\n"
		 "- name: trainctl-test\n"
		 "  cluster:\n"
		 "    server: https://127.0.0.1:46443\n"
		 "    certificate-authority-data: %s\n"
		 "users:\n"
		 "- name: trainer\n"
		 "  user:\n"
		 "    token: eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJ4In0.c2ln\n"
		 "contexts:\n"
		 "- name: trainer@trainctl-test\n"
		 "  context:\n"
		 "    cluster: trainctl-test\n"
		 "    user: trainer\n"
		 "    namespace: trainctl-test\n"
		 "current-context: trainer@trainctl-test\n",
		 flat);
	put("state/trainer.kubeconfig", text);
	k = load_ok(at("state/trainer.kubeconfig"), NULL, NULL);
	assert_string_equal(k->server, "https://127.0.0.1:46443");
	assert_string_equal(k->ca_pem, CA_PEM);
	assert_string_equal(k->token, "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ."
				      "eyJzdWIiOiJ4In0.c2ln");
	assert_null(k->token_file);
	assert_string_equal(k->namespace, "trainctl-test");
	assert_string_equal(k->context, "trainer@trainctl-test");
	tc_kcfg_free(k);

	snprintf(text, sizeof(text),
		 "apiVersion: v1\n"
		 "kind: Config\n"
		 "clusters:\n"
		 "- name: trainctl-test\n"
		 "  cluster:\n"
		 "    server: https://127.0.0.1:46443\n"
		 "    certificate-authority: %s/state/pki/ca.crt\n"
		 "users:\n"
		 "- name: admin\n"
		 "  user:\n"
		 "    client-certificate: %s/state/pki/admin.crt\n"
		 "    client-key: %s/state/pki/admin.key\n"
		 "contexts:\n"
		 "- name: admin@trainctl-test\n"
		 "  context:\n"
		 "    cluster: trainctl-test\n"
		 "    user: admin\n"
		 "current-context: admin@trainctl-test\n",
		 g_dir, g_dir, g_dir);
	put("state/admin.kubeconfig", text);
	setenv("KUBECONFIG", at("state/admin.kubeconfig"), 1);
	k = load_ok(NULL, NULL, "trainctl-test");
	snprintf(want, sizeof(want), "%s/state/pki/ca.crt", g_dir);
	assert_string_equal(k->ca_file, want);
	snprintf(want, sizeof(want), "%s/state/pki/admin.crt", g_dir);
	assert_string_equal(k->cert_file, want);
	snprintf(want, sizeof(want), "%s/state/pki/admin.key", g_dir);
	assert_string_equal(k->key_file, want);
	assert_string_equal(k->namespace, "trainctl-test");
	assert_string_equal(k->user, "admin");
	assert_null(k->token);
	tc_kcfg_free(k);
	free(ca);
	free(flat);
}

/* ---- which files ---------------------------------------------------- */

static void test_merge(void **state)
{
	struct tc_kcfg *k;
	char list[4 * PATH_MAX];

	(void)state;
	put("a.yaml",
	    "clusters:\n"
	    "- {name: shared, cluster: {server: https://from-a}}\n"
	    "- {name: dup, cluster: {server: https://dup-first}}\n"
	    "- {name: dup, cluster: {server: https://dup-last}}\n"
	    "contexts:\n"
	    "- {name: ctx-a, context: {cluster: shared, user: only-b}}\n"
	    "- {name: ctx-dup, context: {cluster: dup}}\n"
	    "current-context: ctx-a\n");
	put("b.yaml",
	    "clusters:\n"
	    "- {name: shared, cluster: {server: https://from-b}}\n"
	    "- {name: dup, cluster: {server: https://from-b}}\n"
	    "- {name: own, cluster: {server: https://own-b}}\n"
	    "users:\n"
	    "- {name: only-b, user: {token: tok-b}}\n"
	    "contexts:\n"
	    "- {name: ctx-a, context: {cluster: own, namespace: nope}}\n"
	    "- {name: ctx-b, context: {cluster: own, namespace: nb}}\n"
	    "current-context: ctx-b\n");
	snprintf(list, sizeof(list), "%s:%s", at("a.yaml"), at("b.yaml"));
	setenv("KUBECONFIG", list, 1);

	/* a's current-context, a's ctx-a, a's cluster, b's user */
	k = load_ok(NULL, NULL, NULL);
	assert_string_equal(k->context, "ctx-a");
	assert_string_equal(k->server, "https://from-a");
	assert_string_equal(k->user, "only-b");
	assert_string_equal(k->token, "tok-b");
	assert_string_equal(k->namespace, "default");
	assert_string_equal(k->source, list);
	tc_kcfg_free(k);

	/* a name defined twice in one file: its last definition */
	k = load_ok(NULL, "ctx-dup", NULL);
	assert_string_equal(k->server, "https://dup-last");
	assert_null(k->user);
	assert_null(k->token);
	tc_kcfg_free(k);

	/* only in b */
	k = load_ok(NULL, "ctx-b", NULL);
	assert_string_equal(k->server, "https://own-b");
	assert_string_equal(k->namespace, "nb");
	tc_kcfg_free(k);

	/* the other order: b wins everything */
	snprintf(list, sizeof(list), "%s:%s", at("b.yaml"), at("a.yaml"));
	setenv("KUBECONFIG", list, 1);
	k = load_ok(NULL, NULL, NULL);
	assert_string_equal(k->context, "ctx-b");
	tc_kcfg_free(k);
	k = load_ok(NULL, "ctx-a", NULL);
	assert_string_equal(k->server, "https://own-b");
	assert_string_equal(k->namespace, "nope");
	tc_kcfg_free(k);
	k = load_ok(NULL, "ctx-dup", NULL);
	assert_string_equal(k->server, "https://from-b");
	tc_kcfg_free(k);

	/* an empty current-context does not count as set */
	put("c.yaml", "current-context: \"\"\n");
	snprintf(list, sizeof(list), "%s:%s:%s", at("c.yaml"), at("b.yaml"),
		 at("a.yaml"));
	setenv("KUBECONFIG", list, 1);
	k = load_ok(NULL, NULL, NULL);
	assert_string_equal(k->context, "ctx-b");
	tc_kcfg_free(k);
}

static void test_missing_files(void **state)
{
	struct tc_kcfg *k;
	char list[4 * PATH_MAX];

	(void)state;
	simple("real.yaml", "    token: t\n");
	/* missing files, empty entries and a repeat around the real one */
	snprintf(list, sizeof(list), ":%s::%s:%s:%s:", at("nope1.yaml"),
		 at("real.yaml"), at("nope2/config"), at("real.yaml"));
	setenv("KUBECONFIG", list, 1);
	k = load_ok(NULL, NULL, NULL);
	assert_string_equal(k->source, at("real.yaml"));
	assert_string_equal(k->token, "t");
	tc_kcfg_free(k);

	/* none exists: the kubectl-like error, ~/.kube/config not consulted */
	simple("home/.kube/config", "    token: home\n");
	snprintf(list, sizeof(list), "%s:%s", at("nope1.yaml"),
		 at("nope2.yaml"));
	setenv("KUBECONFIG", list, 1);
	load_err(NULL, NULL, NULL,
		 "no kubeconfig found: set KUBECONFIG, use --kubeconfig, or "
		 "create ~/.kube/config",
		 "nope2.yaml", NULL);

	/* an existing but unreadable entry is an error, not skipped */
	assert_int_equal(mkdir(at("adir"), 0700), 0);
	setenv("KUBECONFIG", at("adir"), 1);
	load_err(NULL, NULL, NULL, "adir: cannot read it", NULL);

	/* the explicit file must exist, and is used alone */
	setenv("KUBECONFIG", at("real.yaml"), 1);
	load_err(at("gone.yaml"), NULL, NULL, "kubeconfig ", "gone.yaml",
		 "cannot read it: No such file", NULL);
	put("other.yaml", "contexts: [{name: o, context: {cluster: c}}]\n"
			  "clusters: [{name: c, cluster: {server: h}}]\n");
	load_err(at("other.yaml"), "x", NULL, "context 'x' not found "
					       "(contexts: o)",
		 NULL);
	k = load_ok(at("other.yaml"), "o", NULL);
	assert_string_equal(k->server, "https://h");
	tc_kcfg_free(k);
}

static void test_home(void **state)
{
	struct tc_kcfg *k;

	(void)state;
	load_err(NULL, NULL, NULL, "no kubeconfig found", ".kube/config",
		 NULL);
	simple("home/.kube/config", "    token: home\n");
	k = load_ok(NULL, NULL, NULL);
	assert_string_equal(k->token, "home");
	assert_string_equal(k->source, at("home/.kube/config"));
	tc_kcfg_free(k);
	/* an empty KUBECONFIG is no KUBECONFIG */
	setenv("KUBECONFIG", "", 1);
	k = load_ok(NULL, NULL, NULL);
	assert_string_equal(k->token, "home");
	tc_kcfg_free(k);
}

/* ---- contexts and namespaces ------------------------------------------ */

static const char *two_contexts(void)
{
	return put("two.yaml",
		   "clusters:\n"
		   "- {name: c1, cluster: {server: https://one}}\n"
		   "- {name: c2, cluster: {server: https://two}}\n"
		   "- {name: noserver, cluster: {}}\n"
		   "- {name: nullcluster}\n"
		   "users:\n"
		   "- {name: u1, user: {token: one}}\n"
		   "contexts:\n"
		   "- {name: alpha, context: {cluster: c1, user: u1, namespace: "
		   "ns-alpha}}\n"
		   "- {name: beta, context: {cluster: c2}}\n"
		   "- {name: lost-cluster, context: {cluster: gone, user: u1}}\n"
		   "- {name: lost-user, context: {cluster: c1, user: ghost}}\n"
		   "- {name: no-cluster, context: {user: u1}}\n"
		   "- {name: no-server, context: {cluster: noserver}}\n"
		   "- {name: null-cluster, context: {cluster: nullcluster}}\n"
		   "current-context: alpha\n");
}

static void test_context_namespace(void **state)
{
	const char *p = two_contexts();
	struct tc_kcfg *k;

	(void)state;
	k = load_ok(p, NULL, NULL);
	assert_string_equal(k->context, "alpha");
	assert_string_equal(k->namespace, "ns-alpha");
	assert_string_equal(k->token, "one");
	tc_kcfg_free(k);
	k = load_ok(p, NULL, "mine");
	assert_string_equal(k->namespace, "mine");
	tc_kcfg_free(k);
	k = load_ok(p, "beta", NULL);
	assert_string_equal(k->context, "beta");
	assert_string_equal(k->server, "https://two");
	assert_string_equal(k->namespace, "default");
	assert_null(k->user);
	tc_kcfg_free(k);
	k = load_ok(p, "beta", "other");
	assert_string_equal(k->namespace, "other");
	tc_kcfg_free(k);
	/* empty strings are "not given" */
	k = load_ok(p, "", "");
	assert_string_equal(k->context, "alpha");
	assert_string_equal(k->namespace, "ns-alpha");
	tc_kcfg_free(k);
}

static void test_context_errors(void **state)
{
	const char *p = two_contexts();
	char want[PATH_MAX + 64];

	(void)state;
	snprintf(want, sizeof(want), "kubeconfig %s: context 'nope' not found "
				     "(contexts: alpha, beta, lost-cluster, ",
		 p);
	load_err(p, "nope", NULL, want, "null-cluster)", NULL);
	load_err(p, "lost-cluster", NULL, "context 'lost-cluster' names "
					  "cluster 'gone', which is not defined",
		 "(clusters: c1, c2, noserver, nullcluster)", NULL);
	load_err(p, "lost-user", NULL,
		 "context 'lost-user' names user 'ghost', which is not "
		 "defined (users: u1)",
		 NULL);
	load_err(p, "no-cluster", NULL, "context 'no-cluster' names no cluster",
		 NULL);
	load_err(p, "no-server", NULL, "cluster 'noserver' has no server",
		 NULL);
	load_err(p, "null-cluster", NULL,
		 "cluster 'nullcluster' has no server", NULL);
	put("nocurrent.yaml", "contexts: [{name: a}, {name: b}]\n");
	load_err(at("nocurrent.yaml"), NULL, NULL, "no current-context",
		 "(contexts: a, b)", NULL);
}

/* ---- bad files -------------------------------------------------------- */

static void test_yaml_errors(void **state)
{
	char want[PATH_MAX + 64];
	const char *p;

	(void)state;
	p = put("syntax.yaml", "apiVersion: v1\n"
			       "clusters:\n"
			       "- name: a\n"
			       "  cluster: {server: https://x\n"
			       "current-context: a\n");
	snprintf(want, sizeof(want), "kubeconfig %s: line 5 col ", p);
	load_err(p, NULL, NULL, want, NULL);

	p = put("tabs.yaml", "clusters:\n\t- name: a\n");
	snprintf(want, sizeof(want), "kubeconfig %s: line 2 col 1: ", p);
	load_err(p, NULL, NULL, want, NULL);

	p = put("list.yaml", "- a\n- b\n");
	load_err(p, NULL, NULL, "list.yaml: not a kubeconfig: the top level "
				"is a list, not a mapping",
		 NULL);
	p = put("scalar.yaml", "hello\n");
	load_err(p, NULL, NULL, "the top level is a string", NULL);
	p = put("shape.yaml", "clusters: {a: b}\n");
	load_err(p, NULL, NULL, "clusters must be a list, not a mapping",
		 NULL);
	p = put("shape2.yaml", "users: [{name: u, user: [1]}]\n");
	load_err(p, NULL, NULL, "users[0].user must be a mapping, not a list",
		 NULL);
	p = put("shape3.yaml",
		"clusters: [{name: c, cluster: {server: [1]}}]\n"
		"contexts: [{name: x, context: {cluster: c}}]\n"
		"current-context: x\n");
	load_err(p, NULL, NULL, "cluster 'c': server must be a string, not a "
				"list",
		 NULL);
	p = put("badbool.yaml",
		"clusters: [{name: c, cluster: {server: h, "
		"insecure-skip-tls-verify: maybe}}]\n"
		"contexts: [{name: x, context: {cluster: c}}]\n"
		"current-context: x\n");
	load_err(p, NULL, NULL, "insecure-skip-tls-verify must be true or "
				"false",
		 NULL);

	/* an empty file is an empty configuration... */
	p = put("empty.yaml", "");
	load_err(p, NULL, NULL, "no current-context", "(contexts: none)",
		 NULL);
	p = put("comments.yaml", "# nothing here\n---\n");
	load_err(p, NULL, NULL, "no current-context", NULL);
	/* ...that merges with the others */
	simple("good.yaml", "    token: g\n");
	{
		char list[2 * PATH_MAX + 2];
		struct tc_kcfg *k;

		snprintf(list, sizeof(list), "%s:%s", at("empty.yaml"),
			 at("good.yaml"));
		setenv("KUBECONFIG", list, 1);
		k = load_ok(NULL, NULL, NULL);
		assert_string_equal(k->token, "g");
		tc_kcfg_free(k);
	}
	/* a bad file in the list is an error, even after a good one */
	{
		char list[2 * PATH_MAX + 2];

		snprintf(list, sizeof(list), "%s:%s", at("good.yaml"),
			 at("list.yaml"));
		setenv("KUBECONFIG", list, 1);
		load_err(NULL, NULL, NULL, "list.yaml: not a kubeconfig", NULL);
	}
}

static void test_aliases_and_limits(void **state)
{
	struct tc_kcfg *k;
	const char *p;
	char *big, *text;
	size_t n;

	(void)state;
	/* anchors, aliases and merge keys as kubectl reads them */
	p = put("anchors.yaml",
		"base: &base {server: https://anchored, tls-server-name: s}\n"
		"clusters:\n"
		"- name: c\n"
		"  cluster:\n"
		"    <<: *base\n"
		"    server: https://explicit-wins\n"
		"- name: d\n"
		"  cluster: *base\n"
		"users:\n"
		"- {name: &uname u, user: {token: &tok secret}}\n"
		"- {name: v, user: {token: *tok}}\n"
		"contexts:\n"
		"- {name: x, context: {cluster: c, user: *uname}}\n"
		"- {name: y, context: {cluster: d, user: v}}\n"
		"current-context: x\n");
	k = load_ok(p, NULL, NULL);
	assert_string_equal(k->server, "https://explicit-wins");
	assert_string_equal(k->tls_server_name, "s");
	assert_string_equal(k->token, "secret");
	tc_kcfg_free(k);
	k = load_ok(p, "y", NULL);
	assert_string_equal(k->server, "https://anchored");
	assert_string_equal(k->token, "secret");
	tc_kcfg_free(k);

	/* billion laughs: small on disk, refused by its expanded size */
	p = put("bomb.yaml",
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n");
	load_err(p, NULL, NULL, "bomb.yaml: line 5 col ",
		 "more than 100000 YAML nodes", NULL);
	p = put("undef.yaml", "a: *nothing\n");
	load_err(p, NULL, NULL, "line 1 col 4: alias *nothing names no anchor",
		 NULL);
	p = put("self.yaml", "a: &x [1, *x]\n");
	load_err(p, NULL, NULL, "alias *x names no anchor", NULL);
	p = put("deep.yaml", "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
			     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
			     "[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
			     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
			     "]]]]]]]]]]]]]]]]]]]]]]]\n");
	load_err(p, NULL, NULL, "nested deeper than 100 levels", NULL);
	p = put("key.yaml", "? [a]\n: b\n");
	load_err(p, NULL, NULL, "line 1 col 3: a mapping key must be a string",
		 NULL);

	/* over 4 MB: refused before parsing */
	n = (4u << 20) + 16;
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, '#', n);
	big[n] = '\0';
	p = put("big.yaml", big);
	load_err(p, NULL, NULL, "big.yaml: larger than 4 MB", NULL);
	free(big);

	/* 100000 plain nodes is fine, one more is not */
	text = malloc(100000 * 4 + 64);
	assert_non_null(text);
	n = (size_t)sprintf(text, "x: [");
	for (int i = 0; i < 99996; i++)
		n += (size_t)sprintf(text + n, "1,");
	sprintf(text + n, "1]\n");
	p = put("many.yaml", text); /* map + key + list + 99997 items */
	load_err(p, NULL, NULL, "no current-context", NULL);
	sprintf(text + n, "1,1]\n");
	p = put("toomany.yaml", text);
	load_err(p, NULL, NULL, "more than 100000 YAML nodes", NULL);
	free(text);
}

/* ---- tokens ------------------------------------------------------------ */

static void test_token_file(void **state)
{
	struct tc_kcfg *k;
	struct tc_error e;
	const char *p;

	(void)state;
	put("cfg/tokens/t", "from-file\n\n");
	p = simple("cfg/config", "    token: inline\n"
				 "    tokenFile: tokens/t\n");
	k = load_ok(p, NULL, NULL);
	assert_string_equal(k->token, "from-file");
	assert_string_equal(k->token_file, at("cfg/tokens/t"));
	/* unchanged, changed, unchanged */
	assert_int_equal(tc_kcfg_reload_token(k, &e), 1);
	put("cfg/tokens/t", "rotated \r\n");
	assert_int_equal(tc_kcfg_reload_token(k, &e), 0);
	assert_string_equal(k->token, "rotated");
	assert_int_equal(tc_kcfg_reload_token(k, &e), 1);
	/* gone or empty: an error, the old token kept */
	assert_int_equal(unlink(at("cfg/tokens/t")), 0);
	assert_int_equal(tc_kcfg_reload_token(k, &e), TC_ERR_BACKEND);
	assert_non_null(strstr(e.msg, "cfg/tokens/t"));
	put("cfg/tokens/t", " \n");
	assert_true(tc_kcfg_reload_token(k, &e) < 0);
	assert_non_null(strstr(e.msg, "is empty"));
	assert_string_equal(k->token, "rotated");
	tc_kcfg_free(k);

	/* an unreadable tokenFile: the inline token covers for it... */
	assert_int_equal(unlink(at("cfg/tokens/t")), 0);
	k = load_ok(p, NULL, NULL);
	assert_string_equal(k->token, "inline");
	tc_kcfg_free(k);
	/* ...and without one it is an error naming the file */
	p = simple("cfg/config2", "    tokenFile: tokens/t\n");
	load_err(p, NULL, NULL, "user 'u': tokenFile: cannot read the token "
				"file ",
		 "cfg/tokens/t", NULL);

	/* basic auth fields pass through */
	p = simple("basic.yaml", "    username: me\n    password: pw\n");
	k = load_ok(p, NULL, NULL);
	assert_string_equal(k->username, "me");
	assert_string_equal(k->password, "pw");
	assert_null(k->token);
	assert_int_equal(tc_kcfg_reload_token(k, &e), 1);
	tc_kcfg_free(k);
}

/* ---- in-cluster -------------------------------------------------------- */

static void test_in_cluster(void **state)
{
	struct tc_kcfg *k;
	struct tc_error e;

	(void)state;
	put("sa/token", "sa-token\n");
	put("sa/ca.crt", CA_PEM);
	put("sa/namespace", "team-ns\n");
	setenv("TRAINCTL_SA_DIR", at("sa"), 1);

	/* without the service variables: no configuration at all */
	load_err(NULL, NULL, NULL, "no kubeconfig found", NULL);

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	k = load_ok(NULL, NULL, NULL);
	assert_string_equal(k->source, "in-cluster");
	assert_string_equal(k->server, "https://10.96.0.1:443");
	assert_string_equal(k->token, "sa-token");
	assert_string_equal(k->token_file, at("sa/token"));
	assert_string_equal(k->ca_file, at("sa/ca.crt"));
	assert_string_equal(k->namespace, "team-ns");
	assert_null(k->context);
	assert_null(k->cluster);
	assert_null(k->user);
	/* the projected token rotates */
	put("sa/token", "sa-token-2");
	assert_int_equal(tc_kcfg_reload_token(k, &e), 0);
	assert_string_equal(k->token, "sa-token-2");
	tc_kcfg_free(k);

	k = load_ok(NULL, NULL, "asked");
	assert_string_equal(k->namespace, "asked");
	tc_kcfg_free(k);

	setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
	assert_int_equal(unlink(at("sa/namespace")), 0);
	assert_int_equal(unlink(at("sa/ca.crt")), 0);
	k = load_ok(NULL, NULL, NULL);
	assert_string_equal(k->server, "https://[fd00:10:96::1]:443");
	assert_string_equal(k->namespace, "default");
	assert_null(k->ca_file);
	tc_kcfg_free(k);

	/* $KUBECONFIG naming only missing files falls back the same way */
	setenv("KUBECONFIG", at("missing.yaml"), 1);
	k = load_ok(NULL, NULL, NULL);
	assert_string_equal(k->source, "in-cluster");
	tc_kcfg_free(k);
	unsetenv("KUBECONFIG");

	/* no contexts in-cluster */
	load_err(NULL, "prod", NULL, "context 'prod' not found", NULL);

	/* a kubeconfig file, when there is one, comes first */
	simple("home/.kube/config", "    token: file\n");
	k = load_ok(NULL, NULL, NULL);
	assert_string_equal(k->token, "file");
	tc_kcfg_free(k);
	assert_int_equal(unlink(at("home/.kube/config")), 0);

	/* no token: not in a pod after all */
	assert_int_equal(unlink(at("sa/token")), 0);
	load_err(NULL, NULL, NULL, "no kubeconfig found",
		 "no service account token", NULL);
}

/* ---- exec plugins ------------------------------------------------------- */

/* The plugin's side of things: KUBERNETES_EXEC_INFO and stdin saved,
 * args and env echoed into the token, the expiry from the environment. */
#define PLUGIN_SH                                                          \
	"#!/bin/sh\n"                                                      \
	"printf '%%s' \"$KUBERNETES_EXEC_INFO\" > \"$OUT_DIR/info.json\"\n" \
	"cat > \"$OUT_DIR/stdin.txt\"\n"                                   \
	"printf '{\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","      \
	"\"status\":{\"token\":\"tok-%%s-%%s-%%s-%%s\","                   \
	"\"expirationTimestamp\":\"%%s\"}}\\n' \"$1\" \"$2\" \"$MY_VAR\" " \
	"\"$TC_TEST_FROM_ENVIRON\" \"$EXPIRY\"\n"

static const char *exec_user(const char *rel, const char *command,
			     const char *api, const char *extra)
{
	char user[4096];

	snprintf(user, sizeof(user),
		 "    exec:\n"
		 "      apiVersion: %s\n"
		 "      command: %s\n"
		 "      args: [a1, \"two words\"]\n"
		 "      env:\n"
		 "      - {name: MY_VAR, value: v1}\n"
		 "      - {name: OUT_DIR, value: %s}\n"
		 "      - {name: EXPIRY, value: \"2030-01-02T03:04:05Z\"}\n"
		 "      - {name: TC_TEST_FROM_ENVIRON, value: replaced}\n"
		 "      installHint: install it with 'brew install kplugin'\n"
		 "%s",
		 api, command, g_dir, extra ? extra : "");
	return simple(rel, user);
}

static void test_exec_token(void **state)
{
	char script[1024];
	struct tc_kcfg *k;
	struct tc_error e;
	json_t *info;
	char *stdin_text;
	const char *p;

	(void)state;
	snprintf(script, sizeof(script), PLUGIN_SH,
		 "client.authentication.k8s.io/v1");
	put_exec("cfg/bin/plugin.sh", script);
	setenv("TC_TEST_FROM_ENVIRON", "environ", 1);
	p = exec_user("cfg/config", "./bin/plugin.sh",
		      "client.authentication.k8s.io/v1", NULL);
	k = load_ok(p, NULL, NULL);
	assert_string_equal(k->exec.command, "./bin/plugin.sh");
	assert_string_equal(k->exec.args[0], "a1");
	assert_string_equal(k->exec.args[1], "two words");
	assert_null(k->exec.args[2]);
	assert_string_equal(k->exec.env[0], "MY_VAR=v1");
	assert_string_equal(k->exec.base_dir, at("cfg"));
	assert_string_equal(k->exec.install_hint,
			    "install it with 'brew install kplugin'");
	assert_null(k->token);
	assert_int_equal(tc_kcfg_exec_credential(k, &e), 0);
	assert_string_equal(k->token, "tok-a1-two words-v1-replaced");
	assert_true(k->cred_expiry == utc(2030, 1, 2, 3, 4, 5));

	info = json_load_file(at("info.json"), 0, NULL);
	assert_non_null(info);
	assert_string_equal(json_string_value(json_object_get(info,
							       "apiVersion")),
			    "client.authentication.k8s.io/v1");
	assert_string_equal(json_string_value(json_object_get(info, "kind")),
			    "ExecCredential");
	assert_true(json_is_false(json_object_get(
		json_object_get(info, "spec"), "interactive")));
	assert_null(json_object_get(json_object_get(info, "spec"),
				    "cluster"));
	json_decref(info);
	stdin_text = slurp(at("stdin.txt"));
	assert_string_equal(stdin_text, ""); /* /dev/null */
	free(stdin_text);

	/* run again: a new expiry (with a fraction and an offset) */
	free(k->exec.env[2]);
	k->exec.env[2] = strdup("EXPIRY=2030-01-02T05:04:05.5+02:00");
	assert_int_equal(tc_kcfg_exec_credential(k, &e), 0);
	assert_true(k->cred_expiry == utc(2030, 1, 2, 3, 4, 5) + 0.5);
	/* no expiry: 0 */
	free(k->exec.env[2]);
	k->exec.env[2] = strdup("EXPIRY=");
	assert_int_equal(tc_kcfg_exec_credential(k, &e), 0);
	assert_true(k->cred_expiry == 0);
	/* a bad one is an error */
	free(k->exec.env[2]);
	k->exec.env[2] = strdup("EXPIRY=tomorrow");
	assert_int_equal(tc_kcfg_exec_credential(k, &e), TC_ERR_BACKEND);
	assert_non_null(strstr(e.msg, "expirationTimestamp 'tomorrow'"));
	tc_kcfg_free(k);

	/* a bare name is looked up in PATH; v1beta1 */
	snprintf(script, sizeof(script), PLUGIN_SH,
		 "client.authentication.k8s.io/v1beta1");
	put_exec("pathbin/kplugin-test", script);
	{
		char path[2 * PATH_MAX];

		snprintf(path, sizeof(path), "%s:%s", at("pathbin"), g_path0);
		setenv("PATH", path, 1);
	}
	p = exec_user("beta.yaml", "kplugin-test",
		      "client.authentication.k8s.io/v1beta1",
		      "      provideClusterInfo: true\n");
	k = load_ok(p, NULL, NULL);
	assert_int_equal(k->exec.provide_cluster_info, 1);
	assert_int_equal(tc_kcfg_exec_credential(k, &e), 0);
	assert_string_equal(k->token, "tok-a1-two words-v1-replaced");
	info = json_load_file(at("info.json"), 0, NULL);
	assert_non_null(info);
	assert_string_equal(json_string_value(json_object_get(info,
							       "apiVersion")),
			    "client.authentication.k8s.io/v1beta1");
	assert_true(json_is_false(json_object_get(
		json_object_get(info, "spec"), "interactive")));
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(info, "spec"),
					"cluster"),
			"server")),
		"https://127.0.0.1:6443");
	json_decref(info);
	tc_kcfg_free(k);

	/* the plugin answers in another version than asked for */
	p = exec_user("mismatch.yaml", "kplugin-test",
		      "client.authentication.k8s.io/v1", NULL);
	k = load_ok(p, NULL, NULL);
	assert_int_equal(tc_kcfg_exec_credential(k, &e), TC_ERR_BACKEND);
	assert_non_null(strstr(e.msg, "apiVersion"));
	assert_non_null(strstr(e.msg, "v1beta1"));
	tc_kcfg_free(k);

	/* no plugin: nothing to do */
	p = simple("plain.yaml", "    token: t\n");
	k = load_ok(p, NULL, NULL);
	assert_int_equal(tc_kcfg_exec_credential(k, &e), 0);
	assert_string_equal(k->token, "t");
	tc_kcfg_free(k);
}

static void test_exec_cert(void **state)
{
	struct tc_kcfg *k;
	struct tc_error e;
	const char *p;

	(void)state;
	put_exec("bin/certplugin",
		 "#!/bin/sh\n"
		 "cat <<'EOF'\n"
		 "{\"apiVersion\": \"client.authentication.k8s.io/v1\",\n"
		 " \"kind\": \"ExecCredential\",\n"
		 " \"status\": {\n"
		 "  \"clientCertificateData\": \"-----BEGIN CERTIFICATE-----"
		 "\\nMIIBdB==\\n-----END CERTIFICATE-----\\n\",\n"
		 "  \"clientKeyData\": \"-----BEGIN PRIVATE KEY-----"
		 "\\nMIIEvQ==\\n-----END PRIVATE KEY-----\\n\",\n"
		 "  \"expirationTimestamp\": \"2031-05-06T07:08:09Z\"}}\n"
		 "EOF\n");
	p = simple("certs.yaml", "    client-certificate: old.crt\n"
				 "    client-key: old.key\n"
				 "    exec:\n"
				 "      apiVersion: client.authentication.k8s.io/v1\n"
				 "      command: bin/certplugin\n");
	k = load_ok(p, NULL, NULL);
	assert_non_null(k->cert_file);
	assert_null(k->exec.args[0]);
	assert_null(k->exec.env[0]);
	assert_int_equal(tc_kcfg_exec_credential(k, &e), 0);
	assert_string_equal(k->cert_pem, CRT_PEM);
	assert_int_equal(k->cert_pem_len, strlen(CRT_PEM));
	assert_string_equal(k->key_pem, KEY_PEM);
	assert_int_equal(k->key_pem_len, strlen(KEY_PEM));
	assert_null(k->cert_file);
	assert_null(k->key_file);
	assert_null(k->token);
	assert_true(k->cred_expiry == utc(2031, 5, 6, 7, 8, 9));
	tc_kcfg_free(k);
}

/* cmd (a script body) must make tc_kcfg_exec_credential() fail with every
 * one of the NULL-terminated substrings. */
static void exec_fails(const char *body, ...)
{
	struct tc_kcfg *k;
	struct tc_error e;
	const char *p, *sub;
	va_list ap;

	put_exec("bin/bad", body);
	p = simple("bad.yaml",
		   "    exec:\n"
		   "      apiVersion: client.authentication.k8s.io/v1\n"
		   "      command: bin/bad\n"
		   "      installHint: see https://example.org/kplugin\n");
	k = load_ok(p, NULL, NULL);
	assert_int_equal(tc_kcfg_exec_credential(k, &e), TC_ERR_BACKEND);
	va_start(ap, body);
	while ((sub = va_arg(ap, const char *)))
		if (!strstr(e.msg, sub))
			fail_msg("expected '%s' in: %s", sub, e.msg);
	va_end(ap);
	assert_null(k->token);
	tc_kcfg_free(k);
}

static void test_exec_failures(void **state)
{
	struct tc_kcfg *k;
	struct tc_error e;
	double t0;
	const char *p;

	(void)state;
	exec_fails("#!/bin/sh\necho 'login first' >&2\nexit 1\n",
		   "user 'u': the exec plugin bin/bad exited with status 1",
		   "see https://example.org/kplugin", NULL);
	exec_fails("#!/bin/sh\nexit 7\n", "status 7", NULL);
	exec_fails("#!/bin/sh\nkill -9 $$\n", "killed by signal 9", NULL);
	exec_fails("#!/bin/sh\necho hello world\n",
		   "did not print an ExecCredential (not JSON", NULL);
	exec_fails("#!/bin/sh\necho '[1,2]'\n", "not an ExecCredential", NULL);
	exec_fails("#!/bin/sh\necho '{\"kind\":\"Status\"}'\n",
		   "printed kind 'Status', not ExecCredential", NULL);
	exec_fails("#!/bin/sh\necho '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		   "\"client.authentication.k8s.io/v1\"}'\n",
		   "without a status", NULL);
	exec_fails("#!/bin/sh\necho '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		   "\"client.authentication.k8s.io/v1\",\"status\":{}}'\n",
		   "neither a token nor a client certificate", NULL);
	exec_fails("#!/bin/sh\necho '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		   "\"client.authentication.k8s.io/v1\",\"status\":"
		   "{\"clientCertificateData\":\"x\"}}'\n",
		   "clientCertificateData without clientKeyData", NULL);
	exec_fails("#!/bin/sh\necho '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		   "\"client.authentication.k8s.io/v1\",\"status\":"
		   "{\"token\":5}}'\n",
		   "status.token is not a string", NULL);
	/* more than 1 MB of output */
	exec_fails("#!/bin/sh\nhead -c 2000000 /dev/zero\n",
		   "printed more than 1 MB", NULL);

	/* a plugin that does not exist */
	p = simple("missing.yaml",
		   "    exec:\n"
		   "      apiVersion: client.authentication.k8s.io/v1\n"
		   "      command: no-such-plugin-anywhere\n"
		   "      installHint: install no-such-plugin\n");
	k = load_ok(p, NULL, NULL);
	assert_int_equal(tc_kcfg_exec_credential(k, &e), TC_ERR_BACKEND);
	assert_non_null(strstr(e.msg, "no-such-plugin-anywhere cannot be "
				      "run: not found in PATH"));
	assert_non_null(strstr(e.msg, "install no-such-plugin"));
	tc_kcfg_free(k);

	/* a path that is not there, or not executable */
	p = simple("relmissing.yaml",
		   "    exec:\n"
		   "      apiVersion: client.authentication.k8s.io/v1\n"
		   "      command: bin/absent\n");
	k = load_ok(p, NULL, NULL);
	assert_int_equal(tc_kcfg_exec_credential(k, &e), TC_ERR_BACKEND);
	assert_non_null(strstr(e.msg, "the exec plugin bin/absent cannot be "
				      "run: No such file or directory"));
	put("bin/absent", "#!/bin/sh\necho hi\n"); /* mode 0644 */
	assert_int_equal(tc_kcfg_exec_credential(k, &e), TC_ERR_BACKEND);
	assert_non_null(strstr(e.msg, "Permission denied"));
	tc_kcfg_free(k);

	/* one that never answers is killed at the deadline */
	setenv("TRAINCTL_EXEC_TIMEOUT", "0.5", 1);
	t0 = tc_mono();
	exec_fails("#!/bin/sh\nexec sleep 30\n", "did not finish within 0.5 s",
		   "see https://example.org/kplugin", NULL);
	assert_true(tc_mono() - t0 < 20);

	/* kubeconfig-side mistakes are load errors */
	p = simple("noapi.yaml", "    exec: {command: x}\n");
	load_err(p, NULL, NULL, "user 'u': exec has no apiVersion", NULL);
	p = simple("oldapi.yaml", "    exec: {command: x, apiVersion: "
				  "client.authentication.k8s.io/v1alpha1}\n");
	load_err(p, NULL, NULL, "v1alpha1 is not supported", NULL);
	p = simple("nocmd.yaml", "    exec: {apiVersion: "
				 "client.authentication.k8s.io/v1}\n");
	load_err(p, NULL, NULL, "exec has no command", NULL);
	p = simple("badenv.yaml", "    exec: {command: x, apiVersion: "
				  "client.authentication.k8s.io/v1, env: "
				  "[{value: v}]}\n");
	load_err(p, NULL, NULL, "exec env[0] needs a name", NULL);
	p = simple("badargs.yaml", "    exec: {command: x, apiVersion: "
				   "client.authentication.k8s.io/v1, args: "
				   "[[1]]}\n");
	load_err(p, NULL, NULL, "exec args[0] must be a string", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_inline_data, setup),
		cmocka_unit_test_setup(test_file_paths, setup),
		cmocka_unit_test_setup(test_test_cluster_format, setup),
		cmocka_unit_test_setup(test_merge, setup),
		cmocka_unit_test_setup(test_missing_files, setup),
		cmocka_unit_test_setup(test_home, setup),
		cmocka_unit_test_setup(test_context_namespace, setup),
		cmocka_unit_test_setup(test_context_errors, setup),
		cmocka_unit_test_setup(test_yaml_errors, setup),
		cmocka_unit_test_setup(test_aliases_and_limits, setup),
		cmocka_unit_test_setup(test_token_file, setup),
		cmocka_unit_test_setup(test_in_cluster, setup),
		cmocka_unit_test_setup(test_exec_token, setup),
		cmocka_unit_test_setup(test_exec_cert, setup),
		cmocka_unit_test_setup(test_exec_failures, setup),
	};
	char tmpl[] = "/tmp/tc-kcfg-XXXXXX";
	const char *path = getenv("PATH");
	int rc;

	if (!mkdtemp(tmpl) || !getcwd(g_cwd, sizeof(g_cwd)))
		return 1;
	snprintf(g_dir, sizeof(g_dir), "%s", tmpl);
	g_path0 = strdup(path ? path : "/usr/bin:/bin");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	nftw(g_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(g_path0);
	return rc;
}
