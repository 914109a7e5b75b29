/*
 * fdio: blocking writes to files and pipes, for the few places that write
 * a whole buffer before going on (a config file, a secret, the log file,
 * the crypt helper's answer). Sockets of the event loop never come here:
 * they go through frameio's outbuf.
 */
#ifndef TUNNEL_FDIO_H
#define TUNNEL_FDIO_H

#include <stddef.h>

/*
 * Writes all len bytes of p to fd, going on after EINTR and short writes.
 * Return: 0, or -1 with errno set (a write that took no byte counts as
 * EIO, so a caller never loops on it).
 */
int	fd_write_all(int fd, const void *p, size_t len);

#endif
