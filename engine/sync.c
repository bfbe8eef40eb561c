/*
 * sync.c: base (the union of server results) and the view built on it.
 *
 * A result is cached in the store's queries table as the sorted set of its
 * triples' keys (e, a, canonical v); putting a new result compares it with
 * the cached one key by key and adjusts the counts in base.  (Stores
 * written by earlier versions hold the triples as a JSON array; they are
 * read as well.)
 *
 * The keys of the last result of each query are also kept in memory
 * (bounded, least recently used dropped first), so that a query refreshed
 * again and again is not read back and parsed each time.  What is kept was
 * written in a transaction that may still roll back: the whole copy is
 * dropped whenever the store reports a rollback, and after any failure
 * the query's entry is, so the store stays the reference.
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

/* Bounds of the cache of last results: about 100 bytes a triple. */
#define SYNC_CACHE_BYTES (8u << 20)
#define SYNC_CACHE_ENTRIES 256

struct sync_cached;

struct sync {
	struct store *store;
	struct txapply *applier;
	sqlite3 *db;
	sqlite3_stmt *stmt[SYNC_MAX];
	struct sync_cached *cache; /* last results, most recent first */
	size_t cache_bytes, cache_n;
	uint64_t cache_gen; /* store_generation when the cache was valid */
};

static void sync_cache_flush(struct sync *);

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
	s->cache_gen = store_generation(st);
	if (sqlite3_exec(s->db, "CREATE TABLE IF NOT EXISTS durable.base (e TEXT NOT "
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
	sync_cache_flush(s);
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

/*
 * Result keys.  A triple's key is "e\0a\0v" with v in canonical JSON text,
 * which has no NUL: comparing keys compares the triples.
 */

/* One key of a result. */
struct sync_key {
	union {
		size_t off;    /* into the buffer, while keys are added */
		const char *p; /* once finished; NUL-terminated after v */
	} at;
	size_t len; /* of "e\0a\0v" */
	size_t i;   /* the triple's index in its result (for its t) */
};

/* A result's keys, sorted, each once. */
struct sync_keys {
	char *buf;
	size_t len, cap;
	struct sync_key *k;
	size_t n, kcap;
};

/* A query's last result, kept so that the next one is compared with it
 * without reading it back from the store and parsing it. */
struct sync_cached {
	char *canonical;
	struct sync_keys keys;
	size_t bytes;
	struct sync_cached *next; /* most recently used first */
};

/* Free a key set's memory and empty it. */
static void
sync_keys_clear(struct sync_keys *ks)
{
	free(ks->buf);
	free(ks->k);
	memset(ks, 0, sizeof *ks);
}

/* Order two keys by their bytes (a prefix first). */
static int
sync_key_order(const struct sync_key *a, const struct sync_key *b)
{
	int c = memcmp(a->at.p, b->at.p, a->len < b->len ? a->len : b->len);

	if (c != 0 || a->len == b->len)
		return c;
	return a->len < b->len ? -1 : 1;
}

/* qsort: order keys by their bytes, then by index. */
static int
sync_key_cmp(const void *x, const void *y)
{
	const struct sync_key *a = x, *b = y;
	int c = sync_key_order(a, b);

	if (c != 0)
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* Append the key of e, a, v (v canonical text) as the i-th triple. */
static int
sync_keys_add(struct sync_keys *ks, const char *e, const char *a,
    const char *v, size_t i)
{
	size_t le = strlen(e), la = strlen(a), lv = strlen(v);
	size_t len = le + la + lv + 2, cap;
	void *p;

	if (ks->len + len + 1 > ks->cap) {
		for (cap = ks->cap ? ks->cap : 4096; cap < ks->len + len + 1;)
			cap *= 2;
		if ((p = realloc(ks->buf, cap)) == NULL)
			return -1;
		ks->buf = p;
		ks->cap = cap;
	}
	if (ks->n == ks->kcap) {
		cap = ks->kcap ? ks->kcap * 2 : 64;
		if ((p = reallocarray(ks->k, cap, sizeof *ks->k)) == NULL)
			return -1;
		ks->k = p;
		ks->kcap = cap;
	}
	ks->k[ks->n].at.off = ks->len;
	ks->k[ks->n].len = len;
	ks->k[ks->n++].i = i;
	memcpy(ks->buf + ks->len, e, le + 1);
	memcpy(ks->buf + ks->len + le + 1, a, la + 1);
	memcpy(ks->buf + ks->len + le + la + 2, v, lv + 1);
	ks->len += len + 1;
	return 0;
}

/*
 * Make the keys added so far a set: sorted, each once (a key added more
 * than once keeps its last index), and laid out in order in the buffer,
 * which is then what store_query_put stores.  0, or -1 (out of memory).
 */
static int
sync_keys_finish(struct sync_keys *ks)
{
	char *buf, *p;
	size_t i, n;

	for (i = 0; i < ks->n; i++)
		ks->k[i].at.p = ks->buf + ks->k[i].at.off;
	if (ks->n > 1) /* k is NULL when there are none */
		qsort(ks->k, ks->n, sizeof *ks->k, sync_key_cmp);
	for (i = n = 0; i < ks->n; i++) {
		if (i + 1 < ks->n && ks->k[i].len == ks->k[i + 1].len &&
		    memcmp(ks->k[i].at.p, ks->k[i + 1].at.p, ks->k[i].len) == 0)
			continue;
		ks->k[n++] = ks->k[i];
	}
	ks->n = n;
	if ((buf = malloc(ks->len > 0 ? ks->len : 1)) == NULL)
		return -1;
	for (i = 0, p = buf; i < ks->n; i++) {
		memcpy(p, ks->k[i].at.p, ks->k[i].len + 1);
		ks->k[i].at.p = p;
		p += ks->k[i].len + 1;
	}
	free(ks->buf);
	ks->buf = buf;
	ks->len = ks->cap = (size_t)(p - buf);
	if (ks->len == 0)
		ks->cap = 1;
	return 0;
}

/*
 * The keys of [e, a, v, t] triples.  Triples without string e and a, or
 * whose v has no text, have no key.  0, or -1 (out of memory).
 */
static int
sync_keys_build(struct sync_keys *ks, const json_t *triples)
{
	const char *e, *a;
	const json_t *t;
	size_t i;
	char *v;
	int r;

	json_array_foreach(triples, i, t) {
		e = json_string_value(json_array_get(t, 0));
		a = json_string_value(json_array_get(t, 1));
		if (e == NULL || a == NULL ||
		    (v = tstore_value_text(json_array_get(t, 2))) == NULL)
			continue;
		r = sync_keys_add(ks, e, a, v, i);
		free(v);
		if (r != 0)
			return -1;
	}
	return sync_keys_finish(ks);
}

/* The keys of a stored key set (sync_keys_finish's buffer): "e\0a\0v\0"
 * after one another.  A malformed tail is ignored. */
static int
sync_keys_parse(struct sync_keys *ks, const char *p, size_t len)
{
	const char *end = len > 0 ? p + len : p, *f[3];
	size_t i = 0;
	int j;

	for (;;) {
		for (j = 0; j < 3; j++) {
			f[j] = p;
			if (p == end ||
			    (p = memchr(p, '\0', (size_t)(end - p))) == NULL)
				return sync_keys_finish(ks);
			p++;
		}
		if (sync_keys_add(ks, f[0], f[1], f[2], i++) != 0)
			return -1;
	}
}

/* The memory a key set holds. */
static size_t
sync_keys_bytes(const struct sync_keys *ks)
{
	return ks->cap + ks->kcap * sizeof *ks->k;
}

/*
 * The cache of last results.
 */

/* Free a cache entry (NULL is fine). */
static void
sync_cached_free(struct sync_cached *c)
{
	if (c == NULL)
		return;
	free(c->canonical);
	sync_keys_clear(&c->keys);
	free(c);
}

/* Empty the cache. */
static void
sync_cache_flush(struct sync *s)
{
	struct sync_cached *c;

	while ((c = s->cache) != NULL) {
		s->cache = c->next;
		sync_cached_free(c);
	}
	s->cache_bytes = 0;
	s->cache_n = 0;
}

/* Take canonical's entry out of the cache (NULL if none); the cache is
 * emptied first if the store rolled back a transaction since it was
 * filled. */
static struct sync_cached *
sync_cache_take(struct sync *s, const char *canonical)
{
	struct sync_cached **pp, *c;

	if (store_generation(s->store) != s->cache_gen) {
		sync_cache_flush(s);
		s->cache_gen = store_generation(s->store);
	}
	for (pp = &s->cache; (c = *pp) != NULL; pp = &c->next) {
		if (strcmp(c->canonical, canonical) != 0)
			continue;
		*pp = c->next;
		s->cache_bytes -= c->bytes;
		s->cache_n--;
		return c;
	}
	return NULL;
}

/* Put c first in the cache, then drop the least recently used entries
 * past the cache's bounds.  A result larger than the whole cache is not
 * kept: it would push every other one out. */
static void
sync_cache_put(struct sync *s, struct sync_cached *c)
{
	struct sync_cached **pp;

	c->bytes = strlen(c->canonical) + sizeof *c + sync_keys_bytes(&c->keys);
	if (c->bytes > SYNC_CACHE_BYTES) {
		sync_cached_free(c);
		return;
	}
	c->next = s->cache;
	s->cache = c;
	s->cache_bytes += c->bytes;
	s->cache_n++;
	while (s->cache_bytes > SYNC_CACHE_BYTES ||
	    s->cache_n > SYNC_CACHE_ENTRIES) {
		for (pp = &s->cache; (*pp)->next != NULL; pp = &(*pp)->next)
			;
		c = *pp;
		*pp = NULL;
		s->cache_bytes -= c->bytes;
		s->cache_n--;
		sync_cached_free(c);
	}
}

/* What sync_load_cb fills: the keys, and 0 or -1. */
struct sync_load {
	struct sync_keys *keys;
	int r;
};

/* The keys of a stored result (store_query_get callback): a key set, or
 * the JSON triples older stores hold. */
static int
sync_load_cb(void *arg, const struct store_query *sq)
{
	struct sync_load *l = arg;
	json_t *triples;

	if (!sq->result_json) {
		l->r = sync_keys_parse(l->keys, sq->result, sq->result_len);
		return 0;
	}
	triples = json_loadb(sq->result, sq->result_len, 0, NULL);
	l->r = sync_keys_build(l->keys, triples);
	json_decref(triples);
	return 0;
}

/* The keys of q's stored result (none if there is none). */
static int
sync_keys_load(struct sync *s, const json_t *q, struct sync_keys *ks)
{
	struct sync_load l = { ks, 0 };
	int found = 0;

	if (store_query_get(s->store, q, sync_load_cb, &l, &found) != 0)
		return -1;
	return found ? l.r : sync_keys_finish(ks);
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

/* Count the triple of key k into base (+1, at time t) or out of it (-1);
 * note its entity and its attr's etypes. */
static int
sync_count(struct sync *s, const struct sync_key *k, int delta, int64_t t,
    json_t *dirty, json_t *etypes)
{
	const char *e = k->at.p, *a = e + strlen(e) + 1, *v = a + strlen(a) + 1;
	int r;

	if (delta > 0)
		r = sync_exec(s, SYNC_INC, e, a, v, t);
	else
		r = sync_exec(s, SYNC_DEC, e, a, v, 0) != 0 ||
		    sync_exec(s, SYNC_GC, e, a, v, 0) != 0 ? -1 : 0;
	json_object_set_new(dirty, e, json_true());
	sync_attr_etypes(attrs_by_id(store_attrs(s->store), a), etypes);
	return r;
}

/* Count the triples only in old out of base and those only in new (of
 * triples) into it: a merge of the two sorted key sets. */
static int
sync_diff(struct sync *s, const struct sync_keys *old,
    const struct sync_keys *new, const json_t *triples, json_t *dirty,
    json_t *etypes)
{
	size_t i = 0, j = 0;
	int c, r = 0;

	while (r == 0 && (i < old->n || j < new->n)) {
		if (i == old->n)
			c = 1;
		else if (j == new->n)
			c = -1;
		else
			c = sync_key_order(&old->k[i], &new->k[j]);
		if (c < 0)
			r = sync_count(s, &old->k[i++], -1, 0, dirty, etypes);
		else if (c > 0) {
			r = sync_count(s, &new->k[j], +1, json_integer_value(
			    json_array_get(json_array_get(triples,
			    new->k[j].i), 3)), dirty, etypes);
			j++;
		} else {
			i++;
			j++;
		}
	}
	return r;
}

/* Replace q's cached result. */
int
sync_put_result(struct sync *s, const json_t *q, const json_t *triples,
    const json_t *page_info, int64_t processed_tx_id, int64_t now_ms,
    json_t *dirty, json_t *etypes)
{
	struct sync_keys old = { 0 }, new = { 0 };
	struct sync_cached *c = NULL;
	char *canonical;
	int r = -1;

	if ((canonical = tstore_value_text(q)) == NULL)
		return -1;
	if ((c = sync_cache_take(s, canonical)) != NULL) {
		old = c->keys;
		memset(&c->keys, 0, sizeof c->keys);
	} else if (sync_keys_load(s, q, &old) != 0)
		goto out;
	if (sync_keys_build(&new, triples) != 0 ||
	    sync_diff(s, &old, &new, triples, dirty, etypes) != 0 ||
	    store_query_put(s->store, q, new.buf, new.len, page_info,
	    processed_tx_id, now_ms) != 0)
		goto out;
	if (c == NULL && (c = calloc(1, sizeof *c)) != NULL) {
		c->canonical = canonical;
		canonical = NULL;
	}
	if (c != NULL) {
		c->keys = new;
		memset(&new, 0, sizeof new);
		sync_cache_put(s, c);
		c = NULL;
	}
	r = 0;
out:
	/* After a failure the store may hold either result: the next put
	 * reads it back. */
	sync_cached_free(c);
	sync_keys_clear(&old);
	sync_keys_clear(&new);
	free(canonical);
	return r;
}

/* Forget q's result. */
int
sync_drop_result(struct sync *s, const json_t *q, json_t *dirty,
    json_t *etypes)
{
	json_t *none = json_array();
	char *canonical = tstore_value_text(q);
	int r = sync_put_result(s, q, none, NULL, -1, 0, dirty, etypes);

	json_decref(none);
	if (canonical != NULL)
		sync_cached_free(sync_cache_take(s, canonical));
	free(canonical);
	return r == 0 ? store_query_delete(s->store, q) : -1;
}

/* Whether a step is about attrs or rules, not any entity. */
int
sync_step_is_attr(const json_t *step)
{
	const char *op = json_string_value(json_array_get(step, 0));

	return op != NULL && (strcmp(op, "add-attr") == 0 ||
	    strcmp(op, "restore-attr") == 0 || strcmp(op, "rule-params") == 0);
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
		if (op == NULL || sync_step_is_attr(step))
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

/* Whether a step may change more than its own entity, or names it in a
 * way a rebuild cannot match: deleting an entity (cascades, the links to
 * it), a lookup (an array) as entity or value, an attr change, an op not
 * known here. */
int
sync_step_wild(const json_t *step)
{
	const char *op = json_string_value(json_array_get(step, 0));

	if (op == NULL)
		return 1;
	if (sync_step_is_attr(step))
		return 0;
	if (strcmp(op, "add-triple") != 0 &&
	    strcmp(op, "retract-triple") != 0 &&
	    strcmp(op, "deep-merge-triple") != 0)
		return 1;
	return !json_is_string(json_array_get(step, 1)) ||
	    json_is_array(json_array_get(step, 3));
}

/*
 * The steps of a row that a rebuild of the dirty entities must replay.
 * Each triple step changes only its own entity, and what it does depends
 * only on that entity's triples (the create/update filter, a
 * cardinality-one replace, a merge), so the dirty entities end the same
 * whether the other entities' steps run or not; the view's other entities
 * were not reset and need nothing.  That holds only while no transaction
 * of the replay has a wild step: a lookup or a delete reads or changes
 * other entities as the replay has left them at its point, so with one
 * anywhere every transaction must run whole (the caller's to know; a row
 * with a wild step is given back whole here all the same).  Every row
 * runs whole when everything is dirty.  Attr steps stay with the triple
 * steps they came with.  New reference; NULL when nothing is left.
 */
json_t *
sync_replay_steps(json_t *steps, const json_t *dirty)
{
	json_t *kept, *step;
	size_t i, ntriples = 0;

	if (json_object_get(dirty, "*") != NULL)
		return json_incref(steps);
	json_array_foreach(steps, i, step)
		if (sync_step_wild(step))
			return json_incref(steps);
	kept = json_array();
	json_array_foreach(steps, i, step) {
		if (sync_step_is_attr(step))
			json_array_append(kept, step);
		else if (json_object_get(dirty, json_string_value(
		    json_array_get(step, 1))) != NULL) {
			json_array_append(kept, step);
			ntriples++;
		}
	}
	if (ntriples == 0) {
		json_decref(kept);
		return NULL;
	}
	return kept;
}

/* Whether the stored steps (JSON text) start, at a '[', a step of an op
 * sync_step_wild lets through. */
static int
sync_plain_step_at(const char *p)
{
	static const char *const ops[] = { "[\"add-triple\"",
		"[\"retract-triple\"", "[\"deep-merge-triple\"",
		"[\"add-attr\"", "[\"restore-attr\"", "[\"rule-params\"" };
	size_t i;

	for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strncmp(p, ops[i], strlen(ops[i])) == 0)
			return 1;
	return 0;
}

/*
 * Whether sync_replay_steps would leave nothing of a row, told from its
 * stored text without parsing it: every array in it is the list or a step
 * of a plain op (no lookup, no array value, no delete), and none of its
 * strings is a dirty entity id (wherever a rewrite moves it, an entity
 * id is one of the row's strings).  Strings with escapes, and anything
 * else unexpected, answer no: the row is then parsed.  A drain replays
 * the outbox for each server result, so most rows must not cost a parse
 * each time.
 */
int
sync_row_passes(const char *text, const json_t *dirty)
{
	const char *p = text, *s;

	if (json_object_get(dirty, "*") != NULL || *p != '[')
		return 0;
	for (p++; *p != '\0'; p++) {
		if (*p == '[' && !sync_plain_step_at(p))
			return 0;
		if (*p != '"')
			continue;
		for (s = ++p; *p != '"'; p++)
			if (*p == '\\' || *p == '\0')
				return 0;
		if (json_object_getn(dirty, s, (size_t)(p - s)) != NULL)
			return 0;
	}
	return 1;
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
		tstore_forget_all(store_view(s->store));
		if (sync_exec(s, SYNC_VIEW_CLEAR, NULL, NULL, NULL, 0) != 0 ||
		    sync_exec(s, SYNC_VIEW_LOAD, NULL, NULL, NULL, 0) != 0)
			return -1;
	} else {
		json_object_foreach((json_t *)dirty, e, v) {
			tstore_forget(store_view(s->store), e);
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

/* How many results are kept in memory, and their size. */
void
sync_cache_stats(const struct sync *s, size_t *entries, size_t *bytes)
{
	*entries = s->cache_n;
	*bytes = s->cache_bytes;
}

/* Lowest processed-tx-id, or -1. */
int64_t
sync_min_processed(struct sync *s)
{
	int64_t min;

	if (store_query_min_processed(s->store, &min) != 0)
		return -1;
	return min;
}
