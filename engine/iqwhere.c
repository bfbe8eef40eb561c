/*
 * iqwhere.c: where clauses to triple patterns, as the client compiles them
 * (instaql.ts makeWhere), including its quirks:
 *
 * - keys of one where map share variables, so 'todos.title' and
 *   'todos.done' must hold for the same todo, while the branches of an
 *   and/or get their own variables (suffix "-<i>") except the level's
 *   entity;
 * - $ne is $not, and $not also matches entities missing the attr (an or
 *   with one $isNull branch per prefix of the path);
 * - an operator map is read with a fixed precedence: $isNull first, then
 *   ($in/in, else $gt, $gte, $lt, $lte, $like, $ilike), then $not, then
 *   $in/in; a map with none of them, an object or an array matches nothing;
 * - on a reverse label only a string value (a linked id) can match;
 * - a missing attr makes the whole level empty; a path through an attr
 *   that is not a link is an error.  After a missing attr the other
 *   clauses are still compiled, only to report malformed ones.
 *
 * Patterns are then reordered greedily so that each one is looked up with
 * as many of its terms known as possible (the result is the same set: the
 * patterns form a conjunction).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/iq.h"
#include "engine/jsval.h"
#include "engine/tstore.h"

#define IQW_NOTFOUND 1
/* Patterns of one level at most: the search recurses once per pattern. */
#define IQW_MAX_PATTERNS 1024

/* A variable namer: the root names "?x-lvl"; a branch namer appends
 * "-<idx>" to every name but its join symbol. */
struct iqw_namer {
	const struct iqw_namer *base;
	const char *join_sym;
	size_t idx;
};

/* Compilation state of one level. */
struct iqw {
	struct iq_plan *plan;
	const struct attrs *as;
	char **errmsg;
	int notfound; /* a clause named a missing attr (checking goes on) */
	int npats;
};

/* Set *errmsg to "<path>: <msg>" and return -1. */
static int
iqw_error(struct iqw *w, const char *path, const char *msg)
{
	size_t n = strlen(path) + strlen(msg) + 3;

	if (w->errmsg != NULL && *w->errmsg == NULL &&
	    (*w->errmsg = malloc(n)) != NULL)
		snprintf(*w->errmsg, n, "%s: %s", path, msg);
	return -1;
}

/* Write the name of variable (x, lvl) under namer into buf. */
static void
iqw_name(const struct iqw_namer *nm, const char *x, int lvl, char *buf,
    size_t size)
{
	size_t len;

	if (nm == NULL) {
		snprintf(buf, size, "?%s-%d", x, lvl);
		return;
	}
	iqw_name(nm->base, x, lvl, buf, size);
	if (strcmp(buf, nm->join_sym) == 0)
		return;
	len = strlen(buf);
	snprintf(buf + len, size - len, "-%zu", nm->idx);
}

/* The index of the named variable, interning it: -1 on allocation
 * failure. */
static int
iqw_intern(struct iq_plan *p, const char *name)
{
	char **v;
	size_t i;

	for (i = 0; i < p->nvars; i++)
		if (strcmp(p->vars[i], name) == 0)
			return (int)i;
	if (p->nvars == p->capvars) {
		p->capvars = p->capvars ? p->capvars * 2 : 8;
		if ((v = realloc(p->vars, p->capvars * sizeof *v)) == NULL)
			return -1;
		p->vars = v;
	}
	if ((p->vars[p->nvars] = strdup(name)) == NULL)
		return -1;
	return (int)p->nvars++;
}

/* A variable term for (x, lvl) under namer. */
static int
iqw_var(struct iqw *w, const struct iqw_namer *nm, const char *x, int lvl,
    struct iq_term *t)
{
	char name[1024];

	iqw_name(nm, x, lvl, name, sizeof name);
	t->kind = IQ_T_VAR;
	if ((t->var = iqw_intern(w->plan, name)) < 0)
		return -1;
	return 0;
}

/* Append a zeroed pattern to list. */
static struct iq_pat *
iqw_push(struct iq_plist *l)
{
	struct iq_pat *v;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		if ((v = realloc(l->v, l->cap * sizeof *v)) == NULL)
			return NULL;
		l->v = v;
	}
	memset(&l->v[l->n], 0, sizeof l->v[0]);
	return &l->v[l->n++];
}

