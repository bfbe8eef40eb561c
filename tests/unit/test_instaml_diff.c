/*
 * test_instaml_diff.c: InstaML compile and optimistic apply, differential
 * against the official client (tests/node/oracle-instaml.mjs).
 *
 * A seeded generator writes cases (starting attrs and triples, then a list
 * of InstaML ops covering every action, lookups as entity and as link
 * target, links from both sides and schemaless new attrs).  Node runs the
 * official instaml.transform and store.transact on each; we run
 * instaml_compile and txapply (client mode) on the same input.  Fresh
 * UUIDs (new attrs) differ between the two, so both outputs are rewritten
 * with "#n" for each unknown UUID in order of first appearance (objects
 * walked in sorted key order) before comparing tx-steps, and the resulting
 * triples (without t) and attrs as sorted sets.
 *
 * A third as many rewrite cases check instaml_rewrite_steps against the
 * client's _rewriteMutations: mutations compiled offline, then attrs from
 * the server that hold some of their attrs under other ids or as reversed
 * links.
 *
 * Usage: test_instaml_diff [cases [seed]].  NODE and top_srcdir come from
 * the make check environment.  Fails when node or the package is missing.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/attrs.h"
#include "engine/instaml.h"
#include "engine/tstore.h"
#include "engine/txapply.h"
#include "proto/uuid.h"

#define NOW_MS 1790000000000LL

static uint64_t rng_state;
static size_t nrejected;  /* cases both sides rejected */
static size_t nrewritten; /* rewrite cases where something changed */

/* xorshift64*: a small deterministic generator. */
static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* A number in [0, n). */
static int
pick(int n)
{
	return (int)(rng() % (uint64_t)n);
}

/* ---- fixed world ---- */

/* Attr ids and entity ids of the starting schema. */
enum {
	A_GID,
	A_GTITLE,
	A_GPRIO,
	A_GMETA,
	A_TID,
	A_TTITLE,
	A_TDONE,
	A_PID,
	A_PEMAIL,
	A_PNAME,
	A_GTODOS,
	A_TOWNER,
	A_COUNT
};
static char attr_id[A_COUNT][UUID_STRLEN + 1];
static char ident_id[A_COUNT * 2][UUID_STRLEN + 1];

static const char *const goals[] = {
    "11111111-0000-4000-8000-000000000001",
    "11111111-0000-4000-8000-000000000002",
    "11111111-0000-4000-8000-000000000003",
};
static const char *const todos[] = {
    "22222222-0000-4000-8000-000000000001",
    "22222222-0000-4000-8000-000000000002",
    "22222222-0000-4000-8000-000000000003",
    "22222222-0000-4000-8000-000000000004",
};
static const char *const profiles[] = {
    "33333333-0000-4000-8000-000000000001",
    "33333333-0000-4000-8000-000000000002",
};
static const char *const fresh[] = {
    "44444444-0000-4000-8000-000000000001",
    "44444444-0000-4000-8000-000000000002",
    "44444444-0000-4000-8000-000000000003",
    "44444444-0000-4000-8000-000000000004",
};
static const char *const emails[] = {"a@x.io", "b@x.io", "new@x.io"};

/* Deterministic UUIDs for the schema's attrs and identities. */
static void
world_ids(void)
{
	int i;

	for (i = 0; i < A_COUNT; i++)
		snprintf(attr_id[i], sizeof attr_id[i],
			 "aaaaaaaa-0000-4000-8000-%012d", i);
	for (i = 0; i < A_COUNT * 2; i++)
		snprintf(ident_id[i], sizeof ident_id[i],
			 "bbbbbbbb-0000-4000-8000-%012d", i);
}

/* One blob attr of the starting schema. */
static json_t *
world_blob(int i, const char *etype, const char *label, int unique)
{
	return json_pack("{s:s, s:[s,s,s], s:s, s:s, s:b, s:b}", "id",
			 attr_id[i], "forward-identity", ident_id[2 * i], etype,
			 label, "value-type", "blob", "cardinality", "one",
			 "unique?", unique, "index?", unique);
}

