/*
 * kubeconfig.c — kubeconfig files (or the pod's service account) to a
 * struct tc_kcfg, the way kubectl resolves them; and the two ways a
 * credential is renewed: an exec plugin, a token file (see kubeconfig.h).
 *
 * The steps of tc_kcfg_load():
 *
 *   1. which files: the explicit one alone (it must exist); else the
 *      $KUBECONFIG list (missing files skipped); else ~/.kube/config; when
 *      none exists, the in-cluster service account, else an error;
 *   2. each file (at most 4 MB) goes through util/yaml.h's converter
 *      into a jansson tree (aliases, nesting and anchors bounded; merge
 *      keys as kubectl reads them; every scalar a string or null);
 *   3. the merge is done at lookup time: a name is searched file by file
 *      in order, the first file that has it wins; inside one file the last
 *      entry of that name wins (kubectl turns each file's list into a map
 *      before merging the maps);
 *   4. the context picks a cluster and a user; relative paths are joined to
 *      the directory of the file that held the entry; *-data is decoded.
 *
 * Every string of a struct tc_kcfg is its own malloc'd block (the client
 * copies them and tc_kcfg_exec_credential() replaces some); all of them are
 * freed by tc_kcfg_free().  A failed load frees everything it made.
 */
#include "k8s/kubeconfig.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "util/clock.h"
#include "util/fsutil.h"
#include "util/spawn.h"
#include "util/yaml.h"

extern char **environ;

#define KCFG_MAX_BYTES (4u << 20)  /* a kubeconfig file */
#define KCFG_MAX_NODES 100000      /* YAML nodes once aliases are expanded */
#define KCFG_MAX_DEPTH 100         /* YAML nesting */
#define KCFG_MAX_ANCHORS 1000      /* &anchors in a file */
#define TOKEN_MAX_BYTES (1u << 20) /* a token or CA file read here */
#define EXEC_MAX_OUTPUT (1u << 20) /* what an exec plugin may print */
#define EXEC_TIMEOUT 60.0          /* seconds an exec plugin may take */

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define EXEC_V1 "client.authentication.k8s.io/v1"
#define EXEC_V1BETA1 "client.authentication.k8s.io/v1beta1"
#define NO_CONFIG                                                          \
	"no kubeconfig found: set KUBECONFIG, use --kubeconfig, or create " \
	"~/.kube/config"

static int nomem(struct tc_error *err)
{
	return tc_error_set(err, TC_ERR_NOMEM,
			    "out of memory while reading the kubeconfig");
}

/* ------------------------------------------------------------------ */
/* YAML to JSON                                                         */
/* ------------------------------------------------------------------ */

/* text (len bytes) to *out: the first document as JSON (util/yaml.h),
 * NULL when the stream has none. */
static int yaml_to_json(const char *path, const char *text, size_t len,
			json_t **out, struct tc_error *err)
{
	const struct tc_yaml_opts o = {.max_depth = KCFG_MAX_DEPTH,
				       .max_nodes = KCFG_MAX_NODES,
				       .max_anchors = KCFG_MAX_ANCHORS,
				       .merge_keys = 1,
				       .node_index = -1};
	struct tc_yaml_fail f;
	char what[1100];

	switch (tc_yaml_to_json(text, len, &o, out, &f)) {
	case TC_YAML_OK:
		return 0;
	case TC_YAML_NOMEM:
		return nomem(err);
	case TC_YAML_READER:
		return tc_error_set(err, TC_ERR_BACKEND,
				    "kubeconfig %s: byte %zu: %s (is it UTF-8 "
				    "text?)",
				    path, f.offset, f.what);
	case TC_YAML_SYNTAX:
		if (f.context[0])
			return tc_error_set(err, TC_ERR_BACKEND,
					    "kubeconfig %s: line %d col %d: %s "
					    "(%s at line %d col %d)",
					    path, f.line, f.col, f.what,
					    f.context, f.context_line,
					    f.context_col);
		snprintf(what, sizeof(what), "%s", f.what);
		break;
	case TC_YAML_DEPTH:
		snprintf(what, sizeof(what), "nested deeper than %d levels",
			 KCFG_MAX_DEPTH);
		break;
	case TC_YAML_NODES:
		snprintf(what, sizeof(what),
			 "more than %d YAML nodes once aliases are expanded; "
			 "a kubeconfig is far smaller",
			 KCFG_MAX_NODES);
		break;
	case TC_YAML_ANCHORS:
		snprintf(what, sizeof(what), "more than %d anchors (&name)",
			 KCFG_MAX_ANCHORS);
		break;
	case TC_YAML_UNDEFINED:
	case TC_YAML_SELF:
		snprintf(what, sizeof(what),
			 "alias *%s names no anchor defined before it", f.what);
		break;
	case TC_YAML_KEY:
		snprintf(what, sizeof(what), "a mapping key must be a string%s%s",
			 f.what[0] ? ", not a " : "", f.what);
		break;
	case TC_YAML_DUPLICATE: /* not asked for: the last key wins */
	case TC_YAML_MERGE:
		snprintf(what, sizeof(what),
			 "<< merges a mapping or a list of mappings");
		break;
	case TC_YAML_HOOK:
	default:
		snprintf(what, sizeof(what), "%s", f.what);
		break;
	}
	return tc_error_set(err, TC_ERR_BACKEND,
			    "kubeconfig %s: line %d col %d: %s", path, f.line,
			    f.col, what);
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

static int is_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	       ch == '\f' || ch == '\v';
}

