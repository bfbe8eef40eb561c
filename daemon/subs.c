/*
 * subs.c: deduplicated live queries and their listeners.
 *
 * A sub is one canonical query with its last evaluated data and the
 * namespaces that evaluation read (its topics).  A listener is one
 * session's subscription to it, with the session's own sub id.  A
 * listener's first result must not overtake its subscribe reply (which
 * can be held behind an earlier request on the session), so until that
 * reply has been written every result for the listener is parked behind
 * it with reply_set_after.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <openssl/sha.h>

#include "daemon/app.h"
#include "daemon/log.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/subs.h"
#include "daemon/xmalloc.h"
#include "engine/instaql.h"
#include "engine/store.h"
#include "proto/proto.h"

struct sub;

struct listener {
	struct session *session;
	int64_t sub_id;
	struct reply *first; /* the subscribe reply, until it is written */
	struct sub *sub;
	TAILQ_ENTRY(listener) entry;
};
TAILQ_HEAD(listener_list, listener);

/* A query op waiting for the server's first answer. */
struct waiter {
	struct subs *subs;
	struct sub *sub;       /* NULL once the sub is gone */
	json_t *q;
	struct reply *reply;
	struct event *timer;
	TAILQ_ENTRY(waiter) entry;
};
TAILQ_HEAD(waiter_list, waiter);

struct sub {
	char *key;    /* canonical JSON of q */
	json_t *q;
	char *text;   /* the data being delivered as JSON, NULL between
		       * changes */
	unsigned char digest[SHA256_DIGEST_LENGTH]; /* of the last text */
	int has_digest;
	json_t *page_info;
	json_t *topics;
	int failed;   /* the last evaluation failed */
	struct listener_list listeners;
	struct waiter_list waiters;
	TAILQ_ENTRY(sub) entry;
};
TAILQ_HEAD(sub_list, sub);

struct subs {
	struct app *app;
	struct sub_list list;
	size_t count;
	/* The server's page-info by canonical query (JSON null: none), as
	 * of store_query_changes == page_infos_at. */
	json_t *page_infos;
	uint64_t page_infos_at;
};

/* Distinct queries whose page-info is kept at most. */
#define SUBS_PAGE_INFOS 1024

/* An empty set for app. */
struct subs *
subs_create(struct app *app)
{
	struct subs *ss = xcalloc(1, sizeof *ss);

	ss->app = app;
	TAILQ_INIT(&ss->list);
	return ss;
}

static void subs_finish_waiter(struct waiter *, int answered);

/* Free one sub and its listeners. */
static void
subs_free_sub(struct subs *ss, struct sub *sub)
{
	struct listener *l;
	struct waiter *w;

	while ((w = TAILQ_FIRST(&sub->waiters)) != NULL) {
		TAILQ_REMOVE(&sub->waiters, w, entry);
		w->sub = NULL;
		subs_finish_waiter(w, 0);
	}

	while ((l = TAILQ_FIRST(&sub->listeners)) != NULL) {
		TAILQ_REMOVE(&sub->listeners, l, entry);
		reply_unref(l->first);
		free(l);
	}
	TAILQ_REMOVE(&ss->list, sub, entry);
	ss->count--;
	app_upstream_remove_query(ss->app, sub->q);
	free(sub->key);
	json_decref(sub->q);
	free(sub->text);
	json_decref(sub->page_info);
	json_decref(sub->topics);
	free(sub);
}

/* Free everything. */
void
subs_free(struct subs *ss)
{
	struct sub *sub;

	if (ss == NULL)
		return;
	while ((sub = TAILQ_FIRST(&ss->list)) != NULL)
		subs_free_sub(ss, sub);
	json_decref(ss->page_infos);
	free(ss);
}

/* Number of distinct queries. */
size_t
subs_count(const struct subs *ss)
{
	return ss->count;
}

/*
 * The page-info of the server's last result for q (key: its canonical
 * JSON, or NULL), or NULL.  The official client evaluates every query
 * with it: the window of offset/before/after queries and the result's
 * pageInfo come from it.  Kept in memory until the stored results change,
 * so that re-evaluating never reads the store for it.
 */
