/*
 * proto: encoder and incremental decoder for the tunnel's frames.
 *
 * Theory of operation. Nothing here touches a socket or allocates: the
 * caller reads bytes into its own bounded buffer and calls proto_decode()
 * until it returns PROTO_NEED_MORE, dropping *consumed bytes after each
 * PROTO_OK. Because a frame header is only 3 bytes, the decoder can judge
 * a frame before its payload arrives: an unknown type, a declared length
 * above PROTO_MAX_PAYLOAD, or a length that the type's layout can never
 * have is reported at once, so a hostile peer cannot make us wait for
 * bytes we would reject anyway.
 *
 * Each type has one exact layout (docs/protocol.md). Decoding walks the
 * payload with a bounds-checked cursor (struct proto_rd) that latches a
 * "bad" flag instead of reading past the end; the frame is accepted only
 * when the cursor ends exactly at the payload's end. Encoding mirrors it
 * with a cursor over the caller's buffer (struct proto_wr) and applies the
 * same string rules, so anything proto_encode() emits proto_decode()
 * accepts, and a decoded frame re-encodes to the very same bytes.
 */
#include <stdint.h>
#include <string.h>

#include "proto.h"

/* A string's length travels in one byte. */
_Static_assert(PROTO_MAX_USER <= 255 && PROTO_MAX_SETTING <= 255 &&
    PROTO_MAX_ADDR <= 255 && PROTO_MAX_REASON <= 255,
    "string maxima must fit the u8 length prefix");
/* The declared length travels in two bytes. */
_Static_assert(PROTO_MAX_PAYLOAD <= 0xffff, "payload length is a u16");
_Static_assert(sizeof(PROTO_MAGIC) - 1 == PROTO_MAGIC_LEN &&
    PROTO_PREAMBLE_LEN == PROTO_MAGIC_LEN + 2,
    "preamble = magic + version + transport");

/* Payload sizes, from the layouts in docs/protocol.md. */
#define PROTO_STR(max)		(1 + (max))	/* u8 length + bytes */
#define PROTO_HELLO_MIN		(PROTO_STR(1) + PROTO_NONCE_LEN)
#define PROTO_HELLO_MAX		(PROTO_STR(PROTO_MAX_USER) + PROTO_NONCE_LEN)
#define PROTO_CHALLENGE_MIN	(PROTO_STR(1) + PROTO_NONCE_LEN)
#define PROTO_CHALLENGE_MAX	(PROTO_STR(PROTO_MAX_SETTING) + PROTO_NONCE_LEN)
#define PROTO_PROOF_LEN		PROTO_KEY_LEN
#define PROTO_WELCOME_MIN	(PROTO_KEY_LEN + PROTO_SID_LEN + 3 * 2 + \
				    PROTO_STR(0))
#define PROTO_WELCOME_MAX	(PROTO_WELCOME_MIN + PROTO_MAX_ADDR)
#define PROTO_FAIL_MIN		(1 + PROTO_STR(0))
#define PROTO_FAIL_MAX		(1 + PROTO_STR(PROTO_MAX_REASON))
#define PROTO_PING_LEN		8
#define PROTO_WITHDRAW_LEN	8
#define PROTO_WITHDRAWN_LEN	9
#define PROTO_REGISTER_LEN	(PROTO_SID_LEN + 8 + PROTO_KEY_LEN)
#define PROTO_START_MIN		(8 + 2 * PROTO_STR(0) + 1)
#define PROTO_START_MAX		(8 + 2 * PROTO_STR(PROTO_MAX_ADDR) + 1)
#define PROTO_SERVICE_MIN	(2 + PROTO_STR(1))
#define PROTO_SERVICE_MAX	(2 + PROTO_STR(PROTO_MAX_HOST))
#define PROTO_ROUTE_MIN		(2 + 2 * 2 + 2 * PROTO_STR(0))
#define PROTO_ROUTE_MAX		(2 + 2 * 2 + PROTO_STR(PROTO_MAX_HOST) + \
				    PROTO_STR(PROTO_MAX_REASON))
#define PROTO_STATUS_MIN	(1 + PROTO_STR(0))
#define PROTO_STATUS_MAX	(1 + PROTO_STR(PROTO_MAX_REASON))

