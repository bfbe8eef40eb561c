/*
 * listen.h: a loopback TCP listener and the connections it accepted.
 */
#ifndef DEVSERVER_LISTEN_H
#define DEVSERVER_LISTEN_H

#include "devserver/conn.h"

struct server;
struct listen;

/*
 * Listen on addr ("127.0.0.1:PORT"; PORT 0 picks a free port) for
 * connections of kind.  NULL with *errmsg (caller frees) on failure.
 */
struct listen *listen_create(struct server *, const char *addr, enum conn_kind,
			     char **errmsg);

/* Close the listener and every connection it accepted. */
void listen_free(struct listen *);

/* The bound port. */
int listen_port(const struct listen *);

#endif
