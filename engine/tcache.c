/*
 * tcache.c: the triples of recently read entities, and of attrs read
 * whole, in memory.
 *
 * A chained hash table of entities, each one allocation: a header, the
 * entity's id, then its rows in the order SQLite's entity scan returned
 * them (the primary key's: attr, then value), so that a scan served from
 * here calls back in the same order as one served by SQLite.
 *
 * Memory is the point of the format.  Ids are lower-case uuids as good as
 * always, and so are the values of id and link triples (as JSON strings):
 * those are kept as their 16 bytes, and a value that is the entity's own
 * id (its id triple) as nothing at all.  Attr ids are kept once each, in a
 * table of their own, and rows name them by number.  An entity's triples
 * mostly share one t (the transaction that made it): a row carries its t
 * only when it differs from the first row's.  A row is
 *
 *	attr number (2 bytes), kind (1), [t (8) if kind & TC_OWN_T],
 *	then by kind: TC_TEXT: length (LEB128), the text and a NUL;
 *	TC_UUID: 16 bytes; TC_SELF: nothing.
 *
 * Text is rebuilt for the callback in buffers on the scan's stack.
 *
 * The budget counts every entity's allocation (with an allowance for the
 * allocator's own header), the attr table and the bucket array.  When a
 * fill takes the total past it, buckets picked at random are emptied
 * until it is back within.  Unlike dropping the least recently used (or
 * the oldest), dropping at random keeps part of a working set larger than
 * the budget when it is read over and over in the same order, as a
 * query's entities are, instead of none of it.
 *
 * Attr columns (the second half of this file) are kept the same way, one
 * allocation of rows per attr, within half the budget more and what of
 * the budget entities leave unused (tc_col_limit).  They are few, so the
 * least recently scanned goes first, though never for one read by the
 * same snapshot: see tc_col_evict.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/strmap.h"
#include "engine/tcache.h"
#include "proto/uuid.h"

#define TCACHE_MIN_BUCKETS 1024
#define TCACHE_MAX_ATTRS 65536
#define TCACHE_MAX_ROWS 65535
#define TCACHE_MALLOC_OVERHEAD 16 /* bytes the allocator adds to a block */
#define TCACHE_FILL_AFTER 4096 /* value-scan rows before a first fill */
#define TCACHE_RETRY_EVERY 64  /* fills skipped for room, then one tried */
#define TCACHE_AHEAD 8 /* rows between a column row's hint and its callback */

/* Row kinds. */
#define TC_TEXT 0
#define TC_UUID 1
#define TC_SELF 2
#define TC_KIND_MASK 3
#define TC_OWN_T 4

/* Every triple of one attr: rows one after the other, and where each
 * starts. */
struct tc_col {
	struct tc_col *next; /* on the dead list */
	uint32_t n;
	uint32_t *off;
	unsigned char *rows;
	size_t bytes;  /* counted against the column budget */
	uint64_t used; /* the clock when last scanned */
};

/* One attr's column history: what its value scans read from SQLite
 * since its column was last filled (or tried), which earns the next
 * fill, and what that last fill took. */
struct tc_colstat {
	uint32_t rows;  /* rows the value scans read */
	uint32_t size;  /* rows the last fill read (0: none yet) */
	uint32_t bytes; /* bytes the last fill took, or had when it failed */
	uint32_t skips; /* fills not tried since, for want of room */
};

struct tc_ent {
	struct tc_ent *next;
	uint32_t hash;
	uint32_t size;  /* bytes counted against the budget */
	uint16_t n;     /* rows */
	uint8_t is_uuid; /* the id is 16 bytes, not text and a NUL */
	int64_t t0;     /* the t of rows without their own */
	unsigned char data[]; /* the id, then the rows */
};

struct tcache {
	struct tc_ent **b;
	size_t nb;     /* buckets: a power of two */
	size_t n;      /* entities */
	size_t bytes;  /* counted against the budget */
	size_t budget;
	uint64_t rng;  /* xorshift state for picking buckets to drop */
	uint64_t gen;  /* bumped by every forget */
	unsigned busy; /* scans served from here in progress */
	struct tc_ent *dead; /* forgotten while busy: freed when idle */
	char **anames; /* attr ids by number */
	size_t na, acap;
	struct strmap *amap; /* attr id -> number */
	struct tc_col **cols; /* columns by attr number (acap of them) */
	struct tc_colstat *cstat; /* column histories by attr number (acap) */
	size_t col_bytes, col_budget;
	uint64_t clock;       /* stamps columns' use */
	uint64_t epoch;       /* the clock when the current read began */
	struct tc_col *dead_cols;
};

