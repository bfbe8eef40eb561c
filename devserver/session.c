/*
 * session.c: the server side of Instant's realtime protocol for one socket.
 *
 * States: NEW (only init is accepted; anything else gets Instant's
 * "`init` has not run for this session." validation error), READY (after
 * init-ok; a second init is an error) and CLOSED (after asking the
 * transport to close: everything is ignored).
 *
 * Queries are kept in arrival order with the canonical JSON text of q (to
 * spot add-query-exists and to find remove-query's target whatever its key
 * order) and the canonical text of the last result sent, so a refresh
 * sends only queries whose result changed.
 *
 * Faults: ack and refresh delays hold the encoded message in a timer owned
 * by the session (freed with it); drop-ack and close-before-ack act after
 * the commit, so the data is there but the client never hears of it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "daemon/log.h"
#include "daemon/xmalloc.h"
#include "devserver/app.h"
#include "devserver/error.h"
#include "devserver/faults.h"
#include "devserver/server.h"
#include "devserver/session.h"
#include "devserver/users.h"
#include "proto/proto.h"
#include "proto/uuid.h"

#define SESSION_MAX_DEPTH 64

enum session_state { SESSION_NEW, SESSION_READY, SESSION_CLOSED };

struct session_query {
	json_t *q;
	char *key;	/* canonical text of q */
	char *last;	/* canonical text of the last result sent */
	json_t *topics; /* etypes its last evaluation read, or NULL */
	TAILQ_ENTRY(session_query) entry;
};

struct session_delayed {
	struct session *s;
	struct event *ev;
	char *text;
	size_t len;
	TAILQ_ENTRY(session_delayed) entry;
};

struct session {
	struct server *server;
	struct session_io io;
	char id[UUID_STRLEN + 1];
	enum session_state state;
	struct app *app;
	json_t *user;	/* or NULL */
	int skip_attrs; /* the client's version lets refresh-ok omit attrs */
	TAILQ_HEAD(, session_query) queries;
	TAILQ_HEAD(, session_delayed) delayed;
};

/* Create a session. */
struct session *
session_create(struct server *server, const struct session_io *io)
{
	struct session *s = xcalloc(1, sizeof *s);

	s->server = server;
	s->io = *io;
	if (uuid_v4(s->id) != 0)
		strcpy(s->id, "00000000-0000-4000-8000-000000000000");
	TAILQ_INIT(&s->queries);
	TAILQ_INIT(&s->delayed);
	server_add_session(server, s);
	return s;
}

/* Free one query entry. */
static void
session_query_free(struct session_query *sq)
{
	json_decref(sq->q);
	free(sq->key);
	free(sq->last);
	json_decref(sq->topics);
	free(sq);
}

/* Free one delayed message. */
static void
session_delayed_free(struct session_delayed *d)
{
	event_free(d->ev);
	free(d->text);
	free(d);
}

/* Free a session and everything it holds. */
void
session_free(struct session *s)
{
	struct session_query *sq;
	struct session_delayed *d;

	if (s == NULL)
		return;
	server_remove_session(s->server, s);
	while ((sq = TAILQ_FIRST(&s->queries)) != NULL) {
		TAILQ_REMOVE(&s->queries, sq, entry);
		session_query_free(sq);
	}
	while ((d = TAILQ_FIRST(&s->delayed)) != NULL) {
		TAILQ_REMOVE(&s->delayed, d, entry);
		session_delayed_free(d);
	}
	json_decref(s->user);
	free(s);
}

/* The session's app. */
struct app *
session_app(const struct session *s)
{
	return s->state == SESSION_READY ? s->app : NULL;
}

/* The session id. */
const char *
session_id(const struct session *s)
{
	return s->id;
}

/* Ask the transport to close; the session goes quiet. */
static void
session_close(struct session *s)
{
	if (s->state == SESSION_CLOSED)
		return;
	s->state = SESSION_CLOSED;
	s->io.close(s->io.arg);
}

/* A delayed message is due. */
static void
session_delayed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session_delayed *d = arg;
	struct session *s = d->s;

	TAILQ_REMOVE(&s->delayed, d, entry);
	if (s->state != SESSION_CLOSED)
		s->io.send(s->io.arg, d->text, d->len);
	session_delayed_free(d);
}

/* Send msg (stolen) now, or after delay_ms. */
static void
session_send(struct session *s, json_t *msg, int delay_ms)
{
	struct session_delayed *d;
	struct timeval tv;
	char *text;

	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (text == NULL || s->state == SESSION_CLOSED) {
		free(text);
		return;
	}
	if (delay_ms <= 0) {
		s->io.send(s->io.arg, text, strlen(text));
		free(text);
		return;
	}
	d = xcalloc(1, sizeof *d);
	d->s = s;
	d->text = text;
	d->len = strlen(text);
	d->ev = evtimer_new(server_base(s->server), session_delayed_cb, d);
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	TAILQ_INSERT_TAIL(&s->delayed, d, entry);
	evtimer_add(d->ev, &tv);
}

