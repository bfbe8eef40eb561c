/*
 * store.c: the per-app SQLite files of the daemon.
 *
 * Two files.  <path> holds what cannot be had again: the attrs, the outbox,
 * the server's results (queries, and base, engine/sync.c) and kv.  It runs
 * in WAL mode, synchronous=FULL unless configured NORMAL, and is attached
 * to the connection as "durable".  <path>-view holds the view (triples,
 * engine/tstore.c): base with the outbox replayed over it, which the
 * daemon can always build again from those two.  It is the connection's
 * main database, journaled in memory and never synced: a transaction
 * writes each page it changed once, in place, where a WAL writes it
 * twice (the log, then the checkpoint) and syncs.  Commits of the batch
 * cover both files, the view first, so a failure writing either rolls
 * both back.
 *
 * The view file is trusted only after a clean close.  Opening writes
 * kv "view" = "open" to the durable file (synced) before the view is
 * touched; a clean close writes a fresh token as the view's
 * user_version, syncs the view file, and then writes "clean <token>".
 * After a crash, a power loss, or with a view file that belongs to some
 * other copy of the store, the view file is made anew, empty, and
 * store_view_new says why: the daemon replays it before serving.
 *
 * Opening runs, in order: the view file (made anew when it is unreadable),
 * the durable file attached, WAL, synchronous, the schema migrations
 * (PRAGMA durable.user_version is the number of migrations applied; each
 * runs in the same write transaction as the version bump), the view's
 * trust, the view's table (engine/tstore owns it), the statements, and
 * loading the attr registry.  Any failure closes the handle and reports
 * "<path>: <reason>"; the durable file is never removed or rewritten, so
 * a corrupt store stays available for inspection.
 *
 * Layout of the durable file (version 3):
 *   attrs   (id TEXT PRIMARY KEY, json TEXT)
 *   outbox  (seq INTEGER PRIMARY KEY, tx TEXT UNIQUE, steps TEXT,
 *            tx_steps TEXT, client TEXT, created INTEGER, status TEXT,
 *            tx_id INTEGER, error TEXT)
 *   queries (canonical TEXT PRIMARY KEY, q TEXT, result (see store.h),
 *            page_info TEXT, processed_tx_id INTEGER, updated INTEGER)
 *   kv      (k TEXT PRIMARY KEY, v TEXT)
 * Value columns are TEXT, never JSON, so SQLite applies no numeric
 * affinity to them.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "engine/attrs.h"
#include "engine/store.h"
#include "engine/tstore.h"
#include "proto/jsontext.h"

#define STORE_BUSY_TIMEOUT_MS 5000

/*
 * The durable file's write-ahead log.  A commit that takes the WAL past
 * STORE_WAL_PAGES pages checkpoints it (copies its pages into the
 * database file) before the reply goes out; the next write transaction
 * then starts the log again from its beginning.  SQLite's default is
 * 1,000 pages: a larger log lets a checkpoint write each page once for
 * more of the transactions that changed it (48,000 transactions from 8
 * pipelining clients: 3,830 tx/s at 1,000 pages, 4,330 at 4,000, when
 * the view still shared this file and its log).
 *
 * A commit that makes the log file longer also makes fdatasync write
 * the file's new size and blocks, where one within the file's length
 * writes the frames alone.  Before the first write transaction of an
 * open store, the file is extended with zeros to the length of
 * STORE_WAL_PAGES frames, and synced once: from then on, commits write
 * within it.  Zeros past the log's last frame read as no frame at all,
 * as do the stale frames a restarted log leaves behind, so this changes
 * nothing SQLite reads; and it writes past the file's end only, under
 * the write lock, so no frame is ever overwritten.  Space is reserved
 * only on a file system with STORE_WAL_ROOM times as much free: where
 * space is short, the data comes before the speed of commits.
 */
#define STORE_WAL_PAGES 4000
#define STORE_WAL_HEADER 32       /* bytes of the WAL file's header */
#define STORE_WAL_FRAME_HEADER 24 /* ... and of each frame's */
#define STORE_WAL_ROOM 16

/* Migration n brings user_version from n to n + 1.  The durable file is
 * attached, so what it creates is named with its schema. */
static const char *const store_migrations[] = {
    "CREATE TABLE durable.attrs (id TEXT PRIMARY KEY, json TEXT NOT NULL) "
    "WITHOUT ROWID;"
    "CREATE TABLE durable.outbox (seq INTEGER PRIMARY KEY, "
    "tx TEXT NOT NULL UNIQUE, steps TEXT NOT NULL, "
    "tx_steps TEXT NOT NULL, client TEXT, created INTEGER NOT NULL, "
    "status TEXT NOT NULL DEFAULT 'enqueued' CHECK (status IN "
    "('enqueued', 'pending', 'synced', 'error')), tx_id INTEGER, "
    "error TEXT);"
    "CREATE TABLE durable.queries (canonical TEXT PRIMARY KEY, "
    "q TEXT NOT NULL, result TEXT NOT NULL, page_info TEXT, "
    "processed_tx_id INTEGER, updated INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE durable.kv (k TEXT PRIMARY KEY, v TEXT NOT NULL) "
    "WITHOUT ROWID;",
    /* 2: counting unsynced rows must not read their (large) steps. */
    "CREATE INDEX durable.outbox_status ON outbox (status, tx_id);",
    /* 3: the view moved to its own file. */
    "DROP TABLE IF EXISTS durable.triples;",
};
#define STORE_VERSION                                                          \
	((int)(sizeof store_migrations / sizeof store_migrations[0]))

