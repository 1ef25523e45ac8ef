/*
 * report_html.c — `trainctl report NAME --html FILE`: one self-contained
 * HTML file (inline CSS and SVG, a few lines of inline JavaScript to sort
 * the table, nothing fetched: its Content-Security-Policy forbids it) with
 * the experiment's provenance, its results table, learning curves per
 * metric, parameters against the metric (parallel coordinates and one
 * scatter plot a parameter) and the compute it took.
 *
 * Size is what limits it: a curve is an SVG path of small relative
 * integer moves in a 1000 x 1000 box (the box is scaled, the stroke is
 * not), so 1,000 trials x 100 steps x 5 metrics stay near 3 MB.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/query.h"
#include "store/series.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "util/json.h"

#define BEST_N 5 /* trials highlighted in the curves */
static const char *const best_colors[BEST_N] = {"#d62728", "#1f77b4",
						"#2ca02c", "#9467bd",
						"#ff7f0e"};

/* ---- the learning curves, gathered from the journal -------------------- */

struct curve {
	double *x, *y;
	size_t n, cap;
};

struct curves {
	struct tview *v;
	size_t nmetric;
	struct curve *c;         /* [row * nmetric + metric] */
	size_t last_metric;
};

/* Which of the view's metrics, or -1 (the step counters are the x axis). */
static long metric_for(struct curves *cs, const char *name)
{
	if (!strcmp(name, "step") || !strcmp(name, "epoch"))
		return -1;
	if (cs->last_metric < cs->nmetric &&
	    !strcmp(cs->v->metric_names[cs->last_metric], name))
		return (long)cs->last_metric;
	for (size_t m = 0; m < cs->nmetric; m++)
		if (!strcmp(cs->v->metric_names[m], name)) {
			cs->last_metric = m;
			return (long)m;
		}
	return -1;
}

static int on_value(void *ctx, const struct tc_series_row *r)
{
	struct curves *cs = ctx;
	long row, m;
	struct curve *c;

	if (r->special || !isfinite(r->value))
		return 0;
	if ((row = tview_find(cs->v, r->trial)) == -2)
		return TC_ERR_NOMEM;
	if (row < 0 || r->attempt != cs->v->rows[row].attempt) /* the last
								   attempt's */
		return 0;
	if ((m = metric_for(cs, r->name)) < 0)
		return 0;
	c = &cs->c[(size_t)row * cs->nmetric + (size_t)m];
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 16;
		double *nx = realloc(c->x, nc * sizeof(*nx));
		double *ny;

		if (!nx)
			return TC_ERR_NOMEM;
		c->x = nx;
		if (!(ny = realloc(c->y, nc * sizeof(*ny))))
			return TC_ERR_NOMEM;
		c->y = ny;
		c->cap = nc;
	}
	c->x[c->n] = r->has_step ? r->step : (double)c->n;
	c->y[c->n] = r->value;
	c->n++;
	return 0;
}

static void curves_free(struct curves *cs)
{
	if (cs->c)
		for (size_t i = 0; i < cs->v->n * cs->nmetric; i++) {
			free(cs->c[i].x);
			free(cs->c[i].y);
		}
	free(cs->c);
}

static int curves_load(struct tc_journal *j, struct tview *v,
		       struct curves *cs, struct tc_error *err)
{
	int rc;

	memset(cs, 0, sizeof(*cs));
	cs->v = v;
	cs->nmetric = v->nmetric;
	cs->c = calloc(v->n * cs->nmetric + 1, sizeof(*cs->c));
	if (!cs->c)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	if ((rc = tc_series_each(j, v->exp.name, NULL, 0, NULL, 0, on_value,
				 cs, err)) && !err->code)
		tc_error_set(err, rc, "out of memory"); /* (from on_value) */
	return rc;
}

/* ---- writing ------------------------------------------------------------ */

/* Text for HTML (element content and attribute values alike). */
static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* A number for people: 6 significant digits. */
static void num6(char *buf, size_t len, double v)
{
	snprintf(buf, len, "%.6g", v);
}

/* A scale from data to [0, 1000] (y: 1000 at the bottom). */
struct scale {
	double lo, hi;
	int log;
};

static void scale_fit(struct scale *s, const double *v, size_t n, int allow_log)
{
	double lo = INFINITY, hi = -INFINITY;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			continue;
		if (v[i] < lo)
			lo = v[i];
		if (v[i] > hi)
			hi = v[i];
	}
	if (!isfinite(lo)) {
		lo = 0;
		hi = 1;
	}
	s->log = allow_log && lo > 0 && hi / lo >= 100;
	if (s->log) {
		lo = log10(lo);
		hi = log10(hi);
	}
	if (hi - lo < 1e-12) {
		double pad = fabs(lo) > 0 ? fabs(lo) * 0.05 : 0.5;

		lo -= pad;
		hi += pad;
	}
	s->lo = lo;
	s->hi = hi;
}

