/*
 * upstream.c: the Instant protocol on one WebSocket session per app.
 *
 * States follow the official client: connecting (socket opening), opened
 * (init sent), authenticated (init-ok received), closed (waiting to
 * reconnect), errored (the server refused init), and offline while held
 * off.  Before init-ok nothing but init is sent; on init-ok every query is
 * added again and every unacknowledged transaction is sent again with its
 * original client-event-id, oldest first, without waiting for each ack.
 *
 * Transactions are never dropped for a slow ack: a dead socket is noticed
 * by the transport (no frame for dead-timeout, 20 s by default, while the
 * server pings every 5 s), or by init going unanswered that long, and the
 * next session resends.  What a resend can do twice is the
 * outbox's concern (outbox_rejected).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "daemon/app.h"
#include "daemon/auth.h"
#include "daemon/conf.h"
#include "daemon/log.h"
#include "daemon/outbox.h"
#include "daemon/server.h"
#include "daemon/subs.h"
#include "daemon/upstream.h"
#include "daemon/ws.h"
#include "daemon/xmalloc.h"
#include "proto/proto.h"
#include "proto/jsontext.h"
#include "proto/uuid.h"

#define UPSTREAM_CLIENT_VERSION "v1.0.67"
#define UPSTREAM_MAX_BACKOFF_SEC 10
#define UPSTREAM_MAX_MESSAGE (64 * 1024 * 1024)
#define UPSTREAM_MAX_DEPTH 256

struct upstream {
	struct app *app;
	char *uri;             /* ws(s)://host/path?app_id=... */
	struct ws *ws;
	struct ws *dead_ws;    /* closed, freed on the next loop turn */
	struct event *retry_ev;
	struct event *reap_ev;
	struct event *init_ev; /* init unanswered for too long */
	int online;            /* wanted */
	int authenticated;
	int backoff;           /* seconds before the next attempt */
	json_t *queries;       /* key -> {q, ceid, answered} */
	json_t *sent;          /* tx -> true: sent on this socket, unacked */
	int64_t cursor;        /* outbox seq last sent on this socket */
};

static void upstream_connect(struct upstream *);

/* Free a closed transport outside its own callbacks. */
static void
upstream_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;

	ws_free(up->dead_ws);
	up->dead_ws = NULL;
}

/* init went unanswered for dead-timeout on a socket that is otherwise
 * alive (pings still come): give up on this session and start another. */
static void
upstream_init_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;
	char reason[64];

	if (up->ws == NULL || up->authenticated)
		return;
	snprintf(reason, sizeof reason, "the server did not answer init in "
	    "%d s", app_server(up->app)->cfg->dead_timeout_sec);
	ws_close(up->ws, reason);
}

/* Reconnect timer. */
static void
upstream_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	upstream_connect(arg);
}

/* The session for app at ws_uri. */
struct upstream *
upstream_create(struct app *app, const char *ws_uri)
{
	struct upstream *up = xcalloc(1, sizeof *up);
	struct event_base *base = app_server(app)->base;

	up->app = app;
	xasprintf(&up->uri, "%s%sapp_id=%s", ws_uri,
	    strchr(ws_uri, '?') != NULL ? "&" : "?", app_id(app));
	up->queries = json_object();
	up->sent = json_object();
	up->retry_ev = evtimer_new(base, upstream_retry_cb, up);
	up->reap_ev = event_new(base, -1, 0, upstream_reap_cb, up);
	up->init_ev = evtimer_new(base, upstream_init_timeout_cb, up);
	return up;
}

/* Close and free. */
void
upstream_free(struct upstream *up)
{
	if (up == NULL)
		return;
	ws_free(up->ws);
	ws_free(up->dead_ws);
	event_free(up->retry_ev);
	event_free(up->reap_ev);
	event_free(up->init_ev);
	json_decref(up->queries);
	json_decref(up->sent);
	free(up->uri);
	free(up);
}

/* Whether init-ok arrived on this socket. */
int
upstream_ready(const struct upstream *up)
{
	return up->authenticated;
}

/* Send one message (a new reference is taken over); 0 or -1. */
static int
upstream_send(struct upstream *up, json_t *msg)
{
	char *text;
	size_t len;
	int r = -1;

	if (up->ws == NULL)
		goto out;
	if ((text = jsontext_dump(msg, 0, &len)) == NULL)
		goto out;
	r = ws_send_text(up->ws, text, len);
	log_debug("app %s: sent %s (%zu bytes)%s", app_id(up->app),
	    json_string_value(json_object_get(msg, "op")), len,
	    r != 0 ? ", failed" : "");
	free(text);
out:
	json_decref(msg);
	return r;
}

