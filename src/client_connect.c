/*
 * client_connect: connecting the control connection to whichever of the
 * server's addresses answers first, in the manner of RFC 8305 ("Happy
 * Eyeballs"). A name often has an IPv6 and an IPv4 address, and one of
 * them may be broken (no route, a firewall that drops SYNs): trying only
 * the first would leave the client reconnecting forever to a dead one.
 *
 * The addresses are ordered by alternating families, starting with the
 * family getaddrinfo put first (it already sorts by RFC 6724). The first
 * connect starts at once; while none has connected, the next starts
 * CLI_STAGGER_MS later, or at once when an attempt fails. The first to
 * connect wins, becomes the control connection, and its address is the
 * one the pool dials; the rest are closed. The whole race is bounded by
 * the control session's connect timeout (client.c).
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "sys.h"

static void	attempt_cb(struct loop *, struct handler *, uint32_t);
static void	stagger_cb(struct loop *, struct timer *);

void
cli_connect_init(struct cli *c)
{
	size_t i;

	for (i = 0; i < CLI_MAX_ADDRS; i++) {
		c->attempts[i].cli = c;
		loop_handler_init(&c->attempts[i].h, -1, attempt_cb);
	}
	loop_timer_init(&c->stagger, stagger_cb);
}

/* Interleaves families: A1 B1 A2 B2 ..., A the family of addrs[0]. */
static void
order_addrs(struct cli *c)
{
	struct sockaddr_storage a[CLI_MAX_ADDRS];
	socklen_t al[CLI_MAX_ADDRS];
	size_t i, n = 0, first = 0, other = 0;
	sa_family_t fam = c->addrs[0].ss_family;

	while (n < c->naddrs) {
		while (first < c->naddrs && c->addrs[first].ss_family != fam)
			first++;
		if (first < c->naddrs) {
			a[n] = c->addrs[first];
			al[n++] = c->addrlens[first++];
		}
		while (other < c->naddrs && c->addrs[other].ss_family == fam)
			other++;
		if (other < c->naddrs) {
			a[n] = c->addrs[other];
			al[n++] = c->addrlens[other++];
		}
	}
	for (i = 0; i < n; i++) {
		c->addrs[i] = a[i];
		c->addrlens[i] = al[i];
	}
}

static size_t
in_flight(const struct cli *c)
{
	size_t i, n = 0;

	for (i = 0; i < CLI_MAX_ADDRS; i++)
		if (c->attempts[i].h.fd != -1)
			n++;
	return n;
}

static void
attempt_close(struct cli *c, struct cli_attempt *a)
{
	if (a->h.fd != -1)
		loop_close(c->loop, &a->h);
}

/*
 * Starts the next address that can be started. Return: 0, or -1 when
 * none is left and none is in flight (the race is lost; the caller says
 * so, since it may be inside a callback).
 */
static int
launch_next(struct cli *c)
{
	struct cli_attempt *a;
	int fd;

	loop_timer_cancel(c->loop, &c->stagger);
	while (c->next_addr < c->naddrs) {
		a = &c->attempts[c->next_addr];
		a->addr = c->next_addr++;
		fd = net_connect(&c->addrs[a->addr], c->addrlens[a->addr]);
		if (fd == -1) {
			c->connect_err = errno;
			continue;
		}
		loop_handler_init(&a->h, fd, attempt_cb);
		if (loop_update(c->loop, &a->h, LOOP_OUT) == -1) {
			c->connect_err = errno;
			(void)sys_close(fd);
			a->h.fd = -1;
			continue;
		}
		if (c->next_addr < c->naddrs)
			loop_timer_set(c->loop, &c->stagger,
			    CLI_STAGGER_MS);
		return 0;
	}
	return in_flight(c) > 0 ? 0 : -1;
}

void
cli_connect_start(struct cli *c)
{
	cli_connect_cancel(c);
	order_addrs(c);
	c->next_addr = 0;
	c->connect_err = ECONNREFUSED;
	if (launch_next(c) == -1)
		cli_connect_failed(c, c->connect_err);
}

void
cli_connect_cancel(struct cli *c)
{
	size_t i;

	loop_timer_cancel(c->loop, &c->stagger);
	for (i = 0; i < CLI_MAX_ADDRS; i++)
		attempt_close(c, &c->attempts[i]);
}

static void
attempt_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct cli_attempt *a = container_of(h, struct cli_attempt, h);
	struct cli *c = a->cli;
	int e, fd;

	(void)l;
	(void)events;
	if (h->fd == -1)
		return;		/* lost the race earlier in this batch */
	e = net_connect_result(h->fd);
	if (e != 0) {
		log_debug("connect to address %zu of %s: %s", a->addr + 1,
		    c->server_host, strerror(e));
		c->connect_err = e;
		attempt_close(c, a);
		if (launch_next(c) == -1)
			cli_connect_failed(c, e);
		return;
	}
	/* The winner: its fd leaves epoll and becomes the control socket. */
	fd = h->fd;
	loop_remove(c->loop, h);
	h->fd = -1;
	c->server_addr = c->addrs[a->addr];
	c->server_addrlen = c->addrlens[a->addr];
	cli_connect_cancel(c);
	cli_connected(c, fd);
}

static void
stagger_cb(struct loop *l, struct timer *t)
{
	struct cli *c = container_of(t, struct cli, stagger);

	(void)l;
	if (launch_next(c) == -1)
		cli_connect_failed(c, c->connect_err);
}
