/*
 * test_manifest.c — trials as Kubernetes objects: ConfigMap, Job and
 * Service built from spec texts, field by field (names, labels, env,
 * resources and limits, volumes, scheduling options, the pod-template
 * patch, Indexed Jobs for nodes > 1); the deep merge on its own; the
 * checks of tc_k8s_check(); and the loader's checks of the kubernetes:
 * section, each bad input with its exact line:col.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "k8s/manifest.h"
#include "spec/spec.h"

#define HEAD "version: 1\nname: sweep\ncommand: [python, train.py]\n"
#define TRIAL_ID "0123456789ab"

static struct tc_spec *parse_ok(const char *text)
{
	struct tc_spec *s = NULL;
	struct tc_error e;
	char buf[2048];

	if (tc_spec_parse("t.yaml", text, strlen(text), &s, &e) != 0) {
		tc_error_format(&e, buf, sizeof(buf));
		fail_msg("expected a valid spec, got: %s\n--- spec:\n%s", buf,
			 text);
	}
	assert_non_null(s);
	return s;
}

/* text must be refused at line:col with a message containing sub. */
static void expect_error(const char *text, int line, int col, const char *sub)
{
	struct tc_spec *s = (struct tc_spec *)1;
	struct tc_error e;
	char buf[2048];
	int rc = tc_spec_parse("t.yaml", text, strlen(text), &s, &e);

	tc_error_format(&e, buf, sizeof(buf));
	if (rc == 0) {
		tc_spec_free(s);
		fail_msg("expected an error containing '%s', got a valid "
			 "spec:\n%s",
			 sub, text);
	}
	assert_null(s);
	assert_int_equal(rc, TC_ERR_SPEC);
	if (e.line != line || e.col != col || !strstr(e.msg, sub))
		fail_msg("expected %d:%d '%s'\n     got %s\n--- spec:\n%s",
			 line, col, sub, buf, text);
}

/* o at a path of keys; "[N]" indexes an array.  NULL-terminated. */
static json_t *at(json_t *o, ...)
{
	va_list ap;
	const char *k;

	va_start(ap, o);
	while (o && (k = va_arg(ap, const char *))) {
		if (k[0] == '[')
			o = json_array_get(o, strtoul(k + 1, NULL, 10));
		else
			o = json_object_get(o, k);
	}
	va_end(ap);
	return o;
}

static const char *str_at(json_t *o, const char *k1, const char *k2,
			  const char *k3)
{
	return json_string_value(at(o, k1, k2, k3, NULL));
}

static json_t *pod_spec(json_t *job)
{
	return at(job, "spec", "template", "spec", NULL);
}

static json_t *container(json_t *job)
{
	return at(pod_spec(job), "containers", "[0]", NULL);
}

/* The env entry called name of the job's container, or NULL. */
static json_t *env_entry(json_t *job, const char *name)
{
	json_t *env = at(container(job), "env", NULL), *e;
	size_t i;

	json_array_foreach(env, i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")),
			   name) == 0)
			return e;
	return NULL;
}

static const char *env_value(json_t *job, const char *name)
{
	return json_string_value(json_object_get(env_entry(job, name), "value"));
}

/* The volume (or mount, mounts != 0) called name. */
static json_t *volume(json_t *job, const char *name, int mounts)
{
	json_t *arr = mounts ? at(container(job), "volumeMounts", NULL)
			     : at(pod_spec(job), "volumes", NULL),
	       *e;
	size_t i;

	json_array_foreach(arr, i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")),
			   name) == 0)
			return e;
	return NULL;
}

/* A trial of the spec: argv [python, train.py], env from the spec as
 * given (no templates in these specs). */
struct fixture {
	struct tc_spec *spec;
	json_t *argv, *env;
	struct tc_k8s_trial t;
};

static void fixture_init(struct fixture *f, const char *text, int attempt)
{
	f->spec = parse_ok(text);
	f->argv = json_pack("[s, s]", "python", "train.py");
	f->env = json_object();
	for (size_t i = 0; i < f->spec->nenv; i++)
		json_object_set_new(f->env, f->spec->env[i].key,
				    json_string(f->spec->env[i].value));
	f->t.experiment = f->spec->name;
	f->t.id = TRIAL_ID;
	f->t.attempt = attempt;
	f->t.params_json = "{\"lr\":0.1,\"opt\":\"adam\"}";
	f->t.argv = f->argv;
	f->t.env = f->env;
}

static void fixture_free(struct fixture *f)
{
	json_decref(f->argv);
	json_decref(f->env);
	tc_spec_free(f->spec);
}

static json_t *job_of(struct fixture *f)
{
	struct tc_error e;
	json_t *j = tc_k8s_job(f->spec, "my-lab", &f->t, &e);

	if (!j)
		fail_msg("tc_k8s_job: %s", e.msg);
	return j;
}

/* ------------------------------------------------------------------ */

static void test_names(void **state)
{
	char *a = tc_k8s_configmap_name("fmnist-grid", TRIAL_ID);
	char *b = tc_k8s_job_name("fmnist-grid", TRIAL_ID, 12);
	char exp[41];

	(void)state;
	assert_string_equal(a, "fmnist-grid-0123456789ab");
	assert_string_equal(b, "fmnist-grid-0123456789ab-12");
	free(a);
	free(b);
	/* the longest experiment name still gives a valid object name */
	memset(exp, 'x', 40);
	exp[40] = '\0';
	b = tc_k8s_job_name(exp, TRIAL_ID, 99);
	assert_true(strlen(b) <= 63);
	assert_true(tc_k8s_is_dns_label(b));
	free(b);
	assert_true(tc_k8s_is_dns_label("my-lab"));
	assert_false(tc_k8s_is_dns_label("My-lab"));
	assert_false(tc_k8s_is_dns_label("-lab"));
	assert_false(tc_k8s_is_dns_label(""));
}

