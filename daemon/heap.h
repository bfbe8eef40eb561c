/*
 * heap.h: the daemon's policy for glibc's heap (see heap.c): keep memory
 * from one large request for the next, give it back when the daemon is
 * quiet.
 */
#ifndef DAEMON_HEAP_H
#define DAEMON_HEAP_H

#include <stdint.h>

/* Set the allocator's levels; once, at start. */
void heap_setup(void);

/* The quiet-period check, run every HEAP_TICK_SEC with the number of
 * requests read so far: 1 when the heap should be trimmed now (no request
 * since the last tick, and none trimmed since the last request), else 0. */
#define HEAP_TICK_SEC 5
struct heap_idle {
	uint64_t seen;	/* requests at the last tick */
	int trimmed;	/* trimmed since the last request */
};
int heap_idle_tick(struct heap_idle *, uint64_t requests);

/* Give free memory back to the system. */
void heap_trim(void);

#endif
