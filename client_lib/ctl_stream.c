/*
 * ctl_stream.c: instantctl's commands that keep the connection open.
 *
 * subscribe prints every result event until SIGINT or SIGTERM.  raw sends
 * each non-blank line of stdin as a request and prints every reply and
 * event as it arrives, until stdin has ended and every reply is in (then
 * waiting at most --timeout for the last ones).
 *
 * Both run one poll loop over the daemon's fd (and stdin for raw).
 * SIGINT and SIGTERM are blocked outside ppoll(), so a signal can never
 * arrive between checking the flag and going to sleep: it interrupts
 * ppoll() instead, and the loop ends with the exit code so far.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_lib/ctl.h"
#include "proto/linebuf.h"

#define STREAM_CHUNK 65536

struct stream {
	struct ctl *ctl;
	int in_fd;             /* raw: stdin until it ends, else -1 */
	struct linebuf in;     /* raw: stdin split into lines */
	unsigned long waiting; /* raw: replies still to come */
	long long deadline;    /* ms on the monotonic clock, or -1 */
	int forever;           /* subscribe: run until a signal */
	int status;            /* the exit code so far */
};

static volatile sig_atomic_t stream_signalled;

/* SIGINT, SIGTERM: note it; ppoll() returns EINTR. */
static void
stream_signal_cb(int sig)
{
	stream_signalled = sig;
}

