/*
 * faults.c: parse, apply and report fault injection settings.
 *
 * A patch is validated completely on a copy before it replaces the live
 * settings, so a bad control request changes nothing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/xmalloc.h"
#include "devserver/faults.h"

/* Start with no faults. */
void
faults_init(struct faults *f)
{
	memset(f, 0, sizeof *f);
	f->deny_namespaces = json_array();
	strcpy(f->app_status, "active");
}

/* Release the settings. */
void
faults_clear(struct faults *f)
{
	json_decref(f->deny_namespaces);
	f->deny_namespaces = NULL;
}

/* A counting fault from true/false/integer. */
static int
faults_count(const json_t *v, int *out)
{
	if (json_is_boolean(v))
		*out = json_is_true(v) ? -1 : 0;
	else if (json_is_integer(v) && json_integer_value(v) >= -1 &&
		 json_integer_value(v) <= 1000000)
		*out = (int)json_integer_value(v);
	else
		return -1;
	return 0;
}

/* A delay in milliseconds, 0 to 10 minutes. */
static int
faults_ms(const json_t *v, int *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 600000)
		return -1;
	*out = (int)json_integer_value(v);
	return 0;
}

/* A boolean switch. */
static int
faults_bool(const json_t *v, int *out)
{
	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

/* An array of namespace strings. */
static int
faults_namespaces(const json_t *v, json_t **out)
{
	size_t i;
	json_t *s;

	if (!json_is_array(v))
		return -1;
	json_array_foreach(v, i, s) if (!json_is_string(s)) return -1;
	json_decref(*out);
	*out = json_deep_copy(v);
	return 0;
}

/* One of Instant's app statuses. */
static int
faults_status(const json_t *v, char *out, size_t outlen)
{
	const char *s = json_string_value(v);

	if (s == NULL ||
	    (strcmp(s, "active") != 0 && strcmp(s, "read-only") != 0 &&
	     strcmp(s, "disabled") != 0))
		return -1;
	snprintf(out, outlen, "%s", s);
	return 0;
}

/* Apply one key to f. */
static int
faults_apply_key(struct faults *f, const char *key, const json_t *v,
		 const char **errmsg)
{
	int r;

	if (strcmp(key, "drop-ack") == 0)
		r = faults_count(v, &f->drop_ack);
	else if (strcmp(key, "close-before-ack") == 0)
		r = faults_count(v, &f->close_before_ack);
	else if (strcmp(key, "ack-delay-ms") == 0)
		r = faults_ms(v, &f->ack_delay_ms);
	else if (strcmp(key, "refresh-delay-ms") == 0)
		r = faults_ms(v, &f->refresh_delay_ms);
	else if (strcmp(key, "deny-namespaces") == 0)
		r = faults_namespaces(v, &f->deny_namespaces);
	else if (strcmp(key, "app-status") == 0)
		r = faults_status(v, f->app_status, sizeof f->app_status);
	else if (strcmp(key, "refuse-connections") == 0)
		r = faults_bool(v, &f->refuse_connections);
	else if (strcmp(key, "no-ping") == 0)
		r = faults_bool(v, &f->no_ping);
	else if (strcmp(key, "no-answer") == 0)
		r = faults_bool(v, &f->no_answer);
	else {
		*errmsg = "unknown fault";
		return -1;
	}
	if (r != 0)
		*errmsg = "bad value for fault";
	return r;
}

/* Apply a patch object atomically. */
int
faults_apply(struct faults *f, const json_t *patch, const char **errmsg)
{
	struct faults copy = *f;
	const char *key;
	json_t *v;

	if (!json_is_object(patch)) {
		*errmsg = "faults must be a JSON object";
		return -1;
	}
	copy.deny_namespaces = json_deep_copy(f->deny_namespaces);
	json_object_foreach((json_t *)patch, key, v)
	{
		if (faults_apply_key(&copy, key, v, errmsg) != 0) {
			faults_clear(&copy);
			return -1;
		}
	}
	faults_clear(f);
	*f = copy;
	return 0;
}

/* Apply "name[=value]". */
int
faults_apply_arg(struct faults *f, const char *arg, const char **errmsg)
{
	const char *eq = strchr(arg, '=');
	char *name =
	    eq != NULL ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
	json_t *v, *patch;
	int r;

	if (eq == NULL)
		v = json_true();
	else if ((v = json_loads(eq + 1, JSON_DECODE_ANY, NULL)) == NULL)
		v = json_string(eq + 1);
	patch = json_object();
	json_object_set_new(patch, name, v);
	r = faults_apply(f, patch, errmsg);
	json_decref(patch);
	free(name);
	return r;
}

/* Report the settings. */
json_t *
faults_to_json(const struct faults *f)
{
	return json_pack("{s:i,s:i,s:i,s:i,s:O,s:s,s:b,s:b,s:b}", "drop-ack",
			 f->drop_ack, "close-before-ack", f->close_before_ack,
			 "ack-delay-ms", f->ack_delay_ms, "refresh-delay-ms",
			 f->refresh_delay_ms, "deny-namespaces",
			 f->deny_namespaces, "app-status", f->app_status,
			 "refuse-connections", f->refuse_connections, "no-ping",
			 f->no_ping, "no-answer", f->no_answer);
}

/* Use one unit of a counting fault. */
int
faults_take(int *counter)
{
	if (*counter == 0)
		return 0;
	if (*counter > 0)
		(*counter)--;
	return 1;
}

/* Whether ns is denied. */
int
faults_denies(const struct faults *f, const char *ns)
{
	size_t i;
	json_t *s;

	json_array_foreach(f->deny_namespaces, i,
			   s) if (strcmp(json_string_value(s), ns) ==
				  0) return 1;
	return 0;
}
