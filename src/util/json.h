/*
 * json.h — writing JSON for people and programs: jansson encodes every
 * scalar, this module lays out the structure so that each real gets the
 * shortest text that reads back as the same double (jansson has one
 * precision for a whole document: 17 digits print 0.1 as
 * 0.10000000000000001, 15 lose what a metric carried).
 */
#ifndef TC_JSON_H
#define TC_JSON_H

#include <stdio.h>

#include <jansson.h>

/* Write v to f: object keys in insertion order, `indent` spaces a level
 * (0: compact, on one line), as jansson's JSON_INDENT lays it out.
 * 0, or -1 when out of memory (f's errors are the caller's, via ferror). */
int tc_json_write(FILE *f, const json_t *v, int indent);

/* The fewest significant digits, from min up to 17, with which "%.*g"
 * gives back d exactly: the one rule for writing a double in full and
 * short.  (min 6 keeps "1000" from becoming "1e+03"; trial ids hash text
 * written that way, so callers keep the min they had.) */
int tc_double_digits(double d, int min);

/* The same, and that text itself in buf (len >= 32): "%.*g" with the
 * digits returned. */
int tc_double_text(char *buf, size_t len, double d, int min);

#endif