/* Catch SIGINT and SIGTERM, blocked except inside ppoll (mask in *orig). */
static int
stream_signals(sigset_t *orig)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = stream_signal_cb;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, orig) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1) {
		fprintf(stderr, "instantctl: signals: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Milliseconds on the monotonic clock. */
static long long
stream_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Print an event (every event for raw, results for subscribe). */
static void
stream_event_cb(instantd_client *c, const char *name, json_t *event,
    void *arg)
{
	struct stream *s = arg;

	ctl_print(s->ctl, event);
}

/* The daemon gave up on a subscriber that fell behind; it closes next. */
static void
stream_overflow_cb(instantd_client *c, const char *name, json_t *event,
    void *arg)
{
	fputs("instantctl: output fell behind and the daemon dropped the "
	    "connection (overflow)\n", stderr);
}

/* Print a reply (raw); an error reply makes the exit code 1. */
static void
stream_reply_cb(instantd_client *c, json_t *reply, void *arg)
{
	struct stream *s = arg;

	s->waiting--;
	if (reply == NULL)
		return; /* the connection failed: dispatch reports it */
	ctl_print(s->ctl, reply);
	if (ctl_check_reply(reply) != CTL_EXIT_OK)
		s->status = CTL_EXIT_ERROR;
}

/* Whether line[0..len) holds only blanks. */
static int
stream_blank(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (strchr(" \t\r", line[i]) == NULL)
			return 0;
	}
	return 1;
}

/* Send one line of stdin unless it is blank; -1 to go on, or exit code. */
static int
stream_send(struct stream *s, const char *line, size_t len)
{
	int r;

	if (stream_blank(line, len))
		return -1;
	r = instantd_send_line(s->ctl->c, line, len, stream_reply_cb, s);
	if (r != INSTANTD_OK)
		return ctl_fail(s->ctl, r);
	s->waiting++;
	return -1;
}

/* stdin ended: send a last unterminated line, start the deadline. */
static int
stream_stdin_end(struct stream *s)
{
	int r;

	s->in_fd = -1;
	if (s->ctl->timeout_ms >= 0)
		s->deadline = stream_now_ms() + s->ctl->timeout_ms;
	r = stream_send(s, s->in.data + s->in.off, s->in.len - s->in.off);
	s->in.off = s->in.len;
	return r;
}

/* Read stdin and send its complete lines; -1 to go on, or exit code. */
static int
stream_read_stdin(struct stream *s)
{
	char buf[STREAM_CHUNK];
	const char *line;
	size_t len;
	ssize_t n;
	int k, r;

	if ((n = read(s->in_fd, buf, sizeof buf)) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return -1;
		fprintf(stderr, "instantctl: stdin: %s\n", strerror(errno));
		return CTL_EXIT_ERROR;
	}
	if (n == 0)
		return stream_stdin_end(s);
	if (linebuf_append(&s->in, buf, (size_t)n) != 0) {
		fputs("instantctl: out of memory\n", stderr);
		return CTL_EXIT_ERROR;
	}
	while ((k = linebuf_next(&s->in, &line, &len)) == 1) {
		if ((r = stream_send(s, line, len)) != -1)
			return r;
	}
	if (k == -1) {
		fputs("instantctl: stdin: line too long\n", stderr);
		return CTL_EXIT_ERROR;
	}
	return -1;
}

/* The poll timeout in ms: until the deadline, or -1. */
static int
stream_timeout(const struct stream *s)
{
	long long left;

	if (s->deadline < 0)
		return -1;
	left = s->deadline - stream_now_ms();
	return left < 0 ? 0 : left > 1000000 ? 1000000 : (int)left;
}

/*
 * Wait for input with signals let through; -1 to go on, or exit code.
 * stdin is read only while nothing waits to be written, so a daemon that
 * stops reading (it caps unanswered requests) stops us reading too.
 */
static int
stream_poll(struct stream *s, const sigset_t *orig, struct pollfd *pfd,
    nfds_t *nfds)
{
	int ms = stream_timeout(s), ww = instantd_want_write(s->ctl->c);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	int n;

	pfd[0].fd = instantd_fd(s->ctl->c);
	pfd[0].events = POLLIN | (ww ? POLLOUT : 0);
	pfd[1].fd = s->in_fd;
	pfd[1].events = POLLIN;
	*nfds = s->in_fd >= 0 && !ww ? 2 : 1;
	pfd[0].revents = pfd[1].revents = 0;
	n = ppoll(pfd, *nfds, ms < 0 ? NULL : &ts, orig);
	if (n == -1 && errno == EINTR)
		return stream_signalled ? s->status : -1;
	if (n == -1) {
		fprintf(stderr, "instantctl: poll: %s\n", strerror(errno));
		return CTL_EXIT_ERROR;
	}
	if (n == 0 && s->deadline >= 0 && stream_timeout(s) == 0) {
		fprintf(stderr, "instantctl: %lu replies did not come in "
		    "time\n", s->waiting);
		return CTL_EXIT_ERROR;
	}
	return -1;
}

/* Run until done, interrupted or failed; returns the exit code. */
static int
stream_loop(struct stream *s)
{
	struct pollfd pfd[2];
	sigset_t orig;
	nfds_t nfds;
	int r;

	if (stream_signals(&orig) != 0)
		return CTL_EXIT_ERROR;
	while (s->forever || s->in_fd >= 0 || s->waiting > 0) {
		if ((r = stream_poll(s, &orig, pfd, &nfds)) != -1)
			return r;
		if (nfds > 1 && pfd[1].revents != 0 &&
		    (r = stream_read_stdin(s)) != -1)
			return r;
		if (pfd[0].revents != 0 &&
		    (r = instantd_dispatch(s->ctl->c)) != INSTANTD_OK)
			return ctl_fail(s->ctl, r);
	}
	return s->status;
}

/*
 * subscribe: send req, wait for the reply (a signal meanwhile just ends us), then
 * print result events until a signal.
 */
int
stream_subscribe(struct ctl *ctl, const json_t *req)
{
	struct stream s = { .ctl = ctl, .in_fd = -1, .deadline = -1,
	    .forever = 1 };
	json_t *reply = NULL;
	int r;

	instantd_on_event(ctl->c, INSTANTD_EVENT_RESULT, stream_event_cb, &s);
	instantd_on_event(ctl->c, INSTANTD_EVENT_OVERFLOW, stream_overflow_cb,
	    NULL);
	r = instantd_call(ctl->c, req, ctl->timeout_ms, &reply);
	if (r != INSTANTD_OK)
		return ctl_fail(ctl, r);
	if (!instantd_reply_ok(reply)) {
		ctl_print(ctl, reply);
		r = ctl_check_reply(reply);
		json_decref(reply);
		return r;
	}
	json_decref(reply);
	return stream_loop(&s);
}

/* raw: stdin lines out, reply and event lines in. */
int
stream_raw(struct ctl *ctl)
{
	struct stream s = { .ctl = ctl, .in_fd = STDIN_FILENO, .deadline = -1 };
	int r;

	linebuf_init(&s.in, INSTANTD_DEFAULT_MAX_LINE);
	instantd_on_event(ctl->c, INSTANTD_EVENT_ANY, stream_event_cb, &s);
	r = stream_loop(&s);
	linebuf_free(&s.in);
	return r;
}
