/* jsontext.h: compact JSON text of a jansson value, as jansson writes it. */
#ifndef PROTO_JSONTEXT_H
#define PROTO_JSONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto/textbuf.h"

/* Deeper values are refused (parsed ones stop at 2,048 levels). */
#define JSONTEXT_MAX_DEPTH 4096

/* The text json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) gives, byte for
 * byte: a new NUL-terminated string (caller frees) with its length in
 * *len (len may be NULL); or NULL where json_dumps fails (a string that
 * is not UTF-8), for a value nested deeper than JSONTEXT_MAX_DEPTH, or
 * without memory.  reserve extra bytes are left free after the NUL. */
char *jsontext_dump(const json_t *v, size_t reserve, size_t *len);

/* Append the same text to b; on failure b's err is set. */
void jsontext_append(struct textbuf *b, const json_t *v);
/* Append the n bytes at s as a JSON string, as jansson writes one (err
 * set if they are not UTF-8). */
void jsontext_append_string(struct textbuf *b, const char *s, size_t n);

/* The length of the UTF-8 sequence at s (n bytes left), or 0 if it is
 * not one jansson accepts (overlong, a surrogate, past U+10FFFF, cut). */
size_t jsontext_utf8_len(const unsigned char *s, size_t n);
/* Whether any of the 8 bytes of w is a control character, '"', '\\' or
 * not ASCII.  It may say so of a word with none; never the reverse. */
int jsontext_word_special(uint64_t w);

#endif
