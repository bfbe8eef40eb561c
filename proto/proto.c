/*
 * proto.c: JSON-lines codec and message builders for the local protocol.
 *
 * Decoding checks the cheapest things first: the length cap, then bytes
 * (NUL, UTF-8), then nesting depth, so that jansson only ever sees input
 * that is bounded in size and depth.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/jsontext.h"

static const char *const proto_code_names[] = {
	[PROTO_OK] = "ok",
	[PROTO_BAD_JSON] = "bad-json",
	[PROTO_BAD_REQUEST] = "bad-request",
	[PROTO_UNKNOWN_OP] = "unknown-op",
	[PROTO_TOO_LARGE] = "too-large",
	[PROTO_NOT_FOUND] = "not-found",
	[PROTO_FORBIDDEN] = "forbidden",
	[PROTO_UNAVAILABLE] = "unavailable",
	[PROTO_UPSTREAM] = "upstream",
	[PROTO_INTERNAL] = "internal",
};

/* Protocol defaults: 1 MiB lines, 64 levels. */
void
proto_limits_default(struct proto_limits *l)
{
	l->max_line = PROTO_DEFAULT_MAX_LINE;
	l->max_depth = PROTO_DEFAULT_MAX_DEPTH;
}

/* Wire name of an error code. */
const char *
proto_code_name(enum proto_code code)
{
	if ((unsigned)code >= sizeof proto_code_names / sizeof *proto_code_names)
		return "internal";
	return proto_code_names[code];
}

/* Parse a wire name into a code. */
int
proto_code_parse(const char *name, enum proto_code *out)
{
	size_t i;

	for (i = 1; i < sizeof proto_code_names / sizeof *proto_code_names; i++) {
		if (strcmp(proto_code_names[i], name) == 0) {
			*out = (enum proto_code)i;
			return 0;
		}
	}
	return -1;
}

/* Record an error; returns -1 so callers can 'return proto_error_set()'. */
int
proto_error_set(struct proto_error *err, enum proto_code code, const char *fmt,
    ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* Validate UTF-8 (shortest forms, no surrogates, <= U+10FFFF) and no NUL. */
int
proto_check_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	unsigned int cp;

	while (i < len) {
		unsigned char c = p[i];

		if (c == 0)
			return -1;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			return -1;
		if (len - i <= n)
			return -1;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += n + 1;
	}
	return 0;
}

/* Maximum nesting depth of JSON text, skipping string contents. */
int
proto_json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0, in_string = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (++depth > max)
				max = depth;
			break;
		case ']':
		case '}':
			depth--;
			break;
		}
	}
	return max;
}

/* Decode one line into any JSON value. */
int
proto_decode(const char *line, size_t len, const struct proto_limits *lim,
    json_t **out, struct proto_error *err)
{
	struct proto_limits def;
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (lim == NULL) {
		proto_limits_default(&def);
		lim = &def;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > lim->max_line)
		return proto_error_set(err, PROTO_TOO_LARGE,
		    "line of %zu bytes exceeds the limit of %zu", len,
		    lim->max_line);
	if (memchr(line, '\0', len) != NULL)
		return proto_error_set(err, PROTO_BAD_JSON,
		    "line contains a NUL byte");
	if (proto_check_utf8(line, len) != 0)
		return proto_error_set(err, PROTO_BAD_JSON,
		    "line is not valid UTF-8");
	if (proto_json_depth(line, len) > lim->max_depth)
		return proto_error_set(err, PROTO_BAD_JSON,
		    "JSON nested deeper than %d levels", lim->max_depth);
	v = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	    &jerr);
	if (v == NULL)
		return proto_error_set(err, PROTO_BAD_JSON,
		    "invalid JSON at column %d: %s", jerr.column, jerr.text);
	*out = v;
	return 0;
}

/* Decode one request line, which must be a JSON object. */
int
proto_decode_object(const char *line, size_t len,
    const struct proto_limits *lim, json_t **out, struct proto_error *err)
{
	json_t *v;

	*out = NULL;
	if (proto_decode(line, len, lim, &v, err) != 0)
		return -1;
	if (!json_is_object(v)) {
		json_decref(v);
		*out = NULL;
		return proto_error_set(err, PROTO_BAD_REQUEST,
		    "a request must be a JSON object");
	}
	*out = v;
	return 0;
}

/* Encode value as one compact line with its newline. */
char *
proto_encode(const json_t *value, size_t *len)
{
	char *line;
	size_t n;

	if ((line = jsontext_dump(value, 1, &n)) == NULL)
		return NULL;
	line[n] = '\n';
	line[n + 1] = '\0';
	if (len != NULL)
		*len = n + 1;
	return line;
}

/* Canonical text: sorted keys at every level, compact. */
char *
proto_canonical(const json_t *value)
{
	return json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* Set "id" on msg from id (borrowed; NULL means null). */
static json_t *
proto_with_id(json_t *msg, const json_t *id)
{
	if (msg == NULL)
		return NULL;
	json_object_set_new(msg, "id",
	    id != NULL ? json_deep_copy(id) : json_null());
	return msg;
}

/* {"id":ID,"ok":true} */
json_t *
proto_reply_ok(const json_t *id)
{
	json_t *m = proto_with_id(json_object(), id);

	if (m != NULL)
		json_object_set_new(m, "ok", json_true());
	return m;
}

/* {"id":ID,"ok":false,"error":{"code","message","hint"?}} */
json_t *
proto_reply_error(const json_t *id, enum proto_code code, const char *message,
    const json_t *hint)
{
	json_t *m, *e;

	m = proto_with_id(json_object(), id);
	if (m == NULL)
		return NULL;
	json_object_set_new(m, "ok", json_false());
	e = json_pack("{s:s, s:s}", "code", proto_code_name(code), "message",
	    message != NULL ? message : "");
	if (e != NULL && hint != NULL)
		json_object_set_new(e, "hint", json_deep_copy(hint));
	json_object_set_new(m, "error", e != NULL ? e : json_null());
	return m;
}

/* {"event":NAME} */
json_t *
proto_event(const char *name)
{
	return json_pack("{s:s}", "event", name);
}

/* A request id is a string, an integer, null or absent. */
int
proto_id_valid(const json_t *id)
{
	return id == NULL || json_is_null(id) || json_is_string(id) ||
	    json_is_integer(id);
}