/* One ref attr of the starting schema. */
static json_t *
world_ref(int i, const char *etype, const char *label, const char *retype,
	  const char *rlabel, int cascade /* 1: on-delete, 2: -reverse */)
{
	json_t *a =
	    json_pack("{s:s, s:[s,s,s], s:[s,s,s], s:s, s:s, s:b, "
		      "s:b}",
		      "id", attr_id[i], "forward-identity", ident_id[2 * i],
		      etype, label, "reverse-identity", ident_id[2 * i + 1],
		      retype, rlabel, "value-type", "ref", "cardinality",
		      "many", "unique?", 0, "index?", 0);

	if (cascade & 1)
		json_object_set_new(a, "on-delete", json_string("cascade"));
	if (cascade & 2)
		json_object_set_new(a, "on-delete-reverse",
				    json_string("cascade"));
	return a;
}

/* The starting attrs: none (schemaless) or the fixed schema, some of it
 * still unsynced. */
static json_t *
world_attrs(int schemaless)
{
	json_t *attrs = json_array(), *a;
	size_t i;

	if (schemaless)
		return attrs;
	json_array_append_new(attrs, world_blob(A_GID, "goals", "id", 1));
	json_array_append_new(attrs, world_blob(A_GTITLE, "goals", "title", 0));
	json_array_append_new(attrs,
			      world_blob(A_GPRIO, "goals", "priority", 0));
	json_array_append_new(attrs, world_blob(A_GMETA, "goals", "meta", 0));
	json_array_append_new(attrs, world_blob(A_TID, "todos", "id", 1));
	json_array_append_new(attrs, world_blob(A_TTITLE, "todos", "title", 0));
	json_array_append_new(attrs, world_blob(A_TDONE, "todos", "done", 0));
	json_array_append_new(attrs, world_blob(A_PID, "profiles", "id", 1));
	json_array_append_new(attrs,
			      world_blob(A_PEMAIL, "profiles", "email", 1));
	json_array_append_new(attrs,
			      world_blob(A_PNAME, "profiles", "name", 0));
	json_array_append_new(attrs,
			      world_ref(A_GTODOS, "goals", "todos", "todos",
					"goals", pick(2) ? 2 : 0));
	json_array_append_new(attrs, world_ref(A_TOWNER, "todos", "owner",
					       "profiles", "todos", 1));
	json_array_foreach(attrs, i, a) {
		if (pick(4) == 0)
			json_object_set_new(a, "isUnsynced", json_true());
	}
	return attrs;
}

/* Append a starting triple. */
static void
world_triple(json_t *triples, const char *e, int a, json_t *v, int64_t *t)
{
	json_array_append_new(triples, json_pack("[s,s,o,I]", e, attr_id[a], v,
						 (json_int_t)(*t)++));
}

/* The starting triples: a random part of a small world. */
static json_t *
world_triples(int schemaless)
{
	json_t *triples = json_array();
	int64_t t = 1700000000000LL;
	size_t i;

	if (schemaless)
		return triples;
	for (i = 0; i < 3; i++) {
		if (pick(4) == 0)
			continue;
		world_triple(triples, goals[i], A_GID, json_string(goals[i]),
			     &t);
		world_triple(triples, goals[i], A_GTITLE,
			     json_sprintf("goal %zu", i), &t);
		if (pick(2))
			world_triple(
			    triples, goals[i], A_GMETA,
			    json_pack("{s:{s:i}, s:s}", "a", "b", 1, "c", "d"),
			    &t);
		if (pick(2))
			world_triple(triples, goals[i], A_GTODOS,
				     json_string(todos[pick(4)]), &t);
	}
	for (i = 0; i < 4; i++) {
		if (pick(4) == 0)
			continue;
		world_triple(triples, todos[i], A_TID, json_string(todos[i]),
			     &t);
		world_triple(triples, todos[i], A_TTITLE,
			     json_sprintf("todo %zu", i), &t);
		if (pick(2))
			world_triple(triples, todos[i], A_TOWNER,
				     json_string(profiles[pick(2)]), &t);
	}
	for (i = 0; i < 2; i++) {
		world_triple(triples, profiles[i], A_PID,
			     json_string(profiles[i]), &t);
		world_triple(triples, profiles[i], A_PEMAIL,
			     json_string(emails[i]), &t);
	}
	return triples;
}

