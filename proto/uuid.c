/* uuid.c: UUID v4 and v7 generation and validation. */
#include "config.h"

#include <ctype.h>
#include <endian.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "proto/uuid.h"

static const char hexdigits[] = "0123456789abcdef";

/*
 * Random bytes for ids come from a pool filled by RAND_bytes 1 KiB at a
 * time: one call per id cost more than the rest of making it (OpenSSL
 * takes locks and checks for a fork on every call).  A forked child
 * refills the pool before its first id, so it never repeats the
 * parent's bytes.
 */
static int
uuid_random(unsigned char *out, size_t n)
{
	static unsigned char pool[1024];
	static size_t left;
	static pid_t pid;

	if (pid != getpid()) {
		pid = getpid();
		left = 0;
	}
	if (left < n) {
		if (RAND_bytes(pool, sizeof pool) != 1)
			return -1;
		left = sizeof pool;
	}
	memcpy(out, pool + sizeof pool - left, n);
	/* Bytes handed out are not kept. */
	memset(pool + sizeof pool - left, 0, n);
	left -= n;
	return 0;
}

/* Fresh random UUID v4 (RFC 4122 version and variant bits). */
int
uuid_v4(char out[UUID_STRLEN + 1])
{
	unsigned char b[16];

	if (uuid_random(b, sizeof b) != 0)
		return -1;
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	uuid_text(b, out);
	return 0;
}

/*
 * Fresh UUID v7 (RFC 9562): the Unix time in milliseconds in the first 48
 * bits, a 12-bit sequence, then 62 random bits.  The sequence starts at a
 * random value below 2048 in each new millisecond and counts up within
 * it; when it runs out, or when the clock steps back, the millisecond of
 * the last id is carried on instead.  So the ids one process makes are in
 * strictly increasing order, as text too.
 */
int
uuid_v7(char out[UUID_STRLEN + 1])
{
	static uint64_t last_ms;
	static unsigned seq;
	unsigned char b[16];
	struct timespec ts;
	uint64_t ms;
	int i;

	/* Bytes 0-5 are the time; 6-7 seed the sequence. */
	if (uuid_random(b + 6, sizeof b - 6) != 0 ||
	    clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (ms > last_ms) {
		last_ms = ms;
		seq = ((unsigned)b[6] << 8 | b[7]) & 0x7ff;
	} else if (++seq > 0xfff) {
		last_ms++;
		seq = 0;
	}
	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(last_ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | seq >> 8);
	b[7] = (unsigned char)(seq & 0xff);
	b[8] = (b[8] & 0x3f) | 0x80;
	uuid_text(b, out);
	return 0;
}

/* Where each byte's two hex digits start in a UUID's text. */
static const unsigned char uuid_digit_at[16] = {
	0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34,
};

/* Write the 16 bytes of b in the 8-4-4-4-12 form, lower case. */
void
uuid_text(const unsigned char b[16], char out[UUID_STRLEN + 1])
{
	int i;

	out[8] = out[13] = out[18] = out[23] = '-';
	for (i = 0; i < 16; i++) {
		out[uuid_digit_at[i]] = hexdigits[b[i] >> 4];
		out[uuid_digit_at[i] + 1] = hexdigits[b[i] & 0xf];
	}
	out[UUID_STRLEN] = '\0';
}

/*
 * Parsing.  Ids are parsed by the thousand when a query's entities are
 * looked up, sorted or cached, so eight digits are checked and converted
 * at once, as the bytes of one 64-bit word (the first digit lowest):
 *
 *  - a byte b below 0x80 is at least c exactly when b + (0x80 - c) has
 *    its top bit set, and no such sum carries into the next byte; so
 *    three ranges (0-9, a-f, A-F) are a few additions and masks;
 *  - a hex digit's value is its low four bits, plus 9 for a letter
 *    (the letters, and only they, have bit 6 set);
 *  - each byte then takes the next one's value as its low half, and
 *    every other byte is gathered into four.
 */
#define UUID_LANES(c) (0x0101010101010101ULL * (uint64_t)(c))
#define UUID_TOP UUID_LANES(0x80)

/* The lanes of x (below 0x80) that are at least c, as top bits. */
#define UUID_GE(x, c) (((x) + UUID_LANES(0x80 - (c))) & UUID_TOP)

/* Eight digits (the bytes of x) into four bytes at out: whether all
 * eight are hex digits (lower case only, if lower). */
static int
uuid_hex8(uint64_t x, int lower, unsigned char *out)
{
	uint64_t ok, n;

	ok = UUID_GE(x, '0') & ~UUID_GE(x, '9' + 1);
	ok |= UUID_GE(x, 'a') & ~UUID_GE(x, 'f' + 1);
	if (!lower)
		ok |= UUID_GE(x, 'A') & ~UUID_GE(x, 'F' + 1);
	n = (x & UUID_LANES(0x0f)) + 9 * ((x >> 6) & UUID_LANES(0x01));
	n = ((n << 4) | (n >> 8)) & 0x00ff00ff00ff00ffULL;
	n = (n | (n >> 8)) & 0x0000ffff0000ffffULL;
	n = (n | (n >> 16)) & 0xffffffffULL;
	out[0] = (unsigned char)n;
	out[1] = (unsigned char)(n >> 8);
	out[2] = (unsigned char)(n >> 16);
	out[3] = (unsigned char)(n >> 24);
	return (x & UUID_TOP) == 0 && ok == UUID_TOP;
}

/* The n (4 or 8) bytes at s as a word, the first byte lowest. */
static uint64_t
uuid_word(const char *s, size_t n)
{
	uint64_t w = 0;

	memcpy(&w, s, n);
	return le64toh(w);
}

/* Parse the len bytes at s as a UUID (lower case only, if lower) into
 * out: whether they are one. */
static int
uuid_parse(const char *s, size_t len, int lower, unsigned char out[16])
{
	int ok;

	if (len != UUID_STRLEN || s[8] != '-' || s[13] != '-' ||
	    s[18] != '-' || s[23] != '-')
		return 0;
	ok = uuid_hex8(uuid_word(s, 8), lower, out);
	ok &= uuid_hex8(uuid_word(s + 9, 4) | uuid_word(s + 14, 4) << 32,
	    lower, out + 4);
	ok &= uuid_hex8(uuid_word(s + 19, 4) | uuid_word(s + 24, 4) << 32,
	    lower, out + 8);
	ok &= uuid_hex8(uuid_word(s + 28, 8), lower, out + 12);
	return ok;
}

/* Whether s has the 8-4-4-4-12 hex shape. */
int
uuid_valid(const char *s)
{
	unsigned char b[16];

	return s != NULL && uuid_parse(s, strlen(s), 0, b);
}

/* Whether s is a UUID, and its bytes. */
int
uuid_bytes(const char *s, unsigned char out[16])
{
	return uuid_parse(s, strlen(s), 0, out);
}

/* Whether the len bytes at s are a lower-case UUID, and its bytes. */
int
uuid_bytes_lower(const char *s, size_t len, unsigned char out[16])
{
	return uuid_parse(s, len, 1, out);
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
