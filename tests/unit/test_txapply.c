/*
 * test_txapply.c: tx-steps applied with server semantics (what an Instant
 * server does, instant-protocol.md sections 3 and 5) and with the client's
 * optimistic semantics.  Writing JSON with single quotes keeps the cases
 * readable; J() turns them into double quotes.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/tstore.h"
#include "engine/txapply.h"

/* Entities. */
#define G1 "10000000-0000-4000-8000-000000000001"
#define T1 "20000000-0000-4000-8000-000000000001"
#define T2 "20000000-0000-4000-8000-000000000002"
#define T3 "20000000-0000-4000-8000-000000000003"
#define P1 "30000000-0000-4000-8000-000000000001"
#define P2 "30000000-0000-4000-8000-000000000002"
/* Attrs. */
#define A_GID "a0000000-0000-4000-8000-000000000001"
#define A_GTITLE "a0000000-0000-4000-8000-000000000002"
#define A_GTODOS "a0000000-0000-4000-8000-000000000003"
#define A_TID "a0000000-0000-4000-8000-000000000004"
#define A_TTITLE "a0000000-0000-4000-8000-000000000005"
#define A_TMETA "a0000000-0000-4000-8000-000000000006"
#define A_TOWNER "a0000000-0000-4000-8000-000000000007"
#define A_PID "a0000000-0000-4000-8000-000000000008"
#define A_PEMAIL "a0000000-0000-4000-8000-000000000009"
#define A_NEW "a0000000-0000-4000-8000-000000000010"

#define NOW 1800000000000LL

static sqlite3 *db;
static struct tstore *ts;
static struct attrs *attrs;
static struct txapply_result res;

/* A JSON value from text written with single quotes. */
static json_t *
J(const char *text)
{
	char *s = strdup(text), *p;
	json_t *v;

	for (p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	v = json_loads(s, JSON_DECODE_ANY, NULL);
	ck_assert_msg(v != NULL, "bad test JSON: %s", s);
	free(s);
	return v;
}

/* Register one attr given as single-quoted JSON. */
static void
attr(const char *text)
{
	json_t *a = J(text);

	ck_assert_int_eq(attrs_put(attrs, a, NULL), 0);
	json_decref(a);
}

/* A schema: goals -todos-> todos -owner-> profiles.  Deleting a goal
 * deletes its todos (on-delete-reverse); deleting a profile deletes the
 * todos it owns (on-delete). */
static void
setup(void)
{
	char *err = NULL;

	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ts = tstore_create(db, "triples", &err);
	ck_assert_ptr_nonnull(ts);
	attrs = attrs_create();
	attr("{'id':'" A_GID "','forward-identity':['f1','goals','id'],"
	     "'value-type':'blob','cardinality':'one','unique?':true}");
	attr("{'id':'" A_GTITLE "','forward-identity':['f2','goals','title'],"
	     "'value-type':'blob','cardinality':'one'}");
	attr("{'id':'" A_GTODOS "','forward-identity':['f3','goals','todos'],"
	     "'reverse-identity':['r3','todos','goals'],'value-type':'ref',"
	     "'cardinality':'many','on-delete-reverse':'cascade'}");
	attr("{'id':'" A_TID "','forward-identity':['f4','todos','id'],"
	     "'value-type':'blob','cardinality':'one','unique?':true}");
	attr("{'id':'" A_TTITLE "','forward-identity':['f5','todos','title'],"
	     "'value-type':'blob','cardinality':'one'}");
	attr("{'id':'" A_TMETA "','forward-identity':['f6','todos','meta'],"
	     "'value-type':'blob','cardinality':'one'}");
	attr("{'id':'" A_TOWNER "','forward-identity':['f7','todos','owner'],"
	     "'reverse-identity':['r7','profiles','todos'],'value-type':'ref',"
	     "'cardinality':'one','on-delete':'cascade'}");
	attr("{'id':'" A_PID "','forward-identity':['f8','profiles','id'],"
	     "'value-type':'blob','cardinality':'one','unique?':true}");
	attr("{'id':'" A_PEMAIL "','forward-identity':['f9','profiles',"
	     "'email'],'value-type':'blob','cardinality':'one','unique?':true,"
	     "'index?':true}");
	memset(&res, 0, sizeof res);
}

/* Free everything. */
static void
teardown(void)
{
	txapply_result_clear(&res);
	attrs_free(attrs);
	tstore_free(ts);
	sqlite3_close(db);
}

/* Apply single-quoted tx-steps in a mode; returns txapply_run's code. */
static int
apply(enum txapply_mode mode, const char *steps)
{
	struct txapply *ta = txapply_create(db, ts, attrs, mode);
	json_t *s = J(steps);
	int r;

	txapply_result_clear(&res);
	r = txapply_run(ta, s, NOW, &res);
	json_decref(s);
	txapply_free(ta);
	return r;
}

/* Apply with server semantics, expecting success. */
static void
server_ok(const char *steps)
{
	int r = apply(TXAPPLY_SERVER, steps);

	ck_assert_msg(r == 0, "rejected: %s",
		      res.error != NULL ? json_string_value(json_object_get(
					      res.error, "message"))
					: "?");
}

/* Scan callback: count and remember the last value and t. */
struct seen {
	int n;
	char v[256];
	int64_t t;
};

/* Record one triple in a seen. */
static int
seen_cb(void *arg, const struct triple *t)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->v, sizeof s->v, "%s", t->v);
	s->t = t->t;
	return 0;
}

