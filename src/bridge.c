/*
 * bridge: the data path. Theory of operation.
 *
 * Each direction (A->B, B->A) moves bytes src -> pipe -> dst with splice(),
 * so payload never enters user space. The direction counts the bytes
 * sitting in its pipe itself, because EAGAIN from splice cannot tell "source
 * empty" from "pipe full". Back-pressure is one rule: a direction reads its
 * source only when its pipe is empty, and asks for LOOP_OUT on its
 * destination while the pipe holds bytes. A slow reader therefore stops the
 * reads on the other side and nothing spins.
 *
 * Pipes are borrowed from the process's pool when a direction has bytes to
 * move and returned the moment the pipe is empty, so an idle connection
 * holds two sockets and nothing else. When no pipe can be had (EMFILE) or
 * splice is not supported, or the daemon runs with splicing off for
 * diagnosis, the direction moves bytes with read()/write() through a small
 * buffer instead, borrowed the same way.
 *
 * Retention (bridge_retain_a): until the owner knows B is really there, a
 * copy of every byte read from A is kept, with tee() into a second pipe,
 * so the owner can replay them on another connection if B turns out to
 * be dead. When the copy cannot take a whole read (the keep pipe is full,
 * or no pipe could be had), the direction is "held": the bytes stay in
 * its pipe, A is not read and B is not written, until the owner releases
 * the copy or takes A back. The copy is bounded by one pipe; nothing is
 * ever lost, at worst a big upload waits for the owner's verdict.
 *
 * End of stream: splice returning 0 marks RD_EOF; once the pipe is drained
 * the destination gets shutdown(SHUT_WR). The bridge closes when both
 * directions are shut, or at once on a reset or error, in which case the
 * other socket is closed with SO_LINGER 0 so the reset travels on.
 *
 * TLS sides (bridge_tls): both directions copy, reading and writing
 * through OpenSSL. A TLS read or write may wait for the other readiness
 * (DIR_XWANT asks for it), and end of stream towards a TLS side is
 * close_notify before the FIN, so the peer can tell a clean end from a
 * stream cut short (which it takes as a reset, and so does the bridge).
 * TLS may hold decrypted bytes that epoll cannot see: whenever a side
 * could be read and TLS holds some, a zero-delay timer (kick) reads them.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "log.h"
#include "net.h"
#include "tls.h"
#include "sys.h"

#define BRIDGE_MAGIC		0x42524447u	/* "BRDG" */
#define BRIDGE_BUDGET		(1024 * 1024)	/* bytes per event, per dir */
#define BRIDGE_COPY_BUF		(16 * 1024)
#define BRIDGE_CORK_MS		20	/* corked bytes wait at most this */

enum bridge_state {
	BRIDGE_NEW = 0,
	BRIDGE_RUNNING,
	BRIDGE_DEAD,
};

struct dir {
	int		 src, dst;	/* side indexes */
	int		 pipe[2];	/* borrowed, -1 when none */
	size_t		 in_pipe;	/* bytes in pipe or copy buffer */
	size_t		 asked;		/* by the last read */
	uint8_t		*buf;		/* copy mode buffer, borrowed */
	size_t		 buf_off;
	uint8_t		*pending;	/* written before anything else */
	size_t		 pending_len, pending_off;
	uint64_t	 bytes;		/* spliced or copied to dst */
	uint64_t	 pending_sent;	/* pending bytes written to dst */
	unsigned	 flags;
#define DIR_RD_EOF	0x01		/* source said EOF */
#define DIR_WR_SHUT	0x02		/* destination shut for writing */
#define DIR_COPY	0x04		/* read/write instead of splice */
#define DIR_GATED	0x08		/* owner holds the direction shut */
#define DIR_HELD	0x10		/* storage kept for the owner's verdict */
#define DIR_EAGER	0x20		/* source has bytes at start (bridge_eager) */
#define DIR_CORK	0x40		/* pending goes with MSG_MORE (bridge_cork) */
#define DIR_CORKED	0x80		/* corked bytes wait for the next write */
#define DIR_XWANT	0x100		/* TLS waits for the other readiness */
#define DIR_NOTIFY	0x200		/* close_notify owed to dst */
	size_t		 ack_n;		/* bridge_watch_ack's byte count */
	uint64_t	 ack_wire;	/* TLS bytes on the wire once sent */
};

struct side {
	struct handler	 h;
	struct bridge	*b;
	struct tls	*tls;		/* NULL: a plain socket */
};

