/*
 * test_conf.c: configuration parsing: the file format, every error
 * message, precedence of file, environment and flags, and websocket URI
 * derivation.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "daemon/conf.h"

/* Parse text and return the error (caller frees) or NULL. */
static char *
parse_err(const char *text)
{
	struct conf *c = conf_create();
	char *err = NULL;
	int r = conf_load_string(c, "cfg", text, &err);

	if (r == 0 && conf_finish(c, &err) != 0)
		r = -1;
	conf_free(c);
	if (r == 0) {
		free(err);
		return NULL;
	}
	ck_assert_ptr_nonnull(err);
	return err;
}

/* Assert that text fails with exactly want. */
static void
expect_err(const char *text, const char *want)
{
	char *err = parse_err(text);

	ck_assert_msg(err != NULL, "no error for: %s", text);
	ck_assert_str_eq(err, want);
	free(err);
}

START_TEST(test_good_file)
{
	struct conf *c = conf_create();
	const struct conf_app *a, *b;
	char *err = NULL;

	ck_assert_int_eq(conf_load_string(c, "cfg",
	    "# comment\n"
	    "\n"
	    "  default-app = 2F0A8D3C-1111-4A4A-9B9B-000000000001  \n"
	    "log-level=debug\n"
	    "socket = /run/x/sock\n"
	    "data-dir = /var/x\n"
	    "max-line = 2048\n"
	    "max-output = 65536\n"
	    "cache-size = 1048576\n"
	    "dead-timeout = 3\n"
	    "synchronous = normal\n"
	    "[app 2f0a8d3c-1111-4a4a-9b9b-000000000001]\n"
	    "api-uri = https://instant.example.org:8443/api\n"
	    "[ app 2f0a8d3c-1111-4a4a-9b9b-000000000002 ]\n"
	    "api-uri = http://127.0.0.1:8888\n"
	    "websocket-uri = ws://127.0.0.1:9999/custom\n", &err), 0);
	ck_assert_int_eq(conf_finish(c, &err), 0);
	ck_assert_str_eq(c->default_app, "2f0a8d3c-1111-4a4a-9b9b-000000000001");
	ck_assert_int_eq(c->log_level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(c->socket_path, "/run/x/sock");
	ck_assert_str_eq(c->data_dir, "/var/x");
	ck_assert_uint_eq(c->max_line, 2048);
	ck_assert_uint_eq(c->max_output, 65536);
	ck_assert_uint_eq(c->cache_size, 1048576);
	ck_assert_int_eq(c->dead_timeout_sec, 3);
	ck_assert_int_eq(c->synchronous_full, 0);
	a = conf_app_find(c, "2f0a8d3c-1111-4a4a-9b9b-000000000001");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->ws_uri, "wss://instant.example.org:8443/runtime/session");
	b = conf_app_find(c, "2f0a8d3c-1111-4a4a-9b9b-000000000002");
	ck_assert_str_eq(b->ws_uri, "ws://127.0.0.1:9999/custom");
	conf_free(c);
}
END_TEST

