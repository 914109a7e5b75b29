/*
 * server: the daemon's set-up, its listeners, the routing decision and the
 * per-address bookkeeping that bounds logins and slows down password
 * guessing. Connections themselves live in server_conn.c (before login),
 * server_session.c (logged-in clients) and server_visitor.c (public side).
 *
 * Routing: a user's own port goes to that user's session; the main port
 * goes to the most recent login among users without an own port. That
 * decision is made in srv_route() alone, so Host/SNI routing can replace it.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "server.h"
#include "sys.h"

#define SRV_BACKLOG		1024
#define SRV_SWEEP_MS		60000
#define SRV_FAILURE_MEMORY_MS	(15 * 60 * 1000)
#define SRV_PIPES_SPARE		64

static void	listener_cb(struct loop *, struct handler *, uint32_t);
static void	listener_resume(struct loop *, struct timer *);
static void	sweep_cb(struct loop *, struct timer *);
static void	trim_cb(struct loop *, struct timer *);
static void	grace_cb(struct loop *, struct timer *);

/*
 * Derives u's login material from cu (whose password is wiped once
 * used: from here on only the derived keys are needed). path names the
 * config in messages. Return: 0 or -1 after logging why.
 */
int
srv_user_prepare(struct srv *s, struct srv_user *u, struct cfg_user *cu,
    const struct srv_user *old, const char *path)
{
	char err[256], hash[AUTH_HASH_MAX];
	const char *stored;

	u->cfg = cu;
	u->plain = 0;
	if (cu->is_plaintext) {
		log_warnx("%s:%d: user '%s' has a plaintext password; store a "
		    "hash instead (tunnel-server --hash-password)", path,
		    cu->line, cu->username);
		auth_hmac_sha256(s->secret, sizeof(s->secret), cu->password,
		    strlen(cu->password), u->plain_id);
		u->plain = 1;
		if (old != NULL && old->plain &&
		    auth_ct_equal(old->plain_id, u->plain_id,
		    sizeof(u->plain_id))) {
			memcpy(u->setting, old->setting, sizeof(u->setting));
			u->keys = old->keys;
			auth_wipe(cu->password, strlen(cu->password));
			return 0;
		}
		/*
		 * Its salt comes from the server secret, not from chance:
		 * the same at every start, as a stored hash is, so clients
		 * that remember the setting of their first login
		 * (client_trust.c) are not refused after a restart, and a
		 * reload that leaves the password alone leaves the user
		 * alone. The space keeps it apart from the fake salts: no
		 * username holds one.
		 */
		char name[PROTO_MAX_USER + 16];

		(void)snprintf(name, sizeof(name), " plaintext %s",
		    cu->username);
		if (auth_fake_setting(s->secret, s->fake_template, name,
		    u->setting, sizeof(u->setting)) == -1 ||
		    auth_crypt(cu->password, u->setting, hash,
		    sizeof(hash)) == -1) {
			log_error("hashing the password of '%s': %s",
			    cu->username, strerror(errno));
			auth_wipe(hash, sizeof(hash));
			return -1;
		}
		stored = hash;
	} else {
		stored = cu->password;
	}
	if (auth_setting_from_hash(stored, u->setting, sizeof(u->setting),
	    err, sizeof(err)) == -1) {
		log_error("user '%s': %s", cu->username, err);
		auth_wipe(hash, sizeof(hash));
		return -1;
	}
	auth_derive_keys(stored, NULL, &u->keys);
	auth_wipe(hash, sizeof(hash));
	auth_wipe(cu->password, strlen(cu->password));
	return 0;
}

/* Derives the login material of every user once, at start-up. */
static int
prepare_users(struct srv *s)
{
	size_t i;

	/*
	 * Unknown users get the family, cost and salt length of what
	 * --hash-password writes, the most likely setting of a real user;
	 * users[0]'s told whoever knew it apart from everyone else.
	 */
	if (auth_default_setting(s->fake_template,
	    sizeof(s->fake_template)) == -1) {
		log_error("making the unknown users' setting: %s",
		    strerror(errno));
		return -1;
	}
	s->users = calloc(s->cfg->nusers, sizeof(*s->users));
	if (s->users == NULL) {
		log_error("out of memory");
		return -1;
	}
	for (i = 0; i < s->cfg->nusers; i++) {
		if ((s->users[i] = calloc(1, sizeof(*s->users[i]))) == NULL) {
			log_error("out of memory");
			return -1;
		}
		s->nusers++;
		if (srv_user_prepare(s, s->users[i], &s->cfg->users[i], NULL,
		    s->cfg->path != NULL ? s->cfg->path : "config") == -1)
			return -1;
	}
	return 0;
}

