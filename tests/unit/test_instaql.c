/* test_instaql.c: the InstaQL evaluator on a small store (the oracle test
 * in tests/interop compares it with the official client at large). */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/instaql.h"
#include "engine/iq.h"
#include "engine/jsval.h"
#include "proto/uuid.h"
#include "engine/tstore.h"

static sqlite3 *db;
static struct tstore *ts;
static struct attrs *as;

#define G1 "00000000-0000-4000-8000-000000000001"
#define G2 "00000000-0000-4000-8000-000000000002"
#define T1 "00000000-0000-4000-8000-000000000011"
#define T2 "00000000-0000-4000-8000-000000000012"
#define U1 "00000000-0000-4000-8000-000000000021"

/* Parse a JSON literal of the test. */
static json_t *
J(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

	ck_assert_msg(v != NULL, "bad test JSON: %s", err.text);
	return v;
}

/* Register an attr. */
static void
attr(const char *id, const char *etype, const char *label, const char *vt,
    const char *card, const char *rev_etype, const char *rev_label)
{
	json_t *a = json_pack("{s:s,s:[s,s,s],s:s,s:s,s:b}", "id", id,
	    "forward-identity", "f", etype, label, "value-type", vt,
	    "cardinality", card, "unique?", strcmp(label, "id") == 0);

	if (rev_etype != NULL)
		json_object_set_new(a, "reverse-identity",
		    json_pack("[s,s,s]", "r", rev_etype, rev_label));
	ck_assert_int_eq(attrs_put(as, a, NULL), 0);
	json_decref(a);
}

/* Add a triple with a JSON value literal. */
static void
add(const char *e, const char *a, const char *vjson, int64_t t)
{
	json_t *v = J(vjson);
	char *text = tstore_value_text(v);

	ck_assert_int_eq(tstore_add(ts, e, a, text, t), 0);
	free(text);
	json_decref(v);
}

/* Add an entity's id triple. */
static void
ent(const char *id_attr, const char *e, int64_t t)
{
	char v[64];

	snprintf(v, sizeof v, "\"%s\"", e);
	add(e, id_attr, v, t);
}

/* A store of goals, todos and users. */
static void
setup(void)
{
	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ts = tstore_create(db, "t", NULL);
	as = attrs_create();
	attr("gid", "goals", "id", "blob", "one", NULL, NULL);
	attr("gtitle", "goals", "title", "blob", "one", NULL, NULL);
	attr("tid", "todos", "id", "blob", "one", NULL, NULL);
	attr("ttitle", "todos", "title", "blob", "one", NULL, NULL);
	attr("uid", "users", "id", "blob", "one", NULL, NULL);
	attr("gtodos", "goals", "todos", "ref", "many", "todos", "goals");
	attr("towner", "todos", "owner", "ref", "one", "users", "todos");
	ent("gid", G1, 10);
	ent("gid", G2, 5);
	add(G1, "gtitle", "\"Get fit\"", 10);
	add(G2, "gtitle", "\"Ship\"", 5);
	ent("tid", T1, 1);
	ent("tid", T2, 2);
	add(T1, "ttitle", "\"run\"", 1);
	add(T2, "ttitle", "\"lift\"", 2);
	ent("uid", U1, 1);
	add(G1, "gtodos", "\"" T1 "\"", 3);
	add(G1, "gtodos", "\"" T2 "\"", 3);
	add(T1, "towner", "\"" U1 "\"", 3);
}

/* Free the store. */
static void
teardown(void)
{
	attrs_free(as);
	tstore_free(ts);
	sqlite3_close(db);
}

