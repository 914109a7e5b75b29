/*
 * frameio: frames over non-blocking sockets, the two places where a
 * socket's partial answers are handled for every protocol object.
 *
 * An outbuf holds bytes (encoded frames, a preamble) until the socket
 * takes them: a send may take part of them, or none, and the rest waits
 * for LOOP_OUT. Its storage is the owner's, sized for what the owner may
 * queue, so a peer that reads nothing fills it and is found out.
 *
 * frame_read reads exactly one frame and never a byte past it: on a proxy
 * connection the bytes behind START or STATUS belong to the visitor or the
 * service, and must stay in the socket for the bridge.
 *
 * Every function takes the connection's struct tls, or NULL for a plain
 * one (transport: plain): link_recv and link_send are recv and send
 * through it. Over TLS, bytes past a frame stay decrypted inside TLS,
 * where epoll cannot see them: whoever reads next asks tls_pending().
 */
#ifndef TUNNEL_FRAMEIO_H
#define TUNNEL_FRAMEIO_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct tls;

struct outbuf {
	uint8_t		*data;		/* the owner's storage */
	size_t		 cap;
	size_t		 len;		/* bytes waiting to be sent */
};

/* An empty outbuf over storage[0..cap). */
void	outbuf_init(struct outbuf *o, uint8_t *storage, size_t cap);

/* Appends len raw bytes. Return: 0, or -1 if they do not fit (nothing added). */
int	outbuf_put(struct outbuf *o, const void *p, size_t len);

/*
 * Appends m, encoded. Return: 0, or -1 if it does not fit or cannot be
 * encoded (nothing added).
 */
int	outbuf_frame(struct outbuf *o, const struct proto_msg *m);

/*
 * Sends what it can to fd (SYS_NOSIGNAL). Return: 0 when the outbuf is
 * empty or the socket is full (o->len says which), -1 with errno on an
 * error (the bytes stay).
 */
int	outbuf_flush(struct outbuf *o, int fd, struct tls *t);

/* Forgets every queued byte. */
void	outbuf_clear(struct outbuf *o);

enum frame_read {
	FRAME_WHOLE = 0,	/* buf holds at least one whole frame */
	FRAME_MORE,		/* the socket has no more for now */
	FRAME_EOF,		/* the peer closed first */
	FRAME_ERROR,		/* recv failed; errno says why */
	FRAME_BAD,		/* the header declares an impossible length */
};

/*
 * Reads towards one whole frame from fd into buf, which holds *len bytes
 * of it (and perhaps more frames) so far; *len grows. Before the header
 * is there it asks for first bytes in all (at least a header: the
 * shortest frame the caller expects, so the common answer takes one read
 * and nothing beyond that frame is read), then for exactly the rest of the
 * frame the header declares, and reads again at once after a read that
 * got all it asked for. Return: see above.
 */
enum frame_read frame_read(int fd, struct tls *t, uint8_t *buf, size_t cap,
	    size_t *len, size_t first);

/* recv(fd, buf, len, 0), or tls_recv when t is not NULL. */
ssize_t	link_recv(int fd, struct tls *t, void *buf, size_t len);

/* send(fd, buf, len, SYS_NOSIGNAL | flags), or tls_send (flags unused). */
ssize_t	link_send(int fd, struct tls *t, const void *buf, size_t len,
	    int flags);

#endif
