/*
 * txapply.c: tx-steps applied with client-optimistic or server semantics.
 *
 * Client mode follows the official client's store.transact step by step:
 * a filter on create/update modes evaluated once before the batch, then
 * each step in order; whatever it cannot resolve (unknown attr, unknown
 * lookup) it skips.
 *
 * Server mode follows an Instant server's transaction: after validating
 * the steps, add-attr steps run first (attrs must exist before triples
 * refer to them); delete-entity lookups are resolved and cascades
 * expanded, and create/update modes checked, all against the state before
 * any write; then the steps run grouped by op, in the order each op first
 * appears.  Any rejection unwinds everything: triples through a SAVEPOINT,
 * attrs through an undo list of their previous values.
 *
 * Internal functions return 0 to go on, 1 when the transaction is rejected
 * and -1 on an internal failure; in both failure cases run->error holds
 * the error envelope.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/tstore.h"
#include "engine/txapply.h"
#include "proto/uuid.h"

#define TX_MAX_DEPTH 64 /* cascade recursion limit in client mode */

/* The savepoint statements, prepared once per applier. */
enum tx_sql {
	TX_SAVEPOINT,
	TX_RELEASE,
	TX_ROLLBACK_TO,
	TX_SQL_MAX
};

static const char *const tx_sql[TX_SQL_MAX] = {
	[TX_SAVEPOINT] = "SAVEPOINT txapply",
	[TX_RELEASE] = "RELEASE txapply",
	[TX_ROLLBACK_TO] = "ROLLBACK TO txapply",
};

struct txapply {
	sqlite3 *db;
	struct tstore *ts;
	struct attrs *attrs;
	enum txapply_mode mode;
	int64_t seq; /* client mode: makes new t values distinct */
	sqlite3_stmt *stmt[TX_SQL_MAX];
};

/* The state of one run. */
struct run {
	struct txapply *ta;
	int64_t now;
	json_t *etypes;    /* set: etype -> true */
	json_t *attr_ids;  /* set: attr id -> true */
	json_t *new_attrs; /* attrs added */
	json_t *undo;      /* [[id, previous attr or null], ...] */
	json_t *error;
	int depth;
};

/* ---- bookkeeping ---- */

/* Set the run's error (first one wins) and return the matching code. */
static int
tx_error(struct run *run, int status, const char *type, const char *message,
    json_t *hint)
{
	if (run->error == NULL)
		run->error = json_pack("{s:i, s:s, s:s, s:o}", "status", status,
		    "type", type, "message", message, "hint",
		    hint != NULL ? hint : json_null());
	else
		json_decref(hint);
	return status >= 500 ? -1 : 1;
}

/* An internal failure (SQLite or memory). */
static int
tx_internal(struct run *run, const char *what)
{
	const char *msg = what;

	if (msg == NULL)
		msg = tstore_errmsg(run->ta->ts);
	return tx_error(run, 500, "internal", msg != NULL ? msg :
	    "internal error", NULL);
}

