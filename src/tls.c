/*
 * tls: the tunnel link's TLS 1.3 (include/tls.h). Theory of operation.
 *
 * Only TLS 1.3 is offered or accepted: the link is between our own two
 * binaries, so nothing older has to be spoken, and 1.3 gives one-round-trip
 * handshakes, PSK resumption and the RFC 9266 exporter.
 *
 * The server signs with a key of its own, made on first run (Ed25519,
 * with a self-signed certificate whose only purpose is to carry the key),
 * or with a CA-issued certificate. The client never lets OpenSSL refuse a
 * handshake over the certificate: it records whether the chain verified
 * against the trust store and host, and the caller decides (a pinned key,
 * a CA-verified certificate, or a first use it records). No login byte is
 * sent before that decision.
 *
 * Pool refills resume: the server sends one ticket per full handshake (none
 * on a resumed one), the client keeps the newest one received on a
 * connection it trusted and offers a copy of it on every dial, so a refill
 * costs an ECDHE exchange and no signature, certificate check or ticket.
 * A resumed session keeps the original peer certificate, so fingerprints
 * still read the same.
 *
 * Buffers are released while a connection is idle (SSL_MODE_RELEASE_BUFFERS):
 * an idle pool connection or a quiet bridged visitor holds no record
 * buffers, only its SSL state.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "loop.h"
#include "tls.h"

#define TLS_EXPORTER_LABEL	"EXPORTER-Channel-Binding"
#define TLS_CERT_DAYS		36500	/* the key is what is pinned */
#define FRONT_NAME_ROOM		256	/* a DNS name and its NUL */
#define TLS_SUITES	"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:" \
			"TLS_AES_256_GCM_SHA384"

struct tls_ctx {
	SSL_CTX		*ctx;
	int		 client;
	char		 host[256];	/* client: name or address checked */
	int		 host_is_ip;
	SSL_SESSION	*session;	/* client: offered on the next dial */
};

struct tls {
	struct tls_ctx	*x;
	SSL		*ssl;
	int		 fd;		/* tls_unread: the socket, after */
	int		 unread;	/* reading the bytes given first */
	uint32_t	 want;		/* LOOP_IN/LOOP_OUT after EAGAIN */
	int		 trusted;
	SSL_SESSION	*session;	/* received before tls_trust() */
	char		 err[160];
};

static int	tls_index = -1;	/* SSL ex_data slot for struct tls */

/* Formats OpenSSL's queued error (or what) into buf, and clears the queue. */
static void
ssl_err(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	char detail[128];

	if (e == 0) {
		(void)snprintf(buf, len, "%s", what);
	} else {
		ERR_error_string_n(e, detail, sizeof(detail));
		(void)snprintf(buf, len, "%s: %s", what, detail);
	}
	ERR_clear_error();
}

static int
tls_once(void)
{
	if (tls_index == -1)
		tls_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	return tls_index == -1 ? -1 : 0;
}

/* Opens path for writing, never over an existing file, mode 0600. */
static FILE *
create_private(const char *path, char *err, size_t errlen)
{
	FILE *f;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		(void)unlink(path);
	}
	return f;
}

/*
 * A certificate for pkey named cn, its issuer itself, valid from a day
 * ago for days: everything but extensions and the signature.
 */
static X509 *
cert_new(EVP_PKEY *pkey, const char *cn, long days)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;	/* a positive serial number */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -24 * 3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0,
	    NULL) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, pkey) != 1)
		goto out;
	ok = 1;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* A self-signed certificate for pkey, named after the host. */