static void test_basic_job(void **state)
{
	struct fixture f;
	json_t *job, *c, *env, *res, *lab;
	static const char *const order[] = {
		"TRAINCTL_EXPERIMENT", "TRAINCTL_TRIAL", "TRAINCTL_ATTEMPT",
		"TRAINCTL_PARAMS", "TRAINCTL_TRIAL_DIR", "TRAINCTL_METRICS_FILE",
		"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
		"PYTHONUNBUFFERED", "EXTRA"};

	(void)state;
	fixture_init(&f, HEAD "env: {EXTRA: x}\n"
			      "resources: {cpu: 2, memory: 4Gi}\n"
			      "kubernetes: {image: ghcr.io/lab/train:1.4}\n",
		     3);
	job = job_of(&f);
	assert_string_equal(str_at(job, "apiVersion", NULL, NULL), "batch/v1");
	assert_string_equal(str_at(job, "kind", NULL, NULL), "Job");
	assert_string_equal(str_at(job, "metadata", "name", NULL),
			    "sweep-0123456789ab-3");
	assert_string_equal(str_at(job, "metadata", "namespace", NULL),
			    "my-lab");
	lab = at(job, "metadata", "labels", NULL);
	assert_int_equal(json_object_size(lab), 3);
	assert_string_equal(str_at(lab, TC_K8S_LABEL_EXP, NULL, NULL), "sweep");
	assert_string_equal(str_at(lab, TC_K8S_LABEL_TRIAL, NULL, NULL),
			    TRIAL_ID);
	assert_string_equal(str_at(lab, TC_K8S_LABEL_ATTEMPT, NULL, NULL), "3");
	assert_true(json_equal(lab, at(job, "spec", "template", "metadata",
				       "labels", NULL)));

	assert_int_equal(json_integer_value(at(job, "spec", "completions",
					       NULL)), 1);
	assert_int_equal(json_integer_value(at(job, "spec", "parallelism",
					       NULL)), 1);
	assert_null(at(job, "spec", "completionMode", NULL));
	assert_int_equal(json_integer_value(at(job, "spec", "backoffLimit",
					       NULL)), 0);
	assert_int_equal(json_integer_value(at(job, "spec",
					       "ttlSecondsAfterFinished",
					       NULL)), 86400);
	assert_null(at(job, "spec", "activeDeadlineSeconds", NULL));
	assert_string_equal(str_at(pod_spec(job), "restartPolicy", NULL, NULL),
			    "Never");
	assert_null(at(pod_spec(job), "subdomain", NULL));
	assert_null(at(pod_spec(job), "serviceAccountName", NULL));
	assert_int_equal(json_array_size(at(pod_spec(job), "containers", NULL)),
			 1);

	c = container(job);
	assert_string_equal(str_at(c, "name", NULL, NULL), "trial");
	assert_string_equal(str_at(c, "image", NULL, NULL),
			    "ghcr.io/lab/train:1.4");
	assert_true(json_equal(at(c, "command", NULL), f.argv));
	assert_null(at(c, "args", NULL));
	assert_null(at(c, "workingDir", NULL));

	env = at(c, "env", NULL);
	assert_int_equal(json_array_size(env), 11);
	for (size_t i = 0; i < 11; i++)
		assert_string_equal(str_at(json_array_get(env, i), "name", NULL,
					   NULL),
				    order[i]);
	assert_string_equal(env_value(job, "TRAINCTL_EXPERIMENT"), "sweep");
	assert_string_equal(env_value(job, "TRAINCTL_TRIAL"), TRIAL_ID);
	assert_string_equal(env_value(job, "TRAINCTL_ATTEMPT"), "3");
	assert_string_equal(env_value(job, "TRAINCTL_PARAMS"),
			    "{\"lr\":0.1,\"opt\":\"adam\"}");
	assert_string_equal(env_value(job, "TRAINCTL_TRIAL_DIR"),
			    "/trainctl/trial");
	assert_string_equal(env_value(job, "TRAINCTL_METRICS_FILE"),
			    "/dev/stdout");
	assert_string_equal(env_value(job, "OMP_NUM_THREADS"), "2");
	assert_string_equal(env_value(job, "MKL_NUM_THREADS"), "2");
	assert_string_equal(env_value(job, "EXTRA"), "x");
	assert_null(env_entry(job, "CUDA_VISIBLE_DEVICES"));
	assert_null(env_entry(job, "WORLD_SIZE"));

	/* requests = limits: Guaranteed QoS */
	res = at(c, "resources", NULL);
	assert_string_equal(str_at(res, "requests", "cpu", NULL), "2");
	assert_string_equal(str_at(res, "requests", "memory", NULL), "4Gi");
	assert_int_equal(json_object_size(at(res, "requests", NULL)), 2);
	assert_true(json_equal(at(res, "requests", NULL),
			       at(res, "limits", NULL)));

	/* trainctl's own volumes */
	assert_int_equal(json_array_size(at(pod_spec(job), "volumes", NULL)),
			 2);
	assert_non_null(at(volume(job, "trainctl-trial", 0), "emptyDir", NULL));
	assert_string_equal(str_at(volume(job, "trainctl-params", 0),
				   "configMap", "name", NULL),
			    "sweep-0123456789ab");
	assert_string_equal(str_at(volume(job, "trainctl-trial", 1),
				   "mountPath", NULL, NULL),
			    "/trainctl/trial");
	assert_null(at(volume(job, "trainctl-trial", 1), "readOnly", NULL));
	assert_string_equal(str_at(volume(job, "trainctl-params", 1),
				   "mountPath", NULL, NULL),
			    "/etc/trainctl");
	assert_true(json_is_true(at(volume(job, "trainctl-params", 1),
				    "readOnly", NULL)));
	json_decref(job);
	fixture_free(&f);
}

