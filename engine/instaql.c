/*
 * instaql.c: the InstaQL evaluator (see instaql.h).
 *
 * The query is compiled into a tree of nodes, one per form (namespace or
 * nested link), each with its compiled where plan (iqwhere.c), object
 * attrs, order and limit.  A node is then run per parent entity, as the
 * client does (instaql.ts queryOne): match the plan (iqjoin.c), order the
 * entities, keep the cursor window, build the objects from the entity's
 * triples, apply the limit, and extend each object with its children.
 *
 * Ordering follows the client's compareOrder: equal values (and two
 * missing values) fall back to uuid byte order; a missing value sorts
 * first; strings of an attr whose checked-data-type is "string" use the
 * collation of collate.c, anything else JavaScript's ">".  Dates compare
 * as milliseconds.  The default order is the t of the id triple.
 *
 * Server mode adds the top-level page window (server_window), the count
 * aggregate, and the triples the client needs: every result entity's own
 * triples plus one witness binding per entity (the link triples and
 * linked values that make its where clause true).
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

/* One label of the objects a node builds. */
struct iq_field {
	const char *label;
	const struct attr *attr;
};

/* One compiled form. */
struct iq_node {
	char *path;
	const char *label; /* the link label of a nested node */
	const char *etype;
	int level;
	const json_t *form;
	struct iq_plan plan;
	int singular;      /* a has-one link under cardinality inference */
	int link_missing;  /* the label names no attr: [] */
	struct iq_field *fields;
	size_t nfields;
	struct strmap *field_by_attr; /* attr id -> index in fields */
	const json_t *order_key;  /* the first key of $.order, or NULL */
	int sort_desc;            /* sorting direction */
	int cursor_desc;          /* direction of the cursor window */
	const json_t *limit;      /* limit || first || last, or NULL */
	int leading;              /* no offset, before or after */
	struct iq_node **kids;
	size_t nkids;
};

/* Evaluation state. */
struct iq_ctx {
	struct tstore *ts;
	const struct attrs *as;
	const struct instaql_opts *opts;
	struct iq_tset tset; /* server mode */
	json_t *topics;      /* object used as a set */
	json_t *counts;      /* etype -> number of entities, when known */
	json_t *page_info;   /* server mode: etype -> page-info */
	json_t *aggregate;   /* server mode: etype -> {"count": n} */
	json_t *rev_null;    /* server mode: attr id -> true, for reverse
				$isNull tests (their links are sent) */
	char **errmsg;
};

/* A sort entry: an entity and its order value. */
struct iq_sortent {
	size_t hit;
	const char *e;
	int64_t t;
	json_t *v; /* NULL: undefined */
	int nan;   /* the value is NaN (a date that does not parse) */
};

/* Set *errmsg to "<path>: <msg>" and return -1. */
static int
iq_error(struct iq_ctx *c, const char *path, const char *msg)
{
	size_t n = strlen(path) + strlen(msg) + 3;

	if (c->errmsg != NULL && *c->errmsg == NULL &&
	    (*c->errmsg = malloc(n)) != NULL)
		snprintf(*c->errmsg, n, "%s: %s", path, msg);
	return -1;
}

/*
 * Triple sets.
 */

/* Initialize an empty triple set. */
int
iq_tset_init(struct iq_tset *s)
{
	s->seen = strmap_create();
	s->arr = json_array();
	if (s->seen == NULL || s->arr == NULL) {
		iq_tset_clear(s);
		return -1;
	}
	return 0;
}

/* Release a triple set. */
void
iq_tset_clear(struct iq_tset *s)
{
	strmap_free(s->seen);
	json_decref(s->arr);
	s->seen = NULL;
	s->arr = NULL;
}

/* Add [e, a, v, t] unless (e, a, v) is there already. */
int
iq_tset_add(struct iq_tset *s, const char *e, const char *a,
    const char *vtext, int64_t t)
{
	size_t n = strlen(e) + strlen(a) + strlen(vtext) + 3;
	char *key = malloc(n);
	json_t *v, *tr;
	int r = -1;

	if (key == NULL)
		return -1;
	snprintf(key, n, "%s\037%s\037%s", e, a, vtext);
	if (strmap_get(s->seen, key, NULL)) {
		r = 0;
		goto out;
	}
	if ((v = iq_value_parse(vtext)) == NULL)
		goto out;
	tr = json_pack("[s,s,o,I]", e, a, v, (json_int_t)t);
	if (tr == NULL || json_array_append_new(s->arr, tr) != 0 ||
	    strmap_put(s->seen, key, 0) != 0)
		goto out;
	r = 0;
out:
	free(key);
	return r;
}

/*
 * Compilation.
 */

static void iq_node_free(struct iq_node *);

/* Whether an attr's value-type is "blob". */
static int
iq_is_blob(const struct attr *a)
{
	const char *vt = json_string_value(json_object_get(a->json,
	    "value-type"));

	return vt != NULL && strcmp(vt, "blob") == 0;
}

/* Set label -> attr in the node's fields (a later one replaces). */
static int
iq_field_set(struct iq_node *n, const char *label, const struct attr *a)
{
	struct iq_field *v;
	size_t i;

	for (i = 0; i < n->nfields; i++) {
		if (strcmp(n->fields[i].label, label) == 0) {
			n->fields[i].attr = a;
			return 0;
		}
	}
	if ((v = realloc(n->fields, (n->nfields + 1) * sizeof *v)) == NULL)
		return -1;
	n->fields = v;
	v[n->nfields].label = label;
	v[n->nfields].attr = a;
	n->nfields++;
	return 0;
}

