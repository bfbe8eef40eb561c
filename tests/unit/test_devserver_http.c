/*
 * test_devserver_http.c: the devserver's capped HTTP/1.1 request parser
 * and the WebSocket accept key, fed from byte strings.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "devserver/http.h"
#include "devserver/ws.h"

static struct evbuffer *in;
static struct http_request req;

/* A fresh buffer and request. */
static void
setup(void)
{
	in = evbuffer_new();
	http_request_init(&req);
}

/* Free them. */
static void
teardown(void)
{
	http_request_clear(&req);
	evbuffer_free(in);
}

/* Feed s and parse. */
static int
feed(const char *s)
{
	evbuffer_add(in, s, strlen(s));
	return http_request_parse(&req, in, 64);
}

START_TEST(test_upgrade_request)
{
	ck_assert_int_eq(
	    feed("GET /runtime/session?app_id=abc%2Dd&x=1 HTTP/1.1"
		 "\r\nHost: 127.0.0.1\r\nConnection: keep-alive, Upgrade\r\n"
		 "Upgrade: websocket\r\n\r\n"),
	    1);
	ck_assert_str_eq(req.method, "GET");
	ck_assert_str_eq(req.path, "/runtime/session");
	ck_assert_str_eq(http_request_query(&req, "app_id"), "abc-d");
	ck_assert_str_eq(http_request_header(&req, "upgrade"), "websocket");
	ck_assert(http_header_has_token(http_request_header(&req, "Connection"),
					"upgrade"));
	ck_assert(!http_header_has_token("keep-alive, upgrades", "upgrade"));
	ck_assert_ptr_null(http_request_header(&req, "Cookie"));
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
}
END_TEST

START_TEST(test_incremental_with_body)
{
	ck_assert_int_eq(feed("POST /faults HTTP/1.1\r\nContent-"), 0);
	ck_assert_int_eq(feed("Length: 5\r\n\r\n{\"a\""), 0);
	ck_assert_int_eq(feed(":1}"), 1);
	ck_assert_str_eq(req.body, "{\"a\":");
	ck_assert_uint_eq(req.body_len, 5);
	/* the extra byte is left for whoever reads next */
	ck_assert_uint_eq(evbuffer_get_length(in), 2);
}
END_TEST

START_TEST(test_head_too_long)
{
	char *big = malloc(HTTP_MAX_HEAD + 2);

	memset(big, 'a', HTTP_MAX_HEAD + 1);
	big[HTTP_MAX_HEAD + 1] = '\0';
	ck_assert_int_eq(feed(big), -1);
	ck_assert_int_eq(req.status, 431);
	free(big);
}
END_TEST

START_TEST(test_too_many_headers)
{
	ck_assert_int_eq(feed("GET / HTTP/1.1\r\n"), 0);
	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		ck_assert_int_eq(feed("X-A: b\r\n"), 0);
	ck_assert_int_eq(feed("X-A: b\r\n\r\n"), -1);
	ck_assert_int_eq(req.status, 431);
}
END_TEST

START_TEST(test_body_caps)
{
	ck_assert_int_eq(feed("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n"),
			 -1);
	ck_assert_int_eq(req.status, 413);
	http_request_clear(&req);
	evbuffer_drain(in, evbuffer_get_length(in));
	ck_assert_int_eq(feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked"
			      "\r\n\r\n"),
			 -1);
	ck_assert_int_eq(req.status, 501);
	http_request_clear(&req);
	evbuffer_drain(in, evbuffer_get_length(in));
	ck_assert_int_eq(feed("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
			 -1);
	ck_assert_int_eq(req.status, 400);
}
END_TEST

START_TEST(test_malformed)
{
	static const char *const bad[] = {
	    "GET /\r\n\r\n",
	    "GET / HTTP/2.0\r\n\r\n",
	    "GET relative HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1 extra\r\n\r\n",
	    "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
	    "GET / HTTP/1.1\r\n folded: x\r\n\r\n",
	    "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
	    "\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_request_clear(&req);
		evbuffer_drain(in, evbuffer_get_length(in));
		ck_assert_msg(feed(bad[i]) == -1, "accepted %s", bad[i]);
		ck_assert_int_eq(req.status, 400);
	}
}
END_TEST

START_TEST(test_accept_key)
{
	char out[WS_ACCEPT_LEN + 1];

	/* the example of RFC 6455 section 1.3 */
	ck_assert_int_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ck_assert_int_eq(ws_accept_key("short", out), -1);
	ck_assert_int_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQAA", out), -1);
}
END_TEST

/* The parser suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("devserver_http");
	TCase *tc = tcase_create("http");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_upgrade_request);
	tcase_add_test(tc, test_incremental_with_body);
	tcase_add_test(tc, test_head_too_long);
	tcase_add_test(tc, test_too_many_headers);
	tcase_add_test(tc, test_body_caps);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_accept_key);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite; fail if any test failed. */
int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
