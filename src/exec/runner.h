/*
 * runner.h — the local backend's run: its operations for the one loop
 * (tc_sched_run, exec/scheduler.h) on processes of this machine, every
 * state change recorded in the journal before it is acted on.
 *
 * On entry the scheduler's recovery asks it what became of the trials a
 * previous runner left in starting or running: adopted (a supervisor
 * still holds its lock), recorded (the exit record of that attempt is
 * there: it finished while nobody watched), requeued without spending an
 * attempt (its supervisor died before starting it), or run again as a new
 * attempt (its supervisor died while it ran: its outcome is unknown; if
 * it still runs it is killed first).  Then the loop drives it: the shim's
 * events read, logs and metric files tailed, what fits started (parallel
 * cap, CPU cores, memory and GPUs requested), trials stopped on an
 * interrupt or a cancel.
 */
#ifndef TC_RUNNER_H
#define TC_RUNNER_H

#include <stdio.h>

#include "exec/backend.h"

/* The local backend's run (struct tc_backend, exec/backend.h): the caller
 * holds the experiment's runner lock.  Returns 0 when the loop ran to its
 * end (trials may still have failed: see the summary), or a negative
 * status. */
int tc_runner_run(struct tc_journal *j, const struct tc_exp_info *exp,
		  const struct tc_spec *spec, const struct tc_run_opts *o,
		  struct tc_run_summary *sum, struct tc_error *err);

/* Does a trial of this spec fit the machine (as the options describe it)?
 * 0 or TC_ERR_USAGE with a message saying what to change. */
int tc_runner_check(const struct tc_spec *spec, const struct tc_run_opts *o,
		    struct tc_error *err);

/* Do the nodes of a trial (each rank with the spec's resources) fit a
 * machine of this many CPUs, bytes and GPUs, all at once?  0, or
 * TC_ERR_SPEC at the nodes: key: such a trial could never be started. */
int tc_runner_check_nodes(const struct tc_spec *spec, double cpus,
			  long long memory, int gpus, struct tc_error *err);

/* The reason a queued trial gives while its runner has room for it but no
 * free GPU (see exec/gpulease.h); it holds only while that runner lives. */
#define TC_GPU_WAIT "waiting for a GPU"

/* The machine's resources as the local backend sees them. */
void tc_machine_resources(double *cpus, long long *memory, int *gpus);

#endif
