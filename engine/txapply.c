/*
 * txapply.c: tx-steps applied with client-optimistic or server semantics:
 * the driver (savepoint, result, attr undo) and the primitives both modes
 * share (errors, reads, writes, deep merge, attr steps).  The semantics
 * themselves are in txclient.c and txserver.c.
 *
 * A run works inside a SAVEPOINT; attrs changed by a run are recorded with
 * their previous value so that a failed run restores the registry too.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/tstore.h"
#include "engine/txapply_int.h"

static const char *const txapply_sql[TXAPPLY_SQL_MAX] = {
    [TXAPPLY_SAVEPOINT] = "SAVEPOINT txapply",
    [TXAPPLY_RELEASE] = "RELEASE txapply",
    [TXAPPLY_ROLLBACK_TO] = "ROLLBACK TO txapply",
};

/* Set the run's error (first one wins) and return the matching code. */
int
txapply_error(struct txrun *run, int status, const char *type,
	      const char *message, json_t *hint)
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
int
txapply_internal(struct txrun *run, const char *what)
{
	const char *msg = what;

	if (msg == NULL)
		msg = tstore_errmsg(run->ta->ts);
	return txapply_error(run, 500, "internal",
			     msg != NULL ? msg : "internal error", NULL);
}

/* A validation-failed error as the server builds it. */
int
txapply_invalid(struct txrun *run, const char *what, json_t *input,
		const char *fmt, ...)
{
	char detail[512], message[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	snprintf(message, sizeof message, "Validation failed for %s: %s", what,
		 detail);
	return txapply_error(run, 400, "validation-failed", message,
			     json_pack("{s:s, s:o, s:[{s:s}]}", "data-type",
				       what, "input",
				       input != NULL ? input : json_null(),
				       "errors", "message", detail));
}

/* Note that triples of attr a changed. */
int
txapply_touch(struct txrun *run, const struct attr *a)
{
	if (json_object_set_new(run->attr_ids, a->id, json_true()) != 0 ||
	    json_object_set_new(run->etypes, a->etype, json_true()) != 0)
		return txapply_internal(run, "out of memory");
	if (a->rev_etype != NULL &&
	    json_object_set_new(run->etypes, a->rev_etype, json_true()) != 0)
		return txapply_internal(run, "out of memory");
	return 0;
}

/* Put an attr into the registry, remembering its previous value. */
int
txapply_attr_put(struct txrun *run, const json_t *attr)
{
	const char *id = json_string_value(json_object_get(attr, "id"));
	const struct attr *old =
	    id != NULL ? attrs_by_id(run->ta->attrs, id) : NULL;
	const char *why = NULL;
	json_t *undo;

	undo = json_pack("[sO]", id != NULL ? id : "",
			 old != NULL ? old->json : json_null());
	if (json_array_append_new(run->undo, undo) != 0)
		return txapply_internal(run, "out of memory");
	if (attrs_put(run->ta->attrs, attr, &why) != 0)
		return txapply_invalid(run, "add-attr", json_deep_copy(attr),
				       "%s",
				       why != NULL ? why : "malformed attr");
	return 0;
}

/* Undo the attr changes of a failed run, newest first. */
static void
txapply_attrs_undo(struct txrun *run)
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

/* Scan callback: append [e, a, v, t] to a JSON array. */
static int
txapply_collect_cb(void *arg, const struct triple *t)
{
	json_t *list = arg;

	return json_array_append_new(list, json_pack("[sssI]", t->e, t->a, t->v,
						     (json_int_t)t->t)) != 0
		   ? -1
		   : 0;
}

/* Scan callback: stop at the first triple, keeping its entity. */
static int
txapply_first_e_cb(void *arg, const struct triple *t)
{
	char **e = arg;

	*e = strdup(t->e);
	return 1;
}

/* A new array of the triples of (e, a), or NULL. */
json_t *
txapply_triples_ea(struct txrun *run, const char *e, const char *a)
{
	json_t *list = json_array();

	if (list != NULL &&
	    tstore_scan_ea(run->ta->ts, e, a, txapply_collect_cb, list) != 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* A new array of the triples of e, or NULL. */
json_t *
txapply_triples_e(struct txrun *run, const char *e)
{
	json_t *list = json_array();

	if (list != NULL &&
	    tstore_scan_e(run->ta->ts, e, txapply_collect_cb, list) != 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* A new array of the triples with attr a and value text v, or NULL. */
json_t *
txapply_triples_av(struct txrun *run, const char *a, const char *v)
{
	json_t *list = json_array();

	if (list != NULL &&
	    tstore_scan_av(run->ta->ts, a, v, txapply_collect_cb, list) != 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* The entity holding value v on attr a into *e (NULL if none). */
int
txapply_find_av(struct txrun *run, const char *a, const json_t *v, char **e)
{
	char *text = tstore_value_text(v);
	int r;

	*e = NULL;
	if (text == NULL)
		return txapply_internal(run, "out of memory");
	r = tstore_scan_av(run->ta->ts, a, text, txapply_first_e_cb, e);
	free(text);
	if (r < 0)
		return txapply_internal(run, NULL);
	return 0;
}

/* The JSON text of an entity id, as a ref value. */
char *
txapply_id_text(const char *id)
{
	json_t *s = json_string(id);
	char *text = s != NULL ? tstore_value_text(s) : NULL;

	json_decref(s);
	return text;
}

/* Whether two possibly NULL names are equal. */
int
txapply_streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The t of a new client triple. */
static int64_t
txapply_client_t(struct txrun *run)
{
	return run->now * 10 + run->ta->seq++;
}

/* Write (e, a, v): cardinality one replaces the entity's value; t is kept
 * when the triple (client) or the entity's value (server) existed. */
int
txapply_put(struct txrun *run, const char *e, const struct attr *a,
	    const char *v)
{
	json_t *old = txapply_triples_ea(run, e, a->id), *t;
	int server = run->ta->mode == TXAPPLY_SERVER;
	int64_t ts = -1;
	size_t i;
	int r = -1;

	if (old == NULL)
		return txapply_internal(run, NULL);
	json_array_foreach(old, i, t) {
		if (strcmp(json_string_value(json_array_get(t, 2)), v) == 0 ||
		    (server && a->card_one))
			ts = json_integer_value(json_array_get(t, 3));
	}
	if (ts < 0)
		ts = server ? run->now : txapply_client_t(run);
	/* Card-one: the new value replaces the old ones, if there are any
	 * (old holds every value of (e, a)). */
	if (a->card_one && json_array_size(old) > 0 &&
	    tstore_retract_ea(run->ta->ts, e, a->id) != 0)
		goto fail;
	if (tstore_add(run->ta->ts, e, a->id, v, ts) != 0)
		goto fail;
	r = txapply_touch(run, a);
	goto out;
fail:
	r = txapply_internal(run, NULL);
out:
	json_decref(old);
	return r;
}

/* Remove (e, a, v). */
int
txapply_retract(struct txrun *run, const char *e, const struct attr *a,
		const char *v)
{
	if (tstore_retract(run->ta->ts, e, a->id, v) != 0)
		return txapply_internal(run, NULL);
	return txapply_touch(run, a);
}

/* Remove every value of (e, a). */
int
txapply_retract_ea(struct txrun *run, const char *e, const struct attr *a)
{
	if (tstore_retract_ea(run->ta->ts, e, a->id) != 0)
		return txapply_internal(run, NULL);
	return txapply_touch(run, a);
}

/* Deep merge of patch into target (new reference): objects merge
 * recursively and a null deletes a key; anything else replaces. */
static json_t *
txapply_deep_merge(const json_t *target, const json_t *patch)
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
		sub = txapply_deep_merge(json_object_get(target, k), v);
		if (sub == NULL || json_object_set_new(out, k, sub) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* Merge patch into the value of (e, a); a missing value is left alone in
 * client mode and set to the patch in server mode. */
int
txapply_merge(struct txrun *run, const char *e, const struct attr *a,
	      const json_t *patch)
{
	json_t *old = txapply_triples_ea(run, e, a->id), *cur = NULL, *merged;
	char *text = NULL;
	int r;

	if (old == NULL)
		return txapply_internal(run, NULL);
	if (json_array_size(old) > 0)
		cur = json_loads(json_string_value(
				     json_array_get(json_array_get(old, 0), 2)),
				 JSON_DECODE_ANY, NULL);
	json_decref(old);
	if (cur == NULL && run->ta->mode == TXAPPLY_CLIENT)
		return 0;
	merged = txapply_deep_merge(cur, patch);
	json_decref(cur);
	if (merged == NULL || (text = tstore_value_text(merged)) == NULL)
		r = txapply_internal(run, "out of memory");
	else
		r = txapply_put(run, e, a, text);
	json_decref(merged);
	free(text);
	return r;
}

/* The ref triples pointing at id, as a new array. */
json_t *
txapply_refs_to(struct txrun *run, const char *id)
{
	json_t *list = json_array(), *some;
	const struct attr *a;
	char *text = txapply_id_text(id);
	size_t i;

	if (list == NULL || text == NULL)
		goto fail;
	for (i = 0; i < attrs_count(run->ta->attrs); i++) {
		a = attrs_at(run->ta->attrs, i);
		if (!a->is_ref)
			continue;
		if ((some = txapply_triples_av(run, a->id, text)) == NULL ||
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

/* Remove an attr and its triples (delete-attr). */
int
txapply_delete_attr(struct txrun *run, const char *id)
{
	const struct attr *a = attrs_by_id(run->ta->attrs, id);
	json_t *list;
	size_t i;
	json_t *t;
	int r = 0;

	if (a == NULL)
		return 0;
	if ((r = txapply_touch(run, a)) != 0)
		return r;
	list = json_array();
	if (list == NULL ||
	    tstore_scan_a(run->ta->ts, id, txapply_collect_cb, list) != 0) {
		json_decref(list);
		return txapply_internal(run, NULL);
	}
	json_array_foreach(list, i, t) {
		if (tstore_retract(
			run->ta->ts, json_string_value(json_array_get(t, 0)),
			id, json_string_value(json_array_get(t, 2))) != 0) {
			r = txapply_internal(run, NULL);
			break;
		}
	}
	json_decref(list);
	if (r == 0 && json_array_append_new(
			  run->undo, json_pack("[sO]", id, a->json)) != 0)
		r = txapply_internal(run, "out of memory");
	if (r == 0)
		attrs_remove(run->ta->attrs, id);
	return r;
}

/* Merge a partial attr into the registered one (update-attr). */
int
txapply_update_attr(struct txrun *run, const json_t *partial)
{
	const struct attr *a = attrs_by_id(
	    run->ta->attrs, json_string_value(json_object_get(partial, "id")));
	json_t *next;
	int r;

	if (a == NULL)
		return 0;
	if ((next = json_deep_copy(a->json)) == NULL ||
	    json_object_update(next, (json_t *)partial) != 0) {
		json_decref(next);
		return txapply_internal(run, "out of memory");
	}
	r = txapply_attr_put(run, next);
	json_decref(next);
	return r;
}

/* Register an attr from an add-attr step. */
int
txapply_add_attr(struct txrun *run, const json_t *attr)
{
	const char *id = json_string_value(json_object_get(attr, "id"));
	int known = id != NULL && attrs_by_id(run->ta->attrs, id) != NULL;
	const struct attr *a;
	int r;

	if ((r = txapply_attr_put(run, attr)) != 0)
		return r;
	if (!known && json_array_append(run->new_attrs, (json_t *)attr) != 0)
		return txapply_internal(run, "out of memory");
	a = attrs_by_id(run->ta->attrs, id);
	return a != NULL ? txapply_touch(run, a) : 0;
}

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
	for (i = 0; i < TXAPPLY_SQL_MAX; i++)
		if (sqlite3_prepare_v3(db, txapply_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &ta->stmt[i],
				       NULL) != SQLITE_OK) {
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
	for (i = 0; i < TXAPPLY_SQL_MAX; i++)
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
txapply_set_keys(const json_t *set)
{
	json_t *out = json_array(), *v;
	const char *k;

	json_object_foreach((json_t *)set, k, v)
		json_array_append_new(out, json_string(k));
	return out;
}

/* Run one of the savepoint statements. */
static int
txapply_exec(struct txapply *ta, enum txapply_sql i)
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
	struct txrun run = {.ta = ta, .now = now_ms};
	int r;

	memset(res, 0, sizeof *res);
	run.etypes = json_object();
	run.attr_ids = json_object();
	run.new_attrs = json_array();
	run.undo = json_array();
	run.upserted = json_object();
	if (run.etypes == NULL || run.attr_ids == NULL ||
	    run.new_attrs == NULL || run.undo == NULL || run.upserted == NULL)
		r = txapply_internal(&run, "out of memory");
	else if (!json_is_array(tx_steps))
		r = txapply_invalid(&run, "tx-steps", NULL,
				    "tx-steps must be an "
				    "array");
	else if (txapply_exec(ta, TXAPPLY_SAVEPOINT) != 0)
		r = txapply_error(&run, 500, "internal", sqlite3_errmsg(ta->db),
				  NULL);
	else {
		r = ta->mode == TXAPPLY_SERVER ? txserver_run(&run, tx_steps)
					       : txclient_run(&run, tx_steps);
		if (r != 0 && (txapply_exec(ta, TXAPPLY_ROLLBACK_TO) != 0 ||
			       txapply_exec(ta, TXAPPLY_RELEASE) != 0))
			r = txapply_internal(&run, sqlite3_errmsg(ta->db));
		if (r == 0 && txapply_exec(ta, TXAPPLY_RELEASE) != 0)
			r = txapply_internal(&run, sqlite3_errmsg(ta->db));
	}
	if (r != 0) {
		txapply_attrs_undo(&run);
		json_object_clear(run.etypes);
		json_object_clear(run.attr_ids);
		json_array_clear(run.new_attrs);
	}
	res->etypes = txapply_set_keys(run.etypes);
	res->attr_ids = txapply_set_keys(run.attr_ids);
	res->new_attrs = run.new_attrs;
	res->error = run.error;
	json_decref(run.etypes);
	json_decref(run.attr_ids);
	json_decref(run.undo);
	json_decref(run.upserted);
	return r;
}
