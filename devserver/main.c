/*
 * main.c: instant-devserver, Instant's server protocol on loopback for
 * tests and local development (not for production: run a self-hosted
 * Instant server there).
 *
 * Start-up: parse options, open the server state, bind the listeners,
 * then print the readiness lines on stdout (flushed):
 *   instant-devserver listening on 127.0.0.1:PORT
 *   instant-devserver control on 127.0.0.1:PORT      (with --control)
 * SIGINT and SIGTERM stop the loop, and so does the end of standard input
 * with --exit-on-stdin-eof (for test harnesses: the server goes away with
 * the process that started it); everything is freed before exit.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/log.h"
#include "daemon/xmalloc.h"
#include "devserver/faults.h"
#include "devserver/listen.h"
#include "devserver/server.h"

#define MAIN_MAX_ARGS 64

struct main_opts {
	const char *listen;
	const char *control;
	const char *apps[MAIN_MAX_ARGS];
	const char *faults[MAIN_MAX_ARGS];
	size_t nfaults;
	struct server_config cfg;
	enum log_level level;
	int stdin_eof; /* exit when standard input reaches end of file */
};

/* Print usage to f. */
static void
main_usage(FILE *f)
{
	fprintf(f,
		"usage: instant-devserver --data DIR [--listen 127.0.0.1:PORT]"
		" [--app APP_ID]...\n"
		"       [--control 127.0.0.1:PORT] [--ping-interval MS]"
		" [--idle-timeout MS]\n"
		"       [--max-message BYTES] [--fault NAME[=VALUE]]..."
		" [--log-level LEVEL]\n"
		"       [--exit-on-stdin-eof]\n");
}

/* Parse a positive integer option or exit. */
static long
main_number(const char *name, const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0 || v > max) {
		fprintf(stderr, "instant-devserver: bad %s: %s\n", name, s);
		exit(2);
	}
	return v;
}

/* Handle one option; exits on a bad one. */
static void
main_option(struct main_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'l':
		o->listen = arg;
		break;
	case 'd':
		o->cfg.data_dir = arg;
		break;
	case 'c':
		o->control = arg;
		break;
	case 'a':
		if (o->cfg.napps == MAIN_MAX_ARGS)
			goto bad;
		o->apps[o->cfg.napps++] = arg;
		break;
	case 'f':
		if (o->nfaults == MAIN_MAX_ARGS)
			goto bad;
		o->faults[o->nfaults++] = arg;
		break;
	case 'p':
		o->cfg.ping_ms =
		    (int)main_number("ping interval", arg, 3600000);
		break;
	case 'i':
		o->cfg.idle_ms = (int)main_number("idle timeout", arg, 3600000);
		break;
	case 'm':
		o->cfg.max_msg =
		    (size_t)main_number("max message", arg, 256L * 1024 * 1024);
		break;
	case 'L':
		if (log_level_parse(arg, &o->level) != 0)
			goto bad;
		break;
	case 'E':
		o->stdin_eof = 1;
		break;
	case 'h':
		main_usage(stdout);
		exit(0);
	case 'V':
		printf("instant-devserver %s\n", DEVSERVER_VERSION);
		exit(0);
	default:
		goto bad;
	}
	return;
bad:
	main_usage(stderr);
	exit(2);
}

/* Parse the command line into o. */
static void
main_parse(struct main_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"data", required_argument, NULL, 'd'},
	    {"app", required_argument, NULL, 'a'},
	    {"control", required_argument, NULL, 'c'},
	    {"ping-interval", required_argument, NULL, 'p'},
	    {"idle-timeout", required_argument, NULL, 'i'},
	    {"max-message", required_argument, NULL, 'm'},
	    {"fault", required_argument, NULL, 'f'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"exit-on-stdin-eof", no_argument, NULL, 'E'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof *o);
	o->listen = "127.0.0.1:0";
	o->cfg.ping_ms = 5000;
	o->cfg.idle_ms = 15000;
	o->cfg.max_msg = 16 * 1024 * 1024;
	o->level = LOG_LEVEL_INFO;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		main_option(o, c, optarg);
	if (optind != argc || o->cfg.data_dir == NULL) {
		main_usage(stderr);
		exit(2);
	}
	o->cfg.apps = o->apps;
}

