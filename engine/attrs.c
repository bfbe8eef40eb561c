/*
 * attrs.c: the attribute registry.
 *
 * Attrs live in an array of pointers, in insertion order.  Three jansson
 * objects serve as hash indexes from a key to the attr's array slot: by id,
 * by forward identity and by reverse identity (keys "<len>:<etype>.<label>",
 * unambiguous whatever the names contain).  Replacing an attr updates its
 * slot in place; removing one compacts the array and rebuilds the indexes,
 * which is rare (schema changes only).  When two attrs share an identity,
 * the one put last wins the lookup, as in the official client's maps.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"

struct attrs {
	struct attr **v;
	size_t n, cap;
	json_t *by_id;  /* id -> slot */
	json_t *by_fwd; /* identity key -> slot */
	json_t *by_rev; /* identity key -> slot (ref attrs only) */
	json_t *by_pk;  /* etype -> slot of its "primary?" attr */
};

/* Create an empty registry. */
struct attrs *
attrs_create(void)
{
	struct attrs *as;

	if ((as = calloc(1, sizeof *as)) == NULL)
		return NULL;
	as->by_id = json_object();
	as->by_fwd = json_object();
	as->by_rev = json_object();
	as->by_pk = json_object();
	if (as->by_id == NULL || as->by_fwd == NULL || as->by_rev == NULL ||
	    as->by_pk == NULL) {
		attrs_free(as);
		return NULL;
	}
	return as;
}

/* Free one parsed attr. */
static void
attrs_attr_free(struct attr *a)
{
	if (a == NULL)
		return;
	json_decref(a->json);
	free(a);
}

/* Drop every attr (the indexes too). */
static void
attrs_reset(struct attrs *as)
{
	size_t i;

	for (i = 0; i < as->n; i++)
		attrs_attr_free(as->v[i]);
	as->n = 0;
	json_object_clear(as->by_id);
	json_object_clear(as->by_fwd);
	json_object_clear(as->by_rev);
	json_object_clear(as->by_pk);
}

/* Free the registry. */
void
attrs_free(struct attrs *as)
{
	if (as == NULL)
		return;
	if (as->by_id != NULL)
		attrs_reset(as);
	free(as->v);
	json_decref(as->by_id);
	json_decref(as->by_fwd);
	json_decref(as->by_rev);
	json_decref(as->by_pk);
	free(as);
}

/* The index key of an identity (etype, label), "<length of etype>:
 * <etype>.<label>": in buf (size bytes) if it fits, else a new string
 * (the caller frees what is not buf); NULL without memory.  Every attr
 * a transaction names is looked up this way. */
static char *
attrs_ident_key(const char *etype, const char *label, char *buf,
    size_t size)
{
	size_t ne = strlen(etype), nl = strlen(label), n = ne, nd, need;
	char num[24], *q = num + sizeof num, *k;

	do {
		*--q = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0);
	nd = (size_t)(num + sizeof num - q);
	need = nd + 1 + ne + 1 + nl + 1;
	if ((k = need <= size ? buf : malloc(need)) == NULL)
		return NULL;
	memcpy(k, q, nd);
	k[nd] = ':';
	memcpy(k + nd + 1, etype, ne);
	k[nd + 1 + ne] = '.';
	memcpy(k + nd + 2 + ne, label, nl + 1);
	return k;
}

/* String element i of a JSON array, or NULL. */
static const char *
attrs_ident_part(const json_t *ident, size_t i)
{
	return json_string_value(json_array_get(ident, i));
}

/* Whether key's string value equals s. */
static int
attrs_str_is(const json_t *obj, const char *key, const char *s)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v != NULL && strcmp(v, s) == 0;
}

