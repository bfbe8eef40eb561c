/* test_tstore.c: the triple table over an in-memory database. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/tstore.h"

static sqlite3 *db;
static struct tstore *ts;

/* Open a fresh :memory: database with one tstore. */
static void
setup(void)
{
	char *err = NULL;

	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ts = tstore_create(db, "triples", &err);
	ck_assert_ptr_nonnull(ts);
	ck_assert_ptr_null(err);
}

/* The same, with an entity cache. */
static void
setup_cached(void)
{
	setup();
	ck_assert_int_eq(tstore_cache(ts, 1 << 20), 0);
}

/* Free the tstore, then the database. */
static void
teardown(void)
{
	tstore_free(ts);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}

/* Collected rows of a scan, as "e|a|v|t" lines. */
struct rows {
	char buf[4096];
	int n;
	int stop_after;
};

/* Append one triple to a rows buffer. */
static int
collect_cb(void *arg, const struct triple *tr)
{
	struct rows *r = arg;
	size_t len = strlen(r->buf);

	snprintf(r->buf + len, sizeof r->buf - len, "%s|%s|%s|%lld\n", tr->e,
	    tr->a, tr->v, (long long)tr->t);
	r->n++;
	return r->stop_after && r->n >= r->stop_after ? 7 : 0;
}

START_TEST(test_add_keeps_first_t)
{
	struct rows r = { "", 0, 0 };
	int64_t n;

	ck_assert_int_eq(tstore_add(ts, "e1", "a1", "\"x\"", 10), 0);
	ck_assert_int_eq(tstore_add(ts, "e1", "a1", "\"x\"", 20), 0);
	ck_assert_int_eq(tstore_count(ts, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(tstore_scan_e(ts, "e1", collect_cb, &r), 0);
	ck_assert_str_eq(r.buf, "e1|a1|\"x\"|10\n");
}
END_TEST

START_TEST(test_scans)
{
	struct rows r = { "", 0, 0 };

	tstore_add(ts, "e1", "a", "1", 1);
	tstore_add(ts, "e2", "a", "1", 2);
	tstore_add(ts, "e2", "a", "2", 3);
	tstore_add(ts, "e2", "b", "\"s\"", 4);
	ck_assert_int_eq(tstore_scan_av(ts, "a", "1", collect_cb, &r), 0);
	ck_assert_str_eq(r.buf, "e1|a|1|1\ne2|a|1|2\n");
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_a(ts, "a", collect_cb, &r), 0);
	ck_assert_int_eq(r.n, 3);
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_ea(ts, "e2", "a", collect_cb, &r), 0);
	ck_assert_str_eq(r.buf, "e2|a|1|2\ne2|a|2|3\n");
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_all(ts, collect_cb, &r), 0);
	ck_assert_int_eq(r.n, 4);
	/* Containment in the value text, within attr a only. */
	tstore_add(ts, "e3", "a", "\"x12y\"", 5);
	tstore_add(ts, "e3", "b", "\"12\"", 6);
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_a_has(ts, "a", "12", collect_cb, &r), 0);
	ck_assert_str_eq(r.buf, "e3|a|\"x12y\"|5\n");
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_a_has(ts, "a", "1", collect_cb, &r), 0);
	/* (v, e) order: '"' sorts before '1'. */
	ck_assert_str_eq(r.buf, "e3|a|\"x12y\"|5\ne1|a|1|1\ne2|a|1|2\n");
}
END_TEST

START_TEST(test_scan_stop_value)
{
	struct rows r = { "", 0, 2 };

	tstore_add(ts, "e1", "a", "1", 1);
	tstore_add(ts, "e2", "a", "1", 1);
	tstore_add(ts, "e3", "a", "1", 1);
	ck_assert_int_eq(tstore_scan_a(ts, "a", collect_cb, &r), 7);
	ck_assert_int_eq(r.n, 2);
	/* The statement was reset: the next scan starts over. */
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_a(ts, "a", collect_cb, &r), 0);
	ck_assert_int_eq(r.n, 3);
}
END_TEST

/* Nested scan state: counts inner rows for every outer row. */
struct nest {
	int outer, inner;
};

