/*
 * dispatch.c: read from the daemon, split lines, route replies and events.
 *
 * Reading is non-blocking and bounded per call (DISPATCH_BUDGET reads) so
 * that a chatty daemon cannot starve the caller's main loop; the fd stays
 * readable, so a level-triggered loop calls again.  Complete lines are
 * handled after each read; a partial line waits in the line buffer.  A
 * line is scanned for its end only in the bytes just read, so a 64 MiB
 * result arriving in small reads costs linear, not quadratic, time.
 *
 * A line with "event" is an event; a line with "ok" is the reply to the
 * oldest waiting request (the daemon answers in order).  A reply whose id
 * is not null and differs from the request's means the two sides disagree
 * about the stream, which is fatal, as are undecodable lines and lines
 * over the cap.  When the daemon hangs up, every line it sent before is
 * still delivered, then INSTANTD_ERR_CLOSED is returned.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <string.h>

#include "client_lib/client-int.h"

#define DISPATCH_CHUNK 16384
#define DISPATCH_BUDGET 256

/* Names of the known events, by kind. */
static const char *const dispatch_event_names[CLIENT_NEVENTS] = {
	[INSTANTD_EVENT_RESULT] = "result",
	[INSTANTD_EVENT_TX] = "tx",
	[INSTANTD_EVENT_CONNECTION] = "connection",
	[INSTANTD_EVENT_OVERFLOW] = "overflow",
};

/* Whether the run that started at generation gen must stop. */
static int
dispatch_stopped(const struct instantd_client *c, unsigned int gen)
{
	return c->dead || c->fd == -1 || c->gen != gen;
}

/* Run one event callback if set. */
static void
dispatch_event_cb(struct instantd_client *c, enum instantd_event kind,
    const char *name, json_t *msg)
{
	struct client_handler *h = &c->events[kind];

	if (h->cb != NULL)
		h->cb(c, name, msg, h->arg);
}

/* Give an event to its kind's callback, then to the ANY callback. */
static void
dispatch_event(struct instantd_client *c, const char *name, json_t *msg)
{
	unsigned int gen = c->gen;
	int k;

	for (k = 0; k < CLIENT_NEVENTS; k++) {
		if (dispatch_event_names[k] != NULL &&
		    strcmp(dispatch_event_names[k], name) == 0) {
			dispatch_event_cb(c, (enum instantd_event)k, name, msg);
			break;
		}
	}
	if (!dispatch_stopped(c, gen))
		dispatch_event_cb(c, INSTANTD_EVENT_ANY, name, msg);
}

/* A reply with no request waiting: describe it and fail. */
static int
dispatch_unsolicited(struct instantd_client *c, json_t *msg)
{
	const char *code = instantd_reply_error_code(msg);
	const char *text = instantd_reply_error_message(msg);

	if (code != NULL)
		return client_fail(c, INSTANTD_ERR_PROTOCOL,
		    "the daemon refused the connection: %s: %s", code,
		    text != NULL ? text : "");
	return client_fail(c, INSTANTD_ERR_PROTOCOL,
	    "reply from the daemon with no request waiting");
}

/* Hand a reply to the oldest waiting request. */
static int
dispatch_reply(struct instantd_client *c, json_t *msg)
{
	struct client_pending *p = c->head;
	json_t *id = json_object_get(msg, "id");

	if (p == NULL)
		return dispatch_unsolicited(c, msg);
	if (p->id != NULL && id != NULL && !json_is_null(id) &&
	    !json_equal(p->id, id))
		return client_fail(c, INSTANTD_ERR_PROTOCOL,
		    "reply id does not match the oldest request");
	client_pending_fire(c, client_pending_pop(c), msg);
	return INSTANTD_OK;
}