/* Evaluate q and compare its data with want (both JSON literals). */
static void
check_eval(const char *q, const struct instaql_opts *opts, const char *want)
{
	struct instaql_result res;
	json_t *jq = J(q), *jw = J(want);
	char *err = NULL, *got;

	ck_assert_msg(instaql_eval(ts, as, jq, opts, &res, &err) == 0,
	    "eval failed: %s", err ? err : "?");
	got = json_dumps(res.data, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_msg(json_equal(res.data, jw), "got %s", got);
	free(got);
	instaql_result_clear(&res);
	json_decref(jq);
	json_decref(jw);
}

/* Evaluate q and expect an error message containing want. */
static void
check_error(const char *q, const char *want)
{
	struct instaql_result res;
	json_t *jq = J(q);
	char *err = NULL;

	ck_assert_int_eq(instaql_eval(ts, as, jq, NULL, &res, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, want) != NULL, "error: %s", err);
	ck_assert_ptr_null(res.data);
	free(err);
	json_decref(jq);
}

START_TEST(test_default_order_and_nesting)
{
	check_eval("{\"goals\":{\"todos\":{\"$\":{\"fields\":[\"title\"]}}}}",
	    NULL,
	    "{\"goals\":[{\"id\":\"" G2 "\",\"title\":\"Ship\",\"todos\":[]},"
	    "{\"id\":\"" G1 "\",\"title\":\"Get fit\",\"todos\":["
	    "{\"id\":\"" T1 "\",\"title\":\"run\"},"
	    "{\"id\":\"" T2 "\",\"title\":\"lift\"}]}]}");
}
END_TEST

START_TEST(test_where_paths)
{
	check_eval("{\"goals\":{\"$\":{\"where\":{\"todos.owner\":\"" U1
		   "\"},\"fields\":[\"title\"]}}}",
	    NULL, "{\"goals\":[{\"id\":\"" G1 "\",\"title\":\"Get fit\"}]}");
	check_eval("{\"todos\":{\"$\":{\"where\":{\"owner\":{\"$isNull\":true}},"
		   "\"fields\":[\"id\"]}}}",
	    NULL, "{\"todos\":[{\"id\":\"" T2 "\"}]}");
	check_eval("{\"todos\":{\"$\":{\"where\":{\"title\":{\"$ne\":\"run\"}}}}}",
	    NULL, "{\"todos\":[{\"id\":\"" T2 "\",\"title\":\"lift\"}]}");
	check_eval("{\"goals\":{\"$\":{\"where\":{\"nope\":1}}},\"nope\":{}}",
	    NULL, "{\"goals\":[],\"nope\":[]}");
}
END_TEST

START_TEST(test_has_one_inference)
{
	struct instaql_opts ci = { .cardinality_inference = 1 };

	check_eval("{\"todos\":{\"$\":{\"fields\":[\"id\"]},\"owner\":{}}}",
	    &ci,
	    "{\"todos\":[{\"id\":\"" T1 "\",\"owner\":{\"id\":\"" U1 "\"}},"
	    "{\"id\":\"" T2 "\"}]}");
	check_eval("{\"todos\":{\"$\":{\"fields\":[\"id\"]},\"owner\":{}}}",
	    NULL,
	    "{\"todos\":[{\"id\":\"" T1 "\",\"owner\":[{\"id\":\"" U1 "\"}]},"
	    "{\"id\":\"" T2 "\",\"owner\":[]}]}");
}
END_TEST

START_TEST(test_order_limit)
{
	check_eval("{\"todos\":{\"$\":{\"order\":{\"title\":\"asc\"},"
		   "\"limit\":1,\"fields\":[\"title\"]}}}",
	    NULL, "{\"todos\":[{\"id\":\"" T2 "\",\"title\":\"lift\"}]}");
	check_eval("{\"goals\":{\"$\":{\"order\":{\"serverCreatedAt\":"
		   "\"desc\"},\"fields\":[\"id\"]}}}",
	    NULL, "{\"goals\":[{\"id\":\"" G1 "\"},{\"id\":\"" G2 "\"}]}");
	/* offset without page-info: nothing until the server answers */
	check_eval("{\"goals\":{\"$\":{\"offset\":1}}}", NULL,
	    "{\"goals\":[]}");
}
END_TEST

START_TEST(test_errors)
{
	check_error("[]", "query: must be an object");
	check_error("{\"goals\":5}", "goals: must be an object");
	check_error("{\"goals\":{\"$\":{\"where\":{\"title\":null}}}}",
	    "goals.$.where.title: null");
	check_error("{\"goals\":{\"$\":{\"where\":{\"title.x\":1}}}}",
	    "goals.$.where.title.x: not a link");
	check_error("{\"goals\":{\"title\":{}}}", "goals.title: not a link");
	check_error("{\"goals\":{\"todos\":{\"$\":{\"where\":{\"or\":{}}}}}}",
	    "goals.todos.$.where.or: must be an array");
	check_error("{\"goals\":{\"$\":{\"where\":{\"title\":{\"$in\":5}}}}}",
	    "goals.$.where.title: $in needs an array");
	check_error("{\"goals\":{\"$\":{\"limit\":\"x\"}}}",
	    "goals.$.limit: must be a number");
}
END_TEST

START_TEST(test_topics_and_validate)
{
	struct instaql_result res;
	json_t *q = J("{\"goals\":{\"$\":{\"where\":{\"todos.owner\":\"x\"}}}}");
	json_t *want = J("[\"goals\",\"todos\",\"users\"]");
	char *err = NULL;

	ck_assert_int_eq(instaql_eval(ts, as, q, NULL, &res, &err), 0);
	ck_assert(json_equal(res.topics, want));
	instaql_result_clear(&res);
	instaql_result_clear(&res);
	ck_assert_int_eq(instaql_validate(q, &err), 0);
	json_decref(q);
	q = J("{\"goals\":{\"$\":7}}");
	ck_assert_int_eq(instaql_validate(q, &err), -1);
	ck_assert_ptr_nonnull(err);
	free(err);
	json_decref(q);
	/* Clauses after a missing attr, and nested forms, are checked too. */
	q = J("{\"goals\":{\"x\":{\"$\":{\"where\":{\"nope\":1,"
	      "\"or\":5}}}}}");
	ck_assert_int_eq(instaql_validate(q, &err), -1);
	ck_assert_str_eq(err, "goals.x.$.where.or: must be an array");
	free(err);
	json_decref(q);
	json_decref(want);
}
END_TEST

/* Evaluate q in server mode (caller clears res). */
static void
server_eval(const char *q, struct instaql_result *res)
{
	struct instaql_opts opts = { .server = 1 };
	json_t *jq = J(q);
	char *err = NULL;

	ck_assert_msg(instaql_eval(ts, as, jq, &opts, res, &err) == 0,
	    "eval failed: %s", err ? err : "?");
	json_decref(jq);
}

/* Whether the result's triples hold [e, a, v] (v as JSON text). */
static int
has_triple(const struct instaql_result *res, const char *e, const char *a,
    const char *v)
{
	json_t *want = J(v), *tr;
	size_t i;
	int found = 0;

	json_array_foreach(res->triples, i, tr)
		if (strcmp(json_string_value(json_array_get(tr, 0)), e) == 0 &&
		    strcmp(json_string_value(json_array_get(tr, 1)), a) == 0 &&
		    json_equal(json_array_get(tr, 2), want))
			found = 1;
	json_decref(want);
	return found;
}

/* Check a page-info field against a JSON literal. */
static void
check_pi(const struct instaql_result *res, const char *ns, const char *key,
    const char *want)
{
	json_t *w = J(want);
	json_t *got = json_object_get(json_object_get(res->page_info, ns), key);
	char *s = json_dumps(got, JSON_ENCODE_ANY);

	ck_assert_msg(json_equal(got, w), "%s.%s: got %s", ns, key, s);
	free(s);
	json_decref(w);
}

START_TEST(test_server_pages)
{
	struct instaql_result res;

	/* Titles: "Get fit" (G1) < "Ship" (G2). */
	server_eval("{\"goals\":{\"$\":{\"order\":{\"title\":\"asc\"},"
		    "\"first\":1}}}", &res);
	ck_assert_uint_eq(json_array_size(json_object_get(res.data, "goals")),
	    1);
	check_pi(&res, "goals", "start-cursor",
	    "[\"" G1 "\",\"gtitle\",\"Get fit\",10]");
	check_pi(&res, "goals", "end-cursor",
	    "[\"" G1 "\",\"gtitle\",\"Get fit\",10]");
	check_pi(&res, "goals", "has-next-page?", "true");
	check_pi(&res, "goals", "has-previous-page?", "false");
	instaql_result_clear(&res);

	server_eval("{\"goals\":{\"$\":{\"order\":{\"title\":\"asc\"},"
		    "\"first\":1,\"after\":[\"" G1 "\",\"gtitle\","
		    "\"Get fit\",10]}}}", &res);
	check_pi(&res, "goals", "start-cursor",
	    "[\"" G2 "\",\"gtitle\",\"Ship\",5]");
	check_pi(&res, "goals", "has-next-page?", "false");
	check_pi(&res, "goals", "has-previous-page?", "true");
	instaql_result_clear(&res);

	/* Default order is serverCreatedAt: G2 (t 5) before G1 (t 10). */
	server_eval("{\"goals\":{\"$\":{\"offset\":1,\"limit\":1}}}",
	    &res);
	check_pi(&res, "goals", "start-cursor",
	    "[\"" G1 "\",\"gid\",\"" G1 "\",10]");
	check_pi(&res, "goals", "has-previous-page?", "true");
	instaql_result_clear(&res);

	server_eval("{\"goals\":{\"$\":{\"last\":1}}}", &res);
	check_pi(&res, "goals", "end-cursor",
	    "[\"" G1 "\",\"gid\",\"" G1 "\",10]");
	check_pi(&res, "goals", "has-next-page?", "false");
	instaql_result_clear(&res);
}
END_TEST

START_TEST(test_server_aggregate)
{
	struct instaql_result res;
	json_t *want = J("{\"goals\":{\"count\":1}}");

	server_eval("{\"goals\":{\"$\":{\"aggregate\":\"count\","
		    "\"where\":{\"title\":\"Ship\"}}}}", &res);
	ck_assert(json_equal(res.aggregate, want));
	ck_assert_ptr_null(json_object_get(res.data, "goals"));
	instaql_result_clear(&res);
	json_decref(want);
}
END_TEST

START_TEST(test_server_witness)
{
	struct instaql_result res;

	server_eval("{\"goals\":{\"$\":{\"where\":{\"todos.owner\":\"" U1
		    "\"},\"fields\":[\"title\"]}}}", &res);
	/* The result entity, and the path that makes the where true. */
	ck_assert(has_triple(&res, G1, "gid", "\"" G1 "\""));
	ck_assert(has_triple(&res, G1, "gtitle", "\"Get fit\""));
	ck_assert(has_triple(&res, G1, "gtodos", "\"" T1 "\""));
	ck_assert(has_triple(&res, T1, "towner", "\"" U1 "\""));
	/* Not the other goal. */
	ck_assert(!has_triple(&res, G2, "gid", "\"" G2 "\""));
	instaql_result_clear(&res);

	/* $isNull:false on a reverse label: the incoming link is sent. */
	server_eval("{\"users\":{\"$\":{\"where\":{\"todos\":"
		    "{\"$isNull\":false}}}}}", &res);
	ck_assert(has_triple(&res, U1, "uid", "\"" U1 "\""));
	ck_assert(has_triple(&res, T1, "towner", "\"" U1 "\""));
	instaql_result_clear(&res);
}
END_TEST

START_TEST(test_limits)
{
	struct instaql_result res;
	json_t *q, *where = json_object(), *form;
	char key[32], *err = NULL;
	int i;

	/* A where clause of 2000 keys is refused, not searched. */
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof key, "a%d", i);
		attr(key, "goals", key, "blob", "one", NULL, NULL);
		json_object_set_new(where, key, json_integer(1));
	}
	q = json_pack("{s:{s:{s:o}}}", "goals", "$", "where", where);
	ck_assert_int_eq(instaql_eval(ts, as, q, NULL, &res, &err), -1);
	ck_assert_msg(strstr(err, "where clause too large") != NULL, "%s",
	    err);
	free(err);
	json_decref(q);
	/* Forms nested 40 deep. */
	form = json_object();
	for (i = 0; i < 40; i++)
		form = json_pack("{s:o}", "todos", form);
	q = json_pack("{s:o}", "goals", form);
	ck_assert_int_eq(instaql_validate(q, &err), -1);
	ck_assert_msg(strstr(err, "nesting too deep") != NULL, "%s", err);
	free(err);
	json_decref(q);
}
END_TEST