/* Inner callback: count. */
static int
inner_cb(void *arg, const struct triple *tr)
{
	struct nest *n = arg;

	(void)tr;
	n->inner++;
	return 0;
}

/* Outer callback: run the same kind of scan again. */
static int
outer_cb(void *arg, const struct triple *tr)
{
	struct nest *n = arg;
	char e[64];

	snprintf(e, sizeof e, "%s", tr->e);
	n->outer++;
	if (tstore_scan_a(ts, "a", inner_cb, n) != 0)
		return -1;
	/* The outer row's text must survive the nested scan. */
	ck_assert_str_eq(tr->e, e);
	return 0;
}

START_TEST(test_nested_scan)
{
	struct nest n = { 0, 0 };

	tstore_add(ts, "e1", "a", "1", 1);
	tstore_add(ts, "e2", "a", "2", 1);
	ck_assert_int_eq(tstore_scan_a(ts, "a", outer_cb, &n), 0);
	ck_assert_int_eq(n.outer, 2);
	ck_assert_int_eq(n.inner, 4);
}
END_TEST

START_TEST(test_retracts)
{
	int64_t n;
	int found;

	tstore_add(ts, "e1", "a", "1", 1);
	tstore_add(ts, "e1", "a", "2", 1);
	tstore_add(ts, "e1", "b", "3", 1);
	tstore_add(ts, "e2", "a", "1", 1);
	ck_assert_int_eq(tstore_retract(ts, "e1", "a", "1"), 0);
	tstore_count(ts, &n);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(tstore_retract_ea(ts, "e1", "a"), 0);
	ck_assert_int_eq(tstore_has_ea(ts, "e1", "a", &found), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(tstore_has_ea(ts, "e1", "b", &found), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(tstore_retract_e(ts, "e1"), 0);
	tstore_count(ts, &n);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(tstore_clear(ts), 0);
	tstore_count(ts, &n);
	ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(test_text_values_stay_text)
{
	struct rows r = { "", 0, 0 };

	/* TEXT affinity: '0123' and '1.0' must not become numbers. */
	tstore_add(ts, "e", "a", "0123", 1);
	tstore_add(ts, "e", "a", "1.0", 1);
	ck_assert_int_eq(tstore_scan_ea(ts, "e", "a", collect_cb, &r), 0);
	ck_assert_str_eq(r.buf, "e|a|0123|1\ne|a|1.0|1\n");
}
END_TEST

START_TEST(test_bad_table_name)
{
	char *err = NULL;

	ck_assert_ptr_null(tstore_create(db, "x; DROP", &err));
	ck_assert_ptr_nonnull(err);
	free(err);
	ck_assert_ptr_null(tstore_create(db, "1abc", NULL));
	tstore_free(NULL);
}
END_TEST

START_TEST(test_second_table_and_reopen)
{
	struct tstore *t2;
	int64_t n;

	tstore_add(ts, "e", "a", "1", 1);
	t2 = tstore_create(db, "other", NULL);
	ck_assert_ptr_nonnull(t2);
	tstore_count(t2, &n);
	ck_assert_int_eq(n, 0);
	tstore_free(t2);
	/* Opening an existing table keeps its rows. */
	t2 = tstore_create(db, "triples", NULL);
	ck_assert_ptr_nonnull(t2);
	tstore_count(t2, &n);
	ck_assert_int_eq(n, 1);
	tstore_free(t2);
}
END_TEST

START_TEST(test_read_snapshot)
{
	struct rows r = { "", 0, 0 };

	tstore_add(ts, "e", "a", "1", 1);
	/* Alone, and nested in the caller's transaction. */
	ck_assert_int_eq(tstore_read_begin(ts), 0);
	ck_assert_int_eq(tstore_scan_e(ts, "e", collect_cb, &r), 0);
	ck_assert_int_eq(tstore_read_end(ts), 0);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	tstore_add(ts, "e", "a", "2", 1);
	ck_assert_int_eq(tstore_read_begin(ts), 0);
	ck_assert_int_eq(tstore_scan_e(ts, "e", collect_cb, &r), 0);
	ck_assert_int_eq(tstore_read_end(ts), 0);
	ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(r.n, 3);
	ck_assert_int_eq(sqlite3_get_autocommit(db), 1);
}
END_TEST

/*
 * The entity cache: it must never answer other than SQLite would.
 */

/* The number of entities the cache holds. */
static size_t
cached(struct tstore *t)
{
	size_t n, cols, bytes;

	tstore_cache_stats(t, &n, &cols, &bytes);
	return n;
}

/* The number of attr columns the cache holds. */
static size_t
columns(struct tstore *t)
{
	size_t n, cols, bytes;

	tstore_cache_stats(t, &n, &cols, &bytes);
	return cols;
}

/* The rows of entity e, as scan_e gives them. */
static const char *
rows_of(struct tstore *t, const char *e, struct rows *r)
{
	memset(r, 0, sizeof *r);
	ck_assert_int_eq(tstore_scan_e(t, e, collect_cb, r), 0);
	return r->buf;
}

START_TEST(test_cache_follows_writes)
{
	struct rows r;
	int found = 0;

	tstore_add(ts, "e1", "a", "1", 1);
	tstore_add(ts, "e1", "b", "\"x\"", 2);
	ck_assert_str_eq(rows_of(ts, "e1", &r), "e1|a|1|1\ne1|b|\"x\"|2\n");
	ck_assert_uint_eq(cached(ts), 1);
	ck_assert_str_eq(rows_of(ts, "e1", &r), "e1|a|1|1\ne1|b|\"x\"|2\n");
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_ea(ts, "e1", "b", collect_cb, &r), 0);
	ck_assert_str_eq(r.buf, "e1|b|\"x\"|2\n");
	ck_assert_int_eq(tstore_has_ea(ts, "e1", "c", &found), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(tstore_has_ea(ts, "e1", "a", &found), 0);
	ck_assert_int_eq(found, 1);
	/* Each kind of write. */
	tstore_add(ts, "e1", "a", "2", 3);
	ck_assert_uint_eq(cached(ts), 0);
	ck_assert_str_eq(rows_of(ts, "e1", &r),
	    "e1|a|1|1\ne1|a|2|3\ne1|b|\"x\"|2\n");
	tstore_retract(ts, "e1", "a", "1");
	ck_assert_str_eq(rows_of(ts, "e1", &r),
	    "e1|a|2|3\ne1|b|\"x\"|2\n");
	tstore_retract_ea(ts, "e1", "b");
	ck_assert_str_eq(rows_of(ts, "e1", &r), "e1|a|2|3\n");
	tstore_retract_e(ts, "e1");
	ck_assert_str_eq(rows_of(ts, "e1", &r), "");
	tstore_add(ts, "e1", "a", "5", 5);
	ck_assert_str_eq(rows_of(ts, "e1", &r), "e1|a|5|5\n");
	tstore_clear(ts);
	ck_assert_str_eq(rows_of(ts, "e1", &r), "");
	/* Writes by other SQL, announced. */
	ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO triples VALUES "
	    "('e1', 'a', '6', 6)", NULL, NULL, NULL), SQLITE_OK);
	tstore_forget(ts, "e1");
	ck_assert_str_eq(rows_of(ts, "e1", &r), "e1|a|6|6\n");
	ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM triples", NULL, NULL,
	    NULL), SQLITE_OK);
	tstore_forget_all(ts);
	ck_assert_str_eq(rows_of(ts, "e1", &r), "");
}
END_TEST

