/*
 * bridge: joins two connected, non-blocking sockets A and B and moves bytes
 * both ways with splice() through borrowed pipes, with back-pressure,
 * half-close forwarded after the pipe drains, resets passed along, byte
 * counts and one close callback. It knows nothing of who owns the sockets.
 *
 * Two hooks let an owner slot a protocol step in without copying payload:
 * "pending" bytes are written to a side before any spliced byte (a frame
 * header, bytes consumed while sniffing), and a "gate" on the B->A
 * direction hands B's first readable event to the owner until it says the
 * direction may open (the server reads the client's STATUS frame there).
 *
 * A side may carry TLS (bridge_tls): its bytes are then read and written
 * through OpenSSL, so both directions copy through a small buffer instead
 * of splicing. Nothing above the bridge needs to know which kind a side
 * is. (A socket with kernel TLS would be, to the bridge, a plain side.)
 */
#ifndef TUNNEL_BRIDGE_H
#define TUNNEL_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop.h"
#include "pipe.h"

#define BRIDGE_AB		0	/* direction A -> B */
#define BRIDGE_BA		1	/* direction B -> A */

/* Process-wide state shared by every bridge of a daemon. */
struct bridge_ctx {
	struct loop		*loop;
	struct pipe_pool	*pipes;
	int			 no_splice;	/* diagnosis: copy through user space */
	uint64_t		 spliced;	/* bytes moved by splice, all bridges */
	uint64_t		 copied;	/* bytes moved by read/write */
	uint64_t		 live;		/* bridges open now */
	/*
	 * Bytes bridges hold in pipes and copy buffers, and the most they
	 * should (0 = no limit). Past the budget a read takes at most
	 * BRIDGE_LEAN_READ bytes, so a stalled reader holds that little:
	 * held stays below budget + BRIDGE_LEAN_READ per direction.
	 */
	size_t			 held;
	size_t			 budget;
};

#define BRIDGE_LEAN_READ	(16 * 1024)

enum bridge_end {
	BRIDGE_END_DONE = 0,	/* both directions ended with EOF */
	BRIDGE_END_RESET_A,	/* A reset or failed */
	BRIDGE_END_RESET_B,	/* B reset or failed */
	BRIDGE_END_IDLE,	/* idle timeout */
	BRIDGE_END_CLOSED,	/* the owner called bridge_close() */
	BRIDGE_END_NOMEM,	/* no pipe and no buffer could be had */
};

struct bridge_info {
	uint64_t	 bytes[2];	/* [BRIDGE_AB], [BRIDGE_BA] */
	uint64_t	 started_ms;	/* loop_now() at bridge_new */
	enum bridge_end	 end;
	int		 err;		/* errno behind a RESET/NOMEM end, or 0 */
	const char	*reason;	/* owner's reason for BRIDGE_END_CLOSED */
};

struct bridge;
struct tls;

/* Called exactly once, after both sockets are closed. b is freed later. */
typedef void	bridge_close_fn(struct bridge *b, void *arg,
		    const struct bridge_info *info);

/*
 * Called when B is readable while the gate is shut. Reads what it needs
 * from fd, through t when B carries TLS (see frameio.h). Return: 0 to keep waiting, 1 to open the direction (the bridge
 * then splices whatever follows), -1 after it has closed the bridge.
 */
typedef int	bridge_gate_fn(struct bridge *b, int fd, struct tls *t,
		    void *arg);

/*
 * Makes a bridge that owns fd_a and fd_b from now on (it closes them).
 * Nothing moves until bridge_start(). Return: the bridge, or NULL (the
 * fds are then still the caller's).
 */
struct bridge	*bridge_new(struct bridge_ctx *ctx, int fd_a, int fd_b,
		    bridge_close_fn *cb, void *arg);

/*
 * Queues len bytes to write to the destination of direction dir before
 * anything spliced in that direction. Return: 0 or -1 (out of memory).
 */
int		 bridge_pending(struct bridge *b, int dir, const void *buf,
		    size_t len);