enum store_sql {
	SQL_BEGIN,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_SAVEPOINT,
	SQL_RELEASE,
	SQL_ROLLBACK_TO,
	SQL_ATTRS_CLEAR,
	SQL_ATTRS_PUT,
	SQL_ATTRS_ALL,
	SQL_OUTBOX_APPEND,
	SQL_OUTBOX_SCAN,
	SQL_OUTBOX_UNSENT,
	SQL_OUTBOX_COVERED,
	SQL_OUTBOX_RETAG,
	SQL_OUTBOX_MAX_SEQ,
	SQL_OUTBOX_STATUS,
	SQL_OUTBOX_DELETE,
	SQL_OUTBOX_EXPIRE,
	SQL_OUTBOX_UNSYNCED,
	SQL_QUERY_PUT,
	SQL_QUERY_GET,
	SQL_QUERY_DELETE,
	SQL_QUERY_SCAN,
	SQL_QUERY_MIN,
	SQL_QUERY_PAGE_INFO,
	SQL_KV_GET,
	SQL_KV_SET,
	SQL_KV_DELETE,
	SQL_MAX
};

static const char *const store_sql[SQL_MAX] = {
    [SQL_BEGIN] = "BEGIN IMMEDIATE",
    [SQL_COMMIT] = "COMMIT",
    [SQL_ROLLBACK] = "ROLLBACK",
    [SQL_SAVEPOINT] = "SAVEPOINT store_tx",
    [SQL_RELEASE] = "RELEASE store_tx",
    [SQL_ROLLBACK_TO] = "ROLLBACK TO store_tx",
    [SQL_ATTRS_CLEAR] = "DELETE FROM attrs",
    [SQL_ATTRS_PUT] = "INSERT OR REPLACE INTO attrs (id, json) "
		      "VALUES (?1, ?2)",
    [SQL_ATTRS_ALL] = "SELECT json FROM attrs ORDER BY id",
    [SQL_OUTBOX_APPEND] = "INSERT INTO outbox (seq, tx, steps, tx_steps, "
			  "client, created) VALUES (?6, ?1, ?2, ?3, ?4, ?5)",
    [SQL_OUTBOX_SCAN] = "SELECT seq, tx, steps, tx_steps, client, created, "
			"status, tx_id, error FROM outbox ORDER BY seq",
    /* A range of the primary key: +status keeps the status index out. */
    [SQL_OUTBOX_UNSENT] = "SELECT seq, tx, steps, tx_steps, client, "
			  "created, status, tx_id, error FROM outbox "
			  "WHERE seq > ?1 AND +status IN ('enqueued', "
			  "'pending') AND tx_id IS NULL ORDER BY seq",
    [SQL_OUTBOX_COVERED] = "SELECT seq, tx, steps, tx_steps, client, "
			   "created, status, tx_id, error FROM outbox "
			   "WHERE status = 'synced' AND (tx_id IS NULL OR "
			   "tx_id <= ?1) ORDER BY seq",
    [SQL_OUTBOX_RETAG] = "UPDATE outbox SET tx_id = ?2 "
			 "WHERE status = 'synced' AND tx_id = ?1",
    [SQL_OUTBOX_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM outbox",
    [SQL_OUTBOX_STATUS] =
	"UPDATE outbox SET status = ?2, "
	"tx_id = coalesce(?3, tx_id), error = coalesce(?4, error) "
	"WHERE tx = ?1",
    [SQL_OUTBOX_DELETE] = "DELETE FROM outbox WHERE tx = ?1",
    /* Through the status index: the other rows are not read. */
    [SQL_OUTBOX_EXPIRE] = "DELETE FROM outbox WHERE status = 'error' "
			  "AND created < ?1",
    [SQL_OUTBOX_UNSYNCED] = "SELECT count(*) FROM outbox "
			    "WHERE status IN ('enqueued', 'pending')",
    [SQL_QUERY_PUT] = "INSERT OR REPLACE INTO queries (canonical, q, "
		      "result, page_info, processed_tx_id, updated) "
		      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_QUERY_GET] = "SELECT q, result, page_info, processed_tx_id, "
		      "updated FROM queries WHERE canonical = ?1",
    [SQL_QUERY_DELETE] = "DELETE FROM queries WHERE canonical = ?1",
    [SQL_QUERY_SCAN] = "SELECT q, result, page_info, processed_tx_id, "
		       "updated FROM queries ORDER BY canonical",
    [SQL_QUERY_MIN] = "SELECT min(processed_tx_id) FROM queries "
		      "WHERE processed_tx_id >= 0",
    [SQL_QUERY_PAGE_INFO] = "SELECT page_info FROM queries "
			    "WHERE canonical = ?1",
    [SQL_KV_GET] = "SELECT v FROM kv WHERE k = ?1",
    [SQL_KV_SET] = "INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)",
    [SQL_KV_DELETE] = "DELETE FROM kv WHERE k = ?1",
};

static const char *const store_status_names[] = {
    [STORE_TX_ENQUEUED] = "enqueued",
    [STORE_TX_PENDING] = "pending",
    [STORE_TX_SYNCED] = "synced",
    [STORE_TX_ERROR] = "error",
};

struct store {
	char *path;
	char *view_path;	/* <path>-view */
	const char *view_new;	/* why the view was made anew, or NULL */
	int view_bad;	/* the last failure was the view file's */
	int view_open;	/* kv says "open": a clean close says "clean" */
	sqlite3 *db;
	struct tstore *view;
	struct attrs *attrs;
	sqlite3_stmt *stmt[SQL_MAX];
	int64_t last_seq;	/* the highest seq this store handed out */
	uint64_t generation;	/* transactions rolled back so far */
	uint64_t query_changes;	/* results put or deleted, and rollbacks */
	int corrupt; /* a failure said the file is not a usable database */
	off_t wal_bytes;  /* the WAL file's length to reserve (0: none) */
	int wal_reserved; /* ... done, or tried, in this open */
	char err[512];
};

