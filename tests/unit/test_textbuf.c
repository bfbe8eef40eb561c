/* test_textbuf.c: the growing text buffer. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/textbuf.h"

START_TEST(test_appends_stay_terminated)
{
	struct textbuf b = { NULL, 0, 0, 0 };
	size_t i;

	textbuf_puts(&b, "ab");
	textbuf_putc(&b, 'c');
	textbuf_put(&b, "defXYZ", 3);
	ck_assert_str_eq(b.p, "abcdef");
	ck_assert_uint_eq(b.len, 6);
	/* Far past the first allocation, one byte at a time. */
	for (i = 0; i < 100000; i++)
		textbuf_putc(&b, (char)('a' + i % 26));
	ck_assert_uint_eq(b.len, 100006);
	ck_assert_uint_eq(strlen(b.p), b.len);
	ck_assert_uint_gt(b.cap, b.len);
	ck_assert_int_eq(b.p[100005], (char)('a' + 99999 % 26));
	textbuf_truncate(&b, 2);
	ck_assert_str_eq(b.p, "ab");
	textbuf_truncate(&b, 10); /* not longer */
	ck_assert_str_eq(b.p, "ab");
	ck_assert_int_eq(b.err, 0);
	textbuf_clear(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len + b.cap, 0);
}
END_TEST

START_TEST(test_reserve_and_failure)
{
	struct textbuf b = { NULL, 0, 0, 0 };

	/* Room for n bytes and the NUL, to write without an append. */
	ck_assert_int_eq(textbuf_reserve(&b, 1000), 0);
	ck_assert_uint_ge(b.cap, 1001);
	memset(b.p, 'x', 1001);
	textbuf_puts(&b, "ok");
	ck_assert_str_eq(b.p, "ok");
	/* An impossible size fails, and the failure sticks. */
	ck_assert_int_eq(textbuf_reserve(&b, (size_t)-1 / 2), -1);
	ck_assert_int_eq(b.err, 1);
	textbuf_puts(&b, "more");
	ck_assert_str_eq(b.p, "ok");
	ck_assert_int_eq(textbuf_reserve(&b, 1), -1);
	textbuf_clear(&b);
	ck_assert_int_eq(b.err, 0);
}
END_TEST

/* The textbuf suite. */
static Suite *
textbuf_suite(void)
{
	Suite *s = suite_create("textbuf");
	TCase *tc = tcase_create("textbuf");

	tcase_add_test(tc, test_appends_stay_terminated);
	tcase_add_test(tc, test_reserve_and_failure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(textbuf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
