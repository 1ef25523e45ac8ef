/*
 * test_spec.c — the experiment-file loader: a full valid spec parses with
 * the right values and defaults; every class of bad input is refused with
 * the expected line:col and message; quantities, durations and did-you-mean
 * are checked table by table.
 */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "k8s/kspec.h"
#include "spec/spec.h"
#include "util/arena.h"
#include "util/hash.h"

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

/* text must be refused at line:col (0: any) with a message containing sub. */
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
	assert_int_equal(e.code, TC_ERR_SPEC);
	assert_string_equal(e.file, "t.yaml");
	if ((line && e.line != line) || (col && e.col != col) ||
	    !strstr(e.msg, sub))
		fail_msg("expected %d:%d '%s'\n     got %s\n--- spec:\n%s",
			 line, col, sub, buf, text);
}

/* ------------------------------------------------------------------ */

/* DESIGN.md's example, with search.method random (a grid cannot hold the
 * distribution parameters) and an include entry that sets every
 * non-constant parameter. */
static const char *design_spec =
	"version: 1\n"
	"name: fmnist-grid            # [a-z0-9-], at most 40 characters\n"
	"command: [fmnist-train, --lr, \"{{lr}}\", --batch-size, "
	"\"{{batch_size}}\",\n"
	"          --optimizer, \"{{optimizer}}\", --epochs, \"3\", --out, "
	"\"{{trial_dir}}\"]\n"
	"env: {OMP_NUM_THREADS: \"1\"}\n"
	"parameters:\n"
	"  lr:           {values: [0.001, 0.0001, 0.00001]}\n"
	"  batch_size:   {values: [8, 16, 32]}\n"
	"  optimizer:    {values: [adam, lamb]}\n"
	"  init:         {value: random}                      # a constant\n"
	"  weight_decay: {distribution: log_uniform, min: 1.0e-6, max: "
	"1.0e-2}\n"
	"  dropout:      {distribution: uniform, min: 0.0, max: 0.5}\n"
	"  layers:       {distribution: int_uniform, min: 1, max: 4}\n"
	"search:\n"
	"  method: random\n"
	"  trials: 20\n"
	"  seed: 1\n"
	"  exclude: [{optimizer: lamb, batch_size: 8}]\n"
	"  include: [{lr: 0.0003, batch_size: 64, optimizer: adam,\n"
	"             weight_decay: 1e-4, dropout: 0.1, layers: 2}]\n"
	"metric: {name: test_acc, goal: maximize}\n"
	"resources: {cpu: 1, memory: 2Gi, gpu: 0}\n"
	"run: {parallel: 2, timeout: 30m, retries: 1}\n";

static void test_design_example(void **state)
{
	struct tc_spec *s = parse_ok(design_spec);
	const struct tc_param *p;
	const struct tc_point *pt;
	char hex[65];

	(void)state;
	assert_string_equal(s->path, "t.yaml");
	assert_int_equal(s->text_len, strlen(design_spec));
	assert_string_equal(s->text, design_spec);
	tc_sha256_hex(design_spec, strlen(design_spec), hex);
	assert_string_equal(s->hash, hex);
	assert_int_equal(s->version, 1);
	assert_string_equal(s->name, "fmnist-grid");

	assert_int_equal(s->ncommand, 11);
	assert_string_equal(s->command[0].text, "fmnist-train");
	assert_int_equal(s->command[0].pos.line, 3);
	assert_int_equal(s->command[0].pos.col, 11);
	assert_string_equal(s->command[2].text, "{{lr}}");
	assert_string_equal(s->command[8].text, "3");
	assert_string_equal(s->command[10].text, "{{trial_dir}}");
	assert_int_equal(s->command[10].pos.line, 4);
	assert_null(s->script.text);

	assert_int_equal(s->nenv, 1);
	assert_string_equal(s->env[0].key, "OMP_NUM_THREADS");
	assert_string_equal(s->env[0].value, "1");
	assert_int_equal(s->env[0].pos.line, 5);
	assert_int_equal(s->env[0].pos.col, 24);

	assert_int_equal(s->nparams, 7);
	p = &s->params[0];
	assert_string_equal(p->name, "lr");
	assert_int_equal(p->kind, TC_P_VALUES);
	assert_int_equal(p->nvalues, 3);
	assert_int_equal(p->values[0].type, TC_V_FLOAT);
	assert_string_equal(p->values[0].text, "0.001");
	assert_true(p->values[0].f == 0.001);
	assert_string_equal(p->values[2].text, "0.00001");
	assert_int_equal(p->pos.line, 7);
	assert_int_equal(p->pos.col, 3);
	p = &s->params[1];
	assert_string_equal(p->name, "batch_size");
	assert_int_equal(p->values[1].type, TC_V_INT);
	assert_int_equal(p->values[1].i, 16);
	assert_true(p->values[1].f == 16.0);
	p = &s->params[2];
	assert_int_equal(p->values[1].type, TC_V_STR);
	assert_string_equal(p->values[1].text, "lamb");
	p = &s->params[3];
	assert_string_equal(p->name, "init");
	assert_int_equal(p->kind, TC_P_CONST);
	assert_int_equal(p->nvalues, 1);
	assert_string_equal(p->values[0].text, "random");
	p = &s->params[4];
	assert_int_equal(p->kind, TC_P_LOG_UNIFORM);
	assert_true(p->min == 1.0e-6 && p->max == 1.0e-2);
	p = &s->params[5];
	assert_int_equal(p->kind, TC_P_UNIFORM);
	assert_true(p->min == 0.0 && p->max == 0.5);
	p = &s->params[6];
	assert_int_equal(p->kind, TC_P_INT_UNIFORM);
	assert_true(p->min == 1 && p->max == 4);

	assert_int_equal(s->search.method, TC_SEARCH_RANDOM);
	assert_true(s->search.has_trials);
	assert_int_equal(s->search.trials, 20);
	assert_true(s->search.has_seed);
	assert_int_equal(s->search.seed, 1);

	/* exclude: in parameter order, values as the grid's */
	assert_int_equal(s->search.nexclude, 1);
	pt = &s->search.exclude[0];
	assert_int_equal(pt->n, 2);
	assert_string_equal(pt->a[0].name, "batch_size");
	assert_int_equal(pt->a[0].value.type, TC_V_INT);
	assert_int_equal(pt->a[0].value.i, 8);
	assert_string_equal(pt->a[1].name, "optimizer");
	assert_string_equal(pt->a[1].value.text, "lamb");
	assert_int_equal(pt->pos.line, 18);

	/* include: complete, the constant filled in */
	assert_int_equal(s->search.ninclude, 1);
	pt = &s->search.include[0];
	assert_int_equal(pt->n, 7);
	assert_string_equal(pt->a[0].name, "lr");
	assert_string_equal(pt->a[0].value.text, "0.0003");
	assert_int_equal(pt->a[1].value.i, 64);
	assert_string_equal(pt->a[3].name, "init");
	assert_string_equal(pt->a[3].value.text, "random");
	assert_string_equal(pt->a[4].name, "weight_decay");
	assert_true(pt->a[4].value.f == 1e-4);
	assert_int_equal(pt->a[6].value.i, 2);

	assert_string_equal(s->metric.name, "test_acc");
	assert_int_equal(s->metric.goal, 1);
	assert_null(s->metric.regex);

	assert_true(s->resources.given);
	assert_true(s->resources.cpu == 1.0);
	assert_int_equal(s->resources.memory, 2LL << 30);
	assert_int_equal(s->resources.gpu, 0);

	assert_int_equal(s->run.parallel, 2);
	assert_true(s->run.timeout == 1800.0);
	assert_int_equal(s->run.retries, 1);
	assert_true(s->run.backoff == 1.0);

	assert_string_equal(s->backend, "local");
	assert_int_equal(s->nodes, 1);
	assert_non_null(s->k8s);
	assert_null(s->k8s->image.text);
	assert_int_equal(s->k8s->pos.line, 0);
	assert_true(s->k8s->limits.cpu < 0);
	assert_int_equal(s->k8s->ttl, -1);

	assert_int_equal(tc_spec_param_index(s, "lr", 2), 0);
	assert_int_equal(tc_spec_param_index(s, "layers", 6), 6);
	assert_int_equal(tc_spec_param_index(s, "optimizerX", 9), 2);
	assert_int_equal(tc_spec_param_index(s, "l", 1), -1);
	assert_int_equal(tc_spec_param_index(s, "lrr", 3), -1);
	assert_int_equal(tc_spec_param_index(s, "", 0), -1);
	tc_spec_free(s);
}

/* DESIGN.md's example as printed uses distributions with method: grid. */
static void test_design_example_as_printed(void **state)
{
	/* grid over the values: parameters, distributions drawn per point;
	 * the include sets only the values: parameters */
	struct tc_spec *s;
	char *t = strdup(design_spec);
	char *m = strstr(t, "method: random");
	const struct tc_point *pt;

	(void)state;
	memcpy(m, "method: grid  ", 14);
	s = parse_ok(t);
	assert_int_equal(s->search.method, TC_SEARCH_GRID);
	tc_spec_free(s);
	free(t);
	s = parse_ok("version: 1\nname: g\ncommand: [x]\nparameters:\n"
		     "  lr: {values: [0.1, 0.2]}\n"
		     "  init: {value: random}\n"
		     "  wd: {distribution: log_uniform, min: 1.0e-6, max: 1.0e-2}\n"
		     "search:\n  method: grid\n"
		     "  include: [{lr: 0.0003}]\n");
	pt = &s->search.include[0];
	assert_int_equal(pt->n, 2); /* lr and the constant; wd is drawn */
	assert_int_equal(tc_spec_grid_size(s), 2);
	tc_spec_free(s);
}

static void test_defaults_and_script(void **state)
{
	struct tc_spec *s = parse_ok("version: 1\n"
				     "name: s1\n"
				     "script: |\n"
				     "  echo {{trial_id}} \"$lr\"\n"
				     "  exit 0\n");

	(void)state;
	assert_null(s->command);
	assert_int_equal(s->ncommand, 0);
	assert_string_equal(s->script.text,
			    "echo {{trial_id}} \"$lr\"\nexit 0\n");
	assert_int_equal(s->script.pos.line, 3);
	assert_int_equal(s->nparams, 0);
	assert_int_equal(tc_spec_grid_size(s), 1);
	assert_int_equal(s->search.method, TC_SEARCH_GRID);
	assert_false(s->search.has_trials);
	assert_false(s->search.has_seed);
	assert_null(s->metric.name);
	assert_int_equal(s->metric.goal, 1);
	assert_false(s->resources.given);
	assert_int_equal(s->run.parallel, 1);
	assert_true(s->run.timeout == 0);
	assert_int_equal(s->run.retries, 0);
	assert_true(s->run.backoff == 1.0);
	assert_int_equal(s->run.max_failures, 3);
	assert_string_equal(s->backend, "local");
	assert_int_equal(s->nodes, 1);
	assert_int_equal(tc_spec_param_index(s, "x", 1), -1);
	tc_spec_free(s);
}

