/*
 * acme_key: the cryptography of an ACME order (acme.h). The account and
 * every certificate get their own P-256 key: ES256 is the one signature
 * algorithm every ACME CA accepts, and a P-256 certificate is what every
 * webhook sender can verify. Requests are flattened JWS objects whose
 * protected header carries the JWK (new account) or the account's URL;
 * the JWK's RFC 7638 thumbprint makes the HTTP-01 key authorization.
 *
 * Files are made the way the server makes its own secrets: a 0600
 * temporary file in the same directory, synced, then linked (the account
 * key: a concurrent maker wins) or renamed (a certificate: the new one
 * replaces the old in one step, so the server never reads half a file).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme.h"

#define ACME_PATH_MAX	(ACME_URL_MAX + 16)

static void
ssl_why(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		(void)snprintf(err, errlen, "%s: %s", what, buf);
	} else
		(void)snprintf(err, errlen, "%s", what);
	ERR_clear_error();
}

char *
acme_b64u(const void *p, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_";
	const unsigned char *s = p;
	size_t i, o = 0;
	unsigned long v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8 |
		    s[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)s[i] << 16;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

/* A fresh string of n bytes' base64url. Return: NULL if out of memory. */
static char *
b64u_dup(const void *p, size_t n)
{
	char *s = malloc(n / 3 * 4 + 5);

	return s == NULL ? NULL : acme_b64u(p, n, s);
}

EVP_PKEY *
acme_cert_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/*
 * Opens a new 0600 file beside path for writing. Return: its fd with its
 * name in tmp, or -1.
 */