/* A new pattern in list, within the cap of one level: NULL on error
 * (*errmsg set). */
static struct iq_pat *
iqw_new(struct iqw *w, struct iq_plist *l, const char *path)
{
	struct iq_pat *p;

	if (++w->npats > IQW_MAX_PATTERNS) {
		iqw_error(w, path, "where clause too large");
		return NULL;
	}
	if ((p = iqw_push(l)) == NULL)
		iqw_error(w, path, "out of memory");
	return p;
}

/* Free what a term owns. */
static void
iqw_term_clear(struct iq_term *t)
{
	struct iq_args *a = t->args;
	size_t i;

	free(t->text);
	if (a != NULL) {
		free(a->not_text);
		for (i = 0; i < a->nin; i++)
			free(a->in[i]);
		free(a->in);
		json_decref(a->operand);
		jsval_like_free(a->like);
		free(a->needle);
		free(a);
	}
	memset(t, 0, sizeof *t);
}

static void iqw_list_clear(struct iq_plist *);

/* Free what a pattern owns. */
static void
iqw_pat_clear(struct iq_pat *p)
{
	size_t i;

	iqw_term_clear(&p->e);
	iqw_term_clear(&p->v);
	for (i = 0; i < p->nbranches; i++)
		iqw_list_clear(&p->branches[i]);
	free(p->branches);
}

