/*
 * Unit tests for tunnel-acme's cryptography (src/acme_key.c), checked
 * with OpenSSL from the other side: base64url against RFC 4648's
 * vectors, a JWS whose signature OpenSSL verifies over exactly the bytes
 * RFC 7515 says, a JWK thumbprint recomputed from its members, CSRs for
 * short and long names (no CN past 64 characters, the name in SAN), the
 * account key made 0600 and read back, and stored chains refused when
 * they are for another name or key.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../src/acme.h"
#include "test.h"

/* base64url (no padding) into out; returns its length, or -1. */
static long
unb64u(const char *s, unsigned char *out, size_t cap)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_";
	unsigned long v = 0;
	size_t n = 0;
	int bits = 0;
	const char *p;

	for (; *s != '\0'; s++) {
		if ((p = strchr(abc, *s)) == NULL)
			return -1;
		v = v << 6 | (unsigned long)(p - abc);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	return (long)n;
}

static int
test_b64u(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" }, { "\xfb\xff", "-_8" },
	};
	char out[32];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ASSERT_STR_EQ(acme_b64u(v[i].in, strlen(v[i].in), out),
		    v[i].out);
	return TEST_PASS;
}

/* A JWS that OpenSSL verifies with the key's public half. */
static int
test_jws(void)
{
	EVP_PKEY *key = acme_cert_key();
	json_t *jwk, *ph, *pl, *jws, *back;
	char thumb[64], thumb2[64], canon[200], *text, *input;
	const char *p64, *l64, *s64;
	unsigned char sig[128], der[80], *dp = der, md[32], buf[512];
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	EVP_MD_CTX *mc;
	long n;
	int dl;

	ASSERT(key != NULL);
	ASSERT_EQ(acme_jwk(key, &jwk, thumb, sizeof(thumb)), 0);
	ASSERT_EQ(strlen(json_string_value(json_object_get(jwk, "x"))), 43);
	ASSERT_EQ(strlen(json_string_value(json_object_get(jwk, "y"))), 43);
	/* RFC 7638: SHA-256 of the sorted required members, no spaces. */
	(void)snprintf(canon, sizeof(canon),
	    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
	    json_string_value(json_object_get(jwk, "x")),
	    json_string_value(json_object_get(jwk, "y")));
	ASSERT_EQ(EVP_Digest(canon, strlen(canon), md, NULL, EVP_sha256(),
	    NULL), 1);
	ASSERT_STR_EQ(thumb, acme_b64u(md, sizeof(md), thumb2));
	ph = json_pack("{s:s, s:O, s:s, s:s}", "alg", "ES256", "jwk", jwk,
	    "nonce", "abc", "url", "https://ca.test/new-acct");
	pl = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	text = acme_jws(key, ph, pl);
	ASSERT(text != NULL);
	jws = json_loads(text, 0, NULL);
	ASSERT(jws != NULL);
	p64 = json_string_value(json_object_get(jws, "protected"));
	l64 = json_string_value(json_object_get(jws, "payload"));
	s64 = json_string_value(json_object_get(jws, "signature"));
	ASSERT(p64 != NULL && l64 != NULL && s64 != NULL);
	n = unb64u(p64, buf, sizeof(buf) - 1);
	ASSERT(n > 0);
	buf[n] = '\0';
	back = json_loads((char *)buf, 0, NULL);
	ASSERT_STR_EQ(json_string_value(json_object_get(back, "url")),
	    "https://ca.test/new-acct");
	json_decref(back);
	/* The signature: r || s, 32 bytes each, over "protected.payload". */
	ASSERT_EQ(unb64u(s64, sig, sizeof(sig)), 64);
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	ASSERT_EQ(ECDSA_SIG_set0(es, r, s), 1);
	dl = i2d_ECDSA_SIG(es, &dp);
	ECDSA_SIG_free(es);
	ASSERT(dl > 0);
	n = (long)(strlen(p64) + strlen(l64) + 2);
	input = malloc((size_t)n);
	(void)snprintf(input, (size_t)n, "%s.%s", p64, l64);
	mc = EVP_MD_CTX_new();
	ASSERT_EQ(EVP_DigestVerifyInit(mc, NULL, EVP_sha256(), NULL, key), 1);
	ASSERT_EQ(EVP_DigestVerify(mc, der, (size_t)dl,
	    (unsigned char *)input, strlen(input)), 1);
	/* One byte changed: no longer verifies. */
	input[0] ^= 1;
	ASSERT_EQ(EVP_DigestVerifyInit(mc, NULL, EVP_sha256(), NULL, key), 1);
	ASSERT(EVP_DigestVerify(mc, der, (size_t)dl, (unsigned char *)input,
	    strlen(input)) != 1);
	EVP_MD_CTX_free(mc);
	free(input);
	free(text);
	json_decref(jws);
	json_decref(ph);
	json_decref(pl);
	/* POST-as-GET: the payload is the empty string. */
	ph = json_pack("{s:s, s:s, s:s, s:s}", "alg", "ES256", "kid", "k",
	    "nonce", "n", "url", "u");
	text = acme_jws(key, ph, NULL);
	jws = json_loads(text, 0, NULL);
	ASSERT_STR_EQ(json_string_value(json_object_get(jws, "payload")), "");
	json_decref(jws);
	json_decref(ph);
	free(text);
	json_decref(jwk);
	EVP_PKEY_free(key);
	return TEST_PASS;
}

