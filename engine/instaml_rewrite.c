/*
 * instaml_rewrite.c: pending tx-steps rewritten against the server's attrs.
 *
 * A transaction compiled offline may create attrs (add-attr with fresh
 * ids) that the server already has under other ids, possibly as the other
 * direction of a link.  When attrs arrive from the server (init-ok,
 * refresh-ok), the official client rewrites its pending mutations, oldest
 * first, with one mapping that grows across them (Reactor
 * _rewriteMutations, instaml rewriteStep):
 *
 *  - an add-attr whose (etype, label) the server has under another id is
 *    dropped and its id maps to the server's;
 *  - an add-attr of a link the server has the other way round (its forward
 *    identity is the server attr's reverse identity) is dropped, its id
 *    maps to the server's, and add-triple / retract-triple on it swap
 *    entity and value;
 *  - add-attr steps of transactions the server has processed, and every
 *    update-attr and delete-attr step, are dropped;
 *  - in every other step, a part equal to a mapped id, or a lookup
 *    [mapped id, value], is replaced.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/instaml.h"

struct instaml_rewrite {
	const struct attrs *attrs; /* the server's */
	json_t *map;		   /* local attr id -> server attr id */
	json_t *swap;		   /* local attr ids of reversed links */
};

/* Start a rewrite against the server's attrs (borrowed). */
struct instaml_rewrite *
instaml_rewrite_create(const struct attrs *server_attrs)
{
	struct instaml_rewrite *rw = calloc(1, sizeof *rw);

	if (rw == NULL)
		return NULL;
	rw->attrs = server_attrs;
	rw->map = json_object();
	rw->swap = json_object();
	if (rw->map == NULL || rw->swap == NULL) {
		instaml_rewrite_free(rw);
		return NULL;
	}
	return rw;
}

/* Free a rewrite. */
void
instaml_rewrite_free(struct instaml_rewrite *rw)
{
	if (rw == NULL)
		return;
	json_decref(rw->map);
	json_decref(rw->swap);
	free(rw);
}

/* Whether an add-attr step maps onto a server attr (and is dropped). */
static int
rw_map_attr(struct instaml_rewrite *rw, const json_t *attr)
{
	const json_t *fwd = json_object_get(attr, "forward-identity");
	const char *id = json_string_value(json_object_get(attr, "id"));
	const char *etype = json_string_value(json_array_get(fwd, 1));
	const char *label = json_string_value(json_array_get(fwd, 2));
	const char *type =
	    json_string_value(json_object_get(attr, "value-type"));
	const struct attr *other;

	if (id == NULL || etype == NULL || label == NULL)
		return 0;
	other = attrs_forward(rw->attrs, etype, label);
	if (other != NULL && strcmp(other->id, id) != 0)
		return json_object_set_new(rw->map, id,
					   json_string(other->id)) == 0;
	if (type == NULL || strcmp(type, "ref") != 0)
		return 0;
	if ((other = attrs_reverse(rw->attrs, etype, label)) == NULL)
		return 0;
	return json_object_set_new(rw->map, id, json_string(other->id)) == 0 &&
	       json_object_set_new(rw->swap, id, json_true()) == 0;
}

/* One part of a step with mapped attr ids replaced (new reference). */
static json_t *
rw_part(const struct instaml_rewrite *rw, json_t *part)
{
	const char *s = json_string_value(part);
	const json_t *to;

	if (s != NULL && (to = json_object_get(rw->map, s)) != NULL)
		return json_incref((json_t *)to);
	s = json_string_value(json_array_get(part, 0));
	if (json_array_size(part) == 2 && s != NULL &&
	    (to = json_object_get(rw->map, s)) != NULL)
		return json_pack("[OO]", to, json_array_get(part, 1));
	return json_incref(part);
}

/* A step with mapped ids replaced, entity and value swapped on reversed
 * links (new reference). */
static json_t *
rw_step(const struct instaml_rewrite *rw, const json_t *step)
{
	const char *op = json_string_value(json_array_get(step, 0));
	const char *aid = json_string_value(json_array_get(step, 2));
	json_t *out = json_array(), *part, *e;
	size_t i;

	if (out == NULL)
		return NULL;
	json_array_foreach(step, i, part) {
		if (json_array_append_new(out, rw_part(rw, part)) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	if (op != NULL && aid != NULL && json_array_size(out) >= 4 &&
	    (strcmp(op, "add-triple") == 0 ||
	     strcmp(op, "retract-triple") == 0) &&
	    json_object_get(rw->swap, aid) != NULL) {
		e = json_incref(json_array_get(out, 1));
		json_array_set(out, 1, json_array_get(out, 3));
		json_array_set_new(out, 3, e);
	}
	return out;
}

/* Whether a step is dropped: an add-attr the server has (mapped) or has
 * processed, or any update-attr / delete-attr. */
static int
rw_drops(struct instaml_rewrite *rw, const json_t *step, int64_t tx_id,
	 int64_t processed_tx_id)
{
	const char *op = json_string_value(json_array_get(step, 0));

	if (op == NULL)
		return 0;
	if (strcmp(op, "update-attr") == 0 || strcmp(op, "delete-attr") == 0)
		return 1;
	if (strcmp(op, "add-attr") != 0)
		return 0;
	if (rw_map_attr(rw, json_array_get(step, 1)))
		return 1;
	return tx_id > 0 && processed_tx_id > 0 && processed_tx_id >= tx_id;
}

/* Rewrite the tx-steps of the next pending transaction. */
json_t *
instaml_rewrite_steps(struct instaml_rewrite *rw, const json_t *tx_steps,
		      int64_t tx_id, int64_t processed_tx_id, int *changed)
{
	json_t *out = json_array(), *step, *next;
	size_t i;

	*changed = 0;
	if (out == NULL)
		return NULL;
	json_array_foreach(tx_steps, i, step) {
		if (rw_drops(rw, step, tx_id, processed_tx_id))
			continue;
		if ((next = rw_step(rw, step)) == NULL ||
		    json_array_append_new(out, next) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	*changed = !json_equal(out, (json_t *)tx_steps);
	return out;
}
