/*
 * Unit tests for proto: the preamble, every frame's round trip at its
 * boundary string lengths, byte-by-byte and pipelined decoding, each class
 * of malformed input, the encoder's refusals, and a fixed-seed garbage run.
 *
 * Decoding is always done on a heap copy of exactly the bytes offered, so
 * a build with -fsanitize=address catches any read past len.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "test.h"

#define SETTING_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./$=,-"

static const int all_types[] = {
	PROTO_HELLO, PROTO_CHALLENGE, PROTO_PROOF, PROTO_WELCOME, PROTO_FAIL,
	PROTO_PING, PROTO_PONG, PROTO_REGISTER, PROTO_START, PROTO_STATUS,
	PROTO_REFRESH, PROTO_ACCEPTED, PROTO_WITHDRAW, PROTO_WITHDRAWN,
	PROTO_SERVICE, PROTO_ROUTE,
};
#define NTYPES	(sizeof(all_types) / sizeof(all_types[0]))

/* xorshift64*: a fixed seed makes every failure reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t
rng_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rng() % n);
}

/*
 * Decodes from a heap copy of exactly n bytes (ASan sees any overread).
 * Return: the result, or -1 if a non-OK result left *consumed non-zero.
 */
static int
dec(const uint8_t *p, size_t n, struct proto_msg *m, size_t *consumed)
{
	uint8_t *copy;
	enum proto_result r;

	if ((copy = malloc(n ? n : 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(copy, p, n);
	*consumed = 12345;
	r = proto_decode(copy, n, m, consumed);
	free(copy);
	if (r != PROTO_OK && *consumed != 0)
		return -1;
	return (int)r;
}

/* Shorthand when only the verdict matters. */
static int
dec_r(const uint8_t *p, size_t n)
{
	struct proto_msg m;
	size_t used;

	return dec(p, n, &m, &used);
}

/* Builds a raw frame: header with the given declared length, then body. */
static size_t
raw(uint8_t *out, int type, size_t declared, const uint8_t *body,
    size_t blen)
{
	out[0] = (uint8_t)type;
	out[1] = (uint8_t)(declared >> 8);
	out[2] = (uint8_t)declared;
	if (blen > 0)
		memcpy(out + PROTO_HDR_LEN, body, blen);
	return PROTO_HDR_LEN + blen;
}

static size_t
raw_frame(uint8_t *out, int type, const uint8_t *payload, size_t plen)
{
	return raw(out, type, plen, payload, plen);
}

static void
fill_str(char *dst, size_t n, const char *alphabet)
{
	size_t i, k = strlen(alphabet);

	for (i = 0; i < n; i++)
		dst[i] = alphabet[i % k];
	dst[n] = '\0';
}

static void
fill_bytes(uint8_t *dst, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = (uint8_t)(seed + i * 7);
}

/* Any byte but NUL: usernames, addresses and reasons are not ASCII-only. */
static void
fill_any(char *dst, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = (char)(1 + (i * 37) % 255);
	dst[n] = '\0';
}

static int
msg_eq(const struct proto_msg *a, const struct proto_msg *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case PROTO_HELLO:
		return strcmp(a->u.hello.username, b->u.hello.username) == 0 &&
		    memcmp(a->u.hello.nonce, b->u.hello.nonce,
		    PROTO_NONCE_LEN) == 0;
	case PROTO_CHALLENGE:
		return strcmp(a->u.challenge.setting,
		    b->u.challenge.setting) == 0 &&
		    memcmp(a->u.challenge.nonce, b->u.challenge.nonce,
		    PROTO_NONCE_LEN) == 0;
	case PROTO_PROOF:
		return memcmp(a->u.proof.proof, b->u.proof.proof,
		    PROTO_KEY_LEN) == 0;
	case PROTO_WELCOME:
		return memcmp(a->u.welcome.signature, b->u.welcome.signature,
		    PROTO_KEY_LEN) == 0 &&
		    memcmp(a->u.welcome.session_id, b->u.welcome.session_id,
		    PROTO_SID_LEN) == 0 &&
		    a->u.welcome.pool_size == b->u.welcome.pool_size &&
		    a->u.welcome.heartbeat_s == b->u.welcome.heartbeat_s &&
		    a->u.welcome.public_port == b->u.welcome.public_port &&
		    strcmp(a->u.welcome.public_addr,
		    b->u.welcome.public_addr) == 0;
	case PROTO_FAIL:
		return a->u.fail.code == b->u.fail.code &&
		    strcmp(a->u.fail.reason, b->u.fail.reason) == 0;
	case PROTO_PING:
	case PROTO_PONG:
		return a->u.ping.seq == b->u.ping.seq;
	case PROTO_REGISTER:
		return memcmp(a->u.reg.session_id, b->u.reg.session_id,
		    PROTO_SID_LEN) == 0 &&
		    a->u.reg.counter == b->u.reg.counter &&
		    memcmp(a->u.reg.mac, b->u.reg.mac, PROTO_KEY_LEN) == 0;
	case PROTO_START:
		return a->u.start.visitor_id == b->u.start.visitor_id &&
		    strcmp(a->u.start.peer, b->u.start.peer) == 0 &&
		    strcmp(a->u.start.dst, b->u.start.dst) == 0 &&
		    a->u.start.service == b->u.start.service;
	case PROTO_SERVICE:
		return a->u.service.index == b->u.service.index &&
		    a->u.service.flags == b->u.service.flags &&
		    strcmp(a->u.service.host, b->u.service.host) == 0;
	case PROTO_ROUTE:
		return a->u.route.index == b->u.route.index &&
		    a->u.route.ok == b->u.route.ok &&
		    a->u.route.http_port == b->u.route.http_port &&
		    a->u.route.https_port == b->u.route.https_port &&
		    strcmp(a->u.route.host, b->u.route.host) == 0 &&
		    strcmp(a->u.route.reason, b->u.route.reason) == 0;
	case PROTO_STATUS:
		return a->u.status.ok == b->u.status.ok &&
		    strcmp(a->u.status.reason, b->u.status.reason) == 0;
	case PROTO_WITHDRAW:
		return a->u.withdraw.counter == b->u.withdraw.counter;
	case PROTO_WITHDRAWN:
		return a->u.withdraw.counter == b->u.withdraw.counter &&
		    a->u.withdraw.taken == b->u.withdraw.taken;
	case PROTO_REFRESH:
	case PROTO_ACCEPTED:
		return 1;
	}
	return 0;
}

/*
 * The full check of one valid message: it encodes; the frame length
 * agrees; it decodes back equal from exactly its bytes and with more bytes
 * behind it; every strict prefix is NEED_MORE; it re-encodes to the same
 * bytes; and every cap smaller than the frame is refused without a write
 * past cap.
 */
static int
check_frame(const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_FRAME + 16], again[PROTO_MAX_FRAME], *small;
	struct proto_msg d;
	size_t len, used, n;

	len = proto_encode(m, buf, PROTO_MAX_FRAME);
	ASSERT(len >= PROTO_HDR_LEN);
	ASSERT(len <= PROTO_MAX_FRAME);
	ASSERT_EQ(buf[0], m->type);
	ASSERT_EQ(proto_frame_len(buf, len), len);

	memset(&d, 0xa5, sizeof(d));
	ASSERT_EQ(dec(buf, len, &d, &used), PROTO_OK);
	ASSERT_EQ(used, len);
	ASSERT(msg_eq(m, &d));
	ASSERT_EQ(proto_encode(&d, again, sizeof(again)), len);
	ASSERT_MEM_EQ(again, buf, len);

	/* Bytes of a following frame must not change the verdict. */
	memset(buf + len, 0xee, 16);
	ASSERT_EQ(dec(buf, len + 16, &d, &used), PROTO_OK);
	ASSERT_EQ(used, len);
	ASSERT(msg_eq(m, &d));

	/* Byte by byte, as a slow socket delivers it. */
	for (n = 0; n < len; n++)
		ASSERT_EQ(dec(buf, n, &d, &used), PROTO_NEED_MORE);

	for (n = 0; n < len; n++) {
		if ((small = malloc(n ? n : 1)) == NULL)
			abort();
		ASSERT_EQ(proto_encode(m, small, n), 0);
		free(small);
	}
	if ((small = malloc(len)) == NULL)
		abort();
	ASSERT_EQ(proto_encode(m, small, len), len);
	ASSERT_MEM_EQ(small, buf, len);
	free(small);
	return TEST_PASS;
}

/* Runs check_frame and reports the caller's line on failure. */
#define CHECK_FRAME(m) ASSERT_EQ(check_frame(m), TEST_PASS)

/* --- preamble ----------------------------------------------------------- */

static int
test_preamble_bytes(void)
{
	uint8_t p[PROTO_PREAMBLE_LEN];
	static const uint8_t want_tls[] = { 0x8e, 'T', 'U', 'N', PROTO_VERSION,
	    PROTO_TRANSPORT_TLS };
	static const uint8_t want_plain[] = { 0x8e, 'T', 'U', 'N',
	    PROTO_VERSION, PROTO_TRANSPORT_PLAIN };

	ASSERT_EQ(PROTO_PREAMBLE_LEN, 6);
	ASSERT_EQ(PROTO_VERSION, 4);
	ASSERT_EQ(proto_preamble(p, PROTO_TRANSPORT_TLS), PROTO_PREAMBLE_LEN);
	ASSERT_MEM_EQ(p, want_tls, sizeof(want_tls));
	ASSERT_EQ(proto_preamble(p, PROTO_TRANSPORT_PLAIN),
	    PROTO_PREAMBLE_LEN);
	ASSERT_MEM_EQ(p, want_plain, sizeof(want_plain));
	ASSERT_EQ(PROTO_MAGIC_LEN, 4);
	return TEST_PASS;
}

static int
test_preamble_prefixes(void)
{
	uint8_t buf[PROTO_PREAMBLE_LEN + 3], v;
	int t, tr;
	size_t n;

	for (t = PROTO_TRANSPORT_PLAIN; t <= PROTO_TRANSPORT_TLS; t++) {
		proto_preamble(buf, t);
		buf[6] = PROTO_HELLO;
		buf[7] = 0;
		buf[8] = 26;
		ASSERT_EQ(proto_check_preamble(buf, 0, NULL, NULL),
		    PROTO_PRE_NEED_MORE);
		for (n = 1; n < PROTO_PREAMBLE_LEN; n++) {
			v = 0x77;
			tr = 0x77;
			ASSERT_EQ(proto_check_preamble(buf, n, &v, &tr),
			    PROTO_PRE_NEED_MORE);
			ASSERT_EQ(v, n == PROTO_PREAMBLE_LEN - 1 ?
			    PROTO_VERSION : 0x77);
			ASSERT_EQ(tr, 0x77);
		}
		v = 0;
		ASSERT_EQ(proto_check_preamble(buf, 6, &v, &tr), PROTO_PRE_OK);
		ASSERT_EQ(v, PROTO_VERSION);
		ASSERT_EQ(tr, t);
		/* The first frame may arrive in the same read. */
		ASSERT_EQ(proto_check_preamble(buf, sizeof(buf), NULL, NULL),
		    PROTO_PRE_OK);
	}
	return TEST_PASS;
}

static int
test_preamble_not_tunnel(void)
{
	static const char *visitors[] = {
		"GET / HTTP/1.1\r\n", "POST /hook HTTP/1.1\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n", "PRI * HTTP/2.0\r\n",
		"PROXY TCP4 ", "\r\n\r\n\0\r\nQUIT\n",
	};
	static const uint8_t tls[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };
	static const uint8_t pg[] = { 0x00, 0x00, 0x00, 0x08, 0x04, 0xd2 };
	static const uint8_t near[] = { 0x8f, 'T', 'U', 'N', 2, 1 };
	uint8_t buf[PROTO_PREAMBLE_LEN], v;
	size_t i, pos, n;

	for (i = 0; i < sizeof(visitors) / sizeof(visitors[0]); i++) {
		for (n = 1; n <= 6; n++)
			ASSERT_EQ(proto_check_preamble(
			    (const uint8_t *)visitors[i], n, NULL, NULL),
			    PROTO_PRE_NOT_TUNNEL);
	}
	for (n = 1; n <= 6; n++) {
		ASSERT_EQ(proto_check_preamble(tls, n, NULL, NULL),
		    PROTO_PRE_NOT_TUNNEL);
		ASSERT_EQ(proto_check_preamble(pg, n, NULL, NULL),
		    PROTO_PRE_NOT_TUNNEL);
		ASSERT_EQ(proto_check_preamble(near, n, NULL, NULL),
		    PROTO_PRE_NOT_TUNNEL);
	}
	/* A wrong byte later in the magic, seen as soon as it arrives. */
	for (pos = 1; pos < PROTO_MAGIC_LEN; pos++) {
		proto_preamble(buf, PROTO_TRANSPORT_TLS);
		buf[pos] ^= 0x20;	/* 'T' -> 't': case matters */
		for (n = 1; n <= pos; n++)
			ASSERT_EQ(proto_check_preamble(buf, n, NULL, NULL),
			    PROTO_PRE_NEED_MORE);
		for (n = pos + 1; n <= PROTO_PREAMBLE_LEN; n++) {
			v = 0x77;
			ASSERT_EQ(proto_check_preamble(buf, n, &v, NULL),
			    PROTO_PRE_NOT_TUNNEL);
			ASSERT_EQ(v, 0x77);
		}
	}
	return TEST_PASS;
}

static int
test_preamble_bad_version(void)
{
	/* 1: the 5-byte preamble of older clients, its HELLO behind it. */
	static const uint8_t versions[] = { 0, 1, 2, 3, 5, 0x7f, 0xff };
	uint8_t buf[PROTO_PREAMBLE_LEN], v;
	size_t i;

	for (i = 0; i < sizeof(versions); i++) {
		proto_preamble(buf, PROTO_TRANSPORT_TLS);
		buf[4] = versions[i];
		v = 0x55;
		ASSERT_EQ(proto_check_preamble(buf, 4, &v, NULL),
		    PROTO_PRE_NEED_MORE);
		ASSERT_EQ(proto_check_preamble(buf, 5, &v, NULL),
		    PROTO_PRE_BAD_VERSION);
		ASSERT_EQ(v, versions[i]);
		ASSERT_EQ(proto_check_preamble(buf, 6, NULL, NULL),
		    PROTO_PRE_BAD_VERSION);
	}
	return TEST_PASS;
}

static int
test_preamble_bad_transport(void)
{
	static const uint8_t transports[] = { 2, 3, 0x16, 0x80, 0xff };
	uint8_t buf[PROTO_PREAMBLE_LEN], v;
	int tr;
	size_t i;

	for (i = 0; i < sizeof(transports); i++) {
		proto_preamble(buf, PROTO_TRANSPORT_TLS);
		buf[5] = transports[i];
		tr = 0x55;
		ASSERT_EQ(proto_check_preamble(buf, 5, &v, &tr),
		    PROTO_PRE_NEED_MORE);
		ASSERT_EQ(proto_check_preamble(buf, 6, &v, &tr),
		    PROTO_PRE_BAD_TRANSPORT);
		ASSERT_EQ(v, PROTO_VERSION);
		ASSERT_EQ(tr, 0x55);
	}
	return TEST_PASS;
}

/* --- round trips -------------------------------------------------------- */

static int
test_hello_roundtrip(void)
{
	static const size_t lens[] = { 1, 2, 5, PROTO_MAX_USER - 1,
	    PROTO_MAX_USER };
	struct proto_msg m;
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.type = PROTO_HELLO;
		fill_str(m.u.hello.username, lens[i], "alice.bob-42_");
		fill_bytes(m.u.hello.nonce, PROTO_NONCE_LEN, (uint8_t)i);
		CHECK_FRAME(&m);
		/* Every non-NUL byte is allowed, UTF-8 included. */
		fill_any(m.u.hello.username, lens[i]);
		CHECK_FRAME(&m);
	}
	return TEST_PASS;
}

