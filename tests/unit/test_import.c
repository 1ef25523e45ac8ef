/*
 * test_import.c — W&B sweeps and Katib Experiments translated into
 * experiment files: what the translation says, that a spec parsed from a
 * sweep keeps positions in the sweep (not in the translation), that the
 * hash is the original file's, and every refusal at its line:col.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spec/import.h"
#include "spec/spec.h"
#include "util/hash.h"

static char *translate(enum tc_import_format f, const char *text)
{
	struct tc_import im;
	struct tc_error err;
	char *out;

	tc_error_clear(&err);
	if (tc_import_translate(f, "s.yaml", text, strlen(text), 0, &im,
				&err) != 0)
		fail_msg("translation failed: %d:%d: %s", err.line, err.col,
			 err.msg);
	out = strdup(im.text);
	tc_import_free(&im);
	return out;
}

static void has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return;
		p++;
	}
	fail_msg("no line '%s' in:\n%s", line, text);
}

/* A W&B file refused at line:col with sub in the message, by the
 * translation (import) and by tc_spec_parse (run) alike. */
static void refused(enum tc_import_format f, const char *text, int line,
		    int col, const char *sub)
{
	struct tc_error err;
	struct tc_spec *s = NULL;

	tc_error_clear(&err);
	if (tc_import_check(f, "s.yaml", text, strlen(text), &err) == 0)
		fail_msg("accepted; wanted '%s'", sub);
	if (err.line != line || err.col != col || !strstr(err.msg, sub))
		fail_msg("want %d:%d '%s', got %d:%d %s", line, col, sub,
			 err.line, err.col, err.msg);
	if (f != TC_IMPORT_WANDB)
		return;
	tc_error_clear(&err);
	if (tc_spec_parse("s.yaml", text, strlen(text), &s, &err) == 0) {
		tc_spec_free(s);
		fail_msg("tc_spec_parse accepted; wanted '%s'", sub);
	}
	if (err.line != line || err.col != col)
		fail_msg("tc_spec_parse: want %d:%d, got %d:%d %s", line, col,
			 err.line, err.col, err.msg);
}

static const char sweep[] =
	"program: train.py\n"                       /* 1 */
	"method: random\n"                          /* 2 */
	"run_cap: 4\n"                              /* 3 */
	"parameters:\n"                             /* 4 */
	"  lr: {distribution: log_uniform, min: -9, max: -2}\n"
	"  opt:\n"                                  /* 6 */
	"    parameters:\n"                         /* 7 */
	"      momentum: {values: [0.9, 0.99]}\n"   /* 8 */
	"  flag: {values: [true, false]}\n";        /* 9 */

static void test_wandb_translation(void **state)
{
	char *t;

	(void)state;
	t = translate(TC_IMPORT_WANDB, sweep);
	has_line(t, "version: 1");
	has_line(t, "name: s");
	has_line(t, "  lr: {distribution: exp_uniform, min: -9, max: -2}  "
		    "# W&B log_uniform");
	has_line(t, "  opt.momentum: {values: [0.9, 0.99]}  # W&B categorical");
	has_line(t, "  - /usr/bin/env");
	has_line(t, "  - python3");
	has_line(t, "  - train.py");
	has_line(t, "  - \"--opt.momentum={{opt.momentum}}\"");
	has_line(t, "  method: random");
	has_line(t, "  trials: 4  # W&B run_cap");
	free(t);
}

static void test_wandb_spec_positions(void **state)
{
	struct tc_spec *s = NULL;
	struct tc_error err;
	char hex[65];

	(void)state;
	assert_int_equal(tc_spec_parse("s.yaml", sweep, strlen(sweep), &s,
				       &err), 0);
	assert_int_equal(s->nparams, 3);
	assert_string_equal(s->params[1].name, "opt.momentum");
	/* positions in the sweep, where the user looks */
	assert_int_equal(s->params[1].pos.line, 8);
	assert_int_equal(s->params[1].pos.col, 7);
	assert_int_equal(s->params[0].kind, TC_P_EXP_UNIFORM);
	assert_int_equal(s->command[0].pos.line, 1);
	/* the hash is the sweep's, so resume sees when it changes */
	tc_sha256_hex(sweep, strlen(sweep), hex);
	assert_string_equal(s->hash, hex);
	/* the text, what a journal keeps, is an experiment file */
	assert_non_null(strstr(s->text, "version: 1\n"));
	tc_spec_free(s);
}

static void test_wandb_grid(void **state)
{
	char *t;

	(void)state;
	t = translate(TC_IMPORT_WANDB,
		      "program: p\nmethod: grid\nparameters:\n"
		      "  n: {min: 2, max: 4}\n"
		      "  w: {distribution: q_uniform, min: 0, max: 0.4, q: 0.1}\n");
	has_line(t, "  n: {values: [2, 3, 4]}  # W&B int_uniform, enumerated "
		    "for the grid");
	/* numpy's arange(0, 0.4, 0.1): four points, float arithmetic */
	has_line(t, "  w: {values: [0.0, 0.1, 0.2, 0.30000000000000004]}  "
		    "# W&B q_uniform, enumerated for the grid");
	free(t);
}

