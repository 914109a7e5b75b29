/*
 * log: one line per event, "YYYY-mm-dd HH:MM:SS.mmm LEVEL prog: text", to
 * stderr and, once log_open_file() succeeded, to <dir>/info.log. The
 * process is single-threaded, so the few globals here are the logger's
 * whole state; every line is formatted once and reaches each sink whole,
 * so lines never interleave with another process's output.
 *
 * While the event loop runs (log_batch), INFO and DEBUG lines are kept in
 * a buffer that the loop flushes before it waits: a busy daemon writes
 * one visitor's close line per visitor but one write() per loop round per
 * sink. WARN and ERROR lines, and everything outside the loop, go out at
 * once, after what is buffered, so the order never changes.
 *
 * stderr must never stop the loop: a terminal paused with Ctrl-S, or a
 * journal pipe nobody drains, would otherwise freeze every visitor in the
 * next write(). So stderr is written without blocking, through a private
 * O_NONBLOCK open file description (a pipe or a tty reopened through
 * /proc/self/fd/2; flags set on fd 2 itself would leak to the shell that
 * shares it) or send(MSG_DONTWAIT) for a socket. What does not fit waits
 * in a bounded queue, retried at every log_flush() (each loop round);
 * lines that do not fit in the queue either are dropped and counted, and
 * one line tells how many once stderr drains again. A regular file is
 * written directly: it does not block on a reader.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "sys.h"

static const char	*log_prog = "tunnel";
static enum log_level	 log_lvl = LOG_INFO;
static int		 log_fd = -1;
static int		 log_batching;
static char		 log_buf[16384];
static size_t		 log_buflen;
static char		 log_dir[4096];		/* for log_reopen() */

/* The stderr sink: see the comment at the top. */
#define ERR_QUEUE	65536
#define ERR_EXIT_MS	1000	/* how long exit waits for a stalled stderr */
enum err_kind {
	ERR_UNSET = 0,		/* chosen at the first line */
	ERR_PLAIN,		/* a regular file (or nothing better): write() */
	ERR_NONBLOCK,		/* a private O_NONBLOCK description: write() */
	ERR_SOCKET,		/* send(MSG_DONTWAIT) on fd 2 */
};
static enum err_kind	 err_kind;
static void		 err_final(void);
static int		 err_fd = STDERR_FILENO;
static char		 err_q[ERR_QUEUE];
static size_t		 err_qlen;
static unsigned long long err_dropped;

static const char *const level_names[] = {
	[LOG_ERROR] = "ERROR",
	[LOG_WARN] = "WARN",
	[LOG_INFO] = "INFO",
	[LOG_DEBUG] = "DEBUG",
};

/* Picks how stderr is written; see the comment at the top. */
static void
err_setup(void)
{
	struct stat st;
	int fd;

	err_kind = ERR_PLAIN;
	err_fd = STDERR_FILENO;
	if (fstat(STDERR_FILENO, &st) == -1 || S_ISREG(st.st_mode))
		return;
	if (S_ISSOCK(st.st_mode)) {
		err_kind = ERR_SOCKET;
		return;
	}
	fd = sys_reopen_nonblock(STDERR_FILENO);
	if (fd == -1)
		return;		/* no /proc: blocking writes, as before */
	err_fd = fd;
	err_kind = ERR_NONBLOCK;
}

void
log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_lvl = level;
	if (err_kind == ERR_NONBLOCK)
		(void)close(err_fd);
	err_kind = ERR_UNSET;
	err_fd = STDERR_FILENO;
}

