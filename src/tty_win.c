/*
 * tty_win: tty.h on Windows (BACKEND=win; tty.c is the Unix one).
 *
 * The prompt goes to stderr. A line from a pipe is read from fd 0 a byte
 * at a time, as on Unix, so that several prompts can share one piped
 * stdin; a line from the console is read whole (tty_read_console). A hidden
 * read on a console clears ENABLE_ECHO_INPUT (line input stays, so the
 * line can still be edited) and puts the console mode back afterwards,
 * also when Ctrl-C or Ctrl-Break ends the process during the read: a
 * control handler, first in line while a console read waits, restores
 * the mode before the process exits with status 130.
 * The console mode outlives the process, so without it the shell would be
 * left typing blind.
 */
#include <windows.h>

#include <errno.h>
#include <io.h>
#include <limits.h>
#include <string.h>

#include "sys.h"
#include "tty.h"
#include "tty_impl.h"

/*
 * How long a read that Ctrl-C ended waits for the handler, once it runs,
 * to end the process; and the pause before the line is read again when
 * it has not run (yet, or at all: a process started with Ctrl-C ignored,
 * as CREATE_NEW_PROCESS_GROUP does, calls no handler).
 */
#define TTY_CTRL_C_WAIT_MS	10000
#define TTY_CTRL_C_PAUSE_MS	50

static HANDLE		tty_in;
static DWORD		tty_saved;	/* the console mode to restore */
static volatile LONG	tty_hidden;	/* echo is off */
static volatile LONG	tty_exiting;	/* the handler is ending the process */

/* A console, not a file, pipe or NUL (which isatty() also calls a tty). */
int
tty_is_interactive(void)
{
	DWORD mode;

	return GetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), &mode) != 0;
}

static void
tty_write(const char *s, size_t len)
{
	int n;

	while (len > 0) {
		n = _write(2, s, len > INT_MAX ? INT_MAX : (unsigned int)len);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/*
 * Ctrl-C or Ctrl-Break at a prompt ends the process with status 130, as
 * SIGINT's default action does on Unix (Windows' own default would make
 * it STATUS_CONTROL_C_EXIT, and Wine's 0, which a script takes for
 * success); the loop's handler, which only queues a signal, would leave
 * the read waiting.
 */
static BOOL WINAPI
tty_on_console(DWORD type)
{
	if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT)
		InterlockedExchange(&tty_exiting, 1);
	if (tty_hidden) {
		(void)SetConsoleMode(tty_in, tty_saved);
		tty_write("\n", 1);
	}
	if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT)
		ExitProcess(130);
	return FALSE;		/* the next handler decides */
}

/*
 * A line from the console: the console edits it and hands it over at
 * Enter, so it is read whole, as UTF-16, and given as UTF-8 (a password
 * with accents is the same bytes as on Unix). Byte by byte reads are
 * not what consoles are made for: Wine's loses the rest of the line.
 * Ctrl-Z at the start of a line is the console's EOF.
 */
static int
tty_read_console(char *buf, size_t buflen)
{
	wchar_t w[256];
	char u[sizeof(w) / sizeof(w[0]) * 3];
	DWORD got, i, n;
	size_t len = 0;
	int toolong = 0, end = 0, first = 1, k;
	BOOL ok;

	while (!end) {
		SetLastError(0);
		got = 0;
		ok = ReadConsoleW(tty_in, w, sizeof(w) / sizeof(w[0]), &got,
		    NULL);
		if ((!ok || got == 0) &&
		    GetLastError() == ERROR_OPERATION_ABORTED) {
			/* Ctrl-C ended the read: its handler, on a thread of
			 * its own, ends the process with status 130. Until
			 * it runs, or if it never does (Ctrl-C ignored), the
			 * line is read again from its start, as a terminal
			 * does when SIGINT is ignored; the pause keeps a
			 * read that keeps failing from spinning. */
			Sleep(tty_exiting ? TTY_CTRL_C_WAIT_MS :
			    TTY_CTRL_C_PAUSE_MS);
			sys_wipe(buf, buflen);
			len = 0;
			toolong = 0;
			first = 1;
			continue;
		}
		if (!ok) {
			errno = EIO;
			return -1;
		}
		if (got == 0 || (first && w[0] == 0x1a)) {
			errno = 0;
			return -1;
		}
		first = 0;
		for (n = 0; n < got && w[n] != L'\n'; n++)
			;
		end = n < got;
		for (i = n; i > 0 && w[i - 1] == L'\r'; i--)
			;
		k = i == 0 ? 0 : WideCharToMultiByte(CP_UTF8, 0, w, (int)i, u,
		    sizeof(u), NULL, NULL);
		if (i > 0 && k == 0) {
			errno = EILSEQ;
			return -1;
		}
		if (len + (size_t)k + 1 > buflen)
			toolong = 1;
		else if (!toolong) {
			memcpy(buf + len, u, (size_t)k);
			len += (size_t)k;
		}
		sys_wipe(w, sizeof(w));
		sys_wipe(u, sizeof(u));
	}
	if (toolong) {
		errno = EMSGSIZE;
		return -1;
	}
	buf[len] = '\0';
	return (int)len;
}

int
tty_read_line(const char *prompt, int echo, char *buf, size_t buflen)
{
	int r, e, console, guarded = 0;

	if (buf == NULL || buflen == 0 || buflen > (size_t)INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	buf[0] = '\0';
	console = tty_is_interactive();
	if (console) {
		tty_in = GetStdHandle(STD_INPUT_HANDLE);
		guarded = GetConsoleMode(tty_in, &tty_saved) &&
		    SetConsoleCtrlHandler(tty_on_console, TRUE);
		if (!guarded && !echo) {
			errno = EIO;	/* never read a secret with echo on */
			return -1;
		}
	}
	if (console && !echo) {
		InterlockedExchange(&tty_hidden, 1);
		if (!SetConsoleMode(tty_in, (tty_saved & ~(DWORD)
		    ENABLE_ECHO_INPUT) | ENABLE_LINE_INPUT)) {
			InterlockedExchange(&tty_hidden, 0);
			(void)SetConsoleCtrlHandler(tty_on_console, FALSE);
			errno = EIO;
			return -1;
		}
	}
	if (prompt != NULL)
		tty_write(prompt, strlen(prompt));
	r = console ? tty_read_console(buf, buflen) : tty_read_fd(buf, buflen);
	e = errno;
	if (console) {
		if (tty_hidden) {
			/* Restored before the flag drops: a Ctrl-C between
			 * the two restores it again, which does no harm. */
			(void)SetConsoleMode(tty_in, tty_saved);
			InterlockedExchange(&tty_hidden, 0);
			tty_write("\n", 1);
		}
		if (guarded)
			(void)SetConsoleCtrlHandler(tty_on_console, FALSE);
	}
	if (r == -1)
		sys_wipe(buf, buflen);
	errno = e;
	return r;
}