/* Decode one line and route it. */
static int
dispatch_line(struct instantd_client *c, const char *line, size_t len)
{
	struct proto_error err;
	json_t *msg, *event;
	int r = INSTANTD_OK;

	if (proto_decode(line, len, &c->limits, &msg, &err) != 0)
		return client_fail(c, INSTANTD_ERR_PROTOCOL,
		    "invalid line from the daemon: %s", err.message);
	if (!json_is_object(msg)) {
		json_decref(msg);
		return client_fail(c, INSTANTD_ERR_PROTOCOL,
		    "line from the daemon is not a JSON object");
	}
	event = json_object_get(msg, "event");
	if (json_is_string(event) && json_object_get(msg, "ok") == NULL)
		dispatch_event(c, json_string_value(event), msg);
	else if (json_is_boolean(json_object_get(msg, "ok")))
		r = dispatch_reply(c, msg);
	else
		r = client_fail(c, INSTANTD_ERR_PROTOCOL,
		    "line from the daemon is neither a reply nor an event");
	json_decref(msg);
	return r;
}

/* Handle every complete line held. */
static int
dispatch_lines(struct instantd_client *c)
{
	unsigned int gen = c->gen;
	const char *line;
	size_t len;
	int k, r;

	while ((k = linebuf_next(&c->in, &line, &len)) == 1) {
		if ((r = dispatch_line(c, line, len)) != INSTANTD_OK)
			return r;
		if (dispatch_stopped(c, gen))
			return INSTANTD_OK;
	}
	if (k == -1)
		return client_fail(c, INSTANTD_ERR_TOO_LARGE,
		    "line from the daemon longer than %zu bytes", c->max_line);
	return INSTANTD_OK;
}

/* Take in n bytes just read, handling lines if they complete any. */
static int
dispatch_input(struct instantd_client *c, const char *buf, size_t n)
{
	if (linebuf_append(&c->in, buf, n) != 0)
		return client_fail(c, INSTANTD_ERR_NOMEM, "out of memory");
	if (memchr(buf, '\n', n) != NULL)
		return dispatch_lines(c);
	if (c->in.len - c->in.off > c->max_line + 1) /* room for a '\r' */
		return client_fail(c, INSTANTD_ERR_TOO_LARGE,
		    "line from the daemon longer than %zu bytes", c->max_line);
	return INSTANTD_OK;
}

/* Read and handle what has arrived, within the budget. */
static int
dispatch_read(struct instantd_client *c)
{
	unsigned int gen = c->gen;
	char buf[DISPATCH_CHUNK];
	ssize_t n;
	int i, r;

	for (i = 0; i < DISPATCH_BUDGET; i++) {
		n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1 && errno != ECONNRESET)
			return client_fail(c, INSTANTD_ERR_IO, "read: %s",
			    strerror(errno));
		if (n <= 0) /* a reset comes after all the data sent before */
			return client_fail(c, INSTANTD_ERR_CLOSED,
			    "the daemon closed the connection");
		if ((r = dispatch_input(c, buf, (size_t)n)) != INSTANTD_OK)
			return r;
		if (dispatch_stopped(c, gen))
			break;
	}
	return INSTANTD_OK;
}

/*
 * Read and handle lines, then write (the body of instantd_dispatch).
 * Reading first means that when the daemon has answered and hung up, its
 * last lines are delivered before a write error could close the socket.
 */
int
dispatch_run(struct instantd_client *c)
{
	unsigned int gen = c->gen;
	int r;

	if (c->fd == -1)
		return client_err(c, INSTANTD_ERR_CLOSED, "not connected");
	if ((r = dispatch_read(c)) != INSTANTD_OK)
		return r;
	if (dispatch_stopped(c, gen))
		return INSTANTD_OK;
	return send_flush(c);
}

/* Do the pending work without blocking. */
int
instantd_dispatch(instantd_client *c)
{
	int r;

	if (c == NULL)
		return INSTANTD_ERR_INVALID;
	client_enter(c);
	r = dispatch_run(c);
	return client_leave(c, r);
}
