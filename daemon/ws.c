/*
 * ws.c: a WebSocket client (RFC 6455) over a libevent bufferevent, with
 * wslay doing the framing.
 *
 * States, in order (any of them may jump to FAILED):
 *	RESOLVING  evdns_getaddrinfo for the host (literals answer at once)
 *	CONNECTING nonblocking TCP connect to one address; on failure the next
 *	           address is tried, so a host with a broken IPv6 route still
 *	           works over IPv4.  We connect ourselves rather than with
 *	           bufferevent_socket_connect_hostname to try every address and
 *	           to read the connect error from SO_ERROR reliably.
 *	TLS        wss: OpenSSL bufferevent on the connected socket
 *	HANDSHAKE  upgrade request sent, reading the response headers
 *	OPEN       wslay client context; messages flow
 *	CLOSING    ws_close queued our close frame; waiting for the server's
 *	FAILED     finished; the closed callback is pending (finish_ev)
 *	DONE       closed callback delivered; inert until ws_free
 *
 * ws_fail only records the reason and stops I/O; the transport is torn down
 * and closed runs from finish_ev on a later loop turn.  So no failure
 * detected deep inside wslay or libevent frees anything under their feet,
 * and no user callback runs from inside a ws_ call.  Bufferevents use
 * BEV_OPT_DEFER_CALLBACKS so that none of our callbacks runs from inside a
 * bufferevent or wslay call either (wslay is not reentrant).
 *
 * User callbacks run with depth > 0; ws_free called there only marks the
 * object and the outermost entry point releases it on the way out.
 *
 * The send callback stops (WSLAY_ERR_WOULDBLOCK) while the bufferevent's
 * output holds WS_OUT_HIGH bytes or more, so a large message is not copied
 * twice in full; the write callback resumes when the output drains.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <wslay/wslay.h>

#include "daemon/http.h"
#include "daemon/log.h"
#include "daemon/tls.h"
#include "daemon/ws.h"
#include "daemon/xmalloc.h"

/* Largest handshake response header block. */
#define WS_MAX_RESPONSE (16 * 1024)
/* Stop handing frames to the bufferevent above this much output. */
#define WS_OUT_HIGH (256 * 1024)
/* How long ws_close waits for the server's close frame. */
#define WS_CLOSE_WAIT_SEC 5
/* Longest close reason a close frame can carry. */
#define WS_MAX_CLOSE_REASON 123

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum ws_state {
	WS_RESOLVING,
	WS_CONNECTING,
	WS_TLS,
	WS_HANDSHAKE,
	WS_OPEN,
	WS_CLOSING,
	WS_FAILED,
	WS_DONE
};

struct ws {
	struct event_base *base;
	struct evdns_base *dns;
	struct tls_ctx *tls;
	struct ws_cbs cbs;
	void *arg;
	struct http_url url;
	size_t max_msg;
	int dead_timeout_sec;
	int connect_timeout_sec;

	enum ws_state state;
	int depth;  /* our callbacks on the stack */
	int freed;  /* ws_free ran inside a callback */
	char *reason;

	struct evdns_getaddrinfo_request *dns_req;
	struct evutil_addrinfo *addrs;
	struct evutil_addrinfo *next_addr;
	const struct evutil_addrinfo *cur_addr; /* CONNECTING only */
	int fd;                /* CONNECTING only */
	struct event *conn_ev; /* CONNECTING only */
	char *conn_err;        /* why the last address failed */

	SSL *ssl; /* owned by bev */
	struct bufferevent *bev;
	char *accept; /* expected Sec-WebSocket-Accept */
	wslay_event_context_ptr wslay;

	struct event *connect_timer;
	struct event *dead_timer;
	struct event *close_timer;
	struct event *finish_ev;
};

static void ws_progress(struct ws *);
static void ws_read_frames(struct ws *);

/* A callback of ours starts. */
static void
ws_enter(struct ws *ws)
{
	ws->depth++;
}

