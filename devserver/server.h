/*
 * server.h: the state of one instant-devserver process.
 *
 * The server owns the configuration, the fault settings, the open apps
 * (one SQLite database each under the data directory) and the list of live
 * sessions, so that a commit in one session can refresh every session of
 * the same app.  It owns no sockets: listeners and connections live in
 * listen.c/conn.c/ws.c, which makes the server and its sessions drivable
 * from unit tests with scripted frames.
 */
#ifndef DEVSERVER_SERVER_H
#define DEVSERVER_SERVER_H

#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>

#include "devserver/faults.h"

struct app;
struct app_commit;
struct session;

struct server_config {
	const char *data_dir;
	const char **apps; /* allowed app ids; none: any UUID */
	size_t napps;
	int ping_ms;	/* WebSocket ping interval */
	int idle_ms;	/* close after this long without a frame */
	size_t max_msg; /* largest client message accepted */
};

struct server;

/* A server on base with cfg (strings are copied); NULL with *errmsg set. */
struct server *server_create(struct event_base *, const struct server_config *,
			     char **errmsg);
void server_free(struct server *);

struct event_base *server_base(const struct server *);
const struct server_config *server_config(const struct server *);
struct faults *server_faults(struct server *);

/*
 * The app with this id, opened on first use.  NULL with *err set to an
 * Instant error object (record-not-found, hint record-type "app") if the id
 * is not a UUID or not among the configured apps.
 */
struct app *server_app(struct server *, const char *app_id, json_t **err);

/* Sessions register themselves so that commits can refresh them. */
void server_add_session(struct server *, struct session *);
void server_remove_session(struct server *, struct session *);

/* After commit c on app: refresh every session of app, on the next loop
 * turn once for all the commits of this turn (recomputing only queries
 * that read a changed etype), or at once and in full (with the attrs) when
 * c changed attrs. */
void server_app_changed(struct server *, struct app *,
			const struct app_commit *c);

/* Push app-status-changed to every session (after a status fault change). */
void server_status_changed(struct server *);

/* The app status currently in force ("active", "read-only", "disabled"). */
const char *server_app_status(const struct server *);

#endif
