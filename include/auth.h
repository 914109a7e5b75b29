/*
 * auth: password hashing (libxcrypt crypt(3)) and the maths of the login,
 * a SCRAM-SHA-256 message flow (RFC 5802/7677) whose salted password is
 * crypt(password, setting) instead of PBKDF2. No I/O, no sockets.
 *
 *   SaltedPassword = the full crypt(3) output string (bytes, no NUL)
 *   ClientKey      = HMAC(SaltedPassword, "Client Key")
 *   StoredKey      = SHA256(ClientKey)
 *   ServerKey      = HMAC(SaltedPassword, "Server Key")
 *   AuthMessage    = "tunnel-login-v2" || u8 len || username
 *                    || client nonce (24) || server nonce (24)
 *                    || u8 len || setting || u8 len || binding
 *   ClientProof    = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *   ServerSignature= HMAC(ServerKey, AuthMessage)
 *   SessionKey     = HMAC(ClientKey, "session" || AuthMessage)
 *   proxy MAC      = HMAC(SessionKey, "proxy" || session id (16)
 *                    || counter (8, big-endian) || u8 len || binding)
 *
 * binding is the connection's RFC 9266 tls-exporter value (32 bytes) over
 * TLS, and empty with transport: plain. The login's is the control
 * connection's, each REGISTER's its own proxy connection's: a proof or a
 * MAC relayed onto another TLS connection does not verify there.
 *
 * The server stores only StoredKey and ServerKey (derived at load from the
 * configured hash), so a login costs it a few HMACs, never a crypt(3).
 */
#ifndef TUNNEL_AUTH_H
#define TUNNEL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define AUTH_HASH_MAX		256	/* longest crypt(3) output we keep */
#define AUTH_BIND_MAX		32	/* a tls-exporter value */
/* The label is 15 bytes; 16 leaves one byte of slack. */
#define AUTH_AM_MAX		(16 + 1 + PROTO_MAX_USER + 2 * PROTO_NONCE_LEN \
				    + 1 + PROTO_MAX_SETTING + 1 + AUTH_BIND_MAX)

struct auth_keys {
	uint8_t	 stored_key[PROTO_KEY_LEN];
	uint8_t	 server_key[PROTO_KEY_LEN];
};

/* HMAC-SHA-256(key, msg) into out (the primitive under everything here). */
void	auth_hmac_sha256(const void *key, size_t keylen, const void *msg,
	    size_t len, uint8_t out[PROTO_KEY_LEN]);

/*
 * A fresh yescrypt setting (crypt_gensalt_rn "$y$", default cost): what
 * auth_hash_password hashes with, so what --hash-password writes.
 * Return: 0, or -1 on failure (errno set).
 */
int	auth_default_setting(char *out, size_t len);

/*
 * Hashes pw with a fresh auth_default_setting. Return: 0 with the hash in
 * out, -1 on failure (errno set).
 */
int	auth_hash_password(const char *pw, char *out, size_t outlen);

/*
 * True when s has the shape of a crypt(3) hash we accept ("$id$..." of a
 * family libxcrypt knows, or Sun MD5's "$md5,rounds=N$..."); a plaintext
 * password is anything else. A broken hash of a known family still counts
 * as a hash, so it is reported rather than taken for a password.
 */
int	auth_looks_like_hash(const char *s);

/*
 * Extracts the setting (everything that is not the hash output) from a
 * crypt(3) hash: for "$2b$"-style bcrypt the first 29 characters, for other
 * "$id$" families everything before the last '$'. Then checks that
 * crypt(x, setting) works, reproduces the setting as its prefix and is as
 * long as hash (a hash cut short could never match). Costs one crypt(3)
 * the first time a given hash passes, none after (a cache of what passed).
 * Return: 0, or -1 with a one-line reason in err.
 */
int	auth_setting_from_hash(const char *hash, char *setting, size_t len,
	    char *err, size_t errlen);

/*
 * crypt_rn(pw, setting) into out. A NULL result or one starting with '*'
 * is a failure. Return: 0 or -1. Takes 10-200 ms for yescrypt/bcrypt.
 */
int	auth_crypt(const char *pw, const char *setting, char *out,
	    size_t outlen);

