/*
 * session.c: one local client connection.
 *
 * Input: lines are taken from the bufferevent's input only while the
 * session has fewer than SESSION_MAX_INFLIGHT unanswered requests and its
 * output is below SESSION_OUT_HIGH; a line longer than the configured cap
 * gets a too-large error and the connection is closed after that error is
 * flushed.  After the peer's EOF the remaining replies are still written
 * (shell clients half-close after their last request), then the session
 * closes.
 *
 * Output: replies leave the reply FIFO from its head, so they are written
 * in request order even when a later request finishes first.  Events are
 * written at once.  A result event waits in a per-subscription slot while
 * the output holds more than SESSION_OUT_LOW bytes, where a newer result
 * for the same subscription replaces it.  A message written while the
 * unread backlog is past the configured hard limit sends one overflow
 * event instead and closes the connection; nothing is written after it.
 *
 * Reply slots are reference counted: the FIFO holds one reference; a
 * handler that answers later holds another (reply_ref), so a session can
 * die while a transaction is still being committed for it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "daemon/app.h"
#include "daemon/conf.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/xmalloc.h"

#define SESSION_MAX_INFLIGHT 1024      /* unanswered requests per session */
#define SESSION_OUT_HIGH (1024 * 1024) /* stop reading above this */
#define SESSION_OUT_LOW (64 * 1024)    /* results wait above this */
#define SESSION_CLOSE_GRACE_SEC 2      /* flushing before a forced close */

/* A result event waiting for output room, one per subscription. */
struct held_result {
	int64_t sub;
	char *line;
	size_t len;
	TAILQ_ENTRY(held_result) entry;
};
TAILQ_HEAD(held_result_list, held_result);

struct session {
	struct server *server;
	uint64_t id;
	struct bufferevent *bev;
	char *name;
	struct app *app;
	struct reply_list replies; /* in request order */
	size_t nreplies;
	struct held_result_list held;
	size_t nheld;
	struct event *close_ev;    /* forced close after the grace time */
	int dead;
	int eof;                   /* the peer sent EOF */
	int closing;               /* close once the output is flushed */
	int discard;               /* closing: read and drop the rest */
	int overflowed;            /* overflow sent: nothing else goes out */
	int64_t last_sub_id;
	TAILQ_ENTRY(session) entry;
	TAILQ_ENTRY(session) app_entry;
};

static void session_read_cb(struct bufferevent *, void *);
static void session_write_cb(struct bufferevent *, void *);
static void session_event_cb(struct bufferevent *, short, void *);
static void session_flush_replies(struct session *);
static void session_update_io(struct session *);

/* The session's id, for logs. */
uint64_t
session_id(const struct session *s)
{
	return s->id;
}

/* The client's label from hello, or "". */
const char *
session_name(const struct session *s)
{
	return s->name != NULL ? s->name : "";
}

/* Set the client's label. */
void
session_set_name(struct session *s, const char *name)
{
	free(s->name);
	s->name = name != NULL ? xstrdup(name) : NULL;
}

/* The owning server. */
struct server *
session_server(const struct session *s)
{
	return s->server;
}

/* The bound app, or NULL. */
struct app *
session_app(const struct session *s)
{
	return s->app;
}

/* Bind to app (once). */
void
session_set_app(struct session *s, struct app *app)
{
	s->app = app;
}

/* Create a session on an accepted fd. */
struct session *
session_create(struct server *srv, int fd)
{
	struct session *s = xcalloc(1, sizeof *s);

	s->server = srv;
	s->id = ++srv->next_session_id;
	TAILQ_INIT(&s->replies);
	TAILQ_INIT(&s->held);
	s->bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		close(fd);
		free(s);
		return NULL;
	}
	/* Room for one full line with its "\r\n" before reading stops. */
	bufferevent_setwatermark(s->bev, EV_READ, 0, srv->cfg->max_line + 2);
	bufferevent_setwatermark(s->bev, EV_WRITE, SESSION_OUT_LOW, 0);
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb,
	    session_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	log_debug("session %llu: connected", (unsigned long long)s->id);
	return s;
}

/* Drop one reference to a reply slot. */
void
reply_unref(struct reply *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	json_decref(r->id);
	json_decref(r->msg);
	free(r->line);
	free(r->after);
	free(r);
}

/* Take a reference for a later answer. */
struct reply *
reply_ref(struct reply *r)
{
	r->refs++;
	return r;
}

