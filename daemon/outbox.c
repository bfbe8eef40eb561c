/*
 * outbox.c: compile, apply, persist, group commit.
 *
 * A batch is a SQLite transaction opened by the first transaction of a
 * loop turn; a libevent event activated at that moment runs after the
 * events already active in the turn and commits it.  Each transaction of
 * the batch sits in its own SAVEPOINT, so an invalid one is rolled back
 * alone while the others stay in the batch.
 *
 * A synced transaction stays in the outbox (and in the view) until every
 * cached server result has a processed-tx-id at or past its tx-id.  One
 * whose resend was refused because its first send had been committed has
 * no known tx-id: it is kept as OUTBOX_TX_UNKNOWN until the next server
 * result, whose processed-tx-id is past that first commit, stands in for
 * it.  Dropping it at once would hide an acknowledged write locally until
 * a result brought it back, and for good if the daemon died meanwhile.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

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
#include "engine/stepcache.h"
#include "engine/store.h"
#include "engine/strmap.h"
#include "engine/sync.h"
#include "engine/txapply.h"
#include "proto/proto.h"
#include "proto/uuid.h"

#define OUTBOX_TX_UNKNOWN INT64_MAX /* synced, tx-id never received */

/*
 * A transaction waiting for its batch to commit (in batch), or for the
 * server (in synced_waits, wait:"synced"); or just who submitted it, for
 * tx events (in submitters).
 */
struct outbox_entry {
	struct reply *reply;          /* NULL in submitters */
	struct session *session;
	char tx[UUID_STRLEN + 1];
	int wait_synced;
	TAILQ_ENTRY(outbox_entry) entry;
};
TAILQ_HEAD(outbox_entry_list, outbox_entry);

struct outbox {
	struct app *app;
	struct store *store;
	struct txapply *applier;
	struct event *commit_ev;
	struct event *prune_ev;      /* forgets old rejections, off the start */
	int open;                    /* a batch is open */
	struct outbox_entry_list batch;
	struct outbox_entry_list synced_waits;
	struct outbox_entry_list submitters;
	json_t *etypes;              /* namespaces the batch touched */
	int64_t unsynced;
	struct sync *sync;
	struct attrs *server_attrs;  /* the server's registry, once known */
	json_t *server_attrs_json;   /* ... as the server last sent it */
	struct instaml_rewrite *rewrite; /* against server_attrs */
	json_t *inflight;            /* tx -> {tx_steps, resend} being sent */
	/* How many outbox rows (not rejected) touch each entity, so that a
	 * server result replays the outbox only when some row touches what
	 * it changed.  Counts may be high (a rolled-back batch), never low;
	 * wild counts the steps that may reach past their entity
	 * (sync_step_wild: deletes, lookups); while there are any, every
	 * replay is whole.  Built on first use. */
	struct strmap *touched;
	size_t wild;
	/* A reconcile put off until the batch commits (outbox_later): the
	 * union of the dirty entities and etypes; NULL when none is due. */
	json_t *later_dirty;
	json_t *later_etypes;
	struct stepcache *steps;     /* parsed tx-steps of replayed rows */
};

static void outbox_commit_cb(evutil_socket_t, short, void *);
static void outbox_catch_up(struct outbox *);
static void outbox_make_view(struct outbox *);

/* Step text whose parse the replays keep (some 4,000 transactions). */
#define OUTBOX_STEPCACHE_BYTES (4 * 1024 * 1024)

/* Rejected transactions stay listed by pending for this long. */
#define OUTBOX_ERROR_KEEP_MS (24 * 3600 * 1000LL)

/* Forget rejected transactions that were listed long enough (a timer,
 * off the app's start). */
static void
outbox_prune_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *ob = arg;
	int64_t n;

	if (store_outbox_expire(ob->store,
	    server_now_ms() - OUTBOX_ERROR_KEEP_MS, &n) != 0)
		log_warn("app %s: cannot forget old rejected transactions: %s",
		    app_id(ob->app), store_errmsg(ob->store));
	else if (n > 0)
		log_info("app %s: forgot %lld rejected transactions older "
		    "than a day", app_id(ob->app), (long long)n);
}

/* The write path over the app's open store. */
struct outbox *
outbox_create(struct app *app)
{
	struct outbox *ob = xcalloc(1, sizeof *ob);
	struct store *st = app_store(app);
	struct timeval prune_after = { 5, 0 };
	char *err = NULL;

	ob->app = app;
	ob->store = st;
	ob->inflight = json_object();
	TAILQ_INIT(&ob->batch);
	TAILQ_INIT(&ob->synced_waits);
	TAILQ_INIT(&ob->submitters);
	ob->applier = txapply_create(store_db(st), store_view(st),
	    store_attrs(st), TXAPPLY_CLIENT);
	ob->steps = stepcache_create(OUTBOX_STEPCACHE_BYTES);
	if (ob->applier == NULL || ob->steps == NULL)
		fatal("out of memory creating the applier");
	ob->commit_ev = event_new(app_server(app)->base, -1, 0,
	    outbox_commit_cb, ob);
	if ((ob->sync = sync_create(st, ob->applier, &err)) == NULL)
		fatal("app %s: cannot prepare the sync tables: %s", app_id(app),
		    err != NULL ? err : "?");
	ob->prune_ev = evtimer_new(app_server(app)->base, outbox_prune_cb, ob);
	evtimer_add(ob->prune_ev, &prune_after);
	if (store_outbox_unsynced(st, &ob->unsynced) != 0) {
		log_warn("app %s: cannot count the outbox: %s", app_id(app),
		    store_errmsg(st));
		ob->unsynced = 0;
	}
	outbox_make_view(ob);
	return ob;
}

