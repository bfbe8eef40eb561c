/*
 * fixture.c: the engine targets' fixed app (see fixture.h).
 */
#include "config.h"

#include <stdlib.h>

#include "engine/attrs.h"
#include "engine/tstore.h"
#include "proto/proto.h"
#include "tests/fuzz/fixture.h"

#define G1 "00000000-0000-4000-8000-000000000001"
#define G2 "00000000-0000-4000-8000-000000000002"
#define T1 "00000000-0000-4000-8000-000000000011"
#define T2 "00000000-0000-4000-8000-000000000012"
#define T3 "00000000-0000-4000-8000-000000000013"
#define P1 "00000000-0000-4000-8000-000000000021"

#define A(n) "00000000-0000-4000-a000-0000000000" #n

static const char fixture_attrs_json[] = "["
    "{\"id\":\"" A(01) "\",\"forward-identity\":[\"f01\",\"goals\",\"id\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\",\"unique?\":true,"
    "\"index?\":false},"
    "{\"id\":\"" A(02) "\",\"forward-identity\":[\"f02\",\"goals\",\"title\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\","
    "\"checked-data-type\":\"string\",\"index?\":true},"
    "{\"id\":\"" A(03) "\",\"forward-identity\":[\"f03\",\"goals\",\"priority\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\","
    "\"checked-data-type\":\"number\",\"index?\":true},"
    "{\"id\":\"" A(04) "\",\"forward-identity\":[\"f04\",\"goals\",\"todos\"],"
    "\"reverse-identity\":[\"r04\",\"todos\",\"goals\"],\"value-type\":\"ref\","
    "\"cardinality\":\"many\",\"on-delete-reverse\":\"cascade\"},"
    "{\"id\":\"" A(05) "\",\"forward-identity\":[\"f05\",\"todos\",\"id\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\",\"unique?\":true},"
    "{\"id\":\"" A(06) "\",\"forward-identity\":[\"f06\",\"todos\",\"title\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\"},"
    "{\"id\":\"" A(07) "\",\"forward-identity\":[\"f07\",\"todos\",\"done\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\","
    "\"checked-data-type\":\"boolean\"},"
    "{\"id\":\"" A(08) "\",\"forward-identity\":[\"f08\",\"todos\",\"due\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\","
    "\"checked-data-type\":\"date\",\"index?\":true},"
    "{\"id\":\"" A(09) "\",\"forward-identity\":[\"f09\",\"todos\",\"meta\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\"},"
    "{\"id\":\"" A(10) "\",\"forward-identity\":[\"f10\",\"todos\",\"owner\"],"
    "\"reverse-identity\":[\"r10\",\"profiles\",\"todos\"],"
    "\"value-type\":\"ref\",\"cardinality\":\"one\","
    "\"on-delete\":\"cascade\"},"
    "{\"id\":\"" A(11) "\",\"forward-identity\":[\"f11\",\"profiles\",\"id\"],"
    "\"value-type\":\"blob\",\"cardinality\":\"one\",\"unique?\":true},"
    "{\"id\":\"" A(12) "\",\"forward-identity\":[\"f12\",\"profiles\","
    "\"email\"],\"value-type\":\"blob\",\"cardinality\":\"one\","
    "\"unique?\":true,\"index?\":true,\"checked-data-type\":\"string\"}"
    "]";

/* [e, a, v (JSON text), t] */
static const char *const fixture_triples[][4] = {
	{ G1, A(01), "\"" G1 "\"", "10" },
	{ G1, A(02), "\"Get fit\"", "10" },
	{ G1, A(03), "2", "10" },
	{ G2, A(01), "\"" G2 "\"", "5" },
	{ G2, A(02), "\"\\u00e9t\\u00e9\"", "5" },
	{ G2, A(03), "-1.5", "5" },
	{ T1, A(05), "\"" T1 "\"", "1" },
	{ T1, A(06), "\"run\"", "1" },
	{ T1, A(07), "true", "1" },
	{ T1, A(08), "\"2026-01-02T03:04:05Z\"", "1" },
	{ T1, A(09), "{\"tags\":[\"a\",\"b\"],\"n\":1}", "1" },
	{ T2, A(05), "\"" T2 "\"", "2" },
	{ T2, A(06), "\"Lift\"", "2" },
	{ T2, A(07), "false", "2" },
	{ T2, A(08), "1767225600000", "2" },
	{ T3, A(05), "\"" T3 "\"", "3" },
	{ T3, A(06), "null", "3" },
	{ G1, A(04), "\"" T1 "\"", "3" },
	{ G1, A(04), "\"" T2 "\"", "3" },
	{ G2, A(04), "\"" T3 "\"", "4" },
	{ T1, A(10), "\"" P1 "\"", "3" },
	{ P1, A(11), "\"" P1 "\"", "1" },
	{ P1, A(12), "\"a@example.org\"", "1" },
};

/* Load the fixture's attrs into the registry. */
int
fixture_reset_attrs(struct fixture *f)
{
	json_t *a = json_loads(fixture_attrs_json, 0, NULL);
	int r = -1;

	if (a == NULL || attrs_load(f->attrs, a, NULL) != 0)
		goto out;
	r = 0;
out:
	json_decref(a);
	return r;
}

/* Add one fixture triple, its value in canonical form. */
static int
fixture_add(struct fixture *f, const char *const t[4])
{
	json_t *v = json_loads(t[2], JSON_DECODE_ANY, NULL);
	char *text = v != NULL ? tstore_value_text(v) : NULL;
	int r = -1;

	if (text == NULL || tstore_add(f->ts, t[0], t[1], text,
	    atoll(t[3])) != 0)
		goto out;
	r = 0;
out:
	free(text);
	json_decref(v);
	return r;
}

/* Open the :memory: store with the fixture. */
int
fixture_open(struct fixture *f)
{
	size_t i;

	if (sqlite3_open(":memory:", &f->db) != SQLITE_OK ||
	    (f->ts = tstore_create(f->db, "triples", NULL)) == NULL ||
	    (f->attrs = attrs_create()) == NULL ||
	    fixture_reset_attrs(f) != 0)
		return -1;
	for (i = 0; i < sizeof fixture_triples / sizeof *fixture_triples; i++)
		if (fixture_add(f, fixture_triples[i]) != 0)
			return -1;
	return 0;
}

/* Decode with the protocol's default limits. */
json_t *
fixture_decode(const void *data, size_t size)
{
	struct proto_error err;
	json_t *v = NULL;

	if (proto_decode(data, size, NULL, &v, &err) != 0)
		return NULL;
	return v;
}
