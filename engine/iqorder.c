/*
 * iqorder.c: ordering a level's entities as the client does.
 *
 * The client's compareOrder: equal values (and two missing values) fall
 * back to uuid byte order; a missing value sorts first; strings of an attr
 * whose checked-data-type is "string" use the collation of collate.c,
 * anything else JavaScript's ">".  Date attrs compare as milliseconds.
 * Without an order attr (or ordering by serverCreatedAt) the value is the
 * t of the entity's id triple.  The sort is a stable merge sort.
 *
 * Order values come from one lookup per entity, or, when a query needs a
 * good part of an etype, from one scan of the whole order attr.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/collate.h"
#include "engine/instaql.h"
#include "engine/iq.h"
#include "engine/jsval.h"
#include "engine/idmap.h"
#include "engine/strmap.h"
#include "engine/tstore.h"
#include "proto/uuid.h"

/*
 * Ordering.
 */

/* The client's uuidCompare of two entries' ids: their bytes, when both
 * are uuids (as good as always), compare the same way. */
static int
iqorder_uuid_cmp(const struct iq_sortent *a, const struct iq_sortent *b)
{
	if (a->has_ukey && b->has_ukey)
		return memcmp(a->ukey, b->ukey, sizeof a->ukey);
	return jsval_uuid_cmp(a->e, b->e);
}

/* The client's compareOrder. */
static int
iqorder_compare(const struct iq_sortent *a, const struct iq_sortent *b,
    int strings)
{
	int anull = a->v == NULL || json_is_null(a->v);
	int bnull = b->v == NULL || json_is_null(b->v);
	char *x, *y;
	int r;

	if (json_is_integer(a->v) && json_is_integer(b->v)) {
		json_int_t p = json_integer_value(a->v);
		json_int_t q = json_integer_value(b->v);
		if (p != q)
			return p > q ? 1 : -1;
		return iqorder_uuid_cmp(a, b);
	}
	if ((!a->nan && !b->nan && jsval_strict_eq(a->v, b->v) && !anull) ||
	    (anull && bnull && !a->nan && !b->nan))
		return iqorder_uuid_cmp(a, b);
	if (bnull && !b->nan)
		return 1;
	if (anull && !a->nan)
		return -1;
	if (a->nan || b->nan)
		return -1;
	if (strings && a->ckey != NULL && b->ckey != NULL)
		return collate_key_cmp(a->ckey, a->cklen, b->ckey, b->cklen);
	if (strings) {
		x = jsval_to_string(a->v);
		y = jsval_to_string(b->v);
		r = x != NULL && y != NULL ? collate_compare(x, y) : 0;
		free(x);
		free(y);
		return r < 0 ? -1 : r > 0 ? 1 : 0;
	}
	return jsval_relcmp(a->v, b->v) == JSVAL_GT ? 1 : -1;
}

/* Sorting parameters. */
struct iqorder_spec {
	int desc;
	int strings;
	int by_t; /* the values are the entries' t (not set in v) */
};

/* Compare two entries in the sort's direction. */
static int
iqorder_cmp(const struct iqorder_spec *s, const struct iq_sortent *a,
    const struct iq_sortent *b)
{
	const struct iq_sortent *x = s->desc ? b : a, *y = s->desc ? a : b;

	if (s->by_t) {
		if (x->t != y->t)
			return x->t > y->t ? 1 : -1;
		return iqorder_uuid_cmp(x, y);
	}
	return iqorder_compare(x, y, s->strings);
}

/* Stable merge sort of the entries p[0..n) point to, using tmp: the
 * pointers move, not the entries, which are ten times their size. */
static void
iqorder_msort(const struct iqorder_spec *s, struct iq_sortent **p,
    struct iq_sortent **tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	iqorder_msort(s, p, tmp, mid);
	iqorder_msort(s, p + mid, tmp, n - mid);
	/* Already in order: nothing to merge (sorted and nearly sorted
	 * input, as entities by creation time often are, costs n). */
	if (iqorder_cmp(s, p[mid], p[mid - 1]) >= 0)
		return;
	while (i < mid && j < n)
		tmp[k++] = iqorder_cmp(s, p[j], p[i]) < 0 ? p[j++] : p[i++];
	while (i < mid)
		tmp[k++] = p[i++];
	memcpy(p, tmp, k * sizeof *p);
}

/* Sort v[0..n) in place (stable). */
static int
iqorder_sort(const struct iqorder_spec *s, struct iq_sortent *v, size_t n)
{
	struct iq_sortent **p = malloc((n + 1) * sizeof *p);
	struct iq_sortent **tmp = malloc((n + 1) * sizeof *tmp);
	struct iq_sortent *out = malloc((n + 1) * sizeof *out);
	size_t i;
	int r = -1;

	if (p == NULL || tmp == NULL || out == NULL)
		goto out;
	for (i = 0; i < n; i++)
		p[i] = &v[i];
	iqorder_msort(s, p, tmp, n);
	for (i = 0; i < n; i++)
		out[i] = *p[i];
	memcpy(v, out, n * sizeof *v);
	r = 0;
out:
	free(p);
	free(tmp);
	free(out);
	return r;
}

