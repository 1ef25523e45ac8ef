/*
 * kube.h — the scheduler of the Kubernetes backend: runs an experiment's
 * queued trials as batch/v1 Jobs until none is left, with the same journal,
 * states, retries and metrics as the local backend (runner.h); its entry
 * in the table of backends is exec/backend_kube.c.
 *
 * A trial's life is the journal's state machine (store/trials.h).  On a
 * cluster: starting means the ConfigMap and the Job "<exp>-<id>-<attempt>"
 * may or may not exist yet (creating is idempotent: AlreadyExists adopts
 * the object); running means the API server said the Job exists (a
 * pending reason, Unschedulable..., is kept in the trial's reason); the
 * outcome is decided from the Job's conditions (Complete; Failed with
 * DeadlineExceeded: timed_out) and its pod (OOMKilled, evicted, exit
 * code), committed with the metrics of the pod's log, which is kept as the
 * trial's stdout.log.  A create refused for good fails the trial; a
 * running trial whose Job vanished while trainctl was down goes back to
 * the queue without spending its attempt.
 *
 * One informer on the experiment's Jobs and one on its pods (label
 * trainctl.io/experiment=NAME) turn the cluster's state into transitions;
 * nothing is polled per trial.  On start, trials in starting or running are
 * matched against the Jobs the first list returns: existing ones are
 * adopted, missing starting ones created, missing running ones requeued.
 */
#ifndef TC_KUBE_H
#define TC_KUBE_H

#include "exec/backend.h"
#include "spec/spec.h"
#include "store/experiment.h"
#include "store/journal.h"

/* Run (or continue) the experiment on the cluster: the Kubernetes
 * backend's run (exec/backend.h).  The caller holds the experiment's
 * runner lock.  0 when the loop ran to its end; TC_ERR_BACKEND with a
 * message when the cluster cannot be used (unreachable, refused
 * credentials, missing permission), the journal left consistent for a
 * resume. */
int tc_kube_run(struct tc_journal *j, const struct tc_exp_info *exp,
		const struct tc_spec *spec, const struct tc_run_opts *o,
		struct tc_run_summary *sum, struct tc_error *err);

/* Read the kubeconfig and make one request to the API server (list the
 * namespace's Jobs), as a run would: 0, or TC_ERR_BACKEND (unreachable,
 * refused) / the kubeconfig's error.  The backend's check_start. */
int tc_kube_reach(const struct tc_spec *spec, const struct tc_run_opts *o,
		  struct tc_error *err);

/* The backend's gc: delete every object the experiment created on the
 * cluster (Jobs with their pods, ConfigMaps, Services), found by label.
 * *deleted counts them. */
int tc_kube_gc(struct tc_journal *j, const struct tc_exp_info *exp,
	       const struct tc_run_opts *o, long *deleted,
	       struct tc_error *err);

/* The namespace the experiment's first run on a cluster used (malloc'd),
 * or NULL.  run, resume, cancel, gc and logs default to it, so a changed
 * kubeconfig context cannot make them look (or create) elsewhere. */
char *tc_kube_recorded_ns(struct tc_journal *j, const char *name);

/* The backend's logs: write a running trial's output from its rank-0 pod
 * to out (follow: until the pod's log ends).  TC_ERR_STATE when it has no
 * pod yet. */
int tc_kube_logs(struct tc_journal *j, const struct tc_exp_info *exp,
		 const char *id, int attempt, int follow,
		 const struct tc_run_opts *o, FILE *out, struct tc_error *err);

#endif
