/* test_tcache.c: the in-memory entity cache on its own. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tcache.h"
#include "proto/uuid.h"

#define E1 "0b6f1a52-8c1d-4b8e-9a0f-3c2d1e4f5a6b"
#define E2 "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
#define A1 "11111111-1111-4111-8111-111111111111"
#define A2 "22222222-2222-4222-8222-222222222222"
#define A3 "33333333-3333-4333-8333-333333333333"

/* Rows of a scan as "e|a|v|t" lines. */
struct rows {
	char buf[8192];
	int n;
	int stop_after;
	struct tcache *forget; /* forget E1 in the first callback */
};

/* Append one triple. */
static int
collect_cb(void *arg, const struct triple *tr)
{
	struct rows *r = arg;
	size_t len = strlen(r->buf);

	if (r->forget != NULL && r->n == 0)
		tcache_forget(r->forget, E1);
	snprintf(r->buf + len, sizeof r->buf - len, "%s|%s|%s|%lld\n", tr->e,
	    tr->a, tr->v, (long long)tr->t);
	r->n++;
	return r->stop_after && r->n >= r->stop_after ? 9 : 0;
}

/* Append 'B' for a row whose id comes as bytes too (failing the test
 * unless they are the id's), else 'T'. */
static int
kinds_cb(void *arg, const struct triple *tr)
{
	char *out = arg, text[UUID_STRLEN + 1];

	if (tr->eb != NULL) {
		uuid_text(tr->eb, text);
		ck_assert_str_eq(text, tr->e);
	}
	out[strlen(out)] = tr->eb != NULL ? 'B' : 'T';
	return 0;
}

/* A column scan's hints and rows, in the order they came. */
struct ahead_log {
	char hinted[512][UUID_STRLEN + 1];
	int nhinted;
	int rows;
	int urows; /* ... of them with uuid ids */
	int late;  /* a uuid row that came before its hint */
};

/* Hint: note the id. */
static void
ahead_hint_cb(void *arg, const unsigned char eb[16])
{
	struct ahead_log *l = arg;

	ck_assert_int_lt(l->nhinted, 512);
	uuid_text(eb, l->hinted[l->nhinted++]);
}

/* Row: a uuid row must have been hinted, in row order. */
static int
ahead_row_cb(void *arg, const struct triple *tr)
{
	struct ahead_log *l = arg;
	int i, seen = 0;

	l->rows++;
	if (tr->eb == NULL)
		return 0;
	/* The k-th uuid row: its hint is among the first k or more. */
	l->urows++;
	for (i = 0; i < l->nhinted; i++)
		seen += strcmp(l->hinted[i], tr->e) == 0;
	if (seen == 0 || l->nhinted < l->urows)
		l->late++;
	return 0;
}

/* Scan column a with hints into l (cleared first). */
static void
ahead_scan(struct tcache *tc, const char *a, struct ahead_log *l)
{
	int hit = 0;

	memset(l, 0, sizeof *l);
	ck_assert_int_eq(tcache_col_scan_ahead(tc, a, NULL, NULL,
	    ahead_row_cb, ahead_hint_cb, l, &hit), 0);
	ck_assert_int_eq(hit, 1);
	ck_assert_int_eq(l->late, 0);
}

/* Fill entity e with n triples (e, a[i], v[i], t[i]), kept. */
static void
fill(struct tcache *tc, const char *e, size_t n, const char *const *a,
    const char *const *v, const int64_t *t)
{
	struct tcache_fill f;
	struct triple tr;
	size_t i;

	tcache_fill_begin(tc, &f);
	for (i = 0; i < n; i++) {
		tr.e = e;
		tr.a = a[i];
		tr.v = v[i];
		tr.t = t[i];
		tcache_fill_row(tc, &f, &tr);
	}
	tcache_fill_end(tc, &f, e, 1);
}

/* Fill entities (of two triples each) until the entities take the
 * whole budget: from then on columns have only their own half. */
