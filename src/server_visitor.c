/*
 * server_visitor: a public connection, from arrival to its close line.
 *
 * WAIT_PROXY: queued on the session routing chose, until the session has an
 * idle proxy connection or connect_timeout runs out. While queued only
 * LOOP_RDHUP is watched, so a visitor that already sent its request does
 * not wake the loop, but one that leaves is dropped at once.
 *
 * BRIDGED: START (and any sniffed bytes) go to the proxy connection ahead of
 * the visitor's own bytes, which are spliced at once. The proxy -> visitor
 * direction is gated until the client's STATUS frame has been read, byte
 * exact, so nothing of the client's reply can reach the visitor early.
 * STATUS FAIL, or no STATUS at all, turns into a "502 Bad Gateway" with the
 * reason for a visitor that spoke HTTP, and a plain close otherwise.
 *
 * An idle pooled connection can be dead without anyone knowing (a NAT
 * entry expired, the laptop changed networks). So until STATUS the bridge
 * keeps a copy of the visitor's bytes. But a visitor is sent elsewhere
 * only once the client has said it never took it: a request must never
 * reach the local service twice, and a slow link looks just like a dead
 * one. A proxy that says nothing for ack_ms after START (a live client
 * says ACCEPTED if its local dial is slow) is asked about at once when
 * the kernel shows START unacknowledged (the connection is dead), or at
 * SRV_ASK_LATE x ack_ms when START reached the next hop (slow, or a dead
 * middlebox); one that closes without answering is asked about at once.
 * The question (WITHDRAW, on the control connection) names the proxy by
 * its REGISTER counter; a client that has not read START there closes it
 * unread and says so, and only then is the visitor dispatched again with
 * its bytes (after a silence, with a fresh pool). Any other answer, or
 * none, means waiting for STATUS until connect_timeout, then a 502.
 *
 * RECALL: the proxy closed unanswered and the question is out; the
 * visitor holds its bytes and waits for the answer.
 *
 * DRAIN: after a 502, the rest of the request is read and dropped for a
 * moment, so the close does not turn into a reset that eats the answer.
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

static void	visitor_cb(struct loop *, struct handler *, uint32_t);
static void	visitor_timer(struct loop *, struct timer *);
static void	visitor_dispatch(struct srv_visitor *, struct srv_session *);
static void	visitor_reject(struct srv_visitor *, enum srv_fail,
		    const char *);
static void	visitor_failed(struct srv_visitor *, enum srv_fail,
		    const char *);
static void	visitor_respond(struct srv_visitor *, enum srv_fail,
		    const char *, const char *);
static void	visitor_fail_count(struct srv_visitor *, enum srv_fail);
static void	front_tls_start(struct srv_visitor *, struct tls_ctx *, int);
static void	visitor_answer_raw(struct srv_visitor *, enum srv_fail,
		    const char *, const char *, const char *, const char *);
static void	visitor_respond_loc(struct srv_visitor *, const char *,
		    const char *);
static void	front_read(struct srv_visitor *);

static const char *const http_methods[] = {
	"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ",
	"CONNECT ", "TRACE ",
};

/* True when the visitor's first bytes are (the start of) an HTTP/1 request. */
static int
looks_like_http(const uint8_t *p, size_t len)
{
	size_t i, m;

	if (len == 0)
		return 0;
	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		m = strlen(http_methods[i]);
		if (memcmp(p, http_methods[i], len < m ? len : m) == 0)
			return 1;
	}
	return 0;
}

static void
free_visitor(void *arg)
{
	struct srv_visitor *v = arg;

	v->magic = 0;
	free(v->replay);
	free(v);
}

/* v no longer reads its head: out of the front's queue. */
static void
front_leave(struct srv_visitor *v)
{
	if (!v->in_front)
		return;
	TAILQ_REMOVE(&v->srv->front, v, entry);
	v->srv->nfront--;
	v->in_front = 0;
}

static void
visitor_log_close(struct srv_visitor *v, const char *reason)
{
	uint64_t ms = loop_now(v->srv->loop) - v->started_ms;

	log_info("visitor %llu %s user '%s': closed after %llu.%03llu s, "
	    "%llu bytes in, %llu bytes out: %s (server-wide spliced total "
	    "%llu)",
	    (unsigned long long)v->id, v->peer, v->user[0] ? v->user : "-",
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
	    (unsigned long long)v->bytes_in, (unsigned long long)v->bytes_out,
	    reason, (unsigned long long)v->srv->bctx.spliced);
}

/* Final step for every visitor: one log line, fd closed, freed later. */
void
srv_visitor_close(struct srv_visitor *v, const char *reason)
{
	struct srv *s = v->srv;

	if (v->state == SRV_VISITOR_DEAD)
		return;
	front_leave(v);
	srv_session_unrecall(v);
	if (v->state == SRV_VISITOR_WAIT_PROXY && v->session != NULL) {
		TAILQ_REMOVE(&v->session->waiting, v, entry);
		s->nwaiting--;
		v->session = NULL;
	}
	if (v->state == SRV_VISITOR_BRIDGED && v->bridge != NULL) {
		/* The bridge's close callback finishes the job. */
		bridge_close(v->bridge, reason);
		return;
	}
	v->state = SRV_VISITOR_DEAD;
	loop_timer_cancel(s->loop, &v->timer);
	tls_free(v->tls);
	v->tls = NULL;
	loop_close(s->loop, &v->h);
	LIST_REMOVE(v, all);
	addrmap_put(&s->visitor_addrs, v->counted);
	v->counted = NULL;
	srv_visitor_sync(v);
	srv_visitor_gone(v->srv);
	visitor_log_close(v, reason);
	(void)loop_defer(s->loop, free_visitor, v);
}

