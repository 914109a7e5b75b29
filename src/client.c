/*
 * client: the control session of tunnel-client.
 *
 * RESOLVING -> CONNECTING -> TLS -> CHALLENGE_WAIT -> (HASHING ->)
 * WELCOME_WAIT -> READY (TLS only with transport: tls), and from any of
 * them to BACKOFF when the server is unreachable, goes away or refuses
 * the login, or to DONE when retrying cannot help (a server key other
 * than the pinned one, a server that fails to prove it knows the
 * password, or a newer login of the same user). A refusal before the
 * server has proven itself (wrong credentials, another version or
 * transport, a password setting outside crypt_policy) is retried: anyone
 * on the path could have sent it. BACKOFF waits 1 s, 2 s, 4 s ... up to 30 s, each with
 * jitter, then connects again. Bridged visitors are not tied to the
 * control session, so they finish undisturbed across reconnects.
 *
 * The password is hashed with the server's setting once and the result
 * cached, so a reconnect does not stall the loop for another crypt(3).
 * Nothing here blocks: the lookup of server_addr and the hash run in
 * helper processes (client_resolve.c, client_hash.c), and the connect
 * races the server's addresses (client_connect.c).
 *
 * Over TLS nothing of the login is sent before the server's key has been
 * checked (client_trust.c), and the proof covers the connection's
 * tls-exporter value, so it is worthless on any other connection. A
 * server that does not speak our transport (or version) answers the
 * preamble with a FAIL in the clear, which is looked for before TLS
 * reads anything: its first byte can never begin a TLS record.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crypt_policy.h"
#include "log.h"
#include "sys.h"

static void	ctl_cb(struct loop *, struct handler *, uint32_t);
static void	ctl_timer(struct loop *, struct timer *);
static void	refill_timer(struct loop *, struct timer *);
static void	grace_timer(struct loop *, struct timer *);
static void	fail_timer(struct loop *, struct timer *);

static const char *
cli_state_str(enum cli_state st)
{
	switch (st) {
	case CLI_IDLE:			return "IDLE";
	case CLI_RESOLVING:		return "RESOLVING";
	case CLI_CONNECTING:		return "CONNECTING";
	case CLI_TLS:			return "TLS";
	case CLI_CHALLENGE_WAIT:	return "CHALLENGE_WAIT";
	case CLI_HASHING:		return "HASHING";
	case CLI_WELCOME_WAIT:		return "WELCOME_WAIT";
	case CLI_READY:			return "READY";
	case CLI_BACKOFF:		return "BACKOFF";
	case CLI_DONE:			return "DONE";
	}
	return "?";
}

static void
cli_set_state(struct cli *c, enum cli_state st)
{
	log_debug("control: %s -> %s", cli_state_str(c->state),
	    cli_state_str(st));
	c->state = st;
}

static uint32_t
ctl_mask(const struct cli *c)
{
	switch (c->state) {
	case CLI_TLS:
		return c->fail_wait ? 0 : tls_events(c->tls);
	case CLI_CHALLENGE_WAIT:
	case CLI_WELCOME_WAIT:
	case CLI_READY:
		return LOOP_IN | (c->out.len ? LOOP_OUT : 0);
	default:
		return 0;
	}
}

/* Resolves host:port into l; port 0 leaves l serving nothing. */
static int
local_set(struct cli_local *l, const char *name, const char *host, int port,
    char *err, size_t errlen)
{
	struct sockaddr_storage addr;
	socklen_t addrlen;

	if (port == 0) {
		memset(l, 0, sizeof(*l));
		(void)snprintf(l->desc, sizeof(l->desc), "nothing (no "
		    "local_port)");
		return 0;
	}
	if (cli_resolve(host, port, &addr, &addrlen, err, errlen) == -1)
		return -1;
	l->addr = addr;
	l->addrlen = addrlen;
	(void)snprintf(l->desc, sizeof(l->desc), "%s:%d", host, port);
	(void)snprintf(l->host, sizeof(l->host), "%s", name);
	l->loopback = net_is_loopback(&l->addr);
	l->set = 1;
	return 0;
}

int
cli_set_local(struct cli *c, const char *host, int port, char *err,
    size_t errlen)
{
	return local_set(&c->locals[0], "", host, port, err, errlen);
}