static int
test_challenge_roundtrip(void)
{
	static const char *real[] = {
		"$y$j9T$F5Jx5fExrKuPp53xLKQ..1",
		"$2b$12$R9h/cIPz0gi.URNNX3kh2O",
		"$6$rounds=656000$saltsaltsaltsal",
		"$7$CU..../....2Q9obwLhin8qvQl6sisAO/",
		"$gy$j9T$abc,d-e",
	};
	static const size_t lens[] = { 1, 2, PROTO_MAX_SETTING - 1,
	    PROTO_MAX_SETTING };
	struct proto_msg m;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_CHALLENGE;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		fill_str(m.u.challenge.setting, lens[i], SETTING_CHARS);
		fill_bytes(m.u.challenge.nonce, PROTO_NONCE_LEN, (uint8_t)i);
		CHECK_FRAME(&m);
	}
	for (i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		strcpy(m.u.challenge.setting, real[i]);
		CHECK_FRAME(&m);
	}
	return TEST_PASS;
}

static int
test_fixed_roundtrip(void)
{
	static const uint64_t seqs[] = { 0, 1, 0xff, 0x100,
	    0x0102030405060708ULL, UINT64_MAX };
	struct proto_msg m;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_PROOF;
	fill_bytes(m.u.proof.proof, PROTO_KEY_LEN, 3);
	CHECK_FRAME(&m);
	memset(m.u.proof.proof, 0, PROTO_KEY_LEN);
	CHECK_FRAME(&m);
	memset(m.u.proof.proof, 0xff, PROTO_KEY_LEN);
	CHECK_FRAME(&m);

	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.type = (i & 1) ? PROTO_PONG : PROTO_PING;
		m.u.ping.seq = seqs[i];
		CHECK_FRAME(&m);
		m.type = (i & 1) ? PROTO_PING : PROTO_PONG;
		CHECK_FRAME(&m);

		memset(&m, 0, sizeof(m));
		m.type = PROTO_REGISTER;
		fill_bytes(m.u.reg.session_id, PROTO_SID_LEN, (uint8_t)i);
		m.u.reg.counter = seqs[i];
		fill_bytes(m.u.reg.mac, PROTO_KEY_LEN, (uint8_t)(i + 100));
		CHECK_FRAME(&m);
	}
	return TEST_PASS;
}

