/*
 * iq.h: internals of the InstaQL evaluator, shared by instaql.c (levels,
 * objects, order, pages), iqwhere.c (where clauses to triple patterns) and
 * iqjoin.c (pattern matching over the tstore).
 *
 * A query level compiles, as in the client, to a list of triple patterns
 * [e, a, v] over named variables: the join with the parent entity, the
 * where clauses, and the entity's own id triple [?x, id, ?x].  Variables
 * are named exactly as the client names them ("?etype-level", with a
 * suffix per or/and branch), because two clauses that reach the same
 * name must bind the same entity.  An entity is in the level's result
 * when at least one binding satisfies every pattern.
 */
#ifndef ENGINE_IQ_H
#define ENGINE_IQ_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "proto/textbuf.h"

struct attr;
struct attrs;
struct tstore;
struct jsval_like;
struct idmap;
struct strmap;
struct instaql_opts;

enum iq_term_kind {
	IQ_T_WILD,   /* matches anything, binds nothing */
	IQ_T_VAR,    /* a variable */
	IQ_T_CONST,  /* e position: a raw entity id; v position: value text */
	IQ_T_ARGS,   /* v position: an operator map */
	IQ_T_NEVER,  /* matches nothing */
	IQ_T_PARENT, /* the parent entity of a nested level */
};

enum iq_args_kind {
	IQ_A_NOT,    /* candidates !== value */
	IQ_A_ISNULL, /* the candidate entity has (no) value for an attr */
	IQ_A_IN,     /* candidates in a list */
	IQ_A_CMP,    /* $gt $gte $lt $lte */
	IQ_A_LIKE,   /* $like $ilike */
};

enum iq_cmp_op { IQ_GT, IQ_GTE, IQ_LT, IQ_LTE };

struct iq_args {
	enum iq_args_kind kind;
	char *not_text;      /* NOT: text of a primitive $not, or NULL */
	char **in;           /* IN: texts of the primitive items */
	size_t nin;
	enum iq_cmp_op op;   /* CMP */
	json_t *operand;     /* CMP */
	int is_date;         /* CMP: compare as new Date(x) */
	struct jsval_like *like; /* LIKE: NULL if the pattern is no string */
	char *needle;            /* LIKE: jsval_like_needle, or NULL */
	const struct attr *null_attr; /* ISNULL */
	int want_null;                /* ISNULL */
	int reverse;                  /* ISNULL: through the reverse label */
};

struct iq_term {
	enum iq_term_kind kind;
	int var;
	char *text;
	struct iq_args *args;
};

enum iq_pat_kind { IQ_P_TRIPLE, IQ_P_OR };

struct iq_plist;

struct iq_pat {
	enum iq_pat_kind kind;
	const struct attr *attr; /* TRIPLE */
	struct iq_term e, v;     /* TRIPLE */
	int is_eid;              /* TRIPLE: the level's own id triple */
	struct iq_plist *branches; /* OR */
	size_t nbranches;          /* OR */
};

struct iq_plist {
	struct iq_pat *v;
	size_t n, cap;
};

/* One compiled query level. */
struct iq_plan {
	char **vars;
	size_t nvars, capvars;
	struct iq_plist pats;
	int main_var;
	const struct attr *eid_attr; /* the attr of the id pattern */
	int notfound; /* an attr is missing: the level is empty */
};

/* How a nested level hangs off its parent. */
struct iq_join {
	const struct attr *attr;
	int forward;              /* parent --attr--> child */
	const char *parent_etype;
	int parent_level;
};

/* Compile a level's where clause (may be NULL) and join (NULL at the top)
 * into plan.  path names the level in error messages.  0 (plan->notfound
 * may be set), or -1 with *errmsg. */
int iqwhere_plan(struct iq_plan *, const struct attrs *, const char *etype,
    int level, const json_t *where, const struct iq_join *, const char *path,
    char **errmsg);
void iqwhere_plan_clear(struct iq_plan *);

/* A deduplicated set of [e, a, v, t] triples. */
struct iq_tset {
	struct strmap *seen;
	json_t *arr;
};

int iq_tset_init(struct iq_tset *);
void iq_tset_clear(struct iq_tset *);
int iq_tset_add(struct iq_tset *, const char *e, const char *a,
    const char *vtext, int64_t t);

/* An entity accepted by a level, with the t of its id triple. */
struct iq_hit {
	char *e;
	int64_t t;
	json_t *witness; /* [[e, a, value text, t]...] or NULL */
	size_t rows_off, rows_len; /* its triples in rows, if read (len) */
};

struct iq_hits {
	struct iq_hit *v;
	size_t n, cap;
	struct idmap *index; /* entity id -> position in v */
	/* With rows: every triple of the hits whose id triple was looked up
	 * by entity, "a\0v\0" each, in (a, v) order. */
	struct textbuf rows;
};

