/*
 * Unit tests for front_sniff: the server_name of real ClientHellos that
 * OpenSSL writes (with and without SNI, whole, cut at every byte, split
 * across records of every size), hand-made hellos for each malformed
 * class, the Host header of HTTP/1.x heads well and badly formed, and the
 * host name rules. Every input is a heap copy of exactly its bytes, so a
 * build with -fsanitize=address catches any read past the end.
 */
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front_sniff.h"
#include "test.h"

static char name[FRONT_MAX_NAME + 1];

static enum front_sniff
sni(const uint8_t *b, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	enum front_sniff r;

	memcpy(c, b, n);
	r = front_sni(c, n, name);
	free(c);
	return r;
}

static enum front_sniff
host(const char *s)
{
	size_t n = strlen(s);
	uint8_t *c = malloc(n ? n : 1);
	enum front_sniff r;

	memcpy(c, s, n);
	r = front_http_host(c, n, name);
	free(c);
	return r;
}

/* What OpenSSL's client sends first, with server_name sn (or none). */
static size_t
openssl_hello(const char *sn, uint8_t *out, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *s = SSL_new(ctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	int n;

	SSL_set_bio(s, rb, wb);
	if (sn != NULL)
		(void)SSL_set_tlsext_host_name(s, sn);
	(void)SSL_connect(s);
	n = BIO_read(wb, out, (int)cap);
	SSL_free(s);
	SSL_CTX_free(ctx);
	return n > 0 ? (size_t)n : 0;
}

static int
test_openssl_hellos(void)
{
	uint8_t h[4096];
	size_t n, i;

	n = openssl_hello("Alice.Tunnel.Example.com", h, sizeof(h));
	ASSERT(n > 100);
	ASSERT_EQ(sni(h, n), FRONT_FOUND);
	ASSERT_STR_EQ(name, "alice.tunnel.example.com");
	/* Every prefix asks for more; never a verdict on half a hello. */
	for (i = 0; i < n; i++)
		ASSERT_EQ(sni(h, i), FRONT_NEED_MORE);
	n = openssl_hello(NULL, h, sizeof(h));
	ASSERT(n > 100);
	ASSERT_EQ(sni(h, n), FRONT_NO_NAME);
	return TEST_PASS;
}

/* Re-cuts one record's hello into records of at most k bytes. */
static size_t
split(const uint8_t *h, size_t n, size_t k, uint8_t *out)
{
	size_t off = 5, o = 0, m;

	while (off < n) {
		m = n - off < k ? n - off : k;
		out[o++] = 22;
		out[o++] = 3;
		out[o++] = 1;
		out[o++] = (uint8_t)(m >> 8);
		out[o++] = (uint8_t)m;
		memcpy(out + o, h + off, m);
		o += m;
		off += m;
	}
	return o;
}

static int
test_records(void)
{
	uint8_t h[4096], s[4096 * 6];
	size_t n, m, k, i;

	n = openssl_hello("bob.example.com", h, sizeof(h));
	ASSERT(n > 100 && (size_t)(h[3] << 8 | h[4]) == n - 5);
	for (k = 1; k < n; k += (k < 8 ? 1 : 37)) {
		m = split(h, n, k, s);
		ASSERT_EQ(sni(s, m), FRONT_FOUND);
		ASSERT_STR_EQ(name, "bob.example.com");
		for (i = 0; i < m; i += 7)
			ASSERT_EQ(sni(s, i), FRONT_NEED_MORE);
	}
	/* Bytes after the hello (the next record) are none of its business. */
	memcpy(h + n, "\x14\x03\x03\x00\x01\x01", 6);
	ASSERT_EQ(sni(h, n + 6), FRONT_FOUND);
	return TEST_PASS;
}

/*
 * A minimal hello with a session id of sid bytes and extensions
 * ext[0..elen) (elen -1: none at all).
 */
static size_t
hello_sid(size_t sid, const uint8_t *ext, int elen, uint8_t *out)
{
	uint8_t body[1024];
	size_t b = 0, i;

	body[b++] = 3;
	body[b++] = 3;
	memset(body + b, 0x11, 32);
	b += 32;
	body[b++] = (uint8_t)sid;	/* session id */
	memset(body + b, 0x22, sid);
	b += sid;
	body[b++] = 0;
	body[b++] = 2;
	body[b++] = 0x13;
	body[b++] = 0x01;		/* TLS_AES_128_GCM_SHA256 */
	body[b++] = 1;
	body[b++] = 0;			/* null compression */
	if (elen >= 0) {
		body[b++] = (uint8_t)(elen >> 8);
		body[b++] = (uint8_t)elen;
		if (elen > 0)
			memcpy(body + b, ext, (size_t)elen);
		b += (size_t)elen;
	}
	i = 0;
	out[i++] = 22;
	out[i++] = 3;
	out[i++] = 1;
	out[i++] = (uint8_t)((b + 4) >> 8);
	out[i++] = (uint8_t)(b + 4);
	out[i++] = 1;
	out[i++] = 0;
	out[i++] = (uint8_t)(b >> 8);
	out[i++] = (uint8_t)b;
	memcpy(out + i, body, b);
	return i + b;
}

static size_t
hello(const uint8_t *ext, int elen, uint8_t *out)
{
	return hello_sid(0, ext, elen, out);
}

/* A server_name extension naming s[0..n) with name_type t. */
static size_t
sn_ext(const char *s, size_t n, int t, uint8_t *out)
{
	out[0] = 0;
	out[1] = 0;
	out[2] = (uint8_t)((n + 5) >> 8);
	out[3] = (uint8_t)(n + 5);
	out[4] = (uint8_t)((n + 3) >> 8);
	out[5] = (uint8_t)(n + 3);
	out[6] = (uint8_t)t;
	out[7] = (uint8_t)(n >> 8);
	out[8] = (uint8_t)n;
	memcpy(out + 9, s, n);
	return 9 + n;
}

static int
test_malformed_hellos(void)
{
	uint8_t e[600], h[1200], x[1200];
	size_t en, hn;
	char big[300];

	en = sn_ext("a.example", 9, 0, e);
	hn = hello(e, (int)en, h);
	ASSERT_EQ(sni(h, hn), FRONT_FOUND);
	ASSERT_STR_EQ(name, "a.example");
	ASSERT_EQ(sni(h, hello(NULL, -1, h)), FRONT_NO_NAME);	/* no exts */
	ASSERT_EQ(sni(h, hello(NULL, 0, h)), FRONT_NO_NAME);	/* empty */

	hn = hello(e, (int)en, h);
	memcpy(x, h, hn);
	x[0] = 23;				/* application data */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[1] = 2;				/* SSL 2 */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[3] = 0x50;				/* record of 20 KiB */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[3] = 0x40;				/* 16 KiB + 1 */
	x[4] = 0x01;
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[3] = x[4] = 0;			/* empty record */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[5] = 2;				/* ServerHello */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[6] = 1;				/* a 64 KiB hello */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[8] = 10;				/* a 10-byte hello */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	ASSERT_EQ(sni(x, hello_sid(32, e, (int)en, x)), FRONT_FOUND);
	ASSERT_EQ(sni(x, hello_sid(33, e, (int)en, x)), FRONT_BAD);
	memcpy(x, h, hn);
	x[9 + 36] = 3;				/* odd cipher suites */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[9 + 36] = 0;				/* no cipher suite */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[9 + 39] = 0;				/* no compression method */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[9 + 42] += 1;				/* extensions overrun */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);
	memcpy(x, h, hn);
	x[9 + 42] -= 1;				/* extensions short */
	ASSERT_EQ(sni(x, hn), FRONT_BAD);

	/* Inside server_name. */
	ASSERT_EQ(sni(h, hello(e, (int)sn_ext("a.example", 9, 1, e), h)),
	    FRONT_BAD);			/* an unknown name type */
	ASSERT_EQ(sni(h, hello(e, (int)sn_ext("", 0, 0, e), h)), FRONT_BAD);
	ASSERT_EQ(sni(h, hello(e, (int)sn_ext("a..b", 4, 0, e), h)),
	    FRONT_BAD);
	ASSERT_EQ(sni(h, hello(e, (int)sn_ext("a.b.", 4, 0, e), h)),
	    FRONT_BAD);
	ASSERT_EQ(sni(h, hello(e, (int)sn_ext("a\0b.c", 5, 0, e), h)),
	    FRONT_BAD);
	ASSERT_EQ(sni(h, hello(e, (int)sn_ext("10.0.0.1", 8, 0, e), h)),
	    FRONT_BAD);
	memset(big, 'a', sizeof(big));
	ASSERT_EQ(sni(h, hello(e, (int)sn_ext(big, 254, 0, e), h)),
	    FRONT_BAD);
	en = sn_ext("a.example", 9, 0, e);
	e[5] += 1;				/* list longer than its data */
	ASSERT_EQ(sni(h, hello(e, (int)en, h)), FRONT_BAD);
	en = sn_ext("a.example", 9, 0, e);
	e[3] += 5;				/* two names in the list */
	e[5] += 5;
	memcpy(e + en, "\x00\x00\x02xy", 5);
	ASSERT_EQ(sni(h, hello(e, (int)en + 5, h)), FRONT_BAD);
	en = sn_ext("a.example", 9, 0, e);
	memcpy(e + en, e, en);			/* the extension twice */
	ASSERT_EQ(sni(h, hello(e, (int)(2 * en), h)), FRONT_BAD);
	/* Another extension before it, and padding after: still found. */
	memcpy(e, "\x00\x2b\x00\x03\x02\x03\x04", 7);
	en = 7 + sn_ext("c.example", 9, 0, e + 7);
	memcpy(e + en, "\x00\x15\x00\x04\x00\x00\x00\x00", 8);
	ASSERT_EQ(sni(h, hello(e, (int)en + 8, h)), FRONT_FOUND);
	ASSERT_STR_EQ(name, "c.example");
	return TEST_PASS;
}