/* The values of (e, a). */
static struct seen
ea(const char *e, const char *a)
{
	struct seen s = {0, "", 0};

	ck_assert_int_eq(tstore_scan_ea(ts, e, a, seen_cb, &s), 0);
	return s;
}

/* Number of triples of entity e. */
static int
count_e(const char *e)
{
	struct seen s = {0, "", 0};

	ck_assert_int_eq(tstore_scan_e(ts, e, seen_cb, &s), 0);
	return s.n;
}

/* Number of triples in the store. */
static int
count_all(void)
{
	int64_t n;

	ck_assert_int_eq(tstore_count(ts, &n), 0);
	return (int)n;
}

/* The error's field as a string. */
static const char *
err_field(const char *k)
{
	ck_assert_ptr_nonnull(res.error);
	return json_string_value(json_object_get(res.error, k));
}

/* A todo T with a title, owned by P1 and in goal G1. */
static void
seed(void)
{
	server_ok("[['add-triple','" P1 "','" A_PID "','" P1 "'],"
		  "['add-triple','" P1 "','" A_PEMAIL "','a@b.c'],"
		  "['add-triple','" G1 "','" A_GID "','" G1 "'],"
		  "['add-triple','" G1 "','" A_GTODOS "','" T1 "'],"
		  "['add-triple','" T1 "','" A_TID "','" T1 "'],"
		  "['add-triple','" T1 "','" A_TTITLE "','one'],"
		  "['add-triple','" T1 "','" A_TOWNER "','" P1 "'],"
		  "['add-triple','" T2 "','" A_TID "','" T2 "'],"
		  "['add-triple','" T2 "','" A_TOWNER "','" P1 "']]");
}

START_TEST(test_create_existing_fails_whole_tx)
{
	seed();
	ck_assert_int_eq(apply(TXAPPLY_SERVER,
			       "[['add-triple','" T3 "','" A_TID "','" T3 "'],"
			       "['add-triple','" T1 "','" A_TID "','" T1
			       "',{'mode':'create'}],"
			       "['add-triple','" T1 "','" A_TTITLE
			       "','x',{'mode':'create'}]]"),
			 1);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(res.error, "status")), 400);
	ck_assert_str_eq(err_field("type"), "validation-failed");
	ck_assert_str_eq(err_field("message"),
			 "Validation failed for "
			 "tx-step: Creating entities that exist: " T1 ", " T1);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(res.error, "hint"), "data-type")),
			 "tx-step");
	ck_assert_int_eq(count_e(T3), 0);
	ck_assert_str_eq(ea(T1, A_TTITLE).v, "\"one\"");
}
END_TEST

