/*
 * iqjoin.c: matching a level's triple patterns against the tstore.
 *
 * A depth-first search over the pattern list: each pattern is looked up
 * with the terms known so far (entity and attr: the primary key; attr and
 * value: the (a, v, e) index; attr alone: an index range), its rows are
 * copied (so that no statement stays open across the recursion), and each
 * row that agrees with the bindings extends them.  An or pattern runs each
 * branch followed by the rest of the list.  When the list is exhausted the
 * level's entity is accepted; once accepted, an entity is not searched
 * again.  Only the set of accepted entities matters (the client
 * deduplicates its bindings by entity), so one satisfying binding per
 * entity is enough, and that binding's triples are its witness.
 *
 * Bindings are value texts (canonical JSON); a binding made from an
 * entity position is the JSON string of the id.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/iq.h"
#include "engine/jsval.h"
#include "engine/idmap.h"
#include "engine/strmap.h"
#include "engine/tstore.h"
#include "proto/jsontext.h"

/* One copied row: offsets into the rows' text arena. */
struct iqj_row {
	size_t e, etext, v; /* raw id, id as JSON text, value text */
	int64_t t;
};

/* The rows of one lookup. */
struct iqj_rows {
	struct iqj_row *v;
	size_t n, cap;
	char *buf; /* the text arena: stable once the lookup is done */
	size_t len, bcap;
};

/* A frame of the search: the rest of a pattern list, then next. */
struct iqj_frame {
	const struct iq_plist *list;
	size_t i;
	const struct iqj_frame *next;
};

/* A triple on the current path, for witnesses. */
struct iqj_step {
	const struct attr *attr;
	const char *e, *v;
	int64_t t;
};

struct iqj {
	struct tstore *ts;
	const struct iq_plan *plan;
	const char *parent;
	char *parent_text;
	const char **vals; /* per variable: bound value text or NULL */
	struct iq_hits *out;
	struct idmap *accepted; /* ids of accepted entities -> hit */
	int64_t eid_t;     /* t of the id triple of ... */
	const char *eid_of; /* ... this binding of the entity, or NULL */
	int witness;
	struct iqj_step *trail;
	size_t ntrail, captrail;
	int rows;           /* keep the triples of entities looked up */
	struct textbuf st;  /* the last entity looked up: "e\0", then its
			       triples "a\0v\0" */
	int err;
	char **errmsg;
};

/* Record a failure (the first message wins). */
static int
iqj_fail(struct iqj *x, const char *msg)
{
	x->err = 1;
	if (x->errmsg != NULL && *x->errmsg == NULL)
		*x->errmsg = strdup(msg != NULL ? msg : "failure");
	return -1;
}

/*
 * Rows.
 */

/* Free the copied rows. */
static void
iqj_rows_clear(struct iqj_rows *rs)
{
	free(rs->v);
	free(rs->buf);
	memset(rs, 0, sizeof *rs);
}

/* Make room for n more bytes in the arena. */
static int
iqj_reserve(struct iqj_rows *rs, size_t n)
{
	size_t cap = rs->bcap ? rs->bcap : 1024;
	char *b;

	if (rs->len + n <= rs->bcap)
		return 0;
	while (cap < rs->len + n)
		cap *= 2;
	if ((b = realloc(rs->buf, cap)) == NULL)
		return -1;
	rs->buf = b;
	rs->bcap = cap;
	return 0;
}

/* Append the n bytes of s, quoted if asked, and a NUL to the arena: its
 * offset. */
static int
iqj_put(struct iqj_rows *rs, const char *s, size_t n, int quoted,
    size_t *off)
{
	size_t q = quoted ? 1 : 0;

	if (iqj_reserve(rs, n + 2 * q + 1) != 0)
		return -1;
	*off = rs->len;
	if (q)
		rs->buf[rs->len++] = '"';
	memcpy(rs->buf + rs->len, s, n);
	rs->len += n;
	if (q)
		rs->buf[rs->len++] = '"';
	rs->buf[rs->len++] = '\0';
	return 0;
}

/* Whether the n bytes of s need escaping inside a JSON string: a word
 * at a time (every id is tested), then byte by byte from the first word
 * that may. */
static int
iqj_needs_escape(const char *s, size_t n)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		if (jsontext_word_special(w))
			break;
	}
	for (; i < n; i++)
		if (s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < 0x20)
			return 1;
	return 0;
}

