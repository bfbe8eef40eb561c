/*
 * ops_auth.c: the auth ops, handed to the app's auth state (auth.c).
 */
#include "config.h"

#include "daemon/app.h"
#include "daemon/auth.h"
#include "daemon/ops.h"
#include "daemon/session.h"

/* sign-in-guest, send-magic-code, verify-magic-code, sign-in-token,
 * sign-out, whoami */
void
ops_auth(struct session *s, struct reply *r, json_t *req)
{
	auth_op(app_auth(session_app(s)), s, r,
	    json_string_value(json_object_get(req, "op")), req);
}