static double scale_at(const struct scale *s, double v)
{
	double t = s->log ? log10(v) : v;

	return (t - s->lo) / (s->hi - s->lo) * 1000.0;
}

/* The value at position p of [0, 1000] (for tick labels). */
static double scale_value(const struct scale *s, double p)
{
	double t = s->lo + p / 1000.0 * (s->hi - s->lo);

	return s->log ? pow(10, t) : t;
}

/* Chart geometry: the 1000 x 1000 box is drawn in W x H px at (L, T). */
#define CW 640
#define CH 300
#define CL 64
#define CT 12
#define CB 34
#define CR 16

/* Up to about five round tick values inside the scale's range: 1, 2 or 5
 * times a power of ten apart, or the powers of ten of a log scale (the
 * ends when no round value falls inside).  Returns how many. */
static int ticks(const struct scale *s, double *out, int max)
{
	int n = 0;

	if (s->log) {
		for (double e = ceil(s->lo - 1e-9); e <= s->hi + 1e-9 && n < max; e++)
			out[n++] = pow(10, e);
	} else {
		double span = (s->hi - s->lo) / 4, mag, step, t;

		mag = pow(10, floor(log10(span)));
		step = span / mag >= 5 ? 5 * mag : span / mag >= 2 ? 2 * mag : mag;
		for (t = ceil(s->lo / step - 1e-9) * step;
		     t <= s->hi + step * 1e-9 && n < max; t += step)
			out[n++] = fabs(t) < step * 1e-9 ? 0 : t;
	}
	if (n < 2) {
		out[0] = scale_value(s, 0);
		out[1] = scale_value(s, 1000);
		n = 2;
	}
	return n;
}

static void axes(FILE *f, const struct scale *xs, const struct scale *ys,
		 const char *xlabel, const char *ylabel)
{
	char t[64];
	double tv[16];
	int n;

	fprintf(f, "<g class=\"axes\"><rect x=\"%d\" y=\"%d\" width=\"%d\" "
		   "height=\"%d\"/>",
		CL, CT, CW, CH);
	n = ticks(xs, tv, 8);
	for (int k = 0; k < n; k++) {
		double px = CL + scale_at(xs, tv[k]) / 1000.0 * CW;

		num6(t, sizeof(t), tv[k]);
		fprintf(f,
			"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
			"<text x=\"%.1f\" y=\"%d\" class=\"xt\">%s</text>",
			px, CT + CH, px, CT + CH + 4, px, CT + CH + 16, t);
	}
	n = ticks(ys, tv, 8);
	for (int k = 0; k < n; k++) {
		double py = CT + CH - scale_at(ys, tv[k]) / 1000.0 * CH;

		num6(t, sizeof(t), tv[k]);
		fprintf(f,
			"<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
			"<text x=\"%d\" y=\"%.1f\" class=\"yt\">%s</text>",
			CL - 4, py, CL + CW, py, CL - 6, py + 4, t);
	}
	fputs("<text class=\"xl\" x=\"", f);
	fprintf(f, "%d\" y=\"%d\">", CL + CW / 2, CT + CH + 30);
	esc(f, xlabel);
	fputs("</text><text class=\"yl\" transform=\"rotate(-90)\" x=\"", f);
	fprintf(f, "%d\" y=\"14\">", -(CT + CH / 2));
	esc(f, ylabel);
	if (ys->log)
		fputs(" (log scale)", f);
	fputs("</text></g>", f);
}

/* One curve as a path of relative integer moves in the 1000 x 1000 box. */
static void curve_path(FILE *f, const struct curve *c, const struct scale *xs,
		       const struct scale *ys, const char *cls,
		       const char *color, const char *title)
{
	long px = 0, py = 0;
	int started = 0;

	fprintf(f, "<path class=\"%s\"", cls);
	if (color)
		fprintf(f, " stroke=\"%s\"", color);
	fputs(" d=\"", f);
	for (size_t i = 0; i < c->n; i++) {
		long x, y;

		if (ys->log && c->y[i] <= 0)
			continue;
		x = lround(scale_at(xs, c->x[i]));
		y = 1000 - lround(scale_at(ys, c->y[i]));
		if (!started) {
			fprintf(f, "M%ld %ld", x, y);
			started = 1;
		} else if (x != px || y != py) {
			fprintf(f, "%s%ld %ld", i == 1 ? "l" : " ", x - px, y - py);
		}
		px = x;
		py = y;
	}
	if (!started)
		fputs("M0 0", f);
	if (c->n == 1)
		fputs("h0", f); /* a dot (round caps) */
	fputs("\">", f);
	if (title) {
		fputs("<title>", f);
		esc(f, title);
		fputs("</title>", f);
	}
	fputs("</path>", f);
}