struct bridge {
	uint32_t		 magic;
	enum bridge_state	 state;
	struct bridge_ctx	*ctx;
	struct side		 side[2];
	struct dir		 dir[2];
	bridge_close_fn		*close_cb;
	void			*close_arg;
	bridge_gate_fn		*gate;
	void			*gate_arg;
	/* the retained copy of A's bytes, in a pipe or (copy mode) a buffer */
	int			 retain;
	int			 keep[2];
	uint8_t			*keepbuf;
	size_t			 kept;
	size_t			 held_kept;	/* held bytes also in the copy */
	struct timer		 idle;
	uint64_t		 idle_ms, last_ms;
	ssize_t			 outq[2];	/* unacked bytes at the last look */
	struct timer		 cork;		/* pushes DIR_CORKED bytes */
	struct timer		 kick;		/* reads what TLS holds */
	struct bridge_info	 info;
};

static void	side_cb(struct loop *, struct handler *, uint32_t);
static void	idle_cb(struct loop *, struct timer *);
static void	cork_cb(struct loop *, struct timer *);
static void	kick_cb(struct loop *, struct timer *);
static void	finish(struct bridge *, enum bridge_end, int, const char *);
static void	run_gate(struct bridge *);
static void	settle(struct bridge *);

const char *
bridge_end_str(enum bridge_end e)
{
	switch (e) {
	case BRIDGE_END_DONE:	return "closed";
	case BRIDGE_END_RESET_A: return "reset by A";
	case BRIDGE_END_RESET_B: return "reset by B";
	case BRIDGE_END_IDLE:	return "idle timeout";
	case BRIDGE_END_CLOSED:	return "closed by owner";
	case BRIDGE_END_NOMEM:	return "out of resources";
	}
	return "unknown";
}

struct bridge *
bridge_new(struct bridge_ctx *ctx, int fd_a, int fd_b, bridge_close_fn *cb,
    void *arg)
{
	struct bridge *b;
	int i;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->magic = BRIDGE_MAGIC;
	b->ctx = ctx;
	b->close_cb = cb;
	b->close_arg = arg;
	loop_handler_init(&b->side[0].h, fd_a, side_cb);
	loop_handler_init(&b->side[1].h, fd_b, side_cb);
	for (i = 0; i < 2; i++) {
		b->side[i].b = b;
		b->dir[i].src = i;
		b->dir[i].dst = 1 - i;
		b->dir[i].pipe[0] = b->dir[i].pipe[1] = -1;
		if (ctx->no_splice || !sys_can_splice())
			b->dir[i].flags |= DIR_COPY;
	}
	b->keep[0] = b->keep[1] = -1;
	loop_timer_init(&b->idle, idle_cb);
	loop_timer_init(&b->cork, cork_cb);
	loop_timer_init(&b->kick, kick_cb);
	b->info.started_ms = loop_now(ctx->loop);
	b->last_ms = b->info.started_ms;
	ctx->live++;
	return b;
}

int
bridge_pending(struct bridge *b, int dir, const void *buf, size_t len)
{
	struct dir *d = &b->dir[dir];
	uint8_t *p;

	p = realloc(d->pending, d->pending_len + len);
	if (p == NULL)
		return -1;
	memcpy(p + d->pending_len, buf, len);
	d->pending = p;
	d->pending_len += len;
	return 0;
}

int
bridge_adopt(struct bridge *b, int s, struct handler *from)
{
	/* What a running side asks for; bridge_start() corrects the rest. */
	return loop_handover(b->ctx->loop, from, &b->side[s].h,
	    LOOP_IN | LOOP_RDHUP);
}

void
bridge_eager(struct bridge *b, int dir)
{
	b->dir[dir].flags |= DIR_EAGER;
}

void
bridge_cork(struct bridge *b, int dir)
{
	b->dir[dir].flags |= DIR_CORK;
}

/* Spliced bytes went out after corked ones: they pushed them too. */
static void
uncorked(struct bridge *b, struct dir *d)
{
	d->flags &= ~DIR_CORKED;
	if (!(b->dir[0].flags & DIR_CORKED) && !(b->dir[1].flags & DIR_CORKED))
		loop_timer_cancel(b->ctx->loop, &b->cork);
}

static void
cork_cb(struct loop *l, struct timer *t)
{
	struct bridge *b = container_of(t, struct bridge, cork);
	int s;

	(void)l;
	if (b->state != BRIDGE_RUNNING)
		return;
	/* Nothing followed in time: TCP_NODELAY pushes what is queued. */
	for (s = 0; s < 2; s++) {
		if (b->dir[s].flags & DIR_CORKED) {
			b->dir[s].flags &= ~DIR_CORKED;
			(void)net_nodelay(b->side[b->dir[s].dst].h.fd);
		}
	}
}

void
bridge_tls(struct bridge *b, int s, struct tls *t)
{
	b->side[s].tls = t;
	b->dir[0].flags |= DIR_COPY;
	b->dir[1].flags |= DIR_COPY;
}

