/*
 * fuzz_instaql.c: the input as an InstaQL query: shape validation, then
 * evaluation over the fixture in server mode, and in client mode with and
 * without the server's page-info (as the daemon evaluates a query the
 * server answered).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "engine/instaql.h"
#include "tests/fuzz/fixture.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct fixture fx;

/* Evaluate q with opts; returns the result's page-info (new reference). */
static json_t *
fuzz_instaql_eval(const json_t *q, const struct instaql_opts *opts)
{
	struct instaql_result res = { 0 };
	char *err = NULL;
	json_t *page_info = NULL;

	if (instaql_eval(fx.ts, fx.attrs, q, opts, &res, &err) == 0)
		page_info = json_incref(res.page_info);
	else if (err == NULL)
		__builtin_trap(); /* a failure always says why */
	free(err);
	instaql_result_clear(&res);
	return page_info;
}

/* libFuzzer: open the fixture once. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (fixture_open(&fx) != 0)
		abort();
	return 0;
}

/* libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct instaql_opts server = { 0 }, client = { .cardinality_inference = 1 };
	json_t *q = fixture_decode(data, size), *page_info;
	char *err = NULL;

	if (q == NULL)
		return 0;
	if (instaql_validate(q, &err) != 0 && err == NULL)
		__builtin_trap();
	free(err);
	server.server = 1;
	page_info = fuzz_instaql_eval(q, &server);
	json_decref(fuzz_instaql_eval(q, &client));
	client.page_info = page_info;
	json_decref(fuzz_instaql_eval(q, &client));
	json_decref(page_info);
	json_decref(q);
	return 0;
}
