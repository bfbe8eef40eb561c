/* test_heap.c: when the daemon gives its free heap back. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/heap.h"

START_TEST(test_trim_after_a_quiet_tick)
{
	/* requests read by each tick, and whether that tick trims */
	static const struct { uint64_t requests; int trim; } ticks[] = {
		{ 0, 1 },  /* quiet from the start: once */
		{ 0, 0 },
		{ 5, 0 },  /* requests came: wait for a quiet tick */
		{ 5, 1 },
		{ 5, 0 },  /* once per quiet period */
		{ 6, 0 },
		{ 9, 0 },  /* busy ticks never trim */
		{ 12, 0 },
		{ 12, 1 },
	};
	struct heap_idle h = { 0, 0 };
	size_t i;

	for (i = 0; i < sizeof ticks / sizeof ticks[0]; i++)
		ck_assert_msg(heap_idle_tick(&h, ticks[i].requests) ==
		    ticks[i].trim, "tick %zu", i);
}
END_TEST

START_TEST(test_setup_and_trim)
{
	/* The levels take, and a block of a few MiB, freed, is given back
	 * by a trim without harm to what is still in use. */
	char *keep, *big;

	heap_setup();
	keep = malloc(100);
	ck_assert_ptr_nonnull(keep);
	memset(keep, 'k', 100);
	big = malloc(8 * 1024 * 1024);
	ck_assert_ptr_nonnull(big);
	memset(big, 'b', 8 * 1024 * 1024);
	free(big);
	heap_trim();
	ck_assert_int_eq(keep[0], 'k');
	ck_assert_int_eq(keep[99], 'k');
	free(keep);
}
END_TEST

/* The heap suite. */
static Suite *
heap_suite(void)
{
	Suite *s = suite_create("heap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_trim_after_a_quiet_tick);
	tcase_add_test(tc, test_setup_and_trim);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite. */
int
main(void)
{
	SRunner *sr = srunner_create(heap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
