/*
 * client_pool: the pre-dialed proxy connections of tunnel-client.
 *
 * CONNECTING -> (TLS ->) IDLE (preamble + REGISTER sent) -> DIAL_LOCAL
 * (START read) -> bridged. Over TLS, a proxy connection must show the key
 * the control connection trusted (a refill resumes a session ticket, so
 * it costs no signature), and its REGISTER's MAC covers its own
 * tls-exporter value: captured bytes prove nothing on another connection. The pool counts CONNECTING and IDLE connections and keeps
 * them at the server's pool size; a connection that takes a visitor is
 * replaced at once, before the local dial finishes, so long-lived visitors
 * (WebSockets) never drain the pool.
 *
 * A local dial that has not finished CLI_ACCEPT_MS after START is announced
 * with ACCEPTED, so the server knows this connection is alive (it gives up
 * on a proxy that stays silent for a second after START). A fast dial's
 * STATUS says the same, so the common case costs nothing.
 *
 * On an idle connection exactly one frame is read, header first and then
 * exactly its payload, because the visitor's bytes follow START on the same
 * socket and must reach the local service untouched, through the bridge.
 * Connections that fail without serving anyone (refused registration,
 * server gone) slow the refill down, so a broken server is not hammered.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "sys.h"

static void	proxy_cb(struct loop *, struct handler *, uint32_t);
static void	proxy_close(struct cli_proxy *);
static void	local_cb(struct loop *, struct handler *, uint32_t);
static void	proxy_timer(struct loop *, struct timer *);
static void	dial_local(struct cli_proxy *);

/* Records whether the proxy registered with counter k read START. */
static void
took_mark(struct cli *c, uint64_t k, int took)
{
	uint64_t i = k % CLI_TOOK_WINDOW, bit = 1ull << (i % 64);

	if (took)
		c->took[i / 64] |= bit;
	else
		c->took[i / 64] &= ~bit;
}

int
cli_pool_withdraw(struct cli *c, uint64_t k)
{
	struct cli_proxy *p;
	uint64_t i = k % CLI_TOOK_WINDOW;

	/* Unknown or forgotten: say "taken", the answer that never harms. */
	if (k == 0 || k > c->counter || c->counter - k >= CLI_TOOK_WINDOW)
		return 1;
	LIST_FOREACH(p, &c->proxies, entry) {
		if (p->counter != k || p->epoch != c->epoch)
			continue;
		if (p->state != CLI_PROXY_IDLE)
			return 1;
		/*
		 * START may be in its socket, unread: closing it makes sure
		 * it is never read, so the server may send the visitor on.
		 */
		log_info("proxy connection %llu: withdrawn by the server "
		    "before it carried a visitor", (unsigned long long)k);
		proxy_close(p);
		cli_pool_fill(c);
		return 0;
	}
	return (int)((c->took[i / 64] >> (i % 64)) & 1);
}

static void
proxy_free(void *arg)
{
	struct cli_proxy *p = arg;

	p->magic = 0;
	free(p);
}

static int
counts_in_pool(const struct cli_proxy *p)
{
	return p->state == CLI_PROXY_CONNECTING || p->state == CLI_PROXY_TLS ||
	    p->state == CLI_PROXY_IDLE;
}

/* Closes p and whatever sockets it still holds. */
static void
proxy_close(struct cli_proxy *p)
{
	struct cli *c = p->cli;

	if (p->state == CLI_PROXY_DEAD)
		return;
	if (counts_in_pool(p))
		c->npool--;
	p->state = CLI_PROXY_DEAD;
	LIST_REMOVE(p, entry);
	loop_timer_cancel(c->loop, &p->timer);
	loop_close(c->loop, &p->h);
	tls_free(p->tls);
	p->tls = NULL;
	loop_close(c->loop, &p->local);
	(void)loop_defer(c->loop, proxy_free, p);
}

void
cli_pool_failed(struct cli *c)
{
	uint64_t delay;

	c->refill_failures++;
	delay = (uint64_t)CLI_REFILL_MIN_MS << (c->refill_failures < 6 ?
	    c->refill_failures : 6);
	if (delay > CLI_REFILL_MAX_MS)
		delay = CLI_REFILL_MAX_MS;
	if (!loop_timer_armed(&c->refill))
		loop_timer_set(c->loop, &c->refill, delay);
}

