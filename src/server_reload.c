/*
 * server_reload: a configuration re-read on SIGHUP, applied to the running
 * daemon without touching what did not change. It works in two phases:
 *
 *   prepare  everything that can fail, on the side: each user's login
 *            material, the listeners of new ports, the TLS key. A failure
 *            undoes what was prepared and the daemon runs on unchanged.
 *   commit   cannot fail: removed users' sessions end with FAIL, changed
 *            passwords end their sessions, ports move to their new
 *            owners, the new file becomes the running configuration.
 *
 * Sessions of unchanged users, and every bridged visitor (its proxy
 * connection left the session when it was bridged), are not touched.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "server.h"

/* What the new file says of one user, and what it will take. */
struct plan {
	struct srv_user		*old;	/* running user of that name */
	struct srv_user		*user;	/* old, or a new allocation */
	struct srv_user		 fresh;	/* setting and keys from the file */
	struct srv_listener	*li;	/* its port's listener, or NULL */
	int			 li_opened; /* li is new: undo closes it */
	int			 password_changed;
	int			 was_port;	/* its running port, 0: main */
};

struct reload {
	struct srv		*s;
	struct cfg_server	*next;
	struct plan		*plans;
	size_t			 nplans;
	struct srv_user		**users;	/* the new s->users */
	struct tls_ctx		*tls;		/* the new one, or NULL */
	struct srv_tls_files	 tls_files;	/* what it was read from */
	struct cfg_server	*retired;	/* the running one's contents,
						   freed once the loop turns */
	int			 metrics_moved;	/* metrics_listen changed */
	struct metrics_http	*metrics;	/* ... its new endpoint */
	int			 http_moved;	/* http_port changed */
	struct srv_listener	 http;		/* ... its new listener */
	int			 https_moved;	/* https_port changed */
	struct srv_listener	 https;		/* ... its new listener */
	int			 certs_new;	/* https_certs read again */
	struct srv_front_certs	 certs;		/* ... into this */
};

/* Keys that stay as they are until a restart. */
static void
keep_fixed(struct srv *s, struct cfg_server *next)
{
	if (next->port != s->cfg->port) {
		log_warnx("reload: port stays %d until a restart (the file "
		    "now says %d)", s->cfg->port, next->port);
		next->port = s->cfg->port;
	}
	if (next->transport != s->cfg->transport) {
		log_warnx("reload: transport stays %s until a restart (the "
		    "file now says %s)", cfg_transport_str(s->cfg->transport),
		    cfg_transport_str(next->transport));
		next->transport = s->cfg->transport;
	}
}

static struct srv_listener *
running_listener(struct srv *s, int port)
{
	size_t i;

	for (i = 0; i < s->nusers; i++)
		if (s->users[i]->listener != NULL &&
		    s->users[i]->listener->port == port)
			return s->users[i]->listener;
	return NULL;
}

static void
undo(struct reload *r)
{
	size_t i;

	for (i = 0; i < r->nplans; i++) {
		struct plan *p = &r->plans[i];

		if (p->li_opened) {
			srv_listener_close(r->s, p->li);
			free(p->li);
		}
		if (p->user != NULL && p->user != p->old)
			free(p->user);
		auth_wipe(&p->fresh.keys, sizeof(p->fresh.keys));
		auth_wipe(p->fresh.plain_id, sizeof(p->fresh.plain_id));
	}
	free(r->plans);
	free(r->users);
	free(r->retired);
	tls_ctx_free(r->tls);
	metrics_http_free(r->metrics);
	srv_listener_close(r->s, &r->http);
	srv_listener_close(r->s, &r->https);
	srv_front_certs_free(&r->certs);
}

