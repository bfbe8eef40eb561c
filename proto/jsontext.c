/*
 * jsontext.c: compact JSON text of a jansson value, as jansson writes it.
 *
 * json_dumps builds, for every call, a hash table to detect cycles, and
 * for every array and object it prints the container's address with
 * snprintf to key that table; each piece of text then goes through a
 * callback into a buffer that starts at 16 bytes.  On the write path that
 * was a fifth of the daemon's instructions (the outbox row's steps and
 * tx-steps, each reply), some 100 per byte written.  This writes the
 * same bytes straight into one buffer:
 *
 *   - null, true, false; integers in decimal;
 *   - reals by jansson itself (json_dumps of the real alone), so that
 *     their digits never differ;
 *   - strings between quotes, with \" \\ \b \f \n \r \t and \u00XX
 *     (upper-case hex) for the other control characters; everything else,
 *     '/' and non-ASCII included, as it is.  A string that is not UTF-8
 *     (jansson's own test: no overlong forms, surrogates or code points
 *     past U+10FFFF) fails the whole text, as it does in json_dumps;
 *   - arrays in order, objects in jansson's iteration order (insertion
 *     order), with "," and ":" and no spaces.
 *
 * Trees here come from parsed text (at most 2,048 levels deep) or are
 * built by the daemon, so there are no cycles; depth is capped anyway.
 * tests/unit/test_jsontext.c compares the text with json_dumps on
 * generated trees, and fuzz_line on every tree it decodes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jsontext.h"
#include "proto/textbuf.h"

/* Append an integer in decimal. */
static void
jt_integer(struct textbuf *b, json_int_t v)
{
	char buf[24], *end = buf + sizeof buf, *q = end;
	/* The magnitude, INT64_MIN's included. */
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--q = '-';
	textbuf_put(b, q, (size_t)(end - q));
}

/* Append jansson's own text of a real. */
static void
jt_real(struct textbuf *b, const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY);

	if (s == NULL) {
		b->err = 1;
		return;
	}
	textbuf_put(b, s, strlen(s));
	free(s);
}

/* The length of a UTF-8 sequence (see jsontext.h). */
size_t
jsontext_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xC2)
		return 0; /* a continuation byte, or an overlong lead */
	if (s[0] < 0xE0) {
		len = 2;
		c = s[0] & 0x1F;
	} else if (s[0] < 0xF0) {
		len = 3;
		c = s[0] & 0x0F;
	} else if (s[0] < 0xF5) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	return len;
}

/* Whether a word holds a byte that needs more than a copy (see
 * jsontext.h): each test may flag a clean word, which then goes byte by
 * byte; none misses one. */
int
jsontext_word_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');

	return ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
	    ((bs - ones) & ~bs) | w) & high) != 0;
}

/* Append a string of n bytes, quoted and escaped (see jsontext.h). */
void
jsontext_append_string(struct textbuf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, k;
	char esc[6];

	textbuf_putc(b, '"');
	while (i < n) {
		if (n - i >= 8) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if (!jsontext_word_special(w)) {
				i += 8;
				continue;
			}
		}
		if (s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') {
			i++;
			continue;
		}
		if (s[i] >= 0x80) {
			if ((k = jsontext_utf8_len(s + i, n - i)) == 0) {
				b->err = 1;
				return;
			}
			i += k;
			continue;
		}
		textbuf_put(b, str + run, i - run);
		esc[0] = '\\';
		switch (s[i]) {
		case '"': esc[1] = '"'; k = 2; break;
		case '\\': esc[1] = '\\'; k = 2; break;
		case '\b': esc[1] = 'b'; k = 2; break;
		case '\f': esc[1] = 'f'; k = 2; break;
		case '\n': esc[1] = 'n'; k = 2; break;
		case '\r': esc[1] = 'r'; k = 2; break;
		case '\t': esc[1] = 't'; k = 2; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[s[i] >> 4];
			esc[5] = hex[s[i] & 0xF];
			k = 6;
			break;
		}
		textbuf_put(b, esc, k);
		run = ++i;
	}
	textbuf_put(b, str + run, n - run);
	textbuf_putc(b, '"');
}

/* Append the text of v. */
static void
jt_value(struct textbuf *b, const json_t *v, int depth)
{
	const char *key;
	json_t *x;
	size_t i;
	void *it;

	if (b->err)
		return;
	if (depth > JSONTEXT_MAX_DEPTH) {
		b->err = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_NULL:
		textbuf_put(b, "null", 4);
		break;
	case JSON_TRUE:
		textbuf_put(b, "true", 4);
		break;
	case JSON_FALSE:
		textbuf_put(b, "false", 5);
		break;
	case JSON_INTEGER:
		jt_integer(b, json_integer_value(v));
		break;
	case JSON_REAL:
		jt_real(b, v);
		break;
	case JSON_STRING:
		jsontext_append_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_ARRAY:
		textbuf_putc(b, '[');
		json_array_foreach(v, i, x) {
			if (i > 0)
				textbuf_putc(b, ',');
			jt_value(b, x, depth + 1);
		}
		textbuf_putc(b, ']');
		break;
	case JSON_OBJECT:
		textbuf_putc(b, '{');
		for (it = json_object_iter((json_t *)v), i = 0; it != NULL;
		     it = json_object_iter_next((json_t *)v, it), i++) {
			if (i > 0)
				textbuf_putc(b, ',');
			key = json_object_iter_key(it);
			jsontext_append_string(b, key, json_object_iter_key_len(it));
			textbuf_putc(b, ':');
			jt_value(b, json_object_iter_value(it), depth + 1);
		}
		textbuf_putc(b, '}');
		break;
	default:
		b->err = 1;
		break;
	}
}

/* Append the compact text of v (see jsontext.h). */
void
jsontext_append(struct textbuf *b, const json_t *v)
{
	if (v == NULL)
		b->err = 1;
	else
		jt_value(b, v, 0);
}

/* Compact text of v (see jsontext.h). */
char *
jsontext_dump(const json_t *v, size_t reserve, size_t *len)
{
	struct textbuf b = { NULL, 0, 0, 0 };

	jsontext_append(&b, v);
	(void)textbuf_reserve(&b, reserve);
	if (b.err) {
		textbuf_clear(&b);
		return NULL;
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
}
