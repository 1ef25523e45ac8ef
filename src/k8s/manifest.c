/*
 * manifest.c — a trial as Kubernetes objects (see manifest.h for what each
 * object holds), built with jansson as data: every string the user wrote
 * lands in a JSON string value, never in text that is parsed again.
 *
 * The spec loader has already checked the types and shapes of the
 * kubernetes: keys (src/spec/spec.c), so the builders here read
 * spec->kubernetes trusting its shape; they still never dereference a
 * value of the wrong JSON type (a missing or odd key is skipped), so a
 * spec built by hand cannot crash them.
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

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define DEFAULT_GPU_RESOURCE "nvidia.com/gpu"
#define DEFAULT_TTL 86400
#define MAX_INDEXED 100000 /* the API's limit on an Indexed Job's
			      completions and parallelism */
#define COMPLETION_INDEX \
	"metadata.annotations['batch.kubernetes.io/job-completion-index']"

/* Variables a multi-node trial gets from trainctl, in this order. */
static const char *const dist_vars[] = {"WORLD_SIZE", "RANK", "MASTER_ADDR",
					"MASTER_PORT"};
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

int tc_k8s_is_dns_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Reading spec->kubernetes                                             */
/* ------------------------------------------------------------------ */

static const json_t *kget(const struct tc_spec *spec, const char *key)
{
	const json_t *v = spec->kubernetes
				  ? json_object_get(spec->kubernetes, key)
				  : NULL;

	return json_is_null(v) ? NULL : v;
}

static const char *kstr(const struct tc_spec *spec, const char *key)
{
	return json_string_value(kget(spec, key));
}

static const char *gpu_resource(const struct tc_spec *spec)
{
	const char *s = kstr(spec, "gpuResource");

	return s && *s ? s : DEFAULT_GPU_RESOURCE;
}

/* A CPU quantity as the loader accepted it: a number or "500m". */
static int json_cores(const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v))
		return tc_parse_cpu(json_string_value(v), out);
	return -1;
}

/* A byte quantity as the loader accepted it: a number or "8Gi". */
static int json_bytes(const json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = ceil(json_real_value(v));

		if (!(d >= 0 && d < 9223372036854775808.0))
			return -1;
		*out = (long long)d;
		return 0;
	}
	if (json_is_string(v))
		return tc_parse_bytes(json_string_value(v), out);
	return -1;
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
	const json_t *user = kget(spec, "labels");
	const char *key;
	json_t *v;

	set(b, l, TC_K8S_LABEL_EXP, json_string(t->experiment));
	set(b, l, TC_K8S_LABEL_TRIAL, json_string(t->id));
	if (with_attempt) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%d", t->attempt);
		set(b, l, TC_K8S_LABEL_ATTEMPT, json_string(buf));
	}
	if (json_is_object(user)) {
		json_object_foreach((json_t *)user, key, v) {
			if (json_is_string(v) && !json_object_get(l, key))
				set(b, l, key, json_string(json_string_value(v)));
		}
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
	const json_t *limits = kget(spec, "limits");
	double cores = spec->resources.cpu;

	if (cores <= 0)
		json_cores(json_object_get(limits, "cpu"), &cores);
	if (!(cores > 0))
		return 1;
	return (millicores(cores) + 999) / 1000;
}