/* The JSON text of a string (caller frees). */
char *
iqjoin_quote(const char *s)
{
	size_t n = strlen(s);
	json_t *j;
	char *t;

	if (!iqj_needs_escape(s, n)) {
		if ((t = malloc(n + 3)) != NULL) {
			t[0] = '"';
			memcpy(t + 1, s, n);
			t[n + 1] = '"';
			t[n + 2] = '\0';
		}
		return t;
	}
	j = json_string(s);
	t = j != NULL ? tstore_value_text(j) : NULL;
	json_decref(j);
	return t;
}

/* Append the JSON text of an entity id (of n bytes) to the arena. */
static int
iqj_put_etext(struct iqj_rows *rs, const char *e, size_t n, size_t *off)
{
	char *q;
	int r;

	if (!iqj_needs_escape(e, n))
		return iqj_put(rs, e, n, 1, off);
	if ((q = iqjoin_quote(e)) == NULL)
		return -1;
	r = iqj_put(rs, q, strlen(q), 0, off);
	free(q);
	return r;
}

/* Copy a row. */
static int
iqj_rows_add(struct iqj_rows *rs, const struct triple *tr)
{
	struct iqj_row *v;
	size_t elen;

	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		if ((v = realloc(rs->v, rs->cap * sizeof *v)) == NULL)
			return -1;
		rs->v = v;
	}
	v = &rs->v[rs->n];
	elen = strlen(tr->e);
	if (iqj_put(rs, tr->e, elen, 0, &v->e) != 0 ||
	    iqj_put_etext(rs, tr->e, elen, &v->etext) != 0 ||
	    iqj_put(rs, tr->v, strlen(tr->v), 0, &v->v) != 0)
		return -1;
	v->t = tr->t;
	rs->n++;
	return 0;
}

/*
 * Values.
 */

/* The raw string of a JSON string text (caller frees), or NULL if the
 * text is not a string. */
static char *
iqj_unquote(const char *text)
{
	size_t n = strlen(text);
	json_t *j;
	char *s;

	if (n < 2 || text[0] != '"')
		return NULL;
	if (strchr(text, '\\') == NULL) {
		if ((s = malloc(n - 1)) != NULL) {
			memcpy(s, text + 1, n - 2);
			s[n - 2] = '\0';
		}
		return s;
	}
	j = json_loads(text, JSON_DECODE_ANY, NULL);
	s = json_is_string(j) ? strdup(json_string_value(j)) : NULL;
	json_decref(j);
	return s;
}

/* A JSON value from canonical value text. */
json_t *
iqjoin_value(const char *text)
{
	size_t n = strlen(text);

	if (n >= 2 && text[0] == '"' && strchr(text, '\\') == NULL)
		return json_stringn(text + 1, n - 2);
	if (strcmp(text, "true") == 0)
		return json_true();
	if (strcmp(text, "false") == 0)
		return json_false();
	if (strcmp(text, "null") == 0)
		return json_null();
	return json_loads(text, JSON_DECODE_ANY, NULL);
}

/* Whether value text is a JSON number; *d gets it. */
static int
iqj_number(const char *text, double *d)
{
	char *end;

	if (!(text[0] == '-' || (text[0] >= '0' && text[0] <= '9')))
		return 0;
	*d = strtod(text, &end);
	return *end == '\0';
}

/* Apply a comparator to an order. */
static int
iqj_cmp_result(enum iq_cmp_op op, enum jsval_order o)
{
	if (o == JSVAL_UNORDERED)
		return 0;
	switch (op) {
	case IQ_GT:
		return o == JSVAL_GT;
	case IQ_GTE:
		return o != JSVAL_LT;
	case IQ_LT:
		return o == JSVAL_LT;
	default:
		return o != JSVAL_GT;
	}
}

/* Compare with a comparator operator. */
static int
iqj_cmp(const struct iq_args *a, const char *vtext)
{
	json_t *v;
	enum jsval_order o;
	double x, y;
	int r = 0;

	if (!a->is_date && json_is_number(a->operand) &&
	    iqj_number(vtext, &x)) {
		y = json_number_value(a->operand);
		return iqj_cmp_result(a->op, x < y ? JSVAL_LT : x > y ?
		    JSVAL_GT : JSVAL_EQ);
	}
	if ((v = iqjoin_value(vtext)) == NULL)
		return 0;
	if (a->is_date) {
		x = jsval_date_ms(v);
		y = jsval_date_ms(a->operand);
		o = isnan(x) || isnan(y) ? JSVAL_UNORDERED :
		    x < y ? JSVAL_LT : x > y ? JSVAL_GT : JSVAL_EQ;
	} else
		o = jsval_relcmp(v, a->operand);
	r = iqj_cmp_result(a->op, o);
	json_decref(v);
	return r;
}

