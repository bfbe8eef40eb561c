/*
 * txclient.c: tx-steps applied as the official client's optimistic
 * store.transact does (store.ts).
 *
 * The create/update mode filter runs once, before any step, with the attrs
 * known before the batch (so a step on an attr the batch itself adds is
 * judged as on an unknown attr, as in the client).  Then each kept step
 * runs in order.  Lookups resolve against the store with the client's ===
 * comparison and a step whose lookup does not resolve is skipped; a value
 * [attrId, x] is a lookup only when the store holds triples of attrId.
 * Deleting an entity follows on-delete-reverse cascades through its own
 * ref triples first, then removes its triples on attrs of its etype, then
 * the links to it from attrs whose reverse etype it is, following
 * on-delete cascades.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/tstore.h"
#include "engine/txapply_int.h"

#define TXCLIENT_MAX_DEPTH 64 /* cascade recursion limit */

/* The primary-key attr of etype: "primary?" if any, else its id attr. */
static const struct attr *
txclient_primary_attr(struct txrun *run, const char *etype)
{
	const struct attr *a;
	size_t i;

	for (i = 0; i < attrs_count(run->ta->attrs); i++) {
		a = attrs_at(run->ta->attrs, i);
		if (strcmp(a->etype, etype) == 0 &&
		    json_is_true(json_object_get(a->json, "primary?")))
			return a;
	}
	return attrs_forward(run->ta->attrs, etype, "id");
}

/* Client lookup resolution of an entity ref: *e is the entity id, or NULL
 * when the store cannot resolve it.  The JS client compares values with
 * ===, so object and array values never resolve. */
static int
txclient_entity(struct txrun *run, const json_t *ref, char **e)
{
	const json_t *v = json_array_get(ref, 1);

	*e = NULL;
	if (json_is_string(ref)) {
		if ((*e = strdup(json_string_value(ref))) == NULL)
			return txapply_internal(run, "out of memory");
		return 0;
	}
	if (!json_is_array(ref) || json_is_object(v) || json_is_array(v))
		return 0;
	return txapply_find_av(run, json_string_value(json_array_get(ref, 0)),
			       v, e);
}

/* Scan callback: stop at the first triple. */
static int
txclient_any_cb(void *arg, const struct triple *t)
{
	return 1;
}

/* Client resolution of a value: a [attrId, value] pair whose attr has
 * triples is a lookup (NULL text when unresolved); anything else is
 * literal.  *text receives the value's JSON text. */
static int
txclient_value(struct txrun *run, const json_t *v, char **text)
{
	const char *a = json_string_value(json_array_get(v, 0));
	char *e = NULL;
	int r;

	*text = NULL;
	if (json_is_array(v) && json_array_size(v) == 2 && a != NULL &&
	    tstore_scan_a(run->ta->ts, a, txclient_any_cb, NULL) == 1) {
		if ((r = txclient_entity(run, v, &e)) != 0 || e == NULL)
			return r;
		*text = txapply_id_text(e);
		free(e);
	} else
		*text = tstore_value_text(v);
	return *text == NULL ? txapply_internal(run, "out of memory") : 0;
}

/* Whether a client step survives the mode filter. */
static int
txclient_keep(struct txrun *run, const json_t *step, int *keep)
{
	const char *op = json_string_value(json_array_get(step, 0));
	const char *mode =
	    json_string_value(json_object_get(json_array_get(step, 4), "mode"));
	const struct attr *a, *pk;
	char *e = NULL;
	int found = 0, r;

	*keep = 1;
	if (op == NULL ||
	    (strcmp(op, "add-triple") != 0 &&
	     strcmp(op, "deep-merge-triple") != 0) ||
	    mode == NULL ||
	    (strcmp(mode, "create") != 0 && strcmp(mode, "update") != 0))
		return 0;
	a = attrs_by_id(run->ta->attrs,
			json_string_value(json_array_get(step, 2)));
	pk = a != NULL ? txclient_primary_attr(run, a->etype) : NULL;
	if (pk != NULL) {
		if ((r = txclient_entity(run, json_array_get(step, 1), &e)))
			return r;
		if (e != NULL &&
		    tstore_has_ea(run->ta->ts, e, pk->id, &found) != 0)
			r = txapply_internal(run, NULL);
		free(e);
		if (r != 0)
			return r;
	}
	*keep = strcmp(mode, "create") == 0 ? !found : found;
	return 0;
}

/* Client add-triple / retract-triple / deep-merge-triple. */
static int
txclient_triple(struct txrun *run, const char *op, const json_t *step)
{
	const struct attr *a = attrs_by_id(
	    run->ta->attrs, json_string_value(json_array_get(step, 2)));
	char *e = NULL, *v = NULL;
	int r;

	if ((r = txclient_entity(run, json_array_get(step, 1), &e)) != 0 ||
	    e == NULL)
		return r;
	if (a == NULL)
		goto out;
	if (strcmp(op, "deep-merge-triple") == 0) {
		if (a->is_ref)
			r = txapply_error(
			    run, 400, "validation-failed",
			    "merge operation is not supported for links", NULL);
		else
			r = txapply_merge(run, e, a, json_array_get(step, 3));
		goto out;
	}
	if ((r = txclient_value(run, json_array_get(step, 3), &v)) != 0 ||
	    v == NULL)
		goto out;
	if (strcmp(op, "add-triple") == 0)
		r = txapply_put(run, e, a, v);
	else
		r = txapply_retract(run, e, a, v);
out:
	free(e);
	free(v);
	return r;
}

static int txclient_delete(struct txrun *, const json_t *ref,
			   const char *etype);

