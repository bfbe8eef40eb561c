/*
 * test_devserver_session.c: the devserver's session layer driven with
 * scripted frames, no sockets: init rules, add-query/remove-query,
 * transact with refresh-ok to every session, error envelopes, tx-ids
 * across a restart, fault injection, and the control and auth HTTP
 * handlers fed with parsed requests.  Expected texts come from Instant's
 * server (see the protocol reference, sections 2 and 6.2).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "devserver/auth.h"
#include "devserver/control.h"
#include "devserver/http.h"
#include "tests/unit/test_devserver_harness.h"

START_TEST(test_op_before_init)
{
	struct client *c = client_new();
	json_t *m, *hint;

	client_say(c, json_pack("{s:s,s:s,s:{}}", "op", "add-query",
				"client-event-id", "q1", "q", "goals"));
	m = expect_op(c, "error");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "status")), 400);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "validation-failed");
	ck_assert_str_eq(
	    json_string_value(json_object_get(m, "message")),
	    "Validation failed for init: `init` has not run for this session.");
	ck_assert_str_eq(
	    json_string_value(json_object_get(m, "client-event-id")), "q1");
	ck_assert_str_eq(op_of(json_object_get(m, "original-event")),
			 "add-query");
	hint = json_object_get(m, "hint");
	ck_assert_str_eq(json_string_value(json_object_get(hint, "data-type")),
			 "init");
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(hint, "errors"), 0), "message")),
	    "`init` has not run for this session.");
	json_decref(m);
	client_free(c);
}
END_TEST

START_TEST(test_init_ok_and_second_init)
{
	struct client *c = client_new();
	json_t *m, *attrs, *a;
	size_t i;
	int users = 0;

	client_say(c, json_pack("{s:s,s:s,s:s}", "op", "init",
				"client-event-id", "i1", "app-id", APP));
	m = expect_op(c, "init-ok");
	ck_assert_str_eq(
	    json_string_value(json_object_get(m, "client-event-id")), "i1");
	ck_assert_str_eq(json_string_value(json_object_get(m, "session-id")),
			 session_id(c->s));
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(m, "app-status"), "status")),
			 "active");
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(m, "auth"), "app"), "id")),
	    APP);
	attrs = json_object_get(m, "attrs");
	json_array_foreach(attrs, i, a) if (strcmp(
						json_string_value(
						    json_array_get(
							json_object_get(
							    a,
							    "forward-identity"),
							1)),
						"$users") == 0) users++;
	ck_assert_int_ge(users, 2);
	json_decref(m);

	client_say(c, json_pack("{s:s,s:s,s:s}", "op", "init",
				"client-event-id", "i2", "app-id", APP));
	m = expect_op(c, "error");
	ck_assert_str_eq(
	    json_string_value(json_object_get(m, "message")),
	    "Validation failed for init: `init` has already run for this "
	    "session.");
	ck_assert_str_eq(
	    json_string_value(json_object_get(m, "client-event-id")), "i2");
	json_decref(m);
	client_free(c);
}
END_TEST

START_TEST(test_init_errors)
{
	struct client *c = client_new();
	json_t *m;

	client_say(c, json_pack("{s:s,s:s,s:s}", "op", "init",
				"client-event-id", "i1", "app-id", OTHER_APP));
	m = expect_op(c, "error");
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "record-not-found");
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(m, "hint"), "record-type")),
			 "app");
	json_decref(m);

	client_say(c,
		   json_pack("{s:s,s:s,s:s}", "op", "init", "client-event-id",
			     "i2", "app-id", "not-a-uuid"));
	m = expect_op(c, "error");
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "param-malformed");
	json_decref(m);

	client_say(c, json_pack("{s:s,s:s,s:s,s:s}", "op", "init",
				"client-event-id", "i3", "app-id", APP,
				"refresh-token",
				"0badbad0-0000-4000-8000-000000000000"));
	m = expect_op(c, "error");
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "record-not-found");
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(m, "hint"), "record-type")),
			 "app-user");
	json_decref(m);

	/* none of the failures initialised the session */
	client_init(c);
	client_free(c);
}
END_TEST

