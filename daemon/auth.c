/*
 * auth.c: the signed-in user of an app and the auth ops.
 *
 * The user is the object the Instant server returns from a sign-in
 * ({id, email, type, refresh_token, ...}).  It is kept whole, token
 * included, under one key of the app's kv table, so the user and its
 * token always change together; everything that leaves this file (replies,
 * status, logs) gets a copy with every token-like field removed
 * (auth_user_json).  Nothing here ever formats the token into a log line.
 *
 * Each server call is an auth_call: it holds a reference to the request's
 * reply slot and finishes it from the HTTP callback.  A sign-in that
 * succeeds takes effect even if the asking client has gone: the server has
 * already minted the token.  Calls still running when the app goes away
 * are cancelled.
 *
 * A user change (auth_set_user) persists the new user, drops the server
 * results cached for the previous user (they answered that user's
 * permissions) and restarts the upstream session so that init carries the
 * new token.  Unsynced transactions are kept and sent under the new user:
 * see "Auth ops" in proto/PROTOCOL.md for why.
 *
 * Sign-out is local first: the user is forgotten at once, even offline,
 * and the server is then asked, in the background, to forget the token.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "daemon/app.h"
#include "daemon/auth.h"
#include "daemon/conf.h"
#include "daemon/http.h"
#include "daemon/log.h"
#include "daemon/outbox.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/xmalloc.h"
#include "engine/store.h"

#define AUTH_KV_USER "auth.user"
#define AUTH_TIMEOUT_SEC 15
#define AUTH_MAX_EMAIL 320
#define AUTH_MAX_CODE 64
#define AUTH_MAX_TOKEN 4096

struct auth_call;
typedef void (*auth_done_fn)(struct auth_call *, json_t *body);

/* One request to the server's HTTP API. */
struct auth_call {
	struct auth *au;
	struct reply *reply; /* referenced; NULL for background calls */
	struct http_req *req;
	const char *op;      /* static: the local op, for messages */
	char *secret;        /* a token sent that the client never saw */
	auth_done_fn done;   /* runs on a 2xx JSON object reply */
	LIST_ENTRY(auth_call) entry;
};

struct auth {
	struct app *app;
	json_t *user; /* with its refresh_token, or NULL: signed out */
	LIST_HEAD(, auth_call) calls;
};

/* Fields never shown outside the daemon. */
static const char *const auth_secret_keys[] = {
	"refresh_token", "refresh-token", "token",
};

/* Remove token-like fields from v and every object inside it. */
static void
auth_strip(json_t *v)
{
	const char *k;
	json_t *c;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			auth_strip(c);
		return;
	}
	if (!json_is_object(v))
		return;
	for (i = 0; i < sizeof auth_secret_keys / sizeof *auth_secret_keys;
	    i++)
		json_object_del(v, auth_secret_keys[i]);
	json_object_foreach(v, k, c)
		auth_strip(c);
}

/* Make the store file and its WAL files private (the token lives there);
 * SQLite creates later WAL files with the main file's mode. */
static void
auth_protect_store(struct auth *au)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	struct store *st = app_store(au->app);
	const char *db;
	char *path;
	size_t i;

	if (st == NULL ||
	    (db = store_path(st)) == NULL)
		return;
	for (i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
		xasprintf(&path, "%s%s", db, suffixes[i]);
		if (chmod(path, 0600) != 0 && i == 0)
			log_warn("app %s: cannot make %s private",
			    app_id(au->app), path);
		free(path);
	}
}

/* Whether v is a user object we can keep: an id and a token. */
static int
auth_user_valid(const json_t *v)
{
	const char *id = json_string_value(json_object_get(v, "id"));
	const char *tok = json_string_value(json_object_get(v,
	    "refresh_token"));

	return id != NULL && *id != '\0' && tok != NULL && *tok != '\0' &&
	    strlen(tok) <= AUTH_MAX_TOKEN;
}

