/* uuid.c: UUID v4 generation and validation. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include <openssl/rand.h>

#include "proto/uuid.h"

static const char hexdigits[] = "0123456789abcdef";

/* Fresh random UUID v4 (RFC 4122 version and variant bits). */
int
uuid_v4(char out[UUID_STRLEN + 1])
{
	unsigned char b[16];
	int i, o = 0;

	if (RAND_bytes(b, sizeof b) != 1)
		return -1;
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hexdigits[b[i] >> 4];
		out[o++] = hexdigits[b[i] & 0xf];
	}
	out[o] = '\0';
	return 0;
}

/* Whether s has the 8-4-4-4-12 hex shape. */
int
uuid_valid(const char *s)
{
	int i;

	if (s == NULL || strlen(s) != UUID_STRLEN)
		return 0;
	for (i = 0; i < UUID_STRLEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* Lower-case copy of a valid UUID. */
int
uuid_normalize(const char *s, char out[UUID_STRLEN + 1])
{
	int i;

	if (!uuid_valid(s))
		return -1;
	for (i = 0; i <= UUID_STRLEN; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	return 0;
}
