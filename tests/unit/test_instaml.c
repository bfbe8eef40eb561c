/*
 * test_instaml.c: InstaML compile errors, $increment, unsynced attrs and
 * the mode options.  (Step-for-step agreement with the official client is
 * covered by test_instaml_diff.)  J() turns single quotes into double ones.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/instaml.h"
#include "engine/tstore.h"
#include "engine/txapply.h"

#define T1 "20000000-0000-4000-8000-000000000001"
#define T2 "20000000-0000-4000-8000-000000000002"
#define A_TID "a0000000-0000-4000-8000-000000000004"
#define A_TTITLE "a0000000-0000-4000-8000-000000000005"
#define A_TCOUNT "a0000000-0000-4000-8000-000000000006"

static sqlite3 *db;
static struct tstore *ts;
static struct attrs *attrs;
static json_t *tx, *created;
static char *err;

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

/* todos with id, title and count attrs; T1 known with count 5. */
static void
setup(void)
{
	json_t *a =
	    J("[{'id':'" A_TID "','forward-identity':['f1','todos',"
	      "'id'],'value-type':'blob','cardinality':'one','unique?':true},"
	      "{'id':'" A_TTITLE "','forward-identity':['f2','todos','title'],"
	      "'value-type':'blob','cardinality':'one'},"
	      "{'id':'" A_TCOUNT "','forward-identity':['f3','todos','count'],"
	      "'value-type':'blob','cardinality':'one'}]");

	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ck_assert_ptr_nonnull(ts = tstore_create(db, "triples", &err));
	attrs = attrs_create();
	ck_assert_int_eq(attrs_load(attrs, a, NULL), 0);
	json_decref(a);
	ck_assert_int_eq(tstore_add(ts, T1, A_TID, "\"" T1 "\"", 1), 0);
	ck_assert_int_eq(tstore_add(ts, T1, A_TCOUNT, "5", 1), 0);
	tx = created = NULL;
	err = NULL;
}

/* Free everything. */
static void
teardown(void)
{
	json_decref(tx);
	json_decref(created);
	free(err);
	attrs_free(attrs);
	tstore_free(ts);
	sqlite3_close(db);
}

/* Compile single-quoted steps; returns instaml_compile's code. */
static int
compile(const char *steps)
{
	json_t *s = J(steps);
	int r;

	json_decref(tx);
	json_decref(created);
	free(err);
	r = instaml_compile(s, attrs, ts, &tx, &created, &err);
	json_decref(s);
	return r;
}

/* Compile, expecting an error that contains every given fragment. */
static void
compile_fails(const char *steps, const char *frag1, const char *frag2)
{
	size_t n = attrs_count(attrs);

	ck_assert_int_eq(compile(steps), -1);
	ck_assert_ptr_null(tx);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, frag1) != NULL, "%s lacks %s", err, frag1);
	ck_assert_msg(strstr(err, frag2) != NULL, "%s lacks %s", err, frag2);
	ck_assert_uint_eq(attrs_count(attrs), n);
}

/* Compact text of step i of the last output. */
static char *
step(size_t i)
{
	static char buf[1024];
	char *s = json_dumps(json_array_get(tx, i), JSON_COMPACT);

	snprintf(buf, sizeof buf, "%s", s != NULL ? s : "(none)");
	free(s);
	return buf;
}

START_TEST(test_errors_name_step_and_field)
{
	compile_fails("[['update','todos','not-a-uuid',{}]]", "step 0",
		      "entity");
	compile_fails("[['update','todos','" T1 "',{}],"
		      "['frobnicate','todos','" T1 "',{}]]",
		      "step 1", "action");
	compile_fails("[['update','todos','" T1 "','x']]", "step 0", "args");
	compile_fails("[['link','todos','" T1 "',{'owner':42}]]", "step 0",
		      "link \"owner\"");
	compile_fails("[['update','todos','" T1 "',{}],"
		      "['update','todos',['title','x'],{'a':1}]]",
		      "step 1", "title is not a unique attribute.");
	compile_fails("[['update','todos','" T1 "',{'n':{'$increment':'1'}}]]",
		      "step 0", "field \"n\"");
	compile_fails("[['update','todos','" T1 "',{}, {'upsert':'no'}]]",
		      "step 0", "upsert");
	compile_fails("{'not':'an array'}", "step 0", "array");
	compile_fails("[['update','','" T1 "',{}]]", "step 0", "namespace");
}
END_TEST

