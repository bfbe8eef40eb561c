/*
 * connect.c: where the daemon listens, and connecting to it.
 *
 * The path is resolved exactly as instantd resolves the path it listens
 * on (see instantd_socket_path() in the public header).  The /tmp fallback
 * lives in a directory anyone could have created first, so before trusting
 * a socket there the directory must be a real directory owned by the user
 * and closed to group and others, the same check the daemon makes.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_lib/client-int.h"

/* The socket path, and in *fallback whether it is the /tmp fallback. */
static char *
connect_resolve(const char *path, int *fallback)
{
	const char *env;
	char *s;

	*fallback = 0;
	if (path != NULL && *path != '\0')
		return strdup(path);
	if ((env = getenv("INSTANTD_SOCKET")) != NULL && *env != '\0')
		return strdup(env);
	if ((env = getenv("XDG_RUNTIME_DIR")) != NULL && *env == '/') {
		if (asprintf(&s, "%s/instantd/socket", env) < 0)
			return NULL;
		return s;
	}
	*fallback = 1;
	if (asprintf(&s, "/tmp/instantd-%u/socket", (unsigned int)getuid()) < 0)
		return NULL;
	return s;
}

/* The path a client connects to (caller frees), or NULL without memory. */
char *
instantd_socket_path(const char *path)
{
	int fallback;

	return connect_resolve(path, &fallback);
}

/* Check that the directory of the /tmp fallback socket is ours alone. */
static int
connect_check_dir(struct instantd_client *c, const char *socket_path)
{
	const char *slash = strrchr(socket_path, '/');
	char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
	struct stat st;

	snprintf(dir, sizeof dir, "%.*s", (int)(slash - socket_path),
	    socket_path);
	if (lstat(dir, &st) == -1)
		return client_err(c, INSTANTD_ERR_UNAVAILABLE,
		    "no daemon at %s: %s", socket_path, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077) != 0)
		return client_err(c, INSTANTD_ERR_UNAVAILABLE,
		    "refusing %s: not a directory of yours closed to others",
		    dir);
	return INSTANTD_OK;
}

/* connect(2) to path: a connected fd, or -1 with the error recorded. */
static int
connect_socket(struct instantd_client *c, const char *path, int *status)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		*status = client_err(c, INSTANTD_ERR_INVALID,
		    "socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*status = client_err(c, INSTANTD_ERR_IO, "socket: %s",
		    strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		int e = errno;

		*status = client_err(c, e == ENOENT || e == ECONNREFUSED ||
		    e == ENOTDIR ? INSTANTD_ERR_UNAVAILABLE : INSTANTD_ERR_IO,
		    "cannot connect to %s: %s", path, strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

/* Connect to the daemon at the resolved path. */
int
instantd_connect(instantd_client *c, const char *path)
{
	int r = INSTANTD_ERR_NOMEM, fallback, fd;
	char *resolved;

	if (c == NULL)
		return INSTANTD_ERR_INVALID;
	if ((resolved = connect_resolve(path, &fallback)) == NULL)
		return client_err(c, r, "out of memory");
	if (fallback && (r = connect_check_dir(c, resolved)) != INSTANTD_OK)
		goto out;
	if ((fd = connect_socket(c, resolved, &r)) == -1)
		goto out;
	r = instantd_connect_fd(c, fd);
out:
	free(resolved);
	return r;
}