int
srv_listener_open(struct srv *s, struct srv_listener *li, int port,
    struct srv_user *u)
{
	int fd;

	fd = net_listen(NULL, port, SRV_BACKLOG);
	if (fd == -1)
		return -1;
	/*
	 * Accepted sockets inherit TCP_NODELAY and the keepalive settings
	 * from the listener: set once here instead of 6 calls per visitor.
	 */
	if (net_nodelay(fd) == -1 ||
	    sys_tcp_keepalive(fd, SRV_KEEPIDLE_S, 5, 3) == -1)
		log_warn("socket options on port %d", port);
	li->srv = s;
	li->user = u;
	li->port = net_local_port(fd);
	loop_handler_init(&li->h, fd, listener_cb);
	loop_timer_init(&li->pause, listener_resume);
	if (loop_update(s->loop, &li->h, LOOP_IN) == -1) {
		int e = errno;

		(void)close(fd);
		li->h.fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

int
srv_listener_take(struct srv *s, struct srv_listener *to,
    struct srv_listener *from)
{
	int fd = from->h.fd;

	loop_timer_cancel(s->loop, &from->pause);
	loop_remove(s->loop, &from->h);
	from->h.fd = -1;
	to->srv = s;
	to->port = from->port;
	loop_handler_init(&to->h, fd, listener_cb);
	loop_timer_init(&to->pause, listener_resume);
	if (loop_update(s->loop, &to->h, LOOP_IN) == -1) {
		(void)close(fd);
		to->h.fd = -1;
		return -1;
	}
	return 0;
}

void
srv_listener_close(struct srv *s, struct srv_listener *li)
{
	if (li->h.fd == -1)
		return;
	loop_timer_cancel(s->loop, &li->pause);
	loop_remove(s->loop, &li->h);
	(void)close(li->h.fd);
	li->h.fd = -1;
}

int
srv_init(struct srv *s, struct loop *l, struct cfg_server *cfg,
    const uint8_t secret[PROTO_KEY_LEN], int no_splice)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->loop = l;
	s->cfg = cfg;
	s->main.h.fd = -1;
	s->orphan.h.fd = -1;
	s->http.h.fd = -1;
	s->http.front = SRV_FRONT_HTTP;
	s->https.h.fd = -1;
	s->https.front = SRV_FRONT_HTTPS;
	s->orphan.srv = s;
	s->orphan.gone = 1;
	LIST_INIT(&s->sessions);
	LIST_INIT(&s->conns);
	TAILQ_INIT(&s->addrs);
	TAILQ_INIT(&s->first_frame);
	TAILQ_INIT(&s->first_frame_known);
	LIST_INIT(&s->visitors);
	TAILQ_INIT(&s->front);
	s->bctx.loop = l;
	s->bctx.no_splice = no_splice;
	s->bctx.budget = (size_t)cfg->pipe_memory_mb << 20;
	s->bctx.pipes = pipe_pool_new(SRV_PIPES_SPARE, PIPE_SIZE);
	if (s->bctx.pipes == NULL) {
		log_error("pipe pool: %s", strerror(errno));
		return -1;
	}
	memcpy(s->secret, secret, sizeof(s->secret));
	if (sys_random(&s->rng, sizeof(s->rng)) == -1) {
		log_error("no random bytes: %s", strerror(errno));
		return -1;
	}
	s->rng |= 1;	/* xorshift must not start at 0 */
	if (cfg->transport == CFG_TRANSPORT_TLS) {
		char err[512];

		/* Unreadable files fail just below, with the reason. */
		(void)srv_tls_files_get(cfg->tls_cert, cfg->tls_key,
		    &s->tls_files);
		s->tls = tls_server_ctx(cfg->tls_cert, cfg->tls_key, err,
		    sizeof(err));
		if (s->tls == NULL) {
			log_error("%s", err);
			return -1;
		}
	}
	addrmap_init(&s->visitor_addrs, s->rng);
	if (prepare_users(s) == -1)
		return -1;
	srv_hosts_index(s);
	if (srv_listener_open(s, &s->main, cfg->port, NULL) == -1) {
		log_error("cannot listen on port %d: %s", cfg->port,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < s->nusers; i++) {
		struct srv_user *u = s->users[i];

		if (u->cfg->port == 0)
			continue;
		if ((u->listener = calloc(1, sizeof(*u->listener))) == NULL) {
			log_error("out of memory");
			return -1;
		}
		u->listener->h.fd = -1;
		if (srv_listener_open(s, u->listener, u->cfg->port, u) == -1) {
			log_error("cannot listen on port %d (user '%s'): %s",
			    u->cfg->port, u->cfg->username, strerror(errno));
			return -1;
		}
	}
	if (cfg->http_port != 0 &&
	    srv_listener_open(s, &s->http, cfg->http_port, NULL) == -1) {
		log_error("cannot listen on port %d (http_port): %s",
		    cfg->http_port, strerror(errno));
		return -1;
	}
	if (cfg->http_port != 0)
		log_info("http_port %d: visitors are routed by the names of "
		    "*.%s they ask for", s->http.port, cfg->domain);
	if (cfg->https_port != 0) {
		if (srv_front_certs_load(cfg, &s->certs) == -1)
			return -1;
		if (srv_listener_open(s, &s->https, cfg->https_port,
		    NULL) == -1) {
			log_error("cannot listen on port %d (https_port): %s",
			    cfg->https_port, strerror(errno));
			return -1;
		}
		log_info("https_port %d: visitors are routed by the names of "
		    "*.%s they ask for (%zu certificate%s)", s->https.port,
		    cfg->domain, s->certs.n, s->certs.n == 1 ? "" : "s");
	}
	if (srv_acme_init(s) == -1)
		return -1;
	s->stats.started_s = (int64_t)time(NULL);
	if (cfg->metrics_listen != NULL &&
	    srv_metrics_open(s, cfg->metrics_listen, &s->metrics) == -1) {
		log_error("cannot listen on %s (metrics_listen): %s",
		    cfg->metrics_listen, strerror(errno));
		return -1;
	}
	loop_timer_init(&s->sweep, sweep_cb);
	loop_timer_set(l, &s->sweep, SRV_SWEEP_MS);
	loop_timer_init(&s->trim, trim_cb);
	loop_timer_init(&s->grace, grace_cb);
	return 0;
}

/*
 * Out of descriptors. Visitors waiting for a proxy connection hold fds the
 * client's replacement connections need to get in, so waiting could only
 * end in timeouts: the newest waiters are turned away at once (502), and
 * accepting resumes shortly for the connections queued behind them.
 * With nobody to shed, accepting pauses instead of spinning.
 */
static void
accept_exhausted(struct srv *s, struct srv_listener *li)
{
	size_t shed = srv_visitor_shed(s, SRV_SHED_BATCH);
	uint64_t pause = shed > 0 ? SRV_SHED_PAUSE_MS : SRV_ACCEPT_PAUSE_MS;

	/* Spare pipes are descriptors too: a starved process needs them. */
	pipe_pool_trim(s->bctx.pipes);
	log_warn("accept on port %d: turned away %zu waiting visitors, "
	    "pausing %llu ms", li->port, shed, (unsigned long long)pause);
	(void)loop_update(s->loop, &li->h, 0);
	loop_timer_set(s->loop, &li->pause, pause);
}

static void
listener_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct srv_listener *li = container_of(h, struct srv_listener, h);
	struct srv *s = li->srv;
	struct sockaddr_storage addr;
	char peer[NET_ADDRSTRLEN];
	int fd, n;

	(void)l;
	(void)events;
	/* A bounded batch keeps one busy port from starving the rest. */
	for (n = 0; n < 256; n++) {
		fd = net_accept(h->fd, &addr, NULL);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN)
				return;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				accept_exhausted(s, li);
				return;
			}
			log_warn("accept on port %d", li->port);
			return;
		}
		if (s->stopping) {
			(void)close(fd);
			continue;
		}
		(void)sys_tcp_keepidle(fd, net_jitter(SRV_KEEPIDLE_S, &s->rng));
		if (li->user != NULL || li->front != SRV_FRONT_NONE) {
			(void)net_addr_str(&addr, peer, sizeof(peer));
			srv_visitor_new(s, li, fd, &addr, peer, NULL, 0, 0);
		} else {
			srv_conn_accept(s, li, fd, &addr);
		}
	}
}

