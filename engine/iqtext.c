/*
 * iqtext.c: writing query results as JSON text.
 *
 * The evaluator writes its result straight to text rather than building a
 * jansson tree and encoding it.  The text is byte for byte what
 * json_dumps(tree, JSON_COMPACT) gives for the tree the evaluator built
 * before: every stored value is written as jansson would print it after
 * parsing it (iqjoin_value), object keys in the order they would have been
 * set.
 *
 * Stored values are canonical JSON text (tstore_value_text), which for
 * strings, integers, booleans and null is already what jansson prints:
 * those are copied as they are once checked (a string must be valid UTF-8
 * with only the escapes jansson itself writes; an integer must fit
 * jansson's integer).  Anything else (reals, objects, arrays, text from
 * elsewhere) is parsed and printed as jansson prints it
 * (proto/jsontext.c), so that no shortcut can change a result.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/iq.h"
#include "proto/jsontext.h"

/* Whether string text t (n bytes, quotes included) is printed unchanged
 * by jansson after parsing. */
static int
iqtext_plain_string(const char *t, size_t n)
{
	const unsigned char *s = (const unsigned char *)t;
	uint64_t w;
	size_t i, k;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return 0;
	for (i = 1; i < n - 1; i += k) {
		/* Plain ASCII goes eight bytes at a time. */
		if (i + 8 < n) {
			memcpy(&w, s + i, 8);
			if (!jsontext_word_special(w)) {
				k = 8;
				continue;
			}
		}
		k = 1;
		if (s[i] == '"' || s[i] < 0x20)
			return 0;
		if (s[i] == '\\') {
			if (i + 1 >= n - 1 || strchr("\"\\bfnrt", s[i + 1]) ==
			    NULL || s[i + 1] == '\0')
				return 0;
			k = 2;
		} else if (s[i] >= 0x80 &&
		    (k = jsontext_utf8_len(s + i, n - 1 - i)) == 0)
			return 0;
	}
	return 1;
}

/* Whether t (n bytes) is an integer jansson prints unchanged. */
static int
iqtext_plain_integer(const char *t, size_t n)
{
	size_t i = t[0] == '-' ? 1 : 0;

	/* 18 digits always fit a json_int_t. */
	if (n == i || n - i > 18 || (t[i] == '0' && n - i > 1) ||
	    (i == 1 && t[1] == '0'))
		return 0;
	for (; i < n; i++)
		if (t[i] < '0' || t[i] > '9')
			return 0;
	return 1;
}

/* Whether value text t (n bytes) is printed unchanged by jansson. */
static int
iqtext_plain(const char *t, size_t n)
{
	switch (t[0]) {
	case '"':
		return iqtext_plain_string(t, n);
	case 't':
		return n == 4 && memcmp(t, "true", 4) == 0;
	case 'f':
		return n == 5 && memcmp(t, "false", 5) == 0;
	case 'n':
		return n == 4 && memcmp(t, "null", 4) == 0;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return iqtext_plain_integer(t, n);
	default:
		return 0;
	}
}

/* Append a stored value (canonical text) as the tree would print it: 1,
 * or 0 when the text is no value (the tree left it out). */
int
iqtext_value(struct textbuf *b, const char *vtext)
{
	size_t n = strlen(vtext);
	json_t *v;

	if (n > 0 && iqtext_plain(vtext, n)) {
		textbuf_put(b, vtext, n);
		return 1;
	}
	if ((v = iqjoin_value(vtext)) == NULL)
		return 0;
	jsontext_append(b, v);
	json_decref(v);
	return 1;
}

/* Append a string (an object key) as jansson prints it. */
void
iqtext_string(struct textbuf *b, const char *s)
{
	jsontext_append_string(b, s, strlen(s));
}