/* The blob attrs of the etype, or the selected fields plus id (the
 * client's objectAttrs). */
static int
iq_node_fields(struct iq_ctx *c, struct iq_node *n, const json_t *fields)
{
	const struct attr *a;
	size_t i;

	for (i = 0; !json_is_array(fields) && i < attrs_count(c->as); i++) {
		a = attrs_at(c->as, i);
		if (strcmp(a->etype, n->etype) == 0 && iq_is_blob(a) &&
		    iq_field_set(n, a->label, a) != 0)
			return -1;
	}
	for (i = 0; json_is_array(fields) && i < json_array_size(fields); i++) {
		a = attrs_forward(c->as, n->etype,
		    json_string_value(json_array_get(fields, i)));
		if (a != NULL && iq_is_blob(a) &&
		    iq_field_set(n, a->label, a) != 0)
			return -1;
	}
	if (json_is_array(fields) &&
	    (a = attrs_forward(c->as, n->etype, "id")) != NULL &&
	    iq_field_set(n, "id", a) != 0)
		return -1;
	if ((n->field_by_attr = strmap_create()) == NULL)
		return -1;
	for (i = 0; i < n->nfields; i++)
		if (strmap_put(n->field_by_attr, n->fields[i].attr->id, i) != 0)
			return -1;
	return 0;
}

/* Check the types in a form's "$" map. */
static int
iq_check_dollar(struct iq_ctx *c, const struct iq_node *n, const json_t *d)
{
	static const char *const nums[] = { "limit", "first", "last",
		"offset" };
	char p[1024];
	const json_t *x;
	size_t i;

	if (d != NULL && !json_is_object(d))
		return iq_error(c, n->path, "$ must be an object");
	for (i = 0; i < 4; i++) {
		x = json_object_get(d, nums[i]);
		snprintf(p, sizeof p, "%s.$.%s", n->path, nums[i]);
		if (x != NULL && !json_is_null(x) && !json_is_number(x))
			return iq_error(c, p, "must be a number");
	}
	x = json_object_get(d, "fields");
	snprintf(p, sizeof p, "%s.$.fields", n->path);
	if (x != NULL && !json_is_null(x) && !json_is_array(x))
		return iq_error(c, p, "must be an array");
	x = json_object_get(d, "order");
	snprintf(p, sizeof p, "%s.$.order", n->path);
	if (x != NULL && !json_is_null(x) && !json_is_object(x))
		return iq_error(c, p, "must be an object");
	return 0;
}

/* Read order, limit and window flags from "$". */
static void
iq_node_options(struct iq_node *n, const json_t *d)
{
	const json_t *order = json_object_get(d, "order");
	const json_t *dir;
	void *it = json_object_iter((json_t *)order);

	if (order != NULL && it != NULL) {
		dir = json_object_iter_value(it);
		n->order_key = json_string(json_object_iter_key(it));
		n->sort_desc = jsval_truthy(dir) &&
		    !(json_is_string(dir) &&
			strcmp(json_string_value(dir), "asc") == 0);
		n->cursor_desc = json_is_string(dir) &&
		    strcmp(json_string_value(dir), "desc") == 0;
	}
	n->limit = json_object_get(d, "limit");
	if (!jsval_truthy(n->limit))
		n->limit = json_object_get(d, "first");
	if (!jsval_truthy(n->limit))
		n->limit = json_object_get(d, "last");
	if (!jsval_truthy(n->limit) && (n->limit == NULL ||
	    json_is_null(n->limit)))
		n->limit = NULL;
	n->leading = !jsval_truthy(json_object_get(d, "offset")) &&
	    !jsval_truthy(json_object_get(d, "before")) &&
	    !jsval_truthy(json_object_get(d, "after"));
}

/* Record an etype read by the query. */
static void
iq_topic(struct iq_ctx *c, const char *etype)
{
	if (etype != NULL)
		json_object_set_new(c->topics, etype, json_true());
}

/* Record the etypes of every attr in a pattern list. */
static void
iq_topics_plist(struct iq_ctx *c, const struct iq_plist *l)
{
	size_t i, b;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].kind == IQ_P_OR) {
			for (b = 0; b < l->v[i].nbranches; b++)
				iq_topics_plist(c, &l->v[i].branches[b]);
			continue;
		}
		iq_topic(c, l->v[i].attr->etype);
		iq_topic(c, l->v[i].attr->rev_etype);
		if (l->v[i].v.kind == IQ_T_ARGS &&
		    l->v[i].v.args->null_attr != NULL) {
			const struct iq_args *a = l->v[i].v.args;
			iq_topic(c, a->null_attr->etype);
			iq_topic(c, a->null_attr->rev_etype);
			if (a->reverse && c->rev_null != NULL)
				json_object_set_new(c->rev_null,
				    a->null_attr->id, json_true());
		}
	}
}

static struct iq_node *iq_compile(struct iq_ctx *, const char *etype,
    int level, const json_t *form, const struct iq_join *,
    const char *path);

/* Resolve a child label into its link: 0 (missing set when the label
 * names no attr), or -1 if it is not a link. */
static int
iq_child_link(struct iq_ctx *c, const struct iq_node *n, const char *label,
    struct iq_join *j, int *singular, int *missing, const char *path)
{
	const struct attr *f = attrs_forward(c->as, n->etype, label);
	const struct attr *a = f != NULL ? f : attrs_reverse(c->as, n->etype,
	    label);

