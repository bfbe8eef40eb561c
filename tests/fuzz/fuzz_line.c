/*
 * fuzz_line.c: one request line through the protocol decoder, with the
 * default limits and with a small line cap and depth; what decodes is
 * encoded again, and its text must be json_dumps's to the byte.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Decode data with lim and check the result's invariants. */
static void
fuzz_line_decode(const uint8_t *data, size_t size, const struct proto_limits *lim)
{
	struct proto_error err;
	json_t *v = NULL;
	char *line, *want;
	size_t len;

	if (proto_decode_object((const char *)data, size, lim, &v, &err) != 0) {
		if (err.code == PROTO_OK || v != NULL)
			__builtin_trap();
		return;
	}
	if (!json_is_object(v))
		__builtin_trap();
	/* What was decoded encodes to one line that decodes again, in the
	 * text jansson itself writes. */
	want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	line = proto_encode(v, &len);
	if ((want == NULL) != (line == NULL) || (line != NULL &&
	    (len != strlen(want) + 1 || memcmp(line, want, len - 1) != 0)))
		__builtin_trap();
	free(want);
	if (line != NULL) {
		json_decref(v);
		v = NULL;
		if (len == 0 || line[len - 1] != '\n' ||
		    proto_decode(line, len - 1, NULL, &v, &err) != 0)
			__builtin_trap();
		free(line);
	}
	free(proto_canonical(v));
	json_decref(v);
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_limits lim;
	const struct proto_limits small = { 32, 4 };

	proto_limits_default(&lim);
	fuzz_line_decode(data, size, &lim);
	fuzz_line_decode(data, size, &small);
	return 0;
}
