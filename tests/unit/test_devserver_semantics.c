/*
 * test_devserver_semantics.c: Instant's transaction semantics as a client
 * of the devserver sees them through transact and add-query: create and
 * update mode errors and their messages, all-or-nothing, merge with null,
 * unique violations, lookups that upsert, op-grouped execution order,
 * delete cascades, and refreshes that follow where clauses across links.
 * Expectations come from the protocol reference (§3.3, §3.5, §3.6, §5.5) and
 * InstaML facts (instaql-instaml.md §3).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test_devserver_harness.h"

#define A_META "a0000000-0000-4000-8000-000000000003"
#define A_UID "a0000000-0000-4000-8000-000000000011"
#define A_EMAIL "a0000000-0000-4000-8000-000000000012"
#define A_NAME "a0000000-0000-4000-8000-000000000013"
#define A_TID "a0000000-0000-4000-8000-000000000021"
#define A_TTITLE "a0000000-0000-4000-8000-000000000022"
#define A_TODOS "a0000000-0000-4000-8000-000000000031"
#define A_TASKS "a0000000-0000-4000-8000-000000000032"
#define T1 "70000000-0000-4000-8000-000000000001"
#define T2 "70000000-0000-4000-8000-000000000002"

static int cid_seq;

/* A fresh client-event-id. */
static const char *
next_cid(void)
{
	static char buf[32];

	snprintf(buf, sizeof buf, "c%d", ++cid_seq);
	return buf;
}

/* An add-attr step; extra (stolen, may be NULL) is merged into the attr. */
static json_t *
attr_step(const char *id, const char *etype, const char *label, int ref,
	  int unique, json_t *extra)
{
	json_t *attr = json_pack(
	    "{s:s,s:[s,s,s],s:s,s:s,s:b,s:b}", "id", id, "forward-identity", id,
	    etype, label, "value-type", ref ? "ref" : "blob", "cardinality",
	    ref ? "many" : "one", "unique?", unique, "index?", unique);

	if (ref)
		json_object_set_new(attr, "reverse-identity",
				    json_pack("[s,s,s]", id, label, etype));
	if (extra != NULL) {
		json_object_update(attr, extra);
		json_decref(extra);
	}
	return json_pack("[s,o]", "add-attr", attr);
}

/* Transact steps (stolen) and expect transact-ok; returns the tx-id. */
static json_int_t
tx_ok(struct client *c, json_t *steps)
{
	json_t *m;
	json_int_t id;

	client_transact(c, steps, next_cid());
	drop_refreshes(c);
	m = expect_op(c, "transact-ok");
	id = json_integer_value(json_object_get(m, "tx-id"));
	json_decref(m);
	return id;
}

/* Transact steps (stolen) and expect an error: the envelope. */
static json_t *
tx_err(struct client *c, json_t *steps)
{
	client_transact(c, steps, next_cid());
	drop_refreshes(c);
	return expect_op(c, "error");
}

/* The current result of q (stolen), without keeping a subscription. */
static json_t *
query_now(struct client *c, json_t *q)
{
	json_t *m, *res;

	drop_refreshes(c);
	m = client_query(c, json_incref(q), next_cid());
	ck_assert_str_eq(op_of(m), "add-query-ok");
	res = json_incref(json_object_get(m, "result"));
	json_decref(m);
	client_say(c, json_pack("{s:s,s:s,s:o}", "op", "remove-query",
				"client-event-id", next_cid(), "q", q));
	json_decref(expect_op(c, "remove-query-ok"));
	return res;
}

/* How many triples of result have attr a (and entity e unless NULL). */
static int
count_triples(const json_t *result, const char *e, const char *a)
{
	json_t *rows = json_object_get(
	    json_object_get(json_object_get(json_array_get(result, 0), "data"),
			    "datalog-result"),
	    "join-rows");
	json_t *row, *t;
	size_t i, j;
	int n = 0;

	json_array_foreach(rows, i, row) json_array_foreach(
	    row, j,
	    t) if (strcmp(json_string_value(json_array_get(t, 1)), a) == 0 &&
		   (e == NULL || strcmp(json_string_value(json_array_get(t, 0)),
					e) == 0)) n++;
	return n;
}

/* The value of the (e, a) triple in result (borrowed), or NULL. */
static json_t *
triple_value(const json_t *result, const char *e, const char *a)
{
	json_t *rows = json_object_get(
	    json_object_get(json_object_get(json_array_get(result, 0), "data"),
			    "datalog-result"),
	    "join-rows");
	json_t *row, *t;
	size_t i, j;

	json_array_foreach(rows, i, row) json_array_foreach(
	    row, j,
	    t) if (strcmp(json_string_value(json_array_get(t, 0)), e) == 0 &&
		   strcmp(json_string_value(json_array_get(t, 1)), a) ==
		       0) return json_array_get(t, 2);
	return NULL;
}

