/*
 * test_devserver_harness.c: scripted clients for the devserver's session
 * layer, shared by its unit tests: a server over a temporary data
 * directory, sessions whose output is collected as JSON, and helpers to
 * send frames and check replies.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/test_devserver_harness.h"

/* A scripted client: everything the session sent, and whether it closed. */

static char datadir[] = "/tmp/test_devserver.XXXXXX";
struct event_base *base;
struct server *sv;

/* io->send: keep the decoded message. */
static void
client_send(void *arg, const char *text, size_t len)
{
	struct client *c = arg;
	json_t *v = json_loadb(text, len, 0, NULL);

	ck_assert_ptr_nonnull(v);
	json_array_append_new(c->out, v);
}

/* io->close. */
static void
client_close(void *arg)
{
	((struct client *)arg)->closed = 1;
}

/* Open a server over datadir serving APP. */
void
server_open(void)
{
	static const char *apps[] = {APP};
	struct server_config cfg = {datadir, apps, 1, 5000, 15000, 1 << 20};
	char *err = NULL;

	sv = server_create(base, &cfg, &err);
	ck_assert_ptr_nonnull(sv);
}

/* A new client session. */
struct client *
client_new(void)
{
	struct client *c = calloc(1, sizeof *c);
	struct session_io io = {client_send, client_close, c};

	c->out = json_array();
	c->s = session_create(sv, &io);
	return c;
}

/* Free a client session. */
void
client_free(struct client *c)
{
	session_free(c->s);
	json_decref(c->out);
	free(c);
}

/* Send msg (stolen) to the session. */
void
client_say(struct client *c, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);

	session_receive(c->s, text, strlen(text));
	free(text);
	json_decref(msg);
}

/* Take the oldest message the session sent (new reference), or NULL. */
json_t *
client_take(struct client *c)
{
	json_t *m = json_array_get(c->out, 0);

	if (m == NULL)
		return NULL;
	json_incref(m);
	json_array_remove(c->out, 0);
	return m;
}

/* The op of a message. */
const char *
op_of(const json_t *m)
{
	return json_string_value(json_object_get(m, "op"));
}

/* Take the next message and check its op. */
json_t *
expect_op(struct client *c, const char *op)
{
	json_t *m = client_take(c);

	ck_assert_msg(m != NULL, "expected %s, got nothing", op);
	ck_assert_str_eq(op_of(m), op);
	return m;
}

/* Run whatever the event loop has ready, without waiting. */
void
pump(void)
{
	ck_assert_int_ne(event_base_loop(base, EVLOOP_NONBLOCK), -1);
}

/* Drop the refresh-ok messages at the head of the queue. */
void
drop_refreshes(struct client *c)
{
	json_t *m;

	while ((m = json_array_get(c->out, 0)) != NULL &&
	       strcmp(op_of(m), "refresh-ok") == 0)
		json_array_remove(c->out, 0);
}

/* init with a current client version; checks init-ok. */
void
client_init(struct client *c)
{
	client_say(c, json_pack("{s:s,s:s,s:s,s:{s:s}}", "op", "init",
				"client-event-id", "i1", "app-id", APP,
				"versions", "@instantdb/core", "v1.0.67"));
	json_decref(expect_op(c, "init-ok"));
}

/* add-query q (stolen) with id cid; returns the reply. */
json_t *
client_query(struct client *c, json_t *q, const char *cid)
{
	client_say(c, json_pack("{s:s,s:s,s:o}", "op", "add-query",
				"client-event-id", cid, "q", q));
	return client_take(c);
}

/* transact steps (stolen) with id cid. */
void
client_transact(struct client *c, json_t *steps, const char *cid)
{
	client_say(c, json_pack("{s:s,s:s,s:o}", "op", "transact",
				"client-event-id", cid, "tx-steps", steps));
}

/* The add-attr steps for goals.id and goals.title. */
json_t *
goal_attrs(void)
{
	return json_pack("[[s,{s:s,s:[s,s,s],s:s,s:s,s:b,s:b}],"
			 "[s,{s:s,s:[s,s,s],s:s,s:s,s:b,s:b}]]",
			 "add-attr", "id", A_ID, "forward-identity",
			 "f0000000-0000-4000-8000-000000000001", "goals", "id",
			 "value-type", "blob", "cardinality", "one", "unique?",
			 1, "index?", 0, "add-attr", "id", A_TITLE,
			 "forward-identity",
			 "f0000000-0000-4000-8000-000000000002", "goals",
			 "title", "value-type", "blob", "cardinality", "one",
			 "unique?", 0, "index?", 0);
}

/* Steps creating goal e with title (with the attrs when attrs is set). */
json_t *
goal_steps(const char *e, const char *title, int attrs)
{
	json_t *steps = attrs ? goal_attrs() : json_array();

	json_array_append_new(steps,
			      json_pack("[s,s,s,s]", "add-triple", e, A_ID, e));
	json_array_append_new(
	    steps, json_pack("[s,s,s,s]", "add-triple", e, A_TITLE, title));
	return steps;
}

/* Whether any triple of a result has value v. */
int
result_has_value(const json_t *result, const char *v)
{
	json_t *rows = json_object_get(
	    json_object_get(json_object_get(json_array_get(result, 0), "data"),
			    "datalog-result"),
	    "join-rows");
	json_t *row, *t;
	size_t i, j;

	json_array_foreach(rows, i, row) json_array_foreach(
	    row, j, t) if (json_is_string(json_array_get(t, 2)) &&
			   strcmp(json_string_value(json_array_get(t, 2)), v) ==
			       0) return 1;
	return 0;
}

/* Remove the data directory's files. */
static void
rm_datadir(void)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", datadir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Make a fresh data directory and open a server over it. */
void
setup(void)
{
	strcpy(datadir, "/tmp/test_devserver.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(datadir));
	base = event_base_new();
	server_open();
}

/* Free the server and remove its data. */
void
teardown(void)
{
	server_free(sv);
	event_base_free(base);
	rm_datadir();
}