START_TEST(test_unknown_op_and_bad_json)
{
	struct client *c = client_new();
	json_t *m;

	client_init(c);
	client_say(
	    c, json_pack("{s:s,s:s}", "op", "fly", "client-event-id", "x1"));
	m = expect_op(c, "error");
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "param-malformed");
	ck_assert_str_eq(json_string_value(json_object_get(m, "message")),
			 "Invalid op");
	ck_assert_str_eq(json_string_value(
			     json_object_get(json_object_get(m, "hint"), "op")),
			 "fly");
	json_decref(m);

	session_receive(c->s, "{\"op\":", 6);
	m = expect_op(c, "error");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "status")), 400);
	ck_assert(json_is_null(json_object_get(m, "original-event")));
	json_decref(m);
	client_free(c);
}
END_TEST

START_TEST(test_add_query_exists_and_remove)
{
	struct client *c = client_new();
	json_t *m, *res;

	client_init(c);
	m = client_query(
	    c, json_pack("{s:{s:{},s:{}}}", "goals", "todos", "owner"), "q1");
	ck_assert_str_eq(op_of(m), "add-query-ok");
	ck_assert_str_eq(
	    json_string_value(json_object_get(m, "client-event-id")), "q1");
	ck_assert(json_is_null(json_object_get(m, "processed-tx-id")));
	res = json_object_get(m, "result");
	ck_assert_int_eq(json_array_size(res), 1);
	ck_assert(json_is_array(json_object_get(
	    json_object_get(json_object_get(json_array_get(res, 0), "data"),
			    "datalog-result"),
	    "join-rows")));
	ck_assert_int_eq(json_array_size(json_object_get(json_array_get(res, 0),
							 "child-nodes")),
			 0);
	json_decref(m);

	/* the same query with its keys in another order */
	m = client_query(
	    c, json_pack("{s:{s:{},s:{}}}", "goals", "owner", "todos"), "q2");
	ck_assert_str_eq(op_of(m), "add-query-exists");
	ck_assert_str_eq(
	    json_string_value(json_object_get(m, "client-event-id")), "q2");
	ck_assert_ptr_null(json_object_get(m, "result"));
	json_decref(m);

	client_say(c, json_pack("{s:s,s:s,s:{s:{s:{},s:{}}}}", "op",
				"remove-query", "client-event-id", "r1", "q",
				"goals", "todos", "owner"));
	json_decref(expect_op(c, "remove-query-ok"));
	m = client_query(
	    c, json_pack("{s:{s:{},s:{}}}", "goals", "todos", "owner"), "q3");
	ck_assert_str_eq(op_of(m), "add-query-ok");
	json_decref(m);

	/* ruleParams ride inside q; they only matter to permission rules */
	m = client_query(
	    c, json_pack("{s:{},s:{s:s}}", "goals", "$$ruleParams", "k", "v"),
	    "q5");
	ck_assert_str_eq(op_of(m), "add-query-ok");
	ck_assert_ptr_nonnull(
	    json_object_get(json_object_get(m, "q"), "$$ruleParams"));
	json_decref(m);

	m = client_query(c, json_null(), "q4");
	ck_assert_str_eq(op_of(m), "error");
	ck_assert_str_eq(
	    json_string_value(json_object_get(m, "message")),
	    "Validation failed for add-query: Query can not be null.");
	json_decref(m);
	client_free(c);
}
END_TEST

