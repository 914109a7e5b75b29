/*
 * sys_win: the platform layer of the Windows client (BACKEND=win, built
 * with mingw-w64, run by the tests under Wine). Winsock sockets held in
 * ints (see include/win/compat.h), WSAPoll for the portable loop (with
 * select() beside it where WSAPoll misses failed connects), the console's
 * control handler for its signals, helper processes started by
 * CreateProcess with a socket for their answer.
 *
 * Errors: every call here that fails sets errno, translated from
 * WSAGetLastError() or GetLastError(), so that the code above tests
 * EAGAIN, EINPROGRESS and ECONNRESET as it does on Unix; strerror() (the
 * compat.h one) knows the socket errors the C runtime does not.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <mstcpip.h>
#include <bcrypt.h>
#include <psapi.h>
#include <sddl.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys.h"

/*
 * The TCP options and the SIO_TCP_INFO query of Windows 10 (1703, 1709),
 * which the mingw-w64 headers may not have yet; their values are the
 * SDK's (ws2ipdef.h, mstcpip.h).
 */
#ifndef TCP_MAXRT
#define TCP_MAXRT	5
#endif
#ifndef TCP_KEEPIDLE
#define TCP_KEEPIDLE	3
#endif
#ifndef TCP_KEEPCNT
#define TCP_KEEPCNT	16
#endif
#ifndef TCP_KEEPINTVL
#define TCP_KEEPINTVL	17
#endif
#ifndef SIO_TCP_INFO
#define SIO_TCP_INFO	_WSAIORW(IOC_VENDOR, 39)
typedef struct {
	int		State;
	ULONG		Mss;
	ULONG64		ConnectionTimeMs;
	BOOLEAN		TimestampsEnabled;
	ULONG		RttUs;
	ULONG		MinRttUs;
	ULONG		BytesInFlight;
	ULONG		Cwnd;
	ULONG		SndWnd;
	ULONG		RcvWnd;
	ULONG		RcvBuf;
	ULONG64		BytesOut;
	ULONG64		BytesIn;
	ULONG		BytesReordered;
	ULONG		BytesRetrans;
	ULONG		FastRetrans;
	ULONG		DupAcksIn;
	ULONG		TimeoutEpisodes;
	UCHAR		SynRetrans;
} TCP_INFO_v0;
#endif

/* Winsock's errors and the errno values the code tests. */
static const struct {
	int	wsa;
	int	err;
} wsa_errs[] = {
	{ WSAEWOULDBLOCK,	EAGAIN },
	{ WSAEINPROGRESS,	EINPROGRESS },
	{ WSAEALREADY,		EALREADY },
	{ WSAEISCONN,		EISCONN },
	{ WSAENOTCONN,		ENOTCONN },
	{ WSAECONNRESET,	ECONNRESET },
	{ WSAECONNREFUSED,	ECONNREFUSED },
	{ WSAECONNABORTED,	ECONNABORTED },
	{ WSAETIMEDOUT,		ETIMEDOUT },
	{ WSAENETUNREACH,	ENETUNREACH },
	{ WSAEHOSTUNREACH,	EHOSTUNREACH },
	{ WSAENETDOWN,		ENETDOWN },
	{ WSAENETRESET,		ENETRESET },
	{ WSAESHUTDOWN,		EPIPE },
	{ WSAEADDRINUSE,	EADDRINUSE },
	{ WSAEADDRNOTAVAIL,	EADDRNOTAVAIL },
	{ WSAEAFNOSUPPORT,	EAFNOSUPPORT },
	{ WSAEMFILE,		EMFILE },
	{ WSAENOBUFS,		ENOBUFS },
	{ WSAEINTR,		EINTR },
	{ WSAEINVAL,		EINVAL },
	{ WSAEFAULT,		EFAULT },
	{ WSAEACCES,		EACCES },
	{ WSAENOTSOCK,		ENOTSOCK },
	{ WSAEMSGSIZE,		EMSGSIZE },
	{ WSAEOPNOTSUPP,	EOPNOTSUPP },
	{ WSAENOPROTOOPT,	ENOPROTOOPT },
};

static int
errno_of_wsa(int wsa)
{
	size_t i;

	for (i = 0; i < sizeof(wsa_errs) / sizeof(wsa_errs[0]); i++)
		if (wsa_errs[i].wsa == wsa)
			return wsa_errs[i].err;
	return EIO;
}

/* Sets errno from Winsock's last error. Return: -1. */
static int
wsa_fail(void)
{
	errno = errno_of_wsa(WSAGetLastError());
	return -1;
}

/* Sets errno from the system's last error. Return: -1. */
static int
win_fail(void)
{
	switch (GetLastError()) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		errno = ENOENT;
		break;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
		errno = EACCES;
		break;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		errno = ENOMEM;
		break;
	case ERROR_INVALID_PARAMETER:
		errno = EINVAL;
		break;
	case ERROR_FILE_EXISTS:
	case ERROR_ALREADY_EXISTS:
		errno = EEXIST;
		break;
	case ERROR_BROKEN_PIPE:
	case ERROR_NO_DATA:
		errno = EPIPE;
		break;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		errno = ENOSPC;
		break;
	default:
		errno = EIO;
		break;
	}
	return -1;
}

