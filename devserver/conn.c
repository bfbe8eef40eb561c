/*
 * conn.c: the request phase of a connection and its routing.
 *
 * Requests are read with http.c under caps.  Main listener routes:
 *   GET /runtime/session?app_id=...   WebSocket upgrade (ws.c)
 *   GET /health/system                {"wal":"ok"}
 *   POST /runtime/auth/...            auth.c
 * The control listener sends everything to control.c.  A response is
 * written with Connection: close and the connection is finished once the
 * output has drained.  A connection never frees itself inside its own
 * callbacks: it tells its owner (conn_done_cb), which frees it from a
 * deferred event.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "daemon/log.h"
#include "daemon/xmalloc.h"
#include "devserver/auth.h"
#include "devserver/conn.h"
#include "devserver/control.h"
#include "devserver/http.h"
#include "devserver/server.h"
#include "devserver/ws.h"

#define CONN_READ_TIMEOUT_S 30

struct conn {
	struct server *server;
	enum conn_kind kind;
	struct bufferevent *bev;
	struct http_request req;
	struct ws *ws;
	conn_done_cb done;
	void *arg;
	int finished;
};

/* Report the end of the connection to the owner, once. */
static void
conn_finish(struct conn *c)
{
	if (c->finished)
		return;
	c->finished = 1;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	c->done(c, c->arg);
}

/* ws.c is done with the connection. */
static void
conn_ws_done(void *arg)
{
	conn_finish(arg);
}

/* The response has been written out. */
static void
conn_written_cb(struct bufferevent *bev, void *arg)
{
	conn_finish(arg);
}

/* Write a response and finish once it has drained. */
static void
conn_respond(struct conn *c, int status, const char *json)
{
	bufferevent_setcb(c->bev, NULL, conn_written_cb, NULL, c);
	bufferevent_disable(c->bev, EV_READ);
	http_response_json(bufferevent_get_output(c->bev), status, json);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* Check the upgrade headers and answer 101: 0, or -1 after an error
 * response. */
static int
conn_handshake(struct conn *c)
{
	const struct http_request *r = &c->req;
	const char *up = http_request_header(r, "Upgrade");
	const char *co = http_request_header(r, "Connection");
	const char *ver = http_request_header(r, "Sec-WebSocket-Version");
	const char *key = http_request_header(r, "Sec-WebSocket-Key");
	char accept[WS_ACCEPT_LEN + 1];

	if (strcmp(r->method, "GET") != 0 || up == NULL ||
	    !http_header_has_token(up, "websocket") || co == NULL ||
	    !http_header_has_token(co, "upgrade")) {
		conn_respond(c, 426,
			     "{\"message\":\"WebSocket upgrade "
			     "required\"}");
		return -1;
	}
	if (ver == NULL || strcmp(ver, "13") != 0 || key == NULL ||
	    ws_accept_key(key, accept) != 0) {
		conn_respond(c, 400,
			     "{\"message\":\"Bad WebSocket handshake\"}");
		return -1;
	}
	evbuffer_add_printf(
	    bufferevent_get_output(c->bev),
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
	    accept);
	return 0;
}

/* Upgrade to a WebSocket session. */
static void
conn_upgrade(struct conn *c)
{
	if (conn_handshake(c) != 0)
		return;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	c->ws = ws_create(c->server, c->bev, conn_ws_done, c);
	if (c->ws == NULL)
		conn_finish(c);
}

/* Route a request on the main listener. */
static void
conn_route_main(struct conn *c)
{
	const char *path = c->req.path;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (strcmp(path, "/runtime/session") == 0) {
		conn_upgrade(c);
		return;
	}
	bufferevent_setcb(c->bev, NULL, conn_written_cb, NULL, c);
	bufferevent_disable(c->bev, EV_READ);
	if (strcmp(path, "/health/system") == 0 &&
	    strcmp(c->req.method, "GET") == 0)
		http_response_json(out, 200, "{\"wal\":\"ok\"}");
	else if (auth_handle(c->server, &c->req, out) != 0)
		http_response_json(out, 404, "{\"message\":\"Not found\"}");
	bufferevent_enable(c->bev, EV_WRITE);
}

/* Route a request on the control listener. */
static void
conn_route_control(struct conn *c)
{
	bufferevent_setcb(c->bev, NULL, conn_written_cb, NULL, c);
	bufferevent_disable(c->bev, EV_READ);
	control_handle(c->server, &c->req, bufferevent_get_output(c->bev));
	bufferevent_enable(c->bev, EV_WRITE);
}

/* Request bytes arrived. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	int r;

	r = http_request_parse(&c->req, bufferevent_get_input(bev),
			       HTTP_MAX_BODY);
	if (r == 0)
		return;
	if (r < 0) {
		log_debug("bad request: status %d", c->req.status);
		conn_respond(c, c->req.status, "{\"message\":\"Bad request\"}");
		return;
	}
	log_debug("%s %s", c->req.method,
		  log_escape(c->req.path, strlen(c->req.path), 200));
	if (c->kind == CONN_MAIN)
		conn_route_main(c);
	else
		conn_route_control(c);
}

/* EOF, error or timeout before a complete request. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	conn_finish(arg);
}

/* Accept a connection. */
struct conn *
conn_create(struct server *server, evutil_socket_t fd, enum conn_kind kind,
	    conn_done_cb done, void *arg)
{
	struct timeval tv = {CONN_READ_TIMEOUT_S, 0};
	struct conn *c = xcalloc(1, sizeof *c);

	c->server = server;
	c->kind = kind;
	c->done = done;
	c->arg = arg;
	http_request_init(&c->req);
	c->bev = bufferevent_socket_new(server_base(server), fd,
					BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ);
	return c;
}

/* Free a connection and close its socket. */
void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	ws_free(c->ws);
	bufferevent_free(c->bev);
	http_request_clear(&c->req);
	free(c);
}