/* Note whether SQLite's last error says the file is unusable. */
static void
store_note_code(struct store *st)
{
	int rc = sqlite3_errcode(st->db) & 0xff;

	if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
		st->corrupt = 1;
}

/* Record an error message prefixed with the store's path. */
static int __attribute__((format(printf, 2, 3)))
store_fail(struct store *st, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(st->err, sizeof st->err, "%s: %s", st->path, msg);
	return -1;
}

/* Record the database's last error. */
static int
store_fail_db(struct store *st, const char *what)
{
	store_note_code(st);
	return store_fail(st, "%s: %s", what, sqlite3_errmsg(st->db));
}

/* Finish a statement: reset it and map the step result to 0 / -1. */
static int
store_done(struct store *st, sqlite3_stmt *s, int rc, const char *what)
{
	int r =
	    rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_fail_db(st, what);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r;
}

/* Run a statement that returns no rows. */
static int
store_step(struct store *st, enum store_sql i, const char *what)
{
	return store_done(st, st->stmt[i], sqlite3_step(st->stmt[i]), what);
}

/* Bind text (NULL binds NULL). */
static int
store_bind_text(sqlite3_stmt *s, int col, const char *text)
{
	if (text == NULL)
		return sqlite3_bind_null(s, col);
	return sqlite3_bind_text(s, col, text, -1, SQLITE_TRANSIENT);
}

/* Bind a JSON value as its compact text (NULL binds NULL). */
static int
store_bind_json(sqlite3_stmt *s, int col, const json_t *v)
{
	char *text;
	size_t len;

	if (v == NULL)
		return sqlite3_bind_null(s, col);
	if ((text = jsontext_dump(v, 0, &len)) == NULL)
		return SQLITE_NOMEM;
	/* SQLite frees the text when it is done with it. */
	return sqlite3_bind_text64(s, col, text, len, free, SQLITE_UTF8);
}

/* Bind an integer, or NULL when negative. */
static int
store_bind_opt_int(sqlite3_stmt *s, int col, int64_t v)
{
	if (v < 0)
		return sqlite3_bind_null(s, col);
	return sqlite3_bind_int64(s, col, v);
}

/* Column as an integer, or -1 when NULL. */
static int64_t
store_opt_int(sqlite3_stmt *s, int col)
{
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return -1;
	return sqlite3_column_int64(s, col);
}

/* Run one SQL text with sqlite3_exec. */
static int
store_exec(struct store *st, const char *sql, const char *what)
{
	char *err = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &err) == SQLITE_OK)
		return 0;
	store_note_code(st);
	store_fail(st, "%s: %s", what,
		   err != NULL ? err : sqlite3_errmsg(st->db));
	sqlite3_free(err);
	return -1;
}

/* The single integer or text result of a pragma query into *out. */
static int
store_pragma(struct store *st, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *v;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail_db(st, sql);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		v = sqlite3_column_text(s, 0);
		snprintf(out, len, "%s", v != NULL ? (const char *)v : "");
	} else
		out[0] = '\0';
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_fail_db(st, sql);
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

/*
 * The view file: journaled in memory, never synced (see the top of this
 * file), and locked for this connection alone.  Queries read the triples
 * and their index again and again: a page cache of 16 MiB (SQLite's
 * default is 2) keeps a store of some 10,000 entities in memory instead
 * of read from the file each time, and bounds what a larger store can add
 * to the daemon's memory.  Reading its header and schema here finds a
 * file that is not a database before anything else is done.
 */
static int
store_view_pragmas(struct store *st)
{
	char mode[32], buf[32];

	if (store_pragma(st, "PRAGMA main.journal_mode=MEMORY", mode,
	    sizeof mode) != 0 ||
	    store_exec(st, "PRAGMA main.synchronous=OFF", "view sync") != 0 ||
	    store_exec(st, "PRAGMA main.locking_mode=EXCLUSIVE",
	    "view locking") != 0 ||
	    store_exec(st, "PRAGMA main.cache_size=-16384", "view cache") != 0 ||
	    store_pragma(st, "SELECT count(*) FROM main.sqlite_schema", buf,
	    sizeof buf) != 0)
		return -1;
	if (strcmp(mode, "memory") != 0)
		return store_fail(st, "cannot journal the view in memory "
		    "(journal mode %s)", mode);
	return 0;
}

/* Attach the durable file. */
static int
store_attach(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "ATTACH ?1 AS durable", -1, &s,
	    NULL) != SQLITE_OK)
		return store_fail_db(st, "attach");
	sqlite3_bind_text(s, 1, st->path, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_fail_db(st, "open");
}

/* The durable file: WAL, the page cache and the synchronous level. */
static int
store_pragmas(struct store *st, const struct store_opts *opts)
{
	char mode[32], buf[32], sql[64];
	long page;

	if (store_pragma(st, "PRAGMA durable.journal_mode=WAL", mode,
	    sizeof mode) != 0)
		return -1;
	if (strcmp(mode, "wal") != 0)
		return store_fail(st, "cannot use WAL (journal mode %s)", mode);
	/* The outbox, and base when server results are applied. */
	if (store_exec(st, "PRAGMA durable.cache_size=-8192", "cache size") != 0)
		return -1;
	/* Each transaction of a batch runs in its own savepoint, whose
	 * journal holds the original of every page the transaction changes.
	 * SQLite moves that journal to a temporary file past 64 KiB and then
	 * keeps the file, and writing every page to it, until the batch
	 * commits: more page writes than the WAL itself.  In memory it
	 * is emptied as each transaction's savepoint is released, so it
	 * holds one transaction's pages at most. */
	if (store_exec(st, "PRAGMA temp_store=MEMORY", "temporary store") != 0)
		return -1;
	snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint=%d",
	    STORE_WAL_PAGES);
	if (store_exec(st, sql, "WAL checkpoint size") != 0 ||
	    store_pragma(st, "PRAGMA durable.page_size", buf, sizeof buf) != 0)
		return -1;
	page = strtol(buf, NULL, 10);
	if (page >= 512)
		st->wal_bytes = STORE_WAL_HEADER + (off_t)STORE_WAL_PAGES *
		    (STORE_WAL_FRAME_HEADER + page);
	return store_exec(st,
			  opts->sync_normal ? "PRAGMA durable.synchronous=NORMAL"
					    : "PRAGMA durable.synchronous=FULL",
			  "synchronous");
}