/* Whether a value text passes an operator map (all but $isNull). */
static int
iqj_args_match(const struct iq_args *a, const char *vtext)
{
	char *s;
	size_t i, n;
	int r;

	switch (a->kind) {
	case IQ_A_NOT:
		return a->not_text == NULL || strcmp(a->not_text, vtext) != 0;
	case IQ_A_IN:
		for (i = 0; i < a->nin; i++)
			if (strcmp(a->in[i], vtext) == 0)
				return 1;
		return 0;
	case IQ_A_CMP:
		return iqj_cmp(a, vtext);
	case IQ_A_LIKE:
		if (a->like == NULL)
			return 0;
		/* A string without escapes is matched where it lies. */
		n = strlen(vtext);
		if (n >= 2 && vtext[0] == '"' && vtext[n - 1] == '"' &&
		    memchr(vtext, '\\', n) == NULL)
			return jsval_like_matchn(a->like, vtext + 1, n - 2);
		if ((s = iqj_unquote(vtext)) == NULL)
			return 0;
		r = jsval_like_match(a->like, s);
		free(s);
		return r;
	default:
		return 1;
	}
}

/* Lookup context of one pattern. */
struct iqj_fetch {
	struct iqj *x;
	const char *vtext;         /* the known value, or NULL */
	const struct iq_args *args; /* an operator map, or NULL */
	struct iqj_rows *rows;
};

/* Scan callback: keep rows that agree with the known value or args. */
static int
iqj_fetch_cb(void *arg, const struct triple *tr)
{
	struct iqj_fetch *f = arg;

	if (f->vtext != NULL && strcmp(f->vtext, tr->v) != 0)
		return 0;
	if (f->args != NULL && !iqj_args_match(f->args, tr->v))
		return 0;
	return iqj_rows_add(f->rows, tr) == 0 ? 0 : -1;
}

/* The triples that decide an $isNull test on candidate entity (value
 * text c): its values of the attr, or the links to it (reverse). */
static int
iqj_null_rows(struct iqj *x, const struct iq_args *a, const char *c,
    struct iqj_rows *rs)
{
	struct iqj_fetch f = { x, NULL, NULL, rs };
	char *e = iqj_unquote(c);
	int r;

	if (e == NULL)
		return 0;
	if (a->reverse)
		r = tstore_scan_av(x->ts, a->null_attr->id, c, iqj_fetch_cb, &f);
	else
		r = tstore_scan_ea(x->ts, e, a->null_attr->id, iqj_fetch_cb,
		    &f);
	free(e);
	return r == 0 ? 0 : -1;
}

/* Whether candidate entity (value text c) has no value for the attr, as
 * the client's $isNull test: no triple, or (forward) a null value. */
static int
iqj_is_null(struct iqj *x, const struct iq_args *a, const char *c, int *null)
{
	struct iqj_rows rs = { NULL, 0, 0, NULL, 0, 0 };
	size_t i;
	int r;

	r = iqj_null_rows(x, a, c, &rs);
	*null = rs.n == 0;
	for (i = 0; i < rs.n && !a->reverse; i++)
		if (strcmp(rs.buf + rs.v[i].v, "null") == 0)
			*null = 1;
	iqj_rows_clear(&rs);
	return r;
}

/* Null states of entities, from one scan of the tested attr: bit 1 the
 * entity has a value (forward) or an incoming link (reverse), bit 2 it
 * has a null value. */
struct iqj_nulls {
	struct strmap *m; /* forward: raw id; reverse: value text */
	int reverse;
};

/* Callback: record one triple of the tested attr. */
static int
iqj_nulls_cb(void *arg, const struct triple *tr)
{
	struct iqj_nulls *n = arg;
	const char *k = n->reverse ? tr->v : tr->e;
	size_t bits = 0;

	strmap_get(n->m, k, &bits);
	bits |= 1;
	if (!n->reverse && strcmp(tr->v, "null") == 0)
		bits |= 2;
	return strmap_put(n->m, k, bits);
}