char *
sys_win_strerror(int e)
{
	static const struct {
		int		 err;
		const char	*text;
	} texts[] = {
		{ EAGAIN, "Resource temporarily unavailable" },
		{ EINPROGRESS, "Operation now in progress" },
		{ EALREADY, "Operation already in progress" },
		{ EISCONN, "Transport endpoint is already connected" },
		{ ENOTCONN, "Transport endpoint is not connected" },
		{ ECONNRESET, "Connection reset by peer" },
		{ ECONNREFUSED, "Connection refused" },
		{ ECONNABORTED, "Software caused connection abort" },
		{ ETIMEDOUT, "Connection timed out" },
		{ ENETUNREACH, "Network is unreachable" },
		{ EHOSTUNREACH, "No route to host" },
		{ ENETDOWN, "Network is down" },
		{ ENETRESET, "Connection reset by network" },
		{ EPIPE, "Broken pipe" },
		{ EADDRINUSE, "Address already in use" },
		{ EADDRNOTAVAIL, "Cannot assign requested address" },
		{ EAFNOSUPPORT, "Address family not supported by protocol" },
		{ ENOBUFS, "No buffer space available" },
		{ ENOTSOCK, "Socket operation on non-socket" },
		{ EMSGSIZE, "Message too long" },
		{ EOPNOTSUPP, "Operation not supported" },
		{ ENOPROTOOPT, "Protocol not available" },
		{ ENOSYS, "Function not implemented" },
		{ ENOTSUP, "Not supported" },
		{ EIO, "Input/output error" },
	};
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].err == e)
			return (char *)(uintptr_t)texts[i].text;
#undef strerror
	return strerror(e);
}

const char *
strsignal(int sig)
{
	switch (sig) {
	case SIGINT:
		return "Interrupt";
	case SIGTERM:
		return "Terminated";
	default:
		return "Unknown signal";
	}
}

/* The C runtime's localtime() keeps its result per thread. */
struct tm *
localtime_r(const time_t *t, struct tm *out)
{
	struct tm *tm = localtime(t);

	if (tm == NULL)
		return NULL;
	*out = *tm;
	return out;
}

char *
strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = malloc(len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/*
 * A security descriptor that lets the current user and SYSTEM alone at a
 * file, inheriting nothing from its folder: what mode 0600 means on Unix.
 * A folder made under C:\ lets every signed-in user change what is in it.
 * Return: it (LocalFree it), or NULL with errno.
 */
static PSECURITY_DESCRIPTOR
private_sd(void)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	TOKEN_USER *tu = NULL;
	HANDLE tok = NULL;
	DWORD need = 0;
	char *sid = NULL, sddl[256];

	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
		goto fail;
	(void)GetTokenInformation(tok, TokenUser, NULL, 0, &need);
	if (need == 0 || (tu = malloc(need)) == NULL ||
	    !GetTokenInformation(tok, TokenUser, tu, need, &need) ||
	    !ConvertSidToStringSidA(tu->User.Sid, &sid))
		goto fail;
	if (snprintf(sddl, sizeof(sddl), "D:P(A;;FA;;;%s)(A;;FA;;;SY)", sid) >=
	    (int)sizeof(sddl) ||
	    !ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl,
	    SDDL_REVISION_1, &sd, NULL))
		sd = NULL;
fail:
	if (sd == NULL)
		errno = EACCES;
	if (sid != NULL)
		LocalFree(sid);
	free(tu);
	if (tok != NULL)
		(void)CloseHandle(tok);
	return sd;
}

/* Made private (private_sd): the client's config, password and all. */
int
mkostemp(char *template, int flags)
{
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, FALSE };
	size_t len = strlen(template);
	char *x = template + len - 6;
	uint8_t r[6];
	int tries, i, fd;
	HANDLE h;
	static const char set[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	if (len < 6 || strcmp(x, "XXXXXX") != 0) {
		errno = EINVAL;
		return -1;
	}
	if ((sa.lpSecurityDescriptor = private_sd()) == NULL)
		return -1;
	for (tries = 0; tries < 100; tries++) {
		if (sys_random(r, sizeof(r)) == -1)
			break;
		for (i = 0; i < 6; i++)
			x[i] = set[r[i] % (sizeof(set) - 1)];
		h = CreateFileA(template, GENERIC_READ | GENERIC_WRITE,
		    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa,
		    CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
		if (h == INVALID_HANDLE_VALUE) {
			if (GetLastError() == ERROR_FILE_EXISTS)
				continue;
			(void)win_fail();
			break;
		}
		LocalFree(sa.lpSecurityDescriptor);
		fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY |
		    (flags & _O_NOINHERIT));
		if (fd == -1) {
			(void)CloseHandle(h);
			(void)DeleteFileA(template);
			errno = EMFILE;
		}
		return fd;
	}
	if (tries == 100)
		errno = EEXIST;
	LocalFree(sa.lpSecurityDescriptor);
	return -1;
}

long
sysconf(int name)
{
	SYSTEM_INFO si;

	if (name != _SC_PAGESIZE) {
		errno = EINVAL;
		return -1;
	}
	GetSystemInfo(&si);
	return (long)si.dwPageSize;
}