/* ---- ops ---- */

static const char *const namespaces[] = {"goals", "todos", "profiles", "notes"};

/* A random field value. */
static json_t *
gen_value(void)
{
	switch (pick(7)) {
	case 0:
		return json_sprintf("s%d", pick(100));
	case 1:
		return json_integer(pick(1000) - 500);
	case 2:
		return json_real(pick(100) + 0.5);
	case 3:
		return json_boolean(pick(2));
	case 4:
		return json_null();
	case 5:
		return json_pack("{s:i, s:{s:s}}", "n", pick(9), "o", "k", "v");
	default:
		return json_pack("[i,s]", pick(9), "x");
	}
}

/* A random entity of namespace ns (existing, fresh or a lookup). */
static json_t *
gen_entity(const char *ns)
{
	int r = pick(10);

	if (r < 3)
		return json_string(fresh[pick(4)]);
	if (r == 9 && pick(2) == 0) /* not unique, or a ref lookup */
		return json_pack(
		    "[s,s]", strcmp(ns, "goals") == 0 ? "title" : "owner.id",
		    profiles[pick(2)]);
	if (strcmp(ns, "goals") == 0)
		return json_string(goals[pick(3)]);
	if (strcmp(ns, "todos") == 0)
		return json_string(todos[pick(4)]);
	if (strcmp(ns, "profiles") == 0) {
		if (r < 6)
			return json_pack("[s,s]", "email", emails[pick(3)]);
		if (r < 7)
			return json_sprintf("lookup__email__\"%s\"",
					    emails[pick(3)]);
		return json_string(profiles[pick(2)]);
	}
	if (r < 5)
		return json_pack("[s,s]", "handle", pick(2) ? "h1" : "h2");
	return json_string(fresh[pick(4)]);
}

/* Random fields for create/update of ns. */
static json_t *
gen_fields(const char *ns)
{
	static const char *const labels[] = {
	    "title", "priority", "done", "name", "f1", "f2", "id"};
	json_t *obj = json_object();
	int i, n = 1 + pick(3);

	for (i = 0; i < n; i++)
		json_object_set_new(obj, labels[pick(7)], gen_value());
	if (pick(8) == 0)
		json_object_set_new(obj, "7", gen_value());
	if (strcmp(ns, "profiles") == 0 && pick(3) == 0)
		json_object_set_new(obj, "email", json_string(emails[pick(3)]));
	return obj;
}

/* A random merge patch. */
static json_t *
gen_patch(void)
{
	return json_pack("{s:{s:o, s:n}, s:o}", pick(2) ? "meta" : "cfg", "a",
			 pick(2) ? json_pack("{s:i}", "x", pick(5))
				 : json_null(),
			 "c", "f2", gen_value());
}

/* Random link targets for (ns, label). */
static json_t *
gen_targets(const char *ns, const char *label)
{
	json_t *arr;
	int i, n;

	if (strcmp(label, "owner") == 0) {
		if (pick(2))
			return json_sprintf("lookup__email__\"%s\"",
					    emails[pick(3)]);
		return json_string(profiles[pick(2)]);
	}
	if (pick(2))
		return json_string(strcmp(label, "goals") == 0 ? goals[pick(3)]
				   : strcmp(label, "todos") == 0
				       ? todos[pick(4)]
				       : fresh[pick(4)]);
	arr = json_array();
	n = 1 + pick(3);
	for (i = 0; i < n; i++)
		json_array_append_new(
		    arr, json_string(
			     strcmp(label, "goals") == 0   ? goals[pick(3)]
			     : strcmp(label, "todos") == 0 ? todos[pick(4)]
							   : fresh[pick(4)]));
	return arr;
}