/* Whether message m contains text. */
static int
message_has(const json_t *m, const char *text)
{
	const char *msg = json_string_value(json_object_get(m, "message"));

	return msg != NULL && strstr(msg, text) != NULL;
}

/* An add-triple step on goals with a mode (NULL: none). */
static json_t *
add(const char *e, const char *a, json_t *v, const char *mode)
{
	if (mode == NULL)
		return json_pack("[s,s,s,o]", "add-triple", e, a, v);
	return json_pack("[s,s,s,o,{s:s}]", "add-triple", e, a, v, "mode",
			 mode);
}

START_TEST(test_create_mode_on_existing_entity)
{
	struct client *c = client_new();
	json_t *m, *res;

	client_init(c);
	ck_assert_int_eq(tx_ok(c, goal_steps(E1, "first", 1)), 1);
	m = tx_err(
	    c, json_pack("[o,o,o]", add(E2, A_ID, json_string(E2), "create"),
			 add(E2, A_TITLE, json_string("not kept"), "create"),
			 add(E1, A_ID, json_string(E1), "create")));
	ck_assert_int_eq(json_integer_value(json_object_get(m, "status")), 400);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "validation-failed");
	ck_assert_msg(message_has(m, "Creating entities that exist: ") &&
			  message_has(m, E1),
		      "message: %s",
		      json_string_value(json_object_get(m, "message")));
	ck_assert(!message_has(m, E2));
	json_decref(m);
	/* all or nothing: E2 was not written, and no tx-id was used */
	res = query_now(c, json_pack("{s:{}}", "goals"));
	ck_assert(!result_has_value(res, "not kept"));
	ck_assert(result_has_value(res, "first"));
	json_decref(res);
	ck_assert_int_eq(tx_ok(c, goal_steps(E2, "second", 0)), 2);
	client_free(c);
}
END_TEST

START_TEST(test_update_mode_on_missing_entity)
{
	struct client *c = client_new();
	json_t *m;

	client_init(c);
	tx_ok(c, goal_steps(E1, "first", 1));
	m = tx_err(c,
		   json_pack("[o,o]", add(E3, A_ID, json_string(E3), "update"),
			     add(E3, A_TITLE, json_string("x"), "update")));
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "validation-failed");
	ck_assert_msg(message_has(m, "Updating entities that don't exist: ") &&
			  message_has(m, E3),
		      "message: %s",
		      json_string_value(json_object_get(m, "message")));
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(m, "original-event"), "op")),
			 "transact");
	json_decref(m);
	/* update mode on an existing entity is fine; no mode upserts */
	tx_ok(c, json_pack("[o]",
			   add(E1, A_TITLE, json_string("renamed"), "update")));
	tx_ok(c, json_pack("[o,o]", add(E3, A_ID, json_string(E3), NULL),
			   add(E3, A_TITLE, json_string("upserted"), NULL)));
	client_free(c);
}
END_TEST

START_TEST(test_merge_with_null)
{
	struct client *c = client_new();
	json_t *steps, *res, *want;

	client_init(c);
	steps = goal_attrs();
	json_array_append_new(steps,
			      attr_step(A_META, "goals", "meta", 0, 0, NULL));
	json_array_append_new(steps, add(E1, A_ID, json_string(E1), NULL));
	json_array_append_new(steps,
			      add(E1, A_META,
				  json_pack("{s:i,s:{s:i,s:i},s:[i]}", "a", 1,
					    "b", "c", 2, "e", 5, "l", 1),
				  NULL));
	tx_ok(c, steps);
	tx_ok(c, json_pack("[[s,s,s,{s:n,s:{s:n,s:i},s:[i,i]}]]",
			   "deep-merge-triple", E1, A_META, "a", "b", "c", "d",
			   3, "l", 2, 3));
	/* merge onto a missing value stores the patch, nulls and all */
	tx_ok(c,
	      json_pack("[[s,s,s,s],[s,s,s,{s:n,s:i}]]", "add-triple", E2, A_ID,
			E2, "deep-merge-triple", E2, A_META, "x", "y", 1));
	res = query_now(c, json_pack("{s:{}}", "goals"));
	want =
	    json_pack("{s:{s:i,s:i},s:[i,i]}", "b", "e", 5, "d", 3, "l", 2, 3);
	ck_assert_msg(json_equal(triple_value(res, E1, A_META), want),
		      "merged to %s",
		      json_dumps(triple_value(res, E1, A_META), JSON_COMPACT));
	json_decref(want);
	want = json_pack("{s:n,s:i}", "x", "y", 1);
	ck_assert(json_equal(triple_value(res, E2, A_META), want));
	json_decref(want);
	json_decref(res);
	client_free(c);
}
END_TEST

