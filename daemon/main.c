/*
 * main.c: instantd's entry point: configure, build the server, announce
 * readiness, run the loop, shut down cleanly.
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
#include "daemon/listener.h"
#include "daemon/log.h"
#include "daemon/sd.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "daemon/tls.h"
#include "daemon/xmalloc.h"
#include "engine/store.h"
#include "proto/proto.h"
#include "proto/uuid.h"

/* Tell people (and test harnesses) where we are. */
static void
server_announce(struct server *srv)
{
	const char *path = listener_path(srv->listener);
	char status[256];

	fprintf(stderr, "instantd: listening on %s\n", path);
	if (isatty(STDERR_FILENO))
		fprintf(stderr,
		    "instantd: default app %s; try:\n"
		    "  echo '{\"op\":\"status\"}' | socat - UNIX-CONNECT:%s\n"
		    "  instantctl --socket %s query '{\"todos\":{}}'\n",
		    srv->default_app, path, path);
	fflush(stderr);
	snprintf(status, sizeof status, "READY=1\nSTATUS=serving on %s",
	    path);
	sd_notify(status);
}

/* Configure, serve until SIGTERM or SIGINT, shut down. */
int
main(int argc, char **argv)
{
	enum conf_action action;
	struct conf *cfg = conf_create();
	struct server *srv;
	char *err = NULL;
	int r;

	(void)store_init(); /* first: SQLite is not in use yet */
	if ((r = conf_from_args(cfg, argc, argv, &action, &err)) != 0) {
		fprintf(stderr, "instantd: %s\n", err != NULL ? err : "error");
		if (r == CONF_EXIT_USAGE)
			fputs(conf_usage(), stderr);
		free(err);
		conf_free(cfg);
		return r;
	}
	if (action == CONF_HELP) {
		fputs(conf_usage(), stdout);
		conf_free(cfg);
		return 0;
	}
	if (action == CONF_VERSION) {
		printf("%s %s (local protocol %d)\n", PACKAGE_NAME,
		    PACKAGE_VERSION, PROTO_VERSION);
		conf_free(cfg);
		return 0;
	}
	log_init("instantd", cfg->log_level);
	srv = server_create(cfg);
	if (!cfg->foreground && getenv("NOTIFY_SOCKET") == NULL)
		server_daemonize(cfg);
	server_start_watchdog(srv);
	server_announce(srv);
	event_base_dispatch(srv->base);
	server_free(srv);
	conf_free(cfg);
	return 0;
}
