/*
 * tty: reading a line from the user, optionally without echo. Echo is
 * always restored, also when SIGINT arrives during a hidden read (the
 * handler restores the terminal, then re-raises with the default action).
 */
#ifndef TUNNEL_TTY_H
#define TUNNEL_TTY_H

#include <stddef.h>

/* True when standard input is a terminal. */
int	tty_is_interactive(void);

/*
 * Prints prompt on stderr, reads one line from stdin (fd 0, byte by byte,
 * so later prompts still find their lines) into buf without the "\n" or
 * "\r\n". With echo == 0 the terminal does not show what is typed (when
 * stdin is a terminal) and a newline is printed after the read. Return:
 * the length, or -1 with errno 0 on EOF (also EOF after a partial line),
 * EMSGSIZE on a line longer than buflen - 1 (the rest of the line is
 * discarded: ask again), another errno on error. buf is wiped on -1.
 */
int	tty_read_line(const char *prompt, int echo, char *buf, size_t buflen);

#endif
