/*
 * ws.h: a WebSocket server connection (wslay) over a bufferevent, carrying
 * one protocol session.
 *
 * The upgrade itself is answered by conn.c (with ws_accept_key); ws takes
 * over the bufferevent's callbacks afterwards, sends a ping every
 * ping_ms and closes the connection when no frame of any kind arrived for
 * idle_ms.  When the connection is over, ws calls done(arg) once; the owner
 * then frees the ws (outside ws's own callbacks) and the bufferevent.
 */
#ifndef DEVSERVER_WS_H
#define DEVSERVER_WS_H

#include <event2/bufferevent.h>

struct server;
struct ws;

#define WS_ACCEPT_LEN 28

/* Compute Sec-WebSocket-Accept for key: 0, or -1 if key is not a
 * base64-encoded 16-byte nonce. */
int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1]);

/* Start the WebSocket phase on bev (borrowed; its callbacks are taken
 * over).  Returns NULL if wslay cannot be set up. */
struct ws *ws_create(struct server *, struct bufferevent *,
		     void (*done)(void *), void *arg);
void ws_free(struct ws *);

#endif