static int
test_welcome_roundtrip(void)
{
	static const size_t lens[] = { 0, 1, PROTO_MAX_ADDR - 1,
	    PROTO_MAX_ADDR };
	static const uint16_t u16s[] = { 0, 1, 20, 3339, 0xffff };
	struct proto_msg m;
	size_t i, j;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (j = 0; j < sizeof(u16s) / sizeof(u16s[0]); j++) {
			memset(&m, 0, sizeof(m));
			m.type = PROTO_WELCOME;
			fill_bytes(m.u.welcome.signature, PROTO_KEY_LEN, 9);
			fill_bytes(m.u.welcome.session_id, PROTO_SID_LEN, 1);
			m.u.welcome.pool_size = u16s[j];
			m.u.welcome.heartbeat_s = u16s[(j + 1) % 5];
			m.u.welcome.public_port = u16s[(j + 2) % 5];
			fill_str(m.u.welcome.public_addr, lens[i],
			    "[2001:db8::1]:3339");
			CHECK_FRAME(&m);
		}
		fill_any(m.u.welcome.public_addr, lens[i]);
		CHECK_FRAME(&m);
	}
	return TEST_PASS;
}

static int
test_fail_roundtrip(void)
{
	static const size_t lens[] = { 0, 1, PROTO_MAX_REASON - 1,
	    PROTO_MAX_REASON };
	struct proto_msg m;
	size_t i;
	int code;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* Every code travels: a newer peer may send ones we lack. */
		for (code = 0; code <= 255; code += 17) {
			memset(&m, 0, sizeof(m));
			m.type = PROTO_FAIL;
			m.u.fail.code = (uint8_t)code;
			fill_str(m.u.fail.reason, lens[i], "bad credentials ");
			CHECK_FRAME(&m);
		}
		fill_any(m.u.fail.reason, lens[i]);
		CHECK_FRAME(&m);
	}
	return TEST_PASS;
}

static int
test_start_status_roundtrip(void)
{
	static const size_t alens[] = { 0, 1, PROTO_MAX_ADDR - 1,
	    PROTO_MAX_ADDR };
	static const size_t rlens[] = { 0, 1, PROTO_MAX_REASON - 1,
	    PROTO_MAX_REASON };
	struct proto_msg m;
	size_t i;
	int ok;

	for (i = 0; i < 4; i++) {
		memset(&m, 0, sizeof(m));
		m.type = PROTO_START;
		m.u.start.visitor_id = i == 3 ? UINT64_MAX : i * 1000003;
		fill_str(m.u.start.peer, alens[i], "203.0.113.7:51234");
		fill_str(m.u.start.dst, alens[3 - i], "[2001:db8::1]:443");
		CHECK_FRAME(&m);
		fill_any(m.u.start.peer, alens[i]);
		fill_any(m.u.start.dst, alens[i]);
		CHECK_FRAME(&m);

		for (ok = 0; ok <= 1; ok++) {
			memset(&m, 0, sizeof(m));
			m.type = PROTO_STATUS;
			m.u.status.ok = (uint8_t)ok;
			fill_str(m.u.status.reason, rlens[i],
			    "connect 127.0.0.1:8080: Connection refused ");
			CHECK_FRAME(&m);
			fill_any(m.u.status.reason, rlens[i]);
			CHECK_FRAME(&m);
		}
	}
	return TEST_PASS;
}

/*
 * Builds a random valid message of the given type: random string lengths
 * (biased towards 0, 1 and the maximum) and random contents.
 */
static size_t
rand_len(size_t min, size_t max)
{
	switch (rng_below(4)) {
	case 0:
		return min;
	case 1:
		return max;
	default:
		return min + rng_below(max - min + 1);
	}
}

/* n bytes a SERVICE host may hold: letters, digits, '-' and '.'. */
static void
rand_host(char *dst, size_t n)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.";
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = chars[rng_below(sizeof(chars) - 1)];
	dst[n] = '\0';
}

static void
rand_str(char *dst, size_t n, int setting)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = setting ?
		    SETTING_CHARS[rng_below(sizeof(SETTING_CHARS) - 1)] :
		    (char)(1 + rng_below(255));
	dst[n] = '\0';
}

static void
rand_bytes(uint8_t *dst, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = (uint8_t)rng();
}

static void
rand_msg(struct proto_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->type = (enum proto_type)type;
	switch (m->type) {
	case PROTO_HELLO:
		rand_str(m->u.hello.username, rand_len(1, PROTO_MAX_USER), 0);
		rand_bytes(m->u.hello.nonce, PROTO_NONCE_LEN);
		break;
	case PROTO_CHALLENGE:
		rand_str(m->u.challenge.setting,
		    rand_len(1, PROTO_MAX_SETTING), 1);
		rand_bytes(m->u.challenge.nonce, PROTO_NONCE_LEN);
		break;
	case PROTO_PROOF:
		rand_bytes(m->u.proof.proof, PROTO_KEY_LEN);
		break;
	case PROTO_WELCOME:
		rand_bytes(m->u.welcome.signature, PROTO_KEY_LEN);
		rand_bytes(m->u.welcome.session_id, PROTO_SID_LEN);
		m->u.welcome.pool_size = (uint16_t)rng();
		m->u.welcome.heartbeat_s = (uint16_t)rng();
		m->u.welcome.public_port = (uint16_t)rng();
		rand_str(m->u.welcome.public_addr,
		    rand_len(0, PROTO_MAX_ADDR), 0);
		break;
	case PROTO_FAIL:
		m->u.fail.code = (uint8_t)rng();
		rand_str(m->u.fail.reason, rand_len(0, PROTO_MAX_REASON), 0);
		break;
	case PROTO_PING:
	case PROTO_PONG:
		m->u.ping.seq = rng();
		break;
	case PROTO_REGISTER:
		rand_bytes(m->u.reg.session_id, PROTO_SID_LEN);
		m->u.reg.counter = rng();
		rand_bytes(m->u.reg.mac, PROTO_KEY_LEN);
		break;
	case PROTO_START:
		m->u.start.visitor_id = rng();
		rand_str(m->u.start.peer, rand_len(0, PROTO_MAX_ADDR), 0);
		rand_str(m->u.start.dst, rand_len(0, PROTO_MAX_ADDR), 0);
		m->u.start.service = (uint8_t)rng_below(PROTO_MAX_SERVICES + 1);
		break;
	case PROTO_SERVICE:
		m->u.service.index = (uint8_t)(1 + rng_below(PROTO_MAX_SERVICES));
		m->u.service.flags = (uint8_t)(rng() & PROTO_SERVICE_PASSTHROUGH);
		rand_host(m->u.service.host, rand_len(1, PROTO_MAX_HOST));
		break;
	case PROTO_ROUTE:
		m->u.route.index = (uint8_t)(1 + rng_below(PROTO_MAX_SERVICES));
		m->u.route.ok = (uint8_t)(rng() & 1);
		m->u.route.http_port = (uint16_t)rng();
		m->u.route.https_port = (uint16_t)rng();
		rand_host(m->u.route.host, rand_len(0, PROTO_MAX_HOST));
		rand_str(m->u.route.reason, rand_len(0, PROTO_MAX_REASON), 0);
		break;
	case PROTO_STATUS:
		m->u.status.ok = (uint8_t)(rng() & 1);
		rand_str(m->u.status.reason, rand_len(0, PROTO_MAX_REASON), 0);
		break;
	case PROTO_WITHDRAW:
		m->u.withdraw.counter = rng();
		break;
	case PROTO_WITHDRAWN:
		m->u.withdraw.counter = rng();
		m->u.withdraw.taken = (uint8_t)(rng() & 1);
		break;
	case PROTO_REFRESH:
	case PROTO_ACCEPTED:
		break;
	}
}

