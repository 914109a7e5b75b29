/*
 * libFuzzer harness for the login messages: src/proto.c's decoder feeding
 * src/auth.c the way src/server_conn.c, src/server_session.c and
 * src/client.c do.
 *
 * The input is what arrives on a connection: the 5-byte preamble (a
 * stream that is not ours, or of another version, ends there, as on the
 * server), then frames, decoded until NEED_MORE or an error. Each frame is
 * handled by type whatever the state, so the fuzzer need not learn the
 * order first (the real peers refuse out-of-state frames before any of
 * this code runs):
 *
 * server side (a server with one user, FL_USER, see fuzz_common.h)
 *   HELLO     known user: its setting; unknown user: auth_fake_setting()
 *             over a template picked from a fixed list of families. The
 *             fake setting must be made, be deterministic, be as long
 *             as its template and fit a CHALLENGE. Then the AuthMessage
 *             (auth_message, exact length) with the fixed server nonce.
 *   PROOF     auth_verify_proof() against the user's fixed keys: it must
 *             succeed exactly when the proof is the one the real client
 *             would compute (gen_seeds writes one; the fuzzer cannot
 *             forge one), and then yield the ClientKey; on failure the
 *             key comes back zeroed. Success makes the session key and
 *             a WELCOME, which must encode.
 *   REGISTER  auth_proxy_mac() under the session key (a fixed key before
 *             any login) and the constant-time compare, which must agree
 *             with memcmp.
 * client side (logged in as FL_USER with the fixed client nonce)
 *   CHALLENGE the setting goes through the checks that run no crypt(3):
 *             auth_looks_like_hash() and auth_fake_setting() with the
 *             setting as template (whose output must again fit a
 *             CHALLENGE). crypt(3) is NOT called on fuzzed settings: a
 *             "$2b$31$" or "$6$rounds=999999999$" setting takes minutes.
 *             The SaltedPassword is FL_SALTED for FL_SETTING and a fixed
 *             stand-in otherwise; then keys, AuthMessage, PROOF.
 *   WELCOME   the signature check (must hold exactly for the server's
 *             real signature) and the client's pool/heartbeat range
 *             checks and address formatting.
 *   FAIL, PING/PONG, START, STATUS: the small things the peers do with
 *             them (fail text, PONG reply, frame length for START).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "fuzz_common.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Settings of each family as auth_setting_from_hash() would extract them
 * from a real hash; the server uses its first user's setting as the fake
 * template, so any of them can be the template in production.
 */
static const char *const fl_templates[] = {
	FL_SETTING,
	"$gy$j9T$F5Jx5fExrKuPp53xLKQ..1",
	"$2b$10$abcdefghijklmnopqrstuu",
	"$2y$05$ABCDEFGHIJKLMNOPQRSTUO",
	"$7$CU..../....abcdefghijklmnopqrstuv",
	"$6$saltsaltsaltsalt",
	"$6$rounds=10000$saltsaltsaltsalt",
	"$5$rounds=5000$toolongsaltstrin",
	"$1$saltsalt",
	"$sha1$40000$abcdefgh$",
	"$md5,rounds=1000$abcdefgh$",
	"$md5$abcdefgh$",
};
#define FL_NTEMPLATES	(sizeof(fl_templates) / sizeof(fl_templates[0]))

/* Login material derived once (HMACs only). */
static struct {
	int		 ready;
	uint8_t		 secret[PROTO_KEY_LEN];
	uint8_t		 cnonce[PROTO_NONCE_LEN];
	uint8_t		 snonce[PROTO_NONCE_LEN];
	uint8_t		 sid[PROTO_SID_LEN];
	uint8_t		 client_key[PROTO_KEY_LEN];
	struct auth_keys keys;		/* the user's StoredKey, ServerKey */
} fl;

/* Per-input state of the two pretend peers. */
struct fl_state {
	/* server */
	int		 have_am;
	int		 known;		/* HELLO named FL_USER */
	uint8_t		 am[AUTH_AM_MAX];
	size_t		 amlen;
	int		 logged_in;
	uint8_t		 skey[PROTO_KEY_LEN];
	/* client */
	int		 c_have_am;
	uint8_t		 c_am[AUTH_AM_MAX];
	size_t		 c_amlen;
	uint8_t		 c_ck[PROTO_KEY_LEN];
	struct auth_keys c_keys;
};