/* Whether the session that asked is still there. */
int
reply_live(const struct reply *r)
{
	return r->session != NULL && !r->session->dead;
}

/* Whether the reply has left its FIFO. */
int
reply_flushed(const struct reply *r)
{
	return r->session == NULL;
}

/* Queue a result event behind the reply. */
void
reply_set_after(struct reply *r, int64_t sub, char *line, size_t len)
{
	if (r->session == NULL) {
		free(line);
		return;
	}
	free(r->after);
	r->after = line;
	r->after_len = len;
	r->after_sub = sub;
}

/* A fresh subscription id. */
int64_t
session_next_sub_id(struct session *s)
{
	return ++s->last_sub_id;
}

/* Store the finished message and write what is ready. */
static void
reply_finish(struct reply *r, json_t *msg)
{
	if (r->msg != NULL || r->line != NULL) {
		log_error("reply finished twice");
		json_decref(msg);
		return;
	}
	r->msg = msg;
	if (r->session != NULL && !r->session->dead)
		session_flush_replies(r->session);
}

/* ok:true plus the fields of extra. */
void
reply_ok(struct reply *r, json_t *extra)
{
	json_t *msg = proto_reply_ok(r->id);

	if (extra != NULL) {
		json_object_update_missing(msg, extra);
		json_decref(extra);
	}
	reply_finish(r, msg);
}

/* The start of an ok reply's line, up to its fields. */
char *
reply_ok_head(const struct reply *r)
{
	json_t *msg = proto_reply_ok(r->id);
	size_t hlen;
	char *head;

	/* {"id":...,"ok":true}\n: the fields go where its "}\n" is. */
	if ((head = proto_encode(msg, &hlen)) == NULL || hlen < 3)
		fatal("out of memory encoding a reply");
	json_decref(msg);
	head[hlen - 2] = ',';
	head[hlen - 1] = '\0';
	return head;
}

/* Finish a reply with its whole line. */
void
reply_ok_line(struct reply *r, char *line, size_t len)
{
	if (r->msg != NULL || r->line != NULL) {
		log_error("reply finished twice");
		free(line);
		return;
	}
	r->line = line;
	r->line_len = len;
	if (r->session != NULL && !r->session->dead)
		session_flush_replies(r->session);
}

/* ok:false with an error object. */
void
reply_error(struct reply *r, enum proto_code code, const json_t *hint,
    const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	reply_finish(r, proto_reply_error(r->id, code, message, hint));
}

/* Close once everything written so far has left. */
static void
session_close_cb(evutil_socket_t fd, short what, void *arg)
{
	session_kill(arg, "closing");
}

/*
 * The output has drained: close, or with discard half-close and wait for
 * the peer's EOF so a peer still writing its rejected line is not reset
 * before it reads why (a lingering close).
 */
static void
session_finish_close(struct session *s)
{
	if (!s->discard) {
		session_kill(s, "closed");
		return;
	}
	shutdown(bufferevent_getfd(s->bev), SHUT_WR);
}

/* Stop reading and close after the output drains (or a grace time). */
static void
session_close_after_flush(struct session *s)
{
	struct timeval tv = { SESSION_CLOSE_GRACE_SEC, 0 };

	if (s->dead || s->closing)
		return;
	s->closing = 1;
	if (!s->discard)
		bufferevent_disable(s->bev, EV_READ);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	s->close_ev = evtimer_new(s->server->base, session_close_cb, s);
	evtimer_add(s->close_ev, &tv);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		session_finish_close(s);
}

/* Free an encoded line once libevent has written it. */
static void
session_line_free_cb(const void *data, size_t len, void *arg)
{
	free((void *)(uintptr_t)data);
}

/*
 * Append an encoded line (owned); past the hard limit send one overflow
 * event instead and close.
 */
