/*
 * sync.h: the server's query results and the optimistic view of one app.
 *
 * base (table "base") is the union of the triples of every cached server
 * result, each counted by the number of results that hold it.  The view
 * (store_view) is base plus every local transaction the server has not yet
 * processed, applied with the official client's optimistic semantics.
 *
 * When results change, only the entities whose server triples changed are
 * reset in the view to their base triples; then every pending transaction
 * is replayed in order.  Replaying is idempotent for the entities that were
 * not reset: each (entity, attr) ends at the value of the last pending
 * transaction that sets it, ref sets end with the same members, merging
 * the same patch twice gives the same value, and $increment was resolved
 * to a plain number when the transaction was compiled.  Rolling back or
 * dropping a transaction resets the entities it touched; one with
 * delete-entity or lookups (whose reach is not known without the server)
 * resets the whole view.
 *
 * Replaying rebuilds only the entities that were reset, so when no pending
 * transaction touches one of them (none names it, none deletes an entity
 * or looks one up) the replay can be skipped: the view is the same, each
 * triple and the order of their t (the daemon's outbox keeps the counts
 * that tell).
 *
 * Entity sets and etype sets are JSON objects used as sets (keys, values
 * true); the key "*" in an entity set means every entity.
 */
#ifndef ENGINE_SYNC_H
#define ENGINE_SYNC_H

#include <stdint.h>
#include <jansson.h>

struct attrs;
struct store;
struct txapply;
struct sync;

/* Reconciliation over st, replaying with applier (a TXAPPLY_CLIENT
 * applier on st's view and attrs).  NULL with *errmsg on failure. */
struct sync *sync_create(struct store *st, struct txapply *applier,
    char **errmsg);
void sync_free(struct sync *);

/* The [e, a, v, t] triples of a server result (add-query-ok "result" or
 * refresh-ok "instaql-result"): every join row of every node and child
 * node, flattened.  New reference; NULL if result is malformed. */
json_t *sync_result_triples(const json_t *result);

/*
 * Replace the cached server result of q with triples.  The entities whose
 * triples changed are added to dirty, and the etypes of the attrs involved
 * to etypes.  0, or -1 (storage failure).  The result's keys are also kept
 * in memory, within bounds, so that the next result of q is compared
 * without reading this one back; a rollback of the store drops them.
 */
int sync_put_result(struct sync *, const json_t *q, const json_t *triples,
    const json_t *page_info, int64_t processed_tx_id, int64_t now_ms,
    json_t *dirty, json_t *etypes);

/* Forget the cached result of q (nobody subscribes to it any more). */
int sync_drop_result(struct sync *, const json_t *q, json_t *dirty,
    json_t *etypes);

/* Whether a tx-step is about attrs or rules (add-attr, restore-attr,
 * rule-params), not any entity. */
int sync_step_is_attr(const json_t *step);
/* Add the entities tx_steps touches to dirty ("*" when not knowable). */
void sync_tx_entities(const json_t *tx_steps, json_t *dirty);
/* Add the etypes of the attrs tx_steps' triple steps write (per the
 * registry reg) to etypes. */
void sync_tx_etypes(const struct attrs *reg, const json_t *tx_steps,
    json_t *etypes);

/* Whether a tx-step may change more than its own entity (or names it by
 * lookup): a rebuild must then replay every transaction whole. */
int sync_step_wild(const json_t *step);
/* The steps of tx_steps that a rebuild of the dirty entities must replay
 * when no transaction of the replay has a wild step (see sync.c): new
 * reference, or NULL when none. */
json_t *sync_replay_steps(json_t *tx_steps, const json_t *dirty);
/* Whether sync_replay_steps would give NULL for the tx-steps whose JSON
 * text is text, told without parsing it (0 when unsure). */
int sync_row_passes(const char *text, const json_t *dirty);

/*
 * Reset the dirty entities of the view to base and replay txs (an array
 * of {"tx_steps": [...], "created": ms}) in order; the etypes the replay
 * touched are added to etypes.  0, or -1.
 */
int sync_rebuild(struct sync *, const json_t *dirty, const json_t *txs,
    json_t *etypes);

/* How many of the last results sync_put_result keeps in memory (to
 * compare the next ones with), and the bytes they take. */
void sync_cache_stats(const struct sync *, size_t *entries, size_t *bytes);

/* The lowest processed-tx-id over the cached results that have one, or
 * -1 when none has. */
int64_t sync_min_processed(struct sync *);

#endif