START_TEST(test_update_missing_fails)
{
	seed();
	ck_assert_int_eq(apply(TXAPPLY_SERVER,
			       "[['add-triple','" T3 "','" A_TID "','" T3
			       "',{'mode':'update'}]]"),
			 1);
	ck_assert_str_eq(err_field("message"),
			 "Validation failed for "
			 "tx-step: Updating entities that don't exist: " T3);
	ck_assert_int_eq(count_e(T3), 0);
	/* Existing for another etype does not count. */
	ck_assert_int_eq(apply(TXAPPLY_SERVER,
			       "[['add-triple','" P1 "','" A_TTITLE
			       "','x',{'mode':'update'}]]"),
			 1);
	/* Without a mode, update is an upsert. */
	server_ok("[['add-triple','" T3 "','" A_TID "','" T3 "']]");
	ck_assert_int_eq(count_e(T3), 1);
	server_ok("[['add-triple','" T3 "','" A_TTITLE "','t',"
		  "{'mode':'update'}]]");
	ck_assert_str_eq(ea(T3, A_TTITLE).v, "\"t\"");
}
END_TEST

START_TEST(test_card_one_last_wins_and_keeps_t)
{
	struct seen s;

	server_ok("[['add-triple','" T1 "','" A_TTITLE "','a']]");
	s = ea(T1, A_TTITLE);
	ck_assert_int_eq(s.t, NOW);
	server_ok("[['add-triple','" T1 "','" A_TTITLE "','b'],"
		  "['add-triple','" T1 "','" A_TTITLE "','c']]");
	s = ea(T1, A_TTITLE);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.v, "\"c\"");
	ck_assert_int_eq(s.t, NOW);
	/* Ref many: a set. */
	server_ok("[['add-triple','" G1 "','" A_GTODOS "','" T1 "'],"
		  "['add-triple','" G1 "','" A_GTODOS "','" T2 "'],"
		  "['add-triple','" G1 "','" A_GTODOS "','" T1 "']]");
	ck_assert_int_eq(ea(G1, A_GTODOS).n, 2);
}
END_TEST

START_TEST(test_delete_removes_links_both_ways)
{
	seed();
	server_ok("[['delete-entity','" P1 "','profiles']]");
	ck_assert_int_eq(count_e(P1), 0);
	/* on-delete cascade: the todos P1 owned are gone too, and the goal's
	 * links to them. */
	ck_assert_int_eq(count_e(T1), 0);
	ck_assert_int_eq(count_e(T2), 0);
	ck_assert_int_eq(ea(G1, A_GTODOS).n, 0);
	ck_assert_int_eq(count_e(G1), 1);
	ck_assert_ptr_nonnull(json_array_get(res.etypes, 0));
}
END_TEST

START_TEST(test_delete_reverse_cascade)
{
	seed();
	server_ok("[['delete-entity','" G1 "','goals']]");
	ck_assert_int_eq(count_e(G1), 0);
	ck_assert_int_eq(count_e(T1), 0); /* on-delete-reverse */
	ck_assert_int_eq(count_e(T2), 2); /* not in the goal */
	ck_assert_int_eq(count_e(P1), 2);
}
END_TEST

START_TEST(test_delete_only_touches_its_etype)
{
	seed();
	/* Without cascades: a plain link from T2 to P2. */
	server_ok("[['add-triple','" P2 "','" A_PID "','" P2 "'],"
		  "['add-triple','" T3 "','" A_TID "','" T3 "'],"
		  "['add-triple','" T3 "','" A_GTITLE "','odd']]");
	server_ok("[['delete-entity','" T3 "','todos']]");
	ck_assert_int_eq(count_e(T3), 1);
	ck_assert_str_eq(ea(T3, A_GTITLE).v, "\"odd\"");
	/* Untyped delete resolves every etype of the entity. */
	server_ok("[['delete-entity','" T3 "']]");
	ck_assert_int_eq(count_e(T3), 0);
}
END_TEST

