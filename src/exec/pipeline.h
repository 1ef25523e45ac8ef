/*
 * pipeline.h — what a pipeline's jobs (stages:) add to the scheduler: the
 * cache.  A job's key is a SHA-256 of what decides its result: its
 * resolved command and env, the image (Kubernetes), the keys of the jobs
 * it needs, and the content of its declared inputs: (files or directory
 * trees, read in the working directory; by path only when the trials'
 * directories are not on this machine).  A job about to start whose key
 * a succeeded job of any experiment in the journal has is not run: it
 * succeeds from the cache ("cached: EXP/ID"), with that job's final
 * metrics and a copy (hard links where it can) of its declared outputs.
 * When a run begins, every succeeded job's key is made again: a job whose
 * key changed (an input file, its command, a needed job's key) runs again
 * with every job that needs it; nothing else does.
 */
#ifndef TC_PIPELINE_H
#define TC_PIPELINE_H

#include "exec/scheduler.h"

/* The reason a job has after `--rerun STAGE`: it runs even if the cache
 * holds its key. */
#define TC_PIPE_RERUN "rerun requested"

/* The next queued job that must run (tc_trials_next_queued), after
 * deciding those before it that the cache spares or whose inputs are
 * missing (failed: "input 'P' is missing").  Its key is stored on it.
 * In the caller's transaction.  1 with *row, 0 none, or an error code. */
int tc_pipe_next(struct tc_sched *s, double now, struct tc_trial_row *row);

/* When a run begins: --rerun's stages (o->rerun) queued again with what
 * needs them, then every succeeded job whose key changed.  Its own
 * transaction.  0 or an error code. */
int tc_pipe_revalidate(struct tc_sched *s);

#endif
