/*
 * manifest.c — a trial as Kubernetes objects (see manifest.h for what each
 * object holds), built with jansson as data: every string the user wrote
 * lands in a JSON string value, never in text that is parsed again.
 *
 * The spec loader has already checked the kubernetes: section and typed
 * it (spec->k8s, see kspec.h), quantities parsed; the builders here read
 * that struct as it is.
 *
 * Object key order is the order of construction (jansson keeps insertion
 * order), so `plan --render` output is stable and reads top-down:
 * apiVersion, kind, metadata, spec.
 *
 * Quantities are written as strings Kubernetes parses back to exactly the
 * value asked for: CPU in whole cores ("4") or millicores ("4800m", rounded
 * up to the next millicore, the API's resolution); bytes with the largest
 * binary suffix that divides them exactly ("24Gi", "1536Mi"), else as a
 * plain number of bytes ("1000000000").
 */
#include "k8s/manifest.h"

#include "k8s/kspec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define DEFAULT_GPU_RESOURCE "nvidia.com/gpu"
#define DEFAULT_TTL 86400
#define MAX_INDEXED 100000 /* the API's limit on an Indexed Job's
			      completions and parallelism */
#define COMPLETION_INDEX \
	"metadata.annotations['batch.kubernetes.io/job-completion-index']"

static const char *const thread_vars[] = {
	"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"};

/* ------------------------------------------------------------------ */
/* Names                                                                */
/* ------------------------------------------------------------------ */

char *tc_k8s_configmap_name(const char *exp, const char *id)
{
	size_t n = strlen(exp) + strlen(id) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s-%s", exp, id);
	return s;
}

char *tc_k8s_job_name(const char *exp, const char *id, int attempt)
{
	size_t n = strlen(exp) + strlen(id) + 16;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s-%s-%d", exp, id, attempt);
	return s;
}

static const char *gpu_resource(const struct tc_spec *spec)
{
	const char *s = spec->k8s->gpu_resource.text;

	return s && *s ? s : DEFAULT_GPU_RESOURCE;
}

/* ------------------------------------------------------------------ */
/* Quantities                                                           */
/* ------------------------------------------------------------------ */

static long long millicores(double cores)
{
	double m = ceil(cores * 1000.0 - 1e-6); /* 4.8 * 1000 is 4800.0000001 */

	if (m < 1)
		return 1;
	if (m > 9e18)
		return 9000000000000000000LL;
	return (long long)m;
}

static json_t *cpu_quantity(double cores)
{
	long long m = millicores(cores);
	char buf[32];

	if (m % 1000 == 0)
		snprintf(buf, sizeof(buf), "%lld", m / 1000);
	else
		snprintf(buf, sizeof(buf), "%lldm", m);
	return json_string(buf);
}

static json_t *byte_quantity(long long bytes)
{
	static const char *const sfx[] = {"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};
	char buf[32];

	for (int i = 0; i < 6 && bytes > 0; i++) {
		long long unit = 1LL << (10 * (6 - i));

		if (bytes % unit == 0) {
			snprintf(buf, sizeof(buf), "%lld%s", bytes / unit,
				 sfx[i]);
			return json_string(buf);
		}
	}
	snprintf(buf, sizeof(buf), "%lld", bytes);
	return json_string(buf);
}

/* A byte quantity as the user wrote it ("28.8Gi", which the API reads
 * as the same amount), else from the bytes. */
static json_t *quantity(const char *text, long long bytes)
{
	return text ? json_string(text) : byte_quantity(bytes);
}

/* ------------------------------------------------------------------ */
/* Building                                                             */
/* ------------------------------------------------------------------ */

/* A build: jansson calls whose failure (out of memory) is remembered
 * instead of checked one by one; the result is thrown away at the end if
 * any failed.  set()/push() take ownership of v even when they fail. */
struct build {
	int nomem;
};

static json_t *set(struct build *b, json_t *obj, const char *key, json_t *v)
{
	if (!obj) {
		json_decref(v);
		b->nomem = 1;
	} else if (json_object_set_new(obj, key, v) != 0) {
		b->nomem = 1;
	}
	return v;
}

static json_t *push(struct build *b, json_t *arr, json_t *v)
{
	if (!arr) {
		json_decref(v);
		b->nomem = 1;
	} else if (json_array_append_new(arr, v) != 0) {
		b->nomem = 1;
	}
	return v;
}

/* A copy of a value from the spec (the spec keeps its own). */
static json_t *copy(const json_t *v)
{
	return json_deep_copy(v);
}

static int check_trial(const struct tc_k8s_trial *t, struct tc_error *err)
{
	if (!t || !t->experiment || !t->id || t->attempt < 1 ||
	    !json_is_array(t->argv) || json_array_size(t->argv) == 0 ||
	    (t->env && !json_is_object(t->env)))
		return tc_error_set(err, TC_ERR_INTERNAL,
				    "manifest: incomplete trial description");
	return 0;
}

/* The labels every object of the trial carries, then the spec's. */
static json_t *labels(struct build *b, const struct tc_spec *spec,
		      const struct tc_k8s_trial *t, int with_attempt)
{
	json_t *l = json_object();

	set(b, l, TC_K8S_LABEL_EXP, json_string(t->experiment));
	set(b, l, TC_K8S_LABEL_TRIAL, json_string(t->id));
	if (with_attempt) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%d", t->attempt);
		set(b, l, TC_K8S_LABEL_ATTEMPT, json_string(buf));
	}
	for (size_t i = 0; i < spec->k8s->nlabels; i++) {
		const struct tc_klabel *u = &spec->k8s->labels[i];

		if (!json_object_get(l, u->key))
			set(b, l, u->key, json_string(u->value));
	}
	if (!l)
		b->nomem = 1;
	return l;
}