static const json_t *
subs_page_info(struct subs *ss, struct store *st, const char *key,
    const json_t *q)
{
	char *own = NULL, *text = NULL;
	json_t *pi;

	if (ss->page_infos == NULL || ss->page_infos_at !=
	    store_query_changes(st) ||
	    json_object_size(ss->page_infos) >= SUBS_PAGE_INFOS) {
		json_decref(ss->page_infos);
		if ((ss->page_infos = json_object()) == NULL)
			fatal("out of memory");
		ss->page_infos_at = store_query_changes(st);
	}
	if (key == NULL && (key = own = proto_canonical(q)) == NULL)
		return NULL;
	if ((pi = json_object_get(ss->page_infos, key)) == NULL) {
		if (store_query_page_info(st, q, &text) != 0)
			log_warn("app %s: %s", app_id(ss->app),
			    store_errmsg(st));
		if (text == NULL || (pi = json_loads(text, 0, NULL)) == NULL)
			pi = json_null();
		json_object_set_new(ss->page_infos, key, pi);
		free(text);
	}
	free(own);
	return json_is_null(pi) ? NULL : pi;
}

/* Evaluate q (key: its canonical JSON, or NULL) over the app's store into
 * data/page_info/topics (with text_only, the data as text only, after
 * prefix if not NULL). */
static int
subs_evaluate(struct subs *ss, const json_t *q, const char *key,
    struct instaql_result *res, int text_only, const char *prefix,
    char **errmsg)
{
	struct store *st = app_store(ss->app);
	struct instaql_opts opts = { .cardinality_inference = 1 };

	opts.text_prefix = prefix;
	memset(res, 0, sizeof *res);
	if (st == NULL) {
		*errmsg = xstrdup(app_store_error(ss->app));
		return -1;
	}
	opts.page_info = subs_page_info(ss, st, key, q);
	if (text_only)
		return instaql_eval_text(store_view(st), store_attrs(st), q,
		    &opts, res, errmsg);
	return instaql_eval(store_view(st), store_attrs(st), q, &opts, res,
	    errmsg);
}

/* Forget the data once it is delivered: between changes a sub keeps only
 * the digest (a thousand subscriptions over a large store would otherwise
 * keep a thousand results). */
static void
subs_drop_data(struct sub *sub)
{
	free(sub->text);
	sub->text = NULL;
}

/* Re-evaluate a sub into sub->text (drop it after use); 1 if the data
 * changed since the last evaluation.  The evaluator writes equal data as
 * equal text, so the text's digest tells. */
static int
subs_refresh(struct subs *ss, struct sub *sub)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	struct instaql_result res;
	char *err = NULL;
	int changed;

	if (subs_evaluate(ss, sub->q, sub->key, &res, 1, NULL, &err) != 0) {
		log_warn("app %s: query %s failed: %s", app_id(ss->app),
		    log_escape(sub->key, strlen(sub->key), 120),
		    err != NULL ? err : "?");
		free(err);
		instaql_result_clear(&res);
		sub->failed = 1;
		return 0;
	}
	sub->failed = 0;
	SHA256((const unsigned char *)res.text, res.text_len, digest);
	changed = !sub->has_digest ||
	    memcmp(sub->digest, digest, sizeof digest) != 0;
	memcpy(sub->digest, digest, sizeof digest);
	sub->has_digest = 1;
	free(sub->text);
	sub->text = res.text;
	json_decref(sub->page_info);
	sub->page_info = res.page_info;
	json_decref(sub->topics);
	sub->topics = res.topics;
	res.text = NULL;
	res.page_info = res.topics = NULL;
	instaql_result_clear(&res);
	return changed;
}

/*
 * The fields of sub's result event after "sub", encoded once for every
 * listener: the text of {"data":...,"from_cache":...,"pending":...}.
 */
