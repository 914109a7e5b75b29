/*
 * Unit tests for auth.c: crypt(3) setting extraction for every family we
 * accept, regression hashes, fake settings, and the SCRAM-style exchange
 * against vectors computed outside this code.
 *
 * Cost: most tests use the cheapest parameters each family allows so the
 * suite stays fast under valgrind. Measured once on the development
 * machine (AMD EPYC, 2 vCPUs, -O2), one crypt_rn() call takes about:
 *   yescrypt default ($y$j9T$)      15 ms   (j75 = 1 ms, jBT = 63 ms,
 *                                            jDT = 270 ms)
 *   gost-yescrypt default           15 ms
 *   bcrypt cost 5 / 10 / 12         1.5 / 44 / 174 ms
 *   sha512crypt default (5000)      1 ms
 *   scrypt default ($7$CU)          170 ms
 *   sha1crypt default               120 ms,  Sun MD5 default  50-100 ms
 * so a yescrypt hash at the default cost is cheap for the client and for
 * the load-time probe, but would still cost the server 15 ms per login if
 * it ran one: it never does.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <crypt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "auth.h"
#include "crypt_policy.h"
#include "test.h"
#include "sys.h"

#define PW		"correct horse battery staple"

static const char b64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void
to_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Decodes n bytes of lower-case hex. Return: 0, or -1 on a bad digit. */
static int
from_hex(const char *h, uint8_t *out, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const char *a, *b;
	size_t i;

	for (i = 0; i < n; i++) {
		if (h[2 * i] == '\0' || h[2 * i + 1] == '\0' ||
		    (a = strchr(digits, h[2 * i])) == NULL ||
		    (b = strchr(digits, h[2 * i + 1])) == NULL)
			return -1;
		out[i] = (uint8_t)((a - digits) << 4 | (b - digits));
	}
	return 0;
}

/* Hex of p[0..n) in a static buffer; two live results need two calls. */
static const char *
hex(const uint8_t *p, size_t n)
{
	static char buf[2][2 * AUTH_AM_MAX + 1];
	static int which;

	which ^= 1;
	to_hex(p, n, buf[which]);
	return buf[which];
}

static void
raw_hmac(const void *key, size_t keylen, const void *msg, size_t len,
    uint8_t out[PROTO_KEY_LEN])
{
	unsigned int outlen = 0;

	(void)HMAC(EVP_sha256(), key, (int)keylen, msg, len, out, &outlen);
}

static void
fill(uint8_t *p, size_t n, uint8_t start)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static int
test_looks_like_hash(void)
{
	static const struct {
		const char	*s;
		int		 want;
	} cases[] = {
		{ "$y$j9T$yrDd.AElkdgIVRxK2bMZC0$/qu8EEMqQVdMeP4zeTyP8maNAc7z"
		    "257NNgxNwseSYx7", 1 },
		{ "$gy$j75$Qkdvm5xi1f/a/1/piHI9F.$30MCqx12psw", 1 },
		{ "$7$6U..../....J/ySl3CFoQhoYsxsA4qQ61$lebCMdg", 1 },
		{ "$2b$04$jvZX289UM4BEXdF2eAHHsurD3EBU1ZHgQNt2qdYve2zjIAVkn"
		    "iokC", 1 },
		{ "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmy", 1 },
		{ "$2y$04$wjMlUqf6B8dpMqkSyRGOfuJLANkZ", 1 },
		{ "$6$rounds=5000$saltstring$svn8UoSVap", 1 },
		{ "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY", 1 },
		{ "$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1", 1 },
		{ "$sha1$100$EWdA7wA2cSP4pzel3bFr$pnc4id12f821", 1 },
		{ "$md5,rounds=10$9qkxUZ05$$J38ZNU0S26tpKWkZ3B6RD0", 1 },
		{ "$md5$Yx6uFp9U$$vJOQKVdZlYdOBF.QUjFVL0", 1 },
		/* Shape only: a broken hash is an error, not plaintext. */
		{ "$y$", 1 },
		{ "$2b$10$short", 1 },
		{ NULL, 0 },
		{ "", 0 },
		{ "123456", 0 },
		{ "hunter2", 0 },
		{ "$", 0 },
		{ "$$", 0 },
		{ "$y", 0 },
		{ "$zz$abc$def", 0 },
		{ "$Y$j9T$abc$def", 0 },		/* ids are lower case */
		{ "$yy$j9T$abc$def", 0 },
		{ "$2$04$abc", 0 },
		{ "$3$$8cc19b6a8cfeac299c2871c86b38de28", 0 },	/* NT hash */
		{ "_J9..YFJGaEv7pGbStJE", 0 },		/* BSDi DES */
		{ "abJnggxhB/yWI", 0 },			/* traditional DES */
		{ "$6,rounds=5000$salt$hash", 0 },	/* ',' is Sun MD5's */
		{ "$y$j9T$ab cd$ef", 0 },
		{ "$y$j9T$abcd$ef\n", 0 },
		{ "$y$j9T$ab#cd$ef", 0 },
		{ "$y$j9T$ab:cd$ef", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (auth_looks_like_hash(cases[i].s) != cases[i].want) {
			fprintf(stderr, "case %zu \"%s\": want %d\n", i,
			    cases[i].s ? cases[i].s : "(null)", cases[i].want);
			ASSERT(0);
		}
	}
	return TEST_PASS;
}

/*
 * Hashes made here with crypt_gensalt_rn() (or a fixed setting where the
 * default cost is too slow for a unit test) must give back their setting,
 * and crypt(pw, setting) must reproduce them.
 */
static int
test_setting_generated(void)
{
	static const struct {
		const char	*prefix;	/* for crypt_gensalt_rn */
		unsigned long	 count;
		const char	*fixed;		/* or this setting */
		const char	*want;		/* extracted, if not fixed */
	} cases[] = {
		{ "$y$", 1, NULL, NULL },
		{ "$y$", 0, NULL, NULL },
		{ "$gy$", 1, NULL, NULL },
		{ "$2b$", 4, NULL, NULL },
		{ "$2a$", 4, NULL, NULL },
		{ "$2y$", 4, NULL, NULL },
		{ "$6$", 0, NULL, NULL },
		{ "$6$", 1000, NULL, NULL },
		{ "$5$", 1000, NULL, NULL },
		{ "$1$", 0, NULL, NULL },
		{ NULL, 0, "$7$6U..../....J/ySl3CFoQhoYsxsA4qQ61", NULL },
		{ NULL, 0, "$sha1$100$EWdA7wA2cSP4pzel3bFr$",
		    "$sha1$100$EWdA7wA2cSP4pzel3bFr" },
		{ NULL, 0, "$md5,rounds=10$9qkxUZ05$", NULL },
		{ NULL, 0, "$md5$Yx6uFp9U$", NULL },
	};
	char gen[CRYPT_GENSALT_OUTPUT_SIZE], hash[AUTH_HASH_MAX];
	char again[AUTH_HASH_MAX], setting[PROTO_MAX_SETTING + 1], err[128];
	const char *s, *want;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].fixed != NULL) {
			s = cases[i].fixed;
		} else {
			s = crypt_gensalt_rn(cases[i].prefix, cases[i].count,
			    NULL, 0, gen, (int)sizeof(gen));
			ASSERT(s != NULL);
		}
		want = cases[i].want != NULL ? cases[i].want : s;
		ASSERT_EQ(auth_crypt(PW, s, hash, sizeof(hash)), 0);
		ASSERT(auth_looks_like_hash(hash));
		err[0] = '\0';
		if (auth_setting_from_hash(hash, setting, sizeof(setting), err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", hash, err);
			ASSERT(0);
		}
		ASSERT_STR_EQ(setting, want);
		ASSERT_EQ(auth_crypt(PW, setting, again, sizeof(again)), 0);
		ASSERT_STR_EQ(again, hash);
		ASSERT_EQ(auth_crypt("wrong", setting, again, sizeof(again)),
		    0);
		ASSERT(strcmp(again, hash) != 0);
	}
	return TEST_PASS;
}

