/*
 * libFuzzer harness for the frame codec (src/proto.c).
 *
 * The input is a byte stream as a receiver would buffer it:
 *
 * 1. proto_check_preamble() on every prefix of the first bytes: the
 *    verdicts must be consistent (NOT_TUNNEL is final, a prefix of the
 *    magic waits, the version byte is reported), and a stream that starts
 *    with our preamble is decoded after it.
 * 2. proto_decode() in a loop, dropping *consumed after each PROTO_OK,
 *    until NEED_MORE or an error (every error is final). For every frame
 *    decoded: *consumed is the header plus the declared length, agrees
 *    with proto_frame_len(), every strict prefix of the frame is
 *    NEED_MORE (or the same early verdict), and proto_encode() of the
 *    message gives back exactly the consumed bytes (and refuses a buffer
 *    one byte short). Any mismatch aborts.
 * 3. The encoder on its own: the input's bytes are poured into a struct
 *    proto_msg (unterminated strings, bad setting characters, STATUS ok
 *    values above 1 ...). When proto_encode() accepts it, the frame must
 *    decode, to the same fields, and re-encode to the same bytes.
 *
 * Slices are decoded from the fuzzer's own buffer (its end is the end of
 * the heap block) or from exact-size heap copies, so ASan sees any read
 * past len.
 *
 * Build: make fuzz (clang -fsanitize=fuzzer,address,undefined).
 * Replay: build/test_fuzz_replay (tests/unit/test_fuzz_replay.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Payload length range of each type, copied from docs/protocol.md section
 * 7 (not from src/proto.c, so the two are checked against each other).
 * Return: 0, or -1 for an unknown type.
 */
static int
fp_range(int type, size_t *min, size_t *max)
{
	static const struct {
		int	 type;
		size_t	 min, max;
	} t[] = {
		{ PROTO_HELLO, 26, 89 }, { PROTO_CHALLENGE, 26, 153 },
		{ PROTO_PROOF, 32, 32 }, { PROTO_WELCOME, 55, 135 },
		{ PROTO_FAIL, 2, 202 }, { PROTO_PING, 8, 8 },
		{ PROTO_PONG, 8, 8 }, { PROTO_REGISTER, 56, 56 },
		{ PROTO_START, 11, 171 }, { PROTO_STATUS, 2, 202 },
		{ PROTO_SERVICE, 4, 256 }, { PROTO_ROUTE, 8, 461 },
		{ PROTO_REFRESH, 0, 0 }, { PROTO_ACCEPTED, 0, 0 },
		{ PROTO_WITHDRAW, 8, 8 }, { PROTO_WITHDRAWN, 9, 9 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].type == type) {
			*min = t[i].min;
			*max = t[i].max;
			return 0;
		}
	}
	return -1;
}