static void test_configmap(void **state)
{
	struct fixture f;
	struct tc_error e;
	json_t *cm;

	(void)state;
	fixture_init(&f, HEAD "kubernetes: {image: busybox, labels: {project: "
			      "sentinel, n: 8}}\n",
		     2);
	cm = tc_k8s_configmap(f.spec, "ns1", &f.t, &e);
	assert_non_null(cm);
	assert_string_equal(str_at(cm, "apiVersion", NULL, NULL), "v1");
	assert_string_equal(str_at(cm, "kind", NULL, NULL), "ConfigMap");
	assert_string_equal(str_at(cm, "metadata", "name", NULL),
			    "sweep-0123456789ab");
	assert_string_equal(str_at(cm, "metadata", "namespace", NULL), "ns1");
	assert_string_equal(str_at(cm, "data", "params.json", NULL),
			    "{\"lr\":0.1,\"opt\":\"adam\"}\n");
	/* no attempt label: the ConfigMap outlives attempts */
	assert_null(at(cm, "metadata", "labels", TC_K8S_LABEL_ATTEMPT, NULL));
	assert_string_equal(str_at(cm, "metadata", "labels", TC_K8S_LABEL_EXP),
			    "sweep");
	assert_string_equal(str_at(cm, "metadata", "labels", TC_K8S_LABEL_TRIAL),
			    TRIAL_ID);
	assert_string_equal(str_at(cm, "metadata", "labels", "project"),
			    "sentinel");
	/* a label value YAML typed as a number is a string here */
	assert_string_equal(str_at(cm, "metadata", "labels", "n"), "8");
	json_decref(cm);
	fixture_free(&f);
}

static void test_limits(void **state)
{
	struct fixture f;
	json_t *job, *res;

	(void)state;
	/* fractional CPU, a memory size with no binary suffix, explicit
	 * limits overriding one key each */
	fixture_init(&f, HEAD "resources: {cpu: 500m, memory: 1e9}\n"
			      "kubernetes:\n  image: busybox\n"
			      "  limits: {cpu: 4.8, memory: 1.5Gi}\n",
		     1);
	job = job_of(&f);
	res = at(container(job), "resources", NULL);
	assert_string_equal(str_at(res, "requests", "cpu", NULL), "500m");
	assert_string_equal(str_at(res, "requests", "memory", NULL),
			    "1000000000");
	assert_string_equal(str_at(res, "limits", "cpu", NULL), "4800m");
	assert_string_equal(str_at(res, "limits", "memory", NULL), "1.5Gi");
	assert_string_equal(env_value(job, "OMP_NUM_THREADS"), "1");
	json_decref(job);
	fixture_free(&f);

	/* one limit given, the other equal to its request */
	fixture_init(&f, HEAD "resources: {cpu: 1.5, memory: 3000Mi}\n"
			      "kubernetes: {image: busybox, limits: {cpu: 3}}\n",
		     1);
	job = job_of(&f);
	res = at(container(job), "resources", NULL);
	assert_string_equal(str_at(res, "requests", "cpu", NULL), "1500m");
	assert_string_equal(str_at(res, "limits", "cpu", NULL), "3");
	assert_string_equal(str_at(res, "requests", "memory", NULL), "3000Mi");
	assert_string_equal(str_at(res, "limits", "memory", NULL), "3000Mi");
	assert_string_equal(env_value(job, "OMP_NUM_THREADS"), "2");
	json_decref(job);
	fixture_free(&f);

	/* no resources at all: no resources key, one thread */
	fixture_init(&f, HEAD "kubernetes: {image: busybox}\n", 1);
	job = job_of(&f);
	assert_null(at(container(job), "resources", NULL));
	assert_string_equal(env_value(job, "OMP_NUM_THREADS"), "1");
	json_decref(job);
	fixture_free(&f);

	/* only a limit: only limits (Kubernetes takes the request from it) */
	fixture_init(&f, HEAD "kubernetes: {image: busybox, limits: {memory: "
			      "512Mi}}\n",
		     1);
	job = job_of(&f);
	res = at(container(job), "resources", NULL);
	assert_null(at(res, "requests", NULL));
	assert_string_equal(str_at(res, "limits", "memory", NULL), "512Mi");
	json_decref(job);
	fixture_free(&f);
}

static void test_gpu(void **state)
{
	struct fixture f;
	json_t *job, *res;

	(void)state;
	fixture_init(&f, HEAD "resources: {cpu: 4, memory: 24Gi, gpu: 2}\n"
			      "kubernetes: {image: busybox}\n",
		     1);
	job = job_of(&f);
	res = at(container(job), "resources", NULL);
	assert_string_equal(str_at(res, "requests", "nvidia.com/gpu", NULL),
			    "2");
	assert_string_equal(str_at(res, "limits", "nvidia.com/gpu", NULL), "2");
	assert_true(json_equal(at(res, "requests", NULL),
			       at(res, "limits", NULL)));
	assert_null(env_entry(job, "CUDA_VISIBLE_DEVICES"));
	assert_string_equal(env_value(job, "OMP_NUM_THREADS"), "4");
	json_decref(job);
	fixture_free(&f);

	/* another GPU resource name, and its limit given by that name */
	fixture_init(&f, HEAD "resources: {gpu: 1}\n"
			      "kubernetes:\n  image: busybox\n"
			      "  gpuResource: amd.com/gpu\n"
			      "  limits: {amd.com/gpu: 1, cpu: 2}\n",
		     1);
	job = job_of(&f);
	res = at(container(job), "resources", NULL);
	assert_string_equal(str_at(res, "requests", "amd.com/gpu", NULL), "1");
	assert_string_equal(str_at(res, "limits", "amd.com/gpu", NULL), "1");
	assert_string_equal(str_at(res, "limits", "cpu", NULL), "2");
	assert_null(at(res, "requests", "nvidia.com/gpu", NULL));
	assert_null(at(res, "limits", "nvidia.com/gpu", NULL));
	assert_null(at(res, "requests", "cpu", NULL));
	json_decref(job);
	fixture_free(&f);
}