void
srv_visitor_new(struct srv *s, struct srv_listener *li, int fd,
    const struct sockaddr_storage *addr, const char *peer,
    const uint8_t *sniffed, size_t nsniffed, int waiting)
{
	struct srv_visitor *v;
	struct srv_session *ss;

	if ((v = calloc(1, sizeof(*v))) == NULL) {
		log_warnx("out of memory: dropping visitor %s", peer);
		(void)close(fd);
		return;
	}
	v->magic = SRV_MAGIC_VISITOR;
	v->srv = s;
	v->id = ++s->next_id;
	v->listener = li;
	v->started_ms = loop_now(s->loop);
	(void)snprintf(v->peer, sizeof(v->peer), "%s", peer);
	if (nsniffed > sizeof(v->sniffed))
		nsniffed = sizeof(v->sniffed);
	if (nsniffed > 0)
		memcpy(v->sniffed, sniffed, nsniffed);
	v->nsniffed = nsniffed;
	v->waiting = waiting;
	loop_handler_init(&v->h, fd, visitor_cb);
	loop_timer_init(&v->timer, visitor_timer);
	LIST_INSERT_HEAD(&s->visitors, v, all);
	if (++s->nvisitors > s->visitors_peak)
		s->visitors_peak = s->nvisitors;
	s->visitors_total++;
	if (li->user != NULL)
		li->user->visitors++;
	/*
	 * One address (an IPv6 /64) may hold only so many visitors at once:
	 * the rest are turned away like any visitor the tunnel cannot serve.
	 */
	v->counted = addrmap_take(&s->visitor_addrs, addr,
	    (unsigned)s->cfg->visitors_per_address);
	if (v->counted == NULL && errno == EBUSY) {
		(void)snprintf(v->reason, sizeof(v->reason), "too many "
		    "connections from your address (at most %d at once)",
		    s->cfg->visitors_per_address);
		visitor_reject(v, SRV_FAIL_ADDRESS_LIMIT, v->reason);
		return;
	}
	if (li->front != SRV_FRONT_NONE) {
		/*
		 * Heads in progress are capped, oldest dropped: a crowd of
		 * slow ones cannot hold every descriptor, and a new visitor
		 * always gets its turn.
		 */
		if (s->nfront >= SRV_MAX_FRONT) {
			struct srv_visitor *old = TAILQ_FIRST(&s->front);

			visitor_fail_count(old, SRV_FAIL_RESOURCES);
			srv_visitor_close(old, "dropped: too many request heads "
			    "in progress, this the oldest");
		}
		TAILQ_INSERT_TAIL(&s->front, v, entry);
		s->nfront++;
		v->in_front = 1;
		v->state = li->front == SRV_FRONT_HTTPS ?
		    SRV_VISITOR_FRONT_HELLO : SRV_VISITOR_FRONT;
		loop_timer_set(s->loop, &v->timer, SRV_FRONT_MS);
		if (loop_update(s->loop, &v->h, LOOP_IN) == -1)
			srv_visitor_close(v, "epoll failed");
		return;
	}
	ss = s->stopping ? NULL : srv_route(s, li);
	if (ss == NULL) {
		visitor_reject(v, SRV_FAIL_NO_CLIENT,
		    "no tunnel client is online");
		return;
	}
	if (li->user == NULL)
		ss->user->visitors++;
	visitor_dispatch(v, ss);
}

/*
 * Room for more of what a front visitor sends first, in v->replay, which
 * grows as it does (from SRV_FRONT_FIRST, doubling, up to max): most heads
 * and ClientHellos are well under 1 KiB, and a crowd of slow visitors
 * should not hold the most each. Return: 0, or -1 once v is closed.
 */
static int
front_room(struct srv_visitor *v, size_t max)
{
	size_t cap;
	uint8_t *p;

	if (v->nreplay < v->headcap)
		return 0;
	cap = v->headcap == 0 ? SRV_FRONT_FIRST : v->headcap * 2;
	if (cap > max)
		cap = max;
	if (cap <= v->nreplay || (p = realloc(v->replay, cap)) == NULL) {
		visitor_fail_count(v, SRV_FAIL_RESOURCES);
		srv_visitor_close(v, "out of memory");
		return -1;
	}
	v->replay = p;
	v->headcap = cap;
	return 0;
}

/* ACME's HTTP-01 path (RFC 8555 §8.3); the token follows. */
#define ACME_PATH	"/.well-known/acme-challenge/"

/*
 * The request target of v's head, which front_sniff has parsed: its
 * request line is "METHOD SP target SP ...". Return: 0, or -1.
 */
static int
head_target(const struct srv_visitor *v, const uint8_t **t,
    const uint8_t **te)
{
	const uint8_t *p = v->replay, *end = v->replay + v->nreplay;

	if ((*t = memchr(p, ' ', (size_t)(end - p))) == NULL)
		return -1;
	(*t)++;
	if ((*te = memchr(*t, ' ', (size_t)(end - *t))) == NULL)
		return -1;
	return 0;
}

/*
 * Plain HTTP asking for a token of acme:'s running order: its key
 * authorization, exactly (the CA compares the body). Other tokens go on
 * to the client, which may run an ACME client of its own. Return: 1 if
 * answered.
 */
static int
front_acme(struct srv_visitor *v)
{
	const uint8_t *t, *te;
	const char *keyauth;

	/* The CA GETs (RFC 8555 8.3); nothing else is its check. */
	if (!v->srv->acme.on || v->nreplay < 4 ||
	    (memcmp(v->replay, "GET ", 4) != 0 &&
	    memcmp(v->replay, "HEAD", 4) != 0) ||
	    head_target(v, &t, &te) == -1 ||
	    (size_t)(te - t) <= sizeof(ACME_PATH) - 1 ||
	    memcmp(t, ACME_PATH, sizeof(ACME_PATH) - 1) != 0)
		return 0;
	t += sizeof(ACME_PATH) - 1;
	if ((keyauth = srv_acme_answer(v->srv, v->host, (const char *)t,
	    (size_t)(te - t))) == NULL)
		return 0;
	visitor_answer_raw(v, SRV_FAIL_NONE, "200 OK", NULL, keyauth,
	    "ACME challenge answered");
	return 1;
}

/*
 * Plain HTTP for a known name while the HTTPS front is on: a 308 to the
 * same URL over https (http_redirect), except ACME's challenges, which
 * must be answered over plain HTTP. Return: 1 if answered so.
 */
static int
front_redirect(struct srv_visitor *v)
{
	struct srv *s = v->srv;
	const uint8_t *t, *te;
	char loc[FRONT_MAX_NAME + 2048], port[8] = "";

	if (s->https.h.fd == -1 || !s->cfg->http_redirect ||
	    !srv_front_https(s, v->host))
		return 0;
	if (head_target(v, &t, &te) == -1)
		return 0;
	if ((size_t)(te - t) >= sizeof(ACME_PATH) - 1 &&
	    memcmp(t, ACME_PATH, sizeof(ACME_PATH) - 1) == 0)
		return 0;
	/* An absolute-form or odd target gets the root, never a copy. */
	if (*t != '/' || te - t > 1024)
		t = (const uint8_t *)"/", te = t + 1;
	if (s->https.port != 443)
		(void)snprintf(port, sizeof(port), ":%d", s->https.port);
	(void)snprintf(loc, sizeof(loc), "https://%s%s%.*s", v->host, port,
	    (int)(te - t), (const char *)t);
	visitor_respond_loc(v, "308 Permanent Redirect", loc);
	return 1;
}

/* recv() on a front visitor, through its TLS when the front ends it. */
static ssize_t
front_recv(struct srv_visitor *v, void *buf, size_t len)
{
	ssize_t n;

	if (v->tls == NULL)
		return recv(v->h.fd, buf, len, 0);
	n = tls_recv(v->tls, buf, len);
	if (n == -1 && errno == EAGAIN &&
	    loop_update(v->srv->loop, &v->h, tls_events(v->tls)) == -1)
		errno = EIO;
	return n;
}

