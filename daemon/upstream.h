/*
 * upstream.h: one Instant WebSocket session per app, as the official
 * client keeps it: init with the current client version, the app's
 * deduplicated queries as add-query, outbox transactions in order and
 * pipelined, server results and acknowledgements handed to the outbox,
 * reconnect with backoff 0, 1, 2 ... 10 s plus jitter, reset on init-ok.
 * Unlike the official client it never drops an unacknowledged
 * transaction: it reconnects and resends.
 */
#ifndef DAEMON_UPSTREAM_H
#define DAEMON_UPSTREAM_H

#include <stddef.h>
#include <jansson.h>

struct app;
struct upstream;

struct upstream *upstream_create(struct app *, const char *ws_uri);
void upstream_free(struct upstream *);

/* Run (1) or hold off (0) the session. */
void upstream_set_online(struct upstream *, int online);

/* The app's subscriptions: a new distinct query, one nobody wants. */
void upstream_add_query(struct upstream *, const json_t *q);
void upstream_remove_query(struct upstream *, const json_t *q);

/* Whether the server answered q (by canonical key) on this session. */
int upstream_answered(const struct upstream *, const char *key);

/* Send the outbox's unsent transactions if authenticated. */
void upstream_kick(struct upstream *);

/* Close the session so that the next one starts at once (with another
 * refresh token after a sign-in or sign-out). */
void upstream_restart(struct upstream *);

/* Whether the session is authenticated. */
int upstream_ready(const struct upstream *);

/*
 * Handle one message from the server (a JSON object, or an array of them),
 * without a socket: the transport feeds it here and so do tests and the
 * fuzz target.  Malformed input is logged and ignored.
 */
void upstream_handle_text(struct upstream *, const char *text, size_t len);

#endif