static void test_everything_else(void **state)
{
	struct tc_spec *s = parse_ok(
		"version: 1\n"
		"name: k8s-1\n"
		"command: [\"train\", '{{ a }}', '{{seed}}-{{index}}']\n"
		"env:\n"
		"  A: 1\n"
		"  B: \"x {{a}} y\"\n"
		"  C: true\n"
		"parameters:\n"
		"  a: {values: [\"8\", 8, x, true, null]}\n"
		"metric:\n"
		"  name: loss\n"
		"  goal: minimize\n"
		"  regex: 'loss=(?<loss>[0-9.]+)'\n"
		"resources: {cpu: 500m, memory: 1e9, gpu: 2}\n"
		"run: {timeout: 1h30m, backoff: 250ms, retries: 0, parallel: "
		"64, max_failures: 0}\n"
		"backend: kubernetes\n"
		"nodes: 4\n"
		"kubernetes:\n"
		"  namespace: my-lab\n"
		"  image: ghcr.io/lab/train:1.4\n"
		"  imagePullSecrets: [regcred]\n"
		"  limits: {cpu: 4.8, memory: 30Gi}\n"
		"  volumes:\n"
		"    - {name: data, claim: sentinel, mountPath: /data, "
		"readOnly: true}\n"
		"  shm: 8Gi\n"
		"  nodeSelector: {nvidia.com/gpu.product: A100}\n"
		"  tolerations: [{key: lab/reserved, operator: Exists}]\n"
		"  backoffLimit: 0\n"
		"  podTemplate: {spec: {hostIPC: false, x: null, y: ~}}\n");
	const struct tc_kspec *k;
	json_t *v;

	(void)state;
	assert_int_equal(s->ncommand, 3);
	assert_string_equal(s->command[1].text, "{{ a }}");
	assert_int_equal(s->nenv, 3);
	assert_string_equal(s->env[0].value, "1");
	assert_string_equal(s->env[2].value, "true");
	assert_int_equal(s->params[0].nvalues, 5);
	assert_int_equal(s->params[0].values[0].type, TC_V_STR);
	assert_int_equal(s->params[0].values[1].type, TC_V_INT);
	assert_int_equal(s->params[0].values[3].type, TC_V_BOOL);
	assert_int_equal(s->params[0].values[4].type, TC_V_NULL);
	assert_string_equal(s->metric.name, "loss");
	assert_int_equal(s->metric.goal, -1);
	assert_string_equal(s->metric.regex, "loss=(?<loss>[0-9.]+)");
	assert_int_equal(s->metric.regex_pos.line, 13);
	assert_int_equal(s->metric.regex_pos.col, 10);
	assert_true(fabs(s->resources.cpu - 0.5) < 1e-12);
	assert_int_equal(s->resources.memory, 1000000000LL);
	assert_int_equal(s->resources.gpu, 2);
	assert_true(s->run.timeout == 5400.0);
	assert_true(fabs(s->run.backoff - 0.25) < 1e-12);
	assert_int_equal(s->run.parallel, 64);
	assert_int_equal(s->run.max_failures, 0);
	assert_string_equal(s->backend, "kubernetes");
	assert_int_equal(s->nodes, 4);

	/* the section typed, positions kept, quantities parsed once */
	k = s->k8s;
	assert_int_equal(k->pos.line, 18);
	assert_int_equal(k->pos.col, 1);
	assert_string_equal(k->ns.text, "my-lab");
	assert_int_equal(k->ns.pos.line, 19);
	assert_int_equal(k->ns.pos.col, 14);
	assert_string_equal(k->image.text, "ghcr.io/lab/train:1.4");
	assert_null(k->context.text);
	assert_int_equal(k->npull_secrets, 1);
	assert_string_equal(k->pull_secrets[0].text, "regcred");
	assert_int_equal(k->pull_secrets[0].pos.line, 21);
	assert_true(k->limits.cpu == 4.8);
	assert_int_equal(k->limits.memory, 30LL << 30);
	assert_int_equal(k->limits.gpu, -1);
	assert_int_equal(k->nvolumes, 1);
	assert_string_equal(k->volumes[0].name, "data");
	assert_string_equal(k->volumes[0].claim, "sentinel");
	assert_string_equal(k->volumes[0].mount_path, "/data");
	assert_true(k->volumes[0].read_only);
	assert_null(k->volumes[0].sub_path);
	assert_int_equal(k->shm, 8LL << 30);
	assert_int_equal(k->nnode_selector, 1);
	assert_string_equal(k->node_selector[0].key, "nvidia.com/gpu.product");
	assert_string_equal(k->node_selector[0].value, "A100");
	assert_int_equal(k->ntolerations, 1);
	assert_string_equal(k->tolerations[0].key, "lab/reserved");
	assert_string_equal(k->tolerations[0].op, "Exists");
	assert_null(k->tolerations[0].effect);
	assert_int_equal(k->backoff_limit, 0);
	assert_int_equal(k->ttl, -1);
	assert_null(k->affinity);
	v = json_object_get(k->pod_template, "spec");
	assert_true(json_is_false(json_object_get(v, "hostIPC")));
	assert_true(json_is_null(json_object_get(v, "x")));
	assert_true(json_is_null(json_object_get(v, "y")));
	tc_spec_free(s);
}

