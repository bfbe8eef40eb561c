/*
 * ops.h: handlers of the local protocol's ops, grouped by concern:
 * ops_session.c (hello, status, uuid, connect, disconnect), ops_data.c
 * (transact, subscribe, unsubscribe, query, pending) and ops_auth.c (the
 * auth ops).  dispatch.c routes requests to them after binding the session
 * to its app; every handler finishes its reply exactly once.
 */
#ifndef DAEMON_OPS_H
#define DAEMON_OPS_H

#include <jansson.h>

struct session;
struct reply;

typedef void (*op_fn)(struct session *, struct reply *, json_t *req);

void ops_hello(struct session *, struct reply *, json_t *);
void ops_status(struct session *, struct reply *, json_t *);
void ops_uuid(struct session *, struct reply *, json_t *);
void ops_connect(struct session *, struct reply *, json_t *);
void ops_disconnect(struct session *, struct reply *, json_t *);

void ops_transact(struct session *, struct reply *, json_t *);
void ops_subscribe(struct session *, struct reply *, json_t *);
void ops_unsubscribe(struct session *, struct reply *, json_t *);
void ops_query(struct session *, struct reply *, json_t *);
void ops_pending(struct session *, struct reply *, json_t *);

void ops_auth(struct session *, struct reply *, json_t *);

/*
 * Field helpers: fetch key from req with the expected type.  They return 0
 * with *out set (NULL when optional and absent), or -1 after finishing the
 * reply with a bad-request error naming the field.
 */
int ops_field_string(struct reply *, json_t *req, const char *key,
    int required, const char **out);
int ops_field_integer(struct reply *, json_t *req, const char *key,
    int required, json_int_t min, json_int_t max, json_t **out);
int ops_field_object(struct reply *, json_t *req, const char *key,
    int required, json_t **out);
int ops_field_array(struct reply *, json_t *req, const char *key,
    int required, json_t **out);

#endif
