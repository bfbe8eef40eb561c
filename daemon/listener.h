/*
 * listener.h: the daemon's listening Unix socket, bound at the configured
 * path (with the directory and stale-socket rules of the local protocol)
 * or taken from systemd socket activation, and the SO_PEERCRED check of
 * every connection.
 */
#ifndef DAEMON_LISTENER_H
#define DAEMON_LISTENER_H

struct server;
struct listener;

/*
 * Start listening: on the activation fd if one was passed, else on the
 * configured or default path.  NULL with a message in *err (caller frees).
 */
struct listener *listener_create(struct server *, char **err);

/* Stop; the socket file is removed unless it came from activation. */
void listener_free(struct listener *);

/* The socket path ("(socket activation)" when it is not known). */
const char *listener_path(const struct listener *);

/* The socket path used when none is configured:
 * $XDG_RUNTIME_DIR/instantd/socket, else
 * /tmp/instantd-$UID/socket.  Caller frees. */
char *listener_default_path(void);

#endif
