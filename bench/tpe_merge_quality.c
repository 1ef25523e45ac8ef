/*
 * tpe_merge_quality.c — does merging the bad group's kernels (tpe.c,
 * build_merged, past 256 bad observations) cost search quality?  Built
 * twice by bench/tpe_merge_quality.sh: as the product builds it, and with
 * TC_TPE_MERGE_MIN huge (every kernel evaluated).  Runs a sequential
 * search of T trials on tpe_cost.c's five-parameter space (a quadratic in
 * x, y plus a term in lr, n and opt) for seeds 1..S and prints, per seed,
 * the best value after T/2 and T trials.
 *
 *   tpe_merge_quality T S
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/pmath.h"
#include "search/tpe.h"
#include "spec/spec.h"

static const char space[] =
	"version: 1\n"
	"name: q\n"
	"command: [x]\n"
	"parameters:\n"
	"  x: {distribution: uniform, min: -2, max: 2}\n"
	"  y: {distribution: uniform, min: -2, max: 2}\n"
	"  lr: {distribution: log_uniform, min: 1.0e-5, max: 1.0e-1}\n"
	"  n: {distribution: int_uniform, min: 1, max: 20}\n"
	"  opt: {values: [sgd, adam, lamb]}\n"
	"metric: {name: loss, goal: minimize}\n";

static double score(const struct tc_value *v)
{
	double l = tc_pmath_log(v[2].f) - tc_pmath_log(1e-3);

	return (v[0].f - 0.3) * (v[0].f - 0.3) + (v[1].f + 0.2) * (v[1].f + 0.2) +
	       0.01 * l * l + 0.001 * (double)((v[3].i - 7) * (v[3].i - 7)) +
	       (strcmp(v[4].text ? v[4].text : "", "adam") ? 0.05 : 0);
}

int main(int argc, char **argv)
{
	struct tc_spec *s = NULL;
	struct tc_error err;
	int T, S;

	if (argc != 3)
		return 2;
	T = atoi(argv[1]);
	S = atoi(argv[2]);
	if (tc_spec_parse("q.yaml", space, strlen(space), &s, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	for (int seed = 1; seed <= S; seed++) {
		struct tc_tpe_options o;
		struct tc_tpe *t;
		double best = 1e300, half = 0;

		tc_tpe_defaults(&o);
		o.goal = -1;
		o.seed = (unsigned)seed;
		if (tc_tpe_new(s, &o, &t, &err))
			return 1;
		for (int i = 0; i < T; i++) {
			const struct tc_value *v;
			const unsigned char *pr;
			size_t k;
			double y;

			if (tc_tpe_ask(t, &v, &pr, &k, &err) != 1)
				return 1;
			y = score(v);
			if (y < best)
				best = y;
			tc_tpe_settle(t, k, TC_TPE_COMPLETE, y, &err);
			if (i + 1 == T / 2)
				half = best;
		}
		printf("%d %.6g %.6g\n", seed, half, best);
		tc_tpe_free(t);
	}
	tc_spec_free(s);
	return 0;
}
