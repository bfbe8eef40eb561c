/*
 * test_sync.c: the optimistic view over server results.  The property
 * checked: when a server result resets entities that no pending
 * transaction touches, rebuilding them without a replay gives the same
 * view as replaying every pending transaction (what the daemon's outbox
 * relies on to skip the replay).  Seeded random cases over a small schema
 * (titles, merged JSON, a has-one link, retractions).
 *
 * And base's counts: after any sequence of results put, replaced and
 * dropped, over more queries than sync keeps in memory, with puts rolled
 * back, sync re-created (as after a restart) and results left by earlier
 * versions, each triple in base is counted once per current result that
 * holds it.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/attrs.h"
#include "engine/store.h"
#include "engine/sync.h"
#include "engine/tstore.h"
#include "engine/txapply.h"

#define A_TID "a0000000-0000-4000-8000-000000000001"
#define A_TTITLE "a0000000-0000-4000-8000-000000000002"
#define A_TMETA "a0000000-0000-4000-8000-000000000003"
#define A_TOWNER "a0000000-0000-4000-8000-000000000004"
#define A_PID "a0000000-0000-4000-8000-000000000005"
#define A_PNAME "a0000000-0000-4000-8000-000000000006"

#define NTODOS 6
#define NPROFILES 3
#define CASES 300

#define T0 "10000000-0000-4000-8000-000000000001"

static const char *const todos[NTODOS] = {
    T0,
    "10000000-0000-4000-8000-000000000002",
    "10000000-0000-4000-8000-000000000003",
    "10000000-0000-4000-8000-000000000004",
    "10000000-0000-4000-8000-000000000005",
    "10000000-0000-4000-8000-000000000006",
};
static const char *const profiles[NPROFILES] = {
    "20000000-0000-4000-8000-000000000001",
    "20000000-0000-4000-8000-000000000002",
    "20000000-0000-4000-8000-000000000003",
};

static char dir[] = "/tmp/test_sync.XXXXXX";
static char path[256];
static struct store *st;
static struct txapply *applier;
static struct sync *sy;
static unsigned int seed;

/* A small deterministic generator (the cases must not depend on libc). */
static unsigned int
rnd(unsigned int n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 16) % n;
}

/* Register one attr. */
static void
attr(const char *id, const char *etype, const char *label, const char *vt,
     const char *card, const char *rev_etype, const char *rev_label)
{
	json_t *a = json_pack("{s:s, s:[s,s,s], s:s, s:s}", "id", id,
			      "forward-identity", "f", etype, label,
			      "value-type", vt, "cardinality", card);

	if (rev_etype != NULL)
		json_object_set_new(a, "reverse-identity",
				    json_pack("[s,s,s]", "r", rev_etype,
					      rev_label));
	ck_assert_int_eq(attrs_put(store_attrs(st), a, NULL), 0);
	json_decref(a);
}

/* A fresh store with the schema todos -owner-> profiles. */
static void
setup(void)
{
	char *err = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/app.db", dir);
	st = store_open(path, NULL, &err);
	ck_assert_msg(st != NULL, "%s", err != NULL ? err : "?");
	attr(A_TID, "todos", "id", "blob", "one", NULL, NULL);
	attr(A_TTITLE, "todos", "title", "blob", "one", NULL, NULL);
	attr(A_TMETA, "todos", "meta", "blob", "one", NULL, NULL);
	attr(A_TOWNER, "todos", "owner", "ref", "one", "profiles", "todos");
	attr(A_PID, "profiles", "id", "blob", "one", NULL, NULL);
	attr(A_PNAME, "profiles", "name", "blob", "one", NULL, NULL);
	applier = txapply_create(store_db(st), store_view(st), store_attrs(st),
				 TXAPPLY_CLIENT);
	ck_assert_ptr_nonnull(applier);
	sy = sync_create(st, applier, &err);
	ck_assert_msg(sy != NULL, "%s", err != NULL ? err : "?");
}

/* Free everything. */
static void
teardown(void)
{
	sync_free(sy);
	txapply_free(applier);
	store_free(st);
	unlink(path);
	snprintf(path, sizeof path, "%s/app.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/app.db-shm", dir);
	unlink(path);
	rmdir(dir);
	strcpy(dir, "/tmp/test_sync.XXXXXX");
}

