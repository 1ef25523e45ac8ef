/*
 * arena.h — a bump allocator for data that lives and dies together.
 *
 * A parsed spec is hundreds of small strings and arrays with one lifetime:
 * they are carved out of an arena and released all at once by
 * tc_arena_free(), so no part of them is ever freed on its own and an error
 * half-way through a parse cannot leak.
 *
 * Memory handed out is zeroed and aligned for any type (max_align_t).  Every
 * function returns NULL when memory runs out (or a size overflows); the
 * arena itself stays valid and can still be freed.
 */
#ifndef TC_ARENA_H
#define TC_ARENA_H

#include <stddef.h>

struct tc_arena;

/* A new, empty arena, or NULL when out of memory. */
struct tc_arena *tc_arena_new(void);

/* size zeroed bytes (size 0 gives a valid, unique pointer). */
void *tc_arena_alloc(struct tc_arena *a, size_t size);

/* n * size zeroed bytes; NULL when the product overflows. */
void *tc_arena_calloc(struct tc_arena *a, size_t n, size_t size);

/* Copies of s, and of the first n bytes of s (which need not be
 * NUL-terminated), with a terminating NUL. */
char *tc_arena_strdup(struct tc_arena *a, const char *s);
char *tc_arena_strndup(struct tc_arena *a, const char *s, size_t n);

/* Bytes obtained from malloc so far (for tests and limits). */
size_t tc_arena_size(const struct tc_arena *a);

/* Release the arena and everything allocated from it.  NULL is a no-op. */
void tc_arena_free(struct tc_arena *a);

#endif