static void
proxy_dial(struct cli *c)
{
	struct cli_proxy *p;
	int fd;

	fd = net_connect(&c->server_addr, c->server_addrlen);
	if (fd == -1) {
		log_warn("proxy connection to %s", c->cfg->server_addr);
		cli_pool_failed(c);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		(void)sys_close(fd);
		cli_pool_failed(c);
		return;
	}
	p->magic = CLI_MAGIC_PROXY;
	p->cli = c;
	p->epoch = c->epoch;
	p->state = CLI_PROXY_CONNECTING;
	loop_handler_init(&p->h, fd, proxy_cb);
	loop_handler_init(&p->local, -1, local_cb);
	loop_timer_init(&p->timer, proxy_timer);
	LIST_INSERT_HEAD(&c->proxies, p, entry);
	c->npool++;
	loop_timer_set(c->loop, &p->timer,
	    (uint64_t)c->cfg->connect_timeout * 1000);
	if (loop_update(c->loop, &p->h, LOOP_OUT) == -1) {
		log_warn("epoll");
		proxy_close(p);
		cli_pool_failed(c);
	}
}

void
cli_pool_fill(struct cli *c)
{
	if (c->state != CLI_READY || loop_timer_armed(&c->refill))
		return;
	while (c->npool < c->pool_size && !loop_timer_armed(&c->refill))
		proxy_dial(c);
}

void
cli_pool_drop_idle(struct cli *c)
{
	struct cli_proxy *p, *next;

	loop_timer_cancel(c->loop, &c->refill);
	for (p = LIST_FIRST(&c->proxies); p != NULL; p = next) {
		next = LIST_NEXT(p, entry);
		if (counts_in_pool(p))
			proxy_close(p);
	}
}

void
cli_pool_close_proxies(struct cli *c)
{
	loop_timer_cancel(c->loop, &c->refill);
	while (!LIST_EMPTY(&c->proxies))
		proxy_close(LIST_FIRST(&c->proxies));
}

void
cli_pool_close_all(struct cli *c)
{
	cli_pool_close_proxies(c);
	while (!LIST_EMPTY(&c->bridged))
		bridge_close(LIST_FIRST(&c->bridged)->bridge,
		    "client stopping");
}

/* A proxy connection that failed before serving anyone. */
static void
proxy_failed(struct cli_proxy *p, const char *what, const char *why)
{
	struct cli *c = p->cli;

	log_warnx("proxy connection to %s: %s%s%s", c->cfg->server_addr, what,
	    why != NULL ? ": " : "", why != NULL ? why : "");
	proxy_close(p);
	cli_pool_failed(c);
}

/*
 * Sends REGISTER (after the preamble, over plain TCP) and waits for
 * START. bind is the connection's tls-exporter value (none for plain).
 */
static void
send_register(struct cli_proxy *p, const uint8_t *pre, size_t prelen,
    const uint8_t *bind, size_t bindlen)
{
	struct cli *c = p->cli;
	uint8_t buf[PROTO_PREAMBLE_LEN + PROTO_MAX_FRAME];
	struct proto_msg m;
	size_t n = prelen;
	ssize_t w;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTER;
	memcpy(m.u.reg.session_id, c->sid, PROTO_SID_LEN);
	m.u.reg.counter = ++c->counter;
	p->counter = m.u.reg.counter;
	took_mark(c, p->counter, 0);	/* the slot's older counter is gone */
	auth_proxy_mac(c->skey, c->sid, m.u.reg.counter, bind, bindlen,
	    m.u.reg.mac);
	if (prelen > 0)
		memcpy(buf, pre, prelen);
	n += proto_encode(&m, buf + n, sizeof(buf) - n);
	/* A fresh socket's send buffer (or TLS record) takes it whole. */
	w = link_send(p->h.fd, p->tls, buf, n, 0);
	if (w != (ssize_t)n) {
		proxy_failed(p, "registration", w == -1 ? (p->tls != NULL ?
		    tls_error(p->tls) : strerror(errno)) : "short write");
		return;
	}
	/*
	 * TCP keepalive waits until the connection is CLI_KEEPALIVE_MS old:
	 * four calls saved for every visitor of a busy site, gone sooner,
	 * and none lost (its first probe would come 15 s or more from now).
	 */
	p->registered_ms = loop_now(c->loop);
	loop_timer_set(c->loop, &p->timer, CLI_KEEPALIVE_MS);
	p->state = CLI_PROXY_IDLE;
	/* The events a bridge asks for: taking a visitor costs no MOD. */
	if (loop_update(c->loop, &p->h, LOOP_IN | LOOP_RDHUP) == -1) {
		proxy_close(p);
		cli_pool_failed(c);
	}
}