/* A message with op and a fresh client-event-id. */
static json_t *
upstream_message(const char *op)
{
	char ceid[UUID_STRLEN + 1];

	if (uuid_v4(ceid) != 0)
		return NULL;
	return json_pack("{s:s, s:s}", "op", op, "client-event-id", ceid);
}

/* Send add-query for one registered query. */
static void
upstream_send_query(struct upstream *up, json_t *entry)
{
	json_t *msg = json_pack("{s:s, s:O, s:O}", "op", "add-query",
	    "client-event-id", json_object_get(entry, "ceid"), "q",
	    json_object_get(entry, "q"));

	upstream_send(up, msg);
}

/* Register a query; add it upstream when authenticated. */
void
upstream_add_query(struct upstream *up, const json_t *q)
{
	char ceid[UUID_STRLEN + 1], *key = proto_canonical(q);
	json_t *entry;

	if (key == NULL || uuid_v4(ceid) != 0) {
		free(key);
		return;
	}
	if (json_object_get(up->queries, key) == NULL) {
		entry = json_pack("{s:O, s:s, s:b}", "q", q, "ceid", ceid,
		    "answered", 0);
		json_object_set_new(up->queries, key, entry);
		if (up->authenticated)
			upstream_send_query(up, entry);
	}
	free(key);
}

/* Forget a query; remove it upstream. */
void
upstream_remove_query(struct upstream *up, const json_t *q)
{
	char *key = proto_canonical(q);
	json_t *msg;

	if (key == NULL)
		return;
	if (json_object_get(up->queries, key) != NULL) {
		json_object_del(up->queries, key);
		if (up->authenticated &&
		    (msg = upstream_message("remove-query")) != NULL) {
			json_object_set(msg, "q", (json_t *)q);
			upstream_send(up, msg);
		}
	}
	free(key);
}

/* Whether the server answered the query with this key. */
int
upstream_answered(const struct upstream *up, const char *key)
{
	return up->authenticated && json_is_true(json_object_get(
	    json_object_get(up->queries, key), "answered"));
}

/* Send what the outbox has not sent on this socket. */
void
upstream_kick(struct upstream *up)
{
	struct outbox *ob = app_outbox(up->app);
	json_t *list, *row, *msg;
	const char *tx;
	size_t i;

	/* A read-only or disabled app would reject them: keep them. */
	if (!up->authenticated || ob == NULL || !app_writable(up->app))
		return;
	/* Only what this socket has not sent: the outbox may be long. */
	list = outbox_unsent(ob, up->cursor);
	json_array_foreach(list, i, row) {
		tx = json_string_value(json_object_get(row, "tx"));
		msg = json_pack("{s:s, s:s, s:O}", "op", "transact",
		    "client-event-id", tx, "tx-steps",
		    json_object_get(row, "tx_steps"));
		if (upstream_send(up, msg) != 0)
			break;
		up->cursor = json_integer_value(json_object_get(row, "seq"));
		json_object_set_new(up->sent, tx, json_true());
		outbox_sent(ob, tx);
	}
	json_decref(list);
}

/* init-ok: authenticated; queries and transactions go out again. */
static void
upstream_on_init_ok(struct upstream *up, json_t *msg)
{
	json_t *attrs = json_object_get(msg, "attrs"), *entry;
	const char *key;

	up->authenticated = 1;
	up->backoff = 0;
	evtimer_del(up->init_ev);
	/* The server accepted us: a malformed field is ignored, not fatal. */
	if (attrs != NULL && !json_is_array(attrs))
		log_warn("app %s: malformed init-ok: attrs is not an array",
		    app_id(up->app));
	if (json_object_get(msg, "app-status") != NULL &&
	    !json_is_object(json_object_get(msg, "app-status")))
		log_warn("app %s: malformed init-ok: app-status is not an "
		    "object", app_id(up->app));
	app_set_server_status(up->app, json_string_value(json_object_get(
	    json_object_get(msg, "app-status"), "status")));
	app_set_state(up->app, APP_AUTHENTICATED, NULL);
	if (json_is_array(attrs) && app_outbox(up->app) != NULL)
		outbox_server_attrs(app_outbox(up->app), attrs);
	json_object_foreach(up->queries, key, entry)
		upstream_send_query(up, entry);
	upstream_kick(up);
}

