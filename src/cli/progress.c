/*
 * progress.c — the view of a run's progress: lines when piped, a status
 * block redrawn in place on a terminal (see progress.h).
 *
 * The block is drawn without a newline after its last line, so the cursor
 * stays on it; erasing it is "\r\033[K" and then, for each line above,
 * cursor-up and erase.  Lines that must stay (a trial's end, a note) are
 * written where the block was and the block is drawn again below them.
 * Every line of the block, and every line written on a terminal, is cut to
 * the width minus one column so that no terminal wraps it (a wrapped line
 * would take two rows and the erase would leave one behind).
 */
#include "cli/progress.h"

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

#include "exec/record.h"
#include "util/clock.h"
#include "util/text.h"

#define REDRAW_EVERY 0.25 /* seconds between redraws when nothing changed */
#define LINE_MAX_BYTES 4096
#define BLOCK_MAX 256    /* lines in the block, at most */

#define SGR_GREEN "\033[32m"
#define SGR_RED "\033[31m"
#define SGR_YELLOW "\033[33m"
#define SGR_BOLD "\033[1m"
#define SGR_DIM "\033[2m"
#define SGR_RESET "\033[0m"

struct tc_cli_progress {
	struct tc_progress view;
	FILE *out;
	int fd;
	int live;   /* a terminal: the block */
	int colour;
	int drawn;  /* lines of the block on the screen now */
	int widths[BLOCK_MAX]; /* their display widths */
	double last_draw;
	long long last_done, last_running, last_queued;
	/* the ETA: an end time, kept until something new is known */
	double eta_end;      /* monotonic; < 0: no estimate */
	double eta_key;      /* what the estimate was made from */
	double sum_wall;     /* of the trials that ended, this session */
	long long nwall;
	struct sigaction old_winch;
	int winch_set;
};

static volatile sig_atomic_t winched;

static void on_winch(int sig)
{
	(void)sig;
	winched = 1;
}

/* ---- display width ----------------------------------------------------- */

/* The code point at s (at most n bytes), its length in *len; -1 when the
 * bytes are not UTF-8 (then *len is 1). */
static long utf8_next(const unsigned char *s, size_t n, size_t *len)
{
	long cp;
	size_t k;

	*len = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xc2 && s[0] < 0xe0)
		k = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] < 0xf0)
		k = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] < 0xf5)
		k = 4, cp = s[0] & 0x07;
	else
		return -1;
	if (k > n)
		return -1;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	*len = k;
	return cp;
}

/* Columns a code point takes: 0 for combining marks, 2 for the wide East
 * Asian ranges and emoji, else 1. */
static int cp_width(long cp)
{
	if (cp < 0)
		return 1;
	if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0xfe00 && cp <= 0xfe0f))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) ||
	    (cp >= 0x1f300 && cp <= 0x1f64f) ||
	    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
	    (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

int tc_cli_text_width(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	int w = 0;

	while (i < len) {
		w += cp_width(utf8_next(u + i, len - i, &k));
		i += k;
	}
	return w;
}

void tc_cli_text_fit(char *s, int cols)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, n = strlen(s);
	int w = 0, cw;

	while (i < n) {
		cw = cp_width(utf8_next(u + i, n - i, &k));
		if (w + cw > cols)
			break;
		w += cw;
		i += k;
	}
	s[i] = '\0';
}

/* ---- a line built of pieces, cut to a width ---------------------------- */

struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
	int cols, max; /* max < 0: no limit */
	int colour;
};

static void line_init(struct line *l, int max, int colour)
{
	l->buf[0] = '\0';
	l->len = 0;
	l->cols = 0;
	l->max = max;
	l->colour = colour;
}