/* Apply the migrations the file lacks, each with its version bump. */
static int
store_migrate(struct store *st)
{
	char buf[32], sql[64];
	int version, i;

	if (store_exec(st, "BEGIN IMMEDIATE", "migration") != 0)
		return -1;
	if (store_pragma(st, "PRAGMA durable.user_version", buf,
	    sizeof buf) != 0)
		goto fail;
	version = atoi(buf);
	if (version > STORE_VERSION) {
		store_fail(st,
			   "store version %d is newer than this program "
			   "(%d)",
			   version, STORE_VERSION);
		goto fail;
	}
	for (i = version; i < STORE_VERSION; i++) {
		snprintf(sql, sizeof sql, "PRAGMA durable.user_version=%d",
		    i + 1);
		if (store_exec(st, store_migrations[i], "migration") != 0 ||
		    store_exec(st, sql, "migration") != 0)
			goto fail;
	}
	return store_exec(st, "COMMIT", "migration");
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Prepare every statement once. */
static int
store_prepare(struct store *st)
{
	int i;

	for (i = 0; i < SQL_MAX; i++)
		if (sqlite3_prepare_v3(st->db, store_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
				       NULL) != SQLITE_OK)
			return store_fail_db(st, store_sql[i]);
	return 0;
}

/* Fill the attr registry from the attrs table. */
static int
store_load_attrs(struct store *st)
{
	sqlite3_stmt *s = st->stmt[SQL_ATTRS_ALL];
	const char *why = NULL;
	json_t *attr;
	int rc, bad = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		attr = json_loads((const char *)sqlite3_column_text(s, 0), 0,
				  NULL);
		if (attr == NULL || attrs_put(st->attrs, attr, &why) != 0)
			bad = 1;
		json_decref(attr);
		if (bad)
			break;
	}
	if (bad) {
		sqlite3_reset(s);
		return store_fail(st, "stored attr unreadable: %s",
				  why != NULL ? why : "bad JSON");
	}
	return store_done(st, s, rc, "loading attrs");
}

/* Where the outbox's sequence stands. */
static int
store_load_seq(struct store *st)
{
	sqlite3_stmt *s = st->stmt[SQL_OUTBOX_MAX_SEQ];
	int rc;

	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		st->last_seq = sqlite3_column_int64(s, 0);
		rc = sqlite3_step(s);
	}
	return store_done(st, s, rc, "outbox sequence");
}

/* SQLite counts every allocation it makes in statistics behind a
 * process-wide mutex, for sqlite3_memory_used() and heap limits, which
 * the daemon does not use: without them, 4.4% fewer instructions
 * evaluate a query of 2,000 entities and 5.4% fewer apply a transaction
 * (callgrind). */
int
store_init(void)
{
	return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK ? 0 : -1;
}

/*
 * Connect: the view file as main (removed first when fresh), the durable
 * file attached and migrated.  A failure on the view file's side sets
 * view_bad and never corrupt: that file can always be made again.
 */
