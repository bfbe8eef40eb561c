/*
 * test_ws.c: the WebSocket client against a scripted server in the same
 * process (a libevent listener on 127.0.0.1:0 that answers the handshake
 * and then plays one scenario per test): echo, ping/pong, frames sent
 * with the 101, every failure path and its closed reason, exactly one
 * closed callback, ws_free from inside callbacks, and the handshake
 * helpers.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "daemon/ws.h"

/* --- scripted server -------------------------------------------------- */

enum srv_mode {
	SRV_ECHO,        /* echo text messages, answer close */
	SRV_PING,        /* ping "p1"; on the pong send "got pong p1" */
	SRV_EARLY,       /* a text frame in the same write as the 101 */
	SRV_404,         /* HTTP 404 */
	SRV_BAD_ACCEPT,  /* 101 with a wrong Sec-WebSocket-Accept */
	SRV_EXTENSION,   /* 101 with an extension we did not offer */
	SRV_SILENT,      /* 101, then nothing */
	SRV_BIG,         /* 101, then a 2000-byte text frame */
	SRV_CLOSE,       /* 101, then close 4001 "bye" */
	SRV_HUGE,        /* endless response headers */
	SRV_EOF,         /* close the socket after the request */
	SRV_BAD_OPCODE,  /* 101, then a frame with reserved opcode 3 */
	SRV_NO_ANSWER,   /* read the request, never answer */
	SRV_DROP,        /* 101, a message, then close without close frame */
	SRV_FRAGMENTS,   /* 101, then "hello" in two fragments around a ping */
};

struct srv {
	struct event_base *base;
	struct evconnlistener *lis;
	struct bufferevent *bev;
	enum srv_mode mode;
	int port;
	char request[4096];
	char close_payload[128]; /* of the client's close frame */
	size_t close_len;
	int closing; /* free bev once the output drains */
};

/* Queue one unmasked server frame whose first byte is b0 (FIN, opcode). */
static void
srv_frame_raw(struct bufferevent *bev, int b0, const void *data, size_t len)
{
	unsigned char h[10];
	size_t hl = 2;

	h[0] = (unsigned char)b0;
	if (len < 126) {
		h[1] = (unsigned char)len;
	} else if (len < 65536) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	bufferevent_write(bev, h, hl);
	bufferevent_write(bev, data, len);
}

/* Queue one complete unmasked server frame. */
static void
srv_frame(struct bufferevent *bev, int opcode, const void *data, size_t len)
{
	srv_frame_raw(bev, 0x80 | opcode, data, len);
}

/*
 * Take one masked client frame: 1 with its opcode and payload (malloc'd,
 * NUL-terminated), 0 if incomplete.
 */
static int
srv_take_frame(struct evbuffer *in, int *opcode, char **buf, size_t *len)
{
	size_t avail = evbuffer_get_length(in), n, hl = 2, i;
	unsigned char *p;

	if (avail < 2)
		return 0;
	p = evbuffer_pullup(in, 2);
	ck_assert_msg(p[1] & 0x80, "client frame not masked");
	n = p[1] & 0x7f;
	if (n >= 126) {
		hl = n == 126 ? 4 : 10;
		if (avail < hl)
			return 0;
		p = evbuffer_pullup(in, hl);
		for (n = 0, i = 2; i < hl; i++)
			n = (n << 8) | p[i];
	}
	if (avail < hl + 4 + n)
		return 0;
	p = evbuffer_pullup(in, hl + 4 + n);
	*opcode = p[0] & 0x0f;
	*buf = malloc(n + 1);
	for (i = 0; i < n; i++)
		(*buf)[i] = (char)(p[hl + 4 + i] ^ p[hl + (i % 4)]);
	(*buf)[n] = '\0';
	*len = n;
	evbuffer_drain(in, hl + 4 + n);
	return 1;
}

/* Free the server's connection once its output drained. */
static void
srv_write_cb(struct bufferevent *bev, void *arg)
{
	struct srv *s = arg;

	if (s->closing) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
}

/* Close the server's connection after what is queued. */
static void
srv_close_after_write(struct srv *s)
{
	s->closing = 1;
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		srv_write_cb(s->bev, s);
}