static json_t *metadata(struct build *b, const char *name, const char *ns,
			json_t *labels_obj)
{
	json_t *m = json_object();

	set(b, m, "name", json_string(name));
	if (ns)
		set(b, m, "namespace", json_string(ns));
	set(b, m, "labels", labels_obj);
	if (!m)
		b->nomem = 1;
	return m;
}

static json_t *object(struct build *b, const char *api, const char *kind,
		      json_t *meta)
{
	json_t *o = json_object();

	set(b, o, "apiVersion", json_string(api));
	set(b, o, "kind", json_string(kind));
	set(b, o, "metadata", meta);
	if (!o)
		b->nomem = 1;
	return o;
}

static json_t *finish(struct build *b, json_t *o, struct tc_error *err)
{
	if (b->nomem || !o) {
		json_decref(o);
		tc_error_set(err, TC_ERR_NOMEM,
			     "out of memory while building a manifest");
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------------ */
/* Environment                                                          */
/* ------------------------------------------------------------------ */

static int env_has(const json_t *env, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(env, i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));

		if (n && strcmp(n, name) == 0)
			return 1;
	}
	return 0;
}

static void env_add(struct build *b, json_t *env, const char *name,
		    const char *value)
{
	json_t *e = json_object();

	set(b, e, "name", json_string(name));
	set(b, e, "value", json_string(value));
	push(b, env, e);
}

/* The threads a trial gets: its CPU request rounded up (else its CPU
 * limit, which Kubernetes then uses as the request), at least 1. */
static long long threads(const struct tc_spec *spec)
{
	double cores = spec->resources.cpu;

	if (cores <= 0)
		cores = spec->k8s->limits.cpu;
	if (!(cores > 0))
		return 1;
	return (millicores(cores) + 999) / 1000;
}

/* Whether the spec's env: gives name as a reference (not in t->env). */
static int env_ref(const struct tc_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nenv; i++)
		if (spec->env[i].ref != TC_ENV_LITERAL &&
		    strcmp(spec->env[i].key, name) == 0)
			return 1;
	return 0;
}

static int is_dist_var(const char *name)
{
	for (size_t i = 0; i < TC_RENDEZVOUS_NVARS; i++)
		if (strcmp(name, tc_spec_rendezvous_vars[i]) == 0)
			return 1;
	return 0;
}

