/*
 * tstore.h: a triple store [entity, attr, value, t] in one SQLite table.
 *
 * The database handle belongs to the caller (engine/store.c for the daemon,
 * the devserver's own store for the server); a tstore only prepares and
 * owns its statements on one table.  Values are kept as canonical JSON text
 * (tstore_value_text) so that equal values compare equal as strings; ref
 * values are the target entity's UUID as a JSON string.  Entity and attr ids
 * are lower-case UUID strings.  t is the creation time in milliseconds (the
 * 4th element of Instant's triples); adding a triple that already exists
 * keeps its original t.
 *
 * Every function returns 0 on success and -1 on a SQLite failure (the
 * message is available from tstore_errmsg).  Scan callbacks return 0 to go
 * on, nonzero to stop the scan (the scan then returns that value).
 * Pointers passed to callbacks are valid only during the call.
 */
#ifndef ENGINE_TSTORE_H
#define ENGINE_TSTORE_H

#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>

struct tstore;

struct triple {
	const char *e;
	const char *a;
	const char *v; /* canonical JSON text */
	int64_t t;
	/* The 16 bytes of e, when the scan read e as bytes (a column of the
	 * view's cache keeps ids so; e is then their lower-case text), else
	 * NULL. */
	const unsigned char *eb;
};

typedef int (*tstore_cb)(void *arg, const struct triple *);
/* Told of the id bytes of a row that a scan's callback will get soon. */
typedef void (*tstore_ahead_cb)(void *arg, const unsigned char eb[16]);

/* Open (creating if missing) the triple table named table in db. */
struct tstore *tstore_create(sqlite3 *db, const char *table, char **errmsg);
void tstore_free(struct tstore *);

/* The last SQLite error message for this store. */
const char *tstore_errmsg(const struct tstore *);

/* Keep up to budget bytes of entity scans in memory (0: none), and half
 * as much of attr scans, answering scans from there (see tstore.c for how
 * it stays current).  A tstore without one reads SQLite every time. */
int tstore_cache(struct tstore *, size_t budget);
/* Forget the cached rows of entity e, or of every entity: for code that
 * writes the table with its own SQL, before it does. */
void tstore_forget(struct tstore *, const char *e);
void tstore_forget_all(struct tstore *);
/* Whether the cache holds entity e (0 without one). */
int tstore_cache_has(struct tstore *, const char *e);
/* Entities, attr columns and bytes the cache holds (all 0 without
 * one). */
void tstore_cache_stats(const struct tstore *, size_t *entities,
    size_t *columns, size_t *bytes);

/* Canonical JSON text of a value: compact, sorted keys, integral reals as
 * integers.  Caller frees. */
char *tstore_value_text(const json_t *v);

/* Writes. */
int tstore_add(struct tstore *, const char *e, const char *a, const char *v,
    int64_t t);
int tstore_retract(struct tstore *, const char *e, const char *a,
    const char *v);
int tstore_retract_ea(struct tstore *, const char *e, const char *a);
int tstore_retract_e(struct tstore *, const char *e);
int tstore_clear(struct tstore *);

/* Reads.  A read snapshot makes a series of scans one read transaction
 * (SAVEPOINT; it nests in the caller's transaction): no other
 * connection's commit shows half-way, and no lock is taken per scan. */
int tstore_read_begin(struct tstore *);
int tstore_read_end(struct tstore *);
int tstore_scan_e(struct tstore *, const char *e, tstore_cb, void *);
int tstore_scan_ea(struct tstore *, const char *e, const char *a, tstore_cb,
    void *);
int tstore_scan_a(struct tstore *, const char *a, tstore_cb, void *);
/* The same; where the rows come from memory (a column of the cache), ahead
 * is given the id bytes of a row some rows before cb gets that row, for a
 * caller that looks each row's entity up in a table too large for the
 * processor's caches to fetch its slot early. */
int tstore_scan_a_ahead(struct tstore *, const char *a, tstore_cb,
    tstore_ahead_cb, void *);
int tstore_scan_av(struct tstore *, const char *a, const char *v, tstore_cb,
    void *);
/* The triples of attr a whose value text contains text (SQLite's instr),
 * in (v, e) order: a prefilter, read in the index alone. */
int tstore_scan_a_has(struct tstore *, const char *a, const char *text,
    tstore_cb, void *);
int tstore_scan_all(struct tstore *, tstore_cb, void *);
int tstore_has_ea(struct tstore *, const char *e, const char *a, int *found);
int tstore_count(struct tstore *, int64_t *n);
/* The number of triples of attr a (an index range count). */
int tstore_count_a(struct tstore *, const char *a, int64_t *n);
/* The same, counting no further than max (a bounded index range). */
int tstore_count_a_max(struct tstore *, const char *a, int64_t max,
    int64_t *n);

#endif