/* The largest layout must fit a frame, or encode could never succeed. */
_Static_assert(PROTO_HELLO_MAX <= PROTO_MAX_PAYLOAD &&
    PROTO_CHALLENGE_MAX <= PROTO_MAX_PAYLOAD &&
    PROTO_WELCOME_MAX <= PROTO_MAX_PAYLOAD &&
    PROTO_FAIL_MAX <= PROTO_MAX_PAYLOAD &&
    PROTO_REGISTER_LEN <= PROTO_MAX_PAYLOAD &&
    PROTO_START_MAX <= PROTO_MAX_PAYLOAD &&
    PROTO_SERVICE_MAX <= PROTO_MAX_PAYLOAD &&
    PROTO_ROUTE_MAX <= PROTO_MAX_PAYLOAD &&
    PROTO_STATUS_MAX <= PROTO_MAX_PAYLOAD, "a layout exceeds the maximum");

/* Bounds-checked read cursor over one payload. */
struct proto_rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 bad;		/* latched: a read overran or failed */
};

/* Bounds-checked write cursor over the caller's output buffer. */
struct proto_wr {
	uint8_t		*p;
	size_t		 cap;
	size_t		 off;
	int		 bad;		/* latched: overflow or invalid input */
};

/* Which bytes a string may hold; NUL is never one of them. */
typedef int (*proto_char_ok)(uint8_t);

static int
proto_char_any(uint8_t c)
{
	return c != '\0';
}

/*
 * crypt(3) settings use the crypt base64 alphabet ./0-9A-Za-z plus '$'
 * separators and "rounds=5000"- or "m=65536,t=2"-style parameters. Nothing
 * else is let through, so a setting can never smuggle control characters
 * into a log line or a terminal.
 */
static int
proto_char_setting(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '/' || c == '$' ||
	    c == '=' || c == ',' || c == '-';
}

