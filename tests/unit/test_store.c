/* test_store.c: the daemon's per-app store on temporary files. */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/attrs.h"
#include "engine/store.h"
#include "engine/tstore.h"

static char dir[64];
static char path[128];

/* A fresh temporary directory and store path. */
static void
setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/app.db", dir);
}

/* Remove the store files and the directory. */
static void
teardown(void)
{
	char f[160];

	unlink(path);
	snprintf(f, sizeof f, "%s-wal", path);
	unlink(f);
	snprintf(f, sizeof f, "%s-shm", path);
	unlink(f);
	snprintf(f, sizeof f, "%s-view", path);
	unlink(f);
	rmdir(dir);
}

/* Open the store at path, failing the test on error. */
static struct store *
open_ok(void)
{
	char *err = NULL;
	struct store *st = store_open(path, NULL, &err);

	ck_assert_msg(st != NULL, "store_open: %s", err);
	ck_assert_ptr_null(err);
	return st;
}

/* Run a single-value query on a store's database. */
static long long
query_int(struct store *st, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL),
			 SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Run sql on the durable file with a connection of its own. */
static void
durable_exec(const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The durable file is at this program's layout version. */
static void
assert_current_version(struct store *st)
{
	ck_assert_int_eq(query_int(st, "PRAGMA durable.user_version"),
			 store_schema_version());
}

/* A single-text query's result, as a static string. */
static const char *
query_text(struct store *st, const char *sql)
{
	static char out[128];
	sqlite3_stmt *s;

	out[0] = '\0';
	ck_assert_int_eq(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL),
			 SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		snprintf(out, sizeof out, "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return out;
}

START_TEST(test_open_sets_version_and_wal)
{
	struct store *st = open_ok();

	assert_current_version(st);
	/* The durable file: WAL, FULL. */
	ck_assert_int_eq(query_int(st, "PRAGMA durable.synchronous"), 2);
	ck_assert_str_eq(query_text(st, "PRAGMA durable.journal_mode"), "wal");
	/* The view's: journaled in memory, never synced. */
	ck_assert_int_eq(query_int(st, "PRAGMA main.synchronous"), 0);
	ck_assert_str_eq(query_text(st, "PRAGMA main.journal_mode"), "memory");
	ck_assert_str_eq(query_text(st, "SELECT file FROM pragma_database_list "
	    "WHERE name = 'durable'"), path);
	ck_assert_ptr_nonnull(store_attrs(st));
	ck_assert_ptr_nonnull(store_view(st));
	store_free(st);
}
END_TEST

START_TEST(test_sync_normal_option)
{
	struct store_opts opts = {.sync_normal = 1};
	char *err = NULL;
	struct store *st = store_open(path, &opts, &err);

	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(query_int(st, "PRAGMA durable.synchronous"), 1);
	store_free(st);
}
END_TEST

START_TEST(test_migrates_old_version_zero_file)
{
	struct store *st;

	/* An empty database at version 0 gets the whole layout. */
	durable_exec("CREATE TABLE unrelated (x)");
	st = open_ok();
	assert_current_version(st);
	ck_assert_int_eq(query_int(st, "SELECT count(*) FROM "
				       "durable.sqlite_master WHERE name IN "
				       "('attrs', 'outbox', 'queries', 'kv')"),
			 4);
	ck_assert_int_eq(query_int(st, "SELECT count(*) FROM "
				       "main.sqlite_master WHERE name = "
				       "'triples'"), 1);
	store_free(st);
}
END_TEST

START_TEST(test_newer_version_is_refused)
{
	char *err = NULL;

	durable_exec("PRAGMA user_version=99");
	ck_assert_ptr_null(store_open(path, NULL, &err));
	ck_assert_ptr_nonnull(strstr(err, "newer than this program"));
	ck_assert_ptr_nonnull(strstr(err, path));
	free(err);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_garbage_file_is_reported_not_deleted)
{
	char *err = NULL, buf[64];
	FILE *f = fopen(path, "w");
	size_t i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 200; i++)
		fputs("this is not a database at all\n", f);
	fclose(f);
	ck_assert_ptr_null(store_open(path, NULL, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "not a database"));
	free(err);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
	ck_assert_str_eq(buf, "this is not a database at all\n");
	fclose(f);
}
END_TEST

START_TEST(test_unreadable_path_is_reported)
{
	char *err = NULL;

	snprintf(path, sizeof path, "%s/missing/dir/app.db", dir);
	ck_assert_ptr_null(store_open(path, NULL, &err));
	ck_assert_ptr_nonnull(strstr(err, path));
	free(err);
	snprintf(path, sizeof path, "%s/app.db", dir);
}
END_TEST

START_TEST(test_try_open_tells_corrupt_files)
{
	char *err = NULL;
	int corrupt = -1;
	FILE *f;
	size_t i;

	/* Garbage: not a database. */
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (i = 0; i < 200; i++)
		fputs("this is not a database at all\n", f);
	fclose(f);
	ck_assert_ptr_null(store_try_open(path, NULL, &corrupt, &err));
	ck_assert_int_eq(corrupt, 1);
	free(err);
	unlink(path);

	/* A newer version is intact, only not ours. */
	durable_exec("PRAGMA user_version=99");
	ck_assert_ptr_null(store_try_open(path, NULL, &corrupt, &err));
	ck_assert_int_eq(corrupt, 0);
	free(err);

	/* A path that cannot be opened is no corruption either. */
	snprintf(path, sizeof path, "%s/missing/dir/app.db", dir);
	ck_assert_ptr_null(store_try_open(path, NULL, &corrupt, &err));
	ck_assert_int_eq(corrupt, 0);
	free(err);
	snprintf(path, sizeof path, "%s/app.db", dir);
}
END_TEST

START_TEST(test_try_open_damaged_schema_is_corrupt)
{
	struct store *st;
	char *err = NULL, junk[4096];
	int corrupt = -1;
	FILE *f;

	ck_assert_ptr_nonnull(st = store_open(path, NULL, &err));
	store_free(st);
	/* Keep the 100-byte header, trash the rest of page 1 (the schema). */
	memset(junk, 0xa5, sizeof junk);
	ck_assert_ptr_nonnull(f = fopen(path, "r+"));
	ck_assert_int_eq(fseek(f, 100, SEEK_SET), 0);
	ck_assert_int_eq(fwrite(junk, 1, 4096 - 100, f), 4096 - 100);
	fclose(f);
	ck_assert_ptr_null(store_try_open(path, NULL, &corrupt, &err));
	ck_assert_msg(corrupt == 1, "not corrupt: %s", err);
	free(err);
}
END_TEST

/* Collected outbox rows as "tx:status:tx_id:client" lines. */
struct rows {
	char buf[1024];
	int n;
};

/* Append one outbox row to a rows buffer. */
static int
outbox_cb(void *arg, const struct store_tx *tx)
{
	struct rows *r = arg;
	size_t len = strlen(r->buf);

	snprintf(r->buf + len, sizeof r->buf - len, "%s:%s:%lld:%s:%s\n",
		 tx->tx, store_tx_status_name(tx->status), (long long)tx->tx_id,
		 tx->client != NULL ? tx->client : "-",
		 tx->error != NULL ? tx->error : "-");
	r->n++;
	return 0;
}

START_TEST(test_outbox_lifecycle)
{
	struct store *st = open_ok();
	json_t *steps =
	    json_loads("[[\"update\",\"todos\",\"x\",{}]]", 0, NULL);
	json_t *tx_steps =
	    json_loads("[[\"add-triple\",\"x\",\"a\",1]]", 0, NULL);
	json_t *err = json_pack("{s:s}", "message", "no");
	struct rows r = {"", 0};
	int64_t seq1, seq2, n;

	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(
	    store_outbox_append(st, "t1", steps, tx_steps, "cli", 1000, &seq1),
	    0);
	ck_assert_int_eq(
	    store_outbox_append(st, "t2", steps, tx_steps, NULL, 1001, &seq2),
	    0);
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_lt(seq1, seq2);
	/* The same client-event-id twice is refused. */
	ck_assert_int_eq(
	    store_outbox_append(st, "t1", steps, tx_steps, NULL, 1002, NULL),
	    -1);
	ck_assert_int_eq(store_outbox_unsynced(st, &n), 0);
	ck_assert_int_eq(n, 2);

	ck_assert_int_eq(
	    store_outbox_set_status(st, "t1", STORE_TX_PENDING, -1, NULL), 0);
	ck_assert_int_eq(
	    store_outbox_set_status(st, "t1", STORE_TX_SYNCED, 42, NULL), 0);
	ck_assert_int_eq(
	    store_outbox_set_status(st, "t2", STORE_TX_ERROR, -1, err), 0);
	ck_assert_int_eq(
	    store_outbox_set_status(st, "nope", STORE_TX_SYNCED, 1, NULL), 1);
	ck_assert_int_eq(store_outbox_scan(st, outbox_cb, &r), 0);
	ck_assert_str_eq(r.buf, "t1:synced:42:cli:-\n"
				"t2:error:-1:-:{\"message\":\"no\"}\n");
	ck_assert_int_eq(store_outbox_unsynced(st, &n), 0);
	ck_assert_int_eq(n, 0);

	ck_assert_int_eq(store_outbox_delete(st, "t1"), 0);
	ck_assert_int_eq(store_outbox_delete(st, "t1"), 1);
	r.buf[0] = '\0';
	ck_assert_int_eq(store_outbox_scan(st, outbox_cb, &r), 0);
	ck_assert_str_eq(r.buf, "t2:error:-1:-:{\"message\":\"no\"}\n");
	json_decref(steps);
	json_decref(tx_steps);
	json_decref(err);
	store_free(st);
}
END_TEST

/* Rejected rows created before the cutoff go; rows of any other status,
 * however old, and newer rejected rows stay. */
START_TEST(test_outbox_expire)
{
	struct store *st = open_ok();
	json_t *steps = json_array();
	json_t *err = json_pack("{s:s}", "message", "no");
	struct rows r = {"", 0};
	int64_t n;

	ck_assert_int_eq(store_outbox_append(st, "old-error", steps, steps,
					     NULL, 100, NULL), 0);
	ck_assert_int_eq(store_outbox_append(st, "old-enqueued", steps, steps,
					     NULL, 100, NULL), 0);
	ck_assert_int_eq(store_outbox_append(st, "old-synced", steps, steps,
					     NULL, 100, NULL), 0);
	ck_assert_int_eq(store_outbox_append(st, "cutoff-error", steps, steps,
					     NULL, 200, NULL), 0);
	ck_assert_int_eq(store_outbox_append(st, "new-error", steps, steps,
					     NULL, 300, NULL), 0);
	ck_assert_int_eq(store_outbox_set_status(st, "old-error",
					 STORE_TX_ERROR, -1, err), 0);
	ck_assert_int_eq(store_outbox_set_status(st, "old-synced",
					 STORE_TX_SYNCED, 7, NULL), 0);
	ck_assert_int_eq(store_outbox_set_status(st, "cutoff-error",
					 STORE_TX_ERROR, -1, err), 0);
	ck_assert_int_eq(store_outbox_set_status(st, "new-error",
					 STORE_TX_ERROR, -1, err), 0);

	ck_assert_int_eq(store_outbox_expire(st, 200, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_outbox_scan(st, outbox_cb, &r), 0);
	ck_assert_str_eq(r.buf, "old-enqueued:enqueued:-1:-:-\n"
				"old-synced:synced:7:-:-\n"
				"cutoff-error:error:-1:-:{\"message\":\"no\"}\n"
				"new-error:error:-1:-:{\"message\":\"no\"}\n");
	ck_assert_int_eq(store_outbox_expire(st, 200, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(store_outbox_expire(st, 301, &n), 0);
	ck_assert_int_eq(n, 2);
	json_decref(steps);
	json_decref(err);
	store_free(st);
}
END_TEST

START_TEST(test_outbox_seq_is_a_cursor)
{
	struct store *st = open_ok();
	json_t *steps = json_array();
	struct rows r = {"", 0};
	int64_t s1, s2, s3, s4;

	ck_assert_int_eq(store_outbox_append(st, "t1", steps, steps, NULL, 1,
					     &s1), 0);
	ck_assert_int_eq(store_outbox_append(st, "t2", steps, steps, NULL, 2,
					     &s2), 0);
	/* The newest row leaves; its seq is not handed out again, which
	 * SQLite's own rowids would do. */
	ck_assert_int_eq(store_outbox_delete(st, "t2"), 0);
	ck_assert_int_eq(store_outbox_append(st, "t3", steps, steps, NULL, 3,
					     &s3), 0);
	ck_assert_int_gt(s3, s2);
	/* A rolled-back append does not give its seq back either. */
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_outbox_append(st, "t4", steps, steps, NULL, 4,
					     &s4), 0);
	ck_assert_int_eq(store_rollback(st), 0);
	ck_assert_int_eq(store_outbox_append(st, "t5", steps, steps, NULL, 5,
					     &s4), 0);
	ck_assert_int_gt(s4, s3 + 1);

	/* Unsent: after the cursor, enqueued or pending, no tx-id. */
	ck_assert_int_eq(
	    store_outbox_set_status(st, "t1", STORE_TX_SYNCED, 7, NULL), 0);
	ck_assert_int_eq(store_outbox_scan_unsent(st, 0, outbox_cb, &r), 0);
	ck_assert_str_eq(r.buf, "t3:enqueued:-1:-:-\nt5:enqueued:-1:-:-\n");
	r.buf[0] = '\0';
	ck_assert_int_eq(
	    store_outbox_set_status(st, "t3", STORE_TX_PENDING, -1, NULL), 0);
	ck_assert_int_eq(store_outbox_scan_unsent(st, s1, outbox_cb, &r), 0);
	ck_assert_str_eq(r.buf, "t3:pending:-1:-:-\nt5:enqueued:-1:-:-\n");
	r.buf[0] = '\0';
	ck_assert_int_eq(store_outbox_scan_unsent(st, s3, outbox_cb, &r), 0);
	ck_assert_str_eq(r.buf, "t5:enqueued:-1:-:-\n");
	json_decref(steps);
	store_free(st);
}
END_TEST

START_TEST(test_rollback_drops_group)
{
	struct store *st = open_ok();
	json_t *steps = json_array();
	int64_t n;

	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(
	    store_outbox_append(st, "t1", steps, steps, NULL, 1, NULL), 0);
	ck_assert_int_eq(tstore_add(store_view(st), "e", "a", "1", 5), 0);
	ck_assert_int_eq(store_rollback(st), 0);
	ck_assert_int_eq(store_outbox_unsynced(st, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(tstore_count(store_view(st), &n), 0);
	ck_assert_int_eq(n, 0);
	json_decref(steps);
	store_free(st);
}
END_TEST

/* Copy a query row's result text into a buffer. */
static int
query_cb(void *arg, const struct store_query *q)
{
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(buf + len, 512 - len, "%s|%.*s|%s|%lld\n", q->q,
		 (int)q->result_len, (const char *)q->result,
		 q->page_info != NULL ? q->page_info : "-",
		 (long long)q->processed_tx_id);
	return 0;
}

START_TEST(test_queries_keyed_by_canonical_json)
{
	struct store *st = open_ok();
	json_t *q1 = json_loads("{\"todos\":{\"$\":{\"limit\":1,\"where\":"
				"{\"a\":1}}}}",
				0, NULL);
	json_t *q2 = json_loads("{\"todos\":{\"$\":{\"where\":{\"a\":1},"
				"\"limit\":1}}}",
				0, NULL);
	const char *res = "[{\"data\":1}]";
	json_t *info = json_loads(res, 0, NULL);
	char buf[512] = "";
	int found;

	ck_assert_int_eq(store_query_put(st, q1, res, strlen(res), NULL, 7, 100), 0);
	ck_assert_int_eq(store_query_get(st, q2, query_cb, buf, &found), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_ptr_nonnull(strstr(buf, "|[{\"data\":1}]|-|7\n"));
	ck_assert_int_eq(store_query_put(st, q2, res, strlen(res), info, -1, 101), 0);
	buf[0] = '\0';
	ck_assert_int_eq(store_query_scan(st, query_cb, buf), 0);
	ck_assert_ptr_nonnull(
	    strstr(buf, "|[{\"data\":1}]|[{\"data\":1}]|-1\n"));
	ck_assert_ptr_null(strchr(strchr(buf, '\n') + 1, '\n'));
	ck_assert_int_eq(store_query_delete(st, q1), 0);
	ck_assert_int_eq(store_query_get(st, q2, query_cb, buf, &found), 0);
	ck_assert_int_eq(found, 0);
	json_decref(q1);
	json_decref(q2);
	json_decref(info);
	store_free(st);
}
END_TEST

/* A result's page-info alone, by canonical query; every change to the
 * results (put, delete, rollback) counts. */
START_TEST(test_query_page_info)
{
	struct store *st = open_ok();
	json_t *q1 = json_loads("{\"t\":{\"$\":{\"limit\":2,\"offset\":1}}}",
	    0, NULL);
	json_t *q2 = json_loads("{\"t\":{\"$\":{\"offset\":1,\"limit\":2}}}",
	    0, NULL);
	json_t *pi = json_loads("{\"t\":{\"start-cursor\":[\"e\",\"a\",1,2],"
	    "\"has-next-page?\":true}}", 0, NULL);
	char *text = (char *)"unset";
	uint64_t at = store_query_changes(st);

	ck_assert_int_eq(store_query_page_info(st, q1, &text), 0);
	ck_assert_ptr_null(text);
	ck_assert_int_eq(store_query_put(st, q1, "x", 1, NULL, 1, 1), 0);
	ck_assert_uint_gt(store_query_changes(st), at);
	ck_assert_int_eq(store_query_page_info(st, q2, &text), 0);
	ck_assert_ptr_null(text);
	ck_assert_int_eq(store_query_put(st, q1, "x", 1, pi, 2, 2), 0);
	ck_assert_int_eq(store_query_page_info(st, q2, &text), 0);
	ck_assert_str_eq(text, "{\"t\":{\"start-cursor\":[\"e\",\"a\",1,2],"
	    "\"has-next-page?\":true}}");
	free(text);
	at = store_query_changes(st);
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_rollback(st), 0);
	ck_assert_uint_gt(store_query_changes(st), at);
	at = store_query_changes(st);
	ck_assert_int_eq(store_query_delete(st, q2), 0);
	ck_assert_uint_gt(store_query_changes(st), at);
	ck_assert_int_eq(store_query_page_info(st, q1, &text), 0);
	ck_assert_ptr_null(text);
	json_decref(q1);
	json_decref(q2);
	json_decref(pi);
	store_free(st);
}
END_TEST

/* The lowest processed-tx-id over stored results, ignoring those without. */
START_TEST(test_query_min_processed)
{
	struct store *st = open_ok();
	json_t *q1 = json_pack("{s:{}}", "a"), *q2 = json_pack("{s:{}}", "b"),
	       *q3 = json_pack("{s:{}}", "c");
	int64_t min = 0;

	ck_assert_int_eq(store_query_min_processed(st, &min), 0);
	ck_assert_int_eq(min, -1);
	ck_assert_int_eq(store_query_put(st, q1, "x", 1, NULL, 7, 1), 0);
	ck_assert_int_eq(store_query_put(st, q2, "", 0, NULL, -1, 1), 0);
	ck_assert_int_eq(store_query_min_processed(st, &min), 0);
	ck_assert_int_eq(min, 7);
	ck_assert_int_eq(store_query_put(st, q3, "y", 1, NULL, 3, 1), 0);
	ck_assert_int_eq(store_query_min_processed(st, &min), 0);
	ck_assert_int_eq(min, 3);
	ck_assert_int_eq(store_query_delete(st, q3), 0);
	ck_assert_int_eq(store_query_min_processed(st, &min), 0);
	ck_assert_int_eq(min, 7);
	json_decref(q1);
	json_decref(q2);
	json_decref(q3);
	store_free(st);
}
END_TEST

/* The generation moves when a transaction ends without committing: by
 * ROLLBACK, and when a statement's error makes SQLite roll it back. */
START_TEST(test_generation_counts_rollbacks)
{
	struct store *st = open_ok();
	uint64_t g = store_generation(st);

	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_kv_set(st, "k", "1"), 0);
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_uint_eq(store_generation(st), g);
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_kv_set(st, "k", "2"), 0);
	ck_assert_int_eq(store_rollback(st), 0);
	ck_assert_uint_gt(store_generation(st), g);
	g = store_generation(st);
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_kv_set(st, "k", "3"), 0);
	ck_assert_int_ne(sqlite3_exec(store_db(st), "INSERT OR ROLLBACK INTO kv "
	    "(k, v) VALUES ('n', NULL)", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_ne(sqlite3_get_autocommit(store_db(st)), 0);
	ck_assert_uint_gt(store_generation(st), g);
	store_free(st);
}
END_TEST

/* A transaction of the batch: released with keep, its writes stay in
 * the batch; without, they go and the batch's earlier writes stay. */
START_TEST(test_savepoint_keeps_or_undoes)
{
	struct store *st = open_ok();
	char *v = NULL;

	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_savepoint(st), 0);
	ck_assert_int_eq(store_kv_set(st, "a", "1"), 0);
	ck_assert_int_eq(store_release(st, 1), 0);
	ck_assert_int_eq(store_savepoint(st), 0);
	ck_assert_int_eq(store_kv_set(st, "a", "2"), 0);
	ck_assert_int_eq(store_kv_set(st, "b", "2"), 0);
	ck_assert_int_eq(store_release(st, 0), 0);
	/* Still inside the batch, and no savepoint is left open. */
	ck_assert_int_eq(sqlite3_get_autocommit(store_db(st)), 0);
	ck_assert_int_ne(store_release(st, 1), 0);
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(store_kv_get(st, "a", &v), 0);
	ck_assert_str_eq(v, "1");
	free(v);
	ck_assert_int_eq(store_kv_get(st, "b", &v), 0);
	ck_assert_ptr_null(v);
	store_free(st);
}
END_TEST

START_TEST(test_kv)
{
	struct store *st = open_ok();
	char *v = NULL;

	ck_assert_int_eq(store_kv_get(st, "k", &v), 0);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(store_kv_set(st, "k", "123"), 0);
	ck_assert_int_eq(store_kv_get(st, "k", &v), 0);
	ck_assert_str_eq(v, "123"); /* TEXT: no numeric affinity */
	free(v);
	ck_assert_int_eq(store_kv_set(st, "k", NULL), 0);
	ck_assert_int_eq(store_kv_get(st, "k", &v), 0);
	ck_assert_ptr_null(v);
	store_free(st);
}
END_TEST

START_TEST(test_reopen_keeps_data)
{
	struct store *st = open_ok();
	json_t *attr = json_loads(
	    "{\"id\":\"00000000-0000-4000-8000-"
	    "000000000001\",\"forward-identity\":[\"00000000-0000-4000-8000-"
	    "000000000002\",\"todos\",\"title\"],\"value-type\":\"blob\","
	    "\"cardinality\":\"one\",\"unique?\":false,\"index?\":false}",
	    0, NULL);
	json_t *steps = json_array();
	struct rows r = {"", 0};
	char *v = NULL;
	int64_t n;

	ck_assert_ptr_nonnull(attr);
	ck_assert_int_eq(attrs_put(store_attrs(st), attr, NULL), 0);
	ck_assert_int_eq(store_attrs_save(st), 0);
	ck_assert_int_eq(
	    store_outbox_append(st, "t1", steps, steps, "c", 5, NULL), 0);
	ck_assert_int_eq(store_kv_set(st, "user", "{}"), 0);
	ck_assert_int_eq(tstore_add(store_view(st), "e", "a", "\"x\"", 9), 0);
	store_free(st);

	st = open_ok();
	ck_assert_uint_eq(attrs_count(store_attrs(st)), 1);
	ck_assert_ptr_nonnull(attrs_forward(store_attrs(st), "todos", "title"));
	ck_assert_int_eq(store_outbox_scan(st, outbox_cb, &r), 0);
	ck_assert_int_eq(r.n, 1);
	ck_assert_int_eq(store_kv_get(st, "user", &v), 0);
	ck_assert_str_eq(v, "{}");
	ck_assert_int_eq(tstore_count(store_view(st), &n), 0);
	ck_assert_int_eq(n, 1);
	free(v);
	json_decref(attr);
	json_decref(steps);
	store_free(st);
}
END_TEST

/* The number of this process's open files under dir (deleted or not). */
static int
open_files_under(const char *d)
{
	char link[64], target[512];
	int fd, n = 0;
	ssize_t len;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		len = readlink(link, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, d, strlen(d)) == 0)
			n++;
	}
	return n;
}

START_TEST(test_savepoints_journal_in_memory)
{
	struct store *st = open_ok();
	char tmp[64], e[64], v[160];
	int i, j;

	/* SQLite's temporary files go to tmp: there must be none while a
	 * batch of savepoints, each changing far more than 64 KiB of pages,
	 * is open. */
	snprintf(tmp, sizeof tmp, "/tmp/test_store_tmp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	sqlite3_temp_directory = sqlite3_mprintf("%s", tmp);
	ck_assert_int_eq(store_begin(st), 0);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(sqlite3_exec(store_db(st), "SAVEPOINT t", NULL,
		    NULL, NULL), SQLITE_OK);
		for (j = 0; j < 200; j++) {
			snprintf(e, sizeof e, "%08x-e", (unsigned)((i * 200 + j) *
			    2654435761u));
			snprintf(v, sizeof v, "\"%0120d\"", i * 200 + j);
			ck_assert_int_eq(tstore_add(store_view(st), e, "a", v, 1),
			    0);
		}
		ck_assert_int_eq(sqlite3_exec(store_db(st), "RELEASE t", NULL,
		    NULL, NULL), SQLITE_OK);
		ck_assert_int_eq(open_files_under(tmp), 0);
	}
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(query_int(st, "SELECT count(*) FROM triples"), 4000);
	store_free(st);
	sqlite3_free(sqlite3_temp_directory);
	sqlite3_temp_directory = NULL;
	rmdir(tmp);
}
END_TEST

/* The length of a file, or -1 if it does not exist. */
static long long
file_size(const char *f)
{
	struct stat sb;

	return stat(f, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Copy file from to file to. */
static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

/* The number of kv rows (but the view's state) of the store file at p. */
static long long
kv_at(const char *p)
{
	char *err = NULL;
	struct store *st = store_open(p, NULL, &err);
	long long n;

	ck_assert_msg(st != NULL, "store_open: %s", err);
	n = query_int(st, "SELECT count(*) FROM kv WHERE k != 'view'");
	ck_assert_str_eq(query_text(st, "PRAGMA durable.quick_check"), "ok");
	store_free(st);
	return n;
}

START_TEST(test_wal_reserved_before_first_write)
{
	/* 4,000 frames of a 4 KiB page, each with its header, and the
	 * file's header. */
	const long long want = 32 + 4000LL * (24 + 4096);
	struct store *st = open_ok();
	char wal[160], copy[160], copywal[200];
	long long before;

	snprintf(wal, sizeof wal, "%s-wal", path);
	snprintf(copy, sizeof copy, "%s/copy.db", dir);
	snprintf(copywal, sizeof copywal, "%s-wal", copy);
	ck_assert_int_eq(query_int(st, "PRAGMA wal_autocheckpoint"), 4000);
	before = file_size(wal);
	ck_assert_int_lt(before, want);
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(file_size(wal), want);
	ck_assert_int_eq(store_kv_set(st, "e1", "x"), 0);
	ck_assert_int_eq(store_commit(st), 0);
	/* The commit wrote within the file. */
	ck_assert_int_eq(file_size(wal), want);

	/* The files as a crash would leave them: the log's frames, then
	 * zeros.  The copy reads the committed triple; its first write
	 * finds the log long enough and extends nothing. */
	copy_file(path, copy);
	copy_file(wal, copywal);
	ck_assert_int_eq(kv_at(copy), 1);
	{
		char *err = NULL;
		struct store *c = store_open(copy, NULL, &err);

		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(store_begin(c), 0);
		ck_assert_int_eq(file_size(copywal), want);
		ck_assert_int_eq(store_kv_set(c, "e2", "y"), 0);
		ck_assert_int_eq(store_commit(c), 0);
		store_free(c);
	}
	ck_assert_int_eq(kv_at(copy), 2);
	unlink(copy);
	unlink(copywal);
	snprintf(copywal, sizeof copywal, "%s-shm", copy);
	unlink(copywal);
	snprintf(copywal, sizeof copywal, "%s-view", copy);
	unlink(copywal);

	/* Many commits, past a checkpoint and a restart of the log: all
	 * kept, and the log no longer than needed. */
	{
		char e[32], v[400];
		int i, j;

		for (i = 0; i < 40; i++) {
			ck_assert_int_eq(store_begin(st), 0);
			for (j = 0; j < 200; j++) {
				snprintf(e, sizeof e, "%08x-n", (unsigned)((i *
				    200 + j) * 2654435761u));
				snprintf(v, sizeof v, "\"%0380d\"", j);
				ck_assert_int_eq(store_kv_set(st, e, v), 0);
			}
			ck_assert_int_eq(store_commit(st), 0);
		}
	}
	ck_assert_int_eq(query_int(st, "SELECT count(*) FROM kv WHERE k != "
	    "'view'"), 8001);
	/* Some 16,000 frames went through a log of about 4,000. */
	ck_assert_int_lt(file_size(wal), want * 3 / 2);
	store_free(st);
	ck_assert_int_eq(kv_at(path), 8001);
}
END_TEST

/* The number of triples in the view. */
static int64_t
view_count(struct store *st)
{
	int64_t n = -1;

	ck_assert_int_eq(tstore_count(store_view(st), &n), 0);
	return n;
}

/* The view file's path. */
static const char *
view_file(void)
{
	static char f[160];

	snprintf(f, sizeof f, "%s-view", path);
	return f;
}

/* Open, put a triple in the view, close. */
static void
put_view_triple(const char *e)
{
	struct store *st = open_ok();

	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(tstore_add(store_view(st), e, "a", "\"x\"", 1), 0);
	ck_assert_int_eq(store_commit(st), 0);
	store_free(st);
}

START_TEST(test_view_kept_after_clean_close)
{
	struct store *st = open_ok();
	struct stat sb;

	/* A new store's view is new, private; while open, kv says so. */
	ck_assert_str_eq(store_view_new(st), "the store had none");
	ck_assert_int_eq(stat(view_file(), &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_str_eq(query_text(st, "SELECT v FROM kv WHERE k = 'view'"),
	    "open");
	store_free(st);
	put_view_triple("e1");
	st = open_ok();
	ck_assert_ptr_null(store_view_new(st));
	ck_assert_int_eq(view_count(st), 1);
	store_free(st);
}
END_TEST

START_TEST(test_view_made_anew_after_a_crash)
{
	struct store *st;
	char *v = NULL;
	int status;
	pid_t pid;

	put_view_triple("e1");
	/* A child writes both files and dies without closing. */
	if ((pid = fork()) == 0) {
		char *err = NULL;
		struct store *c = store_open(path, NULL, &err);

		if (c == NULL || store_begin(c) != 0 ||
		    tstore_add(store_view(c), "e2", "a", "\"y\"", 1) != 0 ||
		    store_kv_set(c, "k", "v") != 0 || store_commit(c) != 0)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	st = open_ok();
	ck_assert_str_eq(store_view_new(st), "the daemon did not stop cleanly");
	ck_assert_int_eq(view_count(st), 0);
	/* The durable file kept what was committed. */
	ck_assert_int_eq(store_kv_get(st, "k", &v), 0);
	ck_assert_str_eq(v, "v");
	free(v);
	store_free(st);
}
END_TEST

START_TEST(test_view_unreadable_file_made_anew)
{
	struct store *st;
	char *err = NULL;
	int corrupt = -1, i;
	FILE *f;

	put_view_triple("e1");
	ck_assert_ptr_nonnull(f = fopen(view_file(), "w"));
	for (i = 0; i < 200; i++)
		fputs("this is not a database at all\n", f);
	fclose(f);
	st = store_try_open(path, NULL, &corrupt, &err);
	ck_assert_msg(st != NULL, "store_try_open: %s", err);
	ck_assert_int_eq(corrupt, 0);
	ck_assert_str_eq(store_view_new(st), "its file was unreadable");
	ck_assert_int_eq(view_count(st), 0);
	store_free(st);
}
END_TEST

START_TEST(test_view_of_another_copy_made_anew)
{
	struct store *st;
	char saved[200];

	put_view_triple("e1");
	snprintf(saved, sizeof saved, "%s/saved-view", dir);
	copy_file(view_file(), saved);
	put_view_triple("e2");
	/* The first close's view file, beside the second close's kv. */
	copy_file(saved, view_file());
	unlink(saved);
	st = open_ok();
	ck_assert_str_eq(store_view_new(st),
	    "its file belongs to another copy of the store");
	ck_assert_int_eq(view_count(st), 0);
	store_free(st);
}
END_TEST

START_TEST(test_migrates_one_file_store)
{
	struct store *st;

	/* A store of version 2 kept its view in the same file. */
	st = open_ok();
	store_free(st);
	unlink(view_file());
	durable_exec("CREATE TABLE triples (e, a, v, t);"
	    "INSERT INTO triples VALUES ('e', 'a', '\"x\"', 1);"
	    "DELETE FROM kv; PRAGMA user_version=2");
	st = open_ok();
	assert_current_version(st);
	ck_assert_int_eq(query_int(st, "SELECT count(*) FROM "
	    "durable.sqlite_master WHERE name = 'triples'"), 0);
	ck_assert_str_eq(store_view_new(st), "the store had none");
	ck_assert_int_eq(view_count(st), 0);
	store_free(st);
}
END_TEST

/* In a child process: store_init, then a store in use: 0 if SQLite kept
 * no memory statistics and refused a second store_init. */
static int
init_child(void)
{
	char *err = NULL;
	struct store *st;
	int ok;

	/* As at a process's start, even if this one used SQLite before. */
	if (sqlite3_shutdown() != SQLITE_OK)
		return 3;
	if (store_init() != 0 || (st = store_open(path, NULL, &err)) == NULL)
		return 1;
	ok = query_int(st, "SELECT count(*) FROM triples") == 0 &&
	    sqlite3_memory_used() == 0;
	store_free(st);
	/* Too late once SQLite is in use: refused, not fatal. */
	return ok && store_init() == -1 ? 0 : 2;
}

START_TEST(test_init_drops_memory_statistics)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(init_child());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* The store suite. */
static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_sets_version_and_wal);
	tcase_add_test(tc, test_sync_normal_option);
	tcase_add_test(tc, test_migrates_old_version_zero_file);
	tcase_add_test(tc, test_newer_version_is_refused);
	tcase_add_test(tc, test_garbage_file_is_reported_not_deleted);
	tcase_add_test(tc, test_unreadable_path_is_reported);
	tcase_add_test(tc, test_try_open_tells_corrupt_files);
	tcase_add_test(tc, test_try_open_damaged_schema_is_corrupt);
	tcase_add_test(tc, test_outbox_lifecycle);
	tcase_add_test(tc, test_outbox_expire);
	tcase_add_test(tc, test_outbox_seq_is_a_cursor);
	tcase_add_test(tc, test_rollback_drops_group);
	tcase_add_test(tc, test_queries_keyed_by_canonical_json);
	tcase_add_test(tc, test_query_min_processed);
	tcase_add_test(tc, test_query_page_info);
	tcase_add_test(tc, test_generation_counts_rollbacks);
	tcase_add_test(tc, test_kv);
	tcase_add_test(tc, test_savepoint_keeps_or_undoes);
	tcase_add_test(tc, test_reopen_keeps_data);
	tcase_add_test(tc, test_savepoints_journal_in_memory);
	tcase_add_test(tc, test_wal_reserved_before_first_write);
	tcase_add_test(tc, test_view_kept_after_clean_close);
	tcase_add_test(tc, test_view_made_anew_after_a_crash);
	tcase_add_test(tc, test_view_unreadable_file_made_anew);
	tcase_add_test(tc, test_view_of_another_copy_made_anew);
	tcase_add_test(tc, test_migrates_one_file_store);
	tcase_add_test(tc, test_init_drops_memory_statistics);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
