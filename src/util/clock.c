/*
 * clock.c — see clock.h.
 */
#include "util/clock.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

static double read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double tc_now(void)
{
	return read_clock(CLOCK_REALTIME);
}

double tc_mono(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

void tc_fmt_duration(char *buf, size_t len, double s)
{
	if (!isfinite(s) || s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
	else if (s < 3.6e15) /* whole hours fit a long long exactly */
		snprintf(buf, len, "%lldh%02dm", (long long)(s / 3600),
			 (int)(fmod(s, 3600) / 60));
	else
		snprintf(buf, len, "%.3gh", s / 3600);
}
