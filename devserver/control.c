/* control.c: read and change the fault settings over loopback HTTP. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon/log.h"
#include "devserver/control.h"
#include "devserver/faults.h"
#include "devserver/http.h"
#include "devserver/server.h"

/* Write v (stolen) as a JSON response. */
static void
control_reply(struct evbuffer *out, int status, json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);

	json_decref(v);
	http_response_json(out, status, text != NULL ? text : "{}");
	free(text);
}

/* A 400 with a message. */
static void
control_error(struct evbuffer *out, const char *message)
{
	control_reply(out, 400, json_pack("{s:s}", "message", message));
}

/* POST /faults: apply a patch. */
static void
control_set_faults(struct server *sv, const struct http_request *req,
		   struct evbuffer *out)
{
	struct faults *f = server_faults(sv);
	const char *errmsg = NULL;
	char before[sizeof f->app_status];
	json_t *patch;

	patch = json_loadb(req->body != NULL ? req->body : "", req->body_len, 0,
			   NULL);
	if (patch == NULL) {
		control_error(out, "body must be a JSON object");
		return;
	}
	strcpy(before, f->app_status);
	if (faults_apply(f, patch, &errmsg) != 0) {
		json_decref(patch);
		control_error(out, errmsg);
		return;
	}
	json_decref(patch);
	log_info("faults changed");
	if (strcmp(before, f->app_status) != 0)
		server_status_changed(sv);
	control_reply(out, 200, faults_to_json(f));
}

/* Route a control request. */
void
control_handle(struct server *sv, const struct http_request *req,
	       struct evbuffer *out)
{
	if (strcmp(req->path, "/faults") != 0) {
		control_reply(out, 404,
			      json_pack("{s:s}", "message", "Not found"));
		return;
	}
	if (strcmp(req->method, "GET") == 0)
		control_reply(out, 200, faults_to_json(server_faults(sv)));
	else if (strcmp(req->method, "POST") == 0)
		control_set_faults(sv, req, out);
	else
		control_reply(
		    out, 405,
		    json_pack("{s:s}", "message", "Method not allowed"));
}
