/*
 * loop_poll: the portable backend of the loop, on poll(2) (WSAPoll on
 * Windows through the platform layer). The watched fds sit in one array
 * that poll() takes as it is; a table by fd finds an fd's place in it,
 * and removing one moves the last into its place, so every change is
 * O(1) and a wait is O(watched fds), which is what poll costs anyway.
 *
 * Events fetched by a wait are first copied out as (fd, generation,
 * events), then dispatched: a callback may add or remove fds, which
 * reorders the array, and the generation keeps an event meant for a
 * closed fd from reaching the fd's next owner, as with epoll.
 *
 * LOOP_ET, asked only by connections parked until something happens, is
 * emulated by reporting once and then leaving the fd out of the wait
 * (its place keeps a negative fd, which poll skips) until its mask
 * changes: poll is level-triggered, and a parked socket that saw a FIN
 * would otherwise wake every wait.
 *
 * Signals arrive through the platform's signal pipe (sys.h): its handler
 * writes the signal's number, the loop reads it like any other fd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loop_impl.h"
#include "sys.h"

struct ready {
	int		 fd;
	uint32_t	 gen;
	uint32_t	 events;
};

struct loop_backend {
	struct sys_pollfd *pfd;		/* what poll() watches */
	int		*fd;		/* each place's fd, even when parked */
	uint32_t	*gen;		/* each place's generation */
	uint32_t	*mask;		/* each place's LOOP_* mask */
	size_t		 n, cap;
	int		*place;		/* by fd: index in pfd, or -1 */
	size_t		 nplace;
	struct ready	*ready;		/* one wait's events, then dispatched */
};

static short
to_poll(uint32_t mask)
{
	short ev = 0;

	if (mask & LOOP_IN)
		ev |= SYS_POLLIN;
	if (mask & LOOP_OUT)
		ev |= SYS_POLLOUT;
	if (mask & LOOP_RDHUP)
		ev |= SYS_POLLRDHUP;
	return ev;
}

static uint32_t
from_poll(short rev)
{
	uint32_t ev = 0;

	if (rev & SYS_POLLIN)
		ev |= LOOP_IN;
	if (rev & SYS_POLLOUT)
		ev |= LOOP_OUT;
	if (rev & (SYS_POLLERR | SYS_POLLNVAL))
		ev |= LOOP_ERR;
	if (rev & SYS_POLLHUP)
		ev |= LOOP_HUP;
	if (SYS_POLLRDHUP != 0 && (rev & SYS_POLLRDHUP))
		ev |= LOOP_RDHUP;
	return ev;
}

const char *
loop_backend_name(void)
{
	return "poll";
}

int
backend_new(struct loop *l)
{
	if ((l->be = calloc(1, sizeof(*l->be))) == NULL)
		return -1;
	return 0;
}

void
backend_free(struct loop *l)
{
	free(l->be->pfd);
	free(l->be->fd);
	free(l->be->gen);
	free(l->be->mask);
	free(l->be->place);
	free(l->be->ready);
	free(l->be);
}

/* Makes room for one more place and for fd in the table. */
static int
reserve(struct loop_backend *be, int fd)
{
	if (be->n == be->cap) {
		size_t cap = be->cap ? be->cap * 2 : 64;
		void *p;

		if ((p = realloc(be->pfd, cap * sizeof(*be->pfd))) == NULL)
			return -1;
		be->pfd = p;
		if ((p = realloc(be->fd, cap * sizeof(*be->fd))) == NULL)
			return -1;
		be->fd = p;
		if ((p = realloc(be->gen, cap * sizeof(*be->gen))) == NULL)
			return -1;
		be->gen = p;
		if ((p = realloc(be->mask, cap * sizeof(*be->mask))) == NULL)
			return -1;
		be->mask = p;
		if ((p = realloc(be->ready, cap * sizeof(*be->ready))) == NULL)
			return -1;
		be->ready = p;
		be->cap = cap;
	}
	if ((size_t)fd >= be->nplace) {
		size_t n = be->nplace ? be->nplace : 64, i;
		int *t;

		while (n <= (size_t)fd)
			n *= 2;
		if ((t = realloc(be->place, n * sizeof(*t))) == NULL)
			return -1;
		for (i = be->nplace; i < n; i++)
			t[i] = -1;
		be->place = t;
		be->nplace = n;
	}
	return 0;
}

/* The place of fd, or -1. */
static int
place_of(const struct loop_backend *be, int fd)
{
	return fd >= 0 && (size_t)fd < be->nplace ? be->place[fd] : -1;
}

static void
drop_place(struct loop_backend *be, int fd)
{
	int i = place_of(be, fd);
	size_t last;

	if (i == -1)
		return;
	last = --be->n;
	if ((size_t)i != last) {
		be->pfd[i] = be->pfd[last];
		be->fd[i] = be->fd[last];
		be->gen[i] = be->gen[last];
		be->mask[i] = be->mask[last];
		be->place[be->fd[i]] = i;
	}
	be->place[fd] = -1;
}

int
backend_set(struct loop *l, struct handler *h, uint32_t mask)
{
	struct loop_backend *be = l->be;
	int i;

	if (mask == 0) {
		drop_place(be, h->fd);
		return 0;
	}
	if ((i = place_of(be, h->fd)) == -1) {
		if (reserve(be, h->fd) == -1)
			return -1;
		i = (int)be->n++;
		be->fd[i] = h->fd;
		be->place[h->fd] = i;
	}
	be->pfd[i].fd = (sys_pollfd_t)h->fd;	/* re-armed if it was parked */
	be->pfd[i].events = to_poll(mask);
	be->pfd[i].revents = 0;
	be->gen[i] = h->gen;
	be->mask[i] = mask;
	return 0;
}

void
backend_forget(struct loop *l, struct handler *h)
{
	drop_place(l->be, h->fd);
}

int
backend_wait(struct loop *l, int timeout_ms)
{
	struct loop_backend *be = l->be;
	size_t i, nready = 0;
	int n;

	n = sys_poll(be->pfd, be->n, timeout_ms);
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	loop_clock(l);
	for (i = 0; i < be->n && nready < (size_t)n; i++) {
		struct sys_pollfd *p = &be->pfd[i];

		if (p->revents == 0)
			continue;
		be->ready[nready].fd = be->fd[i];
		be->ready[nready].gen = be->gen[i];
		be->ready[nready].events = from_poll(p->revents);
		nready++;
		if (be->mask[i] & LOOP_ET)
			p->fd = SYS_POLL_SKIP;
		p->revents = 0;
	}
	for (i = 0; i < nready; i++)
		loop_dispatch(l, be->ready[i].fd, be->ready[i].gen,
		    be->ready[i].events);
	return 0;
}

static void
on_signal(struct loop *l, struct handler *h, uint32_t events)
{
	int signo;

	(void)events;
	while ((signo = sys_signal_read(h->fd)) > 0)
		l->sig_cb(l, signo, l->sig_arg);
}

int
loop_signals(struct loop *l, const int *signals, size_t n, signal_fn *cb,
    void *arg)
{
	int fd;

	if ((fd = sys_signal_pipe(signals, n)) == -1)
		return -1;
	l->sig_cb = cb;
	l->sig_arg = arg;
	loop_handler_init(&l->sig, fd, on_signal);
	if (loop_update(l, &l->sig, LOOP_IN) == -1) {
		(void)sys_close(fd);
		l->sig.fd = -1;
		return -1;
	}
	return 0;
}
