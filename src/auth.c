/*
 * auth: the password side of the login. Two halves that never meet at run
 * time on the server:
 *
 * - crypt(3) handling (libxcrypt). A configured hash is split into its
 *   setting (family, parameters, salt) and checked once at load by hashing
 *   a probe; the client later runs crypt(password, setting) to get the
 *   SaltedPassword. crypt_rn() works in one static struct crypt_data: it is
 *   about 32 KiB, too big for the stack, and the program has one thread.
 *   The struct is wiped after every call because its output field holds
 *   the SaltedPassword, which is as good as the password for logging in.
 *
 * - the SCRAM-SHA-256 maths (see auth.h): a handful of HMAC-SHA-256 and
 *   SHA-256 calls over caller buffers, cheap enough to run in the event
 *   loop. An OpenSSL failure there can only mean a broken library; the
 *   callers have no sane fallback (a zero key would be worse than none),
 *   so it aborts.
 *
 * SHA-256 is libcrypto's SHA256_Init/Update/Final, and HMAC is RFC 2104
 * built on it (the unit tests check it against libcrypto's own HMAC and
 * RFC 4231). Not EVP: EVP's first use loads the default provider with
 * every algorithm, 1.3 MiB of resident memory in each daemon, more than
 * the idle server needs for everything else; and with only these three
 * functions used, libcrypto can be linked statically (Makefile), which
 * saves another 1.5 MiB of relocated library per process. Random bytes
 * come from the system's CSPRNG (sys_random).
 *
 * Unknown users get a fake setting derived from a server secret and the
 * username, shaped like a real one (same family, parameters and salt
 * length as a template), so the CHALLENGE does not reveal which users exist.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include <crypt.h>
/* SHA256_Init and friends are deprecated in OpenSSL 3, not removed. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "auth.h"
#include "sys.h"

#define AUTH_LABEL		"tunnel-login-v2"
#define AUTH_LABEL_LEN		(sizeof(AUTH_LABEL) - 1)
#define AUTH_FAKE_LABEL		"fake-salt"
#define AUTH_SESSION_LABEL	"session"
#define AUTH_PROXY_LABEL	"proxy"
#define AUTH_PROBE		"probe"
#define AUTH_BCRYPT_SETTING	29	/* "$2b$NN$" + 22 salt characters */
#define AUTH_BCRYPT_HASH	60	/* setting + 31 hash characters */
#define AUTH_SCRYPT_PREFIX	14	/* "$7$" + N (1) + r (5) + p (5) */

/*
 * How a family lays out its setting. Most put the salt after the last '$';
 * bcrypt and scrypt have fixed-width parameters with no '$' before the
 * salt; SunMD5 and sha1crypt settings may end in a '$' of their own.
 */
enum auth_layout {
	AUTH_LAYOUT_DOLLAR = 0,	/* prefix ends at the last '$' */
	AUTH_LAYOUT_YESCRYPT,	/* same, salt is decoded base64 (see below) */
	AUTH_LAYOUT_BCRYPT,	/* "$2b$NN$" + 22 characters */
	AUTH_LAYOUT_SCRYPT,	/* "$7$" + 11 parameter characters */
	AUTH_LAYOUT_TRAILING,	/* like DOLLAR, but a final '$' is kept */
};

/*
 * The families we treat as hashes. Anything else, including the DES and
 * NT formats, is a plaintext password. min_dollars is how many '$' a
 * setting's prefix (up to the salt) has at least, so that a setting with
 * its parameter field missing is refused rather than misread.
 */
