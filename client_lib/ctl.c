/*
 * ctl.c: instantctl, the command-line client of instantd.
 *
 *	instantctl [--socket PATH] [--app APP] [--timeout MS] [--pretty] COMMAND
 *
 * Each request/reply command builds one request, waits for its reply
 * (instantd_call) and prints the reply as one JSON line.  Commands that
 * use an app first say hello as "instantctl" (to --app, if given), so the
 * daemon's logs and pending list name us.  Exit codes: 0 ok,
 * 1 error reply (also described on stderr) or other failure, 2 usage,
 * 69 daemon unavailable.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "client_lib/ctl.h"

#define CTL_DEFAULT_TIMEOUT_MS 30000

/* The longest refresh token read from standard input. */
#define CTL_TOKEN_MAX 4096

/* What a command's arguments must be; parsed before connecting. */
enum ctl_arg {
	CTL_ARG_NONE,
	CTL_ARG_OBJECT,  /* a JSON object */
	CTL_ARG_ARRAY,   /* a JSON array */
	CTL_ARG_COUNT,   /* a positive integer, optional */
	CTL_ARG_STRINGS, /* one string for each member */
	CTL_ARG_STDIN,   /* none: the member is standard input's first line
			    (a secret, kept out of argv and shell history) */
};

/*
 * A command: its name, its arguments and the request members holding
 * them, and whether to say hello first even without --app (so that the
 * daemon logs and attributes the command's transactions to "instantctl").
 */
struct ctl_cmd {
	const char *name;
	enum ctl_arg arg;
	const char *member[2];
	int hello;
	int (*run)(struct ctl *, const struct ctl_cmd *);
};

static const char ctl_usage_text[] =
    "usage: instantctl [options] COMMAND [ARG...]\n"
    "options:\n"
    "  -s, --socket PATH   the daemon's socket (default $INSTANTD_SOCKET,\n"
    "                      else $XDG_RUNTIME_DIR/instantd/socket)\n"
    "  -a, --app APP       bind the connection to app APP (a UUID) first\n"
    "  -t, --timeout MS    wait at most MS milliseconds for a reply\n"
    "                      (default 30000; 0 waits forever)\n"
    "  -p, --pretty        indent JSON output for people\n"
    "  -w, --wait WHEN     transact: reply when the transaction is\n"
    "                      \"local\" (durable here, default) or \"synced\"\n"
    "  -h, --help          show this help\n"
    "  -V, --version       show the version\n"
    "commands:\n"
    "  status              the app's connection, queue and counts\n"
    "  hello               bind the connection and show the daemon\n"
    "  query Q             run the InstaQL query Q (JSON) once\n"
    "  subscribe Q         print each result of Q until interrupted\n"
    "  transact STEPS      apply STEPS, a JSON array of InstaML steps\n"
    "  pending             the transactions not yet synced\n"
    "  connect             let the app's upstream session connect\n"
    "  disconnect          hold the app's upstream session off\n"
    "  uuid [N]            one fresh UUID, or N of them\n"
    "  whoami              the signed-in user (null when signed out)\n"
    "  sign-in-guest       sign in as a new guest user\n"
    "  send-magic-code EMAIL\n"
    "                      have the server email a sign-in code to EMAIL\n"
    "  verify-magic-code EMAIL CODE\n"
    "                      sign in with the code sent to EMAIL\n"
    "  sign-in-token       sign in with a refresh token read from stdin\n"
    "  sign-out            sign out, here and on the server\n"
    "  raw                 send each stdin line as a request, print every\n"
    "                      reply and event line\n"
    "exit status: 0 ok, 1 error reply, 2 usage, 69 daemon unavailable\n";

static int ctl_usage_error(const char *, ...)
    __attribute__((format(printf, 1, 2)));

/* Print a usage error and return the usage exit code. */
static int
ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("instantctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'instantctl --help'.\n", stderr);
	return CTL_EXIT_USAGE;
}

/* Print value as one compact line, or indented with --pretty. */
void
ctl_print(const struct ctl *ctl, const json_t *value)
{
	size_t flags = ctl->pretty ? JSON_INDENT(2) : JSON_COMPACT;

	json_dumpf(value, stdout, flags | JSON_ENCODE_ANY);
	putchar('\n');
	fflush(stdout);
}