START_TEST(test_increment)
{
	ck_assert_int_eq(tstore_add(ts, T2, A_TCOUNT, "\"text\"", 1), 0);
	ck_assert_int_eq(
	    compile("[['update','todos','" T1 "',"
		    "{'count':{'$increment':3}}],['merge','todos','" T1 "',"
		    "{'count':{'$increment':-1}}]]"),
	    0);
	ck_assert_str_eq(step(1), "[\"add-triple\",\"" T1 "\",\"" A_TCOUNT
				  "\",8,{\"mode\":\"update\"}]");
	ck_assert_str_eq(step(3),
			 "[\"deep-merge-triple\",\"" T1 "\",\"" A_TCOUNT
			 "\",7,{\"mode\":\"update\"}]");
	/* Missing counts as zero; a new attr too. */
	ck_assert_int_eq(compile("[['update','todos','"
				 "20000000-0000-4000-8000-0000000000ff',{'"
				 "count':{'$increment':2},"
				 "'fresh':{'$increment':0.5}}]]"),
			 0);
	ck_assert_ptr_nonnull(strstr(step(2), ",2]"));
	ck_assert_ptr_nonnull(strstr(step(3), ",0.5]"));
	/* Not a number: refused. */
	compile_fails("[['update','todos','" T2
		      "',{'count':{'$increment':1}}]]",
		      "step 0", "not a number");
	/* Beyond the integers: a real, not a cast out of range. */
	ck_assert_int_eq(compile("[['update','todos','"
				 "20000000-0000-4000-8000-0000000000fe',{'"
				 "count':{'$increment':1.51e308}}]]"),
			 0);
	ck_assert_msg(strstr(step(1), ",1.51e308]") != NULL, "%s", step(1));
	/* Past the largest double: refused. */
	compile_fails("[['update','todos','" T1 "',{'count':1.7e308}],"
		      "['update','todos','" T1
		      "',{'count':{'$increment':1.7e308}}]]",
		      "step 1", "overflows");
}
END_TEST

START_TEST(test_modes)
{
	ck_assert_int_eq(
	    compile(
		"[['update','todos','" T1 "',{'title':'a'}],"
		"['update','todos','" T2 "',{'title':'b'}],"
		"['update','todos','" T2 "',{'title':'c'},{'upsert':false}],"
		"['update','todos','" T1 "',{'title':'d'},{'upsert':true}],"
		"['create','todos','" T2 "',{'title':'e','id':'ignored'}]]"),
	    0);
	ck_assert_str_eq(step(0), "[\"add-triple\",\"" T1 "\",\"" A_TID
				  "\",\"" T1 "\",{\"mode\":\"update\"}]");
	ck_assert_str_eq(step(3),
			 "[\"add-triple\",\"" T2 "\",\"" A_TTITLE "\",\"b\"]");
	ck_assert_ptr_nonnull(strstr(step(5), "{\"mode\":\"update\"}"));
	ck_assert_str_eq(step(7),
			 "[\"add-triple\",\"" T1 "\",\"" A_TTITLE "\",\"d\"]");
	ck_assert_ptr_nonnull(strstr(step(8), "{\"mode\":\"create\"}"));
	ck_assert_uint_eq(json_array_size(tx), 10);
}
END_TEST

START_TEST(test_new_attrs_and_unsynced)
{
	struct txapply_result res = {0};
	struct txapply *ta;
	json_t *again;

	ck_assert_int_eq(
	    compile("[['link','todos','" T1 "',{'tags':'" T2 "'}]]"), 0);
	ck_assert_uint_eq(json_array_size(created), 1);
	ck_assert_ptr_nonnull(strstr(step(0), "\"add-attr\""));
	ck_assert_ptr_nonnull(strstr(step(0), "\"reverse-identity\""));
	ck_assert_ptr_nonnull(strstr(step(0), "\"isUnsynced\":true"));
	/* The registry is unchanged until the steps are applied. */
	ck_assert_ptr_null(attrs_forward(attrs, "todos", "tags"));
	ta = txapply_create(db, ts, attrs, TXAPPLY_CLIENT);
	ck_assert_int_eq(txapply_run(ta, tx, 1000, &res), 0);
	txapply_result_clear(&res);
	txapply_free(ta);
	ck_assert_ptr_nonnull(attrs_forward(attrs, "todos", "tags"));
	again = json_incref(tx);
	/* Still unsynced: re-emitted by the next compile that uses it. */
	ck_assert_int_eq(
	    compile("[['unlink','tags','" T2 "',{'todos':'" T1 "'}]]"), 0);
	ck_assert_uint_eq(json_array_size(created), 1); /* tags.id */
	ck_assert_ptr_nonnull(strstr(step(1), "\"todos\",\"tags\""));
	ck_assert_str_eq(
	    json_string_value(json_array_get(json_array_get(tx, 2), 0)),
	    "retract-triple");
	/* Reverse label: written from the forward side. */
	ck_assert_ptr_nonnull(
	    strstr(step(2), "[\"retract-triple\",\"" T1 "\""));
	/* Applying it registers only the attr that is new. */
	ta = txapply_create(db, ts, attrs, TXAPPLY_CLIENT);
	ck_assert_int_eq(txapply_run(ta, tx, 1001, &res), 0);
	ck_assert_uint_eq(json_array_size(res.new_attrs), 1);
	txapply_result_clear(&res);
	txapply_free(ta);
	/* Once synced, it is no longer re-emitted. */
	ck_assert_int_eq(instaml_attrs_synced(attrs, again), 0);
	json_decref(again);
	ck_assert_int_eq(
	    compile("[['link','todos','" T1 "',{'tags':'" T2 "'}]]"), 0);
	ck_assert_uint_eq(json_array_size(tx), 1);
}
END_TEST

