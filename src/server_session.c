/*
 * server_session: one logged-in client. The control connection carries
 * heartbeats both ways; the session owns the client's idle proxy
 * connections and the visitors waiting for one.
 *
 * A REGISTER is accepted only with a MAC under this session's key over the
 * session id and a counter the session has not seen: counters may arrive
 * far out of order (the client dials in parallel, and a REGISTER may wait
 * in a long accept queue), so a window of AUTH_WINDOW counters below the
 * highest records which were used, and anything older is refused. Nothing
 * captured can add a connection.
 *
 * A new login of the same user replaces the old session. The old one's
 * clean-up checks that the user still points at it before unlinking, so it
 * never touches its successor; its waiting visitors are routed again.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frameio.h"
#include "log.h"
#include "server.h"
#include "sys.h"

static void	session_cb(struct loop *, struct handler *, uint32_t);
static void	session_heartbeat(struct loop *, struct timer *);
static void	proxy_cb(struct loop *, struct handler *, uint32_t);

static void
session_update(struct srv_session *ss)
{
	uint32_t mask = LOOP_IN | (ss->out.len ? LOOP_OUT : 0);

	if (loop_update(ss->srv->loop, &ss->h, mask) == -1) {
		log_warn("session %llu: epoll", (unsigned long long)ss->id);
		srv_session_close(ss, 0, "epoll failed");
	}
}

static int
session_flush(struct srv_session *ss)
{
	if (outbuf_flush(&ss->out, ss->h.fd, ss->tls) == -1) {
		srv_session_close(ss, 0, ss->tls != NULL ? tls_error(ss->tls) :
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
srv_session_send(struct srv_session *ss, const struct proto_msg *m)
{
	if (outbuf_frame(&ss->out, m) == -1) {
		/* A client that reads nothing fills our buffer: it is dead. */
		srv_session_close(ss, 0, "control connection not draining");
		return -1;
	}
	if (session_flush(ss) == -1)
		return -1;
	session_update(ss);
	return ss->state == SRV_SESSION_READY ? 0 : -1;
}

static void
free_session(void *arg)
{
	struct srv_session *ss = arg;
	size_t i;

	for (i = 0; i < ss->nservices; i++) {
		free(ss->services[i]);
		free(ss->asked[i]);
	}
	ss->magic = 0;
	free(ss);
}

struct srv_session *
srv_session_new(struct srv *s, struct srv_user *u, int fd, struct tls *t,
    const struct sockaddr_storage *peer_addr, const char *peer,
    const uint8_t client_key[PROTO_KEY_LEN],
    const uint8_t *am, size_t amlen)
{
	struct srv_session *ss, *old;
	struct proto_msg m;
	char local[NET_ADDRSTRLEN], *colon;
	int port;

	if ((ss = calloc(1, sizeof(*ss))) == NULL) {
		tls_free(t);
		(void)close(fd);
		return NULL;
	}
	ss->magic = SRV_MAGIC_SESSION;
	ss->srv = s;
	ss->user = u;
	ss->id = ++s->next_id;
	ss->login_seq = ++s->login_seq;
	ss->last_rx_ms = loop_now(s->loop);
	(void)snprintf(ss->peer, sizeof(ss->peer), "%s", peer);
	(void)addrmap_key(peer_addr, ss->peer_key);
	LIST_INIT(&ss->idle);
	TAILQ_INIT(&ss->waiting);
	LIST_INIT(&ss->recalls);
	outbuf_init(&ss->out, ss->outmem, sizeof(ss->outmem));
	loop_handler_init(&ss->h, fd, session_cb);
	ss->tls = t;
	loop_timer_init(&ss->heartbeat, session_heartbeat);
	if (sys_random(ss->sid, sizeof(ss->sid)) == -1) {
		tls_free(t);
		(void)close(fd);
		free(ss);
		return NULL;
	}
	auth_session_key(client_key, am, amlen, ss->key);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_WELCOME;
	auth_server_signature(&u->keys, am, amlen, m.u.welcome.signature);
	memcpy(m.u.welcome.session_id, ss->sid, PROTO_SID_LEN);
	/* Kept: a reload's new pool_size is for logins after it. */
	ss->pool_size = s->cfg->pool_size;
	m.u.welcome.pool_size = (uint16_t)ss->pool_size;
	m.u.welcome.heartbeat_s = SRV_HEARTBEAT_S;
	port = u->listener != NULL ? u->listener->port : s->main.port;
	m.u.welcome.public_port = (uint16_t)port;
	/* Our address as the client reached us, with the public port. */
	(void)net_local_str(fd, local, sizeof(local));
	if ((colon = strrchr(local, ':')) != NULL)
		*colon = '\0';
	(void)snprintf(m.u.welcome.public_addr,
	    sizeof(m.u.welcome.public_addr), "%s:%d", local, port);

	old = u->session;
	u->session = ss;
	LIST_INSERT_HEAD(&s->sessions, ss, entry);
	ss->state = SRV_SESSION_READY;
	log_info("session %llu %s: user '%s' logged in; visitors on port %d "
	    "go to it (pool %d)%s", (unsigned long long)ss->id, ss->peer,
	    u->cfg->username, port, s->cfg->pool_size,
	    old != NULL ? ", replacing its previous session" : "");
	if (old != NULL) {
		char why[128];

		(void)snprintf(why, sizeof(why), "replaced by a new login "
		    "from %s", peer);
		srv_session_close(old, PROTO_FAIL_REPLACED, why);
	}
	(void)sys_tcp_user_timeout(fd, 30000);
	loop_timer_set(s->loop, &ss->heartbeat,
	    SRV_HEARTBEAT_S * 1000);
	if (srv_session_send(ss, &m) == -1)
		return ss;	/* closed and logged; the fd is gone with it */
	return ss;
}