/*
 * The file opened (links followed, as CreateFile does unless told not
 * to) names its final path; "\\?\C:\..." and "\\?\UNC\host\..."
 * lose their prefix, to read as any other path. _fullpath alone would
 * only make the path absolute, and a rewrite would then replace a
 * symbolic link with a file.
 */
char *
sys_win_realpath(const char *path, char *resolved)
{
	char buf[_MAX_PATH + 16], *p = buf;
	HANDLE h;
	DWORD n;

	h = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE |
	    FILE_SHARE_DELETE, NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS,
	    NULL);
	if (h == INVALID_HANDLE_VALUE) {
		(void)win_fail();
		return NULL;
	}
	n = GetFinalPathNameByHandleA(h, buf, sizeof(buf), FILE_NAME_NORMALIZED |
	    VOLUME_NAME_DOS);
	(void)CloseHandle(h);
	if (n == 0 || n >= sizeof(buf))
		return _fullpath(resolved, path, _MAX_PATH);
	if (strncmp(buf, "\\\\?\\UNC\\", 8) == 0) {
		p = buf + 6;
		p[0] = '\\';
	} else if (strncmp(buf, "\\\\?\\", 4) == 0)
		p = buf + 4;
	if (resolved == NULL)
		return strdup(p);
	if (strlen(p) >= _MAX_PATH) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(resolved, p, strlen(p) + 1);
	return resolved;
}

int
sys_win_rename(const char *from, const char *to)
{
	if (!MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING |
	    MOVEFILE_WRITE_THROUGH))
		return win_fail();
	return 0;
}

int
sys_init(void)
{
	WSADATA wsa;
	int e;

	if ((e = WSAStartup(MAKEWORD(2, 2), &wsa)) != 0) {
		errno = errno_of_wsa(e);
		return -1;
	}
	/*
	 * Bytes as they are: files the tunnel writes keep their "\n", a
	 * helper's stdin and stdout carry binary records, and log lines
	 * redirected to a file end as they do on Unix (the console needs no
	 * "\r" to start a new line).
	 */
	_fmode = _O_BINARY;
	(void)_setmode(0, _O_BINARY);
	(void)_setmode(1, _O_BINARY);
	(void)_setmode(2, _O_BINARY);
	return 0;
}

int
sys_config_dir(char *buf, size_t len)
{
	const char *appdata = getenv("APPDATA");
	int n;

	if (appdata == NULL || appdata[0] == '\0')
		return -1;
	n = snprintf(buf, len, "%s", appdata);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The SOCKET an int holds. */
#define S(fd)	((SOCKET)(uintptr_t)(unsigned int)(fd))

ssize_t
sys_recv(int fd, void *buf, size_t len, int flags)
{
	int n;

	if (len > INT_MAX)
		len = INT_MAX;
	n = recv(S(fd), buf, (int)len, flags);
	return n == SOCKET_ERROR ? wsa_fail() : n;
}

ssize_t
sys_send(int fd, const void *buf, size_t len, int flags)
{
	int n;

	if (len > INT_MAX)
		len = INT_MAX;
	n = send(S(fd), buf, (int)len, flags);
	return n == SOCKET_ERROR ? wsa_fail() : n;
}

ssize_t
sys_read(int fd, void *buf, size_t len)
{
	return sys_recv(fd, buf, len, 0);
}

/*
 * A connect() asked again after a non-blocking one failed says
 * WSAECONNABORTED under Wine, WSAEINVAL on Windows, not why it failed:
 * that is SO_ERROR's.
 */
int
sys_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	int wsa, err = 0, elen = sizeof(err);

	if (connect(S(fd), addr, len) == 0)
		return 0;
	switch ((wsa = WSAGetLastError())) {
	case WSAEWOULDBLOCK:		/* a non-blocking connect began */
		errno = EINPROGRESS;
		return -1;
	case WSAEISCONN:
		break;
	default:
		/* Asked again: WSAEINVAL or WSAEALREADY while it is still in
		 * progress, unless it failed meanwhile. */
		if (getsockopt(S(fd), SOL_SOCKET, SO_ERROR, (char *)&err,
		    &elen) == 0 && err != 0)
			wsa = err;
		else if (wsa == WSAEINVAL)
			wsa = WSAEALREADY;
		break;
	}
	errno = errno_of_wsa(wsa);
	return -1;
}

int
sys_shutdown(int fd, int how)
{
	return shutdown(S(fd), how) == SOCKET_ERROR ? wsa_fail() : 0;
}

int
sys_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	if (getsockopt(S(fd), level, name, val, len) == SOCKET_ERROR)
		return wsa_fail();
	/* A pending error is Winsock's number: the caller wants errno's. */
	if (level == SOL_SOCKET && name == SO_ERROR && *len >= (int)sizeof(int)
	    && *(int *)val != 0)
		*(int *)val = errno_of_wsa(*(int *)val);
	return 0;
}

int
sys_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (setsockopt(S(fd), level, name, val, len) == SOCKET_ERROR)
		return wsa_fail();
	return 0;
}