/* How plain and quoted scalars are typed (YAML 1.2 core schema). */
static void test_scalar_types(void **state)
{
	static const struct {
		const char *yaml;
		enum tc_vtype type;
		const char *text;
		long long i;
		double f;
	} cases[] = {
		{"null", TC_V_NULL, "null", 0, 0},
		{"~", TC_V_NULL, "~", 0, 0},
		{"NULL", TC_V_NULL, "NULL", 0, 0},
		{"true", TC_V_BOOL, "true", 1, 0},
		{"True", TC_V_BOOL, "True", 1, 0},
		{"FALSE", TC_V_BOOL, "FALSE", 0, 0},
		{"yes", TC_V_STR, "yes", 0, 0}, /* 1.1 only */
		{"8", TC_V_INT, "8", 8, 8},
		{"-3", TC_V_INT, "-3", -3, -3},
		{"+5", TC_V_INT, "+5", 5, 5},
		{"007", TC_V_INT, "007", 7, 7},
		{"0x1F", TC_V_INT, "0x1F", 31, 31},
		{"0o17", TC_V_INT, "0o17", 15, 15},
		{"9223372036854775807", TC_V_INT, "9223372036854775807",
		 9223372036854775807LL, 9223372036854775807.0},
		{"99999999999999999999", TC_V_FLOAT, "99999999999999999999", 0,
		 1e20},
		{"0x10000000000000000", TC_V_FLOAT, "0x10000000000000000", 0,
		 18446744073709551616.0},
		{"0o2000000000000000000000", TC_V_FLOAT,
		 "0o2000000000000000000000", 0, 18446744073709551616.0},
		{"1e-4", TC_V_FLOAT, "1e-4", 0, 1e-4},
		{"1.0e-6", TC_V_FLOAT, "1.0e-6", 0, 1e-6},
		{"-2.5E+3", TC_V_FLOAT, "-2.5E+3", 0, -2500},
		{".5", TC_V_FLOAT, ".5", 0, 0.5},
		{"5.", TC_V_FLOAT, "5.", 0, 5},
		{"0.00001", TC_V_FLOAT, "0.00001", 0, 0.00001},
		{".inf", TC_V_FLOAT, ".inf", 0, INFINITY},
		{"-.Inf", TC_V_FLOAT, "-.Inf", 0, -INFINITY},
		{"1_000", TC_V_STR, "1_000", 0, 0},
		{"0x", TC_V_STR, "0x", 0, 0},
		{"1e", TC_V_STR, "1e", 0, 0},
		{".", TC_V_STR, ".", 0, 0},
		{"adam", TC_V_STR, "adam", 0, 0},
		{"\"8\"", TC_V_STR, "8", 0, 0},
		{"'true'", TC_V_STR, "true", 0, 0},
		{"\"\"", TC_V_STR, "", 0, 0},
		{"\"a\\tb\"", TC_V_STR, "a\tb", 0, 0},
		{"'it''s'", TC_V_STR, "it's", 0, 0},
		{"$(rm -rf /)", TC_V_STR, "$(rm -rf /)", 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		struct tc_spec *s;
		const struct tc_value *v;

		snprintf(text, sizeof(text),
			 "version: 1\nname: t\ncommand: [x]\n"
			 "parameters:\n  p: {value: %s}\n",
			 cases[i].yaml);
		s = parse_ok(text);
		v = &s->params[0].values[0];
		if (v->type != cases[i].type ||
		    strcmp(v->text, cases[i].text) != 0)
			fail_msg("%s: got type %d text '%s'", cases[i].yaml,
				 v->type, v->text);
		if (v->type == TC_V_INT)
			assert_int_equal(v->i, cases[i].i);
		if (v->type == TC_V_BOOL)
			assert_int_equal(v->b, cases[i].i);
		if (v->type == TC_V_INT || v->type == TC_V_FLOAT)
			assert_true(v->f == cases[i].f);
		tc_spec_free(s);
	}
	{
		struct tc_spec *s = parse_ok("version: 1\nname: t\ncommand: "
					     "[x]\nparameters:\n  p: {value: "
					     ".nan}\n");

		assert_int_equal(s->params[0].values[0].type, TC_V_FLOAT);
		assert_true(isnan(s->params[0].values[0].f));
		tc_spec_free(s);
	}
}

static void test_value_equal(void **state)
{
	struct tc_value a = {TC_V_INT, "1", 1, 1.0, 0};
	struct tc_value b = {TC_V_FLOAT, "1.0", 0, 1.0, 0};
	struct tc_value c = {TC_V_STR, "1", 0, 0, 0};
	struct tc_value d = {TC_V_FLOAT, "1e-3", 0, 1e-3, 0};
	struct tc_value e = {TC_V_FLOAT, "0.001", 0, 0.001, 0};
	struct tc_value n1 = {TC_V_NULL, "~", 0, 0, 0};
	struct tc_value n2 = {TC_V_NULL, "null", 0, 0, 0};
	struct tc_value t = {TC_V_BOOL, "true", 0, 0, 1};
	struct tc_value t2 = {TC_V_BOOL, "True", 0, 0, 1};
	struct tc_value f = {TC_V_BOOL, "false", 0, 0, 0};

	(void)state;
	assert_true(tc_value_equal(&a, &b));
	assert_false(tc_value_equal(&a, &c));
	assert_true(tc_value_equal(&d, &e));
	assert_true(tc_value_equal(&n1, &n2));
	assert_true(tc_value_equal(&t, &t2));
	assert_false(tc_value_equal(&t, &f));
	assert_false(tc_value_equal(&c, &n1));
}

/* ------------------------------------------------------------------ */
/* Bad input: position and message                                      */
/* ------------------------------------------------------------------ */

#define HEAD "version: 1\nname: t\ncommand: [x, \"{{lr}}\"]\n"
#define PARAMS HEAD "parameters:\n  lr: {values: [0.1, 0.01]}\n"

static void test_bad_yaml(void **state)
{
	(void)state;
	expect_error("version: 1\nname: [a\n", 3, 1, "YAML syntax error");
	expect_error("version: 1\nname: x\ncommand:\n\t- echo\n", 4, 1,
		     "tabs");
	expect_error("version: 1\nname: \"x\n", 3, 1, "YAML syntax error");
	expect_error("a: b\n  c: d\n", 2, 4, "YAML syntax error");
	expect_error("version: 1\nname: *nope\n", 2, 7, "undefined alias");
	expect_error("version: 1\nname: x\ncommand: [a]\n---\nversion: 1\n",
		     4, 1, "a second YAML document");
	expect_error("", 1, 1, "the file is empty");
	expect_error("# only a comment\n", 1, 1, "the file is empty");
	expect_error("- a\n- b\n", 1, 1, "top level must be a mapping");
	expect_error("hello\n", 1, 1, "top level must be a mapping");
}

static void test_bad_bytes(void **state)
{
	struct tc_spec *s = (struct tc_spec *)1;
	struct tc_error e;
	static const char nul[] = "version: 1\nname: x\0\ncommand: [a]\n";
	static const char utf16[] = "\xff\xfev\0e\0r\0";
	static const char bom[] =
		"\xef\xbb\xbfversion: 1\nname: x\ncommand: [\"{{lrr}}\"]\n";
	static const char bad8[] = "version: 1\nname: x\ncommand: [\"\xff\"]\n";

	(void)state;
	assert_int_equal(tc_spec_parse("t.yaml", nul, sizeof(nul) - 1, &s, &e),
			 TC_ERR_SPEC);
	assert_null(s);
	assert_int_equal(e.line, 2);
	assert_int_equal(e.col, 8);
	assert_non_null(strstr(e.msg, "NUL byte"));

	assert_int_equal(tc_spec_parse("t.yaml", utf16, sizeof(utf16) - 1, &s,
				       &e),
			 TC_ERR_SPEC);
	assert_non_null(strstr(e.msg, "UTF-16"));

	/* a BOM is skipped and does not shift columns */
	assert_int_equal(tc_spec_parse("t.yaml", bom, sizeof(bom) - 1, &s, &e),
			 TC_ERR_SPEC);
	assert_int_equal(e.line, 3);
	assert_int_equal(e.col, 12);
	assert_non_null(strstr(e.msg, "unknown parameter 'lrr'"));

	assert_int_equal(tc_spec_parse("t.yaml", bad8, sizeof(bad8) - 1, &s,
				       &e),
			 TC_ERR_SPEC);
	assert_int_equal(e.line, 3);
	assert_int_equal(e.col, 12);
	assert_non_null(strstr(e.msg, "UTF-8"));

	/* an escaped NUL inside a string */
	expect_error("version: 1\nname: x\ncommand: [a, \"b\\0c\"]\n", 3, 14,
		     "NUL character");
}

static void test_bad_structure(void **state)
{
	(void)state;
	/* duplicate and unknown keys, at every level */
	expect_error("version: 1\nname: x\nname: y\ncommand: [a]\n", 3, 1,
		     "duplicate key 'name' (first given at line 2)");
	expect_error("version: 1\nnmae: x\ncommand: [a]\n", 2, 1,
		     "unknown key 'nmae' (did you mean 'name'?)");
	expect_error("version: 1\nname: x\ncomand: [a]\n", 3, 1,
		     "did you mean 'command'?");
	expect_error("version: 1\nname: x\ncommand: [a]\nfoo: 1\n", 4, 1,
		     "unknown key 'foo'; known keys: version, name");
	expect_error(PARAMS "run: {paralel: 2}\n", 6, 7,
		     "unknown key 'paralel' in run (did you mean "
		     "'parallel'?)");
	expect_error(PARAMS "run: {parallel: 2, parallel: 3}\n", 6, 20,
		     "duplicate key 'parallel' in run");
	expect_error(PARAMS "search: {methd: grid}\n", 6, 10,
		     "did you mean 'method'?");
	expect_error(PARAMS "metric: {nam: acc}\n", 6, 10,
		     "did you mean 'name'?");
	expect_error(PARAMS "resources: {memroy: 1Gi}\n", 6, 13,
		     "did you mean 'memory'?");
	expect_error(HEAD "parameters:\n  lr: {values: [1], vaule: 2}\n", 5,
		     21, "unknown key 'vaule' in parameters.lr (did you mean "
		     "'value'?)");
	expect_error(HEAD "parameters:\n  lr: {values: [1]}\n  lr: {value: "
		     "2}\n",
		     6, 3, "duplicate key 'lr' in parameters");
	expect_error(HEAD "env: {A: 1, A: 2}\n", 4, 13,
		     "duplicate key 'A' in env");
	expect_error(PARAMS "kubernetes: {namespce: x}\n", 6, 14,
		     "unknown key 'namespce' in kubernetes (did you mean "
		     "'namespace'?)");
	expect_error(PARAMS "kubernetes: {labels: {a: 1, a: 2}}\n", 6, 29,
		     "duplicate key 'a' in kubernetes");
	expect_error("version: 1\nname: x\ncommand: [a]\nrun: &r {parallel: "
		     "2}\nmetric:\n  <<: *r\n",
		     6, 3, "merge keys (<<) are not supported in metric");
	expect_error("version: 1\n[a]: x\n", 2, 1, "keys must be names");
	expect_error("version: 1\n~: x\n", 2, 1, "empty key");
}

static void test_bad_fields(void **state)
{
	(void)state;
	expect_error("name: x\ncommand: [a]\n", 1, 1, "missing version");
	expect_error("version: 2\nname: x\ncommand: [a]\n", 1, 10,
		     "unsupported version 2");
	expect_error("version: \"2\"\nname: x\ncommand: [a]\n", 1, 10,
		     "version must be 1");
	expect_error("version: 1\ncommand: [a]\n", 1, 1, "missing name");
	expect_error("version: 1\nname: My_Exp\ncommand: [a]\n", 2, 7,
		     "(try 'my-exp')");
	expect_error("version: 1\nname: -x\ncommand: [a]\n", 2, 7,
		     "starting and ending with a letter or digit");
	expect_error("version: 1\nname: "
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\ncommand: [a]\n",
		     2, 7, "1 to 40 characters");
	expect_error("version: 1\nname: [x]\ncommand: [a]\n", 2, 7,
		     "name must be");
	expect_error("version: 1\nname: x\n", 1, 1, "missing command");
	expect_error("version: 1\nname: x\ncommand: [a]\nscript: b\n", 4, 1,
		     "either command or script, not both");
	expect_error("version: 1\nname: x\ncommand: python train.py\n", 3, 10,
		     "command must be a list of arguments");
	expect_error("version: 1\nname: x\ncommand: []\n", 3, 10,
		     "command is empty");
	expect_error("version: 1\nname: x\ncommand: [a, [b]]\n", 3, 14,
		     "command[1] must be a single value, not a list");
	expect_error("version: 1\nname: x\ncommand: [a, {{lr}}]\n", 3, 14,
		     "quote template references");
	expect_error("version: 1\nname: x\ncommand:\n  - a\n  -\n", 5, 4,
		     "command[1] is empty");
	expect_error("version: 1\nname: x\nscript: [a]\n", 3, 9,
		     "script must be a string");
	expect_error("version: 1\nname: x\nscript: \"  \"\n", 3, 9,
		     "script is blank");
	expect_error(PARAMS "env: [A]\n", 6, 6, "env must be a mapping");
	expect_error(PARAMS "env: {1A: x}\n", 6, 7,
		     "'1A' is not a valid variable name");
	expect_error(PARAMS "env: {TRAINCTL_TRIAL: x}\n", 6, 7,
		     "set by trainctl");
	expect_error(PARAMS "env: {A: [x]}\n", 6, 10,
		     "env.A must be a single value");
	expect_error(PARAMS "env: {A: }\n", 6, 10, "env.A has no value");
	expect_error(PARAMS "metric: test_acc\n", 6, 9,
		     "metric must be a mapping");
	expect_error(PARAMS "metric: {goal: maximize}\n", 6, 9,
		     "metric needs a name");
	expect_error(PARAMS "metric: {name: acc, goal: maximise}\n", 6, 27,
		     "unknown metric.goal 'maximise' (did you mean "
		     "'maximize'?)");
	expect_error(PARAMS "metric: {name: acc, goal: up}\n", 6, 27,
		     "use maximize or minimize");
	expect_error(PARAMS "metric: {name: acc, regex: 5}\n", 6, 28,
		     "metric.regex must be a string");
	expect_error(PARAMS "metric: {name: \"a b\"}\n", 6, 16,
		     "must not contain spaces");
	expect_error(PARAMS "backend: k8s\n", 6, 10, "unknown backend 'k8s'");
	expect_error(PARAMS "backend: kubernets\n", 6, 10,
		     "did you mean 'kubernetes'?");
	expect_error(PARAMS "nodes: 0\n", 6, 8, "nodes must be an integer ≥ 1");
	expect_error(PARAMS "kubernetes: [a]\n", 6, 13,
		     "kubernetes must be a mapping");
	expect_error(PARAMS "kubernetes: {limits: {cpu: .inf}}\n", 6, 28,
		     "not a finite number");
}

static void test_bad_run_resources(void **state)
{
	(void)state;
	expect_error(PARAMS "run: {parallel: 0}\n", 6, 17,
		     "run.parallel must be an integer ≥ 1");
	expect_error(PARAMS "run: {parallel: 1.5}\n", 6, 17,
		     "run.parallel must be an integer ≥ 1 (got '1.5')");
	expect_error(PARAMS "run: {parallel: two}\n", 6, 17,
		     "run.parallel must be an integer ≥ 1");
	expect_error(PARAMS "run: {parallel: 99999999999}\n", 6, 17,
		     "run.parallel");
	expect_error(PARAMS "run: {retries: -1}\n", 6, 16,
		     "run.retries must be an integer ≥ 0");
	expect_error(PARAMS "run: {max_failures: -1}\n", 6, 21,
		     "run.max_failures must be an integer ≥ 0");
	expect_error(PARAMS "run: {max_failures: 2.5}\n", 6, 21,
		     "run.max_failures must be an integer ≥ 0");
	expect_error(PARAMS "run: {timeout: 1.5.5}\n", 6, 16,
		     "run.timeout must be a duration");
	expect_error(PARAMS "run: {timeout: -5}\n", 6, 16,
		     "run.timeout must be a duration");
	expect_error(PARAMS "run: {backoff: forever}\n", 6, 16,
		     "run.backoff must be a duration");
	expect_error(PARAMS "run: 3\n", 6, 6, "run must be a mapping");
	expect_error(PARAMS "resources: {memory: 2Gx}\n", 6, 21,
		     "resources.memory must be a quantity");
	expect_error(PARAMS "resources: {memory: -1}\n", 6, 21,
		     "resources.memory");
	expect_error(PARAMS "resources: {cpu: -1}\n", 6, 18,
		     "resources.cpu must be a number of cores");
	expect_error(PARAMS "resources: {cpu: abc}\n", 6, 18,
		     "resources.cpu");
	expect_error(PARAMS "resources: {cpu: \"\"}\n", 6, 18,
		     "resources.cpu");
	expect_error(PARAMS "resources: {gpu: -1}\n", 6, 18,
		     "resources.gpu must be an integer ≥ 0");
	expect_error(PARAMS "resources: {gpu: 0.5}\n", 6, 18,
		     "resources.gpu");
}

static void test_bad_parameters(void **state)
{
	(void)state;
	expect_error(HEAD "parameters: [lr]\n", 4, 13,
		     "parameters must be a mapping");
	expect_error(HEAD "parameters:\n  lr: [0.1, 0.2]\n", 5, 7,
		     "parameters.lr must be a mapping");
	expect_error(HEAD "parameters:\n  lr: {}\n", 5, 7,
		     "parameters.lr needs values");
	expect_error(HEAD "parameters:\n  lr: {values: [1], value: 2}\n", 5,
		     21, "give only one of values, value, distribution or from");
	/* derived parameters: from: an unknown name, a value missing from
	 * map:, a derived name in include/exclude */
	expect_error(HEAD "parameters:\n  lr: {values: [1]}\n"
		     "  bs: {from: gpu, map: {a: 1}}\n", 6, 14,
		     "parameters.bs.from: unknown parameter 'gpu'");
	expect_error(HEAD "parameters:\n  lr: {values: [1]}\n  g: {values: [a, b]}\n"
		     "  bs: {from: g, map: {a: 1}}\n", 7, 7,
		     "parameters.bs.map has no entry for 'b', a value of "
		     "parameters.g");
	expect_error(HEAD "parameters:\n  lr: {values: [1]}\n  g: {values: [a]}\n"
		     "  bs: {from: g, map: {a: 1}}\nsearch: {exclude: "
		     "[{bs: 1}]}\n", 8, 25,
		     "'bs' is derived from 'g' (from:): name 'g' instead");
	expect_error(HEAD "parameters:\n  lr: {values: [1]}\n  g: {values: [a]}\n"
		     "  bs: {from: g, map: {a: 1}}\nsearch: {include: "
		     "[{lr: 1, g: z}]}\n", 8, 20,
		     "parameters.bs.map has no entry for g 'z'");
	expect_error(HEAD "parameters:\n  lr: {values: [1]}\n  g: {distribution: uniform, min: 0, "
		     "max: 1}\n  bs: {from: g, map: {a: 1}}\n"
		     "search: {method: random, trials: 2}\n", 7, 14,
		     "'g' is drawn from a distribution");
	expect_error(HEAD "parameters:\n  lr: {values: [1]}\n  g: {values: [a]}\n"
		     "  bs: {from: g}\n", 7, 7, "from: needs map:");
	expect_error(HEAD "parameters:\n  lr: {values: [1]}\n  g: {values: [a]}\n"
		     "  bs: {map: {a: 1}}\n", 7, 7, "or from: with map:");
	expect_error(HEAD "parameters:\n  lr: {value: 2, min: 1}\n", 5, 18,
		     "min and max go with distribution");
	expect_error(HEAD "parameters:\n  lr: {values: []}\n", 5, 16,
		     "parameters.lr.values is empty");
	expect_error(HEAD "parameters:\n  lr: {values: 1}\n", 5, 16,
		     "parameters.lr.values must be a list");
	expect_error(HEAD "parameters:\n  lr: {values: [1, [2]]}\n", 5, 20,
		     "parameters.lr.values[1] must be a single value");
	expect_error(HEAD "parameters:\n  lr: {values: [1, 2, 1.0]}\n", 5,
		     23, "duplicate value 1.0 (same as 1, entry 0)");
	expect_error(HEAD "parameters:\n  lr: {values: [a, b, a]}\n", 5, 23,
		     "duplicate value a");
	expect_error(HEAD "parameters:\n  lr: {value: [1, 2]}\n", 5, 15,
		     "must be a single value; for several write values");
	expect_error(HEAD "parameters:\n  lr: {distribution: gauss, min: 0, "
		     "max: 1}\nsearch: {method: random, trials: 2}\n",
		     5, 22, "use uniform, log_uniform, int_uniform, ");
	expect_error(HEAD "parameters:\n  lr: {distribution: unifrom, min: 0, "
		     "max: 1}\nsearch: {method: random, trials: 2}\n",
		     5, 22, "did you mean 'uniform'?");
	expect_error(HEAD "parameters:\n  lr: {distribution: uniform, min: "
		     "0}\nsearch: {method: random, trials: 2}\n",
		     5, 7, "needs min and max");
	expect_error(HEAD "parameters:\n  lr: {distribution: uniform, min: 2, "
		     "max: 1}\nsearch: {method: random, trials: 2}\n",
		     5, 36, "min (2) is greater than max (1)");
	expect_error(HEAD "parameters:\n  lr: {distribution: uniform, min: a, "
		     "max: 1}\nsearch: {method: random, trials: 2}\n",
		     5, 36, "parameters.lr.min must be a number");
	expect_error(HEAD "parameters:\n  lr: {distribution: uniform, min: 0, "
		     "max: .inf}\nsearch: {method: random, trials: 2}\n",
		     5, 44, "must be a finite number");
	expect_error(HEAD "parameters:\n  lr: {distribution: log_uniform, min: "
		     "0, max: 1}\nsearch: {method: random, trials: 2}\n",
		     5, 40, "log_uniform needs min > 0");
	expect_error(HEAD "parameters:\n  lr: {distribution: int_uniform, min: "
		     "1, max: 2.5}\nsearch: {method: random, trials: 2}\n",
		     5, 48, "max must be an integer for int_uniform");
	expect_error(HEAD "parameters:\n  lr: {distribution: int_uniform, min: "
		     "5, max: 2}\nsearch: {method: random, trials: 2}\n",
		     5, 40, "min (5) is greater than max (2)");
	expect_error(HEAD "parameters:\n  lr: {values: [1]}\n  2x: {values: "
		     "[1]}\n",
		     6, 3, "parameter name '2x' must start with a letter");
	/* a huge grid without trials */
	expect_error(HEAD "parameters:\n"
		     "  lr: {values: [1,2,3,4,5,6,7,8,9,10]}\n"
		     "  b: {values: [1,2,3,4,5,6,7,8,9,10]}\n"
		     "  c: {values: [1,2,3,4,5,6,7,8,9,10]}\n"
		     "  d: {values: [1,2,3,4,5,6,7,8,9,10]}\n"
		     "  e: {values: [1,2,3,4,5,6,7,8,9,10]}\n"
		     "  f: {values: [1,2,3,4,5,6,7,8,9,10]}\n"
		     "  g: {values: [1,2,3,4,5,6,7,8,9,10]}\n"
		     "  h: {values: [1,2,3,4,5,6,7,8,9,10]}\n"
		     "  i: {values: [1,2]}\n",
		     4, 1, "the grid has 200000000 points");
}

static void test_bad_search(void **state)
{
	(void)state;
	expect_error(PARAMS "search: grid\n", 6, 9, "search must be a mapping");
	expect_error(PARAMS "search: {method: grdi}\n", 6, 18,
		     "unknown search.method 'grdi' (did you mean 'grid'?)");
	expect_error(PARAMS "search: {method: hyperopt}\n", 6, 18,
		     "use grid, random, sobol, tpe or bayes");
	expect_error(PARAMS "search: {method: tpse}\n", 6, 18,
		     "(did you mean 'tpe'?)");
	expect_error(PARAMS "search: {method: tpe}\n", 6, 18,
		     "tpe search needs search.trials");
	expect_error(PARAMS "search: {method: bayes, trials: 4}\n", 6, 18,
		     "tpe search needs a metric to optimise");
	expect_error(PARAMS "search: {method: tpe, trials: 4, include: "
			    "[{lr: 0.1}]}\n",
		     6, 34, "tpe search takes no include");
	expect_error(PARAMS "search: {method: grid, startup: 3}\n", 6, 24,
		     "search.startup is for method: tpe");
	expect_error(PARAMS "search: {method: random}\n", 6, 18,
		     "random search needs search.trials");
	expect_error(PARAMS "search: {method: sobol}\n", 6, 18,
		     "sobol search needs search.trials");
	expect_error(PARAMS "search: {trials: 0}\n", 6, 18,
		     "search.trials must be an integer ≥ 1");
	expect_error(PARAMS "search: {seed: -1}\n", 6, 16,
		     "search.seed must be an integer ≥ 0");
	expect_error(PARAMS "search: {exclude: {lr: 0.1}}\n", 6, 19,
		     "search.exclude must be a list of mappings");
	expect_error(PARAMS "search: {exclude: [lr]}\n", 6, 20,
		     "search.exclude[0] must be a mapping");
	expect_error(PARAMS "search: {exclude: [{}]}\n", 6, 20,
		     "would exclude every trial");
	expect_error(PARAMS "search: {exclude: [{lrr: 0.1}]}\n", 6, 21,
		     "search.exclude[0]: unknown parameter 'lrr' (did you mean "
		     "'lr'?)");
	expect_error(PARAMS "search: {exclude: [{lr: 0.1, lr: 0.01}]}\n", 6,
		     30, "duplicate key 'lr' in search.exclude[0]");
	expect_error(PARAMS "search: {exclude: [{lr: 0.5}]}\n", 6, 25,
		     "not one of the values of 'lr'");
	expect_error(PARAMS "search: {exclude: [{lr: [0.1]}]}\n", 6, 25,
		     "search.exclude[0].lr must be a single value");
	expect_error(PARAMS "  o: {values: [a, b]}\n"
		     "search: {include: [{lr: 0.3}]}\n",
		     7, 20, "search.include[0] does not set 'o'");
	expect_error(PARAMS "  d: {distribution: int_uniform, min: 1, max: "
		     "3}\nsearch: {method: random, trials: 5,\n"
		     "  include: [{lr: 0.1, d: 1.5}]}\n",
		     8, 26, "search.include[0].d must be an integer");
}

static void test_bad_templates(void **state)
{
	(void)state;
	/* the position is that of the reference itself */
	expect_error("version: 1\nname: x\ncommand: [echo, \"--lr={{lrr}}\"]\n"
		     "parameters:\n  lr: {values: [1]}\n",
		     3, 23, "unknown parameter 'lrr' in {{lrr}} (did you mean "
		     "'lr'?)");
	expect_error("version: 1\nname: x\ncommand:\n  - echo\n"
		     "  - --lr={{lrr}}\n"
		     "parameters:\n  lr: {values: [1]}\n",
		     5, 10, "did you mean 'lr'?");
	expect_error("version: 1\nname: x\ncommand:\n  - echo\n"
		     "  - 'a {{lr}} {{ batch }}'\n"
		     "parameters:\n  lr: {values: [1]}\n  batch_size: {values: "
		     "[1]}\n",
		     5, 15, "unknown parameter 'batch' in {{ batch }}");
	expect_error("version: 1\nname: x\ncommand: [echo, \"é{{lrr}}\"]\n", 3,
		     19, "unknown parameter 'lrr'");
	expect_error("version: 1\nname: x\ncommand: [echo, \"\\t{{lrr}}\"]\n",
		     3, 20, "unknown parameter 'lrr'");
	expect_error("version: 1\nname: x\ncommand: [echo, \"{{trial_idd}}\"]\n",
		     3, 18, "did you mean 'trial_id'?");
	expect_error("version: 1\nname: x\ncommand: [echo, \"{{zzz}}\"]\n", 3,
		     18, "not a parameter, nor one of trial_id");
	expect_error("version: 1\nname: x\ncommand: [echo, \"{{lr\"]\n", 3, 18,
		     "malformed template reference '{{lr'");
	expect_error("version: 1\nname: x\ncommand: [echo, \"{{}}\"]\n", 3, 18,
		     "malformed template reference");
	expect_error("version: 1\nname: x\ncommand: [a]\n"
		     "env: {A: \"x{{seeed}}\"}\n",
		     4, 12, "unknown parameter 'seeed'");
	expect_error("version: 1\nname: x\nscript: |\n  echo hi\n"
		     "  echo {{lr}} {{trial_idd}}\n"
		     "parameters:\n  lr: {values: [1]}\n",
		     5, 15, "unknown parameter 'trial_idd'");
	expect_error("version: 1\nname: x\nscript: >\n  echo\n"
		     "  {{lr}} {{nope}}\n",
		     5, 3, "unknown parameter 'lr'");
	/* a reference spelled with escapes is not in the source text: the
	 * offset is counted from the start of the one-line scalar */
	expect_error("version: 1\nname: x\ncommand: [echo, \"\\x7b{lrr}}\"]\n",
		     3, 18, "unknown parameter 'lrr' in {{lrr}}");
	/* the same reference twice: the position of the bad one */
	expect_error("version: 1\nname: x\ncommand: [\"{{a}}{{a}}\"]\n", 3, 12,
		     "unknown parameter 'a'");
}

static void test_robustness(void **state)
{
	static const char *lol =
		"version: 1\nname: x\ncommand: [a]\nkubernetes:\n  labels:\n"
		"    a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
		"    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		"    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		"    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
		"    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	struct tc_spec *s = (struct tc_spec *)1;
	struct tc_error e;
	char *big, *deep;
	size_t i;

	(void)state;
	expect_error(lol, 0, 0, "more than 100000 values");
	expect_error("version: 1\nname: x\ncommand: [a]\nkubernetes:\n"
		     "  labels: &a [*a]\n",
		     5, 0, "nested deeper than 64 levels");
	expect_error("version: 1\nname: x\ncommand: [a]\nkubernetes:\n"
		     "  labels: &a {x: *a}\n",
		     5, 0, "nested deeper than 64 levels");
	/* an alias used deeper than where it was defined: the depth counts
	 * where it is used (40 + 30 levels) */
	{
		char t[1024];
		size_t len = (size_t)snprintf(t, sizeof(t),
					      "version: 1\nname: x\ncommand: "
					      "[a]\nkubernetes:\n  podTemplate:\n"
					      "    spec:\n      v: &x ");

		for (i = 0; i < 40; i++)
			t[len++] = '[';
		for (i = 0; i < 40; i++)
			t[len++] = ']';
		len += (size_t)snprintf(t + len, sizeof(t) - len,
					"\n      w: ");
		for (i = 0; i < 30; i++)
			len += (size_t)snprintf(t + len, sizeof(t) - len,
						"{a: ");
		len += (size_t)snprintf(t + len, sizeof(t) - len, "*x");
		for (i = 0; i < 30; i++)
			t[len++] = '}';
		t[len++] = '\n';
		t[len] = '\0';
		expect_error(t, 0, 0, "nested deeper than 64 levels");
		/* ... while 40 + 20 is fine */
		memmove(strstr(t, "*x") - 40, strstr(t, "*x"),
			strlen(strstr(t, "*x")) + 1);
		memmove(strrchr(t, '}') - 9, strrchr(t, '}') + 1,
			strlen(strrchr(t, '}') + 1) + 1);
		s = parse_ok(t);
		assert_non_null(s->k8s->pod_template);
		tc_spec_free(s);
	}
	/* aliases elsewhere are fine when they are what is expected */
	s = parse_ok("version: 1\nname: &n x\ncommand: [*n]\n");
	assert_string_equal(s->command[0].text, "x");
	tc_spec_free(s);

	deep = malloc(100001);
	memset(deep, '[', 100000);
	deep[100000] = '\0';
	expect_error(deep, 1, 101, "nested deeper than 100 levels");
	free(deep);

	/* too big: refused before anything is parsed */
	big = malloc((size_t)TC_SPEC_MAX_BYTES + 2);
	memset(big, ' ', (size_t)TC_SPEC_MAX_BYTES + 1);
	big[TC_SPEC_MAX_BYTES + 1] = '\0';
	assert_int_equal(tc_spec_parse("t.yaml", big,
				       (size_t)TC_SPEC_MAX_BYTES + 1, &s, &e),
			 TC_ERR_SPEC);
	assert_null(s);
	assert_non_null(strstr(e.msg, "more than"));
	free(big);

	/* many anchors */
	{
		size_t cap = 1001 * 16 + 64, len;

		big = malloc(cap);
		len = (size_t)snprintf(big, cap, "version: 1\nx: [");
		for (i = 0; i < 1001; i++)
			len += (size_t)snprintf(big + len, cap - len,
						"&a%zu 1,", i);
		snprintf(big + len, cap - len, "]\n");
		expect_error(big, 2, 0, "more than 1000 anchors");
		free(big);
	}
}

/* A spec is parsed from a buffer that need not be NUL-terminated. */
static void test_unterminated_buffer(void **state)
{
	static const char text[] = "version: 1\nname: x\ncommand: [abc]";
	char *buf = malloc(sizeof(text) - 1);
	struct tc_spec *s;
	struct tc_error e;

	(void)state;
	memcpy(buf, text, sizeof(text) - 1);
	assert_int_equal(tc_spec_parse(NULL, buf, sizeof(text) - 1, &s, &e), 0);
	assert_string_equal(s->command[0].text, "abc");
	assert_int_equal(s->text[s->text_len], '\0');
	free(buf);
	tc_spec_free(s);
	tc_spec_free(NULL);
}

static void test_load(void **state)
{
	char path[] = "/tmp/test_spec_XXXXXX";
	int fd = mkstemp(path);
	struct tc_spec *s;
	struct tc_error e;
	char buf[1200];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, design_spec, strlen(design_spec)),
			 (ssize_t)strlen(design_spec));
	close(fd);
	assert_int_equal(tc_spec_load(path, &s, &e), 0);
	assert_string_equal(s->path, path);
	assert_string_equal(s->name, "fmnist-grid");
	tc_spec_free(s);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "version: 1\nname: BAD\n", 21), 21);
	close(fd);
	assert_int_equal(tc_spec_load(path, &s, &e), TC_ERR_SPEC);
	assert_null(s);
	tc_error_format(&e, buf, sizeof(buf));
	assert_true(strncmp(buf, path, strlen(path)) == 0);
	assert_non_null(strstr(buf, ":2:7: name 'BAD'"));

	assert_int_equal(truncate(path, (off_t)TC_SPEC_MAX_BYTES + 1), 0);
	assert_int_equal(tc_spec_load(path, &s, &e), TC_ERR_SPEC);
	assert_non_null(strstr(e.msg, "more than"));
	unlink(path);

	assert_int_equal(tc_spec_load(path, &s, &e), TC_ERR_IO);
	assert_null(s);
	assert_non_null(strstr(e.msg, "No such file"));
	assert_int_equal(tc_spec_load("/tmp", &s, &e), TC_ERR_IO);
}

