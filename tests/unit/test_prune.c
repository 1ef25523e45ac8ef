/*
 * test_prune.c — the early-stopping rules: asha's rungs and cut, brackets
 * of hyperband (sizes, the bracket that never stops), median against the
 * others at the same step, replayed history, the goal's direction.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec/prune.h"
#include "spec/spec.h"

static struct tc_spec *parse(const char *es, const char *goal)
{
	char yaml[1024];
	struct tc_spec *s = NULL;
	struct tc_error err;

	snprintf(yaml, sizeof(yaml),
		 "version: 1\nname: p\ncommand: [x, \"{{q}}\"]\n"
		 "parameters: {q: {values: [1, 2]}}\n"
		 "metric: {name: val_loss, goal: %s}\nearly_stop: %s\n",
		 goal, es);
	if (tc_spec_parse("t.yaml", yaml, strlen(yaml), &s, &err) != 0)
		fail_msg("spec did not parse: %d:%d: %s", err.line, err.col,
			 err.msg);
	return s;
}

static int see(struct tc_pruner *p, const char *id, long long idx,
	       double step, double v)
{
	char why[256] = "";
	int r = tc_pruner_observe(p, id, idx, step, v, 1, 1, why, sizeof(why));

	assert_true(r == 0 || r == 1);
	if (r == 1)
		assert_non_null(strstr(why, "pruned at step"));
	return r;
}

static void test_asha(void **state)
{
	struct tc_spec *s = parse("{method: asha, min_step: 1, max_step: 9, "
				  "reduction_factor: 3}",
				  "minimize");
	struct tc_pruner *p = tc_pruner_new(s);
	char why[256];

	(void)state;
	/* the first at a rung goes on; then only the best ⌊n/3⌋ (≥ 1) */
	assert_int_equal(see(p, "a", 0, 1, 1.0), 0);
	assert_int_equal(see(p, "b", 1, 1, 2.0), 1);
	assert_int_equal(see(p, "c", 2, 1, 0.5), 0);
	assert_int_equal(see(p, "d", 3, 1, 0.8), 1);
	/* a stopped trial is named once */
	assert_int_equal(see(p, "b", 1, 2, 9.0), 0);
	/* steps between rungs decide nothing; rung 3 is the next */
	assert_int_equal(see(p, "a", 0, 2, 5.0), 0);
	assert_int_equal(see(p, "a", 0, 3, 0.9), 0);
	assert_int_equal(see(p, "c", 2, 3, 0.95), 1);
	/* past the last rung below max_step (9), nothing is judged */
	assert_int_equal(see(p, "a", 0, 9, 100), 0);
	assert_int_equal(see(p, "e", 4, 9, 100), 1); /* passes rungs 1, 3 */
	/* six values at rung 1: the best two go on */
	assert_int_equal(see(p, "f", 5, 1, 0.7), 0);
	tc_pruner_observe(p, "g", 6, 1, 0.6, 1, 1, why, sizeof(why));
	assert_int_equal(see(p, "h", 7, 1, 0.55), 0); /* 2nd of 8, keep 2 */
	/* a value that is not a number ranks last */
	assert_int_equal(tc_pruner_observe(p, "i", 8, 1, NAN, 0, 1, why,
					   sizeof(why)),
			 1);
	assert_non_null(strstr(why, "val_loss none"));
	tc_pruner_free(p);
	tc_spec_free(s);
}

static void test_goal_and_replay(void **state)
{
	struct tc_spec *s = parse("{method: asha, max_step: 10}", "maximize");
	struct tc_pruner *p = tc_pruner_new(s);
	char why[256];

	(void)state;
	/* replayed history is ranked against, never decided */
	assert_int_equal(tc_pruner_observe(p, "a", 0, 1, 0.9, 1, 0, why,
					   sizeof(why)),
			 0);
	assert_int_equal(tc_pruner_observe(p, "b", 1, 1, 0.1, 1, 0, why,
					   sizeof(why)),
			 0);
	/* maximize: 0.5 ranks 2nd of 3 (keep 1) */
	assert_int_equal(see(p, "c", 2, 1, 0.5), 1);
	assert_int_equal(see(p, "d", 3, 1, 0.95), 0);
	/* a trial replayed past a rung is not judged there again */
	assert_int_equal(tc_pruner_observe(p, "a", 0, 3, 0.1, 1, 0, why,
					   sizeof(why)),
			 0);
	assert_int_equal(see(p, "a", 0, 3, 0.1), 0);
	tc_pruner_free(p);
	tc_spec_free(s);
}

