/*
 * txserver.c: tx-steps applied as an Instant server applies a transact
 * (server transaction.clj and triple.clj, see instant-protocol.md 3.6 and
 * 5).
 *
 * Order of work: add-attr steps (idempotent; another attr for the same
 * etype and label is record-not-unique); a shape check of every step;
 * then, on the state before any write, the set of entities the
 * delete-entity steps remove (lookups resolved, untyped deletes expanded to
 * the entity's etypes, on-delete / on-delete-reverse cascades followed) and
 * the create/update mode checks ("Creating entities that exist",
 * "Updating entities that don't exist"); finally the steps grouped by op,
 * the groups in the order each op first appears.  Entity lookups upsert
 * (a fresh id, or the value for id lookups); value lookups must resolve.
 * Unique attrs reject a value another entity holds; attrs with a
 * checked-data-type reject values of another type.  A new entity gets a
 * null value for each indexed blob attr of its etype it lacks.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/tstore.h"
#include "engine/txapply_int.h"
#include "proto/uuid.h"

/* Whether e has a triple on an attr of etype (an Instant "exists"). */
static int
txserver_exists_for(struct txrun *run, const char *e, const char *etype,
		    int *found)
{
	json_t *list = txapply_triples_e(run, e), *t;
	const struct attr *a;
	size_t i;

	*found = 0;
	if (list == NULL)
		return txapply_internal(run, NULL);
	json_array_foreach(list, i, t) {
		a = attrs_by_id(run->ta->attrs,
				json_string_value(json_array_get(t, 1)));
		if (a != NULL && strcmp(a->etype, etype) == 0)
			*found = 1;
	}
	json_decref(list);
	return 0;
}

/* Whether v is a lookup ref [uuid, value]. */
static int
txserver_is_lookup(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) == 2 &&
	       uuid_valid(json_string_value(json_array_get(v, 0)));
}

/* Server view of one step, in execution order. */
struct sstep {
	const char *op;
	const json_t *step;
};

/* The ops a server accepts. */
static const char *const txserver_ops[] = {
    "add-attr",	      "update-attr",   "delete-attr",
    "restore-attr",   "add-triple",    "deep-merge-triple",
    "retract-triple", "delete-entity", "rule-params",
};
#define TXSERVER_NOPS (sizeof txserver_ops / sizeof txserver_ops[0])

/* The index of op in txserver_ops, or -1. */
static int
txserver_op_index(const char *op)
{
	size_t i;

	for (i = 0; op != NULL && i < TXSERVER_NOPS; i++)
		if (strcmp(op, txserver_ops[i]) == 0)
			return (int)i;
	return -1;
}

/* Validation of the entity of a step: a UUID or a lookup on a known
 * unique attr (a UUID value for an id attr). */
static int
txserver_check_entity(struct txrun *run, const json_t *steps, const json_t *e)
{
	const struct attr *a;
	char *text;
	int r;

	if (uuid_valid(json_string_value(e)))
		return 0;
	if (!txserver_is_lookup(e)) {
		text = json_is_string(e)
			   ? strdup(json_string_value(e))
			   : json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
		r = txapply_invalid(run, "tx-steps", json_deep_copy(steps),
				    "Invalid entity ID '%s'. Entity IDs must "
				    "be UUIDs. Use id() or lookup() to "
				    "generate a valid UUID.",
				    text != NULL ? text : "");
		free(text);
		return r;
	}
	a = attrs_by_id(run->ta->attrs,
			json_string_value(json_array_get(e, 0)));
	if (a == NULL || !a->unique)
		return txapply_invalid(run, "lookup", json_deep_copy(e),
				       "%s is not a unique attribute.",
				       a != NULL ? a->label
						 : "the lookup attribute");
	if (strcmp(a->label, "id") == 0 &&
	    !uuid_valid(json_string_value(json_array_get(e, 1))))
		return txapply_invalid(
		    run, "lookup", json_deep_copy(e),
		    "Invalid lookup on id: the value must be a UUID.");
	return 0;
}

