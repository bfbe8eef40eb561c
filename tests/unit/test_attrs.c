/* test_attrs.c: the attribute registry. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"

/* Parse a JSON literal (the test's own, known-good). */
static json_t *
J(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, 0, &err);

	ck_assert_msg(v != NULL, "bad test JSON: %s", err.text);
	return v;
}

static const char *link_attr =
    "{\"id\":\"l1\",\"forward-identity\":[\"f1\",\"goals\",\"todos\"],"
    "\"reverse-identity\":[\"r1\",\"todos\",\"goals\"],"
    "\"value-type\":\"ref\",\"cardinality\":\"many\",\"unique?\":false,"
    "\"index?\":true,\"on-delete\":\"cascade\","
    "\"on-delete-reverse\":\"cascade\"}";

static const char *title_attr =
    "{\"id\":\"t1\",\"forward-identity\":[\"f2\",\"goals\",\"title\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\",\"unique?\":true,"
    "\"index?\":false,\"checked-data-type\":\"string\"}";

START_TEST(test_put_and_lookup)
{
	struct attrs *as = attrs_create();
	json_t *l = J(link_attr), *t = J(title_attr);
	const struct attr *a;

	ck_assert_int_eq(attrs_put(as, l, NULL), 0);
	ck_assert_int_eq(attrs_put(as, t, NULL), 0);
	ck_assert_uint_eq(attrs_count(as), 2);

	a = attrs_forward(as, "goals", "todos");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->id, "l1");
	ck_assert_str_eq(a->fwd_id, "f1");
	ck_assert_str_eq(a->rev_id, "r1");
	ck_assert_int_eq(a->is_ref, 1);
	ck_assert_int_eq(a->card_one, 0);
	ck_assert_int_eq(a->indexed, 1);
	ck_assert_int_eq(a->on_delete_cascade, 1);
	ck_assert_int_eq(a->on_delete_reverse_cascade, 1);
	ck_assert_ptr_eq(attrs_reverse(as, "todos", "goals"), a);
	ck_assert_ptr_null(attrs_reverse(as, "goals", "todos"));

	a = attrs_by_id(as, "t1");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->is_ref, 0);
	ck_assert_int_eq(a->card_one, 1);
	ck_assert_int_eq(a->unique, 1);
	ck_assert_str_eq(a->checked_type, "string");
	ck_assert_ptr_null(a->rev_etype);
	ck_assert_ptr_eq(attrs_at(as, 1), a);
	ck_assert_ptr_null(attrs_at(as, 2));
	ck_assert_ptr_null(attrs_by_id(as, "nope"));
	ck_assert_ptr_null(attrs_forward(as, "goals", "nope"));

	json_decref(l);
	json_decref(t);
	attrs_free(as);
}
END_TEST

/* A blob attr with forward identity (etype, label), registered. */
static void
put_blob(struct attrs *as, const char *id, const char *etype,
    const char *label)
{
	json_t *a = json_pack("{ss s[sss] ss ss sb sb}", "id", id,
	    "forward-identity", "f", etype, label, "value-type", "blob",
	    "cardinality", "one", "unique?", 0, "index?", 0);

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(attrs_put(as, a, NULL), 0);
	json_decref(a);
}

START_TEST(test_identities_long_and_dotted)
{
	struct attrs *as = attrs_create();
	char etype[400], label[300];

	/* Dots in names: the same text split two ways is two identities. */
	put_blob(as, "x1", "a.b", "c");
	put_blob(as, "x2", "a", "b.c");
	ck_assert_str_eq(attrs_forward(as, "a.b", "c")->id, "x1");
	ck_assert_str_eq(attrs_forward(as, "a", "b.c")->id, "x2");
	ck_assert_ptr_null(attrs_forward(as, "a.b.c", ""));
	/* Names longer than a lookup's own buffer. */
	memset(etype, 'e', sizeof etype - 1);
	etype[sizeof etype - 1] = '\0';
	memset(label, 'l', sizeof label - 1);
	label[sizeof label - 1] = '\0';
	put_blob(as, "x3", etype, label);
	ck_assert_str_eq(attrs_forward(as, etype, label)->id, "x3");
	label[10] = '\0';
	ck_assert_ptr_null(attrs_forward(as, etype, label));
	attrs_free(as);
}
END_TEST

