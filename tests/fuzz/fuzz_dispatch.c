/*
 * fuzz_dispatch.c: the input as what a local client writes on one
 * connection (request lines; a newline is added at the end), through the
 * daemon's session, dispatcher and ops on the default, local-only app.
 * Every app is freed and its store deleted after each input.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/server.h"
#include "tests/fuzz/inproc.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct server *srv;

/* libFuzzer: start the server once. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	srv = inproc_server_create(
	    "default-app = 2f0a8d3c-1111-4a4a-9b9b-000000000001\n");
	return 0;
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inproc_client c;
	char *text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\n';
	if (inproc_client_open(srv, &c) == 0) {
		inproc_client_send(srv, &c, text, size + 1);
		inproc_client_close(srv, &c);
	}
	inproc_server_reset(srv);
	free(text);
	return 0;
}