static int curves_section(FILE *f, const struct tview *v,
			  const struct curves *cs)
{
	int any = 0;

	fputs("<section id=\"curves\"><h2>Learning curves</h2>\n"
	      "<p class=\"note\">Every trial's last attempt, faint; the "
	      "best few in colour.</p>\n<div class=\"charts\">",
	      f);
	for (size_t m = 0; m < cs->nmetric; m++) {
		struct scale xs, ys;
		double xlo = INFINITY, xhi = -INFINITY;
		size_t total = 0, k = 0, drawn = 0;
		double *all;

		size_t longest = 0;

		for (size_t i = 0; i < v->n; i++) {
			size_t n = cs->c[i * cs->nmetric + m].n;

			total += n;
			if (n > longest)
				longest = n;
		}
		/* a curve needs two points: a metric each trial reports once
		 * (a summary at the end) has its column in the table */
		if (longest < 2)
			continue;
		/* the scales: every point of this metric */
		if (!(all = malloc(total * sizeof(*all))))
			return -1;
		for (size_t i = 0; i < v->n; i++) {
			const struct curve *c = &cs->c[i * cs->nmetric + m];

			for (size_t p = 0; p < c->n; p++) {
				all[k++] = c->y[p];
				if (c->x[p] < xlo)
					xlo = c->x[p];
				if (c->x[p] > xhi)
					xhi = c->x[p];
			}
		}
		scale_fit(&ys, all, total, 1);
		free(all);
		{
			double xr[2] = {xlo, xhi};

			scale_fit(&xs, xr, 2, 0);
		}
		any = 1;
		fputs("<figure class=\"chart\"><figcaption>", f);
		esc(f, v->metric_names[m]);
		fputs("</figcaption>\n", f);
		fprintf(f,
			"<svg class=\"curves\" data-metric=\"%zu\" viewBox=\"0 0 %d %d\" "
			"width=\"100%%\" role=\"img\">",
			m, CL + CW + CR, CT + CH + CB);
		axes(f, &xs, &ys, "step", v->metric_names[m]);
		fprintf(f,
			"<svg x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"viewBox=\"0 0 1000 1000\" preserveAspectRatio=\"none\">"
			"<g class=\"all\">",
			CL, CT, CW, CH);
		for (size_t i = 0; i < v->n; i++) {
			const struct curve *c = &cs->c[i * cs->nmetric + m];

			if (c->n == 0)
				continue;
			curve_path(f, c, &xs, &ys, "curve", NULL, v->rows[i].id);
			fputc('\n', f);
		}
		fputs("</g><g class=\"best\">", f);
		/* the best last, on top */
		for (size_t i = 0; i < v->n && i < BEST_N && v->rows[i].has_rank; i++)
			drawn = i + 1;
		while (drawn-- > 0) {
			const struct curve *c = &cs->c[drawn * cs->nmetric + m];

			if (c->n > 0)
				curve_path(f, c, &xs, &ys, "best-curve",
					   best_colors[drawn], v->rows[drawn].id);
		}
		fputs("</g></svg></svg></figure>\n", f);
	}
	fputs("</div>", f);
	if (!any)
		fputs("<p>No metric was reported at more than one step.</p>", f);
	/* the legend of the highlighted trials */
	{
		size_t drawn = 0;

		fputs("<ul class=\"legend\">", f);
		for (size_t i = 0; i < v->n && drawn < BEST_N; i++) {
			if (!v->rows[i].has_rank)
				break;
			fprintf(f, "<li><span class=\"swatch\" style=\"background:%s\"></span>",
				best_colors[drawn++]);
			esc(f, v->rows[i].id);
			fputs("</li>", f);
		}
		fputs("</ul></section>\n", f);
	}
	return 0;
}

/* ---- parameters against the metric ------------------------------------- */

/* An axis for one parameter: numeric (a scale) or categorical (its
 * distinct values, evenly spaced, in order of appearance). */
struct paxis {
	const char *name;
	int numeric;
	struct scale s;
	char **cats;
	size_t ncat;
};

static double param_num(json_t *v, int *ok)
{
	*ok = json_is_number(v);
	return *ok ? json_number_value(v) : 0;
}