START_TEST(test_transact_refreshes_every_session)
{
	struct client *a = client_new(), *b = client_new(), *c = client_new();
	json_t *m, *comp;

	client_init(a);
	client_init(b);
	client_init(c);
	json_decref(client_query(a, json_pack("{s:{}}", "goals"), "qa"));
	json_decref(client_query(b, json_pack("{s:{}}", "goals"), "qb"));
	json_decref(client_query(c, json_pack("{s:{}}", "todos"), "qc"));

	/* new attrs: every session is refreshed at once, before the ack */
	client_transact(a, goal_steps(E1, "first", 1), "t1");
	json_decref(expect_op(a, "refresh-ok"));
	m = expect_op(a, "transact-ok");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "tx-id")), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(m, "client-event-id")), "t1");
	json_decref(m);

	m = expect_op(b, "refresh-ok");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(m, "processed-tx-id")), 1);
	ck_assert(json_is_array(json_object_get(m, "attrs")));
	comp = json_array_get(json_object_get(m, "computations"), 0);
	ck_assert_ptr_nonnull(
	    json_object_get(json_object_get(comp, "instaql-query"), "goals"));
	ck_assert(
	    result_has_value(json_object_get(comp, "instaql-result"), "first"));
	json_decref(m);

	/* attrs changed: c gets them, with no computation of its own */
	m = expect_op(c, "refresh-ok");
	ck_assert_int_eq(json_array_size(json_object_get(m, "computations")),
			 0);
	ck_assert(json_is_array(json_object_get(m, "attrs")));
	json_decref(m);

	/* no attr change: c hears nothing, b gets results without attrs, from
	 * one pass on the next loop turn for both commits of this turn */
	client_transact(a, goal_steps(E2, "second", 0), "t2");
	m = expect_op(a, "transact-ok");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "tx-id")), 2);
	json_decref(m);
	ck_assert_ptr_null(client_take(b));
	client_transact(a, goal_steps(E3, "third", 0), "t3");
	json_decref(expect_op(a, "transact-ok"));
	pump();
	ck_assert_ptr_null(client_take(c));
	m = expect_op(b, "refresh-ok");
	ck_assert_ptr_null(json_object_get(m, "attrs"));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(m, "processed-tx-id")), 3);
	comp = json_array_get(json_object_get(m, "computations"), 0);
	ck_assert(
	    result_has_value(json_object_get(comp, "instaql-result"), "third"));
	json_decref(m);
	ck_assert_ptr_null(client_take(b));
	json_decref(expect_op(a, "refresh-ok"));
	ck_assert_ptr_null(client_take(a));
	client_free(a);
	client_free(b);
	client_free(c);
}
END_TEST

START_TEST(test_data_and_tx_ids_survive_restart)
{
	struct client *c = client_new();
	json_t *m;

	client_init(c);
	client_transact(c, goal_steps(E1, "kept", 1), "t1");
	client_transact(c, goal_steps(E2, "kept too", 0), "t2");
	client_free(c);
	server_free(sv);
	server_open();

	c = client_new();
	client_init(c);
	m = client_query(c, json_pack("{s:{}}", "goals"), "q1");
	ck_assert_str_eq(op_of(m), "add-query-ok");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(m, "processed-tx-id")), 2);
	ck_assert(result_has_value(json_object_get(m, "result"), "kept"));
	ck_assert(result_has_value(json_object_get(m, "result"), "kept too"));
	json_decref(m);
	client_transact(c, goal_steps(E1, "again", 0), "t3");
	m = expect_op(c, "transact-ok");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "tx-id")), 3);
	json_decref(m);
	client_free(c);
}
END_TEST

START_TEST(test_fault_drop_ack)
{
	struct client *a = client_new(), *b = client_new();
	const char *errmsg;
	json_t *m;

	client_init(a);
	client_init(b);
	json_decref(client_query(b, json_pack("{s:{}}", "goals"), "qb"));
	ck_assert_int_eq(
	    faults_apply_arg(server_faults(sv), "drop-ack=1", &errmsg), 0);
	client_transact(a, goal_steps(E1, "dropped ack", 1), "t1");
	pump();
	drop_refreshes(a);
	ck_assert_ptr_null(client_take(a));
	/* committed all the same */
	m = expect_op(b, "refresh-ok");
	ck_assert(result_has_value(
	    json_object_get(
		json_array_get(json_object_get(m, "computations"), 0),
		"instaql-result"),
	    "dropped ack"));
	json_decref(m);
	/* only one ack was to be dropped */
	client_transact(a, goal_steps(E2, "acked", 0), "t2");
	drop_refreshes(a);
	m = expect_op(a, "transact-ok");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "tx-id")), 2);
	json_decref(m);
	client_free(a);
	client_free(b);
}
END_TEST

