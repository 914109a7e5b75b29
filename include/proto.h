/*
 * proto: the tunnel's wire format. Pure functions over caller buffers; no I/O.
 *
 * Every connection the client opens to the server starts with a 6-byte
 * preamble: the magic "\x8eTUN", a version byte and a transport byte
 * (TLS follows, or frames in the clear). 0x8e is a UTF-8
 * continuation byte, so no text protocol (HTTP, SSH, SMTP, PROXY) and no
 * common binary one (TLS 0x16, HTTP/2 "PRI ", PostgreSQL 0x00) starts with
 * it: the server decides "public visitor" from the first byte alone.
 *
 * After the preamble come frames: type (1 byte), payload length (2 bytes,
 * big-endian), payload (at most PROTO_MAX_PAYLOAD bytes). Every payload has
 * an exact layout (docs/protocol.md); a frame whose length disagrees with
 * its layout is malformed. Strings are a 1-byte length then that many bytes,
 * never NUL; decoded strings are NUL-terminated in the message struct.
 */
#ifndef TUNNEL_PROTO_H
#define TUNNEL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC		"\x8eTUN"
#define PROTO_MAGIC_LEN		4
#define PROTO_VERSION		4
#define PROTO_PREAMBLE_LEN	6
#define PROTO_TRANSPORT_PLAIN	0	/* frames in the clear follow */
#define PROTO_TRANSPORT_TLS	1	/* a TLS 1.3 handshake follows */
#define PROTO_HDR_LEN		3
#define PROTO_MAX_PAYLOAD	512
#define PROTO_MAX_FRAME		(PROTO_HDR_LEN + PROTO_MAX_PAYLOAD)
#define PROTO_NONCE_LEN		24
#define PROTO_KEY_LEN		32	/* SHA-256 / HMAC-SHA-256 output */
#define PROTO_SID_LEN		16
#define PROTO_MAX_USER		64
#define PROTO_MAX_SETTING	128
#define PROTO_MAX_ADDR		80
#define PROTO_MAX_REASON	200
#define PROTO_MAX_POOL		1000	/* a client refuses a larger pool size */
#define PROTO_MAX_HOST		253	/* a DNS name, without the final dot */
#define PROTO_MAX_SERVICES	32	/* SERVICE indexes 1..32 */

enum proto_type {
	PROTO_HELLO = 0x01,	/* C->S ctl: username, client nonce */
	PROTO_CHALLENGE = 0x02,	/* S->C ctl: crypt setting, server nonce */
	PROTO_PROOF = 0x03,	/* C->S ctl: client proof */
	PROTO_WELCOME = 0x04,	/* S->C ctl: signature, session, pool size */
	PROTO_FAIL = 0x05,	/* either way: code + reason, then close */
	PROTO_PING = 0x06,	/* either way on ctl: heartbeat */
	PROTO_PONG = 0x07,	/* answer to PING, same sequence number */
	PROTO_REFRESH = 0x08,	/* S->C ctl: idle proxies look dead, redial */
	PROTO_WITHDRAW = 0x09,	/* S->C ctl: did proxy N take its visitor? */
	PROTO_WITHDRAWN = 0x0a,	/* C->S ctl: answer; if not, it never will */
	PROTO_SERVICE = 0x0b,	/* C->S ctl: serve this host name as service i */
	PROTO_ROUTE = 0x0c,	/* S->C ctl: service i's public URL, or why not */
	PROTO_REGISTER = 0x10,	/* C->S proxy: session id, counter, HMAC */
	PROTO_START = 0x11,	/* S->C proxy: a visitor is bridged */
	PROTO_STATUS = 0x12,	/* C->S proxy: local dial OK or FAIL */
	PROTO_ACCEPTED = 0x13,	/* C->S proxy: START read, dial still going */
};

enum proto_fail_code {
	PROTO_FAIL_CREDENTIALS = 1,	/* unknown user or wrong password */
	PROTO_FAIL_VERSION = 2,		/* preamble version not spoken */
	PROTO_FAIL_BUSY = 3,		/* too many logins; try later */
	PROTO_FAIL_PROTOCOL = 4,	/* malformed or out-of-state frame */
	PROTO_FAIL_REPLACED = 5,	/* a newer login of the same user */
	PROTO_FAIL_SESSION = 6,		/* REGISTER for no live session / bad MAC */
	PROTO_FAIL_POOL_FULL = 7,	/* REGISTER beyond the pool size */
	PROTO_FAIL_SHUTDOWN = 8,	/* server is stopping */
	PROTO_FAIL_SERVER = 9,		/* server signature wrong (client side) */
	PROTO_FAIL_TRANSPORT = 10,	/* the preamble's transport not spoken */
};

struct proto_hello {
	char	 username[PROTO_MAX_USER + 1];
	uint8_t	 nonce[PROTO_NONCE_LEN];
};

struct proto_challenge {
	char	 setting[PROTO_MAX_SETTING + 1];
	uint8_t	 nonce[PROTO_NONCE_LEN];
};

struct proto_proof {
	uint8_t	 proof[PROTO_KEY_LEN];
};

struct proto_welcome {
	uint8_t	 signature[PROTO_KEY_LEN];
	uint8_t	 session_id[PROTO_SID_LEN];
	uint16_t pool_size;
	uint16_t heartbeat_s;		/* PING interval the server uses */
	uint16_t public_port;		/* where visitors reach this session */
	char	 public_addr[PROTO_MAX_ADDR + 1]; /* server's view, "ip:port" */
};

struct proto_fail {
	uint8_t	 code;			/* enum proto_fail_code */
	char	 reason[PROTO_MAX_REASON + 1];
};

struct proto_ping {
	uint64_t seq;
};

