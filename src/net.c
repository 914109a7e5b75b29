/*
 * net: socket plumbing shared by both daemons. Every socket is created
 * non-blocking and close-on-exec so nothing leaks into children and nothing
 * can block the loop; errors come back as -1 with errno for the caller to
 * log once.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "sys.h"

static int
listen_family(int family, const char *host, int port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, zero = 0, saved;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s6->sin6_addr = in6addr_any;
		if (host != NULL && *host != '\0' &&
		    inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
			errno = EINVAL;
			return -1;
		}
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		if (host != NULL && *host != '\0' &&
		    inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
			errno = EINVAL;
			return -1;
		}
		len = sizeof(*s4);
	}
	fd = sys_socket(family);
	if (fd == -1)
		return -1;
	if (sys_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	if (family == AF_INET6 && (host == NULL || *host == '\0') &&
	    sys_setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
	    sizeof(zero)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		goto fail;
	if (listen(fd, backlog) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	(void)sys_close(fd);
	errno = saved;
	return -1;
}

int
net_listen(const char *host, int port, int backlog)
{
	int fd;

	if (host != NULL && *host != '\0')
		return listen_family(strchr(host, ':') ? AF_INET6 : AF_INET,
		    host, port, backlog);
	fd = listen_family(AF_INET6, NULL, port, backlog);
	if (fd == -1 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL))
		fd = listen_family(AF_INET, NULL, port, backlog);
	return fd;
}

int
net_accept(int lfd, struct sockaddr_storage *addr, socklen_t *len)
{
	socklen_t dummy = sizeof(struct sockaddr_storage);

	if (addr != NULL && len == NULL)
		len = &dummy;
	if (addr != NULL)
		*len = sizeof(*addr);
	return sys_accept(lfd, (struct sockaddr *)addr, addr ? len : NULL);
}

int
net_connect(const struct sockaddr_storage *addr, socklen_t len)
{
	int fd, saved;

	fd = sys_socket(addr->ss_family);
	if (fd == -1)
		return -1;
	if (sys_connect(fd, (const struct sockaddr *)addr, len) == -1 &&
	    errno != EINPROGRESS) {
		saved = errno;
		(void)sys_close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
net_connect_again(int fd, const struct sockaddr_storage *addr, socklen_t len)
{
	int r;

	do {
		r = sys_connect(fd, (const struct sockaddr *)addr, len);
	} while (r == -1 && errno == EINTR);
	if (r == -1 && errno == EISCONN)
		r = 0;
	return r;
}

int
net_is_loopback(const struct sockaddr_storage *a)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;

	if (a->ss_family == AF_INET)
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	if (a->ss_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
	    s6->sin6_addr.s6_addr[12] == 127;
}

int
net_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (sys_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

int
net_nodelay(int fd)
{
	int one = 1;

	return sys_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int
net_jitter(int base, uint64_t *rng)
{
	uint64_t x = *rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*rng = x;
	return base > 0 ? base + (int)(x % (uint64_t)base) : base;
}

void
net_linger_reset(int fd, int on)
{
	struct linger lg = { .l_onoff = on ? 1 : 0, .l_linger = 0 };

	(void)sys_setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

char *
net_addr_str(const struct sockaddr_storage *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;

		(void)inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		(void)snprintf(buf, len, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			(void)inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12],
			    ip, sizeof(ip));
			(void)snprintf(buf, len, "%s:%u", ip,
			    ntohs(s6->sin6_port));
		} else {
			(void)inet_ntop(AF_INET6, &s6->sin6_addr, ip,
			    sizeof(ip));
			(void)snprintf(buf, len, "[%s]:%u", ip,
			    ntohs(s6->sin6_port));
		}
	} else {
		(void)snprintf(buf, len, "?");
	}
	return buf;
}

char *
net_peer_str(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1) {
		(void)snprintf(buf, len, "?");
		return buf;
	}
	return net_addr_str(&ss, buf, len);
}

char *
net_local_str(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
		(void)snprintf(buf, len, "?");
		return buf;
	}
	return net_addr_str(&ss, buf, len);
}

int
net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}