uint64_t
sys_clock_ms(void)
{
	return GetTickCount64();
}

int
sys_close(int fd)
{
	return closesocket(S(fd)) == SOCKET_ERROR ? wsa_fail() : 0;
}

/*
 * Before Windows 10 version 2004 (build 19041; Windows Server 2019 is
 * older), WSAPoll did not report a connect that failed: the socket stayed
 * quiet, so a refused dial to the server or to the local service waited
 * for a timer, or for ever. select() has always reported that failure, in
 * its exception set. There, a socket that waits for POLLOUT and that
 * WSAPoll leaves quiet is asked of select() too (without waiting), and no
 * wait is longer than POLLOUT_RECHECK_MS while such a socket waits: a
 * refused connect shows within that time. The exception set's other
 * meaning, urgent (OOB) data, comes only on a connected socket, so a hit
 * on a socket with no peer is the failed connect. Newer systems are
 * spared the extra call.
 *
 * TUNNEL_TEST_OLD_WSAPOLL=1 in the environment makes WSAPoll act as it did
 * (poll_as_old), and the check run, so that the tests, which run on a
 * newer Windows or on Wine, show this path at work.
 */
#define POLLOUT_RECHECK_MS	500
#define WSAPOLL_FIXED_BUILD	19041

enum poll_mode { POLL_UNKNOWN, POLL_NEW, POLL_OLD, POLL_OLD_TEST };

static enum poll_mode
poll_mode(void)
{
	static enum poll_mode mode = POLL_UNKNOWN;
	typedef LONG (WINAPI *get_version_fn)(OSVERSIONINFOW *);
	OSVERSIONINFOW v;
	get_version_fn get;
	HMODULE ntdll;
	char flag[2];

	if (mode != POLL_UNKNOWN)
		return mode;
	mode = POLL_NEW;
	if (GetEnvironmentVariableA("TUNNEL_TEST_OLD_WSAPOLL", flag,
	    sizeof(flag)) == 1 && flag[0] == '1')
		mode = POLL_OLD_TEST;
	else if ((ntdll = GetModuleHandleW(L"ntdll.dll")) != NULL &&
	    (get = (get_version_fn)(void (*)(void))GetProcAddress(ntdll,
	    "RtlGetVersion")) != NULL) {
		/* GetVersionEx would say 6.2 to a program without a
		 * manifest; RtlGetVersion tells the truth. */
		memset(&v, 0, sizeof(v));
		v.dwOSVersionInfoSize = sizeof(v);
		if (get(&v) == 0 && (v.dwMajorVersion < 10 ||
		    (v.dwMajorVersion == 10 && v.dwBuildNumber <
		    WSAPOLL_FIXED_BUILD)))
			mode = POLL_OLD;
	}
	return mode;
}

const char *
sys_poll_note(void)
{
	switch (poll_mode()) {
	case POLL_OLD:
		return "this Windows's WSAPoll does not report failed "
		    "connects; select() is asked about them";
	case POLL_OLD_TEST:
		return "TUNNEL_TEST_OLD_WSAPOLL: WSAPoll made to act as "
		    "before Windows 10 version 2004";
	default:
		return NULL;
	}
}

/* A socket with no peer: a connect still in progress, or one that failed. */
static int
unconnected(SOCKET s)
{
	struct sockaddr_storage a;
	int len = sizeof(a);

	return getpeername(s, (struct sockaddr *)&a, &len) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAENOTCONN;
}

/*
 * What the old WSAPoll made of r ready entries (the test's stand-in): a
 * failed connect unseen, and the wait, when nothing else was ready,
 * lasting its whole timeout.
 */
static int
poll_as_old(struct sys_pollfd *p, size_t n, int r, int timeout_ms,
    uint64_t start)
{
	size_t i, hidden = 0;
	uint64_t spent;

	for (i = 0; i < n; i++)
		if (p[i].fd != SYS_POLL_SKIP && (p[i].events & POLLOUT) &&
		    (p[i].revents & (POLLERR | POLLHUP)) &&
		    unconnected(p[i].fd)) {
			p[i].revents = 0;
			hidden++;
		}
	r -= (int)hidden;
	spent = GetTickCount64() - start;
	if (r == 0 && hidden > 0 && timeout_ms > 0 &&
	    spent < (uint64_t)timeout_ms)
		Sleep((DWORD)((uint64_t)timeout_ms - spent));
	return r;
}

/* A POLLOUT waiter WSAPoll left quiet: select() may know more. */
static int
quiet_writer(const struct sys_pollfd *e)
{
	return e->fd != SYS_POLL_SKIP && (e->events & POLLOUT) &&
	    e->revents == 0;
}

/*
 * The quiet POLLOUT waiters among p[from, to) (at most FD_SETSIZE) that
 * select() puts in its exception set with no peer: failed connects. A
 * set select() refuses (one that mixes providers, under a layered one) is
 * asked a socket at a time.
 */
