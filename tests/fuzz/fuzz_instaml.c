/*
 * fuzz_instaml.c: the input as a transact's InstaML steps: compile against
 * the fixture's attrs and triples, rewrite the result against the same
 * attrs (as on init-ok), and apply it in client and in server mode, each
 * inside a savepoint rolled back afterwards.  An input object
 * {"tx-steps": [...]} skips the compiler and applies its tx-steps as they
 * are (what a peer can send the devserver).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "engine/instaml.h"
#include "engine/txapply.h"
#include "tests/fuzz/fixture.h"

#define FUZZ_NOW_MS 1767225600000LL

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct fixture fx;

/* Run one SQL statement of the fixture's savepoint; abort on failure. */
static void
fuzz_instaml_sql(const char *sql)
{
	if (sqlite3_exec(fx.db, sql, NULL, NULL, NULL) != SQLITE_OK)
		abort();
}

/* Apply tx_steps in mode, then undo it. */
static void
fuzz_instaml_apply(const json_t *tx_steps, enum txapply_mode mode)
{
	struct txapply_result res = { 0 };
	struct txapply *ta;
	int r;

	fuzz_instaml_sql("SAVEPOINT fuzz");
	if ((ta = txapply_create(fx.db, fx.ts, fx.attrs, mode)) == NULL)
		abort();
	r = txapply_run(ta, tx_steps, FUZZ_NOW_MS, &res);
	if ((r != 0) != (res.error != NULL))
		__builtin_trap(); /* an error envelope exactly on failure */
	txapply_result_clear(&res);
	txapply_free(ta);
	fuzz_instaml_sql("ROLLBACK TO fuzz");
	fuzz_instaml_sql("RELEASE fuzz");
	if (fixture_reset_attrs(&fx) != 0)
		abort();
}

/* Rewrite tx_steps against the fixture's attrs. */
static void
fuzz_instaml_rewrite(const json_t *tx_steps)
{
	struct instaml_rewrite *rw = instaml_rewrite_create(fx.attrs);
	int changed;

	if (rw == NULL)
		return;
	json_decref(instaml_rewrite_steps(rw, tx_steps, 2, 1, &changed));
	instaml_rewrite_free(rw);
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
	json_t *in = fixture_decode(data, size), *tx_steps = NULL, *new_attrs = NULL;
	char *err = NULL;

	if (in == NULL)
		return 0;
	if (json_is_array(json_object_get(in, "tx-steps")))
		tx_steps = json_incref(json_object_get(in, "tx-steps"));
	else if (instaml_compile(in, fx.attrs, fx.ts, &tx_steps, &new_attrs,
	    &err) != 0) {
		if (err == NULL || tx_steps != NULL)
			__builtin_trap();
		goto out;
	}
	fuzz_instaml_rewrite(tx_steps);
	fuzz_instaml_apply(tx_steps, TXAPPLY_CLIENT);
	fuzz_instaml_apply(tx_steps, TXAPPLY_SERVER);
out:
	free(err);
	json_decref(tx_steps);
	json_decref(new_attrs);
	json_decref(in);
	return 0;
}
