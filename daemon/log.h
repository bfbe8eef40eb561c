/*
 * log.h: levelled logging to stderr.  Under systemd (JOURNAL_STREAM set)
 * each line carries a <N> priority prefix for the journal.  Bytes from
 * peers must go through log_escape; tokens and bodies are never logged
 * above debug, and refresh tokens never at all.
 */
#ifndef DAEMON_LOG_H
#define DAEMON_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Set up logging for program name prog at level; routes libevent's log. */
void log_init(const char *prog, enum log_level level);
void log_set_level(enum log_level);
enum log_level log_get_level(void);
/* Parse "error", "warn", "info" or "debug": 0, or -1. */
int log_level_parse(const char *, enum log_level *);

void log_write(enum log_level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fatalx(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __func__, __VA_ARGS__)
/* For startup failures and broken invariants only, never peer input. */
#define fatal(...) fatalx(__func__, __VA_ARGS__)

/*
 * Escape up to max bytes of s[0..len) for a log line (non-printable bytes
 * as \xNN, a trailing "..." when cut).  Returns a static buffer that the
 * next call reuses.
 */
const char *log_escape(const char *s, size_t len, size_t max);

#endif
