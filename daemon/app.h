/*
 * app.h: one Instant app id and everything the daemon keeps for it: its
 * configuration, its store (opened when a client first names the app), its
 * connection state and the local sessions bound to it.
 */
#ifndef DAEMON_APP_H
#define DAEMON_APP_H

#include <stdint.h>
#include <jansson.h>

struct server;
struct session;
struct app;

/* Connection states, as in the local protocol's connection event. */
enum app_state {
	APP_OFFLINE,
	APP_CONNECTING,
	APP_OPENED,
	APP_AUTHENTICATED,
	APP_CLOSED,
	APP_ERRORED,
};

/* The app for id (a normalized UUID), created on first use. */
struct app *app_get(struct server *, const char *id);

/* Free one app (server shutdown). */
void app_free(struct app *);

const char *app_id(const struct app *);

/* Bind a session to the app; it gets the current connection event. */
void app_attach(struct app *, struct session *);

/* Forget a session (it is going away). */
void app_detach(struct app *, struct session *);

/* The status object of the local protocol's status op. */
json_t *app_status_json(struct app *);

/* The connection object {state, since, reason?}. */
json_t *app_connection_json(const struct app *);

/* Change the connection state and tell every session. */
void app_set_state(struct app *, enum app_state, const char *reason);

/* The app's store, or NULL if it could not be opened (see
 * app_store_error). */
struct store *app_store(struct app *);
const char *app_store_error(const struct app *);

struct server *app_server(const struct app *);
/* The upstream session, or NULL for a local-only app. */
struct upstream *app_upstream(struct app *);
struct auth *app_auth(struct app *);
/* The user changed (sign-in, sign-out): start a new upstream session. */
void app_user_changed(struct app *);
struct subs *app_subs(struct app *);
/* The write path, or NULL without a store. */
struct outbox *app_outbox(struct app *);
/* Unsynced local transactions. */
int64_t app_unsynced(const struct app *);

/* New transactions are durable: send them if the upstream is ready. */
void app_upstream_kick(struct app *);

/* The app's distinct queries, for the upstream session. */
void app_upstream_add_query(struct app *, const json_t *q);
void app_upstream_remove_query(struct app *, const json_t *q);

/* Whether the upstream session is authenticated. */
int app_upstream_ready(const struct app *);

/* Whether the server has answered the query with this canonical key on
 * the current session (else results come from the cache). */
int app_query_answered(const struct app *, const char *key);

/* The app's status on the server ("active", "read-only", "disabled"),
 * or NULL before the server said. */
void app_set_server_status(struct app *, const char *status);
const char *app_server_status(const struct app *);
/* Whether the server accepts writes (unknown counts as yes). */
int app_writable(const struct app *);

/* The upstream websocket URI, or NULL for a local-only app. */
const char *app_upstream_uri(const struct app *);

/* Allow (1) or hold off (0) the upstream session; disconnect holds it
 * off until connect. */
void app_set_online(struct app *, int);

/* The wire name of a state. */
const char *app_state_name(enum app_state);

#endif