/* A validation-failed error as the server builds it. */
static int __attribute__((format(printf, 4, 5)))
tx_invalid(struct run *run, const char *what, json_t *input,
    const char *fmt, ...)
{
	char detail[512], message[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	snprintf(message, sizeof message, "Validation failed for %s: %s", what,
	    detail);
	return tx_error(run, 400, "validation-failed", message,
	    json_pack("{s:s, s:o, s:[{s:s}]}", "data-type", what, "input",
	    input != NULL ? input : json_null(), "errors", "message", detail));
}

/* Note that triples of attr a changed. */
static int
tx_touch(struct run *run, const struct attr *a)
{
	if (json_object_set_new(run->attr_ids, a->id, json_true()) != 0 ||
	    json_object_set_new(run->etypes, a->etype, json_true()) != 0)
		return tx_internal(run, "out of memory");
	if (a->rev_etype != NULL &&
	    json_object_set_new(run->etypes, a->rev_etype, json_true()) != 0)
		return tx_internal(run, "out of memory");
	return 0;
}

/* Put an attr into the registry, remembering its previous value. */
static int
tx_attr_put(struct run *run, const json_t *attr)
{
	const char *id = json_string_value(json_object_get(attr, "id"));
	const struct attr *old = id != NULL ?
	    attrs_by_id(run->ta->attrs, id) : NULL;
	const char *why = NULL;

	if (json_array_append_new(run->undo, json_pack("[sO]", id != NULL ?
	    id : "", old != NULL ? old->json : json_null())) != 0)
		return tx_internal(run, "out of memory");
	if (attrs_put(run->ta->attrs, attr, &why) != 0)
		return tx_invalid(run, "add-attr", json_deep_copy(attr), "%s",
		    why != NULL ? why : "malformed attr");
	return 0;
}

/* Undo the attr changes of a failed run, newest first. */
static void
tx_attrs_undo(struct run *run)
{
	size_t i = json_array_size(run->undo);
	const json_t *u, *old;

	while (i-- > 0) {
		u = json_array_get(run->undo, i);
		old = json_array_get(u, 1);
		if (json_is_null(old))
			attrs_remove(run->ta->attrs,
			    json_string_value(json_array_get(u, 0)));
		else
			attrs_put(run->ta->attrs, old, NULL);
	}
}

/* ---- reading the store ---- */

/* Scan callback: append [e, a, v, t] to a JSON array. */
static int
tx_collect_cb(void *arg, const struct triple *t)
{
	json_t *list = arg;

	return json_array_append_new(list, json_pack("[sssI]", t->e, t->a,
	    t->v, (json_int_t)t->t)) != 0 ? -1 : 0;
}

/* Scan callback: stop at the first triple, keeping its entity. */
static int
tx_first_e_cb(void *arg, const struct triple *t)
{
	char **e = arg;

	*e = strdup(t->e);
	return 1;
}

/* A new array of the triples of (e, a), or NULL. */
static json_t *
tx_triples_ea(struct run *run, const char *e, const char *a)
{
	json_t *list = json_array();

	if (list != NULL && tstore_scan_ea(run->ta->ts, e, a, tx_collect_cb,
	    list) != 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* A new array of the triples of e, or NULL. */
static json_t *
tx_triples_e(struct run *run, const char *e)
{
	json_t *list = json_array();

	if (list != NULL && tstore_scan_e(run->ta->ts, e, tx_collect_cb,
	    list) != 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* A new array of the triples with attr a and value text v, or NULL. */
static json_t *
tx_triples_av(struct run *run, const char *a, const char *v)
{
	json_t *list = json_array();

	if (list != NULL && tstore_scan_av(run->ta->ts, a, v, tx_collect_cb,
	    list) != 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* The entity holding value v on attr a into *e (NULL if none). */
static int
tx_find_av(struct run *run, const char *a, const json_t *v, char **e)
{
	char *text = tstore_value_text(v);
	int r;

	*e = NULL;
	if (text == NULL)
		return tx_internal(run, "out of memory");
	r = tstore_scan_av(run->ta->ts, a, text, tx_first_e_cb, e);
	free(text);
	if (r < 0)
		return tx_internal(run, NULL);
	return 0;
}

/* The JSON text of an entity id, as a ref value. */
static char *
tx_id_text(const char *id)
{
	json_t *s = json_string(id);
	char *text = s != NULL ? tstore_value_text(s) : NULL;

	json_decref(s);
	return text;
}

/* Whether e has a triple on an attr of etype (an Instant "exists"). */
static int
tx_exists_for(struct run *run, const char *e, const char *etype, int *found)
{
	json_t *list = tx_triples_e(run, e), *t;
	const struct attr *a;
	size_t i;

	*found = 0;
	if (list == NULL)
		return tx_internal(run, NULL);
	json_array_foreach(list, i, t) {
		a = attrs_by_id(run->ta->attrs,
		    json_string_value(json_array_get(t, 1)));
		if (a != NULL && strcmp(a->etype, etype) == 0)
			*found = 1;
	}
	json_decref(list);
	return 0;
}

/* Whether two possibly NULL names are equal. */
static int
tx_streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Whether v is a lookup ref [uuid, value]. */
static int
tx_is_lookup(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) == 2 &&
	    uuid_valid(json_string_value(json_array_get(v, 0)));
}

/* ---- writes ---- */

/* The t of a new client triple. */
static int64_t
tx_client_t(struct run *run)
{
	return run->now * 10 + run->ta->seq++;
}

/* Write (e, a, v): cardinality one replaces the entity's value; t is kept
 * when the triple (client) or the entity's value (server) existed. */
static int
tx_put(struct run *run, const char *e, const struct attr *a,
    const char *v)
{
	json_t *old = tx_triples_ea(run, e, a->id), *t;
	int server = run->ta->mode == TXAPPLY_SERVER;
	int64_t ts = -1;
	size_t i;
	int r = -1;

	if (old == NULL)
		return tx_internal(run, NULL);
	json_array_foreach(old, i, t) {
		if (strcmp(json_string_value(json_array_get(t, 2)), v) == 0 ||
		    (server && a->card_one))
			ts = json_integer_value(json_array_get(t, 3));
	}
	if (ts < 0)
		ts = server ? run->now : tx_client_t(run);
	if (a->card_one && tstore_retract_ea(run->ta->ts, e, a->id) != 0)
		goto fail;
	if (tstore_add(run->ta->ts, e, a->id, v, ts) != 0)
		goto fail;
	r = tx_touch(run, a);
	goto out;
fail:
	r = tx_internal(run, NULL);
out:
	json_decref(old);
	return r;
}

/* Remove (e, a, v). */
static int
tx_retract(struct run *run, const char *e, const struct attr *a,
    const char *v)
{
	if (tstore_retract(run->ta->ts, e, a->id, v) != 0)
		return tx_internal(run, NULL);
	return tx_touch(run, a);
}

/* Remove every value of (e, a). */
static int
tx_retract_ea(struct run *run, const char *e, const struct attr *a)
{
	if (tstore_retract_ea(run->ta->ts, e, a->id) != 0)
		return tx_internal(run, NULL);
	return tx_touch(run, a);
}

/* Deep merge of patch into target (new reference): objects merge
 * recursively and a null deletes a key; anything else replaces. */
static json_t *
tx_deep_merge(const json_t *target, const json_t *patch)
{
	json_t *out, *v, *sub;
	const char *k;

	if (!json_is_object(target) || !json_is_object(patch))
		return json_deep_copy(patch);
	if ((out = json_copy((json_t *)target)) == NULL)
		return NULL;
	json_object_foreach((json_t *)patch, k, v) {
		if (json_is_null(v)) {
			json_object_del(out, k);
			continue;
		}
		sub = tx_deep_merge(json_object_get(target, k), v);
		if (sub == NULL || json_object_set_new(out, k, sub) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* Merge patch into the value of (e, a); a missing value is left alone in
 * client mode and set to the patch in server mode. */
static int
tx_merge(struct run *run, const char *e, const struct attr *a,
    const json_t *patch)
{
	json_t *old = tx_triples_ea(run, e, a->id), *cur = NULL, *merged;
	char *text = NULL;
	int r;

	if (old == NULL)
		return tx_internal(run, NULL);
	if (json_array_size(old) > 0)
		cur = json_loads(json_string_value(json_array_get(
		    json_array_get(old, 0), 2)), JSON_DECODE_ANY, NULL);
	json_decref(old);
	if (cur == NULL && run->ta->mode == TXAPPLY_CLIENT)
		return 0;
	merged = tx_deep_merge(cur, patch);
	json_decref(cur);
	if (merged == NULL || (text = tstore_value_text(merged)) == NULL)
		r = tx_internal(run, "out of memory");
	else
		r = tx_put(run, e, a, text);
	json_decref(merged);
	free(text);
	return r;
}

/* ---- client mode ---- */

/* The primary-key attr of etype: "primary?" if any, else its id attr. */
static const struct attr *
tx_primary_attr(struct run *run, const char *etype)
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
tx_client_entity(struct run *run, const json_t *ref, char **e)
{
	const json_t *v = json_array_get(ref, 1);

	*e = NULL;
	if (json_is_string(ref)) {
		if ((*e = strdup(json_string_value(ref))) == NULL)
			return tx_internal(run, "out of memory");
		return 0;
	}
	if (!json_is_array(ref) || json_is_object(v) || json_is_array(v))
		return 0;
	return tx_find_av(run, json_string_value(json_array_get(ref, 0)), v,
	    e);
}

/* Scan callback: stop at the first triple. */
static int
tx_any_cb(void *arg, const struct triple *t)
{
	return 1;
}

/* Client resolution of a value: a [attrId, value] pair whose attr has
 * triples is a lookup (NULL text when unresolved); anything else is
 * literal.  *text receives the value's JSON text. */
static int
tx_client_value(struct run *run, const json_t *v, char **text)
{
	const char *a = json_string_value(json_array_get(v, 0));
	char *e = NULL;
	int r;

	*text = NULL;
	if (json_is_array(v) && json_array_size(v) == 2 && a != NULL &&
	    tstore_scan_a(run->ta->ts, a, tx_any_cb, NULL) == 1) {
		if ((r = tx_client_entity(run, v, &e)) != 0 || e == NULL)
			return r;
		*text = tx_id_text(e);
		free(e);
	} else
		*text = tstore_value_text(v);
	return *text == NULL ? tx_internal(run, "out of memory") : 0;
}

/* Whether a client step survives the mode filter. */
static int
tx_client_keep(struct run *run, const json_t *step, int *keep)
{
	const char *op = json_string_value(json_array_get(step, 0));
	const char *mode = json_string_value(json_object_get(json_array_get(
	    step, 4), "mode"));
	const struct attr *a, *pk;
	char *e = NULL;
	int found = 0, r;

	*keep = 1;
	if (op == NULL || (strcmp(op, "add-triple") != 0 &&
	    strcmp(op, "deep-merge-triple") != 0) || mode == NULL ||
	    (strcmp(mode, "create") != 0 && strcmp(mode, "update") != 0))
		return 0;
	a = attrs_by_id(run->ta->attrs, json_string_value(json_array_get(step,
	    2)));
	pk = a != NULL ? tx_primary_attr(run, a->etype) : NULL;
	if (pk != NULL) {
		if ((r = tx_client_entity(run, json_array_get(step, 1), &e)))
			return r;
		if (e != NULL && tstore_has_ea(run->ta->ts, e, pk->id,
		    &found) != 0)
			r = tx_internal(run, NULL);
		free(e);
		if (r != 0)
			return r;
	}
	*keep = strcmp(mode, "create") == 0 ? !found : found;
	return 0;
}

/* Client add-triple / retract-triple / deep-merge-triple. */
static int
tx_client_triple(struct run *run, const char *op, const json_t *step)
{
	const struct attr *a = attrs_by_id(run->ta->attrs,
	    json_string_value(json_array_get(step, 2)));
	char *e = NULL, *v = NULL;
	int r;

	if ((r = tx_client_entity(run, json_array_get(step, 1), &e)) != 0 ||
	    e == NULL)
		return r;
	if (a == NULL)
		goto out;
	if (strcmp(op, "deep-merge-triple") == 0) {
		if (a->is_ref)
			r = tx_error(run, 400, "validation-failed",
			    "merge operation is not supported for links", NULL);
		else
			r = tx_merge(run, e, a, json_array_get(step, 3));
		goto out;
	}
	if ((r = tx_client_value(run, json_array_get(step, 3), &v)) != 0 ||
	    v == NULL)
		goto out;
	if (strcmp(op, "add-triple") == 0)
		r = tx_put(run, e, a, v);
	else
		r = tx_retract(run, e, a, v);
out:
	free(e);
	free(v);
	return r;
}

static int tx_client_delete(struct run *, const json_t *ref,
    const char *etype);

/* Client delete, forward part: cascade along on-delete-reverse, then drop
 * the entity's triples on attrs of etype (all of them without etype). */
static int
tx_client_delete_forward(struct run *run, const char *id, const char *etype)
{
	json_t *list = tx_triples_e(run, id), *t, *vals = NULL, *v;
	const struct attr *a;
	const char *aid, *prev = "";
	size_t i, j;
	int r = 0;

	if (list == NULL)
		return tx_internal(run, NULL);
	json_array_foreach(list, i, t) {
		aid = json_string_value(json_array_get(t, 1));
		if (strcmp(aid, prev) == 0)
			continue;
		prev = aid;
		a = attrs_by_id(run->ta->attrs, aid);
		if (a != NULL && a->on_delete_reverse_cascade) {
			if ((vals = tx_triples_ea(run, id, aid)) == NULL)
				r = tx_internal(run, NULL);
			json_array_foreach(vals, j, v) {
				json_t *ref = json_loads(json_string_value(
				    json_array_get(v, 2)), JSON_DECODE_ANY,
				    NULL);
				if (r == 0 && ref != NULL)
					r = tx_client_delete(run, ref,
					    a->rev_etype);
				json_decref(ref);
			}
			json_decref(vals);
		}
		if (r == 0 && (etype == NULL || a == NULL ||
		    strcmp(a->etype, etype) == 0) &&
		    tstore_retract_ea(run->ta->ts, id, aid) != 0)
			r = tx_internal(run, NULL);
		if (r == 0 && a != NULL)
			r = tx_touch(run, a);
		if (r != 0)
			break;
	}
	json_decref(list);
	return r;
}

/* The ref triples pointing at id, as a new array. */
static json_t *
tx_refs_to(struct run *run, const char *id)
{
	json_t *list = json_array(), *some;
	const struct attr *a;
	char *text = tx_id_text(id);
	size_t i;

	if (list == NULL || text == NULL)
		goto fail;
	for (i = 0; i < attrs_count(run->ta->attrs); i++) {
		a = attrs_at(run->ta->attrs, i);
		if (!a->is_ref)
			continue;
		if ((some = tx_triples_av(run, a->id, text)) == NULL ||
		    json_array_extend(list, some) != 0) {
			json_decref(some);
			goto fail;
		}
		json_decref(some);
	}
	free(text);
	return list;
fail:
	free(text);
	json_decref(list);
	return NULL;
}

/* Client delete, reverse part: drop links to id from attrs whose reverse
 * etype is etype, cascading along on-delete. */
static int
tx_client_delete_reverse(struct run *run, const char *id, const char *etype)
{
	json_t *list = tx_refs_to(run, id), *t, *src;
	const struct attr *a;
	const char *e;
	size_t i;
	int r = 0;

	if (list == NULL)
		return tx_internal(run, NULL);
	json_array_foreach(list, i, t) {
		e = json_string_value(json_array_get(t, 0));
		a = attrs_by_id(run->ta->attrs,
		    json_string_value(json_array_get(t, 1)));
		if (etype == NULL || tx_streq(a->rev_etype, etype))
			r = tx_retract(run, e, a, json_string_value(
			    json_array_get(t, 2)));
		if (r == 0 && a->on_delete_cascade &&
		    tx_streq(a->rev_etype, etype)) {
			src = json_string(e);
			r = src != NULL ? tx_client_delete(run, src, a->etype) :
			    tx_internal(run, "out of memory");
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
tx_client_delete(struct run *run, const json_t *ref, const char *etype)
{
	char *id = NULL;
	int r;

	if (run->depth >= TX_MAX_DEPTH)
		return tx_error(run, 400, "validation-failed",
		    "delete cascade too deep", NULL);
	if ((r = tx_client_entity(run, ref, &id)) != 0 || id == NULL)
		return r;
	run->depth++;
	r = tx_client_delete_forward(run, id, etype);
	if (r == 0)
		r = tx_client_delete_reverse(run, id, etype);
	run->depth--;
	free(id);
	return r;
}

/* Remove an attr and its triples (delete-attr). */
static int
tx_delete_attr(struct run *run, const char *id)
{
	const struct attr *a = attrs_by_id(run->ta->attrs, id);
	json_t *list;
	size_t i;
	json_t *t;
	int r = 0;

	if (a == NULL)
		return 0;
	if ((r = tx_touch(run, a)) != 0)
		return r;
	list = json_array();
	if (list == NULL || tstore_scan_a(run->ta->ts, id, tx_collect_cb,
	    list) != 0) {
		json_decref(list);
		return tx_internal(run, NULL);
	}
	json_array_foreach(list, i, t) {
		if (tstore_retract(run->ta->ts, json_string_value(
		    json_array_get(t, 0)), id, json_string_value(
		    json_array_get(t, 2))) != 0) {
			r = tx_internal(run, NULL);
			break;
		}
	}
	json_decref(list);
	if (r == 0 && json_array_append_new(run->undo, json_pack("[sO]", id,
	    a->json)) != 0)
		r = tx_internal(run, "out of memory");
	if (r == 0)
		attrs_remove(run->ta->attrs, id);
	return r;
}

/* Merge a partial attr into the registered one (update-attr). */
static int
tx_update_attr(struct run *run, const json_t *partial)
{
	const struct attr *a = attrs_by_id(run->ta->attrs, json_string_value(
	    json_object_get(partial, "id")));
	json_t *next;
	int r;

	if (a == NULL)
		return 0;
	if ((next = json_deep_copy(a->json)) == NULL ||
	    json_object_update(next, (json_t *)partial) != 0) {
		json_decref(next);
		return tx_internal(run, "out of memory");
	}
	r = tx_attr_put(run, next);
	json_decref(next);
	return r;
}

/* Register an attr from an add-attr step. */
static int
tx_add_attr(struct run *run, const json_t *attr)
{
	const struct attr *a;
	int r;

	if ((r = tx_attr_put(run, attr)) != 0)
		return r;
	if (json_array_append(run->new_attrs, (json_t *)attr) != 0)
		return tx_internal(run, "out of memory");
	a = attrs_by_id(run->ta->attrs, json_string_value(json_object_get(
	    attr, "id")));
	return a != NULL ? tx_touch(run, a) : 0;
}

/* One client step. */
static int
tx_client_step(struct run *run, const json_t *step)
{
	const char *op = json_string_value(json_array_get(step, 0));
	const json_t *arg = json_array_get(step, 1);

	if (op == NULL)
		return tx_error(run, 400, "validation-failed",
		    "tx-step without an op", NULL);
	if (strcmp(op, "add-triple") == 0 || strcmp(op, "retract-triple") ==
	    0 || strcmp(op, "deep-merge-triple") == 0)
		return tx_client_triple(run, op, step);
	if (strcmp(op, "delete-entity") == 0)
		return tx_client_delete(run, arg, json_string_value(
		    json_array_get(step, 2)));
	if (strcmp(op, "add-attr") == 0)
		return tx_add_attr(run, arg);
	if (strcmp(op, "delete-attr") == 0)
		return tx_delete_attr(run, json_string_value(arg));
	if (strcmp(op, "update-attr") == 0)
		return tx_update_attr(run, arg);
	if (strcmp(op, "restore-attr") == 0 || strcmp(op, "rule-params") == 0)
		return 0;
	return tx_error(run, 400, "validation-failed",
	    "unhandled transaction action", json_pack("{s:s}", "op", op));
}

/* Client mode: filter on modes, then every kept step in order. */
static int
tx_client_run(struct run *run, const json_t *steps)
{
	json_t *keep = json_array(), *step;
	size_t i;
	int k, r = 0;

	if (keep == NULL)
		return tx_internal(run, "out of memory");
	json_array_foreach(steps, i, step) {
		if ((r = tx_client_keep(run, step, &k)) != 0)
			goto out;
		if (k && json_array_append(keep, step) != 0) {
			r = tx_internal(run, "out of memory");
			goto out;
		}
	}
	json_array_foreach(keep, i, step) {
		if ((r = tx_client_step(run, step)) != 0)
			goto out;
	}
out:
	json_decref(keep);
	return r;
}

/* ---- server mode ---- */

/* Server view of one step, in execution order. */
struct sstep {
	const char *op;
	const json_t *step;
	size_t idx;
};

/* Validation of the entity of a step: a UUID or a lookup on a known
 * unique attr (a UUID value for an id attr). */
static int
tx_server_check_entity(struct run *run, const json_t *steps, size_t idx,
    const json_t *e)
{
	const struct attr *a;
	char *text;

	if (uuid_valid(json_string_value(e)))
		return 0;
	if (!tx_is_lookup(e)) {
		text = json_is_string(e) ? strdup(json_string_value(e)) :
		    json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
		tx_invalid(run, "tx-steps", json_deep_copy(steps),
		    "Invalid entity ID '%s'. Entity IDs must be UUIDs. Use id() "
		    "or lookup() to generate a valid UUID.", text != NULL ?
		    text : "");
		free(text);
		return 1;
	}
	a = attrs_by_id(run->ta->attrs, json_string_value(json_array_get(e,
	    0)));
	if (a == NULL || !a->unique)
		return tx_invalid(run, "lookup", json_deep_copy(e),
		    "%s is not a unique attribute.", a != NULL ? a->label :
		    "the lookup attribute");
	if (strcmp(a->label, "id") == 0 &&
	    !uuid_valid(json_string_value(json_array_get(e, 1))))
		return tx_invalid(run, "lookup", json_deep_copy(e),
		    "Invalid lookup on id: the value must be a UUID.");
	return 0;
}

/* Shape check of one server step (after add-attrs are registered). */
static int
tx_server_check(struct run *run, const json_t *steps, size_t idx)
{
	const json_t *step = json_array_get(steps, idx);
	const char *op = json_string_value(json_array_get(step, 0));
	const char *aid;
	int triple;

	if (op == NULL)
		return tx_invalid(run, "tx-steps", json_deep_copy(steps),
		    "step %zu has no op", idx);
	triple = strcmp(op, "add-triple") == 0 ||
	    strcmp(op, "deep-merge-triple") == 0 ||
	    strcmp(op, "retract-triple") == 0;
	if (!triple && strcmp(op, "delete-entity") != 0)
		return 0;
	if (tx_server_check_entity(run, steps, idx, json_array_get(step, 1)))
		return 1;
	if (!triple)
		return 0;
	aid = json_string_value(json_array_get(step, 2));
	if (json_array_size(step) < 4 || aid == NULL ||
	    attrs_by_id(run->ta->attrs, aid) == NULL)
		return tx_invalid(run, "tx-steps", json_deep_copy(steps),
		    "step %zu refers to an unknown attribute", idx);
	return 0;
}

/* The server's step order: grouped by op, groups by first appearance. */
static struct sstep *
tx_server_order(const json_t *steps, size_t *n)
{
	size_t total = json_array_size(steps), i, j, k = 0;
	struct sstep *order = calloc(total + 1, sizeof *order);
	const char *op, *seen;

	if (order == NULL)
		return NULL;
	for (i = 0; i < total; i++) {
		op = json_string_value(json_array_get(json_array_get(steps, i),
		    0));
		for (j = 0; j < i; j++) {
			seen = json_string_value(json_array_get(json_array_get(
			    steps, j), 0));
			if (strcmp(seen, op) == 0)
				break;
		}
		if (j < i)
			continue;
		for (j = i; j < total; j++) {
			const json_t *s = json_array_get(steps, j);

			if (strcmp(json_string_value(json_array_get(s, 0)),
			    op) == 0)
				order[k++] = (struct sstep){ op, s, j };
		}
	}
	*n = k;
	return order;
}

/* Server add-attr: idempotent for an identical attr; another attr with the
 * same (etype, label) is a uniqueness error. */
static int
tx_server_add_attr(struct run *run, const json_t *attr)
{
	const json_t *fwd = json_object_get(attr, "forward-identity");
	const char *id = json_string_value(json_object_get(attr, "id"));
	const char *etype = json_string_value(json_array_get(fwd, 1));
	const char *label = json_string_value(json_array_get(fwd, 2));
	const struct attr *same, *other;
	char msg[512];

	if (id == NULL || etype == NULL || label == NULL)
		return tx_invalid(run, "add-attr", json_deep_copy(attr),
		    "attr needs an id and a forward-identity");
	if (etype[0] == '$')
		return tx_invalid(run, "tx-steps", json_deep_copy(attr),
		    "You can't create or modify attributes in the %s "
		    "namespace.", etype);
	same = attrs_by_id(run->ta->attrs, id);
	other = attrs_forward(run->ta->attrs, etype, label);
	if (same != NULL && other == same)
		return 0;
	if (other != NULL) {
		snprintf(msg, sizeof msg, "`%s` already exists on `%s`", label,
		    etype);
		return tx_error(run, 400, "record-not-unique", msg,
		    json_pack("{s:s, s:s, s:s}", "record-type", "ident",
		    "etype", etype, "label", label));
	}
	if (same != NULL) {
		snprintf(msg, sizeof msg, "Another attribute for %s.%s exists "
		    "with different properties.", same->etype, same->label);
		return tx_error(run, 400, "record-not-unique", msg,
		    json_pack("{s:s, s:s}", "record-type", "attr", "attr-id",
		    id));
	}
	return tx_add_attr(run, attr);
}

/* Resolve a lookup entity, creating the entity when nothing has the value
 * (the value itself for id lookups).  *e receives the id. */
static int
tx_server_upsert(struct run *run, const json_t *ref, char **e)
{
	const struct attr *a = attrs_by_id(run->ta->attrs, json_string_value(
	    json_array_get(ref, 0)));
	const json_t *v = json_array_get(ref, 1);
	char id[UUID_STRLEN + 1], *text;
	int r;

	if ((r = tx_find_av(run, a->id, v, e)) != 0 || *e != NULL)
		return r;
	if (strcmp(a->label, "id") == 0)
		r = uuid_normalize(json_string_value(v), id);
	else
		r = uuid_v4(id);
	if (r != 0 || (*e = strdup(id)) == NULL ||
	    (text = tstore_value_text(v)) == NULL)
		return tx_internal(run, "cannot create the lookup entity");
	r = tx_put(run, *e, a, text);
	free(text);
	return r;
}

/* The entity of a server step; lookups resolve, upserting if asked.  *e is
 * NULL when a lookup does not resolve and upsert is 0. */
static int
tx_server_entity(struct run *run, const json_t *ref, int upsert, char **e)
{
	char id[UUID_STRLEN + 1];

	*e = NULL;
	if (json_is_string(ref)) {
		if (uuid_normalize(json_string_value(ref), id) != 0 ||
		    (*e = strdup(id)) == NULL)
			return tx_internal(run, "out of memory");
		return 0;
	}
	if (upsert)
		return tx_server_upsert(run, ref, e);
	return tx_find_av(run, json_string_value(json_array_get(ref, 0)),
	    json_array_get(ref, 1), e);
}

/* The error for a value lookup that resolves to nothing. */
static int
tx_missing_lookup(struct run *run, const json_t *v)
{
	const char *aid = json_string_value(json_array_get(v, 0));
	const struct attr *la = attrs_by_id(run->ta->attrs, aid);

	return tx_invalid(run, "lookup", json_pack("{s:s, s:s, s:s, s:O}",
	    "attribute-id", aid, "namespace", la->etype, "label", la->label,
	    "value", json_array_get(v, 1)),
	    "The entity for the lookup does not exist.");
}

/* The value text of a server step: lookups on ref and id attrs resolve to
 * the entity id, and must resolve. */
static int
tx_server_value(struct run *run, const struct attr *a, const json_t *v,
    char **text)
{
	char *e = NULL;
	int r;

	*text = NULL;
	if (tx_is_lookup(v) && (a->is_ref || strcmp(a->label, "id") == 0) &&
	    attrs_by_id(run->ta->attrs, json_string_value(json_array_get(v,
	    0))) != NULL) {
		if ((r = tx_server_entity(run, v, 0, &e)) != 0)
			return r;
		if (e == NULL)
			return tx_missing_lookup(run, v);
		*text = tx_id_text(e);
		free(e);
	} else
		*text = tstore_value_text(v);
	return *text == NULL ? tx_internal(run, "out of memory") : 0;
}

/* Reject a write that would give two entities the same unique value. */
static int
tx_server_unique(struct run *run, const char *e, const struct attr *a,
    const char *v)
{
	json_t *list;
	char msg[768];
	size_t i;
	int clash = 0;

	if (!a->unique || a->is_ref || strcmp(a->label, "id") == 0 ||
	    strcmp(v, "null") == 0)
		return 0;
	if ((list = tx_triples_av(run, a->id, v)) == NULL)
		return tx_internal(run, NULL);
	for (i = 0; i < json_array_size(list); i++)
		if (strcmp(json_string_value(json_array_get(json_array_get(
		    list, i), 0)), e) != 0)
			clash = 1;
	json_decref(list);
	if (!clash)
		return 0;
	snprintf(msg, sizeof msg, "`%s` is a unique attribute on `%s` and an "
	    "entity already exists with `%s.%s` = %.200s", a->label, a->etype,
	    a->etype, a->label, v);
	return tx_error(run, 400, "record-not-unique", msg,
	    json_pack("{s:s, s:s, s:s, s:s, s:s}", "record-type", "triple",
	    "attr-id", a->id, "etype", a->etype, "label", a->label, "value",
	    v));
}

/* A new entity gets a null value for every indexed blob attr of its etype
 * that it has no value for (the server inserts them with the id triple). */
static int
tx_server_index_nulls(struct run *run, const char *e, const char *etype)
{
	const struct attr *a;
	int found, r;
	size_t i;

	for (i = 0; i < attrs_count(run->ta->attrs); i++) {
		a = attrs_at(run->ta->attrs, i);
		if (a->is_ref || !a->indexed || strcmp(a->etype, etype) != 0)
			continue;
		if (tstore_has_ea(run->ta->ts, e, a->id, &found) != 0)
			return tx_internal(run, NULL);
		if (!found && (r = tx_put(run, e, a, "null")) != 0)
			return r;
	}
	return 0;
}

/* Server add-triple: unique check, write, and the indexed nulls of a new
 * entity when this writes its id. */
static int
tx_server_add(struct run *run, const char *e, const struct attr *a,
    const char *v)
{
	int had = 1, r;

	if ((r = tx_server_unique(run, e, a, v)) != 0)
		return r;
	if (strcmp(a->label, "id") == 0 &&
	    tstore_has_ea(run->ta->ts, e, a->id, &had) != 0)
		return tx_internal(run, NULL);
	if ((r = tx_put(run, e, a, v)) != 0 || had)
		return r;
	return tx_server_index_nulls(run, e, a->etype);
}

/* Server add-triple, deep-merge-triple and retract-triple. */
static int
tx_server_triple(struct run *run, const char *op, const json_t *step)
{
	const struct attr *a = attrs_by_id(run->ta->attrs, json_string_value(
	    json_array_get(step, 2)));
	int retract = strcmp(op, "retract-triple") == 0;
	char *e = NULL, *v = NULL;
	int r;

	if ((r = tx_server_entity(run, json_array_get(step, 1), !retract,
	    &e)) != 0 || e == NULL)
		return r;
	if (strcmp(op, "deep-merge-triple") == 0) {
		if (a->is_ref)
			r = tx_invalid(run, "tx-step", json_deep_copy(step),
			    "merge is not supported for links");
		else
			r = tx_merge(run, e, a, json_array_get(step, 3));
		goto out;
	}
	if ((r = tx_server_value(run, a, json_array_get(step, 3), &v)) != 0)
		goto out;
	if (retract)
		r = tx_retract(run, e, a, v);
	else
		r = tx_server_add(run, e, a, v);
out:
	free(e);
	free(v);
	return r;
}

/* Add (id, etype) to the delete set (object "etype\nid" -> [id, etype]). */
static int
tx_delete_set_add(json_t *set, const char *id, const char *etype, int *added)
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
tx_server_cascade(struct run *run, const char *id, const char *etype,
    json_t *todo)
{
	const struct attr *a;
	json_t *list, *t;
	char *text = tx_id_text(id);
	size_t i, j;
	int fwd;

	if (text == NULL || etype == NULL) {
		free(text);
		return text == NULL ? tx_internal(run, "out of memory") : 0;
	}
	for (i = 0; i < attrs_count(run->ta->attrs); i++) {
		a = attrs_at(run->ta->attrs, i);
		fwd = a->on_delete_cascade && tx_streq(a->rev_etype, etype);
		if (!a->is_ref || (!fwd && !(a->on_delete_reverse_cascade &&
		    strcmp(a->etype, etype) == 0)))
			continue;
		list = fwd ? tx_triples_av(run, a->id, text) :
		    tx_triples_ea(run, id, a->id);
		json_array_foreach(list, j, t) {
			json_t *ref = fwd ? json_incref(json_array_get(t, 0)) :
			    json_loads(json_string_value(json_array_get(t, 2)),
			    JSON_DECODE_ANY, NULL);
			if (json_is_string(ref))
				json_array_append_new(todo, json_pack("[Os]",
				    ref, fwd ? a->etype : a->rev_etype));
			json_decref(ref);
		}
		json_decref(list);
	}
	free(text);
	return 0;
}

/* The etypes of e's attrs, as a new array (or [null] if none). */
static json_t *
tx_server_etypes_of(struct run *run, const char *e)
{
	json_t *list = tx_triples_e(run, e), *out = json_array(), *t;
	const struct attr *a;
	size_t i, j;

	json_array_foreach(list, i, t) {
		a = attrs_by_id(run->ta->attrs, json_string_value(
		    json_array_get(t, 1)));
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
tx_server_delete_roots(struct run *run, const json_t *step, json_t *todo)
{
	const json_t *etype = json_array_get(step, 2), *et;
	json_t *etypes;
	char *id = NULL;
	size_t i;
	int r;

	if ((r = tx_server_entity(run, json_array_get(step, 1), 0, &id)) != 0 ||
	    id == NULL)
		return r;
	if (json_is_string(etype))
		etypes = json_pack("[O]", etype);
	else
		etypes = tx_server_etypes_of(run, id);
	json_array_foreach(etypes, i, et)
		json_array_append_new(todo, json_pack("[sO]", id, et));
	json_decref(etypes);
	free(id);
	return 0;
}

/* Every (id, etype) the delete-entity steps remove, cascades included,
 * computed before any write. */
static int
tx_server_delete_set(struct run *run, const struct sstep *order, size_t n,
    json_t *set)
{
	json_t *todo = json_array(), *item;
	const char *id, *et;
	size_t i;
	int added, r = 0;

	if (todo == NULL)
		return tx_internal(run, "out of memory");
	for (i = 0; i < n && r == 0; i++)
		if (strcmp(order[i].op, "delete-entity") == 0)
			r = tx_server_delete_roots(run, order[i].step, todo);
	for (i = 0; r == 0 && i < json_array_size(todo); i++) {
		item = json_array_get(todo, i);
		id = json_string_value(json_array_get(item, 0));
		et = json_string_value(json_array_get(item, 1));
		if (tx_delete_set_add(set, id, et, &added) != 0)
			r = tx_internal(run, "out of memory");
		else if (added)
			r = tx_server_cascade(run, id, et, todo);
	}
	json_decref(todo);
	return r;
}

/* Server delete of one (id, etype): its triples on attrs of etype and the
 * links to it from attrs whose reverse etype is etype. */
static int
tx_server_delete_one(struct run *run, const char *id, const char *etype)
{
	json_t *list, *refs = NULL, *t;
	const struct attr *a;
	size_t i;
	int r = 0;

	/* An untyped delete of an entity without triples matches nothing. */
	if (etype == NULL)
		return 0;
	list = tx_triples_e(run, id);
	if (list == NULL || (refs = tx_refs_to(run, id)) == NULL)
		r = tx_internal(run, NULL);
	json_array_foreach(list, i, t) {
		a = attrs_by_id(run->ta->attrs, json_string_value(
		    json_array_get(t, 1)));
		if (r == 0 && a != NULL && strcmp(a->etype, etype) == 0)
			r = tx_retract_ea(run, id, a);
	}
	json_array_foreach(refs, i, t) {
		a = attrs_by_id(run->ta->attrs, json_string_value(
		    json_array_get(t, 1)));
		if (r == 0 && tx_streq(a->rev_etype, etype))
			r = tx_retract(run, json_string_value(json_array_get(t,
			    0)), a, json_string_value(json_array_get(t, 2)));
	}
	json_decref(list);
	json_decref(refs);
	return r;
}

/* Whether the entity of a mode-checked step exists before the tx. */
static int
tx_server_mode_exists(struct run *run, const json_t *step, int *found)
{
	const struct attr *a = attrs_by_id(run->ta->attrs, json_string_value(
	    json_array_get(step, 2)));
	const json_t *ref = json_array_get(step, 1);
	char *e = NULL;
	int r;

	*found = 0;
	if (json_is_string(ref))
		return tx_exists_for(run, json_string_value(ref), a->etype,
		    found);
	if ((r = tx_server_entity(run, ref, 0, &e)) != 0)
		return r;
	*found = e != NULL;
	free(e);
	return 0;
}

/* Append the entity of step to a mode error's list and message. */
static int
tx_mode_note(json_t *bad, const json_t *step, char *msg, size_t len)
{
	const json_t *ref = json_array_get(step, 1);
	char *text = json_is_string(ref) ? strdup(json_string_value(ref)) :
	    json_dumps(ref, JSON_COMPACT);
	size_t used = strlen(msg);

	if (text == NULL)
		return -1;
	snprintf(msg + used, len - used, "%s%s", json_array_size(bad) ? ", " :
	    "", text);
	free(text);
	return json_array_append(bad, (json_t *)step);
}

/* Check create (must not exist) or update (must exist) modes; the server
 * reports creates first. */
static int
tx_server_modes(struct run *run, const struct sstep *order, size_t n,
    const char *mode)
{
	json_t *bad = json_array();
	const char *m, *op;
	char msg[1024];
	size_t i;
	int found, r = 0, create = strcmp(mode, "create") == 0;

	snprintf(msg, sizeof msg, "%s", create ?
	    "Creating entities that exist: " :
	    "Updating entities that don't exist: ");
	for (i = 0; i < n && r == 0; i++) {
		op = order[i].op;
		m = json_string_value(json_object_get(json_array_get(
		    order[i].step, 4), "mode"));
		if ((strcmp(op, "add-triple") != 0 &&
		    strcmp(op, "deep-merge-triple") != 0) || m == NULL ||
		    strcmp(m, mode) != 0)
			continue;
		if ((r = tx_server_mode_exists(run, order[i].step, &found)))
			break;
		if (found == create && tx_mode_note(bad, order[i].step, msg,
		    sizeof msg) != 0)
			r = tx_internal(run, "out of memory");
	}
	if (r == 0 && json_array_size(bad) > 0)
		r = tx_invalid(run, "tx-step", json_incref(bad), "%s", msg);
	json_decref(bad);
	return r;
}

/* Run one server step of the ordered list. */
static int
tx_server_step(struct run *run, const struct sstep *s, json_t *deletes,
    int *deleted)
{
	const char *op = s->op;
	json_t *item;
	const char *k;
	int r = 0;

	if (strcmp(op, "add-triple") == 0 || strcmp(op, "retract-triple") ==
	    0 || strcmp(op, "deep-merge-triple") == 0)
		return tx_server_triple(run, op, s->step);
	if (strcmp(op, "delete-entity") == 0) {
		if (*deleted)
			return 0;
		*deleted = 1;
		json_object_foreach(deletes, k, item) {
			if ((r = tx_server_delete_one(run, json_string_value(
			    json_array_get(item, 0)), json_string_value(
			    json_array_get(item, 1)))) != 0)
				return r;
		}
		return 0;
	}
	if (strcmp(op, "delete-attr") == 0)
		return tx_delete_attr(run, json_string_value(json_array_get(
		    s->step, 1)));
	if (strcmp(op, "update-attr") == 0)
		return tx_update_attr(run, json_array_get(s->step, 1));
	if (strcmp(op, "add-attr") == 0 || strcmp(op, "rule-params") == 0 ||
	    strcmp(op, "restore-attr") == 0)
		return 0;
	return tx_invalid(run, "tx-steps", json_deep_copy(s->step),
	    "unknown op %s", op);
}

/* Register the add-attr steps, before anything refers to them. */
static int
tx_server_attrs(struct run *run, const json_t *steps)
{
	const char *op;
	json_t *step;
	size_t i;
	int r;

	json_array_foreach(steps, i, step) {
		op = json_string_value(json_array_get(step, 0));
		if (op != NULL && strcmp(op, "add-attr") == 0 &&
		    (r = tx_server_add_attr(run, json_array_get(step, 1))) != 0)
			return r;
	}
	return 0;
}

/* Server mode: validate, register attrs, plan deletes and check modes on
 * the state before the tx, then run the grouped steps. */
static int
tx_server_run(struct run *run, const json_t *steps)
{
	struct sstep *order = NULL;
	json_t *deletes = json_object();
	size_t n = 0, i;
	int deleted = 0, r;

	if ((r = tx_server_attrs(run, steps)) != 0)
		goto out;
	for (i = 0; i < json_array_size(steps); i++)
		if ((r = tx_server_check(run, steps, i)) != 0)
			goto out;
	if (deletes == NULL || (order = tx_server_order(steps, &n)) == NULL) {
		r = tx_internal(run, "out of memory");
		goto out;
	}
	if ((r = tx_server_delete_set(run, order, n, deletes)) != 0 ||
	    (r = tx_server_modes(run, order, n, "create")) != 0 ||
	    (r = tx_server_modes(run, order, n, "update")) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = tx_server_step(run, &order[i], deletes, &deleted)))
			goto out;
out:
	free(order);
	json_decref(deletes);
	return r;
}

/* ---- driver ---- */

/* Create an applier. */
struct txapply *
txapply_create(sqlite3 *db, struct tstore *ts, struct attrs *attrs,
    enum txapply_mode mode)
{
	struct txapply *ta = calloc(1, sizeof *ta);
	int i;

	if (ta == NULL)
		return NULL;
	ta->db = db;
	ta->ts = ts;
	ta->attrs = attrs;
	ta->mode = mode;
	for (i = 0; i < TX_SQL_MAX; i++)
		if (sqlite3_prepare_v3(db, tx_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &ta->stmt[i], NULL) != SQLITE_OK) {
			txapply_free(ta);
			return NULL;
		}
	return ta;
}

/* Free an applier. */
void
txapply_free(struct txapply *ta)
{
	int i;

	if (ta == NULL)
		return;
	for (i = 0; i < TX_SQL_MAX; i++)
		sqlite3_finalize(ta->stmt[i]);
	free(ta);
}

/* Release a result's members. */
void
txapply_result_clear(struct txapply_result *res)
{
	json_decref(res->etypes);
	json_decref(res->attr_ids);
	json_decref(res->new_attrs);
	json_decref(res->error);
	memset(res, 0, sizeof *res);
}

/* The keys of a set object as a new array. */
static json_t *
tx_set_keys(const json_t *set)
{
	json_t *out = json_array(), *v;
	const char *k;

	json_object_foreach((json_t *)set, k, v)
		json_array_append_new(out, json_string(k));
	return out;
}

/* Run one of the savepoint statements. */
static int
tx_exec(struct txapply *ta, enum tx_sql i)
{
	int rc = sqlite3_step(ta->stmt[i]);

	sqlite3_reset(ta->stmt[i]);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Apply tx-steps inside a savepoint. */
int
txapply_run(struct txapply *ta, const json_t *tx_steps, int64_t now_ms,
    struct txapply_result *res)
{
	struct run run = { .ta = ta, .now = now_ms };
	int r;

	memset(res, 0, sizeof *res);
	run.etypes = json_object();
	run.attr_ids = json_object();
	run.new_attrs = json_array();
	run.undo = json_array();
	if (run.etypes == NULL || run.attr_ids == NULL ||
	    run.new_attrs == NULL || run.undo == NULL)
		r = tx_internal(&run, "out of memory");
	else if (!json_is_array(tx_steps))
		r = tx_invalid(&run, "tx-steps", NULL, "tx-steps must be an "
		    "array");
	else if (tx_exec(ta, TX_SAVEPOINT) != 0)
		r = tx_error(&run, 500, "internal", sqlite3_errmsg(ta->db),
		    NULL);
	else {
		r = ta->mode == TXAPPLY_SERVER ? tx_server_run(&run, tx_steps) :
		    tx_client_run(&run, tx_steps);
		if (r != 0 && (tx_exec(ta, TX_ROLLBACK_TO) != 0 ||
		    tx_exec(ta, TX_RELEASE) != 0))
			r = tx_internal(&run, sqlite3_errmsg(ta->db));
		if (r == 0 && tx_exec(ta, TX_RELEASE) != 0)
			r = tx_internal(&run, sqlite3_errmsg(ta->db));
	}
	if (r != 0) {
		tx_attrs_undo(&run);
		json_object_clear(run.etypes);
		json_object_clear(run.attr_ids);
		json_array_clear(run.new_attrs);
	}
	res->etypes = tx_set_keys(run.etypes);
	res->attr_ids = tx_set_keys(run.attr_ids);
	res->new_attrs = run.new_attrs;
	res->error = run.error;
	json_decref(run.etypes);
	json_decref(run.attr_ids);
	json_decref(run.undo);
	return r;
}
