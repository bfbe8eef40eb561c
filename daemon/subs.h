/*
 * subs.h: the live queries of one app.
 *
 * Identical queries (the same canonical JSON) from any number of sessions
 * are one subscription: evaluated once per change, its result sent to
 * every listener.  A subscription is re-evaluated only when a change
 * touches one of the namespaces its last evaluation read, and a result is
 * sent only when its data differs from the last one sent.
 */
#ifndef DAEMON_SUBS_H
#define DAEMON_SUBS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct app;
struct session;
struct reply;
struct subs;

struct subs *subs_create(struct app *);
void subs_free(struct subs *);

/*
 * Subscribe session to q (validated by the caller): finishes the reply
 * with {sub} and queues the first result event right behind it.
 */
void subs_add(struct subs *, struct session *, struct reply *,
    const json_t *q);

/* Drop one listener: 0, or -1 if the session has no such sub. */
int subs_remove(struct subs *, struct session *, int64_t sub_id);

/* Drop every listener of a session. */
void subs_remove_session(struct subs *, struct session *);

/* Re-evaluate the subscriptions that read any namespace in etypes (an
 * array of strings; NULL means all) and send changed results. */
void subs_changed(struct subs *, const json_t *etypes);

/* The server refused q (Instant's error fields in error): send its
 * listeners a result event carrying the error and the last data. */
void subs_query_error(struct subs *, const json_t *q, const json_t *error);

/* The query op: online, answered when the server answers q (or after
 * timeout_ms, from the cache); offline, from the cache at once. */
void subs_query(struct subs *, struct reply *, const json_t *q,
    int timeout_ms);

/* The server answered q: finish the query ops waiting for it. */
void subs_answered(struct subs *, const json_t *q);
/* The upstream session closed: waiting query ops are answered from the
 * cache at once. */
void subs_offline(struct subs *);

/* The number of distinct live queries. */
size_t subs_count(const struct subs *);

/*
 * Evaluate q once for the app: *out receives {data, page_info?} (new
 * reference).  -1 with *errmsg (caller frees) on failure.
 */
int subs_eval_once(struct subs *, const json_t *q, json_t **out,
    char **errmsg);

#endif