static int
test_random_roundtrip(void)
{
	struct proto_msg m;
	int i;

	rng_state = 0x0123456789abcdefULL;
	for (i = 0; i < 1000; i++) {
		rand_msg(&m, all_types[rng_below(NTYPES)]);
		CHECK_FRAME(&m);
	}
	return TEST_PASS;
}

/* --- exact bytes -------------------------------------------------------- */

/* The worked example in docs/protocol.md; keep the two in step. */
static int
test_hello_known_bytes(void)
{
	static const uint8_t want[] = {
		0x01, 0x00, 0x1e,
		0x05, 'a', 'l', 'i', 'c', 'e',
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	};
	struct proto_msg m;
	uint8_t buf[PROTO_MAX_FRAME];
	size_t i;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	strcpy(m.u.hello.username, "alice");
	for (i = 0; i < PROTO_NONCE_LEN; i++)
		m.u.hello.nonce[i] = (uint8_t)i;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), sizeof(want));
	ASSERT_MEM_EQ(buf, want, sizeof(want));
	return TEST_PASS;
}

static int
test_big_endian_bytes(void)
{
	static const uint8_t ping[] = { 0x06, 0x00, 0x08,
	    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	static const uint8_t status[] = { 0x12, 0x00, 0x04, 0x00, 0x02,
	    'n', 'o' };
	struct proto_msg m;
	uint8_t buf[PROTO_MAX_FRAME];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_PING;
	m.u.ping.seq = 0x0102030405060708ULL;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), sizeof(ping));
	ASSERT_MEM_EQ(buf, ping, sizeof(ping));

	memset(&m, 0, sizeof(m));
	m.type = PROTO_WELCOME;
	m.u.welcome.pool_size = 0x0102;
	m.u.welcome.heartbeat_s = 0x0304;
	m.u.welcome.public_port = 0x0506;
	strcpy(m.u.welcome.public_addr, "x");
	len = proto_encode(&m, buf, sizeof(buf));
	ASSERT_EQ(len, PROTO_HDR_LEN + 32 + 16 + 6 + 2);
	ASSERT_EQ(buf[1], 0);
	ASSERT_EQ(buf[2], 56);
	ASSERT_EQ(buf[51], 0x01);
	ASSERT_EQ(buf[52], 0x02);
	ASSERT_EQ(buf[53], 0x03);
	ASSERT_EQ(buf[54], 0x04);
	ASSERT_EQ(buf[55], 0x05);
	ASSERT_EQ(buf[56], 0x06);
	ASSERT_EQ(buf[57], 1);
	ASSERT_EQ(buf[58], 'x');

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTER;
	m.u.reg.counter = 0x1122334455667788ULL;
	len = proto_encode(&m, buf, sizeof(buf));
	ASSERT_EQ(len, PROTO_HDR_LEN + 56);
	ASSERT_EQ(buf[PROTO_HDR_LEN + 16], 0x11);
	ASSERT_EQ(buf[PROTO_HDR_LEN + 23], 0x88);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATUS;
	strcpy(m.u.status.reason, "no");
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), sizeof(status));
	ASSERT_MEM_EQ(buf, status, sizeof(status));
	return TEST_PASS;
}

/* REFRESH and ACCEPTED are a bare header; any payload is malformed. */
static int
test_empty_frames(void)
{
	static const int types[] = { PROTO_REFRESH, PROTO_ACCEPTED };
	uint8_t buf[PROTO_HDR_LEN + 2] = { 0 };
	struct proto_msg m;
	size_t i, used;

	for (i = 0; i < 2; i++) {
		memset(&m, 0, sizeof(m));
		m.type = (enum proto_type)types[i];
		ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), PROTO_HDR_LEN);
		ASSERT_EQ(buf[0], types[i]);
		ASSERT_EQ(buf[1], 0);
		ASSERT_EQ(buf[2], 0);
		ASSERT_EQ(proto_encode(&m, buf, PROTO_HDR_LEN - 1), 0);
		ASSERT_EQ(proto_decode(buf, PROTO_HDR_LEN, &m, &used), PROTO_OK);
		ASSERT_EQ(used, PROTO_HDR_LEN);
		ASSERT_EQ(m.type, types[i]);
		buf[2] = 1;	/* one payload byte: no layout has it */
		ASSERT_EQ(proto_decode(buf, PROTO_HDR_LEN, &m, &used),
		    PROTO_ERR_MALFORMED);
		ASSERT_EQ(proto_decode(buf, sizeof(buf), &m, &used),
		    PROTO_ERR_MALFORMED);
	}
	return TEST_PASS;
}

/* --- streams ------------------------------------------------------------ */

static int
test_pipelined(void)
{
	uint8_t buf[NTYPES * 2 * PROTO_MAX_FRAME + PROTO_PREAMBLE_LEN];
	struct proto_msg sent[NTYPES * 2], got;
	size_t lens[NTYPES * 2], off, len, used, i;

	rng_state = 42;
	len = proto_preamble(buf, PROTO_TRANSPORT_PLAIN);
	for (i = 0; i < NTYPES * 2; i++) {
		rand_msg(&sent[i], all_types[i % NTYPES]);
		lens[i] = proto_encode(&sent[i], buf + len, PROTO_MAX_FRAME);
		ASSERT(lens[i] > 0);
		len += lens[i];
	}

	/* As the server sees it: preamble, then frames in one read. */
	ASSERT_EQ(proto_check_preamble(buf, len, NULL, NULL), PROTO_PRE_OK);
	off = PROTO_PREAMBLE_LEN;
	for (i = 0; i < NTYPES * 2; i++) {
		ASSERT_EQ(dec(buf + off, len - off, &got, &used), PROTO_OK);
		ASSERT_EQ(used, lens[i]);
		ASSERT(msg_eq(&sent[i], &got));
		off += used;
	}
	ASSERT_EQ(off, len);
	ASSERT_EQ(dec(buf + off, 0, &got, &used), PROTO_NEED_MORE);

	/* The tail of the stream cut anywhere inside the last frame. */
	off = len - lens[NTYPES * 2 - 1];
	for (i = 0; i < lens[NTYPES * 2 - 1]; i++)
		ASSERT_EQ(dec(buf + off, i, &got, &used), PROTO_NEED_MORE);

	/* Two frames back to back, decoded with the second one partial. */
	off = PROTO_PREAMBLE_LEN;
	ASSERT_EQ(dec(buf + off, lens[0] + 2, &got, &used), PROTO_OK);
	ASSERT_EQ(used, lens[0]);
	ASSERT_EQ(dec(buf + off + used, 2, &got, &used), PROTO_NEED_MORE);
	return TEST_PASS;
}

/* --- header-level errors ------------------------------------------------ */