/* Random link args for ns: forward, reverse or schemaless labels. */
static json_t *
gen_links(const char *ns)
{
	const char *label = "tags";

	if (strcmp(ns, "goals") == 0)
		label = pick(3) ? "todos" : "tags";
	else if (strcmp(ns, "todos") == 0)
		label = pick(2) ? "goals" : "owner";
	else if (strcmp(ns, "profiles") == 0)
		label = "todos";
	return json_pack("{s:o}", label, gen_targets(ns, label));
}

/* One random op. */
static json_t *
gen_op(void)
{
	static const char *const actions[] = {"create", "update", "update",
					      "merge",	"delete", "link",
					      "link",	"unlink", "ruleParams"};
	const char *action = actions[pick(9)];
	const char *ns = namespaces[pick(4)];
	json_t *e = gen_entity(ns), *op;

	if (strcmp(action, "create") == 0 && json_is_string(e) && pick(2))
		json_decref(e), e = json_string(fresh[pick(4)]);
	op = json_pack("[s,s,o]", action, ns, e);
	if (strcmp(action, "create") == 0 || strcmp(action, "update") == 0)
		json_array_append_new(op, gen_fields(ns));
	else if (strcmp(action, "merge") == 0)
		json_array_append_new(op, gen_patch());
	else if (strcmp(action, "link") == 0 || strcmp(action, "unlink") == 0)
		json_array_append_new(op, gen_links(ns));
	else if (strcmp(action, "ruleParams") == 0)
		json_array_append_new(
		    op, json_pack("{s:s, s:s}", "k", "v", "id", "x"));
	if (strcmp(action, "update") == 0 && pick(3) == 0)
		json_array_append_new(op,
				      json_pack("{s:b}", "upsert", pick(2)));
	return op;
}

/* One case: {attrs, triples, ops}. */
static json_t *
gen_case(void)
{
	int schemaless = pick(4) == 0, i, n = 1 + pick(5);
	json_t *ops = json_array();

	for (i = 0; i < n; i++)
		json_array_append_new(ops, gen_op());
	return json_pack("{s:o, s:o, s:o}", "attrs", world_attrs(schemaless),
			 "triples", world_triples(schemaless), "ops", ops);
}

/* ---- our side ---- */

/* Load a case's triples into ts. */
static int
load_triples(struct tstore *ts, const json_t *triples)
{
	json_t *t;
	size_t i;
	char *v;
	int r = 0;

	json_array_foreach(triples, i, t) {
		v = tstore_value_text(json_array_get(t, 2));
		if (v == NULL ||
		    tstore_add(ts, json_string_value(json_array_get(t, 0)),
			       json_string_value(json_array_get(t, 1)), v,
			       json_integer_value(json_array_get(t, 3))) != 0)
			r = -1;
		free(v);
	}
	return r;
}

/* Scan callback: collect [e, a, v] with v parsed. */
static int
collect_cb(void *arg, const struct triple *t)
{
	json_array_append_new(
	    arg, json_pack("[s,s,o]", t->e, t->a,
			   json_loads(t->v, JSON_DECODE_ANY, NULL)));
	return 0;
}

/* Our compile + apply of a case: {tx_steps, triples} or {error}. */
static json_t *
ours(const json_t *c)
{
	json_t *tx = NULL, *created = NULL, *out = NULL, *triples;
	struct txapply_result res = {0};
	struct attrs *attrs = attrs_create();
	struct txapply *ta = NULL;
	struct tstore *ts = NULL;
	sqlite3 *db = NULL;
	char *err = NULL;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    (ts = tstore_create(db, "triples", &err)) == NULL ||
	    attrs_load(attrs, json_object_get(c, "attrs"), NULL) != 0 ||
	    load_triples(ts, json_object_get(c, "triples")) != 0) {
		out = json_pack("{s:s}", "setup", "failed");
		goto done;
	}
	if (instaml_compile(json_object_get(c, "ops"), attrs, ts, &tx, &created,
			    &err) != 0) {
		out = json_pack("{s:s}", "error", err);
		goto done;
	}
	ta = txapply_create(db, ts, attrs, TXAPPLY_CLIENT);
	if (txapply_run(ta, tx, NOW_MS, &res) != 0) {
		out = json_pack("{s:s, s:O}", "apply", "failed", "why",
				res.error);
		goto done;
	}
	triples = json_array();
	tstore_scan_all(ts, collect_cb, triples);
	out = json_pack("{s:O, s:o, s:o}", "tx_steps", tx, "triples", triples,
			"attrs", attrs_to_json(attrs));