static int
same_str(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static int
prepare(struct reload *r)
{
	struct srv *s = r->s;
	struct cfg_server *next = r->next;
	const char *path = next->path != NULL ? next->path : "config";
	char err[512];
	size_t i;

	r->nplans = next->nusers;
	r->plans = calloc(r->nplans, sizeof(*r->plans));
	r->users = calloc(r->nplans, sizeof(*r->users));
	r->retired = calloc(1, sizeof(*r->retired));
	if (r->plans == NULL || r->users == NULL || r->retired == NULL) {
		log_warn("reload");
		return -1;
	}
	for (i = 0; i < r->nplans; i++) {
		struct plan *p = &r->plans[i];
		struct cfg_user *cu = &next->users[i];

		p->old = srv_user_find(s, cu->username);
		if (srv_user_prepare(s, &p->fresh, cu, p->old, path) == -1)
			return -1;
		if (p->old != NULL) {
			p->user = p->old;
			p->password_changed =
			    strcmp(p->old->setting, p->fresh.setting) != 0 ||
			    memcmp(&p->old->keys, &p->fresh.keys,
			    sizeof(p->fresh.keys)) != 0;
		} else if ((p->user = calloc(1, sizeof(*p->user))) == NULL) {
			log_warn("reload");
			return -1;
		}
		if (cu->port == 0)
			continue;
		if (cu->port == s->cfg->port) {
			/* The file moved the main port, which waits for a
			   restart, and gave its number to a user. */
			log_error("reload: %s:%d: user '%s': port %d is the "
			    "running main port until a restart; the running "
			    "configuration stays", path, cu->line,
			    cu->username, cu->port);
			return -1;
		}
		/* A port keeps its socket, whoever owns it now. */
		if ((p->li = running_listener(s, cu->port)) != NULL)
			continue;
		if ((p->li = calloc(1, sizeof(*p->li))) == NULL) {
			log_warn("reload");
			return -1;
		}
		if (srv_listener_open(s, p->li, cu->port, p->user) == -1) {
			log_error("reload: cannot listen on port %d (user '%s'): "
			    "%s; the running configuration stays", cu->port,
			    cu->username, strerror(errno));
			free(p->li);
			p->li = NULL;
			return -1;
		}
		p->li_opened = 1;
	}
	/*
	 * The new metrics address opens beside the old one, which closes
	 * at commit: a move to the same port on another address is refused
	 * here (the port is taken) and needs a restart.
	 */
	if (!same_str(next->metrics_listen, s->cfg->metrics_listen)) {
		r->metrics_moved = 1;
		if (next->metrics_listen != NULL &&
		    srv_metrics_open(s, next->metrics_listen,
		    &r->metrics) == -1) {
			log_error("reload: cannot listen on %s "
			    "(metrics_listen): %s; the running configuration "
			    "stays", next->metrics_listen, strerror(errno));
			return -1;
		}
	}
	/* The same for http_port: the new port opens beside the old. */
	if (next->http_port != s->cfg->http_port) {
		r->http_moved = 1;
		if (next->http_port != 0 && srv_listener_open(s, &r->http,
		    next->http_port, NULL) == -1) {
			log_error("reload: cannot listen on port %d "
			    "(http_port): %s; the running configuration stays",
			    next->http_port, strerror(errno));
			return -1;
		}
	}
	if (next->https_port != s->cfg->https_port) {
		r->https_moved = 1;
		if (next->https_port != 0 && srv_listener_open(s, &r->https,
		    next->https_port, NULL) == -1) {
			log_error("reload: cannot listen on port %d "
			    "(https_port): %s; the running configuration stays",
			    next->https_port, strerror(errno));
			return -1;
		}
	}
	/* The front's certificates: read again when certbot replaced them. */
	if (!srv_front_certs_same(&s->certs, next)) {
		if (srv_front_certs_load(next, &r->certs) == -1) {
			log_error("reload: https_certs unusable; the running "
			    "configuration stays");
			return -1;
		}
		r->certs_new = 1;
	}
	/*
	 * certbot renews the files in place: read them again when they
	 * changed. Not otherwise: a new context has new ticket keys, and
	 * every pool refill would pay a full handshake after logrotate's
	 * daily SIGHUP.
	 */
	if (s->tls != NULL &&
	    (srv_tls_files_get(next->tls_cert, next->tls_key,
	    &r->tls_files) == -1 ||
	    memcmp(&s->tls_files, &r->tls_files, sizeof(r->tls_files)) != 0)) {
		r->tls = tls_server_ctx(next->tls_cert, next->tls_key, err,
		    sizeof(err));
		if (r->tls == NULL) {
			log_error("reload: %s; the running configuration stays",
			    err);
			return -1;
		}
	}
	return 0;
}

static int
file_id(const char *path, struct srv_file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) == -1)
		return -1;
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	id->size = (uint64_t)st.st_size;
	id->mtime_s = (int64_t)st.st_mtim.tv_sec;
	id->mtime_ns = (int64_t)st.st_mtim.tv_nsec;
	return 0;
}

int
srv_tls_files_get(const char *cert, const char *key,
    struct srv_tls_files *now)
{
	int rc = file_id(cert, &now->cert);

	return file_id(key, &now->key) == -1 ? -1 : rc;
}

static struct plan *
plan_of(struct reload *r, const struct srv_user *u)
{
	size_t i;

	for (i = 0; i < r->nplans; i++)
		if (r->plans[i].old == u)
			return &r->plans[i];
	return NULL;
}

