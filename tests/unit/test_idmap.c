/* test_idmap.c: the evaluator's map of entity ids. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/idmap.h"
#include "engine/tstore.h"
#include "proto/uuid.h"

#define U1 "0b6f1a52-8c1d-4b8e-9a0f-3c2d1e4f5a6b"
#define U1_UPPER "0B6F1A52-8C1D-4B8E-9A0F-3C2D1E4F5A6B"
#define U2 "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"

/* Look id up by its text: the value, or -1 if absent. */
static long
get(const struct idmap *m, const char *id)
{
	size_t v;

	return idmap_get(m, id, strlen(id), &v) ? (long)v : -1;
}

START_TEST(test_uuids_and_other_ids)
{
	struct idmap *m = idmap_create();
	const char *json = "\"" U2 "\"";

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(get(m, U1), -1);
	ck_assert_int_eq(idmap_put(m, U1, strlen(U1), 7), 0);
	ck_assert_int_eq(idmap_put(m, U2, strlen(U2), 8), 0);
	ck_assert_int_eq(idmap_put(m, "e1", 2, 9), 0);
	ck_assert_int_eq(idmap_put(m, "", 0, 10), 0);
	ck_assert_int_eq(get(m, U1), 7);
	ck_assert_int_eq(get(m, U2), 8);
	ck_assert_int_eq(get(m, "e1"), 9);
	ck_assert_int_eq(get(m, ""), 10);
	ck_assert_int_eq(get(m, "e2"), -1);
	/* A key inside other text: the id of a JSON string. */
	ck_assert_int_eq(idmap_get(m, json + 1, strlen(json) - 2, NULL), 1);
	/* Ids are text: the upper-case form is another id. */
	ck_assert_int_eq(get(m, U1_UPPER), -1);
	ck_assert_int_eq(idmap_put(m, U1_UPPER, strlen(U1_UPPER), 11), 0);
	ck_assert_int_eq(get(m, U1_UPPER), 11);
	ck_assert_int_eq(get(m, U1), 7);
	/* Replacing keeps one key. */
	ck_assert_int_eq(idmap_put(m, U1, strlen(U1), 12), 0);
	ck_assert_int_eq(get(m, U1), 12);
	ck_assert_uint_eq(idmap_count(m), 5);
	/* An id that is not a uuid, given inside other text. */
	ck_assert_int_eq(idmap_put(m, "e3 and more", 2, 13), 0);
	ck_assert_int_eq(get(m, "e3"), 13);
	ck_assert_int_eq(get(m, "e3 and more"), -1);
	ck_assert_uint_eq(idmap_count(m), 6);
	idmap_free(m);
	idmap_free(NULL);
}
END_TEST

START_TEST(test_triples_by_bytes_or_text)
{
	struct idmap *m = idmap_create();
	unsigned char b[16];
	struct triple tr = { U1, "a", "1", 0, NULL };
	size_t v = 0;

	ck_assert_int_eq(idmap_put(m, U1, strlen(U1), 3), 0);
	ck_assert_int_eq(idmap_put(m, "e1", 2, 4), 0);
	ck_assert_int_eq(idmap_get_e(m, &tr, &v), 1);
	ck_assert_uint_eq(v, 3);
	ck_assert(uuid_bytes_lower(U1, strlen(U1), b));
	tr.e = NULL; /* the bytes alone decide */
	tr.eb = b;
	ck_assert_int_eq(idmap_get_e(m, &tr, &v), 1);
	ck_assert_uint_eq(v, 3);
	b[15] ^= 1;
	ck_assert_int_eq(idmap_get_e(m, &tr, &v), 0);
	tr.e = "e1";
	tr.eb = NULL;
	ck_assert_int_eq(idmap_get_e(m, &tr, &v), 1);
	ck_assert_uint_eq(v, 4);
	idmap_free(m);
}
END_TEST

START_TEST(test_many_ids_that_are_not_random)
{
	/* Ids a client chose: one counter in the last digits, or in the
	 * first.  All are found, in a table that grew many times. */
	struct idmap *m = idmap_create();
	char id[UUID_STRLEN + 1];
	long i, n = 100000, bad = 0;

	/* (Failures are counted and checked once: an assertion per id
	 * would cost more than the map.) */
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "00000000-0000-4000-8000-%012lx",
		    (unsigned long)i);
		bad += idmap_put(m, id, UUID_STRLEN, (size_t)i) != 0;
		snprintf(id, sizeof id, "%08lx-0000-4000-8000-000000000000",
		    (unsigned long)i);
		bad += idmap_put(m, id, UUID_STRLEN, (size_t)(n + i)) != 0;
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_uint_eq(idmap_count(m), (size_t)(2 * n - 1));
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "00000000-0000-4000-8000-%012lx",
		    (unsigned long)i);
		bad += get(m, id) != (i == 0 ? n : i);
		snprintf(id, sizeof id, "%08lx-0000-4000-8000-000000000000",
		    (unsigned long)i);
		bad += get(m, id) != n + i;
		snprintf(id, sizeof id, "00000000-0000-4000-8001-%012lx",
		    (unsigned long)i);
		bad += get(m, id) != -1;
	}
	ck_assert_int_eq(bad, 0);
	idmap_free(m);
}
END_TEST

/* The idmap suite. */
static Suite *
idmap_suite(void)
{
	Suite *s = suite_create("idmap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_uuids_and_other_ids);
	tcase_add_test(tc, test_triples_by_bytes_or_text);
	tcase_add_test(tc, test_many_ids_that_are_not_random);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite. */
int
main(void)
{
	SRunner *sr = srunner_create(idmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
