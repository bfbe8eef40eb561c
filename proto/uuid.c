/* uuid.c: UUID v4 and v7 generation and validation. */
#include "config.h"

#include <ctype.h>
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

/* Each hex digit's value, with UUID_HEX for every hex digit and
 * UUID_UPPER for the upper-case ones; 0 for any other character. */
#define UUID_HEX 0x10
#define UUID_UPPER 0x20
static const unsigned char uuid_hexval[256] = {
	['0'] = 0x10, ['1'] = 0x11, ['2'] = 0x12, ['3'] = 0x13, ['4'] = 0x14,
	['5'] = 0x15, ['6'] = 0x16, ['7'] = 0x17, ['8'] = 0x18, ['9'] = 0x19,
	['a'] = 0x1a, ['b'] = 0x1b, ['c'] = 0x1c, ['d'] = 0x1d, ['e'] = 0x1e,
	['f'] = 0x1f, ['A'] = 0x3a, ['B'] = 0x3b, ['C'] = 0x3c, ['D'] = 0x3d,
	['E'] = 0x3e, ['F'] = 0x3f,
};

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

/* Parse the len bytes at s as a UUID (lower case only, if lower) into
 * out: whether they are one.  Ids are parsed by the thousand when a
 * query's results are sorted or cached, so the digits are checked all
 * at once at the end rather than one by one. */
static int
uuid_parse(const char *s, size_t len, int lower, unsigned char out[16])
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned hi, lo, all = UUID_HEX, any = 0;

	if (len != UUID_STRLEN || s[8] != '-' || s[13] != '-' ||
	    s[18] != '-' || s[23] != '-')
		return 0;
#define UUID_BYTE(i, at) do {					\
	hi = uuid_hexval[u[at]];					\
	lo = uuid_hexval[u[(at) + 1]];					\
	all &= hi & lo;							\
	any |= hi | lo;							\
	out[i] = (unsigned char)((hi & 0xf) << 4 | (lo & 0xf));	\
} while (0)
	UUID_BYTE(0, 0); UUID_BYTE(1, 2); UUID_BYTE(2, 4); UUID_BYTE(3, 6);
	UUID_BYTE(4, 9); UUID_BYTE(5, 11);
	UUID_BYTE(6, 14); UUID_BYTE(7, 16);
	UUID_BYTE(8, 19); UUID_BYTE(9, 21);
	UUID_BYTE(10, 24); UUID_BYTE(11, 26); UUID_BYTE(12, 28);
	UUID_BYTE(13, 30); UUID_BYTE(14, 32); UUID_BYTE(15, 34);
#undef UUID_BYTE
	return all == UUID_HEX && !(lower && (any & UUID_UPPER));
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