START_TEST(test_fault_close_before_ack)
{
	struct client *a = client_new(), *b = client_new();
	const char *errmsg;
	json_t *m;

	client_init(a);
	client_init(b);
	json_decref(client_query(a, json_pack("{s:{}}", "goals"), "qa"));
	json_decref(client_query(b, json_pack("{s:{}}", "goals"), "qb"));
	ck_assert_int_eq(faults_apply_arg(server_faults(sv),
					  "close-before-ack=true", &errmsg),
			 0);
	client_transact(a, goal_steps(E1, "closed", 1), "t1");
	pump();
	ck_assert_int_eq(a->closed, 1);
	ck_assert_ptr_null(client_take(a));
	m = expect_op(b, "refresh-ok");
	json_decref(m);
	/* a closed session ignores everything */
	client_say(a,
		   json_pack("{s:s,s:s}", "op", "fly", "client-event-id", "x"));
	ck_assert_ptr_null(client_take(a));
	client_free(a);
	client_free(b);
}
END_TEST

START_TEST(test_fault_deny_namespace)
{
	struct client *a = client_new();
	const char *errmsg;
	json_t *m, *hint;

	client_init(a);
	ck_assert_int_eq(faults_apply_arg(server_faults(sv),
					  "deny-namespaces=[\"goals\"]",
					  &errmsg),
			 0);
	client_transact(a, goal_steps(E1, "denied", 1), "t1");
	m = expect_op(a, "error");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "status")), 400);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "permission-denied");
	ck_assert_str_eq(json_string_value(json_object_get(m, "message")),
			 "Permission denied: not perms-pass?");
	hint = json_object_get(m, "hint");
	ck_assert_str_eq(json_string_value(
			     json_array_get(json_object_get(hint, "input"), 0)),
			 "goals");
	ck_assert_str_eq(
	    json_string_value(json_object_get(m, "client-event-id")), "t1");
	ck_assert(json_is_array(
	    json_object_get(json_object_get(m, "original-event"), "tx-steps")));
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_object_get(m, "original-event"), "session-id")),
	    session_id(a->s));
	json_decref(m);
	ck_assert_ptr_null(client_take(a));

	ck_assert_int_eq(
	    faults_apply_arg(server_faults(sv), "deny-namespaces=[]", &errmsg),
	    0);
	client_transact(a, goal_steps(E1, "allowed", 1), "t2");
	drop_refreshes(a);
	m = expect_op(a, "transact-ok");
	/* the denied transaction used no tx-id */
	ck_assert_int_eq(json_integer_value(json_object_get(m, "tx-id")), 1);
	json_decref(m);
	client_free(a);
}
END_TEST

START_TEST(test_fault_app_status)
{
	struct client *a = client_new();
	const char *errmsg;
	json_t *m;

	client_init(a);
	ck_assert_int_eq(faults_apply_arg(server_faults(sv),
					  "app-status=read-only", &errmsg),
			 0);
	server_status_changed(sv);
	m = expect_op(a, "app-status-changed");
	ck_assert_str_eq(json_string_value(json_object_get(m, "status")),
			 "read-only");
	json_decref(m);
	client_transact(a, goal_steps(E1, "ro", 1), "t1");
	m = expect_op(a, "error");
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "app-read-only");
	ck_assert_str_eq(json_string_value(json_object_get(m, "message")),
			 "This app is in read-only mode.");
	json_decref(m);
	/* reads still work when read-only */
	m = client_query(a, json_pack("{s:{}}", "goals"), "q1");
	ck_assert_str_eq(op_of(m), "add-query-ok");
	json_decref(m);

	ck_assert_int_eq(
	    faults_apply_arg(server_faults(sv), "app-status=disabled", &errmsg),
	    0);
	m = client_query(a, json_pack("{s:{}}", "todos"), "q2");
	ck_assert_str_eq(op_of(m), "error");
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "app-disabled");
	json_decref(m);
	client_free(a);
}
END_TEST

START_TEST(test_fault_ack_delay_and_no_answer)
{
	struct client *a = client_new();
	struct timeval tv = {0, 300000};
	const char *errmsg;
	json_t *m;

	client_init(a);
	ck_assert_int_eq(
	    faults_apply_arg(server_faults(sv), "ack-delay-ms=50", &errmsg), 0);
	client_transact(a, goal_steps(E1, "late", 1), "t1");
	drop_refreshes(a);
	ck_assert_ptr_null(client_take(a));
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	drop_refreshes(a);
	m = expect_op(a, "transact-ok");
	json_decref(m);

	ck_assert_int_eq(
	    faults_apply_arg(server_faults(sv), "no-answer", &errmsg), 0);
	client_say(a, json_pack("{s:s,s:s,s:{}}", "op", "add-query",
				"client-event-id", "q1", "q", "goals"));
	ck_assert_ptr_null(client_take(a));
	client_free(a);
}
END_TEST