static void
proxy_free(void *arg)
{
	struct srv_proxy *p = arg;

	p->magic = 0;
	free(p);
}

/*
 * Unlinks p from its session; closes its fd unless keep_fd. A kept fd
 * stays registered with p->h, for its taker to adopt (loop_handover);
 * proxy_cb ignores events from then on.
 */
static int
proxy_remove(struct srv_proxy *p, int keep_fd)
{
	struct srv_session *ss = p->session;
	int fd = p->h.fd;

	LIST_REMOVE(p, entry);
	ss->nidle--;
	p->session = NULL;
	if (!keep_fd) {
		loop_close(ss->srv->loop, &p->h);
		tls_free(p->tls);
		fd = -1;
	}
	p->tls = NULL;
	(void)loop_defer(ss->srv->loop, proxy_free, p);
	return fd;
}

int
srv_session_take_proxy(struct srv_session *ss, uint64_t *proxy_id,
    uint64_t *counter, struct handler **h, struct tls **t)
{
	struct srv_proxy *p = LIST_FIRST(&ss->idle);

	if (p == NULL || ss->state != SRV_SESSION_READY)
		return -1;
	*proxy_id = p->id;
	*counter = p->counter;
	*h = &p->h;
	*t = p->tls;
	return proxy_remove(p, 1);
}

void
srv_session_close(struct srv_session *ss, int fail_code, const char *reason)
{
	struct srv *s = ss->srv;
	struct srv_visitor *v;
	struct proto_msg m;

	if (ss->state == SRV_SESSION_DEAD)
		return;
	if (fail_code != 0) {
		/*
		 * Best effort: the client learns why, if it still listens.
		 * One flush: a socket that cannot take it now never will.
		 */
		memset(&m, 0, sizeof(m));
		m.type = PROTO_FAIL;
		m.u.fail.code = (uint8_t)fail_code;
		(void)snprintf(m.u.fail.reason, sizeof(m.u.fail.reason), "%s",
		    reason);
		(void)outbuf_frame(&ss->out, &m);
		(void)outbuf_flush(&ss->out, ss->h.fd, ss->tls);
	}
	ss->state = SRV_SESSION_DEAD;
	log_info("session %llu %s: user '%s' session ended: %s (served %llu "
	    "visitor%s)", (unsigned long long)ss->id, ss->peer,
	    ss->user->cfg->username, reason,
	    (unsigned long long)ss->served, ss->served == 1 ? "" : "s");
	LIST_REMOVE(ss, entry);
	if (ss->user->session == ss)
		ss->user->session = NULL;
	loop_timer_cancel(s->loop, &ss->heartbeat);
	while (!LIST_EMPTY(&ss->idle))
		(void)proxy_remove(LIST_FIRST(&ss->idle), 0);
	loop_close(s->loop, &ss->h);
	tls_free(ss->tls);
	ss->tls = NULL;
	while ((v = TAILQ_FIRST(&ss->waiting)) != NULL)
		srv_visitor_reroute(s, v);
	/* Questions this session can no longer answer. */
	while ((v = LIST_FIRST(&ss->recalls)) != NULL) {
		srv_session_unrecall(v);
		srv_visitor_withdrawn(v, -1);
	}
	auth_wipe(ss->key, sizeof(ss->key));
	(void)loop_defer(s->loop, free_session, ss);
}