static int
test_unknown_type(void)
{
	static const uint8_t bad[] = { 0x00, 0x0d, 0x0f, 0x14, 0x20,
	    0x7f, 0x80, 0x8e, 0xfe, 0xff };
	uint8_t buf[PROTO_HDR_LEN + 8] = { 0 };
	size_t i;
	int t, known, k;

	for (i = 0; i < sizeof(bad); i++) {
		buf[0] = bad[i];
		buf[1] = 0;
		buf[2] = 8;
		/* Fewer than 3 bytes is always NEED_MORE. */
		ASSERT_EQ(dec_r(buf, 1), PROTO_NEED_MORE);
		ASSERT_EQ(dec_r(buf, 2), PROTO_NEED_MORE);
		ASSERT_EQ(dec_r(buf, 3), PROTO_ERR_UNKNOWN_TYPE);
		ASSERT_EQ(dec_r(buf, sizeof(buf)), PROTO_ERR_UNKNOWN_TYPE);
		/* The type byte is judged before the length. */
		buf[1] = 0xff;
		buf[2] = 0xff;
		ASSERT_EQ(dec_r(buf, 3), PROTO_ERR_UNKNOWN_TYPE);
	}
	/* Exactly the enum's values are known. */
	for (t = 0; t <= 255; t++) {
		known = 0;
		for (k = 0; k < (int)NTYPES; k++)
			if (all_types[k] == t)
				known = 1;
		buf[0] = (uint8_t)t;
		buf[1] = 0;
		buf[2] = 0;
		if (known)
			ASSERT(dec_r(buf, 3) != PROTO_ERR_UNKNOWN_TYPE);
		else
			ASSERT_EQ(dec_r(buf, 3), PROTO_ERR_UNKNOWN_TYPE);
	}
	return TEST_PASS;
}

static int
test_too_long(void)
{
	static const size_t lens[] = { PROTO_MAX_PAYLOAD + 1, 0x0300,
	    0x8000, 0xffff };
	uint8_t buf[PROTO_HDR_LEN];
	size_t i, k;

	for (k = 0; k < NTYPES; k++) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			raw(buf, all_types[k], lens[i], NULL, 0);
			ASSERT_EQ(dec_r(buf, 3), PROTO_ERR_TOO_LONG);
			ASSERT_EQ(proto_frame_len(buf, 3), (size_t)-1);
		}
		/* At the maximum the header is fine; no layout is that big. */
		raw(buf, all_types[k], PROTO_MAX_PAYLOAD, NULL, 0);
		ASSERT_EQ(proto_frame_len(buf, 3), PROTO_MAX_FRAME);
		ASSERT_EQ(dec_r(buf, 3), PROTO_ERR_MALFORMED);
	}
	return TEST_PASS;
}

static int
test_frame_len(void)
{
	uint8_t buf[PROTO_HDR_LEN] = { PROTO_PING, 0, 8 };

	ASSERT_EQ(proto_frame_len(buf, 0), 0);
	ASSERT_EQ(proto_frame_len(buf, 1), 0);
	ASSERT_EQ(proto_frame_len(buf, 2), 0);
	ASSERT_EQ(proto_frame_len(buf, 3), 11);
	buf[1] = 0x01;
	buf[2] = 0x00;
	ASSERT_EQ(proto_frame_len(buf, 3), 3 + 256);
	buf[1] = 0x02;			/* 512: the largest allowed */
	buf[2] = 0x00;
	ASSERT_EQ(proto_frame_len(buf, 3), PROTO_MAX_FRAME);
	buf[2] = 0x01;			/* 513 */
	ASSERT_EQ(proto_frame_len(buf, 3), (size_t)-1);
	return TEST_PASS;
}

/*
 * A declared length that the type's layout can never have is rejected
 * from the header alone: no waiting for a payload that cannot be right.
 */
static int
test_impossible_length(void)
{
	static const struct {
		int	type;
		size_t	min, max;
	} t[] = {
		{ PROTO_HELLO, 26, 89 },	{ PROTO_CHALLENGE, 26, 153 },
		{ PROTO_PROOF, 32, 32 },	{ PROTO_WELCOME, 55, 135 },
		{ PROTO_FAIL, 2, 202 },		{ PROTO_PING, 8, 8 },
		{ PROTO_PONG, 8, 8 },		{ PROTO_REGISTER, 56, 56 },
		{ PROTO_START, 11, 171 },		{ PROTO_STATUS, 2, 202 },
		{ PROTO_SERVICE, 4, 256 },		{ PROTO_ROUTE, 8, 461 },
	};
	uint8_t buf[PROTO_HDR_LEN];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		raw(buf, t[i].type, 0, NULL, 0);
		ASSERT_EQ(dec_r(buf, 3), PROTO_ERR_MALFORMED);
		raw(buf, t[i].type, t[i].min - 1, NULL, 0);
		ASSERT_EQ(dec_r(buf, 3), PROTO_ERR_MALFORMED);
		raw(buf, t[i].type, t[i].min, NULL, 0);
		ASSERT_EQ(dec_r(buf, 3), PROTO_NEED_MORE);
		raw(buf, t[i].type, t[i].max, NULL, 0);
		ASSERT_EQ(dec_r(buf, 3), PROTO_NEED_MORE);
		raw(buf, t[i].type, t[i].max + 1, NULL, 0);
		ASSERT_EQ(dec_r(buf, 3), PROTO_ERR_MALFORMED);
	}
	return TEST_PASS;
}

/* --- payload-level errors ----------------------------------------------- */

static int
test_malformed_strings(void)
{
	uint8_t p[PROTO_MAX_PAYLOAD], f[PROTO_MAX_FRAME];
	size_t n;

	/* Empty username, padded so the length alone is plausible. */
	memset(p, 0x41, sizeof(p));
	p[0] = 0;
	n = raw_frame(f, PROTO_HELLO, p, 1 + 25);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	/* Empty setting, the same way. */
	n = raw_frame(f, PROTO_CHALLENGE, p, 1 + 25);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	/* Username longer than PROTO_MAX_USER, payload still in range. */
	memset(p, 'u', sizeof(p));
	p[0] = PROTO_MAX_USER + 1;
	n = raw_frame(f, PROTO_HELLO, p, 1 + PROTO_MAX_USER + 1 + 23);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	/* Setting longer than PROTO_MAX_SETTING. */
	p[0] = PROTO_MAX_SETTING + 1;
	n = raw_frame(f, PROTO_CHALLENGE, p, 1 + PROTO_MAX_SETTING + 1 + 23);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	/* String length overrunning the payload: HELLO says 10, has 5. */
	memset(p, 'a', sizeof(p));
	p[0] = 10;
	n = raw_frame(f, PROTO_HELLO, p, 1 + 5 + PROTO_NONCE_LEN);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	/* START's peer claims 50 bytes, 10 follow (and a dst length). */
	memset(p, 0, 8);
	p[8] = 50;
	memset(p + 9, 'p', 10);
	p[19] = 0;
	n = raw_frame(f, PROTO_START, p, 8 + 1 + 10 + 1);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	/* ... its dst claims 20 bytes, 5 follow. */
	p[8] = 3;
	p[12] = 20;
	memset(p + 13, 'd', 5);
	n = raw_frame(f, PROTO_START, p, 8 + 1 + 3 + 1 + 5);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	/* FAIL's reason claims 200 bytes, 1 follows. */
	p[0] = PROTO_FAIL_BUSY;
	p[1] = 200;
	p[2] = 'x';
	n = raw_frame(f, PROTO_FAIL, p, 3);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	/* STATUS reason length 255 (above PROTO_MAX_REASON). */
	memset(p, 'r', sizeof(p));
	p[0] = 0;
	p[1] = 255;
	n = raw_frame(f, PROTO_STATUS, p, 2 + 200);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	/* WELCOME public_addr length 81 with 81 bytes would be too long. */
	memset(p, 0, sizeof(p));
	p[54] = PROTO_MAX_ADDR + 1;
	memset(p + 55, 'a', PROTO_MAX_ADDR);
	n = raw_frame(f, PROTO_WELCOME, p, 55 + PROTO_MAX_ADDR);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	return TEST_PASS;
}

