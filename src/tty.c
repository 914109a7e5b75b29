/*
 * tty: asking the user for a line, optionally without echo.
 *
 * Theory of operation. The prompt goes to stderr so that stdout stays
 * clean. Input is read from fd 0 one byte at a time with read(2): no stdio
 * buffer swallows what follows the newline, so several prompts can share
 * one piped stdin ("printf 'a\nb\n' | tunnel-client").
 *
 * A hidden read on a terminal clears ECHO (ICANON stays, so the line can
 * still be edited). While any read from a terminal waits, the signals a
 * person sends from it take their default action, whatever the caller
 * made of them: the question asked from inside the event loop (trust
 * this server?) would otherwise leave Ctrl-C queued for the loop until
 * Enter. SIGHUP is the exception while echo is on: to the client it
 * means "read the file again", which can wait for the answer; a terminal
 * that hangs up ends the read by itself. SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT first restore the saved termios if echo is off, then are
 * re-raised with their default action (Ctrl-C exits with status 130);
 * SIGTSTP restores the terminal, stops, and turns echo off again after
 * SIGCONT. Those signals are unblocked for the duration, in case the
 * caller has blocked them for a signalfd. Signals already ignored stay
 * ignored. Afterwards the old handlers, signal mask and termios come
 * back, and after a hidden read a newline is printed, since the user's
 * Enter was not echoed.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "sys.h"
#include "tty.h"
#include "tty_impl.h"

static const int	 tty_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
			    SIGTSTP };
#define TTY_NSIGS	 (sizeof(tty_sigs) / sizeof(tty_sigs[0]))

static struct termios		 tty_saved;	/* to restore */
static volatile sig_atomic_t	 tty_hidden;	/* echo is off */

int
tty_is_interactive(void)
{
	return isatty(STDIN_FILENO);
}

static void
tty_write(const char *s, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(STDERR_FILENO, s, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void
tty_echo_off(void)
{
	struct termios t = tty_saved;

	t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
}

/* Async-signal-safe: tcsetattr, sigaction, sigprocmask, raise, write. */
static void
tty_on_signal(int sig)
{
	struct sigaction sa, mine;
	sigset_t set;
	int saved_errno = errno;

	if (tty_hidden) {
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &tty_saved);
		tty_write("\n", 1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(sig, &sa, &mine);
	(void)sigemptyset(&set);
	(void)sigaddset(&set, sig);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)raise(sig);
	/* Only a stop comes back here, after SIGCONT. */
	(void)sigaction(sig, &mine, NULL);
	if (tty_hidden)
		tty_echo_off();
	errno = saved_errno;
}

int
tty_read_line(const char *prompt, int echo, char *buf, size_t buflen)
{
	struct sigaction sa, old[TTY_NSIGS];
	int installed[TTY_NSIGS] = { 0 };
	sigset_t unblock, oldmask;
	size_t i;
	int r, e, guard, hide;

	if (buf == NULL || buflen == 0 || buflen > (size_t)INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	buf[0] = '\0';
	guard = isatty(STDIN_FILENO);
	hide = !echo && guard;
	if (hide && tcgetattr(STDIN_FILENO, &tty_saved) == -1)
		return -1;	/* never read a secret with echo on */
	if (guard) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = tty_on_signal;
		(void)sigemptyset(&sa.sa_mask);
		(void)sigemptyset(&unblock);
		for (i = 0; i < TTY_NSIGS; i++) {
			(void)sigaddset(&sa.sa_mask, tty_sigs[i]);
			/*
			 * SIGHUP asks the client to reload: with echo on it
			 * waits for the caller. A terminal that hangs up
			 * ends the read anyway (end of file).
			 */
			if (!hide && tty_sigs[i] == SIGHUP)
				continue;
			if (sigaction(tty_sigs[i], NULL, &old[i]) == -1 ||
			    old[i].sa_handler == SIG_IGN)
				continue;
			(void)sigaddset(&unblock, tty_sigs[i]);
		}
		for (i = 0; i < TTY_NSIGS; i++)
			if (sigismember(&unblock, tty_sigs[i]) == 1 &&
			    sigaction(tty_sigs[i], &sa, NULL) == 0)
				installed[i] = 1;
		if (hide) {
			tty_hidden = 1;
			tty_echo_off();
		}
		(void)sigprocmask(SIG_UNBLOCK, &unblock, &oldmask);
	}
	if (prompt != NULL)
		tty_write(prompt, strlen(prompt));
	r = tty_read_fd(buf, buflen);
	e = errno;
	if (guard) {
		/*
		 * Blocked while we put things back, so that a signal arriving
		 * now waits for the caller's own disposition.
		 */
		(void)sigprocmask(SIG_BLOCK, &sa.sa_mask, NULL);
		if (hide) {
			(void)tcsetattr(STDIN_FILENO, TCSANOW, &tty_saved);
			tty_hidden = 0;
		}
		for (i = 0; i < TTY_NSIGS; i++)
			if (installed[i])
				(void)sigaction(tty_sigs[i], &old[i], NULL);
		(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
		if (hide)
			tty_write("\n", 1);
	}
	if (r == -1)
		sys_wipe(buf, buflen);
	errno = e;
	return r;
}
