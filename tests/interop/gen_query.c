/*
 * gen_query.c: random stores and queries for test_query_oracle.
 *
 * A store has 2-4 etypes, each with an id attr, some value attrs (strings
 * with case, accents, spaces and punctuation; numbers; booleans; dates as
 * ms or ISO text; a mixed attr with nulls) and links of both cardinalities
 * between them (self-links too).  Entity times collide on purpose (ties
 * sort by uuid), and a few entities have no id triple.  Each store gets
 * several queries using every feature the client evaluates: nested links
 * both ways, where on values, ids, link labels and dotted paths, and/or,
 * $in, $ne, $not, $isNull, comparisons, $like/$ilike, order, limit, first,
 * last, fields, cardinality inference, and cursor windows with page-info.
 *
 * Things whose client result depends on its store's insertion order are
 * avoided: ordering an attr holding values of several types, and entities
 * with several values of one value attr.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/interop/oracle_cases.h"

static uint64_t rng;

/* xorshift64*: the next random number. */
static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

/* A random number in [0, n). */
static int
pick(int n)
{
	return n <= 0 ? 0 : (int)(rnd() % (uint64_t)n);
}

/* True with probability p percent. */
static int
chance(int p)
{
	return pick(100) < p;
}

/* A random uuid (as a new JSON string). */
static json_t *
gen_uuid(void)
{
	char s[37];
	uint64_t a = rnd(), b = rnd();

	snprintf(s, sizeof s, "%08x-%04x-4%03x-%04x-%012llx",
	    (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
	    (unsigned)a & 0xfff, (unsigned)(b >> 48) & 0xffff,
	    (unsigned long long)(b & 0xffffffffffffULL));
	return json_string(s);
}

enum kind { K_STR, K_CSTR, K_NUM, K_BOOL, K_DATE, K_MIXED };

/* A value attr of an etype. */
struct vattr {
	const char *label;
	enum kind kind;
	json_t *attr;
	json_t *values; /* every value stored, for sampling */
};

/* A link between two etypes. */
struct link {
	int from, to;
	char fwd[32], rev[32];
	int one, unique;
	json_t *attr;
	json_t *pairs; /* [[from_e, to_e]...] */
};

struct etype {
	const char *name;
	json_t *id_attr;
	struct vattr va[5];
	int nva;
	json_t *ents; /* entity ids (with an id triple) */
};

struct world {
	struct etype et[4];
	int net;
	struct link ln[4];
	int nln;
	json_t *attrs, *triples;
};

static const char *const strs[] = { "alpha", "Alpha", "beta", "Beta ",
	"b", "gamma delta", "\xc3\x89mile", "emile", "zeta", "_x", "a-b", "ab",
	"10", "9", "", "a%b", "Zulu", "\xc3\xa9t\xc3\xa9", "ete", "x y",
	"hello world", "HELLO", "line\nbreak", "a.b", "O'Neil" };

/* A random value of a kind. */
static json_t *
gen_value(enum kind k)
{
	static const char *const dates[] = { "2024-01-02T03:04:05Z",
		"2024-01-02", "2023-12-31T23:59:59.500Z",
		"2024-01-02T03:04:05+02:00", "2025-06-01T00:00:00.000Z" };

	switch (k) {
	case K_STR:
	case K_CSTR:
		return json_string(strs[pick(sizeof strs / sizeof strs[0])]);
	case K_NUM:
		return chance(80) ? json_integer(pick(24) - 4) :
		    json_real(pick(40) / 4.0 - 2);
	case K_BOOL:
		return json_boolean(chance(50));
	case K_DATE:
		return chance(50) ? json_integer(1704067200000LL +
		    pick(5) * 86400000LL) : json_string(dates[pick(5)]);
	default:
		return chance(30) ? json_null() : chance(50) ?
		    json_string(strs[pick(6)]) : json_integer(pick(5));
	}
}

/* A new attr object. */
static json_t *
gen_attr(const char *etype, const char *label, const char *vt, int one,
    int unique, const char *checked)
{
	json_t *a = json_pack("{s:o,s:[o,s,s],s:s,s:s,s:b,s:b}", "id",
	    gen_uuid(), "forward-identity", gen_uuid(), etype, label,
	    "value-type", vt, "cardinality", one ? "one" : "many", "unique?",
	    unique, "index?", chance(50));

	if (checked != NULL)
		json_object_set_new(a, "checked-data-type", json_string(checked));
	return a;
}

static const char *const etype_names[] = { "goals", "todos", "users",
	"tags" };
static const char *const va_labels[] = { "title", "name", "n", "done",
	"due", "meta" };
static const enum kind va_kinds[] = { K_STR, K_CSTR, K_NUM, K_BOOL, K_DATE,
	K_MIXED };

/* The attrs of one etype. */
static void
gen_etype(struct world *w, int i)
{
	struct etype *e = &w->et[i];
	static const char *const checked[] = { NULL, "string", "number",
		"boolean", "date", NULL };
	int j, k;

	e->name = etype_names[i];
	e->id_attr = gen_attr(e->name, "id", "blob", 1, 1, NULL);
	json_array_append(w->attrs, e->id_attr);
	e->ents = json_array();
	for (j = 0; j < 6; j++) {
		if (!chance(60))
			continue;
		k = e->nva++;
		e->va[k].label = va_labels[j];
		e->va[k].kind = va_kinds[j];
		/* Unchecked dates would mix numbers and strings. */
		e->va[k].attr = gen_attr(e->name, va_labels[j], "blob", 1, 0,
		    chance(70) || va_kinds[j] == K_DATE ? checked[j] : NULL);
		e->va[k].values = json_array();
		json_array_append(w->attrs, e->va[k].attr);
		if (e->nva == 5)
			break;
	}
}

/* A link attr between two etypes. */
static void
gen_link(struct world *w, int i)
{
	struct link *l = &w->ln[i];
	json_t *a;

	l->from = pick(w->net);
	l->to = pick(w->net);
	snprintf(l->fwd, sizeof l->fwd, "%s%d", w->et[l->to].name, i);
	snprintf(l->rev, sizeof l->rev, "%sR%d", w->et[l->from].name, i);
	l->one = chance(40);
	l->unique = chance(40);
	a = gen_attr(w->et[l->from].name, l->fwd, "ref", l->one, l->unique,
	    NULL);
	json_object_set_new(a, "reverse-identity", json_pack("[o,s,s]",
	    gen_uuid(), w->et[l->to].name, l->rev));
	l->attr = a;
	l->pairs = json_array();
	json_array_append(w->attrs, a);
}

/* Append one triple [e, attr id, v, t] (v is stolen). */
static void
add_triple_to(json_t *triples, json_t *e, json_t *attr, json_t *v,
    long long t)
{
	json_array_append_new(triples, json_pack("[O,O,o,I]", e,
	    json_object_get(attr, "id"), v, (json_int_t)t));
}

/* Add one triple to the store. */
static void
add_triple(struct world *w, json_t *e, json_t *attr, json_t *v, long long t)
{
	add_triple_to(w->triples, e, attr, v, t);
}

/* The entities of one etype with their values. */
static void
gen_entities(struct world *w, int i, long long t0)
{
	struct etype *e = &w->et[i];
	int n = 3 + pick(8), j, k;
	json_t *id, *v;

	for (j = 0; j < n; j++) {
		id = gen_uuid();
		if (chance(93)) {
			add_triple(w, id, e->id_attr, json_incref(id),
			    t0 + pick(4));
			json_array_append(e->ents, id);
		}
		for (k = 0; k < e->nva; k++) {
			if (!chance(80))
				continue;
			v = gen_value(e->va[k].kind);
			json_array_append(e->va[k].values, v);
			add_triple(w, id, e->va[k].attr, v, t0 + pick(4));
		}
		json_decref(id);
	}
}

/* The link triples of one link. */
static void
gen_link_triples(struct world *w, struct link *l)
{
	json_t *from = w->et[l->from].ents, *to = w->et[l->to].ents, *s, *d;
	size_t i;
	int n, k;

	if (json_array_size(to) == 0)
		return;
	json_array_foreach(from, i, s) {
		n = l->one ? pick(2) : pick(4);
		for (k = 0; k < n; k++) {
			d = json_array_get(to, pick((int)json_array_size(to)));
			add_triple(w, s, l->attr, json_incref(d), 1000 + pick(9));
			json_array_append_new(l->pairs, json_pack("[O,O]", s, d));
		}
	}
}

/* A random store. */
static void
gen_world(struct world *w)
{
	int i;

	memset(w, 0, sizeof *w);
	w->attrs = json_array();
	w->triples = json_array();
	w->net = 2 + pick(3);
	for (i = 0; i < w->net; i++)
		gen_etype(w, i);
	w->nln = 1 + pick(3);
	for (i = 0; i < w->nln; i++)
		gen_link(w, i);
	for (i = 0; i < w->net; i++)
		gen_entities(w, i, 100 * (i + 1));
	for (i = 0; i < w->nln; i++)
		gen_link_triples(w, &w->ln[i]);
}

/* Free a store's bookkeeping (attrs and triples are owned by cases). */
static void
free_world(struct world *w)
{
	int i, j;

	for (i = 0; i < w->net; i++) {
		json_decref(w->et[i].id_attr);
		json_decref(w->et[i].ents);
		for (j = 0; j < w->et[i].nva; j++) {
			json_decref(w->et[i].va[j].attr);
			json_decref(w->et[i].va[j].values);
		}
	}
	for (i = 0; i < w->nln; i++) {
		json_decref(w->ln[i].attr);
		json_decref(w->ln[i].pairs);
	}
	json_decref(w->attrs);
	json_decref(w->triples);
}

/* A random link out of etype et (forward or reverse): its index, with
 * *next the etype it leads to and *label its label; -1 if none. */
static int
pick_link(const struct world *w, int et, int *next, const char **label)
{
	int cand[8], dir[8], n = 0, i, k;

	for (i = 0; i < w->nln; i++) {
		if (w->ln[i].from == et) {
			cand[n] = i;
			dir[n++] = 1;
		}
		if (w->ln[i].to == et) {
			cand[n] = i;
			dir[n++] = 0;
		}
	}
	if (n == 0)
		return -1;
	k = pick(n);
	*next = dir[k] ? w->ln[cand[k]].to : w->ln[cand[k]].from;
	*label = dir[k] ? w->ln[cand[k]].fwd : w->ln[cand[k]].rev;
	return cand[k];
}

/* A sample value of a value attr (or a fresh one). */
static json_t *
sample(const struct vattr *va)
{
	size_t n = json_array_size(va->values);
	json_t *v;

	if (n > 0 && chance(80)) {
		v = json_array_get(va->values, pick((int)n));
		if (!json_is_null(v))
			return json_incref(v);
	}
	v = gen_value(va->kind);
	if (json_is_null(v)) {
		json_decref(v);
		v = json_string("zeta");
	}
	return v;
}

/* A LIKE pattern made from a sample string. */
static json_t *
like_pattern(const struct vattr *va)
{
	json_t *v = sample(va);
	char buf[128];
	const char *s = json_is_string(v) ? json_string_value(v) : "a";
	size_t n = strlen(s);

	switch (pick(4)) {
	case 0:
		snprintf(buf, sizeof buf, "%.*s%%", (int)(n > 2 ? 2 : n), s);
		break;
	case 1:
		snprintf(buf, sizeof buf, "%%%s", n > 2 ? s + n - 2 : s);
		break;
	case 2:
		snprintf(buf, sizeof buf, "_%s", n > 1 ? s + 1 : "");
		break;
	default:
		snprintf(buf, sizeof buf, "%%%c%%", n > 0 ? s[n / 2] : 'e');
		break;
	}
	json_decref(v);
	return json_string(buf);
}

/* An operator map or plain value for a value attr. */
static json_t *
gen_op(const struct vattr *va)
{
	static const char *const cmps[] = { "$gt", "$gte", "$lt", "$lte" };

	switch (pick(11)) {
	case 0:
	case 1:
		return sample(va);
	case 2:
		return json_pack("{s:[o,o]}", chance(85) ? "$in" : "in",
		    sample(va), sample(va));
	case 3:
		return json_pack("{s:o}", "$ne", sample(va));
	case 4:
		return json_pack("{s:o}", "$not", sample(va));
	case 5:
		return json_pack("{s:b}", "$isNull", chance(50));
	case 6:
	case 7:
		return json_pack("{s:o}", cmps[pick(4)], sample(va));
	case 8:
		return json_pack("{s:o,s:o}", cmps[pick(2)], sample(va),
		    cmps[2 + pick(2)], sample(va));
	default:
		return json_pack("{s:o}", chance(50) ? "$like" : "$ilike",
		    like_pattern(va));
	}
}

/* An entity id of etype et (or a fresh uuid). */
static json_t *
some_entity(const struct world *w, int et)
{
	size_t n = json_array_size(w->et[et].ents);

	if (n == 0 || chance(10))
		return gen_uuid();
	return json_incref(json_array_get(w->et[et].ents, pick((int)n)));
}

/* One where clause (key and value) on etype et. */
static void
gen_clause(const struct world *w, int et, json_t *where)
{
	char key[256] = "";
	const char *label;
	int hops = chance(35) ? 1 + pick(2) : 0, next, h, l;
	const struct etype *e;
	json_t *v;

	for (h = 0; h < hops; h++) {
		if ((l = pick_link(w, et, &next, &label)) < 0)
			break;
		snprintf(key + strlen(key), sizeof key - strlen(key), "%s%s",
		    key[0] ? "." : "", label);
		et = next;
	}
	e = &w->et[et];
	h = pick(10);
	if (h < 6 && e->nva > 0) {
		const struct vattr *va = &e->va[pick(e->nva)];
		snprintf(key + strlen(key), sizeof key - strlen(key), "%s%s",
		    key[0] ? "." : "", va->label);
		v = gen_op(va);
	} else if (h < 8 && pick_link(w, et, &next, &label) >= 0) {
		snprintf(key + strlen(key), sizeof key - strlen(key), "%s%s",
		    key[0] ? "." : "", label);
		v = chance(30) ? json_pack("{s:b}", "$isNull", chance(50)) :
		    chance(20) ? json_pack("{s:o}", "$ne",
		    some_entity(w, next)) : some_entity(w, next);
	} else {
		snprintf(key + strlen(key), sizeof key - strlen(key), "%sid",
		    key[0] ? "." : "");
		v = chance(70) ? some_entity(w, et) : json_pack("{s:[o,o]}",
		    "$in", some_entity(w, et), some_entity(w, et));
	}
	json_object_set_new(where, key, v);
}

/* A where map on etype et. */
static json_t *
gen_where(const struct world *w, int et, int depth)
{
	json_t *where = json_object(), *br;
	int n = 1 + pick(2), i;

	if (depth < 2 && chance(20)) {
		br = json_array();
		for (i = 0; i < 1 + pick(3); i++)
			json_array_append_new(br, gen_where(w, et, depth + 1));
		json_object_set_new(where, chance(50) ? "or" : "and", br);
		if (chance(50))
			return where;
	}
	for (i = 0; i < n; i++)
		gen_clause(w, et, where);
	return where;
}

/* An order map on etype et: an attr of one type, or serverCreatedAt. */
static json_t *
gen_order(const struct world *w, int et)
{
	const struct etype *e = &w->et[et];
	const char *dir = chance(50) ? "asc" : "desc";
	const char *key = "serverCreatedAt";
	int k;

	if (e->nva > 0 && chance(75)) {
		k = pick(e->nva);
		if (e->va[k].kind != K_MIXED)
			key = e->va[k].label;
	}
	return json_pack("{s:s}", key, dir);
}

/* The "$" map of a form. */
static json_t *
gen_dollar(const struct world *w, int et, int top)
{
	json_t *d = json_object(), *f;
	const struct etype *e = &w->et[et];

	if (chance(60))
		json_object_set_new(d, "where", gen_where(w, et, 0));
	if (chance(45))
		json_object_set_new(d, "order", gen_order(w, et));
	if (chance(35))
		json_object_set_new(d, chance(60) ? "limit" : top &&
		    chance(50) ? "first" : "last", json_integer(pick(5)));
	if (chance(20) && e->nva > 0) {
		f = json_array();
		json_array_append_new(f, json_string(e->va[pick(e->nva)].label));
		if (chance(30))
			json_array_append_new(f, json_string("nope"));
		json_object_set_new(d, "fields", f);
	}
	return d;
}

/* A form on etype et with children up to depth 2. */
static json_t *
gen_form(const struct world *w, int et, int depth)
{
	json_t *form = json_object();
	const char *label;
	int next, i;

	if (chance(75))
		json_object_set_new(form, "$", gen_dollar(w, et, depth == 0));
	for (i = 0; depth < 2 && i < pick(3); i++)
		if (pick_link(w, et, &next, &label) >= 0)
			json_object_set_new(form, label,
			    gen_form(w, next, depth + 1));
	if (chance(3))
		json_object_set_new(form, "nolink", json_object());
	return form;
}

/* A cursor [e, a, v, t] on a random triple of etype et's order attr. */
static json_t *
gen_cursor(const struct world *w, int et, const char *order_label)
{
	const struct etype *e = &w->et[et];
	const json_t *tr, *attr = e->id_attr;
	const char *aid;
	size_t i, n = 0;
	int k, want;

	for (k = 0; order_label != NULL && k < e->nva; k++)
		if (strcmp(e->va[k].label, order_label) == 0)
			attr = e->va[k].attr;
	aid = json_string_value(json_object_get(attr, "id"));
	json_array_foreach(w->triples, i, tr)
		n += strcmp(json_string_value(json_array_get(tr, 1)), aid) == 0;
	if (n == 0)
		return json_null();
	want = pick((int)n);
	json_array_foreach(w->triples, i, tr) {
		if (strcmp(json_string_value(json_array_get(tr, 1)), aid) != 0)
			continue;
		if (want-- == 0)
			return json_deep_copy(tr);
	}
	return json_null();
}

/* Make a top-level form a cursor query, with page-info for it. */
static void
gen_paged(const struct world *w, int et, json_t *form, json_t *pi)
{
	json_t *d = json_object_get(form, "$");
	const char *ol = NULL;
	static const char *const keys[] = { "offset", "after", "before" };
	int k;

	if (d == NULL) {
		d = json_object();
		json_object_set_new(form, "$", d);
	}
	if (json_object_get(d, "order") != NULL)
		ol = json_object_iter_key(json_object_iter(
		    json_object_get(d, "order")));
	k = pick(3);
	json_object_set_new(d, keys[k], k == 0 ? json_integer(1 + pick(3)) :
	    gen_cursor(w, et, ol));
	if (chance(85))
		json_object_set_new(pi, w->et[et].name, json_pack(
		    "{s:o,s:o,s:b,s:b}", "start-cursor", gen_cursor(w, et, ol),
		    "end-cursor", gen_cursor(w, et, ol), "has-next-page?",
		    chance(50), "has-previous-page?", chance(50)));
}

/* One query over the store. */
static json_t *
gen_case(const struct world *w, json_t *attrs, json_t *triples, int idx)
{
	json_t *q = json_object(), *pi = json_object(), *c, *form;
	char name[64];
	int n = 1 + pick(2), i, et;

	for (i = 0; i < n; i++) {
		et = pick(w->net);
		form = gen_form(w, et, 0);
		if (chance(12))
			gen_paged(w, et, form, pi);
		json_object_set_new(q, w->et[et].name, form);
	}
	if (chance(5))
		json_object_set_new(q, "$$ruleParams", json_pack("{s:s}", "k",
		    "v"));
	snprintf(name, sizeof name, "generated #%d", idx);
	c = json_pack("{s:s,s:O,s:O,s:o,s:b}", "name", name, "attrs", attrs,
	    "triples", triples, "q", q, "cardinalityInference", chance(50));
	if (json_object_size(pi) > 0)
		json_object_set(c, "pageInfo", pi);
	json_decref(pi);
	return c;
}

/* Append n generated cases: a new store every 8 queries. */
void
gen_cases(json_t *cases, unsigned long seed, int n)
{
	struct world w;
	int i = 0, k;

	rng = seed * 2654435761ULL + 88172645463325252ULL;
	while (i < n) {
		gen_world(&w);
		for (k = 0; k < 8 && i < n; k++, i++)
			json_array_append_new(cases, gen_case(&w, w.attrs,
			    w.triples, i));
		free_world(&w);
	}
}

/*
 * Benchmark store: n goals (title, n, done) and n todos (title), each todo
 * linked from a random goal.
 */

static const char *const bench_queries[] = {
	"{\"goals\":{}}",
	"{\"goals\":{\"$\":{\"where\":{\"title\":\"alpha7\"}}}}",
	"{\"goals\":{\"$\":{\"order\":{\"n\":\"desc\"},\"limit\":10}}}",
	"{\"goals\":{\"$\":{\"where\":{\"n\":{\"$gt\":990}}},"
	"\"todos\":{}}}",
	"{\"todos\":{\"$\":{\"where\":{\"goals.title\":"
	"{\"$like\":\"beta1%\"}}}}}",
	"{\"goals\":{\"$\":{\"order\":{\"title\":\"asc\"},\"limit\":20}}}",
	"{\"goals\":{\"$\":{\"where\":{\"done\":true,\"n\":{\"$lt\":10}}},"
	"\"todos\":{\"goals\":{}}}}",
	"{\"todos\":{\"$\":{\"where\":{\"goals\":{\"$isNull\":true}},"
	"\"limit\":5}}}",
};

/* The benchmark attrs: goals id/title/n/done, todos id/title, link. */
static void
bench_attrs(json_t *attrs, json_t **id)
{
	static const char *const names[][2] = { { "goals", "id" },
		{ "goals", "title" }, { "goals", "n" }, { "goals", "done" },
		{ "todos", "id" }, { "todos", "title" } };
	size_t i;

	for (i = 0; i < 6; i++) {
		id[i] = gen_attr(names[i][0], names[i][1], "blob", 1,
		    i == 0 || i == 4, i == 1 ? "string" : NULL);
		json_array_append(attrs, id[i]);
	}
	id[6] = gen_attr("goals", "todos", "ref", 0, 0, NULL);
	json_object_set_new(id[6], "reverse-identity", json_pack("[o,s,s]",
	    gen_uuid(), "todos", "goals"));
	json_array_append(attrs, id[6]);
}

/* Append the benchmark cases. */
void
bench_cases(json_t *cases, int n)
{
	static const char *const words[] = { "alpha", "beta", "gamma",
		"delta", "eps", "zeta", "eta", "theta" };
	json_t *attrs = json_array(), *triples = json_array(), *a[7];
	json_t *goals = json_array(), *g, *t;
	char title[64];
	size_t i;
	int k;

	rng = 42;
	bench_attrs(attrs, a);
	for (k = 0; k < n; k++) {
		g = gen_uuid();
		snprintf(title, sizeof title, "%s%d", words[pick(8)], k % 1000);
		add_triple_to(triples, g, a[0], json_incref(g), k);
		add_triple_to(triples, g, a[1], json_string(title), k);
		add_triple_to(triples, g, a[2], json_integer(pick(1001)), k);
		add_triple_to(triples, g, a[3], json_boolean(chance(50)), k);
		json_array_append_new(goals, g);
	}
	for (k = 0; k < n; k++) {
		t = gen_uuid();
		snprintf(title, sizeof title, "todo%d", k);
		add_triple_to(triples, t, a[4], json_incref(t), k);
		add_triple_to(triples, t, a[5], json_string(title), k);
		if (chance(90))
			add_triple_to(triples, json_array_get(goals, pick(n)),
			    a[6], json_incref(t), k);
		json_decref(t);
	}
	for (i = 0; i < sizeof bench_queries / sizeof bench_queries[0]; i++)
		json_array_append_new(cases, json_pack("{s:s,s:O,s:O,s:o,s:i}",
		    "name", "bench", "attrs", attrs, "triples", triples, "q",
		    json_loads(bench_queries[i], 0, NULL), "bench", 7));
	for (k = 0; k < 7; k++)
		json_decref(a[k]);
	json_decref(goals);
	json_decref(attrs);
	json_decref(triples);
}

/*
 * Collation: one store of entities named from a wide alphabet (Latin with
 * accents and ligatures, Greek, Cyrillic, punctuation, symbols, emoji,
 * CJK), ordered both ways by a checked string attr.
 */

static const char *const wide[] = { "a", "A", "b", "e", "E", "z", "Z",
	"0", "9", " ", "-", "_", ".", ",", "!", "'", "(", "\xc3\xa9",
	"\xc3\x89", "\xc3\xa8", "\xc3\xbc", "\xc3\x9f", "\xc3\xa6",
	"\xc3\x86", "\xc5\x93", "\xc4\x8d", "\xc5\x82", "\xce\xb1",
	"\xce\x91", "\xd0\xb0", "\xd0\xaf", "\xe2\x80\x94",
	"\xe2\x82\xac", "\xe2\x86\x92", "\xe2\x98\x85",
	"\xf0\x9f\x98\x80", "\xe6\x97\xa5", "\xc4\xb1" };

/* Append the collation cases. */
void
collation_cases(json_t *cases)
{
	json_t *attrs = json_array(), *triples = json_array(), *id, *name, *e;
	char buf[64];
	size_t n = sizeof wide / sizeof wide[0];
	int k, j, len;

	rng = 7;
	id = gen_attr("words", "id", "blob", 1, 1, NULL);
	name = gen_attr("words", "name", "blob", 1, 0, "string");
	json_array_append(attrs, id);
	json_array_append(attrs, name);
	for (k = 0; k < 300; k++) {
		buf[0] = '\0';
		len = pick(5);
		for (j = 0; j < len; j++)
			strncat(buf, wide[pick((int)n)],
			    sizeof buf - strlen(buf) - 1);
		e = gen_uuid();
		add_triple_to(triples, e, id, json_incref(e), k);
		add_triple_to(triples, e, name, json_string(buf), k);
		json_decref(e);
	}
	for (k = 0; k < 2; k++)
		json_array_append_new(cases, json_pack(
		    "{s:s,s:O,s:O,s:{s:{s:{s:{s:s}}}}}", "name", "collation",
		    "attrs", attrs, "triples", triples, "q", "words", "$",
		    "order", "name", k ? "desc" : "asc"));
	json_decref(id);
	json_decref(name);
	json_decref(attrs);
	json_decref(triples);
}
