/*
 * test_outbox.c: what the write path keeps per transaction, through real
 * local sessions (tests/fuzz/inproc.c) on a local-only app and on one
 * whose upstream is never reachable.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/app.h"
#include "daemon/outbox.h"
#include "daemon/server.h"
#include "tests/fuzz/inproc.h"

#define LOCAL "2f0a8d3c-1111-4a4a-9b9b-0000000000b1"
#define REMOTE "2f0a8d3c-1111-4a4a-9b9b-0000000000b2"

static struct server *srv;

/* n transact lines after a hello to app, in one buffer (caller frees). */
static char *
transacts(const char *app, int n)
{
	size_t cap = 128 + (size_t)n * 200, len;
	char *buf = malloc(cap);
	int i;

	ck_assert_ptr_nonnull(buf);
	len = (size_t)snprintf(buf, cap, "{\"op\":\"hello\",\"app\":\"%s\"}\n",
	    app);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len,
		    "{\"op\":\"transact\",\"id\":%d,\"steps\":[[\"update\","
		    "\"todos\",\"%08x-0000-4000-8000-000000000000\","
		    "{\"n\":%d}]]}\n", i, (unsigned)i, i);
	return buf;
}

/* Transact n times on a connection that stays open: how many the outbox
 * then tracks for tx events, and after the connection closed. */
static void
tracked_after(const char *app, int n, size_t *open, size_t *closed)
{
	struct inproc_client c;
	char *text = transacts(app, n);
	struct outbox *ob;

	ck_assert_int_eq(inproc_client_open(srv, &c), 0);
	inproc_client_send(srv, &c, text, strlen(text));
	inproc_client_turns(srv, &c, 8);
	ob = app_outbox(app_get(srv, app));
	ck_assert_ptr_nonnull(ob);
	ck_assert_int_eq(outbox_unsynced(ob), n);
	*open = outbox_tracked(ob);
	inproc_client_close(srv, &c);
	*closed = outbox_tracked(ob);
	free(text);
}

START_TEST(test_local_only_tracks_nothing)
{
	size_t open, closed;

	/* Nothing goes upstream, so no tx event comes: a connection that
	 * stays open must not cost memory per transaction. */
	tracked_after(LOCAL, 200, &open, &closed);
	ck_assert_uint_eq(open, 0);
	ck_assert_uint_eq(closed, 0);
}
END_TEST

START_TEST(test_upstream_app_tracks_until_close)
{
	size_t open, closed;

	/* Each transaction's submitter waits for its sent and synced
	 * events, until it leaves. */
	tracked_after(REMOTE, 200, &open, &closed);
	ck_assert_uint_eq(open, 200);
	ck_assert_uint_eq(closed, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	srv = inproc_server_create("default-app = " LOCAL "\n"
	    "[app " REMOTE "]\n"
	    "websocket-uri = ws://127.0.0.1:1/runtime/session\n");
	tcase_add_test(tc, test_local_only_tracks_nothing);
	tcase_add_test(tc, test_upstream_app_tracks_until_close);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