/* One random step on a random entity among the todos in mask. */
static json_t *
random_step(unsigned int mask)
{
	const char *t, *p = profiles[rnd(NPROFILES)];
	unsigned int i;

	do
		i = rnd(NTODOS);
	while (!(mask & (1u << i)));
	t = todos[i];
	char v[32];

	snprintf(v, sizeof v, "v%u", rnd(5));
	switch (rnd(7)) {
	case 0:
		return json_pack("[s,s,s,s]", "add-triple", t, A_TID, t);
	case 1:
	case 2:
		return json_pack("[s,s,s,s]", "add-triple", t, A_TTITLE, v);
	case 3:
		return json_pack("[s,s,s,{s:o}]", "deep-merge-triple", t,
				 A_TMETA, v, rnd(3) == 0 ? json_null()
							 : json_integer(rnd(9)));
	case 4:
		return json_pack("[s,s,s,s]", "add-triple", t, A_TOWNER, p);
	case 5:
		return json_pack("[s,s,s,s]", "retract-triple", t, A_TTITLE, v);
	default:
		return json_pack("[s,s,s,s]", "add-triple", p, A_PNAME, v);
	}
}

/* What the server holds of each todo. */
struct server_todo {
	int present;
	unsigned int title;
	int owner; /* -1: none */
};

/* Change the todos whose bit is set in which at random. */
static void
random_server(struct server_todo *sv, unsigned int which)
{
	size_t i;

	for (i = 0; i < NTODOS; i++) {
		if (!(which & (1u << i)))
			continue;
		sv[i].present = rnd(3) != 0;
		sv[i].title = rnd(4);
		sv[i].owner = rnd(2) ? (int)rnd(NPROFILES) : -1;
	}
}

/* The server's result rows: [e, a, v, t]. */
static json_t *
server_rows(const struct server_todo *sv)
{
	json_t *rows = json_array();
	char v[32];
	size_t i;

	for (i = 0; i < NTODOS; i++) {
		if (!sv[i].present)
			continue;
		snprintf(v, sizeof v, "s%u", sv[i].title);
		json_array_append_new(rows, json_pack("[s,s,s,i]", todos[i],
						      A_TID, todos[i], 1));
		json_array_append_new(rows, json_pack("[s,s,s,i]", todos[i],
						      A_TTITLE, v, 2));
		/* Something to merge into (a client merge into nothing is
		 * dropped). */
		if (sv[i].title % 2)
			json_array_append_new(
			    rows, json_pack("[s,s,{s:i},i]", todos[i], A_TMETA,
					    "s", sv[i].title, 2));
		if (sv[i].owner >= 0)
			json_array_append_new(
			    rows, json_pack("[s,s,s,i]", todos[i], A_TOWNER,
					    profiles[sv[i].owner], 3));
	}
	return rows;
}

/* The rows of sql (e, a, v, n) as text, one a line. */
static char *
dump_sql(const char *sql)
{
	sqlite3_stmt *s;
	size_t len = 0, cap = 4096;
	char *out = malloc(cap);

	out[0] = '\0';
	ck_assert_int_eq(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *line[3] = {(const char *)sqlite3_column_text(s, 0),
				       (const char *)sqlite3_column_text(s, 1),
				       (const char *)sqlite3_column_text(s, 2)};
		size_t need = strlen(line[0]) + strlen(line[1]) +
			      strlen(line[2]) + 48;

		if (len + need >= cap) {
			cap = 2 * (len + need);
			out = realloc(out, cap);
		}
		len += (size_t)snprintf(out + len, cap - len, "%s %s %s %lld\n",
					line[0], line[1], line[2],
					(long long)sqlite3_column_int64(s, 3));
	}
	sqlite3_finalize(s);
	return out;
}

/* The view as text, one triple a line, in the order of t. */
static char *
dump_view(void)
{
	/* The t of a replayed triple depends on how many steps the applier
	 * ran before (now * 10 + a sequence): what must match is each
	 * triple and the order of the triples by t, which orders entities
	 * (serverCreatedAt). */
	return dump_sql("SELECT e, a, v, 0 FROM triples ORDER BY t, e, a, v");
}

