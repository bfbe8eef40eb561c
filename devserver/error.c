/* error.c: build Instant-shaped errors and their wire envelope. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "devserver/error.h"

/* Assemble {status, type, message, hint}. */
json_t *
error_new(int status, const char *type, const char *message, json_t *hint)
{
	return json_pack("{s:i,s:s,s:s,s:o}", "status", status, "type", type,
			 "message", message, "hint",
			 hint != NULL ? hint : json_null());
}

/* A validation-failed error with one message. */
json_t *
error_validation(const char *what, const json_t *input, const char *message)
{
	char text[512];
	json_t *hint;

	snprintf(text, sizeof text, "Validation failed for %s: %s", what,
		 message);
	hint = json_pack("{s:s,s:O,s:[{s:s}]}", "data-type", what, "input",
			 input != NULL ? input : json_null(), "errors",
			 "message", message);
	return error_new(400, "validation-failed", text, hint);
}

/* A missing top-level parameter. */
json_t *
error_param_missing(const char *name)
{
	char text[256];

	snprintf(text, sizeof text, "Missing parameter: [\"%s\"]", name);
	return error_new(400, "param-missing", text,
			 json_pack("{s:[s]}", "in", name));
}

/* A malformed top-level parameter. */
json_t *
error_param_malformed(const char *name, const json_t *value)
{
	char text[256];

	snprintf(text, sizeof text, "Malformed parameter: [\"%s\"]", name);
	return error_new(400, "param-malformed", text,
			 json_pack("{s:[s],s:O}", "in", name, "original-input",
				   value != NULL ? value : json_null()));
}

/* A record that does not exist. */
json_t *
error_not_found(const char *record_type)
{
	char text[256];

	snprintf(text, sizeof text, "Record not found: %s", record_type);
	return error_new(400, "record-not-found", text,
			 json_pack("{s:s}", "record-type", record_type));
}

/* The error a non-active app status gives. */
json_t *
error_app_status(const char *status, int for_write)
{
	if (strcmp(status, "disabled") == 0)
		return error_new(400, "app-disabled",
				 "This app has been disabled.",
				 json_pack("{s:s}", "status", status));
	if (for_write && strcmp(status, "read-only") == 0)
		return error_new(400, "app-read-only",
				 "This app is in read-only mode.",
				 json_pack("{s:s}", "status", status));
	return NULL;
}

/* A failed permission check. */
json_t *
error_permission(const char *etype)
{
	return error_new(400, "permission-denied",
			 "Permission denied: not perms-pass?",
			 json_pack("{s:[s,s],s:s}", "input", etype, "object",
				   "expected", "perms-pass?"));
}

/* Wrap err for the wire. */
json_t *
error_envelope(const json_t *err, const json_t *event, const char *session_id)
{
	json_t *env, *orig = NULL, *cid = NULL;

	if (json_is_object(event)) {
		orig = json_deep_copy(event);
		if (session_id != NULL)
			json_object_set_new(orig, "session-id",
					    json_string(session_id));
		cid = json_object_get(event, "client-event-id");
	}
	env = json_pack("{s:s,s:O,s:O,s:O,s:O,s:O,s:o}", "op", "error",
			"status", json_object_get(err, "status"), "type",
			json_object_get(err, "type"), "message",
			json_object_get(err, "message"), "hint",
			json_object_get(err, "hint"), "client-event-id",
			cid != NULL ? cid : json_null(), "original-event",
			orig != NULL ? orig : json_null());
	return env;
}
