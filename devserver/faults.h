/*
 * faults.h: the devserver's fault injection switches.
 *
 * One set of faults applies to the whole server.  It is set at start with
 * --fault NAME[=VALUE] and changed at run time through the control
 * endpoint, both using the same names (the JSON keys below).  Counting
 * faults (drop-ack, close-before-ack) take a number of transactions to
 * affect, or true for "every one from now on" (-1), false or 0 for off.
 *
 *   drop-ack           commit, refresh the others, never send transact-ok
 *   close-before-ack   commit, then close the socket before the ack
 *   ack-delay-ms       delay every transact-ok by N ms
 *   refresh-delay-ms   delay every refresh-ok by N ms
 *   deny-namespaces    ["ns", ...]: transactions touching ns fail with
 *                      permission-denied
 *   app-status         "active" | "read-only" | "disabled" for every app
 *   refuse-connections close new connections as soon as they are accepted
 *   no-ping            stop sending WebSocket pings
 *   no-answer          read and ignore every client message
 */
#ifndef DEVSERVER_FAULTS_H
#define DEVSERVER_FAULTS_H

#include <jansson.h>

struct faults {
	int drop_ack;	      /* transactions left, -1 for all */
	int close_before_ack; /* transactions left, -1 for all */
	int ack_delay_ms;
	int refresh_delay_ms;
	json_t *deny_namespaces; /* array of strings, never NULL */
	char app_status[16];
	int refuse_connections;
	int no_ping;
	int no_answer;
};

/* Reset f to "no faults". */
void faults_init(struct faults *);
void faults_clear(struct faults *);

/*
 * Apply the keys present in object patch; the others keep their value.
 * Returns 0, or -1 with a static reason in *errmsg (nothing applied).
 */
int faults_apply(struct faults *, const json_t *patch, const char **errmsg);

/* Apply one "name[=value]" command-line setting (value defaults to true;
 * a value that is not JSON is taken as a string). */
int faults_apply_arg(struct faults *, const char *arg, const char **errmsg);

/* The current faults as a JSON object (new reference). */
json_t *faults_to_json(const struct faults *);

/* Consume one unit of a counting fault: 1 if it fires now, else 0. */
int faults_take(int *counter);

/* Whether a transaction touching namespace ns is to be denied. */
int faults_denies(const struct faults *, const char *ns);

#endif