/*
 * Write text from the daemon (which may quote the Instant server) to
 * stderr with control characters shown as '?', so that it cannot drive
 * the terminal.
 */
static void
ctl_put_safe(const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, stderr);
}

/* Describe a library failure; 69 if the daemon is not there (any more). */
int
ctl_fail(const struct ctl *ctl, int status)
{
	fputs("instantctl: ", stderr);
	ctl_put_safe(instantd_errmsg(ctl->c));
	fputc('\n', stderr);
	switch (status) {
	case INSTANTD_ERR_UNAVAILABLE:
	case INSTANTD_ERR_CLOSED:
	case INSTANTD_ERR_IO:
		return CTL_EXIT_UNAVAILABLE;
	}
	return CTL_EXIT_ERROR;
}

/* Describe an error reply on stderr. */
int
ctl_check_reply(const json_t *reply)
{
	const char *code = instantd_reply_error_code(reply);
	const char *message = instantd_reply_error_message(reply);

	if (instantd_reply_ok(reply))
		return CTL_EXIT_OK;
	fputs("instantctl: ", stderr);
	ctl_put_safe(code != NULL ? code : "error");
	fputs(": ", stderr);
	ctl_put_safe(message != NULL ? message : "the daemon gave no message");
	fputc('\n', stderr);
	return CTL_EXIT_ERROR;
}

/* Send req (consumed) and wait for the reply; print it if print is set. */
static int
ctl_request(struct ctl *ctl, json_t *req, int print)
{
	json_t *reply = NULL;
	int r, status;

	if (req == NULL) {
		fputs("instantctl: out of memory\n", stderr);
		return CTL_EXIT_ERROR;
	}
	status = instantd_call(ctl->c, req, ctl->timeout_ms, &reply);
	json_decref(req);
	if (status != INSTANTD_OK)
		return ctl_fail(ctl, status);
	if (print)
		ctl_print(ctl, reply);
	r = ctl_check_reply(reply);
	json_decref(reply);
	return r;
}

/* Bind the connection with a hello naming us (and the app, if given). */
static int
ctl_hello(struct ctl *ctl, int print)
{
	json_t *req = json_pack("{s:s, s:s, s:i}", "op", "hello", "name",
	    "instantctl", "proto", 1);

	if (req != NULL && ctl->app != NULL &&
	    json_object_set_new(req, "app", json_string(ctl->app)) != 0) {
		json_decref(req);
		req = NULL;
	}
	return ctl_request(ctl, req, print);
}

/* Parse a JSON argument that must be of type want. */
static json_t *
ctl_parse_json(const char *cmd, const char *arg, json_type want)
{
	json_error_t err;
	json_t *v;

	if ((v = json_loads(arg, 0, &err)) == NULL) {
		ctl_usage_error("%s: invalid JSON at column %d: %s", cmd,
		    err.column, err.text);
		return NULL;
	}
	if (json_typeof(v) != want) {
		ctl_usage_error("%s: expected a JSON %s", cmd,
		    want == JSON_OBJECT ? "object" : "array");
		json_decref(v);
		return NULL;
	}
	return v;
}

