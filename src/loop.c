/*
 * loop: the event loop both binaries run on.
 *
 * Level-triggered epoll: a handler that leaves data unread is called again,
 * so handlers never need to drain to EAGAIN for correctness, and objects
 * express interest only through loop_update() with a mask computed from
 * their state. One iteration is: wait (until the nearest timer, at most a
 * second), dispatch the batch, fire expired timers, then run deferred work.
 * Objects are freed only in the deferred phase, so a batch that holds
 * events for both ends of a bridge never touches freed memory; handlers
 * check their own DEAD state instead.
 *
 * epoll carries (generation << 32 | fd), not a handler pointer: the loop
 * finds the handler in a table indexed by fd. A connection that moves
 * from one object to the next (handshake, pool, bridge) then changes
 * owner in that table alone, without an EPOLL_CTL_MOD when its events
 * stay the same. The generation, new at every ADD, keeps an event fetched
 * for a socket that was closed (and its fd reused) in the same batch from
 * reaching the new owner.
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define LOOP_BATCH	256
#define LOOP_MAX_WAIT	1000

struct deferred {
	defer_fn	*fn;
	void		*arg;
};

struct loop {
	int		 epfd;
	int		 stop;
	uint64_t	 now;
	struct timer	*timers;	/* root of the armed timers' heap */
	struct deferred	*defer;
	size_t		 ndefer, capdefer;
	struct handler	**byfd;		/* registered handler per fd */
	size_t		 nbyfd;
	uint32_t	 gen;		/* last generation given out */
	struct handler	 sig;
	signal_fn	*sig_cb;
	void		*sig_arg;
};

static uint64_t
clock_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *
loop_new(void)
{
	struct loop *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd == -1) {
		free(l);
		return NULL;
	}
	l->sig.fd = -1;
	l->now = clock_ms();
	return l;
}

void
loop_free(struct loop *l)
{
	size_t i;

	if (l == NULL)
		return;
	/* Deferred frees still pending at exit must run, or they leak. */
	for (i = 0; i < l->ndefer; i++)
		l->defer[i].fn(l->defer[i].arg);
	if (l->sig.fd != -1)
		(void)close(l->sig.fd);
	(void)close(l->epfd);
	free(l->byfd);
	free(l->defer);
	free(l);
}

void
loop_handler_init(struct handler *h, int fd, handler_fn *cb)
{
	h->fd = fd;
	h->mask = 0;
	h->registered = 0;
	h->cb = cb;
}

/* Makes room for fd in the table. Return: 0, or -1 with errno set. */
static int
byfd_reserve(struct loop *l, int fd)
{
	struct handler **t;
	size_t n;

	if ((size_t)fd < l->nbyfd)
		return 0;
	n = l->nbyfd ? l->nbyfd : 64;
	while (n <= (size_t)fd)
		n *= 2;
	if ((t = realloc(l->byfd, n * sizeof(*t))) == NULL)
		return -1;
	memset(t + l->nbyfd, 0, (n - l->nbyfd) * sizeof(*t));
	l->byfd = t;
	l->nbyfd = n;
	return 0;
}

/* Forgets h's registration in the table (the fd may be closed next). */
static void
byfd_clear(struct loop *l, struct handler *h)
{
	if (h->fd >= 0 && (size_t)h->fd < l->nbyfd && l->byfd[h->fd] == h)
		l->byfd[h->fd] = NULL;
	h->registered = 0;
	h->mask = 0;
}

int
loop_update(struct loop *l, struct handler *h, uint32_t mask)
{
	struct epoll_event ev;

	if (h->fd == -1)
		return 0;
	if (h->registered && mask == h->mask)
		return 0;
	if (!h->registered && mask == 0)
		return 0;
	memset(&ev, 0, sizeof(ev));
	if (mask == 0) {
		if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, &ev) == -1)
			return -1;
		byfd_clear(l, h);
		return 0;
	}
	if (!h->registered) {
		if (byfd_reserve(l, h->fd) == -1)
			return -1;
		h->gen = ++l->gen;
	}
	ev.events = mask;
	ev.data.u64 = (uint64_t)h->gen << 32 | (uint32_t)h->fd;
	if (epoll_ctl(l->epfd, h->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    h->fd, &ev) == -1)
		return -1;
	l->byfd[h->fd] = h;
	h->registered = 1;
	h->mask = mask;
	return 0;
}

