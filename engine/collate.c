/*
 * collate.c: string ordering close to the client's Intl.Collator('en-US').
 *
 * The client sorts string attributes with ICU's en-US collation (the CLDR
 * root order).  This is a three-level collation for Latin-1: the primary
 * level ignores case and accents (spaces < punctuation < symbols < digits <
 * letters), the secondary level orders accents, the tertiary level puts
 * lower case before upper case.  Control characters are ignorable; ae, AE
 * and sharp s expand to two letters.  The weights below are the CLDR root
 * order of U+0000..U+00FF (each entry: primary, second primary of an
 * expansion, secondary, tertiary).  Any other code point gets a primary
 * weight after every Latin-1 letter, in code point order: an approximation
 * that is exact for Latin-1 text only.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/collate.h"

struct collate_w {
	uint16_t p1, p2;
	uint8_t s, t;
};

static const struct collate_w collate_latin1[256] = {
	{ 0, 0, 0, 0 }, /* 00 */
	{ 0, 0, 0, 0 }, /* 01 */
	{ 0, 0, 0, 0 }, /* 02 */
	{ 0, 0, 0, 0 }, /* 03 */
	{ 0, 0, 0, 0 }, /* 04 */
	{ 0, 0, 0, 0 }, /* 05 */
	{ 0, 0, 0, 0 }, /* 06 */
	{ 0, 0, 0, 0 }, /* 07 */
	{ 0, 0, 0, 0 }, /* 08 */
	{ 1, 0, 0, 0 }, /* 09 */
	{ 2, 0, 0, 0 }, /* 0a */
	{ 3, 0, 0, 0 }, /* 0b */
	{ 4, 0, 0, 0 }, /* 0c */
	{ 5, 0, 0, 0 }, /* 0d */
	{ 0, 0, 0, 0 }, /* 0e */
	{ 0, 0, 0, 0 }, /* 0f */
	{ 0, 0, 0, 0 }, /* 10 */
	{ 0, 0, 0, 0 }, /* 11 */
	{ 0, 0, 0, 0 }, /* 12 */
	{ 0, 0, 0, 0 }, /* 13 */
	{ 0, 0, 0, 0 }, /* 14 */
	{ 0, 0, 0, 0 }, /* 15 */
	{ 0, 0, 0, 0 }, /* 16 */
	{ 0, 0, 0, 0 }, /* 17 */
	{ 0, 0, 0, 0 }, /* 18 */
	{ 0, 0, 0, 0 }, /* 19 */
	{ 0, 0, 0, 0 }, /* 1a */
	{ 0, 0, 0, 0 }, /* 1b */
	{ 0, 0, 0, 0 }, /* 1c */
	{ 0, 0, 0, 0 }, /* 1d */
	{ 0, 0, 0, 0 }, /* 1e */
	{ 0, 0, 0, 0 }, /* 1f */
	{ 7, 0, 0, 0 }, /* 20 */
	{ 13, 0, 0, 0 }, /* 21 */
	{ 20, 0, 0, 0 }, /* 22 */
	{ 36, 0, 0, 0 }, /* 23 */
	{ 60, 0, 0, 0 }, /* 24 */
	{ 37, 0, 0, 0 }, /* 25 */
	{ 35, 0, 0, 0 }, /* 26 */
	{ 19, 0, 0, 0 }, /* 27 */
	{ 23, 0, 0, 0 }, /* 28 */
	{ 24, 0, 0, 0 }, /* 29 */
	{ 32, 0, 0, 0 }, /* 2a */
	{ 47, 0, 0, 0 }, /* 2b */
	{ 10, 0, 0, 0 }, /* 2c */
	{ 9, 0, 0, 0 }, /* 2d */
	{ 17, 0, 0, 0 }, /* 2e */
	{ 33, 0, 0, 0 }, /* 2f */
	{ 63, 0, 0, 0 }, /* 30 */
	{ 64, 0, 0, 0 }, /* 31 */
	{ 67, 0, 0, 0 }, /* 32 */
	{ 68, 0, 0, 0 }, /* 33 */
	{ 70, 0, 0, 0 }, /* 34 */
	{ 71, 0, 0, 0 }, /* 35 */
	{ 72, 0, 0, 0 }, /* 36 */
	{ 73, 0, 0, 0 }, /* 37 */
	{ 74, 0, 0, 0 }, /* 38 */
	{ 75, 0, 0, 0 }, /* 39 */
	{ 12, 0, 0, 0 }, /* 3a */
	{ 11, 0, 0, 0 }, /* 3b */
	{ 51, 0, 0, 0 }, /* 3c */
	{ 52, 0, 0, 0 }, /* 3d */
	{ 53, 0, 0, 0 }, /* 3e */
	{ 15, 0, 0, 0 }, /* 3f */
	{ 31, 0, 0, 0 }, /* 40 */
	{ 76, 0, 0, 1 }, /* 41 */
	{ 77, 0, 0, 1 }, /* 42 */
	{ 78, 0, 0, 1 }, /* 43 */
	{ 79, 0, 0, 1 }, /* 44 */
	{ 80, 0, 0, 1 }, /* 45 */
	{ 81, 0, 0, 1 }, /* 46 */
	{ 82, 0, 0, 1 }, /* 47 */
	{ 83, 0, 0, 1 }, /* 48 */
	{ 84, 0, 0, 1 }, /* 49 */
	{ 85, 0, 0, 1 }, /* 4a */
	{ 86, 0, 0, 1 }, /* 4b */
	{ 87, 0, 0, 1 }, /* 4c */
	{ 88, 0, 0, 1 }, /* 4d */
	{ 89, 0, 0, 1 }, /* 4e */
	{ 90, 0, 0, 1 }, /* 4f */
	{ 91, 0, 0, 1 }, /* 50 */
	{ 92, 0, 0, 1 }, /* 51 */
	{ 93, 0, 0, 1 }, /* 52 */
	{ 94, 0, 0, 1 }, /* 53 */
	{ 95, 0, 0, 1 }, /* 54 */
	{ 96, 0, 0, 1 }, /* 55 */
	{ 97, 0, 0, 1 }, /* 56 */
	{ 98, 0, 0, 1 }, /* 57 */
	{ 99, 0, 0, 1 }, /* 58 */
	{ 100, 0, 0, 1 }, /* 59 */
	{ 101, 0, 0, 1 }, /* 5a */
	{ 25, 0, 0, 0 }, /* 5b */
	{ 34, 0, 0, 0 }, /* 5c */
	{ 26, 0, 0, 0 }, /* 5d */
	{ 40, 0, 0, 0 }, /* 5e */
	{ 8, 0, 0, 0 }, /* 5f */
	{ 38, 0, 0, 0 }, /* 60 */
	{ 76, 0, 0, 0 }, /* 61 */
	{ 77, 0, 0, 0 }, /* 62 */
	{ 78, 0, 0, 0 }, /* 63 */
	{ 79, 0, 0, 0 }, /* 64 */
	{ 80, 0, 0, 0 }, /* 65 */
	{ 81, 0, 0, 0 }, /* 66 */
	{ 82, 0, 0, 0 }, /* 67 */
	{ 83, 0, 0, 0 }, /* 68 */
	{ 84, 0, 0, 0 }, /* 69 */
	{ 85, 0, 0, 0 }, /* 6a */
	{ 86, 0, 0, 0 }, /* 6b */
	{ 87, 0, 0, 0 }, /* 6c */
	{ 88, 0, 0, 0 }, /* 6d */
	{ 89, 0, 0, 0 }, /* 6e */
	{ 90, 0, 0, 0 }, /* 6f */
	{ 91, 0, 0, 0 }, /* 70 */
	{ 92, 0, 0, 0 }, /* 71 */
	{ 93, 0, 0, 0 }, /* 72 */
	{ 94, 0, 0, 0 }, /* 73 */
	{ 95, 0, 0, 0 }, /* 74 */
	{ 96, 0, 0, 0 }, /* 75 */
	{ 97, 0, 0, 0 }, /* 76 */
	{ 98, 0, 0, 0 }, /* 77 */
	{ 99, 0, 0, 0 }, /* 78 */
	{ 100, 0, 0, 0 }, /* 79 */
	{ 101, 0, 0, 0 }, /* 7a */
	{ 27, 0, 0, 0 }, /* 7b */
	{ 55, 0, 0, 0 }, /* 7c */
	{ 28, 0, 0, 0 }, /* 7d */
	{ 57, 0, 0, 0 }, /* 7e */
	{ 0, 0, 0, 0 }, /* 7f */
	{ 0, 0, 0, 0 }, /* 80 */
	{ 0, 0, 0, 0 }, /* 81 */
	{ 0, 0, 0, 0 }, /* 82 */
	{ 0, 0, 0, 0 }, /* 83 */
	{ 0, 0, 0, 0 }, /* 84 */
	{ 6, 0, 0, 0 }, /* 85 */
	{ 0, 0, 0, 0 }, /* 86 */
	{ 0, 0, 0, 0 }, /* 87 */
	{ 0, 0, 0, 0 }, /* 88 */
	{ 0, 0, 0, 0 }, /* 89 */
	{ 0, 0, 0, 0 }, /* 8a */
	{ 0, 0, 0, 0 }, /* 8b */
	{ 0, 0, 0, 0 }, /* 8c */
	{ 0, 0, 0, 0 }, /* 8d */
	{ 0, 0, 0, 0 }, /* 8e */
	{ 0, 0, 0, 0 }, /* 8f */
	{ 0, 0, 0, 0 }, /* 90 */
	{ 0, 0, 0, 0 }, /* 91 */
	{ 0, 0, 0, 0 }, /* 92 */
	{ 0, 0, 0, 0 }, /* 93 */
	{ 0, 0, 0, 0 }, /* 94 */
	{ 0, 0, 0, 0 }, /* 95 */
	{ 0, 0, 0, 0 }, /* 96 */
	{ 0, 0, 0, 0 }, /* 97 */
	{ 0, 0, 0, 0 }, /* 98 */
	{ 0, 0, 0, 0 }, /* 99 */
	{ 0, 0, 0, 0 }, /* 9a */
	{ 0, 0, 0, 0 }, /* 9b */
	{ 0, 0, 0, 0 }, /* 9c */
	{ 0, 0, 0, 0 }, /* 9d */
	{ 0, 0, 0, 0 }, /* 9e */
	{ 0, 0, 0, 0 }, /* 9f */
	{ 7, 0, 0, 1 }, /* a0 */
	{ 14, 0, 0, 0 }, /* a1 */
	{ 59, 0, 0, 0 }, /* a2 */
	{ 61, 0, 0, 0 }, /* a3 */
	{ 58, 0, 0, 0 }, /* a4 */
	{ 62, 0, 0, 0 }, /* a5 */
	{ 56, 0, 0, 0 }, /* a6 */
	{ 29, 0, 0, 0 }, /* a7 */
	{ 42, 0, 0, 0 }, /* a8 */
	{ 45, 0, 0, 0 }, /* a9 */
	{ 76, 0, 0, 2 }, /* aa */
	{ 21, 0, 0, 0 }, /* ab */
	{ 54, 0, 0, 0 }, /* ac */
	{ 0, 0, 0, 0 }, /* ad */
	{ 46, 0, 0, 0 }, /* ae */
	{ 41, 0, 0, 0 }, /* af */
	{ 44, 0, 0, 0 }, /* b0 */
	{ 48, 0, 0, 0 }, /* b1 */
	{ 67, 0, 0, 1 }, /* b2 */
	{ 68, 0, 0, 1 }, /* b3 */
	{ 39, 0, 0, 0 }, /* b4 */
	{ 103, 0, 0, 0 }, /* b5 */
	{ 30, 0, 0, 0 }, /* b6 */
	{ 18, 0, 0, 0 }, /* b7 */
	{ 43, 0, 0, 0 }, /* b8 */
	{ 64, 0, 0, 1 }, /* b9 */
	{ 90, 0, 0, 2 }, /* ba */
	{ 22, 0, 0, 0 }, /* bb */
	{ 66, 0, 0, 0 }, /* bc */
	{ 65, 0, 0, 0 }, /* bd */
	{ 69, 0, 0, 0 }, /* be */
	{ 16, 0, 0, 0 }, /* bf */
	{ 76, 0, 2, 1 }, /* c0 */
	{ 76, 0, 1, 1 }, /* c1 */
	{ 76, 0, 3, 1 }, /* c2 */
	{ 76, 0, 6, 1 }, /* c3 */
	{ 76, 0, 5, 1 }, /* c4 */
	{ 76, 0, 4, 1 }, /* c5 */
	{ 76, 80, 0, 3 }, /* c6 */
	{ 78, 0, 1, 1 }, /* c7 */
	{ 80, 0, 2, 1 }, /* c8 */
	{ 80, 0, 1, 1 }, /* c9 */
	{ 80, 0, 3, 1 }, /* ca */
	{ 80, 0, 4, 1 }, /* cb */
	{ 84, 0, 2, 1 }, /* cc */
	{ 84, 0, 1, 1 }, /* cd */
	{ 84, 0, 3, 1 }, /* ce */
	{ 84, 0, 4, 1 }, /* cf */
	{ 79, 0, 1, 1 }, /* d0 */
	{ 89, 0, 1, 1 }, /* d1 */
	{ 90, 0, 2, 1 }, /* d2 */
	{ 90, 0, 1, 1 }, /* d3 */
	{ 90, 0, 3, 1 }, /* d4 */
	{ 90, 0, 5, 1 }, /* d5 */
	{ 90, 0, 4, 1 }, /* d6 */
	{ 50, 0, 0, 0 }, /* d7 */
	{ 90, 0, 6, 1 }, /* d8 */
	{ 96, 0, 2, 1 }, /* d9 */
	{ 96, 0, 1, 1 }, /* da */
	{ 96, 0, 3, 1 }, /* db */
	{ 96, 0, 4, 1 }, /* dc */
	{ 100, 0, 1, 1 }, /* dd */
	{ 102, 0, 0, 1 }, /* de */
	{ 94, 94, 0, 2 }, /* df */
	{ 76, 0, 2, 0 }, /* e0 */
	{ 76, 0, 1, 0 }, /* e1 */
	{ 76, 0, 3, 0 }, /* e2 */
	{ 76, 0, 6, 0 }, /* e3 */
	{ 76, 0, 5, 0 }, /* e4 */
	{ 76, 0, 4, 0 }, /* e5 */
	{ 76, 80, 0, 2 }, /* e6 */
	{ 78, 0, 1, 0 }, /* e7 */
	{ 80, 0, 2, 0 }, /* e8 */
	{ 80, 0, 1, 0 }, /* e9 */
	{ 80, 0, 3, 0 }, /* ea */
	{ 80, 0, 4, 0 }, /* eb */
	{ 84, 0, 2, 0 }, /* ec */
	{ 84, 0, 1, 0 }, /* ed */
	{ 84, 0, 3, 0 }, /* ee */
	{ 84, 0, 4, 0 }, /* ef */
	{ 79, 0, 1, 0 }, /* f0 */
	{ 89, 0, 1, 0 }, /* f1 */
	{ 90, 0, 2, 0 }, /* f2 */
	{ 90, 0, 1, 0 }, /* f3 */
	{ 90, 0, 3, 0 }, /* f4 */
	{ 90, 0, 5, 0 }, /* f5 */
	{ 90, 0, 4, 0 }, /* f6 */
	{ 49, 0, 0, 0 }, /* f7 */
	{ 90, 0, 6, 0 }, /* f8 */
	{ 96, 0, 2, 0 }, /* f9 */
	{ 96, 0, 1, 0 }, /* fa */
	{ 96, 0, 3, 0 }, /* fb */
	{ 96, 0, 4, 0 }, /* fc */
	{ 100, 0, 1, 0 }, /* fd */
	{ 102, 0, 0, 0 }, /* fe */
	{ 100, 0, 2, 0 }, /* ff */
};

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
		if (cp >= 256) {
			if (collate_push(q, 1000 + cp, 0, 0) != 0)
				return -1;
			continue;
		}
		w = &collate_latin1[cp];
		if (w->p1 == 0)
			continue;
		if (collate_push(q, w->p1, w->s, w->t) != 0)
			return -1;
		if (w->p2 != 0 && collate_push(q, w->p2, w->s, w->t) != 0)
			return -1;
	}
	return 0;
}

/* Compare one level of two element sequences. */
static int
collate_level(const struct collate_seq *a, const struct collate_seq *b,
    int level)
{
	size_t i;
	uint32_t x, y;

	for (i = 0; i < a->n && i < b->n; i++) {
		x = level == 0 ? a->v[i].p : level == 1 ? a->v[i].s : a->v[i].t;
		y = level == 0 ? b->v[i].p : level == 1 ? b->v[i].s : b->v[i].t;
		if (x != y)
			return x < y ? -1 : 1;
	}
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return 0;
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
		collate_key_put(k, &n, (unsigned char)(q.v[i].p >> 16));
		collate_key_put(k, &n, (unsigned char)(q.v[i].p >> 8));
		collate_key_put(k, &n, (unsigned char)q.v[i].p);
	}
	for (i = 0; i < 3; i++)
		collate_key_put(k, &n, 0);
	for (i = 0; i < q.n; i++)
		collate_key_put(k, &n, (unsigned char)(q.v[i].s + 1));
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
