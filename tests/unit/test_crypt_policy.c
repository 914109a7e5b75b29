/*
 * Unit tests for src/crypt_policy.c: what libxcrypt writes by default for
 * each allowed family passes; each bound, on both sides of its edge; the
 * settings a fake server was seen to offer (issue 12: "ab", "$1$", "$3$",
 * "$2b$04$", "$y$jGT$") are refused; unreadable cost fields are refused,
 * never guessed; whole hashes are judged by their setting.
 *
 * The yescrypt values with multi-character fields were encoded outside
 * this code (a Python transcription of libxcrypt's encode64_uint32), and
 * libxcrypt accepts each of them: "$y$j9kn$" is N = 2^12, r = 100
 * (50 MiB), "$y$j9s4q$" N = 2^12, r = 999 (499.5 MiB).
 */
#include <stdio.h>
#include <string.h>

#include <crypt.h>

#include "crypt_policy.h"
#include "test.h"

static int
allowed(const char *s)
{
	char why[256] = "";

	if (crypt_policy_check(s, why, sizeof(why)) != 0) {
		fprintf(stderr, "refused '%s': %s\n", s, why);
		return 0;
	}
	return 1;
}

/* Refused, with a reason that contains want. */
static int
refused(const char *s, const char *want)
{
	char why[256] = "";

	if (crypt_policy_check(s, why, sizeof(why)) != -1) {
		fprintf(stderr, "allowed '%s'\n", s);
		return 0;
	}
	if (strstr(why, want) == NULL) {
		fprintf(stderr, "'%s': reason '%s' lacks '%s'\n", s, why, want);
		return 0;
	}
	return 1;
}

/* What --hash-password and libxcrypt's defaults write is allowed. */
static int
test_defaults(void)
{
	static const char *prefixes[] = { "$y$", "$7$", "$6$" };
	char buf[CRYPT_GENSALT_OUTPUT_SIZE];
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		ASSERT(crypt_gensalt_rn(prefixes[i], 0, NULL, 0, buf,
		    (int)sizeof(buf)) != NULL);
		ASSERT(allowed(buf));
	}
	/* bcrypt's default (5) is below our floor: the floor itself. */
	ASSERT(crypt_gensalt_rn("$2b$", 10, NULL, 0, buf,
	    (int)sizeof(buf)) != NULL);
	ASSERT(allowed(buf));
	ASSERT(crypt_gensalt_rn("$2y$", 14, NULL, 0, buf,
	    (int)sizeof(buf)) != NULL);
	ASSERT(allowed(buf));
	return TEST_PASS;
}

/* What issue 12's fake server offered. */
static int
test_fake_server_settings(void)
{
	ASSERT(refused("ab", "DES"));
	ASSERT(refused("abcdefghijklm", "DES"));
	ASSERT(refused("_J9..abcd", "DES"));
	ASSERT(refused("$1$abcdefgh", "md5crypt"));
	ASSERT(refused("$3$", "NT"));
	ASSERT(refused("$2b$04$abcdefghijklmnopqrstuu", "bcrypt cost 4"));
	ASSERT(refused("$y$jGT$abcdefghijklmnop", "yescrypt"));
	ASSERT(refused("$y$jGT$abcdefghijklmnop", "at most 256 MiB"));
	ASSERT(refused("$5$rounds=5000$abcdefgh", "sha256crypt"));
	ASSERT(refused("$2a$10$abcdefghijklmnopqrstuu", "$2a$"));
	ASSERT(refused("$2x$10$abcdefghijklmnopqrstuu", "$2x$"));
	ASSERT(refused("$gy$j9T$abcdefghijklmnop", "gost-yescrypt"));
	ASSERT(refused("$sha1$100$abcdefgh$", "sha1crypt"));
	ASSERT(refused("$md5,rounds=10$abcdefgh$", "SunMD5"));
	ASSERT(refused("$9$abc", "unknown"));
	ASSERT(refused("", "empty"));
	ASSERT_EQ(crypt_policy_check(NULL, NULL, 0), -1);
	/* The list of what is allowed comes with a refused family. */
	ASSERT(refused("$1$x", "allowed: yescrypt"));
	return TEST_PASS;
}

static int
test_yescrypt_bounds(void)
{
	ASSERT(refused("$y$j75$abcdefghijklmnop", "1024 KiB"));
	ASSERT(refused("$y$j7T$abcdefghijklmnop", "too cheap"));
	ASSERT(allowed("$y$j8T$abcdefghijklmnop"));	/* 8 MiB: the floor */
	ASSERT(allowed("$y$j9T$abcdefghijklmnop"));
	ASSERT(allowed("$y$jDT$abcdefghijklmnop"));	/* 256 MiB: the top */
	ASSERT(refused("$y$jET$abcdefghijklmnop", "too much memory"));
	ASSERT(refused("$y$jFT$abcdefghijklmnop", "at most 256 MiB"));
	/* 2^47 blocks: no overflow into something small. */
	ASSERT(refused("$y$jiT$abcdefghijklmnop", "absurd"));
	/* Multi-character fields, decoded as libxcrypt does. */
	ASSERT(allowed("$y$j9kn$abcdefghijklmnop"));	/* r = 100 */
	ASSERT(refused("$y$j9s4q$abcdefghijklmnop", "too much memory"));
	ASSERT(refused("$y$j9wAwz$abcdefghijklmnop", "memory"));
	/* Only the flavour libxcrypt writes, and no optional fields. */
	ASSERT(refused("$y$i9T$abcdefghijklmnop", "flavour"));
	ASSERT(refused("$y$j9T/$abcdefghijklmnop", "extra parameters"));
	ASSERT(refused("$y$j9", "unreadable"));
	ASSERT(refused("$y$", "unreadable"));
	ASSERT(refused("$y$j9T", "extra parameters"));
	/* A whole hash is judged by its setting. */
	ASSERT(allowed("$y$j9T$M/s7xxNy7RLPB8kV6aNHU.$5Di7Z9hm1NmA9cdAvB57a/"
	    "IKvf6MXyQjavDWcCErMi5"));
	return TEST_PASS;
}