/* Shape check of one server step (after add-attrs are registered). */
static int
txserver_check(struct txrun *run, const json_t *steps, size_t idx)
{
	const json_t *step = json_array_get(steps, idx);
	const char *op = json_string_value(json_array_get(step, 0));
	const char *aid;
	int triple, r;

	if (txserver_op_index(op) < 0)
		return txapply_invalid(run, "tx-steps", json_deep_copy(steps),
				       "step %zu has no known op", idx);
	triple = strcmp(op, "add-triple") == 0 ||
		 strcmp(op, "deep-merge-triple") == 0 ||
		 strcmp(op, "retract-triple") == 0;
	if (!triple && strcmp(op, "delete-entity") != 0)
		return 0;
	if ((r = txserver_check_entity(run, steps, json_array_get(step, 1))))
		return r;
	if (!triple)
		return 0;
	aid = json_string_value(json_array_get(step, 2));
	if (json_array_size(step) < 4 || aid == NULL ||
	    attrs_by_id(run->ta->attrs, aid) == NULL)
		return txapply_invalid(
		    run, "tx-steps", json_deep_copy(steps),
		    "step %zu refers to an unknown attribute", idx);
	return 0;
}

/* The server's step order: grouped by op, groups by first appearance.
 * Every op must be known (txserver_check). */
static struct sstep *
txserver_order(const json_t *steps, size_t *n)
{
	size_t total = json_array_size(steps), i, g, k = 0;
	struct sstep *order = calloc(total + 1, sizeof *order);
	int first[TXSERVER_NOPS], groups[TXSERVER_NOPS], ngroups = 0, op;
	const json_t *s;

	if (order == NULL)
		return NULL;
	for (g = 0; g < TXSERVER_NOPS; g++)
		first[g] = 0;
	json_array_foreach(steps, i, s) {
		op = txserver_op_index(json_string_value(json_array_get(s, 0)));
		if (op >= 0 && !first[op]) {
			first[op] = 1;
			groups[ngroups++] = op;
		}
	}
	for (g = 0; g < (size_t)ngroups; g++)
		json_array_foreach(steps, i, s) {
			op = txserver_op_index(
			    json_string_value(json_array_get(s, 0)));
			if (op == groups[g])
				order[k++] =
				    (struct sstep){txserver_ops[op], s};
		}
	*n = k;
	return order;
}

/* The attr as the server stores it: its known properties only (the
 * client's "isUnsynced" and other extras are dropped), with defaults for
 * the flags.  New reference. */
static json_t *
txserver_attr_row(const json_t *attr)
{
	static const char *const keys[] = {
	    "id",
	    "forward-identity",
	    "reverse-identity",
	    "value-type",
	    "cardinality",
	    "unique?",
	    "index?",
	    "required?",
	    "on-delete",
	    "on-delete-reverse",
	    "checked-data-type",
	    "inferred-types",
	    "catalog",
	    "metadata",
	};
	json_t *row = json_object(), *v;
	size_t i;

	for (i = 0; row != NULL && i < sizeof keys / sizeof keys[0]; i++)
		if ((v = json_object_get(attr, keys[i])) != NULL &&
		    !json_is_null(v))
			json_object_set(row, keys[i], v);
	if (row != NULL && json_object_get(row, "unique?") == NULL)
		json_object_set_new(row, "unique?", json_false());
	if (row != NULL && json_object_get(row, "index?") == NULL)
		json_object_set_new(row, "index?", json_false());
	if (row != NULL && json_object_get(row, "required?") == NULL)
		json_object_set_new(row, "required?", json_false());
	if (row != NULL && json_object_get(row, "catalog") == NULL)
		json_object_set_new(row, "catalog", json_string("user"));
	return row;
}

/* Whether two identities name the same (etype, label); both absent too. */
static int
txserver_same_ident(const json_t *x, const json_t *y)
{
	if (x == NULL || y == NULL)
		return x == y;
	return json_equal(json_array_get(x, 1), json_array_get(y, 1)) &&
	       json_equal(json_array_get(x, 2), json_array_get(y, 2));
}