int
srv_session_withdraw(struct srv_session *ss, struct srv_visitor *v)
{
	struct proto_msg m;

	if (ss == NULL || ss->state != SRV_SESSION_READY)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_WITHDRAW;
	m.u.withdraw.counter = v->proxy_counter;
	if (srv_session_send(ss, &m) == -1)
		return -1;	/* the session closed; v was not filed yet */
	v->recall_ss = ss;
	LIST_INSERT_HEAD(&ss->recalls, v, recall);
	return 0;
}

void
srv_session_unrecall(struct srv_visitor *v)
{
	if (v->recall_ss == NULL)
		return;
	LIST_REMOVE(v, recall);
	v->recall_ss = NULL;
}

/* The client's answer to WITHDRAW: to the visitor that asked, if any. */
static void
session_withdrawn(struct srv_session *ss, const struct proto_withdraw *w)
{
	struct srv_visitor *v;

	LIST_FOREACH(v, &ss->recalls, recall)
		if (v->proxy_counter == w->counter)
			break;
	if (v == NULL) {
		/* Its visitor left or got STATUS meanwhile: nothing to do. */
		log_debug("session %llu: answer for proxy counter %llu, "
		    "which nobody awaits", (unsigned long long)ss->id,
		    (unsigned long long)w->counter);
		return;
	}
	srv_session_unrecall(v);
	srv_visitor_withdrawn(v, w->taken);
}

/*
 * Fills r, the ROUTE of service i (1..) of ss as the running configuration
 * has it: granted only for a name the user may claim, with a front on.
 */
static void
route_of(const struct srv_session *ss, size_t i, struct proto_msg *r)
{
	const struct srv *s = ss->srv;
	const struct srv_user *u = ss->user;
	const char *asked = ss->asked[i - 1];
	char name[FRONT_MAX_NAME + 2];
	size_t k;

	memset(r, 0, sizeof(*r));
	r->type = PROTO_ROUTE;
	r->u.route.index = (uint8_t)i;
	if (asked == NULL) {
		(void)snprintf(r->u.route.reason, sizeof(r->u.route.reason),
		    "server out of memory");
		return;
	}
	if (s->http.h.fd == -1 && s->https.h.fd == -1) {
		(void)snprintf(r->u.route.reason, sizeof(r->u.route.reason),
		    "this server has no HTTP front (no domain, http_port or "
		    "https_port in its config)");
		return;
	}
	if (cfg_host_name(asked, s->cfg->domain, name) == -1) {
		(void)snprintf(r->u.route.reason, sizeof(r->u.route.reason),
		    "'%.100s' is not a host name", asked);
		return;
	}
	for (k = 0; k < u->cfg->nhosts; k++)
		if (strcmp(u->cfg->hosts[k], name) == 0)
			break;
	if (k == u->cfg->nhosts) {
		(void)snprintf(r->u.route.reason, sizeof(r->u.route.reason),
		    "%.120s is not among the hosts of user %s", name,
		    u->cfg->username);
		return;
	}
	r->u.route.ok = 1;
	if (s->http.h.fd != -1)
		r->u.route.http_port = (uint16_t)s->http.port;
	/* A name acme: serves is ordered now, ahead of its visitors. */
	if (!(ss->svc_flags[i - 1] & PROTO_SERVICE_PASSTHROUGH))
		srv_acme_need(ss->srv, name);
	/* https only where it works: a certificate, or passthrough. */
	if (s->https.h.fd != -1 &&
	    (srv_front_ctx(ss->srv, name) != NULL ||
	    (ss->svc_flags[i - 1] & PROTO_SERVICE_PASSTHROUGH)))
		r->u.route.https_port = (uint16_t)s->https.port;
	(void)snprintf(r->u.route.host, sizeof(r->u.route.host), "%.253s",
	    name);
}

