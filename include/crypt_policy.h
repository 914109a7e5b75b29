/*
 * crypt_policy: the crypt(3) settings a login may use, for both sides.
 *
 * The server chooses the setting, and the client hashes its password with
 * it before the server has proven anything. A fake server could pick a
 * cheap one (DES, md5crypt, NT, bcrypt cost 4) so that the proof it gets
 * back is cracked offline a thousand times faster than with the real
 * setting, or an absurd one (yescrypt with 2 GiB) that keeps the client's
 * hashing child busy for hours or out of memory. So the client refuses
 * everything outside this list before it derives anything from the
 * password, and the server refuses to load a user whose hash is outside it
 * (a real server never sends what its own client would refuse).
 *
 * Allowed, each with a floor (cheaper is cracked too fast) and a ceiling
 * (dearer costs the client seconds of CPU or too much memory):
 *
 *   yescrypt     "$y$", the flavour libxcrypt writes ('j'), no extra
 *                parameters; 128 * r * N bytes of memory within
 *                CRYPT_POLICY_MIN_MEM..CRYPT_POLICY_MAX_MEM
 *                (--hash-password writes "$y$j9T$": 16 MiB)
 *   scrypt       "$7$", the same memory bounds, and memory * p at most
 *                CRYPT_POLICY_MAX_MEM (p runs one after the other)
 *   bcrypt       "$2b$" and "$2y$", cost CRYPT_POLICY_BCRYPT_MIN..MAX
 *   sha512crypt  "$6$", rounds CRYPT_POLICY_SHA512_MIN..MAX (none given:
 *                5000)
 *
 * Refused: DES and its extended form (8 password characters, millions of
 * guesses a second), md5crypt "$1$", NT "$3$", sha256crypt "$5$" (no
 * stronger than sha512crypt, which every system that writes it can also
 * write), bcrypt's older "$2a$"/"$2x$" (their behaviour differs between
 * implementations; libxcrypt writes "$2b$"), gost-yescrypt "$gy$",
 * sha1crypt, SunMD5 and anything unknown.
 *
 * A pure function: no crypt(3) call, no allocation, no I/O.
 */
#ifndef TUNNEL_CRYPT_POLICY_H
#define TUNNEL_CRYPT_POLICY_H

#include <stddef.h>

#define CRYPT_POLICY_MIN_MEM	(8ull << 20)	/* one step below "$y$j9T$" */
#define CRYPT_POLICY_MAX_MEM	(256ull << 20)	/* "$y$jDT$", about 1 s */
#define CRYPT_POLICY_BCRYPT_MIN	10
#define CRYPT_POLICY_BCRYPT_MAX	14		/* about 1 s */
#define CRYPT_POLICY_SHA512_MIN	5000		/* sha512crypt's default */
#define CRYPT_POLICY_SHA512_MAX	1000000		/* about 0.25 s */

/*
 * Checks a crypt(3) setting, or a whole hash (only the part before the
 * salt is looked at: family and cost). Return: 0 when allowed; -1 when
 * refused, with a one-line reason in why (naming the family and the limit,
 * never the setting's own characters).
 */
int	crypt_policy_check(const char *setting, char *why, size_t len);

#endif