/* Parse the identities of a copied attr object into a. */
static int
attrs_parse_idents(struct attr *a, const char **errmsg)
{
	const json_t *fwd = json_object_get(a->json, "forward-identity");
	const json_t *rev = json_object_get(a->json, "reverse-identity");

	a->fwd_id = attrs_ident_part(fwd, 0);
	a->etype = attrs_ident_part(fwd, 1);
	a->label = attrs_ident_part(fwd, 2);
	if (a->fwd_id == NULL || a->etype == NULL || a->label == NULL) {
		*errmsg = "attr forward-identity must be [id, etype, label]";
		return -1;
	}
	if (rev == NULL || json_is_null(rev))
		return 0;
	a->rev_id = attrs_ident_part(rev, 0);
	a->rev_etype = attrs_ident_part(rev, 1);
	a->rev_label = attrs_ident_part(rev, 2);
	if (a->rev_id == NULL || a->rev_etype == NULL || a->rev_label == NULL) {
		*errmsg = "attr reverse-identity must be [id, etype, label]";
		return -1;
	}
	return 0;
}

/* Parse an attr object (copied) into a new struct attr. */
static struct attr *
attrs_parse(const json_t *obj, const char **errmsg)
{
	struct attr *a;
	const json_t *j;

	if (!json_is_object(obj)) {
		*errmsg = "attr must be an object";
		return NULL;
	}
	if ((a = calloc(1, sizeof *a)) == NULL ||
	    (a->json = json_deep_copy(obj)) == NULL) {
		*errmsg = "out of memory";
		free(a);
		return NULL;
	}
	if ((a->id = json_string_value(json_object_get(a->json, "id"))) ==
	    NULL) {
		*errmsg = "attr id must be a string";
		goto fail;
	}
	if (attrs_parse_idents(a, errmsg) != 0)
		goto fail;
	a->is_ref = attrs_str_is(a->json, "value-type", "ref");
	a->card_one = attrs_str_is(a->json, "cardinality", "one");
	a->unique = json_is_true(json_object_get(a->json, "unique?"));
	a->indexed = json_is_true(json_object_get(a->json, "index?"));
	a->on_delete_cascade = attrs_str_is(a->json, "on-delete", "cascade");
	a->on_delete_reverse_cascade =
	    attrs_str_is(a->json, "on-delete-reverse", "cascade");
	j = json_object_get(a->json, "checked-data-type");
	a->checked_type = json_string_value(j);
	return a;
fail:
	attrs_attr_free(a);
	return NULL;
}

/* Point an identity index entry at slot i. */
static int
attrs_index_ident(json_t *index, const char *etype, const char *label,
    size_t i)
{
	char buf[256], *k;
	int r;

	if ((k = attrs_ident_key(etype, label, buf, sizeof buf)) == NULL)
		return -1;
	r = json_object_set_new(index, k, json_integer((json_int_t)i));
	if (k != buf)
		free(k);
	return r;
}

/* Index the attr in slot i. */
static int
attrs_index(struct attrs *as, size_t i)
{
	const struct attr *a = as->v[i];

	if (json_object_set_new(as->by_id, a->id,
		json_integer((json_int_t)i)) != 0)
		return -1;
	if (attrs_index_ident(as->by_fwd, a->etype, a->label, i) != 0)
		return -1;
	if (a->rev_etype != NULL &&
	    attrs_index_ident(as->by_rev, a->rev_etype, a->rev_label, i) != 0)
		return -1;
	if (json_is_true(json_object_get(a->json, "primary?")) &&
	    json_object_set_new(as->by_pk, a->etype,
		json_integer((json_int_t)i)) != 0)
		return -1;
	return 0;
}

/* Rebuild every index from the array. */
static int
attrs_reindex(struct attrs *as)
{
	size_t i;

	json_object_clear(as->by_id);
	json_object_clear(as->by_fwd);
	json_object_clear(as->by_rev);
	json_object_clear(as->by_pk);
	for (i = 0; i < as->n; i++)
		if (attrs_index(as, i) != 0)
			return -1;
	return 0;
}

/* The slot of the attr with this id, or -1. */
static long
attrs_slot(const struct attrs *as, const char *id)
{
	const json_t *j = json_object_get(as->by_id, id);

	return j != NULL ? (long)json_integer_value(j) : -1;
}

/* Append a parsed attr, growing the array. */
static int
attrs_append(struct attrs *as, struct attr *a)
{
	struct attr **v;
	size_t cap;

	if (as->n == as->cap) {
		cap = as->cap ? as->cap * 2 : 64;
		if ((v = realloc(as->v, cap * sizeof *v)) == NULL)
			return -1;
		as->v = v;
		as->cap = cap;
	}
	as->v[as->n++] = a;
	return 0;
}