/*
 * Grants or withdraws service i as route_of() says, and tells the client
 * when that changed (always the first time). Return: 0, or -1 once the
 * session is closed.
 */
static int
route_apply(struct srv_session *ss, size_t i, int first)
{
	struct proto_msg r;
	char *old = ss->services[i - 1], *now = NULL;
	int same;

	route_of(ss, i, &r);
	if (r.u.route.ok && (now = strdup(r.u.route.host)) == NULL) {
		memset(&r.u.route, 0, sizeof(r.u.route));
		r.u.route.index = (uint8_t)i;
		(void)snprintf(r.u.route.reason, sizeof(r.u.route.reason),
		    "server out of memory");
	}
	same = (old == NULL && now == NULL) || (old != NULL && now != NULL &&
	    strcmp(old, now) == 0 && ss->told[i - 1].http ==
	    r.u.route.http_port && ss->told[i - 1].https ==
	    r.u.route.https_port);
	free(old);
	ss->services[i - 1] = now;
	if (same && !first)
		return 0;
	ss->told[i - 1].http = r.u.route.http_port;
	ss->told[i - 1].https = r.u.route.https_port;
	if (r.u.route.ok)
		log_info("session %llu %s: user '%s' %sserves %s%s",
		    (unsigned long long)ss->id, ss->peer,
		    ss->user->cfg->username, first ? "" : "now ", now,
		    (ss->svc_flags[i - 1] & PROTO_SERVICE_PASSTHROUGH) ?
		    " (TLS passthrough)" : "");
	else
		log_warnx("session %llu %s: user '%s': service %zu %s: %s",
		    (unsigned long long)ss->id, ss->peer,
		    ss->user->cfg->username, i, first ? "refused" :
		    "withdrawn", r.u.route.reason);
	return srv_session_send(ss, &r);
}

/*
 * SERVICE: the client serves host as service index. Granted only for a
 * name its user may claim, with the front on; either way a ROUTE says so,
 * and a reload may grant or withdraw it later (srv_session_regrant).
 * Return: 0, or -1 once the session is closed.
 */
static int
session_service(struct srv_session *ss, const struct proto_service *sv)
{
	if (sv->index != ss->nservices + 1) {
		srv_session_close(ss, PROTO_FAIL_PROTOCOL, "protocol error: "
		    "SERVICE out of order");
		return -1;
	}
	ss->nservices++;
	ss->asked[sv->index - 1] = strdup(sv->host);	/* NULL: refused */
	ss->svc_flags[sv->index - 1] = sv->flags;
	return route_apply(ss, sv->index, 1);
}

void
srv_session_regrant(struct srv_session *ss)
{
	size_t i;

	for (i = 1; i <= ss->nservices; i++)
		if (ss->state != SRV_SESSION_READY ||
		    route_apply(ss, i, 0) == -1)
			return;
}

static void
session_frame(struct srv_session *ss, const struct proto_msg *m)
{
	struct proto_msg reply;

	switch (m->type) {
	case PROTO_PING:
		memset(&reply, 0, sizeof(reply));
		reply.type = PROTO_PONG;
		reply.u.ping.seq = m->u.ping.seq;
		(void)srv_session_send(ss, &reply);
		break;
	case PROTO_PONG:
		if (m->u.ping.seq == ss->ping_seq && ss->ping_sent_ms != 0) {
			ss->rtt_ms = loop_now(ss->srv->loop) - ss->ping_sent_ms;
			ss->ping_sent_ms = 0;
		}
		break;
	case PROTO_WITHDRAWN:
		session_withdrawn(ss, &m->u.withdraw);
		break;
	case PROTO_SERVICE:
		(void)session_service(ss, &m->u.service);
		break;
	case PROTO_FAIL:
		srv_session_close(ss, 0, "client said goodbye");
		break;
	default:
		log_info("session %llu %s: unexpected %s frame",
		    (unsigned long long)ss->id, ss->peer,
		    proto_type_str(m->type));
		srv_session_close(ss, PROTO_FAIL_PROTOCOL,
		    "protocol error: unexpected frame");
		break;
	}
}