static int
poll_failed_connects(struct sys_pollfd *p, size_t from, size_t to)
{
	struct timeval now = { 0, 0 };
	fd_set ex;
	size_t i;
	int found = 0, one = 0;

	FD_ZERO(&ex);
	for (i = from; i < to; i++)
		if (quiet_writer(&p[i]))
			FD_SET(p[i].fd, &ex);
	if (ex.fd_count == 0)
		return 0;
	if (select(0, NULL, NULL, &ex, &now) == SOCKET_ERROR)
		one = 1;
	for (i = from; i < to; i++) {
		if (!quiet_writer(&p[i]))
			continue;
		if (one) {
			FD_ZERO(&ex);
			FD_SET(p[i].fd, &ex);
			if (select(0, NULL, NULL, &ex, &now) != 1)
				continue;
		}
		if (!FD_ISSET(p[i].fd, &ex) || !unconnected(p[i].fd))
			continue;
		p[i].revents = POLLERR | POLLHUP;
		found++;
	}
	return found;
}

/*
 * WSAPoll, which fails when no entry is a socket: the loop may wait on
 * timers alone. (Its POLLHUP at the peer's FIN, where poll(2) says
 * POLLIN, needs nothing: the loop's users read on LOOP_HUP.)
 */
int
sys_poll(struct sys_pollfd *p, size_t n, int timeout_ms)
{
	size_t i, live = 0, writers = 0, from, to;
	enum poll_mode mode = poll_mode();
	uint64_t start;
	int r;

	_Static_assert(sizeof(struct sys_pollfd) == sizeof(WSAPOLLFD),
	    "struct sys_pollfd is WSAPOLLFD");
	for (i = 0; i < n; i++)
		if (p[i].fd != SYS_POLL_SKIP) {
			live++;
			if (p[i].events & POLLOUT)
				writers++;
		}
	if (live == 0) {
		Sleep(timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
		return 0;
	}
	if (n > ULONG_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (mode == POLL_NEW)
		writers = 0;	/* WSAPoll says all */
	if (writers > 0 && (timeout_ms < 0 || timeout_ms > POLLOUT_RECHECK_MS))
		timeout_ms = POLLOUT_RECHECK_MS;
	start = GetTickCount64();
	r = WSAPoll((WSAPOLLFD *)(void *)p, (ULONG)n, timeout_ms);
	if (r == SOCKET_ERROR)
		return wsa_fail();
	if (writers == 0)
		return r;
	if (mode == POLL_OLD_TEST)
		r = poll_as_old(p, n, r, timeout_ms, start);
	/* select() takes FD_SETSIZE sockets at a time. */
	for (from = 0; from < n; from = to) {
		to = n - from > FD_SETSIZE ? from + FD_SETSIZE : n;
		r += poll_failed_connects(p, from, to);
	}
	return r;
}

void
sys_wipe(void *p, size_t len)
{
	SecureZeroMemory(p, len);
}

int
sys_random(void *buf, size_t len)
{
	uint8_t *b = buf;

	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;

		if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, b, n,
		    BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
			errno = EIO;
			return -1;
		}
		b += n;
		len -= n;
	}
	return 0;
}

/*
 * Non-blocking, and not inheritable. Closes s on failure. A socket that a
 * layered provider (an old, non-IFS LSP of some antivirus or VPN product)
 * hands out is not a kernel handle, and SetHandleInformation fails on it:
 * that is no reason to refuse it, since a helper inherits only the
 * handles listed for it (PROC_THREAD_ATTRIBUTE_HANDLE_LIST in
 * sys_helper_spawn), whatever the flag says, and those are made on the
 * base provider (socket_pair).
 */
static int
own_socket(SOCKET s)
{
	u_long one = 1;

	if (s == INVALID_SOCKET)
		return wsa_fail();
	if (ioctlsocket(s, FIONBIO, &one) == SOCKET_ERROR) {
		int e = WSAGetLastError();

		(void)closesocket(s);
		errno = e != 0 ? errno_of_wsa(e) : EIO;
		return -1;
	}
	(void)SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
	/* An int holds it: handles fit in 32 bits, but say so if not. */
	if (s > (SOCKET)INT_MAX) {
		(void)closesocket(s);
		errno = EMFILE;
		return -1;
	}
	return (int)s;
}

int
sys_socket(int family)
{
	return own_socket(WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT));
}

int
sys_accept(int lfd, struct sockaddr *addr, socklen_t *len)
{
	return own_socket(accept(S(lfd), addr, len));
}

/* Pipes are for splice(2), which Windows does not have. */
int
sys_pipe(int fds[2])
{
	(void)fds;
	errno = ENOSYS;
	return -1;
}

/*
 * Windows 10 1709 and later take the three by name (TCP_KEEPIDLE,
 * TCP_KEEPINTVL, TCP_KEEPCNT); older ones only SIO_KEEPALIVE_VALS, with
 * the count fixed by the system.
 */
int
sys_tcp_keepidle(int fd, int secs)
{
	return sys_setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs,
	    sizeof(secs));
}