/* Answer the handshake per mode (the key is in the request). */
static void
srv_answer(struct srv *s)
{
	const char *k = strstr(s->request, "Sec-WebSocket-Key: ");
	char key[64] = "", *accept, big[2000];
	struct evbuffer *out = bufferevent_get_output(s->bev);

	ck_assert_ptr_nonnull(k);
	sscanf(k + strlen("Sec-WebSocket-Key: "), "%63[^\r]", key);
	accept = ws_accept_key(key);
	switch (s->mode) {
	case SRV_404:
		evbuffer_add_printf(out, "HTTP/1.1 404 Not Found\r\n"
		    "Content-Length: 0\r\n\r\n");
		break;
	case SRV_HUGE:
		evbuffer_add_printf(out, "HTTP/1.1 101 Switching "
		    "Protocols\r\n");
		for (int i = 0; i < 2000; i++)
			evbuffer_add_printf(out, "X-Pad: aaaaaaaaaa\r\n");
		break;
	case SRV_EOF:
		srv_close_after_write(s);
		break;
	case SRV_NO_ANSWER:
		break;
	default:
		evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
		    "upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\n%s\r\n",
		    s->mode == SRV_BAD_ACCEPT ? "dGhlIHNhbXBsZSBub25jZQ==" :
		    accept, s->mode == SRV_EXTENSION ?
		    "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "");
	}
	free(accept);
	switch (s->mode) {
	case SRV_PING:
		srv_frame(s->bev, 0x9, "p1", 2);
		break;
	case SRV_EARLY:
		srv_frame(s->bev, 0x1, "early", 5);
		break;
	case SRV_BIG:
		memset(big, 'x', sizeof big);
		srv_frame(s->bev, 0x1, big, sizeof big);
		break;
	case SRV_CLOSE:
		srv_frame(s->bev, 0x8, "\x0f\xa1" "bye", 5);
		break;
	case SRV_BAD_OPCODE:
		srv_frame(s->bev, 0x3, "", 0);
		break;
	case SRV_DROP:
		srv_frame(s->bev, 0x1, "last", 4);
		srv_close_after_write(s);
		break;
	case SRV_FRAGMENTS:
		srv_frame_raw(s->bev, 0x01, "hel", 3);
		srv_frame(s->bev, 0x9, "", 0);
		srv_frame_raw(s->bev, 0x80, "lo", 2);
		break;
	default:
		break;
	}
}

/* Handle one client frame after the handshake. */
static void
srv_on_frame(struct srv *s, int opcode, const char *buf, size_t len)
{
	char reply[4200];

	if (opcode == 0x1 && s->mode == SRV_ECHO) {
		srv_frame(s->bev, 0x1, buf, len);
	} else if (opcode == 0xa && s->mode == SRV_PING) {
		snprintf(reply, sizeof reply, "got pong %s", buf);
		srv_frame(s->bev, 0x1, reply, strlen(reply));
	} else if (opcode == 0x8 && s->mode != SRV_SILENT) {
		ck_assert_uint_le(len, sizeof s->close_payload);
		memcpy(s->close_payload, buf, len);
		s->close_len = len;
		srv_frame(s->bev, 0x8, buf, len);
		srv_close_after_write(s);
	}
}

/* Server input: the request, then client frames. */
static void
srv_read_cb(struct bufferevent *bev, void *arg)
{
	struct srv *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end;
	size_t len;
	char *buf;
	int opcode;

	if (s->request[0] == '\0') {
		end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (end.pos < 0)
			return;
		ck_assert_int_lt(end.pos, (int)sizeof s->request - 5);
		evbuffer_remove(in, s->request, (size_t)end.pos + 4);
		srv_answer(s);
	}
	while (s->bev != NULL && !s->closing &&
	    srv_take_frame(in, &opcode, &buf, &len)) {
		srv_on_frame(s, opcode, buf, len);
		free(buf);
	}
}

/* The client went away. */
static void
srv_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct srv *s = arg;

	bufferevent_free(s->bev);
	s->bev = NULL;
}

/* A client connected. */
static void
srv_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct srv *s = arg;

	ck_assert_ptr_null(s->bev);
	s->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, srv_read_cb, srv_write_cb, srv_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* Listen on 127.0.0.1:0. */