void
bridge_watch_ack(struct bridge *b, int dir, size_t n)
{
	b->dir[dir].ack_n = n;
	b->dir[dir].ack_wire = 0;
}

int
bridge_acked(const struct bridge *b, int dir)
{
	const struct dir *d = &b->dir[dir];
	struct tls *t = b->side[d->dst].tls;
	ssize_t unacked;
	uint64_t sent;

	if (b->state == BRIDGE_DEAD ||
	    (unacked = sys_tcp_unacked(b->side[d->dst].h.fd)) < 0)
		return 0;
	if (t == NULL) {
		sent = bridge_sent(b, dir);
		return sent >= (uint64_t)unacked &&
		    sent - (uint64_t)unacked >= d->ack_n;
	}
	/* Records go whole: the one that ends the watched bytes must be in. */
	sent = tls_wire_sent(t);
	return d->ack_wire != 0 && sent >= (uint64_t)unacked &&
	    sent - (uint64_t)unacked >= d->ack_wire;
}

/* Bytes went out through TLS: where the watched ones end on the wire. */
static void
wrote_tls(struct dir *d, struct tls *t)
{
	if (d->ack_wire == 0 && d->ack_n > 0 &&
	    d->pending_sent + d->bytes >= d->ack_n)
		d->ack_wire = tls_wire_sent(t);
}

/* TLS said EAGAIN in d: note whether it waits for the other readiness. */
static void
tls_wait(struct dir *d, struct tls *t, uint32_t natural)
{
	if (tls_events(t) != natural)
		d->flags |= DIR_XWANT;
	else
		d->flags &= ~DIR_XWANT;
}

void
bridge_gate(struct bridge *b, bridge_gate_fn *gate, void *arg)
{
	b->gate = gate;
	b->gate_arg = arg;
	b->dir[BRIDGE_BA].flags |= DIR_GATED;
}

void
bridge_retain_a(struct bridge *b)
{
	b->retain = 1;
}

void
bridge_idle_timeout(struct bridge *b, uint64_t ms)
{
	b->idle_ms = ms;
	if (ms == 0)
		loop_timer_cancel(b->ctx->loop, &b->idle);
	else
		loop_timer_set(b->ctx->loop, &b->idle, ms);
}

uint64_t
bridge_bytes(const struct bridge *b, int dir)
{
	return b->dir[dir].bytes;
}

uint64_t
bridge_sent(const struct bridge *b, int dir)
{
	return b->dir[dir].pending_sent + b->dir[dir].bytes;
}

int
bridge_fd(const struct bridge *b, int s)
{
	return b->state == BRIDGE_DEAD ? -1 : b->side[s].h.fd;
}

/* The epoll mask side s needs, from the state of both directions. */
static uint32_t
side_mask(const struct bridge *b, int s)
{
	const struct dir *out = &b->dir[s];	/* reads from s */
	const struct dir *in = &b->dir[1 - s];	/* writes to s */
	uint32_t m = 0;

	/* LOOP_RDHUP tells pump() a FIN is waiting behind the data. */
	if (out->flags & DIR_GATED)
		m |= LOOP_IN | LOOP_RDHUP;
	else if (!(out->flags & DIR_RD_EOF) && out->in_pipe == 0 &&
	    out->pending_off == out->pending_len)
		m |= LOOP_IN | LOOP_RDHUP;
	if (!(in->flags & DIR_WR_SHUT) && ((in->in_pipe > 0 &&
	    !(in->flags & DIR_HELD)) || in->pending_off < in->pending_len ||
	    (in->flags & DIR_NOTIFY)))
		m |= LOOP_OUT;
	/* A TLS read that must write first, or a write that must read. */
	if (out->flags & DIR_XWANT)
		m |= LOOP_OUT;
	if (in->flags & DIR_XWANT)
		m |= LOOP_IN;
	return m;
}

static void
update(struct bridge *b)
{
	int s;

	for (s = 0; s < 2; s++) {
		if (b->side[s].h.fd == -1)
			continue;
		if (loop_update(b->ctx->loop, &b->side[s].h,
		    side_mask(b, s)) == -1) {
			finish(b, BRIDGE_END_NOMEM, errno, NULL);
			return;
		}
	}
}

/* Gives the direction's pipe or buffer back once it holds nothing. */
static void
release_storage(struct bridge *b, struct dir *d)
{
	if (d->in_pipe != 0)
		return;
	if (d->pipe[0] != -1)
		pipe_put(b->ctx->pipes, d->pipe);
	free(d->buf);
	d->buf = NULL;
	d->buf_off = 0;
}