/* Whether the candidate (value text c) is null by the scanned states. */
static int
iqj_nulls_test(const struct iqj_nulls *n, const char *c)
{
	size_t bits = 0, len = strlen(c);
	char *e;

	if (n->reverse)
		strmap_get(n->m, c, &bits);
	else if (len >= 2 && c[0] == '"' && memchr(c, '\\', len) == NULL)
		strmap_getn(n->m, c + 1, len - 2, &bits);
	else if ((e = iqj_unquote(c)) != NULL) {
		strmap_get(n->m, e, &bits);
		free(e);
	}
	return !(bits & 1) || (bits & 2);
}

/* Whether one scan of the tested attr beats a lookup per candidate. */
static int
iqj_nulls_pay(struct iqj *x, const struct iq_args *a, size_t candidates)
{
	int64_t rows;

	if (candidates < 256 || tstore_count_a_max(x->ts, a->null_attr->id,
	    16 * (int64_t)candidates + 1, &rows) != 0)
		return 0;
	return (uint64_t)rows <= 16 * (uint64_t)candidates;
}

/* Drop rows whose value fails an $isNull test. */
static int
iqj_filter_null(struct iqj *x, const struct iq_args *a, struct iqj_rows *rs)
{
	struct iqj_nulls n = { NULL, a->reverse };
	size_t i, k = 0;
	int null, r = -1;

	if (iqj_nulls_pay(x, a, rs->n) && ((n.m = strmap_create()) == NULL ||
	    tstore_scan_a(x->ts, a->null_attr->id, iqj_nulls_cb, &n) != 0))
		goto out;
	for (i = 0; i < rs->n; i++) {
		if (n.m != NULL)
			null = iqj_nulls_test(&n, rs->buf + rs->v[i].v);
		else if (iqj_is_null(x, a, rs->buf + rs->v[i].v, &null) != 0)
			goto out;
		if (null == a->want_null)
			rs->v[k++] = rs->v[i];
	}
	rs->n = k;
	r = 0;
out:
	strmap_free(n.m);
	return r;
}

/* The raw entity id an e term stands for, or NULL if unknown; *never
 * when it cannot match anything.  *tmp receives what must be freed. */
static const char *
iqj_e_known(struct iqj *x, const struct iq_term *t, int *never, char **tmp)
{
	const char *b;

	*tmp = NULL;
	switch (t->kind) {
	case IQ_T_CONST:
		return t->text;
	case IQ_T_PARENT:
		return x->parent;
	case IQ_T_NEVER:
		*never = 1;
		return NULL;
	case IQ_T_VAR:
		if ((b = x->vals[t->var]) == NULL)
			return NULL;
		if ((*tmp = iqj_unquote(b)) == NULL)
			*never = 1;
		return *tmp;
	default:
		return NULL;
	}
}

/* The value text a v term stands for, or NULL if unknown. */
static const char *
iqj_v_known(struct iqj *x, const struct iq_term *t, int *never)
{
	switch (t->kind) {
	case IQ_T_CONST:
		return t->text;
	case IQ_T_PARENT:
		return x->parent_text;
	case IQ_T_NEVER:
		*never = 1;
		return NULL;
	case IQ_T_VAR:
		return x->vals[t->var];
	default:
		return NULL;
	}
}

/* Lookup context of an entity's id triple read with all its triples. */
struct iqj_entity {
	struct iqj_fetch f;
	const char *a; /* the id attr */
};

/* Callback: keep one triple of the entity; match the id triple. */
static int
iqj_entity_cb(void *arg, const struct triple *tr)
{
	struct iqj_entity *en = arg;
	struct textbuf *st = &en->f.x->st;

	textbuf_put(st, tr->a, strlen(tr->a) + 1);
	textbuf_put(st, tr->v, strlen(tr->v) + 1);
	if (st->err)
		return -1;
	if (strcmp(tr->a, en->a) != 0)
		return 0;
	return iqj_fetch_cb(&en->f, tr);
}

/* Look up the id triple of entity e by reading all its triples, kept in
 * x->st for its object. */
static int
iqj_fetch_entity(struct iqj *x, const char *e, const char *a,
    struct iqj_fetch *f)
{
	struct iqj_entity en = { *f, a };