START_TEST(test_cache_columns_follow_writes)
{
	struct rows r;
	int64_t n;

	tstore_add(ts, "e1", "a", "1", 1);
	tstore_add(ts, "e2", "a", "2", 1);
	tstore_add(ts, "e1", "b", "3", 1);
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_a(ts, "a", collect_cb, &r), 0);
	ck_assert_uint_eq(columns(ts), 1);
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_av(ts, "a", "2", collect_cb, &r), 0);
	ck_assert_str_eq(r.buf, "e2|a|2|1\n");
	/* Writes to another attr keep the column; to its attr drop it. */
	tstore_add(ts, "e1", "b", "4", 1);
	ck_assert_uint_eq(columns(ts), 1);
	tstore_retract(ts, "e2", "a", "2");
	ck_assert_uint_eq(columns(ts), 0);
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_a_has(ts, "a", "1", collect_cb, &r), 0);
	ck_assert_str_eq(r.buf, "e1|a|1|1\n");
	ck_assert_uint_eq(columns(ts), 1);
	ck_assert_int_eq(tstore_count_a(ts, "a", &n), 0);
	ck_assert_int_eq(n, 1);
	tstore_retract_ea(ts, "e1", "a");
	ck_assert_uint_eq(columns(ts), 0);
	/* Deleting an entity, or another writer's rows, drop them all. */
	tstore_scan_a(ts, "a", collect_cb, &r);
	tstore_scan_a(ts, "b", collect_cb, &r);
	ck_assert_uint_eq(columns(ts), 2);
	tstore_retract_e(ts, "e9");
	ck_assert_uint_eq(columns(ts), 0);
	tstore_scan_a(ts, "b", collect_cb, &r);
	tstore_forget(ts, "e9");
	ck_assert_uint_eq(columns(ts), 0);
	/* None is kept from a write transaction. */
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	tstore_add(ts, "e3", "c", "5", 1);
	tstore_scan_a(ts, "b", collect_cb, &r);
	ck_assert_uint_eq(columns(ts), 0);
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
}
END_TEST