/* Side s failed (reset, error): the bridge ends, passing the reset on. */
static void
side_failed(struct bridge *b, int s, int err)
{
	/*
	 * B failed while its answer is still awaited (a write towards it
	 * found the reset first): the owner's gate hears it, as it would
	 * have on B's own event, so that it can keep A and go elsewhere.
	 */
	if (s == 1 && (b->dir[BRIDGE_BA].flags & DIR_GATED) &&
	    b->gate != NULL) {
		run_gate(b);
		if (b->state != BRIDGE_RUNNING)
			return;
	}
	finish(b, s == 0 ? BRIDGE_END_RESET_A : BRIDGE_END_RESET_B, err,
	    NULL);
}

/*
 * Writes queued pending bytes; more is MSG_MORE when spliced bytes follow
 * at once. Return: 1 when all written, 0 if blocked, -1 after a close.
 */
static int
flush_pending(struct bridge *b, struct dir *d, int more)
{
	int fd = b->side[d->dst].h.fd;
	struct tls *t = b->side[d->dst].tls;

	while (d->pending_off < d->pending_len) {
		ssize_t n = t != NULL ? tls_send(t, d->pending +
		    d->pending_off, d->pending_len - d->pending_off) :
		    sys_send(fd, d->pending + d->pending_off,
		    d->pending_len - d->pending_off, SYS_NOSIGNAL | more);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (t != NULL)
					tls_wait(d, t, LOOP_OUT);
				return 0;
			}
			side_failed(b, d->dst, errno);
			return -1;
		}
		d->pending_off += (size_t)n;
		d->pending_sent += (uint64_t)n;
		if (t != NULL) {
			d->flags &= ~DIR_XWANT;
			wrote_tls(d, t);
		}
	}
	free(d->pending);
	d->pending = NULL;
	d->pending_len = d->pending_off = 0;
	return 1;
}

/*
 * Moves bytes already held by d to its destination. Return: 1 when the
 * storage is empty, 0 when the destination is full, -1 after a close.
 */
static int
drain(struct bridge *b, struct dir *d)
{
	int fd = b->side[d->dst].h.fd;
	struct tls *t = b->side[d->dst].tls;

	while (d->in_pipe > 0) {
		ssize_t n;

		if (t != NULL)
			n = tls_send(t, d->buf + d->buf_off, d->in_pipe);
		else if (d->flags & DIR_COPY)
			n = sys_send(fd, d->buf + d->buf_off, d->in_pipe,
			    SYS_NOSIGNAL);
		else
			n = sys_splice(d->pipe[0], fd, d->in_pipe);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (t != NULL)
					tls_wait(d, t, LOOP_OUT);
				return 0;
			}
			side_failed(b, d->dst, errno);
			return -1;
		}
		if (t != NULL)
			d->flags &= ~DIR_XWANT;
		d->in_pipe -= (size_t)n;
		b->ctx->held -= (size_t)n;
		d->bytes += (uint64_t)n;
		if (t != NULL)
			wrote_tls(d, t);
		/* A reader taking its bytes is as active as a writer. */
		b->last_ms = loop_now(b->ctx->loop);
		if (d->flags & DIR_CORKED)
			uncorked(b, d);
		if (d->flags & DIR_COPY) {
			d->buf_off += (size_t)n;
			b->ctx->copied += (uint64_t)n;
		} else {
			b->ctx->spliced += (uint64_t)n;
		}
	}
	return 1;
}

/* Gets a pipe, or falls back to copying when none can be made. */
static int
get_storage(struct bridge *b, struct dir *d)
{
	if (!(d->flags & DIR_COPY)) {
		if (d->pipe[0] != -1)
			return 0;
		if (pipe_get(b->ctx->pipes, d->pipe) == 0)
			return 0;
		log_debug("no pipe for a bridge (%s): copying instead",
		    strerror(errno));
		d->flags |= DIR_COPY;
	}
	if (d->buf == NULL && (d->buf = malloc(BRIDGE_COPY_BUF)) == NULL)
		return -1;
	d->buf_off = 0;
	return 0;
}

/* Frees the retained copy of A's bytes. */
static void
keep_free(struct bridge *b)
{
	b->ctx->held -= b->kept;
	if (b->keep[0] != -1)
		pipe_drop(b->ctx->pipes, b->keep, b->kept);
	free(b->keepbuf);
	b->keepbuf = NULL;
	b->kept = 0;
	b->retain = 0;
}

/*
 * Adds the bytes just read into d's empty storage to the retained copy;
 * what the copy cannot take holds the direction (see the top).
 */