/* An entity id as the table keys it. */
struct tc_key {
	const char *text;
	size_t len;
	unsigned char uuid[16];
	int is_uuid;
	uint32_t hash;
};

/* FNV-1a over n bytes. */
static uint32_t
tc_hash(const unsigned char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	return h;
}

/* The key of entity id e: a uuid's 16 bytes hash as two words, mixed
 * (ids need not be random: some count up). */
static void
tc_key(struct tc_key *k, const char *e)
{
	uint64_t x, y;

	k->text = e;
	k->len = strlen(e);
	k->is_uuid = uuid_bytes_lower(e, k->len, k->uuid);
	if (k->is_uuid) {
		memcpy(&x, k->uuid, 8);
		memcpy(&y, k->uuid + 8, 8);
		/* splitmix64's finalizer: every bit moves every bit. */
		x ^= y * 0x9e3779b97f4a7c15ULL;
		x ^= x >> 30;
		x *= 0xbf58476d1ce4e5b9ULL;
		x ^= x >> 27;
		x *= 0x94d049bb133111ebULL;
		x ^= x >> 31;
		k->hash = (uint32_t)x;
	} else
		k->hash = tc_hash((const unsigned char *)e, k->len);
}

/* The bytes of an entity's id in its data. */
static size_t
tc_id_size(const struct tc_ent *en)
{
	return en->is_uuid ? 16 : strlen((const char *)en->data) + 1;
}

/* The bytes columns may take: their own half budget, and whatever of
 * the entities' budget entities do not use (a query that reads whole
 * attrs of a large namespace fills columns, not entities).  Entities
 * take it back as they fill (tc_col_shrink), so the two together stay
 * within one and a half budgets. */
static size_t
tc_col_limit(const struct tcache *tc)
{
	if (tc->col_budget == 0)
		return 0;
	return tc->col_budget + (tc->bytes < tc->budget ?
	    tc->budget - tc->bytes : 0);
}

/* A new, empty cache of at most budget bytes. */
struct tcache *
tcache_create(size_t budget)
{
	struct tcache *tc;

	if ((tc = calloc(1, sizeof *tc)) == NULL)
		return NULL;
	tc->budget = budget;
	tc->col_budget = budget / 2;
	tc->rng = 0x9e3779b97f4a7c15ULL;
	tc->nb = TCACHE_MIN_BUCKETS;
	if ((tc->b = calloc(tc->nb, sizeof *tc->b)) == NULL ||
	    (tc->amap = strmap_create()) == NULL) {
		tcache_free(tc);
		return NULL;
	}
	tc->bytes = tc->nb * sizeof *tc->b;
	return tc;
}

/* Free a list of entities linked by next. */
static void
tc_free_list(struct tc_ent *en)
{
	struct tc_ent *next;

	for (; en != NULL; en = next) {
		next = en->next;
		free(en);
	}
}

/* Free a column. */
static void
tc_col_free(struct tc_col *c)
{
	if (c == NULL)
		return;
	free(c->off);
	free(c->rows);
	free(c);
}

/* Free a list of columns linked by next. */
static void
tc_col_free_list(struct tc_col *c)
{
	struct tc_col *next;

	for (; c != NULL; c = next) {
		next = c->next;
		tc_col_free(c);
	}
}

/* Free the cache. */
void
tcache_free(struct tcache *tc)
{
	size_t i;

	if (tc == NULL)
		return;
	if (tc->b != NULL)
		for (i = 0; i < tc->nb; i++)
			tc_free_list(tc->b[i]);
	tc_free_list(tc->dead);
	for (i = 0; i < tc->na; i++) {
		free(tc->anames[i]);
		tc_col_free(tc->cols[i]);
	}
	tc_col_free_list(tc->dead_cols);
	free(tc->cols);
	free(tc->cstat);
	free(tc->anames);
	strmap_free(tc->amap);
	free(tc->b);
	free(tc);
}

/* The slot that holds k's entity, or the empty one at the end of its
 * chain. */
static struct tc_ent **
tc_slot(struct tcache *tc, const struct tc_key *k)
{
	struct tc_ent **p = &tc->b[k->hash & (tc->nb - 1)];

	for (; *p != NULL; p = &(*p)->next) {
		if ((*p)->hash != k->hash || (*p)->is_uuid != k->is_uuid)
			continue;
		if (k->is_uuid ? memcmp((*p)->data, k->uuid, 16) == 0 :
		    strcmp((const char *)(*p)->data, k->text) == 0)
			break;
	}
	return p;
}