void
log_set_level(enum log_level level)
{
	log_lvl = level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

int
log_open_file(const char *dir)
{
	char path[4096];
	int fd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	if (snprintf(path, sizeof(path), "%s/info.log", dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		return -1;
	log_flush();		/* what is buffered belongs to the old file */
	if (log_fd != -1)
		(void)close(log_fd);
	log_fd = fd;
	if (dir != log_dir)
		(void)snprintf(log_dir, sizeof(log_dir), "%s", dir);
	return 0;
}

int
log_reopen(void)
{
	if (log_fd == -1)
		return 0;
	return log_open_file(log_dir);
}

void
log_close_file(void)
{
	if (log_fd == -1)
		return;
	log_flush();
	(void)close(log_fd);
	log_fd = -1;
}

const char *
log_file_dir(void)
{
	return log_fd != -1 ? log_dir : NULL;
}

void
log_close(void)
{
	log_flush();
	err_final();
	if (log_fd != -1) {
		(void)fsync(log_fd);
		(void)close(log_fd);
		log_fd = -1;
	}
}

char *
log_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	size_t i, o = 0;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"' &&
		    c != '\'') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	dst[o] = '\0';
	return dst;
}

/*
 * Writes what it can of buf to stderr without blocking. Return: bytes
 * written (maybe 0), or -1 if stderr is gone for good (the rest is lost).
 */
static ssize_t
err_write(const char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	if (err_kind == ERR_UNSET)
		err_setup();
	while (done < len) {
		if (err_kind == ERR_SOCKET)
			n = send(err_fd, buf + done, len - done,
			    MSG_DONTWAIT | SYS_NOSIGNAL);
		else
			n = write(err_fd, buf + done, len - done);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Writes out the queue; once empty, says how many lines were dropped. */
static void
err_drain(void)
{
	char note[128];
	ssize_t n;
	int r;

	while (err_qlen > 0) {
		n = err_write(err_q, err_qlen);
		if (n == -1) {
			err_qlen = 0;
			err_dropped = 0;
			return;
		}
		if (n == 0)
			return;
		memmove(err_q, err_q + n, err_qlen - (size_t)n);
		err_qlen -= (size_t)n;
		if (err_qlen > 0 || err_dropped == 0)
			continue;
		r = snprintf(note, sizeof(note), "%s: log: %llu line(s) "
		    "dropped: stderr was not being read\n", log_prog,
		    err_dropped);
		err_dropped = 0;
		if (r > 0 && (size_t)r < sizeof(note)) {
			memcpy(err_q, note, (size_t)r);
			err_qlen = (size_t)r;
		}
	}
}

/*
 * Sends whole lines to stderr: at once if nothing is queued, else behind
 * the queue; a line the queue cannot hold is dropped and counted.
 */
static void
err_lines(const char *buf, size_t len)
{
	ssize_t n = 0;

	err_drain();
	if (err_qlen == 0) {
		n = err_write(buf, len);
		if (n == -1)
			return;
		buf += n;
		len -= (size_t)n;
	}
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t l = nl != NULL ? (size_t)(nl - buf) + 1 : len;

		/* The first may be the tail of a line half written: the
		 * queue is empty then, so it always fits. */
		if (err_qlen + l <= sizeof(err_q)) {
			memcpy(err_q + err_qlen, buf, l);
			err_qlen += l;
		} else {
			err_dropped++;
		}
		buf += l;
		len -= l;
	}
}

/* At exit: gives a stalled stderr a moment, then drops what is left. */
static void
err_final(void)
{
	struct sys_pollfd p;
	int waited = 0;

	err_drain();
	while (err_qlen > 0 && waited < ERR_EXIT_MS) {
		p.fd = err_fd;
		p.events = SYS_POLLOUT;
		(void)sys_poll(&p, 1, 100);
		waited += 100;
		err_drain();
	}
	err_qlen = 0;
}

/* fmt comes from the callers, whose own attributes check it. */
static void	vlog(enum log_level, int, const char *, va_list)
		    __attribute__((format(TUNNEL_PRINTF, 3, 0)));

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	time_t now;
	int saved = errno;
	size_t n;
	int r;

	if (level > log_lvl)
		return;
	(void)gettimeofday(&tv, NULL);
	now = tv.tv_sec;	/* a long, not a time_t, on Windows */
	(void)localtime_r(&now, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ld %-5s %s: ",
	    (long)(tv.tv_usec / 1000), level_names[level], log_prog);
	if (r > 0)
		n += (size_t)r;
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (with_errno && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(saved));
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (log_batching && level >= LOG_INFO) {
		if (log_buflen + n > sizeof(log_buf))
			log_flush();
		memcpy(log_buf + log_buflen, line, n);
		log_buflen += n;
	} else {
		log_flush();
		err_lines(line, n);
		if (log_fd != -1)
			(void)fd_write_all(log_fd, line, n);
	}
	errno = saved;
}

void
log_flush(void)
{
	int saved = errno;

	if (log_buflen == 0) {
		if (err_qlen > 0)
			err_drain();
		errno = saved;
		return;
	}
	err_lines(log_buf, log_buflen);
	if (log_fd != -1)
		(void)fd_write_all(log_fd, log_buf, log_buflen);
	log_buflen = 0;
	errno = saved;
}

void
log_batch(int on)
{
	static int registered;

	/* An exit() from inside the loop still gets the buffered lines out. */
	if (on && !registered && atexit(log_flush) == 0)
		registered = 1;
	if (!on)
		log_flush();
	log_batching = on && registered;
}

#define LOG_FN(name, level, with_errno)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	vlog(level, with_errno, fmt, ap);				\
	va_end(ap);							\
}

LOG_FN(log_warn, LOG_WARN, 1)
LOG_FN(log_warnx, LOG_WARN, 0)
LOG_FN(log_error, LOG_ERROR, 0)
LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_debug, LOG_DEBUG, 0)

int
log_debug_enabled(void)
{
	return log_lvl >= LOG_DEBUG;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, 1, fmt, ap);
	va_end(ap);
	log_close();
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, 0, fmt, ap);
	va_end(ap);
	log_close();
	exit(1);
}
