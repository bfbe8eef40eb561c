/* reply.c: accessors for replies, and status and error strings. */
#include "config.h"

#include "client_lib/client-int.h"

/* Whether reply has "ok": true. */
int
instantd_reply_ok(const json_t *reply)
{
	return json_is_true(json_object_get(reply, "ok"));
}

/* A string member of an error reply's "error" object, or NULL. */
static const char *
reply_error_member(const json_t *reply, const char *key)
{
	const json_t *error;

	if (reply == NULL || instantd_reply_ok(reply))
		return NULL;
	error = json_object_get(reply, "error");
	return json_string_value(json_object_get(error, key));
}

/* The error code of an error reply, or NULL. */
const char *
instantd_reply_error_code(const json_t *reply)
{
	return reply_error_member(reply, "code");
}

/* The error message of an error reply, or NULL. */
const char *
instantd_reply_error_message(const json_t *reply)
{
	return reply_error_member(reply, "message");
}

/* The last failure in words. */
const char *
instantd_errmsg(const instantd_client *c)
{
	return c != NULL ? c->errmsg : "no client";
}

/* A description of a status. */
const char *
instantd_strerror(int status)
{
	switch (status) {
	case INSTANTD_OK:
		return "success";
	case INSTANTD_ERR_INVALID:
		return "invalid argument";
	case INSTANTD_ERR_NOMEM:
		return "out of memory";
	case INSTANTD_ERR_UNAVAILABLE:
		return "daemon unavailable";
	case INSTANTD_ERR_CLOSED:
		return "connection closed";
	case INSTANTD_ERR_IO:
		return "input/output error";
	case INSTANTD_ERR_TOO_LARGE:
		return "line from the daemon too large";
	case INSTANTD_ERR_PROTOCOL:
		return "protocol error";
	case INSTANTD_ERR_TIMEOUT:
		return "timed out";
	case INSTANTD_ERR_BUSY:
		return "called from a callback";
	}
	return "unknown error";
}
