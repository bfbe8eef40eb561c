/*
 * config.c: configuration from defaults, file, environment and flags.
 *
 * Precedence is applied by order: the file is read into the config, then
 * the environment and then the flags overwrite what they name.  Flags are
 * parsed first into a struct of their own so that --config can choose the
 * file before anything else is applied.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/http.h>

#include "daemon/conf.h"
#include "daemon/xmalloc.h"
#include "proto/proto.h"
#include "proto/uuid.h"

#define CONF_MAX_FILE (1024 * 1024)
/* Each store's entity cache (engine/tcache.c): the default, and the
 * least that holds more than its own bucket array. */
#define CONF_DEFAULT_CACHE_SIZE (16 * 1024 * 1024)
#define CONF_MIN_CACHE_SIZE (64 * 1024)

/* Flags as given, before they are applied over file and environment. */
struct conf_flags {
	const char *socket_path;
	const char *data_dir;
	const char *conf_path;
	const char *log_level;
	const char *app;
	const char *api_uri;
	const char *ws_uri;
	const char *max_line;
	const char *ca_file;
	int foreground;
};

static const char conf_usage_text[] =
    "usage: instantd [options]\n"
    "  -f, --foreground          stay in the foreground, log to stderr\n"
    "  -s, --socket PATH         listen on PATH (default $XDG_RUNTIME_DIR/instantd/socket)\n"
    "  -d, --data-dir DIR        keep stores in DIR (default $XDG_DATA_HOME/instantd)\n"
    "  -c, --config FILE         read FILE (default $XDG_CONFIG_HOME/instantd/config)\n"
    "  -l, --log-level LEVEL     error, warn, info or debug\n"
    "  -a, --app UUID            the default app\n"
    "      --api-uri URI         the Instant server's HTTP API for --app\n"
    "      --websocket-uri URI   the Instant server's WebSocket for --app\n"
    "      --max-line BYTES      longest request line accepted (default 1048576)\n"
    "      --ca-file FILE        also trust the CAs in FILE for wss/https\n"
    "  -h, --help                show this help\n"
    "  -V, --version             show the version\n";

/* The usage text. */
const char *
conf_usage(void)
{
	return conf_usage_text;
}

/* Format an error into *err; returns code. */
static int
conf_err(char **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
conf_err(char **err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return code;
}

/* Replace *slot with a copy of value. */
static void
conf_set(char **slot, const char *value)
{
	free(*slot);
	*slot = value != NULL ? xstrdup(value) : NULL;
}

/* $XDG_<name>, else $HOME/<fallback>, joined with "instantd". */
static char *
conf_xdg_dir(const char *xdg, const char *fallback)
{
	const char *base = getenv(xdg), *home;
	char *path;

	if (base != NULL && *base == '/') {
		xasprintf(&path, "%s/instantd", base);
		return path;
	}
	home = getenv("HOME");
	if (home == NULL || *home == '\0')
		home = "/";
	xasprintf(&path, "%s/%s/instantd", home, fallback);
	return path;
}

/* Defaults. */
struct conf *
conf_create(void)
{
	struct conf *c = xcalloc(1, sizeof *c);

	c->log_level = LOG_LEVEL_INFO;
	c->max_line = PROTO_DEFAULT_MAX_LINE;
	c->max_output = 8 * 1024 * 1024;
	c->cache_size = CONF_DEFAULT_CACHE_SIZE;
	c->dead_timeout_sec = CONF_DEFAULT_DEAD_TIMEOUT;
	c->synchronous_full = 1;
	c->data_dir = conf_xdg_dir("XDG_DATA_HOME", ".local/share");
	return c;
}

/* Free everything. */
void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->napps; i++) {
		free(c->apps[i].id);
		free(c->apps[i].api_uri);
		free(c->apps[i].ws_uri);
	}
	free(c->apps);
	free(c->conf_path);
	free(c->socket_path);
	free(c->data_dir);
	free(c->default_app);
	free(c->ca_file);
	free(c);
}

/* The app section for id. */
const struct conf_app *
conf_app_find(const struct conf *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->napps; i++)
		if (strcmp(c->apps[i].id, id) == 0)
			return &c->apps[i];
	return NULL;
}

/* The section for id (a normalized UUID), created if missing. */
static struct conf_app *
conf_app_get(struct conf *c, const char *id)
{
	struct conf_app *a;
	size_t i;

	for (i = 0; i < c->napps; i++)
		if (strcmp(c->apps[i].id, id) == 0)
			return &c->apps[i];
	c->apps = xreallocarray(c->apps, c->napps + 1, sizeof *c->apps);
	a = &c->apps[c->napps++];
	memset(a, 0, sizeof *a);
	a->id = xstrdup(id);
	return a;
}

