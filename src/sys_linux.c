/*
 * sys_linux: the Linux build's platform layer (with sys_unix.c): sockets
 * made non-blocking in the same call, getrandom, splice and pipe sizes,
 * and the kernel's view of a TCP connection (TCP_INFO, the send queue).
 */
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "sys.h"

int
sys_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sys_socket(int family)
{
	return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

int
sys_accept(int lfd, struct sockaddr *addr, socklen_t *len)
{
	return accept4(lfd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int
sys_pipe(int fds[2])
{
	return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

int
sys_can_splice(void)
{
	return 1;
}

ssize_t
sys_splice(int fd_in, int fd_out, size_t len)
{
	return splice(fd_in, NULL, fd_out, NULL, len,
	    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
}

ssize_t
sys_tee(int fd_in, int fd_out, size_t len)
{
	return tee(fd_in, fd_out, len, SPLICE_F_NONBLOCK);
}

int
sys_pipe_resize(int fd, int size)
{
	return fcntl(fd, F_SETPIPE_SZ, size);
}

int
sys_pipe_size(int fd)
{
	return fcntl(fd, F_GETPIPE_SZ);
}

int
sys_tcp_keepalive(int fd, int idle, int interval, int count)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
	    sizeof(idle)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval,
	    sizeof(interval)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count,
	    sizeof(count)) == -1)
		return -1;
	return 0;
}

int
sys_tcp_keepidle(int fd, int secs)
{
	return setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof(secs));
}

int
sys_tcp_user_timeout(int fd, unsigned int ms)
{
	return setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
}

uint64_t
sys_tcp_rtt_ms(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (fd == -1 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return 0;
	return ti.tcpi_rtt / 1000;
}

ssize_t
sys_tcp_unacked(int fd)
{
	int n;

	/* SIOCOUTQ (TIOCOUTQ for TCP): sent but unacknowledged + unsent. */
	if (ioctl(fd, TIOCOUTQ, &n) == -1)
		return -1;
	return n;
}

ssize_t
sys_tcp_unsent(int fd)
{
	int n;

	if (ioctl(fd, SIOCOUTQNSD, &n) == -1)
		return -1;
	return n;
}