static json_t *container_env(struct build *b, const struct tc_spec *spec,
			     const struct tc_k8s_trial *t, const char *job)
{
	json_t *env = json_array();
	const char *key;
	json_t *v;
	char buf[64];

	env_add(b, env, "TRAINCTL_EXPERIMENT", t->experiment);
	env_add(b, env, "TRAINCTL_TRIAL", t->id);
	snprintf(buf, sizeof(buf), "%d", t->attempt);
	env_add(b, env, "TRAINCTL_ATTEMPT", buf);
	env_add(b, env, "TRAINCTL_PARAMS", t->params_json ? t->params_json
							  : "{}");
	env_add(b, env, "TRAINCTL_TRIAL_DIR", TC_K8S_TRIAL_DIR);
	env_add(b, env, "TRAINCTL_METRICS_FILE", "/dev/stdout");
	snprintf(buf, sizeof(buf), "%lld", threads(spec));
	for (size_t i = 0; i < 3; i++)
		if (!json_object_get(t->env, thread_vars[i]) &&
		    !env_ref(spec, thread_vars[i]))
			env_add(b, env, thread_vars[i], buf);
	/* print() reaches the pod's log (and live metrics) as it happens */
	if (!json_object_get(t->env, "PYTHONUNBUFFERED") &&
	    !env_ref(spec, "PYTHONUNBUFFERED"))
		env_add(b, env, "PYTHONUNBUFFERED", "1");
	/* What trainctl sets wins over the spec's env (tc_k8s_check refuses
	 * a spec that tries), so no name appears twice. */
	if (t->env) {
		json_object_foreach((json_t *)t->env, key, v) {
			if (!json_is_string(v) || env_has(env, key) ||
			    (spec->nodes > 1 && is_dist_var(key)))
				continue;
			env_add(b, env, key, json_string_value(v));
		}
	}
	/* then the spec's references, resolved by the kubelet (a {file:}
	 * one is refused by tc_k8s_check) */
	for (size_t i = 0; i < spec->nenv; i++) {
		const struct tc_kv *kv = &spec->env[i];
		json_t *e;

		if (kv->ref == TC_ENV_LITERAL || kv->ref == TC_ENV_FILE ||
		    env_has(env, kv->key) ||
		    (spec->nodes > 1 && is_dist_var(kv->key)))
			continue;
		if (kv->ref == TC_ENV_FIELD)
			e = json_pack("{s:s, s:{s:{s:s}}}", "name", kv->key,
				      "valueFrom", "fieldRef", "fieldPath",
				      kv->ref_name);
		else
			e = json_pack("{s:s, s:{s:{s:s, s:s}}}", "name",
				      kv->key, "valueFrom",
				      kv->ref == TC_ENV_SECRET
					      ? "secretKeyRef"
					      : "configMapKeyRef",
				      "name", kv->ref_name, "key", kv->ref_key);
		push(b, env, e);
	}
	if (spec->nodes > 1) {
		snprintf(buf, sizeof(buf), "%d", spec->nodes);
		env_add(b, env, "WORLD_SIZE", buf);
		push(b, env,
		     json_pack("{s:s, s:{s:{s:s}}}", "name", "RANK", "valueFrom",
			       "fieldRef", "fieldPath", COMPLETION_INDEX));
		{
			char addr[160];

			snprintf(addr, sizeof(addr), "%s-0.%s", job, job);
			env_add(b, env, "MASTER_ADDR", addr);
		}
		snprintf(buf, sizeof(buf), "%d", TC_K8S_MASTER_PORT);
		env_add(b, env, "MASTER_PORT", buf);
		/* torchrun's names too: each pod is one node of one process,
		 * so the node's rank is the pod's index */
		env_add(b, env, "LOCAL_RANK", "0");
		env_add(b, env, "LOCAL_WORLD_SIZE", "1");
		push(b, env,
		     json_pack("{s:s, s:{s:{s:s}}}", "name", "GROUP_RANK",
			       "valueFrom", "fieldRef", "fieldPath",
			       COMPLETION_INDEX));
	}
	if (!env)
		b->nomem = 1;
	return env;
}

/* ------------------------------------------------------------------ */
/* Resources and volumes                                                */
/* ------------------------------------------------------------------ */

/* {requests, limits}, limits equal to the requests except where
 * kubernetes.limits says otherwise; NULL when there is nothing to say. */