/* Turns a TLS visitor away before any handshake: an alert, then close. */
static void
front_refuse_tls(struct srv_visitor *v, enum srv_fail fail, uint8_t alert,
    const char *why)
{
	visitor_fail_count(v, fail);
	srv_front_alert(v->h.fd, alert);
	srv_visitor_close(v, why);
}

/* FRONT_TLS: drives the handshake; done, the request head is read. */
static void
front_handshake(struct srv_visitor *v)
{
	char why[256];

	switch (tls_handshake(v->tls)) {
	case 1:
		if (v->acme_check) {
			/* The CA saw the certificate: nothing more to say. */
			(void)tls_close_notify(v->tls);
			srv_visitor_close(v, "ACME TLS-ALPN-01 check "
			    "answered");
			return;
		}
		v->state = SRV_VISITOR_FRONT;
		if (loop_update(v->srv->loop, &v->h, LOOP_IN) == -1) {
			srv_visitor_close(v, "epoll failed");
			return;
		}
		front_read(v);	/* TLS may hold the head already */
		return;
	case 0:
		if (loop_update(v->srv->loop, &v->h, tls_events(v->tls)) == -1)
			srv_visitor_close(v, "epoll failed");
		return;
	default:
		(void)snprintf(why, sizeof(why), "%s", tls_error(v->tls));
		visitor_fail_count(v, SRV_FAIL_BAD_REQUEST);
		srv_visitor_close(v, why);
		return;
	}
}

/*
 * The ClientHello named v->host. A service that asked for passthrough
 * gets the visitor's TLS as it is; else the handshake ends here, with the
 * certificate for the name, and the request follows as on http_port.
 */
static void
front_tls_route(struct srv_visitor *v)
{
	struct srv *s = v->srv;
	struct srv_session *ss;
	struct srv_user *u;
	struct tls_ctx *x;
	char why[FRONT_MAX_NAME + 64];
	int i;

	u = srv_route_host(s, v->host, &ss, v->reason, sizeof(v->reason));
	if (u == NULL) {
		(void)snprintf(why, sizeof(why), "no service is named %s here "
		    "(TLS alert)", v->host);
		front_refuse_tls(v, SRV_FAIL_UNKNOWN_HOST,
		    SRV_ALERT_UNRECOGNIZED_NAME, why);
		return;
	}
	if (ss != NULL && !s->stopping &&
	    (i = srv_session_service(ss, v->host)) > 0 &&
	    (ss->svc_flags[i - 1] & PROTO_SERVICE_PASSTHROUGH)) {
		loop_timer_cancel(s->loop, &v->timer);
		front_leave(v);
		u->visitors++;
		visitor_dispatch(v, ss);
		return;
	}
	if ((x = srv_front_ctx(s, v->host)) == NULL) {
		(void)snprintf(why, sizeof(why), "no certificate for %s %s "
		    "(TLS alert)", v->host, s->acme.on ? "yet" :
		    "in https_certs");
		front_refuse_tls(v, SRV_FAIL_UNKNOWN_HOST,
		    SRV_ALERT_UNRECOGNIZED_NAME, why);
		return;
	}
	front_tls_start(v, x, 0);
}

/*
 * Ends v's TLS here with context x: the ClientHello already read goes to
 * OpenSSL first. acme: the handshake is an ACME CA's TLS-ALPN-01 check,
 * which ends the connection once done.
 */
static void
front_tls_start(struct srv_visitor *v, struct tls_ctx *x, int acme)
{
	if ((v->tls = tls_new(x, v->h.fd)) == NULL ||
	    tls_unread(v->tls, v->h.fd, v->replay, v->nreplay) == -1) {
		visitor_fail_count(v, SRV_FAIL_RESOURCES);
		srv_visitor_close(v, "out of memory");
		return;
	}
	/* The ClientHello is TLS's now; the head will take its place. */
	v->nreplay = 0;
	v->acme_check = acme;
	v->state = SRV_VISITOR_FRONT_TLS;
	front_handshake(v);
}

/* FRONT_HELLO: reads the ClientHello into v->replay for its SNI. */
static void
front_hello_read(struct srv_visitor *v)
{
	struct tls_ctx *x;
	unsigned int flags;
	ssize_t n;

	for (;;) {
		if (front_room(v, FRONT_MAX_HELLO) == -1)
			return;
		n = recv(v->h.fd, v->replay + v->nreplay,
		    v->headcap - v->nreplay, 0);
		if (n == 0) {
			srv_visitor_close(v, "visitor left before the end of "
			    "its ClientHello");
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				srv_visitor_close(v, "visitor reset");
			return;
		}
		v->nreplay += (size_t)n;
		if (++v->reads > SRV_FRONT_READS) {
			front_refuse_tls(v, SRV_FAIL_BAD_REQUEST,
			    SRV_ALERT_HANDSHAKE_FAILURE, "ClientHello sent in "
			    "too many pieces");
			return;
		}
		switch (front_hello(v->replay, v->nreplay, v->host, &flags)) {
		case FRONT_NEED_MORE:
			if (v->nreplay < FRONT_MAX_HELLO)
				continue;
			/* FALLTHROUGH */
		case FRONT_BAD:
			front_refuse_tls(v, SRV_FAIL_BAD_REQUEST,
			    SRV_ALERT_HANDSHAKE_FAILURE, "not a TLS ClientHello "
			    "(or one over 16 KiB)");
			return;
		case FRONT_NO_NAME:
			v->host[0] = '\0';
			front_refuse_tls(v, SRV_FAIL_BAD_REQUEST,
			    SRV_ALERT_UNRECOGNIZED_NAME, "ClientHello without "
			    "a server name (SNI)");
			return;
		case FRONT_FOUND:
			if ((flags & FRONT_ALPN_ACME) &&
			    (x = srv_acme_alpn_ctx(v->srv, v->host)) != NULL)
				front_tls_start(v, x, 1);
			else
				front_tls_route(v);
			return;
		}
	}
}

/*
 * A front visitor's request named v->host: to the session serving it, a
 * 404 when no user may claim the name, a 502 when its client is away.
 */
static void
front_route(struct srv_visitor *v)
{
	struct srv *s = v->srv;
	struct srv_session *ss;
	struct srv_user *u;

	loop_timer_cancel(s->loop, &v->timer);
	front_leave(v);
	u = srv_route_host(s, v->host, &ss, v->reason, sizeof(v->reason));
	if (u == NULL) {
		char text[FRONT_MAX_NAME + 64];

		(void)snprintf(text, sizeof(text), "no service is named %s "
		    "here", v->host);
		visitor_respond(v, SRV_FAIL_UNKNOWN_HOST, "404 Not Found",
		    text);
		return;
	}
	if (v->tls == NULL && (front_acme(v) || front_redirect(v)))
		return;
	u->visitors++;
	if (ss == NULL || s->stopping) {
		visitor_reject(v, SRV_FAIL_NO_CLIENT, v->reason);
		return;
	}
	visitor_dispatch(v, ss);
}