/* Commit what is open now. */
void
outbox_commit(struct outbox *ob)
{
	if (!ob->open)
		return;
	event_del(ob->commit_ev);
	outbox_commit_cb(-1, 0, ob);
}

/* Commit what is open, then free. */
void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	struct outbox_entry *e;

	if (ob->open)
		outbox_commit_cb(-1, 0, ob);
	while ((e = TAILQ_FIRST(&ob->synced_waits)) != NULL) {
		TAILQ_REMOVE(&ob->synced_waits, e, entry);
		reply_error(e->reply, PROTO_UNAVAILABLE, NULL,
		    "the daemon is shutting down; transaction %s is saved and "
		    "will be sent later", e->tx);
		reply_unref(e->reply);
		free(e);
	}
	while ((e = TAILQ_FIRST(&ob->submitters)) != NULL) {
		TAILQ_REMOVE(&ob->submitters, e, entry);
		free(e);
	}
	json_decref(ob->later_dirty);
	json_decref(ob->later_etypes);
	event_free(ob->commit_ev);
	event_free(ob->prune_ev);
	sync_free(ob->sync);
	instaml_rewrite_free(ob->rewrite);
	attrs_free(ob->server_attrs);
	json_decref(ob->server_attrs_json);
	txapply_free(ob->applier);
	stepcache_free(ob->steps);
	json_decref(ob->etypes);
	json_decref(ob->inflight);
	strmap_free(ob->touched);
	free(ob);
}

/* Unsynced count. */
int64_t
outbox_unsynced(const struct outbox *ob)
{
	return ob->unsynced;
}