static void
keep_copy(struct bridge *b, struct dir *d)
{
	size_t cap = pipe_capacity(b->ctx->pipes), k = 0;
	ssize_t n = -1;

	if (b->keep[0] == -1 && b->keepbuf == NULL) {
		if (d->flags & DIR_COPY)
			b->keepbuf = malloc(cap);
		else if (pipe_get(b->ctx->pipes, b->keep) == -1)
			b->keep[0] = b->keep[1] = -1;
	}
	if (b->keep[0] != -1) {
		do {
			if (d->flags & DIR_COPY)
				n = write(b->keep[1], d->buf, d->in_pipe);
			else
				n = sys_tee(d->pipe[0], b->keep[1], d->in_pipe);
		} while (n == -1 && errno == EINTR);
		k = n > 0 ? (size_t)n : 0;
	} else if (b->keepbuf != NULL) {
		k = cap - b->kept < d->in_pipe ? cap - b->kept : d->in_pipe;
		memcpy(b->keepbuf + b->kept, d->buf, k);
	}
	b->kept += k;
	b->ctx->held += k;
	if (k < d->in_pipe) {
		d->flags |= DIR_HELD;
		b->held_kept = k;
	}
}

void
bridge_release_a(struct bridge *b)
{
	struct dir *d = &b->dir[BRIDGE_AB];

	keep_free(b);
	if (d->flags & DIR_HELD) {
		d->flags &= ~DIR_HELD;
		if (b->state == BRIDGE_RUNNING)
			update(b);
	}
}

/* Reads exactly n bytes from a non-blocking pipe that holds them. */
static int
read_pipe(int fd, uint8_t *out, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, out, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		out += r;
		n -= (size_t)r;
	}
	return 0;
}

ssize_t
bridge_retained_a(struct bridge *b, uint8_t **out)
{
	struct dir *d = &b->dir[BRIDGE_AB];
	size_t held = (d->flags & DIR_HELD) ? d->in_pipe : 0;
	size_t total = b->kept + held - (held ? b->held_kept : 0);
	uint8_t *buf;
	int bad = 0;

	*out = NULL;
	if (total == 0) {
		keep_free(b);
		return 0;
	}
	if ((buf = malloc(total)) == NULL) {
		keep_free(b);
		return -1;
	}
	if (b->keep[0] != -1)
		bad = read_pipe(b->keep[0], buf, b->kept);
	else if (b->keepbuf != NULL)
		memcpy(buf, b->keepbuf, b->kept);
	/*
	 * Held bytes begin with the held_kept bytes that ended the copy:
	 * reading them over the copy's tail leaves one exact sequence.
	 */
	if (held > 0 && !bad) {
		uint8_t *at = buf + b->kept - b->held_kept;

		if (d->flags & DIR_COPY) {
			memcpy(at, d->buf + d->buf_off, held);
		} else if ((bad = read_pipe(d->pipe[0], at, held)) == 0) {
			d->in_pipe = 0;
			b->ctx->held -= held;
		}
	}
	if (b->keep[0] != -1) {
		if (bad)
			pipe_kill(b->ctx->pipes, b->keep);
		else
			pipe_put(b->ctx->pipes, b->keep);
	}
	keep_free(b);
	if (bad) {
		free(buf);
		return -1;
	}
	*out = buf;
	return (ssize_t)total;
}

/*
 * Reads from the source into empty storage. Return: 1 if bytes came,
 * 0 if none are there (or EOF was seen), -1 after a close.
 */
/*
 * How much one read may take: a whole pipe, or while the process holds
 * more than its budget, BRIDGE_LEAN_READ. A reader that stops reading
 * (its bytes then stay with us) holds little, and nobody starves: every
 * direction still moves, in smaller steps.
 */
static size_t
read_len(const struct bridge *b, size_t cap)
{
	const struct bridge_ctx *c = b->ctx;

	if (c->budget == 0 || c->held + cap <= c->budget ||
	    cap <= BRIDGE_LEAN_READ)
		return cap;
	return BRIDGE_LEAN_READ;
}