/* Append formatted text (in colour sgr, or NULL) as far as it fits. */
static void put(struct line *l, const char *sgr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void put(struct line *l, const char *sgr, const char *fmt, ...)
{
	char t[LINE_MAX_BYTES];
	va_list ap;
	size_t room, n;

	va_start(ap, fmt);
	vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	if (l->max >= 0)
		tc_cli_text_fit(t, l->max - l->cols);
	if (!*t)
		return;
	n = strlen(t);
	room = sizeof(l->buf) - l->len - 1;
	if (sgr && l->colour && n + strlen(sgr) + strlen(SGR_RESET) <= room) {
		l->len += (size_t)snprintf(l->buf + l->len, room + 1, "%s%s" SGR_RESET,
					   sgr, t);
	} else {
		if (n > room)
			n = room; /* only without a limit: bytes, not columns */
		memcpy(l->buf + l->len, t, n);
		l->len += n;
		l->buf[l->len] = '\0';
	}
	l->cols += tc_cli_text_width(t, strlen(t));
}

/* ---- the terminal ------------------------------------------------------ */

static void term_size(struct tc_cli_progress *p, int *cols, int *rows)
{
	struct winsize ws;
	const char *c;

	*cols = 80;
	*rows = 24;
	if (ioctl(p->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		*cols = ws.ws_col;
		if (ws.ws_row > 0)
			*rows = ws.ws_row;
	} else if ((c = getenv("COLUMNS")) && atoi(c) > 0) {
		*cols = atoi(c);
	}
}

/* Erase the block.  A terminal narrowed since it was drawn may have
 * rewrapped its lines (tmux, VTE and kitty do): a line of w columns then
 * takes ceil(w / cols) rows. */
static void erase_block(struct tc_cli_progress *p)
{
	int cols, rows, n = 0;

	if (!p->drawn)
		return;
	term_size(p, &cols, &rows);
	for (int i = 0; i < p->drawn; i++)
		n += p->widths[i] > cols ? (p->widths[i] + cols - 1) / cols : 1;
	fputs("\r\033[K", p->out);
	for (int i = 1; i < n; i++)
		fputs("\033[A\r\033[K", p->out);
	p->drawn = 0;
}

/* Put a line of the block on the screen (the cursor stays at its end). */
static void block_line(struct tc_cli_progress *p, const struct line *l)
{
	fprintf(p->out, "%s%s", p->drawn ? "\n" : "", l->buf);
	if (p->drawn < BLOCK_MAX)
		p->widths[p->drawn++] = l->cols;
}

static long long shown_total(const struct tc_progress_status *st)
{
	/* a counter never reads past its total (a retry or another
	 * process's change can leave the two a moment apart) */
	return st->total > st->done ? st->total : st->done;
}

/* The last step a trial will reach, from its parameters (epochs, steps). */
static double max_step(const char *params)
{
	static const char *keys[] = {"epochs", "num_epochs", "max_epochs",
				     "steps", "max_steps", "num_steps"};
	json_t *o;
	double v = 0;

	if (!params || !(o = json_loads(params, 0, NULL)))
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && v <= 0; i++) {
		json_t *x = json_object_get(o, keys[i]);

		if (json_is_number(x))
			v = json_number_value(x);
	}
	json_decref(o);
	return v > 0 ? v : 0;
}

/* A running trial's expected wall time from its progress, or 0. */
static double trial_expect(const struct tc_progress_trial *t)
{
	double m = max_step(t->params);

	if (!t->has_step || m <= 0 || t->step < 1 || t->elapsed <= 0)
		return 0;
	return t->elapsed * m / fmin(t->step, m);
}

/* Seconds left, or < 0 when unknown.  A new estimate is made only when
 * something is learnt (a trial ends, a running trial reaches a new step);
 * between, the same end time is shown, so the ETA only counts down. */
static double eta(struct tc_cli_progress *p, const struct tc_progress_status *st,
		  double now)
{
	long long left = shown_total(st) - st->done;
	double key = (double)st->done * 1e6 + (double)p->nwall * 1e3 +
		     (double)st->ntrials, per = 0, el = 0;
	size_t nexp = 0;
	int par;

	for (size_t i = 0; i < st->ntrials; i++)
		if (st->trials[i].has_step)
			key += st->trials[i].step * 7.0 + (double)i;
	if (left <= 0)
		return -1;
	if (key == p->eta_key && p->eta_end >= 0)
		return fmax(0, p->eta_end - now);
	if (key == p->eta_key)
		return -1;
	p->eta_key = key;
	p->eta_end = -1;
	if (p->nwall > 0) {
		per = p->sum_wall / (double)p->nwall;
	} else {
		for (size_t i = 0; i < st->ntrials; i++) {
			double x = trial_expect(&st->trials[i]);

			if (x > 0) {
				per += x;
				nexp++;
			}
		}
		if (!nexp)
			return -1;
		per /= (double)nexp;
	}
	for (size_t i = 0; i < st->ntrials; i++)
		el += st->trials[i].elapsed;
	if (st->ntrials)
		el /= (double)st->ntrials;
	par = st->parallel > 0 ? st->parallel : 1;
	if (par > left)
		par = (int)left;
	p->eta_end = now + fmax(0, per * (double)left / par - el);
	return p->eta_end - now;
}

static void draw_block(struct tc_cli_progress *p,
		       const struct tc_progress_status *st)
{
	int cols, rows, width, room;
	long long total = shown_total(st);
	double now = tc_mono(), left;
	struct line l;
	char d[32];
	size_t shown = 0;

	term_size(p, &cols, &rows);
	width = cols > 1 ? cols - 1 : 1;
	line_init(&l, width, p->colour);
	put(&l, SGR_BOLD, "[%lld/%lld]", st->done, total);
	put(&l, NULL, " running %lld", st->running);
	if (st->starting)
		put(&l, NULL, "  starting %lld", st->starting);
	put(&l, NULL, "  waiting %lld", st->queued);
	if (st->failed)
		put(&l, SGR_RED, "  failed %lld", st->failed);
	left = eta(p, st, now);
	if (left >= 0) {
		tc_fmt_duration(d, sizeof(d), left);
		put(&l, NULL, "  ETA %s", d);
	}
	if (st->has_best && st->metric)
		put(&l, SGR_GREEN, "  best %s=%.6g (%s)", st->metric, st->best,
		    st->best_id ? st->best_id : "?");
	block_line(p, &l);

	/* the running trials, as many as the screen holds (keeping rows for
	 * the lines above and one for "... more") */
	room = rows - 3;
	if (room > BLOCK_MAX - 2)
		room = BLOCK_MAX - 2;
	for (size_t i = 0; i < st->ntrials && (int)shown < room; i++) {
		const struct tc_progress_trial *t = &st->trials[i];
		char brief[512];

		if (i + 1 < st->ntrials && (int)shown + 1 == room)
			break; /* the last row says how many more */
		line_init(&l, width, p->colour);
		tc_fmt_duration(d, sizeof(d), t->elapsed);
		put(&l, SGR_YELLOW, "  %s", t->id);
		put(&l, NULL, " %7s", d);
		if (t->has_step) {
			double m = max_step(t->params);

			if (m > 0)
				put(&l, NULL, "  step %.6g/%.6g", t->step, m);
			else
				put(&l, NULL, "  step %.6g", t->step);
		}
		if (st->metric) {
			if (t->has_metric)
				put(&l, NULL, "  %s=%.6g", st->metric, t->metric);
			else
				put(&l, NULL, "  %s=-", st->metric);
		}
		tc_params_brief(t->params, brief, sizeof(brief));
		put(&l, SGR_DIM, "  %s", brief);
		block_line(p, &l);
		shown++;
	}
	if (shown < st->ntrials) {
		line_init(&l, width, p->colour);
		put(&l, SGR_DIM, "  ... %zu more running", st->ntrials - shown);
		block_line(p, &l);
	}
	p->last_draw = now;
	p->last_done = st->done;
	p->last_running = st->running;
	p->last_queued = st->queued;
}

/* ---- events ------------------------------------------------------------ */

static const char *state_colour(const char *state)
{
	if (!strcmp(state, "succeeded"))
		return SGR_GREEN;
	if (!strcmp(state, "failed") || !strcmp(state, "timed_out"))
		return SGR_RED;
	if (!strcmp(state, "retrying"))
		return SGR_YELLOW;
	return SGR_DIM;
}

/* The line of a trial's end: "[3/12] succeeded ID    1.2s  m=0.5  k=v". */
static void trial_line(struct tc_cli_progress *p, const struct tc_progress_event *ev,
		       struct line *l)
{
	const struct tc_progress_status *st = ev->status;
	long long total = shown_total(st);
	char w[32], brief[512];

	tc_fmt_duration(w, sizeof(w), ev->wall);
	put(l, NULL, "[%*lld/%lld] ", (int)snprintf(NULL, 0, "%lld", total),
	    st->done, total);
	put(l, state_colour(ev->state), "%-9s", ev->state);
	put(l, NULL, " %s %7s", ev->id, w);
	if (st->metric) {
		if (ev->has_metric)
			put(l, NULL, "  %s=%.6g", st->metric, ev->metric);
		else
			put(l, NULL, "  %s=-", st->metric);
	}
	tc_params_brief(ev->params, brief, sizeof(brief));
	put(l, NULL, "  %s", brief);
	if (ev->reason && *ev->reason) {
		char why[1024]; /* "cannot execute VALUE": from the spec */

		snprintf(why, sizeof(why), "%s", ev->reason);
		put(l, NULL, "  (%s)", tc_text_sanitize(why));
	}
}

static void note_line(const struct tc_progress_event *ev, struct line *l)
{
	if (ev->counted) {
		long long total = shown_total(ev->status);

		put(l, NULL, "[%*lld/%lld] ", (int)snprintf(NULL, 0, "%lld", total),
		    ev->status->done, total);
	}
	put(l, NULL, "%s", ev->text ? ev->text : "");
}

static void on_event(void *ctx, const struct tc_progress_event *ev)
{
	struct tc_cli_progress *p = ctx;
	const struct tc_progress_status *st = ev->status;
	struct line l;
	int cols, rows;

	/* the mean wall time of the trials that ended (not of an attempt
	 * to be retried, nor of a trial cancelled) */
	if (ev->kind == TC_PROGRESS_TRIAL && ev->wall > 0 &&
	    strcmp(ev->state, "cancelled") != 0 &&
	    strcmp(ev->state, "retrying") != 0) {
		p->sum_wall += ev->wall;
		p->nwall++;
	}
	if (!p->live) {
		if (ev->kind != TC_PROGRESS_TRIAL && ev->kind != TC_PROGRESS_NOTE)
			return;
		line_init(&l, -1, 0);
		if (ev->kind == TC_PROGRESS_TRIAL)
			trial_line(p, ev, &l);
		else
			note_line(ev, &l);
		fprintf(p->out, "%s\n", l.buf);
		fflush(p->out);
		return;
	}
	switch (ev->kind) {
	case TC_PROGRESS_STATUS:
		if (!winched && st->done == p->last_done &&
		    st->running == p->last_running &&
		    st->queued == p->last_queued &&
		    tc_mono() - p->last_draw < REDRAW_EVERY)
			return;
		break;
	case TC_PROGRESS_TRIAL:
	case TC_PROGRESS_NOTE:
		term_size(p, &cols, &rows);
		line_init(&l, cols > 1 ? cols - 1 : 1, p->colour);
		if (ev->kind == TC_PROGRESS_TRIAL)
			trial_line(p, ev, &l);
		else
			note_line(ev, &l);
		erase_block(p);
		fprintf(p->out, "%s\n", l.buf);
		break;
	case TC_PROGRESS_END:
		erase_block(p);
		fflush(p->out);
		return;
	}
	winched = 0;
	erase_block(p);
	draw_block(p, st);
	fflush(p->out);
}

/* ---- life -------------------------------------------------------------- */

struct tc_cli_progress *tc_cli_progress_new(FILE *out)
{
	struct tc_cli_progress *p = calloc(1, sizeof(*p));
	const char *term = getenv("TERM"), *nc = getenv("NO_COLOR");

	if (!p)
		return NULL;
	p->out = out;
	p->fd = fileno(out);
	p->live = p->fd >= 0 && isatty(p->fd);
	p->colour = p->live && term && *term && strcmp(term, "dumb") != 0 &&
		    !(nc && *nc);
	p->eta_end = -1;
	p->eta_key = -1;
	p->last_draw = -1e9;
	p->view.fn = on_event;
	p->view.ctx = p;
	if (p->live) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_winch;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		p->winch_set = sigaction(SIGWINCH, &sa, &p->old_winch) == 0;
	}
	return p;
}

void tc_cli_progress_free(struct tc_cli_progress *p)
{
	if (!p)
		return;
	if (p->winch_set)
		sigaction(SIGWINCH, &p->old_winch, NULL);
	free(p);
}

const struct tc_progress *tc_cli_progress_view(struct tc_cli_progress *p)
{
	return &p->view;
}
