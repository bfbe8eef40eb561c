/*
 * server.c: the daemon's global state: create (data dir, default app, event
 * loop, signals, listener), the resolver and TLS context made on first
 * use, freeing dead sessions, the heap's quiet-period trim (daemon/heap.c),
 * and shutdown.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "daemon/app.h"
#include "daemon/conf.h"
#include "daemon/heap.h"
#include "daemon/listener.h"
#include "daemon/log.h"
#include "daemon/sd.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/tls.h"
#include "daemon/xmalloc.h"
#include "proto/proto.h"
#include "proto/uuid.h"

/* Wall-clock milliseconds. */
int64_t
server_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2026-11-25T22:10:00.123Z" */
const char *
server_iso_time(int64_t ms, char buf[32])
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	char base[24];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, 32, "%s.%03dZ", base, (int)(ms % 1000));
	return buf;
}

/* The resolver, made on first use. */
struct evdns_base *
server_dns(struct server *srv)
{
	if (srv->dns == NULL &&
	    (srv->dns = evdns_base_new(srv->base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL)
		fatal("cannot create the DNS resolver");
	return srv->dns;
}

/* The TLS context, made on first use. */
struct tls_ctx *
server_tls(struct server *srv)
{
	char *err = NULL;

	if (srv->tls == NULL && !srv->tls_failed &&
	    (srv->tls = tls_ctx_create(srv->cfg->ca_file, &err)) == NULL) {
		log_error("TLS: %s", err != NULL ? err : "cannot set up");
		free(err);
		srv->tls_failed = 1;
	}
	return srv->tls;
}

/* Every HEAP_TICK_SEC: give memory back after a quiet period. */
static void
server_heap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	if (heap_idle_tick(&srv->heap_idle, srv->requests))
		heap_trim();
}

/* Free the sessions that died during the last loop turn. */
static void
server_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	session_reap(arg);
}

/* Schedule server_reap_cb. */
void
server_schedule_reap(struct server *srv)
{
	event_active(srv->reap_ev, EV_TIMEOUT, 0);
}

/* SIGTERM / SIGINT: leave the loop; shutdown happens in main. */
static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	log_info("signal %d: shutting down", (int)sig);
	sd_notify("STOPPING=1");
	event_base_loopbreak(srv->base);
}

/* Tell systemd we are alive. */
static void
server_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify("WATCHDOG=1");
}

/* mkdir -p with mode 0700 for the components we create. */
static int
server_mkdirs(const char *path)
{
	char *p = xstrdup(path), *s;
	int r = -1;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			goto out;
		*s = '/';
	}
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		goto out;
	r = 0;
out:
	free(p);
	return r;
}

/* The default app: configured, or the data dir's local-only app. */
static char *
server_default_app(const struct conf *cfg)
{
	char id[UUID_STRLEN + 2], *path, *tmp;
	FILE *f;
	size_t n = 0;

	if (cfg->default_app != NULL)
		return xstrdup(cfg->default_app);
	xasprintf(&path, "%s/default-app", cfg->data_dir);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(id, 1, UUID_STRLEN + 1, f);
		fclose(f);
		while (n > 0 && (id[n - 1] == '\n' || id[n - 1] == '\r'))
			n--;
		id[n] = '\0';
		if (uuid_normalize(id, id) != 0)
			fatal("%s does not hold an app id (a UUID)", path);
		free(path);
		return xstrdup(id);
	}
	if (errno != ENOENT)
		fatal("%s: %s", path, strerror(errno));
	if (uuid_v4(id) != 0)
		fatal("the random generator failed");
	xasprintf(&tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%s\n", id) < 0 ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0)
		fatal("cannot write %s: %s", path, strerror(errno));
	log_info("created the local-only default app %s", id);
	free(tmp);
	free(path);
	return xstrdup(id);
}

/* Add a persistent signal event. */
static struct event *
server_signal(struct server *srv, int sig, event_callback_fn cb)
{
	struct event *ev = evsignal_new(srv->base, sig, cb, srv);

	if (ev == NULL || event_add(ev, NULL) != 0)
		fatal("cannot watch signal %d", sig);
	return ev;
}

/* Start systemd's watchdog pings at half the interval. */
void
server_start_watchdog(struct server *srv)
{
	uint64_t usec = sd_watchdog_usec();
	struct timeval tv;

	if (usec == 0)
		return;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	srv->watchdog_ev = event_new(srv->base, -1, EV_PERSIST,
	    server_watchdog_cb, srv);
	event_add(srv->watchdog_ev, &tv);
}

/* Detach from the terminal; logs go to the data dir. */
void
server_daemonize(const struct conf *cfg)
{
	char *path;
	int fd;

	xasprintf(&path, "%s/instantd.log", cfg->data_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		fatal("cannot open %s: %s", path, strerror(errno));
	if (daemon(0, 1) != 0)
		fatal("daemon: %s", strerror(errno));
	dup2(fd, STDERR_FILENO);
	close(fd);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	free(path);
}

/* Build the server and start listening. */
struct server *
server_create(struct conf *cfg)
{
	struct server *srv = xcalloc(1, sizeof *srv);
	struct timeval tick = { HEAP_TICK_SEC, 0 };
	char *err = NULL;

	srv->cfg = cfg;
	srv->started_ms = server_now_ms();
	TAILQ_INIT(&srv->sessions);
	TAILQ_INIT(&srv->dead);
	TAILQ_INIT(&srv->apps);
	if (server_mkdirs(cfg->data_dir) != 0)
		fatal("cannot create the data directory %s: %s", cfg->data_dir,
		    strerror(errno));
	srv->default_app = server_default_app(cfg);
	if ((srv->base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	srv->reap_ev = event_new(srv->base, -1, 0, server_reap_cb, srv);
	heap_setup();
	srv->heap_ev = event_new(srv->base, -1, EV_PERSIST, server_heap_cb,
	    srv);
	if (srv->heap_ev == NULL || event_add(srv->heap_ev, &tick) != 0)
		fatal("cannot start the heap's timer");
	srv->sigterm_ev = server_signal(srv, SIGTERM, server_signal_cb);
	srv->sigint_ev = server_signal(srv, SIGINT, server_signal_cb);
	signal(SIGPIPE, SIG_IGN);
	if ((srv->listener = listener_create(srv, &err)) == NULL)
		fatal("%s", err != NULL ? err : "cannot listen");
	return srv;
}

/* Close every session and app, then the loop. */
void
server_free(struct server *srv)
{
	struct session *s;
	struct app *a;

	listener_free(srv->listener);
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		session_kill(s, "daemon shutting down");
	server_reap_cb(-1, 0, srv);
	while ((a = TAILQ_FIRST(&srv->apps)) != NULL)
		app_free(a);
	if (srv->watchdog_ev != NULL)
		event_free(srv->watchdog_ev);
	if (srv->dns != NULL)
		evdns_base_free(srv->dns, 0);
	tls_ctx_free(srv->tls);
	event_free(srv->sigterm_ev);
	event_free(srv->sigint_ev);
	event_free(srv->reap_ev);
	event_free(srv->heap_ev);
	/* Let libevent finish freeing what it defers (bufferevents with
	 * callbacks pending) before the loop goes. */
	event_base_loop(srv->base, EVLOOP_NONBLOCK);
	event_base_free(srv->base);
	free(srv->default_app);
	free(srv);
}

