/*
 * test_proto.c: the line codec against tests/vectors/proto-lines.jsonl,
 * plus encoding, canonical form, message builders and linebuf.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/linebuf.h"
#include "proto/proto.h"
#include "proto/uuid.h"

/* Decode hex into a malloc'd buffer. */
static char *
hex_decode(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2, i;
	char *out = malloc(n + 1);
	unsigned int b;

	for (i = 0; i < n; i++) {
		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (char)b;
	}
	*len = n;
	return out;
}

START_TEST(test_vectors)
{
	char path[4096];
	const char *srcdir = getenv("top_srcdir");
	json_error_t jerr;
	json_t *all, *v, *in, *hex, *max, *out;
	struct proto_limits lim;
	struct proto_error err;
	char *line;
	size_t len;
	int r, count = 0;

	snprintf(path, sizeof path, "%s/tests/vectors/proto-lines.jsonl",
	    srcdir != NULL ? srcdir : ".");
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	all = json_array();
	while ((v = json_loadf(f, JSON_DISABLE_EOF_CHECK, &jerr)) != NULL)
		json_array_append_new(all, v);
	fclose(f);
	ck_assert_int_ge(json_array_size(all), 30);
	for (size_t i = 0; i < json_array_size(all); i++) {
		v = json_array_get(all, i);
		in = json_object_get(v, "in");
		hex = json_object_get(v, "in_hex");
		max = json_object_get(v, "max_line");
		if (hex != NULL)
			line = hex_decode(json_string_value(hex), &len);
		else {
			len = json_string_length(in);
			line = malloc(len + 1);
			memcpy(line, json_string_value(in), len);
		}
		proto_limits_default(&lim);
		if (max != NULL)
			lim.max_line = (size_t)json_integer_value(max);
		r = proto_decode_object(line, len, &lim, &out, &err);
		const char *want = json_string_value(json_object_get(v,
		    "expect"));
		const char *got = r == 0 ? "ok" : proto_code_name(err.code);
		ck_assert_msg(strcmp(want, got) == 0, "%s: want %s, got %s (%s)",
		    json_string_value(json_object_get(v, "name")), want, got,
		    r == 0 ? "" : err.message);
		if (r == 0)
			ck_assert(json_is_object(out));
		else
			ck_assert(out == NULL && err.message[0] != '\0');
		json_decref(out);
		free(line);
		count++;
	}
	ck_assert_int_eq(count, (int)json_array_size(all));
	json_decref(all);
}
END_TEST

START_TEST(test_encode)
{
	json_t *v = json_pack("{s:s, s:[i, f]}", "a", "caf\xc3\xa9", "b", 1,
	    2.5);
	size_t len;
	char *line = proto_encode(v, &len);

	ck_assert_str_eq(line, "{\"a\":\"caf\xc3\xa9\",\"b\":[1,2.5]}\n");
	ck_assert_uint_eq(len, strlen(line));
	free(line);
	json_decref(v);
}
END_TEST

START_TEST(test_canonical)
{
	json_t *a = json_loads("{\"b\":{\"y\":1,\"x\":2},\"a\":[{\"d\":1,\"c\":2}]}", 0, NULL);
	json_t *b = json_loads("{\"a\":[{\"c\":2,\"d\":1}],\"b\":{\"x\":2,\"y\":1}}", 0, NULL);
	char *ca = proto_canonical(a), *cb = proto_canonical(b);

	ck_assert_str_eq(ca, cb);
	ck_assert_str_eq(ca, "{\"a\":[{\"c\":2,\"d\":1}],\"b\":{\"x\":2,\"y\":1}}");
	free(ca);
	free(cb);
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(test_builders)
{
	json_t *id = json_string("x1"), *hint = json_pack("{s:s}", "op", "z");
	json_t *ok = proto_reply_ok(id), *err, *ev;
	char *s;

	s = json_dumps(ok, JSON_COMPACT);
	ck_assert_str_eq(s, "{\"id\":\"x1\",\"ok\":true}");
	free(s);
	err = proto_reply_error(NULL, PROTO_UNKNOWN_OP, "no such op", hint);
	s = json_dumps(err, JSON_COMPACT);
	ck_assert_str_eq(s, "{\"id\":null,\"ok\":false,\"error\":{\"code\":"
	    "\"unknown-op\",\"message\":\"no such op\",\"hint\":{\"op\":\"z\"}}}");
	free(s);
	ev = proto_event("overflow");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "event")),
	    "overflow");
	ck_assert(proto_id_valid(NULL));
	ck_assert(proto_id_valid(id));
	ck_assert(!proto_id_valid(hint));
	json_decref(ok);
	json_decref(err);
	json_decref(ev);
	json_decref(id);
	json_decref(hint);
}
END_TEST