/* Delete the targets of id's triples on a, an on-delete-reverse attr. */
static int
txclient_cascade_targets(struct txrun *run, const char *id,
			 const struct attr *a)
{
	json_t *vals = txapply_triples_ea(run, id, a->id), *v, *ref;
	size_t i;
	int r = 0;

	if (vals == NULL)
		return txapply_internal(run, NULL);
	json_array_foreach(vals, i, v) {
		ref = json_loads(json_string_value(json_array_get(v, 2)),
				 JSON_DECODE_ANY, NULL);
		if (ref != NULL)
			r = txclient_delete(run, ref, a->rev_etype);
		json_decref(ref);
		if (r != 0)
			break;
	}
	json_decref(vals);
	return r;
}

/* Client delete, forward part: for each attr of the entity, cascade along
 * on-delete-reverse, then drop its values if the attr is of etype (every
 * attr without etype, and attrs the registry does not know). */
static int
txclient_delete_forward(struct txrun *run, const char *id, const char *etype)
{
	json_t *list = txapply_triples_e(run, id), *t;
	const char *aid, *prev = "";
	const struct attr *a;
	size_t i;
	int r = 0;

	if (list == NULL)
		return txapply_internal(run, NULL);
	json_array_foreach(list, i, t) {
		aid = json_string_value(json_array_get(t, 1));
		if (strcmp(aid, prev) == 0)
			continue;
		prev = aid;
		a = attrs_by_id(run->ta->attrs, aid);
		if (a != NULL && a->on_delete_reverse_cascade &&
		    (r = txclient_cascade_targets(run, id, a)) != 0)
			break;
		if (etype != NULL && a != NULL && strcmp(a->etype, etype) != 0)
			continue;
		if (tstore_retract_ea(run->ta->ts, id, aid) != 0)
			r = txapply_internal(run, NULL);
		else if (a != NULL)
			r = txapply_touch(run, a);
		if (r != 0)
			break;
	}
	json_decref(list);
	return r;
}

/* Client delete, reverse part: drop links to id from attrs whose reverse
 * etype is etype, cascading along on-delete. */
static int
txclient_delete_reverse(struct txrun *run, const char *id, const char *etype)
{
	json_t *list = txapply_refs_to(run, id), *t, *src;
	const struct attr *a;
	const char *e;
	size_t i;
	int r = 0;

	if (list == NULL)
		return txapply_internal(run, NULL);
	json_array_foreach(list, i, t) {
		e = json_string_value(json_array_get(t, 0));
		a = attrs_by_id(run->ta->attrs,
				json_string_value(json_array_get(t, 1)));
		if (etype == NULL || txapply_streq(a->rev_etype, etype))
			r = txapply_retract(
			    run, e, a, json_string_value(json_array_get(t, 2)));
		if (r == 0 && a->on_delete_cascade &&
		    txapply_streq(a->rev_etype, etype)) {
			src = json_string(e);
			r = src != NULL
				? txclient_delete(run, src, a->etype)
				: txapply_internal(run, "out of memory");
			json_decref(src);
		}
		if (r != 0)
			break;
	}
	json_decref(list);
	return r;
}

/* Client delete-entity (store.ts deleteEntity). */
static int
txclient_delete(struct txrun *run, const json_t *ref, const char *etype)
{
	char *id = NULL;
	int r;

	if (run->depth >= TXCLIENT_MAX_DEPTH)
		return txapply_error(run, 400, "validation-failed",
				     "delete cascade too deep", NULL);
	if ((r = txclient_entity(run, ref, &id)) != 0 || id == NULL)
		return r;
	run->depth++;
	r = txclient_delete_forward(run, id, etype);
	if (r == 0)
		r = txclient_delete_reverse(run, id, etype);
	run->depth--;
	free(id);
	return r;
}

/* One client step. */
static int
txclient_step(struct txrun *run, const json_t *step)
{
	const char *op = json_string_value(json_array_get(step, 0));
	const json_t *arg = json_array_get(step, 1);

	if (op == NULL)
		return txapply_error(run, 400, "validation-failed",
				     "tx-step without an op", NULL);
	if (strcmp(op, "add-triple") == 0 ||
	    strcmp(op, "retract-triple") == 0 ||
	    strcmp(op, "deep-merge-triple") == 0)
		return txclient_triple(run, op, step);
	if (strcmp(op, "delete-entity") == 0)
		return txclient_delete(
		    run, arg, json_string_value(json_array_get(step, 2)));
	if (strcmp(op, "add-attr") == 0)
		return txapply_add_attr(run, arg);
	if (strcmp(op, "delete-attr") == 0)
		return txapply_delete_attr(run, json_string_value(arg));
	if (strcmp(op, "update-attr") == 0)
		return txapply_update_attr(run, arg);
	if (strcmp(op, "restore-attr") == 0 || strcmp(op, "rule-params") == 0)
		return 0;
	return txapply_error(run, 400, "validation-failed",
			     "unhandled transaction action",
			     json_pack("{s:s}", "op", op));
}

/* Client mode: filter on modes, then every kept step in order. */
int
txclient_run(struct txrun *run, const json_t *steps)
{
	json_t *keep = json_array(), *step;
	size_t i;
	int k, r = 0;

	if (keep == NULL)
		return txapply_internal(run, "out of memory");
	json_array_foreach(steps, i, step) {
		if ((r = txclient_keep(run, step, &k)) != 0)
			goto out;
		if (k && json_array_append(keep, step) != 0) {
			r = txapply_internal(run, "out of memory");
			goto out;
		}
	}
	json_array_foreach(keep, i, step) {
		if ((r = txclient_step(run, step)) != 0)
			goto out;
	}
out:
	json_decref(keep);
	return r;
}
