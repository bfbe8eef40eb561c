/*
 * collate.c: string ordering close to the client's Intl.Collator('en-US').
 *
 * The client sorts string attributes with ICU's en-US collation (the CLDR
 * root order).  This is a three-level collation: the primary level ignores
 * case and accents (spaces < punctuation < symbols < digits < letters),
 * the secondary level orders accents, the tertiary level puts lower case
 * before upper case.  Control characters are ignorable; combining marks
 * weigh only at the secondary level; letters such as ae, oe or sharp s
 * expand to two.  (Precomposed letters are not decomposed, so "e" with a
 * combining acute does not equal the precomposed e-acute as in ICU.)  The table holds the CLDR root weights
 * of Latin (U+0000..U+024F), combining diacritics, Greek, Cyrillic,
 * general punctuation, currency, arrows, mathematical operators,
 * miscellaneous symbols and the common emoji blocks (each
 * entry: code point, primary, second primary of an expansion, secondary,
 * tertiary).  Any other code point (CJK, emoji, other scripts) sorts after
 * all of them, in code point order: an approximation.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/collate.h"

struct collate_w {
	uint32_t cp;
	uint16_t p1, p2;
	uint8_t s, t;
};

#include "engine/collate_table.h"

/* Primary weights of code points outside the table: after all of it. */
#define COLLATE_OTHER 4000

/* The weights of a code point, or NULL if it is not in the table. */
static const struct collate_w *
collate_lookup(uint32_t cp)
{
	size_t lo = 0, hi = sizeof collate_table / sizeof collate_table[0];
	size_t mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (collate_table[mid].cp == cp)
			return &collate_table[mid];
		if (collate_table[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* One collation element. */
struct collate_ce {
	uint32_t p;
	uint8_t s, t;
};

/* A growing array of collation elements. */
struct collate_seq {
	struct collate_ce *v;
	size_t n, cap;
};

/* Append one element; -1 on allocation failure. */
static int
collate_push(struct collate_seq *q, uint32_t p, uint8_t s, uint8_t t)
{
	struct collate_ce *v;

	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 32;
		if ((v = realloc(q->v, q->cap * sizeof *v)) == NULL)
			return -1;
		q->v = v;
	}
	q->v[q->n].p = p;
	q->v[q->n].s = s;
	q->v[q->n].t = t;
	q->n++;
	return 0;
}

/* Decode one UTF-8 code point at *s (invalid bytes decode as themselves). */
static uint32_t
collate_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t cp;
	int n, i;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 1;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 2;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 3;
		cp = p[0] & 0x07;
	} else {
		*s = p + 1;
		return p[0];
	}
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s = p + 1;
			return p[0];
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*s = p + n + 1;
	return cp;
}

/* The collation elements of a UTF-8 string. */
static int
collate_elements(const char *str, struct collate_seq *q)
{
	const unsigned char *s = (const unsigned char *)str;
	const struct collate_w *w;
	uint32_t cp;

	while (*s != '\0') {
		cp = collate_next(&s);
		if ((w = collate_lookup(cp)) == NULL) {
			if (collate_push(q, COLLATE_OTHER + cp, 0, 0) != 0)
				return -1;
			continue;
		}
		if (w->p1 == 0 && w->s == 0)
			continue; /* ignorable */
		if (collate_push(q, w->p1, w->s, w->t) != 0)
			return -1;
		if (w->p2 != 0 && collate_push(q, w->p2, w->s, w->t) != 0)
			return -1;
	}
	return 0;
}

/* The weight of element i at a level. */
static uint32_t
collate_weight(const struct collate_seq *q, size_t i, int level)
{
	return level == 0 ? q->v[i].p : level == 1 ? q->v[i].s : q->v[i].t;
}

/* The next element at or after *i that has a weight at this level (a
 * combining mark has none at the primary level): 1, or 0 at the end. */
static int
collate_next_at(const struct collate_seq *q, size_t *i, int level)
{
	while (*i < q->n && level == 0 && q->v[*i].p == 0)
		(*i)++;
	return *i < q->n;
}

/* Compare one level of two element sequences. */
static int
collate_level(const struct collate_seq *a, const struct collate_seq *b,
    int level)
{
	size_t i = 0, j = 0;
	uint32_t x, y;
	int ha, hb;

	for (;; i++, j++) {
		ha = collate_next_at(a, &i, level);
		hb = collate_next_at(b, &j, level);
		if (!ha || !hb)
			return ha == hb ? 0 : ha ? 1 : -1;
		x = collate_weight(a, i, level);
		y = collate_weight(b, j, level);
		if (x != y)
			return x < y ? -1 : 1;
	}
}

/* Append one byte to a key buffer of capacity cap. */
static void
collate_key_put(unsigned char *k, size_t *n, unsigned char b)
{
	k[(*n)++] = b;
}

/* The sort key of a UTF-8 string: memcmp of two keys orders them as
 * collate_compare.  Primary weights (3 bytes each), a zero separator,
 * secondary weights plus one, a zero, tertiary weights plus one.  Caller
 * frees; NULL on allocation failure. */
unsigned char *
collate_key(const char *s, size_t *len)
{
	struct collate_seq q = { NULL, 0, 0 };
	unsigned char *k = NULL;
	size_t i, n = 0;

	if (collate_elements(s, &q) != 0 ||
	    (k = malloc(q.n * 5 + 5)) == NULL)
		goto out;
	for (i = 0; i < q.n; i++) {
		if (q.v[i].p == 0)
			continue;
		collate_key_put(k, &n, (unsigned char)(q.v[i].p >> 16));
		collate_key_put(k, &n, (unsigned char)(q.v[i].p >> 8));
		collate_key_put(k, &n, (unsigned char)q.v[i].p);
	}
	for (i = 0; i < 3; i++)
		collate_key_put(k, &n, 0);
	for (i = 0; i < q.n; i++)
		collate_key_put(k, &n, (unsigned char)(q.v[i].s + 1 > 255 ?
		    255 : q.v[i].s + 1));
	collate_key_put(k, &n, 0);
	for (i = 0; i < q.n; i++)
		collate_key_put(k, &n, (unsigned char)(q.v[i].t + 1));
	*len = n;
out:
	free(q.v);
	return k;
}

/* Compare two sort keys. */
int
collate_key_cmp(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c < 0 ? -1 : 1;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Compare two UTF-8 strings: <0, 0 or >0. */
int
collate_compare(const char *a, const char *b)
{
	struct collate_seq qa = { NULL, 0, 0 }, qb = { NULL, 0, 0 };
	int level, c = 0;

	if (collate_elements(a, &qa) != 0 || collate_elements(b, &qb) != 0) {
		c = strcmp(a, b);
		goto out;
	}
	for (level = 0; level < 3 && c == 0; level++)
		c = collate_level(&qa, &qb, level);
out:
	free(qa.v);
	free(qb.v);
	return c;
}