/* The TLS handshake; then the key must be the control connection's. */
static void
proxy_tls(struct cli_proxy *p)
{
	struct cli *c = p->cli;
	uint8_t bind[TLS_EXPORTER_LEN];

	switch (tls_handshake(p->tls)) {
	case 0:
		if (loop_update(c->loop, &p->h, tls_events(p->tls)) == -1)
			proxy_failed(p, "epoll", strerror(errno));
		return;
	case -1:
		proxy_failed(p, "TLS handshake", tls_error(p->tls));
		return;
	}
	if (!cli_trust_proxy(c, p->tls)) {
		proxy_failed(p, "the server's key is not the one the control "
		    "connection trusted", NULL);
		return;
	}
	if (tls_resumed(p->tls))
		log_debug("proxy connection: TLS session resumed");
	tls_trust(p->tls);	/* its tickets may resume later refills */
	if (tls_exporter(p->tls, bind) == -1) {
		proxy_failed(p, "TLS", tls_error(p->tls));
		return;
	}
	send_register(p, NULL, 0, bind, sizeof(bind));
}

static void
proxy_register(struct cli_proxy *p, uint32_t events)
{
	struct cli *c = p->cli;
	uint8_t pre[PROTO_PREAMBLE_LEN];
	int e = (events & (LOOP_ERR | LOOP_HUP)) ?
	    net_connect_result(p->h.fd) : 0;

	if (e != 0) {
		proxy_failed(p, strerror(e), NULL);
		return;
	}
	(void)net_nodelay(p->h.fd);
	if (c->tls_ctx == NULL) {
		/* Preamble and REGISTER in one segment. */
		send_register(p, pre, proto_preamble(pre,
		    PROTO_TRANSPORT_PLAIN), NULL, 0);
		return;
	}
	if (sys_send(p->h.fd, pre, proto_preamble(pre, PROTO_TRANSPORT_TLS),
	    SYS_NOSIGNAL) != PROTO_PREAMBLE_LEN) {
		proxy_failed(p, "preamble", strerror(errno));
		return;
	}
	if ((p->tls = tls_new(c->tls_ctx, p->h.fd)) == NULL) {
		proxy_failed(p, "out of memory", NULL);
		return;
	}
	p->state = CLI_PROXY_TLS;
	proxy_tls(p);
}

/* Keepalive (15 s + jitter, then 5 s, 3 probes) on a proxy connection. */
static void
proxy_keepalive(struct cli *c, int fd)
{
	if (fd != -1 && sys_tcp_keepalive(fd, net_jitter(15, &c->rng), 5, 3) == -1)
		log_warn("proxy connection: keepalive");
}

/* A visitor bridged on a young connection is still here: keepalive now. */
static void
visitor_keepalive(struct loop *l, struct timer *t)
{
	struct cli_visitor *cv = container_of(t, struct cli_visitor, keepalive);

	(void)l;
	proxy_keepalive(cv->cli, bridge_fd(cv->bridge, 0));
}

static void
bridge_closed(struct bridge *b, void *arg, const struct bridge_info *info)
{
	struct cli_visitor *cv = arg;
	struct cli *c = cv->cli;
	uint64_t ms = loop_now(c->loop) - info->started_ms;
	const char *why;

	(void)b;
	loop_timer_cancel(c->loop, &cv->keepalive);
	LIST_REMOVE(cv, entry);
	switch (info->end) {
	case BRIDGE_END_RESET_A:
		why = "reset from the tunnel side";
		break;
	case BRIDGE_END_RESET_B:
		why = "reset by the local service";
		break;
	default:
		why = info->reason ? info->reason : bridge_end_str(info->end);
		break;
	}
	log_info("visitor %llu %s: done after %llu.%03llu s, %llu bytes in, "
	    "%llu bytes out (%s)", (unsigned long long)cv->id, cv->peer,
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
	    (unsigned long long)info->bytes[BRIDGE_AB],
	    (unsigned long long)info->bytes[BRIDGE_BA], why);
	free(cv);
	if (LIST_EMPTY(&c->bridged))
		cli_bridges_done(c);
}