/*
 * Fixed (password, hash) pairs. The "Hello world!" and "U*U" ones are
 * published vectors (Drepper's SHA-crypt spec, the md5crypt and
 * crypt_blowfish test suites); the others were made once with this
 * libxcrypt (4.4.33) and pasted, so a change in any derivation shows.
 */
static int
test_setting_regression(void)
{
	static const struct {
		const char	*pw;
		const char	*setting;
		const char	*hash;
	} cases[] = {
		{ "Hello world!", "$6$saltstring",
		    "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3"
		    "uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1" },
		{ "Hello world!", "$6$rounds=5000$saltstring",
		    "$6$rounds=5000$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwS"
		    "MHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35in"
		    "z1" },
		{ "Hello world!", "$5$saltstring",
		    "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWE"
		    "c5" },
		{ "Hello world!", "$1$saltstri",
		    "$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1" },
		{ "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.",
		    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKv"
		    "yOeW" },
		{ PW, "$y$j9T$yrDd.AElkdgIVRxK2bMZC0",
		    "$y$j9T$yrDd.AElkdgIVRxK2bMZC0$/qu8EEMqQVdMeP4zeTyP8maNAc7z"
		    "257NNgxNwseSYx7" },
		{ PW, "$y$j75$RzEO1z.L6pKTyearY0k4R0",
		    "$y$j75$RzEO1z.L6pKTyearY0k4R0$cAovvH/rYGA3rBfNYZVbUknI9Zmg"
		    "tUg1bK730tS4vO5" },
		{ PW, "$gy$j75$Qkdvm5xi1f/a/1/piHI9F.",
		    "$gy$j75$Qkdvm5xi1f/a/1/piHI9F.$30MCqx12psw/Ne1e91EbvWVcHL/"
		    "iRGOMmwphY9wPYtC" },
		{ PW, "$7$6U..../....J/ySl3CFoQhoYsxsA4qQ61",
		    "$7$6U..../....J/ySl3CFoQhoYsxsA4qQ61$lebCMdgnrdYi0U8I5GhT6"
		    "PzSDBef1O7xwZCSzknatm4" },
		{ PW, "$2b$04$jvZX289UM4BEXdF2eAHHsu",
		    "$2b$04$jvZX289UM4BEXdF2eAHHsurD3EBU1ZHgQNt2qdYve2zjIAVkn"
		    "iokC" },
		{ PW, "$2y$04$wjMlUqf6B8dpMqkSyRGOfu",
		    "$2y$04$wjMlUqf6B8dpMqkSyRGOfuJLANkZnGKnK0t1Jutm8d58PT2my"
		    "J4Ba" },
		{ PW, "$6$rounds=1000$zy60IP4/d/nVAjWz",
		    "$6$rounds=1000$zy60IP4/d/nVAjWz$sXVoBiBXj/BqtkSEhG8lTDJJb"
		    "/zT9j5iFuy4srnpScxrFVOahaBykcTGcr4aE9MPERjhQoqpWI6FTgTsc1"
		    "Tvb." },
		{ PW, "$5$rounds=1000$xSXWbrt5..lZXm0R",
		    "$5$rounds=1000$xSXWbrt5..lZXm0R$85wem2sMZy9fKaNfeZI17JYEK"
		    "uxHcDBI8xWgjjFfTED" },
		{ PW, "$1$tWNwHyO0", "$1$tWNwHyO0$8zMcsn.KhfWkwzJTSwDsL0" },
		{ PW, "$sha1$100$EWdA7wA2cSP4pzel3bFr",
		    "$sha1$100$EWdA7wA2cSP4pzel3bFr$pnc4id12f821hPB3NhLJxMRbOs"
		    "y/" },
		{ PW, "$md5,rounds=10$9qkxUZ05$",
		    "$md5,rounds=10$9qkxUZ05$$J38ZNU0S26tpKWkZ3B6RD0" },
	};
	char setting[PROTO_MAX_SETTING + 1], out[AUTH_HASH_MAX], err[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (auth_setting_from_hash(cases[i].hash, setting,
		    sizeof(setting), err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", cases[i].hash, err);
			ASSERT(0);
		}
		ASSERT_STR_EQ(setting, cases[i].setting);
		ASSERT_EQ(auth_crypt(cases[i].pw, setting, out, sizeof(out)),
		    0);
		ASSERT_STR_EQ(out, cases[i].hash);
	}
	return TEST_PASS;
}

static int
test_setting_garbage(void)
{
	static const char yes[] = "$y$j75$RzEO1z.L6pKTyearY0k4R0$cAovvH/rYGA3"
	    "rBfNYZVbUknI9ZmgtUg1bK730tS4vO5";
	static const char bf[] = "$2b$04$jvZX289UM4BEXdF2eAHHsurD3EBU1ZHgQNt2"
	    "qdYve2zjIAVkniokC";
	static const struct {
		const char	*hash;
		const char	*err;
	} cases[] = {
		{ "", "not a crypt(3) hash" },
		{ "$", "not a crypt(3) hash" },
		{ "$$$", "not a crypt(3) hash" },
		{ "$y$", "truncated" },
		{ "$y$j9T", "truncated" },
		{ "$2b$10$short", "truncated" },
		{ "$zz$abc$def", "not a crypt(3) hash" },
		{ "123456", "not a crypt(3) hash" },
		{ "$y$j9T$ab cd$ef", "not a crypt(3) hash" },
		/* Shaped right, but the parameters are nonsense. */
		{ "$y$j9T$salt", "bad parameters" },
		{ "$y$$$", "bad parameters" },
		{ "$2b$99$jvZX289UM4BEXdF2eAHHsurD3EBU1ZHgQNt2qdYve2zjIAVkn"
		    "iokC",
		    "bad parameters" },
		/* The last of 22 bcrypt salt characters carries 2 bits only. */
		{ "$2b$04$jvZX289UM4BEXdF2eAHHsvrD3EBU1ZHgQNt2qdYve2zjIAVkn"
		    "iokC",
		    "" },
		/* sha512crypt keeps 16 salt characters: never reproducible. */
		{ "$6$saltsaltsaltsaltsalt$csoGsaC3yxEIvMdVpxO2zEQlhCHi/6pnPV"
		    "KHT3nfribhRDnEOL4O5nnsAETH/r6rG0vxiN/wRElsAf4u8CK4d.",
		    "salt not in the form" },
		/* Cut short or padded in a copy and paste. */
		{ "$y$j75$RzEO1z.L6pKTyearY0k4R0$cAovvH/rYGA3rBfNYZVbUknI9Zmg"
		    "tUg1bK730tS4vO", "truncated" },
		{ "$y$j75$RzEO1z.L6pKTyearY0k4R0$cAovvH/rYGA3rBfNYZVbUknI9Zmg"
		    "tUg1bK730tS4vO5x", "longer" },
		{ "$2b$04$jvZX289UM4BEXdF2eAHHsurD3EBU1ZHgQNt2qdYve2zjIAVkniok",
		    "truncated" },
		{ "$2b$04$jvZX289UM4BEXdF2eAHHsurD3EBU1ZHgQNt2qdYve2zjIAVkn"
		    "iokCC",
		    "too long" },
		{ "$y$j75$RzEO1z.L6pKTyearY0k4R0", "bad parameters" },
	};
	char setting[PROTO_MAX_SETTING + 1], err[128], big[AUTH_HASH_MAX + 8];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(setting, "x", 2);
		err[0] = '\0';
		if (auth_setting_from_hash(cases[i].hash, setting,
		    sizeof(setting), err, sizeof(err)) != -1) {
			fprintf(stderr, "accepted \"%s\"\n", cases[i].hash);
			ASSERT(0);
		}
		ASSERT_STR_EQ(setting, "");
		ASSERT(err[0] != '\0');
		ASSERT(strchr(err, '\n') == NULL);
		ASSERT_STR_CONTAINS(err, cases[i].err);
	}

	/* A setting that would not fit in a CHALLENGE. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "$1$", 3);
	big[3 + PROTO_MAX_SETTING] = '$';
	big[3 + PROTO_MAX_SETTING + 10] = '\0';
	ASSERT_EQ(auth_setting_from_hash(big, setting, sizeof(setting), err,
	    sizeof(err)), -1);
	ASSERT_STR_CONTAINS(err, "setting too long");
	big[3 + PROTO_MAX_SETTING + 10] = 'a';
	big[sizeof(big) - 1] = '\0';
	ASSERT_EQ(auth_setting_from_hash(big, setting, sizeof(setting), err,
	    sizeof(err)), -1);
	ASSERT_STR_CONTAINS(err, "hash too long");

	/* Caller buffers: too small for the setting; no room for err. */
	ASSERT_EQ(auth_setting_from_hash(yes, setting, 20, err, sizeof(err)),
	    -1);
	ASSERT_STR_CONTAINS(err, "buffer too small");
	ASSERT_EQ(auth_setting_from_hash(yes, setting, 29, err, sizeof(err)),
	    -1);
	ASSERT_EQ(auth_setting_from_hash(yes, setting, 30, NULL, 0), 0);
	ASSERT_STR_EQ(setting, "$y$j75$RzEO1z.L6pKTyearY0k4R0");
	ASSERT_EQ(auth_setting_from_hash("$y$", setting, sizeof(setting),
	    NULL, 0), -1);
	ASSERT_EQ(auth_setting_from_hash(bf, setting, sizeof(setting), err,
	    4), 0);
	ASSERT_STR_EQ(setting, "$2b$04$jvZX289UM4BEXdF2eAHHsu");
	return TEST_PASS;
}

