/*
 * test_upstream.c: the upstream message handler fed scripted server
 * frames, without a socket: init-ok attrs, add-query-ok and refresh-ok
 * results reaching the view, acks and rejections of local transactions,
 * and malformed frames ignored: a few here, and every frame of the
 * catalog tests/vectors/upstream-bad.jsonl with its expected outcome
 * (the log line it must cause, the state after it, the view unchanged).
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/bio.h>
#include <openssl/evp.h>

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

/* Free the server and remove its data dir. */
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

/* What the end of the loop turn does: the outbox's batch commits, and
 * the view catches up with the server results the batch put off.  (The
 * loop itself would also try to reach the unreachable upstream.) */
static void
turn(void)
{
	outbox_commit(app_outbox(app));
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

/* Feed a refresh-ok of {todos:{}} holding the triples text. */
static void
feed_refresh(const char *triples, int processed_tx_id)
{
	char *r = result(triples), *msg;

	ck_assert(asprintf(&msg, "{\"op\":\"refresh-ok\",\"processed-tx-id\":"
	    "%d,\"computations\":[{\"instaql-query\":{\"todos\":{}},"
	    "\"instaql-result\":%s}]}", processed_tx_id, r) > 0);
	feed(msg);
	free(msg);
	free(r);
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

	/* refresh-ok replaces the query's triples: bread is gone, once the
	 * batch commits; until then the view is the one before. */
	feed_refresh("[\"" T1 "\",\"" A_ID "\",\"" T1 "\",1],"
	    "[\"" T1 "\",\"" A_TITLE "\",\"oat milk\",1]", 6);
	got = titles();
	ck_assert_str_eq(got, "[\"bread\",\"milk\"]");
	free(got);
	turn();
	got = titles();
	ck_assert_str_eq(got, "[\"oat milk\"]");
	free(got);

	/* Two refreshes in one turn: the view catches up with both. */
	feed_refresh("[\"" T1 "\",\"" A_ID "\",\"" T1 "\",1],"
	    "[\"" T1 "\",\"" A_TITLE "\",\"rye\",1],"
	    "[\"" T2 "\",\"" A_ID "\",\"" T2 "\",2],"
	    "[\"" T2 "\",\"" A_TITLE "\",\"tea\",2]", 7);
	feed_refresh("[\"" T2 "\",\"" A_ID "\",\"" T2 "\",2],"
	    "[\"" T2 "\",\"" A_TITLE "\",\"tea\",2]", 8);
	turn();
	got = titles();
	ck_assert_str_eq(got, "[\"tea\"]");
	free(got);
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

/* The upstream catalog (JSON lines), or NULL when it cannot be read. */
static json_t *
catalog(void)
{
	const char *top = getenv("top_srcdir");
	char path[1024], line[1 << 16];
	json_t *all = json_array(), *v;
	FILE *f;

	snprintf(path, sizeof path, "%s/tests/vectors/upstream-bad.jsonl",
	    top != NULL ? top : ".");
	if ((f = fopen(path, "r")) == NULL) {
		json_decref(all);
		return NULL;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '\n')
			continue;
		if ((v = json_loads(line, 0, NULL)) == NULL) {
			json_decref(all);
			all = NULL;
			break;
		}
		json_array_append_new(all, v);
	}
	fclose(f);
	return all;
}

/* A vector's frame bytes (caller frees). */
static char *
vector_frame(json_t *v, size_t *len)
{
	json_t *gen = json_object_get(v, "gen");
	const char *s, *pre, *fill, *suf;
	size_t n, i, pl, sl;
	char *out = NULL;
	BIO *b64, *mem;

	if ((s = json_string_value(json_object_get(v, "frame"))) != NULL) {
		*len = strlen(s);
		return strdup(s);
	}
	if ((s = json_string_value(json_object_get(v, "frame_b64"))) != NULL) {
		out = malloc(strlen(s) + 1);
		b64 = BIO_new(BIO_f_base64());
		mem = BIO_new_mem_buf(s, (int)strlen(s));
		BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
		BIO_push(b64, mem);
		*len = (size_t)BIO_read(b64, out, (int)strlen(s));
		BIO_free_all(b64);
		return out;
	}
	pre = json_string_value(json_object_get(gen, "prefix"));
	fill = json_string_value(json_object_get(gen, "fill"));
	suf = json_string_value(json_object_get(gen, "suffix"));
	n = (size_t)json_integer_value(json_object_get(gen, "count"));
	ck_assert(pre != NULL && fill != NULL && suf != NULL);
	pl = strlen(pre);
	sl = strlen(suf);
	*len = pl + n * strlen(fill) + sl;
	out = malloc(*len + 1);
	memcpy(out, pre, pl);
	for (i = 0; i < n; i++)
		memcpy(out + pl + i * strlen(fill), fill, strlen(fill));
	memcpy(out + *len - sl, suf, sl);
	return out;
}

/* Feed bytes with the log at debug level captured; returns the log text
 * (caller frees). */
static char *
feed_logged(const char *data, size_t len)
{
	char tmpl[] = "/tmp/test_upstream_log.XXXXXX", *text;
	int fd = mkstemp(tmpl), saved = dup(2);
	long n;
	FILE *f;

	ck_assert(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	log_set_level(LOG_LEVEL_DEBUG);
	upstream_handle_text(up, data, len);
	log_set_level(LOG_LEVEL_ERROR);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	ck_assert_ptr_nonnull(f = fopen(tmpl, "r"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(text, 1, (size_t)n, f), n);
	fclose(f);
	unlink(tmpl);
	return text;
}

/* The app's connection state name. */
static char *
state_now(void)
{
	json_t *c = app_connection_json(app);
	char *s = strdup(json_string_value(json_object_get(c, "state")));

	json_decref(c);
	return s;
}

START_TEST(test_catalog)
{
	json_t *all = catalog(), *v, *e;
	const char *name, *want_log, *want_state, *outcome;
	char *r, *msg, *frame, *before, *after, *logtext, *st0, *st1;
	int before_init, want_ready;
	size_t len;

	ck_assert_ptr_nonnull(all);
	v = json_array_get(all, (size_t)_i);
	ck_assert_ptr_nonnull(v);
	name = json_string_value(json_object_get(v, "name"));
	e = json_object_get(v, "expect");
	before_init = json_is_true(json_object_get(e, "before_init"));
	want_ready = json_is_boolean(json_object_get(e, "ready")) ?
	    json_is_true(json_object_get(e, "ready")) : !before_init;
	want_log = json_string_value(json_object_get(e, "log"));
	want_state = json_string_value(json_object_get(e, "state"));
	outcome = json_string_value(json_object_get(e, "outcome"));
	ck_assert_msg(want_log != NULL && outcome != NULL,
	    "%s: expect.log and expect.outcome are required", name);

	/* Authenticated (unless the vector comes first) with two todos. */
	if (!before_init) {
		feed(init_ok);
		r = result("[\"" T1 "\",\"" A_ID "\",\"" T1 "\",1],"
		    "[\"" T1 "\",\"" A_TITLE "\",\"milk\",1],"
		    "[\"" T2 "\",\"" A_ID "\",\"" T2 "\",2],"
		    "[\"" T2 "\",\"" A_TITLE "\",\"bread\",2]");
		ck_assert(asprintf(&msg, "{\"op\":\"add-query-ok\",\"q\":"
		    "{\"todos\":{}},\"result\":%s,\"processed-tx-id\":5}",
		    r) > 0);
		feed(msg);
		free(msg);
		free(r);
	}
	before = titles();
	st0 = state_now();

	frame = vector_frame(v, &len);
	logtext = feed_logged(frame, len);
	turn();
	ck_assert_msg(strstr(logtext, want_log) != NULL,
	    "%s: no log line with \"%s\" in:\n%.600s", name, want_log, logtext);
	ck_assert_msg(upstream_ready(up) == want_ready, "%s: ready %d",
	    name, upstream_ready(up));
	after = titles();
	ck_assert_msg(strcmp(before, after) == 0, "%s: the view changed "
	    "from %.200s to %.200s", name, before, after);
	st1 = state_now();
	if (want_state != NULL)
		ck_assert_msg(strcmp(st1, want_state) == 0, "%s: state %s",
		    name, st1);
	else if (strcmp(outcome, "ignored") == 0)
		ck_assert_msg(strcmp(st0, st1) == 0, "%s: state %s -> %s",
		    name, st0, st1);
	/* Still usable: a good result after the bad frame is applied. */
	if (!before_init) {
		feed_refresh("[\"" T1 "\",\"" A_ID "\",\"" T1 "\",1],"
		    "[\"" T1 "\",\"" A_TITLE "\",\"tea\",1]", 50);
		turn();
		free(after);
		after = titles();
		ck_assert_msg(strcmp(after, "[\"tea\"]") == 0,
		    "%s: a good frame after it gave %s", name, after);
	}
	free(st0);
	free(st1);
	free(before);
	free(after);
	free(logtext);
	free(frame);
	json_decref(all);
}
END_TEST

int
main(void)
{
	json_t *all = catalog();
	Suite *s = suite_create("upstream");
	TCase *tc = tcase_create("frames");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_results_reach_the_view);
	tcase_add_test(tc, test_frames_before_init_are_ignored);
	tcase_add_test(tc, test_malformed_frames);
	suite_add_tcase(s, tc);
	/* The catalog: at least 30 frames, one test each. */
	if (all == NULL || json_array_size(all) < 30) {
		fprintf(stderr, "tests/vectors/upstream-bad.jsonl: missing, "
		    "unreadable or under 30 frames\n");
		return 1;
	}
	tc = tcase_create("catalog");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_catalog, 0, (int)json_array_size(all));
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	json_decref(all);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