static int paxis_fit(struct paxis *a, const struct tview *v, const char *name)
{
	double *vals = calloc(v->n + 1, sizeof(*vals));
	size_t n = 0;
	int numeric = 1;

	memset(a, 0, sizeof(*a));
	a->name = name;
	if (!vals)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		json_t *p = json_object_get(v->rows[i].params, name);
		int ok;

		if (!p)
			continue;
		vals[n] = param_num(p, &ok);
		if (!ok)
			numeric = 0;
		n++;
	}
	a->numeric = numeric && n > 0;
	if (a->numeric) {
		scale_fit(&a->s, vals, n, 1);
	} else {
		a->cats = calloc(v->n + 1, sizeof(*a->cats));
		if (!a->cats) {
			free(vals);
			return -1;
		}
		for (size_t i = 0; i < v->n; i++) {
			char buf[256];
			size_t k;

			tc_fmt_param(json_object_get(v->rows[i].params, name), buf,
				 sizeof(buf));
			for (k = 0; k < a->ncat; k++)
				if (!strcmp(a->cats[k], buf))
					break;
			if (k == a->ncat && !(a->cats[a->ncat++] = strdup(buf))) {
				free(vals);
				return -1;
			}
		}
	}
	free(vals);
	return 0;
}

static void paxis_free(struct paxis *a)
{
	for (size_t k = 0; k < a->ncat; k++)
		free(a->cats[k]);
	free(a->cats);
}

/* The position of a row's value on the axis in [0, 1000], or -1. */
static double paxis_at(const struct paxis *a, json_t *params)
{
	json_t *p = json_object_get(params, a->name);

	if (a->numeric) {
		int ok;
		double x = param_num(p, &ok);

		if (!ok || (a->s.log && x <= 0))
			return -1;
		return scale_at(&a->s, x);
	} else {
		char buf[256];

		tc_fmt_param(p, buf, sizeof(buf));
		for (size_t k = 0; k < a->ncat; k++)
			if (!strcmp(a->cats[k], buf))
				return 1000.0 * ((double)k + 0.5) /
				       (double)a->ncat;
		return -1;
	}
}

/* Colour from worst (0) to best (1). */
static void heat(char *buf, size_t len, double t)
{
	/* grey-blue to orange-red */
	int r = (int)lround(90 + t * (214 - 90));
	int g = (int)lround(110 + t * (80 - 110));
	int b = (int)lround(160 + t * (30 - 160));

	snprintf(buf, len, "#%02x%02x%02x", r, g, b);
}