/* Free a pattern list. */
static void
iqw_list_clear(struct iq_plist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		iqw_pat_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Release a compiled plan. */
void
iqwhere_plan_clear(struct iq_plan *p)
{
	size_t i;

	for (i = 0; i < p->nvars; i++)
		free(p->vars[i]);
	free(p->vars);
	iqw_list_clear(&p->pats);
	memset(p, 0, sizeof *p);
}

/* A ref attr for (etype, label), forward first: 0, IQW_NOTFOUND, or -1
 * when it is not a link. */
static int
iqw_ref_attr(struct iqw *w, const char *etype, const char *label,
    const char *path, const struct attr **out, int *forward)
{
	const struct attr *f = attrs_forward(w->as, etype, label);
	const struct attr *a = f != NULL ? f : attrs_reverse(w->as, etype,
	    label);

	if (a == NULL)
		return IQW_NOTFOUND;
	if (!a->is_ref || a->rev_etype == NULL)
		return iqw_error(w, path, "not a link");
	*out = a;
	*forward = f != NULL;
	return 0;
}

/* The link pattern from (etype, level) through label; *next_etype gets
 * the etype at level + 1. */
static int
iqw_ref_pat(struct iqw *w, const struct iqw_namer *nm, const char *etype,
    int level, const char *label, struct iq_plist *out,
    const char **next_etype, const char *path)
{
	const struct attr *a = NULL;
	struct iq_pat *p;
	int fwd = 0, r;

	if ((r = iqw_ref_attr(w, etype, label, path, &a, &fwd)) != 0)
		return r;
	if ((p = iqw_new(w, out, path)) == NULL)
		return -1;
	p->kind = IQ_P_TRIPLE;
	p->attr = a;
	if (iqw_var(w, nm, a->etype, fwd ? level : level + 1, &p->e) != 0 ||
	    iqw_var(w, nm, a->rev_etype, fwd ? level + 1 : level, &p->v) != 0)
		return iqw_error(w, path, "out of memory");
	*next_etype = fwd ? a->rev_etype : a->etype;
	return 0;
}

/* Whether v is an object with own property key. */
static int
iqw_has(const json_t *v, const char *key)
{
	return json_is_object(v) && json_object_get(v, key) != NULL;
}

/* Allocate the args of a term. */
static struct iq_args *
iqw_args(struct iq_term *t, enum iq_args_kind kind)
{
	t->kind = IQ_T_ARGS;
	if ((t->args = calloc(1, sizeof *t->args)) != NULL)
		t->args->kind = kind;
	return t->args;
}

/* The characters (code points) of a UTF-8 string, as JSON strings. */
static json_t *
iqw_chars(const char *s)
{
	json_t *arr = json_array();
	size_t n;

	for (; arr != NULL && *s != '\0'; s += n) {
		n = 1;
		while ((s[n] & 0xc0) == 0x80)
			n++;
		if (json_array_append_new(arr, json_stringn(s, n)) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* A $in list: the texts of its primitive items (objects never match). */
static int
iqw_in(struct iqw *w, const json_t *list, struct iq_term *t,
    const char *path)
{
	struct iq_args *a;
	json_t *chars;
	size_t i;
	char *s;
	int r;

	if (json_is_string(list)) {
		/* The client iterates a string: its characters. */
		if ((chars = iqw_chars(json_string_value(list))) == NULL)
			return iqw_error(w, path, "out of memory");
		r = iqw_in(w, chars, t, path);
		json_decref(chars);
		return r;
	}
	if (!json_is_array(list))
		return iqw_error(w, path, "$in needs an array");
	if ((a = iqw_args(t, IQ_A_IN)) == NULL ||
	    (a->in = calloc(json_array_size(list) + 1, sizeof *a->in)) == NULL)
		return iqw_error(w, path, "out of memory");
	for (i = 0; i < json_array_size(list); i++) {
		const json_t *x = json_array_get(list, i);
		if (json_is_object(x) || json_is_array(x))
			continue;
		if ((s = tstore_value_text(x)) == NULL)
			return iqw_error(w, path, "out of memory");
		a->in[a->nin++] = s;
	}
	return 0;
}

/* The operand map after the comparators: $not, then in/$in, else it can
 * match nothing. */
static int
iqw_not_or_in(struct iqw *w, const json_t *v, struct iq_term *t,
    const char *path)
{
	const json_t *x;
	struct iq_args *a;

	if (iqw_has(v, "$not")) {
		if ((a = iqw_args(t, IQ_A_NOT)) == NULL)
			return iqw_error(w, path, "out of memory");
		x = json_object_get(v, "$not");
		if (json_is_object(x) || json_is_array(x))
			return 0;
		if ((a->not_text = tstore_value_text(x)) == NULL)
			return iqw_error(w, path, "out of memory");
		return 0;
	}
	if (jsval_truthy(json_object_get(v, "in")))
		return iqw_in(w, json_object_get(v, "in"), t, path);
	if (jsval_truthy(json_object_get(v, "$in")))
		return iqw_in(w, json_object_get(v, "$in"), t, path);
	t->kind = IQ_T_NEVER;
	return 0;
}

static const char *const iqw_cmp_ops[] = { "$gt", "$gte", "$lt", "$lte" };

/* A comparator term ($gt/$gte/$lt/$lte/$like/$ilike) if v has one:
 * 1 if built, 0 if v has none, -1 on error. */
static int
iqw_comparator(struct iqw *w, const struct attr *attr, const json_t *v,
    struct iq_term *t, const char *path)
{
	struct iq_args *a;
	const json_t *pat;
	char needle[64];
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!iqw_has(v, iqw_cmp_ops[i]))
			continue;
		if ((a = iqw_args(t, IQ_A_CMP)) == NULL)
			return iqw_error(w, path, "out of memory");
		a->op = (enum iq_cmp_op)i;
		a->operand = json_incref(json_object_get(v, iqw_cmp_ops[i]));
		a->is_date = attr->checked_type != NULL &&
		    strcmp(attr->checked_type, "date") == 0;
		return 1;
	}
	for (i = 0; i < 2; i++) {
		if (!iqw_has(v, i == 0 ? "$like" : "$ilike"))
			continue;
		if ((a = iqw_args(t, IQ_A_LIKE)) == NULL)
			return iqw_error(w, path, "out of memory");
		pat = json_object_get(v, i == 0 ? "$like" : "$ilike");
		if (json_is_string(pat) &&
		    (a->like = jsval_like_create(json_string_value(pat),
			 i == 1)) == NULL)
			return iqw_error(w, path, "out of memory");
		if (a->like != NULL && jsval_like_needle(a->like, needle,
		    sizeof needle) > 0 && (a->needle = strdup(needle)) == NULL)
			return iqw_error(w, path, "out of memory");
		return 1;
	}
	return 0;
}

/* Whether a where value is a string starting with "?": the client's
 * pattern matcher takes it for a variable of that very name (it matches
 * any value, and the same name elsewhere must match the same value). */
static int
iqw_is_var_name(const json_t *v)
{
	return json_is_string(v) && json_string_value(v)[0] == '?';
}

/* A variable term of a given name. */
static int
iqw_named_var(struct iqw *w, const char *name, struct iq_term *t,
    const char *path)
{
	t->kind = IQ_T_VAR;
	if ((t->var = iqw_intern(w->plan, name)) < 0)
		return iqw_error(w, path, "out of memory");
	return 0;
}

/* The value term of a forward attr (the client's parseValue). */
static int
iqw_value(struct iqw *w, const struct attr *attr, const json_t *v,
    struct iq_term *t, const char *path)
{
	int r;

	if (json_is_null(v))
		return iqw_error(w, path, "null is not a valid value");
	if (json_is_array(v)) {
		t->kind = IQ_T_NEVER;
		return 0;
	}
	if (iqw_is_var_name(v))
		return iqw_named_var(w, json_string_value(v), t, path);
	if (!json_is_object(v)) {
		t->kind = IQ_T_CONST;
		if ((t->text = tstore_value_text(v)) == NULL)
			return iqw_error(w, path, "out of memory");
		return 0;
	}
	if (!iqw_has(v, "$in") && !iqw_has(v, "in")) {
		if ((r = iqw_comparator(w, attr, v, t, path)) != 0)
			return r < 0 ? -1 : 0;
	}
	return iqw_not_or_in(w, v, t, path);
}

/* The $isNull pattern [?x, id, {$isNull}] for attr a on (etype, level). */
static int
iqw_isnull_pat(struct iqw *w, const struct iqw_namer *nm, const char *etype,
    int level, const struct attr *a, int fwd, const json_t *isnull,
    struct iq_plist *out, const char *path)
{
	const struct attr *id = attrs_forward(w->as, etype, "id");
	struct iq_args *args;
	struct iq_pat *p;

	if (id == NULL)
		return IQW_NOTFOUND;
	if ((p = iqw_new(w, out, path)) == NULL)
		return -1;
	p->kind = IQ_P_TRIPLE;
	p->attr = id;
	if (iqw_var(w, nm, etype, level, &p->e) != 0 ||
	    (args = iqw_args(&p->v, IQ_A_ISNULL)) == NULL)
		return iqw_error(w, path, "out of memory");
	args->null_attr = a;
	args->want_null = jsval_truthy(isnull);
	args->reverse = !fwd;
	return 0;
}

/* The pattern for the last label of a path (the client's
 * valueAttrPat). */
static int
iqw_value_pat(struct iqw *w, const struct iqw_namer *nm, const char *etype,
    int level, const char *label, const json_t *v, struct iq_plist *out,
    const char *path)
{
	const struct attr *f = attrs_forward(w->as, etype, label);
	const struct attr *a = f != NULL ? f : attrs_reverse(w->as, etype,
	    label);
	struct iq_pat *p;

	if (a == NULL)
		return IQW_NOTFOUND;
	if (iqw_has(v, "$isNull"))
		return iqw_isnull_pat(w, nm, etype, level, a, f != NULL,
		    json_object_get(v, "$isNull"), out, path);
	if ((p = iqw_new(w, out, path)) == NULL)
		return -1;
	p->kind = IQ_P_TRIPLE;
	p->attr = a;
	if (f != NULL) {
		if (iqw_var(w, nm, etype, level, &p->e) != 0)
			return iqw_error(w, path, "out of memory");
		return iqw_value(w, a, v, &p->v, path);
	}
	/* Reverse label: [value, attr, ?x]; only an id string can match. */
	if (iqw_var(w, nm, etype, level, &p->v) != 0)
		return iqw_error(w, path, "out of memory");
	if (iqw_is_var_name(v))
		return iqw_named_var(w, json_string_value(v), &p->e, path);
	p->e.kind = json_is_string(v) ? IQ_T_CONST : IQ_T_NEVER;
	if (json_is_string(v) &&
	    (p->e.text = strdup(json_string_value(v))) == NULL)
		return iqw_error(w, path, "out of memory");
	return 0;
}

/* The patterns of one path: links for every label but the last, then the
 * value pattern (the client's whereCondAttrPats). */
static int
iqw_cond_pats(struct iqw *w, const struct iqw_namer *nm, const char *etype,
    int level, char **labels, size_t n, const json_t *v,
    struct iq_plist *out, const char *path)
{
	size_t i;
	int r;

	for (i = 0; i + 1 < n; i++, level++) {
		r = iqw_ref_pat(w, nm, etype, level, labels[i], out, &etype,
		    path);
		if (r != 0)
			return r;
	}
	return iqw_value_pat(w, nm, etype, level, labels[n - 1], v, out, path);
}

/* Allocate the branches of an or pattern. */
static int
iqw_or(struct iqw *w, struct iq_plist *out, size_t n, struct iq_pat **p,
    const char *path)
{
	if ((*p = iqw_new(w, out, path)) == NULL)
		return -1;
	if (((*p)->branches = calloc(n + 1, sizeof *(*p)->branches)) == NULL)
		return iqw_error(w, path, "out of memory");
	(*p)->kind = IQ_P_OR;
	(*p)->nbranches = n;
	return 0;
}

/* Add one $isNull:true branch per prefix of the path to or pattern p,
 * starting at branch first. */
static int
iqw_nil_branches(struct iqw *w, const struct iqw_namer *nm,
    const char *etype, int level, char **labels, size_t n, struct iq_pat *p,
    size_t first, const char *path)
{
	json_t *isnull = json_pack("{s:b}", "$isNull", 1);
	size_t i;
	int r = 0;

	if (isnull == NULL)
		return iqw_error(w, path, "out of memory");
	for (i = 1; i <= n && r == 0; i++)
		r = iqw_cond_pats(w, nm, etype, level, labels, i, isnull,
		    &p->branches[first + i - 1], path);
	json_decref(isnull);
	return r;
}

/* $ne / $not on a path: or(the $not pattern, nil branches). */
static int
iqw_not_pats(struct iqw *w, const struct iqw_namer *nm, const char *etype,
    int level, char **labels, size_t n, const json_t *v,
    struct iq_plist *out, const char *path)
{
	json_t *nv = json_deep_copy(v);
	struct iq_pat *p;
	int r = -1;

	if (nv == NULL)
		return iqw_error(w, path, "out of memory");
	if (iqw_has(nv, "$ne")) {
		json_object_set(nv, "$not", json_object_get(nv, "$ne"));
		json_object_del(nv, "$ne");
	}
	if (iqw_or(w, out, n + 1, &p, path) != 0)
		goto out;
	r = iqw_cond_pats(w, nm, etype, level, labels, n, nv, &p->branches[0],
	    path);
	if (r == 0)
		r = iqw_nil_branches(w, nm, etype, level, labels, n, p, 1, path);
out:
	json_decref(nv);
	return r;
}

/* Split a dotted key into labels (labels[0] owns the buffer). */
static char **
iqw_split(const char *key, size_t *n)
{
	char *buf = strdup(key), *s;
	char **labels;
	size_t i = 0, cap = 1;

	if (buf == NULL)
		return NULL;
	for (s = buf; *s != '\0'; s++)
		cap += *s == '.';
	if ((labels = calloc(cap, sizeof *labels)) == NULL) {
		free(buf);
		return NULL;
	}
	labels[i++] = buf;
	for (s = buf; *s != '\0'; s++) {
		if (*s == '.') {
			*s = '\0';
			labels[i++] = s + 1;
		}
	}
	*n = i;
	return labels;
}

static int iqw_where(struct iqw *, const struct iqw_namer *, const char *,
    int, const json_t *, struct iq_plist *, const char *);

/* One key of a where map that is a path. */
static int
iqw_path_clause(struct iqw *w, const struct iqw_namer *nm, const char *etype,
    int level, const char *key, const json_t *v, struct iq_plist *out,
    const char *path)
{
	struct iq_pat *p;
	char **labels;
	size_t n;
	int r;

	if ((labels = iqw_split(key, &n)) == NULL)
		return iqw_error(w, path, "out of memory");
	if (iqw_has(v, "$ne") || iqw_has(v, "$not"))
		r = iqw_not_pats(w, nm, etype, level, labels, n, v, out, path);
	else if (json_is_true(json_object_get(json_is_object(v) ? v : NULL,
		     "$isNull")) && n > 1) {
		r = iqw_or(w, out, n, &p, path);
		if (r == 0)
			r = iqw_nil_branches(w, nm, etype, level, labels, n, p,
			    0, path);
	} else
		r = iqw_cond_pats(w, nm, etype, level, labels, n, v, out, path);
	free(labels[0]);
	free(labels);
	return r;
}

/* An and/or clause: each branch gets its own namer. */
static int
iqw_branches(struct iqw *w, const struct iqw_namer *nm, const char *etype,
    int level, const char *key, const json_t *v, struct iq_plist *out,
    const char *path)
{
	struct iqw_namer sub = { nm, NULL, 0 };
	char join_sym[1024], bpath[1100];
	struct iq_pat *p = NULL;
	int is_or = strcmp(key, "or") == 0, r = 0;
	size_t i;

	iqw_name(nm, etype, level, join_sym, sizeof join_sym);
	sub.join_sym = join_sym;
	if (is_or && iqw_or(w, out, json_array_size(v), &p, path) != 0)
		return -1;
	for (i = 0; i < json_array_size(v) && r == 0; i++) {
		snprintf(bpath, sizeof bpath, "%s.%zu", path, i);
		sub.idx = i;
		/* An and is the concatenation of its branches. */
		r = iqw_where(w, &sub, etype, level, json_array_get(v, i),
		    is_or ? &p->branches[i] : out, bpath);
	}
	return r;
}

/* Compile one where map into out (the client's parseWhere). */
static int
iqw_where(struct iqw *w, const struct iqw_namer *nm, const char *etype,
    int level, const json_t *where, struct iq_plist *out, const char *path)
{
	char kpath[1024];
	const char *key;
	json_t *v;
	int r;

	if (!json_is_object(where))
		return iqw_error(w, path, "where must be an object");
	json_object_foreach((json_t *)where, key, v) {
		snprintf(kpath, sizeof kpath, "%s.%s", path, key);
		if ((strcmp(key, "or") == 0 || strcmp(key, "and") == 0)) {
			if (!json_is_array(v))
				return iqw_error(w, kpath, "must be an array");
			r = iqw_branches(w, nm, etype, level, key, v, out,
			    kpath);
		} else if (strcmp(key, "$entityIdStartsWith") == 0)
			r = 0;
		else
			r = iqw_path_clause(w, nm, etype, level, key, v, out,
			    kpath);
		if (r == IQW_NOTFOUND)
			w->notfound = 1;
		else if (r != 0)
			return r;
	}
	return 0;
}

/* The join pattern with the parent: the link, with the parent's variable
 * replaced by the parent entity. */
static int
iqw_join_pat(struct iqw *w, int level, const struct iq_join *j,
    const char *path)
{
	struct iq_pat *p = iqw_new(w, &w->plan->pats, path);

	if (p == NULL)
		return -1;
	p->kind = IQ_P_TRIPLE;
	p->attr = j->attr;
	if (j->forward) {
		p->e.kind = IQ_T_PARENT;
		return iqw_var(w, NULL, j->attr->rev_etype, level, &p->v);
	}
	p->v.kind = IQ_T_PARENT;
	return iqw_var(w, NULL, j->attr->etype, level, &p->e);
}

/* The level's id pattern [?x, id, ?x]. */
static int
iqw_eid_pat(struct iqw *w, const char *etype, int level, const char *path)
{
	const struct attr *id = attrs_primary(w->as, etype);
	struct iq_pat *p;

	if (id == NULL)
		return IQW_NOTFOUND;
	if ((p = iqw_new(w, &w->plan->pats, path)) == NULL)
		return -1;
	p->kind = IQ_P_TRIPLE;
	p->attr = id;
	p->is_eid = 1;
	if (iqw_var(w, NULL, etype, level, &p->e) != 0)
		return iqw_error(w, path, "out of memory");
	p->v = p->e;
	w->plan->main_var = p->e.var;
	w->plan->eid_attr = id;
	return 0;
}

/*
 * Reordering.  cost() estimates a lookup given the variables bound so far;
 * the cheapest pattern goes next.  Only performance depends on it.
 */

/* Whether a term is known before the lookup. */
static int
iqw_known(const struct iq_term *t, const char *bound)
{
	return t->kind == IQ_T_CONST || t->kind == IQ_T_PARENT ||
	    (t->kind == IQ_T_VAR && bound[t->var]);
}

/* The estimated cost of looking p up. */
static int
iqw_cost(const struct iq_pat *p, const char *bound, int main_var)
{
	int ek, vk;

	if (p->kind == IQ_P_OR)
		return bound[main_var] ? 1 : 6;
	ek = iqw_known(&p->e, bound) || p->e.kind == IQ_T_NEVER;
	vk = iqw_known(&p->v, bound) || p->v.kind == IQ_T_NEVER;
	if (ek)
		return vk ? 0 : 1;
	if (vk)
		return 2;
	if (p->v.kind == IQ_T_ARGS && p->v.args->kind == IQ_A_IN)
		return 3;
	/* A filtered scan before a plain one: it narrows what follows. */
	return p->v.kind == IQ_T_ARGS ? 4 : 5;
}

/* Mark the variables p binds. */
static void
iqw_bind(const struct iq_pat *p, char *bound)
{
	if (p->kind != IQ_P_TRIPLE)
		return;
	if (p->e.kind == IQ_T_VAR)
		bound[p->e.var] = 1;
	if (p->v.kind == IQ_T_VAR)
		bound[p->v.var] = 1;
}

static void iqw_reorder(struct iq_plist *, size_t, size_t, char *, size_t,
    int);

/* Reorder the branches of an or pattern, each from the same bindings. */
static void
iqw_reorder_or(struct iq_pat *p, const char *bound, size_t nvars,
    int main_var)
{
	char *b = malloc(nvars + 1);
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < p->nbranches; i++) {
		memcpy(b, bound, nvars);
		iqw_reorder(&p->branches[i], 0, p->branches[i].n, b, nvars,
		    main_var);
	}
	free(b);
}

/* Greedily reorder l->v[from..to). */
static void
iqw_reorder(struct iq_plist *l, size_t from, size_t to, char *bound,
    size_t nvars, int main_var)
{
	struct iq_pat tmp;
	size_t i, j, best;
	int c, bc;

	for (i = from; i < to; i++) {
		best = i;
		bc = iqw_cost(&l->v[i], bound, main_var);
		for (j = i + 1; j < to; j++) {
			c = iqw_cost(&l->v[j], bound, main_var);
			if (c < bc) {
				bc = c;
				best = j;
			}
		}
		tmp = l->v[best];
		memmove(&l->v[i + 1], &l->v[i], (best - i) * sizeof tmp);
		l->v[i] = tmp;
		if (tmp.kind == IQ_P_OR)
			iqw_reorder_or(&l->v[i], bound, nvars, main_var);
		iqw_bind(&l->v[i], bound);
	}
}

/* Compile a level. */
int
iqwhere_plan(struct iq_plan *plan, const struct attrs *as, const char *etype,
    int level, const json_t *where, const struct iq_join *join,
    const char *path, char **errmsg)
{
	struct iqw w = { plan, as, errmsg, 0, 0 };
	char wpath[1024];
	char *bound;
	size_t first;
	int r;

	memset(plan, 0, sizeof *plan);
	if (errmsg != NULL)
		*errmsg = NULL;
	snprintf(wpath, sizeof wpath, "%s.$.where", path);
	r = join != NULL ? iqw_join_pat(&w, level, join, path) : 0;
	if (r == 0 && where != NULL && !json_is_null(where))
		r = iqw_where(&w, NULL, etype, level, where, &plan->pats, wpath);
	if (r == 0)
		r = iqw_eid_pat(&w, etype, level, path);
	if (r == IQW_NOTFOUND || (r == 0 && w.notfound)) {
		plan->notfound = 1;
		return 0;
	}
	if (r != 0)
		return -1;
	if ((bound = calloc(plan->nvars + 1, 1)) == NULL)
		return iqw_error(&w, path, "out of memory");
	first = join != NULL ? 1 : 0;
	if (join != NULL)
		iqw_bind(&plan->pats.v[0], bound);
	iqw_reorder(&plan->pats, first, plan->pats.n - 1, bound, plan->nvars,
	    plan->main_var);
	free(bound);
	return 0;
}
