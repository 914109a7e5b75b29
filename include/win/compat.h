/*
 * compat: what the Windows build (BACKEND=win, mingw-w64) needs so that
 * the tunnel's POSIX code compiles there unchanged. Every file of that
 * build gets it first (-include), and the POSIX socket headers the code
 * names (sys/socket.h, netdb.h, poll.h...) are stubs in include/win/ that
 * bring in Winsock. The few POSIX calls Windows lacks or spells its own
 * way are mapped here; the ones that need code are sys_win.c's.
 *
 * Sockets are SOCKET handles, held in an int as everywhere else: a
 * Windows handle fits in 32 bits, as Microsoft documents for 64-bit
 * interoperability. They are never mixed with the C runtime's fds: socket
 * calls go through sys.h (sys_recv, sys_close...), file calls through
 * the C runtime (open, read, close).
 */
#ifndef TUNNEL_WIN_COMPAT_H
#define TUNNEL_WIN_COMPAT_H

#ifndef _WIN32_WINNT
#define _WIN32_WINNT	0x0A00		/* Windows 10 */
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <direct.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>

/* printf-like functions are checked as C99's (see log.h). */
#define TUNNEL_PRINTF	gnu_printf

/* Types POSIX has and Windows does not. */
typedef ADDRESS_FAMILY	sa_family_t;
typedef int		uid_t;
typedef int		gid_t;

/* Socket shutdown and flags POSIX names. */
#include <signal.h>
/*
 * No SIGHUP on Windows: defined so the client can ask for it like
 * everywhere; the console handler (sys_win.c) never sends it.
 */
#ifndef SIGHUP
#define SIGHUP		1
#endif

#define SHUT_RD		SD_RECEIVE
#define SHUT_WR		SD_SEND
#define SHUT_RDWR	SD_BOTH
#ifndef MSG_DONTWAIT
#define MSG_DONTWAIT	0	/* every socket is non-blocking already */
#endif
#ifndef EAI_SYSTEM
#define EAI_SYSTEM	(-11)	/* never returned by Winsock */
#endif

/* open(2)'s flags: not inherited is Windows's close-on-exec. */
#define O_CLOEXEC	_O_NOINHERIT
#ifndef O_NONBLOCK
#define O_NONBLOCK	0
#endif
#define O_NOFOLLOW	0
#define O_NOCTTY	0
#define O_DIRECTORY	0	/* opening a directory fails there anyway */

#ifndef S_ISSOCK
#define S_ISSOCK(m)	0	/* the C runtime never says socket */
#endif

/*
 * Files: durability by _commit (FlushFileBuffers), modes by the
 * directory's ACL (a user's files under %APPDATA% are private already),
 * and a rename that replaces its target, as POSIX's does.
 */
#define fsync(fd)	_commit(fd)
#define fchmod(fd, m)	((void)(fd), (void)(m), 0)
#define mkdir(p, m)	((void)(m), _mkdir(p))
#define rename(a, b)	sys_win_rename(a, b)
int	sys_win_rename(const char *from, const char *to);
/* Ownership is the ACL's: there is nothing to hand on. */
#define fchown(fd, u, g)	((void)(fd), (void)(u), (void)(g), 0)
/*
 * realpath(3): the absolute path with symbolic links resolved (a config
 * kept in a dotfiles directory is updated where it lives), malloc'd when
 * r is NULL.
 */
#define realpath(p, r)	sys_win_realpath((p), (r))
char	*sys_win_realpath(const char *path, char *resolved);

char	*strndup(const char *s, size_t n);
/* mkostemp(3): a new file from template's XXXXXX, opened O_EXCL. */
int	mkostemp(char *template, int flags);
/* sysconf(3) for the page size alone. */
#define _SC_PAGESIZE	30
long	sysconf(int name);

/*
 * The C runtime's strerror() knows none of the socket errors (ECONNRESET,
 * ETIMEDOUT...) sys_win.c sets from Winsock's; this one does.
 */
#define strerror(e)	sys_win_strerror(e)
char	*sys_win_strerror(int e);

/* strsignal(3) for the two signals the console sends (Ctrl-C, close). */
const char *strsignal(int sig);

/* localtime_r(3): the C runtime's localtime_s with POSIX's order. */
struct tm *localtime_r(const time_t *t, struct tm *out);

#endif
