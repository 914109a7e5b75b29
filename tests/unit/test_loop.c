/*
 * Unit tests for src/loop.c's dispatch: events reach the handler that owns
 * the fd now (after a handover, with or without a change of events), and
 * an event fetched for a socket closed in the same batch never reaches
 * the new owner of its reused fd number.
 *
 * And for its timers: expired ones fire earliest first, checked against a
 * plain array model through thousands of random arms, re-arms and cancels
 * (some from inside callbacks); and arming allocates nothing, checked with
 * malloc made to fail (interposed below) or, under ASan, whose allocator
 * cannot be interposed, with a counting hook.
 *
 * Both backends (epoll, and poll in `make BACKEND=poll`) run the same
 * tests: a parked connection (LOOP_ET) hears of a FIN once, not at every
 * wait, and hears again once its mask changes; a signal reaches its
 * callback from the loop.
 *
 * Deadlines come from the real clock: a test arms timers a few ms ahead,
 * sleeps past them and lets loop_run() sweep them in one iteration (every
 * timer callback here calls loop_stop()).
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
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
		(void)loop_update(l, &p->heir->h, LOOP_IN | LOOP_OUT);
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
	ASSERT_EQ(loop_update(l, &a.h, LOOP_IN), 0);
	ASSERT_EQ(loop_update(l, &b.h, LOOP_IN), 0);
	ASSERT_EQ(loop_run(l), 0);
	/* Whichever ran first closed the other; the other's event is stale. */
	ASSERT_EQ(a.calls + b.calls, 1);
	ASSERT_EQ(heir.h.fd, a.calls ? pb[0] : pa[0]);
	ASSERT_EQ(heir.h.registered, 1);
	ASSERT_EQ(heir.calls, 0);
	/* The heir's own events do arrive, from the next epoll_wait on. */
	ASSERT_EQ(loop_run(l), 0);
	ASSERT_EQ(heir.calls, 1);
	ASSERT(heir.events & LOOP_OUT);
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
	ASSERT_EQ(to.events & (LOOP_IN | LOOP_OUT), want);
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
	return handover(LOOP_IN | LOOP_RDHUP, LOOP_IN | LOOP_RDHUP, LOOP_IN);
}

static int
test_handover_new_events(void)
{
	return handover(LOOP_IN, LOOP_OUT, LOOP_OUT);
}

static int
test_handover_unregistered(void)
{
	/* Never registered (mask 0 registers nothing): the handover ADDs. */
	return handover(0, LOOP_IN, LOOP_IN);
}

/* --- allocation failure ------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN	1
#endif
#endif

static unsigned long	alloc_calls;

#ifdef TEST_ASAN
/* From ASan's sanitizer/allocator_interface.h, which gcc does not ship. */
int	__sanitizer_install_malloc_and_free_hooks(
	    void (*)(const volatile void *, size_t),
	    void (*)(const volatile void *));

static int		alloc_counting;

static void
count_malloc(const volatile void *p, size_t n)
{
	(void)p;
	(void)n;
	if (alloc_counting)
		alloc_calls++;
}

static void
count_free(const volatile void *p)
{
	(void)p;
}
#else
/*
 * The test binary's own malloc family comes first in symbol lookup, for
 * loop.o as for libc: while alloc_fail is set every call fails and is
 * counted. The rest of the time they hand over to glibc's allocator.
 */
void	*__libc_malloc(size_t);
void	*__libc_calloc(size_t, size_t);
void	*__libc_realloc(void *, size_t);

static int		alloc_fail;