static void ws_destroy(struct ws *);

/* A callback of ours ends: release ws if it was freed meanwhile. */
static void
ws_leave(struct ws *ws)
{
	if (--ws->depth == 0 && ws->freed)
		ws_destroy(ws);
}

/* 1 while frames can flow (open, or closing gracefully). */
static int
ws_live(const struct ws *ws)
{
	return ws->state == WS_OPEN || ws->state == WS_CLOSING;
}

/* Keep reason as the closed reason unless one is already set. */
static void
ws_set_reason(struct ws *ws, const char *reason)
{
	if (ws->reason == NULL)
		ws->reason = xstrdup(reason);
}

/* Finish: keep the reason, stop all I/O, run closed on a later turn. */
static void
ws_fail(struct ws *ws, const char *reason)
{
	if (ws->state >= WS_FAILED)
		return;
	ws_set_reason(ws, reason);
	ws->state = WS_FAILED;
	evtimer_del(ws->connect_timer);
	evtimer_del(ws->dead_timer);
	evtimer_del(ws->close_timer);
	if (ws->conn_ev != NULL)
		event_del(ws->conn_ev);
	if (ws->bev != NULL)
		bufferevent_disable(ws->bev, EV_READ | EV_WRITE);
	event_active(ws->finish_ev, EV_TIMEOUT, 1);
}

/* ws_fail with a formatted reason. */
static void
ws_failf(struct ws *ws, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ws_failf(struct ws *ws, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fatal("out of memory");
	va_end(ap);
	ws_fail(ws, s);
	free(s);
}

/* Release the transport: DNS request, socket, TLS, wslay. */
static void
ws_teardown(struct ws *ws)
{
	if (ws->dns_req != NULL) {
		/* Its callback runs with EVUTIL_EAI_CANCEL, ignoring ws. */
		evdns_getaddrinfo_cancel(ws->dns_req);
		ws->dns_req = NULL;
	}
	if (ws->conn_ev != NULL) {
		event_free(ws->conn_ev);
		ws->conn_ev = NULL;
	}
	if (ws->fd != -1) {
		close(ws->fd);
		ws->fd = -1;
	}
	if (ws->bev != NULL) {
		bufferevent_free(ws->bev); /* and the SSL */
		ws->bev = NULL;
		ws->ssl = NULL;
	}
	wslay_event_context_free(ws->wslay);
	ws->wslay = NULL;
}

/* finish_ev: tear down, then tell the user. */
static void
ws_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws *ws = arg;

	ws_enter(ws);
	ws_teardown(ws);
	ws->state = WS_DONE;
	log_debug("%s: closed: %s", ws->url.host, ws->reason);
	if (!ws->freed && ws->cbs.closed != NULL)
		ws->cbs.closed(ws->reason, ws->arg);
	ws_leave(ws);
}

/* Free everything. */
static void
ws_destroy(struct ws *ws)
{
	ws_teardown(ws);
	event_free(ws->connect_timer);
	event_free(ws->dead_timer);
	event_free(ws->close_timer);
	event_free(ws->finish_ev);
	if (ws->addrs != NULL)
		evutil_freeaddrinfo(ws->addrs);
	http_url_clear(&ws->url);
	free(ws->conn_err);
	free(ws->accept);
	free(ws->reason);
	free(ws);
}

/* Free ws, now or when the callback on the stack returns. */
void
ws_free(struct ws *ws)
{
	if (ws == NULL)
		return;
	ws->freed = 1;
	if (ws->depth == 0)
		ws_destroy(ws);
}

/* --- opening handshake ------------------------------------------------ */

/* Base64 of len bytes (caller frees). */
static char *
ws_base64(const unsigned char *in, int len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, len);
	return out;
}

/* The Sec-WebSocket-Accept value for key. */
char *
ws_accept_key(const char *key)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char *s;

	xasprintf(&s, "%s%s", key, WS_GUID);
	if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha1(), NULL) != 1)
		fatal("SHA-1 failed");
	free(s);
	return ws_base64(md, (int)mdlen);
}

