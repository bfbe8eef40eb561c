/*
 * auth.c: guest sign-in, magic codes and refresh-token checks.
 *
 * Magic codes are six random digits.  This is a development server: the
 * code is written to the log (at info) so tests and developers can read
 * it; refresh tokens are never logged.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "daemon/log.h"
#include "devserver/app.h"
#include "devserver/auth.h"
#include "devserver/error.h"
#include "devserver/http.h"
#include "devserver/server.h"
#include "devserver/users.h"

#define AUTH_MAX_EMAIL 320

/* Write v (stolen) with status. */
static void
auth_reply(struct evbuffer *out, int status, json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);

	json_decref(v);
	http_response_json(out, status, text != NULL ? text : "{}");
	free(text);
}

/* Write an Instant error object (stolen) as the body. */
static void
auth_error(struct evbuffer *out, json_t *err)
{
	int status = (int)json_integer_value(json_object_get(err, "status"));

	json_object_del(err, "status");
	auth_reply(out, status != 0 ? status : 400, err);
}

/* The string field name of body, or NULL. */
static const char *
auth_field(const json_t *body, const char *name)
{
	return json_string_value(json_object_get(body, name));
}

/* Give a new user its $users entity and tell the app's sessions: 0 or -1. */
static int
auth_user_created(struct server *sv, struct app *a, const json_t *user)
{
	struct app_commit c;

	if (app_add_user(a, user, &c) != 0)
		return -1;
	server_app_changed(sv, a, &c);
	app_commit_clear(&c);
	return 0;
}

/* POST sign_in_guest. */
static void
auth_guest(struct server *sv, struct app *a, const json_t *body,
	   struct evbuffer *out)
{
	json_t *user = users_new_guest(app_users(a));

	if (user == NULL || auth_user_created(sv, a, user) != 0) {
		json_decref(user);
		auth_error(out, error_new(500, "sql-exception",
					  "Database error", NULL));
		return;
	}
	auth_reply(out, 200, json_pack("{s:o}", "user", user));
}

/* A six-digit code. */
static int
auth_new_code(char code[7])
{
	unsigned char b[4];
	unsigned v;

	if (RAND_bytes(b, sizeof b) != 1)
		return -1;
	v = ((unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 |
	     b[3]) %
	    1000000u;
	snprintf(code, 7, "%06u", v);
	return 0;
}

/* A usable email field, or NULL. */
static const char *
auth_email(const json_t *body)
{
	const char *email = auth_field(body, "email");

	if (email == NULL || strlen(email) > AUTH_MAX_EMAIL ||
	    strchr(email, '@') == NULL)
		return NULL;
	return email;
}

/* POST send_magic_code. */
static void
auth_send_code(struct server *sv, struct app *a, const json_t *body,
	       struct evbuffer *out)
{
	const char *email = auth_email(body);
	char code[7], esc[AUTH_MAX_EMAIL * 4 + 8];

	if (email == NULL) {
		auth_error(out, error_param_malformed(
				    "email", json_object_get(body, "email")));
		return;
	}
	if (auth_new_code(code) != 0 ||
	    users_set_code(app_users(a), email, code) != 0) {
		auth_error(out, error_new(500, "sql-exception",
					  "Database error", NULL));
		return;
	}
	snprintf(esc, sizeof esc, "%s",
		 log_escape(email, strlen(email), AUTH_MAX_EMAIL));
	log_info("magic code for %s in app %s: %s", esc, app_id(a), code);
	auth_reply(out, 200, json_pack("{s:b}", "sent", 1));
}

/* POST verify_magic_code. */
static void
auth_verify_code(struct server *sv, struct app *a, const json_t *body,
		 struct evbuffer *out)
{
	const char *email = auth_email(body), *code = auth_field(body, "code");
	json_t *user;
	int created, ok;

	if (email == NULL || code == NULL) {
		auth_error(
		    out, error_param_missing(email == NULL ? "email" : "code"));
		return;
	}
	ok = users_check_code(app_users(a), email, code);
	if (ok != 1) {
		auth_error(out, error_not_found("app-email-magic-code"));
		return;
	}
	user = users_sign_in_email(app_users(a), email, &created);
	if (user == NULL || (created && auth_user_created(sv, a, user) != 0)) {
		json_decref(user);
		auth_error(out, error_new(500, "sql-exception",
					  "Database error", NULL));
		return;
	}
	auth_reply(out, 200,
		   json_pack("{s:o,s:b}", "user", user, "created", created));
}

/* POST verify_refresh_token. */
static void
auth_verify_token(struct server *sv, struct app *a, const json_t *body,
		  struct evbuffer *out)
{
	const char *token = auth_field(body, "refresh-token");
	json_t *user;

	if (token == NULL) {
		auth_error(out, error_param_missing("refresh-token"));
		return;
	}
	if ((user = users_by_token(app_users(a), token)) == NULL) {
		auth_error(out, error_not_found("app-user"));
		return;
	}
	auth_reply(out, 200, json_pack("{s:o}", "user", user));
}

/* POST /runtime/signout: forget the refresh token. */
static void
auth_sign_out(struct server *sv, struct app *a, const json_t *body,
	      struct evbuffer *out)
{
	const char *token = auth_field(body, "refresh_token");

	if (token == NULL) {
		auth_error(out, error_param_missing("refresh_token"));
		return;
	}
	if (users_sign_out(app_users(a), token) != 0) {
		auth_error(out, error_new(500, "sql-exception",
					  "Database error", NULL));
		return;
	}
	auth_reply(out, 200, json_object());
}

/* Parse the body and find the app named by its app_key field: the app, or
 * NULL after an error response. */
static struct app *
auth_app(struct server *sv, const struct http_request *req, const char *app_key,
	 json_t **body, struct evbuffer *out)
{
	json_t *err = NULL;
	const char *id;
	struct app *a;

	*body = json_loadb(req->body != NULL ? req->body : "", req->body_len, 0,
			   NULL);
	if (!json_is_object(*body)) {
		auth_error(out, error_new(400, "param-malformed",
					  "Body must be a JSON object", NULL));
		return NULL;
	}
	if ((id = auth_field(*body, app_key)) == NULL) {
		auth_error(out, error_param_missing(app_key));
		return NULL;
	}
	if ((a = server_app(sv, id, &err)) == NULL)
		auth_error(out, err);
	return a;
}

/* Route an auth request. */
int
auth_handle(struct server *sv, const struct http_request *req,
	    struct evbuffer *out)
{
	static const struct {
		const char *path;
		const char *app_key;
		void (*fn)(struct server *, struct app *, const json_t *,
			   struct evbuffer *);
	} routes[] = {
	    {"/runtime/auth/sign_in_guest", "app-id", auth_guest},
	    {"/runtime/auth/send_magic_code", "app-id", auth_send_code},
	    {"/runtime/auth/verify_magic_code", "app-id", auth_verify_code},
	    {"/runtime/auth/verify_refresh_token", "app-id", auth_verify_token},
	    {"/runtime/signout", "app_id", auth_sign_out},
	};
	json_t *body = NULL;
	struct app *a;

	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(req->path, routes[i].path) != 0)
			continue;
		if (strcmp(req->method, "POST") != 0) {
			auth_reply(out, 405,
				   json_pack("{s:s}", "message",
					     "Method not allowed"));
			return 0;
		}
		if ((a = auth_app(sv, req, routes[i].app_key, &body, out)) !=
		    NULL)
			routes[i].fn(sv, a, body, out);
		json_decref(body);
		return 0;
	}
	return -1;
}
