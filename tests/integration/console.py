"""
The client's terminal, for the tests of its questions (t_client_setup,
t_badinput_prompt): the client runs on a pseudo-terminal, the test reads
what it shows and types answers, Enter and Ctrl-C, as a person would.

On Unix the terminal is in its usual cooked mode: the line discipline
echoes, turns Enter (CR) into a newline and Ctrl-C into SIGINT, and the
client's hidden prompt turns the echo off itself.

The Windows client runs under Wine (WIN_CLIENT is set; tests/run.sh). There
Wine's console host reads the terminal and does the line editing and echo,
as a Windows console does, but leaves the terminal's mode as it finds it:
the terminal must hand it the keys as typed, so that Enter arrives as CR,
which ReadConsoleW ends a line on, and Ctrl-Z as the character that is a
console's end of input. Ctrl-C is the exception: Wine takes it as SIGINT
from the terminal, which it gives the program as CTRL_C_EVENT, so the
terminal keeps that one signal key. What shows is then the console's own
echo alone, which the hidden prompt must switch off. The console draws
with escape sequences, a character at a time, and moves the cursor over a
blank rather than writing it: text() undoes that so that the tests read
plain text.
"""
import fcntl
import os
import pty
import re
import select
import struct
import termios
import time
import tty

WINDOWS = bool(os.environ.get("WIN_CLIENT"))

_CURSOR_RIGHT = re.compile(rb"\x1b\[(\d*)C")
_OTHER_ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]")


def text(raw):
    """What a terminal would show, as one string of lines."""
    s = _CURSOR_RIGHT.sub(lambda m: b" " * int(m.group(1) or 1), raw)
    return _OTHER_ESCAPES.sub(b"", s)


class Console:
    def __init__(self, argv, cwd, env=None, what="client"):
        self.what = what
        self.raw = b""
        self.pos = 0        # expect() looks after what it matched before
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.chdir(cwd)
                if WINDOWS:
                    tty.setraw(0)
                    a = termios.tcgetattr(0)
                    a[3] |= termios.ISIG
                    a[6][termios.VSUSP] = a[6][termios.VQUIT] = b"\0"
                    termios.tcsetattr(0, termios.TCSANOW, a)
                # Wide enough that no line the client writes wraps.
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
                os.execve(argv[0], argv, env if env is not None else os.environ)
            finally:
                os._exit(127)

    def shown(self):
        return text(self.raw).decode(errors="replace")

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], max(0, timeout))
        if not r:
            return None
        try:
            d = os.read(self.fd, 4096)
        except OSError:     # EIO: the terminal's last holder has gone
            d = b""
        self.raw += d
        return d

    def expect(self, s, timeout=10):
        """Waits until s shows, after all that matched before."""
        end = time.time() + timeout
        while True:
            t = self.shown()
            i = t.find(s, self.pos)
            if i >= 0:
                self.pos = i + len(s)
                return
            d = self._read(end - time.time())
            if d is None:
                raise SystemExit("%s: timeout waiting for %r; the terminal shows %r"
                                 % (self.what, s, t[self.pos:][-400:]))
            if not d:
                raise SystemExit("%s: ended waiting for %r; the terminal shows %r"
                                 % (self.what, s, t[self.pos:][-400:]))

    def type(self, s):
        """Keys typed without Enter."""
        os.write(self.fd, s.encode() if isinstance(s, str) else s)

    def send(self, s):
        """A line typed and Enter (CR, as every terminal sends it)."""
        self.type(s)
        self.type(b"\r")

    def ctrl_c(self):
        self.type(b"\x03")

    def eof(self):
        """The end of input at a prompt: Ctrl-D on Unix; Ctrl-Z and Enter on
        a Windows console."""
        self.type(b"\x1a\r" if WINDOWS else b"\x04")

    def wait(self, timeout=20):
        """Reads to the end; returns the exit status (128+N for a signal)."""
        end = time.time() + timeout
        while True:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            if self._read(min(0.2, end - time.time())) == b"":
                # The terminal is closed; the process is on its way out.
                time.sleep(0.05)
            if time.time() > end:
                raise SystemExit("%s: still running after %d s; the terminal shows %r"
                                 % (self.what, timeout, self.shown()[-400:]))
        while self._read(0.05):
            pass
        os.close(self.fd)
        if os.WIFSIGNALED(st):
            return 128 + os.WTERMSIG(st)
        return os.WEXITSTATUS(st)

    def kill(self):
        os.kill(self.pid, 9)
        return self.wait()

    def stop(self):
        """Asks the client to stop as its user would: SIGTERM on Unix (as
        systemd or kill does), Ctrl-C on a Windows console."""
        if WINDOWS:
            self.ctrl_c()
        else:
            os.kill(self.pid, 15)
        return self.wait()