static int
store_connect(struct store *st, const struct store_opts *opts, int fresh)
{
	int busy = opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms
					     : STORE_BUSY_TIMEOUT_MS;
	int fd;

	if (fresh && unlink(st->view_path) != 0 && errno != ENOENT)
		return store_fail(st, "cannot remove %s: %s", st->view_path,
		    strerror(errno));
	/* The view holds the app's data: readable by its user alone.  A
	 * failure here is SQLite's to report. */
	if ((fd = open(st->view_path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) != -1)
		close(fd);
	if (sqlite3_open_v2(st->view_path, &st->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		st->view_bad = 1;
		return store_fail(st, "open %s: %s", st->view_path,
		    sqlite3_errmsg(st->db));
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (sqlite3_busy_timeout(st->db, busy) != SQLITE_OK)
		return store_fail_db(st, "busy timeout");
	if (store_view_pragmas(st) != 0) {
		st->view_bad = 1;
		st->corrupt = 0;
		return -1;
	}
	if (store_attach(st) != 0 || store_pragmas(st, opts) != 0 ||
	    store_migrate(st) != 0)
		return -1;
	return 0;
}

/* Whether the view file is the one a clean close left with this store;
 * if not, *why says so. */
static int
store_view_trusted(struct store *st, const char **why)
{
	char kv[64], version[32], want[64];

	*why = "its state could not be read";
	if (store_pragma(st, "SELECT v FROM durable.kv WHERE k = 'view'", kv,
	    sizeof kv) != 0 ||
	    store_pragma(st, "PRAGMA main.user_version", version,
	    sizeof version) != 0)
		return 0;
	snprintf(want, sizeof want, "clean %s", version);
	if (kv[0] == '\0')
		*why = "the store had none";
	else if (strcmp(kv, "open") == 0)
		*why = "the daemon did not stop cleanly";
	else if (strcmp(version, "0") == 0 || strcmp(kv, want) != 0)
		*why = "its file belongs to another copy of the store";
	else
		return 1;
	return 0;
}

/* Connect, with the view file made anew unless it can be trusted. */
static int
store_connect_view(struct store *st, const struct store_opts *opts)
{
	int fresh = access(st->view_path, F_OK) != 0;

	if (fresh)
		st->view_new = "the store had none";
	for (;;) {
		if (store_connect(st, opts, fresh) == 0) {
			if (fresh || store_view_trusted(st, &st->view_new))
				break;
		} else if (fresh || !st->view_bad)
			return -1;
		else
			st->view_new = "its file was unreadable";
		sqlite3_close(st->db);
		st->db = NULL;
		st->view_bad = st->corrupt = 0;
		fresh = 1;
	}
	if (!fresh)
		st->view_new = NULL;
	/* Synced before the view is written: a crash from now on leaves
	 * "open", and the next open makes the view anew. */
	if (store_exec(st, "INSERT OR REPLACE INTO durable.kv (k, v) VALUES "
	    "('view', 'open')", "marking the view open") != 0)
		return -1;
	st->view_open = 1;
	return 0;
}

/* The open steps after the connection. */
static int
store_setup(struct store *st, const struct store_opts *opts)
{
	char *err = NULL;

	if ((st->view = tstore_create(st->db, "triples", &err)) == NULL) {
		store_note_code(st);
		store_fail(st, "triples: %s", err != NULL ? err : "failed");
		free(err);
		return -1;
	}
	if (!opts->no_cache && tstore_cache(st->view, opts->cache_bytes > 0 ?
	    opts->cache_bytes : STORE_CACHE_BYTES) != 0)
		return store_fail(st, "triples: %s", tstore_errmsg(st->view));
	if ((st->attrs = attrs_create()) == NULL)
		return store_fail(st, "out of memory");
	if (store_prepare(st) != 0 || store_load_attrs(st) != 0 ||
	    store_load_seq(st) != 0)
		return -1;
	return 0;
}

/* SQLite's rollback hook: a transaction ended without committing, by
 * ROLLBACK or because an error made SQLite roll it back. */
static void
store_rolled_back(void *arg)
{
	struct store *st = arg;

	st->generation++;
	st->query_changes++;
}

/* Open the store at path. */
struct store *
store_open(const char *path, const struct store_opts *opts, char **errmsg)
{
	int corrupt;

	return store_try_open(path, opts, &corrupt, errmsg);
}

/* Open the store at path, telling a corrupt file from other failures. */
struct store *
store_try_open(const char *path, const struct store_opts *opts, int *corrupt,
	       char **errmsg)
{
	static const struct store_opts defaults;
	struct store *st;

	*errmsg = NULL;
	*corrupt = 0;
	if (opts == NULL)
		opts = &defaults;
	if ((st = calloc(1, sizeof *st)) == NULL ||
	    (st->path = strdup(path)) == NULL ||
	    (st->view_path = sqlite3_mprintf("%s-view", path)) == NULL) {
		if (st != NULL)
			free(st->path);
		free(st);
		*errmsg = strdup("out of memory");
		return NULL;
	}
	if (store_connect_view(st, opts) == 0 && store_setup(st, opts) == 0) {
		sqlite3_rollback_hook(st->db, store_rolled_back, st);
		return st;
	}
	*corrupt = st->corrupt;
	*errmsg = strdup(st->err);
	st->view_open = 0;
	store_free(st);
	return NULL;
}

/*
 * A clean close: a fresh token into the view file's header, the file
 * synced, then the token into kv.  Any failure leaves kv "open", and the
 * view is made anew at the next open.
 */
static void
store_view_close(struct store *st)
{
	char sql[64], v[32];
	uint32_t token;
	int fd, synced;

	/* user_version is a signed 32-bit number; 0 is a view never closed. */
	if (RAND_bytes((unsigned char *)&token, sizeof token) != 1)
		return;
	token &= 0x7fffffff;
	if (token == 0)
		token = 1;
	snprintf(sql, sizeof sql, "PRAGMA main.user_version=%lu",
	    (unsigned long)token);
	if (store_exec(st, sql, "closing the view") != 0)
		return;
	if ((fd = open(st->view_path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	synced = fdatasync(fd) == 0;
	close(fd);
	snprintf(v, sizeof v, "clean %lu", (unsigned long)token);
	if (synced)
		(void)store_kv_set(st, "view", v);
}

/* Close the store. */
void
store_free(struct store *st)
{
	int i;

	if (st == NULL)
		return;
	if (st->view_open && sqlite3_get_autocommit(st->db))
		store_view_close(st);
	for (i = 0; i < SQL_MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	tstore_free(st->view);
	attrs_free(st->attrs);
	sqlite3_close(st->db);
	sqlite3_free(st->view_path);
	free(st->path);
	free(st);
}

/* Why the view was made anew at this open (its file is empty and the
 * caller replays it), or NULL when it was kept. */
const char *
store_view_new(const struct store *st)
{
	return st->view_new;
}

/* The durable file's path. */
const char *
store_path(const struct store *st)
{
	return st->path;
}

/* The last error. */
const char *
store_errmsg(const struct store *st)
{
	return st->err;
}

/* The layout version this program writes. */
int
store_schema_version(void)
{
	return STORE_VERSION;
}

/* The attr registry. */
struct attrs *
store_attrs(struct store *st)
{
	return st->attrs;
}

/* The optimistic triple view. */
struct tstore *
store_view(struct store *st)
{
	return st->view;
}

/* The database handle (for txapply). */
sqlite3 *
store_db(struct store *st)
{
	return st->db;
}

/* Extend the WAL file with zeros to st->wal_bytes (see the top of this
 * file), once.  Only a matter of speed: a failure leaves the file as
 * SQLite wrote it, or longer by zeros, and is not reported. */
static void
store_wal_reserve(struct store *st)
{
	static const char zero[65536];
	const char *db = sqlite3_db_filename(st->db, "durable");
	char *path = NULL;
	struct statvfs fs;
	struct stat sb;
	off_t at;
	size_t n;
	ssize_t w;
	int fd = -1;

	st->wal_reserved = 1;
	if (st->wal_bytes == 0 || db == NULL || *db == '\0' ||
	    (path = sqlite3_mprintf("%s-wal", db)) == NULL)
		goto out;
	/* SQLite created the file when the store was first read. */
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size >= st->wal_bytes || fstatvfs(fd, &fs) == -1)
		goto out;
	if ((double)fs.f_bavail * (double)fs.f_frsize <
	    (double)STORE_WAL_ROOM * (double)(st->wal_bytes - sb.st_size))
		goto out;
	for (at = sb.st_size; at < st->wal_bytes; at += w) {
		n = st->wal_bytes - at < (off_t)sizeof zero ?
		    (size_t)(st->wal_bytes - at) : sizeof zero;
		if ((w = pwrite(fd, zero, n, at)) <= 0) {
			if (w == -1 && errno == EINTR) {
				w = 0;
				continue;
			}
			goto out;
		}
	}
	if (at > sb.st_size)
		(void)fdatasync(fd);
out:
	if (fd != -1)
		close(fd);
	sqlite3_free(path);
}

/* Start a write transaction. */
int
store_begin(struct store *st)
{
	if (store_step(st, SQL_BEGIN, "begin") != 0)
		return -1;
	/* Under the write lock: no other connection appends to the log. */
	if (!st->wal_reserved)
		store_wal_reserve(st);
	return 0;
}

/* Commit the write transaction. */
int
store_commit(struct store *st)
{
	return store_step(st, SQL_COMMIT, "commit");
}

/* Roll the write transaction back. */
int
store_rollback(struct store *st)
{
	return store_step(st, SQL_ROLLBACK, "rollback");
}

/* Start one transaction of the batch: a savepoint, prepared once (each
 * transaction of a batch has one, so parsing its SQL every time would
 * cost as much as some of the transaction's own writes). */
int
store_savepoint(struct store *st)
{
	return store_step(st, SQL_SAVEPOINT, "savepoint");
}

/* End the transaction of the batch: keep its writes, or undo them first.
 * The savepoint is released either way. */
int
store_release(struct store *st, int keep)
{
	int r = 0;

	if (!keep)
		r = store_step(st, SQL_ROLLBACK_TO, "rollback to savepoint");
	if (store_step(st, SQL_RELEASE, "release savepoint") != 0)
		r = -1;
	return r;
}

/* Replace the stored attrs with the registry. */
int
store_attrs_save(struct store *st)
{
	sqlite3_stmt *s = st->stmt[SQL_ATTRS_PUT];
	const struct attr *a;
	size_t i;

	if (store_exec(st, "SAVEPOINT store_attrs", "saving attrs") != 0)
		return -1;
	if (store_step(st, SQL_ATTRS_CLEAR, "clearing attrs") != 0)
		goto fail;
	for (i = 0; i < attrs_count(st->attrs); i++) {
		a = attrs_at(st->attrs, i);
		if (store_bind_text(s, 1, a->id) != SQLITE_OK ||
		    store_bind_json(s, 2, a->json) != SQLITE_OK) {
			sqlite3_reset(s);
			store_fail_db(st, "saving attrs");
			goto fail;
		}
		if (store_step(st, SQL_ATTRS_PUT, "saving attrs") != 0)
			goto fail;
	}
	return store_exec(st, "RELEASE store_attrs", "saving attrs");
fail:
	sqlite3_exec(st->db, "ROLLBACK TO store_attrs; RELEASE store_attrs",
		     NULL, NULL, NULL);
	return -1;
}

/* Append a transaction to the outbox (status enqueued). */
int
store_outbox_append(struct store *st, const char *tx, const json_t *steps,
		    const json_t *tx_steps, const char *client, int64_t created,
		    int64_t *seq)
{
	sqlite3_stmt *s = st->stmt[SQL_OUTBOX_APPEND];

	if (store_bind_text(s, 1, tx) != SQLITE_OK ||
	    store_bind_json(s, 2, steps) != SQLITE_OK ||
	    store_bind_json(s, 3, tx_steps) != SQLITE_OK ||
	    store_bind_text(s, 4, client) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 5, created) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 6, st->last_seq + 1) != SQLITE_OK) {
		sqlite3_reset(s);
		return store_fail_db(st, "outbox append");
	}
	if (store_step(st, SQL_OUTBOX_APPEND, "outbox append") != 0)
		return -1;
	/* Never handed out again while open, even after a delete or a
	 * rollback: a seq can serve as a cursor. */
	st->last_seq++;
	if (seq != NULL)
		*seq = st->last_seq;
	return 0;
}

/* Column text, or NULL. */
static const char *
store_text(sqlite3_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(s, col);
}

/* Read the current outbox row of s into tx. */
static int
store_outbox_row(sqlite3_stmt *s, struct store_tx *tx)
{
	tx->seq = sqlite3_column_int64(s, 0);
	tx->tx = store_text(s, 1);
	tx->steps = store_text(s, 2);
	tx->tx_steps = store_text(s, 3);
	tx->client = store_text(s, 4);
	tx->created = sqlite3_column_int64(s, 5);
	tx->tx_id = store_opt_int(s, 7);
	tx->error = store_text(s, 8);
	return store_tx_status_parse(store_text(s, 6), &tx->status);
}

/* Visit the rows statement s yields. */
static int
store_outbox_rows(struct store *st, sqlite3_stmt *s, store_tx_cb cb,
		  void *arg)
{
	struct store_tx tx;
	int rc, stop = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_outbox_row(s, &tx) != 0) {
			sqlite3_reset(s);
			return store_fail(st,
					  "outbox row %lld has a bad status",
					  (long long)tx.seq);
		}
		if ((stop = cb(arg, &tx)) != 0)
			break;
	}
	if (store_done(st, s, stop ? SQLITE_DONE : rc, "outbox scan") != 0)
		return -1;
	return stop;
}

/* Every row, oldest first. */
int
store_outbox_scan(struct store *st, store_tx_cb cb, void *arg)
{
	return store_outbox_rows(st, st->stmt[SQL_OUTBOX_SCAN], cb, arg);
}

/* Visit the rows of statement i, whose one parameter is bound to v. */
static int
store_outbox_rows_by(struct store *st, enum store_sql i, int64_t v,
		     store_tx_cb cb, void *arg)
{
	sqlite3_stmt *s = st->stmt[i];

	if (sqlite3_bind_int64(s, 1, v) != SQLITE_OK) {
		sqlite3_reset(s);
		return store_fail_db(st, "outbox scan");
	}
	return store_outbox_rows(st, s, cb, arg);
}

/* The rows after seq that the server has not acknowledged. */
int
store_outbox_scan_unsent(struct store *st, int64_t after, store_tx_cb cb,
			 void *arg)
{
	return store_outbox_rows_by(st, SQL_OUTBOX_UNSENT, after, cb, arg);
}

/* The synced rows with no tx-id or one at most max_tx_id. */
int
store_outbox_scan_covered(struct store *st, int64_t max_tx_id, store_tx_cb cb,
			  void *arg)
{
	return store_outbox_rows_by(st, SQL_OUTBOX_COVERED, max_tx_id, cb, arg);
}

/* Give the synced rows whose tx-id is from the tx-id to. */
int
store_outbox_retag(struct store *st, int64_t from, int64_t to)
{
	sqlite3_stmt *s = st->stmt[SQL_OUTBOX_RETAG];

	if (sqlite3_bind_int64(s, 1, from) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, to) != SQLITE_OK) {
		sqlite3_reset(s);
		return store_fail_db(st, "outbox retag");
	}
	return store_step(st, SQL_OUTBOX_RETAG, "outbox retag");
}

/* Set a transaction's status (and tx-id / error when given). */
int
store_outbox_set_status(struct store *st, const char *tx,
			enum store_tx_status status, int64_t tx_id,
			const json_t *error)
{
	sqlite3_stmt *s = st->stmt[SQL_OUTBOX_STATUS];

	if (store_bind_text(s, 1, tx) != SQLITE_OK ||
	    store_bind_text(s, 2, store_tx_status_name(status)) != SQLITE_OK ||
	    store_bind_opt_int(s, 3, tx_id) != SQLITE_OK ||
	    store_bind_json(s, 4, error) != SQLITE_OK) {
		sqlite3_reset(s);
		return store_fail_db(st, "outbox status");
	}
	if (store_step(st, SQL_OUTBOX_STATUS, "outbox status") != 0)
		return -1;
	return sqlite3_changes(st->db) == 0 ? 1 : 0;
}

/* Remove a transaction from the outbox. */
int
store_outbox_delete(struct store *st, const char *tx)
{
	sqlite3_stmt *s = st->stmt[SQL_OUTBOX_DELETE];

	if (store_bind_text(s, 1, tx) != SQLITE_OK) {
		sqlite3_reset(s);
		return store_fail_db(st, "outbox delete");
	}
	if (store_step(st, SQL_OUTBOX_DELETE, "outbox delete") != 0)
		return -1;
	return sqlite3_changes(st->db) == 0 ? 1 : 0;
}

/* Remove the rejected transactions created before before_ms. */
int
store_outbox_expire(struct store *st, int64_t before_ms, int64_t *n)
{
	sqlite3_stmt *s = st->stmt[SQL_OUTBOX_EXPIRE];

	*n = 0;
	if (sqlite3_bind_int64(s, 1, before_ms) != SQLITE_OK) {
		sqlite3_reset(s);
		return store_fail_db(st, "outbox expire");
	}
	if (store_step(st, SQL_OUTBOX_EXPIRE, "outbox expire") != 0)
		return -1;
	*n = sqlite3_changes(st->db);
	return 0;
}

/* Count the transactions not yet synced. */
int
store_outbox_unsynced(struct store *st, int64_t *n)
{
	sqlite3_stmt *s = st->stmt[SQL_OUTBOX_UNSYNCED];
	int rc = sqlite3_step(s);

	*n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	return store_done(st, s, rc, "outbox count");
}

/* The name of a status. */
const char *
store_tx_status_name(enum store_tx_status status)
{
	if ((unsigned)status >=
	    sizeof store_status_names / sizeof store_status_names[0])
		return NULL;
	return store_status_names[status];
}

/* The status of a name. */
int
store_tx_status_parse(const char *name, enum store_tx_status *out)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof store_status_names /
					    sizeof store_status_names[0];
	     i++)
		if (strcmp(name, store_status_names[i]) == 0) {
			*out = (enum store_tx_status)i;
			return 0;
		}
	return -1;
}