	*missing = a == NULL;
	*singular = 0;
	if (a == NULL)
		return 0;
	if (!a->is_ref || a->rev_etype == NULL)
		return iq_error(c, path, "not a link");
	j->attr = a;
	j->forward = f != NULL;
	j->parent_etype = n->etype;
	j->parent_level = n->level;
	if (c->opts->cardinality_inference)
		*singular = f != NULL ? a->card_one : a->unique;
	return 0;
}

/* Compile the child forms of node n. */
static int
iq_compile_kids(struct iq_ctx *c, struct iq_node *n)
{
	struct iq_node *kid;
	struct iq_join j;
	char path[1024];
	const char *label;
	json_t *form;
	int singular, missing;

	json_object_foreach((json_t *)n->form, label, form) {
		if (strcmp(label, "$") == 0)
			continue;
		snprintf(path, sizeof path, "%s.%s", n->path, label);
		if (iq_child_link(c, n, label, &j, &singular, &missing,
			path) != 0)
			return -1;
		kid = iq_compile(c, missing ? label : (j.forward ?
		    j.attr->rev_etype : j.attr->etype), n->level + 1, form,
		    missing ? NULL : &j, path);
		if (kid == NULL)
			return -1;
		kid->label = label;
		kid->singular = singular;
		kid->link_missing = missing;
		n->kids[n->nkids++] = kid;
	}
	return 0;
}

/* Compile one form into a node (NULL on error, *errmsg set). */
static struct iq_node *
iq_compile(struct iq_ctx *c, const char *etype, int level,
    const json_t *form, const struct iq_join *j, const char *path)
{
	struct iq_node *n = calloc(1, sizeof *n);
	const json_t *d;

	if (n == NULL || (n->path = strdup(path)) == NULL) {
		iq_error(c, path, "out of memory");
		goto fail;
	}
	n->etype = etype;
	n->level = level;
	n->form = form;
	if (!json_is_object(form)) {
		iq_error(c, path, "must be an object");
		goto fail;
	}
	d = json_object_get(form, "$");
	if (json_is_null(d))
		d = NULL;
	if (iq_check_dollar(c, n, d) != 0)
		goto fail;
	iq_topic(c, etype);
	if (j != NULL || level == 0) {
		if (iqwhere_plan(&n->plan, c->as, etype, level,
			json_object_get(d, "where"), j, path, c->errmsg) != 0)
			goto fail;
		iq_topics_plist(c, &n->plan.pats);
	}
	iq_node_options(n, d);
	if (iq_node_fields(c, n, json_object_get(d, "fields")) != 0 ||
	    (n->kids = calloc(json_object_size(form) + 1,
		 sizeof *n->kids)) == NULL) {
		iq_error(c, path, "out of memory");
		goto fail;
	}
	if (iq_compile_kids(c, n) != 0)
		goto fail;
	return n;
fail:
	iq_node_free(n);
	return NULL;
}

/* Free a node tree. */
static void
iq_node_free(struct iq_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		iq_node_free(n->kids[i]);
	free(n->kids);
	iqwhere_plan_clear(&n->plan);
	free(n->fields);
	strmap_free(n->field_by_attr);
	json_decref((json_t *)n->order_key);
	free(n->path);
	free(n);
}

/*
 * Ordering.
 */

/* The client's compareOrder. */
static int
iq_compare_order(const struct iq_sortent *a, const struct iq_sortent *b,
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
		return jsval_uuid_cmp(a->e, b->e);
	}
	if ((!a->nan && !b->nan && jsval_strict_eq(a->v, b->v) && !anull) ||
	    (anull && bnull && !a->nan && !b->nan))
		return jsval_uuid_cmp(a->e, b->e);
	if (bnull && !b->nan)
		return 1;
	if (anull && !a->nan)
		return -1;
	if (a->nan || b->nan)
		return -1;
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
struct iq_sortspec {
	int desc;
	int strings;
};

/* Compare two entries in the sort's direction. */
static int
iq_sort_cmp(const struct iq_sortspec *s, const struct iq_sortent *a,
    const struct iq_sortent *b)
{
	return s->desc ? iq_compare_order(b, a, s->strings) :
	    iq_compare_order(a, b, s->strings);
}

/* Stable merge sort of v[0..n) using tmp. */
static void
iq_msort(const struct iq_sortspec *s, struct iq_sortent *v,
    struct iq_sortent *tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	iq_msort(s, v, tmp, mid);
	iq_msort(s, v + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = iq_sort_cmp(s, &v[j], &v[i]) < 0 ? v[j++] : v[i++];
	while (i < mid)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof *v);
}

/* Whether an attr is a date attr. */
static int
iq_is_date(const struct attr *a)
{
	return a != NULL && a->checked_type != NULL &&
	    strcmp(a->checked_type, "date") == 0;
}

/* Whether an attr orders by serverCreatedAt (its label is id). */
static int
iq_orders_by_t(const struct attr *a)
{
	return a == NULL || strcmp(a->label, "id") == 0;
}

/* comparableDate: milliseconds for a date value (null stays null). */
static void
iq_date_key(struct iq_sortent *s)
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
iq_first_cb(void *arg, const struct triple *tr)
{
	struct iq_sortent *s = arg;

	s->v = iq_value_parse(tr->v);
	return 1;
}

