/*
 * xmalloc.h: allocation that aborts on out-of-memory, for the daemon only
 * (proto/, engine/ and client_lib/ return errors instead).
 */
#ifndef DAEMON_XMALLOC_H
#define DAEMON_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
int xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));

#endif
