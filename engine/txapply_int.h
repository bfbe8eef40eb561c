/*
 * txapply_int.h: what txapply.c shares with the client-mode (txclient.c)
 * and server-mode (txserver.c) halves of the applier.  Not installed; only
 * those three files include it.
 *
 * Functions taking a struct txrun return 0 to go on, 1 when the
 * transaction is rejected and -1 on an internal failure; in both failure
 * cases run->error holds the error envelope.  Triple lists are JSON arrays
 * of [e, a, v, t] with v as canonical JSON text.
 */
#ifndef ENGINE_TXAPPLY_INT_H
#define ENGINE_TXAPPLY_INT_H

#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>

#include "engine/txapply.h"

struct attr;

/* The savepoint statements, prepared once per applier. */
enum txapply_sql {
	TXAPPLY_SAVEPOINT,
	TXAPPLY_RELEASE,
	TXAPPLY_ROLLBACK_TO,
	TXAPPLY_SQL_MAX
};

struct txapply {
	sqlite3 *db;
	struct tstore *ts;
	struct attrs *attrs;
	enum txapply_mode mode;
	int64_t seq; /* client mode: makes new t values distinct */
	sqlite3_stmt *stmt[TXAPPLY_SQL_MAX];
};

/* The state of one run. */
struct txrun {
	struct txapply *ta;
	int64_t now;
	json_t *etypes;	   /* set: etype -> true */
	json_t *attr_ids;  /* set: attr id -> true */
	json_t *new_attrs; /* attrs added */
	json_t *undo;	   /* [[id, previous attr or null], ...] */
	json_t *upserted;  /* server: "e\na" of lookups created in this run */
	json_t *error;
	int depth; /* client-mode cascade depth */
};

/* Set the run's error (first one wins) and return the matching code. */
int txapply_error(struct txrun *run, int status, const char *type,
		  const char *message, json_t *hint);
/* An internal failure (SQLite or memory). */
int txapply_internal(struct txrun *run, const char *what);
/* A validation-failed error as the server builds it. */
int txapply_invalid(struct txrun *run, const char *what, json_t *input,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Note that triples of attr a changed. */
int txapply_touch(struct txrun *run, const struct attr *a);
/* Put an attr into the registry, remembering its previous value. */
int txapply_attr_put(struct txrun *run, const json_t *attr);
/* A new array of the triples of (e, a), or NULL. */
json_t *txapply_triples_ea(struct txrun *run, const char *e, const char *a);
/* A new array of the triples of e, or NULL. */
json_t *txapply_triples_e(struct txrun *run, const char *e);
/* A new array of the triples with attr a and value text v, or NULL. */
json_t *txapply_triples_av(struct txrun *run, const char *a, const char *v);
/* The entity holding value v on attr a into *e (NULL if none). */
int txapply_find_av(struct txrun *run, const char *a, const json_t *v,
		    char **e);
/* The JSON text of an entity id, as a ref value. */
char *txapply_id_text(const char *id);
/* Whether two possibly NULL names are equal. */
int txapply_streq(const char *a, const char *b);
/* Write (e, a, v): cardinality one replaces the entity's value; t is kept
 * when the triple (client) or the entity's value (server) existed. */
int txapply_put(struct txrun *run, const char *e, const struct attr *a,
		const char *v);
/* Remove (e, a, v). */
int txapply_retract(struct txrun *run, const char *e, const struct attr *a,
		    const char *v);
/* Remove every value of (e, a). */
int txapply_retract_ea(struct txrun *run, const char *e, const struct attr *a);
/* Merge patch into the value of (e, a); a missing value is left alone in
 * client mode and set to the patch in server mode. */
int txapply_merge(struct txrun *run, const char *e, const struct attr *a,
		  const json_t *patch);
/* The ref triples pointing at id, as a new array. */
json_t *txapply_refs_to(struct txrun *run, const char *id);
/* Remove an attr and its triples (delete-attr). */
int txapply_delete_attr(struct txrun *run, const char *id);
/* Merge a partial attr into the registered one (update-attr). */
int txapply_update_attr(struct txrun *run, const json_t *partial);
/* Register an attr from an add-attr step. */
int txapply_add_attr(struct txrun *run, const json_t *attr);

/* The two semantics (txclient.c, txserver.c). */
int txclient_run(struct txrun *, const json_t *steps);
int txserver_run(struct txrun *, const json_t *steps);

#endif
