/*
 * loop: the event loop both binaries run on.
 *
 * Level-triggered: a handler that leaves data unread is called again,
 * so handlers never need to drain to EAGAIN for correctness, and objects
 * express interest only through loop_update() with a mask computed from
 * their state. One iteration is: wait (until the nearest timer, at most a
 * second), dispatch the batch, fire expired timers, then run deferred work.
 * Objects are freed only in the deferred phase, so a batch that holds
 * events for both ends of a bridge never touches freed memory; handlers
 * check their own DEAD state instead.
 *
 * An event carries (fd, generation), not a handler pointer: the loop
 * finds the handler in a table indexed by fd. A connection that moves
 * from one object to the next (handshake, pool, bridge) then changes
 * owner in that table alone, without a system call when its events stay
 * the same. The generation, new at every registration, keeps an event
 * fetched for a socket that was closed (and its fd reused) in the same
 * batch from reaching the new owner.
 *
 * This file is the part both backends share; waiting for events and
 * signals is loop_epoll.c's or loop_poll.c's (loop_impl.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop_impl.h"
#include "sys.h"

#define LOOP_MAX_WAIT	1000

struct loop *
loop_new(void)
{
	struct loop *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->sig.fd = -1;
	if (backend_new(l) == -1) {
		int err = errno;

		free(l);
		errno = err;
		return NULL;
	}
	l->now = sys_clock_ms();
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
	if (l->sig.fd != -1) {
		backend_forget(l, &l->sig);
		(void)sys_close(l->sig.fd);
	}
	backend_free(l);
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
	if (h->fd == -1)
		return 0;
	if (h->registered && mask == h->mask)
		return 0;
	if (!h->registered && mask == 0)
		return 0;
	if (mask == 0) {
		if (backend_set(l, h, 0) == -1)
			return -1;
		byfd_clear(l, h);
		return 0;
	}
	if (!h->registered) {
		if (byfd_reserve(l, h->fd) == -1)
			return -1;
		h->gen = ++l->gen;
	}
	if (backend_set(l, h, mask) == -1)
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
		(void)backend_set(l, h, 0);
	byfd_clear(l, h);
}

int
loop_handover(struct loop *l, struct handler *from, struct handler *to,
    uint32_t mask)
{
	if (!from->registered || from->fd == -1 || mask == 0) {
		loop_remove(l, from);
		to->fd = from->fd;
		if (loop_update(l, to, mask) == -1)
			return -1;
		from->fd = -1;
		return 0;
	}
	/* Same socket, same generation: only the table's owner changes. */
	if (mask != from->mask && backend_set(l, from, mask) == -1) {
		int err = errno;

		loop_remove(l, from);
		errno = err;
		return -1;
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
	if (h->registered && h->fd != -1)
		backend_forget(l, h);
	byfd_clear(l, h);
	if (h->fd != -1)
		(void)sys_close(h->fd);
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
	l->now = sys_clock_ms();
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

void
loop_dispatch(struct loop *l, int fd, uint32_t gen, uint32_t events)
{
	struct handler *h = (size_t)fd < l->nbyfd ? l->byfd[fd] : NULL;

	/* NULL or another generation: it went in this batch. */
	if (h != NULL && h->gen == gen)
		h->cb(l, h, events);
}

int
loop_run(struct loop *l)
{
	l->stop = 0;
	log_batch(1);
	while (!l->stop) {
		int timeout = LOOP_MAX_WAIT;

		/* Log lines of this round go out in one write, before we sleep. */
		log_flush();
		loop_clock(l);
		if (l->timers != NULL) {
			uint64_t d = l->timers->deadline;

			timeout = d <= l->now ? 0 :
			    (d - l->now < LOOP_MAX_WAIT ? (int)(d - l->now) :
			    LOOP_MAX_WAIT);
		}
		if (backend_wait(l, timeout) == -1) {
			log_warn("waiting for events");
			log_batch(0);
			return -1;
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
