/*
 * tstore.c: the triple table and its prepared statements.
 *
 * One table per tstore:
 *
 *	(e TEXT, a TEXT, v TEXT, t INTEGER, PRIMARY KEY (e, a, v)) WITHOUT ROWID
 *
 * plus a covering index on (a, v, e, t), so that entity scans use the
 * primary key and attribute/value scans use the index alone (an index on
 * (a, v, e) only would need a table lookup per row for t).  Every statement is prepared
 * once in tstore_create and owned by the tstore.  Scans are re-entrant: a
 * callback may call any tstore function, including another scan of the same
 * kind; when the cached statement is already stepping, a private statement
 * is prepared for the nested scan and finalized after it.  Every step path
 * ends in a reset, so no statement holds a read transaction open after the
 * call returns.  Callbacks must not write to the table they are scanning.
 *
 * With a cache (tstore_cache, engine/tcache.c), entity scans and attr
 * scans are answered from memory when they can be.  The cache stays equal
 * to the table by three rules:
 *  - every write forgets its entity and its attr's column before it runs
 *    (tstore_retract_e, which writes attrs it does not name, and
 *    tstore_clear forget all columns; code that writes the table with
 *    its own SQL calls tstore_forget);
 *  - a scan is kept only outside a write transaction: rows read inside
 *    one may include writes a rollback (to a savepoint, too) then undoes,
 *    where rows read outside one are committed;
 *  - a read snapshot that finds another connection committed since the
 *    last (PRAGMA data_version) forgets all.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tcache.h"
#include "engine/tstore.h"
#include "proto/jsontext.h"

enum tstore_sql {
	SQL_ADD,
	SQL_RETRACT,
	SQL_RETRACT_EA,
	SQL_RETRACT_E,
	SQL_CLEAR,
	SQL_SCAN_E,
	SQL_SCAN_EA,
	SQL_SCAN_A,
	SQL_SCAN_AV,
	SQL_SCAN_A_HAS,
	SQL_SCAN_ALL,
	SQL_HAS_EA,
	SQL_COUNT,
	SQL_COUNT_A,
	SQL_COUNT_A_MAX,
	SQL_READ_BEGIN,
	SQL_READ_END,
	SQL_DATA_VERSION,
	SQL_MAX
};

/* Statement templates; %s is the (quoted) table name. */
static const char *const tstore_templates[SQL_MAX] = {
	[SQL_ADD] = "INSERT INTO %s (e, a, v, t) VALUES (?1, ?2, ?3, ?4) "
		    "ON CONFLICT DO NOTHING",
	[SQL_RETRACT] = "DELETE FROM %s WHERE e = ?1 AND a = ?2 AND v = ?3",
	[SQL_RETRACT_EA] = "DELETE FROM %s WHERE e = ?1 AND a = ?2",
	[SQL_RETRACT_E] = "DELETE FROM %s WHERE e = ?1",
	[SQL_CLEAR] = "DELETE FROM %s",
	[SQL_SCAN_E] = "SELECT e, a, v, t FROM %s WHERE e = ?1",
	[SQL_SCAN_EA] = "SELECT e, a, v, t FROM %s WHERE e = ?1 AND a = ?2",
	[SQL_SCAN_A] = "SELECT e, a, v, t FROM %s INDEXED BY %s_avet "
		       "WHERE a = ?1",
	[SQL_SCAN_AV] = "SELECT e, a, v, t FROM %s INDEXED BY %s_avet "
			"WHERE a = ?1 AND v = ?2",
	/* instr() runs in SQLite: the rows without the text never reach a
	 * callback. */
	[SQL_SCAN_A_HAS] = "SELECT e, a, v, t FROM %s INDEXED BY %s_avet "
			   "WHERE a = ?1 AND instr(v, ?2) > 0",
	[SQL_SCAN_ALL] = "SELECT e, a, v, t FROM %s",
	[SQL_HAS_EA] = "SELECT 1 FROM %s WHERE e = ?1 AND a = ?2 LIMIT 1",
	[SQL_COUNT] = "SELECT count(*) FROM %s",
	[SQL_COUNT_A] = "SELECT count(*) FROM %s INDEXED BY %s_avet "
			"WHERE a = ?1",
	[SQL_COUNT_A_MAX] = "SELECT count(*) FROM (SELECT 1 FROM %s INDEXED BY "
			    "%s_avet WHERE a = ?1 LIMIT ?2)",
	[SQL_READ_BEGIN] = "SAVEPOINT %s_read",
	[SQL_READ_END] = "RELEASE %s_read",
	[SQL_DATA_VERSION] = "PRAGMA data_version",
};

