/*
 * oracle_fixtures.c: the hand-written queries over the zeneca and movies
 * fixtures shipped in the installed @instantdb/core package.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/interop/oracle_cases.h"

/* Load $top_srcdir/<rel>. */
static json_t *
load(const char *rel)
{
	const char *src = getenv("top_srcdir");
	char path[4096];
	json_error_t err;
	json_t *j;

	snprintf(path, sizeof path, "%s/%s", src ? src : ".", rel);
	if ((j = json_load_file(path, 0, &err)) == NULL)
		fprintf(stderr, "%s: %s\n", path, err.text);
	return j;
}

/* Load one fixture's attrs and triples. */
static int
load_fixture(const char *name, json_t **attrs, json_t **triples)
{
	char rel[512];

	snprintf(rel, sizeof rel, "tests/node/node_modules/@instantdb/core/"
	    "__tests__/src/data/%s/attrs.json", name);
	*attrs = load(rel);
	snprintf(rel, sizeof rel, "tests/node/node_modules/@instantdb/core/"
	    "__tests__/src/data/%s/triples.json", name);
	*triples = load(rel);
	return *attrs != NULL && *triples != NULL ? 0 : -1;
}

/* Append the cases of one fixture. */
static int
fixture_cases(json_t *cases, const json_t *queries, const char *name)
{
	json_t *attrs, *triples, *c;
	const json_t *q;
	char cname[256];
	size_t i;

	if (load_fixture(name, &attrs, &triples) != 0)
		return -1;
	json_array_foreach(queries, i, q) {
		const char *fx = json_string_value(json_object_get(q,
		    "fixture"));
		if (fx == NULL || strcmp(fx, name) != 0)
			continue;
		snprintf(cname, sizeof cname, "%s #%zu", name, i);
		c = json_pack("{s:s,s:O,s:O,s:O,s:b}", "name", cname, "attrs",
		    attrs, "triples", triples, "q", json_object_get(q, "q"),
		    "cardinalityInference",
		    json_is_true(json_object_get(q, "cardinalityInference")));
		if (json_object_get(q, "pageInfo") != NULL)
			json_object_set(c, "pageInfo",
			    json_object_get(q, "pageInfo"));
		json_array_append_new(cases, c);
	}
	json_decref(attrs);
	json_decref(triples);
	return 0;
}

/* Append the fixture cases. */
int
oracle_fixture_cases(json_t *cases)
{
	json_t *queries = load("tests/vectors/instaql/fixture-queries.json");
	int r = -1;

	if (queries == NULL || !json_is_array(queries))
		goto out;
	if (fixture_cases(cases, queries, "zeneca") != 0 ||
	    fixture_cases(cases, queries, "movies") != 0)
		goto out;
	r = 0;
out:
	json_decref(queries);
	return r;
}
