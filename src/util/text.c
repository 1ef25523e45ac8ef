/*
 * text.c — see text.h.
 */
#include "util/text.h"

char *tc_text_sanitize(char *s)
{
	for (char *p = s; p && *p; p++)
		*p = tc_text_safe_char((unsigned char)*p);
	return s;
}
