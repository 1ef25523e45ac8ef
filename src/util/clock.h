/*
 * clock.h — time: wall clock for what is recorded, a monotonic clock for
 * what is measured, and durations as people read them.
 */
#ifndef TC_CLOCK_H
#define TC_CLOCK_H

#include <stddef.h>

/* Seconds since the epoch (CLOCK_REALTIME), with fractions. */
double tc_now(void);

/* Seconds on CLOCK_MONOTONIC: for intervals and deadlines. */
double tc_mono(void);

/* "12.3s", "3m04s", "1h02m"; "-" for a negative or non-finite value. */
void tc_fmt_duration(char *buf, size_t len, double s);

/* RFC 3339 ("2030-01-02T03:04:05.5Z", "...+02:00", fractions and offsets
 * kept) to seconds since the epoch.  0, or -1 when s is not one. */
int tc_parse_rfc3339(const char *s, double *out);

#endif