START_TEST(test_merge_rules)
{
	server_ok("[['add-triple','" T1 "','" A_TMETA "',"
		  "{'a':{'b':1,'c':2},'d':3,'e':[1]}]]");
	server_ok("[['deep-merge-triple','" T1 "','" A_TMETA "',"
		  "{'a':{'b':null,'x':{'y':null}},'d':null,'e':[2]}]]");
	ck_assert_str_eq(ea(T1, A_TMETA).v,
			 "{\"a\":{\"c\":2,\"x\":{\"y\":null}},\"e\":[2]}");
	/* Onto a missing value: the patch is stored, nulls and all. */
	server_ok("[['deep-merge-triple','" T2 "','" A_TMETA "',"
		  "{'k':null,'m':1}]]");
	ck_assert_str_eq(ea(T2, A_TMETA).v, "{\"k\":null,\"m\":1}");
	/* Onto a non-object: the patch replaces it. */
	server_ok("[['add-triple','" T3 "','" A_TMETA "',5],"
		  "['deep-merge-triple','" T3 "','" A_TMETA "',{'z':null}]]");
	ck_assert_str_eq(ea(T3, A_TMETA).v, "{\"z\":null}");
	/* On a link it is refused. */
	ck_assert_int_eq(apply(TXAPPLY_SERVER, "[['deep-merge-triple','" G1
					       "','" A_GTODOS "',{'a':1}]]"),
			 1);
}
END_TEST

START_TEST(test_unique_violation)
{
	json_t *hint;

	seed();
	ck_assert_int_eq(apply(TXAPPLY_SERVER,
			       "[['add-triple','" P2 "','" A_PID "','" P2 "'],"
			       "['add-triple','" P2 "','" A_PEMAIL
			       "','a@b.c']]"),
			 1);
	ck_assert_str_eq(err_field("type"), "record-not-unique");
	ck_assert_str_eq(err_field("message"),
			 "`email` is a unique attribute "
			 "on `profiles` and an entity already exists with "
			 "`profiles.email` = \"a@b.c\"");
	hint = json_object_get(res.error, "hint");
	ck_assert_str_eq(json_string_value(json_object_get(hint, "attr-id")),
			 A_PEMAIL);
	ck_assert_str_eq(json_string_value(json_object_get(hint, "etype")),
			 "profiles");
	ck_assert_str_eq(json_string_value(json_object_get(hint, "label")),
			 "email");
	ck_assert_int_eq(count_e(P2), 0); /* all or nothing */
	/* The owner may rewrite its own value. */
	server_ok("[['add-triple','" P1 "','" A_PEMAIL "','a@b.c']]");
}
END_TEST

START_TEST(test_lookup_upserts)
{
	struct seen s;

	/* Nothing has x@y.z: the lookup creates an entity. */
	server_ok("[['add-triple',['" A_PEMAIL "','x@y.z'],'" A_PID
		  "',['" A_PEMAIL "','x@y.z']]]");
	ck_assert_int_eq(count_all(), 2);
	s = ea(P1, A_PID);
	ck_assert_int_eq(s.n, 0);
	/* A second lookup resolves to the same entity. */
	server_ok("[['add-triple','" T1 "','" A_TOWNER "',['" A_PEMAIL
		  "','x@y.z']]]");
	s = ea(T1, A_TOWNER);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(count_all(), 3);
	/* An id lookup uses the value as the id. */
	server_ok("[['add-triple',['" A_TID "','" T2 "'],'" A_TTITLE "','z']]");
	ck_assert_str_eq(ea(T2, A_TTITLE).v, "\"z\"");
	ck_assert_str_eq(ea(T2, A_TID).v, "\"" T2 "\"");
	/* A lookup that creates its entity cannot also set its attr. */
	ck_assert_int_eq(apply(TXAPPLY_SERVER,
			       "[['add-triple',['" A_PEMAIL
			       "','n@w'],'" A_PEMAIL "','other']]"),
			 1);
	ck_assert_ptr_nonnull(strstr(err_field("message"),
				     "Updates with lookups can only update"));
	ck_assert_int_eq(count_all(), 5);
	/* A lookup on a non-unique attr is refused. */
	ck_assert_int_eq(apply(TXAPPLY_SERVER, "[['add-triple',['" A_TTITLE
					       "','z'],'" A_TTITLE "','y']]"),
			 1);
	ck_assert_str_eq(err_field("type"), "validation-failed");
}
END_TEST