/* The local service answered the dial (or failed). */
static void
local_connected(struct cli_proxy *p, int err)
{
	struct cli *c = p->cli;
	uint8_t frame[PROTO_MAX_FRAME];
	struct proto_msg m;
	struct cli_visitor *cv;
	struct bridge *b;
	size_t n;
	int pfd, lfd, pp;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATUS;
	if (err != 0) {
		const struct cli_local *lo = &c->locals[p->service];

		if (p->unknown)
			(void)snprintf(m.u.status.reason,
			    sizeof(m.u.status.reason), "this tunnel client "
			    "has no such service");
		else if (!lo->set)
			(void)snprintf(m.u.status.reason,
			    sizeof(m.u.status.reason), "this tunnel client "
			    "serves only host names, nothing on this port");
		else
			(void)snprintf(m.u.status.reason,
			    sizeof(m.u.status.reason), "local service %s: %s",
			    lo->desc, strerror(err));
		log_warnx("visitor %llu from %s: %s",
		    (unsigned long long)p->visitor_id, p->visitor,
		    m.u.status.reason);
		m.u.status.ok = 0;
		n = proto_encode(&m, frame, sizeof(frame));
		(void)link_send(p->h.fd, p->tls, frame, n, MSG_DONTWAIT);
		/*
		 * Closing now, with the visitor's bytes unread, would send a
		 * reset that can overtake the answer: shut writing and read
		 * the rest until the server closes.
		 */
		if (p->tls != NULL)
			(void)tls_close_notify(p->tls);
		(void)sys_shutdown(p->h.fd, SHUT_WR);
		if (p->local.fd != -1) {
			loop_remove(c->loop, &p->local);
			(void)sys_close(p->local.fd);
			p->local.fd = -1;
		}
		p->state = CLI_PROXY_DRAIN;
		loop_timer_set(c->loop, &p->timer, CLI_DRAIN_MS);
		if (loop_update(c->loop, &p->h, LOOP_IN) == -1)
			proxy_close(p);
		return;
	}
	m.u.status.ok = 1;
	n = proto_encode(&m, frame, sizeof(frame));
	pfd = p->h.fd;
	lfd = p->local.fd;
	(void)net_nodelay(lfd);
	cv = calloc(1, sizeof(*cv));
	b = cv != NULL ? bridge_new(&c->bctx, pfd, lfd, bridge_closed, cv) :
	    NULL;
	if (b == NULL) {
		log_warnx("visitor %llu: out of memory",
		    (unsigned long long)p->visitor_id);
		free(cv);
		proxy_close(p);		/* still owns both fds */
		return;
	}
	cv->cli = c;
	cv->bridge = b;
	loop_timer_init(&cv->keepalive, visitor_keepalive);
	if (!p->keepalive) {
		uint64_t age = loop_now(c->loop) - p->registered_ms;

		loop_timer_set(c->loop, &cv->keepalive,
		    age < CLI_KEEPALIVE_MS ? CLI_KEEPALIVE_MS - age : 0);
	}
	cv->id = p->visitor_id;
	(void)snprintf(cv->peer, sizeof(cv->peer), "%s", p->visitor);
	LIST_INSERT_HEAD(&c->bridged, cv, entry);
	/*
	 * Both epoll entries move to the bridge: no call for the tunnel
	 * side, whose events stay the same, and an ADD for the local one.
	 * On failure bridge_start() registers the side.
	 */
	(void)bridge_adopt(b, 0, &p->h);
	(void)bridge_adopt(b, 1, &p->local);
	p->h.fd = p->local.fd = -1;	/* the bridge owns them now */
	if (p->tls != NULL) {
		bridge_tls(b, 0, p->tls);
		p->tls = NULL;
	}
	/*
	 * The visitor's first bytes travel in START's segment (the server
	 * corks them together): move them at once rather than after an
	 * epoll round. A service that speaks first costs one splice.
	 */
	bridge_eager(b, BRIDGE_AB);
	/*
	 * STATUS waits (corked, 20 ms at most) for the service's first
	 * bytes, to travel in their segment: one packet less per visitor.
	 */
	bridge_cork(b, BRIDGE_BA);
	/* The PROXY header goes first, before any byte of the visitor's. */
	pp = p->pplen != 0 ? bridge_pending(b, BRIDGE_AB, p->pp, p->pplen) : 0;
	proxy_close(p);
	if (pp == -1 || bridge_pending(b, BRIDGE_BA, frame, n) == -1) {
		bridge_close(b, "out of memory");
		return;
	}
	log_debug("visitor %llu from %s: bridged to %s",
	    (unsigned long long)p->visitor_id, p->visitor,
	    c->locals[p->service].desc);
	(void)bridge_start(b);
}

