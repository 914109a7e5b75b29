/*
 * bench-poolfloor: the least a pooled reverse tunnel can do per visitor, a
 * reference for bench/bench.py's per-request rows (it is not part of the
 * tunnel). Same shape as tunnel-server and tunnel-client: one epoll loop
 * each, a pool of pre-dialled connections, splice() through 1 MiB pipes.
 * Nothing else: visitors and pool connections on separate ports (no
 * sniffing), no login, no REGISTER, a one-byte START and no STATUS, no
 * copy kept for a replay, no keepalive, no SO_LINGER, no timers, no logs.
 * The tunnel's protocol and guarantees cost what it spends beyond this.
 *
 *   bench-poolfloor server PUBLIC_PORT POOL_PORT
 *   bench-poolfloor client POOL_PORT LOCAL_PORT POOL_SIZE
 *
 * Loopback only. A visitor that finds the pool empty waits, unwatched, for
 * the next pool connection. Any unexpected error ends the process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIPE_SIZE	(1 << 20)	/* the tunnel's pipe_size default */
#define MAX_SPARE	4096

enum kind { K_PUBLIC, K_POOL, K_IDLE, K_SIDE };

struct ev {
	enum kind	 kind;
	int		 fd;
};

struct bridge;

struct side {
	struct ev	 ev;		/* kind K_SIDE; first member */
	struct bridge	*b;
	int		 i;		/* 0 or 1 */
	uint32_t	 mask;
};

/* Direction d moves side[d]'s bytes to side[1 - d] through pipe[d]. */
struct bridge {
	struct side	 side[2];
	int		 pipe[2][2];
	size_t		 inpipe[2];
	int		 eof[2], shut[2];
	int		 dead;		/* freed after this batch */
};

static int	 ep;
static int	*spares;		/* spare pipes, read end then write end */
static size_t	 nspare;
static int	*waiting;		/* server: visitors with no pool yet */
static size_t	 nwait, capwait;
static int	*idle;			/* server: idle pool connections */
static size_t	 nidle, capidle;
static struct sockaddr_in pool_addr, local_addr;
static struct bridge **grave;		/* dead bridges, freed after a batch */
static size_t	 ngrave, capgrave;

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
push(int **a, size_t *n, size_t *cap, int fd)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((*a = realloc(*a, *cap * sizeof(**a))) == NULL)
			die("realloc");
	}
	(*a)[(*n)++] = fd;
}

static void
pipe_get(int p[2])
{
	if (nspare > 0) {
		nspare--;
		p[0] = spares[2 * nspare];
		p[1] = spares[2 * nspare + 1];
		return;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		die("pipe2");
	(void)fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);
}

static void
pipe_put(int p[2], size_t inpipe)
{
	if (inpipe == 0 && nspare < MAX_SPARE) {
		spares[2 * nspare] = p[0];
		spares[2 * nspare + 1] = p[1];
		nspare++;
		return;
	}
	(void)close(p[0]);
	(void)close(p[1]);
}

static void
set_mask(struct side *s, uint32_t mask)
{
	struct epoll_event e = { .events = mask, .data.ptr = s };

	if (mask == s->mask)
		return;
	if (epoll_ctl(ep, mask == 0 ? EPOLL_CTL_DEL : s->mask == 0 ?
	    EPOLL_CTL_ADD : EPOLL_CTL_MOD, s->ev.fd, &e) == -1)
		die("epoll_ctl");
	s->mask = mask;
}

static void
bridge_end(struct bridge *b)
{
	int i;

	for (i = 0; i < 2; i++) {
		(void)close(b->side[i].ev.fd);	/* leaves epoll with it */
		pipe_put(b->pipe[i], b->inpipe[i]);
	}
	/* Events for it may still wait in this batch: free it afterwards. */
	b->dead = 1;
	if (ngrave == capgrave) {
		capgrave = capgrave ? capgrave * 2 : 64;
		if ((grave = realloc(grave, capgrave * sizeof(*grave))) == NULL)
			die("realloc");
	}
	grave[ngrave++] = b;
}

/* Moves what direction d can; returns -1 once b is gone. */
static int
pump(struct bridge *b, int d)
{
	int src = b->side[d].ev.fd, dst = b->side[1 - d].ev.fd;
	ssize_t n;

	if (b->inpipe[d] == 0 && !b->eof[d]) {
		n = splice(src, NULL, b->pipe[d][1], NULL, PIPE_SIZE,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			b->inpipe[d] = (size_t)n;
		else if (n == 0)
			b->eof[d] = 1;
		else if (errno != EAGAIN && errno != EINTR) {
			bridge_end(b);		/* a reset: drop both */
			return -1;
		}
	}
	if (b->inpipe[d] > 0) {
		n = splice(b->pipe[d][0], NULL, dst, NULL, b->inpipe[d],
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			b->inpipe[d] -= (size_t)n;
		else if (n == -1 && errno != EAGAIN && errno != EINTR) {
			bridge_end(b);
			return -1;
		}
	}
	if (b->eof[d] && b->inpipe[d] == 0 && !b->shut[d]) {
		(void)shutdown(dst, SHUT_WR);
		b->shut[d] = 1;
	}
	return 0;
}

static void
bridge_update(struct bridge *b)
{
	int i;

	if (b->shut[0] && b->shut[1]) {
		bridge_end(b);
		return;
	}
	for (i = 0; i < 2; i++)
		set_mask(&b->side[i],
		    (!b->eof[i] && b->inpipe[i] == 0 ? EPOLLIN | EPOLLRDHUP : 0) |
		    (b->inpipe[1 - i] > 0 ? EPOLLOUT : 0));
}

/* Bridges a and b; a's bytes are most likely there already. */
static void
bridge_new(int a, int bfd)
{
	struct bridge *b = calloc(1, sizeof(*b));
	int i;

	if (b == NULL)
		die("calloc");
	for (i = 0; i < 2; i++) {
		b->side[i].ev.kind = K_SIDE;
		b->side[i].ev.fd = i == 0 ? a : bfd;
		b->side[i].b = b;
		b->side[i].i = i;
		pipe_get(b->pipe[i]);
	}
	if (pump(b, 0) == -1)
		return;
	bridge_update(b);
}

static void
side_event(struct side *s, uint32_t events)
{
	struct bridge *b = s->b;

	if (b->dead)
		return;
	if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) &&
	    pump(b, s->i) == -1)
		return;
	if ((events & EPOLLOUT) && pump(b, 1 - s->i) == -1)
		return;
	bridge_update(b);
}