START_TEST(test_faults_parse)
{
	struct faults f;
	const char *errmsg = NULL;
	json_t *patch, *j;

	faults_init(&f);
	patch =
	    json_pack("{s:i,s:s}", "ack-delay-ms", 10, "app-status", "bogus");
	ck_assert_int_eq(faults_apply(&f, patch, &errmsg), -1);
	ck_assert_ptr_nonnull(errmsg);
	/* nothing applied from a bad patch */
	ck_assert_int_eq(f.ack_delay_ms, 0);
	json_decref(patch);
	ck_assert_int_eq(faults_apply_arg(&f, "nope", &errmsg), -1);
	ck_assert_int_eq(faults_apply_arg(&f, "drop-ack=2", &errmsg), 0);
	ck_assert_int_eq(faults_take(&f.drop_ack), 1);
	ck_assert_int_eq(faults_take(&f.drop_ack), 1);
	ck_assert_int_eq(faults_take(&f.drop_ack), 0);
	ck_assert_int_eq(faults_apply_arg(&f, "app-status=disabled", &errmsg),
			 0);
	j = faults_to_json(&f);
	ck_assert_str_eq(json_string_value(json_object_get(j, "app-status")),
			 "disabled");
	json_decref(j);
	faults_clear(&f);
}
END_TEST

START_TEST(test_malformed_messages)
{
	static const char *const bad[] = {
	    "[]",
	    "[1, \"x\", null]",
	    "{\"op\": 5}",
	    "{\"op\": \"add-query\", \"q\": []}",
	    "{\"op\": \"add-query\", \"q\": {\"goals\": 7}}",
	    "{\"op\": \"remove-query\"}",
	    "{\"op\": \"transact\"}",
	    "{\"op\": \"transact\", \"tx-steps\": {}}",
	    "{\"op\": \"transact\", \"tx-steps\": [1, [], [\"add-triple\"],"
	    " [\"delete-entity\", {}], [\"add-attr\", 3], {}]}",
	    "{\"op\": \"transact\", \"tx-steps\": [[\"add-triple\", [1, 2],"
	    " null, null]]}",
	    "\"just a string\"",
	    "{\"op\": \"init\", \"app-id\": [1]}",
	};
	struct client *c = client_new();
	char deep[300];
	json_t *m;

	client_init(c);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		session_receive(c->s, bad[i], strlen(bad[i]));
		while ((m = client_take(c)) != NULL) {
			const char *op = op_of(m);

			ck_assert_msg(op != NULL &&
					  (strcmp(op, "error") == 0 ||
					   strcmp(op, "remove-query-ok") == 0),
				      "%s answered %s", bad[i], op);
			json_decref(m);
		}
	}
	memset(deep, '[', 200);
	memset(deep + 200, ']', 99);
	deep[299] = '\0';
	session_receive(c->s, deep, strlen(deep));
	m = expect_op(c, "error");
	json_decref(m);
	/* still serving */
	m = client_query(c, json_pack("{s:{}}", "goals"), "q1");
	ck_assert_str_eq(op_of(m), "add-query-ok");
	json_decref(m);
	client_free(c);
}
END_TEST

/* Run one HTTP request (text) through handler; returns the status and
 * sets *body to the parsed JSON body. */
static int
http_call(void (*handler)(const struct http_request *, struct evbuffer *),
	  const char *text, json_t **body)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	struct http_request req;
	char *resp, *start;
	size_t len;
	int status = 0;

	http_request_init(&req);
	evbuffer_add(in, text, strlen(text));
	ck_assert_int_eq(http_request_parse(&req, in, HTTP_MAX_BODY), 1);
	handler(&req, out);
	len = evbuffer_get_length(out);
	resp = calloc(1, len + 1);
	evbuffer_remove(out, resp, len);
	ck_assert_int_eq(sscanf(resp, "HTTP/1.1 %d", &status), 1);
	start = strstr(resp, "\r\n\r\n");
	ck_assert_ptr_nonnull(start);
	*body = json_loads(start + 4, 0, NULL);
	ck_assert_ptr_nonnull(*body);
	free(resp);
	http_request_clear(&req);
	evbuffer_free(in);
	evbuffer_free(out);
	return status;
}