START_TEST(test_indexed_nulls_for_new_entities)
{
	server_ok("[['add-triple','" P2 "','" A_PID "','" P2 "']]");
	ck_assert_str_eq(ea(P2, A_PEMAIL).v, "null");
	/* Nulls do not clash on a unique attr. */
	server_ok("[['add-triple','" P1 "','" A_PID "','" P1 "']]");
	ck_assert_str_eq(ea(P1, A_PEMAIL).v, "null");
	/* A value in the same tx replaces the null. */
	server_ok("[['add-triple','" T1 "','" A_TID "','" T1 "'],"
		  "['add-triple','" T1 "','" A_TOWNER "','" P1 "']]");
	server_ok("[['add-triple','" P1 "','" A_PEMAIL "','p@q']]");
	ck_assert_str_eq(ea(P1, A_PEMAIL).v, "\"p@q\"");
	ck_assert_int_eq(ea(T1, A_TTITLE).n, 0); /* not indexed */
}
END_TEST

START_TEST(test_missing_value_lookup)
{
	json_t *input;

	seed();
	ck_assert_int_eq(apply(TXAPPLY_SERVER,
			       "[['add-triple','" T2 "','" A_TTITLE
			       "','x'],['add-triple','" T2 "','" A_TOWNER
			       "',['" A_PEMAIL "','ghost']]]"),
			 1);
	ck_assert_str_eq(err_field("message"),
			 "Validation failed for lookup: "
			 "The entity for the lookup does not exist.");
	input = json_object_get(json_object_get(res.error, "hint"), "input");
	ck_assert_str_eq(json_string_value(json_object_get(input, "label")),
			 "email");
	ck_assert_int_eq(ea(T2, A_TTITLE).n, 0);
}
END_TEST

START_TEST(test_checked_data_type)
{
	attr("{'id':'" A_NEW "','forward-identity':['fx','todos','due'],"
	     "'value-type':'blob','cardinality':'one',"
	     "'checked-data-type':'number'}");
	server_ok("[['add-triple','" T1 "','" A_NEW "',5],"
		  "['add-triple','" T2 "','" A_NEW "',null]]");
	ck_assert_int_eq(apply(TXAPPLY_SERVER,
			       "[['add-triple','" T1 "','" A_NEW "','soon']]"),
			 1);
	ck_assert_str_eq(err_field("message"),
			 "Invalid value type for todos.due. Value must be a "
			 "number but the provided value type is string.");
	ck_assert_str_eq(ea(T1, A_NEW).v, "5");
}
END_TEST

START_TEST(test_op_grouped_order)
{
	/* add-triple appears first: the delete group runs after it. */
	server_ok("[['add-triple','" T1 "','" A_TID "','" T1 "'],"
		  "['delete-entity','" T1 "','todos'],"
		  "['add-triple','" T1 "','" A_TTITLE "','late']]");
	ck_assert_int_eq(count_e(T1), 0);
	/* delete-entity first: the adds run after it. */
	server_ok("[['add-triple','" T2 "','" A_TID "','" T2 "']]");
	server_ok("[['delete-entity','" T2 "','todos'],"
		  "['add-triple','" T2 "','" A_TTITLE "','back']]");
	ck_assert_int_eq(count_e(T2), 1);
	ck_assert_str_eq(ea(T2, A_TTITLE).v, "\"back\"");
}
END_TEST

