/*
 * heap.c: glibc's heap, set for a daemon whose large requests come in
 * bursts.
 *
 * A query's reply and the evaluator's working arrays are megabytes that
 * live for one request.  glibc serves blocks from 128 KiB up with fresh
 * mappings and gives the top of the heap back to the system past 256 KiB
 * free; it raises both levels as large blocks are freed (up to 32 MiB),
 * and until then every such request begins by faulting its memory in
 * page by page: a third of the time of a query of 8,000 entities.
 * heap_setup sets the levels where glibc would end up, from the start
 * (HEAP_MMAP, HEAP_TRIM).  What the heap then keeps free goes back once
 * the daemon has read no request for a whole tick (HEAP_TICK_SEC):
 * malloc_trim returns the free top of the heap and the free pages inside
 * it.
 */
#include "config.h"

#include <malloc.h>

#include "daemon/heap.h"

#define HEAP_MMAP (32 * 1024 * 1024)
#define HEAP_TRIM (64 * 1024 * 1024)

/* Set the levels. */
void
heap_setup(void)
{
	mallopt(M_MMAP_THRESHOLD, HEAP_MMAP);
	mallopt(M_TRIM_THRESHOLD, HEAP_TRIM);
}

/* One tick: whether to trim now. */
int
heap_idle_tick(struct heap_idle *h, uint64_t requests)
{
	if (requests != h->seen) {
		h->seen = requests;
		h->trimmed = 0;
		return 0;
	}
	if (h->trimmed)
		return 0;
	h->trimmed = 1;
	return 1;
}

/* Give free memory back. */
void
heap_trim(void)
{
	malloc_trim(0);
}