static int
test_crypt_errors(void)
{
	char out[AUTH_HASH_MAX];

	errno = 0;
	ASSERT_EQ(auth_crypt(PW, "$2b$99$jvZX289UM4BEXdF2eAHHsu", out,
	    sizeof(out)), -1);
	ASSERT(errno != 0);
	ASSERT_EQ(auth_crypt(PW, "*0", out, sizeof(out)), -1);
	ASSERT_EQ(auth_crypt(PW, "$y$j9T", out, sizeof(out)), -1);
	errno = 0;
	ASSERT_EQ(auth_crypt(PW, "$1$tWNwHyO0", out, 34), -1);
	ASSERT_EQ(errno, ERANGE);
	ASSERT_EQ(auth_crypt(PW, "$1$tWNwHyO0", out, 35), 0);
	ASSERT_STR_EQ(out, "$1$tWNwHyO0$8zMcsn.KhfWkwzJTSwDsL0");
	return TEST_PASS;
}

static int
test_hash_password(void)
{
	char h1[AUTH_HASH_MAX], h2[AUTH_HASH_MAX], again[AUTH_HASH_MAX];
	char setting[PROTO_MAX_SETTING + 1], err[128];

	ASSERT_EQ(auth_hash_password(PW, h1, sizeof(h1)), 0);
	ASSERT_EQ(auth_hash_password(PW, h2, sizeof(h2)), 0);
	ASSERT_EQ(strncmp(h1, "$y$", 3), 0);
	ASSERT(strcmp(h1, h2) != 0);		/* a fresh salt each time */
	ASSERT(auth_looks_like_hash(h1));
	ASSERT_EQ(auth_setting_from_hash(h1, setting, sizeof(setting), err,
	    sizeof(err)), 0);
	ASSERT_EQ(auth_crypt(PW, setting, again, sizeof(again)), 0);
	ASSERT_STR_EQ(again, h1);
	errno = 0;
	ASSERT_EQ(auth_hash_password(PW, h1, 10), -1);
	ASSERT_EQ(errno, ERANGE);
	return TEST_PASS;
}

/*
 * The setting --hash-password hashes with, which the server also gives
 * unknown users (as a template): the setting of its own hashes, fresh
 * salts, and one the client's crypt_policy allows.
 */
static int
test_default_setting(void)
{
	char s1[PROTO_MAX_SETTING + 1], s2[PROTO_MAX_SETTING + 1];
	char h[AUTH_HASH_MAX], from[PROTO_MAX_SETTING + 1], err[128];

	ASSERT_EQ(auth_default_setting(s1, sizeof(s1)), 0);
	ASSERT_EQ(auth_default_setting(s2, sizeof(s2)), 0);
	ASSERT(strcmp(s1, s2) != 0);
	ASSERT_EQ(crypt_policy_check(s1, NULL, 0), 0);
	ASSERT_EQ(auth_hash_password(PW, h, sizeof(h)), 0);
	ASSERT_EQ(auth_setting_from_hash(h, from, sizeof(from), err,
	    sizeof(err)), 0);
	/* Same family, cost and salt length: only the salt differs. */
	ASSERT_EQ(strlen(from), strlen(s1));
	ASSERT_EQ(strrchr(from, '$') - from, strrchr(s1, '$') - s1);
	ASSERT_EQ(strncmp(from, s1, (size_t)(strrchr(s1, '$') - s1)), 0);
	errno = 0;
	ASSERT_EQ(auth_default_setting(s1, 8), -1);
	ASSERT_EQ(errno, ERANGE);
	return TEST_PASS;
}