/* Scan attr "a" for value v in both stores, which must give the same rows
 * in the same order: how many. */
static int
same_av(struct tstore *plain, const char *v)
{
	struct rows r1, r2;

	memset(&r1, 0, sizeof r1);
	memset(&r2, 0, sizeof r2);
	ck_assert_int_eq(tstore_scan_av(ts, "a", v, collect_cb, &r1), 0);
	ck_assert_int_eq(tstore_scan_av(plain, "a", v, collect_cb, &r2), 0);
	ck_assert_str_eq(r1.buf, r2.buf);
	return r1.n;
}

START_TEST(test_cache_value_scans_earn_a_column)
{
	struct tstore *plain = tstore_create(db, "triples", NULL);
	char e[16];
	int i, scans;

	ck_assert_ptr_nonnull(plain);
	for (i = 0; i < 100; i++) {
		snprintf(e, sizeof e, "e%03d", i);
		tstore_add(ts, e, "a", i % 2 ? "\"odd\"" : "\"even\"", i);
		tstore_add(ts, e, "b", "1", i);
	}
	/* Value scans read from SQLite until they have read 4096 rows;
	 * the next one reads the attr whole and keeps it. */
	for (scans = 0; columns(ts) == 0 && scans < 200; scans++)
		ck_assert_int_eq(same_av(plain, "\"odd\""), 50);
	ck_assert_int_eq(scans, 4096 / 50 + 2);
	ck_assert_int_eq(same_av(plain, "\"even\""), 50);
	ck_assert_int_eq(same_av(plain, "\"none\""), 0);
	ck_assert_uint_eq(columns(ts), 1);
	/* A write drops it, and the rows read since count afresh. */
	tstore_add(ts, "e000", "a", "\"odd\"", 7);
	ck_assert_uint_eq(columns(ts), 0);
	for (scans = 0; columns(ts) == 0 && scans < 200; scans++)
		ck_assert_int_eq(same_av(plain, "\"odd\""), 51);
	ck_assert_int_eq(scans, 4096 / 51 + 2);
	/* None is kept from a write transaction. */
	tstore_retract(ts, "e000", "a", "\"odd\"");
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	tstore_add(ts, "e999", "b", "2", 1);
	for (scans = 0; scans < 100; scans++)
		ck_assert_int_eq(same_av(plain, "\"odd\""), 50);
	ck_assert_uint_eq(columns(ts), 0);
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(same_av(plain, "\"odd\""), 50);
	ck_assert_uint_eq(columns(ts), 1);
	tstore_free(plain);
}
END_TEST

