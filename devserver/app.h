/*
 * app.h: one Instant app served by the devserver, with its data in
 * DIR/<app-id>.sqlite: the triples (engine/tstore), the attrs, the
 * transaction log (whose integer ids are the tx-ids) and the users.
 *
 * Queries run through engine/instaql in server mode and transactions
 * through engine/txapply in server mode, each transaction in one SQLite
 * transaction: all or nothing.
 */
#ifndef DEVSERVER_APP_H
#define DEVSERVER_APP_H

#include <stdint.h>
#include <jansson.h>

struct app;
struct users;

/* Open (creating if needed) app id's database under dir; NULL with
 * *errmsg (caller frees) on failure. */
struct app *app_open(const char *dir, const char *id, char **errmsg);
void app_free(struct app *);

const char *app_id(const struct app *);

/* The app row sent in init-ok's auth: {id, title}. */
json_t *app_row(const struct app *);

/* Every attr of the app plus the system $users attrs (new reference). */
json_t *app_attrs(const struct app *);

/* The newest committed tx-id as JSON (integer, or null before the first
 * transaction). */
json_t *app_processed_tx_id(const struct app *);

/*
 * Evaluate InstaQL q.  0 with *result set to the add-query-ok "result"
 * value (a one-element array whose node carries join-rows, and page-info
 * and aggregate when the query asks for them) and, if topics is not NULL,
 * *topics to the sorted array of etypes the evaluation read; or -1 with
 * *err set to an Instant error object.
 */
int app_query(struct app *, const json_t *q, json_t **result, json_t **topics,
	      json_t **err);

/* What a committed transaction changed. */
struct app_commit {
	int64_t tx_id;
	int attrs_changed;
	json_t *etypes; /* array of etypes whose triples changed (owned) */
};

/* Release a commit's members. */
void app_commit_clear(struct app_commit *);

/*
 * Apply tx-steps as one transaction.  0 with *commit filled (clear it with
 * app_commit_clear), or -1 with *err set to an Instant error object
 * (nothing written).
 */
int app_transact(struct app *, const json_t *steps, struct app_commit *,
		 json_t **err);

/* The etype an attr id belongs to (also looking at add-attr steps in
 * steps, which may be NULL), or NULL. */
const char *app_attr_etype(const struct app *, const char *attr_id,
			   const json_t *steps);

struct users *app_users(struct app *);

/* Write the $users entity (id, email) of a user just created, as one
 * transaction: 0 with *commit filled, or -1. */
int app_add_user(struct app *, const json_t *user, struct app_commit *);

#endif