START_TEST(test_add_attr_idempotent_and_unique)
{
	const char *a = "{'id':'" A_NEW "','forward-identity':['fx','todos',"
			"'done'],'value-type':'blob','cardinality':'one',"
			"'isUnsynced':true}";
	char steps[512];

	snprintf(steps, sizeof steps,
		 "[['add-attr',%s],"
		 "['add-triple','" T1 "','" A_NEW "',true]]",
		 a);
	server_ok(steps);
	ck_assert_uint_eq(json_array_size(res.new_attrs), 1);
	ck_assert_str_eq(ea(T1, A_NEW).v, "true");
	snprintf(steps, sizeof steps, "[['add-attr',%s]]", a);
	server_ok(steps);
	ck_assert_uint_eq(json_array_size(res.new_attrs), 0);
	/* Stored as the server stores it: no client-only keys. */
	ck_assert_ptr_null(
	    json_object_get(attrs_by_id(attrs, A_NEW)->json, "isUnsynced"));
	ck_assert_ptr_nonnull(
	    json_object_get(attrs_by_id(attrs, A_NEW)->json, "unique?"));
	/* The same id with other properties. */
	ck_assert_int_eq(apply(TXAPPLY_SERVER,
			       "[['add-attr',{'id':'" A_NEW
			       "','forward-identity':['fx','todos','done'],"
			       "'value-type':'blob','cardinality':'many'}]]"),
			 1);
	ck_assert_str_eq(err_field("message"),
			 "Another attribute for todos.done exists with "
			 "different properties.");
	/* Another attr for todos.title. */
	ck_assert_int_eq(
	    apply(
		TXAPPLY_SERVER,
		"[['add-attr',{'id':"
		"'a0000000-0000-4000-8000-0000000000ff','forward-identity':['"
		"fy',"
		"'todos','title'],'value-type':'blob','cardinality':'one'}]]"),
	    1);
	ck_assert_str_eq(err_field("type"), "record-not-unique");
	ck_assert_str_eq(err_field("message"), "`title` already exists on "
					       "`todos`");
	ck_assert_ptr_null(
	    attrs_by_id(attrs, "a0000000-0000-4000-8000-0000000000ff"));
}
END_TEST

START_TEST(test_failed_tx_unregisters_its_attrs)
{
	seed();
	ck_assert_int_eq(apply(TXAPPLY_SERVER,
			       "[['add-attr',{'id':'" A_NEW
			       "','forward-identity':['fx','todos','done'],'"
			       "value-type':'blob',"
			       "'cardinality':'one'}],['add-triple','" T1
			       "','" A_NEW "',1],"
			       "['add-triple','" T1 "','" A_TID "','" T1
			       "',{'mode':'create'}]]"),
			 1);
	ck_assert_ptr_null(attrs_by_id(attrs, A_NEW));
	ck_assert_int_eq(ea(T1, A_NEW).n, 0);
	ck_assert_uint_eq(json_array_size(res.new_attrs), 0);
}
END_TEST

START_TEST(test_bad_entity_id)
{
	ck_assert_int_eq(apply(TXAPPLY_SERVER, "[['frobnicate','x']]"), 1);
	ck_assert_str_eq(err_field("type"), "validation-failed");
	ck_assert_int_eq(
	    apply(TXAPPLY_SERVER, "[['add-triple','nope','" A_TID "','nope']]"),
	    1);
	ck_assert_str_eq(
	    err_field("message"),
	    "Validation failed for "
	    "tx-steps: Invalid entity ID 'nope'. Entity IDs must be UUIDs. "
	    "Use id() or lookup() to generate a valid UUID.");
}
END_TEST

START_TEST(test_changes_reported)
{
	seed();
	server_ok("[['add-triple','" T1 "','" A_TTITLE "','x']]");
	ck_assert_uint_eq(json_array_size(res.etypes), 1);
	ck_assert_str_eq(json_string_value(json_array_get(res.etypes, 0)),
			 "todos");
	ck_assert_str_eq(json_string_value(json_array_get(res.attr_ids, 0)),
			 A_TTITLE);
	/* A link touches both ends. */
	server_ok("[['add-triple','" T3 "','" A_TOWNER "','" P1 "']]");
	ck_assert_uint_eq(json_array_size(res.etypes), 2);
}
END_TEST