/* The order value of an entity under order attr a. */
static int
iq_order_value(struct iq_ctx *c, const struct attr *a, struct iq_sortent *s)
{
	if (iq_orders_by_t(a)) {
		s->v = json_integer(s->t);
		return s->v != NULL ? 0 : -1;
	}
	if (tstore_scan_ea(c->ts, s->e, a->id, iq_first_cb, s) < 0)
		return -1;
	if (iq_is_date(a))
		iq_date_key(s);
	return 0;
}

/* Bulk lookups: an entity index and the rows of one attr. */
struct iq_bulk {
	struct strmap *idx; /* entity id -> entry */
	struct iq_sortent *ents;
	json_t **objs;
	const char *label;
};

/* Callback: the first value of each indexed entity. */
static int
iq_bulk_order_cb(void *arg, const struct triple *tr)
{
	struct iq_bulk *b = arg;
	size_t i;

	if (strmap_get(b->idx, tr->e, &i) && b->ents[i].v == NULL &&
	    (b->ents[i].v = iq_value_parse(tr->v)) == NULL)
		return -1;
	return 0;
}

/* The number of entities of an etype (rows of its id attr), counted once
 * per evaluation. */
static int64_t
iq_entity_count(struct iq_ctx *c, const char *etype)
{
	const struct attr *id = attrs_primary(c->as, etype);
	json_t *j = json_object_get(c->counts, etype);
	int64_t n;

	if (j != NULL)
		return json_integer_value(j);
	if (id == NULL || tstore_count_a(c->ts, id->id, &n) != 0)
		return -1;
	json_object_set_new(c->counts, etype, json_integer(n));
	return n;
}

/* Whether scanning whole attrs of etype beats lookups for n of its
 * entities: when n is a good part of them. */
static int
iq_bulk_pays(struct iq_ctx *c, const char *etype, size_t n)
{
	int64_t all;

	if (n < 64 || (all = iq_entity_count(c, etype)) < 0)
		return 0;
	return (uint64_t)all <= 4 * (uint64_t)n;
}

/* An index of entity ids to positions (NULL on failure). */
static struct strmap *
iq_index(const char *const *ids, size_t stride, size_t n)
{
	struct strmap *m = strmap_create();
	size_t i;

	for (i = 0; m != NULL && i < n; i++) {
		const char *e = *(const char *const *)((const char *)ids +
		    i * stride);
		if (strmap_put(m, e, i) != 0) {
			strmap_free(m);
			return NULL;
		}
	}
	return m;
}

/* Order values of many entities in one scan of the order attr. */
static int
iq_bulk_order(struct iq_ctx *c, const struct attr *a, struct iq_sortent *v,
    size_t n)
{
	struct iq_bulk b = { NULL, v, NULL, NULL };
	size_t i;
	int r = -1;

	if ((b.idx = iq_index(&v[0].e, sizeof v[0], n)) == NULL)
		return -1;
	if (tstore_scan_a(c->ts, a->id, iq_bulk_order_cb, &b) != 0)
		goto out;
	for (i = 0; i < n && iq_is_date(a); i++)
		iq_date_key(&v[i]);
	r = 0;
out:
	strmap_free(b.idx);
	return r;
}

/* Free sort entries. */
static void
iq_sortents_free(struct iq_sortent *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		json_decref(v[i].v);
	free(v);
}

/* Build and sort the entries of the hits. */
static struct iq_sortent *
iq_sorted(struct iq_ctx *c, const struct iq_hits *h, const struct attr *oa,
    const struct iq_sortspec *spec)
{
	struct iq_sortent *v = calloc(h->n + 1, sizeof *v), *tmp;
	size_t i;

	tmp = calloc(h->n + 1, sizeof *tmp);
	if (v == NULL || tmp == NULL)
		goto fail;
	for (i = 0; i < h->n; i++) {
		v[i].hit = i;
		v[i].e = h->v[i].e;
		v[i].t = h->v[i].t;
	}
	if (!iq_orders_by_t(oa) && iq_bulk_pays(c, oa->etype, h->n)) {
		if (iq_bulk_order(c, oa, v, h->n) != 0)
			goto fail;
	} else {
		for (i = 0; i < h->n; i++)
			if (iq_order_value(c, oa, &v[i]) != 0)
				goto fail;
	}
	iq_msort(spec, v, tmp, h->n);
	free(tmp);
	return v;
fail:
	free(tmp);
	iq_sortents_free(v, h->n);
	return NULL;
}

/* An entry for a cursor [e, a, v, t] under order attr a. */
static void
iq_cursor_ent(const json_t *cursor, const struct attr *a,
    struct iq_sortent *s)
{
	memset(s, 0, sizeof *s);
	s->e = json_string_value(json_array_get(cursor, 0));
	if (s->e == NULL)
		s->e = "";
	if (iq_orders_by_t(a)) {
		s->v = json_incref(json_array_get(cursor, 3));
		return;
	}
	s->v = json_incref(json_array_get(cursor, 2));
	if (iq_is_date(a))
		iq_date_key(s);
}

/* The client's compareToCursor: entry against cursor. */
static int
iq_cmp_cursor(const json_t *cursor, const struct attr *a,
    const struct iq_sortent *s)
{
	struct iq_sortent ce;
	int r;

	iq_cursor_ent(cursor, a, &ce);
	r = iq_compare_order(s, &ce, !iq_orders_by_t(a) && a->checked_type &&
	    strcmp(a->checked_type, "string") == 0);
	json_decref(ce.v);
	return r;
}

