/*
 * client-int.h: libinstantd's private state, shared by its files.
 *
 * client.c   the handle: lifecycle, settings, closing, error messages,
 *            the callback guard (enter/leave) and the pending-reply queue
 * connect.c  socket path resolution and connect(2)
 * send.c     the write queue: encoding requests, flushing
 * dispatch.c reading, splitting lines, routing replies and events
 * call.c     the blocking request/reply call
 * reply.c    reply accessors and status strings
 *
 * Reentrancy: every public entry point that may run a user callback is
 * bracketed by client_enter()/client_leave().  instantd_free() inside a
 * callback only marks the client dead; the outermost client_leave() frees
 * it.  Loops that run callbacks stop as soon as the client is dead or the
 * connection they were serving was replaced (gen changed).
 */
#ifndef CLIENT_LIB_CLIENT_INT_H
#define CLIENT_LIB_CLIENT_INT_H

#include <stddef.h>

#include "instantd/client.h"
#include "proto/linebuf.h"
#include "proto/proto.h"

/* Deepest JSON accepted from the daemon (query results nest). */
#define CLIENT_MAX_DEPTH 512

/* A request waiting for its reply, in a FIFO. */
struct client_pending {
	struct client_pending *next;
	json_t *id; /* the id sent, or NULL if unknown (raw lines) */
	instantd_reply_cb cb;
	void *arg;
};

/* One event callback. */
struct client_handler {
	instantd_event_cb cb;
	void *arg;
};

#define CLIENT_NEVENTS (INSTANTD_EVENT_OVERFLOW + 1)

struct instantd_client {
	int fd;                 /* -1 when not connected */
	unsigned int gen;       /* bumped by every connect */
	size_t max_line;
	struct proto_limits limits;

	struct linebuf in;      /* bytes read, split into lines */

	char *out;              /* bytes to write: out[off..len) */
	size_t out_off, out_len, out_cap;

	struct client_pending *head, *tail;
	json_int_t next_id;

	struct client_handler events[CLIENT_NEVENTS];
	instantd_want_write_cb ww_cb;
	void *ww_arg;
	int ww_last;            /* the value last reported to ww_cb */

	int depth;              /* nesting of client_enter() */
	int dead;               /* instantd_free() was called inside */
	char errmsg[256];
};

/* client.c */
void client_enter(struct instantd_client *);
int client_leave(struct instantd_client *, int r);
int client_err(struct instantd_client *, int status, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int client_fail(struct instantd_client *, int status, const char *, ...)
    __attribute__((format(printf, 3, 4)));
void client_close(struct instantd_client *);
void client_notify(struct instantd_client *);
struct client_pending *client_pending_create(json_t *id, instantd_reply_cb,
    void *);
void client_pending_free(struct client_pending *);
void client_pending_push(struct instantd_client *, struct client_pending *);
struct client_pending *client_pending_pop(struct instantd_client *);
void client_pending_fire(struct instantd_client *, struct client_pending *,
    json_t *reply);
void client_forget(struct instantd_client *, instantd_reply_cb, void *);

/* send.c */
int send_flush(struct instantd_client *);

/* dispatch.c */
int dispatch_run(struct instantd_client *);

#endif