static void
fill_entities_to_budget(struct tcache *tc, size_t budget)
{
	const char *a[] = { A1, A2 };
	const char *v[2] = { NULL, "\"some text value\"" };
	const int64_t t[] = { 1, 1 };
	char id[37], self[40];
	size_t i, n, bytes;

	for (i = 0; i < 100000; i++) {
		snprintf(id, sizeof id, "%08zx-1111-4000-8000-%012zx", i, i);
		snprintf(self, sizeof self, "\"%s\"", id);
		v[0] = self;
		fill(tc, id, 2, a, v, t);
		tcache_stats(tc, &n, &bytes);
		if (bytes + 256 > budget)
			return;
	}
	ck_abort_msg("the entities never filled the budget");
}

/* The rows of e as scanned (with a as a filter): hit or not. */
static int
scan(struct tcache *tc, const char *e, const char *a, struct rows *r)
{
	int hit = -1;

	memset(r->buf, 0, sizeof r->buf);
	r->n = 0;
	ck_assert_int_eq(tcache_scan(tc, e, a, collect_cb, r, &hit),
	    r->stop_after && r->n >= r->stop_after ? 9 : 0);
	return hit;
}

START_TEST(test_rows_come_back_as_read)
{
	struct tcache *tc = tcache_create(1 << 20);
	static char big[300];
	const char *a[] = { A1, A1, A2, A2, A3, A3, A3 };
	const char *v[] = {
		"\"" E1 "\"",                                /* its own id */
		"\"" E2 "\"",                                /* a link */
		"\"0B6F1A52-8C1D-4B8E-9A0F-3C2D1E4F5A6B\"",  /* upper case */
		"\"\"",
		"{\"k\":[1,2]}",
		big,                                         /* > 127 bytes */
		"12",
	};
	const int64_t t[] = { 5, 5, 7, 5, -1, 5, 1234567890123 };
	char want[8192] = "";
	struct rows r = { "", 0, 0, NULL };
	size_t i;

	memset(big, 'x', sizeof big - 1);
	big[0] = big[sizeof big - 2] = '"';
	ck_assert_ptr_nonnull(tc);
	ck_assert_int_eq(scan(tc, E1, NULL, &r), 0);
	ck_assert_int_eq(r.n, 0);
	fill(tc, E1, 7, a, v, t);
	for (i = 0; i < 7; i++)
		snprintf(want + strlen(want), sizeof want - strlen(want),
		    "%s|%s|%s|%lld\n", E1, a[i], v[i], (long long)t[i]);
	ck_assert_int_eq(scan(tc, E1, NULL, &r), 1);
	ck_assert_str_eq(r.buf, want);
	ck_assert_int_eq(r.n, 7);
	/* One attr's rows, and an attr the cache never saw. */
	ck_assert_int_eq(scan(tc, E1, A2, &r), 1);
	ck_assert_int_eq(r.n, 2);
	ck_assert_ptr_nonnull(strstr(r.buf, "|\"\"|5\n"));
	ck_assert_int_eq(scan(tc, E1, "no-such-attr", &r), 1);
	ck_assert_int_eq(r.n, 0);
	/* The callback's stop value. */
	r.stop_after = 3;
	ck_assert_int_eq(scan(tc, E1, NULL, &r), 1);
	ck_assert_int_eq(r.n, 3);
	tcache_free(tc);
}
END_TEST

START_TEST(test_ids_that_are_not_uuids)
{
	struct tcache *tc = tcache_create(1 << 20);
	const char *ids[] = { "e1", "", "0B6F1A52-8C1D-4B8E-9A0F-3C2D1E4F5A6B",
		E1 "x", "0b6f1a52x8c1d-4b8e-9a0f-3c2d1e4f5a6b" };
	const char *a[] = { A1 };
	const char *v[] = { "\"e1\"" };
	const int64_t t[] = { 1 };
	struct rows r = { "", 0, 0, NULL };
	char want[256];
	size_t i;

	for (i = 0; i < sizeof ids / sizeof ids[0]; i++)
		fill(tc, ids[i], 1, a, v, t);
	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		ck_assert_int_eq(scan(tc, ids[i], NULL, &r), 1);
		snprintf(want, sizeof want, "%s|%s|\"e1\"|1\n", ids[i], A1);
		ck_assert_str_eq(r.buf, want);
	}
	/* Upper and lower case are two entities. */
	ck_assert_int_eq(scan(tc, E1, NULL, &r), 0);
	tcache_free(tc);
}
END_TEST