/* Whether a transaction of txs touches an entity of dirty. */
static int
touches(const json_t *txs, const json_t *dirty)
{
	json_t *tx, *ents;
	const char *e;
	json_t *v;
	size_t i;
	int r = 0;

	json_array_foreach(txs, i, tx) {
		ents = json_object();
		sync_tx_entities(json_object_get(tx, "tx_steps"), ents);
		json_object_foreach(ents, e, v)
			if (json_object_get(dirty, e) != NULL)
				r = 1;
		json_decref(ents);
	}
	return r;
}

/* A first server result for q, every todo at random, in the view. */
static void
server_first(const json_t *q, struct server_todo *sv)
{
	json_t *rows, *dirty = json_object(), *etypes = json_object(),
		      *all = json_pack("{s:b}", "*", 1), *none = json_array();

	random_server(sv, (1u << NTODOS) - 1);
	rows = server_rows(sv);
	ck_assert_int_eq(sync_put_result(sy, q, rows, NULL, 1, 1, dirty,
					 etypes), 0);
	ck_assert_int_eq(sync_rebuild(sy, all, none, NULL), 0);
	json_decref(rows);
	json_decref(dirty);
	json_decref(etypes);
	json_decref(all);
	json_decref(none);
}

/* Up to maxtx pending transactions of up to maxsteps steps of gen(mask),
 * applied to the view: an array of {"tx_steps", "created"}. */
static json_t *
pending_txs(json_t *(*gen)(unsigned int), unsigned int mask, int maxtx,
	    int maxsteps)
{
	json_t *txs = json_array(), *tx;
	struct txapply_result res;
	int i, j, n = 1 + (int)rnd((unsigned int)maxtx);

	for (i = 0; i < n; i++) {
		tx = json_array();
		for (j = 1 + (int)rnd((unsigned int)maxsteps); j > 0; j--)
			json_array_append_new(tx, gen(mask));
		memset(&res, 0, sizeof res);
		ck_assert_int_eq(txapply_run(applier, tx, 100 + i, &res), 0);
		txapply_result_clear(&res);
		json_array_append_new(txs, json_pack("{s:o, s:i}", "tx_steps",
						     tx, "created", 100 + i));
	}
	return txs;
}

/* The server's result changes for the todos in changed: the entities
 * that changed (the ones a rebuild resets), as a new dirty set. */
static json_t *
server_change(const json_t *q, struct server_todo *sv, unsigned int changed)
{
	json_t *rows, *dirty = json_object(), *etypes = json_object();

	random_server(sv, changed);
	rows = server_rows(sv);
	ck_assert_int_eq(sync_put_result(sy, q, rows, NULL, 2, 2, dirty,
					 etypes), 0);
	json_decref(rows);
	json_decref(etypes);
	return dirty;
}

/*
 * A server result resets some todos; when no pending transaction touches
 * one of them, rebuilding without replaying anything gives the view a
 * full replay gives (each triple, and the order of their t).  Half the
 * cases keep the pending transactions off the todos the server changes.
 */
START_TEST(test_skipping_untouched_replay_equals_full_replay)
{
	json_t *q = json_pack("{s:{}}", "todos"), *txs, *dirty,
	       *none = json_array();
	struct server_todo sv[NTODOS];
	unsigned int changed, mask;
	int c, skipped = 0, touched = 0;
	char *full, *skip;

	seed = 20261126;
	memset(sv, 0, sizeof sv);
	for (c = 0; c < CASES; c++) {
		/* A server result, then pending transactions over it. */
		server_first(q, sv);
		changed = 1u + rnd((1u << NTODOS) - 1);
		mask = rnd(2) ? ((1u << NTODOS) - 1) & ~changed
			      : (1u << NTODOS) - 1;
		if (mask == 0)
			mask = (1u << NTODOS) - 1;
		txs = pending_txs(random_step, mask, 6, 3);
		/* The server's result changes: the dirty entities reset. */
		dirty = server_change(q, sv, changed);
		if (json_object_size(dirty) == 0 || touches(txs, dirty)) {
			touched += json_object_size(dirty) > 0;
			json_decref(txs);
			json_decref(dirty);
			continue;
		}
		ck_assert_int_eq(sync_rebuild(sy, dirty, txs, NULL), 0);
		full = dump_view();
		ck_assert_int_eq(sync_rebuild(sy, dirty, none, NULL), 0);
		skip = dump_view();
		ck_assert_msg(strcmp(full, skip) == 0,
			      "case %d: full replay\n%s\nno replay\n%s", c,
			      full, skip);
		skipped++;
		free(full);
		free(skip);
		json_decref(txs);
		json_decref(dirty);
	}
	/* Not vacuous: both kinds of case occur often. */
	ck_assert_int_gt(skipped, CASES / 5);
	ck_assert_int_gt(touched, CASES / 5);
	json_decref(q);
	json_decref(none);
}
END_TEST