/* Take an unlinked entity out of the count, and free it unless a scan
 * served from the cache may still be reading it. */
static void
tc_drop(struct tcache *tc, struct tc_ent *en)
{
	tc->n--;
	tc->bytes -= en->size;
	if (tc->busy > 0) {
		en->next = tc->dead;
		tc->dead = en;
	} else
		free(en);
}

static void tc_col_evict(struct tcache *, size_t, int);
static void tc_col_shrink(struct tcache *);

/* Empty buckets picked at random until the cache is within its budget;
 * then give back what columns took of the room entities now use. */
static void
tc_trim(struct tcache *tc)
{
	struct tc_ent *en;
	size_t i;

	while (tc->bytes > tc->budget && tc->n > 0) {
		tc->rng ^= tc->rng << 13;
		tc->rng ^= tc->rng >> 7;
		tc->rng ^= tc->rng << 17;
		i = (size_t)(tc->rng >> 11) & (tc->nb - 1);
		while ((en = tc->b[i]) != NULL) {
			tc->b[i] = en->next;
			tc_drop(tc, en);
		}
	}
	tc_col_shrink(tc);
}

/* Double the bucket array (best effort: a cache that cannot grow only
 * gets slower). */
static void
tc_grow(struct tcache *tc)
{
	struct tc_ent **nb, *en, *next;
	size_t i, n = tc->nb * 2;

	if ((nb = calloc(n, sizeof *nb)) == NULL)
		return;
	for (i = 0; i < tc->nb; i++)
		for (en = tc->b[i]; en != NULL; en = next) {
			next = en->next;
			en->next = nb[en->hash & (n - 1)];
			nb[en->hash & (n - 1)] = en;
		}
	free(tc->b);
	tc->bytes += (n - tc->nb) * sizeof *nb;
	tc->b = nb;
	tc->nb = n;
}