/* Encodes a valid message, then checks a mutated copy fails to decode. */
static int
check_mutation(const struct proto_msg *m, size_t at, uint8_t val)
{
	uint8_t f[PROTO_MAX_FRAME];
	size_t n;

	n = proto_encode(m, f, sizeof(f));
	ASSERT(n > at);
	ASSERT_EQ(dec_r(f, n), PROTO_OK);
	f[at] = val;
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	return TEST_PASS;
}

#define CHECK_MUTATION(m, at, val) \
	ASSERT_EQ(check_mutation((m), (at), (val)), TEST_PASS)

static int
test_nul_in_string(void)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	strcpy(m.u.hello.username, "abcd");
	CHECK_MUTATION(&m, PROTO_HDR_LEN + 1, 0);	/* first byte */
	CHECK_MUTATION(&m, PROTO_HDR_LEN + 3, 0);
	CHECK_MUTATION(&m, PROTO_HDR_LEN + 4, 0);	/* last byte */

	memset(&m, 0, sizeof(m));
	m.type = PROTO_CHALLENGE;
	strcpy(m.u.challenge.setting, "$y$j9T$abc");
	CHECK_MUTATION(&m, PROTO_HDR_LEN + 5, 0);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_WELCOME;
	strcpy(m.u.welcome.public_addr, "1.2.3.4:80");
	CHECK_MUTATION(&m, PROTO_HDR_LEN + 55 + 3, 0);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_FAIL;
	strcpy(m.u.fail.reason, "nope");
	CHECK_MUTATION(&m, PROTO_HDR_LEN + 2, 0);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_START;
	strcpy(m.u.start.peer, "[::1]:4");
	CHECK_MUTATION(&m, PROTO_HDR_LEN + 9 + 6, 0);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATUS;
	strcpy(m.u.status.reason, "refused");
	CHECK_MUTATION(&m, PROTO_HDR_LEN + 2 + 1, 0);
	return TEST_PASS;
}

static int
test_bad_setting_chars(void)
{
	static const uint8_t bad[] = { ' ', '\t', '\n', '\r', '*', ':', ';',
	    '_', '!', '"', '\\', '\'', '@', '[', '`', '{', '~', 0x01, 0x1b,
	    0x7f, 0x80, 0xc3, 0xff };
	struct proto_msg m;
	uint8_t buf[PROTO_MAX_FRAME];
	size_t i;
	int c, allowed;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_CHALLENGE;
	strcpy(m.u.challenge.setting, "$y$j9T$abc");
	for (i = 0; i < sizeof(bad); i++)
		CHECK_MUTATION(&m, PROTO_HDR_LEN + 4, bad[i]);

	/* Exactly [A-Za-z0-9./$=,-] is allowed, both ways. */
	for (c = 1; c <= 255; c++) {
		allowed = strchr(SETTING_CHARS, c) != NULL;
		m.u.challenge.setting[0] = (char)c;
		m.u.challenge.setting[1] = '\0';
		if (allowed) {
			CHECK_FRAME(&m);
		} else {
			ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
			m.u.challenge.setting[0] = 'a';
			CHECK_MUTATION(&m, PROTO_HDR_LEN + 1, (uint8_t)c);
		}
	}
	return TEST_PASS;
}

static int
test_status_ok_values(void)
{
	uint8_t p[2], f[PROTO_HDR_LEN + 2];
	struct proto_msg m;
	size_t used;
	int v;

	for (v = 0; v <= 255; v++) {
		p[0] = (uint8_t)v;
		p[1] = 0;
		raw_frame(f, PROTO_STATUS, p, 2);
		if (v <= 1) {
			ASSERT_EQ(dec(f, sizeof(f), &m, &used), PROTO_OK);
			ASSERT_EQ(m.type, PROTO_STATUS);
			ASSERT_EQ(m.u.status.ok, v);
			ASSERT_STR_EQ(m.u.status.reason, "");
		} else {
			ASSERT_EQ(dec_r(f, sizeof(f)), PROTO_ERR_MALFORMED);
		}
	}
	return TEST_PASS;
}

/*
 * SERVICE and ROUTE, byte for byte as docs/protocol.md 5.12 and 5.13 show
 * them; index 0, an index past 32, ok past 1 and a host with a byte no
 * DNS name has are all refused both ways.
 */
static int
test_service_route_bytes(void)
{
	static const uint8_t svc[] = { 0x0b, 0x00, 0x08, 0x01, 0x01, 0x05,
	    'a', 'l', 'i', 'c', 'e' };
	static const uint8_t route[] = { 0x0c, 0x00, 0x0f, 0x01, 0x01,
	    0x1f, 0x90, 0x00, 0x00, 0x07, 'a', '.', 't', '.', 't', 'e', 's',
	    0x00 };
	struct proto_msg m, d;
	uint8_t buf[PROTO_MAX_FRAME], f[PROTO_MAX_FRAME];
	size_t used, n;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_SERVICE;
	m.u.service.index = 1;
	m.u.service.flags = PROTO_SERVICE_PASSTHROUGH;
	strcpy(m.u.service.host, "alice");
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), sizeof(svc));
	ASSERT_MEM_EQ(buf, svc, sizeof(svc));
	m.u.service.flags = 2;		/* no such flag */
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	m.u.service.flags = 0;
	m.u.service.index = 0;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	m.u.service.index = PROTO_MAX_SERVICES + 1;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	m.u.service.index = 1;
	strcpy(m.u.service.host, "al_ce");
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	memcpy(f, svc, sizeof(svc));
	ASSERT_EQ(proto_decode(f, sizeof(svc), &d, &used), PROTO_OK);
	ASSERT_EQ(d.u.service.flags, PROTO_SERVICE_PASSTHROUGH);
	f[8] = '_';
	ASSERT_EQ(proto_decode(f, sizeof(svc), &d, &used),
	    PROTO_ERR_MALFORMED);
	f[8] = 'i';
	f[4] = 0x81;
	ASSERT_EQ(proto_decode(f, sizeof(svc), &d, &used),
	    PROTO_ERR_MALFORMED);
	f[4] = 0;
	f[3] = 0;
	ASSERT_EQ(proto_decode(f, sizeof(svc), &d, &used),
	    PROTO_ERR_MALFORMED);
	f[3] = 33;
	ASSERT_EQ(proto_decode(f, sizeof(svc), &d, &used),
	    PROTO_ERR_MALFORMED);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_ROUTE;
	m.u.route.index = 1;
	m.u.route.ok = 1;
	m.u.route.http_port = 8080;
	strcpy(m.u.route.host, "a.t.tes");
	n = proto_encode(&m, buf, sizeof(buf));
	ASSERT_EQ(n, sizeof(route));
	ASSERT_MEM_EQ(buf, route, sizeof(route));
	ASSERT_EQ(proto_decode(route, sizeof(route), &d, &used), PROTO_OK);
	ASSERT_EQ(d.u.route.http_port, 8080);
	ASSERT_STR_EQ(d.u.route.host, "a.t.tes");
	m.u.route.ok = 2;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	memcpy(f, route, sizeof(route));
	f[4] = 2;
	ASSERT_EQ(proto_decode(f, sizeof(route), &d, &used),
	    PROTO_ERR_MALFORMED);
	return TEST_PASS;
}

