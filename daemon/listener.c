/*
 * listener.c: the listening socket.
 *
 * The directory holding the socket is created 0700; a default directory
 * that is a symlink, is owned by another user or is open to others is
 * refused.  The socket itself is bound under umask 0177 so it is never
 * visible with wider permissions than 0600 (fchmod on a socket fd does not
 * protect it).  A lock file beside the socket makes a second daemon refuse
 * to start; a socket file nobody listens on is stale and replaced.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "daemon/conf.h"
#include "daemon/listener.h"
#include "daemon/log.h"
#include "daemon/sd.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/xmalloc.h"
#include "proto/proto.h"

struct listener {
	struct server *server;
	struct evconnlistener *evl;
	char *path;
	int lock_fd;
	int activated;
};

/* Default path by the protocol's rules (without the config). */
char *
listener_default_path(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char *p;

	if (rt != NULL && *rt == '/')
		xasprintf(&p, "%s/instantd/socket", rt);
	else
		xasprintf(&p, "/tmp/instantd-%u/socket", (unsigned)getuid());
	return p;
}

/* The path in use. */
const char *
listener_path(const struct listener *l)
{
	return l->path != NULL ? l->path : "(socket activation)";
}

/* Format an error; returns -1. */
static int
listener_err(char **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
listener_err(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -1;
}

/* Create dir 0700 if missing; with strict, refuse unsafe directories. */
static int
listener_prepare_dir(const char *dir, int strict, char **err)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return listener_err(err, "cannot create %s: %s", dir,
		    strerror(errno));
	if (lstat(dir, &st) != 0)
		return listener_err(err, "%s: %s", dir, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return listener_err(err, "refusing %s: it is a symbolic link",
		    dir);
	if (!S_ISDIR(st.st_mode))
		return listener_err(err, "refusing %s: not a directory", dir);
	if (!strict)
		return 0;
	if (st.st_uid != geteuid())
		return listener_err(err,
		    "refusing %s: owned by uid %u, not by uid %u", dir,
		    (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 077) != 0)
		return listener_err(err,
		    "refusing %s: mode %03o is open to others (want 0700)",
		    dir, (unsigned)(st.st_mode & 0777));
	return 0;
}

/* Fill a sockaddr_un; -1 if path is too long. */
static int
listener_sockaddr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path)
		return -1;
	strcpy(sun->sun_path, path);
	return 0;
}

/* Take the lock beside the socket; -1 if another daemon holds it. */
static int
listener_lock(struct listener *l, char **err)
{
	char *lock;
	int fd;

	xasprintf(&lock, "%s.lock", l->path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		listener_err(err, "cannot open %s: %s", lock, strerror(errno));
		free(lock);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		free(lock);
		return listener_err(err,
		    "another instantd is already serving %s", l->path);
	}
	free(lock);
	l->lock_fd = fd;
	return 0;
}

/* Remove a stale socket; refuse a live one or a non-socket. */
static int
listener_clear_stale(const char *path, char **err)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 :
		    listener_err(err, "%s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return listener_err(err, "refusing %s: exists and is not a socket",
		    path);
	listener_sockaddr(path, &sun);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return listener_err(err, "socket: %s", strerror(errno));
	r = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	if (r == 0)
		return listener_err(err,
		    "another instantd is already serving %s", path);
	log_info("replacing stale socket %s", path);
	if (unlink(path) != 0 && errno != ENOENT)
		return listener_err(err, "cannot remove stale %s: %s", path,
		    strerror(errno));
	return 0;
}

/* Bind and listen at l->path under umask 0177. */
static int
listener_bind(struct listener *l, char **err)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, r;

	if (listener_sockaddr(l->path, &sun) != 0)
		return listener_err(err, "socket path too long: %s", l->path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return listener_err(err, "socket: %s", strerror(errno));
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (r != 0 || listen(fd, 128) != 0) {
		listener_err(err, "cannot listen on %s: %s", l->path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether the peer runs as our uid; refuse it with one error line. */
static int
listener_peer_ok(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	char *line;
	json_t *e;
	size_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		log_warn("SO_PEERCRED: %s", strerror(errno));
		return 0;
	}
	if (cred.uid == geteuid())
		return 1;
	log_warn("refused a connection from uid %u pid %d", (unsigned)cred.uid,
	    (int)cred.pid);
	e = proto_reply_error(NULL, PROTO_FORBIDDEN,
	    "this instantd serves only its own user", NULL);
	if ((line = proto_encode(e, &n)) != NULL) {
		if (send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_debug("send: %s", strerror(errno));
		free(line);
	}
	json_decref(e);
	return 0;
}

/* A connection arrived. */
static void
listener_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;

	if (!listener_peer_ok(fd)) {
		close(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	if (session_create(l->server, fd) == NULL)
		log_warn("cannot create a session");
}

/* accept() failed (EMFILE and such): log and go on. */
static void
listener_error_cb(struct evconnlistener *evl, void *arg)
{
	log_warn("accept: %s", strerror(errno));
}

/* Use the first activation fd; -1 if it is not a stream socket. */
static int
listener_activated_fd(char **err)
{
	int type = 0;
	socklen_t len = sizeof type;

	if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_TYPE, &type,
	    &len) != 0 || type != SOCK_STREAM)
		return listener_err(err,
		    "the socket passed by systemd is not a stream socket");
	evutil_make_socket_nonblocking(SD_LISTEN_FDS_START);
	return SD_LISTEN_FDS_START;
}

/* Bind or adopt, then listen. */
struct listener *
listener_create(struct server *srv, char **err)
{
	struct listener *l = xcalloc(1, sizeof *l);
	char *dir, *slash;
	int fd = -1, n, strict;

	l->server = srv;
	l->lock_fd = -1;
	if ((n = sd_listen_fds()) > 0) {
		l->activated = 1;
		if ((fd = listener_activated_fd(err)) < 0)
			goto fail;
	} else {
		strict = srv->cfg->socket_path == NULL;
		l->path = strict ? listener_default_path() :
		    xstrdup(srv->cfg->socket_path);
		dir = xstrdup(l->path);
		if ((slash = strrchr(dir, '/')) == NULL)
			strcpy(dir, "."); /* conf_finish makes paths absolute */
		else
			slash[slash == dir] = '\0'; /* "/s" is in "/" */
		n = listener_prepare_dir(dir, strict, err);
		free(dir);
		if (n != 0 || listener_lock(l, err) != 0 ||
		    listener_clear_stale(l->path, err) != 0 ||
		    (fd = listener_bind(l, err)) < 0)
			goto fail;
	}
	l->evl = evconnlistener_new(srv->base, listener_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->evl == NULL) {
		listener_err(err, "cannot watch the listening socket");
		close(fd);
		goto fail;
	}
	evconnlistener_set_error_cb(l->evl, listener_error_cb);
	return l;
fail:
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	free(l->path);
	free(l);
	return NULL;
}

/* Stop listening and remove our socket file. */
void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	/* The lock file stays: removing it would race a starting daemon. */
	if (!l->activated && l->path != NULL)
		unlink(l->path);
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	free(l->path);
	free(l);
}
