/*
 * stepcache.c: parsed tx-steps of outbox rows.
 *
 * Every rebuild of the optimistic view replays the outbox rows that touch
 * a changed entity, and each replay parsed the row's stored tx-steps
 * again: a fifth of the daemon's time while a backlog drains against
 * entities that every row touches.  A row's tx-steps never change once
 * stored, so their parse is kept here, keyed by the row's tx id, with the
 * text it came from: a lookup whose text differs is a miss and replaces
 * the entry, so the cache can be stale only in being useless.
 *
 * Parses are shared, not copied: callers take a reference and must not
 * modify it (the replay only reads steps, and the rewrite and the filter
 * build new arrays).  The cache holds max_bytes of text at most; once
 * full it keeps what it has and parses the rest on each use, so that a
 * scan over more rows than fit still finds the first ones.  Rows leave
 * by stepcache_drop when the outbox deletes them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/stepcache.h"

struct stepcache {
	json_t *rows; /* tx id -> [text, parse] */
	size_t bytes, max_bytes, hits;
};

/* An empty cache of max_bytes. */
struct stepcache *
stepcache_create(size_t max_bytes)
{
	struct stepcache *sc;

	if ((sc = calloc(1, sizeof *sc)) == NULL)
		return NULL;
	if ((sc->rows = json_object()) == NULL) {
		free(sc);
		return NULL;
	}
	sc->max_bytes = max_bytes;
	return sc;
}

/* Free the cache (the parses callers still hold stay theirs). */
void
stepcache_free(struct stepcache *sc)
{
	if (sc == NULL)
		return;
	json_decref(sc->rows);
	free(sc);
}

/* Forget every row (a rolled-back batch may have left some that are
 * not in the outbox). */
void
stepcache_clear(struct stepcache *sc)
{
	json_object_clear(sc->rows);
	sc->bytes = 0;
}

/* Forget key, if held. */
void
stepcache_drop(struct stepcache *sc, const char *key)
{
	json_t *e = json_object_get(sc->rows, key);

	if (e == NULL)
		return;
	sc->bytes -= json_string_length(json_array_get(e, 0));
	json_object_del(sc->rows, key);
}

/* The parse of text for row key: cached, or parsed (and cached if room). */
json_t *
stepcache_get(struct stepcache *sc, const char *key, const char *text)
{
	json_t *e = json_object_get(sc->rows, key), *parse;
	size_t len = strlen(text);

	if (e != NULL && strcmp(json_string_value(json_array_get(e, 0)),
	    text) == 0) {
		sc->hits++;
		return json_incref(json_array_get(e, 1));
	}
	if (e != NULL)
		stepcache_drop(sc, key);
	if ((parse = json_loads(text, 0, NULL)) == NULL)
		return NULL;
	if (sc->bytes + len <= sc->max_bytes &&
	    (e = json_pack("[s%O]", text, len, parse)) != NULL) {
		if (json_object_set_new(sc->rows, key, e) == 0)
			sc->bytes += len;
	}
	return parse;
}

/* Rows held. */
size_t
stepcache_rows(const struct stepcache *sc)
{
	return json_object_size(sc->rows);
}

/* Text bytes held. */
size_t
stepcache_bytes(const struct stepcache *sc)
{
	return sc->bytes;
}

/* Lookups served from the cache so far. */
size_t
stepcache_hits(const struct stepcache *sc)
{
	return sc->hits;
}
