/*
 * sys_unix: the parts of the platform layer every Unix build shares
 * (Linux with either backend, macOS): the clock, the descriptor limit,
 * poll, the signal pipe of the portable loop and the client's helper
 * processes, with the things about the process that Linux and macOS tell
 * differently (sys_self_path, sys_mapped_bytes, sys_proc_stats' memory).
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

#include "sys.h"
#include "sys_impl.h"

int
sys_init(void)
{
	/* A write to a reset socket or pipe fails with EPIPE instead. */
	return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0;
}

int
sys_config_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	/* Relative values are ignored, as the XDG base directory spec says. */
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, len, "%s", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(buf, len, "%s/.config", home);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

uint64_t
sys_clock_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
sys_close(int fd)
{
	return close(fd);
}

int
sys_poll(struct sys_pollfd *p, size_t n, int timeout_ms)
{
	_Static_assert(sizeof(struct sys_pollfd) == sizeof(struct pollfd),
	    "struct sys_pollfd is struct pollfd");
	return poll((struct pollfd *)(void *)p, (nfds_t)n, timeout_ms);
}

/* poll(2) reports failed connects everywhere: nothing to say. */
const char *
sys_poll_note(void)
{
	return NULL;
}

/* Called through a volatile pointer, memset cannot be proven dead. */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void
sys_wipe(void *p, size_t len)
{
	(void)wipe_memset(p, 0, len);
}

long
sys_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (long)rl.rlim_cur;
}

/* The write end of the signal pipe: the handler's only state. */
static volatile sig_atomic_t sig_wfd = -1;

static void
on_signal(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;
	ssize_t n;

	/* Full (the loop is far behind): that signal is already pending. */
	n = write(sig_wfd, &b, 1);
	(void)n;
	errno = saved;
}