/* Send the error envelope for err (stolen) answering event. */
static void
session_error(struct session *s, json_t *err, const json_t *event)
{
	const char *op = json_string_value(json_object_get(event, "op"));
	const char *msg = json_string_value(json_object_get(err, "message"));

	if (op == NULL || strlen(op) > 32 ||
	    strspn(op, "abcdefghijklmnopqrstuvwxyz-") != strlen(op))
		op = "-";
	if (msg == NULL)
		msg = "error";
	log_info("session %s: %s: %s", s->id, op,
		 log_escape(msg, strlen(msg), 200));
	session_send(s, error_envelope(err, event, s->id), 0);
	json_decref(err);
}

/* The client-event-id of event as JSON (borrowed; null if absent). */
static json_t *
session_cid(const json_t *event)
{
	json_t *cid = json_object_get(event, "client-event-id");

	return cid != NULL ? cid : json_null();
}

/* Whether a "vX.Y.Z" version is newer than 0.20.4 (refresh-ok may then
 * omit unchanged attrs, as Instant does). */
static int
session_version_skips_attrs(const char *v)
{
	unsigned a, b, c;

	if (v == NULL)
		return 0;
	if (*v == 'v')
		v++;
	if (sscanf(v, "%u.%u.%u", &a, &b, &c) != 3)
		return 0;
	if (a != 0)
		return 1;
	return b > 20 || (b == 20 && c > 4);
}

/* Look up the user of an init's refresh-token: 0, or -1 with *err. */
static int
session_init_user(struct session *s, const json_t *event, json_t **err)
{
	const char *token;

	token = json_string_value(json_object_get(event, "refresh-token"));
	if (token == NULL)
		return 0;
	if ((s->user = users_by_token(app_users(s->app), token)) == NULL) {
		*err = error_not_found("app-user");
		return -1;
	}
	return 0;
}

/* init: bind the session to its app and answer init-ok. */
static void
session_init(struct session *s, const json_t *event)
{
	json_t *app_id = json_object_get(event, "app-id"), *err = NULL, *ok;
	const char *version;

	if (s->state == SESSION_READY) {
		session_error(s,
			      error_validation(
				  "init", event,
				  "`init` has already run for this session."),
			      event);
		return;
	}
	if (app_id == NULL || json_is_null(app_id)) {
		session_error(s, error_param_missing("app-id"), event);
		return;
	}
	if (!json_is_string(app_id) || !uuid_valid(json_string_value(app_id))) {
		session_error(s, error_param_malformed("app-id", app_id),
			      event);
		return;
	}
	s->app = server_app(s->server, json_string_value(app_id), &err);
	if (s->app == NULL || session_init_user(s, event, &err) != 0) {
		s->app = NULL;
		session_error(s, err, event);
		return;
	}
	version = json_string_value(json_object_get(
	    json_object_get(event, "versions"), "@instantdb/core"));
	s->skip_attrs = session_version_skips_attrs(version);
	s->state = SESSION_READY;
	ok = json_pack("{s:s,s:s,s:O,s:{s:o,s:O,s:b},s:o,s:{s:s}}", "op",
		       "init-ok", "session-id", s->id, "client-event-id",
		       session_cid(event), "auth", "app", app_row(s->app),
		       "user", s->user != NULL ? s->user : json_null(),
		       "admin?", 0, "attrs", app_attrs(s->app), "app-status",
		       "status", server_app_status(s->server));
	session_send(s, ok, 0);
}

/* The query entry whose q has canonical text key, or NULL. */
static struct session_query *
session_find_query(struct session *s, const char *key)
{
	struct session_query *sq;

	TAILQ_FOREACH(sq, &s->queries, entry)
	if (strcmp(sq->key, key) == 0)
		return sq;
	return NULL;
}

/* Run q for this session: 0 with *result and *topics, or -1 with *err. */
static int
session_run_query(struct session *s, const json_t *q, json_t **result,
		  json_t **topics, json_t **err)
{
	*topics = NULL;
	*err = error_app_status(server_app_status(s->server), 0);
	if (*err != NULL)
		return -1;
	return app_query(s->app, q, result, topics, err);
}

