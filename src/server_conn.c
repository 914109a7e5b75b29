/*
 * server_conn: a connection on the main port until it is known.
 *
 * SNIFF: the first byte decides. Anything but the magic's first byte is a
 * public visitor, handed over with nothing consumed (MSG_PEEK), so its
 * bytes are spliced untouched. A peer that stays silent for SRV_SNIFF_MS is
 * public too (server-speaks-first protocols), and so is one whose first
 * word is EOF (a banner grab, a client that sends nothing and waits for
 * the reply): it is forwarded like any other. Our first byte moves the
 * connection to PREAMBLE, where at most the 6 preamble bytes are read; a
 * mismatch still makes it public, with those bytes replayed.
 *
 * The preamble's last byte says what follows: a TLS handshake (TLS state,
 * then every frame goes through TLS) or frames in the clear. A client
 * asking for the transport this server does not speak gets a FAIL in the
 * clear, which it reads in either case, saying which one to set.
 *
 * Then the first frame says what the connection is: HELLO starts a login
 * (CHALLENGE, PROOF, then WELCOME and the connection becomes a session) and
 * REGISTER offers a proxy connection to a live session. Every step has a
 * deadline. A real client sends the preamble and its first frame in one
 * write, so waiting for that frame gets a short one, and the connections
 * waiting are queued with a cap that drops the oldest: idle preambles
 * cannot pile up, nor keep anyone else out (refills from the address of a
 * logged-in client queue apart, so a flood cannot push out their TLS
 * handshakes either). Logins, and only logins, are counted per address
 * and in total: a REGISTER proves itself with its MAC
 * and never waits on those caps, so a login flood cannot starve the pool.
 * A failed login is answered after a delay that grows with the address's
 * recent failures; one whose peer leaves during the delay frees its place
 * at once, and its address may not start another login until the answer
 * would have come, so leaving early does not dodge the slowdown.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "sys.h"

static void	conn_cb(struct loop *, struct handler *, uint32_t);
static void	conn_timer(struct loop *, struct timer *);
static void	conn_read(struct srv_conn *, int);

static const char *
conn_state_str(enum srv_conn_state st)
{
	switch (st) {
	case SRV_CONN_SNIFF:		return "SNIFF";
	case SRV_CONN_PREAMBLE:		return "PREAMBLE";
	case SRV_CONN_TLS:		return "TLS";
	case SRV_CONN_HELLO_WAIT:	return "HELLO_WAIT";
	case SRV_CONN_PROOF_WAIT:	return "PROOF_WAIT";
	case SRV_CONN_FAIL_DELAY:	return "FAIL_DELAY";
	case SRV_CONN_FLUSH:		return "FLUSH";
	case SRV_CONN_DEAD:		return "DEAD";
	}
	return "?";
}

static void
conn_set_state(struct srv_conn *c, enum srv_conn_state st)
{
	log_debug("conn %llu %s: %s -> %s", (unsigned long long)c->id,
	    c->peer, conn_state_str(c->state), conn_state_str(st));
	c->state = st;
}

static uint32_t
conn_mask(const struct srv_conn *c)
{
	switch (c->state) {
	case SRV_CONN_SNIFF:
	case SRV_CONN_PREAMBLE:
	case SRV_CONN_HELLO_WAIT:
	case SRV_CONN_PROOF_WAIT:
		/*
		 * LOOP_RDHUP as the pool and bridges ask: a proxy connection
		 * moves on to them without an EPOLL_CTL_MOD.
		 */
		return LOOP_IN | LOOP_RDHUP | (c->out.len ? LOOP_OUT : 0);
	case SRV_CONN_TLS:
		return tls_events(c->tls) | LOOP_RDHUP;
	case SRV_CONN_FLUSH:
		return c->out.len ? LOOP_OUT : 0;
	case SRV_CONN_FAIL_DELAY:
		return LOOP_IN | LOOP_RDHUP;	/* the peer leaving early */
	case SRV_CONN_DEAD:
		break;
	}
	return 0;
}

static void
conn_update(struct srv_conn *c)
{
	if (loop_update(c->srv->loop, &c->h, conn_mask(c)) == -1) {
		log_warn("conn %llu: epoll", (unsigned long long)c->id);
		srv_conn_close(c, "epoll failed");
	}
}