/* WITHDRAW: 8 bytes; WITHDRAWN: 9, taken 0 or 1 only; known bytes. */
static int
test_withdraw_bytes(void)
{
	static const uint8_t want[] = { 0x0a, 0x00, 0x09,
	    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x01 };
	uint8_t p[9], f[PROTO_HDR_LEN + 9], out[PROTO_MAX_FRAME];
	struct proto_msg m;
	size_t used;
	int v;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_WITHDRAWN;
	m.u.withdraw.counter = 0x0102030405060708ULL;
	m.u.withdraw.taken = 1;
	ASSERT_EQ(proto_encode(&m, out, sizeof(out)), sizeof(want));
	ASSERT(memcmp(out, want, sizeof(want)) == 0);
	m.u.withdraw.taken = 2;
	ASSERT_EQ(proto_encode(&m, out, sizeof(out)), 0);
	memset(p, 0, sizeof(p));
	for (v = 0; v <= 255; v++) {
		p[8] = (uint8_t)v;
		raw_frame(f, PROTO_WITHDRAWN, p, 9);
		if (v <= 1) {
			ASSERT_EQ(dec(f, sizeof(f), &m, &used), PROTO_OK);
			ASSERT_EQ(m.u.withdraw.taken, v);
		} else {
			ASSERT_EQ(dec_r(f, sizeof(f)), PROTO_ERR_MALFORMED);
		}
	}
	/* WITHDRAW has no verdict byte: 9 bytes are malformed. */
	raw_frame(f, PROTO_WITHDRAW, p, 9);
	ASSERT_EQ(dec_r(f, sizeof(f)), PROTO_ERR_MALFORMED);
	raw_frame(f, PROTO_WITHDRAW, p, 8);
	ASSERT_EQ(dec(f, PROTO_HDR_LEN + 8, &m, &used), PROTO_OK);
	ASSERT_EQ(m.type, PROTO_WITHDRAW);
	ASSERT_STR_EQ(proto_type_str(PROTO_WITHDRAW), "WITHDRAW");
	ASSERT_STR_EQ(proto_type_str(PROTO_WITHDRAWN), "WITHDRAWN");
	return TEST_PASS;
}

static int
test_trailing_bytes(void)
{
	uint8_t p[PROTO_MAX_PAYLOAD], f[PROTO_MAX_FRAME];
	size_t n;

	memset(p, 0, sizeof(p));
	/* Fixed layouts, one byte long and one byte short. */
	n = raw_frame(f, PROTO_PING, p, 9);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	n = raw_frame(f, PROTO_PONG, p, 7);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	n = raw_frame(f, PROTO_PROOF, p, 33);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	n = raw_frame(f, PROTO_PROOF, p, 31);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	n = raw_frame(f, PROTO_REGISTER, p, 57);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	/* Variable layouts: a valid payload plus one byte. */
	p[0] = 1;			/* STATUS ok, reason "" */
	p[1] = 0;
	n = raw_frame(f, PROTO_STATUS, p, 2);
	ASSERT_EQ(dec_r(f, n), PROTO_OK);
	p[2] = 'x';
	n = raw_frame(f, PROTO_STATUS, p, 3);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	memset(p, 0, sizeof(p));	/* START id 0, peer "", dst "", 0 */
	n = raw_frame(f, PROTO_START, p, 11);
	ASSERT_EQ(dec_r(f, n), PROTO_OK);
	n = raw_frame(f, PROTO_START, p, 12);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	/* Version 3's START (no service) is short now, version 2's more. */
	n = raw_frame(f, PROTO_START, p, 10);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	n = raw_frame(f, PROTO_START, p, 9);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	/* A service index past PROTO_MAX_SERVICES. */
	p[10] = PROTO_MAX_SERVICES + 1;
	n = raw_frame(f, PROTO_START, p, 11);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	p[10] = PROTO_MAX_SERVICES;
	n = raw_frame(f, PROTO_START, p, 11);
	ASSERT_EQ(dec_r(f, n), PROTO_OK);
	p[10] = 0;

	n = raw_frame(f, PROTO_FAIL, p, 2);	/* code 0, reason "" */
	ASSERT_EQ(dec_r(f, n), PROTO_OK);
	n = raw_frame(f, PROTO_FAIL, p, 3);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	n = raw_frame(f, PROTO_WELCOME, p, 55);	/* all zero, addr "" */
	ASSERT_EQ(dec_r(f, n), PROTO_OK);
	n = raw_frame(f, PROTO_WELCOME, p, 56);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);

	p[0] = 5;			/* HELLO "aaaaa" + nonce + 1 */
	memset(p + 1, 'a', 5);
	n = raw_frame(f, PROTO_HELLO, p, 1 + 5 + PROTO_NONCE_LEN);
	ASSERT_EQ(dec_r(f, n), PROTO_OK);
	n = raw_frame(f, PROTO_HELLO, p, 1 + 5 + PROTO_NONCE_LEN + 1);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	/* And one short: the nonce is cut. */
	n = raw_frame(f, PROTO_HELLO, p, 1 + 5 + PROTO_NONCE_LEN - 1);
	ASSERT_EQ(dec_r(f, n), PROTO_ERR_MALFORMED);
	return TEST_PASS;
}

/* --- encoder refusals --------------------------------------------------- */

static int
test_encode_refuses(void)
{
	struct proto_msg m;
	uint8_t buf[PROTO_MAX_FRAME + 64];

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);	/* empty */
	/* Unterminated: the whole field is non-NUL; must not overrun. */
	memset(m.u.hello.username, 'u', sizeof(m.u.hello.username));
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_CHALLENGE;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);	/* empty */
	memset(m.u.challenge.setting, 'a', sizeof(m.u.challenge.setting));
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	strcpy(m.u.challenge.setting, "$y$j9T$a b");
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	strcpy(m.u.challenge.setting, "$y$j9T$\n");
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_WELCOME;
	memset(m.u.welcome.public_addr, 'a', sizeof(m.u.welcome.public_addr));
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_FAIL;
	memset(m.u.fail.reason, 'r', sizeof(m.u.fail.reason));
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_START;
	memset(m.u.start.peer, 'p', sizeof(m.u.start.peer));
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATUS;
	memset(m.u.status.reason, 'r', sizeof(m.u.status.reason));
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATUS;
	m.u.status.ok = 2;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	m.u.status.ok = 0xff;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);

	/* Unknown types, whatever the union holds. */
	memset(&m, 0, sizeof(m));
	m.type = (enum proto_type)0;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	m.type = (enum proto_type)0x0b;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);
	m.type = (enum proto_type)0xff;
	ASSERT_EQ(proto_encode(&m, buf, sizeof(buf)), 0);

	/* Zero cap, even with no buffer at all. */
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PING;
	ASSERT_EQ(proto_encode(&m, NULL, 0), 0);
	ASSERT_EQ(proto_encode(&m, buf, PROTO_HDR_LEN + 7), 0);
	ASSERT_EQ(proto_encode(&m, buf, PROTO_HDR_LEN + 8), PROTO_HDR_LEN + 8);
	return TEST_PASS;
}

/* The longest frame each layout allows fits PROTO_MAX_FRAME. */
static int
test_max_sizes_fit(void)
{
	struct proto_msg m;
	uint8_t buf[PROTO_MAX_FRAME];
	size_t k, n;

	for (k = 0; k < NTYPES; k++) {
		memset(&m, 0, sizeof(m));
		m.type = (enum proto_type)all_types[k];
		switch (m.type) {
		case PROTO_HELLO:
			fill_str(m.u.hello.username, PROTO_MAX_USER, "u");
			break;
		case PROTO_CHALLENGE:
			fill_str(m.u.challenge.setting, PROTO_MAX_SETTING,
			    "s");
			break;
		case PROTO_WELCOME:
			fill_str(m.u.welcome.public_addr, PROTO_MAX_ADDR, "a");
			break;
		case PROTO_FAIL:
			fill_str(m.u.fail.reason, PROTO_MAX_REASON, "r");
			break;
		case PROTO_START:
			fill_str(m.u.start.peer, PROTO_MAX_ADDR, "p");
			break;
		case PROTO_STATUS:
			fill_str(m.u.status.reason, PROTO_MAX_REASON, "r");
			break;
		case PROTO_SERVICE:
			m.u.service.index = PROTO_MAX_SERVICES;
			fill_str(m.u.service.host, PROTO_MAX_HOST, "h");
			break;
		case PROTO_ROUTE:
			m.u.route.index = PROTO_MAX_SERVICES;
			fill_str(m.u.route.host, PROTO_MAX_HOST, "h");
			fill_str(m.u.route.reason, PROTO_MAX_REASON, "r");
			break;
		default:
			break;
		}
		n = proto_encode(&m, buf, sizeof(buf));
		ASSERT(n > 0);
		ASSERT(n <= PROTO_MAX_FRAME);
	}
	return TEST_PASS;
}

/* --- garbage ------------------------------------------------------------ */

/*
 * Checks one decode of arbitrary bytes against every promise of the
 * contract. Counts each verdict in seen[].
 */