static void
listener_resume(struct loop *l, struct timer *t)
{
	struct srv_listener *li = container_of(t, struct srv_listener, pause);

	if (li->h.fd != -1 && loop_update(l, &li->h, LOOP_IN) == -1)
		log_warn("epoll: resuming port %d", li->port);
}

struct srv_session *
srv_route(struct srv *s, struct srv_listener *li)
{
	struct srv_session *ss, *best = NULL;

	if (li->gone)
		return NULL;
	if (li->user != NULL)
		return li->user->session;
	LIST_FOREACH(ss, &s->sessions, entry) {
		if (ss->state != SRV_SESSION_READY ||
		    ss->user->listener != NULL)
			continue;
		if (best == NULL || ss->login_seq > best->login_seq)
			best = ss;
	}
	return best;
}

static int
host_cmp(const void *a, const void *b)
{
	return strcmp(((const struct srv_host *)a)->name,
	    ((const struct srv_host *)b)->name);
}

void
srv_hosts_index(struct srv *s)
{
	size_t i, j, n = 0;

	free(s->hosts);
	s->hosts = NULL;
	s->nhosts = 0;
	for (i = 0; i < s->nusers; i++)
		n += s->users[i]->cfg->nhosts;
	if (n == 0)
		return;
	if ((s->hosts = calloc(n, sizeof(*s->hosts))) == NULL) {
		log_warn("host index (the front walks the users instead)");
		return;
	}
	for (i = 0; i < s->nusers; i++)
		for (j = 0; j < s->users[i]->cfg->nhosts; j++) {
			s->hosts[s->nhosts].name = s->users[i]->cfg->hosts[j];
			s->hosts[s->nhosts++].user = s->users[i];
		}
	qsort(s->hosts, s->nhosts, sizeof(*s->hosts), host_cmp);
}