/* Standard base64 (padding optional, white space anywhere ignored) to a
 * malloc'd NUL-terminated buffer, decoded by OpenSSL.  0, -1 when it is not
 * base64, -2 when out of memory. */
static int b64_decode(const char *s, size_t n, char **out, size_t *outlen)
{
	char *clean = malloc(n + 3);
	unsigned char *b = NULL;
	size_t m = 0, pad = 0;
	int got;

	*out = NULL;
	*outlen = 0;
	if (!clean)
		return -2;
	for (size_t i = 0; i < n; i++)
		if (!is_space((unsigned char)s[i]))
			clean[m++] = s[i];
	while (pad < m && clean[m - 1 - pad] == '=')
		pad++;
	if (pad > 2 || (m - pad) % 4 == 1 || (pad && m % 4) || m > INT_MAX - 3)
		goto bad;
	/* OpenSSL wants whole quanta: pad what the writer left off */
	while (m % 4)
		clean[m++] = '=', pad++;
	if (!(b = malloc(m / 4 * 3 + 1))) {
		free(clean);
		return -2;
	}
	got = m ? EVP_DecodeBlock(b, (const unsigned char *)clean, (int)m) : 0;
	if (got < 0 || (size_t)got < pad)
		goto bad;
	/* (EVP_DecodeBlock counts padding as zero bytes, and lets '=' stand
	 * inside a quantum: the text must have had none before its end) */
	for (size_t i = 0; i + pad < m; i++)
		if (clean[i] == '=')
			goto bad;
	free(clean);
	b[got - pad] = '\0';
	*out = (char *)b;
	*outlen = (size_t)got - pad;
	return 0;
bad:
	free(clean);
	free(b);
	return -1;
}

