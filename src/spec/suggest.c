/*
 * suggest.c — "did you mean 'X'?" for unknown keys, parameter names and
 * enumerated values.
 *
 * The distance is Levenshtein with adjacent transpositions counted as one
 * edit (optimal string alignment), so "nmae" is one edit from "name".  A
 * candidate is suggested when it is within max(2, len/3) edits and the edit
 * does not rewrite the whole word (so "x" does not suggest "lr"), or when the
 * word is a prefix of it at least 4 characters long ("param" suggests
 * "parameters").  Ties go to the earlier candidate.
 */
#include "spec/spec.h"

#include <stdlib.h>
#include <string.h>

#define SUGGEST_MAX_LEN 64 /* longer words get no suggestion */

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* Optimal string alignment distance of a (n bytes) and b (m bytes). */
static size_t osa_distance(const char *a, size_t n, const char *b, size_t m)
{
	/* three rows: i-2, i-1, i */
	size_t rows[3][SUGGEST_MAX_LEN + 1];
	size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];

	for (size_t j = 0; j <= m; j++)
		prev[j] = j;
	for (size_t i = 1; i <= n; i++) {
		size_t *t;

		cur[0] = i;
		for (size_t j = 1; j <= m; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;

			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1,
				      prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < cur[j])
				cur[j] = pp[j - 2] + 1;
		}
		t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	return prev[m];
}

const char *tc_did_you_mean(const char *word, const char *const *candidates,
			    size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	size_t wlen;

	if (!word)
		return NULL;
	wlen = strlen(word);
	if (wlen == 0 || wlen > SUGGEST_MAX_LEN)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *c = candidates[i];
		size_t clen, d, limit;

		if (!c)
			continue;
		clen = strlen(c);
		if (clen == 0 || clen > SUGGEST_MAX_LEN || strcmp(c, word) == 0)
			continue;
		if (wlen >= 4 && clen > wlen && strncmp(c, word, wlen) == 0) {
			d = clen - wlen; /* a prefix: rank it by what is missing */
			if (best_d > 2 && d < best_d) {
				best = c;
				best_d = d < 2 ? d : 2;
			}
			continue;
		}
		limit = wlen / 3 > 2 ? wlen / 3 : 2;
		if ((clen > wlen ? clen - wlen : wlen - clen) > limit)
			continue;
		d = osa_distance(word, wlen, c, clen);
		if (d > limit || d >= wlen || d >= clen)
			continue;
		if (d < best_d) {
			best = c;
			best_d = d;
		}
	}
	return best;
}