static void test_volumes(void **state)
{
	struct fixture f;
	json_t *job, *v, *vols;

	(void)state;
	fixture_init(
		&f,
		HEAD "kubernetes:\n  image: busybox\n  volumes:\n"
		     "    - {name: data, claim: sentinel-chips, mountPath: "
		     "/data, readOnly: true}\n"
		     "    - {name: out, claim: results, mountPath: /results, "
		     "subPath: run-1}\n"
		     "    - {name: scratch, nfs: {server: nfs.lab.example, "
		     "path: /export, readOnly: true}, mountPath: /scratch}\n"
		     "  shm: 8Gi\n",
		1);
	job = job_of(&f);
	vols = at(pod_spec(job), "volumes", NULL);
	assert_int_equal(json_array_size(vols), 6);
	/* order: trainctl's, the spec's, /dev/shm */
	assert_string_equal(str_at(json_array_get(vols, 2), "name", NULL, NULL),
			    "data");
	assert_string_equal(str_at(json_array_get(vols, 5), "name", NULL, NULL),
			    "dshm");

	v = volume(job, "data", 0);
	assert_string_equal(str_at(v, "persistentVolumeClaim", "claimName",
				   NULL),
			    "sentinel-chips");
	assert_true(json_is_true(at(v, "persistentVolumeClaim", "readOnly",
				    NULL)));
	v = volume(job, "data", 1);
	assert_string_equal(str_at(v, "mountPath", NULL, NULL), "/data");
	assert_true(json_is_true(at(v, "readOnly", NULL)));

	v = volume(job, "out", 0);
	assert_string_equal(str_at(v, "persistentVolumeClaim", "claimName",
				   NULL),
			    "results");
	assert_null(at(v, "persistentVolumeClaim", "readOnly", NULL));
	v = volume(job, "out", 1);
	assert_null(at(v, "readOnly", NULL));
	assert_string_equal(str_at(v, "subPath", NULL, NULL), "run-1");

	v = volume(job, "scratch", 0);
	assert_string_equal(str_at(v, "nfs", "server", NULL),
			    "nfs.lab.example");
	assert_string_equal(str_at(v, "nfs", "path", NULL), "/export");
	assert_true(json_is_true(at(v, "nfs", "readOnly", NULL)));
	assert_null(at(v, "persistentVolumeClaim", NULL));
	assert_string_equal(str_at(volume(job, "scratch", 1), "mountPath", NULL,
				   NULL),
			    "/scratch");

	v = volume(job, "dshm", 0);
	assert_string_equal(str_at(v, "emptyDir", "medium", NULL), "Memory");
	assert_string_equal(str_at(v, "emptyDir", "sizeLimit", NULL), "8Gi");
	assert_string_equal(str_at(volume(job, "dshm", 1), "mountPath", NULL,
				   NULL),
			    "/dev/shm");
	json_decref(job);
	fixture_free(&f);
}

static void test_pod_options(void **state)
{
	struct fixture f;
	json_t *job, *pod;

	(void)state;
	fixture_init(
		&f,
		HEAD "run: {timeout: 90.5s}\n"
		     "kubernetes:\n  image: busybox\n"
		     "  imagePullSecrets: [regcred, other]\n"
		     "  serviceAccount: trainer\n"
		     "  nodeSelector: {nvidia.com/gpu.product: "
		     "NVIDIA-A100-SXM4-80GB, gpu: true}\n"
		     "  tolerations: [{key: lab/reserved, operator: Exists, "
		     "effect: NoSchedule}, {key: k, value: 1, operator: "
		     "Equal}]\n"
		     "  affinity: {nodeAffinity: {requiredDuringScheduling"
		     "IgnoredDuringExecution: {nodeSelectorTerms: "
		     "[{matchExpressions: [{key: zone, operator: In, values: "
		     "[a]}]}]}}}\n"
		     "  priorityClass: low\n"
		     "  queue: team-a\n"
		     "  labels: {project: sentinel}\n"
		     "  backoffLimit: 3\n"
		     "  ttlSecondsAfterFinished: 600\n",
		1);
	job = job_of(&f);
	pod = pod_spec(job);
	assert_string_equal(str_at(pod, "imagePullSecrets", "[0]", "name"),
			    "regcred");
	assert_string_equal(str_at(pod, "imagePullSecrets", "[1]", "name"),
			    "other");
	assert_string_equal(str_at(pod, "serviceAccountName", NULL, NULL),
			    "trainer");
	assert_string_equal(str_at(pod, "nodeSelector", "nvidia.com/gpu.product",
				   NULL),
			    "NVIDIA-A100-SXM4-80GB");
	assert_string_equal(str_at(pod, "nodeSelector", "gpu", NULL), "true");
	assert_int_equal(json_array_size(at(pod, "tolerations", NULL)), 2);
	assert_string_equal(str_at(pod, "tolerations", "[0]", "key"),
			    "lab/reserved");
	assert_string_equal(str_at(pod, "tolerations", "[0]", "effect"),
			    "NoSchedule");
	assert_string_equal(str_at(pod, "tolerations", "[1]", "value"), "1");
	assert_string_equal(
		json_string_value(at(pod, "affinity", "nodeAffinity",
				     "requiredDuringSchedulingIgnoredDuring"
				     "Execution",
				     "nodeSelectorTerms", "[0]",
				     "matchExpressions", "[0]", "key", NULL)),
		"zone");
	assert_string_equal(str_at(pod, "priorityClassName", NULL, NULL), "low");
	/* the queue label is on the Job only: Kueue admits Jobs */
	assert_string_equal(str_at(job, "metadata", "labels",
				   "kueue.x-k8s.io/queue-name"),
			    "team-a");
	assert_null(at(job, "spec", "template", "metadata", "labels",
		       "kueue.x-k8s.io/queue-name", NULL));
	assert_string_equal(str_at(job, "metadata", "labels", "project"),
			    "sentinel");
	assert_string_equal(json_string_value(at(job, "spec", "template",
						 "metadata", "labels",
						 "project", NULL)),
			    "sentinel");
	assert_int_equal(json_integer_value(at(job, "spec", "backoffLimit",
					       NULL)), 3);
	assert_int_equal(json_integer_value(at(job, "spec",
					       "ttlSecondsAfterFinished",
					       NULL)), 600);
	assert_int_equal(json_integer_value(at(job, "spec",
					       "activeDeadlineSeconds", NULL)),
			 91);
	json_decref(job);
	fixture_free(&f);
}

