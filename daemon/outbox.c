/*
 * outbox.c: compile, apply, persist, group commit.
 *
 * A batch is a SQLite transaction opened by the first transaction of a
 * loop turn; a libevent event activated at that moment runs after the
 * events already active in the turn and commits it.  Each transaction of
 * the batch sits in its own SAVEPOINT, so an invalid one is rolled back
 * alone while the others stay in the batch.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "daemon/app.h"
#include "daemon/log.h"
#include "daemon/outbox.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/subs.h"
#include "daemon/xmalloc.h"
#include "engine/attrs.h"
#include "engine/instaml.h"
#include "engine/store.h"
#include "engine/txapply.h"
#include "proto/proto.h"
#include "proto/uuid.h"

/* A transaction waiting for its batch to commit. */
struct outbox_entry {
	struct reply *reply;
	char tx[UUID_STRLEN + 1];
	TAILQ_ENTRY(outbox_entry) entry;
};
TAILQ_HEAD(outbox_entry_list, outbox_entry);

struct outbox {
	struct app *app;
	struct store *store;
	struct txapply *applier;
	struct event *commit_ev;
	int open;                    /* a batch is open */
	struct outbox_entry_list batch;
	json_t *etypes;              /* namespaces the batch touched */
	int64_t unsynced;
};

static void outbox_commit_cb(evutil_socket_t, short, void *);

/* The write path over the app's open store. */
struct outbox *
outbox_create(struct app *app)
{
	struct outbox *ob = xcalloc(1, sizeof *ob);
	struct store *st = app_store(app);

	ob->app = app;
	ob->store = st;
	TAILQ_INIT(&ob->batch);
	ob->applier = txapply_create(store_db(st), store_view(st),
	    store_attrs(st), TXAPPLY_CLIENT);
	if (ob->applier == NULL)
		fatal("out of memory creating the applier");
	ob->commit_ev = event_new(app_server(app)->base, -1, 0,
	    outbox_commit_cb, ob);
	if (store_outbox_unsynced(st, &ob->unsynced) != 0) {
		log_warn("app %s: cannot count the outbox: %s", app_id(app),
		    store_errmsg(st));
		ob->unsynced = 0;
	}
	return ob;
}

/* Commit what is open, then free. */
void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	if (ob->open)
		outbox_commit_cb(-1, 0, ob);
	event_free(ob->commit_ev);
	txapply_free(ob->applier);
	json_decref(ob->etypes);
	free(ob);
}

/* Unsynced count. */
int64_t
outbox_unsynced(const struct outbox *ob)
{
	return ob->unsynced;
}