/* Load the stored user, if any. */
static void
auth_load(struct auth *au)
{
	struct store *st = app_store(au->app);
	char *text = NULL;
	json_t *v;

	if (st == NULL || store_kv_get(st, AUTH_KV_USER, &text) != 0 ||
	    text == NULL)
		return;
	v = json_loads(text, 0, NULL);
	if (auth_user_valid(v))
		au->user = json_incref(v);
	else
		log_warn("app %s: the stored user is unusable; signed out",
		    app_id(au->app));
	json_decref(v);
	free(text);
}

/* The auth state of app. */
struct auth *
auth_create(struct app *app)
{
	struct auth *au = xcalloc(1, sizeof *au);

	au->app = app;
	LIST_INIT(&au->calls);
	auth_protect_store(au);
	auth_load(au);
	return au;
}

/* End a call: forget it and its reply. */
static void
auth_call_free(struct auth_call *c)
{
	LIST_REMOVE(c, entry);
	reply_unref(c->reply);
	free(c->secret);
	free(c);
}

/* Free; running calls are cancelled (their replies were answered or their
 * sessions are gone: the app goes away last). */
void
auth_free(struct auth *au)
{
	struct auth_call *c;

	if (au == NULL)
		return;
	while ((c = LIST_FIRST(&au->calls)) != NULL) {
		http_cancel(c->req);
		if (c->reply != NULL)
			reply_error(c->reply, PROTO_UNAVAILABLE, NULL,
			    "the daemon is shutting down");
		auth_call_free(c);
	}
	json_decref(au->user);
	free(au);
}

/* The refresh token for init, or NULL. */
const char *
auth_refresh_token(const struct auth *au)
{
	return json_string_value(json_object_get(au->user, "refresh_token"));
}

/* The user without its token (new reference), or NULL. */
json_t *
auth_user_json(const struct auth *au)
{
	json_t *u;

	if (au->user == NULL)
		return NULL;
	u = json_deep_copy(au->user);
	auth_strip(u);
	return u;
}

/* Write the user (or its absence) to the store: 0 or -1. */
static int
auth_save(struct auth *au)
{
	struct store *st = app_store(au->app);
	char *text = NULL;
	int r = -1;

	if (st == NULL)
		goto out;
	if (au->user != NULL &&
	    (text = json_dumps(au->user, JSON_COMPACT)) == NULL)
		goto out;
	if (store_kv_set(st, AUTH_KV_USER, text) != 0) {
		log_error("app %s: cannot save the user: %s", app_id(au->app),
		    store_errmsg(st));
		goto out;
	}
	r = 0;
out:
	free(text);
	return r;
}

/* The text of one cached query: collect it (store_query_scan). */
static int
auth_collect_query_cb(void *arg, const struct store_query *q)
{
	json_t *v = json_loads(q->q, 0, NULL);

	if (v != NULL)
		json_array_append_new(arg, v);
	return 0;
}

/* Drop every server result cached for the previous user: they answered
 * that user's permissions.  Subscribers see what is left (local pending
 * changes) until the new session answers. */
static void
auth_drop_results(struct auth *au)
{
	struct store *st = app_store(au->app);
	struct outbox *ob = app_outbox(au->app);
	json_t *qs = json_array(), *q;
	size_t i;

	if (st != NULL && ob != NULL &&
	    store_query_scan(st, auth_collect_query_cb, qs) == 0)
		json_array_foreach(qs, i, q)
			outbox_forget_query(ob, q);
	json_decref(qs);
}

/* The id of a user object, or NULL. */
static const char *
auth_user_id(const json_t *user)
{
	return json_string_value(json_object_get(user, "id"));
}

/* Replace the user (stolen; NULL: signed out), persist it and, unless
 * upstream is 0, start a new upstream session under it. */
