/*
 * conf.h: instantd's configuration, from (lowest to highest precedence)
 * built-in defaults, the config file, the environment and the flags.
 *
 * The file is `key = value` lines with `#` comments and one
 * `[app <uuid>]` section per app:
 *
 *	default-app = 2f0a8d3c-1111-4a4a-9b9b-000000000001
 *	log-level = info
 *	[app 2f0a8d3c-1111-4a4a-9b9b-000000000001]
 *	api-uri = https://instant.example.org
 *
 * A missing websocket-uri is derived from api-uri (http->ws, https->wss,
 * same host and port, path /runtime/session).  Errors name file:line.
 */
#ifndef DAEMON_CONF_H
#define DAEMON_CONF_H

#include <stddef.h>

#include "daemon/log.h"

#define CONF_EXIT_USAGE 64
#define CONF_EXIT_CONFIG 78
/* Instant's server pings every 5 s: four missed pings mean a dead socket. */
#define CONF_DEFAULT_DEAD_TIMEOUT 20
#define CONF_MAX_DEAD_TIMEOUT 3600

struct conf_app {
	char *id;      /* lower-case UUID */
	char *api_uri; /* http(s)://host[:port], or NULL */
	char *ws_uri;  /* ws(s)://host[:port]/path, or NULL */
};

struct conf {
	char *conf_path;   /* the file read, or NULL */
	char *socket_path;   /* NULL: the default path */
	char *data_dir;
	char *default_app;   /* NULL: the data dir's local app */
	enum log_level log_level;
	size_t max_line;
	size_t max_output;   /* per-connection output queue hard limit */
	size_t cache_size;   /* each store's entity cache; 0: none */
	int dead_timeout_sec; /* upstream silence that means a dead socket */
	int synchronous_full;
	int foreground;
	char *ca_file;
	struct conf_app *apps;
	size_t napps;
};

/* What main should do after conf_from_args. */
enum conf_action { CONF_RUN, CONF_HELP, CONF_VERSION };

/* A config with defaults only.  Free with conf_free. */
struct conf *conf_create(void);
void conf_free(struct conf *);

/*
 * Build the whole configuration from argv and the environment, reading the
 * config file (--config, or $XDG_CONFIG_HOME/instantd/config if present).
 * Returns 0, or the exit code to use (64 usage, 78 config) with a message
 * in *err (caller frees).
 */
int conf_from_args(struct conf *, int argc, char **argv,
    enum conf_action *action, char **err);

/* Parse the config file at path; must_exist: a missing file is an error. */
int conf_load_file(struct conf *, const char *path, int must_exist,
    char **err);

/* Parse config text (name is used in messages as name:line). */
int conf_load_string(struct conf *, const char *name, const char *text,
    char **err);

/* Derive missing websocket URIs and validate every app: 0 or -1. */
int conf_finish(struct conf *, char **err);

/* The app section for id, or NULL. */
const struct conf_app *conf_app_find(const struct conf *, const char *id);

/* The websocket URI derived from an http(s) api URI (caller frees), or
 * NULL if api_uri is not a valid http or https URI. */
char *conf_derive_ws_uri(const char *api_uri);

/* The usage text. */
const char *conf_usage(void);

#endif
