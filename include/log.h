/*
 * log: leveled, timestamped lines on stderr and, when opened, a file.
 * One line per call; peer-supplied text goes through log_escape() first.
 */
#ifndef TUNNEL_LOG_H
#define TUNNEL_LOG_H

#include <stddef.h>

/*
 * The printf-like functions' format checking: C99's printf (%zu, %lld).
 * The Windows build says gnu_printf (compat.h), since mingw's "printf"
 * means the old Microsoft one there, and it prints through mingw's C99
 * printf (__USE_MINGW_ANSI_STDIO).
 */
#ifndef TUNNEL_PRINTF
#define TUNNEL_PRINTF	printf
#endif

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

/* Sets the level and the program name shown in lines. */
void	log_init(const char *progname, enum log_level level);

/* Changes the level (a reloaded configuration). */
void	log_set_level(enum log_level level);

/* Parses "error", "warn", "info", "debug". Return: 0 or -1. */
int	log_level_parse(const char *s, enum log_level *out);

/*
 * Also writes to dir/info.log (created 0600, dir created 0700 if missing).
 * Return: 0, or -1 with errno set.
 */
int	log_open_file(const char *dir);
/*
 * Opens dir/info.log again (logrotate has moved the old one away) and
 * switches to it; a no-op without a file. Return: 0, or -1 with errno set
 * (the old file stays in use).
 */
int	log_reopen(void);
/* Stops writing to the file (stderr goes on); a no-op without one. */
void	log_close_file(void);
/* The directory of the file written to, or NULL without one. */
const char *log_file_dir(void);
/*
 * Flushes buffered lines (waiting at most about 1 s for a stalled
 * stderr), then closes the file.
 */
void	log_close(void);
/*
 * on: INFO and DEBUG lines wait in a buffer until log_flush() (or a WARN
 * or ERROR line, or exit); off: flushes and writes each line at once.
 */
void	log_batch(int on);
/*
 * Writes out the buffered lines and retries stderr's queue; never blocks
 * on stderr (lines it cannot take are dropped and counted).
 */
void	log_flush(void);

/*
 * Copies len bytes of src into dst as printable text: control bytes,
 * backslash, quotes and bytes >= 0x7f become \xNN. Always NUL-terminates.
 * Return: dst.
 */
char	*log_escape(char *dst, size_t dstlen, const void *src, size_t len);

void	log_warn(const char *fmt, ...)		/* appends ": strerror(errno)" */
	    __attribute__((format(TUNNEL_PRINTF, 1, 2)));
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(TUNNEL_PRINTF, 1, 2)));
void	log_error(const char *fmt, ...)
	    __attribute__((format(TUNNEL_PRINTF, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(TUNNEL_PRINTF, 1, 2)));
void	log_debug(const char *fmt, ...)
	    __attribute__((format(TUNNEL_PRINTF, 1, 2)));
int	log_debug_enabled(void);
void	fatal(const char *fmt, ...)
	    __attribute__((format(TUNNEL_PRINTF, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(TUNNEL_PRINTF, 1, 2), noreturn));

#endif
