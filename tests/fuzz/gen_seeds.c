/*
 * Writes the seed inputs of fuzz_proto and fuzz_login:
 *
 *   gen_seeds OUTDIR   -> OUTDIR/fuzz_{proto,login,config}/seed-*
 *
 * fuzz_proto: every frame type at its shortest and longest payload,
 * known bytes from docs/protocol.md, pipelined streams with and without
 * the preamble, a preamble of another version, a public visitor's bytes,
 * and one frame of each error class.
 *
 * fuzz_login: real logins under the fixed material of fuzz_common.h, so
 * the fuzzer starts past the checks it could never pass by itself: a
 * server-side login (HELLO, the right PROOF, REGISTERs with right MACs),
 * an unknown user, a wrong proof, and a client-side CHALLENGE + WELCOME
 * with the right signature (and with out-of-range pool and heartbeat),
 * plus a CHALLENGE per crypt family.
 *
 * fuzz_config: a file per error class of the loader and per password
 * kind (real md5crypt, sha256/512crypt and bcrypt-04 hashes, whole and
 * cut short); `make fuzz` adds the repository's config files.
 *
 * Deterministic: the same files every run. `make fuzz` writes them to
 * build-fuzz/seeds.PID/ and fuzzes from there and from tests/fuzz/corpus/.
 * Built from src/proto.c and src/auth.c; crypt(3) runs only for the four
 * config hashes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "fuzz_common.h"
#include "proto.h"

struct buf {
	uint8_t	 p[8192];
	size_t	 len;
};

static const char *outdir;
static const uint8_t g_cnonce[PROTO_NONCE_LEN] = FL_CNONCE_INIT;
static const uint8_t g_snonce[PROTO_NONCE_LEN] = FL_SNONCE_INIT;
static const uint8_t g_sid[PROTO_SID_LEN] = FL_SID_INIT;

static void
mkdir_p(const char *path)
{
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
}

static void
save(const char *harness, const char *name, const struct buf *b)
{
	char path[1024];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s/seed-%s", outdir, harness,
	    name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(b->p, 1, b->len, f) != b->len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
add(struct buf *b, const void *p, size_t n)
{
	if (n > sizeof(b->p) - b->len) {
		(void)fprintf(stderr, "gen_seeds: buffer full\n");
		exit(1);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
add_preamble(struct buf *b)
{
	uint8_t pre[PROTO_PREAMBLE_LEN];

	add(b, pre, proto_preamble(pre, PROTO_TRANSPORT_PLAIN));
}

static void
add_msg(struct buf *b, const struct proto_msg *m)
{
	uint8_t out[PROTO_MAX_FRAME];
	size_t n;

	if ((n = proto_encode(m, out, sizeof(out))) == 0) {
		(void)fprintf(stderr, "gen_seeds: cannot encode a %s\n",
		    proto_type_str(m->type));
		exit(1);
	}
	add(b, out, n);
}

static void
fill(uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 13 * i);
}

/* A string of n bytes from alphabet into dst. */
static void
fill_str(char *dst, size_t n, const char *alphabet)
{
	size_t i, k = strlen(alphabet);

	for (i = 0; i < n; i++)
		dst[i] = alphabet[i % k];
	dst[n] = '\0';
}

#define SETTING_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./$=,-"
#define ANY_CHARS	"x\x01\xff\x1b[31m\x7f\xc3\xa9 :[]%s\n"

