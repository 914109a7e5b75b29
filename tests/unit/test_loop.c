/*
 * Unit tests for src/loop.c's dispatch: events reach the handler that owns
 * the fd now (after a handover, with or without a change of events), and
 * an event fetched for a socket closed in the same batch never reaches
 * the new owner of its reused fd number.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <unistd.h>

#include "loop.h"
#include "test.h"

struct probe {
	struct handler	 h;
	int		 calls;
	uint32_t	 events;
	struct probe	*victim;	/* closed by the first callback */
	struct probe	*heir;		/* gets the victim's fd number */
	int		 pair[2];	/* the heir's socketpair */
};

static void
probe_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct probe *p = container_of(h, struct probe, h);

	p->calls++;
	p->events |= events;
	loop_stop(l);
}

/* Closes the other socket and opens one that reuses its fd number. */
static void
closer_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct probe *p = container_of(h, struct probe, h);
	struct probe *v = p->victim;
	int fd;

	(void)events;
	p->calls++;
	loop_stop(l);
	if (p->heir == NULL)
		return;			/* the other one came first: its turn */
	fd = v->h.fd;
	loop_close(l, &v->h);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, p->heir->pair) == -1)
		return;
	loop_handler_init(&p->heir->h, p->heir->pair[0], probe_cb);
	if (p->heir->pair[0] == fd)
		(void)loop_update(l, &p->heir->h, EPOLLIN | EPOLLOUT);
	p->heir = NULL;
}

static int
test_stale_event_not_delivered(void)
{
	struct loop *l = loop_new();
	struct probe a = { 0 }, b = { 0 }, heir = { 0 };
	int pa[2], pb[2];

	heir.h.fd = heir.pair[0] = heir.pair[1] = -1;

	ASSERT(l != NULL);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pa), 0);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pb), 0);
	ASSERT_EQ(write(pa[1], "x", 1), 1);
	ASSERT_EQ(write(pb[1], "x", 1), 1);
	/* Both readable: one epoll_wait returns both events. */
	loop_handler_init(&a.h, pa[0], closer_cb);
	loop_handler_init(&b.h, pb[0], closer_cb);
	a.victim = &b;
	b.victim = &a;
	a.heir = b.heir = &heir;
	ASSERT_EQ(loop_update(l, &a.h, EPOLLIN), 0);
	ASSERT_EQ(loop_update(l, &b.h, EPOLLIN), 0);
	ASSERT_EQ(loop_run(l), 0);
	/* Whichever ran first closed the other; the other's event is stale. */
	ASSERT_EQ(a.calls + b.calls, 1);
	ASSERT_EQ(heir.h.fd, a.calls ? pb[0] : pa[0]);
	ASSERT_EQ(heir.h.registered, 1);
	ASSERT_EQ(heir.calls, 0);
	/* The heir's own events do arrive, from the next epoll_wait on. */
	ASSERT_EQ(loop_run(l), 0);
	ASSERT_EQ(heir.calls, 1);
	ASSERT(heir.events & EPOLLOUT);
	loop_close(l, &heir.h);
	loop_close(l, a.calls ? &a.h : &b.h);
	(void)close(pa[1]);
	(void)close(pb[1]);
	(void)close(heir.pair[1]);
	loop_free(l);
	return TEST_PASS;
}

static int
handover(uint32_t from_mask, uint32_t to_mask, uint32_t want)
{
	struct loop *l = loop_new();
	struct probe from = { 0 }, to = { 0 };
	int sp[2];

	ASSERT(l != NULL);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ASSERT_EQ(write(sp[1], "x", 1), 1);
	loop_handler_init(&from.h, sp[0], probe_cb);
	ASSERT_EQ(loop_update(l, &from.h, from_mask), 0);
	loop_handler_init(&to.h, sp[0], probe_cb);
	ASSERT_EQ(loop_handover(l, &from.h, &to.h, to_mask), 0);
	ASSERT_EQ(from.h.fd, -1);
	ASSERT_EQ(from.h.registered, 0);
	ASSERT_EQ(to.h.registered, 1);
	ASSERT_EQ(to.h.mask, to_mask);
	ASSERT_EQ(loop_run(l), 0);
	ASSERT_EQ(from.calls, 0);
	ASSERT_EQ(to.calls, 1);
	ASSERT_EQ(to.events & (EPOLLIN | EPOLLOUT), want);
	/* Asking for nothing takes it out of epoll: no more events. */
	ASSERT_EQ(loop_update(l, &to.h, 0), 0);
	ASSERT_EQ(to.h.registered, 0);
	loop_close(l, &to.h);
	(void)close(sp[1]);
	loop_free(l);
	return TEST_PASS;
}

static int
test_handover_same_events(void)
{
	return handover(EPOLLIN | EPOLLRDHUP, EPOLLIN | EPOLLRDHUP, EPOLLIN);
}

static int
test_handover_new_events(void)
{
	return handover(EPOLLIN, EPOLLOUT, EPOLLOUT);
}

static int
test_handover_unregistered(void)
{
	/* Never registered (mask 0 registers nothing): the handover ADDs. */
	return handover(0, EPOLLIN, EPOLLIN);
}

static const struct test tests[] = {
	{ "loop_stale_event_not_delivered", test_stale_event_not_delivered },
	{ "loop_handover_same_events", test_handover_same_events },
	{ "loop_handover_new_events", test_handover_new_events },
	{ "loop_handover_unregistered", test_handover_unregistered },
};

TEST_MAIN(tests)