/*
 * Derives ClientKey (may be NULL), StoredKey and ServerKey from a salted
 * password (a full crypt(3) output string).
 */
void	auth_derive_keys(const char *salted, uint8_t *client_key,
	    struct auth_keys *keys);

/*
 * Builds the AuthMessage into out (AUTH_AM_MAX bytes is always enough).
 * Return: its length, or 0 if an input is too long.
 */
size_t	auth_message(uint8_t *out, size_t cap, const char *username,
	    const uint8_t cnonce[PROTO_NONCE_LEN],
	    const uint8_t snonce[PROTO_NONCE_LEN], const char *setting,
	    const uint8_t *bind, size_t bindlen);

/* Client side: ClientProof from ClientKey and StoredKey. */
void	auth_client_proof(const uint8_t client_key[PROTO_KEY_LEN],
	    const struct auth_keys *keys, const uint8_t *am, size_t amlen,
	    uint8_t proof[PROTO_KEY_LEN]);

/*
 * Server side: checks a ClientProof in constant time. On success the
 * recovered ClientKey is written to client_key (for the session key).
 * Return: 0 when the proof is right, -1 otherwise.
 */
int	auth_verify_proof(const struct auth_keys *keys, const uint8_t *am,
	    size_t amlen, const uint8_t proof[PROTO_KEY_LEN],
	    uint8_t client_key[PROTO_KEY_LEN]);

/* ServerSignature = HMAC(ServerKey, AuthMessage). */
void	auth_server_signature(const struct auth_keys *keys, const uint8_t *am,
	    size_t amlen, uint8_t sig[PROTO_KEY_LEN]);

/* SessionKey = HMAC(ClientKey, "session" || AuthMessage). */
void	auth_session_key(const uint8_t client_key[PROTO_KEY_LEN],
	    const uint8_t *am, size_t amlen, uint8_t out[PROTO_KEY_LEN]);

/*
 * proxy MAC = HMAC(SessionKey, "proxy" || session id || be64(counter) ||
 * u8 bindlen || bind), bindlen at most AUTH_BIND_MAX.
 */
void	auth_proxy_mac(const uint8_t session_key[PROTO_KEY_LEN],
	    const uint8_t sid[PROTO_SID_LEN], uint64_t counter,
	    const uint8_t *bind, size_t bindlen, uint8_t mac[PROTO_KEY_LEN]);

/*
 * The REGISTER replay window (docs/protocol.md §9): each counter is
 * accepted at most once, in any order within AUTH_WINDOW of the highest.
 * Wide because order is lost on the way: a proxy connection whose REGISTER
 * waits in a long accept queue (a burst of thousands of visitors on the
 * same port) is read after hundreds of later ones; 64 was too narrow there.
 * Zero-initialised is empty.
 */
#define AUTH_WINDOW	4096

struct auth_window {
	uint64_t	max;			/* highest counter accepted */
	uint64_t	seen[AUTH_WINDOW / 64];	/* bit c % AUTH_WINDOW: c used */
};

/*
 * Records counter c. Return: 0 when c is new, -1 when c is 0, was used, or
 * is AUTH_WINDOW or more below the highest (refused; nothing changes).
 */
int	auth_window_take(struct auth_window *w, uint64_t c);

/*
 * A setting for a user that does not exist, so unknown users look like
 * known ones: template's family and parameters (the part before the salt,
 * e.g. "$y$j9T$") with a salt of the same length made from
 * HMAC(secret, "fake-salt" || username). Deterministic per (secret,
 * username); runs no crypt(3). template is a setting (as from
 * auth_setting_from_hash), not a full hash, and its salt is not empty.
 * Return: 0, or -1 if template is unusable or the result does not fit in
 * out or in PROTO_MAX_SETTING.
 */
int	auth_fake_setting(const uint8_t secret[PROTO_KEY_LEN],
	    const char *template, const char *username, char *out,
	    size_t outlen);

/* Constant-time comparison. Return: 1 when equal, 0 otherwise. */
int	auth_ct_equal(const void *a, const void *b, size_t len);

/* Zeroes memory in a way the compiler may not drop. */
void	auth_wipe(void *p, size_t len);

#endif