/* A fresh random Sec-WebSocket-Key, or NULL if RAND_bytes fails. */
static char *
ws_new_key(void)
{
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof raw) != 1)
		return NULL;
	return ws_base64(raw, sizeof raw);
}

/* 1 if the comma-separated list value contains token (any case). */
static int
ws_has_token(const char *value, const char *token)
{
	size_t n = strlen(token);
	const char *p = value;

	while (*p != '\0') {
		p += strspn(p, " \t,");
		/* strchr also finds the terminating NUL: token at the end */
		if (strncasecmp(p, token, n) == 0 &&
		    strchr(" \t,", p[n]) != NULL)
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

/* What the response headers said about the upgrade. */
struct ws_resp {
	int upgrade;    /* Upgrade: websocket */
	int connection; /* Connection: upgrade */
	int accept;     /* Sec-WebSocket-Accept matched */
};

/* Check one "name: value" header line: 0, or -1 with *reason. */
static int
ws_check_header(char *line, const char *accept, struct ws_resp *rs,
    char **reason)
{
	char *colon = strchr(line, ':'), *v, *end;

	if (colon == NULL || colon == line) {
		xasprintf(reason, "malformed handshake header \"%s\"",
		    log_escape(line, strlen(line), 80));
		return -1;
	}
	*colon = '\0';
	v = colon + 1 + strspn(colon + 1, " \t");
	for (end = v + strlen(v); end > v && strchr(" \t", end[-1]); end--)
		;
	*end = '\0';
	if (strcasecmp(line, "Upgrade") == 0)
		rs->upgrade |= strcasecmp(v, "websocket") == 0;
	else if (strcasecmp(line, "Connection") == 0)
		rs->connection |= ws_has_token(v, "upgrade");
	else if (strcasecmp(line, "Sec-WebSocket-Accept") == 0) {
		if (strcmp(v, accept) != 0) {
			xasprintf(reason, "wrong Sec-WebSocket-Accept \"%s\"",
			    log_escape(v, strlen(v), 80));
			return -1;
		}
		rs->accept = 1;
	} else if (strcasecmp(line, "Sec-WebSocket-Extensions") == 0 ||
	    strcasecmp(line, "Sec-WebSocket-Protocol") == 0) {
		if (*v == '\0')
			return 0;
		xasprintf(reason,
		    "server chose %s \"%s\" that we did not offer", line,
		    log_escape(v, strlen(v), 80));
		return -1;
	}
	return 0;
}

/* Check the status line: 0 if it is 101, else -1 with *reason. */
static int
ws_check_status(const char *line, char **reason)
{
	if (strncmp(line, "HTTP/1.1 101", 12) == 0 &&
	    (line[12] == ' ' || line[12] == '\0'))
		return 0;
	xasprintf(reason,
	    "server answered \"%s\" instead of 101 Switching Protocols",
	    log_escape(line, strlen(line), 100));
	return -1;
}

/* The first missing upgrade header of rs, or NULL. */
static const char *
ws_missing(const struct ws_resp *rs)
{
	if (!rs->upgrade)
		return "Upgrade: websocket";
	if (!rs->connection)
		return "Connection: Upgrade";
	if (!rs->accept)
		return "Sec-WebSocket-Accept";
	return NULL;
}

/* Check a whole response header block. */
int
ws_check_response(const char *resp, size_t len, const char *accept,
    char **reason)
{
	struct ws_resp rs = { 0, 0, 0 };
	char *copy, *p, *line;
	const char *missing;
	int r = -1;

	if (memchr(resp, '\0', len) != NULL) {
		*reason = xstrdup("NUL byte in the handshake response");
		return -1;
	}
	p = copy = xstrndup(resp, len);
	line = strsep(&p, "\r");
	if (ws_check_status(line, reason) != 0)
		goto out;
	while (p != NULL && *p == '\n' && p[1] != '\r' && p[1] != '\0') {
		line = strsep(&p, "\r") + 1;
		if (ws_check_header(line, accept, &rs, reason) != 0)
			goto out;
	}
	if ((missing = ws_missing(&rs)) != NULL) {
		xasprintf(reason, "handshake response lacks %s", missing);
		goto out;
	}
	r = 0;
out:
	free(copy);
	return r;
}

/* --- wslay glue ------------------------------------------------------- */

/* wslay wants bytes: take them from the input buffer. */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct ws *ws = arg;
	int n = evbuffer_remove(bufferevent_get_input(ws->bev), buf, len);

	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return n;
}

/* wslay has frame bytes: queue them unless the output is full. */
static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct ws *ws = arg;
	struct evbuffer *out = bufferevent_get_output(ws->bev);

	if (evbuffer_get_length(out) >= WS_OUT_HIGH) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (evbuffer_add(out, data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* wslay wants a frame mask. */
static int
ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    void *arg)
{
	if (RAND_bytes(buf, (int)len) != 1) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return 0;
}

/* Record the server's close frame as the reason. */
static void
ws_remote_close(struct ws *ws, const struct wslay_event_on_msg_recv_arg *m)
{
	const char *text = "";
	size_t len = 0;
	char *s;

	if (m->msg_length > 2) {
		text = (const char *)m->msg + 2;
		len = m->msg_length - 2;
	}
	if (m->status_code == 0)
		s = xstrdup("server closed the connection (no status)");
	else
		xasprintf(&s, "server closed the connection (%u%s%s)",
		    (unsigned)m->status_code, len > 0 ? ": " : "",
		    log_escape(text, len, WS_MAX_CLOSE_REASON));
	ws_set_reason(ws, s);
	free(s);
}

/* wslay has a complete message (pings are answered by wslay). */
static void
ws_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *m, void *arg)
{
	struct ws *ws = arg;

	switch (m->opcode) {
	case WSLAY_TEXT_FRAME:
	case WSLAY_BINARY_FRAME:
		if (ws->state != WS_OPEN || ws->freed)
			break;
		if (ws->cbs.message != NULL)
			ws->cbs.message((const char *)m->msg, m->msg_length,
			    ws->arg);
		if (ws->freed || ws->state >= WS_FAILED)
			wslay_event_shutdown_read(ctx);
		break;
	case WSLAY_CONNECTION_CLOSE:
		ws_remote_close(ws, m);
		break;
	}
}

/* Why wslay closed by itself, from the close code it sent. */
static char *
ws_local_close_reason(struct ws *ws)
{
	char *s;

	switch (wslay_event_get_status_code_sent(ws->wslay)) {
	case WSLAY_CODE_MESSAGE_TOO_BIG:
		xasprintf(&s, "message from the server larger than %zu bytes",
		    ws->max_msg);
		break;
	case WSLAY_CODE_PROTOCOL_ERROR:
		s = xstrdup("WebSocket protocol error from the server");
		break;
	case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA:
		s = xstrdup("invalid UTF-8 in a text message from the server");
		break;
	default:
		s = xstrdup("connection closed");
		break;
	}
	return s;
}

/* Finish a closing handshake with the reason recorded or implied. */
static void
ws_finish_close(struct ws *ws)
{
	char *s;

	if (ws->reason != NULL) {
		ws_fail(ws, ws->reason);
		return;
	}
	s = ws_local_close_reason(ws);
	ws_fail(ws, s);
	free(s);
}

/* Finish once both directions are shut and the output has drained. */
static void
ws_check_done(struct ws *ws)
{
	if (!ws_live(ws) || wslay_event_want_read(ws->wslay) ||
	    wslay_event_want_write(ws->wslay) ||
	    evbuffer_get_length(bufferevent_get_output(ws->bev)) > 0)
		return;
	ws_finish_close(ws);
}

/* Hand queued frames to the bufferevent, then see if we are done. */
static void
ws_progress(struct ws *ws)
{
	if (!ws_live(ws))
		return;
	if (wslay_event_send(ws->wslay) != 0) {
		ws_fail(ws, "cannot send on the WebSocket");
		return;
	}
	ws_check_done(ws);
}

/* Feed received bytes to wslay. */
static void
ws_read_frames(struct ws *ws)
{
	struct timeval tv = { ws->dead_timeout_sec, 0 };

	evtimer_add(ws->dead_timer, &tv);
	if (wslay_event_recv(ws->wslay) != 0) {
		ws_fail(ws, "cannot receive on the WebSocket");
		return;
	}
	ws_progress(ws);
}

/* Create the wslay client context. */
static void
ws_start_wslay(struct ws *ws)
{
	struct wslay_event_callbacks cbs = {
		ws_recv_cb, ws_send_cb, ws_genmask_cb, NULL, NULL, NULL,
		ws_msg_cb,
	};

	if (wslay_event_context_client_init(&ws->wslay, &cbs, ws) != 0)
		fatal("out of memory");
	wslay_event_config_set_max_recv_msg_length(ws->wslay, ws->max_msg);
}

/* The upgrade succeeded: start framing and tell the user. */
static void
ws_opened(struct ws *ws)
{
	struct timeval tv = { ws->dead_timeout_sec, 0 };

	ws_start_wslay(ws);
	ws->state = WS_OPEN;
	evtimer_del(ws->connect_timer);
	evtimer_add(ws->dead_timer, &tv);
	log_debug("%s: WebSocket open", ws->url.host);
	if (!ws->freed && ws->cbs.open != NULL)
		ws->cbs.open(ws->arg);
	if (ws->freed || !ws_live(ws))
		return;
	/* Frames may have come with the response. */
	if (evbuffer_get_length(bufferevent_get_input(ws->bev)) > 0)
		ws_read_frames(ws);
	else
		ws_progress(ws);
}

/* Read the handshake response once its headers are complete. */
static void
ws_read_response(struct ws *ws)
{
	struct evbuffer *in = bufferevent_get_input(ws->bev);
	struct evbuffer_ptr end;
	size_t hlen;
	char *reason;

	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0) {
		if (evbuffer_get_length(in) > WS_MAX_RESPONSE)
			ws_failf(ws, "handshake response headers exceed %d "
			    "bytes", WS_MAX_RESPONSE);
		return;
	}
	hlen = (size_t)end.pos + 4;
	if (hlen > WS_MAX_RESPONSE) {
		ws_failf(ws, "handshake response headers exceed %d bytes",
		    WS_MAX_RESPONSE);
		return;
	}
	if (ws_check_response((const char *)evbuffer_pullup(in, hlen), hlen,
	    ws->accept, &reason) != 0) {
		ws_fail(ws, reason);
		free(reason);
		return;
	}
	evbuffer_drain(in, hlen);
	ws_opened(ws);
}