	textbuf_truncate(&x->st, 0);
	textbuf_put(&x->st, e, strlen(e) + 1);
	if (x->st.err)
		return -1;
	return tstore_scan_e(x->ts, e, iqj_entity_cb, &en);
}

/* Look up the rows of a pattern under the current bindings. */
static int
iqj_fetch(struct iqj *x, const struct iq_pat *p, struct iqj_rows *rows)
{
	struct iqj_fetch f = { x, NULL, NULL, rows };
	const char *a = p->attr->id, *e;
	int never = 0, r = 0;
	char *tmp;
	size_t i;

	e = iqj_e_known(x, &p->e, &never, &tmp);
	f.vtext = iqj_v_known(x, &p->v, &never);
	if (p->v.kind == IQ_T_ARGS)
		f.args = p->v.args;
	if (never)
		goto out;
	if (e != NULL && x->rows && p->is_eid)
		r = iqj_fetch_entity(x, e, a, &f);
	else if (e != NULL)
		r = tstore_scan_ea(x->ts, e, a, iqj_fetch_cb, &f);
	else if (f.vtext != NULL)
		r = tstore_scan_av(x->ts, a, f.vtext, iqj_fetch_cb, &f);
	else if (f.args != NULL && f.args->kind == IQ_A_IN) {
		for (i = 0; i < f.args->nin && r == 0; i++)
			r = tstore_scan_av(x->ts, a, f.args->in[i],
			    iqj_fetch_cb, &f);
	} else if (f.args != NULL && f.args->needle != NULL)
		/* $like: only values with the pattern's literal run come
		 * out to be matched. */
		r = tstore_scan_a_has(x->ts, a, f.args->needle, iqj_fetch_cb,
		    &f);
	else
		r = tstore_scan_a(x->ts, a, iqj_fetch_cb, &f);
	if (r == 0 && f.args != NULL && f.args->kind == IQ_A_ISNULL)
		r = iqj_filter_null(x, f.args, rows);
out:
	free(tmp);
	if (r != 0)
		return iqj_fail(x, x->ts != NULL ? tstore_errmsg(x->ts) : NULL);
	return 0;
}

/*
 * The search.
 */

static int iqj_run(struct iqj *, const struct iqj_frame *);

/* Push a witness step. */
static int
iqj_trail_push(struct iqj *x, const struct attr *a,
    const struct iqj_rows *rs, const struct iqj_row *r)
{
	struct iqj_step *v;

	if (x->ntrail == x->captrail) {
		x->captrail = x->captrail ? x->captrail * 2 : 16;
		if ((v = realloc(x->trail, x->captrail * sizeof *v)) == NULL)
			return iqj_fail(x, "out of memory");
		x->trail = v;
	}
	v = &x->trail[x->ntrail++];
	v->attr = a;
	v->e = rs->buf + r->e;
	v->v = rs->buf + r->v;
	v->t = r->t;
	return 0;
}

/* Bind the variables of p to a row (or check them): whether it agrees.
 * bound[0..1] receive the variables newly bound. */
static int
iqj_bind(struct iqj *x, const struct iq_pat *p, const struct iqj_rows *rs,
    const struct iqj_row *row, int bound[2])
{
	const char *cur, *v = rs->buf + row->v;

	bound[0] = bound[1] = -1;
	if (p->e.kind == IQ_T_VAR && x->vals[p->e.var] == NULL) {
		x->vals[p->e.var] = rs->buf + row->etext;
		bound[0] = p->e.var;
	}
	if (p->v.kind != IQ_T_VAR)
		return 1;
	if ((cur = x->vals[p->v.var]) == NULL) {
		x->vals[p->v.var] = v;
		bound[1] = p->v.var;
		return 1;
	}
	return strcmp(cur, v) == 0;
}

/* Undo iqj_bind. */
static void
iqj_unbind(struct iqj *x, const int bound[2])
{
	if (bound[0] >= 0)
		x->vals[bound[0]] = NULL;
	if (bound[1] >= 0)
		x->vals[bound[1]] = NULL;
}

/* Whether the entity whose JSON text is m is accepted. */
static int
iqj_seen(const struct iqj *x, const char *m)
{
	size_t n = strlen(m);
	char *e;
	int r;

	if (n >= 2 && m[0] == '"' && memchr(m, '\\', n) == NULL)
		return idmap_get(x->accepted, m + 1, n - 2, NULL);
	if ((e = iqj_unquote(m)) == NULL)
		return 0;
	r = idmap_get(x->accepted, e, strlen(e), NULL);
	free(e);
	return r;
}