struct tstore {
	sqlite3 *db;
	char *table;  /* validated identifier */
	char *sql[SQL_MAX];
	sqlite3_stmt *stmt[SQL_MAX];
	struct tcache *cache;  /* NULL: none */
	int64_t data_version; /* when the cache was last known current */
	char err[256];
};

/* Record the database's current error message, prefixed by what failed. */
static void
tstore_set_err(struct tstore *ts, const char *what)
{
	snprintf(ts->err, sizeof ts->err, "%s: %s", what,
	    sqlite3_errmsg(ts->db));
}

/* Whether name is a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*). */
static int
tstore_ident_ok(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || strlen(name) > 64)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_';
		int digit = c >= '0' && c <= '9';
		if (!alpha && !(digit && i > 0))
			return 0;
	}
	return 1;
}

/* Expand a statement template, replacing each "%s" with the table name:
 * caller frees. */
static char *
tstore_format(const char *tmpl, const char *table)
{
	size_t n = strlen(tmpl) + 2 * strlen(table) + 1, tl = strlen(table);
	char *s = malloc(n), *p = s;

	if (s == NULL)
		return NULL;
	while (*tmpl != '\0') {
		if (tmpl[0] == '%' && tmpl[1] == 's') {
			memcpy(p, table, tl);
			p += tl;
			tmpl += 2;
		} else
			*p++ = *tmpl++;
	}
	*p = '\0';
	return s;
}

