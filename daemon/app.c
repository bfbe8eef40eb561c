/*
 * app.c: per-app state shared by every local session of one Instant app.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "daemon/app.h"
#include "daemon/conf.h"
#include "daemon/log.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/xmalloc.h"
#include "proto/proto.h"
#include "proto/uuid.h"

struct app {
	struct server *server;
	char id[UUID_STRLEN + 1];
	const struct conf_app *cfg; /* NULL: local-only */
	enum app_state state;
	int64_t since_ms;
	char *reason;
	struct session **sessions;
	size_t nsessions, sessions_cap;
	size_t nsubs;
	int held_offline; /* disconnect was asked */
	TAILQ_ENTRY(app) entry;
};

static const char *const app_state_names[] = {
	[APP_OFFLINE] = "offline",
	[APP_CONNECTING] = "connecting",
	[APP_OPENED] = "opened",
	[APP_AUTHENTICATED] = "authenticated",
	[APP_CLOSED] = "closed",
	[APP_ERRORED] = "errored",
};

/* Wire name of a state. */
const char *
app_state_name(enum app_state st)
{
	return app_state_names[st];
}

/* The app's id. */
const char *
app_id(const struct app *a)
{
	return a->id;
}

/* Find or create the app for id. */
struct app *
app_get(struct server *srv, const char *id)
{
	struct app *a;

	TAILQ_FOREACH(a, &srv->apps, entry) {
		if (strcmp(a->id, id) == 0)
			return a;
	}
	a = xcalloc(1, sizeof *a);
	a->server = srv;
	memcpy(a->id, id, sizeof a->id);
	a->cfg = conf_app_find(srv->cfg, id);
	a->state = APP_OFFLINE;
	a->since_ms = server_now_ms();
	if (a->cfg == NULL || a->cfg->ws_uri == NULL)
		a->reason = xstrdup("no upstream configured");
	TAILQ_INSERT_TAIL(&srv->apps, a, entry);
	log_info("app %s: %s", a->id,
	    a->cfg != NULL && a->cfg->ws_uri != NULL ? a->cfg->ws_uri :
	    "local-only");
	return a;
}

/* Free the app; its sessions must be gone. */
void
app_free(struct app *a)
{
	if (a == NULL)
		return;
	TAILQ_REMOVE(&a->server->apps, a, entry);
	free(a->sessions);
	free(a->reason);
	free(a);
}

/* {state, since, reason?} */
json_t *
app_connection_json(const struct app *a)
{
	char when[32];
	json_t *c;

	c = json_pack("{s:s, s:s}", "state", app_state_name(a->state),
	    "since", server_iso_time(a->since_ms, when));
	if (a->reason != NULL)
		json_object_set_new(c, "reason", json_string(a->reason));
	return c;
}

/* The connection event. */
static json_t *
app_connection_event(const struct app *a)
{
	json_t *ev = proto_event("connection"), *c = app_connection_json(a);

	json_object_update(ev, c);
	json_decref(c);
	return ev;
}

/* Bind a session. */
void
app_attach(struct app *a, struct session *s)
{
	if (a->nsessions == a->sessions_cap) {
		a->sessions_cap = a->sessions_cap ? a->sessions_cap * 2 : 8;
		a->sessions = xreallocarray(a->sessions, a->sessions_cap,
		    sizeof *a->sessions);
	}
	a->sessions[a->nsessions++] = s;
	session_set_app(s, a);
	session_send_event(s, app_connection_event(a));
}

/* Unbind a session. */
void
app_detach(struct app *a, struct session *s)
{
	size_t i;

	for (i = 0; i < a->nsessions; i++) {
		if (a->sessions[i] == s) {
			a->sessions[i] = a->sessions[--a->nsessions];
			return;
		}
	}
}

/* The status op's reply fields. */
json_t *
app_status_json(struct app *a)
{
	const char *up = app_upstream_uri(a);

	return json_pack("{s:s, s:s?, s:o, s:i, s:I, s:I, s:n}", "app", a->id,
	    "upstream", up, "connection", app_connection_json(a), "pending", 0,
	    "clients", (json_int_t)a->nsessions, "subscriptions",
	    (json_int_t)a->nsubs, "user");
}

/* Change state and broadcast a connection event. */
void
app_set_state(struct app *a, enum app_state st, const char *reason)
{
	size_t i;

	a->state = st;
	a->since_ms = server_now_ms();
	free(a->reason);
	a->reason = reason != NULL ? xstrdup(reason) : NULL;
	for (i = 0; i < a->nsessions; i++)
		session_send_event(a->sessions[i], app_connection_event(a));
}

/* The upstream URI, or NULL. */
const char *
app_upstream_uri(const struct app *a)
{
	return a->cfg != NULL ? a->cfg->ws_uri : NULL;
}

/* connect / disconnect. */
void
app_set_online(struct app *a, int online)
{
	if (online == !a->held_offline)
		return;
	a->held_offline = !online;
	if (!online)
		app_set_state(a, APP_OFFLINE, "disconnect requested");
	else if (app_upstream_uri(a) != NULL)
		app_set_state(a, APP_OFFLINE,
		    "upstream sync is not available in this version");
}