/* The user whose hosts hold host: a binary search, or a walk. */
static struct srv_user *
host_user(struct srv *s, const char *host)
{
	struct srv_host key, *h;
	size_t i, j;

	if (s->hosts != NULL) {
		key.name = host;
		h = bsearch(&key, s->hosts, s->nhosts, sizeof(*s->hosts),
		    host_cmp);
		return h != NULL ? h->user : NULL;
	}
	for (i = 0; i < s->nusers; i++)
		for (j = 0; j < s->users[i]->cfg->nhosts; j++)
			if (strcmp(s->users[i]->cfg->hosts[j], host) == 0)
				return s->users[i];
	return NULL;
}

struct srv_user *
srv_route_host(struct srv *s, const char *host, struct srv_session **ssp,
    char *why, size_t whylen)
{
	struct srv_user *u;
	struct srv_session *ss;

	*ssp = NULL;
	if ((u = host_user(s, host)) == NULL)
		return NULL;
	/*
	 * Whether the session serves host is asked at dispatch: a client
	 * that just logged in names its services right after WELCOME, and a
	 * visitor routed meanwhile (its previous session was replaced) waits
	 * for the new pool like any other.
	 */
	ss = u->session;
	if (ss == NULL || ss->state != SRV_SESSION_READY)
		(void)snprintf(why, whylen, "no tunnel client is online for "
		    "%s", host);
	else
		*ssp = ss;
	return u;
}

int
srv_session_service(const struct srv_session *ss, const char *host)
{
	size_t i;

	for (i = 0; i < ss->nservices; i++)
		if (ss->services[i] != NULL && strcmp(ss->services[i],
		    host) == 0)
			return (int)i + 1;
	return 0;
}

struct srv_user *
srv_user_find(struct srv *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nusers; i++)
		if (strcmp(s->users[i]->cfg->username, name) == 0)
			return s->users[i];
	return NULL;
}