static void
session_read(struct srv_session *ss)
{
	struct proto_msg m;
	enum proto_result r;
	size_t used;
	ssize_t n;

again:
	n = link_recv(ss->h.fd, ss->tls, ss->in + ss->inlen,
	    sizeof(ss->in) - ss->inlen);
	if (n == 0) {
		srv_session_close(ss, 0, "client closed the control connection");
		return;
	}
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			srv_session_close(ss, 0, ss->tls != NULL ?
			    tls_error(ss->tls) : strerror(errno));
		return;
	}
	ss->inlen += (size_t)n;
	ss->last_rx_ms = loop_now(ss->srv->loop);
	while (ss->state == SRV_SESSION_READY) {
		r = proto_decode(ss->in, ss->inlen, &m, &used);
		if (r == PROTO_NEED_MORE)
			break;
		if (r != PROTO_OK) {
			log_info("session %llu %s: %s",
			    (unsigned long long)ss->id, ss->peer,
			    proto_result_str(r));
			srv_session_close(ss, PROTO_FAIL_PROTOCOL,
			    "protocol error");
			return;
		}
		memmove(ss->in, ss->in + used, ss->inlen - used);
		ss->inlen -= used;
		session_frame(ss, &m);
	}
	/* Frames TLS holds already decrypted: epoll will not report them. */
	if (ss->state == SRV_SESSION_READY && ss->tls != NULL &&
	    tls_pending(ss->tls))
		goto again;
}

static void
session_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct srv_session *ss = container_of(h, struct srv_session, h);

	(void)l;
	if (ss->magic != SRV_MAGIC_SESSION)
		fatalx("session: bad magic");
	if (ss->state != SRV_SESSION_READY)
		return;
	if ((events & LOOP_OUT) && session_flush(ss) == -1)
		return;
	if (events & (LOOP_IN | LOOP_ERR | LOOP_HUP))
		session_read(ss);
	if (ss->state == SRV_SESSION_READY)
		session_update(ss);
}

