/*
 * client_helper: short-lived helper processes for the two jobs that may
 * block for as long as someone else likes, and so must never run in the
 * loop: crypt(3) with a setting chosen by the server, and getaddrinfo()
 * with a resolver that may hang.
 *
 * A helper is this same binary, executed again (/proc/self/exe) with the
 * hidden arguments "--helper MODE". It gets its input on stdin (fields
 * separated by NUL, so a password never shows in argv or ps), writes its
 * answer to stdout and exits. posix_spawn() suspends the parent until the
 * exec and the child keeps only stdin, stdout and stderr: a plain fork()
 * would hold a copy of every socket while it runs, so a socket the loop
 * closes would stay open (its FIN late, its epoll entry alive and the
 * level-triggered loop spinning on it). Every platform-specific step of
 * starting and reaping a helper is in this file, for a later port.
 *
 * The loop watches the helper's stdout through a struct cli_helper; at
 * EOF the child is reaped and the owner's callback gets the answer.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crypt_policy.h"
#include "fdio.h"
#include "log.h"

#define HELPER_INPUT_MAX	2048
/* Above the dearest allowed setting's memory: libxcrypt's own buffers. */
#define HELPER_MEM_MARGIN	(64ull << 20)

extern char	**environ;

static void	helper_cb(struct loop *, struct handler *, uint32_t);

void
cli_helper_init(struct cli_helper *hp, struct loop *l,
    void (*done)(struct cli_helper *, int ok))
{
	memset(hp, 0, sizeof(*hp));
	hp->loop = l;
	hp->done = done;
	loop_handler_init(&hp->h, -1, helper_cb);
}

