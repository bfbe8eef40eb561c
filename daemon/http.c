/*
 * http.c: URL parsing for http/https/ws/wss, and a one-shot asynchronous
 * HTTP client for JSON API calls, on libevent's evhttp.
 *
 * Each request gets its own evhttp_connection (no keep-alive, no retries):
 * auth calls are rare and this keeps cancellation simple.  For https the
 * connection runs over an OpenSSL bufferevent whose SSL comes from
 * tls_ssl_new, so SNI and certificate name checks are always on.
 *
 * evhttp forbids freeing a connection from inside its callbacks, so the
 * request callbacks only record the outcome and activate finish_ev; the
 * user's callback runs from there, then everything is freed.  An overall
 * timer bounds the whole request (evhttp's own timeout is per operation).
 * Response bodies are capped at HTTP_MAX_BODY by evhttp while reading.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/ssl.h>

#include "daemon/http.h"
#include "daemon/log.h"
#include "daemon/tls.h"
#include "daemon/xmalloc.h"

/* Longest response header block accepted. */
#define HTTP_MAX_HEADERS (64 * 1024)

struct http_req {
	struct evhttp_connection *conn;
	SSL *ssl;                   /* owned by the bufferevent */
	struct event *timer;
	struct event *finish_ev;
	int timeout_sec;
	char *host; /* for messages */
	int port;
	http_cb cb;
	void *arg;

	/* The outcome, set once. */
	int done;
	int status;
	json_t *body;
	char *err;
};

/* 1 if word is one of the space-separated words in list. */
static int
http_word_in(const char *word, const char *list)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Copy host without the brackets of an IP literal. */
static char *
http_unbracket(const char *host)
{
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
		return xstrndup(host + 1, n - 2);
	return xstrdup(host);
}

/* Build the request target (path and query) of uri. */
static char *
http_url_target(const struct evhttp_uri *uri)
{
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	char *s;

	if (path == NULL || *path == '\0')
		path = "/";
	if (query != NULL)
		xasprintf(&s, "%s?%s", path, query);
	else
		s = xstrdup(path);
	return s;
}

/* Fill u from the parsed uri (scheme already checked): 0 or -1. */
static int
http_url_fill(const struct evhttp_uri *uri, struct http_url *u, char **err)
{
	const char *scheme = evhttp_uri_get_scheme(uri);
	const char *host = evhttp_uri_get_host(uri);
	int port = evhttp_uri_get_port(uri);
	int defport;

	if (host == NULL || *host == '\0') {
		*err = xstrdup("the URL has no host");
		return -1;
	}
	if (evhttp_uri_get_userinfo(uri) != NULL ||
	    evhttp_uri_get_fragment(uri) != NULL) {
		*err = xstrdup("the URL has user info or a fragment");
		return -1;
	}
	if (port == 0) {
		*err = xstrdup("the URL has port 0");
		return -1;
	}
	u->tls = strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0;
	defport = u->tls ? 443 : 80;
	u->port = port > 0 ? port : defport;
	u->host = http_unbracket(host);
	if (u->port == defport)
		u->host_header = xstrdup(host);
	else
		xasprintf(&u->host_header, "%s:%d", host, u->port);
	u->target = http_url_target(uri);
	return 0;
}