/* Whether two attrs agree on the properties that define them (a missing
 * flag counts as false). */
static int
txserver_attr_same(const json_t *a, const json_t *b)
{
	static const char *const strs[] = {"value-type", "cardinality"};
	static const char *const flags[] = {"unique?", "index?"};
	size_t i;

	if (!txserver_same_ident(json_object_get(a, "forward-identity"),
				 json_object_get(b, "forward-identity")) ||
	    !txserver_same_ident(json_object_get(a, "reverse-identity"),
				 json_object_get(b, "reverse-identity")))
		return 0;
	for (i = 0; i < sizeof strs / sizeof strs[0]; i++)
		if (!json_equal(json_object_get(a, strs[i]),
				json_object_get(b, strs[i])))
			return 0;
	for (i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (json_is_true(json_object_get(a, flags[i])) !=
		    json_is_true(json_object_get(b, flags[i])))
			return 0;
	return 1;
}

/* Whether attr clashes with the registry: 0 (new), 2 (already there,
 * identical: nothing to do), or a record-not-unique rejection. */
static int
txserver_attr_clash(struct txrun *run, const json_t *attr, const char *etype,
		    const char *label)
{
	const char *id = json_string_value(json_object_get(attr, "id"));
	const struct attr *same = attrs_by_id(run->ta->attrs, id);
	const struct attr *other = attrs_forward(run->ta->attrs, etype, label);
	char msg[512];

	if (same != NULL && other == same &&
	    txserver_attr_same(same->json, attr))
		return 2;
	if (other != NULL && other != same) {
		snprintf(msg, sizeof msg, "`%s` already exists on `%s`", label,
			 etype);
		return txapply_error(run, 400, "record-not-unique", msg,
				     json_pack("{s:s, s:s, s:s}", "record-type",
					       "ident", "etype", etype, "label",
					       label));
	}
	if (same == NULL)
		return 0;
	snprintf(msg, sizeof msg,
		 "Another attribute for %s.%s exists with different "
		 "properties.",
		 same->etype, same->label);
	return txapply_error(
	    run, 400, "record-not-unique", msg,
	    json_pack("{s:s, s:s}", "record-type", "attr", "attr-id", id));
}

/* Server add-attr: idempotent for an identical attr; another attr with the
 * same (etype, label), or the same id with other properties, is a
 * uniqueness error. */
static int
txserver_add_attr(struct txrun *run, const json_t *attr)
{
	const json_t *fwd = json_object_get(attr, "forward-identity");
	const char *id = json_string_value(json_object_get(attr, "id"));
	const char *etype = json_string_value(json_array_get(fwd, 1));
	const char *label = json_string_value(json_array_get(fwd, 2));
	json_t *row;
	int r;

	if (!uuid_valid(id) || etype == NULL || label == NULL)
		return txapply_invalid(
		    run, "add-attr", json_deep_copy(attr),
		    "attr needs a UUID id and a forward-identity");
	if (etype[0] == '$')
		return txapply_invalid(
		    run, "tx-steps", json_deep_copy(attr),
		    "You can't create or modify attributes in the %s "
		    "namespace.",
		    etype);
	if ((row = txserver_attr_row(attr)) == NULL)
		return txapply_internal(run, "out of memory");
	r = txserver_attr_clash(run, row, etype, label);
	if (r == 0)
		r = txapply_add_attr(run, row);
	json_decref(row);
	return r == 2 ? 0 : r;
}

/* Reject a write that would give two entities the same unique value. */
static int
txserver_unique(struct txrun *run, const char *e, const struct attr *a,
		const char *v)
{
	json_t *list;
	char msg[768];
	size_t i;
	int clash = 0;

	if (!a->unique || a->is_ref || strcmp(a->label, "id") == 0 ||
	    strcmp(v, "null") == 0)
		return 0;
	if ((list = txapply_triples_av(run, a->id, v)) == NULL)
		return txapply_internal(run, NULL);
	for (i = 0; i < json_array_size(list); i++)
		if (strcmp(json_string_value(
			       json_array_get(json_array_get(list, i), 0)),
			   e) != 0)
			clash = 1;
	json_decref(list);
	if (!clash)
		return 0;
	snprintf(msg, sizeof msg,
		 "`%s` is a unique attribute on `%s` and an "
		 "entity already exists with `%s.%s` = %.200s",
		 a->label, a->etype, a->etype, a->label, v);
	return txapply_error(run, 400, "record-not-unique", msg,
			     json_pack("{s:s, s:s, s:s, s:s, s:s}",
				       "record-type", "triple", "attr-id",
				       a->id, "etype", a->etype, "label",
				       a->label, "value", v));
}

/* The JSON type name of a value's canonical text. */
static const char *
txserver_json_type(const char *v)
{
	switch (v[0]) {
	case '"':
		return "string";
	case 't':
	case 'f':
		return "boolean";
	case 'n':
		return "null";
	case '{':
		return "object";
	case '[':
		return "array";
	default:
		return "number";
	}
}

/* Reject a value whose type the attr's checked-data-type does not allow
 * (dates are numbers or strings; null is always allowed). */
static int
txserver_check_type(struct txrun *run, const char *e, const struct attr *a,
		    const char *v)
{
	const char *want = a->checked_type, *type = txserver_json_type(v);
	char msg[512];
	json_t *hint;

	if (want == NULL || a->is_ref || strcmp(type, "null") == 0 ||
	    strcmp(want, type) == 0)
		return 0;
	if (strcmp(want, "date") == 0 &&
	    (strcmp(type, "number") == 0 || strcmp(type, "string") == 0))
		return 0;
	if (strcmp(want, "string") != 0 && strcmp(want, "number") != 0 &&
	    strcmp(want, "boolean") != 0 && strcmp(want, "date") != 0)
		return 0;
	snprintf(msg, sizeof msg,
		 "Invalid value type for %s.%s. Value must be a %s but the "
		 "provided value type is %s.",
		 a->etype, a->label, want, type);
	hint =
	    json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "namespace", a->etype,
		      "attribute", a->label, "value",
		      json_loads(v, JSON_DECODE_ANY, NULL), "checked-data-type",
		      want, "attr-id", a->id, "entity-id", e);
	return txapply_error(run, 400, "validation-failed", msg, hint);
}