static int
listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    listen(fd, 4096) == -1)
		die("listen");
	return fd;
}

static void
watch(struct ev *e, uint32_t mask)
{
	struct epoll_event x = { .events = mask, .data.ptr = e };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, e->fd, &x) == -1)
		die("epoll_ctl");
}

/* Server: a visitor and a pool connection meet. */
static void
serve(int visitor, int proxy)
{
	/* START leaves with the visitor's first bytes, in one segment. */
	if (send(proxy, "S", 1, MSG_NOSIGNAL | MSG_MORE) != 1) {
		(void)close(proxy);
		push(&waiting, &nwait, &capwait, visitor);
		return;
	}
	bridge_new(visitor, proxy);
}

static void
server_accept(struct ev *l)
{
	int fd;

	while ((fd = accept4(l->fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		if (l->kind == K_PUBLIC) {
			if (nidle > 0)
				serve(fd, idle[--nidle]);
			else
				push(&waiting, &nwait, &capwait, fd);
		} else if (nwait > 0) {
			int v = waiting[0];

			memmove(waiting, waiting + 1, --nwait * sizeof(int));
			serve(v, fd);
		} else {
			push(&idle, &nidle, &capidle, fd);
		}
	}
	if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		die("accept4");
}

static int
dial(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd == -1)
		die("socket");
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) == -1 &&
	    errno != EINPROGRESS)
		die("connect");
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Client: one more idle pool connection, waiting for its START. */
static void
pool_dial(void)
{
	struct ev *e = malloc(sizeof(*e));

	if (e == NULL)
		die("malloc");
	e->kind = K_IDLE;
	e->fd = dial(&pool_addr);
	watch(e, EPOLLIN);
}

static void
client_start(struct ev *e)
{
	struct pollfd pfd;
	char start;
	int fd = e->fd, local;
	ssize_t n = recv(fd, &start, 1, 0);

	if (n == -1 && errno == EAGAIN)
		return;
	if (n != 1) {
		fprintf(stderr, "bench-poolfloor: the server went away\n");
		exit(1);
	}
	if (epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) == -1)
		die("epoll_ctl");
	free(e);
	pool_dial();			/* the pool stays full */
	local = dial(&local_addr);
	/* On loopback the handshake is done inside connect(); else wait. */
	if (connect(local, (const struct sockaddr *)&local_addr,
	    sizeof(local_addr)) == -1 && errno != EISCONN) {
		pfd.fd = local;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 5000) != 1 || (pfd.revents & POLLERR)) {
			(void)close(local);
			(void)close(fd);
			return;
		}
	}
	bridge_new(fd, local);
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	return a;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct ev pub, pool;
	int i, n;

	if (argc < 4 || (strcmp(argv[1], "server") != 0 &&
	    strcmp(argv[1], "client") != 0) ||
	    (strcmp(argv[1], "client") == 0 && argc != 5)) {
		fprintf(stderr, "usage: bench-poolfloor server PUBLIC_PORT "
		    "POOL_PORT\n       bench-poolfloor client POOL_PORT "
		    "LOCAL_PORT POOL_SIZE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	if ((spares = malloc(2 * MAX_SPARE * sizeof(int))) == NULL)
		die("malloc");
	if (strcmp(argv[1], "server") == 0) {
		pub.kind = K_PUBLIC;
		pub.fd = listen_on(atoi(argv[2]));
		pool.kind = K_POOL;
		pool.fd = listen_on(atoi(argv[3]));
		watch(&pub, EPOLLIN);
		watch(&pool, EPOLLIN);
	} else {
		pool_addr = loopback(atoi(argv[2]));
		local_addr = loopback(atoi(argv[3]));
		for (i = atoi(argv[4]); i > 0; i--)
			pool_dial();
	}
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		if (n == -1 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			struct ev *e = evs[i].data.ptr;

			switch (e->kind) {
			case K_PUBLIC:
			case K_POOL:
				server_accept(e);
				break;
			case K_IDLE:
				client_start(e);
				break;
			case K_SIDE:
				side_event((struct side *)e, evs[i].events);
				break;
			}
		}
		while (ngrave > 0)
			free(grave[--ngrave]);
	}
}
