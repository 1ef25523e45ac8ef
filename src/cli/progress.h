/*
 * progress.h — the one view of a run's progress (see exec/progress.h for
 * the events the schedulers send).
 *
 * Not a terminal (piped, --detach's log): one line per event, as scripts
 * read them ("[3/12] succeeded ID 1.2s  loss=0.41  lr=0.1").  A terminal:
 * the same lines scroll above a status block redrawn in place (the counts,
 * an ETA, the running trials with elapsed time, step and metric, as many as
 * the screen holds); every line is cut to the terminal's width, read again
 * at each redraw so a resize re-fits it.  Colour on a terminal unless
 * NO_COLOR is set or TERM is dumb.
 */
#ifndef TC_CLI_PROGRESS_H
#define TC_CLI_PROGRESS_H

#include <stdio.h>

#include "exec/progress.h"

struct tc_cli_progress;

/* A view writing to out (not owned).  NULL when out of memory. */
struct tc_cli_progress *tc_cli_progress_new(FILE *out);
void tc_cli_progress_free(struct tc_cli_progress *p);

/* What to put in tc_run_opts.view; lives as long as p. */
const struct tc_progress *tc_cli_progress_view(struct tc_cli_progress *p);

/* The display width of the first len bytes of UTF-8 text s (a byte that is
 * not UTF-8 takes one column).  For the tests. */
int tc_cli_text_width(const char *s, size_t len);

/* Cut s in place to at most cols columns, at a character's boundary. */
void tc_cli_text_fit(char *s, int cols);

#endif