/* A new entity gets a null value for every indexed blob attr of its etype
 * that it has no value for (the server inserts them with the id triple). */
static int
txserver_index_nulls(struct txrun *run, const char *e, const char *etype)
{
	const struct attr *a;
	int found, r;
	size_t i;

	for (i = 0; i < attrs_count(run->ta->attrs); i++) {
		a = attrs_at(run->ta->attrs, i);
		if (a->is_ref || !a->indexed || strcmp(a->etype, etype) != 0)
			continue;
		if (tstore_has_ea(run->ta->ts, e, a->id, &found) != 0)
			return txapply_internal(run, NULL);
		if (!found && (r = txapply_put(run, e, a, "null")) != 0)
			return r;
	}
	return 0;
}

/* Server add-triple: unique check, write, and the indexed nulls of a new
 * entity when this writes its id. */
static int
txserver_add(struct txrun *run, const char *e, const struct attr *a,
	     const char *v)
{
	char key[512];
	int had = 1, r;

	snprintf(key, sizeof key, "%s\n%s", e, a->id);
	if (json_object_get(run->upserted, key) != NULL)
		return txapply_invalid(
		    run, "lookup", json_pack("[ss]", e, a->id), "%s",
		    "Updates with lookups can only update the lookup attribute "
		    "if an entity with the unique attribute value already "
		    "exists.");
	if ((r = txserver_check_type(run, e, a, v)) != 0 ||
	    (r = txserver_unique(run, e, a, v)) != 0)
		return r;
	if (strcmp(a->label, "id") == 0 &&
	    tstore_has_ea(run->ta->ts, e, a->id, &had) != 0)
		return txapply_internal(run, NULL);
	if ((r = txapply_put(run, e, a, v)) != 0 || had)
		return r;
	return txserver_index_nulls(run, e, a->etype);
}