/*
 * Running a node.
 */

/* Callback state: an object under construction. */
struct iq_objfill {
	const struct iq_node *n;
	json_t *obj;
	struct iq_tset *tset;
};

/* Callback: set the object's field from one of the entity's triples. */
static int
iq_obj_cb(void *arg, const struct triple *tr)
{
	struct iq_objfill *f = arg;
	size_t i;
	json_t *v;

	if (f->tset != NULL && iq_tset_add(f->tset, tr->e, tr->a, tr->v,
	    tr->t) != 0)
		return -1;
	if (!strmap_get(f->n->field_by_attr, tr->a, &i))
		return 0;
	if ((v = iq_value_parse(tr->v)) == NULL)
		return 0;
	return json_object_set_new(f->obj, f->n->fields[i].label, v) == 0 ?
	    0 : -1;
}

/* The object of entity e (the client's getAsObject). */
static json_t *
iq_object(struct iq_ctx *c, const struct iq_node *n, const char *e)
{
	struct iq_objfill f = { n, json_object(), NULL };

	if (c->opts->server)
		f.tset = &c->tset;
	if (f.obj == NULL || tstore_scan_e(c->ts, e, iq_obj_cb, &f) < 0) {
		json_decref(f.obj);
		return NULL;
	}
	return f.obj;
}

/* Callback: set one field of an indexed entity's object. */
static int
iq_bulk_obj_cb(void *arg, const struct triple *tr)
{
	struct iq_bulk *b = arg;
	json_t *v;
	size_t i;

	if (!strmap_get(b->idx, tr->e, &i))
		return 0;
	if ((v = iq_value_parse(tr->v)) == NULL)
		return 0;
	return json_object_set_new(b->objs[i], b->label, v) == 0 ? 0 : -1;
}

/* The objects of the kept entries, field by field in one scan each, when
 * that beats a lookup per entity; 1 if not worth it. */
static int
iq_bulk_objects(struct iq_ctx *c, const struct iq_node *n,
    const struct iq_sortent *v, const size_t *keep, size_t nkeep,
    json_t **objs)
{
	struct iq_bulk b = { NULL, NULL, objs, NULL };
	size_t i;
	int r = -1;

	if (c->opts->server || !iq_bulk_pays(c, n->etype, nkeep))
		return 1;
	if ((b.idx = strmap_create()) == NULL)
		return -1;
	for (i = 0; i < nkeep; i++)
		if (strmap_put(b.idx, v[keep[i]].e, i) != 0 ||
		    (objs[i] = json_object()) == NULL)
			goto out;
	for (i = 0; i < n->nfields; i++) {
		b.label = n->fields[i].label;
		if (tstore_scan_a(c->ts, n->fields[i].attr->id, iq_bulk_obj_cb,
			&b) != 0)
			goto out;
	}
	r = 0;
out:
	strmap_free(b.idx);
	return r;
}

/* slice(0, limit) length for n items. */
static size_t
iq_limit_len(const json_t *limit, size_t n)
{
	double l;

	if (limit == NULL)
		return n;
	l = json_is_number(limit) ? trunc(json_number_value(limit)) : NAN;
	if (isnan(l))
		return 0;
	if (l < 0)
		l = (double)n + l > 0 ? (double)n + l : 0;
	return l < (double)n ? (size_t)l : n;
}

static json_t *iq_run_node(struct iq_ctx *, const struct iq_node *,
    const char *parent, const json_t *page_info);

/* Add the children of one object. */
static int
iq_extend(struct iq_ctx *c, const struct iq_node *n, json_t *obj,
    const char *e)
{
	struct iq_node *k;
	json_t *arr;
	size_t i;

	for (i = 0; i < n->nkids; i++) {
		k = n->kids[i];
		if (k->link_missing)
			arr = json_array();
		else if ((arr = iq_run_node(c, k, e, NULL)) == NULL)
			return -1;
		if (arr == NULL)
			return -1;
		if (!k->singular)
			json_object_set_new(obj, k->label, arr);
		else {
			if (json_array_size(arr) > 0)
				json_object_set(obj, k->label,
				    json_array_get(arr, 0));
			json_decref(arr);
		}
	}
	return 0;
}

/* Whether the cursor window of the client drops entry s. */
static int
iq_outside_window(const struct iq_node *n, const json_t *pi,
    const struct attr *oa, const struct iq_sortent *s)
{
	const json_t *sc = json_object_get(pi, "start-cursor");
	const json_t *ec = json_object_get(pi, "end-cursor");
	int cmp;

	if (n->leading || oa == NULL)
		return 0;
	if (jsval_truthy(sc)) {
		cmp = iq_cmp_cursor(sc, oa, s);
		if (n->cursor_desc ? cmp > 0 : cmp < 0)
			return 1;
	}
	if (jsval_truthy(ec)) {
		cmp = iq_cmp_cursor(ec, oa, s);
		if (n->cursor_desc ? cmp < 0 : cmp > 0)
			return 1;
	}
	return 0;
}

/* The order attr: the start cursor's attr, else the order key's. */
static const struct attr *
iq_order_attr(struct iq_ctx *c, const struct iq_node *n, const json_t *pi)
{
	const json_t *sc = json_object_get(pi, "start-cursor");

	if (jsval_truthy(sc))
		return attrs_by_id(c->as,
		    json_string_value(json_array_get(sc, 1)));
	if (n->order_key != NULL)
		return attrs_forward(c->as, n->etype,
		    json_string_value(n->order_key));
	return NULL;
}