/*
 * Side s takes over from's epoll registration (from->fd is that side's fd):
 * one EPOLL_CTL_MOD instead of a DEL and, at bridge_start(), an ADD. Call
 * before bridge_start(). Return: 0, or -1 (from then keeps the fd,
 * unregistered, and bridge_start() registers the side itself).
 */
int		 bridge_adopt(struct bridge *b, int s, struct handler *from);

/*
 * Bytes are known to be waiting on the source of direction dir (a visitor
 * whose first bytes were seen): bridge_start() sends dir's pending bytes
 * with MSG_MORE and moves the waiting ones at once, so that both leave in
 * one segment instead of two and no epoll round is spent in between.
 */
void		 bridge_eager(struct bridge *b, int dir);

/*
 * dir's pending bytes are a header for what the other end will send soon
 * (the client's STATUS before the service's answer): bridge_start() sends
 * them with MSG_MORE so that they leave with the first spliced bytes, and
 * pushes them alone after BRIDGE_CORK_MS if none come.
 */
void		 bridge_cork(struct bridge *b, int dir);

/*
 * Side s's bytes go through TLS session t over its socket; the bridge owns
 * t from then on and frees it. Call before bridge_start().
 */
void		 bridge_tls(struct bridge *b, int s, struct tls *t);
/*
 * Takes side s's TLS back (the bridge will not free it): for an owner that
 * goes on with the side after bridge_detach_a() or bridge_dismantle().
 * Return: it, or NULL for a plain side.
 */
struct tls	*bridge_take_tls(struct bridge *b, int s);

/*
 * Watches the first n bytes written in direction dir (pending ones
 * included): bridge_acked() then says whether the peer's TCP has
 * acknowledged them all (over TLS: the whole records that carry them).
 */
void		 bridge_watch_ack(struct bridge *b, int dir, size_t n);
int		 bridge_acked(const struct bridge *b, int dir);

/* Shuts the B->A direction until gate returns 1. */
void		 bridge_gate(struct bridge *b, bridge_gate_fn *gate, void *arg);

/*
 * Keeps a copy of every byte read from A (bounded by one pipe; beyond it A
 * waits) until bridge_release_a() or bridge_take_a(), so the owner can
 * replay them elsewhere when B proves dead before answering.
 */
void		 bridge_retain_a(struct bridge *b);

/* Drops the copy: B answered, bytes flow freely again. */
void		 bridge_release_a(struct bridge *b);

/*
 * Hands over every byte read from A so far, in order, in a malloc'd *out
 * (NULL when none), and ends the retention; the owner then detaches A and
 * closes the bridge. Return: the count, or -1 if the bytes are lost (out
 * of memory, a pipe error).
 */
ssize_t		 bridge_retained_a(struct bridge *b, uint8_t **out);

/* Closes both sides when no byte moved for ms milliseconds (0 = never). */
void		 bridge_idle_timeout(struct bridge *b, uint64_t ms);

/* Registers both sides with the loop. Return: 0, or -1 (bridge closed). */
int		 bridge_start(struct bridge *b);

/*
 * Takes socket A back from the bridge (for a last word to a visitor); the
 * bridge forgets it and will not close it. Return: the fd.
 */
int		 bridge_detach_a(struct bridge *b);

/*
 * Ends the bridge but gives socket A back (as bridge_detach_a) and does
 * NOT call the close callback: for an owner that goes on with A (a retry
 * elsewhere, a last word to a visitor). B is closed as by bridge_close.
 * *info gets the final counts. Return: A's fd; b is freed later.
 */
int		 bridge_dismantle(struct bridge *b, const char *reason,
		    struct bridge_info *info);

/* Closes the bridge now, with reason for the close callback. */
void		 bridge_close(struct bridge *b, const char *reason);

/* Byte counts so far. */
uint64_t	 bridge_bytes(const struct bridge *b, int dir);
/* Every byte written to dir's destination so far, pending ones included. */
uint64_t	 bridge_sent(const struct bridge *b, int dir);
/* Side s's socket, or -1 once closed: for socket options, never I/O. */
int		 bridge_fd(const struct bridge *b, int s);

const char	*bridge_end_str(enum bridge_end e);

#endif
