/*
 * kubeconfig.h — where a Kubernetes API server is and who we are to it,
 * resolved the way kubectl resolves it.
 *
 * Sources, in kubectl's order:
 *   1. an explicit file (--kubeconfig), alone;
 *   2. $KUBECONFIG: a list of files separated by ':'; they are merged, the
 *      first file to set a map key (a cluster, user or context name, or
 *      current-context) wins; missing files are skipped;
 *   3. ~/.kube/config;
 *   4. in-cluster: $KUBERNETES_SERVICE_HOST/_PORT with the service
 *      account's token, CA and namespace under
 *      /var/run/secrets/kubernetes.io/serviceaccount (used when no file
 *      exists, and only then).
 * The context is the one asked for, else current-context.  The namespace is
 * the one asked for, else the context's, else "default".
 *
 * Relative file paths inside a kubeconfig (certificate-authority,
 * client-certificate, client-key, tokenFile, exec command when it contains a
 * '/') are resolved against the directory of the file that set them.
 * *-data fields are base64 and are decoded here.
 *
 * Errors are TC_ERR_BACKEND with a message naming the file and what is wrong
 * ("kubeconfig /x/y: context 'foo' not found (contexts: a, b)").  No
 * function here prints.
 *
 * Details kubectl users will recognise:
 *   - within one file a name defined twice means its last definition;
 *     across files the first file wins;
 *   - empty entries and repeated files in $KUBECONFIG are skipped; a file
 *     that exists but cannot be read or parsed is an error;
 *   - an empty file is an empty configuration;
 *   - in-cluster there are no contexts, so asking for one is an error;
 *   - a *-data field wins over its file twin; a tokenFile wins over an
 *     inline token (which is kept only when the file cannot be read);
 *   - YAML: the first document only; aliases and merge keys (<<) as
 *     kubectl's parser reads them; booleans in any YAML 1.1 spelling
 *     (yes/no/on/off); other scalars are the text as written (a context
 *     called no is "no", where kubectl would read "false"); a file over
 *     4 MB or over 100000 nodes once aliases are expanded is refused.
 *
 * Environment, besides KUBECONFIG, HOME and KUBERNETES_SERVICE_HOST/_PORT:
 *   TRAINCTL_SA_DIR        the service-account directory used in-cluster
 *                          (default /var/run/secrets/kubernetes.io/
 *                          serviceaccount); for tests.
 *   TRAINCTL_EXEC_TIMEOUT  seconds an exec plugin may take (default 60);
 *                          for tests.
 */
#ifndef TC_KUBECONFIG_H
#define TC_KUBECONFIG_H

#include <stddef.h>

#include "util/error.h"

struct tc_kcfg_exec {
	char *command;       /* NULL when the user has no exec plugin */
	char **args;         /* NULL-terminated, may be empty */
	char **env;          /* NULL-terminated "NAME=value" to add */
	char *api_version;   /* client.authentication.k8s.io/v1 or v1beta1 */
	char *install_hint;
	char *base_dir;      /* to resolve a relative command */
	int provide_cluster_info; /* provideClusterInfo: the plugin gets the
				     cluster (server, CA, ...) in
				     KUBERNETES_EXEC_INFO */
};

struct tc_kcfg {
	char *source;        /* the file(s) it came from, or "in-cluster" */
	char *context;       /* context name; NULL in-cluster */
	char *cluster;       /* cluster name; NULL in-cluster */
	char *user;          /* user name; NULL in-cluster */
	char *server;        /* "https://host:port" (no trailing slash) */
	char *namespace;     /* never NULL */

	/* TLS: each as a PEM blob (decoded *-data) or a file path; at most one
	 * of the two is set. */
	char *ca_pem;   size_t ca_pem_len;
	char *ca_file;
	char *cert_pem; size_t cert_pem_len;
	char *cert_file;
	char *key_pem;  size_t key_pem_len;
	char *key_file;
	int insecure;        /* insecure-skip-tls-verify */
	char *tls_server_name;
	char *proxy_url;

	/* credentials */
	char *token;         /* bearer token (from token, or read once from
				token_file) */
	char *token_file;    /* re-read when the server answers 401 */
	char *username, *password; /* basic auth */
	struct tc_kcfg_exec exec;

	/* filled by tc_kcfg_exec_credential() */
	double cred_expiry;  /* unix time the exec credential expires; 0: none */
};

/* Resolve.  explicit_path, context and ns may be NULL.  On success *out is
 * a new config the caller frees with tc_kcfg_free(). */
int tc_kcfg_load(const char *explicit_path, const char *context,
		 const char *ns, struct tc_kcfg **out, struct tc_error *err);

void tc_kcfg_free(struct tc_kcfg *k);

/* Run the exec credential plugin (argv vector via posix_spawn, never a
 * shell; KUBERNETES_EXEC_INFO set as kubectl sets it; its stdin is
 * /dev/null, its stderr passes through) and read the ExecCredential it
 * prints: status.token, or status.clientCertificateData +
 * status.clientKeyData, and status.expirationTimestamp.  Replaces k->token
 * or k->cert_pem/k->key_pem and sets cred_expiry.  A plugin that fails,
 * times out (60 s) or prints something else is TC_ERR_BACKEND, with its exit
 * status and the install hint in the message.  No-op (0) without a plugin. */
int tc_kcfg_exec_credential(struct tc_kcfg *k, struct tc_error *err);

/* Re-read token_file (after a 401).  0 when the token changed, 1 when it did
 * not, <0 on error. */
int tc_kcfg_reload_token(struct tc_kcfg *k, struct tc_error *err);

#endif