static json_t *container_resources(struct build *b,
				   const struct tc_spec *spec)
{
	const char *gpu = gpu_resource(spec);
	const struct tc_kspec *ks = spec->k8s;
	json_t *req = json_object(), *limits, *r;

	if (spec->resources.cpu > 0)
		set(b, req, "cpu", cpu_quantity(spec->resources.cpu));
	if (spec->resources.memory > 0)
		set(b, req, "memory",
		    quantity(spec->resources.memory_text,
			     spec->resources.memory));
	if (spec->resources.ephemeral > 0)
		set(b, req, "ephemeral-storage",
		    quantity(spec->resources.ephemeral_text,
			     spec->resources.ephemeral));
	if (spec->resources.gpu > 0) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%d", spec->resources.gpu);
		set(b, req, gpu, json_string(buf));
	}
	limits = json_deep_copy(req);
	if (ks->limits.cpu >= 0)
		set(b, limits, "cpu", cpu_quantity(ks->limits.cpu));
	if (ks->limits.memory >= 0)
		set(b, limits, "memory",
		    quantity(ks->limit_memory_text, ks->limits.memory));
	if (ks->limit_ephemeral >= 0)
		set(b, limits, "ephemeral-storage",
		    quantity(ks->limit_ephemeral_text, ks->limit_ephemeral));
	if (ks->limits.gpu >= 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%d", ks->limits.gpu);
		set(b, limits, gpu, json_string(buf));
	}
	if (!req || !limits) {
		b->nomem = 1;
		json_decref(req);
		json_decref(limits);
		return NULL;
	}
	if (json_object_size(req) == 0 && json_object_size(limits) == 0) {
		json_decref(req);
		json_decref(limits);
		return NULL;
	}
	r = json_object();
	if (json_object_size(req))
		set(b, r, "requests", req);
	else
		json_decref(req);
	if (json_object_size(limits))
		set(b, r, "limits", limits);
	else
		json_decref(limits);
	if (!r)
		b->nomem = 1;
	return r;
}

static json_t *mount(struct build *b, const char *name, const char *path,
		     int read_only, const char *sub_path)
{
	json_t *m = json_object();

	set(b, m, "name", json_string(name));
	set(b, m, "mountPath", json_string(path));
	if (read_only)
		set(b, m, "readOnly", json_true());
	if (sub_path)
		set(b, m, "subPath", json_string(sub_path));
	if (!m)
		b->nomem = 1;
	return m;
}

/* The pod's volumes and the container's mounts: trainctl's own two, the
 * spec's, then /dev/shm. */
static void volumes(struct build *b, const struct tc_spec *spec,
		    const struct tc_k8s_trial *t, const char *cm_name,
		    json_t *vols, json_t *mounts)
{
	long long shm = spec->k8s->shm;
	const char *claim = spec->k8s->trial_volume.claim;

	if (claim) {
		/* PREFIX/<experiment>/<trial id> on the claim: one directory a
		 * trial, the same for all its attempts */
		const char *pre = spec->k8s->trial_volume.sub_path;
		size_t n = (pre ? strlen(pre) : 0) + strlen(t->experiment) +
			   strlen(t->id) + 3;
		char *sub = malloc(n);

		if (sub) {
			size_t pl = pre ? strlen(pre) : 0;

			while (pl > 0 && pre[pl - 1] == '/')
				pl--;
			if (pl)
				snprintf(sub, n, "%.*s/%s/%s", (int)pl, pre,
					 t->experiment, t->id);
			else
				snprintf(sub, n, "%s/%s", t->experiment, t->id);
		} else {
			b->nomem = 1;
		}
		push(b, vols, json_pack("{s:s, s:{s:s}}", "name",
					"trainctl-trial", "persistentVolumeClaim",
					"claimName", claim));
		push(b, mounts, mount(b, "trainctl-trial", TC_K8S_TRIAL_DIR, 0,
				      sub ? sub : ""));
		free(sub);
	} else {
		push(b, vols, json_pack("{s:s, s:{}}", "name", "trainctl-trial",
					"emptyDir"));
		push(b, mounts,
		     mount(b, "trainctl-trial", TC_K8S_TRIAL_DIR, 0, NULL));
	}
	push(b, vols, json_pack("{s:s, s:{s:s}}", "name", "trainctl-params",
				"configMap", "name", cm_name));
	push(b, mounts, mount(b, "trainctl-params", TC_K8S_PARAMS_DIR, 1, NULL));

	for (size_t i = 0; i < spec->k8s->nvolumes; i++) {
		const struct tc_kvolume *v = &spec->k8s->volumes[i];
		json_t *vol = json_object(), *src;

		set(b, vol, "name", json_string(v->name));
		if (v->claim) {
			src = set(b, vol, "persistentVolumeClaim",
				  json_object());
			set(b, src, "claimName", json_string(v->claim));
			if (v->read_only)
				set(b, src, "readOnly", json_true());
		} else if (v->nfs_server) {
			src = set(b, vol, "nfs", json_object());
			set(b, src, "server", json_string(v->nfs_server));
			set(b, src, "path", json_string(v->nfs_path));
			if (v->nfs_read_only)
				set(b, src, "readOnly", json_true());
		} else if (v->empty_dir) {
			src = set(b, vol, "emptyDir", json_object());
			if (v->medium)
				set(b, src, "medium", json_string(v->medium));
			if (v->size_limit)
				set(b, src, "sizeLimit",
				    json_string(v->size_limit));
		} else if (v->secret) {
			src = set(b, vol, "secret", json_object());
			set(b, src, "secretName", json_string(v->secret));
		} else {
			src = set(b, vol, "configMap", json_object());
			set(b, src, "name", json_string(v->config_map));
		}
		push(b, vols, vol);
		push(b, mounts, mount(b, v->name, v->mount_path, v->read_only,
				      v->sub_path));
	}

	if (shm > 0) {
		json_t *vol = json_object(), *ed;

		set(b, vol, "name", json_string("dshm"));
		ed = set(b, vol, "emptyDir", json_object());
		set(b, ed, "medium", json_string("Memory"));
		set(b, ed, "sizeLimit", byte_quantity(shm));
		push(b, vols, vol);
		push(b, mounts, mount(b, "dshm", "/dev/shm", 0, NULL));
	}
}