/* SIGINT/SIGTERM: stop the loop. */
static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(arg);
}

/* Standard input is readable: stop at end of file (the parent is gone). */
static void
main_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[256];
	ssize_t n = read(fd, buf, sizeof buf);

	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		log_info("standard input closed: stopping");
		event_base_loopbreak(arg);
	}
}

/* Apply the --fault settings: 0 or -1. */
static int
main_faults(struct server *sv, const struct main_opts *o)
{
	const char *errmsg;

	for (size_t i = 0; i < o->nfaults; i++) {
		if (faults_apply_arg(server_faults(sv), o->faults[i],
				     &errmsg) != 0) {
			log_error("--fault %s: %s", o->faults[i], errmsg);
			return -1;
		}
	}
	return 0;
}

/* Create the data directory if needed: 0 or -1. */
static int
main_data_dir(const char *dir)
{
	struct stat sb;

	if (mkdir(dir, 0700) != 0 &&
	    (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
		log_error("cannot use data directory %s", dir);
		return -1;
	}
	return 0;
}

/* Bind both listeners and announce them: 0 or -1. */
static int
main_listen(struct server *sv, const struct main_opts *o, struct listen **lmain,
	    struct listen **lctl)
{
	char *errmsg = NULL;

	if ((*lmain = listen_create(sv, o->listen, CONN_MAIN, &errmsg)) == NULL)
		goto fail;
	if (o->control != NULL &&
	    (*lctl = listen_create(sv, o->control, CONN_CONTROL, &errmsg)) ==
		NULL)
		goto fail;
	printf("instant-devserver listening on 127.0.0.1:%d\n",
	       listen_port(*lmain));
	if (*lctl != NULL)
		printf("instant-devserver control on 127.0.0.1:%d\n",
		       listen_port(*lctl));
	fflush(stdout);
	return 0;
fail:
	log_error("%s", errmsg);
	free(errmsg);
	return -1;
}

/* Parse options, serve until SIGINT or SIGTERM, free everything. */
int
main(int argc, char **argv)
{
	struct main_opts o;
	struct event_base *base = NULL;
	struct event *sigint = NULL, *sigterm = NULL, *evstdin = NULL;
	struct server *sv = NULL;
	struct listen *lmain = NULL, *lctl = NULL;
	char *errmsg = NULL;
	int r = 1;

	main_parse(&o, argc, argv);
	log_init("instant-devserver", o.level);
	signal(SIGPIPE, SIG_IGN);
	if (main_data_dir(o.cfg.data_dir) != 0)
		goto out;
	if ((base = event_base_new()) == NULL)
		goto out;
	if ((sv = server_create(base, &o.cfg, &errmsg)) == NULL) {
		log_error("%s", errmsg);
		goto out;
	}
	if (main_faults(sv, &o) != 0 || main_listen(sv, &o, &lmain, &lctl) != 0)
		goto out;
	sigint = evsignal_new(base, SIGINT, main_signal_cb, base);
	sigterm = evsignal_new(base, SIGTERM, main_signal_cb, base);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	if (o.stdin_eof) {
		evstdin = event_new(base, STDIN_FILENO, EV_READ | EV_PERSIST,
				    main_stdin_cb, base);
		event_add(evstdin, NULL);
	}
	log_info("serving; data in %s (for tests and development only)",
		 o.cfg.data_dir);
	event_base_dispatch(base);
	r = 0;
out:
	listen_free(lctl);
	listen_free(lmain);
	server_free(sv);
	if (sigint != NULL)
		event_free(sigint);
	if (sigterm != NULL)
		event_free(sigterm);
	if (evstdin != NULL)
		event_free(evstdin);
	if (base != NULL)
		event_base_free(base);
	free(errmsg);
	return r;
}