/* Parse an http-family URL. */
int
http_url_parse(const char *url, const char *schemes, struct http_url *u,
    char **err)
{
	struct evhttp_uri *uri;
	const char *scheme;
	int r = -1;

	memset(u, 0, sizeof *u);
	if ((uri = evhttp_uri_parse_with_flags(url, 0)) == NULL) {
		*err = xstrdup("malformed URL");
		return -1;
	}
	scheme = evhttp_uri_get_scheme(uri);
	if (scheme == NULL || !http_word_in(scheme, schemes)) {
		xasprintf(err, "unsupported URL scheme (want %s)", schemes);
		goto out;
	}
	if (http_url_fill(uri, u, err) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		http_url_clear(u);
	evhttp_uri_free(uri);
	return r;
}

/* Free what http_url_parse allocated. */
void
http_url_clear(struct http_url *u)
{
	free(u->host);
	free(u->host_header);
	free(u->target);
	memset(u, 0, sizeof *u);
}

/* Record the outcome (first one wins) and schedule the user callback. */
static void
http_finish(struct http_req *h, int status, json_t *body, char *err)
{
	if (h->done) {
		json_decref(body);
		free(err);
		return;
	}
	h->done = 1;
	h->status = status;
	h->body = body;
	h->err = err;
	event_active(h->finish_ev, EV_TIMEOUT, 1);
}

/* Parse a response body: the JSON, or NULL (empty, or *err set). */
static json_t *
http_parse_body(struct evbuffer *buf, char **err)
{
	size_t len = evbuffer_get_length(buf);
	json_error_t jerr;
	json_t *j;

	if (len == 0)
		return NULL;
	if (len > HTTP_MAX_BODY) {
		xasprintf(err, "response body larger than %d bytes",
		    HTTP_MAX_BODY);
		return NULL;
	}
	j = json_loadb((const char *)evbuffer_pullup(buf, -1), len,
	    JSON_DECODE_ANY, &jerr);
	if (j == NULL)
		xasprintf(err, "response body is not JSON: %s", jerr.text);
	return j;
}

/* 1 if errno value e plausibly tells why a connect failed. */
static int
http_connect_errno(int e)
{
	return e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH ||
	    e == ETIMEDOUT || e == ECONNRESET;
}

/*
 * Describe a failure with what the connection knows about it: what is
 * the evhttp error text, or NULL when evhttp gave up connecting (it then
 * reports nothing but may leave errno set).
 */
static char *
http_describe_error(struct http_req *h, const char *what, int sys_err)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(h->conn);
	int dns = bev != NULL ? bufferevent_socket_get_dns_error(bev) : 0;
	unsigned long ssl_err = 0;
	char *s;

	if (h->ssl != NULL && bev != NULL)
		ssl_err = tls_bufferevent_error(bev);
	if (dns != 0)
		xasprintf(&s, "cannot resolve %s: %s", h->host,
		    evutil_gai_strerror(dns));
	else if (h->ssl != NULL && (ssl_err != 0 ||
	    SSL_get_verify_result(h->ssl) != X509_V_OK))
		s = tls_describe_failure(h->ssl, ssl_err, 0);
	else if (what == NULL && http_connect_errno(sys_err))
		xasprintf(&s, "cannot connect to %s port %d: %s", h->host,
		    h->port, strerror(sys_err));
	else if (what == NULL)
		xasprintf(&s, "cannot connect to %s port %d", h->host, h->port);
	else if (sys_err != 0)
		xasprintf(&s, "%s: %s", what, strerror(sys_err));
	else
		s = xstrdup(what);
	return s;
}

/* evhttp: the response is complete, or failed (req NULL or no status). */
static void
http_done_cb(struct evhttp_request *req, void *arg)
{
	struct http_req *h = arg;
	int e = errno, status;
	char *err = NULL;
	json_t *body;

	status = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (status == 0) {
		/* After http_error_cb this changes nothing. */
		http_finish(h, 0, NULL, http_describe_error(h, NULL, e));
		return;
	}
	body = http_parse_body(evhttp_request_get_input_buffer(req), &err);
	log_debug("HTTP %d, %zu body bytes", status,
	    evbuffer_get_length(evhttp_request_get_input_buffer(req)));
	http_finish(h, status, body, err);
}

/* Text for an evhttp error. */
static const char *
http_error_text(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		return "timed out";
	case EVREQ_HTTP_EOF:
		return "connection closed";
	case EVREQ_HTTP_INVALID_HEADER:
		return "invalid response header";
	case EVREQ_HTTP_BUFFER_ERROR:
		return "connection error";
	case EVREQ_HTTP_REQUEST_CANCEL:
		return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "response too large";
	}
	return "unknown error";
}

/* evhttp: the request failed (http_done_cb follows with NULL). */
static void
http_error_cb(enum evhttp_request_error e, void *arg)
{
	struct http_req *h = arg;
	int sys_err = errno;
	char *s;

	if (e == EVREQ_HTTP_DATA_TOO_LONG)
		xasprintf(&s, "response larger than %d bytes", HTTP_MAX_BODY);
	else
		s = http_describe_error(h, http_error_text(e),
		    e == EVREQ_HTTP_TIMEOUT ? 0 : sys_err);
	http_finish(h, 0, NULL, s);
}

/* The overall deadline passed. */
static void
http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_req *h = arg;
	char *err;

	xasprintf(&err, "no answer within %d s", h->timeout_sec);
	http_finish(h, 0, NULL, err);
}

/* Free everything; no callback. */
static void
http_req_free(struct http_req *h)
{
	if (h->conn != NULL)
		evhttp_connection_free(h->conn); /* frees a pending req too */
	if (h->timer != NULL)
		event_free(h->timer);
	if (h->finish_ev != NULL)
		event_free(h->finish_ev);
	json_decref(h->body);
	free(h->err);
	free(h->host);
	free(h);
}

/* Run the user's callback, then free the request. */
static void
http_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_req *h = arg;

	h->cb(h->status, h->body, h->err, h->arg);
	http_req_free(h);
}

/* Cancel a request before its callback. */
void
http_cancel(struct http_req *h)
{
	if (h != NULL)
		http_req_free(h);
}