static int
test_scrypt_bounds(void)
{
	ASSERT(refused("$7$8U..../....abcdefgh", "4096 KiB"));
	ASSERT(allowed("$7$9U..../....abcdefgh"));	/* 8 MiB */
	ASSERT(allowed("$7$CU..../....abcdefgh"));	/* libxcrypt's default */
	ASSERT(allowed("$7$EU..../....abcdefgh"));	/* 256 MiB */
	ASSERT(refused("$7$FU..../....abcdefgh", "too much memory"));
	/* p mixes run one after the other: memory * p is bounded. */
	ASSERT(allowed("$7$CU....2....abcdefgh"));	/* 64 MiB x 4 */
	ASSERT(refused("$7$CU....3....abcdefgh", "p = 5"));
	ASSERT(refused("$7$C....../....abcdefgh", "r or p of 0"));
	ASSERT(refused("$7$CU.........abcdefgh", "r or p of 0"));
	ASSERT(refused("$7$.U..../....abcdefgh", "unreadable"));
	ASSERT(refused("$7$CU..", "unreadable"));
	ASSERT(refused("$7$", "unreadable"));
	return TEST_PASS;
}

static int
test_bcrypt_bounds(void)
{
	ASSERT(refused("$2b$09$abcdefghijklmnopqrstuu", "at least 10"));
	ASSERT(allowed("$2b$10$abcdefghijklmnopqrstuu"));
	ASSERT(allowed("$2y$12$abcdefghijklmnopqrstuu"));
	ASSERT(allowed("$2b$14$abcdefghijklmnopqrstuu"));
	ASSERT(refused("$2b$15$abcdefghijklmnopqrstuu", "at most 14"));
	ASSERT(refused("$2b$31$abcdefghijklmnopqrstuu", "takes too long"));
	ASSERT(refused("$2b$1$abcdefghijklmnopqrstuu", "unreadable"));
	ASSERT(refused("$2b$1a$abcdefghijklmnopqrstuu", "unreadable"));
	ASSERT(refused("$2b$", "unreadable"));
	return TEST_PASS;
}

static int
test_sha512crypt_bounds(void)
{
	ASSERT(allowed("$6$abcdefgh"));			/* 5000 by default */
	ASSERT(allowed("$6$abcdefgh$hash"));
	ASSERT(refused("$6$rounds=4999$abcdefgh", "at least 5000"));
	ASSERT(refused("$6$rounds=1000$abcdefgh", "too cheap"));
	ASSERT(allowed("$6$rounds=5000$abcdefgh"));
	ASSERT(allowed("$6$rounds=1000000$abcdefgh"));
	ASSERT(refused("$6$rounds=1000001$abcdefgh", "at most 1000000"));
	ASSERT(refused("$6$rounds=999999999$abcdefgh", "too long"));
	ASSERT(refused("$6$rounds=9999999999$abcdefgh", "unreadable"));
	ASSERT(refused("$6$rounds=05000$abcdefgh", "leading 0"));
	ASSERT(refused("$6$rounds=$abcdefgh", "unreadable"));
	ASSERT(refused("$6$rounds=5000", "unreadable"));
	ASSERT(refused("$6$rounds=5x00$abcdefgh", "unreadable"));
	return TEST_PASS;
}

/* A reason always fits its buffer, and a NULL buffer is fine. */
static int
test_reason_buffer(void)
{
	char small[8];

	memset(small, 'x', sizeof(small));
	ASSERT_EQ(crypt_policy_check("ab", small, sizeof(small)), -1);
	ASSERT_EQ(strlen(small), sizeof(small) - 1);
	ASSERT_EQ(crypt_policy_check("ab", NULL, 0), -1);
	ASSERT_EQ(crypt_policy_check("$y$j9T$abcdefghijklmnop", NULL, 0), 0);
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "crypt_policy_defaults", test_defaults },
	{ "crypt_policy_fake_server_settings", test_fake_server_settings },
	{ "crypt_policy_yescrypt_bounds", test_yescrypt_bounds },
	{ "crypt_policy_scrypt_bounds", test_scrypt_bounds },
	{ "crypt_policy_bcrypt_bounds", test_bcrypt_bounds },
	{ "crypt_policy_sha512crypt_bounds", test_sha512crypt_bounds },
	{ "crypt_policy_reason_buffer", test_reason_buffer },
};

TEST_MAIN(tests)