/* A random step as random_step gives, or one of the kinds that change
 * more than their entity or name it by lookup, or with a mode. */
static json_t *
random_step_any(unsigned int mask)
{
	json_t *step;

	switch (rnd(10)) {
	case 0:
		return json_pack("[s,s,s]", "delete-entity",
				 todos[rnd(NTODOS)], "todos");
	case 1:
		return json_pack("[s,[s,s],s,s]", "add-triple", A_TTITLE, "v1",
				 A_TTITLE, "v2");
	case 2:
		step = random_step(mask);
		json_array_append_new(step, json_pack("{s:s}", "mode",
		    rnd(2) ? "create" : "update"));
		return step;
	default:
		return random_step(mask);
	}
}

/*
 * A server result resets some todos; a rebuild that replays only what
 * sync_replay_steps keeps of each pending transaction (nothing of those
 * sync_row_passes lets by) gives the view a full replay gives: the same
 * triples, and the dirty entities' triples in the same order of t.  That
 * is what the outbox relies on when no pending step is wild; in the
 * cases with a wild step (a delete, a lookup), sync_row_passes must let
 * no row with one by, and sync_replay_steps must keep such a row whole.
 */
START_TEST(test_filtered_replay_equals_full_replay)
{
	json_t *q = json_pack("{s:{}}", "todos"), *txs, *kept, *tx, *dirty,
	       *k, *v;
	int c, wild, passed = 0, dropped = 0, compared = 0;
	char *full, *part, *text, sql[1024];
	struct server_todo sv[NTODOS];
	const char *e;
	size_t i, m;

	seed = 20261127;
	memset(sv, 0, sizeof sv);
	for (c = 0; c < CASES; c++) {
		server_first(q, sv);
		txs = pending_txs(c % 2 ? random_step_any : random_step,
				  (1u << NTODOS) - 1, 8, 4);
		dirty = server_change(q, sv, 1u + rnd((1u << NTODOS) - 1));
		if (json_object_size(dirty) == 0) {
			json_decref(txs);
			json_decref(dirty);
			continue;
		}
		/* What each way replays. */
		kept = json_array();
		wild = 0;
		json_array_foreach(txs, m, tx) {
			json_t *steps = json_object_get(tx, "tx_steps");
			int row_wild = 0;

			json_array_foreach(steps, i, v)
				row_wild |= sync_step_wild(v);
			wild |= row_wild;
			text = json_dumps(steps, JSON_COMPACT);
			k = sync_replay_steps(steps, dirty);
			if (sync_row_passes(text, dirty)) {
				ck_assert_msg(k == NULL && !row_wild,
				    "passed by: %s", text);
				passed++;
			}
			free(text);
			if (row_wild)
				ck_assert(json_equal(k, steps));
			if (k == NULL) {
				dropped++;
				continue;
			}
			json_array_append_new(kept, json_pack("{s:o, s:O}",
			    "tx_steps", k, "created",
			    json_object_get(tx, "created")));
		}
		if (wild) {
			json_decref(kept);
			json_decref(txs);
			json_decref(dirty);
			continue;
		}
		/* The dirty entities' triples, in the order of t. */
		strcpy(sql, "SELECT e, a, v, 0 FROM triples WHERE e IN (''");
		json_object_foreach(dirty, e, v) {
			strcat(sql, ",'");
			strcat(sql, e);
			strcat(sql, "'");
		}
		strcat(sql, ") ORDER BY t, e, a, v");

		ck_assert_int_eq(sync_rebuild(sy, dirty, txs, NULL), 0);
		full = dump_sql("SELECT e, a, v, 0 FROM triples "
				"ORDER BY e, a, v");
		ck_assert_int_eq(sync_rebuild(sy, dirty, kept, NULL), 0);
		part = dump_sql("SELECT e, a, v, 0 FROM triples "
				"ORDER BY e, a, v");
		ck_assert_msg(strcmp(full, part) == 0,
			      "case %d: full replay\n%s\nfiltered\n%s", c, full,
			      part);
		free(full);
		free(part);
		ck_assert_int_eq(sync_rebuild(sy, dirty, txs, NULL), 0);
		full = dump_sql(sql);
		ck_assert_int_eq(sync_rebuild(sy, dirty, kept, NULL), 0);
		part = dump_sql(sql);
		ck_assert_msg(strcmp(full, part) == 0,
			      "case %d: order of t, full replay\n%s\n"
			      "filtered\n%s", c, full, part);
		free(full);
		free(part);
		compared++;
		json_decref(kept);
		json_decref(txs);
		json_decref(dirty);
	}
	/* Not vacuous: views are compared, and rows are passed by unparsed
	 * and dropped, often. */
	ck_assert_int_gt(compared, CASES / 3);
	ck_assert_int_gt(passed, CASES / 5);
	ck_assert_int_gt(dropped, CASES / 2);
	json_decref(q);
}
END_TEST

