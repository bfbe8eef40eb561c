/*
 * app.c: an app's SQLite database, attr registry, queries and commits.
 *
 * Layout of DIR/<app-id>.sqlite: "triples" (engine/tstore), "attrs"
 * (id, JSON text of the attr), "transactions" (an AUTOINCREMENT id, so
 * tx-ids only grow, even across restarts) and the users tables.  WAL with
 * synchronous=NORMAL: a killed devserver keeps every commit.
 *
 * The system $users attrs are put into the registry at open and never
 * stored; they keep fixed ids so that clients see the same ids after a
 * restart.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <sqlite3.h>

#include "daemon/log.h"
#include "daemon/xmalloc.h"
#include "devserver/app.h"
#include "devserver/error.h"
#include "devserver/users.h"
#include "engine/attrs.h"
#include "engine/instaql.h"
#include "engine/tstore.h"
#include "engine/txapply.h"
#include "proto/proto.h"

struct app {
	char *id;
	sqlite3 *db;
	struct tstore *ts;
	struct attrs *attrs;
	struct txapply *tx;
	struct users *users;
	sqlite3_stmt *put_attr;
	sqlite3_stmt *new_tx;
	int64_t last_tx; /* 0: none yet */
};

static const char app_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS attrs (id TEXT PRIMARY KEY,"
    " json TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS transactions (id INTEGER PRIMARY KEY"
    " AUTOINCREMENT, created_at INTEGER NOT NULL);";

#define APP_USERS_ID_ATTR "5a6e3f0e-8d0c-4a44-9b27-0000000000a1"
#define APP_USERS_EMAIL_ATTR "5a6e3f0e-8d0c-4a44-9b27-0000000000a2"

/* The system catalog attrs of $users, as Instant sends them. */
static const char app_system_attrs[] =
    "["
    "{\"id\":\"" APP_USERS_ID_ATTR "\","
    "\"forward-identity\":[\"5a6e3f0e-8d0c-4a44-9b27-0000000000f1\","
    "\"$users\",\"id\"],\"value-type\":\"blob\",\"cardinality\":\"one\","
    "\"unique?\":true,\"index?\":false,\"required?\":false,"
    "\"inferred-types\":[\"string\"],\"catalog\":\"system\"},"
    "{\"id\":\"" APP_USERS_EMAIL_ATTR "\","
    "\"forward-identity\":[\"5a6e3f0e-8d0c-4a44-9b27-0000000000f2\","
    "\"$users\",\"email\"],\"value-type\":\"blob\",\"cardinality\":\"one\","
    "\"unique?\":true,\"index?\":true,\"required?\":false,"
    "\"inferred-types\":[\"string\"],\"catalog\":\"system\","
    "\"checked-data-type\":\"string\"}]";

/* Milliseconds since the epoch. */
static int64_t
app_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Set *errmsg to "what: sqlite's message". */
static void
app_db_error(struct app *a, const char *what, char **errmsg)
{
	xasprintf(errmsg, "%s: %s", what, sqlite3_errmsg(a->db));
}

/* Load the stored attrs, then the system ones. */
static int
app_load_attrs(struct app *a, char **errmsg)
{
	sqlite3_stmt *st = NULL;
	json_t *sys, *v;
	const char *why;
	int rc, r = -1;

	if (sqlite3_prepare_v2(a->db, "SELECT json FROM attrs", -1, &st,
			       NULL) != SQLITE_OK) {
		app_db_error(a, "attrs", errmsg);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = json_loads((const char *)sqlite3_column_text(st, 0), 0,
			       NULL);
		if (v == NULL || attrs_put(a->attrs, v, &why) != 0)
			log_warn("app %s: skipping a bad stored attr", a->id);
		json_decref(v);
	}
	if (rc != SQLITE_DONE) {
		app_db_error(a, "attrs", errmsg);
		goto out;
	}
	sys = json_loads(app_system_attrs, 0, NULL);
	for (size_t i = 0; i < json_array_size(sys); i++)
		attrs_put(a->attrs, json_array_get(sys, i), &why);
	json_decref(sys);
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/* Read the newest tx-id. */
static int
app_load_last_tx(struct app *a, char **errmsg)
{
	sqlite3_stmt *st = NULL;
	int r = -1;

	if (sqlite3_prepare_v2(a->db,
			       "SELECT coalesce(max(id), 0) FROM"
			       " transactions",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		app_db_error(a, "transactions", errmsg);
		goto out;
	}
	a->last_tx = sqlite3_column_int64(st, 0);
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

/* Open the database file and create the schema. */
static int
app_open_db(struct app *a, const char *dir, char **errmsg)
{
	char *path, *err = NULL;
	int r = -1;

	xasprintf(&path, "%s/%s.sqlite", dir, a->id);
	if (sqlite3_open(path, &a->db) != SQLITE_OK) {
		app_db_error(a, path, errmsg);
		goto out;
	}
	sqlite3_busy_timeout(a->db, 5000);
	if (sqlite3_exec(a->db, app_schema, NULL, NULL, &err) != SQLITE_OK) {
		xasprintf(errmsg, "%s: %s", path, err);
		sqlite3_free(err);
		goto out;
	}
	if (sqlite3_prepare_v2(a->db,
			       "INSERT OR REPLACE INTO attrs (id, json)"
			       " VALUES (?, ?)",
			       -1, &a->put_attr, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(a->db,
			       "INSERT INTO transactions (created_at)"
			       " VALUES (?)",
			       -1, &a->new_tx, NULL) != SQLITE_OK) {
		app_db_error(a, path, errmsg);
		goto out;
	}
	r = 0;
out:
	free(path);
	return r;
}

/* Open an app. */
struct app *
app_open(const char *dir, const char *id, char **errmsg)
{
	struct app *a = xcalloc(1, sizeof *a);

	a->id = xstrdup(id);
	a->attrs = attrs_create();
	if (a->attrs == NULL || app_open_db(a, dir, errmsg) != 0)
		goto fail;
	if ((a->ts = tstore_create(a->db, "triples", errmsg)) == NULL)
		goto fail;
	if (app_load_attrs(a, errmsg) != 0 || app_load_last_tx(a, errmsg) != 0)
		goto fail;
	if ((a->users = users_create(a->db, errmsg)) == NULL)
		goto fail;
	a->tx = txapply_create(a->db, a->ts, a->attrs, TXAPPLY_SERVER);
	if (a->tx == NULL) {
		*errmsg = xstrdup("cannot create the transaction applier");
		goto fail;
	}
	return a;
fail:
	app_free(a);
	return NULL;
}

/* Close an app. */
void
app_free(struct app *a)
{
	if (a == NULL)
		return;
	txapply_free(a->tx);
	users_free(a->users);
	tstore_free(a->ts);
	attrs_free(a->attrs);
	sqlite3_finalize(a->put_attr);
	sqlite3_finalize(a->new_tx);
	sqlite3_close(a->db);
	free(a->id);
	free(a);
}

/* The app id. */
const char *
app_id(const struct app *a)
{
	return a->id;
}

/* The app's users. */
struct users *
app_users(struct app *a)
{
	return a->users;
}

/* The app row for init-ok. */
json_t *
app_row(const struct app *a)
{
	return json_pack("{s:s,s:s}", "id", a->id, "title",
			 "instant-devserver");
}

/* All attrs. */
json_t *
app_attrs(const struct app *a)
{
	return attrs_to_json(a->attrs);
}

/* The newest tx-id, or null. */
json_t *
app_processed_tx_id(const struct app *a)
{
	return a->last_tx > 0 ? json_integer(a->last_tx) : json_null();
}

/* Whether a top-level query node asks for a page. */
static int
app_paginated(const json_t *node)
{
	static const char *const keys[] = {"limit",  "first",  "last",
					   "offset", "before", "after"};
	json_t *opts = json_object_get(node, "$");

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_get(opts, keys[i]) != NULL)
			return 1;
	return 0;
}

/* The page-info of the paginated namespaces of q, or NULL if none. */
static json_t *
app_page_info(const json_t *q, const json_t *all)
{
	json_t *pi = NULL, *v;
	const char *etype;

	json_object_foreach((json_t *)all, etype, v)
	{
		if (!app_paginated(json_object_get(q, etype)))
			continue;
		if (pi == NULL)
			pi = json_object();
		json_object_set(pi, etype, v);
	}
	return pi;
}

/* Shape an evaluation as add-query-ok's one-node join-rows result. */
static json_t *
app_result_json(const json_t *q, const struct instaql_result *res)
{
	json_t *data, *rows = json_array(), *pi;

	if (json_array_size(res->triples) > 0)
		json_array_append(rows, res->triples);
	data = json_pack("{s:{s:o}}", "datalog-result", "join-rows", rows);
	if ((pi = app_page_info(q, res->page_info)) != NULL)
		json_object_set_new(data, "page-info", pi);
	if (json_object_size(res->aggregate) > 0)
		json_object_set(data, "aggregate", res->aggregate);
	return json_pack("[{s:o,s:[]}]", "data", data, "child-nodes");
}

/* Evaluate q (an object) in server mode into *result (and *topics), or
 * *err. */
static int
app_eval(struct app *a, const json_t *q, json_t **result, json_t **topics,
	 json_t **err)
{
	struct instaql_opts opts = { .server = 1 };
	struct instaql_result res;
	char *errmsg = NULL;

	memset(&res, 0, sizeof res);
	if (instaql_eval(a->ts, a->attrs, q, &opts, &res, &errmsg) != 0) {
		*err = error_validation(
		    "query", q, errmsg != NULL ? errmsg : "invalid query");
		free(errmsg);
		return -1;
	}
	*result = app_result_json(q, &res);
	if (topics != NULL)
		*topics = json_incref(res.topics);
	instaql_result_clear(&res);
	return 0;
}

/* Run a query in server mode.  "$$ruleParams" only feeds permission
 * rules, which the devserver does not have: it is left out. */
int
app_query(struct app *a, const json_t *q, json_t **result, json_t **topics,
	  json_t **err)
{
	json_t *plain;
	int r;

	*result = NULL;
	*err = NULL;
	if (topics != NULL)
		*topics = NULL;
	if (!json_is_object(q)) {
		*err = error_validation("query", q, "Query must be an object.");
		return -1;
	}
	if (json_object_get(q, "$$ruleParams") == NULL)
		return app_eval(a, q, result, topics, err);
	plain = json_copy((json_t *)q);
	json_object_del(plain, "$$ruleParams");
	r = app_eval(a, plain, result, topics, err);
	json_decref(plain);
	return r;
}

/* Canonical text of the registry, to see whether a transaction changed it. */
static char *
app_attrs_text(const struct app *a)
{
	json_t *all = attrs_to_json(a->attrs);
	char *s = proto_canonical(all);

	json_decref(all);
	return s;
}

/* Store every user attr (system attrs stay in code). */
static int
app_save_attrs(struct app *a)
{
	const struct attr *at;
	char *text;
	int rc = SQLITE_DONE;

	if (sqlite3_exec(a->db, "DELETE FROM attrs", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return -1;
	for (size_t i = 0; i < attrs_count(a->attrs) && rc == SQLITE_DONE;
	     i++) {
		at = attrs_at(a->attrs, i);
		if (strcmp(at->etype, "$users") == 0)
			continue;
		text = json_dumps(at->json, JSON_COMPACT);
		sqlite3_bind_text(a->put_attr, 1, at->id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(a->put_attr, 2, text, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(a->put_attr);
		sqlite3_reset(a->put_attr);
		free(text);
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Record the transaction row and return its id. */
static int
app_new_tx(struct app *a, int64_t now, int64_t *tx_id)
{
	int rc;

	sqlite3_bind_int64(a->new_tx, 1, now);
	rc = sqlite3_step(a->new_tx);
	sqlite3_reset(a->new_tx);
	if (rc != SQLITE_DONE)
		return -1;
	*tx_id = sqlite3_last_insert_rowid(a->db);
	return 0;
}

/* A 500 error for a database failure. */
static json_t *
app_internal_error(struct app *a)
{
	log_error("app %s: %s", a->id, sqlite3_errmsg(a->db));
	return error_new(500, "sql-exception", "Database error", NULL);
}

/* After a failed commit, make the registry match the database again. */
static void
app_reload_attrs(struct app *a)
{
	char *errmsg = NULL;

	attrs_free(a->attrs);
	a->attrs = attrs_create();
	if (app_load_attrs(a, &errmsg) != 0) {
		log_error("app %s: %s", a->id, errmsg);
		free(errmsg);
	}
	txapply_free(a->tx);
	a->tx = txapply_create(a->db, a->ts, a->attrs, TXAPPLY_SERVER);
}

/* Release a commit's members. */
void
app_commit_clear(struct app_commit *c)
{
	json_decref(c->etypes);
	memset(c, 0, sizeof *c);
}

/* Apply steps atomically. */
int
app_transact(struct app *a, const json_t *steps, struct app_commit *c,
	     json_t **err)
{
	struct txapply_result res;
	char *before = NULL, *after = NULL;
	int64_t now = app_now_ms();
	int r = -1;

	memset(&res, 0, sizeof res);
	memset(c, 0, sizeof *c);
	*err = NULL;
	if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		*err = app_internal_error(a);
		return -1;
	}
	before = app_attrs_text(a);
	if (txapply_run(a->tx, steps, now, &res) != 0) {
		*err = res.error != NULL
			   ? json_incref(res.error)
			   : error_new(500, "sql-exception",
				       "Transaction failed", NULL);
		goto out;
	}
	after = app_attrs_text(a);
	c->attrs_changed = strcmp(before, after) != 0;
	if ((c->attrs_changed && app_save_attrs(a) != 0) ||
	    app_new_tx(a, now, &c->tx_id) != 0 ||
	    sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		*err = app_internal_error(a);
		goto out;
	}
	a->last_tx = c->tx_id;
	c->etypes = res.etypes != NULL ? json_incref(res.etypes) : json_array();
	r = 0;
out:
	if (r != 0) {
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		if (after != NULL)
			app_reload_attrs(a);
	}
	txapply_result_clear(&res);
	free(before);
	free(after);
	return r;
}

/* The etype an add-attr step declares for attr_id, or NULL. */
static const char *
app_step_declares(const json_t *step, const char *attr_id)
{
	const char *op = json_string_value(json_array_get(step, 0));
	json_t *attr = json_array_get(step, 1);
	const char *id = json_string_value(json_object_get(attr, "id"));

	if (op == NULL || strcmp(op, "add-attr") != 0 || id == NULL ||
	    strcmp(id, attr_id) != 0)
		return NULL;
	return json_string_value(
	    json_array_get(json_object_get(attr, "forward-identity"), 1));
}

/* Find the etype of attr_id among the registry and add-attr steps. */
const char *
app_attr_etype(const struct app *a, const char *attr_id, const json_t *steps)
{
	const struct attr *at = attrs_by_id(a->attrs, attr_id);
	const char *etype;
	json_t *step;
	size_t i;

	if (at != NULL)
		return at->etype;
	json_array_foreach(
	    steps, i, step) if ((etype = app_step_declares(step, attr_id)) !=
				NULL) return etype;
	return NULL;
}

/* Add one triple whose value is the JSON string v. */
static int
app_add_string(struct app *a, const char *e, const char *attr, const char *v,
	       int64_t now)
{
	json_t *j = json_string(v);
	char *text = j != NULL ? tstore_value_text(j) : NULL;
	int r = text != NULL ? tstore_add(a->ts, e, attr, text, now) : -1;

	free(text);
	json_decref(j);
	return r;
}

/* Write a new user's $users entity as one transaction. */
int
app_add_user(struct app *a, const json_t *user, struct app_commit *c)
{
	const char *id = json_string_value(json_object_get(user, "id"));
	const char *email = json_string_value(json_object_get(user, "email"));
	int64_t now = app_now_ms();

	memset(c, 0, sizeof *c);
	if (id == NULL || sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL,
				       NULL) != SQLITE_OK)
		return -1;
	if (app_add_string(a, id, APP_USERS_ID_ATTR, id, now) != 0 ||
	    (email != NULL &&
	     app_add_string(a, id, APP_USERS_EMAIL_ATTR, email, now) != 0) ||
	    app_new_tx(a, now, &c->tx_id) != 0 ||
	    sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_error("app %s: %s", a->id, sqlite3_errmsg(a->db));
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	a->last_tx = c->tx_id;
	c->etypes = json_pack("[s]", "$users");
	return 0;
}