void iq_hits_clear(struct iq_hits *);

/* Run plan for the parent entity (NULL at the top): the accepted
 * entities in discovery order.  With witness, each hit keeps the triples
 * of one satisfying binding.  With rows, looking up an entity's id triple
 * reads all its triples (one lookup either way) and keeps them for its
 * object.  0, or -1 with *errmsg. */
int iqjoin_run(struct tstore *, const struct iq_plan *, const char *parent,
    struct iq_hits *out, int witness, int rows, char **errmsg);

/*
 * Evaluation (instaql.c, iqorder.c, iqserver.c).
 */

/* One label of the objects a node builds. */
struct iq_field {
	const char *label;
	const struct attr *attr;
};

/* One compiled form. */
struct iq_node {
	char *path;
	const char *label; /* the link label of a nested node */
	const char *etype;
	int level;
	const json_t *form;
	struct iq_plan plan;
	int singular;      /* a has-one link under cardinality inference */
	int link_missing;  /* the label names no attr: [] */
	struct iq_field *fields;
	size_t nfields;
	size_t *by_id;            /* indexes of fields in attr id order */
	size_t nattrs;            /* attrs of the etype (triples of one) */
	const json_t *order_key;  /* the first key of $.order, or NULL */
	int sort_desc;            /* sorting direction */
	int cursor_desc;          /* direction of the cursor window */
	const json_t *limit;      /* limit || first || last, or NULL */
	int leading;              /* no offset, before or after */
	struct iq_node **kids;
	size_t nkids;
};

/* Evaluation state. */
struct iq_ctx {
	struct tstore *ts;
	const struct attrs *as;
	const struct instaql_opts *opts;
	struct iq_tset tset; /* server mode */
	json_t *topics;      /* object used as a set */
	json_t *counts;      /* etype -> number of entities, when known */
	json_t *page_info;   /* server mode: etype -> page-info */
	json_t *aggregate;   /* server mode: etype -> {"count": n} */
	json_t *rev_null;    /* server mode: attr id -> true, for reverse
				$isNull tests (their links are sent) */
	struct textbuf text; /* the data being written */
	size_t ndata;        /* namespaces in it */
	char **errmsg;
};

/* A sort entry: an entity and its order value. */
struct iq_sortent {
	size_t hit;
	const char *e;
	int64_t t;
	json_t *v; /* NULL: undefined */
	int nan;   /* the value is NaN (a date that does not parse) */
	unsigned char *ckey; /* collation key of String(v), or NULL */
	size_t cklen;
	int has_ukey;        /* e is a uuid: ukey is its bytes */
	unsigned char ukey[16];
};

/* Kept entities sampled to tell whether the view's cache holds them. */
#define IQ_SAMPLE 16

/* Order and windows (iqorder.c). */
struct iq_sortent *iqorder_sorted(struct iq_ctx *, const struct iq_hits *,
    const struct attr *order_attr, int desc);
void iqorder_free(struct iq_sortent *, size_t n);
/* Compare an entry with a cursor [e, a, v, t] as the client does. */
int iqorder_cmp_cursor(const json_t *cursor, const struct attr *order_attr,
    const struct iq_sortent *);
/* Reorder kept entries as a JavaScript object lists them by id: array
 * indexes ("0", "17") first.  0, or -1 out of memory. */
int iqorder_js_keys(const struct iq_sortent *, size_t *keep, size_t n);
/* Whether order attr a means serverCreatedAt (NULL or an id attr). */
int iqorder_by_t(const struct attr *a);
/* Whether reading whole attrs of etype beats lookups for n entities. */
int iqorder_bulk_pays(struct iq_ctx *, const char *etype, size_t n);
/* Whether etype has at most max entities. */
int iqorder_etype_at_most(struct iq_ctx *, const char *etype, int64_t max);

/* Server mode (iqserver.c). */
int iqserver_window(struct iq_ctx *, const struct iq_node *,
    const struct attr *order_attr, const struct iq_sortent *, size_t *keep,
    size_t *nkeep);
int iqserver_count(struct iq_ctx *, const struct iq_node *);
int iqserver_closure(struct iq_ctx *);

/* slice(0, limit) of the client: how many of n entries stay. */
size_t iq_limit_len(const json_t *limit, size_t n);

/* A JSON value from canonical value text (NULL if unparsable). */
json_t *iqjoin_value(const char *text);

/* The JSON text of a string (caller frees). */
char *iqjoin_quote(const char *s);

/* Result text (iqtext.c), into a textbuf: appending after a failure
 * does nothing; err tells. */
/* A stored value as jansson prints it once parsed: 1, or 0 (nothing
 * written) when the text is no JSON value. */
int iqtext_value(struct textbuf *, const char *vtext);
/* A string (object key) as jansson prints it. */
void iqtext_string(struct textbuf *, const char *s);

#endif
