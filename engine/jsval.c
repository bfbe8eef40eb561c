/*
 * jsval.c: the bits of JavaScript semantics the client's evaluator relies
 * on, over jansson values.
 *
 * Strings in JavaScript are sequences of UTF-16 code units: relational
 * operators compare code units and a regular expression's "." (without the
 * u flag) matches one code unit, so both are done here over UTF-16 units
 * decoded from UTF-8.  Case-insensitive matching canonicalizes with simple
 * upper-casing for ASCII, Latin-1, basic Greek and Cyrillic.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsval.h"
#include "engine/tstore.h"

/* JS truthiness of a JSON value. */
int
jsval_truthy(const json_t *v)
{
	if (v == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0 && !isnan(json_real_value(v));
	case JSON_TRUE:
	case JSON_OBJECT:
	case JSON_ARRAY:
		return 1;
	default:
		return 0;
	}
}

/* a === b. */
int
jsval_strict_eq(const json_t *a, const json_t *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b),
			json_string_length(a)) == 0;
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		return 1;
	default:
		return 0;
	}
}

/* UTF-16 code unit reader over a UTF-8 string. */
struct jsval_u16 {
	const unsigned char *p, *end;
	unsigned pending; /* a low surrogate to return next, or 0 */
};

/* Decode one code point (invalid bytes decode as U+FFFD). */
static unsigned
jsval_utf8_next(struct jsval_u16 *r)
{
	const unsigned char *p = r->p;
	unsigned cp;
	int n, i;

	if (p[0] < 0x80) {
		r->p++;
		return p[0];
	}
	n = (p[0] & 0xe0) == 0xc0 ? 1 : (p[0] & 0xf0) == 0xe0 ? 2 :
	    (p[0] & 0xf8) == 0xf0 ? 3 : 0;
	cp = p[0] & (0x3f >> n);
	for (i = 1; i <= n; i++) {
		if (p + i >= r->end || (p[i] & 0xc0) != 0x80)
			n = 0;
		else
			cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (n == 0) {
		r->p++;
		return 0xfffd;
	}
	r->p += n + 1;
	return cp;
}

/* The next UTF-16 unit, or -1 at the end. */
static long
jsval_u16_next(struct jsval_u16 *r)
{
	unsigned cp;

	if (r->pending) {
		cp = r->pending;
		r->pending = 0;
		return cp;
	}
	if (r->p >= r->end)
		return -1;
	cp = jsval_utf8_next(r);
	if (cp < 0x10000)
		return cp;
	cp -= 0x10000;
	r->pending = 0xdc00 + (cp & 0x3ff);
	return 0xd800 + (cp >> 10);
}

/* Compare two UTF-8 strings by UTF-16 code units. */
static int
jsval_u16_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	struct jsval_u16 ra = { (const unsigned char *)a,
		(const unsigned char *)a + alen, 0 };
	struct jsval_u16 rb = { (const unsigned char *)b,
		(const unsigned char *)b + blen, 0 };
	long x, y;

	for (;;) {
		x = jsval_u16_next(&ra);
		y = jsval_u16_next(&rb);
		if (x != y)
			return x < y ? -1 : 1;
		if (x < 0)
			return 0;
	}
}

/* Whether the whole of s is a JS decimal literal (StrDecimalLiteral). */
static int
jsval_decimal_ok(const char *s)
{
	int digits = 0;

	if (*s == '+' || *s == '-')
		s++;
	if (strcmp(s, "Infinity") == 0)
		return 1;
	while (isdigit((unsigned char)*s))
		s++, digits++;
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++)
			digits++;
	if (digits == 0)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/* JS Number(string) for the usual forms; NaN otherwise. */
static double
jsval_string_number(const char *str)
{
	char *buf, *s, *end;
	double d = NAN;
	size_t n;

	if ((buf = strdup(str)) == NULL)
		return NAN;
	for (s = buf; isspace((unsigned char)*s); s++)
		;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	if (n == 0)
		d = 0;
	else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2] != '\0') {
		d = (double)strtoull(s + 2, &end, 16);
		if (*end != '\0')
			d = NAN;
	} else if (jsval_decimal_ok(s)) {
		d = strstr(s, "Infinity") != NULL ?
		    (s[0] == '-' ? -INFINITY : INFINITY) : strtod(s, NULL);
	}
	free(buf);
	return d;
}

/* JS ToNumber of a primitive (strings included). */
static double
jsval_to_number(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
	case JSON_REAL:
		return json_number_value(v);
	case JSON_TRUE:
		return 1;
	case JSON_FALSE:
	case JSON_NULL:
		return 0;
	case JSON_STRING:
		return jsval_string_number(json_string_value(v));
	default:
		return NAN;
	}
}

