/*
 * store.h: the daemon's SQLite store of one Instant app.
 *
 * Tables: attrs (the attr registry), outbox (local transactions and their
 * sync status), queries (the server's result per subscribed query) and kv
 * in the durable file, <path>; triples (the optimistic view every local
 * subscriber sees, through engine/tstore) in <path>-view, which the
 * caller replays from base and the outbox when store_view_new says the
 * view was made anew (see store.c).  The durable file runs in WAL mode
 * with synchronous=FULL unless configured NORMAL; its layout version
 * lives in PRAGMA user_version and older files are migrated on open.  A
 * durable file that is not a database, is corrupt or is newer than this
 * program is reported and left alone (store_try_open tells the first two
 * apart, so that the caller may move such a file aside and start
 * afresh); a view file that is unreadable is made again.
 *
 * Every statement is prepared once at open and owned by the store.  The
 * daemon groups the writes of one loop turn with store_begin/store_commit.
 * Functions return 0 on success and -1 on failure with store_errmsg set,
 * unless said otherwise.
 */
#ifndef ENGINE_STORE_H
#define ENGINE_STORE_H

#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>

struct attrs;
struct tstore;
struct store;

struct store_opts {
	int sync_normal;     /* synchronous=NORMAL instead of FULL */
	int busy_timeout_ms; /* 0: the default (5000) */
	size_t cache_bytes;  /* entity cache of the view: 0: the default
				(STORE_CACHE_BYTES) */
	int no_cache;        /* no entity cache at all */
};

/* The default budget of the view's entity cache (engine/tcache.c). */
#define STORE_CACHE_BYTES (16u * 1024 * 1024)

/* Transaction statuses in the outbox. */
enum store_tx_status {
	STORE_TX_ENQUEUED,
	STORE_TX_PENDING,
	STORE_TX_SYNCED,
	STORE_TX_ERROR,
};

/* One outbox row; pointers are valid only during the callback. */
struct store_tx {
	int64_t seq;
	const char *tx;	      /* client-event-id */
	const char *steps;    /* InstaML as submitted (JSON text) */
	const char *tx_steps; /* compiled tx-steps (JSON text) */
	const char *client;   /* client label, or NULL */
	int64_t created;      /* ms */
	enum store_tx_status status;
	int64_t tx_id;	   /* server tx-id, or -1 */
	const char *error; /* JSON text of the server's error, or NULL */
};

typedef int (*store_tx_cb)(void *arg, const struct store_tx *);

/* One cached server result; pointers valid only during the callback. */
struct store_query {
	const char *q;		 /* the query as JSON text */
	const void *result;	 /* the bytes stored by store_query_put, */
	size_t result_len;
	int result_json;	 /* or, if set, JSON text (older stores) */
	const char *page_info;	 /* JSON text, or NULL */
	int64_t processed_tx_id; /* or -1 */
	int64_t updated;	 /* ms */
};

typedef int (*store_query_cb)(void *arg, const struct store_query *);

/* Set SQLite up for the process, before any store is opened: 0, or -1 if
 * SQLite was in use already (it then keeps its defaults). */
int store_init(void);
/* Open (creating if missing) the store at path; opts may be NULL.  On
 * failure returns NULL with *errmsg (caller frees) saying why. */
struct store *store_open(const char *path, const struct store_opts *opts,
			 char **errmsg);
/* Like store_open; on failure *corrupt is set to 1 if the file is not a
 * database or is corrupt (SQLITE_NOTADB, SQLITE_CORRUPT), else to 0
 * (cannot be opened or written, newer than this program, ...). */
struct store *store_try_open(const char *path, const struct store_opts *opts,
			     int *corrupt, char **errmsg);
void store_free(struct store *);

const char *store_errmsg(const struct store *);
/* The schema version this program writes. */
int store_schema_version(void);

/* The attr registry (loaded at open) and the optimistic triple view. */
struct attrs *store_attrs(struct store *);
struct tstore *store_view(struct store *);
sqlite3 *store_db(struct store *);
const char *store_path(const struct store *);
const char *store_view_new(const struct store *);

/* Group commit. */
int store_begin(struct store *);
int store_commit(struct store *);
int store_rollback(struct store *);

/* One transaction inside the batch (a savepoint): store_release keeps its
 * writes (keep) or undoes them, and ends it either way. */
int store_savepoint(struct store *);
int store_release(struct store *, int keep);

/* Persist the whole registry (replacing what is stored). */
int store_attrs_save(struct store *);

/* Outbox. */
int store_outbox_append(struct store *, const char *tx, const json_t *steps,
			const json_t *tx_steps, const char *client,
			int64_t created, int64_t *seq);
/* Rows oldest first; the callback's nonzero return stops the scan (and is
 * returned).  The callback may call other store functions but not
 * store_outbox_scan again. */
int store_outbox_scan(struct store *, store_tx_cb, void *);
/* As store_outbox_scan, over the enqueued and pending rows without a
 * tx-id whose seq is above after.  A seq is never reused while the store
 * is open, so the last seq seen is a cursor for the next call. */
int store_outbox_scan_unsent(struct store *, int64_t after, store_tx_cb,
			     void *);
/* As store_outbox_scan, over the synced rows without a tx-id or with one
 * at most max_tx_id (those the server's results cover), through the
 * status index. */
int store_outbox_scan_covered(struct store *, int64_t max_tx_id,
			      store_tx_cb, void *);
/* Set the tx-id of the synced rows whose tx-id is from to to. */
int store_outbox_retag(struct store *, int64_t from, int64_t to);
/* Set a transaction's status; tx_id < 0 and error NULL keep the stored
 * values.  Returns 1 if no such transaction. */
int store_outbox_set_status(struct store *, const char *tx,
			    enum store_tx_status, int64_t tx_id,
			    const json_t *error);
/* Remove a transaction (synced and processed, or rolled back).  Returns 1
 * if no such transaction. */
int store_outbox_delete(struct store *, const char *tx);
/* Remove the rejected transactions (status error) created before
 * before_ms; *n is how many. */
int store_outbox_expire(struct store *, int64_t before_ms, int64_t *n);
/* Number of transactions not yet synced (enqueued or pending). */
int store_outbox_unsynced(struct store *, int64_t *n);

const char *store_tx_status_name(enum store_tx_status);
/* 0 and *out, or -1 if name is no status. */
int store_tx_status_parse(const char *name, enum store_tx_status *out);

/* Server results per query (keyed by canonical JSON of q). */
int store_query_put(struct store *, const json_t *q, const void *result,
		    size_t len, const json_t *page_info,
		    int64_t processed_tx_id, int64_t updated);
/* found is set to 0 or 1; the callback runs once if found. */
int store_query_get(struct store *, const json_t *q, store_query_cb, void *,
		    int *found);
int store_query_delete(struct store *, const json_t *q);
int store_query_page_info(struct store *, const json_t *q, char **page_info);
uint64_t store_query_changes(const struct store *);
int store_query_scan(struct store *, store_query_cb, void *);
/* The lowest processed-tx-id over the stored results, or -1 if none. */
int store_query_min_processed(struct store *, int64_t *min);

/* A count of the transactions rolled back on the store, explicitly or by
 * SQLite after an error: what a caller remembers of its writes is stale
 * once the count moves. */
uint64_t store_generation(const struct store *);

/* kv: *v receives a copy (caller frees) or NULL if absent; a NULL v in
 * store_kv_set deletes the key. */
int store_kv_get(struct store *, const char *k, char **v);
int store_kv_set(struct store *, const char *k, const char *v);

#endif