static char *b64_encode(const char *data, size_t n)
{
	char *out;

	if (n > INT_MAX / 2)
		return NULL;
	out = malloc(4 * ((n + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out,
				(const unsigned char *)data, (int)n);
	return out;
}

static void rtrim(char *s, size_t *len)
{
	size_t n = strlen(s);

	while (n > 0 && is_space((unsigned char)s[n - 1]))
		s[--n] = '\0';
	if (len)
		*len = n;
}

/* A token file: trimmed, not empty.  0 or an error (the file named). */
static int read_token(const char *path, char **out, struct tc_error *err)
{
	char *t;
	size_t n;

	*out = NULL;
	if (tc_read_file(path, TOKEN_MAX_BYTES, &t, &n) != 0)
		return tc_error_set(err, TC_ERR_BACKEND,
				    "cannot read the token file %s: %s", path,
				    strerror(errno));
	rtrim(t, &n);
	if (n == 0) {
		free(t);
		return tc_error_set(err, TC_ERR_BACKEND,
				    "the token file %s is empty", path);
	}
	*out = t;
	return 0;
}

static char *join_path(const char *dir, const char *p)
{
	char *s;

	if (p[0] == '/' || !dir)
		return strdup(p);
	if (asprintf(&s, "%s/%s", dir, p) < 0)
		return NULL;
	return s;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

/* ------------------------------------------------------------------ */
/* Files                                                                */
/* ------------------------------------------------------------------ */

struct kfile {
	char *path;
	char *dir;    /* absolute directory, for relative paths */
	json_t *root; /* an object, or NULL for an empty file */
};

/* One load. */
struct ld {
	struct kfile *f;
	size_t n, cap;
	char *source; /* the files read, ':'-separated */
	struct tc_error *err;
};

static int file_err(struct ld *L, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int file_err(struct ld *L, const char *path, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tc_error_set(L->err, TC_ERR_BACKEND, "kubeconfig %s: %s", path,
			    what);
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
	case JSON_INTEGER:
	case JSON_REAL:
		return "a string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

/* The shape kubectl insists on: lists of named mappings. */
static int check_shape(struct ld *L, const char *path, json_t *root)
{
	static const char *const lists[][2] = {
		{"clusters", "cluster"},
		{"users", "user"},
		{"contexts", "context"},
	};
	json_t *cc = json_object_get(root, "current-context");

	if (cc && !json_is_string(cc) && !json_is_null(cc))
		return file_err(L, path, "current-context must be a string, "
					 "not %s", json_kind(cc));
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		json_t *arr = json_object_get(root, lists[i][0]), *e;
		size_t j;

		if (!arr || json_is_null(arr))
			continue;
		if (!json_is_array(arr))
			return file_err(L, path, "%s must be a list, not %s",
					lists[i][0], json_kind(arr));
		json_array_foreach(arr, j, e) {
			json_t *name = json_object_get(e, "name");
			json_t *in = json_object_get(e, lists[i][1]);

			if (!json_is_object(e))
				return file_err(L, path,
						"%s[%zu] must be a mapping, "
						"not %s",
						lists[i][0], j, json_kind(e));
			if (name && !json_is_string(name))
				return file_err(L, path,
						"%s[%zu].name must be a "
						"string, not %s",
						lists[i][0], j,
						json_kind(name));
			if (in && !json_is_object(in) && !json_is_null(in))
				return file_err(L, path,
						"%s[%zu].%s must be a mapping, "
						"not %s",
						lists[i][0], j, lists[i][1],
						json_kind(in));
		}
	}
	return 0;
}

/* Read and parse one file.  0 when added, 1 when it does not exist and
 * need not, or an error. */
static int load_file(struct ld *L, const char *path, int must_exist)
{
	struct kfile *f;
	char *text;
	size_t len;
	json_t *root = NULL;
	int rc;

	if (tc_read_file(path, KCFG_MAX_BYTES, &text, &len) != 0) {
		if (errno == ENOENT && !must_exist)
			return 1;
		if (errno == EFBIG)
			return file_err(L, path,
					"larger than 4 MB; is it a "
					"kubeconfig?");
		if (errno == ENOMEM)
			return nomem(L->err);
		return file_err(L, path, "cannot read it: %s",
				strerror(errno));
	}
	rc = yaml_to_json(path, text, len, &root, L->err);
	free(text);
	if (rc)
		return rc;
	if (json_is_null(root)) {
		json_decref(root);
		root = NULL;
	}
	if (root && !json_is_object(root)) {
		rc = file_err(L, path,
			      "not a kubeconfig: the top level is %s, not a "
			      "mapping",
			      json_kind(root));
		json_decref(root);
		return rc;
	}
	if (root && (rc = check_shape(L, path, root))) {
		json_decref(root);
		return rc;
	}
	if (L->n == L->cap) {
		size_t cap = L->cap ? 2 * L->cap : 4;

		f = realloc(L->f, cap * sizeof(*f));
		if (!f) {
			json_decref(root);
			return nomem(L->err);
		}
		L->f = f;
		L->cap = cap;
	}
	f = &L->f[L->n];
	f->root = root;
	f->path = strdup(path);
	f->dir = tc_dirname_abs(path);
	L->n++; /* so that ld_free() frees what is there */
	if (!f->path || !f->dir)
		return nomem(L->err);
	return 0;
}

/* $KUBECONFIG: ':'-separated, empty entries and repeats skipped. */
static int load_list(struct ld *L, const char *list)
{
	char *copy = strdup(list), *save = NULL, *p;
	char **seen;
	size_t nseen = 0;
	int rc = 0;

	if (!copy)
		return nomem(L->err);
	seen = calloc(strlen(list) / 2 + 2, sizeof(*seen));
	if (!seen) {
		free(copy);
		return nomem(L->err);
	}
	for (p = strtok_r(copy, ":", &save); p && !rc;
	     p = strtok_r(NULL, ":", &save)) {
		size_t i;

		for (i = 0; i < nseen && strcmp(seen[i], p); i++)
			;
		if (i < nseen)
			continue;
		seen[nseen++] = p;
		rc = load_file(L, p, 0);
		if (rc > 0)
			rc = 0;
	}
	free(seen);
	free(copy);
	return rc;
}

static void ld_free(struct ld *L)
{
	for (size_t i = 0; i < L->n; i++) {
		free(L->f[i].path);
		free(L->f[i].dir);
		json_decref(L->f[i].root);
	}
	free(L->f);
	free(L->source);
}

/* ------------------------------------------------------------------ */
/* Lookup and resolution                                                */
/* ------------------------------------------------------------------ */

/* The entry called name in a list ("clusters"): the first file that has one
 * wins; inside that file, the last.  *fi is the file. */
static json_t *find_entry(const struct ld *L, const char *list,
			  const char *name, size_t *fi)
{
	for (size_t i = 0; i < L->n; i++) {
		json_t *arr = json_object_get(L->f[i].root, list);
		size_t j = json_array_size(arr);

		while (j-- > 0) {
			json_t *e = json_array_get(arr, j);
			const char *n = json_string_value(
				json_object_get(e, "name"));

			if (n && !strcmp(n, name)) {
				*fi = i;
				return e;
			}
		}
	}
	return NULL;
}

/* "a, b, c" (first appearances, in file order) for messages; "none". */
static void list_names(const struct ld *L, const char *list, char *buf,
		       size_t len)
{
	size_t used = 0;
	int any = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < L->n; i++) {
		json_t *arr = json_object_get(L->f[i].root, list), *e;
		size_t j;

		json_array_foreach(arr, j, e) {
			const char *n = json_string_value(
				json_object_get(e, "name"));
			size_t fi;
			int w;

			if (!n || !n[0] || find_entry(L, list, n, &fi) != e)
				continue; /* shadowed: listed once */
			if (used + strlen(n) + 8 > len) {
				snprintf(buf + used, len - used, ", ...");
				return;
			}
			w = snprintf(buf + used, len - used, "%s%s",
				     any ? ", " : "", n);
			used += (size_t)w;
			any = 1;
		}
	}
	if (!any)
		snprintf(buf, len, "none");
}

/* obj[key] as a string: *out NULL when absent, null or empty. */
static int get_str(struct ld *L, size_t fi, const char *where, json_t *obj,
		   const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return file_err(L, L->f[fi].path, "%s: %s must be a string, "
						  "not %s",
				where, key, json_kind(v));
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return file_err(L, L->f[fi].path,
				"%s: %s contains a NUL character", where, key);
	if (s[0])
		*out = s;
	return 0;
}

/* obj[key] as a boolean, in any spelling YAML 1.1 allows (kubectl's
 * parser reads yes/no/on/off/y/n too); absent or null is false. */
static int get_bool(struct ld *L, size_t fi, const char *where, json_t *obj,
		    const char *key, int *out)
{
	static const char *const trues[] = {"true", "True", "TRUE", "yes",
					    "Yes",  "YES",  "on",   "On",
					    "ON",   "y",    "Y",    NULL};
	static const char *const falses[] = {"false", "False", "FALSE", "no",
					     "No",    "NO",    "off",   "Off",
					     "OFF",   "n",     "N",     NULL};
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	for (size_t i = 0; s && trues[i]; i++) {
		if (!strcmp(s, trues[i])) {
			*out = 1;
			return 0;
		}
		if (!strcmp(s, falses[i]))
			return 0;
	}
	return file_err(L, L->f[fi].path, "%s: %s must be true or false",
			where, key);
}

static int dup_to(struct ld *L, char **dst, const char *s)
{
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : nomem(L->err);
}

/* A file path relative to the file that named it. */
static int path_to(struct ld *L, size_t fi, char **dst, const char *s)
{
	if (!s)
		return 0;
	*dst = join_path(L->f[fi].dir, s);
	return *dst ? 0 : nomem(L->err);
}

/* A PEM blob from key-data, else a path from key. */
static int pem_or_file(struct ld *L, size_t fi, const char *where,
		       json_t *obj, const char *key, char **pem,
		       size_t *pem_len, char **file)
{
	char dkey[64];
	const char *data, *path;
	int rc;

	snprintf(dkey, sizeof(dkey), "%s-data", key);
	if ((rc = get_str(L, fi, where, obj, dkey, &data)) ||
	    (rc = get_str(L, fi, where, obj, key, &path)))
		return rc;
	if (data) {
		rc = b64_decode(data, strlen(data), pem, pem_len);
		if (rc == -2)
			return nomem(L->err);
		if (rc)
			return file_err(L, L->f[fi].path,
					"%s: %s is not valid base64", where,
					dkey);
		return 0;
	}
	return path_to(L, fi, file, path);
}

static int load_exec(struct ld *L, size_t fi, const char *where,
		     json_t *ex, struct tc_kcfg *k)
{
	struct tc_kcfg_exec *x = &k->exec;
	json_t *args = json_object_get(ex, "args");
	json_t *env = json_object_get(ex, "env");
	const char *cmd, *api, *ihint;
	json_t *e;
	size_t i;
	int rc;

	if (!json_is_object(ex))
		return file_err(L, L->f[fi].path, "%s: exec must be a mapping",
				where);
	if ((rc = get_str(L, fi, where, ex, "command", &cmd)) ||
	    (rc = get_str(L, fi, where, ex, "apiVersion", &api)) ||
	    (rc = get_str(L, fi, where, ex, "installHint", &ihint)))
		return rc;
	if (!cmd)
		return file_err(L, L->f[fi].path,
				"%s: exec has no command", where);
	if (!api)
		return file_err(L, L->f[fi].path,
				"%s: exec has no apiVersion (use %s)", where,
				EXEC_V1);
	if (strcmp(api, EXEC_V1) && strcmp(api, EXEC_V1BETA1))
		return file_err(L, L->f[fi].path,
				"%s: exec apiVersion %s is not supported (use "
				"%s or %s)",
				where, api, EXEC_V1, EXEC_V1BETA1);
	if (args && !json_is_null(args) && !json_is_array(args))
		return file_err(L, L->f[fi].path,
				"%s: exec args must be a list", where);
	if (env && !json_is_null(env) && !json_is_array(env))
		return file_err(L, L->f[fi].path,
				"%s: exec env must be a list", where);
	if ((rc = get_bool(L, fi, where, ex, "provideClusterInfo",
			   &x->provide_cluster_info)))
		return rc;
	if ((rc = dup_to(L, &x->command, cmd)) ||
	    (rc = dup_to(L, &x->api_version, api)) ||
	    (rc = dup_to(L, &x->install_hint, ihint)))
		return rc;
	x->base_dir = strdup(L->f[fi].dir);
	x->args = calloc(json_array_size(args) + 1, sizeof(char *));
	x->env = calloc(json_array_size(env) + 1, sizeof(char *));
	if (!x->base_dir || !x->args || !x->env)
		return nomem(L->err);
	json_array_foreach(args, i, e) {
		if (!json_is_string(e))
			return file_err(L, L->f[fi].path,
					"%s: exec args[%zu] must be a string, "
					"not %s",
					where, i, json_kind(e));
		x->args[i] = strdup(json_string_value(e));
		if (!x->args[i])
			return nomem(L->err);
	}
	json_array_foreach(env, i, e) {
		const char *name, *value;

		if (!json_is_object(e))
			return file_err(L, L->f[fi].path,
					"%s: exec env[%zu] must be a mapping "
					"with name and value",
					where, i);
		if ((rc = get_str(L, fi, where, e, "name", &name)) ||
		    (rc = get_str(L, fi, where, e, "value", &value)))
			return rc;
		if (!name || strchr(name, '='))
			return file_err(L, L->f[fi].path,
					"%s: exec env[%zu] needs a name "
					"without '='",
					where, i);
		if (asprintf(&x->env[i], "%s=%s", name, value ? value : "") <
		    0) {
			x->env[i] = NULL;
			return nomem(L->err);
		}
	}
	return 0;
}

static int load_user(struct ld *L, size_t fi, json_t *u, struct tc_kcfg *k)
{
	char where[320];
	const char *token, *tfile, *name, *pass;
	json_t *ex = json_object_get(u, "exec");
	int rc;

	snprintf(where, sizeof(where), "user '%s'", k->user);
	if ((rc = pem_or_file(L, fi, where, u, "client-certificate",
			      &k->cert_pem, &k->cert_pem_len,
			      &k->cert_file)) ||
	    (rc = pem_or_file(L, fi, where, u, "client-key", &k->key_pem,
			      &k->key_pem_len, &k->key_file)))
		return rc;
	if ((rc = get_str(L, fi, where, u, "token", &token)) ||
	    (rc = get_str(L, fi, where, u, "tokenFile", &tfile)) ||
	    (rc = get_str(L, fi, where, u, "username", &name)) ||
	    (rc = get_str(L, fi, where, u, "password", &pass)))
		return rc;
	if ((rc = dup_to(L, &k->username, name)) ||
	    (rc = dup_to(L, &k->password, pass)) ||
	    (rc = path_to(L, fi, &k->token_file, tfile)))
		return rc;
	if (k->token_file) {
		struct tc_error e;

		/* the file wins; an inline token covers for it unread */
		rc = read_token(k->token_file, &k->token, &e);
		if (rc && !token)
			return file_err(L, L->f[fi].path, "%s: tokenFile: %s",
					where, e.msg);
	}
	if (!k->token && (rc = dup_to(L, &k->token, token)))
		return rc;
	if (ex && !json_is_null(ex))
		return load_exec(L, fi, where, ex, k);
	return 0;
}

static int load_cluster(struct ld *L, size_t fi, json_t *c,
			struct tc_kcfg *k)
{
	char where[320];
	const char *server, *sni, *proxy;
	size_t n;
	int rc;

	snprintf(where, sizeof(where), "cluster '%s'", k->cluster);
	if ((rc = get_str(L, fi, where, c, "server", &server)) ||
	    (rc = get_str(L, fi, where, c, "tls-server-name", &sni)) ||
	    (rc = get_str(L, fi, where, c, "proxy-url", &proxy)))
		return rc;
	if (!server)
		return file_err(L, L->f[fi].path,
				"%s has no server (add clusters[].cluster."
				"server: https://HOST:PORT)",
				where);
	if ((rc = get_bool(L, fi, where, c, "insecure-skip-tls-verify",
			   &k->insecure)))
		return rc;
	if (strstr(server, "://"))
		k->server = strdup(server);
	else if (asprintf(&k->server, "https://%s", server) < 0)
		k->server = NULL;
	if (!k->server)
		return nomem(L->err);
	n = strlen(k->server);
	while (n > 0 && k->server[n - 1] == '/')
		k->server[--n] = '\0';
	if ((rc = dup_to(L, &k->tls_server_name, sni)) ||
	    (rc = dup_to(L, &k->proxy_url, proxy)))
		return rc;
	return pem_or_file(L, fi, where, c, "certificate-authority",
			   &k->ca_pem, &k->ca_pem_len, &k->ca_file);
}

static int resolve(struct ld *L, const char *ctx_arg, const char *ns_arg,
		   struct tc_kcfg *k)
{
	char names[600], where[320];
	const char *ctx = ctx_arg, *cl, *us, *ns;
	json_t *e, *c;
	size_t fi, cfi, ufi;
	int rc;

	for (size_t i = 0; !ctx && i < L->n; i++) {
		const char *cc = json_string_value(
			json_object_get(L->f[i].root, "current-context"));

		if (cc && cc[0])
			ctx = cc;
	}
	if (!ctx) {
		list_names(L, "contexts", names, sizeof(names));
		return file_err(L, L->source,
				"no current-context and no context asked for; "
				"pick one with --context (contexts: %s)",
				names);
	}
	e = find_entry(L, "contexts", ctx, &fi);
	if (!e) {
		list_names(L, "contexts", names, sizeof(names));
		return file_err(L, L->source,
				"context '%s' not found (contexts: %s)", ctx,
				names);
	}
	if ((rc = dup_to(L, &k->context, ctx)))
		return rc;
	c = json_object_get(e, "context");
	snprintf(where, sizeof(where), "context '%s'", ctx);
	if ((rc = get_str(L, fi, where, c, "cluster", &cl)) ||
	    (rc = get_str(L, fi, where, c, "user", &us)) ||
	    (rc = get_str(L, fi, where, c, "namespace", &ns)))
		return rc;
	if (!cl)
		return file_err(L, L->f[fi].path, "%s names no cluster",
				where);
	e = find_entry(L, "clusters", cl, &cfi);
	if (!e) {
		list_names(L, "clusters", names, sizeof(names));
		return file_err(L, L->f[fi].path,
				"%s names cluster '%s', which is not defined "
				"(clusters: %s)",
				where, cl, names);
	}
	if ((rc = dup_to(L, &k->cluster, cl)) ||
	    (rc = load_cluster(L, cfi, json_object_get(e, "cluster"), k)))
		return rc;
	if (us) {
		e = find_entry(L, "users", us, &ufi);
		if (!e) {
			list_names(L, "users", names, sizeof(names));
			return file_err(L, L->f[fi].path,
					"%s names user '%s', which is not "
					"defined (users: %s)",
					where, us, names);
		}
		if ((rc = dup_to(L, &k->user, us)) ||
		    (rc = load_user(L, ufi, json_object_get(e, "user"), k)))
			return rc;
	}
	if (ns_arg)
		ns = ns_arg;
	return dup_to(L, &k->namespace, ns ? ns : "default");
}

/* The pod's service account, when no file exists.  why: what was looked
 * for, for the message when this is not possible either. */
static int in_cluster(const char *ctx, const char *ns, const char *why,
		      struct tc_kcfg *k, struct tc_error *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = getenv("TRAINCTL_SA_DIR");
	char path[PATH_MAX], *nsf = NULL;
	struct stat st;
	int rc, v6;

	if (!dir || !dir[0])
		dir = SA_DIR;
	snprintf(path, sizeof(path), "%s/token", dir);
	if (!host || !host[0] || !port || !port[0])
		return tc_error_set(err, TC_ERR_BACKEND, "%s (%s)", NO_CONFIG,
				    why);
	if (stat(path, &st) != 0 && errno == ENOENT)
		return tc_error_set(err, TC_ERR_BACKEND,
				    "%s (%s; in-cluster: no service account "
				    "token %s)",
				    NO_CONFIG, why, path);
	if (ctx)
		return tc_error_set(err, TC_ERR_BACKEND,
				    "context '%s' not found: no kubeconfig "
				    "exists (%s) and the in-cluster "
				    "configuration has no contexts",
				    ctx, why);
	rc = read_token(path, &k->token, err);
	if (rc)
		return rc;
	k->token_file = strdup(path);
	k->source = strdup("in-cluster");
	v6 = strchr(host, ':') != NULL && host[0] != '[';
	if (asprintf(&k->server, "https://%s%s%s:%s", v6 ? "[" : "", host,
		     v6 ? "]" : "", port) < 0)
		k->server = NULL;
	if (!k->token_file || !k->source || !k->server)
		return nomem(err);
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	if (access(path, R_OK) == 0 && !(k->ca_file = strdup(path)))
		return nomem(err);
	if (!ns) {
		snprintf(path, sizeof(path), "%s/namespace", dir);
		if (tc_read_file(path, 4096, &nsf, NULL) == 0) {
			rtrim(nsf, NULL);
			if (nsf[0])
				ns = nsf;
		}
	}
	k->namespace = strdup(ns ? ns : "default");
	free(nsf);
	return k->namespace ? 0 : nomem(err);
}

int tc_kcfg_load(const char *explicit_path, const char *context,
		 const char *ns, struct tc_kcfg **out, struct tc_error *err)
{
	struct ld L;
	struct tc_kcfg *k;
	char why[768] = "";
	const char *env = getenv("KUBECONFIG");
	const char *home = getenv("HOME");
	char *homecfg = NULL;
	int rc = 0;

	*out = NULL;
	tc_error_clear(err);
	memset(&L, 0, sizeof(L));
	L.err = err;
	if (context && !context[0])
		context = NULL;
	if (ns && !ns[0])
		ns = NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return nomem(err);
	if (explicit_path && explicit_path[0]) {
		rc = load_file(&L, explicit_path, 1);
	} else if (env && env[0]) {
		rc = load_list(&L, env);
		snprintf(why, sizeof(why),
			 "no file in KUBECONFIG=%s exists", env);
	} else if (home && home[0]) {
		if (asprintf(&homecfg, "%s/.kube/config", home) < 0) {
			homecfg = NULL;
			rc = nomem(err);
		} else {
			rc = load_file(&L, homecfg, 0);
			snprintf(why, sizeof(why), "no %s", homecfg);
		}
	} else
		snprintf(why, sizeof(why), "KUBECONFIG and HOME are not set");
	free(homecfg);
	if (rc > 0)
		rc = 0;
	if (rc)
		goto done;
	if (L.n == 0) {
		rc = in_cluster(context, ns, why, k, err);
		goto done;
	}
	for (size_t i = 0, used = 0; i < L.n; i++) {
		size_t n = strlen(L.f[i].path);
		char *s = realloc(L.source, used + n + 2);

		if (!s) {
			rc = nomem(err);
			goto done;
		}
		L.source = s;
		if (used)
			s[used++] = ':';
		memcpy(s + used, L.f[i].path, n + 1);
		used += n;
	}
	rc = resolve(&L, context, ns, k);
	if (!rc) {
		k->source = L.source;
		L.source = NULL;
	}
done:
	ld_free(&L);
	if (rc) {
		tc_kcfg_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

void tc_kcfg_free(struct tc_kcfg *k)
{
	if (!k)
		return;
	free(k->source);
	free(k->context);
	free(k->cluster);
	free(k->user);
	free(k->server);
	free(k->namespace);
	free(k->ca_pem);
	free(k->ca_file);
	free(k->cert_pem);
	free(k->cert_file);
	free(k->key_pem);
	free(k->key_file);
	free(k->tls_server_name);
	free(k->proxy_url);
	free(k->token);
	free(k->token_file);
	free(k->username);
	free(k->password);
	free(k->exec.command);
	strv_free(k->exec.args);
	strv_free(k->exec.env);
	free(k->exec.api_version);
	free(k->exec.install_hint);
	free(k->exec.base_dir);
	free(k);
}

/* ------------------------------------------------------------------ */
/* Exec credential plugins                                              */
/* ------------------------------------------------------------------ */

/* "user 'x': the exec plugin CMD", the start of every message. */
static void plugin_name(const struct tc_kcfg *k, char *buf, size_t len)
{
	if (k->user)
		snprintf(buf, len, "user '%s': the exec plugin %s", k->user,
			 k->exec.command);
	else
		snprintf(buf, len, "the exec plugin %s", k->exec.command);
}

static const char *hint_sep(const struct tc_kcfg *k)
{
	return k->exec.install_hint ? "; " : "";
}

static const char *hint_text(const struct tc_kcfg *k)
{
	return k->exec.install_hint ? k->exec.install_hint : "";
}

/* KUBERNETES_EXEC_INFO's value, as kubectl fills it (never interactive). */
static char *exec_info(const struct tc_kcfg *k)
{
	json_t *info, *spec, *cl;
	char *s = NULL;

	info = json_pack("{s:s, s:s, s:{s:b}}", "apiVersion",
			 k->exec.api_version ? k->exec.api_version : EXEC_V1,
			 "kind", "ExecCredential", "spec", "interactive", 0);
	if (!info)
		return NULL;
	spec = json_object_get(info, "spec");
	if (k->exec.provide_cluster_info && k->server) {
		char *ca = NULL, *pem = NULL;
		size_t n = 0;

		cl = json_pack("{s:s, s:b}", "server", k->server,
			       "insecure-skip-tls-verify", k->insecure);
		if (!cl || json_object_set_new(spec, "cluster", cl))
			goto out;
		if (k->tls_server_name)
			json_object_set_new(cl, "tls-server-name",
					    json_string(k->tls_server_name));
		if (k->proxy_url)
			json_object_set_new(cl, "proxy-url",
					    json_string(k->proxy_url));
		if (k->ca_pem)
			ca = b64_encode(k->ca_pem, k->ca_pem_len);
		else if (k->ca_file &&
			 tc_read_file(k->ca_file, TOKEN_MAX_BYTES, &pem,
				      &n) == 0)
			ca = b64_encode(pem, n);
		free(pem);
		if (ca)
			json_object_set_new(cl, "certificate-authority-data",
					    json_string(ca));
		free(ca);
	}
	s = json_dumps(info, JSON_COMPACT);
out:
	json_decref(info);
	return s;
}

static int same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");

	return strlen(b) > n && b[n] == '=' && !strncmp(a, b, n);
}

/* environ, then the plugin's entries, then KUBERNETES_EXEC_INFO; a later
 * entry replaces an earlier one of the same name.  The strings are
 * borrowed; only the array is the caller's to free. */
static char **plugin_env(const struct tc_kcfg *k, char *info)
{
	size_t ne = 0, np = 0, m = 0;
	char **envp;

	while (environ && environ[ne])
		ne++;
	while (k->exec.env && k->exec.env[np])
		np++;
	envp = calloc(ne + np + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < ne; i++) {
		int over = same_name(environ[i], info);

		for (size_t j = 0; j < np && !over; j++)
			over = same_name(environ[i], k->exec.env[j]);
		if (!over)
			envp[m++] = environ[i];
	}
	for (size_t j = 0; j < np; j++) {
		int over = same_name(k->exec.env[j], info);

		for (size_t l = j + 1; l < np && !over; l++)
			over = same_name(k->exec.env[j], k->exec.env[l]);
		if (!over)
			envp[m++] = k->exec.env[j];
	}
	envp[m++] = info;
	envp[m] = NULL;
	return envp;
}

static double exec_timeout(void)
{
	const char *s = getenv("TRAINCTL_EXEC_TIMEOUT");
	char *end;
	double t;

	if (!s || !s[0])
		return EXEC_TIMEOUT;
	t = strtod(s, &end);
	return *end || !(t > 0) || !isfinite(t) ? EXEC_TIMEOUT : t;
}

/* Whether the plugin can be started: a path must be executable, a bare
 * name must be found in PATH (checked first, as kubectl does, so that "not
 * found" reads the same wherever posix_spawnp() would only say 127).
 * 0 or an errno. */
static int runnable(const char *path, int bare)
{
	char full[PATH_MAX];

	if (!bare)
		return access(path, X_OK) ? errno : 0;
	return tc_find_program(path, NULL, full, sizeof(full));
}

/* Run the plugin; *out is what it printed (malloc'd, NUL-terminated).  Its
 * stderr is the user's: a plugin may say there what went wrong. */
static int run_plugin(const struct tc_kcfg *k, char **out, size_t *outlen,
		      struct tc_error *err)
{
	char who[600], *info_json = NULL, *info = NULL, *path = NULL;
	char **argv = NULL, **envp = NULL;
	size_t nargs = 0;
	struct tc_spawn_opts so = {.keep_stderr = 1,
				   .timeout = exec_timeout(),
				   .max = EXEC_MAX_OUTPUT,
				   .stop_at_max = 1};
	struct tc_spawn_out res = {0};
	int rc = 0, status;

	*out = NULL;
	*outlen = 0;
	plugin_name(k, who, sizeof(who));
	while (k->exec.args && k->exec.args[nargs])
		nargs++;
	info_json = exec_info(k);
	if (info_json &&
	    asprintf(&info, "KUBERNETES_EXEC_INFO=%s", info_json) < 0)
		info = NULL;
	free(info_json);
	if (strchr(k->exec.command, '/'))
		path = join_path(k->exec.base_dir, k->exec.command);
	else
		path = strdup(k->exec.command);
	argv = calloc(nargs + 2, sizeof(*argv));
	envp = info ? plugin_env(k, info) : NULL;
	if (!path || !argv || !envp) {
		rc = nomem(err);
		goto done;
	}
	argv[0] = path;
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = k->exec.args[i];
	rc = runnable(path, !strchr(k->exec.command, '/'));
	if (rc) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s cannot be run: %s%s%s", who,
				  rc == ENOENT && !strchr(k->exec.command, '/')
					  ? "not found in PATH"
					  : strerror(rc),
				  hint_sep(k), hint_text(k));
		goto done;
	}
	so.envp = envp;
	rc = tc_spawn_capture(argv, &so, &res);
	if (rc) {
		rc = rc == ENOMEM ? nomem(err)
				  : tc_error_set(err, TC_ERR_BACKEND,
						 "%s cannot be run: %s%s%s", who,
						 strerror(rc), hint_sep(k),
						 hint_text(k));
		goto done;
	}
	status = res.status;
	if (res.timed_out) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s did not finish within %g s and was "
				  "killed%s%s",
				  who, so.timeout, hint_sep(k), hint_text(k));
		goto done;
	}
	if (res.overflow) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s printed more than 1 MB; an "
				  "ExecCredential is far smaller",
				  who);
		goto done;
	}
	if (WIFSIGNALED(status)) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s was killed by signal %d%s%s", who,
				  WTERMSIG(status), hint_sep(k), hint_text(k));
		goto done;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s exited with status %d%s%s", who,
				  WIFEXITED(status) ? WEXITSTATUS(status) : -1,
				  hint_sep(k), hint_text(k));
		goto done;
	}
	*out = res.buf;
	*outlen = res.len;
	res.buf = NULL;