/* The text jansson prints for a stored value once parsed, or NULL when
 * the value is left out: what a result tree used to hold. */
static char *
tree_text(const char *vtext)
{
	json_t *v = iqjoin_value(vtext);
	char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) :
	    NULL;

	json_decref(v);
	return s;
}

/* Check that a stored value is written as the tree would print it. */
static void
check_value_text(const char *vtext)
{
	struct textbuf b;
	char *want = tree_text(vtext);
	int r;

	memset(&b, 0, sizeof b);
	r = iqtext_value(&b, vtext);
	ck_assert_int_eq(b.err, 0);
	if (want == NULL)
		ck_assert_msg(r == 0 && b.len == 0, "%s: written as %s", vtext,
		    b.p != NULL ? b.p : "");
	else
		ck_assert_msg(r == 1 && strcmp(b.p, want) == 0,
		    "%s: written as %s, not %s", vtext, b.p != NULL ? b.p : "",
		    want);
	free(want);
	textbuf_clear(&b);
}

START_TEST(test_value_text)
{
	static const char *const texts[] = {
		"\"plain\"", "\"\"", "\"a\\\"b\\\\c\\nd\\te\\rf\\bg\\fh\"",
		"\"\\u0001\"", "\"\\u001F\"", "\"\\u0000\"", "\"a\\u0000b\"",
		"\"\\/\"", "\"\\u00e9\"", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
		"\"bad \xc3\"", "\"bad \xc0\xaf\"", "\"bad \xed\xa0\x80\"",
		"\"bad \xf4\x90\x80\x80\"", "\"raw \x01 control\"",
		"\"raw \"quote\"", "\"unterminated", "\"long ascii text that "
		"goes on for more than eight bytes at a time\"",
		"\"eight!!\"", "\"seven!\"", "\"nine!!!!\"",
		"0", "-0", "7", "-12", "123456789012345678",
		"1234567890123456789", "12345678901234567890", "00", "01",
		"0.1", "1e3", "-2.5e-7", "1.0", "true", "false", "null",
		"tru", "nulll", "[1,2.5,\"x\"]", "{\"a\":1,\"b\":[null]}",
		"{\"b\":1,\"a\":2}", "{bad", "", " 1", "[]", "{}",
	};
	char buf[64];
	size_t i, k;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
		check_value_text(texts[i]);
	/* Strings of every byte at every offset of an 8-byte word. */
	for (i = 1; i < 256; i++) {
		for (k = 0; k < 12; k++) {
			memset(buf, 'x', sizeof buf);
			buf[0] = '"';
			buf[1 + k] = (char)i;
			buf[14] = '"';
			buf[15] = '\0';
			check_value_text(buf);
		}
	}
}
END_TEST

