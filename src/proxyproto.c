/*
 * proxyproto: PROXY protocol headers, version 1 and 2.
 *
 * The client writes one before the first visitor byte reaches the local
 * service; nothing is read back. Version 1 is a text line:
 *
 *   PROXY TCP4 203.0.113.9 198.51.100.1 37278 443\r\n
 *
 * version 2 a binary block: a 12-byte signature, the version and command
 * (0x21: version 2, PROXY; 0x20: LOCAL, for unknown addresses), the family and transport (0x11 TCP over IPv4,
 * 0x21 TCP over IPv6, 0x00 unspecified), the length of what follows, and
 * then source and destination addresses and ports in network order.
 *
 * The addresses come as the strings START carries, which the server
 * printed itself (net_addr_str): parsing them back here keeps the wire
 * format human-readable for the logs, and anything that does not parse
 * becomes the "unknown" header rather than a guess.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

struct pp_addr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 ip[16];	/* 4 or 16 bytes used */
	unsigned	 port;
};

/* "a.b.c.d:port" or "[v6]:port", numeric. Return: 0 or -1. */
static int
parse(const char *s, struct pp_addr *a)
{
	char host[64];
	const char *colon, *p;
	size_t n;
	unsigned long port;
	char *end;

	if (s == NULL || *s == '\0')
		return -1;
	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL || p[1] != ':')
			return -1;
		n = (size_t)(p - s - 1);
		if (n == 0 || n >= sizeof(host))
			return -1;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		colon = p + 1;
		a->family = AF_INET6;
	} else {
		if ((colon = strchr(s, ':')) == NULL || strchr(colon + 1, ':'))
			return -1;
		n = (size_t)(colon - s);
		if (n == 0 || n >= sizeof(host))
			return -1;
		memcpy(host, s, n);
		host[n] = '\0';
		a->family = AF_INET;
	}
	if (colon[1] < '0' || colon[1] > '9')
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port > 65535)
		return -1;
	a->port = (unsigned)port;
	if (inet_pton(a->family, host, a->ip) != 1)
		return -1;
	return 0;
}

/* An IPv4 address as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
static void
map6(struct pp_addr *a)
{
	uint8_t v4[4];

	if (a->family != AF_INET)
		return;
	memcpy(v4, a->ip, 4);
	memset(a->ip, 0, 10);
	a->ip[10] = a->ip[11] = 0xff;
	memcpy(a->ip + 12, v4, 4);
	a->family = AF_INET6;
}

static int
v1(const struct pp_addr *s, const struct pp_addr *d, int known, uint8_t *out,
    size_t cap)
{
	char sip[INET6_ADDRSTRLEN], dip[INET6_ADDRSTRLEN];
	int n;

	if (!known) {
		n = snprintf((char *)out, cap, "PROXY UNKNOWN\r\n");
	} else {
		(void)inet_ntop(s->family, s->ip, sip, sizeof(sip));
		(void)inet_ntop(d->family, d->ip, dip, sizeof(dip));
		n = snprintf((char *)out, cap, "PROXY %s %s %s %u %u\r\n",
		    s->family == AF_INET ? "TCP4" : "TCP6", sip, dip, s->port,
		    d->port);
	}
	return n > 0 && (size_t)n < cap ? n : -1;
}

static int
v2(const struct pp_addr *s, const struct pp_addr *d, int known, uint8_t *out)
{
	size_t alen = !known ? 0 : s->family == AF_INET ? 4 : 16, len, off;

	memcpy(out, v2_sig, sizeof(v2_sig));
	/*
	 * Unknown addresses: the LOCAL command, which a receiver must accept
	 * and answer with the connection's own addresses (PROXY with
	 * AF_UNSPEC it may refuse).
	 */
	out[12] = known ? 0x21 : 0x20;		/* version 2, PROXY / LOCAL */
	out[13] = !known ? 0x00 : s->family == AF_INET ? 0x11 : 0x21;
	len = alen == 0 ? 0 : 2 * alen + 4;
	out[14] = (uint8_t)(len >> 8);
	out[15] = (uint8_t)len;
	off = 16;
	if (alen != 0) {
		memcpy(out + off, s->ip, alen);
		memcpy(out + off + alen, d->ip, alen);
		off += 2 * alen;
		out[off++] = (uint8_t)(s->port >> 8);
		out[off++] = (uint8_t)s->port;
		out[off++] = (uint8_t)(d->port >> 8);
		out[off++] = (uint8_t)d->port;
	}
	return (int)off;
}

int
proxyproto_header(int version, const char *src, const char *dst,
    uint8_t *out, size_t cap)
{
	struct pp_addr s, d;
	int known;

	if ((version != PROXYPROTO_V1 && version != PROXYPROTO_V2) ||
	    cap < PROXYPROTO_MAX)
		return -1;
	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	known = parse(src, &s) == 0 && parse(dst, &d) == 0;
	if (known && s.family != d.family) {
		map6(&s);
		map6(&d);
	}
	return version == PROXYPROTO_V1 ? v1(&s, &d, known, out, cap) :
	    v2(&s, &d, known, out);
}

const char *
proxyproto_str(int version)
{
	switch (version) {
	case PROXYPROTO_V1:
		return "v1";
	case PROXYPROTO_V2:
		return "v2";
	default:
		return "off";
	}
}