/* Parse a count: a decimal integer from 1 to INT_MAX. */
static int
ctl_parse_count(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* The number of members a command's arguments fill. */
static int
ctl_nmembers(const struct ctl_cmd *cmd)
{
	return cmd->member[1] != NULL ? 2 : cmd->member[0] != NULL;
}

/* {member: value} for each of the command's members and args. */
static json_t *
ctl_parse_strings(const struct ctl_cmd *cmd, char **args)
{
	json_t *o = json_object();
	int i;

	for (i = 0; o != NULL && i < ctl_nmembers(cmd); i++) {
		if (json_object_set_new(o, cmd->member[i],
		    json_string(args[i])) != 0) {
			ctl_usage_error("%s: the %s is not valid UTF-8",
			    cmd->name, cmd->member[i]);
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* The terminal's settings while a secret is read without echo. */
static struct termios ctl_tty_saved;

/* A signal while echo is off: put the terminal back, then take the
 * signal's default action. */
static void
ctl_tty_signal_cb(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &ctl_tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Read one line of standard input into buf; from a terminal, without
 * echo and after a prompt.  The line, or NULL at end of input. */
static char *
ctl_read_secret(const char *prompt, char *buf, int size)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa, old[4];
	struct termios quiet;
	char *line;
	int tty, i;

	tty = isatty(STDIN_FILENO) &&
	    tcgetattr(STDIN_FILENO, &ctl_tty_saved) == 0;
	if (tty) {
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = ctl_tty_signal_cb;
		sigemptyset(&sa.sa_mask);
		for (i = 0; i < 4; i++)
			sigaction(sigs[i], &sa, &old[i]);
		quiet = ctl_tty_saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		/* The prompt comes once echo is off. */
		fprintf(stderr, "%s: ", prompt);
	}
	line = fgets(buf, size, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &ctl_tty_saved);
		for (i = 0; i < 4; i++)
			sigaction(sigs[i], &old[i], NULL);
		fputc('\n', stderr);
	}
	return line;
}

/* {member: the first line of standard input}, for a secret. */
static json_t *
ctl_parse_stdin(const struct ctl_cmd *cmd)
{
	char buf[CTL_TOKEN_MAX + 2], what[32], *p;
	json_t *o = NULL;
	size_t len;

	/* "refresh_token" is "refresh token" to people. */
	snprintf(what, sizeof what, "%s", cmd->member[0]);
	for (p = what; (p = strchr(p, '_')) != NULL;)
		*p = ' ';
	if (ctl_read_secret(what, buf, sizeof buf) == NULL) {
		ctl_usage_error("%s reads the %s from standard input, which "
		    "is empty", cmd->name, what);
		goto out;
	}
	len = strcspn(buf, "\r\n");
	if (len == sizeof buf - 1) {
		ctl_usage_error("%s: the %s on standard input is longer than "
		    "%d bytes", cmd->name, what, CTL_TOKEN_MAX);
		goto out;
	}
	buf[len] = '\0';
	if (len == 0)
		ctl_usage_error("%s: the %s on standard input is empty",
		    cmd->name, what);
	else if ((o = json_object()) != NULL && json_object_set_new(o,
	    cmd->member[0], json_string(buf)) != 0) {
		ctl_usage_error("%s: the %s is not valid UTF-8", cmd->name,
		    what);
		json_decref(o);
		o = NULL;
	}
out:
	explicit_bzero(buf, sizeof buf);
	return o;
}

/* Parse a command's arguments (args[0] may be NULL) into *out: 0, or
 * -1. */
static int
ctl_parse_arg(const struct ctl_cmd *cmd, char **args, json_t **out)
{
	const char *arg = args[0];
	int n;

	*out = NULL;
	switch (cmd->arg) {
	case CTL_ARG_STRINGS:
		return (*out = ctl_parse_strings(cmd, args)) ? 0 : -1;
	case CTL_ARG_STDIN:
		return (*out = ctl_parse_stdin(cmd)) ? 0 : -1;
	case CTL_ARG_NONE:
		return 0;
	case CTL_ARG_OBJECT:
		return (*out = ctl_parse_json(cmd->name, arg, JSON_OBJECT)) ?
		    0 : -1;
	case CTL_ARG_ARRAY:
		return (*out = ctl_parse_json(cmd->name, arg, JSON_ARRAY)) ?
		    0 : -1;
	case CTL_ARG_COUNT:
		if (arg == NULL)
			return 0;
		if (ctl_parse_count(arg, &n) != 0) {
			ctl_usage_error("%s: expected a positive integer, not "
			    "'%s'", cmd->name, arg);
			return -1;
		}
		return (*out = json_integer(n)) ? 0 : -1;
	}
	return -1;
}

/*
 * The command's request: {"op": NAME}, with the argument as cmd->member
 * (or the members parsed into an object) and --wait as "wait".  NULL when
 * out of memory.
 */
static json_t *
ctl_build(const struct ctl *ctl, const struct ctl_cmd *cmd)
{
	json_t *req = json_pack("{s:s}", "op", cmd->name);
	int merge = cmd->arg == CTL_ARG_STRINGS || cmd->arg == CTL_ARG_STDIN;

	if (req == NULL)
		return NULL;
	if (ctl->arg != NULL && (merge ? json_object_update(req, ctl->arg) :
	    json_object_set(req, cmd->member[0], ctl->arg)) != 0)
		goto fail;
	if (ctl->wait != NULL &&
	    json_object_set_new(req, "wait", json_string(ctl->wait)) != 0)
		goto fail;
	return req;
fail:
	json_decref(req);
	return NULL;
}

/* status, query, transact, pending, connect, disconnect, uuid, and the
 * auth commands. */
static int
ctl_cmd_request(struct ctl *ctl, const struct ctl_cmd *cmd)
{
	return ctl_request(ctl, ctl_build(ctl, cmd), 1);
}

/* hello (also sent before any other command if --app is given). */
static int
ctl_cmd_hello(struct ctl *ctl, const struct ctl_cmd *cmd)
{
	return ctl_hello(ctl, 1);
}

/* subscribe Q */
static int
ctl_cmd_subscribe(struct ctl *ctl, const struct ctl_cmd *cmd)
{
	json_t *req = ctl_build(ctl, cmd);
	int r;

	if (req == NULL) {
		fputs("instantctl: out of memory\n", stderr);
		return CTL_EXIT_ERROR;
	}
	r = stream_subscribe(ctl, req);
	json_decref(req);
	return r;
}

/* raw */
static int
ctl_cmd_raw(struct ctl *ctl, const struct ctl_cmd *cmd)
{
	return stream_raw(ctl);
}

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", CTL_ARG_NONE, { NULL }, 1, ctl_cmd_request },
	{ "hello", CTL_ARG_NONE, { NULL }, 0, ctl_cmd_hello },
	{ "query", CTL_ARG_OBJECT, { "q" }, 1, ctl_cmd_request },
	{ "subscribe", CTL_ARG_OBJECT, { "q" }, 1, ctl_cmd_subscribe },
	{ "transact", CTL_ARG_ARRAY, { "steps" }, 1, ctl_cmd_request },
	{ "pending", CTL_ARG_NONE, { NULL }, 1, ctl_cmd_request },
	{ "connect", CTL_ARG_NONE, { NULL }, 1, ctl_cmd_request },
	{ "disconnect", CTL_ARG_NONE, { NULL }, 1, ctl_cmd_request },
	{ "uuid", CTL_ARG_COUNT, { "count" }, 0, ctl_cmd_request },
	{ "raw", CTL_ARG_NONE, { NULL }, 0, ctl_cmd_raw },
	{ "whoami", CTL_ARG_NONE, { NULL }, 1, ctl_cmd_request },
	{ "sign-in-guest", CTL_ARG_NONE, { NULL }, 1, ctl_cmd_request },
	{ "send-magic-code", CTL_ARG_STRINGS, { "email" }, 1,
	    ctl_cmd_request },
	{ "verify-magic-code", CTL_ARG_STRINGS, { "email", "code" }, 1,
	    ctl_cmd_request },
	{ "sign-in-token", CTL_ARG_STDIN, { "refresh_token" }, 1,
	    ctl_cmd_request },
	{ "sign-out", CTL_ARG_NONE, { NULL }, 1, ctl_cmd_request },
};

/* The command called name, or NULL. */
static const struct ctl_cmd *
ctl_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof ctl_cmds / sizeof ctl_cmds[0]; i++) {
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return &ctl_cmds[i];
	}
	return NULL;
}

