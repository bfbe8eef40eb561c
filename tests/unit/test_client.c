/*
 * test_client.c: libinstantd against a scripted fake daemon.
 *
 * The fake daemon is the other end of a socketpair (or a listening socket
 * in a temp directory for the connect tests): the test reads the lines the
 * client wrote and writes the bytes a daemon would send, then lets the
 * client dispatch.  Everything runs in one thread; blocking calls work
 * because their replies are written before the call starts.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instantd/client.h"

/* What the callbacks saw. */
struct seen {
	int replies;        /* reply callbacks run */
	int nulls;          /* of which with a NULL reply */
	char order[16];     /* the arg tags of replies, in order */
	json_t *last;       /* the last reply (a reference) */
	int events[5];      /* per kind */
	char last_event[32];
	int ww_changes, ww_value;
};

/* A reply callback's argument: which request and where to record. */
struct tag {
	struct seen *seen;
	char name;
};

static instantd_client *client;
static int peer = -1;
static struct seen seen;
/* Request tags; global because teardown still answers waiting requests. */
static struct tag tag_a = { &seen, 'a' }, tag_b = { &seen, 'b' },
    tag_c = { &seen, 'c' };

/* Connect client to a fresh socketpair; peer is the fake daemon's end. */
static void
setup(void)
{
	int sv[2];

	memset(&seen, 0, sizeof seen);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	client = instantd_create();
	ck_assert_ptr_nonnull(client);
	ck_assert_int_eq(instantd_connect_fd(client, sv[0]), INSTANTD_OK);
	peer = sv[1];
}

/* Free everything. */
static void
teardown(void)
{
	instantd_free(client);
	client = NULL;
	if (peer != -1)
		close(peer);
	peer = -1;
	json_decref(seen.last);
}

/* Write s to the client. */
static void
peer_write(const char *s)
{
	size_t len = strlen(s);

	ck_assert_int_eq(write(peer, s, len), (ssize_t)len);
}

/* Read one line the client sent (without '\n') into buf. */
static void
peer_read_line(char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		ck_assert_uint_lt(n, size - 1);
		ck_assert_int_eq(read(peer, buf + n, 1), 1);
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
}

/* Record a reply. */
static void
reply_cb(instantd_client *c, json_t *reply, void *arg)
{
	struct tag *t = arg;
	struct seen *s = t->seen;

	if (s->replies < (int)sizeof s->order - 1)
		s->order[s->replies] = t->name;
	s->replies++;
	if (reply == NULL)
		s->nulls++;
	json_decref(s->last);
	s->last = json_incref(reply);
}

/* Record an event by kind (arg is the kind). */
static void
event_cb(instantd_client *c, const char *name, json_t *event, void *arg)
{
	seen.events[(int)(long)arg]++;
	snprintf(seen.last_event, sizeof seen.last_event, "%s", name);
}

/* Record a want-write change. */
static void
ww_cb(instantd_client *c, int want, void *arg)
{
	seen.ww_changes++;
	seen.ww_value = want;
}

/* Send {"op":op} with tag t. */
static void
send_op(const char *op, struct tag *t)
{
	json_t *req = json_pack("{s:s}", "op", op);

	ck_assert_int_eq(instantd_send(client, req, reply_cb, t), INSTANTD_OK);
	json_decref(req);
}