/* Send the upgrade request. */
static void
ws_send_request(struct ws *ws)
{
	char *key;

	if ((key = ws_new_key()) == NULL) {
		ws_fail(ws, "cannot generate a WebSocket key");
		return;
	}
	ws->accept = ws_accept_key(key);
	evbuffer_add_printf(bufferevent_get_output(ws->bev),
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: instantd/" PACKAGE_VERSION "\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n",
	    ws->url.target, ws->url.host_header, key);
	free(key);
	ws->state = WS_HANDSHAKE;
}

/* --- bufferevent callbacks -------------------------------------------- */

/* Input arrived. */
static void
ws_read_cb(struct bufferevent *bev, void *arg)
{
	struct ws *ws = arg;

	ws_enter(ws);
	if (ws->state == WS_HANDSHAKE)
		ws_read_response(ws);
	else if (ws_live(ws))
		ws_read_frames(ws);
	ws_leave(ws);
}

/* The output drained. */
static void
ws_write_cb(struct bufferevent *bev, void *arg)
{
	struct ws *ws = arg;

	ws_enter(ws);
	ws_progress(ws);
	ws_leave(ws);
}

/* Why the connection ended, from a bufferevent event in this state. */
static char *
ws_event_reason(struct ws *ws, short what)
{
	unsigned long ssl_err = ws->ssl != NULL ?
	    tls_bufferevent_error(ws->bev) : 0;
	char buf[256], *s;

	if (ws->state == WS_TLS)
		return tls_describe_failure(ws->ssl, ssl_err, 0);
	if (ssl_err != 0) {
		ERR_error_string_n(ssl_err, buf, sizeof buf);
		xasprintf(&s, "TLS error: %s", buf);
	} else if (ws->state == WS_HANDSHAKE)
		s = xstrdup((what & BEV_EVENT_EOF) ?
		    "connection closed during the WebSocket handshake" :
		    "connection error during the WebSocket handshake");
	else
		s = xstrdup((what & BEV_EVENT_EOF) ?
		    "connection closed by the server without a close frame" :
		    "connection lost");
	return s;
}