static const struct auth_family {
	const char		*id;
	enum auth_layout	 layout;
	int			 comma;		/* "$md5,rounds=N$" form */
	int			 min_dollars;
} auth_families[] = {
	{ "y",		AUTH_LAYOUT_YESCRYPT,	0, 3 },	/* yescrypt */
	{ "gy",		AUTH_LAYOUT_YESCRYPT,	0, 3 },	/* gost-yescrypt */
	{ "7",		AUTH_LAYOUT_SCRYPT,	0, 2 },	/* scrypt */
	{ "2b",		AUTH_LAYOUT_BCRYPT,	0, 3 },	/* bcrypt */
	{ "2a",		AUTH_LAYOUT_BCRYPT,	0, 3 },
	{ "2y",		AUTH_LAYOUT_BCRYPT,	0, 3 },
	{ "6",		AUTH_LAYOUT_DOLLAR,	0, 2 },	/* sha512crypt */
	{ "5",		AUTH_LAYOUT_DOLLAR,	0, 2 },	/* sha256crypt */
	{ "1",		AUTH_LAYOUT_DOLLAR,	0, 2 },	/* md5crypt */
	{ "sha1",	AUTH_LAYOUT_TRAILING,	0, 3 },	/* NetBSD sha1crypt */
	{ "md5",	AUTH_LAYOUT_TRAILING,	1, 2 },	/* Sun MD5 */
};

/* The crypt(3) base64 alphabet, in yescrypt's (and DES's) value order. */
static const char auth_b64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Zeroed before first use, as libxcrypt requires, and after every use. */
static struct crypt_data auth_cd;

struct auth_part {
	const void	*p;
	size_t		 len;
};

static _Noreturn void
auth_crypto_fail(const char *what)
{
	(void)fprintf(stderr, "auth: OpenSSL %s failed\n", what);
	abort();
}

static void
auth_sha256(const void *in, size_t len, uint8_t out[PROTO_KEY_LEN])
{
	SHA256_CTX c;
	int ok;

	ok = SHA256_Init(&c) && SHA256_Update(&c, in, len) &&
	    SHA256_Final(out, &c);
	OPENSSL_cleanse(&c, sizeof(c));
	if (!ok)
		auth_crypto_fail("SHA-256");
}

/* HMAC-SHA-256 (RFC 2104) over the concatenation of parts. */
static void
auth_hmac(const void *key, size_t keylen, const struct auth_part *parts,
    size_t nparts, uint8_t out[PROTO_KEY_LEN])
{
	uint8_t k[SHA256_CBLOCK], pad[SHA256_CBLOCK], inner[PROTO_KEY_LEN];
	SHA256_CTX c;
	size_t i;
	int ok;

	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k))
		auth_sha256(key, keylen, k);
	else if (keylen > 0)
		memcpy(k, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	ok = SHA256_Init(&c) && SHA256_Update(&c, pad, sizeof(pad));
	for (i = 0; ok && i < nparts; i++)
		if (parts[i].len > 0)
			ok = SHA256_Update(&c, parts[i].p, parts[i].len);
	ok = ok && SHA256_Final(inner, &c);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	ok = ok && SHA256_Init(&c) && SHA256_Update(&c, pad, sizeof(pad)) &&
	    SHA256_Update(&c, inner, sizeof(inner)) && SHA256_Final(out, &c);
	OPENSSL_cleanse(&c, sizeof(c));
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	if (!ok)
		auth_crypto_fail("HMAC-SHA-256");
}

void
auth_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
    uint8_t out[PROTO_KEY_LEN])
{
	struct auth_part part = { msg, len };

	auth_hmac(key, keylen, &part, 1, out);
}

static void
auth_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s", msg);
}

/*
 * The family of s when it has the shape of a crypt(3) hash or setting we
 * accept: '$', an id in the table, '$' (or ',' for Sun MD5), then only
 * characters crypt(3) itself emits. Return: the entry, or NULL.
 */
