/*
 * manifest.h — a trial as Kubernetes objects, built as JSON data (never by
 * text templating).
 *
 * Per trial: a ConfigMap "<exp>-<id>" with params.json (mounted read-only
 * at /etc/trainctl), and per attempt a batch/v1 Job "<exp>-<id>-<attempt>";
 * for nodes > 1 also a headless Service named like the Job (the Job's pods
 * get it as subdomain, so pod 0 is <job>-0.<job>).  Every object carries
 * the labels trainctl.io/experiment=<exp> and trainctl.io/trial=<id> (the
 * Job and its pod template also trainctl.io/attempt=<n>), plus the spec's
 * kubernetes.labels.
 *
 * Inside the pod: TRAINCTL_EXPERIMENT, TRAINCTL_TRIAL, TRAINCTL_ATTEMPT,
 * TRAINCTL_PARAMS (JSON), TRAINCTL_TRIAL_DIR=/trainctl/trial (an emptyDir),
 * TRAINCTL_METRICS_FILE=/dev/stdout (JSON lines reach the pod log, where the
 * runner reads every metric), OMP/OPENBLAS/MKL_NUM_THREADS from the cpu
 * request unless the spec's env sets them, the spec's env; for nodes > 1
 * WORLD_SIZE, RANK (= the completion index), MASTER_ADDR (pod 0's stable
 * name <job>-0.<job>), MASTER_PORT (29500).
 */
#ifndef TC_K8S_MANIFEST_H
#define TC_K8S_MANIFEST_H

#include <stdint.h>

#include <jansson.h>

#include "k8s/kspec.h"
#include "spec/spec.h"
#include "util/error.h"

/* Where {{trial_dir}} points inside a pod. */
#define TC_K8S_TRIAL_DIR "/trainctl/trial"
#define TC_K8S_PARAMS_DIR "/etc/trainctl"
#define TC_K8S_MASTER_PORT 29500

#define TC_K8S_LABEL_EXP "trainctl.io/experiment"
#define TC_K8S_LABEL_TRIAL "trainctl.io/trial"
#define TC_K8S_LABEL_ATTEMPT "trainctl.io/attempt"

struct tc_k8s_trial {
	const char *experiment;
	const char *id;          /* 12 hex */
	int attempt;             /* >= 1 */
	const char *params_json; /* the trial's parameters, a JSON object */
	const json_t *argv;      /* resolved command, JSON array of strings
				    (a script: spec has /bin/sh -c SCRIPT) */
	const json_t *env;       /* resolved env, JSON object of strings */
};

/* Names (malloc'd): "<exp>-<id>" and "<exp>-<id>-<attempt>". */
char *tc_k8s_configmap_name(const char *exp, const char *id);
char *tc_k8s_job_name(const char *exp, const char *id, int attempt);

/* Check what the kubernetes backend needs from a spec (kubernetes.image is
 * set, workdir: absolute, nodes: within an Indexed Job's limit, no
 * multi-node variable in env:) before anything is created: TC_ERR_SPEC
 * with the position of the key at fault.  The spec loader has checked the
 * kubernetes: section itself; this is the kubernetes backend's check
 * (exec/backend.h), made whichever way the backend was picked. */
int tc_k8s_check(const struct tc_spec *spec, struct tc_error *err);

/* The objects, as the API server will receive them (apiVersion, kind,
 * metadata.name, metadata.namespace = ns, labels).  NULL with err on
 * failure.  tc_k8s_service() returns NULL with err->code 0 when the spec
 * has nodes == 1. */
json_t *tc_k8s_configmap(const struct tc_spec *spec, const char *ns,
			 const struct tc_k8s_trial *t, struct tc_error *err);
json_t *tc_k8s_job(const struct tc_spec *spec, const char *ns,
		   const struct tc_k8s_trial *t, struct tc_error *err);
json_t *tc_k8s_service(const struct tc_spec *spec, const char *ns,
		       const struct tc_k8s_trial *t, struct tc_error *err);

/* A trial's placement (k8s/placement.c): kubernetes.image, the values of
 * kubernetes.nodeSelector and resources.cpu/memory that use {{...}},
 * rendered from the trial's parameters (a JSON object's text) and checked.
 * Each field malloc'd, NULL where the spec has no template; node_selector
 * has one slot per kubernetes.nodeSelector entry.  Quantities are kept as
 * rendered (cores and bytes are their values). */
struct tc_k8s_placement {
	char *image;
	char **node_selector;
	char *cpu, *memory;
	double cores;
	long long bytes;
};

/* Render and check: 0 (pl all NULL when the spec has no templates), or
 * TC_ERR_SPEC "trial ID: KEY renders to 'X', not ..." at the key's
 * position.  Free with tc_k8s_placement_free(). */
int tc_k8s_place(const struct tc_spec *spec, const char *id,
		 const char *params_json, struct tc_k8s_placement *pl,
		 struct tc_error *err);
void tc_k8s_placement_free(struct tc_k8s_placement *pl,
			   const struct tc_spec *spec);
/* The same, for `plan` and `run` to refuse a trial before anything is
 * recorded (the backend's check_trial). */
int tc_k8s_check_trial(const struct tc_spec *spec, const char *id,
		       const char *params_json, struct tc_error *err);
/* Put the rendered values into a Job's pod spec and container (the Job
 * builder's last step before podTemplate). */
int tc_k8s_place_job(const struct tc_spec *spec, const struct tc_k8s_trial *t,
		     json_t *pod, json_t *ctr, struct tc_error *err);

/* Deep merge patch into target (objects merge key by key, recursively;
 * anything else, arrays included, replaces; a JSON null deletes the key).
 * 0 or TC_ERR_NOMEM. */
int tc_json_deep_merge(json_t *target, const json_t *patch);

/* kubernetes.podTemplate merged into a Job's pod template as a strategic
 * merge patch would be: objects deep-merged (null deletes a key);
 * spec.containers, spec.initContainers and spec.volumes merged entry by
 * entry on name, and inside a container env on name and volumeMounts on
 * mountPath (a new entry is appended); other lists replaced.  The spec
 * loader has refused patches that would remove trainctl's own container,
 * volumes or mounts.  0 or TC_ERR_NOMEM. */
int tc_k8s_merge_template(json_t *tmpl, const json_t *patch);

#endif