/* Parse a byte count between 1 KiB and 1 GiB. */
static int
conf_parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1024 ||
	    v > 1024ULL * 1024 * 1024)
		return -1;
	*out = (size_t)v;
	return 0;
}

/* Parse a decimal integer from lo to hi. */
static int
conf_parse_int(const char *s, int lo, int hi, int *out)
{
	long v;
	char *end;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* Check a URI's scheme is one of two and it has a host. */
static int
conf_check_uri(const char *uri, const char *s1, const char *s2)
{
	struct evhttp_uri *u = evhttp_uri_parse(uri);
	const char *scheme, *host;
	int r = -1;

	if (u == NULL)
		return -1;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	if (scheme != NULL && host != NULL && *host != '\0' &&
	    (strcasecmp(scheme, s1) == 0 || strcasecmp(scheme, s2) == 0))
		r = 0;
	evhttp_uri_free(u);
	return r;
}

/* ws(s)://host[:port]/runtime/session from http(s)://host[:port]/... */
char *
conf_derive_ws_uri(const char *api_uri)
{
	struct evhttp_uri *u = evhttp_uri_parse(api_uri);
	const char *scheme, *host;
	char *ws = NULL, *hostpart;
	int port;

	if (u == NULL)
		return NULL;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	port = evhttp_uri_get_port(u);
	if (scheme == NULL || host == NULL || *host == '\0' ||
	    (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
		goto out;
	hostpart = xstrdup(host); /* IPv6 hosts keep their brackets */
	if (port >= 0)
		xasprintf(&ws, "%s://%s:%d/runtime/session",
		    strcasecmp(scheme, "https") == 0 ? "wss" : "ws", hostpart,
		    port);
	else
		xasprintf(&ws, "%s://%s/runtime/session",
		    strcasecmp(scheme, "https") == 0 ? "wss" : "ws", hostpart);
	free(hostpart);
out:
	evhttp_uri_free(u);
	return ws;
}

/* Apply one global key; returns NULL or a static error message. */
static const char *
conf_global_key(struct conf *c, const char *key, const char *value)
{
	char id[UUID_STRLEN + 1];

	if (strcmp(key, "default-app") == 0) {
		if (uuid_normalize(value, id) != 0)
			return "default-app must be a UUID";
		conf_set(&c->default_app, id);
	} else if (strcmp(key, "log-level") == 0) {
		if (log_level_parse(value, &c->log_level) != 0)
			return "log-level must be error, warn, info or debug";
	} else if (strcmp(key, "socket") == 0) {
		if (*value != '/')
			return "socket must be an absolute path";
		conf_set(&c->socket_path, value);
	} else if (strcmp(key, "data-dir") == 0) {
		if (*value != '/')
			return "data-dir must be an absolute path";
		conf_set(&c->data_dir, value);
	} else if (strcmp(key, "max-line") == 0) {
		if (conf_parse_size(value, &c->max_line) != 0)
			return "max-line must be a byte count from 1024 to 1073741824";
	} else if (strcmp(key, "max-output") == 0) {
		if (conf_parse_size(value, &c->max_output) != 0)
			return "max-output must be a byte count from 1024 to 1073741824";
	} else if (strcmp(key, "cache-size") == 0) {
		if (strcmp(value, "0") == 0)
			c->cache_size = 0;
		else if (conf_parse_size(value, &c->cache_size) != 0 ||
		    c->cache_size < CONF_MIN_CACHE_SIZE)
			return "cache-size must be 0 or a byte count from 65536 to 1073741824";
	} else if (strcmp(key, "dead-timeout") == 0) {
		if (conf_parse_int(value, 1, CONF_MAX_DEAD_TIMEOUT,
			&c->dead_timeout_sec) != 0)
			return "dead-timeout must be a number of seconds from 1 to 3600";
	} else if (strcmp(key, "synchronous") == 0) {
		if (strcmp(value, "full") == 0)
			c->synchronous_full = 1;
		else if (strcmp(value, "normal") == 0)
			c->synchronous_full = 0;
		else
			return "synchronous must be full or normal";
	} else if (strcmp(key, "ca-file") == 0) {
		conf_set(&c->ca_file, value);
	} else
		return NULL;
	return "";
}

/* Apply one key of an [app] section. */
static const char *
conf_app_key(struct conf_app *a, const char *key, const char *value)
{
	if (strcmp(key, "api-uri") == 0) {
		if (conf_check_uri(value, "http", "https") != 0)
			return "api-uri must be an http:// or https:// URI with a host";
		conf_set(&a->api_uri, value);
	} else if (strcmp(key, "websocket-uri") == 0) {
		if (conf_check_uri(value, "ws", "wss") != 0)
			return "websocket-uri must be a ws:// or wss:// URI with a host";
		conf_set(&a->ws_uri, value);
	} else
		return NULL;
	return "";
}

/* Strip leading and trailing blanks in place. */
static char *
conf_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Parse a "[app UUID]" header into *app. */
static const char *
conf_section(struct conf *c, char *line, struct conf_app **app)
{
	char id[UUID_STRLEN + 1], *name, *end = strchr(line, ']');

	if (end == NULL || conf_trim(end + 1)[0] != '\0')
		return "a section header must look like [app UUID]";
	*end = '\0';
	name = conf_trim(line + 1);
	if (strncmp(name, "app", 3) != 0 || !isspace((unsigned char)name[3]))
		return "unknown section (only [app UUID] sections exist)";
	if (uuid_normalize(conf_trim(name + 3), id) != 0)
		return "the app id of a section must be a UUID";
	*app = conf_app_get(c, id);
	return NULL;
}

/* Parse one line; returns NULL or an error message. */
static const char *
conf_line(struct conf *c, char *line, struct conf_app **app)
{
	char *eq, *key, *value;
	const char *e;

	line = conf_trim(line);
	if (*line == '\0' || *line == '#')
		return NULL;
	if (*line == '[')
		return conf_section(c, line, app);
	if ((eq = strchr(line, '=')) == NULL)
		return "expected key = value";
	*eq = '\0';
	key = conf_trim(line);
	value = conf_trim(eq + 1);
	if (*key == '\0')
		return "missing key before '='";
	if (*value == '\0')
		return "missing value after '='";
	e = *app != NULL ? conf_app_key(*app, key, value) :
	    conf_global_key(c, key, value);
	if (e == NULL)
		return *app != NULL ? "unknown key in an app section" :
		    "unknown key";
	return *e == '\0' ? NULL : e;
}

/* Parse config text; errors are "name:line: message". */
int
conf_load_string(struct conf *c, const char *name, const char *text,
    char **err)
{
	struct conf_app *app = NULL;
	char *copy = xstrdup(text), *line, *next;
	const char *e;
	int lineno = 0, r = -1;

	for (line = copy; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((e = conf_line(c, line, &app)) != NULL) {
			conf_err(err, -1, "%s:%d: %s", name, lineno, e);
			goto out;
		}
	}
	r = 0;
out:
	free(copy);
	return r;
}

/* Read and parse a file. */
int
conf_load_file(struct conf *c, const char *path, int must_exist,
    char **err)
{
	FILE *f;
	char *text = NULL;
	size_t n;
	int r = -1;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return conf_err(err, -1, "%s: %s", path, strerror(errno));
	}
	text = xmalloc(CONF_MAX_FILE + 1);
	n = fread(text, 1, CONF_MAX_FILE + 1, f);
	if (ferror(f)) {
		conf_err(err, -1, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (n > CONF_MAX_FILE) {
		conf_err(err, -1, "%s: larger than %d bytes", path,
		    CONF_MAX_FILE);
		goto out;
	}
	if (memchr(text, '\0', n) != NULL) {
		conf_err(err, -1, "%s: contains a NUL byte", path);
		goto out;
	}
	text[n] = '\0';
	conf_set(&c->conf_path, path);
	r = conf_load_string(c, path, text, err);
out:
	free(text);
	fclose(f);
	return r;
}

/* Derive websocket URIs and check the default app. */
int
conf_finish(struct conf *c, char **err)
{
	char **paths[] = { &c->socket_path, &c->data_dir, &c->ca_file };
	char cwd[4096], *abs;
	struct conf_app *a;
	size_t i;

	/* Relative paths are the working directory's: the daemon leaves it
	 * when it detaches, and opens stores long after starting. */
	for (i = 0; i < sizeof paths / sizeof *paths; i++) {
		if (*paths[i] == NULL || (*paths[i])[0] == '/')
			continue;
		if (getcwd(cwd, sizeof cwd) == NULL)
			return conf_err(err, -1, "cannot resolve %s: the working "
			    "directory is unknown: %s", *paths[i],
			    strerror(errno));
		xasprintf(&abs, "%s/%s", cwd, *paths[i]);
		free(*paths[i]);
		*paths[i] = abs;
	}

	for (i = 0; i < c->napps; i++) {
		a = &c->apps[i];
		if (a->ws_uri == NULL && a->api_uri != NULL) {
			a->ws_uri = conf_derive_ws_uri(a->api_uri);
			if (a->ws_uri == NULL)
				return conf_err(err, -1,
				    "app %s: cannot derive a websocket URI from %s",
				    a->id, a->api_uri);
		}
	}
	return 0;
}

/* Parse argv into flags. */
static int
conf_parse_flags(struct conf_flags *f, int argc, char **argv,
    enum conf_action *action, char **err)
{
	enum { OPT_API = 256, OPT_WS, OPT_MAXLINE, OPT_CA };
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "app", required_argument, NULL, 'a' },
		{ "api-uri", required_argument, NULL, OPT_API },
		{ "websocket-uri", required_argument, NULL, OPT_WS },
		{ "max-line", required_argument, NULL, OPT_MAXLINE },
		{ "ca-file", required_argument, NULL, OPT_CA },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(f, 0, sizeof *f);
	*action = CONF_RUN;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":fs:d:c:l:a:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': f->foreground = 1; break;
		case 's': f->socket_path = optarg; break;
		case 'd': f->data_dir = optarg; break;
		case 'c': f->conf_path = optarg; break;
		case 'l': f->log_level = optarg; break;
		case 'a': f->app = optarg; break;
		case OPT_API: f->api_uri = optarg; break;
		case OPT_WS: f->ws_uri = optarg; break;
		case OPT_MAXLINE: f->max_line = optarg; break;
		case OPT_CA: f->ca_file = optarg; break;
		case 'h': *action = CONF_HELP; return 0;
		case 'V': *action = CONF_VERSION; return 0;
		case ':':
			return conf_err(err, CONF_EXIT_USAGE,
			    "option %s needs a value", argv[optind - 1]);
		default:
			return conf_err(err, CONF_EXIT_USAGE,
			    "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return conf_err(err, CONF_EXIT_USAGE,
		    "unexpected argument %s", argv[optind]);
	return 0;
}

/* Apply flags over the config. */
static int
conf_apply_flags(struct conf *c, const struct conf_flags *f, char **err)
{
	char id[UUID_STRLEN + 1];
	struct conf_app *a;
	const char *e;

	if (f->socket_path != NULL)
		conf_set(&c->socket_path, f->socket_path);
	if (f->data_dir != NULL)
		conf_set(&c->data_dir, f->data_dir);
	if (f->log_level != NULL && log_level_parse(f->log_level,
	    &c->log_level) != 0)
		return conf_err(err, CONF_EXIT_USAGE,
		    "--log-level must be error, warn, info or debug");
	if (f->max_line != NULL && conf_parse_size(f->max_line,
	    &c->max_line) != 0)
		return conf_err(err, CONF_EXIT_USAGE,
		    "--max-line must be a byte count from 1024 to 1073741824");
	if (f->ca_file != NULL)
		conf_set(&c->ca_file, f->ca_file);
	if (f->foreground)
		c->foreground = 1;
	if (f->app != NULL) {
		if (uuid_normalize(f->app, id) != 0)
			return conf_err(err, CONF_EXIT_USAGE,
			    "--app must be a UUID");
		conf_set(&c->default_app, id);
	}
	if (f->api_uri == NULL && f->ws_uri == NULL)
		return 0;
	if (c->default_app == NULL)
		return conf_err(err, CONF_EXIT_USAGE,
		    "--api-uri and --websocket-uri need --app (or default-app)");
	a = conf_app_get(c, c->default_app);
	if (f->api_uri != NULL &&
	    (e = conf_app_key(a, "api-uri", f->api_uri)) != NULL && *e)
		return conf_err(err, CONF_EXIT_USAGE, "--%s", e);
	if (f->ws_uri != NULL &&
	    (e = conf_app_key(a, "websocket-uri", f->ws_uri)) != NULL && *e)
		return conf_err(err, CONF_EXIT_USAGE, "--%s", e);
	return 0;
}

/* Defaults, file, environment, flags. */
int
conf_from_args(struct conf *c, int argc, char **argv,
    enum conf_action *action, char **err)
{
	struct conf_flags f;
	const char *env;
	char *path = NULL;
	int r;

	*err = NULL;
	if ((r = conf_parse_flags(&f, argc, argv, action, err)) != 0)
		return r;
	if (*action != CONF_RUN)
		return 0;
	if (f.conf_path != NULL)
		r = conf_load_file(c, f.conf_path, 1, err);
	else {
		char *dir = conf_xdg_dir("XDG_CONFIG_HOME", ".config");

		xasprintf(&path, "%s/config", dir);
		free(dir);
		r = conf_load_file(c, path, 0, err);
		free(path);
	}
	if (r != 0)
		return CONF_EXIT_CONFIG;
	if ((env = getenv("INSTANTD_SOCKET")) != NULL && *env != '\0')
		conf_set(&c->socket_path, env);
	if ((r = conf_apply_flags(c, &f, err)) != 0)
		return r;
	if (conf_finish(c, err) != 0)
		return CONF_EXIT_CONFIG;
	return 0;
}
