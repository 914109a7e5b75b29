/*
 * sys_impl: what the sys_*.c files share among themselves and nobody else
 * calls (the rest of the program sees include/sys.h alone).
 */
#ifndef TUNNEL_SYS_IMPL_H
#define TUNNEL_SYS_IMPL_H

/* Makes fd non-blocking and close-on-exec by fcntl. Return: 0 or -1. */
int	sys_fd_own(int fd);

#endif