START_TEST(test_derive)
{
	const struct { const char *in, *out; } cases[] = {
		{ "http://localhost:8888", "ws://localhost:8888/runtime/session" },
		{ "https://api.example.org", "wss://api.example.org/runtime/session" },
		{ "https://api.example.org/some/path?x=1", "wss://api.example.org/runtime/session" },
		{ "HTTP://h:1", "ws://h:1/runtime/session" },
		{ "http://[::1]:8888", "ws://[::1]:8888/runtime/session" },
		{ "ftp://h", NULL },
		{ "http://", NULL },
		{ "nonsense", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *ws = conf_derive_ws_uri(cases[i].in);

		if (cases[i].out == NULL)
			ck_assert_msg(ws == NULL, "%s", cases[i].in);
		else
			ck_assert_str_eq(ws, cases[i].out);
		free(ws);
	}
}
END_TEST

START_TEST(test_errors)
{
	expect_err("nonsense\n", "cfg:1: expected key = value");
	expect_err("\n\n= x\n", "cfg:3: missing key before '='");
	expect_err("log-level =\n", "cfg:1: missing value after '='");
	expect_err("colour = blue\n", "cfg:1: unknown key");
	expect_err("default-app = nope\n", "cfg:1: default-app must be a UUID");
	expect_err("log-level = loud\n",
	    "cfg:1: log-level must be error, warn, info or debug");
	expect_err("socket = relative\n", "cfg:1: socket must be an absolute path");
	expect_err("data-dir = relative\n",
	    "cfg:1: data-dir must be an absolute path");
	expect_err("max-line = 12\n",
	    "cfg:1: max-line must be a byte count from 1024 to 1073741824");
	expect_err("max-line = 12k\n",
	    "cfg:1: max-line must be a byte count from 1024 to 1073741824");
	expect_err("max-output = 99999999999\n",
	    "cfg:1: max-output must be a byte count from 1024 to 1073741824");
	expect_err("cache-size = 4096\n",
	    "cfg:1: cache-size must be 0 or a byte count from 65536 to 1073741824");
	expect_err("cache-size = -1\n",
	    "cfg:1: cache-size must be 0 or a byte count from 65536 to 1073741824");
	expect_err("dead-timeout = 0\n",
	    "cfg:1: dead-timeout must be a number of seconds from 1 to 3600");
	expect_err("dead-timeout = 3601\n",
	    "cfg:1: dead-timeout must be a number of seconds from 1 to 3600");
	expect_err("dead-timeout = 5s\n",
	    "cfg:1: dead-timeout must be a number of seconds from 1 to 3600");
	expect_err("synchronous = off\n",
	    "cfg:1: synchronous must be full or normal");
	expect_err("[app 2f0a8d3c-1111-4a4a-9b9b-000000000001\n",
	    "cfg:1: a section header must look like [app UUID]");
	expect_err("[app 2f0a8d3c-1111-4a4a-9b9b-000000000001] x\n",
	    "cfg:1: a section header must look like [app UUID]");
	expect_err("[server]\n",
	    "cfg:1: unknown section (only [app UUID] sections exist)");
	expect_err("[app nope]\n", "cfg:1: the app id of a section must be a UUID");
	expect_err("[app 2f0a8d3c-1111-4a4a-9b9b-000000000001]\nlog-level = info\n",
	    "cfg:2: unknown key in an app section");
	expect_err("[app 2f0a8d3c-1111-4a4a-9b9b-000000000001]\napi-uri = ws://x\n",
	    "cfg:2: api-uri must be an http:// or https:// URI with a host");
	expect_err("[app 2f0a8d3c-1111-4a4a-9b9b-000000000001]\nwebsocket-uri = http://x\n",
	    "cfg:2: websocket-uri must be a ws:// or wss:// URI with a host");
}
END_TEST

START_TEST(test_file_errors)
{
	struct conf *c = conf_create();
	char path[] = "/tmp/test_conf.XXXXXX", *err = NULL;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(conf_load_file(c, "/nonexistent/instantd.conf", 0, &err), 0);
	ck_assert_int_eq(conf_load_file(c, "/nonexistent/instantd.conf", 1, &err), -1);
	ck_assert_str_eq(err, "/nonexistent/instantd.conf: No such file or directory");
	free(err);
	ck_assert_int_eq(write(fd, "log-level = info\nbad\n", 21), 21);
	close(fd);
	ck_assert_int_eq(conf_load_file(c, path, 1, &err), -1);
	char want[128];
	snprintf(want, sizeof want, "%s:2: expected key = value", path);
	ck_assert_str_eq(err, want);
	free(err);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "a\0b\n", 4), 4);
	close(fd);
	ck_assert_int_eq(conf_load_file(c, path, 1, &err), -1);
	snprintf(want, sizeof want, "%s: contains a NUL byte", path);
	ck_assert_str_eq(err, want);
	free(err);
	unlink(path);
	conf_free(c);
}
END_TEST

/* Run conf_from_args over a NULL-terminated argv. */
static int
from_args(struct conf *c, const char *const *argv, enum conf_action *act, char **err)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return conf_from_args(c, argc, (char **)argv, act, err);
}

START_TEST(test_precedence)
{
	char path[] = "/tmp/test_conf.XXXXXX", *err = NULL;
	int fd = mkstemp(path);
	const char *text = "socket = /from/file\nlog-level = warn\n"
	    "default-app = 2f0a8d3c-1111-4a4a-9b9b-000000000001\n";
	enum conf_action act;
	struct conf *c;

	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);

	c = conf_create();
	unsetenv("INSTANTD_SOCKET");
	const char *a1[] = { "instantd", "--config", path, NULL };
	ck_assert_int_eq(from_args(c, a1, &act, &err), 0);
	ck_assert_str_eq(c->socket_path, "/from/file");
	ck_assert_int_eq(c->log_level, LOG_LEVEL_WARN);
	ck_assert_int_eq(c->dead_timeout_sec, 20);
	conf_free(c);

	c = conf_create();
	setenv("INSTANTD_SOCKET", "/from/env", 1);
	ck_assert_int_eq(from_args(c, a1, &act, &err), 0);
	ck_assert_str_eq(c->socket_path, "/from/env");
	conf_free(c);

	c = conf_create();
	const char *a2[] = { "instantd", "--config", path, "--socket", "/from/flag",
		"-l", "debug", "--api-uri", "http://127.0.0.1:7000", NULL };
	ck_assert_int_eq(from_args(c, a2, &act, &err), 0);
	ck_assert_int_eq(act, CONF_RUN);
	ck_assert_str_eq(c->socket_path, "/from/flag");
	ck_assert_int_eq(c->log_level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(conf_app_find(c, "2f0a8d3c-1111-4a4a-9b9b-000000000001")->ws_uri,
	    "ws://127.0.0.1:7000/runtime/session");
	conf_free(c);
	unsetenv("INSTANTD_SOCKET");
	unlink(path);
}
END_TEST