/* ------------------------------------------------------------------ */
/* The objects                                                          */
/* ------------------------------------------------------------------ */

json_t *tc_k8s_configmap(const struct tc_spec *spec, const char *ns,
			 const struct tc_k8s_trial *t, struct tc_error *err)
{
	struct build b = {0};
	char *name, *text;
	json_t *o, *data;
	size_t n;

	if (check_trial(t, err))
		return NULL;
	name = tc_k8s_configmap_name(t->experiment, t->id);
	n = strlen(t->params_json ? t->params_json : "{}");
	text = malloc(n + 2);
	if (!name || !text) {
		free(name);
		free(text);
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	memcpy(text, t->params_json ? t->params_json : "{}", n);
	text[n] = '\n';
	text[n + 1] = '\0';
	o = object(&b, "v1", "ConfigMap",
		   metadata(&b, name, ns, labels(&b, spec, t, 0)));
	data = set(&b, o, "data", json_object());
	set(&b, data, "params.json", json_string(text));
	free(name);
	free(text);
	return finish(&b, o, err);
}

json_t *tc_k8s_service(const struct tc_spec *spec, const char *ns,
		       const struct tc_k8s_trial *t, struct tc_error *err)
{
	struct build b = {0};
	char *name;
	json_t *o, *s, *sel, *port;
	char buf[16];

	tc_error_clear(err);
	if (spec->nodes <= 1)
		return NULL;
	if (check_trial(t, err))
		return NULL;
	name = tc_k8s_job_name(t->experiment, t->id, t->attempt);
	if (!name) {
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	o = object(&b, "v1", "Service",
		   metadata(&b, name, ns, labels(&b, spec, t, 1)));
	s = set(&b, o, "spec", json_object());
	set(&b, s, "clusterIP", json_string("None"));
	sel = set(&b, s, "selector", json_object());
	set(&b, sel, TC_K8S_LABEL_EXP, json_string(t->experiment));
	set(&b, sel, TC_K8S_LABEL_TRIAL, json_string(t->id));
	snprintf(buf, sizeof(buf), "%d", t->attempt);
	set(&b, sel, TC_K8S_LABEL_ATTEMPT, json_string(buf));
	set(&b, s, "publishNotReadyAddresses", json_true());
	port = json_pack("{s:s, s:i, s:i, s:s}", "name", "master", "port",
			 TC_K8S_MASTER_PORT, "targetPort", TC_K8S_MASTER_PORT,
			 "protocol", "TCP");
	set(&b, s, "ports", json_pack("[o]", port));
	free(name);
	return finish(&b, o, err);
}

/* The pod's tolerations, their fields in the API's order. */
static json_t *tolerations(struct build *b, const struct tc_kspec *ks)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < ks->ntolerations; i++) {
		const struct tc_ktoleration *t = &ks->tolerations[i];
		json_t *o = push(b, arr, json_object());

		if (t->key)
			set(b, o, "key", json_string(t->key));
		if (t->op)
			set(b, o, "operator", json_string(t->op));
		if (t->value)
			set(b, o, "value", json_string(t->value));
		if (t->effect)
			set(b, o, "effect", json_string(t->effect));
		if (t->has_seconds)
			set(b, o, "tolerationSeconds",
			    json_integer((json_int_t)t->seconds));
	}
	return arr;
}