/*
 * FRONT: reads the request head into v->replay (it goes to the client
 * ahead of everything else, and again on a re-dispatch) until its Host
 * header routes it.
 */
static void
front_read(struct srv_visitor *v)
{
	char name[FRONT_MAX_NAME + 1];
	ssize_t n;

	for (;;) {
		if (front_room(v, FRONT_MAX_HEAD) == -1)
			return;
		n = front_recv(v, v->replay + v->nreplay,
		    v->headcap - v->nreplay);
		if (n == 0) {
			srv_visitor_close(v, "visitor left before the end of "
			    "its request head");
			return;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				srv_visitor_close(v, "visitor reset");
			return;
		}
		v->nreplay += (size_t)n;
		if (++v->reads > SRV_FRONT_READS) {
			visitor_respond(v, SRV_FAIL_BAD_REQUEST,
			    "400 Bad Request", "request head sent in too "
			    "many pieces");
			return;
		}
		/* Over TLS the SNI routes; the head is only checked. */
		switch (front_http_host(v->replay, v->nreplay, v->tls != NULL ?
		    name : v->host)) {
		case FRONT_NEED_MORE:
			if (v->nreplay < FRONT_MAX_HEAD)
				continue;
			/* A full buffer with no end of head: too long. */
			/* FALLTHROUGH */
		case FRONT_BAD:
			if (v->nreplay >= FRONT_MAX_HEAD)
				visitor_respond(v, SRV_FAIL_BAD_REQUEST,
				    "431 Request Header Fields Too Large",
				    "request head over 8 KiB");
			else
				visitor_respond(v, SRV_FAIL_BAD_REQUEST,
				    "400 Bad Request", "malformed request "
				    "head");
			return;
		case FRONT_NO_NAME:
			if (v->tls != NULL) {
				front_route(v);
				return;
			}
			visitor_respond(v, SRV_FAIL_BAD_REQUEST,
			    "400 Bad Request", "the request names no host "
			    "(a Host header with a name is needed here)");
			return;
		case FRONT_FOUND:
			/* Over TLS the Host must be the name TLS was for. */
			if (v->tls != NULL && strcmp(name, v->host) != 0) {
				visitor_respond(v, SRV_FAIL_BAD_REQUEST,
				    "421 Misdirected Request", "this "
				    "connection is for another name than the "
				    "request's Host");
				return;
			}
			front_route(v);
			return;
		}
	}
}

/*
 * While v waits, only a reset or an error ends it: edge-triggered with
 * LOOP_RDHUP, a FIN is reported once and ignored, since a visitor that
 * shut its writing side (even with nothing sent) still waits for its
 * answer. LOOP_HUP and LOOP_ERR always come.
 */
static void
visitor_park(struct srv_visitor *v)
{
	if (loop_update(v->srv->loop, &v->h, LOOP_ET | LOOP_RDHUP) == -1)
		srv_visitor_close(v, "epoll failed");
}

/* Arms v's timer for its absolute deadline (at least 1 ms from now). */
static void
visitor_until(struct srv_visitor *v, uint64_t at_ms)
{
	uint64_t now = loop_now(v->srv->loop);

	loop_timer_set(v->srv->loop, &v->timer, at_ms > now ?
	    at_ms - now : 1);
}

/* Queues v on ss: it is served when a proxy connection registers. */
static void
visitor_queue(struct srv_visitor *v, struct srv_session *ss)
{
	struct srv *s = v->srv;

	if (s->nwaiting >= SRV_MAX_WAITING) {
		visitor_reject(v, SRV_FAIL_QUEUE_FULL,
		    "too many visitors waiting");
		return;
	}
	v->session = ss;
	TAILQ_INSERT_TAIL(&ss->waiting, v, entry);
	s->nwaiting++;
	v->state = SRV_VISITOR_WAIT_PROXY;
	if (!loop_timer_armed(&v->timer)) {
		uint64_t spent = loop_now(s->loop) - v->started_ms;
		uint64_t limit = (uint64_t)s->cfg->connect_timeout * 1000;

		/* A visitor sent here again gets a moment for the new pool. */
		loop_timer_set(s->loop, &v->timer, spent + 1000 < limit ?
		    limit - spent : 1000);
	}
	visitor_park(v);
}

/* Sniffed and replayed bytes went out as pending: they count as sent. */
static void
visitor_count(struct srv_visitor *v, const struct bridge_info *info)
{
	v->bytes_in = info->bytes[BRIDGE_AB] + v->nsniffed + v->nreplay;
	v->bytes_out = info->bytes[BRIDGE_BA];
}

void
srv_visitor_sync(struct srv_visitor *v)
{
	struct srv_user *u;
	uint64_t in = v->bytes_in, out = v->bytes_out;

	if (v->state == SRV_VISITOR_BRIDGED && v->bridge != NULL) {
		in = bridge_bytes(v->bridge, BRIDGE_AB) + v->nsniffed +
		    v->nreplay;
		out = bridge_bytes(v->bridge, BRIDGE_BA);
	}
	/*
	 * A counter never goes back, whatever a re-dispatch does to the
	 * visitor's own figures; a user removed by a reload takes its
	 * counters with it.
	 */
	if ((u = v->owner) != NULL) {
		if (in > v->counted_in)
			u->bytes_in += in - v->counted_in;
		if (out > v->counted_out)
			u->bytes_out += out - v->counted_out;
	}
	if (in > v->counted_in)
		v->counted_in = in;
	if (out > v->counted_out)
		v->counted_out = out;
}

/*
 * Counts v as turned away for reason fail (tunnel_visitor_failures_total),
 * once: a visitor given a sniff window comes back to visitor_reject.
 */
static void
visitor_fail_count(struct srv_visitor *v, enum srv_fail fail)
{
	if (v->fail != SRV_FAIL_NONE || fail == SRV_FAIL_NONE)
		return;
	v->fail = fail;
	v->srv->stats.fails[fail]++;
}

/* Called once a bridge of v's ends by itself or by srv_visitor_close. */
static void
bridge_closed(struct bridge *b, void *arg, const struct bridge_info *info)
{
	struct srv_visitor *v = arg;
	char why[160];

	(void)b;
	if (v->state != SRV_VISITOR_BRIDGED)
		fatalx("visitor %llu: bridge closed in state %d",
		    (unsigned long long)v->id, v->state);
	visitor_count(v, info);
	v->bridge = NULL;
	srv_session_unrecall(v);
	v->state = SRV_VISITOR_DEAD;
	loop_timer_cancel(v->srv->loop, &v->timer);
	LIST_REMOVE(v, all);
	addrmap_put(&v->srv->visitor_addrs, v->counted);
	v->counted = NULL;
	srv_visitor_sync(v);
	srv_visitor_gone(v->srv);
	switch (info->end) {
	case BRIDGE_END_CLOSED:
		(void)snprintf(why, sizeof(why), "%s", info->reason);
		break;
	case BRIDGE_END_RESET_A:
		(void)snprintf(why, sizeof(why), "visitor reset (%s)",
		    strerror(info->err));
		break;
	case BRIDGE_END_RESET_B:
		(void)snprintf(why, sizeof(why), "tunnel side reset (%s)",
		    strerror(info->err));
		break;
	default:
		(void)snprintf(why, sizeof(why), "%s",
		    bridge_end_str(info->end));
		break;
	}
	visitor_log_close(v, why);
	(void)loop_defer(v->srv->loop, free_visitor, v);
}