/* By fcntl, where there is no pipe2 or SOCK_NONBLOCK (macOS). */
int
sys_fd_own(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

/*
 * Through /proc (Linux): a description of fd's own. Elsewhere (macOS)
 * the open fails, as nobody but root can make /proc there.
 */
int
sys_reopen_nonblock(int fd)
{
	char path[64];

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

int
sys_signal_pipe(const int *signals, size_t n)
{
	struct sigaction sa;
	int fds[2];
	size_t i;

	if (sig_wfd != -1) {
		errno = EBUSY;
		return -1;
	}
	if (pipe(fds) == -1)
		return -1;
	if (sys_fd_own(fds[0]) == -1 || sys_fd_own(fds[1]) == -1)
		goto fail;
	sig_wfd = fds[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < n; i++)
		if (sigaction(signals[i], &sa, NULL) == -1)
			goto fail;
	return fds[0];
fail:
	{
		int err = errno;

		sa.sa_handler = SIG_DFL;
		for (i = 0; i < n; i++)
			(void)sigaction(signals[i], &sa, NULL);
		sig_wfd = -1;
		(void)close(fds[0]);
		(void)close(fds[1]);
		errno = err;
	}
	return -1;
}

int
sys_signal_read(int fd)
{
	unsigned char b;
	ssize_t n;

	do
		n = read(fd, &b, 1);
	while (n == -1 && errno == EINTR);
	return n == 1 ? b : 0;
}

#ifdef __APPLE__
const char *
sys_self_path(void)
{
	static char path[PATH_MAX];
	uint32_t len = sizeof(path);

	return _NSGetExecutablePath(path, &len) == 0 ? path : NULL;
}

/* The resident size is a Mach task_info away: not told here. */
static uint64_t
rss_bytes(void)
{
	return 0;
}

/* setrlimit(RLIMIT_AS) is accepted and not enforced there. */
uint64_t
sys_mapped_bytes(void)
{
	return UINT64_MAX;
}
#else
const char *
sys_self_path(void)
{
	return "/proc/self/exe";
}

/* statm's second field: resident pages. */
static uint64_t
rss_bytes(void)
{
	unsigned long size = 0, pages = 0;
	long pagesize = sysconf(_SC_PAGESIZE);
	FILE *f;
	int n;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return 0;
	n = fscanf(f, "%lu %lu", &size, &pages);
	(void)fclose(f);
	if (n != 2 || pagesize <= 0)
		return 0;
	return (uint64_t)pages * (uint64_t)pagesize;
}

uint64_t
sys_mapped_bytes(void)
{
	unsigned long pages = 0;
	long pagesize = sysconf(_SC_PAGESIZE);
	FILE *f;
	int n;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return 0;
	n = fscanf(f, "%lu", &pages);
	(void)fclose(f);
	if (n != 1 || pagesize <= 0)
		return 0;
	return (uint64_t)pages * (uint64_t)pagesize;
}
#endif

extern char	**environ;

/* A pipe whose two ends are close-on-exec (by fcntl: no pipe2 on macOS). */
static int
cloexec_pipe(int fds[2])
{
	if (pipe(fds) == -1)
		return -1;
	if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) == -1) {
		int err = errno;

		(void)close(fds[0]);
		(void)close(fds[1]);
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * posix_spawn() rather than fork(): the parent is suspended until the exec
 * and the child never holds a copy of the loop's sockets (a socket the loop
 * closes would stay open in it, its FIN late).
 */
int
sys_helper_spawn(const char *mode, int *to, int *from, sys_pid_t *pid)
{
	static char arg0[] = "tunnel-client", arg1[] = "--helper";
	char arg2[16];
	char *argv[] = { arg0, arg1, arg2, NULL };
	const char *self = sys_self_path();

	if (strlen(mode) >= sizeof(arg2) || self == NULL) {
		errno = EINVAL;
		return -1;
	}
	memcpy(arg2, mode, strlen(mode) + 1);
	return sys_spawn(self, argv, to, from, pid);
}

int
sys_spawn(const char *path, char *const argv[], int *to, int *from,
    sys_pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, i, e;
	short flags = POSIX_SPAWN_SETSIGMASK;
	sigset_t none;

	if (cloexec_pipe(in) == -1 || cloexec_pipe(out) == -1)
		goto fail;
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto fail;
	if (posix_spawnattr_init(&attr) != 0) {
		(void)posix_spawn_file_actions_destroy(&fa);
		goto fail;
	}
	/* dup2 clears FD_CLOEXEC on 0 and 1; every other fd is CLOEXEC,
	 * and where the system can say so, closed for certain. */
	(void)posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	(void)posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	(void)posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
#ifdef POSIX_SPAWN_CLOEXEC_DEFAULT
	(void)posix_spawn_file_actions_addinherit_np(&fa, STDERR_FILENO);
	flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
#endif
	/* The loop blocks TERM/INT/HUP for its signal source: not the child. */
	(void)sigemptyset(&none);
	(void)posix_spawnattr_setsigmask(&attr, &none);
	(void)posix_spawnattr_setflags(&attr, flags);
	e = posix_spawn(pid, path, &fa, &attr, argv, environ);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)posix_spawnattr_destroy(&attr);
	if (e != 0) {
		errno = e;
		goto fail;
	}
	(void)close(in[0]);
	(void)close(out[1]);
	if (fcntl(out[0], F_SETFL, O_NONBLOCK) == -1) {
		e = errno;
		(void)close(in[1]);
		(void)close(out[0]);
		(void)sys_helper_reap(*pid, 1);
		errno = e;
		return -1;
	}
	*to = in[1];
	*from = out[0];
	return 0;
fail:
	e = errno;
	for (i = 0; i < 2; i++) {
		if (in[i] != -1)
			(void)close(in[i]);
		if (out[i] != -1)
			(void)close(out[i]);
	}
	errno = e;
	return -1;
}

int
sys_helper_reap(sys_pid_t pid, int kill_it)
{
	int status = 0;
	pid_t r;

	if (kill_it)
		(void)kill(pid, SIGKILL);
	do
		r = waitpid(pid, &status, 0);
	while (r == -1 && errno == EINTR);
	return r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
sys_helper_limits(uint64_t bytes, unsigned int secs)
{
	struct rlimit rl;
	uint64_t mapped = sys_mapped_bytes();

	if (mapped == 0)
		return -1;
	if (mapped != UINT64_MAX) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)(mapped + bytes);
		if (setrlimit(RLIMIT_AS, &rl) == -1)
			return -1;
	}
	rl.rlim_cur = secs;		/* SIGXCPU */
	rl.rlim_max = secs + 1;		/* SIGKILL */
	return setrlimit(RLIMIT_CPU, &rl);
}

/*
 * /dev/fd lists the process's descriptors on Linux (a link to
 * /proc/self/fd) and macOS alike; the one the listing holds open is not
 * counted.
 */
void
sys_proc_stats(struct sys_proc *p)
{
	struct rlimit rl;
	struct dirent *e;
	uint64_t n = 0;
	DIR *d;

	memset(p, 0, sizeof(*p));
	if ((d = opendir("/dev/fd")) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				n++;
		(void)closedir(d);
		p->open_fds = n > 0 ? n - 1 : 0;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		p->max_fds = (uint64_t)rl.rlim_cur;
	p->rss_bytes = rss_bytes();
}