/* Ends u's session and logins in progress: the client must log in anew. */
static void
disconnect(struct srv *s, struct srv_user *u, const char *why)
{
	struct srv_conn *c, *cnext;

	for (c = LIST_FIRST(&s->conns); c != NULL; c = cnext) {
		cnext = LIST_NEXT(c, entry);
		if (c->user == u)
			srv_conn_close(c, why);
	}
	if (u->session != NULL)
		srv_session_close(u->session, PROTO_FAIL_CREDENTIALS, why);
}

/*
 * Visitors that came in on li, a port going away, are pointed at to (they
 * are only routed again if their proxy connection fails).
 */
static void
repoint_visitors(struct srv *s, struct srv_listener *li,
    struct srv_listener *to)
{
	struct srv_visitor *v;

	LIST_FOREACH(v, &s->visitors, all)
		if (v->listener == li)
			v->listener = to;
}

/* Bytes of u's visitors still open count nowhere once u is gone. */
static void
forget_owner(struct srv *s, struct srv_user *u)
{
	struct srv_visitor *v;

	LIST_FOREACH(v, &s->visitors, all)
		if (v->owner == u)
			v->owner = NULL;
}

static void
free_cfg(void *arg)
{
	cfg_server_free(arg);
	free(arg);
}

static void
free_user(void *arg)
{
	struct srv_user *u = arg;

	auth_wipe(&u->keys, sizeof(u->keys));
	auth_wipe(u->plain_id, sizeof(u->plain_id));
	free(u);
}

static void
log_setting(const char *key, int was, int now)
{
	if (was != now)
		log_info("reload: %s %d -> %d", key, was, now);
}

/*
 * Order matters: every port gets its final owner before any session ends,
 * since ending one routes its waiting visitors again by their port; done
 * the other way, a visitor could reach another user's client.
 */
