/*
 * loop: one level-triggered event loop with fd handlers, monotonic
 * millisecond timers (a pairing heap), signals, and deferred work that
 * runs after each batch of events. Objects embed a struct handler per fd
 * and a struct timer per deadline and get back to themselves with
 * container_of(). Nothing here knows what a socket means.
 *
 * Two backends sit behind this header, chosen at build time: epoll with
 * signalfd (Linux, loop_epoll.c) and poll(2) with a signal pipe from the
 * platform layer (everywhere else, and `make BACKEND=poll` on Linux,
 * loop_poll.c). Both give the same events for the same masks, except that
 * LOOP_RDHUP exists only where the system has it (Linux): elsewhere a
 * peer's FIN is seen as LOOP_IN and a read of 0.
 */
#ifndef TUNNEL_LOOP_H
#define TUNNEL_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * Event bits, for masks and callbacks. The values are epoll's, so the
 * Linux backend passes them through untouched; the poll backend
 * translates. LOOP_ET asks for each readiness once (epoll's EPOLLET; the
 * poll backend reports once and then stops watching the fd until its mask
 * changes): a connection parked with it is woken by a reset or an error
 * but never spins on a condition it does not act on. LOOP_ERR and
 * LOOP_HUP come whether asked or not.
 */
#define LOOP_IN		0x001u
#define LOOP_OUT	0x004u
#define LOOP_ERR	0x008u
#define LOOP_HUP	0x010u
#define LOOP_RDHUP	0x2000u
#define LOOP_ET		0x80000000u

struct loop;
struct handler;
struct timer;

typedef void	handler_fn(struct loop *, struct handler *, uint32_t events);
typedef void	timer_fn(struct loop *, struct timer *);
typedef void	defer_fn(void *arg);
typedef void	signal_fn(struct loop *, int signo, void *arg);

struct handler {
	int		 fd;
	uint32_t	 mask;		/* events registered (LOOP_*) */
	int		 registered;
	uint32_t	 gen;		/* registration's generation (loop.c) */
	handler_fn	*cb;
};

/*
 * The links make the loop's heap of armed timers out of the timers
 * themselves, so arming one never allocates (loop.c).
 */
struct timer {
	uint64_t	 deadline;	/* loop_now() ms */
	struct timer	*child;		/* first child in the heap */
	struct timer	*next;		/* next sibling */
	struct timer	*prev;		/* sibling before, parent, or self
					   for the root; NULL = not armed */
	timer_fn	*cb;
};

/* Return: a new loop, or NULL with errno set. */
struct loop	*loop_new(void);

/* Closes the backend's and signal fds and frees l. Handlers stay the caller's. */
void		 loop_free(struct loop *l);

/* Initialises h for fd; nothing is registered until loop_update(). */
void		 loop_handler_init(struct handler *h, int fd, handler_fn *cb);

/*
 * Makes the registration of h match mask (added, changed, or removed when
 * mask is 0), skipping the system call when nothing changes. The only
 * place that registers interest. Return: 0, or -1 with errno set.
 */
int		 loop_update(struct loop *l, struct handler *h, uint32_t mask);

/* Removes h's registration if any; call before handing h->fd on. */
void		 loop_remove(struct loop *l, struct handler *h);

/*
 * Hands from->fd, with its registration, to the handler to (already
 * initialised for the same fd) with the events in mask: no system call at
 * all when mask is what from had, else one change (never a removal now
 * and an addition later), for a connection that moves from one object to
 * the next (a handshake to the pool, the pool to a bridge). from is left
 * unregistered with fd -1. Events already fetched in this batch reach
 * to's callback: the same socket, now to's. Return: 0, or -1 with errno
 * set (then nothing is registered for the fd and from still has it).
 */
int		 loop_handover(struct loop *l, struct handler *from,
		    struct handler *to, uint32_t mask);

/*
 * Closes h->fd and forgets its registration. With epoll, close() itself
 * takes the fd out (no fd here is ever duplicated), so no EPOLL_CTL_DEL
 * is spent. Sets h->fd to -1.
 */
void		 loop_close(struct loop *l, struct handler *h);

/* Monotonic milliseconds, refreshed once per loop iteration. */
uint64_t	 loop_now(struct loop *l);

/* Refreshes and returns the monotonic clock. */
uint64_t	 loop_clock(struct loop *l);

/* Initialises t, not armed, to call cb when it fires. */
void		 loop_timer_init(struct timer *t, timer_fn *cb);

/*
 * Arms t, or moves its deadline if armed, to fire delay_ms after
 * loop_now(). Cannot fail: nothing is allocated, so no deadline is ever
 * silently lost. Expired timers fire after the batch of events, earliest
 * deadline first (equal deadlines in no set order), each disarmed before
 * its callback runs; a delay of 0 fires in the next sweep, or in the
 * running one when called from a timer callback.
 */
void		 loop_timer_set(struct loop *l, struct timer *t,
		    uint64_t delay_ms);

/* Disarms t; harmless when it is not armed. */
void		 loop_timer_cancel(struct loop *l, struct timer *t);

static inline int
loop_timer_armed(const struct timer *t)
{
	return t->prev != NULL;
}

/*
 * Runs fn(arg) after the current batch of events and timers, once no
 * handler can still be dispatched on arg: the way objects are freed.
 * Return: 0, or -1 if out of memory (fn then runs at once).
 */
int		 loop_defer(struct loop *l, defer_fn *fn, void *arg);

/*
 * Delivers signals[0..n) to cb from the loop, never from a signal
 * handler (signalfd on Linux; a pipe written by the platform's handler
 * elsewhere, where Ctrl-C and console close arrive as SIGINT and SIGTERM
 * on Windows). Return: 0 or -1 with errno set.
 */
int		 loop_signals(struct loop *l, const int *signals, size_t n,
		    signal_fn *cb, void *arg);

/* "epoll" or "poll": the backend this build waits with. */
const char	*loop_backend_name(void);

/* Dispatches until loop_stop(). Return: 0, or -1 if the wait failed. */
int		 loop_run(struct loop *l);

/* Makes loop_run() return after the current iteration. */
void		 loop_stop(struct loop *l);

#endif