/*
 * Why forgetting is safe. Refusing everyone once the table was full let
 * 4,096 failed logins from as many addresses (a /52 of IPv6) lock the
 * real client out for the 15 minutes failures are remembered. What a
 * forgotten record held is only its address's failure count, so the one
 * who gains is an attacker rotating through more than SRV_MAX_ADDRS
 * addresses, whose own slowdown restarts: its guesses are still bounded
 * by SRV_MAX_LOGINS in progress at once however many addresses it has,
 * each costs it a crypt(3) of the user's real setting, and the first
 * failure from an address was answered at once anyway. A record with a
 * login in progress is never forgotten (that connection points at it);
 * there are at most SRV_MAX_LOGINS of those, fewer than SRV_MAX_ADDRS,
 * so a full table always has one to forget.
 */
_Static_assert(SRV_MAX_ADDRS > SRV_MAX_LOGINS,
    "a full address table must hold a record with no login in progress");

static void
addr_forget_oldest(struct srv *s)
{
	struct srv_addr *a;

	TAILQ_FOREACH_REVERSE(a, &s->addrs, srv_addr_list, entry)
		if (a->logins == 0)
			break;
	if (a == NULL)
		return;		/* cannot happen: see the assertion above */
	TAILQ_REMOVE(&s->addrs, a, entry);
	free(a);
	s->naddrs--;
}