START_TEST(test_client_mode_filters_and_drops)
{
	seed();
	/* create on an existing entity and update on a missing one are
	 * silently dropped, the rest applies. */
	ck_assert_int_eq(apply(TXAPPLY_CLIENT,
			       "[['add-triple','" T1 "','" A_TTITLE
			       "','no',{'mode':'create'}],"
			       "['add-triple','" T3 "','" A_TTITLE
			       "','no',{'mode':'update'}],"
			       "['add-triple','" T2 "','" A_TTITLE
			       "','yes',{'mode':'update'}]]"),
			 0);
	ck_assert_str_eq(ea(T1, A_TTITLE).v, "\"one\"");
	ck_assert_int_eq(count_e(T3), 0);
	ck_assert_str_eq(ea(T2, A_TTITLE).v, "\"yes\"");
	ck_assert_int_gt(ea(T2, A_TTITLE).t, NOW * 10 - 1);
	/* Merge onto a missing value does nothing locally. */
	ck_assert_int_eq(apply(TXAPPLY_CLIENT, "[['deep-merge-triple','" T2
					       "','" A_TMETA "',{'a':1}]]"),
			 0);
	ck_assert_int_eq(ea(T2, A_TMETA).n, 0);
	/* An unknown lookup is dropped; a known one resolves. */
	ck_assert_int_eq(apply(TXAPPLY_CLIENT,
			       "[['add-triple','" T2 "','" A_TOWNER
			       "',['" A_PEMAIL
			       "','who@x']],['add-triple',['" A_PEMAIL
			       "','a@b.c'],'" A_PEMAIL "','new@b.c']]"),
			 0);
	ck_assert_str_eq(ea(T2, A_TOWNER).v, "\"" P1 "\"");
	ck_assert_str_eq(ea(P1, A_PEMAIL).v, "\"new@b.c\"");
}
END_TEST

START_TEST(test_client_delete_cascades)
{
	seed();
	ck_assert_int_eq(
	    apply(TXAPPLY_CLIENT, "[['delete-entity','" P1 "','profiles']]"),
	    0);
	ck_assert_int_eq(count_e(P1), 0);
	ck_assert_int_eq(count_e(T1), 0);
	ck_assert_int_eq(count_e(T2), 0);
	ck_assert_int_eq(ea(G1, A_GTODOS).n, 0);
}
END_TEST

/* The txapply suite. */
static Suite *
txapply_suite(void)
{
	Suite *s = suite_create("txapply");
	TCase *tc = tcase_create("txapply");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create_existing_fails_whole_tx);
	tcase_add_test(tc, test_update_missing_fails);
	tcase_add_test(tc, test_card_one_last_wins_and_keeps_t);
	tcase_add_test(tc, test_delete_removes_links_both_ways);
	tcase_add_test(tc, test_delete_reverse_cascade);
	tcase_add_test(tc, test_delete_only_touches_its_etype);
	tcase_add_test(tc, test_merge_rules);
	tcase_add_test(tc, test_unique_violation);
	tcase_add_test(tc, test_lookup_upserts);
	tcase_add_test(tc, test_indexed_nulls_for_new_entities);
	tcase_add_test(tc, test_missing_value_lookup);
	tcase_add_test(tc, test_checked_data_type);
	tcase_add_test(tc, test_op_grouped_order);
	tcase_add_test(tc, test_add_attr_idempotent_and_unique);
	tcase_add_test(tc, test_failed_tx_unregisters_its_attrs);
	tcase_add_test(tc, test_bad_entity_id);
	tcase_add_test(tc, test_changes_reported);
	tcase_add_test(tc, test_client_mode_filters_and_drops);
	tcase_add_test(tc, test_client_delete_cascades);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(txapply_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