static int is_dist_var(const char *name)
{
	for (size_t i = 0; i < 4; i++)
		if (strcmp(name, dist_vars[i]) == 0)
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
		if (!json_object_get(t->env, thread_vars[i]))
			env_add(b, env, thread_vars[i], buf);
	/* print() reaches the pod's log (and live metrics) as it happens */
	if (!json_object_get(t->env, "PYTHONUNBUFFERED"))
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
	const json_t *lim = kget(spec, "limits");
	json_t *req = json_object(), *limits, *r, *v;
	double cores;
	long long bytes;

	if (spec->resources.cpu > 0)
		set(b, req, "cpu", cpu_quantity(spec->resources.cpu));
	if (spec->resources.memory > 0)
		set(b, req, "memory", byte_quantity(spec->resources.memory));
	if (spec->resources.gpu > 0) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%d", spec->resources.gpu);
		set(b, req, gpu, json_string(buf));
	}
	limits = json_deep_copy(req);
	if (json_cores(json_object_get(lim, "cpu"), &cores) == 0)
		set(b, limits, "cpu", cpu_quantity(cores));
	if (json_bytes(json_object_get(lim, "memory"), &bytes) == 0)
		set(b, limits, "memory", byte_quantity(bytes));
	v = json_object_get(lim, "gpu");
	if (!v)
		v = json_object_get(lim, gpu);
	if (json_is_integer(v)) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%lld",
			 (long long)json_integer_value(v));
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
		    const char *cm_name, json_t *vols, json_t *mounts)
{
	const json_t *list = kget(spec, "volumes"), *e;
	long long shm;
	size_t i;

	push(b, vols, json_pack("{s:s, s:{}}", "name", "trainctl-trial",
				"emptyDir"));
	push(b, mounts, mount(b, "trainctl-trial", TC_K8S_TRIAL_DIR, 0, NULL));
	push(b, vols, json_pack("{s:s, s:{s:s}}", "name", "trainctl-params",
				"configMap", "name", cm_name));
	push(b, mounts, mount(b, "trainctl-params", TC_K8S_PARAMS_DIR, 1, NULL));

	json_array_foreach(list, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *path =
			json_string_value(json_object_get(e, "mountPath"));
		const char *claim =
			json_string_value(json_object_get(e, "claim"));
		const char *sub =
			json_string_value(json_object_get(e, "subPath"));
		const json_t *nfs = json_object_get(e, "nfs");
		int ro = json_is_true(json_object_get(e, "readOnly"));
		json_t *vol, *src;

		if (!name || !path || (!claim && !json_is_object(nfs)))
			continue; /* the loader refuses these */
		vol = json_object();
		set(b, vol, "name", json_string(name));
		if (claim) {
			src = set(b, vol, "persistentVolumeClaim",
				  json_object());
			set(b, src, "claimName", json_string(claim));
			if (ro)
				set(b, src, "readOnly", json_true());
		} else {
			src = set(b, vol, "nfs", json_object());
			set(b, src, "server",
			    copy(json_object_get(nfs, "server")));
			set(b, src, "path", copy(json_object_get(nfs, "path")));
			if (json_is_true(json_object_get(nfs, "readOnly")))
				set(b, src, "readOnly", json_true());
		}
		push(b, vols, vol);
		push(b, mounts, mount(b, name, path, ro, sub));
	}

	if (json_bytes(kget(spec, "shm"), &shm) == 0 && shm > 0) {
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

json_t *tc_k8s_job(const struct tc_spec *spec, const char *ns,
		   const struct tc_k8s_trial *t, struct tc_error *err)
{
	struct build b = {0};
	char *job, *cm;
	json_t *o, *js, *tmpl, *tmeta, *pod, *ctr, *res, *vols, *mounts;
	const json_t *v;
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
	if ((s = kstr(spec, "queue")))
		set(&b, json_object_get(json_object_get(o, "metadata"), "labels"),
		    "kueue.x-k8s.io/queue-name", json_string(s));

	js = set(&b, o, "spec", json_object());
	set(&b, js, "completions", json_integer(spec->nodes));
	set(&b, js, "parallelism", json_integer(spec->nodes));
	if (spec->nodes > 1)
		set(&b, js, "completionMode", json_string("Indexed"));
	if (json_is_integer(v = kget(spec, "backoffLimit")))
		backoff = json_integer_value(v);
	set(&b, js, "backoffLimit", json_integer(backoff));
	if (spec->run.timeout > 0) {
		double d = ceil(spec->run.timeout);

		set(&b, js, "activeDeadlineSeconds",
		    json_integer(d < 9e18 ? (json_int_t)d : (json_int_t)9e18));
	}
	if (json_is_integer(v = kget(spec, "ttlSecondsAfterFinished")))
		ttl = json_integer_value(v);
	set(&b, js, "ttlSecondsAfterFinished", json_integer(ttl));

	tmpl = set(&b, js, "template", json_object());
	tmeta = set(&b, tmpl, "metadata", json_object());
	set(&b, tmeta, "labels", labels(&b, spec, t, 1));
	pod = set(&b, tmpl, "spec", json_object());
	set(&b, pod, "restartPolicy", json_string("Never"));
	if (spec->nodes > 1)
		set(&b, pod, "subdomain", json_string(job));
	if ((s = kstr(spec, "serviceAccount")))
		set(&b, pod, "serviceAccountName", json_string(s));
	if (json_is_array(v = kget(spec, "imagePullSecrets"))) {
		json_t *arr = set(&b, pod, "imagePullSecrets", json_array());
		const json_t *e;
		size_t i;

		json_array_foreach(v, i, e)
			if (json_is_string(e))
				push(&b, arr,
				     json_pack("{s:s}", "name",
					       json_string_value(e)));
	}
	if ((s = kstr(spec, "priorityClass")))
		set(&b, pod, "priorityClassName", json_string(s));
	if (json_is_object(v = kget(spec, "nodeSelector")))
		set(&b, pod, "nodeSelector", copy(v));
	if (json_is_array(v = kget(spec, "tolerations")))
		set(&b, pod, "tolerations", copy(v));
	if (json_is_object(v = kget(spec, "affinity")))
		set(&b, pod, "affinity", copy(v));

	ctr = json_object();
	set(&b, ctr, "name", json_string("trial"));
	set(&b, ctr, "image", json_string(kstr(spec, "image") ? kstr(spec, "image")
							      : ""));
	set(&b, ctr, "command", copy(t->argv));
	if (spec->workdir && spec->workdir[0] == '/')
		set(&b, ctr, "workingDir", json_string(spec->workdir));
	set(&b, ctr, "env", container_env(&b, spec, t, job));
	if ((res = container_resources(&b, spec)))
		set(&b, ctr, "resources", res);
	vols = json_array();
	mounts = json_array();
	volumes(&b, spec, cm, vols, mounts);
	set(&b, ctr, "volumeMounts", mounts);
	set(&b, pod, "containers", json_pack("[o]", ctr));
	set(&b, pod, "volumes", vols);

	if (json_is_object(v = kget(spec, "podTemplate")) && tmpl &&
	    tc_json_deep_merge(tmpl, v) != 0)
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

/* ------------------------------------------------------------------ */
/* Checks                                                               */
/* ------------------------------------------------------------------ */

/*
 * Where a top-level key of the spec starts (1-based), or 1:1 when it is
 * not there.  The spec keeps no positions for the kubernetes: section, so
 * its text is read again with libyaml's event parser (it parsed once, so
 * it parses again).
 */
static void top_key_pos(const struct tc_spec *spec, const char *key,
			int *line, int *col)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, want_key = 0, done = 0;

	*line = *col = 1;
	if (!spec->text || !yaml_parser_initialize(&p))
		return;
	yaml_parser_set_input_string(&p, (const unsigned char *)spec->text,
				     spec->text_len);
	while (!done && yaml_parser_parse(&p, &ev)) {
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth == 1)
				want_key = !want_key;
			if (depth == 0 && ev.type == YAML_MAPPING_START_EVENT)
				want_key = 1;
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			if (depth != 1)
				break;
			if (want_key && ev.type == YAML_SCALAR_EVENT &&
			    strcmp((const char *)ev.data.scalar.value, key) ==
				    0) {
				*line = (int)ev.start_mark.line + 1;
				*col = (int)ev.start_mark.column + 1;
				done = 1;
			}
			want_key = !want_key;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
}

int tc_k8s_check(const struct tc_spec *spec, struct tc_error *err)
{
	const char *image = kstr(spec, "image");
	int line, col;

	tc_error_clear(err);
	if (!image || !*image) {
		top_key_pos(spec, "kubernetes", &line, &col);
		return tc_error_at(err, TC_ERR_SPEC, spec->path, line, col,
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
		top_key_pos(spec, "nodes", &line, &col);
		return tc_error_at(err, TC_ERR_SPEC, spec->path, line, col,
				   "nodes: %d is more than the %d pods a "
				   "Kubernetes Indexed Job may have",
				   spec->nodes, MAX_INDEXED);
	}
	if (spec->nodes > 1) {
		for (size_t i = 0; i < spec->nenv; i++)
			for (size_t k = 0; k < 4; k++)
				if (strcmp(spec->env[i].key, dist_vars[k]) == 0)
					return tc_error_at(
						err, TC_ERR_SPEC, spec->path,
						spec->env[i].pos.line,
						spec->env[i].pos.col,
						"env: %s is set by trainctl for "
						"a multi-node trial (nodes: "
						"%d); remove it",
						dist_vars[k], spec->nodes);
	}
	return 0;
}
