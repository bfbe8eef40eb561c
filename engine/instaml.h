/*
 * instaml.h: compile local-protocol InstaML steps into Instant tx-steps.
 *
 * A step is [action, ns, entity, args?, opts?] with action one of create,
 * update, merge, delete, link, unlink, ruleParams; entity a UUID, a lookup
 * [label, value] or a "lookup__<label>__<json>" string.  The output is the
 * tx-steps array the official JS client (@instantdb/core 1.0.67,
 * instaml.transform) sends for the same ops: add-attr steps first for
 * every attr the ops need and the registry lacks (or holds unsynced), then
 * the steps of each op in order, with the id triple first, mode options and
 * lookups as [attrId, value].
 *
 * Unsynced attrs: an attr whose JSON object carries "isUnsynced": true (as
 * the add-attr steps built here do) is one the server has not confirmed;
 * it is re-emitted as add-attr by every compile that uses it, exactly as
 * the JS client does.  Once the transaction that created it is acknowledged
 * (transact-ok), call instaml_attrs_synced, or replace the attrs with the
 * server's.
 *
 * {"$increment": N} as a field value of update/merge is resolved against
 * the current value in view (and earlier steps of the same compile); a
 * missing value counts as 0 and the step carries the plain sum.  Only a
 * whole field value is an increment; inside a merge patch the object is
 * sent as it is.
 */
#ifndef ENGINE_INSTAML_H
#define ENGINE_INSTAML_H

#include <stdint.h>
#include <jansson.h>

struct attrs;
struct tstore;

/*
 * Compile steps (a JSON array of InstaML steps).  On success returns 0,
 * *tx_steps receives the tx-steps array and *new_attrs the array of attrs
 * created by this compile (both new references).  attrs is only read: as
 * in the JS client, the new attrs enter the registry when the tx-steps'
 * add-attr steps are applied (txapply_run registers them), so apply what
 * you compile before compiling again.  view (may be NULL) is the local
 * triple view used to choose mode "update" for known entities and to
 * resolve $increment.
 *
 * On an invalid step returns -1 with *errmsg (caller frees) naming the step
 * index and the offending field, and changes nothing.
 */
int instaml_compile(const json_t *steps, const struct attrs *attrs,
		    struct tstore *view, json_t **tx_steps, json_t **new_attrs,
		    char **errmsg);

/* No add-attr step for an attr attrs holds already: the official client
 * re-sends each unsynced attr with every transaction that uses it, which
 * the daemon does when it sends the transaction, not when it stores it. */
#define INSTAML_OMIT_KNOWN_ATTRS 0x1

/* instaml_compile with INSTAML_* flags. */
int instaml_compile_flags(const json_t *steps, const struct attrs *attrs,
			  struct tstore *view, int flags, json_t **tx_steps,
			  json_t **new_attrs, char **errmsg);

/* Mark the attrs added by the add-attr steps of tx_steps as synced (drop
 * their "isUnsynced" flag in attrs).  0, or -1 if attrs rejected one. */
int instaml_attrs_synced(struct attrs *attrs, const json_t *tx_steps);

/*
 * Rewriting pending transactions when the server's attrs arrive (init-ok,
 * refresh-ok), as the JS client does before it resends or re-applies
 * them: create one rewrite with the server's attrs, then pass each pending
 * transaction's tx-steps through instaml_rewrite_steps oldest first (the
 * id mapping found in one carries over to the later ones).  add-attr steps
 * for attrs the server has under another id, or as the other direction of
 * a link, are dropped and later steps use the server's id (a reversed
 * link swaps entity and value); add-attr steps of transactions whose tx_id
 * is at most processed_tx_id (both > 0, else unknown), and update-attr /
 * delete-attr steps, are dropped too.
 */
struct instaml_rewrite;

struct instaml_rewrite *
instaml_rewrite_create(const struct attrs *server_attrs);
void instaml_rewrite_free(struct instaml_rewrite *);
/* The rewritten steps (new reference, NULL if out of memory); *changed
 * tells whether they differ from tx_steps. */
json_t *instaml_rewrite_steps(struct instaml_rewrite *, const json_t *tx_steps,
			      int64_t tx_id, int64_t processed_tx_id,
			      int *changed);

#endif