done:
	txapply_result_clear(&res);
	txapply_free(ta);
	json_decref(tx);
	json_decref(created);
	free(err);
	tstore_free(ts);
	attrs_free(attrs);
	sqlite3_close(db);
	return out;
}

/* ---- comparison ---- */

/* Collect every UUID string in v into the set known. */
static void
known_uuids(const json_t *v, json_t *known)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_string(v) && uuid_valid(json_string_value(v)))
		json_object_set_new(known, json_string_value(v), json_true());
	if (json_is_array(v))
		json_array_foreach(v, i, x)
			known_uuids(x, known);
	if (json_is_object(v))
		json_object_foreach((json_t *)v, k, x)
			known_uuids(x, known);
}

/* A copy of v with unknown UUIDs renamed "#n" in walk order (objects in
 * sorted key order); map carries the names across calls. */
static json_t *
rename_uuids(const json_t *v, const json_t *known, json_t *map)
{
	const char *s = json_string_value(v), *k;
	json_t *out, *x, *keys;
	char name[32];
	size_t i;

	if (s != NULL && uuid_valid(s) && json_object_get(known, s) == NULL) {
		if (json_object_get(map, s) == NULL) {
			snprintf(name, sizeof name, "#%zu",
				 json_object_size(map));
			json_object_set_new(map, s, json_string(name));
		}
		return json_incref(json_object_get(map, s));
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, x)
			json_array_append_new(out, rename_uuids(x, known, map));
		return out;
	}
	if (!json_is_object(v))
		return json_incref((json_t *)v);
	keys = json_array();
	json_object_foreach((json_t *)v, k, x)
		json_array_append_new(keys, json_string(k));
	/* jansson objects dump sorted; walk in that order too. */
	out = json_object();
	{
		size_t n = json_array_size(keys), a, b;

		for (a = 0; a < n; a++)
			for (b = a + 1; b < n; b++)
				if (strcmp(json_string_value(
					       json_array_get(keys, b)),
					   json_string_value(
					       json_array_get(keys, a))) < 0) {
					json_t *t = json_incref(
					    json_array_get(keys, a));
					json_array_set(keys, a,
						       json_array_get(keys, b));
					json_array_set_new(keys, b, t);
				}
	}
	json_array_foreach(keys, i, x) {
		k = json_string_value(x);
		json_object_set_new(
		    out, k, rename_uuids(json_object_get(v, k), known, map));
	}
	json_decref(keys);
	return out;
}

/* Order of two JSON texts, for qsort. */
static int
text_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Canonical text of a list taken as a set: items renamed, sorted,
 * deduplicated, one line each; triples are cut to [e, a, v] (t is
 * dropped). */
static char *
set_text(const json_t *list, int triples, const json_t *known, json_t *map)
{
	size_t n = json_array_size(list), i, len = 1;
	char **lines = calloc(n + 1, sizeof *lines), *out;
	json_t *t, *r;

	json_array_foreach(list, i, t) {
		if (triples)
			t = json_pack("[O,O,O]", json_array_get(t, 0),
				      json_array_get(t, 1),
				      json_array_get(t, 2));
		else
			t = json_incref(t);
		r = rename_uuids(t, known, map);
		lines[i] = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
		len += strlen(lines[i]) + 1;
		json_decref(t);
		json_decref(r);
	}
	qsort(lines, n, sizeof *lines, text_cmp);
	out = calloc(1, len);
	for (i = 0; i < n; i++) {
		/* The client's maps key object values by identity, so the same
		 * array value added twice is two entries there, one here. */
		if (i == 0 || strcmp(lines[i], lines[i - 1]) != 0) {
			strcat(out, lines[i]);
			strcat(out, "\n");
		}
	}
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return out;
}

