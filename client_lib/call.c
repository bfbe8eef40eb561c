/*
 * call.c: the blocking convenience call: send one request, then poll and
 * dispatch until its reply arrives, the connection fails or the deadline
 * passes.  Events and other replies arriving meanwhile go to their
 * callbacks as usual.  On a timeout the request stays queued (the daemon
 * will answer it, and replies come in order) with its callback removed,
 * so the late reply is dropped.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "client_lib/client-int.h"

/* What the reply callback of a blocking call fills in. */
struct call_wait {
	int done;
	json_t *reply; /* NULL if the connection closed first */
};

/* Reply callback of a blocking call: keep the reply. */
static void
call_reply_cb(instantd_client *c, json_t *reply, void *arg)
{
	struct call_wait *w = arg;

	w->done = 1;
	w->reply = json_incref(reply);
}

/* Milliseconds on the monotonic clock. */
static long long
call_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the fd is ready or the deadline (-1: none) passes. */
static int
call_poll(struct instantd_client *c, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int n;

	pfd.fd = c->fd;
	pfd.events = POLLIN | (instantd_want_write(c) ? POLLOUT : 0);
	do {
		left = -1;
		if (deadline >= 0 && (left = deadline - call_now_ms()) <= 0)
			return client_err(c, INSTANTD_ERR_TIMEOUT,
			    "no reply from the daemon in time");
		n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return client_err(c, INSTANTD_ERR_IO, "poll: %s",
		    strerror(errno));
	return INSTANTD_OK;
}

/* Send req and run the loop until w is done or something fails. */
static int
call_run(struct instantd_client *c, const json_t *req, int timeout_ms,
    struct call_wait *w)
{
	long long deadline = timeout_ms < 0 ? -1 : call_now_ms() + timeout_ms;
	unsigned int gen;
	int r;

	if ((r = instantd_send(c, req, call_reply_cb, w)) != INSTANTD_OK)
		return r;
	gen = c->gen;
	while (!w->done) {
		if ((r = call_poll(c, deadline)) != INSTANTD_OK)
			return r;
		if ((r = dispatch_run(c)) != INSTANTD_OK)
			return r;
		if (c->dead || c->gen != gen)
			return client_err(c, INSTANTD_ERR_CLOSED,
			    "the connection was closed by a callback");
	}
	return INSTANTD_OK;
}

/* Send one request and wait for its reply. */
int
instantd_call(instantd_client *c, const json_t *req, int timeout_ms,
    json_t **reply)
{
	struct call_wait w = { 0, NULL };
	int r;

	if (c == NULL || reply == NULL)
		return INSTANTD_ERR_INVALID;
	*reply = NULL;
	if (c->depth > 0)
		return client_err(c, INSTANTD_ERR_BUSY,
		    "instantd_call() from inside a callback");
	client_enter(c);
	r = call_run(c, req, timeout_ms, &w);
	if (!w.done)
		client_forget(c, call_reply_cb, &w);
	if (w.reply != NULL) {
		*reply = w.reply; /* it arrived, whatever happened after */
		r = INSTANTD_OK;
	} else if (r == INSTANTD_OK)
		r = client_err(c, INSTANTD_ERR_CLOSED,
		    "the connection closed before the reply");
	return client_leave(c, r);
}
