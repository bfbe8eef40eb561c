/*
 * users.c: app users, their refresh tokens and magic codes in SQLite.
 *
 * Refresh tokens are random UUIDs; they are never logged.
 */
#include "config.h"

#include <stdio.h>
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
	sqlite3_stmt *new_token;
	sqlite3_stmt *del_token;
	sqlite3_stmt *set_code;
	sqlite3_stmt *get_code;
	sqlite3_stmt *del_code;
};

static const char users_schema[] =
    "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY,"
    " email TEXT UNIQUE, created_at INTEGER NOT NULL,"
    " is_guest INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS refresh_tokens (token TEXT PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES users (id));"
    "CREATE TABLE IF NOT EXISTS magic_codes (email TEXT PRIMARY KEY,"
    " code TEXT NOT NULL);";

/* Columns of a user row, its refresh token last. */
#define USERS_COLS "u.id, u.email, u.created_at, u.is_guest"

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

/* Prepare every statement. */
static int
users_prepare_all(struct users *u, char **errmsg)
{
	const struct {
		sqlite3_stmt **st;
		const char *sql;
	} stmts[] = {
	    {&u->by_token, "SELECT " USERS_COLS ", t.token FROM"
			   " refresh_tokens t JOIN users u ON u.id = t.user_id"
			   " WHERE t.token = ?"},
	    {&u->by_email, "SELECT " USERS_COLS " FROM users u"
			   " WHERE u.email = ?"},
	    {&u->insert, "INSERT INTO users (id, email, created_at,"
			 " is_guest) VALUES (?, ?, ?, ?)"},
	    {&u->new_token, "INSERT INTO refresh_tokens (token, user_id)"
			    " VALUES (?, ?)"},
	    {&u->del_token, "DELETE FROM refresh_tokens WHERE token = ?"},
	    {&u->set_code, "INSERT OR REPLACE INTO magic_codes (email,"
			   " code) VALUES (?, ?)"},
	    {&u->get_code, "SELECT code FROM magic_codes WHERE email = ?"},
	    {&u->del_code, "DELETE FROM magic_codes WHERE email = ?"},
	};

	for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
		if (users_prepare(u, stmts[i].sql, stmts[i].st, errmsg) != 0)
			return -1;
	return 0;
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
	if (users_prepare_all(u, errmsg) != 0)
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
	sqlite3_finalize(u->new_token);
	sqlite3_finalize(u->del_token);
	sqlite3_finalize(u->set_code);
	sqlite3_finalize(u->get_code);
	sqlite3_finalize(u->del_code);
	free(u);
}

/* The user object of the current row of st with refresh token token. */
static json_t *
users_row(sqlite3_stmt *st, const char *token)
{
	int guest = sqlite3_column_int(st, 3);

	return json_pack("{s:s,s:s?,s:s?,s:I,s:s,s:b}", "id",
			 (const char *)sqlite3_column_text(st, 0), "email",
			 (const char *)sqlite3_column_text(st, 1),
			 "refresh_token", token, "created_at",
			 (json_int_t)sqlite3_column_int64(st, 2), "type",
			 guest ? "guest" : "user", "isGuest", guest);
}

/* Finish a statement: reset it and drop its bindings. */
static void
users_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Look a user up by refresh token. */
json_t *
users_by_token(struct users *u, const char *token)
{
	json_t *user = NULL;

	sqlite3_bind_text(u->by_token, 1, token, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(u->by_token) == SQLITE_ROW)
		user = users_row(u->by_token, (const char *)sqlite3_column_text(
						  u->by_token, 4));
	users_done(u->by_token);
	return user;
}

/* Mint a refresh token for user_id and return the user with it. */
static json_t *
users_new_token(struct users *u, const char *user_id)
{
	char token[UUID_STRLEN + 1];
	int rc;

	if (uuid_v4(token) != 0)
		return NULL;
	sqlite3_bind_text(u->new_token, 1, token, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(u->new_token, 2, user_id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(u->new_token);
	users_done(u->new_token);
	return rc == SQLITE_DONE ? users_by_token(u, token) : NULL;
}

/* Insert a user (email NULL: a guest) into *id: 0 or -1. */
static int
users_insert(struct users *u, const char *email, char id[UUID_STRLEN + 1])
{
	sqlite3_stmt *st = u->insert;
	int rc;

	if (uuid_v4(id) != 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (email != NULL)
		sqlite3_bind_text(st, 2, email, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, users_now_ms());
	sqlite3_bind_int(st, 4, email == NULL);
	rc = sqlite3_step(st);
	users_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Create a guest. */
json_t *
users_new_guest(struct users *u)
{
	char id[UUID_STRLEN + 1];

	if (users_insert(u, NULL, id) != 0)
		return NULL;
	return users_new_token(u, id);
}

/* The id of the user with email into id: 1 found, 0 not, -1 failure. */
static int
users_find_email(struct users *u, const char *email, char id[UUID_STRLEN + 1])
{
	int rc, found = 0;

	sqlite3_bind_text(u->by_email, 1, email, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(u->by_email);
	if (rc == SQLITE_ROW) {
		snprintf(id, UUID_STRLEN + 1, "%s",
			 (const char *)sqlite3_column_text(u->by_email, 0));
		found = 1;
	} else if (rc != SQLITE_DONE)
		found = -1;
	users_done(u->by_email);
	return found;
}

/* Find or create by email, then mint a token. */
json_t *
users_sign_in_email(struct users *u, const char *email, int *created)
{
	char id[UUID_STRLEN + 1];
	int found = users_find_email(u, email, id);

	*created = found == 0;
	if (found < 0 || (found == 0 && users_insert(u, email, id) != 0))
		return NULL;
	return users_new_token(u, id);
}

/* Run st with text parameters a (and b) to completion. */
static int
users_exec(sqlite3_stmt *st, const char *a, const char *b)
{
	int rc;

	sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	users_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Forget a token. */
int
users_sign_out(struct users *u, const char *token)
{
	return users_exec(u->del_token, token, NULL);
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
		match =
		    strcmp((const char *)sqlite3_column_text(st, 0), code) == 0;
	users_done(st);
	if (match && users_exec(u->del_code, email, NULL) != 0)
		return -1;
	return match;
}