static int params_section(FILE *f, const struct tview *v, const char *metric,
			  int goal)
{
	const struct tc_spec *spec = v->spec;
	size_t na = spec->nparams;
	struct paxis *ax;
	struct scale ms;
	double *mv, mlo = INFINITY, mhi = -INFINITY;
	int *has;
	size_t nm = 0;
	int rc = -1;

	if (!metric || na == 0)
		return 0;
	ax = calloc(na + 1, sizeof(*ax));
	mv = calloc(v->n + 1, sizeof(*mv));
	has = calloc(v->n + 1, sizeof(*has));
	if (!ax || !mv || !has)
		goto out;
	for (size_t i = 0; i < v->n; i++) {
		const char *sp;

		has[i] = trow_metric(&v->rows[i], metric, &mv[i], &sp) &&
			 isfinite(mv[i]);
		if (has[i]) {
			nm++;
			if (mv[i] < mlo)
				mlo = mv[i];
			if (mv[i] > mhi)
				mhi = mv[i];
		}
	}
	if (nm == 0) {
		rc = 0;
		goto out;
	}
	for (size_t k = 0; k < na; k++)
		if (paxis_fit(&ax[k], v, spec->params[k].name))
			goto out;
	{
		double *vals = calloc(nm + 1, sizeof(*vals));
		size_t n = 0;

		if (!vals)
			goto out;
		for (size_t i = 0; i < v->n; i++)
			if (has[i])
				vals[n++] = mv[i];
		scale_fit(&ms, vals, n, 0);
		free(vals);
	}

	/* parallel coordinates: one axis a parameter, the metric last */
	{
		int W = 900, H = 320, L = 40, R = 90, T = 24, B = 36;
		double step = (double)(W - L - R) / (double)na;

		fputs("<section id=\"params\"><h2>Parameters and ", f);
		esc(f, metric);
		fputs("</h2>\n<figure class=\"chart\"><figcaption>Parallel "
		      "coordinates: each line a trial, coloured by ",
		      f);
		esc(f, metric);
		fputs(goal > 0 ? " (red: highest)" : " (red: lowest)", f);
		fputs("</figcaption>\n", f);
		fprintf(f,
			"<svg class=\"parallel\" viewBox=\"0 0 %d %d\" width=\"%d\" "
			"height=\"%d\" role=\"img\"><g class=\"lines\">",
			W, H, W, H);
		for (size_t i = 0; i < v->n; i++) {
			char col[16];
			double t;
			int first = 1;

			if (!has[i])
				continue;
			t = mhi > mlo ? (mv[i] - mlo) / (mhi - mlo) : 1;
			if (goal < 0)
				t = 1 - t;
			heat(col, sizeof(col), t);
			fprintf(f, "<path class=\"pc\" stroke=\"%s\" d=\"", col);
			for (size_t k = 0; k <= na; k++) {
				double p = k < na ? paxis_at(&ax[k], v->rows[i].params)
						  : scale_at(&ms, mv[i]);

				if (p < 0)
					continue;
				fprintf(f, "%s%.1f %.1f", first ? "M" : "L",
					L + step * (double)k,
					T + (H - T - B) * (1 - p / 1000.0));
				first = 0;
			}
			fputs("\"><title>", f);
			esc(f, v->rows[i].id);
			fputs("</title></path>", f);
		}
		fputs("</g><g class=\"axes\">", f);
		for (size_t k = 0; k <= na; k++) {
			double x = L + step * (double)k;
			const char *name = k < na ? ax[k].name : metric;
			char lo[64], hi[64];

			if (k < na && !ax[k].numeric) {
				/* each category at its place */
				lo[0] = hi[0] = '\0';
				for (size_t c = 0; c < ax[k].ncat; c++) {
					fprintf(f, "<text class=\"cat\" x=\"%.1f\" y=\"%.1f\">",
						x + 4, T + (H - T - B) * (1 - ((double)c + 0.5) / (double)ax[k].ncat) + 4);
					esc(f, ax[k].cats[c]);
					fputs("</text>", f);
				}
			} else {
				const struct scale *s = k < na ? &ax[k].s : &ms;

				num6(lo, sizeof(lo), scale_value(s, 0));
				num6(hi, sizeof(hi), scale_value(s, 1000));
			}
			fprintf(f,
				"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
				"<text class=\"an\" x=\"%.1f\" y=\"%d\">",
				x, T, x, H - B, x, T - 8);
			esc(f, name);
			fputs("</text>", f);
			if (lo[0]) { /* a scale's ends (categories are placed) */
				fprintf(f, "<text class=\"av\" x=\"%.1f\" y=\"%d\">",
					x, T + 2);
				esc(f, hi);
				fprintf(f, "</text><text class=\"av\" x=\"%.1f\" "
					   "y=\"%d\">",
					x, H - B + 14);
				esc(f, lo);
				fputs("</text>", f);
			}
		}
		fputs("</g></svg></figure>\n", f);
	}

	/* the metric against each parameter */
	fputs("<div class=\"scatters\">", f);
	for (size_t k = 0; k < na; k++) {
		int W = 300, H = 220, L = 52, T = 10, B = 40, R = 10;

		fputs("<figure class=\"scatter\"><figcaption>", f);
		esc(f, metric);
		fputs(" against ", f);
		esc(f, ax[k].name);
		fputs("</figcaption>", f);
		fprintf(f, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">",
			W, H, W, H);
		fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>",
			L, T, W - L - R, H - T - B);
		for (size_t i = 0; i < v->n; i++) {
			double px, py;

			if (!has[i] || (px = paxis_at(&ax[k], v->rows[i].params)) < 0)
				continue;
			py = scale_at(&ms, mv[i]);
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>",
				L + (W - L - R) * px / 1000.0,
				T + (H - T - B) * (1 - py / 1000.0));
			esc(f, v->rows[i].id);
			fputs("</title></circle>", f);
		}
		{
			char lo[64], hi[64];

			num6(lo, sizeof(lo), scale_value(&ms, 0));
			num6(hi, sizeof(hi), scale_value(&ms, 1000));
			fprintf(f, "<text class=\"yt\" x=\"%d\" y=\"%d\">%s</text>"
				   "<text class=\"yt\" x=\"%d\" y=\"%d\">%s</text>",
				L - 4, T + 10, hi, L - 4, H - B, lo);
			if (ax[k].numeric) {
				num6(lo, sizeof(lo), scale_value(&ax[k].s, 0));
				num6(hi, sizeof(hi), scale_value(&ax[k].s, 1000));
			} else {
				lo[0] = hi[0] = '\0';
				for (size_t c = 0; c < ax[k].ncat; c++) {
					fprintf(f, "<text class=\"xt\" x=\"%.1f\" y=\"%d\">",
						L + (W - L - R) * ((double)c + 0.5) / (double)ax[k].ncat,
						H - B + 16);
					esc(f, ax[k].cats[c]);
					fputs("</text>", f);
				}
			}
			if (lo[0]) {
				fprintf(f, "<text class=\"xt\" x=\"%d\" y=\"%d\">", L, H - B + 16);
				esc(f, lo);
				fprintf(f, "</text><text class=\"xt\" x=\"%d\" y=\"%d\">", W - R,
					H - B + 16);
				esc(f, hi);
				fputs("</text>", f);
			}
			fprintf(f, "<text class=\"xl\" x=\"%d\" y=\"%d\">",
				L + (W - L - R) / 2, H - 6);
			esc(f, ax[k].name);
			if (ax[k].numeric && ax[k].s.log)
				fputs(" (log scale)", f);
			fputs("</text>", f);
		}
		fputs("</svg></figure>", f);
	}
	fputs("</div></section>\n", f);
	rc = 0;