int
cli_set_service(struct cli *c, size_t i, const char *name, const char *host,
    int port, int passthrough, char *err, size_t errlen)
{
	if (i == 0 || i > CFG_MAX_HOSTS) {
		(void)snprintf(err, errlen, "service %zu: at most %d", i,
		    CFG_MAX_HOSTS);
		return -1;
	}
	if (local_set(&c->locals[i], name, host, port, err, errlen) == -1)
		return -1;
	c->locals[i].passthrough = passthrough;
	if (c->nlocals < i + 1)
		c->nlocals = i + 1;
	return 0;
}

int
cli_init(struct cli *c, struct loop *l, struct cfg_client *cfg,
    const char *cfg_path, int ask, int no_splice, char *err, size_t errlen)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->loop = l;
	c->cfg = cfg;
	c->cfg_path = cfg_path;
	c->ask = ask;
	c->pin_from = cfg->server_fingerprint != NULL ? (cfg_path != NULL ?
	    cfg_path : "--fingerprint") : NULL;
	c->setting_from = cfg->login_setting != NULL ? cfg_path : NULL;
	c->h.fd = -1;
	LIST_INIT(&c->proxies);
	LIST_INIT(&c->bridged);
	outbuf_init(&c->out, c->outmem, sizeof(c->outmem));
	loop_handler_init(&c->h, -1, ctl_cb);
	cli_hash_init(c);
	cli_resolve_init(c);
	cli_connect_init(c);
	loop_timer_init(&c->timer, ctl_timer);
	loop_timer_init(&c->refill, refill_timer);
	loop_timer_init(&c->grace, grace_timer);
	loop_timer_init(&c->fail_timer, fail_timer);
	c->bctx.loop = l;
	c->bctx.no_splice = no_splice;
	c->bctx.budget = CLI_PIPE_MEMORY;
	if (sys_random(&c->rng, sizeof(c->rng)) == -1)
		c->rng = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
	c->rng |= 1;
	if ((c->bctx.pipes = pipe_pool_new(32, PIPE_SIZE)) == NULL) {
		(void)snprintf(err, errlen, "pipe pool: %s", strerror(errno));
		return -1;
	}
	if (cfg_split_hostport(cfg->server_addr, c->server_host,
	    sizeof(c->server_host), &c->server_port) == -1) {
		(void)snprintf(err, errlen, "bad server_addr '%s'",
		    cfg->server_addr);
		return -1;
	}
	c->nlocals = 1;
	if (cli_set_local(c, cfg->local_host, cfg->local_port, err,
	    errlen) == -1)
		return -1;
	for (i = 0; i < cfg->nservices; i++)
		if (cli_set_service(c, i + 1, cfg->services[i].host,
		    cfg->services[i].local_host, cfg->services[i].local_port,
		    cfg->services[i].passthrough, err, errlen) == -1)
			return -1;
	if (cfg->transport == CFG_TRANSPORT_TLS &&
	    (c->tls_ctx = tls_client_ctx(c->server_host, err, errlen)) ==
	    NULL)
		return -1;
	return cli_trust_init(c, err, errlen);
}

/* Closes the control socket, keeping everything else. */
static void
ctl_close_socket(struct cli *c)
{
	cli_hash_cancel(c);
	cli_resolve_cancel(c);
	cli_connect_cancel(c);
	loop_timer_cancel(c->loop, &c->fail_timer);
	c->fail_wait = 0;
	if (c->h.fd == -1)
		return;
	loop_remove(c->loop, &c->h);
	tls_free(c->tls);
	c->tls = NULL;
	(void)sys_close(c->h.fd);
	c->h.fd = -1;
	c->inlen = 0;
	c->bindlen = 0;
	outbuf_clear(&c->out);
}

static void
ctl_backoff(struct cli *c, const char *why)
{
	uint64_t base, delay;
	uint32_t rnd = 0;

	ctl_close_socket(c);
	cli_pool_drop_idle(c);
	base = CLI_BACKOFF_MIN_MS << (c->attempt < 5 ? c->attempt : 5);
	if (base > CLI_BACKOFF_MAX_MS)
		base = CLI_BACKOFF_MAX_MS;
	(void)sys_random(&rnd, sizeof(rnd));
	/* Jitter of up to half the step: restarts do not stampede a server. */
	delay = base + rnd % (base / 2 + 1);
	if (delay > CLI_BACKOFF_MAX_MS)
		delay = CLI_BACKOFF_MAX_MS;
	c->attempt++;
	log_warnx("%s; reconnecting in %.1f s (attempt %u)", why,
	    (double)delay / 1000, c->attempt);
	cli_set_state(c, CLI_BACKOFF);
	loop_timer_set(c->loop, &c->timer, delay);
}