void *
malloc(size_t n)
{
	if (alloc_fail) {
		alloc_calls++;
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	if (alloc_fail) {
		alloc_calls++;
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	if (alloc_fail) {
		alloc_calls++;
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}
#endif

/* --- timers ------------------------------------------------------------- */

/* Sleeps until the loop's clock has reached at_ms. */
static void
sleep_until(struct loop *l, uint64_t at_ms)
{
	struct timespec ts = { 0, 1000000 };

	while (loop_clock(l) < at_ms)
		(void)nanosleep(&ts, NULL);
}

/*
 * Runs the loop until a timer callback stops it. A heap that lost the
 * timers due now would leave loop_run() waiting for ever: SIGALRM ends
 * the binary instead, after the FAIL lines already printed.
 */
static int
sweep(struct loop *l)
{
	int r;

	(void)alarm(5);
	r = loop_run(l);
	(void)alarm(0);
	return r;
}

/* A small xorshift: the same sequence on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

#define MODEL_N		2000
#define MODEL_ROUNDS	20
#define MODEL_SPAN	40		/* ms: delays are 0..MODEL_SPAN-1 */
#define MODEL_STEP	5		/* ms slept between sweeps */

/* The reference: which timers are armed, and for when. */
static struct model {
	struct timer	 t[MODEL_N];
	int		 armed[MODEL_N];
	uint64_t	 deadline[MODEL_N];
	unsigned long	 fired;
	int		 bad;		/* first wrong firing, as index + 1 */
	const char	*why;
} model;

static void	model_cb(struct loop *, struct timer *);

static void
model_set(struct loop *l, size_t i, uint64_t delay)
{
	loop_timer_set(l, &model.t[i], delay);
	model.armed[i] = 1;
	model.deadline[i] = loop_now(l) + delay;
}

static void
model_cancel(struct loop *l, size_t i)
{
	loop_timer_cancel(l, &model.t[i]);
	model.armed[i] = 0;
}

static void
model_fail(size_t i, const char *why)
{
	if (model.bad == 0) {
		model.bad = (int)i + 1;
		model.why = why;
	}
}

/*
 * Checks that t is the model's earliest armed timer and expired, then
 * does what a callback may do: re-arm itself, cancel or set another.
 */
static void
model_cb(struct loop *l, struct timer *t)
{
	size_t i = (size_t)(t - model.t), j;
	uint64_t min = UINT64_MAX;

	loop_stop(l);
	model.fired++;
	for (j = 0; j < MODEL_N; j++)
		if (model.armed[j] && model.deadline[j] < min)
			min = model.deadline[j];
	if (!model.armed[i])
		model_fail(i, "fired while not armed");
	else if (t->deadline != model.deadline[i])
		model_fail(i, "fired with another deadline");
	else if (model.deadline[i] != min)
		model_fail(i, "fired before an earlier deadline");
	else if (model.deadline[i] > loop_now(l))
		model_fail(i, "fired before its deadline");
	else if (loop_timer_armed(t))
		model_fail(i, "still armed in its callback");
	model.armed[i] = 0;
	switch (rng(10)) {
	case 0:
		model_set(l, i, rng(MODEL_SPAN));
		break;
	case 1:
		model_set(l, i, 0);	/* fires again in this sweep */
		break;
	case 2:
	case 3:
		model_cancel(l, rng(MODEL_N));
		break;
	case 4:
		model_set(l, rng(MODEL_N), rng(MODEL_SPAN));
		break;
	case 5:
		model_set(l, rng(MODEL_N), 0);
		break;
	}
}

static int
test_timer_model(void)
{
	struct loop *l = loop_new();
	size_t i, k, r;

	ASSERT(l != NULL);
	memset(&model, 0, sizeof(model));
	for (i = 0; i < MODEL_N; i++)
		loop_timer_init(&model.t[i], model_cb);
	for (r = 0; r < MODEL_ROUNDS; r++) {
		(void)loop_clock(l);
		for (k = 0; k < MODEL_N; k++) {
			i = rng(MODEL_N);
			switch (rng(8)) {
			case 0:
			case 1:
				model_cancel(l, i);
				break;
			case 2:
				model_set(l, i, 0);
				break;
			default:
				model_set(l, i, rng(MODEL_SPAN));
				break;
			}
		}
		model_set(l, 0, 0);	/* one sure expiry: loop_run returns */
		sleep_until(l, loop_now(l) + MODEL_STEP);
		ASSERT_EQ(sweep(l), 0);
		if (model.bad != 0)
			fprintf(stderr, "timer %d: %s\n", model.bad - 1,
			    model.why);
		ASSERT_EQ(model.bad, 0);
		for (i = 0; i < MODEL_N; i++) {
			ASSERT_EQ(loop_timer_armed(&model.t[i]),
			    model.armed[i]);
			if (model.armed[i]) {
				/* Expired ones all went in the sweep. */
				ASSERT(model.deadline[i] > loop_now(l));
				ASSERT_EQ(model.t[i].deadline,
				    model.deadline[i]);
			}
		}
	}
	/* Enough went through the heap for the model to mean something. */
	ASSERT(model.fired > 2 * MODEL_N);
	loop_free(l);
	return TEST_PASS;
}

/* A timer that records its firing and may act on another timer. */
struct tick {
	struct timer	 t;
	int		 fired;
	int		 order;		/* 1 + place in the firing order */
	int		 rearm;		/* re-arms itself this often, delay */
	uint64_t	 rearm_ms;
	struct tick	*cancel;	/* cancelled by this one's callback */
};

static int tick_seq;

static void
tick_cb(struct loop *l, struct timer *t)
{
	struct tick *k = container_of(t, struct tick, t);

	loop_stop(l);
	k->fired++;
	k->order = ++tick_seq;
	if (k->rearm > 0) {
		k->rearm--;
		loop_timer_set(l, t, k->rearm_ms);
	}
	if (k->cancel != NULL)
		loop_timer_cancel(l, &k->cancel->t);
}

static void
tick_init(struct tick *k)
{
	memset(k, 0, sizeof(*k));
	loop_timer_init(&k->t, tick_cb);
}

static int
test_timer_rearm_in_callback(void)
{
	struct loop *l = loop_new();
	struct tick now, later, other;

	ASSERT(l != NULL);
	tick_seq = 0;
	tick_init(&now);
	tick_init(&later);
	tick_init(&other);
	/* Re-armed with no delay, twice: it fires three times in a sweep. */
	now.rearm = 2;
	loop_timer_set(l, &now.t, 0);
	/* Re-armed ahead: it waits for a later sweep. */
	later.rearm = 1;
	later.rearm_ms = 60000;
	loop_timer_set(l, &later.t, 1);
	loop_timer_set(l, &other.t, 2);
	sleep_until(l, loop_now(l) + 3);
	ASSERT_EQ(sweep(l), 0);
	ASSERT_EQ(now.fired, 3);
	ASSERT(!loop_timer_armed(&now.t));
	ASSERT_EQ(later.fired, 1);
	ASSERT(loop_timer_armed(&later.t));
	ASSERT_EQ(later.t.deadline, loop_now(l) + 60000);
	ASSERT_EQ(other.fired, 1);
	ASSERT(later.order < other.order);
	loop_timer_cancel(l, &later.t);
	ASSERT(!loop_timer_armed(&later.t));
	loop_free(l);
	return TEST_PASS;
}

static int
test_timer_cancel_in_callback(void)
{
	struct loop *l = loop_new();
	struct tick a, b, c, d;

	ASSERT(l != NULL);
	tick_seq = 0;
	tick_init(&a);
	tick_init(&b);
	tick_init(&c);
	tick_init(&d);
	/* a and b expire in the same sweep; a goes first and cancels b. */
	a.cancel = &b;
	loop_timer_set(l, &a.t, 0);
	loop_timer_set(l, &b.t, 1);
	/* c, not yet due, is cancelled by d: it never fires. */
	d.cancel = &c;
	loop_timer_set(l, &d.t, 1);
	loop_timer_set(l, &c.t, 20);
	sleep_until(l, loop_now(l) + 2);
	ASSERT_EQ(sweep(l), 0);
	ASSERT_EQ(a.fired, 1);
	ASSERT_EQ(b.fired, 0);
	ASSERT(!loop_timer_armed(&b.t));
	ASSERT_EQ(d.fired, 1);
	ASSERT(!loop_timer_armed(&c.t));
	/* Nothing is left: a sure expiry is all the next sweep finds. */
	loop_timer_set(l, &d.t, 0);
	sleep_until(l, loop_now(l) + 25);
	ASSERT_EQ(sweep(l), 0);
	ASSERT_EQ(c.fired, 0);
	ASSERT_EQ(b.fired, 0);
	ASSERT_EQ(d.fired, 2);
	loop_free(l);
	return TEST_PASS;
}

#define EQUAL_N		300

static int
test_timer_equal_deadlines(void)
{
	static struct tick k[EQUAL_N];
	struct loop *l = loop_new();
	size_t i;

	ASSERT(l != NULL);
	tick_seq = 0;
	/* Thirds due at +0, +2 and +4 ms, armed interleaved. */
	for (i = 0; i < EQUAL_N; i++) {
		tick_init(&k[i]);
		loop_timer_set(l, &k[i].t, (i % 3) * 2);
	}
	/* Cancelling some of a tie leaves the rest of it alone. */
	for (i = 0; i < EQUAL_N; i += 10)
		loop_timer_cancel(l, &k[i].t);
	sleep_until(l, loop_now(l) + 5);
	ASSERT_EQ(sweep(l), 0);
	for (i = 0; i < EQUAL_N; i++) {
		ASSERT(!loop_timer_armed(&k[i].t));
		ASSERT_EQ(k[i].fired, i % 10 != 0);
		if (i % 10 == 0)
			continue;
		/* Each third fires as a block, in deadline order. */
		ASSERT(k[i].order > (int)(i % 3) * (EQUAL_N * 9 / 10 / 3));
		ASSERT(k[i].order <= (int)(i % 3 + 1) * (EQUAL_N * 9 / 10 / 3));
	}
	loop_free(l);
	return TEST_PASS;
}

static int
test_timer_cancel_unarmed(void)
{
	struct loop *l = loop_new();
	struct tick a, b, never;

	ASSERT(l != NULL);
	tick_seq = 0;
	tick_init(&a);
	tick_init(&b);
	tick_init(&never);
	loop_timer_set(l, &a.t, 0);
	loop_timer_set(l, &b.t, 1);
	/* Never armed, then cancelled twice: the armed ones are untouched. */
	loop_timer_cancel(l, &never.t);
	loop_timer_cancel(l, &never.t);
	ASSERT(!loop_timer_armed(&never.t));
	ASSERT(loop_timer_armed(&a.t));
	ASSERT(loop_timer_armed(&b.t));
	/* Cancelled, then again once it is no longer armed. */
	loop_timer_cancel(l, &b.t);
	loop_timer_cancel(l, &b.t);
	ASSERT(!loop_timer_armed(&b.t));
	ASSERT(loop_timer_armed(&a.t));
	sleep_until(l, loop_now(l) + 2);
	ASSERT_EQ(sweep(l), 0);
	ASSERT_EQ(a.fired, 1);
	ASSERT_EQ(b.fired, 0);
	ASSERT_EQ(never.fired, 0);
	loop_free(l);
	return TEST_PASS;
}

#define NOALLOC_N	100000

static struct timer	noalloc_t[NOALLOC_N];
static uint64_t		noalloc_last;
static int		noalloc_fired, noalloc_unordered;

static void
noalloc_cb(struct loop *l, struct timer *t)
{
	loop_stop(l);
	if (t->deadline < noalloc_last)
		noalloc_unordered++;
	noalloc_last = t->deadline;
	noalloc_fired++;
}

static int
test_timer_no_alloc(void)
{
	struct loop *l = loop_new();
	size_t i, armed = 0;

	ASSERT(l != NULL);
	noalloc_last = 0;
	noalloc_fired = noalloc_unordered = 0;
	for (i = 0; i < NOALLOC_N; i++)
		loop_timer_init(&noalloc_t[i], noalloc_cb);
	alloc_calls = 0;
#ifdef TEST_ASAN
	(void)__sanitizer_install_malloc_and_free_hooks(count_malloc,
	    count_free);
	alloc_counting = 1;
#else
	alloc_fail = 1;
#endif
	/* Arm all, re-arm every other one, cancel every third, sweep. */
	for (i = 0; i < NOALLOC_N; i++)
		loop_timer_set(l, &noalloc_t[i], i * 7919 % 5);
	for (i = 0; i < NOALLOC_N; i += 2)
		loop_timer_set(l, &noalloc_t[i], i * 31 % 5);
	for (i = 0; i < NOALLOC_N; i += 3)
		loop_timer_cancel(l, &noalloc_t[i]);
	for (i = 0; i < NOALLOC_N; i++)
		armed += loop_timer_armed(&noalloc_t[i]);
	sleep_until(l, loop_now(l) + 5);
	ASSERT_EQ(sweep(l), 0);
#ifdef TEST_ASAN
	alloc_counting = 0;
#else
	alloc_fail = 0;
#endif
	ASSERT_EQ(alloc_calls, 0);
	ASSERT_EQ(armed, NOALLOC_N - (NOALLOC_N + 2) / 3);
	ASSERT_EQ(noalloc_fired, (int)armed);
	ASSERT_EQ(noalloc_unordered, 0);
	for (i = 0; i < NOALLOC_N; i++)
		ASSERT(!loop_timer_armed(&noalloc_t[i]));
	loop_free(l);
	return TEST_PASS;
}

static void
stop_cb(struct loop *l, struct timer *t)
{
	(void)t;
	loop_stop(l);
}

/* Runs l for about ms: every event in that time is dispatched. */
static void
run_for(struct loop *l, int ms)
{
	struct timer t;
	uint64_t end = loop_clock(l) + (uint64_t)ms;

	loop_timer_init(&t, stop_cb);
	while (loop_clock(l) < end) {
		loop_timer_set(l, &t, end - loop_now(l));
		(void)loop_run(l);
	}
	loop_timer_cancel(l, &t);
}

static void
count_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct probe *p = container_of(h, struct probe, h);

	(void)l;
	p->calls++;
	p->events |= events;
}

static int
test_parked_once(void)
{
	struct loop *l = loop_new();
	struct probe a = { 0 };
	int sv[2];

	ASSERT(l != NULL);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	loop_handler_init(&a.h, sv[0], count_cb);
	ASSERT_EQ(loop_update(l, &a.h, LOOP_ET | LOOP_RDHUP), 0);
	run_for(l, 20);
	ASSERT_EQ(a.calls, 0);
	/* A FIN: said once, then silence however often the loop waits. */
	ASSERT_EQ(shutdown(sv[1], SHUT_WR), 0);
	run_for(l, 50);
	ASSERT_EQ(a.calls, 1);
	/* Asked to read again: the FIN is there, level-triggered. */
	ASSERT_EQ(loop_update(l, &a.h, LOOP_IN), 0);
	a.events = 0;
	run_for(l, 5);
	ASSERT(a.calls > 1);
	ASSERT(a.events & LOOP_IN);
	loop_close(l, &a.h);
	(void)close(sv[1]);
	loop_free(l);
	return TEST_PASS;
}

static int	got_signal;

static void
signal_cb(struct loop *l, int signo, void *arg)
{
	(void)arg;
	got_signal = signo;
	loop_stop(l);
}

static int
test_signal_delivered(void)
{
	struct loop *l = loop_new();
	const int sigs[] = { SIGUSR1 };

	ASSERT(l != NULL);
	ASSERT_EQ(loop_signals(l, sigs, 1, signal_cb, NULL), 0);
	ASSERT_EQ(raise(SIGUSR1), 0);
	run_for(l, 50);
	ASSERT_EQ(got_signal, SIGUSR1);
	loop_free(l);
	return TEST_PASS;
}

static const struct test tests[] = {
	{ "loop_stale_event_not_delivered", test_stale_event_not_delivered },
	{ "loop_handover_same_events", test_handover_same_events },
	{ "loop_handover_new_events", test_handover_new_events },
	{ "loop_handover_unregistered", test_handover_unregistered },
	{ "loop_parked_once", test_parked_once },
	{ "loop_signal_delivered", test_signal_delivered },
	{ "timer_model", test_timer_model },
	{ "timer_rearm_in_callback", test_timer_rearm_in_callback },
	{ "timer_cancel_in_callback", test_timer_cancel_in_callback },
	{ "timer_equal_deadlines", test_timer_equal_deadlines },
	{ "timer_cancel_unarmed", test_timer_cancel_unarmed },
	{ "timer_no_alloc", test_timer_no_alloc },
};

TEST_MAIN(tests)