START_TEST(test_empty_entity_is_cached)
{
	struct tcache *tc = tcache_create(1 << 20);
	struct rows r = { "", 0, 0, NULL };
	size_t n, bytes;

	fill(tc, E2, 0, NULL, NULL, NULL);
	ck_assert_int_eq(scan(tc, E2, NULL, &r), 1);
	ck_assert_int_eq(r.n, 0);
	tcache_stats(tc, &n, &bytes);
	ck_assert_uint_eq(n, 1);
	tcache_free(tc);
}
END_TEST

START_TEST(test_forget)
{
	struct tcache *tc = tcache_create(1 << 20);
	const char *a[] = { A1 };
	const char *v[] = { "1" };
	const int64_t t[] = { 1 };
	struct rows r = { "", 0, 0, NULL };
	struct tcache_fill f;
	struct triple tr = { E1, A1, "1", 1, NULL };

	fill(tc, E1, 1, a, v, t);
	fill(tc, E2, 1, a, v, t);
	ck_assert_int_eq(tcache_has(tc, E1), 1);
	tcache_forget(tc, E1);
	ck_assert_int_eq(tcache_has(tc, E1), 0);
	ck_assert_int_eq(tcache_has(tc, E2), 1);
	ck_assert_int_eq(scan(tc, E1, NULL, &r), 0);
	ck_assert_int_eq(scan(tc, E2, NULL, &r), 1);
	tcache_forget_all(tc);
	ck_assert_int_eq(scan(tc, E2, NULL, &r), 0);
	/* A fill that a forget overtook may hold old rows: not kept. */
	tcache_fill_begin(tc, &f);
	tcache_fill_row(tc, &f, &tr);
	tcache_forget(tc, E2);
	tcache_fill_end(tc, &f, E1, 1);
	ck_assert_int_eq(scan(tc, E1, NULL, &r), 0);
	/* Nor one the scan did not finish. */
	tcache_fill_begin(tc, &f);
	tcache_fill_row(tc, &f, &tr);
	tcache_fill_end(tc, &f, E1, 0);
	ck_assert_int_eq(scan(tc, E1, NULL, &r), 0);
	tcache_free(tc);
}
END_TEST

START_TEST(test_forget_during_a_scan)
{
	struct tcache *tc = tcache_create(1 << 20);
	const char *a[] = { A1, A2, A3 };
	const char *v[] = { "1", "\"two\"", "3" };
	const int64_t t[] = { 1, 2, 3 };
	struct rows r = { "", 0, 0, NULL };
	size_t n, bytes;

	fill(tc, E1, 3, a, v, t);
	/* The callback forgets the entity it is reading: the scan goes on
	 * over rows that stay valid to its end (the memory checkers see any
	 * read of freed memory), and the entity is gone after. */
	r.forget = tc;
	ck_assert_int_eq(scan(tc, E1, NULL, &r), 1);
	ck_assert_int_eq(r.n, 3);
	ck_assert_ptr_nonnull(strstr(r.buf, "|\"two\"|2\n"));
	r.forget = NULL;
	ck_assert_int_eq(scan(tc, E1, NULL, &r), 0);
	tcache_stats(tc, &n, &bytes);
	ck_assert_uint_eq(n, 0);
	tcache_free(tc);
}
END_TEST