/* The attrs of users: id, email (unique) and name. */
static json_t *
user_attrs(void)
{
	return json_pack("[o,o,o]", attr_step(A_UID, "users", "id", 0, 1, NULL),
			 attr_step(A_EMAIL, "users", "email", 0, 1, NULL),
			 attr_step(A_NAME, "users", "name", 0, 0, NULL));
}

START_TEST(test_unique_violation)
{
	struct client *c = client_new();
	json_t *steps, *m, *res;

	client_init(c);
	steps = user_attrs();
	json_array_append_new(steps, add(E1, A_UID, json_string(E1), NULL));
	json_array_append_new(steps,
			      add(E1, A_EMAIL, json_string("a@b.c"), NULL));
	tx_ok(c, steps);
	m = tx_err(c,
		   json_pack("[o,o,o]", add(E2, A_UID, json_string(E2), NULL),
			     add(E2, A_EMAIL, json_string("a@b.c"), NULL),
			     add(E2, A_NAME, json_string("dup"), NULL)));
	ck_assert_int_eq(json_integer_value(json_object_get(m, "status")), 400);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
			 "record-not-unique");
	ck_assert_msg(
	    message_has(
		m,
		"`email` is a unique attribute on "
		"`users` and an entity already exists with `users.email` = "),
	    "message: %s", json_string_value(json_object_get(m, "message")));
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(m, "hint"), "attr-id")),
			 A_EMAIL);
	json_decref(m);
	res = query_now(c, json_pack("{s:{}}", "users"));
	ck_assert(!result_has_value(res, "dup"));
	json_decref(res);
	client_free(c);
}
END_TEST

START_TEST(test_lookup_upserts)
{
	struct client *c = client_new();
	json_t *steps, *res, *lookup;

	client_init(c);
	tx_ok(c, user_attrs());
	lookup = json_pack("[s,s]", A_EMAIL, "l@x.y");
	steps = json_pack("[[s,O,s,O],[s,O,s,s]]", "add-triple", lookup, A_UID,
			  lookup, "add-triple", lookup, A_NAME, "first name");
	tx_ok(c, steps);
	steps = json_pack("[[s,O,s,O],[s,O,s,s]]", "add-triple", lookup, A_UID,
			  lookup, "add-triple", lookup, A_NAME, "second name");
	tx_ok(c, steps);
	json_decref(lookup);
	res = query_now(c, json_pack("{s:{}}", "users"));
	/* one entity, created by the first lookup, updated by the second */
	ck_assert_int_eq(count_triples(res, NULL, A_UID), 1);
	ck_assert_int_eq(count_triples(res, NULL, A_EMAIL), 1);
	ck_assert(result_has_value(res, "l@x.y"));
	ck_assert(result_has_value(res, "second name"));
	ck_assert(!result_has_value(res, "first name"));
	json_decref(res);
	client_free(c);
}
END_TEST

START_TEST(test_op_grouped_order)
{
	struct client *c = client_new();
	json_t *res;

	client_init(c);
	tx_ok(c, goal_steps(E1, "one", 1));
	tx_ok(c, goal_steps(E2, "two", 0));
	/* adds run before the delete even when a delete comes between them */
	tx_ok(c,
	      json_pack("[o,[s,s,s],o]", add(E3, A_ID, json_string(E3), NULL),
			"delete-entity", E3, "goals",
			add(E3, A_TITLE, json_string("three"), NULL)));
	/* add then delete: deleted */
	tx_ok(c, json_pack("[o,[s,s,s]]",
			   add(E1, A_TITLE, json_string("one again"), NULL),
			   "delete-entity", E1, "goals"));
	/* delete then add: the delete group runs first, the add re-creates */
	tx_ok(c, json_pack("[[s,s,s],o,o]", "delete-entity", E2, "goals",
			   add(E2, A_ID, json_string(E2), NULL),
			   add(E2, A_TITLE, json_string("two again"), NULL)));
	res = query_now(c, json_pack("{s:{}}", "goals"));
	ck_assert_int_eq(count_triples(res, E3, A_TITLE), 0);
	ck_assert_int_eq(count_triples(res, E3, A_ID), 0);
	ck_assert_int_eq(count_triples(res, E1, A_ID), 0);
	ck_assert(!result_has_value(res, "one again"));
	ck_assert(result_has_value(res, "two again"));
	ck_assert(!result_has_value(res, "two"));
	json_decref(res);
	client_free(c);
}
END_TEST