/*
 * The whole key schedule for one fixed input, checked twice: against raw
 * OpenSSL HMAC()/SHA256() calls written out here, and against hex made
 * independently with Python:
 *
 *   import hmac, hashlib
 *   H = lambda k, m: hmac.new(k, m, hashlib.sha256).digest()
 *   salted = b"<SALTED>"; setting = b"<SETTING>"; user = b"alice"
 *   cn = bytes(range(24)); sn = bytes(range(0x80, 0x98))
 *   bind = bytes(range(0x40, 0x60))     # a tls-exporter value
 *   am = (b"tunnel-login-v2" + bytes([len(user)]) + user + cn + sn
 *         + bytes([len(setting)]) + setting + bytes([len(bind)]) + bind)
 *   ck = H(salted, b"Client Key"); stored = hashlib.sha256(ck).digest()
 *   server = H(salted, b"Server Key")
 *   proof = bytes(a ^ b for a, b in zip(ck, H(stored, am)))
 *   sig = H(server, am); sess = H(ck, b"session" + am)
 *   sid = bytes(range(0xf0, 0x100))
 *   mac = H(sess, b"proxy" + sid + (0x0102030405060708).to_bytes(8, "big")
 *           + bytes([len(bind)]) + bind)
 */
#define KV_SALTED	"$y$j9T$yrDd.AElkdgIVRxK2bMZC0$/qu8EEMqQVdMeP4ze" \
			    "TyP8maNAc7z257NNgxNwseSYx7"
#define KV_SETTING	"$y$j9T$yrDd.AElkdgIVRxK2bMZC0"
#define KV_USER		"alice"

static int
test_known_vectors(void)
{
	static const char want_am[] =
	    "74756e6e656c2d6c6f67696e2d763205616c696365000102030405060708"
	    "090a0b0c0d0e0f1011121314151617808182838485868788898a8b8c8d8e"
	    "8f90919293949596971d2479246a395424797244642e41456c6b64674956"
	    "52784b32624d5a433020404142434445464748494a4b4c4d4e4f50515253"
	    "5455565758595a5b5c5d5e5f";
	uint8_t cn[PROTO_NONCE_LEN], sn[PROTO_NONCE_LEN], sid[PROTO_SID_LEN];
	uint8_t am[AUTH_AM_MAX], ck[PROTO_KEY_LEN], proof[PROTO_KEY_LEN];
	uint8_t sig[PROTO_KEY_LEN], sess[PROTO_KEY_LEN], mac[PROTO_KEY_LEN];
	uint8_t ck2[PROTO_KEY_LEN], r_ck[PROTO_KEY_LEN], r[PROTO_KEY_LEN];
	uint8_t buf[16 + AUTH_AM_MAX], bind[AUTH_BIND_MAX];
	struct auth_keys keys;
	size_t amlen, i;

	fill(cn, sizeof(cn), 0x00);
	fill(sn, sizeof(sn), 0x80);
	fill(sid, sizeof(sid), 0xf0);
	fill(bind, sizeof(bind), 0x40);
	amlen = auth_message(am, sizeof(am), KV_USER, cn, sn, KV_SETTING, bind,
	    sizeof(bind));
	ASSERT_EQ(amlen, 15 + 1 + 5 + 24 + 24 + 1 + strlen(KV_SETTING) + 1 +
	    sizeof(bind));
	ASSERT_STR_EQ(hex(am, amlen), want_am);

	auth_derive_keys(KV_SALTED, ck, &keys);
	ASSERT_STR_EQ(hex(ck, sizeof(ck)), "a7f1497033b323a9c93228055329393e"
	    "fef308ccd8fa085b36f68f9bc48071ec");
	ASSERT_STR_EQ(hex(keys.stored_key, PROTO_KEY_LEN),
	    "c1740fa205cde3056774a24d06b56737b554f7da6799e967781f3dd4dd34506d");
	ASSERT_STR_EQ(hex(keys.server_key, PROTO_KEY_LEN),
	    "bc1ef3a4868a9c58acdededfe7b37b6960a4f3f002a8f00b4d467bff179100c5");
	raw_hmac(KV_SALTED, strlen(KV_SALTED), "Client Key", 10, r_ck);
	ASSERT_MEM_EQ(ck, r_ck, PROTO_KEY_LEN);
	(void)SHA256(r_ck, PROTO_KEY_LEN, r);
	ASSERT_MEM_EQ(keys.stored_key, r, PROTO_KEY_LEN);
	raw_hmac(KV_SALTED, strlen(KV_SALTED), "Server Key", 10, r);
	ASSERT_MEM_EQ(keys.server_key, r, PROTO_KEY_LEN);

	auth_client_proof(ck, &keys, am, amlen, proof);
	ASSERT_STR_EQ(hex(proof, sizeof(proof)), "b1056a2b57a076189e97d150c697"
	    "a404ecfe4fe575223d0588a52b5790914984");
	raw_hmac(keys.stored_key, PROTO_KEY_LEN, am, amlen, r);
	for (i = 0; i < PROTO_KEY_LEN; i++)
		r[i] ^= r_ck[i];
	ASSERT_MEM_EQ(proof, r, PROTO_KEY_LEN);
	ASSERT_EQ(auth_verify_proof(&keys, am, amlen, proof, ck2), 0);
	ASSERT_MEM_EQ(ck2, ck, PROTO_KEY_LEN);

	auth_server_signature(&keys, am, amlen, sig);
	ASSERT_STR_EQ(hex(sig, sizeof(sig)), "76c12dfa7a89c9f62f3b6ad59b039318"
	    "0748f68a70d9c5abdae541158b101412");
	raw_hmac(keys.server_key, PROTO_KEY_LEN, am, amlen, r);
	ASSERT_MEM_EQ(sig, r, PROTO_KEY_LEN);

	auth_session_key(ck, am, amlen, sess);
	ASSERT_STR_EQ(hex(sess, sizeof(sess)), "7ce93a42526e39f70833fc68be4a04"
	    "e06fb7935fd3ed488219557d420953546c");
	memcpy(buf, "session", 7);
	memcpy(buf + 7, am, amlen);
	raw_hmac(r_ck, PROTO_KEY_LEN, buf, 7 + amlen, r);
	ASSERT_MEM_EQ(sess, r, PROTO_KEY_LEN);

	auth_proxy_mac(sess, sid, 0x0102030405060708ULL, bind, sizeof(bind),
	    mac);
	ASSERT_STR_EQ(hex(mac, sizeof(mac)), "a075a9d590f175577d8b2fd145e0e0e3"
	    "bd44f14e1301da72bc439ae2580f0d97");
	memcpy(buf, "proxy", 5);
	memcpy(buf + 5, sid, sizeof(sid));
	for (i = 0; i < 8; i++)
		buf[5 + sizeof(sid) + i] = (uint8_t)(i + 1);
	buf[5 + sizeof(sid) + 8] = sizeof(bind);
	memcpy(buf + 5 + sizeof(sid) + 9, bind, sizeof(bind));
	raw_hmac(sess, PROTO_KEY_LEN, buf, 5 + sizeof(sid) + 9 + sizeof(bind),
	    r);
	ASSERT_MEM_EQ(mac, r, PROTO_KEY_LEN);

	/* ClientKey is optional; the other keys must not depend on it. */
	memset(&keys, 0, sizeof(keys));
	auth_derive_keys(KV_SALTED, NULL, &keys);
	ASSERT_STR_EQ(hex(keys.server_key, PROTO_KEY_LEN),
	    "bc1ef3a4868a9c58acdededfe7b37b6960a4f3f002a8f00b4d467bff179100c5");
	(void)SHA256(r_ck, PROTO_KEY_LEN, r);
	ASSERT_MEM_EQ(keys.stored_key, r, PROTO_KEY_LEN);
	return TEST_PASS;
}