static void
session_heartbeat(struct loop *l, struct timer *t)
{
	struct srv_session *ss = container_of(t, struct srv_session, heartbeat);
	struct proto_msg m;

	if (ss->state != SRV_SESSION_READY)
		return;
	if (loop_now(l) - ss->last_rx_ms >
	    (uint64_t)SRV_HEARTBEAT_S * SRV_DEAD_MISSES * 1000) {
		srv_session_close(ss, 0, "no heartbeat from the client");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PING;
	m.u.ping.seq = ++ss->ping_seq;
	ss->ping_sent_ms = loop_now(l);
	if (srv_session_send(ss, &m) == -1)
		return;
	loop_timer_set(l, t, SRV_HEARTBEAT_S * 1000);
}

struct srv_session *
srv_session_by_id(struct srv *s, uint64_t id)
{
	struct srv_session *ss;

	LIST_FOREACH(ss, &s->sessions, entry)
		if (ss->state == SRV_SESSION_READY && ss->id == id)
			return ss;
	return NULL;
}

void
srv_session_refresh(struct srv_session *ss, const char *why)
{
	struct proto_msg m;
	uint64_t now = loop_now(ss->srv->loop);
	size_t n = ss->nidle;

	/*
	 * Idle connections made at the same time die together (a NAT table
	 * flushed, a laptop on a new network): drop every one, so no other
	 * visitor is sent into the same hole, and ask for a fresh pool. The
	 * replacements are new, so once a second is plenty: within that, the
	 * idle ones are those replacements, and dropping them would only
	 * starve the pool.
	 */
	if (ss->refresh_ms != 0 && now - ss->refresh_ms < SRV_REFRESH_GAP_MS)
		return;
	while (!LIST_EMPTY(&ss->idle))
		(void)proxy_remove(LIST_FIRST(&ss->idle), 0);
	ss->refresh_ms = now;
	log_info("session %llu %s: %s: dropped %zu idle proxy connections, "
	    "asking the client for new ones", (unsigned long long)ss->id,
	    ss->peer, why, n);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_REFRESH;
	(void)srv_session_send(ss, &m);
}

uint64_t
srv_session_ack_ms(const struct srv_session *ss)
{
	/*
	 * The last PING's round trip, or the kernel's smoothed one for the
	 * control connection if larger: there is no PING yet in a session's
	 * first 10 s, and one idle-time sample misses a queue that grew.
	 */
	uint64_t rtt = ss->rtt_ms, krtt = sys_tcp_rtt_ms(ss->h.fd);

	return SRV_ACK_MS + 2 * (krtt > rtt ? krtt : rtt);
}

struct srv_session *
srv_session_find(struct srv *s, const uint8_t sid[PROTO_SID_LEN])
{
	struct srv_session *ss;

	LIST_FOREACH(ss, &s->sessions, entry)
		if (ss->state == SRV_SESSION_READY &&
		    auth_ct_equal(ss->sid, sid, PROTO_SID_LEN))
			return ss;
	return NULL;
}

/*
 * The MAC and the counter come before anything else, and a REGISTER that
 * proves itself has used its counter whatever follows (a full pool, no
 * memory): no answer leaves its bytes worth replaying. Nothing here, nor
 * on the way here (server_conn.c), depends on other connections' logins.
 */
int
srv_session_register(struct srv *s, struct handler *from, struct tls *t,
    const uint8_t *bind, size_t bindlen, const char *peer,
    const struct proto_register *r, const char **why, int *code)
{
	struct srv_session *ss;
	struct srv_proxy *p;
	uint8_t mac[PROTO_KEY_LEN];

	ss = srv_session_find(s, r->session_id);
	*code = PROTO_FAIL_SESSION;
	if (ss == NULL) {
		*why = "no such session";
		return -1;
	}
	auth_proxy_mac(ss->key, ss->sid, r->counter, bind, bindlen, mac);
	if (!auth_ct_equal(mac, r->mac, sizeof(mac))) {
		*why = "bad proof for this session";
		return -1;
	}
	if (auth_window_take(&ss->counters, r->counter) == -1) {
		*why = "replayed registration";
		return -1;
	}
	if (ss->nidle >= (size_t)ss->pool_size) {
		*code = PROTO_FAIL_POOL_FULL;
		*why = "pool is full";
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		*code = PROTO_FAIL_BUSY;
		*why = "out of memory";
		return -1;
	}
	p->magic = SRV_MAGIC_PROXY;
	p->session = ss;
	p->id = ++s->next_id;
	p->counter = r->counter;
	p->tls = t;
	loop_handler_init(&p->h, from->fd, proxy_cb);
	if (loop_handover(s->loop, from, &p->h, LOOP_IN | LOOP_RDHUP) == -1) {
		free(p);
		*code = PROTO_FAIL_BUSY;
		*why = "epoll failed";
		return -1;
	}
	/* Keepalive and NODELAY were set when the handshake began. */
	LIST_INSERT_HEAD(&ss->idle, p, entry);
	ss->nidle++;
	log_debug("session %llu: proxy %llu from %s pooled (%zu idle)",
	    (unsigned long long)ss->id, (unsigned long long)p->id, peer,
	    ss->nidle);
	srv_visitor_wake(ss);
	return 0;
}

static void
proxy_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct srv_proxy *p = container_of(h, struct srv_proxy, h);
	uint8_t b;
	ssize_t n;

	(void)l;
	(void)events;
	if (p->magic != SRV_MAGIC_PROXY)
		fatalx("proxy: bad magic");
	if (p->session == NULL)
		return;		/* taken or closed earlier in this batch */
	/* An idle proxy connection says nothing: anything here ends it. */
	n = recv(h->fd, &b, 1, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	log_debug("session %llu: idle proxy %llu %s",
	    (unsigned long long)p->session->id, (unsigned long long)p->id,
	    n == 0 ? "closed by the client" : n > 0 ? "sent bytes" :
	    "failed");
	(void)proxy_remove(p, 0);
}