static void
fl_init(void)
{
	static const uint8_t secret[PROTO_KEY_LEN] = FL_SECRET_INIT;
	static const uint8_t cn[PROTO_NONCE_LEN] = FL_CNONCE_INIT;
	static const uint8_t sn[PROTO_NONCE_LEN] = FL_SNONCE_INIT;
	static const uint8_t sid[PROTO_SID_LEN] = FL_SID_INIT;
	char out[PROTO_MAX_SETTING + 1];
	size_t i;

	if (fl.ready)
		return;
	memcpy(fl.secret, secret, sizeof(secret));
	memcpy(fl.cnonce, cn, sizeof(cn));
	memcpy(fl.snonce, sn, sizeof(sn));
	memcpy(fl.sid, sid, sizeof(sid));
	auth_derive_keys(FL_SALTED, fl.client_key, &fl.keys);
	/* A template the harness cannot use is the harness's own bug. */
	for (i = 0; i < FL_NTEMPLATES; i++) {
		if (auth_fake_setting(fl.secret, fl_templates[i], FL_USER, out,
		    sizeof(out)) != 0) {
			(void)fprintf(stderr, "fuzz_login: template %s "
			    "refused\n", fl_templates[i]);
			abort();
		}
	}
	fl.ready = 1;
}

/* A setting must go out in a CHALLENGE and come back unchanged. */
static void
fl_check_challenge(const char *setting, const uint8_t *nonce)
{
	uint8_t out[PROTO_MAX_FRAME];
	struct proto_msg m, back;
	size_t n, used;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_CHALLENGE;
	FUZZ_CHECK(strlen(setting) < sizeof(m.u.challenge.setting));
	memcpy(m.u.challenge.setting, setting, strlen(setting) + 1);
	memcpy(m.u.challenge.nonce, nonce, PROTO_NONCE_LEN);
	n = proto_encode(&m, out, sizeof(out));
	if (n == 0)
		(void)fprintf(stderr, "setting \"%s\" does not encode\n",
		    setting);
	FUZZ_CHECK(n != 0);
	FUZZ_CHECK(proto_decode(out, n, &back, &used) == PROTO_OK &&
	    used == n);
	FUZZ_CHECK(strcmp(back.u.challenge.setting, setting) == 0);
}

/* auth_fake_setting() with a template: 0, deterministic, sendable. */
static int
fl_fake(const char *template, const char *username, char *out, size_t len)
{
	char again[PROTO_MAX_SETTING + 1];
	int r;

	r = auth_fake_setting(fl.secret, template, username, out, len);
	if (r != 0)
		return r;
	FUZZ_CHECK(auth_fake_setting(fl.secret, template, username, again,
	    sizeof(again)) == 0 && strcmp(out, again) == 0);
	FUZZ_CHECK(auth_looks_like_hash(out));
	fl_check_challenge(out, fl.snonce);
	return 0;
}

static size_t
fl_message(uint8_t *am, const char *username, const uint8_t *cnonce,
    const uint8_t *snonce, const char *setting)
{
	size_t n;

	/* transport: plain, as the fuzzed stream's preamble says: no binding. */
	n = auth_message(am, AUTH_AM_MAX, username, cnonce, snonce, setting,
	    NULL, 0);
	/* Both strings are within their protocol maxima: it always fits. */
	FUZZ_CHECK(n == 15 + 1 + strlen(username) + 2 * PROTO_NONCE_LEN + 1 +
	    strlen(setting) + 1);
	FUZZ_CHECK(am[15] == strlen(username));
	return n;
}

static void
fl_server_hello(struct fl_state *st, const struct proto_hello *h)
{
	char setting[PROTO_MAX_SETTING + 1];
	const char *template;
	size_t ulen = strlen(h->username);

	st->known = strcmp(h->username, FL_USER) == 0;
	if (st->known) {
		memcpy(setting, FL_SETTING, sizeof(FL_SETTING));
	} else {
		/* Same family as a real user, whatever the name. */
		template = fl_templates[(ulen + (uint8_t)h->username[0]) %
		    FL_NTEMPLATES];
		FUZZ_CHECK(fl_fake(template, h->username, setting,
		    sizeof(setting)) == 0);
		/* Shaped like the template: its salt length too. */
		FUZZ_CHECK(strlen(setting) == strlen(template));
		/* A name never gets the real user's salt. */
		FUZZ_CHECK(strcmp(setting, FL_SETTING) != 0);
	}
	fl_check_challenge(setting, fl.snonce);
	st->amlen = fl_message(st->am, h->username, h->nonce, fl.snonce,
	    setting);
	st->have_am = 1;
	st->logged_in = 0;
}

