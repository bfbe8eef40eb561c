/*
 * ops_auth.c: the auth ops, which call the Instant server's HTTP API.  The
 * refresh token stays inside the daemon.
 */
#include "config.h"

#include "daemon/app.h"
#include "daemon/ops.h"
#include "daemon/session.h"

/* sign-in-guest, send-magic-code, verify-magic-code, sign-in-token,
 * sign-out, whoami */
void
ops_auth(struct session *s, struct reply *r, json_t *req)
{
	struct app *a = session_app(s);

	if (app_upstream_uri(a) == NULL) {
		reply_error(r, PROTO_UNAVAILABLE, NULL,
		    "app %s has no upstream configured (local-only): there is "
		    "no server to sign in to", app_id(a));
		return;
	}
	reply_error(r, PROTO_UNAVAILABLE, NULL,
	    "auth is not available in this version");
}
