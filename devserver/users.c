/*
 * users.c: app users and magic codes in SQLite.
 *
 * Refresh tokens are random UUIDs; they are never logged.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "daemon/xmalloc.h"
#include "devserver/users.h"
#include "proto/uuid.h"

struct users {
	sqlite3 *db;
	sqlite3_stmt *by_token;
	sqlite3_stmt *by_email;
	sqlite3_stmt *insert;
	sqlite3_stmt *set_code;
	sqlite3_stmt *get_code;
	sqlite3_stmt *del_code;
};

static const char users_schema[] =
    "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY,"
    " email TEXT UNIQUE, refresh_token TEXT NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL, is_guest INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS magic_codes (email TEXT PRIMARY KEY,"
    " code TEXT NOT NULL);";

#define USERS_COLS "id, email, refresh_token, created_at, is_guest"

/* Milliseconds since the epoch. */
static int64_t
users_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Prepare one statement or set *errmsg. */
static int
users_prepare(struct users *u, const char *sql, sqlite3_stmt **st,
    char **errmsg)
{
	if (sqlite3_prepare_v2(u->db, sql, -1, st, NULL) == SQLITE_OK)
		return 0;
	*errmsg = xstrdup(sqlite3_errmsg(u->db));
	return -1;
}

/* Create the tables and statements. */
struct users *
users_create(sqlite3 *db, char **errmsg)
{
	struct users *u = xcalloc(1, sizeof *u);
	char *err = NULL;

	u->db = db;
	if (sqlite3_exec(db, users_schema, NULL, NULL, &err) != SQLITE_OK) {
		*errmsg = xstrdup(err);
		sqlite3_free(err);
		goto fail;
	}
	if (users_prepare(u, "SELECT " USERS_COLS " FROM users WHERE"
	    " refresh_token = ?", &u->by_token, errmsg) != 0 ||
	    users_prepare(u, "SELECT " USERS_COLS " FROM users WHERE"
	    " email = ?", &u->by_email, errmsg) != 0 ||
	    users_prepare(u, "INSERT INTO users (" USERS_COLS ") VALUES"
	    " (?, ?, ?, ?, ?)", &u->insert, errmsg) != 0 ||
	    users_prepare(u, "INSERT OR REPLACE INTO magic_codes (email, code)"
	    " VALUES (?, ?)", &u->set_code, errmsg) != 0 ||
	    users_prepare(u, "SELECT code FROM magic_codes WHERE email = ?",
	    &u->get_code, errmsg) != 0 ||
	    users_prepare(u, "DELETE FROM magic_codes WHERE email = ?",
	    &u->del_code, errmsg) != 0)
		goto fail;
	return u;
fail:
	users_free(u);
	return NULL;
}

/* Finalize the statements. */
void
users_free(struct users *u)
{
	if (u == NULL)
		return;
	sqlite3_finalize(u->by_token);
	sqlite3_finalize(u->by_email);
	sqlite3_finalize(u->insert);
	sqlite3_finalize(u->set_code);
	sqlite3_finalize(u->get_code);
	sqlite3_finalize(u->del_code);
	free(u);
}

/* The user object of the current row of st. */
static json_t *
users_row(sqlite3_stmt *st)
{
	const char *email = (const char *)sqlite3_column_text(st, 1);
	int guest = sqlite3_column_int(st, 4);

	return json_pack("{s:s,s:s?,s:s,s:I,s:s,s:b}",
	    "id", (const char *)sqlite3_column_text(st, 0),
	    "email", email,
	    "refresh_token", (const char *)sqlite3_column_text(st, 2),
	    "created_at", (json_int_t)sqlite3_column_int64(st, 3),
	    "type", guest ? "guest" : "user", "isGuest", guest);
}

/* Run a one-text-parameter user lookup. */
static json_t *
users_lookup(sqlite3_stmt *st, const char *key)
{
	json_t *user = NULL;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		user = users_row(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return user;
}

/* Look a user up by refresh token. */
json_t *
users_by_token(struct users *u, const char *token)
{
	return users_lookup(u->by_token, token);
}

/* Insert a user and return it. */
static json_t *
users_insert(struct users *u, const char *email)
{
	char id[UUID_STRLEN + 1], token[UUID_STRLEN + 1];
	sqlite3_stmt *st = u->insert;
	int64_t now = users_now_ms();
	int rc;

	if (uuid_v4(id) != 0 || uuid_v4(token) != 0)
		return NULL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (email != NULL)
		sqlite3_bind_text(st, 2, email, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, token, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int(st, 5, email == NULL);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return NULL;
	return users_by_token(u, token);
}

/* Create a guest. */
json_t *
users_new_guest(struct users *u)
{
	return users_insert(u, NULL);
}

/* Find or create by email. */
json_t *
users_by_email(struct users *u, const char *email, int *created)
{
	json_t *user = users_lookup(u->by_email, email);

	*created = 0;
	if (user != NULL)
		return user;
	*created = 1;
	return users_insert(u, email);
}

/* Bind email (and code) and run st to completion. */
static int
users_exec(sqlite3_stmt *st, const char *email, const char *code)
{
	int rc;

	sqlite3_bind_text(st, 1, email, -1, SQLITE_TRANSIENT);
	if (code != NULL)
		sqlite3_bind_text(st, 2, code, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Remember a magic code. */
int
users_set_code(struct users *u, const char *email, const char *code)
{
	return users_exec(u->set_code, email, code);
}

/* Check and consume a magic code. */
int
users_check_code(struct users *u, const char *email, const char *code)
{
	sqlite3_stmt *st = u->get_code;
	int match = 0;

	sqlite3_bind_text(st, 1, email, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		match = strcmp((const char *)sqlite3_column_text(st, 0),
		    code) == 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (match && users_exec(u->del_code, email, NULL) != 0)
		return -1;
	return match;
}
