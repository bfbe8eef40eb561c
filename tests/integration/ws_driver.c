/*
 * ws_driver.c: drive daemon/ws.c and daemon/http.c from shell tests.
 *
 *	ws_driver ws URI [--ca FILE] [--send TEXT]... [--until TEXT]
 *	    [--dead SEC] [--max-msg BYTES]
 *		Connect; once open send each TEXT; print "open", one
 *		"message: ..." line per message and "closed: REASON".  With
 *		--until, close ("done") after a message containing TEXT.
 *	ws_driver http GET|POST URL [--ca FILE] [--body JSON]
 *		Print "status: N", "body: JSON" (when there is one) and
 *		"error: ..." (when there is one).
 *
 * wss and https always use a TLS context (the system store, plus FILE).
 * Exits 0 once closed or the HTTP callback ran, 2 after --timeout seconds
 * (default 20) without that, 64 on bad usage.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <jansson.h>

#include "daemon/http.h"
#include "daemon/log.h"
#include "daemon/tls.h"
#include "daemon/ws.h"

#define MAX_SENDS 16

struct drv {
	struct event_base *base;
	struct ws *ws;
	const char *sends[MAX_SENDS];
	int nsends;
	const char *until;
	const char *ca;
	const char *body;
	int timeout;
	struct ws_opts opts;
	int finished;
};

/* Open: send the queued texts. */
static void
drv_open(void *arg)
{
	struct drv *d = arg;

	printf("open\n");
	for (int i = 0; i < d->nsends; i++)
		if (ws_send_text(d->ws, d->sends[i], strlen(d->sends[i])) != 0)
			printf("send failed\n");
	fflush(stdout);
}

/* A message: print it; maybe close. */
static void
drv_message(const char *data, size_t len, void *arg)
{
	struct drv *d = arg;

	printf("message: %.*s\n", (int)len, data);
	fflush(stdout);
	if (d->until != NULL && memmem(data, len, d->until,
	    strlen(d->until)) != NULL)
		ws_close(d->ws, "done");
}

/* Closed: print the reason and stop. */
static void
drv_closed(const char *reason, void *arg)
{
	struct drv *d = arg;

	printf("closed: %s\n", reason);
	fflush(stdout);
	d->finished = 1;
	event_base_loopexit(d->base, NULL);
}

/* The HTTP answer. */
static void
drv_http_cb(int status, json_t *body, const char *err, void *arg)
{
	struct drv *d = arg;
	char *text;

	printf("status: %d\n", status);
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
		printf("body: %s\n", text);
		free(text);
	}
	if (err != NULL)
		printf("error: %s\n", err);
	fflush(stdout);
	d->finished = 1;
	event_base_loopexit(d->base, NULL);
}

/* Print usage and exit 64. */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: ws_driver ws URI [--ca FILE] [--send TEXT]... "
	    "[--until TEXT] [--dead SEC] [--max-msg BYTES] [--timeout SEC]\n"
	    "       ws_driver http GET|POST URL [--ca FILE] [--body JSON] "
	    "[--timeout SEC]\n");
	exit(64);
}

/* Parse the options after the positional arguments. */
static void
parse_opts(struct drv *d, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			usage();
		i++;
		if (strcmp(o, "--ca") == 0)
			d->ca = v;
		else if (strcmp(o, "--send") == 0 && d->nsends < MAX_SENDS)
			d->sends[d->nsends++] = v;
		else if (strcmp(o, "--until") == 0)
			d->until = v;
		else if (strcmp(o, "--body") == 0)
			d->body = v;
		else if (strcmp(o, "--dead") == 0)
			d->opts.dead_timeout_sec = atoi(v);
		else if (strcmp(o, "--max-msg") == 0)
			d->opts.max_msg = strtoul(v, NULL, 10);
		else if (strcmp(o, "--timeout") == 0)
			d->timeout = atoi(v);
		else
			usage();
	}
}

/* Start the WebSocket; 0 or -1. */
static int
start_ws(struct drv *d, struct evdns_base *dns, struct tls_ctx *tls,
    const char *uri)
{
	static const struct ws_cbs cbs = { drv_open, drv_message, drv_closed };
	char *err = NULL;

	d->ws = ws_connect(d->base, dns, uri, tls, &d->opts, &cbs, d, &err);
	if (d->ws == NULL) {
		printf("connect failed: %s\n", err);
		free(err);
		return -1;
	}
	return 0;
}

/* Start the HTTP request; 0 or -1. */
static int
start_http(struct drv *d, struct evdns_base *dns, struct tls_ctx *tls,
    const char *method, const char *url)
{
	json_t *body = NULL;
	json_error_t jerr;
	char *err = NULL;
	int r;

	if (d->body != NULL &&
	    (body = json_loads(d->body, JSON_DECODE_ANY, &jerr)) == NULL) {
		printf("bad --body: %s\n", jerr.text);
		return -1;
	}
	r = http_request(d->base, dns, tls, method, url, body, d->timeout,
	    drv_http_cb, d, &err) != NULL ? 0 : -1;
	if (r != 0) {
		printf("request failed: %s\n", err);
		free(err);
	}
	json_decref(body);
	return r;
}

/* The watchdog. */
static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct drv *d = arg;

	printf("timeout\n");
	event_base_loopexit(d->base, NULL);
}

int
main(int argc, char **argv)
{
	struct drv d = { .timeout = 20 };
	struct evdns_base *dns;
	struct tls_ctx *tls;
	struct event *wd;
	struct timeval tv;
	char *err = NULL;
	int http, r;

	if (argc < 3)
		usage();
	http = strcmp(argv[1], "http") == 0;
	if (!http && strcmp(argv[1], "ws") != 0)
		usage();
	if (http && argc < 4)
		usage();
	parse_opts(&d, argc - (http ? 4 : 3), argv + (http ? 4 : 3));
	log_init("ws_driver", getenv("WS_DRIVER_DEBUG") ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_WARN);
	if ((tls = tls_ctx_create(d.ca, &err)) == NULL) {
		printf("tls: %s\n", err);
		free(err);
		return 1;
	}
	d.base = event_base_new();
	dns = evdns_base_new(d.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (d.base == NULL || dns == NULL)
		return 1;
	if (http)
		r = start_http(&d, dns, tls, argv[2], argv[3]);
	else
		r = start_ws(&d, dns, tls, argv[2]);
	if (r != 0)
		return 1;
	tv.tv_sec = http ? d.timeout + 5 : d.timeout;
	tv.tv_usec = 0;
	wd = evtimer_new(d.base, timeout_cb, &d);
	evtimer_add(wd, &tv);
	event_base_dispatch(d.base);
	ws_free(d.ws);
	event_free(wd);
	evdns_base_free(dns, 0);
	event_base_free(d.base);
	tls_ctx_free(tls);
	return d.finished ? 0 : 2;
}
