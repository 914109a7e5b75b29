/*
 * loop_epoll: the Linux backend of the loop. One level-triggered epoll
 * instance whose events carry (generation << 32 | fd), and signals
 * through a signalfd. LOOP_* bits are epoll's own values, so masks and
 * events pass through untouched.
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop_impl.h"

#define LOOP_BATCH	256

_Static_assert(LOOP_IN == EPOLLIN && LOOP_OUT == EPOLLOUT &&
    LOOP_ERR == EPOLLERR && LOOP_HUP == EPOLLHUP &&
    LOOP_RDHUP == EPOLLRDHUP && LOOP_ET == (uint32_t)EPOLLET,
    "LOOP_* bits are epoll's");

struct loop_backend {
	int	epfd;
};

const char *
loop_backend_name(void)
{
	return "epoll";
}

int
backend_new(struct loop *l)
{
	if ((l->be = calloc(1, sizeof(*l->be))) == NULL)
		return -1;
	l->be->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->be->epfd == -1) {
		int err = errno;

		free(l->be);
		errno = err;
		return -1;
	}
	return 0;
}

void
backend_free(struct loop *l)
{
	(void)close(l->be->epfd);
	free(l->be);
}

int
backend_set(struct loop *l, struct handler *h, uint32_t mask)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	if (mask == 0)
		return epoll_ctl(l->be->epfd, EPOLL_CTL_DEL, h->fd, &ev);
	ev.events = mask;
	ev.data.u64 = (uint64_t)h->gen << 32 | (uint32_t)h->fd;
	return epoll_ctl(l->be->epfd, h->registered ? EPOLL_CTL_MOD :
	    EPOLL_CTL_ADD, h->fd, &ev);
}

/* close() takes the fd out of the epoll set: nothing to do. */
void
backend_forget(struct loop *l, struct handler *h)
{
	(void)l;
	(void)h;
}

int
backend_wait(struct loop *l, int timeout_ms)
{
	struct epoll_event ev[LOOP_BATCH];
	int n, i;

	n = epoll_wait(l->be->epfd, ev, LOOP_BATCH, timeout_ms);
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	loop_clock(l);
	for (i = 0; i < n; i++)
		loop_dispatch(l, (int)(uint32_t)ev[i].data.u64,
		    (uint32_t)(ev[i].data.u64 >> 32), ev[i].events);
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
	if (loop_update(l, &l->sig, LOOP_IN) == -1) {
		(void)close(fd);
		l->sig.fd = -1;
		return -1;
	}
	return 0;
}