/* The page-info of a result (result[0].data["page-info"]), or NULL. */
static json_t *
upstream_page_info(json_t *result)
{
	return json_object_get(json_object_get(json_array_get(result, 0),
	    "data"), "page-info");
}

/* Mark a query answered and tell its subscribers it is live. */
static void
upstream_mark_answered(struct upstream *up, const json_t *q)
{
	char *key = proto_canonical(q);
	json_t *entry = key != NULL ? json_object_get(up->queries, key) : NULL;

	if (entry != NULL)
		json_object_set_new(entry, "answered", json_true());
	free(key);
}

/* add-query-ok */
static void
upstream_on_add_query_ok(struct upstream *up, json_t *msg)
{
	json_t *q = json_object_get(msg, "q"), *result, *list;
	json_t *ptx = json_object_get(msg, "processed-tx-id");

	if (!json_is_object(q)) {
		log_warn("app %s: malformed add-query-ok ignored: q is not an "
		    "object", app_id(up->app));
		return;
	}
	if (app_outbox(up->app) == NULL)
		return;
	result = json_object_get(msg, "result");
	list = json_pack("[{s:O, s:O, s:O?}]", "q", q, "result", result,
	    "page_info", upstream_page_info(result));
	upstream_mark_answered(up, q);
	outbox_results(app_outbox(up->app), list,
	    json_is_integer(ptx) ? json_integer_value(ptx) : -1, 0);
	subs_answered(app_subs(up->app), q);
	json_decref(list);
}

/* refresh-ok */
static void
upstream_on_refresh_ok(struct upstream *up, json_t *msg)
{
	json_t *attrs = json_object_get(msg, "attrs"), *c, *list, *result;
	json_t *ptx = json_object_get(msg, "processed-tx-id");
	json_t *comps = json_object_get(msg, "computations");
	size_t i;

	if (app_outbox(up->app) == NULL)
		return;
	if (attrs != NULL && !json_is_array(attrs))
		log_warn("app %s: malformed refresh-ok: attrs is not an array",
		    app_id(up->app));
	if (ptx != NULL && !json_is_integer(ptx))
		log_warn("app %s: malformed refresh-ok: processed-tx-id is not "
		    "an integer", app_id(up->app));
	if (!json_is_array(comps))
		log_warn("app %s: malformed refresh-ok: computations is not an "
		    "array", app_id(up->app));
	if (json_is_array(attrs))
		outbox_server_attrs(app_outbox(up->app), attrs);
	list = json_array();
	json_array_foreach(comps, i, c) {
		if (!json_is_object(json_object_get(c, "instaql-query"))) {
			log_warn("app %s: malformed refresh-ok: computation %zu "
			    "has no instaql-query object", app_id(up->app), i);
			continue;
		}
		result = json_object_get(c, "instaql-result");
		json_array_append_new(list, json_pack("{s:O, s:O, s:O?}", "q",
		    json_object_get(c, "instaql-query"), "result", result,
		    "page_info", upstream_page_info(result)));
	}
	outbox_results(app_outbox(up->app), list,
	    json_is_integer(ptx) ? json_integer_value(ptx) : -1, 1);
	json_decref(list);
}

/* transact-ok */
static void
upstream_on_transact_ok(struct upstream *up, json_t *msg)
{
	const char *tx = json_string_value(json_object_get(msg,
	    "client-event-id"));
	json_t *txid = json_object_get(msg, "tx-id");

	/* Only acks for what this socket sent: a stray or repeated one
	 * must not count a transaction twice. */
	if (tx == NULL || !json_is_integer(txid) || app_outbox(up->app) == NULL ||
	    json_object_get(up->sent, tx) == NULL) {
		log_warn("app %s: unexpected transact-ok ignored (%s)",
		    app_id(up->app), tx != NULL ? log_escape(tx, strlen(tx), 64) :
		    "no client-event-id");
		return;
	}
	json_object_del(up->sent, tx);
	outbox_acked(app_outbox(up->app), tx, json_integer_value(txid));
}

/* Instant's error fields, for clients. */
static json_t *
upstream_error_fields(json_t *msg)
{
	json_t *e = json_object(), *v;
	static const char *const keys[] = { "status", "type", "message",
		"hint" };
	size_t i;

	for (i = 0; i < sizeof keys / sizeof *keys; i++)
		if ((v = json_object_get(msg, keys[i])) != NULL)
			json_object_set(e, keys[i], v);
	return e;
}