/* add-query: answer with the full result and remember the query. */
static void
session_add_query(struct session *s, const json_t *event)
{
	json_t *q = json_object_get(event, "q"), *result, *topics, *err, *input;
	struct session_query *sq;
	char *key;

	if (q == NULL || json_is_null(q)) {
		input = json_pack("{s:n}", "q");
		session_error(s,
			      error_validation("add-query", input,
					       "Query can not be null."),
			      event);
		json_decref(input);
		return;
	}
	key = proto_canonical(q);
	if (session_find_query(s, key) != NULL) {
		free(key);
		session_send(s,
			     json_pack("{s:s,s:O,s:O}", "op",
				       "add-query-exists", "q", q,
				       "client-event-id", session_cid(event)),
			     0);
		return;
	}
	if (session_run_query(s, q, &result, &topics, &err) != 0) {
		free(key);
		session_error(s, err, event);
		return;
	}
	sq = xcalloc(1, sizeof *sq);
	sq->q = json_incref(q);
	sq->key = key;
	sq->last = proto_canonical(result);
	sq->topics = topics;
	TAILQ_INSERT_TAIL(&s->queries, sq, entry);
	session_send(s,
		     json_pack("{s:s,s:O,s:o,s:o,s:O}", "op", "add-query-ok",
			       "q", q, "result", result, "processed-tx-id",
			       app_processed_tx_id(s->app), "client-event-id",
			       session_cid(event)),
		     0);
}

/* remove-query: forget the query. */
static void
session_remove_query(struct session *s, const json_t *event)
{
	json_t *q = json_object_get(event, "q");
	struct session_query *sq;
	char *key;

	if (q != NULL) {
		key = proto_canonical(q);
		if ((sq = session_find_query(s, key)) != NULL) {
			TAILQ_REMOVE(&s->queries, sq, entry);
			session_query_free(sq);
		}
		free(key);
	}
	session_send(s,
		     json_pack("{s:s,s:O,s:O}", "op", "remove-query-ok", "q",
			       q != NULL ? q : json_null(), "client-event-id",
			       session_cid(event)),
		     0);
}

/* The namespace a tx-step writes to, or NULL. */
static const char *
session_step_etype(struct session *s, const json_t *step, const json_t *steps)
{
	const char *op = json_string_value(json_array_get(step, 0));
	json_t *arg1 = json_array_get(step, 1), *arg2 = json_array_get(step, 2);

	if (op == NULL)
		return NULL;
	if (strcmp(op, "add-attr") == 0)
		return json_string_value(json_array_get(
		    json_object_get(arg1, "forward-identity"), 1));
	if (strcmp(op, "delete-entity") == 0 || strcmp(op, "rule-params") == 0)
		return json_string_value(arg2);
	if (json_is_string(arg2))
		return app_attr_etype(s->app, json_string_value(arg2), steps);
	return NULL;
}

/* The first namespace of steps that the deny fault covers, or NULL. */
static const char *
session_denied_etype(struct session *s, const json_t *steps)
{
	struct faults *f = server_faults(s->server);
	const char *etype;
	json_t *step;
	size_t i;

	if (json_array_size(f->deny_namespaces) == 0)
		return NULL;
	json_array_foreach(steps, i, step)
	{
		etype = session_step_etype(s, step, steps);
		if (etype != NULL && faults_denies(f, etype))
			return etype;
	}
	return NULL;
}

/* Check a transact before running it: NULL, or the error. */
static json_t *
session_check_transact(struct session *s, const json_t *event)
{
	json_t *steps = json_object_get(event, "tx-steps");
	const char *denied;
	json_t *err;

	if (steps == NULL || json_is_null(steps))
		return error_param_missing("tx-steps");
	if (!json_is_array(steps))
		return error_validation("tx-steps", steps,
					"tx-steps must be an array of steps");
	if ((err = error_app_status(server_app_status(s->server), 1)) != NULL)
		return err;
	if ((denied = session_denied_etype(s, steps)) != NULL)
		return error_permission(denied);
	return NULL;
}

/* transact: commit, refresh every session, then acknowledge (faults
 * permitting). */
static void
session_transact(struct session *s, const json_t *event)
{
	struct faults *f = server_faults(s->server);
	struct app_commit c;
	json_t *err;

	if ((err = session_check_transact(s, event)) != NULL ||
	    app_transact(s->app, json_object_get(event, "tx-steps"), &c,
			 &err) != 0) {
		session_error(s, err, event);
		return;
	}
	if (faults_take(&f->close_before_ack)) {
		log_info("fault: closing session %s before the ack of tx %lld",
			 s->id, (long long)c.tx_id);
		session_close(s);
	}
	server_app_changed(s->server, s->app, &c);
	if (s->state == SESSION_CLOSED)
		goto out;
	if (faults_take(&f->drop_ack)) {
		log_info("fault: dropping the ack of tx %lld",
			 (long long)c.tx_id);
		goto out;
	}
	session_send(s,
		     json_pack("{s:s,s:I,s:O}", "op", "transact-ok", "tx-id",
			       (json_int_t)c.tx_id, "client-event-id",
			       session_cid(event)),
		     f->ack_delay_ms);
out:
	app_commit_clear(&c);
}