static int
tmp_beside(const char *path, char *tmp, size_t len)
{
	/* ".tmp-": what the server removes at start (server_acme.c). */
	int r = snprintf(tmp, len, "%s.tmp-XXXXXX", path), fd;

	if (r < 0 || (size_t)r >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return -1;
	if (fchmod(fd, 0600) == -1) {
		(void)close(fd);
		(void)unlink(tmp);
		return -1;
	}
	return fd;
}

/* Syncs the directory of path, so a rename or link survives a crash. */
static void
sync_dir(const char *path)
{
	char dir[ACME_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir))
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if ((fd = open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return;
	(void)fsync(fd);
	(void)close(fd);
}

/* Writes all of p, then syncs. Return: 0, or -1. */
static int
write_synced(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return fsync(fd);
}

/* key as PKCS#8 PEM into a new buffer (free()). Return: NULL on failure. */
static char *
key_pem(EVP_PKEY *key, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out = NULL;
	long n;

	if (b == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
	}
	BIO_free(b);
	return out;
}

static EVP_PKEY *
key_read(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	(void)fclose(f);
	if (key == NULL)
		ssl_why(err, errlen, path);
	else if (!EVP_PKEY_is_a(key, "EC") || EVP_PKEY_get_bits(key) != 256) {
		(void)snprintf(err, errlen, "%s: not a P-256 key", path);
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

EVP_PKEY *
acme_account_key(const char *path, char *err, size_t errlen)
{
	char tmp[ACME_PATH_MAX], *pem;
	EVP_PKEY *key;
	size_t n;
	int fd, e;

	if (access(path, F_OK) == 0)
		return key_read(path, err, errlen);
	if ((key = acme_cert_key()) == NULL) {
		ssl_why(err, errlen, "cannot make the account key");
		return NULL;
	}
	if ((pem = key_pem(key, &n)) == NULL) {
		ssl_why(err, errlen, "cannot encode the account key");
		EVP_PKEY_free(key);
		return NULL;
	}
	fd = tmp_beside(path, tmp, sizeof(tmp));
	if (fd == -1 || write_synced(fd, pem, n) == -1) {
		e = errno;
		(void)snprintf(err, errlen, "%s: %s", fd == -1 ? path : tmp,
		    strerror(e));
		goto fail;
	}
	(void)close(fd);
	fd = -1;
	/* link, not rename: whoever made the file first wins. */
	if (link(tmp, path) == -1 && errno != EEXIST) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
		goto fail;
	}
	(void)unlink(tmp);
	sync_dir(path);
	OPENSSL_cleanse(pem, n);
	free(pem);
	EVP_PKEY_free(key);
	return key_read(path, err, errlen);
fail:
	if (fd != -1) {
		(void)close(fd);
		(void)unlink(tmp);
	}
	OPENSSL_cleanse(pem, n);
	free(pem);
	EVP_PKEY_free(key);
	return NULL;
}

/* A big number as 32 bytes' base64url, the JWK's coordinate form. */
static int
coord(EVP_PKEY *key, const char *param, char *out)
{
	unsigned char b[32];
	BIGNUM *bn = NULL;
	int ok;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		return -1;
	ok = BN_bn2binpad(bn, b, sizeof(b)) == (int)sizeof(b);
	BN_free(bn);
	if (!ok)
		return -1;
	(void)acme_b64u(b, sizeof(b), out);
	return 0;
}

int
acme_jwk(EVP_PKEY *key, json_t **jwk, char *thumb, size_t thumblen)
{
	char x[48], y[48], canon[160];
	unsigned char md[32];
	int n;

	if (thumblen < 44 || coord(key, OSSL_PKEY_PARAM_EC_PUB_X, x) == -1 ||
	    coord(key, OSSL_PKEY_PARAM_EC_PUB_Y, y) == -1)
		return -1;
	/* RFC 7638 §3.2: the required members, sorted, no white space. */
	n = snprintf(canon, sizeof(canon),
	    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
	    x, y);
	if (n < 0 || (size_t)n >= sizeof(canon) ||
	    EVP_Digest(canon, (size_t)n, md, NULL, EVP_sha256(), NULL) != 1)
		return -1;
	(void)acme_b64u(md, sizeof(md), thumb);
	*jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC",
	    "x", x, "y", y);
	return *jwk == NULL ? -1 : 0;
}

/* ES256 over data: r and s, 32 bytes each (RFC 7518 §3.4), not DER. */
static int
es256(EVP_PKEY *key, const char *data, size_t n, unsigned char rs[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80];
	const unsigned char *p = der;
	size_t dlen = sizeof(der);
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;
	int ok = 0;

	if (md != NULL &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, der, &dlen, (const unsigned char *)data, n) ==
	    1 && (sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) != NULL) {
		ECDSA_SIG_get0(sig, &r, &s);
		ok = BN_bn2binpad(r, rs, 32) == 32 &&
		    BN_bn2binpad(s, rs + 32, 32) == 32;
	}
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

char *
acme_jws(EVP_PKEY *key, json_t *protected, json_t *payload)
{
	char *ph = NULL, *pl = NULL, *ph64 = NULL, *pl64 = NULL, *input = NULL;
	char *out = NULL, sig64[96];
	unsigned char rs[64];
	size_t n;
	json_t *o;

	ph = json_dumps(protected, JSON_COMPACT);
	pl = payload == NULL ? strdup("") : json_dumps(payload, JSON_COMPACT);
	if (ph == NULL || pl == NULL)
		goto done;
	ph64 = b64u_dup(ph, strlen(ph));
	pl64 = b64u_dup(pl, strlen(pl));
	if (ph64 == NULL || pl64 == NULL)
		goto done;
	n = strlen(ph64) + strlen(pl64) + 2;
	if ((input = malloc(n)) == NULL)
		goto done;
	(void)snprintf(input, n, "%s.%s", ph64, pl64);
	if (es256(key, input, strlen(input), rs) == -1)
		goto done;
	(void)acme_b64u(rs, sizeof(rs), sig64);
	o = json_pack("{s:s, s:s, s:s}", "protected", ph64, "payload", pl64,
	    "signature", sig64);
	if (o != NULL) {
		out = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
done:
	free(ph);
	free(pl);
	free(ph64);
	free(pl64);
	free(input);
	return out;
}

char *
acme_csr(EVP_PKEY *key, const char *name)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *san = NULL;
	X509_NAME *subj;
	unsigned char *der = NULL;
	char *out = NULL, alt[300];
	int n;

	(void)snprintf(alt, sizeof(alt), "DNS:%s", name);
	/* RFC 5280's ub-common-name is 64: a longer name is in SAN alone. */
	if (req == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    (subj = X509_REQ_get_subject_name(req)) == NULL ||
	    (strlen(name) <= 64 && X509_NAME_add_entry_by_txt(subj, "CN",
	    MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0) != 1) ||
	    (san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    alt)) == NULL || (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    sk_X509_EXTENSION_push(exts, san) == 0)
		goto done;
	san = NULL;
	if (X509_REQ_add_extensions(req, exts) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (n = i2d_X509_REQ(req, &der)) <= 0)
		goto done;
	out = b64u_dup(der, (size_t)n);
done:
	OPENSSL_free(der);
	X509_EXTENSION_free(san);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	ERR_clear_error();
	return out;
}

/* The chain's first certificate names name and carries key. */
static int
leaf_ok(const char *chain, size_t len, EVP_PKEY *key, const char *name,
    char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(chain, (int)len);
	X509 *leaf = b == NULL ? NULL : PEM_read_bio_X509(b, NULL, NULL, NULL);
	int ok = 0;

	if (leaf == NULL)
		(void)snprintf(err, errlen, "the CA sent no PEM certificate");
	else if (X509_check_host(leaf, name, 0, 0, NULL) != 1)
		(void)snprintf(err, errlen, "the CA's certificate does not "
		    "name %s", name);
	else if (EVP_PKEY_eq(X509_get0_pubkey(leaf), key) != 1)
		(void)snprintf(err, errlen, "the CA's certificate is not for "
		    "the key we sent");
	else
		ok = 1;
	X509_free(leaf);
	BIO_free(b);
	ERR_clear_error();
	return ok ? 0 : -1;
}

int
acme_store(const char *path, EVP_PKEY *key, const char *chain, size_t len,
    const char *name, char *err, size_t errlen)
{
	char tmp[ACME_PATH_MAX], *pem, *all;
	size_t klen;
	int fd, r = -1;

	if (leaf_ok(chain, len, key, name, err, errlen) == -1)
		return -1;
	if ((pem = key_pem(key, &klen)) == NULL) {
		ssl_why(err, errlen, "cannot encode the certificate's key");
		return -1;
	}
	if ((all = malloc(klen + len + 1)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		goto done;
	}
	/* The key first, then the chain: one file the server reads twice. */
	memcpy(all, pem, klen);
	memcpy(all + klen, chain, len);
	if ((fd = tmp_beside(path, tmp, sizeof(tmp))) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (write_synced(fd, all, klen + len) == -1 ||
	    rename(tmp, path) == -1) {
		(void)snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		(void)close(fd);
		(void)unlink(tmp);
		goto done;
	}
	(void)close(fd);
	sync_dir(path);
	r = 0;
done:
	if (all != NULL) {
		OPENSSL_cleanse(all, klen + len);
		free(all);
	}
	OPENSSL_cleanse(pem, klen);
	free(pem);
	return r;
}