static int
fill(struct bridge *b, struct dir *d)
{
	int fd = b->side[d->src].h.fd;
	struct tls *t = b->side[d->src].tls;
	ssize_t n;

	if (get_storage(b, d) == -1) {
		finish(b, BRIDGE_END_NOMEM, ENOMEM, NULL);
		return -1;
	}
	d->asked = read_len(b, (d->flags & DIR_COPY) ? BRIDGE_COPY_BUF :
	    pipe_capacity(b->ctx->pipes));
	for (;;) {
		if (t != NULL)
			n = tls_recv(t, d->buf, d->asked);
		else if (d->flags & DIR_COPY)
			n = sys_recv(fd, d->buf, d->asked, 0);
		else
			n = sys_splice(fd, d->pipe[1], d->asked);
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (t != NULL) {
		if (n == -1 && errno == EAGAIN)
			tls_wait(d, t, LOOP_IN);
		else
			d->flags &= ~DIR_XWANT;
	}
	if (n > 0) {
		d->in_pipe = (size_t)n;
		b->ctx->held += (size_t)n;
		b->last_ms = loop_now(b->ctx->loop);
		if (b->retain && d->src == 0)
			keep_copy(b, d);
		return 1;
	}
	if (n == 0) {
		d->flags |= DIR_RD_EOF;
		return 0;
	}
	if (errno == EAGAIN)
		return 0;
	if (t != NULL)
		log_debug("bridge: %s", tls_error(t));
	if ((errno == EINVAL || errno == ENOSYS) && !(d->flags & DIR_COPY)) {
		/* Not spliceable (never for TCP; kept for odd sockets). */
		pipe_kill(b->ctx->pipes, d->pipe);
		d->flags |= DIR_COPY;
		return fill(b, d);
	}
	side_failed(b, d->src, errno);
	return -1;
}


/*
 * Moves as much as the budget allows in direction d. Return -1 if closed.
 * src_fin: the source is known to have sent FIN (LOOP_RDHUP).
 */
static int
pump(struct bridge *b, struct dir *d, int src_fin)
{
	size_t moved = 0;
	int r, short_fill = 0;

	if (d->flags & DIR_WR_SHUT)
		return 0;
	if (d->pending_off < d->pending_len) {
		r = flush_pending(b, d, 0);
		if (r <= 0)
			return r;
	}
	while (moved < BRIDGE_BUDGET) {
		uint64_t before = d->bytes;

		if (d->flags & DIR_HELD)
			return 0;	/* until the owner's verdict */
		if (d->in_pipe > 0) {
			r = drain(b, d);
			moved += (size_t)(d->bytes - before);
			if (r <= 0)
				return r;
			/*
			 * A read that did not fill the pipe most likely
			 * emptied the socket: epoll (level-triggered) says
			 * when more comes, which saves a splice that would
			 * only return EAGAIN. A pending FIN is read now.
			 */
			if (short_fill && !src_fin &&
			    (b->side[d->src].tls == NULL ||
			    !tls_pending(b->side[d->src].tls)))
				break;
		}
		if ((d->flags & (DIR_RD_EOF | DIR_GATED)) != 0)
			break;
		r = fill(b, d);
		if (r <= 0) {
			if (r == -1)
				return -1;
			break;
		}
		short_fill = d->in_pipe < d->asked;
	}
	release_storage(b, d);
	if ((d->flags & DIR_RD_EOF) && d->in_pipe == 0) {
		struct tls *t = b->side[d->dst].tls;

		/*
		 * TLS ends with close_notify, last direction or not: a FIN
		 * alone would read as a stream cut short.
		 */
		if (t != NULL) {
			r = tls_close_notify(t);
			if (r == 0) {
				d->flags |= DIR_NOTIFY;
				tls_wait(d, t, LOOP_OUT);
				return 0;
			}
			if (r == -1) {
				side_failed(b, d->dst, errno);
				return -1;
			}
			d->flags &= ~(DIR_NOTIFY | DIR_XWANT);
		}
		/*
		 * The last direction to end needs no shutdown: the bridge
		 * closes both sockets next (gracefully), and close() sends
		 * the same FIN, as every byte from that socket was read.
		 */
		if (!(b->dir[d->dst].flags & DIR_WR_SHUT) &&
		    sys_shutdown(b->side[d->dst].h.fd, SHUT_WR) == -1 &&
		    errno != ENOTCONN)
			log_debug("shutdown: %s", strerror(errno));
		d->flags |= DIR_WR_SHUT;
	}
	return 0;
}

static void
run_gate(struct bridge *b)
{
	int r;

	r = b->gate(b, b->side[1].h.fd, b->side[1].tls, b->gate_arg);
	if (r == 1)
		b->dir[BRIDGE_BA].flags &= ~DIR_GATED;
	/* r == -1: the owner closed or detached; state tells the rest. */
}

static void
side_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct side *sd = container_of(h, struct side, h);
	struct bridge *b = sd->b;
	int s = (int)(sd - b->side);
	struct dir *out = &b->dir[s], *in = &b->dir[1 - s];

	(void)l;
	if (b->magic != BRIDGE_MAGIC)
		fatalx("bridge: bad magic");
	if (b->state != BRIDGE_RUNNING)
		return;
	/*
	 * The gate first: a B that answered and then failed must be heard
	 * before a write towards it reports the failure.
	 */
	if (s == 1 && (out->flags & DIR_GATED) &&
	    (events & (LOOP_IN | LOOP_ERR | LOOP_HUP | LOOP_RDHUP))) {
		run_gate(b);
		if (b->state != BRIDGE_RUNNING)
			return;
	}
	if ((events & (LOOP_OUT | LOOP_ERR | LOOP_HUP)) ||
	    ((events & LOOP_IN) && (in->flags & DIR_XWANT))) {
		if (pump(b, in, 0) == -1 || b->state != BRIDGE_RUNNING)
			return;
	}
	if (((events & (LOOP_IN | LOOP_ERR | LOOP_HUP | LOOP_RDHUP)) ||
	    ((events & LOOP_OUT) && (out->flags & DIR_XWANT))) &&
	    !(out->flags & DIR_GATED) &&
	    pump(b, out, (events & LOOP_RDHUP) != 0) == -1)
		return;
	settle(b);
}