done:
	free(res.buf);
	free(path);
	free(argv);
	free(envp);
	free(info);
	return rc;
}

/* status[key] as a non-empty string, or NULL; an error when it is there
 * but not a string. */
static int cred_str(const char *who, json_t *status, const char *key,
		    const char **out, struct tc_error *err)
{
	json_t *v = json_object_get(status, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return tc_error_set(err, TC_ERR_BACKEND,
				    "%s printed an ExecCredential whose "
				    "status.%s is not a string",
				    who, key);
	if (json_string_length(v))
		*out = json_string_value(v);
	return 0;
}

int tc_kcfg_exec_credential(struct tc_kcfg *k, struct tc_error *err)
{
	char who[600], *out = NULL, *tok = NULL, *cert = NULL, *key = NULL;
	const char *kind, *api, *t, *c, *kk, *ets;
	json_t *root = NULL, *status;
	json_error_t je;
	double expiry = 0;
	size_t len;
	int rc;

	tc_error_clear(err);
	if (!k->exec.command)
		return 0;
	plugin_name(k, who, sizeof(who));
	rc = run_plugin(k, &out, &len, err);
	if (rc)
		return rc;
	root = json_loadb(out, len, 0, &je);
	free(out);
	if (!root || !json_is_object(root)) {
		if (root)
			rc = tc_error_set(err, TC_ERR_BACKEND,
					  "%s printed JSON that is not an "
					  "ExecCredential object",
					  who);
		else
			rc = tc_error_set(err, TC_ERR_BACKEND,
					  "%s did not print an ExecCredential "
					  "(not JSON: %s at line %d col %d)",
					  who, je.text, je.line, je.column);
		goto done;
	}
	kind = json_string_value(json_object_get(root, "kind"));
	api = json_string_value(json_object_get(root, "apiVersion"));
	if (!kind || strcmp(kind, "ExecCredential")) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s printed kind '%s', not ExecCredential",
				  who, kind ? kind : "");
		goto done;
	}
	if (k->exec.api_version && (!api || strcmp(api, k->exec.api_version))) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s printed an ExecCredential of apiVersion "
				  "'%s'; the kubeconfig asks for %s",
				  who, api ? api : "", k->exec.api_version);
		goto done;
	}
	status = json_object_get(root, "status");
	if (!json_is_object(status)) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s printed an ExecCredential without a "
				  "status",
				  who);
		goto done;
	}
	if ((rc = cred_str(who, status, "token", &t, err)) ||
	    (rc = cred_str(who, status, "clientCertificateData", &c, err)) ||
	    (rc = cred_str(who, status, "clientKeyData", &kk, err)) ||
	    (rc = cred_str(who, status, "expirationTimestamp", &ets, err)))
		goto done;
	if (!c != !kk) {
		const char *has = c ? "clientCertificateData" : "clientKeyData";
		const char *lacks = c ? "clientKeyData" : "clientCertificateData";

		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s printed %s without %s", who, has, lacks);
		goto done;
	}
	if (!t && !c) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s printed an ExecCredential with neither "
				  "a token nor a client certificate",
				  who);
		goto done;
	}
	if (ets && tc_parse_rfc3339(ets, &expiry)) {
		rc = tc_error_set(err, TC_ERR_BACKEND,
				  "%s printed expirationTimestamp '%s', which "
				  "is not an RFC 3339 time",
				  who, ets);
		goto done;
	}
	if ((t && !(tok = strdup(t))) || (c && !(cert = strdup(c))) ||
	    (kk && !(key = strdup(kk)))) {
		rc = nomem(err);
		goto done;
	}
	if (tok) {
		free(k->token);
		k->token = tok;
		tok = NULL;
	}
	if (cert) {
		free(k->cert_pem);
		free(k->cert_file);
		free(k->key_pem);
		free(k->key_file);
		k->cert_file = k->key_file = NULL;
		k->cert_pem = cert;
		k->cert_pem_len = strlen(cert);
		k->key_pem = key;
		k->key_pem_len = strlen(key);
		cert = key = NULL;
	}
	k->cred_expiry = expiry;
done:
	free(tok);
	free(cert);
	free(key);
	json_decref(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Token files                                                          */
/* ------------------------------------------------------------------ */

int tc_kcfg_reload_token(struct tc_kcfg *k, struct tc_error *err)
{
	char *t;
	int rc;

	tc_error_clear(err);
	if (!k->token_file)
		return 1;
	rc = read_token(k->token_file, &t, err);
	if (rc)
		return rc;
	if (k->token && !strcmp(k->token, t)) {
		free(t);
		return 1;
	}
	free(k->token);
	k->token = t;
	return 0;
}