static int
test_message_limits(void)
{
	char user[PROTO_MAX_USER + 2], setting[PROTO_MAX_SETTING + 2];
	uint8_t cn[PROTO_NONCE_LEN], sn[PROTO_NONCE_LEN], am[AUTH_AM_MAX + 8];
	uint8_t bind[AUTH_BIND_MAX + 1];
	size_t len, full, B = AUTH_BIND_MAX;

	fill(cn, sizeof(cn), 1);
	fill(sn, sizeof(sn), 2);
	fill(bind, sizeof(bind), 3);
	memset(user, 'u', sizeof(user));
	memset(setting, 's', sizeof(setting));
	user[PROTO_MAX_USER] = '\0';
	setting[PROTO_MAX_SETTING] = '\0';

	/* The longest message fits in AUTH_AM_MAX. */
	full = auth_message(am, AUTH_AM_MAX, user, cn, sn, setting, bind, B);
	ASSERT_EQ(full, 15 + 1 + PROTO_MAX_USER + 2 * PROTO_NONCE_LEN + 1 +
	    PROTO_MAX_SETTING + 1 + B);
	ASSERT(full <= AUTH_AM_MAX);
	ASSERT_EQ(am[15], PROTO_MAX_USER);
	ASSERT_EQ(am[15 + 1 + PROTO_MAX_USER + 2 * PROTO_NONCE_LEN],
	    PROTO_MAX_SETTING);
	ASSERT_EQ(am[full - B - 1], B);

	/* Exactly enough room works, one byte less does not. */
	ASSERT_EQ(auth_message(am, full, user, cn, sn, setting, bind, B),
	    full);
	ASSERT_EQ(auth_message(am, full - 1, user, cn, sn, setting, bind, B),
	    0);
	ASSERT_EQ(auth_message(am, 0, "a", cn, sn, "b", NULL, 0), 0);
	/* A binding longer than a tls-exporter value is refused. */
	ASSERT_EQ(auth_message(am, sizeof(am), "a", cn, sn, "b", bind, B + 1),
	    0);

	/* One character too many in either string. */
	user[PROTO_MAX_USER] = 'u';
	user[PROTO_MAX_USER + 1] = '\0';
	ASSERT_EQ(auth_message(am, sizeof(am), user, cn, sn, "b", NULL, 0), 0);
	setting[PROTO_MAX_SETTING] = 's';
	setting[PROTO_MAX_SETTING + 1] = '\0';
	ASSERT_EQ(auth_message(am, sizeof(am), "a", cn, sn, setting, NULL, 0),
	    0);

	/*
	 * Length bytes keep ("ab", "c") and ("a", "bc")-style splits apart;
	 * transport: plain binds nothing, its length byte 0.
	 */
	len = auth_message(am, sizeof(am), "a", cn, sn, "$1$x", NULL, 0);
	ASSERT_EQ(len, 15 + 1 + 1 + 48 + 1 + 4 + 1);
	ASSERT_MEM_EQ(am, "tunnel-login-v2\001a", 17);
	ASSERT_EQ(am[17 + 48], 4);
	ASSERT_MEM_EQ(am + 17 + 49, "$1$x", 4);
	ASSERT_EQ(am[17 + 49 + 4], 0);
	return TEST_PASS;
}

/* One side of a login: keys from the salted password. */
struct side {
	uint8_t			client_key[PROTO_KEY_LEN];
	struct auth_keys	keys;
};