/* Compare one case; print the difference. */
static int
compare(size_t idx, const json_t *c, const json_t *theirs, const json_t *mine)
{
	json_t *known = json_object(), *m1 = json_object(), *m2 = json_object(),
	       *r1, *r2;
	char *s1, *s2, *t1, *t2, *a1, *a2;
	int ok;

	if (json_object_get(theirs, "error") != NULL) {
		ok = json_object_get(mine, "error") != NULL;
		nrejected += ok;
		if (!ok)
			printf("case %zu: the client rejects it (%s), we do "
			       "not\n",
			       idx,
			       json_string_value(
				   json_object_get(theirs, "error")));
		goto out1;
	}
	known_uuids(c, known);
	r1 = rename_uuids(json_object_get(theirs, "tx_steps"), known, m1);
	r2 = rename_uuids(json_object_get(mine, "tx_steps"), known, m2);
	s1 = json_dumps(r1, JSON_COMPACT | JSON_SORT_KEYS);
	s2 = json_dumps(r2, JSON_COMPACT | JSON_SORT_KEYS);
	t1 = set_text(json_object_get(theirs, "triples"), 1, known, m1);
	t2 = set_text(json_object_get(mine, "triples"), 1, known, m2);
	a1 = set_text(json_object_get(theirs, "attrs"), 0, known, m1);
	a2 = set_text(json_object_get(mine, "attrs"), 0, known, m2);
	ok = s1 != NULL && s2 != NULL && strcmp(s1, s2) == 0 && t1 != NULL &&
	     t2 != NULL && strcmp(t1, t2) == 0 && strcmp(a1, a2) == 0;
	if (!ok) {
		char *in = json_dumps(c, JSON_COMPACT);
		char *me = json_dumps(mine, JSON_COMPACT);

		printf("case %zu differs\n  input:  %s\n  client: %s\n"
		       "  ours:   %s\n  client triples:\n%s  our triples:\n%s"
		       "  client attrs:\n%s  our attrs:\n%s  ours raw: %s\n",
		       idx, in, s1, s2, t1, t2, a1, a2, me);
		free(in);
		free(me);
	}
	free(s1);
	free(s2);
	free(t1);
	free(t2);
	free(a1);
	free(a2);
	json_decref(r1);
	json_decref(r2);
out1:
	json_decref(known);
	json_decref(m1);
	json_decref(m2);
	return ok;
}

/* ---- rewrite cases ---- */

/* A fresh deterministic UUID for server attrs. */
static json_t *
server_uuid(void)
{
	static unsigned n;

	return json_sprintf("cccccccc-0000-4000-8000-%012u", n++);
}

/* The server's version of a local attr: the same (etype, label) under
 * other ids, the link the other way round, the very same attr, or none. */
static json_t *
server_attr_for(const json_t *local)
{
	const json_t *fwd = json_object_get(local, "forward-identity");
	const json_t *rev = json_object_get(local, "reverse-identity");
	json_t *a;

	switch (pick(6)) {
	case 0:
	case 1:
		a = json_deep_copy(local);
		json_object_set_new(a, "id", server_uuid());
		json_array_set_new(json_object_get(a, "forward-identity"), 0,
				   server_uuid());
		json_object_del(a, "isUnsynced");
		return a;
	case 2:
		if (rev == NULL)
			return NULL;
		return json_pack("{s:o, s:[o,O,O], s:[o,O,O], s:s, s:s}", "id",
				 server_uuid(), "forward-identity",
				 server_uuid(), json_array_get(rev, 1),
				 json_array_get(rev, 2), "reverse-identity",
				 server_uuid(), json_array_get(fwd, 1),
				 json_array_get(fwd, 2), "value-type", "ref",
				 "cardinality", "many");
	case 3:
		a = json_deep_copy(local);
		json_object_del(a, "isUnsynced");
		return a;
	default:
		return NULL;
	}
}