/* Appends bytes taken back from a bridge to v's replay. Return 0 or -1. */
static int
visitor_absorb(struct srv_visitor *v, uint8_t *got, ssize_t n)
{
	uint8_t *p;

	if (n <= 0) {
		free(got);
		return n == 0 ? 0 : -1;
	}
	if (v->replay == NULL) {
		v->replay = got;
		v->nreplay = (size_t)n;
		return 0;
	}
	p = realloc(v->replay, v->nreplay + (size_t)n);
	if (p == NULL) {
		free(got);
		return -1;
	}
	memcpy(p + v->nreplay, got, (size_t)n);
	v->replay = p;
	v->nreplay += (size_t)n;
	free(got);
	return 0;
}

/*
 * Ends v's bridge, keeping socket A and the bytes A sent.
 * Return: 0, or -1 if those bytes could not be kept.
 */
static int
visitor_unbridge(struct srv_visitor *v, const char *reason)
{
	uint8_t *got = NULL;
	struct bridge_info info;
	ssize_t n;
	int fd;


	n = bridge_retained_a(v->bridge, &got);
	v->tls = bridge_take_tls(v->bridge, 0);
	fd = bridge_dismantle(v->bridge, reason, &info);
	v->bridge = NULL;
	visitor_count(v, &info);
	v->h.fd = fd;
	v->state = SRV_VISITOR_WAIT_PROXY;
	loop_timer_cancel(v->srv->loop, &v->timer);
	return visitor_absorb(v, got, n);
}

/* The client could not reach its local service (or never answered). */
static void
visitor_failed(struct srv_visitor *v, enum srv_fail fail, const char *reason)
{
	(void)visitor_unbridge(v, reason);
	visitor_reject(v, fail, reason);
}

/*
 * The client said it never took v (or v's bytes were never sent): send v
 * elsewhere with every byte it sent, up to SRV_MAX_RETRIES times. v holds
 * its socket, not a bridge.
 */
static void
visitor_redispatch(struct srv_visitor *v, const char *why)
{
	if (v->retries >= SRV_MAX_RETRIES) {
		visitor_reject(v, SRV_FAIL_NO_PROXY,
		    "the tunnel client's proxy connections "
		    "kept failing");
		return;
	}
	v->retries++;
	log_info("visitor %llu %s: %s; dispatching it again with its %zu "
	    "bytes", (unsigned long long)v->id, v->peer, why,
	    v->nsniffed + v->nreplay);
	srv_visitor_reroute(v->srv, v);
}

/* Asks the client about v's START. Return: 0, or -1 if it cannot be. */
static int
visitor_ask(struct srv_visitor *v)
{
	struct srv_session *ss = srv_session_by_id(v->srv, v->session_id);

	if (srv_session_withdraw(ss, v) == -1)
		return -1;
	v->asked = 1;
	return 0;
}

/*
 * v's proxy connection closed or failed before the client answered. If
 * the client took v, the request may have reached the service: a 502.
 * Otherwise keep v and its bytes and ask (RECALL).
 */
static void
visitor_lost_proxy(struct srv_visitor *v, int closed)
{
	const char *why = closed ? "proxy connection closed before the "
	    "client answered" : "proxy connection failed before the client "
	    "answered";

	if (v->taken) {
		visitor_failed(v, SRV_FAIL_CLIENT_GONE,
		    closed ? "tunnel client closed the "
		    "connection without answering" : "tunnel connection "
		    "failed");
		return;
	}
	if (visitor_unbridge(v, why) == -1) {
		visitor_reject(v, SRV_FAIL_RESOURCES, "out of memory");
		return;
	}
	v->state = SRV_VISITOR_RECALL;
	/*
	 * Asked already and no question on file: the session ended, and no
	 * answer will come.
	 */
	if ((v->asked && v->recall_ss == NULL) ||
	    (!v->asked && visitor_ask(v) == -1)) {
		visitor_reject(v, SRV_FAIL_CLIENT_GONE,
		    "the tunnel client went away");
		return;
	}
	log_info("visitor %llu %s: %s; asking the client whether it took "
	    "the visitor", (unsigned long long)v->id, v->peer, why);
	visitor_until(v, v->deadline_ms);
	visitor_park(v);
}

/* Whether the peer's TCP acknowledged every byte of START on v's proxy. */
static int
start_reached(const struct srv_visitor *v)
{
	return bridge_acked(v->bridge, BRIDGE_AB);
}

/*
 * No answer on v's proxy for a while after START. Unacknowledged START
 * bytes mean a dead connection: ask now. START acknowledged (by the client
 * or a hop on the way) means slow: ask later. Once asked, or once the
 * client took v, the timer is the final deadline.
 */
static void
visitor_silent(struct srv_visitor *v)
{
	struct srv *s = v->srv;
	int reached;

	if (v->taken || v->asked || loop_now(s->loop) >= v->deadline_ms) {
		visitor_failed(v, SRV_FAIL_TIMEOUT,
		    v->taken ? "the tunnel client did not "
		    "answer in time" : "the tunnel connection stopped "
		    "answering");
		return;
	}
	reached = start_reached(v);
	if (reached && !v->late) {
		struct srv_session *ss = srv_session_by_id(s, v->session_id);
		uint64_t ack = ss != NULL ? srv_session_ack_ms(ss) : SRV_ACK_MS;
		uint64_t at = loop_now(s->loop) + (SRV_ASK_LATE - 1) * ack;

		v->late = 1;
		visitor_until(v, at < v->deadline_ms ? at : v->deadline_ms);
		return;
	}
	if (visitor_ask(v) == 0)
		log_info("visitor %llu %s: proxy connection silent after "
		    "START (%s); asking the client whether it took the "
		    "visitor", (unsigned long long)v->id, v->peer, reached ?
		    "START was delivered to the next hop" :
		    "START unacknowledged");
	if (!reached) {
		/*
		 * A dead connection: idle ones made with it are most likely
		 * dead too. Drop them and ask for a fresh pool now, while the
		 * answer is on its way, so that v has somewhere to go.
		 */
		struct srv_session *ss = srv_session_by_id(s, v->session_id);

		v->dead = 1;
		if (ss != NULL)
			srv_session_refresh(ss, "proxy connection silent after "
			    "START");
	}
	visitor_until(v, v->deadline_ms);
}