void
loop_remove(struct loop *l, struct handler *h)
{
	if (h->registered && h->fd != -1)
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	byfd_clear(l, h);
}

int
loop_handover(struct loop *l, struct handler *from, struct handler *to,
    uint32_t mask)
{
	struct epoll_event ev;

	if (!from->registered || from->fd == -1 || mask == 0) {
		loop_remove(l, from);
		to->fd = from->fd;
		if (loop_update(l, to, mask) == -1)
			return -1;
		from->fd = -1;
		return 0;
	}
	/* Same socket, same generation: only the table's owner changes. */
	if (mask != from->mask) {
		memset(&ev, 0, sizeof(ev));
		ev.events = mask;
		ev.data.u64 = (uint64_t)from->gen << 32 | (uint32_t)from->fd;
		if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, from->fd, &ev) == -1) {
			int err = errno;

			loop_remove(l, from);
			errno = err;
			return -1;
		}
	}
	to->fd = from->fd;
	to->gen = from->gen;
	to->registered = 1;
	to->mask = mask;
	l->byfd[to->fd] = to;
	from->fd = -1;
	from->registered = 0;
	from->mask = 0;
	return 0;
}

void
loop_close(struct loop *l, struct handler *h)
{
	byfd_clear(l, h);
	if (h->fd != -1)
		(void)close(h->fd);
	h->fd = -1;
}

uint64_t
loop_now(struct loop *l)
{
	return l->now;
}

uint64_t
loop_clock(struct loop *l)
{
	l->now = clock_ms();
	return l->now;
}

void
loop_timer_init(struct timer *t, timer_fn *cb)
{
	t->deadline = 0;
	t->child = t->next = t->prev = NULL;
	t->cb = cb;
}

/*
 * Armed timers form a pairing heap built from their own links: each timer
 * keeps its children in a list (child, then next), and prev points back
 * at the sibling before it or, for a first child, at its parent, so any
 * timer can be unlinked in O(1). The root's prev points at itself, which
 * keeps "prev != NULL" meaning armed. Inserting is one comparison; taking
 * the root or any other timer out melds its children in two passes, O(log
 * n) amortised. Unlike an array heap nothing grows, so arming a timer
 * cannot fail.
 */

/*
 * Melds the heaps rooted at a and b. Return: the root with the earlier
 * deadline; its own next and prev are left for the caller to set.
 */
static struct timer *
timer_meld(struct timer *a, struct timer *b)
{
	struct timer *t;

	if (b->deadline < a->deadline) {
		t = a;
		a = b;
		b = t;
	}
	b->next = a->child;
	if (b->next != NULL)
		b->next->prev = b;
	b->prev = a;
	a->child = b;
	return a;
}

/*
 * Melds the sibling list starting at first into one heap: pairs left to
 * right, then the pairs right to left, the order that gives the
 * amortised bound. Iterative, as a list can be every armed timer long.
 * Return: the new root (non-NULL first), with next and prev unset.
 */
static struct timer *
timer_merge_pairs(struct timer *first)
{
	struct timer *stack = NULL, *a, *rest, *root;

	while (first != NULL) {
		a = first;
		rest = NULL;
		if (a->next != NULL) {
			rest = a->next->next;
			a = timer_meld(a, a->next);
		}
		a->next = stack;	/* the stack reverses the pairs */
		stack = a;
		first = rest;
	}
	root = stack;
	for (stack = root->next; stack != NULL; stack = rest) {
		rest = stack->next;
		root = timer_meld(root, stack);
	}
	return root;
}

/* Makes t, whose next and prev are stale, the loop's root. */
static void
timer_set_root(struct loop *l, struct timer *t)
{
	t->next = NULL;
	t->prev = t;
	l->timers = t;
}

