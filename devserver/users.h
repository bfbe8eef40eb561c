/*
 * users.h: the app users of one devserver app (for the auth endpoints and
 * init's refresh-token), kept in the app's SQLite database.
 *
 * A user is returned as Instant's user object: {id, email, refresh_token,
 * created_at, type, isGuest}.  As on Instant, every sign-in mints a new
 * refresh token and signing out deletes that token only.  Magic codes are
 * stored per email; sending a new one replaces the previous one and a
 * successful check consumes it.
 */
#ifndef DEVSERVER_USERS_H
#define DEVSERVER_USERS_H

#include <jansson.h>
#include <sqlite3.h>

struct users;

/* Prepare the users tables in db (borrowed). */
struct users *users_create(sqlite3 *db, char **errmsg);
void users_free(struct users *);

/* The user owning refresh token, or NULL. */
json_t *users_by_token(struct users *, const char *token);

/* A new guest user with a new token, or NULL on a database failure. */
json_t *users_new_guest(struct users *);

/* Sign in the user with email, created if absent (*created says which),
 * with a new token; NULL on a database failure. */
json_t *users_sign_in_email(struct users *, const char *email, int *created);

/* Forget a refresh token: 0, or -1 on a database failure. */
int users_sign_out(struct users *, const char *token);

/* Store code as the pending magic code of email: 0 or -1. */
int users_set_code(struct users *, const char *email, const char *code);

/* 1 if code is email's pending code (consumed), 0 if not, -1 on failure. */
int users_check_code(struct users *, const char *email, const char *code);

#endif