START_TEST(test_budget)
{
	size_t budget = 256 * 1024, n, bytes, i, hits = 0;
	struct tcache *tc = tcache_create(budget);
	const char *a[] = { A1, A2 };
	const char *v[2];
	const int64_t t[] = { 1, 1 };
	struct rows r = { "", 0, 0, NULL };
	char ids[20000][37], self[40];

	for (i = 0; i < 20000; i++) {
		snprintf(ids[i], sizeof ids[i], "%08zx-0000-4000-8000-%012zx",
		    i, i);
		snprintf(self, sizeof self, "\"%s\"", ids[i]);
		v[0] = self;
		v[1] = "\"some text value\"";
		fill(tc, ids[i], 2, a, v, t);
		tcache_stats(tc, &n, &bytes);
		ck_assert_uint_le(bytes, budget);
	}
	ck_assert_uint_gt(n, 1000);
	ck_assert_uint_lt(n, 20000);
	for (i = 0; i < 20000; i++)
		hits += (size_t)scan(tc, ids[i], NULL, &r);
	ck_assert_uint_eq(hits, n);
	/* What was dropped is spread over the whole run, not only its
	 * start. */
	for (i = hits = 0; i < 2000; i++)
		hits += (size_t)scan(tc, ids[i], NULL, &r);
	ck_assert_uint_gt(hits, 0);
	tcache_free(tc);
}
END_TEST

START_TEST(test_an_entity_is_small)
{
	/* A typical entity: its id triple, a link, three short fields, made
	 * in one transaction. */
	struct tcache *tc = tcache_create(1 << 20);
	const char *a[] = { A1, A2, A3, "a4", "a5" };
	const char *v[] = { "\"" E1 "\"", "\"" E2 "\"", "\"post number 17\"",
		"17", "\"draft\"" };
	const int64_t t[] = { 1700000000000, 1700000000000, 1700000000000,
		1700000000000, 1700000000000 };
	size_t n0, b0, n, b;

	tcache_stats(tc, &n0, &b0);
	fill(tc, E2, 0, NULL, NULL, NULL); /* the attr table's first growth */
	fill(tc, E1, 5, a, v, t);
	tcache_stats(tc, &n, &b);
	fill(tc, E2, 5, a, v, t);
	tcache_stats(tc, &n0, &b0);
	ck_assert_uint_le(b0 - b, 112);
	tcache_free(tc);
}
END_TEST

START_TEST(test_oversized_entity_is_not_kept)
{
	struct tcache *tc = tcache_create(64 * 1024);
	static char big[20000];
	const char *a[] = { A1 };
	const char *v[] = { big };
	const int64_t t[] = { 1 };
	struct rows r = { "", 0, 0, NULL };

	memset(big, '7', sizeof big - 1);
	fill(tc, E1, 1, a, v, t);
	ck_assert_int_eq(scan(tc, E1, NULL, &r), 0);
	tcache_free(tc);
}
END_TEST

/* Fill the column of attr a with n rows (e_i, a, v_i, 1), kept. */
static void
fill_col(struct tcache *tc, const char *a, size_t n, const char *const *e,
    const char *const *v)
{
	struct tcache_colfill f;
	struct triple tr;
	size_t i;

	tcache_col_begin(tc, &f);
	for (i = 0; i < n; i++) {
		tr.e = e[i];
		tr.a = a;
		tr.v = v[i];
		tr.t = (int64_t)i;
		tcache_col_row(tc, &f, &tr);
	}
	tcache_col_end(tc, &f, a, 1);
}