/* Replace every from in s by to, of the same length. */
static void
replace_all(char *s, const char *from, const char *to)
{
	size_t n = strlen(from);
	char *p;

	ck_assert_uint_eq(strlen(to), n);
	for (p = strstr(s, from); p != NULL; p = strstr(p + n, from))
		memcpy(p, to, n);
}

START_TEST(test_omit_known_attrs)
{
	struct txapply_result res = {0};
	struct txapply *ta;
	json_t *s, *full, *lean, *created2;
	char *e2 = NULL;
	size_t i, j;

	/* tags (and tags.id) enter the registry unsynced. */
	ck_assert_int_eq(
	    compile("[['link','todos','" T1 "',{'tags':'" T2 "'}]]"), 0);
	ta = txapply_create(db, ts, attrs, TXAPPLY_CLIENT);
	ck_assert_int_eq(txapply_run(ta, tx, 1000, &res), 0);
	txapply_result_clear(&res);
	txapply_free(ta);
	/* A step using tags and a new attr (todos.done). */
	s = J("[['unlink','tags','" T2 "',{'todos':'" T1 "'}],"
	      "['update','todos','" T1 "',{'done':true}]]");
	json_decref(created);
	ck_assert_int_eq(instaml_compile(s, attrs, ts, &full, &created, &err),
	    0);
	ck_assert_int_eq(instaml_compile_flags(s, attrs, ts,
	    INSTAML_OMIT_KNOWN_ATTRS, &lean, &created2, &e2), 0);
	/* lean is full less the add-attr steps of registered attrs, in the
	 * same order; the new attr's step stays (with fresh ids of its own,
	 * mapped to full's before comparing). */
	ck_assert_uint_eq(json_array_size(created), 2); /* tags.id, done */
	ck_assert_uint_eq(json_array_size(created2), 2);
	for (i = j = 0; i < json_array_size(full); i++) {
		json_t *st = json_array_get(full, i);
		const char *id = json_string_value(json_object_get(
		    json_array_get(st, 1), "id"));
		char *a, *b;
		size_t k;

		if (strcmp(json_string_value(json_array_get(st, 0)),
		    "add-attr") == 0 && attrs_by_id(attrs, id) != NULL)
			continue;
		a = json_dumps(st, JSON_COMPACT);
		b = json_dumps(json_array_get(lean, j), JSON_COMPACT);
		ck_assert_ptr_nonnull(a);
		ck_assert_ptr_nonnull(b);
		for (k = 0; k < 2; k++) {
			json_t *x = json_array_get(created, k);
			json_t *y = json_array_get(created2, k);
			json_t *fx = json_object_get(x, "forward-identity");
			json_t *fy = json_object_get(y, "forward-identity");

			ck_assert(json_equal(json_array_get(fx, 2),
			    json_array_get(fy, 2)));
			replace_all(b, json_string_value(json_object_get(y,
			    "id")), json_string_value(json_object_get(x,
			    "id")));
			replace_all(b, json_string_value(json_array_get(fy, 0)),
			    json_string_value(json_array_get(fx, 0)));
		}
		ck_assert_str_eq(b, a);
		free(a);
		free(b);
		j++;
	}
	ck_assert_uint_eq(j, json_array_size(lean));
	ck_assert_uint_lt(j, json_array_size(full));
	ck_assert_str_eq(json_string_value(json_array_get(json_array_get(lean,
	    0), 0)), "add-attr");
	json_decref(s);
	json_decref(full);
	json_decref(lean);
	json_decref(created2);
}
END_TEST

START_TEST(test_lookups)
{
	ck_assert_int_eq(compile("[['update','profiles',['email','a@b'],"
				 "{'name':'A'}],['link','todos','" T1 "',"
				 "{'owner':'lookup__email__\\'a@b\\''}]]"),
			 0);
	/* email is created unique and indexed, before any other attr. */
	ck_assert_ptr_nonnull(strstr(step(0), "\"profiles\",\"email\""));
	ck_assert_ptr_nonnull(strstr(step(0), "\"unique?\":true"));
	ck_assert_ptr_nonnull(strstr(step(0), "\"index?\":true"));
}
END_TEST