void
srv_visitor_withdrawn(struct srv_visitor *v, int taken)
{
	struct srv_session *ss;

	/*
	 * START delivered to the next hop, yet the client never saw it: a
	 * middlebox holds the connection dead, and its siblings are suspect
	 * too (a dead one was refreshed when asked).
	 */
	if (taken == 0 && v->late && !v->dead &&
	    (ss = srv_session_by_id(v->srv, v->session_id)) != NULL)
		srv_session_refresh(ss, "proxy connection silent after START");
	if (v->state == SRV_VISITOR_BRIDGED && !v->ok) {
		if (taken == 1)
			v->taken = 1;
		/*
		 * No answer will come (the session ended) and START never
		 * reached the client's host: no STATUS will come either.
		 */
		if (taken == -1 && !v->taken && !start_reached(v)) {
			visitor_failed(v, SRV_FAIL_CLIENT_GONE,
			    "the tunnel client went away");
			return;
		}
		if (taken != 0)
			return;		/* STATUS until the deadline */
		if (visitor_unbridge(v, "withdrawn") == -1) {
			visitor_reject(v, SRV_FAIL_RESOURCES, "out of memory");
			return;
		}
		visitor_redispatch(v, "proxy connection silent after START, "
		    "and the client never took the visitor");
	} else if (v->state == SRV_VISITOR_RECALL) {
		if (taken == 0)
			visitor_redispatch(v, "the client never took the "
			    "visitor from its closed proxy connection");
		else if (taken == 1)
			visitor_reject(v, SRV_FAIL_CLIENT_GONE,
			    "the tunnel connection failed after "
			    "the client took the visitor");
		else
			visitor_reject(v, SRV_FAIL_CLIENT_GONE,
			    "the tunnel client went away");
	}
}

/* Reads the client's STATUS frame exactly, then opens proxy -> visitor. */
static int
status_gate(struct bridge *b, int fd, struct tls *t, void *arg)
{
	struct srv_visitor *v = arg;
	struct proto_msg m;
	enum proto_result r;
	size_t used;
	char reason[PROTO_MAX_REASON + 64];

	/*
	 * The shortest STATUS (ok, no reason) is header + 2 bytes: asking
	 * for that much first makes the common answer one read.
	 */
again:
	switch (frame_read(fd, t, v->status, sizeof(v->status), &v->statuslen,
	    PROTO_HDR_LEN + 2)) {
	case FRAME_WHOLE:
		break;
	case FRAME_MORE:
		return 0;
	case FRAME_BAD:
		visitor_failed(v, SRV_FAIL_PROTOCOL,
		    "tunnel client sent a bad answer");
		return -1;
	case FRAME_EOF:
		visitor_lost_proxy(v, 1);
		return -1;
	default:
		visitor_lost_proxy(v, 0);
		return -1;
	}
	r = proto_decode(v->status, v->statuslen, &m, &used);
	if (r == PROTO_OK && m.type == PROTO_ACCEPTED && !v->accepted) {
		/*
		 * The client has START and its local dial is slow: the proxy
		 * is alive, so wait for STATUS as long as the client may dial.
		 * STATUS (5 bytes at least) follows, so asking for 5 bytes
		 * above never read past it.
		 */
		v->taken = v->accepted = 1;
		v->statuslen -= used;
		memmove(v->status, v->status + used, v->statuslen);
		visitor_until(v, v->deadline_ms);
		goto again;
	}
	if (r != PROTO_OK || m.type != PROTO_STATUS) {
		visitor_failed(v, SRV_FAIL_PROTOCOL,
		    "tunnel client sent a bad answer");
		return -1;
	}
	if (!m.u.status.ok) {
		char esc[sizeof(m.u.status.reason) * 4];

		(void)snprintf(reason, sizeof(reason), "tunnel client: %s",
		    log_escape(esc, sizeof(esc), m.u.status.reason,
		    strlen(m.u.status.reason)));
		visitor_failed(v, SRV_FAIL_LOCAL, reason);
		return -1;
	}
	v->ok = 1;
	srv_session_unrecall(v);	/* an answer to WITHDRAW is moot */
	loop_timer_cancel(v->srv->loop, &v->timer);
	bridge_release_a(b);
	/*
	 * Idle only counts from here: until STATUS the wait is the
	 * client's (connect_timeout), and its end is a 502 or a retry.
	 */
	if (v->srv->cfg->idle_timeout > 0)
		bridge_idle_timeout(b,
		    (uint64_t)v->srv->cfg->idle_timeout * 1000);
	free(v->replay);	/* nreplay stays: it counts in bytes_in */
	v->replay = NULL;
	return 1;
}

