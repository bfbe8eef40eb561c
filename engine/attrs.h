/*
 * attrs.h: the attribute registry of one Instant app, in memory.
 *
 * Attrs arrive as Instant's JSON attr objects (init-ok, refresh-ok,
 * add-attr steps); the registry keeps each object and a parsed view with
 * lookups by id, by forward identity (etype, label) and by reverse identity.
 * Persistence belongs to engine/store.c.
 */
#ifndef ENGINE_ATTRS_H
#define ENGINE_ATTRS_H

#include <stddef.h>
#include <jansson.h>

struct attr {
	const char *id;
	const char *fwd_id;    /* forward-identity[0] */
	const char *etype;     /* forward-identity[1] */
	const char *label;     /* forward-identity[2] */
	const char *rev_id;    /* reverse-identity[0], or NULL */
	const char *rev_etype; /* reverse-identity[1], or NULL */
	const char *rev_label; /* reverse-identity[2], or NULL */
	int is_ref;            /* value-type "ref" */
	int card_one;          /* cardinality "one" */
	int unique;            /* unique? */
	int indexed;           /* index? */
	int on_delete_cascade;         /* on-delete "cascade" */
	int on_delete_reverse_cascade; /* on-delete-reverse "cascade" */
	const char *checked_type;      /* checked-data-type, or NULL */
	json_t *json;                  /* the full attr object */
};

struct attrs;

struct attrs *attrs_create(void);
void attrs_free(struct attrs *);

/* Add attr (copied), replacing one with the same id: 0, or -1 if it is
 * malformed (errmsg, if given, receives a static reason). */
int attrs_put(struct attrs *, const json_t *attr, const char **errmsg);

/* Remove by id: 0, or -1 if absent. */
int attrs_remove(struct attrs *, const char *id);

/* Replace the whole registry with a JSON array of attrs. */
int attrs_load(struct attrs *, const json_t *array, const char **errmsg);

const struct attr *attrs_by_id(const struct attrs *, const char *id);
/* The attr whose forward identity is (etype, label). */
const struct attr *attrs_forward(const struct attrs *, const char *etype,
    const char *label);
/* The ref attr whose reverse identity is (etype, label). */
const struct attr *attrs_reverse(const struct attrs *, const char *etype,
    const char *label);

/* The primary-key attr of etype: the one flagged "primary?", else the
 * forward identity (etype, "id"), as the client's getPrimaryKeyAttr. */
const struct attr *attrs_primary(const struct attrs *, const char *etype);

size_t attrs_count(const struct attrs *);
const struct attr *attrs_at(const struct attrs *, size_t i);

/* A JSON array of every attr object (new reference). */
json_t *attrs_to_json(const struct attrs *);

#endif