START_TEST(test_cache_skips_write_transactions)
{
	struct rows r;

	tstore_add(ts, "e1", "a", "1", 1);
	/* Rows read after a write of the transaction are not kept: the
	 * rollback would leave them behind. */
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	tstore_add(ts, "e1", "a", "2", 2);
	ck_assert_str_eq(rows_of(ts, "e1", &r), "e1|a|1|1\ne1|a|2|2\n");
	ck_assert_uint_eq(cached(ts), 0);
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_str_eq(rows_of(ts, "e1", &r), "e1|a|1|1\n");
	ck_assert_uint_eq(cached(ts), 1);
	/* The same with a savepoint rolled back inside a transaction that
	 * commits (no rollback hook fires for it). */
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN; SAVEPOINT s", NULL, NULL,
	    NULL), SQLITE_OK);
	tstore_retract_e(ts, "e1");
	ck_assert_str_eq(rows_of(ts, "e1", &r), "");
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK TO s; RELEASE s; COMMIT",
	    NULL, NULL, NULL), SQLITE_OK);
	ck_assert_str_eq(rows_of(ts, "e1", &r), "e1|a|1|1\n");
}
END_TEST

START_TEST(test_cache_sees_other_connections)
{
	char path[] = "/tmp/test_tstore.XXXXXX", file[64];
	sqlite3 *d1, *d2;
	struct tstore *t1;
	struct rows r;

	ck_assert_ptr_nonnull(mkdtemp(path));
	snprintf(file, sizeof file, "%s/db", path);
	ck_assert_int_eq(sqlite3_open(file, &d1), SQLITE_OK);
	ck_assert_int_eq(sqlite3_open(file, &d2), SQLITE_OK);
	t1 = tstore_create(d1, "triples", NULL);
	ck_assert_ptr_nonnull(t1);
	ck_assert_int_eq(tstore_cache(t1, 1 << 20), 0);
	tstore_add(t1, "e1", "a", "1", 1);
	ck_assert_str_eq(rows_of(t1, "e1", &r), "e1|a|1|1\n");
	ck_assert_uint_eq(cached(t1), 1);
	ck_assert_int_eq(sqlite3_exec(d2, "INSERT INTO triples VALUES "
	    "('e1', 'a', '2', 2)", NULL, NULL, NULL), SQLITE_OK);
	/* A read snapshot notices the other connection's commit. */
	ck_assert_int_eq(tstore_read_begin(t1), 0);
	ck_assert_str_eq(rows_of(t1, "e1", &r), "e1|a|1|1\ne1|a|2|2\n");
	ck_assert_int_eq(tstore_read_end(t1), 0);
	/* Its own commits keep the cache. */
	tstore_add(t1, "e2", "a", "1", 1);
	ck_assert_int_eq(tstore_read_begin(t1), 0);
	ck_assert_int_eq(tstore_read_end(t1), 0);
	ck_assert_uint_eq(cached(t1), 1);
	tstore_free(t1);
	ck_assert_int_eq(sqlite3_close(d1), SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(d2), SQLITE_OK);
	unlink(file);
	ck_assert_int_eq(rmdir(path), 0);
}
END_TEST

/* Callback: scan another entity, then write to a third, from inside a
 * scan the cache serves. */
static int
meddle_cb(void *arg, const struct triple *tr)
{
	struct rows *r = arg;

	collect_cb(r, tr);
	if (r->n == 1) {
		struct rows inner;
		rows_of(ts, "e2", &inner);
		tstore_forget(ts, "e1");
	}
	return 0;
}

START_TEST(test_cache_nested_scans)
{
	struct rows r;

	tstore_add(ts, "e1", "a", "1", 1);
	tstore_add(ts, "e1", "b", "2", 1);
	tstore_add(ts, "e2", "a", "3", 1);
	rows_of(ts, "e1", &r);
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(tstore_scan_e(ts, "e1", meddle_cb, &r), 0);
	ck_assert_str_eq(r.buf, "e1|a|1|1\ne1|b|2|1\n");
	ck_assert_uint_eq(cached(ts), 1); /* e2 only */
}
END_TEST

/* A pseudo-random number (xorshift). */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

