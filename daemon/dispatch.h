/*
 * dispatch.h: the table of local protocol ops.  A handler gets the
 * session, its reply slot and the request; it finishes the reply now or
 * takes a reference and finishes it later.
 */
#ifndef DAEMON_DISPATCH_H
#define DAEMON_DISPATCH_H

#include <jansson.h>

struct session;
struct reply;

/* Validate and route one decoded request object. */
void dispatch_request(struct session *, struct reply *, json_t *req);

#endif