START_TEST(test_socket_path)
{
	char *p;

	p = instantd_socket_path("/x/explicit");
	ck_assert_str_eq(p, "/x/explicit");
	free(p);
	setenv("INSTANTD_SOCKET", "/x/env", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
	p = instantd_socket_path(NULL);
	ck_assert_str_eq(p, "/x/env");
	free(p);
	setenv("INSTANTD_SOCKET", "", 1);
	p = instantd_socket_path("");
	ck_assert_str_eq(p, "/run/user/7/instantd/socket");
	free(p);
	setenv("XDG_RUNTIME_DIR", "relative", 1);
	p = instantd_socket_path(NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(strncmp(p, "/tmp/instantd-", 14), 0);
	ck_assert_str_eq(strrchr(p, '/'), "/socket");
	free(p);
}
END_TEST

START_TEST(test_connect_path)
{
	char dir[] = "/tmp/test_client.XXXXXX", path[108], line[128];
	struct sockaddr_un sun;
	int lfd, afd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/socket", dir);
	ck_assert_int_eq(instantd_connect(client, path),
	    INSTANTD_ERR_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(instantd_errmsg(client), path));
	ck_assert_int_ne(instantd_fd(client), -1); /* the old one is kept */

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	setenv("INSTANTD_SOCKET", path, 1);
	ck_assert_int_eq(instantd_connect(client, NULL), INSTANTD_OK);
	afd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(afd, 0);
	close(peer);
	peer = afd;
	send_op("status", &tag_a);
	peer_read_line(line, sizeof line);
	ck_assert_str_eq(line, "{\"id\":1,\"op\":\"status\"}");
	close(lfd);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_connect_path_too_long)
{
	char path[200];

	memset(path, 'a', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	ck_assert_int_eq(instantd_connect(client, path), INSTANTD_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(instantd_errmsg(client), "too long"));
	ck_assert_int_eq(instantd_connect_fd(client, -1), INSTANTD_ERR_INVALID);
	ck_assert_int_ne(instantd_fd(client), -1);
}
END_TEST

START_TEST(test_ids)
{
	json_t *req;
	char line[128];

	send_op("status", &tag_a);
	peer_read_line(line, sizeof line);
	ck_assert_str_eq(line, "{\"id\":1,\"op\":\"status\"}");
	req = json_pack("{s:s, s:s}", "op", "uuid", "id", "mine");
	ck_assert_int_eq(instantd_send(client, req, NULL, NULL), INSTANTD_OK);
	json_decref(req);
	peer_read_line(line, sizeof line);
	ck_assert_str_eq(line, "{\"op\":\"uuid\",\"id\":\"mine\"}");
	req = json_object();
	ck_assert_int_eq(instantd_send(client, req, NULL, NULL), INSTANTD_OK);
	json_decref(req);
	peer_read_line(line, sizeof line);
	ck_assert_str_eq(line, "{\"id\":2}");
	ck_assert_int_eq(instantd_send_line(client, "{\"op\":\"x\"}", 10, NULL,
	    NULL), INSTANTD_OK);
	peer_read_line(line, sizeof line);
	ck_assert_str_eq(line, "{\"op\":\"x\"}");
}
END_TEST

START_TEST(test_bad_arguments)
{
	json_t *arr = json_array();

	ck_assert_int_eq(instantd_send(client, arr, NULL, NULL),
	    INSTANTD_ERR_INVALID);
	ck_assert_int_eq(instantd_send_line(client, " \t", 2, NULL, NULL),
	    INSTANTD_ERR_INVALID);
	ck_assert_int_eq(instantd_send_line(client, "{}\n{}\n", 6, NULL, NULL),
	    INSTANTD_ERR_INVALID);
	ck_assert_int_eq(instantd_on_event(client, 99, event_cb, NULL),
	    INSTANTD_ERR_INVALID);
	ck_assert_int_eq(instantd_dispatch(NULL), INSTANTD_ERR_INVALID);
	ck_assert_int_eq(instantd_fd(NULL), -1);
	ck_assert_int_eq(instantd_want_write(client), 0);
	json_decref(arr);
}
END_TEST

START_TEST(test_replies_in_order)
{
	send_op("status", &tag_a);
	send_op("pending", &tag_b);
	send_op("uuid", &tag_c);
	peer_write("{\"id\":1,\"ok\":true,\"n\":1}\n"
	    "{\"id\":2,\"ok\":false,\"error\":{\"code\":\"not-found\","
	    "\"message\":\"gone\"}}\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_OK);
	ck_assert_int_eq(seen.replies, 2);
	ck_assert_str_eq(seen.order, "ab");
	ck_assert(!instantd_reply_ok(seen.last));
	ck_assert_str_eq(instantd_reply_error_code(seen.last), "not-found");
	ck_assert_str_eq(instantd_reply_error_message(seen.last), "gone");
	peer_write("{\"id\":3,\"ok\":true,\"uuid\":\"u\"}\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_OK);
	ck_assert_str_eq(seen.order, "abc");
	ck_assert(instantd_reply_ok(seen.last));
	ck_assert_ptr_null(instantd_reply_error_code(seen.last));
	ck_assert_int_eq(seen.nulls, 0);
}
END_TEST

START_TEST(test_null_id_reply)
{
	ck_assert_int_eq(instantd_send_line(client, "nonsense", 8, reply_cb,
	    &tag_a), INSTANTD_OK);
	peer_write("{\"id\":null,\"ok\":false,\"error\":{\"code\":\"bad-json\","
	    "\"message\":\"x\"}}\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_OK);
	ck_assert_int_eq(seen.replies, 1);
	ck_assert_str_eq(instantd_reply_error_code(seen.last), "bad-json");
}
END_TEST

START_TEST(test_id_mismatch)
{
	send_op("status", &tag_a);
	send_op("status", &tag_b);
	peer_write("{\"id\":2,\"ok\":true}\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_ERR_PROTOCOL);
	ck_assert_int_eq(seen.replies, 2);
	ck_assert_int_eq(seen.nulls, 2);
	ck_assert_int_eq(instantd_fd(client), -1);
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_ERR_CLOSED);
}
END_TEST

START_TEST(test_events)
{
	long k;

	for (k = INSTANTD_EVENT_ANY; k <= INSTANTD_EVENT_OVERFLOW; k++)
		ck_assert_int_eq(instantd_on_event(client, k, event_cb,
		    (void *)k), INSTANTD_OK);
	send_op("subscribe", &tag_a);
	peer_write("{\"event\":\"result\",\"sub\":1,\"data\":{}}\n"
	    "{\"id\":1,\"ok\":true,\"sub\":1}\n"
	    "{\"event\":\"tx\",\"tx\":\"t\",\"status\":\"synced\"}\n"
	    "{\"event\":\"connection\",\"state\":\"opened\"}\n"
	    "{\"event\":\"overflow\",\"dropped\":3}\n"
	    "{\"event\":\"presence\"}\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_OK);
	ck_assert_int_eq(seen.replies, 1);
	ck_assert_int_eq(seen.events[INSTANTD_EVENT_RESULT], 1);
	ck_assert_int_eq(seen.events[INSTANTD_EVENT_TX], 1);
	ck_assert_int_eq(seen.events[INSTANTD_EVENT_CONNECTION], 1);
	ck_assert_int_eq(seen.events[INSTANTD_EVENT_OVERFLOW], 1);
	ck_assert_int_eq(seen.events[INSTANTD_EVENT_ANY], 5);
	ck_assert_str_eq(seen.last_event, "presence");
	instantd_on_event(client, INSTANTD_EVENT_ANY, NULL, NULL);
	peer_write("{\"event\":\"tx\",\"tx\":\"t\",\"status\":\"error\"}\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_OK);
	ck_assert_int_eq(seen.events[INSTANTD_EVENT_TX], 2);
	ck_assert_int_eq(seen.events[INSTANTD_EVENT_ANY], 5);
}
END_TEST

START_TEST(test_partial_lines)
{
	static const char reply[] = "{\"id\":1,\"ok\":true,\"x\":\"\xc3\xa9\"}\r\n";
	size_t i;

	send_op("status", &tag_a);
	for (i = 0; i < sizeof reply - 1; i++) {
		ck_assert_int_eq(seen.replies, 0);
		ck_assert_int_eq(write(peer, reply + i, 1), 1);
		ck_assert_int_eq(instantd_dispatch(client), INSTANTD_OK);
	}
	ck_assert_int_eq(seen.replies, 1);
	ck_assert_int_eq(seen.nulls, 0);
	ck_assert_str_eq(json_string_value(json_object_get(seen.last, "x")),
	    "\xc3\xa9");
}
END_TEST

START_TEST(test_oversized_line)
{
	char big[300];
	int sv[2];

	ck_assert_int_eq(instantd_set_max_line(client, 100), INSTANTD_OK);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(instantd_connect_fd(client, sv[0]), INSTANTD_OK);
	close(peer);
	peer = sv[1];
	send_op("query", &tag_a);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	peer_write("{\"event\":\"result\",\"s\":\"");
	peer_write(big);
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_ERR_TOO_LARGE);
	ck_assert_int_eq(seen.nulls, 1);
	ck_assert_int_eq(instantd_fd(client), -1);
	ck_assert_ptr_nonnull(strstr(instantd_errmsg(client), "100"));
}
END_TEST

START_TEST(test_oversized_complete_line)
{
	char line[256];
	int sv[2];

	ck_assert_int_eq(instantd_set_max_line(client, 50), INSTANTD_OK);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(instantd_connect_fd(client, sv[0]), INSTANTD_OK);
	close(peer);
	peer = sv[1];
	send_op("query", &tag_a);
	snprintf(line, sizeof line, "{\"id\":1,\"ok\":true,\"data\":\"%060d\"}\n",
	    0);
	peer_write(line);
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_ERR_TOO_LARGE);
	ck_assert_int_eq(seen.nulls, 1);
}
END_TEST

START_TEST(test_invalid_line)
{
	send_op("status", &tag_a);
	peer_write("[1,2]\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_ERR_PROTOCOL);
	ck_assert_int_eq(seen.nulls, 1);
	ck_assert_ptr_nonnull(strstr(instantd_errmsg(client), "object"));
}
END_TEST

START_TEST(test_bad_json_line)
{
	send_op("status", &tag_a);
	peer_write("{\"id\":1,\"ok\":tru\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_ERR_PROTOCOL);
	ck_assert_int_eq(seen.nulls, 1);
}
END_TEST

START_TEST(test_neither_reply_nor_event)
{
	send_op("status", &tag_a);
	peer_write("{\"id\":1}\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_ERR_PROTOCOL);
	ck_assert_int_eq(seen.nulls, 1);
}
END_TEST

START_TEST(test_unsolicited_error)
{
	peer_write("{\"id\":null,\"ok\":false,\"error\":{\"code\":\"forbidden\","
	    "\"message\":\"wrong uid\"}}\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_ERR_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(instantd_errmsg(client), "forbidden"));
}
END_TEST

START_TEST(test_peer_close)
{
	send_op("status", &tag_a);
	send_op("status", &tag_b);
	peer_write("{\"id\":1,\"ok\":true}\n{\"id\":2,");
	close(peer);
	peer = -1;
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_ERR_CLOSED);
	ck_assert_str_eq(seen.order, "ab");
	ck_assert_int_eq(seen.nulls, 1);
	ck_assert_int_eq(instantd_fd(client), -1);
	ck_assert_int_eq(instantd_send_line(client, "{}", 2, NULL, NULL),
	    INSTANTD_ERR_CLOSED);
}
END_TEST

START_TEST(test_call)
{
	json_t *req = json_pack("{s:s}", "op", "status"), *reply = NULL;
	char line[128];

	instantd_on_event(client, INSTANTD_EVENT_CONNECTION, event_cb,
	    (void *)(long)INSTANTD_EVENT_CONNECTION);
	peer_write("{\"event\":\"connection\",\"state\":\"closed\"}\n"
	    "{\"id\":1,\"ok\":true,\"pending\":0}\n");
	ck_assert_int_eq(instantd_call(client, req, 2000, &reply), INSTANTD_OK);
	ck_assert_int_eq(seen.events[INSTANTD_EVENT_CONNECTION], 1);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(json_integer_value(json_object_get(reply, "pending")),
	    0);
	peer_read_line(line, sizeof line);
	ck_assert_str_eq(line, "{\"id\":1,\"op\":\"status\"}");
	json_decref(reply);
	json_decref(req);
}
END_TEST

START_TEST(test_call_timeout)
{
	json_t *req = json_pack("{s:s}", "op", "status"), *reply = NULL;

	ck_assert_int_eq(instantd_call(client, req, 30, &reply),
	    INSTANTD_ERR_TIMEOUT);
	ck_assert_ptr_null(reply);
	ck_assert_int_ne(instantd_fd(client), -1);
	/* The late reply is dropped; the next call gets its own. */
	peer_write("{\"id\":1,\"ok\":true,\"late\":true}\n"
	    "{\"id\":2,\"ok\":true}\n");
	ck_assert_int_eq(instantd_call(client, req, 2000, &reply), INSTANTD_OK);
	ck_assert_ptr_null(json_object_get(reply, "late"));
	json_decref(reply);
	json_decref(req);
}
END_TEST

START_TEST(test_call_closed)
{
	json_t *req = json_pack("{s:s}", "op", "status"), *reply = NULL;

	close(peer);
	peer = -1;
	ck_assert_int_lt(instantd_call(client, req, 2000, &reply), 0);
	ck_assert_ptr_null(reply);
	json_decref(req);
}
END_TEST

/* A reply callback that tries a blocking call. */
static void
nested_call_cb(instantd_client *c, json_t *reply, void *arg)
{
	json_t *req = json_object(), *r = NULL;

	*(int *)arg = instantd_call(c, req, 10, &r);
	json_decref(req);
}

START_TEST(test_call_from_callback)
{
	json_t *req = json_object();
	int status = 0;

	ck_assert_int_eq(instantd_send(client, req, nested_call_cb, &status),
	    INSTANTD_OK);
	peer_write("{\"id\":1,\"ok\":true}\n");
	ck_assert_int_eq(instantd_dispatch(client), INSTANTD_OK);
	ck_assert_int_eq(status, INSTANTD_ERR_BUSY);
	json_decref(req);
}
END_TEST

/* A reply callback that frees the client. */
static void
free_cb(instantd_client *c, json_t *reply, void *arg)
{
	(*(int *)arg)++;
	instantd_free(c);
}

START_TEST(test_free_in_callback)
{
	json_t *req = json_object();
	int calls = 0;

	ck_assert_int_eq(instantd_send(client, req, free_cb, &calls),
	    INSTANTD_OK);
	ck_assert_int_eq(instantd_send(client, req, free_cb, &calls),
	    INSTANTD_OK);
	peer_write("{\"id\":1,\"ok\":true}\n{\"event\":\"tx\"}\n");
	instantd_dispatch(client);
	client = NULL; /* freed; the second callback ran with NULL */
	ck_assert_int_eq(calls, 2);
	json_decref(req);
}
END_TEST

START_TEST(test_want_write)
{
	int size = 4096;
	json_t *req;
	char *big, buf[65536];
	ssize_t n;

	ck_assert_int_eq(setsockopt(instantd_fd(client), SOL_SOCKET,
	    SO_SNDBUF, &size, sizeof size), 0);
	instantd_on_want_write(client, ww_cb, NULL);
	big = malloc(1 << 20);
	memset(big, 'x', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	req = json_pack("{s:s, s:s}", "op", "transact", "x", big);
	ck_assert_int_eq(instantd_send(client, req, NULL, NULL), INSTANTD_OK);
	ck_assert(instantd_want_write(client));
	ck_assert_int_eq(seen.ww_changes, 1);
	ck_assert_int_eq(seen.ww_value, 1);
	while (instantd_want_write(client)) {
		n = read(peer, buf, sizeof buf);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(instantd_dispatch(client), INSTANTD_OK);
	}
	ck_assert_int_eq(seen.ww_changes, 2);
	ck_assert_int_eq(seen.ww_value, 0);
	json_decref(req);
	free(big);
}
END_TEST

START_TEST(test_big_reply)
{
	size_t size = 5 * 1024 * 1024, n = 0;
	json_t *req = json_pack("{s:s}", "op", "query"), *reply = NULL;
	char *line = malloc(size + 64);
	pid_t pid;
	int status;

	ck_assert_ptr_nonnull(line);
	n = (size_t)sprintf(line, "{\"id\":1,\"ok\":true,\"data\":\"");
	memset(line + n, 'y', size);
	n += size;
	n += (size_t)sprintf(line + n, "\"}\n");
	/* A writer process, since the socket holds far less than 5 MiB. */
	if ((pid = fork()) == 0) {
		status = write(peer, line, n) == (ssize_t)n ? 0 : 1;
		free(line); /* for leak checkers watching the child too */
		json_decref(req);
		instantd_free(client);
		_exit(status);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(instantd_call(client, req, 10000, &reply),
	    INSTANTD_OK);
	ck_assert_uint_eq(json_string_length(json_object_get(reply, "data")),
	    size);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	json_decref(reply);
	json_decref(req);
	free(line);
}
END_TEST

/* A small deterministic generator (xorshift32). */
static unsigned int
next_random(unsigned int *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

START_TEST(test_garbage)
{
	static const char alphabet[] = "{}[]\":,\\\n\r 0a-tnul\x80\xff";
	unsigned int state = 2463534242u;
	char buf[512];
	int round, i, sv[2], r;

	for (round = 0; round < 300; round++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		ck_assert_int_eq(instantd_connect_fd(client, sv[0]),
		    INSTANTD_OK);
		close(peer);
		peer = sv[1];
		send_op("status", &tag_a);
		for (i = 0; i < (int)sizeof buf; i++)
			buf[i] = alphabet[next_random(&state) %
			    (sizeof alphabet - 1)];
		ck_assert_int_eq(write(peer, buf, sizeof buf),
		    (ssize_t)sizeof buf);
		r = instantd_dispatch(client);
		ck_assert(r == INSTANTD_OK || r == INSTANTD_ERR_PROTOCOL);
	}
}
END_TEST

START_TEST(test_free_null)
{
	instantd_free(NULL);
	ck_assert_str_eq(instantd_strerror(INSTANTD_ERR_TIMEOUT), "timed out");
	ck_assert_str_eq(instantd_strerror(12345), "unknown error");
}
END_TEST

/* The suite. */
static Suite *
client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_socket_path);
	tcase_add_test(tc, test_connect_path);
	tcase_add_test(tc, test_connect_path_too_long);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_replies_in_order);
	tcase_add_test(tc, test_null_id_reply);
	tcase_add_test(tc, test_id_mismatch);
	tcase_add_test(tc, test_events);
	tcase_add_test(tc, test_partial_lines);
	tcase_add_test(tc, test_oversized_line);
	tcase_add_test(tc, test_oversized_complete_line);
	tcase_add_test(tc, test_invalid_line);
	tcase_add_test(tc, test_bad_json_line);
	tcase_add_test(tc, test_neither_reply_nor_event);
	tcase_add_test(tc, test_unsolicited_error);
	tcase_add_test(tc, test_peer_close);
	tcase_add_test(tc, test_call);
	tcase_add_test(tc, test_call_timeout);
	tcase_add_test(tc, test_call_closed);
	tcase_add_test(tc, test_call_from_callback);
	tcase_add_test(tc, test_free_in_callback);
	tcase_add_test(tc, test_want_write);
	tcase_add_test(tc, test_big_reply);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