static void test_env_overrides(void **state)
{
	struct fixture f;
	json_t *job, *env;
	size_t i, n = 0;

	(void)state;
	fixture_init(&f, HEAD "env: {OMP_NUM_THREADS: \"4\", B: y,"
			      " PYTHONUNBUFFERED: \"0\"}\n"
			      "resources: {cpu: 8}\n"
			      "kubernetes: {image: busybox}\n",
		     1);
	job = job_of(&f);
	env = at(container(job), "env", NULL);
	for (i = 0; i < json_array_size(env); i++)
		if (!strcmp(str_at(json_array_get(env, i), "name", NULL, NULL),
			    "OMP_NUM_THREADS"))
			n++;
	assert_int_equal(n, 1);
	assert_string_equal(env_value(job, "OMP_NUM_THREADS"), "4");
	assert_string_equal(env_value(job, "OPENBLAS_NUM_THREADS"), "8");
	assert_string_equal(env_value(job, "B"), "y");
	assert_string_equal(env_value(job, "PYTHONUNBUFFERED"), "0");
	json_decref(job);
	fixture_free(&f);
}

static void test_multi_node(void **state)
{
	struct fixture f;
	struct tc_error e;
	json_t *job, *svc, *env, *rank, *sel, *port;
	size_t n;

	(void)state;
	fixture_init(&f, HEAD "nodes: 3\nbackend: kubernetes\n"
			      "kubernetes: {image: busybox}\n",
		     2);
	job = job_of(&f);
	assert_string_equal(str_at(job, "spec", "completionMode", NULL),
			    "Indexed");
	assert_int_equal(json_integer_value(at(job, "spec", "completions",
					       NULL)), 3);
	assert_int_equal(json_integer_value(at(job, "spec", "parallelism",
					       NULL)), 3);
	assert_string_equal(str_at(pod_spec(job), "subdomain", NULL, NULL),
			    "sweep-0123456789ab-2");
	assert_string_equal(env_value(job, "WORLD_SIZE"), "3");
	assert_string_equal(env_value(job, "MASTER_ADDR"),
			    "sweep-0123456789ab-2-0.sweep-0123456789ab-2");
	assert_string_equal(env_value(job, "MASTER_PORT"), "29500");
	rank = env_entry(job, "RANK");
	assert_non_null(rank);
	assert_null(at(rank, "value", NULL));
	assert_string_equal(json_string_value(at(rank, "valueFrom", "fieldRef",
						 "fieldPath", NULL)),
			    "metadata.annotations['batch.kubernetes.io/"
			    "job-completion-index']");
	/* torchrun's: one process a pod, the pod's index its node's rank */
	assert_string_equal(env_value(job, "LOCAL_RANK"), "0");
	assert_string_equal(env_value(job, "LOCAL_WORLD_SIZE"), "1");
	rank = env_entry(job, "GROUP_RANK");
	assert_non_null(rank);
	assert_string_equal(json_string_value(at(rank, "valueFrom", "fieldRef",
						 "fieldPath", NULL)),
			    "metadata.annotations['batch.kubernetes.io/"
			    "job-completion-index']");
	/* the seven come last, in this order */
	env = at(container(job), "env", NULL);
	n = json_array_size(env);
	assert_string_equal(str_at(json_array_get(env, n - 7), "name", NULL,
				   NULL),
			    "WORLD_SIZE");
	assert_string_equal(str_at(json_array_get(env, n - 4), "name", NULL,
				   NULL),
			    "MASTER_PORT");
	assert_string_equal(str_at(json_array_get(env, n - 1), "name", NULL,
				   NULL),
			    "GROUP_RANK");

	svc = tc_k8s_service(f.spec, "my-lab", &f.t, &e);
	assert_non_null(svc);
	assert_string_equal(str_at(svc, "apiVersion", NULL, NULL), "v1");
	assert_string_equal(str_at(svc, "kind", NULL, NULL), "Service");
	assert_string_equal(str_at(svc, "metadata", "name", NULL),
			    "sweep-0123456789ab-2");
	assert_string_equal(str_at(svc, "metadata", "namespace", NULL),
			    "my-lab");
	assert_string_equal(str_at(svc, "spec", "clusterIP", NULL), "None");
	assert_true(json_is_true(at(svc, "spec", "publishNotReadyAddresses",
				    NULL)));
	sel = at(svc, "spec", "selector", NULL);
	assert_int_equal(json_object_size(sel), 3);
	assert_string_equal(str_at(sel, TC_K8S_LABEL_EXP, NULL, NULL), "sweep");
	assert_string_equal(str_at(sel, TC_K8S_LABEL_TRIAL, NULL, NULL),
			    TRIAL_ID);
	assert_string_equal(str_at(sel, TC_K8S_LABEL_ATTEMPT, NULL, NULL), "2");
	/* the selector picks exactly this attempt's pods */
	{
		json_t *pl = at(job, "spec", "template", "metadata", "labels",
				NULL);
		const char *k;
		json_t *v;

		json_object_foreach(sel, k, v)
			assert_true(json_equal(v, json_object_get(pl, k)));
	}
	assert_int_equal(json_array_size(at(svc, "spec", "ports", NULL)), 1);
	port = at(svc, "spec", "ports", "[0]", NULL);
	assert_string_equal(str_at(port, "name", NULL, NULL), "master");
	assert_int_equal(json_integer_value(at(port, "port", NULL)), 29500);
	json_decref(svc);
	json_decref(job);
	fixture_free(&f);

	/* nodes: 1 has no Service, and that is not an error */
	fixture_init(&f, HEAD "kubernetes: {image: busybox}\n", 1);
	e.code = 99;
	assert_null(tc_k8s_service(f.spec, "my-lab", &f.t, &e));
	assert_int_equal(e.code, 0);
	fixture_free(&f);
}

