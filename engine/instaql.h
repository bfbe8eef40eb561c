/*
 * instaql.h: the InstaQL evaluator.
 *
 * instaql_eval computes, from the triples of a tstore and an attr registry,
 * exactly the result that the official JavaScript client (@instantdb/core
 * 1.0.67, instaql.ts over datalog.js and store.ts) computes for the same
 * query over the same triples: nested links in both directions, where
 * clauses (equality, id, link labels, dotted paths, and/or, $in, $ne/$not,
 * $isNull, $gt/$gte/$lt/$lte, $like/$ilike), order, limit/first/last,
 * fields, has-one links as objects under cardinality inference, and the
 * client-side cursor window of offset/before/after queries.
 *
 * In server mode (the devserver), it also does what only the server does:
 * the top-level page window (offset, limit/first/last, before/after and
 * their *Inclusive forms) with page-info cursors [e, a, v, t], the count
 * aggregate, and the set of triples (join rows) the official client needs
 * to recompute the same result: each result entity's selected attributes,
 * the link triples of nested results, and every "witness" triple that
 * makes a where clause true for it.
 *
 * In client mode a namespace the server answered with an aggregate is
 * not evaluated by the client: leave it out of q and pass the server's
 * aggregate on.
 *
 * String ordering (order by an attr whose checked-data-type is "string")
 * follows the client's Intl.Collator('en-US') (see collate.c): exact for
 * Latin, Greek, Cyrillic, punctuation, symbols and common emoji in NFC;
 * other scripts sort after them by code point.  Other values compare as
 * JavaScript's ">" does; dates (checked-data-type "date") as
 * milliseconds, ISO 8601 text read as UTC.
 */
#ifndef ENGINE_INSTAQL_H
#define ENGINE_INSTAQL_H

#include <jansson.h>

struct attrs;
struct tstore;

struct instaql_opts {
	/* Has-one links become an object (or are absent) instead of an
	 * array: a forward label is has-one when its attr has cardinality
	 * "one", a reverse label when its attr is unique?. */
	int cardinality_inference;
	/* The server's page-info of this query ({etype: {"start-cursor",
	 * "end-cursor", "has-next-page?", "has-previous-page?"}}), or NULL:
	 * the client-side window of offset/before/after queries, and the
	 * pageInfo of the result.  Ignored in server mode. */
	const json_t *page_info;
	/* Server mode: compute top-level windows, page-info, aggregates and
	 * the join-row triples. */
	int server;
	/* Text that the result's text starts with, before the data (NULL:
	 * none): the caller's own framing, so that a reply of megabytes is
	 * written once, where it is sent from.  Only the text has it. */
	const char *text_prefix;
};

struct instaql_result {
	/* {"<etype>": [...]} as the client gives its subscribers. */
	json_t *data;
	/* The same as JSON text (NUL-terminated), exactly as
	 * json_dumps(data, JSON_COMPACT) prints it, after opts->text_prefix;
	 * text_cap bytes are allocated (for the caller to append to). */
	char *text;
	size_t text_len;
	size_t text_cap;
	/* {"<etype>": {startCursor, endCursor, hasNextPage, hasPreviousPage}}
	 * in client mode when opts->page_info was given; in server mode the
	 * server's form {"<etype>": {"start-cursor", "end-cursor",
	 * "has-next-page?", "has-previous-page?"}} for every top-level
	 * namespace.  NULL otherwise. */
	json_t *page_info;
	/* Server mode: {"<etype>": {"count": n}} for namespaces queried with
	 * $: {aggregate: "count"} (their data is omitted).  NULL otherwise. */
	json_t *aggregate;
	/* Server mode: a deduplicated array of [e, a, v, t] triples enough
	 * for the official client to recompute data.  NULL otherwise. */
	json_t *triples;
	/* The etypes the evaluation read (a sorted array of strings), for
	 * invalidation: a change to an entity of another etype, or to an attr
	 * whose forward or reverse etype is not listed, cannot change the
	 * result. */
	json_t *topics;
};

/*
 * Evaluate query q.  On success returns 0 and fills *out (clear it with
 * instaql_result_clear).  A malformed query returns -1 with *errmsg (if
 * errmsg is not NULL; caller frees) naming the offending path, e.g.
 * "goals.$.where.title: $gt needs a value"; a SQLite failure also returns
 * -1 with a message.  Unknown namespaces and attrs are not errors: they
 * give [] as in the client.  opts may be NULL (all defaults).
 */
int instaql_eval(struct tstore *, const struct attrs *, const json_t *q,
    const struct instaql_opts *opts, struct instaql_result *out,
    char **errmsg);

/* The same, with the data as text only (out->data stays NULL): what a
 * reply sends, without building and encoding a tree. */
int instaql_eval_text(struct tstore *, const struct attrs *, const json_t *q,
    const struct instaql_opts *opts, struct instaql_result *out,
    char **errmsg);

/* Release what a result holds and zero it (a zeroed result is a no-op). */
void instaql_result_clear(struct instaql_result *);

/* Check the shape of a query without a store: forms, "$" options and
 * where structure (and/or, operator maps that need no attr).  Errors that
 * depend on attrs (a null value, a path through an attr that is not a
 * link) are only found by instaql_eval.  0, or -1 with *errmsg as for
 * instaql_eval. */
int instaql_validate(const json_t *q, char **errmsg);

#endif