static int
test_http_host(void)
{
	char big[FRONT_MAX_HEAD + 100];

	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: Alice.Example.COM\r\n\r\n"),
	    FRONT_FOUND);
	ASSERT_STR_EQ(name, "alice.example.com");
	ASSERT_EQ(host("POST /hook?x=1 HTTP/1.1\r\nUser-Agent: x\r\nhost:  "
	    "alice.example.com:8080 \t\r\nContent-Length: 2\r\n\r\nhi"),
	    FRONT_FOUND);
	ASSERT_STR_EQ(name, "alice.example.com");
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: alice.example.com.\r\n\r\n"),
	    FRONT_FOUND);
	ASSERT_STR_EQ(name, "alice.example.com");
	ASSERT_EQ(host("GET / HTTP/1.0\r\n\r\n"), FRONT_NO_NAME);
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: 203.0.113.9:80\r\n\r\n"),
	    FRONT_NO_NAME);
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n"),
	    FRONT_NO_NAME);
	/* Prefixes wait; an unfinished head over the bound is refused. */
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: alice.example.com\r\n"),
	    FRONT_NEED_MORE);
	ASSERT_EQ(host(""), FRONT_NEED_MORE);
	ASSERT_EQ(host("GE"), FRONT_NEED_MORE);
	ASSERT_EQ(host("GET"), FRONT_NEED_MORE);
	/* What no request line starts with is refused at its first byte. */
	ASSERT_EQ(host("\x16\x03\x01"), FRONT_BAD);
	ASSERT_EQ(host(" GET"), FRONT_BAD);
	ASSERT_EQ(host("GET\t/"), FRONT_BAD);
	ASSERT_EQ(host("G\x01"), FRONT_BAD);
	/* A bare LF never ends a head: refused as soon as it is seen. */
	ASSERT_EQ(host("GET / HTTP/1.1\nHost: a.example"), FRONT_BAD);
	ASSERT_EQ(host("\n"), FRONT_BAD);
	/* Absolute-form: its authority must be the Host's name. */
	ASSERT_EQ(host("GET http://a.example/x HTTP/1.1\r\nHost: a.example"
	    "\r\n\r\n"), FRONT_FOUND);
	ASSERT_STR_EQ(name, "a.example");
	ASSERT_EQ(host("GET HTTPS://A.example:8443?q HTTP/1.1\r\nHost: "
	    "a.example:8443\r\n\r\n"), FRONT_FOUND);
	ASSERT_EQ(host("GET http://admin.local/ HTTP/1.1\r\nHost: a.example"
	    "\r\n\r\n"), FRONT_BAD);
	ASSERT_EQ(host("GET http://u@a.example/ HTTP/1.1\r\nHost: a.example"
	    "\r\n\r\n"), FRONT_BAD);
	ASSERT_EQ(host("GET http://10.0.0.1/ HTTP/1.1\r\nHost: a.example"
	    "\r\n\r\n"), FRONT_BAD);
	ASSERT_EQ(host("GET http://a.example/ HTTP/1.0\r\n\r\n"),
	    FRONT_FOUND);
	ASSERT_STR_EQ(name, "a.example");
	ASSERT_EQ(host("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example"
	    "\r\n\r\n"), FRONT_BAD);
	ASSERT_EQ(host("OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n"),
	    FRONT_FOUND);
	ASSERT_EQ(host("GET ftp://a.example/ HTTP/1.1\r\nHost: a.example"
	    "\r\n\r\n"), FRONT_BAD);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	ASSERT_EQ(host(big), FRONT_BAD);
	/* Malformed heads. */
	ASSERT_EQ(host("GET / HTTP/1.1\r\n\r\n"), FRONT_BAD);	/* no Host */
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: a.example\r\nHost: "
	    "b.example\r\n\r\n"), FRONT_BAD);
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost:\r\n\r\n"), FRONT_BAD);
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: a.example:\r\n\r\n"),
	    FRONT_BAD);
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: a.example:123456\r\n\r\n"),
	    FRONT_BAD);
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: a.example:65536\r\n\r\n"),
	    FRONT_BAD);
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: a.example:65535\r\n\r\n"),
	    FRONT_FOUND);
	ASSERT_EQ(host("GET  HTTP/1.1\r\nHost: a.example\r\n\r\n"),
	    FRONT_BAD);				/* no target */
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: a_b.example\r\n\r\n"),
	    FRONT_BAD);
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: -a.example\r\n\r\n"),
	    FRONT_BAD);
	ASSERT_EQ(host("GET / HTTP/2.0\r\nHost: a.example\r\n\r\n"),
	    FRONT_BAD);
	ASSERT_EQ(host("GET /  HTTP/1.1\r\nHost: a.example\r\n\r\n"),
	    FRONT_BAD);
	ASSERT_EQ(host("GE(T / HTTP/1.1\r\nHost: a.example\r\n\r\n"),
	    FRONT_BAD);
	ASSERT_EQ(host("GET / HTTP/1.1\r\n Host: a.example\r\n\r\n"),
	    FRONT_BAD);				/* folding */
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHo st: a.example\r\n\r\n"),
	    FRONT_BAD);
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: a.example\nX: y\r\n\r\n"),
	    FRONT_BAD);				/* bare LF */
	ASSERT_EQ(host("GET / HTTP/1.1\r\nHost: a.exa\rmple\r\n\r\n"),
	    FRONT_BAD);				/* bare CR */
	ASSERT_EQ(host("\x16\x03\x01\x02\x05\r\n\r\n"), FRONT_BAD);
	return TEST_PASS;
}

