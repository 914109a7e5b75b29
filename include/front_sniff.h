/*
 * front_sniff: which host name a public visitor asks for, read from the
 * first bytes it sends, before anything is answered: the server_name of a
 * TLS ClientHello (RFC 6066), or the Host header of an HTTP/1.x request
 * (RFC 9112). The HTTPS front routes on it. Pure functions: no I/O, no
 * allocation, every length checked against what was given, so they are
 * unit-tested and fuzzed on their own.
 *
 * Both take everything the visitor sent so far and say whether more is
 * needed; what they accept is deliberately narrow, since a name that
 * routes somewhere must be exactly one the configuration could hold.
 */
#ifndef TUNNEL_FRONT_SNIFF_H
#define TUNNEL_FRONT_SNIFF_H

#include <stddef.h>
#include <stdint.h>

#define FRONT_MAX_NAME		253	/* a DNS name, without the final dot */
#define FRONT_MAX_HELLO		16384	/* ClientHello bytes, all records */
#define FRONT_MAX_HEAD		8192	/* HTTP request line and headers */

enum front_sniff {
	FRONT_NEED_MORE = 0,	/* a valid prefix: read more and ask again */
	FRONT_FOUND,		/* name holds the host name, lowercased */
	FRONT_NO_NAME,		/* well formed, but names no host: a
				   ClientHello without server_name, an
				   HTTP/1.0 request without Host, an IP
				   literal */
	FRONT_BAD,		/* malformed, or over its bound */
};

/*
 * buf[0..len): the first bytes of a TLS connection. The ClientHello may
 * span several handshake records, up to FRONT_MAX_HELLO bytes in all.
 * name must hold FRONT_MAX_NAME + 1 bytes.
 */
enum front_sniff front_sni(const uint8_t *buf, size_t len,
	    char name[FRONT_MAX_NAME + 1]);

/*
 * The same, and in *flags what else the hello says: FRONT_ALPN_ACME when
 * its ALPN offers "acme-tls/1" (an ACME CA's TLS-ALPN-01 check, RFC
 * 8737). A malformed ALPN extension makes the hello FRONT_BAD.
 */
#define FRONT_ALPN_ACME		0x01u
enum front_sniff front_hello(const uint8_t *buf, size_t len,
	    char name[FRONT_MAX_NAME + 1], unsigned int *flags);

/*
 * buf[0..len): the first bytes of an HTTP/1.x connection. Reads the one
 * Host header of the request head (a port after the name is dropped).
 * FRONT_BAD for a head over FRONT_MAX_HEAD, two Host headers, or an
 * HTTP/1.1 request without one. name as for front_sni().
 */
enum front_sniff front_http_host(const uint8_t *buf, size_t len,
	    char name[FRONT_MAX_NAME + 1]);

/*
 * Whether s[0..len) is a host name routing may use: 1..FRONT_MAX_NAME
 * bytes of dot-separated labels of 1..63 letters, digits and hyphens,
 * none starting or ending with a hyphen, not all digits (an IPv4 literal
 * is not a name). Copies it lowercased into name when it is.
 * Return: 1 or 0.
 */
int	front_name_ok(const char *s, size_t len, char name[FRONT_MAX_NAME + 1]);

const char *front_sniff_str(enum front_sniff r);

#endif
