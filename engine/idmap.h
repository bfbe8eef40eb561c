/*
 * idmap.h: a map from entity ids to size_t values, for the evaluator's
 * sets of entities (tens of thousands of ids, looked up once per field).
 *
 * Ids are lower-case uuids as good as always: those are keyed by their 16
 * bytes, in the table's own slots, so that a lookup hashes two words and
 * reads one slot, and a caller that has the bytes already (a column of
 * the view's cache keeps ids so) skips the text altogether.  Any other id
 * goes to a string map beside it.  An id in upper case is such another
 * id: ids are text, and "ABC..." is not "abc...".
 */
#ifndef ENGINE_IDMAP_H
#define ENGINE_IDMAP_H

#include <stddef.h>

struct triple;
struct idmap;

struct idmap *idmap_create(void);
void idmap_free(struct idmap *);
/* Set the id of len bytes to value (replacing): 0, or -1 out of memory. */
int idmap_put(struct idmap *, const char *id, size_t len, size_t value);
/* 1 and *value (if value is not NULL) if the id of len bytes is there,
 * else 0. */
int idmap_get(const struct idmap *, const char *id, size_t len,
    size_t *value);
/* The same for the entity of a triple, by its bytes when the triple has
 * them. */
int idmap_get_e(const struct idmap *, const struct triple *, size_t *value);
size_t idmap_count(const struct idmap *);
/* Have the processor fetch the slot of the uuid with bytes b, for a
 * lookup soon after. */
void idmap_prefetch(const struct idmap *, const unsigned char b[16]);

#endif
