/*
 * ws.c: wslay's server context driven by a bufferevent.
 *
 * wslay reads through ws_recv_cb from the bufferevent's input buffer and
 * writes through ws_send_cb into its output buffer; both report
 * WSLAY_ERR_WOULDBLOCK instead of blocking (no bytes in, or the output
 * above WS_MAX_OUTPUT), and the bufferevent's read and write callbacks
 * drive wslay_event_recv/wslay_event_send again.  Incoming messages are
 * capped with max_recv_msg_length.  Every message the session sends is
 * queued with wslay_event_queue_msg, which copies it.
 *
 * Liveness follows Instant's server: a ping every ping_ms, and the
 * connection is closed when the last frame from the client (data, ping,
 * pong or close) is older than idle_ms at a check.  The check runs every
 * min(ping_ms, idle_ms).
 *
 * Back-pressure: the client is read only while the output buffer holds
 * less than WS_MAX_OUTPUT, so a client that does not read stops being
 * served; one whose queue of unsent messages (refreshes caused by other
 * sessions) passes WS_MAX_QUEUED is disconnected.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

#include "daemon/log.h"
#include "daemon/xmalloc.h"
#include "devserver/faults.h"
#include "devserver/server.h"
#include "devserver/session.h"
#include "devserver/ws.h"

#define WS_MAX_OUTPUT (16 * 1024 * 1024)
#define WS_MAX_QUEUED (64 * 1024 * 1024)
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct ws {
	struct server *server;
	struct bufferevent *bev;
	wslay_event_context_ptr ctx;
	struct session *session;
	struct event *timer;
	struct timeval last_rx;
	void (*done)(void *);
	void *arg;
	int finished;
	int in_recv; /* inside wslay_event_recv: queue, flush after */
};

/* Compute the accept header value. */
int
ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	unsigned char nonce[32], digest[SHA_DIGEST_LENGTH];
	char buf[64];
	int n;

	if (strlen(key) != 24)
		return -1;
	n = EVP_DecodeBlock(nonce, (const unsigned char *)key, 24);
	/* 24 base64 chars decode to 18 bytes, two of them '=' padding */
	if (n != 18 || key[22] != '=' || key[23] != '=')
		return -1;
	snprintf(buf, sizeof buf, "%s%s", key, WS_GUID);
	SHA1((const unsigned char *)buf, strlen(buf), digest);
	EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
	return 0;
}

/* Tell the owner, once, that the connection is over. */
static void
ws_finish(struct ws *w)
{
	if (w->finished)
		return;
	w->finished = 1;
	bufferevent_disable(w->bev, EV_READ);
	w->done(w->arg);
}