static void
auth_set_user(struct auth *au, json_t *user, int upstream)
{
	const char *was = auth_user_id(au->user), *now = auth_user_id(user);
	int same = was != NULL && now != NULL && strcmp(was, now) == 0;

	if (au->user == NULL && user == NULL)
		return;
	json_decref(au->user);
	au->user = user;
	auth_save(au);
	if (now != NULL)
		log_info("app %s: signed in as user %s", app_id(au->app),
		    log_escape(now, strlen(now), 64));
	else
		log_info("app %s: signed out", app_id(au->app));
	if (!same)
		auth_drop_results(au);
	if (upstream)
		app_user_changed(au->app);
}

/* The server refused our token during init. */
void
auth_signed_out(struct auth *au, const char *reason)
{
	log_info("app %s: %s", app_id(au->app), reason);
	/* The upstream session closes and starts again by itself. */
	auth_set_user(au, NULL, 0);
}

/* The API URI of the app, or NULL. */
static const char *
auth_api_uri(const struct auth *au)
{
	struct server *srv = app_server(au->app);
	const struct conf_app *ca = conf_app_find(srv->cfg, app_id(au->app));

	return ca != NULL ? ca->api_uri : NULL;
}

/* Instant's error fields from an error response body (new reference). */
static json_t *
auth_error_hint(int status, const json_t *body)
{
	static const char *const keys[] = { "type", "message", "hint" };
	json_t *h = json_pack("{s:i}", "status", status), *v;
	size_t i;

	for (i = 0; i < sizeof keys / sizeof *keys; i++)
		if ((v = json_object_get(body, keys[i])) != NULL)
			json_object_set(h, keys[i], v);
	auth_strip(h);
	return h;
}

/* Whether text (may be NULL) contains secret (may be NULL). */
static int
auth_mentions(const char *text, const char *secret)
{
	return text != NULL && secret != NULL && strstr(text, secret) != NULL;
}

/* Finish a call's reply with the server's error.  An error that quotes
 * a token the client never saw is cut down to its status. */
static void
auth_fail_upstream(struct auth_call *c, int status, const json_t *body,
    const char *err)
{
	const char *msg = json_string_value(json_object_get(body, "message"));
	json_t *hint = auth_error_hint(status, body);
	char *text = json_dumps(hint, JSON_COMPACT);

	if (auth_mentions(text, c->secret) || auth_mentions(msg, c->secret) ||
	    auth_mentions(err, c->secret)) {
		json_decref(hint);
		hint = json_pack("{s:i}", "status", status);
		msg = "(the server's error quoted a token and was withheld)";
	}
	free(text);
	if (c->reply != NULL)
		reply_error(c->reply, PROTO_UPSTREAM, hint,
		    "the server refused %s: %s", c->op, msg != NULL ? msg :
		    err != NULL ? err : "no reason given");
	json_decref(hint);
}

/* HTTP: a call ended. */
static void
auth_http_cb(int status, json_t *body, const char *err, void *arg)
{
	struct auth_call *c = arg;

	if (status == 0) {
		log_info("app %s: %s: cannot reach the server: %s",
		    app_id(c->au->app), c->op, err != NULL ? err : "?");
		if (c->reply != NULL)
			reply_error(c->reply, PROTO_UNAVAILABLE, NULL,
			    "cannot reach the server: %s",
			    err != NULL ? err : "no response");
	} else if (err != NULL || status < 200 || status > 299 ||
	    !json_is_object(body)) {
		log_info("app %s: %s: the server answered HTTP %d",
		    app_id(c->au->app), c->op, status);
		auth_fail_upstream(c, status, body, err != NULL ? err :
		    status < 300 ? "the reply is not a JSON object" : NULL);
	} else
		c->done(c, body);
	auth_call_free(c);
}

/*
 * POST body (borrowed) to path under the app's API URI, for op; done runs
 * on success.  r (may be NULL) is answered by the call.  Returns the call,
 * or NULL after answering r.
 */
