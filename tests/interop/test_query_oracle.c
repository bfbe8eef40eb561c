/*
 * test_query_oracle.c: instaql_eval against the official client's
 * evaluator (tests/node/oracle-query.mjs under $NODE).
 *
 * Cases: the zeneca and movies fixtures of the installed @instantdb/core
 * package with the hand-written queries of
 * tests/vectors/instaql/fixture-queries.json, and stores and queries from a
 * seeded generator (gen_query.c; the seed is printed and can be set with
 * IQ_SEED, the count with IQ_CASES).  All cases go to one node process;
 * each result is compared as parsed JSON (object key order ignored, array
 * order significant).
 *
 * The store has a small entity cache, and each case is evaluated twice:
 * the second evaluation reads what the first left in the cache, and both
 * must agree with the oracle.
 *
 * A second pass checks server mode: every case is evaluated with
 * opts.server, and the official client, given only the triples and
 * page-info that evaluation produced (as the devserver sends them), must
 * compute the same data as the server-mode evaluation.
 *
 * Prints "N passed, M failed"; any mismatch, a missing node or a missing
 * package fails the test.
 *
 * With IQ_BENCH=<entities>, it instead times both evaluators (least CPU
 * time of a few runs) on a generated store of that many goals and todos
 * and prints a table; the results must still agree.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/attrs.h"
#include "engine/instaql.h"
#include "engine/tstore.h"
#include "tests/interop/oracle_cases.h"

/* A fresh :memory: store loaded with attrs and triples. */
struct ostore {
	sqlite3 *db;
	struct tstore *ts;
	struct attrs *as;
};

/* Free a store. */
static void
ostore_clear(struct ostore *s)
{
	tstore_free(s->ts);
	attrs_free(s->as);
	if (s->db != NULL)
		sqlite3_close(s->db);
	memset(s, 0, sizeof *s);
}

/* Load attrs (array or object of attrs) and triples into s. */
static int
ostore_load(struct ostore *s, const json_t *attrs, const json_t *triples)
{
	const json_t *tr, *a;
	const char *k, *err = NULL;
	char *v;
	size_t i;

	if (sqlite3_open(":memory:", &s->db) != SQLITE_OK ||
	    (s->ts = tstore_create(s->db, "triples", NULL)) == NULL ||
	    (s->as = attrs_create()) == NULL)
		return -1;
	if (json_is_array(attrs) && attrs_load(s->as, attrs, &err) != 0)
		return -1;
	json_object_foreach((json_t *)attrs, k, a)
		if (attrs_put(s->as, a, &err) != 0)
			return -1;
	sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	json_array_foreach(triples, i, tr) {
		if ((v = tstore_value_text(json_array_get(tr, 2))) == NULL)
			return -1;
		tstore_add(s->ts, json_string_value(json_array_get(tr, 0)),
		    json_string_value(json_array_get(tr, 1)), v,
		    json_integer_value(json_array_get(tr, 3)));
		free(v);
	}
	sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return 0;
}

/* Numbers equal by value; otherwise json_equal's rules, recursively. */
static int
same_json(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!same_json(json_array_get(a, i),
				json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, v)
			if (json_object_get(b, k) == NULL ||
			    !same_json(v, json_object_get(b, k)))
				return 0;
		return 1;
	}
	return json_equal(a, b);
}

/* Evaluate one case with instaql_eval: {"data", "pageInfo"?} or
 * {"error"}. */
static json_t *
ours(struct ostore *s, const json_t *c)
{
	struct instaql_opts opts = { 0 };
	struct instaql_result res;
	char *err = NULL;
	json_t *out;

	opts.cardinality_inference = json_is_true(json_object_get(c,
	    "cardinalityInference"));
	opts.page_info = json_object_get(c, "pageInfo");
	if (instaql_eval(s->ts, s->as, json_object_get(c, "q"), &opts, &res,
		&err) != 0) {
		out = json_pack("{s:s}", "error", err ? err : "?");
		free(err);
		return out;
	}
	out = json_pack("{s:O}", "data", res.data);
	if (res.page_info != NULL)
		json_object_set(out, "pageInfo", res.page_info);
	instaql_result_clear(&res);
	return out;
}

