/*
 * front_sniff: the host name in a visitor's first bytes.
 *
 * TLS. A ClientHello travels in handshake records (content type 22):
 *
 *   record:     type(1) version(2) length(2) fragment
 *   handshake:  msg_type(1)=1 length(3) body
 *   body:       version(2) random(32) session_id<0..32> cipher_suites<2..>
 *               compression_methods<1..> [extensions<..>]
 *   extension:  type(2) data<..>; server_name (0) holds a list<..> of
 *               name_type(1)=0 host_name<1..>
 *
 * The handshake message may be cut across records: their fragments are
 * joined, in a local buffer, until the message is whole or the bytes run
 * out (NEED_MORE). Every length is checked against the bytes that hold
 * it, and a field that overruns its container is BAD, as is a second
 * extension of one type (RFC 8446 4.2) or a second name in the list.
 *
 * HTTP. The request head ends at the first empty line: CRLF line ends,
 * header lines "name: value" with a token name. The Host header is read
 * with its optional whitespace trimmed and a port removed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "front_sniff.h"

#define TLS_HANDSHAKE		22
#define TLS_CLIENT_HELLO	1
#define TLS_EXT_ALPN		16
#define TLS_EXT_SERVER_NAME	0
#define TLS_MAX_RECORD		16384	/* a plaintext record, RFC 8446 5.1 */

const char *
front_sniff_str(enum front_sniff r)
{
	switch (r) {
	case FRONT_NEED_MORE:	return "need more";
	case FRONT_FOUND:	return "found";
	case FRONT_NO_NAME:	return "no name";
	case FRONT_BAD:		return "bad";
	}
	return "?";
}

static int
ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

int
front_name_ok(const char *s, size_t len, char name[FRONT_MAX_NAME + 1])
{
	size_t i, label = 0, digits = 0;

	if (len == 0 || len > FRONT_MAX_NAME)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			/* An empty label, or one ending with a hyphen. */
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = digits = 0;
			continue;
		}
		if (!ldh(c) || (label == 0 && c == '-') || ++label > 63)
			return 0;
		if (c >= '0' && c <= '9')
			digits++;
	}
	/* The last label: not empty, no final hyphen, not all digits (an
	   IPv4 literal, or a top-level domain no registry gives out). */
	if (label == 0 || s[len - 1] == '-' || digits == label)
		return 0;
	for (i = 0; i < len; i++)
		name[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' :
		    s[i]);
	name[len] = '\0';
	return 1;
}

/* Bounds-checked reads over one buffer; a read past its end latches. */
struct rd {
	const uint8_t	*p;
	size_t		 len, off;
	int		 bad;
};

static size_t
rd_uint(struct rd *r, size_t n)
{
	size_t v = 0, i;

	if (r->bad || r->len - r->off < n) {
		r->bad = 1;
		return 0;
	}
	for (i = 0; i < n; i++)
		v = v << 8 | r->p[r->off + i];
	r->off += n;
	return v;
}

/* A sub-reader over the next n bytes, which r skips. */
static struct rd
rd_sub(struct rd *r, size_t n)
{
	struct rd s = { NULL, 0, 0, 1 };

	if (r->bad || r->len - r->off < n) {
		r->bad = 1;
		return s;
	}
	s.p = r->p + r->off;
	s.len = n;
	s.bad = 0;
	r->off += n;
	return s;
}

/* The server_name extension's data. */
static enum front_sniff
server_name(struct rd *ext, char name[FRONT_MAX_NAME + 1])
{
	struct rd list, host;
	size_t n;
	int type;

	list = rd_sub(ext, rd_uint(ext, 2));
	if (ext->bad || ext->off != ext->len || list.len == 0)
		return FRONT_BAD;
	type = (int)rd_uint(&list, 1);
	n = rd_uint(&list, 2);
	host = rd_sub(&list, n);
	/* One name, of the one type there is (RFC 6066 3). */
	if (list.bad || list.off != list.len || type != 0)
		return FRONT_BAD;
	return front_name_ok((const char *)host.p, host.len, name) ?
	    FRONT_FOUND : FRONT_BAD;
}

/*
 * The ALPN extension's data (RFC 7301 3.1): a non-empty list of
 * non-empty names. Return: -1 if malformed, else whether it offers
 * "acme-tls/1", which an ACME CA's TLS-ALPN-01 check does (RFC 8737).
 */
static int
alpn_acme(struct rd *ext)
{
	static const char acme[] = "acme-tls/1";
	struct rd list, proto;
	int found = 0;

	list = rd_sub(ext, rd_uint(ext, 2));
	if (ext->bad || ext->off != ext->len || list.len == 0)
		return -1;
	while (list.off < list.len) {
		proto = rd_sub(&list, rd_uint(&list, 1));
		if (list.bad || proto.len == 0)
			return -1;
		if (proto.len == sizeof(acme) - 1 &&
		    memcmp(proto.p, acme, proto.len) == 0)
			found = 1;
	}
	return found;
}

