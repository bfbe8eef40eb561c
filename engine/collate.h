/* collate.h: string ordering close to Intl.Collator('en-US') (see
 * collate.c for what is exact and what is approximated). */
#ifndef ENGINE_COLLATE_H
#define ENGINE_COLLATE_H

/* Compare two UTF-8 strings: <0, 0 or >0. */
int collate_compare(const char *a, const char *b);

#include <stddef.h>

/* The sort key of a string (caller frees; NULL on allocation failure):
 * collate_key_cmp of two keys orders as collate_compare of the strings. */
unsigned char *collate_key(const char *s, size_t *len);
int collate_key_cmp(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen);

#endif