/* Whether an attr is a date attr. */
static int
iqorder_is_date(const struct attr *a)
{
	return a != NULL && a->checked_type != NULL &&
	    strcmp(a->checked_type, "date") == 0;
}

/* Whether an attr orders by serverCreatedAt (its label is id). */
int
iqorder_by_t(const struct attr *a)
{
	return a == NULL || strcmp(a->label, "id") == 0;
}

/* comparableDate: milliseconds for a date value (null stays null). */
static void
iqorder_date_key(struct iq_sortent *s)
{
	double ms;

	if (s->v == NULL || json_is_null(s->v))
		return;
	ms = jsval_date_ms(s->v);
	json_decref(s->v);
	s->v = NULL;
	if (isnan(ms))
		s->nan = 1;
	else
		s->v = json_real(ms);
}

/* Callback: the first value of a scan. */
static int
iqorder_first_cb(void *arg, const struct triple *tr)
{
	struct iq_sortent *s = arg;

	s->v = iqjoin_value(tr->v);
	return 1;
}

/* The order value of an entity under order attr a. */
static int
iqorder_value(struct iq_ctx *c, const struct attr *a, struct iq_sortent *s)
{
	if (tstore_scan_ea(c->ts, s->e, a->id, iqorder_first_cb, s) < 0)
		return -1;
	if (iqorder_is_date(a))
		iqorder_date_key(s);
	return 0;
}

/* Bulk lookup of order values: the hits' index into the entries (entry
 * i is hit i before sorting). */
struct iqorder_bulk {
	const struct idmap *idx;
	struct iq_sortent *ents;
};

/* Callback: the first value of each indexed entity. */
static int
iqorder_bulk_cb(void *arg, const struct triple *tr)
{
	struct iqorder_bulk *b = arg;
	size_t i;

	if (b->idx != NULL && idmap_get_e(b->idx, tr, &i) &&
	    b->ents[i].v == NULL &&
	    (b->ents[i].v = iqjoin_value(tr->v)) == NULL)
		return -1;
	return 0;
}

/* Whether etype has at most max entities (rows of its id attr): a count
 * known already, else one that stops past max. */
int
iqorder_etype_at_most(struct iq_ctx *c, const char *etype, int64_t max)
{
	const struct attr *id;
	const json_t *j;
	int64_t all;

	if ((j = json_object_get(c->counts, etype)) != NULL)
		all = json_integer_value(j);
	else if ((id = attrs_primary(c->as, etype)) == NULL ||
	    tstore_count_a_max(c->ts, id->id, max + 1, &all) != 0)
		return 0;
	else if (all <= max)
		/* The count ended before the bound: it is exact. */
		json_object_set_new(c->counts, etype, json_integer(all));
	return all <= max;
}

/* Whether scanning whole attrs of etype beats lookups for n of its
 * entities: when n is a good part of them. */
int
iqorder_bulk_pays(struct iq_ctx *c, const char *etype, size_t n)
{
	return n >= 64 && iqorder_etype_at_most(c, etype, 4 * (int64_t)n);
}

/* Order values of many entities in one scan of the order attr. */
static int
iqorder_bulk(struct iq_ctx *c, const struct attr *a,
    const struct iq_hits *h, struct iq_sortent *v)
{
	struct iqorder_bulk b = { h->index, v };
	size_t i;

	if (tstore_scan_a(c->ts, a->id, iqorder_bulk_cb, &b) != 0)
		return -1;
	for (i = 0; i < h->n && iqorder_is_date(a); i++)
		iqorder_date_key(&v[i]);
	return 0;
}

/* Free sort entries. */
void
iqorder_free(struct iq_sortent *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		json_decref(v[i].v);
		free(v[i].ckey);
	}
	free(v);
}

/* Whether an order attr sorts its strings by collation. */
static int
iqorder_strings(const struct attr *oa)
{
	return !iqorder_by_t(oa) && oa->checked_type != NULL &&
	    strcmp(oa->checked_type, "string") == 0;
}

/* The order values of the entries (one scan of the attr or one lookup
 * per entity). */
static int
iqorder_values(struct iq_ctx *c, const struct attr *oa,
    const struct iq_hits *h, struct iq_sortent *v)
{
	size_t i;

	if (iqorder_bulk_pays(c, oa->etype, h->n))
		return iqorder_bulk(c, oa, h, v);
	for (i = 0; i < h->n; i++)
		if (iqorder_value(c, oa, &v[i]) != 0)
			return -1;
	return 0;
}