/* Only regular files are read: a FIFO with no writer is refused at once
 * (it used to block the open forever), devices too. */
/* workdir: a non-empty string; tc_spec_workdir() resolves it against
 * the spec's directory (absolute as is; none: the spec's directory). */
static void test_workdir(void **state)
{
	static const char *const head =
		"version: 1\nname: w\ncommand: [python3, train.py]\n";
	struct {
		const char *line, *want;
	} cases[] = {
		{"", "/repo/configs"},
		{"workdir: ..\n", "/repo"},
		{"workdir: ../src/./x/\n", "/repo/src/x"},
		{"workdir: /srv/app\n", "/srv/app"},
		{"workdir: \"/srv/../opt\"\n", "/opt"},
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tc_spec *s;
		char *dir;

		snprintf(text, sizeof(text), "%s%s", head, cases[i].line);
		s = parse_ok(text);
		dir = tc_spec_workdir(s, "/repo/configs");
		assert_non_null(dir);
		assert_string_equal(dir, cases[i].want);
		free(dir);
		tc_spec_free(s);
	}
	expect_error("version: 1\nname: w\ncommand: [x]\nworkdir: 3\n", 4, 10,
		     "workdir must be a string");
	expect_error("version: 1\nname: w\ncommand: [x]\nworkdir: [a]\n", 4, 10,
		     "workdir must be a string");
	expect_error("version: 1\nname: w\ncommand: [x]\nworkdir: \"\"\n", 4, 10,
		     "workdir must not be empty");
	expect_error("version: 1\nname: w\ncommand: [x]\nworkdri: a\n", 4, 1,
		     "did you mean 'workdir'");
}