/*
 * Side s would be read now, but TLS holds its next bytes already
 * decrypted or a whole record, which epoll will never report.
 */
static int
tls_holds(struct bridge *b, int s)
{
	const struct dir *out = &b->dir[s];

	return b->side[s].tls != NULL && b->side[s].h.fd != -1 &&
	    !(out->flags & DIR_RD_EOF) && out->in_pipe == 0 &&
	    out->pending_off == out->pending_len &&
	    tls_pending(b->side[s].tls);
}

/* After any step: close when both ways are done, else update the masks. */
static void
settle(struct bridge *b)
{
	if (b->state != BRIDGE_RUNNING)
		return;
	if ((b->dir[0].flags & DIR_WR_SHUT) && (b->dir[1].flags & DIR_WR_SHUT)) {
		finish(b, BRIDGE_END_DONE, 0, NULL);
		return;
	}
	update(b);
	if (b->state == BRIDGE_RUNNING && (tls_holds(b, 0) || tls_holds(b, 1)))
		loop_timer_set(b->ctx->loop, &b->kick, 0);
}

static void
kick_cb(struct loop *l, struct timer *t)
{
	struct bridge *b = container_of(t, struct bridge, kick);
	int s;

	(void)l;
	for (s = 0; s < 2 && b->state == BRIDGE_RUNNING; s++) {
		if (!tls_holds(b, s))
			continue;
		if (s == 1 && (b->dir[BRIDGE_BA].flags & DIR_GATED)) {
			if (b->gate != NULL)
				run_gate(b);
		} else {
			(void)pump(b, &b->dir[s], 0);
		}
	}
	settle(b);
}

/*
 * A peer still taking bytes is active, even when no read or write of ours
 * happened for a while: a slow reader empties a send queue of megabytes
 * long before the socket asks for more. So at the deadline, a send queue
 * whose size changed since the last look counts as activity.
 */
static int
queues_moved(struct bridge *b)
{
	int s, moved = 0;

	for (s = 0; s < 2; s++) {
		ssize_t q = b->side[s].h.fd == -1 ? -1 :
		    sys_tcp_unacked(b->side[s].h.fd);

		if (q != b->outq[s])
			moved = 1;
		b->outq[s] = q;
	}
	return moved;
}

static void
idle_cb(struct loop *l, struct timer *t)
{
	struct bridge *b = container_of(t, struct bridge, idle);
	uint64_t quiet = loop_now(l) - b->last_ms;

	if (b->state != BRIDGE_RUNNING)
		return;
	if (quiet >= b->idle_ms && queues_moved(b)) {
		b->last_ms = loop_now(l);
		quiet = 0;
	}
	if (quiet >= b->idle_ms)
		finish(b, BRIDGE_END_IDLE, 0, NULL);
	else
		loop_timer_set(l, t, b->idle_ms - quiet);
}

int
bridge_start(struct bridge *b)
{
	int s;

	b->state = BRIDGE_RUNNING;
	/*
	 * If this process dies mid-transfer the kernel closes both sockets:
	 * with SO_LINGER 0 that is a reset both peers see, never a FIN that
	 * would make a cut-short transfer look complete.
	 */
	for (s = 0; s < 2; s++)
		if (b->side[s].h.fd != -1)
			net_linger_reset(b->side[s].h.fd, 1);
	/* Pending bytes go out first; a write now saves an epoll round. */
	for (s = 0; s < 2; s++) {
		struct dir *d = &b->dir[s];
		int eager = (d->flags & DIR_EAGER) && !(d->flags & DIR_GATED);
		int corked = (eager || (d->flags & DIR_CORK)) &&
		    d->pending_len > 0;
		uint64_t before = d->bytes;

		if (d->pending_len > 0 &&
		    flush_pending(b, d, corked ? MSG_MORE : 0) == -1)
			return -1;
		if (!eager) {
			if (corked && d->pending_len == 0) {
				d->flags |= DIR_CORKED;
				loop_timer_set(b->ctx->loop, &b->cork,
				    BRIDGE_CORK_MS);
			}
			continue;
		}
		if (pump(b, d, 0) == -1 || b->state != BRIDGE_RUNNING)
			return -1;
		/*
		 * Nothing followed the corked bytes after all (the bytes
		 * were not there yet): TCP_NODELAY pushes them out now.
		 */
		if (corked && d->bytes == before && !(d->flags & DIR_WR_SHUT))
			(void)net_nodelay(b->side[d->dst].h.fd);
	}
	settle(b);
	return b->state == BRIDGE_RUNNING ? 0 : -1;
}

