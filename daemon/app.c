/*
 * app.c: per-app state shared by every local session of one Instant app.
 *
 * The store is opened when the app is first used.  A store file that
 * SQLite says is not a database or is corrupt is renamed, with its -wal
 * and -shm files, to <id>.db.corrupt-<UTC time> (nothing is deleted), the
 * move is logged and shown by status ("storage"), and a fresh store is
 * made.  Any other failure (an unwritable data directory, a store newer
 * than this program) leaves the files alone: the app's data ops then fail
 * with an internal error that says why, other apps are unaffected, and
 * the daemon must be restarted once the cause is fixed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/app.h"
#include "daemon/auth.h"
#include "daemon/conf.h"
#include "daemon/log.h"
#include "daemon/outbox.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/subs.h"
#include "daemon/upstream.h"
#include "daemon/xmalloc.h"
#include "engine/store.h"
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
	struct store *store;
	char *store_err;  /* why the store could not be opened */
	char *store_moved; /* where a corrupt store was moved, or NULL */
	char *store_moved_why;
	struct subs *subs;
	struct outbox *outbox;
	struct upstream *upstream; /* NULL: local-only */
	struct auth *auth;
	char *server_status;  /* the server's app-status, or NULL */
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

/* Rename path and its -wal and -shm files to path.corrupt-<UTC time>;
 * the new name of path (caller frees), or NULL with errno set. */
static char *
app_move_aside(const char *path)
{
	static const char *const sfx[] = { "-wal", "-shm" };
	char when[32], *to, *from_x, *to_x;
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int e;

	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
	xasprintf(&to, "%s.corrupt-%s", path, when);
	/* Never replace an earlier one moved aside in the same second. */
	if (access(to, F_OK) == 0 || rename(path, to) != 0) {
		e = access(to, F_OK) == 0 ? EEXIST : errno;
		free(to);
		errno = e;
		return NULL;
	}
	for (i = 0; i < sizeof sfx / sizeof *sfx; i++) {
		xasprintf(&from_x, "%s%s", path, sfx[i]);
		xasprintf(&to_x, "%s%s", to, sfx[i]);
		if (rename(from_x, to_x) != 0 && errno != ENOENT)
			log_warn("cannot move %s to %s: %s", from_x, to_x,
			    strerror(errno));
		free(from_x);
		free(to_x);
	}
	return to;
}

/* Open $data_dir/apps/<id>.db; on failure keep the reason. */
static void
app_open_store(struct app *a)
{
	struct store_opts opts = { 0 };
	char *dir, *path, *err = NULL, *moved;
	int corrupt = 0, ro;

	opts.sync_normal = !a->server->cfg->synchronous_full;
	opts.cache_bytes = a->server->cfg->cache_size;
	opts.no_cache = a->server->cfg->cache_size == 0;
	xasprintf(&dir, "%s/apps", a->server->cfg->data_dir);
	xasprintf(&path, "%s/%s.db", dir, a->id);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		xasprintf(&a->store_err, "cannot create %s: %s", dir,
		    strerror(errno));
	else if ((a->store = store_try_open(path, &opts, &corrupt,
	    &err)) == NULL && corrupt) {
		if (err == NULL)
			err = xstrdup("corrupt");
		if ((moved = app_move_aside(path)) == NULL) {
			xasprintf(&a->store_err, "the store is unusable (%s) "
			    "and cannot be moved aside: %s", err,
			    strerror(errno));
		} else {
			log_error("app %s: the store is unusable (%s): moved "
			    "it aside to %s and made a new one", a->id, err,
			    moved);
			a->store_moved = moved;
			a->store_moved_why = err;
			err = NULL;
			a->store = store_try_open(path, &opts, &corrupt, &err);
		}
	}
	if (a->store == NULL && a->store_err == NULL) {
		ro = access(dir, W_OK) == 0 ? 0 : errno;
		xasprintf(&a->store_err, "cannot open the store: %s%s%s",
		    err != NULL ? err : "unknown error", ro != 0 ?
		    "; the data directory is not writable: " : "",
		    ro != 0 ? strerror(ro) : "");
	}
	free(err);
	if (a->store_err != NULL)
		log_error("app %s: %s", a->id, a->store_err);
	else
		a->outbox = outbox_create(a);
	free(dir);
	free(path);
}

/* The store, or NULL. */
struct store *
app_store(struct app *a)
{
	return a->store;
}

/* Why there is no store. */
const char *
app_store_error(const struct app *a)
{
	return a->store_err != NULL ? a->store_err : "no store";
}

/* The server. */
struct server *
app_server(const struct app *a)
{
	return a->server;
}

/* The upstream session, or NULL. */
struct upstream *
app_upstream(struct app *a)
{
	return a->upstream;
}