static void test_load_not_regular(void **state)
{
	char dir[] = "/tmp/test_spec_XXXXXX", fifo[64];
	struct tc_spec *s = NULL;
	struct tc_error e;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/spec.yaml", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(tc_spec_load(fifo, &s, &e), TC_ERR_IO);
	assert_null(s);
	assert_non_null(strstr(e.msg, "FIFO"));
	assert_string_equal(e.file, fifo);
	unlink(fifo);
	rmdir(dir);
	assert_int_equal(tc_spec_load("/dev/null", &s, &e), TC_ERR_IO);
	assert_non_null(strstr(e.msg, "not an experiment file"));
	assert_int_equal(tc_spec_load("/dev/zero", &s, &e), TC_ERR_IO);
	assert_int_equal(tc_spec_load("/tmp", &s, &e), TC_ERR_IO);
	assert_non_null(strstr(e.msg, "directory"));
}

/* The hardening of issue 10: names that would shadow or override what
 * trainctl provides, the quoted version, durations beyond a year. */
static void test_reserved_names(void **state)
{
	static const char *const builtins[] = {"trial_id", "trial_dir",
					       "experiment", "index", "seed"};
	static const char *const script_bad[] = {
		"TRAINCTL_METRICS_FILE", "TRAINCTL_X", "PATH", "LD_PRELOAD",
		"LD_LIBRARY_PATH", "BASH_ENV", "IFS"};
	char text[512];
	struct tc_spec *s;

	(void)state;
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		snprintf(text, sizeof(text),
			 "version: 1\nname: t\ncommand: [x, \"{{%s}}\"]\n"
			 "parameters:\n  lr: {values: [1]}\n"
			 "  %s: {values: [5, 6]}\n",
			 builtins[i], builtins[i]);
		expect_error(text, 6, 3, "is reserved");
	}
	for (size_t i = 0; i < sizeof(script_bad) / sizeof(script_bad[0]);
	     i++) {
		snprintf(text, sizeof(text),
			 "version: 1\nname: t\nscript: echo\n"
			 "parameters:\n  %s: {values: [a]}\n",
			 script_bad[i]);
		expect_error(text, 5, 3, "cannot be used with script:");
		/* with command:, parameters never reach the environment */
		snprintf(text, sizeof(text),
			 "version: 1\nname: t\ncommand: [x]\n"
			 "parameters:\n  %s: {values: [a]}\n",
			 script_bad[i]);
		s = parse_ok(text);
		tc_spec_free(s);
	}
	s = parse_ok("version: 1\nname: t\nscript: echo\n"
		     "parameters:\n  path: {values: [a]}\n"
		     "  MY_LD: {values: [a]}\n");
	tc_spec_free(s);

	s = parse_ok("version: \"1\"\nname: x\ncommand: [a]\n");
	assert_int_equal(s->version, 1);
	tc_spec_free(s);
	s = parse_ok("version: '1'\nname: x\ncommand: [a]\n");
	tc_spec_free(s);
	expect_error("version: \"1.0\"\nname: x\ncommand: [a]\n", 1, 10,
		     "version must be 1");

	s = parse_ok(PARAMS "run: {timeout: 8760h, backoff: 365d}\n");
	assert_true(s->run.timeout == 365 * 86400.0);
	tc_spec_free(s);
	expect_error(PARAMS "run: {timeout: 2147483648}\n", 6, 16,
		     "run.timeout is more than 365 days");
	expect_error(PARAMS "run: {timeout: 8761h}\n", 6, 16,
		     "run.timeout is more than 365 days");
	expect_error(PARAMS "run: {backoff: 1e300}\n", 6, 16,
		     "run.backoff is more than 365 days");
}

