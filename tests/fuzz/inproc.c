/*
 * inproc.c: instantd in-process for fuzz targets (see inproc.h).
 *
 * The data dir lives in /dev/shm when there is one, so that the store
 * files each input creates cost no disk I/O.  Only one client is open at
 * a time: the server's first live session is that client's.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/app.h"
#include "daemon/conf.h"
#include "daemon/log.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/xmalloc.h"
#include "tests/fuzz/inproc.h"

#define INPROC_MAX_TURNS 256

static char inproc_dir[64];

/* Remove one entry of the data dir (nftw callback, deepest first). */
static int
inproc_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	remove(path);
	return 0;
}

/* atexit: remove the data dir. */
static void
inproc_cleanup(void)
{
	if (inproc_dir[0] != '\0')
		nftw(inproc_dir, inproc_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Build the server on a fresh temporary data dir. */
struct server *
inproc_server_create(const char *conf_text)
{
	struct conf *cfg = conf_create();
	struct server *srv;
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char *err = NULL;

	log_init("fuzz", LOG_LEVEL_ERROR);
	snprintf(inproc_dir, sizeof inproc_dir, "%s/instantd-fuzz.XXXXXX", tmp);
	if (mkdtemp(inproc_dir) == NULL)
		fatal("mkdtemp %s: %s", inproc_dir, strerror(errno));
	atexit(inproc_cleanup);
	free(cfg->data_dir);
	cfg->data_dir = xstrdup(inproc_dir);
	xasprintf(&cfg->socket_path, "%s/socket", inproc_dir);
	cfg->synchronous_full = 0;
	cfg->log_level = LOG_LEVEL_ERROR;
	if ((conf_text != NULL &&
	    conf_load_string(cfg, "fuzz", conf_text, &err) != 0) ||
	    conf_finish(cfg, &err) != 0)
		fatal("fuzz config: %s", err != NULL ? err : "?");
	srv = server_create(cfg);
	/* The daemon's SIGINT and SIGTERM handlers replaced libFuzzer's,
	 * which end a run with its stats: give libFuzzer its signals back. */
	event_del(srv->sigint_ev);
	event_del(srv->sigterm_ev);
	return srv;
}

/* Whether the client's session is still live. */
static int
inproc_client_alive(struct server *srv, const struct inproc_client *c)
{
	return c->session != NULL && TAILQ_FIRST(&srv->sessions) == c->session;
}

/* Connect a session over a socketpair. */
int
inproc_client_open(struct server *srv, struct inproc_client *c)
{
	int sv[2];

	c->session = NULL;
	c->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) != 0)
		return -1;
	if ((c->session = session_create(srv, sv[0])) == NULL) {
		close(sv[1]);
		return -1;
	}
	c->fd = sv[1];
	return 0;
}

/* Run the loop, dropping whatever the session wrote. */
void
inproc_client_turns(struct server *srv, struct inproc_client *c, int turns)
{
	char buf[65536];
	int i;

	for (i = 0; i < turns && inproc_client_alive(srv, c); i++) {
		event_base_loop(srv->base, EVLOOP_NONBLOCK);
		while (read(c->fd, buf, sizeof buf) > 0)
			;
	}
}

/* Write everything (or give up when the session stops reading). */
void
inproc_client_send(struct server *srv, struct inproc_client *c, const char *data,
    size_t len)
{
	size_t off = 0, lines = 0, i;
	ssize_t n;
	int turns = 0;

	for (i = 0; i < len; i++)
		lines += data[i] == '\n';
	while (off < len && turns < INPROC_MAX_TURNS && inproc_client_alive(srv, c)) {
		if ((n = write(c->fd, data + off, len - off)) > 0)
			off += (size_t)n;
		else {
			inproc_client_turns(srv, c, 1);
			turns++;
		}
	}
	inproc_client_turns(srv, c, (int)(lines < INPROC_MAX_TURNS ? lines + 1 :
	    INPROC_MAX_TURNS));
}

/* EOF, a bounded wait for the session to close, then free it. */
void
inproc_client_close(struct server *srv, struct inproc_client *c)
{
	if (c->fd < 0)
		return;
	shutdown(c->fd, SHUT_WR);
	inproc_client_turns(srv, c, INPROC_MAX_TURNS);
	if (inproc_client_alive(srv, c))
		session_kill(c->session, "fuzz input done");
	session_reap(srv);
	close(c->fd);
	c->fd = -1;
	c->session = NULL;
}

/* Free every app, then delete the store files. */
void
inproc_server_reset(struct server *srv)
{
	struct app *a;
	struct dirent *de;
	char *dir, *path;
	DIR *d;

	while ((a = TAILQ_FIRST(&srv->apps)) != NULL)
		app_free(a);
	xasprintf(&dir, "%s/apps", inproc_dir);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			xasprintf(&path, "%s/%s", dir, de->d_name);
			unlink(path);
			free(path);
		}
		closedir(d);
	}
	free(dir);
}
