/* uuid.h: UUID v4 and v7 generation (OpenSSL randomness) and
 * validation. */
#ifndef PROTO_UUID_H
#define PROTO_UUID_H

#include <stddef.h>

#define UUID_STRLEN 36

/* Write a fresh lower-case UUID v4 and its NUL into out.  0, or -1 if the
 * random generator failed. */
int uuid_v4(char out[UUID_STRLEN + 1]);

/* Write a fresh lower-case UUID v7 (time-ordered: the ids one process
 * makes increase, as text too) and its NUL into out.  0, or -1. */
int uuid_v7(char out[UUID_STRLEN + 1]);

/* Whether s is a UUID in the 8-4-4-4-12 hex form (any version, any case). */
int uuid_valid(const char *s);

/* Copy s lower-cased into out, if it is a UUID: 0, else -1. */
int uuid_normalize(const char *s, char out[UUID_STRLEN + 1]);

#endif