/* A host name as a client may configure it: DNS letters, digits, '-', '.'. */
static int
proto_char_host(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/*
 * The payload length range each type's layout allows.
 * Return: 0, or -1 for a type that is not in enum proto_type.
 */
static int
proto_layout(int type, size_t *min, size_t *max)
{
	switch (type) {
	case PROTO_HELLO:
		*min = PROTO_HELLO_MIN;
		*max = PROTO_HELLO_MAX;
		return 0;
	case PROTO_CHALLENGE:
		*min = PROTO_CHALLENGE_MIN;
		*max = PROTO_CHALLENGE_MAX;
		return 0;
	case PROTO_PROOF:
		*min = *max = PROTO_PROOF_LEN;
		return 0;
	case PROTO_WELCOME:
		*min = PROTO_WELCOME_MIN;
		*max = PROTO_WELCOME_MAX;
		return 0;
	case PROTO_FAIL:
		*min = PROTO_FAIL_MIN;
		*max = PROTO_FAIL_MAX;
		return 0;
	case PROTO_PING:
	case PROTO_PONG:
		*min = *max = PROTO_PING_LEN;
		return 0;
	case PROTO_WITHDRAW:
		*min = *max = PROTO_WITHDRAW_LEN;
		return 0;
	case PROTO_WITHDRAWN:
		*min = *max = PROTO_WITHDRAWN_LEN;
		return 0;
	case PROTO_REFRESH:
	case PROTO_ACCEPTED:
		*min = *max = 0;
		return 0;
	case PROTO_REGISTER:
		*min = *max = PROTO_REGISTER_LEN;
		return 0;
	case PROTO_START:
		*min = PROTO_START_MIN;
		*max = PROTO_START_MAX;
		return 0;
	case PROTO_STATUS:
		*min = PROTO_STATUS_MIN;
		*max = PROTO_STATUS_MAX;
		return 0;
	case PROTO_SERVICE:
		*min = PROTO_SERVICE_MIN;
		*max = PROTO_SERVICE_MAX;
		return 0;
	case PROTO_ROUTE:
		*min = PROTO_ROUTE_MIN;
		*max = PROTO_ROUTE_MAX;
		return 0;
	}
	return -1;
}

/* Returns a pointer to the next n payload bytes, or NULL (and latches). */
static const uint8_t *
proto_get(struct proto_rd *r, size_t n)
{
	const uint8_t *q;

	if (r->bad || r->len - r->off < n) {
		r->bad = 1;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static void
proto_get_bytes(struct proto_rd *r, uint8_t *dst, size_t n)
{
	const uint8_t *q;

	if ((q = proto_get(r, n)) != NULL)
		memcpy(dst, q, n);
}

static uint8_t
proto_get_u8(struct proto_rd *r)
{
	const uint8_t *q;

	if ((q = proto_get(r, 1)) == NULL)
		return 0;
	return q[0];
}

static uint16_t
proto_get_u16(struct proto_rd *r)
{
	const uint8_t *q;

	if ((q = proto_get(r, 2)) == NULL)
		return 0;
	return (uint16_t)(q[0] << 8 | q[1]);
}

static uint64_t
proto_get_u64(struct proto_rd *r)
{
	const uint8_t *q;
	uint64_t v = 0;
	int i;

	if ((q = proto_get(r, 8)) == NULL)
		return 0;
	for (i = 0; i < 8; i++)
		v = v << 8 | q[i];
	return v;
}

/*
 * Reads a u8-length string of min..max bytes, each accepted by ok, into
 * dst (which has room for max + 1) and NUL-terminates it. dst is always
 * left a valid C string, even when the read fails.
 */
static void
proto_get_str(struct proto_rd *r, char *dst, size_t min, size_t max,
    proto_char_ok ok)
{
	const uint8_t *q;
	size_t n, i;

	dst[0] = '\0';
	n = proto_get_u8(r);
	if (r->bad || n < min || n > max) {
		r->bad = 1;
		return;
	}
	if ((q = proto_get(r, n)) == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (!ok(q[i])) {
			r->bad = 1;
			return;
		}
	}
	memcpy(dst, q, n);
	dst[n] = '\0';
}

static void
proto_put(struct proto_wr *w, const void *src, size_t n)
{
	if (w->bad || w->cap - w->off < n) {
		w->bad = 1;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->off, src, n);
	w->off += n;
}

static void
proto_put_u8(struct proto_wr *w, uint8_t v)
{
	proto_put(w, &v, 1);
}

static void
proto_put_u16(struct proto_wr *w, uint16_t v)
{
	uint8_t b[2];

	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
	proto_put(w, b, sizeof(b));
}

static void
proto_put_u64(struct proto_wr *w, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	proto_put(w, b, sizeof(b));
}

/*
 * Writes the C string s, held in a field of max + 1 bytes, as a u8-length
 * string. The scan for its NUL stays inside the field, so an unterminated
 * field is refused rather than overrun. The same rules as proto_get_str()
 * apply: what we send, we would accept.
 */
static void
proto_put_str(struct proto_wr *w, const char *s, size_t min, size_t max,
    proto_char_ok ok)
{
	const char *nul;
	size_t n, i;

	if ((nul = memchr(s, '\0', max + 1)) == NULL) {
		w->bad = 1;
		return;
	}
	n = (size_t)(nul - s);
	if (n < min || n > max) {
		w->bad = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		if (!ok((uint8_t)s[i])) {
			w->bad = 1;
			return;
		}
	}
	proto_put_u8(w, (uint8_t)n);
	proto_put(w, s, n);
}

size_t
proto_preamble(uint8_t out[PROTO_PREAMBLE_LEN], int transport)
{
	memcpy(out, PROTO_MAGIC, PROTO_MAGIC_LEN);
	out[PROTO_MAGIC_LEN] = PROTO_VERSION;
	out[PROTO_MAGIC_LEN + 1] = (uint8_t)transport;
	return PROTO_PREAMBLE_LEN;
}

enum proto_preamble_result
proto_check_preamble(const uint8_t *buf, size_t len, uint8_t *version,
    int *transport)
{
	size_t n;

	/*
	 * Judge on whatever has arrived: a visitor is told apart from the
	 * first byte, and need not send five bytes before we route it.
	 */
	n = len < PROTO_MAGIC_LEN ? len : PROTO_MAGIC_LEN;
	if (n > 0 && memcmp(buf, PROTO_MAGIC, n) != 0)
		return PROTO_PRE_NOT_TUNNEL;
	if (len < PROTO_MAGIC_LEN + 1)
		return PROTO_PRE_NEED_MORE;
	if (version != NULL)
		*version = buf[PROTO_MAGIC_LEN];
	if (buf[PROTO_MAGIC_LEN] != PROTO_VERSION)
		return PROTO_PRE_BAD_VERSION;
	if (len < PROTO_PREAMBLE_LEN)
		return PROTO_PRE_NEED_MORE;
	if (buf[PROTO_MAGIC_LEN + 1] != PROTO_TRANSPORT_PLAIN &&
	    buf[PROTO_MAGIC_LEN + 1] != PROTO_TRANSPORT_TLS)
		return PROTO_PRE_BAD_TRANSPORT;
	if (transport != NULL)
		*transport = buf[PROTO_MAGIC_LEN + 1];
	return PROTO_PRE_OK;
}

size_t
proto_encode(const struct proto_msg *m, uint8_t *out, size_t cap)
{
	struct proto_wr w = { out, cap, 0, 0 };
	uint8_t hdr[PROTO_HDR_LEN] = { 0 };
	size_t plen;

	/* Room for the header first; its length is patched in at the end. */
	proto_put(&w, hdr, sizeof(hdr));

	switch (m->type) {
	case PROTO_HELLO:
		proto_put_str(&w, m->u.hello.username, 1, PROTO_MAX_USER,
		    proto_char_any);
		proto_put(&w, m->u.hello.nonce, PROTO_NONCE_LEN);
		break;
	case PROTO_CHALLENGE:
		proto_put_str(&w, m->u.challenge.setting, 1,
		    PROTO_MAX_SETTING, proto_char_setting);
		proto_put(&w, m->u.challenge.nonce, PROTO_NONCE_LEN);
		break;
	case PROTO_PROOF:
		proto_put(&w, m->u.proof.proof, PROTO_KEY_LEN);
		break;
	case PROTO_WELCOME:
		proto_put(&w, m->u.welcome.signature, PROTO_KEY_LEN);
		proto_put(&w, m->u.welcome.session_id, PROTO_SID_LEN);
		proto_put_u16(&w, m->u.welcome.pool_size);
		proto_put_u16(&w, m->u.welcome.heartbeat_s);
		proto_put_u16(&w, m->u.welcome.public_port);
		proto_put_str(&w, m->u.welcome.public_addr, 0, PROTO_MAX_ADDR,
		    proto_char_any);
		break;
	case PROTO_FAIL:
		proto_put_u8(&w, m->u.fail.code);
		proto_put_str(&w, m->u.fail.reason, 0, PROTO_MAX_REASON,
		    proto_char_any);
		break;
	case PROTO_PING:
	case PROTO_PONG:
		proto_put_u64(&w, m->u.ping.seq);
		break;
	case PROTO_WITHDRAW:
		proto_put_u64(&w, m->u.withdraw.counter);
		break;
	case PROTO_WITHDRAWN:
		if (m->u.withdraw.taken > 1)
			return 0;
		proto_put_u64(&w, m->u.withdraw.counter);
		proto_put_u8(&w, m->u.withdraw.taken);
		break;
	case PROTO_REGISTER:
		proto_put(&w, m->u.reg.session_id, PROTO_SID_LEN);
		proto_put_u64(&w, m->u.reg.counter);
		proto_put(&w, m->u.reg.mac, PROTO_KEY_LEN);
		break;
	case PROTO_START:
		proto_put_u64(&w, m->u.start.visitor_id);
		proto_put_str(&w, m->u.start.peer, 0, PROTO_MAX_ADDR,
		    proto_char_any);
		proto_put_str(&w, m->u.start.dst, 0, PROTO_MAX_ADDR,
		    proto_char_any);
		if (m->u.start.service > PROTO_MAX_SERVICES)
			return 0;
		proto_put_u8(&w, m->u.start.service);
		break;
	case PROTO_SERVICE:
		if (m->u.service.index == 0 ||
		    m->u.service.index > PROTO_MAX_SERVICES)
			return 0;
		if (m->u.service.flags & ~PROTO_SERVICE_PASSTHROUGH)
			return 0;
		proto_put_u8(&w, m->u.service.index);
		proto_put_u8(&w, m->u.service.flags);
		proto_put_str(&w, m->u.service.host, 1, PROTO_MAX_HOST,
		    proto_char_host);
		break;
	case PROTO_ROUTE:
		if (m->u.route.index == 0 ||
		    m->u.route.index > PROTO_MAX_SERVICES || m->u.route.ok > 1)
			return 0;
		proto_put_u8(&w, m->u.route.index);
		proto_put_u8(&w, m->u.route.ok);
		proto_put_u16(&w, m->u.route.http_port);
		proto_put_u16(&w, m->u.route.https_port);
		proto_put_str(&w, m->u.route.host, 0, PROTO_MAX_HOST,
		    proto_char_host);
		proto_put_str(&w, m->u.route.reason, 0, PROTO_MAX_REASON,
		    proto_char_any);
		break;
	case PROTO_REFRESH:
	case PROTO_ACCEPTED:
		break;		/* no payload */
	case PROTO_STATUS:
		/* Only 0 and 1 decode; anything else would be a lie. */
		if (m->u.status.ok > 1)
			return 0;
		proto_put_u8(&w, m->u.status.ok);
		proto_put_str(&w, m->u.status.reason, 0, PROTO_MAX_REASON,
		    proto_char_any);
		break;
	default:
		return 0;
	}
	if (w.bad)
		return 0;

	plen = w.off - PROTO_HDR_LEN;
	out[0] = (uint8_t)m->type;
	out[1] = (uint8_t)(plen >> 8);
	out[2] = (uint8_t)plen;
	return w.off;
}

size_t
proto_frame_len(const uint8_t *buf, size_t len)
{
	size_t plen;

	if (len < PROTO_HDR_LEN)
		return 0;
	plen = (size_t)buf[1] << 8 | buf[2];
	if (plen > PROTO_MAX_PAYLOAD)
		return (size_t)-1;
	return PROTO_HDR_LEN + plen;
}

enum proto_result
proto_decode(const uint8_t *buf, size_t len, struct proto_msg *m,
    size_t *consumed)
{
	struct proto_rd r;
	size_t plen, min, max;

	*consumed = 0;
	if (len < PROTO_HDR_LEN)
		return PROTO_NEED_MORE;

	/*
	 * Judge the header before waiting for the payload: none of these
	 * can be fixed by more bytes. The type byte comes first on the
	 * wire, so an unknown type wins over a bad length.
	 */
	if (proto_layout(buf[0], &min, &max) == -1)
		return PROTO_ERR_UNKNOWN_TYPE;
	plen = (size_t)buf[1] << 8 | buf[2];
	if (plen > PROTO_MAX_PAYLOAD)
		return PROTO_ERR_TOO_LONG;
	if (plen < min || plen > max)
		return PROTO_ERR_MALFORMED;
	if (len - PROTO_HDR_LEN < plen)
		return PROTO_NEED_MORE;

	r.p = buf + PROTO_HDR_LEN;
	r.len = plen;
	r.off = 0;
	r.bad = 0;
	m->type = (enum proto_type)buf[0];

	switch (m->type) {
	case PROTO_HELLO:
		proto_get_str(&r, m->u.hello.username, 1, PROTO_MAX_USER,
		    proto_char_any);
		proto_get_bytes(&r, m->u.hello.nonce, PROTO_NONCE_LEN);
		break;
	case PROTO_CHALLENGE:
		proto_get_str(&r, m->u.challenge.setting, 1,
		    PROTO_MAX_SETTING, proto_char_setting);
		proto_get_bytes(&r, m->u.challenge.nonce, PROTO_NONCE_LEN);
		break;
	case PROTO_PROOF:
		proto_get_bytes(&r, m->u.proof.proof, PROTO_KEY_LEN);
		break;
	case PROTO_WELCOME:
		proto_get_bytes(&r, m->u.welcome.signature, PROTO_KEY_LEN);
		proto_get_bytes(&r, m->u.welcome.session_id, PROTO_SID_LEN);
		m->u.welcome.pool_size = proto_get_u16(&r);
		m->u.welcome.heartbeat_s = proto_get_u16(&r);
		m->u.welcome.public_port = proto_get_u16(&r);
		proto_get_str(&r, m->u.welcome.public_addr, 0, PROTO_MAX_ADDR,
		    proto_char_any);
		break;
	case PROTO_FAIL:
		/* Any code: a newer peer may know reasons we do not. */
		m->u.fail.code = proto_get_u8(&r);
		proto_get_str(&r, m->u.fail.reason, 0, PROTO_MAX_REASON,
		    proto_char_any);
		break;
	case PROTO_PING:
	case PROTO_PONG:
		m->u.ping.seq = proto_get_u64(&r);
		break;
	case PROTO_WITHDRAW:
		m->u.withdraw.counter = proto_get_u64(&r);
		m->u.withdraw.taken = 0;
		break;
	case PROTO_WITHDRAWN:
		m->u.withdraw.counter = proto_get_u64(&r);
		m->u.withdraw.taken = proto_get_u8(&r);
		if (m->u.withdraw.taken > 1)
			r.bad = 1;
		break;
	case PROTO_REGISTER:
		proto_get_bytes(&r, m->u.reg.session_id, PROTO_SID_LEN);
		m->u.reg.counter = proto_get_u64(&r);
		proto_get_bytes(&r, m->u.reg.mac, PROTO_KEY_LEN);
		break;
	case PROTO_START:
		m->u.start.visitor_id = proto_get_u64(&r);
		proto_get_str(&r, m->u.start.peer, 0, PROTO_MAX_ADDR,
		    proto_char_any);
		proto_get_str(&r, m->u.start.dst, 0, PROTO_MAX_ADDR,
		    proto_char_any);
		m->u.start.service = proto_get_u8(&r);
		if (m->u.start.service > PROTO_MAX_SERVICES)
			r.bad = 1;
		break;
	case PROTO_SERVICE:
		m->u.service.index = proto_get_u8(&r);
		if (m->u.service.index == 0 ||
		    m->u.service.index > PROTO_MAX_SERVICES)
			r.bad = 1;
		m->u.service.flags = proto_get_u8(&r);
		if (m->u.service.flags & ~PROTO_SERVICE_PASSTHROUGH)
			r.bad = 1;
		proto_get_str(&r, m->u.service.host, 1, PROTO_MAX_HOST,
		    proto_char_host);
		break;
	case PROTO_ROUTE:
		m->u.route.index = proto_get_u8(&r);
		m->u.route.ok = proto_get_u8(&r);
		if (m->u.route.index == 0 ||
		    m->u.route.index > PROTO_MAX_SERVICES || m->u.route.ok > 1)
			r.bad = 1;
		m->u.route.http_port = proto_get_u16(&r);
		m->u.route.https_port = proto_get_u16(&r);
		proto_get_str(&r, m->u.route.host, 0, PROTO_MAX_HOST,
		    proto_char_host);
		proto_get_str(&r, m->u.route.reason, 0, PROTO_MAX_REASON,
		    proto_char_any);
		break;
	case PROTO_REFRESH:
	case PROTO_ACCEPTED:
		break;
	case PROTO_STATUS:
		m->u.status.ok = proto_get_u8(&r);
		if (m->u.status.ok > 1)
			r.bad = 1;
		proto_get_str(&r, m->u.status.reason, 0, PROTO_MAX_REASON,
		    proto_char_any);
		break;
	}

	/* Short reads latch bad; leftover bytes are just as malformed. */
	if (r.bad || r.off != r.len)
		return PROTO_ERR_MALFORMED;
	*consumed = PROTO_HDR_LEN + plen;
	return PROTO_OK;
}

const char *
proto_result_str(enum proto_result r)
{
	switch (r) {
	case PROTO_OK:
		return "ok";
	case PROTO_NEED_MORE:
		return "incomplete frame";
	case PROTO_ERR_TOO_LONG:
		return "frame too long";
	case PROTO_ERR_UNKNOWN_TYPE:
		return "unknown frame type";
	case PROTO_ERR_MALFORMED:
		return "malformed frame";
	}
	return "unknown";
}

const char *
proto_type_str(int type)
{
	switch (type) {
	case PROTO_HELLO:
		return "HELLO";
	case PROTO_CHALLENGE:
		return "CHALLENGE";
	case PROTO_PROOF:
		return "PROOF";
	case PROTO_WELCOME:
		return "WELCOME";
	case PROTO_FAIL:
		return "FAIL";
	case PROTO_PING:
		return "PING";
	case PROTO_PONG:
		return "PONG";
	case PROTO_REGISTER:
		return "REGISTER";
	case PROTO_START:
		return "START";
	case PROTO_STATUS:
		return "STATUS";
	case PROTO_REFRESH:
		return "REFRESH";
	case PROTO_ACCEPTED:
		return "ACCEPTED";
	case PROTO_WITHDRAW:
		return "WITHDRAW";
	case PROTO_WITHDRAWN:
		return "WITHDRAWN";
	case PROTO_SERVICE:
		return "SERVICE";
	case PROTO_ROUTE:
		return "ROUTE";
	}
	return "unknown";
}

const char *
proto_fail_str(int code)
{
	switch (code) {
	case PROTO_FAIL_CREDENTIALS:
		return "bad credentials";
	case PROTO_FAIL_VERSION:
		return "protocol version not supported";
	case PROTO_FAIL_BUSY:
		return "server busy, try again later";
	case PROTO_FAIL_PROTOCOL:
		return "protocol error";
	case PROTO_FAIL_REPLACED:
		return "replaced by a newer login of the same user";
	case PROTO_FAIL_SESSION:
		return "no such session";
	case PROTO_FAIL_POOL_FULL:
		return "proxy pool full";
	case PROTO_FAIL_SHUTDOWN:
		return "server shutting down";
	case PROTO_FAIL_SERVER:
		return "server signature wrong";
	case PROTO_FAIL_TRANSPORT:
		return "transport (tls or plain) not spoken";
	}
	return "unknown";
}
