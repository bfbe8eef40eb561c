/*
 * auth.h: the HTTP auth endpoints the client libraries call, shaped as
 * Instant's (POST, JSON bodies with "app-id"):
 *
 *   /runtime/auth/sign_in_guest        -> {"user": {...}}
 *   /runtime/auth/send_magic_code      -> {"sent": true}; the code is
 *                                         written to the log
 *   /runtime/auth/verify_magic_code    -> {"user": {...}, "created": bool}
 *   /runtime/auth/verify_refresh_token -> {"user": {...}}
 *   /runtime/signout                   -> {} (body: app_id, refresh_token)
 *
 * Failures answer 400 with Instant's {type, message, hint}.
 */
#ifndef DEVSERVER_AUTH_H
#define DEVSERVER_AUTH_H

#include <event2/buffer.h>

struct server;
struct http_request;

/* Answer req into out: 0, or -1 if req is no auth route (nothing
 * written). */
int auth_handle(struct server *, const struct http_request *,
		struct evbuffer *out);

#endif