/* A spec recorded in a journal by an older trainctl stays readable: the
 * rules that refuse what was once accepted do not apply to it. */
static void test_parse_recorded(void **state)
{
	static const char *const old[] = {
		"version: 1\nname: t\ncommand: [x, \"{{seed}}\"]\n"
		"parameters:\n  seed: {values: [5, 6]}\n",
		"version: 1\nname: t\nscript: echo\n"
		"parameters:\n  PATH: {values: [a]}\n",
		"version: 1\nname: t\ncommand: [x]\n"
		"run: {timeout: 2147483648}\n",
	};
	struct tc_spec *s;
	struct tc_error e;

	(void)state;
	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		assert_int_equal(tc_spec_parse("t.yaml", old[i], strlen(old[i]),
					       &s, &e),
				 TC_ERR_SPEC);
		assert_int_equal(tc_spec_parse_recorded("t.yaml", old[i],
							strlen(old[i]), &s, &e),
				 0);
		tc_spec_free(s);
	}
	/* everything else is checked as ever */
	assert_int_equal(tc_spec_parse_recorded("t.yaml", "version: 2\n", 11,
						&s, &e),
			 TC_ERR_SPEC);
}

static void test_grid_size(void **state)
{
	char text[4096];
	size_t len;
	struct tc_spec *s;
	struct tc_param params[3];
	struct tc_value vals[3];
	struct tc_spec hand;

	(void)state;
	/* 70 parameters of two values each: 2^70 saturates */
	len = (size_t)snprintf(text, sizeof(text),
			       "version: 1\nname: x\ncommand: [a]\n"
			       "search: {trials: 10}\nparameters:\n");
	for (int i = 0; i < 70; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"  p%d: {values: [1, 2]}\n", i);
	s = parse_ok(text);
	assert_true(tc_spec_grid_size(s) == UINT64_MAX);
	assert_int_equal(tc_spec_param_index(s, "p69", 3), 69);
	assert_int_equal(tc_spec_param_index(s, "p7", 2), 7);
	tc_spec_free(s);
	/* ... and without search.trials it is refused */
	expect_error("version: 1\nname: x\ncommand: [a]\nparameters:\n"
			     "  a: {values: [1,2,3,4,5,6,7,8,9,10,11]}\n"
			     "  b: {values: [1,2,3,4,5,6,7,8,9,10,11]}\n"
			     "  c: {values: [1,2,3,4,5,6,7,8,9,10,11]}\n"
			     "  d: {values: [1,2,3,4,5,6,7,8,9,10,11]}\n"
			     "  e: {values: [1,2,3,4,5,6,7,8,9,10,11]}\n"
			     "  f: {values: [1,2,3,4,5,6,7,8,9,10,11]}\n"
			     "  g: {values: [1,2,3,4,5,6,7,8,9,10,11]}\n"
			     "  h: {values: [1,2,3,4,5,6,7,8,9,10,11]}\n",
		     4, 1, "the grid has 214358881 points");

	/* a spec built by hand (arena_ NULL): linear lookup works */
	memset(&hand, 0, sizeof(hand));
	memset(params, 0, sizeof(params));
	memset(vals, 0, sizeof(vals));
	params[0].name = "b";
	params[0].kind = TC_P_VALUES;
	params[0].values = vals;
	params[0].nvalues = 3;
	params[1].name = "a";
	params[1].kind = TC_P_UNIFORM;
	params[2].name = "c";
	params[2].kind = TC_P_CONST;
	params[2].values = vals;
	params[2].nvalues = 1;
	hand.params = params;
	hand.nparams = 3;
	assert_int_equal(tc_spec_param_index(&hand, "a", 1), 1);
	assert_int_equal(tc_spec_param_index(&hand, "c", 1), 2);
	assert_int_equal(tc_spec_param_index(&hand, "d", 1), -1);
	assert_true(tc_spec_grid_size(&hand) == 3);
}

/* ------------------------------------------------------------------ */
/* Quantities, durations, did-you-mean                                  */
/* ------------------------------------------------------------------ */

