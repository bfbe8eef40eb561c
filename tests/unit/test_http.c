/*
 * test_http.c: URL parsing, and the HTTP client against an evhttp server
 * in the same process on 127.0.0.1:0: JSON GET and POST, a 404 with a
 * JSON body, bodies that are empty, not JSON or too large, the overall
 * timeout, refused connections and cancellation.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "daemon/http.h"

/* --- URLs ------------------------------------------------------------- */

/* Parse url and check every field. */
static void
expect_url(const char *url, int tls, const char *host, int port,
    const char *host_header, const char *target)
{
	struct http_url u;
	char *err = NULL;

	ck_assert_msg(http_url_parse(url, "http https ws wss", &u, &err) == 0,
	    "%s: %s", url, err);
	ck_assert_int_eq(u.tls, tls);
	ck_assert_str_eq(u.host, host);
	ck_assert_int_eq(u.port, port);
	ck_assert_str_eq(u.host_header, host_header);
	ck_assert_str_eq(u.target, target);
	http_url_clear(&u);
}

/* Assert that url is refused for schemes with a message containing want. */
static void
expect_bad_url(const char *url, const char *schemes, const char *want)
{
	struct http_url u;
	char *err = NULL;

	ck_assert_msg(http_url_parse(url, schemes, &u, &err) == -1,
	    "accepted %s", url);
	ck_assert_msg(strstr(err, want) != NULL, "%s: \"%s\" lacks \"%s\"",
	    url, err, want);
	free(err);
}

START_TEST(test_url)
{
	expect_url("ws://127.0.0.1:8888/runtime/session?app_id=x", 0,
	    "127.0.0.1", 8888, "127.0.0.1:8888", "/runtime/session?app_id=x");
	expect_url("wss://api.example.org/runtime/session", 1,
	    "api.example.org", 443, "api.example.org", "/runtime/session");
	expect_url("https://api.example.org:443", 1, "api.example.org", 443,
	    "api.example.org", "/");
	expect_url("http://[::1]:8080/a/b?c=d&e", 0, "::1", 8080, "[::1]:8080",
	    "/a/b?c=d&e");
	expect_url("wss://[::1]/", 1, "::1", 443, "[::1]", "/");
	expect_url("http://h:443/", 0, "h", 443, "h:443", "/");
	expect_bad_url("ftp://h/", "http https", "unsupported URL scheme");
	expect_bad_url("ws://h/", "http https", "unsupported URL scheme");
	expect_bad_url("wss://h/", "ws", "unsupported URL scheme");
	expect_bad_url("http:///x", "http", "no host");
	expect_bad_url("http://u:p@h/", "http", "user info");
	expect_bad_url("http://h/#frag", "http", "fragment");
	expect_bad_url("http://h:0/", "http", "port 0");
	expect_bad_url("http://h:70000/", "http", "malformed URL");
	expect_bad_url("http://h h/", "http", "malformed URL");
	expect_bad_url("/relative", "http", "unsupported URL scheme");
}
END_TEST

/* --- server ----------------------------------------------------------- */

struct srv {
	struct evhttp *http;
	int port;
	char last_ctype[64];
	char last_body[256];
};

/* Reply with status and text. */
static void
srv_reply(struct evhttp_request *req, int status, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, text, strlen(text));
	evhttp_send_reply(req, status, status == 200 ? "OK" : "Whatever", b);
	evbuffer_free(b);
}

/* Serve the test paths. */
static void
srv_cb(struct evhttp_request *req, void *arg)
{
	struct srv *s = arg;
	const char *path = evhttp_request_get_uri(req), *ct;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evbuffer *big;
	size_t n = evbuffer_get_length(in);

	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	snprintf(s->last_ctype, sizeof s->last_ctype, "%s", ct ? ct : "");
	ck_assert_uint_lt(n, sizeof s->last_body);
	evbuffer_remove(in, s->last_body, n);
	s->last_body[n] = '\0';
	if (strcmp(path, "/health/system") == 0) {
		srv_reply(req, 200, "{\"wal\":\"ok\"}");
	} else if (strcmp(path, "/echo") == 0) {
		srv_reply(req, 200, s->last_body);
	} else if (strcmp(path, "/notjson") == 0) {
		srv_reply(req, 200, "hello");
	} else if (strcmp(path, "/empty") == 0) {
		evhttp_send_reply(req, 204, "No Content", NULL);
	} else if (strcmp(path, "/big") == 0) {
		big = evbuffer_new();
		for (int i = 0; i < 2 * 1024; i++)
			evbuffer_add_printf(big, "%01023d\n", 0);
		evhttp_send_reply(req, 200, "OK", big);
		evbuffer_free(big);
	} else if (strcmp(path, "/slow") == 0) {
		/* never answered */
	} else {
		srv_reply(req, 404, "{\"message\":\"not found\"}");
	}
}

/* Serve on 127.0.0.1:0. */
static void
srv_start(struct srv *s, struct event_base *base)
{
	struct evhttp_bound_socket *h;
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	memset(s, 0, sizeof *s);
	s->http = evhttp_new(base);
	evhttp_set_gencb(s->http, srv_cb, s);
	h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(h);
	getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&sin,
	    &len);
	s->port = ntohs(sin.sin_port);
}

/* --- client ----------------------------------------------------------- */

struct res {
	struct event_base *base;
	int calls;
	int status;
	char body[256];
	char err[256];
};

/* Record the outcome and stop the loop. */
static void
res_cb(int status, json_t *body, const char *err, void *arg)
{
	struct res *r = arg;
	char *text;

	r->calls++;
	r->status = status;
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
		snprintf(r->body, sizeof r->body, "%s", text);
		free(text);
	}
	snprintf(r->err, sizeof r->err, "%s", err != NULL ? err : "");
	event_base_loopbreak(r->base);
}