/*
 * A login refused before the server proved itself: anyone on the path
 * can say that, so it is retried with the backoff; but the user may have
 * a real problem to fix (a wrong password), so the full message is an
 * error line, once for as long as it stays the same, while each retry
 * logs only the short reason.
 */
static void
ctl_refused(struct cli *c, const char *msg, const char *brief)
{
	if (strcmp(msg, c->refusal) != 0) {
		log_error("%s", msg);
		(void)snprintf(c->refusal, sizeof(c->refusal), "%s", msg);
	}
	ctl_backoff(c, brief);
}

static void
ctl_done(struct cli *c, int code, const char *msg)
{
	log_error("%s", msg);
	ctl_close_socket(c);
	cli_pool_close_all(c);
	loop_timer_cancel(c->loop, &c->timer);
	loop_timer_cancel(c->loop, &c->refill);
	cli_set_state(c, CLI_DONE);
	c->exit_code = code;
	loop_stop(c->loop);
}

static void
ctl_update(struct cli *c)
{
	if (c->h.fd != -1 && loop_update(c->loop, &c->h, ctl_mask(c)) == -1)
		ctl_backoff(c, "epoll failed");
}

static int
ctl_flush(struct cli *c)
{
	if (outbuf_flush(&c->out, c->h.fd, c->tls) == -1) {
		ctl_backoff(c, "lost the server connection");
		return -1;
	}
	return 0;
}

static int
ctl_send(struct cli *c, const struct proto_msg *m)
{
	if (outbuf_frame(&c->out, m) == -1) {
		ctl_backoff(c, "control connection is not draining");
		return -1;
	}
	return ctl_flush(c);
}

void
cli_start(struct cli *c)
{
	/* Resolved anew each time: the server's address may have moved. */
	cli_set_state(c, CLI_RESOLVING);
	loop_timer_set(c->loop, &c->timer,
	    (uint64_t)c->cfg->connect_timeout * 1000);
	if (cli_resolve_start(c) == -1)
		ctl_backoff(c, "cannot start the resolver helper");
}

void
cli_resolved(struct cli *c, const char *why)
{
	if (c->state != CLI_RESOLVING)
		return;
	if (why != NULL) {
		ctl_backoff(c, why);
		return;
	}
	cli_set_state(c, CLI_CONNECTING);
	cli_connect_start(c);
}

void
cli_connect_failed(struct cli *c, int err)
{
	char msg[300];

	(void)snprintf(msg, sizeof(msg), "cannot connect to %s: %s",
	    c->cfg->server_addr, strerror(err));
	ctl_backoff(c, msg);
}

/* Sends HELLO: the login starts. */
static void
send_hello(struct cli *c)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	(void)snprintf(m.u.hello.username, sizeof(m.u.hello.username), "%s",
	    c->cfg->username);
	if (sys_random(c->cnonce, sizeof(c->cnonce)) == -1) {
		ctl_backoff(c, "no random bytes");
		return;
	}
	memcpy(m.u.hello.nonce, c->cnonce, sizeof(c->cnonce));
	cli_set_state(c, CLI_CHALLENGE_WAIT);
	loop_timer_set(c->loop, &c->timer,
	    (uint64_t)c->cfg->connect_timeout * 1000);
	(void)ctl_send(c, &m);
}

static void	on_fail(struct cli *, const struct proto_fail *);

/*
 * A FAIL in the clear instead of TLS (the server speaks another transport
 * or version): 0x05 never begins a TLS record. Return: 1 if one was read
 * and handled (or is on its way), 0 if the server has said nothing yet,
 * 2 if what it said is TLS's, -1 if c was closed.
 */
static int
plain_fail(struct cli *c)
{
	uint8_t buf[PROTO_MAX_FRAME];
	struct proto_msg m;
	size_t used;
	ssize_t n;

	n = sys_recv(c->h.fd, buf, sizeof(buf), MSG_PEEK);
	if (n == 0) {
		ctl_backoff(c, "the server closed the connection during the "
		    "TLS handshake");
		return -1;
	}
	if (n < 1)
		return 0;
	if (buf[0] != PROTO_FAIL)
		return 2;
	switch (proto_decode(buf, (size_t)n, &m, &used)) {
	case PROTO_OK:
		if (m.type == PROTO_FAIL) {
			on_fail(c, &m.u.fail);
			return 1;
		}
		break;
	case PROTO_NEED_MORE:
		/*
		 * The rest of it comes. Peeked bytes keep the socket
		 * readable: look again after a pause, not at every poll.
		 */
		c->fail_wait = 1;
		loop_timer_set(c->loop, &c->fail_timer, CLI_FAIL_PEEK_MS);
		return 1;
	default:
		break;
	}
	ctl_backoff(c, "the server answered TLS with something else");
	return -1;
}