static void
free_conn(void *arg)
{
	struct srv_conn *c = arg;

	c->magic = 0;
	free(c);
}

/* Stops counting c as a login in progress. */
static void
conn_uncount(struct srv_conn *c)
{
	if (!c->counted)
		return;
	c->counted = 0;
	c->srv->nlogins--;
	c->addr->logins--;
	srv_addr_release(c->srv, c->addr);
	c->addr = NULL;
}

/* Takes c out of the queue of connections waiting for a first frame. */
static void
conn_first_frame_done(struct srv_conn *c)
{
	if (c->first_frame == NULL)
		return;
	TAILQ_REMOVE(c->first_frame, c, waiting);
	c->first_frame = NULL;
	c->srv->nfirst_frame--;
}

/* Forgets c without closing its fd, which now belongs to someone else. */
static void
conn_forget(struct srv_conn *c)
{
	loop_remove(c->srv->loop, &c->h);
	c->h.fd = -1;
	srv_conn_close(c, NULL);
}

void
srv_conn_close(struct srv_conn *c, const char *reason)
{
	if (c->state == SRV_CONN_DEAD)
		return;
	if (reason != NULL)
		log_info("conn %llu %s: closed in %s: %s",
		    (unsigned long long)c->id, c->peer,
		    conn_state_str(c->state), reason);
	conn_set_state(c, SRV_CONN_DEAD);
	loop_timer_cancel(c->srv->loop, &c->deadline);
	conn_uncount(c);
	conn_first_frame_done(c);
	loop_close(c->srv->loop, &c->h);
	LIST_REMOVE(c, entry);
	tls_free(c->tls);
	c->tls = NULL;
	auth_wipe(c->am, sizeof(c->am));
	(void)loop_defer(c->srv->loop, free_conn, c);
}

void
srv_conn_accept(struct srv *s, struct srv_listener *li, int fd,
    const struct sockaddr_storage *peer)
{
	struct srv_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("out of memory: dropping a connection");
		(void)close(fd);
		return;
	}
	c->magic = SRV_MAGIC_CONN;
	c->srv = s;
	c->id = ++s->next_id;
	c->listener = li;
	c->peer_addr = *peer;
	(void)net_addr_str(peer, c->peer, sizeof(c->peer));
	outbuf_init(&c->out, c->outmem, sizeof(c->outmem));
	loop_handler_init(&c->h, fd, conn_cb);
	loop_timer_init(&c->deadline, conn_timer);
	LIST_INSERT_HEAD(&s->conns, c, entry);
	c->state = SRV_CONN_SNIFF;
	loop_timer_set(s->loop, &c->deadline, SRV_SNIFF_MS);
	/*
	 * The first bytes are often there already: look now, which spares
	 * an epoll registration and a wake-up for most visitors.
	 */
	conn_cb(s->loop, &c->h, LOOP_IN);
}

/* Hands c over as a public visitor, replaying what was consumed. */
static void
conn_to_visitor(struct srv_conn *c, int waiting)
{
	struct srv *s = c->srv;
	struct srv_listener *li = c->listener;
	struct sockaddr_storage addr = c->peer_addr;
	char peer[NET_ADDRSTRLEN];
	uint8_t sniffed[PROTO_PREAMBLE_LEN];
	size_t n = c->inlen < sizeof(sniffed) ? c->inlen : sizeof(sniffed);
	int fd = c->h.fd;

	memcpy(sniffed, c->in, n);
	memcpy(peer, c->peer, sizeof(peer));
	conn_forget(c);
	srv_visitor_new(s, li, fd, &addr, peer, sniffed, n, waiting);
}

