/*
 * session.h: one local client connection.
 *
 * A session reads request lines (capped), dispatches each one, and writes
 * exactly one reply per request in request order: every request gets a
 * reply slot in a FIFO when it is read, a handler fills its slot at once or
 * later (a transaction waits for its commit), and complete slots are
 * written from the head.  Events bypass the FIFO.  result events for the
 * same subscription coalesce while the client is slow to read.
 *
 * A session is never freed inside its own callback: session_kill marks it
 * dead and the server frees it on the next loop turn.
 */
#ifndef DAEMON_SESSION_H
#define DAEMON_SESSION_H

#include <stdint.h>
#include <sys/queue.h>
#include <jansson.h>

#include "proto/proto.h"

struct server;
struct app;
struct reply;
struct session;

TAILQ_HEAD(reply_list, reply);

/* A request's reply slot; see session.c for its lifetime. */
struct reply {
	struct session *session; /* NULL once the session is gone */
	json_t *id;              /* the request id (or null) */
	json_t *msg;             /* the finished reply, or NULL */
	char *line;              /* ... or its encoded line */
	size_t line_len;
	char *after;             /* a result event line to send right after */
	size_t after_len;
	int64_t after_sub;
	int refs;
	TAILQ_ENTRY(reply) entry;
};

/* Create a session for a connected, accepted fd (owned from now on). */
struct session *session_create(struct server *, int fd);

/* Free a session (use session_kill from callbacks). */
void session_free(struct session *);

/* Free the sessions killed since the last call (next loop turn). */
void session_reap(struct server *);

/* Mark dead, stop I/O, detach from its app; freed next loop turn. */
void session_kill(struct session *, const char *why);

uint64_t session_id(const struct session *);
const char *session_name(const struct session *);
void session_set_name(struct session *, const char *);
struct server *session_server(const struct session *);

/* The app the session is bound to, or NULL. */
struct app *session_app(const struct session *);
void session_set_app(struct session *, struct app *);

/* Send an event (stolen). */
void session_send_event(struct session *, json_t *event);

/* Send a result event line for subscription sub (the encoded event with
 * its newline; stolen, malloc'd); coalesces. */
void session_send_result(struct session *, int64_t sub, char *line,
    size_t len);

/* Take a reference to a reply slot for an answer that comes later. */
struct reply *reply_ref(struct reply *);
void reply_unref(struct reply *);

/* Finish a reply with ok:true and the fields of extra (stolen; may be
 * NULL).  Each reply is finished exactly once. */
void reply_ok(struct reply *, json_t *extra);
/* ok:true plus fields already encoded: reply_ok_head gives the start of
 * the line, {"id":...,"ok":true, (caller frees); the caller writes the
 * text of the members after it, `"a":1,"b":2`, then "}\n", and hands the
 * whole line (stolen) to reply_ok_line. */
char *reply_ok_head(const struct reply *);
void reply_ok_line(struct reply *, char *line, size_t len);

/* Finish a reply with an error; hint is borrowed and may be NULL. */
void reply_error(struct reply *, enum proto_code, const json_t *hint,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Whether the reply's session is still connected. */
int reply_live(const struct reply *);

/* Whether the reply has left its session's FIFO (written, or dropped with
 * its session). */
int reply_flushed(const struct reply *);

/* Have the result event line (stolen) for sub written right after reply
 * r, replacing one set before.  r must not have left yet. */
void reply_set_after(struct reply *, int64_t sub, char *line, size_t len);

/* A new subscription id, unique on this session. */
int64_t session_next_sub_id(struct session *);

#endif