struct proto_register {
	uint8_t	 session_id[PROTO_SID_LEN];
	uint64_t counter;
	uint8_t	 mac[PROTO_KEY_LEN];
};

struct proto_start {
	uint64_t visitor_id;
	char	 peer[PROTO_MAX_ADDR + 1];	/* visitor's address "ip:port" */
	char	 dst[PROTO_MAX_ADDR + 1];	/* the server address it
						   reached, "ip:port", or "" */
	uint8_t	 service;			/* 0: the raw TCP port; else
						   the SERVICE index it asked
						   for by name */
};

/*
 * SERVICE: after WELCOME the client names, one frame each, the host names
 * it serves besides its raw port, indexes 1, 2, ... in order. The server
 * answers each with a ROUTE: ok and the public URL, or not ok and why.
 */
#define PROTO_SERVICE_PASSTHROUGH 0x01	/* TLS reaches the local service
					   as it is: SNI routing only */

struct proto_service {
	uint8_t	 index;				/* 1..PROTO_MAX_SERVICES */
	uint8_t	 flags;				/* PROTO_SERVICE_*, others 0 */
	char	 host[PROTO_MAX_HOST + 1];	/* as configured: a label
						   under the server's domain,
						   or a full name */
};

struct proto_route {
	uint8_t	 index;				/* the SERVICE's */
	uint8_t	 ok;				/* 0 or 1 */
	uint16_t http_port;			/* ok: where http:// is served,
						   0 if not */
	uint16_t https_port;			/* ok: https://, 0 if not */
	char	 host[PROTO_MAX_HOST + 1];	/* ok: the full name */
	char	 reason[PROTO_MAX_REASON + 1];	/* not ok: why */
};

/*
 * WITHDRAW names a proxy connection by its REGISTER counter. A client that
 * has not read START on it closes it unread and answers taken = 0: the
 * visitor can then be sent elsewhere without ever reaching the local
 * service twice. taken = 1: START was read (or the client cannot tell).
 */
struct proto_withdraw {
	uint64_t counter;
	uint8_t	 taken;			/* WITHDRAWN only: 0 or 1 */
};

struct proto_status {
	uint8_t	 ok;			/* 1 = local service connected */
	char	 reason[PROTO_MAX_REASON + 1];
};

struct proto_msg {
	enum proto_type type;
	union {
		struct proto_hello	hello;
		struct proto_challenge	challenge;
		struct proto_proof	proof;
		struct proto_welcome	welcome;
		struct proto_fail	fail;
		struct proto_ping	ping;	/* PING and PONG */
		struct proto_register	reg;
		struct proto_start	start;
		struct proto_status	status;
		struct proto_withdraw	withdraw; /* WITHDRAW, WITHDRAWN */
		struct proto_service	service;
		struct proto_route	route;
	} u;
};

enum proto_result {
	PROTO_OK = 0,		/* one frame decoded, *consumed set */
	PROTO_NEED_MORE,	/* buffer holds a prefix of a valid frame */
	PROTO_ERR_TOO_LONG,	/* declared length > PROTO_MAX_PAYLOAD */
	PROTO_ERR_UNKNOWN_TYPE,	/* type byte not in enum proto_type */
	PROTO_ERR_MALFORMED,	/* payload does not match the type's layout */
};

enum proto_preamble_result {
	PROTO_PRE_NEED_MORE = 0, /* a prefix of the magic; wait for more */
	PROTO_PRE_OK,		 /* magic and our version */
	PROTO_PRE_NOT_TUNNEL,	 /* not our magic: a public visitor */
	PROTO_PRE_BAD_VERSION,	 /* our magic, another version */
	PROTO_PRE_BAD_TRANSPORT, /* our version, an unknown transport byte */
};

/*
 * Writes the 6-byte preamble (magic, PROTO_VERSION, transport) to out.
 * Return: PROTO_PREAMBLE_LEN.
 */
size_t	proto_preamble(uint8_t out[PROTO_PREAMBLE_LEN], int transport);

/*
 * Classifies the first len bytes a connection sent. *version (may be NULL)
 * gets the version byte when the magic matched, *transport (may be NULL)
 * the transport byte once OK. Another version is told at 5 bytes: an
 * older client sends a 5-byte preamble and then its first frame.
 */
enum proto_preamble_result proto_check_preamble(const uint8_t *buf,
	    size_t len, uint8_t *version, int *transport);

/*
 * Encodes m as one frame into out. It fails on anything proto_decode()
 * would reject: a string longer than its maximum (or not NUL-terminated
 * within its field), an empty username or setting, a setting byte outside
 * [A-Za-z0-9./$=,-], a STATUS ok other than 0 or 1, an unknown type; and
 * on cap too small. Return: bytes written, or 0 on failure.
 */
size_t	proto_encode(const struct proto_msg *m, uint8_t *out, size_t cap);

/*
 * Decodes the first frame in buf[0..len). On PROTO_OK *m is filled and
 * *consumed is the frame's total length; on any other result *consumed is
 * 0 and *m is unspecified. Never reads past len. Once the 3-byte header is
 * there, an unknown type, a length above PROTO_MAX_PAYLOAD, or a length
 * the type's layout cannot have is reported without waiting for the
 * payload; every error is final for the connection.
 */
enum proto_result proto_decode(const uint8_t *buf, size_t len,
	    struct proto_msg *m, size_t *consumed);

/*
 * Total length (header + payload) of the frame starting at buf, once the
 * header is there. Return: the length, 0 if len < PROTO_HDR_LEN, or
 * (size_t)-1 if the declared payload exceeds PROTO_MAX_PAYLOAD.
 */
size_t	proto_frame_len(const uint8_t *buf, size_t len);

const char *proto_result_str(enum proto_result r);
const char *proto_type_str(int type);
const char *proto_fail_str(int code);

#endif
