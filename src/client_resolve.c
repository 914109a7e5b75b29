/*
 * client_resolve: name lookup, which only the client needs (server_addr
 * and local_host may be names). Kept out of the shared net module so the
 * server never references getaddrinfo and can be linked statically (see
 * the Makefile): glibc's resolver needs its shared NSS modules at run time.
 *
 * local_host is resolved once, at start, before the loop runs. server_addr
 * is resolved again before every connect (the server may have moved), and
 * a resolver can hang for as long as its DNS server likes: that lookup
 * runs in a helper process (client_helper.c) the loop watches, bounded by
 * the connect timeout. A numeric address needs no helper.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "client.h"

static void	resolve_done(struct cli_helper *, int);

int
cli_resolve(const char *host, int port, struct sockaddr_storage *out,
    socklen_t *outlen, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char service[16];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	(void)snprintf(service, sizeof(service), "%d", port);
	r = getaddrinfo(host, service, &hints, &res);
	if (r == EAI_BADFLAGS || (r != 0 && res == NULL &&
	    hints.ai_flags & AI_ADDRCONFIG)) {
		/* Loopback-only hosts have no "configured" address family. */
		hints.ai_flags = AI_NUMERICSERV;
		r = getaddrinfo(host, service, &hints, &res);
	}
	if (r != 0) {
		(void)snprintf(err, errlen, "cannot resolve %s: %s", host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*outlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

void
cli_resolve_init(struct cli *c)
{
	cli_helper_init(&c->resolver, c->loop, resolve_done);
}

void
cli_resolve_cancel(struct cli *c)
{
	cli_helper_cancel(&c->resolver);
}

/* A literal IPv4 or IPv6 address: no lookup. Return: 1 if it was one. */
static int
numeric(struct cli *c)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->addrs[0];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c->addrs[0];

	memset(&c->addrs[0], 0, sizeof(c->addrs[0]));
	if (inet_pton(AF_INET, c->server_host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)c->server_port);
		c->addrlens[0] = sizeof(*sin);
	} else if (inet_pton(AF_INET6, c->server_host, &sin6->sin6_addr) ==
	    1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)c->server_port);
		c->addrlens[0] = sizeof(*sin6);
	} else {
		return 0;
	}
	c->naddrs = 1;
	return 1;
}

int
cli_resolve_start(struct cli *c)
{
	char in[sizeof(c->server_host) + 16];
	size_t hl = strlen(c->server_host);
	int pl;

	cli_resolve_cancel(c);
	c->naddrs = 0;
	if (numeric(c)) {
		cli_resolved(c, NULL);
		return 0;
	}
	memcpy(in, c->server_host, hl + 1);
	pl = snprintf(in + hl + 1, sizeof(in) - hl - 1, "%d", c->server_port);
	return cli_helper_start(&c->resolver, "resolve", in,
	    hl + 1 + (size_t)pl + 1);
}

static void
resolve_done(struct cli_helper *hp, int ok)
{
	struct cli *c = container_of(hp, struct cli, resolver);
	char why[300];
	size_t off = 1;
	socklen_t alen;

	c->naddrs = 0;
	if (ok && hp->len > 0 && hp->buf[0] == 'E') {
		(void)snprintf(why, sizeof(why), "cannot resolve %s: %.*s",
		    c->server_host, (int)(hp->len - 1), hp->buf + 1);
		cli_resolved(c, why);
		return;
	}
	if (!ok || hp->len == 0 || hp->buf[0] != 'A') {
		(void)snprintf(why, sizeof(why), "cannot resolve %s: the "
		    "resolver helper failed", c->server_host);
		cli_resolved(c, why);
		return;
	}
	while (off + sizeof(alen) <= hp->len && c->naddrs < CLI_MAX_ADDRS) {
		memcpy(&alen, hp->buf + off, sizeof(alen));
		off += sizeof(alen);
		if ((size_t)alen > sizeof(c->addrs[0]) ||
		    off + (size_t)alen > hp->len)
			break;
		memset(&c->addrs[c->naddrs], 0, sizeof(c->addrs[0]));
		memcpy(&c->addrs[c->naddrs], hp->buf + off, alen);
		c->addrlens[c->naddrs++] = alen;
		off += alen;
	}
	hp->len = 0;
	if (c->naddrs == 0) {
		(void)snprintf(why, sizeof(why), "cannot resolve %s: no "
		    "address", c->server_host);
		cli_resolved(c, why);
		return;
	}
	cli_resolved(c, NULL);
}
