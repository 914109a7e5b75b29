/*
 * tls: TLS 1.3 on the tunnel link (control and proxy connections), with
 * OpenSSL's libssl. It owns the SSL_CTX of each daemon, the server's key
 * and self-signed certificate made on first run, key fingerprints, the
 * non-blocking handshake, the session tickets that let pool refills
 * resume without a signature, and the RFC 9266 `tls-exporter` value that
 * binds the login and each REGISTER to their own connection.
 *
 * A struct tls wraps one connection's SSL over a socket the caller owns
 * (tls_free never closes it). tls_recv and tls_send behave like recv and
 * send on a non-blocking socket: -1 with errno EAGAIN when TLS waits for
 * the socket, and tls_events() then says which readiness it waits for
 * (a read may need to write, a write to read). Bytes TLS already holds
 * decrypted are invisible to epoll: after a read, tls_pending() says
 * whether another read would return bytes at once.
 *
 * It knows nothing of sessions, users or frames.
 */
#ifndef TUNNEL_TLS_H
#define TUNNEL_TLS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define TLS_EXPORTER_LEN	32
/* "SHA256:" + 43 characters of unpadded base64, as ssh prints keys. */
#define TLS_FP_LEN		64

struct tls_ctx;
struct tls;

/*
 * Makes the server's key (Ed25519) and a self-signed certificate for it
 * when neither file exists, each written with mode 0600 (never over an
 * existing file). Return: 1 if made, 0 if both exist already, -1 with
 * err filled (one of them is missing, or writing failed).
 */
int	tls_make_server_key(const char *cert_file, const char *key_file,
	    char *err, size_t errlen);

/*
 * The server's context: TLS 1.3 only, the certificate chain (a
 * self-signed one, or certbot's fullchain.pem) and its key. Return: the
 * context, or NULL with err filled.
 */
struct tls_ctx	*tls_server_ctx(const char *cert_file, const char *key_file,
		    char *err, size_t errlen);

/*
 * The client's context: TLS 1.3 only; the server's certificate is checked
 * against the system's trust store and host (a DNS name or an IP address)
 * for tls_ca_verified(), never to refuse a handshake: key pinning is the
 * caller's decision. Return: the context, or NULL with err filled.
 */
struct tls_ctx	*tls_client_ctx(const char *host, char *err, size_t errlen);

void		 tls_ctx_free(struct tls_ctx *x);

/*
 * A context for the HTTPS front, where visitors' TLS ends: TLS 1.2 and
 * 1.3, ALPN http/1.1, one certificate chain (certbot's fullchain.pem) and
 * its key. Return: the context, or NULL with err filled.
 */
struct tls_ctx	*tls_front_ctx(const char *cert_file, const char *key_file,
		    char *err, size_t errlen);

/*
 * A server context that answers an ACME CA's TLS-ALPN-01 check for name
 * (RFC 8737): a fresh self-signed certificate for name whose critical
 * acmeIdentifier holds the SHA-256 of keyauth (the key authorization),
 * and ALPN acme-tls/1 alone. Return: the context, or NULL with err set.
 */
struct tls_ctx	*tls_acme_alpn_ctx(const char *name, const char *keyauth,
		    char *err, size_t errlen);

/* The context's certificate is valid for host name name (wildcards too). */
int		 tls_ctx_names(struct tls_ctx *x, const char *name);

/* The certificate's notAfter as Unix seconds. Return: 0, or -1. */
int		 tls_ctx_expiry(struct tls_ctx *x, int64_t *not_after);

/* Its notBefore and notAfter, as Unix seconds. Return: 0, or -1. */
int		 tls_ctx_validity(struct tls_ctx *x, int64_t *not_before,
		    int64_t *not_after);

/*
 * The fingerprint of the certificate's public key in cert_file, into
 * out[TLS_FP_LEN]. Return: 0, or -1 with err filled.
 */
int		 tls_file_fingerprint(const char *cert_file, char *out,
		    char *err, size_t errlen);

/*
 * A TLS connection over the connected socket fd (which stays the
 * caller's). A client's resumes the last session a trusted connection of
 * the same context received. Return: the connection, or NULL.
 */
struct tls	*tls_new(struct tls_ctx *x, int fd);
void		 tls_free(struct tls *t);

/*
 * Drives the handshake. Return: 1 done, 0 waiting (tls_events() says for
 * what), -1 failed (tls_error() says why).
 */
int		 tls_handshake(struct tls *t);

/*
 * Until tls_release_reads, TLS reads nothing from the socket (it sees an
 * empty stream), so the caller can look at the peer's first bytes itself
 * while the handshake's first flight goes out. Return: 0, or -1.
 */
int		 tls_hold_reads(struct tls *t);
/*
 * buf[0..len), bytes the caller already read from socket fd, are what TLS
 * reads first; then it reads fd. Return: 0, or -1.
 */
int		 tls_unread(struct tls *t, int fd, const void *buf, size_t len);
int		 tls_release_reads(struct tls *t, int fd);

/* LOOP_IN or LOOP_OUT: what the last call that returned EAGAIN waits for. */
uint32_t	 tls_events(const struct tls *t);

/*
 * As recv(): n > 0 bytes, 0 on the peer's close_notify (a clean end),
 * -1 with errno: EAGAIN, ECONNRESET for a stream cut short without
 * close_notify (a truncation is never taken for a clean end), EPROTO for
 * a record that fails its check (a flipped bit), or the socket's error.
 */
ssize_t		 tls_recv(struct tls *t, void *buf, size_t len);

/* As send() with SYS_NOSIGNAL: n > 0, or -1 with errno (EAGAIN...). */
ssize_t		 tls_send(struct tls *t, const void *buf, size_t len);

/*
 * Sends close_notify: no more bytes from us; reading goes on (TLS 1.3
 * half-close). Return: 1 sent, 0 waiting (EAGAIN), -1 failed.
 */
int		 tls_close_notify(struct tls *t);

/* Bytes TLS has written to the socket so far (records, not payload). */
uint64_t	 tls_wire_sent(struct tls *t);

/* Decrypted bytes wait inside TLS: a read now returns some. */
int		 tls_pending(struct tls *t);

/* Why the last call failed, for a log line. */
const char	*tls_error(const struct tls *t);

/*
 * RFC 9266 tls-exporter: 32 bytes of the label
 * "EXPORTER-Channel-Binding" with no context. Return: 0, or -1.
 */
int		 tls_exporter(struct tls *t, uint8_t out[TLS_EXPORTER_LEN]);

/* The peer certificate's key fingerprint into out[TLS_FP_LEN]. Return: 0, -1. */
int		 tls_peer_fingerprint(struct tls *t, char *out);

/* The peer's chain verified against the trust store and the host name. */
int		 tls_ca_verified(struct tls *t);

/* This handshake resumed a session (no certificate, no signature). */
int		 tls_resumed(struct tls *t);

/*
 * The caller has accepted this server: tickets it sends from now on (and
 * any it sent already) may be used to resume later connections.
 */
void		 tls_trust(struct tls *t);

/* The context forgets the session it would resume (a key changed). */
void		 tls_ctx_forget(struct tls_ctx *x);

/*
 * Checks that s looks like "SHA256:" followed by 43 base64 characters.
 * Return: 1 or 0.
 */
int		 tls_fp_valid(const char *s);

#endif