static char *
subs_event_tail(struct subs *ss, const struct sub *sub, const json_t *error)
{
	char *pi = NULL, *err = NULL, *text;

	if (sub->page_info != NULL && (pi = json_dumps(sub->page_info,
	    JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		fatal("out of memory encoding a result");
	if (error != NULL && (err = json_dumps(error,
	    JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		fatal("out of memory encoding a result");
	/* No data when the evaluation failed: an empty object. */
	xasprintf(&text, "{\"data\":%s%s%s,\"from_cache\":%s%s%s,"
	    "\"pending\":%s}", sub->text != NULL ? sub->text : "{}",
	    pi != NULL ? ",\"page_info\":" : "", pi != NULL ? pi : "",
	    app_query_answered(ss->app, sub->key) ? "false" : "true",
	    err != NULL ? ",\"error\":" : "", err != NULL ? err : "",
	    app_unsynced(ss->app) > 0 ? "true" : "false");
	free(pi);
	free(err);
	return text;
}

/* Deliver the event with tail (see subs_event_tail) to a listener. */
static void
subs_deliver(struct listener *l, const char *tail)
{
	char *line;
	int len;

	/* tail is "{...}": splice the listener's prefix in for its '{'. */
	len = xasprintf(&line, "{\"event\":\"result\",\"sub\":%lld,%s\n",
	    (long long)l->sub_id, tail + 1);
	if (l->first != NULL && !reply_flushed(l->first)) {
		reply_set_after(l->first, l->sub_id, line, (size_t)len);
		return;
	}
	reply_unref(l->first);
	l->first = NULL;
	session_send_result(l->session, l->sub_id, line, (size_t)len);
}

/* The sub whose canonical query is key, or NULL. */
static struct sub *
subs_find(struct subs *ss, const char *key)
{
	struct sub *sub;

	TAILQ_FOREACH(sub, &ss->list, entry)
		if (strcmp(sub->key, key) == 0)
			return sub;
	return NULL;
}

/* The sub for q, created (and evaluated) if new. */
static struct sub *
subs_find_or_add(struct subs *ss, const json_t *q)
{
	char *key = proto_canonical(q);
	struct sub *sub;

	if (key == NULL)
		fatal("out of memory encoding a query");
	if ((sub = subs_find(ss, key)) != NULL) {
		free(key);
		return sub;
	}
	sub = xcalloc(1, sizeof *sub);
	sub->key = key;
	sub->q = json_deep_copy(q);
	TAILQ_INIT(&sub->listeners);
	TAILQ_INIT(&sub->waiters);
	TAILQ_INSERT_TAIL(&ss->list, sub, entry);
	ss->count++;
	app_upstream_add_query(ss->app, sub->q);
	return sub;
}

/* Subscribe. */
void
subs_add(struct subs *ss, struct session *s, struct reply *r, const json_t *q)
{
	struct sub *sub = subs_find_or_add(ss, q);
	struct listener *l = xcalloc(1, sizeof *l), *other;
	char *tail;
	int changed;

	l->session = s;
	l->sub_id = session_next_sub_id(s);
	l->sub = sub;
	l->first = reply_ref(r);
	reply_ok(r, json_pack("{s:I}", "sub", (json_int_t)l->sub_id));
	/* The sub keeps no data between changes: evaluate for the new
	 * listener (and, should it differ, for the others too). */
	changed = subs_refresh(ss, sub);
	tail = subs_event_tail(ss, sub, NULL);
	if (changed)
		TAILQ_FOREACH(other, &sub->listeners, entry)
			subs_deliver(other, tail);
	TAILQ_INSERT_TAIL(&sub->listeners, l, entry);
	subs_deliver(l, tail);
	free(tail);
	subs_drop_data(sub);
}

/* Remove one listener; drop its sub when it was the last. */
static void
subs_drop_listener(struct subs *ss, struct listener *l)
{
	struct sub *sub = l->sub;

	TAILQ_REMOVE(&sub->listeners, l, entry);
	reply_unref(l->first);
	free(l);
	if (TAILQ_EMPTY(&sub->listeners) && TAILQ_EMPTY(&sub->waiters))
		subs_free_sub(ss, sub);
}

/* Unsubscribe one. */
int
subs_remove(struct subs *ss, struct session *s, int64_t sub_id)
{
	struct listener *l;
	struct sub *sub;

	TAILQ_FOREACH(sub, &ss->list, entry) {
		TAILQ_FOREACH(l, &sub->listeners, entry) {
			if (l->session == s && l->sub_id == sub_id) {
				subs_drop_listener(ss, l);
				return 0;
			}
		}
	}
	return -1;
}

/* Unsubscribe everything of a session. */
void
subs_remove_session(struct subs *ss, struct session *s)
{
	struct sub *sub, *sub_next;
	struct listener *l, *l_next;

	/* Dropping a sub's last listener frees the sub; l_next is NULL then,
	 * so neither loop touches freed memory. */
	for (sub = TAILQ_FIRST(&ss->list); sub != NULL; sub = sub_next) {
		sub_next = TAILQ_NEXT(sub, entry);
		for (l = TAILQ_FIRST(&sub->listeners); l != NULL; l = l_next) {
			l_next = TAILQ_NEXT(l, entry);
			if (l->session == s)
				subs_drop_listener(ss, l);
		}
	}
}

/* Whether a topic list meets a changed etype list. */
static int
subs_touches(const json_t *topics, const json_t *etypes)
{
	size_t i, j;

	if (etypes == NULL || topics == NULL)
		return 1;
	for (i = 0; i < json_array_size(topics); i++) {
		const char *t = json_string_value(json_array_get(topics, i));

		for (j = 0; j < json_array_size(etypes); j++) {
			const char *e = json_string_value(json_array_get(etypes,
			    j));

			if (t != NULL && e != NULL && strcmp(t, e) == 0)
				return 1;
		}
	}
	return 0;
}

/* Re-evaluate touched subs and send what changed. */
void
subs_changed(struct subs *ss, const json_t *etypes)
{
	struct listener *l;
	struct sub *sub;
	char *tail;

	TAILQ_FOREACH(sub, &ss->list, entry) {
		if (!subs_touches(sub->topics, etypes))
			continue;
		if (subs_refresh(ss, sub)) {
			tail = subs_event_tail(ss, sub, NULL);
			TAILQ_FOREACH(l, &sub->listeners, entry)
				subs_deliver(l, tail);
			free(tail);
		}
		subs_drop_data(sub);
	}
}

/* One-shot evaluation for the query op. */
int
subs_eval_once(struct subs *ss, const json_t *q, json_t **out, char **errmsg)
{
	struct instaql_result res;

	*out = NULL;
	if (subs_evaluate(ss, q, NULL, &res, 0, NULL, errmsg) != 0) {
		instaql_result_clear(&res);
		return -1;
	}
	*out = json_pack("{s:O}", "data", res.data);
	if (res.page_info != NULL)
		json_object_set(*out, "page_info", res.page_info);
	instaql_result_clear(&res);
	return 0;
}

/* A query op's reply line: head ({"id":...,"ok":true,), then "data",
 * "page_info" if any, "from_cache" and the end of the line.  The text can
 * be megabytes: the evaluator writes it after the head, and the rest is
 * appended in place.  -1 with *errmsg. */
static int
subs_eval_line(struct subs *ss, const json_t *q, int answered,
    const char *head, char **out, size_t *len, char **errmsg)
{
	struct instaql_result res;
	const char *tail;
	char *prefix, *pi = NULL;
	size_t plen, tlen, need;
	int r = -1;

	*out = NULL;
	xasprintf(&prefix, "%s\"data\":", head);
	if (subs_evaluate(ss, q, NULL, &res, 1, prefix, errmsg) != 0)
		goto out;
	if (res.page_info != NULL &&
	    (pi = json_dumps(res.page_info, JSON_COMPACT)) == NULL)
		fatal("out of memory encoding a result");
	tail = answered ? ",\"from_cache\":false}\n" :
	    ",\"from_cache\":true}\n";
	plen = pi != NULL ? strlen(pi) : 0;
	tlen = strlen(tail);
	need = res.text_len + (pi != NULL ? 13 + plen : 0) + tlen + 1;
	if (need > res.text_cap)
		res.text = xreallocarray(res.text, need, 1);
	*len = res.text_len;
	if (pi != NULL) {
		memcpy(res.text + *len, ",\"page_info\":", 13);
		memcpy(res.text + *len + 13, pi, plen);
		*len += 13 + plen;
	}
	memcpy(res.text + *len, tail, tlen + 1);
	*len += tlen;
	*out = res.text;
	res.text = NULL;
	r = 0;
out:
	instaql_result_clear(&res);
	free(pi);
	free(prefix);
	return r;
}

/* The server refused q: tell its listeners, with the last data. */
void
subs_query_error(struct subs *ss, const json_t *q, const json_t *error)
{
	char *key = q != NULL ? proto_canonical(q) : NULL, *tail;
	struct listener *l;
	struct sub *sub;

	if (key == NULL)
		return;
	if ((sub = subs_find(ss, key)) != NULL) {
		subs_refresh(ss, sub);
		tail = subs_event_tail(ss, sub, error);
		TAILQ_FOREACH(l, &sub->listeners, entry)
			subs_deliver(l, tail);
		free(tail);
		subs_drop_data(sub);
	}
	free(key);
}

/* Answer a query op from the view (answered: by the server). */
static void
subs_reply_query(struct subs *ss, struct reply *r, const json_t *q,
    int answered)
{
	char *err = NULL, *head, *line;
	size_t len;

	head = reply_ok_head(r);
	if (subs_eval_line(ss, q, answered, head, &line, &len, &err) != 0) {
		reply_error(r, PROTO_INTERNAL, NULL, "%s",
		    err != NULL ? err : "the query failed");
		free(err);
	} else
		reply_ok_line(r, line, len);
	free(head);
}

/* Answer a waiting query op and forget it. */
static void
subs_finish_waiter(struct waiter *w, int answered)
{
	if (w->sub != NULL)
		TAILQ_REMOVE(&w->sub->waiters, w, entry);
	subs_reply_query(w->subs, w->reply, w->q, answered);
	if (w->sub != NULL && TAILQ_EMPTY(&w->sub->listeners) &&
	    TAILQ_EMPTY(&w->sub->waiters))
		subs_free_sub(w->subs, w->sub);
	reply_unref(w->reply);
	event_free(w->timer);
	json_decref(w->q);
	free(w);
}

/* The server did not answer in time. */
static void
subs_waiter_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	subs_finish_waiter(arg, 0);
}

/* query: online, wait for the server's answer (up to timeout_ms). */
void
subs_query(struct subs *ss, struct reply *r, const json_t *q, int timeout_ms)
{
	struct sub *sub;
	struct waiter *w;
	struct timeval tv;
	int answered = 0;

	if (app_upstream_ready(ss->app)) {
		sub = subs_find_or_add(ss, q);
		answered = app_query_answered(ss->app, sub->key);
		if (!answered) {
			w = xcalloc(1, sizeof *w);
			w->subs = ss;
			w->sub = sub;
			w->q = json_deep_copy(q);
			w->reply = reply_ref(r);
			w->timer = evtimer_new(app_server(ss->app)->base,
			    subs_waiter_timeout_cb, w);
			tv.tv_sec = timeout_ms / 1000;
			tv.tv_usec = (timeout_ms % 1000) * 1000;
			evtimer_add(w->timer, &tv);
			TAILQ_INSERT_TAIL(&sub->waiters, w, entry);
			return;
		}
	}
	subs_reply_query(ss, r, q, answered);
}

/* The session closed: answer every waiting query op from the cache now
 * rather than when its timeout runs out. */
void
subs_offline(struct subs *ss)
{
	struct sub *sub, *next;
	struct waiter *w;

	for (sub = TAILQ_FIRST(&ss->list); sub != NULL; sub = next) {
		next = TAILQ_NEXT(sub, entry);
		/* Finishing the last waiter may free the sub. */
		while ((w = TAILQ_FIRST(&sub->waiters)) != NULL) {
			int last = TAILQ_NEXT(w, entry) == NULL;

			subs_finish_waiter(w, 0);
			if (last)
				break;
		}
	}
}

/* The server answered q: finish the query ops waiting for it. */
void
subs_answered(struct subs *ss, const json_t *q)
{
	char *key = proto_canonical(q);
	struct waiter *w;
	struct sub *sub;

	if (key == NULL)
		return;
	/* Finishing the last waiter of a sub nobody listens to frees the
	 * sub: stop right after it. */
	sub = subs_find(ss, key);
	while (sub != NULL && (w = TAILQ_FIRST(&sub->waiters)) != NULL) {
		int last = TAILQ_NEXT(w, entry) == NULL;

		subs_finish_waiter(w, 1);
		if (last)
			break;
	}
	free(key);
}