static int
test_exchange(void)
{
	char stored[AUTH_HASH_MAX], other[AUTH_HASH_MAX];
	char setting[PROTO_MAX_SETTING + 1], salted[AUTH_HASH_MAX], err[128];
	uint8_t cn[PROTO_NONCE_LEN], sn[PROTO_NONCE_LEN], sn2[PROTO_NONCE_LEN];
	uint8_t am[AUTH_AM_MAX], am2[AUTH_AM_MAX], proof[PROTO_KEY_LEN];
	uint8_t bad[PROTO_KEY_LEN], ck[PROTO_KEY_LEN], zero[PROTO_KEY_LEN];
	uint8_t sig_s[PROTO_KEY_LEN], sig_c[PROTO_KEY_LEN];
	uint8_t sig_x[PROTO_KEY_LEN];
	uint8_t sess_s[PROTO_KEY_LEN], sess_c[PROTO_KEY_LEN];
	uint8_t mac_s[PROTO_KEY_LEN], mac_c[PROTO_KEY_LEN];
	uint8_t sid[PROTO_SID_LEN], bind[AUTH_BIND_MAX], bind2[AUTH_BIND_MAX];
	struct side srv, cli, wrong, impostor;
	size_t amlen, am2len, i;
	int bit;

	/* Config load: a hash made elsewhere; the server derives its keys. */
	ASSERT_EQ(auth_crypt(PW, "$y$j75$RzEO1z.L6pKTyearY0k4R0", stored,
	    sizeof(stored)), 0);
	ASSERT_EQ(auth_setting_from_hash(stored, setting, sizeof(setting),
	    err, sizeof(err)), 0);
	auth_derive_keys(stored, NULL, &srv.keys);

	/* HELLO and CHALLENGE. */
	ASSERT_EQ(sys_random(cn, sizeof(cn)), 0);
	ASSERT_EQ(sys_random(sn, sizeof(sn)), 0);
	ASSERT_EQ(sys_random(bind, sizeof(bind)), 0);
	memcpy(bind2, bind, sizeof(bind2));
	bind2[7] ^= 0x10;	/* another TLS connection's exporter */
	amlen = auth_message(am, sizeof(am), "alice", cn, sn, setting, bind,
	    sizeof(bind));
	ASSERT(amlen > 0);

	/* Client: only the password and the setting it was sent. */
	ASSERT_EQ(auth_crypt(PW, setting, salted, sizeof(salted)), 0);
	auth_derive_keys(salted, cli.client_key, &cli.keys);
	auth_wipe(salted, sizeof(salted));
	auth_client_proof(cli.client_key, &cli.keys, am, amlen, proof);

	/* Server: the proof is good and yields the same ClientKey. */
	ASSERT_EQ(auth_verify_proof(&srv.keys, am, amlen, proof, ck), 0);
	ASSERT_MEM_EQ(ck, cli.client_key, PROTO_KEY_LEN);
	auth_server_signature(&srv.keys, am, amlen, sig_s);
	auth_server_signature(&cli.keys, am, amlen, sig_c);
	ASSERT_MEM_EQ(sig_s, sig_c, PROTO_KEY_LEN);
	auth_session_key(ck, am, amlen, sess_s);
	auth_session_key(cli.client_key, am, amlen, sess_c);
	ASSERT_MEM_EQ(sess_s, sess_c, PROTO_KEY_LEN);
	ASSERT_EQ(sys_random(sid, sizeof(sid)), 0);
	auth_proxy_mac(sess_c, sid, 1, bind, sizeof(bind), mac_c);
	auth_proxy_mac(sess_s, sid, 1, bind, sizeof(bind), mac_s);
	ASSERT_MEM_EQ(mac_s, mac_c, PROTO_KEY_LEN);
	auth_proxy_mac(sess_s, sid, 2, bind, sizeof(bind), mac_s);
	ASSERT(memcmp(mac_s, mac_c, PROTO_KEY_LEN) != 0);
	/* A REGISTER's bytes replayed on another connection, or in clear. */
	auth_proxy_mac(sess_s, sid, 1, bind2, sizeof(bind2), mac_s);
	ASSERT(memcmp(mac_s, mac_c, PROTO_KEY_LEN) != 0);
	auth_proxy_mac(sess_s, sid, 1, NULL, 0, mac_s);
	ASSERT(memcmp(mac_s, mac_c, PROTO_KEY_LEN) != 0);
	sid[PROTO_SID_LEN - 1] ^= 1;
	auth_proxy_mac(sess_s, sid, 1, bind, sizeof(bind), mac_s);
	ASSERT(memcmp(mac_s, mac_c, PROTO_KEY_LEN) != 0);

	/*
	 * A man in the middle relays the proof onto its own TLS connection
	 * to the server: the server's AuthMessage has that connection's
	 * exporter, and the proof does not verify. The server's signature
	 * relayed back does not verify for the client either.
	 */
	am2len = auth_message(am2, sizeof(am2), "alice", cn, sn, setting,
	    bind2, sizeof(bind2));
	ASSERT_EQ(am2len, amlen);
	ASSERT_EQ(auth_verify_proof(&srv.keys, am2, am2len, proof, ck), -1);
	auth_server_signature(&srv.keys, am2, am2len, sig_x);
	ASSERT(memcmp(sig_x, sig_c, PROTO_KEY_LEN) != 0);
	am2len = auth_message(am2, sizeof(am2), "alice", cn, sn, setting,
	    NULL, 0);
	ASSERT_EQ(auth_verify_proof(&srv.keys, am2, am2len, proof, ck), -1);

	/* Wrong password: refused, and no ClientKey leaks out. */
	memset(zero, 0, sizeof(zero));
	ASSERT_EQ(auth_crypt("Correct horse battery staple", setting, salted,
	    sizeof(salted)), 0);
	auth_derive_keys(salted, wrong.client_key, &wrong.keys);
	auth_client_proof(wrong.client_key, &wrong.keys, am, amlen, bad);
	memset(ck, 0xa5, sizeof(ck));
	ASSERT_EQ(auth_verify_proof(&srv.keys, am, amlen, bad, ck), -1);
	ASSERT_MEM_EQ(ck, zero, PROTO_KEY_LEN);

	/* Replay: last login's proof against a new server nonce. */
	memcpy(sn2, sn, sizeof(sn2));
	sn2[0] ^= 0x80;
	am2len = auth_message(am2, sizeof(am2), "alice", cn, sn2, setting,
	    bind, sizeof(bind));
	ASSERT_EQ(auth_verify_proof(&srv.keys, am2, am2len, proof, ck), -1);
	auth_client_proof(cli.client_key, &cli.keys, am2, am2len, bad);
	ASSERT_EQ(auth_verify_proof(&srv.keys, am2, am2len, bad, ck), 0);
	/* ... and the same proof under another username. */
	am2len = auth_message(am2, sizeof(am2), "alicf", cn, sn, setting,
	    bind, sizeof(bind));
	ASSERT_EQ(auth_verify_proof(&srv.keys, am2, am2len, proof, ck), -1);

	/* Any flipped bit in the proof or the AuthMessage is refused. */
	for (bit = 0; bit < PROTO_KEY_LEN * 8; bit++) {
		memcpy(bad, proof, sizeof(bad));
		bad[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		ASSERT_EQ(auth_verify_proof(&srv.keys, am, amlen, bad, ck),
		    -1);
	}
	for (i = 0; i < amlen; i++) {
		memcpy(am2, am, amlen);
		am2[i] ^= (uint8_t)(1 << (i % 8));
		ASSERT_EQ(auth_verify_proof(&srv.keys, am2, amlen, proof, ck),
		    -1);
	}
	ASSERT_EQ(auth_verify_proof(&srv.keys, am, amlen - 1, proof, ck), -1);

	/* A server that holds another user's hash cannot sign this login. */
	ASSERT_EQ(auth_crypt("hunter2", setting, other, sizeof(other)), 0);
	auth_derive_keys(other, impostor.client_key, &impostor.keys);
	auth_server_signature(&impostor.keys, am, amlen, sig_x);
	ASSERT(memcmp(sig_x, sig_c, PROTO_KEY_LEN) != 0);
	ASSERT_EQ(auth_verify_proof(&impostor.keys, am, amlen, proof, ck), -1);
	/* A signature is bound to its AuthMessage too. */
	auth_server_signature(&srv.keys, am2, amlen, sig_x);
	ASSERT(memcmp(sig_x, sig_c, PROTO_KEY_LEN) != 0);
	return TEST_PASS;
}

/* The characters the last salt character may take for a template. */
static const char *
last_alphabet(const char *template, size_t saltlen)
{
	if (strncmp(template, "$2", 2) == 0)
		return ".Oeu";
	if (strncmp(template, "$y$", 3) == 0 ||
	    strncmp(template, "$gy$", 4) == 0) {
		if (saltlen % 4 == 2)
			return "./01";
		if (saltlen % 4 == 3)
			return "./0123456789ABCD";
	}
	return b64;
}

/*
 * For each family: deterministic, distinct per username and per secret,
 * same prefix and length as the template, and accepted as is by crypt(3).
 */
static int
test_fake_setting(void)
{
	static const struct {
		const char	*template;
		size_t		 prefix;	/* length up to the salt */
		int		 tries;		/* names put through crypt */
	} cases[] = {
		{ "$y$j9T$yrDd.AElkdgIVRxK2bMZC0", 7, 1 },
		{ "$y$j75$RzEO1z.L6pKTyearY0k4R0", 7, 24 },
		{ "$y$j75$RzEO1z.L6pKTyearY0k4R0A", 7, 24 },	/* 3 mod 4 */
		{ "$y$j75$RzEO1z.L6pKTyearY0k4", 7, 4 },	/* 0 mod 4 */
		/* More salt than one HMAC block: the counter kicks in. */
		{ "$y$j75$RzEO1z.L6pKTyearY0k4R0RzEO1z.L6pKTyearY0k4R0", 7, 4 },
		{ "$gy$j75$Qkdvm5xi1f/a/1/piHI9F.", 8, 8 },
		{ "$7$6U..../....J/ySl3CFoQhoYsxsA4qQ61", 14, 4 },
		{ "$2b$04$jvZX289UM4BEXdF2eAHHsu", 7, 24 },
		{ "$2a$04$YvyJZp152YBqNqc5AFzl6e", 7, 4 },
		{ "$2y$04$wjMlUqf6B8dpMqkSyRGOfu", 7, 4 },
		/* A full bcrypt hash works as well: the layout is fixed. */
		{ "$2b$04$jvZX289UM4BEXdF2eAHHsurD3EBU1ZHgQNt2qdYve2zjIAVkn"
		    "iokC", 7, 1 },
		{ "$6$rounds=1000$zy60IP4/d/nVAjWz", 15, 8 },
		{ "$6$hXjcXWJhBN1IHvaG", 3, 2 },
		{ "$5$rounds=1000$xSXWbrt5..lZXm0R", 15, 8 },
		{ "$1$tWNwHyO0", 3, 8 },
		{ "$sha1$100$EWdA7wA2cSP4pzel3bFr", 10, 8 },
		{ "$sha1$100$EWdA7wA2cSP4pzel3bFr$", 10, 8 },
		{ "$md5,rounds=10$9qkxUZ05$", 15, 2 },
		{ "$md5$Yx6uFp9U$", 5, 2 },
	};
	uint8_t secret[PROTO_KEY_LEN], secret2[PROTO_KEY_LEN];
	char f1[PROTO_MAX_SETTING + 1], f2[PROTO_MAX_SETTING + 1];
	char user[32], out[AUTH_HASH_MAX];
	const char *t, *alpha;
	size_t i, tlen, saltlen, trail, j;
	int k;

	memset(secret, 0x42, sizeof(secret));
	memset(secret2, 0x43, sizeof(secret2));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = cases[i].template;
		tlen = strlen(t);
		if (strncmp(t, "$2", 2) == 0)
			tlen = 29;
		trail = t[tlen - 1] == '$' && (strncmp(t, "$md5", 4) == 0 ||
		    strncmp(t, "$sha1", 5) == 0);
		saltlen = tlen - cases[i].prefix - trail;
		alpha = last_alphabet(t, saltlen);

		ASSERT_EQ(auth_fake_setting(secret, t, "mallory", f1,
		    sizeof(f1)), 0);
		ASSERT_EQ(auth_fake_setting(secret, t, "mallory", f2,
		    sizeof(f2)), 0);
		ASSERT_STR_EQ(f1, f2);
		ASSERT_EQ(strlen(f1), tlen);
		ASSERT_MEM_EQ(f1, t, cases[i].prefix);
		if (trail)
			ASSERT_EQ(f1[tlen - 1], '$');
		ASSERT(strncmp(f1, t, tlen) != 0);
		ASSERT(auth_looks_like_hash(f1));
		ASSERT_EQ(auth_fake_setting(secret, t, "mallorz", f2,
		    sizeof(f2)), 0);
		ASSERT(strcmp(f1, f2) != 0);
		ASSERT_EQ(auth_fake_setting(secret2, t, "mallory", f2,
		    sizeof(f2)), 0);
		ASSERT(strcmp(f1, f2) != 0);
		/* Exactly enough room, then one byte short. */
		ASSERT_EQ(auth_fake_setting(secret, t, "mallory", f2,
		    tlen + 1), 0);
		ASSERT_STR_EQ(f1, f2);
		ASSERT_EQ(auth_fake_setting(secret, t, "mallory", f2, tlen),
		    -1);

		for (k = 0; k < 200; k++) {
			(void)snprintf(user, sizeof(user), "user%d", k);
			ASSERT_EQ(auth_fake_setting(secret, t, user, f1,
			    sizeof(f1)), 0);
			for (j = cases[i].prefix; j + 1 < cases[i].prefix +
			    saltlen; j++)
				ASSERT(strchr(b64, f1[j]) != NULL);
			ASSERT(strchr(alpha, f1[j]) != NULL);
			if (k >= cases[i].tries)
				continue;
			/* crypt(3) takes it and echoes it unchanged. */
			if (auth_crypt(PW, f1, out, sizeof(out)) != 0 ||
			    strncmp(out, f1, strlen(f1)) != 0) {
				fprintf(stderr, "crypt refused %s\n", f1);
				ASSERT(0);
			}
		}
	}
	return TEST_PASS;
}