out:
	for (size_t k = 0; ax && k < na; k++)
		paxis_free(&ax[k]);
	free(ax);
	free(mv);
	free(has);
	return rc;
}

/* ---- the page ----------------------------------------------------------- */

static const char css[] =
	"body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
	"color:#222;margin:24px auto;max-width:1200px;padding:0 16px}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;"
	"border-bottom:1px solid #ddd;padding-bottom:4px}"
	"dl.prov{display:grid;grid-template-columns:max-content auto;gap:2px 16px;"
	"margin:8px 0}dl.prov dt{color:#666}dl.prov dd{margin:0;font-family:"
	"ui-monospace,monospace;overflow-wrap:anywhere}"
	".scroll{max-height:520px;overflow:auto;border:1px solid #ddd}"
	"table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
	"th,td{padding:3px 8px;text-align:right;white-space:nowrap;"
	"border-bottom:1px solid #eee}th{position:sticky;top:0;background:#f6f6f6;"
	"cursor:pointer;user-select:none}th.asc::after{content:' \\25B2'}"
	"th.desc::after{content:' \\25BC'}td.id,td.s{text-align:left;"
	"font-family:ui-monospace,monospace}tr.best td{background:#fff4e5}"
	"td.failed,td.timed_out{color:#b00}td.cancelled{color:#777}"
	".note{color:#666;margin:4px 0}figure{margin:12px 0}figcaption{font-weight:600;"
	"margin-bottom:4px}svg{max-width:100%;height:auto}"
	".axes rect,.frame{fill:none;stroke:#999}.axes line{stroke:#999}"
	".axes line.grid{stroke:#eee}.charts{display:flex;flex-wrap:wrap;gap:0 24px}"
	".charts figure{flex:1 1 520px;max-width:720px}"
	"text{font-size:11px;fill:#444}.xt{text-anchor:middle}.yt{text-anchor:end}"
	".cat{fill:#444}.xl,.yl,.an{text-anchor:middle;font-size:12px;fill:#222}.av{text-anchor:"
	"middle;fill:#666}"
	"path.curve{fill:none;stroke:#4a6fa5;stroke-opacity:.18;stroke-width:1;"
	"vector-effect:non-scaling-stroke;stroke-linecap:round}"
	"path.best-curve{fill:none;stroke-width:2.2;vector-effect:non-scaling-stroke;"
	"stroke-linecap:round}"
	"path.pc{fill:none;stroke-opacity:.45;stroke-width:1.2}"
	".parallel .axes line{stroke:#333}"
	".scatters{display:flex;flex-wrap:wrap;gap:8px}circle{fill:#4a6fa5;"
	"fill-opacity:.55}"
	".legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px;"
	"font-family:ui-monospace,monospace}.swatch{display:inline-block;width:14px;"
	"height:4px;margin-right:6px;vertical-align:middle}"
	"@media print{body{margin:0;max-width:none;font-size:10pt}.scroll{max-height:"
	"none;overflow:visible;border:0}th{position:static;cursor:auto}"
	"section,figure{break-inside:avoid}h2{break-after:avoid}}"
	"h3{font-size:14px;margin:16px 0 4px}";

/* Click a column's header to sort by it (numbers as numbers, empty last). */
static const char js[] =
	"(function(){\n"
	"function key(td){var v=td.getAttribute('data-v');"
	"return v===null?td.textContent:v;}\n"
	"document.querySelectorAll('table.sortable').forEach(function(t){\n"
	" var ths=t.tHead.rows[0].cells;\n"
	" Array.prototype.forEach.call(ths,function(th,i){\n"
	"  th.addEventListener('click',function(){\n"
	"   var asc=!th.classList.contains('asc');\n"
	"   Array.prototype.forEach.call(ths,function(h){h.classList.remove('asc','desc');});\n"
	"   th.classList.add(asc?'asc':'desc');\n"
	"   var tb=t.tBodies[0],rows=Array.prototype.slice.call(tb.rows);\n"
	"   rows.sort(function(a,b){\n"
	"    var x=key(a.cells[i]),y=key(b.cells[i]);\n"
	"    if(x===''||y==='')return x===y?0:(x===''?1:-1);\n"
	"    var nx=Number(x),ny=Number(y),c;\n"
	"    if(!isNaN(nx)&&!isNaN(ny))c=nx-ny;else c=x<y?-1:x>y?1:0;\n"
	"    return asc?c:-c;});\n"
	"   rows.forEach(function(r){tb.appendChild(r);});});});});\n"
	"})();\n";

