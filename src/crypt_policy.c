/*
 * crypt_policy: the allow-list of crypt(3) settings (see crypt_policy.h).
 *
 * Each family's cost is read from its setting the way libxcrypt reads it,
 * and compared with the bounds; the salt that follows is libxcrypt's
 * business (the server probes every hash at load, and a setting it cannot
 * use makes the client's hash fail). Only what the family and cost fields
 * need is parsed: a field we cannot read is refused, never guessed.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypt_policy.h"

#define ALLOWED	"allowed: yescrypt ($y$), scrypt ($7$), bcrypt ($2b$, " \
		"$2y$), sha512crypt ($6$)"

/* yescrypt's flavour field for YESCRYPT_DEFAULTS, all libxcrypt writes. */
#define YESCRYPT_FLAVOUR	47

static const char b64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int	refuse(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && len > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The value of one crypt(3) base64 character, or -1. */
static int
b64_value(char ch)
{
	const char *p;

	if (ch == '\0' || (p = strchr(b64, ch)) == NULL)
		return -1;
	return (int)(p - b64);
}

/*
 * One of yescrypt's variable-length numbers at *p, plus min. The first
 * character's value tells how many more follow: 0..47 none, 48..55 one,
 * 56..59 two, 60..61 three, 62 four, 63 five; each group continues the
 * count where the one before it ended, and the characters after the first
 * are base-64 digits, most significant first. Return: 0 with *p moved past
 * it, or -1 on a bad character.
 */
static int
yes_number(const char **p, uint64_t min, uint64_t *out)
{
	static const struct {
		int	first, last, extra;
	} groups[] = {
		{ 0, 47, 0 }, { 48, 55, 1 }, { 56, 59, 2 }, { 60, 61, 3 },
		{ 62, 62, 4 }, { 63, 63, 5 },
	};
	uint64_t base = 0, v;
	size_t g;
	int c, d, i;

	if ((c = b64_value(**p)) == -1)
		return -1;
	for (g = 0; c > groups[g].last; g++)
		base += (uint64_t)(groups[g].last - groups[g].first + 1) <<
		    (6 * groups[g].extra);
	(*p)++;
	v = (uint64_t)(c - groups[g].first);
	for (i = 0; i < groups[g].extra; i++) {
		if ((d = b64_value(**p)) == -1)
			return -1;
		v = (v << 6) | (uint64_t)d;
		(*p)++;
	}
	*out = min + base + v;
	return 0;
}

/*
 * Memory of an scrypt-style mix: 128 * r * 2^log2n bytes, or UINT64_MAX
 * when that is beyond any bound we could allow (so it cannot overflow).
 */
static uint64_t
mix_memory(uint64_t log2n, uint64_t r)
{
	if (log2n > 40 || r > ((uint64_t)1 << 20))
		return UINT64_MAX;
	return (uint64_t)128 * r << log2n;
}

static int
memory_check(const char *family, uint64_t mem, char *why, size_t len)
{
	if (mem < CRYPT_POLICY_MIN_MEM)
		return refuse(why, len, "%s with %llu KiB of memory is too "
		    "cheap to guess against (at least %llu MiB)", family,
		    (unsigned long long)(mem >> 10),
		    (unsigned long long)(CRYPT_POLICY_MIN_MEM >> 20));
	if (mem > CRYPT_POLICY_MAX_MEM)
		return refuse(why, len, "%s asks for %s memory (at most "
		    "%llu MiB)", family, mem == UINT64_MAX ?
		    "an absurd amount of" : "too much",
		    (unsigned long long)(CRYPT_POLICY_MAX_MEM >> 20));
	return 0;
}

/* "$y$" flavour, N, r, then '$': nothing optional. */
static int
check_yescrypt(const char *p, char *why, size_t len)
{
	uint64_t flavour, log2n, r;

	if (yes_number(&p, 0, &flavour) == -1 ||
	    yes_number(&p, 1, &log2n) == -1 || yes_number(&p, 1, &r) == -1)
		return refuse(why, len, "yescrypt setting with unreadable "
		    "parameters");
	if (flavour != YESCRYPT_FLAVOUR)
		return refuse(why, len, "yescrypt flavour other than the "
		    "default that libxcrypt writes");
	if (*p != '$')
		return refuse(why, len, "yescrypt with extra parameters "
		    "(p, t, g or ROM), which libxcrypt never writes");
	return memory_check("yescrypt", mix_memory(log2n, r), why, len);
}

/* "$7$" N (1 character) r (5) p (5): fixed-width, little-endian. */
static int
check_scrypt(const char *p, char *why, size_t len)
{
	uint64_t log2n, field[2], mem;
	int c, i, f;

	if ((c = b64_value(*p++)) < 1)
		return refuse(why, len, "scrypt setting with unreadable "
		    "parameters");
	log2n = (uint64_t)c;
	for (f = 0; f < 2; f++) {
		field[f] = 0;
		for (i = 0; i < 5; i++) {
			if ((c = b64_value(*p++)) == -1)
				return refuse(why, len, "scrypt setting with "
				    "unreadable parameters");
			field[f] |= (uint64_t)c << (6 * i);
		}
	}
	if (field[0] == 0 || field[1] == 0)
		return refuse(why, len, "scrypt with r or p of 0");
	mem = mix_memory(log2n, field[0]);
	if (memory_check("scrypt", mem, why, len) == -1)
		return -1;
	/* Each of the p mixes costs as much time as the first. */
	if (field[1] > CRYPT_POLICY_MAX_MEM / mem)
		return refuse(why, len, "scrypt with p = %llu takes too long "
		    "(memory times p at most %llu MiB)",
		    (unsigned long long)field[1],
		    (unsigned long long)(CRYPT_POLICY_MAX_MEM >> 20));
	return 0;
}

/* "$2b$" or "$2y$", two digits, '$'. */
static int
check_bcrypt(const char *p, char *why, size_t len)
{
	int cost;

	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
	    p[2] != '$')
		return refuse(why, len, "bcrypt setting with an unreadable "
		    "cost");
	cost = (p[0] - '0') * 10 + (p[1] - '0');
	if (cost < CRYPT_POLICY_BCRYPT_MIN)
		return refuse(why, len, "bcrypt cost %d is too cheap to guess "
		    "against (at least %d)", cost, CRYPT_POLICY_BCRYPT_MIN);
	if (cost > CRYPT_POLICY_BCRYPT_MAX)
		return refuse(why, len, "bcrypt cost %d takes too long (at "
		    "most %d)", cost, CRYPT_POLICY_BCRYPT_MAX);
	return 0;
}