/* Add attr (copied), replacing one with the same id. */
int
attrs_put(struct attrs *as, const json_t *obj, const char **errmsg)
{
	const char *why = NULL;
	struct attr *a;
	long slot;

	if ((a = attrs_parse(obj, &why)) == NULL)
		goto fail;
	if ((slot = attrs_slot(as, a->id)) >= 0) {
		attrs_attr_free(as->v[slot]);
		as->v[slot] = a;
		/* The old identities may now point at this slot wrongly. */
		if (attrs_reindex(as) != 0)
			goto oom;
		return 0;
	}
	if (attrs_append(as, a) != 0) {
		attrs_attr_free(a);
		goto oom;
	}
	if (attrs_index(as, as->n - 1) != 0)
		goto oom;
	return 0;
oom:
	why = "out of memory";
fail:
	if (errmsg != NULL)
		*errmsg = why;
	return -1;
}

/* Remove by id: 0, or -1 if absent. */
int
attrs_remove(struct attrs *as, const char *id)
{
	long slot = attrs_slot(as, id);

	if (slot < 0)
		return -1;
	attrs_attr_free(as->v[slot]);
	memmove(&as->v[slot], &as->v[slot + 1],
	    (as->n - (size_t)slot - 1) * sizeof *as->v);
	as->n--;
	return attrs_reindex(as);
}

/* Replace the whole registry with a JSON array of attrs; on error the
 * registry is left empty. */
int
attrs_load(struct attrs *as, const json_t *array, const char **errmsg)
{
	size_t i;

	attrs_reset(as);
	if (!json_is_array(array)) {
		if (errmsg != NULL)
			*errmsg = "attrs must be an array";
		return -1;
	}
	for (i = 0; i < json_array_size(array); i++) {
		if (attrs_put(as, json_array_get(array, i), errmsg) != 0) {
			attrs_reset(as);
			return -1;
		}
	}
	return 0;
}

/* The attr with this id, or NULL. */
const struct attr *
attrs_by_id(const struct attrs *as, const char *id)
{
	long slot;

	if (id == NULL)
		return NULL;
	slot = attrs_slot(as, id);
	return slot >= 0 ? as->v[slot] : NULL;
}

/* Look an identity up in one index. */
static const struct attr *
attrs_by_ident(const struct attrs *as, const json_t *index,
    const char *etype, const char *label)
{
	const json_t *j;
	char buf[256], *k;

	if (etype == NULL || label == NULL)
		return NULL;
	if ((k = attrs_ident_key(etype, label, buf, sizeof buf)) == NULL)
		return NULL;
	j = json_object_get(index, k);
	if (k != buf)
		free(k);
	return j != NULL ? as->v[json_integer_value(j)] : NULL;
}

/* The attr whose forward identity is (etype, label). */
const struct attr *
attrs_forward(const struct attrs *as, const char *etype, const char *label)
{
	return attrs_by_ident(as, as->by_fwd, etype, label);
}

/* The ref attr whose reverse identity is (etype, label). */
const struct attr *
attrs_reverse(const struct attrs *as, const char *etype, const char *label)
{
	return attrs_by_ident(as, as->by_rev, etype, label);
}

/* The primary-key attr of etype. */
const struct attr *
attrs_primary(const struct attrs *as, const char *etype)
{
	const json_t *j;

	if (etype == NULL)
		return NULL;
	if ((j = json_object_get(as->by_pk, etype)) != NULL)
		return as->v[json_integer_value(j)];
	return attrs_forward(as, etype, "id");
}

/* The number of attrs. */
size_t
attrs_count(const struct attrs *as)
{
	return as->n;
}

/* The i-th attr in insertion order, or NULL. */
const struct attr *
attrs_at(const struct attrs *as, size_t i)
{
	return i < as->n ? as->v[i] : NULL;
}

/* A JSON array of every attr object (new reference). */
json_t *
attrs_to_json(const struct attrs *as)
{
	json_t *arr = json_array();
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < as->n; i++) {
		if (json_array_append(arr, as->v[i]->json) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
