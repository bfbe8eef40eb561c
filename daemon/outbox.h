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

#include <stddef.h>
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
/* Commit an open batch now rather than at the end of the loop turn. */
void outbox_commit(struct outbox *);

/* Submit a transaction of InstaML steps from session s; r is finished
 * after the batch commits (or at once if the steps are invalid), or with
 * wait_synced after the server's transact-ok or rejection. */
void outbox_transact(struct outbox *, struct session *, struct reply *,
    const json_t *steps, int wait_synced);

/*
 * The upstream side.  Transactions to send are those enqueued or pending
 * without a server tx-id, oldest first: outbox_unsent returns an array of
 * {"seq", "tx", "tx_steps", "resend"} (new reference) for those whose seq
 * is above after (a connection's cursor: the last seq it sent; a seq is
 * never reused, so rows before it were sent and are not even read), where
 * resend says it was sent on an earlier connection.  The rest report what
 * the server said;
 * each updates the store, the optimistic view, the submitting connection
 * (tx events, held replies) and the subscriptions.
 */
json_t *outbox_unsent(struct outbox *, int64_t after);
void outbox_sent(struct outbox *, const char *tx);
void outbox_acked(struct outbox *, const char *tx, int64_t tx_id);
/* error is Instant's error message; a rejected resend of a create whose
 * first send was committed counts as acked (see PROTOCOL.md). */
void outbox_rejected(struct outbox *, const char *tx, const json_t *error);
/* Server results: an array of {"q", "result", "page_info"?} with the
 * server's processed-tx-id (or -1).  With later nonzero, the view and the
 * subscriptions catch up when the batch commits, together with every
 * other result and ack that arrives before: a drain brings one of each
 * per transaction.  Otherwise at once (a waiting query reads the view
 * next). */
void outbox_results(struct outbox *, const json_t *results,
    int64_t processed_tx_id, int later);
/* Forget a query's cached result. */
void outbox_forget_query(struct outbox *, const json_t *q);
/* Replace the attr registry with the server's (init-ok, refresh-ok). */
void outbox_server_attrs(struct outbox *, const json_t *attrs);
/* The session is going away: no more tx events or replies for it. */
void outbox_forget_session(struct outbox *, struct session *);


/* The outbox as the pending op's txs array (new reference), or NULL with
 * *errmsg (caller frees). */
json_t *outbox_list(struct outbox *, char **errmsg);

/* Transactions not yet synced (enqueued or pending). */
int64_t outbox_unsynced(const struct outbox *);

/* Transactions whose submitting connections wait for their tx events
 * (none for a local-only app, whose transactions never go out). */
size_t outbox_tracked(const struct outbox *);

#endif