static void
srv_start(struct srv *s, struct event_base *base, enum srv_mode mode)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	memset(s, 0, sizeof *s);
	s->base = base;
	s->mode = mode;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lis = evconnlistener_new_bind(base, srv_accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 8,
	    (struct sockaddr *)&sin, sizeof sin);
	ck_assert_ptr_nonnull(s->lis);
	getsockname(evconnlistener_get_fd(s->lis), (struct sockaddr *)&sin,
	    &len);
	s->port = ntohs(sin.sin_port);
}

/* Stop the server. */
static void
srv_stop(struct srv *s)
{
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->lis != NULL)
		evconnlistener_free(s->lis);
}

/* --- client side ------------------------------------------------------ */

struct cl {
	struct event_base *base;
	struct ws *ws;
	int opened;
	int nclosed;
	int nmsgs;
	char last[4096];
	size_t last_len;
	char reason[512];
	const char *send_on_open;  /* text to send once open */
	char *big;                 /* large text to send once open */
	size_t big_len;
	size_t pending;            /* ws_pending_output after sending big */
	int big_echoed;            /* big came back intact */
	const char *close_on_msg;  /* ws_close reason on the first message */
	int free_on_msg;           /* ws_free on the first message */
	int free_on_open;          /* ws_free in open */
	const char *close_on_open; /* ws_close reason in open */
	int free_on_closed;        /* ws_free in closed */
};

/* Open: maybe send or free. */
static void
cl_open(void *arg)
{
	struct cl *c = arg;

	c->opened++;
	if (c->big != NULL) {
		ck_assert_int_eq(ws_send_text(c->ws, c->big, c->big_len), 0);
		c->pending = ws_pending_output(c->ws);
	}
	if (c->send_on_open != NULL)
		ck_assert_int_eq(ws_send_text(c->ws, c->send_on_open,
		    strlen(c->send_on_open)), 0);
	if (c->close_on_open != NULL)
		ws_close(c->ws, c->close_on_open);
	if (c->free_on_open) {
		ws_free(c->ws);
		c->ws = NULL;
		event_base_loopexit(c->base, NULL);
	}
}

/* A message: record it, maybe close or free. */
static void
cl_message(const char *data, size_t len, void *arg)
{
	struct cl *c = arg;

	c->last_len = len;
	if (c->big != NULL && len == c->big_len)
		c->big_echoed = memcmp(data, c->big, len) == 0;
	if (len >= sizeof c->last)
		len = sizeof c->last - 1;
	memcpy(c->last, data, len);
	c->last[len] = '\0';
	c->nmsgs++;
	if (c->close_on_msg != NULL)
		ws_close(c->ws, c->close_on_msg);
	if (c->free_on_msg) {
		ws_free(c->ws);
		c->ws = NULL;
		event_base_loopexit(c->base, NULL);
	}
}

/* Closed: record, and stop the loop shortly after (to catch extras). */
static void
cl_closed(const char *reason, void *arg)
{
	struct cl *c = arg;
	struct timeval tv = { 0, 100000 };

	c->nclosed++;
	snprintf(c->reason, sizeof c->reason, "%s", reason);
	if (c->free_on_closed) {
		ws_free(c->ws);
		c->ws = NULL;
	}
	event_base_loopexit(c->base, &tv);
}

static const struct ws_cbs cl_cbs = { cl_open, cl_message, cl_closed };

/* Stop a test that hangs. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	ck_abort_msg("test timed out");
}

/* Connect c to uri with opts and run the loop until it stops. */
static void
cl_run(struct cl *c, struct event_base *base, struct evdns_base *dns,
    const char *uri, const struct ws_opts *o)
{
	struct timeval tv = { 15, 0 };
	struct event *wd = evtimer_new(base, watchdog_cb, NULL);
	char *err = NULL;

	c->base = base;
	c->ws = ws_connect(base, dns, uri, NULL, o, &cl_cbs, c, &err);
	ck_assert_msg(c->ws != NULL, "ws_connect: %s", err);
	ck_assert_int_eq(c->nclosed, 0); /* never from inside ws_connect */
	evtimer_add(wd, &tv);
	event_base_dispatch(base);
	event_free(wd);
}

/* Run one scenario against a fresh server; leaves results in c. */
static void
scenario(struct cl *c, enum srv_mode mode, const struct ws_opts *o,
    struct srv *sout)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns = evdns_base_new(base, 0);
	struct srv s;
	char uri[128];

	srv_start(&s, base, mode);
	snprintf(uri, sizeof uri, "ws://127.0.0.1:%d/runtime/session?a=1",
	    s.port);
	cl_run(c, base, dns, uri, o);
	ws_free(c->ws);
	c->ws = NULL;
	if (sout != NULL)
		*sout = s;
	srv_stop(&s);
	evdns_base_free(dns, 0);
	event_base_free(base);
}