/* Server attrs for the add-attr steps of muts. */
static json_t *
gen_server_attrs(const json_t *muts)
{
	json_t *out = json_array(), *seen = json_object(), *m, *step, *a;
	const char *id;
	size_t i, j;

	json_array_foreach(muts, i, m) {
		json_array_foreach(json_object_get(m, "tx-steps"), j, step) {
			a = json_array_get(step, 1);
			id = json_string_value(json_object_get(a, "id"));
			if (strcmp(json_string_value(json_array_get(step, 0)),
				   "add-attr") != 0 ||
			    json_object_get(seen, id) != NULL)
				continue;
			json_object_set_new(seen, id, json_true());
			if ((a = server_attr_for(a)) != NULL)
				json_array_append_new(out, a);
		}
	}
	json_decref(seen);
	return out;
}

/* Compile and apply random ops; append the tx-steps to muts. */
static void
gen_mutation(struct attrs *attrs, struct tstore *ts, struct txapply *ta,
	     json_t *muts)
{
	struct txapply_result res = {0};
	json_t *ops = json_array(), *tx = NULL, *created = NULL;
	char *err = NULL;
	int i, n = 1 + pick(4);

	for (i = 0; i < n; i++)
		json_array_append_new(ops, gen_op());
	if (instaml_compile(ops, attrs, ts, &tx, &created, &err) == 0) {
		txapply_run(ta, tx, NOW_MS, &res);
		if (pick(6) == 0)
			json_array_append_new(
			    tx, json_pack("[s,s]", "delete-attr", attr_id[0]));
		json_array_append_new(
		    muts, json_pack("{s:o, s:o}", "tx-steps", tx, "tx-id",
				    pick(2) ? json_integer(1 + pick(5))
					    : json_null()));
	}
	txapply_result_clear(&res);
	json_decref(created);
	json_decref(ops);
	free(err);
}

/* One rewrite case: pending mutations compiled offline (schemaless) and
 * the attrs the server then sends. */
static json_t *
gen_rewrite_case(void)
{
	struct attrs *attrs = attrs_create();
	json_t *muts = json_array();
	struct txapply *ta;
	struct tstore *ts;
	char *err = NULL;
	sqlite3 *db;
	int i, n = 1 + pick(3);

	sqlite3_open(":memory:", &db);
	ts = tstore_create(db, "triples", &err);
	ta = txapply_create(db, ts, attrs, TXAPPLY_CLIENT);
	for (i = 0; i < n; i++)
		gen_mutation(attrs, ts, ta, muts);
	txapply_free(ta);
	tstore_free(ts);
	sqlite3_close(db);
	attrs_free(attrs);
	free(err);
	return json_pack("{s:b, s:o, s:o, s:o}", "rewrite", 1, "attrs",
			 gen_server_attrs(muts), "muts", muts,
			 "processed_tx_id",
			 pick(2) ? json_integer(1 + pick(5)) : json_null());
}

