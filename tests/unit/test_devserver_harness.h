/*
 * test_devserver_harness.h: scripted clients for the devserver's unit
 * tests (see test_devserver_harness.c).
 */
#ifndef TEST_DEVSERVER_HARNESS_H
#define TEST_DEVSERVER_HARNESS_H

#include <event2/event.h>
#include <jansson.h>

#include "devserver/faults.h"
#include "devserver/server.h"
#include "devserver/session.h"

#define APP "6f1c1f4e-5b7a-4c43-9e55-1d2a3b4c5d6e"
#define OTHER_APP "11111111-2222-4333-8444-555555555555"
#define A_ID "a0000000-0000-4000-8000-000000000001"
#define A_TITLE "a0000000-0000-4000-8000-000000000002"
#define E1 "e0000000-0000-4000-8000-000000000001"
#define E2 "e0000000-0000-4000-8000-000000000002"
#define E3 "e0000000-0000-4000-8000-000000000003"

struct client {
	struct session *s;
	json_t *out;
	int closed;
};

extern struct event_base *base;
extern struct server *sv;

/* Fixture: a fresh data directory and a server serving APP over it. */
void setup(void);
void teardown(void);
/* Open the server again over the same data directory. */
void server_open(void);

struct client *client_new(void);
void client_free(struct client *);
/* Send msg (stolen) to the session. */
void client_say(struct client *, json_t *msg);
/* The oldest message sent to the client (new reference), or NULL. */
json_t *client_take(struct client *);
const char *op_of(const json_t *);
/* Take the next message, checking its op. */
json_t *expect_op(struct client *, const char *op);
/* Run the event loop's ready callbacks (the coalesced refresh pass). */
void pump(void);
/* Drop refresh-ok messages at the head of the queue. */
void drop_refreshes(struct client *);
/* init with a current client version, checking init-ok. */
void client_init(struct client *);
/* add-query q (stolen); the reply. */
json_t *client_query(struct client *, json_t *q, const char *cid);
/* transact steps (stolen). */
void client_transact(struct client *, json_t *steps, const char *cid);
/* add-attr steps for goals.id and goals.title. */
json_t *goal_attrs(void);
/* Steps creating goal e with title (declaring the attrs if attrs). */
json_t *goal_steps(const char *e, const char *title, int attrs);
/* Whether a query result holds a triple whose value is the string v. */
int result_has_value(const json_t *result, const char *v);

#endif
