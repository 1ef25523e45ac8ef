/*
 * arena.c — bump allocator (see arena.h).
 *
 * The arena is a singly linked list of chunks, newest first.  Allocations are
 * carved from the head chunk; when it is full a new chunk twice as big as
 * the last (capped at 1 MiB) is pushed.  A request larger than a quarter of
 * the default chunk gets a chunk of its own, linked behind the head so the
 * head's free space is not wasted.
 */
#include "util/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_FIRST_CHUNK 4096
#define ARENA_MAX_CHUNK (1u << 20)

struct chunk {
	struct chunk *next;
	size_t size; /* usable bytes in data */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct tc_arena {
	struct chunk *head;
	size_t next_size; /* size of the next ordinary chunk */
	size_t total;     /* bytes obtained from malloc */
};

static struct chunk *chunk_new(struct tc_arena *a, size_t size)
{
	struct chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	a->total += sizeof(*c) + size;
	return c;
}

struct tc_arena *tc_arena_new(void)
{
	struct tc_arena *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->next_size = ARENA_FIRST_CHUNK;
	return a;
}

void *tc_arena_alloc(struct tc_arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct chunk *c;
	size_t rounded;

	if (size > SIZE_MAX - align)
		return NULL;
	rounded = (size + align - 1) & ~(align - 1);
	if (rounded == 0)
		rounded = align;

	c = a->head;
	if (c && c->size - c->used >= rounded) {
		void *p = c->data + c->used;

		c->used += rounded;
		return p; /* chunks are zeroed when created */
	}

	if (rounded > ARENA_FIRST_CHUNK / 4 && rounded > a->next_size / 2) {
		/* A big block: its own chunk, behind the current head. */
		c = chunk_new(a, rounded);
		if (!c)
			return NULL;
		memset(c->data, 0, rounded);
		c->used = rounded;
		if (a->head) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			a->head = c;
		}
		return c->data;
	}

	c = chunk_new(a, a->next_size);
	if (!c)
		return NULL;
	memset(c->data, 0, c->size);
	if (a->next_size < ARENA_MAX_CHUNK)
		a->next_size *= 2;
	c->next = a->head;
	a->head = c;
	c->used = rounded;
	return c->data;
}

void *tc_arena_calloc(struct tc_arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return tc_arena_alloc(a, n * size);
}

char *tc_arena_strndup(struct tc_arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		return NULL;
	p = tc_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *tc_arena_strdup(struct tc_arena *a, const char *s)
{
	return tc_arena_strndup(a, s, strlen(s));
}

size_t tc_arena_size(const struct tc_arena *a)
{
	return a->total;
}

void tc_arena_free(struct tc_arena *a)
{
	struct chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}