/* TLS connected, or the connection ended. */
static void
ws_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ws *ws = arg;
	char *reason;

	ws_enter(ws);
	if ((what & BEV_EVENT_CONNECTED) && ws->state == WS_TLS)
		ws_send_request(ws);
	else if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) &&
	    ws->state < WS_FAILED) {
		reason = ws_event_reason(ws, what);
		ws_fail(ws, reason);
		free(reason);
	}
	ws_leave(ws);
}

/* --- connecting ------------------------------------------------------- */

/* Wrap the connected fd in a (TLS) bufferevent; 0 or -1 (failed). */
static int
ws_make_bev(struct ws *ws)
{
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	char *err;

	if (!ws->url.tls) {
		ws->bev = bufferevent_socket_new(ws->base, ws->fd, opts);
	} else {
		if ((ws->ssl = tls_ssl_new(ws->tls, ws->url.host, &err)) ==
		    NULL) {
			ws_fail(ws, err);
			free(err);
			return -1;
		}
		ws->bev = bufferevent_openssl_socket_new(ws->base, ws->fd,
		    ws->ssl, BUFFEREVENT_SSL_CONNECTING, opts);
	}
	if (ws->bev == NULL)
		fatal("cannot create a bufferevent");
	ws->fd = -1; /* the bufferevent owns it now */
	if (ws->url.tls)
		bufferevent_openssl_set_allow_dirty_shutdown(ws->bev, 1);
	return 0;
}

