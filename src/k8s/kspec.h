/*
 * kspec.h — the kubernetes: section of a spec, typed.
 *
 * The spec loader (src/spec/spec.c) checks the section and fills this
 * struct once, at load: every key the section accepts, its quantities
 * already parsed, each value with the position it was written at.  The
 * manifest builder (manifest.h) and the Kubernetes runner read it as it is;
 * nothing reads the section's YAML or JSON again.  Only affinity and
 * podTemplate, passed to Kubernetes as written, stay JSON.
 *
 * A key that is not given (or given as null, which means the same) leaves
 * its field NULL, 0 or -1 as said below.  Everything lives in the spec's
 * arena, except the two json_t trees, which the spec also owns; all of it
 * is freed by tc_spec_free().
 */
#ifndef TC_K8S_KSPEC_H
#define TC_K8S_KSPEC_H

#include <stddef.h>

#include <jansson.h>

#include "spec/spec.h"

/* A label or node selector entry: the value as text ("true", "8"), as
 * Kubernetes wants it. */
struct tc_klabel {
	const char *key;
	const char *value;
	struct tc_pos pos; /* of the key */
};

/* kubernetes.volumes[i]: a PersistentVolumeClaim, an NFS export, an
 * emptyDir, a Secret or a ConfigMap; exactly one source is set. */
struct tc_kvolume {
	const char *name;       /* DNS-1123 label, unique */
	const char *mount_path; /* absolute */
	const char *sub_path;   /* relative, or NULL */
	int read_only;
	const char *claim;      /* the claim's name, or NULL */
	const char *nfs_server; /* nfs: both set */
	const char *nfs_path;
	int nfs_read_only;
	int empty_dir;          /* emptyDir: */
	const char *medium;     /* emptyDir.medium: "" or "Memory", or NULL */
	const char *size_limit; /* emptyDir.sizeLimit, a quantity as written,
				   or NULL */
	const char *secret;     /* secret: NAME, or NULL */
	const char *config_map; /* configMap: NAME, or NULL */
	struct tc_pos pos;      /* of the entry */
};

/* kubernetes.envFrom[i]: every key of a Secret or ConfigMap as a
 * variable. */
struct tc_kenv_from {
	int secret;             /* 1: secretRef, 0: configMapRef */
	const char *name;       /* DNS-1123 subdomain */
	struct tc_pos pos;      /* of the entry */
};

/* kubernetes.tolerations[i]: each field NULL when not given. */
struct tc_ktoleration {
	const char *key;
	const char *op;     /* "Exists" or "Equal" */
	const char *value;  /* as text */
	const char *effect; /* NoSchedule, PreferNoSchedule or NoExecute */
	long long seconds;  /* tolerationSeconds, when has_seconds */
	int has_seconds;
	struct tc_pos pos;  /* of the entry */
};

struct tc_kspec {
	struct tc_pos pos;       /* of the kubernetes: key; 0:0 without one */

	struct tc_str context;   /* text NULL when not given */
	struct tc_str ns;        /* namespace: a DNS-1123 label */
	struct tc_str image;     /* no spaces */
	struct tc_str service_account;
	struct tc_str gpu_resource; /* an extended resource name; text NULL
				       means nvidia.com/gpu */
	struct tc_str priority_class;
	struct tc_str queue;     /* Kueue queue, a label value */

	struct tc_str *pull_secrets; /* imagePullSecrets */
	size_t npull_secrets;

	struct {
		double cpu;        /* cores; < 0 when not given */
		long long memory;  /* bytes; < 0 when not given */
		int gpu;           /* < 0 when not given; else equals
				      resources.gpu */
	} limits;
	long long shm;           /* bytes of /dev/shm; 0: no such volume */
	const char *limit_memory_text;    /* limits.memory as written when a
					     string quantity, else NULL */
	long long limit_ephemeral;        /* limits.ephemeral-storage bytes;
					     < 0 when not given */
	const char *limit_ephemeral_text; /* as written, or NULL */

	struct tc_kenv_from *env_from;
	size_t nenv_from;
	struct {
		const char *claim;      /* NULL: {{trial_dir}} is an emptyDir */
		const char *sub_path;   /* prefix on the claim, or NULL */
		struct tc_pos pos;      /* of the trialVolume: key */
	} trial_volume;

	struct tc_kvolume *volumes;
	size_t nvolumes;
	struct tc_klabel *node_selector;
	size_t nnode_selector;
	struct tc_klabel *labels;
	size_t nlabels;
	struct tc_ktoleration *tolerations;
	size_t ntolerations;

	long long backoff_limit; /* < 0 when not given */
	long long ttl;           /* ttlSecondsAfterFinished; < 0 when not
				    given */

	json_t *affinity;        /* an object, or NULL */
	json_t *pod_template;    /* an object, or NULL */
};

/* Kubernetes' rules for names, 1 or 0.  A DNS-1123 label (namespaces,
 * volume names): 1 to 63 characters of a-z, 0-9 and '-', starting and
 * ending alphanumeric.  A DNS-1123 subdomain (claims, secrets, service
 * accounts): labels joined by '.', at most 253 characters.  A label key:
 * [subdomain/]name, name being 1 to 63 characters of letters, digits, '-',
 * '_' and '.' starting and ending alphanumeric; need_prefix requires the
 * subdomain (extended resource names such as nvidia.com/gpu).  A label
 * value: empty, or such a name. */
int tc_k8s_is_dns_label(const char *s);
int tc_k8s_is_dns_subdomain(const char *s);
int tc_k8s_is_label_key(const char *s, int need_prefix);
int tc_k8s_is_label_value(const char *s);

#endif
