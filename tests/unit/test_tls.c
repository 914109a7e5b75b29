/*
 * Unit tests for src/tls.c over socketpairs: the server key made once and
 * never over a file, fingerprints, the handshake driven without blocking,
 * the exporter both ends agree on (and that differs per connection),
 * half-close with close_notify, a truncated stream and a flipped bit told
 * apart from a clean end, and a resumed refill with the same fingerprint.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "test.h"
#include "tls.h"

static char dir[64], cert[128], key[128];
static char err[256];

static int
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/test_tls.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	(void)snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	(void)snprintf(key, sizeof(key), "%s/key.pem", dir);
	return tls_make_server_key(cert, key, err, sizeof(err)) == 1 ? 0 : -1;
}

static void
teardown(void)
{
	(void)unlink(cert);
	(void)unlink(key);
	(void)rmdir(dir);
}

/* Runs both handshakes over a non-blocking socketpair until both finish. */
static int
handshake(struct tls *c, struct tls *s)
{
	int i, dc = 0, ds = 0, r;

	for (i = 0; i < 100 && !(dc && ds); i++) {
		if (!dc && (r = tls_handshake(c)) != 0) {
			if (r == -1)
				return -1;
			dc = 1;
		}
		if (!ds && (r = tls_handshake(s)) != 0) {
			if (r == -1)
				return -1;
			ds = 1;
		}
	}
	return dc && ds ? 0 : -1;
}

/* Bytes waiting in fd, not yet read by TLS: a ticket after a handshake. */
static int
unread(int fd)
{
	int n = -1;

	return ioctl(fd, FIONREAD, &n) == -1 ? -1 : n;
}

static int
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -1;
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(sv[1], F_SETFL, O_NONBLOCK);
	return 0;
}

/* Reads until n bytes came or nothing more can; returns the count. */
static ssize_t
recv_all(struct tls *t, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int tries = 0;

	while (got < n && tries++ < 1000) {
		r = tls_recv(t, buf + got, n - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || errno != EAGAIN)
			break;
	}
	return (ssize_t)got;
}