START_TEST(test_cache_agrees_with_sqlite)
{
	static const char *const ids[] = {
		"0b6f1a52-8c1d-4b8e-9a0f-3c2d1e4f5a6b",
		"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
		"00000000-0000-4000-8000-000000000000",
		"ffffffff-ffff-4fff-bfff-ffffffffffff", "e-5", "",
	};
	static const char *const attrs[] = { "a1", "a2", "a3" };
	static const char *const vals[] = {
		"\"0b6f1a52-8c1d-4b8e-9a0f-3c2d1e4f5a6b\"",
		"\"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a\"",
		"\"9F8E7D6C-5B4A-4392-8170-6F5E4D3C2B1A\"", "1", "\"\"",
		"{\"k\":null}", "\"e-5\"",
	};
	struct tstore *plain = tstore_create(db, "triples", NULL);
	struct rows r1, r2;
	uint64_t seed = 42;
	int i, in_tx = 0, f1, f2;
	size_t held, most = 0, least = 6, most_cols = 0;
	const char *e, *a, *v;

	ck_assert_ptr_nonnull(plain);
	/* Small (its tables take 10 KiB of it): it drops entities. */
	ck_assert_int_eq(tstore_cache(ts, 10 * 1024 + 768), 0);
	for (i = 0; i < 20000; i++) {
		e = ids[rnd(&seed) % 6];
		a = attrs[rnd(&seed) % 3];
		v = vals[rnd(&seed) % 7];
		switch (rnd(&seed) % 17) {
		case 0: case 1: case 2: case 3:
			tstore_add(ts, e, a, v, (int64_t)(rnd(&seed) % 3));
			break;
		case 4:
			tstore_retract(ts, e, a, v);
			break;
		case 5:
			tstore_retract_ea(ts, e, a);
			break;
		case 6:
			if (rnd(&seed) % 8 == 0)
				tstore_retract_e(ts, e);
			break;
		case 7:
			if (!in_tx) {
				sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
				in_tx = 1;
			} else {
				sqlite3_exec(db, rnd(&seed) % 2 ? "COMMIT" :
				    "ROLLBACK", NULL, NULL, NULL);
				in_tx = 0;
			}
			break;
		case 8:
			if (in_tx)
				sqlite3_exec(db, "SAVEPOINT s; DELETE FROM "
				    "triples; ROLLBACK TO s; RELEASE s", NULL,
				    NULL, NULL);
			break;
		case 12: {
			static const char *const has[] = { "9f", "e", "\"",
				"1", "-5", "zz" };
			int64_t n1, n2, max = (int64_t)(rnd(&seed) % 4) - 1;
			const char *h = has[rnd(&seed) % 6];
			/* Half of them in a read snapshot of their own, whose
			 * columns are kept from others until the next. */
			int snap = rnd(&seed) % 2;
			if (snap)
				ck_assert_int_eq(tstore_read_begin(ts), 0);
			memset(&r1, 0, sizeof r1);
			memset(&r2, 0, sizeof r2);
			switch (rnd(&seed) % 3) {
			case 0:
				ck_assert_int_eq(tstore_scan_a(ts, a,
				    collect_cb, &r1), 0);
				ck_assert_int_eq(tstore_scan_a(plain, a,
				    collect_cb, &r2), 0);
				break;
			case 1:
				ck_assert_int_eq(tstore_scan_av(ts, a, v,
				    collect_cb, &r1), 0);
				ck_assert_int_eq(tstore_scan_av(plain, a, v,
				    collect_cb, &r2), 0);
				break;
			default:
				ck_assert_int_eq(tstore_scan_a_has(ts, a, h,
				    collect_cb, &r1), 0);
				ck_assert_int_eq(tstore_scan_a_has(plain, a, h,
				    collect_cb, &r2), 0);
				break;
			}
			ck_assert_str_eq(r1.buf, r2.buf);
			ck_assert_int_eq(tstore_count_a(ts, a, &n1), 0);
			ck_assert_int_eq(tstore_count_a(plain, a, &n2), 0);
			ck_assert_int_eq(n1, n2);
			ck_assert_int_eq(tstore_count_a_max(ts, a, max, &n1), 0);
			ck_assert_int_eq(tstore_count_a_max(plain, a, max, &n2),
			    0);
			ck_assert_int_eq(n1, n2);
			if (snap)
				ck_assert_int_eq(tstore_read_end(ts), 0);
			break;
		}
		case 9: case 10: case 11:
			memset(&r1, 0, sizeof r1);
			memset(&r2, 0, sizeof r2);
			ck_assert_int_eq(tstore_scan_ea(ts, e, a, collect_cb,
			    &r1), 0);
			ck_assert_int_eq(tstore_scan_ea(plain, e, a,
			    collect_cb, &r2), 0);
			ck_assert_str_eq(r1.buf, r2.buf);
			ck_assert_int_eq(tstore_has_ea(ts, e, a, &f1), 0);
			ck_assert_int_eq(tstore_has_ea(plain, e, a, &f2), 0);
			ck_assert_int_eq(f1, f2);
			break;
		default:
			ck_assert_str_eq(rows_of(ts, e, &r1),
			    rows_of(plain, e, &r2));
			break;
		}
		held = cached(ts);
		most = held > most ? held : most;
		least = held < least ? held : least;
		held = columns(ts);
		most_cols = held > most_cols ? held : most_cols;
	}
	/* The cache held some entities and had to drop some; and held
	 * columns. */
	ck_assert_uint_ge(most, 3);
	ck_assert_uint_lt(most, 6);
	ck_assert_uint_eq(least, 0);
	ck_assert_uint_ge(most_cols, 2);
	if (in_tx)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	tstore_free(plain);
}
END_TEST