static void test_parse_cpu(void **state)
{
	static const struct {
		const char *s;
		int ok;
		double v;
	} cases[] = {
		{"2", 1, 2},      {"0.5", 1, 0.5},   {"500m", 1, 0.5},
		{"1.5", 1, 1.5},  {"+1", 1, 1},      {"100m", 1, 0.1},
		{".5", 1, 0.5},   {"0", 1, 0},       {"1e3m", 0, 0},
		{"1e1", 1, 10},   {"2k", 1, 2000},   {"250000u", 1, 0.25},
		{"2Gx", 0, 0},    {"-1", 0, 0},      {"abc", 0, 0},
		{"1.5.5", 0, 0},  {"m", 0, 0},       {"", 0, 0},
		{" 1", 0, 0},     {"1 ", 0, 0},      {"0x10", 0, 0},
		{"inf", 0, 0},    {"nan", 0, 0},     {"1e", 0, 0},
		{"1mm", 0, 0},    {".", 0, 0},       {"1e999", 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double v = -7;
		int rc = tc_parse_cpu(cases[i].s, &v);

		if (cases[i].ok ? rc != 0 || fabs(v - cases[i].v) > 1e-9
				: rc != TC_ERR_SPEC)
			fail_msg("tc_parse_cpu(\"%s\") = %d, %g", cases[i].s,
				 rc, v);
	}
}

static void test_parse_bytes(void **state)
{
	static const struct {
		const char *s;
		int ok;
		long long v;
	} cases[] = {
		{"2Gi", 1, 2147483648LL},
		{"512Mi", 1, 536870912LL},
		{"1G", 1, 1000000000LL},
		{"500M", 1, 500000000LL},
		{"1e9", 1, 1000000000LL},
		{"1E9", 1, 1000000000LL},
		{"1024", 1, 1024},
		{"0", 1, 0},
		{"1Ki", 1, 1024},
		{"1k", 1, 1000},
		{"1.5Gi", 1, 1610612736LL},
		{"1E", 1, 1000000000000000000LL},
		{"7Ei", 1, 8070450532247928832LL},
		{"0.5", 1, 1}, /* rounds up */
		{"100m", 1, 1},
		{"8Ei", 0, 0},
		{"1e19", 0, 0},
		{"2Gx", 0, 0},
		{"-1", 0, 0},
		{"abc", 0, 0},
		{"1.5.5", 0, 0},
		{"m", 0, 0},
		{"", 0, 0},
		{"1K", 0, 0},
		{"1GB", 0, 0},
		{"1 Gi", 0, 0},
		{"Gi", 0, 0},
		{"1Gi ", 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long v = -7;
		int rc = tc_parse_bytes(cases[i].s, &v);

		if (cases[i].ok ? rc != 0 || v != cases[i].v
				: rc != TC_ERR_SPEC)
			fail_msg("tc_parse_bytes(\"%s\") = %d, %lld",
				 cases[i].s, rc, v);
	}
}

static void test_parse_duration(void **state)
{
	static const struct {
		const char *s;
		int ok;
		double v;
	} cases[] = {
		{"90s", 1, 90},     {"30m", 1, 1800},    {"2h", 1, 7200},
		{"1h30m", 1, 5400}, {"1.5h", 1, 5400},   {"250ms", 1, 0.25},
		{"0", 1, 0},        {"90", 1, 90},       {"1.5", 1, 1.5},
		{"1d", 1, 86400},   {"1m30s", 1, 90},    {"10us", 1, 1e-5},
		{"1ns", 1, 1e-9},   {"2h0m0s", 1, 7200}, {"0s", 1, 0},
		{"+5s", 1, 5},      {".5s", 1, 0.5},
		{"-1", 0, 0},       {"abc", 0, 0},       {"1.5.5", 0, 0},
		{"m", 0, 0},        {"", 0, 0},          {"1h30", 0, 0},
		{"h", 0, 0},        {"1x", 0, 0},        {"1 h", 0, 0},
		{"1hh", 0, 0},      {"-5s", 0, 0},       {"+", 0, 0},
		{"5s ", 0, 0},      {"1e3s", 0, 0},      {"inf", 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double v = -7;
		int rc = tc_parse_duration(cases[i].s, &v);

		if (cases[i].ok ? rc != 0 || fabs(v - cases[i].v) > 1e-12
				: rc != TC_ERR_SPEC)
			fail_msg("tc_parse_duration(\"%s\") = %d, %g",
				 cases[i].s, rc, v);
	}
}

static void test_did_you_mean(void **state)
{
	static const char *const keys[] = {
		"version", "name",   "command", "script",    "env",
		"parameters", "search", "metric", "resources", "run",
	};
	static const char *const params[] = {"lr", "batch_size", "optimizer"};
	const size_t nk = sizeof(keys) / sizeof(keys[0]);

	(void)state;
	assert_string_equal(tc_did_you_mean("nmae", keys, nk), "name");
	assert_string_equal(tc_did_you_mean("comand", keys, nk), "command");
	assert_string_equal(tc_did_you_mean("paramters", keys, nk),
			    "parameters");
	assert_string_equal(tc_did_you_mean("param", keys, nk), "parameters");
	assert_string_equal(tc_did_you_mean("resource", keys, nk),
			    "resources");
	assert_string_equal(tc_did_you_mean("Version", keys, nk), "version");
	assert_string_equal(tc_did_you_mean("lrr", params, 3), "lr");
	assert_string_equal(tc_did_you_mean("batchsize", params, 3),
			    "batch_size");
	assert_string_equal(tc_did_you_mean("optimiser", params, 3),
			    "optimizer");
	assert_null(tc_did_you_mean("x", params, 3));
	assert_null(tc_did_you_mean("zzzzzz", keys, nk));
	assert_null(tc_did_you_mean("", keys, nk));
	assert_null(tc_did_you_mean("name", keys, nk)); /* not itself */
	assert_null(tc_did_you_mean("anything", NULL, 0));
}

static void test_arena(void **state)
{
	struct tc_arena *a = tc_arena_new();
	char *s;
	unsigned char *p;

	(void)state;
	assert_non_null(a);
	for (int i = 0; i < 10000; i++) {
		p = tc_arena_alloc(a, (size_t)(i % 100) + 1);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		for (int j = 0; j < i % 100 + 1; j++)
			assert_int_equal(p[j], 0);
		memset(p, 0xAB, (size_t)(i % 100) + 1);
	}
	p = tc_arena_alloc(a, 1 << 22); /* a block of its own */
	assert_non_null(p);
	assert_int_equal(p[(1 << 22) - 1], 0);
	assert_non_null(tc_arena_alloc(a, 0));
	assert_null(tc_arena_calloc(a, SIZE_MAX / 2, 4));
	assert_null(tc_arena_alloc(a, SIZE_MAX));
	s = tc_arena_strdup(a, "hello");
	assert_string_equal(s, "hello");
	s = tc_arena_strndup(a, "hello world", 5);
	assert_string_equal(s, "hello");
	assert_true(tc_arena_size(a) > (1 << 22));
	tc_arena_free(a);
	tc_arena_free(NULL);
}

static void parse_ok_free(const char *text)
{
	tc_spec_free(parse_ok(text));
}

#define WHEN_HEAD "version: 1\nname: t\ncommand: [x]\nparameters:\n"

/* when: on every kind of parameter, as a list or a single value, naming a
 * parameter before or after it; the order a trial's values are set in;
 * which parameters may be absent; presence given values. */
static void test_when(void **state)
{
	struct tc_spec *s;
	struct tc_value v[8];

	(void)state;
	s = parse_ok(WHEN_HEAD
		     "  momentum: {values: [0.9, 0.99], when: {optimizer: [sgd, momentum]}}\n"
		     "  optimizer: {values: [adam, sgd, momentum]}\n"
		     "  beta: {value: 0.5, when: {optimizer: adam}}\n"
		     "  wd: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-2, when: {optimizer: adam}}\n"
		     "  drop: {distribution: uniform, min: 0, max: 1, when: {optimizer: adam, beta: 0.5}}\n"
		     "  layers: {distribution: int_uniform, min: 1, max: 4, when: {momentum: 0.99}}\n"
		     "  bs: {from: optimizer, map: {adam: 8, sgd: 16, momentum: 32}}\n"
		     "  nest: {from: momentum, map: {0.9: a, 0.99: b}, when: {bs: [16]}}\n");
	assert_int_equal(s->nparams, 8);
	assert_true(s->conditional);
	/* optimizer (1) comes before momentum (0), which it decides;
	 * everything else keeps file order */
	{
		static const size_t want[] = {1, 0, 2, 3, 4, 5, 6, 7};

		for (size_t k = 0; k < 8; k++)
			assert_int_equal(tc_spec_nth(s, k), want[k]);
	}
	assert_int_equal(s->params[0].nwhen, 1);
	assert_int_equal(s->params[0].when[0].param, 1);
	assert_int_equal(s->params[0].when[0].nvalues, 2);
	assert_string_equal(s->params[0].when[0].values[1].text, "momentum");
	assert_int_equal(s->params[0].when_pos.line, 5);
	assert_int_equal(s->params[0].when[0].pos.line, 5);
	assert_int_equal(s->params[0].when[0].pos.col, 42);
	assert_int_equal(s->params[2].when[0].nvalues, 1); /* a scalar */
	assert_int_equal(s->params[4].nwhen, 2);
	assert_true(s->params[0].conditional && s->params[2].conditional &&
		    s->params[5].conditional && s->params[7].conditional);
	assert_false(s->params[1].conditional || s->params[6].conditional);

	/* optimizer adam: beta, wd, drop; no momentum, layers or nest */
	for (size_t i = 0; i < 8; i++)
		v[i] = tc_value_absent;
	v[1] = s->params[1].values[0];
	v[2] = s->params[2].values[0]; /* the caller sets what is not derived */
	v[3].type = TC_V_FLOAT; /* drawn */
	v[4].type = TC_V_FLOAT;
	v[5].type = TC_V_INT;
	assert_int_equal(tc_spec_derive(s, v), 0);
	assert_int_equal(v[0].type, TC_V_ABSENT);
	assert_string_equal(v[2].text, "0.5");
	assert_int_equal(v[3].type, TC_V_FLOAT);
	assert_int_equal(v[4].type, TC_V_FLOAT);
	assert_int_equal(v[5].type, TC_V_ABSENT); /* momentum is absent */
	assert_string_equal(v[6].text, "8");
	assert_int_equal(v[7].type, TC_V_ABSENT);
	assert_false(tc_spec_param_present(s, v, 0));
	assert_true(tc_spec_param_present(s, v, 4));

	/* sgd with momentum 0.99: layers and nest too */
	v[1] = s->params[1].values[1];
	v[0] = s->params[0].values[1];
	v[3].type = TC_V_FLOAT;
	v[4].type = TC_V_FLOAT;
	v[5].type = TC_V_INT;
	assert_int_equal(tc_spec_derive(s, v), 0);
	assert_string_equal(v[0].text, "0.99");
	assert_int_equal(v[2].type, TC_V_ABSENT);
	assert_int_equal(v[3].type, TC_V_ABSENT);
	assert_int_equal(v[4].type, TC_V_ABSENT); /* its when: names beta */
	assert_int_equal(v[5].type, TC_V_INT);
	assert_string_equal(v[6].text, "16");
	assert_string_equal(v[7].text, "b");
	/* resolve of one parameter: present and derived set, or absent */
	v[7] = tc_value_absent;
	assert_int_equal(tc_spec_param_resolve(s, v, 7), 1);
	assert_string_equal(v[7].text, "b");
	v[1] = s->params[1].values[2]; /* momentum: bs 32, so no nest */
	assert_int_equal(tc_spec_param_resolve(s, v, 6), 1);
	assert_int_equal(tc_spec_param_resolve(s, v, 7), 0);
	assert_int_equal(v[7].type, TC_V_ABSENT);
	tc_spec_free(s);

	/* a when: value is stored as the parameter's own (1.0 is 1) */
	s = parse_ok(WHEN_HEAD "  o: {values: [1, 2]}\n"
		     "  m: {value: x, when: {o: 1.0}}\n");
	assert_string_equal(s->params[1].when[0].values[0].text, "1");
	assert_int_equal(s->params[1].when[0].values[0].type, TC_V_INT);
	tc_spec_free(s);

	/* a chain: absent when what it names is absent */
	s = parse_ok(WHEN_HEAD "  a: {values: [1, 2], when: {b: 1}}\n"
		     "  b: {values: [1, 2], when: {c: x}}\n"
		     "  c: {values: [x, y]}\n");
	assert_int_equal(tc_spec_nth(s, 0), 2);
	assert_int_equal(tc_spec_nth(s, 1), 1);
	assert_int_equal(tc_spec_nth(s, 2), 0);
	v[0] = s->params[0].values[0];
	v[1] = s->params[1].values[0];
	v[2] = s->params[2].values[1];
	assert_int_equal(tc_spec_derive(s, v), 0);
	assert_int_equal(v[1].type, TC_V_ABSENT);
	assert_int_equal(v[0].type, TC_V_ABSENT);
	tc_spec_free(s);

	/* no when: file order, nothing conditional, derive as before */
	s = parse_ok(WHEN_HEAD "  b: {from: a, map: {1: x, 2: y}}\n"
		     "  a: {values: [1, 2]}\n");
	assert_false(s->conditional);
	assert_int_equal(tc_spec_nth(s, 0), 1); /* from: orders too */
	v[1] = s->params[1].values[1];
	assert_int_equal(tc_spec_derive(s, v), 0);
	assert_string_equal(v[0].text, "y");
	tc_spec_free(s);
	s = parse_ok(WHEN_HEAD "  a: {values: [1, 2]}\n  b: {values: [3]}\n");
	assert_false(s->conditional);
	assert_int_equal(tc_spec_nth(s, 0), 0);
	assert_int_equal(tc_spec_nth(s, 1), 1);
	tc_spec_free(s);

	/* absent equals only absent */
	v[0] = tc_value_absent;
	v[1] = tc_value_absent;
	v[2].type = TC_V_NULL;
	v[2].text = "null";
	assert_true(tc_value_equal(&v[0], &v[1]));
	assert_false(tc_value_equal(&v[0], &v[2]));
	assert_null(tc_value_absent.text);
}

/* when: and the templates and include entries that meet it */
static void test_bad_when(void **state)
{
	(void)state;
	expect_error(WHEN_HEAD "  m: {values: [1], when: {optimiser: sgd}}\n"
		     "  optimizer: {values: [sgd]}\n", 5, 27,
		     "parameters.m.when: unknown parameter 'optimiser' (did "
		     "you mean 'optimizer'?)");
	expect_error(WHEN_HEAD "  o: {values: [sgd, adam]}\n"
		     "  m: {values: [1], when: {o: [sgd, rmsprop]}}\n", 6, 36,
		     "parameters.m.when.o: 'rmsprop' is not one of the values "
		     "of 'o' (sgd, adam)");
	expect_error(WHEN_HEAD "  o: {values: [1, 2]}\n"
		     "  m: {values: [1], when: {o: '1'}}\n", 6, 30,
		     "'1' is not one of the values of 'o'");
	/* a derived parameter's values are its map's for its source's
	 * values: an entry no value reaches is none */
	expect_error(WHEN_HEAD "  g: {values: [a]}\n"
		     "  bs: {from: g, map: {a: 1, z: 2}}\n"
		     "  m: {value: 1, when: {bs: 2}}\n", 7, 28,
		     "'2' is not one of the values of 'bs' (1)");
	expect_error(WHEN_HEAD "  m: {values: [1], when: {m: 1}}\n", 5, 27,
		     "parameters.m.when names the parameter itself");
	expect_error(WHEN_HEAD "  lr: {distribution: uniform, min: 0, max: 1}\n"
		     "  m: {values: [1], when: {lr: 0.5}}\n"
		     "search: {method: random, trials: 2}\n", 6, 27,
		     "'lr' is drawn from a distribution; when: names parameters "
		     "with values:, value: or from:");
	expect_error(WHEN_HEAD "  a: {values: [1, 2], when: {b: 1}}\n"
		     "  b: {values: [1, 2], when: {c: 1}}\n"
		     "  c: {values: [1, 2], when: {a: [1]}}\n", 7, 30,
		     "parameters.c.when: when: and from: go round in a cycle "
		     "(a -> b -> c -> a, each depending on the next)");
	expect_error(WHEN_HEAD "  p: {values: [x, y], when: {d: 5}}\n"
		     "  d: {from: p, map: {x: 5, y: 6}}\n", 6, 13,
		     "parameters.d.from: when: and from: go round in a cycle "
		     "(p -> d -> p");
	expect_error(WHEN_HEAD "  o: {values: [1]}\n  m: {values: [1], when: [o]}\n",
		     6, 26, "parameters.m.when must be a mapping");
	expect_error(WHEN_HEAD "  o: {values: [1]}\n  m: {values: [1], when: {}}\n",
		     6, 26, "parameters.m.when is empty");
	expect_error(WHEN_HEAD "  o: {values: [1]}\n  m: {values: [1], when: {o: []}}\n",
		     6, 30, "parameters.m.when.o is empty");
	expect_error(WHEN_HEAD "  o: {values: [1]}\n  m: {values: [1], when: {o: {a: 1}}}\n",
		     6, 30, "parameters.m.when.o must be a value of 'o' or a list");
	expect_error(WHEN_HEAD "  o: {values: [1]}\n  m: {values: [1], when: {o: [[1]]}}\n",
		     6, 31, "must be a single value");
	expect_error(WHEN_HEAD "  o: {values: [1, 2]}\n"
		     "  m: {values: [1], when: {o: [1, 1.0]}}\n", 6, 34,
		     "parameters.m.when.o: duplicate value '1.0'");
	expect_error(WHEN_HEAD "  o: {values: [1, 2]}\n"
		     "  m: {values: [1], when: {o: 1, o: 2}}\n", 6, 33,
		     "duplicate key 'o'");

	/* a parameter some trials lack, in a template: only as {{m?}} */
	expect_error("version: 1\nname: t\ncommand: [x, \"--m={{m}}\"]\n"
		     "parameters:\n  o: {values: [1, 2]}\n"
		     "  m: {values: [1], when: {o: 1}}\n", 3, 19,
		     "'m' is not a parameter of every trial (its when:, line "
		     "6): write {{m?}}");
	expect_error("version: 1\nname: t\ncommand: [x]\nenv: {M: \"{{m}}\"}\n"
		     "parameters:\n  o: {values: [1, 2]}\n"
		     "  m: {values: [1], when: {o: 1}}\n", 4, 11,
		     "'m' is not a parameter of every trial");
	expect_error("version: 1\nname: t\nscript: echo {{ d }}\n"
		     "parameters:\n  o: {values: [1, 2], when: {p: a}}\n"
		     "  p: {values: [a, b]}\n  d: {from: o, map: {1: x, 2: y}}\n",
		     3, 14, "'d' is not a parameter of every trial (its from: "
		     "has when:, line 7)");
	expect_error("version: 1\nname: t\ncommand: [x]\n"
		     "resources: {memory: \"{{m}}Gi\"}\n"
		     "parameters:\n  o: {values: [1, 2]}\n"
		     "  m: {values: [1], when: {o: 1}}\n", 4, 22,
		     "'m' is not a parameter of every trial");
	parse_ok_free("version: 1\nname: t\ncommand: [x, \"{{m?}}\", \"-m={{ m? }}\"]\n"
		      "env: {M: \"{{m?}}\"}\n"
		      "parameters:\n  o: {values: [1, 2]}\n"
		      "  m: {values: [1], when: {o: 1}}\n");

	/* {{args}}: a whole element of command:, a word of script: */
	parse_ok_free("version: 1\nname: t\ncommand: [x, \"{{args}}\", \"{{ args_no_hyphens }}\"]\n"
		      "parameters:\n  o: {values: [1, 2]}\n");
	parse_ok_free("version: 1\nname: t\nscript: |\n  python3 t.py {{args}} --x 1\n"
		      "  echo {{args}};\n  echo {{args}}\n");
	expect_error("version: 1\nname: t\ncommand: [x, \"--a={{args}}\"]\n", 3,
		     19, "{{args}} stands for several arguments: write it as an "
		     "element of command: of its own");
	expect_error("version: 1\nname: t\ncommand: [x]\nenv: {A: \"{{args_no_hyphens}}\"}\n",
		     4, 11, "{{args_no_hyphens}} stands for several arguments: it "
		     "can only be");
	expect_error("version: 1\nname: t\ncommand: [x]\n"
		     "kubernetes: {image: \"i:{{args}}\"}\n", 4, 24,
		     "{{args}} stands for several arguments");
	expect_error("version: 1\nname: t\nscript: echo \"{{args}}\"\n", 3, 15,
		     "{{args}} in a script must be a word of its own, outside "
		     "quotes");
	expect_error("version: 1\nname: t\nscript: echo {{args}}x\n", 3, 14,
		     "must be a word of its own");
	expect_error("version: 1\nname: t\nscript: echo {{args}} {{args_no_hyphens}}\n",
		     3, 23, "not both");
	expect_error("version: 1\nname: t\ncommand: [x]\nparameters:\n"
		     "  args_no_hyphens: {values: [1]}\n", 5, 3,
		     "parameter name 'args_no_hyphens' is reserved");

	/* include entries: what their values leave out must not be given,
	 * what they keep must be */
	expect_error(WHEN_HEAD "  o: {values: [1, 2]}\n"
		     "  m: {values: [1, 2], when: {o: 1}}\n"
		     "search: {include: [{o: 2, m: 1}]}\n", 7, 27,
		     "search.include[0] sets 'm', which a trial with the "
		     "entry's other values does not have (parameters.m.when, "
		     "line 6)");
	expect_error(WHEN_HEAD "  o: {values: [1, 2]}\n"
		     "  m: {values: [1, 2], when: {o: 1}}\n"
		     "search: {include: [{o: 1}]}\n", 7, 20,
		     "search.include[0] does not set 'm'");
	parse_ok_free(WHEN_HEAD "  o: {values: [1, 2]}\n"
		      "  m: {values: [1, 2], when: {o: 1}}\n"
		      "search: {include: [{o: 2}, {o: 1, m: 2}]}\n");

	/* an exclude entry that the when: it names rules out */
	expect_error(WHEN_HEAD "  o: {values: [adam, sgd]}\n"
		     "  m: {values: [1, 2], when: {o: sgd}}\n"
		     "search: {exclude: [{o: adam, m: 1}]}\n", 7, 30,
		     "search.exclude[0]: a trial with o 'adam' has no 'm' "
		     "(parameters.m.when, line 6), so this entry would never "
		     "match");
	parse_ok_free(WHEN_HEAD "  o: {values: [adam, sgd]}\n"
		      "  m: {values: [1, 2], when: {o: sgd}}\n"
		      "search: {exclude: [{o: sgd, m: 1}, {m: 2}]}\n");
}

/* nodes: and metrics: {ranks}: whose metrics a trial of several ranks
 * records; the rendezvous variables are refused in env: for any backend
 * once nodes > 1. */
static void test_nodes_metrics(void **state)
{
	struct tc_spec *s;

	(void)state;
	s = parse_ok("version: 1\nname: t\ncommand: [x]\nnodes: 2\n"
		     "metrics: {ranks: all}\nenv: {RANK0: a}\n");
	assert_int_equal(s->nodes, 2);
	assert_int_equal(s->metrics.all_ranks, 1);
	assert_int_equal(s->metrics.pos.line, 5);
	tc_spec_free(s);
	s = parse_ok("version: 1\nname: t\ncommand: [x]\nmetrics: {ranks: 0}\n"
		     "env: {RANK: '3'}\n");
	assert_int_equal(s->nodes, 1);
	assert_int_equal(s->metrics.all_ranks, 0);
	tc_spec_free(s);
	expect_error("version: 1\nname: t\ncommand: [x]\nmetrics: all\n", 4,
		     10, "metrics must be a mapping");
	expect_error("version: 1\nname: t\ncommand: [x]\nmetrics: {rank: all}\n",
		     4, 11, "rank");
	expect_error("version: 1\nname: t\ncommand: [x]\nmetrics: {ranks: 1}\n",
		     4, 18, "unknown metrics.ranks");
	expect_error("version: 1\nname: t\ncommand: [x]\nnodes: 0\n", 4, 8,
		     "nodes must be an integer");
	expect_error("version: 1\nname: t\ncommand: [x]\nnodes: 3\n"
		     "env: {A: b, GROUP_RANK: '0'}\n",
		     5, 25, "env: GROUP_RANK is set by trainctl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_design_example_as_printed),
		cmocka_unit_test(test_defaults_and_script),
		cmocka_unit_test(test_everything_else),
		cmocka_unit_test(test_scalar_types),
		cmocka_unit_test(test_value_equal),
		cmocka_unit_test(test_bad_yaml),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_bad_structure),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_bad_run_resources),
		cmocka_unit_test(test_bad_parameters),
		cmocka_unit_test(test_bad_search),
		cmocka_unit_test(test_bad_templates),
		cmocka_unit_test(test_robustness),
		cmocka_unit_test(test_unterminated_buffer),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_not_regular),
		cmocka_unit_test(test_workdir),
		cmocka_unit_test(test_reserved_names),
		cmocka_unit_test(test_parse_recorded),
		cmocka_unit_test(test_grid_size),
		cmocka_unit_test(test_parse_cpu),
		cmocka_unit_test(test_parse_bytes),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_did_you_mean),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_when),
		cmocka_unit_test(test_bad_when),
		cmocka_unit_test(test_nodes_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
