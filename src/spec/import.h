/*
 * import.h — experiment files from other tools' files: a W&B sweep
 * configuration (import_wandb.c) and a Katib Experiment (import_katib.c).
 *
 * Each is translated into the text of a version 1 experiment file,
 * commented with where each part came from: `trainctl import wandb|katib`
 * prints it, and tc_spec_parse() (so `run`, `plan`, `validate`) parses a
 * W&B sweep through it, so a sweep run as it is and its printed
 * translation are one experiment with the same trial ids.
 *
 * Positions: every error is at the position in the original file of the
 * key or value at fault, whether the translator finds it (a key trainctl
 * cannot honour, an unknown distribution) or the experiment-file loader
 * does in the translation (a bad argument, a duplicate value): the
 * translation records, for every key and value it writes, the position of
 * what it came from, and errors and the positions kept in a parsed spec
 * are mapped back through it.  A key the translation cannot honour is an
 * error, never dropped.
 *
 * A spec parsed from a W&B file keeps the translation as its text (what a
 * journal records, so `resume` reads an experiment file) and the hash of
 * the original file's bytes (so `resume` sees when it changes).
 */
#ifndef TC_IMPORT_H
#define TC_IMPORT_H

#include <stddef.h>

#include "spec/spec.h"
#include "util/error.h"

enum tc_import_format {
	TC_IMPORT_NONE,
	TC_IMPORT_WANDB, /* a W&B sweep configuration */
	TC_IMPORT_KATIB, /* a Katib Experiment (kubeflow.org/v1beta1) */
};

/* One written position and the original position it came from. */
struct tc_import_pos {
	int line, col;   /* in the translation, 1-based */
	struct tc_pos src;
};

struct tc_import {
	char *text;                 /* the experiment file (malloc'd) */
	size_t len;
	struct tc_import_pos *map;  /* in text order */
	size_t nmap;
};

/* Ways to translate. */
enum {
	/* Leave out what this trainctl's loader cannot read yet (early
	 * stopping) so the rest can be checked; without it, it is written
	 * (commented as such). */
	TC_IMPORT_CHECKABLE = 1,
	/* For running: what cannot run in this trainctl is an error at its
	 * position. */
	TC_IMPORT_RUNNABLE = 2,
};

/* Translate text (len bytes, the file at path) from format f.  0, or a
 * negative status with err at path:line:col; *out is empty on error. */
int tc_import_translate(enum tc_import_format f, const char *path,
			const char *text, size_t len, unsigned flags,
			struct tc_import *out, struct tc_error *err);

/* Translate and parse, errors and positions mapped back (for
 * tc_spec_parse(), and for `import`, which checks what it prints).
 * TC_IMPORT_KATIB is refused here with the command that converts it:
 * a Katib trial is a container, not a program to run as it is. */
int tc_import_spec(enum tc_import_format f, const char *path, const char *buf,
		   size_t len, struct tc_spec **out, struct tc_error *err);

/* Check that the translation parses (with TC_IMPORT_CHECKABLE): 0, or
 * the first error, mapped back. */
int tc_import_check(enum tc_import_format f, const char *path,
		    const char *buf, size_t len, struct tc_error *err);

/* The original position of the translation's line:col: the nearest
 * written key or value at or before it. */
struct tc_pos tc_import_source(const struct tc_import *im, int line, int col);

void tc_import_free(struct tc_import *im);

#endif