static int
test_names(void)
{
	char n63[64], n64[65], n253[254];
	size_t i;

	memset(n63, 'a', 63);
	ASSERT(front_name_ok(n63, 63, name));
	memset(n64, 'a', 64);
	ASSERT(!front_name_ok(n64, 64, name));
	for (i = 0; i < 253; i++)
		n253[i] = i % 2 ? '.' : 'a';
	n253[252] = 'a';
	ASSERT(front_name_ok(n253, 253, name));
	ASSERT(!front_name_ok(n253, 0, name));
	ASSERT(front_name_ok("x-1.example", 11, name));
	ASSERT(front_name_ok("123.example", 11, name));
	ASSERT(!front_name_ok("a-.example", 10, name));
	ASSERT(!front_name_ok("a.example-", 10, name));
	ASSERT(!front_name_ok("a.123", 5, name));
	ASSERT(!front_name_ok(".a", 2, name));
	ASSERT(!front_name_ok("a b", 3, name));
	ASSERT(!front_name_ok("a\xc3\xa9", 3, name));
	ASSERT_STR_EQ(front_sniff_str(FRONT_BAD), "bad");
	return TEST_PASS;
}

/* ext_alpn: an ALPN extension listing list[0..n) as given (raw). */
static size_t
alpn_ext(const uint8_t *list, size_t n, uint8_t *out)
{
	out[0] = 0;
	out[1] = 16;
	out[2] = (uint8_t)((n + 2) >> 8);
	out[3] = (uint8_t)(n + 2);
	out[4] = (uint8_t)(n >> 8);
	out[5] = (uint8_t)n;
	memcpy(out + 6, list, n);
	return 6 + n;
}

