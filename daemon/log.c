/* log.c: levelled logging to stderr, journal-aware. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/log.h"

static const char *log_prog = "instantd";
static enum log_level log_level = LOG_LEVEL_INFO;
static int log_journal;

static const char *const log_names[] = { "error", "warn", "info", "debug" };
/* syslog priorities: err, warning, info, debug */
static const int log_prio[] = { 3, 4, 6, 7 };

/* Forward libevent's own messages into our log. */
static void
log_event_cb(int severity, const char *msg)
{
	enum log_level l;

	switch (severity) {
	case EVENT_LOG_DEBUG:
		l = LOG_LEVEL_DEBUG;
		break;
	case EVENT_LOG_MSG:
		l = LOG_LEVEL_INFO;
		break;
	case EVENT_LOG_WARN:
		l = LOG_LEVEL_WARN;
		break;
	default:
		l = LOG_LEVEL_ERROR;
		break;
	}
	log_write(l, "libevent", "%s", msg);
}

/* Start logging as prog. */
void
log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	event_set_log_callback(log_event_cb);
}

/* Change the level at run time. */
void
log_set_level(enum log_level level)
{
	log_level = level;
}

/* The current level. */
enum log_level
log_get_level(void)
{
	return log_level;
}

/* Parse a level name. */
int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof log_names / sizeof *log_names; i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return 0;
	}
	return -1;
}

/* Write one line: prefix, function, message. */
static void
log_vwrite(enum log_level level, const char *func, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s: %s\n", log_prio[level], func, msg);
	else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof when, "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s %s: %s: %s\n", when,
		    ts.tv_nsec / 1000000, log_prog, log_names[level], func, msg);
	}
}

/* Log at level if enabled. */
void
log_write(enum log_level level, const char *func, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_vwrite(level, func, fmt, ap);
	va_end(ap);
}

/* Log and exit(1): startup failures and broken invariants only. */
void
fatalx(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, func, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Escape peer bytes for a log line. */
const char *
log_escape(const char *s, size_t len, size_t max)
{
	static char buf[1024];
	size_t i, o = 0;

	if (max > 200)
		max = 200;
	for (i = 0; i < len && i < max && o + 5 < sizeof buf; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", c);
	}
	if (i < len && o + 4 < sizeof buf) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