/* Add the witness triples of an emitted entity. */
static int
iq_add_witness(struct iq_ctx *c, const json_t *w)
{
	const json_t *tr;
	size_t i;

	json_array_foreach(w, i, tr) {
		if (iq_tset_add(&c->tset,
			json_string_value(json_array_get(tr, 0)),
			json_string_value(json_array_get(tr, 1)),
			json_string_value(json_array_get(tr, 2)),
			json_integer_value(json_array_get(tr, 3))) != 0)
			return -1;
	}
	return 0;
}

/* Objects for the kept sorted entries, with their children. */
static int
iq_emit(struct iq_ctx *c, const struct iq_node *n, const struct iq_hits *h,
    const struct iq_sortent *v, const size_t *keep, size_t nkeep,
    json_t *out)
{
	json_t *obj, **objs = calloc(nkeep + 1, sizeof *objs);
	size_t i;
	int bulk, r = -1;

	if (objs == NULL ||
	    (bulk = iq_bulk_objects(c, n, v, keep, nkeep, objs)) < 0)
		goto out;
	for (i = 0; i < nkeep; i++) {
		const struct iq_sortent *s = &v[keep[i]];
		obj = bulk == 0 ? objs[i] : iq_object(c, n, s->e);
		objs[i] = NULL;
		if (obj == NULL || json_array_append_new(out, obj) != 0 ||
		    iq_extend(c, n, obj, s->e) != 0)
			goto out;
		if (c->opts->server &&
		    iq_add_witness(c, h->v[s->hit].witness) != 0)
			goto out;
	}
	r = 0;
out:
	for (i = 0; objs != NULL && i < nkeep; i++)
		json_decref(objs[i]);
	free(objs);
	return r;
}

/* Match, order and window the entities of a node: the indexes of the
 * entries to emit, in order. */
static size_t *
iq_select(struct iq_ctx *c, const struct iq_node *n, const json_t *pi,
    struct iq_hits *h, struct iq_sortent **vp, size_t *nkeep,
    const struct attr **oap)
{
	struct iq_sortspec spec;
	const struct attr *oa = iq_order_attr(c, n, pi);
	struct iq_sortent *v;
	size_t *keep, i;

	spec.desc = n->sort_desc;
	spec.strings = !iq_orders_by_t(oa) && oa->checked_type != NULL &&
	    strcmp(oa->checked_type, "string") == 0;
	if ((v = iq_sorted(c, h, oa, &spec)) == NULL)
		return NULL;
	if ((keep = calloc(h->n + 1, sizeof *keep)) == NULL) {
		iq_sortents_free(v, h->n);
		return NULL;
	}
	*nkeep = 0;
	for (i = 0; i < h->n; i++)
		if (!iq_outside_window(n, pi, oa, &v[i]))
			keep[(*nkeep)++] = i;
	*vp = v;
	*oap = oa;
	return keep;
}

/*
 * Server mode: the page window, page-info, count aggregates and the
 * closure of the triples sent.
 */

/* Callback: the first triple of a scan, as [e, a, v, t]. */
static int
iq_first_triple_cb(void *arg, const struct triple *tr)
{
	json_t **out = arg;
	json_t *v = iq_value_parse(tr->v);

	*out = v != NULL ? json_pack("[s,s,o,I]", tr->e, tr->a, v,
	    (json_int_t)tr->t) : NULL;
	return 1;
}

/* The cursor [e, a, v, t] of a sorted entry: its order triple, or its id
 * triple when ordering by serverCreatedAt. */
static json_t *
iq_cursor_of(struct iq_ctx *c, const struct iq_node *n,
    const struct attr *oa, const struct iq_sortent *s)
{
	const struct attr *id = attrs_primary(c->as, n->etype);
	json_t *cur = NULL;

	if (iq_orders_by_t(oa))
		return json_pack("[s,s,s,I]", s->e, id != NULL ? id->id : "",
		    s->e, (json_int_t)s->t);
	if (tstore_scan_ea(c->ts, s->e, oa->id, iq_first_triple_cb, &cur) < 0)
		return NULL;
	if (cur == NULL)
		cur = json_pack("[s,s,n,I]", s->e, oa->id, (json_int_t)s->t);
	return cur;
}

/* Where an entry sits against a cursor in the node's sorted order: <0
 * before it, 0 on it, >0 after it. */
static int
iq_position(const struct iq_node *n, const struct attr *oa,
    const json_t *cursor, const struct iq_sortent *s)
{
	int cmp = iq_cmp_cursor(cursor, oa, s);

	return n->sort_desc ? -cmp : cmp;
}

/* Narrow [*lo, *hi) of the sorted kept entries to the after/before
 * cursors of the query. */
static void
iq_cursor_bounds(const struct iq_node *n, const json_t *d,
    const struct attr *oa, const struct iq_sortent *v, const size_t *keep,
    size_t *lo, size_t *hi)
{
	const json_t *after = json_object_get(d, "after");
	const json_t *before = json_object_get(d, "before");
	int ai = jsval_truthy(json_object_get(d, "afterInclusive"));
	int bi = jsval_truthy(json_object_get(d, "beforeInclusive"));
	int pos;

	while (json_is_array(after) && *lo < *hi) {
		pos = iq_position(n, oa, after, &v[keep[*lo]]);
		if (pos > 0 || (ai && pos == 0))
			break;
		(*lo)++;
	}
	while (json_is_array(before) && *hi > *lo) {
		pos = iq_position(n, oa, before, &v[keep[*hi - 1]]);
		if (pos < 0 || (bi && pos == 0))
			break;
		(*hi)--;
	}
}

