/*
 * prune.h — early stopping (the spec's early_stop:): which running trial
 * to stop, decided from the values of one metric at the trials' own steps.
 * The scheduler feeds it every sample of that metric and stops what it
 * names; nothing here knows a backend or the journal.
 *
 * The rules (values compared by tc_metric_cmp with early_stop's goal; a
 * missing or non-finite value ranks last):
 *
 *   asha       Rungs at min_step·rf^k (k = 0, 1, ...) below max_step (no
 *              cap without one).  The first value a trial reports at or
 *              past a rung's step is its value there; it goes on if it
 *              ranks among the best max(1, ⌊n/rf⌋) of the n values that
 *              rung has seen so far (itself included), else it is stopped.
 *              The first trial at a rung always goes on.
 *   hyperband  asha in brackets: bracket b starts its rungs at
 *              min_step·rf^b (b = 0 .. s, s = ⌊log_rf(max/min)⌋; the last
 *              bracket never stops a trial).  Trials go to brackets in a
 *              fixed cycle by their index, bracket b taking ⌈(s+1)/(s-b+1)
 *              ·rf^(s-b)⌉ of each cycle, as Hyperband sizes its brackets;
 *              each bracket ranks only its own trials.
 *   median     At each step ≥ min_step (and ≤ max_step when given): the
 *              trial's value against the median of the other trials'
 *              values at that step (each one's last value at a step ≤ it,
 *              among those that reached it); stopped when worse, once at
 *              least min_trials others have reached the step.
 *
 * A trial is judged on samples as they arrive; a trial's history from an
 * earlier run is replayed (tc_pruner_observe with act 0) so a resumed run
 * ranks against everything seen before.  A step lower than the trial's
 * last one starts a new attempt: median forgets the earlier attempt's
 * values; a rung passed once is not judged again.
 */
#ifndef TC_PRUNE_H
#define TC_PRUNE_H

#include <stddef.h>

#include "spec/spec.h"

struct tc_pruner;

/* A pruner for spec's early_stop (copied what it needs), or NULL when out
 * of memory.  spec->early_stop.method must not be TC_ES_NONE. */
struct tc_pruner *tc_pruner_new(const struct tc_spec *spec);
void tc_pruner_free(struct tc_pruner *p);

/* Trial `id` (its plan index idx) reported `value` (has 0: a value that is
 * not a finite number) at `step`.  Returns 1 when the trial should stop now
 * (once per trial: later samples of a stopped trial return 0), with why
 * ("pruned at step 3: val_loss 0.91, rung cutoff 0.52") in why[0..len);
 * 0 to go on; -1 out of memory.  act 0: a replayed sample, recorded
 * without a decision. */
int tc_pruner_observe(struct tc_pruner *p, const char *id, long long idx,
		      double step, double value, int has, int act,
		      char *why, size_t len);

/* Has trial id reported a value of the metric (this run or before)? */
int tc_pruner_seen(const struct tc_pruner *p, const char *id);

#endif
