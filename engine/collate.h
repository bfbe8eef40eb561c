/* collate.h: string ordering close to Intl.Collator('en-US') (see
 * collate.c for what is exact and what is approximated). */
#ifndef ENGINE_COLLATE_H
#define ENGINE_COLLATE_H

/* Compare two UTF-8 strings: <0, 0 or >0. */
int collate_compare(const char *a, const char *b);

#endif