#define NITEMS 100

/* A store of NITEMS items (enough to read whole fields) with values of
 * every kind: several values of one attr, values that do not parse. */
static void
items(void)
{
	char e[48], v[64];
	int i;

	attr("iid", "items", "id", "blob", "one", NULL, NULL);
	attr("iname", "items", "name", "blob", "one", NULL, NULL);
	attr("in", "items", "n", "blob", "one", NULL, NULL);
	attr("amulti", "items", "multi", "blob", "one", NULL, NULL);
	attr("zreal", "items", "real", "blob", "one", NULL, NULL);
	attr("bmixed", "items", "mixed", "blob", "one", NULL, NULL);
	for (i = 0; i < NITEMS; i++) {
		snprintf(e, sizeof e, "00000000-0000-4000-8000-%012d", 100 + i);
		ent("iid", e, i);
		snprintf(v, sizeof v, "\"item \\\"%d\\\"\\n\"", i);
		add(e, "iname", v, i);
		snprintf(v, sizeof v, "%d", i);
		add(e, "in", v, i);
		add(e, "amulti", "\"a\"", i);
		add(e, "amulti", "\"b\"", i);
		add(e, "zreal", "{\"x\":0.1,\"y\":[1.5]}", i);
		/* "1" sorts before "{bad", which does not parse. */
		ck_assert_int_eq(tstore_add(ts, e, "bmixed", "1", i), 0);
		ck_assert_int_eq(tstore_add(ts, e, "bmixed", "{bad", i), 0);
	}
}