static int
test_key_files(void)
{
	struct stat st;
	char fp[TLS_FP_LEN], fp2[TLS_FP_LEN];

	ASSERT_EQ(stat(key, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(stat(cert, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	/* Made once: a second call keeps both. */
	ASSERT_EQ(tls_file_fingerprint(cert, fp, err, sizeof(err)), 0);
	ASSERT_EQ(tls_make_server_key(cert, key, err, sizeof(err)), 0);
	ASSERT_EQ(tls_file_fingerprint(cert, fp2, err, sizeof(err)), 0);
	ASSERT_STR_EQ(fp, fp2);
	ASSERT(tls_fp_valid(fp));
	ASSERT(!tls_fp_valid("SHA256:abc"));
	ASSERT(!tls_fp_valid("MD5:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	ASSERT(!tls_fp_valid("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	return TEST_PASS;
}

static int
test_half_pair_refused(void)
{
	char c2[160], k2[160];

	(void)snprintf(c2, sizeof(c2), "%s/only-cert.pem", dir);
	(void)snprintf(k2, sizeof(k2), "%s/missing-key.pem", dir);
	ASSERT_EQ(link(cert, c2), 0);
	ASSERT_EQ(tls_make_server_key(c2, k2, err, sizeof(err)), -1);
	ASSERT_STR_CONTAINS(err, "missing-key.pem");
	ASSERT_EQ(access(k2, F_OK), -1);
	(void)unlink(c2);
	return TEST_PASS;
}

static int
test_exchange(void)
{
	struct tls_ctx *sx, *cx;
	struct tls *s, *c, *c2, *s2;
	uint8_t ec[TLS_EXPORTER_LEN], es[TLS_EXPORTER_LEN];
	uint8_t ec2[TLS_EXPORTER_LEN];
	char fp[TLS_FP_LEN], pfp[TLS_FP_LEN], buf[64];
	int sv[2], sv2[2];

	ASSERT((sx = tls_server_ctx(cert, key, err, sizeof(err))) != NULL);
	ASSERT((cx = tls_client_ctx("127.0.0.1", err, sizeof(err))) != NULL);
	ASSERT_EQ(pair(sv), 0);
	ASSERT((c = tls_new(cx, sv[0])) != NULL);
	ASSERT((s = tls_new(sx, sv[1])) != NULL);
	ASSERT_EQ(handshake(c, s), 0);
	ASSERT(!tls_resumed(c));
	ASSERT(unread(sv[0]) > 0);	/* a full handshake's ticket */
	/* A self-signed key is never CA-verified; its fingerprint reads. */
	ASSERT(!tls_ca_verified(c));
	ASSERT_EQ(tls_peer_fingerprint(c, pfp), 0);
	ASSERT_EQ(tls_file_fingerprint(cert, fp, err, sizeof(err)), 0);
	ASSERT_STR_EQ(pfp, fp);
	ASSERT_EQ(tls_exporter(c, ec), 0);
	ASSERT_EQ(tls_exporter(s, es), 0);
	ASSERT_MEM_EQ(ec, es, sizeof(ec));
	tls_trust(c);

	/* Both ways, then half-close: the other way still flows. */
	ASSERT_EQ(tls_send(c, "hello", 5), 5);
	ASSERT_EQ(recv_all(s, buf, 5), 5);
	ASSERT_MEM_EQ(buf, "hello", 5);
	ASSERT_EQ(tls_close_notify(c), 1);
	ASSERT_EQ(tls_recv(s, buf, sizeof(buf)), 0);
	ASSERT_EQ(tls_send(s, "after", 5), 5);
	ASSERT_EQ(recv_all(c, buf, 5), 5);	/* reads the ticket too */
	ASSERT_MEM_EQ(buf, "after", 5);

	/* The refill resumes: no certificate sent, same fingerprint. */
	ASSERT_EQ(pair(sv2), 0);
	ASSERT((c2 = tls_new(cx, sv2[0])) != NULL);
	ASSERT((s2 = tls_new(sx, sv2[1])) != NULL);
	ASSERT_EQ(handshake(c2, s2), 0);
	ASSERT(tls_resumed(c2));
	/* No ticket after a resumed one: refills resume from the first. */
	ASSERT_EQ(unread(sv2[0]), 0);
	ASSERT_EQ(tls_peer_fingerprint(c2, pfp), 0);
	ASSERT_STR_EQ(pfp, fp);
	/* Each connection has its own exporter value. */
	ASSERT_EQ(tls_exporter(c2, ec2), 0);
	ASSERT(memcmp(ec, ec2, sizeof(ec)) != 0);

	/* Forgotten, the next one is a full handshake. */
	tls_ctx_forget(cx);
	tls_free(c2);
	tls_free(s2);
	close(sv2[0]);
	close(sv2[1]);
	ASSERT_EQ(pair(sv2), 0);
	ASSERT((c2 = tls_new(cx, sv2[0])) != NULL);
	ASSERT((s2 = tls_new(sx, sv2[1])) != NULL);
	ASSERT_EQ(handshake(c2, s2), 0);
	ASSERT(!tls_resumed(c2));

	tls_free(c);
	tls_free(s);
	tls_free(c2);
	tls_free(s2);
	close(sv[0]);
	close(sv[1]);
	close(sv2[0]);
	close(sv2[1]);
	tls_ctx_free(cx);
	tls_ctx_free(sx);
	return TEST_PASS;
}

/*
 * An OpenSSL client asking for ALPN protos (wire form) and SNI name
 * against server context x over a socketpair. Return: the server's
 * certificate (the caller frees it), or NULL when the handshake failed.
 */
static X509 *
alpn_client(struct tls_ctx *x, const char *name, const unsigned char *protos,
    unsigned int plen, int *alpn_ok)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *c = SSL_new(cctx);
	const unsigned char *sel;
	unsigned int slen;
	struct tls *s;
	X509 *peer = NULL;
	int sv[2], i, dc = 0, ds = 0, r;

	if (pair(sv) == -1 || (s = tls_new(x, sv[1])) == NULL)
		return NULL;
	(void)SSL_set_tlsext_host_name(c, name);
	(void)SSL_set_alpn_protos(c, protos, plen);
	(void)SSL_set_fd(c, sv[0]);
	for (i = 0; i < 100 && !(dc && ds); i++) {
		if (!dc) {
			r = SSL_connect(c);
			if (r == 1)
				dc = 1;
			else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ &&
			    SSL_get_error(c, r) != SSL_ERROR_WANT_WRITE)
				break;
		}
		if (!ds && (r = tls_handshake(s)) != 0) {
			if (r == -1)
				break;
			ds = 1;
		}
	}
	if (dc && ds) {
		peer = SSL_get1_peer_certificate(c);
		SSL_get0_alpn_selected(c, &sel, &slen);
		*alpn_ok = slen == 10 && memcmp(sel, "acme-tls/1", 10) == 0;
	}
	tls_free(s);
	SSL_free(c);
	SSL_CTX_free(cctx);
	close(sv[0]);
	close(sv[1]);
	return peer;
}

/*
 * TLS-ALPN-01 (RFC 8737): acme-tls/1 is chosen, the certificate names the
 * name in SAN and carries the critical acmeIdentifier, an OCTET STRING of
 * the key authorization's SHA-256; names over 64 characters too; a hello
 * without acme-tls/1 is refused.
 */
static int
test_acme_alpn(void)
{
	static const unsigned char acme[] = "\x0a" "acme-tls/1";
	static const unsigned char h11[] = "\x08" "http/1.1";
	const char *keyauth = "tok.thumb";
	char name[80];
	unsigned char md[32], want[34];
	const ASN1_OCTET_STRING *v;
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509_EXTENSION *ext;
	struct tls_ctx *x;
	X509 *peer;
	int k, loc, alpn_ok;

	ASSERT_EQ(EVP_Digest(keyauth, strlen(keyauth), md, NULL, EVP_sha256(),
	    NULL), 1);
	want[0] = 0x04;
	want[1] = 32;
	memcpy(want + 2, md, 32);
	for (k = 0; k < 2; k++) {
		if (k == 0)
			(void)snprintf(name, sizeof(name), "alice.example.com");
		else {
			memset(name, 'a', 72);
			name[30] = '.';
			name[72] = '\0';
		}
		x = tls_acme_alpn_ctx(name, keyauth, err, sizeof(err));
		ASSERT(x != NULL);
		ASSERT(tls_ctx_names(x, name));
		alpn_ok = 0;
		peer = alpn_client(x, name, acme, sizeof(acme) - 1, &alpn_ok);
		ASSERT(peer != NULL);
		ASSERT(alpn_ok);
		loc = X509_get_ext_by_OBJ(peer, oid, -1);
		ASSERT(loc >= 0);
		ext = X509_get_ext(peer, loc);
		ASSERT_EQ(X509_EXTENSION_get_critical(ext), 1);
		v = X509_EXTENSION_get_data(ext);
		ASSERT_EQ(ASN1_STRING_length(v), 34);
		ASSERT_MEM_EQ(ASN1_STRING_get0_data(v), want, 34);
		ASSERT_EQ(X509_check_host(peer, name, 0, 0, NULL), 1);
		X509_free(peer);
		/* No acme-tls/1 offered: no handshake. */
		peer = alpn_client(x, name, h11, sizeof(h11) - 1, &alpn_ok);
		ASSERT(peer == NULL);
		tls_ctx_free(x);
	}
	ASN1_OBJECT_free(oid);
	return TEST_PASS;
}

/* A stream cut without close_notify, and a flipped bit, are errors. */
static int
test_truncated_and_flipped(void)
{
	struct tls_ctx *sx, *cx;
	struct tls *s, *c;
	char buf[4096], wire[4096];
	int sv[2], i;
	ssize_t n;

	ASSERT((sx = tls_server_ctx(cert, key, err, sizeof(err))) != NULL);
	ASSERT((cx = tls_client_ctx("127.0.0.1", err, sizeof(err))) != NULL);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(pair(sv), 0);
		ASSERT((c = tls_new(cx, sv[0])) != NULL);
		ASSERT((s = tls_new(sx, sv[1])) != NULL);
		ASSERT_EQ(handshake(c, s), 0);
		/* The server's ticket is read off the wire first. */
		(void)tls_recv(c, buf, sizeof(buf));
		ASSERT_EQ(tls_send(s, "0123456789abcdef", 16), 16);
		if (i == 0) {
			/* Truncation: the socket closes, no close_notify. */
			shutdown(sv[1], SHUT_WR);
			n = recv_all(c, buf, 32);
			ASSERT_EQ(n, 16);
			ASSERT_EQ(tls_recv(c, buf, sizeof(buf)), -1);
			ASSERT_EQ(errno, ECONNRESET);
		} else {
			/* One bit flipped inside the record. */
			n = recv(sv[0], wire, sizeof(wire), 0);
			ASSERT(n > 20);
			wire[n - 5] ^= 0x10;
			ASSERT_EQ(send(sv[1], wire, (size_t)n, 0), n);
			/* The relayed bytes now come back to the client. */
			ASSERT_EQ(tls_recv(c, buf, sizeof(buf)), -1);
			ASSERT_EQ(errno, EPROTO);
		}
		tls_free(c);
		tls_free(s);
		close(sv[0]);
		close(sv[1]);
	}
	tls_ctx_free(cx);
	tls_ctx_free(sx);
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "tls_key_files", test_key_files },
	{ "tls_half_pair_refused", test_half_pair_refused },
	{ "tls_exchange", test_exchange },
	{ "tls_truncated_and_flipped", test_truncated_and_flipped },
	{ "tls_acme_alpn", test_acme_alpn },
};

/* TEST_MAIN, with the key made once before and the files removed after. */
int
main(void)
{
	size_t i, failed = 0;

	if (setup() == -1) {
		fprintf(stderr, "setup: %s\n", err);
		return 1;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int r = tests[i].fn();

		printf("%s %s\n", r == TEST_PASS ? "PASS" : "FAIL",
		    tests[i].name);
		fflush(stdout);
		if (r != TEST_PASS)
			failed++;
	}
	teardown();
	return failed ? 1 : 0;
}
