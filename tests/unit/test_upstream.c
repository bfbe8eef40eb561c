/*
 * test_upstream.c: the upstream message handler fed scripted server
 * frames, without a socket: init-ok attrs, add-query-ok and refresh-ok
 * results reaching the view, acks and rejections of local transactions,
 * and malformed frames ignored.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/app.h"
#include "daemon/conf.h"
#include "daemon/log.h"
#include "daemon/outbox.h"
#include "daemon/server.h"
#include "daemon/subs.h"
#include "daemon/upstream.h"

#define APP "2f0a8d3c-1111-4a4a-9b9b-0000000000aa"
#define A_ID "aaaaaaaa-0000-4000-8000-000000000001"
#define A_TITLE "aaaaaaaa-0000-4000-8000-000000000002"
#define T1 "11111111-0000-4000-8000-000000000001"
#define T2 "11111111-0000-4000-8000-000000000002"

static char dir[] = "/tmp/test_upstream.XXXXXX";
static struct conf *cfg;
static struct server *srv;
static struct app *app;
static struct upstream *up;

/* A server with one app whose upstream is never reachable. */
static void
setup(void)
{
	char *err = NULL, text[512], path[600];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	cfg = conf_create();
	snprintf(text, sizeof text, "default-app = %s\n[app %s]\n"
	    "websocket-uri = ws://127.0.0.1:1/runtime/session\n", APP, APP);
	ck_assert_int_eq(conf_load_string(cfg, "test", text, &err), 0);
	ck_assert_int_eq(conf_finish(cfg, &err), 0);
	free(cfg->data_dir);
	snprintf(path, sizeof path, "%s/data", dir);
	cfg->data_dir = strdup(path);
	snprintf(path, sizeof path, "%s/sock", dir);
	cfg->socket_path = strdup(path);
	log_init("test_upstream", LOG_LEVEL_ERROR);
	srv = server_create(cfg);
	app = app_get(srv, APP);
	up = app_upstream(app);
	ck_assert_ptr_nonnull(up);
}

static void
teardown(void)
{
	char cmd[600];

	server_free(srv);
	conf_free(cfg);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(dir, "/tmp/test_upstream.XXXXXX");
}

/* Feed one frame. */
static void
feed(const char *text)
{
	upstream_handle_text(up, text, strlen(text));
}

/* The titles of {todos:{}} in the view, as JSON text (caller frees). */
static char *
titles(void)
{
	json_t *q = json_loads("{\"todos\":{\"$\":{\"order\":{\"title\":\"asc\"}}}}", 0, NULL);
	json_t *out = NULL, *list = json_array(), *t;
	char *err = NULL, *s;
	size_t i;

	ck_assert_int_eq(subs_eval_once(app_subs(app), q, &out, &err), 0);
	json_array_foreach(json_object_get(json_object_get(out, "data"),
	    "todos"), i, t)
		json_array_append(list, json_object_get(t, "title"));
	s = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	json_decref(out);
	json_decref(q);
	return s;
}

static const char init_ok[] =
    "{\"op\":\"init-ok\",\"session-id\":\"s1\",\"client-event-id\":\"c\","
    "\"app-status\":{\"status\":\"active\"},\"attrs\":["
    "{\"id\":\"" A_ID "\",\"forward-identity\":[\"f1\",\"todos\",\"id\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\",\"unique?\":true,"
    "\"index?\":false},"
    "{\"id\":\"" A_TITLE "\",\"forward-identity\":[\"f2\",\"todos\",\"title\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\",\"unique?\":false,"
    "\"index?\":false}]}";

/* A join-rows result holding the given triples text. */
static char *
result(const char *triples)
{
	char *s;

	if (asprintf(&s, "[{\"data\":{\"datalog-result\":{\"join-rows\":[[%s]]}},"
	    "\"child-nodes\":[]}]", triples) < 0)
		return NULL;
	return s;
}

