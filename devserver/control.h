/*
 * control.h: the loopback control endpoint for fault injection.
 *
 *   GET  /faults    200, the current faults (faults.h names)
 *   POST /faults    body: a JSON object with the faults to change;
 *                   200 with the new faults, or 400 {"message"}
 * Changing app-status pushes app-status-changed to every session.
 */
#ifndef DEVSERVER_CONTROL_H
#define DEVSERVER_CONTROL_H

#include <event2/buffer.h>

struct server;
struct http_request;

/* Answer one control request into out. */
void control_handle(struct server *, const struct http_request *,
		    struct evbuffer *out);

#endif