/* Whether an init error says the refresh token is unknown. */
static int
upstream_bad_token(json_t *msg)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	const char *rt = json_string_value(json_object_get(json_object_get(msg,
	    "hint"), "record-type"));

	return type != NULL && strcmp(type, "record-not-found") == 0 &&
	    rt != NULL && strcmp(rt, "app-user") == 0;
}

/* error */
static void
upstream_on_error(struct upstream *up, json_t *msg)
{
	json_t *orig = json_object_get(msg, "original-event"), *fields;
	const char *op = json_string_value(json_object_get(orig, "op"));
	const char *ceid = json_string_value(json_object_get(msg,
	    "client-event-id"));
	const char *text = json_string_value(json_object_get(msg, "message"));

	fields = upstream_error_fields(msg);
	if (op != NULL && strcmp(op, "init") == 0 &&
	    upstream_bad_token(msg)) {
		/* An unknown refresh token: sign out and start again
		 * anonymously, as the official client does. */
		log_warn("app %s: the server does not know our refresh token; "
		    "signing out", app_id(up->app));
		auth_signed_out(app_auth(up->app), "the server rejected the "
		    "refresh token");
		if (up->ws != NULL)
			ws_close(up->ws, "signed out");
	} else if (op != NULL && strcmp(op, "init") == 0) {
		evtimer_del(up->init_ev);
		log_warn("app %s: the server refused init: %s",
		    app_id(up->app), text != NULL ? text : "?");
		app_set_state(up->app, APP_ERRORED, text != NULL ? text :
		    "the server refused the session");
	} else if (ceid != NULL && json_object_get(up->sent, ceid) != NULL) {
		json_object_del(up->sent, ceid);
		outbox_rejected(app_outbox(up->app), ceid, fields);
	} else if (op != NULL && strcmp(op, "add-query") == 0) {
		log_info("app %s: server error for a query: %s",
		    app_id(up->app), text != NULL ? text : "?");
		subs_query_error(app_subs(up->app), json_object_get(orig, "q"),
		    fields);
	} else
		log_info("app %s: server error: %s", app_id(up->app),
		    text != NULL ? text : "?");
	json_decref(fields);
}

/* app-status-changed */
static void
upstream_on_app_status(struct upstream *up, json_t *msg)
{
	const char *st = json_string_value(json_object_get(msg, "status"));

	log_info("app %s: the server says the app is %s", app_id(up->app),
	    st != NULL ? st : "?");
	if (st != NULL)
		app_set_server_status(up->app, st);
}

/* Dispatch one server message object. */
static void
upstream_dispatch(struct upstream *up, json_t *msg)
{
	const char *op = json_string_value(json_object_get(msg, "op"));

	if (op == NULL) {
		log_debug("app %s: a server message without op",
		    app_id(up->app));
		return;
	}
	log_debug("app %s: received %s", app_id(up->app), op);
	if (strcmp(op, "init-ok") == 0)
		upstream_on_init_ok(up, msg);
	else if (!up->authenticated)
		log_debug("app %s: %s before init-ok ignored", app_id(up->app),
		    op);
	else if (strcmp(op, "add-query-ok") == 0)
		upstream_on_add_query_ok(up, msg);
	else if (strcmp(op, "refresh-ok") == 0)
		upstream_on_refresh_ok(up, msg);
	else if (strcmp(op, "transact-ok") == 0)
		upstream_on_transact_ok(up, msg);
	else if (strcmp(op, "app-status-changed") == 0)
		upstream_on_app_status(up, msg);
	else if (strcmp(op, "error") != 0)
		log_debug("app %s: ignored server op %s", app_id(up->app), op);
	if (strcmp(op, "error") == 0)
		upstream_on_error(up, msg);
}

/* One text frame: an object or an array of objects. */
void
upstream_handle_text(struct upstream *up, const char *text, size_t len)
{
	json_error_t err;
	json_t *v, *m;
	size_t i, junk = 0;

	if (proto_json_depth(text, len) > UPSTREAM_MAX_DEPTH) {
		log_warn("app %s: a server message nested too deep was ignored",
		    app_id(up->app));
		return;
	}
	if ((v = json_loadb(text, len, 0, &err)) == NULL) {
		log_warn("app %s: invalid JSON from the server: %s",
		    app_id(up->app), err.text);
		return;
	}
	if (json_is_object(v))
		upstream_dispatch(up, v);
	else
		json_array_foreach(v, i, m) {
			if (json_is_object(m))
				upstream_dispatch(up, m);
			else
				junk++;
		}
	if (junk > 0)
		log_warn("app %s: %zu server message%s that %s not an object "
		    "ignored", app_id(up->app), junk, junk > 1 ? "s" : "",
		    junk > 1 ? "are" : "is");
	json_decref(v);
}