static const struct auth_family *
auth_family_of(const char *s)
{
	const struct auth_family *fam = NULL;
	const char *p;
	size_t i, idlen;

	if (s == NULL || s[0] != '$')
		return NULL;
	for (p = s + 1; (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
	    p++)
		;
	idlen = (size_t)(p - (s + 1));
	for (i = 0; i < sizeof(auth_families) / sizeof(auth_families[0]);
	    i++) {
		if (strlen(auth_families[i].id) == idlen &&
		    memcmp(auth_families[i].id, s + 1, idlen) == 0) {
			fam = &auth_families[i];
			break;
		}
	}
	if (fam == NULL || !(*p == '$' || (*p == ',' && fam->comma)))
		return NULL;
	if (p[strspn(p, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz$=,")] != '\0')
		return NULL;
	return fam;
}

/*
 * A fresh yescrypt setting at libxcrypt's default cost. Return: 0, or -1
 * with errno set (ERANGE when len is too small).
 */
int
auth_default_setting(char *out, size_t len)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	/* A NULL rbytes makes libxcrypt read the salt from the kernel. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting,
	    (int)sizeof(setting)) == NULL)
		return -1;
	if (strlen(setting) >= len) {
		errno = ERANGE;
		return -1;
	}
	memcpy(out, setting, strlen(setting) + 1);
	return 0;
}

/*
 * Hashes pw with a fresh yescrypt setting at libxcrypt's default cost.
 * Return: 0 with the hash in out, -1 with errno set (ERANGE when outlen
 * is too small).
 */
int
auth_hash_password(const char *pw, char *out, size_t outlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	if (auth_default_setting(setting, sizeof(setting)) == -1)
		return -1;
	return auth_crypt(pw, setting, out, outlen);
}

/* Return: 1 when s has the shape of a crypt(3) hash we accept, else 0. */
int
auth_looks_like_hash(const char *s)
{
	return auth_family_of(s) != NULL;
}

/*
 * Splits hash into its setting and checks it by hashing a probe: libxcrypt
 * must accept the setting, echo it unchanged (a salt crypt(3) would
 * normalise, e.g. a 17-character sha512crypt salt, could never reproduce
 * the hash) and produce an output exactly as long as hash, which catches
 * hashes cut short in a copy and paste. The probe costs one crypt(3), once
 * per user at load. Return: 0, or -1 with setting empty and the reason in
 * err.
 */
/*
 * Hashes whose probe passed, by their SHA-256: a crypt(3) run gives the
 * same answer for the same hash every time, and each costs tens of ms of
 * yescrypt. The config loader and the server's user set-up both probe
 * every hash, at start and again at each SIGHUP reload, in the one event
 * loop: with the cache a hash is probed once per process, and a reload of
 * unchanged users costs no crypt(3) at all. Full, it stops remembering.
 */
#define AUTH_PROBED_MAX		2048
static uint8_t	auth_probed[AUTH_PROBED_MAX][PROTO_KEY_LEN];
static size_t	auth_nprobed;

static int
probed_before(const uint8_t id[PROTO_KEY_LEN])
{
	size_t i;

	for (i = 0; i < auth_nprobed; i++)
		if (memcmp(auth_probed[i], id, PROTO_KEY_LEN) == 0)
			return 1;
	return 0;
}

int
auth_setting_from_hash(const char *hash, char *setting, size_t len,
    char *err, size_t errlen)
{
	uint8_t id[PROTO_KEY_LEN];
	const struct auth_family *fam;
	char probe[AUTH_HASH_MAX];
	const char *p;
	size_t hlen, slen, probelen, dollars = 0;
	int rc = -1;

	if (len > 0)
		setting[0] = '\0';
	if ((fam = auth_family_of(hash)) == NULL) {
		auth_err(err, errlen, "not a crypt(3) hash libxcrypt supports");
		return -1;
	}
	hlen = strlen(hash);
	if (hlen >= AUTH_HASH_MAX) {
		auth_err(err, errlen, "hash too long");
		return -1;
	}
	if (fam->layout == AUTH_LAYOUT_BCRYPT) {
		if (hlen != AUTH_BCRYPT_HASH) {
			auth_err(err, errlen, hlen < AUTH_BCRYPT_HASH ?
			    "truncated hash (bcrypt hashes are 60 characters)" :
			    "hash too long (bcrypt hashes are 60 characters)");
			return -1;
		}
		slen = AUTH_BCRYPT_SETTING;
	} else {
		for (p = hash; (p = strchr(p, '$')) != NULL; p++)
			dollars++;
		if (dollars < 3) {
			auth_err(err, errlen, "truncated hash");
			return -1;
		}
		slen = (size_t)(strrchr(hash, '$') - hash);
	}
	if (slen > PROTO_MAX_SETTING) {
		auth_err(err, errlen, "setting too long for the login "
		    "challenge");
		return -1;
	}
	if (slen >= len) {
		auth_err(err, errlen, "setting buffer too small");
		return -1;
	}
	memcpy(setting, hash, slen);
	setting[slen] = '\0';

	auth_sha256(hash, hlen, id);
	if (probed_before(id))
		return 0;
	if (auth_crypt(AUTH_PROBE, setting, probe, sizeof(probe)) == -1)
		auth_err(err, errlen, "not a crypt(3) hash libxcrypt supports "
		    "(bad parameters or salt)");
	else if (strncmp(probe, setting, slen) != 0)
		auth_err(err, errlen, "salt not in the form crypt(3) writes "
		    "it, so the hash cannot be reproduced");
	else if ((probelen = strlen(probe)) > hlen)
		auth_err(err, errlen, "truncated hash");
	else if (probelen < hlen)
		auth_err(err, errlen, "hash longer than crypt(3) makes it");
	else
		rc = 0;
	if (rc == -1)
		setting[0] = '\0';
	else if (auth_nprobed < AUTH_PROBED_MAX)
		memcpy(auth_probed[auth_nprobed++], id, PROTO_KEY_LEN);
	return rc;
}

/*
 * crypt_rn(pw, setting) into out. Return: 0, or -1 with errno set (EINVAL
 * for a setting libxcrypt refuses, ERANGE when out is too small).
 */
int
auth_crypt(const char *pw, const char *setting, char *out, size_t outlen)
{
	const char *r;
	size_t n;
	int rc = -1, saved;

	errno = 0;
	r = crypt_rn(pw, setting, &auth_cd, (int)sizeof(auth_cd));
	if (r == NULL || r[0] == '*') {
		if (r != NULL || errno == 0)
			errno = EINVAL;
	} else if ((n = strlen(r)) >= outlen) {
		errno = ERANGE;
	} else {
		memcpy(out, r, n + 1);
		rc = 0;
	}
	saved = errno;
	OPENSSL_cleanse(&auth_cd, sizeof(auth_cd));
	errno = saved;
	return rc;
}

/*
 * Derives the SCRAM keys from a salted password (a crypt(3) output):
 * ClientKey into client_key when it is not NULL, StoredKey and ServerKey
 * into keys.
 */
void
auth_derive_keys(const char *salted, uint8_t *client_key,
    struct auth_keys *keys)
{
	static const char ck_label[] = "Client Key", sk_label[] = "Server Key";
	struct auth_part part;
	uint8_t ck[PROTO_KEY_LEN];
	size_t len = strlen(salted);

	part.p = ck_label;
	part.len = sizeof(ck_label) - 1;
	auth_hmac(salted, len, &part, 1, ck);
	auth_sha256(ck, sizeof(ck), keys->stored_key);
	part.p = sk_label;
	part.len = sizeof(sk_label) - 1;
	auth_hmac(salted, len, &part, 1, keys->server_key);
	if (client_key != NULL)
		memcpy(client_key, ck, sizeof(ck));
	OPENSSL_cleanse(ck, sizeof(ck));
}

/*
 * Builds the AuthMessage (layout in auth.h) into out. Both strings carry a
 * length byte, so no two different (username, setting) pairs give the same
 * message. Return: its length, or 0 when username or setting exceeds its
 * protocol maximum or the message does not fit in cap.
 */
size_t
auth_message(uint8_t *out, size_t cap, const char *username,
    const uint8_t cnonce[PROTO_NONCE_LEN],
    const uint8_t snonce[PROTO_NONCE_LEN], const char *setting,
    const uint8_t *bind, size_t bindlen)
{
	size_t ulen = strlen(username), slen = strlen(setting), len, off = 0;

	if (ulen > PROTO_MAX_USER || slen > PROTO_MAX_SETTING ||
	    bindlen > AUTH_BIND_MAX)
		return 0;
	len = AUTH_LABEL_LEN + 1 + ulen + 2 * PROTO_NONCE_LEN + 1 + slen +
	    1 + bindlen;
	if (len > cap)
		return 0;
	memcpy(out + off, AUTH_LABEL, AUTH_LABEL_LEN);
	off += AUTH_LABEL_LEN;
	out[off++] = (uint8_t)ulen;
	memcpy(out + off, username, ulen);
	off += ulen;
	memcpy(out + off, cnonce, PROTO_NONCE_LEN);
	off += PROTO_NONCE_LEN;
	memcpy(out + off, snonce, PROTO_NONCE_LEN);
	off += PROTO_NONCE_LEN;
	out[off++] = (uint8_t)slen;
	memcpy(out + off, setting, slen);
	off += slen;
	out[off++] = (uint8_t)bindlen;
	if (bindlen > 0)
		memcpy(out + off, bind, bindlen);
	off += bindlen;
	return off;
}

/* ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage) into proof. */
void
auth_client_proof(const uint8_t client_key[PROTO_KEY_LEN],
    const struct auth_keys *keys, const uint8_t *am, size_t amlen,
    uint8_t proof[PROTO_KEY_LEN])
{
	struct auth_part part = { am, amlen };
	uint8_t csig[PROTO_KEY_LEN];
	size_t i;

	auth_hmac(keys->stored_key, PROTO_KEY_LEN, &part, 1, csig);
	for (i = 0; i < PROTO_KEY_LEN; i++)
		proof[i] = client_key[i] ^ csig[i];
	OPENSSL_cleanse(csig, sizeof(csig));
}

/*
 * Recovers ClientKey from the proof and checks that it hashes to StoredKey,
 * in constant time. Return: 0 with ClientKey in client_key, or -1 with
 * client_key zeroed.
 */
int
auth_verify_proof(const struct auth_keys *keys, const uint8_t *am,
    size_t amlen, const uint8_t proof[PROTO_KEY_LEN],
    uint8_t client_key[PROTO_KEY_LEN])
{
	struct auth_part part = { am, amlen };
	uint8_t csig[PROTO_KEY_LEN], ck[PROTO_KEY_LEN], h[PROTO_KEY_LEN];
	size_t i;
	int ok;

	auth_hmac(keys->stored_key, PROTO_KEY_LEN, &part, 1, csig);
	for (i = 0; i < PROTO_KEY_LEN; i++)
		ck[i] = proof[i] ^ csig[i];
	auth_sha256(ck, sizeof(ck), h);
	ok = auth_ct_equal(h, keys->stored_key, PROTO_KEY_LEN);
	if (ok)
		memcpy(client_key, ck, PROTO_KEY_LEN);
	else
		memset(client_key, 0, PROTO_KEY_LEN);
	OPENSSL_cleanse(csig, sizeof(csig));
	OPENSSL_cleanse(ck, sizeof(ck));
	return ok ? 0 : -1;
}

/* ServerSignature = HMAC(ServerKey, AuthMessage) into sig. */
void
auth_server_signature(const struct auth_keys *keys, const uint8_t *am,
    size_t amlen, uint8_t sig[PROTO_KEY_LEN])
{
	struct auth_part part = { am, amlen };

	auth_hmac(keys->server_key, PROTO_KEY_LEN, &part, 1, sig);
}

/*
 * SessionKey = HMAC(ClientKey, "session" || AuthMessage) into out. Both
 * nonces are in the AuthMessage, so every login gets a fresh key.
 */
void
auth_session_key(const uint8_t client_key[PROTO_KEY_LEN],
    const uint8_t *am, size_t amlen, uint8_t out[PROTO_KEY_LEN])
{
	struct auth_part parts[2] = {
		{ AUTH_SESSION_LABEL, sizeof(AUTH_SESSION_LABEL) - 1 },
		{ am, amlen },
	};

	auth_hmac(client_key, PROTO_KEY_LEN, parts, 2, out);
}

/* mac = HMAC(SessionKey, "proxy" || session id || be64(counter)). */
void
auth_proxy_mac(const uint8_t session_key[PROTO_KEY_LEN],
    const uint8_t sid[PROTO_SID_LEN], uint64_t counter,
    const uint8_t *bind, size_t bindlen, uint8_t mac[PROTO_KEY_LEN])
{
	uint8_t be[8], blen = (uint8_t)(bindlen < AUTH_BIND_MAX ? bindlen :
	    AUTH_BIND_MAX);
	struct auth_part parts[5] = {
		{ AUTH_PROXY_LABEL, sizeof(AUTH_PROXY_LABEL) - 1 },
		{ sid, PROTO_SID_LEN },
		{ be, sizeof(be) },
		{ &blen, 1 },
		{ bind, blen },
	};
	int i;

	for (i = 7; i >= 0; i--) {
		be[i] = (uint8_t)counter;
		counter >>= 8;
	}
	auth_hmac(session_key, PROTO_KEY_LEN, parts, blen > 0 ? 5 : 4, mac);
}

/*
 * Fills out[0..n) with HMAC(secret, "fake-salt" || username) and, when
 * more than one block is needed, HMAC(secret, "fake-salt" || username ||
 * be32(i)) for i = 1, 2, ... A username never holds a NUL and the counter
 * starts with one, so no two (username, i) inputs collide.
 */
static void
auth_fake_bytes(const uint8_t secret[PROTO_KEY_LEN], const char *username,
    uint8_t *out, size_t n)
{
	uint8_t block[PROTO_KEY_LEN], ctr[4];
	struct auth_part parts[3] = {
		{ AUTH_FAKE_LABEL, sizeof(AUTH_FAKE_LABEL) - 1 },
		{ username, strlen(username) },
		{ ctr, sizeof(ctr) },
	};
	uint32_t i;
	size_t take;

	for (i = 0; n > 0; i++) {
		ctr[0] = (uint8_t)(i >> 24);
		ctr[1] = (uint8_t)(i >> 16);
		ctr[2] = (uint8_t)(i >> 8);
		ctr[3] = (uint8_t)i;
		auth_hmac(secret, PROTO_KEY_LEN, parts, i == 0 ? 2 : 3, block);
		take = n < sizeof(block) ? n : sizeof(block);
		memcpy(out, block, take);
		out += take;
		n -= take;
	}
	OPENSSL_cleanse(block, sizeof(block));
}

/*
 * The alphabet the last salt character is drawn from. Some families
 * decode the salt and refuse (yescrypt) or silently change (bcrypt) a
 * final character whose unused low bits are not zero; both would make
 * the fake setting stand out. The sizes are powers of two, so "byte mod
 * size" stays uniform.
 */
static const char *
auth_last_alphabet(const struct auth_family *fam, size_t saltlen,
    size_t *n)
{
	*n = 64;
	if (fam->layout == AUTH_LAYOUT_BCRYPT) {
		/* Character 22 carries 2 bits: values 0, 16, 32, 48. */
		*n = 4;
		return ".Oeu";
	}
	if (fam->layout == AUTH_LAYOUT_YESCRYPT) {
		/* Little-endian base64: 12 bits -> 1 byte, 18 -> 2. */
		if (saltlen % 4 == 2)
			*n = 4;
		else if (saltlen % 4 == 3)
			*n = 16;
	}
	return auth_b64;
}

/*
 * A setting for an unknown user: template's prefix (family and parameters)
 * with a salt of the same length drawn from HMAC(secret, "fake-salt" ||
 * username). template is a setting, not a full hash. No crypt(3) is run:
 * this is on the login path. Return: 0, or -1 when template is not a
 * usable setting or the result does not fit in out or in a CHALLENGE.
 */
int
auth_fake_setting(const uint8_t secret[PROTO_KEY_LEN], const char *template,
    const char *username, char *out, size_t outlen)
{
	const struct auth_family *fam;
	const char *last, *alpha, *p;
	uint8_t bytes[PROTO_MAX_SETTING];
	size_t tlen, plen, slen, end, nlast, i, dollars = 0, trailing = 0;

	if ((fam = auth_family_of(template)) == NULL)
		return -1;
	tlen = strlen(template);
	switch (fam->layout) {
	case AUTH_LAYOUT_BCRYPT:
		if (tlen < AUTH_BCRYPT_SETTING || template[3] != '$' ||
		    template[4] < '0' || template[4] > '9' ||
		    template[5] < '0' || template[5] > '9' ||
		    template[6] != '$')
			return -1;
		plen = 7;
		slen = AUTH_BCRYPT_SETTING - plen;
		break;
	case AUTH_LAYOUT_SCRYPT:
		if (tlen <= AUTH_SCRYPT_PREFIX ||
		    memchr(template + 3, '$', AUTH_SCRYPT_PREFIX - 3) != NULL)
			return -1;
		plen = AUTH_SCRYPT_PREFIX;
		slen = strcspn(template + plen, "$");
		break;
	default:
		end = tlen;
		if (fam->layout == AUTH_LAYOUT_TRAILING && end > 0 &&
		    template[end - 1] == '$') {
			trailing = 1;
			end--;
		}
		for (last = NULL, p = template; p < template + end; p++) {
			if (*p == '$') {
				last = p;
				dollars++;
			}
		}
		if (dollars < (size_t)fam->min_dollars)
			return -1;
		plen = (size_t)(last - template) + 1;
		slen = end - plen;
		break;
	}
	/* yescrypt cannot decode a salt of 4k+1 characters. */
	if (slen == 0 || (fam->layout == AUTH_LAYOUT_YESCRYPT &&
	    slen % 4 == 1))
		return -1;
	if (plen + slen + trailing > PROTO_MAX_SETTING ||
	    plen + slen + trailing >= outlen)
		return -1;

	auth_fake_bytes(secret, username, bytes, slen);
	memcpy(out, template, plen);
	for (i = 0; i + 1 < slen; i++)
		out[plen + i] = auth_b64[bytes[i] % 64];
	alpha = auth_last_alphabet(fam, slen, &nlast);
	out[plen + slen - 1] = alpha[bytes[slen - 1] % nlast];
	if (trailing)
		out[plen + slen] = '$';
	out[plen + slen + trailing] = '\0';
	OPENSSL_cleanse(bytes, sizeof(bytes));
	return 0;
}

/* Whether counter c's slot in w is marked used. */
static int
window_bit(const struct auth_window *w, uint64_t c)
{
	uint64_t i = c % AUTH_WINDOW;

	return (w->seen[i / 64] >> (i % 64)) & 1;
}

/* Marks counter c's slot in w used or free. */
static void
window_mark(struct auth_window *w, uint64_t c, int used)
{
	uint64_t i = c % AUTH_WINDOW, bit = 1ull << (i % 64);

	if (used)
		w->seen[i / 64] |= bit;
	else
		w->seen[i / 64] &= ~bit;
}

int
auth_window_take(struct auth_window *w, uint64_t c)
{
	uint64_t n;

	if (c == 0)
		return -1;
	if (c > w->max) {
		/* Slots of counters now out of the window become the new ones. */
		if (c - w->max >= AUTH_WINDOW) {
			memset(w->seen, 0, sizeof(w->seen));
		} else {
			for (n = w->max + 1; n < c; n++)
				window_mark(w, n, 0);
		}
		w->max = c;
		window_mark(w, c, 1);
		return 0;
	}
	if (w->max - c >= AUTH_WINDOW || window_bit(w, c))
		return -1;
	window_mark(w, c, 1);
	return 0;
}

/* Return: 1 when a and b hold the same len bytes, 0 otherwise. */
int
auth_ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

/* Zeroes p[0..len) with a store the compiler cannot elide. */
void
auth_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}
