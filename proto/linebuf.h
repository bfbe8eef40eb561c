/*
 * linebuf.h: a growable byte buffer that splits input into lines, with a
 * cap on line length, for peers that do not use libevent (libinstantd).
 */
#ifndef PROTO_LINEBUF_H
#define PROTO_LINEBUF_H

#include <stddef.h>

struct linebuf {
	char *data;
	size_t len;      /* bytes held */
	size_t off;      /* start of the unread part */
	size_t cap;      /* allocated */
	size_t max_line; /* longest line accepted, without '\n' */
	int overflow;    /* set once a line exceeded max_line */
};

/* Initialise an empty buffer accepting lines up to max_line bytes. */
void linebuf_init(struct linebuf *, size_t max_line);

/* Release the buffer's memory. */
void linebuf_free(struct linebuf *);

/* Append bytes: 0, or -1 on allocation failure. */
int linebuf_append(struct linebuf *, const void *, size_t);

/*
 * Take the next complete line: 1 with *line and *len pointing into the buffer
 * (valid until the next append; newline excluded), 0 if no complete line is
 * held, -1 if the pending line is longer than max_line (overflow is set).
 */
int linebuf_next(struct linebuf *, const char **line, size_t *len);

#endif
