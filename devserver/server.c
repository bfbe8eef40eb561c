/*
 * server.c: configuration, faults, open apps and live sessions.
 *
 * Apps are opened lazily on the first init that names them and stay open
 * until the server is freed.  With --app given, only those ids exist
 * (others are record-not-found, like an unknown app on Instant); without,
 * any UUID is an app.
 *
 * Refreshes are coalesced like Instant's: a commit marks its app dirty and
 * one pass on the next loop turn recomputes the queries of every session
 * of each dirty app, so a burst of transactions read in one turn costs one
 * recomputation per query.  Commits that change attrs refresh at once (see
 * server_app_changed).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "daemon/log.h"
#include "daemon/xmalloc.h"
#include "devserver/app.h"
#include "devserver/error.h"
#include "devserver/server.h"
#include "devserver/session.h"
#include "proto/uuid.h"

struct server_app {
	struct app *app;
	json_t *changed; /* etypes changed since the last refresh pass (a set
			  * object), or NULL */
	TAILQ_ENTRY(server_app) entry;
};

struct server_session {
	struct session *s;
	TAILQ_ENTRY(server_session) entry;
};

struct server {
	struct event_base *base;
	struct server_config cfg;
	char **apps; /* normalised copies of cfg.apps */
	struct faults faults;
	struct event *refresh;
	TAILQ_HEAD(, server_app) open_apps;
	TAILQ_HEAD(, server_session) sessions;
};

static void server_refresh_cb(evutil_socket_t, short, void *);

/* Create a server. */
struct server *
server_create(struct event_base *base, const struct server_config *cfg,
	      char **errmsg)
{
	struct server *sv = xcalloc(1, sizeof *sv);
	char id[UUID_STRLEN + 1];

	sv->base = base;
	sv->cfg = *cfg;
	sv->cfg.data_dir = xstrdup(cfg->data_dir);
	sv->apps = xcalloc(cfg->napps + 1, sizeof *sv->apps);
	faults_init(&sv->faults);
	TAILQ_INIT(&sv->open_apps);
	TAILQ_INIT(&sv->sessions);
	sv->refresh = event_new(base, -1, 0, server_refresh_cb, sv);
	for (size_t i = 0; i < cfg->napps; i++) {
		if (uuid_normalize(cfg->apps[i], id) != 0) {
			xasprintf(errmsg, "app id %s is not a UUID",
				  cfg->apps[i]);
			server_free(sv);
			return NULL;
		}
		sv->apps[i] = xstrdup(id);
	}
	sv->cfg.apps = NULL;
	return sv;
}

/* Free a server, its apps and any sessions still registered. */
void
server_free(struct server *sv)
{
	struct server_app *sa;
	struct server_session *ss;

	if (sv == NULL)
		return;
	while ((ss = TAILQ_FIRST(&sv->sessions)) != NULL)
		session_free(ss->s); /* unregisters itself */
	while ((sa = TAILQ_FIRST(&sv->open_apps)) != NULL) {
		TAILQ_REMOVE(&sv->open_apps, sa, entry);
		json_decref(sa->changed);
		app_free(sa->app);
		free(sa);
	}
	for (size_t i = 0; i < sv->cfg.napps; i++)
		free(sv->apps[i]);
	free(sv->apps);
	faults_clear(&sv->faults);
	if (sv->refresh != NULL)
		event_free(sv->refresh);
	free((char *)sv->cfg.data_dir);
	free(sv);
}

/* The event base. */
struct event_base *
server_base(const struct server *sv)
{
	return sv->base;
}

/* The configuration. */
const struct server_config *
server_config(const struct server *sv)
{
	return &sv->cfg;
}

/* The live fault settings. */
struct faults *
server_faults(struct server *sv)
{
	return &sv->faults;
}

/* The app status in force. */
const char *
server_app_status(const struct server *sv)
{
	return sv->faults.app_status;
}

/* Whether id (normalised) is an app of this server. */
static int
server_app_allowed(const struct server *sv, const char *id)
{
	if (sv->cfg.napps == 0)
		return 1;
	for (size_t i = 0; i < sv->cfg.napps; i++)
		if (strcmp(sv->apps[i], id) == 0)
			return 1;
	return 0;
}