START_TEST(test_delete_cascades)
{
	struct client *c = client_new();
	json_t *steps, *res;

	client_init(c);
	steps = goal_attrs();
	json_array_append_new(steps,
			      attr_step(A_TID, "todos", "id", 0, 1, NULL));
	json_array_append_new(
	    steps, attr_step(A_TTITLE, "todos", "title", 0, 0, NULL));
	/* goals.todos: deleting a goal deletes its todos */
	json_array_append_new(
	    steps,
	    attr_step(A_TODOS, "goals", "todos", 1, 0,
		      json_pack("{s:s}", "on-delete-reverse", "cascade")));
	/* goals.tasks: a plain link */
	json_array_append_new(steps,
			      attr_step(A_TASKS, "goals", "tasks", 1, 0, NULL));
	tx_ok(c, steps);
	tx_ok(c, json_pack("[o,o,o,o,o,o,o,o,o,o]",
			   add(E1, A_ID, json_string(E1), NULL),
			   add(E2, A_ID, json_string(E2), NULL),
			   add(T1, A_TID, json_string(T1), NULL),
			   add(T1, A_TTITLE, json_string("cascaded"), NULL),
			   add(T2, A_TID, json_string(T2), NULL),
			   add(T2, A_TTITLE, json_string("kept"), NULL),
			   add(E1, A_TODOS, json_string(T1), NULL),
			   add(E2, A_TASKS, json_string(T2), NULL),
			   add(E1, A_TITLE, json_string("g1"), NULL),
			   add(E2, A_TITLE, json_string("g2"), NULL)));
	tx_ok(c, json_pack("[[s,s,s],[s,s,s]]", "delete-entity", E1, "goals",
			   "delete-entity", E2, "goals"));
	res = query_now(c, json_pack("{s:{}}", "todos"));
	ck_assert(!result_has_value(res, "cascaded"));
	ck_assert(result_has_value(res, "kept"));
	json_decref(res);
	/* the plain link went with its goal */
	res = query_now(c, json_pack("{s:{s:{}}}", "todos", "goals"));
	ck_assert_int_eq(count_triples(res, NULL, A_TASKS), 0);
	json_decref(res);
	client_free(c);
}
END_TEST

START_TEST(test_refresh_follows_links)
{
	struct client *a = client_new(), *b = client_new();
	json_t *steps, *m, *comp;

	client_init(a);
	client_init(b);
	steps = goal_attrs();
	json_array_append_new(steps,
			      attr_step(A_TID, "todos", "id", 0, 1, NULL));
	json_array_append_new(
	    steps, attr_step(A_TTITLE, "todos", "title", 0, 0, NULL));
	json_array_append_new(steps,
			      attr_step(A_TODOS, "goals", "todos", 1, 0, NULL));
	json_array_append_new(steps, add(E1, A_ID, json_string(E1), NULL));
	json_array_append_new(steps,
			      add(E1, A_TITLE, json_string("goal"), NULL));
	json_array_append_new(steps, add(T1, A_TID, json_string(T1), NULL));
	json_array_append_new(steps,
			      add(T1, A_TTITLE, json_string("open"), NULL));
	json_array_append_new(steps, add(E1, A_TODOS, json_string(T1), NULL));
	tx_ok(a, steps);
	drop_refreshes(b);
	m = client_query(b,
			 json_pack("{s:{s:{s:{s:s}}}}", "goals", "$", "where",
				   "todos.title", "done"),
			 "qb");
	ck_assert_str_eq(op_of(m), "add-query-ok");
	ck_assert(!result_has_value(json_object_get(m, "result"), "goal"));
	json_decref(m);
	drop_refreshes(b);

	/* only todos change, yet the goals query reads todos: refreshed */
	tx_ok(a,
	      json_pack("[o]", add(T1, A_TTITLE, json_string("done"), NULL)));
	pump();
	m = expect_op(b, "refresh-ok");
	comp = json_array_get(json_object_get(m, "computations"), 0);
	ck_assert(
	    result_has_value(json_object_get(comp, "instaql-result"), "goal"));
	ck_assert(
	    result_has_value(json_object_get(comp, "instaql-result"), "done"));
	json_decref(m);
	client_free(a);
	client_free(b);
}
END_TEST

/* The semantics suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("devserver_semantics");
	TCase *tc = tcase_create("semantics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create_mode_on_existing_entity);
	tcase_add_test(tc, test_update_mode_on_missing_entity);
	tcase_add_test(tc, test_merge_with_null);
	tcase_add_test(tc, test_unique_violation);
	tcase_add_test(tc, test_lookup_upserts);
	tcase_add_test(tc, test_op_grouped_order);
	tcase_add_test(tc, test_delete_cascades);
	tcase_add_test(tc, test_refresh_follows_links);
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
