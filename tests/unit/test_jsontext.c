/* test_jsontext.c: jsontext_dump against json_dumps, byte for byte. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/jsontext.h"

/* Both texts of v, which must be equal (or both missing). */
static void
same_text(const json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len = 0;
	char *got = jsontext_dump(v, 0, &len);

	if (want == NULL) {
		ck_assert_ptr_null(got);
		return;
	}
	ck_assert_msg(got != NULL, "no text for %s", want);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(len, strlen(want));
	free(want);
	free(got);
}

/* Parse text (anything, NULs allowed) and compare. */
static void
same_parsed(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);

	ck_assert_msg(v != NULL, "%s: %s", text, e.text);
	same_text(v);
	json_decref(v);
}

START_TEST(test_scalars)
{
	json_t *v;

	same_parsed("null");
	same_parsed("true");
	same_parsed("false");
	same_parsed("0");
	same_parsed("-1");
	same_parsed("9223372036854775807");
	same_parsed("-9223372036854775808");
	same_parsed("1.5");
	same_parsed("-0.0");
	same_parsed("3.0");
	same_parsed("0.1");
	same_parsed("1e300");
	same_parsed("-2.5e-300");
	same_parsed("123456789012345678901234567890.5");
	v = json_integer(INT64_MIN);
	same_text(v);
	json_decref(v);
}
END_TEST

START_TEST(test_strings)
{
	char s[64];
	json_t *v;
	int c;

	same_parsed("\"\"");
	same_parsed("\"plain\"");
	same_parsed("\"q\\\"b\\\\s/\"");
	same_parsed("\"\\b\\f\\n\\r\\t\"");
	same_parsed("\"caf\\u00e9 \\u20ac \\ud83d\\ude00 \\u2028\"");
	same_parsed("\"nul \\u0000 inside\"");
	same_parsed("\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"");
	/* Every control character, alone and between letters. */
	for (c = 0; c < 0x20; c++) {
		snprintf(s, sizeof s, "a%cb", c);
		v = json_stringn(s, 3);
		same_text(v);
		json_decref(v);
	}
}
END_TEST

START_TEST(test_special_byte_anywhere)
{
	/* Strings are copied 8 bytes at a time when none needs care: each
	 * kind of byte that does, at every place in 24 bytes. */
	static const char *const special[] = {
	    "\x01", "\x1f", "\"", "\\", "\n", "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", "\x7f", " ", "/", "\xc3",
	};
	char s[64];
	size_t i, k, n;
	json_t *v;

	for (k = 0; k < sizeof special / sizeof special[0]; k++)
		for (i = 0; i < 24; i++) {
			memset(s, 'a', sizeof s);
			n = strlen(special[k]);
			memcpy(s + i, special[k], n);
			v = json_stringn_nocheck(s, 24 + n);
			same_text(v);
			json_decref(v);
		}
}
END_TEST

START_TEST(test_containers)
{
	same_parsed("[]");
	same_parsed("{}");
	same_parsed("[[],{},[{}]]");
	same_parsed("{\"b\":1,\"a\":[1,2,{\"z\":null,\"y\":\"x\"}],\"\":true}");
	same_parsed("{\"k\\u0001ey\":1,\"\\n\":\"\\t\"}");
	same_parsed("[1.5,-0.0,\"s\",false,null,[],{}]");
}
END_TEST

START_TEST(test_not_utf8)
{
	/* Overlong, surrogate, past U+10FFFF, truncated, stray bytes. */
	static const char *const bad[] = {
	    "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80",
	    "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82", "\x80",
	    "ok\xff", "\xf0\x8f\xbf\xbf",
	};
	size_t i;
	json_t *v, *a;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = json_stringn_nocheck(bad[i], strlen(bad[i]));
		ck_assert_ptr_null(json_dumps(v, JSON_COMPACT |
		    JSON_ENCODE_ANY));
		ck_assert_ptr_null(jsontext_dump(v, 0, NULL));
		/* Inside a container too. */
		a = json_pack("[{sO}]", "k", v);
		ck_assert_ptr_null(jsontext_dump(a, 0, NULL));
		json_decref(a);
		json_decref(v);
	}
}
END_TEST

/* A small seeded generator (xorshift64*). */
static uint64_t rng = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (unsigned)((rng * 2685821657736338717ULL) >> 33) % n;
}

/* Append the UTF-8 of code point c to s at *n. */
static void
put_utf8(char *s, size_t *n, uint32_t c)
{
	if (c < 0x80)
		s[(*n)++] = (char)c;
	else if (c < 0x800) {
		s[(*n)++] = (char)(0xC0 | c >> 6);
		s[(*n)++] = (char)(0x80 | (c & 0x3F));
	} else if (c < 0x10000) {
		s[(*n)++] = (char)(0xE0 | c >> 12);
		s[(*n)++] = (char)(0x80 | (c >> 6 & 0x3F));
		s[(*n)++] = (char)(0x80 | (c & 0x3F));
	} else {
		s[(*n)++] = (char)(0xF0 | c >> 18);
		s[(*n)++] = (char)(0x80 | (c >> 12 & 0x3F));
		s[(*n)++] = (char)(0x80 | (c >> 6 & 0x3F));
		s[(*n)++] = (char)(0x80 | (c & 0x3F));
	}
}