static void test_hyperband(void **state)
{
	struct tc_spec *s = parse("{method: hyperband, min_step: 1, max_step: 27, "
				  "reduction_factor: 3}",
				  "minimize");
	struct tc_pruner *p = tc_pruner_new(s);

	(void)state;
	/* brackets of 27, 12, 6 and 4 trials a cycle of 49: index 0 is in
	 * bracket 0 (rungs 1, 3, 9), 27 in bracket 1 (rungs 3, 9), 45 in
	 * bracket 3 (no rung: never stopped) */
	assert_int_equal(see(p, "a", 0, 1, 1.0), 0);
	assert_int_equal(see(p, "b", 1, 1, 5.0), 1);
	assert_int_equal(see(p, "x", 27, 1, 1.0), 0);
	assert_int_equal(see(p, "y", 28, 1, 5.0), 0); /* no rung at 1 */
	assert_int_equal(see(p, "y", 28, 3, 5.0), 0); /* first at rung 3 */
	assert_int_equal(see(p, "x", 27, 3, 1.0), 0);
	assert_int_equal(see(p, "z", 29, 3, 7.0), 1);
	/* each bracket ranks its own: 4.0 would be cut at bracket 1's rung 3
	 * (1.0, 5.0, 7.0 there); bracket 0's rung 3 has seen nothing yet */
	assert_int_equal(see(p, "a", 0, 3, 4.0), 0);
	assert_int_equal(see(p, "u", 45, 3, 99), 0);
	assert_int_equal(see(p, "v", 46, 9, 99), 0);
	assert_int_equal(see(p, "w", 47, 26, 99), 0);
	/* the next cycle starts over at bracket 0 */
	assert_int_equal(see(p, "n", 49, 1, 50), 1);
	tc_pruner_free(p);
	tc_spec_free(s);
}

static void test_median(void **state)
{
	struct tc_spec *s = parse("{method: median, min_step: 2, min_trials: 2}",
				  "minimize");
	struct tc_pruner *p = tc_pruner_new(s);

	(void)state;
	/* a: 1 2 3; b: 2 3 4 at steps 1..3 */
	for (int k = 1; k <= 3; k++) {
		assert_int_equal(see(p, "a", 0, k, k), 0);
		assert_int_equal(see(p, "b", 1, k, k + 1), 0); /* one other */
	}
	/* before min_step nothing is judged */
	assert_int_equal(see(p, "c", 2, 1, 100), 0);
	/* at 2: median of a (2) and b (3) is 2.5 */
	assert_int_equal(see(p, "c", 2, 2, 2.4), 0);
	assert_int_equal(see(p, "c", 2, 3, 3.6), 1); /* median 3.5 */
	/* only the others that reached the step count: none reached 9 */
	assert_int_equal(see(p, "d", 3, 9, 1000), 0);
	/* a new attempt (a lower step) counts from its start */
	assert_int_equal(see(p, "d", 3, 1, 1), 0);
	assert_int_equal(see(p, "d", 3, 2, 2.0), 0);
	tc_pruner_free(p);
	tc_spec_free(s);
}

static void bad(const char *es, const char *want)
{
	char yaml[1024];
	struct tc_spec *s = NULL;
	struct tc_error err;

	snprintf(yaml, sizeof(yaml),
		 "version: 1\nname: p\ncommand: [x]\n"
		 "metric: {name: acc}\nearly_stop: %s\n",
		 es);
	assert_int_not_equal(tc_spec_parse("t.yaml", yaml, strlen(yaml), &s,
					   &err),
			     0);
	if (!strstr(err.msg, want))
		fail_msg("%s: got '%s', want '%s'", es, err.msg, want);
	assert_int_equal(err.line, 5);
}

static void test_bad_input(void **state)
{
	(void)state;
	bad("{metric: x}", "needs a method");
	bad("{method: ashaa}", "did you mean 'asha'");
	bad("{method: hyperband}", "needs early_stop.max_step");
	bad("{method: asha, min_step: 4, max_step: 2}", "more than min_step");
	bad("{method: asha, reduction_factor: 1.5}", "must be a number ≥ 2");
	bad("{method: median, reduction_factor: 2}", "not median");
	bad("{method: asha, min_trials: 2}", "is for median");
	bad("{method: asha, min_step: 0}", "min_step > 0");
	bad("{method: asha, patience: 2}", "patience");
	bad("[asha]", "early_stop");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_asha),
		cmocka_unit_test(test_goal_and_replay),
		cmocka_unit_test(test_hyperband),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