/* A JSON integer as a tx id, -1 for null. */
static int64_t
tx_id_of(const json_t *v)
{
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Our rewrite of a case: {muts: [[step...]...]}. */
static json_t *
ours_rewrite(const json_t *c)
{
	struct attrs *attrs = attrs_create();
	struct instaml_rewrite *rw;
	json_t *out = json_array(), *m;
	int64_t processed = tx_id_of(json_object_get(c, "processed_tx_id"));
	int changed, any = 0;
	size_t i;

	attrs_load(attrs, json_object_get(c, "attrs"), NULL);
	rw = instaml_rewrite_create(attrs);
	json_array_foreach(json_object_get(c, "muts"), i, m) {
		json_array_append_new(
		    out,
		    instaml_rewrite_steps(rw, json_object_get(m, "tx-steps"),
					  tx_id_of(json_object_get(m, "tx-id")),
					  processed, &changed));
		any |= changed;
	}
	nrewritten += any;
	instaml_rewrite_free(rw);
	attrs_free(attrs);
	return json_pack("{s:o}", "muts", out);
}

/* Compare one rewrite case. */
static int
compare_rewrite(size_t idx, const json_t *c, const json_t *theirs,
		const json_t *mine)
{
	int ok = json_equal(json_object_get(theirs, "muts"),
			    json_object_get(mine, "muts"));
	char *in, *t, *m;

	if (ok)
		return 1;
	in = json_dumps(c, JSON_COMPACT);
	t = json_dumps(theirs, JSON_COMPACT);
	m = json_dumps(mine, JSON_COMPACT);
	printf("rewrite case %zu differs\n  input:  %s\n  client: %s\n"
	       "  ours:   %s\n",
	       idx, in, t, m);
	free(in);
	free(t);
	free(m);
	return 0;
}

/* Run the oracle over the cases file; returns its output file. */
static int
run_oracle(const char *cases, const char *outfile)
{
	const char *node = getenv("NODE"), *srcdir = getenv("top_srcdir");
	char cmd[4096];
	int rc;

	if (node == NULL || node[0] == '\0')
		node = "node";
	if (srcdir == NULL || srcdir[0] == '\0')
		srcdir = ".";
	snprintf(cmd, sizeof cmd,
		 "'%s' '%s/tests/node/oracle-instaml.mjs' "
		 "< '%s' > '%s'",
		 node, srcdir, cases, outfile);
	rc = system(cmd);
	if (rc != 0) {
		fprintf(stderr,
			"FAIL: the oracle did not run (%s: status "
			"%d); node and tests/node/node_modules are required\n",
			cmd, rc);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	size_t ncases = argc > 1 ? strtoul(argv[1], NULL, 10) : 300, i;
	char dir[] = "/tmp/instaml-diff.XXXXXX", cases[256], outs[256];
	size_t passed = 0, failed = 0;
	json_t *all = json_array(), *c, *theirs, *mine;
	int ok;
	FILE *f;

	rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 0x5eed1234ULL;
	world_ids();
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(cases, sizeof cases, "%s/cases.jsonl", dir);
	snprintf(outs, sizeof outs, "%s/oracle.jsonl", dir);
	if ((f = fopen(cases, "w")) == NULL)
		return 1;
	for (i = 0; i < ncases + ncases / 3; i++) {
		c = i < ncases ? gen_case() : gen_rewrite_case();
		json_dumpf(c, f, JSON_COMPACT);
		fputc('\n', f);
		json_array_append_new(all, c);
	}
	fclose(f);
	if (run_oracle(cases, outs) != 0 || (f = fopen(outs, "r")) == NULL) {
		unlink(cases);
		unlink(outs);
		rmdir(dir);
		return 1;
	}
	json_array_foreach(all, i, c) {
		theirs = json_loadf(f, JSON_DISABLE_EOF_CHECK, NULL);
		if (json_object_get(c, "rewrite") != NULL) {
			mine = ours_rewrite(c);
			ok = theirs != NULL &&
			     compare_rewrite(i, c, theirs, mine);
		} else {
			mine = ours(c);
			ok = theirs != NULL && compare(i, c, theirs, mine);
		}
		if (ok)
			passed++;
		else
			failed++;
		json_decref(theirs);
		json_decref(mine);
	}
	fclose(f);
	unlink(cases);
	unlink(outs);
	rmdir(dir);
	json_decref(all);
	printf("%zu passed (%zu rejected by both, %zu rewrites that changed "
	       "steps), %zu failed\n",
	       passed, nrejected, nrewritten, failed);
	printf("%zu passed, %zu failed\n", passed, failed);
	return failed == 0 && passed >= 100 ? 0 : 1;
}