/* Assert exactly one closed callback whose reason contains want. */
static void
expect_closed(const struct cl *c, const char *want)
{
	ck_assert_int_eq(c->nclosed, 1);
	ck_assert_msg(strstr(c->reason, want) != NULL,
	    "reason \"%s\" lacks \"%s\"", c->reason, want);
}

/* --- tests ------------------------------------------------------------ */

START_TEST(test_accept_key)
{
	char *a = ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==");

	ck_assert_str_eq(a, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	free(a);
}
END_TEST

/* Check resp against accept "ACC"; returns the reason or NULL. */
static char *
check(const char *resp)
{
	char *reason = NULL;

	if (ws_check_response(resp, strlen(resp), "ACC", &reason) == 0)
		return NULL;
	ck_assert_ptr_nonnull(reason);
	return reason;
}

/* Assert that resp is refused with a reason containing want. */
static void
expect_refused(const char *resp, const char *want)
{
	char *r = check(resp);

	ck_assert_msg(r != NULL, "accepted: %s", resp);
	ck_assert_msg(strstr(r, want) != NULL, "\"%s\" lacks \"%s\"", r, want);
	free(r);
}

START_TEST(test_check_response)
{
	ck_assert_ptr_null(check("HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: ACC\r\n\r\n"));
	ck_assert_ptr_null(check("HTTP/1.1 101\r\nUPGRADE:WebSocket\r\n"
	    "connection:  foo,upgrade \r\nsec-websocket-accept: ACC \r\n"
	    "Sec-WebSocket-Extensions:\r\n\r\n"));
	expect_refused("HTTP/1.1 200 OK\r\n\r\n",
	    "server answered \"HTTP/1.1 200 OK\" instead of 101");
	expect_refused("HTTP/1.0 101 x\r\n\r\n", "instead of 101");
	expect_refused("HTTP/1.1 1010 x\r\n\r\n", "instead of 101");
	expect_refused("HTTP/1.1 101 x\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: NOPE\r\n\r\n",
	    "wrong Sec-WebSocket-Accept \"NOPE\"");
	expect_refused("HTTP/1.1 101 x\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: ACC\r\n\r\n", "lacks Upgrade: websocket");
	expect_refused("HTTP/1.1 101 x\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrades\r\nSec-WebSocket-Accept: ACC\r\n\r\n",
	    "lacks Connection: Upgrade");
	expect_refused("HTTP/1.1 101 x\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n", "lacks Sec-WebSocket-Accept");
	expect_refused("HTTP/1.1 101 x\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: ACC\r\n"
	    "Sec-WebSocket-Protocol: chat\r\n\r\n", "did not offer");
	expect_refused("HTTP/1.1 101 x\r\nno colon here\r\n\r\n",
	    "malformed handshake header");
	expect_refused("HTTP/1.1 101 x\r\n: empty name\r\n\r\n",
	    "malformed handshake header");
	expect_refused("HTTP/1.1 4\x01\r\n\r\n", "\\x01");
}
END_TEST

START_TEST(test_nul_in_response)
{
	char *reason = NULL;

	ck_assert_int_eq(ws_check_response("HTTP/1.1 101\0x\r\n\r\n", 18,
	    "ACC", &reason), -1);
	ck_assert_str_eq(reason, "NUL byte in the handshake response");
	free(reason);
}
END_TEST

START_TEST(test_echo_and_close)
{
	struct cl c = { .send_on_open = "hello", .close_on_msg = "done" };
	struct srv s;

	scenario(&c, SRV_ECHO, NULL, &s);
	ck_assert_int_eq(c.opened, 1);
	ck_assert_int_eq(c.nmsgs, 1);
	ck_assert_str_eq(c.last, "hello");
	expect_closed(&c, "done");
	ck_assert_ptr_nonnull(strstr(s.request,
	    "GET /runtime/session?a=1 HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(s.request, "\r\nHost: 127.0.0.1:"));
	ck_assert_ptr_nonnull(strstr(s.request,
	    "\r\nSec-WebSocket-Version: 13\r\n"));
	ck_assert_ptr_null(strstr(s.request, "Sec-WebSocket-Protocol"));
	ck_assert_ptr_null(strstr(s.request, "Sec-WebSocket-Extensions"));
}
END_TEST

START_TEST(test_large_both_ways)
{
	struct cl c = { .close_on_msg = "done" };
	struct srv s;

	c.big_len = 3 * 1024 * 1024 + 5;
	c.big = malloc(c.big_len);
	for (size_t i = 0; i < c.big_len; i++)
		c.big[i] = (char)('a' + i % 26);
	scenario(&c, SRV_ECHO, NULL, &s);
	/* Not all of it fits the socket's buffer at once. */
	ck_assert_uint_gt(c.pending, 0);
	ck_assert_uint_le(c.pending, c.big_len + 14);
	ck_assert_int_eq(c.nmsgs, 1);
	ck_assert_uint_eq(c.last_len, c.big_len);
	ck_assert_int_eq(c.big_echoed, 1);
	expect_closed(&c, "done");
	free(c.big);
}
END_TEST

START_TEST(test_close_frame_sent)
{
	struct cl c = { .send_on_open = "x", .close_on_msg = "bye now" };
	struct srv s;

	scenario(&c, SRV_ECHO, NULL, &s);
	expect_closed(&c, "bye now");
	ck_assert_uint_eq(s.close_len, 9);
	ck_assert_int_eq(memcmp(s.close_payload, "\x03\xe8" "bye now", 9), 0);
}
END_TEST

START_TEST(test_fragments)
{
	struct cl c = { .close_on_msg = "done" };

	scenario(&c, SRV_FRAGMENTS, NULL, NULL);
	ck_assert_int_eq(c.nmsgs, 1);
	ck_assert_str_eq(c.last, "hello");
	expect_closed(&c, "done");
}
END_TEST

START_TEST(test_ping_answered)
{
	struct cl c = { .close_on_msg = "done" };

	scenario(&c, SRV_PING, NULL, NULL);
	ck_assert_str_eq(c.last, "got pong p1");
	expect_closed(&c, "done");
}
END_TEST

START_TEST(test_frame_with_101)
{
	struct cl c = { .close_on_msg = "done" };

	scenario(&c, SRV_EARLY, NULL, NULL);
	ck_assert_int_eq(c.nmsgs, 1);
	ck_assert_str_eq(c.last, "early");
	expect_closed(&c, "done");
}
END_TEST

START_TEST(test_refused)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns = evdns_base_new(base, 0);
	struct cl c = { 0 };
	struct srv s;
	char uri[64];

	srv_start(&s, base, SRV_ECHO);
	srv_stop(&s); /* the port is now closed */
	snprintf(uri, sizeof uri, "ws://127.0.0.1:%d/", s.port);
	cl_run(&c, base, dns, uri, NULL);
	ck_assert_int_eq(c.opened, 0);
	expect_closed(&c, "cannot connect to 127.0.0.1 port");
	expect_closed(&c, "Connection refused");
	ws_free(c.ws);
	evdns_base_free(dns, 0);
	event_base_free(base);
}
END_TEST

START_TEST(test_not_101)
{
	struct cl c = { 0 };

	scenario(&c, SRV_404, NULL, NULL);
	ck_assert_int_eq(c.opened, 0);
	expect_closed(&c, "server answered \"HTTP/1.1 404 Not Found\"");
}
END_TEST

START_TEST(test_bad_accept)
{
	struct cl c = { 0 };

	scenario(&c, SRV_BAD_ACCEPT, NULL, NULL);
	ck_assert_int_eq(c.opened, 0);
	expect_closed(&c, "wrong Sec-WebSocket-Accept");
}
END_TEST

START_TEST(test_extension_refused)
{
	struct cl c = { 0 };

	scenario(&c, SRV_EXTENSION, NULL, NULL);
	ck_assert_int_eq(c.opened, 0);
	expect_closed(&c, "Sec-WebSocket-Extensions \"permessage-deflate\"");
}
END_TEST

START_TEST(test_dead_socket)
{
	struct ws_opts o = { .dead_timeout_sec = 1 };
	struct cl c = { 0 };

	scenario(&c, SRV_SILENT, &o, NULL);
	ck_assert_int_eq(c.opened, 1);
	expect_closed(&c, "nothing received from the server for 1 s");
}
END_TEST

START_TEST(test_close_unanswered)
{
	struct ws_opts o = { .dead_timeout_sec = 1 };
	struct cl c = { .close_on_open = "leaving" };

	scenario(&c, SRV_SILENT, &o, NULL);
	expect_closed(&c, "leaving");
}
END_TEST

START_TEST(test_too_big)
{
	struct ws_opts o = { .max_msg = 1000 };
	struct cl c = { 0 };

	scenario(&c, SRV_BIG, &o, NULL);
	ck_assert_int_eq(c.opened, 1);
	ck_assert_int_eq(c.nmsgs, 0);
	expect_closed(&c, "message from the server larger than 1000 bytes");
}
END_TEST

START_TEST(test_remote_close)
{
	struct cl c = { 0 };

	scenario(&c, SRV_CLOSE, NULL, NULL);
	expect_closed(&c, "server closed the connection (4001: bye)");
}
END_TEST

START_TEST(test_huge_headers)
{
	struct cl c = { 0 };

	scenario(&c, SRV_HUGE, NULL, NULL);
	expect_closed(&c, "handshake response headers exceed 16384 bytes");
}
END_TEST

START_TEST(test_eof_in_handshake)
{
	struct cl c = { 0 };

	scenario(&c, SRV_EOF, NULL, NULL);
	expect_closed(&c, "connection closed during the WebSocket handshake");
}
END_TEST

START_TEST(test_protocol_error)
{
	struct cl c = { 0 };

	scenario(&c, SRV_BAD_OPCODE, NULL, NULL);
	ck_assert_int_eq(c.opened, 1);
	expect_closed(&c, "WebSocket protocol error from the server");
}
END_TEST

START_TEST(test_connect_timeout)
{
	struct ws_opts o = { .connect_timeout_sec = 1 };
	struct cl c = { 0 };

	scenario(&c, SRV_NO_ANSWER, &o, NULL);
	ck_assert_int_eq(c.opened, 0);
	expect_closed(&c, "no WebSocket connection to 127.0.0.1 within 1 s");
}
END_TEST

START_TEST(test_drop_without_close)
{
	struct cl c = { 0 };

	scenario(&c, SRV_DROP, NULL, NULL);
	ck_assert_str_eq(c.last, "last");
	expect_closed(&c,
	    "connection closed by the server without a close frame");
}
END_TEST

START_TEST(test_free_in_message)
{
	struct cl c = { .send_on_open = "one", .free_on_msg = 1 };

	scenario(&c, SRV_ECHO, NULL, NULL);
	ck_assert_int_eq(c.nmsgs, 1);
	ck_assert_int_eq(c.nclosed, 0);
}
END_TEST

START_TEST(test_free_in_open)
{
	struct cl c = { .free_on_open = 1 };

	scenario(&c, SRV_EARLY, NULL, NULL);
	ck_assert_int_eq(c.opened, 1);
	ck_assert_int_eq(c.nmsgs, 0);
	ck_assert_int_eq(c.nclosed, 0);
}
END_TEST

START_TEST(test_free_in_closed)
{
	struct cl c = { .free_on_closed = 1 };

	scenario(&c, SRV_CLOSE, NULL, NULL);
	expect_closed(&c, "4001");
}
END_TEST

START_TEST(test_close_before_open)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns = evdns_base_new(base, 0);
	struct cl c = { 0 };
	struct srv s;
	char uri[64], *err = NULL;

	srv_start(&s, base, SRV_ECHO);
	snprintf(uri, sizeof uri, "ws://127.0.0.1:%d/", s.port);
	c.base = base;
	c.ws = ws_connect(base, dns, uri, NULL, NULL, &cl_cbs, &c, &err);
	ck_assert_ptr_nonnull(c.ws);
	ck_assert_int_eq(ws_send_text(c.ws, "x", 1), -1);
	ws_close(c.ws, "changed my mind");
	ws_close(c.ws, "twice");
	ck_assert_int_eq(c.nclosed, 0); /* never from inside ws_close */
	event_base_dispatch(base);
	ck_assert_int_eq(c.opened, 0);
	expect_closed(&c, "changed my mind");
	ws_free(c.ws);
	srv_stop(&s);
	evdns_base_free(dns, 0);
	event_base_free(base);
}
END_TEST

START_TEST(test_bad_uri)
{
	struct event_base *base = event_base_new();
	const char *bad[] = { "http://127.0.0.1/", "ws://", "wss://h/",
		"ws://u@h/", "ws://h:0/", "ws://h:99999/", "nonsense" };
	char *err;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err = NULL;
		ck_assert_ptr_null(ws_connect(base, NULL, bad[i], NULL, NULL,
		    &cl_cbs, NULL, &err));
		ck_assert_msg(err != NULL, "no error for %s", bad[i]);
		free(err);
	}
	event_base_free(base);
}
END_TEST