static void prov_row(FILE *f, const char *k, const char *v)
{
	fputs("<dt>", f);
	esc(f, k);
	fputs("</dt><dd>", f);
	esc(f, v && *v ? v : "-");
	fputs("</dd>", f);
}

static void provenance(FILE *f, const struct tview *v)
{
	char t[64], buf[256];
	time_t c = (time_t)v->exp.created_at;
	struct tm tm;

	fputs("<section id=\"provenance\"><dl class=\"prov\">", f);
	prov_row(f, "experiment", v->exp.name);
	prov_row(f, "state", v->exp.state);
	prov_row(f, "backend", v->exp.backend ? v->exp.backend : "local");
	prov_row(f, "spec", v->exp.spec_path);
	prov_row(f, "spec sha256", v->exp.spec_hash);
	if (v->exp.git_commit) {
		snprintf(buf, sizeof(buf), "%s%s", v->exp.git_commit,
			 v->exp.git_dirty > 0 ? " (with uncommitted changes)" : "");
		prov_row(f, "git commit", buf);
	}
	gmtime_r(&c, &tm);
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S UTC", &tm);
	prov_row(f, "created", t);
	prov_row(f, "host", v->exp.host);
	prov_row(f, "trainctl", v->exp.tc_version);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v->exp.seed);
	prov_row(f, "seed", buf);
	fputs("</dl></section>\n", f);
}

static void results_table(FILE *f, const struct tview *v, const char *metric)
{
	const struct tc_spec *spec = v->spec;

	fputs("<section id=\"results\"><h2>Results</h2>\n", f);
	if (metric) {
		fputs("<p class=\"note\">Ranked by ", f);
		esc(f, metric);
		fputs("; click a column to sort.</p>\n", f);
	}
	fputs("<div class=\"scroll\"><table id=\"results-table\" class=\"sortable\">"
	      "<thead><tr><th>rank</th><th>#</th><th>trial</th><th>state</th>",
	      f);
	for (size_t k = 0; k < spec->nparams; k++) {
		fputs("<th>", f);
		esc(f, spec->params[k].name);
		fputs("</th>", f);
	}
	for (size_t m = 0; m < v->nmetric; m++) {
		fputs("<th class=\"metric\">", f);
		esc(f, v->metric_keys[m]);
		fputs("</th>", f);
	}
	fputs("<th>attempts</th><th>wall s</th></tr></thead><tbody>\n", f);
	for (size_t i = 0; i < v->n; i++) {
		const struct trow *r = &v->rows[i];
		char b[64];

		fprintf(f, "<tr%s data-trial=\"%s\"><td>", i < BEST_N && r->has_rank
								   ? " class=\"best\""
								   : "",
			r->id);
		if (r->has_rank)
			fprintf(f, "%zu", i + 1);
		fprintf(f, "</td><td>%lld</td><td class=\"id\">%s</td><td class=\"s %s\">%s</td>",
			r->idx, r->id, tc_state_name(r->state),
			tc_state_name(r->state));
		for (size_t k = 0; k < spec->nparams; k++) {
			json_t *p = json_object_get(r->params, spec->params[k].name);

			tc_fmt_param(p, b, sizeof(b));
			fputs(json_is_string(p) ? "<td class=\"s\">" : "<td>", f);
			esc(f, b);
			fputs("</td>", f);
		}
		for (size_t m = 0; m < v->nmetric; m++) {
			double x;
			const char *sp;
			char exact[40];

			if (!trow_metric(r, v->metric_names[m], &x, &sp) ||
			    !json_object_get(r->metrics, v->metric_names[m])) {
				fputs("<td data-v=\"\"></td>", f);
				continue;
			}
			if (sp) {
				fputs("<td data-v=\"", f);
				esc(f, sp);
				fputs("\">", f);
				esc(f, sp);
				fputs("</td>", f);
				continue;
			}
			tc_double_text(exact, sizeof(exact), x, 1);
			num6(b, sizeof(b), x);
			fprintf(f, "<td data-v=\"%s\">%s</td>", exact, b);
		}
		num6(b, sizeof(b), r->total_wall);
		fprintf(f, "<td>%d</td><td data-v=\"%.3f\">%s</td></tr>\n",
			r->attempt, r->total_wall, b);
	}
	fputs("</tbody></table></div></section>\n", f);
}

