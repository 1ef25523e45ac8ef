/*
 * progress.h — what a scheduler tells whoever shows a run's progress.
 *
 * The schedulers (exec/runner.c, exec/kube.c) never print progress: they
 * describe it as events and hand them to the view in tc_run_opts.  The one
 * view is in cli/progress.c (lines when piped, a status block redrawn in
 * place on a terminal).  Every pointer in an event is borrowed for the call
 * only: copy what must outlive it.
 */
#ifndef TC_PROGRESS_H
#define TC_PROGRESS_H

#include <stddef.h>

/* A trial that runs now. */
struct tc_progress_trial {
	const char *id;
	const char *params;  /* JSON object text, or NULL */
	double elapsed;      /* seconds since it started */
	int has_step;        /* step: the latest step of the spec's metric */
	double step;
	int has_metric;
	double metric;       /* the latest value of the spec's metric */
};

/* The experiment as it stands. */
struct tc_progress_status {
	long long total;     /* trials in the experiment */
	long long done;      /* trials in a final state */
	long long running;   /* started and running */
	long long starting;  /* handed to the machine or cluster, not running */
	long long queued;    /* waiting for a slot (or for a retry) */
	long long failed;    /* failed or timed out */
	int parallel;        /* trials at a time */
	const char *metric;  /* the spec's metric name, or NULL */
	int has_best;
	double best;
	const char *best_id;
	const struct tc_progress_trial *trials; /* the running ones */
	size_t ntrials;
};

enum tc_progress_kind {
	TC_PROGRESS_STATUS, /* the status changed (or time passed) */
	TC_PROGRESS_TRIAL,  /* a trial ended, or will be retried */
	TC_PROGRESS_NOTE,   /* a message for the log: text */
	TC_PROGRESS_END,    /* the scheduler is done with the view */
};

struct tc_progress_event {
	enum tc_progress_kind kind;
	const struct tc_progress_status *status; /* always */
	/* TC_PROGRESS_TRIAL */
	const char *state;   /* "succeeded", "retrying", ... */
	const char *id;
	const char *params;
	double wall;         /* the attempt's wall time; < 0: never ran */
	int has_metric;
	double metric;
	const char *reason;  /* or NULL */
	/* TC_PROGRESS_NOTE */
	const char *text;
	int counted;         /* prefix the text with the [done/total] counter */
};

/* The view: fn(ctx, event) for every event, from the scheduler's thread.
 * STATUS events come often (every loop turn): the view decides when to
 * draw. */
struct tc_progress {
	void (*fn)(void *ctx, const struct tc_progress_event *ev);
	void *ctx;
};

#endif