int
sys_tcp_keepalive(int fd, int idle, int interval, int count)
{
	struct tcp_keepalive ka;
	DWORD got;
	BOOL one = TRUE;

	if (sys_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
	    sizeof(one)) == -1)
		return -1;
	if (sys_tcp_keepidle(fd, idle) == 0 &&
	    sys_setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval,
	    sizeof(interval)) == 0 &&
	    sys_setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count,
	    sizeof(count)) == 0)
		return 0;
	ka.onoff = 1;
	ka.keepalivetime = (ULONG)idle * 1000;
	ka.keepaliveinterval = (ULONG)interval * 1000;
	if (WSAIoctl(S(fd), SIO_KEEPALIVE_VALS, &ka, sizeof(ka), NULL, 0, &got,
	    NULL, NULL) == SOCKET_ERROR)
		return wsa_fail();
	return 0;
}

/* TCP_MAXRT: how long retransmissions may go on before the socket fails. */
int
sys_tcp_user_timeout(int fd, unsigned int ms)
{
	DWORD secs = (ms + 999) / 1000;

	return sys_setsockopt(fd, IPPROTO_TCP, TCP_MAXRT, &secs, sizeof(secs));
}

/* SIO_TCP_INFO (Windows 10 1703 and later); 0 where it is missing. */
uint64_t
sys_tcp_rtt_ms(int fd)
{
	DWORD version = 0, got = 0;
	TCP_INFO_v0 ti;

	if (fd == -1 || WSAIoctl(S(fd), SIO_TCP_INFO, &version,
	    sizeof(version), &ti, sizeof(ti), &got, NULL, NULL) != 0 ||
	    got < sizeof(ti))
		return 0;
	return ti.RttUs / 1000;
}

/*
 * Windows tells what is in flight (TCP_INFO_v0.BytesInFlight) but not
 * what still waits in the send buffer: neither count is known.
 */
ssize_t
sys_tcp_unacked(int fd)
{
	(void)fd;
	errno = ENOTSUP;
	return -1;
}

ssize_t
sys_tcp_unsent(int fd)
{
	(void)fd;
	errno = ENOTSUP;
	return -1;
}

/*
 * The base TCP/IPv4 provider, below any layered one: an old, non-IFS LSP
 * (see own_socket) hands out sockets that are not kernel handles, and
 * CreateProcess can give a child only kernel handles. The pairs a helper
 * inherits are made on the base provider, which never is layered. Looked
 * up once; NULL (the default provider) if the catalogue has no such entry.
 */
static WSAPROTOCOL_INFOW *
base_tcp_provider(void)
{
	static WSAPROTOCOL_INFOW info;
	static int looked;		/* 0 not yet, 1 found, -1 none */
	int protos[] = { IPPROTO_TCP, 0 };
	WSAPROTOCOL_INFOW *all = NULL;
	DWORD size = 0;
	int n, i;

	if (looked != 0)
		return looked == 1 ? &info : NULL;
	looked = -1;
	if (WSAEnumProtocolsW(protos, NULL, &size) != SOCKET_ERROR ||
	    WSAGetLastError() != WSAENOBUFS || (all = malloc(size)) == NULL)
		return NULL;
	n = WSAEnumProtocolsW(protos, all, &size);
	for (i = 0; i < n; i++)
		if (all[i].iAddressFamily == AF_INET &&
		    all[i].iSocketType == SOCK_STREAM &&
		    all[i].ProtocolChain.ChainLen == BASE_PROTOCOL &&
		    (all[i].dwServiceFlags1 & XP1_IFS_HANDLES) != 0) {
			info = all[i];
			looked = 1;
			break;
		}
	free(all);
	return looked == 1 ? &info : NULL;
}

/*
 * Two connected sockets over loopback: *mine non-blocking, overlapped and
 * not inheritable; *theirs plain (not overlapped) and inheritable, which
 * is what lets a child's C runtime read() and write() it as a standard
 * handle. Both are the base provider's (the accepted one is the
 * listener's). The accepted end must be the one we connected: another
 * local process could connect to the listener first.
 */
static int
socket_pair(SOCKET *mine, SOCKET *theirs, int theirs_plain)
{
	struct sockaddr_in a, peer, local;
	int alen = sizeof(a), plen = sizeof(peer), llen = sizeof(local);
	SOCKET l, c = INVALID_SOCKET, s = INVALID_SOCKET;
	DWORD flags = theirs_plain ? 0 : WSA_FLAG_OVERLAPPED |
	    WSA_FLAG_NO_HANDLE_INHERIT;
	WSAPROTOCOL_INFOW *base = base_tcp_provider();

	l = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, base, 0,
	    WSA_FLAG_NO_HANDLE_INHERIT);
	if (l == INVALID_SOCKET)
		return wsa_fail();
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) == SOCKET_ERROR ||
	    getsockname(l, (struct sockaddr *)&a, &alen) == SOCKET_ERROR ||
	    listen(l, 1) == SOCKET_ERROR)
		goto fail;
	c = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, base, 0, flags);
	if (c == INVALID_SOCKET ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)) == SOCKET_ERROR ||
	    getsockname(c, (struct sockaddr *)&local, &llen) == SOCKET_ERROR)
		goto fail;
	s = accept(l, (struct sockaddr *)&peer, &plen);
	if (s == INVALID_SOCKET)
		goto fail;
	if (peer.sin_port != local.sin_port ||
	    peer.sin_addr.s_addr != local.sin_addr.s_addr) {
		WSASetLastError(WSAECONNREFUSED);
		goto fail;
	}
	(void)closesocket(l);
	if (!theirs_plain)
		(void)SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
	*mine = s;
	*theirs = c;
	return 0;
