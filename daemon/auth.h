/*
 * auth.h: the signed-in user of one app and the auth ops of the local
 * protocol (sign-in-guest, send-magic-code, verify-magic-code,
 * sign-in-token, sign-out, whoami), through the Instant server's HTTP API.
 *
 * The refresh token lives in the app's store (its kv table; the file is
 * mode 0600) and inside the daemon only: it is never logged, at any level,
 * and never sent to a client.
 */
#ifndef DAEMON_AUTH_H
#define DAEMON_AUTH_H

#include <jansson.h>

struct app;
struct session;
struct reply;
struct auth;

/* The auth state of app (loaded from its store). */
struct auth *auth_create(struct app *);
void auth_free(struct auth *);

/* The refresh token for init, or NULL when signed out. */
const char *auth_refresh_token(const struct auth *);

/* The user object for status (id, email, ... without the token; a new
 * reference), or NULL when signed out. */
json_t *auth_user_json(const struct auth *);

/* The server refused our token: forget the user (see PROTOCOL.md for
 * what happens to cached results and pending transactions). */
void auth_signed_out(struct auth *, const char *reason);

/* The auth ops: op is the request's op name. */
void auth_op(struct auth *, struct session *, struct reply *, const char *op,
    json_t *req);

#endif