static void
fl_server_proof(struct fl_state *st, const struct proto_proof *p)
{
	uint8_t expect[PROTO_KEY_LEN], ck[PROTO_KEY_LEN], zero[PROTO_KEY_LEN];
	uint8_t out[PROTO_MAX_FRAME];
	struct proto_msg m;
	int ok, right;

	if (!st->have_am)
		return;		/* the server: FAIL protocol */
	memset(zero, 0, sizeof(zero));
	memset(ck, 0xa5, sizeof(ck));
	/* An unknown user is checked against users[0], and always fails. */
	ok = auth_verify_proof(&fl.keys, st->am, st->amlen, p->proof, ck);
	auth_client_proof(fl.client_key, &fl.keys, st->am, st->amlen, expect);
	right = memcmp(expect, p->proof, PROTO_KEY_LEN) == 0;
	FUZZ_CHECK((ok == 0) == right);
	if (ok != 0) {
		FUZZ_CHECK(memcmp(ck, zero, sizeof(ck)) == 0);
		st->logged_in = 0;
		return;
	}
	FUZZ_CHECK(memcmp(ck, fl.client_key, sizeof(ck)) == 0);
	if (!st->known)
		return;		/* the server ignores the verdict */
	/* srv_session_new(): session key, then WELCOME. */
	auth_session_key(ck, st->am, st->amlen, st->skey);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_WELCOME;
	auth_server_signature(&fl.keys, st->am, st->amlen,
	    m.u.welcome.signature);
	memcpy(m.u.welcome.session_id, fl.sid, PROTO_SID_LEN);
	m.u.welcome.pool_size = FL_POOL;
	m.u.welcome.heartbeat_s = FL_HEARTBEAT;
	m.u.welcome.public_port = FL_PORT;
	memcpy(m.u.welcome.public_addr, FL_ADDR, sizeof(FL_ADDR));
	FUZZ_CHECK(proto_encode(&m, out, sizeof(out)) != 0);
	st->logged_in = 1;
	auth_wipe(ck, sizeof(ck));
}

static void
fl_server_register(struct fl_state *st, const struct proto_register *r)
{
	static const uint8_t nokey[PROTO_KEY_LEN] = { 0x6e, 0x6f, 0x6b };
	uint8_t mac[PROTO_KEY_LEN], next[PROTO_KEY_LEN];
	const uint8_t *key = st->logged_in ? st->skey : nokey;
	int mac_ok, sid_ok;

	/* srv_session_register(): find the session, check the MAC. */
	sid_ok = auth_ct_equal(fl.sid, r->session_id, PROTO_SID_LEN);
	FUZZ_CHECK(sid_ok == (memcmp(fl.sid, r->session_id,
	    PROTO_SID_LEN) == 0));
	auth_proxy_mac(key, r->session_id, r->counter, NULL, 0, mac);
	mac_ok = auth_ct_equal(mac, r->mac, sizeof(mac));
	FUZZ_CHECK(mac_ok == (memcmp(mac, r->mac, sizeof(mac)) == 0));
	if (!(st->logged_in && sid_ok && mac_ok))
		return;		/* FAIL session */
	/* Accepted: the same MAC never serves the next counter. */
	auth_proxy_mac(key, r->session_id, r->counter + 1, NULL, 0, next);
	FUZZ_CHECK(memcmp(mac, next, sizeof(mac)) != 0);
}

static void
fl_client_challenge(struct fl_state *st, const struct proto_challenge *ch)
{
	char fake[PROTO_MAX_SETTING + 1];
	uint8_t out[PROTO_MAX_FRAME];
	struct proto_msg m;
	const char *salted;
	char stand_in[PROTO_MAX_SETTING + 64];

	/* Checks that cost no crypt(3); the fuzzed setting as template. */
	(void)auth_looks_like_hash(ch->setting);
	if (fl_fake(ch->setting, FL_USER, fake, sizeof(fake)) == 0)
		FUZZ_CHECK(auth_looks_like_hash(ch->setting));

	/*
	 * The client would run crypt(password, setting) here; the harness
	 * takes a stand-in so a costly setting cannot stall it.
	 */
	if (strcmp(ch->setting, FL_SETTING) == 0) {
		salted = FL_SALTED;
	} else {
		(void)snprintf(stand_in, sizeof(stand_in), "%s$standin",
		    ch->setting);
		salted = stand_in;
	}
	auth_derive_keys(salted, st->c_ck, &st->c_keys);
	st->c_amlen = fl_message(st->c_am, FL_USER, fl.cnonce, ch->nonce,
	    ch->setting);
	st->c_have_am = 1;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PROOF;
	auth_client_proof(st->c_ck, &st->c_keys, st->c_am, st->c_amlen,
	    m.u.proof.proof);
	FUZZ_CHECK(proto_encode(&m, out, sizeof(out)) ==
	    PROTO_HDR_LEN + PROTO_KEY_LEN);
}

