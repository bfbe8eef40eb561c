/* sd.c: socket activation and sd_notify by their environment protocols. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/sd.h"

/* Parse a decimal variable; -1 if absent or bad. */
static long long
sd_env_number(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return -1;
	return v;
}

/* Count and claim the activation fds. */
int
sd_listen_fds(void)
{
	long long pid = sd_env_number("LISTEN_PID");
	long long n = sd_env_number("LISTEN_FDS");
	int fd;

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (pid != (long long)getpid() || n <= 0 || n > 64)
		return 0;
	for (fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		int flags = fcntl(fd, F_GETFD);

		if (flags < 0)
			return -1;
		fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	}
	return (int)n;
}

/* One datagram to $NOTIFY_SOCKET ('@' means the abstract namespace). */
int
sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t plen;
	int fd, r = -1;

	if (path == NULL || *path == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof sun.sun_path)
		return -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) >= 0)
		r = 1;
	close(fd);
	return r;
}

/* WATCHDOG_USEC, if meant for this process. */
uint64_t
sd_watchdog_usec(void)
{
	long long pid = sd_env_number("WATCHDOG_PID");
	long long usec = sd_env_number("WATCHDOG_USEC");

	if (usec <= 0 || (pid >= 0 && pid != (long long)getpid()))
		return 0;
	return (uint64_t)usec;
}