/* The CSR for name: verified, its SAN the name, a CN only up to 64. */
static int
csr_check(EVP_PKEY *key, const char *name, int want_cn)
{
	unsigned char der[4096];
	const unsigned char *p = der;
	char *csr = acme_csr(key, name);
	X509_REQ *req;
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	X509_NAME *subj;
	long n;
	int i, found = 0;

	ASSERT(csr != NULL);
	n = unb64u(csr, der, sizeof(der));
	free(csr);
	ASSERT(n > 0);
	req = d2i_X509_REQ(NULL, &p, n);
	ASSERT(req != NULL);
	ASSERT_EQ(X509_REQ_verify(req, key), 1);
	subj = X509_REQ_get_subject_name(req);
	ASSERT_EQ(X509_NAME_get_index_by_NID(subj, NID_commonName, -1) >= 0,
	    want_cn);
	exts = X509_REQ_get_extensions(req);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	ASSERT(gens != NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS && strcmp((const char *)
		    ASN1_STRING_get0_data(g->d.dNSName), name) == 0)
			found = 1;
	}
	ASSERT_EQ(sk_GENERAL_NAME_num(gens), 1);
	ASSERT(found);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return TEST_PASS;
}

static int
test_csr(void)
{
	EVP_PKEY *key = acme_cert_key();
	char name[254];
	size_t len;

	ASSERT(key != NULL);
	ASSERT_EQ(csr_check(key, "alice.tunnel.example.com", 1), TEST_PASS);
	/* Labels of 60 + dots: names of 64, 65 and 253 characters. */
	for (len = 64; len <= 253; len += len == 65 ? 188 : 1) {
		size_t i;

		for (i = 0; i < len; i++)
			name[i] = i % 61 == 60 ? '.' : 'a';
		name[len] = '\0';
		ASSERT_EQ(csr_check(key, name, len <= 64), TEST_PASS);
	}
	EVP_PKEY_free(key);
	return TEST_PASS;
}

/* A self-signed certificate for name and key, as PEM in buf. */
static size_t
cert_pem(EVP_PKEY *key, const char *name, char *buf, size_t cap)
{
	X509 *x = X509_new();
	X509_EXTENSION *san;
	char alt[300];
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	(void)snprintf(alt, sizeof(alt), "DNS:%s", name);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, alt);
	X509_add_ext(x, san, -1);
	X509_EXTENSION_free(san);
	X509_sign(x, key, EVP_sha256());
	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	if ((size_t)n >= cap)
		n = 0;
	memcpy(buf, p, (size_t)n);
	buf[n] = '\0';
	BIO_free(b);
	X509_free(x);
	return (size_t)n;
}

static int
test_files(void)
{
	char dir[] = "/tmp/test_acme.XXXXXX", path[128], pem[4096], err[512];
	EVP_PKEY *a, *b, *k = acme_cert_key(), *other = acme_cert_key();
	struct stat st;
	size_t n;
	FILE *f;

	ASSERT(mkdtemp(dir) != NULL);
	(void)snprintf(path, sizeof(path), "%s/account.key", dir);
	a = acme_account_key(path, err, sizeof(err));
	ASSERT(a != NULL);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	b = acme_account_key(path, err, sizeof(err));
	ASSERT(b != NULL);
	ASSERT_EQ(EVP_PKEY_eq(a, b), 1);	/* read back, not made anew */
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	/* Not a P-256 key: refused, not replaced. */
	(void)snprintf(path, sizeof(path), "%s/rsa.key", dir);
	f = fopen(path, "w");
	a = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ASSERT(f != NULL && a != NULL);
	PEM_write_PrivateKey(f, a, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	EVP_PKEY_free(a);
	ASSERT(acme_account_key(path, err, sizeof(err)) == NULL);
	ASSERT_STR_CONTAINS(err, "not a P-256 key");
	/* A chain for the name and key is stored 0600; others are not. */
	(void)snprintf(path, sizeof(path), "%s/alice.pem", dir);
	n = cert_pem(k, "alice.test", pem, sizeof(pem));
	ASSERT(n > 0);
	ASSERT_EQ(acme_store(path, k, pem, n, "alice.test", err,
	    sizeof(err)), 0);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(acme_store(path, k, pem, n, "bob.test", err, sizeof(err)),
	    -1);
	ASSERT_STR_CONTAINS(err, "does not name bob.test");
	ASSERT_EQ(acme_store(path, other, pem, n, "alice.test", err,
	    sizeof(err)), -1);
	ASSERT_STR_CONTAINS(err, "not for the key");
	ASSERT_EQ(acme_store(path, k, "junk", 4, "alice.test", err,
	    sizeof(err)), -1);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	(void)snprintf(pem, sizeof(pem), "rm -rf %s", dir);
	ASSERT_EQ(system(pem), 0);
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "acme_b64u", test_b64u },
	{ "acme_jws", test_jws },
	{ "acme_csr", test_csr },
	{ "acme_files", test_files },
};

TEST_MAIN(tests)