static int
check_garbage(const uint8_t *buf, size_t len, size_t seen[5])
{
	uint8_t again[PROTO_MAX_FRAME];
	struct proto_msg m;
	size_t used, flen;
	int r;

	r = dec(buf, len, &m, &used);
	ASSERT(r >= PROTO_OK && r <= PROTO_ERR_MALFORMED);
	seen[r]++;
	flen = proto_frame_len(buf, len);
	switch (r) {
	case PROTO_OK:
		ASSERT(used >= PROTO_HDR_LEN && used <= len);
		ASSERT_EQ(used, flen);
		ASSERT_EQ(proto_encode(&m, again, sizeof(again)), used);
		ASSERT_MEM_EQ(again, buf, used);
		break;
	case PROTO_NEED_MORE:
		ASSERT(len < PROTO_HDR_LEN || (flen != (size_t)-1 &&
		    flen > len));
		break;
	case PROTO_ERR_TOO_LONG:
		ASSERT_EQ(flen, (size_t)-1);
		break;
	default:
		ASSERT(len >= PROTO_HDR_LEN);
		break;
	}
	return TEST_PASS;
}

static int
test_garbage(void)
{
	uint8_t buf[PROTO_MAX_FRAME + 64];
	struct proto_msg m;
	size_t seen[5] = { 0 }, len, k, nmut;
	uint64_t x;
	int i;

	rng_state = 0xdeadbeefcafef00dULL;

	/* Pure noise, with the header sometimes nudged towards validity. */
	for (i = 0; i < 3000; i++) {
		len = rng_below(sizeof(buf) + 1);
		rand_bytes(buf, len);
		x = rng();
		if (len >= PROTO_HDR_LEN && (x & 3) != 0) {
			buf[0] = (uint8_t)all_types[rng_below(NTYPES)];
			buf[1] = (x & 4) ? 0 : (uint8_t)(rng() & 1);
		}
		ASSERT_EQ(check_garbage(buf, len, seen), TEST_PASS);
	}

	/* Valid frames with a few bytes changed, cut or extended. */
	for (i = 0; i < 5000; i++) {
		rand_msg(&m, all_types[rng_below(NTYPES)]);
		len = proto_encode(&m, buf, sizeof(buf));
		ASSERT(len > 0);
		nmut = rng_below(4);
		for (k = 0; k < nmut; k++) {
			switch (rng_below(4)) {
			case 0:		/* flip one bit */
				buf[rng_below(len)] ^=
				    (uint8_t)(1u << rng_below(8));
				break;
			case 1:		/* set a byte, often a string length */
				buf[rng_below(len)] = (uint8_t)rng();
				break;
			case 2:		/* cut */
				len = rng_below(len + 1);
				break;
			default:	/* append */
				x = rng_below(sizeof(buf) - len + 1);
				rand_bytes(buf + len, x);
				len += x;
				break;
			}
			if (len == 0)
				break;
		}
		ASSERT_EQ(check_garbage(buf, len, seen), TEST_PASS);
	}

	/* Every verdict must actually have been exercised. */
	for (k = 0; k < 5; k++) {
		if (seen[k] == 0)
			fprintf(stderr, "verdict %s never seen\n",
			    proto_result_str((enum proto_result)k));
		ASSERT(seen[k] > 0);
	}
	ASSERT(seen[PROTO_OK] > 1000);
	return TEST_PASS;
}

/* --- strings for logs --------------------------------------------------- */

static int
test_str_functions(void)
{
	int i;

	ASSERT_STR_EQ(proto_fail_str(PROTO_FAIL_CREDENTIALS),
	    "bad credentials");
	ASSERT_STR_EQ(proto_fail_str(PROTO_FAIL_VERSION),
	    "protocol version not supported");
	ASSERT_STR_CONTAINS(proto_fail_str(PROTO_FAIL_BUSY), "busy");
	ASSERT_STR_CONTAINS(proto_fail_str(PROTO_FAIL_REPLACED), "replaced");
	ASSERT_STR_CONTAINS(proto_fail_str(PROTO_FAIL_SHUTDOWN), "shutting");
	ASSERT_STR_EQ(proto_fail_str(0), "unknown");
	ASSERT_STR_CONTAINS(proto_fail_str(PROTO_FAIL_TRANSPORT), "transport");
	ASSERT_STR_EQ(proto_fail_str(11), "unknown");
	ASSERT_STR_EQ(proto_fail_str(-1), "unknown");
	for (i = PROTO_FAIL_CREDENTIALS; i <= PROTO_FAIL_TRANSPORT; i++)
		ASSERT(strcmp(proto_fail_str(i), "unknown") != 0);

	ASSERT_STR_EQ(proto_type_str(PROTO_HELLO), "HELLO");
	ASSERT_STR_EQ(proto_type_str(PROTO_PONG), "PONG");
	ASSERT_STR_EQ(proto_type_str(PROTO_STATUS), "STATUS");
	ASSERT_STR_EQ(proto_type_str(0), "unknown");
	ASSERT_STR_EQ(proto_type_str(0x0d), "unknown");
	ASSERT_STR_EQ(proto_type_str(PROTO_SERVICE), "SERVICE");
	ASSERT_STR_EQ(proto_type_str(PROTO_ROUTE), "ROUTE");
	ASSERT_STR_EQ(proto_type_str(PROTO_ACCEPTED), "ACCEPTED");
	ASSERT_STR_EQ(proto_type_str(PROTO_REFRESH), "REFRESH");
	ASSERT_STR_EQ(proto_type_str(1000), "unknown");
	for (i = 0; i < (int)NTYPES; i++)
		ASSERT(strcmp(proto_type_str(all_types[i]), "unknown") != 0);

	ASSERT_STR_EQ(proto_result_str(PROTO_OK), "ok");
	ASSERT_STR_CONTAINS(proto_result_str(PROTO_ERR_TOO_LONG), "too long");
	ASSERT_STR_CONTAINS(proto_result_str(PROTO_ERR_UNKNOWN_TYPE),
	    "unknown");
	ASSERT_STR_CONTAINS(proto_result_str(PROTO_ERR_MALFORMED),
	    "malformed");
	ASSERT(proto_result_str(PROTO_NEED_MORE) != NULL);
	ASSERT_STR_EQ(proto_result_str((enum proto_result)99), "unknown");
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "proto_preamble_bytes", test_preamble_bytes },
	{ "proto_preamble_prefixes", test_preamble_prefixes },
	{ "proto_preamble_not_tunnel", test_preamble_not_tunnel },
	{ "proto_preamble_bad_version", test_preamble_bad_version },
	{ "proto_preamble_bad_transport", test_preamble_bad_transport },
	{ "proto_hello_roundtrip", test_hello_roundtrip },
	{ "proto_challenge_roundtrip", test_challenge_roundtrip },
	{ "proto_fixed_roundtrip", test_fixed_roundtrip },
	{ "proto_welcome_roundtrip", test_welcome_roundtrip },
	{ "proto_fail_roundtrip", test_fail_roundtrip },
	{ "proto_start_status_roundtrip", test_start_status_roundtrip },
	{ "proto_random_roundtrip", test_random_roundtrip },
	{ "proto_hello_known_bytes", test_hello_known_bytes },
	{ "proto_big_endian_bytes", test_big_endian_bytes },
	{ "proto_empty_frames", test_empty_frames },
	{ "proto_pipelined", test_pipelined },
	{ "proto_unknown_type", test_unknown_type },
	{ "proto_too_long", test_too_long },
	{ "proto_frame_len", test_frame_len },
	{ "proto_impossible_length", test_impossible_length },
	{ "proto_malformed_strings", test_malformed_strings },
	{ "proto_nul_in_string", test_nul_in_string },
	{ "proto_bad_setting_chars", test_bad_setting_chars },
	{ "proto_status_ok_values", test_status_ok_values },
	{ "proto_withdraw_bytes", test_withdraw_bytes },
	{ "proto_service_route_bytes", test_service_route_bytes },
	{ "proto_trailing_bytes", test_trailing_bytes },
	{ "proto_encode_refuses", test_encode_refuses },
	{ "proto_max_sizes_fit", test_max_sizes_fit },
	{ "proto_garbage", test_garbage },
	{ "proto_str_functions", test_str_functions },
};

TEST_MAIN(tests)
