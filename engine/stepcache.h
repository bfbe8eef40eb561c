/*
 * stepcache.h: parsed tx-steps of outbox rows, kept between rebuilds of
 * the optimistic view (see stepcache.c).
 */
#ifndef ENGINE_STEPCACHE_H
#define ENGINE_STEPCACHE_H

#include <stddef.h>
#include <jansson.h>

struct stepcache;

/* A cache holding at most max_bytes of step text (with its parse). */
struct stepcache *stepcache_create(size_t max_bytes);
void stepcache_free(struct stepcache *);

/* The parse of text, the stored tx-steps of row key: a new reference the
 * caller must not modify, or NULL if text is not JSON.  Served from the
 * cache when it holds key with this very text; else parsed, and kept if
 * there is room. */
json_t *stepcache_get(struct stepcache *, const char *key, const char *text);

/* Forget row key (its row is gone), or every row. */
void stepcache_drop(struct stepcache *, const char *key);
void stepcache_clear(struct stepcache *);

/* Rows and text bytes held, and lookups served from the cache. */
size_t stepcache_rows(const struct stepcache *);
size_t stepcache_bytes(const struct stepcache *);
size_t stepcache_hits(const struct stepcache *);

#endif
