/*
 * conn.h: one accepted TCP connection: a single HTTP/1.1 request, then
 * either a response and close, or a WebSocket upgrade (ws.c) for the rest
 * of the connection's life.
 */
#ifndef DEVSERVER_CONN_H
#define DEVSERVER_CONN_H

#include <event2/util.h>

struct server;
struct conn;

enum conn_kind {
	CONN_MAIN,    /* /runtime/session, /health/system, /runtime/auth/... */
	CONN_CONTROL, /* the fault control endpoint */
};

/* Called once when a connection is over, so its owner can free it. */
typedef void (*conn_done_cb)(struct conn *, void *arg);

/* Take over fd; NULL if the bufferevent cannot be made (fd closed). */
struct conn *conn_create(struct server *, evutil_socket_t fd, enum conn_kind,
			 conn_done_cb, void *arg);
void conn_free(struct conn *);

#endif