fail:
	{
		int e = WSAGetLastError();

		(void)closesocket(l);
		if (c != INVALID_SOCKET)
			(void)closesocket(c);
		if (s != INVALID_SOCKET)
			(void)closesocket(s);
		errno = errno_of_wsa(e);
	}
	return -1;
}

/*
 * Signals are console control events here: the handler runs on a thread
 * of its own and sends the signal's number through a socket pair, which
 * the loop watches like any other socket.
 */
static SOCKET		sig_wsock = INVALID_SOCKET;
static unsigned int	sig_wanted;	/* bit per signal number */

static void
sig_send(int signo)
{
	char b = (char)signo;

	if (signo < 32 && (sig_wanted & (1u << signo)))
		(void)send(sig_wsock, &b, 1, 0);
}

static BOOL WINAPI
on_console(DWORD type)
{
	switch (type) {
	case CTRL_C_EVENT:
		sig_send(SIGINT);
		return TRUE;
	case CTRL_BREAK_EVENT:
		sig_send(SIGTERM);
		return TRUE;
	case CTRL_CLOSE_EVENT:
	case CTRL_LOGOFF_EVENT:
	case CTRL_SHUTDOWN_EVENT:
		/* Returning ends the process: give the loop its moment. */
		sig_send(SIGTERM);
		Sleep(4000);
		return TRUE;
	}
	return FALSE;
}

int
sys_signal_pipe(const int *signals, size_t n)
{
	SOCKET r, w;
	size_t i;
	int fd;

	if (sig_wsock != INVALID_SOCKET) {
		errno = EBUSY;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (signals[i] <= 0 || signals[i] >= 32) {
			errno = EINVAL;
			return -1;
		}
	}
	if (socket_pair(&r, &w, 0) == -1)
		return -1;
	if ((fd = own_socket(r)) == -1) {
		(void)closesocket(w);
		return -1;
	}
	sig_wsock = w;
	for (i = 0; i < n; i++)
		sig_wanted |= 1u << signals[i];
	if (!SetConsoleCtrlHandler(on_console, TRUE)) {
		int e = win_fail();

		sig_wanted = 0;
		sig_wsock = INVALID_SOCKET;
		(void)closesocket(w);
		(void)closesocket(r);
		return e;
	}
	return fd;
}

int
sys_signal_read(int fd)
{
	unsigned char b;

	return sys_recv(fd, &b, 1, 0) == 1 ? b : 0;
}

const char *
sys_self_path(void)
{
	static char path[MAX_PATH * 3];
	wchar_t w[MAX_PATH];
	DWORD n = GetModuleFileNameW(NULL, w, MAX_PATH);

	if (n == 0 || n >= MAX_PATH || WideCharToMultiByte(CP_UTF8, 0, w, -1,
	    path, sizeof(path), NULL, NULL) == 0)
		return NULL;
	return path;
}

/*
 * The commit charge (private bytes): what a job's process memory limit
 * counts. PagefileUsage is that figure, also under Wine, which leaves
 * PROCESS_MEMORY_COUNTERS_EX's PrivateUsage at 0.
 */
uint64_t
sys_mapped_bytes(void)
{
	PROCESS_MEMORY_COUNTERS pmc;

	memset(&pmc, 0, sizeof(pmc));
	if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof(pmc)))
		return 0;
	return pmc.PagefileUsage;
}

/* No /proc: stderr is written as it is (blocking, on a console). */
int
sys_reopen_nonblock(int fd)
{
	(void)fd;
	errno = ENOSYS;
	return -1;
}

/* Sockets are handles: no descriptor table to raise. */
long
sys_raise_nofile(void)
{
	errno = ENOTSUP;
	return -1;
}

/*
 * CreateProcess of this same binary with "--helper MODE": its stdin an
 * anonymous pipe we write (as a C runtime fd), its stdout a plain socket
 * whose other end the loop polls, its stderr ours. Only those three
 * handles are inherited (PROC_THREAD_ATTRIBUTE_HANDLE_LIST), whatever
 * else is inheritable in this process.
 */