/* Apply offset, then the client's limit (limit || first || last, taken
 * from the end for last) to [*lo, *hi). */
static void
iq_count_bounds(const struct iq_node *n, const json_t *d, size_t *lo,
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
static int
iq_server_window(struct iq_ctx *c, const struct iq_node *n,
    const struct attr *oa, const struct iq_sortent *v, size_t *keep,
    size_t *nkeep)
{
	const json_t *d = json_object_get(n->form, "$");
	size_t lo = 0, hi = *nkeep;
	json_t *pi, *sc = NULL, *ec = NULL;

	iq_cursor_bounds(n, d, oa, v, keep, &lo, &hi);
	iq_count_bounds(n, d, &lo, &hi);
	if (lo < hi && ((sc = iq_cursor_of(c, n, oa, &v[keep[lo]])) == NULL ||
	    (ec = iq_cursor_of(c, n, oa, &v[keep[hi - 1]])) == NULL)) {
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
static int
iq_server_count(struct iq_ctx *c, const struct iq_node *n)
{
	struct iq_hits h = { NULL, 0, 0 };
	int r;

	if (iqjoin_run(c->ts, &n->plan, NULL, &h, 0, c->errmsg) != 0)
		return -1;
	r = json_object_set_new(c->aggregate, n->etype, json_pack("{s:I}",
	    "count", (json_int_t)h.n));
	iq_hits_clear(&h);
	return r;
}

/* Callback: add a triple to the result's set. */
static int
iq_tset_cb(void *arg, const struct triple *tr)
{
	return iq_tset_add(arg, tr->e, tr->a, tr->v, tr->t) == 0 ? 0 : -1;
}

/* Callback: add the first triple of a scan, then stop. */
static int
iq_tset_first_cb(void *arg, const struct triple *tr)
{
	return iq_tset_add(arg, tr->e, tr->a, tr->v, tr->t) == 0 ? 1 : -1;
}

/* Send what the client needs to judge an entity it can see: all of its
 * own triples, and one incoming link per reverse $isNull attr. */
static int
iq_close_entity(struct iq_ctx *c, const struct attr *id, const char *e)
{
	const struct attr *a;
	const char *aid;
	json_t *t;
	char *etext;
	int r = 0;

	if (tstore_scan_e(c->ts, e, iq_tset_cb, &c->tset) < 0)
		return -1;
	json_object_foreach(c->rev_null, aid, t) {
		a = attrs_by_id(c->as, aid);
		if (a == NULL || a->rev_etype == NULL ||
		    strcmp(a->rev_etype, id->etype) != 0)
			continue;
		if ((etext = iq_quote(e)) == NULL)
			return -1;
		r = tstore_scan_av(c->ts, aid, etext, iq_tset_first_cb,
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
static int
iq_server_closure(struct iq_ctx *c)
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
		if (iq_close_entity(c, a, e) != 0)
			return -1;
	}
	return 0;
}

/* Run a node for one parent (NULL at the top): the array of objects. */
static json_t *
iq_run_node(struct iq_ctx *c, const struct iq_node *n, const char *parent,
    const json_t *pi)
{
	struct iq_hits h = { NULL, 0, 0 };
	struct iq_sortent *v = NULL;
	const struct attr *oa;
	json_t *out = json_array();
	size_t *keep = NULL, nkeep = 0;
	int server_top = c->opts->server && parent == NULL;

	if (out == NULL)
		return NULL;
	if (!n->leading && !server_top &&
	    !jsval_truthy(json_object_get(pi, "start-cursor")))
		return out;
	if (iqjoin_run(c->ts, &n->plan, parent, &h, c->opts->server,
		c->errmsg) != 0)
		goto fail;
	/* A level with only its id pattern found every entity. */
	if (parent == NULL && n->plan.pats.n == 1 && !n->plan.notfound)
		json_object_set_new(c->counts, n->etype,
		    json_integer((json_int_t)h.n));
	if ((keep = iq_select(c, n, pi, &h, &v, &nkeep, &oa)) == NULL)
		goto fail;
	if (server_top) {
		if (iq_server_window(c, n, oa, v, keep, &nkeep) != 0)
			goto fail;
	} else
		nkeep = iq_limit_len(n->limit, nkeep);
	if (iq_emit(c, n, &h, v, keep, nkeep, out) != 0)
		goto fail;
	free(keep);
	iq_sortents_free(v, h.n);
	iq_hits_clear(&h);
	return out;
fail:
	if (c->errmsg != NULL && *c->errmsg == NULL)
		*c->errmsg = strdup(c->ts != NULL ? tstore_errmsg(c->ts) :
		    "out of memory");
	free(keep);
	iq_sortents_free(v, h.n);
	iq_hits_clear(&h);
	json_decref(out);
	return NULL;
}

/*
 * The entry points.
 */

/* The client's formatPageInfo. */
static json_t *
iq_format_page_info(const json_t *pi)
{
	json_t *res = json_object(), *o, *x;
	const char *k;
	json_t *v;

	if (res == NULL)
		return NULL;
	json_object_foreach((json_t *)pi, k, v) {
		o = json_object();
		if ((x = json_object_get(v, "start-cursor")) != NULL)
			json_object_set(o, "startCursor", x);
		if ((x = json_object_get(v, "end-cursor")) != NULL)
			json_object_set(o, "endCursor", x);
		if ((x = json_object_get(v, "has-next-page?")) != NULL)
			json_object_set(o, "hasNextPage", x);
		if ((x = json_object_get(v, "has-previous-page?")) != NULL)
			json_object_set(o, "hasPreviousPage", x);
		json_object_set_new(res, k, o);
	}
	return res;
}

/* The topics set as a sorted array. */
static json_t *
iq_topics_array(json_t *set)
{
	json_t *arr = json_array();
	const char **keys;
	const char *k;
	json_t *v;
	size_t i = 0;

	if (arr == NULL)
		return NULL;
	if ((keys = calloc(json_object_size(set) + 1, sizeof *keys)) == NULL) {
		json_decref(arr);
		return NULL;
	}
	json_object_foreach(set, k, v)
		keys[i++] = k;
	for (size_t a = 1; a < i; a++)
		for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0;
		     b--) {
			k = keys[b];
			keys[b] = keys[b - 1];
			keys[b - 1] = k;
		}
	for (size_t a = 0; a < i; a++)
		json_array_append_new(arr, json_string(keys[a]));
	free(keys);
	return arr;
}

/* Whether a form asks for the count aggregate. */
static int
iq_is_count(const json_t *form)
{
	const json_t *agg = json_object_get(json_object_get(form, "$"),
	    "aggregate");

	return json_is_string(agg) && strcmp(json_string_value(agg),
	    "count") == 0;
}

/* Evaluate one top-level namespace into out->data. */
static int
iq_eval_ns(struct iq_ctx *c, const char *ns, const json_t *form,
    struct instaql_result *out)
{
	const json_t *pi = NULL;
	struct iq_node *n;
	json_t *arr;
	int r;

	if (!c->opts->server && c->opts->page_info != NULL)
		pi = json_object_get(c->opts->page_info, ns);
	if ((n = iq_compile(c, ns, 0, form, NULL, ns)) == NULL)
		return -1;
	if (c->opts->server && iq_is_count(form)) {
		r = iq_server_count(c, n);
		iq_node_free(n);
		return r;
	}
	arr = iq_run_node(c, n, NULL, pi);
	iq_node_free(n);
	if (arr == NULL)
		return -1;
	return json_object_set_new(out->data, ns, arr);
}

/* Release a result. */
void
instaql_result_clear(struct instaql_result *r)
{
	if (r == NULL)
		return;
	json_decref(r->data);
	json_decref(r->page_info);
	json_decref(r->aggregate);
	json_decref(r->triples);
	json_decref(r->topics);
	memset(r, 0, sizeof *r);
}

/* Evaluate query q. */
int
instaql_eval(struct tstore *ts, const struct attrs *as, const json_t *q,
    const struct instaql_opts *opts, struct instaql_result *out,
    char **errmsg)
{
	static const struct instaql_opts defaults;
	struct iq_ctx c;
	const char *ns;
	json_t *form;
	int r = -1;

	memset(out, 0, sizeof *out);
	memset(&c, 0, sizeof c);
	if (errmsg != NULL)
		*errmsg = NULL;
	c.ts = ts;
	c.as = as;
	c.opts = opts != NULL ? opts : &defaults;
	c.errmsg = errmsg;
	if (!json_is_object(q)) {
		iq_error(&c, "query", "must be an object");
		return -1;
	}
	if ((c.topics = json_object()) == NULL ||
	    (c.counts = json_object()) == NULL ||
	    (out->data = json_object()) == NULL ||
	    (c.opts->server && (iq_tset_init(&c.tset) != 0 ||
		(c.page_info = json_object()) == NULL ||
		(c.aggregate = json_object()) == NULL ||
		(c.rev_null = json_object()) == NULL))) {
		iq_error(&c, "query", "out of memory");
		goto out;
	}
	json_object_foreach((json_t *)q, ns, form) {
		if (strcmp(ns, "$$ruleParams") == 0)
			continue;
		if (iq_eval_ns(&c, ns, form, out) != 0)
			goto out;
	}
	if (!c.opts->server && c.opts->page_info != NULL)
		out->page_info = iq_format_page_info(c.opts->page_info);
	out->topics = iq_topics_array(c.topics);
	if (c.opts->server) {
		if (iq_server_closure(&c) != 0) {
			iq_error(&c, "query", tstore_errmsg(ts));
			goto out;
		}
		out->triples = json_incref(c.tset.arr);
		out->page_info = json_incref(c.page_info);
		out->aggregate = json_incref(c.aggregate);
	}
	r = 0;
out:
	if (r != 0)
		instaql_result_clear(out);
	json_decref(c.topics);
	json_decref(c.counts);
	json_decref(c.page_info);
	json_decref(c.aggregate);
	json_decref(c.rev_null);
	iq_tset_clear(&c.tset);
	return r;
}

/* Check the shape of a query. */
int
instaql_validate(const json_t *q, char **errmsg)
{
	struct instaql_result res;
	struct attrs *as = attrs_create();
	int r;

	if (as == NULL)
		return -1;
	/* With no attrs every namespace is unknown: only shapes are
	 * checked, nothing is read. */
	r = instaql_eval(NULL, as, q, NULL, &res, errmsg);
	instaql_result_clear(&res);
	attrs_free(as);
	return r;
}