/* Whether our answer agrees with the oracle's. */
static int
agree(const json_t *mine, const json_t *theirs)
{
	if (json_object_get(theirs, "error") != NULL)
		return json_object_get(mine, "error") != NULL;
	return same_json(mine, theirs);
}

/* Run the oracle over the cases file: its output lines as an array. */
static json_t *
oracle_run(const char *casefile)
{
	const char *node = getenv("NODE"), *src = getenv("top_srcdir");
	char cmd[4096], *line = NULL;
	size_t cap = 0;
	json_t *out = json_array(), *j;
	FILE *p;

	if (node == NULL || *node == '\0' || src == NULL) {
		fprintf(stderr, "NODE and top_srcdir must be set\n");
		return NULL;
	}
	snprintf(cmd, sizeof cmd,
	    "TZ=UTC '%s' '%s/tests/node/oracle-query.mjs' < '%s'", node, src,
	    casefile);
	if ((p = popen(cmd, "r")) == NULL)
		return NULL;
	while (getline(&line, &cap, p) > 0) {
		if ((j = json_loads(line, 0, NULL)) == NULL)
			break;
		json_array_append_new(out, j);
	}
	free(line);
	if (pclose(p) != 0) {
		fprintf(stderr, "oracle failed: %s\n", cmd);
		json_decref(out);
		return NULL;
	}
	return out;
}

/* Write the cases, one per line; a case whose store equals the previous
 * one's is sent with "same" and without its store. */
static int
write_cases(const json_t *cases, const char *path)
{
	FILE *f = fopen(path, "w");
	const json_t *c, *prev = NULL;
	json_t *w;
	size_t i;
	char *s;

	if (f == NULL)
		return -1;
	json_array_foreach(cases, i, c) {
		w = json_deep_copy(c);
		if (prev != NULL && json_object_get(prev, "triples") ==
		    json_object_get(c, "triples")) {
			json_object_del(w, "attrs");
			json_object_del(w, "triples");
			json_object_set_new(w, "same", json_true());
		}
		json_object_del(w, "name");
		json_object_del(w, "want");
		s = json_dumps(w, JSON_COMPACT);
		fprintf(f, "%s\n", s);
		free(s);
		json_decref(w);
		prev = c;
	}
	return fclose(f);
}

/* Report one mismatch. */
static void
report(const json_t *c, const json_t *mine, const json_t *theirs)
{
	char *q = json_dumps(json_object_get(c, "q"), JSON_COMPACT);
	char *m = json_dumps(mine, JSON_COMPACT);
	char *t = json_dumps(theirs, JSON_COMPACT);

	fprintf(stderr, "MISMATCH %s\n  q: %s\n  ours:   %.2000s\n"
	    "  oracle: %.2000s\n", json_string_value(json_object_get(c,
	    "name")), q, m, t);
	free(q);
	free(m);
	free(t);
}

/* Compare every case, evaluated twice over a cached store. */
static int
compare_all(const json_t *cases, const json_t *answers, int *failed)
{
	struct ostore st = { NULL, NULL, NULL };
	const json_t *c, *triples = NULL;
	json_t *mine, *again;
	size_t i;
	int passed = 0;

	json_array_foreach(cases, i, c) {
		if (json_object_get(c, "triples") != triples) {
			ostore_clear(&st);
			triples = json_object_get(c, "triples");
			if (ostore_load(&st, json_object_get(c, "attrs"),
				triples) != 0) {
				fprintf(stderr, "cannot load store\n");
				return -1;
			}
			/* Small enough that the fixtures do not fit. */
			if (tstore_cache(st.ts, 64 * 1024) != 0) {
				fprintf(stderr, "cannot make the cache\n");
				return -1;
			}
		}
		mine = ours(&st, c);
		again = ours(&st, c);
		if (agree(mine, json_array_get(answers, i)) &&
		    agree(again, json_array_get(answers, i)))
			passed++;
		else if ((*failed)++ < 15)
			report(c, agree(mine, json_array_get(answers, i)) ?
			    again : mine, json_array_get(answers, i));
		json_decref(mine);
		json_decref(again);
	}
	ostore_clear(&st);
	return passed;
}

