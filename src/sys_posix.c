/*
 * sys_posix: the portable build's platform layer (with sys_unix.c): what
 * macOS runs, built and tested on Linux with `make BACKEND=poll`. Only
 * POSIX calls plus the socket options each system names its own way,
 * picked by the names the headers define. No splice: every bridge copies.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sys/random.h>		/* getentropy, on glibc and macOS */
#ifdef __linux__
#include <linux/sockios.h>	/* SIOCOUTQNSD */
#endif

#include "sys.h"
#include "sys_impl.h"

int
sys_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	/* getentropy() gives at most 256 bytes a call. */
	while (len > 0) {
		size_t n = len < 256 ? len : 256;

		if (getentropy(p, n) == -1)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Non-blocking, close-on-exec, and, where a write to a reset socket would
 * raise SIGPIPE without MSG_NOSIGNAL, SO_NOSIGPIPE.
 */
static int
own_socket(int fd)
{
	if (sys_fd_own(fd) == -1)
		return -1;
#ifdef SO_NOSIGPIPE
	{
		int one = 1;

		if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one,
		    sizeof(one)) == -1)
			return -1;
	}
#endif
	return 0;
}

/* Closes fd on a failed set-up, keeping its errno. */
static int
give_up(int fd)
{
	int err = errno;

	(void)close(fd);
	errno = err;
	return -1;
}

int
sys_socket(int family)
{
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd == -1)
		return -1;
	return own_socket(fd) == -1 ? give_up(fd) : fd;
}

int
sys_accept(int lfd, struct sockaddr *addr, socklen_t *len)
{
	int fd = accept(lfd, addr, len);

	if (fd == -1)
		return -1;
	return own_socket(fd) == -1 ? give_up(fd) : fd;
}

int
sys_pipe(int fds[2])
{
	int i;

	if (pipe(fds) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		if (sys_fd_own(fds[i]) == -1) {
			(void)give_up(fds[1 - i]);
			return give_up(fds[i]);
		}
	}
	return 0;
}

/* The idle time's option: TCP_KEEPIDLE (Linux, BSDs) or TCP_KEEPALIVE. */
#if defined(TCP_KEEPIDLE)
#define KEEPIDLE_OPT	TCP_KEEPIDLE
#elif defined(TCP_KEEPALIVE)
#define KEEPIDLE_OPT	TCP_KEEPALIVE
#endif

int
sys_tcp_keepidle(int fd, int secs)
{
#ifdef KEEPIDLE_OPT
	return setsockopt(fd, IPPROTO_TCP, KEEPIDLE_OPT, &secs, sizeof(secs));
#else
	(void)fd;
	(void)secs;
	errno = ENOTSUP;
	return -1;
#endif
}

int
sys_tcp_keepalive(int fd, int idle, int interval, int count)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == -1 ||
	    sys_tcp_keepidle(fd, idle) == -1)
		return -1;
#if defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
	if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval,
	    sizeof(interval)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count,
	    sizeof(count)) == -1)
		return -1;
#else
	(void)interval;
	(void)count;
#endif
	return 0;
}

int
sys_tcp_user_timeout(int fd, unsigned int ms)
{
#if defined(TCP_USER_TIMEOUT)
	return setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
#elif defined(TCP_RXT_CONNDROPTIME)
	int secs = (int)((ms + 999) / 1000);

	/* macOS: retransmitting unacknowledged data for secs drops it. */
	return setsockopt(fd, IPPROTO_TCP, TCP_RXT_CONNDROPTIME, &secs,
	    sizeof(secs));
#else
	(void)fd;
	(void)ms;
	errno = ENOTSUP;
	return -1;
#endif
}

uint64_t
sys_tcp_rtt_ms(int fd)
{
#if defined(__linux__) && defined(TCP_INFO)
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (fd == -1 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return 0;
	return ti.tcpi_rtt / 1000;
#elif defined(TCP_CONNECTION_INFO)
	struct tcp_connection_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (fd == -1 || getsockopt(fd, IPPROTO_TCP, TCP_CONNECTION_INFO, &ti,
	    &len) == -1)
		return 0;
	return ti.tcpi_srtt;
#else
	(void)fd;
	return 0;
#endif
}

ssize_t
sys_tcp_unacked(int fd)
{
	int n;

#if defined(TIOCOUTQ)
	if (ioctl(fd, TIOCOUTQ, &n) == -1)
		return -1;
	return n;
#elif defined(SO_NWRITE)
	socklen_t len = sizeof(n);

	/* macOS: written and not yet acknowledged. */
	if (getsockopt(fd, SOL_SOCKET, SO_NWRITE, &n, &len) == -1)
		return -1;
	return n;
#else
	(void)fd;
	(void)n;
	errno = ENOTSUP;
	return -1;
#endif
}

ssize_t
sys_tcp_unsent(int fd)
{
#if defined(SIOCOUTQNSD)
	int n;

	if (ioctl(fd, SIOCOUTQNSD, &n) == -1)
		return -1;
	return n;
#else
	/* Unknown: counted as sent (the close line may then overstate). */
	(void)fd;
	errno = ENOTSUP;
	return -1;
#endif
}