/* A whole ClientHello body. */
static enum front_sniff
client_hello(struct rd *b, char name[FRONT_MAX_NAME + 1], unsigned int *flags)
{
	struct rd exts, ext;
	uint16_t seen[64];
	size_t n, nseen = 0, i, type;
	enum front_sniff r = FRONT_NO_NAME;

	(void)rd_uint(b, 2);			/* legacy_version */
	(void)rd_sub(b, 32);			/* random */
	if ((n = rd_uint(b, 1)) > 32)		/* legacy_session_id */
		return FRONT_BAD;
	(void)rd_sub(b, n);
	n = rd_uint(b, 2);			/* cipher_suites */
	if (n < 2 || n % 2 != 0)
		return FRONT_BAD;
	(void)rd_sub(b, n);
	if ((n = rd_uint(b, 1)) < 1)		/* compression_methods */
		return FRONT_BAD;
	(void)rd_sub(b, n);
	if (b->bad)
		return FRONT_BAD;
	if (b->off == b->len)
		return FRONT_NO_NAME;		/* no extensions at all */
	exts = rd_sub(b, rd_uint(b, 2));
	if (b->bad || b->off != b->len)
		return FRONT_BAD;
	while (exts.off < exts.len) {
		type = rd_uint(&exts, 2);
		ext = rd_sub(&exts, rd_uint(&exts, 2));
		if (exts.bad)
			return FRONT_BAD;
		for (i = 0; i < nseen; i++)
			if (seen[i] == type)
				return FRONT_BAD;
		if (nseen == sizeof(seen) / sizeof(seen[0]))
			return FRONT_BAD;
		seen[nseen++] = (uint16_t)type;
		if (type == TLS_EXT_SERVER_NAME &&
		    (r = server_name(&ext, name)) == FRONT_BAD)
			return FRONT_BAD;
		if (type == TLS_EXT_ALPN) {
			switch (alpn_acme(&ext)) {
			case -1:
				return FRONT_BAD;
			case 1:
				*flags |= FRONT_ALPN_ACME;
				break;
			}
		}
	}
	return r;
}

enum front_sniff
front_sni(const uint8_t *buf, size_t len, char name[FRONT_MAX_NAME + 1])
{
	unsigned int flags;

	return front_hello(buf, len, name, &flags);
}

enum front_sniff
front_hello(const uint8_t *buf, size_t len, char name[FRONT_MAX_NAME + 1],
    unsigned int *flags)
{
	uint8_t msg[4 + FRONT_MAX_HELLO];
	size_t have = 0, off = 0, want = 0, rlen, take;
	struct rd body;

	*flags = 0;
	/* Join the records' fragments until the message is whole. */
	while (have < 4 || have < want) {
		if (len - off < 5)
			return FRONT_NEED_MORE;
		if (buf[off] != TLS_HANDSHAKE || buf[off + 1] != 3 ||
		    buf[off + 2] > 4)
			return FRONT_BAD;
		rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		if (rlen == 0 || rlen > TLS_MAX_RECORD)
			return FRONT_BAD;
		off += 5;
		take = len - off < rlen ? len - off : rlen;
		if (have + take > sizeof(msg))
			take = sizeof(msg) - have;
		memcpy(msg + have, buf + off, take);
		have += take;
		if (have >= 4 && want == 0) {
			if (msg[0] != TLS_CLIENT_HELLO)
				return FRONT_BAD;
			want = 4 + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 |
			    msg[3]);
			if (want > sizeof(msg) || want < 4 + 2 + 32 + 1 + 2 + 2 + 1 + 1)
				return FRONT_BAD;
		}
		if (have >= 4 && have >= want)
			break;
		if (off + rlen > len)
			return FRONT_NEED_MORE;	/* this record is still coming */
		if (have == sizeof(msg))
			return FRONT_BAD;
		off += rlen;
	}
	/* Bytes after the message in its last record belong to another. */
	body.p = msg + 4;
	body.len = want - 4;
	body.off = 0;
	body.bad = 0;
	return client_hello(&body, name, flags);
}

/* The token characters of RFC 9110 5.6.2. */
static int
tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/* A Host value: name[:port], or [v6]:port (no name to route on). */
static enum front_sniff
host_value(const uint8_t *v, size_t n, char name[FRONT_MAX_NAME + 1])
{
	size_t i, end = n;

	if (n == 0)
		return FRONT_BAD;
	if (v[0] == '[')
		return FRONT_NO_NAME;
	for (i = 0; i < n; i++)
		if (v[i] == ':') {
			end = i;
			break;
		}
	if (end < n) {
		unsigned long port = 0;

		if (end + 1 == n || n - end - 1 > 5)
			return FRONT_BAD;
		for (i = end + 1; i < n; i++) {
			if (v[i] < '0' || v[i] > '9')
				return FRONT_BAD;
			port = port * 10 + (unsigned long)(v[i] - '0');
		}
		if (port > 65535)
			return FRONT_BAD;
	}
	/* A final dot names the same host: "alice.example.com." */
	if (end > 1 && v[end - 1] == '.')
		end--;
	if (front_name_ok((const char *)v, end, name))
		return FRONT_FOUND;
	/* An IPv4 literal is well formed, and no name. */
	for (i = 0; i < end; i++)
		if ((v[i] < '0' || v[i] > '9') && v[i] != '.')
			return FRONT_BAD;
	return FRONT_NO_NAME;
}