static void test_pod_template_patch(void **state)
{
	struct fixture f;
	json_t *job, *pod;

	(void)state;
	fixture_init(
		&f,
		HEAD "kubernetes:\n  image: busybox\n"
		     "  tolerations: [{key: a, operator: Exists}, {key: b, "
		     "operator: Exists}]\n"
		     "  podTemplate:\n"
		     "    metadata: {labels: {extra: \"1\"}, annotations: {a: "
		     "b}}\n"
		     "    spec:\n"
		     "      hostIPC: false\n"
		     "      restartPolicy: null\n"
		     "      tolerations: [{key: c, operator: Exists}]\n"
		     "      securityContext: {runAsUser: 1000, fsGroup: ~}\n",
		1);
	job = job_of(&f);
	pod = pod_spec(job);
	/* objects merge */
	assert_string_equal(json_string_value(at(job, "spec", "template",
						 "metadata", "labels", "extra",
						 NULL)),
			    "1");
	assert_string_equal(json_string_value(at(job, "spec", "template",
						 "metadata", "labels",
						 TC_K8S_LABEL_TRIAL, NULL)),
			    TRIAL_ID);
	assert_string_equal(json_string_value(at(job, "spec", "template",
						 "metadata", "annotations", "a",
						 NULL)),
			    "b");
	assert_true(json_is_false(at(pod, "hostIPC", NULL)));
	/* null deletes */
	assert_null(at(pod, "restartPolicy", NULL));
	/* arrays replace */
	assert_int_equal(json_array_size(at(pod, "tolerations", NULL)), 1);
	assert_string_equal(str_at(pod, "tolerations", "[0]", "key"), "c");
	/* a new object keeps no nulls */
	assert_int_equal(json_integer_value(at(pod, "securityContext",
					       "runAsUser", NULL)), 1000);
	assert_int_equal(json_object_size(at(pod, "securityContext", NULL)), 1);
	/* the rest is untouched, and the Job's own metadata is not patched */
	assert_string_equal(str_at(container(job), "name", NULL, NULL), "trial");
	assert_null(at(job, "metadata", "annotations", NULL));
	/* the spec's copy is not consumed by building */
	json_decref(job);
	job = job_of(&f);
	assert_true(json_is_false(at(pod_spec(job), "hostIPC", NULL)));
	json_decref(job);
	fixture_free(&f);
}

