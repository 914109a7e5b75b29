/*
 * proxyproto: the PROXY protocol header (HAProxy's "PROXY protocol"
 * specification, version 1 text and version 2 binary) that tells a
 * local service behind nginx, HAProxy, Caddy or Traefik which public
 * address a tunneled connection came from. Pure: builds bytes, no I/O.
 */
#ifndef TUNNEL_PROXYPROTO_H
#define TUNNEL_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROXYPROTO_OFF	0
#define PROXYPROTO_V1	1
#define PROXYPROTO_V2	2
/* The longest header: v1's "PROXY TCP6" with two full IPv6 addresses is
   104 bytes, v2's with them 52. */
#define PROXYPROTO_MAX	108

/*
 * Writes into out the header of version (PROXYPROTO_V1 or _V2) saying a
 * TCP connection came from src to dst, each "ip:port" or "[ipv6]:port"
 * as the tunnel's START carries them. An IPv4 address beside an IPv6 one
 * is written as its IPv4-mapped IPv6 form, since both must share a family.
 * If either is empty or not a numeric address, the header says the
 * addresses are unknown (v1 "PROXY UNKNOWN", v2 the LOCAL command) and the
 * receiver uses the connection's own.
 * Return: the header's length, or -1 if version is neither or cap is
 * below PROXYPROTO_MAX.
 */
int	proxyproto_header(int version, const char *src, const char *dst,
	    uint8_t *out, size_t cap);

/* "v1", "v2" or "off". */
const char *proxyproto_str(int version);

#endif