/* Bind the canonical key of q (sorted keys, compact). */
static int
store_bind_canonical(sqlite3_stmt *s, int col, const json_t *q)
{
	char *text = tstore_value_text(q);
	int rc;

	if (text == NULL)
		return SQLITE_NOMEM;
	rc = sqlite3_bind_text(s, col, text, -1, SQLITE_TRANSIENT);
	free(text);
	return rc;
}

/* Store the server's result for q: len bytes at result, kept as a blob. */
int
store_query_put(struct store *st, const json_t *q, const void *result,
		size_t len, const json_t *page_info, int64_t processed_tx_id,
		int64_t updated)
{
	sqlite3_stmt *s = st->stmt[SQL_QUERY_PUT];

	st->query_changes++;
	if (store_bind_canonical(s, 1, q) != SQLITE_OK ||
	    store_bind_json(s, 2, q) != SQLITE_OK ||
	    sqlite3_bind_blob64(s, 3, len > 0 ? result : "", len,
				SQLITE_STATIC) != SQLITE_OK ||
	    store_bind_json(s, 4, page_info) != SQLITE_OK ||
	    store_bind_opt_int(s, 5, processed_tx_id) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 6, updated) != SQLITE_OK) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return store_fail_db(st, "query put");
	}
	return store_step(st, SQL_QUERY_PUT, "query put");
}