/* Find or open an app. */
struct app *
server_app(struct server *sv, const char *id_in, json_t **err)
{
	char id[UUID_STRLEN + 1], *errmsg = NULL;
	struct server_app *sa;
	struct app *a;

	if (uuid_normalize(id_in, id) != 0 || !server_app_allowed(sv, id)) {
		*err = error_not_found("app");
		return NULL;
	}
	TAILQ_FOREACH(sa, &sv->open_apps, entry)
	if (strcmp(app_id(sa->app), id) == 0)
		return sa->app;
	if ((a = app_open(sv->cfg.data_dir, id, &errmsg)) == NULL) {
		log_error("cannot open app %s: %s", id, errmsg);
		free(errmsg);
		*err = error_new(500, "sql-exception", "Cannot open the app",
				 NULL);
		return NULL;
	}
	sa = xcalloc(1, sizeof *sa);
	sa->app = a;
	TAILQ_INSERT_TAIL(&sv->open_apps, sa, entry);
	log_info("opened app %s", id);
	return a;
}

/* Register a session. */
void
server_add_session(struct server *sv, struct session *s)
{
	struct server_session *ss = xcalloc(1, sizeof *ss);

	ss->s = s;
	TAILQ_INSERT_TAIL(&sv->sessions, ss, entry);
}

/* Unregister a session. */
void
server_remove_session(struct server *sv, struct session *s)
{
	struct server_session *ss;

	TAILQ_FOREACH(ss, &sv->sessions, entry)
	{
		if (ss->s == s) {
			TAILQ_REMOVE(&sv->sessions, ss, entry);
			free(ss);
			return;
		}
	}
}

/* Refresh every session of app; changed (a set of etypes, or NULL for
 * "anything") lets sessions skip queries that did not read those. */
static void
server_refresh_app(struct server *sv, struct app *a, int attrs_changed,
		   const json_t *changed)
{
	struct server_session *ss;

	TAILQ_FOREACH(ss, &sv->sessions, entry)
	if (session_app(ss->s) == a)
		session_refresh(ss->s, attrs_changed, changed);
}

/* The refresh pass: every dirty app, once. */
static void
server_refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *sv = arg;
	struct server_app *sa;
	json_t *changed;

	TAILQ_FOREACH(sa, &sv->open_apps, entry)
	{
		if ((changed = sa->changed) == NULL)
			continue;
		sa->changed = NULL;
		server_refresh_app(sv, sa->app, 0, changed);
		json_decref(changed);
	}
}

/* Add the etypes of c to the pending set of sa. */
static void
server_note_changes(struct server_app *sa, const struct app_commit *c)
{
	json_t *etype;
	size_t i;

	if (sa->changed == NULL)
		sa->changed = json_object();
	json_array_foreach(c->etypes, i, etype) if (json_is_string(etype))
	    json_object_set(sa->changed, json_string_value(etype), json_true());
}

/*
 * After a commit: note what changed for the next refresh pass.  A commit
 * that changed attrs refreshes everything at once instead: a session must
 * learn new attrs before any later reply (an add-query-ok carries triples
 * of those attrs but no attrs, and the client drops triples whose attr it
 * does not know).
 */
void
server_app_changed(struct server *sv, struct app *a, const struct app_commit *c)
{
	struct server_app *sa;

	TAILQ_FOREACH(sa, &sv->open_apps, entry)
	{
		if (sa->app != a)
			continue;
		if (c->attrs_changed) {
			json_decref(sa->changed);
			sa->changed = NULL;
			server_refresh_app(sv, a, 1, NULL);
			return;
		}
		server_note_changes(sa, c);
	}
	event_active(sv->refresh, EV_TIMEOUT, 1);
}

/* Tell every session about the app status. */
void
server_status_changed(struct server *sv)
{
	struct server_session *ss;

	TAILQ_FOREACH(ss, &sv->sessions, entry)
	session_status_changed(ss->s, sv->faults.app_status);
}