/* Evaluate q as text and as a tree: the text must be the tree's compact
 * encoding, each object must be the item it names, keys in key order
 * (comma-separated labels); the number of objects. */
static size_t
check_items(const char *q, const char *key_order)
{
	struct instaql_result res, tree;
	json_t *jq = J(q), *o;
	char *err = NULL, *enc, keys[256], want[512];
	const char *k;
	json_t *x;
	size_t i, n;

	ck_assert_msg(instaql_eval_text(ts, as, jq, NULL, &res, &err) == 0,
	    "eval failed: %s", err ? err : "?");
	ck_assert_ptr_null(res.data);
	ck_assert_msg(instaql_eval(ts, as, jq, NULL, &tree, &err) == 0,
	    "eval failed: %s", err ? err : "?");
	enc = json_dumps(tree.data, JSON_COMPACT);
	ck_assert_str_eq(res.text, enc);
	ck_assert_uint_eq(res.text_len, strlen(enc));
	free(enc);
	n = json_array_size(json_object_get(tree.data, "items"));
	json_array_foreach(json_object_get(tree.data, "items"), i, o) {
		int num = (int)json_integer_value(json_object_get(o, "n"));
		keys[0] = '\0';
		json_object_foreach(o, k, x) {
			strcat(keys, keys[0] ? "," : "");
			strcat(keys, k);
		}
		ck_assert_str_eq(keys, key_order);
		snprintf(want, sizeof want, "{\"id\":\"00000000-0000-4000-8000-"
		    "%012d\",\"name\":\"item \\\"%d\\\"\\n\",\"n\":%d,"
		    "\"multi\":\"b\",\"real\":{\"x\":0.1,\"y\":[1.5]},"
		    "\"mixed\":1}", 100 + num, num, num);
		x = J(want);
		ck_assert_msg(json_equal(o, x), "item %d wrong", num);
		json_decref(x);
	}
	instaql_result_clear(&res);
	instaql_result_clear(&tree);
	json_decref(jq);
	return n;
}

