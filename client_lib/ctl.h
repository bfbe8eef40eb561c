/*
 * ctl.h: instantctl's shared state.  ctl.c parses the command line and runs
 * the request/reply commands; ctl_stream.c runs the commands that keep
 * the connection open (subscribe, raw) in a signal-aware poll loop.
 */
#ifndef CLIENT_LIB_CTL_H
#define CLIENT_LIB_CTL_H

#include <jansson.h>

#include "instantd/client.h"

/* Exit codes (sysexits.h for the unavailable daemon). */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_ERROR = 1,       /* an error reply, or another failure */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: no daemon, or it left */
};

struct ctl {
	const char *socket;  /* --socket, or NULL */
	const char *app;     /* --app, or NULL */
	int timeout_ms;      /* --timeout; -1: no limit */
	int pretty;          /* --pretty */
	const char *wait;    /* --wait (transact only), or NULL */
	json_t *arg;         /* the command's parsed argument, or NULL */
	instantd_client *c;
};

/* Print a JSON value as one line (or indented with --pretty) on stdout. */
void ctl_print(const struct ctl *, const json_t *);

/* Report a library failure on stderr; returns the exit code for it. */
int ctl_fail(const struct ctl *, int status);

/*
 * Report an error reply on stderr; returns CTL_EXIT_ERROR, or CTL_EXIT_OK
 * if reply is a success reply.
 */
int ctl_check_reply(const json_t *reply);

/* ctl_stream.c */
int stream_subscribe(struct ctl *, const json_t *req);
int stream_raw(struct ctl *);

#endif