/* wslay wants bytes: take them from the input buffer. */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
	   void *arg)
{
	struct ws *w = arg;
	int n;

	n = evbuffer_remove(bufferevent_get_input(w->bev), buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return n;
}

/* wslay has bytes to send: append them to the output buffer. */
static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
	   int flags, void *arg)
{
	struct ws *w = arg;
	struct evbuffer *out = bufferevent_get_output(w->bev);

	if (evbuffer_get_length(out) > WS_MAX_OUTPUT) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (evbuffer_add(out, data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* A whole message (or control frame) arrived. */
static void
ws_msg_cb(wslay_event_context_ptr ctx,
	  const struct wslay_event_on_msg_recv_arg *m, void *arg)
{
	struct ws *w = arg;

	gettimeofday(&w->last_rx, NULL);
	if (m->opcode == WSLAY_TEXT_FRAME || m->opcode == WSLAY_BINARY_FRAME)
		session_receive(w->session, (const char *)m->msg,
				m->msg_length);
}

/* Read from the client only while its output has room. */
static void
ws_throttle(struct ws *w, size_t pending)
{
	if (pending >= WS_MAX_OUTPUT)
		bufferevent_disable(w->bev, EV_READ);
	else
		bufferevent_enable(w->bev, EV_READ);
}

/* Push what wslay has queued; finish when both directions are done. */
static void
ws_flush(struct ws *w)
{
	size_t pending;

	if (w->finished)
		return;
	if (wslay_event_send(w->ctx) != 0) {
		ws_finish(w);
		return;
	}
	pending = evbuffer_get_length(bufferevent_get_output(w->bev));
	if (!wslay_event_want_read(w->ctx) && !wslay_event_want_write(w->ctx) &&
	    pending == 0) {
		ws_finish(w);
		return;
	}
	ws_throttle(w, pending);
}

/* Bytes arrived. */
static void
ws_read_cb(struct bufferevent *bev, void *arg)
{
	struct ws *w = arg;
	int r;

	gettimeofday(&w->last_rx, NULL);
	w->in_recv = 1;
	r = wslay_event_recv(w->ctx);
	w->in_recv = 0;
	if (r != 0) {
		ws_finish(w);
		return;
	}
	ws_flush(w);
}

/* The output drained: continue sending. */
static void
ws_write_cb(struct bufferevent *bev, void *arg)
{
	ws_flush(arg);
}

/* EOF or a socket error. */
static void
ws_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		ws_finish(arg);
}

/* Session callback: send one text message. */
static void
ws_session_send(void *arg, const char *text, size_t len)
{
	struct ws *w = arg;
	struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text,
				      len};

	if (w->finished)
		return;
	if (wslay_event_get_queued_msg_length(w->ctx) > WS_MAX_QUEUED) {
		log_warn("closing session %s: the client does not read",
			 session_id(w->session));
		ws_finish(w);
		return;
	}
	if (wslay_event_queue_msg(w->ctx, &msg) != 0) {
		ws_finish(w);
		return;
	}
	/* wslay is not re-entered: a reply to a message being received is
	 * sent when wslay_event_recv has returned */
	if (!w->in_recv)
		ws_flush(w);
}

/* Session callback: drop the connection at once. */
static void
ws_session_close(void *arg)
{
	ws_finish(arg);
}

/* Milliseconds from a to b. */
static long
ws_elapsed_ms(const struct timeval *a, const struct timeval *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L +
	       (b->tv_usec - a->tv_usec) / 1000L;
}

/* Liveness check: close an idle client, else ping it. */
static void
ws_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws *w = arg;
	const struct server_config *cfg = server_config(w->server);
	struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
	struct timeval now;

	gettimeofday(&now, NULL);
	if (ws_elapsed_ms(&w->last_rx, &now) > cfg->idle_ms) {
		log_info("closing session %s: idle for more than %d ms",
			 session_id(w->session), cfg->idle_ms);
		wslay_event_queue_close(w->ctx, WSLAY_CODE_GOING_AWAY, NULL, 0);
		wslay_event_shutdown_read(w->ctx);
	} else if (!server_faults(w->server)->no_ping)
		wslay_event_queue_msg(w->ctx, &ping);
	ws_flush(w);
}

/* Set up wslay, the session and the liveness timer. */
struct ws *
ws_create(struct server *server, struct bufferevent *bev, void (*done)(void *),
	  void *arg)
{
	static const struct wslay_event_callbacks cbs = {
	    ws_recv_cb, ws_send_cb, NULL, NULL, NULL, NULL, ws_msg_cb};
	const struct server_config *cfg = server_config(server);
	struct session_io io = {ws_session_send, ws_session_close, NULL};
	struct ws *w = xcalloc(1, sizeof *w);
	int every = cfg->ping_ms < cfg->idle_ms ? cfg->ping_ms : cfg->idle_ms;
	struct timeval tv = {every / 1000, (every % 1000) * 1000};

	w->server = server;
	w->bev = bev;
	w->done = done;
	w->arg = arg;
	if (wslay_event_context_server_init(&w->ctx, &cbs, w) != 0) {
		free(w);
		return NULL;
	}
	wslay_event_config_set_max_recv_msg_length(w->ctx, cfg->max_msg);
	io.arg = w;
	w->session = session_create(server, &io);
	gettimeofday(&w->last_rx, NULL);
	w->timer =
	    event_new(server_base(server), -1, EV_PERSIST, ws_timer_cb, w);
	event_add(w->timer, &tv);
	bufferevent_setcb(bev, ws_read_cb, ws_write_cb, ws_event_cb, w);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	log_debug("session %s started", session_id(w->session));
	return w;
}

/* Free the ws (not the bufferevent). */
void
ws_free(struct ws *w)
{
	if (w == NULL)
		return;
	log_debug("session %s ended", session_id(w->session));
	bufferevent_setcb(w->bev, NULL, NULL, NULL, NULL);
	if (w->timer != NULL)
		event_free(w->timer);
	session_free(w->session);
	wslay_event_context_free(w->ctx);
	free(w);
}
