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
#include "daemon/conf.h"
#include "daemon/outbox.h"
#include "daemon/server.h"
#include "engine/attrs.h"
#include "engine/store.h"
#include "tests/fuzz/inproc.h"

#define LOCAL "2f0a8d3c-1111-4a4a-9b9b-0000000000b1"
#define REMOTE "2f0a8d3c-1111-4a4a-9b9b-0000000000b2"
#define REPLAY "2f0a8d3c-1111-4a4a-9b9b-0000000000b3"

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

/* Some bytes before where strings a and b first differ. */
static size_t
near_diff(const char *a, const char *b)
{
	size_t i = 0;

	while (a[i] != '\0' && a[i] == b[i])
		i++;
	return i > 80 ? i - 80 : 0;
}

/*
 * The view's triples, in order, as one string (caller frees).  Without
 * their t: a local triple's is its transaction's time times ten plus the
 * applier's running count (as the official client's is Date.now() times
 * ten plus its own), and a replay counts again.
 */
static char *
view_text(struct store *st)
{
	sqlite3_stmt *s;
	char *text;

	ck_assert_int_eq(sqlite3_prepare_v2(store_db(st), "SELECT "
	    "group_concat(e || '|' || a || '|' || v, ';') FROM "
	    "(SELECT * FROM main.triples ORDER BY e, a, v)", -1, &s, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_ptr_nonnull(sqlite3_column_text(s, 0));
	text = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return text;
}

START_TEST(test_view_made_again_after_a_crash)
{
	const char *more =
	    "{\"op\":\"transact\",\"id\":100,\"steps\":[[\"link\",\"todos\","
	    "\"00000000-0000-4000-8000-000000000000\",{\"owner\":"
	    "\"00000001-0000-4000-8000-000000000000\"}]]}\n"
	    "{\"op\":\"transact\",\"id\":101,\"steps\":[[\"delete\",\"todos\","
	    "\"00000002-0000-4000-8000-000000000000\"]]}\n"
	    "{\"op\":\"transact\",\"id\":102,\"steps\":[[\"merge\",\"todos\","
	    "\"00000003-0000-4000-8000-000000000000\",{\"meta\":{\"a\":1}}]]}\n";
	struct inproc_client c;
	char *text = transacts(REPLAY, 20), *before, *after, *path, n[64];
	json_t *results;
	struct app *app;
	struct store *st;
	sqlite3 *db;

	/* Local writes of every kind, and a server result over two of the
	 * same entities and one of its own. */
	ck_assert_int_eq(inproc_client_open(srv, &c), 0);
	inproc_client_send(srv, &c, text, strlen(text));
	inproc_client_send(srv, &c, more, strlen(more));
	inproc_client_turns(srv, &c, 8);
	inproc_client_close(srv, &c);
	app = app_get(srv, REPLAY);
	st = app_store(app);
	ck_assert_ptr_nonnull(st);
	snprintf(n, sizeof n, "%s", attrs_forward(store_attrs(st), "todos",
	    "n")->id);
	results = json_pack("[{s:{s:{}}, s:[{s:{s:{s:[[[s,s,i,i]],[[s,s,i,i]],"
	    "[[s,s,i,i]]]}}, s:[]}]}]", "q", "todos", "result", "data",
	    "datalog-result", "join-rows",
	    "00000004-0000-4000-8000-000000000000", n, 40, 7,
	    "00000005-0000-4000-8000-000000000000", n, 50, 7,
	    "0000ffff-0000-4000-8000-000000000000", n, 99, 7,
	    "child-nodes");
	ck_assert_ptr_nonnull(results);
	outbox_results(app_outbox(app), results, 10, 0);
	outbox_commit(app_outbox(app));
	json_decref(results);
	before = view_text(st);
	ck_assert_ptr_nonnull(strstr(before, "0000ffff-"));
	ck_assert_ptr_null(strstr(before, "00000002-"));

	/* Closed, then marked as a crash leaves it; opened again. */
	app_free(app);
	ck_assert_int_gt(asprintf(&path, "%s/apps/%s.db", srv->cfg->data_dir,
	    REPLAY), 0);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE kv SET v = 'open' WHERE "
	    "k = 'view'", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_changes(db), 1);
	sqlite3_close(db);
	app = app_get(srv, REPLAY);
	st = app_store(app);
	ck_assert_ptr_nonnull(st);
	ck_assert_str_eq(store_view_new(st), "the daemon did not stop cleanly");
	after = view_text(st);
	ck_assert_msg(strcmp(after, before) == 0, "the views differ near "
	    "byte %zu: %.200s vs %.200s", near_diff(after, before),
	    after + near_diff(after, before), before + near_diff(after, before));
	app_free(app);
	free(path);
	free(before);
	free(after);
	free(text);
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
	tcase_add_test(tc, test_view_made_again_after_a_crash);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
