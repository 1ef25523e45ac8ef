/*
 * test_scheduler.c — unit tests of the fate of an ended attempt
 * (tc_sched_finish in src/exec/scheduler.c), the one rule both scheduler
 * loops use: a failure requeued with its backoff, not once the run is
 * interrupted; a cancel request turning a non-success into cancelled (any
 * on Kubernetes, only one stopped or unseen locally); an interrupt said
 * as such; a success kept whatever was asked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/scheduler.h"
#include "plan/plan.h"
#include "spec/spec.h"
#include "store/journal.h"
#include "store/trials.h"
#include "util/clock.h"

struct fixture {
	char dir[64];
	struct tc_journal *j;
	struct tc_spec *spec;
	struct tc_run_opts o;
	struct tc_sched s;
	struct tc_error err;
	char id[3][16]; /* the trials, by index */
};

static const char spec_text[] = "version: 1\n"
				"name: sd\n"
				"command: [x, '{{lr}}']\n"
				"parameters:\n"
				"  lr: {values: [0.1, 0.01, 0.001]}\n"
				"run: {retries: 1, backoff: 5}\n";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tc_provenance prov;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_scheduler.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	tc_error_clear(&f->err);
	assert_int_equal(tc_journal_open(f->dir, &f->j, &f->err), 0);
	assert_int_equal(tc_spec_parse("/tmp/sd.yaml", spec_text,
				       strlen(spec_text), &f->spec, &f->err),
			 0);
	memset(&prov, 0, sizeof(prov));
	prov.git_dirty = -1;
	assert_int_equal(tc_plan_create(f->j, f->spec, "local", NULL,
					"/tmp/sd.yaml", 0, &prov, &f->err),
			 0);
	f->o.progress = -1;
	f->o.max_failures = -1;
	f->o.gpus = -1;
	assert_int_equal(tc_sched_begin(&f->s, f->j, "sd", f->spec, &f->o, NULL,
					NULL, NULL, &f->err),
			 0);
	assert_int_equal(f->s.counts[TC_ST_QUEUED], 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tc_trials_find_idx(f->s.tr, i, f->id[i], &f->err),
				 0);
		assert_int_equal(tc_trials_mark_starting(f->s.tr, f->id[i], 1,
							 NULL, NULL, &f->err),
				 0);
		tc_sched_count_move(&f->s, TC_ST_QUEUED, TC_ST_STARTING);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct tc_run_summary sum;
	char cmd[128];

	tc_sched_close(&f->s, 1, &sum);
	tc_journal_close(f->j);
	tc_spec_free(f->spec);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Attempt 1 of trial i ended in `state`; its fate, committed and counted. */
static void end(struct fixture *f, int i, int state, const char *why,
		int cancel_wins, int unseen, struct tc_sched_end *e, char *reason)
{
	snprintf(reason, 256, "%s", why);
	*e = (struct tc_sched_end){
		.id = f->id[i], .attempt = 1, .state = state, .reason = reason,
		.reason_len = 256, .cancel_wins = cancel_wins, .unseen = unseen,
	};
	assert_int_equal(tc_journal_begin(f->j, &f->err), 0);
	assert_int_equal(tc_sched_finish(&f->s, e, &(struct tc_trial_outcome){
						       .has_exit = 1,
						       .exit_code = 1,
						       .ended_at = tc_now(),
					       }),
			 0);
	assert_int_equal(tc_journal_commit(f->j, &f->err), 0);
	tc_sched_ended(&f->s, TC_ST_STARTING, e);
}

static int journal_state(struct fixture *f, int i)
{
	int st, req, base;

	assert_int_equal(tc_trials_flags(f->s.tr, f->id[i], &st, &req, &base), 1);
	return st;
}

static void test_retry(void **state)
{
	struct fixture *f = *state;
	struct tc_sched_end e;
	char reason[256];
	double now = tc_now();

	end(f, 0, TC_ST_FAILED, "exit code 1", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_FAILED);
	assert_true(e.requeue);
	assert_true(e.next_at > now + 4 && e.next_at < now + 10);
	assert_string_equal(reason, "exit code 1");
	assert_int_equal(journal_state(f, 0), TC_ST_QUEUED);
	assert_int_equal(f->s.counts[TC_ST_QUEUED], 1);
	/* a time-out too; none once the run is interrupted */
	end(f, 1, TC_ST_TIMED_OUT, "timed out after 1s", 0, 0, &e, reason);
	assert_true(e.requeue);
	f->s.stopping = 2;
	end(f, 2, TC_ST_FAILED, "exit code 1", 0, 0, &e, reason);
	assert_false(e.requeue);
	assert_int_equal(journal_state(f, 2), TC_ST_FAILED);
	assert_int_equal(f->s.counts[TC_ST_FAILED], 1);
	assert_int_equal(f->s.counts[TC_ST_STARTING], 0);
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	struct tc_sched_end e;
	char reason[256];
	int queued, requested;

	assert_int_equal(tc_trials_request_cancel(f->s.tr, &queued, &requested,
						  &f->err),
			 0);
	assert_int_equal(requested, 3);
	/* locally: one that failed on its own keeps its failure, unretried */
	end(f, 0, TC_ST_FAILED, "exit code 1", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_FAILED);
	assert_false(e.requeue);
	assert_string_equal(reason, "exit code 1");
	/* on Kubernetes it is cancelled */
	end(f, 1, TC_ST_FAILED, "pod failed", 1, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_CANCELLED);
	assert_string_equal(reason, "cancelled");
	/* a success stays one */
	end(f, 2, TC_ST_SUCCEEDED, "", 1, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_SUCCEEDED);
	assert_int_equal(f->s.counts[TC_ST_CANCELLED], 1);
	assert_int_equal(f->s.counts[TC_ST_SUCCEEDED], 1);
}

static void test_interrupt(void **state)
{
	struct fixture *f = *state;
	struct tc_sched_end e;
	char reason[256];

	assert_int_equal(tc_trials_request_interrupt(f->s.tr, &f->err), 0);
	/* stopped by its supervisor on the request */
	end(f, 0, TC_ST_CANCELLED, "cancelled", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_CANCELLED);
	assert_string_equal(reason, "interrupted");
	/* its end unseen: its supervisor died */
	end(f, 1, TC_ST_FAILED, "its supervisor died", 0, 1, &e, reason);
	assert_int_equal(e.state, TC_ST_CANCELLED);
	assert_string_equal(reason, "interrupted");
	assert_int_equal(journal_state(f, 1), TC_ST_CANCELLED);
	/* failed on its own first (locally): a failure, not retried */
	end(f, 2, TC_ST_FAILED, "exit code 1", 0, 0, &e, reason);
	assert_int_equal(e.state, TC_ST_FAILED);
	assert_false(e.requeue);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