json_t *tc_k8s_job(const struct tc_spec *spec, const char *ns,
		   const struct tc_k8s_trial *t, struct tc_error *err)
{
	const struct tc_kspec *ks = spec->k8s;
	struct build b = {0};
	char *job, *cm;
	json_t *o, *js, *tmpl, *tmeta, *pod, *ctr, *res, *vols, *mounts;
	const char *s;
	json_int_t backoff = 0, ttl = DEFAULT_TTL;

	if (check_trial(t, err))
		return NULL;
	job = tc_k8s_job_name(t->experiment, t->id, t->attempt);
	cm = tc_k8s_configmap_name(t->experiment, t->id);
	if (!job || !cm) {
		free(job);
		free(cm);
		tc_error_set(err, TC_ERR_NOMEM, "out of memory");
		return NULL;
	}

	o = object(&b, "batch/v1", "Job",
		   metadata(&b, job, ns, labels(&b, spec, t, 1)));
	if ((s = ks->queue.text))
		set(&b, json_object_get(json_object_get(o, "metadata"), "labels"),
		    "kueue.x-k8s.io/queue-name", json_string(s));

	js = set(&b, o, "spec", json_object());
	set(&b, js, "completions", json_integer(spec->nodes));
	set(&b, js, "parallelism", json_integer(spec->nodes));
	if (spec->nodes > 1)
		set(&b, js, "completionMode", json_string("Indexed"));
	if (ks->backoff_limit >= 0)
		backoff = ks->backoff_limit;
	set(&b, js, "backoffLimit", json_integer(backoff));
	if (spec->run.timeout > 0) {
		double d = ceil(spec->run.timeout);

		set(&b, js, "activeDeadlineSeconds",
		    json_integer(d < 9e18 ? (json_int_t)d : (json_int_t)9e18));
	}
	if (ks->ttl >= 0)
		ttl = ks->ttl;
	set(&b, js, "ttlSecondsAfterFinished", json_integer(ttl));

	tmpl = set(&b, js, "template", json_object());
	tmeta = set(&b, tmpl, "metadata", json_object());
	set(&b, tmeta, "labels", labels(&b, spec, t, 1));
	pod = set(&b, tmpl, "spec", json_object());
	set(&b, pod, "restartPolicy", json_string("Never"));
	if (spec->nodes > 1)
		set(&b, pod, "subdomain", json_string(job));
	if ((s = ks->service_account.text))
		set(&b, pod, "serviceAccountName", json_string(s));
	if (ks->pull_secrets) {
		json_t *arr = set(&b, pod, "imagePullSecrets", json_array());

		for (size_t i = 0; i < ks->npull_secrets; i++)
			push(&b, arr, json_pack("{s:s}", "name",
						ks->pull_secrets[i].text));
	}
	if ((s = ks->priority_class.text))
		set(&b, pod, "priorityClassName", json_string(s));
	if (ks->node_selector) {
		json_t *sel = set(&b, pod, "nodeSelector", json_object());

		for (size_t i = 0; i < ks->nnode_selector; i++)
			set(&b, sel, ks->node_selector[i].key,
			    json_string(ks->node_selector[i].value));
	}
	if (ks->tolerations)
		set(&b, pod, "tolerations", tolerations(&b, ks));
	if (ks->affinity)
		set(&b, pod, "affinity", copy(ks->affinity));

	ctr = json_object();
	set(&b, ctr, "name", json_string("trial"));
	set(&b, ctr, "image",
	    json_string(ks->image.text ? ks->image.text : ""));
	set(&b, ctr, "command", copy(t->argv));
	if (spec->workdir && spec->workdir[0] == '/')
		set(&b, ctr, "workingDir", json_string(spec->workdir));
	set(&b, ctr, "env", container_env(&b, spec, t, job));
	if (ks->env_from) {
		json_t *arr = set(&b, ctr, "envFrom", json_array());

		for (size_t i = 0; i < ks->nenv_from; i++)
			push(&b, arr,
			     json_pack("{s:{s:s}}",
				       ks->env_from[i].secret ? "secretRef"
							      : "configMapRef",
				       "name", ks->env_from[i].name));
	}
	if ((res = container_resources(&b, spec)))
		set(&b, ctr, "resources", res);
	vols = json_array();
	mounts = json_array();
	volumes(&b, spec, t, cm, vols, mounts);
	set(&b, ctr, "volumeMounts", mounts);
	set(&b, pod, "containers", json_pack("[o]", ctr));
	set(&b, pod, "volumes", vols);
	if (!b.nomem && pod && ctr && tc_k8s_place_job(spec, t, pod, ctr, err)) {
		free(job);
		free(cm);
		json_decref(o);
		return NULL;
	}

	if (ks->pod_template && tmpl &&
	    tc_k8s_merge_template(tmpl, ks->pod_template) != 0)
		b.nomem = 1;
	free(job);
	free(cm);
	return finish(&b, o, err);
}

