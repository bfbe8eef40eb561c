/*
 * textbuf.c: a growing text buffer, always NUL-terminated.  The JSON
 * writer, the evaluator's result text and the store's canonical values
 * all append into one.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/textbuf.h"

/* Make room for n more bytes and a NUL. */
int
textbuf_reserve(struct textbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->err)
		return -1;
	if (b->cap > b->len && n < b->cap - b->len)
		return 0;
	if (n > SIZE_MAX / 2 - b->len) {
		b->err = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap <= b->len + n)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->err = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Cut the text back to len bytes. */
void
textbuf_truncate(struct textbuf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->p[len] = '\0';
	}
}

/* Free the text and empty the buffer. */
void
textbuf_clear(struct textbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}
