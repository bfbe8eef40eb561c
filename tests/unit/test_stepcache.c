/* test_stepcache.c: the parsed tx-steps of outbox rows. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stepcache.h"

#define S1 "[[\"add-triple\",\"e1\",\"a1\",\"x\"]]"
#define S2 "[[\"add-triple\",\"e2\",\"a1\",\"y\"]]"

/* A second lookup of the same row and text shares the first parse. */
START_TEST(test_hit_shares_the_parse)
{
	struct stepcache *sc = stepcache_create(1024);
	json_t *a = stepcache_get(sc, "t1", S1), *b, *want = json_loads(S1, 0,
	    NULL);

	ck_assert_ptr_nonnull(a);
	ck_assert(json_equal(a, want));
	b = stepcache_get(sc, "t1", S1);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(stepcache_hits(sc), 1);
	ck_assert_uint_eq(stepcache_rows(sc), 1);
	ck_assert_uint_eq(stepcache_bytes(sc), strlen(S1));
	json_decref(a);
	json_decref(b);
	json_decref(want);
	stepcache_free(sc);
}
END_TEST

/* Other text under the same key is a miss that replaces the entry; a
 * dropped row is parsed again; bad JSON is NULL and not kept. */
START_TEST(test_text_decides)
{
	struct stepcache *sc = stepcache_create(1024);
	json_t *a = stepcache_get(sc, "t1", S1), *b, *want = json_loads(S2, 0,
	    NULL);

	b = stepcache_get(sc, "t1", S2);
	ck_assert_ptr_ne(a, b);
	ck_assert(json_equal(b, want));
	ck_assert_uint_eq(stepcache_hits(sc), 0);
	ck_assert_uint_eq(stepcache_bytes(sc), strlen(S2));
	json_decref(b);
	stepcache_drop(sc, "t1");
	ck_assert_uint_eq(stepcache_rows(sc), 0);
	ck_assert_uint_eq(stepcache_bytes(sc), 0);
	b = stepcache_get(sc, "t1", S2);
	ck_assert_uint_eq(stepcache_hits(sc), 0);
	ck_assert_ptr_null(stepcache_get(sc, "t2", "[[\"add-triple\""));
	ck_assert_uint_eq(stepcache_rows(sc), 1);
	json_decref(a);
	json_decref(b);
	json_decref(want);
	stepcache_free(sc);
}
END_TEST

/* Full, it keeps what it has and parses the rest each time. */
START_TEST(test_full_keeps_the_first)
{
	struct stepcache *sc = stepcache_create(strlen(S1) + 1);
	json_t *a = stepcache_get(sc, "t1", S1), *b = stepcache_get(sc, "t2",
	    S2), *c;

	c = stepcache_get(sc, "t2", S2);
	ck_assert_ptr_ne(b, c);
	ck_assert(json_equal(b, c));
	json_decref(c);
	c = stepcache_get(sc, "t1", S1);
	ck_assert_ptr_eq(a, c);
	ck_assert_uint_eq(stepcache_rows(sc), 1);
	stepcache_clear(sc);
	ck_assert_uint_eq(stepcache_rows(sc), 0);
	ck_assert_uint_eq(stepcache_bytes(sc), 0);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	stepcache_free(sc);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("stepcache");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_hit_shares_the_parse);
	tcase_add_test(tc, test_text_decides);
	tcase_add_test(tc, test_full_keeps_the_first);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
