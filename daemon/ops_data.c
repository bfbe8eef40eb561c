/*
 * ops_data.c: the data ops (transact, subscribe, unsubscribe, query,
 * pending) over the app's local engine.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/app.h"
#include "daemon/ops.h"
#include "daemon/outbox.h"
#include "daemon/session.h"
#include "daemon/subs.h"
#include "engine/instaql.h"

#define OPS_QUERY_TIMEOUT_DEFAULT 5000
#define OPS_QUERY_TIMEOUT_MAX 60000

/* The app's write path, or finish r with internal and return NULL. */
static struct outbox *
ops_outbox(struct session *s, struct reply *r)
{
	struct app *a = session_app(s);

	if (app_outbox(a) == NULL)
		reply_error(r, PROTO_INTERNAL, NULL, "%s", app_store_error(a));
	return app_outbox(a);
}

/* Fetch and validate q; -1 after a bad-request reply. */
static int
ops_query_field(struct reply *r, json_t *req, json_t **q)
{
	char *err = NULL;

	if (ops_field_object(r, req, "q", 1, q) != 0)
		return -1;
	if (instaql_validate(*q, &err) != 0) {
		reply_error(r, PROTO_BAD_REQUEST, NULL, "q: %s",
		    err != NULL ? err : "invalid query");
		free(err);
		return -1;
	}
	return 0;
}

/* transact {steps, wait?} */
void
ops_transact(struct session *s, struct reply *r, json_t *req)
{
	struct app *a = session_app(s);
	struct outbox *ob;
	const char *wait;
	json_t *steps;

	if (ops_field_array(r, req, "steps", 1, &steps) != 0 ||
	    ops_field_string(r, req, "wait", 0, &wait) != 0)
		return;
	if (wait != NULL && strcmp(wait, "local") != 0 &&
	    strcmp(wait, "synced") != 0) {
		reply_error(r, PROTO_BAD_REQUEST, NULL,
		    "field \"wait\" must be \"local\" or \"synced\"");
		return;
	}
	if (json_array_size(steps) == 0) {
		reply_error(r, PROTO_BAD_REQUEST, NULL,
		    "field \"steps\" must not be empty");
		return;
	}
	if (wait != NULL && strcmp(wait, "synced") == 0 &&
	    app_upstream_uri(a) == NULL) {
		reply_error(r, PROTO_UNAVAILABLE, NULL,
		    "app %s is local-only: a transaction can never be synced "
		    "(nothing was written)", app_id(a));
		return;
	}
	if (!app_writable(a)) {
		reply_error(r, PROTO_UNAVAILABLE, NULL,
		    "the server has made app %s %s: nothing was written",
		    app_id(a), app_server_status(a));
		return;
	}
	if ((ob = ops_outbox(s, r)) == NULL)
		return;
	outbox_transact(ob, s, r, steps,
	    wait != NULL && strcmp(wait, "synced") == 0);
}

/* subscribe {q} */
void
ops_subscribe(struct session *s, struct reply *r, json_t *req)
{
	json_t *q;

	if (ops_query_field(r, req, &q) != 0)
		return;
	if (app_store(session_app(s)) == NULL) {
		reply_error(r, PROTO_INTERNAL, NULL, "%s",
		    app_store_error(session_app(s)));
		return;
	}
	subs_add(app_subs(session_app(s)), s, r, q);
}

/* unsubscribe {sub} */
void
ops_unsubscribe(struct session *s, struct reply *r, json_t *req)
{
	json_t *sub;

	if (ops_field_integer(r, req, "sub", 1, 1, INT64_MAX, &sub) != 0)
		return;
	if (subs_remove(app_subs(session_app(s)), s,
	    json_integer_value(sub)) != 0) {
		reply_error(r, PROTO_NOT_FOUND, NULL,
		    "no subscription %lld on this connection",
		    (long long)json_integer_value(sub));
		return;
	}
	reply_ok(r, NULL);
}

/* query {q, timeout_ms?}: online, waits for the server's answer; offline,
 * answered from the local store. */
void
ops_query(struct session *s, struct reply *r, json_t *req)
{
	json_t *q, *timeout;

	if (ops_query_field(r, req, &q) != 0 ||
	    ops_field_integer(r, req, "timeout_ms", 0, 0,
	    OPS_QUERY_TIMEOUT_MAX, &timeout) != 0)
		return;
	if (app_store(session_app(s)) == NULL) {
		reply_error(r, PROTO_INTERNAL, NULL, "%s",
		    app_store_error(session_app(s)));
		return;
	}
	subs_query(app_subs(session_app(s)), r, q, timeout != NULL ?
	    (int)json_integer_value(timeout) : OPS_QUERY_TIMEOUT_DEFAULT);
}

/* pending: the outbox, oldest first. */
void
ops_pending(struct session *s, struct reply *r, json_t *req)
{
	struct outbox *ob;
	json_t *txs;
	char *err = NULL;

	if ((ob = ops_outbox(s, r)) == NULL)
		return;
	if ((txs = outbox_list(ob, &err)) == NULL) {
		reply_error(r, PROTO_INTERNAL, NULL, "%s", err);
		free(err);
		return;
	}
	reply_ok(r, json_pack("{s:o}", "txs", txs));
}
