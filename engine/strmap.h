/* strmap.h: a string-keyed hash map of size_t values (open addressing);
 * keys are copied. */
#ifndef ENGINE_STRMAP_H
#define ENGINE_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_create(void);
void strmap_free(struct strmap *);
/* Set key to value (replacing): 0, or -1 on allocation failure. */
int strmap_put(struct strmap *, const char *key, size_t value);
/* The same for the key made of the len bytes at key (no NUL needed). */
int strmap_putn(struct strmap *, const char *key, size_t len, size_t value);
/* 1 and *value if key is present, else 0. */
int strmap_get(const struct strmap *, const char *key, size_t *value);
/* The same for the key made of the len bytes at key (no NUL needed). */
int strmap_getn(const struct strmap *, const char *key, size_t len,
    size_t *value);
size_t strmap_count(const struct strmap *);

#endif
