/*
 * ws.h: a WebSocket client (RFC 6455) on libevent, for the upstream
 * session to an Instant server.
 *
 * Lifecycle: ws_connect starts resolving, connecting, TLS and the opening
 * handshake; open runs once the socket is usable; message runs for each
 * complete text or binary message; closed runs exactly once, whatever
 * happens (connect failure, TLS, handshake, protocol error, size limit,
 * dead socket, remote or local close), with a human reason.  No callback
 * runs from inside ws_connect, ws_send_text or ws_close: only from the
 * event loop.  After closed the object does nothing until ws_free.
 */
#ifndef DAEMON_WS_H
#define DAEMON_WS_H

#include <stddef.h>

struct event_base;
struct evdns_base;
struct tls_ctx;

#define WS_DEFAULT_MAX_MSG ((size_t)64 * 1024 * 1024)
#define WS_DEFAULT_DEAD_TIMEOUT 20
#define WS_DEFAULT_CONNECT_TIMEOUT 15

/* Options; a zero field (or a NULL struct) means the default. */
struct ws_opts {
	size_t max_msg;          /* largest message received, bytes */
	int dead_timeout_sec;    /* close if nothing arrives for this long */
	int connect_timeout_sec; /* resolve + connect + TLS + handshake */
};

struct ws_cbs {
	void (*open)(void *arg);
	/* data is not NUL-terminated and only valid during the call. */
	void (*message)(const char *data, size_t len, void *arg);
	/* reason is only valid during the call. */
	void (*closed)(const char *reason, void *arg);
};

struct ws;

/*
 * Connect to uri, ws://host[:port]/path?query or wss://... (wss needs tls;
 * IPv6 literals in brackets), resolving with dns (not NULL).  Every address
 * the name resolves to is tried in turn until one accepts the TCP
 * connection; the connect timeout covers them all.  Returns NULL with a
 * message in *err (caller frees) only for a bad URI or a missing tls;
 * every later failure ends in closed.  tls and dns must outlive ws.
 */
struct ws *ws_connect(struct event_base *, struct evdns_base *,
    const char *uri, struct tls_ctx *tls, const struct ws_opts *,
    const struct ws_cbs *, void *arg, char **err);

/*
 * Queue a text message: 0, or -1 if the socket is not open (before open,
 * or once ws_close was called or the connection failed).
 */
int ws_send_text(struct ws *, const char *text, size_t len);

/*
 * Close: an open socket sends a close frame (status 1000, reason cut to
 * 123 bytes) and waits briefly for the server's; then closed runs with
 * reason.  Before open, the attempt is abandoned.  Does nothing once
 * closing or closed.
 */
void ws_close(struct ws *, const char *reason);

/*
 * Free ws: no callback runs after this call.  Safe anywhere, including
 * inside ws's own callbacks, where the memory is released when the
 * callback returns.  ws_free(NULL) does nothing.
 */
void ws_free(struct ws *);

/* Bytes queued for sending and not yet written to the socket. */
size_t ws_pending_output(const struct ws *);

/* Exposed for tests: the Sec-WebSocket-Accept for key (caller frees). */
char *ws_accept_key(const char *key);

/*
 * Exposed for tests: check a handshake response (the header block, up to
 * and including the blank line) against the expected accept value.  0, or
 * -1 with the reason in *reason (caller frees).
 */
int ws_check_response(const char *resp, size_t len, const char *accept,
    char **reason);

#endif
