/*
 * jsval.h: JavaScript value semantics over JSON values, as the official
 * client's evaluator applies them (strict equality, relational operators,
 * truthiness, Date construction, uuid byte order, LIKE patterns).
 */
#ifndef ENGINE_JSVAL_H
#define ENGINE_JSVAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Results of jsval_relcmp. */
enum jsval_order {
	JSVAL_LT = -1,
	JSVAL_EQ = 0,
	JSVAL_GT = 1,
	JSVAL_UNORDERED = 2, /* a NaN took part: every operator is false */
};

/* JS truthiness of a JSON value (NULL, as undefined, is falsy). */
int jsval_truthy(const json_t *);

/* a === b (objects and arrays are never equal: they are distinct). */
int jsval_strict_eq(const json_t *a, const json_t *b);

/* The order a < b / a > b would see: ToPrimitive, then strings by UTF-16
 * code units, anything else by ToNumber. */
enum jsval_order jsval_relcmp(const json_t *a, const json_t *b);

/* JS String(v), caller frees (NULL on allocation failure). */
char *jsval_to_string(const json_t *);

/* new Date(v).getTime(): milliseconds, or NaN.  Strings are parsed in the
 * ISO 8601 forms (date-only forms are UTC, date-times without an offset
 * are taken as UTC, as under TZ=UTC). */
double jsval_date_ms(const json_t *);

/* The client's uuidCompare: byte order of the hex digits. */
int jsval_uuid_cmp(const char *a, const char *b);

/* A compiled $like / $ilike pattern. */
struct jsval_like;

/* Compile pattern (UTF-8): % matches any run, _ one UTF-16 unit. */
struct jsval_like *jsval_like_create(const char *pattern, int icase);
void jsval_like_free(struct jsval_like *);
/* Whether the UTF-8 string s matches the whole pattern. */
int jsval_like_match(const struct jsval_like *, const char *s);
/* The same for the n bytes at s (no NUL among them). */
int jsval_like_matchn(const struct jsval_like *, const char *s, size_t n);
/* A run of the pattern that the JSON text of every string it matches
 * contains as it is (a prefilter): its length, 0 if none. */
size_t jsval_like_needle(const struct jsval_like *, char *out, size_t cap);

#endif
