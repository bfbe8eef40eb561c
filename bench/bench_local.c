/*
 * bench_local.c: the local write and read paths of instantd, each against
 * a baseline measured in the same run on the same machine.
 *
 *   a. transact reply latency, one client, vs one raw Unix socket round
 *      trip plus one raw SQLite commit (WAL, synchronous=FULL);
 *   b. 8 clients pipelining transactions vs the one-commit-per-transaction
 *      FULL rate (what group commit must beat);
 *   c. one transaction fanned out to 100 clients subscribed to the same
 *      query (20 of 10,000 entities): time from the writer's reply (the
 *      commit is done) until every client has its result event.
 *
 * Usage: bench_local [--instantd PATH] [--quick]
 * Prints a table; medians throughout (this machine is noisy).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define LINE_MAX_BYTES (4 * 1024 * 1024)

struct conn {
	int fd;
	char *buf;
	size_t len;
};

static int quick;

/* Monotonic time in seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Print and exit. */
static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_local: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* qsort order of doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of v[0..n), sorting v. */
static double
pct(double *v, size_t n, double p)
{
	size_t i;

	qsort(v, n, sizeof *v, cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i];
}

/* Write all of s. */
static void
write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, s, n)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("write: %s", strerror(errno));
		}
		s += w;
		n -= (size_t)w;
	}
}

/* Read one line into a static-lifetime buffer of c (NUL-terminated);
 * blocking. */
static char *
read_line(struct conn *c)
{
	static char *line;
	char *nl;
	ssize_t r;

	for (;;) {
		if ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t n = (size_t)(nl - c->buf);

			free(line);
			line = malloc(n + 1);
			memcpy(line, c->buf, n);
			line[n] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return line;
		}
		if (c->len == LINE_MAX_BYTES)
			die("line too long");
		r = read(c->fd, c->buf + c->len, LINE_MAX_BYTES - c->len);
		if (r <= 0)
			die("read: %s", r == 0 ? "EOF" : strerror(errno));
		c->len += (size_t)r;
	}
}

/* Read a reply (skipping events). */
static char *
read_reply(struct conn *c)
{
	char *l;

	while ((l = read_line(c)) != NULL)
		if (strncmp(l, "{\"event\"", 8) != 0)
			return l;
	return NULL;
}

/* Connect to a Unix socket. */
static struct conn *
conn_open(const char *path)
{
	struct conn *c = calloc(1, sizeof *c);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof sun.sun_path)
		die("socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) != 0)
		die("connect %s: %s", path, strerror(errno));
	c->buf = malloc(LINE_MAX_BYTES);
	return c;
}

/* Send one request line. */
static void
conn_send(struct conn *c, const char *line)
{
	write_all(c->fd, line, strlen(line));
}

/* A random v4-shaped UUID (not cryptographic; test data only). */
static void
fake_uuid(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 36; i++)
		out[i] = (i == 8 || i == 13 || i == 18 || i == 23) ? '-' :
		    hex[rand() % 16];
	out[14] = '4';
	out[19] = '8';
	out[36] = '\0';
}

static pid_t daemon_pid;
static char tmpdir[] = "/tmp/bench_local.XXXXXX";
static char sockpath[256];

/* Start instantd and wait for its readiness line. */
static void
daemon_start(const char *bin)
{
	char log[300], data[300], buf[4096];
	int fd, i;

	snprintf(sockpath, sizeof sockpath, "%s/sock", tmpdir);
	snprintf(log, sizeof log, "%s/log", tmpdir);
	snprintf(data, sizeof data, "%s/data", tmpdir);
	if ((daemon_pid = fork()) == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execl(bin, bin, "--foreground", "--socket", sockpath,
		    "--data-dir", data, "--config", "/dev/null",
		    "--log-level", "warn", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 2000; i++) {
		FILE *f = fopen(log, "r");
		size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;

		if (f != NULL)
			fclose(f);
		buf[n] = '\0';
		if (strstr(buf, "listening on") != NULL)
			return;
		usleep(5000);
	}
	die("instantd did not start (see %s)", log);
}

/* Stop it. */
static void
daemon_stop(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = 0;
	}
}