static void test_wandb_macros(void **state)
{
	char *t;

	(void)state;
	t = translate(TC_IMPORT_WANDB,
		      "method: grid\nprogram: t.py\nparameters:\n"
		      "  a: {values: [1, 2]}\n  b: {values: [x, y]}\n"
		      "command:\n  - ${env}\n  - python3\n  - ${program}\n"
		      "  - --cfg=${program}.json\n  - ${args_no_hyphens}\n"
		      "  - ${args_json}\n  - ${args_json_file}\n");
	has_line(t, "  - t.py");
	has_line(t, "  - \"--cfg=t.py.json\"");
	has_line(t, "  - \"a={{a}}\"");
	has_line(t, "  - \"{\\\"a\\\": {{a}}, \\\"b\\\": \\\"{{b}}\\\"}\"");
	has_line(t, "  - \"{{trial_dir}}/params.json\"");
	free(t);
}

#define W "program: t.py\nmethod: random\nrun_cap: 2\nparameters:\n"

static void test_wandb_refusals(void **state)
{
	(void)state;
	refused(TC_IMPORT_WANDB, W "  a: {values: [1]}\nzone: 3\n", 6, 1,
		"unknown key 'zone'");
	refused(TC_IMPORT_WANDB, W "  a: {distribution: gauss}\n", 5, 21,
		"unknown W&B distribution 'gauss'");
	refused(TC_IMPORT_WANDB, W "  a: {distribution: beta, a: 0}\n", 5, 30,
		"a must be > 0");
	refused(TC_IMPORT_WANDB, W "  a: {distribution: uniform, min: 0, "
		"max: 1, q: 2}\n", 5, 46, "unknown key 'q'");
	refused(TC_IMPORT_WANDB, W "  a: {values: [[1, 2]]}\n", 5, 16,
		"single values");
	refused(TC_IMPORT_WANDB, W "  a: {values: [1]}\n  a: {values: [2]}\n",
		6, 3, "duplicate parameter 'a'");
	refused(TC_IMPORT_WANDB, W "  a: {values: [1]}\ncommand: [\"${foo}\"]\n",
		6, 11, "${foo} is not a W&B macro");
	refused(TC_IMPORT_WANDB, W "  a: {values: [1]}\ncommand: [\"{{a}}\"]\n",
		6, 11, "would be read as a trainctl template");
	refused(TC_IMPORT_WANDB, W "  a: {values: [true]}\n"
		"command: [\"${args_no_boolean_flags}\"]\n", 6, 11,
		"boolean values");
	refused(TC_IMPORT_WANDB, W "  a: {values: ['x\"y']}\n"
		"command: [\"${args_json}\"]\n", 5, 16, "${args_json}");
	refused(TC_IMPORT_WANDB, W "  a: {values: [1]}\nmetric: {name: l, "
		"target: 2}\n", 6, 27, "metric.target");
	refused(TC_IMPORT_WANDB, W "  a: {values: [1]}\nscheduler: {engine: "
		"optuna}\n", 6, 1, "scheduler");
	refused(TC_IMPORT_WANDB, "program: t\nmethod: grid\nparameters:\n"
		"  a: {distribution: normal}\n", 4, 21,
		"grid search takes values, value, int_uniform and q_uniform");
	refused(TC_IMPORT_WANDB, "program: t\nmethod: hyperopt\nparameters:\n"
		"  a: {values: [1]}\n", 2, 9, "grid, random and bayes");
	refused(TC_IMPORT_WANDB, W "  a: {values: [1]}\nearly_terminate: "
		"{type: hyperband, eta: 1.5, min_iter: 1}\nmetric: {name: l}\n",
		6, 41, "eta must be an integer >= 2");
}

static const char katib_head[] =
	"apiVersion: kubeflow.org/v1beta1\n"  /* 1 */
	"kind: Experiment\n"                  /* 2 */
	"metadata: {name: K}\n"               /* 3 */
	"spec:\n"                             /* 4 */
	"  maxTrialCount: 4\n"                /* 5 */
	"  parameters:\n"                     /* 6 */
	"    - {name: lr, parameterType: double, feasibleSpace: {min: \"0.1\", "
	"max: \"0.5\", step: \"0.1\"}}\n"     /* 7 */
	"  trialTemplate:\n"                  /* 8 */
	"    trialParameters: [{name: L, reference: lr}]\n"
	"    trialSpec:\n"                    /* 10 */
	"      apiVersion: batch/v1\n"
	"      kind: Job\n"
	"      spec:\n"
	"        template:\n"
	"          spec:\n"                   /* 15 */
	"            containers:\n"
	"              - name: c\n"
	"                image: i\n";

static void test_katib(void **state)
{
	char buf[4096];
	char *t;

	(void)state;
	snprintf(buf, sizeof(buf), "%s%s", katib_head,
		 "                command: [run, \"--lr=${trialParameters.L}\"]\n");
	t = translate(TC_IMPORT_KATIB, buf);
	has_line(t, "name: k");
	has_line(t, "  lr: {distribution: q_uniform, min: 0.1, max: 0.5, q: "
		    "0.1}  # Katib double");
	has_line(t, "  - \"--lr={{lr}}\"");
	has_line(t, "  trials: 4  # maxTrialCount");
	free(t);
	snprintf(buf, sizeof(buf), "%s%s", katib_head,
		 "                command: [run, \"--lr=${trialParameters.X}\"]\n");
	refused(TC_IMPORT_KATIB, buf, 19, 32, "no trialParameters entry");
	snprintf(buf, sizeof(buf), "%s%s", katib_head,
		 "                command: [run]\n                stdin: true\n");
	refused(TC_IMPORT_KATIB, buf, 20, 17, "unknown key 'stdin'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wandb_translation),
		cmocka_unit_test(test_wandb_spec_positions),
		cmocka_unit_test(test_wandb_grid),
		cmocka_unit_test(test_wandb_macros),
		cmocka_unit_test(test_wandb_refusals),
		cmocka_unit_test(test_katib),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