/* Append String(v) of an array element (null becomes ""). */
static int
jsval_join_elem(json_t *out, const json_t *v, int first)
{
	char *s = json_is_null(v) ? strdup("") : jsval_to_string(v);
	json_t *prev = json_array_get(out, 0);
	size_t need;
	char *cat;
	int r;

	if (s == NULL)
		return -1;
	need = json_string_length(prev) + strlen(s) + 2;
	if ((cat = malloc(need)) == NULL) {
		free(s);
		return -1;
	}
	snprintf(cat, need, "%s%s%s", json_string_value(prev),
	    first ? "" : ",", s);
	r = json_array_set_new(out, 0, json_string(cat));
	free(cat);
	free(s);
	return r;
}

/* String(array): the elements' strings joined with commas. */
static char *
jsval_array_string(const json_t *v)
{
	json_t *acc = json_pack("[s]", "");
	char *s = NULL;
	size_t i;

	if (acc == NULL)
		return NULL;
	for (i = 0; i < json_array_size(v); i++)
		if (jsval_join_elem(acc, json_array_get(v, i), i == 0) != 0)
			goto out;
	s = strdup(json_string_value(json_array_get(acc, 0)));
out:
	json_decref(acc);
	return s;
}

/* JS String(v), caller frees. */
char *
jsval_to_string(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_value(v));
	case JSON_INTEGER:
	case JSON_REAL:
		return tstore_value_text(v);
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	case JSON_NULL:
		return strdup("null");
	case JSON_ARRAY:
		return jsval_array_string(v);
	default:
		return strdup("[object Object]");
	}
}

/* Order two doubles, NaN being unordered. */
static enum jsval_order
jsval_num_order(double x, double y)
{
	if (isnan(x) || isnan(y))
		return JSVAL_UNORDERED;
	return x < y ? JSVAL_LT : x > y ? JSVAL_GT : JSVAL_EQ;
}

/* The order a < b / a > b would see. */
enum jsval_order
jsval_relcmp(const json_t *a, const json_t *b)
{
	int sa = json_is_string(a) || json_is_array(a) || json_is_object(a);
	int sb = json_is_string(b) || json_is_array(b) || json_is_object(b);
	char *x, *y;
	json_t *jx, *jy;
	enum jsval_order o = JSVAL_UNORDERED;
	int c;

	if (!sa && !sb)
		return jsval_num_order(jsval_to_number(a), jsval_to_number(b));
	x = jsval_to_string(a);
	y = jsval_to_string(b);
	if (x == NULL || y == NULL)
		goto out;
	if (sa && sb) {
		c = jsval_u16_cmp(x, strlen(x), y, strlen(y));
		o = c < 0 ? JSVAL_LT : c > 0 ? JSVAL_GT : JSVAL_EQ;
		goto out;
	}
	jx = sa ? json_string(x) : json_deep_copy(a);
	jy = sb ? json_string(y) : json_deep_copy(b);
	if (jx != NULL && jy != NULL)
		o = jsval_num_order(jsval_to_number(jx), jsval_to_number(jy));
	json_decref(jx);
	json_decref(jy);
out:
	free(x);
	free(y);
	return o;
}

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
static double
jsval_days(long y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (double)(era * 146097 + doe - 719468);
}

