/*
 * loop_impl: what loop.c (timers, deferred work, the fd table, the run
 * loop) shares with the backend that waits for events (loop_epoll.c or
 * loop_poll.c, one per build). Private to those files.
 */
#ifndef TUNNEL_LOOP_IMPL_H
#define TUNNEL_LOOP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct loop_backend;

struct deferred {
	defer_fn	*fn;
	void		*arg;
};

struct loop {
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
	struct loop_backend *be;
};

/*
 * The backend. Events travel as (fd, generation): the loop finds the
 * handler in its table by fd, and a generation that is not the
 * handler's means the fd was closed (and maybe reused) in this batch.
 */

/* Return: 0, or -1 with errno set. */
int	backend_new(struct loop *l);
void	backend_free(struct loop *l);

/*
 * Makes the system's registration of h->fd match mask: h->registered says
 * whether it has one, mask 0 removes it. h->gen is already the one events
 * must carry. Return: 0, or -1 with errno set.
 */
int	backend_set(struct loop *l, struct handler *h, uint32_t mask);

/* Forgets h->fd, which is about to be closed, without a system call. */
void	backend_forget(struct loop *l, struct handler *h);

/*
 * Waits up to timeout_ms for events and hands each to loop_dispatch().
 * Return: 0 (also on EINTR), or -1 with errno set.
 */
int	backend_wait(struct loop *l, int timeout_ms);

/* Calls the handler registered for fd, if it still has generation gen. */
void	loop_dispatch(struct loop *l, int fd, uint32_t gen, uint32_t events);

#endif