/* Transactions whose submitters wait for tx events. */
size_t
outbox_tracked(const struct outbox *ob)
{
	const struct outbox_entry *e;
	size_t n = 0;

	TAILQ_FOREACH(e, &ob->submitters, entry)
		n++;
	return n;
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
	/* No namespace changed yet: a batch of acks alone re-evaluates no
	 * subscription when it commits. */
	if (ob->etypes == NULL)
		ob->etypes = json_array();
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

/* Note v as a used attr id (or the attr of a lookup [attr, value]). */
static void
outbox_note_attr(json_t *used, const json_t *v)
{
	if (json_is_array(v) && json_array_size(v) == 2)
		v = json_array_get(v, 0);
	if (json_is_string(v))
		json_object_set_new(used, json_string_value(v), json_true());
}

/*
 * tx_steps with an add-attr step in front for every unsynced attr it uses
 * but does not add itself: what the compiler would have sent (new
 * reference).
 */
static json_t *
outbox_with_attrs(struct outbox *ob, const json_t *tx_steps)
{
	const struct attrs *reg = store_attrs(ob->store);
	json_t *used = json_object(), *added = json_object(), *out, *step, *v;
	const struct attr *a;
	const char *op, *id;
	size_t i;

	json_array_foreach(tx_steps, i, step) {
		op = json_string_value(json_array_get(step, 0));
		if (op == NULL)
			continue;
		if (strcmp(op, "add-attr") == 0) {
			id = json_string_value(json_object_get(json_array_get(
			    step, 1), "id"));
			if (id != NULL)
				json_object_set_new(added, id, json_true());
		} else if (strcmp(op, "add-triple") == 0 ||
		    strcmp(op, "deep-merge-triple") == 0 ||
		    strcmp(op, "retract-triple") == 0) {
			outbox_note_attr(used, json_array_get(step, 1));
			outbox_note_attr(used, json_array_get(step, 2));
			outbox_note_attr(used, json_array_get(step, 3));
		}
	}
	out = json_array();
	json_object_foreach(used, id, v) {
		a = attrs_by_id(reg, id);
		if (a != NULL && json_object_get(added, id) == NULL &&
		    json_is_true(json_object_get(a->json, "isUnsynced")))
			json_array_append_new(out, json_pack("[s, O]", "add-attr",
			    a->json));
	}
	json_array_extend(out, (json_t *)tx_steps);
	json_decref(used);
	json_decref(added);
	return out;
}

/* Count (delta 1) or uncount (-1) an entity a step names. */
static void
outbox_touch_entity(struct outbox *ob, const char *e, int delta)
{
	size_t n;

	if (!strmap_get(ob->touched, e, &n))
		n = 0;
	if (delta < 0 && n == 0)
		return;
	if (strmap_put(ob->touched, e, delta > 0 ? n + 1 : n - 1) != 0)
		ob->wild++; /* unknown from now on: replay always */
}

/* Count (delta 1) or uncount (-1) the entities tx_steps touch; a step
 * sync_step_wild calls wild counts in wild instead.  An entity id as a
 * value counts too: rewritten against the server's attrs, a link step
 * may belong to its target. */
static void
outbox_touch(struct outbox *ob, const json_t *tx_steps, int delta)
{
	const json_t *step, *v;
	size_t i;

	if (ob->touched == NULL)
		return;
	json_array_foreach(tx_steps, i, step) {
		if (sync_step_wild(step)) {
			if (delta > 0)
				ob->wild++;
			else if (ob->wild > 0)
				ob->wild--;
			continue;
		}
		if (sync_step_is_attr(step))
			continue;
		outbox_touch_entity(ob, json_string_value(json_array_get(step,
		    1)), delta);
		v = json_array_get(step, 3);
		if (json_is_string(v) && json_string_length(v) == UUID_STRLEN)
			outbox_touch_entity(ob, json_string_value(v), delta);
	}
}

/* Count one stored row. */
static int
outbox_touch_cb(void *arg, const struct store_tx *t)
{
	struct outbox *ob = arg;
	json_t *steps;

	if (t->status == STORE_TX_ERROR)
		return 0;
	if ((steps = json_loads(t->tx_steps, 0, NULL)) == NULL)
		ob->wild++;
	outbox_touch(ob, steps, 1);
	json_decref(steps);
	return 0;
}

/* Whether some outbox row may touch an entity of dirty. */
static int
outbox_touches(struct outbox *ob, const json_t *dirty)
{
	const char *e;
	json_t *v;
	size_t n;

	if (ob->touched == NULL) {
		if ((ob->touched = strmap_create()) == NULL)
			return 1;
		ob->wild = 0;
		if (store_outbox_scan(ob->store, outbox_touch_cb, ob) != 0) {
			strmap_free(ob->touched);
			ob->touched = NULL;
			return 1;
		}
	}
	if (ob->wild > 0 || json_object_get(dirty, "*") != NULL)
		return 1;
	json_object_foreach((json_t *)dirty, e, v)
		if (strmap_get(ob->touched, e, &n) && n > 0)
			return 1;
	return 0;
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
	if (store_savepoint(ob->store) != 0) {
		*errmsg = xstrdup(store_errmsg(ob->store));
		return -1;
	}
	/* The unsynced attrs the registry holds are not stored with each
	 * transaction that uses them (storing and re-applying them cost
	 * more than the rest of it): outbox_with_attrs puts them back in
	 * front when the transaction is sent. */
	if (instaml_compile_flags(steps, store_attrs(ob->store),
	    store_view(ob->store), INSTAML_OMIT_KNOWN_ATTRS, &tx_steps,
	    &new_attrs, errmsg) != 0) {
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
	 * that uses them; save the registry only when it grew.  The tx id is
	 * time-ordered, so the outbox's unique index on it grows at its end
	 * instead of taking a write to a random page of its own each time. */
	if ((attrs_count(store_attrs(ob->store)) != nattrs &&
	    store_attrs_save(ob->store) != 0) || uuid_v7(tx) != 0 ||
	    store_outbox_append(ob->store, tx, steps, tx_steps,
	    session_name(s), now, &seq) != 0) {
		*errmsg = xstrdup(store_errmsg(ob->store));
		goto out;
	}
	outbox_note_etypes(ob, res.etypes);
	outbox_touch(ob, tx_steps, 1);
	r = 0;
out:
	if (store_release(ob->store, r == 0) != 0)
		log_error("app %s: %s", app_id(ob->app),
		    store_errmsg(ob->store));
	txapply_result_clear(&res);
	json_decref(tx_steps);
	json_decref(new_attrs);
	return r;
}

/* transact: into the batch; the reply follows the commit. */
void
outbox_transact(struct outbox *ob, struct session *s, struct reply *r,
    const json_t *steps, int wait_synced)
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
	e->session = s;
	e->wait_synced = wait_synced;
	memcpy(e->tx, tx, sizeof e->tx);
	TAILQ_INSERT_TAIL(&ob->batch, e, entry);
	ob->unsynced++;
}

/* After the commit: answer, or hold the reply until the server answers;
 * remember the submitter for tx events. */
static void
outbox_committed(struct outbox *ob, struct outbox_entry *e)
{
	struct outbox_entry *sub;

	/* A local-only app sends nothing upstream, so no tx event ever
	 * comes: keeping its submitters would only grow with every
	 * transaction of a connection that stays open. */
	if (reply_live(e->reply) && app_upstream_uri(ob->app) != NULL) {
		sub = xcalloc(1, sizeof *sub);
		sub->session = e->session;
		memcpy(sub->tx, e->tx, sizeof sub->tx);
		TAILQ_INSERT_TAIL(&ob->submitters, sub, entry);
	}
	if (e->wait_synced) {
		TAILQ_INSERT_TAIL(&ob->synced_waits, e, entry);
		return;
	}
	reply_ok(e->reply, json_pack("{s:s, s:s}", "tx", e->tx, "status",
	    "enqueued"));
	reply_unref(e->reply);
	free(e);
}

/* Commit the batch, answer its transactions, update subscribers. */
static void
outbox_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbox *ob = arg;
	struct outbox_entry *e;
	json_t *etypes;
	char *why = NULL;

	outbox_catch_up(ob);
	etypes = ob->etypes;
	ob->open = 0;
	ob->etypes = NULL;
	if (store_commit(ob->store) != 0) {
		/* Clients learn why the commit failed (e.g. a full disk),
		 * not what the rollback after it said. */
		why = xstrdup(store_errmsg(ob->store));
		log_error("app %s: commit failed: %s", app_id(ob->app), why);
		if (!sqlite3_get_autocommit(store_db(ob->store)))
			store_rollback(ob->store);
		/* The batch's rows are gone; their parses need not stay. */
		stepcache_clear(ob->steps);
		store_outbox_unsynced(ob->store, &ob->unsynced);
	}
	while ((e = TAILQ_FIRST(&ob->batch)) != NULL) {
		TAILQ_REMOVE(&ob->batch, e, entry);
		if (why == NULL) {
			outbox_committed(ob, e);
			continue;
		}
		reply_error(e->reply, PROTO_INTERNAL, NULL,
		    "storage failed, the transaction was not saved: %s", why);
		reply_unref(e->reply);
		free(e);
	}
	subs_changed(app_subs(ob->app), why != NULL ? NULL : etypes);
	json_decref(etypes);
	if (why == NULL)
		app_upstream_kick(ob->app);
	free(why);
}