/* Decodes from an exact-size heap copy of buf[0..len). */
static enum proto_result
fp_decode_copy(const uint8_t *buf, size_t len, struct proto_msg *m,
    size_t *consumed)
{
	enum proto_result r;
	uint8_t *copy;

	if ((copy = malloc(len ? len : 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(copy, buf, len);
	r = proto_decode(copy, len, m, consumed);
	free(copy);
	return r;
}

/* True when the NUL-terminated field s (max + 1 bytes) holds only ok
 * characters, as the decoder promises. */
static int
fp_str_ok(const char *s, size_t min, size_t max, int setting)
{
	const char *nul = memchr(s, '\0', max + 1);
	size_t n, i;

	if (nul == NULL)
		return 0;
	n = (size_t)(nul - s);
	if (n < min || n > max)
		return 0;
	for (i = 0; setting && i < n; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789./$=,-", s[i]) == NULL)
			return 0;
	return 1;
}

/* The decoder's guarantees about the strings of a decoded message. */
static void
fp_check_fields(const struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_HELLO:
		FUZZ_CHECK(fp_str_ok(m->u.hello.username, 1, PROTO_MAX_USER,
		    0));
		break;
	case PROTO_CHALLENGE:
		FUZZ_CHECK(fp_str_ok(m->u.challenge.setting, 1,
		    PROTO_MAX_SETTING, 1));
		break;
	case PROTO_WELCOME:
		FUZZ_CHECK(fp_str_ok(m->u.welcome.public_addr, 0,
		    PROTO_MAX_ADDR, 0));
		break;
	case PROTO_FAIL:
		FUZZ_CHECK(fp_str_ok(m->u.fail.reason, 0, PROTO_MAX_REASON,
		    0));
		FUZZ_CHECK(proto_fail_str(m->u.fail.code) != NULL);
		break;
	case PROTO_START:
		FUZZ_CHECK(fp_str_ok(m->u.start.peer, 0, PROTO_MAX_ADDR, 0));
		FUZZ_CHECK(fp_str_ok(m->u.start.dst, 0, PROTO_MAX_ADDR, 0));
		FUZZ_CHECK(m->u.start.service <= PROTO_MAX_SERVICES);
		break;
	case PROTO_SERVICE:
		FUZZ_CHECK(m->u.service.index >= 1 &&
		    m->u.service.index <= PROTO_MAX_SERVICES);
		FUZZ_CHECK((m->u.service.flags & ~PROTO_SERVICE_PASSTHROUGH) ==
		    0);
		FUZZ_CHECK(fp_str_ok(m->u.service.host, 1, PROTO_MAX_HOST, 0));
		FUZZ_CHECK(strspn(m->u.service.host, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
		    strlen(m->u.service.host));
		break;
	case PROTO_ROUTE:
		FUZZ_CHECK(m->u.route.index >= 1 &&
		    m->u.route.index <= PROTO_MAX_SERVICES);
		FUZZ_CHECK(m->u.route.ok <= 1);
		FUZZ_CHECK(fp_str_ok(m->u.route.host, 0, PROTO_MAX_HOST, 0));
		FUZZ_CHECK(fp_str_ok(m->u.route.reason, 0, PROTO_MAX_REASON,
		    0));
		break;
	case PROTO_STATUS:
		FUZZ_CHECK(m->u.status.ok <= 1);
		FUZZ_CHECK(fp_str_ok(m->u.status.reason, 0, PROTO_MAX_REASON,
		    0));
		break;
	case PROTO_WITHDRAW:
	case PROTO_WITHDRAWN:
		FUZZ_CHECK(m->u.withdraw.taken <= 1);
		break;
	case PROTO_PROOF:
	case PROTO_PING:
	case PROTO_PONG:
	case PROTO_REGISTER:
	case PROTO_REFRESH:
	case PROTO_ACCEPTED:
		break;
	default:
		FUZZ_CHECK(!"decoded an unknown type");
	}
	FUZZ_CHECK(strcmp(proto_type_str(m->type), "unknown") != 0);
}

/* Two messages of the same type carry the same fields. */
static int
fp_msg_eq(const struct proto_msg *a, const struct proto_msg *b)
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

/* Step 1. Return: where the frames start (after a good preamble). */
static size_t
fp_preamble(const uint8_t *data, size_t size)
{
	enum proto_preamble_result r, prev = PROTO_PRE_NEED_MORE;
	uint8_t version, pre[PROTO_PREAMBLE_LEN], *copy;
	int transport;
	size_t k, lim = size < PROTO_PREAMBLE_LEN + 2 ? size :
	    PROTO_PREAMBLE_LEN + 2;

	FUZZ_CHECK(proto_preamble(pre, PROTO_TRANSPORT_PLAIN) ==
	    PROTO_PREAMBLE_LEN);
	FUZZ_CHECK(proto_check_preamble(pre, sizeof(pre), NULL, NULL) ==
	    PROTO_PRE_OK);
	for (k = 0; k <= lim; k++) {
		/* An exact-size copy, so a look past k bytes is caught. */
		if ((copy = malloc(k ? k : 1)) == NULL)
			abort();
		if (k > 0)
			memcpy(copy, data, k);
		version = 0xaa;
		transport = -1;
		r = proto_check_preamble(copy, k, &version, &transport);
		free(copy);
		/* A judgement, once made, never changes with more bytes. */
		if (prev == PROTO_PRE_NOT_TUNNEL)
			FUZZ_CHECK(r == PROTO_PRE_NOT_TUNNEL);
		if (prev == PROTO_PRE_OK || prev == PROTO_PRE_BAD_VERSION ||
		    prev == PROTO_PRE_BAD_TRANSPORT)
			FUZZ_CHECK(r == prev);
		switch (r) {
		case PROTO_PRE_NEED_MORE:
			FUZZ_CHECK(k < PROTO_PREAMBLE_LEN);
			FUZZ_CHECK(transport == -1);
			FUZZ_CHECK(memcmp(data, PROTO_MAGIC,
			    k < PROTO_MAGIC_LEN ? k : PROTO_MAGIC_LEN) == 0);
			break;
		case PROTO_PRE_NOT_TUNNEL:
			FUZZ_CHECK(k > 0 && memcmp(data, PROTO_MAGIC,
			    k < PROTO_MAGIC_LEN ? k : PROTO_MAGIC_LEN) != 0);
			break;
		case PROTO_PRE_BAD_VERSION:
			/* Told at 5 bytes: an old client's HELLO follows. */
			FUZZ_CHECK(k >= PROTO_MAGIC_LEN + 1);
			FUZZ_CHECK(version == data[PROTO_MAGIC_LEN]);
			FUZZ_CHECK(data[PROTO_MAGIC_LEN] != PROTO_VERSION);
			break;
		case PROTO_PRE_OK:
		case PROTO_PRE_BAD_TRANSPORT:
			FUZZ_CHECK(k >= PROTO_PREAMBLE_LEN);
			FUZZ_CHECK(version == data[PROTO_MAGIC_LEN]);
			FUZZ_CHECK(data[PROTO_MAGIC_LEN] == PROTO_VERSION);
			FUZZ_CHECK((r == PROTO_PRE_OK) ==
			    (data[PROTO_MAGIC_LEN + 1] == PROTO_TRANSPORT_PLAIN ||
			    data[PROTO_MAGIC_LEN + 1] == PROTO_TRANSPORT_TLS));
			FUZZ_CHECK(r != PROTO_PRE_OK ||
			    transport == data[PROTO_MAGIC_LEN + 1]);
			break;
		default:
			FUZZ_CHECK(!"unknown preamble verdict");
		}
		prev = r;
	}
	return prev == PROTO_PRE_OK ? PROTO_PREAMBLE_LEN : 0;
}

/* Checks one PROTO_OK frame at buf[0..consumed). */
static void
fp_check_frame(const uint8_t *buf, size_t avail, const struct proto_msg *m,
    size_t consumed)
{
	uint8_t out[PROTO_MAX_FRAME + 16];
	struct proto_msg m2;
	size_t n, k, used;
	enum proto_result r;

	FUZZ_CHECK(consumed >= PROTO_HDR_LEN && consumed <= avail);
	FUZZ_CHECK(consumed <= PROTO_MAX_FRAME);
	FUZZ_CHECK(consumed == PROTO_HDR_LEN +
	    ((size_t)buf[1] << 8 | buf[2]));
	FUZZ_CHECK(proto_frame_len(buf, avail) == consumed);
	FUZZ_CHECK((int)m->type == buf[0]);
	fp_check_fields(m);

	/* Re-encoding gives the very bytes that were consumed. */
	memset(out, 0xee, sizeof(out));
	n = proto_encode(m, out, sizeof(out));
	if (n != consumed || memcmp(out, buf, consumed) != 0) {
		(void)fprintf(stderr, "re-encode of %s: %zu bytes, consumed "
		    "%zu\n", proto_type_str(m->type), n, consumed);
		FUZZ_CHECK(!"re-encoded frame differs from the input");
	}
	/* Exactly enough room works; one byte less is refused. */
	FUZZ_CHECK(proto_encode(m, out, consumed) == consumed);
	FUZZ_CHECK(proto_encode(m, out, consumed - 1) == 0);

	/* The frame alone decodes the same, from an exact copy. */
	used = 777;
	FUZZ_CHECK(fp_decode_copy(buf, consumed, &m2, &used) == PROTO_OK);
	FUZZ_CHECK(used == consumed && fp_msg_eq(m, &m2));

	/* Every strict prefix waits for more; a few from exact copies. */
	for (k = 0; k < consumed; k++) {
		used = 777;
		if (k <= PROTO_HDR_LEN + 1 || k + 1 == consumed)
			r = fp_decode_copy(buf, k, &m2, &used);
		else
			r = proto_decode(buf, k, &m2, &used);
		FUZZ_CHECK(r == PROTO_NEED_MORE && used == 0);
		FUZZ_CHECK(proto_frame_len(buf, k) ==
		    (k < PROTO_HDR_LEN ? 0 : consumed));
	}
}

/* Step 2: the receive loop. */
static void
fp_stream(const uint8_t *buf, size_t len)
{
	struct proto_msg m;
	enum proto_result r;
	size_t used, flen, min = 0, max = 0, plen;
	int known, inrange;

	for (;;) {
		used = 12345;
		r = proto_decode(buf, len, &m, &used);
		(void)proto_result_str(r);
		/* The verdict the header alone implies (section 3). */
		known = len >= PROTO_HDR_LEN && fp_range(buf[0], &min, &max) ==
		    0;
		plen = len >= PROTO_HDR_LEN ? (size_t)buf[1] << 8 | buf[2] : 0;
		inrange = known && plen >= min && plen <= max;
		if (r != PROTO_OK) {
			FUZZ_CHECK(used == 0);
			flen = proto_frame_len(buf, len);
			switch (r) {
			case PROTO_NEED_MORE:
				FUZZ_CHECK(len < PROTO_HDR_LEN ||
				    (inrange && flen > len));
				break;
			case PROTO_ERR_UNKNOWN_TYPE:
				FUZZ_CHECK(len >= PROTO_HDR_LEN && !known);
				FUZZ_CHECK(strcmp(proto_type_str(buf[0]),
				    "unknown") == 0);
				break;
			case PROTO_ERR_TOO_LONG:
				FUZZ_CHECK(known && flen == (size_t)-1 &&
				    plen > PROTO_MAX_PAYLOAD);
				break;
			case PROTO_ERR_MALFORMED:
				/* Out of range: at once; else once all is in. */
				FUZZ_CHECK(known && plen <= PROTO_MAX_PAYLOAD);
				FUZZ_CHECK(!inrange || flen <= len);
				break;
			default:
				FUZZ_CHECK(!"unknown decode verdict");
			}
			return;
		}
		FUZZ_CHECK(inrange);
		fp_check_frame(buf, len, &m, used);
		buf += used;
		len -= used;
	}
}

/* Step 3: whatever the encoder accepts decodes back to the same. */
static void
fp_encoder(const uint8_t *data, size_t size)
{
	static const int types[] = {
		PROTO_HELLO, PROTO_CHALLENGE, PROTO_PROOF, PROTO_WELCOME,
		PROTO_FAIL, PROTO_PING, PROTO_PONG, PROTO_REGISTER,
		PROTO_START, PROTO_STATUS, PROTO_REFRESH, PROTO_ACCEPTED,
		PROTO_WITHDRAW, PROTO_WITHDRAWN, 0x00, 0x14,
	};
	uint8_t out[PROTO_MAX_FRAME], out2[PROTO_MAX_FRAME];
	struct proto_msg m, m2;
	size_t n, n2, used, take;

	if (size == 0)
		return;
	memset(&m, 0, sizeof(m));
	m.type = (enum proto_type)types[data[size - 1] % (sizeof(types) /
	    sizeof(types[0]))];
	take = size - 1 < sizeof(m.u) ? size - 1 : sizeof(m.u);
	memcpy(&m.u, data, take);
	n = proto_encode(&m, out, sizeof(out));
	if (n == 0)
		return;
	FUZZ_CHECK(n >= PROTO_HDR_LEN && n <= PROTO_MAX_FRAME);
	FUZZ_CHECK(proto_frame_len(out, n) == n);
	used = 777;
	FUZZ_CHECK(fp_decode_copy(out, n, &m2, &used) == PROTO_OK);
	FUZZ_CHECK(used == n);
	FUZZ_CHECK(fp_msg_eq(&m, &m2));
	n2 = proto_encode(&m2, out2, sizeof(out2));
	FUZZ_CHECK(n2 == n && memcmp(out, out2, n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off;

	off = fp_preamble(data, size);
	fp_stream(data + off, size - off);
	fp_encoder(data, size);
	return 0;
}
