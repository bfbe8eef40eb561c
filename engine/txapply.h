/*
 * txapply.h: apply Instant tx-steps to a triple store.
 *
 * Two semantics share one interface:
 *
 * TXAPPLY_CLIENT is the official JS client's optimistic store.transact:
 * steps run one by one in order after dropping create steps on entities
 * that exist and update steps on entities that do not (checked before the
 * batch runs, with the attrs known before it); lookups are resolved
 * against the store and a step whose lookup is unknown is dropped; merge
 * onto a missing value does nothing; add-attr registers the attr; new
 * triples get t = now_ms * 10 + a per-applier sequence number, so they
 * sort after anything the server sent.
 *
 * TXAPPLY_SERVER is what an Instant server does with a transact: steps
 * grouped by op, groups in the order each op first appears; mode checks
 * before any write; unique attrs enforced; lookups upsert; merge onto a
 * missing or non-object value stores the patch; add-attr idempotent;
 * new triples get t = now_ms.  A rejected transaction leaves the store
 * and the attrs untouched and reports Instant's error envelope.
 *
 * Both modes run inside a SAVEPOINT on db, so they also work inside a
 * caller's open transaction (group commit).  The attr registry is memory:
 * a caller that rolls back its own transaction after a successful run
 * must also drop result->new_attrs from the registry (or reload it).
 */
#ifndef ENGINE_TXAPPLY_H
#define ENGINE_TXAPPLY_H

#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>

struct attrs;
struct tstore;
struct txapply;

enum txapply_mode {
	TXAPPLY_CLIENT,
	TXAPPLY_SERVER,
};

/* What one run did, for re-evaluating only affected subscriptions. */
struct txapply_result {
	json_t *etypes;	   /* array of etype names whose triples changed */
	json_t *attr_ids;  /* array of attr ids whose triples changed */
	json_t *new_attrs; /* attrs add-attr steps put in the registry (not
			    * counting ones it already held) */
	/* Set when the run failed: {status, type, message, hint} as in
	 * Instant's error message (status 400 for a rejected transaction,
	 * 500 for an internal failure). */
	json_t *error;
};

/* An applier over ts and attrs (both borrowed; db is ts's database). */
struct txapply *txapply_create(sqlite3 *db, struct tstore *ts,
			       struct attrs *attrs, enum txapply_mode mode);
void txapply_free(struct txapply *);

/*
 * Apply tx_steps (a JSON array) with now_ms as the clock.  Returns 0 on
 * success, 1 if the transaction was rejected (server mode: mode, unique,
 * lookup or validation errors; result->error set, nothing written), -1 on
 * an internal failure (result->error set with status 500, nothing
 * written).  result must be zeroed or cleared before the call.
 */
int txapply_run(struct txapply *, const json_t *tx_steps, int64_t now_ms,
		struct txapply_result *result);

/* Release a result's members and zero it. */
void txapply_result_clear(struct txapply_result *);

#endif
