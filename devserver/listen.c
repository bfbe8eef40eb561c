/*
 * listen.c: accept loopback connections and own them until they finish.
 *
 * Finished connections are freed from a deferred event, never inside
 * their own callbacks.  With the refuse-connections fault, the main
 * listener closes each new connection as soon as it is accepted.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "daemon/log.h"
#include "daemon/xmalloc.h"
#include "devserver/conn.h"
#include "devserver/faults.h"
#include "devserver/listen.h"
#include "devserver/server.h"

struct listen_conn {
	struct listen *l;
	struct conn *conn;
	int finished;
	TAILQ_ENTRY(listen_conn) entry;
};

struct listen {
	struct server *server;
	enum conn_kind kind;
	struct evconnlistener *lev;
	struct event *reap;
	int port;
	TAILQ_HEAD(, listen_conn) conns;
};

/* Free the connections that have finished. */
static void
listen_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listen *l = arg;
	struct listen_conn *lc, *next;

	for (lc = TAILQ_FIRST(&l->conns); lc != NULL; lc = next) {
		next = TAILQ_NEXT(lc, entry);
		if (!lc->finished)
			continue;
		TAILQ_REMOVE(&l->conns, lc, entry);
		conn_free(lc->conn);
		free(lc);
	}
}

/* A connection is over: free it on the next loop turn. */
static void
listen_conn_done(struct conn *c, void *arg)
{
	struct listen_conn *lc = arg;

	lc->finished = 1;
	event_active(lc->l->reap, EV_TIMEOUT, 1);
}

/* A new connection. */
static void
listen_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
		 struct sockaddr *sa, int salen, void *arg)
{
	struct listen *l = arg;
	struct listen_conn *lc;

	if (l->kind == CONN_MAIN &&
	    server_faults(l->server)->refuse_connections) {
		log_info("fault: refusing a connection");
		evutil_closesocket(fd);
		return;
	}
	lc = xcalloc(1, sizeof *lc);
	lc->l = l;
	lc->conn = conn_create(l->server, fd, l->kind, listen_conn_done, lc);
	if (lc->conn == NULL) {
		free(lc);
		return;
	}
	TAILQ_INSERT_TAIL(&l->conns, lc, entry);
}

/* Parse "127.0.0.1:PORT" into sin. */
static int
listen_parse_addr(const char *addr, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port < 0 || port > 65535)
		return -1;
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

/* Whether sin is in 127.0.0.0/8. */
static int
listen_is_loopback(const struct sockaddr_in *sin)
{
	return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
}

/* Read back the port the kernel bound. */
static int
listen_bound_port(struct evconnlistener *lev)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&sin,
			&len) != 0)
		return -1;
	return ntohs(sin.sin_port);
}

/* Create a listener. */
struct listen *
listen_create(struct server *server, const char *addr, enum conn_kind kind,
	      char **errmsg)
{
	struct listen *l = xcalloc(1, sizeof *l);
	struct sockaddr_in sin;

	l->server = server;
	l->kind = kind;
	TAILQ_INIT(&l->conns);
	if (listen_parse_addr(addr, &sin) != 0) {
		xasprintf(errmsg, "bad address %s (want IPv4:PORT)", addr);
		goto fail;
	}
	if (!listen_is_loopback(&sin)) {
		if (kind == CONN_CONTROL) {
			xasprintf(errmsg,
				  "the control endpoint must be on "
				  "loopback, not %s",
				  addr);
			goto fail;
		}
		log_warn("listening on %s: instant-devserver is meant for "
			 "loopback",
			 addr);
	}
	l->lev = evconnlistener_new_bind(
	    server_base(server), listen_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&sin, sizeof sin);
	if (l->lev == NULL) {
		xasprintf(errmsg, "cannot listen on %s", addr);
		goto fail;
	}
	if ((l->port = listen_bound_port(l->lev)) < 0) {
		xasprintf(errmsg, "cannot read the port of %s", addr);
		goto fail;
	}
	l->reap = event_new(server_base(server), -1, 0, listen_reap_cb, l);
	return l;
fail:
	listen_free(l);
	return NULL;
}

/* Close the listener and its connections. */
void
listen_free(struct listen *l)
{
	struct listen_conn *lc;

	if (l == NULL)
		return;
	while ((lc = TAILQ_FIRST(&l->conns)) != NULL) {
		TAILQ_REMOVE(&l->conns, lc, entry);
		conn_free(lc->conn);
		free(lc);
	}
	if (l->reap != NULL)
		event_free(l->reap);
	if (l->lev != NULL)
		evconnlistener_free(l->lev);
	free(l);
}

/* The bound port. */
int
listen_port(const struct listen *l)
{
	return l->port;
}
