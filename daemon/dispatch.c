/*
 * dispatch.c: request validation and the op table, with the typed field
 * helpers (ops_field_*) every handler uses to validate its request.
 *
 * Every op but hello binds an unbound session to the default app before
 * its handler runs, so handlers can rely on session_app().
 */
#include "config.h"

#include <string.h>

#include "daemon/app.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/ops.h"
#include "daemon/server.h"
#include "daemon/session.h"

struct dispatch_op {
	const char *name;
	op_fn fn;
	int binds; /* bind to the default app first */
};

static const struct dispatch_op dispatch_ops[] = {
	{ "hello", ops_hello, 0 },
	{ "status", ops_status, 1 },
	{ "uuid", ops_uuid, 1 },
	{ "connect", ops_connect, 1 },
	{ "disconnect", ops_disconnect, 1 },
	{ "transact", ops_transact, 1 },
	{ "subscribe", ops_subscribe, 1 },
	{ "unsubscribe", ops_unsubscribe, 1 },
	{ "query", ops_query, 1 },
	{ "pending", ops_pending, 1 },
	{ "sign-in-guest", ops_auth, 1 },
	{ "send-magic-code", ops_auth, 1 },
	{ "verify-magic-code", ops_auth, 1 },
	{ "sign-in-token", ops_auth, 1 },
	{ "sign-out", ops_auth, 1 },
	{ "whoami", ops_auth, 1 },
};

/* The table entry for name, or NULL. */
static const struct dispatch_op *
dispatch_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof dispatch_ops / sizeof *dispatch_ops; i++)
		if (strcmp(dispatch_ops[i].name, name) == 0)
			return &dispatch_ops[i];
	return NULL;
}

/* Route a request to its handler. */
void
dispatch_request(struct session *s, struct reply *r, json_t *req)
{
	const struct dispatch_op *op;
	const char *name;
	json_t *hint;

	if (ops_field_string(r, req, "op", 1, &name) != 0)
		return;
	if ((op = dispatch_find(name)) == NULL) {
		hint = json_pack("{s:s}", "op", name);
		reply_error(r, PROTO_UNKNOWN_OP, hint, "unknown op \"%s\"",
		    name);
		json_decref(hint);
		return;
	}
	if (op->binds && session_app(s) == NULL)
		app_attach(app_get(session_server(s),
		    session_server(s)->default_app), s);
	op->fn(s, r, req);
}

/* Fetch key; -1 after a bad-request reply if it has the wrong type. */
static int
ops_field(struct reply *r, json_t *req, const char *key, int required,
    int (*is)(const json_t *), const char *what, json_t **out)
{
	json_t *v = json_object_get(req, key);

	*out = NULL;
	if (v == NULL || (json_is_null(v) && !required)) {
		if (!required)
			return 0;
		reply_error(r, PROTO_BAD_REQUEST, NULL, "missing field \"%s\"",
		    key);
		return -1;
	}
	if (!is(v)) {
		reply_error(r, PROTO_BAD_REQUEST, NULL,
		    "field \"%s\" must be %s", key, what);
		return -1;
	}
	*out = v;
	return 0;
}

/* Type predicates for ops_field (jansson's checks are macros). */
static int
ops_is_string(const json_t *v)
{
	return json_is_string(v);
}

static int
ops_is_integer(const json_t *v)
{
	return json_is_integer(v);
}

static int
ops_is_object(const json_t *v)
{
	return json_is_object(v);
}

static int
ops_is_array(const json_t *v)
{
	return json_is_array(v);
}

/* A string field. */
int
ops_field_string(struct reply *r, json_t *req, const char *key, int required,
    const char **out)
{
	json_t *v;

	*out = NULL;
	if (ops_field(r, req, key, required, ops_is_string, "a string",
	    &v) != 0)
		return -1;
	if (v != NULL)
		*out = json_string_value(v);
	return 0;
}

/* An integer field within [min, max]. */
int
ops_field_integer(struct reply *r, json_t *req, const char *key, int required,
    json_int_t min, json_int_t max, json_t **out)
{
	if (ops_field(r, req, key, required, ops_is_integer, "an integer",
	    out) != 0)
		return -1;
	if (*out != NULL && (json_integer_value(*out) < min ||
	    json_integer_value(*out) > max)) {
		reply_error(r, PROTO_BAD_REQUEST, NULL,
		    "field \"%s\" must be from %lld to %lld", key,
		    (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

/* An object field. */
int
ops_field_object(struct reply *r, json_t *req, const char *key, int required,
    json_t **out)
{
	return ops_field(r, req, key, required, ops_is_object, "an object",
	    out);
}

/* An array field. */
int
ops_field_array(struct reply *r, json_t *req, const char *key, int required,
    json_t **out)
{
	return ops_field(r, req, key, required, ops_is_array, "an array",
	    out);
}