/* A triple's key in base, as sync writes it: "e a v" with v canonical. */
static char *
base_key(const char *e, const char *a, const json_t *v)
{
	char *vt = tstore_value_text(v), *k;
	size_t n = strlen(e) + strlen(a) + strlen(vt) + 3;

	k = malloc(n);
	snprintf(k, n, "%s %s %s", e, a, vt);
	free(vt);
	return k;
}

/* The counts base should hold: key -> the number of results holding it. */
static json_t *
expected_base(json_t *const *results, size_t n)
{
	json_t *want = json_object(), *t;
	size_t i, j;
	char *k;

	for (i = 0; i < n; i++) {
		json_array_foreach(results[i], j, t) {
			k = base_key(json_string_value(json_array_get(t, 0)),
				     json_string_value(json_array_get(t, 1)),
				     json_array_get(t, 2));
			json_object_set_new(want, k, json_integer(
			    json_integer_value(json_object_get(want, k)) + 1));
			free(k);
		}
	}
	return want;
}

/* Check base against the counts wanted (step says where we are). */
static void
check_base(const json_t *want, int step)
{
	json_t *got = json_object();
	sqlite3_stmt *s;
	const char *k;
	json_t *v;
	char *key;

	ck_assert_int_eq(sqlite3_prepare_v2(store_db(st),
	    "SELECT e, a, v, n FROM base", -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(s, 0) +
		    (size_t)sqlite3_column_bytes(s, 1) +
		    (size_t)sqlite3_column_bytes(s, 2) + 3;

		key = malloc(n);
		snprintf(key, n, "%s %s %s", sqlite3_column_text(s, 0),
		    sqlite3_column_text(s, 1), sqlite3_column_text(s, 2));
		json_object_set_new(got, key,
		    json_integer(sqlite3_column_int64(s, 3)));
		free(key);
	}
	sqlite3_finalize(s);
	json_object_foreach((json_t *)want, k, v)
		ck_assert_msg(json_equal(json_object_get(got, k), v),
		    "step %d: %s counted %lld, not %lld", step, k,
		    (long long)json_integer_value(json_object_get(got, k)),
		    (long long)json_integer_value(v));
	ck_assert_msg(json_object_size(got) == json_object_size(want),
	    "step %d: base holds %zu triples, not %zu", step,
	    json_object_size(got), json_object_size(want));
	json_decref(got);
}

#define NQUERIES 300 /* more than sync keeps in memory */
#define STEPS 1500

/* A random result over the todos, for one of the queries. */
static json_t *
random_result(void)
{
	struct server_todo sv[NTODOS];

	memset(sv, 0, sizeof sv);
	random_server(sv, (1u << NTODOS) - 1);
	return server_rows(sv);
}

/*
 * Results put, replaced and dropped at random over NQUERIES queries; a
 * put is sometimes rolled back (the next put of that query follows it),
 * and sync is sometimes re-created.  Base always counts what the current
 * results hold.
 */
START_TEST(test_base_counts_every_current_result)
{
	json_t *results[NQUERIES], *q[NQUERIES], *r, *want, *dirty, *etypes;
	int i, k, rolled = 0, restarts = 0;
	size_t entries, bytes;
	char *err = NULL;

	seed = 7;
	for (i = 0; i < NQUERIES; i++) {
		results[i] = json_array();
		q[i] = json_pack("{s:{s:{s:{s:i}}}}", "todos", "$", "where",
		    "n", i);
	}
	/* A query dropped before it had a result (an unsubscribe before
	 * the server answered): there is nothing to compare with. */
	dirty = json_object();
	ck_assert_int_eq(sync_drop_result(sy, q[0], dirty, NULL), 0);
	ck_assert_int_eq(json_object_size(dirty), 0);
	json_decref(dirty);
	/* Every query gets a result: more than sync keeps in memory. */
	ck_assert_int_eq(store_begin(st), 0);
	for (i = 0; i < NQUERIES; i++) {
		dirty = json_object();
		json_decref(results[i]);
		results[i] = random_result();
		ck_assert_int_eq(sync_put_result(sy, q[i], results[i], NULL, 1,
		    1, dirty, NULL), 0);
		json_decref(dirty);
	}
	ck_assert_int_eq(store_commit(st), 0);
	/* The copies kept in memory stay within their bounds. */
	sync_cache_stats(sy, &entries, &bytes);
	ck_assert_int_eq(entries, 256);
	ck_assert_uint_le(bytes, 8u << 20);
	for (k = 0; k < STEPS; k++) {
		/* Mostly a few hot queries, sometimes any. */
		i = (int)(rnd(4) == 0 ? rnd(NQUERIES) : rnd(40));
		dirty = json_object();
		etypes = json_object();
		switch (rnd(10)) {
		case 0:
			ck_assert_int_eq(sync_drop_result(sy, q[i], dirty,
			    etypes), 0);
			json_array_clear(results[i]);
			break;
		case 1:
			/* Rolled back: the result stays what it was, and the
			 * next put must compare with that one. */
			r = random_result();
			ck_assert_int_eq(store_begin(st), 0);
			ck_assert_int_eq(sync_put_result(sy, q[i], r, NULL, 1,
			    1, dirty, etypes), 0);
			ck_assert_int_eq(store_rollback(st), 0);
			json_decref(r);
			rolled++;
			/* fall through */
		default:
			r = random_result();
			ck_assert_int_eq(store_begin(st), 0);
			ck_assert_int_eq(sync_put_result(sy, q[i], r, NULL, 2,
			    2, dirty, etypes), 0);
			ck_assert_int_eq(store_commit(st), 0);
			json_decref(results[i]);
			results[i] = r;
			break;
		case 2:
			sync_free(sy);
			sy = sync_create(st, applier, &err);
			ck_assert_ptr_nonnull(sy);
			restarts++;
			break;
		}
		json_decref(dirty);
		json_decref(etypes);
		/* A count gone wrong stays wrong: checking every few steps
		 * finds it. */
		if (k % 10 != 9)
			continue;
		want = expected_base(results, NQUERIES);
		check_base(want, k);
		json_decref(want);
	}
	ck_assert_int_gt(rolled, STEPS / 20);
	ck_assert_int_gt(restarts, STEPS / 20);
	for (i = 0; i < NQUERIES; i++) {
		json_decref(results[i]);
		json_decref(q[i]);
	}
}
END_TEST

/* A result stored by an earlier version (the triples as JSON text) is
 * read when the next result replaces it. */
START_TEST(test_result_stored_as_json_is_replaced)
{
	json_t *q = json_pack("{s:{}}", "todos"), *old, *r, *want, *dirty,
	       *etypes, *both[1];
	struct server_todo sv[NTODOS];
	sqlite3_stmt *s;
	char *text, *canonical;
	size_t i;
	json_t *t;

	seed = 11;
	memset(sv, 0, sizeof sv);
	random_server(sv, (1u << NTODOS) - 1);
	sv[0].present = 1;
	old = server_rows(sv);
	/* What an earlier version left: the row, and base's counts. */
	text = json_dumps(old, JSON_COMPACT);
	canonical = tstore_value_text(q);
	ck_assert_int_eq(sqlite3_prepare_v2(store_db(st),
	    "INSERT INTO queries (canonical, q, result, processed_tx_id, "
	    "updated) VALUES (?1, ?1, ?2, 1, 1)", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, canonical, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	ck_assert_int_eq(sqlite3_prepare_v2(store_db(st),
	    "INSERT INTO base (e, a, v, t, n) VALUES (?1, ?2, ?3, 1, 1)", -1,
	    &s, NULL), SQLITE_OK);
	json_array_foreach(old, i, t) {
		char *v = tstore_value_text(json_array_get(t, 2));

		sqlite3_bind_text(s, 1, json_string_value(json_array_get(t, 0)),
		    -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, json_string_value(json_array_get(t, 1)),
		    -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, v, -1, SQLITE_TRANSIENT);
		ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
		sqlite3_reset(s);
		free(v);
	}
	sqlite3_finalize(s);
	/* Todo 0 goes: its triples must leave base. */
	sv[0].present = 0;
	r = server_rows(sv);
	dirty = json_object();
	etypes = json_object();
	ck_assert_int_eq(sync_put_result(sy, q, r, NULL, 2, 2, dirty, etypes),
	    0);
	ck_assert_ptr_nonnull(json_object_get(dirty, T0));
	both[0] = r;
	want = expected_base(both, 1);
	check_base(want, 0);
	json_decref(want);
	json_decref(dirty);
	json_decref(etypes);
	json_decref(r);
	json_decref(old);
	json_decref(q);
	free(text);
	free(canonical);
}
END_TEST

/* A result larger than the whole cache is not kept, and does not push
 * out the ones that are. */
START_TEST(test_huge_result_is_not_kept)
{
	json_t *small = json_pack("{s:{}}", "profiles"), *huge_q = json_pack(
	    "{s:{}}", "todos"), *rows = json_array(), *dirty = json_object();
	size_t entries, bytes;
	char e[48];
	int i;

	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(sync_put_result(sy, small, rows, NULL, 1, 1, dirty,
	    NULL), 0);
	sync_cache_stats(sy, &entries, &bytes);
	ck_assert_int_eq(entries, 1);
	/* 80,000 triples: about 10 MiB of keys. */
	for (i = 0; i < 80000; i++) {
		snprintf(e, sizeof e, "30000000-0000-4000-8000-%012d", i);
		json_array_append_new(rows, json_pack("[s,s,s,i]", e, A_TTITLE,
		    "a title", 1));
	}
	ck_assert_int_eq(sync_put_result(sy, huge_q, rows, NULL, 1, 1, dirty,
	    NULL), 0);
	ck_assert_int_eq(store_commit(st), 0);
	sync_cache_stats(sy, &entries, &bytes);
	ck_assert_int_eq(entries, 1);
	ck_assert_uint_le(bytes, 1024);
	json_decref(small);
	json_decref(huge_q);
	json_decref(rows);
	json_decref(dirty);
}
END_TEST

/* The suite. */
static Suite *
sync_suite(void)
{
	Suite *s = suite_create("sync");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_skipping_untouched_replay_equals_full_replay);
	tcase_add_test(tc, test_filtered_replay_equals_full_replay);
	tcase_add_test(tc, test_base_counts_every_current_result);
	tcase_add_test(tc, test_result_stored_as_json_is_replaced);
	tcase_add_test(tc, test_huge_result_is_not_kept);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite. */
int
main(void)
{
	SRunner *sr = srunner_create(sync_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
