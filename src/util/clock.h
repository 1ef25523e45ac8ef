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

#endif