static void
visitor_dispatch(struct srv_visitor *v, struct srv_session *ss)
{
	struct srv *s = v->srv;
	int svc = -1;
	uint8_t frame[PROTO_MAX_FRAME];
	struct proto_msg m;
	struct handler *ph;
	struct tls *pt = NULL;
	uint64_t proxy_id, counter;
	size_t n;
	int pfd;

	/*
	 * Asked only once the session has a proxy: by then its client has
	 * named its services (it does so before dialing its pool).
	 */
	if (v->host[0] != '\0' && ss->nidle > 0 &&
	    (svc = srv_session_service(ss, v->host)) > 0 &&
	    v->listener->front == SRV_FRONT_HTTPS &&
	    ((ss->svc_flags[svc - 1] & PROTO_SERVICE_PASSTHROUGH) != 0) !=
	    (v->tls == NULL)) {
		/*
		 * Routed while the session was away or another: the TLS was
		 * ended here for a service that wants it whole (its plaintext
		 * must never reach it), or kept whole for one that speaks
		 * plain HTTP.
		 */
		(void)snprintf(v->reason, sizeof(v->reason), "the tunnel "
		    "client for %.150s changed how it takes TLS; connect "
		    "again", v->host);
		visitor_reject(v, SRV_FAIL_CLIENT_GONE, v->reason);
		return;
	}
	if (v->host[0] != '\0' && ss->nidle > 0 && svc == 0) {
		/* The visitor is told no user name. */
		log_info("visitor %llu %s: user '%s' is online but its client "
		    "does not serve %s", (unsigned long long)v->id, v->peer,
		    ss->user->cfg->username, v->host);
		(void)snprintf(v->reason, sizeof(v->reason), "the tunnel "
		    "client for %.150s does not serve it", v->host);
		visitor_reject(v, SRV_FAIL_NO_CLIENT, v->reason);
		return;
	}
	pfd = srv_session_take_proxy(ss, &proxy_id, &counter, &ph, &pt);
	if (pfd == -1) {
		visitor_queue(v, ss);
		return;
	}
	(void)snprintf(v->user, sizeof(v->user), "%s", ss->user->cfg->username);
	if (v->owner != ss->user) {
		/* What moved so far stays with the user it moved for. */
		srv_visitor_sync(v);
		v->owner = ss->user;
	}
	memset(&m, 0, sizeof(m));
	m.type = PROTO_START;
	m.u.start.visitor_id = v->id;
	(void)snprintf(m.u.start.peer, sizeof(m.u.start.peer), "%s", v->peer);
	if (v->host[0] != '\0')
		m.u.start.service = (uint8_t)srv_session_service(ss, v->host);
	/* Where the visitor came in, for the client's PROXY protocol header. */
	if (strcmp(net_local_str(v->h.fd, m.u.start.dst,
	    sizeof(m.u.start.dst)), "?") == 0)
		m.u.start.dst[0] = '\0';
	n = proto_encode(&m, frame, sizeof(frame));
	loop_timer_cancel(s->loop, &v->timer);
	v->bridge = bridge_new(&s->bctx, v->h.fd, pfd, bridge_closed, v);
	if (v->bridge != NULL && pt != NULL)
		bridge_tls(v->bridge, 1, pt);	/* freed with the bridge */
	if (v->bridge != NULL && v->tls != NULL) {
		/* The bridge owns it until it gives side A back. */
		bridge_tls(v->bridge, 0, v->tls);
		v->tls = NULL;
	}
	if (v->bridge == NULL || n == 0 ||
	    bridge_pending(v->bridge, BRIDGE_AB, frame, n) == -1 ||
	    (v->nsniffed > 0 && bridge_pending(v->bridge, BRIDGE_AB,
	    v->sniffed, v->nsniffed) == -1) ||
	    (v->nreplay > 0 && bridge_pending(v->bridge, BRIDGE_AB,
	    v->replay, v->nreplay) == -1)) {
		if (v->bridge != NULL) {
			struct bridge_info info;

			v->tls = bridge_take_tls(v->bridge, 0);
			v->h.fd = bridge_dismantle(v->bridge, "out of memory",
			    &info);
			v->bridge = NULL;
		} else {
			tls_free(pt);
			(void)close(pfd);
		}
		visitor_fail_count(v, SRV_FAIL_RESOURCES);
		srv_visitor_close(v, "out of memory");
		return;
	}
	/*
	 * Both epoll entries move to the bridge: a MOD each instead of a
	 * DEL and an ADD. On failure bridge_start() registers the side.
	 */
	(void)bridge_adopt(v->bridge, 0, &v->h);
	(void)bridge_adopt(v->bridge, 1, ph);
	if (v->waiting)
		bridge_eager(v->bridge, BRIDGE_AB);
	v->waiting = 0;
	v->h.fd = -1;
	v->state = SRV_VISITOR_BRIDGED;
	v->session_id = ss->id;
	v->proxy_counter = counter;
	bridge_watch_ack(v->bridge, BRIDGE_AB, n);
	/*
	 * The client's answer is awaited connect_timeout + 2 s from the
	 * first START, however many dispatches it takes.
	 */
	if (v->retries == 0)
		v->deadline_ms = loop_now(s->loop) +
		    (uint64_t)s->cfg->connect_timeout * 1000 + SRV_DRAIN_MS;
	v->taken = v->accepted = v->asked = v->late = v->dead = 0;
	v->statuslen = 0;
	if (v->retries == 0) {
		ss->served++;
		s->visitors_bridged++;
	}
	bridge_gate(v->bridge, status_gate, v);
	bridge_retain_a(v->bridge);
	loop_timer_set(s->loop, &v->timer, srv_session_ack_ms(ss));
	log_debug("visitor %llu %s: bridged to proxy %llu of session %llu",
	    (unsigned long long)v->id, v->peer, (unsigned long long)proxy_id,
	    (unsigned long long)ss->id);
	(void)bridge_start(v->bridge);
}

size_t
srv_visitor_shed(struct srv *s, size_t n)
{
	struct srv_session *ss;
	struct srv_visitor *v;
	size_t shed = 0;

	/* Heads still being read first, oldest first: nobody served them. */
	while (shed < n && (v = TAILQ_FIRST(&s->front)) != NULL) {
		visitor_fail_count(v, SRV_FAIL_RESOURCES);
		srv_visitor_close(v, "server out of file descriptors");
		shed++;
	}
	LIST_FOREACH(ss, &s->sessions, entry) {
		while (shed < n &&
		    (v = TAILQ_LAST(&ss->waiting, srv_visitor_queue)) != NULL) {
			visitor_reject(v, SRV_FAIL_RESOURCES,
			    "server out of file descriptors");
			shed++;
		}
	}
	return shed;
}

void
srv_visitor_wake(struct srv_session *ss)
{
	struct srv_visitor *v;

	while (ss->nidle > 0 && (v = TAILQ_FIRST(&ss->waiting)) != NULL) {
		TAILQ_REMOVE(&ss->waiting, v, entry);
		ss->srv->nwaiting--;
		v->session = NULL;
		visitor_dispatch(v, ss);
	}
}

void
srv_visitor_reroute(struct srv *s, struct srv_visitor *v)
{
	struct srv_session *ss;

	if (v->session != NULL) {
		TAILQ_REMOVE(&v->session->waiting, v, entry);
		s->nwaiting--;
		v->session = NULL;
	}
	if (s->stopping)
		ss = NULL;
	else if (v->host[0] != '\0')
		(void)srv_route_host(s, v->host, &ss, v->reason,
		    sizeof(v->reason));
	else
		ss = srv_route(s, v->listener);
	if (ss == NULL) {
		visitor_reject(v, SRV_FAIL_CLIENT_GONE,
		    "the tunnel client went away");
		return;
	}
	visitor_dispatch(v, ss);
}

/*
 * Turns v away: "502 Bad Gateway" with the reason if it spoke HTTP, else
 * a plain close.
 */
