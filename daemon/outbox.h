/*
 * outbox.h: the write path of one app.  A transaction is compiled to
 * tx-steps, applied to the optimistic view and appended to the durable
 * outbox inside the current batch; every transaction that arrives in one
 * event-loop turn shares one SQLite commit (group commit), and each reply
 * is sent only after that commit.  Then the subscriptions the batch
 * touched are re-evaluated.
 */
#ifndef DAEMON_OUTBOX_H
#define DAEMON_OUTBOX_H

#include <stdint.h>
#include <jansson.h>

struct app;
struct session;
struct reply;
struct outbox;

/* The write path for app, whose store is open. */
struct outbox *outbox_create(struct app *);

/* Commit an open batch (replying to its clients) and free. */
void outbox_free(struct outbox *);

/* Submit a transaction of InstaML steps from session s; r is finished
 * after the batch commits (or at once if the steps are invalid). */
void outbox_transact(struct outbox *, struct session *, struct reply *,
    const json_t *steps);

/* The outbox as the pending op's txs array (new reference), or NULL with
 * *errmsg (caller frees). */
json_t *outbox_list(struct outbox *, char **errmsg);

/* Transactions not yet synced (enqueued or pending). */
int64_t outbox_unsynced(const struct outbox *);

#endif
