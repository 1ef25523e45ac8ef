/*
 * lint.c — `trainctl lint SPEC --policy nrp|strict|FILE`: a spec against a
 * shared cluster's rules (policy/policy.h) before anything is submitted;
 * and the same findings as warnings (or a refusal) for `run`.
 *
 * Exit codes: 0 no findings; 1 findings under a policy that warns (nrp);
 * 2 findings under a policy that refuses (strict, or refuse: true), or a
 * bad spec or policy file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "policy/policy.h"

static const struct tc_opt lint_opts[] = {
	{"policy", 0, 1, "P", "nrp (default), strict, or a policy file"},
	{NULL, 0, 0, NULL, NULL},
};

/* Print the findings of spec under policy `which` to out, each prefixed
 * with prefix.  Returns -1 when the policy or the check failed (printed),
 * else the number of findings; *refuse says whether they refuse. */
static int findings(const char *verb, const char *which,
		    const struct tc_spec *spec, FILE *out, const char *prefix,
		    int *refuse, char name[64])
{
	struct tc_policy *p = NULL;
	struct tc_finding *f = NULL;
	struct tc_error err;
	size_t n = 0;

	tc_error_clear(&err);
	if (tc_policy_load(which, &p, &err) ||
	    tc_policy_check(p, spec, &f, &n, &err)) {
		tc_policy_free(p);
		tc_fail_spec(verb, &err);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s:%d:%d: %s (policy %s, rule %s)\n", prefix,
			spec->path, f[i].pos.line, f[i].pos.col, f[i].msg,
			p->name, f[i].rule);
	*refuse = p->refuse;
	snprintf(name, 64, "%s", p->name);
	free(f);
	tc_policy_free(p);
	return (int)n;
}

int tc_policy_gate(const char *verb, const char *which,
		   const struct tc_spec *spec)
{
	char prefix[64], name[64];
	int refuse = 0, n;

	snprintf(prefix, sizeof(prefix), "trainctl %s: warning: ", verb);
	n = findings(verb, which, spec, stderr, prefix, &refuse, name);
	if (n < 0)
		return TC_EXIT_USAGE;
	if (n > 0 && refuse) {
		fprintf(stderr,
			"trainctl %s: policy %s refuses this spec (%d finding%s); "
			"nothing was created\n",
			verb, name, n, n == 1 ? "" : "s");
		return TC_EXIT_USAGE;
	}
	return 0;
}

int cmd_lint(int argc, char **argv)
{
	struct tc_args a;
	struct tc_spec *spec = NULL;
	struct tc_error err;
	const char *which;
	char name[64];
	int rc, refuse = 0, n;

	rc = tc_parse_args(argc, argv, lint_opts, "lint SPEC [--policy P]",
			   "Check an experiment file against a shared cluster's "
			   "rules for batch jobs (NRP\nNautilus's by default): "
			   "limits near requests, no idle command, GPUs used.\n"
			   "Exit 0: no findings; 1: findings; 2: findings under a "
			   "refusing policy (strict),\nor a bad spec or policy "
			   "file.",
			   &a);
	if (rc)
		return rc > 0 ? 0 : TC_EXIT_USAGE;
	if (a.npos != 1)
		return tc_usage_error("lint", "expected one experiment file");
	which = tc_arg(&a, lint_opts, "policy") ? tc_arg(&a, lint_opts, "policy")
						: "nrp";
	tc_error_clear(&err);
	if ((rc = tc_spec_load(a.pos[0], &spec, &err)))
		return tc_fail_spec("lint", &err);
	n = findings("lint", which, spec, stdout, "", &refuse, name);
	if (n == 0)
		printf("%s: no findings (policy %s)\n", a.pos[0], name);
	tc_spec_free(spec);
	if (n < 0)
		return TC_EXIT_USAGE;
	return n == 0 ? TC_EXIT_OK : refuse ? TC_EXIT_USAGE : TC_EXIT_FAILED;
}
