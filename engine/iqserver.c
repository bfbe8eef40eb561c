/*
 * iqserver.c: what only the server does (the devserver's evaluation).
 *
 * The top-level page: the sorted entities after the query's "after" and
 * before its "before" cursor (inclusive with afterInclusive /
 * beforeInclusive), past its offset, cut to the client's limit (limit ||
 * first || last, the last ones for last), with page-info cursors
 * [e, a, v, t] on the first and last entity of the page.
 *
 * The triples to send: the client re-runs the query over the triples it
 * receives, so besides the result entities' own triples and the witness
 * bindings of their where clauses, every entity whose id triple is sent
 * gets all its own triples, and one incoming link per attr tested with
 * $isNull through a reverse label: without them the client would see
 * values or links missing that the server saw, and $isNull or $ne would
 * match where the server's did not.
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
#include "engine/strmap.h"
#include "engine/tstore.h"

/*
 * Server mode: the page window, page-info, count aggregates and the
 * closure of the triples sent.
 */

/* Callback: the first triple of a scan, as [e, a, v, t]. */
static int
iqserver_first_cb(void *arg, const struct triple *tr)
{
	json_t **out = arg;
	json_t *v = iqjoin_value(tr->v);

	*out = v != NULL ? json_pack("[s,s,o,I]", tr->e, tr->a, v,
	    (json_int_t)tr->t) : NULL;
	return 1;
}

/* The cursor [e, a, v, t] of a sorted entry: its order triple, or its id
 * triple when ordering by serverCreatedAt. */
static json_t *
iqserver_cursor(struct iq_ctx *c, const struct iq_node *n,
    const struct attr *oa, const struct iq_sortent *s)
{
	const struct attr *id = attrs_primary(c->as, n->etype);
	json_t *cur = NULL;

	if (iqorder_by_t(oa))
		return json_pack("[s,s,s,I]", s->e, id != NULL ? id->id : "",
		    s->e, (json_int_t)s->t);
	if (tstore_scan_ea(c->ts, s->e, oa->id, iqserver_first_cb, &cur) < 0)
		return NULL;
	if (cur == NULL)
		cur = json_pack("[s,s,n,I]", s->e, oa->id, (json_int_t)s->t);
	return cur;
}

/* Where an entry sits against a cursor in the node's sorted order: <0
 * before it, 0 on it, >0 after it. */
static int
iqserver_position(const struct iq_node *n, const struct attr *oa,
    const json_t *cursor, const struct iq_sortent *s)
{
	int cmp = iqorder_cmp_cursor(cursor, oa, s);

	return n->sort_desc ? -cmp : cmp;
}

/* Narrow [*lo, *hi) of the sorted kept entries to the after/before
 * cursors of the query. */
static void
iqserver_cursor_bounds(const struct iq_node *n, const json_t *d,
    const struct attr *oa, const struct iq_sortent *v, const size_t *keep,
    size_t *lo, size_t *hi)
{
	const json_t *after = json_object_get(d, "after");
	const json_t *before = json_object_get(d, "before");
	int ai = jsval_truthy(json_object_get(d, "afterInclusive"));
	int bi = jsval_truthy(json_object_get(d, "beforeInclusive"));
	int pos;

	while (json_is_array(after) && *lo < *hi) {
		pos = iqserver_position(n, oa, after, &v[keep[*lo]]);
		if (pos > 0 || (ai && pos == 0))
			break;
		(*lo)++;
	}
	while (json_is_array(before) && *hi > *lo) {
		pos = iqserver_position(n, oa, before, &v[keep[*hi - 1]]);
		if (pos < 0 || (bi && pos == 0))
			break;
		(*hi)--;
	}
}

/* Apply offset, then the client's limit (limit || first || last, taken
 * from the end for last) to [*lo, *hi). */
static void
iqserver_count_bounds(const struct iq_node *n, const json_t *d, size_t *lo,
    size_t *hi)
{
	const json_t *off = json_object_get(d, "offset");
	size_t k;

	if (json_is_number(off) && json_number_value(off) > 0)
		*lo += (size_t)json_number_value(off) < *hi - *lo ?
		    (size_t)json_number_value(off) : *hi - *lo;
	if (n->limit == NULL)
		return;
	k = iq_limit_len(n->limit, *hi - *lo);
	if (n->limit == json_object_get(d, "last"))
		*lo = *hi - k;
	else
		*hi = *lo + k;
}