static void
session_write_line(struct session *s, char *line, size_t len,
    int bypass_limit)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	json_t *ev;
	char *evline;
	size_t evlen;

	if (s->dead || s->overflowed) {
		free(line);
		return;
	}
	/* The limit is on the backlog a client leaves unread: one large
	 * reply to a client that keeps up is fine. */
	if (!bypass_limit && !s->closing &&
	    evbuffer_get_length(out) > s->server->cfg->max_output) {
		free(line);
		ev = proto_event("overflow");
		json_object_set_new(ev, "dropped",
		    json_integer((json_int_t)(1 + s->nheld)));
		log_warn("session %llu: output over %zu bytes, closing",
		    (unsigned long long)s->id, s->server->cfg->max_output);
		if ((evline = proto_encode(ev, &evlen)) != NULL)
			session_write_line(s, evline, evlen, 1);
		json_decref(ev);
		/* The overflow event is the last line: replies to requests
		 * still in flight must not follow it with a gap. */
		s->overflowed = 1;
		session_close_after_flush(s);
		return;
	}
	if (evbuffer_add_reference(out, line, len, session_line_free_cb,
	    NULL) != 0)
		free(line);
	session_update_io(s);
}

/* Encode and append a message. */
static void
session_write(struct session *s, const json_t *msg, int bypass_limit)
{
	size_t len;
	char *line;

	if (s->dead)
		return;
	if ((line = proto_encode(msg, &len)) == NULL) {
		log_error("session %llu: cannot encode a message",
		    (unsigned long long)s->id);
		return;
	}
	session_write_line(s, line, len, bypass_limit);
}

/* Write complete replies from the head of the FIFO. */
static void
session_flush_replies(struct session *s)
{
	struct reply *r;

	while ((r = TAILQ_FIRST(&s->replies)) != NULL &&
	    (r->msg != NULL || r->line != NULL)) {
		TAILQ_REMOVE(&s->replies, r, entry);
		s->nreplies--;
		if (r->line != NULL) {
			session_write_line(s, r->line, r->line_len, 0);
			r->line = NULL;
		} else
			session_write(s, r->msg, 0);
		r->session = NULL;
		if (r->after != NULL) {
			session_send_result(s, r->after_sub, r->after,
			    r->after_len);
			r->after = NULL;
		}
		reply_unref(r);
		if (s->dead)
			return;
	}
	if (s->eof && TAILQ_EMPTY(&s->replies))
		session_close_after_flush(s);
	else
		session_update_io(s);
}

/* Send an event now. */
void
session_send_event(struct session *s, json_t *event)
{
	session_write(s, event, 0);
	json_decref(event);
}

/* Send or hold a result event for sub. */
void
session_send_result(struct session *s, int64_t sub, char *line, size_t len)
{
	struct held_result *h;

	if (s->dead) {
		free(line);
		return;
	}
	TAILQ_FOREACH(h, &s->held, entry) {
		if (h->sub == sub) {
			free(h->line);
			h->line = line;
			h->len = len;
			return;
		}
	}
	if (TAILQ_EMPTY(&s->held) &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) <
	    SESSION_OUT_LOW) {
		session_write_line(s, line, len, 0);
		return;
	}
	h = xcalloc(1, sizeof *h);
	h->sub = sub;
	h->line = line;
	h->len = len;
	TAILQ_INSERT_TAIL(&s->held, h, entry);
	s->nheld++;
}

/* Write held results while the output has room. */
static void
session_flush_held(struct session *s)
{
	struct held_result *h;

	while (!s->dead && (h = TAILQ_FIRST(&s->held)) != NULL &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) <
	    SESSION_OUT_LOW) {
		TAILQ_REMOVE(&s->held, h, entry);
		s->nheld--;
		session_write_line(s, h->line, h->len, 0);
		free(h);
	}
}