struct tls *
bridge_take_tls(struct bridge *b, int s)
{
	struct tls *t = b->side[s].tls;

	b->side[s].tls = NULL;
	return t;
}

int
bridge_detach_a(struct bridge *b)
{
	int fd = b->side[0].h.fd;

	loop_remove(b->ctx->loop, &b->side[0].h);
	b->side[0].h.fd = -1;
	tls_free(b->side[0].tls);	/* not taken back: not wanted */
	b->side[0].tls = NULL;
	if (fd != -1)
		net_linger_reset(fd, 0);	/* its last words must arrive */
	return fd;
}

static void
free_bridge(void *arg)
{
	struct bridge *b = arg;

	b->magic = 0;
	free(b);
}

static void
finish(struct bridge *b, enum bridge_end end, int err, const char *reason)
{
	int s, graceful[2];
	size_t left;

	if (b->state == BRIDGE_DEAD)
		return;
	/*
	 * Sockets carry SO_LINGER 0 while bridged (see bridge_start). A clean
	 * end restores the graceful close so the last bytes still queued
	 * reach the peer; so does an idle end, for a side that has received
	 * everything meant for it (a quiet connection is not a crash). Any
	 * other end keeps the reset, so the survivor's peer sees RST, not a
	 * clean-looking FIN on a stream that was cut short.
	 */
	for (s = 0; s < 2; s++) {
		const struct dir *in = &b->dir[1 - s];

		graceful[s] = end == BRIDGE_END_DONE ||
		    (end == BRIDGE_END_IDLE && in->in_pipe == 0 &&
		    in->pending_off == in->pending_len);
	}
	b->state = BRIDGE_DEAD;
	loop_timer_cancel(b->ctx->loop, &b->idle);
	loop_timer_cancel(b->ctx->loop, &b->cork);
	loop_timer_cancel(b->ctx->loop, &b->kick);
	keep_free(b);
	for (s = 0; s < 2; s++) {
		struct dir *d = &b->dir[s];

		/*
		 * Closing a side with a reset throws away what its send
		 * queue still holds: those bytes never reach the peer, so
		 * they are not counted as sent.
		 */
		if (!graceful[d->dst] && b->side[d->dst].h.fd != -1) {
			ssize_t unsent = sys_tcp_unsent(b->side[d->dst].h.fd);

			if (unsent > 0)
				d->bytes -= (uint64_t)unsent < d->bytes ?
				    (uint64_t)unsent : d->bytes;
		}
		left = d->in_pipe;
		b->ctx->held -= left;	/* lost with the bridge */
		d->in_pipe = 0;
		if (d->pipe[0] != -1) {
			if (left == 0)
				pipe_put(b->ctx->pipes, d->pipe);
			else
				pipe_kill(b->ctx->pipes, d->pipe);
		}
		free(d->buf);
		free(d->pending);
		d->buf = d->pending = NULL;
		b->info.bytes[s] = d->bytes;
	}
	for (s = 0; s < 2; s++) {
		struct handler *h = &b->side[s].h;

		/* A quiet end is a clean one for TLS too (the idle case). */
		if (graceful[s] && b->side[s].tls != NULL &&
		    !(b->dir[1 - s].flags & DIR_WR_SHUT))
			(void)tls_close_notify(b->side[s].tls);
		tls_free(b->side[s].tls);
		b->side[s].tls = NULL;
		if (h->fd == -1)
			continue;
		if (graceful[s])
			net_linger_reset(h->fd, 0);
		loop_close(b->ctx->loop, h);
	}
	b->ctx->live--;
	b->info.end = end;
	b->info.err = err;
	b->info.reason = reason;
	if (b->close_cb != NULL)
		b->close_cb(b, b->close_arg, &b->info);
	(void)loop_defer(b->ctx->loop, free_bridge, b);
}

int
bridge_dismantle(struct bridge *b, const char *reason,
    struct bridge_info *info)
{
	int fd = bridge_detach_a(b);

	b->close_cb = NULL;
	finish(b, BRIDGE_END_CLOSED, 0, reason);
	*info = b->info;
	return fd;
}

void
bridge_close(struct bridge *b, const char *reason)
{
	finish(b, BRIDGE_END_CLOSED, 0, reason);
}
