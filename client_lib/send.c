/*
 * send.c: requests into the write queue, and the queue onto the socket.
 *
 * A request is queued whole or not at all: room is reserved first, so a
 * failed allocation never leaves half a line that would corrupt the
 * stream.  Sending never runs callbacks: a write error leaves the bytes
 * queued and is reported by the next instantd_dispatch(), which meets the
 * same error (or the hang-up) again.
 *
 * A request without an id gets the next integer id.  Rather than copying
 * the caller's object to add a member, the id is written in front of the
 * object's own compact encoding: {"id":N, followed by the rest after '{'.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_lib/client-int.h"

/* Make room for n more bytes in the write queue. */
static int
send_reserve(struct instantd_client *c, size_t n)
{
	size_t need, cap;
	char *p;

	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (n > SIZE_MAX - c->out_len)
		return -1;
	need = c->out_len + n;
	if (need <= c->out_cap)
		return 0;
	cap = c->out_cap != 0 ? c->out_cap : 4096;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(c->out, cap)) == NULL)
		return -1;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

/* Write what the socket takes; 0, or -1 with errno on a real error. */
static int
send_write(struct instantd_client *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1)
			return -1;
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	return 0;
}

/* Flush for instantd_dispatch(): a write error fails the connection. */
int
send_flush(struct instantd_client *c)
{
	if (send_write(c) != 0)
		return client_fail(c, INSTANTD_ERR_IO, "write: %s",
		    strerror(errno));
	client_notify(c);
	return INSTANTD_OK;
}

/*
 * Queue prefix then body (each may be empty) as one unit, link p as the
 * request's pending entry, and try to write.
 */
static int
send_queue(struct instantd_client *c, const char *prefix, size_t plen,
    const char *body, size_t blen, struct client_pending *p)
{
	if (plen > SIZE_MAX - blen || send_reserve(c, plen + blen) != 0)
		return client_err(c, INSTANTD_ERR_NOMEM, "out of memory");
	memcpy(c->out + c->out_len, prefix, plen);
	memcpy(c->out + c->out_len + plen, body, blen);
	c->out_len += plen + blen;
	client_pending_push(c, p);
	(void)send_write(c); /* an error shows again in dispatch */
	client_notify(c);
	return INSTANTD_OK;
}

/* Queue an encoded object, with an id in front if it has none. */
static int
send_object(struct instantd_client *c, const json_t *req, instantd_reply_cb cb,
    void *arg)
{
	const json_t *given = json_object_get(req, "id");
	struct client_pending *p = NULL;
	char prefix[40] = "", *line = NULL;
	size_t len, skip = 0;
	json_t *id;
	int r = INSTANTD_ERR_NOMEM;

	id = given != NULL ? json_deep_copy(given) : json_integer(c->next_id);
	if (id == NULL || (p = client_pending_create(id, cb, arg)) == NULL) {
		json_decref(id);
		goto out;
	}
	if ((line = proto_encode(req, &len)) == NULL)
		goto out;
	if (given == NULL) {
		/* line is "{...}\n": the body is what follows its '{'. */
		snprintf(prefix, sizeof prefix, "{\"id\":%" JSON_INTEGER_FORMAT
		    "%s", c->next_id, line[1] == '}' ? "" : ",");
		skip = 1;
	}
	if ((r = send_queue(c, prefix, strlen(prefix), line + skip,
	    len - skip, p)) != INSTANTD_OK)
		goto out;
	p = NULL;
	if (given == NULL)
		c->next_id++;
out:
	client_pending_free(p);
	free(line);
	if (r == INSTANTD_ERR_NOMEM)
		client_err(c, r, "out of memory");
	return r;
}

/* Send a request object. */
int
instantd_send(instantd_client *c, const json_t *req, instantd_reply_cb cb,
    void *arg)
{
	int r;

	if (c == NULL)
		return INSTANTD_ERR_INVALID;
	if (!json_is_object(req))
		return client_err(c, INSTANTD_ERR_INVALID,
		    "a request must be a JSON object");
	if (c->fd == -1)
		return client_err(c, INSTANTD_ERR_CLOSED, "not connected");
	client_enter(c);
	r = send_object(c, req, cb, arg);
	return client_leave(c, r);
}

/* Whether line[0..len) holds only blanks. */
static int
send_blank(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (strchr(" \t\r", line[i]) == NULL)
			return 0;
	}
	return 1;
}

/* Send one raw line. */
int
instantd_send_line(instantd_client *c, const char *line, size_t len,
    instantd_reply_cb cb, void *arg)
{
	struct client_pending *p;
	int r;

	if (c == NULL)
		return INSTANTD_ERR_INVALID;
	if (line == NULL)
		return client_err(c, INSTANTD_ERR_INVALID, "no line");
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (memchr(line, '\n', len) != NULL || send_blank(line, len))
		return client_err(c, INSTANTD_ERR_INVALID,
		    "a request line must be one non-blank line");
	if (c->fd == -1)
		return client_err(c, INSTANTD_ERR_CLOSED, "not connected");
	if ((p = client_pending_create(NULL, cb, arg)) == NULL)
		return client_err(c, INSTANTD_ERR_NOMEM, "out of memory");
	client_enter(c);
	if ((r = send_queue(c, line, len, "\n", 1, p)) != INSTANTD_OK)
		client_pending_free(p);
	return client_leave(c, r);
}