/* Resolve a lookup entity, creating the entity when nothing has the value
 * (the value itself for id lookups).  *e receives the id. */
static int
txserver_upsert(struct txrun *run, const json_t *ref, char **e)
{
	const struct attr *a = attrs_by_id(
	    run->ta->attrs, json_string_value(json_array_get(ref, 0)));
	const json_t *v = json_array_get(ref, 1);
	char id[UUID_STRLEN + 1], key[512], *text;
	int r;

	if ((r = txapply_find_av(run, a->id, v, e)) != 0 || *e != NULL)
		return r;
	if (strcmp(a->label, "id") == 0)
		r = uuid_normalize(json_string_value(v), id);
	else
		r = uuid_v4(id);
	if (r != 0 || (*e = strdup(id)) == NULL ||
	    (text = tstore_value_text(v)) == NULL)
		return txapply_internal(run, "cannot create the lookup entity");
	r = txserver_add(run, *e, a, text);
	free(text);
	/* The lookup attr of an entity created here is not writable again
	 * in this transaction (the server's insert would hit it twice). */
	snprintf(key, sizeof key, "%s\n%s", *e, a->id);
	if (r == 0 && strcmp(a->label, "id") != 0 &&
	    json_object_set_new(run->upserted, key, json_true()) != 0)
		r = txapply_internal(run, "out of memory");
	return r;
}

/* The entity of a server step; lookups resolve, upserting if asked.  *e is
 * NULL when a lookup does not resolve and upsert is 0. */
static int
txserver_entity(struct txrun *run, const json_t *ref, int upsert, char **e)
{
	char id[UUID_STRLEN + 1];

	*e = NULL;
	if (json_is_string(ref)) {
		if (uuid_normalize(json_string_value(ref), id) != 0 ||
		    (*e = strdup(id)) == NULL)
			return txapply_internal(run, "out of memory");
		return 0;
	}
	if (upsert)
		return txserver_upsert(run, ref, e);
	return txapply_find_av(run, json_string_value(json_array_get(ref, 0)),
			       json_array_get(ref, 1), e);
}

/* The error for a value lookup that resolves to nothing. */
static int
txserver_missing_lookup(struct txrun *run, const json_t *v)
{
	const char *aid = json_string_value(json_array_get(v, 0));
	const struct attr *la = attrs_by_id(run->ta->attrs, aid);

	return txapply_invalid(run, "lookup",
			       json_pack("{s:s, s:s, s:s, s:O}", "attribute-id",
					 aid, "namespace", la->etype, "label",
					 la->label, "value",
					 json_array_get(v, 1)),
			       "The entity for the lookup does not exist.");
}

/* The value text of a server step: lookups on ref and id attrs resolve to
 * the entity id, and must resolve. */
static int
txserver_value(struct txrun *run, const struct attr *a, const json_t *v,
	       char **text)
{
	char *e = NULL;
	int r;

	*text = NULL;
	if (txserver_is_lookup(v) &&
	    (a->is_ref || strcmp(a->label, "id") == 0) &&
	    attrs_by_id(run->ta->attrs,
			json_string_value(json_array_get(v, 0))) != NULL) {
		if ((r = txserver_entity(run, v, 0, &e)) != 0)
			return r;
		if (e == NULL)
			return txserver_missing_lookup(run, v);
		*text = txapply_id_text(e);
		free(e);
	} else
		*text = tstore_value_text(v);
	return *text == NULL ? txapply_internal(run, "out of memory") : 0;
}

