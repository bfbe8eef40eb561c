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
 * Ordering is in iqorder.c, server mode (page windows, aggregates, the
 * triples to send) in iqserver.c.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/collate.h"
#include "engine/idmap.h"
#include "engine/instaql.h"
#include "engine/iq.h"
#include "engine/jsval.h"
#include "engine/strmap.h"
#include "engine/tstore.h"

/* Nested forms at most (each level is a recursion). */
#define IQ_MAX_LEVEL 32

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
	if ((v = iqjoin_value(vtext)) == NULL)
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
	for (i = 0; i < attrs_count(c->as); i++)
		if (strcmp(attrs_at(c->as, i)->etype, n->etype) == 0)
			n->nattrs++;
	/* The fields in attr id order (insertion sort: a few fields). */
	if ((n->by_id = calloc(n->nfields + 1, sizeof *n->by_id)) == NULL)
		return -1;
	for (i = 0; i < n->nfields; i++) {
		size_t j = i;
		while (j > 0 && strcmp(n->fields[n->by_id[j - 1]].attr->id,
		    n->fields[i].attr->id) > 0) {
			n->by_id[j] = n->by_id[j - 1];
			j--;
		}
		n->by_id[j] = i;
	}
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
	if (level > IQ_MAX_LEVEL) {
		iq_error(c, path, "nesting too deep");
		goto fail;
	}
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
	/* A missing link's plan is never run: compiling it checks it. */
	if (iqwhere_plan(&n->plan, c->as, etype, level,
		json_object_get(d, "where"), j, path, c->errmsg) != 0)
		goto fail;
	iq_topics_plist(c, &n->plan.pats);
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
	free(n->by_id);
	json_decref((json_t *)n->order_key);
	free(n->path);
	free(n);
}

/*
 * Running a node.
 */

/*
 * Object fields.  The values of a run's kept entities are read first,
 * either one entity at a time (its triples, by primary key) or one field
 * at a time over the whole etype, into per-entity slots; each object then
 * writes its slots.  As in the client's getAsObject, an attr with several
 * values gives the last one (in value order) that parses.  Keys come in
 * attr id order (the order of an entity's triples) however the values
 * were read, so that equal data is always equal text.
 */

/* Where one value is in the text (len 0: none).  Bulk reads set the slots
 * in an order of their own: the two together are one memory access. */
struct iq_slot {
	size_t off, len;
};

/* The field values of the kept entities of one run. */
struct iq_vals {
	const struct iq_node *n;
	size_t nfields;
	struct textbuf text;  /* the values' text */
	struct iq_slot *slot; /* per kept entity and field */
	/* reading */
	const struct idmap *idx; /* whole fields: entity id -> hit */
	size_t *pos;          /* ... hit -> place among the kept plus one */
	size_t field;         /* ... the field being read */
	size_t k;             /* one entity: its place among the kept */
	size_t j;             /* ... where its triples are in by_id */
	struct iq_tset *tset; /* ... server mode: every triple read */
};

/* Release field values. */
static void
iq_vals_clear(struct iq_vals *b)
{
	free(b->pos);
	free(b->slot);
	textbuf_clear(&b->text);
}

/* Keep a value of field f of kept entity k (if it parses). */
static int
iq_vals_set(struct iq_vals *b, size_t k, size_t f, const char *vtext)
{
	size_t at = b->text.len;
	struct iq_slot *s = &b->slot[k * b->nfields + f];

	if (iqtext_value(&b->text, vtext) == 1) {
		s->off = at;
		s->len = b->text.len - at;
	}
	return b->text.err ? -1 : 0;
}

/* Callback: one triple of a field over the whole etype. */
static int
iq_vals_field_cb(void *arg, const struct triple *tr)
{
	struct iq_vals *b = arg;
	size_t hit;

	if (!idmap_get_e(b->idx, tr, &hit) || b->pos[hit] == 0)
		return 0;
	return iq_vals_set(b, b->pos[hit] - 1, b->field, tr->v);
}

/* Callback: a column row to come. */
static void
iq_vals_ahead_cb(void *arg, const unsigned char eb[16])
{
	const struct iq_vals *b = arg;

	idmap_prefetch(b->idx, eb);
}

/* Callback: one triple of one entity.  Its triples come in attr id
 * order, as the node's by_id fields: walk both together. */