/* TCP is up: start TLS or the handshake. */
static void
ws_tcp_connected(struct ws *ws)
{
	int one = 1;

	setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (ws_make_bev(ws) != 0)
		return;
	bufferevent_setcb(ws->bev, ws_read_cb, ws_write_cb, ws_event_cb, ws);
	bufferevent_enable(ws->bev, EV_READ | EV_WRITE);
	if (ws->url.tls)
		ws->state = WS_TLS;
	else
		ws_send_request(ws);
}

/* Note that connecting to sa failed with error e. */
static void
ws_conn_failed(struct ws *ws, const struct sockaddr *sa, socklen_t len,
    int e)
{
	char host[NI_MAXHOST];

	if (getnameinfo(sa, len, host, sizeof host, NULL, 0,
	    NI_NUMERICHOST) != 0)
		strcpy(host, "?");
	free(ws->conn_err);
	xasprintf(&ws->conn_err, "%s: %s", host, strerror(e));
	log_debug("connect to %s port %d: %s", host, ws->url.port,
	    strerror(e));
}

/* Start a nonblocking connect to ai: 0, or -1 with conn_err set. */
static int
ws_tcp_start(struct ws *ws, const struct evutil_addrinfo *ai)
{
	int fd, e;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		ws_conn_failed(ws, ai->ai_addr, ai->ai_addrlen, errno);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
	    errno != EINPROGRESS) {
		e = errno;
		close(fd);
		ws_conn_failed(ws, ai->ai_addr, ai->ai_addrlen, e);
		return -1;
	}
	ws->fd = fd;
	return 0;
}