/* front_hello on a heap copy; its flags in *fl. */
static enum front_sniff
hello_flags(const uint8_t *b, size_t n, unsigned int *fl)
{
	uint8_t *c = malloc(n ? n : 1);
	enum front_sniff r;

	memcpy(c, b, n);
	*fl = 0xff;
	r = front_hello(c, n, name, fl);
	free(c);
	return r;
}

/*
 * ALPN: "acme-tls/1" among the protocols marks an ACME CA's TLS-ALPN-01
 * check (RFC 8737); other lists do not; malformed lists are refused.
 */
static int
test_alpn(void)
{
	static const uint8_t acme[] = "\x0a" "acme-tls/1";
	static const uint8_t web[] = "\x02" "h2" "\x08" "http/1.1";
	static const uint8_t mixed[] = "\x08" "http/1.1" "\x0a" "acme-tls/1";
	static const uint8_t empty_name[] = "\x00" "\x02" "h2";
	static const uint8_t overrun[] = "\x09" "acme-tls";
	static const uint8_t prefix[] = "\x09" "acme-tls/";
	uint8_t e[600], h[1200], buf[4096];
	unsigned int fl;
	size_t en, hn;
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rb, *wb;
	int n;

	en = sn_ext("a.example", 9, 0, e);
	en += alpn_ext(acme, sizeof(acme) - 1, e + en);
	hn = hello(e, (int)en, h);
	ASSERT_EQ(hello_flags(h, hn, &fl), FRONT_FOUND);
	ASSERT_EQ(fl, FRONT_ALPN_ACME);
	ASSERT_STR_EQ(name, "a.example");
	/* A prefix of it is no verdict, and says nothing of ALPN. */
	ASSERT_EQ(hello_flags(h, hn - 1, &fl), FRONT_NEED_MORE);
	ASSERT_EQ(fl, 0);
	en = sn_ext("a.example", 9, 0, e);
	en += alpn_ext(web, sizeof(web) - 1, e + en);
	hn = hello(e, (int)en, h);
	ASSERT_EQ(hello_flags(h, hn, &fl), FRONT_FOUND);
	ASSERT_EQ(fl, 0);
	en = alpn_ext(mixed, sizeof(mixed) - 1, e);
	en += sn_ext("a.example", 9, 0, e + en);
	hn = hello(e, (int)en, h);
	ASSERT_EQ(hello_flags(h, hn, &fl), FRONT_FOUND);
	ASSERT_EQ(fl, FRONT_ALPN_ACME);
	/* "acme-tls/" is not "acme-tls/1". */
	en = alpn_ext(prefix, sizeof(prefix) - 1, e);
	hn = hello(e, (int)en, h);
	ASSERT_EQ(hello_flags(h, hn, &fl), FRONT_NO_NAME);
	ASSERT_EQ(fl, 0);
	en = alpn_ext(empty_name, sizeof(empty_name) - 1, e);
	hn = hello(e, (int)en, h);
	ASSERT_EQ(hello_flags(h, hn, &fl), FRONT_BAD);
	en = alpn_ext(overrun, sizeof(overrun) - 1, e);
	hn = hello(e, (int)en, h);
	ASSERT_EQ(hello_flags(h, hn, &fl), FRONT_BAD);
	en = alpn_ext((const uint8_t *)"", 0, e);
	hn = hello(e, (int)en, h);
	ASSERT_EQ(hello_flags(h, hn, &fl), FRONT_BAD);
	/* The list's length longer than the extension. */
	en = alpn_ext(acme, sizeof(acme) - 1, e);
	e[5] = (uint8_t)(e[5] + 1);
	hn = hello(e, (int)en, h);
	ASSERT_EQ(hello_flags(h, hn, &fl), FRONT_BAD);
	/* What OpenSSL's client sends when asked for acme-tls/1. */
	ctx = SSL_CTX_new(TLS_client_method());
	ssl = SSL_new(ctx);
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	SSL_set_bio(ssl, rb, wb);
	(void)SSL_set_tlsext_host_name(ssl, "alice.example");
	ASSERT_EQ(SSL_set_alpn_protos(ssl, acme, sizeof(acme) - 1), 0);
	(void)SSL_connect(ssl);
	n = BIO_read(wb, buf, (int)sizeof(buf));
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ASSERT(n > 100);
	ASSERT_EQ(hello_flags(buf, (size_t)n, &fl), FRONT_FOUND);
	ASSERT_EQ(fl, FRONT_ALPN_ACME);
	ASSERT_STR_EQ(name, "alice.example");
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "front_sniff_openssl_hellos", test_openssl_hellos },
	{ "front_sniff_records", test_records },
	{ "front_sniff_malformed_hellos", test_malformed_hellos },
	{ "front_sniff_http_host", test_http_host },
	{ "front_sniff_names", test_names },
	{ "front_sniff_alpn", test_alpn },
};

TEST_MAIN(tests)
