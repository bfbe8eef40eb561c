/*
 * strmap.c: a string-keyed hash map with linear probing (a word-at-a-time
 * multiplicative hash with a final mix, load factor at most 1/2).  No
 * removal: the evaluator only adds.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/strmap.h"

struct strmap_slot {
	char *key;
	size_t len;
	size_t value;
	uint64_t hash;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap; /* a power of two */
	size_t n;
};

/* A hash of len bytes: eight at a time (keys are mostly 36-byte ids),
 * finished with the splitmix64 finalizer, whose low bits (the table
 * uses them) depend on every input bit. */
static uint64_t
strmap_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL ^ len, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* Create an empty map. */
struct strmap *
strmap_create(void)
{
	struct strmap *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	m->cap = 16;
	if ((m->slots = calloc(m->cap, sizeof *m->slots)) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

/* Free the map and its keys. */
void
strmap_free(struct strmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}

/* The slot holding the key of len bytes, or the empty slot where it
 * belongs. */
static struct strmap_slot *
strmap_find(const struct strmap *m, const char *key, size_t len, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);
	const char *k;

	for (;; i = (i + 1) & (m->cap - 1)) {
		k = m->slots[i].key;
		if (k == NULL || (m->slots[i].hash == h &&
		    m->slots[i].len == len && memcmp(k, key, len) == 0))
			return &m->slots[i];
	}
}

/* Double the table. */
static int
strmap_grow(struct strmap *m)
{
	struct strmap_slot *old = m->slots, *s;
	size_t oldcap = m->cap, i;

	if ((m->slots = calloc(oldcap * 2, sizeof *m->slots)) == NULL) {
		m->slots = old;
		return -1;
	}
	m->cap = oldcap * 2;
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		s = strmap_find(m, old[i].key, old[i].len, old[i].hash);
		*s = old[i];
	}
	free(old);
	return 0;
}

/* Set key to value. */
int
strmap_put(struct strmap *m, const char *key, size_t value)
{
	return strmap_putn(m, key, strlen(key), value);
}

/* Set the key of len bytes to value. */
int
strmap_putn(struct strmap *m, const char *key, size_t len, size_t value)
{
	uint64_t h = strmap_hash(key, len);
	struct strmap_slot *s;

	if ((m->n + 1) * 2 > m->cap && strmap_grow(m) != 0)
		return -1;
	s = strmap_find(m, key, len, h);
	if (s->key == NULL) {
		if ((s->key = strndup(key, len)) == NULL)
			return -1;
		s->len = len;
		s->hash = h;
		m->n++;
	}
	s->value = value;
	return 0;
}

/* Look key up. */
int
strmap_get(const struct strmap *m, const char *key, size_t *value)
{
	return strmap_getn(m, key, strlen(key), value);
}

/* Look up the key of len bytes. */
int
strmap_getn(const struct strmap *m, const char *key, size_t len,
    size_t *value)
{
	struct strmap_slot *s = strmap_find(m, key, len, strmap_hash(key, len));

	if (s->key == NULL)
		return 0;
	if (value != NULL)
		*value = s->value;
	return 1;
}

/* The number of keys. */
size_t
strmap_count(const struct strmap *m)
{
	return m->n;
}
