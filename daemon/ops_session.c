/*
 * ops_session.c: ops about the connection itself: hello, status, uuid,
 * connect and disconnect.
 */
#include "config.h"

#include <string.h>

#include "daemon/app.h"
#include "daemon/log.h"
#include "daemon/ops.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "proto/uuid.h"

#define OPS_MAX_UUIDS 1000
#define OPS_MAX_NAME 256

/* hello {app?, name?, proto?}: bind and describe the daemon. */
void
ops_hello(struct session *s, struct reply *r, json_t *req)
{
	struct server *srv = session_server(s);
	char id[UUID_STRLEN + 1];
	const char *app, *name;
	json_t *proto, *extra;

	if (ops_field_string(r, req, "app", 0, &app) != 0 ||
	    ops_field_string(r, req, "name", 0, &name) != 0 ||
	    ops_field_integer(r, req, "proto", 0, 1, 1000000, &proto) != 0)
		return;
	if (app != NULL && uuid_normalize(app, id) != 0) {
		reply_error(r, PROTO_BAD_REQUEST, NULL,
		    "field \"app\" must be an app id (a UUID)");
		return;
	}
	if (app == NULL)
		memcpy(id, srv->default_app, sizeof id);
	if (name != NULL && strlen(name) > OPS_MAX_NAME) {
		reply_error(r, PROTO_BAD_REQUEST, NULL,
		    "field \"name\" is longer than %d bytes", OPS_MAX_NAME);
		return;
	}
	if (session_app(s) != NULL && strcmp(app_id(session_app(s)), id) != 0) {
		reply_error(r, PROTO_BAD_REQUEST, NULL,
		    "this connection is bound to app %s; open another "
		    "connection for app %s", app_id(session_app(s)), id);
		return;
	}
	if (name != NULL) {
		session_set_name(s, name);
		log_info("session %llu: client \"%s\"",
		    (unsigned long long)session_id(s),
		    log_escape(name, strlen(name), 64));
	}
	if (session_app(s) == NULL)
		app_attach(app_get(srv, id), s);
	extra = json_pack("{s:i, s:{s:s, s:s}, s:s, s:o}", "proto",
	    PROTO_VERSION, "daemon", "name", PACKAGE_NAME, "version",
	    PACKAGE_VERSION, "app", id, "status",
	    app_status_json(session_app(s)));
	reply_ok(r, extra);
}

/* status: the app's state. */
void
ops_status(struct session *s, struct reply *r, json_t *req)
{
	reply_ok(r, app_status_json(session_app(s)));
}

/* uuid {count?}: fresh UUID v4s. */
void
ops_uuid(struct session *s, struct reply *r, json_t *req)
{
	char u[UUID_STRLEN + 1];
	json_t *count, *list;
	json_int_t i;

	if (ops_field_integer(r, req, "count", 0, 1, OPS_MAX_UUIDS,
	    &count) != 0)
		return;
	if (count == NULL) {
		if (uuid_v4(u) != 0)
			goto fail;
		reply_ok(r, json_pack("{s:s}", "uuid", u));
		return;
	}
	list = json_array();
	for (i = 0; i < json_integer_value(count); i++) {
		if (uuid_v4(u) != 0) {
			json_decref(list);
			goto fail;
		}
		json_array_append_new(list, json_string(u));
	}
	reply_ok(r, json_pack("{s:o}", "uuids", list));
	return;
fail:
	reply_error(r, PROTO_INTERNAL, NULL, "the random generator failed");
}

/* connect: let the app's upstream session run again. */
void
ops_connect(struct session *s, struct reply *r, json_t *req)
{
	struct app *a = session_app(s);

	if (app_upstream_uri(a) == NULL) {
		reply_error(r, PROTO_UNAVAILABLE, NULL,
		    "app %s has no upstream configured (local-only)",
		    app_id(a));
		return;
	}
	app_set_online(a, 1);
	reply_ok(r, NULL);
}

/* disconnect: hold the app's upstream session off until connect. */
void
ops_disconnect(struct session *s, struct reply *r, json_t *req)
{
	app_set_online(session_app(s), 0);
	reply_ok(r, NULL);
}