/* Stop a test that hangs. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	ck_abort_msg("test timed out");
}

/* Request path on a fresh server and run until the callback. */
static void
run(struct res *r, struct srv *sout, const char *method, const char *path,
    const json_t *body, int timeout)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns = evdns_base_new(base, 0);
	struct event *wd = evtimer_new(base, watchdog_cb, NULL);
	struct timeval tv = { 15, 0 };
	struct http_req *h;
	struct srv s;
	char url[128], *err = NULL;

	srv_start(&s, base);
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s.port, path);
	memset(r, 0, sizeof *r);
	r->base = base;
	h = http_request(base, dns, NULL, method, url, body, timeout, res_cb,
	    r, &err);
	ck_assert_msg(h != NULL, "http_request: %s", err);
	ck_assert_int_eq(r->calls, 0);
	evtimer_add(wd, &tv);
	event_base_dispatch(base);
	ck_assert_int_eq(r->calls, 1);
	if (sout != NULL)
		*sout = s;
	event_free(wd);
	evhttp_free(s.http);
	evdns_base_free(dns, 0);
	event_base_free(base);
}

START_TEST(test_get_json)
{
	struct res r;

	run(&r, NULL, "GET", "/health/system", NULL, 5);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"wal\":\"ok\"}");
	ck_assert_str_eq(r.err, "");
}
END_TEST

START_TEST(test_post_json)
{
	json_t *body = json_pack("{s:s,s:i}", "email", "a@b.c", "n", 1);
	struct res r;
	struct srv s;

	run(&r, &s, "POST", "/echo", body, 5);
	json_decref(body);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"email\":\"a@b.c\",\"n\":1}");
	ck_assert_str_eq(s.last_ctype, "application/json");
}
END_TEST

START_TEST(test_404)
{
	struct res r;

	run(&r, NULL, "GET", "/nope", NULL, 5);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(r.body, "{\"message\":\"not found\"}");
	ck_assert_str_eq(r.err, "");
}
END_TEST

START_TEST(test_empty_body)
{
	struct res r;

	run(&r, NULL, "GET", "/empty", NULL, 5);
	ck_assert_int_eq(r.status, 204);
	ck_assert_str_eq(r.body, "");
	ck_assert_str_eq(r.err, "");
}
END_TEST

START_TEST(test_not_json)
{
	struct res r;

	run(&r, NULL, "GET", "/notjson", NULL, 5);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "");
	ck_assert_ptr_nonnull(strstr(r.err, "response body is not JSON"));
}
END_TEST

START_TEST(test_too_big)
{
	struct res r;

	run(&r, NULL, "GET", "/big", NULL, 5);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "response larger than 1048576 bytes");
}
END_TEST

START_TEST(test_timeout)
{
	struct res r;

	run(&r, NULL, "GET", "/slow", NULL, 1);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "no answer within 1 s");
}
END_TEST

START_TEST(test_refused)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns = evdns_base_new(base, 0);
	struct res r = { .base = base };
	struct srv s;
	char url[64], *err = NULL;

	srv_start(&s, base);
	evhttp_free(s.http); /* the port is now closed */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", s.port);
	ck_assert_ptr_nonnull(http_request(base, dns, NULL, "GET", url, NULL,
	    5, res_cb, &r, &err));
	event_base_dispatch(base);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.status, 0);
	snprintf(url, sizeof url, "cannot connect to 127.0.0.1 port %d",
	    s.port);
	ck_assert_msg(strncmp(r.err, url, strlen(url)) == 0, "%s", r.err);
	evdns_base_free(dns, 0);
	event_base_free(base);
}
END_TEST

START_TEST(test_cancel)
{
	struct event_base *base = event_base_new();
	struct evdns_base *dns = evdns_base_new(base, 0);
	struct res r = { .base = base };
	struct timeval tv = { 0, 300000 };
	struct http_req *h1, *h2;
	struct srv s;
	char url[64], *err = NULL;

	srv_start(&s, base);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", s.port);
	h1 = http_request(base, dns, NULL, "GET", url, NULL, 5, res_cb, &r,
	    &err);
	h2 = http_request(base, dns, NULL, "GET", url, NULL, 5, res_cb, &r,
	    &err);
	ck_assert_ptr_nonnull(h1);
	ck_assert_ptr_nonnull(h2);
	http_cancel(h1); /* before it even connected */
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	http_cancel(h2); /* while the server sits on it */
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_int_eq(r.calls, 0);
	http_cancel(NULL);
	evhttp_free(s.http);
	evdns_base_free(dns, 0);
	event_base_free(base);
}
END_TEST

START_TEST(test_bad_requests)
{
	struct event_base *base = event_base_new();
	char *err = NULL;

	ck_assert_ptr_null(http_request(base, NULL, NULL, "DELETE",
	    "http://h/", NULL, 5, res_cb, NULL, &err));
	ck_assert_str_eq(err, "unsupported HTTP method");
	free(err);
	ck_assert_ptr_null(http_request(base, NULL, NULL, "GET", "ws://h/",
	    NULL, 5, res_cb, NULL, &err));
	ck_assert_ptr_nonnull(strstr(err, "unsupported URL scheme"));
	free(err);
	ck_assert_ptr_null(http_request(base, NULL, NULL, "GET", "https://h/",
	    NULL, 5, res_cb, NULL, &err));
	ck_assert_str_eq(err, "https needs a TLS context");
	free(err);
	event_base_free(base);
}
END_TEST

/* The suite. */
static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("http");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_url);
	tcase_add_test(tc, test_get_json);
	tcase_add_test(tc, test_post_json);
	tcase_add_test(tc, test_404);
	tcase_add_test(tc, test_empty_body);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_bad_requests);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
