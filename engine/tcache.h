/*
 * tcache.h: the triples of recently read entities, and of attrs read
 * whole, in memory.
 *
 * A tstore that has one (tstore_cache) answers an entity's scans from it
 * when the entity is there, and keeps the rows of each entity scan it
 * reads from SQLite.  The cache holds at most its budget of bytes; past
 * that, entities are dropped, a run of hash buckets at a time from a
 * cursor that goes round the table.
 *
 * Coherence is the tstore's job (see tstore.c): it forgets an entity
 * before any write to it.  Here, a forget during a scan served from the
 * cache unlinks the entity at once and frees it when the outermost such
 * scan ends; and a fill started before any forget is not kept (the
 * generation number changed), since it may have read the old rows.
 */
#ifndef ENGINE_TCACHE_H
#define ENGINE_TCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/tstore.h"
#include "proto/textbuf.h"

struct tcache;

/* The rows of one entity scan on their way into the cache. */
struct tcache_fill {
	struct textbuf rows; /* encoded (see tcache.c) */
	uint64_t gen; /* the cache's generation when the scan began */
	int64_t t0;   /* the first row's t */
	unsigned char e[16]; /* the entity's uuid bytes, if has_e */
	int has_e;
	uint32_t n;
	int failed;   /* a row could not be kept: nothing will be */
};

struct tcache *tcache_create(size_t budget);
void tcache_free(struct tcache *);

/* Call cb on each cached triple of entity e (of attr a only, if a is not
 * NULL), in the order the entity scan read them.  Returns 0 with *hit = 0
 * when e is not cached; else the scan's result (0, or the callback's
 * nonzero value) with *hit = 1. */
int tcache_scan(struct tcache *, const char *e, const char *a, tstore_cb cb,
    void *arg, int *hit);

/* Filling: begin before the scan of e, add each row it reads, then end
 * (keep = 1 once the scan has read every row, else 0 to drop them). */
void tcache_fill_begin(struct tcache *, struct tcache_fill *);
void tcache_fill_row(struct tcache *, struct tcache_fill *,
    const struct triple *);
void tcache_fill_end(struct tcache *, struct tcache_fill *, const char *e,
    int keep);

/* Drop entity e; drop every entity. */
void tcache_forget(struct tcache *, const char *e);
void tcache_forget_all(struct tcache *);

/*
 * Attribute columns: every triple of one attr, in the (value, entity)
 * order of an attr scan, kept from a complete attr scan (which a value
 * scan becomes once value scans have earned it).  They take at most
 * half the budget more, and what of the budget entities leave unused.
 * They are dropped whole: the least recently scanned first when a new
 * one needs room (but never one the current read snapshot has scanned),
 * and any one whose attr is written.
 */
struct tcache_colfill {
	struct textbuf rows;
	uint32_t *off;
	size_t n, cap;
	uint64_t gen;
	int failed;
};

/* Call cb on the triples of attr a in its column: all of them (v and has
 * NULL), those whose value text is v, or those whose value text contains
 * has.  Returns 0 with *hit = 0 when a has no column, else the scan's
 * result with *hit = 1. */
int tcache_col_scan(struct tcache *, const char *a, const char *v,
    const char *has, tstore_cb cb, void *arg, int *hit);
/* The same; ahead (if not NULL) gets the id bytes of rows that have them
 * a few rows before cb gets the rows (see tstore_scan_a_ahead). */
int tcache_col_scan_ahead(struct tcache *, const char *a, const char *v,
    const char *has, tstore_cb cb, tstore_ahead_cb ahead, void *arg,
    int *hit);
/* 1 and the number of triples of attr a if it has a column, else 0. */
int tcache_col_count(struct tcache *, const char *a, int64_t *n);
/* A read snapshot begins: columns it scans are not dropped for others
 * until the next one begins. */
void tcache_read_begin(struct tcache *);
/* Whether an attr scan of a should fill its column: there is none, and
 * one as large as its last would fit (see tcache.c). */
int tcache_col_wanted(struct tcache *, const char *a);
/* Whether attr a's next value scan should fill its column: its value
 * scans have read enough rows from SQLite (see tcache.c). */
int tcache_col_due(struct tcache *, const char *a);
/* Count rows that a value scan of attr a read from SQLite. */
void tcache_col_note(struct tcache *, const char *a, size_t rows);
/* Filling a column: as for entities. */
void tcache_col_begin(struct tcache *, struct tcache_colfill *);
void tcache_col_row(struct tcache *, struct tcache_colfill *,
    const struct triple *);
void tcache_col_end(struct tcache *, struct tcache_colfill *, const char *a,
    int keep);
/* Drop the column of attr a; drop every column. */
void tcache_forget_attr(struct tcache *, const char *a);
void tcache_forget_columns(struct tcache *);
/* Columns held and their bytes. */
void tcache_col_stats(const struct tcache *, size_t *columns, size_t *bytes);

/* Whether entity e is cached. */
int tcache_has(struct tcache *, const char *e);
/* Entities held and the bytes they take (with the table's own). */
void tcache_stats(const struct tcache *, size_t *entities, size_t *bytes);

#endif
