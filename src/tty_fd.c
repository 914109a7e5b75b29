/*
 * tty_fd: a line from fd 0, byte by byte (tty_impl.h): the terminal's on
 * Unix, a pipe's or a file's anywhere.
 */
#include <errno.h>
#include <unistd.h>

#include "tty_impl.h"

int
tty_read_fd(char *buf, size_t buflen)
{
	size_t len = 0;
	ssize_t n;
	char ch;
	int toolong = 0;

	for (;;) {
		n = read(STDIN_FILENO, &ch, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = 0;
			return -1;
		}
		if (ch == '\n')
			break;
		if (len + 1 >= buflen)
			toolong = 1;
		else if (!toolong)
			buf[len++] = ch;
	}
	if (toolong) {
		errno = EMSGSIZE;
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return (int)len;
}