static void
commit(struct reload *r)
{
	struct srv *s = r->s;
	struct cfg_server *next = r->next;
	char why[PROTO_MAX_REASON + 1];
	struct srv_session *ss, *ssnext;
	size_t i, k, added = 0, removed = 0, changed = 0;

	/* 1. Ports nobody keeps close; what came in on them follows the user. */
	for (i = 0; i < s->nusers; i++) {
		struct srv_user *u = s->users[i];
		struct plan *p = plan_of(r, u);
		struct srv_listener *li = u->listener;
		int reused = 0;

		if (p != NULL)
			p->was_port = u->cfg->port;
		if (li == NULL)
			continue;
		u->listener = NULL;
		for (k = 0; k < r->nplans; k++)
			if (r->plans[k].li == li)
				reused = 1;
		/* A port taken over: its visitors go to its new owner. */
		if (reused)
			continue;
		log_info("reload: port %d closed", li->port);
		repoint_visitors(s, li, p == NULL ? &s->orphan :
		    p->li != NULL ? p->li : &s->main);
		srv_listener_close(s, li);
		free(li);
	}
	/* 2. Users and ports as the file says; no session touched yet. */
	for (i = 0; i < r->nplans; i++) {
		struct plan *p = &r->plans[i];
		struct srv_user *u = p->user;
		struct cfg_user *cu = &next->users[i];

		if (p->old == NULL) {
			*u = p->fresh;
			log_info("reload: user '%s' added (%s %d)",
			    cu->username, cu->port != 0 ? "own port" :
			    "main port", cu->port != 0 ? cu->port :
			    s->cfg->port);
			added++;
		} else {
			if (p->password_changed) {
				memcpy(u->setting, p->fresh.setting,
				    sizeof(u->setting));
				u->keys = p->fresh.keys;
			}
			/* A hash now where a plaintext was, or another one. */
			u->plain = p->fresh.plain;
			memcpy(u->plain_id, p->fresh.plain_id,
			    sizeof(u->plain_id));
		}
		u->cfg = cu;
		auth_wipe(&p->fresh.keys, sizeof(p->fresh.keys));
		auth_wipe(p->fresh.plain_id, sizeof(p->fresh.plain_id));
		u->listener = p->li;
		if (p->li != NULL) {
			p->li->user = u;
			if (p->li_opened)
				log_info("reload: port %d opened for user "
				    "'%s'", p->li->port, cu->username);
		}
		if (p->old != NULL && p->was_port != cu->port)
			log_info("reload: user '%s' moves from port %d to %d%s",
			    cu->username, p->was_port != 0 ? p->was_port :
			    s->cfg->port, cu->port != 0 ? cu->port :
			    s->cfg->port, u->session != NULL ? " (its client "
			    "shows the old port until it logs in again)" : "");
		if (p->old != NULL && (p->password_changed ||
		    p->was_port != cu->port))
			changed++;
		r->users[i] = u;
	}
	/* 3. Now sessions may end: removed users, changed passwords. */
	for (i = 0; i < s->nusers; i++) {
		struct srv_user *u = s->users[i];

		if (plan_of(r, u) != NULL)
			continue;
		/* No quotes: the client's log escapes them. */
		(void)snprintf(why, sizeof(why), "user %s was removed from "
		    "the server configuration", u->cfg->username);
		log_info("reload: %s", why);
		disconnect(s, u, why);
		forget_owner(s, u);
		removed++;
		/* Read until the loop turns (freed now if out of memory). */
		(void)loop_defer(s->loop, free_user, u);
	}
	for (i = 0; i < r->nplans; i++) {
		struct plan *p = &r->plans[i];

		if (p->old == NULL || !p->password_changed)
			continue;
		(void)snprintf(why, sizeof(why), "the password of user %s "
		    "changed in the server configuration",
		    p->user->cfg->username);
		log_info("reload: %s", why);
		disconnect(s, p->user, why);
	}
	free(s->users);
	s->users = r->users;
	s->nusers = r->nplans;
	r->users = NULL;

	log_setting("pool_size (new logins)", s->cfg->pool_size,
	    next->pool_size);
	log_setting("connect_timeout", s->cfg->connect_timeout,
	    next->connect_timeout);
	log_setting("idle_timeout", s->cfg->idle_timeout, next->idle_timeout);
	log_setting("visitors_per_address", s->cfg->visitors_per_address,
	    next->visitors_per_address);
	log_setting("pipe_memory_mb", s->cfg->pipe_memory_mb,
	    next->pipe_memory_mb);
	log_setting("shutdown_grace", s->cfg->shutdown_grace,
	    next->shutdown_grace);
	s->bctx.budget = (size_t)next->pipe_memory_mb << 20;
	if (r->tls != NULL) {
		/* Connections made with the old key keep it (refcounted). */
		tls_ctx_free(s->tls);
		s->tls = r->tls;
		r->tls = NULL;
		s->tls_files = r->tls_files;
		log_info("reload: TLS key and certificate read again");
	}
	if (r->metrics_moved) {
		metrics_http_free(s->metrics);
		s->metrics = r->metrics;
		r->metrics = NULL;
		if (s->metrics != NULL)
			log_info("reload: metrics now at http://%s/metrics",
			    next->metrics_listen);
		else
			log_info("reload: metrics endpoint closed");
	}
	if (r->http_moved) {
		srv_listener_close(s, &s->http);
		if (next->http_port == 0)
			log_info("reload: http_port closed");
		else if (srv_listener_take(s, &s->http, &r->http) == -1)
			log_warn("reload: http_port %d", next->http_port);
		else
			log_info("reload: http_port now %d", s->http.port);
	}
	if (r->https_moved) {
		srv_listener_close(s, &s->https);
		if (next->https_port == 0)
			log_info("reload: https_port closed");
		else if (srv_listener_take(s, &s->https, &r->https) == -1)
			log_warn("reload: https_port %d", next->https_port);
		else
			log_info("reload: https_port now %d", s->https.port);
	}
	if (r->certs_new) {
		/* Handshakes under way keep the old ones (refcounted). */
		srv_front_certs_free(&s->certs);
		s->certs = r->certs;
		memset(&r->certs, 0, sizeof(r->certs));
		log_info("reload: https_certs read again (%zu certificate%s)",
		    s->certs.n, s->certs.n == 1 ? "" : "s");
	}
	/* Removed users and ended sessions name themselves from it. */
	*r->retired = *s->cfg;
	*s->cfg = *next;
	cfg_server_init(next);
	srv_hosts_index(s);
	srv_acme_reload(s);
	/* Names, domain or front ports may have changed under the grants. */
	for (ss = LIST_FIRST(&s->sessions); ss != NULL; ss = ssnext) {
		ssnext = LIST_NEXT(ss, entry);
		srv_session_regrant(ss);
	}
	(void)loop_defer(s->loop, free_cfg, r->retired);
	r->retired = NULL;
	free(r->plans);
	r->plans = NULL;
	log_info("reload: done: %zu user%s (%zu added, %zu removed, %zu "
	    "changed)", s->nusers, s->nusers == 1 ? "" : "s", added, removed,
	    changed);
}

int
srv_reload(struct srv *s, struct cfg_server *next)
{
	struct reload r;

	if (s->stopping) {
		log_warnx("reload: the server is stopping; nothing changed");
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.http.h.fd = -1;
	r.https.h.fd = -1;
	r.next = next;
	keep_fixed(s, next);
	if (prepare(&r) == -1) {
		undo(&r);
		return -1;
	}
	commit(&r);
	return 0;
}