/* "$6$" then "rounds=N$" or the salt (5000 rounds). */
static int
check_sha512crypt(const char *p, char *why, size_t len)
{
	static const char key[] = "rounds=";
	unsigned long rounds = 0;
	size_t digits = 0;

	if (strncmp(p, key, sizeof(key) - 1) != 0)
		return 0;	/* the default, CRYPT_POLICY_SHA512_MIN */
	p += sizeof(key) - 1;
	/* At most 9 digits, none leading: "rounds=0005000" is not ours. */
	if (p[0] == '0')
		return refuse(why, len, "sha512crypt rounds with a leading 0");
	while (p[digits] >= '0' && p[digits] <= '9' && digits < 10)
		rounds = rounds * 10 + (unsigned long)(p[digits++] - '0');
	if (digits == 0 || digits > 9 || p[digits] != '$')
		return refuse(why, len, "sha512crypt setting with unreadable "
		    "rounds");
	if (rounds < CRYPT_POLICY_SHA512_MIN)
		return refuse(why, len, "sha512crypt with %lu rounds is too "
		    "cheap to guess against (at least %d)", rounds,
		    CRYPT_POLICY_SHA512_MIN);
	if (rounds > CRYPT_POLICY_SHA512_MAX)
		return refuse(why, len, "sha512crypt with %lu rounds takes "
		    "too long (at most %d)", rounds, CRYPT_POLICY_SHA512_MAX);
	return 0;
}

int
crypt_policy_check(const char *s, char *why, size_t len)
{
	static const struct {
		const char	*prefix;
		const char	*name;
	} refused[] = {
		{ "$1$", "md5crypt ($1$)" },
		{ "$3$", "the NT hash ($3$)" },
		{ "$5$", "sha256crypt ($5$)" },
		{ "$2a$", "bcrypt's old $2a$ form" },
		{ "$2x$", "bcrypt's $2x$ form" },
		{ "$gy$", "gost-yescrypt ($gy$)" },
		{ "$sha1$", "sha1crypt ($sha1$)" },
		{ "$md5", "SunMD5 ($md5)" },
	};
	size_t i;

	if (s == NULL || s[0] == '\0')
		return refuse(why, len, "empty setting");
	if (strncmp(s, "$y$", 3) == 0)
		return check_yescrypt(s + 3, why, len);
	if (strncmp(s, "$7$", 3) == 0)
		return check_scrypt(s + 3, why, len);
	if (strncmp(s, "$2b$", 4) == 0 || strncmp(s, "$2y$", 4) == 0)
		return check_bcrypt(s + 4, why, len);
	if (strncmp(s, "$6$", 3) == 0)
		return check_sha512crypt(s + 3, why, len);
	if (s[0] != '$')
		return refuse(why, len, "DES crypt (only 8 password characters "
		    "count, millions of guesses a second); " ALLOWED);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strncmp(s, refused[i].prefix, strlen(refused[i].prefix))
		    == 0)
			return refuse(why, len, "%s is too cheap to guess "
			    "against or not one we trust; " ALLOWED,
			    refused[i].name);
	return refuse(why, len, "unknown hash family; " ALLOWED);
}