static int
iq_vals_entity_cb(void *arg, const struct triple *tr)
{
	struct iq_vals *b = arg;
	const struct iq_node *n = b->n;
	int cmp = 1;

	if (b->tset != NULL && iq_tset_add(b->tset, tr->e, tr->a, tr->v,
	    tr->t) != 0)
		return -1;
	/* Out of order (never, with SQLite's index order): start over. */
	if (b->j > 0 && strcmp(tr->a, n->fields[n->by_id[b->j - 1]].attr->id) <
	    0)
		b->j = 0;
	while (b->j < b->nfields && (cmp = strcmp(n->fields[
	    n->by_id[b->j]].attr->id, tr->a)) < 0)
		b->j++;
	if (b->j == b->nfields || cmp != 0)
		return 0;
	return iq_vals_set(b, b->k, n->by_id[b->j], tr->v);
}

/* Read the field values of one entity: from the triples the join read
 * with its id triple, else by a lookup. */
static int
iq_vals_entity(struct iq_ctx *c, const struct iq_hits *h,
    const struct iq_sortent *s, struct iq_vals *b)
{
	const struct iq_hit *hit = &h->v[s->hit];
	struct triple tr = { s->e, NULL, NULL, 0, NULL };
	const char *p, *end;

	if (hit->rows_len == 0 || b->tset != NULL)
		return tstore_scan_e(c->ts, s->e, iq_vals_entity_cb, b);
	p = h->rows.p + hit->rows_off;
	end = p + hit->rows_len;
	while (p < end) {
		tr.a = p;
		p += strlen(p) + 1;
		tr.v = p;
		p += strlen(p) + 1;
		if (iq_vals_entity_cb(b, &tr) != 0)
			return -1;
	}
	return 0;
}

/* Whether the view's cache holds most of the kept entities (a sample of
 * IQ_SAMPLE spread over them). */
static int
iq_vals_cached(struct iq_ctx *c, const struct iq_sortent *v,
    const size_t *keep, size_t nkeep)
{
	size_t i, hits = 0;

	for (i = 0; i < IQ_SAMPLE; i++)
		hits += (size_t)tstore_cache_has(c->ts,
		    v[keep[i * nkeep / IQ_SAMPLE]].e);
	return hits * 4 >= IQ_SAMPLE * 3;
}

/* Whether reading whole fields beats reading each of n entities: the
 * rows each way reads, a lookup weighing as 8 rows.  Entities the view's
 * cache holds cost no lookup at all: per entity it is when most of them
 * are there.  Not to fill it: lookups that fill the cache cost more than
 * reading whole attrs (twice as much on a large store), which fill attr
 * columns instead, as fast to read again when they fit. */
static int
iq_vals_bulk_pays(struct iq_ctx *c, const struct iq_node *n,
    const struct iq_sortent *v, const size_t *keep, size_t nkeep)
{
	int64_t per_entity = (int64_t)nkeep * (8 + (int64_t)n->nattrs);

	if (nkeep < 64 || n->nfields == 0)
		return 0;
	if (iq_vals_cached(c, v, keep, nkeep))
		return 0;
	return iqorder_etype_at_most(c, n->etype,
	    per_entity / (int64_t)n->nfields);
}

/* Read the field values of the kept entries into b. */
static int
iq_vals_read(struct iq_ctx *c, const struct iq_node *n,
    const struct iq_hits *h, const struct iq_sortent *v, const size_t *keep,
    size_t nkeep, struct iq_vals *b)
{
	size_t i, nslots = nkeep * n->nfields + 1;
	int bulk;

	memset(b, 0, sizeof *b);
	b->n = n;
	b->nfields = n->nfields;
	/* Triples the join read already beat both. */
	bulk = !c->opts->server && h->index != NULL && h->rows.len == 0 &&
	    iq_vals_bulk_pays(c, n, v, keep, nkeep);
	if ((b->slot = calloc(nslots, sizeof *b->slot)) == NULL)
		return -1;
	if (bulk) {
		b->idx = h->index;
		if ((b->pos = calloc(h->n + 1, sizeof *b->pos)) == NULL)
			return -1;
		for (i = 0; i < nkeep; i++)
			b->pos[v[keep[i]].hit] = i + 1;
		for (i = 0; i < n->nfields; i++) {
			b->field = i;
			if (tstore_scan_a_ahead(c->ts, n->fields[i].attr->id,
				iq_vals_field_cb, iq_vals_ahead_cb, b) != 0)
				return -1;
		}
		return 0;
	}
	if (c->opts->server)
		b->tset = &c->tset;
	for (i = 0; i < nkeep; i++) {
		b->k = i;
		b->j = 0;
		if (iq_vals_entity(c, h, &v[keep[i]], b) != 0)
			return -1;
	}
	return 0;
}