void
loop_timer_set(struct loop *l, struct timer *t, uint64_t delay_ms)
{
	loop_timer_cancel(l, t);
	t->deadline = l->now + delay_ms;
	t->child = NULL;
	timer_set_root(l, l->timers == NULL ? t : timer_meld(l->timers, t));
}

void
loop_timer_cancel(struct loop *l, struct timer *t)
{
	struct timer *sub;

	if (t->prev == NULL)
		return;
	if (t == l->timers) {
		l->timers = NULL;
	} else {
		/* Unlink t and its subtree; the subtree rejoins below. */
		if (t->prev->child == t)
			t->prev->child = t->next;
		else
			t->prev->next = t->next;
		if (t->next != NULL)
			t->next->prev = t->prev;
	}
	if (t->child != NULL) {
		sub = timer_merge_pairs(t->child);
		timer_set_root(l, l->timers == NULL ? sub :
		    timer_meld(l->timers, sub));
	}
	t->child = t->next = t->prev = NULL;
}

int
loop_defer(struct loop *l, defer_fn *fn, void *arg)
{
	if (l->ndefer == l->capdefer) {
		size_t cap = l->capdefer ? l->capdefer * 2 : 64;
		struct deferred *d = realloc(l->defer, cap * sizeof(*d));

		if (d == NULL) {
			fn(arg);
			return -1;
		}
		l->defer = d;
		l->capdefer = cap;
	}
	l->defer[l->ndefer].fn = fn;
	l->defer[l->ndefer].arg = arg;
	l->ndefer++;
	return 0;
}

static void
on_signal(struct loop *l, struct handler *h, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(h->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		l->sig_cb(l, (int)si.ssi_signo, l->sig_arg);
}

int
loop_signals(struct loop *l, const int *signals, size_t n, signal_fn *cb,
    void *arg)
{
	sigset_t set;
	size_t i;
	int fd;

	sigemptyset(&set);
	for (i = 0; i < n; i++)
		sigaddset(&set, signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd == -1)
		return -1;
	l->sig_cb = cb;
	l->sig_arg = arg;
	loop_handler_init(&l->sig, fd, on_signal);
	if (loop_update(l, &l->sig, EPOLLIN) == -1) {
		(void)close(fd);
		l->sig.fd = -1;
		return -1;
	}
	return 0;
}

static void
run_timers(struct loop *l)
{
	while (l->timers != NULL && l->timers->deadline <= l->now) {
		struct timer *t = l->timers;

		loop_timer_cancel(l, t);
		t->cb(l, t);
	}
}

static void
run_deferred(struct loop *l)
{
	size_t i;

	/* A deferred function may defer more; the loop picks those up too. */
	for (i = 0; i < l->ndefer; i++)
		l->defer[i].fn(l->defer[i].arg);
	l->ndefer = 0;
}

int
loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_BATCH];

	l->stop = 0;
	log_batch(1);
	while (!l->stop) {
		int timeout = LOOP_MAX_WAIT, n, i;

		/* Log lines of this round go out in one write, before we sleep. */
		log_flush();
		loop_clock(l);
		if (l->timers != NULL) {
			uint64_t d = l->timers->deadline;

			timeout = d <= l->now ? 0 :
			    (d - l->now < LOOP_MAX_WAIT ? (int)(d - l->now) :
			    LOOP_MAX_WAIT);
		}
		n = epoll_wait(l->epfd, ev, LOOP_BATCH, timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			log_batch(0);
			return -1;
		}
		loop_clock(l);
		for (i = 0; i < n; i++) {
			uint32_t fd = (uint32_t)ev[i].data.u64;
			struct handler *h = fd < l->nbyfd ? l->byfd[fd] : NULL;

			/* NULL or another generation: it went in this batch. */
			if (h != NULL && h->gen == (uint32_t)(ev[i].data.u64 >> 32))
				h->cb(l, h, ev[i].events);
		}
		run_timers(l);
		run_deferred(l);
	}
	log_batch(0);
	return 0;
}

void
loop_stop(struct loop *l)
{
	l->stop = 1;
}
