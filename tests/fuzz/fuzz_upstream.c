/*
 * fuzz_upstream.c: the input as one message from the Instant server (an
 * object or an array of them), handed to upstream_handle_text on an app
 * whose upstream is configured (ws://127.0.0.1:1: its own connection
 * attempts just fail).
 *
 * Before each input a local client subscribes to two queries and commits
 * a transaction, so that results, attrs and acknowledgements have
 * subscribers, cached queries and an outbox to act on; the session that
 * handles the input knows the same queries.  The app's own upstream is
 * private to it, so the target drives a second one on the same app.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/app.h"
#include "daemon/server.h"
#include "daemon/upstream.h"
#include "tests/fuzz/inproc.h"

#define FUZZ_APP "2f0a8d3c-1111-4a4a-9b9b-000000000001"
#define FUZZ_WS "ws://127.0.0.1:1/runtime/session"
#define FUZZ_Q1 "{\"goals\":{\"todos\":{}}}"
#define FUZZ_Q2 "{\"todos\":{\"$\":{\"where\":{\"done\":true}}}}"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct server *srv;
static json_t *fuzz_q1, *fuzz_q2;

static const char fuzz_preamble[] =
    "{\"op\":\"subscribe\",\"q\":" FUZZ_Q1 "}\n"
    "{\"op\":\"subscribe\",\"q\":" FUZZ_Q2 "}\n"
    "{\"op\":\"transact\",\"steps\":[[\"update\",\"goals\","
    "\"00000000-0000-4000-8000-000000000001\",{\"title\":\"x\"}],"
    "[\"link\",\"goals\",\"00000000-0000-4000-8000-000000000001\","
    "{\"todos\":\"00000000-0000-4000-8000-000000000011\"}]]}\n";

/* libFuzzer: start the server once. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	srv = inproc_server_create("default-app = " FUZZ_APP "\n"
	    "[app " FUZZ_APP "]\nwebsocket-uri = " FUZZ_WS "\n");
	fuzz_q1 = json_loads(FUZZ_Q1, 0, NULL);
	fuzz_q2 = json_loads(FUZZ_Q2, 0, NULL);
	if (fuzz_q1 == NULL || fuzz_q2 == NULL)
		abort();
	return 0;
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inproc_client c;
	struct upstream *up;

	if (inproc_client_open(srv, &c) != 0)
		return 0;
	inproc_client_send(srv, &c, fuzz_preamble, strlen(fuzz_preamble));
	up = upstream_create(app_get(srv, FUZZ_APP), FUZZ_WS);
	upstream_add_query(up, fuzz_q1);
	upstream_add_query(up, fuzz_q2);
	upstream_handle_text(up, (const char *)data, size);
	inproc_client_turns(srv, &c, 4);
	upstream_free(up);
	inproc_client_close(srv, &c);
	inproc_server_reset(srv);
	return 0;
}
