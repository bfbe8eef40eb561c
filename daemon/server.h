/*
 * server.h: the daemon's global state, one per process: the event loop,
 * the configuration, the listening socket, every local session and every
 * app.  Modules reach it through the pointer each object keeps.
 */
#ifndef DAEMON_SERVER_H
#define DAEMON_SERVER_H

#include <stdint.h>
#include <sys/queue.h>

#include "daemon/heap.h"

struct event_base;
struct event;
struct conf;
struct evdns_base;
struct tls_ctx;
struct conf;
struct listener;
struct session;
struct app;

TAILQ_HEAD(session_list, session);
TAILQ_HEAD(app_list, app);

struct server {
	struct event_base *base;
	struct conf *cfg;
	struct listener *listener;
	struct session_list sessions; /* live */
	struct session_list dead;     /* to free on the next loop turn */
	struct event *reap_ev;
	struct app_list apps;
	char *default_app;            /* UUID of the default app */
	uint64_t next_session_id;
	int64_t started_ms;
	struct event *sigterm_ev, *sigint_ev, *sigpipe_ev, *watchdog_ev;
	struct event *heap_ev;        /* the heap's quiet-period check */
	struct heap_idle heap_idle;
	uint64_t requests;            /* request lines read */
	struct evdns_base *dns;       /* created on first use */
	struct tls_ctx *tls;          /* created on first use */
	int tls_failed;
};

/* The resolver and the TLS context for upstream connections (NULL if the
 * TLS context could not be made; the reason was logged). */
struct evdns_base *server_dns(struct server *);
struct tls_ctx *server_tls(struct server *);

/* Build the server: data dir, default app, event loop, signals and the
 * listening socket.  Startup failures are fatal. */
struct server *server_create(struct conf *);

/* Close every session and app, then the loop. */
void server_free(struct server *);

/* Start systemd's watchdog pings (when WATCHDOG_USEC asks for them). */
void server_start_watchdog(struct server *);

/* Detach from the terminal, logging to the data dir. */
void server_daemonize(const struct conf *);

/* The current wall-clock time in milliseconds. */
int64_t server_now_ms(void);

/* Format ms since the epoch as an ISO 8601 UTC string into buf. */
const char *server_iso_time(int64_t ms, char buf[32]);

/* Ask for dead sessions to be freed on the next loop turn. */
void server_schedule_reap(struct server *);

#endif