START_TEST(test_object_text)
{
	items();
	/* Keys come in attr id order however the values were read, so that
	 * equal data is equal text.  The whole etype: whole fields read. */
	ck_assert_uint_eq(check_items("{\"items\":{}}",
	    "multi,mixed,id,n,name,real"), NITEMS);
	/* A where without a limit: the triples read with each id triple. */
	ck_assert_uint_eq(check_items(
	    "{\"items\":{\"$\":{\"where\":{\"n\":{\"$lt\":3}}}}}",
	    "multi,mixed,id,n,name,real"), 3);
	/* With a limit: one lookup per entity written. */
	ck_assert_uint_eq(check_items(
	    "{\"items\":{\"$\":{\"where\":{\"n\":{\"$lt\":30}},"
	    "\"limit\":2}}}", "multi,mixed,id,n,name,real"), 2);
	/* Most of the etype under a where: whole fields read. */
	ck_assert_uint_eq(check_items(
	    "{\"items\":{\"$\":{\"where\":{\"n\":{\"$gte\":10}}}}}",
	    "multi,mixed,id,n,name,real"), NITEMS - 10);
}
END_TEST

/* $like reads only the values whose text holds the pattern's longest
 * literal run (a prefilter in SQLite), then matches them exactly: values
 * with escapes, slashes, quotes and other characters around the run. */
