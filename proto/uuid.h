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

/* Whether s is a UUID (any case); if so, its 16 bytes into out.  Two
 * UUIDs' bytes compare with memcmp as their hex digits do, pair by pair. */
int uuid_bytes(const char *s, unsigned char out[16]);
/* Whether the len bytes at s are a lower-case UUID, the form uuid_text
 * writes back from its bytes; if so, the bytes into out. */
int uuid_bytes_lower(const char *s, size_t len, unsigned char out[16]);
/* Write the 16 bytes b as a lower-case UUID and a NUL into out. */
void uuid_text(const unsigned char b[16], char out[UUID_STRLEN + 1]);

#endif