/* Whether a binding just made gives the level's entity a value that is
 * already accepted (nothing new can come of it). */
static int
iqj_done(struct iqj *x, const int bound[2])
{
	int m = x->plan->main_var;

	if (bound[0] != m && bound[1] != m)
		return 0;
	return iqj_seen(x, x->vals[m]);
}

/* Whether the level's entity is bound and already accepted. */
static int
iqj_main_done(struct iqj *x)
{
	const char *m = x->vals[x->plan->main_var];

	return m != NULL && iqj_seen(x, m);
}

/* Push the witness of one matched row: the row, and for a satisfied
 * $isNull:false the triples that show the value exists.  proof holds
 * them while they are on the trail.  The number of steps pushed, or -1. */
static int
iqj_push_witness(struct iqj *x, const struct iq_pat *p,
    const struct iqj_rows *rs, const struct iqj_row *row,
    struct iqj_rows *proof)
{
	const struct iq_args *a = p->v.kind == IQ_T_ARGS ? p->v.args : NULL;
	size_t i;

	if (iqj_trail_push(x, p->attr, rs, row) != 0)
		return -1;
	if (a == NULL || a->kind != IQ_A_ISNULL || a->want_null)
		return 1;
	if (iqj_null_rows(x, a, rs->buf + row->v, proof) != 0)
		return iqj_fail(x, tstore_errmsg(x->ts));
	for (i = 0; i < proof->n; i++)
		if (iqj_trail_push(x, a->null_attr, proof, &proof->v[i]) != 0)
			return -1;
	return (int)proof->n + 1;
}

/* Whether a matched row is the id triple [e, id, e] of the level's
 * entity, so that the id pattern need not look it up again. */
static int
iqj_proves_eid(const struct iqj *x, const struct iq_pat *p,
    const struct iqj_rows *rs, const struct iqj_row *row)
{
	return p->attr == x->plan->eid_attr && p->e.kind == IQ_T_VAR &&
	    p->e.var == x->plan->main_var &&
	    strcmp(rs->buf + row->v, rs->buf + row->etext) == 0;
}

/* Go on with the rest after a matched row (recording its witness). */
static void
iqj_next(struct iqj *x, const struct iq_pat *p, const struct iqj_rows *rs,
    const struct iqj_row *row, const struct iqj_frame *nf)
{
	struct iqj_rows proof = { NULL, 0, 0, NULL, 0, 0 };
	const char *eid_of = x->eid_of;
	int64_t eid_t = x->eid_t;
	int pushed = 0;

	if (p->is_eid || iqj_proves_eid(x, p, rs, row)) {
		x->eid_t = row->t;
		x->eid_of = x->vals[x->plan->main_var];
	}
	if (x->witness && (pushed = iqj_push_witness(x, p, rs, row,
	    &proof)) < 0)
		goto out;
	iqj_run(x, nf);
	x->ntrail -= (size_t)pushed;
out:
	x->eid_of = eid_of;
	x->eid_t = eid_t;
	iqj_rows_clear(&proof);
}

/* Try each row of a triple pattern, then the rest. */
static int
iqj_triple(struct iqj *x, const struct iq_pat *p, const struct iqj_frame *nf)
{
	struct iqj_rows rows = { NULL, 0, 0, NULL, 0, 0 };
	int bound[2];
	size_t i;

	/* The id triple is known already: nothing to look up. */
	if (p->is_eid && x->eid_of != NULL &&
	    x->eid_of == x->vals[x->plan->main_var])
		return iqj_run(x, nf);
	if (iqj_fetch(x, p, &rows) != 0)
		goto out;
	for (i = 0; i < rows.n && !x->err; i++) {
		if (iqj_main_done(x))
			break;
		if (iqj_bind(x, p, &rows, &rows.v[i], bound) &&
		    !iqj_done(x, bound))
			iqj_next(x, p, &rows, &rows.v[i], nf);
		iqj_unbind(x, bound);
	}
out:
	iqj_rows_clear(&rows);
	return x->err ? -1 : 0;
}