START_TEST(test_columns)
{
	struct tcache *tc = tcache_create(1 << 20);
	const char *e[] = { E1, E2, "e3", E1, "e4" };
	const char *v[] = { "\"" E1 "\"", "\"" E1 "\"", "\"" E1 "\"", "\"b\"",
		"\"b\"" };
	struct rows r = { "", 0, 0, NULL };
	char want[1024];
	int hit = -1;
	int64_t n;

	fill_col(tc, A1, 5, e, v);
	/* All rows, as read. */
	ck_assert_int_eq(tcache_col_scan(tc, A1, NULL, NULL, collect_cb, &r,
	    &hit), 0);
	ck_assert_int_eq(hit, 1);
	snprintf(want, sizeof want, "%s|%s|\"%s\"|0\n%s|%s|\"%s\"|1\n"
	    "e3|%s|\"%s\"|2\n%s|%s|\"b\"|3\ne4|%s|\"b\"|4\n", E1, A1, E1, E2,
	    A1, E1, A1, E1, E1, A1, A1);
	ck_assert_str_eq(r.buf, want);
	/* One value's rows; values that are not there, below and above. */
	memset(&r, 0, sizeof r);
	tcache_col_scan(tc, A1, "\"b\"", NULL, collect_cb, &r, &hit);
	ck_assert_int_eq(r.n, 2);
	memset(&r, 0, sizeof r);
	tcache_col_scan(tc, A1, "\"" E1 "\"", NULL, collect_cb, &r, &hit);
	ck_assert_int_eq(r.n, 3);
	memset(&r, 0, sizeof r);
	tcache_col_scan(tc, A1, "\"a\"", NULL, collect_cb, &r, &hit);
	ck_assert_int_eq(r.n, 0);
	tcache_col_scan(tc, A1, "\"c\"", NULL, collect_cb, &r, &hit);
	tcache_col_scan(tc, A1, "", NULL, collect_cb, &r, &hit);
	ck_assert_int_eq(r.n, 0);
	/* Containment. */
	tcache_col_scan(tc, A1, NULL, "6b", collect_cb, &r, &hit);
	ck_assert_int_eq(r.n, 3);
	/* Uuid ids come as their bytes too, for maps keyed by them. */
	{
		char kinds[8] = "";

		tcache_col_scan(tc, A1, NULL, NULL, kinds_cb, kinds, &hit);
		ck_assert_str_eq(kinds, "BBTBT");
	}
	/* ... and are told ahead of their rows, in row order. */
	{
		static struct ahead_log l;

		ahead_scan(tc, A1, &l);
		ck_assert_int_eq(l.rows, 5);
		ck_assert_int_eq(l.nhinted, 3);
		ck_assert_str_eq(l.hinted[0], E1);
		ck_assert_str_eq(l.hinted[1], E2);
		ck_assert_str_eq(l.hinted[2], E1);
	}
	ck_assert_int_eq(tcache_col_count(tc, A1, &n), 1);
	ck_assert_int_eq(n, 5);
	/* No column. */
	ck_assert_int_eq(tcache_col_scan(tc, A2, NULL, NULL, collect_cb, &r,
	    &hit), 0);
	ck_assert_int_eq(hit, 0);
	ck_assert_int_eq(tcache_col_count(tc, A2, &n), 0);
	tcache_forget_attr(tc, A1);
	ck_assert_int_eq(tcache_col_count(tc, A1, &n), 0);
	tcache_free(tc);
}
END_TEST

START_TEST(test_columns_use_what_entities_leave)
{
	/* Three columns of 35 KiB are more than half of 192 KiB, but the
	 * entities use none of theirs: all three are kept.  As entities
	 * fill, columns give the room back, oldest first. */
	struct tcache *tc = tcache_create(192 * 1024);
	static char ids[500][37];
	const char *e[500], *v[500];
	size_t i, ncols, bytes, ebytes;
	int64_t n;

	for (i = 0; i < 500; i++) {
		snprintf(ids[i], sizeof ids[i], "%08zx-0000-4000-8000-%012zx",
		    i, i);
		e[i] = ids[i];
		v[i] = "\"a value of some length\"";
	}
	tcache_read_begin(tc);
	fill_col(tc, A1, 500, e, v);
	fill_col(tc, A2, 500, e, v);
	fill_col(tc, A3, 500, e, v);
	tcache_col_stats(tc, &ncols, &bytes);
	ck_assert_uint_eq(ncols, 3);
	ck_assert_uint_gt(bytes, 96 * 1024);
	/* A long column: every row is told ahead, and none too late. */
	{
		static struct ahead_log l;

		ahead_scan(tc, A3, &l);
		ck_assert_int_eq(l.rows, 500);
		ck_assert_int_eq(l.nhinted, 500);
	}
	tcache_read_begin(tc);
	fill_entities_to_budget(tc, 192 * 1024);
	tcache_col_stats(tc, &ncols, &bytes);
	tcache_stats(tc, &i, &ebytes);
	ck_assert_uint_le(bytes, 96 * 1024);
	ck_assert_uint_le(bytes + ebytes, 192 * 1024 + 96 * 1024);
	ck_assert_uint_eq(ncols, 2);
	ck_assert_int_eq(tcache_col_count(tc, A1, &n), 0);
	ck_assert_int_eq(tcache_col_count(tc, A3, &n), 1);
	tcache_free(tc);
}
END_TEST