/* The TLS handshake, the server's key, then HELLO bound to this channel. */
static void
ctl_tls(struct cli *c)
{
	char msg[1024];

	if (!c->tls_reading) {
		/* Our bytes or TLS's? Only the first one tells. */
		switch (plain_fail(c)) {
		case 0:
			break;
		case 2:
			if (tls_release_reads(c->tls, c->h.fd) == -1) {
				ctl_backoff(c, "out of memory");
				return;
			}
			c->tls_reading = 1;
			break;
		default:
			return;
		}
	}
	switch (tls_handshake(c->tls)) {
	case 0:
		return;
	case -1:
		(void)snprintf(msg, sizeof(msg), "TLS handshake with %s "
		    "failed: %s", c->cfg->server_addr, tls_error(c->tls));
		ctl_backoff(c, msg);
		return;
	}
	c->asked = 0;
	if (!cli_trust_server(c, c->tls, msg, sizeof(msg))) {
		ctl_done(c, 1, msg);
		return;
	}
	if (c->asked) {
		/*
		 * The user took their time; the server gives a handshake
		 * seconds. Start afresh, pinned now: no error to show.
		 */
		ctl_close_socket(c);
		cli_start(c);
		return;
	}
	/* Tickets from a trusted server may resume the pool's handshakes. */
	tls_trust(c->tls);
	if (tls_exporter(c->tls, c->bind) == -1) {
		ctl_backoff(c, "TLS gave no channel binding");
		return;
	}
	c->bindlen = TLS_EXPORTER_LEN;
	send_hello(c);
}

static void
ctl_connected(struct cli *c)
{
	uint8_t pre[PROTO_PREAMBLE_LEN];
	char err[256];
	int e = net_connect_result(c->h.fd);

	if (e != 0) {
		(void)snprintf(err, sizeof(err), "cannot connect to %s: %s",
		    c->cfg->server_addr, strerror(e));
		ctl_backoff(c, err);
		return;
	}
	(void)net_nodelay(c->h.fd);
	(void)sys_tcp_keepalive(c->h.fd, 15, 5, 3);
	(void)sys_tcp_user_timeout(c->h.fd, 30000);
	outbuf_clear(&c->out);
	/* It fits in an empty outbuf. */
	(void)outbuf_put(&c->out, pre, proto_preamble(pre,
	    c->tls_ctx != NULL ? PROTO_TRANSPORT_TLS : PROTO_TRANSPORT_PLAIN));
	if (c->tls_ctx == NULL) {
		send_hello(c);		/* with the preamble, one segment */
		return;
	}
	/* The preamble goes in the clear, before the ClientHello. */
	if (ctl_flush(c) == -1)
		return;
	if (c->out.len != 0) {
		ctl_backoff(c, "the server connection does not take 6 bytes");
		return;
	}
	if ((c->tls = tls_new(c->tls_ctx, c->h.fd)) == NULL ||
	    tls_hold_reads(c->tls) == -1) {
		ctl_backoff(c, "out of memory");
		return;
	}
	c->tls_reading = 0;
	cli_set_state(c, CLI_TLS);
	loop_timer_set(c->loop, &c->timer,
	    (uint64_t)c->cfg->connect_timeout * 1000);
	ctl_tls(c);
}

void
cli_connected(struct cli *c, int fd)
{
	if (c->state != CLI_CONNECTING) {
		(void)sys_close(fd);
		return;
	}
	loop_handler_init(&c->h, fd, ctl_cb);
	ctl_connected(c);
	ctl_update(c);
}