/* One message of type t, with its strings at length n (clamped). */
static void
make_msg(struct proto_msg *m, int t, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->type = (enum proto_type)t;
	switch (t) {
	case PROTO_HELLO:
		fill_str(m->u.hello.username, n < 1 ? 1 : n > PROTO_MAX_USER ?
		    PROTO_MAX_USER : n, ANY_CHARS);
		fill(m->u.hello.nonce, PROTO_NONCE_LEN, 1);
		break;
	case PROTO_CHALLENGE:
		fill_str(m->u.challenge.setting, n < 1 ? 1 :
		    n > PROTO_MAX_SETTING ? PROTO_MAX_SETTING : n,
		    SETTING_CHARS);
		fill(m->u.challenge.nonce, PROTO_NONCE_LEN, 2);
		break;
	case PROTO_PROOF:
		fill(m->u.proof.proof, PROTO_KEY_LEN, 3);
		break;
	case PROTO_WELCOME:
		fill(m->u.welcome.signature, PROTO_KEY_LEN, 4);
		fill(m->u.welcome.session_id, PROTO_SID_LEN, 5);
		m->u.welcome.pool_size = 20;
		m->u.welcome.heartbeat_s = 15;
		m->u.welcome.public_port = 3339;
		fill_str(m->u.welcome.public_addr, n > PROTO_MAX_ADDR ?
		    PROTO_MAX_ADDR : n, "[2001:db8::1]:3339");
		break;
	case PROTO_FAIL:
		m->u.fail.code = (uint8_t)(n % 11);
		fill_str(m->u.fail.reason, n > PROTO_MAX_REASON ?
		    PROTO_MAX_REASON : n, ANY_CHARS);
		break;
	case PROTO_PING:
	case PROTO_PONG:
		m->u.ping.seq = 0x0102030405060708ull * (n + 1);
		break;
	case PROTO_REGISTER:
		fill(m->u.reg.session_id, PROTO_SID_LEN, 6);
		m->u.reg.counter = n;
		fill(m->u.reg.mac, PROTO_KEY_LEN, 7);
		break;
	case PROTO_START:
		m->u.start.visitor_id = 17 + n;
		fill_str(m->u.start.peer, n > PROTO_MAX_ADDR ? PROTO_MAX_ADDR :
		    n, "203.0.113.9:37278");
		fill_str(m->u.start.dst, n > PROTO_MAX_ADDR ? PROTO_MAX_ADDR :
		    n, "[2001:db8::1]:443");
		break;
	case PROTO_STATUS:
		m->u.status.ok = n == 0;
		fill_str(m->u.status.reason, n > PROTO_MAX_REASON ?
		    PROTO_MAX_REASON : n, "connect 127.0.0.1:8080: refused ");
		break;
	case PROTO_WITHDRAW:
	case PROTO_WITHDRAWN:
		m->u.withdraw.counter = 1 + n;
		m->u.withdraw.taken = (uint8_t)(n & 1);
		break;
	case PROTO_REFRESH:
	case PROTO_ACCEPTED:
		break;
	}
}

