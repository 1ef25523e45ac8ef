/*
 * policy.h — a shared cluster's rules for batch jobs, as data, and the
 * checks of a spec against them (`trainctl lint`, and `run` before it
 * records an experiment); the rule on GPU use is checked on a finished
 * run's metrics (`report`).
 *
 * A policy is a YAML file (README, "Cluster policy"):
 *
 *   version: 1
 *   name: nrp
 *   refuse: false          # true: findings refuse (lint exit 2, run stops)
 *   rules:
 *     limits_within: {percent: 20}      # limit <= request * 1.2
 *     limits_equal_above: {jobs: 100}   # run.parallel > 100: limit = request
 *     idle_command: {patterns: ["sleep infinity", ...]}
 *     gpu_utilisation: {metric: gpu_util, min_percent: 40}
 *
 * A rule left out is not checked.  Unknown keys and rules, and values of
 * the wrong kind, are TC_ERR_SPEC at file:line:col.  Two policies are built
 * in with this same schema: "nrp" (NRP Nautilus's published rules) and
 * "strict" (the same, refusing).
 */
#ifndef TC_POLICY_H
#define TC_POLICY_H

#include <stddef.h>

#include "spec/spec.h"
#include "util/error.h"

struct tc_policy {
	const char *path;        /* the file, or "<built-in nrp>" */
	char *name;
	int refuse;
	double limits_within;    /* percent; < 0: rule off */
	long long equal_above;   /* jobs; < 0: rule off */
	char **idle;             /* idle_command patterns; NULL: rule off */
	size_t nidle;
	char *gpu_metric;        /* gpu_utilisation; NULL: rule off */
	double gpu_min;          /* percent */
};

/* One thing a spec does that the policy forbids. */
struct tc_finding {
	const char *rule;
	struct tc_pos pos;       /* in the spec */
	char msg[320];
};

/* "nrp", "strict", or the path of a policy file. */
int tc_policy_load(const char *which, struct tc_policy **out,
		   struct tc_error *err);
/* The same from text (path names it in messages). */
int tc_policy_parse(const char *path, const char *text, size_t len,
		    struct tc_policy **out, struct tc_error *err);
void tc_policy_free(struct tc_policy *p);

/* The findings of spec (malloc'd array in *out, *n of them; NULL and 0
 * when none).  0 or TC_ERR_NOMEM. */
int tc_policy_check(const struct tc_policy *p, const struct tc_spec *spec,
		    struct tc_finding **out, size_t *n, struct tc_error *err);

/* The gpu_utilisation rule on one trial that requested GPUs: 1 when it
 * reported the policy's metric (percent) and every value stayed under the
 * minimum (max_value is the highest it reported), else 0. */
int tc_policy_gpu_idle(const struct tc_policy *p, int reported,
		       double max_value);

#endif