int
cli_helper_start(struct cli_helper *hp, const char *mode, const void *input,
    size_t inlen)
{
	static char arg0[] = "tunnel-client", arg1[] = "--helper";
	char arg2[16];
	char *argv[] = { arg0, arg1, arg2, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, r = -1, e;
	sigset_t none;
	pid_t pid;

	cli_helper_cancel(hp);
	(void)snprintf(arg2, sizeof(arg2), "%s", mode);
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		goto fail;
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto fail;
	if (posix_spawnattr_init(&attr) != 0) {
		(void)posix_spawn_file_actions_destroy(&fa);
		goto fail;
	}
	/* dup2 clears FD_CLOEXEC on 0 and 1; every other fd is CLOEXEC,
	 * and closefrom makes sure of it. */
	(void)posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	(void)posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	(void)posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
	/* The loop blocks TERM/INT/HUP for its signalfd: not the helper. */
	(void)sigemptyset(&none);
	(void)posix_spawnattr_setsigmask(&attr, &none);
	(void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	e = posix_spawn(&pid, "/proc/self/exe", &fa, &attr, argv, environ);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)posix_spawnattr_destroy(&attr);
	if (e != 0) {
		errno = e;
		goto fail;
	}
	(void)close(in[0]);
	(void)close(out[1]);
	in[0] = out[1] = -1;
	hp->pid = pid;
	hp->len = 0;
	/* Smaller than a pipe's buffer: this write never blocks. */
	if (inlen > HELPER_INPUT_MAX ||
	    write(in[1], input, inlen) != (ssize_t)inlen) {
		(void)close(in[1]);
		in[1] = -1;
		(void)close(out[0]);
		cli_helper_cancel(hp);
		return -1;
	}
	(void)close(in[1]);
	in[1] = -1;
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	loop_handler_init(&hp->h, out[0], helper_cb);
	if (loop_update(hp->loop, &hp->h, EPOLLIN) == -1) {
		cli_helper_cancel(hp);
		return -1;
	}
	return 0;
fail:
	e = errno;
	for (r = 0; r < 2; r++) {
		if (in[r] != -1)
			(void)close(in[r]);
		if (out[r] != -1)
			(void)close(out[r]);
	}
	errno = e;
	return -1;
}

void
cli_helper_cancel(struct cli_helper *hp)
{
	if (hp->h.fd != -1)
		loop_close(hp->loop, &hp->h);
	if (hp->pid > 0) {
		(void)kill(hp->pid, SIGKILL);
		(void)waitpid(hp->pid, NULL, 0);
	}
	hp->pid = 0;
	auth_wipe(hp->buf, sizeof(hp->buf));
	hp->len = 0;
}

int
cli_helper_running(const struct cli_helper *hp)
{
	return hp->pid > 0;
}

static void
helper_cb(struct loop *l, struct handler *h, uint32_t events)
{
	struct cli_helper *hp = container_of(h, struct cli_helper, h);
	ssize_t n;
	int status = 0;

	(void)l;
	(void)events;
	if (h->fd == -1)
		return;
	n = read(h->fd, hp->buf + hp->len, sizeof(hp->buf) - hp->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		hp->len += (size_t)n;
		if (hp->len < sizeof(hp->buf))
			return;		/* EOF still to come */
	}
	/* EOF (the helper is done), an error, or more than fits: finish. */
	loop_close(hp->loop, &hp->h);
	(void)waitpid(hp->pid, &status, 0);
	hp->pid = 0;
	hp->done(hp, n <= 0 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0 && hp->len < sizeof(hp->buf));
}

/* --- the helper's side: runs in the child, after exec. --- */

static size_t
read_input(char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1) {
		n = read(STDIN_FILENO, buf + got, len - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/* The next NUL-terminated field of buf[0..len), or NULL. */
static const char *
field(const char *buf, size_t len, size_t *off)
{
	const char *f = buf + *off;
	const char *nul;

	if (*off >= len)
		return NULL;
	nul = memchr(f, '\0', len - *off);
	if (nul == NULL)
		return NULL;
	*off = (size_t)(nul - buf) + 1;
	return f;
}

/*
 * The second fence around a setting chosen by the server, after
 * crypt_policy: the address space may grow by the dearest allowed
 * setting's memory and a margin, no more, and the CPU time is capped a
 * little above the parent's deadline, which also bounds a helper whose
 * parent died (nobody left to kill it). The limit is relative to what
 * the process already maps, so it holds the same under sanitizers, which
 * reserve terabytes of address space up front. Return: 0, or -1 when the
 * limits cannot be set (the hash is then not run).
 */
static int
limit_helper(void)
{
	struct rlimit rl;
	unsigned long pages = 0;
	long pagesize = sysconf(_SC_PAGESIZE);
	FILE *f;
	int n;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return -1;
	n = fscanf(f, "%lu", &pages);
	(void)fclose(f);
	if (n != 1 || pages == 0 || pagesize <= 0)
		return -1;
	rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)pagesize +
	    CRYPT_POLICY_MAX_MEM + HELPER_MEM_MARGIN;
	if (setrlimit(RLIMIT_AS, &rl) == -1)
		return -1;
	rl.rlim_cur = CLI_HASH_TIMEOUT_MS / 1000 + 2;	/* SIGXCPU */
	rl.rlim_max = rl.rlim_cur + 1;			/* SIGKILL */
	return setrlimit(RLIMIT_CPU, &rl);
}

/* Input: password, setting. Output: the hash. */
static int
helper_crypt(const char *in, size_t len)
{
	char out[AUTH_HASH_MAX];
	const char *pw, *setting;
	size_t off = 0;
	int r = 1;

	pw = field(in, len, &off);
	setting = field(in, len, &off);
	if (pw != NULL && setting != NULL && limit_helper() == 0 &&
	    auth_crypt(pw, setting, out, sizeof(out)) == 0)
		r = fd_write_all(STDOUT_FILENO, out, strlen(out)) == 0 ? 0 : 1;
	auth_wipe(out, sizeof(out));
	return r;
}

/*
 * Input: host, port. Output: 'A' and records (a socklen_t, then that many
 * bytes of sockaddr), in getaddrinfo's order; or 'E' and a reason.
 */
static int
helper_resolve(const char *in, size_t len)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *host, *service;
	char msg[256];
	size_t off = 0, n = 0;
	socklen_t alen;
	int r;

	host = field(in, len, &off);
	service = field(in, len, &off);
	if (host == NULL || service == NULL)
		return 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	r = getaddrinfo(host, service, &hints, &res);
	if (r == EAI_BADFLAGS || (r != 0 && res == NULL)) {
		/* Loopback-only hosts have no "configured" address family. */
		hints.ai_flags = AI_NUMERICSERV;
		r = getaddrinfo(host, service, &hints, &res);
	}
	if (r != 0) {
		(void)snprintf(msg, sizeof(msg), "E%s",
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return fd_write_all(STDOUT_FILENO, msg, strlen(msg)) == 0 ? 0 : 1;
	}
	if (fd_write_all(STDOUT_FILENO, "A", 1) == -1)
		return 1;
	for (ai = res; ai != NULL && n < CLI_MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(struct sockaddr_storage))
			continue;
		alen = ai->ai_addrlen;
		if (fd_write_all(STDOUT_FILENO, &alen, sizeof(alen)) == -1 ||
		    fd_write_all(STDOUT_FILENO, ai->ai_addr, alen) == -1)
			return 1;
		n++;
	}
	freeaddrinfo(res);
	return 0;
}

int
cli_helper_main(int argc, char **argv)
{
	char in[HELPER_INPUT_MAX];
	size_t len;
	int r = 2;

	if (argc != 3 || strcmp(argv[1], "--helper") != 0)
		return -1;
	len = read_input(in, sizeof(in));
	if (strcmp(argv[2], "crypt") == 0)
		r = helper_crypt(in, len);
	else if (strcmp(argv[2], "resolve") == 0)
		r = helper_resolve(in, len);
	auth_wipe(in, sizeof(in));
	return r;
}