/* Whether a form's $.last is set (a nonzero number). */
static int
has_last(const json_t *form)
{
	const json_t *l = json_object_get(json_object_get(form, "$"), "last");

	return json_is_number(l) && json_number_value(l) != 0;
}

/* Whether a top-level form asks for a page (the devserver sends
 * page-info for those only). */
static int
paginated(const json_t *form)
{
	static const char *const keys[] = { "limit", "first", "last",
		"offset", "before", "after" };
	const json_t *d = json_object_get(form, "$");
	size_t i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_object_get(d, keys[i]) != NULL)
			return 1;
	return 0;
}

/* The server-mode case of c: the client's view of what a server would
 * send, with our server-mode data as the expected answer in "want";
 * NULL if the query is an error. */
static json_t *
server_case(struct ostore *s, const json_t *c)
{
	struct instaql_opts opts = { .server = 1 };
	struct instaql_result res;
	json_t *sc, *pi = json_object();
	const char *ns;
	json_t *v;

	opts.cardinality_inference = json_is_true(json_object_get(c,
	    "cardinalityInference"));
	if (instaql_eval(s->ts, s->as, json_object_get(c, "q"), &opts, &res,
		NULL) != 0) {
		json_decref(pi);
		return NULL;
	}
	json_object_foreach(res.page_info, ns, v)
		if (paginated(json_object_get(json_object_get(c, "q"), ns)))
			json_object_set(pi, ns, v);
	sc = json_pack("{s:O,s:O,s:O,s:O,s:O,s:{s:O}}", "name",
	    json_object_get(c, "name"), "attrs", json_object_get(c, "attrs"),
	    "triples", res.triples, "q", json_object_get(c, "q"),
	    "cardinalityInference", json_object_get(c, "cardinalityInference"),
	    "want", "data", res.data);
	if (json_object_size(pi) > 0)
		json_object_set(sc, "pageInfo", pi);
	json_decref(pi);
	instaql_result_clear(&res);
	return sc;
}

/* Whether q takes the last entities of a namespace and has other forms
 * or a where clause: the client re-applies its limit to the server's page
 * plus any entity of that etype that other results or where witnesses
 * made visible, and takes the first ones, so it can show others than the
 * page (a limit of the protocol, not of the evaluator). */
static int
last_with_children(const json_t *q)
{
	const char *ns, *k;
	json_t *form, *x;

	json_object_foreach((json_t *)q, ns, form) {
		if (!has_last(form))
			continue;
		if (json_object_size(q) > 1 || json_object_get(
		    json_object_get(form, "$"), "where") != NULL)
			return 1;
		json_object_foreach(form, k, x)
			if (strcmp(k, "$") != 0)
				return 1;
	}
	return 0;
}

/* The server-mode cases of all cases. */
static json_t *
server_cases(const json_t *cases)
{
	struct ostore st = { NULL, NULL, NULL };
	const json_t *c, *triples = NULL;
	json_t *out = json_array(), *sc;
	size_t i;

	json_array_foreach(cases, i, c) {
		if (json_object_get(c, "triples") != triples) {
			ostore_clear(&st);
			triples = json_object_get(c, "triples");
			if (ostore_load(&st, json_object_get(c, "attrs"),
				triples) != 0)
				break;
		}
		if (last_with_children(json_object_get(c, "q")))
			continue;
		if ((sc = server_case(&st, c)) != NULL)
			json_array_append_new(out, sc);
	}
	ostore_clear(&st);
	return out;
}

/* Compare the client's data over the server-mode triples with ours. */
static int
compare_server(const json_t *cases, const json_t *answers, int *failed)
{
	const json_t *c, *want, *got;
	json_t *mine;
	size_t i;
	int passed = 0;

	json_array_foreach(cases, i, c) {
		want = json_object_get(c, "want");
		got = json_array_get(answers, i);
		if (same_json(json_object_get(want, "data"),
			json_object_get(got, "data"))) {
			passed++;
			continue;
		}
		if ((*failed)++ < 15) {
			mine = json_deep_copy(want);
			fprintf(stderr, "SERVER MODE ");
			report(c, mine, got);
			json_decref(mine);
		}
	}
	return passed;
}