/* Read only while replies and output have room. */
static void
session_update_io(struct session *s)
{
	size_t out;

	if (s->dead || s->closing || s->eof)
		return;
	out = evbuffer_get_length(bufferevent_get_output(s->bev));
	if (s->nreplies >= SESSION_MAX_INFLIGHT || out > SESSION_OUT_HIGH)
		bufferevent_disable(s->bev, EV_READ);
	else if (!(bufferevent_get_enabled(s->bev) & EV_READ)) {
		bufferevent_enable(s->bev, EV_READ);
		/* Lines may already be buffered: look at them now. */
		if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
			bufferevent_trigger(s->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	}
}

/* Handle one request line. */
static void
session_handle_line(struct session *s, const char *line, size_t len)
{
	struct proto_limits lim = { s->server->cfg->max_line, PROTO_DEFAULT_MAX_DEPTH };
	struct proto_error err;
	struct reply *r = xcalloc(1, sizeof *r);
	json_t *req = NULL, *id;

	s->server->requests++;
	r->session = s;
	r->refs = 1;
	r->id = json_null();
	TAILQ_INSERT_TAIL(&s->replies, r, entry);
	s->nreplies++;

	if (proto_decode_object(line, len, &lim, &req, &err) != 0) {
		log_debug("session %llu: %s: %s", (unsigned long long)s->id,
		    err.message, log_escape(line, len, 80));
		reply_error(r, err.code, NULL, "%s", err.message);
		return;
	}
	id = json_object_get(req, "id");
	if (!proto_id_valid(id)) {
		reply_error(r, PROTO_BAD_REQUEST, NULL,
		    "id must be a string or an integer");
		goto out;
	}
	if (id != NULL) {
		json_decref(r->id);
		r->id = json_incref(id);
	}
	dispatch_request(s, r, req);
out:
	json_decref(req);
}

/* Reply too-large (outside the FIFO order: the session ends) and close. */
static void
session_too_large(struct session *s, size_t len)
{
	char msg[128];
	json_t *e;

	snprintf(msg, sizeof msg, "line exceeds the limit of %zu bytes",
	    s->server->cfg->max_line);
	log_info("session %llu: line of %zu+ bytes, closing",
	    (unsigned long long)s->id, len);
	e = proto_reply_error(NULL, PROTO_TOO_LARGE, msg, NULL);
	session_write(s, e, 1);
	json_decref(e);
	s->discard = 1;
	bufferevent_setwatermark(s->bev, EV_READ, 0, 0);
	session_close_after_flush(s);
}

/* Take complete lines from the input. */
static void
session_read_lines(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t max = s->server->cfg->max_line + 1, eol_len, n;
	struct evbuffer_ptr eol;
	unsigned char *line;

	while (!s->dead && !s->closing && s->nreplies < SESSION_MAX_INFLIGHT) {
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		n = evbuffer_get_length(in);
		if (eol.pos < 0) {
			if (n > max)
				session_too_large(s, n);
			else if (s->eof && n > 0) {
				/* A last line without its newline. */
				line = evbuffer_pullup(in, -1);
				session_handle_line(s, (char *)line, n);
				evbuffer_drain(in, n);
			}
			return;
		}
		if ((size_t)eol.pos > max) {
			session_too_large(s, (size_t)eol.pos);
			return;
		}
		line = evbuffer_pullup(in, eol.pos + 1);
		session_handle_line(s, (char *)line, (size_t)eol.pos);
		if (!s->dead)
			evbuffer_drain(in, (size_t)eol.pos + 1);
	}
	session_update_io(s);
}

/* Input arrived. */
static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (s->discard) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	session_read_lines(s);
}

/* Output drained to the low watermark. */
static void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			session_finish_close(s);
		return;
	}
	session_flush_held(s);
	session_update_io(s);
}

/* EOF or error from the socket. */
static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_ERROR) {
		session_kill(s, "socket error");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (s->discard) {
			session_kill(s, "closed after too-large");
			return;
		}
		s->eof = 1;
		session_read_lines(s);
		if (s->dead)
			return;
		if (TAILQ_EMPTY(&s->replies))
			session_close_after_flush(s);
	}
}

/* Mark dead and queue for freeing. */
void
session_kill(struct session *s, const char *why)
{
	struct reply *r;

	if (s->dead)
		return;
	s->dead = 1;
	log_debug("session %llu: %s", (unsigned long long)s->id, why);
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	while ((r = TAILQ_FIRST(&s->replies)) != NULL) {
		TAILQ_REMOVE(&s->replies, r, entry);
		r->session = NULL;
		reply_unref(r);
	}
	s->nreplies = 0;
	if (s->app != NULL)
		app_detach(s->app, s);
	s->app = NULL;
	TAILQ_REMOVE(&s->server->sessions, s, entry);
	TAILQ_INSERT_TAIL(&s->server->dead, s, entry);
	server_schedule_reap(s->server);
}

/* Release everything. */
void
session_free(struct session *s)
{
	struct held_result *h;

	if (s == NULL)
		return;
	while ((h = TAILQ_FIRST(&s->held)) != NULL) {
		TAILQ_REMOVE(&s->held, h, entry);
		free(h->line);
		free(h);
	}
	if (s->close_ev != NULL)
		event_free(s->close_ev);
	bufferevent_free(s->bev);
	free(s->name);
	free(s);
}

/* Free every session that was killed. */
void
session_reap(struct server *srv)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&srv->dead)) != NULL) {
		TAILQ_REMOVE(&srv->dead, s, entry);
		session_free(s);
	}
}