START_TEST(test_results_reach_the_view)
{
	char *r, *msg, *got;

	feed(init_ok);
	ck_assert(upstream_ready(up));
	r = result("[\"" T1 "\",\"" A_ID "\",\"" T1 "\",1],"
	    "[\"" T1 "\",\"" A_TITLE "\",\"milk\",1],"
	    "[\"" T2 "\",\"" A_ID "\",\"" T2 "\",2],"
	    "[\"" T2 "\",\"" A_TITLE "\",\"bread\",2]");
	ck_assert(asprintf(&msg, "{\"op\":\"add-query-ok\",\"q\":{\"todos\":{}},"
	    "\"result\":%s,\"processed-tx-id\":5}", r) > 0);
	feed(msg);
	got = titles();
	ck_assert_str_eq(got, "[\"bread\",\"milk\"]");
	free(got);
	free(msg);
	free(r);

	/* refresh-ok replaces the query's triples: bread is gone. */
	r = result("[\"" T1 "\",\"" A_ID "\",\"" T1 "\",1],"
	    "[\"" T1 "\",\"" A_TITLE "\",\"oat milk\",1]");
	ck_assert(asprintf(&msg, "{\"op\":\"refresh-ok\",\"processed-tx-id\":6,"
	    "\"computations\":[{\"instaql-query\":{\"todos\":{}},"
	    "\"instaql-result\":%s}]}", r) > 0);
	feed(msg);
	got = titles();
	ck_assert_str_eq(got, "[\"oat milk\"]");
	free(got);
	free(msg);
	free(r);
}
END_TEST

START_TEST(test_frames_before_init_are_ignored)
{
	char *r, *msg, *got;

	r = result("[\"" T1 "\",\"" A_ID "\",\"" T1 "\",1]");
	ck_assert(asprintf(&msg, "{\"op\":\"add-query-ok\",\"q\":{\"todos\":{}},"
	    "\"result\":%s,\"processed-tx-id\":5}", r) > 0);
	feed(msg);
	ck_assert(!upstream_ready(up));
	got = titles();
	ck_assert_str_eq(got, "[]");
	free(got);
	free(msg);
	free(r);
}
END_TEST

START_TEST(test_malformed_frames)
{
	static const char *const frames[] = {
		"", "not json", "[", "42", "null", "[1,2,3]", "{}",
		"{\"op\":7}", "{\"op\":\"refresh-ok\"}",
		"{\"op\":\"refresh-ok\",\"computations\":{}}",
		"{\"op\":\"refresh-ok\",\"computations\":[{\"instaql-query\":1}]}",
		"{\"op\":\"add-query-ok\"}",
		"{\"op\":\"add-query-ok\",\"q\":{\"todos\":{}},\"result\":{}}",
		"{\"op\":\"add-query-ok\",\"q\":{\"todos\":{}},\"result\":[{\"data\":"
		    "{\"datalog-result\":{\"join-rows\":[[[1,2,3]]]}}}]}",
		"{\"op\":\"transact-ok\",\"client-event-id\":\"nope\",\"tx-id\":1}",
		"{\"op\":\"transact-ok\"}",
		"{\"op\":\"error\"}",
		"{\"op\":\"error\",\"original-event\":{\"op\":\"add-query\"}}",
		"{\"op\":\"app-status-changed\",\"status\":5}",
		"{\"op\":\"init-ok\",\"attrs\":[{\"id\":1}]}",
		"[{\"op\":\"unknown-op\"},{\"op\":\"remove-query-ok\"},7]",
	};
	char *got;
	size_t i;

	feed(init_ok);
	for (i = 0; i < sizeof frames / sizeof *frames; i++)
		feed(frames[i]);
	got = titles();
	ck_assert_str_eq(got, "[]");
	free(got);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("upstream");
	TCase *tc = tcase_create("frames");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_results_reach_the_view);
	tcase_add_test(tc, test_frames_before_init_are_ignored);
	tcase_add_test(tc, test_malformed_frames);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