/* Server add-triple, deep-merge-triple and retract-triple. */
static int
txserver_triple(struct txrun *run, const char *op, const json_t *step)
{
	const struct attr *a = attrs_by_id(
	    run->ta->attrs, json_string_value(json_array_get(step, 2)));
	int retract = strcmp(op, "retract-triple") == 0;
	char *e = NULL, *v = NULL;
	int r;

	r = txserver_entity(run, json_array_get(step, 1), !retract, &e);
	if (r != 0 || e == NULL)
		return r;
	if (strcmp(op, "deep-merge-triple") == 0) {
		if (a->is_ref)
			r = txapply_invalid(run, "tx-step",
					    json_deep_copy(step),
					    "merge is not supported for links");
		else
			r = txapply_merge(run, e, a, json_array_get(step, 3));
		goto out;
	}
	if ((r = txserver_value(run, a, json_array_get(step, 3), &v)) != 0)
		goto out;
	if (retract)
		r = txapply_retract(run, e, a, v);
	else
		r = txserver_add(run, e, a, v);
out:
	free(e);
	free(v);
	return r;
}

/* Add (id, etype) to the delete set (object "etype\nid" -> [id, etype]). */
static int
txserver_delete_set_add(json_t *set, const char *id, const char *etype,
			int *added)
{
	char key[512];

	snprintf(key, sizeof key, "%s\n%s", etype != NULL ? etype : "", id);
	*added = json_object_get(set, key) == NULL;
	if (!*added)
		return 0;
	return json_object_set_new(set, key, json_pack("[ss*]", id, etype));
}

/* The entities a server delete of (id, etype) cascades to, appended to
 * todo: sources linked through on-delete attrs, targets through
 * on-delete-reverse attrs. */
static int
txserver_cascade(struct txrun *run, const char *id, const char *etype,
		 json_t *todo)
{
	const struct attr *a;
	json_t *list, *t;
	char *text = txapply_id_text(id);
	size_t i, j;
	int fwd;

	if (text == NULL || etype == NULL) {
		free(text);
		return text == NULL ? txapply_internal(run, "out of memory")
				    : 0;
	}
	for (i = 0; i < attrs_count(run->ta->attrs); i++) {
		a = attrs_at(run->ta->attrs, i);
		fwd =
		    a->on_delete_cascade && txapply_streq(a->rev_etype, etype);
		if (!a->is_ref || (!fwd && !(a->on_delete_reverse_cascade &&
					     strcmp(a->etype, etype) == 0)))
			continue;
		list = fwd ? txapply_triples_av(run, a->id, text)
			   : txapply_triples_ea(run, id, a->id);
		json_array_foreach(list, j, t) {
			json_t *ref =
			    fwd ? json_incref(json_array_get(t, 0))
				: json_loads(
				      json_string_value(json_array_get(t, 2)),
				      JSON_DECODE_ANY, NULL);
			if (json_is_string(ref))
				json_array_append_new(
				    todo,
				    json_pack("[Os]", ref,
					      fwd ? a->etype : a->rev_etype));
			json_decref(ref);
		}
		json_decref(list);
	}
	free(text);
	return 0;
}

/* The etypes of e's attrs, as a new array (or [null] if none). */
static json_t *
txserver_etypes_of(struct txrun *run, const char *e)
{
	json_t *list = txapply_triples_e(run, e), *out = json_array(), *t;
	const struct attr *a;
	size_t i, j;

	json_array_foreach(list, i, t) {
		a = attrs_by_id(run->ta->attrs,
				json_string_value(json_array_get(t, 1)));
		if (a == NULL)
			continue;
		for (j = 0; j < json_array_size(out); j++)
			if (strcmp(json_string_value(json_array_get(out, j)),
				   a->etype) == 0)
				break;
		if (j == json_array_size(out))
			json_array_append_new(out, json_string(a->etype));
	}
	json_decref(list);
	if (out != NULL && json_array_size(out) == 0)
		json_array_append_new(out, json_null());
	return out;
}

/* Seed the delete work list from one delete-entity step. */
static int
txserver_delete_roots(struct txrun *run, const json_t *step, json_t *todo)
{
	const json_t *etype = json_array_get(step, 2), *et;
	json_t *etypes;
	char *id = NULL;
	size_t i;
	int r;

	if ((r = txserver_entity(run, json_array_get(step, 1), 0, &id)) != 0 ||
	    id == NULL)
		return r;
	if (json_is_string(etype))
		etypes = json_pack("[O]", etype);
	else
		etypes = txserver_etypes_of(run, id);
	json_array_foreach(etypes, i, et)
		json_array_append_new(todo, json_pack("[sO]", id, et));
	json_decref(etypes);
	free(id);
	return 0;
}