/* Transport: the socket is open; send init. */
static void
upstream_open_cb(void *arg)
{
	struct upstream *up = arg;
	json_t *msg = upstream_message("init");
	struct timeval tv = { app_server(up->app)->cfg->dead_timeout_sec, 0 };
	const char *token;

	app_set_state(up->app, APP_OPENED, NULL);
	if (msg == NULL)
		return;
	json_object_set_new(msg, "app-id", json_string(app_id(up->app)));
	json_object_set_new(msg, "versions", json_pack("{s:s}",
	    "@instantdb/core", UPSTREAM_CLIENT_VERSION));
	/* Omitted when signed out, as the official client does. */
	if ((token = auth_refresh_token(app_auth(up->app))) != NULL)
		json_object_set_new(msg, "refresh-token", json_string(token));
	if (upstream_send(up, msg) == 0)
		evtimer_add(up->init_ev, &tv);
}

/* Transport: one message. */
static void
upstream_message_cb(const char *data, size_t len, void *arg)
{
	upstream_handle_text(arg, data, len);
}

/* Schedule the next attempt. */
static void
upstream_schedule(struct upstream *up)
{
	struct timeval tv;
	unsigned short jitter = 0;

	if (!up->online)
		return;
	/* Up to 0.5 s of jitter so that apps do not reconnect in step. */
	if (RAND_bytes((unsigned char *)&jitter, sizeof jitter) != 1)
		jitter = 0;
	tv.tv_sec = up->backoff;
	tv.tv_usec = (suseconds_t)(jitter % 500) * 1000;
	if (up->backoff < UPSTREAM_MAX_BACKOFF_SEC)
		up->backoff++;
	evtimer_add(up->retry_ev, &tv);
}

/* Transport: closed or failed. */
static void
upstream_closed_cb(const char *reason, void *arg)
{
	struct upstream *up = arg;

	log_info("app %s: upstream closed: %s", app_id(up->app),
	    reason != NULL ? reason : "?");
	ws_free(up->dead_ws); /* one closed before the reap ran */
	up->dead_ws = up->ws;
	up->ws = NULL;
	up->authenticated = 0;
	evtimer_del(up->init_ev);
	json_object_clear(up->sent);
	up->cursor = 0;
	event_active(up->reap_ev, EV_TIMEOUT, 0);
	subs_offline(app_subs(up->app));
	app_set_state(up->app, up->online ? APP_CLOSED : APP_OFFLINE,
	    up->online ? reason : "disconnect requested");
	upstream_schedule(up);
}

/* Open a socket. */
static void
upstream_connect(struct upstream *up)
{
	static const struct ws_cbs cbs = { upstream_open_cb,
		upstream_message_cb, upstream_closed_cb };
	struct server *srv = app_server(up->app);
	struct ws_opts opts = { UPSTREAM_MAX_MESSAGE,
		srv->cfg->dead_timeout_sec, 10 };
	char *err = NULL;

	if (!up->online || up->ws != NULL)
		return;
	/* A new socket has sent nothing. */
	json_object_clear(up->sent);
	up->cursor = 0;
	app_set_state(up->app, APP_CONNECTING, NULL);
	up->ws = ws_connect(srv->base, server_dns(srv), up->uri,
	    server_tls(srv), &opts, &cbs, up, &err);
	if (up->ws == NULL) {
		log_warn("app %s: cannot connect to %s: %s", app_id(up->app),
		    up->uri, err != NULL ? err : "?");
		app_set_state(up->app, APP_CLOSED, err != NULL ? err :
		    "cannot connect");
		free(err);
		upstream_schedule(up);
	}
}

/* Start a new session now (the user changed). */
void
upstream_restart(struct upstream *up)
{
	up->backoff = 0;
	if (up->ws != NULL) {
		ws_close(up->ws, "the user changed"); /* reconnects at once */
		return;
	}
	if (up->online) {
		evtimer_del(up->retry_ev);
		upstream_connect(up);
	}
}

/* connect / disconnect. */
void
upstream_set_online(struct upstream *up, int online)
{
	up->online = online;
	if (online) {
		evtimer_del(up->retry_ev);
		up->backoff = 0;
		upstream_connect(up);
		return;
	}
	evtimer_del(up->retry_ev);
	if (up->ws != NULL)
		ws_close(up->ws, "disconnect requested");
	else
		app_set_state(up->app, APP_OFFLINE, "disconnect requested");
}