static struct auth_call *
auth_post(struct auth *au, struct reply *r, const char *op, const char *path,
    const json_t *body, auth_done_fn done)
{
	struct server *srv = app_server(au->app);
	const char *api = auth_api_uri(au);
	struct auth_call *c;
	char *url, *err = NULL;
	size_t n;

	n = strlen(api);
	while (n > 0 && api[n - 1] == '/')
		n--;
	xasprintf(&url, "%.*s%s", (int)n, api, path);
	c = xcalloc(1, sizeof *c);
	c->au = au;
	c->op = op;
	c->done = done;
	c->req = http_request(srv->base, server_dns(srv), server_tls(srv),
	    "POST", url, body, AUTH_TIMEOUT_SEC, auth_http_cb, c, &err);
	free(url);
	if (c->req == NULL) {
		log_info("app %s: %s: cannot call the server: %s",
		    app_id(au->app), op, err);
		if (r != NULL)
			reply_error(r, PROTO_UNAVAILABLE, NULL,
			    "cannot call the server: %s", err);
		free(err);
		free(c);
		return NULL;
	}
	c->reply = r != NULL ? reply_ref(r) : NULL;
	LIST_INSERT_HEAD(&au->calls, c, entry);
	return c;
}

/* A sign-in succeeded: the body's user becomes ours. */
static void
auth_signed_in_cb(struct auth_call *c, json_t *body)
{
	json_t *user = json_object_get(body, "user");

	if (!auth_user_valid(user)) {
		auth_fail_upstream(c, 200, NULL,
		    "the reply has no user with a refresh token");
		return;
	}
	auth_set_user(c->au, json_deep_copy(user), 1);
	if (c->reply != NULL)
		reply_ok(c->reply, json_pack("{s:o}", "user",
		    auth_user_json(c->au)));
}

/* The magic code is on its way. */
static void
auth_code_sent_cb(struct auth_call *c, json_t *body)
{
	if (c->reply != NULL)
		reply_ok(c->reply, json_pack("{s:b}", "sent", 1));
}

/* The server forgot the token (background). */
static void
auth_token_revoked_cb(struct auth_call *c, json_t *body)
{
	log_debug("app %s: the server forgot the previous refresh token",
	    app_id(c->au->app));
}

/* The string field name of req, at most max bytes; NULL after replying
 * bad-request. */
static const char *
auth_field(struct reply *r, const json_t *req, const char *name, size_t max)
{
	const char *v = json_string_value(json_object_get(req, name));

	if (v == NULL || *v == '\0' || strlen(v) > max) {
		reply_error(r, PROTO_BAD_REQUEST, NULL,
		    "%s must be a non-empty string of at most %zu bytes",
		    name, max);
		return NULL;
	}
	return v;
}

/* A request body {"app-id": ...} plus more. */
static json_t *
auth_body(const struct auth *au)
{
	return json_pack("{s:s}", "app-id", app_id(au->app));
}

/* sign-in-guest */
static void
auth_op_guest(struct auth *au, struct reply *r, json_t *req)
{
	json_t *body = auth_body(au);

	auth_post(au, r, "sign-in-guest", "/runtime/auth/sign_in_guest", body,
	    auth_signed_in_cb);
	json_decref(body);
}

/* send-magic-code {email} */
static void
auth_op_send_code(struct auth *au, struct reply *r, json_t *req)
{
	const char *email;
	json_t *body;

	if ((email = auth_field(r, req, "email", AUTH_MAX_EMAIL)) == NULL)
		return;
	body = auth_body(au);
	json_object_set_new(body, "email", json_string(email));
	auth_post(au, r, "send-magic-code", "/runtime/auth/send_magic_code",
	    body, auth_code_sent_cb);
	json_decref(body);
}

/* Whether the current user is a guest (signing in upgrades it). */
static int
auth_is_guest(const struct auth *au)
{
	const char *type = json_string_value(json_object_get(au->user,
	    "type"));

	return type != NULL && strcmp(type, "guest") == 0;
}