/* Every (id, etype) the delete-entity steps remove, cascades included,
 * computed before any write. */
static int
txserver_delete_set(struct txrun *run, const struct sstep *order, size_t n,
		    json_t *set)
{
	json_t *todo = json_array(), *item;
	const char *id, *et;
	size_t i;
	int added, r = 0;

	if (todo == NULL)
		return txapply_internal(run, "out of memory");
	for (i = 0; i < n && r == 0; i++)
		if (strcmp(order[i].op, "delete-entity") == 0)
			r = txserver_delete_roots(run, order[i].step, todo);
	for (i = 0; r == 0 && i < json_array_size(todo); i++) {
		item = json_array_get(todo, i);
		id = json_string_value(json_array_get(item, 0));
		et = json_string_value(json_array_get(item, 1));
		if (txserver_delete_set_add(set, id, et, &added) != 0)
			r = txapply_internal(run, "out of memory");
		else if (added)
			r = txserver_cascade(run, id, et, todo);
	}
	json_decref(todo);
	return r;
}

/* Server delete of one (id, etype): its triples on attrs of etype and the
 * links to it from attrs whose reverse etype is etype. */
static int
txserver_delete_one(struct txrun *run, const char *id, const char *etype)
{
	json_t *list, *refs = NULL, *t;
	const struct attr *a;
	size_t i;
	int r = 0;

	/* An untyped delete of an entity without triples matches nothing. */
	if (etype == NULL)
		return 0;
	list = txapply_triples_e(run, id);
	if (list == NULL || (refs = txapply_refs_to(run, id)) == NULL)
		r = txapply_internal(run, NULL);
	json_array_foreach(list, i, t) {
		a = attrs_by_id(run->ta->attrs,
				json_string_value(json_array_get(t, 1)));
		if (r == 0 && a != NULL && strcmp(a->etype, etype) == 0)
			r = txapply_retract_ea(run, id, a);
	}
	json_array_foreach(refs, i, t) {
		a = attrs_by_id(run->ta->attrs,
				json_string_value(json_array_get(t, 1)));
		if (r == 0 && txapply_streq(a->rev_etype, etype))
			r = txapply_retract(
			    run, json_string_value(json_array_get(t, 0)), a,
			    json_string_value(json_array_get(t, 2)));
	}
	json_decref(list);
	json_decref(refs);
	return r;
}

/* Whether the entity of a mode-checked step exists before the tx. */
static int
txserver_mode_exists(struct txrun *run, const json_t *step, int *found)
{
	const struct attr *a = attrs_by_id(
	    run->ta->attrs, json_string_value(json_array_get(step, 2)));
	const json_t *ref = json_array_get(step, 1);
	char *e = NULL;
	int r;

	*found = 0;
	if (json_is_string(ref))
		return txserver_exists_for(run, json_string_value(ref),
					   a->etype, found);
	if ((r = txserver_entity(run, ref, 0, &e)) != 0)
		return r;
	*found = e != NULL;
	free(e);
	return 0;
}

/* Append the entity of step to a mode error's list and message. */
static int
txserver_mode_note(json_t *bad, const json_t *step, char *msg, size_t len)
{
	const json_t *ref = json_array_get(step, 1);
	char *text = json_is_string(ref) ? strdup(json_string_value(ref))
					 : json_dumps(ref, JSON_COMPACT);
	size_t used = strlen(msg);

	if (text == NULL)
		return -1;
	snprintf(msg + used, len - used, "%s%s",
		 json_array_size(bad) ? ", " : "", text);
	free(text);
	return json_array_append(bad, (json_t *)step);
}

/* Check create (must not exist) or update (must exist) modes; the server
 * reports creates first. */
