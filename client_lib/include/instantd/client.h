/*
 * instantd/client.h: libinstantd, the C client of instantd's local protocol.
 *
 * instantd speaks JSON lines over a Unix socket: one request object per
 * line, exactly one reply per request (in request order), and unsolicited
 * events.  This library owns the socket, frames lines in both directions,
 * matches every reply to the callback given with its request, and hands
 * events to per-kind callbacks.
 *
 * Main loops.  The library never blocks, except in instantd_call() and
 * briefly in instantd_connect() (connect(2) to a local socket).  Watch
 * instantd_fd() for reading always, and for writing while
 * instantd_want_write() is true (instantd_on_want_write() reports each
 * change); call instantd_dispatch() whenever the fd is ready.  This fits
 * poll(2), GLib (g_unix_fd_add) and libevent (event_new with EV_PERSIST);
 * the fd is level-triggered: do not use edge-triggered epoll.  With poll:
 *
 *	instantd_client *c = instantd_create();
 *
 *	if (c == NULL || instantd_connect(c, NULL) != INSTANTD_OK)
 *		(report instantd_errmsg(c); instantd_free(c))
 *	instantd_on_event(c, INSTANTD_EVENT_RESULT, on_result, state);
 *	instantd_send(c, subscribe_request, on_reply, state);
 *	for (;;) {
 *		struct pollfd p = { instantd_fd(c), POLLIN, 0 };
 *
 *		if (instantd_want_write(c))
 *			p.events |= POLLOUT;
 *		if (poll(&p, 1, -1) == -1 && errno != EINTR)
 *			break;
 *		if (instantd_dispatch(c) != INSTANTD_OK)
 *			break;	(the daemon went away: reconnect or give up)
 *	}
 *	instantd_free(c);
 *
 * Errors.  Nothing aborts or exits.  Functions returning int return
 * INSTANTD_OK (0) or a negative enum instantd_status; instantd_errmsg()
 * then describes the last failure in words.  After a connection-level
 * failure (closed, I/O, too-large, protocol) the connection is closed:
 * every reply callback still waiting is called once with a NULL reply,
 * and later calls return INSTANTD_ERR_CLOSED until the next connect.
 *
 * Ownership.  const char * and const json_t * parameters are borrowed: the
 * library copies what it keeps.  A reply or event passed to a callback is
 * borrowed for the duration of the call (json_incref() it to keep it).
 * json_t ** results are new references owned by the caller.
 *
 * Callbacks run only inside instantd_dispatch(), instantd_call(),
 * instantd_connect(), instantd_connect_fd(), instantd_free() and (the
 * want-write callback) instantd_send*().  They may send requests and
 * change callbacks.  They may call instantd_free(): the client is then
 * released when the library function that ran the callback returns, and
 * its caller must not use the client afterwards.  They may not call
 * instantd_call() (it returns INSTANTD_ERR_BUSY).
 *
 * Threads: a client is used by one thread at a time; distinct clients are
 * independent.  The library never changes signal dispositions (writes use
 * MSG_NOSIGNAL).
 */
#ifndef INSTANTD_CLIENT_H
#define INSTANTD_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default cap on one line received from the daemon: 64 MiB. */
#define INSTANTD_DEFAULT_MAX_LINE ((size_t)64 * 1024 * 1024)

/* Results of the functions returning int. */
enum instantd_status {
	INSTANTD_OK = 0,
	INSTANTD_ERR_INVALID = -1,     /* a bad argument */
	INSTANTD_ERR_NOMEM = -2,       /* out of memory */
	INSTANTD_ERR_UNAVAILABLE = -3, /* no daemon listens at the path */
	INSTANTD_ERR_CLOSED = -4,      /* not connected, or the daemon hung up */
	INSTANTD_ERR_IO = -5,          /* a socket error */
	INSTANTD_ERR_TOO_LARGE = -6,   /* a line from the daemon over the cap */
	INSTANTD_ERR_PROTOCOL = -7,    /* the daemon sent something invalid */
	INSTANTD_ERR_TIMEOUT = -8,     /* instantd_call() timed out */
	INSTANTD_ERR_BUSY = -9,        /* instantd_call() from a callback */
};

/* Kinds of event, for instantd_on_event(). */
enum instantd_event {
	INSTANTD_EVENT_ANY,        /* every event, after its own callback */
	INSTANTD_EVENT_RESULT,     /* "result": a subscription's new data */
	INSTANTD_EVENT_TX,         /* "tx": a transaction changed status */
	INSTANTD_EVENT_CONNECTION, /* "connection": the upstream state */
	INSTANTD_EVENT_OVERFLOW,   /* "overflow": the daemon gave up on us */
};

/* The opaque client handle. */
typedef struct instantd_client instantd_client;

/*
 * Called exactly once per request: with its reply, or with reply NULL if
 * the connection closed (or the client was freed) before the reply came.
 */
typedef void (*instantd_reply_cb)(instantd_client *c, json_t *reply,
    void *arg);

/* Called for an event; name is the event's "event" member. */
typedef void (*instantd_event_cb)(instantd_client *c, const char *name,
    json_t *event, void *arg);

/* Called when instantd_want_write() changes to want_write. */
typedef void (*instantd_want_write_cb)(instantd_client *c, int want_write,
    void *arg);

/*
 * Create an unconnected client.  Returns NULL only when out of memory.
 * Free it with instantd_free().
 */