/* Whether a query may have changed: it read one of the changed etypes (or
 * what it read, or what changed, is unknown). */
static int
session_query_touched(const struct session_query *sq, const json_t *changed)
{
	json_t *etype;
	size_t i;

	if (changed == NULL || sq->topics == NULL)
		return 1;
	json_array_foreach(
	    sq->topics, i,
	    etype) if (json_object_get(changed, json_string_value(etype)) !=
		       NULL) return 1;
	return 0;
}

/* Recompute the session's queries that changed etypes may affect; push
 * the ones whose result changed. */
void
session_refresh(struct session *s, int attrs_changed, const json_t *changed)
{
	struct session_query *sq;
	json_t *comps, *result, *topics, *err, *msg;
	char *text;

	if (s->state != SESSION_READY)
		return;
	comps = json_array();
	TAILQ_FOREACH(sq, &s->queries, entry)
	{
		if (!session_query_touched(sq, changed))
			continue;
		if (session_run_query(s, sq->q, &result, &topics, &err) != 0) {
			json_decref(err);
			continue;
		}
		json_decref(sq->topics);
		sq->topics = topics;
		text = proto_canonical(result);
		if (sq->last != NULL && strcmp(text, sq->last) == 0) {
			free(text);
			json_decref(result);
			continue;
		}
		free(sq->last);
		sq->last = text;
		json_array_append_new(comps, json_pack("{s:O,s:o,s:b}",
						       "instaql-query", sq->q,
						       "instaql-result", result,
						       "result-changed?", 1));
	}
	if (json_array_size(comps) == 0 && !attrs_changed) {
		json_decref(comps);
		return;
	}
	msg = json_pack("{s:s,s:o,s:o}", "op", "refresh-ok", "processed-tx-id",
			app_processed_tx_id(s->app), "computations", comps);
	if (attrs_changed || !s->skip_attrs)
		json_object_set_new(msg, "attrs", app_attrs(s->app));
	session_send(s, msg, server_faults(s->server)->refresh_delay_ms);
}

/* Push the new app status. */
void
session_status_changed(struct session *s, const char *status)
{
	if (s->state != SESSION_READY)
		return;
	session_send(s,
		     json_pack("{s:s,s:s}", "op", "app-status-changed",
			       "status", status),
		     0);
}

/* Dispatch one decoded client message. */
static void
session_dispatch(struct session *s, const json_t *event)
{
	const char *op = json_string_value(json_object_get(event, "op"));
	json_t *input;

	if (op != NULL && strcmp(op, "init") == 0) {
		session_init(s, event);
		return;
	}
	if (s->state != SESSION_READY) {
		input = json_pack("{s:s}", "sess-id", s->id);
		session_error(
		    s,
		    error_validation("init", input,
				     "`init` has not run for this session."),
		    event);
		json_decref(input);
		return;
	}
	if (op != NULL && strcmp(op, "add-query") == 0)
		session_add_query(s, event);
	else if (op != NULL && strcmp(op, "remove-query") == 0)
		session_remove_query(s, event);
	else if (op != NULL && strcmp(op, "transact") == 0)
		session_transact(s, event);
	else
		session_error(
		    s,
		    error_new(400, "param-malformed", "Invalid op",
			      json_pack("{s:O}", "op",
					json_object_get(event, "op")
					    ? json_object_get(event, "op")
					    : json_null())),
		    event);
}

/* Handle one message: an object, or an array of objects. */
void
session_receive(struct session *s, const char *text, size_t len)
{
	struct proto_limits lim = {server_config(s->server)->max_msg,
				   SESSION_MAX_DEPTH};
	struct proto_error perr;
	json_t *v, *e;
	size_t i;

	if (s->state == SESSION_CLOSED)
		return;
	if (server_faults(s->server)->no_answer) {
		log_info("fault: no answer to a message of session %s (%zu "
			 "bytes)", s->id, len);
		return;
	}
	if (proto_decode(text, len, &lim, &v, &perr) != 0) {
		session_error(
		    s, error_new(400, "param-malformed", perr.message, NULL),
		    NULL);
		return;
	}
	if (json_is_object(v))
		session_dispatch(s, v);
	else if (json_is_array(v)) {
		json_array_foreach(v, i, e) if (json_is_object(e) &&
						s->state != SESSION_CLOSED)
		    session_dispatch(s, e);
	} else
		session_error(s,
			      error_new(400, "param-malformed",
					"A message must be a JSON object",
					NULL),
			      NULL);
	json_decref(v);
}