/* Write a hosts file mapping name to the given addresses, in order. */
static void
write_hosts(const char *path, const char *name, const char *a1,
    const char *a2)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s %s\n%s %s\n", a1, name, a2, name);
	fclose(f);
}

START_TEST(test_name_tries_every_address)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns = evdns_base_new(base, 0);
	char hosts[] = "/tmp/test_ws_hosts.XXXXXX", uri[96];
	struct cl c = { .send_on_open = "via name", .close_on_msg = "done" };
	struct srv s;
	int fd = mkstemp(hosts);

	ck_assert_int_ge(fd, 0);
	close(fd);
	/* 127.0.0.2 refuses: the server listens on 127.0.0.1 only. */
	write_hosts(hosts, "multi.test", "127.0.0.2", "127.0.0.1");
	ck_assert_int_eq(evdns_base_load_hosts(dns, hosts), 0);
	unlink(hosts);
	srv_start(&s, base, SRV_ECHO);
	snprintf(uri, sizeof uri, "ws://multi.test:%d/x", s.port);
	cl_run(&c, base, dns, uri, NULL);
	ck_assert_str_eq(c.last, "via name");
	expect_closed(&c, "done");
	ck_assert_ptr_nonnull(strstr(s.request, "\r\nHost: multi.test:"));
	ws_free(c.ws);
	srv_stop(&s);
	evdns_base_free(dns, 0);
	event_base_free(base);
}
END_TEST