/* The bufferevent for u: NULL (evhttp makes a plain one) or TLS. */
static int
http_make_bev(struct http_req *h, struct event_base *base,
    struct tls_ctx *tls, const struct http_url *u,
    struct bufferevent **bevp, char **err)
{
	struct bufferevent *bev;

	*bevp = NULL;
	if (!u->tls)
		return 0;
	if (tls == NULL) {
		*err = xstrdup("https needs a TLS context");
		return -1;
	}
	if ((h->ssl = tls_ssl_new(tls, u->host, err)) == NULL)
		return -1;
	bev = bufferevent_openssl_socket_new(base, -1, h->ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(h->ssl);
		h->ssl = NULL;
		*err = xstrdup("cannot create a TLS bufferevent");
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	*bevp = bev;
	return 0;
}

/* Make the evhttp request with its headers and body. */
static struct evhttp_request *
http_make_req(struct http_req *h, const struct http_url *u,
    const json_t *body)
{
	struct evhttp_request *req;
	struct evkeyvalq *hdrs;
	char *text;

	req = evhttp_request_new(http_done_cb, h);
	if (req == NULL)
		fatal("out of memory");
	evhttp_request_set_error_cb(req, http_error_cb);
	hdrs = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdrs, "Host", u->host_header);
	evhttp_add_header(hdrs, "Accept", "application/json");
	evhttp_add_header(hdrs, "Connection", "close");
	if (body != NULL) {
		if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
			fatal("out of memory");
		evhttp_add_header(hdrs, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), text,
		    strlen(text));
		free(text);
	}
	return req;
}

/* Parse method: 0, or -1 if unsupported. */
static int
http_method(const char *method, enum evhttp_cmd_type *type)
{
	if (strcmp(method, "GET") == 0)
		*type = EVHTTP_REQ_GET;
	else if (strcmp(method, "POST") == 0)
		*type = EVHTTP_REQ_POST;
	else
		return -1;
	return 0;
}

/* Create the connection, timers and request of h for u; 0 or -1. */
static int
http_start(struct http_req *h, struct event_base *base,
    struct evdns_base *dns, struct tls_ctx *tls, enum evhttp_cmd_type type,
    const struct http_url *u, const json_t *body, char **err)
{
	struct timeval tv = { h->timeout_sec, 0 };
	struct evhttp_request *req;
	struct bufferevent *bev;

	if (http_make_bev(h, base, tls, u, &bev, err) != 0)
		return -1;
	h->conn = evhttp_connection_base_bufferevent_new(base, dns, bev,
	    u->host, (unsigned short)u->port);
	if (h->conn == NULL) {
		bufferevent_free(bev);
		*err = xstrdup("cannot create an HTTP connection");
		return -1;
	}
	evhttp_connection_set_retries(h->conn, 0);
	/* Longer than the overall timer, which so reports first. */
	evhttp_connection_set_timeout(h->conn, h->timeout_sec + 1);
	evhttp_connection_set_max_headers_size(h->conn, HTTP_MAX_HEADERS);
	evhttp_connection_set_max_body_size(h->conn, HTTP_MAX_BODY);
	h->timer = evtimer_new(base, http_timer_cb, h);
	h->finish_ev = event_new(base, -1, 0, http_finish_cb, h);
	if (h->timer == NULL || h->finish_ev == NULL)
		fatal("out of memory");
	evtimer_add(h->timer, &tv);
	req = http_make_req(h, u, body);
	if (evhttp_make_request(h->conn, req, type, u->target) != 0) {
		evhttp_request_free(req);
		*err = xstrdup("cannot start the HTTP request");
		return -1;
	}
	return 0;
}

/* Start a request. */
struct http_req *
http_request(struct event_base *base, struct evdns_base *dns,
    struct tls_ctx *tls, const char *method, const char *url,
    const json_t *body, int timeout_sec, http_cb cb, void *arg, char **err)
{
	enum evhttp_cmd_type type;
	struct http_url u;
	struct http_req *h = NULL;

	if (http_method(method, &type) != 0) {
		*err = xstrdup("unsupported HTTP method");
		return NULL;
	}
	if (http_url_parse(url, "http https", &u, err) != 0)
		return NULL;
	h = xcalloc(1, sizeof *h);
	h->timeout_sec = timeout_sec > 0 ? timeout_sec : 30;
	h->host = xstrdup(u.host);
	h->port = u.port;
	h->cb = cb;
	h->arg = arg;
	if (http_start(h, base, dns, tls, type, &u, body, err) != 0) {
		http_req_free(h);
		h = NULL;
	} else
		log_debug("%s %s", method, log_escape(url, strlen(url), 200));
	http_url_clear(&u);
	return h;
}