/* Baseline: median round trip of a line through a forked echo process. */
static double
baseline_rtt(size_t line_len, int n)
{
	int sv[2], i;
	double *t = calloc((size_t)n, sizeof *t), r;
	char *line = malloc(line_len + 1);
	struct conn c = { 0 };
	pid_t pid;

	memset(line, 'x', line_len - 1);
	line[line_len - 1] = '\n';
	line[line_len] = '\0';
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	if ((pid = fork()) == 0) {
		struct conn e = { sv[1], malloc(LINE_MAX_BYTES), 0 };

		close(sv[0]);
		for (;;) {
			char *l = read_line(&e);
			size_t len = strlen(l);

			l[len] = '\n';
			write_all(e.fd, l, len + 1);
		}
	}
	close(sv[1]);
	c.fd = sv[0];
	c.buf = malloc(LINE_MAX_BYTES);
	for (i = 0; i < n; i++) {
		double t0 = now();

		write_all(c.fd, line, line_len);
		read_line(&c);
		t[i] = now() - t0;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(c.fd);
	r = pct(t, (size_t)n, 50);
	free(t);
	free(line);
	free(c.buf);
	return r;
}

/* Baseline: single-row commits, WAL + synchronous=FULL, on the same disk
 * as the daemon's store; the database stays open across rounds. */
static sqlite3 *base_db;
static sqlite3_stmt *base_st;
static int base_key;

/* Open the baseline database. */
static void
baseline_open(void)
{
	char path[300];

	snprintf(path, sizeof path, "%s/baseline.db", tmpdir);
	if (sqlite3_open(path, &base_db) != SQLITE_OK ||
	    sqlite3_exec(base_db, "PRAGMA journal_mode=WAL; "
	    "PRAGMA synchronous=FULL; CREATE TABLE t(k TEXT PRIMARY KEY, "
	    "v TEXT) WITHOUT ROWID;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(base_db, "INSERT INTO t VALUES (?, ?)", -1,
	    &base_st, NULL) != SQLITE_OK)
		die("sqlite: %s", sqlite3_errmsg(base_db));
}

/* n timed commits into t[0..n). */
static void
baseline_commits(int n, double *t)
{
	char key[64];
	int i;

	for (i = 0; i < n; i++) {
		double t0 = now();

		snprintf(key, sizeof key, "k%d", base_key++);
		sqlite3_bind_text(base_st, 1, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(base_st, 2, "{\"title\":\"milk\"}", -1,
		    SQLITE_STATIC);
		if (sqlite3_step(base_st) != SQLITE_DONE)
			die("sqlite: %s", sqlite3_errmsg(base_db));
		sqlite3_reset(base_st);
		t[i] = now() - t0;
	}
}

/* Close the baseline database. */
static void
baseline_close(void)
{
	sqlite3_finalize(base_st);
	sqlite3_close(base_db);
}

/* A transact request for one new entity. */
static void
transact_line(char *out, size_t size, int id, const char *ns, int n)
{
	char u[37];

	fake_uuid(u);
	snprintf(out, size,
	    "{\"op\":\"transact\",\"id\":%d,\"steps\":[[\"update\",\"%s\","
	    "\"%s\",{\"title\":\"item %d\",\"done\":false,\"n\":%d}]]}\n",
	    id, ns, u, n, n);
}

/* a. one client, sequential transacts: n reply latencies into t. */
static void
bench_latency(struct conn *c, int n, double *t, size_t *line_len)
{
	static int id;
	char line[512];
	int i;

	for (i = 0; i < n; i++) {
		double t0;

		transact_line(line, sizeof line, id, "lat", id);
		id++;
		*line_len = strlen(line);
		t0 = now();
		conn_send(c, line);
		if (strstr(read_reply(c), "\"ok\":true") == NULL)
			die("transact failed");
		t[i] = now() - t0;
	}
}

/* b. nclients pipelining (window of 64 each): transactions per second. */
static double
bench_pipeline(int nclients, int per_client)
{
	struct conn **c = calloc((size_t)nclients, sizeof *c);
	int *sent = calloc((size_t)nclients, sizeof *sent);
	int *done = calloc((size_t)nclients, sizeof *done);
	struct pollfd *pfd = calloc((size_t)nclients, sizeof *pfd);
	int i, total = 0, window = 64;
	char line[512];
	double t0;

	for (i = 0; i < nclients; i++)
		c[i] = conn_open(sockpath);
	t0 = now();
	while (total < nclients * per_client) {
		for (i = 0; i < nclients; i++) {
			while (sent[i] < per_client &&
			    sent[i] - done[i] < window) {
				transact_line(line, sizeof line, sent[i],
				    "pipe", sent[i]);
				conn_send(c[i], line);
				sent[i]++;
			}
			pfd[i].fd = c[i]->fd;
			pfd[i].events = done[i] < per_client ? POLLIN : 0;
		}
		poll(pfd, (nfds_t)nclients, 1000);
		for (i = 0; i < nclients; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			/* Drain the replies that are there. */
			do {
				if (strstr(read_reply(c[i]), "\"ok\":true") == NULL)
					die("pipelined transact failed");
				done[i]++;
				total++;
			} while (memchr(c[i]->buf, '\n', c[i]->len) != NULL);
		}
	}
	t0 = now() - t0;
	for (i = 0; i < nclients; i++) {
		close(c[i]->fd);
		free(c[i]->buf);
		free(c[i]);
	}
	free(c);
	free(sent);
	free(done);
	free(pfd);
	return (double)(nclients * per_client) / t0;
}

/* Preload n entities of ns "items" in groups of group_size. */
static void
preload(int n, int groups)
{
	struct conn *c = conn_open(sockpath);
	size_t cap = 1024 * 1024, len;
	char *line = malloc(cap), u[37];
	int i, batch = 500;

	for (i = 0; i < n; i += batch) {
		int j;

		len = (size_t)snprintf(line, cap,
		    "{\"op\":\"transact\",\"id\":%d,\"steps\":[", i);
		for (j = i; j < i + batch && j < n; j++) {
			fake_uuid(u);
			len += (size_t)snprintf(line + len, cap - len,
			    "%s[\"update\",\"items\",\"%s\",{\"group\":%d,"
			    "\"n\":%d,\"marker\":0}]", j > i ? "," : "", u,
			    j % groups, j);
		}
		len += (size_t)snprintf(line + len, cap - len, "]}\n");
		conn_send(c, line);
		if (strstr(read_reply(c), "\"ok\":true") == NULL)
			die("preload failed");
	}
	close(c->fd);
	free(line);
}

/* c. fan-out: ms until all nsubs subscribers have the change (per round). */
static double
bench_fanout(int nsubs, int rounds, double *p90)
{
	struct conn **c = calloc((size_t)nsubs, sizeof *c), *w;
	struct pollfd *pfd = calloc((size_t)nsubs, sizeof *pfd);
	double *t = calloc((size_t)rounds, sizeof *t), r;
	char line[512], want[64], target[37];
	int i, k;

	for (i = 0; i < nsubs; i++) {
		c[i] = conn_open(sockpath);
		conn_send(c[i], "{\"op\":\"subscribe\",\"id\":1,\"q\":{\"items\":"
		    "{\"$\":{\"where\":{\"group\":7}}}}}\n");
		read_reply(c[i]);
		while (strstr(read_line(c[i]), "\"event\":\"result\"") == NULL)
			;
	}
	/* One entity of group 7, found through the query op. */
	w = conn_open(sockpath);
	conn_send(w, "{\"op\":\"query\",\"id\":1,\"q\":{\"items\":{\"$\":"
	    "{\"where\":{\"group\":7},\"limit\":1}}}}\n");
	{
		char *l = read_reply(w), *p = strstr(l, "\"id\":\"");

		if (p == NULL)
			die("no entity in group 7: %s", l);
		memcpy(target, p + 6, 36);
		target[36] = '\0';
	}
	for (k = 1; k <= rounds; k++) {
		int got = 0;
		double t0;
		char *seen = calloc((size_t)nsubs, 1);

		snprintf(line, sizeof line,
		    "{\"op\":\"transact\",\"id\":%d,\"steps\":[[\"update\","
		    "\"items\",\"%s\",{\"marker\":%d}]]}\n", k, target, k);
		snprintf(want, sizeof want, "\"marker\":%d", k);
		conn_send(w, line);
		/* The reply leaves right after the commit, before the fan-out:
		 * time from there, so the fsync is not counted (that is a.). */
		read_reply(w);
		t0 = now();
		while (got < nsubs) {
			for (i = 0; i < nsubs; i++) {
				pfd[i].fd = c[i]->fd;
				pfd[i].events = seen[i] ? 0 : POLLIN;
			}
			poll(pfd, (nfds_t)nsubs, 2000);
			for (i = 0; i < nsubs; i++) {
				if (!(pfd[i].revents & POLLIN))
					continue;
				do {
					if (strstr(read_line(c[i]), want) != NULL &&
					    !seen[i]) {
						seen[i] = 1;
						got++;
					}
				} while (!seen[i] &&
				    memchr(c[i]->buf, '\n', c[i]->len) != NULL);
			}
		}
		t[k - 1] = (now() - t0) * 1000;
		free(seen);
	}
	for (i = 0; i < nsubs; i++)
		close(c[i]->fd);
	close(w->fd);
	*p90 = pct(t, (size_t)rounds, 90);
	r = pct(t, (size_t)rounds, 50);
	free(t);
	return r;
}

/* The median of v[0..n), leaving v as it is. */
static double
median_of(const double *v, size_t n)
{
	double *c = malloc(n * sizeof *c), m;

	memcpy(c, v, n * sizeof *c);
	m = pct(c, n, 50);
	free(c);
	return m;
}

/* Run a-c and print their tables. */
int
main(int argc, char **argv)
{
	const char *bin = "./instantd";
	double rtt, commit, lat, pipe_rate, fan, fan90, ratio_b;
	double *lat_t, *commit_t, *rb, *rates, *cp;
	size_t line_len = 200;
	int i, r, rounds, n_lat, per_round, n_pipe, n_fan;
	struct conn *lc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--instantd") == 0 && i + 1 < argc)
			bin = argv[++i];
		else if (strcmp(argv[i], "--quick") == 0)
			quick = 1;
		else
			die("usage: bench_local [--instantd PATH] [--quick]");
	}
	signal(SIGPIPE, SIG_IGN);
	srand(42);
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	n_lat = quick ? 100 : 400;
	rounds = quick ? 5 : 10;
	per_round = quick ? 20 : 40;
	n_pipe = quick ? 50 : 100;
	n_fan = quick ? 10 : 40;

	/*
	 * The disk's fsync time drifts by 10x within seconds on a shared
	 * machine, so each measurement alternates with its baseline: in a,
	 * one transact then one raw commit; in b, rounds of a pipelined burst
	 * then raw commits, each round's ratio from its own commits (the
	 * median of the rounds' ratios is reported, and every round shown).
	 */
	daemon_start(bin);
	baseline_open();
	lc = conn_open(sockpath);
	lat_t = calloc((size_t)n_lat, sizeof *lat_t);
	commit_t = calloc((size_t)n_lat, sizeof *commit_t);
	for (i = 0; i < n_lat / 4; i++) { /* warm up */
		bench_latency(lc, 1, lat_t, &line_len);
		baseline_commits(1, commit_t);
	}
	for (i = 0; i < n_lat; i++) {
		bench_latency(lc, 1, lat_t + i, &line_len);
		baseline_commits(1, commit_t + i);
	}
	close(lc->fd);
	rtt = baseline_rtt(line_len, n_lat * 4);
	lat = median_of(lat_t, (size_t)n_lat);
	commit = median_of(commit_t, (size_t)n_lat);
	rb = calloc((size_t)rounds, sizeof *rb);
	rates = calloc((size_t)rounds, sizeof *rates);
	cp = calloc((size_t)rounds, sizeof *cp);
	for (r = 0; r < rounds; r++) {
		rates[r] = bench_pipeline(8, n_pipe);
		baseline_commits(per_round, commit_t);
		cp[r] = pct(commit_t, (size_t)per_round, 50);
		rb[r] = rates[r] * cp[r];
	}
	baseline_close();
	pipe_rate = median_of(rates, (size_t)rounds);
	ratio_b = median_of(rb, (size_t)rounds);
	preload(10000, 500);
	fan = bench_fanout(100, n_fan, &fan90);
	daemon_stop();

	printf("instantd local benchmarks (medians; baselines measured in this run)\n\n");
	printf("%-44s %14s %14s %8s %10s\n", "benchmark", "instantd",
	    "baseline", "ratio", "target");
	printf("%-44s %11.1f us %11.1f us %7.2fx %10s\n",
	    "a. transact reply p50, 1 client", lat * 1e6, (rtt + commit) * 1e6,
	    lat / (rtt + commit), "<= 1.5x");
	printf("%-44s %11.1f us %14s\n", "   (baseline: socket round trip)",
	    rtt * 1e6, "");
	printf("%-44s %11.1f us %14s\n", "   (baseline: SQLite FULL commit)",
	    commit * 1e6, "");
	printf("%-44s %9.0f tx/s %14s %7.2fx %10s\n",
	    "b. 8 clients pipelining", pipe_rate, "(by round)", ratio_b,
	    ">= 4x");
	printf("%-44s %11.2f ms %14s %8s %10s\n",
	    "c. fan-out 1 tx -> 100 subscribers (p50)", fan, "-", "-",
	    "<= 3 ms");
	printf("%-44s %11.2f ms\n", "   (p90)", fan90);
	printf("\nb by round: %d pipelined transactions a client, then %d "
	    "raw commits\n%-6s %14s %14s %14s %8s\n", n_pipe, per_round,
	    "round", "pipelined", "commit p50", "1 commit/tx", "ratio");
	for (r = 0; r < rounds; r++)
		printf("%-6d %9.0f tx/s %11.1f us %9.0f tx/s %7.2fx\n", r + 1,
		    rates[r], cp[r] * 1e6, 1.0 / cp[r], rb[r]);
	free(rb);
	free(rates);
	free(cp);
	free(lat_t);
	free(commit_t);

	{
		char cmd[400];

		snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return 0;
}