static void
local_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct cli_proxy *p = container_of(h, struct cli_proxy, local);

	(void)l;
	if (p->magic != CLI_MAGIC_PROXY)
		fatalx("proxy: bad magic");
	if (p->state != CLI_PROXY_DIAL_LOCAL)
		return;
	/* LOOP_OUT alone means connected; SO_ERROR only to say why not. */
	local_connected(p, (events & (LOOP_ERR | LOOP_HUP)) ?
	    net_connect_result(h->fd) : 0);
}

static void
on_start(struct cli_proxy *p, const struct proto_start *st)
{
	struct cli *c = p->cli;

	c->npool--;
	took_mark(c, p->counter, 1);
	p->state = CLI_PROXY_DIAL_LOCAL;
	p->visitor_id = st->visitor_id;
	/* An index we never named gets "no such service" at the dial. */
	p->service = st->service < c->nlocals ? st->service : 0;
	p->unknown = st->service >= c->nlocals;
	(void)log_escape(p->visitor, sizeof(p->visitor), st->peer,
	    strlen(st->peer));
	p->pplen = 0;
	if (c->cfg->proxy_protocol != PROXYPROTO_OFF) {
		int n = proxyproto_header(c->cfg->proxy_protocol, st->peer,
		    st->dst, p->pp, sizeof(p->pp));

		p->pplen = n > 0 ? (size_t)n : 0;
	}
	p->started_ms = loop_now(c->loop);
	c->visitors++;
	c->refill_failures = 0;
	log_debug("visitor %llu from %s: dialing %s",
	    (unsigned long long)p->visitor_id, p->visitor,
	    c->locals[p->service].desc);
	dial_local(p);
	/*
	 * Replace it now, the visitor's bytes being on their way: the pool
	 * stays full whatever this visitor does.
	 */
	cli_pool_fill(c);
}

/* Dials the local service for the visitor that p carries. */
static void
dial_local(struct cli_proxy *p)
{
	struct cli *c = p->cli;
	const struct cli_local *lo = &c->locals[p->service];
	int fd;

	if (!lo->set || p->unknown) {
		local_connected(p, ENOENT);
		return;
	}
	fd = net_connect(&lo->addr, lo->addrlen);
	if (fd == -1) {
		local_connected(p, errno);
		return;
	}
	p->local.fd = fd;
	/*
	 * A service on this host has most likely answered already: for a
	 * loopback connect the kernel runs the whole handshake, both ends,
	 * inside connect(). Asking again costs one call and saves parking
	 * the tunnel side, an epoll round and two epoll_ctl per visitor.
	 */
	if (lo->loopback) {
		if (net_connect_again(fd, &lo->addr, lo->addrlen) ==
		    0) {
			local_connected(p, 0);
			return;
		}
		if (errno != EALREADY && errno != EINPROGRESS) {
			local_connected(p, errno);
			return;
		}
	}
	/*
	 * Stop reading the tunnel side: what follows is the visitor's. The
	 * entry stays, parked (edge-triggered, no events asked), so that
	 * the bridge takes it over with a MOD; a reset meanwhile is
	 * reported once, ignored here, and seen again by the bridge.
	 */
	if (loop_update(c->loop, &p->h, LOOP_ET) == -1) {
		proxy_close(p);
		return;
	}
	loop_timer_set(c->loop, &p->timer, CLI_ACCEPT_MS);
	if (loop_update(c->loop, &p->local, LOOP_OUT) == -1)
		local_connected(p, errno);
}