static void
fl_client_welcome(struct fl_state *st, const struct proto_welcome *w)
{
	uint8_t sig[PROTO_KEY_LEN], skey[PROTO_KEY_LEN], mac[PROTO_KEY_LEN];
	char addr[PROTO_MAX_ADDR * 4 + 1];
	int ok;

	if (!st->c_have_am)
		return;		/* the client: protocol error */
	auth_server_signature(&st->c_keys, st->c_am, st->c_amlen, sig);
	ok = auth_ct_equal(sig, w->signature, sizeof(sig));
	FUZZ_CHECK(ok == (memcmp(sig, w->signature, sizeof(sig)) == 0));
	if (!ok)
		return;		/* refuses the server */
	if (w->pool_size == 0 || w->pool_size > PROTO_MAX_POOL) {
		(void)snprintf(addr, sizeof(addr), "the server asked for a "
		    "pool of %u connections (allowed 1..%d)", w->pool_size,
		    PROTO_MAX_POOL);
		return;
	}
	if (w->heartbeat_s == 0 || w->heartbeat_s > 3600)
		return;
	auth_session_key(st->c_ck, st->c_am, st->c_amlen, skey);
	(void)snprintf(addr, sizeof(addr), "%s:%u", "server.example",
	    w->public_port);
	/* The first proxy connection's REGISTER. */
	auth_proxy_mac(skey, w->session_id, 1, NULL, 0, mac);
	auth_wipe(skey, sizeof(skey));
}

static void
fl_other(const struct proto_msg *m, const uint8_t *frame, size_t flen)
{
	uint8_t out[PROTO_MAX_FRAME];
	struct proto_msg pong;

	switch (m->type) {
	case PROTO_FAIL:
		FUZZ_CHECK(proto_fail_str(m->u.fail.code) != NULL);
		FUZZ_CHECK(strlen(m->u.fail.reason) <= PROTO_MAX_REASON);
		break;
	case PROTO_PING:
		memset(&pong, 0, sizeof(pong));
		pong.type = PROTO_PONG;
		pong.u.ping.seq = m->u.ping.seq;
		FUZZ_CHECK(proto_encode(&pong, out, sizeof(out)) ==
		    PROTO_HDR_LEN + 8);
		break;
	case PROTO_START:
		/* The client reads exactly this frame, by its header. */
		FUZZ_CHECK(proto_frame_len(frame, PROTO_HDR_LEN) == flen);
		FUZZ_CHECK(strlen(m->u.start.peer) <= PROTO_MAX_ADDR);
		break;
	case PROTO_STATUS:
		FUZZ_CHECK(m->u.status.ok <= 1);
		FUZZ_CHECK(proto_frame_len(frame, PROTO_HDR_LEN) == flen);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_state st;
	struct proto_msg m;
	size_t off, used;
	enum proto_result r;

	fl_init();
	if (proto_check_preamble(data, size, NULL, NULL) != PROTO_PRE_OK)
		return 0;	/* a visitor, a FAIL version, or too short */
	memset(&st, 0, sizeof(st));
	for (off = PROTO_PREAMBLE_LEN; off < size; off += used) {
		r = proto_decode(data + off, size - off, &m, &used);
		if (r != PROTO_OK)
			break;
		switch (m.type) {
		case PROTO_HELLO:
			fl_server_hello(&st, &m.u.hello);
			break;
		case PROTO_PROOF:
			fl_server_proof(&st, &m.u.proof);
			break;
		case PROTO_REGISTER:
			fl_server_register(&st, &m.u.reg);
			break;
		case PROTO_CHALLENGE:
			fl_client_challenge(&st, &m.u.challenge);
			break;
		case PROTO_WELCOME:
			fl_client_welcome(&st, &m.u.welcome);
			break;
		default:
			fl_other(&m, data + off, used);
			break;
		}
	}
	auth_wipe(&st, sizeof(st));
	return 0;
}