/* Sends PROOF, now that the salted password is known. */
static void
send_proof(struct cli *c)
{
	struct proto_msg m;

	auth_derive_keys(c->salted, c->client_key, &c->keys);
	c->amlen = auth_message(c->am, sizeof(c->am), c->cfg->username,
	    c->cnonce, c->snonce, c->setting, c->bind, c->bindlen);
	if (c->amlen == 0) {
		ctl_backoff(c, "login message too long");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PROOF;
	auth_client_proof(c->client_key, &c->keys, c->am, c->amlen,
	    m.u.proof.proof);
	cli_set_state(c, CLI_WELCOME_WAIT);
	(void)ctl_send(c, &m);
	ctl_update(c);
}

void
cli_hash_done(struct cli *c, const char *salted, const char *why)
{
	if (c->state != CLI_HASHING)
		return;
	if (salted == NULL) {
		ctl_backoff(c, why);
		return;
	}
	(void)snprintf(c->salted, sizeof(c->salted), "%s", salted);
	(void)snprintf(c->salted_for, sizeof(c->salted_for), "%s",
	    c->setting);
	send_proof(c);
}

static void
on_challenge(struct cli *c, const struct proto_challenge *ch)
{
	char why[256], msg[512];

	/* Before anything is derived from the password (crypt_policy.h). */
	if (crypt_policy_check(ch->setting, why, sizeof(why)) == -1) {
		(void)snprintf(msg, sizeof(msg), "the server offered a "
		    "password setting this client refuses: %s (a tunnel-server "
		    "refuses to load such a hash: rehash it with "
		    "tunnel-server --hash-password; if it did not come from "
		    "your server, check server_addr: an impostor may be on "
		    "the path)", why);
		ctl_refused(c, msg, "refused the server's password setting");
		return;
	}
	if (!cli_setting_check(c, ch->setting, msg, sizeof(msg))) {
		ctl_done(c, 1, msg);
		return;
	}
	(void)snprintf(c->setting, sizeof(c->setting), "%s", ch->setting);
	memcpy(c->snonce, ch->nonce, sizeof(c->snonce));
	if (strcmp(ch->setting, c->salted_for) == 0) {
		send_proof(c);		/* cached: a reconnect costs nothing */
		return;
	}
	/* The one slow step (10-200 ms), in a child so nothing stalls. */
	if (cli_hash_start(c, ch->setting) == -1) {
		/* Why, for a spawn that fails now and then (Wine). */
		(void)snprintf(msg, sizeof(msg), "cannot start hashing the "
		    "password (%s)", strerror(errno));
		ctl_backoff(c, msg);
		return;
	}
	cli_set_state(c, CLI_HASHING);
}

/* ROUTE: where the server serves one of our names, or why it does not. */
static void
on_route(struct cli *c, const struct proto_route *r)
{
	char esc[PROTO_MAX_REASON * 4 + 1], url[PROTO_MAX_HOST + 32];

	if (r->index >= c->nlocals) {
		ctl_backoff(c, "protocol error: ROUTE for a service we did "
		    "not ask for");
		return;
	}
	if (!r->ok) {
		log_warnx("service %s (-> %s) refused by the server: %s",
		    c->locals[r->index].host, c->locals[r->index].desc,
		    log_escape(esc, sizeof(esc), r->reason,
		    strlen(r->reason)));
		return;
	}
	if (r->https_port == 0 && r->http_port == 0) {
		/* https_port only, and no certificate yet (acme: ordering). */
		log_info("tunnel up: %s -> %s%s, with no URL yet: the server "
		    "has no certificate for it (it says when it has)",
		    r->host, c->locals[r->index].desc,
		    c->locals[r->index].passthrough ? " (TLS passthrough)" : "");
		return;
	}
	if (r->https_port != 0)
		(void)snprintf(url, sizeof(url), r->https_port == 443 ?
		    "https://%s/" : "https://%s:%u/", r->host, r->https_port);
	else if (r->http_port == 80)
		(void)snprintf(url, sizeof(url), "http://%s/", r->host);
	else
		(void)snprintf(url, sizeof(url), "http://%s:%u/", r->host,
		    r->http_port);
	log_info("tunnel up: %s -> %s%s", url, c->locals[r->index].desc,
	    c->locals[r->index].passthrough ? " (TLS passthrough)" : "");
}

static void
on_welcome(struct cli *c, const struct proto_welcome *w)
{
	uint8_t sig[PROTO_KEY_LEN];
	size_t i;
	char addr[PROTO_MAX_ADDR * 4 + 1];

	auth_server_signature(&c->keys, c->am, c->amlen, sig);
	if (!auth_ct_equal(sig, w->signature, sizeof(sig))) {
		ctl_done(c, 1, "the server could not prove it knows the "
		    "password: refusing it (wrong server_addr, or an impostor)");
		return;
	}
	if (w->pool_size == 0 || w->pool_size > PROTO_MAX_POOL) {
		(void)snprintf(addr, sizeof(addr), "the server asked for a "
		    "pool of %u connections (allowed 1..%d)", w->pool_size,
		    PROTO_MAX_POOL);
		ctl_backoff(c, addr);
		return;
	}
	if (w->heartbeat_s == 0 || w->heartbeat_s > 3600) {
		ctl_backoff(c, "the server sent an unusable heartbeat interval");
		return;
	}
	c->epoch++;
	memcpy(c->sid, w->session_id, sizeof(c->sid));
	auth_session_key(c->client_key, c->am, c->amlen, c->skey);
	auth_wipe(c->client_key, sizeof(c->client_key));
	c->counter = 0;
	memset(c->took, 0, sizeof(c->took));
	c->pool_size = w->pool_size;
	c->heartbeat_s = w->heartbeat_s;
	c->attempt = 0;
	c->refusal[0] = '\0';	/* a later refusal is news again */
	c->refill_failures = 0;
	c->last_rx_ms = loop_now(c->loop);
	cli_set_state(c, CLI_READY);
	/* Where visitors go: our server host with the public port. */
	if (strchr(c->server_host, ':') != NULL)
		(void)snprintf(addr, sizeof(addr), "[%s]:%u", c->server_host,
		    w->public_port);
	else
		(void)snprintf(addr, sizeof(addr), "%s:%u", c->server_host,
		    w->public_port);
	log_info("tunnel up: %s -> %s (user %s, pool %u)", addr,
	    c->locals[0].desc, c->cfg->username, c->pool_size);
	/* Then the names served besides the raw port: a ROUTE answers each. */
	for (i = 1; i < c->nlocals; i++) {
		struct proto_msg m;

		memset(&m, 0, sizeof(m));
		m.type = PROTO_SERVICE;
		m.u.service.index = (uint8_t)i;
		if (c->locals[i].passthrough)
			m.u.service.flags = PROTO_SERVICE_PASSTHROUGH;
		(void)snprintf(m.u.service.host, sizeof(m.u.service.host),
		    "%s", c->locals[i].host);
		if (ctl_send(c, &m) == -1)
			return;
	}
	/* The server has proven itself: what it showed is kept. */
	cli_trust_save(c);
	cli_setting_record(c);
	c->was_up = 1;
	loop_timer_set(c->loop, &c->timer,
	    (uint64_t)c->heartbeat_s * 1000);
	cli_pool_fill(c);
}

/*
 * A FAIL before WELCOME's signature has been checked proves nothing: an
 * impostor, or anyone on the path, can send "wrong password" or "another
 * version" to stop a client for good. So those are retried with the
 * backoff, and the full message (a wrong password is the usual cause, and
 * the user must see it) is logged once for as long as it repeats. Only a
 * proven server's FAIL can end the client: a newer login of the same user
 * took the session over, and fighting it back would go on for ever.
 */
static void
on_fail(struct cli *c, const struct proto_fail *f)
{
	char esc[PROTO_MAX_REASON * 4 + 1], msg[PROTO_MAX_REASON * 4 + 256];
	char brief[PROTO_MAX_REASON * 4 + 64];

	(void)log_escape(esc, sizeof(esc), f->reason, strlen(f->reason));
	if (c->state != CLI_READY) {
		if (f->code == PROTO_FAIL_CREDENTIALS)
			(void)snprintf(msg, sizeof(msg), "login refused: wrong "
			    "username or password for user '%s' (the server "
			    "has not proven itself, so it may also be an "
			    "impostor; retrying with backoff)",
			    c->cfg->username);
		else if (f->code == PROTO_FAIL_VERSION)
			(void)snprintf(msg, sizeof(msg), "the server speaks "
			    "another protocol version: %s (retrying with "
			    "backoff)", esc);
		else if (f->code == PROTO_FAIL_TRANSPORT &&
		    c->cfg->transport == CFG_TRANSPORT_TLS)
			/*
			 * Sent in the clear, so anyone on the path could:
			 * never pass on advice to give up encryption.
			 */
			(void)snprintf(msg, sizeof(msg), "the server refused "
			    "transport: tls: %s (an answer in the clear, which "
			    "anyone on the path could forge: set transport: "
			    "plain only if you run that server so and the "
			    "link is private; retrying with backoff)", esc);
		else if (f->code == PROTO_FAIL_TRANSPORT)
			(void)snprintf(msg, sizeof(msg), "the server refused "
			    "transport: %s: %s (retrying with backoff)",
			    cfg_transport_str(c->cfg->transport), esc);
		else
			msg[0] = '\0';
		(void)snprintf(brief, sizeof(brief), "login refused by the "
		    "server: %s (%s)", proto_fail_str(f->code), esc);
		if (msg[0] != '\0')
			ctl_refused(c, msg, brief);
		else
			ctl_backoff(c, brief);
		return;
	}
	switch (f->code) {
	case PROTO_FAIL_REPLACED:
		(void)snprintf(msg, sizeof(msg), "this session was taken over "
		    "(%s): another tunnel-client logged in as '%s'", esc,
		    c->cfg->username);
		ctl_done(c, 1, msg);
		return;
	default:
		(void)snprintf(msg, sizeof(msg), "server closed the session: "
		    "%s (%s)", proto_fail_str(f->code), esc);
		ctl_backoff(c, msg);
		return;
	}
}

static void
ctl_frame(struct cli *c, const struct proto_msg *m)
{
	struct proto_msg reply;

	if (m->type == PROTO_FAIL) {
		on_fail(c, &m->u.fail);
		return;
	}
	switch (c->state) {
	case CLI_CHALLENGE_WAIT:
		if (m->type == PROTO_CHALLENGE) {
			on_challenge(c, &m->u.challenge);
			return;
		}
		break;
	case CLI_WELCOME_WAIT:
		if (m->type == PROTO_WELCOME) {
			on_welcome(c, &m->u.welcome);
			return;
		}
		break;
	case CLI_READY:
		if (m->type == PROTO_PING) {
			memset(&reply, 0, sizeof(reply));
			reply.type = PROTO_PONG;
			reply.u.ping.seq = m->u.ping.seq;
			(void)ctl_send(c, &reply);
			return;
		}
		if (m->type == PROTO_PONG)
			return;
		if (m->type == PROTO_ROUTE) {
			on_route(c, &m->u.route);
			return;
		}
		if (m->type == PROTO_WITHDRAW) {
			memset(&reply, 0, sizeof(reply));
			reply.type = PROTO_WITHDRAWN;
			reply.u.withdraw.counter = m->u.withdraw.counter;
			reply.u.withdraw.taken = (uint8_t)cli_pool_withdraw(c,
			    m->u.withdraw.counter);
			(void)ctl_send(c, &reply);
			return;
		}
		if (m->type == PROTO_REFRESH) {
			log_info("the server found idle proxy connections "
			    "dead: dialing a new pool");
			cli_pool_drop_idle(c);
			c->refill_failures = 0;
			cli_pool_fill(c);
			return;
		}
		break;
	default:
		break;
	}
	ctl_backoff(c, "protocol error: the server sent an unexpected frame");
}

static void
ctl_read(struct cli *c)
{
	struct proto_msg m;
	enum proto_result r;
	size_t used;
	ssize_t n;
	char msg[128];

again:
	n = link_recv(c->h.fd, c->tls, c->in + c->inlen,
	    sizeof(c->in) - c->inlen);
	/*
	 * Servers close the control connection without close_notify; only
	 * visitors' streams need it to tell a clean end from a cut one.
	 */
	if (n == -1 && c->tls != NULL && errno == ECONNRESET)
		n = 0;
	if (n == 0) {
		ctl_backoff(c, c->state == CLI_READY ? "the server closed "
		    "the connection" : "the server closed the connection "
		    "during login");
		return;
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		(void)snprintf(msg, sizeof(msg), "lost the server connection: "
		    "%s", c->tls != NULL ? tls_error(c->tls) :
		    strerror(errno));
		ctl_backoff(c, msg);
		return;
	}
	c->inlen += (size_t)n;
	c->last_rx_ms = loop_now(c->loop);
	for (;;) {
		enum cli_state before = c->state;

		r = proto_decode(c->in, c->inlen, &m, &used);
		if (r == PROTO_NEED_MORE)
			break;
		if (r != PROTO_OK) {
			(void)snprintf(msg, sizeof(msg), "protocol error from "
			    "the server: %s", proto_result_str(r));
			ctl_backoff(c, msg);
			return;
		}
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		ctl_frame(c, &m);
		if (c->state != before && c->state != CLI_READY &&
		    c->state != CLI_WELCOME_WAIT)
			return;
		if (c->h.fd == -1)
			return;
	}
	/* Frames TLS holds already decrypted: epoll will not report them. */
	if (c->tls != NULL && tls_pending(c->tls))
		goto again;
}

static void
ctl_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct cli *c = container_of(h, struct cli, h);

	(void)l;
	if (h->fd == -1)
		return;		/* closed earlier in this batch */
	if (c->state == CLI_TLS) {
		ctl_tls(c);
		ctl_update(c);
		return;
	}
	if ((events & LOOP_OUT) && ctl_flush(c) == -1)
		return;
	if (events & (LOOP_IN | LOOP_ERR | LOOP_HUP))
		ctl_read(c);
	ctl_update(c);
}

