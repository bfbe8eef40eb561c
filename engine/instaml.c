/*
 * instaml.c: InstaML steps -> Instant tx-steps.
 *
 * The compile mirrors the official client's instaml.transform in four
 * passes over the ops, so that the output is step for step what the JS
 * client would send:
 *
 *  1. parse: check every step's shape and normalise entities and link
 *     targets to a UUID string or a lookup pair [label, value];
 *  2. lookup attrs: attrs named by lookups are created first (unique and
 *     indexed), so that a later field of the same name does not create a
 *     non-unique one;
 *  3. field and link attrs: an id attr per touched namespace, a blob attr
 *     per new field, a ref attr per new link label; attrs already known
 *     but still unsynced are re-emitted;
 *  4. expand: each op becomes its tx-steps against the registry plus the
 *     attrs created in 2-3.
 *
 * The caller's registry is only read; attrs created here live in a
 * private registry for the rest of the compile.
 * Object keys are visited in JavaScript's Object.keys order (integer-like
 * keys first, ascending) because that is the order the JS client emits.
 */
#include "config.h"

#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/attrs.h"
#include "engine/instaml.h"
#include "engine/tstore.h"
#include "proto/jsontext.h"
#include "proto/uuid.h"

/* One parsed InstaML op. */
struct mlop {
	const char *action;
	const char *etype;
	json_t *eid;   /* UUID string or lookup pair [label, value] */
	json_t *args;  /* object with normalised link targets, or NULL */
	json_t *opts;  /* borrowed, or NULL */
	json_t *links; /* link/unlink: label -> array of targets */
};

/* The state of one compile. */
struct ml {
	const struct attrs *attrs; /* the caller's registry */
	struct attrs *local;	   /* attrs created by this compile */
	struct tstore *view;	   /* may be NULL */
	struct mlop *ops;
	size_t nops;
	size_t idx;	   /* the op being worked on, for messages */
	json_t *add_steps; /* add-attr steps */
	json_t *created;   /* attrs created */
	json_t *emitted;   /* ids of attrs with an add-attr step */
	json_t *steps;	   /* the ops' steps */
	json_t *assigned;  /* "<e> <a>" -> value set earlier in this tx */
	int flags;	   /* INSTAML_* */
	char *err;
};

static const char *const ml_actions[] = {
    "create", "update", "merge", "delete", "link", "unlink", "ruleParams",
};

/* Record the first error of the compile, prefixed with the step index. */
static int __attribute__((format(printf, 2, 3)))
ml_fail(struct ml *ml, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	if (ml->err != NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL || asprintf(&ml->err, "step %zu: %s", ml->idx, msg) < 0)
		ml->err = NULL;
	free(msg);
	return -1;
}

/* Whether action is one of the InstaML actions. */
static int
ml_is_action(const char *action)
{
	size_t i;

	for (i = 0; i < sizeof ml_actions / sizeof ml_actions[0]; i++)
		if (strcmp(action, ml_actions[i]) == 0)
			return 1;
	return 0;
}