/* Create the table and its index if missing. */
static int
tstore_schema(struct tstore *ts, char **errmsg)
{
	char sql[512];
	char *err = NULL;

	snprintf(sql, sizeof sql,
	    "CREATE TABLE IF NOT EXISTS %s (e TEXT NOT NULL, a TEXT NOT NULL, "
	    "v TEXT NOT NULL, t INTEGER NOT NULL, PRIMARY KEY (e, a, v)) "
	    "WITHOUT ROWID;"
	    "DROP INDEX IF EXISTS %s_ave;"
	    "CREATE INDEX IF NOT EXISTS %s_avet ON %s (a, v, e, t);",
	    ts->table, ts->table, ts->table, ts->table);
	if (sqlite3_exec(ts->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		if (errmsg != NULL)
			*errmsg = strdup(err != NULL ? err : "schema failed");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* Prepare every statement once. */
static int
tstore_prepare_all(struct tstore *ts, char **errmsg)
{
	int i;

	for (i = 0; i < SQL_MAX; i++) {
		ts->sql[i] = tstore_format(tstore_templates[i], ts->table);
		if (ts->sql[i] == NULL) {
			if (errmsg != NULL)
				*errmsg = strdup("out of memory");
			return -1;
		}
		if (sqlite3_prepare_v3(ts->db, ts->sql[i], -1,
			SQLITE_PREPARE_PERSISTENT, &ts->stmt[i],
			NULL) != SQLITE_OK) {
			if (errmsg != NULL)
				*errmsg = strdup(sqlite3_errmsg(ts->db));
			return -1;
		}
	}
	return 0;
}

/* Open (creating if missing) the triple table named table in db. */
struct tstore *
tstore_create(sqlite3 *db, const char *table, char **errmsg)
{
	struct tstore *ts = NULL;

	if (errmsg != NULL)
		*errmsg = NULL;
	if (db == NULL || !tstore_ident_ok(table)) {
		if (errmsg != NULL)
			*errmsg = strdup("invalid database or table name");
		return NULL;
	}
	if ((ts = calloc(1, sizeof *ts)) == NULL ||
	    (ts->table = strdup(table)) == NULL) {
		if (errmsg != NULL)
			*errmsg = strdup("out of memory");
		goto fail;
	}
	ts->db = db;
	if (tstore_schema(ts, errmsg) != 0 ||
	    tstore_prepare_all(ts, errmsg) != 0)
		goto fail;
	return ts;
fail:
	tstore_free(ts);
	return NULL;
}

/* Finalize the statements and free the tstore (not the database). */
void
tstore_free(struct tstore *ts)
{
	int i;

	if (ts == NULL)
		return;
	for (i = 0; i < SQL_MAX; i++) {
		sqlite3_finalize(ts->stmt[i]);
		free(ts->sql[i]);
	}
	tcache_free(ts->cache);
	free(ts->table);
	free(ts);
}

/* Read PRAGMA data_version: 0, or -1. */
static int
tstore_data_version(struct tstore *ts, int64_t *v)
{
	sqlite3_stmt *st = ts->stmt[SQL_DATA_VERSION];
	int r = -1;

	if (sqlite3_step(st) != SQLITE_ROW) {
		tstore_set_err(ts, "data_version");
		goto out;
	}
	*v = sqlite3_column_int64(st, 0);
	r = 0;
out:
	sqlite3_reset(st);
	return r;
}

/* Keep up to budget bytes of entity scans in memory (0: none). */
int
tstore_cache(struct tstore *ts, size_t budget)
{
	tcache_free(ts->cache);
	ts->cache = NULL;
	if (budget == 0)
		return 0;
	if (tstore_data_version(ts, &ts->data_version) != 0)
		return -1;
	if ((ts->cache = tcache_create(budget)) == NULL) {
		snprintf(ts->err, sizeof ts->err, "out of memory");
		return -1;
	}
	return 0;
}

/* Forget what the cache holds of a triple (e, a, ...): before a write of
 * it. */
static void
tstore_forget_ea(struct tstore *ts, const char *e, const char *a)
{
	if (ts->cache == NULL || e == NULL || a == NULL)
		return;
	tcache_forget(ts->cache, e);
	tcache_forget_attr(ts->cache, a);
}

/* Forget what the cache holds of entity e, in any attr: before any write
 * to it. */
void
tstore_forget(struct tstore *ts, const char *e)
{
	if (ts->cache == NULL || e == NULL)
		return;
	tcache_forget(ts->cache, e);
	tcache_forget_columns(ts->cache);
}

/* Forget everything the cache holds. */
void
tstore_forget_all(struct tstore *ts)
{
	if (ts->cache == NULL)
		return;
	tcache_forget_all(ts->cache);
	tcache_forget_columns(ts->cache);
}

/* Whether the cache holds entity e. */
int
tstore_cache_has(struct tstore *ts, const char *e)
{
	return ts->cache != NULL && e != NULL && tcache_has(ts->cache, e);
}

/* Entities, attr columns and bytes the cache holds. */
void
tstore_cache_stats(const struct tstore *ts, size_t *entities,
    size_t *columns, size_t *bytes)
{
	size_t cb;

	*entities = *columns = *bytes = 0;
	if (ts->cache == NULL)
		return;
	tcache_stats(ts->cache, entities, bytes);
	tcache_col_stats(ts->cache, columns, &cb);
	*bytes += cb;
}

/* The last error message for this store. */
const char *
tstore_errmsg(const struct tstore *ts)
{
	return ts->err;
}

/* Bind text parameter i, or fail. */
static int
tstore_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return -1;
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) == SQLITE_OK ?
	    0 : -1;
}

/* Bind up to three text parameters (NULL ends the list). */
static int
tstore_bind3(sqlite3_stmt *st, const char *p1, const char *p2,
    const char *p3)
{
	const char *p[3] = { p1, p2, p3 };
	int i;

	for (i = 0; i < 3 && p[i] != NULL; i++)
		if (tstore_bind_text(st, i + 1, p[i]) != 0)
			return -1;
	return 0;
}

/* Run a write statement with up to three text parameters. */
static int
tstore_exec(struct tstore *ts, enum tstore_sql which, const char *p1,
    const char *p2, const char *p3)
{
	sqlite3_stmt *st = ts->stmt[which];
	int r = -1;

	if (tstore_bind3(st, p1, p2, p3) != 0) {
		tstore_set_err(ts, "bind");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		tstore_set_err(ts, "step");
		goto out;
	}
	r = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

/* Add a triple; an existing (e, a, v) keeps its t. */
int
tstore_add(struct tstore *ts, const char *e, const char *a, const char *v,
    int64_t t)
{
	sqlite3_stmt *st = ts->stmt[SQL_ADD];
	int r = -1;

	tstore_forget_ea(ts, e, a);
	if (tstore_bind3(st, e, a, v) != 0 ||
	    sqlite3_bind_int64(st, 4, t) != SQLITE_OK) {
		tstore_set_err(ts, "bind");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		tstore_set_err(ts, "add");
		goto out;
	}
	r = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

/* Start a read snapshot: every scan until tstore_read_end sees the same
 * state, in one read transaction (nests in the caller's transaction). */
int
tstore_read_begin(struct tstore *ts)
{
	int64_t v;

	if (tstore_exec(ts, SQL_READ_BEGIN, NULL, NULL, NULL) != 0)
		return -1;
	if (ts->cache == NULL)
		return 0;
	if (tstore_data_version(ts, &v) != 0) {
		tstore_exec(ts, SQL_READ_END, NULL, NULL, NULL);
		return -1;
	}
	if (v != ts->data_version)
		tstore_forget_all(ts);
	ts->data_version = v;
	tcache_read_begin(ts->cache);
	return 0;
}

/* End a read snapshot. */
int
tstore_read_end(struct tstore *ts)
{
	return tstore_exec(ts, SQL_READ_END, NULL, NULL, NULL);
}

/* Remove one triple. */
int
tstore_retract(struct tstore *ts, const char *e, const char *a,
    const char *v)
{
	if (v == NULL)
		return -1;
	tstore_forget_ea(ts, e, a);
	return tstore_exec(ts, SQL_RETRACT, e, a, v);
}

/* Remove every value of attr a on entity e. */
int
tstore_retract_ea(struct tstore *ts, const char *e, const char *a)
{
	if (a == NULL)
		return -1;
	tstore_forget_ea(ts, e, a);
	return tstore_exec(ts, SQL_RETRACT_EA, e, a, NULL);
}

/* Remove every triple of entity e. */
int
tstore_retract_e(struct tstore *ts, const char *e)
{
	if (e == NULL)
		return -1;
	tstore_forget(ts, e);
	return tstore_exec(ts, SQL_RETRACT_E, e, NULL, NULL);
}

/* Remove every triple. */
int
tstore_clear(struct tstore *ts)
{
	tstore_forget_all(ts);
	return tstore_exec(ts, SQL_CLEAR, NULL, NULL, NULL);
}

/* The statement for a read: the cached one, or a private copy when the
 * cached one is stepping in an enclosing scan (*owned is then set). */
static sqlite3_stmt *
tstore_read_stmt(struct tstore *ts, enum tstore_sql which, int *owned)
{
	sqlite3_stmt *st = ts->stmt[which];

	*owned = 0;
	if (!sqlite3_stmt_busy(st))
		return st;
	if (sqlite3_prepare_v2(ts->db, ts->sql[which], -1, &st, NULL) !=
	    SQLITE_OK) {
		tstore_set_err(ts, "prepare");
		return NULL;
	}
	*owned = 1;
	return st;
}

/* Release a statement from tstore_read_stmt. */
static void
tstore_release(sqlite3_stmt *st, int owned)
{
	if (owned) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Step st to the end, calling cb for each row: 0, the callback's nonzero
 * value, or -1 on error. */
static int
tstore_rows(struct tstore *ts, sqlite3_stmt *st, tstore_cb cb, void *arg)
{
	struct triple tr;
	int rc, stop;

	tr.eb = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		tr.e = (const char *)sqlite3_column_text(st, 0);
		tr.a = (const char *)sqlite3_column_text(st, 1);
		tr.v = (const char *)sqlite3_column_text(st, 2);
		tr.t = sqlite3_column_int64(st, 3);
		if (tr.e == NULL || tr.a == NULL || tr.v == NULL) {
			snprintf(ts->err, sizeof ts->err, "null column");
			return -1;
		}
		if ((stop = cb(arg, &tr)) != 0)
			return stop;
	}
	if (rc != SQLITE_DONE) {
		tstore_set_err(ts, "scan");
		return -1;
	}
	return 0;
}

/* Run a scan statement with up to two text parameters. */
static int
tstore_scan(struct tstore *ts, enum tstore_sql which, const char *p1,
    const char *p2, tstore_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int owned, r;

	if ((st = tstore_read_stmt(ts, which, &owned)) == NULL)
		return -1;
	if (tstore_bind3(st, p1, p2, NULL) != 0) {
		tstore_set_err(ts, "bind");
		r = -1;
	} else
		r = tstore_rows(ts, st, cb, arg);
	tstore_release(st, owned);
	return r;
}

/* An entity scan read from SQLite on its way into the cache. */
struct tstore_fill {
	struct tcache *cache;
	struct tcache_fill f;
	tstore_cb cb;
	void *arg;
};

/* Callback: keep the row, then pass it on. */
static int
tstore_fill_cb(void *arg, const struct triple *tr)
{
	struct tstore_fill *fl = arg;

	tcache_fill_row(fl->cache, &fl->f, tr);
	return fl->cb(fl->arg, tr);
}

/* Every triple of entity e. */
int
tstore_scan_e(struct tstore *ts, const char *e, tstore_cb cb, void *arg)
{
	struct tstore_fill fl;
	int hit, r;

	if (e == NULL)
		return -1;
	if (ts->cache == NULL)
		return tstore_scan(ts, SQL_SCAN_E, e, NULL, cb, arg);
	r = tcache_scan(ts->cache, e, NULL, cb, arg, &hit);
	if (hit)
		return r;
	if (sqlite3_txn_state(ts->db, "main") == SQLITE_TXN_WRITE)
		return tstore_scan(ts, SQL_SCAN_E, e, NULL, cb, arg);
	fl.cache = ts->cache;
	fl.cb = cb;
	fl.arg = arg;
	tcache_fill_begin(ts->cache, &fl.f);
	r = tstore_scan(ts, SQL_SCAN_E, e, NULL, tstore_fill_cb, &fl);
	tcache_fill_end(ts->cache, &fl.f, e, r == 0);
	return r;
}

/* Every value of attr a on entity e. */
int
tstore_scan_ea(struct tstore *ts, const char *e, const char *a, tstore_cb cb,
    void *arg)
{
	int hit = 0, r;

	if (e == NULL || a == NULL)
		return -1;
	if (ts->cache != NULL) {
		r = tcache_scan(ts->cache, e, a, cb, arg, &hit);
		if (hit)
			return r;
	}
	return tstore_scan(ts, SQL_SCAN_EA, e, a, cb, arg);
}

/* An attr scan read from SQLite on its way into the cache's column, with
 * the filter of scan_av (v) or of scan_a_has (has), if any. */
struct tstore_colfill {
	struct tcache *cache;
	struct tcache_colfill f;
	const char *v, *has;
	tstore_cb cb;
	void *arg;
};

/* Callback: keep the row, then pass it on if it passes the filter. */
static int
tstore_colfill_cb(void *arg, const struct triple *tr)
{
	struct tstore_colfill *fl = arg;

	tcache_col_row(fl->cache, &fl->f, tr);
	if (fl->v != NULL && strcmp(tr->v, fl->v) != 0)
		return 0;
	if (fl->has != NULL && strstr(tr->v, fl->has) == NULL)
		return 0;
	return fl->cb(fl->arg, tr);
}

/* A value scan read from SQLite: its rows are counted. */
struct tstore_avcount {
	size_t n;
	tstore_cb cb;
	void *arg;
};

/* Callback: count the row and pass it on. */
static int
tstore_avcount_cb(void *arg, const struct triple *tr)
{
	struct tstore_avcount *c = arg;

	c->n++;
	return c->cb(c->arg, tr);
}

/* A value scan from SQLite, its rows counted towards the fill of the
 * attr's column (tcache_col_note) when there is a cache. */
static int
tstore_scan_av_sql(struct tstore *ts, const char *a, const char *v,
    tstore_cb cb, void *arg)
{
	struct tstore_avcount ac = { 0, cb, arg };
	int r;

	if (ts->cache == NULL)
		return tstore_scan(ts, SQL_SCAN_AV, a, v, cb, arg);
	r = tstore_scan(ts, SQL_SCAN_AV, a, v, tstore_avcount_cb, &ac);
	tcache_col_note(ts->cache, a, ac.n);
	return r;
}

/* An attr scan: from the column of a, or from SQLite, which fills the
 * column outside a write transaction when it would be kept
 * (tcache_col_wanted; for a value scan, only once value scans have
 * earned it: tcache_col_due).  v: only that value; has: only
 * values that contain it. */
static int
tstore_scan_attr(struct tstore *ts, const char *a, const char *v,
    const char *has, tstore_cb cb, tstore_ahead_cb ahead, void *arg)
{
	struct tstore_colfill fl;
	int hit = 0, r;

	if (ts->cache != NULL) {
		r = tcache_col_scan_ahead(ts->cache, a, v, has, cb, ahead, arg,
		    &hit);
		if (hit)
			return r;
	}
	if (ts->cache == NULL ||
	    sqlite3_txn_state(ts->db, "main") == SQLITE_TXN_WRITE ||
	    !(v == NULL ? tcache_col_wanted(ts->cache, a) :
	    tcache_col_due(ts->cache, a))) {
		if (v != NULL)
			return tstore_scan_av_sql(ts, a, v, cb, arg);
		if (has != NULL)
			return tstore_scan(ts, SQL_SCAN_A_HAS, a, has, cb,
			    arg);
		return tstore_scan(ts, SQL_SCAN_A, a, NULL, cb, arg);
	}
	fl.cache = ts->cache;
	fl.v = v;
	fl.has = has;
	fl.cb = cb;
	fl.arg = arg;
	tcache_col_begin(ts->cache, &fl.f);
	r = tstore_scan(ts, SQL_SCAN_A, a, NULL, tstore_colfill_cb, &fl);
	tcache_col_end(ts->cache, &fl.f, a, r == 0);
	return r;
}

/* Every triple of attr a, in (v, e) order. */
int
tstore_scan_a(struct tstore *ts, const char *a, tstore_cb cb, void *arg)
{
	return tstore_scan_a_ahead(ts, a, cb, NULL, arg);
}

/* The same, with hints of the rows to come. */
int
tstore_scan_a_ahead(struct tstore *ts, const char *a, tstore_cb cb,
    tstore_ahead_cb ahead, void *arg)
{
	if (a == NULL)
		return -1;
	return tstore_scan_attr(ts, a, NULL, NULL, cb, ahead, arg);
}

/* Every triple (*, a, v), in e order. */
int
tstore_scan_av(struct tstore *ts, const char *a, const char *v, tstore_cb cb,
    void *arg)
{
	if (a == NULL || v == NULL)
		return -1;
	return tstore_scan_attr(ts, a, v, NULL, cb, NULL, arg);
}

/* Every triple of attr a whose value text contains text, in (v, e)
 * order. */
int
tstore_scan_a_has(struct tstore *ts, const char *a, const char *text,
    tstore_cb cb, void *arg)
{
	if (a == NULL || text == NULL)
		return -1;
	return tstore_scan_attr(ts, a, NULL, text, cb, NULL, arg);
}

/* Every triple. */
int
tstore_scan_all(struct tstore *ts, tstore_cb cb, void *arg)
{
	return tstore_scan(ts, SQL_SCAN_ALL, NULL, NULL, cb, arg);
}

/* Step st, a bound single-row query whose first column is an integer,
 * and release it. */
static int
tstore_scalar_step(struct tstore *ts, sqlite3_stmt *st, int owned,
    int64_t *out)
{
	int rc, r = -1;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	else {
		tstore_set_err(ts, "query");
		goto out;
	}
	r = 0;
out:
	tstore_release(st, owned);
	return r;
}

/* A single-row integer query with up to two text parameters. */
static int
tstore_scalar(struct tstore *ts, enum tstore_sql which, const char *p1,
    const char *p2, int64_t *out)
{
	sqlite3_stmt *st;
	int owned;

	if ((st = tstore_read_stmt(ts, which, &owned)) == NULL)
		return -1;
	if (tstore_bind3(st, p1, p2, NULL) != 0) {
		tstore_set_err(ts, "bind");
		tstore_release(st, owned);
		return -1;
	}
	return tstore_scalar_step(ts, st, owned, out);
}

/* Callback: stop at the first row. */
static int
tstore_found_cb(void *arg, const struct triple *tr)
{
	(void)arg;
	(void)tr;
	return 1;
}

/* Whether entity e has any value for attr a. */
int
tstore_has_ea(struct tstore *ts, const char *e, const char *a, int *found)
{
	int64_t n = 0;
	int hit = 0;

	if (e == NULL || a == NULL)
		return -1;
	if (ts->cache != NULL) {
		n = tcache_scan(ts->cache, e, a, tstore_found_cb, NULL, &hit);
		if (hit) {
			*found = n != 0;
			return 0;
		}
	}
	if (tstore_scalar(ts, SQL_HAS_EA, e, a, &n) != 0)
		return -1;
	*found = n != 0;
	return 0;
}

/* The number of triples. */
int
tstore_count(struct tstore *ts, int64_t *n)
{
	return tstore_scalar(ts, SQL_COUNT, NULL, NULL, n);
}

/* The number of triples of attr a. */
int
tstore_count_a(struct tstore *ts, const char *a, int64_t *n)
{
	if (a == NULL)
		return -1;
	if (ts->cache != NULL && tcache_col_count(ts->cache, a, n))
		return 0;
	return tstore_scalar(ts, SQL_COUNT_A, a, NULL, n);
}

/* The number of triples of attr a, counting no further than max. */
int
tstore_count_a_max(struct tstore *ts, const char *a, int64_t max,
    int64_t *n)
{
	sqlite3_stmt *st;
	int owned;

	if (a == NULL)
		return -1;
	if (ts->cache != NULL && tcache_col_count(ts->cache, a, n)) {
		if (max >= 0 && *n > max) /* LIMIT -1: no limit */
			*n = max;
		return 0;
	}
	if ((st = tstore_read_stmt(ts, SQL_COUNT_A_MAX, &owned)) == NULL)
		return -1;
	if (tstore_bind_text(st, 1, a) != 0 ||
	    sqlite3_bind_int64(st, 2, max) != SQLITE_OK) {
		tstore_set_err(ts, "bind");
		tstore_release(st, owned);
		return -1;
	}
	return tstore_scalar_step(ts, st, owned, n);
}

/*
 * Canonical value text.  JSON as JavaScript's JSON.stringify would print it
 * for the same value, except that object keys are sorted: numbers in the
 * shortest form that reads back to the same double, integral values without
 * a fraction.
 */

/* Format a double in the shortest text that reads back to it. */
static void
tstore_fmt_real(double d, char *buf, size_t size)
{
	int prec;

	if (!isfinite(d)) {
		snprintf(buf, size, "null");
		return;
	}
	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		snprintf(buf, size, "%.0f", d == 0 ? 0.0 : d);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

static void tstore_dump(struct textbuf *, const json_t *, int depth);

/* Compare two C strings for qsort. */
static int
tstore_key_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Append an object with its keys sorted. */
static void
tstore_dump_object(struct textbuf *b, const json_t *v, int depth)
{
	size_t n = json_object_size(v), i = 0;
	const char **keys;
	const char *k;
	json_t *x;

	if ((keys = calloc(n ? n : 1, sizeof *keys)) == NULL) {
		b->err = 1;
		return;
	}
	json_object_foreach((json_t *)v, k, x)
		keys[i++] = k;
	qsort(keys, n, sizeof *keys, tstore_key_cmp);
	textbuf_puts(b, "{");
	for (i = 0; i < n; i++) {
		if (i > 0)
			textbuf_puts(b, ",");
		jsontext_append_string(b, keys[i], strlen(keys[i]));
		textbuf_puts(b, ":");
		tstore_dump(b, json_object_get(v, keys[i]), depth + 1);
	}
	textbuf_puts(b, "}");
	free(keys);
}

/* Append an array. */
static void
tstore_dump_array(struct textbuf *b, const json_t *v, int depth)
{
	size_t i;

	textbuf_puts(b, "[");
	for (i = 0; i < json_array_size(v); i++) {
		if (i > 0)
			textbuf_puts(b, ",");
		tstore_dump(b, json_array_get(v, i), depth + 1);
	}
	textbuf_puts(b, "]");
}

/* Append any value as canonical JSON. */
static void
tstore_dump(struct textbuf *b, const json_t *v, int depth)
{
	char num[64];

	if (depth > 256) {
		b->err = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		tstore_dump_object(b, v, depth);
		break;
	case JSON_ARRAY:
		tstore_dump_array(b, v, depth);
		break;
	case JSON_STRING:
		jsontext_append_string(b, json_string_value(v),
		    json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		textbuf_puts(b, num);
		break;
	case JSON_REAL:
		tstore_fmt_real(json_real_value(v), num, sizeof num);
		textbuf_puts(b, num);
		break;
	case JSON_TRUE:
		textbuf_puts(b, "true");
		break;
	case JSON_FALSE:
		textbuf_puts(b, "false");
		break;
	default:
		textbuf_puts(b, "null");
		break;
	}
}

/* Canonical JSON text of a value; caller frees; NULL on failure. */
char *
tstore_value_text(const json_t *v)
{
	struct textbuf b = { NULL, 0, 0, 0 };

	if (v == NULL)
		return NULL;
	tstore_dump(&b, v, 0);
	if (b.err) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