static void
gen_proto(void)
{
	static const int types[] = {
		PROTO_HELLO, PROTO_CHALLENGE, PROTO_PROOF, PROTO_WELCOME,
		PROTO_FAIL, PROTO_PING, PROTO_PONG, PROTO_REGISTER,
		PROTO_START, PROTO_STATUS, PROTO_REFRESH, PROTO_ACCEPTED,
		PROTO_WITHDRAW, PROTO_WITHDRAWN,
	};
	/* docs/protocol.md, section 11. */
	static const uint8_t hello_alice[] = {
		0x8e, 0x54, 0x55, 0x4e, 0x01, 0x01, 0x00, 0x1e, 0x05,
		'a', 'l', 'i', 'c', 'e',
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
		18, 19, 20, 21, 22, 23,
	};
	static const uint8_t ping1[] = { 6, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t status_no[] = { 0x12, 0, 4, 0, 2, 'n', 'o' };
	static const uint8_t unknown[] = { 0x0b, 0, 0 };
	static const uint8_t too_long[] = { PROTO_FAIL, 0x02, 0x01 };
	static const uint8_t bad_len[] = { PROTO_PROOF, 0, 31 };
	static const uint8_t bad_ok[] = { PROTO_STATUS, 0, 2, 2, 0 };
	static const uint8_t nul_user[] = { PROTO_HELLO, 0, 27, 2, 'a', 0,
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	    20, 21, 22, 23, 24 };
	static const char visitor[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct proto_msg m;
	struct buf b;
	char name[64];
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		/* Shortest, then longest strings. */
		memset(&b, 0, sizeof(b));
		make_msg(&m, types[i], 0);
		add_msg(&b, &m);
		(void)snprintf(name, sizeof(name), "%s-min",
		    proto_type_str(types[i]));
		save("fuzz_proto", name, &b);
		memset(&b, 0, sizeof(b));
		make_msg(&m, types[i], 255);
		add_msg(&b, &m);
		(void)snprintf(name, sizeof(name), "%s-max",
		    proto_type_str(types[i]));
		save("fuzz_proto", name, &b);
	}

	/* Everything in one stream after a preamble, then a partial frame. */
	memset(&b, 0, sizeof(b));
	add_preamble(&b);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		make_msg(&m, types[i], 7 * i);
		add_msg(&b, &m);
	}
	make_msg(&m, PROTO_WELCOME, 30);
	add_msg(&b, &m);
	b.len -= 10;
	save("fuzz_proto", "stream-all-types", &b);

	/* A FAIL of every code, known or not. */
	memset(&b, 0, sizeof(b));
	for (i = 0; i <= PROTO_FAIL_SERVER + 1; i++) {
		make_msg(&m, PROTO_FAIL, 3);
		m.u.fail.code = (uint8_t)i;
		add_msg(&b, &m);
	}
	make_msg(&m, PROTO_FAIL, 3);
	m.u.fail.code = 255;
	add_msg(&b, &m);
	save("fuzz_proto", "fail-codes", &b);

	memset(&b, 0, sizeof(b));
	add(&b, hello_alice, sizeof(hello_alice));
	save("fuzz_proto", "doc-hello-alice", &b);
	memset(&b, 0, sizeof(b));
	add(&b, ping1, sizeof(ping1));
	add(&b, status_no, sizeof(status_no));
	save("fuzz_proto", "doc-ping-status", &b);

	memset(&b, 0, sizeof(b));
	add(&b, PROTO_MAGIC, PROTO_MAGIC_LEN);
	add(&b, "\x01", 1);
	make_msg(&m, PROTO_HELLO, 5);
	add_msg(&b, &m);
	save("fuzz_proto", "preamble-version-1", &b);

	memset(&b, 0, sizeof(b));
	add(&b, PROTO_MAGIC, PROTO_MAGIC_LEN);
	add(&b, "\x02\x07", 2);
	make_msg(&m, PROTO_HELLO, 5);
	add_msg(&b, &m);
	save("fuzz_proto", "preamble-transport-7", &b);

	memset(&b, 0, sizeof(b));
	add(&b, visitor, sizeof(visitor) - 1);
	save("fuzz_proto", "visitor-http", &b);

	memset(&b, 0, sizeof(b));
	make_msg(&m, PROTO_PING, 1);
	add_msg(&b, &m);
	add(&b, unknown, sizeof(unknown));
	save("fuzz_proto", "err-unknown-type", &b);
	memset(&b, 0, sizeof(b));
	add(&b, too_long, sizeof(too_long));
	save("fuzz_proto", "err-too-long", &b);
	memset(&b, 0, sizeof(b));
	add(&b, bad_len, sizeof(bad_len));
	save("fuzz_proto", "err-proof-length", &b);
	memset(&b, 0, sizeof(b));
	add(&b, bad_ok, sizeof(bad_ok));
	save("fuzz_proto", "err-status-ok-2", &b);
	memset(&b, 0, sizeof(b));
	add(&b, nul_user, sizeof(nul_user));
	save("fuzz_proto", "err-nul-username", &b);
}

/* The server's CHALLENGE for FL_USER and the AuthMessage of that login. */
static size_t
login_am(uint8_t *am, const char *user, const char *setting)
{
	size_t n;

	n = auth_message(am, AUTH_AM_MAX, user, g_cnonce, g_snonce, setting);
	if (n == 0) {
		(void)fprintf(stderr, "gen_seeds: auth_message failed\n");
		exit(1);
	}
	return n;
}