/* Reads exactly one frame on an idle connection. */
static void
proxy_read(struct cli_proxy *p)
{
	struct cli *c = p->cli;
	struct proto_msg m;
	size_t used;

	/*
	 * START or FAIL: the shortest of them (FAIL, no reason) is 5 bytes,
	 * so asking for 5 first never reads a visitor byte.
	 */
	switch (frame_read(p->h.fd, p->tls, p->in, sizeof(p->in), &p->inlen,
	    PROTO_HDR_LEN + 2)) {
	case FRAME_WHOLE:
		break;
	case FRAME_MORE:
		return;
	case FRAME_BAD:
		log_warnx("proxy connection: oversized frame from the server");
		proxy_close(p);
		cli_pool_failed(c);
		return;
	default:
		log_debug("idle proxy connection closed by the server");
		proxy_close(p);
		if (c->state == CLI_READY && p->epoch == c->epoch)
			cli_pool_failed(c);
		return;
	}
	if (proto_decode(p->in, p->inlen, &m, &used) != PROTO_OK ||
	    used != p->inlen) {
		log_warnx("proxy connection: bad frame from the server");
		proxy_close(p);
		cli_pool_failed(c);
		return;
	}
	p->inlen = 0;
	if (m.type == PROTO_START) {
		on_start(p, &m.u.start);
		return;
	}
	if (m.type == PROTO_FAIL) {
		char esc[PROTO_MAX_REASON * 4 + 1];

		log_warnx("proxy connection refused by the server: %s",
		    log_escape(esc, sizeof(esc), m.u.fail.reason,
		    strlen(m.u.fail.reason)));
	} else {
		log_warnx("proxy connection: unexpected %s frame",
		    proto_type_str(m.type));
	}
	proxy_close(p);
	cli_pool_failed(c);
}

/* After a FAIL answer: drop the visitor's bytes until the server closes. */
static void
proxy_drain(struct cli_proxy *p)
{
	char buf[4096];
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		n = link_recv(p->h.fd, p->tls, buf, sizeof(buf));
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		break;
	}
	if (i < 16)
		proxy_close(p);
}

static void
proxy_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct cli_proxy *p = container_of(h, struct cli_proxy, h);

	(void)l;
	if (p->magic != CLI_MAGIC_PROXY)
		fatalx("proxy: bad magic");
	switch (p->state) {
	case CLI_PROXY_CONNECTING:
		if (events & (LOOP_OUT | LOOP_ERR | LOOP_HUP))
			proxy_register(p, events);
		break;
	case CLI_PROXY_TLS:
		proxy_tls(p);
		break;
	case CLI_PROXY_IDLE:
		if (events & (LOOP_IN | LOOP_ERR | LOOP_HUP))
			proxy_read(p);
		break;
	case CLI_PROXY_DRAIN:
		proxy_drain(p);
		break;
	default:
		break;
	}
}

static void
proxy_timer(struct loop *l, struct timer *t)
{
	struct cli_proxy *p = container_of(t, struct cli_proxy, timer);
	struct cli *c = p->cli;

	(void)l;
	if (p->state == CLI_PROXY_CONNECTING || p->state == CLI_PROXY_TLS) {
		proxy_failed(p, "timed out", NULL);
	} else if (p->state == CLI_PROXY_DIAL_LOCAL && !p->accepted) {
		uint8_t frame[PROTO_HDR_LEN];
		struct proto_msg m;
		uint64_t limit = (uint64_t)c->cfg->connect_timeout * 1000;

		memset(&m, 0, sizeof(m));
		m.type = PROTO_ACCEPTED;
		/* The first write on this socket since REGISTER: it fits. */
		if (proto_encode(&m, frame, sizeof(frame)) != sizeof(frame) ||
		    link_send(p->h.fd, p->tls, frame, sizeof(frame),
		    MSG_DONTWAIT) != (ssize_t)sizeof(frame)) {
			log_warnx("visitor %llu: the tunnel connection failed",
			    (unsigned long long)p->visitor_id);
			proxy_close(p);
			return;
		}
		p->accepted = 1;
		loop_timer_set(c->loop, &p->timer,
		    limit > CLI_ACCEPT_MS ? limit - CLI_ACCEPT_MS : 1);
	} else if (p->state == CLI_PROXY_DIAL_LOCAL) {
		local_connected(p, ETIMEDOUT);
	} else if (p->state == CLI_PROXY_DRAIN) {
		proxy_close(p);
	} else if (p->state == CLI_PROXY_IDLE) {
		proxy_keepalive(c, p->h.fd);
		p->keepalive = 1;
	}
}