static void
ctl_timer(struct loop *l, struct timer *t)
{
	struct cli *c = container_of(t, struct cli, timer);
	struct proto_msg m;
	char why[320];

	switch (c->state) {
	case CLI_BACKOFF:
		log_debug("connecting to %s (attempt %u)", c->cfg->server_addr,
		    c->attempt);
		cli_start(c);
		break;
	case CLI_RESOLVING:
		(void)snprintf(why, sizeof(why), "cannot resolve %s: no answer "
		    "within %d s", c->server_host, c->cfg->connect_timeout);
		ctl_backoff(c, why);
		break;
	case CLI_CONNECTING:
	case CLI_TLS:
	case CLI_CHALLENGE_WAIT:
	case CLI_HASHING:
	case CLI_WELCOME_WAIT:
		ctl_backoff(c, "the server did not answer in time");
		break;
	case CLI_READY:
		if (loop_now(l) - c->last_rx_ms >
		    (uint64_t)c->heartbeat_s * CLI_DEAD_MISSES * 1000) {
			ctl_backoff(c, "no heartbeat from the server");
			return;
		}
		memset(&m, 0, sizeof(m));
		m.type = PROTO_PING;
		m.u.ping.seq = ++c->ping_seq;
		if (ctl_send(c, &m) == -1)
			return;
		ctl_update(c);
		loop_timer_set(l, t, (uint64_t)c->heartbeat_s * 1000);
		break;
	default:
		break;
	}
}

