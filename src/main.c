/*
 * main.c — trainctl's entry: the verb table, top-level help, and the
 * one central check that everything written to stdout got there (so
 * `trainctl ls > /full/disk` fails loudly instead of silently).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "spec/spec.h"

const struct tc_verb tc_verbs[] = {
	{"validate", cmd_validate, "parse and check an experiment file"},
	{"plan", cmd_plan, "list the trials an experiment file gives"},
	{"lint", cmd_lint, "check an experiment file against a cluster policy"},
	{"run", cmd_run, "create an experiment and run its trials"},
	{"resume", cmd_resume, "continue an interrupted experiment"},
	{"status", cmd_status, "experiments, or one experiment's trials"},
	{"logs", cmd_logs, "a trial's output (-f follows)"},
	{"results", cmd_results, "one row per trial: parameters and metrics"},
	{"metrics", cmd_metrics, "every metric value, one row per step (curves)"},
	{"best", cmd_best, "the best trial by the spec's metric"},
	{"report", cmd_report, "compute accounting per trial and in total"},
	{"export", cmd_export, "send an experiment to an MLflow tracking server"},
	{"import", cmd_import, "a W&B sweep or Katib Experiment as an experiment file"},
	{"cancel", cmd_cancel, "cancel an experiment or some of its trials"},
	{"retry", cmd_retry, "run failed or cancelled trials again"},
	{"ls", cmd_ls, "list experiments"},
	{"rm", cmd_rm, "remove an experiment: its trials, logs and rows"},
	{"gc", cmd_gc, "delete what an experiment created on the cluster"},
	{"version", cmd_version, "print the version"},
	{"completion", cmd_completion, "print the bash or zsh completion script"},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: trainctl VERB [ARGS] [--flags]\n\n"
		   "One experiment file in; many training runs out; results, "
		   "the best model and\nthe compute bill back.\n\nverbs:\n");
	for (const struct tc_verb *v = tc_verbs; v->name; v++)
		fprintf(f, "  %-10s %s\n", v->name, v->summary);
	fprintf(f, "\nRun 'trainctl VERB --help' for a verb's options.\n"
		   "Exit codes: 0 all good; 1 some trials failed; 2 bad usage "
		   "or bad spec;\n3 backend unreachable or refused.\n");
}

static int finish_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "trainctl: cannot write output: %s\n",
				strerror(errno ? errno : EIO));
		return rc ? rc : TC_EXIT_FAILED;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const char *verb;
	const char *names[32];
	size_t n = 0;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return TC_EXIT_USAGE;
	}
	verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
		usage(stdout);
		return finish_stdout(0);
	}
	if (!strcmp(verb, "--version"))
		return finish_stdout(cmd_version(1, argv + 1));
	for (const struct tc_verb *v = tc_verbs; v->name; v++) {
		if (!strcmp(v->name, verb))
			return finish_stdout(v->fn(argc - 1, argv + 1));
		names[n++] = v->name;
	}
	{
		const char *dym = tc_did_you_mean(verb, names, n);

		fprintf(stderr, "trainctl: unknown verb '%s'%s%s%s\n", verb,
			dym ? " (did you mean '" : "", dym ? dym : "",
			dym ? "'?)" : "");
		fprintf(stderr, "Run 'trainctl --help' for the list of verbs.\n");
	}
	return TC_EXIT_USAGE;
}