static void test_deep_merge(void **state)
{
	json_t *t = json_loads("{\"a\": {\"b\": 1, \"c\": [1, 2], \"d\": "
			       "{\"e\": 1}}, \"x\": 1, \"y\": \"s\"}",
			       0, NULL);
	json_t *p = json_loads("{\"a\": {\"b\": 2, \"c\": [3], \"d\": null, "
			       "\"n\": {\"k\": null, \"v\": 1}}, \"x\": {\"o\": "
			       "true}, \"y\": null, \"z\": [null]}",
			       0, NULL);
	json_t *want = json_loads("{\"a\": {\"b\": 2, \"c\": [3], \"n\": "
				  "{\"v\": 1}}, \"x\": {\"o\": true}, \"z\": "
				  "[null]}",
				  0, NULL);
	json_t *arr = json_array();

	(void)state;
	assert_int_equal(tc_json_deep_merge(t, p), 0);
	if (!json_equal(t, want)) {
		char *s = json_dumps(t, JSON_SORT_KEYS);

		fail_msg("merged: %s", s);
	}
	/* the patch is copied, not shared */
	json_integer_set(json_object_get(json_object_get(p, "a"), "b"), 7);
	assert_int_equal(json_integer_value(at(t, "a", "b", NULL)), 2);
	/* not objects: nothing happens */
	assert_int_equal(tc_json_deep_merge(arr, p), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	json_decref(t);
	json_decref(p);
	json_decref(want);
}

/* ------------------------------------------------------------------ */

static void expect_k8s_check(const char *text, int line, int col,
			 const char *sub)
{
	struct tc_spec *s = parse_ok(text);
	struct tc_error e;
	int rc = tc_k8s_check(s, &e);

	if (!sub) {
		if (rc != 0)
			fail_msg("tc_k8s_check: %s", e.msg);
		tc_spec_free(s);
		return;
	}
	assert_int_equal(rc, TC_ERR_SPEC);
	assert_string_equal(e.file, "t.yaml");
	if (e.line != line || e.col != col || !strstr(e.msg, sub))
		fail_msg("expected %d:%d '%s', got %d:%d %s", line, col, sub,
			 e.line, e.col, e.msg);
	tc_spec_free(s);
}

static void test_check(void **state)
{
	(void)state;
	expect_k8s_check(HEAD "kubernetes: {image: busybox}\n", 0, 0, NULL);
	expect_k8s_check(HEAD, 1, 1,
		     "kubernetes.image is required for the kubernetes backend");
	expect_k8s_check(HEAD "backend: kubernetes\n\"kubernetes\":\n"
			  "  namespace: x\n",
		     5, 1, "kubernetes.image is required");
	/* the top-level key, not one of that name deeper down */
	expect_k8s_check(HEAD "env:\n  kubernetes: 1\n"
			  "kubernetes: {labels: {kubernetes: x}}\n",
		     6, 1, "kubernetes.image is required");
	/* the rendezvous variables: refused when the spec is read, for
	 * every backend */
	expect_error(HEAD "env:\n  A: 1\n  MASTER_PORT: 1234\nnodes: 2\n"
			  "kubernetes: {image: busybox}\n",
		     6, 16, "env: MASTER_PORT is set by trainctl");
	expect_error(HEAD "env:\n  LOCAL_RANK: 0\nnodes: 2\n", 5, 15,
		     "env: LOCAL_RANK is set by trainctl");
	/* one node: the variable is the user's */
	expect_k8s_check(HEAD "env:\n  MASTER_PORT: 1234\n"
			  "kubernetes: {image: busybox}\n",
		     0, 0, NULL);
	expect_k8s_check(HEAD "nodes: 100001\nkubernetes: {image: busybox}\n", 4, 1,
		     "more than the 100000 pods");
	/* nodes > 1 loads (both backends run it) */
	expect_k8s_check(HEAD "nodes: 4\nkubernetes: {image: busybox}\n", 0, 0,
		     NULL);
	/* only rank 0's pod log is read: every rank's metrics is local */
	expect_k8s_check(HEAD "metrics: {ranks: all}\nnodes: 2\n"
			      "kubernetes: {image: busybox}\n",
		     4, 1, "metrics: {ranks: all} is for the local backend");
	expect_k8s_check(HEAD "metrics: {ranks: 0}\nnodes: 2\n"
			      "kubernetes: {image: busybox}\n",
		     0, 0, NULL);
	/* workdir: is the container's workingDir: absolute only */
	expect_k8s_check(HEAD "workdir: ..\nkubernetes: {image: busybox}\n",
		     4, 10, "workdir '..' is relative");
	expect_k8s_check(HEAD "workdir: /srv/app\nkubernetes: {image: busybox}\n",
		     0, 0, NULL);
}

/* An absolute workdir: becomes the container's workingDir (no workdir:
 * leaves the image's, as test_basic_job checks). */
static void test_workdir(void **state)
{
	struct fixture f;
	json_t *job;

	(void)state;
	fixture_init(&f, HEAD "workdir: /srv/app\nkubernetes: {image: busybox}\n",
		     1);
	job = job_of(&f);
	assert_string_equal(json_string_value(at(container(job), "workingDir",
						 NULL)),
			    "/srv/app");
	json_decref(job);
	fixture_free(&f);
}

/* The loader on the kubernetes: section. */
#define K HEAD "kubernetes:\n  image: busybox\n"

static void test_spec_valid(void **state)
{
	struct tc_spec *s;

	(void)state;
	/* DESIGN.md's example */
	s = parse_ok(
		HEAD "backend: kubernetes\nnodes: 1\n"
		     "resources: {cpu: 4, memory: 24Gi, gpu: 2}\n"
		     "kubernetes:\n"
		     "  context: nautilus\n"
		     "  namespace: my-lab\n"
		     "  image: ghcr.io/lab/train:1.4\n"
		     "  imagePullSecrets: [regcred]\n"
		     "  serviceAccount: trainer\n"
		     "  gpuResource: nvidia.com/gpu\n"
		     "  limits: {cpu: 4.8}\n"
		     "  volumes:\n"
		     "    - {name: data, claim: sentinel-chips, mountPath: "
		     "/data, readOnly: true}\n"
		     "    - {name: out, claim: results, mountPath: /results}\n"
		     "    - {name: scratch, nfs: {server: nfs.lab.example, "
		     "path: /export}, mountPath: /scratch}\n"
		     "  shm: 8Gi\n"
		     "  nodeSelector: {nvidia.com/gpu.product: "
		     "NVIDIA-A100-SXM4-80GB}\n"
		     "  tolerations: [{key: lab/reserved, operator: Exists, "
		     "effect: NoSchedule}]\n"
		     "  priorityClass: low\n"
		     "  queue: team-a\n"
		     "  labels: {project: sentinel}\n"
		     "  podTemplate: {spec: {hostIPC: false}}\n");
	tc_spec_free(s);
	/* null values mean "not given" for the mappings and lists */
	s = parse_ok(K "  labels:\n  volumes:\n  tolerations: ~\n");
	tc_spec_free(s);
}

static void test_spec_errors(void **state)
{
	(void)state;
	expect_error(HEAD "kubernetes:\n  namespace: My_Lab\n", 5, 14,
		     "kubernetes.namespace 'My_Lab' is not a valid Kubernetes "
		     "name");
	expect_error(HEAD "kubernetes:\n  image: \"\"\n", 5, 10,
		     "kubernetes.image must not be empty");
	expect_error(HEAD "kubernetes:\n  image: [a]\n", 5, 10,
		     "kubernetes.image must be a string");
	expect_error(HEAD "kubernetes:\n  image:\n", 5, 9,
		     "kubernetes.image must be a string");
	expect_error(HEAD "kubernetes:\n  context: 3\n", 5, 12,
		     "kubernetes.context must be a string");
	expect_error(K "  imagePullSecrets: regcred\n", 6, 21,
		     "kubernetes.imagePullSecrets must be a list");
	expect_error(K "  imagePullSecrets: [ok, 3]\n", 6, 26,
		     "kubernetes.imagePullSecrets[1] must be a string");
	expect_error(K "  serviceAccount: Trainer\n", 6, 19,
		     "kubernetes.serviceAccount 'Trainer' is not a valid");
	expect_error(K "  limits: {cpu: lots}\n", 6, 17,
		     "kubernetes.limits.cpu must be a number of cores or a "
		     "quantity");
	expect_error(K "  limits: {memroy: 1Gi}\n", 6, 12,
		     "unknown key 'memroy' in kubernetes.limits (did you mean "
		     "'memory'?)");
	expect_error(HEAD "resources: {cpu: 2}\nkubernetes:\n  image: x\n"
			  "  limits: {cpu: 1500m}\n",
		     7, 17,
		     "kubernetes.limits.cpu (1.5) is below resources.cpu (2)");
	expect_error(HEAD "resources: {memory: 2Gi}\nkubernetes:\n  image: x\n"
			  "  limits:\n    memory: 1Gi\n",
		     8, 13, "is below resources.memory");
	expect_error(K "  limits: {memory: 1Zi}\n", 6, 20,
		     "kubernetes.limits.memory must be a quantity");
	expect_error(K "  limits: {gpu: 1}\n", 6, 17,
		     "kubernetes.limits.gpu (1) must equal resources.gpu (0)");
	expect_error(HEAD "resources: {gpu: 1}\nkubernetes:\n  image: x\n"
			  "  limits: {gpu: 1, nvidia.com/gpu: 1}\n",
		     7, 20, "gives the GPU limit twice");
	expect_error(K "  limits: {amd.com/gpu: 1}\n", 6, 12,
		     "unknown key 'amd.com/gpu' in kubernetes.limits; known "
		     "keys: cpu, memory, gpu, ephemeral-storage, "
		     "nvidia.com/gpu");
	expect_error(K "  gpuResource: gpu\n", 6, 16,
		     "kubernetes.gpuResource must be an extended resource name");
	expect_error(K "  volumes: {name: data}\n", 6, 12,
		     "kubernetes.volumes must be a list");
	expect_error(K "  volumes: [{name: data, claim: c, mountpath: /d}]\n",
		     6, 36,
		     "unknown key 'mountpath' in kubernetes.volumes[0] (did "
		     "you mean 'mountPath'?)");
	expect_error(K "  volumes:\n    - {claim: c, mountPath: /d}\n", 7, 7,
		     "kubernetes.volumes[0] needs a name");
	expect_error(K "  volumes:\n    - {name: Data_1, claim: c, mountPath: "
		       "/d}\n",
		     7, 14, "kubernetes.volumes[0].name 'Data_1' is not a valid");
	expect_error(K "  volumes:\n    - {name: dshm, claim: c, mountPath: "
		       "/d}\n",
		     7, 14, "the volume name 'dshm' is used by trainctl");
	expect_error(K "  volumes:\n    - {name: a, claim: c, mountPath: /a}\n"
		       "    - {name: a, claim: d, mountPath: /b}\n",
		     8, 14, "kubernetes.volumes[1].name: two volumes are named "
			    "'a'");
	expect_error(K "  volumes:\n    - {name: a, claim: c, mountPath: "
		       "data}\n",
		     7, 38, "kubernetes.volumes[0].mountPath must be an absolute "
			    "path");
	expect_error(K "  volumes:\n    - {name: a, claim: c}\n", 7, 7,
		     "kubernetes.volumes[0] needs a mountPath");
	expect_error(K "  volumes:\n    - {name: a, mountPath: /a}\n", 7, 7,
		     "kubernetes.volumes[0] needs one of claim:");
	expect_error(K "  volumes:\n    - name: a\n      claim: c\n"
		       "      nfs: {server: s, path: /p}\n      mountPath: /a\n",
		     9, 7, "give one of claim, nfs, emptyDir, secret and configMap, not two");
	expect_error(K "  volumes:\n    - {name: a, nfs: {server: s}, "
		       "mountPath: /a}\n",
		     7, 22, "kubernetes.volumes[0].nfs needs server: and path:");
	expect_error(K "  volumes:\n    - {name: a, nfs: {server: s, path: p}, "
		       "mountPath: /a}\n",
		     7, 40, "kubernetes.volumes[0].nfs.path must be an absolute");
	expect_error(K "  volumes:\n    - {name: a, claim: c, mountPath: /a, "
		       "readOnly: yes}\n",
		     7, 52, "kubernetes.volumes[0].readOnly must be true or "
			    "false");
	expect_error(K "  volumes:\n    - {name: a, claim: c, mountPath: /a, "
		       "subPath: x/../../y}\n",
		     7, 51, "kubernetes.volumes[0].subPath must not contain '..'");
	expect_error(K "  shm: 1Gi\n  volumes:\n    - {name: a, claim: c, "
		       "mountPath: /dev/shm/}\n",
		     8, 38, "/dev/shm/ is used by trainctl (kubernetes.shm)");
	expect_error(K "  volumes:\n    - {name: a, claim: c, mountPath: /x}\n"
		       "    - {name: b, claim: c, mountPath: /x/}\n",
		     8, 38, "two volumes are mounted at /x/");
	expect_error(K "  volumes:\n    - {name: a, claim: c, mountPath: "
		       "/etc/trainctl}\n",
		     7, 38, "/etc/trainctl is used by trainctl");
	expect_error(K "  shm: lots\n", 6, 8,
		     "kubernetes.shm must be a quantity such as 8Gi");
	expect_error(K "  shm: 0\n", 6, 8, "kubernetes.shm must be more than 0");
	expect_error(K "  nodeSelector: {gpu: [a]}\n", 6, 23,
		     "kubernetes.nodeSelector.gpu must be a single value");
	expect_error(K "  nodeSelector: {\"bad key\": x}\n", 6, 18,
		     "kubernetes.nodeSelector: 'bad key' is not a valid label "
		     "key");
	expect_error(K "  labels: {trainctl.io/trial: x}\n", 6, 12,
		     "kubernetes.labels: trainctl.io/trial is set by trainctl");
	expect_error(K "  labels: {team: \"a b\"}\n", 6, 18,
		     "kubernetes.labels.team: 'a b' is not a valid label value");
	expect_error(K "  labels: {team: }\n", 6, 18,
		     "kubernetes.labels.team has no value");
	expect_error(K "  labels: {kueue.x-k8s.io/queue-name: q}\n", 6, 12,
		     "set the Kueue queue with kubernetes.queue");
	expect_error(K "  tolerations: [x]\n", 6, 17,
		     "kubernetes.tolerations[0] must be a mapping");
	expect_error(K "  tolerations: [{key: a, operator: Exist}]\n", 6, 36,
		     "unknown kubernetes.tolerations[0].operator 'Exist' (did "
		     "you mean 'Exists'?)");
	expect_error(K "  tolerations: [{key: a, efect: NoSchedule}]\n", 6, 26,
		     "unknown key 'efect' in kubernetes.tolerations[0] (did "
		     "you mean 'effect'?)");
	expect_error(K "  affinity: [a]\n", 6, 13,
		     "kubernetes.affinity must be a mapping");
	expect_error(K "  affinity: {nodeAffnity: {}}\n", 6, 14,
		     "did you mean 'nodeAffinity'?");
	expect_error(K "  podTemplate: {sepc: {}}\n", 6, 17,
		     "unknown key 'sepc' in kubernetes.podTemplate (did you mean "
		     "'spec'?)");
	expect_error(K "  podTemplate: {spec: [a]}\n", 6, 23,
		     "kubernetes.podTemplate.spec must be a mapping");
	expect_error(K "  backoffLimit: -1\n", 6, 17,
		     "kubernetes.backoffLimit must be an integer ≥ 0");
	expect_error(K "  ttlSecondsAfterFinished: 1.5\n", 6, 28,
		     "kubernetes.ttlSecondsAfterFinished must be an integer");
	expect_error(K "  queue: \"a b\"\n", 6, 10,
		     "kubernetes.queue 'a b' is not a valid Kueue queue name");
	expect_error(K "  priorityClass: [x]\n", 6, 18,
		     "kubernetes.priorityClass must be a string");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_basic_job),
		cmocka_unit_test(test_configmap),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_gpu),
		cmocka_unit_test(test_volumes),
		cmocka_unit_test(test_pod_options),
		cmocka_unit_test(test_env_overrides),
		cmocka_unit_test(test_multi_node),
		cmocka_unit_test(test_pod_template_patch),
		cmocka_unit_test(test_deep_merge),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_workdir),
		cmocka_unit_test(test_spec_valid),
		cmocka_unit_test(test_spec_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