static X509 *
self_signed(EVP_PKEY *pkey)
{
	X509 *x = cert_new(pkey, "tunnel-server", TLS_CERT_DAYS);

	/* Ed25519: no digest. */
	if (x != NULL && X509_sign(x, pkey, NULL) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
tls_make_server_key(const char *cert_file, const char *key_file, char *err,
    size_t errlen)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	FILE *f = NULL;
	int have_cert = access(cert_file, F_OK) == 0;
	int have_key = access(key_file, F_OK) == 0;
	int r = -1;

	if (have_cert && have_key)
		return 0;
	if (have_cert || have_key) {
		(void)snprintf(err, errlen, "%s exists but %s does not: "
		    "give both, or remove the one left to make a new pair",
		    have_cert ? cert_file : key_file,
		    have_cert ? key_file : cert_file);
		return -1;
	}
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
		ssl_err(err, errlen, "making the server key");
		goto out;
	}
	if ((x = self_signed(pkey)) == NULL) {
		ssl_err(err, errlen, "making the certificate");
		goto out;
	}
	if ((f = create_private(key_file, err, errlen)) == NULL)
		goto out;
	if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		ssl_err(err, errlen, key_file);
		goto bad_key;
	}
	if (fclose(f) != 0) {
		f = NULL;
		(void)snprintf(err, errlen, "%s: %s", key_file,
		    strerror(errno));
		goto bad_key;
	}
	if ((f = create_private(cert_file, err, errlen)) == NULL)
		goto bad_key;
	if (PEM_write_X509(f, x) != 1) {
		ssl_err(err, errlen, cert_file);
		(void)fclose(f);
		f = NULL;
		(void)unlink(cert_file);
		goto bad_key;
	}
	if (fclose(f) != 0) {
		f = NULL;
		(void)snprintf(err, errlen, "%s: %s", cert_file,
		    strerror(errno));
		(void)unlink(cert_file);
		goto bad_key;
	}
	f = NULL;
	r = 1;
	goto out;
bad_key:
	if (f != NULL)
		(void)fclose(f);
	f = NULL;
	(void)unlink(key_file);	/* never half a pair */
out:
	if (f != NULL)
		(void)fclose(f);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return r;
}

/* Settings both daemons share. */
static SSL_CTX *
ctx_common(int server, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if (tls_once() == -1) {
		(void)snprintf(err, errlen, "OpenSSL: no ex_data slot");
		return NULL;
	}
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
		ssl_err(err, errlen, "TLS 1.3");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/*
	 * Partial writes and a buffer that may move between retries: the
	 * bridge writes what a socket takes and retries from its own
	 * buffer. Released buffers keep idle connections small.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/*
	 * AES-128 first, as Go and BoringSSL order them: with AES-NI it
	 * moves bulk data faster than AES-256, and its SHA-256 key schedule
	 * makes every pool refill's handshake cheaper than SHA-384's.
	 */
	if (SSL_CTX_set_ciphersuites(ctx, TLS_SUITES) != 1) {
		ssl_err(err, errlen, "TLS 1.3 cipher suites");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * A resumed handshake gets no new ticket: the client resumes every pool
 * refill from the ticket of a full handshake (a copy per dial, see
 * tls_dial), so a ticket per refill would only cost both sides its
 * encryption, its record and its parsing. A full handshake, the first or
 * one after the ticket's lifetime, still gets one. OpenSSL 3.0 sends a
 * ticket after every TLS 1.3 handshake whatever the ticket callback says,
 * so the count is set once the ClientHello has been taken, before the
 * server's last flight.
 */
static void
info_cb(const SSL *ssl, int where, int ret)
{
	struct tls *t = SSL_get_ex_data(ssl, tls_index);

	(void)ret;
	if (t != NULL && (where & SSL_CB_ACCEPT_LOOP) != 0 &&
	    SSL_session_reused(ssl))
		(void)SSL_set_num_tickets(t->ssl, 0);
}

/* A certificate chain and its key into ctx. Return: 0, or -1 with err. */
static int
ctx_use_pair(SSL_CTX *ctx, const char *cert_file, const char *key_file,
    char *err, size_t errlen)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		ssl_err(err, errlen, cert_file);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) !=
	    1) {
		ssl_err(err, errlen, key_file);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, "the key does not match the certificate");
		return -1;
	}
	return 0;
}

struct tls_ctx *
tls_server_ctx(const char *cert_file, const char *key_file, char *err,
    size_t errlen)
{
	struct tls_ctx *x;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		(void)snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if ((x->ctx = ctx_common(1, err, errlen)) == NULL) {
		free(x);
		return NULL;
	}
	if (ctx_use_pair(x->ctx, cert_file, key_file, err, errlen) == -1)
		goto bad;
	/* One ticket per full handshake, none after a resumed one (info_cb). */
	(void)SSL_CTX_set_num_tickets(x->ctx, 1);
	SSL_CTX_set_info_callback(x->ctx, info_cb);
	(void)SSL_CTX_set_session_cache_mode(x->ctx, SSL_SESS_CACHE_OFF);
	return x;
bad:
	tls_ctx_free(x);
	return NULL;
}

/* One ALPN policy: the protocol to choose, and what to do without it. */
struct alpn_pick {
	const unsigned char	*proto;		/* wire form: length, name */
	unsigned int		 len;
	int			 none;		/* SSL_TLSEXT_ERR_* */
};