/* Read exactly n digits into *out. */
static int
jsval_digits(const char **s, int n, long *out)
{
	long v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return -1;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

/* Parse the year and optional -MM-DD of an ISO date. */
static int
jsval_iso_date(const char **s, long *y, long *mo, long *d)
{
	int sign = 1;

	*mo = 1;
	*d = 1;
	if (**s == '+' || **s == '-') {
		sign = **s == '-' ? -1 : 1;
		(*s)++;
		if (jsval_digits(s, 6, y) != 0)
			return -1;
	} else if (jsval_digits(s, 4, y) != 0)
		return -1;
	*y *= sign;
	if (**s == '-') {
		(*s)++;
		if (jsval_digits(s, 2, mo) != 0 || *mo < 1 || *mo > 12)
			return -1;
		if (**s == '-') {
			(*s)++;
			if (jsval_digits(s, 2, d) != 0 || *d < 1 || *d > 31)
				return -1;
		}
	}
	return 0;
}

/* Parse THH:mm[:ss[.fff]] into milliseconds of the day. */
static int
jsval_iso_time(const char **s, double *ms)
{
	long h, mi, sec = 0, frac = 0, scale = 1;

	if (jsval_digits(s, 2, &h) != 0 || **s != ':')
		return -1;
	(*s)++;
	if (jsval_digits(s, 2, &mi) != 0)
		return -1;
	if (**s == ':') {
		(*s)++;
		if (jsval_digits(s, 2, &sec) != 0)
			return -1;
		if (**s == '.') {
			for ((*s)++; isdigit((unsigned char)**s); (*s)++)
				if (scale < 1000) {
					frac = frac * 10 + (**s - '0');
					scale *= 10;
				}
			if (scale == 1)
				return -1;
		}
	}
	if (h > 24 || mi > 59 || sec > 59 ||
	    (h == 24 && (mi != 0 || sec != 0 || frac != 0)))
		return -1;
	*ms = ((h * 60 + mi) * 60 + sec) * 1000.0 + frac * (1000.0 / scale);
	return 0;
}

/* Parse Z or +HH:mm / -HH:mm into an offset in minutes. */
static int
jsval_iso_offset(const char **s, double *min)
{
	long h, m;
	int sign;

	*min = 0;
	if (**s == 'Z') {
		(*s)++;
		return 0;
	}
	if (**s != '+' && **s != '-')
		return 0;
	sign = **s == '-' ? -1 : 1;
	(*s)++;
	if (jsval_digits(s, 2, &h) != 0 || **s != ':')
		return -1;
	(*s)++;
	if (jsval_digits(s, 2, &m) != 0 || h > 23 || m > 59)
		return -1;
	*min = sign * (h * 60 + m);
	return 0;
}

/* Date.parse of an ISO 8601 string: ms, or NaN. */
static double
jsval_parse_date(const char *s)
{
	long y, mo, d;
	double ms = 0, off = 0, t;

	if (jsval_iso_date(&s, &y, &mo, &d) != 0)
		return NAN;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (jsval_iso_time(&s, &ms) != 0 ||
		    jsval_iso_offset(&s, &off) != 0)
			return NAN;
	}
	if (*s != '\0')
		return NAN;
	t = jsval_days(y, (int)mo, (int)d) * 86400000.0 + ms - off * 60000.0;
	return fabs(t) > 8.64e15 ? NAN : t;
}

/* new Date(v).getTime(). */
double
jsval_date_ms(const json_t *v)
{
	double d;
	char *s;

	switch (json_typeof(v)) {
	case JSON_INTEGER:
	case JSON_REAL:
		d = json_number_value(v);
		return !isfinite(d) || fabs(d) > 8.64e15 ? NAN : trunc(d);
	case JSON_TRUE:
		return 1;
	case JSON_FALSE:
	case JSON_NULL:
		return 0;
	default:
		if ((s = jsval_to_string(v)) == NULL)
			return NAN;
		d = jsval_parse_date(s);
		free(s);
		return d;
	}
}

/* parseInt(chunk, 16) of up to two characters; -1 for NaN. */
static int
jsval_hex_chunk(const char *c, size_t n)
{
	int hi, lo;

	hi = isxdigit((unsigned char)c[0]) ? (isdigit((unsigned char)c[0]) ?
	    c[0] - '0' : (tolower((unsigned char)c[0]) - 'a' + 10)) : -1;
	if (hi < 0)
		return -1;
	if (n < 2 || !isxdigit((unsigned char)c[1]))
		return hi;
	lo = isdigit((unsigned char)c[1]) ? c[1] - '0' :
	    tolower((unsigned char)c[1]) - 'a' + 10;
	return hi * 16 + lo;
}

/* Strip dashes of a uuid into buf (at most size - 1 characters). */
static size_t
jsval_undash(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s != '\0' && n + 1 < size; s++)
		if (*s != '-')
			buf[n++] = *s;
	buf[n] = '\0';
	return n;
}

