/*
 * sys: what differs between the systems tunnel runs on, in one place.
 * Each build links one implementation: sys_unix.c (POSIX parts every Unix
 * build shares) with sys_linux.c (the Linux build: epoll, splice, Linux's
 * socket introspection) or sys_posix.c (the portable build: macOS, and
 * `make BACKEND=poll` on Linux, so that code is tested here), or
 * sys_win.c (Windows). Nothing here knows what the tunnel does.
 */
#ifndef TUNNEL_SYS_H
#define TUNNEL_SYS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <poll.h>
#include <sys/socket.h>
#ifndef _WIN32
#include <unistd.h>
#endif

/*
 * Sets the process up for the rest of this layer, first thing in main():
 * SIGPIPE ignored (Unix); Winsock started and fds 0 to 2 in binary mode
 * (Windows). Return: 0, or -1 with errno.
 */
int	sys_init(void);

/*
 * The user's own configuration directory, where tunnel keeps its files
 * under "tunnel": $XDG_CONFIG_HOME or $HOME/.config (Unix), %APPDATA%
 * (Windows). Return: 0, or -1 when the environment names none or it does
 * not fit in len.
 */
int	sys_config_dir(char *buf, size_t len);

/*
 * The socket calls the tunnel makes, on sockets the loop holds. On Unix
 * they are the calls themselves; on Windows they set errno from Winsock's
 * own error (a non-blocking connect's WSAEWOULDBLOCK is EINPROGRESS), and
 * SO_ERROR's value is turned into an errno value as well. sys_read() is
 * read(2) on any fd the loop holds: a pipe on Unix, a socket on Windows.
 */
#ifdef _WIN32
ssize_t	sys_recv(int fd, void *buf, size_t len, int flags);
ssize_t	sys_send(int fd, const void *buf, size_t len, int flags);
ssize_t	sys_read(int fd, void *buf, size_t len);
int	sys_connect(int fd, const struct sockaddr *addr, socklen_t len);
int	sys_shutdown(int fd, int how);
int	sys_getsockopt(int fd, int level, int name, void *val,
	    socklen_t *len);
int	sys_setsockopt(int fd, int level, int name, const void *val,
	    socklen_t len);
#else
static inline ssize_t
sys_recv(int fd, void *buf, size_t len, int flags)
{
	return recv(fd, buf, len, flags);
}
static inline ssize_t
sys_send(int fd, const void *buf, size_t len, int flags)
{
	return send(fd, buf, len, flags);
}
static inline ssize_t
sys_read(int fd, void *buf, size_t len)
{
	return read(fd, buf, len);
}
static inline int
sys_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return connect(fd, addr, len);
}
static inline int
sys_shutdown(int fd, int how)
{
	return shutdown(fd, how);
}
static inline int
sys_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	return getsockopt(fd, level, name, val, len);
}
static inline int
sys_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return setsockopt(fd, level, name, val, len);
}
#endif

/*
 * fd (opened for writing) again, in a new open file description of its
 * own, non-blocking: O_NONBLOCK set on it touches nobody else's. Return:
 * the new fd (close-on-exec), or -1 with errno where the system has no
 * way (only Linux has: /proc/self/fd).
 */
int	sys_reopen_nonblock(int fd);

/* Monotonic milliseconds. */
uint64_t sys_clock_ms(void);

/* close(2) for any fd the loop holds (a socket on Windows). */
int	sys_close(int fd);

/*
 * poll(2) as the portable loop uses it. Parked places hold SYS_POLL_SKIP,
 * which poll skips. Return: ready count, or -1 with errno (EINTR).
 */
#ifdef _WIN32
typedef SOCKET sys_pollfd_t;	/* WSAPOLLFD's layout */
#else
typedef int sys_pollfd_t;
#endif
struct sys_pollfd {
	sys_pollfd_t	fd;
	short		events;
	short		revents;
};
#define SYS_POLLIN	POLLIN
#define SYS_POLLOUT	POLLOUT
#define SYS_POLLERR	POLLERR
#define SYS_POLLHUP	POLLHUP
#define SYS_POLLNVAL	POLLNVAL
#ifdef POLLRDHUP
#define SYS_POLLRDHUP	POLLRDHUP
#else
#define SYS_POLLRDHUP	0	/* a FIN shows as readable */
#endif
#define SYS_POLL_SKIP	((sys_pollfd_t)-1)
int	sys_poll(struct sys_pollfd *p, size_t n, int timeout_ms);
/* What the user should know of sys_poll on this system, or NULL. */
const char *sys_poll_note(void);

/*
 * A non-blocking fd from which each of signals[0..n) arrives, once per
 * delivery, for sys_signal_read() (the portable loop's signals; a
 * handler writes their numbers). Return: the fd, or -1 with errno.
 */
int	sys_signal_pipe(const int *signals, size_t n);

/* Return: the next signal number read from fd, or 0 when none is left. */
int	sys_signal_read(int fd);

/* Zeroes len bytes at p in a way the compiler cannot leave out. */
void	sys_wipe(void *p, size_t len);

/* Fills buf from the system's CSPRNG. Return: 0, or -1 with errno. */
int	sys_random(void *buf, size_t len);

/*
 * send()'s flag that keeps a write to a reset socket from raising
 * SIGPIPE; 0 where the socket itself is told (SO_NOSIGPIPE, at creation).
 */