START_TEST(test_relative_paths)
{
	struct conf *c = conf_create();
	char *err = NULL, cwd[4096], want[4200];
	enum conf_action act;
	const char *av[] = { "instantd", "--config", "/dev/null", "--socket",
		"d.sock", "--data-dir", "sub/data", "--ca-file", "/etc/ca.pem",
		NULL };

	/* Flags may be relative (a file's paths must be absolute): they are
	 * the working directory's, which the daemon later leaves. */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	unsetenv("INSTANTD_SOCKET");
	ck_assert_int_eq(from_args(c, av, &act, &err), 0);
	snprintf(want, sizeof want, "%s/d.sock", cwd);
	ck_assert_str_eq(c->socket_path, want);
	snprintf(want, sizeof want, "%s/sub/data", cwd);
	ck_assert_str_eq(c->data_dir, want);
	ck_assert_str_eq(c->ca_file, "/etc/ca.pem");
	conf_free(c);
}
END_TEST

START_TEST(test_flag_errors)
{
	static const struct { const char *argv[6]; int code; const char *msg; } cases[] = {
		{ { "instantd", "--bogus", NULL }, CONF_EXIT_USAGE, "unknown option --bogus" },
		{ { "instantd", "--socket", NULL }, CONF_EXIT_USAGE, "option --socket needs a value" },
		{ { "instantd", "extra", NULL }, CONF_EXIT_USAGE, "unexpected argument extra" },
		{ { "instantd", "--log-level", "x", NULL }, CONF_EXIT_USAGE,
		  "--log-level must be error, warn, info or debug" },
		{ { "instantd", "--app", "x", NULL }, CONF_EXIT_USAGE, "--app must be a UUID" },
		{ { "instantd", "--max-line", "1", NULL }, CONF_EXIT_USAGE,
		  "--max-line must be a byte count from 1024 to 1073741824" },
		{ { "instantd", "--api-uri", "http://x", NULL }, CONF_EXIT_USAGE,
		  "--api-uri and --websocket-uri need --app (or default-app)" },
		{ { "instantd", "--app", "2f0a8d3c-1111-4a4a-9b9b-000000000001",
		    "--api-uri", "x", NULL }, CONF_EXIT_USAGE,
		  "--api-uri must be an http:// or https:// URI with a host" },
		{ { "instantd", "--config", "/nonexistent/cfg", NULL }, CONF_EXIT_CONFIG,
		  "/nonexistent/cfg: No such file or directory" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct conf *c = conf_create();
		enum conf_action act;
		char *err = NULL;

		ck_assert_int_eq(from_args(c, cases[i].argv, &act, &err),
		    cases[i].code);
		ck_assert_str_eq(err, cases[i].msg);
		free(err);
		conf_free(c);
	}
}
END_TEST

START_TEST(test_help_version)
{
	struct conf *c = conf_create();
	enum conf_action act;
	char *err = NULL;
	const char *h[] = { "instantd", "--help", NULL };
	const char *v[] = { "instantd", "-V", NULL };

	ck_assert_int_eq(from_args(c, h, &act, &err), 0);
	ck_assert_int_eq(act, CONF_HELP);
	ck_assert_int_eq(from_args(c, v, &act, &err), 0);
	ck_assert_int_eq(act, CONF_VERSION);
	ck_assert_ptr_nonnull(strstr(conf_usage(), "--websocket-uri"));
	conf_free(c);
}
END_TEST

START_TEST(test_cache_size)
{
	struct conf *c = conf_create();
	char *err = NULL;

	ck_assert_uint_eq(c->cache_size, 16 * 1024 * 1024);
	ck_assert_int_eq(conf_load_string(c, "cfg", "cache-size = 0\n", &err),
	    0);
	ck_assert_uint_eq(c->cache_size, 0);
	ck_assert_int_eq(conf_load_string(c, "cfg", "cache-size = 65536\n",
	    &err), 0);
	ck_assert_uint_eq(c->cache_size, 65536);
	conf_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_cache_size);
	tcase_add_test(tc, test_relative_paths);
	tcase_add_test(tc, test_derive);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_precedence);
	tcase_add_test(tc, test_flag_errors);
	tcase_add_test(tc, test_help_version);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