static void
gen_login(void)
{
	static const char *const settings[] = {
		FL_SETTING,
		"$gy$j9T$F5Jx5fExrKuPp53xLKQ..1",
		"$2b$10$abcdefghijklmnopqrstuu",
		"$7$CU..../....abcdefghijklmnopqrstuv",
		"$6$rounds=10000$saltsaltsaltsalt",
		"$5$saltsalt",
		"$1$saltsalt",
		"$sha1$40000$abcdefgh$",
		"$md5,rounds=1000$abcdefgh$",
		"$",
		"plain",
		/* 128 characters, the longest a CHALLENGE carries. */
		("$6$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
		    "VWXYZ./0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
		    "OPQRSTUVWXY"),
		("$sha1$40000$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
		    "KLMNOPQRSTUVWXYZ./0123456789abcdefghijklmnopqrstuvwxyzAB"
		    "CDEFGHIJKLMNO$"),
	};
	uint8_t ck[PROTO_KEY_LEN], skey[PROTO_KEY_LEN], am[AUTH_AM_MAX];
	struct auth_keys keys;
	struct proto_msg m;
	struct buf b;
	char name[64];
	size_t amlen, i;
	uint64_t ctr;

	auth_derive_keys(FL_SALTED, ck, &keys);
	amlen = login_am(am, FL_USER, FL_SETTING);

	/* Server side: a login that works, then two proxy registrations. */
	memset(&b, 0, sizeof(b));
	add_preamble(&b);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	(void)strcpy(m.u.hello.username, FL_USER);
	memcpy(m.u.hello.nonce, g_cnonce, PROTO_NONCE_LEN);
	add_msg(&b, &m);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PROOF;
	auth_client_proof(ck, &keys, am, amlen, m.u.proof.proof);
	add_msg(&b, &m);
	auth_session_key(ck, am, amlen, skey);
	for (ctr = 1; ctr <= 2; ctr++) {
		memset(&m, 0, sizeof(m));
		m.type = PROTO_REGISTER;
		memcpy(m.u.reg.session_id, g_sid, PROTO_SID_LEN);
		m.u.reg.counter = ctr;
		auth_proxy_mac(skey, g_sid, ctr, m.u.reg.mac);
		add_msg(&b, &m);
	}
	make_msg(&m, PROTO_PING, 1);
	add_msg(&b, &m);
	save("fuzz_login", "server-login-ok", &b);

	/* A wrong proof, then a REGISTER that cannot be right. */
	memset(&b, 0, sizeof(b));
	add_preamble(&b);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	(void)strcpy(m.u.hello.username, FL_USER);
	memcpy(m.u.hello.nonce, g_cnonce, PROTO_NONCE_LEN);
	add_msg(&b, &m);
	make_msg(&m, PROTO_PROOF, 0);
	add_msg(&b, &m);
	make_msg(&m, PROTO_REGISTER, 1);
	add_msg(&b, &m);
	save("fuzz_login", "server-wrong-proof", &b);

	/* Unknown users (one per first byte class), with a proof. */
	for (i = 0; i < 5; i++) {
		static const char *const users[] = {
			"bob", "Admin", "\x1b[31mred",
			("a-very-long-name-0123456789012345678901234567890"
			    "123456789012345"),
			("the-longest-name-64-bytes-0123456789012345678901"
			    "2345678901234567"),
		};
		memset(&b, 0, sizeof(b));
		add_preamble(&b);
		memset(&m, 0, sizeof(m));
		m.type = PROTO_HELLO;
		(void)snprintf(m.u.hello.username,
		    sizeof(m.u.hello.username), "%s", users[i]);
		memcpy(m.u.hello.nonce, g_cnonce, PROTO_NONCE_LEN);
		add_msg(&b, &m);
		make_msg(&m, PROTO_PROOF, 0);
		add_msg(&b, &m);
		(void)snprintf(name, sizeof(name), "server-unknown-user-%zu",
		    i);
		save("fuzz_login", name, &b);
	}

	/*
	 * Client side: the CHALLENGE the server sends for FL_USER, then a
	 * WELCOME with the right signature; variants with a pool or a
	 * heartbeat the client refuses.
	 */
	for (i = 0; i < 3; i++) {
		memset(&b, 0, sizeof(b));
		add_preamble(&b);
		memset(&m, 0, sizeof(m));
		m.type = PROTO_CHALLENGE;
		(void)strcpy(m.u.challenge.setting, FL_SETTING);
		memcpy(m.u.challenge.nonce, g_snonce, PROTO_NONCE_LEN);
		add_msg(&b, &m);
		memset(&m, 0, sizeof(m));
		m.type = PROTO_WELCOME;
		auth_server_signature(&keys, am, amlen,
		    m.u.welcome.signature);
		memcpy(m.u.welcome.session_id, g_sid, PROTO_SID_LEN);
		m.u.welcome.pool_size = i == 1 ? 1001 : FL_POOL;
		m.u.welcome.heartbeat_s = i == 2 ? 0 : FL_HEARTBEAT;
		m.u.welcome.public_port = FL_PORT;
		(void)strcpy(m.u.welcome.public_addr, FL_ADDR);
		add_msg(&b, &m);
		make_msg(&m, PROTO_START, 17);
		add_msg(&b, &m);
		make_msg(&m, PROTO_FAIL, 5);
		add_msg(&b, &m);
		(void)snprintf(name, sizeof(name), "client-welcome-%s",
		    i == 0 ? "ok" : i == 1 ? "pool-1001" : "heartbeat-0");
		save("fuzz_login", name, &b);
	}

	/* A CHALLENGE per family (and two that are no hash at all). */
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		memset(&b, 0, sizeof(b));
		add_preamble(&b);
		memset(&m, 0, sizeof(m));
		m.type = PROTO_CHALLENGE;
		(void)strcpy(m.u.challenge.setting, settings[i]);
		memcpy(m.u.challenge.nonce, g_snonce, PROTO_NONCE_LEN);
		add_msg(&b, &m);
		make_msg(&m, PROTO_WELCOME, 10);
		add_msg(&b, &m);
		(void)snprintf(name, sizeof(name), "client-challenge-%zu", i);
		save("fuzz_login", name, &b);
	}

	/* The peers' other frames, and a preamble of another version. */
	memset(&b, 0, sizeof(b));
	add_preamble(&b);
	make_msg(&m, PROTO_PING, 3);
	add_msg(&b, &m);
	make_msg(&m, PROTO_PONG, 3);
	add_msg(&b, &m);
	make_msg(&m, PROTO_STATUS, 0);
	add_msg(&b, &m);
	make_msg(&m, PROTO_STATUS, 40);
	add_msg(&b, &m);
	make_msg(&m, PROTO_FAIL, 200);
	add_msg(&b, &m);
	save("fuzz_login", "other-frames", &b);
	memset(&b, 0, sizeof(b));
	add(&b, PROTO_MAGIC "\x07", PROTO_PREAMBLE_LEN);
	make_msg(&m, PROTO_HELLO, 5);
	add_msg(&b, &m);
	save("fuzz_login", "preamble-version-7", &b);
}