/* Write the fields of kept entity k: the number of keys written, or -1. */
static ssize_t
iq_vals_write(const struct iq_vals *b, size_t k, struct textbuf *out)
{
	const struct iq_node *n = b->n;
	const struct iq_slot *s;
	size_t i, f, nkeys = 0;

	for (i = 0; i < n->nfields; i++) {
		f = n->by_id[i];
		s = &b->slot[k * b->nfields + f];
		if (s->len == 0)
			continue;
		if (nkeys++ > 0)
			textbuf_putc(out, ',');
		iqtext_string(out, n->fields[f].label);
		textbuf_putc(out, ':');
		textbuf_put(out, b->text.p + s->off, s->len);
	}
	return out->err ? -1 : (ssize_t)nkeys;
}

/* slice(0, limit) length for n items. */
size_t
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

static int iq_run_node(struct iq_ctx *, const struct iq_node *,
    const char *parent, const json_t *page_info, int first_only,
    struct textbuf *out, size_t *count);

/* Write the children of one object, after its nkeys keys. */
static int
iq_extend(struct iq_ctx *c, const struct iq_node *n, const char *e,
    size_t nkeys, struct textbuf *out)
{
	struct iq_node *k;
	size_t i, mark, count;

	for (i = 0; i < n->nkids; i++) {
		k = n->kids[i];
		mark = out->len;
		if (nkeys > 0)
			textbuf_putc(out, ',');
		iqtext_string(out, k->label);
		textbuf_putc(out, ':');
		if (k->singular) {
			/* A has-one link: its first object, or no key. */
			count = 0;
			if (!k->link_missing && iq_run_node(c, k, e, NULL, 1,
			    out, &count) != 0)
				return -1;
			if (count == 0) {
				textbuf_truncate(out, mark);
				continue;
			}
		} else {
			textbuf_putc(out, '[');
			if (!k->link_missing && iq_run_node(c, k, e, NULL, 0,
			    out, &count) != 0)
				return -1;
			textbuf_putc(out, ']');
		}
		nkeys++;
	}
	return out->err ? -1 : 0;
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
		cmp = iqorder_cmp_cursor(sc, oa, s);
		if (n->cursor_desc ? cmp > 0 : cmp < 0)
			return 1;
	}
	if (jsval_truthy(ec)) {
		cmp = iqorder_cmp_cursor(ec, oa, s);
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

/* Write the objects of the kept sorted entries, with their children,
 * separated by commas. */
static int
iq_emit(struct iq_ctx *c, const struct iq_node *n, const struct iq_hits *h,
    const struct iq_sortent *v, const size_t *keep, size_t nkeep,
    struct textbuf *out)
{
	struct iq_vals b;
	ssize_t nkeys;
	size_t i, per;
	int r = -1;

	if (iq_vals_read(c, n, h, v, keep, nkeep, &b) != 0)
		goto out;
	/* Room for the objects' own text at once: grown a piece at a time,
	 * megabytes of it would be copied over and over. */
	for (i = 0, per = 3; i < n->nfields; i++)
		per += strlen(n->fields[i].label) + 4;
	if (nkeep <= (SIZE_MAX - b.text.len) / per)
		textbuf_reserve(out, b.text.len + nkeep * per);
	for (i = 0; i < nkeep; i++) {
		const struct iq_sortent *s = &v[keep[i]];
		if (i > 0)
			textbuf_putc(out, ',');
		textbuf_putc(out, '{');
		if ((nkeys = iq_vals_write(&b, i, out)) < 0 ||
		    iq_extend(c, n, s->e, (size_t)nkeys, out) != 0)
			goto out;
		textbuf_putc(out, '}');
		if (c->opts->server &&
		    iq_add_witness(c, h->v[s->hit].witness) != 0)
			goto out;
	}
	r = out->err ? -1 : 0;
out:
	iq_vals_clear(&b);
	return r;
}

/* Match, order and window the entities of a node: the indexes of the
 * entries to emit, in order. */
static size_t *
iq_select(struct iq_ctx *c, const struct iq_node *n, const json_t *pi,
    struct iq_hits *h, struct iq_sortent **vp, size_t *nkeep,
    const struct attr **oap)
{
	const struct attr *oa = iq_order_attr(c, n, pi);
	struct iq_sortent *v;
	size_t *keep, i;

	if ((v = iqorder_sorted(c, h, oa, n->sort_desc)) == NULL)
		return NULL;
	if ((keep = calloc(h->n + 1, sizeof *keep)) == NULL) {
		iqorder_free(v, h->n);
		return NULL;
	}
	*nkeep = 0;
	for (i = 0; i < h->n; i++)
		if (!iq_outside_window(n, pi, oa, &v[i]))
			keep[(*nkeep)++] = i;
	if (!c->opts->server && iqorder_js_keys(v, keep, *nkeep) != 0) {
		free(keep);
		iqorder_free(v, h->n);
		return NULL;
	}
	*vp = v;
	*oap = oa;
	return keep;
}

/* Run a node for one parent (NULL at the top): write its objects,
 * separated by commas, and their number in *count.  With first_only only
 * the first object stays (the others are still evaluated in server mode,
 * for the triples they add). */
static int
iq_run_node(struct iq_ctx *c, const struct iq_node *n, const char *parent,
    const json_t *pi, int first_only, struct textbuf *out, size_t *count)
{
	struct iq_hits h;
	struct iq_sortent *v = NULL;
	const struct attr *oa;
	size_t *keep = NULL, nkeep = 0, start = out->len, first_end;
	int server_top = c->opts->server && parent == NULL, r = -1;

	memset(&h, 0, sizeof h);
	*count = 0;
	if (!n->leading && !server_top &&
	    !jsval_truthy(json_object_get(pi, "start-cursor")))
		return 0;
	/* Without a limit every entity found is written: read its triples
	 * when its id triple is looked up. */
	if (iqjoin_run(c->ts, &n->plan, parent, &h, c->opts->server,
		!c->opts->server && n->limit == NULL, c->errmsg) != 0)
		goto out;
	/* A level with only its id pattern found every entity. */
	if (parent == NULL && n->plan.pats.n == 1 && !n->plan.notfound)
		json_object_set_new(c->counts, n->etype,
		    json_integer((json_int_t)h.n));
	if ((keep = iq_select(c, n, pi, &h, &v, &nkeep, &oa)) == NULL)
		goto out;
	if (server_top) {
		if (iqserver_window(c, n, oa, v, keep, &nkeep) != 0)
			goto out;
	} else
		nkeep = iq_limit_len(n->limit, nkeep);
	if (first_only && !c->opts->server && nkeep > 1)
		nkeep = 1;
	if (first_only && nkeep > 1) {
		/* Server mode: the first object, then the rest, cut off. */
		if (iq_emit(c, n, &h, v, keep, 1, out) != 0)
			goto out;
		first_end = out->len;
		if (iq_emit(c, n, &h, v, keep + 1, nkeep - 1, out) != 0)
			goto out;
		textbuf_truncate(out, first_end);
	} else if (iq_emit(c, n, &h, v, keep, nkeep, out) != 0)
		goto out;
	*count = nkeep;
	r = 0;
out:
	if (r != 0) {
		textbuf_truncate(out, start);
		if (c->errmsg != NULL && *c->errmsg == NULL)
			*c->errmsg = strdup(c->ts != NULL ?
			    tstore_errmsg(c->ts) : "out of memory");
	}
	free(keep);
	iqorder_free(v, h.n);
	iq_hits_clear(&h);
	return r;
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

/* Evaluate one top-level namespace: "ns":[...] in the data text. */
static int
iq_eval_ns(struct iq_ctx *c, const char *ns, const json_t *form)
{
	const json_t *pi = NULL;
	struct iq_node *n;
	size_t count;
	int r;

	if (!c->opts->server && c->opts->page_info != NULL)
		pi = json_object_get(c->opts->page_info, ns);
	if ((n = iq_compile(c, ns, 0, form, NULL, ns)) == NULL)
		return -1;
	if (c->opts->server && iq_is_count(form)) {
		r = iqserver_count(c, n);
		iq_node_free(n);
		return r;
	}
	if (c->ndata++ > 0)
		textbuf_putc(&c->text, ',');
	iqtext_string(&c->text, ns);
	textbuf_puts(&c->text, ":[");
	r = iq_run_node(c, n, NULL, pi, 0, &c->text, &count);
	textbuf_putc(&c->text, ']');
	iq_node_free(n);
	return r != 0 || c->text.err ? -1 : 0;
}

/* Release a result. */
void
instaql_result_clear(struct instaql_result *r)
{
	if (r == NULL)
		return;
	json_decref(r->data);
	free(r->text);
	json_decref(r->page_info);
	json_decref(r->aggregate);
	json_decref(r->triples);
	json_decref(r->topics);
	memset(r, 0, sizeof *r);
}

/* Set up the evaluation state: 0, or -1 out of memory. */
static int
iq_ctx_init(struct iq_ctx *c, struct tstore *ts, const struct attrs *as,
    const struct instaql_opts *opts, char **errmsg)
{
	static const struct instaql_opts defaults;

	memset(c, 0, sizeof *c);
	c->ts = ts;
	c->as = as;
	c->opts = opts != NULL ? opts : &defaults;
	c->errmsg = errmsg;
	if ((c->topics = json_object()) == NULL ||
	    (c->counts = json_object()) == NULL)
		return -1;
	if (!c->opts->server)
		return 0;
	if (iq_tset_init(&c->tset) != 0 ||
	    (c->page_info = json_object()) == NULL ||
	    (c->aggregate = json_object()) == NULL ||
	    (c->rev_null = json_object()) == NULL)
		return -1;
	return 0;
}

/* Release the evaluation state. */
static void
iq_ctx_clear(struct iq_ctx *c)
{
	json_decref(c->topics);
	json_decref(c->counts);
	json_decref(c->page_info);
	json_decref(c->aggregate);
	json_decref(c->rev_null);
	iq_tset_clear(&c->tset);
	textbuf_clear(&c->text);
}

/* Evaluate every namespace of q and fill the rest of out. */
static int
iq_eval_all(struct iq_ctx *c, const json_t *q, struct instaql_result *out)
{
	const char *ns;
	json_t *form;

	json_object_foreach((json_t *)q, ns, form) {
		if (strcmp(ns, "$$ruleParams") == 0)
			continue;
		if (iq_eval_ns(c, ns, form) != 0)
			return -1;
	}
	if (!c->opts->server && c->opts->page_info != NULL)
		out->page_info = iq_format_page_info(c->opts->page_info);
	out->topics = iq_topics_array(c->topics);
	if (!c->opts->server)
		return 0;
	if (iqserver_closure(c) != 0)
		return iq_error(c, "query", tstore_errmsg(c->ts));
	out->triples = json_incref(c->tset.arr);
	out->page_info = json_incref(c->page_info);
	out->aggregate = json_incref(c->aggregate);
	return 0;
}

/* Evaluate query q, in one read snapshot of the store; the data as
 * text, and unless text_only also as a tree. */
static int
iq_eval(struct tstore *ts, const struct attrs *as, const json_t *q,
    const struct instaql_opts *opts, int text_only,
    struct instaql_result *out, char **errmsg)
{
	struct iq_ctx c;
	size_t start;
	int r = -1, snap = 0;

	memset(out, 0, sizeof *out);
	if (errmsg != NULL)
		*errmsg = NULL;
	if (iq_ctx_init(&c, ts, as, opts, errmsg) != 0) {
		iq_error(&c, "query", "out of memory");
		goto out;
	}
	if (!json_is_object(q)) {
		iq_error(&c, "query", "must be an object");
		goto out;
	}
	if (ts != NULL && tstore_read_begin(ts) != 0) {
		iq_error(&c, "query", tstore_errmsg(ts));
		goto out;
	}
	snap = ts != NULL;
	if (c.opts->text_prefix != NULL)
		textbuf_puts(&c.text, c.opts->text_prefix);
	start = c.text.len;
	textbuf_putc(&c.text, '{');
	if (iq_eval_all(&c, q, out) != 0)
		goto out;
	textbuf_putc(&c.text, '}');
	if (c.text.err) {
		iq_error(&c, "query", "out of memory");
		goto out;
	}
	out->text = c.text.p;
	out->text_len = c.text.len;
	out->text_cap = c.text.cap;
	memset(&c.text, 0, sizeof c.text);
	if (!text_only &&
	    (out->data = json_loadb(out->text + start, out->text_len - start,
		0, NULL)) == NULL) {
		iq_error(&c, "query", "out of memory");
		goto out;
	}
	r = 0;
out:
	if (snap)
		tstore_read_end(ts);
	if (r != 0)
		instaql_result_clear(out);
	iq_ctx_clear(&c);
	return r;
}

/* Evaluate query q: data as a tree and as text. */
int
instaql_eval(struct tstore *ts, const struct attrs *as, const json_t *q,
    const struct instaql_opts *opts, struct instaql_result *out,
    char **errmsg)
{
	return iq_eval(ts, as, q, opts, 0, out, errmsg);
}

/* Evaluate query q: data as text only. */
int
instaql_eval_text(struct tstore *ts, const struct attrs *as,
    const json_t *q, const struct instaql_opts *opts,
    struct instaql_result *out, char **errmsg)
{
	return iq_eval(ts, as, q, opts, 1, out, errmsg);
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
