/*
 * idmap.c: entity ids to values (see idmap.h).
 *
 * The uuid table is open addressing with linear probing, kept at most
 * three quarters full (a slot is 24 bytes: the table of 80,000 ids is
 * 3 MiB, where at half full it would be 6, for a probe or two more); a
 * slot holds the id's two words and its value plus one (0: empty).  The
 * hash mixes both words, then applies the splitmix64 finalizer, whose low
 * bits (the table uses them) depend on every input bit: ids are chosen by
 * clients, and need not be random.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/idmap.h"
#include "engine/strmap.h"
#include "engine/tstore.h"
#include "proto/uuid.h"

struct idmap_slot {
	uint64_t k0, k1;
	size_t value; /* plus one; 0: empty */
};

struct idmap {
	struct idmap_slot *slots;
	size_t cap; /* a power of two */
	size_t n;   /* uuids held */
	struct strmap *other; /* the other ids, or NULL while there are none */
};

/* The hash of a uuid's words. */
static uint64_t
idmap_hash(uint64_t k0, uint64_t k1)
{
	uint64_t h = (k0 ^ (k1 * 0x9e3779b97f4a7c15ULL));

	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* A uuid's bytes as the two words of its slot. */
static void
idmap_words(const unsigned char b[16], uint64_t *k0, uint64_t *k1)
{
	memcpy(k0, b, 8);
	memcpy(k1, b + 8, 8);
}

/* Where the probe for a uuid starts. */
static size_t
idmap_home(const struct idmap *m, uint64_t k0, uint64_t k1)
{
	return (size_t)idmap_hash(k0, k1) & (m->cap - 1);
}

/* The slot holding the uuid, or the empty one where it belongs. */
static struct idmap_slot *
idmap_find(const struct idmap *m, uint64_t k0, uint64_t k1)
{
	size_t i = idmap_home(m, k0, k1);
	struct idmap_slot *s;

	for (;; i = (i + 1) & (m->cap - 1)) {
		s = &m->slots[i];
		if (s->value == 0 || (s->k0 == k0 && s->k1 == k1))
			return s;
	}
}

/* Create an empty map. */
struct idmap *
idmap_create(void)
{
	struct idmap *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	m->cap = 64;
	if ((m->slots = calloc(m->cap, sizeof *m->slots)) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

/* Free the map. */
void
idmap_free(struct idmap *m)
{
	if (m == NULL)
		return;
	strmap_free(m->other);
	free(m->slots);
	free(m);
}

/* Double the uuid table. */
static int
idmap_grow(struct idmap *m)
{
	struct idmap_slot *old = m->slots;
	size_t oldcap = m->cap, i;

	if ((m->slots = calloc(oldcap * 2, sizeof *m->slots)) == NULL) {
		m->slots = old;
		return -1;
	}
	m->cap = oldcap * 2;
	for (i = 0; i < oldcap; i++)
		if (old[i].value != 0)
			*idmap_find(m, old[i].k0, old[i].k1) = old[i];
	free(old);
	return 0;
}

/* Set a uuid's value. */
static int
idmap_put_bytes(struct idmap *m, const unsigned char b[16], size_t value)
{
	struct idmap_slot *s;
	uint64_t k0, k1;

	if ((m->n + 1) * 4 > m->cap * 3 && idmap_grow(m) != 0)
		return -1;
	idmap_words(b, &k0, &k1);
	s = idmap_find(m, k0, k1);
	if (s->value == 0) {
		s->k0 = k0;
		s->k1 = k1;
		m->n++;
	}
	s->value = value + 1;
	return 0;
}

/* Look a uuid up. */
static int
idmap_get_bytes(const struct idmap *m, const unsigned char b[16],
    size_t *value)
{
	const struct idmap_slot *s;
	uint64_t k0, k1;

	idmap_words(b, &k0, &k1);
	s = idmap_find(m, k0, k1);
	if (s->value == 0)
		return 0;
	if (value != NULL)
		*value = s->value - 1;
	return 1;
}

/* Set an id's value. */
int
idmap_put(struct idmap *m, const char *id, size_t len, size_t value)
{
	unsigned char b[16];

	if (uuid_bytes_lower(id, len, b))
		return idmap_put_bytes(m, b, value);
	if (m->other == NULL && (m->other = strmap_create()) == NULL)
		return -1;
	return strmap_putn(m->other, id, len, value);
}

/* Look an id up. */
int
idmap_get(const struct idmap *m, const char *id, size_t len, size_t *value)
{
	unsigned char b[16];

	if (uuid_bytes_lower(id, len, b))
		return idmap_get_bytes(m, b, value);
	return m->other != NULL && strmap_getn(m->other, id, len, value);
}

/* Look a triple's entity up. */
int
idmap_get_e(const struct idmap *m, const struct triple *tr, size_t *value)
{
	if (tr->eb != NULL)
		return idmap_get_bytes(m, tr->eb, value);
	return idmap_get(m, tr->e, strlen(tr->e), value);
}

/* Fetch a uuid's slot early. */
void
idmap_prefetch(const struct idmap *m, const unsigned char b[16])
{
	uint64_t k0, k1;

	idmap_words(b, &k0, &k1);
	__builtin_prefetch(&m->slots[idmap_home(m, k0, k1)]);
}

/* The number of ids. */
size_t
idmap_count(const struct idmap *m)
{
	return m->n + (m->other != NULL ? strmap_count(m->other) : 0);
}
