/*
 * test_series.c — unit tests of the per-trial sums read back from the
 * journal (src/store/series.c): the time a trial's attempts spent pending
 * (the events "pending" a cluster's run loop records as each attempt
 * ends), summed over its attempts, and none for a trial that has no such
 * event (a local trial).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "spec/spec.h"
#include "store/journal.h"
#include "store/series.h"
#include "store/trials.h"

static const char spec_text[] = "version: 1\n"
				"name: pend\n"
				"command: [x, '{{lr}}']\n"
				"parameters:\n"
				"  lr: {values: [0.1, 0.01, 0.001]}\n";

struct seen {
	char id[3][16];
	double secs[3];
	int calls[3];
	int other;
};

static int on_pending(void *ctx, const char *trial, double secs)
{
	struct seen *s = ctx;

	for (int i = 0; i < 3; i++)
		if (!strcmp(trial, s->id[i])) {
			s->secs[i] = secs;
			s->calls[i]++;
			return 0;
		}
	s->other++;
	return 0;
}

static void test_pending_summed(void **state)
{
	char dir[64], cmd[128];
	struct tc_journal *j = NULL;
	struct tc_spec *spec = NULL;
	struct tc_trials *t;
	struct tc_provenance prov;
	struct tc_error err;
	struct seen s;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_series.XXXXXX");
	assert_non_null(mkdtemp(dir));
	tc_error_clear(&err);
	assert_int_equal(tc_journal_open(dir, &j, &err), 0);
	assert_int_equal(tc_spec_parse("/tmp/pend.yaml", spec_text,
				       strlen(spec_text), &spec, &err),
			 0);
	memset(&prov, 0, sizeof(prov));
	prov.git_dirty = -1;
	assert_int_equal(tc_plan_create(j, spec, "kubernetes", NULL,
					"/tmp/pend.yaml", 0, &prov, &err),
			 0);
	tc_spec_free(spec);
	assert_non_null(t = tc_trials_open(j, "pend", &err));
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 3; i++)
		assert_int_equal(tc_trials_find_idx(t, i, s.id[i], &err), 0);

	/* trial 0: two attempts that waited; trial 1: one that did not;
	 * trial 2: none recorded (as locally) */
	assert_int_equal(tc_trials_event(t, s.id[0], "pending", "2.500", &err), 0);
	assert_int_equal(tc_trials_event(t, s.id[0], "running", "job", &err), 0);
	assert_int_equal(tc_trials_event(t, s.id[0], "pending", "1.250", &err), 0);
	assert_int_equal(tc_trials_event(t, s.id[1], "pending", "0.000", &err), 0);
	assert_int_equal(tc_trials_event(t, s.id[2], "note", "attempt 1: x", &err), 0);

	assert_int_equal(tc_series_pending(j, "pend", on_pending, &s, &err), 0);
	assert_int_equal(s.calls[0], 1);
	assert_true(fabs(s.secs[0] - 3.75) < 1e-9);
	assert_int_equal(s.calls[1], 1);
	assert_true(s.secs[1] == 0);
	assert_int_equal(s.calls[2], 0);
	assert_int_equal(s.other, 0);
	/* another experiment's name reads nothing */
	memset(s.calls, 0, sizeof(s.calls));
	assert_int_equal(tc_series_pending(j, "other", on_pending, &s, &err), 0);
	assert_int_equal(s.calls[0] + s.calls[1] + s.calls[2] + s.other, 0);

	tc_trials_close(t);
	tc_journal_close(j);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pending_summed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