instantd_client *instantd_create(void);

/*
 * Close the connection, call every waiting reply callback with NULL and
 * release the client.  NULL is a no-op.  From inside a callback the release
 * is deferred until the library returns from that callback.
 */
void instantd_free(instantd_client *c);

/*
 * Cap the length of one line from the daemon (without its newline) at
 * max_line bytes, 0 meaning INSTANTD_DEFAULT_MAX_LINE.  Applies to the next
 * connection.  A longer line fails the connection with
 * INSTANTD_ERR_TOO_LARGE.
 */
int instantd_set_max_line(instantd_client *c, size_t max_line);

/*
 * The socket path a client connects to, resolved exactly as instantd
 * resolves the path it listens on: path if not NULL or empty, else
 * $INSTANTD_SOCKET if set and not empty, else
 * $XDG_RUNTIME_DIR/instantd/socket if XDG_RUNTIME_DIR is an absolute path,
 * else /tmp/instantd-$UID/socket.  Returns a new string (caller frees), or
 * NULL when out of memory.
 */
char *instantd_socket_path(const char *path);

/*
 * Connect to the daemon at instantd_socket_path(path).  Blocks only in
 * connect(2), which on a local socket returns at once unless the daemon's
 * listen backlog is full.  For the /tmp fallback, the directory must belong to the user
 * and be closed to others.  On success a connection already open is
 * replaced (its waiting callbacks get NULL); on failure it is kept.
 * INSTANTD_ERR_UNAVAILABLE when no daemon listens there.
 */
int instantd_connect(instantd_client *c, const char *path);

/*
 * Use fd, an already connected stream socket, as the connection (for
 * socketpair(2) and inherited descriptors).  The client takes ownership of
 * fd, also on failure, and makes it non-blocking and close-on-exec.
 */
int instantd_connect_fd(instantd_client *c, int fd);

/* The connection's descriptor, or -1 when not connected.  Do not close it. */
int instantd_fd(const instantd_client *c);

/* Whether the client has queued bytes to write: watch the fd for POLLOUT. */
int instantd_want_write(const instantd_client *c);

/*
 * Have cb called with the new value each time instantd_want_write()
 * changes (NULL to stop).
 */
void instantd_on_want_write(instantd_client *c, instantd_want_write_cb cb,
    void *arg);

/*
 * Have cb called for events of kind (NULL to stop); replaces the previous
 * callback of that kind.  INSTANTD_EVENT_ANY sees every event, including
 * kinds this library does not know, after the kind's own callback.
 */
int instantd_on_event(instantd_client *c, enum instantd_event kind,
    instantd_event_cb cb, void *arg);

/*
 * Send the request object req (borrowed).  If req has no "id" member, the
 * library sends it with the next integer id (1, 2, ...) added.  cb (may be
 * NULL) is called once with the reply, from instantd_dispatch() or
 * instantd_call(), never from inside this function; if this function fails,
 * cb is never called.  The bytes go out now if the socket takes them, else
 * when instantd_dispatch() finds it writable; a write error shows in the
 * next instantd_dispatch().  Replies are matched in request order, and the
 * reply's id is checked against the request's.
 */
int instantd_send(instantd_client *c, const json_t *req, instantd_reply_cb cb,
    void *arg);

/*
 * Send one raw request line of len bytes, as given (a final '\n' is
 * optional and added if missing).  The line may not contain other
 * newlines and may not be blank.  It is not validated: the daemon answers
 * an invalid line with an error reply, which goes to cb like any reply.
 * The line's id is the caller's business (it is not checked).  Otherwise
 * as instantd_send().
 */
int instantd_send_line(instantd_client *c, const char *line, size_t len,
    instantd_reply_cb cb, void *arg);

/*
 * Do the pending work without blocking: write queued bytes the socket
 * takes, read what has arrived, and call the callbacks for every complete
 * line.  Call it when the fd is readable or (while wanted) writable.
 * Returns INSTANTD_OK, or an error after which the connection is closed.
 * INSTANTD_ERR_CLOSED means the daemon hung up (after every line it sent
 * was delivered).
 */
int instantd_dispatch(instantd_client *c);

/*
 * Send req like instantd_send() and wait for its reply for at most
 * timeout_ms milliseconds (negative: no limit), delivering events and
 * other replies that arrive meanwhile to their callbacks.  On success
 * *reply is the reply (a new reference; it may be an error reply, see
 * instantd_reply_ok()).  On INSTANTD_ERR_TIMEOUT the connection stays
 * usable and the late reply is dropped when it comes.
 */
int instantd_call(instantd_client *c, const json_t *req, int timeout_ms,
    json_t **reply);

/* Whether reply is a success reply ("ok": true). */
int instantd_reply_ok(const json_t *reply);

/*
 * The error code ("not-found", ...) of an error reply, or NULL.  Borrowed
 * from reply.
 */
const char *instantd_reply_error_code(const json_t *reply);

/* The error message of an error reply, or NULL.  Borrowed from reply. */
const char *instantd_reply_error_message(const json_t *reply);

/*
 * The last failure of c in words (never NULL; "" if none).  Valid until
 * the next call on c.
 */
const char *instantd_errmsg(const instantd_client *c);

/* A static description of status. */
const char *instantd_strerror(int status);

#ifdef __cplusplus
}
#endif

#endif
