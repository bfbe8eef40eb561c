/* linebuf.c: line splitting with a length cap. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "proto/linebuf.h"

/* Empty buffer. */
void
linebuf_init(struct linebuf *lb, size_t max_line)
{
	memset(lb, 0, sizeof *lb);
	lb->max_line = max_line;
}

/* Free the storage; the buffer is empty afterwards. */
void
linebuf_free(struct linebuf *lb)
{
	free(lb->data);
	linebuf_init(lb, lb->max_line);
}

/* Append, compacting consumed bytes first. */
int
linebuf_append(struct linebuf *lb, const void *p, size_t n)
{
	size_t need;
	char *d;

	if (lb->off > 0) {
		memmove(lb->data, lb->data + lb->off, lb->len - lb->off);
		lb->len -= lb->off;
		lb->off = 0;
	}
	need = lb->len + n;
	if (need > lb->cap) {
		size_t cap = lb->cap ? lb->cap : 4096;

		while (cap < need)
			cap *= 2;
		if ((d = realloc(lb->data, cap)) == NULL)
			return -1;
		lb->data = d;
		lb->cap = cap;
	}
	memcpy(lb->data + lb->len, p, n);
	lb->len += n;
	return 0;
}

/* Next complete line, or 0, or -1 when the pending line is too long. */
int
linebuf_next(struct linebuf *lb, const char **line, size_t *len)
{
	const char *start = lb->data + lb->off, *nl;
	size_t avail = lb->len - lb->off;

	if (lb->overflow)
		return -1;
	nl = avail ? memchr(start, '\n', avail) : NULL;
	if (nl == NULL) {
		if (avail > lb->max_line + 1) { /* room for a '\r' */
			lb->overflow = 1;
			return -1;
		}
		return 0;
	}
	*line = start;
	*len = (size_t)(nl - start);
	if (*len > lb->max_line + 1) {
		lb->overflow = 1;
		return -1;
	}
	lb->off += *len + 1;
	return 1;
}