/* control_handle bound to the test server. */
static void
control_cb(const struct http_request *req, struct evbuffer *out)
{
	control_handle(sv, req, out);
}

/* auth_handle bound to the test server (404 when no route matches). */
static void
auth_cb(const struct http_request *req, struct evbuffer *out)
{
	if (auth_handle(sv, req, out) != 0)
		http_response_json(out, 404, "{}");
}

START_TEST(test_control_endpoint)
{
	static const char post[] = "POST /faults HTTP/1.1\r\n"
				   "Content-Length: %zu\r\n\r\n%s";
	struct client *c = client_new();
	char req[512];
	json_t *body, *m;
	const char *patch;

	client_init(c);
	ck_assert_int_eq(
	    http_call(control_cb, "GET /faults HTTP/1.1\r\n\r\n", &body), 200);
	ck_assert_str_eq(json_string_value(json_object_get(body, "app-status")),
			 "active");
	json_decref(body);

	patch = "{\"app-status\":\"disabled\",\"drop-ack\":2}";
	snprintf(req, sizeof req, post, strlen(patch), patch);
	ck_assert_int_eq(http_call(control_cb, req, &body), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(body, "drop-ack")),
			 2);
	json_decref(body);
	m = expect_op(c, "app-status-changed");
	ck_assert_str_eq(json_string_value(json_object_get(m, "status")),
			 "disabled");
	json_decref(m);

	/* a bad patch changes nothing */
	patch = "{\"drop-ack\":0,\"no-such-fault\":true}";
	snprintf(req, sizeof req, post, strlen(patch), patch);
	ck_assert_int_eq(http_call(control_cb, req, &body), 400);
	json_decref(body);
	ck_assert_int_eq(server_faults(sv)->drop_ack, 2);
	snprintf(req, sizeof req, post, (size_t)3, "{{{");
	ck_assert_int_eq(http_call(control_cb, req, &body), 400);
	json_decref(body);
	ck_assert_ptr_null(client_take(c));

	ck_assert_int_eq(
	    http_call(control_cb, "DELETE /faults HTTP/1.1\r\n\r\n", &body),
	    405);
	json_decref(body);
	ck_assert_int_eq(
	    http_call(control_cb, "GET /other HTTP/1.1\r\n\r\n", &body), 404);
	json_decref(body);
	client_free(c);
}
END_TEST

START_TEST(test_auth_guest_and_token)
{
	static const char post[] = "POST %s HTTP/1.1\r\n"
				   "Content-Length: %zu\r\n\r\n%s";
	struct client *c = client_new();
	char req[512], payload[256];
	json_t *body, *user, *m, *res;

	snprintf(payload, sizeof payload, "{\"app-id\":\"%s\"}", APP);
	snprintf(req, sizeof req, post, "/runtime/auth/sign_in_guest",
		 strlen(payload), payload);
	ck_assert_int_eq(http_call(auth_cb, req, &body), 200);
	user = json_incref(json_object_get(body, "user"));
	json_decref(body);
	ck_assert(json_is_true(json_object_get(user, "isGuest")));
	ck_assert_ptr_nonnull(
	    json_string_value(json_object_get(user, "refresh_token")));

	client_say(c, json_pack("{s:s,s:s,s:s,s:O}", "op", "init",
				"client-event-id", "i1", "app-id", APP,
				"refresh-token",
				json_object_get(user, "refresh_token")));
	m = expect_op(c, "init-ok");
	/* the user is an entity of the system $users namespace */
	res = client_query(c, json_pack("{s:{}}", "$users"), "q1");
	ck_assert(
	    result_has_value(json_object_get(res, "result"),
			     json_string_value(json_object_get(user, "id"))));
	ck_assert_int_ge(
	    json_integer_value(json_object_get(res, "processed-tx-id")), 1);
	json_decref(res);
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(m, "auth"), "user"), "id")),
	    json_string_value(json_object_get(user, "id")));
	json_decref(m);

	snprintf(payload, sizeof payload,
		 "{\"app_id\":\"%s\",\"refresh_token\":\"%s\"}", APP,
		 json_string_value(json_object_get(user, "refresh_token")));
	snprintf(req, sizeof req, post, "/runtime/signout", strlen(payload),
		 payload);
	ck_assert_int_eq(http_call(auth_cb, req, &body), 200);
	json_decref(body);
	snprintf(payload, sizeof payload,
		 "{\"app-id\":\"%s\",\"refresh-token\":\"%s\"}", APP,
		 json_string_value(json_object_get(user, "refresh_token")));
	snprintf(req, sizeof req, post, "/runtime/auth/verify_refresh_token",
		 strlen(payload), payload);
	ck_assert_int_eq(http_call(auth_cb, req, &body), 400);
	ck_assert_str_eq(json_string_value(json_object_get(body, "type")),
			 "record-not-found");
	json_decref(body);

	snprintf(req, sizeof req, post, "/runtime/auth/sign_in_guest",
		 (size_t)2, "{}");
	ck_assert_int_eq(http_call(auth_cb, req, &body), 400);
	ck_assert_str_eq(json_string_value(json_object_get(body, "type")),
			 "param-missing");
	json_decref(body);
	ck_assert_int_eq(
	    http_call(auth_cb, "GET /runtime/nothing HTTP/1.1\r\n\r\n", &body),
	    404);
	json_decref(body);
	json_decref(user);
	client_free(c);
}
END_TEST