struct srv_addr *
srv_addr_get(struct srv *s, const struct sockaddr_storage *ss)
{
	struct srv_addr *a;
	uint8_t ip[16];

	memset(ip, 0, sizeof(ip));
	if (ss->ss_family == AF_INET6) {
		memcpy(ip, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	} else if (ss->ss_family == AF_INET) {
		/* Store IPv4 as v4-mapped so both forms meet. */
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	}
	/* One host has a /64 to pick from: count the /64. */
	if (!(ip[10] == 0xff && ip[11] == 0xff && ip[0] == 0 && ip[8] == 0))
		memset(ip + 8, 0, 8);
	TAILQ_FOREACH(a, &s->addrs, entry)
		if (memcmp(a->ip, ip, sizeof(ip)) == 0)
			break;
	if (a != NULL) {
		TAILQ_REMOVE(&s->addrs, a, entry);
	} else {
		if (s->naddrs >= SRV_MAX_ADDRS)
			addr_forget_oldest(s);
		if ((a = calloc(1, sizeof(*a))) == NULL)
			return NULL;
		memcpy(a->ip, ip, sizeof(ip));
		s->naddrs++;
	}
	TAILQ_INSERT_HEAD(&s->addrs, a, entry);
	return a;
}

void
srv_addr_release(struct srv *s, struct srv_addr *a)
{
	if (a->logins == 0 && a->failures == 0 &&
	    a->hold_until_ms <= loop_now(s->loop)) {
		TAILQ_REMOVE(&s->addrs, a, entry);
		free(a);
		s->naddrs--;
	}
}

static void
sweep_cb(struct loop *l, struct timer *t)
{
	struct srv *s = container_of(t, struct srv, sweep);
	struct srv_addr *a, *next;
	uint64_t now = loop_now(l);

	for (a = TAILQ_FIRST(&s->addrs); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (a->failures > 0 &&
		    now - a->last_failure_ms > SRV_FAILURE_MEMORY_MS)
			a->failures = 0;
		srv_addr_release(s, a);
	}
	loop_timer_set(l, t, SRV_SWEEP_MS);
}

void
srv_visitor_gone(struct srv *s)
{
	s->nvisitors--;
	if (s->nvisitors == 0 && loop_timer_armed(&s->grace)) {
		/* Draining, and the last bridged visitor just finished. */
		loop_timer_cancel(s->loop, &s->grace);
		log_info("every bridged visitor finished: stopping");
		loop_stop(s->loop);
		return;
	}
	if (s->visitors_peak - s->nvisitors >= SRV_TRIM_VISITORS &&
	    !loop_timer_armed(&s->trim))
		loop_timer_set(s->loop, &s->trim, SRV_TRIM_DELAY_MS);
}

/*
 * A crowd of visitors leaves its structs scattered through the heap, and
 * glibc returns only the top of the heap by itself: without this the
 * server would keep its peak footprint for good. malloc_trim also
 * releases the free pages in the middle.
 */
static void
trim_cb(struct loop *l, struct timer *t)
{
	struct srv *s = container_of(t, struct srv, trim);

	(void)l;
	(void)malloc_trim(0);
	log_debug("memory trimmed: %zu visitors open, %zu at the peak",
	    s->nvisitors, s->visitors_peak);
	s->visitors_peak = s->nvisitors;
}

/* Refuses new visitors and closes everything that is not bridged. */
static void
stop_accepting(struct srv *s)
{
	struct srv_visitor *v, *next;
	size_t i;

	s->stopping = 1;
	srv_listener_close(s, &s->main);
	srv_listener_close(s, &s->http);
	srv_listener_close(s, &s->https);
	for (i = 0; i < s->nusers; i++)
		if (s->users[i]->listener != NULL)
			srv_listener_close(s, s->users[i]->listener);
	while (!LIST_EMPTY(&s->conns))
		srv_conn_close(LIST_FIRST(&s->conns), "server stopping");
	/*
	 * A session's end does not touch bridged visitors: their proxy
	 * connections left the session when they were bridged. Its waiting
	 * visitors are routed again and, stopping, get their 502.
	 */
	while (!LIST_EMPTY(&s->sessions))
		srv_session_close(LIST_FIRST(&s->sessions),
		    PROTO_FAIL_SHUTDOWN, "server stopping");
	for (v = LIST_FIRST(&s->visitors); v != NULL; v = next) {
		next = LIST_NEXT(v, all);
		if (v->state != SRV_VISITOR_BRIDGED)
			srv_visitor_close(v, "server stopping");
	}
	loop_timer_cancel(s->loop, &s->sweep);
}

int
srv_drain(struct srv *s)
{
	stop_accepting(s);
	if (s->nvisitors == 0 || s->cfg->shutdown_grace == 0) {
		srv_shutdown(s);
		return 1;
	}
	log_info("no longer accepting; %zu bridged visitor%s may finish "
	    "within %d s", s->nvisitors, s->nvisitors == 1 ? "" : "s",
	    s->cfg->shutdown_grace);
	loop_timer_set(s->loop, &s->grace,
	    (uint64_t)s->cfg->shutdown_grace * 1000);
	return 0;
}

static void
grace_cb(struct loop *l, struct timer *t)
{
	struct srv *s = container_of(t, struct srv, grace);

	log_info("shutdown_grace of %d s is over: resetting %zu bridged "
	    "visitor%s", s->cfg->shutdown_grace, s->nvisitors,
	    s->nvisitors == 1 ? "" : "s");
	srv_shutdown(s);
	loop_stop(l);
}

void
srv_shutdown(struct srv *s)
{
	loop_timer_cancel(s->loop, &s->grace);
	stop_accepting(s);
	/* What stop_accepting() let finish is reset now. */
	while (!LIST_EMPTY(&s->visitors))
		srv_visitor_close(LIST_FIRST(&s->visitors), "server stopping");
	loop_timer_cancel(s->loop, &s->trim);
	metrics_http_free(s->metrics);
	s->metrics = NULL;
}

void
srv_free(struct srv *s)
{
	struct srv_addr *a;
	size_t i;

	while ((a = TAILQ_FIRST(&s->addrs)) != NULL) {
		TAILQ_REMOVE(&s->addrs, a, entry);
		free(a);
	}
	s->naddrs = 0;
	for (i = 0; i < s->nusers; i++) {
		free(s->users[i]->listener);
		auth_wipe(&s->users[i]->keys, sizeof(s->users[i]->keys));
		auth_wipe(s->users[i]->plain_id,
		    sizeof(s->users[i]->plain_id));
		free(s->users[i]);
	}
	free(s->users);
	s->users = NULL;
	s->nusers = 0;
	addrmap_free(&s->visitor_addrs);
	pipe_pool_free(s->bctx.pipes);
	tls_ctx_free(s->tls);
	srv_acme_free(s);
	srv_front_certs_free(&s->certs);
	free(s->hosts);
	s->hosts = NULL;
	s->tls = NULL;
	auth_wipe(s->secret, sizeof(s->secret));
}