/* Parse --timeout: milliseconds, 0 meaning no limit (-1). */
static int
ctl_parse_timeout(const char *s, int *out)
{
	if (strcmp(s, "0") == 0) {
		*out = -1;
		return 0;
	}
	return ctl_parse_count(s, out);
}

/*
 * Parse the options into ctl; returns -1 to go on, or an exit code (after
 * --help, --version, or a usage error).
 */
static int
ctl_parse_options(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "app", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":s:a:t:pw:hV", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			ctl->socket = optarg;
			break;
		case 'a':
			ctl->app = optarg;
			break;
		case 't':
			if (ctl_parse_timeout(optarg, &ctl->timeout_ms) != 0)
				return ctl_usage_error("--timeout must be a "
				    "number of milliseconds, not '%s'", optarg);
			break;
		case 'p':
			ctl->pretty = 1;
			break;
		case 'w':
			if (strcmp(optarg, "local") != 0 &&
			    strcmp(optarg, "synced") != 0)
				return ctl_usage_error("--wait must be local or "
				    "synced, not '%s'", optarg);
			ctl->wait = optarg;
			break;
		case 'h':
			fputs(ctl_usage_text, stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("instantctl (%s) %s\n", PACKAGE_NAME,
			    PACKAGE_VERSION);
			return CTL_EXIT_OK;
		case ':':
			return ctl_usage_error("option %s needs a value",
			    argv[optind - 1]);
		default:
			return ctl_usage_error("unknown option %s",
			    argv[optind - 1]);
		}
	}
	return -1;
}