/* Ask the oracle about cases: its answers (NULL on failure). */
static json_t *
ask(const json_t *cases)
{
	char path[] = "/tmp/iqoracleXXXXXX";
	json_t *answers;
	int fd;

	if ((fd = mkstemp(path)) < 0)
		return NULL;
	close(fd);
	if (write_cases(cases, path) != 0) {
		unlink(path);
		return NULL;
	}
	answers = oracle_run(path);
	unlink(path);
	if (answers != NULL && json_array_size(answers) !=
	    json_array_size(cases)) {
		json_decref(answers);
		answers = NULL;
	}
	if (answers == NULL)
		fprintf(stderr, "the oracle gave no full answer\n");
	return answers;
}

/* CPU time of the process in ms. */
static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Least CPU time of n evaluations of case c; *out gets the last result. */
static double
time_ours(struct ostore *s, const json_t *c, int n, json_t **out)
{
	double best = 1e18, t0, dt;
	int i;

	for (i = 0; i < n; i++) {
		json_decref(*out);
		t0 = cpu_ms();
		*out = ours(s, c);
		dt = cpu_ms() - t0;
		best = dt < best ? dt : best;
	}
	return best;
}

/* Time both evaluators on bench cases. */
static int
bench(int entities)
{
	struct ostore st = { NULL, NULL, NULL };
	json_t *cases = json_array(), *answers, *mine = NULL;
	const json_t *c;
	double ms;
	size_t i;
	int failed = 0;

	bench_cases(cases, entities);
	if ((answers = ask(cases)) == NULL)
		return 1;
	c = json_array_get(cases, 0);
	if (ostore_load(&st, json_object_get(c, "attrs"),
		json_object_get(c, "triples")) != 0)
		return 1;
	printf("%10s %10s %7s  query (%d entities)\n", "client ms", "ours ms",
	    "ratio", entities);
	json_array_foreach(cases, i, c) {
		char *q = json_dumps(json_object_get(c, "q"), JSON_COMPACT);
		const json_t *a = json_array_get(answers, i);
		double js = json_number_value(json_object_get(a, "ms"));
		int ok;

		ms = time_ours(&st, c, 7, &mine);
		ok = same_json(json_object_get(mine, "data"),
		    json_object_get(a, "data"));
		failed += !ok;
		printf("%10.1f %10.1f %6.1fx  %.70s%s\n", js, ms,
		    ms > 0 ? js / ms : 0, q, ok ? "" : " MISMATCH");
		free(q);
	}
	json_decref(mine);
	ostore_clear(&st);
	json_decref(answers);
	json_decref(cases);
	return failed == 0 ? 0 : 1;
}

/* Build the cases, ask the oracle, compare. */
int
main(void)
{
	json_t *cases = json_array(), *answers, *scases;
	unsigned long seed = 20261125;
	int failed = 0, passed, ncases = 400;

	if (getenv("IQ_SEED") != NULL)
		seed = strtoul(getenv("IQ_SEED"), NULL, 10);
	if (getenv("IQ_CASES") != NULL)
		ncases = atoi(getenv("IQ_CASES"));
	if (getenv("IQ_BENCH") != NULL)
		return bench(atoi(getenv("IQ_BENCH")));
	if (oracle_fixture_cases(cases) != 0) {
		fprintf(stderr, "cannot read the fixtures\n");
		return 1;
	}
	collation_cases(cases);
	gen_cases(cases, seed, ncases);
	printf("seed %lu, %zu cases\n", seed, json_array_size(cases));
	if ((answers = ask(cases)) == NULL)
		return 1;
	passed = compare_all(cases, answers, &failed);
	json_decref(answers);
	scases = server_cases(cases);
	printf("%zu server-mode cases\n", json_array_size(scases));
	if ((answers = ask(scases)) == NULL)
		return 1;
	passed += compare_server(scases, answers, &failed);
	printf("%d passed, %d failed\n", passed, failed);
	json_decref(answers);
	json_decref(scases);
	json_decref(cases);
	return passed > 0 && failed == 0 ? 0 : 1;
}