static void
refill_timer(struct loop *l, struct timer *t)
{
	struct cli *c = container_of(t, struct cli, refill);

	(void)l;
	cli_pool_fill(c);
}

/* Says goodbye and closes everything but the bridged visitors. */
static void
stop_session(struct cli *c)
{
	struct proto_msg m;

	if (c->state == CLI_READY) {
		memset(&m, 0, sizeof(m));
		m.type = PROTO_FAIL;
		m.u.fail.code = PROTO_FAIL_SHUTDOWN;
		(void)snprintf(m.u.fail.reason, sizeof(m.u.fail.reason),
		    "client stopping");
		(void)ctl_send(c, &m);
	}
	ctl_close_socket(c);
	cli_pool_close_proxies(c);
	loop_timer_cancel(c->loop, &c->timer);
	if (c->state != CLI_DONE)
		cli_set_state(c, CLI_DONE);
}

void
cli_stop(struct cli *c)
{
	stop_session(c);
	loop_timer_cancel(c->loop, &c->grace);
	cli_pool_close_all(c);
}

int
cli_drain(struct cli *c)
{
	size_t n = 0;
	struct cli_visitor *cv;

	stop_session(c);
	LIST_FOREACH(cv, &c->bridged, entry)
		n++;
	if (n == 0 || c->cfg->shutdown_grace == 0) {
		cli_stop(c);
		return 1;
	}
	log_info("%zu bridged visitor%s may finish within %d s", n,
	    n == 1 ? "" : "s", c->cfg->shutdown_grace);
	loop_timer_set(c->loop, &c->grace,
	    (uint64_t)c->cfg->shutdown_grace * 1000);
	return 0;
}