/* Find the command in argv[optind..] and parse its argument into ctl. */
static int
ctl_parse_command(struct ctl *ctl, int argc, char **argv,
    const struct ctl_cmd **cmdp)
{
	static const char *const counts[] = { "no", "one", "two" };
	const struct ctl_cmd *cmd;
	int nargs, max;

	if (optind >= argc)
		return ctl_usage_error("no command given");
	if ((cmd = ctl_find(argv[optind])) == NULL)
		return ctl_usage_error("unknown command '%s'", argv[optind]);
	nargs = argc - optind - 1;
	max = cmd->arg == CTL_ARG_NONE || cmd->arg == CTL_ARG_STDIN ? 0 :
	    cmd->arg == CTL_ARG_STRINGS ? ctl_nmembers(cmd) : 1;
	if (nargs > max || (nargs < max && cmd->arg != CTL_ARG_COUNT))
		return ctl_usage_error("%s takes %s argument%s", cmd->name,
		    cmd->arg == CTL_ARG_COUNT ? "at most one" : counts[max],
		    max > 1 ? "s" : "");
	if (ctl->wait != NULL && strcmp(cmd->name, "transact") != 0)
		return ctl_usage_error("--wait applies to transact, not %s",
		    cmd->name);
	if (ctl_parse_arg(cmd, argv + optind + 1, &ctl->arg) != 0)
		return CTL_EXIT_USAGE;
	*cmdp = cmd;
	return -1;
}

/*
 * Say hello first if the command wants it or --app must bind the
 * connection (the hello command does it itself), then run the command.
 */
static int
ctl_bind_and_run(struct ctl *ctl, const struct ctl_cmd *cmd)
{
	int r;

	if ((cmd->hello || ctl->app != NULL) && cmd->run != ctl_cmd_hello &&
	    (r = ctl_hello(ctl, 0)) != CTL_EXIT_OK)
		return r;
	return cmd->run(ctl, cmd);
}

/* Connect and run the command. */
static int
ctl_run(struct ctl *ctl, const struct ctl_cmd *cmd)
{
	int status, r;

	if ((ctl->c = instantd_create()) == NULL) {
		fputs("instantctl: out of memory\n", stderr);
		return CTL_EXIT_ERROR;
	}
	if ((status = instantd_connect(ctl->c, ctl->socket)) != INSTANTD_OK)
		r = ctl_fail(ctl, status);
	else
		r = ctl_bind_and_run(ctl, cmd);
	instantd_free(ctl->c);
	ctl->c = NULL;
	return r;
}

int
main(int argc, char **argv)
{
	struct ctl ctl = { .timeout_ms = CTL_DEFAULT_TIMEOUT_MS };
	const struct ctl_cmd *cmd = NULL;
	int r;

	if ((r = ctl_parse_options(&ctl, argc, argv)) != -1)
		return r;
	if ((r = ctl_parse_command(&ctl, argc, argv, &cmd)) != -1)
		return r;
	r = ctl_run(&ctl, cmd);
	json_decref(ctl.arg);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "instantctl: writing output: %s\n",
		    strerror(errno));
		return CTL_EXIT_ERROR;
	}
	return r;
}