static void ws_conn_cb(evutil_socket_t, short, void *);

/* Connect to the next address; fail when none is left. */
static void
ws_try_next(struct ws *ws)
{
	const struct evutil_addrinfo *ai;

	while ((ai = ws->next_addr) != NULL) {
		ws->next_addr = ai->ai_next;
		if (ws_tcp_start(ws, ai) != 0)
			continue;
		ws->cur_addr = ai;
		ws->state = WS_CONNECTING;
		ws->conn_ev = event_new(ws->base, ws->fd, EV_WRITE, ws_conn_cb,
		    ws);
		if (ws->conn_ev == NULL)
			fatal("out of memory");
		event_add(ws->conn_ev, NULL);
		return;
	}
	ws_failf(ws, "cannot connect to %s port %d: %s", ws->url.host,
	    ws->url.port, ws->conn_err != NULL ? ws->conn_err : "no address");
}

/* The connect finished, one way or the other. */
static void
ws_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws *ws = arg;
	const struct evutil_addrinfo *ai = ws->cur_addr;
	socklen_t elen = sizeof(int);
	int e = 0;

	ws_enter(ws);
	event_free(ws->conn_ev);
	ws->conn_ev = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
		e = errno;
	if (e == 0) {
		ws_tcp_connected(ws);
	} else {
		close(ws->fd);
		ws->fd = -1;
		ws_conn_failed(ws, ai->ai_addr, ai->ai_addrlen, e);
		ws_try_next(ws);
	}
	ws_leave(ws);
}

/* evdns answered. */
static void
ws_dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct ws *ws = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return; /* ws may be gone: see ws_teardown */
	ws_enter(ws);
	ws->dns_req = NULL;
	if (ws->state != WS_RESOLVING) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
	} else if (result != 0) {
		ws_failf(ws, "cannot resolve %s: %s", ws->url.host,
		    evutil_gai_strerror(result));
	} else {
		ws->addrs = ws->next_addr = res;
		ws_try_next(ws);
	}
	ws_leave(ws);
}

/* Start resolving (literals and hosts-file names may answer at once). */
static void
ws_resolve(struct ws *ws)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	char port[8];

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof port, "%d", ws->url.port);
	ws->state = WS_RESOLVING;
	/* NULL when the callback already ran. */
	req = evdns_getaddrinfo(ws->dns, ws->url.host, port, &hints,
	    ws_dns_cb, ws);
	ws->dns_req = req;
}

/* A timer: the connection was not open in time. */
static void
ws_connect_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws *ws = arg;

	ws_enter(ws);
	ws_failf(ws, "no WebSocket connection to %s within %d s",
	    ws->url.host, ws->connect_timeout_sec);
	ws_leave(ws);
}

/* A timer: nothing came in for dead_timeout_sec. */
static void
ws_dead_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws *ws = arg;

	ws_enter(ws);
	ws_failf(ws, "nothing received from the server for %d s",
	    ws->dead_timeout_sec);
	ws_leave(ws);
}

/* A timer: the server did not answer our close frame. */
static void
ws_close_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws *ws = arg;

	ws_enter(ws);
	ws_finish_close(ws);
	ws_leave(ws);
}