static void
visitor_reject(struct srv_visitor *v, enum srv_fail fail, const char *reason)
{
	struct srv *s = v->srv;
	uint8_t first[sizeof(v->sniffed)];
	size_t n = 0;
	ssize_t r;

	visitor_fail_count(v, fail);

	if (v->session != NULL) {
		TAILQ_REMOVE(&v->session->waiting, v, entry);
		s->nwaiting--;
		v->session = NULL;
	}
	srv_session_unrecall(v);
	/* Bytes already consumed come first: sniffed, then sent and taken back. */
	memcpy(first, v->sniffed, v->nsniffed);
	n = v->nsniffed;
	if (v->nreplay > 0 && v->replay != NULL) {
		size_t k = sizeof(first) - n < v->nreplay ?
		    sizeof(first) - n : v->nreplay;

		memcpy(first + n, v->replay, k);
		n += k;
	}
	if (n < sizeof(first) && v->tls == NULL) {
		r = recv(v->h.fd, first + n, sizeof(first) - n,
		    MSG_PEEK | MSG_DONTWAIT);
		if (r > 0)
			n += (size_t)r;
	}
	if (n == 0 && !v->peeked) {
		/*
		 * Nothing sent yet (a visitor on a user's own port is judged
		 * the moment it connects): give its request a sniff window.
		 */
		v->peeked = 1;
		if (reason != v->reason)
			(void)snprintf(v->reason, sizeof(v->reason), "%s",
			    reason);
		v->state = SRV_VISITOR_PEEK;
		loop_timer_set(s->loop, &v->timer, SRV_SNIFF_MS);
		if (loop_update(s->loop, &v->h, LOOP_IN | LOOP_RDHUP) == -1)
			srv_visitor_close(v, reason);
		return;
	}
	/* A front visitor's head was read and checked: any method is HTTP. */
	if (!looks_like_http(first, n) && v->tls == NULL &&
	    v->listener->front != SRV_FRONT_HTTP) {
		srv_visitor_close(v, reason);
		return;
	}
	visitor_respond(v, fail, "502 Bad Gateway", reason);
}

/*
 * Answers an HTTP visitor with status (e.g. "404 Not Found") and body,
 * plain text, then reads the rest of its request for a moment; why is
 * what its close will log.
 */
static void
visitor_answer_raw(struct srv_visitor *v, enum srv_fail fail,
    const char *status, const char *location, const char *body,
    const char *why)
{
	struct srv *s = v->srv;
	char resp[PROTO_MAX_REASON + FRONT_MAX_NAME + 2304];
	int len;

	visitor_fail_count(v, fail);
	loop_timer_cancel(s->loop, &v->timer);
	front_leave(v);
	len = snprintf(resp, sizeof(resp), "HTTP/1.1 %s\r\n%s%s%s"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    status, location != NULL ? "Location: " : "",
	    location != NULL ? location : "", location != NULL ? "\r\n" : "",
	    strlen(body), body);
	if (len > 0 && (size_t)len < sizeof(resp)) {
		if (v->tls != NULL) {
			/* The handshake is done: a small answer fits. */
			(void)tls_send(v->tls, resp, (size_t)len);
			(void)tls_close_notify(v->tls);
		} else {
			(void)send(v->h.fd, resp, (size_t)len,
			    SYS_NOSIGNAL | MSG_DONTWAIT);
		}
	}
	(void)shutdown(v->h.fd, SHUT_WR);
	v->state = SRV_VISITOR_DRAIN;
	/* why may be v->reason itself. */
	if (why != v->reason)
		(void)snprintf(v->reason, sizeof(v->reason), "%.3s: %.200s",
		    status, why);
	loop_timer_set(s->loop, &v->timer, SRV_DRAIN_MS);
	if (loop_update(s->loop, &v->h, LOOP_IN) == -1)
		srv_visitor_close(v, v->reason);
}

/* The same with "tunnel: text" as the body. */
static void
visitor_answer(struct srv_visitor *v, enum srv_fail fail, const char *status,
    const char *location, const char *text)
{
	char body[sizeof(v->reason) + 16], why[sizeof(v->reason)];

	/* text may be v->reason, which visitor_answer_raw rewrites. */
	(void)snprintf(why, sizeof(why), "%.*s", (int)sizeof(why) - 1, text);
	(void)snprintf(body, sizeof(body), "tunnel: %s\n", why);
	visitor_answer_raw(v, fail, status, location, body, why);
}

static void
visitor_respond(struct srv_visitor *v, enum srv_fail fail,
    const char *status, const char *text)
{
	visitor_answer(v, fail, status, NULL, text);
}

/* A redirect to location; not a failure. */
static void
visitor_respond_loc(struct srv_visitor *v, const char *status,
    const char *location)
{
	visitor_answer(v, SRV_FAIL_NONE, status, location, location);
}

static void
visitor_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct srv_visitor *v = container_of(h, struct srv_visitor, h);
	char buf[4096];
	ssize_t n;
	int i;

	(void)l;
	if (v->magic != SRV_MAGIC_VISITOR)
		fatalx("visitor: bad magic");
	switch (v->state) {
	case SRV_VISITOR_WAIT_PROXY:
	case SRV_VISITOR_RECALL:
		/* Parked (visitor_park): a FIN is not a departure. */
		if (events & (LOOP_HUP | LOOP_ERR))
			srv_visitor_close(v, "visitor left while waiting");
		break;
	case SRV_VISITOR_PEEK:
		loop_timer_cancel(v->srv->loop, &v->timer);
		visitor_reject(v, v->fail, v->reason);
		break;
	case SRV_VISITOR_FRONT:
		front_read(v);
		break;
	case SRV_VISITOR_FRONT_HELLO:
		front_hello_read(v);
		break;
	case SRV_VISITOR_FRONT_TLS:
		front_handshake(v);
		break;
	case SRV_VISITOR_DRAIN:
		for (i = 0; i < 16; i++) {
			n = v->tls != NULL ? tls_recv(v->tls, buf, sizeof(buf)) :
			    recv(h->fd, buf, sizeof(buf), 0);
			if (n > 0)
				continue;
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				return;
			srv_visitor_close(v, v->reason);
			return;
		}
		break;
	default:
		break;
	}
}

static void
visitor_timer(struct loop *l, struct timer *t)
{
	struct srv_visitor *v = container_of(t, struct srv_visitor, timer);
	char why[96];

	(void)l;
	if (v->state == SRV_VISITOR_WAIT_PROXY) {
		if (v->retries > 0)
			(void)snprintf(why, sizeof(why), "the tunnel client "
			    "stopped answering on its proxy connections");
		else
			(void)snprintf(why, sizeof(why), "no free tunnel "
			    "connection within %d s",
			    v->srv->cfg->connect_timeout);
		visitor_reject(v, SRV_FAIL_NO_PROXY, why);
	} else if (v->state == SRV_VISITOR_BRIDGED && !v->ok) {
		visitor_silent(v);
	} else if (v->state == SRV_VISITOR_RECALL) {
		visitor_reject(v, SRV_FAIL_TIMEOUT,
		    "the tunnel client did not say whether it "
		    "took the visitor");
	} else if (v->state == SRV_VISITOR_PEEK) {
		visitor_reject(v, v->fail, v->reason);
	} else if (v->state == SRV_VISITOR_DRAIN) {
		srv_visitor_close(v, v->reason);
	} else if (v->state == SRV_VISITOR_FRONT) {
		visitor_respond(v, SRV_FAIL_BAD_REQUEST, "408 Request Timeout",
		    "no complete request head within 10 s");
	} else if (v->state == SRV_VISITOR_FRONT_HELLO ||
	    v->state == SRV_VISITOR_FRONT_TLS) {
		visitor_fail_count(v, SRV_FAIL_BAD_REQUEST);
		srv_visitor_close(v, "no TLS handshake within 10 s");
	}
}