/* The triples of the current path: [[e, a, value text, t]...]. */
static json_t *
iqj_witness(struct iqj *x)
{
	json_t *w = json_array(), *tr;
	size_t i;

	for (i = 0; w != NULL && i < x->ntrail; i++) {
		tr = json_pack("[s,s,s,I]", x->trail[i].e, x->trail[i].attr->id,
		    x->trail[i].v, (json_int_t)x->trail[i].t);
		if (tr == NULL || json_array_append_new(w, tr) != 0) {
			json_decref(w);
			return NULL;
		}
	}
	return w;
}

/* Grow the hit list by one. */
static struct iq_hit *
iqj_hit_new(struct iq_hits *h)
{
	struct iq_hit *v;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		if ((v = realloc(h->v, h->cap * sizeof *v)) == NULL)
			return NULL;
		h->v = v;
	}
	v = &h->v[h->n];
	memset(v, 0, sizeof *v);
	return v;
}

/* Accept the level's entity under the current bindings. */
static int
iqj_accept(struct iqj *x)
{
	const char *m = x->vals[x->plan->main_var];
	struct iq_hit *v;

	if (m == NULL || iqj_seen(x, m))
		return 0;
	if ((v = iqj_hit_new(x->out)) == NULL ||
	    (v->e = iqj_unquote(m)) == NULL)
		return iqj_fail(x, "out of memory");
	v->t = x->eid_t;
	x->out->n++;
	/* The triples read with its id triple, if they are this entity's. */
	if (x->rows && x->st.len > 0 && strcmp(x->st.p, v->e) == 0) {
		size_t skip = strlen(x->st.p) + 1;
		v->rows_off = x->out->rows.len;
		v->rows_len = x->st.len - skip;
		textbuf_put(&x->out->rows, x->st.p + skip, v->rows_len);
		if (x->out->rows.err)
			return iqj_fail(x, "out of memory");
	}
	if (idmap_put(x->accepted, v->e, strlen(v->e), x->out->n - 1) != 0)
		return iqj_fail(x, "out of memory");
	if (x->witness && (v->witness = iqj_witness(x)) == NULL)
		return iqj_fail(x, "out of memory");
	return 0;
}

/* The search from frame f. */
static int
iqj_run(struct iqj *x, const struct iqj_frame *f)
{
	struct iqj_frame nf, bf;
	const struct iq_pat *p;
	size_t b;

	while (f != NULL && f->i == f->list->n)
		f = f->next;
	if (f == NULL)
		return iqj_accept(x);
	if (x->err)
		return -1;
	p = &f->list->v[f->i];
	nf.list = f->list;
	nf.i = f->i + 1;
	nf.next = f->next;
	if (p->kind == IQ_P_TRIPLE)
		return iqj_triple(x, p, &nf);
	for (b = 0; b < p->nbranches && !x->err; b++) {
		bf.list = &p->branches[b];
		bf.i = 0;
		bf.next = &nf;
		iqj_run(x, &bf);
		if (iqj_main_done(x))
			break;
	}
	return x->err ? -1 : 0;
}

/* Free a hit list. */
void
iq_hits_clear(struct iq_hits *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].e);
		json_decref(h->v[i].witness);
	}
	free(h->v);
	idmap_free(h->index);
	textbuf_clear(&h->rows);
	memset(h, 0, sizeof *h);
}

/* Run a plan for one parent. */
int
iqjoin_run(struct tstore *ts, const struct iq_plan *plan, const char *parent,
    struct iq_hits *out, int witness, int rows, char **errmsg)
{
	struct iqj x;
	struct iqj_frame f = { &plan->pats, 0, NULL };
	int r = -1;

	memset(&x, 0, sizeof x);
	memset(out, 0, sizeof *out);
	if (plan->notfound)
		return 0;
	x.ts = ts;
	x.plan = plan;
	x.parent = parent;
	x.out = out;
	x.witness = witness;
	x.rows = rows;
	x.errmsg = errmsg;
	x.vals = calloc(plan->nvars + 1, sizeof *x.vals);
	x.accepted = idmap_create();
	if (x.vals == NULL || x.accepted == NULL ||
	    (parent != NULL && (x.parent_text = iqjoin_quote(parent)) == NULL)) {
		iqj_fail(&x, "out of memory");
		goto out;
	}
	r = iqj_run(&x, &f);
	if (r == 0 && !x.err) {
		out->index = x.accepted;
		x.accepted = NULL;
	}
out:
	free(x.vals);
	free(x.parent_text);
	free(x.trail);
	textbuf_clear(&x.st);
	idmap_free(x.accepted);
	return x.err ? -1 : r;
}