START_TEST(test_js_key_order)
{
	ck_assert_int_eq(compile("[['update','todos','" T1 "',"
				 "{'title':'t','10':1,'2':2}]]"),
			 0);
	ck_assert_ptr_nonnull(strstr(step(0), "\"todos\",\"2\""));
	ck_assert_ptr_nonnull(strstr(step(1), "\"todos\",\"10\""));
}
END_TEST

START_TEST(test_rewrite_against_server_attrs)
{
	struct attrs *server = attrs_create();
	struct instaml_rewrite *rw;
	json_t *sa = J("[{'id':'a0000000-0000-4000-8000-0000000000a1',"
		       "'forward-identity':['s1','todos','title'],"
		       "'value-type':'blob','cardinality':'one'},"
		       "{'id':'a0000000-0000-4000-8000-0000000000a2',"
		       "'forward-identity':['s2','goals','todos'],"
		       "'reverse-identity':['s3','todos','goals'],"
		       "'value-type':'ref','cardinality':'many'}]");
	json_t *steps = J("[['add-attr',{'id':'l1','forward-identity':['f1',"
			  "'todos','title'],'value-type':'blob'}],"
			  "['add-attr',{'id':'l2','forward-identity':['f2',"
			  "'todos','goals'],'reverse-identity':['f3','goals',"
			  "'todos'],'value-type':'ref'}],"
			  "['add-triple','" T1 "','l1','x'],"
			  "['add-triple','" T1 "','l2','" T2 "'],"
			  "['add-triple',['l1','x'],'l1','y'],"
			  "['delete-attr','l9']]");
	json_t *later = J("[['retract-triple','" T1 "','l2','" T2 "']]");
	json_t *out;
	int changed;

	ck_assert_int_eq(attrs_load(server, sa, NULL), 0);
	ck_assert_ptr_nonnull(rw = instaml_rewrite_create(server));
	out = instaml_rewrite_steps(rw, steps, -1, -1, &changed);
	ck_assert_int_eq(changed, 1);
	ck_assert_uint_eq(json_array_size(out), 3);
	json_decref(tx);
	tx = out;
	/* todos.title maps to the server's attr, lookups too. */
	ck_assert_str_eq(step(0), "[\"add-triple\",\"" T1
				  "\",\"a0000000-0000-4000-8000-0000000000a1\","
				  "\"x\"]");
	/* todos.goals is the server's goals.todos reversed: swapped. */
	ck_assert_str_eq(step(1), "[\"add-triple\",\"" T2
				  "\",\"a0000000-0000-4000-8000-0000000000a2\","
				  "\"" T1 "\"]");
	ck_assert_ptr_nonnull(strstr(
	    step(2), "[\"a0000000-0000-4000-8000-0000000000a1\",\"x\"]"));
	/* The mapping carries over to later transactions. */
	out = instaml_rewrite_steps(rw, later, -1, -1, &changed);
	json_decref(tx);
	tx = out;
	ck_assert_str_eq(step(0), "[\"retract-triple\",\"" T2
				  "\",\"a0000000-0000-4000-8000-0000000000a2\","
				  "\"" T1 "\"]");
	/* add-attr of a processed transaction is dropped. */
	json_decref(later);
	later = J("[['add-attr',{'id':'l5','forward-identity':['f5','x',"
		  "'y'],'value-type':'blob'}]]");
	out = instaml_rewrite_steps(rw, later, 3, 3, &changed);
	ck_assert_uint_eq(json_array_size(out), 0);
	json_decref(out);
	out = instaml_rewrite_steps(rw, later, 4, 3, &changed);
	ck_assert_int_eq(changed, 0);
	ck_assert_uint_eq(json_array_size(out), 1);
	json_decref(out);
	instaml_rewrite_free(rw);
	attrs_free(server);
	json_decref(sa);
	json_decref(steps);
	json_decref(later);
}
END_TEST

/* The instaml suite. */
static Suite *
instaml_suite(void)
{
	Suite *s = suite_create("instaml");
	TCase *tc = tcase_create("instaml");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_errors_name_step_and_field);
	tcase_add_test(tc, test_increment);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_new_attrs_and_unsynced);
	tcase_add_test(tc, test_omit_known_attrs);
	tcase_add_test(tc, test_lookups);
	tcase_add_test(tc, test_js_key_order);
	tcase_add_test(tc, test_rewrite_against_server_attrs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(instaml_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