/* The auth state. */
struct auth *
app_auth(struct app *a)
{
	return a->auth;
}

/* Sign-in or sign-out: the next session uses the new refresh token. */
void
app_user_changed(struct app *a)
{
	if (a->upstream != NULL)
		upstream_restart(a->upstream);
}

/* The subscriptions. */
struct subs *
app_subs(struct app *a)
{
	return a->subs;
}

/* The write path. */
struct outbox *
app_outbox(struct app *a)
{
	return a->outbox;
}

/* Unsynced transactions. */
int64_t
app_unsynced(const struct app *a)
{
	return a->outbox != NULL ? outbox_unsynced(a->outbox) : 0;
}

static void app_start(struct app *);

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
	a->subs = subs_create(a);
	app_open_store(a);
	a->auth = auth_create(a);
	if (app_upstream_uri(a) != NULL && a->outbox != NULL)
		a->upstream = upstream_create(a, app_upstream_uri(a));
	log_info("app %s: %s", a->id,
	    a->cfg != NULL && a->cfg->ws_uri != NULL ? a->cfg->ws_uri :
	    "local-only");
	app_start(a);
	return a;
}

/* Free the app; its sessions must be gone. */
void
app_free(struct app *a)
{
	if (a == NULL)
		return;
	TAILQ_REMOVE(&a->server->apps, a, entry);
	/* The network first; then the outbox, whose last commit still
	 * tells the subscriptions; then those; then the store under all. */
	upstream_free(a->upstream);
	a->upstream = NULL;
	outbox_free(a->outbox);
	a->outbox = NULL;
	subs_free(a->subs);
	a->subs = NULL;
	auth_free(a->auth);
	store_free(a->store);
	free(a->store_err);
	free(a->store_moved);
	free(a->store_moved_why);
	free(a->server_status);
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

	subs_remove_session(a->subs, s);
	if (a->outbox != NULL)
		outbox_forget_session(a->outbox, s);
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
	json_t *st, *user;

	st = json_pack("{s:s, s:s?, s:o, s:I, s:I, s:I, s:n}", "app", a->id,
	    "upstream", up, "connection", app_connection_json(a), "pending",
	    (json_int_t)app_unsynced(a), "clients", (json_int_t)a->nsessions,
	    "subscriptions", (json_int_t)subs_count(a->subs), "user");
	user = auth_user_json(a->auth);
	if (user != NULL)
		json_object_set_new(st, "user", user);
	json_object_set_new(st, "app_status", a->server_status != NULL ?
	    json_string(a->server_status) : json_null());
	/* Only when something is wrong with the store. */
	if (a->store_err != NULL)
		json_object_set_new(st, "storage", json_pack("{s:s}", "error",
		    a->store_err));
	else if (a->store_moved != NULL)
		json_object_set_new(st, "storage", json_pack("{s:s, s:s}",
		    "moved_aside", a->store_moved, "reason",
		    a->store_moved_why));
	return st;
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
	if (a->upstream != NULL)
		upstream_set_online(a->upstream, online);
	else if (!online)
		app_set_state(a, APP_OFFLINE, "disconnect requested");
}

/* Start the upstream session of a new app. */
static void
app_start(struct app *a)
{
	if (a->upstream != NULL && !a->held_offline)
		upstream_set_online(a->upstream, 1);
}

/* Send newly committed transactions. */
void
app_upstream_kick(struct app *a)
{
	if (a->upstream != NULL)
		upstream_kick(a->upstream);
}

/* A new distinct query. */
void
app_upstream_add_query(struct app *a, const json_t *q)
{
	if (a->upstream != NULL)
		upstream_add_query(a->upstream, q);
}

/* A query nobody wants. */
void
app_upstream_remove_query(struct app *a, const json_t *q)
{
	if (a->upstream != NULL)
		upstream_remove_query(a->upstream, q);
}

/* Whether the server answered the query. */
int
app_query_answered(const struct app *a, const char *key)
{
	return a->upstream != NULL && upstream_answered(a->upstream, key);
}

/* Whether the upstream session is authenticated. */
int
app_upstream_ready(const struct app *a)
{
	return a->upstream != NULL && upstream_ready(a->upstream);
}

/* The server's app-status. */
void
app_set_server_status(struct app *a, const char *status)
{
	int was = app_writable(a);

	free(a->server_status);
	a->server_status = status != NULL ? xstrdup(status) : NULL;
	if (!was && app_writable(a))
		app_upstream_kick(a);
}

/* The server's app-status, or NULL. */
const char *
app_server_status(const struct app *a)
{
	return a->server_status;
}

/* Whether the server takes writes. */
int
app_writable(const struct app *a)
{
	return a->server_status == NULL ||
	    strcmp(a->server_status, "active") == 0;
}
