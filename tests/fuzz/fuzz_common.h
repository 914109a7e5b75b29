/*
 * Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c), the seed
 * generator (gen_seeds.c) and the replay test (tests/unit/
 * test_fuzz_replay.c): the check macro and the fixed login material.
 *
 * Only macros live here: the replay test includes all three harnesses in
 * one translation unit, so a static object in this header would be
 * defined three times (and unused copies warn under -Wall).
 */
#ifndef TUNNEL_FUZZ_COMMON_H
#define TUNNEL_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

/*
 * A broken invariant is a crash: libFuzzer saves the input, the replay
 * test's child dies and is reported as FAIL.
 */
#define FUZZ_CHECK(c) do {						\
	if (!(c)) {							\
		(void)fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", \
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

/*
 * Fixed login material for fuzz_login and gen_seeds. The real server and
 * client draw nonces, the session id and the server secret at random and
 * get the SaltedPassword from crypt(3); the harness fixes them all (and
 * never runs crypt(3)) so that gen_seeds can write a login that succeeds,
 * which lets the fuzzer reach the code behind a valid PROOF and REGISTER.
 */
#define FL_USER		"admin"
/* A yescrypt setting and a "crypt output" for it (any string will do:
 * the keys are HMACs of it). */
#define FL_SETTING	"$y$j9T$F5Jx5fExrKuPp53xLKQ..1"
#define FL_SALTED	FL_SETTING "$Ri/yYAp1hVjWKrYt4xVnhxfT6BQuAf8AuK2wCO8vmc/"
#define FL_CNONCE_INIT	{ 'c', 'n', 'o', 'n', 'c', 'e', '-', 'f', 'u', 'z', \
			  'z', '-', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }
#define FL_SNONCE_INIT	{ 's', 'n', 'o', 'n', 'c', 'e', '-', 'f', 'u', 'z', \
			  'z', '-', 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, \
			  0x87, 0x78, 0x69, 0x5a, 0x4b }
#define FL_SID_INIT	{ 0x5e, 0x55, 0x10, 0x4e, 0x1d, 0x00, 0xff, 0x80, \
			  1, 2, 3, 4, 5, 6, 7, 8 }
#define FL_SECRET_INIT	{ 0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0, 0, 1, 1, \
			  2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 121, 98, \
			  219, 61, 24, 85, 109, 194, 47, 241, 32 }
/* WELCOME fields the harness's server sends. */
#define FL_POOL		20
#define FL_HEARTBEAT	15
#define FL_PORT		3339
#define FL_ADDR		"203.0.113.9:3339"

#endif