/* Ids as JSON strings: escaped wherever the character needing it lies
 * (the test goes a word at a time). */
START_TEST(test_quote_ids)
{
	static const char *const cases[][2] = {
		{ "6f0c0000-0000-4000-8000-0000000000ab",
		  "\"6f0c0000-0000-4000-8000-0000000000ab\"" },
		{ "", "\"\"" },
		{ "a\"b", "\"a\\\"b\"" },
		{ "abcdefgh\\", "\"abcdefgh\\\\\"" },
		{ "abcdefghijklmnop\"", "\"abcdefghijklmnop\\\"\"" },
		{ "abcdefg\n", "\"abcdefg\\n\"" },
		{ "caf\xc3\xa9 \xc3\xa9t\xc3\xa9", "\"caf\xc3\xa9 \xc3\xa9t\xc3\xa9\"" },
	};
	size_t i;
	char *q;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		q = iqjoin_quote(cases[i][0]);
		ck_assert_ptr_nonnull(q);
		ck_assert_str_eq(q, cases[i][1]);
		free(q);
	}
}
END_TEST

START_TEST(test_uuid_sort_keys)
{
	static const char *const ids[] = {
		"0b6f1a52-8c1d-4b8e-9a0f-3c2d1e4f5a6b",
		"0B6F1A52-8C1D-4B8E-9A0F-3C2D1E4F5A6C",
		"ffffffff-ffff-4fff-bfff-ffffffffffff",
		"00000000-0000-4000-8000-000000000000",
		"0b6f1a52-8c1d-4b8e-9a0f-3c2d1e4f5a6a",
		"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
	};
	unsigned char k1[16], k2[16];
	size_t i, j;
	int c, d;

	/* Uuids' bytes compare as the client's uuidCompare does. */
	for (i = 0; i < 6; i++)
		for (j = 0; j < 6; j++) {
			ck_assert_int_eq(uuid_bytes(ids[i], k1), 1);
			ck_assert_int_eq(uuid_bytes(ids[j], k2), 1);
			c = memcmp(k1, k2, 16);
			d = jsval_uuid_cmp(ids[i], ids[j]);
			ck_assert_int_eq(c < 0 ? -1 : c > 0, d);
		}
	/* Anything but the canonical form has no key. */
	ck_assert_int_eq(uuid_bytes("0b6f1a528c1d4b8e9a0f3c2d1e4f5a6b", k1),
	    0);
	ck_assert_int_eq(uuid_bytes("0b6f1a52-8c1d-4b8e-9a0f-3c2d1e4f5a6bb",
	    k1), 0);
	ck_assert_int_eq(uuid_bytes("0b6f1a52-8c1d-4b8e-9a0f-3c2d1e4f5a6", k1),
	    0);
	ck_assert_int_eq(uuid_bytes("0b6f1a52-8c1d-4b8e-9a0f-3c2d1e4f5a6g",
	    k1), 0);
	ck_assert_int_eq(uuid_bytes("0b6f1a52+8c1d-4b8e-9a0f-3c2d1e4f5a6b",
	    k1), 0);
	ck_assert_int_eq(uuid_bytes("", k1), 0);
}
END_TEST