static int
txserver_modes(struct txrun *run, const struct sstep *order, size_t n,
	       const char *mode)
{
	json_t *bad = json_array();
	const char *m, *op;
	char msg[1024];
	size_t i;
	int found, r = 0, create = strcmp(mode, "create") == 0;

	snprintf(msg, sizeof msg, "%s",
		 create ? "Creating entities that exist: "
			: "Updating entities that don't exist: ");
	for (i = 0; i < n && r == 0; i++) {
		op = order[i].op;
		m = json_string_value(
		    json_object_get(json_array_get(order[i].step, 4), "mode"));
		if ((strcmp(op, "add-triple") != 0 &&
		     strcmp(op, "deep-merge-triple") != 0) ||
		    m == NULL || strcmp(m, mode) != 0)
			continue;
		if ((r = txserver_mode_exists(run, order[i].step, &found)))
			break;
		if (found == create && txserver_mode_note(bad, order[i].step,
							  msg, sizeof msg) != 0)
			r = txapply_internal(run, "out of memory");
	}
	if (r == 0 && json_array_size(bad) > 0)
		r = txapply_invalid(run, "tx-step", json_incref(bad), "%s",
				    msg);
	json_decref(bad);
	return r;
}

/* Run one server step of the ordered list. */
static int
txserver_step(struct txrun *run, const struct sstep *s, json_t *deletes,
	      int *deleted)
{
	const char *op = s->op;
	const char *k, *id, *etype;
	json_t *item;
	int r = 0;

	if (strcmp(op, "add-triple") == 0 ||
	    strcmp(op, "retract-triple") == 0 ||
	    strcmp(op, "deep-merge-triple") == 0)
		return txserver_triple(run, op, s->step);
	if (strcmp(op, "delete-entity") == 0) {
		if (*deleted)
			return 0;
		*deleted = 1;
		json_object_foreach(deletes, k, item) {
			id = json_string_value(json_array_get(item, 0));
			etype = json_string_value(json_array_get(item, 1));
			if ((r = txserver_delete_one(run, id, etype)) != 0)
				return r;
		}
		return 0;
	}
	if (strcmp(op, "delete-attr") == 0)
		return txapply_delete_attr(
		    run, json_string_value(json_array_get(s->step, 1)));
	if (strcmp(op, "update-attr") == 0)
		return txapply_update_attr(run, json_array_get(s->step, 1));
	if (strcmp(op, "add-attr") == 0 || strcmp(op, "rule-params") == 0 ||
	    strcmp(op, "restore-attr") == 0)
		return 0;
	return txapply_invalid(run, "tx-steps", json_deep_copy(s->step),
			       "unknown op %s", op);
}

/* Register the add-attr steps, before anything refers to them. */
static int
txserver_attrs(struct txrun *run, const json_t *steps)
{
	const char *op;
	json_t *step;
	size_t i;
	int r;

	json_array_foreach(steps, i, step) {
		op = json_string_value(json_array_get(step, 0));
		if (op != NULL && strcmp(op, "add-attr") == 0 &&
		    (r = txserver_add_attr(run, json_array_get(step, 1))) != 0)
			return r;
	}
	return 0;
}

/* Server mode: validate, register attrs, plan deletes and check modes on
 * the state before the tx, then run the grouped steps. */
int
txserver_run(struct txrun *run, const json_t *steps)
{
	struct sstep *order = NULL;
	json_t *deletes = json_object();
	size_t n = 0, i;
	int deleted = 0, r;

	if ((r = txserver_attrs(run, steps)) != 0)
		goto out;
	for (i = 0; i < json_array_size(steps); i++)
		if ((r = txserver_check(run, steps, i)) != 0)
			goto out;
	if (deletes == NULL || (order = txserver_order(steps, &n)) == NULL) {
		r = txapply_internal(run, "out of memory");
		goto out;
	}
	if ((r = txserver_delete_set(run, order, n, deletes)) != 0 ||
	    (r = txserver_modes(run, order, n, "create")) != 0 ||
	    (r = txserver_modes(run, order, n, "update")) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = txserver_step(run, &order[i], deletes, &deleted)))
			goto out;
out:
	free(order);
	json_decref(deletes);
	return r;
}
