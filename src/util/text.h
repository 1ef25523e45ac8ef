/*
 * text.h — text that came from outside (a trial's output, a parameter
 * value, an API server's answer) made safe to print on a terminal.
 *
 * One rule, used by the tables of `status`/`results` and by every message
 * that carries such text: tab, CR and LF become a blank, any other control
 * character (below 0x20, and DEL) becomes '?'.  Other bytes, UTF-8
 * included, pass unchanged, so a replaced byte still takes one column.
 */
#ifndef TC_TEXT_H
#define TC_TEXT_H

/* The character to print for byte ch. */
static inline char tc_text_safe_char(unsigned char ch)
{
	if (ch == '\t' || ch == '\n' || ch == '\r')
		return ' ';
	if (ch < 0x20 || ch == 0x7f)
		return '?';
	return (char)ch;
}

/* Apply tc_text_safe_char to every byte of s, in place; returns s. */
char *tc_text_sanitize(char *s);

#endif
