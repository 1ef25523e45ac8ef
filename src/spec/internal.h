/*
 * internal.h — helpers shared by the files of src/spec/, not part of the
 * module's contract.
 */
#ifndef TC_SPEC_INTERNAL_H
#define TC_SPEC_INTERNAL_H

/* strtod in the C locale whatever setlocale() was called with, so "0.5"
 * reads the same in a German terminal.  Same contract as strtod. */
double tc_spec_strtod(const char *s, char **end);

#endif