START_TEST(test_replace_moves_identity)
{
	struct attrs *as = attrs_create();
	json_t *t = J(title_attr);
	json_t *t2 = J("{\"id\":\"t1\",\"forward-identity\":"
		       "[\"f2\",\"goals\",\"name\"],\"value-type\":\"blob\"}");

	ck_assert_int_eq(attrs_put(as, t, NULL), 0);
	ck_assert_int_eq(attrs_put(as, t2, NULL), 0);
	ck_assert_uint_eq(attrs_count(as), 1);
	ck_assert_ptr_null(attrs_forward(as, "goals", "title"));
	ck_assert_ptr_nonnull(attrs_forward(as, "goals", "name"));
	json_decref(t);
	json_decref(t2);
	attrs_free(as);
}
END_TEST

START_TEST(test_remove_and_json)
{
	struct attrs *as = attrs_create();
	json_t *arr = json_pack("[o,o]", J(link_attr), J(title_attr));
	json_t *out;

	ck_assert_int_eq(attrs_load(as, arr, NULL), 0);
	ck_assert_int_eq(attrs_remove(as, "l1"), 0);
	ck_assert_int_eq(attrs_remove(as, "l1"), -1);
	ck_assert_uint_eq(attrs_count(as), 1);
	ck_assert_ptr_null(attrs_reverse(as, "todos", "goals"));
	ck_assert_str_eq(attrs_forward(as, "goals", "title")->id, "t1");
	out = attrs_to_json(as);
	ck_assert_uint_eq(json_array_size(out), 1);
	ck_assert(json_equal(json_array_get(out, 0), json_array_get(arr, 1)));
	json_decref(out);
	json_decref(arr);
	attrs_free(as);
}
END_TEST

START_TEST(test_malformed)
{
	struct attrs *as = attrs_create();
	const char *err = NULL;
	json_t *bad[] = {
		J("{\"forward-identity\":[\"f\",\"g\",\"t\"]}"),
		J("{\"id\":\"x\",\"forward-identity\":[\"f\",\"g\"]}"),
		J("{\"id\":\"x\",\"forward-identity\":[\"f\",\"g\",\"t\"],"
		  "\"reverse-identity\":[1,2,3]}"),
		J("[]"),
	};
	json_t *arr;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err = NULL;
		ck_assert_int_eq(attrs_put(as, bad[i], &err), -1);
		ck_assert_ptr_nonnull(err);
	}
	ck_assert_uint_eq(attrs_count(as), 0);
	/* A bad element empties the registry. */
	arr = json_pack("[o,O]", J(title_attr), bad[0]);
	ck_assert_int_eq(attrs_load(as, arr, &err), -1);
	ck_assert_uint_eq(attrs_count(as), 0);
	ck_assert_int_eq(attrs_load(as, bad[0], &err), -1);
	ck_assert_int_eq(attrs_load(as, bad[3], &err), 0);
	json_decref(arr);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		json_decref(bad[i]);
	attrs_free(as);
	attrs_free(NULL);
}
END_TEST

START_TEST(test_many)
{
	struct attrs *as = attrs_create();
	char buf[256];
	json_t *a;
	int i;

	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof buf,
		    "{\"id\":\"a%d\",\"forward-identity\":"
		    "[\"f%d\",\"ns%d\",\"l%d\"]}", i, i, i % 10, i);
		a = J(buf);
		ck_assert_int_eq(attrs_put(as, a, NULL), 0);
		json_decref(a);
	}
	ck_assert_int_eq(attrs_remove(as, "a500"), 0);
	ck_assert_str_eq(attrs_forward(as, "ns1", "l501")->id, "a501");
	ck_assert_str_eq(attrs_by_id(as, "a999")->label, "l999");
	ck_assert_ptr_null(attrs_by_id(as, "a500"));
	attrs_free(as);
}
END_TEST

/* The suite. */
static Suite *
attrs_suite(void)
{
	Suite *s = suite_create("attrs");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_put_and_lookup);
	tcase_add_test(tc, test_identities_long_and_dotted);
	tcase_add_test(tc, test_replace_moves_identity);
	tcase_add_test(tc, test_remove_and_json);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite. */
int
main(void)
{
	SRunner *sr = srunner_create(attrs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