/* ------------------------------------------------------------------ */
/* Deep merge                                                           */
/* ------------------------------------------------------------------ */

int tc_json_deep_merge(json_t *target, const json_t *patch)
{
	const char *key;
	json_t *pv;

	if (!json_is_object(target) || !json_is_object(patch))
		return 0;
	json_object_foreach((json_t *)patch, key, pv) {
		json_t *tv = json_object_get(target, key);

		if (json_is_null(pv)) {
			json_object_del(target, key);
		} else if (json_is_object(pv)) {
			/* merged into what is there, or into a fresh object so
			 * the patch's own nulls vanish too */
			if (!json_is_object(tv)) {
				tv = json_object();
				if (!tv || json_object_set_new(target, key, tv))
					return TC_ERR_NOMEM;
			}
			if (tc_json_deep_merge(tv, pv) != 0)
				return TC_ERR_NOMEM;
		} else {
			json_t *c = json_deep_copy(pv);

			if (!c || json_object_set_new(target, key, c) != 0)
				return TC_ERR_NOMEM;
		}
	}
	return 0;
}

/*
 * The strategic merge of a pod template: which lists merge by which key.
 * A list not named here is replaced, as in a JSON merge patch.
 */
struct merge_rule {
	const char *key;       /* the field holding the list */
	const char *merge_key; /* what its entries are matched by */
	const struct merge_rule *inner; /* rules inside an entry, or NULL */
	size_t ninner;
};

static const struct merge_rule container_rules[] = {
	{"env", "name", NULL, 0},
	{"volumeMounts", "mountPath", NULL, 0},
};
static const struct merge_rule pod_rules[] = {
	{"containers", "name", container_rules, 2},
	{"initContainers", "name", container_rules, 2},
	{"volumes", "name", NULL, 0},
};
static const struct merge_rule template_rules[] = {
	{"spec", NULL, pod_rules, 3},
};

static int merge_obj(json_t *target, const json_t *patch,
		     const struct merge_rule *rules, size_t nrules);

/* Entries of patch merged into the list target by merge_key: an entry
 * with the key of one already there is merged into it (with the rules
 * for an entry); others are appended, in the patch's order. */
static int merge_list(json_t *target, const json_t *patch,
		      const struct merge_rule *r)
{
	size_t i, j;
	json_t *pv, *tv;

	json_array_foreach(patch, i, pv) {
		const char *k = json_string_value(json_object_get(pv, r->merge_key));
		json_t *hit = NULL;

		json_array_foreach(target, j, tv) {
			const char *tk =
				json_string_value(json_object_get(tv, r->merge_key));

			if (k && tk && strcmp(k, tk) == 0) {
				hit = tv;
				break;
			}
		}
		if (hit && json_is_object(pv)) {
			if (merge_obj(hit, pv, r->inner, r->ninner) != 0)
				return TC_ERR_NOMEM;
		} else {
			json_t *fresh = json_object();

			if (!fresh || json_array_append_new(target, fresh) != 0)
				return TC_ERR_NOMEM;
			if (json_is_object(pv)) {
				if (merge_obj(fresh, pv, r->inner, r->ninner) != 0)
					return TC_ERR_NOMEM;
			}
		}
	}
	return 0;
}