/* Queues one frame and tries to send it now. Return: 0 or -1 (closed). */
static int
conn_send(struct srv_conn *c, const struct proto_msg *m)
{
	if (outbuf_frame(&c->out, m) == -1) {
		srv_conn_close(c, "cannot encode a frame");
		return -1;
	}
	if (outbuf_flush(&c->out, c->h.fd, c->tls) == -1) {
		srv_conn_close(c, c->tls != NULL ? tls_error(c->tls) :
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Sends FAIL and closes once it is written. */
static void
conn_fail(struct srv_conn *c, int code, const char *reason)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_FAIL;
	m.u.fail.code = (uint8_t)code;
	(void)snprintf(m.u.fail.reason, sizeof(m.u.fail.reason), "%s",
	    reason);
	if (conn_send(c, &m) == -1)
		return;
	if (c->out.len == 0) {
		srv_conn_close(c, NULL);
		return;
	}
	conn_set_state(c, SRV_CONN_FLUSH);
	loop_timer_set(c->srv->loop, &c->deadline, SRV_HANDSHAKE_MS);
	conn_update(c);
}

static void
conn_protocol_error(struct srv_conn *c, const char *what)
{
	log_info("conn %llu %s: protocol error in %s: %s",
	    (unsigned long long)c->id, c->peer, conn_state_str(c->state),
	    what);
	conn_fail(c, PROTO_FAIL_PROTOCOL, what);
}

/* Whether a live session logged in from addr's address (or /64). */
static int
from_known_address(struct srv *s, const struct sockaddr_storage *addr)
{
	struct srv_session *ss;
	uint8_t key[ADDRMAP_KEY_LEN];

	if (addrmap_key(addr, key) == -1)
		return 0;
	LIST_FOREACH(ss, &s->sessions, entry)
		if (memcmp(ss->peer_key, key, sizeof(key)) == 0)
			return 1;
	return 0;
}

/*
 * Our first byte arrived: c waits for its first frame, in a queue whose
 * oldest member is dropped when it is full. Nobody is refused for lack of
 * room: over plain TCP a real client's frame comes with its preamble, so
 * it leaves the queue at once, and only connections that stay silent are
 * ever dropped. A TLS handshake stays a round trip or more, long enough
 * for a flood of new connections to push it out: so connections from the
 * address of a live session, the pool's refills, wait in a queue of their
 * own, dropped from only when the flood shares that address.
 * Return: 0, or -1 if c itself was the one dropped (it is closed).
 */
static int
conn_enter_preamble(struct srv_conn *c)
{
	struct srv *s = c->srv;
	struct srv_conn *victim;

	c->first_frame = from_known_address(s, &c->peer_addr) ?
	    &s->first_frame_known : &s->first_frame;
	TAILQ_INSERT_TAIL(c->first_frame, c, waiting);
	if (++s->nfirst_frame > SRV_MAX_FIRST_FRAME) {
		if ((victim = TAILQ_FIRST(&s->first_frame)) == NULL)
			victim = TAILQ_FIRST(&s->first_frame_known);
		srv_conn_close(victim, "dropped: too many connections waiting "
		    "for their first frame");
		if (victim == c)
			return -1;	/* all the others are refills */
	}
	conn_set_state(c, SRV_CONN_PREAMBLE);
	/* The sniff window still runs: the rest of the magic comes at once. */
	return 0;
}

/*
 * A HELLO: count the login, or refuse it as busy. An address whose last
 * failed login left before its delayed answer waits that answer out.
 * Return: 0, or -1 (FAIL sent).
 */
static int
conn_start_login(struct srv_conn *c)
{
	struct srv *s = c->srv;
	struct srv_addr *a;
	const char *why = NULL;

	if ((a = srv_addr_get(s, &c->peer_addr)) == NULL)
		why = "out of memory";
	else if (s->nlogins >= SRV_MAX_LOGINS ||
	    a->logins >= SRV_MAX_LOGINS_ADDR)
		why = "too many logins in progress";
	else if (loop_now(s->loop) < a->hold_until_ms)
		why = "a failed login from this address left before its "
		    "answer: try again later";
	if (why != NULL) {
		log_info("conn %llu %s: login refused: %s",
		    (unsigned long long)c->id, c->peer, why);
		s->stats.logins[SRV_LOGIN_BUSY]++;
		if (a != NULL)
			srv_addr_release(s, a);
		conn_fail(c, PROTO_FAIL_BUSY, why);
		return -1;
	}
	c->addr = a;
	c->counted = 1;
	s->nlogins++;
	a->logins++;
	return 0;
}

static void
on_hello(struct srv_conn *c, const struct proto_hello *hello)
{
	struct srv *s = c->srv;
	struct proto_msg m;
	char esc[4 * PROTO_MAX_USER + 1];

	if (conn_start_login(c) == -1)
		return;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_CHALLENGE;
	(void)snprintf(c->username, sizeof(c->username), "%s",
	    hello->username);
	c->user = srv_user_find(s, hello->username);
	/*
	 * An unknown name gets a salt derived from the server secret, so the
	 * answer looks like a real user's and repeats for the same name.
	 */
	if (c->user != NULL)
		(void)snprintf(m.u.challenge.setting,
		    sizeof(m.u.challenge.setting), "%s", c->user->setting);
	else if (auth_fake_setting(s->secret, s->fake_template,
	    hello->username, m.u.challenge.setting,
	    sizeof(m.u.challenge.setting)) == -1) {
		srv_conn_close(c, "cannot make a salt");
		return;
	}
	if (sys_random(m.u.challenge.nonce, PROTO_NONCE_LEN) == -1) {
		srv_conn_close(c, "no random bytes");
		return;
	}
	c->amlen = auth_message(c->am, sizeof(c->am), hello->username,
	    hello->nonce, m.u.challenge.nonce, m.u.challenge.setting, c->bind,
	    c->bindlen);
	if (c->amlen == 0) {
		conn_protocol_error(c, "login message too long");
		return;
	}
	log_debug("conn %llu %s: login attempt for '%s'",
	    (unsigned long long)c->id, c->peer,
	    log_escape(esc, sizeof(esc), hello->username,
	    strlen(hello->username)));
	conn_set_state(c, SRV_CONN_PROOF_WAIT);
	loop_timer_set(s->loop, &c->deadline, SRV_HANDSHAKE_MS);
	(void)conn_send(c, &m);
}

/*
 * The peer of a failed login did not wait for its delayed answer (it
 * hung up, or sent more): its place is freed now, and its address waits
 * out the answer's time before its next login (conn_start_login). No FAIL
 * is sent: an early answer would be a way round the delay.
 */
static void
conn_left_early(struct srv_conn *c, const char *what)
{
	char why[128];

	if (c->addr != NULL && c->addr->hold_until_ms < c->answer_ms)
		c->addr->hold_until_ms = c->answer_ms;
	(void)snprintf(why, sizeof(why), "failed login: %s before its "
	    "delayed answer", what);
	srv_conn_close(c, why);
}

static void
on_proof(struct srv_conn *c, const struct proto_proof *p)
{
	struct srv *s = c->srv;
	uint8_t client_key[PROTO_KEY_LEN];
	struct srv_session *ss;
	char esc[4 * PROTO_MAX_USER + 1];
	uint64_t delay;
	int ok = -1, fd;

	/* Unknown user and wrong password take this same path. */
	if (c->user != NULL)
		ok = auth_verify_proof(&c->user->keys, c->am, c->amlen,
		    p->proof, client_key);
	else
		(void)auth_verify_proof(&s->users[0]->keys, c->am, c->amlen,
		    p->proof, client_key);
	(void)log_escape(esc, sizeof(esc), c->username, strlen(c->username));
	if (ok == -1) {
		struct srv_addr *a = c->addr;

		auth_wipe(client_key, sizeof(client_key));
		s->stats.logins[SRV_LOGIN_BAD_CREDENTIALS]++;
		if (a != NULL) {
			a->failures++;
			a->last_failure_ms = loop_now(s->loop);
		}
		delay = 0;
		if (a != NULL && a->failures > 1) {
			unsigned shift = a->failures - 2 < 6 ? a->failures - 2 :
			    6;

			delay = 250ull << shift;
		}
		log_warnx("conn %llu %s: login failed for user '%s' "
		    "(bad credentials; %u recent failure%s from this address)",
		    (unsigned long long)c->id, c->peer, esc,
		    a != NULL ? a->failures : 0,
		    a != NULL && a->failures == 1 ? "" : "s");
		conn_set_state(c, SRV_CONN_FAIL_DELAY);
		c->answer_ms = loop_now(s->loop) + delay;
		loop_timer_set(s->loop, &c->deadline, delay);
		if (c->inlen != 0) {
			conn_left_early(c, "bytes after PROOF");
			return;
		}
		conn_update(c);
		return;
	}
	if (c->inlen != 0) {
		auth_wipe(client_key, sizeof(client_key));
		conn_protocol_error(c, "bytes after PROOF");
		return;
	}
	/* The fd and TLS move to the session: drop our epoll entry first. */
	fd = c->h.fd;
	loop_remove(s->loop, &c->h);
	c->h.fd = -1;
	ss = srv_session_new(s, c->user, fd, c->tls, &c->peer_addr, c->peer,
	    client_key, c->am, c->amlen);
	c->tls = NULL;
	auth_wipe(client_key, sizeof(client_key));
	if (ss != NULL)
		s->stats.logins[SRV_LOGIN_OK]++;
	srv_conn_close(c, ss == NULL ? "cannot start a session" : NULL);
}

static void
on_register(struct srv_conn *c, const struct proto_register *r)
{
	const char *why = NULL;
	int code = 0;

	if (c->inlen != 0) {
		conn_protocol_error(c, "bytes after REGISTER");
		return;
	}
	/* Our epoll entry moves with the fd to the pool. */
	if (srv_session_register(c->srv, &c->h, c->tls, c->bind, c->bindlen,
	    c->peer, r, &why, &code) == 0) {
		c->tls = NULL;		/* the pool's now */
		srv_conn_close(c, NULL);
		return;
	}
	log_info("conn %llu %s: proxy registration refused: %s",
	    (unsigned long long)c->id, c->peer, why);
	conn_fail(c, code, why);
}

/* Processes whole frames in c->in. */
static void
conn_frames(struct srv_conn *c)
{
	struct proto_msg m;
	enum proto_result r;
	size_t used;

	while (c->state == SRV_CONN_HELLO_WAIT ||
	    c->state == SRV_CONN_PROOF_WAIT) {
		r = proto_decode(c->in, c->inlen, &m, &used);
		if (r == PROTO_NEED_MORE)
			return;
		if (r != PROTO_OK) {
			conn_protocol_error(c, proto_result_str(r));
			return;
		}
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		conn_first_frame_done(c);
		if (c->state == SRV_CONN_HELLO_WAIT && m.type == PROTO_HELLO)
			on_hello(c, &m.u.hello);
		else if (c->state == SRV_CONN_HELLO_WAIT &&
		    m.type == PROTO_REGISTER)
			on_register(c, &m.u.reg);
		else if (c->state == SRV_CONN_PROOF_WAIT &&
		    m.type == PROTO_PROOF)
			on_proof(c, &m.u.proof);
		else if (m.type == PROTO_FAIL)
			srv_conn_close(c, "client gave up");
		else
			conn_protocol_error(c, "unexpected frame");
		/* Loop: frames pipelined behind this one are judged now. */
	}
}

/* The TLS handshake, until done; then the frames it may hold already. */
static void
conn_tls(struct srv_conn *c)
{
	switch (tls_handshake(c->tls)) {
	case 0:
		/*
		 * Our first flight is out, so a ClientHello came: a client
		 * at work, on a link that may be slow (each flight one way
		 * of its round trip). The login step's deadline from here;
		 * a silent one keeps the short one, and the first-frame
		 * queue bounds how many wait.
		 */
		if (!c->tls_going && tls_wire_sent(c->tls) > 0) {
			c->tls_going = 1;
			loop_timer_set(c->srv->loop, &c->deadline,
			    SRV_HANDSHAKE_MS);
		}
		return;
	case -1:
		srv_conn_close(c, tls_error(c->tls));
		return;
	}
	if (tls_exporter(c->tls, c->bind) == -1) {
		srv_conn_close(c, "no channel binding");
		return;
	}
	c->bindlen = TLS_EXPORTER_LEN;
	conn_set_state(c, SRV_CONN_HELLO_WAIT);
	/* Then the first frame, as soon as the client has checked our key. */
	loop_timer_set(c->srv->loop, &c->deadline, SRV_FIRST_FRAME_MS);
	conn_read(c, 0);
}

static void
conn_preamble(struct srv_conn *c)
{
	struct srv *s = c->srv;
	uint8_t version = 0;
	int transport = -1, ours = s->tls != NULL ? PROTO_TRANSPORT_TLS :
	    PROTO_TRANSPORT_PLAIN;
	char msg[128];

	switch (proto_check_preamble(c->in, c->inlen, &version, &transport)) {
	case PROTO_PRE_NEED_MORE:
		return;
	case PROTO_PRE_NOT_TUNNEL:
		conn_to_visitor(c, 0);
		return;
	case PROTO_PRE_BAD_VERSION:
		(void)snprintf(msg, sizeof(msg), "client speaks protocol "
		    "version %u, this server speaks %u: run a client of the "
		    "server's release", version, PROTO_VERSION);
		log_info("conn %llu %s: %s", (unsigned long long)c->id,
		    c->peer, msg);
		conn_fail(c, PROTO_FAIL_VERSION, msg);
		return;
	case PROTO_PRE_BAD_TRANSPORT:
	case PROTO_PRE_OK:
		break;
	}
	if (transport != ours) {
		/* In the clear: the client reads it before any TLS. */
		(void)snprintf(msg, sizeof(msg), "this server speaks "
		    "transport: %s and the client asked for %s: set transport: "
		    "%s in both configs", cfg_transport_str(ours ==
		    PROTO_TRANSPORT_TLS ? CFG_TRANSPORT_TLS :
		    CFG_TRANSPORT_PLAIN), transport == PROTO_TRANSPORT_TLS ?
		    "tls" : transport == PROTO_TRANSPORT_PLAIN ? "plain" :
		    "an unknown one", cfg_transport_str(ours ==
		    PROTO_TRANSPORT_TLS ? CFG_TRANSPORT_TLS :
		    CFG_TRANSPORT_PLAIN));
		log_warnx("conn %llu %s: %s", (unsigned long long)c->id,
		    c->peer, msg);
		conn_fail(c, PROTO_FAIL_TRANSPORT, msg);
		return;
	}
	/*
	 * What follows the preamble is frames, or TLS (see conn_read). The
	 * TLS handshake, like the first frame, gets the short deadline.
	 */
	c->inlen -= PROTO_PREAMBLE_LEN;
	memmove(c->in, c->in + PROTO_PREAMBLE_LEN, c->inlen);
	loop_timer_set(s->loop, &c->deadline, SRV_FIRST_FRAME_MS);
	if (ours == PROTO_TRANSPORT_PLAIN) {
		conn_set_state(c, SRV_CONN_HELLO_WAIT);
		return;
	}
	/* Nothing was read past the preamble: TLS's bytes are in the socket. */
	if ((c->tls = tls_new(s->tls, c->h.fd)) == NULL) {
		srv_conn_close(c, "out of memory");
		return;
	}
	conn_set_state(c, SRV_CONN_TLS);
	conn_tls(c);
}

/*
 * Reads what the state allows. In PREAMBLE no further than the magic, as
 * the peer may be public, unless the peek showed our exact preamble
 * (whole_magic): nothing of a visitor can follow it, so the frames behind
 * it come in the same call.
 */
static void
conn_read(struct srv_conn *c, int whole_magic)
{
	size_t want;
	ssize_t n;

	want = c->state == SRV_CONN_PREAMBLE && !whole_magic ?
	    PROTO_PREAMBLE_LEN - c->inlen : sizeof(c->in) - c->inlen;
	if (want == 0) {
		conn_protocol_error(c, "frame does not fit");
		return;
	}
	n = link_recv(c->h.fd, c->state == SRV_CONN_PREAMBLE ? NULL : c->tls,
	    c->in + c->inlen, want);
	if (n == 0 && c->state == SRV_CONN_PREAMBLE) {
		/*
		 * A visitor whose bytes began like our magic and then ended
		 * ("\x8e" + FIN): its bytes and its FIN go to the service.
		 */
		conn_to_visitor(c, 0);
		return;
	}
	if (n == 0) {
		srv_conn_close(c, "peer closed during handshake");
		return;
	}
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			srv_conn_close(c, c->tls != NULL ? tls_error(c->tls) :
			    strerror(errno));
		return;
	}
	c->inlen += (size_t)n;
	if (c->state == SRV_CONN_PREAMBLE) {
		conn_preamble(c);
		/* The first frame most likely came with the magic. */
		if (c->state == SRV_CONN_HELLO_WAIT && c->inlen == 0) {
			conn_read(c, 0);
			return;
		}
	}
	if (c->state == SRV_CONN_HELLO_WAIT || c->state == SRV_CONN_PROOF_WAIT)
		conn_frames(c);
	/* TLS may hold more of the next frame, which epoll would not tell. */
	if ((c->state == SRV_CONN_HELLO_WAIT ||
	    c->state == SRV_CONN_PROOF_WAIT) && c->tls != NULL &&
	    tls_pending(c->tls))
		conn_read(c, 0);
}

static void
conn_sniff(struct srv_conn *c)
{
	uint8_t first[PROTO_PREAMBLE_LEN], version;
	int transport = -1;
	ssize_t n;

	/* A peek copies nothing out of the visitor's stream. */
	n = recv(c->h.fd, first, sizeof(first), MSG_PEEK);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			srv_conn_close(c, NULL);
		return;
	}
	/*
	 * EOF before any byte is a visitor too (a banner grab, "nc -N"): the
	 * service sees a connection and its EOF, and its reply gets back.
	 */
	if (n == 0 || first[0] != (uint8_t)PROTO_MAGIC[0]) {
		conn_to_visitor(c, 1);
		return;
	}
	if (conn_enter_preamble(c) == -1)
		return;
	/*
	 * The rest of the magic, and with a whole one the frames behind,
	 * unless TLS follows: its bytes are OpenSSL's to read.
	 */
	conn_read(c, n == PROTO_PREAMBLE_LEN && proto_check_preamble(first,
	    (size_t)n, &version, &transport) == PROTO_PRE_OK &&
	    transport == PROTO_TRANSPORT_PLAIN && c->srv->tls == NULL);
}