/* Read the current queries row of s into out. */
static void
store_query_row(sqlite3_stmt *s, struct store_query *out)
{
	out->q = store_text(s, 0);
	out->result_json = sqlite3_column_type(s, 1) == SQLITE_TEXT;
	out->result = sqlite3_column_blob(s, 1);
	out->result_len = (size_t)sqlite3_column_bytes(s, 1);
	out->page_info = store_text(s, 2);
	out->processed_tx_id = store_opt_int(s, 3);
	out->updated = sqlite3_column_int64(s, 4);
}

/* Look up the stored result of q. */
int
store_query_get(struct store *st, const json_t *q, store_query_cb cb, void *arg,
		int *found)
{
	sqlite3_stmt *s = st->stmt[SQL_QUERY_GET];
	struct store_query row;
	int rc;

	*found = 0;
	if (store_bind_canonical(s, 1, q) != SQLITE_OK) {
		sqlite3_reset(s);
		return store_fail_db(st, "query get");
	}
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*found = 1;
		store_query_row(s, &row);
		cb(arg, &row);
	}
	return store_done(st, s, rc, "query get");
}

/* The page-info text of the stored result of q into *page_info (caller
 * frees; NULL when there is no result or it has none).  The row's result
 * is not read. */
int
store_query_page_info(struct store *st, const json_t *q, char **page_info)
{
	sqlite3_stmt *s = st->stmt[SQL_QUERY_PAGE_INFO];
	const unsigned char *v;
	int rc;

	*page_info = NULL;
	if (store_bind_canonical(s, 1, q) != SQLITE_OK) {
		sqlite3_reset(s);
		return store_fail_db(st, "query page-info");
	}
	if ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	    (v = sqlite3_column_text(s, 0)) != NULL &&
	    (*page_info = strdup((const char *)v)) == NULL) {
		sqlite3_reset(s);
		return store_fail(st, "out of memory");
	}
	return store_done(st, s, rc, "query page-info");
}

