/* textbuf.h: a growing text buffer, always NUL-terminated. */
#ifndef PROTO_TEXTBUF_H
#define PROTO_TEXTBUF_H

#include <stddef.h>
#include <string.h>

/* Zeroed, it is empty.  Once an append fails (no memory, or text a
 * writer cannot write) err is set and every later append does nothing,
 * so a writer checks once, at the end. */
struct textbuf {
	char *p;    /* the text and a NUL (NULL while nothing was written) */
	size_t len; /* bytes of text */
	size_t cap; /* bytes allocated */
	int err;    /* an append failed */
};

/* Make room for n more bytes and a NUL: 0, or -1 (err set). */
int textbuf_reserve(struct textbuf *, size_t n);
/* Cut the text back to len bytes. */
void textbuf_truncate(struct textbuf *, size_t len);
/* Free the text and empty the buffer. */
void textbuf_clear(struct textbuf *);

/* The appends are inline: writers make many small ones, and only growth
 * needs a call. */

/* Append n bytes. */
static inline void
textbuf_put(struct textbuf *b, const char *s, size_t n)
{
	if ((b->err || b->cap - b->len <= n) && textbuf_reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append a NUL-terminated string. */
static inline void
textbuf_puts(struct textbuf *b, const char *s)
{
	textbuf_put(b, s, strlen(s));
}

/* Append one character. */
static inline void
textbuf_putc(struct textbuf *b, char c)
{
	if ((b->err || b->cap - b->len <= 1) && textbuf_reserve(b, 1) != 0)
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

#endif