static void
conn_flush(struct srv_conn *c)
{
	if (outbuf_flush(&c->out, c->h.fd, c->tls) == -1)
		srv_conn_close(c, c->tls != NULL ? tls_error(c->tls) :
		    strerror(errno));
	else if (c->out.len == 0 && c->state == SRV_CONN_FLUSH)
		srv_conn_close(c, NULL);
}

/* Something happened on a failed login waiting for its answer. */
static void
conn_fail_delay_event(struct srv_conn *c)
{
	uint8_t b;
	ssize_t n;

	n = recv(c->h.fd, &b, 1, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	conn_left_early(c, n > 0 ? "bytes after PROOF" : "peer left");
}

static void
conn_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct srv_conn *c = container_of(h, struct srv_conn, h);

	(void)l;
	if (c->magic != SRV_MAGIC_CONN)
		fatalx("conn: bad magic");
	if (c->state == SRV_CONN_DEAD)
		return;
	if ((events & LOOP_OUT) && c->state == SRV_CONN_TLS)
		conn_tls(c);	/* a handshake that waited to write */
	else if (events & LOOP_OUT)
		conn_flush(c);
	if (c->state == SRV_CONN_DEAD)
		return;
	if (events & (LOOP_IN | LOOP_ERR | LOOP_HUP)) {
		if (c->state == SRV_CONN_SNIFF)
			conn_sniff(c);	/* reads on if the peer is ours */
		else if (c->state == SRV_CONN_TLS)
			conn_tls(c);
		else if (c->state == SRV_CONN_PREAMBLE ||
		    c->state == SRV_CONN_HELLO_WAIT ||
		    c->state == SRV_CONN_PROOF_WAIT)
			conn_read(c, 0);
		else if (c->state == SRV_CONN_FLUSH &&
		    (events & (LOOP_ERR | LOOP_HUP)))
			srv_conn_close(c, NULL);
	}
	if (c->state == SRV_CONN_FAIL_DELAY &&
	    (events & (LOOP_IN | LOOP_RDHUP | LOOP_ERR | LOOP_HUP)))
		conn_fail_delay_event(c);
	if (c->state != SRV_CONN_DEAD)
		conn_update(c);
}

static void
conn_timer(struct loop *l, struct timer *t)
{
	struct srv_conn *c = container_of(t, struct srv_conn, deadline);

	(void)l;
	switch (c->state) {
	case SRV_CONN_SNIFF:
		conn_to_visitor(c, 0);	/* silent: server-speaks-first */
		break;
	case SRV_CONN_PREAMBLE:
		conn_to_visitor(c, 0);	/* not ours after all */
		break;
	case SRV_CONN_FAIL_DELAY:
		conn_fail(c, PROTO_FAIL_CREDENTIALS,
		    "unknown user or wrong password");
		break;
	case SRV_CONN_DEAD:
		break;
	default:
		srv_conn_close(c, "handshake timeout");
		break;
	}
}