START_TEST(test_column_budget)
{
	/* Room for two columns of 500 rows (35 KiB each) in half of 192 KiB,
	 * not three: the least recently scanned goes. */
	struct tcache *tc = tcache_create(192 * 1024);
	static char ids[500][37];
	const char *e[500], *v[500];
	struct rows r = { "", 0, 0, NULL };
	size_t i, ncols, bytes;
	int hit;
	int64_t n;

	fill_entities_to_budget(tc, 192 * 1024);
	for (i = 0; i < 500; i++) {
		snprintf(ids[i], sizeof ids[i], "%08zx-0000-4000-8000-%012zx",
		    i, i);
		e[i] = ids[i];
		v[i] = "\"a value of some length\"";
	}
	fill_col(tc, A1, 500, e, v);
	fill_col(tc, A2, 500, e, v);
	tcache_read_begin(tc);
	tcache_col_scan(tc, A1, "x", NULL, collect_cb, &r, &hit);
	fill_col(tc, A3, 500, e, v);
	tcache_col_stats(tc, &ncols, &bytes);
	ck_assert_uint_eq(ncols, 2);
	ck_assert_uint_le(bytes, 96 * 1024);
	ck_assert_int_eq(tcache_col_count(tc, A1, &n), 1);
	ck_assert_int_eq(tcache_col_count(tc, A2, &n), 0);
	ck_assert_int_eq(tcache_col_count(tc, A3, &n), 1);
	/* Within one read snapshot, none it scanned is dropped for another:
	 * A2 is not kept, and is not worth filling again for a while. */
	ck_assert_int_eq(tcache_col_wanted(tc, A2), 0);
	fill_col(tc, A2, 500, e, v);
	ck_assert_int_eq(tcache_col_count(tc, A2, &n), 0);
	ck_assert_int_eq(tcache_col_count(tc, A1, &n), 1);
	ck_assert_int_eq(tcache_col_count(tc, A3, &n), 1);
	for (i = 1; i < 64; i++)
		ck_assert_int_eq(tcache_col_wanted(tc, A2), 0);
	ck_assert_int_eq(tcache_col_wanted(tc, A2), 1); /* the retry */
	/* In the next, the least recently scanned goes. */
	tcache_read_begin(tc);
	ck_assert_int_eq(tcache_col_wanted(tc, A2), 1);
	fill_col(tc, A2, 500, e, v);
	ck_assert_int_eq(tcache_col_count(tc, A2, &n), 1);
	ck_assert_int_eq(tcache_col_count(tc, A1, &n), 0);
	ck_assert_int_eq(tcache_col_count(tc, A3, &n), 1);
	/* One larger than the whole budget is not kept. */
	{
		static char big[2000][37];
		const char *be[2000], *bv[2000];
		for (i = 0; i < 2000; i++) {
			snprintf(big[i], sizeof big[i],
			    "%08zx-0000-4000-8000-%012zx", i, i);
			be[i] = big[i];
			bv[i] = "\"a value of some length, and more\"";
		}
		fill_col(tc, "a4", 2000, be, bv);
		ck_assert_int_eq(tcache_col_count(tc, "a4", &n), 0);
	}
	tcache_free(tc);
}
END_TEST

/* The suite. */
static Suite *
tcache_suite(void)
{
	Suite *s = suite_create("tcache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rows_come_back_as_read);
	tcase_add_test(tc, test_ids_that_are_not_uuids);
	tcase_add_test(tc, test_empty_entity_is_cached);
	tcase_add_test(tc, test_forget);
	tcase_add_test(tc, test_forget_during_a_scan);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_an_entity_is_small);
	tcase_add_test(tc, test_oversized_entity_is_not_kept);
	tcase_add_test(tc, test_columns);
	tcase_add_test(tc, test_column_budget);
	tcase_add_test(tc, test_columns_use_what_entities_leave);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite. */
int
main(void)
{
	SRunner *sr = srunner_create(tcache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
