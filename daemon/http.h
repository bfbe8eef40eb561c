/*
 * http.h: URLs of the http family, and a small asynchronous HTTP client for
 * the JSON calls instantd makes to an Instant server's API (auth).
 */
#ifndef DAEMON_HTTP_H
#define DAEMON_HTTP_H

#include <stddef.h>

#include <jansson.h>

struct event_base;
struct evdns_base;
struct tls_ctx;

/* An http://, https://, ws:// or wss:// URL taken apart. */
struct http_url {
	int tls;           /* https or wss */
	char *host;        /* without brackets: "example.org", "::1" */
	int port;          /* explicit, or 80/443 by scheme */
	char *host_header; /* "example.org", "[::1]:8888" (port if not
			      the scheme's) */
	char *target;      /* path and query: "/runtime/session?app_id=x" */
};

/*
 * Parse url, accepting the schemes in schemes (a subset of "http", "https",
 * "ws", "wss", space separated).  User info and fragments are refused.
 * 0, or -1 with a message in *err (caller frees).  Free with
 * http_url_clear.
 */
int http_url_parse(const char *url, const char *schemes, struct http_url *,
    char **err);
void http_url_clear(struct http_url *);

/* The largest response body accepted. */
#define HTTP_MAX_BODY (1024 * 1024)

/*
 * Called once per request: status is the HTTP status (0 when no response
 * arrived); body is the parsed JSON response, or NULL when the body was
 * empty or not JSON (borrowed: json_incref it to keep it); err is NULL on
 * success (any status), else why the request failed or why the body was
 * refused.  The request handle is gone once this is called.
 */
typedef void (*http_cb)(int status, json_t *body, const char *err,
    void *arg);

struct http_req;

/*
 * Start method ("GET" or "POST") on url (http:// or https://; https
 * needs tls), sending body as JSON when not NULL, giving up after
 * timeout_sec seconds in all.  cb runs from the event loop, never from
 * inside this call.  Returns a handle for http_cancel, or NULL with a
 * message in *err (caller frees) if the request cannot be started (bad
 * URL or method, https without tls); cb is not called then.
 */
struct http_req *http_request(struct event_base *, struct evdns_base *,
    struct tls_ctx *tls, const char *method, const char *url,
    const json_t *body, int timeout_sec, http_cb cb, void *arg, char **err);

/*
 * Abandon a request whose callback has not run yet: cb will not be called.
 * Not to be called from inside or after the request's callback.
 */
void http_cancel(struct http_req *);

#endif