/* Run one SQL statement without results on the store's database. */
static int
outbox_exec(struct outbox *ob, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(store_db(ob->store), sql, NULL, NULL, &err) !=
	    SQLITE_OK) {
		log_error("app %s: %s: %s", app_id(ob->app), sql,
		    err != NULL ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* Open the batch if needed and arm its commit. */
static int
outbox_open_batch(struct outbox *ob)
{
	if (ob->open)
		return 0;
	if (store_begin(ob->store) != 0)
		return -1;
	ob->open = 1;
	event_active(ob->commit_ev, EV_TIMEOUT, 0);
	return 0;
}

/* Add the namespaces of etypes to the batch's set. */
static void
outbox_note_etypes(struct outbox *ob, const json_t *etypes)
{
	size_t i, j;
	int seen;

	if (ob->etypes == NULL)
		ob->etypes = json_array();
	for (i = 0; i < json_array_size(etypes); i++) {
		json_t *e = json_array_get(etypes, i);

		seen = 0;
		for (j = 0; j < json_array_size(ob->etypes) && !seen; j++)
			seen = json_equal(json_array_get(ob->etypes, j), e);
		if (!seen)
			json_array_append(ob->etypes, e);
	}
}

/*
 * Compile, apply and append one transaction inside the open batch.
 * Returns 0, or -1 with *code and *errmsg (caller frees) set and the
 * savepoint rolled back.
 */
static int
outbox_apply(struct outbox *ob, struct session *s, const json_t *steps,
    char tx[UUID_STRLEN + 1], enum proto_code *code, char **errmsg)
{
	struct txapply_result res;
	json_t *tx_steps = NULL, *new_attrs = NULL;
	int64_t now = server_now_ms(), seq;
	size_t nattrs = attrs_count(store_attrs(ob->store));
	int r = -1;

	memset(&res, 0, sizeof res);
	*code = PROTO_INTERNAL;
	if (outbox_exec(ob, "SAVEPOINT outbox_tx") != 0) {
		*errmsg = xstrdup(store_errmsg(ob->store));
		return -1;
	}
	if (instaml_compile(steps, store_attrs(ob->store),
	    store_view(ob->store), &tx_steps, &new_attrs, errmsg) != 0) {
		*code = PROTO_BAD_REQUEST;
		goto out;
	}
	if (txapply_run(ob->applier, tx_steps, now, &res) != 0) {
		*errmsg = xstrdup(res.error != NULL ? json_string_value(
		    json_object_get(res.error, "message")) :
		    "the transaction could not be applied");
		goto out;
	}
	/* Unsynced attrs are re-sent (and re-applied) by every transaction
	 * that uses them; save the registry only when it grew. */
	if ((attrs_count(store_attrs(ob->store)) != nattrs &&
	    store_attrs_save(ob->store) != 0) || uuid_v4(tx) != 0 ||
	    store_outbox_append(ob->store, tx, steps, tx_steps,
	    session_name(s), now, &seq) != 0) {
		*errmsg = xstrdup(store_errmsg(ob->store));
		goto out;
	}
	outbox_note_etypes(ob, res.etypes);
	r = 0;
out:
	if (r != 0)
		outbox_exec(ob, "ROLLBACK TO outbox_tx");
	outbox_exec(ob, "RELEASE outbox_tx");
	txapply_result_clear(&res);
	json_decref(tx_steps);
	json_decref(new_attrs);
	return r;
}

/* transact: into the batch; the reply follows the commit. */
void
outbox_transact(struct outbox *ob, struct session *s, struct reply *r,
    const json_t *steps)
{
	struct outbox_entry *e;
	enum proto_code code;
	char tx[UUID_STRLEN + 1], *err = NULL;

	if (outbox_open_batch(ob) != 0) {
		reply_error(r, PROTO_INTERNAL, NULL, "storage failed: %s",
		    store_errmsg(ob->store));
		return;
	}
	if (outbox_apply(ob, s, steps, tx, &code, &err) != 0) {
		reply_error(r, code, NULL, "%s", err != NULL ? err :
		    "invalid transaction");
		free(err);
		return;
	}
	e = xcalloc(1, sizeof *e);
	e->reply = reply_ref(r);
	memcpy(e->tx, tx, sizeof e->tx);
	TAILQ_INSERT_TAIL(&ob->batch, e, entry);
	ob->unsynced++;
}

/* Commit the batch, answer its transactions, update subscribers. */
static void
outbox_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *ob = arg;
	struct outbox_entry *e;
	json_t *etypes = ob->etypes;
	int failed = 0;

	ob->open = 0;
	ob->etypes = NULL;
	if (store_commit(ob->store) != 0) {
		failed = 1;
		log_error("app %s: commit failed: %s", app_id(ob->app),
		    store_errmsg(ob->store));
		store_rollback(ob->store);
		store_outbox_unsynced(ob->store, &ob->unsynced);
	}
	while ((e = TAILQ_FIRST(&ob->batch)) != NULL) {
		TAILQ_REMOVE(&ob->batch, e, entry);
		if (failed)
			reply_error(e->reply, PROTO_INTERNAL, NULL,
			    "storage failed, the transaction was not saved: %s",
			    store_errmsg(ob->store));
		else
			reply_ok(e->reply, json_pack("{s:s, s:s}", "tx", e->tx,
			    "status", "enqueued"));
		reply_unref(e->reply);
		free(e);
	}
	subs_changed(app_subs(ob->app), failed ? NULL : etypes);
	json_decref(etypes);
}

/* One outbox row as the pending op shows it. */
static int
outbox_list_cb(void *arg, const struct store_tx *t)
{
	json_t *txs = arg, *row, *err;
	char when[32];

	row = json_pack("{s:s, s:s, s:s, s:s}", "tx", t->tx, "status",
	    store_tx_status_name(t->status), "created",
	    server_iso_time(t->created, when), "client",
	    t->client != NULL ? t->client : "");
	if (t->tx_id >= 0)
		json_object_set_new(row, "tx_id", json_integer(t->tx_id));
	if (t->error != NULL &&
	    (err = json_loads(t->error, JSON_DECODE_ANY, NULL)) != NULL)
		json_object_set_new(row, "error", err);
	json_array_append_new(txs, row);
	return 0;
}

/* The pending op's list. */
json_t *
outbox_list(struct outbox *ob, char **errmsg)
{
	json_t *txs = json_array();

	if (store_outbox_scan(ob->store, outbox_list_cb, txs) != 0) {
		*errmsg = xstrdup(store_errmsg(ob->store));
		json_decref(txs);
		return NULL;
	}
	return txs;
}