#ifdef MSG_NOSIGNAL
#define SYS_NOSIGNAL	MSG_NOSIGNAL
#else
#define SYS_NOSIGNAL	0
#endif
#ifndef MSG_MORE
#define MSG_MORE	0	/* only a hint: more follows */
#endif

/* A non-blocking, close-on-exec TCP socket. Return: fd, or -1 with errno. */
int	sys_socket(int family);

/*
 * accept(2) giving a non-blocking, close-on-exec socket; addr may be
 * NULL. Return: the fd, or -1 with errno (EAGAIN when none is waiting).
 */
int	sys_accept(int lfd, struct sockaddr *addr, socklen_t *len);

/* A non-blocking, close-on-exec pipe. Return: 0, or -1 with errno. */
int	sys_pipe(int fds[2]);

/*
 * Whether splice(2) moves bytes between sockets and pipes here; where it
 * does not, every bridge copies through user space.
 */
int	sys_can_splice(void);

/*
 * Non-blocking splice(2) from fd_in to fd_out, one of them a pipe, and
 * tee(2) from pipe to pipe. Return: bytes, or -1 with errno (ENOSYS where
 * sys_can_splice() is 0).
 */
ssize_t	sys_splice(int fd_in, int fd_out, size_t len);
ssize_t	sys_tee(int fd_in, int fd_out, size_t len);

/* Resizes a pipe (F_SETPIPE_SZ). Return: its new size, or -1 with errno. */
int	sys_pipe_resize(int fd, int size);

/* Its current size. Return: bytes, or -1 with errno. */
int	sys_pipe_size(int fd);

/*
 * SO_KEEPALIVE with idle/interval/count in seconds, by each system's
 * option names. Return: 0 or -1.
 */
int	sys_tcp_keepalive(int fd, int idle, int interval, int count);

/* The idle time alone (the rest inherited from a listener). */
int	sys_tcp_keepidle(int fd, int secs);

/*
 * Unacknowledged data (or a zero window probed) for ms fails the socket
 * (TCP_USER_TIMEOUT; its nearest equivalent elsewhere). Only for control
 * connections: on a bridged socket it would cut a visitor whose reader
 * merely paused. Return: 0 or -1 (ENOTSUP where nothing is near).
 */
int	sys_tcp_user_timeout(int fd, unsigned int ms);

/* fd's smoothed TCP round trip time in ms (kernel's view), 0 if unknown. */
uint64_t sys_tcp_rtt_ms(int fd);

/*
 * Bytes written to fd's TCP socket that its peer has not acknowledged yet
 * (queued or in flight). Return: the count, or -1 with errno (also where
 * the system cannot tell).
 */
ssize_t	sys_tcp_unacked(int fd);

/*
 * Bytes written to fd's TCP socket that have not left it yet: a reset
 * would discard them unseen. Return: the count, or -1 with errno.
 */
ssize_t	sys_tcp_unsent(int fd);

/* A helper child process (sys_helper_spawn): its handle on Windows. */
#ifdef _WIN32
typedef intptr_t sys_pid_t;
#else
typedef pid_t sys_pid_t;
#endif

/*
 * Runs this program again as "tunnel-client --helper MODE" (its own
 * binary, found by the system's means, not by PATH), with new pipes for
 * its stdin and stdout, its stderr shared, no other descriptor inherited
 * and no signal blocked. Return: 0 with *to (the child's stdin, blocking),
 * *from (its stdout, non-blocking) and *pid set, or -1 with errno.
 */
int	sys_helper_spawn(const char *mode, int *to, int *from, sys_pid_t *pid);

/*
 * The same for another program: path run with argv (Unix only; the
 * server's ACME helper).
 */
int	sys_spawn(const char *path, char *const argv[], int *to, int *from,
	    sys_pid_t *pid);

/*
 * Waits for a helper to end, killing it first if kill_it. Return: 1 when
 * it exited with status 0, else 0.
 */
int	sys_helper_reap(sys_pid_t pid, int kill_it);

/*
 * In a helper: caps the address space at what the process maps now plus
 * bytes, and its CPU time at secs (SIGXCPU, then SIGKILL a second later).
 * Relative to what is mapped, so the cap holds the same under sanitizers
 * that reserve terabytes up front. Where the system enforces no address
 * space cap (macOS) only the CPU time is capped. Return: 0 or -1.
 */
int	sys_helper_limits(uint64_t bytes, unsigned int secs);

/* This program's own binary, for sys_helper_spawn(); NULL if unknown. */
const char *sys_self_path(void);

/*
 * Bytes of address space the process maps now; UINT64_MAX where the
 * system enforces no cap on it anyway (macOS), 0 when it cannot tell.
 */
uint64_t sys_mapped_bytes(void);

/*
 * What a monitor asks of the process: its open descriptors, the soft
 * limit on them, and its resident memory in bytes; each 0 where the
 * system does not tell.
 */
struct sys_proc {
	uint64_t	 open_fds, max_fds, rss_bytes;
};
void	sys_proc_stats(struct sys_proc *p);

/*
 * Raises the descriptor limit's soft value to the hard one.
 * Return: the new soft limit, or -1.
 */
long	sys_raise_nofile(void);

#endif
