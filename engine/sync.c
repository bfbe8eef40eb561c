/*
 * sync.c: base (the union of server results) and the view built on it.
 *
 * A result's triples are cached in the store's queries table as a flat
 * JSON array; putting a new result compares it with the cached one by
 * triple key (e, a, canonical v) and adjusts the counts in base.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/store.h"
#include "engine/sync.h"
#include "engine/tstore.h"
#include "engine/txapply.h"

enum sync_sql {
	SYNC_INC,
	SYNC_DEC,
	SYNC_GC,
	SYNC_VIEW_CLEAR_E,
	SYNC_VIEW_LOAD_E,
	SYNC_VIEW_CLEAR,
	SYNC_VIEW_LOAD,
	SYNC_MAX
};

static const char *const sync_sql_text[SYNC_MAX] = {
	[SYNC_INC] = "INSERT INTO base (e, a, v, t, n) VALUES (?1, ?2, ?3, ?4, 1) "
		     "ON CONFLICT (e, a, v) DO UPDATE SET n = n + 1",
	[SYNC_DEC] = "UPDATE base SET n = n - 1 WHERE e = ?1 AND a = ?2 AND v = ?3",
	[SYNC_GC] = "DELETE FROM base WHERE e = ?1 AND a = ?2 AND v = ?3 AND n <= 0",
	[SYNC_VIEW_CLEAR_E] = "DELETE FROM triples WHERE e = ?1",
	[SYNC_VIEW_LOAD_E] = "INSERT OR IGNORE INTO triples (e, a, v, t) "
			     "SELECT e, a, v, t FROM base WHERE e = ?1",
	[SYNC_VIEW_CLEAR] = "DELETE FROM triples",
	[SYNC_VIEW_LOAD] = "INSERT OR IGNORE INTO triples (e, a, v, t) "
			   "SELECT e, a, v, t FROM base",
};

struct sync {
	struct store *store;
	struct txapply *applier;
	sqlite3 *db;
	sqlite3_stmt *stmt[SYNC_MAX];
};

/* Create base and prepare every statement. */
struct sync *
sync_create(struct store *st, struct txapply *applier, char **errmsg)
{
	struct sync *s = calloc(1, sizeof *s);
	int i;

	if (s == NULL)
		return NULL;
	s->store = st;
	s->applier = applier;
	s->db = store_db(st);
	if (sqlite3_exec(s->db, "CREATE TABLE IF NOT EXISTS base (e TEXT NOT "
	    "NULL, a TEXT NOT NULL, v TEXT NOT NULL, t INTEGER NOT NULL, n "
	    "INTEGER NOT NULL, PRIMARY KEY (e, a, v)) WITHOUT ROWID", NULL, NULL,
	    NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < SYNC_MAX; i++)
		if (sqlite3_prepare_v3(s->db, sync_sql_text[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) != SQLITE_OK)
			goto fail;
	return s;
fail:
	if (errmsg != NULL)
		*errmsg = strdup(sqlite3_errmsg(s->db));
	sync_free(s);
	return NULL;
}

/* Finalize the statements. */
void
sync_free(struct sync *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < SYNC_MAX; i++)
		sqlite3_finalize(s->stmt[i]);
	free(s);
}

/* Run one prepared statement with up to four parameters. */
static int
sync_exec(struct sync *s, enum sync_sql which, const char *p1,
    const char *p2, const char *p3, int64_t p4)
{
	sqlite3_stmt *st = s->stmt[which];
	int rc;

	if (p1 != NULL)
		sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
	if (p2 != NULL)
		sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
	if (p3 != NULL)
		sqlite3_bind_text(st, 3, p3, -1, SQLITE_STATIC);
	if (which == SYNC_INC)
		sqlite3_bind_int64(st, 4, p4);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Append the triples of one result node (and its children) to out. */
static int
sync_node_triples(const json_t *node, json_t *out, int depth)
{
	const json_t *rows, *row, *t, *children, *child;
	size_t i, j;

	if (!json_is_object(node) || depth > 32)
		return -1;
	rows = json_object_get(json_object_get(json_object_get(node, "data"),
	    "datalog-result"), "join-rows");
	/* A node without rows is malformed, not an empty result: taken as
	 * empty it would wipe the query's cached triples. */
	if (!json_is_array(rows))
		return -1;
	json_array_foreach(rows, i, row) {
		json_array_foreach(row, j, t) {
			if (!json_is_array(t) || json_array_size(t) < 4 ||
			    !json_is_string(json_array_get(t, 0)) ||
			    !json_is_string(json_array_get(t, 1)))
				return -1;
			json_array_append(out, (json_t *)t);
		}
	}
	children = json_object_get(node, "child-nodes");
	json_array_foreach(children, i, child)
		if (sync_node_triples(child, out, depth + 1) != 0)
			return -1;
	return 0;
}

/* Flatten a result's join rows. */
json_t *
sync_result_triples(const json_t *result)
{
	json_t *out = json_array();
	const json_t *node;
	size_t i;

	if (!json_is_array(result))
		goto fail;
	json_array_foreach(result, i, node)
		if (sync_node_triples(node, out, 0) != 0)
			goto fail;
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* Index triples by "e\x1fa\x1fv" (v canonical): key -> triple. */
static json_t *
sync_index(const json_t *triples)
{
	json_t *idx = json_object(), *t;
	size_t i;

	json_array_foreach(triples, i, t) {
		char *v = tstore_value_text(json_array_get(t, 2)), *key;
		size_t n;

		if (v == NULL)
			continue;
		n = strlen(json_string_value(json_array_get(t, 0))) +
		    strlen(json_string_value(json_array_get(t, 1))) +
		    strlen(v) + 3;
		if ((key = malloc(n)) != NULL) {
			snprintf(key, n, "%s\x1f%s\x1f%s",
			    json_string_value(json_array_get(t, 0)),
			    json_string_value(json_array_get(t, 1)), v);
			json_object_set(idx, key, t);
			free(key);
		}
		free(v);
	}
	return idx;
}

/* The cached triples of q (new reference; [] if none). */
static int
sync_cached_cb(void *arg, const struct store_query *sq)
{
	json_t **out = arg;

	*out = json_loads(sq->result, 0, NULL);
	return 0;
}

/* Add attr a's etype (and its reverse etype) to etypes. */
static void
sync_attr_etypes(const struct attr *a, json_t *etypes)
{
	if (a == NULL || etypes == NULL)
		return;
	json_object_set_new(etypes, a->etype, json_true());
	if (a->rev_etype != NULL)
		json_object_set_new(etypes, a->rev_etype, json_true());
}

/* Record t's entity and its attr's etypes. */
static void
sync_note(struct sync *s, const json_t *t, json_t *dirty, json_t *etypes)
{
	json_object_set_new(dirty, json_string_value(json_array_get(t, 0)),
	    json_true());
	sync_attr_etypes(attrs_by_id(store_attrs(s->store),
	    json_string_value(json_array_get(t, 1))), etypes);
}

/* Count t into base (+1) or out of it (-1). */
static int
sync_count(struct sync *s, const json_t *t, int delta)
{
	const char *e = json_string_value(json_array_get(t, 0));
	const char *a = json_string_value(json_array_get(t, 1));
	char *v = tstore_value_text(json_array_get(t, 2));
	int r;

	if (v == NULL)
		return -1;
	if (delta > 0)
		r = sync_exec(s, SYNC_INC, e, a, v,
		    json_integer_value(json_array_get(t, 3)));
	else
		r = sync_exec(s, SYNC_DEC, e, a, v, 0) != 0 ||
		    sync_exec(s, SYNC_GC, e, a, v, 0) != 0 ? -1 : 0;
	free(v);
	return r;
}

/* Count the triples of from that are not in other with delta. */
static int
sync_diff(struct sync *s, json_t *from, json_t *other, int delta,
    json_t *dirty, json_t *etypes)
{
	const char *key;
	json_t *t;

	json_object_foreach(from, key, t) {
		if (json_object_get(other, key) != NULL)
			continue;
		if (sync_count(s, t, delta) != 0)
			return -1;
		sync_note(s, t, dirty, etypes);
	}
	return 0;
}

/* Replace q's cached result. */
int
sync_put_result(struct sync *s, const json_t *q, const json_t *triples,
    const json_t *page_info, int64_t processed_tx_id, int64_t now_ms,
    json_t *dirty, json_t *etypes)
{
	json_t *old = NULL, *oldidx, *newidx;
	int found = 0, r = -1;

	if (store_query_get(s->store, q, sync_cached_cb, &old, &found) != 0)
		return -1;
	oldidx = sync_index(old);
	newidx = sync_index(triples);
	if (sync_diff(s, oldidx, newidx, -1, dirty, etypes) != 0 ||
	    sync_diff(s, newidx, oldidx, +1, dirty, etypes) != 0)
		goto out;
	if (store_query_put(s->store, q, triples, page_info, processed_tx_id,
	    now_ms) != 0)
		goto out;
	r = 0;
out:
	json_decref(old);
	json_decref(oldidx);
	json_decref(newidx);
	return r;
}

/* Forget q's result. */
int
sync_drop_result(struct sync *s, const json_t *q, json_t *dirty,
    json_t *etypes)
{
	json_t *none = json_array();
	int r = sync_put_result(s, q, none, NULL, -1, 0, dirty, etypes);

	json_decref(none);
	return r == 0 ? store_query_delete(s->store, q) : -1;
}

/* Entities a transaction touches. */
void
sync_tx_entities(const json_t *tx_steps, json_t *dirty)
{
	const json_t *step;
	const char *op;
	size_t i;

	json_array_foreach(tx_steps, i, step) {
		op = json_string_value(json_array_get(step, 0));
		if (op == NULL)
			continue;
		if (strcmp(op, "add-attr") == 0 ||
		    strcmp(op, "rule-params") == 0)
			continue;
		if (strcmp(op, "delete-entity") == 0 ||
		    !json_is_string(json_array_get(step, 1))) {
			json_object_set_new(dirty, "*", json_true());
			return;
		}
		json_object_set_new(dirty, json_string_value(json_array_get(
		    step, 1)), json_true());
	}
}

/* Etypes of the attrs the triple steps of tx_steps write. */
void
sync_tx_etypes(const struct attrs *reg, const json_t *tx_steps,
    json_t *etypes)
{
	const json_t *step;
	size_t i;

	json_array_foreach(tx_steps, i, step)
		sync_attr_etypes(attrs_by_id(reg, json_string_value(
		    json_array_get(step, 2))), etypes);
}

/* Reset the dirty part of the view and replay txs. */
int
sync_rebuild(struct sync *s, const json_t *dirty, const json_t *txs,
    json_t *etypes)
{
	struct txapply_result res;
	const json_t *tx;
	const char *e;
	json_t *v;
	size_t i;

	if (json_object_get(dirty, "*") != NULL) {
		if (sync_exec(s, SYNC_VIEW_CLEAR, NULL, NULL, NULL, 0) != 0 ||
		    sync_exec(s, SYNC_VIEW_LOAD, NULL, NULL, NULL, 0) != 0)
			return -1;
	} else {
		json_object_foreach((json_t *)dirty, e, v) {
			if (sync_exec(s, SYNC_VIEW_CLEAR_E, e, NULL, NULL, 0) != 0 ||
			    sync_exec(s, SYNC_VIEW_LOAD_E, e, NULL, NULL, 0) != 0)
				return -1;
		}
	}
	json_array_foreach(txs, i, tx) {
		memset(&res, 0, sizeof res);
		if (txapply_run(s->applier, json_object_get(tx, "tx_steps"),
		    json_integer_value(json_object_get(tx, "created")),
		    &res) < 0) {
			txapply_result_clear(&res);
			return -1;
		}
		if (etypes != NULL) {
			json_t *et;
			size_t j;

			json_array_foreach(res.etypes, j, et)
				json_object_set_new(etypes,
				    json_string_value(et), json_true());
		}
		txapply_result_clear(&res);
	}
	return 0;
}

/* Lowest processed-tx-id over cached results. */
static int
sync_min_cb(void *arg, const struct store_query *sq)
{
	int64_t *min = arg;

	if (sq->processed_tx_id >= 0 &&
	    (*min < 0 || sq->processed_tx_id < *min))
		*min = sq->processed_tx_id;
	return 0;
}

/* Lowest processed-tx-id, or -1. */
int64_t
sync_min_processed(struct sync *s)
{
	int64_t min = -1;

	if (store_query_scan(s->store, sync_min_cb, &min) != 0)
		return -1;
	return min;
}