void
cli_bridges_done(struct cli *c)
{
	if (!loop_timer_armed(&c->grace))
		return;		/* not draining */
	loop_timer_cancel(c->loop, &c->grace);
	log_info("every bridged visitor finished: stopping");
	loop_stop(c->loop);
}

/* A FAIL in the clear was partly there: look again. */
static void
fail_timer(struct loop *l, struct timer *t)
{
	struct cli *c = container_of(t, struct cli, fail_timer);

	(void)l;
	c->fail_wait = 0;
	if (c->state != CLI_TLS)
		return;
	ctl_tls(c);
	ctl_update(c);
}

static void
grace_timer(struct loop *l, struct timer *t)
{
	struct cli *c = container_of(t, struct cli, grace);

	log_info("shutdown_grace of %d s is over: resetting the bridged "
	    "visitors left", c->cfg->shutdown_grace);
	cli_pool_close_all(c);
	loop_stop(l);
}

void
cli_free(struct cli *c)
{
	pipe_pool_free(c->bctx.pipes);
	tls_ctx_free(c->tls_ctx);
	c->tls_ctx = NULL;
	auth_wipe(c->salted, sizeof(c->salted));
	auth_wipe(c->skey, sizeof(c->skey));
	auth_wipe(&c->keys, sizeof(c->keys));
}