static int merge_obj(json_t *target, const json_t *patch,
		     const struct merge_rule *rules, size_t nrules)
{
	const char *key;
	json_t *pv;

	json_object_foreach((json_t *)patch, key, pv) {
		const struct merge_rule *r = NULL;
		json_t *tv = json_object_get(target, key);

		for (size_t i = 0; i < nrules; i++)
			if (strcmp(rules[i].key, key) == 0)
				r = &rules[i];
		if (r && r->merge_key && json_is_array(pv)) {
			if (!json_is_array(tv)) {
				tv = json_array();
				if (!tv || json_object_set_new(target, key, tv))
					return TC_ERR_NOMEM;
			}
			if (merge_list(tv, pv, r) != 0)
				return TC_ERR_NOMEM;
		} else if (r && json_is_object(pv)) {
			if (!json_is_object(tv)) {
				tv = json_object();
				if (!tv || json_object_set_new(target, key, tv))
					return TC_ERR_NOMEM;
			}
			if (merge_obj(tv, pv, r->inner, r->ninner) != 0)
				return TC_ERR_NOMEM;
		} else if (json_is_object(pv)) {
			json_t *one = json_object();

			if (!one || json_object_set_new(one, key,
							json_incref(pv)) != 0) {
				json_decref(one);
				return TC_ERR_NOMEM;
			}
			if (tc_json_deep_merge(target, one) != 0) {
				json_decref(one);
				return TC_ERR_NOMEM;
			}
			json_decref(one);
		} else if (json_is_null(pv)) {
			json_object_del(target, key);
		} else {
			json_t *c = json_deep_copy(pv);

			if (!c || json_object_set_new(target, key, c) != 0)
				return TC_ERR_NOMEM;
		}
	}
	return 0;
}

int tc_k8s_merge_template(json_t *tmpl, const json_t *patch)
{
	if (!json_is_object(tmpl) || !json_is_object(patch))
		return 0;
	return merge_obj(tmpl, patch, template_rules, 1);
}

/* ------------------------------------------------------------------ */
/* Checks                                                               */
/* ------------------------------------------------------------------ */

int tc_k8s_check(const struct tc_spec *spec, struct tc_error *err)
{
	const struct tc_pos *kp = &spec->k8s->pos;
	const char *image = spec->k8s->image.text;

	tc_error_clear(err);
	if (!image || !*image) {
		return tc_error_at(err, TC_ERR_SPEC, spec->path,
				   kp->line ? kp->line : 1,
				   kp->line ? kp->col : 1,
				   "kubernetes.image is required for the "
				   "kubernetes backend (the container image "
				   "trials run in, e.g. image: "
				   "ghcr.io/lab/train:1.4)");
	}
	if (spec->workdir && spec->workdir[0] != '/')
		return tc_error_at(err, TC_ERR_SPEC, spec->path,
				   spec->workdir_pos.line, spec->workdir_pos.col,
				   "workdir '%s' is relative: on the kubernetes "
				   "backend it is the container's working "
				   "directory and must be absolute (or leave it "
				   "out: the image's is used)",
				   spec->workdir);
	if (spec->nodes > MAX_INDEXED) {
		return tc_error_at(err, TC_ERR_SPEC, spec->path,
				   spec->nodes_pos.line, spec->nodes_pos.col,
				   "nodes: %d is more than the %d pods a "
				   "Kubernetes Indexed Job may have",
				   spec->nodes, MAX_INDEXED);
	}
	if (spec->nodes > 1 && spec->metrics.all_ranks)
		return tc_error_at(err, TC_ERR_SPEC, spec->path,
				   spec->metrics.pos.line, spec->metrics.pos.col,
				   "metrics: {ranks: all} is for the local "
				   "backend: on kubernetes the metrics are read "
				   "from rank 0's pod log only (leave it out)");
	for (size_t i = 0; i < spec->nenv; i++)
		if (spec->env[i].ref == TC_ENV_FILE)
			return tc_error_at(
				err, TC_ERR_SPEC, spec->path,
				spec->env[i].pos.line, spec->env[i].pos.col,
				"env.%s: {file: %s} is read on this machine by "
				"the local backend only; on Kubernetes put the "
				"value in a Secret and write {secretKeyRef: "
				"{name: NAME, key: KEY}}",
				spec->env[i].key, spec->env[i].ref_name);
	return 0;
}