/* The server's page of a top-level node: narrows keep[] and records its
 * page-info. */
int
iqserver_window(struct iq_ctx *c, const struct iq_node *n,
    const struct attr *oa, const struct iq_sortent *v, size_t *keep,
    size_t *nkeep)
{
	const json_t *d = json_object_get(n->form, "$");
	size_t lo = 0, hi = *nkeep;
	json_t *pi, *sc = NULL, *ec = NULL;

	iqserver_cursor_bounds(n, d, oa, v, keep, &lo, &hi);
	iqserver_count_bounds(n, d, &lo, &hi);
	if (lo < hi && ((sc = iqserver_cursor(c, n, oa, &v[keep[lo]])) == NULL ||
	    (ec = iqserver_cursor(c, n, oa, &v[keep[hi - 1]])) == NULL)) {
		json_decref(sc);
		return -1;
	}
	pi = json_pack("{s:o,s:o,s:b,s:b}", "start-cursor",
	    sc != NULL ? sc : json_null(), "end-cursor",
	    ec != NULL ? ec : json_null(), "has-next-page?", hi < *nkeep,
	    "has-previous-page?", lo > 0);
	if (pi == NULL || json_object_set_new(c->page_info, n->etype, pi) != 0)
		return -1;
	memmove(keep, keep + lo, (hi - lo) * sizeof *keep);
	*nkeep = hi - lo;
	return 0;
}

/* The count aggregate of a top-level node. */
int
iqserver_count(struct iq_ctx *c, const struct iq_node *n)
{
	struct iq_hits h;
	int r;

	memset(&h, 0, sizeof h);
	if (iqjoin_run(c->ts, &n->plan, NULL, &h, 0, 0, c->errmsg) != 0)
		return -1;
	r = json_object_set_new(c->aggregate, n->etype, json_pack("{s:I}",
	    "count", (json_int_t)h.n));
	iq_hits_clear(&h);
	return r;
}

/* Callback: add a triple to the result's set. */
static int
iqserver_tset_cb(void *arg, const struct triple *tr)
{
	return iq_tset_add(arg, tr->e, tr->a, tr->v, tr->t) == 0 ? 0 : -1;
}

/* Callback: add the first triple of a scan, then stop. */
static int
iqserver_tset_first_cb(void *arg, const struct triple *tr)
{
	return iq_tset_add(arg, tr->e, tr->a, tr->v, tr->t) == 0 ? 1 : -1;
}

/* Send what the client needs to judge an entity it can see: all of its
 * own triples, and one incoming link per reverse $isNull attr. */
static int
iqserver_close_entity(struct iq_ctx *c, const struct attr *id, const char *e)
{
	const struct attr *a;
	const char *aid;
	json_t *t;
	char *etext;
	int r = 0;

	if (tstore_scan_e(c->ts, e, iqserver_tset_cb, &c->tset) < 0)
		return -1;
	json_object_foreach(c->rev_null, aid, t) {
		a = attrs_by_id(c->as, aid);
		if (a == NULL || a->rev_etype == NULL ||
		    strcmp(a->rev_etype, id->etype) != 0)
			continue;
		if ((etext = iqjoin_quote(e)) == NULL)
			return -1;
		r = tstore_scan_av(c->ts, aid, etext, iqserver_tset_first_cb,
		    &c->tset);
		free(etext);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Close the triple set over the entities whose id triple it holds: the
 * client evaluates $isNull and $not over them, so it must see their
 * other values too. */
int
iqserver_closure(struct iq_ctx *c)
{
	size_t i, n = json_array_size(c->tset.arr);
	const struct attr *a;
	const json_t *tr;
	const char *e, *v;

	for (i = 0; i < n; i++) {
		tr = json_array_get(c->tset.arr, i);
		e = json_string_value(json_array_get(tr, 0));
		v = json_string_value(json_array_get(tr, 2));
		a = attrs_by_id(c->as, json_string_value(json_array_get(tr, 1)));
		if (a == NULL || e == NULL || v == NULL ||
		    strcmp(e, v) != 0 || attrs_primary(c->as, a->etype) != a)
			continue;
		if (iqserver_close_entity(c, a, e) != 0)
			return -1;
	}
	return 0;
}
