/*
 * tty_impl: what tty.c (Unix) and tty_win.c (Windows) share: reading a
 * line from fd 0 (tty_fd.c).
 */
#ifndef TUNNEL_TTY_IMPL_H
#define TUNNEL_TTY_IMPL_H

#include <stddef.h>

/*
 * Reads one line from fd 0 into buf, a byte at a time (read(2)), so that
 * no buffer swallows what follows the newline; a "\r" before it is
 * dropped. Return: its length, or -1: errno 0 on EOF (also EOF in the
 * middle of a line), EMSGSIZE when the line did not fit (the rest of it
 * has been read and dropped), another errno on a read error.
 */
int	tty_read_fd(char *buf, size_t buflen);

#endif
