/*
 * frameio: the output buffer and the exact frame reader shared by every
 * protocol object of both daemons (include/frameio.h).
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>

#include "frameio.h"
#include "tls.h"
#include "sys.h"

ssize_t
link_recv(int fd, struct tls *t, void *buf, size_t len)
{
	return t != NULL ? tls_recv(t, buf, len) : sys_recv(fd, buf, len, 0);
}

ssize_t
link_send(int fd, struct tls *t, const void *buf, size_t len, int flags)
{
	return t != NULL ? tls_send(t, buf, len) :
	    sys_send(fd, buf, len, SYS_NOSIGNAL | flags);
}

void
outbuf_init(struct outbuf *o, uint8_t *storage, size_t cap)
{
	o->data = storage;
	o->cap = cap;
	o->len = 0;
}

int
outbuf_put(struct outbuf *o, const void *p, size_t len)
{
	if (len > o->cap - o->len)
		return -1;
	memcpy(o->data + o->len, p, len);
	o->len += len;
	return 0;
}

int
outbuf_frame(struct outbuf *o, const struct proto_msg *m)
{
	size_t n = proto_encode(m, o->data + o->len, o->cap - o->len);

	if (n == 0)
		return -1;
	o->len += n;
	return 0;
}

int
outbuf_flush(struct outbuf *o, int fd, struct tls *t)
{
	ssize_t w;

	while (o->len > 0) {
		w = link_send(fd, t, o->data, o->len, 0);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		memmove(o->data, o->data + w, o->len - (size_t)w);
		o->len -= (size_t)w;
	}
	return 0;
}

void
outbuf_clear(struct outbuf *o)
{
	o->len = 0;
}

enum frame_read
frame_read(int fd, struct tls *t, uint8_t *buf, size_t cap, size_t *len,
    size_t first)
{
	size_t want, total;
	ssize_t n;
	int short_read = 0;

	if (first < PROTO_HDR_LEN)
		first = PROTO_HDR_LEN;
	for (;;) {
		if (*len >= PROTO_HDR_LEN) {
			/* Once the header is known, exactly to its end. */
			total = proto_frame_len(buf, *len);
			if (total == (size_t)-1 || total > cap)
				return FRAME_BAD;
			if (*len >= total)
				return FRAME_WHOLE;
			want = total - *len;
		} else {
			want = first - *len;
		}
		/*
		 * A short read most likely emptied the socket: epoll says
		 * more. Not over TLS: a short read may only have ended a
		 * record, and the next is read now.
		 */
		if (short_read && t == NULL)
			return FRAME_MORE;
		n = link_recv(fd, t, buf + *len, want);
		if (n == 0)
			return FRAME_EOF;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? FRAME_MORE : FRAME_ERROR;
		}
		*len += (size_t)n;
		short_read = (size_t)n < want;
	}
}
