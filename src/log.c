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
 */
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

#include "log.h"

static const char	*log_prog = "tunnel";
static enum log_level	 log_lvl = LOG_INFO;
static int		 log_fd = -1;
static int		 log_batching;
static char		 log_buf[16384];
static size_t		 log_buflen;

static const char *const level_names[] = {
	[LOG_ERROR] = "ERROR",
	[LOG_WARN] = "WARN",
	[LOG_INFO] = "INFO",
	[LOG_DEBUG] = "DEBUG",
};

void
log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
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
	if (log_fd != -1)
		(void)close(log_fd);
	log_fd = fd;
	return 0;
}

void
log_close(void)
{
	log_flush();
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

static void
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;		/* nowhere left to report it */
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	int saved = errno;
	size_t n;
	int r;

	if (level > log_lvl)
		return;
	(void)gettimeofday(&tv, NULL);
	(void)localtime_r(&tv.tv_sec, &tm);
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
		write_all(STDERR_FILENO, line, n);
		if (log_fd != -1)
			write_all(log_fd, line, n);
	}
	errno = saved;
}

void
log_flush(void)
{
	int saved = errno;

	if (log_buflen == 0)
		return;
	write_all(STDERR_FILENO, log_buf, log_buflen);
	if (log_fd != -1)
		write_all(log_fd, log_buf, log_buflen);
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