/* Forget the stored result of q. */
int
store_query_delete(struct store *st, const json_t *q)
{
	sqlite3_stmt *s = st->stmt[SQL_QUERY_DELETE];

	st->query_changes++;
	if (store_bind_canonical(s, 1, q) != SQLITE_OK) {
		sqlite3_reset(s);
		return store_fail_db(st, "query delete");
	}
	return store_step(st, SQL_QUERY_DELETE, "query delete");
}

/* The lowest processed-tx-id over the stored results (-1 if none has
 * one), read without their triples. */
int
store_query_min_processed(struct store *st, int64_t *min)
{
	sqlite3_stmt *s = st->stmt[SQL_QUERY_MIN];
	int rc;

	*min = -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*min = store_opt_int(s, 0);
	return store_done(st, s, rc, "query min");
}

/* How many transactions have been rolled back on this store: a copy of
 * something written since is stale once this changes. */
uint64_t
store_generation(const struct store *st)
{
	return st->generation;
}

/* Changes to the stored results (a put, a delete, a rollback) so far: a
 * copy of one is stale once this changes. */
uint64_t
store_query_changes(const struct store *st)
{
	return st->query_changes;
}

/* Visit every stored result. */
int
store_query_scan(struct store *st, store_query_cb cb, void *arg)
{
	sqlite3_stmt *s = st->stmt[SQL_QUERY_SCAN];
	struct store_query row;
	int rc, stop = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_query_row(s, &row);
		if ((stop = cb(arg, &row)) != 0)
			break;
	}
	if (store_done(st, s, stop ? SQLITE_DONE : rc, "query scan") != 0)
		return -1;
	return stop;
}

/* Read a kv value. */
int
store_kv_get(struct store *st, const char *k, char **v)
{
	sqlite3_stmt *s = st->stmt[SQL_KV_GET];
	int rc;

	*v = NULL;
	if (store_bind_text(s, 1, k) != SQLITE_OK) {
		sqlite3_reset(s);
		return store_fail_db(st, "kv get");
	}
	if ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	    (*v = strdup(store_text(s, 0))) == NULL) {
		sqlite3_reset(s);
		return store_fail(st, "out of memory");
	}
	return store_done(st, s, rc, "kv get");
}

/* Write (or, with v NULL, delete) a kv value. */
int
store_kv_set(struct store *st, const char *k, const char *v)
{
	enum store_sql i = v != NULL ? SQL_KV_SET : SQL_KV_DELETE;
	sqlite3_stmt *s = st->stmt[i];

	if (store_bind_text(s, 1, k) != SQLITE_OK ||
	    (v != NULL && store_bind_text(s, 2, v) != SQLITE_OK)) {
		sqlite3_reset(s);
		return store_fail_db(st, "kv set");
	}
	return store_step(st, i, "kv set");
}
