/*
 * bench-floor: the least work a splice forwarder can do, a reference for
 * bench/bench.py (it is not part of the tunnel). For each connection
 * accepted on 127.0.0.1:LISTEN it dials 127.0.0.1:TARGET and moves the
 * bytes both ways with blocking splice() through a pipe as large as the
 * tunnel's (1 MiB), one thread per direction. No event loop, no protocol,
 * no user-space buffer: two of them in a chain pay only the kernel's TCP
 * and splice work that the tunnel's two hops cannot avoid either, so the
 * tunnel's CPU per GB can be compared with a floor measured in the same
 * run.
 *
 * usage: bench-floor LISTEN_PORT TARGET_PORT
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLOOR_PIPE	(1 << 20)	/* the tunnel's pipe_size default */

struct pair {
	int		fd[2];		/* accepted, dialled */
	atomic_int	refs;		/* directions still running */
};

struct dir {
	struct pair	*p;
	int		 src, dst;	/* indexes into p->fd */
};

static void
pair_unref(struct pair *p)
{
	if (atomic_fetch_sub(&p->refs, 1) == 1) {
		(void)close(p->fd[0]);
		(void)close(p->fd[1]);
		free(p);
	}
}

/* Moves src -> pipe -> dst until EOF or an error, then passes the EOF on. */
static void *
pump(void *arg)
{
	struct dir *d = arg;
	int src = d->p->fd[d->src], dst = d->p->fd[d->dst], pfd[2];
	ssize_t n, m;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		perror("bench-floor: pipe2");
		(void)shutdown(src, SHUT_RDWR);
		goto out;
	}
	/* Refused above fs.pipe-max-size: the default pipe still works. */
	(void)fcntl(pfd[1], F_SETPIPE_SZ, FLOOR_PIPE);
	while ((n = splice(src, NULL, pfd[1], NULL, FLOOR_PIPE,
	    SPLICE_F_MOVE)) > 0) {
		while (n > 0) {
			m = splice(pfd[0], NULL, dst, NULL, (size_t)n,
			    SPLICE_F_MOVE);
			if (m <= 0)
				goto done;
			n -= m;
		}
	}
done:
	(void)close(pfd[0]);
	(void)close(pfd[1]);
	(void)shutdown(dst, SHUT_WR);
out:
	pair_unref(d->p);
	free(d);
	return NULL;
}

static int
start_dir(pthread_attr_t *attr, struct pair *p, int src)
{
	struct dir *d = malloc(sizeof(*d));
	pthread_t t;

	if (d == NULL)
		return -1;
	d->p = p;
	d->src = src;
	d->dst = !src;
	if (pthread_create(&t, attr, pump, d) != 0) {
		free(d);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	pthread_attr_t attr;
	int lfd, one = 1;
	long lport, tport;

	if (argc != 3 || (lport = strtol(argv[1], NULL, 10)) <= 0 ||
	    lport > 65535 || (tport = strtol(argv[2], NULL, 10)) <= 0 ||
	    tport > 65535) {
		fprintf(stderr, "usage: bench-floor LISTEN_PORT TARGET_PORT\n");
		return 2;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)lport);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    listen(lfd, 4096) == -1) {
		perror("bench-floor: listen");
		return 1;
	}
	a.sin_port = htons((uint16_t)tport);
	(void)pthread_attr_init(&attr);
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	(void)pthread_attr_setstacksize(&attr, 64 << 10);
	for (;;) {
		struct pair *p;
		int c, s;

		if ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED)
				perror("bench-floor: accept");
			continue;
		}
		if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
		    connect(s, (struct sockaddr *)&a, sizeof(a)) == -1 ||
		    (p = malloc(sizeof(*p))) == NULL) {
			perror("bench-floor: connect");
			if (s != -1)
				(void)close(s);
			(void)close(c);
			continue;
		}
		/* As the tunnel does on every bridged socket. */
		(void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		p->fd[0] = c;
		p->fd[1] = s;
		atomic_init(&p->refs, 2);
		if (start_dir(&attr, p, 0) == -1) {
			fprintf(stderr, "bench-floor: no thread\n");
			(void)close(c);
			(void)close(s);
			free(p);
			continue;
		}
		if (start_dir(&attr, p, 1) == -1) {
			/* The running direction ends on the reset and frees p. */
			fprintf(stderr, "bench-floor: no thread\n");
			(void)shutdown(c, SHUT_RDWR);
			(void)shutdown(s, SHUT_RDWR);
			pair_unref(p);
		}
	}
}