/*
 * The salt derivation itself, pinned with Python (secret = 32 x 0x42):
 *   b = H(secret, b"fake-salt" + b"mallory")   (+ H(.. + be32(1)) ...)
 *   salt = "".join(A[x % 64] for x in b[:n-1]) + last[b[n-1] % len(last)]
 * with A = "./0-9A-Za-z" and last = "./01" (yescrypt, 22 characters),
 * ".Oeu" (bcrypt) or A (44 characters).
 */
static int
test_fake_setting_vectors(void)
{
	uint8_t secret[PROTO_KEY_LEN];
	char out[PROTO_MAX_SETTING + 1];

	memset(secret, 0x42, sizeof(secret));
	ASSERT_EQ(auth_fake_setting(secret, "$y$j9T$yrDd.AElkdgIVRxK2bMZC0",
	    "mallory", out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "$y$j9T$70KklO1PGImyls7K3XPlE1");
	ASSERT_EQ(auth_fake_setting(secret, "$2b$04$jvZX289UM4BEXdF2eAHHsu",
	    "mallory", out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "$2b$04$70KklO1PGImyls7K3XPlEu");
	ASSERT_EQ(auth_fake_setting(secret, "$y$j75$RzEO1z.L6pKTyearY0k4R0"
	    "RzEO1z.L6pKTyearY0k4R0", "mallory", out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "$y$j75$70KklO1PGImyls7K3XPlEX8fjxVMs4nh99ihAqF"
	    "nuOQR");
	return TEST_PASS;
}

static int
test_fake_setting_bad(void)
{
	static const char *bad[] = {
		"",
		"123456",
		"$",
		"$zz$abc$def",
		"$y$",
		"$y$j9T",
		"$y$j9T$",				/* no salt to copy */
		"$y$j9T$yrDd.AElkdgIVRxK2bMZC",		/* 4k+1 characters */
		"$6$",
		"$1$",
		"$2b$04$short",
		"$2b$x4$jvZX289UM4BEXdF2eAHHsu",
		"$2b$04jvZX289UM4BEXdF2eAHHsuu",
		"$7$6U..../....",
		"$7$6U..$./....J/ySl3CFoQhoYsxsA4qQ61",
		"$md5$",
		"$sha1$100$",
	};
	uint8_t secret[PROTO_KEY_LEN];
	char out[PROTO_MAX_SETTING + 1], big[PROTO_MAX_SETTING + 8];
	size_t i;

	memset(secret, 7, sizeof(secret));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (auth_fake_setting(secret, bad[i], "bob", out,
		    sizeof(out)) != -1) {
			fprintf(stderr, "accepted \"%s\" -> %s\n", bad[i], out);
			ASSERT(0);
		}
	}
	/* Longer than a CHALLENGE can carry, even with room in out. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "$6$", 3);
	big[PROTO_MAX_SETTING + 1] = '\0';
	ASSERT_EQ(auth_fake_setting(secret, big, "bob", out, sizeof(out)), -1);
	big[PROTO_MAX_SETTING] = '\0';
	ASSERT_EQ(auth_fake_setting(secret, big, "bob", out, sizeof(out)), 0);
	ASSERT_EQ(strlen(out), PROTO_MAX_SETTING);
	return TEST_PASS;
}

static int
test_ct_equal(void)
{
	uint8_t a[64], b[64];
	size_t i;

	fill(a, sizeof(a), 3);
	memcpy(b, a, sizeof(b));
	ASSERT_EQ(auth_ct_equal(a, b, sizeof(a)), 1);
	ASSERT_EQ(auth_ct_equal(a, b, 0), 1);
	for (i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		ASSERT_EQ(auth_ct_equal(a, b, sizeof(a)), 0);
		ASSERT_EQ(auth_ct_equal(a, b, i), 1);
		b[i] ^= 0x80;
	}
	/* Keys and MACs are binary: a NUL byte ends nothing. */
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	ASSERT_EQ(auth_ct_equal(a, b, sizeof(a)), 1);
	for (i = 1; i < sizeof(a); i++) {
		b[i] = 0x01;
		ASSERT_EQ(auth_ct_equal(a, b, sizeof(a)), 0);
		ASSERT_EQ(auth_ct_equal(b, a, sizeof(a)), 0);
		b[i] = 0;
	}
	return TEST_PASS;
}

static int
test_random(void)
{
	uint8_t a[32], b[32], zero[32], big[4096];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(zero, 0, sizeof(zero));
	ASSERT_EQ(sys_random(a, sizeof(a)), 0);
	ASSERT_EQ(sys_random(b, sizeof(b)), 0);
	ASSERT(memcmp(a, b, sizeof(a)) != 0);
	ASSERT(memcmp(a, zero, sizeof(a)) != 0);
	ASSERT_EQ(sys_random(a, 0), 0);
	ASSERT_EQ(sys_random(big, sizeof(big)), 0);
	ASSERT(memcmp(big + sizeof(big) - 32, zero, 32) != 0);
	return TEST_PASS;
}

static int
test_wipe(void)
{
	uint8_t buf[100], zero[100];

	memset(buf, 0xff, sizeof(buf));
	memset(zero, 0, sizeof(zero));
	auth_wipe(buf, sizeof(buf));
	ASSERT_MEM_EQ(buf, zero, sizeof(buf));
	auth_wipe(buf, 0);
	return TEST_PASS;
}

/*
 * The REGISTER window: each counter once, in any order within AUTH_WINDOW
 * of the highest, nothing older, and a refusal changes nothing.
 */
static int
test_window(void)
{
	struct auth_window w;
	uint64_t c;

	memset(&w, 0, sizeof(w));
	ASSERT_EQ(auth_window_take(&w, 0), -1);
	ASSERT_EQ(auth_window_take(&w, 1), 0);
	ASSERT_EQ(auth_window_take(&w, 1), -1);
	/* Far out of order, as behind a long accept queue. */
	ASSERT_EQ(auth_window_take(&w, 3000), 0);
	for (c = 2; c < 3000; c += 7)
		ASSERT_EQ(auth_window_take(&w, c), 0);
	for (c = 2; c < 3000; c += 7)
		ASSERT_EQ(auth_window_take(&w, c), -1);
	ASSERT_EQ(auth_window_take(&w, 3000), -1);
	/* The edge: AUTH_WINDOW - 1 below the highest is in, AUTH_WINDOW out. */
	ASSERT_EQ(auth_window_take(&w, 3000 + AUTH_WINDOW), 0);
	ASSERT_EQ(auth_window_take(&w, 3000), -1);	/* out of the window */
	ASSERT_EQ(auth_window_take(&w, 3001), 0);
	ASSERT_EQ(auth_window_take(&w, 3001), -1);
	/* Slots reused by newer counters start unused... */
	ASSERT_EQ(auth_window_take(&w, 3008 + AUTH_WINDOW), 0);
	for (c = 3001 + AUTH_WINDOW; c < 3008 + AUTH_WINDOW; c++)
		ASSERT_EQ(auth_window_take(&w, c), 0);
	/* ...and counters used before a slide stay used after it. */
	ASSERT_EQ(auth_window_take(&w, 3000 + AUTH_WINDOW), -1);
	ASSERT_EQ(auth_window_take(&w, 3009 + AUTH_WINDOW), 0);
	ASSERT_EQ(auth_window_take(&w, 3008 + AUTH_WINDOW), -1);
	/* A jump past the whole window forgets all, and refuses the past. */
	c = 3009 + 3 * AUTH_WINDOW;
	ASSERT_EQ(auth_window_take(&w, c), 0);
	ASSERT_EQ(auth_window_take(&w, c - AUTH_WINDOW), -1);
	ASSERT_EQ(auth_window_take(&w, c - AUTH_WINDOW + 1), 0);
	ASSERT_EQ(auth_window_take(&w, c - 1), 0);
	ASSERT_EQ(auth_window_take(&w, c), -1);
	/* The top of the range. */
	ASSERT_EQ(auth_window_take(&w, UINT64_MAX), 0);
	ASSERT_EQ(auth_window_take(&w, UINT64_MAX), -1);
	ASSERT_EQ(auth_window_take(&w, UINT64_MAX - 1), 0);
	ASSERT_EQ(auth_window_take(&w, c), -1);
	return TEST_PASS;
}

/*
 * auth's HMAC is RFC 2104 over libcrypto's SHA-256: RFC 4231's vectors
 * (case 5 is a truncated output, not applicable), then libcrypto's own
 * HMAC for every key length around the 64-byte block.
 */
static int
test_hmac_rfc4231(void)
{
	static const struct {
		const char *key, *msg, *mac;
	} v[] = {
		{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ "4a656665",
		  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		  "dddddddddddddddddddddddddddddddddddd",
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
		{ "0102030405060708090a0b0c0d0e0f10111213141516171819",
		  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
		  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
		{ NULL,	/* 131 bytes of 0xaa */
		  "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
		  "65204b6579202d2048617368204b6579204669727374",
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	};
	uint8_t key[200], msg[200], got[PROTO_KEY_LEN], want[PROTO_KEY_LEN];
	size_t i, klen, mlen;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (v[i].key != NULL) {
			klen = strlen(v[i].key) / 2;
			ASSERT_EQ(from_hex(v[i].key, key, klen), 0);
		} else {
			klen = 131;
			memset(key, 0xaa, klen);
		}
		mlen = strlen(v[i].msg) / 2;
		ASSERT_EQ(from_hex(v[i].msg, msg, mlen), 0);
		auth_hmac_sha256(key, klen, msg, mlen, got);
		ASSERT_STR_EQ(hex(got, sizeof(got)), v[i].mac);
	}
	for (klen = 0; klen <= 140; klen++) {
		fill(key, klen, (uint8_t)klen);
		fill(msg, 100, 7);
		for (mlen = 0; mlen <= 100; mlen += 33) {
			auth_hmac_sha256(key, klen, msg, mlen, got);
			raw_hmac(key, klen, msg, mlen, want);
			ASSERT_MEM_EQ(got, want, sizeof(want));
		}
	}
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "auth_hmac_rfc4231", test_hmac_rfc4231 },
	{ "auth_looks_like_hash", test_looks_like_hash },
	{ "auth_setting_generated", test_setting_generated },
	{ "auth_setting_regression", test_setting_regression },
	{ "auth_setting_garbage", test_setting_garbage },
	{ "auth_crypt_errors", test_crypt_errors },
	{ "auth_hash_password", test_hash_password },
	{ "auth_default_setting", test_default_setting },
	{ "auth_known_vectors", test_known_vectors },
	{ "auth_message_limits", test_message_limits },
	{ "auth_exchange", test_exchange },
	{ "auth_fake_setting", test_fake_setting },
	{ "auth_fake_setting_vectors", test_fake_setting_vectors },
	{ "auth_fake_setting_bad", test_fake_setting_bad },
	{ "auth_ct_equal", test_ct_equal },
	{ "auth_random", test_random },
	{ "auth_wipe", test_wipe },
	{ "auth_window", test_window },
};

TEST_MAIN(tests)