int
sys_helper_spawn(const char *mode, int *to, int *from, sys_pid_t *pid)
{
	wchar_t self[MAX_PATH], cmd[MAX_PATH + 64];
	HANDLE in_r = NULL, in_w = NULL, err = NULL, list[3];
	SOCKET mine = INVALID_SOCKET, theirs = INVALID_SOCKET;
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
	STARTUPINFOEXW si;
	PROCESS_INFORMATION pi;
	LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
	SIZE_T asize = 0;
	DWORD n;
	int e, wfd, rfd, nlist = 0, ok;

	n = GetModuleFileNameW(NULL, self, MAX_PATH);
	if (n == 0 || n >= MAX_PATH || strlen(mode) >= 16) {
		errno = EINVAL;
		return -1;
	}
	(void)_snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]),
	    L"\"%ls\" --helper %hs", self, mode);
	cmd[sizeof(cmd) / sizeof(cmd[0]) - 1] = L'\0';
	if (!CreatePipe(&in_r, &in_w, &sa, 0)) {
		(void)win_fail();
		goto fail;
	}
	(void)SetHandleInformation(in_w, HANDLE_FLAG_INHERIT, 0);
	if (socket_pair(&mine, &theirs, 1) == -1)
		goto fail;
	list[nlist++] = in_r;
	list[nlist++] = (HANDLE)theirs;
	/* stderr shared, through an inheritable copy of our handle. */
	if (GetStdHandle(STD_ERROR_HANDLE) != NULL &&
	    GetStdHandle(STD_ERROR_HANDLE) != INVALID_HANDLE_VALUE &&
	    DuplicateHandle(GetCurrentProcess(), GetStdHandle(STD_ERROR_HANDLE),
	    GetCurrentProcess(), &err, 0, TRUE, DUPLICATE_SAME_ACCESS))
		list[nlist++] = err;
	(void)InitializeProcThreadAttributeList(NULL, 1, 0, &asize);
	if ((attrs = malloc(asize)) == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	if (!InitializeProcThreadAttributeList(attrs, 1, 0, &asize)) {
		free(attrs);
		attrs = NULL;
		(void)win_fail();
		goto fail;
	}
	if (!UpdateProcThreadAttribute(attrs, 0,
	    PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list,
	    (SIZE_T)nlist * sizeof(HANDLE), NULL, NULL)) {
		(void)win_fail();
		goto fail;
	}
	memset(&si, 0, sizeof(si));
	si.StartupInfo.cb = sizeof(si);
	si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
	si.StartupInfo.hStdInput = in_r;
	si.StartupInfo.hStdOutput = (HANDLE)theirs;
	si.StartupInfo.hStdError = err;
	si.lpAttributeList = attrs;
	ok = CreateProcessW(self, cmd, NULL, NULL, TRUE,
	    EXTENDED_STARTUPINFO_PRESENT | CREATE_NO_WINDOW, NULL, NULL,
	    &si.StartupInfo, &pi);
	if (!ok) {
		(void)win_fail();
		goto fail;
	}
	DeleteProcThreadAttributeList(attrs);
	free(attrs);
	attrs = NULL;
	(void)CloseHandle(pi.hThread);
	(void)CloseHandle(in_r);
	(void)closesocket(theirs);
	if (err != NULL)
		(void)CloseHandle(err);
	in_r = err = NULL;
	theirs = INVALID_SOCKET;
	if ((rfd = own_socket(mine)) == -1) {
		mine = INVALID_SOCKET;
		goto reap;
	}
	mine = INVALID_SOCKET;
	if ((wfd = _open_osfhandle((intptr_t)in_w, _O_WRONLY | _O_BINARY)) ==
	    -1) {
		(void)closesocket(S(rfd));
		goto reap;
	}
	*to = wfd;
	*from = rfd;
	*pid = (sys_pid_t)pi.hProcess;
	return 0;
reap:
	e = errno;
	(void)CloseHandle(in_w);
	(void)sys_helper_reap((sys_pid_t)pi.hProcess, 1);
	errno = e;
	return -1;
fail:
	e = errno;
	if (attrs != NULL) {
		DeleteProcThreadAttributeList(attrs);
		free(attrs);
	}
	if (in_r != NULL)
		(void)CloseHandle(in_r);
	if (in_w != NULL)
		(void)CloseHandle(in_w);
	if (err != NULL)
		(void)CloseHandle(err);
	if (mine != INVALID_SOCKET)
		(void)closesocket(mine);
	if (theirs != INVALID_SOCKET)
		(void)closesocket(theirs);
	errno = e;
	return -1;
}

int
sys_helper_reap(sys_pid_t pid, int kill_it)
{
	HANDLE h = (HANDLE)pid;
	DWORD code = 1;

	if (kill_it)
		(void)TerminateProcess(h, 1);
	(void)WaitForSingleObject(h, INFINITE);
	if (!GetExitCodeProcess(h, &code))
		code = 1;
	(void)CloseHandle(h);
	return code == 0;
}

/*
 * A job object of the helper's own: committed memory capped at what it
 * holds now plus bytes, user CPU time at secs (the system ends a process
 * over either). Nested jobs (Windows 8 and later) let this work also when
 * the client already runs in one.
 */
int
sys_helper_limits(uint64_t bytes, unsigned int secs)
{
	JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
	uint64_t mapped = sys_mapped_bytes();
	HANDLE job;

	if (mapped == 0 || (job = CreateJobObjectW(NULL, NULL)) == NULL)
		return -1;
	memset(&li, 0, sizeof(li));
	li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_PROCESS_MEMORY |
	    JOB_OBJECT_LIMIT_PROCESS_TIME;
	li.ProcessMemoryLimit = (SIZE_T)(mapped + bytes);
	li.BasicLimitInformation.PerProcessUserTimeLimit.QuadPart =
	    (LONGLONG)secs * 10000000;
	if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation,
	    &li, sizeof(li)) ||
	    !AssignProcessToJobObject(job, GetCurrentProcess())) {
		(void)win_fail();
		(void)CloseHandle(job);
		return -1;
	}
	/* Kept open: the job, and its limits, last as long as the process. */
	return 0;
}
