/*
 * proto.h: the local JSON-lines protocol codec, shared by instantd,
 * libinstantd, instantctl and the devserver.
 *
 * A line is decoded in three capped steps: length (before anything is
 * looked at), bytes (NUL, UTF-8) and nesting depth (a linear scan), and only
 * then handed to jansson.  Nothing here aborts: every failure is returned
 * as a protocol error code with a message meant for the peer.
 */
#ifndef PROTO_PROTO_H
#define PROTO_PROTO_H

#include <stddef.h>
#include <jansson.h>

#define PROTO_VERSION 1
#define PROTO_DEFAULT_MAX_LINE (1024 * 1024)
#define PROTO_DEFAULT_MAX_DEPTH 64

/* Stable error codes of the local protocol (kebab-case on the wire). */
enum proto_code {
	PROTO_OK = 0,
	PROTO_BAD_JSON,
	PROTO_BAD_REQUEST,
	PROTO_UNKNOWN_OP,
	PROTO_TOO_LARGE,
	PROTO_NOT_FOUND,
	PROTO_FORBIDDEN,
	PROTO_UNAVAILABLE,
	PROTO_UPSTREAM,
	PROTO_INTERNAL,
};

struct proto_limits {
	size_t max_line;  /* bytes, without the terminating newline */
	int max_depth;    /* nesting of arrays and objects */
};

/* A decode or request error: a code and a message for the peer. */
struct proto_error {
	enum proto_code code;
	char message[160];
};

/* Fill limits with the protocol defaults. */
void proto_limits_default(struct proto_limits *);

/* The wire name of code ("bad-json", ...). */
const char *proto_code_name(enum proto_code);

/* Parse a wire name back into a code; -1 if unknown. */
int proto_code_parse(const char *, enum proto_code *);

/* Set err to code with a printf-style message; always returns -1. */
int proto_error_set(struct proto_error *, enum proto_code, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Decode one line (without its '\n'; a trailing '\r' is dropped) into a
 * JSON value of any type.  Returns 0 and a new reference in *out, or -1
 * with err set (too-large, bad-json).
 */
int proto_decode(const char *line, size_t len, const struct proto_limits *,
    json_t **out, struct proto_error *err);

/*
 * Decode a request line: like proto_decode, but the value must be an
 * object (bad-request otherwise).
 */
int proto_decode_object(const char *line, size_t len,
    const struct proto_limits *, json_t **out, struct proto_error *err);

/*
 * Encode value as one compact line ending in '\n'.  Returns a malloc'd
 * string (owned by the caller) and its length in *len, or NULL on failure.
 */
char *proto_encode(const json_t *value, size_t *len);

/* Check that s[0..len) is valid UTF-8 without NUL bytes: 0 if so. */
int proto_check_utf8(const char *s, size_t len);

/* The nesting depth of the JSON text s[0..len) (strings skipped). */
int proto_json_depth(const char *s, size_t len);

/*
 * Message builders.  Each returns a new object; id is borrowed (NULL means
 * JSON null).
 */
json_t *proto_reply_ok(const json_t *id);
json_t *proto_reply_error(const json_t *id, enum proto_code, const char *message,
    const json_t *hint);
json_t *proto_event(const char *name);

/*
 * Whether id is a valid request id: a string, an integer or absent/null.
 */
int proto_id_valid(const json_t *id);

/*
 * Canonical JSON text of value: keys sorted recursively, compact.  Equal
 * queries have equal canonical text.  Caller frees.
 */
char *proto_canonical(const json_t *value);

#endif