/* The client's uuidCompare. */
int
jsval_uuid_cmp(const char *a, const char *b)
{
	char ha[128], hb[128];
	size_t na = jsval_undash(a, ha, sizeof ha);
	size_t nb = jsval_undash(b, hb, sizeof hb);
	size_t i;
	int x, y;

	for (i = 0; i < na; i += 2) {
		x = jsval_hex_chunk(ha + i, na - i);
		y = i < nb ? jsval_hex_chunk(hb + i, nb - i) : -1;
		/* Comparisons with NaN (or undefined) are false: go on. */
		if (x < 0 || y < 0)
			continue;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

struct jsval_like {
	long *units; /* UTF-16 units; -1 is %, -2 is _ */
	size_t n;
	int icase;
};

/* Simple upper-casing of one UTF-16 unit, as RegExp's i flag does. */
static long
jsval_canon(long u)
{
	if (u >= 'a' && u <= 'z')
		return u - 32;
	if (u >= 0xe0 && u <= 0xfe && u != 0xf7)
		return u - 32;
	if (u == 0xff)
		return 0x178;
	if (u == 0xb5)
		return 0x39c;
	if (u >= 0x3b1 && u <= 0x3c9 && u != 0x3c2)
		return u - 32;
	if (u == 0x3c2)
		return 0x3a3;
	if (u >= 0x430 && u <= 0x44f)
		return u - 32;
	if (u >= 0x450 && u <= 0x45f)
		return u - 80;
	return u;
}

/* Decode a UTF-8 string into UTF-16 units (caller frees). */
static long *
jsval_units(const char *s, size_t *n)
{
	struct jsval_u16 r = { (const unsigned char *)s,
		(const unsigned char *)s + strlen(s), 0 };
	long *u = malloc((strlen(s) * 2 + 1) * sizeof *u), x;

	*n = 0;
	if (u == NULL)
		return NULL;
	while ((x = jsval_u16_next(&r)) >= 0)
		u[(*n)++] = x;
	return u;
}

/* Compile a LIKE pattern. */
struct jsval_like *
jsval_like_create(const char *pattern, int icase)
{
	struct jsval_like *lk = calloc(1, sizeof *lk);
	size_t i;

	if (lk == NULL || (lk->units = jsval_units(pattern, &lk->n)) == NULL) {
		jsval_like_free(lk);
		return NULL;
	}
	lk->icase = icase;
	for (i = 0; i < lk->n; i++) {
		if (lk->units[i] == '%')
			lk->units[i] = -1;
		else if (lk->units[i] == '_')
			lk->units[i] = -2;
		else if (icase)
			lk->units[i] = jsval_canon(lk->units[i]);
	}
	return lk;
}

/* Free a compiled pattern. */
void
jsval_like_free(struct jsval_like *lk)
{
	if (lk == NULL)
		return;
	free(lk->units);
	free(lk);
}

/* Whether units s[0..n) match the pattern (wildcard matching with
 * backtracking to the last %); the units are longs, or with ascii the
 * bytes of an ASCII string (each one UTF-16 unit), read as they lie. */
static int
jsval_like_units(const struct jsval_like *lk, const void *s, size_t n,
    int ascii)
{
	size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;
	long c;

	while (si < n) {
		c = ascii ? ((const unsigned char *)s)[si] :
		    ((const long *)s)[si];
		if (lk->icase)
			c = jsval_canon(c);
		if (pi < lk->n && (lk->units[pi] == -2 || lk->units[pi] == c)) {
			pi++;
			si++;
		} else if (pi < lk->n && lk->units[pi] == -1) {
			star_p = pi++;
			star_s = si;
		} else if (star_p != (size_t)-1) {
			pi = star_p + 1;
			si = ++star_s;
		} else
			return 0;
	}
	while (pi < lk->n && lk->units[pi] == -1)
		pi++;
	return pi == lk->n;
}

/* Whether the n bytes at s (UTF-8, no NUL) match the whole pattern. */
int
jsval_like_matchn(const struct jsval_like *lk, const char *s, size_t n)
{
	size_t i, nu;
	char *copy;
	long *u;
	int r;

	for (i = 0; i < n && (unsigned char)s[i] < 0x80; i++)
		;
	if (i == n)
		return jsval_like_units(lk, s, n, 1);
	if ((copy = strndup(s, n)) == NULL)
		return 0;
	u = jsval_units(copy, &nu);
	free(copy);
	if (u == NULL)
		return 0;
	r = jsval_like_units(lk, u, nu, 0);
	free(u);
	return r;
}

/* The longest run of literal units of a case-sensitive pattern made of
 * printable ASCII that JSON text never escapes (not '"', '\\' or '/'):
 * every string the pattern matches has the run in its JSON text, as it
 * is.  Its length (0 if there is none, or the pattern ignores case), the
 * run and a NUL in out (cap bytes at most, the run cut to fit). */
size_t
jsval_like_needle(const struct jsval_like *lk, char *out, size_t cap)
{
	size_t i, start = 0, best = 0, best_at = 0;
	long u;

	if (cap == 0)
		return 0;
	for (i = 0; !lk->icase && i <= lk->n; i++) {
		u = i < lk->n ? lk->units[i] : -1;
		if (u >= 0x20 && u < 0x7f && u != '"' && u != '\\' && u != '/')
			continue;
		if (i - start > best) {
			best = i - start;
			best_at = start;
		}
		start = i + 1;
	}
	if (best >= cap)
		best = cap - 1;
	for (i = 0; i < best; i++)
		out[i] = (char)lk->units[best_at + i];
	out[best] = '\0';
	return best;
}

/* Whether s matches the whole pattern. */
int
jsval_like_match(const struct jsval_like *lk, const char *s)
{
	return jsval_like_matchn(lk, s, strlen(s));
}