/* Allocate ws with its options and timers. */
static struct ws *
ws_alloc(struct event_base *base, struct evdns_base *dns,
    struct tls_ctx *tls, const struct ws_opts *o, const struct ws_cbs *cbs,
    void *arg)
{
	struct ws *ws = xcalloc(1, sizeof *ws);

	ws->base = base;
	ws->dns = dns;
	ws->tls = tls;
	ws->cbs = *cbs;
	ws->arg = arg;
	ws->fd = -1;
	ws->max_msg = o != NULL && o->max_msg > 0 ? o->max_msg :
	    WS_DEFAULT_MAX_MSG;
	ws->dead_timeout_sec = o != NULL && o->dead_timeout_sec > 0 ?
	    o->dead_timeout_sec : WS_DEFAULT_DEAD_TIMEOUT;
	ws->connect_timeout_sec = o != NULL && o->connect_timeout_sec > 0 ?
	    o->connect_timeout_sec : WS_DEFAULT_CONNECT_TIMEOUT;
	ws->connect_timer = evtimer_new(base, ws_connect_timer_cb, ws);
	ws->dead_timer = evtimer_new(base, ws_dead_timer_cb, ws);
	ws->close_timer = evtimer_new(base, ws_close_timer_cb, ws);
	ws->finish_ev = event_new(base, -1, 0, ws_finish_cb, ws);
	if (ws->connect_timer == NULL || ws->dead_timer == NULL ||
	    ws->close_timer == NULL || ws->finish_ev == NULL)
		fatal("out of memory");
	return ws;
}

/* Start connecting. */
struct ws *
ws_connect(struct event_base *base, struct evdns_base *dns, const char *uri,
    struct tls_ctx *tls, const struct ws_opts *o, const struct ws_cbs *cbs,
    void *arg, char **err)
{
	struct http_url url;
	struct timeval tv;
	struct ws *ws;

	if (http_url_parse(uri, "ws wss", &url, err) != 0)
		return NULL;
	if (url.tls && tls == NULL) {
		*err = xstrdup("wss:// needs a TLS context");
		http_url_clear(&url);
		return NULL;
	}
	ws = ws_alloc(base, dns, tls, o, cbs, arg);
	ws->url = url;
	tv.tv_sec = ws->connect_timeout_sec;
	tv.tv_usec = 0;
	evtimer_add(ws->connect_timer, &tv);
	log_debug("connecting to %s port %d", ws->url.host, ws->url.port);
	ws_resolve(ws);
	return ws;
}

/* --- sending and closing ---------------------------------------------- */

/* Queue a text message. */
int
ws_send_text(struct ws *ws, const char *text, size_t len)
{
	struct wslay_event_msg m = { WSLAY_TEXT_FRAME, (const uint8_t *)text,
		len };

	if (ws->state != WS_OPEN)
		return -1;
	if (wslay_event_queue_msg(ws->wslay, &m) != 0)
		return -1;
	if (ws->depth == 0) {
		ws_enter(ws);
		ws_progress(ws);
		ws_leave(ws);
	}
	return 0;
}

/* Length of s cut to at most max bytes on a UTF-8 boundary. */
static size_t
ws_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* Close gracefully, or abandon a connection that is not open yet. */
void
ws_close(struct ws *ws, const char *reason)
{
	struct timeval tv = { WS_CLOSE_WAIT_SEC, 0 };

	if (ws->state >= WS_CLOSING)
		return;
	if (reason == NULL)
		reason = "closed locally";
	ws_enter(ws);
	if (ws->state != WS_OPEN) {
		ws_fail(ws, reason);
	} else {
		ws->state = WS_CLOSING;
		evtimer_add(ws->close_timer, &tv);
		/* Fails if wslay already closed (error, size): keep its reason. */
		if (wslay_event_queue_close(ws->wslay,
		    WSLAY_CODE_NORMAL_CLOSURE, (const uint8_t *)reason,
		    ws_utf8_cut(reason, WS_MAX_CLOSE_REASON)) == 0)
			ws_set_reason(ws, reason);
		if (ws->depth == 1)
			ws_progress(ws);
	}
	ws_leave(ws);
}

/* Bytes not yet written to the socket. */
size_t
ws_pending_output(const struct ws *ws)
{
	size_t n = 0;

	if (ws->state >= WS_FAILED)
		return 0;
	if (ws->bev != NULL)
		n += evbuffer_get_length(bufferevent_get_output(ws->bev));
	if (ws->wslay != NULL)
		n += wslay_event_get_queued_msg_length(ws->wslay);
	return n;
}