/* Read a LEB128 number at *p. */
static size_t
tc_varint(const unsigned char **p)
{
	size_t v = 0;
	unsigned shift = 0;
	unsigned char c;

	do {
		c = *(*p)++;
		v |= (size_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	return v;
}

/* The text of the value of kind at *p, moving *p past it: e is the
 * entity's id (the value of TC_SELF is its JSON string); buf has room for
 * the JSON string of a uuid. */
static const char *
tc_get_value(const unsigned char **p, unsigned kind, const char *e,
    char buf[UUID_STRLEN + 3])
{
	const char *v;
	size_t len;

	switch (kind) {
	case TC_SELF:
	case TC_UUID:
		buf[0] = '"';
		if (kind == TC_SELF)
			memcpy(buf + 1, e, UUID_STRLEN);
		else {
			uuid_text(*p, buf + 1);
			*p += 16;
		}
		buf[UUID_STRLEN + 1] = '"';
		buf[UUID_STRLEN + 2] = '\0';
		return buf;
	default:
		len = tc_varint(p);
		v = (const char *)*p;
		*p += len + 1;
		return v;
	}
}

/* Call cb on the rows of cached entity en, whose id is e (of attr number
 * ai only, if ai is not -1). */
static int
tc_rows(const struct tcache *tc, const struct tc_ent *en, const char *e,
    long ai, tstore_cb cb, void *arg)
{
	const unsigned char *p = en->data + tc_id_size(en);
	char vbuf[UUID_STRLEN + 3];
	struct triple tr;
	uint16_t a;
	uint32_t i;
	unsigned kind;
	int r;

	tr.e = e;
	tr.eb = NULL;
	for (i = 0; i < en->n; i++) {
		memcpy(&a, p, 2);
		kind = p[2];
		p += 3;
		tr.t = en->t0;
		if (kind & TC_OWN_T) {
			memcpy(&tr.t, p, 8);
			p += 8;
		}
		tr.v = tc_get_value(&p, kind & TC_KIND_MASK, e, vbuf);
		if (ai >= 0 && a != (uint16_t)ai)
			continue;
		tr.a = tc->anames[a];
		if ((r = cb(arg, &tr)) != 0)
			return r;
	}
	return 0;
}

/* End a scan served from the cache: when it was the outermost, free what
 * was forgotten during it, and trim. */
static void
tc_idle(struct tcache *tc)
{
	if (--tc->busy > 0)
		return;
	tc_free_list(tc->dead);
	tc->dead = NULL;
	tc_col_free_list(tc->dead_cols);
	tc->dead_cols = NULL;
	tc_trim(tc);
}

/* Call cb on each cached triple of e (of attr a only, if not NULL). */
int
tcache_scan(struct tcache *tc, const char *e, const char *a, tstore_cb cb,
    void *arg, int *hit)
{
	struct tc_key k;
	struct tc_ent *en;
	size_t ai;
	int r;

	*hit = 0;
	tc_key(&k, e);
	if ((en = *tc_slot(tc, &k)) == NULL)
		return 0;
	*hit = 1;
	if (a != NULL && !strmap_get(tc->amap, a, &ai))
		return 0; /* no row of the entity has that attr */
	tc->busy++;
	r = tc_rows(tc, en, e, a != NULL ? (long)ai : -1, cb, arg);
	tc_idle(tc);
	return r;
}

/* Start keeping the rows of an entity scan. */
void
tcache_fill_begin(struct tcache *tc, struct tcache_fill *f)
{
	memset(f, 0, sizeof *f);
	f->gen = tc->gen;
}

/* The number of attr id a, added if new: 0, or -1. */
static int
tc_attr(struct tcache *tc, const char *a, uint32_t *out)
{
	size_t i;
	char **v;

	if (strmap_get(tc->amap, a, &i)) {
		*out = (uint32_t)i;
		return 0;
	}
	if (tc->na == TCACHE_MAX_ATTRS)
		return -1;
	if (tc->na == tc->acap) {
		size_t cap = tc->acap ? tc->acap * 2 : 64;
		struct tc_col **c;
		struct tc_colstat *cs;
		if ((v = realloc(tc->anames, cap * sizeof *v)) == NULL)
			return -1;
		tc->anames = v;
		if ((c = realloc(tc->cols, cap * sizeof *c)) == NULL)
			return -1;
		memset(c + tc->acap, 0, (cap - tc->acap) * sizeof *c);
		tc->cols = c;
		if ((cs = realloc(tc->cstat, cap * sizeof *cs)) == NULL)
			return -1;
		memset(cs + tc->acap, 0, (cap - tc->acap) * sizeof *cs);
		tc->cstat = cs;
		tc->bytes += (cap - tc->acap) *
		    (sizeof *v + sizeof *c + sizeof *cs);
		tc->acap = cap;
	}
	if ((tc->anames[tc->na] = strdup(a)) == NULL)
		return -1;
	if (strmap_put(tc->amap, a, tc->na) != 0) {
		free(tc->anames[tc->na]);
		return -1;
	}
	tc->bytes += 2 * (strlen(a) + 1 + TCACHE_MALLOC_OVERHEAD);
	*out = (uint32_t)tc->na++;
	return 0;
}

/* Append n as LEB128. */
static void
tc_put_varint(struct textbuf *b, size_t n)
{
	char c;

	do {
		c = (char)(n & 0x7f);
		n >>= 7;
		if (n != 0)
			c |= (char)0x80;
		textbuf_putc(b, c);
	} while (n != 0);
}

/* The kind value text v (vlen bytes) is kept as: TC_SELF if it is the
 * JSON string of the uuid whose bytes are self (when not NULL), TC_UUID
 * (its bytes into u) if that of another lower-case uuid, else TC_TEXT. */
static unsigned
tc_value_kind(const char *v, size_t vlen, const unsigned char *self,
    unsigned char u[16])
{
	if (vlen != UUID_STRLEN + 2 || v[0] != '"' || v[vlen - 1] != '"' ||
	    !uuid_bytes_lower(v + 1, UUID_STRLEN, u))
		return TC_TEXT;
	return self != NULL && memcmp(u, self, 16) == 0 ? TC_SELF : TC_UUID;
}

/* Append what follows a value's kind: a uuid's bytes, or the text's
 * length, the text and a NUL. */
static void
tc_put_value(struct textbuf *b, unsigned kind, const unsigned char u[16],
    const char *v, size_t vlen)
{
	if (kind == TC_UUID)
		textbuf_put(b, (const char *)u, 16);
	else if (kind == TC_TEXT) {
		tc_put_varint(b, vlen);
		textbuf_put(b, v, vlen + 1);
	}
}

/* Keep one row of the scan. */
void
tcache_fill_row(struct tcache *tc, struct tcache_fill *f,
    const struct triple *tr)
{
	unsigned char head[11], u[16];
	size_t vlen, hl = 3;
	uint32_t a;
	uint16_t a16;
	unsigned kind;

	if (f->failed)
		return;
	if (f->n == 0) {
		f->t0 = tr->t;
		f->has_e = uuid_bytes_lower(tr->e, strlen(tr->e), f->e);
	}
	vlen = strlen(tr->v);
	if (f->n == TCACHE_MAX_ROWS || vlen > tc->budget / 8 ||
	    tc_attr(tc, tr->a, &a) != 0) {
		f->failed = 1;
		return;
	}
	kind = tc_value_kind(tr->v, vlen, f->has_e ? f->e : NULL, u);
	a16 = (uint16_t)a;
	memcpy(head, &a16, 2);
	head[2] = (unsigned char)kind;
	if (tr->t != f->t0) {
		head[2] |= TC_OWN_T;
		memcpy(head + 3, &tr->t, 8);
		hl += 8;
	}
	textbuf_put(&f->rows, (const char *)head, hl);
	tc_put_value(&f->rows, kind, u, tr->v, vlen);
	f->n++;
	if (f->rows.err || f->rows.len > tc->budget / 8)
		f->failed = 1;
}

/* Finish a fill: keep its rows as entity e's, if the scan read them all
 * and nothing was forgotten since it began. */
void
tcache_fill_end(struct tcache *tc, struct tcache_fill *f, const char *e,
    int keep)
{
	struct tc_ent *en, **slot;
	struct tc_key k;
	size_t idlen, size;

	if (!keep || f->failed || f->gen != tc->gen)
		goto out;
	tc_key(&k, e);
	/* A scan that found rows read them under the id they name. */
	if (f->n > 0 && k.is_uuid != f->has_e)
		goto out;
	slot = tc_slot(tc, &k);
	if (*slot != NULL)
		goto out; /* a nested scan kept it first */
	idlen = k.is_uuid ? 16 : k.len + 1;
	size = sizeof *en + idlen + f->rows.len;
	if (size > UINT32_MAX / 2 || (en = malloc(size)) == NULL)
		goto out;
	en->next = NULL;
	en->hash = k.hash;
	en->size = (uint32_t)(size + TCACHE_MALLOC_OVERHEAD);
	en->n = (uint16_t)f->n;
	en->is_uuid = (uint8_t)k.is_uuid;
	en->t0 = f->t0;
	memcpy(en->data, k.is_uuid ? (const void *)k.uuid : e, idlen);
	if (f->rows.len > 0)
		memcpy(en->data + idlen, f->rows.p, f->rows.len);
	*slot = en;
	tc->n++;
	tc->bytes += en->size;
	if (tc->n > tc->nb)
		tc_grow(tc);
	if (tc->busy == 0)
		tc_trim(tc);
out:
	textbuf_clear(&f->rows);
}

/* Drop entity e. */
void
tcache_forget(struct tcache *tc, const char *e)
{
	struct tc_ent **slot, *en;
	struct tc_key k;

	tc->gen++;
	tc_key(&k, e);
	slot = tc_slot(tc, &k);
	if ((en = *slot) == NULL)
		return;
	*slot = en->next;
	tc_drop(tc, en);
}

/* Drop every entity. */
void
tcache_forget_all(struct tcache *tc)
{
	struct tc_ent *en;
	size_t i;

	tc->gen++;
	for (i = 0; i < tc->nb; i++)
		while ((en = tc->b[i]) != NULL) {
			tc->b[i] = en->next;
			tc_drop(tc, en);
		}
}

/* Entities held and bytes counted. */
void
tcache_stats(const struct tcache *tc, size_t *entities, size_t *bytes)
{
	*entities = tc->n;
	*bytes = tc->bytes;
}

/* Whether entity e is cached. */
int
tcache_has(struct tcache *tc, const char *e)
{
	struct tc_key k;

	tc_key(&k, e);
	return *tc_slot(tc, &k) != NULL;
}

/*
 * Attribute columns.  A column row is
 *
 *	id kind (1): TC_UUID then 16 bytes, or TC_TEXT then text and NUL;
 *	t (8); value kind (1), then the value as in an entity's rows
 *
 * in the order of the attr scan that read them: by value, then id.
 */

/* A column row's text, rebuilt where it was packed. */
struct tc_rowtext {
	char e[UUID_STRLEN + 1];
	char v[UUID_STRLEN + 3];
	struct triple tr;
};

/* Unpack row i of column c (of attr a) into rt. */
static void
tc_col_row(const struct tc_col *c, uint32_t i, const char *a,
    struct tc_rowtext *rt)
{
	const unsigned char *p = c->rows + c->off[i];
	unsigned kind;

	rt->tr.a = a;
	if (*p++ == TC_UUID) {
		uuid_text(p, rt->e);
		rt->tr.e = rt->e;
		rt->tr.eb = p;
		p += 16;
	} else {
		rt->tr.eb = NULL;
		rt->tr.e = (const char *)p;
		p += strlen(rt->tr.e) + 1;
	}
	memcpy(&rt->tr.t, p, 8);
	p += 8;
	kind = *p++;
	rt->tr.v = tc_get_value(&p, kind, rt->tr.e, rt->v);
}

/* The value text of row i of column c when it is kept as text (in
 * place, without unpacking the row), else NULL. */
static const char *
tc_col_text(const struct tc_col *c, uint32_t i)
{
	const unsigned char *p = c->rows + c->off[i];

	if (*p++ == TC_UUID)
		p += 16;
	else
		p += strlen((const char *)p) + 1;
	p += 8;
	if (*p++ != TC_TEXT)
		return NULL;
	tc_varint(&p);
	return (const char *)p;
}

/* The column of attr a, or NULL. */
static struct tc_col *
tc_col_get(const struct tcache *tc, const char *a)
{
	size_t ai;

	if (!strmap_get(tc->amap, a, &ai))
		return NULL;
	return tc->cols[ai];
}

/* Hand the id bytes of row i of column c to ahead, if it has them. */
static void
tc_col_ahead(const struct tc_col *c, uint32_t i, tstore_ahead_cb ahead,
    void *arg)
{
	const unsigned char *p = c->rows + c->off[i];

	if (*p == TC_UUID)
		ahead(arg, p + 1);
}

/* Call cb on the rows of column a: all of them (v and has NULL), those
 * whose value is v, or those whose value contains has. */
int
tcache_col_scan(struct tcache *tc, const char *a, const char *v,
    const char *has, tstore_cb cb, void *arg, int *hit)
{
	return tcache_col_scan_ahead(tc, a, v, has, cb, NULL, arg, hit);
}

/* The same, telling ahead of the rows to come. */
int
tcache_col_scan_ahead(struct tcache *tc, const char *a, const char *v,
    const char *has, tstore_cb cb, tstore_ahead_cb ahead, void *arg, int *hit)
{
	struct tc_col *c;
	struct tc_rowtext rt;
	const char *text;
	uint32_t lo, hi, mid, i;
	int r = 0;

	*hit = 0;
	if ((c = tc_col_get(tc, a)) == NULL)
		return 0;
	*hit = 1;
	c->used = ++tc->clock;
	tc->busy++;
	lo = 0;
	hi = c->n;
	if (v != NULL) {
		/* The first row whose value is not below v. */
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			tc_col_row(c, mid, a, &rt);
			if (strcmp(rt.tr.v, v) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		hi = c->n;
	}
	for (i = lo; ahead != NULL && i < hi && i < lo + TCACHE_AHEAD; i++)
		tc_col_ahead(c, i, ahead, arg);
	for (i = lo; i < hi && r == 0; i++) {
		if (ahead != NULL && hi - i > TCACHE_AHEAD)
			tc_col_ahead(c, i + TCACHE_AHEAD, ahead, arg);
		/* A containment test reads a text value where it lies:
		 * most rows fail it, and need not be unpacked. */
		if (has != NULL && (text = tc_col_text(c, i)) != NULL &&
		    strstr(text, has) == NULL)
			continue;
		tc_col_row(c, i, a, &rt);
		if (v != NULL && strcmp(rt.tr.v, v) != 0)
			break;
		if (has != NULL && strstr(rt.tr.v, has) == NULL)
			continue;
		r = cb(arg, &rt.tr);
	}
	tc_idle(tc);
	return r;
}

/* The number of triples of attr a, if its column is kept. */
int
tcache_col_count(struct tcache *tc, const char *a, int64_t *n)
{
	struct tc_col *c = tc_col_get(tc, a);

	if (c == NULL)
		return 0;
	*n = c->n;
	return 1;
}

/* Unlink the column of attr number ai (freed now, or once idle). */
static void
tc_col_drop(struct tcache *tc, size_t ai)
{
	struct tc_col *c = tc->cols[ai];

	if (c == NULL)
		return;
	tc->cols[ai] = NULL;
	tc->col_bytes -= c->bytes;
	if (tc->busy > 0) {
		c->next = tc->dead_cols;
		tc->dead_cols = c;
	} else
		tc_col_free(c);
}

/* Drop the column of attr a. */
void
tcache_forget_attr(struct tcache *tc, const char *a)
{
	size_t ai;

	tc->gen++;
	if (strmap_get(tc->amap, a, &ai))
		tc_col_drop(tc, ai);
}

/* Drop every column. */
void
tcache_forget_columns(struct tcache *tc)
{
	size_t i;

	tc->gen++;
	for (i = 0; i < tc->na; i++)
		tc_col_drop(tc, i);
}

/* Start keeping the rows of an attr scan. */
void
tcache_col_begin(struct tcache *tc, struct tcache_colfill *f)
{
	memset(f, 0, sizeof *f);
	f->gen = tc->gen;
}

/* The bytes a column filled so far takes: its rows and their offsets as
 * allocated, and (once it is kept) its header. */
static size_t
tc_colfill_bytes(const struct tcache_colfill *f)
{
	return sizeof(struct tc_col) + f->cap * sizeof *f->off +
	    f->rows.cap + 3 * TCACHE_MALLOC_OVERHEAD;
}

/* Keep one row of the attr scan. */
void
tcache_col_row(struct tcache *tc, struct tcache_colfill *f,
    const struct triple *tr)
{
	unsigned char u[16], ue[16], kind;
	size_t elen, vlen, need;
	uint32_t *off;
	int euuid;

	if (f->failed)
		return;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		if (cap > UINT32_MAX ||
		    (off = realloc(f->off, cap * sizeof *off)) == NULL) {
			f->failed = 1;
			return;
		}
		f->off = off;
		f->cap = cap;
	}
	if (f->rows.len > UINT32_MAX / 2) {
		f->failed = 1;
		return;
	}
	f->off[f->n++] = (uint32_t)f->rows.len;
	elen = strlen(tr->e);
	if ((euuid = uuid_bytes_lower(tr->e, elen, ue))) {
		textbuf_putc(&f->rows, TC_UUID);
		textbuf_put(&f->rows, (const char *)ue, 16);
	} else {
		textbuf_putc(&f->rows, TC_TEXT);
		textbuf_put(&f->rows, tr->e, elen + 1);
	}
	textbuf_put(&f->rows, (const char *)&tr->t, 8);
	vlen = strlen(tr->v);
	kind = tc_value_kind(tr->v, vlen, euuid ? ue : NULL, u);
	textbuf_putc(&f->rows, (char)kind);
	tc_put_value(&f->rows, kind, u, tr->v, vlen);
	if (f->rows.err) {
		f->failed = 1;
		return;
	}
	/* The rows being read count against the limit as they come: older
	 * columns make way now, not once this one is complete, so the two
	 * are never held together past it. */
	need = tc_colfill_bytes(f);
	if (tc->col_bytes + need > tc_col_limit(tc)) {
		tc_col_evict(tc, need, 1);
		if (tc->col_bytes + need > tc_col_limit(tc))
			f->failed = 1;
	}
}

/* Drop the least recently scanned columns until size more bytes fit
 * (spare_read: but none that the current read has scanned).  Columns
 * make room for others sparing the current read's: a read of more attrs
 * than fit would otherwise drop each column just before it is read
 * again, and the next read find none (a query over a namespace reads the
 * same attrs every time).  Kept, those that fit are read from memory
 * every time.  Entities taking back their room spare none in the end. */
static void
tc_col_evict(struct tcache *tc, size_t size, int spare_read)
{
	size_t i, oldest;

	while (tc->col_bytes + size > tc_col_limit(tc)) {
		oldest = tc->na;
		for (i = 0; i < tc->na; i++)
			if (tc->cols[i] != NULL &&
			    (!spare_read || tc->cols[i]->used <= tc->epoch) &&
			    (oldest == tc->na ||
			    tc->cols[i]->used < tc->cols[oldest]->used))
				oldest = i;
		if (oldest == tc->na)
			return;
		tc_col_drop(tc, oldest);
	}
}

/* Drop columns until they are within their limit again: the least
 * recently scanned first, those the current read scanned last. */
static void
tc_col_shrink(struct tcache *tc)
{
	tc_col_evict(tc, 0, 1);
	tc_col_evict(tc, 0, 0);
}

/* Whether attr number ai's column, as large as its last fill, would fit
 * beside the columns the current read has scanned.  A fill that cannot
 * be kept costs its scan a third more; now and then one is tried anyway,
 * in case the attr has shrunk. */
static int
tc_col_fits(struct tcache *tc, size_t ai)
{
	struct tc_colstat *r = &tc->cstat[ai];
	size_t held = 0, i;

	if (r->bytes == 0)
		return 1;
	for (i = 0; i < tc->na; i++)
		if (tc->cols[i] != NULL && tc->cols[i]->used > tc->epoch)
			held += tc->cols[i]->bytes;
	if (r->bytes <= tc_col_limit(tc) &&
	    held <= tc_col_limit(tc) - r->bytes)
		return 1;
	return ++r->skips % TCACHE_RETRY_EVERY == 0;
}

/* Whether an attr scan of a should fill its column. */
int
tcache_col_wanted(struct tcache *tc, const char *a)
{
	size_t ai;

	if (tc->col_budget == 0)
		return 0;
	if (!strmap_get(tc->amap, a, &ai))
		return 1;
	return tc->cols[ai] == NULL && tc_col_fits(tc, ai);
}

/* A read snapshot begins: the columns it scans are kept from here on. */
void
tcache_read_begin(struct tcache *tc)
{
	tc->epoch = ++tc->clock;
}

/* Whether a value scan of attr a should read the whole attr into its
 * column: once value scans served by SQLite have read as many rows as
 * the last fill did (TCACHE_FILL_AFTER before the first).  A column that
 * writes keep dropping then costs its value scans at most about half as
 * much again, while one that stays pays for itself many times over. */
int
tcache_col_due(struct tcache *tc, const char *a)
{
	size_t ai;
	uint32_t after;

	if (tc->col_budget == 0 || !strmap_get(tc->amap, a, &ai) ||
	    tc->cols[ai] != NULL)
		return 0;
	after = tc->cstat[ai].size > TCACHE_FILL_AFTER ? tc->cstat[ai].size :
	    TCACHE_FILL_AFTER;
	return tc->cstat[ai].rows >= after && tc_col_fits(tc, ai);
}

/* Count rows a value scan of attr a read from SQLite. */
void
tcache_col_note(struct tcache *tc, const char *a, size_t rows)
{
	uint32_t ai;

	if (rows == 0 || tc_attr(tc, a, &ai) != 0)
		return;
	if (rows > UINT32_MAX - tc->cstat[ai].rows)
		rows = UINT32_MAX - tc->cstat[ai].rows;
	tc->cstat[ai].rows += (uint32_t)rows;
}

/* Finish an attr scan of a: keep its rows as a's column, if the scan read
 * them all and nothing was forgotten since it began. */
void
tcache_col_end(struct tcache *tc, struct tcache_colfill *f, const char *a,
    int keep)
{
	struct tc_col *c = NULL;
	uint32_t ai;
	size_t bytes;

	if (tc_attr(tc, a, &ai) != 0)
		goto out;
	/* Whether kept or not, the value scans start earning the next
	 * fill afresh, against what this one read. */
	tc->cstat[ai].rows = 0;
	tc->cstat[ai].size = f->n > UINT32_MAX ? UINT32_MAX : (uint32_t)f->n;
	bytes = tc_colfill_bytes(f);
	tc->cstat[ai].bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
	tc->cstat[ai].skips = 0;
	if (!keep || f->failed || f->gen != tc->gen || tc->cols[ai] != NULL)
		goto out;
	if ((c = calloc(1, sizeof *c)) == NULL)
		goto out;
	c->n = (uint32_t)f->n;
	c->off = f->off;
	c->rows = (unsigned char *)f->rows.p;
	c->bytes = bytes;
	c->used = ++tc->clock;
	f->off = NULL;
	f->rows.p = NULL;
	tc_col_evict(tc, c->bytes, 1);
	if (tc->col_bytes + c->bytes > tc_col_limit(tc)) {
		tc_col_free(c);
		goto out;
	}
	tc->cols[ai] = c;
	tc->col_bytes += c->bytes;
out:
	free(f->off);
	textbuf_clear(&f->rows);
}

/* Columns held and their bytes. */
void
tcache_col_stats(const struct tcache *tc, size_t *columns, size_t *bytes)
{
	size_t i;

	*columns = 0;
	for (i = 0; i < tc->na; i++)
		*columns += tc->cols[i] != NULL;
	*bytes = tc->col_bytes;
}