START_TEST(test_page_info_and_aggregate)
{
	struct client *c = client_new();
	json_t *m, *data, *pi;

	client_init(c);
	client_transact(c, goal_steps(E1, "first", 1), "t1");
	client_transact(c, goal_steps(E2, "second", 0), "t2");
	drop_refreshes(c);
	json_decref(expect_op(c, "transact-ok"));
	drop_refreshes(c);
	json_decref(expect_op(c, "transact-ok"));

	m = client_query(
	    c,
	    json_pack("{s:{s:{s:i}},s:{}}", "goals", "$", "limit", 1, "todos"),
	    "q1");
	ck_assert_str_eq(op_of(m), "add-query-ok");
	data = json_object_get(json_array_get(json_object_get(m, "result"), 0),
			       "data");
	pi = json_object_get(data, "page-info");
	ck_assert(json_is_true(
	    json_object_get(json_object_get(pi, "goals"), "has-next-page?")));
	ck_assert(json_is_array(
	    json_object_get(json_object_get(pi, "goals"), "end-cursor")));
	/* only paginated namespaces carry page-info */
	ck_assert_ptr_null(json_object_get(pi, "todos"));
	ck_assert_ptr_null(json_object_get(data, "aggregate"));
	json_decref(m);

	m = client_query(
	    c, json_pack("{s:{s:{s:s}}}", "goals", "$", "aggregate", "count"),
	    "q2");
	data = json_object_get(json_array_get(json_object_get(m, "result"), 0),
			       "data");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(data, "aggregate"), "goals"),
		"count")),
	    2);
	ck_assert_ptr_null(json_object_get(data, "page-info"));
	json_decref(m);
	client_free(c);
}
END_TEST

/* The session suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("devserver_session");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_op_before_init);
	tcase_add_test(tc, test_init_ok_and_second_init);
	tcase_add_test(tc, test_init_errors);
	tcase_add_test(tc, test_unknown_op_and_bad_json);
	tcase_add_test(tc, test_add_query_exists_and_remove);
	tcase_add_test(tc, test_transact_refreshes_every_session);
	tcase_add_test(tc, test_data_and_tx_ids_survive_restart);
	tcase_add_test(tc, test_fault_drop_ack);
	tcase_add_test(tc, test_fault_close_before_ack);
	tcase_add_test(tc, test_fault_deny_namespace);
	tcase_add_test(tc, test_fault_app_status);
	tcase_add_test(tc, test_fault_ack_delay_and_no_answer);
	tcase_add_test(tc, test_faults_parse);
	tcase_add_test(tc, test_malformed_messages);
	tcase_add_test(tc, test_page_info_and_aggregate);
	tcase_add_test(tc, test_control_endpoint);
	tcase_add_test(tc, test_auth_guest_and_token);
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