/* The front: HTTP/1.1 when offered; nothing else is forwarded as it is. */
static struct alpn_pick front_alpn = {
	(const unsigned char *)"\x08http/1.1", 9, SSL_TLSEXT_ERR_NOACK
};
/* A TLS-ALPN-01 check: acme-tls/1 or no handshake (RFC 8737 3). */
static struct alpn_pick acme_alpn = {
	(const unsigned char *)"\x0a" "acme-tls/1", 11,
	SSL_TLSEXT_ERR_ALERT_FATAL
};

static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct alpn_pick *pick = arg;
	unsigned char *sel = NULL;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, pick->proto, pick->len, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return pick->none;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

struct tls_ctx *
tls_front_ctx(const char *cert_file, const char *key_file, char *err,
    size_t errlen)
{
	struct tls_ctx *x;

	if (tls_once() == -1) {
		(void)snprintf(err, errlen, "OpenSSL: no ex_data slot");
		return NULL;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		(void)snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if ((x->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new");
		goto bad;
	}
	/*
	 * Webhook senders speak TLS 1.2 at least; 1.2 gets forward-secret
	 * AEAD suites only, and no renegotiation.
	 */
	if (SSL_CTX_set_min_proto_version(x->ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(x->ctx,
	    "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
		ssl_err(err, errlen, "TLS versions and suites");
		goto bad;
	}
	SSL_CTX_set_options(x->ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/*
	 * As on the link: AES-128 first, whose SHA-256 key schedule makes
	 * each handshake cheaper; and one session ticket per handshake, not
	 * OpenSSL's two, since a webhook sender seldom resumes at all.
	 */
	if (SSL_CTX_set_ciphersuites(x->ctx, TLS_SUITES) != 1) {
		ssl_err(err, errlen, "TLS 1.3 cipher suites");
		goto bad;
	}
	(void)SSL_CTX_set_num_tickets(x->ctx, 1);
	SSL_CTX_set_mode(x->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* Stateless tickets resume; nothing is cached per visitor here. */
	(void)SSL_CTX_set_session_cache_mode(x->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_alpn_select_cb(x->ctx, alpn_cb, &front_alpn);
	if (ctx_use_pair(x->ctx, cert_file, key_file, err, errlen) == -1)
		goto bad;
	return x;
bad:
	tls_ctx_free(x);
	return NULL;
}

/*
 * The acmeIdentifier extension (RFC 8737 3): critical, its value the DER
 * of an OCTET STRING holding the SHA-256 of the key authorization.
 */
static int
add_acme_id(X509 *x, const uint8_t digest[32])
{
	unsigned char der[2 + 32];
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int ok = 0;

	der[0] = 0x04;		/* OCTET STRING */
	der[1] = 32;
	memcpy(der + 2, digest, 32);
	if (oid != NULL && v != NULL &&
	    ASN1_OCTET_STRING_set(v, der, sizeof(der)) == 1 &&
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, v)) != NULL)
		ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(v);
	ASN1_OBJECT_free(oid);
	return ok ? 0 : -1;
}

struct tls_ctx *
tls_acme_alpn_ctx(const char *name, const char *keyauth, char *err,
    size_t errlen)
{
	struct tls_ctx *x = NULL;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_EXTENSION *san = NULL;
	X509 *cert = NULL;
	char alt[FRONT_NAME_ROOM + 8];
	uint8_t digest[32];

	(void)snprintf(alt, sizeof(alt), "DNS:%s", name);
	if (pkey == NULL || EVP_Digest(keyauth, strlen(keyauth), digest, NULL,
	    EVP_sha256(), NULL) != 1 ||
	    /* RFC 8737 needs the name in SAN alone; CN holds 64 at most. */
	    (cert = cert_new(pkey, strlen(name) <= 64 ? name : "tls-alpn-01",
	    7)) == NULL ||
	    (san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    alt)) == NULL || X509_add_ext(cert, san, -1) != 1 ||
	    add_acme_id(cert, digest) == -1 ||
	    X509_sign(cert, pkey, EVP_sha256()) == 0) {
		ssl_err(err, errlen, "the TLS-ALPN-01 certificate");
		goto out;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		(void)snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	if ((x->ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(x->ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate(x->ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(x->ctx, pkey) != 1) {
		ssl_err(err, errlen, "the TLS-ALPN-01 context");
		tls_ctx_free(x);
		x = NULL;
		goto out;
	}
	SSL_CTX_set_mode(x->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	(void)SSL_CTX_set_num_tickets(x->ctx, 0);
	(void)SSL_CTX_set_session_cache_mode(x->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_alpn_select_cb(x->ctx, alpn_cb, &acme_alpn);
out:
	X509_EXTENSION_free(san);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return x;
}

int
tls_ctx_names(struct tls_ctx *x, const char *name)
{
	X509 *cert = SSL_CTX_get0_certificate(x->ctx);

	return cert != NULL && X509_check_host(cert, name, 0,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* t as Unix seconds, through a difference from now: no timegm(), which
 * Windows lacks. */
static int
asn1_unix(const ASN1_TIME *t, int64_t *out)
{
	int days, secs;

	if (t == NULL || ASN1_TIME_diff(&days, &secs, NULL, t) != 1)
		return -1;
	*out = (int64_t)time(NULL) + (int64_t)days * 86400 + secs;
	return 0;
}

int
tls_ctx_validity(struct tls_ctx *x, int64_t *not_before, int64_t *not_after)
{
	X509 *cert = SSL_CTX_get0_certificate(x->ctx);

	if (cert == NULL || asn1_unix(X509_get0_notBefore(cert),
	    not_before) == -1)
		return -1;
	return asn1_unix(X509_get0_notAfter(cert), not_after);
}

int
tls_ctx_expiry(struct tls_ctx *x, int64_t *not_after)
{
	int64_t from;

	return tls_ctx_validity(x, &from, not_after);
}

/* Replaces *slot with s (whose reference it takes). */
static void
keep_session(SSL_SESSION **slot, SSL_SESSION *s)
{
	if (*slot != NULL)
		SSL_SESSION_free(*slot);
	*slot = s;
}

/* A ticket arrived: kept if the connection is trusted, else held aside. */
static int
new_session_cb(SSL *ssl, SSL_SESSION *s)
{
	struct tls *t = SSL_get_ex_data(ssl, tls_index);

	if (t == NULL)
		return 0;
	if (t->trusted)
		keep_session(&t->x->session, s);
	else
		keep_session(&t->session, s);
	return 1;	/* the reference is ours */
}

struct tls_ctx *
tls_client_ctx(const char *host, char *err, size_t errlen)
{
	struct tls_ctx *x;
	unsigned char ip[16];

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		(void)snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	x->client = 1;
	if ((x->ctx = ctx_common(0, err, errlen)) == NULL) {
		free(x);
		return NULL;
	}
	(void)snprintf(x->host, sizeof(x->host), "%s", host);
	x->host_is_ip = inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1;
	/* A missing trust store only means no CA-verified server. */
	(void)SSL_CTX_set_default_verify_paths(x->ctx);
	ERR_clear_error();
	SSL_CTX_set_verify(x->ctx, SSL_VERIFY_NONE, NULL);
	(void)SSL_CTX_set_session_cache_mode(x->ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(x->ctx, new_session_cb);
	return x;
}

void
tls_ctx_free(struct tls_ctx *x)
{
	if (x == NULL)
		return;
	if (x->session != NULL)
		SSL_SESSION_free(x->session);
	SSL_CTX_free(x->ctx);
	free(x);
}

void
tls_ctx_forget(struct tls_ctx *x)
{
	keep_session(&x->session, NULL);
}

/*
 * "SHA256:" and the unpadded base64 of SHA-256 over the DER of the
 * certificate's key (SubjectPublicKeyInfo). Encoded from the certificate's
 * own X509_PUBKEY, not through i2d_PUBKEY: OpenSSL 3's encoder lookup for
 * an EVP_PKEY cost a tenth of the client's CPU when every pool refill
 * checked its key.
 */
static int
key_fingerprint(X509 *x, char *out)
{
	unsigned char *der = NULL, md[32], b64[48];
	int len, n;

	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0)
		return -1;
	n = EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (n != 1)
		return -1;
	n = EVP_EncodeBlock(b64, md, sizeof(md));	/* 44, one '=' */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	(void)snprintf(out, TLS_FP_LEN, "SHA256:%.*s", n, (char *)b64);
	return 0;
}

int
tls_file_fingerprint(const char *cert_file, char *out, char *err,
    size_t errlen)
{
	FILE *f;
	X509 *x;
	int r;

	if ((f = fopen(cert_file, "re")) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", cert_file,
		    strerror(errno));
		return -1;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	(void)fclose(f);
	if (x == NULL) {
		ssl_err(err, errlen, cert_file);
		return -1;
	}
	r = key_fingerprint(x, out);
	X509_free(x);
	if (r == -1)
		ssl_err(err, errlen, cert_file);
	return r;
}

int
tls_fp_valid(const char *s)
{
	size_t i;

	if (strncmp(s, "SHA256:", 7) != 0 || strlen(s) != 7 + 43)
		return 0;
	for (i = 7; s[i] != '\0'; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
			return 0;
	}
	return 1;
}

struct tls *
tls_new(struct tls_ctx *x, int fd)
{
	struct tls *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	/*
	 * Only a client's connection looks at its context again (tickets,
	 * trust); a server's may outlive it, freed by a reload.
	 */
	t->x = x->client ? x : NULL;
	if ((t->ssl = SSL_new(x->ctx)) == NULL ||
	    SSL_set_fd(t->ssl, fd) != 1 ||
	    SSL_set_ex_data(t->ssl, tls_index, t) != 1)
		goto bad;
	if (x->client) {
		SSL_set_connect_state(t->ssl);
		if (x->host_is_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(
			    SSL_get0_param(t->ssl), x->host) != 1)
				goto bad;
		} else if (SSL_set_tlsext_host_name(t->ssl, x->host) != 1 ||
		    SSL_set1_host(t->ssl, x->host) != 1) {
			goto bad;
		}
		/*
		 * A copy: a TLS 1.3 client that receives a new ticket marks
		 * the session it resumed as used up, and the pool's other
		 * connections, dialed at once, resume the same one.
		 */
		if (x->session != NULL) {
			SSL_SESSION *copy = SSL_SESSION_dup(x->session);
			int ok = copy != NULL &&
			    SSL_set_session(t->ssl, copy) == 1;

			SSL_SESSION_free(copy);	/* the SSL keeps its own */
			if (!ok)
				goto bad;
		}
	} else {
		SSL_set_accept_state(t->ssl);
	}
	return t;
bad:
	ERR_clear_error();
	SSL_free(t->ssl);
	free(t);
	return NULL;
}

int
tls_hold_reads(struct tls *t)
{
	BIO *mem = BIO_new(BIO_s_mem());

	if (mem == NULL)
		return -1;
	/* Empty: every read says "try again", as a socket with nothing. */
	BIO_set_mem_eof_return(mem, -1);
	SSL_set0_rbio(t->ssl, mem);
	return 0;
}

int
tls_unread(struct tls *t, int fd, const void *buf, size_t len)
{
	BIO *mem = BIO_new(BIO_s_mem());

	if (mem == NULL)
		return -1;
	/* Drained: "try again", and reading moves on to the socket. */
	BIO_set_mem_eof_return(mem, -1);
	if (len > 0 && BIO_write(mem, buf, (int)len) != (int)len) {
		BIO_free(mem);
		return -1;
	}
	SSL_set0_rbio(t->ssl, mem);
	t->fd = fd;
	t->unread = 1;
	return 0;
}

/* The bytes given by tls_unread are all read: on to the socket. */
static int
unread_done(struct tls *t)
{
	if (!t->unread || BIO_ctrl_pending(SSL_get_rbio(t->ssl)) > 0)
		return 0;
	if (tls_release_reads(t, t->fd) == -1) {
		/* Failing, not waiting: the drained buffer would never fill. */
		(void)snprintf(t->err, sizeof(t->err), "TLS: out of memory");
		errno = ENOMEM;
		return -1;
	}
	t->unread = 0;
	return 1;
}

int
tls_release_reads(struct tls *t, int fd)
{
	BIO *sock = BIO_new_socket(fd, BIO_NOCLOSE);

	if (sock == NULL)
		return -1;
	SSL_set0_rbio(t->ssl, sock);	/* frees the empty one */
	return 0;
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	if (t->session != NULL)
		SSL_SESSION_free(t->session);
	SSL_free(t->ssl);
	free(t);
}

/*
 * Turns SSL_get_error() after a call that returned r into errno and the
 * readiness awaited. Return: -1 always (for the caller to return), or 0
 * for a clean close_notify.
 */
static int
io_fail(struct tls *t, int r, const char *what)
{
	int e = SSL_get_error(t->ssl, r);
	int saved = errno;
	unsigned long code;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		t->want = LOOP_IN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		t->want = LOOP_OUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		errno = saved != 0 ? saved : ECONNRESET;
		(void)snprintf(t->err, sizeof(t->err), "%s: %s", what,
		    strerror(errno));
		return -1;
	default:
		code = ERR_peek_error();
		ssl_err(t->err, sizeof(t->err), what);
		errno = ERR_GET_REASON(code) ==
		    SSL_R_UNEXPECTED_EOF_WHILE_READING ? ECONNRESET : EPROTO;
		return -1;
	}
}

int
tls_handshake(struct tls *t)
{
	int r;

again:
	ERR_clear_error();
	if ((r = SSL_do_handshake(t->ssl)) == 1)
		return 1;
	if (io_fail(t, r, "TLS handshake") == -1 && errno == EAGAIN) {
		if (t->want != LOOP_IN)
			return 0;
		switch (unread_done(t)) {
		case 1:
			goto again;
		case -1:
			return -1;
		}
		return 0;
	}
	if (t->err[0] == '\0')
		(void)snprintf(t->err, sizeof(t->err),
		    "TLS handshake: the peer closed");
	return -1;
}

uint32_t
tls_events(const struct tls *t)
{
	return t->want;
}

ssize_t
tls_recv(struct tls *t, void *buf, size_t len)
{
	size_t n = 0;
	int r, k;

again:
	ERR_clear_error();
	r = SSL_read_ex(t->ssl, buf, len, &n);
	if (r == 1)
		return (ssize_t)n;
	if ((r = io_fail(t, 0, "TLS read")) == -1 && errno == EAGAIN &&
	    t->want == LOOP_IN && (k = unread_done(t)) != 0) {
		if (k == 1)
			goto again;
		return -1;	/* errno ENOMEM */
	}
	return r;
}

ssize_t
tls_send(struct tls *t, const void *buf, size_t len)
{
	size_t n = 0;
	int r;

	if (len == 0)
		return 0;
	ERR_clear_error();
	r = SSL_write_ex(t->ssl, buf, len, &n);
	if (r == 1)
		return (ssize_t)n;
	if (io_fail(t, 0, "TLS write") == 0) {
		errno = EPIPE;
		return -1;
	}
	return -1;
}

int
tls_close_notify(struct tls *t)
{
	int r;

	ERR_clear_error();
	r = SSL_shutdown(t->ssl);
	if (r >= 0)
		return 1;	/* sent (0: the peer's has not come yet) */
	if (io_fail(t, r, "TLS close_notify") == -1 && errno == EAGAIN)
		return 0;
	return -1;
}

uint64_t
tls_wire_sent(struct tls *t)
{
	BIO *w = SSL_get_wbio(t->ssl);

	return w != NULL ? BIO_number_written(w) : 0;
}

int
tls_pending(struct tls *t)
{
	/*
	 * Decrypted bytes only. SSL_has_pending() is also true for part of
	 * a record, which no read can return until the rest arrives (and
	 * epoll reports that): taken for "read again now", it spun the loop
	 * for as long as a record stayed cut (read-ahead is off, so a whole
	 * undecrypted record never waits inside OpenSSL).
	 */
	return SSL_pending(t->ssl) > 0;
}

const char *
tls_error(const struct tls *t)
{
	return t->err[0] != '\0' ? t->err : "TLS: unknown error";
}

int
tls_exporter(struct tls *t, uint8_t out[TLS_EXPORTER_LEN])
{
	if (SSL_export_keying_material(t->ssl, out, TLS_EXPORTER_LEN,
	    TLS_EXPORTER_LABEL, strlen(TLS_EXPORTER_LABEL), NULL, 0,
	    0) != 1) {
		ssl_err(t->err, sizeof(t->err), "TLS exporter");
		return -1;
	}
	return 0;
}

int
tls_peer_fingerprint(struct tls *t, char *out)
{
	X509 *x = SSL_get0_peer_certificate(t->ssl);

	if (x == NULL)
		return -1;
	return key_fingerprint(x, out);
}

int
tls_ca_verified(struct tls *t)
{
	return SSL_get0_peer_certificate(t->ssl) != NULL &&
	    SSL_get_verify_result(t->ssl) == X509_V_OK;
}

int
tls_resumed(struct tls *t)
{
	return SSL_session_reused(t->ssl);
}

void
tls_trust(struct tls *t)
{
	t->trusted = 1;
	if (t->session != NULL) {
		keep_session(&t->x->session, t->session);
		t->session = NULL;
	}
}