/* Collation keys for the entries' values, computed once before sorting
 * rather than in every comparison. */
static int
iqorder_keys(struct iq_sortent *v, size_t n)
{
	size_t i;
	char *s;

	for (i = 0; i < n; i++) {
		if (v[i].v == NULL || json_is_null(v[i].v) || v[i].nan)
			continue;
		if ((s = jsval_to_string(v[i].v)) == NULL)
			return -1;
		v[i].ckey = collate_key(s, &v[i].cklen);
		free(s);
		if (v[i].ckey == NULL)
			return -1;
	}
	return 0;
}

/* The entries of the hits, sorted by order attr oa (NULL: by t). */
struct iq_sortent *
iqorder_sorted(struct iq_ctx *c, const struct iq_hits *h,
    const struct attr *oa, int desc)
{
	struct iqorder_spec spec = { desc, iqorder_strings(oa),
		iqorder_by_t(oa) };
	struct iq_sortent *v = calloc(h->n + 1, sizeof *v);
	size_t i;

	if (v == NULL)
		goto fail;
	for (i = 0; i < h->n; i++) {
		v[i].hit = i;
		v[i].e = h->v[i].e;
		v[i].t = h->v[i].t;
		v[i].has_ukey = uuid_bytes(v[i].e, v[i].ukey);
	}
	if (!spec.by_t && iqorder_values(c, oa, h, v) != 0)
		goto fail;
	if (spec.strings && iqorder_keys(v, h->n) != 0)
		goto fail;
	if (iqorder_sort(&spec, v, h->n) != 0)
		goto fail;
	return v;
fail:
	iqorder_free(v, h->n);
	return NULL;
}

/* An entry for a cursor [e, a, v, t] under order attr a. */
static void
iqorder_cursor_ent(const json_t *cursor, const struct attr *a,
    struct iq_sortent *s)
{
	memset(s, 0, sizeof *s);
	s->e = json_string_value(json_array_get(cursor, 0));
	if (s->e == NULL)
		s->e = "";
	if (iqorder_by_t(a)) {
		s->v = json_incref(json_array_get(cursor, 3));
		return;
	}
	s->v = json_incref(json_array_get(cursor, 2));
	if (iqorder_is_date(a))
		iqorder_date_key(s);
}

/* The client's compareToCursor: entry against cursor. */
int
iqorder_cmp_cursor(const json_t *cursor, const struct attr *a,
    const struct iq_sortent *s)
{
	struct iq_sortent ce, se = *s;
	int r;

	iqorder_cursor_ent(cursor, a, &ce);
	/* Entries sorted by t carry no value: compare their t. */
	if (iqorder_by_t(a) && se.v == NULL)
		se.v = json_integer(se.t);
	r = iqorder_compare(&se, &ce, iqorder_strings(a));
	if (se.v != s->v)
		json_decref(se.v);
	json_decref(ce.v);
	return r;
}

/* The numeric value of an array-index string ("0", or no leading zero,
 * at most 2^32 - 2), or -1: JavaScript objects list such keys first, in
 * numeric order. */
static long long
iqorder_index_key(const char *e)
{
	long long n = 0;
	size_t i;

	if (e[0] == '\0' || (e[0] == '0' && e[1] != '\0'))
		return -1;
	for (i = 0; e[i] != '\0'; i++) {
		if (e[i] < '0' || e[i] > '9' || i >= 10)
			return -1;
		n = n * 10 + (e[i] - '0');
	}
	return n <= 4294967294LL ? n : -1;
}

/* Sort entry indexes by their array-index keys (insertion sort: such
 * ids are rare). */
static void
iqorder_sort_index_keys(const struct iq_sortent *v, size_t *idx, size_t n)
{
	size_t i, j, t;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && iqorder_index_key(v[idx[j - 1]].e) >
		    iqorder_index_key(v[idx[j]].e); j--) {
			t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
}

/* Reorder kept entries as the client's result object lists them: ids
 * that are array indexes first, in numeric order, then the rest in sort
 * order. */
int
iqorder_js_keys(const struct iq_sortent *v, size_t *keep, size_t n)
{
	size_t *idx, i, k = 0, m;

	for (i = 0; i < n && iqorder_index_key(v[keep[i]].e) < 0; i++)
		;
	if (i == n)
		return 0;
	if ((idx = malloc(n * sizeof *idx)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (iqorder_index_key(v[keep[i]].e) >= 0)
			idx[k++] = keep[i];
	iqorder_sort_index_keys(v, idx, k);
	m = k;
	for (i = 0; i < n; i++)
		if (iqorder_index_key(v[keep[i]].e) < 0)
			idx[m++] = keep[i];
	memcpy(keep, idx, n * sizeof *idx);
	free(idx);
	return 0;
}