static void
save_text(const char *name, const char *text)
{
	struct buf b;

	memset(&b, 0, sizeof(b));
	add(&b, text, strlen(text));
	save("fuzz_config", name, &b);
}

/*
 * fuzz_config: one file per error class and per password kind, beside
 * the repository's files (which `make fuzz` copies in). The hashes are
 * real, of the kinds the harness lets reach crypt(3).
 */
static void
gen_config(void)
{
	static const char *const settings[] = {
		"$2b$04$abcdefghijklmnopqrstuu", "$6$rounds=1000$saltsalt",
		"$5$saltsaltsaltsalt", "$1$saltsalt",
	};
	static const struct {
		const char	*name;
		const char	*text;
	} texts[] = {
		{ "server-full", "port: 3339\npool_size: 1000\n"
		    "connect_timeout: 3600\nidle_timeout: 604800\nusers:\n"
		    "  - username: admin\n    password: \"s3cret\"\n"
		    "    port: 8080\n  - {username: bob, password: 'x', "
		    "port: 65535}\nlog:\n  enable: off\n  path: \"/tmp/l\"\n"
		    "  level: DEBUG\n" },
		{ "server-empty-users", "users: []\n" },
		{ "server-no-users", "port: 1\n" },
		{ "server-main-port-clash", "port: 8080\nusers:\n"
		    "  - username: a\n    password: b\n    port: 8080\n" },
		{ "server-nul", "users:\n  - username: \"a\\0b\"\n"
		    "    password: b\n" },
		{ "server-empty-path", "log:\n  path: \"\"\nusers:\n"
		    "  - username: a\n    password: b\n" },
		{ "server-log-null", "log:\nusers:\n  - username: a\n"
		    "    password: b\n" },
		{ "server-bad-numbers", "port: 0x10\npool_size: -1\n" },
		{ "server-typo", "pool_sise: 3\n" },
		{ "server-short-hashes", "users:\n  - username: a\n"
		    "    password: \"$2b$04$short\"\n  - username: b\n"
		    "    password: \"$y$j9T\"\n  - username: c\n"
		    "    password: \"$6$salt\"\n" },
		{ "server-escaped-dollar", "users:\n  - username: a\n"
		    "    password: \"\\x241\\x24saltsalt\\x24abc\"\n" },
		{ "yaml-anchor", "users: &u\n  - username: a\n"
		    "    password: b\nx: *u\n" },
		{ "yaml-two-docs", "port: 1\n---\nport: 2\n" },
		{ "yaml-deep", "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]"
		    "]]]]]]]]]]]]]]]]]]]\n" },
		{ "yaml-bom-list", "\xef\xbb\xbf- a\n- b\n" },
		{ "yaml-bad-utf8", "users: \"\xc3\x28\"\n" },
		{ "yaml-tab", "port:\t1\n\tusers: x\n" },
		{ "client-full", "server_addr: \"[::1]:3339\"\n"
		    "local_host: \"::1\"\nlocal_port: 65535\n"
		    "connect_timeout: 1\nusername: u\npassword: p\n"
		    "log_level: warn\n" },
		{ "client-bad-addr", "server_addr: \"::1:3339\"\nusername: u\n"
		    "password: p\n" },
		{ "client-empty-password", "server_addr: h:1\nusername: u\n"
		    "password: \"\"\n" },
		{ "hostport-v4", "example.com:3339\n" },
		{ "hostport-v6", "[2001:db8::1]:65535\n" },
	};
	char hash[AUTH_HASH_MAX], text[1024];
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		save_text(texts[i].name, texts[i].text);
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		if (auth_crypt("secret", settings[i], hash, sizeof(hash)) != 0) {
			(void)fprintf(stderr, "gen_seeds: crypt(%s) failed\n",
			    settings[i]);
			exit(1);
		}
		(void)snprintf(text, sizeof(text), "users:\n"
		    "  - username: admin\n    password: \"%s\"\n"
		    "  - username: cut\n    password: \"%.*s\"\n",
		    hash, (int)strlen(hash) - 1, hash);
		(void)snprintf(hash, sizeof(hash), "server-hash-%zu", i);
		save_text(hash, text);
	}
}

int
main(int argc, char **argv)
{
	char path[1024];

	if (argc != 2) {
		(void)fprintf(stderr, "usage: gen_seeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	mkdir_p(outdir);
	(void)snprintf(path, sizeof(path), "%s/fuzz_proto", outdir);
	mkdir_p(path);
	(void)snprintf(path, sizeof(path), "%s/fuzz_login", outdir);
	mkdir_p(path);
	(void)snprintf(path, sizeof(path), "%s/fuzz_config", outdir);
	mkdir_p(path);
	gen_proto();
	gen_login();
	gen_config();
	return 0;
}
