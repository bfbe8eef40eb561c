/*
 * fixture.h: a small fixed app for the engine's fuzz targets: goals
 * -todos-> todos -owner-> profiles, with string, number, boolean, date and
 * JSON values, unique and indexed attrs, and cascades, in a :memory:
 * triple store.
 */
#ifndef TESTS_FUZZ_FIXTURE_H
#define TESTS_FUZZ_FIXTURE_H

#include <jansson.h>
#include <sqlite3.h>

struct attrs;
struct tstore;

struct fixture {
	sqlite3 *db;
	struct tstore *ts;
	struct attrs *attrs;
};

/* Open the store and load the fixture's attrs and triples: 0 or -1. */
int fixture_open(struct fixture *);

/* Put the registry back to the fixture's attrs (after a run added some). */
int fixture_reset_attrs(struct fixture *);

/* Decode input as a request line would be (capped, depth-limited), into
 * any JSON value; NULL if it is not JSON. */
json_t *fixture_decode(const void *data, size_t size);

#endif