/* One outbox row as the pending op shows it. */
static int
outbox_list_cb(void *arg, const struct store_tx *t)
{
	json_t *txs = arg, *row, *err;
	char when[32];

	if (t->status == STORE_TX_SYNCED)
		return 0; /* confirmed, kept until results cover it */
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

/* Send a tx event to the connection that submitted tx, if still there. */
static void
outbox_tx_event(struct outbox *ob, const char *tx, const char *status,
    int64_t tx_id, const json_t *error, int last)
{
	struct outbox_entry *e;
	json_t *ev;

	TAILQ_FOREACH(e, &ob->submitters, entry) {
		if (strcmp(e->tx, tx) == 0)
			break;
	}
	if (e == NULL)
		return;
	ev = json_pack("{s:s, s:s, s:s}", "event", "tx", "tx", tx, "status",
	    status);
	if (tx_id >= 0)
		json_object_set_new(ev, "tx_id", json_integer(tx_id));
	if (error != NULL)
		json_object_set(ev, "error", (json_t *)error);
	session_send_event(e->session, ev);
	if (last) {
		TAILQ_REMOVE(&ob->submitters, e, entry);
		free(e);
	}
}

/* Finish a wait:"synced" reply for tx, if one waits. */
static void
outbox_finish_wait(struct outbox *ob, const char *tx, int64_t tx_id,
    const json_t *error)
{
	struct outbox_entry *e;

	TAILQ_FOREACH(e, &ob->synced_waits, entry) {
		if (strcmp(e->tx, tx) == 0)
			break;
	}
	if (e == NULL)
		return;
	TAILQ_REMOVE(&ob->synced_waits, e, entry);
	if (error == NULL)
		reply_ok(e->reply, json_pack("{s:s, s:s, s:I}", "tx", tx,
		    "status", "synced", "tx_id", (json_int_t)tx_id));
	else
		reply_error(e->reply, PROTO_UPSTREAM, error,
		    "the server rejected the transaction: %s",
		    json_string_value(json_object_get(error, "message")) != NULL ?
		    json_string_value(json_object_get(error, "message")) :
		    "no reason given");
	reply_unref(e->reply);
	free(e);
}

/* The session is leaving. */
void
outbox_forget_session(struct outbox *ob, struct session *s)
{
	struct outbox_entry *e, *next;

	for (e = TAILQ_FIRST(&ob->submitters); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (e->session == s) {
			TAILQ_REMOVE(&ob->submitters, e, entry);
			free(e);
		}
	}
	TAILQ_FOREACH(e, &ob->synced_waits, entry)
		if (e->session == s)
			e->session = NULL;
}

/* The steps of a row, for sending (with the unsynced attrs they use) or
 * for replaying, rewritten against the server's attrs when those are
 * known.  New reference or NULL. */
static json_t *
outbox_row_steps(struct outbox *ob, const struct store_tx *t, int to_send)
{
	json_t *steps, *rw;
	int changed = 0;

	/* A replay only reads the steps (the rewrite and the filter build
	 * new arrays), so it takes the shared parse.  What is sent stays in
	 * flight and in messages: a parse of its own. */
	steps = to_send ? json_loads(t->tx_steps, 0, NULL) :
	    stepcache_get(ob->steps, t->tx, t->tx_steps);
	if (steps != NULL && to_send) {
		rw = outbox_with_attrs(ob, steps);
		json_decref(steps);
		steps = rw;
	}
	if (steps == NULL || ob->rewrite == NULL)
		return steps;
	rw = instaml_rewrite_steps(ob->rewrite, steps, t->tx_id, -1, &changed);
	json_decref(steps);
	return rw;
}

/* What outbox_unsent is collecting. */
struct outbox_unsent_scan {
	struct outbox *ob;
	json_t *list;
};

/* Collect unsent rows. */
static int
outbox_unsent_cb(void *arg, const struct store_tx *t)
{
	struct outbox_unsent_scan *sc = arg;
	struct outbox *ob = sc->ob;
	json_t *steps;

	if ((steps = outbox_row_steps(ob, t, 1)) == NULL) {
		log_error("app %s: transaction %s has unreadable steps",
		    app_id(ob->app), t->tx);
		return 0;
	}
	json_array_append_new(sc->list, json_pack("{s:I, s:s, s:o, s:b}",
	    "seq", (json_int_t)t->seq, "tx", t->tx, "tx_steps", steps,
	    "resend", t->status == STORE_TX_PENDING));
	return 0;
}

/* Transactions to send after the cursor, oldest first. */
json_t *
outbox_unsent(struct outbox *ob, int64_t after)
{
	struct outbox_unsent_scan sc = { ob, json_array() };
	json_t *list = sc.list, *row;
	size_t i;

	if (store_outbox_scan_unsent(ob->store, after, outbox_unsent_cb,
	    &sc) < 0)
		log_error("app %s: cannot read the outbox: %s", app_id(ob->app),
		    store_errmsg(ob->store));
	json_array_foreach(list, i, row)
		json_object_set(ob->inflight, json_string_value(json_object_get(
		    row, "tx")), row);
	return list;
}

/* The transaction went out. */
void
outbox_sent(struct outbox *ob, const char *tx)
{
	json_t *row = json_object_get(ob->inflight, tx);

	if (row == NULL || json_is_true(json_object_get(row, "resend")))
		return;
	if (outbox_open_batch(ob) != 0 ||
	    store_outbox_set_status(ob->store, tx, STORE_TX_PENDING, -1,
	    NULL) != 0)
		log_error("app %s: cannot mark %s sent: %s", app_id(ob->app), tx,
		    store_errmsg(ob->store));
	outbox_tx_event(ob, tx, "pending", -1, NULL, 0);
}

/* Collect what the view must replay, and drop what the server covers. */
struct outbox_scan {
	struct outbox *ob;
	int64_t min_processed;
	json_t *replay;
	json_t *drop;
	json_t *dirty;
	json_t *etypes;
	/* Replay only the dirty entities' steps: no row is wild, so every
	 * step changes its own entity alone (see sync_replay_steps). */
	int filter;
};

/* Whether the server's results now cover a synced transaction. */
static int
outbox_covered(const struct outbox_scan *sc, const struct store_tx *t)
{
	return t->status == STORE_TX_SYNCED && (t->tx_id < 0 ||
	    (sc->min_processed >= 0 && t->tx_id <= sc->min_processed));
}

/* First pass, over the covered rows only: what leaves, and the entities
 * the view must rebuild without it. */
static int
outbox_drop_cb(void *arg, const struct store_tx *t)
{
	struct outbox_scan *sc = arg;
	json_t *steps;

	if (!outbox_covered(sc, t))
		return 0;
	json_array_append_new(sc->drop, json_string(t->tx));
	if ((steps = json_loads(t->tx_steps, 0, NULL)) == NULL) {
		json_object_set_new(sc->dirty, "*", json_true());
		return 0;
	}
	sync_tx_entities(steps, sc->dirty);
	sync_tx_etypes(store_attrs(sc->ob->store), steps, sc->etypes);
	outbox_touch(sc->ob, steps, -1);
	json_decref(steps);
	return 0;
}

/* Second pass: what each row that stays must replay. */
static int
outbox_replay_cb(void *arg, const struct store_tx *t)
{
	struct outbox_scan *sc = arg;
	json_t *steps, *kept;

	if (t->status == STORE_TX_ERROR || outbox_covered(sc, t) ||
	    (sc->filter && sync_row_passes(t->tx_steps, sc->dirty)))
		return 0;
	if ((steps = outbox_row_steps(sc->ob, t, 0)) == NULL)
		return 0;
	if (!sc->filter)
		kept = steps;
	else {
		kept = sync_replay_steps(steps, sc->dirty);
		json_decref(steps);
		if (kept == NULL)
			return 0;
	}
	json_array_append_new(sc->replay, json_pack("{s:o, s:I}", "tx_steps",
	    kept, "created", (json_int_t)t->created));
	return 0;
}

/* A result past the refusal of a resend (processed-tx-id resolve_to, or
 * -1) stands in for the tx-id the first send never brought back. */
static void
outbox_resolve(struct outbox *ob, int64_t resolve_to)
{
	if (resolve_to >= 0 && store_outbox_retag(ob->store, OUTBOX_TX_UNKNOWN,
	    resolve_to) != 0)
		log_error("app %s: cannot resolve tx-ids: %s", app_id(ob->app),
		    store_errmsg(ob->store));
}

/*
 * Drop what the server's results now cover, rebuild the dirty part of the
 * view, and tell the subscribers.  The covered rows are found through the
 * status index, and the rows that stay are read only when one of them may
 * touch a dirty entity: a server result that changed nothing local costs
 * one index lookup, however long the outbox.
 */
static void
outbox_reconcile_now(struct outbox *ob, json_t *dirty, json_t *etypes,
    int64_t resolve_to)
{
	struct outbox_scan sc = { ob, sync_min_processed(ob->sync),
		json_array(), json_array(), dirty, etypes, 0 };
	json_t *list, *v;
	const char *k;
	size_t i;

	outbox_resolve(ob, resolve_to);
	if (store_outbox_scan_covered(ob->store, sc.min_processed,
	    outbox_drop_cb, &sc) < 0)
		log_error("app %s: cannot read the outbox: %s", app_id(ob->app),
		    store_errmsg(ob->store));
	json_array_foreach(sc.drop, i, v) {
		store_outbox_delete(ob->store, json_string_value(v));
		stepcache_drop(ob->steps, json_string_value(v));
	}
	if (json_object_size(dirty) > 0 && outbox_touches(ob, dirty)) {
		/* outbox_touches has counted the wild steps. */
		sc.filter = ob->touched != NULL && ob->wild == 0;
		if (store_outbox_scan(ob->store, outbox_replay_cb, &sc) < 0)
			log_error("app %s: cannot read the outbox: %s",
			    app_id(ob->app), store_errmsg(ob->store));
	}
	if (json_object_size(dirty) > 0 &&
	    sync_rebuild(ob->sync, dirty, sc.replay, etypes) != 0)
		log_error("app %s: cannot rebuild the view: %s", app_id(ob->app),
		    sqlite3_errmsg(store_db(ob->store)));
	if (json_object_get(dirty, "*") != NULL)
		list = NULL;
	else {
		list = json_array();
		json_object_foreach(etypes, k, v)
			json_array_append_new(list, json_string(k));
	}
	if (json_object_size(dirty) > 0 || json_object_size(etypes) > 0)
		subs_changed(app_subs(ob->app), list);
	json_decref(list);
	json_decref(sc.replay);
	json_decref(sc.drop);
}

/* Replay one row over the view being made. */
static int
outbox_make_view_cb(void *arg, const struct store_tx *t)
{
	struct outbox_scan *sc = arg;
	struct txapply_result res;
	json_t *steps;
	int r;

	if (t->status == STORE_TX_ERROR || outbox_covered(sc, t) ||
	    (steps = outbox_row_steps(sc->ob, t, 0)) == NULL)
		return 0;
	memset(&res, 0, sizeof res);
	r = txapply_run(sc->ob->applier, steps, t->created, &res);
	txapply_result_clear(&res);
	json_decref(steps);
	return r < 0 ? -1 : 0;
}

/*
 * Make the view when the store made it anew (its file is not kept across
 * a crash, see engine/store.c): base, then each row the server's results
 * do not cover, replayed as it is read, so that a long outbox is never
 * all in memory at once.  Before any client is served.
 */
static void
outbox_make_view(struct outbox *ob)
{
	const char *why = store_view_new(ob->store);
	struct outbox_scan sc = { ob, sync_min_processed(ob->sync), NULL, NULL,
		NULL, NULL, 0 };
	struct timespec t0, t1;
	json_t *all;
	int r;

	if (why == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (store_begin(ob->store) != 0)
		goto fail;
	all = json_pack("{s:b}", "*", 1);
	r = sync_rebuild(ob->sync, all, NULL, NULL);
	json_decref(all);
	if (r != 0 || store_outbox_scan(ob->store, outbox_make_view_cb,
	    &sc) != 0 || store_commit(ob->store) != 0) {
		if (!sqlite3_get_autocommit(store_db(ob->store)))
			store_rollback(ob->store);
		goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("app %s: made the view from the server's results and the "
	    "outbox (%s) in %ld ms", app_id(ob->app), why,
	    (long)((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return;
fail:
	log_error("app %s: cannot make the view (%s): %s", app_id(ob->app),
	    why, sqlite3_errmsg(store_db(ob->store)));
}

/* Reconcile now, together with what was put off. */
static void
outbox_reconcile_at(struct outbox *ob, json_t *dirty, json_t *etypes,
    int64_t resolve_to)
{
	if (ob->later_dirty != NULL) {
		json_object_update(dirty, ob->later_dirty);
		json_object_update(etypes, ob->later_etypes);
		json_decref(ob->later_dirty);
		json_decref(ob->later_etypes);
		ob->later_dirty = ob->later_etypes = NULL;
	}
	outbox_reconcile_now(ob, dirty, etypes, resolve_to);
}

/* Reconcile without a new processed-tx-id. */
static void
outbox_reconcile(struct outbox *ob, json_t *dirty, json_t *etypes)
{
	outbox_reconcile_at(ob, dirty, etypes, -1);
}

/*
 * Put a reconcile off until the open batch commits, merged with the others
 * put off until then.  What a reconcile costs is mostly the outbox's
 * length (the rows that stay are looked at, and those that touch a dirty
 * entity replayed), and a drain brings a result and an ack for each
 * transaction it sends: reconciling once for all that one read of the
 * socket brought keeps a drain from costing the square of the backlog.
 * The view meanwhile is the one before those results, as if they had
 * come a moment later.
 */
static void
outbox_later(struct outbox *ob, json_t *dirty, json_t *etypes,
    int64_t resolve_to)
{
	if (!ob->open) {
		outbox_reconcile_at(ob, dirty, etypes, resolve_to);
		return;
	}
	outbox_resolve(ob, resolve_to);
	if (ob->later_dirty == NULL) {
		ob->later_dirty = json_object();
		ob->later_etypes = json_object();
	}
	json_object_update(ob->later_dirty, dirty);
	json_object_update(ob->later_etypes, etypes);
}

/* Do the reconcile put off, if any (before the batch commits). */
static void
outbox_catch_up(struct outbox *ob)
{
	json_t *dirty = ob->later_dirty, *etypes = ob->later_etypes;

	if (dirty == NULL)
		return;
	ob->later_dirty = ob->later_etypes = NULL;
	outbox_reconcile_now(ob, dirty, etypes, -1);
	json_decref(dirty);
	json_decref(etypes);
}

/* Whether tx_steps add an attr the registry still holds as unsynced. */
static int
outbox_adds_unsynced(const struct attrs *reg, const json_t *tx_steps)
{
	const struct attr *a;
	const json_t *step;
	const char *op;
	size_t i;

	json_array_foreach(tx_steps, i, step) {
		op = json_string_value(json_array_get(step, 0));
		if (op == NULL || strcmp(op, "add-attr") != 0)
			continue;
		a = attrs_by_id(reg, json_string_value(json_object_get(
		    json_array_get(step, 1), "id")));
		if (a != NULL && json_is_true(json_object_get(a->json,
		    "isUnsynced")))
			return 1;
	}
	return 0;
}

/* transact-ok */
void
outbox_acked(struct outbox *ob, const char *tx, int64_t tx_id)
{
	json_t *row = json_object_get(ob->inflight, tx);
	json_t *dirty = json_object(), *etypes = json_object();
	int64_t min;

	if (outbox_open_batch(ob) != 0 ||
	    store_outbox_set_status(ob->store, tx, STORE_TX_SYNCED,
	    tx_id >= 0 ? tx_id : OUTBOX_TX_UNKNOWN, NULL) != 0)
		log_error("app %s: cannot mark %s synced: %s", app_id(ob->app),
		    tx, store_errmsg(ob->store));
	if (row != NULL) {
		if (outbox_adds_unsynced(store_attrs(ob->store),
		    json_object_get(row, "tx_steps"))) {
			instaml_attrs_synced(store_attrs(ob->store),
			    json_object_get(row, "tx_steps"));
			store_attrs_save(ob->store);
		}
		json_object_del(ob->inflight, tx);
	}
	if (ob->unsynced > 0)
		ob->unsynced--;
	outbox_tx_event(ob, tx, "synced", tx_id, NULL, 1);
	outbox_finish_wait(ob, tx, tx_id, NULL);
	/* The view already shows it; it leaves the outbox once a result
	 * covers it, which may already be so when the ack comes last. */
	min = sync_min_processed(ob->sync);
	if (tx_id >= 0 && min >= 0 && tx_id <= min)
		outbox_later(ob, dirty, etypes, -1);
	json_decref(dirty);
	json_decref(etypes);
}

/* Whether a rejection of a resent transaction means its first send was
 * committed (the server does not deduplicate client-event-ids). */
static int
outbox_is_duplicate(const json_t *row, const json_t *error)
{
	const char *msg = json_string_value(json_object_get(error, "message"));

	return row != NULL && json_is_true(json_object_get(row, "resend")) &&
	    msg != NULL && strstr(msg, "Creating entities that exist") != NULL;
}

/* error for a transaction: roll it back. */
void
outbox_rejected(struct outbox *ob, const char *tx, const json_t *error)
{
	json_t *row = json_object_get(ob->inflight, tx);
	json_t *dirty = json_object(), *etypes = json_object();

	if (outbox_is_duplicate(row, error)) {
		log_info("app %s: %s was committed by an earlier send",
		    app_id(ob->app), tx);
		outbox_acked(ob, tx, -1);
		goto out;
	}
	log_info("app %s: the server rejected %s: %s", app_id(ob->app), tx,
	    json_string_value(json_object_get(error, "message")) != NULL ?
	    json_string_value(json_object_get(error, "message")) : "?");
	if (outbox_open_batch(ob) != 0 ||
	    store_outbox_set_status(ob->store, tx, STORE_TX_ERROR, -1,
	    error) != 0)
		log_error("app %s: cannot mark %s failed: %s", app_id(ob->app),
		    tx, store_errmsg(ob->store));
	if (row != NULL) {
		sync_tx_entities(json_object_get(row, "tx_steps"), dirty);
		sync_tx_etypes(store_attrs(ob->store),
		    json_object_get(row, "tx_steps"), etypes);
		outbox_touch(ob, json_object_get(row, "tx_steps"), -1);
		json_object_del(ob->inflight, tx);
	} else
		json_object_set_new(dirty, "*", json_true());
	if (ob->unsynced > 0)
		ob->unsynced--;
	outbox_tx_event(ob, tx, "error", -1, error, 1);
	outbox_finish_wait(ob, tx, -1, error);
	outbox_reconcile(ob, dirty, etypes);
out:
	json_decref(dirty);
	json_decref(etypes);
}

/* add-query-ok / refresh-ok results. */
void
outbox_results(struct outbox *ob, const json_t *results,
    int64_t processed_tx_id, int later)
{
	json_t *dirty = json_object(), *etypes = json_object(), *r, *triples;
	size_t i;

	if (outbox_open_batch(ob) != 0) {
		log_error("app %s: %s", app_id(ob->app), store_errmsg(ob->store));
		goto out;
	}
	json_array_foreach(results, i, r) {
		triples = sync_result_triples(json_object_get(r, "result"));
		if (triples == NULL) {
			log_warn("app %s: a malformed query result was ignored",
			    app_id(ob->app));
			continue;
		}
		if (sync_put_result(ob->sync, json_object_get(r, "q"), triples,
		    json_object_get(r, "page_info"), processed_tx_id,
		    server_now_ms(), dirty, etypes) != 0)
			log_error("app %s: cannot store a result: %s",
			    app_id(ob->app), store_errmsg(ob->store));
		json_decref(triples);
	}
	if (later)
		outbox_later(ob, dirty, etypes, processed_tx_id);
	else
		outbox_reconcile_at(ob, dirty, etypes, processed_tx_id);
out:
	json_decref(dirty);
	json_decref(etypes);
}

/* Nobody subscribes to q any more. */
void
outbox_forget_query(struct outbox *ob, const json_t *q)
{
	json_t *dirty = json_object(), *etypes = json_object();

	if (outbox_open_batch(ob) == 0 &&
	    sync_drop_result(ob->sync, q, dirty, etypes) == 0)
		outbox_reconcile(ob, dirty, etypes);
	json_decref(dirty);
	json_decref(etypes);
}

/* Whether a local attr clashes with the server's registry. */
static int
outbox_attr_clashes(const struct attrs *server, const struct attr *a)
{
	return attrs_by_id(server, a->id) != NULL ||
	    attrs_forward(server, a->etype, a->label) != NULL ||
	    attrs_reverse(server, a->etype, a->label) != NULL ||
	    (a->rev_etype != NULL && (attrs_forward(server, a->rev_etype,
	    a->rev_label) != NULL || attrs_reverse(server, a->rev_etype,
	    a->rev_label) != NULL));
}

/* Two strings equal, or both NULL. */
static int
outbox_same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether taking the server's registry changes what a local attr means to
 * the view: its id moves to another, or the server's has other rules. */
static int
outbox_attr_moves(const struct attrs *server, const struct attr *a)
{
	const struct attr *s = attrs_by_id(server, a->id);

	if (s == NULL)
		return outbox_attr_clashes(server, a);
	return !outbox_same_str(s->etype, a->etype) ||
	    !outbox_same_str(s->label, a->label) ||
	    !outbox_same_str(s->rev_etype, a->rev_etype) ||
	    !outbox_same_str(s->rev_label, a->rev_label) ||
	    s->is_ref != a->is_ref || s->card_one != a->card_one ||
	    s->unique != a->unique || s->indexed != a->indexed ||
	    s->on_delete_cascade != a->on_delete_cascade ||
	    s->on_delete_reverse_cascade != a->on_delete_reverse_cascade ||
	    !outbox_same_str(s->checked_type, a->checked_type);
}

/* The server's attrs arrived: they replace ours, keeping local attrs the
 * server does not know yet; pending steps are rewritten to match. */
void
outbox_server_attrs(struct outbox *ob, const json_t *server_attrs)
{
	struct attrs *server, *reg = store_attrs(ob->store);
	json_t *keep, *dirty, *etypes;
	const char *why = NULL;
	size_t i;
	int moved = 0;

	/* refresh-ok repeats the attrs whenever the server thinks they may
	 * have changed: the same list again changes nothing here. */
	if (ob->server_attrs_json != NULL &&
	    json_equal(ob->server_attrs_json, server_attrs))
		return;
	server = attrs_create();
	keep = json_array();
	dirty = json_object();

	if (server == NULL || attrs_load(server, server_attrs, &why) != 0) {
		log_warn("app %s: the server's attrs were refused: %s",
		    app_id(ob->app), why != NULL ? why : "?");
		goto out;
	}
	for (i = 0; i < attrs_count(reg); i++) {
		const struct attr *a = attrs_at(reg, i);

		if (!outbox_attr_clashes(server, a))
			json_array_append(keep, a->json);
		else if (!moved)
			moved = outbox_attr_moves(server, a);
	}
	attrs_load(reg, server_attrs, NULL);
	for (i = 0; i < json_array_size(keep); i++)
		attrs_put(reg, json_array_get(keep, i), NULL);
	/* The rewrite borrows the registry it was made from. */
	instaml_rewrite_free(ob->rewrite);
	attrs_free(ob->server_attrs);
	ob->server_attrs = server;
	server = NULL;
	ob->rewrite = instaml_rewrite_create(ob->server_attrs);
	json_decref(ob->server_attrs_json);
	ob->server_attrs_json = json_deep_copy(server_attrs);
	if (outbox_open_batch(ob) == 0)
		store_attrs_save(ob->store);
	/* Pending steps may now use other attr ids: rebuild everything.
	 * When every attr kept its id and rules (the server learnt ours, or
	 * added its own), only the evaluations can differ. */
	if (!moved) {
		subs_changed(app_subs(ob->app), NULL);
		goto out;
	}
	json_object_set_new(dirty, "*", json_true());
	etypes = json_object();
	outbox_reconcile(ob, dirty, etypes);
	json_decref(etypes);
out:
	attrs_free(server);
	json_decref(keep);
	json_decref(dirty);
}
