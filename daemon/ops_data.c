/*
 * ops_data.c: the data ops (transact, subscribe, unsubscribe, query,
 * pending) over the app's local engine.
 */
#include "config.h"

#include "daemon/app.h"
#include "daemon/ops.h"
#include "daemon/session.h"

/* Reply that the local engine is not part of this build yet. */
static void
ops_data_unavailable(struct reply *r)
{
	reply_error(r, PROTO_UNAVAILABLE, NULL,
	    "the local store is not available in this version");
}

/* transact {steps, wait?} */
void
ops_transact(struct session *s, struct reply *r, json_t *req)
{
	ops_data_unavailable(r);
}

/* subscribe {q} */
void
ops_subscribe(struct session *s, struct reply *r, json_t *req)
{
	ops_data_unavailable(r);
}

/* unsubscribe {sub} */
void
ops_unsubscribe(struct session *s, struct reply *r, json_t *req)
{
	ops_data_unavailable(r);
}

/* query {q, timeout_ms?} */
void
ops_query(struct session *s, struct reply *r, json_t *req)
{
	ops_data_unavailable(r);
}

/* pending */
void
ops_pending(struct session *s, struct reply *r, json_t *req)
{
	ops_data_unavailable(r);
}