/* verify-magic-code {email, code} */
static void
auth_op_verify_code(struct auth *au, struct reply *r, json_t *req)
{
	const char *email, *code, *guest = NULL;
	struct auth_call *c;
	json_t *body;

	if ((email = auth_field(r, req, "email", AUTH_MAX_EMAIL)) == NULL ||
	    (code = auth_field(r, req, "code", AUTH_MAX_CODE)) == NULL)
		return;
	body = auth_body(au);
	json_object_set_new(body, "email", json_string(email));
	json_object_set_new(body, "code", json_string(code));
	/* A guest's token lets the server turn the guest into this user. */
	if (auth_is_guest(au)) {
		guest = auth_refresh_token(au);
		json_object_set_new(body, "refresh-token", json_string(guest));
	}
	c = auth_post(au, r, "verify-magic-code",
	    "/runtime/auth/verify_magic_code", body, auth_signed_in_cb);
	if (c != NULL && guest != NULL)
		c->secret = xstrdup(guest);
	json_decref(body);
}

/* sign-in-token {refresh_token} */
static void
auth_op_token(struct auth *au, struct reply *r, json_t *req)
{
	const char *token;
	json_t *body;

	token = auth_field(r, req, "refresh_token", AUTH_MAX_TOKEN);
	if (token == NULL)
		return;
	body = auth_body(au);
	json_object_set_new(body, "refresh-token", json_string(token));
	auth_post(au, r, "sign-in-token", "/runtime/auth/verify_refresh_token",
	    body, auth_signed_in_cb);
	json_decref(body);
}

/* sign-out: forget the user now, then ask the server to forget the
 * token (the reply does not wait for it). */
static void
auth_op_sign_out(struct auth *au, struct reply *r, json_t *req)
{
	const char *token = auth_refresh_token(au);
	json_t *body = NULL;

	if (token != NULL)
		body = json_pack("{s:s, s:s}", "app_id", app_id(au->app),
		    "refresh_token", token);
	auth_set_user(au, NULL, 1);
	if (body != NULL)
		auth_post(au, NULL, "sign-out", "/runtime/signout", body,
		    auth_token_revoked_cb);
	json_decref(body);
	reply_ok(r, NULL);
}

/* whoami */
static void
auth_op_whoami(struct auth *au, struct reply *r, json_t *req)
{
	json_t *u = auth_user_json(au);

	reply_ok(r, json_pack("{s:o}", "user", u != NULL ? u : json_null()));
}

/* The auth ops. */
void
auth_op(struct auth *au, struct session *s, struct reply *r, const char *op,
    json_t *req)
{
	static const struct {
		const char *name;
		int server; /* needs the server */
		void (*fn)(struct auth *, struct reply *, json_t *);
	} ops[] = {
		{ "whoami", 0, auth_op_whoami },
		{ "sign-out", 0, auth_op_sign_out },
		{ "sign-in-guest", 1, auth_op_guest },
		{ "send-magic-code", 1, auth_op_send_code },
		{ "verify-magic-code", 1, auth_op_verify_code },
		{ "sign-in-token", 1, auth_op_token },
	};
	size_t i;

	for (i = 0; i < sizeof ops / sizeof *ops; i++)
		if (op != NULL && strcmp(op, ops[i].name) == 0)
			break;
	if (i == sizeof ops / sizeof *ops)
		reply_error(r, PROTO_UNKNOWN_OP, NULL, "unknown auth op");
	else if (ops[i].server && auth_api_uri(au) == NULL)
		reply_error(r, PROTO_UNAVAILABLE, NULL,
		    "app %s has no server API configured (local-only): there "
		    "is no server to sign in to", app_id(au->app));
	else if (ops[i].server && app_store(au->app) == NULL)
		reply_error(r, PROTO_UNAVAILABLE, NULL,
		    "cannot keep a user: %s", app_store_error(au->app));
	else
		ops[i].fn(au, r, req);
}