/* Parse JSON text and return its canonical text (caller frees). */
static char *
canon(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
	char *s;

	ck_assert_ptr_nonnull(v);
	s = tstore_value_text(v);
	json_decref(v);
	return s;
}

/* Assert that text canonicalizes to want. */
static void
check_canon(const char *text, const char *want)
{
	char *s = canon(text);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(test_value_text)
{
	check_canon("\"a\\\"b\"", "\"a\\\"b\"");
	check_canon("1.0", "1");
	check_canon("-0.0", "0");
	check_canon("0.1", "0.1");
	check_canon("1.5e300", "1.5e+300");
	check_canon("12345678901", "12345678901");
	check_canon("{\"b\":1,\"a\":[true,null,2.50]}",
	    "{\"a\":[true,null,2.5],\"b\":1}");
	check_canon("\"\xc3\xa9\"", "\"\xc3\xa9\"");
	ck_assert_ptr_null(tstore_value_text(NULL));
}
END_TEST

/* The tests of what scans and writes do, with a cache or without. */
static void
add_behaviour_tests(TCase *tc)
{
	tcase_add_test(tc, test_add_keeps_first_t);
	tcase_add_test(tc, test_scans);
	tcase_add_test(tc, test_scan_stop_value);
	tcase_add_test(tc, test_nested_scan);
	tcase_add_test(tc, test_retracts);
	tcase_add_test(tc, test_text_values_stay_text);
	tcase_add_test(tc, test_second_table_and_reopen);
	tcase_add_test(tc, test_read_snapshot);
}

/* The suite. */
static Suite *
tstore_suite(void)
{
	Suite *s = suite_create("tstore");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	add_behaviour_tests(tc);
	tcase_add_test(tc, test_bad_table_name);
	tcase_add_test(tc, test_value_text);
	suite_add_tcase(s, tc);

	/* The same behaviour with the entity cache; and the cache's own. */
	tc = tcase_create("cached");
	tcase_add_checked_fixture(tc, setup_cached, teardown);
	add_behaviour_tests(tc);
	tcase_add_test(tc, test_cache_follows_writes);
	tcase_add_test(tc, test_cache_skips_write_transactions);
	tcase_add_test(tc, test_cache_columns_follow_writes);
	tcase_add_test(tc, test_cache_value_scans_earn_a_column);
	tcase_add_test(tc, test_cache_sees_other_connections);
	tcase_add_test(tc, test_cache_nested_scans);
	tcase_add_test(tc, test_cache_agrees_with_sqlite);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite. */
int
main(void)
{
	SRunner *sr = srunner_create(tstore_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
