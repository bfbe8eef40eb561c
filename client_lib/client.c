/*
 * client.c: the libinstantd handle: lifecycle, settings, closing, errors,
 * the callback guard and the queue of requests waiting for replies.
 *
 * Closing a connection (client_close) empties both byte buffers and then
 * answers every waiting request with a NULL reply, so that each reply
 * callback runs exactly once whatever happens to the connection.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_lib/client-int.h"

/* A new, unconnected client. */
instantd_client *
instantd_create(void)
{
	struct instantd_client *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->fd = -1;
	c->next_id = 1;
	c->max_line = INSTANTD_DEFAULT_MAX_LINE;
	linebuf_init(&c->in, c->max_line);
	return c;
}

/* Close, answer waiting requests with NULL, release (deferred if nested). */
void
instantd_free(instantd_client *c)
{
	if (c == NULL)
		return;
	if (c->depth > 0) {
		c->dead = 1;
		return;
	}
	c->depth++; /* a callback run by client_close may call us again */
	client_close(c);
	c->depth--;
	linebuf_free(&c->in);
	free(c->out);
	free(c);
}

/* Enter a public function that may run callbacks. */
void
client_enter(struct instantd_client *c)
{
	c->depth++;
}

/* Leave it: free the client if a callback asked to; returns r. */
int
client_leave(struct instantd_client *c, int r)
{
	if (--c->depth == 0 && c->dead)
		instantd_free(c);
	return r;
}

/* Record a message for instantd_errmsg(); returns status. */
int
client_err(struct instantd_client *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
	va_end(ap);
	return status;
}

/*
 * Record a message and close the connection; returns status.  The message
 * is set again after the callbacks, which may have failed calls of their
 * own, so that it still names the cause.
 */
int
client_fail(struct instantd_client *c, int status, const char *fmt, ...)
{
	char msg[sizeof c->errmsg];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	memcpy(c->errmsg, msg, sizeof msg);
	client_close(c);
	memcpy(c->errmsg, msg, sizeof msg);
	return status;
}

/* Drop the connection and its buffers; answer waiting requests with NULL. */
void
client_close(struct instantd_client *c)
{
	struct client_pending *p;

	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	linebuf_free(&c->in);
	c->out_off = c->out_len = 0;
	client_notify(c);
	while ((p = client_pending_pop(c)) != NULL)
		client_pending_fire(c, p, NULL);
}

/* Tell the want-write callback if instantd_want_write() changed. */
void
client_notify(struct instantd_client *c)
{
	int want = instantd_want_write(c);

	if (want == c->ww_last)
		return;
	c->ww_last = want;
	if (c->ww_cb != NULL)
		c->ww_cb(c, want, c->ww_arg);
}

/* Cap lines from the daemon; applies from the next connection. */
int
instantd_set_max_line(instantd_client *c, size_t max_line)
{
	if (c == NULL)
		return INSTANTD_ERR_INVALID;
	c->max_line = max_line != 0 ? max_line : INSTANTD_DEFAULT_MAX_LINE;
	return INSTANTD_OK;
}

/* Make fd non-blocking and close-on-exec. */
static int
client_setup_fd(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	if ((fl = fcntl(fd, F_GETFD)) == -1 ||
	    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

/* Adopt a connected socket (owned from now on, also on failure). */
int
instantd_connect_fd(instantd_client *c, int fd)
{
	int r = INSTANTD_ERR_INVALID;

	if (c == NULL || fd < 0) {
		if (fd >= 0)
			close(fd);
		return INSTANTD_ERR_INVALID;
	}
	client_enter(c);
	client_close(c);
	if (client_setup_fd(fd) != 0) {
		r = client_err(c, INSTANTD_ERR_IO, "fcntl: %s",
		    strerror(errno));
		close(fd);
		goto out;
	}
	c->fd = fd;
	c->gen++;
	linebuf_init(&c->in, c->max_line);
	proto_limits_default(&c->limits);
	c->limits.max_line = c->max_line;
	c->limits.max_depth = CLIENT_MAX_DEPTH;
	c->errmsg[0] = '\0';
	r = INSTANTD_OK;
out:
	return client_leave(c, r);
}

/* The connection's descriptor, or -1. */
int
instantd_fd(const instantd_client *c)
{
	return c != NULL ? c->fd : -1;
}

/* Whether bytes wait to be written. */
int
instantd_want_write(const instantd_client *c)
{
	return c != NULL && c->fd != -1 && c->out_len > c->out_off;
}

/* Set the want-write callback. */
void
instantd_on_want_write(instantd_client *c, instantd_want_write_cb cb,
    void *arg)
{
	if (c == NULL)
		return;
	c->ww_cb = cb;
	c->ww_arg = arg;
	c->ww_last = instantd_want_write(c);
}

/* Set the callback for one kind of event. */
int
instantd_on_event(instantd_client *c, enum instantd_event kind,
    instantd_event_cb cb, void *arg)
{
	if (c == NULL || (unsigned int)kind >= CLIENT_NEVENTS)
		return INSTANTD_ERR_INVALID;
	c->events[kind].cb = cb;
	c->events[kind].arg = arg;
	return INSTANTD_OK;
}

/* A queue entry expecting a reply with id (owned; NULL: unchecked). */
struct client_pending *
client_pending_create(json_t *id, instantd_reply_cb cb, void *arg)
{
	struct client_pending *p;

	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	p->id = id;
	p->cb = cb;
	p->arg = arg;
	return p;
}

/* Append to the queue. */
void
client_pending_push(struct instantd_client *c, struct client_pending *p)
{
	p->next = NULL;
	if (c->tail != NULL)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
}

/* Take the oldest entry, or NULL. */
struct client_pending *
client_pending_pop(struct instantd_client *c)
{
	struct client_pending *p = c->head;

	if (p == NULL)
		return NULL;
	c->head = p->next;
	if (c->head == NULL)
		c->tail = NULL;
	return p;
}

/* Free an entry without running its callback; NULL is a no-op. */
void
client_pending_free(struct client_pending *p)
{
	if (p == NULL)
		return;
	json_decref(p->id);
	free(p);
}

/* Run an entry's callback with reply (NULL: none will come), free it. */
void
client_pending_fire(struct instantd_client *c, struct client_pending *p,
    json_t *reply)
{
	if (p->cb != NULL)
		p->cb(c, reply, p->arg);
	client_pending_free(p);
}

/* Keep waiting entries of cb/arg in the queue but drop their callback. */
void
client_forget(struct instantd_client *c, instantd_reply_cb cb, void *arg)
{
	struct client_pending *p;

	for (p = c->head; p != NULL; p = p->next) {
		if (p->cb == cb && p->arg == arg)
			p->cb = NULL;
	}
}
