/*
 * session.h: one client session of Instant's realtime protocol.
 *
 * A session is the protocol state behind one WebSocket: the init rules,
 * the session's live queries with the last result sent for each, and the
 * transaction flow with its faults.  It knows nothing about sockets: text
 * messages go in through session_receive and come out through the io
 * callbacks, so unit tests drive it with scripted frames.
 *
 * io->close asks the transport to close; the transport frees the session
 * later (never inside a session call).  After close the session stays
 * silent.
 */
#ifndef DEVSERVER_SESSION_H
#define DEVSERVER_SESSION_H

#include <stddef.h>

#include <jansson.h>

struct server;
struct app;

struct session_io {
	/* send one text message (a JSON document) */
	void (*send)(void *arg, const char *text, size_t len);
	/* close the connection (the session is freed by the transport) */
	void (*close)(void *arg);
	void *arg;
};

struct session;

/* A new session registered with server; io is copied. */
struct session *session_create(struct server *, const struct session_io *);
void session_free(struct session *);

/* Handle one message from the client. */
void session_receive(struct session *, const char *text, size_t len);

/* Recompute this session's queries after commits and push refresh-ok with
 * the changed ones (and attrs when attrs_changed or the client cannot skip
 * them).  changed is a set (object keys) of the etypes whose triples
 * changed, or NULL for "anything": a query whose last evaluation read none
 * of them cannot have changed and is not recomputed. */
void session_refresh(struct session *, int attrs_changed,
		     const json_t *changed);

/* Push app-status-changed with status. */
void session_status_changed(struct session *, const char *status);

/* The app this session initialised with, or NULL before init. */
struct app *session_app(const struct session *);

const char *session_id(const struct session *);

#endif