/*
 * A request target t[0..n): FRONT_NO_NAME for origin-form or "*",
 * FRONT_FOUND with the authority's host in name for absolute-form
 * (http:// or https://, no userinfo), FRONT_BAD for anything else
 * (authority-form, an IP literal authority, garbage).
 */
static enum front_sniff
target_host(const uint8_t *t, size_t n, char name[FRONT_MAX_NAME + 1])
{
	size_t skip, i;

	if (n > 0 && t[0] == '/')
		return FRONT_NO_NAME;
	if (n == 1 && t[0] == '*')
		return FRONT_NO_NAME;
	if (n > 7 && strncasecmp((const char *)t, "http://", 7) == 0)
		skip = 7;
	else if (n > 8 && strncasecmp((const char *)t, "https://", 8) == 0)
		skip = 8;
	else
		return FRONT_BAD;
	for (i = skip; i < n && t[i] != '/' && t[i] != '?' && t[i] != '#';
	    i++)
		if (t[i] == '@')
			return FRONT_BAD;
	return host_value(t + skip, i - skip, name) == FRONT_FOUND ?
	    FRONT_FOUND : FRONT_BAD;
}

enum front_sniff
front_http_host(const uint8_t *buf, size_t len,
    char name[FRONT_MAX_NAME + 1])
{
	const uint8_t *p, *eol, *end, *colon, *v, *ve;
	size_t scan = len < FRONT_MAX_HEAD ? len : FRONT_MAX_HEAD, i;
	enum front_sniff r = FRONT_NO_NAME;
	char aname[FRONT_MAX_NAME + 1];
	int hosts = 0, v11, absolute;

	/*
	 * What cannot begin a request line (a TLS ClientHello, a binary
	 * protocol) is told at once, not after the head's deadline.
	 */
	for (p = buf; p < buf + scan && tchar(*p); p++)
		;
	if (p < buf + scan && (p == buf || *p != ' '))
		return FRONT_BAD;
	/* A bare LF would never end the head: refused now, not at 408. */
	for (i = 0; i < scan; i++)
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
			return FRONT_BAD;
	/* The head ends at the first empty line. */
	end = NULL;
	for (i = 0; i + 4 <= scan; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end = buf + i + 2;
			break;
		}
	if (end == NULL)
		return len >= FRONT_MAX_HEAD ? FRONT_BAD : FRONT_NEED_MORE;
	/* Request line: method SP target SP HTTP/1.x */
	eol = memchr(buf, '\r', (size_t)(end - buf));
	if (eol == NULL || eol[1] != '\n' || eol - buf < 14)
		return FRONT_BAD;
	for (p = buf; p < eol && tchar(*p); p++)
		;
	if (p == buf || *p != ' ')
		return FRONT_BAD;
	v = ++p;
	for (; p < eol && *p > ' ' && *p < 0x7f; p++)
		;
	if (p == v || *p != ' ' || eol - p != 9 || memcmp(p + 1, "HTTP/1.", 7) != 0 ||
	    (p[8] != '0' && p[8] != '1'))
		return FRONT_BAD;
	v11 = p[8] == '1';
	/*
	 * The target: origin-form ("/..."), "*", or absolute-form, whose
	 * authority overrides Host (RFC 9112 3.2.2) and so must name the
	 * same host, or the front would route by one name and the service
	 * read another.
	 */
	if ((r = target_host(v, (size_t)(p - v), aname)) == FRONT_BAD)
		return FRONT_BAD;
	absolute = r == FRONT_FOUND;
	r = FRONT_NO_NAME;
	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memchr(p, '\r', (size_t)(end - p));
		if (eol == NULL || eol[1] != '\n')
			return FRONT_BAD;
		for (colon = p; colon < eol && tchar(*colon); colon++)
			;
		if (colon == p || colon == eol || *colon != ':')
			return FRONT_BAD;
		for (v = colon + 1; v < eol; v++)
			if ((*v < ' ' && *v != '\t') || *v == 0x7f)
				return FRONT_BAD;
		if (colon - p != 4 || (p[0] | 0x20) != 'h' ||
		    (p[1] | 0x20) != 'o' || (p[2] | 0x20) != 's' ||
		    (p[3] | 0x20) != 't')
			continue;
		if (++hosts > 1)
			return FRONT_BAD;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		if ((r = host_value(v, (size_t)(ve - v), name)) == FRONT_BAD)
			return FRONT_BAD;
	}
	if (v11 && hosts == 0)
		return FRONT_BAD;	/* RFC 9112 3.2: a 400 */
	if (absolute) {
		if (hosts == 0) {
			memcpy(name, aname, strlen(aname) + 1);
			return FRONT_FOUND;
		}
		if (r != FRONT_FOUND || strcmp(name, aname) != 0)
			return FRONT_BAD;
	}
	return r;
}
