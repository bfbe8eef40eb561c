/*
 * auth.c: the signed-in user of an app and the auth ops.
 */
#include "config.h"

#include <stdlib.h>

#include "daemon/app.h"
#include "daemon/auth.h"
#include "daemon/session.h"
#include "daemon/xmalloc.h"

struct auth {
	struct app *app;
};

/* The auth state of app. */
struct auth *
auth_create(struct app *app)
{
	struct auth *au = xcalloc(1, sizeof *au);

	au->app = app;
	return au;
}

/* Free. */
void
auth_free(struct auth *au)
{
	free(au);
}

/* No user yet. */
const char *
auth_refresh_token(const struct auth *au)
{
	return NULL;
}

/* No user yet. */
json_t *
auth_user_json(const struct auth *au)
{
	return NULL;
}

/* Forget the user. */
void
auth_signed_out(struct auth *au, const char *reason)
{
}

/* The auth ops. */
void
auth_op(struct auth *au, struct session *s, struct reply *r, const char *op,
    json_t *req)
{
	if (app_upstream_uri(au->app) == NULL) {
		reply_error(r, PROTO_UNAVAILABLE, NULL,
		    "app %s has no upstream configured (local-only): there is "
		    "no server to sign in to", app_id(au->app));
		return;
	}
	reply_error(r, PROTO_UNAVAILABLE, NULL,
	    "%s is not available in this version", op);
}
