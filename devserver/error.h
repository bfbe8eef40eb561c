/*
 * error.h: Instant's error objects {status, type, message, hint}.
 *
 * The session wraps one of these into the wire envelope
 * {op:"error", status, type, message, hint, client-event-id,
 * original-event}.  Message texts follow Instant's server.
 */
#ifndef DEVSERVER_ERROR_H
#define DEVSERVER_ERROR_H

#include <jansson.h>

/* A new error object; hint is stolen (NULL becomes JSON null). */
json_t *error_new(int status, const char *type, const char *message,
		  json_t *hint);

/* validation-failed: "Validation failed for <what>: <message>", hint
 * {data-type, input, errors:[{message}]}; input is borrowed. */
json_t *error_validation(const char *what, const json_t *input,
			 const char *message);

/* param-missing for the top-level key name. */
json_t *error_param_missing(const char *name);

/* param-malformed for the top-level key name with its bad value. */
json_t *error_param_malformed(const char *name, const json_t *value);

/* record-not-found with hint {record-type}. */
json_t *error_not_found(const char *record_type);

/* app-read-only or app-disabled for status; NULL when status is active
 * (or, with for_write 0, read-only). */
json_t *error_app_status(const char *status, int for_write);

/* permission-denied for a write to etype. */
json_t *error_permission(const char *etype);

/* The wire envelope for err (borrowed) answering event (borrowed, may be
 * NULL): a new reference. */
json_t *error_envelope(const json_t *err, const json_t *event,
		       const char *session_id);

#endif