START_TEST(test_codes)
{
	enum proto_code c;
	const char *names[] = { "bad-json", "bad-request", "unknown-op",
		"too-large", "not-found", "forbidden", "unavailable",
		"upstream", "internal" };

	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		ck_assert_int_eq(proto_code_parse(names[i], &c), 0);
		ck_assert_str_eq(proto_code_name(c), names[i]);
	}
	ck_assert_int_eq(proto_code_parse("nope", &c), -1);
}
END_TEST

START_TEST(test_linebuf)
{
	struct linebuf lb;
	const char *line;
	size_t len;

	linebuf_init(&lb, 8);
	ck_assert_int_eq(linebuf_append(&lb, "ab", 2), 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 0);
	ck_assert_int_eq(linebuf_append(&lb, "c\nde\n", 5), 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 1);
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(line, "abc", 3) == 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 1);
	ck_assert(len == 2 && memcmp(line, "de", 2) == 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 0);
	ck_assert_int_eq(linebuf_append(&lb, "0123456789", 10), 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), -1);
	ck_assert(lb.overflow);
	linebuf_free(&lb);
}
END_TEST

START_TEST(test_uuid)
{
	char u[UUID_STRLEN + 1], n[UUID_STRLEN + 1];

	ck_assert_int_eq(uuid_v4(u), 0);
	ck_assert(uuid_valid(u));
	ck_assert(u[14] == '4');
	ck_assert(strchr("89ab", u[19]) != NULL);
	ck_assert(!uuid_valid("not-a-uuid"));
	ck_assert(!uuid_valid("6f0c0000-0000-4000-8000-00000000000g"));
	ck_assert_int_eq(uuid_normalize("6F0C0000-0000-4000-8000-0000000000AB", n), 0);
	ck_assert_str_eq(n, "6f0c0000-0000-4000-8000-0000000000ab");
}
END_TEST

/* A UUID's bytes, the plain way: a character at a time. */
static int
ref_uuid(const char *s, size_t len, int lower, unsigned char out[16])
{
	size_t i, k = 0;
	int d, hi = -1;

	if (len != UUID_STRLEN)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
			continue;
		}
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (!lower && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return 0;
		if (hi < 0)
			hi = d;
		else {
			out[k++] = (unsigned char)(hi << 4 | d);
			hi = -1;
		}
	}
	return 1;
}

