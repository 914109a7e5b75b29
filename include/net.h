/*
 * net: non-blocking sockets. Listening on IPv4+IPv6, accept, asynchronous
 * connect with SO_ERROR, address parsing and printing, the socket options
 * every system names alike (the others are sys.h's). Knows nothing of the
 * event loop or the protocol.
 */
#ifndef TUNNEL_NET_H
#define TUNNEL_NET_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define NET_ADDRSTRLEN	64	/* "[v6]:port" fits */

/*
 * Listens on host:port (host NULL or "" = every address, IPv6 and IPv4 on
 * one dual-stack socket, or IPv4 alone where IPv6 is off). Non-blocking,
 * close-on-exec, SO_REUSEADDR. Return: the fd, or -1 with errno set.
 */
int	net_listen(const char *host, int port, int backlog);

/*
 * accept(2) giving a non-blocking, close-on-exec socket; addr may be NULL.
 * Return: the fd, or -1 with errno set (EAGAIN when none is waiting).
 */
int	net_accept(int lfd, struct sockaddr_storage *addr, socklen_t *len);

/*
 * base + a random 0..base-1, from *rng (an xorshift state the caller
 * keeps, never 0): a keepalive idle time. Connections opened in the same
 * second must not probe in the same second: thousands of probes at once
 * overflow a queue (on loopback, the 1,000-packet netdev backlog), and a
 * connection whose every probe is dropped is reset as dead.
 */
int	net_jitter(int base, uint64_t *rng);


/*
 * Starts a non-blocking connect. Return: the fd (connected or in
 * progress: wait for LOOP_OUT then call net_connect_result), or -1.
 */
int	net_connect(const struct sockaddr_storage *addr, socklen_t len);

/* Return: 0 when the connect succeeded, else the SO_ERROR errno value. */
int	net_connect_result(int fd);

/*
 * Asks an in-progress connect how it went, without waiting. Return: 0
 * when connected, -1 with errno EALREADY while in progress, or the
 * connect's error.
 */
int	net_connect_again(int fd, const struct sockaddr_storage *addr,
	    socklen_t len);

/* Whether a is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x). */
int	net_is_loopback(const struct sockaddr_storage *a);

/* TCP_NODELAY on. Return: 0 or -1. */
int	net_nodelay(int fd);

/*
 * SO_LINGER: on != 0 makes close() (ours, or the kernel's when the process
 * dies) send RST and drop unsent bytes; on == 0 restores the graceful
 * close that flushes them.
 */
void	net_linger_reset(int fd, int on);

/* "a.b.c.d:port" or "[v6]:port"; v4-mapped IPv6 printed as IPv4. */
char	*net_addr_str(const struct sockaddr_storage *a, char *buf,
	    size_t len);

/* The address string of the peer (getpeername) or of our end. */
char	*net_peer_str(int fd, char *buf, size_t len);
char	*net_local_str(int fd, char *buf, size_t len);

/* The local port of a bound socket, or -1. */
int	net_local_port(int fd);

#endif