/* A UDP port on 127.0.0.1 nobody listens on. */
static int
closed_udp_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	close(fd);
	return ntohs(sin.sin_port);
}

START_TEST(test_unresolvable)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns = evdns_base_new(base, 0);
	struct cl c = { 0 };
	char ns[64];

	/* A name server that does not answer: the lookup fails. */
	snprintf(ns, sizeof ns, "127.0.0.1:%d", closed_udp_port());
	ck_assert_int_eq(evdns_base_nameserver_ip_add(dns, ns), 0);
	evdns_base_set_option(dns, "timeout:", "0.3");
	evdns_base_set_option(dns, "attempts:", "1");

	cl_run(&c, base, dns, "ws://no-such-host.invalid/", NULL);
	expect_closed(&c, "cannot resolve no-such-host.invalid");
	ws_free(c.ws);
	evdns_base_free(dns, 0);
	event_base_free(base);
}
END_TEST

/* The suite. */
static Suite *
ws_suite(void)
{
	Suite *s = suite_create("ws");
	TCase *tc = tcase_create("ws");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_accept_key);
	tcase_add_test(tc, test_check_response);
	tcase_add_test(tc, test_nul_in_response);
	tcase_add_test(tc, test_echo_and_close);
	tcase_add_test(tc, test_ping_answered);
	tcase_add_test(tc, test_large_both_ways);
	tcase_add_test(tc, test_close_frame_sent);
	tcase_add_test(tc, test_fragments);
	tcase_add_test(tc, test_frame_with_101);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_not_101);
	tcase_add_test(tc, test_bad_accept);
	tcase_add_test(tc, test_extension_refused);
	tcase_add_test(tc, test_dead_socket);
	tcase_add_test(tc, test_close_unanswered);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_remote_close);
	tcase_add_test(tc, test_huge_headers);
	tcase_add_test(tc, test_eof_in_handshake);
	tcase_add_test(tc, test_protocol_error);
	tcase_add_test(tc, test_connect_timeout);
	tcase_add_test(tc, test_drop_without_close);
	tcase_add_test(tc, test_free_in_message);
	tcase_add_test(tc, test_free_in_open);
	tcase_add_test(tc, test_free_in_closed);
	tcase_add_test(tc, test_close_before_open);
	tcase_add_test(tc, test_bad_uri);
	tcase_add_test(tc, test_name_tries_every_address);
	tcase_add_test(tc, test_unresolvable);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ws_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