START_TEST(test_uuid_parse_every_byte)
{
	/* Every byte value at every position, in both modes, against the
	 * plain parser; then random ids of mixed case. */
	static const char *bases[] = { "6f0c0000-0000-4000-8000-0000000000ab",
		"0123abcd-ef45-6789-ABCD-EFabcdef0123" };
	char s[UUID_STRLEN + 1];
	unsigned char got[16], want[16];
	size_t b, i;
	int c, lower, r, bad = 0;

	/* (Mismatches are counted and checked once: an assertion per case
	 * would cost more than the parsing.) */
	for (b = 0; b < 2; b++)
		for (i = 0; i < UUID_STRLEN; i++)
			for (c = 0; c < 256; c++)
				for (lower = 0; lower < 2; lower++) {
					memcpy(s, bases[b], sizeof s);
					s[i] = (char)c;
					r = ref_uuid(s, UUID_STRLEN, lower, want);
					bad += (lower ? uuid_bytes_lower(s,
					    UUID_STRLEN, got) : uuid_bytes(s,
					    got)) != r;
					bad += r && memcmp(got, want, 16) != 0;
				}
	ck_assert_int_eq(bad, 0);
	srand(7);
	for (i = 0; i < 20000; i++) {
		static const char pick[] = "0123456789abcdefABCDEFg-";
		size_t j;

		for (j = 0; j < UUID_STRLEN; j++)
			s[j] = (j == 8 || j == 13 || j == 18 || j == 23) &&
			    rand() % 50 ? '-' : pick[rand() % (rand() % 9 ?
			    22 : 24)];
		s[UUID_STRLEN] = '\0';
		for (lower = 0; lower < 2; lower++) {
			r = ref_uuid(s, UUID_STRLEN, lower, want);
			bad += (lower ? uuid_bytes_lower(s, UUID_STRLEN,
			    got) : uuid_bytes(s, got)) != r;
			bad += r && memcmp(got, want, 16) != 0;
		}
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(test_uuid_bytes)
{
	static const unsigned char want[16] = { 0x6f, 0x0c, 0, 0, 0, 0, 0x40,
		0, 0x80, 0, 0, 0, 0, 0, 0, 0xab };
	const char *lower = "6f0c0000-0000-4000-8000-0000000000ab";
	unsigned char b[16];
	char t[UUID_STRLEN + 1];

	/* Either case to bytes, and back in lower case. */
	ck_assert_int_eq(uuid_bytes("6F0C0000-0000-4000-8000-0000000000AB", b),
	    1);
	ck_assert_mem_eq(b, want, 16);
	uuid_text(b, t);
	ck_assert_str_eq(t, lower);
	/* Lower case only, of a length given: text that comes back exact. */
	ck_assert_int_eq(uuid_bytes_lower(lower, UUID_STRLEN, b), 1);
	ck_assert_mem_eq(b, want, 16);
	ck_assert_int_eq(uuid_bytes_lower("6F0C0000-0000-4000-8000-0000000000ab",
	    UUID_STRLEN, b), 0);
	ck_assert_int_eq(uuid_bytes_lower(lower, UUID_STRLEN - 1, b), 0);
	/* Not uuids. */
	ck_assert_int_eq(uuid_bytes("6f0c0000-0000-4000-8000-0000000000a", b), 0);
	ck_assert_int_eq(uuid_bytes("6f0c0000-0000-4000-8000-0000000000abc", b),
	    0);
	ck_assert_int_eq(uuid_bytes("6f0c00000000-4000-8000-0000000000ab-", b),
	    0);
	ck_assert_int_eq(uuid_bytes("6f0c0000-0000-4000-8000-0000000000ag", b),
	    0);
	ck_assert_int_eq(uuid_bytes("", b), 0);
	/* A bad character anywhere fails the whole id: first, last, a dash
	 * among the digits, a byte above ASCII, upper case in lower. */
	ck_assert_int_eq(uuid_bytes("xf0c0000-0000-4000-8000-0000000000ab", b),
	    0);
	ck_assert_int_eq(uuid_bytes("6f0c0000-0000-4000-8000-0000000-00ab", b),
	    0);
	ck_assert_int_eq(uuid_bytes("6f0c0000-0000-4\xc3\xa9\x30-8000-0000000000ab",
	    b), 0);
	ck_assert_int_eq(uuid_bytes_lower("6f0c0000-0000-4000-8000-0000000000aB",
	    UUID_STRLEN, b), 0);
	ck_assert_int_eq(uuid_bytes_lower("6f0c0000-0000-4000-8000-00000000 0ab",
	    UUID_STRLEN, b), 0);
}
END_TEST

/* v7: version and variant bits, the time in front, increasing order. */
START_TEST(test_uuid_v7)
{
	char u[UUID_STRLEN + 1], prev[UUID_STRLEN + 1], hex[13];
	long long ms, now = (long long)time(NULL) * 1000;
	int i, j = 0;

	ck_assert_int_eq(uuid_v7(prev), 0);
	for (i = 0; i < 10000; i++) {
		ck_assert_int_eq(uuid_v7(u), 0);
		ck_assert(uuid_valid(u));
		ck_assert(u[14] == '7');
		ck_assert(strchr("89ab", u[19]) != NULL);
		ck_assert_msg(strcmp(prev, u) < 0, "%s then %s", prev, u);
		memcpy(prev, u, sizeof u);
	}
	for (i = 0; i < 13; i++)
		if (u[i] != '-')
			hex[j++] = u[i];
	hex[j] = '\0';
	ms = strtoll(hex, NULL, 16);
	/* 10,000 ids carry the clock forward by 5 ms at most. */
	ck_assert_msg(ms >= now - 5000 && ms <= now + 5000,
	    "time %lld, now %lld", ms, now);
}
END_TEST

/* A forked child does not repeat the parent's next id. */
START_TEST(test_uuid_after_fork)
{
	char parent[UUID_STRLEN + 1], child[UUID_STRLEN + 1] = "";
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(uuid_v4(parent), 0); /* the pool is filled */
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (uuid_v4(child) != 0 ||
		    write(fds[1], child, UUID_STRLEN) != UUID_STRLEN)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(uuid_v4(parent), 0);
	ck_assert_int_eq(read(fds[0], child, UUID_STRLEN), UUID_STRLEN);
	child[UUID_STRLEN] = '\0';
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_str_ne(parent, child);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_canonical);
	tcase_add_test(tc, test_builders);
	tcase_add_test(tc, test_codes);
	tcase_add_test(tc, test_linebuf);
	tcase_add_test(tc, test_uuid);
	tcase_add_test(tc, test_uuid_bytes);
	tcase_add_test(tc, test_uuid_parse_every_byte);
	tcase_add_test(tc, test_uuid_v7);
	tcase_add_test(tc, test_uuid_after_fork);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