/* Whether action is one of the comma-separated names in set. */
static int
ml_in(const char *action, const char *set)
{
	size_t n = strlen(action);
	const char *p = set;

	while ((p = strstr(p, action)) != NULL) {
		if ((p == set || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Whether key is a JavaScript array index ("0".."4294967294"). */
static int
ml_js_index(const char *key, unsigned long long *out)
{
	unsigned long long n = 0;
	const char *p;

	if (key[0] == '\0' || (key[0] == '0' && key[1] != '\0'))
		return 0;
	for (p = key; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - key > 10)
			return 0;
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	if (n >= 4294967295ULL)
		return 0;
	*out = n;
	return 1;
}

/* Order of two array-index keys, for qsort. */
static int
ml_index_cmp(const void *a, const void *b)
{
	unsigned long long x = 0, y = 0;

	ml_js_index(*(const char *const *)a, &x);
	ml_js_index(*(const char *const *)b, &y);
	return x < y ? -1 : x > y;
}

/* The keys of obj in Object.keys order, as a new array of strings. */
static json_t *
ml_js_keys(const json_t *obj)
{
	const char **idx = NULL;
	json_t *keys = json_array(), *v;
	unsigned long long n;
	size_t ni = 0, i;
	const char *k;

	if (keys == NULL ||
	    (idx = calloc(json_object_size(obj) + 1, sizeof *idx)) == NULL)
		goto fail;
	json_object_foreach((json_t *)obj, k, v) {
		if (ml_js_index(k, &n))
			idx[ni++] = k;
	}
	qsort(idx, ni, sizeof *idx, ml_index_cmp);
	for (i = 0; i < ni; i++)
		if (json_array_append_new(keys, json_string(idx[i])) != 0)
			goto fail;
	json_object_foreach((json_t *)obj, k, v) {
		if (!ml_js_index(k, &n) &&
		    json_array_append_new(keys, json_string(k)) != 0)
			goto fail;
	}
	free(idx);
	return keys;
fail:
	free(idx);
	json_decref(keys);
	return NULL;
}

/* ---- pass 1: parse ---- */

/* Parse "lookup__<label>__<json>" into a new pair [label, value]. */
static json_t *
ml_parse_lookup_string(const char *s)
{
	const char *label = s + strlen("lookup__"), *sep;
	json_t *value, *pair;
	char *name;

	if ((sep = strstr(label, "__")) == NULL)
		return NULL;
	if ((value = json_loads(sep + 2, JSON_DECODE_ANY, NULL)) == NULL)
		return NULL;
	if ((name = strndup(label, (size_t)(sep - label))) == NULL) {
		json_decref(value);
		return NULL;
	}
	pair = json_pack("[so]", name, value);
	free(name);
	return pair;
}

/* Normalise an entity reference: a UUID (lower-cased), a lookup string or
 * a [label, value] pair.  New reference, or NULL with an error. */
static json_t *
ml_parse_ref(struct ml *ml, const json_t *ref, const char *what)
{
	char id[UUID_STRLEN + 1];
	const char *s = json_string_value(ref);
	json_t *pair;

	if (s != NULL && strncmp(s, "lookup__", 8) == 0) {
		if ((pair = ml_parse_lookup_string(s)) == NULL)
			ml_fail(ml, "%s: malformed lookup \"%s\"", what, s);
		return pair;
	}
	if (s != NULL) {
		if (uuid_normalize(s, id) != 0) {
			ml_fail(ml, "%s: \"%s\" is not a UUID", what, s);
			return NULL;
		}
		return json_string(id);
	}
	if (json_is_array(ref) && json_array_size(ref) == 2 &&
	    json_is_string(json_array_get(ref, 0)))
		return json_copy((json_t *)ref);
	ml_fail(ml, "%s: must be a UUID or a lookup [label, value]", what);
	return NULL;
}

/* Normalise the targets of one link label into a new array. */
static json_t *
ml_parse_targets(struct ml *ml, const char *label, const json_t *v)
{
	json_t *out = json_array(), *t, *ref;
	char what[64];
	size_t i;

	snprintf(what, sizeof what, "link \"%.40s\"", label);
	if (out == NULL)
		return NULL;
	if (!json_is_array(v)) {
		if ((ref = ml_parse_ref(ml, v, what)) == NULL ||
		    json_array_append_new(out, ref) != 0)
			goto fail;
		return out;
	}
	json_array_foreach(v, i, t) {
		if (!json_is_string(t)) {
			ml_fail(ml,
				"%s: targets must be UUIDs or lookup "
				"strings",
				what);
			goto fail;
		}
		if ((ref = ml_parse_ref(ml, t, what)) == NULL ||
		    json_array_append_new(out, ref) != 0)
			goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* Normalise link/unlink args into op->links (label -> targets). */
static int
ml_parse_links(struct ml *ml, struct mlop *op)
{
	json_t *v, *targets;
	const char *label;

	if ((op->links = json_object()) == NULL)
		return -1;
	json_object_foreach(op->args, label, v) {
		if ((targets = ml_parse_targets(ml, label, v)) == NULL)
			return -1;
		if (json_object_set_new(op->links, label, targets) != 0)
			return -1;
	}
	return 0;
}

/* Check the field values of create/update/merge. */
static int
ml_check_fields(struct ml *ml, const struct mlop *op)
{
	const json_t *inc;
	const char *label;
	json_t *v;

	json_object_foreach(op->args, label, v) {
		inc = json_object_get(v, "$increment");
		if (inc == NULL)
			continue;
		if (strcmp(op->action, "create") == 0)
			return ml_fail(ml,
				       "field \"%s\": $increment needs "
				       "update or merge",
				       label);
		if (!json_is_number(inc) || json_object_size(v) != 1)
			return ml_fail(ml,
				       "field \"%s\": $increment must be "
				       "the only key and a number",
				       label);
	}
	return 0;
}

/* Check and normalise the args and opts of one op. */
static int
ml_parse_args(struct ml *ml, struct mlop *op, const json_t *args,
	      const json_t *opts)
{
	const json_t *upsert;

	if (opts != NULL && !json_is_null(opts)) {
		if (!json_is_object(opts))
			return ml_fail(ml, "opts: must be an object");
		upsert = json_object_get(opts, "upsert");
		if (upsert != NULL && !json_is_boolean(upsert))
			return ml_fail(ml, "opts: upsert must be a boolean");
		op->opts = (json_t *)opts;
	}
	if (strcmp(op->action, "delete") == 0)
		return 0;
	if (!json_is_object(args))
		return ml_fail(ml, "args: %s needs an object", op->action);
	if ((op->args = json_copy((json_t *)args)) == NULL)
		return -1;
	if (ml_in(op->action, "link,unlink"))
		return ml_parse_links(ml, op);
	if (ml_in(op->action, "create,update,merge"))
		return ml_check_fields(ml, op);
	return 0;
}

/* Parse one step into op. */
static int
ml_parse_op(struct ml *ml, const json_t *step, struct mlop *op)
{
	size_t n = json_array_size(step);

	if (!json_is_array(step) || n < 3 || n > 5)
		return ml_fail(ml, "must be [action, namespace, entity, args?, "
				   "opts?]");
	op->action = json_string_value(json_array_get(step, 0));
	if (op->action == NULL || !ml_is_action(op->action))
		return ml_fail(ml, "action: unknown action");
	op->etype = json_string_value(json_array_get(step, 1));
	if (op->etype == NULL || op->etype[0] == '\0')
		return ml_fail(ml, "namespace: must be a non-empty string");
	op->eid = ml_parse_ref(ml, json_array_get(step, 2), "entity");
	if (op->eid == NULL)
		return -1;
	return ml_parse_args(ml, op, json_array_get(step, 3),
			     json_array_get(step, 4));
}

/* Parse every step. */
static int
ml_parse(struct ml *ml, const json_t *steps)
{
	size_t i;

	if (!json_is_array(steps)) {
		ml->idx = 0;
		return ml_fail(ml, "steps must be an array");
	}
	ml->nops = json_array_size(steps);
	if ((ml->ops = calloc(ml->nops + 1, sizeof *ml->ops)) == NULL)
		return -1;
	for (i = 0; i < ml->nops; i++) {
		ml->idx = i;
		if (ml_parse_op(ml, json_array_get(steps, i), &ml->ops[i]))
			return -1;
	}
	return 0;
}

/* ---- attr lookups over the registry and this compile's attrs ---- */

/* The attr with forward identity (etype, label). */
static const struct attr *
ml_fwd(const struct ml *ml, const char *etype, const char *label)
{
	const struct attr *a = attrs_forward(ml->attrs, etype, label);

	return a != NULL ? a : attrs_forward(ml->local, etype, label);
}

/* The attr with reverse identity (etype, label). */
static const struct attr *
ml_rev(const struct ml *ml, const char *etype, const char *label)
{
	const struct attr *a = attrs_reverse(ml->attrs, etype, label);

	return a != NULL ? a : attrs_reverse(ml->local, etype, label);
}

/* The attr with this id. */
static const struct attr *
ml_by_id(const struct ml *ml, const char *id)
{
	const struct attr *a = attrs_by_id(ml->attrs, id);

	return a != NULL ? a : attrs_by_id(ml->local, id);
}

/* ---- passes 2 and 3: attrs ---- */

/* Emit an add-attr step for attr unless one was emitted already. */
static int
ml_emit_attr(struct ml *ml, const json_t *attr)
{
	const char *id = json_string_value(json_object_get(attr, "id"));

	if (json_object_get(ml->emitted, id) != NULL)
		return 0;
	if (json_object_set_new(ml->emitted, id, json_true()) != 0)
		return -1;
	return json_array_append_new(ml->add_steps,
				     json_pack("[sO]", "add-attr", attr));
}

/* Re-emit a known attr that the server has not confirmed yet. */
static int
ml_add_unsynced(struct ml *ml, const struct attr *a)
{
	if (a == NULL || !json_is_true(json_object_get(a->json, "isUnsynced")))
		return 0;
	if ((ml->flags & INSTAML_OMIT_KNOWN_ATTRS) &&
	    attrs_by_id(ml->attrs, a->id) != NULL)
		return 0;
	return ml_emit_attr(ml, a->json);
}

/* Register and emit a new attr (reference stolen). */
static int
ml_add_new(struct ml *ml, json_t *attr)
{
	int r = -1;

	if (attr == NULL)
		return -1;
	if (attrs_put(ml->local, attr, NULL) != 0 ||
	    json_array_append(ml->created, attr) != 0 ||
	    ml_emit_attr(ml, attr) != 0)
		goto out;
	r = 0;
out:
	json_decref(attr);
	return r;
}

/* A new identity [uuid, etype, label]. */
static json_t *
ml_ident(const char *etype, const char *label)
{
	char id[UUID_STRLEN + 1];

	if (uuid_v4(id) != 0)
		return NULL;
	return json_pack("[sss]", id, etype, label);
}

/* A new blob attr, as createObjectAttr builds it. */
static json_t *
ml_object_attr(const char *etype, const char *label, int unique, int index)
{
	char id[UUID_STRLEN + 1];

	if (uuid_v4(id) != 0)
		return NULL;
	return json_pack("{s:s, s:o, s:s, s:s, s:b, s:b, s:b}", "id", id,
			 "forward-identity", ml_ident(etype, label),
			 "value-type", "blob", "cardinality", "one", "unique?",
			 unique, "index?", index, "isUnsynced", 1);
}

/* A new ref attr, as createRefAttr builds it; lookup adds the ref-lookup
 * props (unique, indexed, cardinality one). */
static json_t *
ml_ref_attr(const char *etype, const char *label, int lookup)
{
	char id[UUID_STRLEN + 1];

	if (uuid_v4(id) != 0)
		return NULL;
	return json_pack("{s:s, s:o, s:o, s:s, s:s, s:b, s:b, s:b}", "id", id,
			 "forward-identity", ml_ident(etype, label),
			 "reverse-identity", ml_ident(label, etype),
			 "value-type", "ref", "cardinality",
			 lookup ? "one" : "many", "unique?", lookup, "index?",
			 lookup, "isUnsynced", 1);
}

/* Whether ident names a ref lookup "<link>.id" (no attr of that name). */
static int
ml_is_ref_lookup(const struct ml *ml, const char *etype, const char *ident)
{
	return strchr(ident, '.') != NULL && ml_fwd(ml, etype, ident) == NULL;
}

/* The link label of a ref lookup "<link>.id" into buf, or an error. */
static int
ml_ref_lookup_label(struct ml *ml, const char *ident, char *buf, size_t len)
{
	const char *dot = strchr(ident, '.');

	if (strcmp(dot, ".id") != 0 || (size_t)(dot - ident) >= len)
		return ml_fail(ml, "%s is not a valid lookup attribute.",
			       ident);
	memcpy(buf, ident, (size_t)(dot - ident));
	buf[dot - ident] = '\0';
	return 0;
}

/* Ensure the ref attr of a ref lookup on (etype, label) exists. */
static int
ml_add_for_ref(struct ml *ml, const char *etype, const char *label)
{
	const struct attr *fwd = ml_fwd(ml, etype, label);
	const struct attr *rev = ml_rev(ml, etype, label);

	if (ml_add_unsynced(ml, fwd) != 0 || ml_add_unsynced(ml, rev) != 0)
		return -1;
	if (fwd == NULL && rev == NULL)
		return ml_add_new(ml, ml_ref_attr(etype, label, 1));
	return 0;
}

/* Ensure the attr a lookup on (etype, ident) needs exists. */
static int
ml_add_lookup_attr(struct ml *ml, const char *etype, const char *ident)
{
	const struct attr *a;
	char label[256];

	if (ml_is_ref_lookup(ml, etype, ident)) {
		if (ml_ref_lookup_label(ml, ident, label, sizeof label) != 0)
			return -1;
		return ml_add_for_ref(ml, etype, label);
	}
	if ((a = ml_fwd(ml, etype, ident)) == NULL)
		return ml_add_new(ml, ml_object_attr(etype, ident, 1, 1));
	return ml_add_unsynced(ml, a);
}

/* The etype at the other end of link label on etype. */
static const char *
ml_link_etype(const struct ml *ml, const char *etype, const char *label)
{
	const struct attr *fwd = ml_fwd(ml, etype, label);
	const struct attr *rev = ml_rev(ml, etype, label);

	if (fwd != NULL && fwd->rev_etype != NULL)
		return fwd->rev_etype;
	if (rev != NULL)
		return rev->etype;
	return label;
}

/* Ensure the attrs of a lookup used as a link target exist. */
static int
ml_add_link_lookup(struct ml *ml, const char *etype, const char *label,
		   const char *ident)
{
	if (ml_add_for_ref(ml, etype, label) != 0 ||
	    ml_add_unsynced(ml, ml_fwd(ml, etype, label)) != 0 ||
	    ml_add_unsynced(ml, ml_rev(ml, etype, label)) != 0)
		return -1;
	return ml_add_lookup_attr(ml, ml_link_etype(ml, etype, label), ident);
}

/* Pass 2: the attrs of every lookup of one op. */
static int
ml_lookup_attrs_of(struct ml *ml, const struct mlop *op)
{
	const char *ident = json_string_value(json_array_get(op->eid, 0));
	json_t *keys, *k, *t;
	const char *label;
	size_t i, j;
	int r = -1;

	if (ident != NULL && ml_add_lookup_attr(ml, op->etype, ident) != 0)
		return -1;
	if (strcmp(op->action, "link") != 0)
		return 0;
	if ((keys = ml_js_keys(op->links)) == NULL)
		return -1;
	json_array_foreach(keys, i, k) {
		label = json_string_value(k);
		json_array_foreach(json_object_get(op->links, label), j, t) {
			if (json_is_array(t) &&
			    ml_add_link_lookup(
				ml, op->etype, label,
				json_string_value(json_array_get(t, 0))) != 0)
				goto out;
		}
	}
	r = 0;
out:
	json_decref(keys);
	return r;
}

/* Pass 3 for one label of one op. */
static int
ml_field_attr(struct ml *ml, const struct mlop *op, const char *label)
{
	const struct attr *fwd = ml_fwd(ml, op->etype, label), *rev;

	if (ml_add_unsynced(ml, fwd) != 0)
		return -1;
	if (ml_in(op->action, "create,update,merge") && fwd == NULL)
		return ml_add_new(ml,
				  ml_object_attr(op->etype, label,
						 strcmp(label, "id") == 0, 0));
	if (!ml_in(op->action, "link,unlink"))
		return 0;
	rev = ml_rev(ml, op->etype, label);
	if (fwd == NULL && rev == NULL)
		return ml_add_new(ml, ml_ref_attr(op->etype, label, 0));
	return ml_add_unsynced(ml, rev);
}

/* Pass 3 for one op: its id attr, then one attr per key of its args. */
static int
ml_field_attrs_of(struct ml *ml, const struct mlop *op)
{
	const struct attr *id;
	json_t *keys, *k;
	size_t i;
	int r = -1;

	if (!ml_in(op->action, "create,update,merge,link,unlink"))
		return 0;
	id = ml_fwd(ml, op->etype, "id");
	if (ml_add_unsynced(ml, id) != 0)
		return -1;
	if (id == NULL &&
	    ml_add_new(ml, ml_object_attr(op->etype, "id", 1, 0)) != 0)
		return -1;
	if ((keys = ml_js_keys(op->args)) == NULL)
		return -1;
	json_array_foreach(keys, i, k) {
		if (ml_field_attr(ml, op, json_string_value(k)) != 0)
			goto out;
	}
	r = 0;
out:
	json_decref(keys);
	return r;
}

/* Passes 2 and 3 over all ops. */
static int
ml_missing_attrs(struct ml *ml)
{
	for (ml->idx = 0; ml->idx < ml->nops; ml->idx++)
		if (ml_lookup_attrs_of(ml, &ml->ops[ml->idx]) != 0)
			return -1;
	for (ml->idx = 0; ml->idx < ml->nops; ml->idx++)
		if (ml_field_attrs_of(ml, &ml->ops[ml->idx]) != 0)
			return -1;
	return 0;
}

/* ---- pass 4: expand ---- */

/* The attr a lookup ident on etype refers to (extractLookup rules). */
static const struct attr *
ml_lookup_attr(struct ml *ml, const char *etype, const char *ident)
{
	const struct attr *a;
	char label[256];

	if (!ml_is_ref_lookup(ml, etype, ident))
		a = ml_fwd(ml, etype, ident);
	else {
		if (ml_ref_lookup_label(ml, ident, label, sizeof label) != 0)
			return NULL;
		if ((a = ml_fwd(ml, etype, label)) == NULL)
			a = ml_rev(ml, etype, label);
		if (a != NULL && !a->is_ref) {
			ml_fail(ml,
				"%s does not reference a valid link "
				"attribute.",
				ident);
			return NULL;
		}
	}
	if (a == NULL || !a->unique) {
		ml_fail(ml, "%s is not a unique attribute.", ident);
		return NULL;
	}
	return a;
}

/* An entity ref as it appears in tx-steps: the UUID, or [attrId, value].
 * New reference, or NULL. */
static json_t *
ml_ref(struct ml *ml, const char *etype, const json_t *ref)
{
	const struct attr *a;

	if (!json_is_array(ref))
		return json_incref((json_t *)ref);
	a = ml_lookup_attr(ml, etype,
			   json_string_value(json_array_get(ref, 0)));
	if (a == NULL)
		return NULL;
	return json_pack("[sO]", a->id, json_array_get(ref, 1));
}

/* Collects whether a scanned triple belongs to etype. */
struct ml_known {
	struct ml *ml;
	const char *etype;
};

/* Scan callback: stop at a triple on an attr of the wanted etype. */
static int
ml_known_cb(void *arg, const struct triple *t)
{
	struct ml_known *k = arg;
	const struct attr *a = ml_by_id(k->ml, t->a);

	return a != NULL && strcmp(a->etype, k->etype) == 0;
}

/* Scan callback: stop at the first triple. */
static int
ml_any_cb(void *arg, const struct triple *t)
{
	return 1;
}

/* Whether the entity is in the view (convertOpts' checkEntityExists). */
static int
ml_entity_known(struct ml *ml, const char *etype, const json_t *e)
{
	struct ml_known k = {ml, etype};
	const json_t *v = json_array_get(e, 1);
	char *text;
	int r;

	if (ml->view == NULL)
		return 0;
	if (json_is_string(e))
		return tstore_scan_e(ml->view, json_string_value(e),
				     ml_known_cb, &k) == 1;
	/* The JS client compares with ===: objects never match. */
	if (json_is_object(v) || json_is_array(v))
		return 0;
	if ((text = tstore_value_text(v)) == NULL)
		return 0;
	r = tstore_scan_av(ml->view, json_string_value(json_array_get(e, 0)),
			   text, ml_any_cb, NULL) == 1;
	free(text);
	return r;
}

/* The mode options of an update or merge (convertOpts): new reference or
 * NULL for none. */
static json_t *
ml_mode_opts(struct ml *ml, const struct mlop *op, const json_t *e)
{
	const json_t *upsert = json_object_get(op->opts, "upsert");

	if (json_is_false(upsert))
		return json_pack("{ss}", "mode", "update");
	if (json_is_true(upsert))
		return NULL;
	if (ml_entity_known(ml, op->etype, e))
		return json_pack("{ss}", "mode", "update");
	return NULL;
}

/* Append [op, e, a, v, opts?] to the output. */
static int
ml_step(struct ml *ml, const char *op, const json_t *e, const char *a,
	const json_t *v, const json_t *opts)
{
	json_t *s = json_pack("[sOsO]", op, e, a, v);

	if (s == NULL)
		return -1;
	if (opts != NULL && json_array_append(s, (json_t *)opts) != 0) {
		json_decref(s);
		return -1;
	}
	return json_array_append_new(ml->steps, s);
}

/* Key of (e, a) in ml->assigned, into buf. */
static const char *
ml_assigned_key(const json_t *e, const char *a, char *buf, size_t len)
{
	char *text = jsontext_dump(e, 0, NULL);

	snprintf(buf, len, "%s %s", text != NULL ? text : "", a);
	free(text);
	return buf;
}

/* Scan callback: keep the value text of the first triple. */
static int
ml_value_cb(void *arg, const struct triple *t)
{
	char **v = arg;

	*v = strdup(t->v);
	return 1;
}

/* The entity id a tx-steps entity ref designates in the view, or NULL. */
static char *
ml_resolve(struct ml *ml, const json_t *e)
{
	char *text, *id = NULL;

	if (json_is_string(e))
		return strdup(json_string_value(e));
	if (ml->view == NULL ||
	    (text = tstore_value_text(json_array_get(e, 1))) == NULL)
		return NULL;
	tstore_scan_av(ml->view, json_string_value(json_array_get(e, 0)), text,
		       ml_value_cb, &id);
	free(text);
	return id;
}

/* The current number of (e, attr) for $increment, 0 when missing. */
static int
ml_current_number(struct ml *ml, const json_t *e, const char *a, double *out)
{
	char key[512], *eid, *text = NULL;
	const json_t *v;
	json_t *parsed = NULL;
	int r = -1;

	*out = 0;
	v = json_object_get(ml->assigned,
			    ml_assigned_key(e, a, key, sizeof key));
	if (v == NULL && ml->view != NULL &&
	    (eid = ml_resolve(ml, e)) != NULL) {
		tstore_scan_ea(ml->view, eid, a, ml_value_cb, &text);
		free(eid);
		if (text != NULL)
			v = parsed = json_loads(text, JSON_DECODE_ANY, NULL);
	}
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_number(v))
			goto out;
		*out = json_number_value(v);
	}
	r = 0;
out:
	free(text);
	json_decref(parsed);
	return r;
}

/* The value to send for a field: $increment resolved, else as given.
 * New reference, or NULL with an error. */
static json_t *
ml_field_value(struct ml *ml, const json_t *e, const char *label, const char *a,
	       const json_t *v)
{
	const json_t *inc = json_object_get(v, "$increment");
	double cur, sum;

	if (inc == NULL || json_object_size(v) != 1)
		return json_incref((json_t *)v);
	if (ml_current_number(ml, e, a, &cur) != 0) {
		ml_fail(ml,
			"field \"%s\": $increment on a value that is not "
			"a number",
			label);
		return NULL;
	}
	sum = cur + json_number_value(inc);
	if (!isfinite(sum)) {
		ml_fail(ml, "field \"%s\": $increment overflows", label);
		return NULL;
	}
	/* In range before the cast: a double beyond long long is undefined. */
	if (sum > -9e15 && sum < 9e15 && sum == (double)(json_int_t)sum)
		return json_integer((json_int_t)sum);
	return json_real(sum);
}

/* Remember a value set in this transaction, for a later $increment. */
static int
ml_remember(struct ml *ml, const json_t *e, const char *a, const json_t *v)
{
	char key[512];

	return json_object_set(
	    ml->assigned, ml_assigned_key(e, a, key, sizeof key), (json_t *)v);
}

/* One field of create/update/merge. */
static int
ml_expand_field(struct ml *ml, const struct mlop *op, const json_t *e,
		const char *label, const json_t *opts)
{
	int merge = strcmp(op->action, "merge") == 0;
	const struct attr *a = ml_fwd(ml, op->etype, label);
	json_t *v;
	int r;

	if (a == NULL)
		return ml_fail(ml, "field \"%s\": no attr", label);
	v = ml_field_value(ml, e, label, a->id,
			   json_object_get(op->args, label));
	if (v == NULL)
		return -1;
	r = ml_step(ml, merge ? "deep-merge-triple" : "add-triple", e, a->id, v,
		    opts);
	if (r == 0 && !merge)
		r = ml_remember(ml, e, a->id, v);
	if (r == 0 && merge && json_is_number(v))
		r = ml_remember(ml, e, a->id, v);
	json_decref(v);
	return r;
}

/* create, update and merge: the id triple, then one step per field. */
static int
ml_expand_fields(struct ml *ml, const struct mlop *op, const json_t *e)
{
	const struct attr *id = ml_fwd(ml, op->etype, "id");
	json_t *opts = NULL, *keys = NULL, *k;
	const char *label;
	size_t i;
	int r = -1;

	if (strcmp(op->action, "create") == 0)
		opts = json_pack("{ss}", "mode", "create");
	else
		opts = ml_mode_opts(ml, op, e);
	if (ml_step(ml, "add-triple", e, id->id, e, opts) != 0 ||
	    (keys = ml_js_keys(op->args)) == NULL)
		goto out;
	json_array_foreach(keys, i, k) {
		label = json_string_value(k);
		if (strcmp(label, "id") != 0 &&
		    ml_expand_field(ml, op, e, label, opts) != 0)
			goto out;
	}
	r = 0;
out:
	json_decref(keys);
	json_decref(opts);
	return r;
}

/* One link/unlink target: forward [e, fwd, target] or, from the reverse
 * label, [target, rev, e]. */
static int
ml_expand_target(struct ml *ml, const struct mlop *op, const json_t *e,
		 const char *label, const json_t *target)
{
	const char *step =
	    strcmp(op->action, "link") == 0 ? "add-triple" : "retract-triple";
	const struct attr *fwd = ml_fwd(ml, op->etype, label);
	const struct attr *rev = ml_rev(ml, op->etype, label);
	json_t *other;
	int r;

	if (fwd != NULL && fwd->rev_etype == NULL)
		return ml_fail(ml, "link \"%s\": %s.%s is not a link", label,
			       op->etype, label);
	if (fwd == NULL && rev == NULL)
		return ml_fail(ml, "link \"%s\": no attr", label);
	other = ml_ref(ml, fwd != NULL ? fwd->rev_etype : rev->etype, target);
	if (other == NULL)
		return -1;
	if (fwd != NULL)
		r = ml_step(ml, step, e, fwd->id, other, NULL);
	else
		r = ml_step(ml, step, other, rev->id, e, NULL);
	json_decref(other);
	return r;
}

/* link and unlink, with the id triple first when the entity is a lookup. */
static int
ml_expand_links(struct ml *ml, const struct mlop *op, const json_t *e)
{
	const struct attr *id = ml_fwd(ml, op->etype, "id");
	json_t *keys, *k, *targets, *t;
	const char *label;
	size_t i, j;
	int r = -1;

	if (json_is_array(e) &&
	    ml_step(ml, "add-triple", e, id->id, e, NULL) != 0)
		return -1;
	if ((keys = ml_js_keys(op->links)) == NULL)
		return -1;
	json_array_foreach(keys, i, k) {
		label = json_string_value(k);
		if (strcmp(label, "id") == 0)
			continue;
		targets = json_object_get(op->links, label);
		json_array_foreach(targets, j, t) {
			if (ml_expand_target(ml, op, e, label, t) != 0)
				goto out;
		}
	}
	r = 0;
out:
	json_decref(keys);
	return r;
}

/* rule-params, with the params minus any "id" key. */
static int
ml_expand_rule_params(struct ml *ml, const struct mlop *op, const json_t *e)
{
	json_t *params = json_copy(op->args);
	int r;

	if (params == NULL)
		return -1;
	json_object_del(params, "id");
	r = json_array_append_new(ml->steps, json_pack("[sOsO]", "rule-params",
						       e, op->etype, params));
	json_decref(params);
	return r;
}

/* Pass 4 for one op. */
static int
ml_expand(struct ml *ml, const struct mlop *op)
{
	json_t *e = ml_ref(ml, op->etype, op->eid);
	int r;

	if (e == NULL)
		return -1;
	if (ml_in(op->action, "create,update,merge"))
		r = ml_expand_fields(ml, op, e);
	else if (ml_in(op->action, "link,unlink"))
		r = ml_expand_links(ml, op, e);
	else if (strcmp(op->action, "delete") == 0)
		r = json_array_append_new(
		    ml->steps,
		    json_pack("[sOs]", "delete-entity", e, op->etype));
	else
		r = ml_expand_rule_params(ml, op, e);
	json_decref(e);
	return r;
}

/* ---- driver ---- */

/* Release a compile's state. */
static void
ml_clear(struct ml *ml)
{
	size_t i;

	for (i = 0; i < ml->nops && ml->ops != NULL; i++) {
		json_decref(ml->ops[i].eid);
		json_decref(ml->ops[i].args);
		json_decref(ml->ops[i].links);
	}
	free(ml->ops);
	attrs_free(ml->local);
	json_decref(ml->add_steps);
	json_decref(ml->created);
	json_decref(ml->emitted);
	json_decref(ml->steps);
	json_decref(ml->assigned);
	free(ml->err);
}

/* Compile InstaML steps into tx-steps. */
int
instaml_compile(const json_t *steps, const struct attrs *attrs,
		struct tstore *view, json_t **tx_steps, json_t **new_attrs,
		char **errmsg)
{
	return instaml_compile_flags(steps, attrs, view, 0, tx_steps,
	    new_attrs, errmsg);
}

/* Compile InstaML steps into tx-steps, with INSTAML_* flags. */
int
instaml_compile_flags(const json_t *steps, const struct attrs *attrs,
		      struct tstore *view, int flags, json_t **tx_steps,
		      json_t **new_attrs, char **errmsg)
{
	struct ml ml = {.attrs = attrs, .view = view, .flags = flags};
	int r = -1;

	*tx_steps = *new_attrs = NULL;
	*errmsg = NULL;
	ml.local = attrs_create();
	ml.add_steps = json_array();
	ml.created = json_array();
	ml.emitted = json_object();
	ml.steps = json_array();
	ml.assigned = json_object();
	if (ml.local == NULL || ml.add_steps == NULL || ml.created == NULL ||
	    ml.emitted == NULL || ml.steps == NULL || ml.assigned == NULL)
		goto out;
	if (ml_parse(&ml, steps) != 0 || ml_missing_attrs(&ml) != 0)
		goto out;
	for (ml.idx = 0; ml.idx < ml.nops; ml.idx++)
		if (ml_expand(&ml, &ml.ops[ml.idx]) != 0)
			goto out;
	if (json_array_extend(ml.add_steps, ml.steps) != 0)
		goto out;
	*tx_steps = json_incref(ml.add_steps);
	*new_attrs = json_incref(ml.created);
	r = 0;
out:
	if (r != 0) {
		*errmsg = ml.err != NULL ? ml.err : strdup("out of memory");
		ml.err = NULL;
	}
	ml_clear(&ml);
	return r;
}

/* Drop "isUnsynced" from the attrs added by tx_steps. */
int
instaml_attrs_synced(struct attrs *attrs, const json_t *tx_steps)
{
	const struct attr *a;
	json_t *step, *copy;
	const char *op, *id;
	size_t i;
	int r = 0;

	json_array_foreach(tx_steps, i, step) {
		op = json_string_value(json_array_get(step, 0));
		id = json_string_value(
		    json_object_get(json_array_get(step, 1), "id"));
		if (op == NULL || strcmp(op, "add-attr") != 0 || id == NULL ||
		    (a = attrs_by_id(attrs, id)) == NULL)
			continue;
		if ((copy = json_deep_copy(a->json)) == NULL)
			return -1;
		json_object_del(copy, "isUnsynced");
		if (attrs_put(attrs, copy, NULL) != 0)
			r = -1;
		json_decref(copy);
	}
	return r;
}
