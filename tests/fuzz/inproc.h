/*
 * inproc.h: instantd in-process for fuzz targets.
 *
 * One server per process on a temporary data dir (removed at exit), and
 * local sessions over socketpairs: a target writes request lines to the
 * peer end and runs the event loop without blocking until the session has
 * answered and gone.  Every app (and its store file) is freed after each
 * input so that no input depends on the ones before it.
 */
#ifndef TESTS_FUZZ_INPROC_H
#define TESTS_FUZZ_INPROC_H

#include <stddef.h>

struct server;
struct session;

/* A local session and the peer end of its socket. */
struct inproc_client {
	struct session *session;
	int fd;
};

/* Create the server; conf_text (may be NULL) is config file text, e.g.
 * an [app ...] section.  Startup failures are fatal. */
struct server *inproc_server_create(const char *conf_text);

/* Connect a new local session: 0, or -1. */
int inproc_client_open(struct server *, struct inproc_client *);

/* Write data to the session, running the loop while the socket is full,
 * and then one more turn per request line. */
void inproc_client_send(struct server *, struct inproc_client *,
    const char *data, size_t len);

/* Run up to turns loop iterations, reading and dropping the output. */
void inproc_client_turns(struct server *, struct inproc_client *, int turns);

/* Send EOF, let the session finish and close (or kill it after a bounded
 * number of turns) and free it. */
void inproc_client_close(struct server *, struct inproc_client *);

/* Free every app and delete its store, as if the daemon had never seen
 * them. */
void inproc_server_reset(struct server *);

#endif