static void compute_table(FILE *f, const struct tview *v)
{
	struct tview_totals tt;
	int gpu = v->spec->resources.gpu;
	char b[64];

	tview_totals(v, &tt);
	fputs("<section id=\"compute\"><h2>Compute</h2><table id=\"compute-table\">"
	      "<thead><tr><th>trials</th>",
	      f);
	for (int s = 0; s < TC_ST_COUNT; s++)
		fprintf(f, "<th>%s</th>", tc_state_name(s));
	fputs("<th>wall hours</th><th>CPU hours</th><th>GPU hours</th>"
	      "<th>pending hours</th><th>peak RSS MiB</th><th>elapsed</th>"
	      "</tr></thead><tbody><tr>",
	      f);
	fprintf(f, "<td>%zu</td>", v->n);
	for (int s = 0; s < TC_ST_COUNT; s++)
		fprintf(f, "<td>%lld</td>", tt.counts[s]);
	tc_fmt_duration(b, sizeof(b), tt.last > tt.first ? tt.last - tt.first : 0);
	fprintf(f, "<td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td>"
		   "<td>%.1f</td><td>%s</td>",
		tt.wall / 3600, tt.cpu / 3600, gpu * tt.wall / 3600,
		tt.pending / 3600, tt.peak_rss_kb / 1024.0, b);
	fputs("</tr></tbody></table>\n", f);
	/* by each parameter with few values, as papers print them (per
	 * model, per dataset) */
	for (size_t k = 0; k < v->spec->nparams; k++) {
		const char *name = v->spec->params[k].name;
		const char *by[1] = {name};
		struct tgroup *g = NULL;
		size_t ng = 0;
		struct tc_error err;

		tc_error_clear(&err);
		if (tview_group(v, by, 1, &g, &ng, &err) || ng < 2 || ng > 12) {
			tview_groups_free(g, ng);
			continue;
		}
		fputs("<h3>By ", f);
		esc(f, name);
		fputs("</h3><table class=\"compute-by\"><thead><tr><th>", f);
		esc(f, name);
		fputs("</th><th>trials</th><th>succeeded</th><th>failed</th>"
		      "<th>wall hours</th><th>GPU hours</th><th>peak RSS MiB</th>"
		      "</tr></thead><tbody>",
		      f);
		for (size_t gi = 0; gi < ng; gi++) {
			double gw = 0;
			long long gp = 0;
			size_t ok = 0, bad = 0;

			for (size_t i = 0; i < g[gi].n; i++) {
				const struct trow *r = &v->rows[g[gi].rows[i]];

				gw += r->total_wall;
				if (r->maxrss_kb > gp)
					gp = r->maxrss_kb;
				ok += r->state == TC_ST_SUCCEEDED;
				bad += r->state == TC_ST_FAILED ||
				       r->state == TC_ST_TIMED_OUT;
			}
			tc_fmt_param(json_object_get(v->rows[g[gi].rows[0]].params,
						     name),
				     b, sizeof(b));
			fputs("<tr><td class=\"s\">", f);
			esc(f, b);
			fprintf(f, "</td><td>%zu</td><td>%zu</td><td>%zu</td>"
				   "<td>%.3f</td><td>%.3f</td><td>%.1f</td></tr>",
				g[gi].n, ok, bad, gw / 3600, gpu * gw / 3600,
				gp / 1024.0);
		}
		fputs("</tbody></table>\n", f);
		tview_groups_free(g, ng);
	}
	fputs("</section>\n", f);
}

static int write_page(FILE *f, struct tc_journal *j, struct tview *v,
		      const char *metric, int goal, struct tc_error *err)
{
	struct curves cs;
	int rc;

	if ((rc = curves_load(j, v, &cs, err))) {
		curves_free(&cs);
		return rc;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	      "'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
	      "img-src data:\">\n<meta name=\"viewport\" "
	      "content=\"width=device-width,initial-scale=1\">\n<title>",
	      f);
	esc(f, v->exp.name);
	fputs(" — trainctl report</title>\n<style>", f);
	fputs(css, f);
	fputs("</style></head><body>\n<h1>", f);
	esc(f, v->exp.name);
	fputs("</h1>\n", f);
	provenance(f, v);
	results_table(f, v, metric);
	if (curves_section(f, v, &cs) || params_section(f, v, metric, goal)) {
		curves_free(&cs);
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	}
	compute_table(f, v);
	fputs("<script>", f);
	fputs(js, f);
	fputs("</script>\n</body></html>\n", f);
	curves_free(&cs);
	return 0;
}

int tc_report_html(struct tc_journal *j, struct tview *v, const char *metric,
		   int goal, const char *path, struct tc_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f)
		return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	rc = write_page(f, j, v, metric, goal, err);
	if (fclose(f) != 0 && !rc)
		rc = tc_error_set(err, TC_ERR_NOMEM, "out of memory");
	/* all or nothing: the file appears whole, or not at all */
	if (!rc && tc_write_file_atomic(path, buf, len, 0, 0644) != 0)
		rc = tc_error_set(err, TC_ERR_IO, "cannot write %s: %s", path,
				  strerror(errno));
	free(buf);
	return rc;
}