START_TEST(test_like_prefilter)
{
	static const char *const vals[] = {
		"\"a/99\"", "\"say \\\"99\\\"\"", "\"x\\\\99\"",
		"\"99\u00e9\"", "1990", "\"9 9\"", "\"\u00df99\"",
		"\"\\n99\"",
	};
	char e[8][40], q[512], want[2048];
	static const struct {
		const char *op, *pat; /* as JSON text */
		const char *hits;     /* indexes into vals */
	} cases[] = {
		{ "$like", "\"%99%\"", "012367" },
		{ "$like", "\"%/99\"", "0" },
		{ "$like", "\"%\\\"99\\\"\"", "1" },
		{ "$like", "\"%\\\\99\"", "2" },
		{ "$like", "\"_99%\"", "67" },
		{ "$like", "\"%n99%\"", "" },
		{ "$like", "\"%99\"", "0267" },
		{ "$ilike", "\"%99\u00c9%\"", "3" },
	};
	size_t i, k, n;
	const char *h;
	char needle[8];
	struct jsval_like *lk;

	attr("uhandle", "users", "handle", "blob", "one", NULL, NULL);
	for (i = 0; i < 8; i++) {
		snprintf(e[i], sizeof e[i], "00000000-0000-4000-8000-0000000001%02zu",
		    i);
		ent("uid", e[i], 100 + (int64_t)i);
		add(e[i], "uhandle", vals[i], 100 + (int64_t)i);
	}
	for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		snprintf(q, sizeof q, "{\"users\":{\"$\":{\"where\":{\"handle\":"
		    "{\"%s\":%s}},\"fields\":[\"id\"]}}}", cases[k].op,
		    cases[k].pat);
		n = (size_t)snprintf(want, sizeof want, "{\"users\":[");
		for (h = cases[k].hits; *h != '\0'; h++)
			n += (size_t)snprintf(want + n, sizeof want - n,
			    "%s{\"id\":\"%s\"}", h == cases[k].hits ? "" : ",",
			    e[*h - '0']);
		snprintf(want + n, sizeof want - n, "]}");
		check_eval(q, NULL, want);
	}
	/* The runs themselves. */
	lk = jsval_like_create("%/99\"x_yz%", 0);
	ck_assert_uint_eq(jsval_like_needle(lk, needle, sizeof needle), 2);
	ck_assert_str_eq(needle, "99");
	jsval_like_free(lk);
	lk = jsval_like_create("ab%cdefghijkl", 0);
	ck_assert_uint_eq(jsval_like_needle(lk, needle, sizeof needle), 7);
	ck_assert_str_eq(needle, "cdefghi");
	jsval_like_free(lk);
	lk = jsval_like_create("%99%", 1);
	ck_assert_uint_eq(jsval_like_needle(lk, needle, sizeof needle), 0);
	jsval_like_free(lk);
	lk = jsval_like_create("%\u00e9%", 0);
	ck_assert_uint_eq(jsval_like_needle(lk, needle, sizeof needle), 0);
	jsval_like_free(lk);
}
END_TEST

/* The suite. */
static Suite *
instaql_suite(void)
{
	Suite *s = suite_create("instaql");
	TCase *tc = tcase_create("client");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_default_order_and_nesting);
	tcase_add_test(tc, test_where_paths);
	tcase_add_test(tc, test_has_one_inference);
	tcase_add_test(tc, test_order_limit);
	tcase_add_test(tc, test_uuid_sort_keys);
	tcase_add_test(tc, test_quote_ids);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_topics_and_validate);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_value_text);
	tcase_add_test(tc, test_object_text);
	tcase_add_test(tc, test_like_prefilter);
	suite_add_tcase(s, tc);
	tc = tcase_create("server");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_server_pages);
	tcase_add_test(tc, test_server_aggregate);
	tcase_add_test(tc, test_server_witness);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite. */
int
main(void)
{
	SRunner *sr = srunner_create(instaql_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