/* A random valid string of up to 12 code points of every class. */
static json_t *
gen_string(void)
{
	static const char special[] = "\"\\/\b\f\n\r\t\x01\x1f\x7f";
	char s[64];
	size_t n = 0, k = rnd(13), i;
	uint32_t c;

	for (i = 0; i < k; i++) {
		switch (rnd(6)) {
		case 0: c = special[rnd(sizeof special - 1)]; break;
		case 1: c = rnd(0x20); break;
		case 2: c = 0x80 + rnd(0x780); break;
		case 3:
			do
				c = 0x800 + rnd(0xF800);
			while (c >= 0xD800 && c <= 0xDFFF);
			break;
		case 4: c = 0x10000 + rnd(0x100000); break;
		default: c = 0x20 + rnd(0x5F); break;
		}
		put_utf8(s, &n, c);
	}
	return json_stringn(s, n);
}

/* A random tree of depth at most d. */
static json_t *
gen(int d)
{
	json_t *v, *k;
	unsigned n, i;

	switch (rnd(d > 0 ? 8 : 6)) {
	case 0: return json_null();
	case 1: return json_boolean(rnd(2));
	case 2:
		return json_integer((json_int_t)(rnd(2) ? rnd(1000) :
		    (int64_t)((rng = rng * 6364136223846793005ULL + 1))));
	case 3: return json_real((double)rnd(100000) / (1 + rnd(997)) *
		    (rnd(2) ? 1 : -1e-5));
	case 4:
	case 5: return gen_string();
	case 6:
		v = json_array();
		for (n = rnd(5), i = 0; i < n; i++)
			json_array_append_new(v, gen(d - 1));
		return v;
	default:
		v = json_object();
		for (n = rnd(5), i = 0; i < n; i++) {
			k = gen_string();
			json_object_setn_new(v, json_string_value(k),
			    json_string_length(k), gen(d - 1));
			json_decref(k);
		}
		return v;
	}
}

START_TEST(test_generated_trees)
{
	json_t *v;
	int i;

	for (i = 0; i < 20000; i++) {
		v = gen(5);
		ck_assert_ptr_nonnull(v);
		same_text(v);
		json_decref(v);
	}
}
END_TEST

START_TEST(test_random_bytes)
{
	char s[16];
	size_t n, i;
	json_t *v;
	int k;

	/* Valid or not, as json_dumps has it. */
	for (k = 0; k < 20000; k++) {
		n = rnd(sizeof s);
		for (i = 0; i < n; i++)
			s[i] = (char)(rnd(4) ? 0x80 + rnd(0x80) : rnd(0x80));
		v = json_stringn_nocheck(s, n);
		same_text(v);
		json_decref(v);
	}
}
END_TEST

START_TEST(test_depth_and_reserve)
{
	json_t *deep = json_array(), *in = deep;
	char *t;
	size_t len;
	int i;

	for (i = 0; i < JSONTEXT_MAX_DEPTH; i++) {
		json_t *a = json_array();

		json_array_append_new(in, a);
		in = a;
	}
	same_text(deep);
	json_array_append_new(in, json_array());
	ck_assert_ptr_null(jsontext_dump(deep, 0, NULL));
	json_decref(deep);

	/* The reserved bytes after the NUL are there to write. */
	t = jsontext_dump(json_true(), 300, &len);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(len, 4);
	memset(t + len + 1, 'x', 300);
	ck_assert_str_eq(t, "true");
	free(t);
	ck_assert_ptr_null(jsontext_dump(NULL, 0, NULL));
}
END_TEST

START_TEST(test_append_to_a_buffer)
{
	struct textbuf b = { NULL, 0, 0, 0 };
	json_t *v = json_pack("{s[is]}", "k", 1, "x\ny");

	textbuf_puts(&b, "pre:");
	jsontext_append(&b, v);
	jsontext_append_string(&b, "\"q\"", 3);
	ck_assert_int_eq(b.err, 0);
	ck_assert_str_eq(b.p, "pre:{\"k\":[1,\"x\\ny\"]}\"\\\"q\\\"\"");
	/* Bytes that are not UTF-8 fail the buffer. */
	jsontext_append_string(&b, "\xff", 1);
	ck_assert_int_eq(b.err, 1);
	textbuf_clear(&b);
	json_decref(v);
}
END_TEST

/* The jsontext suite. */
static Suite *
jsontext_suite(void)
{
	Suite *s = suite_create("jsontext");
	TCase *tc = tcase_create("jsontext");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_special_byte_anywhere);
	tcase_add_test(tc, test_containers);
	tcase_add_test(tc, test_not_utf8);
	tcase_add_test(tc, test_generated_trees);
	tcase_add_test(tc, test_random_bytes);
	tcase_add_test(tc, test_depth_and_reserve);
	tcase_add_test(tc, test_append_to_a_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jsontext_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
